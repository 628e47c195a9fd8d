#!/usr/bin/env bash
# The agent on this machine's own cgroups, no cluster needed: makes a Kubernetes-shaped pod
# (kubepods/burstable/pod<uid>/<container>) under the real cpu and cpuacct cgroup mounts, with one
# container limited to 0.2 cores running a busy loop and one idle container without a limit, runs
# `throttlewatch-agent snapshot` on the host's /sys/fs/cgroup, and removes everything it made.
#   sudo scripts/demo.sh [snapshot flags, e.g. --format json --interval 2s]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "error: run as root: the demo creates cgroups (sudo $0)" >&2; exit 2; }

cpu=/sys/fs/cgroup/cpu; acct=/sys/fs/cgroup/cpuacct
if [ ! -f $cpu/cpu.cfs_quota_us ]; then
  echo "error: the demo needs cgroup v1 cpu and cpuacct mounted apart at $cpu and $acct;" >&2
  echo "       on other hosts run: scripts/run-agent.sh snapshot --cgroup-subtree system.slice" >&2
  exit 2
fi

name=throttlewatch-demo-$$
uid=$(cat /proc/sys/kernel/random/uuid)
hex() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
busy=$(hex); idle=$(hex)
pod=$name/kubepods/burstable/pod$uid
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  for m in $cpu $acct; do
    rmdir "$m/$pod/$busy" "$m/$pod/$idle" "$m/$pod" "$m/$name/kubepods/burstable" "$m/$name/kubepods" "$m/$name" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

for m in $cpu $acct; do mkdir -p "$m/$pod/$busy" "$m/$pod/$idle"; done
echo 20000 > "$cpu/$pod/$busy/cpu.cfs_quota_us"          # 0.2 cores per 100 ms period
sh -c 'while :; do :; done' & pid=$!
echo "$pid" > "$cpu/$pod/$busy/cgroup.procs"; echo "$pid" > "$acct/$pod/$busy/cgroup.procs"
echo "demo pod $uid: container ${busy:0:12} limited to 0.2 cores and busy, ${idle:0:12} idle without a limit" >&2

scripts/run-agent.sh snapshot "$@"

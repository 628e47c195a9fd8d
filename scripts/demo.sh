#!/usr/bin/env bash
# The agent on this machine's own cgroups, no cluster needed. Makes a Kubernetes-shaped pod
# (kubepods/burstable/pod<uid>/<container>) under the real cpu and cpuacct cgroup mounts: one
# container limited to 0.2 cores running a busy loop, one idle container without a limit. Then
#   1. `throttlewatch-agent snapshot` prints what one second of sampling sees, and
#   2. `throttlewatch-agent run` samples every second and serves http://127.0.0.1:9808/metrics
#      (the demo prints the busy container's series after a few seconds) until Ctrl+C, or for
#      DEMO_SECONDS seconds when that is set.
# Everything it made is removed on exit.
#   sudo scripts/demo.sh                 sudo DEMO_SECONDS=10 scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "error: run as root: the demo creates cgroups (sudo $0)" >&2; exit 2; }

cpu=/sys/fs/cgroup/cpu; acct=/sys/fs/cgroup/cpuacct
if [ ! -f $cpu/cpu.cfs_quota_us ]; then
  echo "error: the demo needs cgroup v1 cpu and cpuacct mounted apart at $cpu and $acct;" >&2
  echo "       on other hosts run: scripts/run-agent.sh snapshot --cgroup-subtree system.slice" >&2
  exit 2
fi
port=${DEMO_PORT:-9808}

name=throttlewatch-demo-$$
uid=$(cat /proc/sys/kernel/random/uuid)
hex() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
busy=$(hex); idle=$(hex)
pod=$name/kubepods/burstable/pod$uid
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for m in $cpu $acct; do
    rmdir "$m/$pod/$busy" "$m/$pod/$idle" "$m/$pod" "$m/$name/kubepods/burstable" "$m/$name/kubepods" "$m/$name" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for m in $cpu $acct; do mkdir -p "$m/$pod/$busy" "$m/$pod/$idle"; done
echo 20000 > "$cpu/$pod/$busy/cpu.cfs_quota_us"          # 0.2 cores per 100 ms period
sh -c 'while :; do :; done' & pids+=($!)
echo "${pids[0]}" > "$cpu/$pod/$busy/cgroup.procs"; echo "${pids[0]}" > "$acct/$pod/$busy/cgroup.procs"
echo "demo pod $uid: container ${busy:0:12} limited to 0.2 cores and busy, ${idle:0:12} idle without a limit" >&2

echo "== throttlewatch-agent snapshot" >&2
scripts/run-agent.sh snapshot "$@"

echo "== throttlewatch-agent run: http://127.0.0.1:$port/metrics (Ctrl+C stops the demo and removes its cgroups)" >&2
bin=agent/ThrottleWatch.Agent/bin/Release/net10.0/throttlewatch-agent
"$bin" run --listen "127.0.0.1:$port" & pids+=($!)
(
  sleep 4
  echo "== the busy container's throttling series, from /metrics:" >&2
  curl -fsS "http://127.0.0.1:$port/metrics" | grep -E "^throttlewatch_container_cpu_(throttled|limit|usage_cores_peak).*${busy}" | sed -E 's/\{[^}]*\}/{…}/' >&2 || true
) &
pids+=($!)
if [ -n "${DEMO_SECONDS:-}" ]; then sleep "$DEMO_SECONDS"; else wait "${pids[1]}"; fi

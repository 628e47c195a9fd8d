#!/usr/bin/env bash
# The sweep benchmark (docs/performance.md): for N = 200, 2,000, 4,900 and 10,000 containers, create
# that many real Kubernetes-shaped cgroups under the v1 cpu and cpuacct mounts, and time the agent's
# per-second sweep beside the C lower bound (bench/baseline/cgread) and a naive ReadAllText + Split
# reader, interleaved, over the same files. Prints each run's table, then all rows in one table.
# Needs root and cgroup v1 cpu + cpuacct at /sys/fs/cgroup. No arguments; works from any folder.
# Every cgroup a run creates is removed when it ends (Ctrl-C included); the EXIT trap below also
# removes what a killed run left behind.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
project="$repo/bench/ThrottleWatch.Benchmarks/ThrottleWatch.Benchmarks.csproj"
bench="$repo/bench/ThrottleWatch.Benchmarks/bin/Release/net10.0/ThrottleWatch.Benchmarks"

if [ "$(id -u)" != 0 ]; then
    echo "sweep.sh: run as root: it creates cgroups under /sys/fs/cgroup/cpu and /sys/fs/cgroup/cpuacct" >&2
    exit 1
fi

echo "== build"
# Release: warnings are errors (Directory.Build.props). The output is shown only when the build fails.
if ! out="$(dotnet build "$project" -c Release --nologo -v quiet --disable-build-servers 2>&1)"; then
    echo "$out" >&2
    exit 1
fi
gcc -O2 -o "$repo/bench/baseline/cgread" "$repo/bench/baseline/cgread.c"

table="$(mktemp "${TMPDIR:-/tmp}/throttlewatch-sweep.XXXXXX.md")"
cleanup() {
    rm -f "$table"
    # A run removes its own cgroups; this catches one that was killed before it could.
    "$bench" cleanup >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== machine"
echo "nproc $(nproc), kernel $(uname -r), dotnet $(dotnet --version), open-file limit $(ulimit -Sn) (hard $(ulimit -Hn)), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "commit $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"

# Sweeps per reader per round, chosen so that a round of the agent or C is about a second and the
# whole script stays under ten minutes on 2 cores (the naive reader is the slow one).
for spec in 200:200 2000:50 4900:20 10000:10; do
    n="${spec%%:*}"
    sweeps="${spec##*:}"
    echo
    echo "== sweep --n $n --rounds 7 --sweeps $sweeps"
    "$bench" sweep --n "$n" --rounds 7 --sweeps "$sweeps" --markdown "$table"
done

echo
echo "== all runs (medians over 7 rounds; agent/C and naive/C are medians of per-round ratios)"
cat "$table"

#!/usr/bin/env bash
# Two agent builds side by side on one tree of N real Kubernetes-shaped cgroups (docs/performance.md,
# "Side by side"): both run at once, each in cpu and cpuacct cgroups of its own, both scraped every 15 s
# (plain and gzip in turn, as one Prometheus would), so the machine's noise lands on both alike. CPU is
# measured over ROUNDS consecutive windows of SECONDS (after 15 s of warm-up); prints each window's
# millicores for A and B, their ratio B/A, and the medians. Memory is not compared here (the first to
# look a file up is charged its kernel memory): use agent-at-scale.sh for that.
# Usage: sudo A=/path/to/old/throttlewatch-agent B=/path/to/new/throttlewatch-agent \
#            bench/scripts/agent-side-by-side.sh [SECONDS] [ROUNDS]
# N (default 2000), A_ARGS and B_ARGS (extra flags for each); API=1 serves the tree's pods from a
# stand-in API server and runs both agents with it, as in a cluster (see agent-at-scale.sh). Root; cgroup v1 cpu and cpuacct at
# /sys/fs/cgroup. Everything it makes is removed on exit.
set -euo pipefail

seconds="${1:-60}"
rounds="${2:-5}"
n="${N:-2000}"
case "$seconds$rounds$n" in *[!0-9]*) echo "agent-side-by-side.sh: SECONDS, ROUNDS and N must be whole numbers" >&2; exit 2;; esac
[ "$seconds" -ge 30 ] || { echo "agent-side-by-side.sh: SECONDS must be at least 30" >&2; exit 2; }
for v in A B; do
    [ -x "${!v:-}" ] || { echo "agent-side-by-side.sh: $v=${!v:-} is not an executable (A and B: the two builds)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "agent-side-by-side.sh: run as root: it creates cgroups" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bench="$repo/bench/ThrottleWatch.Benchmarks/bin/Release/net10.0/ThrottleWatch.Benchmarks"
cg=/sys/fs/cgroup
work="$(mktemp -d "${TMPDIR:-/tmp}/throttlewatch-side-by-side.XXXXXX")"
api_tree=()
api_agent=()
if [ "${API:-0}" = 1 ]; then
    api_tree=(--api-dir "$work/api")
    api_agent=(--kubeconfig "$work/api/kubeconfig" --node-name bench-node)
fi
pids=()
tree_pid=""

cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for v in a b; do
        for c in cpu cpuacct; do
            d="$cg/$c/throttlewatch-side-by-side-$v-$$"
            [ -d "$d" ] || continue
            for _ in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
        done
    done
    if [ -n "$tree_pid" ]; then kill -TERM "$tree_pid" 2>/dev/null || true; wait "$tree_pid" 2>/dev/null || true; fi
    "$bench" cleanup >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted; cleaning up" >&2; exit 130' INT TERM HUP

if ! out="$(dotnet build "$repo/bench/ThrottleWatch.Benchmarks/ThrottleWatch.Benchmarks.csproj" -c Release --nologo -v quiet --disable-build-servers 2>&1)"; then
    echo "$out" >&2
    exit 1
fi

"$bench" tree --n "$n" --ready-file "$work/ready" ${api_tree[@]+"${api_tree[@]}"} >"$work/tree.out" 2>"$work/tree.err" &
tree_pid=$!
until [ -s "$work/ready" ]; do
    kill -0 "$tree_pid" 2>/dev/null || { cat "$work/tree.err" >&2; exit 1; }
    sleep 0.2
done
read -r containers pods _ _ folder <"$work/ready"
# Both agents find the kernel's dentries already made: neither pays the other's first lookups.
find "$cg/cpu/$folder" "$cg/cpuacct/$folder" -type f \( -name 'cpu.*' -o -name 'cpuacct.usage' \) -exec cat {} + >/dev/null 2>&1 || true
echo "tree: $containers containers in $pods pods; nproc $(nproc), kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "A: $A ${A_ARGS:-}${API:+ (API=$API)}"
echo "B: $B ${B_ARGS:-}"

port=19820
for v in a b; do
    V=${v^^}
    args_var="${V}_ARGS"
    for c in cpu cpuacct; do mkdir "$cg/$c/throttlewatch-side-by-side-$v-$$"; done
    sh -c 'for c in cpu cpuacct; do echo $$ > "$1/$c/$2/cgroup.procs"; done; shift 2; exec "$@"' sh "$cg" "throttlewatch-side-by-side-$v-$$" \
        "${!V}" run --cgroup-root "$cg" --proc-root /proc --listen "127.0.0.1:$port" --interval 1s ${api_agent[@]+"${api_agent[@]}"} ${!args_var:-} >"$work/$v.out" 2>"$work/$v.err" &
    pids+=($!)
    port=$((port + 1))
done
for p in 19820 19821; do
    for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$p/readyz" && break; sleep 0.1; done
    curl -sf -o /dev/null "http://127.0.0.1:$p/readyz" || { cat "$work"/*.err >&2; echo "agent-side-by-side.sh: an agent was not ready" >&2; exit 1; }
done
sleep 15

usage() { cat "$cg/cpuacct/throttlewatch-side-by-side-$1-$$/cpuacct.usage"; }
echo
echo "| window | A millicores | B millicores | B / A |"
echo "|--:|--:|--:|--:|"
: >"$work/rows"
k=0
for r in $(seq "$rounds"); do
    a0=$(usage a); b0=$(usage b); t0=$(date +%s%N)
    for s in $(seq 0 15 $((seconds - 1))); do
        enc=(); [ $((k % 2)) = 1 ] && enc=(--compressed)
        for p in 19820 19821; do curl -s "${enc[@]}" -o /dev/null "http://127.0.0.1:$p/metrics"; done
        k=$((k + 1))
        sleep "$(awk -v due="$((s + 15))" -v t0="$t0" -v now="$(date +%s%N)" -v end="$seconds" 'BEGIN { if (due > end) due = end; d = due - (now - t0) / 1e9; print (d > 0 ? d : 0) }')"
    done
    a1=$(usage a); b1=$(usage b); t1=$(date +%s%N)
    awk -v r="$r" -v a="$((a1 - a0))" -v b="$((b1 - b0))" -v t="$((t1 - t0))" \
        'BEGIN { ma = 1000 * a / t; mb = 1000 * b / t; printf "| %d | %.1f | %.1f | %.3f |\n", r, ma, mb, mb / ma }' | tee -a "$work/rows"
done
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "agent-side-by-side.sh: an agent exited during the run" >&2; cat "$work"/*.err >&2; exit 1; }; done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "| median | $(awk -F'|' '{ print $3 }' "$work/rows" | median) | $(awk -F'|' '{ print $4 }' "$work/rows" | median) | $(awk -F'|' '{ print $5 }' "$work/rows" | median) |"

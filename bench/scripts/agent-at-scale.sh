#!/usr/bin/env bash
# The whole agent at node scale (docs/performance.md, "The whole agent"): for N = 200, 2,000 and 4,900
# containers (SIZES="200 2000 4900 10000" to choose), build N real Kubernetes-shaped cgroups with the
# bench harness (`ThrottleWatch.Benchmarks tree`: the sweep benchmark's tree, a few containers
# throttled by busy loops), run the Release agent (`throttlewatch-agent run --cgroup-root
# /sys/fs/cgroup --interval 1s`, discovering the tree as on a node) in v1 memory, cpu and cpuacct
# cgroups of its own, scrape /metrics every 15 s (plain and gzip in turn, as one Prometheus would
# scrape it; SCRAPE=both for both at every step) for SECONDS (default 60), and print
# one row per N: CPU, memory (cgroup and RSS), sweep and scrape times, exposition size.
# AGENT=/path/to/throttlewatch-agent runs that build instead (a publish, e.g. NativeAOT); the default
# is the Release build, built here. AGENT_ARGS adds flags to its command line (for example
# AGENT_ARGS="--config-interval 1h" to see what the slow configuration reads cost). MEMORY_LIMIT (for
# example 128M, the DaemonSet's) sets the agent's memory cgroup limit, as the pod's limit would.
# API=1 runs the agent as in a cluster: the tree's pods are served by a stand-in API server (the tests'
# FakeKubeApi: real list/watch protocol and JSON, in the tree's process, outside the agent's cgroups) and
# the agent gets --kubeconfig and --node-name (names on every series; resizes reported by the watch).
# WARM=1 reads every file of the tree once before the agent starts, as the kubelet (cAdvisor) has on a
# node: the kernel's dentries and inodes for the files are then charged to this script, not to the
# agent, which is charged only for what it holds (its open files). The default (WARM=0) is a fresh
# tree the agent is the first to look into: every lookup's kernel memory lands in its cgroup.
# SMAPS=1 prints where the agent's resident memory is, by mapping, at the end of each run.
# Usage: sudo bench/scripts/agent-at-scale.sh [SECONDS]. Root; cgroup v1 cpu, cpuacct and memory at
# /sys/fs/cgroup. Everything it makes is removed on exit, Ctrl-C included.
set -euo pipefail

seconds="${1:-60}"
sizes="${SIZES:-200 2000 4900}"
port="${PORT:-19808}"
step=15
case "$seconds" in ''|*[!0-9]*) echo "agent-at-scale.sh: SECONDS must be a whole number" >&2; exit 2;; esac
if [ "$seconds" -lt 30 ]; then echo "agent-at-scale.sh: SECONDS must be at least 30 (two scrapes 15 s apart)" >&2; exit 2; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bench="$repo/bench/ThrottleWatch.Benchmarks/bin/Release/net10.0/ThrottleWatch.Benchmarks"
agent="${AGENT:-$repo/agent/ThrottleWatch.Agent/bin/Release/net10.0/throttlewatch-agent}"
cg=/sys/fs/cgroup
name="throttlewatch-agent-bench-$$"

if [ "$(id -u)" != 0 ]; then
    echo "agent-at-scale.sh: run as root: it creates cgroups under $cg" >&2
    exit 1
fi
for c in cpu cpuacct memory; do
    [ -w "$cg/$c" ] || { echo "agent-at-scale.sh: needs the cgroup v1 $c controller writable at $cg/$c" >&2; exit 1; }
done
for tool in curl awk; do command -v "$tool" >/dev/null || { echo "agent-at-scale.sh: needs $tool" >&2; exit 1; }; done

work="$(mktemp -d "${TMPDIR:-/tmp}/throttlewatch-agent-at-scale.XXXXXX")"
api_tree=()
api_agent=()
if [ "${API:-0}" = 1 ]; then
    api_tree=(--api-dir "$work/api")
    api_agent=(--kubeconfig "$work/api/kubeconfig" --node-name bench-node)
fi
agent_pid=""
tree_pid=""

stop_agent() {
    if [ -n "$agent_pid" ]; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
        agent_pid=""
    fi
    for c in memory cpu cpuacct; do
        [ -d "$cg/$c/$name" ] || continue
        for _ in $(seq 50); do rmdir "$cg/$c/$name" 2>/dev/null && break; sleep 0.1; done
    done
}
stop_tree() {
    if [ -n "$tree_pid" ]; then
        kill -TERM "$tree_pid" 2>/dev/null || true
        wait "$tree_pid" 2>/dev/null || true
        tree_pid=""
    fi
}
cleanup() {
    stop_agent
    stop_tree
    # A tree holder killed outright leaves its folders; this removes them.
    "$bench" cleanup >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted; cleaning up" >&2; exit 130' INT TERM HUP

echo "== build"
# Release: warnings are errors (Directory.Build.props). The output is shown only when a build fails.
projects=("$repo/bench/ThrottleWatch.Benchmarks/ThrottleWatch.Benchmarks.csproj")
[ -n "${AGENT:-}" ] || projects+=("$repo/agent/ThrottleWatch.Agent")
[ -x "$agent" ] || [ -z "${AGENT:-}" ] || { echo "agent-at-scale.sh: AGENT=$agent is not an executable" >&2; exit 2; }
for project in "${projects[@]}"; do
    if ! out="$(dotnet build "$project" -c Release --nologo -v quiet --disable-build-servers 2>&1)"; then
        echo "$out" >&2
        exit 1
    fi
done

echo "== machine"
echo "nproc $(nproc), kernel $(uname -r), dotnet $(dotnet --version), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), open-file limit $(ulimit -Sn) (hard $(ulimit -Hn)), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "commit $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown); SECONDS $seconds, scrape every ${step}s (${SCRAPE:-alternate})"
echo "agent $agent ${AGENT_ARGS:-}${API:+ API=$API}${MEMORY_LIMIT:+ (memory limit $MEMORY_LIMIT)}${WARM:+ WARM=$WARM}"

# p50 and p99 of the numbers on stdin, nearest rank.
percentiles() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit } i = int(0.5 * NR + 0.999999); j = int(0.99 * NR + 0.999999); print v[i], v[j] }'; }

# Sweep p50/p99 (ms) from the sweep-duration histogram's bucket deltas between two scrapes, interpolated
# inside the bucket as histogram_quantile does; also the mean (sum/count) and the number of sweeps.
sweep_quantiles() {
    awk -v first="$1" '
        function le(line,  s) { s = line; sub(/.*le="/, "", s); sub(/".*/, "", s); return s }
        /^throttlewatch_agent_sweep_duration_seconds_bucket/ { b = le($0); if (FILENAME == first) b0[b] = $NF; else { b1[b] = $NF; order[++n] = b } }
        /^throttlewatch_agent_sweep_duration_seconds_sum/ { if (FILENAME == first) s0 = $NF; else s1 = $NF }
        /^throttlewatch_agent_sweep_duration_seconds_count/ { if (FILENAME == first) c0 = $NF; else c1 = $NF }
        function q(p,  k, target, prev, prevle, d, up) {
            target = p * (c1 - c0); prev = 0; prevle = 0
            for (k = 1; k <= n; k++) {
                d = b1[order[k]] - b0[order[k]]
                if (d >= target) {
                    if (order[k] == "+Inf") return ">" prevle * 1000
                    up = order[k] + 0
                    return sprintf("%.1f", 1000 * (prevle + (up - prevle) * (d - prev > 0 ? (target - prev) / (d - prev) : 1)))
                }
                prev = d; prevle = order[k] + 0
            }
            return "-"
        }
        END { if (c1 - c0 <= 0) { print "- - - 0"; exit } printf "%s %s %.1f %d\n", q(0.5), q(0.99), 1000 * (s1 - s0) / (c1 - c0), c1 - c0 }
    ' "$1" "$2"
}

# Busy CPU time of the whole machine so far (all of /proc/stat's cpu line but idle and iowait), in ns.
machine_busy_ns() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.0f\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1e9 / hz; exit }' /proc/stat; }

metric() { awk -v m="$1" '$1 == m { print $NF; exit }' "$2"; }

rows="$work/rows"
: >"$rows"
for n in $sizes; do
    echo
    echo "== N = $n"
    rm -f "$work/ready"
    "$bench" tree --n "$n" --ready-file "$work/ready" ${api_tree[@]+"${api_tree[@]}"} >"$work/tree.out" 2>"$work/tree.err" &
    tree_pid=$!
    built=$SECONDS
    until [ -s "$work/ready" ]; do
        if ! kill -0 "$tree_pid" 2>/dev/null; then cat "$work/tree.err" >&2; echo "agent-at-scale.sh: the tree could not be built" >&2; exit 1; fi
        sleep 0.2
    done
    read -r containers pods quota busy folder <"$work/ready"
    echo "tree: $containers containers in $pods pods under $cg/{cpu,cpuacct}/$folder ($quota with a 0.2 CPU quota, $busy running a busy loop), built in $((SECONDS - built)) s"

    if [ "${WARM:-0}" = 1 ]; then
        find "$cg/cpu/$folder" "$cg/cpuacct/$folder" -type f \( -name 'cpu.*' -o -name 'cpuacct.usage' \) -exec cat {} + >/dev/null 2>&1 || true
        echo "warm: every cpu.* and cpuacct.usage file of the tree read once before the agent starts"
    fi
    for c in memory cpu cpuacct; do mkdir "$cg/$c/$name"; done
    # As the DaemonSet's memory limit does: the .NET GC sizes its heap to the cgroup's limit.
    if [ -n "${MEMORY_LIMIT:-}" ]; then echo "$MEMORY_LIMIT" >"$cg/memory/$name/memory.limit_in_bytes"; fi
    # The wrapper moves itself into the agent's cgroups, then becomes the agent: every byte and every
    # nanosecond of the agent's is counted from its first instruction.
    sh -c 'for c in memory cpu cpuacct; do echo $$ > "$1/$c/$2/cgroup.procs"; done; shift 2; exec "$@"' sh "$cg" "$name" \
        "$agent" run --cgroup-root "$cg" --proc-root /proc --listen "127.0.0.1:$port" --interval 1s ${api_agent[@]+"${api_agent[@]}"} ${AGENT_ARGS:-} \
        >"$work/agent.out" 2>"$work/agent.err" &
    agent_pid=$!
    started=$(date +%s.%N)
    until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do
        if ! kill -0 "$agent_pid" 2>/dev/null; then cat "$work/agent.err" >&2; echo "agent-at-scale.sh: the agent exited" >&2; exit 1; fi
        if awk -v s="$started" -v now="$(date +%s.%N)" 'BEGIN { exit !(now - s > 120) }'; then echo "agent-at-scale.sh: the agent was not ready in 120 s" >&2; exit 1; fi
        sleep 0.1
    done
    ready_s=$(awk -v s="$started" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - s }')

    # One cold scrape right after ready (the exposition code runs for the first time), shown apart;
    # then, 15 s later, the measured window: from its first scrape to its last, SECONDS apart.
    first_ms=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/metrics" | awk '{ printf "%.1f", 1000 * $1 }')
    sleep "$(awk -v s="$started" -v now="$(date +%s.%N)" -v r="$ready_s" 'BEGIN { d = s + r + 15 - now; print (d > 0 ? d : 0) }')"
    : >"$work/plain.times"; : >"$work/gzip.times"
    busy0=$(machine_busy_ns); loops0=$(cat "$cg/cpuacct/$folder/cpuacct.usage")
    cpu0=$(cat "$cg/cpuacct/$name/cpuacct.usage"); t0=$(date +%s%N)
    k=0
    while :; do
        when=$(date +%s%N)
        # One scrape per step, as one Prometheus does, plain and gzip in turn (SCRAPE=both: both every step).
        if [ "${SCRAPE:-alternate}" = both ] || [ $((k % 2)) = 0 ]; then
            curl -s -o "$work/scrape.$k" -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$port/metrics" >>"$work/plain.times"
        fi
        if [ "${SCRAPE:-alternate}" = both ] || [ $((k % 2)) = 1 ]; then
            curl -s --compressed -o "$work/scrape.$k" -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$port/metrics" >>"$work/gzip.times"
        fi
        k=$((k + 1))
        elapsed=$(( ($(date +%s%N) - t0) / 1000000000 ))
        [ $((k * step)) -le "$seconds" ] || break
        sleep "$(awk -v due="$((k * step))" -v t0="$t0" -v now="$(date +%s%N)" 'BEGIN { d = due - (now - t0) / 1e9; print (d > 0 ? d : 0) }')"
    done
    cpu1=$(cat "$cg/cpuacct/$name/cpuacct.usage"); t1=$(date +%s%N)
    busy1=$(machine_busy_ns); loops1=$(cat "$cg/cpuacct/$folder/cpuacct.usage")
    loops_cores=$(awk -v d="$((loops1 - loops0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.2f", d / t }')
    other_cores=$(awk -v m="$((busy1 - busy0))" -v a="$((cpu1 - cpu0))" -v l="$((loops1 - loops0))" -v t="$((t1 - t0))" 'BEGIN { o = (m - a - l) / t; printf "%.2f", (o > 0 ? o : 0) }')
    kmem=$(awk '{ printf "%.1f", $1 / 1048576 }' "$cg/memory/$name/memory.kmem.usage_in_bytes" 2>/dev/null || echo "-")
    last=$((k - 1))
    millicores=$(awk -v c="$((cpu1 - cpu0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.1f", 1000 * c / t }')
    mem_now=$(awk '{ printf "%.1f", $1 / 1048576 }' "$cg/memory/$name/memory.usage_in_bytes")
    mem_max=$(awk '{ printf "%.1f", $1 / 1048576 }' "$cg/memory/$name/memory.max_usage_in_bytes")
    mem_rss=$(awk '$1 == "total_rss" { printf "%.1f", $2 / 1048576 }' "$cg/memory/$name/memory.stat")
    mem_cache=$(awk '$1 == "total_cache" { printf "%.1f", $2 / 1048576 }' "$cg/memory/$name/memory.stat")
    rss=$(awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$agent_pid/status")
    hwm=$(awk '$1 == "VmHWM:" { printf "%.1f", $2 / 1024 }' "/proc/$agent_pid/status")
    threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$agent_pid/status")
    fds=$(ls "/proc/$agent_pid/fd" | wc -l)
    seen=$(metric "throttlewatch_agent_containers{node=\"$(hostname)\"}" "$work/scrape.$last" || true)
    [ -n "$seen" ] || seen=$(awk '/^throttlewatch_agent_containers[{ ]/ { print $NF; exit }' "$work/scrape.$last")
    degraded=$(awk '/^throttlewatch_agent_handles_degraded[{ ]/ { print $NF; exit }' "$work/scrape.$last")
    samples=$(grep -vc '^#' "$work/scrape.$last" || true)
    read -r sp50 sp99 smean sweeps < <(sweep_quantiles "$work/scrape.0" "$work/scrape.$last")
    read -r p50 p99 < <(awk '{ printf "%.1f\n", 1000 * $1 }' "$work/plain.times" | percentiles)
    read -r g50 g99 < <(awk '{ printf "%.1f\n", 1000 * $1 }' "$work/gzip.times" | percentiles)
    life_mc=$(awk -v c="$cpu1" -v s="$started" -v t="$t1" 'BEGIN { printf "%.1f", c / 1e6 / (t / 1e9 - s) }')
    bytes=$(awk 'END { print $2 }' "$work/plain.times")
    gbytes=$(awk 'END { print $2 }' "$work/gzip.times")
    echo "agent CPU: ${millicores} millicores over the window, ${life_mc} since it started (startup and the cold scrape included)"
    echo "machine: the busy loops used ${loops_cores} cores over the window, other processes ${other_cores} (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "agent ready in ${ready_s} s; tracks $seen containers ($degraded degraded), $threads threads, $fds open files; $k scrapes over $(( (t1 - t0) / 1000000000 )) s, $sweeps sweeps"
    echo "memory cgroup: usage ${mem_now} MiB (rss ${mem_rss}, cache ${mem_cache}), max ${mem_max} MiB, of which kernel memory (kmem) ${kmem} MiB; VmRSS ${rss} MiB, VmHWM ${hwm} MiB"
    echo "scrapes (ms, bytes), plain:" $(awk '{ printf "%.1f/%d ", 1000 * $1, $2 }' "$work/plain.times")
    echo "scrapes (ms, bytes), gzip: " $(awk '{ printf "%.1f/%d ", 1000 * $1, $2 }' "$work/gzip.times")
    [ "$seen" = "$containers" ] || echo "note: the agent tracks $seen containers, the tree has $containers: other kube-shaped cgroups existed on this machine during the run"
    if [ -s "$work/agent.err" ]; then echo "agent stderr (last 5 lines):"; tail -5 "$work/agent.err"; fi
    if [ "${SMAPS:-0}" = 1 ]; then
        # Where the RSS is: resident KiB by mapping (the binary's pages by permission, anonymous memory by size class).
        echo "resident memory by mapping (KiB; SMAPS=1):"
        awk '/^[0-9a-f]+-[0-9a-f]+ / { perm = $2; name = ($6 == "" ? "[anon]" : $6); next }
             $1 == "Size:" { key = name; if (name == "[anon]") key = key ($2 >= 65536 ? " >=64M" : $2 >= 1024 ? " 1M-64M" : " <1M"); key = key " " perm; next }
             $1 == "Rss:" { rss[key] += $2 }
             END { for (k in rss) if (rss[k] >= 256) printf "    %8d  %s\n", rss[k], k }' "/proc/$agent_pid/smaps" | sort -rn
    fi
    printf '| %s | %s | %s | %s / %s | %s / %s | %s / %s (mean %s) | %s | %s / %s | %s / %s | %s | %s | %s | %s |\n' \
        "$n" "$seen" "$millicores" "$mem_now" "$mem_max" "$rss" "$hwm" "$sp50" "$sp99" "$smean" "$first_ms" "$p50" "$p99" "$g50" "$g99" "$bytes" "$gbytes" "$samples" "$other_cores" >>"$rows"

    stop_agent
    stop_tree
done

echo
echo "== the whole agent, ${seconds} s per size after 15 s of warm-up (first scrape: the cold one at ready; sweep and scrape p50/p99 over the window)"
echo
echo "| containers | tracked | agent millicores | memory cgroup MiB (end / max) | RSS MiB (end / peak) | sweep ms p50 / p99 | first scrape ms | scrape ms p50 / p99 | gzip scrape ms p50 / p99 | /metrics bytes | gzip bytes | samples | other load (cores) |"
echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
cat "$rows"

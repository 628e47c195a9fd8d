#!/usr/bin/env bash
# Long runs of the whole agent over real cgroups (docs/reliability.md, "Long runs"); a check, not a
# benchmark: it exits non-zero when a correctness check fails, and reports timings without judging them.
#
#  1. Churn soak (SOAK_SECONDS, default 600): STEADY (200) Kubernetes-shaped containers held by
#     `ThrottleWatch.Benchmarks tree` (a tenth with a 0.2 CPU quota, three running busy loops), plus
#     `ThrottleWatch.Benchmarks churn` creating and removing CHURN_PER_MINUTE (300) more a minute
#     (lifetimes 5-40 s, some with a short-lived process, some with a quota). The Release agent runs in
#     v1 memory, cpu and cpuacct cgroups of its own (`run --cgroup-root /sys/fs/cgroup --interval 1s`)
#     and is scraped every 15 s: memory (cgroup and RSS), open files, threads, tracked containers,
#     distinct container_id values, read errors by reason, and stale series: ids the churn removed more
#     than STALE_GRACE (3) s before the scrape that are still exported. Then the churn stops (it removes
#     all it made) and, after STALE_GRACE, every churned id must be gone and open files back to where
#     they were before the churn began (FD_SLACK, default 8), and the limits the agent watches
#     (throttlewatch_agent_limits_watched: one inotify watch per cgroup) back to their count before it.
#  2. Scrape load (LOAD_SECONDS, default 60): SCRAPERS (100) concurrent scrapers on loopback
#     (`ThrottleWatch.Benchmarks scrape-load`), each response checked whole: requests, errors, p50/p90/p99/max.
#  3. Live heap (`ThrottleWatch.Benchmarks churn-heap`): the agent in process over a fixture tree,
#     HEAP_ROUNDS (40) rounds of 300 containers made and removed, the managed heap read after a full GC
#     each round. RSS and the memory cgroup also follow the GC's sizing and the kernel's dentry cache;
#     this one follows only what the agent keeps.
#
# Checks (any failing one: exit 1): no stale series; every steady container in every scrape; no failed
# scrape; no read error but `vanished` (the expected one under churn); no open file into the churn's
# folder after it stopped, and open files back within FD_SLACK after the churn and after the load (files
# the agent holds into other runs' kube-shaped cgroups on a shared machine are left out of the count); no scrape-load error; RSS at the end of the soak within
# MEM_SLACK_MIB (32) of minute 1 (a leak of 10 KiB per churned container would pass 32 MiB in ten
# minutes; GC noise stays well under it); the live heap after the last round within HEAP_SLACK_MIB (4)
# of the most it held in the first half.
#
# Usage: bench/scripts/reliability.sh, as root; cgroup v1 cpu, cpuacct and memory at /sys/fs/cgroup.
# On a shared machine: flock /tmp/tw-measure.lock bench/scripts/reliability.sh. AGENT=path runs another
# agent binary. Everything it makes is removed on exit, Ctrl-C and failures included.
set -euo pipefail
export LC_ALL=C # sort and comm agree on order

soak="${SOAK_SECONDS:-600}"
load="${LOAD_SECONDS:-60}"
scrapers="${SCRAPERS:-100}"
steady="${STEADY:-200}"
per_minute="${CHURN_PER_MINUTE:-300}"
grace="${STALE_GRACE:-3}"
fd_slack="${FD_SLACK:-8}"
mem_slack="${MEM_SLACK_MIB:-32}"
heap_slack="${HEAP_SLACK_MIB:-4}"
heap_rounds="${HEAP_ROUNDS:-40}"
port="${PORT:-19818}"
step=15
for v in soak load scrapers steady per_minute grace fd_slack mem_slack heap_slack heap_rounds port; do
    case "${!v}" in ''|*[!0-9]*) echo "reliability.sh: $v must be a whole number, not '${!v}'" >&2; exit 2;; esac
done
if [ "$soak" -lt 30 ] || [ "$load" -lt 1 ]; then echo "reliability.sh: SOAK_SECONDS must be at least 30, LOAD_SECONDS at least 1" >&2; exit 2; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bench="$repo/bench/ThrottleWatch.Benchmarks/bin/Release/net10.0/ThrottleWatch.Benchmarks"
agent="${AGENT:-$repo/agent/ThrottleWatch.Agent/bin/Release/net10.0/throttlewatch-agent}"
cg=/sys/fs/cgroup
name="throttlewatch-agent-rel-$$"
url="http://127.0.0.1:$port"

if [ "$(id -u)" != 0 ]; then
    echo "reliability.sh: run as root: it creates cgroups under $cg" >&2
    exit 1
fi
for c in cpu cpuacct memory; do
    [ -w "$cg/$c" ] || { echo "reliability.sh: needs the cgroup v1 $c controller writable at $cg/$c" >&2; exit 1; }
done
for tool in curl awk sort comm; do command -v "$tool" >/dev/null || { echo "reliability.sh: needs $tool" >&2; exit 1; }; done

work="$(mktemp -d "${TMPDIR:-/tmp}/throttlewatch-reliability.XXXXXX")"
agent_pid=""
tree_pid=""
churn_pid=""

stop_pid() { # pid: SIGTERM, wait up to 10 s, then SIGKILL
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
stop_churn() { stop_pid "$churn_pid"; churn_pid=""; }
cleanup() {
    stop_churn
    stop_pid "$agent_pid"; agent_pid=""
    for c in memory cpu cpuacct; do
        [ -d "$cg/$c/$name" ] || continue
        for _ in $(seq 50); do rmdir "$cg/$c/$name" 2>/dev/null && break; sleep 0.1; done
    done
    stop_pid "$tree_pid"; tree_pid=""
    # A tree or churn process killed outright leaves its folders (throttlewatch-bench-<pid>); this removes them.
    "$bench" cleanup >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted; cleaning up" >&2; exit 130' INT TERM HUP

echo "== build"
# Release: warnings are errors (Directory.Build.props). The output is shown only when a build fails.
projects=("$repo/bench/ThrottleWatch.Benchmarks/ThrottleWatch.Benchmarks.csproj")
[ -n "${AGENT:-}" ] || projects+=("$repo/agent/ThrottleWatch.Agent")
for project in "${projects[@]}"; do
    if ! out="$(dotnet build "$project" -c Release --nologo -v quiet --disable-build-servers 2>&1)"; then
        echo "$out" >&2
        exit 1
    fi
done
[ -x "$agent" ] || { echo "reliability.sh: no agent at $agent" >&2; exit 1; }

commit="$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"
echo "== machine"
echo "nproc $(nproc), kernel $(uname -r), dotnet $(dotnet --version), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit $commit; SOAK_SECONDS $soak, LOAD_SECONDS $load, SCRAPERS $scrapers, STEADY $steady, CHURN_PER_MINUTE $per_minute, STALE_GRACE ${grace}s, FD_SLACK $fd_slack, MEM_SLACK_MIB $mem_slack, HEAP_ROUNDS $heap_rounds, HEAP_SLACK_MIB $heap_slack"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
mib() { awk '{ printf "%.1f", $1 / 1048576 }'; }
fd_targets() { find "/proc/$agent_pid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null || true; }
# Open files by kind: "cgroup files N (churned N, other runs' N), sockets N, other N". Handles into
# kube-shaped cgroups of other runs on this machine (tests of a parallel checkout) are counted apart.
fd_kinds() {
    fd_targets | awk -v mine="/$folder/" -v churned="/${churn_folder:-none}/" '
        /^\/sys\/fs\/cgroup\// { c++; if (index($0, churned)) ch++; else if (!index($0, mine) && /kubepods/) f++; next }
        /^socket:/ { s++; next } { o++ }
        END { printf "cgroup files %d (churned %d, other runs %d), sockets %d, other %d", c, ch, f, s, o }'
}
# Open files but those into other runs' kube-shaped cgroups; and those into the churn's folder.
fds_own() {
    fd_targets | awk -v mine="/$folder/" -v churned="/${churn_folder:-none}/" '/^\/sys\/fs\/cgroup\// && /kubepods/ && !index($0, mine) && !index($0, churned) { next } { n++ } END { print n + 0 }'
}
fds_churned() { fd_targets | awk -v churned="/$churn_folder/" 'index($0, churned) { n++ } END { print n + 0 }'; }
threads() { awk '$1 == "Threads:" { print $2 }' "/proc/$agent_pid/status"; }
rss_mib() { awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$agent_pid/status"; }
cg_mib() { mib <"$cg/memory/$name/memory.usage_in_bytes"; }
# Kernel memory charged to the agent's cgroup (dentries and inodes of the cgroup files it opens, sockets).
kmem_mib() { mib <"$cg/memory/$name/memory.kmem.usage_in_bytes" 2>/dev/null || echo -; }
# The container_id values of an exposition, one a line, sorted and distinct.
ids_of() { grep -o 'container_id="[0-9a-f]*"' "$1" | cut -d'"' -f2 | sort -u || true; }
# A sample's value: metric name (with or without labels) as the line starts.
value_of() { awk -v m="$1" 'index($0, m) == 1 { print $NF; exit }' "$2"; }
# Read errors by reason, "reason=n ..." from an exposition.
read_errors() { awk '/^throttlewatch_agent_read_errors_total\{/ { r = $0; sub(/.*reason="/, "", r); sub(/".*/, "", r); printf "%s%s=%s", sep, r, $NF; sep = " " }' "$1"; }
non_vanished() { awk '/^throttlewatch_agent_read_errors_total\{/ && !/reason="vanished"/ { s += $NF } END { print s + 0 }' "$1"; }

# One scrape to $work/scrape.<tag>; prints "http_code seconds bytes". A failed connection prints code 000.
scrape() { curl -s -m 20 -o "$work/scrape.$1" -w '%{http_code} %{time_total} %{size_download}\n' "$url/metrics" || true; }

# Stale ids in scrape file $1 taken at unix ms $2: churned ids removed before $2 - grace that it still exports.
stale_in() {
    awk -v cutoff="$(( $2 - grace * 1000 ))" '$1 == "del" && $2 < cutoff { print $3 }' "$work/churn.log" | sort -u >"$work/removed"
    ids_of "$1" | comm -12 - "$work/removed" | wc -l
}
missing_in() { ids_of "$1" | comm -13 - "$work/steady.ids" | wc -l; }

echo
echo "== steady set"
"$bench" tree --n "$steady" --ready-file "$work/tree.ready" >"$work/tree.out" 2>"$work/tree.err" &
tree_pid=$!
until [ -s "$work/tree.ready" ]; do
    if ! kill -0 "$tree_pid" 2>/dev/null; then cat "$work/tree.err" >&2; echo "reliability.sh: the steady tree could not be built" >&2; exit 1; fi
    sleep 0.2
done
read -r containers pods quota busy folder <"$work/tree.ready"
find "$cg/cpu/$folder" -mindepth 3 -maxdepth 4 -type d -regextype posix-extended -regex '.*/[0-9a-f]{64}' -printf '%f\n' | sort -u >"$work/steady.ids"
echo "$containers containers in $pods pods under $cg/{cpu,cpuacct}/$folder ($quota with a 0.2 CPU quota, $busy running a busy loop); $(wc -l <"$work/steady.ids") ids found on disk"
[ "$(wc -l <"$work/steady.ids")" = "$containers" ] || { echo "reliability.sh: the steady ids on disk do not match the tree" >&2; exit 1; }

echo
echo "== agent"
for c in memory cpu cpuacct; do mkdir "$cg/$c/$name"; done
# The wrapper moves itself into the agent's cgroups, then becomes the agent.
sh -c 'for c in memory cpu cpuacct; do echo $$ > "$1/$c/$2/cgroup.procs"; done; shift 2; exec "$@"' sh "$cg" "$name" \
    "$agent" run --cgroup-root "$cg" --proc-root /proc --listen "127.0.0.1:$port" --interval 1s \
    >"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
started=$SECONDS
until curl -sf -o /dev/null "$url/readyz"; do
    if ! kill -0 "$agent_pid" 2>/dev/null; then cat "$work/agent.err" >&2; echo "reliability.sh: the agent exited" >&2; exit 1; fi
    [ $((SECONDS - started)) -lt 120 ] || { echo "reliability.sh: the agent was not ready in 120 s" >&2; exit 1; }
    sleep 0.1
done
sleep 5
read -r code secs bytes < <(scrape base)
[ "$code" = 200 ] || { echo "reliability.sh: the first scrape answered $code" >&2; exit 1; }
churn_folder=""
fd_base=$(fds_own); thr_base=$(threads); rss_base=$(rss_mib); cg_base=$(cg_mib); kmem_base=$(kmem_mib)
watched_base=$(value_of throttlewatch_agent_limits_watched "$work/scrape.base")
base_missing=$(missing_in "$work/scrape.base")
echo "ready in $((SECONDS - started)) s; before the churn: $fd_base open files ($(fd_kinds)), $thr_base threads, RSS $rss_base MiB, memory cgroup $cg_base MiB, tracks $(value_of throttlewatch_agent_containers "$work/scrape.base") containers, $(ids_of "$work/scrape.base" | wc -l) distinct ids ($base_missing steady ones missing)"

echo
echo "== phase 1: churn soak, $soak s, $per_minute containers a minute, scrape every ${step}s"
"$bench" churn --per-minute "$per_minute" --log "$work/churn.log" --ready-file "$work/churn.ready" >"$work/churn.out" 2>"$work/churn.err" &
churn_pid=$!
until [ -s "$work/churn.ready" ]; do
    if ! kill -0 "$churn_pid" 2>/dev/null; then cat "$work/churn.err" >&2; echo "reliability.sh: the churn could not start" >&2; exit 1; fi
    sleep 0.1
done
read -r churn_folder <"$work/churn.ready"
printf '%6s %6s %9s %8s %6s %6s %6s %8s %8s %6s %6s %8s  %s\n' t code scrape_ms mem_cg kmem rss fds threads tracked ids stale missing "read errors"
stale_max=0; stale_total=0; missing_total=0; scrape_fail=0; nonvan_max=0; rows=0
mem1=""; rss1=""; fd1=""
mem_end=$cg_base; kmem_end=-; kmem1=""; rss_end=$rss_base; fd_soak_end=$fd_base; thr_end=$thr_base; last=base
t0=$(date +%s%N)
k=0
while :; do
    k=$((k + 1))
    due=$((k * step))
    [ "$due" -le "$soak" ] || break
    sleep "$(awk -v due="$due" -v t0="$t0" -v now="$(date +%s%N)" 'BEGIN { d = due - (now - t0) / 1e9; print (d > 0 ? d : 0) }')"
    at=$(now_ms)
    read -r code secs bytes < <(scrape "$k")
    if ! kill -0 "$agent_pid" 2>/dev/null; then echo "reliability.sh: the agent exited during the soak" >&2; tail -20 "$work/agent.err" >&2; exit 1; fi
    if ! kill -0 "$churn_pid" 2>/dev/null; then echo "reliability.sh: the churn exited during the soak" >&2; cat "$work/churn.err" >&2; exit 1; fi
    f=$(fds_own); th=$(threads); r=$(rss_mib); m=$(cg_mib); km=$(kmem_mib)
    if [ "$code" != 200 ] || [ "$(tail -c1 "$work/scrape.$k" | od -An -c | tr -d ' ')" != '\n' ]; then
        scrape_fail=$((scrape_fail + 1))
        printf '%6s %6s %9s %8s %6s %6s %6s %8s\n' "$due" "$code" - "$m" "$km" "$r" "$f" "$th"
        continue
    fi
    st=$(stale_in "$work/scrape.$k" "$at"); mi=$(missing_in "$work/scrape.$k"); nv=$(non_vanished "$work/scrape.$k")
    stale_total=$((stale_total + st)); missing_total=$((missing_total + mi))
    [ "$st" -le "$stale_max" ] || stale_max=$st
    [ "$nv" -le "$nonvan_max" ] || nonvan_max=$nv
    printf '%6s %6s %9.1f %8s %6s %6s %6s %8s %8s %6s %6s %8s  %s\n' "$due" "$code" "$(awk -v s="$secs" 'BEGIN { print 1000 * s }')" "$m" "$km" "$r" "$f" "$th" \
        "$(value_of throttlewatch_agent_containers "$work/scrape.$k")" "$(ids_of "$work/scrape.$k" | wc -l)" "$st" "$mi" "$(read_errors "$work/scrape.$k")"
    rows=$((rows + 1))
    if [ -z "$mem1" ] && [ "$due" -ge 60 ]; then mem1=$m; kmem1=$km; rss1=$r; fd1=$f; fi
    mem_end=$m; kmem_end=$km; rss_end=$r; fd_soak_end=$f; thr_end=$th; last=$k
done
[ -n "$mem1" ] || { mem1=$mem_end; kmem1=$kmem_end; rss1=$rss_end; fd1=$fd_soak_end; }
mem_max=$(mib <"$cg/memory/$name/memory.max_usage_in_bytes")
rss_peak=$(awk '$1 == "VmHWM:" { printf "%.1f", $2 / 1024 }' "/proc/$agent_pid/status")
vanished_soak=$(awk '/^throttlewatch_agent_read_errors_total\{/ && /reason="vanished"/ { print $NF }' "$work/scrape.$last")
sweeps_soak=$(value_of 'throttlewatch_agent_sweep_duration_seconds_count' "$work/scrape.$last")
sweep_mean=$(awk '/^throttlewatch_agent_sweep_duration_seconds_sum/ { s = $NF } /^throttlewatch_agent_sweep_duration_seconds_count/ { c = $NF } END { if (c) printf "%.1f", 1000 * s / c; else print "-" }' "$work/scrape.$last")
load_soak="$(cut -d' ' -f1-3 /proc/loadavg)"

stop_churn
cat "$work/churn.out"
created=$(awk '$1 == "add"' "$work/churn.log" | wc -l); removed=$(awk '$1 == "del"' "$work/churn.log" | wc -l)
sleep "$grace"; sleep 2
at=$(now_ms)
read -r code secs bytes < <(scrape after)
[ "$code" = 200 ] || scrape_fail=$((scrape_fail + 1))
churn_ids_left=$(awk '$1 == "add" { print $3 }' "$work/churn.log" | sort -u | comm -12 <(ids_of "$work/scrape.after") - | wc -l)
missing_after=$(missing_in "$work/scrape.after")
fd_after=$(fds_own); fd_churned_after=$(fds_churned); kmem_after=$(kmem_mib); thr_after=$(threads)
tracked_after=$(value_of throttlewatch_agent_containers "$work/scrape.after")
watched_after=$(value_of throttlewatch_agent_limits_watched "$work/scrape.after")
ids_after=$(ids_of "$work/scrape.after" | wc -l)
nv=$(non_vanished "$work/scrape.after"); [ "$nv" -le "$nonvan_max" ] || nonvan_max=$nv
echo "after the churn: $churn_ids_left churned ids still exported, $missing_after steady ones missing; tracks $tracked_after containers, $ids_after distinct ids; $fd_after open files ($(fd_kinds); before the churn: $fd_base), $thr_after threads; $watched_after limits watched (before the churn: $watched_base); read errors $(read_errors "$work/scrape.after")"
[ "$ids_after" = "$steady" ] || echo "note: $ids_after distinct ids, the steady set has $steady: other kube-shaped cgroups exist on this machine (another run's tests?)"

echo
echo "== phase 2: $scrapers concurrent scrapers for $load s"
load_rc=0
"$bench" scrape-load --url "$url/metrics" --scrapers "$scrapers" --seconds "$load" --min-containers "$steady" | tee "$work/load.out" || load_rc=$?
load_phase2="$(cut -d' ' -f1-3 /proc/loadavg)"
result=$(awk '$1 == "RESULT"' "$work/load.out")
lv() { echo "$result" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
sleep 2
fd_load=$(fds_own); fd_churned_load=$(fds_churned); thr_load=$(threads)
read -r code secs bytes < <(scrape end)
[ "$code" = 200 ] || scrape_fail=$((scrape_fail + 1))
mem_load=$(cg_mib); rss_load=$(rss_mib)
echo "after the load: $fd_load open files ($(fd_kinds)), $thr_load threads, memory cgroup $mem_load MiB, RSS $rss_load MiB"
warnings=$(cat "$work/agent.out" "$work/agent.err" | grep -ci 'warn' || true)
if [ "$warnings" != 0 ]; then echo "agent warnings ($warnings; the first 5):"; { cat "$work/agent.out" "$work/agent.err" | grep -i 'warn' || true; } | head -5 || true; fi

echo
echo "== phase 3: the agent's live managed heap under churn (in process, fixture tree; a full GC before each reading)"
heap_rc=0
TMPDIR="$work" "$bench" churn-heap --rounds "$heap_rounds" --per-round 300 --steady "$steady" 2>&1 | grep -v ' warn: \| info: ' | tee "$work/heap.out" || heap_rc=$?
heap_at() { awk -v r="$1" '$1 == r && $2 ~ /^[0-9]+$/ { print $3 }' "$work/heap.out"; }
heap0=$(heap_at 0); heap_end=$(heap_at "$heap_rounds")
# The reference: the most the heap held in the first half (past the warm-up, where tables grow to their peak size).
heap_q=$(awk -v h="$((heap_rounds / 2))" '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $1 >= 1 && $1 <= h && $3 > m { m = $3 } END { if (m) print m }' "$work/heap.out")

# The checks: each "pass" or "**FAIL**".
verdict() { if eval "$1"; then echo pass; else echo "**FAIL**"; fi; }
c_stale=$(verdict "[ $stale_total = 0 ] && [ $churn_ids_left = 0 ]")
c_missing=$(verdict "[ $missing_total = 0 ] && [ $missing_after = 0 ] && [ $base_missing = 0 ]")
c_scrape=$(verdict "[ $scrape_fail = 0 ]")
c_read=$(verdict "[ $nonvan_max = 0 ]")
c_fd=$(verdict "[ $fd_after -le $((fd_base + fd_slack)) ] && [ $fd_load -le $((fd_base + fd_slack)) ] && [ $fd_churned_after = 0 ] && [ $fd_churned_load = 0 ]")
c_watch=$(verdict "[ '$watched_after' = '$watched_base' ] && [ -n '$watched_base' ]")
c_mem=$(verdict "awk -v a=$rss1 -v b=$rss_end -v s=$mem_slack 'BEGIN { exit !(b <= a + s) }'")
c_heap=$(verdict "[ -n '$heap_end' ] && [ -n '$heap_q' ] && awk -v a='$heap_q' -v b='$heap_end' -v s='$heap_slack' 'BEGIN { exit !(b <= a + s) }'")
c_load=$(verdict "[ $load_rc = 0 ] && [ '$(lv errors)' = 0 ]")
fails=$(printf '%s\n' "$c_stale" "$c_missing" "$c_scrape" "$c_read" "$c_fd" "$c_watch" "$c_mem" "$c_heap" "$c_load" | grep -c FAIL || true)
echo
echo "== summary: $(date -u +%Y-%m-%dT%H:%MZ), commit $commit, nproc $(nproc), load average $load_soak at the end of the soak, $load_phase2 at the end of the load"
echo
echo "| | measured | check |"
echo "|---|---|---|"
echo "| churn soak | $soak s: $steady steady containers ($quota with a quota, $busy busy loops) + $created created and $removed removed by the churn ($per_minute a minute, lifetimes 5-40 s); $rows scrapes, $sweeps_soak sweeps (mean ${sweep_mean} ms) | |"
echo "| stale series: churned ids exported more than ${grace} s after removal | $stale_total over $rows scrapes (most in one: $stale_max); $churn_ids_left ${grace}+2 s after the churn stopped | $c_stale |"
echo "| steady containers missing from a scrape | $((missing_total + missing_after + base_missing)) | $c_missing |"
echo "| failed scrapes during the soak (non-200, cut short) | $scrape_fail | $c_scrape |"
echo "| read errors other than \`vanished\` | $nonvan_max (vanished: $vanished_soak, expected under churn) | $c_read |"
echo "| open files: before the churn / minute 1 / end of soak / after the churn / after the load | $fd_base / $fd1 / $fd_soak_end / $fd_after / $fd_load (slack $fd_slack); into removed containers after the churn: $fd_churned_after | $c_fd |"
echo "| limits watched (inotify watches, one per cgroup): before the churn / after the churn | $watched_base / $watched_after | $c_watch |"
echo "| RSS MiB: before the churn / minute 1 / end of soak (peak) | $rss_base / $rss1 / $rss_end ($rss_peak) (slack $mem_slack) | $c_mem |"
echo "| memory cgroup MiB: before the churn / minute 1 / end of soak (max) / after the load | $cg_base / $mem1 / $mem_end ($mem_max) / $mem_load | |"
echo "| of which kernel memory (kmem) MiB: before the churn / minute 1 / end of soak / after the churn | $kmem_base / $kmem1 / $kmem_end / $kmem_after | |"
echo "| live managed heap MiB after a full GC (agent in process, fixture tree): start / most in the first $((heap_rounds / 2 * 300)) churned / after $((heap_rounds * 300)) | $heap0 / $heap_q / $heap_end (slack $heap_slack) | $c_heap |"
echo "| threads: before the churn / end of soak / after the load | $thr_base / $thr_end / $thr_load | |"
echo "| scrape load: $scrapers concurrent scrapers, $load s | $(lv requests) requests ($(lv rps)/s), $(lv errors) errors, $(lv containers) containers and $(lv bytes) bytes a body | $c_load |"
echo "| scrape latency ms p50 / p90 / p99 / max | $(lv p50) / $(lv p90) / $(lv p99) / $(lv max) | |"
echo "| agent warnings logged | $warnings | |"
echo
if [ "$fails" != 0 ]; then
    echo "reliability.sh: $fails check(s) failed" >&2
    [ -s "$work/agent.err" ] && { echo "agent stderr (last 10 lines):" >&2; tail -10 "$work/agent.err" >&2; }
    exit 1
fi
echo "all checks passed"

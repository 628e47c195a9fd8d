#!/usr/bin/env bash
# The analyzer at scale (docs/performance.md, "The analyzer at scale"): a real Prometheus backfilled
# with DAYS (default 7) of 5-minute data for CONTAINERS (default 1,000) agent-shaped containers, then
# `throttlewatch-analyzer recommend --range 7d --format json` against it under /usr/bin/time -v.
# Prints one table: containers, samples, recording bytes, backfill seconds, recommend wall seconds,
# max RSS, the HTTP queries the analyzer made (Prometheus' own /metrics before and after, and its
# query log: each query replayed afterwards to measure its answer), and recommendations by kind.
#
# Usage: bench/scripts/analyzer-at-scale.sh            (CONTAINERS=50 for a quick check; RUNS=3 runs recommend
#        three times against the same server and prints the median wall time)
# Run it under the shared measurement lock: flock /tmp/tw-measure.lock bench/scripts/analyzer-at-scale.sh
# The recording (about 5.7 GB for 1,000 containers) and the TSDB live in one temp folder, removed
# on exit, Ctrl-C included. Needs promtool and prometheus (Debian `prometheus`), curl, python3 and
# /usr/bin/time (Debian `time`).
set -euo pipefail

containers="${CONTAINERS:-1000}"
days="${DAYS:-7}"
port="${PORT:-19590}"
step=300
runs="${RUNS:-1}"
case "$runs" in ''|*[!0-9]*|0) echo "analyzer-at-scale.sh: RUNS must be a whole number of at least 1" >&2; exit 2;; esac
case "$containers" in ''|*[!0-9]*) echo "analyzer-at-scale.sh: CONTAINERS must be a whole number" >&2; exit 2;; esac
if [ $((containers % 10)) -ne 0 ]; then echo "analyzer-at-scale.sh: CONTAINERS must be a multiple of 10" >&2; exit 2; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bench="$repo/bench/ThrottleWatch.Benchmarks/bin/Release/net10.0/ThrottleWatch.Benchmarks"
analyzer="$repo/analyzer/ThrottleWatch.Analyzer/bin/Release/net10.0/throttlewatch-analyzer"
for tool in promtool prometheus curl python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "analyzer-at-scale.sh: needs $tool" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/throttlewatch-analyzer-at-scale.XXXXXX")"
prom_pid=""
cleanup() {
    if [ -n "$prom_pid" ]; then
        kill -TERM "$prom_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$prom_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$prom_pid" 2>/dev/null || true
        wait "$prom_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted; cleaning up" >&2; exit 130' INT TERM HUP

# About 316 bytes a sample and 2,017 samples for each of ~9 series a container: 5.7 MB a container
# for 7 days, plus the blocks (~1.5% of that); ask for half as much again.
need_kb=$((containers * days * 820 * 3 / 2 + 1048576))
free_kb="$(df -Pk "$work" | awk 'NR == 2 {print $4}')"
if [ "$free_kb" -lt "$need_kb" ]; then
    echo "analyzer-at-scale.sh: $((free_kb / 1024)) MiB free under $work, $((need_kb / 1024)) MiB needed" >&2
    exit 1
fi

echo "== build"
# Release: warnings are errors (Directory.Build.props). The output is shown only when a build fails.
for project in "$repo/bench/ThrottleWatch.Benchmarks/ThrottleWatch.Benchmarks.csproj" "$repo/analyzer/ThrottleWatch.Analyzer"; do
    if ! out="$(dotnet build "$project" -c Release --nologo -v quiet --disable-build-servers 2>&1)"; then
        echo "$out" >&2
        exit 1
    fi
done

echo "== machine"
echo "nproc $(nproc), kernel $(uname -r), dotnet $(dotnet --version), $(prometheus --version 2>&1 | head -1), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), $((free_kb / 1048576)) GiB free disk, commit $(git -C "$repo" rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== generate"
end="$(( $(date -u +%s) / step * step ))"
end_rfc="$(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ)"
/usr/bin/time -f "generator: %e s, max RSS %M KB" "$bench" recording --containers "$containers" --days "$days" --step-seconds "$step" --end "$end" --out "$work/recording.om" 2> "$work/generate.txt"
cat "$work/generate.txt"
gen_line="$(grep '^recording ' "$work/generate.txt")"
field() { echo "$gen_line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
samples="$(field samples)"
bytes="$(field bytes)"
series="$(field series)"
echo "recording: $(du -h "$work/recording.om" | cut -f1) on disk, ends $end_rfc"

echo "== backfill"
# The default 2-hour blocks would parse the whole file 84 times: one block per 162 h (the largest
# compatible size under 168 h) parses it twice.
/usr/bin/time -f "promtool: %e s wall, max RSS %M KB" -o "$work/backfill-time.txt" \
    promtool tsdb create-blocks-from openmetrics --max-block-duration=168h "$work/recording.om" "$work/data" > "$work/backfill.txt" 2>&1 \
    || { cat "$work/backfill.txt" >&2; exit 1; }
cat "$work/backfill.txt" "$work/backfill-time.txt"
backfill_s="$(sed -n 's/^promtool: \([0-9.]*\) s wall.*/\1/p' "$work/backfill-time.txt")"
rm -f "$work/recording.om"
echo "blocks: $(du -sh "$work/data" | cut -f1); recording deleted"

echo "== prometheus"
cat > "$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1h
  # Every query with its time range, step, timings and the raw samples it touched.
  query_log_file: $work/query.log
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" --storage.tsdb.retention.time=30d \
    --web.listen-address="127.0.0.1:$port" > "$work/prometheus.log" 2>&1 &
prom_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 240); do curl -sf "$url/-/ready" >/dev/null && break; sleep 0.5; done
curl -sf "$url/-/ready" >/dev/null || { tail -20 "$work/prometheus.log" >&2; exit 1; }
ready_series="$(curl -sf "$url/api/v1/query" --data-urlencode "query=count({__name__=~\"throttlewatch_.+\"} @ $end)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')"
echo "ready on $url, $ready_series series at the end of the range"
: > "$work/query.log"

metrics() {
    curl -sf "$url/metrics" | awk '
        /^prometheus_http_requests_total\{/ && /handler="\/api\/v1\// {n += $NF}
        /^prometheus_http_response_size_bytes_sum\{/ && /handler="\/api\/v1\// {b += $NF}
        END {printf "%d %.0f\n", n, b}'
}
read -r requests_before bytes_before < <(metrics)

echo "== recommend"
echo "load average before recommend: $(cut -d' ' -f1-3 /proc/loadavg)"
cmd=("$analyzer" recommend --prometheus "$url" --range "${days}d" --end "$end_rfc" --format json)
echo "${cmd[*]}"
/usr/bin/time -v -o "$work/recommend-time.txt" "${cmd[@]}" > "$work/recommendations.json" 2> "$work/recommend.err" \
    || { cat "$work/recommend.err" "$work/recommend-time.txt" >&2; exit 1; }
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
read -r requests_after bytes_after < <(metrics)
wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/recommend-time.txt")"
rss_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/recommend-time.txt")"
cpu="$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.1f s user + %.1f s system", u, s}' "$work/recommend-time.txt")"
echo "wall $wall s, $cpu, max RSS $((rss_kb / 1024)) MiB, load average after: $load_after"

echo "== queries (Prometheus query log; each query_range replayed once to measure its answer)"
python3 - "$work/query.log" "$url" "$work/recommendations.json" "$samples" > "$work/summary.txt" <<'PY'
import collections, json, sys, time, urllib.parse, urllib.request
log, url, recs, samples = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = []
for line in open(log):
    e = json.loads(line)
    p = e["params"]
    st = e["stats"]
    rows.append({"query": p["query"], "start": p["start"], "end": p["end"], "step": p["step"],
                 "eval": st["timings"]["evalTotalTime"], "touched": st.get("samples", {}).get("totalQueryableSamples", 0)})
biggest = (0, "", 0, 0)
total_bytes = 0
kinds = collections.defaultdict(lambda: [0, 0.0, 0, 0])
for r in rows:
    qs = urllib.parse.urlencode({"query": r["query"], "start": r["start"], "end": r["end"], "step": r["step"]})
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{qs}") as resp:
        body = resp.read()
    result = json.loads(body)["data"]["result"]
    points = sum(len(s["values"]) for s in result)
    total_bytes += len(body)
    if len(body) > biggest[0]:
        biggest = (len(body), r["query"], len(result), points)
    # The query's shape without its namespace batch: which kinds of query the time goes to.
    shape = r["query"].split("{")[0] + "…" + r["query"].split("]")[-1] if "{" in r["query"] else r["query"]
    k = kinds[shape]
    k[0] += 1; k[1] += r["eval"]; k[2] += len(body); k[3] = max(k[3], r["touched"])
import re
aggregated = sum(1 for r in rows if re.match(r"^(sum|avg|max|count) by \(", r["query"]))
print(f"queries\t{len(rows)}")
print(f"aggregated\t{aggregated}")
print(f"answer_bytes\t{total_bytes}")
print(f"largest_bytes\t{biggest[0]}")
print(f"largest_series\t{biggest[2]}")
print(f"largest_points\t{biggest[3]}")
print(f"largest_query\t{biggest[1]}")
print(f"eval_seconds\t{sum(r['eval'] for r in rows):.1f}")
print(f"max_touched\t{max((r['touched'] for r in rows), default=0)}")
print(f"max_step\t{max((r['step'] for r in rows), default=0)}")
print(f"min_step\t{min((r['step'] for r in rows), default=0)}")
for shape, (n, ev, b, touched) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
    print(f"shape\t{n}\t{ev:.1f}\t{b / 1048576:.1f}\t{touched}\t{shape}")
doc = json.load(open(recs))
by = collections.Counter(r["action"] for r in doc["recommendations"])
print("containers_out\t" + str(len(doc["recommendations"])))
print("kinds\t" + ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))))
PY
get() { awk -F'\t' -v k="$1" '$1 == k {print $2}' "$work/summary.txt"; }
echo "query shapes (count, Prometheus eval s, answer MiB, most raw samples one query touched, query):"
awk -F'\t' '$1 == "shape" {printf "  %3d  %6.1f s  %7.1f MiB  %9d  %s\n", $2, $3, $4, $5, $6}' "$work/summary.txt"
echo "largest answer: $(get largest_query) ($(get largest_series) series, $(get largest_points) points)"
echo "queries that aggregate (sum|avg|max|count by (...)): $(get aggregated) of $(get queries)"
echo "every query_range step: $(get min_step) to $(get max_step) s; at most $(get max_touched) raw samples touched by one query, of $samples"
echo "recommend's api/v1 requests by Prometheus /metrics: $((requests_after - requests_before)), $(( (${bytes_after%.*} - ${bytes_before%.*}) / 1048576 )) MiB answered"

# RUNS=N runs recommend N-1 more times against the same server (after the query log was read, so
# the figures above are the first run's): the wall times side by side, and their median.
walls=("$wall")
for run in $(seq 2 "$runs"); do
    /usr/bin/time -v -o "$work/again-time.txt" "${cmd[@]}" > "$work/again.json" 2> "$work/again.err" \
        || { cat "$work/again.err" "$work/again-time.txt" >&2; exit 1; }
    again="$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/again-time.txt")"
    again_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/again-time.txt")"
    echo "recommend run $run: wall $again s, max RSS $((again_kb / 1024)) MiB, load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    walls+=("$again")
done
if [ "$runs" -gt 1 ]; then
    echo "recommend wall over $runs runs: ${walls[*]} s; median $(printf '%s\n' "${walls[@]}" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}') s"
fi

echo
echo "| containers | series | samples | recording | backfill | recommend wall | max RSS | queries (query_range) | largest answer | answered in all | recommendations |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '| %s | %s | %s | %s MiB | %s s | %s s | %s MiB | %s (%s) | %s MiB | %s MiB | %s |\n' \
    "$containers" "$series" "$samples" "$((bytes / 1048576))" "$backfill_s" "$wall" "$((rss_kb / 1024))" \
    "$((requests_after - requests_before))" "$(get queries)" \
    "$(python3 -c "print(f'{$(get largest_bytes) / 1048576:.1f}')")" "$(python3 -c "print(f'{$(get answer_bytes) / 1048576:.0f}')")" "$(get kinds)"

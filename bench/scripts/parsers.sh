#!/usr/bin/env bash
# The parser benchmarks (docs/performance.md): BenchmarkDotNet with [MemoryDiagnoser], one benchmark
# per cgroup file format on literal kernel text. Short job. Prints the summary table and fails if
# any parser allocates. No arguments; works from any folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="$repo/bench/ThrottleWatch.Benchmarks"
artifacts="$dir/BenchmarkDotNet.Artifacts"

# Release: warnings are errors (Directory.Build.props). The output is shown only when the build fails.
if ! out="$(dotnet build "$dir/ThrottleWatch.Benchmarks.csproj" -c Release --nologo -v quiet --disable-build-servers 2>&1)"; then
    echo "$out" >&2
    exit 1
fi

report="$artifacts/results/ThrottleWatch.Benchmarks.ParserBenchmarks-report-github.md"
rm -f "$report"
log="$(mktemp "${TMPDIR:-/tmp}/throttlewatch-parsers.XXXXXX.log")"
trap 'rm -f "$log"' EXIT
# BenchmarkDotNet finds the project to build its runner from the current folder.
cd "$dir"
if ! dotnet bin/Release/net10.0/ThrottleWatch.Benchmarks.dll parsers --job short --artifacts "$artifacts" >"$log" 2>&1; then
    cat "$log" >&2
    echo "parsers.sh: BenchmarkDotNet failed (full log above)" >&2
    exit 1
fi

# The environment lines and the table, as BenchmarkDotNet wrote them.
cat "$report"

# Every row's Allocated cell must be "-" (nothing) or "0 B".
awk -F'|' '
    /^\| *Method/ { for (i = 1; i <= NF; i++) if ($i ~ /Allocated/) col = i; next }
    col && /^\|/ && $0 !~ /^\|[-: |]+$/ {
        cell = $col; gsub(/^ +| +$/, "", cell)
        if (cell != "-" && cell != "0 B") { print "allocates: " $2 " " cell; bad = 1 }
    }
    END { if (!col) { print "no Allocated column in the report"; exit 1 } exit bad }
' "$report" || { echo "parsers.sh: a parser allocates" >&2; exit 1; }
echo
echo "parsers.sh: every parser shows 0 B allocated"

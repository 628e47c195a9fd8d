#!/usr/bin/env bash
# Where the NativeAOT agent's fixed memory goes (docs/performance.md, "Where the memory goes"):
# publishes the agent as the image does (NativeAOT, linux-x64) with ILC's map file, then prints the
# binary's sections that become memory (.data: since stop 17 the type structures, paged in from the
# file as they are touched; before it they were stored compressed in .rodata and rebuilt at start-up
# into .hydrated, anonymous memory resident for the whole run) and the type structures (MethodTables) grouped by the
# assembly and namespace their mangled name starts with, with the share that mentions a Kubernetes
# model type (KubernetesClient's k8s.Models). Needs what scripts/publish-agent.sh needs (a C
# toolchain); minutes.
# Usage: bench/scripts/aot-type-data.sh [TOP]   (TOP: how many groups to print, default 12)
set -euo pipefail
top="${1:-12}"
case "$top" in ''|*[!0-9]*) echo "aot-type-data.sh: TOP must be a whole number" >&2; exit 2;; esac
for tool in dotnet readelf awk; do command -v "$tool" >/dev/null || { echo "aot-type-data.sh: needs $tool" >&2; exit 1; }; done
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mktemp -d "${TMPDIR:-/tmp}/throttlewatch-aot-type-data.XXXXXX")"
trap 'rm -rf "$out"' EXIT

cd "$repo"
dotnet publish agent/ThrottleWatch.Agent/ThrottleWatch.Agent.csproj -c Release -r linux-x64 -p:PublishAot=true \
    -p:IlcGenerateMapFile=true -p:DebugType=none -o "$out/agent" -nologo -v q >"$out/publish.log" 2>&1 \
    || { cat "$out/publish.log" >&2; echo "aot-type-data.sh: the publish failed" >&2; exit 1; }
map="agent/ThrottleWatch.Agent/obj/Release/net10.0/linux-x64/native/throttlewatch-agent.map.xml"
[ -s "$map" ] || { echo "aot-type-data.sh: no map file at $map" >&2; exit 1; }

echo "== commit $(git describe --always --dirty 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "binary: $(stat -c %s "$out/agent/throttlewatch-agent") bytes"
echo "== the binary's main sections (MiB): code, read-only data and .data (the type structures) are paged in from the file as used; a .hydrated section (a build with IlcDehydrate) is anonymous memory filled at start"
readelf -S -W "$out/agent/throttlewatch-agent" | sed 's/^ *\[ *[0-9]*\] *//' \
    | while read -r section type _ _ size _; do
        case "$section" in .hydrated|.bss|.data|__managedcode|.rodata)
            awk -v s="$section" -v t="$type" -v b="$((16#$size))" 'BEGIN { printf "%-14s %-8s %7.1f\n", s, t, b / 1048576 }';;
        esac
    done

echo "== type structures (ConstructedEEType) by the assembly/namespace they start with"
awk -v top="$top" '
    /<ConstructedEEType / {
        name = $0; sub(/.*Name="/, "", name); sub(/".*/, "", name)
        len = $0; sub(/.*Length="/, "", len); sub(/".*/, "", len)
        total += len
        key = name; sub(/^_ZTV[0-9]+/, "", key)
        n = split(key, part, "_"); key = part[1] "_" part[2] (n > 2 ? "_" part[3] : "")
        size[key] += len; count[key]++
        if (name ~ /k8s_Models|KubernetesClient/) { k8s += len }
    }
    END {
        printf "all: %.1f MiB in %d groups; mentioning a Kubernetes model type: %.1f MiB (%.0f%%)\n", total / 1048576, length(size), k8s / 1048576, 100 * k8s / total
        for (k in size) printf "%10.2f MiB %7d types  %s\n", size[k] / 1048576, count[k], k | "sort -rn | head -" top
    }' "$map"

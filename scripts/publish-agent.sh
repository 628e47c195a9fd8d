#!/usr/bin/env bash
# Publishes the agent as the container image ships it: self-contained, for the chiseled
# runtime-deps image. The Dockerfile runs exactly this script, and so do the tests (scripts/test.sh),
# for both architectures, so the image's build is tested where no Docker engine runs.
#   amd64: NativeAOT, one native binary: it is ready sooner and uses less memory than the JIT build
#          (docs/performance.md, "NativeAOT or JIT"). Needs a C toolchain (gcc or clang); minutes.
#   arm64: the JIT with the runtime trimmed into the output (no warnings: the code is AOT-clean).
#          NativeAOT for arm64 needs an arm64 linker and libraries (a cross toolchain on an amd64
#          builder) that neither the image's build stage nor CI has.
#   usage: scripts/publish-agent.sh [OUTDIR] [ARCH]    OUTDIR default out/agent; ARCH amd64|arm64|x64 (default: this machine's)
set -euo pipefail
cd "$(dirname "$0")/.."
outdir=${1:-out/agent}
arch=${2:-$(uname -m)}
case "$arch" in
  amd64|x86_64|x64) rid=linux-x64; kind=NativeAOT; build=(-p:PublishAot=true) ;;
  arm64|aarch64) rid=linux-arm64; kind="JIT, self-contained, trimmed"; build=(--self-contained true -p:PublishTrimmed=true) ;;
  *) echo "error: unknown architecture '$arch' (amd64 or arm64)" >&2; exit 2 ;;
esac
dotnet publish agent/ThrottleWatch.Agent/ThrottleWatch.Agent.csproj -c Release -r "$rid" "${build[@]}" \
  -o "$outdir" -nologo -v q -p:DebugType=none
echo "$outdir/throttlewatch-agent ($rid, $kind)"

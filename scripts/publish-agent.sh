#!/usr/bin/env bash
# Publishes the agent as the container image ships it. The Dockerfile runs exactly this script, and
# so do the tests (scripts/test.sh), for both architectures, so the image's build is tested where no
# Docker engine runs.
#   amd64: NativeAOT (one self-contained binary for the chiseled runtime-deps image): it starts in a
#          fraction of the time and uses less memory than the JIT build (docs/performance.md,
#          "NativeAOT or JIT"). Needs a C toolchain (gcc or clang) for the target; takes minutes.
#   arm64: framework-dependent on the JIT (for the chiseled aspnet image): NativeAOT for arm64 needs
#          an arm64 linker and libraries (a cross toolchain on an amd64 builder) that neither the
#          image's build stage nor CI has.
#   usage: scripts/publish-agent.sh [OUTDIR] [ARCH]    OUTDIR default out/agent; ARCH amd64|arm64|x64 (default: this machine's)
set -euo pipefail
cd "$(dirname "$0")/.."
outdir=${1:-out/agent}
arch=${2:-$(uname -m)}
case "$arch" in
  amd64|x86_64|x64) rid=linux-x64; kind=NativeAOT; build=(-p:PublishAot=true) ;;
  arm64|aarch64) rid=linux-arm64; kind=framework-dependent; build=(--self-contained false) ;;
  *) echo "error: unknown architecture '$arch' (amd64 or arm64)" >&2; exit 2 ;;
esac
dotnet publish agent/ThrottleWatch.Agent/ThrottleWatch.Agent.csproj -c Release -r "$rid" "${build[@]}" \
  -o "$outdir" -nologo -v q -p:DebugType=none
echo "$outdir/throttlewatch-agent ($rid, $kind)"

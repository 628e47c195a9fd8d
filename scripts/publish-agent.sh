#!/usr/bin/env bash
# Publishes the agent as the container image ships it (framework-dependent, for the chiseled
# aspnet image). The Dockerfile runs exactly this script, and so do the tests (scripts/test.sh),
# for both architectures, so the image's build is tested where no Docker engine runs.
#   usage: scripts/publish-agent.sh [OUTDIR] [ARCH]    OUTDIR default out/agent; ARCH amd64|arm64|x64 (default: this machine's)
set -euo pipefail
cd "$(dirname "$0")/.."
outdir=${1:-out/agent}
arch=${2:-$(uname -m)}
case "$arch" in
  amd64|x86_64|x64) rid=linux-x64 ;;
  arm64|aarch64) rid=linux-arm64 ;;
  *) echo "error: unknown architecture '$arch' (amd64 or arm64)" >&2; exit 2 ;;
esac
dotnet publish agent/ThrottleWatch.Agent/ThrottleWatch.Agent.csproj -c Release -r "$rid" --self-contained false \
  -o "$outdir" -nologo -v q -p:DebugType=none
echo "$outdir/throttlewatch-agent ($rid)"

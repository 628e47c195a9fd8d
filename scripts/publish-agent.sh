#!/usr/bin/env bash
# Publishes the agent as the container image ships it. The Dockerfile runs exactly this script,
# and so do the tests (scripts/test.sh), so the image's build is tested where no Docker engine runs.
#   usage: scripts/publish-agent.sh [OUTDIR]      (default out/agent)
set -euo pipefail
cd "$(dirname "$0")/.."
outdir=${1:-out/agent}
dotnet publish agent/ThrottleWatch.Agent/ThrottleWatch.Agent.csproj -c Release -o "$outdir" -nologo \
  -p:UseAppHost=true -p:DebugType=none
echo "$outdir/throttlewatch-agent"

#!/usr/bin/env bash
# Builds the agent and runs it with the given arguments (default: a snapshot of this machine).
#   scripts/run-agent.sh snapshot --cgroup-subtree system.slice --format json
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is not on PATH" >&2; exit 2; }
dotnet build agent/ThrottleWatch.Agent -c Release -nologo -v q -clp:ErrorsOnly -clp:NoSummary >&2
exec agent/ThrottleWatch.Agent/bin/Release/net10.0/throttlewatch-agent "${@:-snapshot}"

#!/usr/bin/env bash
# Installs the analyzer as throttlewatch-analyzer and as the kubectl plugin kubectl-throttle
# (kubectl finds any kubectl-* program on PATH: `kubectl throttle recommend …`, `kubectl throttle top …`).
#   scripts/install-analyzer.sh [PREFIX]        (default /usr/local: PREFIX/bin must be on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
lib="$prefix/lib/throttlewatch-analyzer"
dotnet publish analyzer/ThrottleWatch.Analyzer/ThrottleWatch.Analyzer.csproj -c Release -o "$lib" -nologo -v q -p:DebugType=none
mkdir -p "$prefix/bin"
ln -sf "$lib/throttlewatch-analyzer" "$prefix/bin/throttlewatch-analyzer"
ln -sf "$lib/throttlewatch-analyzer" "$prefix/bin/kubectl-throttle"
echo "installed $prefix/bin/throttlewatch-analyzer and $prefix/bin/kubectl-throttle"

#!/usr/bin/env bash
# Installs what building and testing ThrottleWatch needs on a fresh Debian 12 machine with the
# .NET 10 SDK. Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v gcc >/dev/null || need_apt+=(gcc libc6-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is not on PATH" >&2; exit 2; }

mkdir -p out
echo "== dotnet restore"
dotnet restore ThrottleWatch.sln -nologo -v q

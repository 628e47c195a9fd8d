#!/usr/bin/env bash
# Installs what building and testing ThrottleWatch needs on a fresh Debian 12 machine with the
# .NET 10 SDK. Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v gcc >/dev/null || need_apt+=(gcc libc6-dev)
# A real Prometheus (and promtool) for the tests that scrape the agent and lint its exposition.
command -v prometheus >/dev/null && command -v promtool >/dev/null || need_apt+=(prometheus)
command -v curl >/dev/null || need_apt+=(curl)
# Headless Chromium renders the HTML report in a test.
command -v chromium >/dev/null || need_apt+=(chromium fonts-liberation)
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian's package may start its own service where systemd runs; the tests start their own.
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is not on PATH" >&2; exit 2; }
command -v kubectl >/dev/null || { echo "error: kubectl (1.32+, with kustomize) is not on PATH" >&2; exit 2; }

# Schema checks for dashboards (@grafana/schema + tsc) and manifests (kubernetes-models), pinned by the lock file.
if [ ! -d tests/node/node_modules/@kubernetes-models/prometheus-operator ] || [ ! -d tests/node/node_modules/@grafana/schema ]; then
  echo "== npm ci (tests/node)"
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
fi

mkdir -p out
echo "== dotnet restore"
dotnet restore ThrottleWatch.sln -nologo -v q

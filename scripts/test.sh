#!/usr/bin/env bash
# Sets up and runs every test ThrottleWatch has, as CI does. Needs root (the tests make real
# cgroups under /sys/fs/cgroup/cpu and /sys/fs/cgroup/cpuacct, and remove them).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "error: run as root: the tests create real cgroups (sudo $0)" >&2
  exit 2
fi
./scripts/setup.sh

echo "== build (Release: warnings are errors)"
dotnet build ThrottleWatch.sln -c Release -nologo -clp:ErrorsOnly

echo "== the Dockerfile's publish step, for both image architectures (amd64 is NativeAOT: minutes, once per run)"
./scripts/publish-agent.sh out/agent-amd64 amd64
./scripts/publish-agent.sh out/agent-arm64 arm64
out/agent-amd64/throttlewatch-agent --help >/dev/null
# KubeApiTests runs the shipped (NativeAOT) build against the stand-in API server over HTTPS.
export THROTTLEWATCH_AOT_AGENT="$PWD/out/agent-amd64/throttlewatch-agent"

echo "== the C lower bound compiles"
gcc -O2 -Wall -Werror -o bench/baseline/cgread bench/baseline/cgread.c

echo "== tests"
rc=0
# One test project at a time: the real-cgroup tests measure CPU, and two cores are all there is.
dotnet test ThrottleWatch.sln -c Release --no-build -nologo --logger "console;verbosity=normal" -- RunConfiguration.MaxCpuCount=1 >out/test.log 2>&1 || rc=$?
grep -vE '^\s*Passed |^[0-9]{4}-[0-9]{2}-[0-9]{2}T|^\{"Timestamp"' out/test.log || true
# One closing line for every test project together (each project prints "Passed: N" and "Failed: N").
passed=$(grep -E '^\s+Passed: [0-9]+\s*$' out/test.log | awk '{s+=$2} END {print s+0}' || true)
failed=$(grep -E '^\s+Failed: [0-9]+\s*$' out/test.log | awk '{s+=$2} END {print s+0}' || true)
echo "tests: $passed passed, $failed failed"
if [ "$rc" = 0 ] && [ "$passed" = 0 ]; then
  echo "error: no test ran" >&2
  exit 1
fi
exit $rc

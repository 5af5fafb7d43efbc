#!/usr/bin/env bash
# gpu-check.sh - one script for a host with a CUDA GPU (under 6 minutes):
# builds with the CUDA backend, runs the cuda-labelled tests, the loader
# benchmark on the cuda backend (pinned host-to-device GB/s beside this
# host's own limits, as `thaw weights bench` prints them), an exec run of
# scenarios/exec-small.yaml on the cuda backend beside its simulation, then
# calibrate and validate on them, and prints every figure. Asserts nothing
# beyond "each step ran": its output is the evidence, to be read and quoted.
# Usage: scripts/gpu-check.sh [BUILD_DIR]   (default build-gpu)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-gpu}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step() { # step NAME CMD...: runs CMD, says how it ended, keeps going
    local name=$1
    shift
    local t0=$SECONDS
    "$@"
    local rc=$?
    printf -- '-- %s: exit %d in %d s\n' "$name" "$rc" $((SECONDS - t0))
    [ $rc = 0 ] || failed="$failed $name"
}
failed=""

say "host"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,pcie.link.gen.max,pcie.link.width.max --format=csv
nproc
free -g | head -2

say "build (CUDA backend on)"
step configure cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTHAW_CUDA=ON
step build cmake --build "$build" -j "$(nproc)"
thaw=$build/cli/thaw
grep -q "THAW_HAVE_CUDA:INTERNAL=ON\|CUDA backend ON" "$build/CMakeCache.txt" 2>/dev/null ||
    grep -q "CMAKE_CUDA_COMPILER:" "$build/CMakeCache.txt" || echo "warning: no CUDA compiler found: the cuda backend is not built"

say "ctest -L cuda"
step ctest-cuda ctest --test-dir "$build" -L cuda --output-on-failure

say "loader benchmark, cuda backend (1 GiB, best of 3)"
dir=$(mktemp -d "${TMPDIR:-/tmp}/thaw-gpu-XXXXXX")
trap 'rm -rf "$dir"' EXIT
step bench-cuda "$thaw" weights bench --size 1GiB --dir "$dir" --backend cuda --reps 3
say "loader benchmark, host backend, same file size (for comparison)"
step bench-host "$thaw" weights bench --size 1GiB --dir "$dir" --backend host --reps 1

say "exec on the cuda backend beside its simulation (scenarios/exec-small.yaml)"
db=$dir/gpu.db
step exec-cuda "$thaw" exec scenarios/exec-small.yaml --backend cuda --db "$db" --weights-dir "$dir/w"
step sim "$thaw" sim scenarios/exec-small.yaml --db "$db" --quiet
step exec-cuda-2 "$thaw" exec scenarios/exec-small.yaml --backend cuda --seed 7 --db "$db" --weights-dir "$dir/w"
step sim-2 "$thaw" sim scenarios/exec-small.yaml --seed 7 --db "$db" --quiet

say "report, calibrate (exec runs 1 and 3 pooled), validate (exec vs sim, both seeds)"
step report "$thaw" report --db "$db" 1 2
step calibrate "$thaw" calibrate --db "$db" 1 3   # pooled from both exec runs' load phases
step validate-1 "$thaw" validate --db "$db" 1 2
step validate-2 "$thaw" validate --db "$db" 3 4

say "summary"
if [ -n "$failed" ]; then
    echo "steps that failed:$failed"
    exit 1
fi
echo "every step ran"

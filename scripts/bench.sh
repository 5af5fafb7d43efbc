#!/usr/bin/env bash
# bench.sh THAW - what `make bench` runs: the simulator's and the loader's
# figures beside this host's own limits. Prints; asserts nothing (these
# machines are shared and noisy, so times are reported, never tested).
set -euo pipefail
thaw=${1:-build/cli/thaw}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "simulator: scenarios/large.yaml (1,000 models, 256 GPUs, ~1M requests)"
"$thaw" sim --bench scenarios/large.yaml
say "simulator: tests/sim/mmc.yaml (M/M/4)"
"$thaw" sim --bench tests/sim/mmc.yaml
say "loader: 1 GiB from storage (cold page cache) and from /dev/shm, beside read() and memcpy"
dir=$(mktemp -d "${TMPDIR:-/tmp}/thaw-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$thaw" weights bench --size 1GiB --dir "$dir"

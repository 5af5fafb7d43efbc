#!/usr/bin/env bash
# bench.sh THAW - what `make bench` runs: the simulator's, the trace
# reader's and the loader's figures beside this host's own limits. Prints; asserts nothing (these
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
say "traces: reading 1M lines (azure-llm CSV, Mooncake JSONL) with thaw trace stats, streamed"
awk 'BEGIN { print "TIMESTAMP,ContextTokens,GeneratedTokens";
  for (i = 0; i < 1000000; i++) { s = i * 0.05; printf "2023-11-16 %02d:%02d:%010.7f,%d,%d\n",
    int(s / 3600), int(s / 60) % 60, s - 60 * int(s / 60), 100 + i % 4000, 1 + i % 500 } }' \
  >"$dir/llm-1m.csv"
awk 'BEGIN { for (i = 0; i < 1000000; i++)
  printf "{\"timestamp\": %d, \"input_length\": %d, \"output_length\": %d, \"hash_ids\": [%d, %d]}\n",
    i * 3, 100 + i % 4000, 1 + i % 500, i, i + 1 }' >"$dir/mooncake-1m.jsonl"
for f in "llm-1m.csv azure-llm" "mooncake-1m.jsonl jsonl"; do
  set -- $f
  start=$(date +%s.%N)
  "$thaw" trace stats "$dir/$1" --format "$2" --bin 1h >/dev/null
  end=$(date +%s.%N)
  printf '%-20s %-10s 1000000 lines in %.3f s\n' "$1" "$2" "$(awk "BEGIN { print $end - $start }")"
done
say "validation: calibrate on exec-small runs, validate out of sample (scripts/bench-validate.sh)"
"$(dirname "$0")/bench-validate.sh" "$thaw"

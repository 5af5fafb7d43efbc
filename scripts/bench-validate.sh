#!/usr/bin/env bash
# bench-validate.sh THAW - the out-of-sample validation of `make bench`
# (called from bench.sh): calibrate on three exec runs of
# scenarios/exec-small.yaml (seeds 1-3), then validate the calibrated
# simulator on runs it was not fitted on: exec-small with seeds 4 and 5, and
# scenarios/exec-concurrent.yaml (other sizes, 2-4 loads at a time) with
# seeds 1 and 2. The first validation run of each scenario is repeated, so
# the executor's own noise floor is printed beside the errors. Only the
# host's keys carry over (bandwidths, verify, shm.per_load): init and
# warm-up are each scenario's own waits, which the executor sleeps. Targets on
# this host: median per-load error <= 5%, makespan error <= 3%. Prints;
# asserts nothing (a shared, noisy host: figures are reported, not tested).
# About 3 minutes on the host backend (2.5 GiB of weights files, written once).
set -euo pipefail
thaw=${1:-build/cli/thaw}
dir=$(mktemp -d "${TMPDIR:-/tmp}/thaw-bench-validate-XXXXXX")
trap 'rm -rf "$dir"' EXIT
db=$dir/v.db
small=scenarios/exec-small.yaml
conc=scenarios/exec-concurrent.yaml
common=(--db "$db" --weights-dir "$dir/w" --backend host --time-scale 1 --quiet)

# The id of the run a `thaw exec|sim --quiet` prints on stdout.
run() { "$thaw" "$@" 2>/dev/null | tail -1; }

echo "calibration: 3 exec runs of $small (seeds 1-3)"
cal=()
for seed in 1 2 3; do cal+=("$(run exec "$small" "${common[@]}" --seed $seed)"); done
"$thaw" calibrate --db "$db" "${cal[@]}" | sed -n '/^from load_phases/,$p'
mapfile -t kv < <("$thaw" calibrate --db "$db" "${cal[@]}" | grep '^  suggested:' | tail -1 |
                  grep -o "cluster[^']*" | grep -Ev '\.(init|warmup)=')
[ ${#kv[@]} -gt 0 ] || { echo "bench-validate: calibrate suggested nothing"; exit 1; }
sets=()
for s in "${kv[@]}"; do sets+=(--set "$s"); done
echo "calibrated: ${kv[*]}"

printf '\n%-24s %5s %8s %8s %8s %10s %11s\n' "validation" "seed" "median" "p90" "max" \
       "makespan" "noise(med)"
meds=()
mks=()
for spec in "$small 4 2" "$small 5 1" "$conc 1 2" "$conc 2 1"; do
    set -- $spec
    scen=$1 seed=$2 times=$3
    ex=
    for ((i = 0; i < times; i++)); do ex=$(run exec "$scen" "${common[@]}" --seed "$seed"); done
    sm=$(run sim "$scen" --db "$db" --quiet --seed "$seed" "${sets[@]}")
    out=$("$thaw" validate --db "$db" "$ex" "$sm")
    line=$(grep '^per-load' <<<"$out" || true)
    med=$(sed -n 's/.*median \([0-9.]*\)%, p90.*/\1/p' <<<"$line")
    p90=$(sed -n 's/.*p90 \([0-9.]*\)%, max.*/\1/p' <<<"$line")
    max=$(sed -n 's/.*max \([0-9.]*\)%$/\1/p' <<<"$line")
    mk=$(sed -n 's/^makespan error: .*: \([-+0-9.]*\)%$/\1/p' <<<"$out")
    noise=$(sed -n 's/^noise floor: .*median \([0-9.]*\)%, p90.*/\1/p' <<<"$out")
    printf '%-24s %5s %7s%% %7s%% %7s%% %9s%% %10s\n' "$(basename "$scen")" "$seed" "${med:--}" \
           "${p90:--}" "${max:--}" "${mk:--}" "${noise:+$noise%}"
    [ -n "$med" ] && meds+=("$med")
    [ -n "$mk" ] && mks+=("$mk")
done
awk -v m="${meds[*]}" -v k="${mks[*]}" 'BEGIN {
    n = split(m, a, " "); s = 0; for (i = 1; i <= n; i++) s += a[i];
    q = split(k, b, " "); w = 0; for (i = 1; i <= q; i++) { v = b[i] < 0 ? -b[i] : b[i]; if (v > w) w = v }
    if (n) printf "\nmean of the median per-load errors %.1f%% (target <= 5%%: %s)\n", s / n, s / n <= 5 ? "met" : "not met";
    if (q) printf "largest |makespan error| %.1f%% (target <= 3%%: %s)\n", w, w <= 3 ? "met" : "not met" }'

#!/bin/bash
# validate.sh - `thaw validate` end to end: a real (host backend) run of
# scenarios/exec-small.yaml at --time-scale 3 and a simulation of the same
# file in one database; validate pairs them (exit 0, the per-model table, the
# overall error, the metrics side by side), fails --tolerance 0 (real timings
# never match a model exactly), picks the same runs from one RUN or two in
# either order; a database of sim runs only, two sim runs and no database are
# failures (exit 1) with a message; usage errors exit 2.
set -u
THAW=${THAW:?THAW must name the thaw binary}
"$THAW" validate --help >/dev/null 2>&1 || { echo "skipped: thaw has no validate command yet"; exit 77; }
sc=$(pwd)/scenarios/exec-small.yaml
[ -f "$sc" ] || { echo "skipped: $sc is missing"; exit 77; }

tmp=$(mktemp -d /tmp/thaw-e2e-validate-XXXXXX)
# exec-small at 1/16 of its sizes (same ratios, same queueing): 80 MiB of
# weight files, so every load ends well inside the run even on a slow host
# (a sanitizer build on a busy machine left the full-size loads unfinished).
small=(--set 'cluster.nodes[0].vram=32MiB' --set 'cluster.nodes[0].shm.size=64MiB'
       --set 'models[0].weights=16MiB' --set 'models[1].weights=24MiB'
       --set 'models[2].weights=16MiB' --set 'models[3].weights=8MiB'
       --set 'models[4].weights=4MiB')
shm=$(mktemp -d /dev/shm/thaw-e2e-validate-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db

# 1. Run 1: exec (host backend, 15 scenario s in 5 wall s); run 2: sim.
"$THAW" exec "$sc" "${small[@]}" --db "$db" --weights-dir "$tmp/w" --shm-dir "$shm" --backend host \
    --time-scale 3 --quiet >"$tmp/out" 2>&1 || fail "thaw exec exited $?"
"$THAW" sim "$sc" "${small[@]}" --db "$db" --quiet >"$tmp/out" 2>&1 || fail "thaw sim exited $?"

# 2. The latest exec run and the latest sim run of its scenario: 1 and 2.
"$THAW" validate --db "$db" >"$tmp/out" 2>&1 || fail "thaw validate exited $?"
grep -q '^exec run 1: .*exec-small.yaml, seed 42, .*backend host, complete$' "$tmp/out" ||
    fail "exec run line"
grep -q '^sim  run 2: .*exec-small.yaml, seed 42, .*complete$' "$tmp/out" || fail "sim run line"
grep -q 'scenario files differ' "$tmp/out" && fail "same file reported as different"
grep -q 'ran at --time-scale 3' "$tmp/out" || fail "no warning about --time-scale 3"
grep -Eq '^model +pairs +measured +simulated +error$' "$tmp/out" || fail "no per-model table"
# chat is loaded at t=0 as a standby in both runs: it always pairs.
grep -Eq '^chat +[1-9][0-9]* +[0-9.]+ +[0-9.]+ +[-+][0-9.]+%$' "$tmp/out" || fail "no chat row"
grep -Eq '^mean \|measured - simulated\| / simulated over [1-9][0-9]* pairs?: [0-9.]+%$' \
    "$tmp/out" || fail "no overall error"
for m in cold_start_mean_s cold_start_p95_s makespan_s shm_hit_rate request_warm_p50_s; do
    grep -Eq "^$m +[0-9.]+ +[0-9.]+ +([-+][0-9.]+%|-)$" "$tmp/out" || fail "no $m row"
done
grep -Eq '^per-load \|measured - simulated\| / simulated over [1-9][0-9]* pairs?: median [0-9.]+%, p90 [0-9.]+%, max [0-9.]+%$' \
    "$tmp/out" || fail "no per-load median/p90/max line"
grep -Eq '^makespan error: exec [0-9.]+ s, sim [0-9.]+ s: [-+][0-9.]+%$' "$tmp/out" || fail "no makespan line"
grep -q '^noise floor: - (one exec run' "$tmp/out" || fail "a noise floor from one run"
cp "$tmp/out" "$tmp/default"

# 3. One run, or both in either order: the same pairing.
for args in "1" "2" "2 1" "1 2"; do
    # shellcheck disable=SC2086
    "$THAW" validate --db "$db" $args >"$tmp/out" 2>&1 || fail "validate $args exited $?"
    cmp -s "$tmp/out" "$tmp/default" || fail "validate $args differs from the default pairing"
done

# 4. --tolerance: 0 fails (exit 1, says so); a huge one passes.
"$THAW" validate --db "$db" --tolerance 0 >"$tmp/out" 2>&1
[ $? = 1 ] || fail "--tolerance 0 did not exit 1"
grep -q '^FAIL: mean relative error .* exceeds the tolerance 0%$' "$tmp/out" || fail "tolerance message"
"$THAW" validate --db "$db" --tolerance 1000 >"$tmp/out" 2>&1 || fail "--tolerance 1000 exited $?"
grep -q '^ok: mean relative error' "$tmp/out" || fail "no ok line under --tolerance"

# 5. Failures: two sim runs; a database of sim runs only; no database.
"$THAW" sim "$sc" "${small[@]}" --db "$db" --quiet >/dev/null 2>&1 || fail "second sim"
"$THAW" validate --db "$db" 2 3 >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q 'needs one exec run and one sim run' "$tmp/out" || fail "two sim runs"
"$THAW" sim "$sc" "${small[@]}" --db "$tmp/sim.db" --quiet >/dev/null 2>&1 || fail "sim into sim.db"
"$THAW" validate --db "$tmp/sim.db" >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q 'no exec run in the database' "$tmp/out" || fail "sim-only database"
"$THAW" validate --db "$tmp/sim.db" 1 >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q 'no exec run of the same scenario' "$tmp/out" || fail "sim run, no exec"
"$THAW" validate --db "$tmp/none.db" >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q 'no results database' "$tmp/out" || fail "missing database"
[ ! -e "$tmp/none.db" ] || fail "validate created a database"

# 6. A second exec run of the same scenario, seed and policy (run 4): the
# two give the executor's noise floor, and the error is placed against it.
"$THAW" exec "$sc" "${small[@]}" --db "$db" --weights-dir "$tmp/w" --shm-dir "$shm" --backend host \
    --time-scale 3 --quiet >"$tmp/out" 2>&1 || fail "second thaw exec exited $?"
"$THAW" validate --db "$db" 4 2 >"$tmp/out" 2>&1 || fail "validate 4 2 exited $?"
grep -Eq '^noise floor: 2 exec runs of this scenario, seed and policy .* over [1-9][0-9]* loads: median [0-9.]+%, p90 [0-9.]+%$' \
    "$tmp/out" || fail "no noise floor from two exec runs"
grep -Eq '^the median per-load error [0-9.]+% is (within|above) the noise floor [0-9.]+%$' "$tmp/out" ||
    fail "the error is not placed against the noise floor"
# 7. Usage errors exit 2.
"$THAW" validate --db "$db" 1 2 3 >/dev/null 2>&1; [ $? = 2 ] || fail "three runs"
"$THAW" validate --db "$db" --tolerance -1 >/dev/null 2>&1; [ $? = 2 ] || fail "--tolerance -1"
"$THAW" validate --db "$db" --tolerance x >/dev/null 2>&1; [ $? = 2 ] || fail "--tolerance x"
"$THAW" validate --db >/dev/null 2>&1; [ $? = 2 ] || fail "--db without a value"
"$THAW" validate --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option"
echo "ok: validate pairs exec and sim, tolerance, run selection, failures, usage"

#!/bin/bash
# exec_sim_arrivals.sh - `thaw exec` and `thaw sim` of the same scenario and
# seed draw the same randomness (both take their inputs from workload/ through
# the driver shell): exec-small.yaml, shrunk to a few MiB of weights and run
# at 3x, records in both modes the same requests (same ids, models and
# `arrived` instants, compared exactly: both are scenario-time ns converted
# to seconds) and the same fault rows, for its own seed and another one.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/thaw-e2e-arrivals-XXXXXX)
shm=$(mktemp -d /dev/shm/thaw-e2e-arrivals-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
sql() { sqlite3 "$db" "$1"; }

# The weights only change how long loads take, not when requests arrive;
# 1/64 of the file's sizes keep the run small (same ratios, same queueing).
small=(--set 'cluster.nodes[0].vram=8MiB' --set 'cluster.nodes[0].shm.size=16MiB'
       --set 'models[0].weights=4MiB' --set 'models[1].weights=6MiB'
       --set 'models[2].weights=4MiB' --set 'models[3].weights=2MiB'
       --set 'models[4].weights=1MiB')
run=0
for seed in 42 7; do
    # exec takes the seed as --seed, sim as an override: the same seed either way
    "$THAW" exec scenarios/exec-small.yaml "${small[@]}" --seed $seed --db "$db" \
        --weights-dir "$tmp/w" --shm-dir "$shm" --backend host --time-scale 3 --quiet \
        >"$tmp/out" 2>&1 || fail "thaw exec (seed $seed) exited $?"
    "$THAW" sim scenarios/exec-small.yaml "${small[@]}" --set run.seed=$seed --db "$db" \
        >"$tmp/out" 2>&1 || fail "thaw sim (seed $seed) exited $?"
    e=$((run + 1)) s=$((run + 2)) run=$((run + 2))
    [ "$(sql "SELECT mode || ' ' || seed FROM runs WHERE id = $e")" = "exec $seed" ] ||
        fail "run $e is not the exec run of seed $seed"
    [ "$(sql "SELECT mode || ' ' || seed FROM runs WHERE id = $s")" = "sim $seed" ] ||
        fail "run $s is not the sim run of seed $seed"
    ne=$(sql "SELECT count(*) FROM requests WHERE run = $e")
    ns=$(sql "SELECT count(*) FROM requests WHERE run = $s")
    [ "$ne" -gt 20 ] || fail "seed $seed: only $ne requests in the exec run"
    [ "$ne" = "$ns" ] || fail "seed $seed: $ne requests in exec, $ns in sim"
    same=$(sql "SELECT count(*) FROM requests a JOIN requests b
                ON b.run = $s AND b.request_id = a.request_id
                AND b.model = a.model AND b.arrived = a.arrived WHERE a.run = $e")
    [ "$same" = "$ne" ] || fail "seed $seed: only $same of $ne requests arrived at the same instant"
    fe=$(sql "SELECT group_concat(kind || target || t || ':' || ifnull(recovered, '-'), ' ')
              FROM (SELECT * FROM faults WHERE run = $e ORDER BY t)")
    fs=$(sql "SELECT group_concat(kind || target || t || ':' || ifnull(recovered, '-'), ' ')
              FROM (SELECT * FROM faults WHERE run = $s ORDER BY t)")
    [ -n "$fe" ] && [ "$fe" = "$fs" ] || fail "seed $seed: faults differ: exec '$fe', sim '$fs'"
done
# The two seeds do draw different arrivals (the check above is not vacuous).
diff=$(sql "SELECT count(*) FROM requests a JOIN requests b ON b.run = 3
            AND b.request_id = a.request_id WHERE a.run = 1 AND a.arrived <> b.arrived")
[ "$diff" -gt 0 ] || fail "seeds 42 and 7 gave the same arrivals"
echo "ok: exec and sim agree on every arrival and fault for seeds 42 and 7"

#!/bin/bash
# sim_exec_agree.sh - `thaw sim` and `thaw exec` (host backend) of the same
# small scenario feed the core the same input event stream: the same kinds in
# the same order, numbered from 1 in both, with the same scheduled times.
# Times are compared exactly for the world's inputs (arrivals, faults,
# recoveries); everything downstream of a load is real work in exec (a
# load's end, and the ticks and request ends that follow from it), so those
# are compared within TOL seconds: the executor's own cost of a 2 MiB load
# on a busy host (a few ms alone; hundreds of ms under a loaded ctest -j). One scenario per divergence the two drivers used to have
# (tests/e2e/agree/*.yaml says which), plus the load rows' outcomes.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }
TOL=0.5

tmp=$(mktemp -d /tmp/thaw-e2e-agree-XXXXXX)
shm=$(mktemp -d /dev/shm/thaw-e2e-agree-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
sql() { sqlite3 "$db" "$1"; }

run=0
for scen in keepalive tie gpulost; do
    f=tests/e2e/agree/$scen.yaml
    "$THAW" exec "$f" --db "$db" --weights-dir "$tmp/w" --shm-dir "$shm" --backend host \
        --quiet >"$tmp/out" 2>&1 || fail "$scen: thaw exec exited $?"
    "$THAW" sim "$f" --db "$db" >"$tmp/out" 2>&1 || fail "$scen: thaw sim exited $?"
    e=$((run + 1)) s=$((run + 2)) run=$((run + 2))
    ke=$(sql "SELECT group_concat(seq || ':' || kind, ' ') FROM
              (SELECT * FROM core_events WHERE run = $e ORDER BY seq)")
    ks=$(sql "SELECT group_concat(seq || ':' || kind, ' ') FROM
              (SELECT * FROM core_events WHERE run = $s ORDER BY seq)")
    [ -n "$ke" ] && [ "$ke" = "$ks" ] || { echo "exec: $ke"; echo "sim:  $ks"; fail "$scen: event kinds differ"; }
    case "$ke" in 1:*) ;; *) fail "$scen: events are not numbered from 1: $ke" ;; esac
    bad=$(sql "SELECT count(*) FROM core_events a JOIN core_events b ON b.run = $s AND b.seq = a.seq
               WHERE a.run = $e AND (CASE WHEN a.kind IN ('REQUEST_ARRIVED', 'GPU_FAILED', 'GPU_RECOVERED',
               'NODE_FAILED', 'NODE_RECOVERED') THEN a.t_ns <> b.t_ns
               ELSE abs(a.t_ns - b.t_ns) > $TOL * 1e9 END)")
    [ "$bad" = 0 ] || { sql "SELECT a.seq, a.kind, a.t_ns, b.t_ns FROM core_events a JOIN core_events b
               ON b.run = $s AND b.seq = a.seq WHERE a.run = $e"; fail "$scen: $bad event times differ"; }
    le=$(sql "SELECT group_concat(load_id || outcome, ' ') FROM (SELECT * FROM loads WHERE run = $e ORDER BY load_id)")
    ls=$(sql "SELECT group_concat(load_id || outcome, ' ') FROM (SELECT * FROM loads WHERE run = $s ORDER BY load_id)")
    [ "$le" = "$ls" ] || fail "$scen: load outcomes differ: exec '$le', sim '$ls'"
    [ "$(sql "SELECT status FROM runs WHERE id = $e")" = complete ] || fail "$scen: exec run not complete"
    echo "ok: $scen: $(echo "$ke" | wc -w) events agree"
done
# What each scenario is there for, checked on the sim run (the same as exec's).
# keepalive: b is dispatched after the tick at a's keep-alive expiry: a READY
# at 0.2 s + 2 MiB / 1 GB/s = 0.202097152 s, idle from +0.1 s, +3 s = 3.302097152 s.
[ "$(sql "SELECT count(*) FROM core_events WHERE run = 2 AND kind = 'TICK' AND t_ns = 3302097152")" = 1 ] ||
    fail "keepalive: no tick at 1.3 s"
[ "$(sql "SELECT count(*) FROM requests WHERE run = 1 AND finished IS NOT NULL")" = 2 ] ||
    fail "keepalive: exec did not serve both requests"
# tie: at 1 s the fault comes before the arrival: the fault's source was armed
# at start, the 1 s arrival only when the 500 ms one was taken (shell.h's tie
# order); the fault at 2 s = run.duration is fed.
for r in 3 4; do
[ "$(sql "SELECT group_concat(kind, ',') FROM (SELECT kind FROM core_events WHERE run = $r AND t_ns = 1000000000 AND kind <> 'LOAD_FINISHED' ORDER BY seq)")" = "GPU_FAILED,REQUEST_ARRIVED" ] ||
    fail "tie: run $r: arrival and fault at 1 s not in armed order"
done
[ "$(sql "SELECT count(*) FROM core_events WHERE run = 3 AND kind = 'GPU_FAILED' AND t_ns = 2000000000")" = 1 ] ||
    fail "tie: exec dropped the fault at run.duration"
# gpulost: load 1 failed with its GPU, load 2 served.
[ "$(sql "SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM loads WHERE run = 5 ORDER BY load_id)")" = "failed,ok" ] ||
    fail "gpulost: exec load outcomes"
echo "ok: sim and exec feed the core the same events"

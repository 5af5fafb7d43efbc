#!/bin/bash
# interrupt.sh - SIGINT / SIGTERM stop `thaw sim` and `thaw sweep` cleanly:
# the run is recorded 'interrupted' (never 'complete'), the database passes
# PRAGMA integrity_check, the command exits 1; an interrupted sweep is then
# finished by --resume with every point exactly once.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-int-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
sql() { sqlite3 "$db" "$1"; }

# A run of minutes, interrupted after a second.
"$THAW" sim tests/e2e/data/long.yaml --db "$db" >"$tmp/out" 2>&1 &
pid=$!
sleep 1
kill -INT $pid
wait $pid
st=$?
[ $st = 1 ] || fail "thaw sim exited $st after SIGINT, want 1"
grep -q "interrupted" "$tmp/out" || fail "thaw sim did not say it was interrupted"
[ "$(sql "SELECT status FROM runs WHERE id = 1")" = interrupted ] || fail "run 1 is not 'interrupted'"
[ "$(sql "PRAGMA integrity_check")" = ok ] || fail "integrity check after SIGINT"

# A sweep of 4 long points on 2 threads, SIGTERM after a second: no point is
# complete, the ones in flight are 'interrupted'. --resume then runs each
# point again; here the points are made short for the resume (run.duration
# is part of the scenario, not of the point) by resuming a sweep of the same
# points over a short scenario copy.
sed 's/duration: 100h/duration: 20s/' tests/e2e/data/long.yaml >"$tmp/short.yaml"
cp tests/e2e/data/long.yaml "$tmp/s.yaml"
"$THAW" sweep "$tmp/s.yaml" --set 'models[0].count=1,2' --seeds 1-2 --jobs 2 \
    --sweep-id intr --db "$db" --quiet >"$tmp/out" 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
st=$?
[ $st = 1 ] || fail "thaw sweep exited $st after SIGTERM, want 1"
[ "$(sql "SELECT count(*) FROM runs WHERE sweep_id = 'intr' AND status = 'complete'")" = 0 ] ||
    fail "an interrupted sweep point is 'complete'"
[ "$(sql "SELECT count(*) FROM runs WHERE sweep_id = 'intr' AND status = 'running'")" = 0 ] ||
    fail "a sweep point was left 'running'"
[ "$(sql "PRAGMA integrity_check")" = ok ] || fail "integrity check after SIGTERM"
cp "$tmp/short.yaml" "$tmp/s.yaml"
"$THAW" sweep "$tmp/s.yaml" --set 'models[0].count=1,2' --seeds 1-2 --jobs 2 \
    --sweep-id intr --resume --db "$db" --quiet >"$tmp/out" 2>&1 || fail "sweep --resume exited $?"
[ "$(sql "SELECT count(*) FROM runs WHERE sweep_id = 'intr' AND status = 'complete'")" = 4 ] ||
    fail "--resume did not complete the 4 points"
[ "$(sql "SELECT count(DISTINCT params || seed) FROM runs WHERE sweep_id = 'intr' AND status = 'complete'")" = 4 ] ||
    fail "--resume ran a point twice"
echo "ok: SIGINT and SIGTERM leave interrupted runs; --resume finishes the sweep"

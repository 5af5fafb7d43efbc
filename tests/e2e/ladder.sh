#!/bin/bash
# ladder.sh - the storage ladder end to end on the reference scenario
# scenarios/thundering-herd.yaml (hand figures in its header): the baseline
# (no disk cache, no peers) reads every load from the store, wave 1 READY at
# 89 s and wave 2 at 114.6 s after the fault; with the disk cache and peers
# wave 2 reads every node's own disk (34.3 s) and wave 1 mostly copies from
# peers; `thaw report --ladder` and `thaw plot bandwidth` read the runs; a
# bad store name is refused with file:line:col.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/thaw-e2e-ladder-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
sql() { sqlite3 "$db" "$1"; }
herd=scenarios/thundering-herd.yaml

"$THAW" sim $herd --db "$db" --quiet --set 'cluster.nodes[0].disk_cache.admission=off' \
  >"$tmp/out" 2>&1 || fail "baseline sim exited $?"
"$THAW" sim $herd --db "$db" --quiet --set policy.peer=on >"$tmp/out" 2>&1 ||
  fail "disk + peer sim exited $?"
wave() { # run wave -> "count source max(finished - enqueued)" lines
  sql "SELECT count(*) || ' ' || source || ' ' || round(max(finished - enqueued), 1) FROM loads
       WHERE run = $1 AND outcome = 'ok' AND (enqueued < 200) = ($2 = 1) GROUP BY source
       ORDER BY source"
}
[ "$(wave 1 1)" = "60 store 89.0" ] || fail "baseline wave 1: $(wave 1 1)"
[ "$(wave 1 2)" = "64 store 114.6" ] || fail "baseline wave 2: $(wave 1 2)"
[ "$(wave 2 2)" = "64 disk 34.3" ] || fail "disk + peer wave 2: $(wave 2 2)"
[ "$(sql "SELECT count(*) FROM loads WHERE run = 2 AND enqueued < 200 AND source = 'peer'")" -ge 50 ] ||
  fail "disk + peer wave 1 copies from peers"

"$THAW" report --db "$db" --ladder 1 >"$tmp/out" 2>&1 || fail "report --ladder exited $?"
grep -Eq '^store +124 +1\.000 +1736000000000$' "$tmp/out" || fail "report --ladder row"
grep -q 'waited on the shared store' "$tmp/out" || fail "report --ladder store wait"

if command -v gnuplot >/dev/null; then
  "$THAW" plot bandwidth 1 --db "$db" -o "$tmp/bw.png" >"$tmp/out" 2>&1 || fail "plot exited $?"
  [ -s "$tmp/bw.png" ] || fail "no bandwidth chart"
fi
"$THAW" plot bandwidth 1 --db "$db" --pipes shm -o "$tmp/none.png" >"$tmp/out" 2>&1 &&
  fail "a chart of no rows"
grep -q 'no bandwidth rows' "$tmp/out" || fail "no-rows message"

# a model naming a store that does not exist: file:line:col, exit 1
sed 's/store: registry/store: registri/' $herd >"$tmp/bad.yaml"
"$THAW" check "$tmp/bad.yaml" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "bad store name not refused"
grep -Eq "bad.yaml:[0-9]+:[0-9]+: models\[0\]\.store: unknown store 'registri'; did you mean 'registry'\?" \
  "$tmp/out" || fail "bad store diagnostic"
echo ok

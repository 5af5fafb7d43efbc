#!/bin/bash
# prune.sh - orphaned runs and `thaw prune`: a run left 'running' by a
# process that is gone is named by `thaw report` and removed by `thaw prune`
# with failed and interrupted runs and all their rows; a 'running' run whose
# process lives, or of another host, is kept; --dry-run changes nothing; a
# database made before runs.owner existed still works.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }
[ -r /proc/self/stat ] || { echo "skipped: no /proc"; exit 77; }

tmp=$(mktemp -d /tmp/thaw-e2e-prune-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
sql() { sqlite3 "$db" "$1"; }
sc=scenarios/chained-cold-start.yaml

for seed in 1 2 3 4 5 6; do
  "$THAW" sim "$sc" --db "$db" --quiet --seed $seed >/dev/null || fail "sim seed $seed"
done
# The writer is recorded as "PID START BOOT_ID".
boot=$(cat /proc/sys/kernel/random/boot_id)
sql "SELECT owner FROM runs WHERE id = 1" | grep -Eq "^[0-9]+ [0-9]+ $boot\$" || fail "runs.owner"
# 2: failed, 3: interrupted, 4: 'running' but its sim exited (orphaned),
# 5: 'running' and its owner is this shell (alive), 6: 'running' on another
# host (unknown, kept); 1 stays complete.
me_start=$(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f20)
sql "UPDATE runs SET status = 'failed' WHERE id = 2;
     UPDATE runs SET status = 'interrupted' WHERE id = 3;
     UPDATE runs SET status = 'running' WHERE id IN (4, 5, 6);
     UPDATE runs SET owner = '$$ $me_start $boot' WHERE id = 5;
     UPDATE runs SET host = 'elsewhere' WHERE id = 6;"
rows_of() { sql "SELECT (SELECT count(*) FROM loads WHERE run = $1) +
  (SELECT count(*) FROM requests WHERE run = $1) + (SELECT count(*) FROM instance_events WHERE run = $1) +
  (SELECT count(*) FROM faults WHERE run = $1) + (SELECT count(*) FROM gpus WHERE run = $1) +
  (SELECT count(*) FROM core_events WHERE run = $1) + (SELECT count(*) FROM metrics WHERE run = $1) +
  (SELECT count(*) FROM load_phases WHERE run = $1)"; }
want_rows=$(( $(rows_of 2) + $(rows_of 3) + $(rows_of 4) + 3 ))  # + the three runs rows
[ "$(rows_of 4)" -gt 0 ] || fail "run 4 has no rows to prune"

"$THAW" report --db "$db" 1 >"$tmp/out" 2>"$tmp/err" || fail "report exited $?"
grep -qx "thaw report: 1 orphaned run (still 'running', the process is gone): 4; \`thaw prune\` removes them" \
  "$tmp/err" || fail "report's orphan line: $(cat "$tmp/err")"

"$THAW" prune --db "$db" --dry-run >"$tmp/out" 2>&1 || fail "prune --dry-run exited $?"
[ "$(sed -n 1,3p "$tmp/out" | cut -d' ' -f1-3 | tr '\n' '|')" = "run 2 failed|run 3 interrupted|run 4 orphaned|" ] ||
  fail "dry-run list"
grep -qx '3 runs would be removed (--dry-run: nothing changed)' "$tmp/out" || fail "dry-run total"
[ "$(sql 'SELECT count(*) FROM runs')" = 6 ] || fail "--dry-run removed runs"

"$THAW" prune --db "$db" >"$tmp/out" 2>&1 || fail "prune exited $?"
grep -qx "3 runs removed, $want_rows rows in all" "$tmp/out" || fail "prune total (want $want_rows rows)"
[ "$(sql 'SELECT group_concat(id) FROM runs')" = 1,5,6 ] || fail "runs left: $(sql 'SELECT group_concat(id) FROM runs')"
for r in 2 3 4; do [ "$(rows_of $r)" = 0 ] || fail "rows of run $r left"; done
[ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "integrity"
[ -z "$(sql 'PRAGMA foreign_key_check')" ] || fail "foreign keys"
"$THAW" prune --db "$db" >"$tmp/out" 2>&1 || fail "second prune exited $?"
grep -qx '0 runs removed, 0 rows in all' "$tmp/out" || fail "second prune"

# A database made before runs.owner: runs are recorded without it, nothing
# is called orphaned (its writer cannot be checked), prune still prunes.
old=$tmp/old.db
"$THAW" sim "$sc" --db "$old" --quiet >/dev/null || fail "sim old"
sqlite3 "$old" "ALTER TABLE runs DROP COLUMN owner" || fail "drop owner"
"$THAW" sim "$sc" --db "$old" --quiet >/dev/null || fail "sim into an older database"
sqlite3 "$old" "UPDATE runs SET status = 'running' WHERE id = 1; UPDATE runs SET status = 'failed' WHERE id = 2"
"$THAW" report --db "$old" 1 >"$tmp/out" 2>"$tmp/err" || fail "report of an older database"
grep -q orphaned "$tmp/err" && fail "a run without owner called orphaned"
"$THAW" prune --db "$old" >"$tmp/out" 2>&1 || fail "prune of an older database"
grep -q '^1 run removed' "$tmp/out" || fail "prune of an older database removed $(cat "$tmp/out")"
[ "$(sqlite3 "$old" 'SELECT group_concat(id) FROM runs')" = 1 ] || fail "older database runs left"

"$THAW" prune --frobnicate >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "unknown option should exit 2"
"$THAW" prune --db "$tmp/none.db" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "a missing database should exit 1"
[ -e "$tmp/none.db" ] && fail "prune created a database"
echo ok

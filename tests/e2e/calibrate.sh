#!/bin/bash
# calibrate.sh - `thaw calibrate` end to end: a real (host backend) run of
# scenarios/exec-small.yaml at --time-scale 1 is fitted (exit 0, a fit row
# per source, --set lines ready to paste); a simulation of the same file
# fitted on purpose returns the file's own values (storage_read 1.5GB/s,
# init 300ms = a 0.5 s less warmup 200ms); a database of sim runs only and
# a missing database exit 1; usage errors exit 2.
set -u
THAW=${THAW:?THAW must name the thaw binary}
"$THAW" calibrate --help >/dev/null 2>&1 || { echo "skipped: thaw has no calibrate command yet"; exit 77; }
sc=$(pwd)/scenarios/exec-small.yaml
[ -f "$sc" ] || { echo "skipped: $sc is missing"; exit 77; }

tmp=$(mktemp -d /tmp/thaw-e2e-calibrate-XXXXXX)
# exec-small writes 1.2 GiB of weight files and puts 384 MiB into shm.
[ "$(df -Pk "$tmp" | awk 'NR==2 {print $4}')" -gt 2000000 ] ||
    { rm -rf "$tmp"; echo "skipped: less than 2 GB free under /tmp"; exit 77; }
shm=$(mktemp -d /dev/shm/thaw-e2e-calibrate-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db

# 1. A real run at --time-scale 1 (about 15 s), then its fit.
"$THAW" exec "$sc" --db "$db" --weights-dir "$tmp/w" --shm-dir "$shm" --backend host \
    --time-scale 1 --quiet >"$tmp/out" 2>&1 || fail "thaw exec exited $?"
"$THAW" calibrate --db "$db" >"$tmp/out" 2>&1 || fail "thaw calibrate exited $?"
grep -q '^exec run 1: .*exec-small.yaml, seed 42, backend host, complete$' "$tmp/out" ||
    fail "exec run line"
grep -Eq '^loads: [1-9][0-9]* that finished ok ran alone' "$tmp/out" || fail "no loads line"
grep -Eq '^  storage +[0-9]+ +[0-9]+ +[0-9]+ +[-0-9.]+\*? +[0-9.]+ +[0-9.]+ ' "$tmp/out" ||
    fail "no storage fit row"
grep -q "^  suggested: .*--set 'cluster.nodes\[0\].storage_read=[0-9.]*GB/s'" "$tmp/out" ||
    fail "no storage_read --set line"
sed 's/^/  | /' "$tmp/out"

# 2. The same scenario simulated: the latest exec run is still run 1 of
# t.db; a database of sim runs only has no exec run (exit 1); asked for
# the sim run by id, the fit returns the file's own values: lone storage
# loads take 0.3 + bytes / 1.5 GB/s + 0.2, so B = 1.500 GB/s, a = 0.500 s
# and init = a - warmup 0.2 = 0.300 s.
"$THAW" sim "$sc" --db "$tmp/sim.db" --quiet >/dev/null 2>&1 || fail "sim into sim.db"
"$THAW" calibrate --db "$tmp/sim.db" >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q 'no exec run in the database' "$tmp/out" || fail "sim-only database"
"$THAW" calibrate --db "$tmp/sim.db" 1 >"$tmp/out" 2>&1 || fail "calibrate of sim run 1 exited $?"
grep -Eq '^  storage +[0-9]+ +[0-9]+ +[0-9]+ +0\.500 +1\.500 +1\.397 +1\.0000 ' "$tmp/out" ||
    fail "sim fit is not a 0.5 s, B 1.5 GB/s"
grep -q "cluster.nodes\[0\].storage_read=1.500GB/s" "$tmp/out" || fail "sim storage_read"
grep -q "cluster.nodes\[0\].init=0.300s" "$tmp/out" || fail "sim init"
"$THAW" calibrate --db "$tmp/none.db" >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q 'no results database' "$tmp/out" || fail "missing database"
[ ! -e "$tmp/none.db" ] || fail "calibrate created a database"
"$THAW" calibrate --db "$db" 77 >"$tmp/out" 2>&1; [ $? = 1 ] || fail "unknown run"

# 3. Usage errors exit 2.
# 3. Several runs pool their load phases: a second sim run (seed 2) beside
# the first; each lone sim load's copy is bytes / 1.5 GB/s and init 0.3 s.
"$THAW" sim "$sc" --db "$tmp/sim.db" --seed 2 --quiet >/dev/null 2>&1 || fail "second sim"
"$THAW" calibrate --db "$tmp/sim.db" 1 2 >"$tmp/out" 2>&1 || fail "calibrate of two runs exited $?"
grep -q '^from load_phases, pooled over 2 runs' "$tmp/out" || fail "no pooled section"
grep -Eq '^  host +storage +[0-9]+ +[0-9]+ +2 ' "$tmp/out" || fail "no pooled storage row"
grep -Eq 'init 0\.300 s \(sd 0\.000\)' "$tmp/out" || fail "pooled init is not 0.300 s"
"$THAW" calibrate --db "$db" 1 77 >/dev/null 2>&1; [ $? = 1 ] || fail "an unknown second run"
"$THAW" calibrate --db >/dev/null 2>&1; [ $? = 2 ] || fail "--db without a value"
"$THAW" calibrate --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option"
echo "ok: calibrate fits an exec run, recovers a sim run's inputs, failures, usage"

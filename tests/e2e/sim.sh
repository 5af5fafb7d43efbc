#!/bin/bash
# sim.sh - `thaw sim` end to end: the chained cold start prints its loads
# timeline (A 0 -> 30, B 30 -> 60, C 60 -> 90 on backup/gpu0), the summary and
# the run id, and records a complete run; --seed, --policy and --set reach the
# run; --quiet prints only the run id; --no-record writes nothing and prints
# the metrics; --record summary writes no loads; --bench prints a line per
# recording level; bad input exits 1, usage errors exit 2.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/thaw-e2e-sim-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
sql() { sqlite3 "$db" "$1"; }

"$THAW" sim scenarios/chained-cold-start.yaml --db "$db" >"$tmp/out" 2>&1 || fail "sim exited $?"
grep -Eq '^A +backup/gpu0 +storage +failover +0\.000 +0\.000 +30\.000 +0\.000$' "$tmp/out" ||
  fail "timeline row of A"
grep -Eq '^B +backup/gpu0 +storage +failover +10\.000 +30\.000 +60\.000 +20\.000$' "$tmp/out" ||
  fail "timeline row of B"
grep -Eq '^C +backup/gpu0 +storage +failover +15\.000 +60\.000 +90\.000 +45\.000$' "$tmp/out" ||
  fail "timeline row of C"
grep -Eq '^makespan_s +90\.000' "$tmp/out" || fail "summary (makespan 90 s)"
grep -Eq "^run 1 \\($db\\)$" "$tmp/out" || fail "run id line"
[ "$(sql "SELECT status || ' ' || mode || ' ' || seed FROM runs WHERE id = 1")" = "complete sim 1" ] ||
  fail "runs row"

# --seed, --policy, --set reach the run; --quiet prints the run id only.
"$THAW" sim scenarios/chained-cold-start.yaml --db "$db" --quiet --seed 5 \
  --policy max_loads_per_node=0 --set 'cluster.nodes[1].storage_read=1GiB/s' >"$tmp/out" 2>&1 ||
  fail "quiet sim exited $?"
[ "$(cat "$tmp/out")" = 2 ] || fail "--quiet output"
[ "$(sql "SELECT seed FROM runs WHERE id = 2")" = 5 ] || fail "--seed not recorded"
# backup's storage at 1 GiB/s: a load is 2 + 14 = 16 s; backup has one GPU
# (max_loads_per_gpu 1 still chains them): A 0 -> 16, B 16 -> 32, C 32 -> 48.
last=$(sql "SELECT MAX(finished) FROM loads WHERE run = 2")
[ "$last" = 48.0 ] || fail "--policy/--set had no effect (last load $last, want 48.0)"

# Overrides of any length are stored whole and replay: 200 copies of a
# 36-byte --set joined by commas are 200 * 36 + 199 = 7399 characters (once
# cut at 1,023, and replay then failed to load the scenario).
long=()
for _ in $(seq 200); do long+=(--set 'cluster.nodes[1].storage_read=1GiB/s'); done
"$THAW" sim scenarios/chained-cold-start.yaml --db "$db" --quiet "${long[@]}" >"$tmp/out" 2>&1 ||
  fail "sim with 7 KiB of --set exited $?"
long_run=$(cat "$tmp/out")
[ "$(sql "SELECT length(overrides) FROM runs WHERE id = $long_run")" = 7399 ] ||
  fail "stored overrides are not 7399 characters"
[ "$(sql "SELECT substr(overrides, -36) FROM runs WHERE id = $long_run")" = \
  'cluster.nodes[1].storage_read=1GiB/s' ] || fail "the last override is not stored whole"
"$THAW" replay "$long_run" --db "$db" >"$tmp/out" 2>&1 || fail "replay of the long run exited $?"
grep -q identical "$tmp/out" || fail "replay of the long run is not identical"

# --no-record: nothing written.
"$THAW" sim scenarios/chained-cold-start.yaml --db "$tmp/none.db" --no-record >"$tmp/out" 2>&1 ||
  fail "--no-record exited $?"
[ ! -e "$tmp/none.db" ] || fail "--no-record wrote a database"
grep -q 'not recorded' "$tmp/out" || fail "--no-record output"
# ... and still the metrics (computed in memory): cold_start_p50_s as --record all stores it.
grep -q 'cold_start_p50_s' "$tmp/out" || fail "--no-record printed no metrics"

# --record: summary keeps the metrics and no loads or requests rows; a bad level is a usage error.
"$THAW" sim scenarios/chained-cold-start.yaml --db "$tmp/lv.db" --record summary --quiet \
  >"$tmp/out" 2>&1 || fail "--record summary exited $?"
lv=$(tail -1 "$tmp/out")
[ "$(sqlite3 "$tmp/lv.db" "SELECT count(*) FROM loads WHERE run = $lv")" = 0 ] ||
  fail "--record summary wrote loads rows"
[ "$(sqlite3 "$tmp/lv.db" "SELECT count(*) FROM metrics WHERE run = $lv AND value IS NOT NULL \
  AND name = 'cold_start_p50_s'")" = 1 ] || fail "--record summary wrote no cold_start_p50_s"
"$THAW" sim scenarios/chained-cold-start.yaml --db "$tmp/lv.db" --record some >"$tmp/out" 2>&1
code=$?
[ "$code" = 2 ] && grep -q 'summary, loads or all' "$tmp/out" || fail "--record some: exit $code"

# --bench: a line per recording level and one without a database, and no
# database left behind.
(cd "$tmp" && "$THAW" sim "$OLDPWD/scenarios/chained-cold-start.yaml" --bench) >"$tmp/out" 2>&1 ||
  fail "--bench exited $?"
for line in 'record all' 'record loads' 'record summary' 'no database'; do
  grep -q "^$line " "$tmp/out" || fail "--bench output: no '$line' line"
done
[ ! -e "$tmp/results" ] || fail "--bench wrote results/ without --db"

# --opt=value is --opt value, for every option of every command (cli/main.c):
# scaling with two models loading serially ends at 2 x 30 = 60 s.
"$THAW" sim --db="$tmp/eq.db" --set='models[0].count=2' --policy=max_loads_per_node=1 --quiet \
  scenarios/scaling.yaml >"$tmp/out" 2>&1 || fail "--opt=value sim exited $?"
[ "$(sqlite3 "$tmp/eq.db" "SELECT count(*) || ' ' || MAX(finished) FROM loads")" = "2 60.0" ] ||
  fail "--opt=value options were not applied"

# Errors: a missing scenario exits 1; usage errors exit 2.
"$THAW" sim "$tmp/missing.yaml" --db "$db" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "missing scenario should exit 1"
"$THAW" sim >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "no scenario should exit 2"
"$THAW" sim scenarios/chained-cold-start.yaml --seed x >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "bad --seed should exit 2"
# Strict: ' -5' was once read as 2^64 - 5; the error names the option.
for bad in ' -5' '+5' '5 ' '18446744073709551616'; do
  "$THAW" sim scenarios/chained-cold-start.yaml --no-record --seed "$bad" >"$tmp/out" 2>&1
  [ $? -eq 2 ] || fail "--seed '$bad' should exit 2"
  grep -qF "thaw sim: --seed expects an integer from 0 to 18446744073709551615, found \"$bad\"" \
    "$tmp/out" || fail "--seed '$bad': message"
done
"$THAW" sim scenarios/chained-cold-start.yaml --frobnicate >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "unknown option should exit 2"
# A sim run logs its actions, and they travel with `thaw merge`: replay on the
# merged database checks a fresh core against the log (not two fresh cores).
"$THAW" sim scenarios/failover-standby.yaml --db "$tmp/ma.db" --quiet >/dev/null || fail "sim for merge"
"$THAW" merge "$tmp/mb.db" "$tmp/ma.db" >/dev/null || fail "merge exited $?"
"$THAW" replay 1 --db "$tmp/mb.db" >"$tmp/out" 2>&1 || fail "replay of a merged run exited $?"
grep -q 'identical$' "$tmp/out" || fail "replay of a merged run: $(cat "$tmp/out")"
grep -q 'no action log' "$tmp/out" && fail "merged run lost its action log"
# A run records its scenario's absolute path: replay from another working
# directory finds the file, and once it is gone the stored copy, written
# beside where it was, still resolves a relative `include:`.
mkdir -p "$tmp/inc"
printf 'node:\n  storage_read: 3GB/s\n' >"$tmp/inc/profile.yaml"
cat >"$tmp/inc/scen.yaml" <<'YAML'
include: profile.yaml
cluster:
  nodes:
    - {name: n, gpus: 1, vram: 80GiB, h2d: 25GB/s}
models:
  - {name: m, weights: 3GB}
workload:
  - {model: m, arrivals: {poisson: 1/s}, service: {dist: exponential, mean: 0.1s}}
run: {duration: 20s, seed: 1}
YAML
( cd "$tmp/inc" && "$THAW" sim scen.yaml --db "$tmp/inc.db" --quiet ) >/dev/null || fail "sim of scen.yaml"
[ "$(sqlite3 "$tmp/inc.db" 'select scenario from runs')" = "$(cd "$tmp/inc" && pwd -P)/scen.yaml" ] ||
  fail "runs.scenario is not the absolute path"
( cd / && "$THAW" replay 1 --db "$tmp/inc.db" ) >"$tmp/out" 2>&1 || fail "replay from / exited $?"
grep -q identical "$tmp/out" || fail "replay from /"
grep -q 'using the copy' "$tmp/out" && fail "replay from / fell back to the stored copy"
mv "$tmp/inc/scen.yaml" "$tmp/inc/moved.yaml"
( cd / && "$THAW" replay 1 --db "$tmp/inc.db" ) >"$tmp/out" 2>&1 || fail "replay of the stored copy exited $?"
grep -q 'is gone: using the copy stored with run 1' "$tmp/out" && grep -q identical "$tmp/out" ||
  fail "replay of the stored copy with an include"
"$THAW" sim --help >"$tmp/out" 2>&1 || fail "--help exited $?"
grep -q '^usage: thaw sim SCENARIO' "$tmp/out" || fail "--help text"
echo "ok"

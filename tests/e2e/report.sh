#!/usr/bin/env bash
# report.sh - `thaw report`, `thaw compare` and `thaw merge` on real sim runs:
# report shows the last run by default and several side by side; compare
# pairs by seed (same seeds on both sides) and falls back to "no interval"
# with one run per side; merge copies runs once and is idempotent.
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
command -v sqlite3 > /dev/null || { echo "skipped: no sqlite3 shell"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-report.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
sc=scenarios/chained-cold-start.yaml

for seed in 1 2 3; do
    "$THAW" sim "$sc" --seed "$seed" --db "$tmp/a.db" --quiet > /dev/null || fail "sim seed $seed"
    "$THAW" sim "$sc" --seed "$seed" --policy queue=priority --db "$tmp/b.db" --quiet \
        > /dev/null || fail "sim b seed $seed"
done

# report: default is the last run (3); two runs give two columns
out=$("$THAW" report --db "$tmp/a.db") || fail "report"
echo "$out" | grep -q '^run 3 ' || fail "report did not show run 3: $out"
echo "$out" | grep -q '^cold_start_mean_s' || fail "no metric rows"
out=$("$THAW" report --db "$tmp/a.db" 1 2) || fail "report 1 2"
echo "$out" | grep -Eq '^metric +run 1 +run 2$' || fail "no side-by-side header: $out"
uuid=$(sqlite3 "$tmp/a.db" "SELECT substr(uuid, 1, 8) FROM runs WHERE id = 2")
"$THAW" report --db "$tmp/a.db" "$uuid" | grep -q '^run 2 ' || fail "uuid prefix"
"$THAW" report --db "$tmp/a.db" 99 > /dev/null 2>&1 && fail "report of a missing run succeeded"
"$THAW" report --db "$tmp/none.db" > /dev/null 2>&1 && fail "report of a missing db succeeded"

# --phases: the chained cold start, one backup GPU, one load at a time.
# Each load: init 2 s, copy 14 GiB / 512 MiB/s = 28 s (warm-up 0). A starts
# at 0 and is READY at 30; B (enqueued 10) starts at 30: queued 20 s; C
# (enqueued 15) starts at 60: queued 45 s. Queued total 0 + 20 + 45 = 65 s of
# 65 + 3 * 30 = 155 s in all phases: 41.9 %; copy 84 / 155 = 54.2 %.
out=$("$THAW" report --db "$tmp/a.db" 1 --phases) || fail "report --phases"
echo "$out" | grep -Eq '^queued +3 +21\.667 +45\.000 +65\.000 +41\.9%$' || fail "phases queued: $out"
echo "$out" | grep -Eq '^init +3 +2\.000 +2\.000 +6\.000 +3\.9%$' || fail "phases init: $out"
echo "$out" | grep -Eq '^copy +3 +28\.000 +28\.000 +84\.000 +54\.2%$' || fail "phases copy: $out"
"$THAW" report --db "$tmp/a.db" 1 --phases --html "$tmp/x.html" > /dev/null 2>&1 &&
    fail "--phases with --html accepted"

# merge a and b into m: 6 runs; again: nothing added
"$THAW" merge "$tmp/m.db" "$tmp/a.db" "$tmp/b.db" > "$tmp/merge1" || fail "merge"
grep -q '6 runs added in all' "$tmp/merge1" || fail "first merge: $(cat "$tmp/merge1")"
"$THAW" merge "$tmp/m.db" "$tmp/a.db" "$tmp/b.db" > "$tmp/merge2" || fail "merge again"
grep -q '0 runs added in all' "$tmp/merge2" || fail "second merge: $(cat "$tmp/merge2")"
[ "$(sqlite3 "$tmp/m.db" 'SELECT count(*) FROM runs')" = 6 ] || fail "merged run count"
[ "$(sqlite3 "$tmp/m.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity"
la=$(sqlite3 "$tmp/a.db" 'SELECT count(*) FROM loads')
lb=$(sqlite3 "$tmp/b.db" 'SELECT count(*) FROM loads')
[ "$(sqlite3 "$tmp/m.db" 'SELECT count(*) FROM loads')" = $((la + lb)) ] || fail "merged loads"

# compare fifo (runs 1-3) with priority (4-6): same seeds -> paired, n=3
out=$("$THAW" compare --db "$tmp/m.db" --a policy=queue=fifo --b policy=queue=priority \
      --metric cold_start_mean_s) || fail "compare"
echo "$out" | grep -Eq '^cold_start_mean_s .*paired n=3' || fail "not paired: $out"
echo "$out" | grep -Eq 'A better|B better|no significant difference' || fail "no verdict: $out"
out=$("$THAW" compare --db "$tmp/m.db" --a 1 --b 4) || fail "compare 1 4"
echo "$out" | grep -q 'no interval can be computed' || fail "single runs: $out"
"$THAW" compare --db "$tmp/m.db" --a 1 > /dev/null 2>&1
[ $? = 2 ] || fail "compare without --b is not a usage error"
"$THAW" compare --db "$tmp/m.db" --a 1 --b 2 --metric nope > /dev/null 2>&1 && fail "bad metric"
"$THAW" compare --db "$tmp/m.db" --a sweep=none --b 2 > /dev/null 2>&1 && fail "empty side"

# An empty selector value once matched every run: now a usage error (exit 2,
# as every malformed selector of compare).
"$THAW" compare --db "$tmp/m.db" --a policy= --b 2 > "$tmp/out" 2>&1
[ $? = 2 ] || fail "compare --a policy= is not an error"
grep -q 'selector term "policy=" has an empty value' "$tmp/out" || fail "policy=: $(cat "$tmp/out")"

# An unknown --metric is an error listing the valid names (it once printed a
# column of '-' and exited 0); nothing goes to stdout.
"$THAW" report --db "$tmp/m.db" --select 1-6 --metric makespan_s,nosuch > "$tmp/out" 2> "$tmp/err"
[ $? = 1 ] || fail "report --metric nosuch did not exit 1"
[ ! -s "$tmp/out" ] || fail "report --metric nosuch printed a table: $(cat "$tmp/out")"
grep -q '^thaw report: unknown metric "nosuch"; metrics are: cold_start_mean_s, .*, loads_queued_at_end$' \
    "$tmp/err" || fail "unknown metric message: $(cat "$tmp/err")"
"$THAW" report --db "$tmp/m.db" --select 1-6 --metric makespan_s > "$tmp/out" ||
    fail "report --metric makespan_s"
[ "$(grep -c '90.000' "$tmp/out")" = 6 ] || fail "makespan column: $(cat "$tmp/out")"
echo "ok"

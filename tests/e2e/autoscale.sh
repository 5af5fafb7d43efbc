#!/usr/bin/env bash
# autoscale.sh - the autoscaler says why it scaled and drops what it no
# longer needs (tests/e2e/data/autoscale.yaml, derivation there): at 10 s
# one decision asks 1 scale-up (waiting 2, supply 1 READY + 1 queued,
# excess 1), at 20 s one drops it (nothing waits); the dropped job has a
# loads row 'cancelled' with started NULL, is no deadline miss, and
# `thaw report --autoscaler` prints both decisions; replay agrees.
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
command -v sqlite3 > /dev/null || { echo "skipped: no sqlite3 shell"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-autoscale.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
sc=tests/e2e/data/autoscale.yaml

"$THAW" sim "$sc" --db "$tmp/a.db" --quiet > "$tmp/out" 2> "$tmp/err" || fail "sim: $(cat "$tmp/err")"
q() { sqlite3 "$tmp/a.db" "$1"; }
[ "$(q "SELECT t, model, waiting, ready, loading, queued, excess, wanted, asked, dropped, evicted
        FROM autoscale_decisions ORDER BY rowid" | tr '\n' ' ')" = \
  "10.0|A|2|1|0|1|1|1|1|0|0 20.0|A|0|1|0|2|0|0|0|1|0 " ] ||
    fail "decisions: $(q 'SELECT * FROM autoscale_decisions')"
[ "$(q "SELECT load_id, reason, enqueued, started IS NULL, outcome FROM loads ORDER BY load_id" |
     tr '\n' ' ')" = "1|scale_up|10.0|1|cancelled 2|demand|5.0|1|queued " ] ||
    fail "loads: $(q 'SELECT * FROM loads')"
[ "$(q "SELECT value FROM metrics WHERE name = 'loads_cancelled'")" = 1.0 ] || fail "loads_cancelled"
[ "$(q "SELECT count(*) FROM anomalies WHERE kind = 'stale_scale_up'")" = 0 ] || fail "stale scale-up"
q "SELECT line FROM core_actions" | grep -q "DROP_JOB model=0 reason=scale_up enqueued=10000000000" ||
    fail "no DROP_JOB action"

"$THAW" report --db "$tmp/a.db" --autoscaler > "$tmp/rep" 2> /dev/null || fail "report --autoscaler"
grep -q "^run 1 autoscaler decisions" "$tmp/rep" || fail "report: $(cat "$tmp/rep")"
grep -Eq "^ +20\.000 +A +0 +1 +0 +2 +0 +0 +0 +1 +0$" "$tmp/rep" || fail "report: $(cat "$tmp/rep")"
"$THAW" replay --db "$tmp/a.db" 1 > "$tmp/rp" 2>&1 || fail "replay: $(cat "$tmp/rp")"
grep -q identical "$tmp/rp" || fail "replay: $(cat "$tmp/rp")"

# a run without the autoscaler has no decisions, and report says so
"$THAW" sim "$sc" --set policy.autoscaler=off --db "$tmp/b.db" --quiet > /dev/null 2>&1 ||
    fail "sim autoscaler off"
[ "$(sqlite3 "$tmp/b.db" "SELECT count(*) FROM autoscale_decisions")" = 0 ] || fail "off: rows"
"$THAW" report --db "$tmp/b.db" --autoscaler 2> /dev/null | grep -q "no autoscaler decisions" ||
    fail "off: report"
echo ok

#!/usr/bin/env bash
# starving.sh - issue 11's starving cluster (tests/e2e/data/starving.yaml:
# three always-busy 60 GB models, keep_alive, one GPU): sim and report name
# the two starved models on stderr with exit 0, their unstarted loads have
# rows (outcome queued, started NULL), report --by-model and --explain work,
# and plan does not answer 1 GPU for a cold-start target (the unserved
# requests miss it), while --allow-unserved is the opt-out.
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
command -v sqlite3 > /dev/null || { echo "skipped: no sqlite3 shell"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-starving.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
sc=tests/e2e/data/starving.yaml

"$THAW" sim "$sc" --db "$tmp/s.db" --quiet > "$tmp/out" 2> "$tmp/err" || fail "sim: $(cat "$tmp/err")"
# seed 3: gamma loads first (enqueued 0.118 s); beta and alpha never do
grep -q "anomaly: never_served .*model beta" "$tmp/err" || fail "sim names no starved beta: $(cat "$tmp/err")"
grep -q "anomaly: never_served .*model alpha" "$tmp/err" || fail "sim names no starved alpha"
grep -q "anomaly: queued_at_end .*model beta" "$tmp/err" || fail "sim: no queued_at_end"
grep -q "model gamma" "$tmp/err" && fail "gamma was served, yet named: $(cat "$tmp/err")"
[ "$(sqlite3 "$tmp/s.db" "SELECT count(*) FROM loads WHERE outcome = 'queued' AND started IS NULL")" = 2 ] ||
    fail "the two unstarted loads have no rows"
[ "$(sqlite3 "$tmp/s.db" "SELECT value FROM metrics WHERE name = 'models_never_served'")" = 2.0 ] ||
    fail "models_never_served"

"$THAW" report --db "$tmp/s.db" --by-model > "$tmp/rep" 2> "$tmp/rerr" || fail "report"
grep -q "anomaly: never_served .*model alpha" "$tmp/rerr" || fail "report names no starved model"
grep -q "^run 1 by model" "$tmp/rep" || fail "no --by-model table"
grep -Eq "^models_never_served +1 +1 +0$" "$tmp/rep" || fail "by model: $(cat "$tmp/rep")"
"$THAW" report --explain | grep -q "requests_unserved" || fail "--explain"

"$THAW" plan "$sc" --vary 'cluster.nodes[0].gpus=1..4' --target 'cold_start_p99_s<40' \
    --db "$tmp/p.db" --quiet > "$tmp/plan" 2>&1
grep -q "^answer: cluster.nodes\[0\].gpus = 1 " "$tmp/plan" && fail "plan answered 1 GPU: $(cat "$tmp/plan")"
grep -q "^answer: none" "$tmp/plan" || fail "plan: $(cat "$tmp/plan")"
# two targets, both must hold; --allow-unserved opts out of the unserved rule
"$THAW" plan "$sc" --vary 'cluster.nodes[0].gpus=1..2' --target 'loads_ok>=1' \
    --target 'requests_served>=1' --allow-unserved --db "$tmp/p.db" --quiet > "$tmp/plan2" 2>&1 ||
    fail "plan --allow-unserved: $(cat "$tmp/plan2")"
grep -q "^answer: cluster.nodes\[0\].gpus = 1 " "$tmp/plan2" || fail "plan2: $(cat "$tmp/plan2")"
"$THAW" plan "$sc" --vary 'cluster.nodes[0].gpus=1..2' --target 'loads_ok>=1' \
    --target 'loads_ok>=5' --allow-unserved --db "$tmp/p.db" --quiet > "$tmp/plan3" 2>&1
grep -q "^answer: none" "$tmp/plan3" || fail "the second target was ignored: $(cat "$tmp/plan3")"
echo ok

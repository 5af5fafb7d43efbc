#!/usr/bin/env bash
# sweep.sh - `thaw sweep` and `thaw plan` end to end: a 2 x 2 x 3 grid gives
# 12 runs tagged with one sweep id and 4 parameter points; shards K/N for
# N = 1..5 together run every point exactly once and give the same metrics
# as the unsharded sweep; --resume runs only the missing points; bad input
# is refused; `thaw plan` finds the known smallest GPU count of the scaling
# scenario.
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
"$THAW" sweep --help > /dev/null 2>&1 || { echo "skipped: thaw has no sweep command yet"; exit 77; }
"$THAW" sim --help > /dev/null 2>&1 || { echo "skipped: thaw has no sim command yet"; exit 77; }
command -v sqlite3 > /dev/null || { echo "skipped: no sqlite3 shell"; exit 77; }
sc=scenarios/scaling.yaml
[ -f "$sc" ] || { echo "skipped: $sc is missing"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-sweep.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }

grid=(--set 'models[0].count=1,2' --policy queue=fifo --policy queue=sjf --seeds 1-3)

# The whole grid: 2 counts x 2 policies x 3 seeds = 12 runs, one sweep id,
# 4 distinct params, each with seeds 1, 2, 3. stderr is not a TTY here, so
# progress comes as plain lines ending with 12/12.
out=$("$THAW" sweep "$sc" "${grid[@]}" --db "$tmp/a.db" --jobs 2 2> "$tmp/err") ||
    fail "sweep: $(cat "$tmp/err")"
id=$(echo "$out" | sed -n 's/^sweep //p')
[ -n "$id" ] || fail "no sweep id printed: $out"
grep -q '12/12 runs done' "$tmp/err" || fail "no final progress line: $(cat "$tmp/err")"
[ "$(q "$tmp/a.db" "SELECT count(*) FROM runs WHERE sweep_id = '$id' AND status = 'complete'")" = 12 ] ||
    fail "expected 12 complete runs"
[ "$(q "$tmp/a.db" "SELECT count(DISTINCT params) FROM runs")" = 4 ] || fail "expected 4 points"
[ "$(q "$tmp/a.db" "SELECT group_concat(seed) FROM (SELECT seed FROM runs WHERE params = \
'models[0].count=2;policy=queue=sjf' ORDER BY seed)")" = "1,2,3" ] || fail "seeds of a point"

# Shards: for N = 1..5 the N shards of one sweep id run 12 distinct points
# between them, and every point's makespan equals the unsharded run's.
for n in 1 2 3 4 5; do
    db="$tmp/shard$n.db"
    for k in $(seq 1 $n); do
        "$THAW" sweep "$sc" "${grid[@]}" --shard "$k/$n" --sweep-id "s$n" --db "$db" --quiet \
            > /dev/null || fail "shard $k/$n"
    done
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE sweep_id = 's$n'")" = 12 ] || fail "N=$n: runs"
    [ "$(q "$db" "SELECT count(DISTINCT params || '/' || seed) FROM runs")" = 12 ] ||
        fail "N=$n: a point ran twice"
    diff=$(sqlite3 "$db" "ATTACH '$tmp/a.db' AS a;
        SELECT count(*) FROM runs r JOIN metrics m ON m.run = r.id AND m.name = 'makespan_s'
        JOIN a.runs ar ON ar.params = r.params AND ar.seed = r.seed
        JOIN a.metrics am ON am.run = ar.id AND am.name = 'makespan_s'
        WHERE m.value IS NOT am.value")
    [ "$diff" = 0 ] || fail "N=$n: $diff points differ from the unsharded sweep"
done

# --resume: after shard 1/2 (points 0, 2, .., 10), the whole grid with
# --resume runs only the other 6 points; a second --resume runs none.
"$THAW" sweep "$sc" "${grid[@]}" --shard 1/2 --sweep-id r --db "$tmp/r.db" --quiet > /dev/null ||
    fail "resume: first shard"
"$THAW" sweep "$sc" "${grid[@]}" --sweep-id r --resume --db "$tmp/r.db" 2> "$tmp/err" > /dev/null ||
    fail "resume"
grep -q '6 points already complete' "$tmp/err" || fail "resume skipped: $(cat "$tmp/err")"
"$THAW" sweep "$sc" "${grid[@]}" --sweep-id r --resume --db "$tmp/r.db" --quiet > /dev/null ||
    fail "resume again"
[ "$(q "$tmp/r.db" "SELECT count(*) || '/' || count(DISTINCT params || '/' || seed) FROM runs")" = "12/12" ] ||
    fail "resume ran a point twice or missed one"
"$THAW" sweep "$sc" --resume --db "$tmp/r.db" > /dev/null 2>&1
[ $? = 2 ] || fail "--resume without --sweep-id not a usage error"

# --dry-run lists a shard's points without running: 3/5 of 12 is 2, 7.
out=$("$THAW" sweep "$sc" "${grid[@]}" --shard 3/5 --dry-run --db "$tmp/none.db") ||
    fail "dry run"
[ "$(echo "$out" | grep -v '^#' | cut -d' ' -f1 | tr '\n' ' ')" = "2 7 " ] ||
    fail "dry run of 3/5: $out"
[ ! -e "$tmp/none.db" ] || fail "a dry run wrote a database"

# Bad input: usage errors exit 2, a value the scenario refuses exits 1.
"$THAW" sweep "$sc" --seeds 3-1 --db "$tmp/x.db" > /dev/null 2>&1
[ $? = 2 ] || fail "--seeds 3-1 not a usage error"
"$THAW" sweep "$sc" --shard 4/3 --db "$tmp/x.db" > /dev/null 2>&1
[ $? = 2 ] || fail "--shard 4/3 not a usage error"
"$THAW" sweep "$sc" --set 'models[0].count=1,1' --db "$tmp/x.db" > /dev/null 2>&1
[ $? = 2 ] || fail "a repeated value not a usage error"
"$THAW" sweep "$sc" --set 'cluster.nodes[0].vram=lots' --db "$tmp/x.db" > /dev/null 2>&1
[ $? = 1 ] || fail "a bad scenario value did not fail"

# plan: 8 models of 30 s each (2 s init + 14 GiB at 512 MiB/s) on G GPUs,
# one load per GPU at a time, take ceil(8 / G) rounds of 30 s (plus a few
# seconds of request service). Makespan < 100 s needs at most 3 rounds:
# G >= 3 (G = 2: 4 rounds, over 120 s).
"$THAW" plan "$sc" --vary 'cluster.nodes[0].gpus=1..16' --target 'makespan_s<100' \
    --db "$tmp/p.db" --quiet > "$tmp/plan" 2> "$tmp/err" || fail "plan: $(cat "$tmp/err")"
grep -q '^answer: cluster.nodes\[0\].gpus = 3 ' "$tmp/plan" || fail "plan answer: $(cat "$tmp/plan")"
grep -q '^2 .* missed' "$tmp/plan" || fail "plan evidence lacks G=2: $(cat "$tmp/plan")"
grep -q 'warning' "$tmp/err" && fail "monotone metric warned: $(cat "$tmp/err")"
"$THAW" plan "$sc" --vary 'cluster.nodes[0].gpus=1..2' --target 'makespan_s<10' \
    --db "$tmp/p.db" --quiet > "$tmp/plan" 2>&1
[ $? = 1 ] || fail "an unreachable target did not exit 1"
grep -q '^answer: none' "$tmp/plan" || fail "no 'answer: none': $(cat "$tmp/plan")"
"$THAW" plan "$sc" --vary 'cluster.nodes[0].gpus=1..2' --target 'no_such<1' --db "$tmp/p.db" \
    > /dev/null 2>&1
[ $? = 2 ] || fail "an unknown metric not a usage error"
echo "ok"

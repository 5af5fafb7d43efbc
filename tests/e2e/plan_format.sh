#!/usr/bin/env bash
# plan_format.sh - `thaw plan --format csv|json`: the evaluated points as rows
# on stdout (the answer on stderr), read back by Python's csv and json. The
# scenario is sweep.sh's: 8 loads of 30 s, one per GPU at a time, so
# makespan < 100 s first holds at G = 3 (G = 2 takes four rounds); the
# bisection of 1..4 evaluates 2 and 3, then the neighbours 2 and 4 are known
# or evaluated: points 2, 3, 4 (and 1 when the search asks for it).
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
command -v python3 > /dev/null || { echo "skipped: no python3"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-planfmt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
sc=scenarios/scaling.yaml

for f in csv json; do
    "$THAW" plan "$sc" --vary 'cluster.nodes[0].gpus=1..4' --target 'makespan_s<100' \
        --db "$tmp/p.db" --quiet --format $f > "$tmp/out.$f" 2> "$tmp/err.$f" \
        || fail "plan --format $f: $(cat "$tmp/err.$f")"
    grep -q '^answer: cluster.nodes\[0\].gpus = 3 ' "$tmp/err.$f" \
        || fail "$f: the answer is not on stderr: $(cat "$tmp/err.$f")"
    grep -q '^answer' "$tmp/out.$f" && fail "$f: the answer went to stdout"
done
python3 - "$tmp/out.csv" "$tmp/out.json" << 'PY' || fail "rows"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
objs = json.load(open(sys.argv[2]))
key = "cluster.nodes[0].gpus"
for name, rs in (("csv", rows), ("json", objs)):
    by = {int(r[key]): r for r in rs}
    assert set(by) >= {2, 3}, (name, sorted(by))
    assert by[2]["target"] == "missed" and by[3]["target"] == "met", (name, by)
    assert float(by[2]["makespan_s"]) >= 100 > float(by[3]["makespan_s"]), (name, by)
    assert set(rs[0]) == {key, "makespan_s", "makespan_s_ci95_low", "makespan_s_ci95_high",
                          "makespan_s_n", "unserved", "target", "first_run", "last_run"}, rs[0]
    assert int(by[3]["makespan_s_n"]) == 1
assert isinstance(objs[0][key], int) and isinstance(objs[0]["makespan_s"], (int, float))
PY
"$THAW" plan "$sc" --vary 'cluster.nodes[0].gpus=1..2' --target 'makespan_s<100' \
    --db "$tmp/p.db" --format xml > /dev/null 2>&1
[ $? = 2 ] || fail "--format xml not a usage error"
echo "ok"

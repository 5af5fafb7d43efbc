#!/usr/bin/env bash
# export.sh - results that travel: `thaw export` and `report/compare
# --format` give CSV and JSON that pandas reads as they are (numbers typed,
# no pivot), the analysis views hold what they say, sweep parameters are
# rows, an old (version 0) database is migrated on open, and `thaw replay`
# works after the scenario file is edited or deleted (the run stored it).
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
command -v sqlite3 > /dev/null || { echo "skipped: no sqlite3 shell"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-export.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/t.db

# chained cold start: 3 loads of 14 GiB on one GPU at 30 s each (DESIGN.md)
cp scenarios/chained-cold-start.yaml "$tmp/sc.yaml"
"$THAW" sim "$tmp/sc.yaml" --db "$db" --quiet > /dev/null || fail "sim"
"$THAW" sweep "$tmp/sc.yaml" --db "$db" --set policy.queue=fifo,priority --seeds 1-2 --jobs 2 \
    > "$tmp/sweep.out" 2>&1 || fail "sweep: $(cat "$tmp/sweep.out")"

# CSV: RFC 4180 header, integers as integers (bytes, not 15032385536.000)
"$THAW" export --db "$db" 1 --table loads > "$tmp/loads.csv" || fail "export loads"
head -1 "$tmp/loads.csv" | grep -q '^run,load_id,model,' || fail "csv header: $(head -1 "$tmp/loads.csv")"
grep -q ',15032385536,15032385536,' "$tmp/loads.csv" || fail "bytes not integers: $(cat "$tmp/loads.csv")"
grep -q '"queue=fifo,' <("$THAW" export --db "$db" 1 --table runs) || fail "comma field not quoted"
[ "$("$THAW" export --db "$db" 1 --table loads | wc -l)" = 4 ] || fail "3 loads + header"
"$THAW" export --db "$db" 1 --table nosuch > /dev/null 2>&1
[ $? = 2 ] || fail "unknown table is a usage error"

# run_params: the sweep point as rows, one per key
n=$(sqlite3 "$db" "SELECT count(*) FROM run_params WHERE key = 'policy.queue'")
[ "$n" -ge 4 ] || fail "run_params rows for policy.queue: $n"
# load_breakdown: B waits 30 - 10 = 20 s, then 30 s of service
row=$(sqlite3 "$db" "SELECT queued_s, service_s, total_s FROM load_breakdown WHERE run = 1 AND model = 'B'")
[ "$row" = "20.0|30.0|50.0" ] || fail "load_breakdown B: $row"
# core_events_named: names, not indices
sqlite3 "$db" "SELECT count(*) FROM core_events_named WHERE run = 1 AND gpu LIKE '%/gpu%'" | grep -qv '^0$' \
    || fail "core_events_named has no GPU names"
# run_summary: one row per run, makespan as a column (90 s, DESIGN.md's 65 s is FIFO-free)
[ "$(sqlite3 "$db" "SELECT makespan_s FROM run_summary WHERE run = 1")" = 90.0 ] || fail "run_summary makespan"
[ "$(sqlite3 "$db" "PRAGMA user_version")" = 2 ] || fail "user_version"

# report / compare --format
"$THAW" report --db "$db" 1 --format json > "$tmp/report.json" || fail "report json"
grep -q '"makespan_s":90' "$tmp/report.json" || fail "report json: $(cat "$tmp/report.json")"
"$THAW" report --db "$db" --select 'param:policy.queue=fifo' --metric makespan_s --format csv \
    > "$tmp/sel.csv" || fail "report --select csv"
head -1 "$tmp/sel.csv" | tr -d '\r' | grep -qx 'run,seed,params,makespan_s' || fail "select csv: $(cat "$tmp/sel.csv")"
"$THAW" compare --db "$db" --a 'param:policy.queue=fifo' --b 'param:policy.queue=priority' \
    --format csv > "$tmp/cmp.csv" || fail "compare csv"
grep -q '^makespan_s,2,2,' "$tmp/cmp.csv" || fail "compare csv: $(cat "$tmp/cmp.csv")"

# pandas reads every export as it is (skip this part without pandas)
# (Debian's python3-pandas is for /usr/bin/python3, which a pyenv python3
# on PATH does not see.)
py=
for p in python3 /usr/bin/python3; do
    if command -v "$p" > /dev/null && "$p" -c 'import pandas' 2> /dev/null; then py=$p; break; fi
done
if [ -n "$py" ]; then
    for t in loads requests metrics instance_events faults runs run_summary load_breakdown \
        core_events_named model_summary run_params; do
        "$THAW" export --db "$db" 'status=any' --table "$t" > "$tmp/$t.csv" || fail "export $t csv"
        "$THAW" export --db "$db" 'status=any' --table "$t" --format json > "$tmp/$t.json" \
            || fail "export $t json"
    done
    "$py" - "$tmp" << 'PY' || fail "pandas"
import sys, pandas as pd
d = sys.argv[1]
for t in ["loads", "requests", "metrics", "instance_events", "faults", "runs", "run_summary",
          "load_breakdown", "core_events_named", "model_summary", "run_params"]:
    c = pd.read_csv(f"{d}/{t}.csv")
    j = pd.read_json(f"{d}/{t}.json", orient="records")
    assert len(c) == len(j), (t, len(c), len(j))
    if len(j):
        assert list(c.columns) == list(j.columns), (t, list(c.columns), list(j.columns))
loads = pd.read_csv(f"{d}/loads.csv")
assert loads["bytes"].dtype.kind == "i", loads["bytes"].dtype
assert (loads[loads.run == 1]["finished"] == [30, 60, 90]).all()
s = pd.read_json(f"{d}/run_summary.json")
assert s.loc[s.run == 1, "makespan_s"].iloc[0] == 90
assert s["cold_start_mean_s"].dtype.kind == "f"
b = pd.read_csv(f"{d}/load_breakdown.csv")
assert b.loc[(b.run == 1) & (b.model == "C"), "queued_s"].iloc[0] == 45  # 60 - 15
p = pd.read_csv(f"{d}/run_params.csv")
assert set(p.key) >= {"policy.queue"}, set(p.key)
PY
else
    echo "note: python3-pandas not installed; pandas checks skipped"
fi

# replay after the scenario changed, then after it is gone: the stored copy
"$THAW" replay --db "$db" 1 > "$tmp/replay0" 2>&1 || fail "replay: $(cat "$tmp/replay0")"
echo "# edited" >> "$tmp/sc.yaml"
"$THAW" replay --db "$db" 1 > "$tmp/replay1" 2>&1 || fail "replay after edit: $(cat "$tmp/replay1")"
grep -q 'changed since the run: using the copy stored' "$tmp/replay1" || fail "$(cat "$tmp/replay1")"
rm "$tmp/sc.yaml"
"$THAW" replay --db "$db" 1 > "$tmp/replay2" 2>&1 || fail "replay after delete: $(cat "$tmp/replay2")"
grep -q 'is gone: using the copy stored' "$tmp/replay2" || fail "$(cat "$tmp/replay2")"
grep -q 'identical' "$tmp/replay2" || fail "$(cat "$tmp/replay2")"
ls -a "$tmp" | grep -q '\.thaw-run-' && fail "temporary scenario copy left behind"

# an old database: version 0, no run_params or scenario_texts; opening
# migrates it (run_params from runs.params, nodes from gpus) and keeps rows
sqlite3 "$tmp/old.db" << 'SQL'
CREATE TABLE runs (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, mode TEXT NOT NULL,
  scenario TEXT NOT NULL, scenario_sha256 TEXT NOT NULL, policy TEXT NOT NULL,
  overrides TEXT NOT NULL DEFAULT '', seed INTEGER NOT NULL, host TEXT NOT NULL,
  version TEXT NOT NULL, backend TEXT NOT NULL DEFAULT '', sweep_id TEXT,
  params TEXT NOT NULL DEFAULT '', started_at TEXT NOT NULL, finished_at TEXT, duration_s REAL,
  status TEXT NOT NULL);
CREATE TABLE gpus (run INTEGER NOT NULL, gpu INTEGER NOT NULL, name TEXT NOT NULL,
  node TEXT NOT NULL, vram INTEGER NOT NULL, PRIMARY KEY (run, gpu));
CREATE TABLE metrics (run INTEGER NOT NULL, name TEXT NOT NULL, value REAL, PRIMARY KEY (run, name));
INSERT INTO runs VALUES (1, 'abcd0001', 'sim', 'gone.yaml', 'x', 'queue=fifo', '', 1, 'h', '0',
  '', 's1', 'cluster.nodes[0].gpus=4;policy=queue=fifo', '2024-01-01T00:00:00Z',
  '2024-01-01T00:00:01Z', 10, 'complete');
INSERT INTO gpus VALUES (1, 0, 'a/gpu0', 'a', 1), (1, 1, 'b/gpu0', 'b', 1), (1, 2, 'b/gpu1', 'b', 1);
INSERT INTO metrics VALUES (1, 'makespan_s', 10);
SQL
"$THAW" export --db "$tmp/old.db" 1 --table run_params > "$tmp/old.csv" || fail "export from old db"
tr -d '\r' < "$tmp/old.csv" | grep -qx '1,cluster.nodes\[0\].gpus,4' || fail "old params: $(cat "$tmp/old.csv")"
tr -d '\r' < "$tmp/old.csv" | grep -qx '1,policy,queue=fifo' || fail "old params: $(cat "$tmp/old.csv")"
[ "$(sqlite3 "$tmp/old.db" "SELECT group_concat(node || '=' || name) FROM nodes")" = "0=a,1=b" ] \
    || fail "old nodes: $(sqlite3 "$tmp/old.db" 'SELECT * FROM nodes')"
[ "$(sqlite3 "$tmp/old.db" "PRAGMA user_version")" = 2 ] || fail "old db not migrated"
"$THAW" replay --db "$tmp/old.db" 1 > "$tmp/replay3" 2>&1 && fail "replay without a stored copy"
grep -q 'no stored copy' "$tmp/replay3" || fail "$(cat "$tmp/replay3")"
echo "ok"

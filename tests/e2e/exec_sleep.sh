#!/bin/bash
# exec_sleep.sh - sleep-mode standby carried out for real (host backend):
# tests/e2e/data/sleep-exec.yaml's A sleeps (weights kept in a host buffer,
# device memory freed) when B needs the GPU and wakes (the buffer copied
# back, verified, then its wake cost) when asked for again; the sim run of
# the same file makes the same decisions, and `thaw validate` pairs them.
set -u
THAW=${THAW:?THAW must name the thaw binary}
sc=$(pwd)/tests/e2e/data/sleep-exec.yaml
tmp=$(mktemp -d /tmp/thaw-e2e-exec-sleep-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
q() { sqlite3 "$db" "$1"; }

"$THAW" exec "$sc" --db "$db" --weights-dir "$tmp/w" --backend host --quiet >"$tmp/out" 2>&1 ||
    fail "thaw exec exited $?"
"$THAW" sim "$sc" --db "$db" --quiet >"$tmp/out" 2>&1 || fail "thaw sim exited $?"
for run in 1 2; do
    [ "$(q "SELECT value FROM metrics WHERE run = $run AND name = 'sleeps'")" = 1.0 ] ||
        fail "run $run: sleeps"
    [ "$(q "SELECT value FROM metrics WHERE run = $run AND name = 'wakes'")" = 1.0 ] ||
        fail "run $run: wakes"
    # all three requests served; two loads rows (the wake is not a load)
    [ "$(q "SELECT COUNT(*) FROM requests WHERE run = $run AND finished IS NOT NULL")" = 3 ] ||
        fail "run $run: requests"
    [ "$(q "SELECT COUNT(*) FROM loads WHERE run = $run AND outcome = 'ok'")" = 2 ] ||
        fail "run $run: loads"
done
# the wake takes at least its 200 ms wake cost (sim: 32 MiB at 12 GB/s +
# 0.2 s = 0.2028 s); exec measured it
awk -v v="$(q "SELECT value FROM metrics WHERE run = 1 AND name = 'wake_latency_mean_s'")" \
    'BEGIN { exit !(v >= 0.2 && v < 2) }' || fail "exec wake latency"
awk -v v="$(q "SELECT value FROM metrics WHERE run = 2 AND name = 'wake_latency_mean_s'")" \
    'BEGIN { exit !(v > 0.2027 && v < 0.2029) }' || fail "sim wake latency"
"$THAW" validate --db "$db" >"$tmp/out" 2>&1 || fail "thaw validate exited $?"
grep -Eq '^A +[1-9][0-9]* +[0-9.]+ +[0-9.]+ +[-+][0-9.]+%$' "$tmp/out" || fail "no A row"
echo ok

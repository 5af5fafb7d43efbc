#!/bin/bash
# exec_tp.sh - a tensor-parallel model carried out for real (host backend):
# tests/e2e/data/tp-exec.yaml's `big` (tp 2) is loaded as two shards onto
# two emulated GPUs, serves its requests, and `thaw validate` pairs the exec
# run with a sim run of the same file; the record says the two shards had
# two devices of their own (metrics exec_gang_shards = exec_gang_devices = 2).
set -u
THAW=${THAW:?THAW must name the thaw binary}
sc=$(pwd)/tests/e2e/data/tp-exec.yaml
tmp=$(mktemp -d /tmp/thaw-e2e-exec-tp-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
q() { sqlite3 "$db" "$1"; }

"$THAW" exec "$sc" --db "$db" --weights-dir "$tmp/w" --backend host --quiet >"$tmp/out" 2>&1 ||
    fail "thaw exec exited $?"
"$THAW" sim "$sc" --db "$db" --quiet >"$tmp/out" 2>&1 || fail "thaw sim exited $?"

# big's load went to a gang led by gpu0 (first_fit: gpu0 and gpu1) and
# finished in both runs; every request of both models was served.
for run in 1 2; do
    [ "$(q "SELECT COUNT(*) FROM loads
            WHERE run = $run AND model = 'big' AND outcome = 'ok' AND gpu = 0")" = 1 ] ||
        fail "run $run: big did not load onto its gang"
    [ "$(q "SELECT COUNT(*) FROM requests WHERE run = $run AND finished IS NOT NULL")" = 5 ] ||
        fail "run $run: not every request was served"
done
# the exec run's record: 2 shards on 2 devices of their own (host arenas)
[ "$(q "SELECT value FROM metrics WHERE run = 1 AND name = 'exec_gang_shards'")" = 2.0 ] ||
    fail "exec_gang_shards"
[ "$(q "SELECT value FROM metrics WHERE run = 1 AND name = 'exec_gang_devices'")" = 2.0 ] ||
    fail "exec_gang_devices"
# and the copied bytes are the whole model plus small's: 64 + 16 MiB
[ "$(q "SELECT value FROM metrics WHERE run = 1 AND name = 'exec_bytes_loaded'")" = 83886080.0 ] ||
    fail "exec_bytes_loaded"

"$THAW" validate --db "$db" >"$tmp/out" 2>&1 || fail "thaw validate exited $?"
grep -Eq '^big +[1-9][0-9]* +[0-9.]+ +[0-9.]+ +[-+][0-9.]+%$' "$tmp/out" || fail "no big row"
echo ok

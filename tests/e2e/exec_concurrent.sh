#!/bin/bash
# exec_concurrent.sh - two `thaw exec` runs of one user at the same time,
# sharing one --shm-dir base (as two runs on the default /dev/shm would):
# each fills a folder of its own, so neither removes the other's shm files
# as stale, and both complete with every load ok and no folder left behind.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-conc-XXXXXX)
shm=$(mktemp -d /dev/shm/thaw-e2e-conc-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/out*; do sed 's/^/  | /' "$f"; done; exit 1; }
scen=tests/e2e/data/shm-pair.yaml
"$THAW" weights gen $scen --dir "$tmp/w" >/dev/null 2>&1 || fail "weights gen"
# Run 2 loads later (2 s, 2.2 s), after run 1 has ended and cleaned up: a
# shared folder would lose run 2's files to run 1's cleanup.
late=(--set 'workload[0].arrivals.times=[2s]' --set 'workload[1].arrivals.times=[2200ms]')
for i in 1 2; do
    extra=(); [ $i = 2 ] && extra=("${late[@]}")
    "$THAW" exec $scen "${extra[@]}" --db "$tmp/t$i.db" --weights-dir "$tmp/w" \
        --shm-dir "$shm" --backend host --quiet >"$tmp/out$i" 2>&1 &
    pids[$i]=$!
done
for i in 1 2; do wait ${pids[$i]} || fail "exec run $i exited $?"; done
for i in 1 2; do
    db=$tmp/t$i.db
    [ "$(sqlite3 "$db" "SELECT status FROM runs")" = complete ] || fail "run $i not complete"
    bad=$(sqlite3 "$db" "SELECT count(*) FROM loads WHERE outcome <> 'ok'")
    [ "$bad" = 0 ] || fail "run $i: $bad loads failed"
    hits=$(sqlite3 "$db" "SELECT count(*) FROM loads WHERE source = 'shm' AND outcome = 'ok'")
    [ "$hits" = 2 ] || fail "run $i: $hits of 2 loads read the shm tier"
done
left=$(find "$shm" -mindepth 2 | wc -l)
[ "$left" = 0 ] || { find "$shm"; fail "$left shm entries left behind"; }
echo "ok: two exec runs at once, each in its own shm folder, both complete"

#!/bin/bash
# kill.sh - kill-safety: SIGKILL or SIGINT (chosen, like the moment, by a
# seeded RANDOM; THAW_KILL_SEED replays a failure) at random moments of
# `thaw sim`, `thaw exec` (host backend, a small scenario) and `thaw sweep`,
# 24 kills in all. After each the database passes PRAGMA integrity_check and
# holds no 'complete' run that did not finish (a process that exited 0 before
# the signal landed is allowed its complete run); SIGINT leaves no run
# 'running'. The killed sweep is then finished by --resume with every point
# complete exactly once. Last, two processes write one new --db at once and
# both runs land whole.
set -u
# Job control: without it a non-interactive shell starts background commands
# with SIGINT ignored, and a SIGINT that lands before thaw installs its
# handler (early, or under ASan) would be lost.
set -m
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-kill-XXXXXX)
shm=$(mktemp -d /dev/shm/thaw-e2e-kill-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
seed=${THAW_KILL_SEED:-$(date +%s)}
RANDOM=$seed
fail() { echo "FAIL (THAW_KILL_SEED=$seed): $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
sql() { sqlite3 "$db" "$1"; }
kills=0

# kill_at SIG DELAY_MS CMD...: starts CMD, signals it after DELAY_MS, and
# leaves its exit status in $st.
kill_at() {
    local sig=$1 ms=$2
    shift 2
    "$@" >"$tmp/out" 2>&1 &
    local pid=$!
    sleep "$(printf '0.%03d' "$ms")"
    kill -"$sig" $pid 2>/dev/null
    # A stop takes well under 30 s even under ASan; past that it was lost.
    local waited=0
    while kill -0 $pid 2>/dev/null && [ $waited -lt 300 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 $pid 2>/dev/null; then
        kill -KILL $pid
        fail "$* did not stop within 30 s of SIG$sig at ${ms} ms"
    fi
    { wait $pid; } 2>/dev/null # no "Killed" line from the shell
    st=$?
    kills=$((kills + 1))
}

# check WHAT: the invariants after one kill. A run may be complete only when
# the process exited 0; SIGINT (exit 1) leaves it interrupted, never running.
check() {
    [ "$(sql "PRAGMA integrity_check")" = ok ] || fail "$1: integrity check (signal $sig at ${ms} ms)"
    local complete running
    complete=$(sql "SELECT count(*) FROM runs WHERE status = 'complete'")
    running=$(sql "SELECT count(*) FROM runs WHERE status = 'running'")
    if [ $st = 0 ]; then
        expect_complete=$((expect_complete + ${2:-1}))
    elif [ "$sig" = INT ] && [ $st = 130 ]; then
        # SIGINT before thaw installed its handler (under ASan on a loaded
        # host start-up takes longer than the shortest delay): the default
        # action, allowed only while no run row had been written yet.
        [ "$(sql "SELECT count(*) FROM runs")" = "$runs_before" ] ||
            fail "$1: killed by SIGINT (exit 130) after a run row was written"
    elif [ "$sig" = INT ]; then
        [ $st = 1 ] || fail "$1: exit $st after SIGINT, want 1"
        [ "$running" = "$running_before" ] || fail "$1: SIGINT left a run 'running'"
    fi
    [ "$complete" = "$expect_complete" ] ||
        fail "$1: $complete complete runs, want $expect_complete (exit $st, signal $sig at ${ms} ms)"
    running_before=$running
    runs_before=$(sql "SELECT count(*) FROM runs")
}
pick_sig() { if [ $((RANDOM % 2)) = 0 ]; then sig=KILL; else sig=INT; fi; }
# The database exists before the first kill (a kill before thaw creates
# it would leave no tables to count): one short complete run.
"$THAW" sim tests/e2e/data/long.yaml --set run.duration=1s --db "$db" --quiet >"$tmp/out" 2>&1 ||
    fail "the first short run exited $?"
expect_complete=1
running_before=0
runs_before=1

# 1. sim: a run of minutes, killed in its first 0.6 s (opening, writing
# rows in bursts, or summarising).
for i in 1 2 3 4 5 6 7 8; do
    pick_sig
    ms=$((20 + RANDOM % 600))
    kill_at $sig $ms "$THAW" sim tests/e2e/data/long.yaml --db "$db" --quiet
    check "sim kill $i"
done

# 2. exec: a 1 s scenario on the host backend (weights written first, so a
# kill lands in the run itself, not in writing them).
cat > "$tmp/e.yaml" <<'YAML'
cluster:
  nodes:
    - {name: n0, gpus: 2, vram: 64MiB, h2d: 10GB/s, storage_read: 1GB/s,
       shm: {size: 64MiB, read: 8GB/s, write: 2GB/s}, cpu_cores: 2}
models:
  - {name: a, weights: 8MiB, priority: critical}
  - {name: b, weights: 8MiB, preload_to_shm: true}
  - {name: c, weights: 4MiB}
workload:
  - {model: a, arrivals: {poisson: 20/s}, service: 5ms}
  - {model: b, arrivals: {poisson: 10/s}, service: 5ms}
  - {model: c, arrivals: {bursts: [{at: 200ms, count: 3}]}, service: 5ms}
faults:
  - {gpu: n0/gpu1, at: 400ms, recover_after: 300ms}
policy: {shm: preload}
run: {duration: 1s, seed: 3}
YAML
"$THAW" weights gen "$tmp/e.yaml" --dir "$tmp/w" >/dev/null || fail "weights gen"
for i in 1 2 3 4 5 6 7 8; do
    pick_sig
    ms=$((20 + RANDOM % 900))
    kill_at $sig $ms "$THAW" exec "$tmp/e.yaml" --db "$db" --weights-dir "$tmp/w" \
        --shm-dir "$shm" --backend host --quiet
    check "exec kill $i"
done

# 3. sweep: 4 points of the long scenario on 2 threads, killed 8 times (each
# time resuming what is there); then --resume over a short copy finishes it.
sed 's/duration: 100h/duration: 20s/' tests/e2e/data/long.yaml >"$tmp/short.yaml"
cp tests/e2e/data/long.yaml "$tmp/s.yaml"
sweep=("$THAW" sweep "$tmp/s.yaml" --set 'models[0].count=1,2' --seeds 1-2 --jobs 2
    --sweep-id k --db "$db" --quiet)
for i in 1 2 3 4 5 6 7 8; do
    pick_sig
    ms=$((20 + RANDOM % 700))
    if [ $i = 1 ]; then kill_at $sig $ms "${sweep[@]}"; else kill_at $sig $ms "${sweep[@]}" --resume; fi
    check "sweep kill $i" 4
done
[ "$(sql "SELECT count(*) FROM runs WHERE sweep_id = 'k' AND status = 'complete'")" = 0 ] ||
    fail "a killed sweep point of 100 h is 'complete'"
cp "$tmp/short.yaml" "$tmp/s.yaml"
"${sweep[@]}" --resume >"$tmp/out" 2>&1 || fail "sweep --resume exited $?"
[ "$(sql "SELECT count(*) FROM runs WHERE sweep_id = 'k' AND status = 'complete'")" = 4 ] ||
    fail "--resume did not complete the 4 points"
[ "$(sql "SELECT count(DISTINCT params || '|' || seed) FROM runs WHERE sweep_id = 'k' AND status = 'complete'")" = 4 ] ||
    fail "--resume ran a point twice"
[ "$(sql "PRAGMA integrity_check")" = ok ] || fail "integrity check after --resume"
[ $kills -ge 20 ] || fail "only $kills kills"

# 4. Two writers, one new database, at once: both runs complete, each with
# every request row its summary counts.
db=$tmp/two.db
"$THAW" sim "$tmp/short.yaml" --db "$db" --quiet >"$tmp/out1" 2>&1 &
p1=$!
"$THAW" sim "$tmp/short.yaml" --db "$db" --set run.seed=2 --quiet >"$tmp/out2" 2>&1 &
p2=$!
wait $p1 || { cat "$tmp/out1"; fail "writer 1 exited $?"; }
wait $p2 || { cat "$tmp/out2"; fail "writer 2 exited $?"; }
[ "$(sql "SELECT count(*) FROM runs WHERE status = 'complete'")" = 2 ] || fail "two writers: not 2 complete runs"
lost=$(sql "SELECT count(*) FROM runs r JOIN metrics m ON m.run = r.id AND m.name = 'requests_arrived'
            WHERE m.value != (SELECT count(*) FROM requests q WHERE q.run = r.id)")
[ "$lost" = 0 ] || fail "two writers: a run lost request rows"
[ "$(sql "PRAGMA integrity_check")" = ok ] || fail "two writers: integrity check"
echo "ok: $kills kills (seed $seed), no false complete, sweep resumed once per point, two writers whole"

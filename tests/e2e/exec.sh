#!/bin/bash
# exec.sh - `thaw exec` end to end on the host backend, on a scenario of a
# few tens of MiB in a temporary folder: a run that loads real files and
# serves real requests, is recorded complete and shows in `thaw report`
# beside a `thaw sim` run of the same scenario; `thaw replay` finds the same
# decisions; weight files are reused; SIGINT mid-run leaves a sound database
# with the run 'interrupted' and no shm file behind; usage errors exit 2.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/thaw-e2e-exec-XXXXXX)
shm=$(mktemp -d /dev/shm/thaw-e2e-exec-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
sql() { sqlite3 "$db" "$1"; }

# Two GPUs of 64 MiB; three models of 16-24 MiB (17.6-26.4 MiB in VRAM), so
# a GPU holds two at most; b is preloaded into shm; gpu1 fails at 1 s.
cat > "$tmp/s.yaml" <<'EOF'
cluster:
  nodes:
    - name: n0
      gpus: 2
      vram: 64MiB
      h2d: 10GB/s
      storage_read: 1GB/s
      shm: {size: 128MiB, read: 8GB/s, write: 2GB/s}
      cpu_cores: 2
      init: 50ms
      warmup: 50ms
models:
  - {name: a, weights: 24MiB, priority: critical, replicas: {min: 1, max: 1}}
  - {name: b, weights: 16MiB, priority: high, preload_to_shm: true}
  - {name: c, weights: 16MiB}
workload:
  - {model: a, arrivals: {poisson: 5/s, start: 0s, end: 2500ms}, service: 20ms}
  - {model: b, arrivals: {times: [300ms, 1500ms, 2200ms]}, service: 30ms}
  - {model: c, arrivals: {bursts: [{at: 600ms, count: 3}]}, service: 10ms}
faults:
  - {gpu: n0/gpu1, at: 1s, recover_after: 1s}
policy:
  queue: priority
  shm: preload
run:
  duration: 3s
  seed: 5
EOF
common=(--db "$db" --weights-dir "$tmp/w" --shm-dir "$shm" --backend host)

# 1. A complete run that writes the weight files first.
"$THAW" exec "$tmp/s.yaml" "${common[@]}" >"$tmp/out" 2>&1 || fail "thaw exec exited $?"
grep -q '^backend: host' "$tmp/out" || fail "the chosen backend is not printed"
grep -q '^weights: wrote 3 synthetic files' "$tmp/out" || fail "weights were not generated"
grep -q '^run 1: complete' "$tmp/out" || fail "run 1 is not complete"
for m in a:25165824 b:16777216 c:16777216; do
    size=$(stat -c %s "$tmp/w/${m%%:*}.bin") || fail "no weight file for ${m%%:*}"
    [ "$size" = "${m#*:}" ] || fail "${m%%:*}.bin has $size bytes, expected ${m#*:}"
done
[ "$(sql "SELECT mode || '/' || backend || '/' || status FROM runs WHERE id=1")" = exec/host/complete ] ||
    fail "runs row of run 1: $(sql 'SELECT mode, backend, status FROM runs WHERE id=1')"
[ "$(sql "SELECT count(*) FROM loads WHERE run=1 AND outcome='ok'")" -ge 3 ] || fail "fewer than 3 loads ok"
[ "$(sql "SELECT count(*) FROM loads WHERE run=1 AND model='b' AND source='shm' AND outcome='ok'")" -ge 1 ] ||
    fail "b never loaded from shm"
[ "$(sql "SELECT count(*) FROM requests WHERE run=1 AND finished IS NOT NULL")" -ge 5 ] ||
    fail "fewer than 5 requests served"
[ "$(sql "SELECT count(*) FROM faults WHERE run=1")" = 1 ] || fail "the fault is not recorded"
[ -z "$(find "$shm" -type f)" ] || fail "shm files left behind: $(find "$shm" -type f)"

# 2. The same scenario simulated, and both side by side.
"$THAW" sim "$tmp/s.yaml" --db "$db" >"$tmp/out" 2>&1 || fail "thaw sim exited $?"
"$THAW" report --db "$db" 1 2 >"$tmp/out" 2>&1 || fail "thaw report exited $?"
grep -q 'exec/host' "$tmp/out" || fail "report does not show the exec run"
grep -q ' sim ' "$tmp/out" || fail "report does not show the sim run"
grep -q '^cold_start_mean_s' "$tmp/out" || fail "report has no cold-start row"

# 3. Replay: the same events make the same decisions.
"$THAW" replay --db "$db" 1 >"$tmp/out" 2>&1 || fail "thaw replay exited $?"
grep -Eq '^replay: [0-9]+ events, [0-9]+ actions, identical$' "$tmp/out" || fail "replay output"

# 4. The weight files are reused by a second run (same sizes).
# stdout only: a load cut by the GPU fault (a busy host, time scale 3) is
# said on stderr whatever --quiet says.
"$THAW" exec "$tmp/s.yaml" "${common[@]}" --time-scale 3 --quiet >"$tmp/out" 2>"$tmp/err" ||
    fail "second thaw exec exited $?"
grep -q 'weights: wrote' "$tmp/out" "$tmp/err" && fail "weights were written again"
[ "$(cat "$tmp/out")" = 3 ] || fail "--quiet should print only the run id (3)"

# 5. SIGINT mid-run: a clean stop, a sound database, no 'complete', no shm file.
"$THAW" exec "$tmp/s.yaml" "${common[@]}" --set run.duration=60s >"$tmp/out" 2>&1 &
pid=$!
sleep 1.5
kill -INT "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "thaw exec did not stop within 10 s of SIGINT"; }
wait "$pid"
rc=$?
[ "$rc" = 1 ] || fail "interrupted thaw exec exited $rc, expected 1"
[ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "integrity_check: $(sql 'PRAGMA integrity_check')"
[ "$(sql 'SELECT status FROM runs WHERE id=4')" = interrupted ] ||
    fail "run 4 is '$(sql 'SELECT status FROM runs WHERE id=4')', expected interrupted"
[ "$(sql "SELECT count(*) FROM loads WHERE run=4 AND outcome NOT IN ('ok','failed','cancelled','in_flight','queued')")" = 0 ] ||
    fail "a load row of run 4 has no outcome"
[ -z "$(find "$shm" -type f)" ] || fail "shm files left after SIGINT: $(find "$shm" -type f)"

# 6. Usage errors exit 2.
"$THAW" exec "$tmp/s.yaml" --backend bogus >/dev/null 2>&1; [ $? = 2 ] || fail "--backend bogus"
"$THAW" exec "$tmp/s.yaml" --time-scale 0 >/dev/null 2>&1; [ $? = 2 ] || fail "--time-scale 0"
"$THAW" exec >/dev/null 2>&1; [ $? = 2 ] || fail "no scenario"
"$THAW" replay >/dev/null 2>&1; [ $? = 2 ] || fail "replay without a run"
echo "ok: exec, report beside sim, replay, reuse, SIGINT, usage"

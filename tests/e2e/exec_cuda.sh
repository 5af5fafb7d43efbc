#!/bin/bash
# exec_cuda.sh - `thaw exec --backend cuda` end to end on a real GPU: weights
# copied through pinned staging buffers on streams, checksummed by a kernel
# on the device, requests run as kernels; the run completes and replays
# identically. Skipped (exit 77, with the reason) when no CUDA device answers.
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/thaw-e2e-cuda-XXXXXX)
shm=$(mktemp -d /dev/shm/thaw-e2e-cuda-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db

# One GPU capped at 256 MiB (whatever the card holds), two models that fit
# together, one preloaded into shm, a short Poisson stream on each.
cat > "$tmp/s.yaml" <<'EOF'
cluster:
  nodes:
    - name: n0
      gpus: 1
      vram: 256MiB
      h2d: 25GB/s
      storage_read: 2GB/s
      shm: {size: 256MiB, read: 10GB/s, write: 2GB/s}
      cpu_cores: 2
models:
  - {name: big, weights: 96MiB, preload_to_shm: true}
  - {name: small, weights: 32MiB}
workload:
  - {model: big, arrivals: {poisson: 10/s, start: 200ms, end: 1500ms}, service: 5ms}
  - {model: small, arrivals: {poisson: 10/s, start: 0s, end: 1500ms}, service: 5ms}
policy:
  shm: preload
run:
  duration: 2s
  seed: 11
EOF
"$THAW" exec "$tmp/s.yaml" --backend cuda --db "$db" --weights-dir "$tmp/w" --shm-dir "$shm" \
    >"$tmp/out" 2>&1
rc=$?
if [ $rc != 0 ] && grep -q 'cuda backend requested but' "$tmp/out"; then
    echo "skipped: $(grep -o 'cuda backend requested but.*' "$tmp/out" | head -1)"
    exit 77
fi
[ $rc = 0 ] || fail "thaw exec --backend cuda exited $rc"
grep -q '^backend: cuda' "$tmp/out" || fail "backend is not cuda"
[ "$(sqlite3 "$db" "SELECT backend || '/' || status FROM runs WHERE id=1")" = cuda/complete ] ||
    fail "run 1 is not a complete cuda run"
# Every load verified on the device (a failed checksum is outcome 'failed').
[ "$(sqlite3 "$db" "SELECT count(*) FROM loads WHERE run=1 AND outcome='failed'")" = 0 ] ||
    fail "a load failed on the device"
[ "$(sqlite3 "$db" "SELECT count(*) FROM loads WHERE run=1 AND outcome='ok'")" -ge 2 ] ||
    fail "fewer than 2 loads ok"
[ "$(sqlite3 "$db" "SELECT count(*) FROM requests WHERE run=1 AND finished IS NOT NULL")" -ge 10 ] ||
    fail "fewer than 10 requests served"
sed -n 's/^  from /from /p' "$tmp/out"
"$THAW" replay --db "$db" 1 >"$tmp/out" 2>&1 || fail "replay exited $?"
grep -q 'identical$' "$tmp/out" || fail "replay differs"
"$THAW" exec "$tmp/s.yaml" --backend cuda --weights-dir "$tmp/w" --shm-dir "$shm" --bench \
    >"$tmp/out" 2>&1 || fail "--bench exited $?"
cat "$tmp/out"
echo "ok: cuda run complete, loads verified on the device, replay identical"

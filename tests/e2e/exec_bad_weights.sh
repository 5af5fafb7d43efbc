#!/bin/bash
# exec_bad_weights.sh - a malformed weight file's defect reaches the operator:
# `thaw exec` on a scenario with one good synthetic model, one whose file has
# a byte flipped after it was written (checksum mismatch at load time) and a
# safetensors model whose header points outside its data section. The run
# completes; the good model loads; each bad model's loads fail, and the
# defect is both printed at the end of the run (stderr) and stored in the
# load's row (loads.error).
set -u
THAW=${THAW:?THAW must name the thaw binary}
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 command is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-badw-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/out "$tmp"/err; do [ -f "$f" ] && sed 's/^/  | /' "$f"; done; exit 1; }
# A safetensors file: 8-byte little-endian header length, header, data. Its
# tensor claims bytes 0..8 of a 4-byte data section.
hdr='{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}'
{ printf "\\x$(printf %02x ${#hdr})\\x00\\x00\\x00\\x00\\x00\\x00\\x00"; printf '%s' "$hdr"; printf 'abcd'; } \
    >"$tmp/st.safetensors"
cat >"$tmp/s.yaml" <<'YAML'
cluster:
  nodes:
    - {name: n0, gpus: 1, vram: 64MiB, h2d: 10GB/s, storage_read: 1GB/s, cpu_cores: 2}
models:
  - {name: good, weights: 4MiB}
  - {name: flip, weights: 4MiB}
  - {name: st, weights: 4B, path: st.safetensors}
workload:
  - {model: good, arrivals: {times: [100ms]}, service: 10ms}
  - {model: flip, arrivals: {times: [100ms]}, service: 10ms}
  - {model: st, arrivals: {times: [100ms]}, service: 10ms}
run:
  duration: 2s
YAML
db=$tmp/t.db
"$THAW" exec "$tmp/s.yaml" --db "$db" --weights-dir "$tmp/w" --backend host --quiet >/dev/null 2>&1
# exec wrote flip.bin (and good.bin); flip one byte of it and run again.
[ -f "$tmp/w/flip.bin" ] || fail "no synthetic flip.bin written"
printf 'X' | dd of="$tmp/w/flip.bin" bs=1 seek=4096 conv=notrunc status=none
rm -f "$db"
"$THAW" exec "$tmp/s.yaml" --db "$db" --weights-dir "$tmp/w" --backend host --quiet \
    >"$tmp/out" 2>"$tmp/err" || fail "thaw exec exited $?"
sql() { sqlite3 "$db" "$1"; }
[ "$(sql "SELECT status FROM runs")" = complete ] || fail "the run is not complete"
[ "$(sql "SELECT count(*) FROM loads WHERE model = 'good' AND outcome = 'ok'")" -ge 1 ] ||
    fail "the good model did not load"
[ "$(sql "SELECT count(*) FROM loads WHERE model = 'flip' AND outcome = 'failed' AND
          error LIKE '%flip.bin%checksum mismatch%'")" -ge 1 ] || fail "flip's defect is not in its row"
[ "$(sql "SELECT count(*) FROM loads WHERE model = 'st' AND outcome = 'failed' AND
          error LIKE '%st.safetensors%outside the data section%'")" -ge 1 ] ||
    fail "st's defect is not in its row: $(sql "SELECT error FROM loads WHERE model = 'st'")"
grep -Eq '^thaw exec: load [0-9]+ of flip on n0/gpu0 failed at [0-9.]+ s: .*flip\.bin.*checksum mismatch' \
    "$tmp/err" || fail "flip's defect is not printed"
grep -Eq '^thaw exec: load [0-9]+ of st on n0/gpu0 failed at [0-9.]+ s: .*st\.safetensors.*outside the data section' \
    "$tmp/err" || fail "st's defect is not printed"
echo "ok: a corrupt and a malformed weight file: the run completes, each defect printed and in its row"

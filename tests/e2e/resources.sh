#!/usr/bin/env bash
# resources.sh - work that cannot fit this host is refused before it starts:
# `thaw weights gen` and `thaw exec` on a scenario with 1024 TiB of weights
# (far larger than any disk here) exit 1 naming the bytes needed and free,
# and write nothing (no weights folder, no database); `thaw exec` of a
# scenario whose emulated VRAM (host backend) exceeds MemAvailable exits 1
# naming both.
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
tmp=$(mktemp -d /tmp/thaw-e2e-res.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$tmp/disk.yaml" <<YAML
cluster:
  nodes:
    - {name: host, gpus: 1, vram: 2048TiB, h2d: 12GB/s, storage_read: 1GB/s}
models:
  - {name: small, weights: 1MiB}
  - {name: huge, weights: 1024TiB}
YAML
out=$("$THAW" weights gen "$tmp/disk.yaml" --dir "$tmp/w" 2>&1); rc=$?
[ $rc = 1 ] || fail "weights gen: exit $rc, expected 1: $out"
echo "$out" | grep -q "need 1125899907891200 bytes" || fail "weights gen does not name the need: $out"
echo "$out" | grep -q "bytes (.* GiB) free" || fail "weights gen does not name the free space: $out"
[ ! -e "$tmp/w" ] || fail "weights gen wrote $(ls "$tmp/w")"

out=$("$THAW" exec "$tmp/disk.yaml" --backend host --weights-dir "$tmp/w" --db "$tmp/x.db" 2>&1); rc=$?
[ $rc = 1 ] || fail "exec: exit $rc, expected 1: $out"
[ ! -e "$tmp/w" ] || fail "exec wrote weights"
[ ! -e "$tmp/x.db" ] || fail "exec created the database"

cat > "$tmp/mem.yaml" <<YAML
cluster:
  nodes:
    - {name: host, gpus: 1, vram: 64TiB, h2d: 12GB/s, storage_read: 1GB/s}
models:
  - {name: m, weights: 1MiB, vram: 32TiB}
YAML
out=$("$THAW" exec "$tmp/mem.yaml" --backend host --weights-dir "$tmp/w" --db "$tmp/x.db" 2>&1); rc=$?
[ $rc = 1 ] || fail "exec (memory): exit $rc, expected 1: $out"
echo "$out" | grep -q "host memory: the run may hold 35184372088832 bytes" || fail "exec does not name the memory need: $out"
echo "$out" | grep -q "available (MemAvailable)" || fail "exec does not name MemAvailable: $out"
[ ! -e "$tmp/x.db" ] || fail "exec created the database"
echo "ok"

#!/usr/bin/env bash
# weights.sh - `thaw weights gen|check` end to end: synthetic files of each
# model's exact size, kept when right and rewritten with --force; check
# --verify passes on them and fails, naming the file, after one byte is
# flipped; a safetensors model is validated, and a malformed one fails with
# its defect; usage errors exit 2. (`thaw weights bench` is too slow for the
# suite: it moves gigabytes.)
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
"$THAW" weights --help > /dev/null 2>&1 || { echo "skipped: thaw has no weights command yet"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-weights.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A safetensors file: 8-byte little-endian header length, header, data.
write_st() { # path header data
    local n=${#2}
    { printf "\\x$(printf %02x "$n")\\x00\\x00\\x00\\x00\\x00\\x00\\x00"; printf '%s' "$2"; printf '%s' "$3"; } > "$1"
}
write_st "$tmp/st.safetensors" '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}' 'abcd'

cat > "$tmp/s.yaml" <<YAML
cluster:
  nodes:
    - {name: host, gpus: 1, vram: 64MiB, h2d: 12GB/s, storage_read: 1GB/s}
models:
  - {name: alpha, weights: 1MiB}
  - {name: beta, weights: 300001B}
  - {name: st, weights: 4B, path: st.safetensors}
YAML

out=$("$THAW" weights gen "$tmp/s.yaml" --dir "$tmp/w") || fail "gen failed: $out"
# Exact sizes: 1MiB = 1048576 bytes; 300001 bytes as written.
[ "$(stat -c %s "$tmp/w/alpha.bin")" = 1048576 ] || fail "alpha.bin has the wrong size"
[ "$(stat -c %s "$tmp/w/beta.bin")" = 300001 ] || fail "beta.bin has the wrong size"
echo "$out" | grep -q "$tmp/w/alpha.bin  1048576 bytes" || fail "gen does not print path and size: $out"
echo "$out" | grep -q "st .*valid" || fail "gen does not validate the safetensors model: $out"

out=$("$THAW" weights gen "$tmp/s.yaml" --dir "$tmp/w") || fail "second gen failed"
echo "$out" | grep -q "alpha.*kept" || fail "a right-sized file was not kept: $out"
out=$("$THAW" weights gen "$tmp/s.yaml" --dir "$tmp/w" --force) || fail "gen --force failed"
echo "$out" | grep -q "alpha.*written" || fail "--force did not rewrite: $out"

"$THAW" weights check "$tmp/s.yaml" --dir "$tmp/w" --verify > "$tmp/check.out" 2>&1 ||
    fail "check --verify failed on fresh files: $(cat "$tmp/check.out")"
grep -q "beta.*checksum ok" "$tmp/check.out" || fail "check did not verify beta"

# One flipped byte: same size, so only --verify sees it.
printf '\x00' | dd of="$tmp/w/beta.bin" bs=1 seek=12345 conv=notrunc status=none
printf '\xff' | dd of="$tmp/w/beta.bin" bs=1 seek=12346 conv=notrunc status=none
"$THAW" weights check "$tmp/s.yaml" --dir "$tmp/w" > /dev/null 2>&1 || fail "check without --verify failed"
"$THAW" weights check "$tmp/s.yaml" --dir "$tmp/w" --verify > "$tmp/check.out" 2>&1
[ $? = 1 ] || fail "check --verify passed a corrupt file"
grep -q "beta.bin: checksum .*corrupt" "$tmp/check.out" || fail "no corrupt message: $(cat "$tmp/check.out")"

# A missing file, and a malformed safetensors file (range outside the data).
rm "$tmp/w/alpha.bin"
"$THAW" weights check "$tmp/s.yaml" --dir "$tmp/w" > "$tmp/check.out" 2>&1
[ $? = 1 ] || fail "check passed a missing file"
grep -q "alpha.bin is missing" "$tmp/check.out" || fail "missing file not named"
write_st "$tmp/st.safetensors" '{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}' 'abcd'
"$THAW" weights gen "$tmp/s.yaml" --dir "$tmp/w" > "$tmp/gen.out" 2>&1
[ $? = 1 ] || fail "gen passed a malformed safetensors file"
grep -q "st.safetensors.*outside the data section" "$tmp/gen.out" || fail "defect not named: $(cat "$tmp/gen.out")"

# Usage errors exit 2.
"$THAW" weights > /dev/null 2>&1; [ $? = 2 ] || fail "no subcommand is not a usage error"
"$THAW" weights frob > /dev/null 2>&1; [ $? = 2 ] || fail "an unknown subcommand is not a usage error"
"$THAW" weights bench --size lots > /dev/null 2>&1; [ $? = 2 ] || fail "--size lots is not a usage error"
"$THAW" weights gen > /dev/null 2>&1; [ $? = 2 ] || fail "gen without a scenario is not a usage error"
echo "ok"

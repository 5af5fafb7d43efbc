#!/bin/bash
# calibrate_probe.sh - `thaw calibrate --probe` end to end, kept small (base
# size 2 MiB, one run, about 2 s): it runs its own workload through the
# executor (host backend), writes a host profile whose node keys parse as
# bandwidths, and a scenario that includes the profile takes its
# storage_read where it sets none and keeps its own where it does; the
# probe's runs land in --db when asked; bad options are usage errors (2).
set -u
THAW=${THAW:?THAW must name the thaw binary}
tmp=$(mktemp -d /tmp/thaw-e2e-probe-XXXXXX)
shm=$(mktemp -d /dev/shm/thaw-e2e-probe-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }

# 1. The probe, from inside $tmp (its temporary folder lives in the cwd).
( cd "$tmp" && "$THAW" calibrate --probe --backend host --size 2MiB --runs 1 --out prof.yaml \
    --db probe.db --shm-dir "$shm" ) >"$tmp/out" 2>&1 || fail "probe exited $?"
grep -q '^host profile: prof.yaml' "$tmp/out" || fail "no 'host profile' line"
[ -f "$tmp/prof.yaml" ] || fail "no profile written"
ls -d "$tmp"/.thaw-probe-* >/dev/null 2>&1 && fail "the probe's temporary folder was left behind"
grep -Eq '^node:$' "$tmp/prof.yaml" || fail "profile has no node: mapping"
bw=$(sed -n 's/^  storage_read: \([0-9]*\)MB\/s$/\1/p' "$tmp/prof.yaml")
[ -n "$bw" ] && [ "$bw" -gt 0 ] || fail "profile has no storage_read in MB/s"
grep -Eq '^    read: [0-9]+MB/s$' "$tmp/prof.yaml" || fail "profile has no shm read"
# One run of 21 arrivals that each load (6 alone + 2 + 3 + 4 + 2 + 4); on a
# slow (sanitizer, loaded) host an arrival may find its model still loaded
# from the slot before, so at least the 6 lone ones and 6 more, none failed.
n=$(sqlite3 "$tmp/probe.db" "select count(*) from loads where outcome = 'ok'")
[ "$n" -ge 12 ] && [ "$n" -le 21 ] || fail "probe run has $n ok loads, expected 12-21"
nf=$(sqlite3 "$tmp/probe.db" "select count(*) from loads where outcome = 'failed'")
[ "$nf" = 0 ] || fail "probe run has $nf failed loads"

# 2. A scenario including it: node a (no storage_read) takes the profile's,
# node b keeps its own 1GB/s = 1000MB/s.
cat >"$tmp/sc.yaml" <<'YAML'
include: prof.yaml
cluster:
  nodes:
    - {name: a, gpus: 1, vram: 1GiB, h2d: 12GB/s, shm: {size: 1GiB, write: 1GB/s}}
    - {name: b, gpus: 1, vram: 1GiB, h2d: 12GB/s, storage_read: 1GB/s}
models:
  - {name: m, weights: 100MiB}
YAML
"$THAW" check "$tmp/sc.yaml" >"$tmp/out" 2>&1 || fail "check of the including scenario exited $?"
# What check prints for ${bw}MB/s written in the scenario itself.
sed -e '/^include:/d' -e "s/name: a, /name: a, storage_read: ${bw}MB\/s, /" \
    -e "s/size: 1GiB, write/size: 1GiB, read: 1GB\/s, write/" "$tmp/sc.yaml" >"$tmp/own.yaml"
"$THAW" check "$tmp/own.yaml" >"$tmp/own.out" 2>&1 || fail "check of own.yaml exited $?"
want=$(grep -o 'node a: .*storage_read [^,]*' "$tmp/own.out")
[ -n "$want" ] || fail "own.yaml: no storage_read for node a"
grep -qF "$want" "$tmp/out" || fail "node a did not take the profile's ${bw}MB/s ($want)"
grep -q "node b: .*storage_read 1GB/s" "$tmp/out" || fail "node b lost its own storage_read"

# 3. Usage errors.
"$THAW" calibrate --probe --runs 0 >"$tmp/out" 2>&1
[ $? = 2 ] || fail "--runs 0 is not a usage error"
"$THAW" calibrate --probe --size 10KiB >"$tmp/out" 2>&1
[ $? = 2 ] || fail "--size 10KiB is not a usage error"
"$THAW" calibrate --probe --bogus x >"$tmp/out" 2>&1
[ $? = 2 ] || fail "an unknown option is not a usage error"
echo ok

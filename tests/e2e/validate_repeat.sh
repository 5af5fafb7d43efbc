#!/bin/bash
# validate_repeat.sh - `thaw validate --repeat N`: with one exec run of a
# scenario (no repeats: no noise floor), --repeat 2 runs it twice more with
# the same seed, overrides, backend and time scale, after which the noise
# floor is measured over 3 runs; the repeats are recorded in the database
# as exec runs of the same scenario, seed and overrides; bad values exit 2.
# A tiny scenario (3 models of 2-6 MiB, 2 scenario s at --time-scale 2):
# about 1 s per run.
set -u
THAW=${THAW:?THAW must name the thaw binary}
tmp=$(mktemp -d /tmp/thaw-e2e-vrep-XXXXXX)
shm=$(mktemp -d /dev/shm/thaw-e2e-vrep-XXXXXX 2>/dev/null) || { shm=$tmp/shm; mkdir -p "$shm"; }
trap 'rm -rf "$tmp" "$shm"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }
db=$tmp/t.db
cat >"$tmp/sc.yaml" <<'YAML'
cluster:
  nodes:
    - {name: host, gpus: 1, vram: 8MiB, h2d: 12GB/s, storage_read: 1GB/s, cpu_cores: 2}
models:
  - {name: a, weights: 2MiB}
  - {name: b, weights: 4MiB}
  - {name: c, weights: 6MiB}
workload:
  - {model: a, arrivals: {times: [100ms, 1s]}, service: 20ms}
  - {model: b, arrivals: {times: [400ms, 1300ms]}, service: 20ms}
  - {model: c, arrivals: {times: [700ms, 1600ms]}, service: 20ms}
run: {duration: 2s, seed: 5}
YAML
ex=("$tmp/sc.yaml" --db "$db" --weights-dir "$tmp/w" --shm-dir "$shm" --backend host)
"$THAW" exec "${ex[@]}" --time-scale 2 --set 'models[0].priority=high' --quiet >"$tmp/out" 2>&1 ||
    fail "thaw exec exited $?"
"$THAW" sim "$tmp/sc.yaml" --db "$db" --set 'models[0].priority=high' >"$tmp/out" 2>&1 ||
    fail "thaw sim exited $?"

"$THAW" validate --db "$db" >"$tmp/out" 2>&1 || fail "validate exited $?"
grep -q '^noise floor: - (one exec run' "$tmp/out" || fail "a noise floor from one run"

"$THAW" validate --db "$db" 1 --repeat 2 --weights-dir "$tmp/w" --shm-dir "$shm" >"$tmp/out" 2>&1 ||
    fail "validate --repeat 2 exited $?"
grep -q '^repeating exec run 1 2 times (.*seed 5, host backend, --time-scale 2)' "$tmp/out" ||
    fail "no 'repeating' line"
grep -q '^  repeat 2: run 4, complete' "$tmp/out" || fail "the second repeat is not run 4"
grep -q '^noise floor: 3 exec runs of this scenario' "$tmp/out" || fail "no noise floor over 3 runs"
grep -Eq '^the median per-load error [0-9.]+% is (within|above) the noise floor' "$tmp/out" ||
    fail "no within/above line"
# The repeats: exec runs 3 and 4 with run 1's seed and overrides.
rows=$(sqlite3 "$db" "select id || ' ' || mode || ' ' || seed || ' ' || overrides from runs
                      where id in (3, 4) order by id")
[ "$rows" = "3 exec 5 models[0].priority=high
4 exec 5 models[0].priority=high" ] || fail "repeat rows: $rows"

"$THAW" validate --db "$db" --repeat 0 >"$tmp/out" 2>&1
[ $? = 2 ] || fail "--repeat 0 is not a usage error"
"$THAW" validate --db "$db" --repeat >"$tmp/out" 2>&1
[ $? = 2 ] || fail "--repeat without a value is not a usage error"
echo ok

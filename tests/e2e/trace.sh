#!/bin/bash
# trace.sh - traces end to end: `thaw sim` runs the reference scenario
# scenarios/functions-day.yaml (50 functions of an Azure Functions day, one
# per model, by rank) and serves all 44,641 requests of its trace (the sum of
# the file's per-minute counts, which `thaw trace stats` reports too);
# `thaw check` names a malformed trace line as trace-file:line:col;
# `thaw trace` usage errors exit 2.
set -u
THAW=${THAW:?THAW must name the thaw binary}
tmp=$(mktemp -d /tmp/thaw-e2e-trace-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out"; exit 1; }

"$THAW" trace stats scenarios/traces/functions-day.csv --format azure-functions >"$tmp/out" 2>&1 ||
  fail "trace stats exited $?"
grep -q '^data lines: 50, requests: 44641$' "$tmp/out" || fail "trace stats: lines and requests"
grep -q '^distinct ids: 50$' "$tmp/out" || fail "trace stats: distinct ids"

"$THAW" sim scenarios/functions-day.yaml --db "$tmp/t.db" >"$tmp/out" 2>&1 || fail "sim exited $?"
grep -Eq '^requests_served +44641$' "$tmp/out" || fail "every request of the trace served"
grep -Eq '^requests_unserved +0$' "$tmp/out" || fail "no request unserved"

# A malformed line: reported at the scenario's trace key, naming the trace's
# own line and column (line 3, "1x0" starts at byte 29).
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,374,44\r\n2023-11-16 18:15:47.0000000,1x0,10\r\n' >"$tmp/llm.csv"
cat >"$tmp/s.yaml" <<YAML
cluster:
  nodes:
    - {name: n, gpus: 1, vram: 80GiB, h2d: 25GB/s, storage_read: 2GB/s}
models:
  - {name: m, weights: 1GiB}
workload:
  - model: m
    arrivals: {trace: {file: llm.csv, format: azure-llm}}
    service: 10ms
YAML
"$THAW" check "$tmp/s.yaml" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "check of a malformed trace exited $rc, want 1"
grep -q "s.yaml:8:.*llm.csv:3:29: expected a token count" "$tmp/out" || fail "check names file:line:col"

"$THAW" trace >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "trace without stats: usage error"
"$THAW" trace stats "$tmp/llm.csv" --format nope >"$tmp/out" 2>&1
[ $? -eq 2 ] || fail "unknown format: usage error"
echo "ok"

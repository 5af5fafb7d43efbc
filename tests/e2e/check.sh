#!/usr/bin/env bash
# check.sh - end-to-end test of `thaw check`: the reference scenarios are
# valid (exit 0, a summary), a bad file exits 1 with file:line:col on stderr,
# every bad-corpus file fails, a usage error exits 2, overrides reach the
# loader, and --help / --version answer. Runs from the repository root with
# THAW set to the binary.
set -u
THAW=${THAW:-build/cli/thaw}
if [ ! -x "$THAW" ]; then
    echo "skip: no thaw binary at $THAW"
    exit 77
fi
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_rc() { # WANT DESCRIPTION CMD...
    local want=$1 what=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL: $what: exit $rc, want $want"
        sed 's/^/  stdout: /' "$tmp/out" | head -5
        sed 's/^/  stderr: /' "$tmp/err" | head -5
        fail=1
    fi
}

expect_grep() { # FILE PATTERN DESCRIPTION
    if ! grep -qE -- "$2" "$tmp/$1"; then
        echo "FAIL: $3: $1 lacks /$2/"
        sed "s/^/  $1: /" "$tmp/$1" | head -5
        fail=1
    fi
}

# The reference scenarios are valid and summarized.
expect_rc 0 "check scenarios/*.yaml" "$THAW" check scenarios/*.yaml
expect_grep out '^cluster: 2 nodes, 4 GPUs' "chained summary"
expect_grep out 'lone load from storage: .*30s on backup/gpu0' "chained lone load (2 s + 14GiB / 512MiB/s)"
expect_grep out 'm-0 \.\. m-7 \(8 models\)' "scaling count expansion"
expect_grep out 'max_loads_per_node 1' "policy in effect"
[ -s "$tmp/err" ] && { echo "FAIL: valid scenarios wrote to stderr"; fail=1; }

# Overrides: --set and --policy change what the summary shows.
expect_rc 0 "check with --set" "$THAW" check scenarios/scaling.yaml --set models[0].count=2 \
    --policy queue=priority,max_loads_per_node=1
expect_grep out 'm-0 \.\. m-1 \(2 models\)' "--set models[0].count=2"
expect_grep out 'queue priority' "--policy queue=priority"
expect_grep out 'overrides: models\[0\]\.count=2' "overrides echoed"
expect_rc 1 "bad --set path" "$THAW" check scenarios/scaling.yaml --set models[9].count=2
expect_grep err -- '--set models\[9\]\.count: models has 1 entry' "bad --set path named"

# A bad file: exit 1, every error with file:line:col, and a count.
cat >"$tmp/bad.yaml" <<'YAML'
cluster:
  nodes:
    - {name: n, gpus: 2, vram: 80GiB, h2d: 25GB/s, storage_read: -1GB/s}
models:
  - name: a
    wieghts: 14GiB
policy:
  queue: fast
YAML
expect_rc 1 "check a bad file" "$THAW" check "$tmp/bad.yaml"
expect_grep err "bad\.yaml:3:66: cluster\.nodes\[0\]\.storage_read: .*negative" "negative bandwidth"
expect_grep err "bad\.yaml:6:5: models\[0\]\.wieghts: unknown key 'wieghts'; did you mean 'weights'\?" "typo"
expect_grep err "bad\.yaml:8:10: policy\.queue: expected one of fifo, priority, edf, sjf" "policy name"
expect_grep err "bad\.yaml: 3 errors" "error count"
[ -s "$tmp/out" ] && { echo "FAIL: a bad file printed a summary"; fail=1; }

# A good file and a bad one: the good one is summarized, the status is 1.
expect_rc 1 "good and bad" "$THAW" check scenarios/steady-traffic.yaml "$tmp/bad.yaml"
expect_grep out 'steady-traffic\.yaml' "good file still summarized"

# Every file of the bad corpus fails with exit 1 and a located error.
for f in tests/scenarios/bad/*.yaml; do
    expect_rc 1 "corpus $f" "$THAW" check "$f"
    expect_grep err "$(basename "$f")" "corpus $f names its file"
done

# Usage errors exit 2; help and version exit 0.
expect_rc 2 "no scenario" "$THAW" check
expect_grep err "thaw check: no scenario given" "usage message"
expect_rc 2 "unknown option" "$THAW" check --frobnicate scenarios/scaling.yaml
expect_rc 2 "--set without =" "$THAW" check --set nothing scenarios/scaling.yaml
expect_rc 2 "--set without value" "$THAW" check scenarios/scaling.yaml --set
expect_rc 1 "missing file" "$THAW" check "$tmp/none.yaml"
expect_grep err "none\.yaml: cannot read: No such file or directory" "missing file message"
expect_rc 0 "check --help" "$THAW" check --help
expect_grep out "^usage: thaw check" "check --help text"
expect_rc 0 "help check" "$THAW" help check
expect_grep out "--set KEY=VALUE" "help check text"
expect_rc 0 "--help" "$THAW" --help
expect_grep out "check" "thaw --help lists check"
expect_rc 0 "--version" "$THAW" --version
expect_grep out "^thaw version [0-9]" "version text"

[ "$fail" -eq 0 ] && echo "check.sh: all passed"
exit "$fail"

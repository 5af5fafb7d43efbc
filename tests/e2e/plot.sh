#!/usr/bin/env bash
# plot.sh - `thaw plot` end to end on simulated runs: every chart kind
# becomes a valid PNG (signature, size) at the default path or at -o, SVG
# works, the path is printed; a missing gnuplot, a missing database and an
# unknown chart are clear errors. The validate chart pairs a sim run with a
# copy of it marked as an exec run (real exec runs need weight files).
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
"$THAW" plot --help > /dev/null 2>&1 || { echo "skipped: thaw has no plot command yet"; exit 77; }
"$THAW" sim --help > /dev/null 2>&1 || { echo "skipped: thaw has no sim command yet"; exit 77; }
"$THAW" sweep --help > /dev/null 2>&1 || { echo "skipped: thaw has no sweep command yet"; exit 77; }
command -v gnuplot > /dev/null || { echo "skipped: gnuplot is not installed"; exit 77; }
command -v sqlite3 > /dev/null || { echo "skipped: no sqlite3 shell"; exit 77; }
src=$(pwd)
sc=$src/scenarios/chained-cold-start.yaml
[ -f "$sc" ] || { echo "skipped: $sc is missing"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-plot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A PNG: the 8-byte signature and more than 2 KB (axes, labels, legend).
is_png() {
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || return 1
    [ "$(stat -c %s "$1")" -gt 2048 ]
}

cd "$tmp" || fail "cd"
"$THAW" sim "$sc" --db t.db --quiet > /dev/null || fail "sim fifo"
"$THAW" sim "$sc" --db t.db --policy queue=priority --quiet > /dev/null || fail "sim priority"
# --record loads: the default timeline below is the latest run's, and a
# sweep records summary (no loads rows) by default.
"$THAW" sweep "$src/scenarios/scaling.yaml" --set 'models[0].count=1,2,4' --policy queue=fifo \
    --policy queue=sjf --seeds 1-2 --db t.db --quiet --record loads > sweep.out || fail "sweep"
sweep=$(sed -n 's/^sweep //p' sweep.out)

# Default paths: results/plots/KIND-RUN.png under the current folder.
out=$("$THAW" plot --db t.db timeline 1) || fail "timeline"
[ "$out" = "results/plots/timeline-1.png" ] || fail "timeline path: $out"
is_png "$out" || fail "timeline is not a PNG"
out=$("$THAW" plot --db t.db cdf 1 2) || fail "cdf"
[ "$out" = "results/plots/cdf-1-2.png" ] || fail "cdf path: $out"
is_png "$out" || fail "cdf is not a PNG"
out=$("$THAW" plot --db t.db vram 2) || fail "vram"
is_png "$out" || fail "vram is not a PNG"
out=$("$THAW" plot --db t.db sweep "$sweep" --metric makespan_s) || fail "sweep"
[ "$out" = "results/plots/sweep-$sweep.png" ] || fail "sweep path: $out"
is_png "$out" || fail "sweep is not a PNG"
# The latest sweep by default; the latest run by default.
"$THAW" plot --db t.db sweep -o s2.png > /dev/null || fail "sweep default"
is_png s2.png || fail "default sweep is not a PNG"
"$THAW" plot --db t.db timeline -o latest.png > /dev/null || fail "timeline default"
is_png latest.png || fail "default timeline is not a PNG"

# validate: run 1 copied as an exec run with every load 10% slower.
sqlite3 t.db "INSERT INTO runs (id, uuid, mode, scenario, scenario_sha256, policy, seed, host,
    version, params, started_at, duration_s, status) SELECT 1000, 'e2e-exec', 'exec', scenario,
    scenario_sha256, policy, seed, host, version, '', started_at, duration_s, 'complete'
    FROM runs WHERE id = 1;
    INSERT INTO loads SELECT 1000, load_id, model, instance, gpu, gpu_name, node, source, reason,
    enqueued, started, started + (finished - started) * 1.1, bytes, vram, deadline, outcome,
    error, priority FROM loads WHERE run = 1;" || fail "copying run 1 as an exec run"
out=$("$THAW" plot --db t.db validate 1000 1 -o v.png) || fail "validate"
[ "$out" = "v.png" ] && is_png v.png || fail "validate is not a PNG"

# SVG by extension, into a folder that does not exist yet.
"$THAW" plot --db t.db timeline 2 -o deep/er/t.svg > /dev/null || fail "svg"
grep -q '<svg' deep/er/t.svg || fail "not an SVG"

# Errors: gnuplot missing (exit 1, says so), no database, an unknown chart
# (usage, exit 2), a run that does not exist, an output type gnuplot
# cannot write.
THAW_GNUPLOT=/nonexistent/gnuplot "$THAW" plot --db t.db timeline 1 -o x.png 2> err > /dev/null
[ $? = 1 ] || fail "missing gnuplot did not exit 1"
grep -q 'gnuplot is not installed' err || fail "missing gnuplot message: $(cat err)"
"$THAW" plot --db nope.db timeline > /dev/null 2> err
[ $? = 1 ] && grep -q 'no results database' err || fail "missing db: $(cat err)"
[ ! -e nope.db ] || fail "plot created a database"
"$THAW" plot --db t.db gantt > /dev/null 2>&1
[ $? = 2 ] || fail "unknown chart not a usage error"
"$THAW" plot --db t.db timeline 999 > /dev/null 2> err
[ $? = 1 ] || fail "missing run did not fail"
"$THAW" plot --db t.db timeline 1 -o x.pdf > /dev/null 2>&1
[ $? = 1 ] || fail ".pdf accepted"
echo "ok"

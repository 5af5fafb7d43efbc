#!/usr/bin/env bash
# plot_scale.sh - charts at scale: vram on the 256-GPU reference scenario
# (scenarios/large.yaml, its first 10 s: debug builds check invariants after
# every event, which makes longer runs minutes under ASan) becomes a heatmap
# (a matrix, a row per GPU) and gnuplot draws it; timeline shows the busiest
# GPUs and a row per node (all 32); cluster draws; cdf and sweep with 16
# series (a 16-point sweep) draw with the legend out of the plot; --log and
# long titles do not break gnuplot.
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
command -v gnuplot > /dev/null || { echo "skipped: no gnuplot"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-plotscale.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/t.db

"$THAW" sim scenarios/large.yaml --set run.duration=10s --db "$db" --quiet > /dev/null \
    || fail "sim large"
for kind in vram timeline cluster; do
    "$THAW" plot --db "$db" "$kind" 1 -o "$tmp/$kind.png" --keep-data > "$tmp/$kind.out" 2>&1 \
        || fail "plot $kind: $(cat "$tmp/$kind.out")"
    [ -s "$tmp/$kind.png" ] || fail "no $kind.png"
done
dir=$(sed -n 's/.*data files kept in //p' "$tmp/vram.out" | head -1)
[ -n "$dir" ] && [ -d "$dir" ] || fail "no data folder: $(cat "$tmp/vram.out")"
heat=$(ls "$dir"/*heat* 2> /dev/null | head -1)
[ -n "$heat" ] || fail "no heatmap matrix at 256 GPUs in $dir"
[ "$(wc -l < "$heat")" = 256 ] || fail "heatmap rows: $(wc -l < "$heat")"
rm -rf "$dir"
# timeline: 24 GPU rows, then the 32 nodes; the title says what was left out
dir=$(sed -n 's/.*data files kept in //p' "$tmp/timeline.out" | head -1)
[ -s "$dir/nodes.dat" ] || fail "no node rows at 256 GPUs in $dir"
[ "$(awk '!/^#/ {print $NF}' "$dir/nodes.dat" | sort -u | wc -l)" = 32 ] || fail "not 32 nodes"
rm -rf "$dir"
dir=$(sed -n 's/.*data files kept in //p' "$tmp/cluster.out" | head -1)
[ "$(awk '!/^#/' "$dir/cluster.dat" | wc -l)" -gt 2 ] || fail "cluster.dat holds no steps"
rm -rf "$dir"
"$THAW" plot --db "$db" cluster 1 --log -o "$tmp/clog.svg" > /dev/null 2>&1 || fail "cluster --log"
"$THAW" plot --db "$db" vram 1 --log -o "$tmp/vlog.png" > /dev/null 2>&1 || fail "vram --log"

# 16 series: 4 queues x 2 placements x 2 scale points, one seed
"$THAW" sweep scenarios/failover-standby.yaml --db "$db" --sweep-id s16 --jobs 2 --quiet \
    --set policy.queue=fifo,priority,edf,sjf --set policy.placement=first_fit,locality \
    --set policy.eviction=lru,keep_alive > "$tmp/sweep.out" 2>&1 || fail "sweep: $(cat "$tmp/sweep.out")"
for kind in cdf sweep; do
    "$THAW" plot --db "$db" "$kind" s16 -o "$tmp/$kind.png" > "$tmp/$kind.out" 2>&1 \
        || fail "plot $kind 16 series: $(cat "$tmp/$kind.out")"
    "$THAW" plot --db "$db" "$kind" s16 --log -o "$tmp/${kind}log.svg" > "$tmp/$kind.out" 2>&1 \
        || fail "plot $kind --log: $(cat "$tmp/$kind.out")"
    [ -s "$tmp/$kind.png" ] || fail "no $kind.png"
done
echo "ok"

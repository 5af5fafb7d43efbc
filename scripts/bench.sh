#!/usr/bin/env bash
# bench.sh THAW - what `make bench` runs: the simulator's, the recorder's,
# the trace reader's and the loader's figures beside peers (SimPy 2, a bare C
# heap loop and a plain SQLite insert built from bench/) and this host's own
# limits. Prints; asserts nothing (these
# machines are shared and noisy, so times are reported, never tested).
set -euo pipefail
thaw=${1:-build/cli/thaw}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
build=$(dirname "$(dirname "$thaw")")
dir=$(mktemp -d "${TMPDIR:-/tmp}/thaw-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
requests=${BENCH_REQUESTS:-200000}
tries=${BENCH_TRIES:-3}
simpy_requests=${BENCH_SIMPY_REQUESTS:-50000}
rss() { awk '/Maximum resident/ { printf "%.1f", $NF / 1024 }' "$1"; }

# M/M/c at rho = 0.875 (arrivals 0.875 c/s, exponential 1 s service, c
# instances READY from t = 0, 64 to a GPU), through the whole core with
# summary recording (--no-record: metrics in memory), beside SimPy 2 and a
# bare C heap loop (bench/mmc_bare.c) doing the same queueing with the same
# draws (xoshiro256**, gsl_ran_exponential's formula). thaw's "wall" is
# sim_run's: set-up (core, world, the in-memory databases), the loop and the
# end-of-run metrics; not the scenario's parsing nor the process start.
# "loop ns/ev" takes the set-up and the end out: the wall of this run less
# that of a run of a quarter of the requests, over the events between them;
# "x bare lp" is it over the bare loop's ns/event (like with like). Each
# time is the least of BENCH_TRIES (3) runs of thaw and of the bare loop.
mmc_yaml() { # C FILE [REQUESTS]
  awk -v c="$1" -v n="${3:-$requests}" 'BEGIN {
    g = int((c + 63) / 64); d = n / (0.875 * c)
    printf "cluster:\n  nodes:\n    - {name: n, gpus: %d, vram: 80GiB, h2d: 25GB/s, storage_read: 2GB/s, cpu_cores: 32}\n", g
    printf "models:\n  - name: m\n    weights: 1GiB\n    replicas: {min: %d, max: %d}\n    placement: [", c, c
    for (i = 0; i < c; i++) printf "%sn/gpu%d", i ? ", " : "", int(i / 64)
    printf "]\nworkload:\n  - model: m\n    arrivals: {poisson: %g/s}\n", 0.875 * c
    printf "    service: {dist: exponential, mean: 1s}\n    concurrency: 1\n"
    printf "policy: {queue: fifo, balancer: least_outstanding, eviction: none}\n"
    printf "run: {duration: %.3fs, seed: 7}\n", d }' >"$2"
}
say "M/M/c, rho 0.875, ~$requests requests: thaw (summary) beside SimPy 2 and a bare C loop"
have_simpy=0
/usr/bin/python3 -c 'import SimPy.Simulation' 2>/dev/null && have_simpy=1
printf '%6s %12s %10s %11s %9s %12s %10s %12s %10s %9s %10s %9s\n' c "thaw req/s" "ns/event" \
  "loop ns/ev" "RSS MiB" "SimPy req/s" "x SimPy" "bare req/s" "ns/event" "x bare" "x bare lp" \
  "RSS bare"
for c in 8 64 512 4096; do
  mmc_yaml "$c" "$dir/mmc-$c.yaml"
  mmc_yaml "$c" "$dir/mmc-$c-q.yaml" $((requests / 4))
  # each timing the least of $tries runs (this host is shared: the least is
  # the one least disturbed); the same run each time, so the same events
  wall= wallq= b_ns=
  for try in $(seq "$tries"); do
    /usr/bin/time -v "$thaw" sim "$dir/mmc-$c.yaml" --no-record >"$dir/out" 2>"$dir/time" ||
      { cat "$dir/out" "$dir/time"; exit 1; }
    read -r ev w < <(awk '/not recorded/ { print $2 + 0, $(NF - 4) + 0 }' "$dir/out")
    wall=$(awk -v a="$wall" -v b="$w" 'BEGIN { print (a == "" || b < a) ? b : a }')
    "$thaw" sim "$dir/mmc-$c-q.yaml" --no-record >"$dir/outq" || { cat "$dir/outq"; exit 1; }
    read -r evq w < <(awk '/not recorded/ { print $2 + 0, $(NF - 4) + 0 }' "$dir/outq")
    wallq=$(awk -v a="$wallq" -v b="$w" 'BEGIN { print (a == "" || b < a) ? b : a }')
    /usr/bin/time -v "$build/bench/mmc_bare" "$c" 0.875 "$requests" 7 >"$dir/bare" 2>"$dir/btime"
    w=$(sed -n 's/.*ns_per_event=\([0-9.]*\).*/\1/p' "$dir/bare")
    b_ns=$(awk -v a="$b_ns" -v b="$w" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  served=$(awk '/^requests_served/ { print $2 }' "$dir/out")
  t_rss=$(rss "$dir/time")
  b_rps=$(awk -v n="$requests" -v ns="$b_ns" 'BEGIN { printf "%.0f", n * 1e9 / (2 * n * ns) }')
  s_rps=nan
  if [ "$have_simpy" = 1 ]; then
    s_rps=$(/usr/bin/python3 bench/mmc_simpy.py "$c" 0.875 "$simpy_requests" 7 |
      sed -n 's/.*req_per_s=\([0-9.]*\).*/\1/p')
  fi
  awk -v c="$c" -v ev="$ev" -v w="$wall" -v evq="$evq" -v wq="$wallq" -v n="$served" -v r="$t_rss" \
    -v s="$s_rps" -v b="$b_rps" -v bn="$b_ns" -v br="$(rss "$dir/btime")" 'BEGIN { t = n / w
    ns = w * 1e9 / ev; loop = ev > evq ? (w - wq) * 1e9 / (ev - evq) : 0
    printf "%6d %12.0f %10.1f %11.1f %9s %12s %9.1fx %12.0f %10.1f %8.2fx %9.2fx %9s\n", c, t, ns,
      loop, r, s == "nan" ? "-" : sprintf("%.0f", s), s == "nan" ? 0 : t / s, b, bn, b / t,
      (bn > 0 ? loop / bn : 0), br }'
  awk -v c="$c" -v ev="$ev" -v w="$wall" -v evq="$evq" -v wq="$wallq" 'BEGIN {
    printf "%d %.1f %.1f\n", c, w * 1e9 / ev, (ev > evq ? (w - wq) * 1e9 / (ev - evq) : 0) }' \
    >>"$dir/per-event"
done
[ "$have_simpy" = 1 ] || echo "(SimPy 2 not found: apt-get install python3-simpy)"
# the whole run (the set-up of c instances included) and the loop alone
awk 'NR == 1 { b = $2; bl = $3 }
  { printf "per-event cost at c=%d: %s ns whole run (%.2fx c=8), %s ns in the loop (%.2fx c=8)\n",
      $1, $2, $2 / b, $3, (bl > 0 ? $3 / bl : 0) }' "$dir/per-event"

# Peak RSS against the run's length: M/M/8 from 10k requests up, at summary
# (--no-record) and with every row (--record all). O(live entities) means
# flat. BENCH_RSS_MAX / BENCH_RSS_ALL_MAX: the largest runs (10M / 1M).
say "peak RSS against requests, M/M/8: summary (--no-record) and --record all"
printf '%10s %14s %10s %14s %10s\n' requests "summary MiB" "wall s" "all MiB" "wall s"
for n in 10000 100000 1000000 10000000; do
  [ "$n" -le "${BENCH_RSS_MAX:-10000000}" ] || continue
  mmc_yaml 8 "$dir/rss.yaml" "$n"
  /usr/bin/time -v "$thaw" sim "$dir/rss.yaml" --no-record >"$dir/out" 2>"$dir/time" ||
    { cat "$dir/out" "$dir/time"; exit 1; }
  s_rss=$(rss "$dir/time") s_wall=$(awk '/Elapsed/ { n = split($NF, a, ":"); print a[n] + 60 * a[n - 1] }' "$dir/time")
  a_rss=- a_wall=-
  if [ "$n" -le "${BENCH_RSS_ALL_MAX:-1000000}" ]; then
    rm -f "$dir/rss.db" "$dir/rss.db-wal" "$dir/rss.db-shm"
    /usr/bin/time -v "$thaw" sim "$dir/rss.yaml" --record all --db "$dir/rss.db" --quiet \
      >"$dir/out" 2>"$dir/time" || { cat "$dir/out" "$dir/time"; exit 1; }
    a_rss=$(rss "$dir/time") a_wall=$(awk '/Elapsed/ { n = split($NF, a, ":"); print a[n] + 60 * a[n - 1] }' "$dir/time")
    rm -f "$dir/rss.db" "$dir/rss.db-wal" "$dir/rss.db-shm"
  fi
  printf '%10d %14s %10s %14s %10s\n' "$n" "$s_rss" "$s_wall" "$a_rss" "$a_wall"
done

say "full recorder (--record all): rows/s beside a plain SQLite bulk insert of the same rows (bench/rows_bare.c)"
"$thaw" sim "$dir/mmc-8.yaml" --record all --db "$dir/rows.db" >"$dir/out" 2>&1 ||
  { cat "$dir/out"; exit 1; }
awk '/rows,/ { for (i = 1; i <= NF; i++) { if ($i == "rows,") r = $(i - 1); if ($i == "wall") w = $(i - 2) }
  printf "thaw sim M/M/8 --record all: %d rows in %.3f s wall (sim included): %.0f rows/s\n", r, w, r / w }' \
  "$dir/out"
"$build/bench/rows_bare" "$dir/rows.db" 1 "$dir/plain.db" | tee "$dir/plain"
# the same rows both ways: thaw's whole run (sim, rows, end-of-run metrics)
# against plain SQLite's insert of them alone
awk '/rows,/ { for (i = 1; i <= NF; i++) if ($i == "wall") print $(i - 2) }' "$dir/out" >"$dir/tw"
awk -v t="$(cat "$dir/tw")" '/plain sqlite/ { for (i = 1; i <= NF; i++) if ($i == "s:") p = $(i - 1)
  printf "thaw whole run / plain SQLite insert of its rows alone: %.2fx\n", t / p }' "$dir/plain"

say "sweep size: 160 runs of a 2 h, 12-model scenario at --record summary (the default)"
cat >"$dir/sweep.yaml" <<'EOF'
cluster:
  nodes:
    - {name: n, count: 2, gpus: 4, vram: 80GiB, h2d: 25GB/s, storage_read: 2GB/s, cpu_cores: 32}
models:
  - {name: m, count: 12, weights: 20GiB, replicas: {min: 0, max: 2}}
workload:
  - model: m
    arrivals: {poisson: 0.05/s}
    service: {dist: exponential, mean: 1s}
run: {duration: 2h, seed: 1}
EOF
start=$(date +%s.%N)
"$thaw" sweep "$dir/sweep.yaml" --seeds 1-160 --db "$dir/sweep.db" --quiet >/dev/null
end=$(date +%s.%N)
sqlite3 "$dir/sweep.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
runs=$(sqlite3 "$dir/sweep.db" "SELECT count(*) FROM runs")
bytes=$(stat -c %s "$dir/sweep.db")
awk -v r="$runs" -v b="$bytes" -v w="$(awk "BEGIN { print $end - $start }")" 'BEGIN {
  printf "%d runs in %.1f s: database %.2f MB, %.1f KB per run (target: under 5 MB)\n",
    r, w, b / 1e6, b / r / 1e3 }'
# the largest tables and indexes (dbstat: where the sqlite3 shell has it)
sqlite3 "$dir/sweep.db" "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 4" \
  2>/dev/null | awk -F'|' -v b="$bytes" '{ printf "  %-30s %8.1f KB %5.1f %%\n", $1, $2 / 1e3, 100 * $2 / b }' || true

say "simulator: scenarios/large.yaml (1,000 models, 256 GPUs, ~1M requests, 1 h) at each recording level"
"$thaw" sim --bench scenarios/large.yaml
say "loader: 1 GiB from storage (cold page cache) and from /dev/shm, beside read() and memcpy"
"$thaw" weights bench --size 1GiB --dir "$dir"
say "traces: reading 1M lines (azure-llm CSV, Mooncake JSONL) with thaw trace stats, streamed"
awk 'BEGIN { print "TIMESTAMP,ContextTokens,GeneratedTokens";
  for (i = 0; i < 1000000; i++) { s = i * 0.05; printf "2023-11-16 %02d:%02d:%010.7f,%d,%d\n",
    int(s / 3600), int(s / 60) % 60, s - 60 * int(s / 60), 100 + i % 4000, 1 + i % 500 } }' \
  >"$dir/llm-1m.csv"
awk 'BEGIN { for (i = 0; i < 1000000; i++)
  printf "{\"timestamp\": %d, \"input_length\": %d, \"output_length\": %d, \"hash_ids\": [%d, %d]}\n",
    i * 3, 100 + i % 4000, 1 + i % 500, i, i + 1 }' >"$dir/mooncake-1m.jsonl"
for f in "llm-1m.csv azure-llm" "mooncake-1m.jsonl jsonl"; do
  set -- $f
  start=$(date +%s.%N)
  "$thaw" trace stats "$dir/$1" --format "$2" --bin 1h >/dev/null
  end=$(date +%s.%N)
  printf '%-20s %-10s 1000000 lines in %.3f s\n' "$1" "$2" "$(awk "BEGIN { print $end - $start }")"
done
say "validation: calibrate on exec-small runs, validate out of sample (scripts/bench-validate.sh)"
"$(dirname "$0")/bench-validate.sh" "$thaw"

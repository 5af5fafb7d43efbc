#!/usr/bin/env bash
# demo.sh THAW - what `make demo` runs: the reference scenarios checked, the
# chained cold start simulated, the failover A/B (baseline vs optimized
# policy) compared, the scaling table swept, a real exec run beside (and
# validated against) its simulation, and the charts of it all written to
# results/plots/.
set -euo pipefail
thaw=${1:-build/cli/thaw}
db=results/demo.db
plots=results/plots
mkdir -p results "$plots"
rm -f "$db" "$db-wal" "$db-shm"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
last_line() { tail -n 1 | awk '{print $NF}'; }
# the run id a `thaw sim` / `thaw exec` printed: "run N (db)" or, quiet, "N"
run_id() { awk '/^run [0-9]+ \(/{id=$2} /^[0-9]+$/{id=$1} END{print id}'; }

say "thaw check: the reference scenarios are valid"
"$thaw" check scenarios/*.yaml | grep -E '^scenarios/'

say "the chained cold start (scenarios/chained-cold-start.yaml)"
"$thaw" sim scenarios/chained-cold-start.yaml --db "$db" | tee /tmp/thaw-demo-chained.$$
chained=$(run_id < /tmp/thaw-demo-chained.$$)
rm -f /tmp/thaw-demo-chained.$$

say "failover A/B: baseline (fifo, first_fit, no shm) vs optimized (priority, locality, shm preload)"
baseline=queue=fifo,placement=first_fit,shm=off
optimized=queue=priority,placement=locality,shm=preload
failover_sweep=$("$thaw" sweep scenarios/failover-standby.yaml --db "$db" --quiet \
    --policy "$baseline" --policy "$optimized" --seeds 1-5 | last_line)
"$thaw" compare --db "$db" --a "sweep=$failover_sweep policy=$baseline" \
    --b "sweep=$failover_sweep policy=$optimized" \
    --metric recovery_mean_s,recovery_max_s,cold_start_mean_s,cold_start_p99_s,makespan_s

say "the scaling table: N models of 14 GiB at once, serial vs parallel loading"
scaling_sweep=$("$thaw" sweep scenarios/scaling.yaml --db "$db" --quiet \
    --set 'models[0].count=1,2,4,8' --policy max_loads_per_node=1 --policy max_loads_per_node=0 \
    --seeds 1 | last_line)
"$thaw" report --db "$db" --select "sweep=$scaling_sweep" --metric makespan_s,cold_start_mean_s

say "a real run (host backend unless a GPU answers; about 15 s) beside its simulation"
exec_run=$("$thaw" exec scenarios/exec-small.yaml --db "$db" --quiet | run_id)
sim_run=$("$thaw" sim scenarios/exec-small.yaml --db "$db" --quiet | run_id)
"$thaw" report --db "$db" "$exec_run" "$sim_run"
"$thaw" validate --db "$db" "$exec_run" "$sim_run"

say "charts"
"$thaw" plot --db "$db" timeline "$chained" -o "$plots/timeline-chained.png"
"$thaw" plot --db "$db" cdf "$failover_sweep" -o "$plots/cdf-failover.png"
"$thaw" plot --db "$db" sweep "$scaling_sweep" --metric makespan_s -o "$plots/sweep-scaling.png"
"$thaw" plot --db "$db" validate "$exec_run" "$sim_run" -o "$plots/validate-exec-small.png"
echo "results database: $db"

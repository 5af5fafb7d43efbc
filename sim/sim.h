/* sim.h - the discrete-event simulator: a driver of the driver shell
 * (shell/shell.h) that carries out the core's actions on a virtual clock with
 * a flow-level bandwidth model; the shell feeds the core the world's inputs
 * (workload/) and records the run through results/. One sim_run is self-contained (no globals), so
 * sweeps run several in parallel threads. */
#ifndef THAW_SIM_H
#define THAW_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "results.h"
#include "thaw_err.h"

struct sim_opts {
    uint64_t seed; /* overrides spec->seed when has_seed */
    bool has_seed;
    bool check_invariants; /* run core_sched_check after every event */
    struct res_db *db;     /* NULL: do not record (benchmarks) */
    struct res_run_info run_info;
    bool time_core; /* measure the wall time spent inside the core (--bench) */
    /* Stops the run cleanly (recorded 'interrupted') when it becomes
     * non-zero; NULL: never. */
    volatile sig_atomic_t *stop;
};

struct sim_result {
    int64_t run_id;     /* 0 when not recorded */
    uint64_t events;    /* engine events processed */
    int64_t end_ns;     /* virtual time at the end */
    double wall_s;      /* wall-clock seconds spent */
    uint64_t rows;      /* rows written */
    double core_wall_s; /* of wall_s, seconds inside core_sched_* (0 unless time_core) */
    bool interrupted;   /* opts->stop ended it early */
};

/* Simulates spec from t=0 to spec->duration_ns or, without a duration, until
 * nothing is left to happen (the shell's end-of-run rule, shell.h). A seed override reaches the
 * core too. Records into opts->db when set: the run stays 'running' until its rows are in, and ends
 * 'complete', or 'failed' when the run stopped on an error. Returns 0 or a negative THAW_E* with
 * err filled; out (may be NULL) gets the counters either way. Reentrant: no global state. */
int sim_run(const struct core_spec *spec, const struct sim_opts *opts, struct sim_result *out,
            struct thaw_err *err);

#endif

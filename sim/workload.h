/* workload.h - arrival generators, one per workload entry, producing its
 * request times lazily, one at a time, so a million requests never sit in
 * the event heap at once. Poisson draws from the entry's own stream (rng.h);
 * times, traces and bursts replay the file. Shared by the simulator and the
 * exec driver (exec links thaw_sim), so both see the same arrival instants. */
#ifndef THAW_SIM_WORKLOAD_H
#define THAW_SIM_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "spec.h"
#include "thaw_err.h"

struct sim_arrivals {
    const struct core_workload_spec *w;
    gsl_rng *rng;   /* borrowed; Poisson only */
    int64_t end_ns; /* no arrival at or after this time; -1 = none */
    int64_t last_ns;
    int index;      /* next time (TIMES, TRACE) or burst (BURSTS) */
    int burst_left; /* requests left in the current burst */
    bool done;
};

/* Prepares the generator of w. run_end_ns is the run's duration (0 = none).
 * Returns THAW_EINVAL, with a message, for a Poisson entry that would never
 * end (no end and no run duration), a negative rate, or times or bursts
 * that are not in ascending order. */
int sim_arrivals_init(struct sim_arrivals *a, const struct core_workload_spec *w, gsl_rng *rng,
                      int64_t run_end_ns, struct thaw_err *err);
/* The next arrival time (non-decreasing); false when there is none left. */
bool sim_arrivals_next(struct sim_arrivals *a, int64_t *t_ns);

#endif

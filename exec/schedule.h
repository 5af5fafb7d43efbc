/* schedule.h - the exec driver's timetable, drawn before the run: request
 * arrivals (with each request's drawn service time) and fault injections,
 * in scenario time. Drawn with the simulator's own generators and seeding
 * (sim/rng.h, sim/workload.h), so an exec run and a sim run of the same
 * scenario and seed see the same arrivals, service times and faults.
 * Internal to exec/. */
#ifndef THAW_EXEC_SCHEDULE_H
#define THAW_EXEC_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "spec.h"
#include "thaw_err.h"

struct exec_arrival {
    int64_t t_ns;
    int model;
    int workload;
    int64_t service_ns; /* drawn service time (the floor of the real work) */
};

struct exec_fault_ev {
    int64_t t_ns;
    bool recover; /* false: the target fails; true: it recovers */
    bool node;    /* target is a node (else a GPU) */
    int target;   /* node index or flat GPU index */
    int fault;    /* index into spec->faults */
};

struct exec_schedule {
    int arrival_count;
    struct exec_arrival *arrivals; /* in the simulator's arrival order */
    int fault_count;
    struct exec_fault_ev *faults; /* in the simulator's firing order */
};

/* Draws the timetable exactly as sim_run plays it out for the same seed:
 * arrival i here is the sim's request id i + 1 (same instant, same service
 * time); fault events are the ones the sim fires (a fault that finds its
 * target already down is skipped, an MTBF one then draws its next failure
 * from there; none after run.duration). Rejects what the sim rejects
 * (Poisson arrivals with no end, MTBF faults with no run.duration, unsorted
 * times). Caps at max_arrivals (THAW_ERANGE beyond; 0 = 2^24). */
int exec_schedule_build(const struct core_spec *spec, uint64_t seed, int max_arrivals,
                        struct exec_schedule *out, struct thaw_err *err);
void exec_schedule_free(struct exec_schedule *s);

#endif

/* schedule.h - the exec driver's timetable, drawn before the run: request
 * arrivals (with each request's drawn service time) and fault injections,
 * in scenario time. Drawn from GSL generators seeded from the run's seed,
 * one independent stream per source (a workload's arrivals, its service
 * times, a fault process, a node's load costs), so the same seed gives the
 * same timetable and adding a model does not shift another's arrivals.
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
    struct exec_arrival *arrivals; /* sorted by (t, workload, order drawn) */
    int fault_count;
    struct exec_fault_ev *faults; /* sorted by (t, fault index, fail before recover) */
};

/* Draws the timetable. Poisson arrivals need an end (the workload's end or
 * run.duration); MTBF faults stop at run.duration, or at the last arrival
 * when the run has none. Caps at max_arrivals (THAW_ERANGE beyond). */
int exec_schedule_build(const struct core_spec *spec, uint64_t seed, int max_arrivals,
                        struct exec_schedule *out, struct thaw_err *err);
void exec_schedule_free(struct exec_schedule *s);

/* A seeded generator for draws made during the run (load costs). */
struct exec_rng;
int exec_rng_new(uint64_t seed, uint64_t stream, struct exec_rng **out);
void exec_rng_free(struct exec_rng *r);
/* One draw from d in ns (>= 0); FIXED returns mean_ns without drawing. */
int64_t exec_rng_draw(struct exec_rng *r, const struct core_dist *d);
/* Uniform in [0, 1). */
double exec_rng_uniform(struct exec_rng *r);

/* Stream numbers, so each source of randomness is independent. */
enum {
    EXEC_STREAM_ARRIVALS = 1,
    EXEC_STREAM_SERVICE = 2,
    EXEC_STREAM_FAULTS = 3,
    EXEC_STREAM_LOAD_COSTS = 4,
};
/* The seed of stream (kind, index) of a run seeded with seed. */
uint64_t exec_stream_seed(uint64_t seed, int kind, int index);

#endif

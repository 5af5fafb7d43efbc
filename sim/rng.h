/* rng.h - randomness of a run, shared by the simulator and the exec driver
 * (exec links thaw_sim), so both see the same draws for the same seed: one
 * independent GSL generator per source of randomness, each seeded from (run
 * seed, stream kind, key) through splitmix64, where the key hashes the
 * source's *name* (model, node) and an ordinal. Adding a model therefore
 * shifts no other model's arrivals, and reordering the file changes nothing. */
#ifndef THAW_SIM_RNG_H
#define THAW_SIM_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "spec.h"

enum sim_stream_kind {
    SIM_STREAM_ARRIVALS = 1, /* key: model name, ordinal of its workload entry */
    SIM_STREAM_SERVICE,      /* key: model name, ordinal of its workload entry */
    SIM_STREAM_FAULT,        /* key: target name, ordinal of the fault entry */
    SIM_STREAM_NODE,         /* key: node name: init, warm-up and phase draws */
};

/* The GSL generator type thaw uses: xoshiro256** (Blackman and Vigna), with
 * 256 bits of state, so that streams get full 64-bit seeds (GSL's own
 * generators take 32-bit seeds, and thousands of streams would then risk two
 * identical ones). It plugs into every gsl_ran_* function. */
extern const gsl_rng_type *const sim_rng_xoshiro256ss;

/* One step of splitmix64 on *state. */
uint64_t sim_rng_splitmix64(uint64_t *state);
/* Key of a named source: FNV-1a of the name, mixed with the ordinal. */
uint64_t sim_rng_key(const char *name, int ordinal);
/* The 64-bit seed of stream (kind, key) of a run. */
uint64_t sim_rng_stream_seed(uint64_t run_seed, int kind, uint64_t key);
/* A new generator for that stream (free with gsl_rng_free); NULL when out
 * of memory. */
gsl_rng *sim_rng_new(uint64_t run_seed, int kind, uint64_t key);

/* A draw from d in nanoseconds (>= 0): FIXED mean; EXP mean; LOGNORMAL and
 * GAMMA with mean and cv (cv 0 = FIXED); UNIFORM [lo, hi]. */
int64_t sim_rng_draw_ns(gsl_rng *r, const struct core_dist *d);

/* The generators of each source, one function per source so that the sim
 * and exec drivers cannot seed them differently. Each returns a new
 * generator (free with gsl_rng_free), or NULL when out of memory or when the
 * index, or what it names, is out of range. */
/* Workload w's stream of kind SIM_STREAM_ARRIVALS or SIM_STREAM_SERVICE:
 * key = its model's name and the entry's ordinal among that model's
 * entries. */
gsl_rng *sim_rng_for_workload(const struct core_spec *sp, uint64_t run_seed, int w, int kind);
/* Fault f's MTBF stream: key = its target's (node or GPU) name and the
 * fault's ordinal among the entries with that target. */
gsl_rng *sim_rng_for_fault(const struct core_spec *sp, uint64_t run_seed, int f);
/* Node n's stream (init, warm-up and phase draws): key = its name, 0. */
gsl_rng *sim_rng_for_node(const struct core_spec *sp, uint64_t run_seed, int n);

/* The next failure gap of an MTBF fault: exponential of mean f->mtbf_ns. */
int64_t sim_rng_fault_gap_ns(gsl_rng *r, const struct core_fault_spec *f);

/* The costs of one load of model m on node n, drawn from the node's stream
 * all at once when the load starts, in this order: init; each phase in
 * index order (its cache lottery first, only when its hit probability is
 * > 0, then its work from hit_work or work); warm-up. Drawing them in one
 * go makes the stream's use depend only on the order loads start, which is
 * the same in sim and exec when the core decides the same. phase_ns has
 * m->phase_count entries. */
struct sim_load_costs {
    int64_t init_ns, warmup_ns;
    int64_t *phase_ns;
};
void sim_rng_draw_load(gsl_rng *r, const struct core_node_spec *n, const struct core_model_spec *m,
                       struct sim_load_costs *out);

#endif

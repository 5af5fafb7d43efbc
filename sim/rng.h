/* rng.h - randomness of a simulation (internal to sim/): one independent GSL
 * generator per source of randomness, each seeded from (run seed, stream
 * kind, key) through splitmix64, where the key hashes the source's *name*
 * (model, node) and an ordinal. Adding a model therefore shifts no other
 * model's arrivals, and reordering the file changes nothing. */
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

#endif

/* workload.h - the world outside the cluster, shared by both drivers
 * (prefix wl_): the run's named random streams, arrival processes,
 * service-time draws, per-load cost draws and fault processes. Both the
 * simulator and the executor take their inputs from here, through the driver
 * shell (shell/shell.h), so a seeded sim run and a seeded exec run see the
 * same world.
 *
 * Randomness: one independent GSL generator per source of randomness, each
 * seeded from (run seed, stream kind, key) through splitmix64, where the key
 * hashes the source's *name* (model, node) and an ordinal. Adding a model
 * therefore shifts no other model's arrivals, and reordering the file
 * changes nothing.
 *
 * The world (struct wl_world) is a set of sources, each yielding its inputs
 * lazily, one pending input at a time: source i < workload_count is workload
 * i's arrival process, the rest are the fault processes in scenario order.
 * The documented order of all inputs is the driver shell's: (time, sequence
 * number), where the sequence number is the order in which a source's next
 * input was armed: every source's first input at start in source order, then
 * each source's next input right after its previous one is taken, before the
 * core hears of it. So an arrival and a fault due at the same instant come
 * in the order their sources armed them, in both drivers.
 *
 * The module's one public header. workload/ uses core's spec (spec.h) and
 * nothing else; the drivers take its inputs through the shell. */
#ifndef THAW_WORKLOAD_H
#define THAW_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "spec.h"
#include "thaw_err.h"

/* ---- random streams ------------------------------------------------------ */

enum wl_stream_kind {
    WL_STREAM_ARRIVALS = 1, /* key: model name, ordinal of its workload entry */
    WL_STREAM_SERVICE,      /* key: model name, ordinal of its workload entry */
    WL_STREAM_FAULT,        /* key: target name, ordinal of the fault entry */
    WL_STREAM_NODE,         /* key: node name: init, warm-up and phase draws */
};

/* The GSL generator type thaw uses: xoshiro256** (Blackman and Vigna), with
 * 256 bits of state, so that streams get full 64-bit seeds (GSL's own
 * generators take 32-bit seeds, and thousands of streams would then risk two
 * identical ones). It plugs into every gsl_ran_* function. */
extern const gsl_rng_type *const wl_rng_xoshiro256ss;

/* One step of splitmix64 on *state. */
uint64_t wl_rng_splitmix64(uint64_t *state);
/* Key of a named source: FNV-1a of the name, mixed with the ordinal. */
uint64_t wl_rng_key(const char *name, int ordinal);
/* The 64-bit seed of stream (kind, key) of a run. */
uint64_t wl_rng_stream_seed(uint64_t run_seed, int kind, uint64_t key);
/* A new generator for that stream (free with gsl_rng_free); NULL when out
 * of memory. */
gsl_rng *wl_rng_new(uint64_t run_seed, int kind, uint64_t key);

/* A draw from d in nanoseconds (>= 0): FIXED mean; EXP mean; LOGNORMAL and
 * GAMMA with mean and cv (cv 0 = FIXED); UNIFORM [lo, hi]. */
int64_t wl_draw_ns(gsl_rng *r, const struct core_dist *d);

/* The generators of each source, one function per source so that the sim
 * and exec drivers cannot seed them differently. Each returns a new
 * generator (free with gsl_rng_free), or NULL when out of memory or when the
 * index, or what it names, is out of range. */
/* Workload w's stream of kind WL_STREAM_ARRIVALS or WL_STREAM_SERVICE:
 * key = its model's name and the entry's ordinal among that model's
 * entries. */
gsl_rng *wl_rng_for_workload(const struct core_spec *sp, uint64_t run_seed, int w, int kind);
/* Fault f's MTBF stream: key = its target's (node or GPU) name and the
 * fault's ordinal among the entries with that target. */
gsl_rng *wl_rng_for_fault(const struct core_spec *sp, uint64_t run_seed, int f);
/* Node n's stream (init, warm-up and phase draws): key = its name, 0. */
gsl_rng *wl_rng_for_node(const struct core_spec *sp, uint64_t run_seed, int n);

/* The next failure gap of an MTBF fault: exponential of mean f->mtbf_ns. */
int64_t wl_fault_gap_ns(gsl_rng *r, const struct core_fault_spec *f);

/* The costs of one load of model m on node n, drawn from the node's stream
 * all at once when the load starts, in this order: init; each phase in
 * index order (its cache lottery first, only when its hit probability is
 * > 0, then its work from hit_work or work); warm-up. Drawing them in one
 * go makes the stream's use depend only on the order loads start, which is
 * the same in sim and exec when the core decides the same. phase_ns has
 * m->phase_count entries. */
struct wl_load_costs {
    int64_t init_ns, warmup_ns;
    int64_t *phase_ns;
};
void wl_draw_load(gsl_rng *r, const struct core_node_spec *n, const struct core_model_spec *m,
                  struct wl_load_costs *out);

/* ---- arrival processes ------------------------------------------------- */

struct wl_trace;

struct wl_arrivals {
    const struct core_workload_spec *w;
    gsl_rng *rng;   /* borrowed; Poisson, PIECEWISE, DIURNAL, trace spreads */
    int64_t end_ns; /* no arrival at or after this time; -1 = none */
    int64_t last_ns;
    int index;              /* next time (TIMES) or burst (BURSTS) or rate piece (PIECEWISE) */
    int burst_left;         /* requests left in the current burst */
    double t_ns;            /* PIECEWISE, DIURNAL: the thinning clock */
    struct wl_trace *trace; /* TRACE: the open file (owned) */
    int64_t in_tokens, out_tokens; /* of the last arrival; -1 when unknown */
    bool done;
};

/* Prepares the generator of w. run_end_ns is the run's duration (0 = none).
 * Returns THAW_EINVAL, with a message, for a Poisson entry that would never
 * end (no end and no run duration), a negative rate, or times or bursts
 * that are not in ascending order; THAW_EIO when a trace cannot be opened.
 * Release with wl_arrivals_free (a trace holds an open file). */
int wl_arrivals_init(struct wl_arrivals *a, const struct core_workload_spec *w, gsl_rng *rng,
                     int64_t run_end_ns, struct thaw_err *err);
/* The next arrival time (non-decreasing); false when there is none left.
 * in_tokens and out_tokens are set for traces with token counts. */
bool wl_arrivals_next(struct wl_arrivals *a, int64_t *t_ns);
void wl_arrivals_free(struct wl_arrivals *a);

/* The instantaneous target rate (per second) of a PIECEWISE or DIURNAL
 * entry at run time t_ns (0 before start); for tests and `thaw check`. */
double wl_arrivals_rate_at(const struct core_workload_spec *w, int64_t t_ns);

/* ---- traces: streamed, one line at a time ------------------------------- */

/* Opens w's trace (w->arrivals == CORE_ARRIVAL_TRACE) for the lines its
 * model takes (w->trace.assign). rng (borrowed) spreads per-minute counts.
 * Memory is bounded by the longest line, whatever the file's length; an
 * Azure Functions file is summed into its 1440 minutes once, at open. */
int wl_trace_open(struct wl_trace **out, const struct core_workload_spec *w, gsl_rng *rng,
                  struct thaw_err *err);
/* The next arrival in run time (non-decreasing) and its token counts (-1
 * when the format has none); false at the end, or at a line that no longer
 * parses (the file changed since the scenario was loaded: see
 * wl_trace_error). */
bool wl_trace_next(struct wl_trace *t, int64_t *t_ns, int64_t *in_tokens, int64_t *out_tokens);
/* Why the stream stopped early, or NULL. */
const char *wl_trace_error(const struct wl_trace *t);
void wl_trace_close(struct wl_trace *t);
/* FNV-1a of an id, as CORE_TRACE_HASH assigns it (hash mod slots). */
uint64_t wl_trace_id_hash(const char *id, size_t len);

/* ---- the world: every input of a run ------------------------------------- */

enum wl_input_kind {
    WL_INPUT_NONE = 0, /* the source had nothing to deliver (a fault that found
                          its target already down); nothing to feed */
    WL_INPUT_ARRIVAL,  /* a request for `model` (workload `workload`) */
    WL_INPUT_FAIL,     /* fault `fault` takes its target down */
    WL_INPUT_RECOVER,  /* fault `fault`'s target is back */
};

struct wl_input {
    enum wl_input_kind kind;
    int64_t t_ns;
    int workload, model; /* ARRIVAL */
    int64_t service_ns;  /* ARRIVAL: drawn at arrival from the entry's service stream */
    int fault;           /* FAIL, RECOVER: index into spec->faults */
    bool node;           /* FAIL, RECOVER: the target is a node (else a GPU) */
    int target;          /* node index or flat GPU index */
    int target_node;     /* the target's node */
};

struct wl_world;

/* Builds every source of spec for run seed `seed` and arms each one's first
 * input. Rejects what could never end or is inconsistent: Poisson arrivals
 * with no end and no run duration, MTBF faults with no run duration, unsorted
 * times or bursts, a fault naming no node or GPU. THAW_EINVAL with the reason,
 * THAW_ENOMEM. */
int wl_world_new(const struct core_spec *spec, uint64_t seed, struct wl_world **out,
                 struct thaw_err *err);
void wl_world_free(struct wl_world *w);

/* Number of sources: workload_count + fault_count. */
int wl_world_source_count(const struct wl_world *w);
/* The time of source i's pending input; false when the source is exhausted. */
bool wl_world_peek(const struct wl_world *w, int source, int64_t *t_ns);
/* Takes source i's pending input into *out and arms the source's next one
 * (call wl_world_peek again for its time). A fault whose target is already
 * down gives WL_INPUT_NONE (a recurring one draws its next failure from
 * then). Returns false when the source had no pending input. */
bool wl_world_take(struct wl_world *w, int source, struct wl_input *out);

/* The costs of one load of model m on node n, drawn from node n's stream
 * (wl_draw_load). Call in the order loads start. */
void wl_world_load_costs(struct wl_world *w, int node, int model, struct wl_load_costs *out);

#endif

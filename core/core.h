/* core.h - the scheduling core: the contract between thaw's decisions and
 * the two drivers (sim/ on a virtual clock, exec/ on the wall clock).
 *
 * A driver creates a scheduler from a loaded spec, calls core_sched_start()
 * once at t=0, then feeds it timestamped events (what happened) in
 * non-decreasing time order. After each call it reads the actions (what to do
 * now) and carries them out. The core never reads a clock, sleeps, touches a
 * device, a file or a database: given the same spec and the same event
 * stream it produces the same actions, byte for byte.
 *
 * Identifiers: request ids are chosen by the driver (unique per run);
 * load ids and instance ids are chosen by the core (1, 2, 3, ... in order of
 * creation). A load creates exactly one instance; load N's instance is
 * reported in its CORE_ACT_START_LOAD action.
 *
 * Memory: the spec must outlive the scheduler. The action array returned by
 * core_sched_actions() is owned by the scheduler and valid until the next
 * core_sched_start/feed/free call. */
#ifndef THAW_CORE_H
#define THAW_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"
#include "thaw_err.h"

struct core_sched;

/* ---- events: what happened (driver -> core) ---------------------------- */

enum core_event_kind {
    /* A request for `model` arrived; `request` is the driver's id for it. */
    CORE_EV_REQUEST_ARRIVED = 0,
    /* Request `request` finished its service on `instance`. Ignored when the
     * request is no longer outstanding there (it was requeued by a fault). */
    CORE_EV_REQUEST_FINISHED,
    /* Load `load` finished: ok=true the instance is ready to serve (weights
     * copied, verified, warmed up); ok=false it failed (bad file, device
     * error) and the core releases its VRAM and marks it FAILED. */
    CORE_EV_LOAD_FINISHED,
    /* The shm fill of `model` on `node` finished (ok) or failed. */
    CORE_EV_SHM_FILL_FINISHED,
    CORE_EV_GPU_FAILED, /* `gpu` (flat index) is dead: its instances and loads are lost */
    CORE_EV_GPU_RECOVERED,
    CORE_EV_NODE_FAILED, /* every GPU of `node` fails, and its shm cache is lost */
    CORE_EV_NODE_RECOVERED,
    /* Nothing happened but time passed: delivered at a time asked for by
     * CORE_ACT_WAKE_AT (keep-alive expiry, autoscaler period, aging). */
    CORE_EV_TICK,
};

struct core_event {
    enum core_event_kind kind;
    int64_t t_ns; /* must be >= the previous event's */
    uint64_t request;
    uint64_t instance;
    uint64_t load;
    int model;
    int node;
    int gpu;
    bool ok;
};

/* ---- actions: what to do (core -> driver) ------------------------------- */

enum core_source { CORE_SRC_STORAGE = 0, CORE_SRC_SHM };

enum core_reason {
    CORE_REASON_DEMAND = 0, /* a request waits and no instance can take it */
    CORE_REASON_STANDBY,    /* keeping replicas_min (incl. hot standbys) */
    CORE_REASON_FAILOVER,   /* replacing an instance lost to a fault */
    CORE_REASON_SCALE_UP,   /* the autoscaler */
    CORE_REASON_PREWARM,
};

enum core_inst_state {
    CORE_INST_LOADING = 0,
    CORE_INST_READY,
    CORE_INST_DRAINING,
    CORE_INST_EVICTED,
    CORE_INST_FAILED,
};

enum core_action_kind {
    /* Start loading `model` onto `gpu` (on `node`) from `source`: `bytes` of
     * weights, `vram_bytes` reserved. Driver: run init, phases, copy,
     * warm-up; then feed CORE_EV_LOAD_FINISHED(load). `enqueued_ns` and
     * `reason` describe the job for the record. */
    CORE_ACT_START_LOAD = 0,
    /* Copy `model`'s weights (`bytes`) from storage into `node`'s shm cache,
     * then feed CORE_EV_SHM_FILL_FINISHED(node, model). */
    CORE_ACT_START_SHM_FILL,
    /* Drop `model`'s weights from `node`'s shm cache (no event back). */
    CORE_ACT_SHM_DROP,
    /* Free `instance` on `gpu` (its VRAM is already released in the core's
     * accounting; the driver frees the memory now). No event back. */
    CORE_ACT_EVICT,
    /* Abort load `load` (its GPU failed or it is no longer wanted). The
     * driver must not feed LOAD_FINISHED for it afterwards (if it does, the
     * core ignores it). */
    CORE_ACT_CANCEL_LOAD,
    /* Serve `request` on `instance` (on `gpu`). cold=true when the request
     * had to wait for a cold start. Driver: run the service, then feed
     * CORE_EV_REQUEST_FINISHED(request, instance). */
    CORE_ACT_DISPATCH,
    /* `request` was outstanding on an instance that failed: the driver drops
     * its service in progress; the core will dispatch it again later. */
    CORE_ACT_REQUEST_REQUEUED,
    /* Deliver CORE_EV_TICK at `wake_ns` (or any later event before it). */
    CORE_ACT_WAKE_AT,
    /* Informational: `instance` of `model` on `gpu` entered `state` at t_ns.
     * Drivers record these (instance_events); nothing to do. */
    CORE_ACT_INSTANCE_STATE,
};

struct core_action {
    enum core_action_kind kind;
    int64_t t_ns; /* the time of the event that caused it */
    uint64_t load;
    uint64_t instance;
    uint64_t request;
    int model;
    int node;
    int gpu;
    enum core_source source;
    enum core_reason reason;
    enum core_inst_state state;
    uint64_t bytes;
    uint64_t vram_bytes;
    int64_t enqueued_ns;
    int64_t wake_ns;
    bool cold;
};

/* ---- life cycle ---------------------------------------------------------- */

/* Resolves the spec's policy names; THAW_EINVAL names an unknown one. */
int core_sched_new(const struct core_spec *spec, struct core_sched **out, struct thaw_err *err);
void core_sched_free(struct core_sched *s);

/* At t_ns (normally 0): places initial instances READY, queues shm preloads
 * (priority order) and loads for replicas_min / hot standbys. Call once. */
int core_sched_start(struct core_sched *s, int64_t t_ns, struct thaw_err *err);

/* Feeds one event. THAW_EINVAL for an event that names an unknown model,
 * GPU or load, or goes back in time; the scheduler is unchanged then. */
int core_sched_feed(struct core_sched *s, const struct core_event *ev, struct thaw_err *err);

/* The actions produced by the last start/feed call, in order. */
size_t core_sched_actions(const struct core_sched *s, const struct core_action **out);

/* Verifies the invariants (VRAM reservations <= capacity on every GPU; READY
 * instances on healthy GPUs; every waiting request has a load queued or in
 * flight for its model unless replicas_max forbids it; no load in two
 * places). Returns 0 or THAW_EINVARIANT with the broken one in err. */
int core_sched_check(const struct core_sched *s, struct thaw_err *err);

/* Counters for the record. */
struct core_stats {
    uint64_t shm_hits;   /* loads started from shm */
    uint64_t shm_misses; /* loads started from storage */
    uint64_t loads_started;
    uint64_t evictions;
    uint64_t requests_waiting; /* now */
};
void core_sched_stats(const struct core_sched *s, struct core_stats *out);

/* Text names for records and logs (static strings). */
const char *core_source_name(enum core_source s);
const char *core_reason_name(enum core_reason r);
const char *core_inst_state_name(enum core_inst_state s);
const char *core_event_kind_name(enum core_event_kind k);
const char *core_action_kind_name(enum core_action_kind k);

/* One line of text per action, stable across runs (for determinism tests
 * and `thaw replay`): "t=... START_LOAD load=1 inst=1 model=0 gpu=0 ...". */
void core_action_format(const struct core_action *a, char *buf, size_t len);

#endif

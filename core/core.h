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
 * core_sched_start/feed/free call.
 *
 * Instance ids count every instance, including those placed READY at start
 * (spec initial_gpus: INSTANCE_STATE ready, reason prewarm, load 0), so load
 * N's instance id is N plus the number of initial instances made before it.
 *
 * ---- Semantics (what the core decides, so drivers never have to) ----------
 *
 * Order of work after every event: dispatch waiting requests; run the
 * autoscaler if its period is due; queue demand loads; start queued loads;
 * start shm fills; ask for a wake-up. Ties anywhere go to the lowest index
 * (GPU, model) or id (instance, job), never to an address or a hash.
 *
 * Instances: LOADING -> READY -> EVICTED, or -> FAILED (GPU or node fault,
 * failed load). Each transition emits CORE_ACT_INSTANCE_STATE. DRAINING is
 * never entered today: the core evicts only idle instances, so draining would
 * last zero time. Each instance has loaded_at, last_used (set at READY, at
 * every dispatch and every finish) and outstanding requests.
 *
 * VRAM: a load reserves the model's vram_bytes on its GPU when it starts;
 * eviction, failure and cancellation release it. Nothing ever over-commits.
 *
 * Cold-start queue: jobs (model, reason, priority, absolute deadline,
 * enqueued_at) sorted by the queue policy: fifo (enqueued); priority (higher
 * first, then earlier deadline, then earlier enqueued); edf (earlier
 * absolute deadline = enqueued + model deadline, none last; then priority);
 * sjf (shorter core_spec_lone_load_ns from the best source the model has
 * when queued; then priority). Aging lowers a job's score by aging_per_s per
 * second waited; since every job ages alike the order between queued jobs
 * never changes with time, so aging needs no timer. A job starts when a GPU
 * is healthy, below max_loads_per_gpu and its node below max_loads_per_node
 * (0 = unlimited), and has room (possibly after eviction). Head-of-line:
 * jobs are tried in queue order and one that cannot start does NOT block the
 * jobs behind it (a small model may start before a big one that must wait).
 *
 * Placement among GPUs where the model fits now: first_fit (lowest index),
 * best_fit (least VRAM left over), spread (least reserved fraction),
 * locality (GPUs whose node has the weights resident in shm, best fit among
 * them; else best fit). When none fits, eviction: candidates are idle READY
 * instances (no outstanding request, not a hot standby, not of the model
 * being loaded, not the last READY replica replicas_min needs) that the
 * eviction policy allows (lru: any; keep_alive: idle >= keep_alive_ns; none:
 * no eviction, the job waits). They are taken least recently used first
 * (then lowest id) across the allowed GPUs; the first GPU to reach enough
 * room gets the load and only its victims are evicted. A busy or LOADING
 * instance is never evicted. Under keep_alive the core asks a WAKE_AT for
 * the next keep-alive expiry while jobs wait.
 *
 * Load source: CORE_SRC_SHM when the model is resident (fill finished) in
 * the target node's shm cache, else storage; counted as hits and misses.
 * The storage ladder (ladder.c, peer.c; scenarios/README.md "Storage
 * ladder") extends this without changing it: below shm, the node's disk
 * cache (CORE_SRC_DISK) when resident, else the model's remote store
 * (CORE_SRC_STORE, spec.stores) or local storage; with policy.peer a READY
 * instance of the model on another healthy GPU (CORE_SRC_PEER,
 * action.peer_gpu / peer_instance) when its path (NVLink on one node, both
 * network links across nodes) is strictly faster than that rung. A store, a
 * disk and a peer count at their share now: bandwidth over the loads
 * already reading it plus one. The disk rung is kept like shm
 * (START_DISK_FILL / DISK_DROP / DISK_FILL_FINISHED, one fill per node,
 * admission off | preload | lru per node); lru admits every load that read
 * no rung of its node (its store, storage or a peer); an shm fill reads the
 * disk when it holds the model (action.source). A node fault drops its disk
 * entries unless disk_survives_restart (fills in flight always). A peer is
 * not idle while copied from (no eviction, no scale-down); a peer lost to a
 * fault mid-copy cancels the copying load (CANCEL_LOAD, FAILED) and queues
 * its job again with its reason, enqueued time and queue place. A tp K
 * load's peer is a READY tp K instance on GPUs all healthy and outside its
 * gang; shard i copies from the peer's gang member i (action.peer_gang), and
 * a fault of any of them cancels the copy as above.
 *
 * Shm cache per node (capacity nodes[n].shm_bytes; space is reserved when a
 * model is admitted). shm=off: never used. preload: at start (and when a
 * node recovers) models with preload_to_shm or standby warm are admitted,
 * pinned, in priority order (higher first, then model index), each if it
 * still fits (a big one is skipped, smaller ones after it may fit). lru: as
 * preload, and a load from storage also admits its model (the fill is asked
 * right after START_LOAD), dropping unpinned resident entries least recently
 * used first (CORE_ACT_SHM_DROP), only when that makes enough room. Fills
 * run ONE AT A TIME per node, in admission order. A failed fill releases its
 * space and is not retried. A node failure drops every entry (SHM_DROP each;
 * a fill in flight there is abandoned, its late event ignored).
 *
 * Requests: a request goes only to a READY, non-standby instance with a free
 * slot (slots = the largest `concurrency` among the model's workloads,
 * default 1; the scenario loader refuses two different values), chosen by
 * the balancer: lru (least recently used), round_robin (next id after the
 * last chosen), least_outstanding, p2c (two distinct candidates drawn from
 * a splitmix64 stream seeded with spec->seed, fewer outstanding wins); ties
 * to the lowest id. Otherwise it waits in its
 * model's FIFO. When requests wait and no load of the model is LOADING or
 * queued and READY+LOADING+queued < max(replicas_max, replicas_min), a
 * demand load is queued. With concurrency 1, replicas fixed and FIFO this is
 * exactly an M/M/c (G/G/c) queue: no loads, no cold dispatches.
 * DISPATCH.cold: true when, at some moment while the request waited, a
 * serving (non-hot-standby) load of its model was queued or in flight: it
 * waited for a cold start, not just for a busy server. A request served at
 * once is never cold.
 *
 * Standbys: at start, replicas_min READY-or-loading instances are kept
 * (initial placements count; missing ones are queued with reason standby).
 * cold: nothing prepared. warm: the weights are pinned in shm (needs shm
 * preload or lru; with shm off warm behaves as cold). hot: one extra READY
 * instance per model, loaded at start (reason standby), never on a GPU that
 * holds a serving instance of the model and preferably on another node; it
 * counts toward no replica limit and the balancer never uses it, the
 * autoscaler and eviction never remove it.
 *
 * Faults (GPU_FAILED; NODE_FAILED = all its GPUs plus its shm): every live
 * instance there becomes FAILED (its VRAM released): a loading one emits
 * CANCEL_LOAD, a READY one emits REQUEST_REQUEUED for each outstanding
 * request, which goes back to the HEAD of its model's wait queue in its
 * original order. Queued jobs stay queued. Then per model: a surviving hot
 * standby (READY first, else loading) is promoted at once, with no load
 * (INSTANCE_STATE with its current state and reason failover), replacing one
 * lost serving instance; for the other lost ones, failover loads (reason
 * failover, the model's priority) are queued while READY+LOADING+queued <
 * replicas_min; and a new hot standby is queued (reason standby) if the
 * model has none. Requests still waiting get demand loads as usual.
 * Recovery (GPU_RECOVERED / NODE_RECOVERED): the GPUs are usable again,
 * empty. A GPU is usable only when neither it nor its node is failed.
 *
 * Failed loads (LOAD_FINISHED ok=false): the instance FAILS, its VRAM is
 * released, and the load is NOT retried: the model is marked broken and no
 * load of it is queued automatically again (no demand, scale_up, failover or
 * standby; jobs already queued still run). Its waiting requests wait until
 * an instance appears (from a job queued before) or the run ends. A retry
 * loop on a corrupt file would otherwise never end.
 *
 * Autoscaler (policy.autoscale: "on", else "off" runs nothing): runs at
 * t0 + k * autoscale_period_ns (the core asks WAKE_AT for each period; when
 * several periods pass without an event it runs once). Per model it decides
 * on the state the loads already asked for will bring: supply = READY +
 * LOADING + queued (hot standbys out), and each LOADING or queued instance
 * will take `concurrency` waiting requests the moment it is READY, so only
 * excess = max(0, waiting - (LOADING + queued) * concurrency) still needs
 * an instance. When excess / max(1, supply) > autoscale_target it queues
 * asked = min(autoscale_max_step (0 = no limit), wanted, max(replicas_max,
 * replicas_min) - supply) scale_up loads, wanted = ceil(excess / target) -
 * supply (target 0: wanted = excess); none for a broken model. Otherwise it
 * drops queued (never started) scale_up jobs the others make unneeded: the
 * most recently queued first, while the remaining LOADING and queued
 * instances still have a slot for every waiting request (so all of them
 * once no request waits); each emits CORE_ACT_DROP_JOB. When no request
 * waits it also evicts READY instances idle >= keep_alive_ns, least
 * recently used first, never below replicas_min. Every run that saw a
 * waiting request, dropped a job or evicted emits CORE_ACT_AUTOSCALE with
 * the numbers it decided on, after the loads it queued and the drops and
 * evictions it made.
 *
 * Wake-ups: CORE_ACT_WAKE_AT is emitted when the next time the core needs
 * (autoscaler period, keep-alive expiry) is earlier than the one last asked
 * for or that one has passed; extra TICKs are harmless. */
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
     * CORE_ACT_WAKE_AT (keep-alive expiry, autoscaler period; aging needs
     * no timer, see the cold-start queue above). */
    CORE_EV_TICK,
    /* The disk-cache fill of `model` on `node` finished (ok) or failed. */
    CORE_EV_DISK_FILL_FINISHED,
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

/* Where a load (or a fill) reads the weights: the node's local storage,
 * its shm cache, its disk cache, a READY peer instance on another GPU
 * (action.peer_gpu / peer_instance), or the model's remote store
 * (spec.stores[model.store - 1], through the node's network link). */
enum core_source { CORE_SRC_STORAGE = 0, CORE_SRC_SHM, CORE_SRC_DISK, CORE_SRC_PEER, CORE_SRC_STORE };

enum core_reason {
    CORE_REASON_DEMAND = 0, /* a request waits and no instance can take it */
    CORE_REASON_STANDBY,    /* keeping replicas_min (incl. hot standbys) */
    CORE_REASON_FAILOVER,   /* replacing an instance lost to a fault */
    CORE_REASON_SCALE_UP,   /* the autoscaler */
    CORE_REASON_PREWARM,    /* placed READY at start (spec initial_gpus); no load */
};

enum core_inst_state {
    CORE_INST_LOADING = 0,
    CORE_INST_READY,
    CORE_INST_DRAINING,
    CORE_INST_EVICTED,
    CORE_INST_FAILED,
    /* standby sleep: VRAM freed, weights in the node's host memory; never
     * reported by INSTANCE_STATE (SLEEP says it), woken by WAKE */
    CORE_INST_SLEEPING,
};

enum core_action_kind {
    /* Start loading `model` onto `gpu` (on `node`) from `source`: `bytes` of
     * weights, `vram_bytes` reserved. Driver: run init, phases, copy,
     * warm-up; then feed CORE_EV_LOAD_FINISHED(load). `enqueued_ns` and
     * `reason` describe the job for the record. */
    CORE_ACT_START_LOAD = 0,
    /* Copy `model`'s weights (`bytes`) from storage into `node`'s shm cache,
     * then feed CORE_EV_SHM_FILL_FINISHED(node, model). At most one fill per
     * node is in flight at a time. */
    CORE_ACT_START_SHM_FILL,
    /* Drop `model`'s weights from `node`'s shm cache (no event back). Also
     * emitted for every entry of a failed node, a fill in flight included:
     * abort that fill and feed nothing for it. */
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
     * Drivers record these (instance_events); nothing to do. `reason` is why
     * the instance exists; a hot standby promoted to serving is reported
     * again in its current state with reason failover. */
    CORE_ACT_INSTANCE_STATE,
    /* Informational: a queued job of `model` (`reason`, `enqueued_ns`) left
     * the cold-start queue without starting: the autoscaler no longer needs
     * it. It never had a load id, GPU or source; drivers record it (loads
     * outcome 'cancelled', started NULL); nothing to carry out. */
    CORE_ACT_DROP_JOB,
    /* Informational: one autoscaler decision for `model` (the `scale`
     * fields say what it saw and did). Drivers record it; nothing to do. */
    CORE_ACT_AUTOSCALE,
    /* Put READY idle `instance` of `model` (on `gpu`, or its gang) to
     * sleep: its `bytes` of weights go to `node`'s host memory and its VRAM
     * is free at once in the core's accounting (an eviction victim with
     * standby sleep, when the node's host_memory has room). No event back. */
    CORE_ACT_SLEEP,
    /* Wake sleeping `instance` onto `gpu` (or its gang) of its node as load
     * `load`: copy its `bytes` back from host memory, then the model's wake
     * cost (no init, no phases, no warm-up); then feed
     * CORE_EV_LOAD_FINISHED(load) as for START_LOAD. */
    CORE_ACT_WAKE,
    /* Copy `model`'s weights (`bytes`) from `source` (its store or the
     * node's local storage) into `node`'s disk cache, then feed
     * CORE_EV_DISK_FILL_FINISHED(node, model). One per node at a time. */
    CORE_ACT_START_DISK_FILL,
    /* Drop `model` from `node`'s disk cache (no event back); a fill in
     * flight is aborted and nothing is fed for it. */
    CORE_ACT_DISK_DROP,
};

/* What the autoscaler saw and did for one model at one period (hot
 * standbys left out of every count). */
struct core_scale_decision {
    uint64_t waiting;           /* requests of the model waiting for an instance */
    int ready, loading, queued; /* supply = ready + loading + queued */
    uint64_t excess;            /* waiting beyond the slots LOADING + queued will bring */
    int wanted;                 /* instances the target asks for beyond supply (<= 0: none) */
    int asked;                  /* scale_up loads queued now (wanted capped by step and max) */
    int dropped;                /* queued scale_up jobs dropped (CORE_ACT_DROP_JOB each) */
    int evicted;                /* idle instances evicted (scale-down) */
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
    struct core_scale_decision scale; /* CORE_ACT_AUTOSCALE only */
    /* Tensor-parallel gang (START_LOAD, CANCEL_LOAD, EVICT, INSTANCE_STATE,
     * DISPATCH): the instance spans gang[0..tp-1], ascending flat GPU
     * indices, gang[0] == gpu, all on `node`. tp 0 or 1: `gpu` alone. On
     * START_LOAD each GPU copies its shard (core_model_shard_bytes) and
     * reserves core_model_share_bytes; `bytes` and `vram_bytes` stay the
     * whole instance's. */
    int tp;
    int gang[CORE_TP_MAX];
    /* START_LOAD with source CORE_SRC_PEER: the READY instance copied from
     * and its GPU (flat index); it keeps serving meanwhile. */
    int peer_gpu;
    uint64_t peer_instance;
    /* START_LOAD with source CORE_SRC_PEER of a tp K gang: the peer is a
     * READY tp K instance on other GPUs, and shard i copies from its gang
     * member peer_gang[i] into gang[i] (peer_gang[0] == peer_gpu). tp 1:
     * peer_gang[0] == peer_gpu alone. */
    int peer_gang[CORE_TP_MAX];
};

/* ---- life cycle ---------------------------------------------------------- */

/* Resolves the spec's policy names. THAW_EINVAL (and *out NULL) names an
 * unknown one, or says what else is wrong: counts that disagree with the
 * arrays, a GPU or workload naming a missing node or model, an autoscaler
 * period <= 0. */
int core_sched_new(const struct core_spec *spec, struct core_sched **out, struct thaw_err *err);
void core_sched_free(struct core_sched *s);

/* At t_ns (normally 0): places initial instances READY, queues shm preloads
 * (priority order) and loads for replicas_min / hot standbys. Call once
 * (THAW_ESTATE otherwise). THAW_EINVAL, with nothing changed, when initial
 * placements name a missing GPU or over-commit one. */
int core_sched_start(struct core_sched *s, int64_t t_ns, struct thaw_err *err);

/* Feeds one event (after core_sched_start, else THAW_ESTATE). THAW_EINVAL
 * for an event of unknown kind, that names an unknown model, GPU, node, load
 * or instance, or that goes back in time; the scheduler is unchanged then (and
 * the previous call's actions stay readable). THAW_ENOMEM: an allocation
 * failed, the actions may be incomplete; free the scheduler. Events that
 * are merely stale (a LOAD_FINISHED for a cancelled load, a fill finished on
 * a failed node, a REQUEST_FINISHED for a requeued request) are ignored and
 * return 0. */
int core_sched_feed(struct core_sched *s, const struct core_event *ev, struct thaw_err *err);

/* The actions produced by the last start/feed call, in order. */
size_t core_sched_actions(const struct core_sched *s, const struct core_action **out);

/* Verifies the invariants (VRAM reservations <= capacity on every GPU and
 * match its instances; load limits; shm use <= capacity, one fill per node;
 * READY instances on healthy GPUs; the queue in policy order; no request
 * waits beside a free slot, and every waiting request has a load queued or
 * in flight for its model unless replicas_max forbids it or the model is
 * broken; no load in two places). Returns 0 or THAW_EINVARIANT with the
 * broken one in err. */
int core_sched_check(const struct core_sched *s, struct thaw_err *err);

/* Counters for the record. */
struct core_stats {
    uint64_t shm_hits;   /* loads started from shm */
    uint64_t shm_misses; /* loads started from storage */
    uint64_t loads_started;
    uint64_t evictions;
    uint64_t requests_waiting; /* now */
    uint64_t sleeps, wakes;    /* standby sleep: SLEEP and WAKE actions */
    uint64_t disk_hits;        /* loads started from a disk cache */
    uint64_t peer_loads;       /* loads started by copying from a peer */
    uint64_t store_loads;      /* loads started from a remote store */
    uint64_t peer_fallbacks;   /* peer copies cut by the peer's fault, requeued */
};
void core_sched_stats(const struct core_sched *s, struct core_stats *out);

/* What is left at the end of a run, so the record misses nothing.
 * core_sched_queued: the jobs still in the cold-start queue, in queue
 * order (i < core_sched_queued_count); never started, so no load id, GPU or
 * source; `hot` marks a hot-standby job (no request waits for it).
 * core_sched_waiting: calls fn for every request still waiting, models in
 * index order then wait-queue order, with its cold flag (a serving load of
 * its model was queued or in flight while it waited, as DISPATCH.cold). */
struct core_queued_job {
    int model;
    enum core_reason reason;
    bool hot;
    int priority;
    int64_t enqueued_ns;
    int64_t deadline_ns; /* absolute; INT64_MAX: none */
};
size_t core_sched_queued_count(const struct core_sched *s);
void core_sched_queued(const struct core_sched *s, size_t i, struct core_queued_job *out);
void core_sched_waiting(const struct core_sched *s,
                        void (*fn)(uint64_t request, int model, bool cold, void *ctx), void *ctx);

/* VRAM fragmentation for tensor-parallel gangs: free VRAM on usable GPUs
 * that no gang of any tp > 1 model could use now, i.e. on GPUs g where for
 * every such model either g lacks its per-GPU share or g's node lacks K
 * usable GPUs with it. 0 when the spec has no tp > 1 model. */
uint64_t core_sched_gang_stranded_bytes(const struct core_sched *s);

/* Text names for records and logs (static strings). */
const char *core_source_name(enum core_source s);
const char *core_reason_name(enum core_reason r);
const char *core_inst_state_name(enum core_inst_state s);
const char *core_event_kind_name(enum core_event_kind k);
const char *core_action_kind_name(enum core_action_kind k);

/* One line of text per action, stable across runs (for determinism tests
 * and `thaw replay`): "t=... START_LOAD load=1 inst=1 model=0 gpu=0 ...". */
void core_action_format(const struct core_action *a, char *buf, size_t len);

/* Strict decimal integers, for every integer a user types outside a
 * scenario (command-line values, run id lists, grid seeds): ASCII digits
 * only, core_parse_i64 also a leading '-'; no spaces, no '+', no empty
 * text, in [lo, hi]. With end NULL the whole text must be the number;
 * otherwise *end receives the first character after the digits (for lists
 * such as "1,4-6" or "K/N"). Returns 0, THAW_EINVAL (not such an integer)
 * or THAW_ERANGE (outside [lo, hi], or too large for 64 bits). */
int core_parse_u64(const char *s, uint64_t lo, uint64_t hi, const char **end, uint64_t *out);
int core_parse_i64(const char *s, int64_t lo, int64_t hi, const char **end, int64_t *out);

#endif

/* core_internal.h - the scheduler's state and the seams between its files.
 * sched.c owns the event handling; queue.c, placement.c, evict.c, shm_cache.c,
 * balancer.c and autoscale.c each hold one concern and read or change this
 * state through the helpers declared here. Nothing here is public: drivers
 * see only core.h. */
#ifndef THAW_CORE_INTERNAL_H
#define THAW_CORE_INTERNAL_H

#include "core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORE_NO_TIME INT64_MAX

/* ---- state ---------------------------------------------------------------- */

enum core_shm_state {
    CORE_SHM_NONE = 0,
    CORE_SHM_QUEUED,   /* admitted (space reserved), waiting for the node's fill slot */
    CORE_SHM_FILLING,  /* START_SHM_FILL emitted, not finished */
    CORE_SHM_RESIDENT, /* weights in the cache: loads on this node read from shm */
};

struct core_shm_entry {
    enum core_shm_state state;
    bool pinned; /* preloaded: never dropped by the lru shm policy */
    int64_t last_used_ns;
    uint64_t admit_seq; /* fills start in admission order */
};

struct core_node_state {
    bool failed;
    int loads;                   /* loads in flight on the node's GPUs */
    uint64_t shm_used_bytes;     /* QUEUED + FILLING + RESIDENT entries */
    struct core_shm_entry *shm;  /* one per model */
    int shm_queued, shm_filling; /* entries in those states: fills need no scan when idle */
    uint64_t host_used_bytes;    /* sleeping and waking instances' weights (sleep.c) */
    /* The disk-cache rung (ladder.c), kept like the shm one; NULL when the
     * node has none. disk_policy: its admission (a core_shm_policies entry). */
    struct core_shm_entry *disk;
    uint64_t disk_used_bytes;
    int disk_queued, disk_filling;
    const struct core_shm_policy *disk_policy;
};

struct core_gpu_state {
    bool failed; /* the GPU itself; it is usable only when its node is up too */
    int loads;
    uint64_t reserved_bytes;
    /* VRAM of the GPU's idle instances (core_inst_idle): free + this bounds
     * the room any eviction could make there */
    uint64_t idle_bytes;
};

struct core_inst {
    /* The fields every dispatch, finish and free-set visit reads come
     * first, in one 64-byte line: id; its node in its model's free set
     * (books.c: a treap keyed (c_key, id), children by instance index,
     * SIZE_MAX none, c_size nodes below); what decides its membership. */
    uint64_t id;
    int64_t c_key;
    size_t c_left, c_right, c_size;
    int model;
    enum core_inst_state state;
    int outstanding;
    bool hot; /* a hot standby: READY but never given requests */
    bool c_in;
    uint64_t load; /* 0 for an instance placed READY at start */
    /* its requests in service, core_inst_reqs: here when `concurrency` is
     * at most CORE_INLINE_REQS (reqs NULL), else in reqs */
    uint64_t req_inline[2];
    uint64_t job_seq;
    int gpu;
    enum core_reason reason;
    int64_t loaded_ns;
    int64_t last_used_ns;
    uint64_t vram_bytes; /* reserved while LOADING or READY, else 0 */
    uint64_t *reqs; /* `concurrency` slots (or NULL: req_inline); the first `outstanding` in use */
    /* The GPUs it spans (gang.c): gang[0] == gpu, ascending, one node;
     * vram_bytes above is reserved on each of them. tp >= 1. */
    int tp;
    int gang[CORE_TP_MAX];
    bool waking; /* LOADING from host memory (a WAKE), not from storage */
    int node;    /* SLEEPING: where its weights are */
    int peer_copies; /* loads copying from it now (peer.c): not idle, never evicted */
    enum core_source source; /* where its load read (ladder.c) */
};

struct core_job {
    uint64_t seq; /* unique, in order of queueing: the last tie-break */
    int model;
    enum core_reason reason;
    bool hot; /* the instance it makes becomes the model's hot standby */
    int priority;
    int64_t enqueued_ns;
    int64_t deadline_ns; /* absolute; CORE_NO_TIME = none */
    double est_s;        /* expected lone load time: set by sjf, else 0 */
};

struct core_wait {
    uint64_t request;
    bool cold;
};

/* A ring buffer: requeued requests go to the front, arrivals to the back. */
struct core_waitq {
    struct core_wait *items;
    size_t cap, head, len;
};

/* A model's instances and queued jobs; every count but `hot` leaves hot
 * standbys out. */
struct core_model_count {
    int ready;      /* READY, not hot */
    int loading;    /* LOADING, not hot */
    int queued;     /* queued jobs, not hot */
    int hot;        /* hot standbys READY, LOADING or queued */
    int ready_free; /* READY, not hot, with a free slot on a healthy GPU */
};

struct core_model_state {
    struct core_waitq wait;
    int concurrency;
    bool broken;      /* a load of it failed: nothing is queued for it automatically */
    uint64_t rr_last; /* round_robin: id of the last instance chosen */
    /* The model's share of core_sched.live (same ascending id order) and of
     * the job queue, so per-model questions cost the model's own instances,
     * not every instance in the cluster. */
    size_t *live;
    size_t live_count, live_cap;
    int jobs, jobs_hot; /* queued jobs of the model; of them hot standbys */
    size_t *sleepers;   /* SLEEPING instances of the model, ascending id (sleep.c) */
    size_t sleeper_count, sleeper_cap;
    /* books.c: the live instances' ready, loading and hot counts (queued
     * and ready_free unused), and the root of the free set: the READY
     * serving instances with a free slot, in the balancer's order. */
    struct core_model_count live_counts;
    size_t cand_root;
};

/* ---- policy tables (names exactly core_policy_names(kind)) ------------------ */
/* What the scheduler needs to know about a policy is a field of its entry:
 * sched.c never compares a policy's name (tests/core/test_policy_tables). */

struct core_sched;

struct core_queue_policy {
    const char *name;
    /* <0 when a goes before b. Never 0 for distinct jobs (seq breaks ties). */
    int (*cmp)(const struct core_job *a, const struct core_job *b, double aging_per_s);
    /* Fills the job fields only this policy's cmp reads (sjf: est_s) when
     * the job is queued, so the others skip their cost. NULL: none. */
    void (*prepare)(const struct core_sched *s, struct core_job *job);
};

struct core_placement_policy {
    const char *name;
    /* A GPU among those with fits[g] set, or -1 when none is. */
    int (*pick)(const struct core_sched *s, int model, const unsigned char *fits);
    /* A tensor-parallel gang: k GPUs of one node among those with fits[g]
     * set, into gang[0..k-1] ascending; false when no node has k. */
    bool (*pick_gang)(const struct core_sched *s, int model, const unsigned char *fits, int k,
                      int *gang);
};

struct core_eviction_policy {
    const char *name;
    /* Whether this idle instance (core_inst_idle) may be evicted at s->now.
     * NULL: never evict; a load waits until room appears. */
    bool (*may_evict)(const struct core_sched *s, const struct core_inst *in);
    /* may_evict holds for every idle instance, so the per-GPU idle_bytes
     * bound the room eviction can make without a scan. */
    bool any_idle;
    /* When may_evict may next turn true for this idle instance without any
     * event (keep_alive: last_used + keep_alive_ns); times <= s->now are
     * ignored. The core asks a WAKE_AT for the earliest while jobs wait.
     * NULL: the answer changes only with events. */
    int64_t (*evictable_at_ns)(const struct core_sched *s, const struct core_inst *in);
};

struct core_shm_policy {
    const char *name;
    /* pin preload_to_shm and warm-standby models at start and when a node
     * recovers */
    bool preload;
    bool admit_on_load; /* a storage load also fills the cache (lru) */
};

struct core_balancer_policy {
    const char *name;
    /* The order of a model's free set (books.c): by this key, then id. */
    int64_t (*key)(const struct core_inst *in);
    /* An instance index from the model's free set (not empty). */
    size_t (*pick)(struct core_sched *s, int model);
};

/* The autoscaler, run once per autoscale_period_ns from the start while
 * `scale` is set (autoscale.c keeps the period and asks for the wake-ups). */
struct core_autoscale_policy {
    const char *name;
    /* One model's step at a due period, models in index order. NULL: no
     * autoscaler (no period, no wake-ups). */
    void (*scale)(struct core_sched *s, int model);
};

extern const struct core_queue_policy core_queue_policies[];
extern const struct core_placement_policy core_placement_policies[];
extern const struct core_eviction_policy core_eviction_policies[];
extern const struct core_shm_policy core_shm_policies[];
extern const struct core_balancer_policy core_balancer_policies[];
extern const struct core_autoscale_policy core_autoscale_policies[];

/* By name; NULL when unknown. */
const struct core_queue_policy *core_queue_policy_find(const char *name);
const struct core_placement_policy *core_placement_policy_find(const char *name);
const struct core_eviction_policy *core_eviction_policy_find(const char *name);
const struct core_shm_policy *core_shm_policy_find(const char *name);
const struct core_balancer_policy *core_balancer_policy_find(const char *name);
const struct core_autoscale_policy *core_autoscale_policy_find(const char *name);
/* The autoscaler a spec selects: its on/off switch (policy.autoscale) names
 * an entry of core_autoscale_policies. */
const struct core_autoscale_policy *core_autoscale_policy_of(const struct core_policy_spec *p);

/* ---- the scheduler ------------------------------------------------------------ */

struct core_sched {
    const struct core_spec *spec;
    const struct core_queue_policy *queue;
    const struct core_placement_policy *placement;
    const struct core_eviction_policy *eviction;
    const struct core_shm_policy *shm;
    const struct core_balancer_policy *balancer;
    const struct core_autoscale_policy *autoscaler;

    bool started;
    bool oom; /* an allocation failed: the call reports THAW_ENOMEM */
    int64_t now;

    struct core_gpu_state *gpus;
    struct core_node_state *nodes;
    struct core_model_state *models;

    struct core_inst *insts; /* every instance ever made; id = index + 1 */
    size_t inst_count, inst_cap;
    size_t *live; /* indices of LOADING and READY instances, ascending id */
    size_t live_count, live_cap;
    size_t *load_inst; /* load id - 1 -> instance index */
    size_t load_count, load_cap;

    struct core_job *jobs; /* the cold-start queue, kept in policy order */
    size_t job_count, job_cap;
    uint64_t next_job_seq;

    struct core_action *acts;
    size_t act_count, act_cap;

    /* One bit per model whose wait queue is not empty, so the per-event
     * passes visit waiting models in index order without a scan of all; and
     * one per model whose state (wait queue, instances, jobs) changed since
     * the dispatch pass, resp. the demand pass, last looked at it: a model
     * that pass left alone and that did not change would be left alone
     * again, so the passes visit only waiting models with the bit set. */
    uint64_t *waiting, *dirty_dispatch, *dirty_demand;
    size_t model_words;
    /* One bit per word of each dirty bitmap that may have a bit set, so a
     * pass skips clean words without reading them (a 1,000-model run has
     * 16 words, read three times per event otherwise); kept only when the
     * bitmaps have more than one word. */
    uint64_t *dirty_dispatch_sum, *dirty_demand_sum;
    size_t sum_words;
    /* Queued jobs per distinct vram size (sizes ascending; need_class maps a
     * model to its size), so start_jobs knows the smallest need queued. */
    uint64_t *class_need;
    size_t *class_jobs, class_count;
    int *need_class;
    uint64_t *room; /* start_jobs' scratch: evictable bytes per GPU */

    /* evict.c's scratch, sized at start: candidates, freed per GPU, taken
     * per model */
    struct core_evict_cand *ev_cand;
    size_t ev_cand_cap;
    uint64_t *ev_freed;
    int *ev_taken;

    uint64_t rng; /* splitmix64 state, from spec->seed */
    uint64_t shm_seq;
    int64_t next_autoscale_ns; /* CORE_NO_TIME when the autoscaler is off */
    int64_t wake_pending_ns;   /* last WAKE_AT asked for */
    struct core_stats stats;
    /* peer.c: the loads copying from a peer now, in start order */
    struct core_peer_copy *peer_copies;
    size_t peer_copy_count, peer_copy_cap;
    uint64_t disk_seq;
    /* books.c: a max tree of core_gpu_room over the GPUs (room_leaves
     * leaves, root at 1) and the GPUs touched since it was last read. */
    uint64_t *room_tree;
    size_t room_leaves;
    unsigned char *room_dirty;
    int *room_dirty_list;
    size_t room_dirty_n;
    /* Nodes whose shm (disk) fill state changed since the fill pass last
     * looked (an entry queued, a fill ended or dropped, the node back): the
     * pass visits only these, in node order; the others it left alone and
     * would leave alone again. node_words words each. */
    uint64_t *shm_due, *disk_due;
    size_t node_words;
};

/* ---- helpers shared by the files (sched.c) ------------------------------------ */

static inline bool core_gpu_healthy(const struct core_sched *s, int g)
{
    return !s->gpus[g].failed && !s->nodes[s->spec->gpus[g].node].failed;
}

/* t + d without overflow (times near INT64_MAX mean "never"). */
static inline int64_t core_time_add(int64_t t, int64_t d)
{
    if (d > 0 && t > INT64_MAX - d) return INT64_MAX;
    if (d < 0 && t < INT64_MIN - d) return INT64_MIN;
    return t + d;
}

/* An instance eviction could take: READY, serving, no request outstanding.
 * core_gpu_state.idle_bytes sums these. */
static inline bool core_inst_idle(const struct core_inst *in)
{
    return in->state == CORE_INST_READY && !in->hot && in->outstanding == 0 &&
           in->peer_copies == 0;
}

static inline void core_model_touch(struct core_sched *s, int m)
{
    s->dirty_dispatch[m / 64] |= 1ULL << (m % 64);
    s->dirty_demand[m / 64] |= 1ULL << (m % 64);
    if (s->model_words > 1) {
        s->dirty_dispatch_sum[m / 4096] |= 1ULL << ((m / 64) % 64);
        s->dirty_demand_sum[m / 4096] |= 1ULL << ((m / 64) % 64);
    }
}

/* books.c: every change to an instance's state, hot, outstanding, last use
 * or peer copies goes between core_books_out and core_books_in (which also
 * mark the model changed); an instance left in a state other than LOADING
 * or READY needs no core_books_in. */
void core_books_out(struct core_sched *s, const struct core_inst *in);
void core_books_in(struct core_sched *s, const struct core_inst *in);
/* The model's free set: its size; its first instance (least key, then id);
 * the first with an id above `id`; the k-th by order. SIZE_MAX when none. */
size_t core_free_count(const struct core_sched *s, int model);
size_t core_free_first(const struct core_sched *s, int model);
size_t core_free_after_id(const struct core_sched *s, int model, uint64_t id);
size_t core_free_nth(const struct core_sched *s, int model, size_t k);
/* The room tree: GPU g's free VRAM, idle bytes, load counts or health
 * changed (core_gpu_touch; a node's: each of its GPUs); the largest
 * core_gpu_room of any GPU, the touched ones refreshed first. */
int core_room_init(struct core_sched *s); /* 0 or THAW_ENOMEM */
void core_room_free(struct core_sched *s);
void core_gpu_touch_slow(struct core_sched *s, int g);
static inline void core_gpu_touch(struct core_sched *s, int g)
{
    if (!s->room_dirty[g]) core_gpu_touch_slow(s, g);
}
void core_node_touch(struct core_sched *s, int node);
uint64_t core_room_max(struct core_sched *s);
/* What a load could find on GPU g: 0 unless allowed (core_gpu_allowed);
 * its free VRAM, plus its idle bytes when the eviction policy may take
 * any idle instance. */
uint64_t core_gpu_room(const struct core_sched *s, int g);
/* Recount one model's counts and free set, resp. the room tree's clean
 * leaves: 0 or THAW_EINVARIANT. */
int core_books_check_model(const struct core_sched *s, int m, struct thaw_err *err);
int core_books_check_room(const struct core_sched *s, struct thaw_err *err);

#define CORE_INLINE_REQS 2

/* The instance's request slots (the first `outstanding` in use). */
static inline uint64_t *core_inst_reqs(struct core_inst *in)
{
    return in->reqs ? in->reqs : in->req_inline;
}

static inline const uint64_t *core_inst_reqs_c(const struct core_inst *in)
{
    return in->reqs ? in->reqs : in->req_inline;
}

/* Whether the instance spans GPU g. */
static inline bool core_inst_on(const struct core_inst *in, int g)
{
    for (int i = 0; i < in->tp; i++)
        if (in->gang[i] == g) return true;
    return false;
}

/* VRAM a load of the model needs on each GPU it goes to. */
static inline uint64_t core_model_need(const struct core_sched *s, int m)
{
    return core_model_share_bytes(&s->spec->models[m]);
}

static inline uint64_t core_gpu_free(const struct core_sched *s, int g)
{
    uint64_t total = s->spec->gpus[g].vram_bytes, used = s->gpus[g].reserved_bytes;
    return used >= total ? 0 : total - used;
}

/* Healthy and within the load limits: a load may go there if it fits. */
static inline bool core_gpu_allowed(const struct core_sched *s, int g)
{
    const struct core_spec *sp = s->spec;
    return core_gpu_healthy(s, g) &&
           (sp->policy.max_loads_per_gpu <= 0 || s->gpus[g].loads < sp->policy.max_loads_per_gpu) &&
           (sp->policy.max_loads_per_node <= 0 ||
            s->nodes[sp->gpus[g].node].loads < sp->policy.max_loads_per_node);
}

/* Appends an action stamped s->now (sets s->oom on failure). */
void core_emit(struct core_sched *s, const struct core_action *a);
/* Cancels a LOADING instance's load: CANCEL_LOAD, VRAM released, FAILED,
 * INSTANCE_STATE (peer.c, when the peer it copied from is lost). */
void core_inst_cancel_load(struct core_sched *s, size_t idx);
/* Evicts a READY instance: releases VRAM, emits EVICT and INSTANCE_STATE. */
void core_inst_evict(struct core_sched *s, size_t idx);
void core_model_count(const struct core_sched *s, int model, struct core_model_count *c);
/* replicas_max as the core uses it: never below replicas_min. */
int core_model_max(const struct core_sched *s, int model);
/* Queues a load job; marks the model's waiting requests cold when it serves. */
void core_job_queue(struct core_sched *s, int model, enum core_reason reason, bool hot);

/* Recounts the incremental bookkeeping (per-model lists and job counts,
 * idle bytes, waiting bits, shm counters) from scratch: 0 when it agrees,
 * else THAW_EINVARIANT with what differs in err. For tests. */
int core_sched_check_books(const struct core_sched *s, struct thaw_err *err);

/* queue.c */
int core_queue_insert(struct core_sched *s, const struct core_job *job);
void core_queue_remove(struct core_sched *s, size_t pos);

/* evict.c: evicts idle instances so that a GPU allowed by `allowed` has
 * `need` bytes free; returns that GPU or -1 (nothing evicted then). */
int core_evict_for(struct core_sched *s, int model, const unsigned char *allowed, uint64_t need);
struct core_evict_cand {
    int64_t last_used_ns;
    uint64_t id;
    size_t idx;
};
/* qsort order of candidates: least recently used first, then lowest id (a
 * total order, so the sort is repeatable); shared with gang.c. */
int core_evict_lru_order(const void *pa, const void *pb);
/* READY serving (non-hot) instances of a model: what replicas_min counts. */
int core_ready_count(const struct core_sched *s, int model);
/* The eviction passes' shared steps (evict.c, gang.c): room in ev_cand for
 * every live instance (false, s->oom set, on ENOMEM); a candidate taken in
 * LRU order - false (its id set 0) when it is the last replica its model's
 * replicas_min needs, else counted in ev_taken and its VRAM in ev_freed on
 * each of its GPUs; those scratch counts cleared for n candidates. */
bool core_evict_reserve(struct core_sched *s);
bool core_evict_take(struct core_sched *s, struct core_evict_cand *c);
void core_evict_reset(struct core_sched *s, const struct core_evict_cand *cand, size_t n);

/* gang.c: tensor-parallel instances (tp > 1). core_gang_place picks the
 * gang for a queued job of a tp model: a fitting gang by placement policy,
 * else eviction of idle instances so that k GPUs of one node get room;
 * false when neither (nothing evicted then). core_gang_act copies the
 * instance's gang into an action. */
bool core_gang_place(struct core_sched *s, int model, const unsigned char *allowed, int *gang);
void core_gang_act(struct core_action *a, const struct core_inst *in);
/* Single-GPU eviction helper for victims that span several GPUs: whether
 * any of the instance's GPUs is set in mask. */
bool core_gang_any(const struct core_inst *in, const unsigned char *mask);

/* sleep.c: standby sleep. core_sleep_instead: called by core_inst_evict
 * for its victim; true when it slept instead (SLEEP emitted, VRAM freed).
 * core_sleep_wake: for queued job `pos` (not started), wakes a sleeper of
 * its model onto GPUs of the sleeper's node allowed[] lets it use: free
 * room by policy, or with evict room made by eviction there; true when it
 * did (the job left the queue). try_start asks in this order: a wake into
 * free room, a wake by eviction (on the sleeper's node), then a cold load
 * (free room first, then eviction): a wake costs a copy from host memory
 * and the wake cost, a cold load storage, init and every phase. core_sleep_load_done /
 * core_sleep_lost: a waking instance's load ended (ok or not) or was lost to a fault: its host
 * memory is freed. core_sleep_node_failed: the node's sleepers are lost with its memory. */
bool core_sleep_instead(struct core_sched *s, size_t idx);
bool core_sleep_wake(struct core_sched *s, size_t pos, const unsigned char *allowed, bool evict);
void core_sleep_load_done(struct core_sched *s, struct core_inst *in);
void core_sleep_node_failed(struct core_sched *s, int node);
/* sched.c pieces sleep.c reuses. */
void core_inst_emit_state(struct core_sched *s, size_t idx);
void core_inst_live_add(struct core_sched *s, size_t idx);
void core_inst_live_remove(struct core_sched *s, size_t idx);
bool core_load_register(struct core_sched *s, size_t idx);
void core_inst_release(struct core_sched *s, struct core_inst *in);

static inline void core_fill_due(uint64_t *due, int node)
{
    due[node / 64] |= 1ULL << (node % 64);
}
/* Whether any node is due (the fill passes return at once when none). */
static inline bool core_any_due(const struct core_sched *s, const uint64_t *due)
{
    for (size_t w = 0; w < s->node_words; w++)
        if (due[w]) return true;
    return false;
}
/* The first due node >= node, its bit cleared; -1 when none (sched.c). */
int core_next_due(struct core_sched *s, uint64_t *due, int node);

/* shm_cache.c */
bool core_shm_resident(const struct core_sched *s, int node, int model);
void core_shm_preload(struct core_sched *s, int node);
void core_shm_on_storage_load(struct core_sched *s, int node, int model);
void core_shm_touch(struct core_sched *s, int node, int model);
void core_shm_start_fills(struct core_sched *s);
void core_shm_fill_done(struct core_sched *s, int node, int model, bool ok);
void core_shm_node_failed(struct core_sched *s, int node);
uint64_t core_shm_entry_bytes(const struct core_sched *s, int model);

/* ladder.c: the source a load reads from and the disk-cache rung. */
struct core_pick {
    enum core_source source;
    size_t peer; /* instance index when source is CORE_SRC_PEER */
    double bps;  /* the lone path bandwidth of that source */
};
int core_ladder_init(struct core_sched *s); /* at core_sched_new: 0 or THAW_ENOMEM */
void core_ladder_free(struct core_sched *s);
/* The source of a load of model onto gpu: the highest rung of the ladder
 * that holds the weights (shm when resident on the node, as before the
 * ladder; else the node's disk cache when resident; else the model's
 * store or local storage); then a peer instead when policy.peer is on and
 * its path is strictly faster (peer.c). Shared pipes count at their
 * expected share now: a store's, a disk's or a peer's bandwidth divided
 * among the loads already reading it plus this one. */
void core_ladder_pick(const struct core_sched *s, int model, int gpu, struct core_pick *out);
/* The same for a load onto gang[0..tp-1] (gang[0] the load's gpu; tp 1:
 * core_ladder_pick): the rungs as seen from gang[0], a peer by
 * core_peer_best_gang. */
void core_ladder_pick_gang(const struct core_sched *s, int model, int tp, const int *gang,
                           struct core_pick *out);
/* After START_LOAD from pk: counters, lru touch, the peer copy's
 * bookkeeping, and lru admission to the disk rung of a load that read no
 * rung of its node (store, local storage or a peer). */
void core_ladder_on_load(struct core_sched *s, size_t inst, const struct core_job *job,
                         const struct core_pick *pk);
/* Where an shm fill of model on node reads: the disk cache when resident,
 * else the model's store or local storage. */
enum core_source core_ladder_fill_source(const struct core_sched *s, int node, int model);
/* The model's base rung: CORE_SRC_STORE or CORE_SRC_STORAGE. */
enum core_source core_ladder_base(const struct core_sched *s, int model);
bool core_disk_resident(const struct core_sched *s, int node, int model);
void core_disk_preload(struct core_sched *s, int node);
void core_disk_start_fills(struct core_sched *s);
void core_disk_fill_done(struct core_sched *s, int node, int model, bool ok);
void core_disk_node_failed(struct core_sched *s, int node);
/* The ladder's invariants (core_sched_check): disk use matches its entries
 * and fits, one disk fill per node, a failed node keeps only resident
 * entries of a disk that survives, every peer copy's load is LOADING and
 * its peer counts it. 0 or THAW_EINVARIANT. */
int core_ladder_check(const struct core_sched *s, struct thaw_err *err);
/* Lone path bandwidth of a copy of the model onto gpu from a rung
 * (CORE_SRC_STORAGE, SHM, DISK, STORE); 0 when the path lacks a link. */
double core_ladder_bps(const struct core_spec *sp, int model, int gpu, enum core_source src);

/* peer.c: copies from a READY instance of the same model. */
struct core_peer_copy {
    uint64_t load;    /* the copying load */
    size_t inst;      /* its instance */
    size_t peer;      /* the instance copied from */
    enum core_reason reason;
    bool hot;
    int64_t enqueued_ns;
    uint64_t job_seq;
};
/* The best peer for a load of model onto gpu: a READY instance of the
 * model on another healthy GPU with a path (same node: both GPUs' NVLink;
 * another node: both nodes' network links and the target's h2d). Highest
 * lone bandwidth, then fewest copies from it, then lowest id; SIZE_MAX when
 * none. *bps gets its bandwidth. */
size_t core_peer_best(const struct core_sched *s, int model, int gpu, double *bps);
/* The same for a tp K load onto gang[0..K-1]: a READY tp K instance of the
 * model whose GPUs are all healthy and none in the gang; shard i copies from
 * its gang member i. Its bandwidth is the slowest shard's lone path (one
 * node: both GPUs' NVLink; across nodes the K shards share both network
 * links: 1/K of them each), over 1 + the copies from it now. tp 1: as
 * core_peer_best. */
size_t core_peer_best_gang(const struct core_sched *s, int model, int tp, const int *gang,
                           double *bps);
void core_peer_begin(struct core_sched *s, size_t inst, size_t peer, const struct core_job *job);
/* The load finished (ok or not) or was cancelled: its copy record ends. */
void core_peer_load_end(struct core_sched *s, uint64_t load);
/* After fail_gpus marked instances FAILED: every load copying from a peer
 * that failed is cancelled (CANCEL_LOAD, FAILED) and its job queued again
 * with its reason and enqueued time, to start from the best rung left. */
void core_peer_after_fault(struct core_sched *s);

/* balancer.c */
uint64_t core_rng_next(uint64_t *state);

/* autoscale.c: runs the autoscaler when its period is due (once, however
 * many periods passed) and moves next_autoscale_ns to the next due time. */
void core_autoscale_run(struct core_sched *s);

#endif

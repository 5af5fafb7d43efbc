/* shell.c - the driver shell of shell.h: the loop, the feed, the actions the
 * shell carries out itself (wake-ups, the records, the request and load
 * tables) and the calls into the driver's methods for the rest. One struct
 * shell holds a whole run, so runs in parallel threads share nothing. */
#include "shell.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct shell_source {
    struct shell_ev ev;
    int index; /* wl_world source */
};

struct fault_state {
    bool down;
    int64_t failed_ns;
};

/* Requests in flight by id: open addressing with linear probing over
 * (id, request) slots, the id inline so a probe never follows a pointer
 * (id 0, never given, marks an empty slot), Fibonacci hashing of the
 * sequential ids, deletion by backward shift (no tombstones). Only lookups
 * go through it; iteration at the end sorts by id where rows are kept, so
 * addresses never decide an order. */
struct req_slot {
    uint64_t id;
    struct shell_req *r;
};

struct req_map {
    struct req_slot *slots;
    size_t mask, count;
    int shift; /* 64 - log2(capacity) */
};

/* Requests come from a pool: chunks of cells, a freed one on a free list,
 * so a request costs no malloc; the pool holds as many as were ever in
 * flight at once. Under AddressSanitizer a cell not handed out is
 * poisoned, so a use after release is reported as malloc's would be. */
#if defined(__SANITIZE_ADDRESS__)
#define THAW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define THAW_ASAN 1
#endif
#endif
#ifdef THAW_ASAN
#include <sanitizer/asan_interface.h>
#define CELL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define CELL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define CELL_POISON(p, n) ((void)(p), (void)(n))
#define CELL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
union req_cell {
    struct shell_req r;
    union req_cell *next;
};

#define REQ_CHUNK 512

struct req_pool {
    union req_cell *free;
    union req_cell **chunks;
    size_t chunk_count, chunk_cap, used; /* cells handed out of the last chunk */
};

struct shell {
    struct core_spec spec; /* a shallow copy carrying the seed override */
    struct shell_opts opts;
    const struct shell_methods *m;
    void *drv;
    struct shell_heap heap;
    struct core_sched *core;
    struct wl_world *world;
    struct shell_source *sources;
    int source_count;
    struct fault_state *faults;
    struct shell_ev tick;
    int64_t *wakes; /* pending wake times, ascending, distinct */
    size_t wake_count, wake_cap;
    bool idle_tick;            /* the last event was a tick that changed nothing */
    struct shell_load **loads; /* by load id; NULL once finished */
    size_t load_cap;
    uint64_t last_load; /* the highest load id the core started */
    /* Jobs the core dropped unstarted (DROP_JOB), recorded at the end with
     * load ids after the last started load, before those still queued. */
    struct core_action *dropped;
    size_t dropped_count, dropped_cap;
    struct req_map reqs;
    struct req_pool req_pool;
    uint64_t next_request;
    struct res_db *db;
    int64_t run_id;
    struct res_action_log *alog;
    uint64_t seq;              /* core events fed */
    bool carrying_out;         /* inside an event's actions: no feeding now */
    bool in_fault;             /* feeding a failure: its CANCEL_LOADs lost their GPU */
    int fault_gpu, fault_node; /* that failure's GPU (-1: a node's) and node */
    struct shell_counts counts;
    struct thaw_err *err;
    /* standby sleep, for its metrics (record_sleep_metrics) */
    uint64_t sleeps, wakes_ok, sleep_cold_loads;
    int64_t wake_ns_sum;
    unsigned char *loaded_before; /* per model: a load of it has started */
    /* gang fragmentation (specs with a tp > 1 model): the integral of
     * core_sched_gang_stranded_bytes over time, up to frag_t_ns */
    bool frag_on;
    double frag_integral;
    int64_t frag_t_ns;
};

/* ---- request map ------------------------------------------------------- */

static size_t req_home(uint64_t id, int shift)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> shift);
}

static int req_map_put(struct req_map *m, struct shell_req *r)
{
    if ((m->count + 1) * 2 > m->mask + 1 || !m->slots) {
        size_t cap = m->slots ? (m->mask + 1) * 2 : 1024;
        int shift = 64;
        for (size_t c = cap; c > 1; c >>= 1)
            shift--;
        struct req_slot *slots = calloc(cap, sizeof *slots);
        if (!slots) return THAW_ENOMEM;
        for (size_t i = 0; m->slots && i <= m->mask; i++) {
            if (!m->slots[i].id) continue;
            size_t j = req_home(m->slots[i].id, shift);
            while (slots[j].id)
                j = (j + 1) & (cap - 1);
            slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->mask = cap - 1;
        m->shift = shift;
    }
    size_t j = req_home(r->id, m->shift);
    while (m->slots[j].id)
        j = (j + 1) & m->mask;
    m->slots[j] = (struct req_slot){r->id, r};
    m->count++;
    return 0;
}

static size_t req_map_find_slot(const struct req_map *m, uint64_t id)
{
    if (!m->slots || !id) return SIZE_MAX;
    size_t j = req_home(id, m->shift);
    while (m->slots[j].id) {
        if (m->slots[j].id == id) return j;
        j = (j + 1) & m->mask;
    }
    return SIZE_MAX;
}

static void req_map_del(struct req_map *m, uint64_t id)
{
    size_t j = req_map_find_slot(m, id);
    if (j == SIZE_MAX) return;
    m->slots[j] = (struct req_slot){0, NULL};
    m->count--;
    /* Backward shift: pull later members of the probe run into the hole
     * unless their home slot lies cyclically in (hole, their slot]. */
    size_t i = (j + 1) & m->mask;
    while (m->slots[i].id) {
        size_t home = req_home(m->slots[i].id, m->shift);
        bool stays = (j < i) ? (home > j && home <= i) : (home > j || home <= i);
        if (!stays) {
            m->slots[j] = m->slots[i];
            m->slots[i] = (struct req_slot){0, NULL};
            j = i;
        }
        i = (i + 1) & m->mask;
    }
}

/* ---- request pool -------------------------------------------------------- */

/* A request to fill in (on_arrival sets every field), or NULL when out of
 * memory. */
static struct shell_req *req_alloc(struct req_pool *p)
{
    union req_cell *c = p->free;
    if (c) {
        CELL_UNPOISON(c, sizeof *c);
        p->free = c->next;
    } else {
        if (p->chunk_count == 0 || p->used == REQ_CHUNK) {
            if (p->chunk_count == p->chunk_cap) {
                size_t cap = p->chunk_cap ? p->chunk_cap * 2 : 16;
                union req_cell **g = realloc(p->chunks, cap * sizeof *g);
                if (!g) return NULL;
                p->chunks = g;
                p->chunk_cap = cap;
            }
            union req_cell *chunk = malloc(REQ_CHUNK * sizeof *chunk);
            if (!chunk) return NULL;
            CELL_POISON(chunk, REQ_CHUNK * sizeof *chunk);
            p->chunks[p->chunk_count++] = chunk;
            p->used = 0;
        }
        c = &p->chunks[p->chunk_count - 1][p->used++];
        CELL_UNPOISON(c, sizeof *c);
    }
    return &c->r;
}

static void req_release(struct req_pool *p, struct shell_req *r)
{
    union req_cell *c = (union req_cell *)r;
    c->next = p->free;
    p->free = c;
    CELL_POISON(c, sizeof *c);
}

static void req_pool_free(struct req_pool *p)
{
    for (size_t i = 0; i < p->chunk_count; i++) {
        CELL_UNPOISON(p->chunks[i], REQ_CHUNK * sizeof *p->chunks[i]);
        free(p->chunks[i]);
    }
    free(p->chunks);
    memset(p, 0, sizeof *p);
}

struct shell_req *shell_request(struct shell *sh, uint64_t id)
{
    size_t j = req_map_find_slot(&sh->reqs, id);
    return j == SIZE_MAX ? NULL : sh->reqs.slots[j].r;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- accessors ------------------------------------------------------------ */

const struct core_spec *shell_spec(const struct shell *sh)
{
    return &sh->spec;
}

uint64_t shell_seed(const struct shell *sh)
{
    return sh->spec.seed;
}

int64_t shell_run_id(const struct shell *sh)
{
    return sh->run_id;
}

struct res_db *shell_db(const struct shell *sh)
{
    return sh->db;
}

int64_t shell_now(const struct shell *sh)
{
    return sh->heap.now_ns;
}

struct shell_heap *shell_heap(struct shell *sh)
{
    return &sh->heap;
}

int shell_schedule(struct shell *sh, struct shell_ev *ev, int64_t t_ns)
{
    if (t_ns < sh->heap.now_ns) t_ns = sh->heap.now_ns;
    if (shell_ev_pending(ev)) return shell_heap_reschedule(&sh->heap, ev, t_ns);
    return shell_heap_schedule(&sh->heap, ev, t_ns);
}

void shell_cancel(struct shell *sh, struct shell_ev *ev)
{
    shell_heap_cancel(&sh->heap, ev);
}

struct shell_load *shell_load(struct shell *sh, uint64_t id)
{
    return id < sh->load_cap ? sh->loads[id] : NULL;
}

void shell_counts(const struct shell *sh, struct shell_counts *out)
{
    *out = sh->counts;
    out->popped = sh->heap.processed;
}

/* ---- records ----------------------------------------------------------- */

static int rec_check(struct shell *sh, int rc)
{
    if (rc == 0) sh->counts.rows++;
    return rc;
}

static int record_load(struct shell *sh, const struct shell_load *l, int64_t finished_ns,
                       const char *outcome, const char *why)
{
    if (l->wake) { /* not a load: the sleep metrics count it */
        if (finished_ns >= 0 && !strcmp(outcome, "ok")) {
            sh->wakes_ok++;
            sh->wake_ns_sum += finished_ns - l->started_ns;
        }
        return 0;
    }
    if (!sh->db) return 0;
    struct res_load_row row = {
        .load_id = l->load,
        .instance = l->instance,
        .model = l->model,
        .gpu = l->gpu,
        .source = l->source,
        .reason = l->reason,
        .enqueued_ns = l->enqueued_ns,
        .started_ns = l->started_ns,
        .finished_ns = finished_ns,
        .bytes = l->bytes,
        .vram_bytes = l->vram_bytes,
        .outcome = outcome,
        .error = why,
    };
    return rec_check(sh, res_add_load(sh->db, sh->run_id, &sh->spec, &row, sh->err));
}

static int record_request(struct shell *sh, const struct shell_req *r, int64_t finished_ns)
{
    if (!sh->db) return 0;
    struct res_request_row row = {
        .request_id = r->id,
        .model = r->model,
        .arrived_ns = r->arrived_ns,
        .dispatched_ns = r->dispatched_ns,
        .finished_ns = finished_ns,
        .instance = r->instance,
        .cold = r->cold,
    };
    return rec_check(sh, res_add_request(sh->db, sh->run_id, &sh->spec, &row, sh->err));
}

static int record_fault(struct shell *sh, int f, int64_t recovered_ns)
{
    if (!sh->db) return 0;
    const struct core_fault_spec *fs = &sh->spec.faults[f];
    bool node = fs->target == CORE_FAULT_NODE;
    return rec_check(sh,
                     res_add_fault(sh->db, sh->run_id, &sh->spec, node, node ? fs->node : fs->gpu,
                                   sh->faults[f].failed_ns, recovered_ns, sh->err));
}

/* ---- loads --------------------------------------------------------------- */

static void load_forget(struct shell *sh, struct shell_load *l)
{
    sh->loads[l->load] = NULL;
    free(l->costs.phase_ns);
    free(l);
}

static int act_start_load(struct shell *sh, const struct core_action *a)
{
    const struct core_spec *sp = &sh->spec;
    if (a->model < 0 || a->model >= sp->model_count || a->gpu < 0 || a->gpu >= sp->gpu_count ||
        a->load == 0 || shell_load(sh, a->load))
        return thaw_err_set(sh->err, THAW_EINVARIANT,
                            "core started load %llu of model %d on gpu %d: not a valid new load",
                            (unsigned long long)a->load, a->model, a->gpu);
    if (a->load >= sh->load_cap) {
        size_t cap = sh->load_cap ? sh->load_cap : 256;
        while (cap <= a->load)
            cap *= 2;
        struct shell_load **grown = realloc(sh->loads, cap * sizeof *grown);
        if (!grown) return thaw_err_set(sh->err, THAW_ENOMEM, "out of memory");
        memset(grown + sh->load_cap, 0, (cap - sh->load_cap) * sizeof *grown);
        sh->loads = grown;
        sh->load_cap = cap;
    }
    const struct core_model_spec *m = &sp->models[a->model];
    struct shell_load *l = calloc(1, sizeof *l);
    int64_t *phases = calloc((size_t)(m->phase_count > 0 ? m->phase_count : 1), sizeof *phases);
    if (!l || !phases) {
        free(l);
        free(phases);
        return thaw_err_set(sh->err, THAW_ENOMEM, "out of memory");
    }
    *l = (struct shell_load){.load = a->load,
                             .instance = a->instance,
                             .model = a->model,
                             .gpu = a->gpu,
                             .node = sp->gpus[a->gpu].node,
                             .source = a->source,
                             .reason = a->reason,
                             .enqueued_ns = a->enqueued_ns,
                             .started_ns = sh->heap.now_ns,
                             .bytes = a->bytes,
                             .vram_bytes = a->vram_bytes,
                             .peer_gpu = a->peer_gpu,
                             .peer_instance = a->peer_instance};
    l->costs.phase_ns = phases;
    l->wake = a->kind == CORE_ACT_WAKE;
    l->wake_ns = m->wake.mean_ns;
    l->tp = a->tp > 1 ? a->tp : 1;
    l->gang[0] = a->gpu;
    for (int i = 1; i < l->tp && i < CORE_TP_MAX; i++)
        l->gang[i] = a->gang[i];
    l->peer_gang[0] = a->peer_gpu;
    for (int i = 1; i < l->tp && i < CORE_TP_MAX; i++)
        l->peer_gang[i] = a->peer_gang[i];
    /* Drawn when the load starts, in the order loads start (a wake draws
     * nothing: runs without sleep keep their streams). */
    if (!l->wake) wl_world_load_costs(sh->world, l->node, l->model, &l->costs);
    if (!l->wake && m->standby == CORE_STANDBY_SLEEP) {
        /* a cold re-load of a sleep-standby model: a sleep miss */
        if (!sh->loaded_before) sh->loaded_before = calloc((size_t)sp->model_count, 1);
        if (!sh->loaded_before) return thaw_err_set(sh->err, THAW_ENOMEM, "out of memory");
        if (sh->loaded_before[a->model]) sh->sleep_cold_loads++;
        sh->loaded_before[a->model] = 1;
    }
    sh->loads[a->load] = l;
    if (a->load > sh->last_load) sh->last_load = a->load;
    return sh->m->start_load(sh->drv, sh, l);
}

/* A load that cannot go on: cancelled by the core (its GPU died: 'failed';
 * no longer wanted: 'cancelled'), or still running when the run ended
 * ('in_flight'). */
static int load_end(struct shell *sh, struct shell_load *l, const char *outcome)
{
    sh->m->cancel_load(sh->drv, sh, l);
    if (!strcmp(outcome, "failed"))
        sh->counts.loads_failed++;
    else if (!strcmp(outcome, "cancelled"))
        sh->counts.loads_cancelled++;
    const char *why = NULL;
    char peer_why[THAW_ERR_MSG_MAX];
    if (!strcmp(outcome, "failed")) {
        /* the failure hit the load's own GPUs, or only the peer it copied from */
        bool own = sh->fault_gpu < 0 && sh->fault_node == l->node;
        for (int i = 0; i < (l->tp > 1 ? l->tp : 1) && !own; i++)
            own = (i ? l->gang[i] : l->gpu) == sh->fault_gpu;
        why = "its GPU failed while it loaded";
        if (!own && l->source == CORE_SRC_PEER && l->peer_gpu >= 0 &&
            l->peer_gpu < sh->spec.gpu_count) {
            snprintf(peer_why, sizeof peer_why,
                     "the peer it copied from (%s, instance %llu) failed while it loaded",
                     sh->spec.gpus[l->peer_gpu].name, (unsigned long long)l->peer_instance);
            why = peer_why;
        }
    }
    int rc = record_load(sh, l, -1, outcome, why);
    load_forget(sh, l);
    return rc;
}

/* ---- wake-ups ------------------------------------------------------------ */

static int wake_add(struct shell *sh, int64_t t)
{
    if (t < sh->heap.now_ns) t = sh->heap.now_ns;
    size_t i = 0;
    while (i < sh->wake_count && sh->wakes[i] < t)
        i++;
    if (i < sh->wake_count && sh->wakes[i] == t) return 0;
    if (sh->wake_count == sh->wake_cap) {
        size_t cap = sh->wake_cap ? sh->wake_cap * 2 : 16;
        int64_t *grown = realloc(sh->wakes, cap * sizeof *grown);
        if (!grown) return thaw_err_set(sh->err, THAW_ENOMEM, "out of memory");
        sh->wakes = grown;
        sh->wake_cap = cap;
    }
    memmove(sh->wakes + i + 1, sh->wakes + i, (sh->wake_count - i) * sizeof *sh->wakes);
    sh->wakes[i] = t;
    sh->wake_count++;
    if (i == 0) return shell_heap_reschedule(&sh->heap, &sh->tick, t);
    return 0;
}

/* ---- the feed ------------------------------------------------------------ */

static int carry_out(struct shell *sh, const struct core_action *a)
{
    const struct shell_methods *m = sh->m;
    switch (a->kind) {
    case CORE_ACT_START_LOAD:
    case CORE_ACT_WAKE:
        return act_start_load(sh, a);
    case CORE_ACT_SLEEP:
        sh->sleeps++;
        return m->sleep ? m->sleep(sh->drv, sh, a) : 0;
    case CORE_ACT_START_SHM_FILL:
        if (a->node < 0 || a->node >= sh->spec.node_count || a->model < 0 ||
            a->model >= sh->spec.model_count)
            return thaw_err_set(sh->err, THAW_EINVARIANT,
                                "core started an shm fill of model %d on node %d", a->model,
                                a->node);
        return m->start_fill(sh->drv, sh, a);
    case CORE_ACT_SHM_DROP:
        if (a->node >= 0 && a->node < sh->spec.node_count && a->model >= 0 &&
            a->model < sh->spec.model_count)
            m->drop_shm(sh->drv, sh, a->node, a->model);
        return 0;
    case CORE_ACT_START_DISK_FILL:
        if (a->node < 0 || a->node >= sh->spec.node_count || a->model < 0 ||
            a->model >= sh->spec.model_count || !m->drop_disk)
            return thaw_err_set(sh->err, THAW_EINVARIANT,
                                "core started a disk fill of model %d on node %d (driver %s)",
                                a->model, a->node, m->name);
        return m->start_fill(sh->drv, sh, a);
    case CORE_ACT_DISK_DROP:
        if (a->node >= 0 && a->node < sh->spec.node_count && a->model >= 0 &&
            a->model < sh->spec.model_count && m->drop_disk)
            m->drop_disk(sh->drv, sh, a->node, a->model);
        return 0;
    case CORE_ACT_EVICT:
        return m->instance ? m->instance(sh->drv, sh, a) : 0;
    case CORE_ACT_CANCEL_LOAD: {
        struct shell_load *l = shell_load(sh, a->load);
        return l ? load_end(sh, l, sh->in_fault ? "failed" : "cancelled") : 0;
    }
    case CORE_ACT_DISPATCH: {
        struct shell_req *r = shell_request(sh, a->request);
        if (!r || r->dispatched_ns >= 0)
            return thaw_err_set(
                sh->err, THAW_EINVARIANT, "core dispatched request %llu, which is %s",
                (unsigned long long)a->request, r ? "already in service" : "unknown");
        r->dispatched_ns = sh->heap.now_ns;
        r->instance = a->instance;
        r->cold = r->cold || a->cold;
        r->gen++;
        return m->dispatch(sh->drv, sh, r);
    }
    case CORE_ACT_REQUEST_REQUEUED: {
        /* Its service is lost with the instance: until the core dispatches
         * it again it is a request never served. */
        struct shell_req *r = shell_request(sh, a->request);
        if (r) {
            shell_heap_cancel(&sh->heap, &r->done);
            r->dispatched_ns = -1;
            r->instance = 0;
            r->gen++;
            if (m->requeue) m->requeue(sh->drv, sh, r);
        }
        return 0;
    }
    case CORE_ACT_WAKE_AT:
        return wake_add(sh, a->wake_ns);
    case CORE_ACT_DROP_JOB:
        if (a->model < 0 || a->model >= sh->spec.model_count)
            return thaw_err_set(sh->err, THAW_EINVARIANT, "core dropped a job of model %d",
                                a->model);
        if (sh->dropped_count == sh->dropped_cap) {
            size_t cap = sh->dropped_cap ? sh->dropped_cap * 2 : 16;
            struct core_action *grown = realloc(sh->dropped, cap * sizeof *grown);
            if (!grown) return thaw_err_set(sh->err, THAW_ENOMEM, "out of memory");
            sh->dropped = grown;
            sh->dropped_cap = cap;
        }
        sh->dropped[sh->dropped_count++] = *a;
        sh->counts.loads_cancelled++;
        return 0;
    case CORE_ACT_AUTOSCALE:
        if (!sh->db) return 0;
        return rec_check(sh,
                         res_add_autoscale_decision(sh->db, sh->run_id, &sh->spec, sh->heap.now_ns,
                                                    a->model, &a->scale, sh->err));
    case CORE_ACT_INSTANCE_STATE:
        if (sh->db) {
            int rc = rec_check(sh, res_add_instance_event(sh->db, sh->run_id, &sh->spec,
                                                          a->instance, a->model, a->gpu, a->state,
                                                          sh->heap.now_ns, sh->err));
            if (rc < 0) return rc;
        }
        return m->instance ? m->instance(sh->drv, sh, a) : 0;
    }
    return 0;
}

/* Logs and carries out the actions of the last start/feed (event seq). */
static int take_actions(struct shell *sh, uint64_t seq)
{
    const struct core_action *acts;
    size_t n = core_sched_actions(sh->core, &acts);
    sh->carrying_out = true;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (sh->alog) {
            char line[512];
            core_action_format(&acts[i], line, sizeof line);
            rc = res_action_log_add(sh->alog, seq, (uint32_t)i, line, sh->err);
            if (rc < 0) break;
        }
        rc = carry_out(sh, &acts[i]);
        if (rc < 0) {
            if (sh->err->code != rc)
                thaw_err_set(sh->err, rc, "carrying out %s: %s",
                             core_action_kind_name(acts[i].kind), thaw_strerror(rc));
            break;
        }
        sh->counts.actions++;
    }
    sh->carrying_out = false;
    return rc;
}

static int check(struct shell *sh)
{
#ifdef NDEBUG
    if (!sh->opts.check_invariants) return 0;
#endif
    return core_sched_check(sh->core, sh->err);
}

/* The state since the last event held until now: add its stranded VRAM. */
static void frag_advance(struct shell *sh)
{
    if (!sh->frag_on) return;
    int64_t now = sh->heap.now_ns;
    if (now > sh->frag_t_ns)
        sh->frag_integral +=
            (double)core_sched_gang_stranded_bytes(sh->core) * (double)(now - sh->frag_t_ns);
    sh->frag_t_ns = now;
}

static int feed(struct shell *sh, struct core_event *ev)
{
    if (sh->carrying_out)
        return thaw_err_set(sh->err, THAW_EINVARIANT,
                            "%s fed while carrying out actions: a driver must feed from an "
                            "event of its own",
                            core_event_kind_name(ev->kind));
    ev->t_ns = sh->heap.now_ns;
    uint64_t seq = ++sh->seq;
    int rc;
    frag_advance(sh);
    if (sh->db &&
        (rc = rec_check(sh, res_add_core_event(sh->db, sh->run_id, seq, ev, sh->err))) < 0)
        return rc;
    if (sh->opts.time_core) {
        double t0 = wall_now();
        rc = core_sched_feed(sh->core, ev, sh->err);
        sh->counts.core_wall_s += wall_now() - t0;
    } else {
        rc = core_sched_feed(sh->core, ev, sh->err);
    }
    if (rc < 0) return rc;
    sh->counts.events++;
    if ((rc = check(sh)) < 0) return rc;
    return take_actions(sh, seq);
}

int shell_load_done(struct shell *sh, struct shell_load *l, bool ok, const char *why,
                    struct thaw_err *err)
{
    (void)err;
    if (sh->carrying_out)
        return thaw_err_set(sh->err, THAW_EINVARIANT, "load %llu finished inside an action",
                            (unsigned long long)l->load);
    int rc = record_load(sh, l, sh->heap.now_ns, ok ? "ok" : "failed", ok ? NULL : why);
    if (rc < 0) return rc;
    if (ok)
        sh->counts.loads_ok++;
    else
        sh->counts.loads_failed++;
    struct core_event ev = {.kind = CORE_EV_LOAD_FINISHED,
                            .load = l->load,
                            .instance = l->instance,
                            .model = l->model,
                            .node = l->node,
                            .gpu = l->gpu,
                            .ok = ok};
    load_forget(sh, l);
    return feed(sh, &ev);
}

int shell_fill_done(struct shell *sh, int node, int model, bool ok, struct thaw_err *err)
{
    (void)err;
    struct core_event ev = {
        .kind = CORE_EV_SHM_FILL_FINISHED, .node = node, .model = model, .gpu = -1, .ok = ok};
    return feed(sh, &ev);
}

int shell_disk_fill_done(struct shell *sh, int node, int model, bool ok, struct thaw_err *err)
{
    (void)err;
    struct core_event ev = {
        .kind = CORE_EV_DISK_FILL_FINISHED, .node = node, .model = model, .gpu = -1, .ok = ok};
    return feed(sh, &ev);
}

/* ---- world inputs ---------------------------------------------------------- */

static int arm_source(struct shell *sh, struct shell_source *src)
{
    int64_t t;
    if (!wl_world_peek(sh->world, src->index, &t)) return 0;
    int rc = shell_heap_schedule(&sh->heap, &src->ev, t);
    if (rc < 0) return thaw_err_set(sh->err, rc, "cannot schedule a world input");
    return 0;
}

static int on_arrival(struct shell *sh, const struct wl_input *in)
{
    struct shell_req *r = req_alloc(&sh->req_pool);
    if (!r) return thaw_err_set(sh->err, THAW_ENOMEM, "out of memory");
    /* Every field, so a reused cell keeps nothing of its last request. */
    *r = (struct shell_req){.id = ++sh->next_request,
                            .model = in->model,
                            .workload = in->workload,
                            .arrived_ns = sh->heap.now_ns,
                            .dispatched_ns = -1,
                            .service_ns = in->service_ns,
                            .instance = 0,
                            .cold = false,
                            .gen = 0};
    shell_ev_init(&r->done, SHELL_EV_REQ_DONE);
    if (req_map_put(&sh->reqs, r) < 0) {
        req_release(&sh->req_pool, r);
        return thaw_err_set(sh->err, THAW_ENOMEM, "out of memory");
    }
    sh->counts.requests_arrived++;
    struct core_event ev = {.kind = CORE_EV_REQUEST_ARRIVED,
                            .request = r->id,
                            .model = r->model,
                            .node = -1,
                            .gpu = -1};
    return feed(sh, &ev);
}

static int on_source(struct shell *sh, struct shell_source *src)
{
    struct wl_input in;
    if (!wl_world_take(sh->world, src->index, &in)) return 0;
    /* The source's next input is armed before the core hears of this one. */
    int rc = arm_source(sh, src);
    if (rc < 0) return rc;
    struct core_event ev = {.node = in.target_node, .gpu = -1, .model = -1};
    switch (in.kind) {
    case WL_INPUT_NONE:
        return 0;
    case WL_INPUT_ARRIVAL:
        return on_arrival(sh, &in);
    case WL_INPUT_FAIL:
        sh->faults[in.fault].down = true;
        sh->faults[in.fault].failed_ns = sh->heap.now_ns;
        ev.kind = in.node ? CORE_EV_NODE_FAILED : CORE_EV_GPU_FAILED;
        if (!in.node) ev.gpu = in.target;
        sh->in_fault = true;
        sh->fault_gpu = ev.gpu;
        sh->fault_node = in.target_node;
        rc = feed(sh, &ev);
        sh->in_fault = false;
        return rc;
    case WL_INPUT_RECOVER:
        sh->faults[in.fault].down = false;
        if ((rc = record_fault(sh, in.fault, sh->heap.now_ns)) < 0) return rc;
        ev.kind = in.node ? CORE_EV_NODE_RECOVERED : CORE_EV_GPU_RECOVERED;
        if (!in.node) ev.gpu = in.target;
        return feed(sh, &ev);
    }
    return 0;
}

static int on_tick(struct shell *sh)
{
    size_t k = 0;
    while (k < sh->wake_count && sh->wakes[k] <= sh->heap.now_ns)
        k++;
    memmove(sh->wakes, sh->wakes + k, (sh->wake_count - k) * sizeof *sh->wakes);
    sh->wake_count -= k;
    if (sh->wake_count) {
        int rc = shell_heap_schedule(&sh->heap, &sh->tick, sh->wakes[0]);
        if (rc < 0) return rc;
    }
    struct core_event ev = {.kind = CORE_EV_TICK, .model = -1, .node = -1, .gpu = -1};
    int rc = feed(sh, &ev);
    const struct core_action *acts;
    size_t n = core_sched_actions(sh->core, &acts);
    sh->idle_tick = true;
    for (size_t i = 0; i < n; i++)
        if (acts[i].kind != CORE_ACT_WAKE_AT) sh->idle_tick = false;
    return rc;
}

static int on_request_done(struct shell *sh, struct shell_req *r)
{
    int rc = record_request(sh, r, sh->heap.now_ns);
    if (rc < 0) return rc;
    struct core_event ev = {.kind = CORE_EV_REQUEST_FINISHED,
                            .request = r->id,
                            .instance = r->instance,
                            .model = r->model,
                            .node = -1,
                            .gpu = -1};
    req_map_del(&sh->reqs, r->id);
    req_release(&sh->req_pool, r);
    sh->counts.requests_served++;
    return feed(sh, &ev);
}

static int handle(struct shell *sh, struct shell_ev *ev)
{
    switch (ev->kind) {
    case SHELL_EV_SOURCE:
        return on_source(sh, SHELL_CONTAINER_OF(ev, struct shell_source, ev));
    case SHELL_EV_TICK:
        return on_tick(sh);
    case SHELL_EV_REQ_DONE:
        return on_request_done(sh, SHELL_CONTAINER_OF(ev, struct shell_req, done));
    default:
        if (ev->kind >= SHELL_EV_DRIVER) return sh->m->fire(sh->drv, sh, ev);
    }
    return thaw_err_set(sh->err, THAW_EINVARIANT, "unknown event kind %d", ev->kind);
}

/* ---- life cycle ------------------------------------------------------------- */

int shell_new(const struct core_spec *spec, const struct shell_opts *opts,
              const struct shell_methods *m, void *drv, struct shell **out, struct thaw_err *err)
{
    *out = NULL;
    if (!spec || !opts || !m || !m->start_load || !m->cancel_load || !m->start_fill ||
        !m->drop_shm || !m->dispatch || !m->fire)
        return thaw_err_set(err, THAW_EINVAL, "shell_new: no spec, options or driver method");
    struct shell *sh = calloc(1, sizeof *sh);
    if (!sh) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    sh->spec = *spec;
    if (opts->has_seed) sh->spec.seed = opts->seed;
    sh->opts = *opts;
    sh->m = m;
    sh->drv = drv;
    sh->db = opts->db;
    sh->err = err;
    shell_heap_init(&sh->heap);
    shell_ev_init(&sh->tick, SHELL_EV_TICK);
    int rc = core_sched_new(&sh->spec, &sh->core, err);
    for (int m = 0; m < sh->spec.model_count; m++)
        sh->frag_on = sh->frag_on || core_model_tp(&sh->spec.models[m]) > 1;
    if (rc == 0) rc = wl_world_new(&sh->spec, sh->spec.seed, &sh->world, err);
    if (rc == 0) {
        sh->source_count = wl_world_source_count(sh->world);
        sh->sources =
            calloc((size_t)(sh->source_count > 0 ? sh->source_count : 1), sizeof *sh->sources);
        sh->faults =
            calloc((size_t)(spec->fault_count > 0 ? spec->fault_count : 1), sizeof *sh->faults);
        if (!sh->sources || !sh->faults) rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
    }
    if (rc < 0) {
        shell_free(sh);
        return rc;
    }
    for (int i = 0; i < sh->source_count; i++) {
        shell_ev_init(&sh->sources[i].ev, SHELL_EV_SOURCE);
        sh->sources[i].index = i;
    }
    *out = sh;
    return 0;
}

void shell_free(struct shell *sh)
{
    if (!sh) return;
    /* The heap first: it detaches every pending event, so the owners can
     * then be freed without touching it. */
    shell_heap_free(&sh->heap);
    free(sh->loaded_before);
    for (size_t id = 0; id < sh->load_cap; id++)
        if (sh->loads[id]) load_forget(sh, sh->loads[id]);
    free(sh->loads);
    free(sh->reqs.slots);
    req_pool_free(&sh->req_pool);
    free(sh->sources);
    free(sh->faults);
    free(sh->wakes);
    free(sh->dropped);
    res_action_log_close(sh->alog);
    wl_world_free(sh->world);
    core_sched_free(sh->core);
    free(sh);
}

int shell_begin_run(struct shell *sh, struct thaw_err *err)
{
    sh->err = err;
    if (!sh->db) return 0;
    struct res_run_info info = sh->opts.run_info;
    if (!info.mode) info.mode = "sim";
    if (!info.backend) info.backend = "";
    if (!info.overrides) info.overrides = "";
    if (!info.params) info.params = "";
    info.seed = sh->spec.seed;
    int rc = res_run_begin(sh->db, &sh->spec, &info, &sh->run_id, err);
    if (rc < 0) return rc;
    /* core_actions, like core_events, only where every row is kept. */
    if (sh->opts.log_actions && res_record_level(sh->db) == RES_RECORD_ALL)
        rc = res_action_log_open(sh->db, sh->run_id, &sh->alog, err);
    return rc;
}

static bool stop_asked(const struct shell *sh)
{
    return sh->opts.stop && *sh->opts.stop;
}

/* Without a duration: nothing is left to happen (shell.h). */
static bool nothing_left(const struct shell *sh, bool busy)
{
    if (busy) return false;
    if (sh->heap.count == 0) return true;
    return sh->idle_tick && sh->heap.count == 1 && shell_ev_pending(&sh->tick);
}

int shell_run(struct shell *sh, struct thaw_err *err)
{
    sh->err = err;
    const struct shell_methods *m = sh->m;
    const int64_t duration = sh->spec.duration_ns;
    int rc = core_sched_start(sh->core, 0, err);
    if (rc < 0) return rc;
    if ((rc = check(sh)) < 0) return rc;
    if (m->begin) {
        const struct core_action *acts;
        size_t n = core_sched_actions(sh->core, &acts);
        if ((rc = m->begin(sh->drv, sh, acts, n)) < 0) return rc;
    }
    if ((rc = take_actions(sh, 0)) < 0) return rc;
    for (int i = 0; i < sh->source_count; i++)
        if ((rc = arm_source(sh, &sh->sources[i])) < 0) return rc;
    for (;;) {
        if (stop_asked(sh)) return 1;
        if (m->collect && (rc = m->collect(sh->drv, sh)) < 0) return rc;
        bool busy = m->busy && m->busy(sh->drv);
        if (duration <= 0 && nothing_left(sh, busy)) break;
        struct shell_ev *next = shell_heap_peek(&sh->heap);
        int64_t target = next ? next->t_ns : INT64_MAX;
        if (duration > 0 && target > duration) target = duration;
        if (m->clock && m->clock(sh->drv) < target) {
            /* A wall clock not there yet: wait for the time or for work. */
            if ((rc = m->wait(sh->drv, sh, target)) < 0) return rc;
            continue;
        }
        if (!next || (duration > 0 && next->t_ns > duration)) break;
        struct shell_ev *ev = shell_heap_pop(&sh->heap);
        if (ev->kind != SHELL_EV_TICK) sh->idle_tick = false;
        if ((rc = handle(sh, ev)) < 0) return rc;
    }
    /* The run ends at its duration, or at the last event when it has none. */
    if (duration > 0) sh->heap.now_ns = duration;
    return 0;
}

static int cmp_req(const void *a, const void *b)
{
    uint64_t x = (*(struct shell_req *const *)a)->id, y = (*(struct shell_req *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* Rows for what the end of the run cut short: loads in flight (outcome
 * 'cancelled', finished NULL), requests not finished (by id), faults not
 * recovered. */
static void mark_waiting_cold(uint64_t request, int model, bool cold, void *ctx)
{
    (void)model;
    struct shell_req *r = shell_request(ctx, request);
    if (r && cold) r->cold = true;
}

/* The end-of-run rule: nothing the core knew of disappears. Loads in flight
 * are recorded 'in_flight'; jobs the core dropped unstarted 'cancelled'
 * (started NULL, no GPU; ids after the last started load, in the order
 * dropped); jobs still queued 'queued' (ids after those, in queue order; no
 * GPU); requests never finished with
 * their cold flag as the core holds it for those still waiting. */
static int record_leftovers(struct shell *sh)
{
    int rc;
    for (size_t id = 0; id < sh->load_cap; id++)
        if (sh->loads[id] && (rc = load_end(sh, sh->loads[id], "in_flight")) < 0) return rc;
    for (size_t i = 0; i < sh->dropped_count && sh->db; i++) {
        const struct core_action *d = &sh->dropped[i];
        const struct core_model_spec *m = &sh->spec.models[d->model];
        struct res_load_row row = {
            .load_id = sh->last_load + 1 + i,
            .model = d->model,
            .gpu = -1,
            .source = CORE_SRC_STORAGE,
            .reason = d->reason,
            .enqueued_ns = d->enqueued_ns,
            .started_ns = -1,
            .finished_ns = -1,
            .bytes = m->weights_bytes,
            .vram_bytes = m->vram_bytes,
            .outcome = "cancelled",
        };
        if ((rc = rec_check(sh, res_add_load(sh->db, sh->run_id, &sh->spec, &row, sh->err))) < 0)
            return rc;
    }
    size_t queued = core_sched_queued_count(sh->core);
    for (size_t i = 0; i < queued && sh->db; i++) {
        struct core_queued_job j;
        core_sched_queued(sh->core, i, &j);
        const struct core_model_spec *m = &sh->spec.models[j.model];
        struct res_load_row row = {
            .load_id = sh->last_load + 1 + sh->dropped_count + i,
            .model = j.model,
            .gpu = -1,
            .source = CORE_SRC_STORAGE,
            .reason = j.reason,
            .enqueued_ns = j.enqueued_ns,
            .started_ns = -1,
            .finished_ns = -1,
            .bytes = m->weights_bytes,
            .vram_bytes = m->vram_bytes,
            .outcome = "queued",
        };
        if ((rc = rec_check(sh, res_add_load(sh->db, sh->run_id, &sh->spec, &row, sh->err))) < 0)
            return rc;
    }
    core_sched_waiting(sh->core, mark_waiting_cold, sh);
    if (sh->reqs.count && sh->db && res_record_level(sh->db) != RES_RECORD_ALL) {
        /* No request rows: the stream takes the leftovers in any order
         * (each one's share of the metrics does not depend on the others'),
         * so no sort; slot order is the ids' hash order, never addresses. */
        for (size_t i = 0; i <= sh->reqs.mask; i++)
            if (sh->reqs.slots[i].id && (rc = record_request(sh, sh->reqs.slots[i].r, -1)) < 0)
                return rc;
    } else if (sh->reqs.count && sh->db) {
        struct shell_req **all = malloc(sh->reqs.count * sizeof *all);
        if (!all) return thaw_err_set(sh->err, THAW_ENOMEM, "out of memory");
        size_t n = 0;
        for (size_t i = 0; i <= sh->reqs.mask; i++)
            if (sh->reqs.slots[i].id) all[n++] = sh->reqs.slots[i].r;
        qsort(all, n, sizeof *all, cmp_req);
        for (size_t i = 0; i < n; i++)
            if ((rc = record_request(sh, all[i], -1)) < 0) {
                free(all);
                return rc;
            }
        free(all);
    }
    for (int i = 0; i < sh->spec.fault_count; i++)
        if (sh->faults[i].down && (rc = record_fault(sh, i, -1)) < 0) return rc;
    return 0;
}

/* Gang fragmentation (runs with a tp > 1 model): vram_gang_stranded_mean,
 * the time-weighted mean of core_sched_gang_stranded_bytes over the
 * cluster's VRAM. Standby sleep (only in runs that slept): sleeps, wakes finished, their
 * mean latency (WAKE to READY: copy back + wake cost), and the sleep hit
 * rate: wakes / (wakes + cold re-loads of standby-sleep models, i.e. cold
 * loads of such a model after its first). */
static int record_sleep_metrics(struct shell *sh)
{
    if (!sh->db || sh->run_id <= 0) return 0;
    int rc = 0;
    if (sh->frag_on) { /* mean share of the cluster's VRAM stranded for gangs */
        frag_advance(sh);
        double total = 0;
        for (int g = 0; g < sh->spec.gpu_count; g++)
            total += (double)sh->spec.gpus[g].vram_bytes;
        if (sh->frag_t_ns > 0 && total > 0)
            rc = res_set_metric(sh->db, sh->run_id, "vram_gang_stranded_mean",
                                sh->frag_integral / ((double)sh->frag_t_ns * total), sh->err);
    }
    if (rc < 0 || sh->sleeps == 0) return rc;
    rc = res_set_metric(sh->db, sh->run_id, "sleeps", (double)sh->sleeps, sh->err);
    if (rc == 0) rc = res_set_metric(sh->db, sh->run_id, "wakes", (double)sh->wakes_ok, sh->err);
    if (rc == 0 && sh->wakes_ok)
        rc = res_set_metric(sh->db, sh->run_id, "wake_latency_mean_s",
                            (double)sh->wake_ns_sum / 1e9 / (double)sh->wakes_ok, sh->err);
    if (rc == 0)
        rc =
            res_set_metric(sh->db, sh->run_id, "sleep_hit_rate",
                           (double)sh->wakes_ok / (double)(sh->wakes_ok + sh->sleep_cold_loads > 0
                                                               ? sh->wakes_ok + sh->sleep_cold_loads
                                                               : 1),
                           sh->err);
    return rc;
}

int shell_finish_run(struct shell *sh, int status, struct thaw_err *err)
{
    sh->err = err;
    sh->counts.end_ns = sh->heap.now_ns;
    int rc = status < 0 ? status : 0;
    if (rc == 0) rc = record_leftovers(sh);
    if (rc == 0 && sh->alog) rc = res_action_log_flush(sh->alog, err);
    if (rc == 0) rc = record_sleep_metrics(sh);
    if (sh->db && sh->run_id > 0) {
        const char *st = rc < 0 ? "failed" : status == 1 ? "interrupted" : "complete";
        struct thaw_err ferr = {0};
        int frc = res_run_finish(sh->db, sh->run_id, st, sh->heap.now_ns, rc < 0 ? &ferr : err);
        if (rc == 0 && frc < 0) rc = frc;
    }
    return rc;
}

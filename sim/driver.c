/* driver.c - sim_run: drives the scheduling core on a virtual clock. It feeds
 * the core what happens (arrivals, finished loads, fills and services,
 * faults, ticks), carries out the core's actions with the event engine and
 * the flow model (a load is init, CPU phases, a copy flow, phases, warm-up),
 * and records rows through results/. It decides nothing: every choice of
 * order, GPU or eviction comes from the core. One struct sim holds a whole
 * run, so runs in parallel threads share nothing. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "flow.h"
#include "rng.h"
#include "workload.h"

enum ev_kind {
    EV_ARRIVAL = 1, /* struct arrival_src.ev */
    EV_REQ_DONE,    /* struct req.done */
    EV_LOAD_TIMER,  /* struct load_job.timer: init, wait phase, warm-up */
    EV_LOAD_FLOW,   /* struct load_job.flow.done: CPU phase or weight copy */
    EV_FILL_FLOW,   /* struct fill_job.flow.done */
    EV_TICK,        /* struct sim.tick */
    EV_FAULT,       /* struct fault_proc.fail */
    EV_RECOVER,     /* struct fault_proc.recover */
};

enum load_stage {
    ST_NEW = 0,
    ST_INIT,   /* runtime init (timer) */
    ST_BEFORE, /* phases before the copy; `phase` is the one running */
    ST_COPY,   /* weight copy (flow) */
    ST_AFTER,  /* phases after the copy */
    ST_WARMUP, /* warm-up (timer) */
};

struct load_job {
    uint64_t load, instance;
    int model, gpu, node;
    enum core_source source;
    enum core_reason reason;
    int64_t enqueued_ns, started_ns;
    uint64_t bytes, vram_bytes;
    enum load_stage stage;
    int phase;
    struct sim_ev timer;
    struct sim_flow flow;
    /* Drawn when the load starts (rng.h's sim_rng_draw_load), like exec. */
    int64_t init_ns, warmup_ns;
    int64_t phase_ns[]; /* one per phase of the model */
};

struct fill_job {
    int node, model;
    struct sim_flow flow;
};

struct req {
    uint64_t id;
    int model, workload;
    int64_t arrived_ns, dispatched_ns;
    int64_t service_ns; /* drawn at arrival; kept when requeued */
    uint64_t instance;
    bool cold;
    struct sim_ev done;
};

struct arrival_src {
    struct sim_arrivals gen;
    gsl_rng *arrivals_rng, *service_rng;
    int index; /* workload index */
    struct sim_ev ev;
};

struct fault_proc {
    const struct core_fault_spec *f;
    gsl_rng *rng; /* MTBF draws */
    int node;     /* the node of the target (a GPU fault's GPU's node) */
    bool down;
    int64_t failed_ns;
    struct sim_ev fail, recover;
};

/* Requests in flight by id: open addressing with linear probing, deletion by
 * backward shift (no tombstones). Only lookups go through it; iteration at
 * the end sorts by id, so addresses never decide an order. */
struct req_map {
    struct req **slots;
    size_t mask, count;
};

struct sim {
    const struct core_spec *spec;
    const struct sim_opts *opts;
    struct thaw_err *err;
    uint64_t seed;
    struct sim_engine engine;
    struct sim_flownet net;
    struct core_sched *core;
    struct res_db *db;
    int64_t run_id;
    uint64_t rows;
    uint64_t core_seq;
    /* resources: -1 where absent */
    int *storage_res, *shm_read_res, *shm_write_res, *pcie_res, *cpu_res, *h2d_res;
    gsl_rng **node_rng;
    bool *gpu_down, *node_down;
    struct load_job **loads; /* by load id; NULL once finished */
    size_t load_cap;
    struct fill_job **fills; /* node * model_count + model */
    struct req_map reqs;
    uint64_t next_request;
    struct arrival_src *arrivals;
    struct fault_proc *faults;
    int64_t *wakes; /* pending wake times, ascending, distinct */
    size_t wake_count, wake_cap;
    struct sim_ev tick;
    bool idle_tick; /* the last event was a tick that changed nothing */
    double core_wall_s;
};

/* ---- request map ------------------------------------------------------- */

static size_t req_hash(uint64_t id, size_t mask)
{
    uint64_t st = id;
    return (size_t)sim_rng_splitmix64(&st) & mask;
}

static int req_map_put(struct req_map *m, struct req *r)
{
    if ((m->count + 1) * 2 > m->mask + 1 || !m->slots) {
        size_t cap = m->slots ? (m->mask + 1) * 2 : 1024;
        struct req **slots = calloc(cap, sizeof *slots);
        if (!slots) return THAW_ENOMEM;
        for (size_t i = 0; m->slots && i <= m->mask; i++) {
            if (!m->slots[i]) continue;
            size_t j = req_hash(m->slots[i]->id, cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->mask = cap - 1;
    }
    size_t j = req_hash(r->id, m->mask);
    while (m->slots[j])
        j = (j + 1) & m->mask;
    m->slots[j] = r;
    m->count++;
    return 0;
}

static size_t req_map_find_slot(const struct req_map *m, uint64_t id)
{
    if (!m->slots) return SIZE_MAX;
    size_t j = req_hash(id, m->mask);
    while (m->slots[j]) {
        if (m->slots[j]->id == id) return j;
        j = (j + 1) & m->mask;
    }
    return SIZE_MAX;
}

static struct req *req_map_get(const struct req_map *m, uint64_t id)
{
    size_t j = req_map_find_slot(m, id);
    return j == SIZE_MAX ? NULL : m->slots[j];
}

static void req_map_del(struct req_map *m, uint64_t id)
{
    size_t j = req_map_find_slot(m, id);
    if (j == SIZE_MAX) return;
    m->slots[j] = NULL;
    m->count--;
    /* Backward shift: pull later members of the probe run into the hole
     * unless their home slot lies cyclically in (hole, their slot]. */
    size_t i = (j + 1) & m->mask;
    while (m->slots[i]) {
        size_t home = req_hash(m->slots[i]->id, m->mask);
        bool stays = (j < i) ? (home > j && home <= i) : (home > j || home <= i);
        if (!stays) {
            m->slots[j] = m->slots[i];
            m->slots[i] = NULL;
            j = i;
        }
        i = (i + 1) & m->mask;
    }
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- recording ---------------------------------------------------------- */

static int rec_check(struct sim *s, int rc)
{
    if (rc == 0) s->rows++;
    return rc;
}

static int record_load(struct sim *s, const struct load_job *j, int64_t finished_ns,
                       const char *outcome)
{
    if (!s->db) return 0;
    struct res_load_row row = {
        .load_id = j->load,
        .instance = j->instance,
        .model = j->model,
        .gpu = j->gpu,
        .source = j->source,
        .reason = j->reason,
        .enqueued_ns = j->enqueued_ns,
        .started_ns = j->started_ns,
        .finished_ns = finished_ns,
        .bytes = j->bytes,
        .vram_bytes = j->vram_bytes,
        .outcome = outcome,
    };
    return rec_check(s, res_add_load(s->db, s->run_id, s->spec, &row, s->err));
}

static int record_request(struct sim *s, const struct req *r, int64_t finished_ns)
{
    if (!s->db) return 0;
    struct res_request_row row = {
        .request_id = r->id,
        .model = r->model,
        .arrived_ns = r->arrived_ns,
        .dispatched_ns = r->dispatched_ns,
        .finished_ns = finished_ns,
        .instance = r->instance,
        .cold = r->cold,
    };
    return rec_check(s, res_add_request(s->db, s->run_id, s->spec, &row, s->err));
}

static int record_fault(struct sim *s, const struct fault_proc *fp, int64_t recovered_ns)
{
    if (!s->db) return 0;
    bool node = fp->f->target == CORE_FAULT_NODE;
    return rec_check(s, res_add_fault(s->db, s->run_id, s->spec, node, node ? fp->node : fp->f->gpu,
                                      fp->failed_ns, recovered_ns, s->err));
}

/* ---- loads --------------------------------------------------------------- */

static void load_abort(struct sim *s, struct load_job *j)
{
    sim_engine_cancel(&s->engine, &j->timer);
    sim_flow_remove(&s->net, &j->flow);
}

static void load_forget(struct sim *s, struct load_job *j)
{
    s->loads[j->load] = NULL;
    free(j);
}

static struct load_job *load_find(struct sim *s, uint64_t load)
{
    return load < s->load_cap ? s->loads[load] : NULL;
}

static int start_timer(struct sim *s, struct load_job *j, int64_t d_ns)
{
    return sim_engine_schedule(&s->engine, &j->timer, s->engine.now_ns + d_ns);
}

static int start_phase(struct sim *s, struct load_job *j)
{
    const struct core_phase_spec *ph = &s->spec->models[j->model].phases[j->phase];
    int64_t work_ns = j->phase_ns[j->phase];
    if (!ph->cpu) return start_timer(s, j, work_ns);
    /* W core-seconds at most one core: alone on an idle node it takes W s;
     * with more phases than cores on the node each slows down. */
    int cpu = s->cpu_res[j->node];
    return sim_flow_start_in(&s->net, &j->flow, j->node, (double)work_ns * 1e-9, &cpu,
                             cpu >= 0 ? 1 : 0, 1.0);
}

static int start_copy(struct sim *s, struct load_job *j)
{
    int res[SIM_FLOW_MAX_RES], n = 0;
    int src = j->source == CORE_SRC_SHM ? s->shm_read_res[j->node] : s->storage_res[j->node];
    if (src >= 0) res[n++] = src;
    res[n++] = s->h2d_res[j->gpu];
    if (s->pcie_res[j->node] >= 0) res[n++] = s->pcie_res[j->node];
    return sim_flow_start(&s->net, &j->flow, (double)j->bytes, res, n, 0);
}

static int feed(struct sim *s, struct core_event *ev);

/* Moves a load to its next step; called when the current one has finished
 * (or at START_LOAD, from ST_NEW). Every step, even one of zero length, goes
 * through the event heap, so the core is never fed while its actions are
 * being carried out. */
static int load_next(struct sim *s, struct load_job *j)
{
    const struct core_model_spec *m = &s->spec->models[j->model];
    for (;;) {
        switch (j->stage) {
        case ST_NEW:
            j->stage = ST_INIT;
            return start_timer(s, j, j->init_ns);
        case ST_INIT:
            j->stage = ST_BEFORE;
            j->phase = -1;
            continue;
        case ST_BEFORE:
        case ST_AFTER: {
            enum core_phase_when when =
                j->stage == ST_BEFORE ? CORE_PHASE_BEFORE_COPY : CORE_PHASE_AFTER_COPY;
            int p = j->phase + 1;
            while (p < m->phase_count && m->phases[p].when != when)
                p++;
            if (p < m->phase_count) {
                j->phase = p;
                return start_phase(s, j);
            }
            if (j->stage == ST_BEFORE) {
                j->stage = ST_COPY;
                return start_copy(s, j);
            }
            j->stage = ST_WARMUP;
            return start_timer(s, j, j->warmup_ns);
        }
        case ST_COPY:
            j->stage = ST_AFTER;
            j->phase = -1;
            continue;
        case ST_WARMUP: {
            int rc = record_load(s, j, s->engine.now_ns, "ok");
            if (rc < 0) return rc;
            struct core_event ev = {.kind = CORE_EV_LOAD_FINISHED,
                                    .load = j->load,
                                    .instance = j->instance,
                                    .model = j->model,
                                    .node = j->node,
                                    .gpu = j->gpu,
                                    .ok = true};
            load_forget(s, j);
            return feed(s, &ev);
        }
        }
        return thaw_err_set(s->err, THAW_EINVARIANT, "load in unknown stage %d", (int)j->stage);
    }
}

static int act_start_load(struct sim *s, const struct core_action *a)
{
    const struct core_spec *sp = s->spec;
    if (a->model < 0 || a->model >= sp->model_count || a->gpu < 0 || a->gpu >= sp->gpu_count ||
        a->load == 0 || load_find(s, a->load))
        return thaw_err_set(s->err, THAW_EINVARIANT,
                            "core started load %llu of model %d on gpu %d: not a valid new load",
                            (unsigned long long)a->load, a->model, a->gpu);
    if (a->load >= s->load_cap) {
        size_t cap = s->load_cap ? s->load_cap : 256;
        while (cap <= a->load)
            cap *= 2;
        struct load_job **grown = realloc(s->loads, cap * sizeof *grown);
        if (!grown) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
        memset(grown + s->load_cap, 0, (cap - s->load_cap) * sizeof *grown);
        s->loads = grown;
        s->load_cap = cap;
    }
    const struct core_model_spec *m = &sp->models[a->model];
    struct load_job *j =
        calloc(1, sizeof *j + (size_t)(m->phase_count > 0 ? m->phase_count : 0) * sizeof(int64_t));
    if (!j) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    *j = (struct load_job){.load = a->load,
                           .instance = a->instance,
                           .model = a->model,
                           .gpu = a->gpu,
                           .node = sp->gpus[a->gpu].node,
                           .source = a->source,
                           .reason = a->reason,
                           .enqueued_ns = a->enqueued_ns,
                           .started_ns = s->engine.now_ns,
                           .bytes = a->bytes,
                           .vram_bytes = a->vram_bytes,
                           .stage = ST_NEW,
                           .phase = -1};
    struct sim_load_costs costs = {.phase_ns = j->phase_ns};
    sim_rng_draw_load(s->node_rng[j->node], &sp->nodes[j->node], m, &costs);
    j->init_ns = costs.init_ns;
    j->warmup_ns = costs.warmup_ns;
    sim_ev_init(&j->timer, EV_LOAD_TIMER);
    sim_flow_init(&j->flow, EV_LOAD_FLOW);
    s->loads[a->load] = j;
    return load_next(s, j);
}

/* A load that cannot go on (cancelled by the core, or its GPU died). */
static int load_end(struct sim *s, struct load_job *j, const char *outcome)
{
    load_abort(s, j);
    int rc = record_load(s, j, -1, outcome);
    load_forget(s, j);
    return rc;
}

/* ---- shm fills ----------------------------------------------------------- */

static struct fill_job **fill_slot(struct sim *s, int node, int model)
{
    return &s->fills[(size_t)node * (size_t)s->spec->model_count + (size_t)model];
}

static int act_start_fill(struct sim *s, const struct core_action *a)
{
    const struct core_spec *sp = s->spec;
    if (a->node < 0 || a->node >= sp->node_count || a->model < 0 || a->model >= sp->model_count ||
        *fill_slot(s, a->node, a->model))
        return thaw_err_set(s->err, THAW_EINVARIANT,
                            "core started an shm fill of model %d on node %d: not valid now",
                            a->model, a->node);
    struct fill_job *f = calloc(1, sizeof *f);
    if (!f) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    f->node = a->node;
    f->model = a->model;
    sim_flow_init(&f->flow, EV_FILL_FLOW);
    int res[2], n = 0;
    res[n++] = s->storage_res[a->node];
    if (s->shm_write_res[a->node] >= 0) res[n++] = s->shm_write_res[a->node];
    int rc = sim_flow_start(&s->net, &f->flow, (double)a->bytes, res, n, 0);
    if (rc < 0) {
        free(f);
        return thaw_err_set(s->err, rc, "cannot start an shm fill flow");
    }
    *fill_slot(s, a->node, a->model) = f;
    return 0;
}

static void fill_abort(struct sim *s, int node, int model)
{
    struct fill_job **slot = fill_slot(s, node, model);
    if (!*slot) return;
    sim_flow_remove(&s->net, &(*slot)->flow);
    free(*slot);
    *slot = NULL;
}

/* ---- ticks --------------------------------------------------------------- */

static int wake_add(struct sim *s, int64_t t)
{
    if (t < s->engine.now_ns) t = s->engine.now_ns;
    size_t i = 0;
    while (i < s->wake_count && s->wakes[i] < t)
        i++;
    if (i < s->wake_count && s->wakes[i] == t) return 0;
    if (s->wake_count == s->wake_cap) {
        size_t cap = s->wake_cap ? s->wake_cap * 2 : 16;
        int64_t *grown = realloc(s->wakes, cap * sizeof *grown);
        if (!grown) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
        s->wakes = grown;
        s->wake_cap = cap;
    }
    memmove(s->wakes + i + 1, s->wakes + i, (s->wake_count - i) * sizeof *s->wakes);
    s->wakes[i] = t;
    s->wake_count++;
    if (i == 0) return sim_engine_reschedule(&s->engine, &s->tick, t);
    return 0;
}

/* ---- actions ------------------------------------------------------------- */

static int apply_actions(struct sim *s)
{
    const struct core_action *acts;
    size_t n = core_sched_actions(s->core, &acts);
    for (size_t i = 0; i < n; i++) {
        const struct core_action *a = &acts[i];
        int rc = 0;
        switch (a->kind) {
        case CORE_ACT_START_LOAD:
            rc = act_start_load(s, a);
            break;
        case CORE_ACT_START_SHM_FILL:
            rc = act_start_fill(s, a);
            break;
        case CORE_ACT_SHM_DROP:
            if (a->node >= 0 && a->node < s->spec->node_count && a->model >= 0 &&
                a->model < s->spec->model_count)
                fill_abort(s, a->node, a->model);
            break;
        case CORE_ACT_EVICT:
            break; /* VRAM is the core's accounting; nothing to free here */
        case CORE_ACT_CANCEL_LOAD: {
            struct load_job *j = load_find(s, a->load);
            if (j) rc = load_end(s, j, "cancelled");
            break;
        }
        case CORE_ACT_DISPATCH: {
            struct req *r = req_map_get(&s->reqs, a->request);
            if (!r || sim_ev_pending(&r->done)) {
                rc = thaw_err_set(
                    s->err, THAW_EINVARIANT, "core dispatched request %llu, which is %s",
                    (unsigned long long)a->request, r ? "already in service" : "unknown");
                break;
            }
            r->dispatched_ns = s->engine.now_ns;
            r->instance = a->instance;
            r->cold = r->cold || a->cold;
            rc = sim_engine_schedule(&s->engine, &r->done, s->engine.now_ns + r->service_ns);
            break;
        }
        case CORE_ACT_REQUEST_REQUEUED: {
            /* Its service is lost with the instance: until the core
             * dispatches it again it is a request never served. */
            struct req *r = req_map_get(&s->reqs, a->request);
            if (r) {
                sim_engine_cancel(&s->engine, &r->done);
                r->dispatched_ns = -1;
                r->instance = 0;
            }
            break;
        }
        case CORE_ACT_WAKE_AT:
            rc = wake_add(s, a->wake_ns);
            break;
        case CORE_ACT_INSTANCE_STATE:
            if (s->db)
                rc = rec_check(s, res_add_instance_event(s->db, s->run_id, s->spec, a->instance,
                                                         a->model, a->gpu, a->state,
                                                         s->engine.now_ns, s->err));
            break;
        }
        if (rc < 0) {
            if (s->err && s->err->code != rc)
                thaw_err_set(s->err, rc, "carrying out %s: %s", core_action_kind_name(a->kind),
                             thaw_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* core_sched_feed, timed when the options ask for it. */
static int core_feed(struct sim *s, const struct core_event *ev)
{
    if (!s->opts->time_core) return core_sched_feed(s->core, ev, s->err);
    double t0 = wall_now();
    int rc = core_sched_feed(s->core, ev, s->err);
    s->core_wall_s += wall_now() - t0;
    return rc;
}

static int after_core_call(struct sim *s)
{
    if (s->opts->check_invariants) {
        int rc = core_sched_check(s->core, s->err);
        if (rc < 0) return rc;
    }
    return apply_actions(s);
}

static int feed(struct sim *s, struct core_event *ev)
{
    ev->t_ns = s->engine.now_ns;
    uint64_t seq = s->core_seq++;
    if (s->db) {
        int rc = rec_check(s, res_add_core_event(s->db, s->run_id, seq, ev, s->err));
        if (rc < 0) return rc;
    }
    int rc = core_feed(s, ev);
    if (rc < 0) return rc;
    return after_core_call(s);
}

/* ---- faults -------------------------------------------------------------- */

static int fault_fire(struct sim *s, struct fault_proc *fp)
{
    const struct core_fault_spec *f = fp->f;
    const struct core_spec *sp = s->spec;
    int64_t now = s->engine.now_ns;
    bool node = f->target == CORE_FAULT_NODE;
    bool already = node ? s->node_down[fp->node] : (s->gpu_down[f->gpu] || s->node_down[fp->node]);
    if (already) {
        /* Another fault holds the target down: this one finds nothing to
         * break. A recurring process draws its next failure from now. */
        if (f->at_ns < 0)
            return sim_engine_schedule(&s->engine, &fp->fail,
                                       now + sim_rng_fault_gap_ns(fp->rng, f));
        return 0;
    }
    fp->down = true;
    fp->failed_ns = now;
    int first = node ? sp->nodes[fp->node].first_gpu : f->gpu;
    int count = node ? sp->nodes[fp->node].gpu_count : 1;
    if (node) s->node_down[fp->node] = true;
    for (int g = first; g < first + count; g++)
        s->gpu_down[g] = true;
    /* What physically stops: loads copying onto a dead GPU, fills into a
     * dead node's memory. The core learns of the fault below and releases
     * its own accounting for them. */
    for (size_t id = 0; id < s->load_cap; id++) {
        struct load_job *j = s->loads[id];
        if (j && j->gpu >= first && j->gpu < first + count) {
            int rc = load_end(s, j, "failed");
            if (rc < 0) return rc;
        }
    }
    if (node)
        for (int m = 0; m < sp->model_count; m++)
            fill_abort(s, fp->node, m);
    if (f->recover_after_ns > 0) {
        int rc = sim_engine_schedule(&s->engine, &fp->recover, now + f->recover_after_ns);
        if (rc < 0) return rc;
    }
    struct core_event ev = {.kind = node ? CORE_EV_NODE_FAILED : CORE_EV_GPU_FAILED,
                            .node = fp->node,
                            .gpu = node ? -1 : f->gpu,
                            .model = -1};
    return feed(s, &ev);
}

static int fault_recover(struct sim *s, struct fault_proc *fp)
{
    const struct core_fault_spec *f = fp->f;
    const struct core_spec *sp = s->spec;
    int64_t now = s->engine.now_ns;
    bool node = f->target == CORE_FAULT_NODE;
    int first = node ? sp->nodes[fp->node].first_gpu : f->gpu;
    int count = node ? sp->nodes[fp->node].gpu_count : 1;
    if (node) s->node_down[fp->node] = false;
    for (int g = first; g < first + count; g++)
        s->gpu_down[g] = false;
    fp->down = false;
    int rc = record_fault(s, fp, now);
    if (rc < 0) return rc;
    if (f->at_ns < 0) {
        int64_t gap = sim_rng_fault_gap_ns(fp->rng, f);
        rc = sim_engine_schedule(&s->engine, &fp->fail, now + gap);
        if (rc < 0) return rc;
    }
    struct core_event ev = {.kind = node ? CORE_EV_NODE_RECOVERED : CORE_EV_GPU_RECOVERED,
                            .node = fp->node,
                            .gpu = node ? -1 : f->gpu,
                            .model = -1};
    return feed(s, &ev);
}

/* ---- events -------------------------------------------------------------- */

static int on_arrival(struct sim *s, struct arrival_src *src)
{
    struct req *r = calloc(1, sizeof *r);
    if (!r) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    r->id = ++s->next_request;
    r->workload = src->index;
    r->model = s->spec->workloads[src->index].model;
    r->arrived_ns = s->engine.now_ns;
    r->dispatched_ns = -1;
    /* Drawn at arrival, in each workload's arrival order, as exec does, so
     * both give request i the same service time. */
    r->service_ns = sim_rng_draw_ns(src->service_rng, &s->spec->workloads[src->index].service);
    sim_ev_init(&r->done, EV_REQ_DONE);
    if (req_map_put(&s->reqs, r) < 0) {
        free(r);
        return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    }
    int64_t t;
    if (sim_arrivals_next(&src->gen, &t)) {
        int rc = sim_engine_schedule(&s->engine, &src->ev, t);
        if (rc < 0) return rc;
    }
    struct core_event ev = {.kind = CORE_EV_REQUEST_ARRIVED,
                            .request = r->id,
                            .model = r->model,
                            .node = -1,
                            .gpu = -1};
    return feed(s, &ev);
}

static int on_request_done(struct sim *s, struct req *r)
{
    int rc = record_request(s, r, s->engine.now_ns);
    if (rc < 0) return rc;
    struct core_event ev = {.kind = CORE_EV_REQUEST_FINISHED,
                            .request = r->id,
                            .instance = r->instance,
                            .model = r->model,
                            .node = -1,
                            .gpu = -1};
    req_map_del(&s->reqs, r->id);
    free(r);
    return feed(s, &ev);
}

static int on_fill_done(struct sim *s, struct fill_job *f)
{
    struct core_event ev = {.kind = CORE_EV_SHM_FILL_FINISHED,
                            .node = f->node,
                            .model = f->model,
                            .gpu = -1,
                            .ok = true};
    sim_flow_remove(&s->net, &f->flow);
    *fill_slot(s, f->node, f->model) = NULL;
    free(f);
    return feed(s, &ev);
}

static int on_tick(struct sim *s)
{
    size_t k = 0;
    while (k < s->wake_count && s->wakes[k] <= s->engine.now_ns)
        k++;
    memmove(s->wakes, s->wakes + k, (s->wake_count - k) * sizeof *s->wakes);
    s->wake_count -= k;
    if (s->wake_count) {
        int rc = sim_engine_schedule(&s->engine, &s->tick, s->wakes[0]);
        if (rc < 0) return rc;
    }
    struct core_event ev = {.kind = CORE_EV_TICK, .model = -1, .node = -1, .gpu = -1};
    int rc = feed(s, &ev);
    const struct core_action *acts;
    size_t n = core_sched_actions(s->core, &acts);
    s->idle_tick = true;
    for (size_t i = 0; i < n; i++)
        if (acts[i].kind != CORE_ACT_WAKE_AT) s->idle_tick = false;
    return rc;
}

static int handle_event(struct sim *s, struct sim_ev *ev)
{
    switch ((enum ev_kind)ev->kind) {
    case EV_ARRIVAL:
        return on_arrival(s, SIM_CONTAINER_OF(ev, struct arrival_src, ev));
    case EV_REQ_DONE:
        return on_request_done(s, SIM_CONTAINER_OF(ev, struct req, done));
    case EV_LOAD_TIMER:
        return load_next(s, SIM_CONTAINER_OF(ev, struct load_job, timer));
    case EV_LOAD_FLOW: {
        struct load_job *j = SIM_CONTAINER_OF(ev, struct load_job, flow.done);
        sim_flow_remove(&s->net, &j->flow);
        return load_next(s, j);
    }
    case EV_FILL_FLOW:
        return on_fill_done(s, SIM_CONTAINER_OF(ev, struct fill_job, flow.done));
    case EV_TICK:
        return on_tick(s);
    case EV_FAULT:
        return fault_fire(s, SIM_CONTAINER_OF(ev, struct fault_proc, fail));
    case EV_RECOVER:
        return fault_recover(s, SIM_CONTAINER_OF(ev, struct fault_proc, recover));
    }
    return thaw_err_set(s->err, THAW_EINVARIANT, "unknown event kind %d", ev->kind);
}

/* ---- set-up and tear-down ------------------------------------------------ */

static int *ints(int n)
{
    int *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (p)
        for (int i = 0; i < n; i++)
            p[i] = -1;
    return p;
}

static int add_res(struct sim *s, int node, double bps, int *out)
{
    if (!(bps > 0)) return 0; /* absent */
    int id = sim_flownet_add_resource(&s->net, node, bps);
    if (id < 0) return thaw_err_set(s->err, id, "node %d: bad capacity %g", node, bps);
    *out = id;
    return 0;
}

static int build_resources(struct sim *s)
{
    const struct core_spec *sp = s->spec;
    int nn = sp->node_count, ng = sp->gpu_count;
    s->storage_res = ints(nn);
    s->shm_read_res = ints(nn);
    s->shm_write_res = ints(nn);
    s->pcie_res = ints(nn);
    s->cpu_res = ints(nn);
    s->h2d_res = ints(ng);
    s->node_rng = calloc((size_t)(nn > 0 ? nn : 1), sizeof *s->node_rng);
    s->gpu_down = calloc((size_t)(ng > 0 ? ng : 1), sizeof *s->gpu_down);
    s->node_down = calloc((size_t)(nn > 0 ? nn : 1), sizeof *s->node_down);
    s->fills =
        calloc((size_t)(nn > 0 ? nn : 1) * (size_t)(sp->model_count > 0 ? sp->model_count : 1),
               sizeof *s->fills);
    if (!s->storage_res || !s->shm_read_res || !s->shm_write_res || !s->pcie_res || !s->cpu_res ||
        !s->h2d_res || !s->node_rng || !s->gpu_down || !s->node_down || !s->fills)
        return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    int rc = sim_flownet_init(&s->net, &s->engine, nn);
    if (rc < 0) return thaw_err_set(s->err, rc, "out of memory");
    for (int i = 0; i < nn; i++) {
        const struct core_node_spec *n = &sp->nodes[i];
        if (!(n->storage_read_bps > 0))
            return thaw_err_set(s->err, THAW_EINVAL, "node %s: storage read bandwidth must be > 0",
                                n->name);
        if ((rc = add_res(s, i, n->storage_read_bps, &s->storage_res[i])) < 0 ||
            (rc = add_res(s, i, n->pcie_switch_bps, &s->pcie_res[i])) < 0 ||
            (rc = add_res(s, i, n->cpu_cores > 0 ? (double)n->cpu_cores : 0, &s->cpu_res[i])) < 0)
            return rc;
        if (n->shm_bytes > 0 && ((rc = add_res(s, i, n->shm_read_bps, &s->shm_read_res[i])) < 0 ||
                                 (rc = add_res(s, i, n->shm_write_bps, &s->shm_write_res[i])) < 0))
            return rc;
        s->node_rng[i] = sim_rng_for_node(sp, s->seed, i);
        if (!s->node_rng[i]) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    }
    for (int g = 0; g < ng; g++) {
        const struct core_gpu_spec *gs = &sp->gpus[g];
        if (gs->node < 0 || gs->node >= nn || !(gs->h2d_bps > 0))
            return thaw_err_set(s->err, THAW_EINVAL, "gpu %s: bad node or h2d bandwidth", gs->name);
        if ((rc = add_res(s, gs->node, gs->h2d_bps, &s->h2d_res[g])) < 0) return rc;
    }
    return 0;
}

static int build_sources(struct sim *s)
{
    const struct core_spec *sp = s->spec;
    s->arrivals =
        calloc((size_t)(sp->workload_count > 0 ? sp->workload_count : 1), sizeof *s->arrivals);
    s->faults = calloc((size_t)(sp->fault_count > 0 ? sp->fault_count : 1), sizeof *s->faults);
    if (!s->arrivals || !s->faults) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    for (int i = 0; i < sp->workload_count; i++) {
        const struct core_workload_spec *w = &sp->workloads[i];
        struct arrival_src *src = &s->arrivals[i];
        src->index = i;
        sim_ev_init(&src->ev, EV_ARRIVAL);
        if (w->model < 0 || w->model >= sp->model_count)
            return thaw_err_set(s->err, THAW_EINVAL, "workload %d names no model", i);
        /* Keyed by the model's name, independent of every other model. */
        src->arrivals_rng = sim_rng_for_workload(sp, s->seed, i, SIM_STREAM_ARRIVALS);
        src->service_rng = sim_rng_for_workload(sp, s->seed, i, SIM_STREAM_SERVICE);
        if (!src->arrivals_rng || !src->service_rng)
            return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
        int rc = sim_arrivals_init(&src->gen, w, src->arrivals_rng, sp->duration_ns, s->err);
        if (rc < 0) return rc;
    }
    for (int i = 0; i < sp->fault_count; i++) {
        const struct core_fault_spec *f = &sp->faults[i];
        struct fault_proc *fp = &s->faults[i];
        fp->f = f;
        sim_ev_init(&fp->fail, EV_FAULT);
        sim_ev_init(&fp->recover, EV_RECOVER);
        bool node = f->target == CORE_FAULT_NODE;
        if (node ? (f->node < 0 || f->node >= sp->node_count)
                 : (f->gpu < 0 || f->gpu >= sp->gpu_count))
            return thaw_err_set(s->err, THAW_EINVAL, "fault %d names no node or GPU", i);
        fp->node = node ? f->node : sp->gpus[f->gpu].node;
        if (f->at_ns < 0 && f->mtbf_ns <= 0)
            return thaw_err_set(s->err, THAW_EINVAL, "fault %d has neither a time nor an MTBF", i);
        if (f->at_ns < 0 && sp->duration_ns <= 0)
            return thaw_err_set(s->err, THAW_EINVAL,
                                "fault %d recurs (MTBF) and the run has no duration: it would "
                                "never end; set run.duration",
                                i);
        fp->rng = sim_rng_for_fault(sp, s->seed, i);
        if (!fp->rng) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    }
    return 0;
}

/* First events: each workload's first arrival, then each fault. */
static int schedule_sources(struct sim *s)
{
    const struct core_spec *sp = s->spec;
    for (int i = 0; i < sp->workload_count; i++) {
        int64_t t;
        if (!sim_arrivals_next(&s->arrivals[i].gen, &t)) continue;
        int rc = sim_engine_schedule(&s->engine, &s->arrivals[i].ev, t);
        if (rc < 0) return thaw_err_set(s->err, rc, "cannot schedule an arrival");
    }
    for (int i = 0; i < sp->fault_count; i++) {
        struct fault_proc *fp = &s->faults[i];
        int64_t t = fp->f->at_ns;
        if (t < 0) t = sim_rng_fault_gap_ns(fp->rng, fp->f);
        int rc = sim_engine_schedule(&s->engine, &fp->fail, t);
        if (rc < 0) return thaw_err_set(s->err, rc, "cannot schedule a fault");
    }
    return 0;
}

static int cmp_req(const void *a, const void *b)
{
    uint64_t x = (*(struct req *const *)a)->id, y = (*(struct req *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* Rows for what the end of the run cut short: loads in flight (outcome
 * 'cancelled', finished NULL: the schema has no 'unfinished'), requests not
 * finished (by id), faults not recovered. */
static int record_leftovers(struct sim *s)
{
    int rc;
    for (size_t id = 0; id < s->load_cap; id++)
        if (s->loads[id] && (rc = record_load(s, s->loads[id], -1, "cancelled")) < 0) return rc;
    if (s->reqs.count) {
        struct req **all = malloc(s->reqs.count * sizeof *all);
        if (!all) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
        size_t n = 0;
        for (size_t i = 0; i <= s->reqs.mask; i++)
            if (s->reqs.slots[i]) all[n++] = s->reqs.slots[i];
        qsort(all, n, sizeof *all, cmp_req);
        for (size_t i = 0; i < n; i++)
            if ((rc = record_request(s, all[i], -1)) < 0) {
                free(all);
                return rc;
            }
        free(all);
    }
    for (int i = 0; i < s->spec->fault_count; i++)
        if (s->faults[i].down && (rc = record_fault(s, &s->faults[i], -1)) < 0) return rc;
    return 0;
}

static void sim_free(struct sim *s)
{
    /* The engine first: it detaches every pending event, so the owners can
     * then be freed without touching the heap or the flow model. */
    sim_engine_free(&s->engine);
    for (size_t id = 0; id < s->load_cap; id++)
        free(s->loads[id]);
    free(s->loads);
    if (s->fills)
        for (size_t i = 0; i < (size_t)s->spec->node_count * (size_t)s->spec->model_count; i++)
            free(s->fills[i]);
    free(s->fills);
    for (size_t i = 0; s->reqs.slots && i <= s->reqs.mask; i++)
        free(s->reqs.slots[i]);
    free(s->reqs.slots);
    if (s->arrivals)
        for (int i = 0; i < s->spec->workload_count; i++) {
            gsl_rng_free(s->arrivals[i].arrivals_rng);
            gsl_rng_free(s->arrivals[i].service_rng);
        }
    free(s->arrivals);
    if (s->faults)
        for (int i = 0; i < s->spec->fault_count; i++)
            gsl_rng_free(s->faults[i].rng);
    free(s->faults);
    if (s->node_rng)
        for (int i = 0; i < s->spec->node_count; i++)
            gsl_rng_free(s->node_rng[i]);
    free(s->node_rng);
    free(s->storage_res);
    free(s->shm_read_res);
    free(s->shm_write_res);
    free(s->pcie_res);
    free(s->cpu_res);
    free(s->h2d_res);
    free(s->gpu_down);
    free(s->node_down);
    free(s->wakes);
    if (s->core) core_sched_free(s->core);
    sim_flownet_free(&s->net);
}

static int run_loop(struct sim *s)
{
    int64_t duration = s->spec->duration_ns;
    int rc = core_sched_start(s->core, 0, s->err);
    if (rc < 0) return rc;
    if ((rc = after_core_call(s)) < 0) return rc;
    if ((rc = schedule_sources(s)) < 0) return rc;
    for (;;) {
        struct sim_ev *next = sim_engine_peek(&s->engine);
        if (!next) break;
        /* Without a duration the run ends when the world has nothing left
         * to happen. The core's own timer may still matter then (an idle
         * instance's keep-alive expiring lets a queued load in), so ticks
         * are delivered until one changes nothing: a periodic autoscaler
         * alone would tick forever. */
        if (duration <= 0 && s->idle_tick &&
            s->engine.count == (sim_ev_pending(&s->tick) ? 1u : 0u))
            break;
        if (duration > 0 && next->t_ns > duration) break;
        struct sim_ev *ev = sim_engine_pop(&s->engine);
        if (ev->kind != EV_TICK) s->idle_tick = false;
        if ((rc = handle_event(s, ev)) < 0) return rc;
    }
    /* The run ends at its duration, or at the last event when it has none. */
    if (duration > 0) s->engine.now_ns = duration;
    return 0;
}

int sim_run(const struct core_spec *spec, const struct sim_opts *opts, struct sim_result *out,
            struct thaw_err *err)
{
    struct thaw_err local;
    if (!err) err = &local;
    if (!spec || !opts) return thaw_err_set(err, THAW_EINVAL, "sim_run: no spec or options");
    double t0 = wall_now();
    /* A shallow copy carries the seed override to the core too (its p2c
     * balancer draws from spec->seed); it shares every array with spec. */
    struct core_spec seeded = *spec;
    if (opts->has_seed) seeded.seed = opts->seed;
    spec = &seeded;
    struct sim s;
    memset(&s, 0, sizeof s);
    s.spec = spec;
    s.opts = opts;
    s.err = err;
    s.seed = spec->seed;
    s.db = opts->db;
    sim_engine_init(&s.engine);
    sim_ev_init(&s.tick, EV_TICK);
    if (out) memset(out, 0, sizeof *out);
    int rc = core_sched_new(spec, &s.core, err);
    if (rc >= 0) rc = build_resources(&s);
    if (rc >= 0) rc = build_sources(&s);
    if (rc < 0) {
        sim_free(&s);
        return rc;
    }
    if (s.db) {
        struct res_run_info info = opts->run_info;
        if (!info.mode) info.mode = "sim";
        if (!info.backend) info.backend = "";
        if (!info.overrides) info.overrides = "";
        if (!info.params) info.params = "";
        info.seed = s.seed;
        rc = res_run_begin(s.db, spec, &info, &s.run_id, err);
        if (rc < 0) {
            sim_free(&s);
            return rc;
        }
    }
    rc = run_loop(&s);
    if (rc >= 0) rc = record_leftovers(&s);
    if (s.db) {
        struct thaw_err ferr;
        int frc = res_run_finish(s.db, s.run_id, rc < 0 ? "failed" : "complete", s.engine.now_ns,
                                 rc < 0 ? &ferr : err);
        if (rc >= 0 && frc < 0) rc = frc;
    }
    if (out) {
        out->run_id = s.run_id;
        out->events = s.engine.processed;
        out->end_ns = s.engine.now_ns;
        out->rows = s.rows;
        out->wall_s = wall_now() - t0;
        out->core_wall_s = s.core_wall_s;
    }
    sim_free(&s);
    return rc;
}

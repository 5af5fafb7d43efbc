/* driver.c - sim_run: the simulator's side of the driver shell (shell/). The
 * shell feeds the core and records the run; this file carries out the
 * core's actions on a virtual clock: a load is init, CPU phases, a copy flow,
 * phases, warm-up; a fill is a flow from storage into shm; a request's
 * service is its drawn time. Flows share bandwidth max-min (flow.h). It
 * decides nothing: every choice of order, GPU or eviction comes from the
 * core. One struct sim holds a whole run, so runs in parallel threads share
 * nothing. A tensor-parallel gang copies one flow per GPU, in parallel; a
 * WAKE (standby sleep) is a copy back from host memory, then the wake cost. */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"
#include "paths.h"
#include "shell.h"

enum ev_kind {
    EV_LOAD_TIMER = SHELL_EV_DRIVER, /* struct sim_load.timer: init, wait phase, warm-up */
    EV_LOAD_FLOW,                    /* struct sim_load.flow.done: CPU phase or weight copy */
    EV_FILL_FLOW,                    /* struct fill_job.flow.done */
    EV_SHARD_FLOW,                   /* struct sim_shard.flow.done: one GPU's copy of a gang */
};

enum load_stage {
    ST_NEW = 0,
    ST_INIT,   /* runtime init (timer) */
    ST_BEFORE, /* phases before the copy; `phase` is the one running */
    ST_COPY,   /* weight copy (flow) */
    ST_VERIFY, /* checksum as CPU work (flow), when the node has `verify` */
    ST_AFTER,  /* phases after the copy */
    ST_WARMUP, /* warm-up (timer) */
    /* a WAKE: the copy back from host memory (flows), then the model's
     * wake cost (timer) */
    ST_WAKE_COPY,
    ST_WAKE,
};

struct sim_shard {
    struct sim_load *j;
    struct sim_flow flow;
};

struct sim_load {
    struct shell_load *l; /* the shell's record of it (costs drawn there) */
    enum load_stage stage;
    int phase;
    int64_t stage_start_ns; /* when the current step began (load_phases) */
    int seq;                /* load_phases rows written for it */
    struct shell_ev timer;
    struct sim_flow flow;
    /* tp > 1: the copy is l->tp shard flows in parallel, each over its own
     * GPU's link and sharing the source; it ends with the slowest. */
    struct sim_shard shards[CORE_TP_MAX];
    int shards_left;
    int64_t copy_started_ns;
    double copy_lone_bps;
};

struct fill_job {
    int node, model;
    struct sim_flow flow;
    bool disk; /* a disk-cache fill (else shm) */
};

struct sim {
    struct shell *sh;
    const struct core_spec *spec;
    struct thaw_err *err;
    struct sim_flownet net;
    /* resources: -1 where absent */
    int *storage_res, *shm_read_res, *shm_write_res, *pcie_res, *cpu_res, *h2d_res;
    struct sim_load **loads; /* by load id; NULL once finished */
    size_t load_cap;
    struct fill_job **fills;   /* node * model_count + model */
    struct res_phases *phases; /* load_phases writer (recording runs only) */
    struct sim_paths paths;       /* the storage ladder's pipes (paths.h) */
    struct fill_job **disk_fills; /* as fills, for the disk-cache rung */
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t now(const struct sim *s)
{
    return shell_now(s->sh);
}

/* ---- loads --------------------------------------------------------------- */

static void load_forget(struct sim *s, struct sim_load *j)
{
    shell_cancel(s->sh, &j->timer);
    sim_flow_remove(&s->net, &j->flow);
    for (int i = 0; i < CORE_TP_MAX; i++)
        sim_flow_remove(&s->net, &j->shards[i].flow);
    s->loads[j->l->load] = NULL;
    free(j);
}

static int start_timer(struct sim *s, struct sim_load *j, int64_t d_ns)
{
    return shell_heap_schedule(shell_heap(s->sh), &j->timer, now(s) + d_ns);
}

static int start_phase(struct sim *s, struct sim_load *j)
{
    const struct core_phase_spec *ph = &s->spec->models[j->l->model].phases[j->phase];
    int64_t work_ns = j->l->costs.phase_ns[j->phase];
    if (!ph->cpu) return start_timer(s, j, work_ns);
    /* W core-seconds at most one core: alone on an idle node it takes W s;
     * with more phases than cores on the node each slows down. */
    int node = j->l->node;
    int cpu = s->cpu_res[node];
    return sim_flow_start_in(&s->net, &j->flow, sim_paths_group(&s->paths, node),
                             (double)work_ns * 1e-9, &cpu, cpu >= 0 ? 1 : 0, 1.0);
}

/* A tp > 1 copy alone in the cluster: each shard's pipes shared by the
 * shards crossing them (from storage, a store or the shm tier: the source,
 * the network and the switch split K ways, each shard's own h2d link not;
 * a peer gang on one node: none shared, each shard at its NVLink pair's
 * rate; across nodes: both network links split K ways), the whole done
 * when the slowest shard is: its bytes over that time. */
static double gang_lone_bps(const struct sim *s, const struct shell_load *l,
                            int shard_res[][SIM_FLOW_MAX_RES], const int *shard_n)
{
    const struct core_model_spec *m = &s->spec->models[l->model];
    double t = 0;
    for (int i = 0; i < l->tp; i++) {
        double bw = INFINITY;
        for (int r = 0; r < shard_n[i]; r++) {
            int crossing = 0;
            for (int k = 0; k < l->tp; k++)
                for (int q = 0; q < shard_n[k]; q++)
                    crossing += shard_res[k][q] == shard_res[i][r];
            double share = s->net.res[shard_res[i][r]].capacity / (double)crossing;
            if (share < bw) bw = share;
        }
        double ti = (double)core_model_shard_bytes(m, i) / bw;
        if (ti > t) t = ti;
    }
    return t > 0 ? (double)l->bytes / t : 0;
}

static int start_copy(struct sim *s, struct sim_load *j)
{
    const struct shell_load *l = j->l;
    int res[SIM_FLOW_MAX_RES], n = 0;
    if (l->wake) {
        /* a wake reads host memory: only the links (and the switch) limit it */
        res[n++] = s->h2d_res[l->gpu];
        if (s->pcie_res[l->node] >= 0) res[n++] = s->pcie_res[l->node];
    } else {
        n = sim_paths_copy(&s->paths, l, res);
        if (n < 0)
            return thaw_err_set(s->err, THAW_EINVARIANT,
                                "load %llu from %s: the scenario has no pipe for that path",
                                (unsigned long long)l->load, core_source_name(l->source));
    }
    j->copy_started_ns = now(s);
    j->copy_lone_bps = sim_paths_lone_bps(&s->net, res, n);
    /* shm.per_load: one shm load copies at most at one core's rate (a
     * tensor-parallel shard too: each shard is one load's copy). */
    double cap = l->source == CORE_SRC_SHM && !l->wake ? s->spec->nodes[l->node].shm_per_load_bps : 0;
    if (l->tp <= 1) return sim_flow_start(&s->net, &j->flow, (double)l->bytes, res, n, cap > 0 ? cap : 0);
    /* tp > 1: one flow per shard, each over its own GPU's link (the h2d
     * resource of gang[0] in the path replaced by gang[i]'s). */
    const struct core_model_spec *m = &s->spec->models[l->model];
    int h = -1;
    for (int i = 0; i < n; i++)
        if (res[i] == s->h2d_res[l->gpu]) h = i;
    /* a peer gang: shard i's own path, from the peer's member i into
     * gang[i] (one node: both NVLink ports, no h2d; across: both networks
     * and gang[i]'s h2d) */
    bool peer = l->source == CORE_SRC_PEER;
    if (h < 0 && !peer) return thaw_err_set(s->err, THAW_EINVARIANT, "load %llu: no h2d link in its path",
                                   (unsigned long long)l->load);
    j->shards_left = l->tp;
    int shard_res[CORE_TP_MAX][SIM_FLOW_MAX_RES], shard_n[CORE_TP_MAX];
    for (int i = 0; i < l->tp; i++) {
        if (!peer) {
            res[h] = s->h2d_res[l->gang[i]];
            shard_n[i] = n;
            memcpy(shard_res[i], res, (size_t)n * sizeof *res);
        } else {
            struct shell_load shard = *l;
            shard.gpu = l->gang[i];
            shard.peer_gpu = l->peer_gang[i];
            n = sim_paths_copy(&s->paths, &shard, res);
            if (n < 0)
                return thaw_err_set(s->err, THAW_EINVARIANT,
                                    "load %llu shard %d from peer GPU %d: no pipe for that path",
                                    (unsigned long long)l->load, i, l->peer_gang[i]);
            shard_n[i] = n;
            memcpy(shard_res[i], res, (size_t)n * sizeof *res);
        }
        int rc = sim_flow_start(&s->net, &j->shards[i].flow, (double)core_model_shard_bytes(m, i),
                                res, n, cap > 0 ? cap : 0);
        if (rc < 0) return rc;
    }
    j->copy_lone_bps = gang_lone_bps(s, l, shard_res, shard_n);
    return 0;
}

/* The checksum after the copy: bytes / verify core-seconds on the node's
 * cores, one core at most, as a CPU phase is. */
static int start_verify(struct sim *s, struct sim_load *j)
{
    int node = j->l->node;
    int cpu = s->cpu_res[node];
    double work = (double)j->l->bytes / s->spec->nodes[node].verify_bps;
    return sim_flow_start_in(&s->net, &j->flow, node, work, &cpu, cpu >= 0 ? 1 : 0, 1.0);
}

/* The step that just ended, from stage_start_ns to now, as a load_phases
 * row; the next step starts now. A wake is not a load (no loads row), so
 * it has no phases either. */
static int phase_done(struct sim *s, struct sim_load *j, enum res_phase ph, int startup)
{
    int64_t t = now(s);
    int rc = 0;
    if (s->phases && !j->l->wake) {
        const struct core_phase_spec *sp =
            startup >= 0 ? &s->spec->models[j->l->model].phases[startup] : NULL;
        struct res_load_phase row = {.load_id = j->l->load,
                                     .seq = j->seq++,
                                     .phase = ph,
                                     .name = sp ? sp->name : NULL,
                                     .cpu = sp && sp->cpu,
                                     .start_ns = j->stage_start_ns,
                                     .end_ns = t};
        rc = res_phases_add(s->phases, &row, s->err);
    }
    j->stage_start_ns = t;
    return rc;
}

/* Moves a load to its next step; called when the current one has finished
 * (or at START_LOAD, from ST_NEW). Every step, even one of zero length, goes
 * through the event heap, so the core is never fed while its actions are
 * being carried out. */
static int load_next(struct sim *s, struct sim_load *j)
{
    const struct core_model_spec *m = &s->spec->models[j->l->model];
    for (;;) {
        switch (j->stage) {
        case ST_NEW: {
            if (j->l->wake) {
                j->stage = ST_WAKE_COPY;
                return start_copy(s, j);
            }
            j->stage = ST_INIT;
            j->stage_start_ns = j->l->enqueued_ns;
            int rc = phase_done(s, j, RES_PHASE_QUEUED, -1);
            if (rc < 0) return rc;
            return start_timer(s, j, j->l->costs.init_ns);
        }
        case ST_WAKE_COPY:
            j->stage = ST_WAKE;
            return start_timer(s, j, j->l->wake_ns);
        case ST_INIT: {
            int rc = phase_done(s, j, RES_PHASE_INIT, -1);
            if (rc < 0) return rc;
            j->stage = ST_BEFORE;
            j->phase = -1;
            continue;
        }
        case ST_BEFORE:
        case ST_AFTER: {
            if (j->phase >= 0) {
                int rc = phase_done(s, j, RES_PHASE_STARTUP, j->phase);
                if (rc < 0) return rc;
            }
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
            return start_timer(s, j, j->l->costs.warmup_ns);
        }
        case ST_COPY: {
            if (!j->l->wake)
                sim_paths_copy_done(&s->paths, j->l, j->copy_started_ns, j->copy_lone_bps, now(s));
            int rc = phase_done(s, j, RES_PHASE_COPY, -1);
            if (rc < 0) return rc;
            if (s->spec->nodes[j->l->node].verify_bps > 0) {
                j->stage = ST_VERIFY;
                return start_verify(s, j);
            }
            j->stage = ST_AFTER;
            j->phase = -1;
            continue;
        }
        case ST_VERIFY: {
            int rc = phase_done(s, j, RES_PHASE_VERIFY, -1);
            if (rc < 0) return rc;
            j->stage = ST_AFTER;
            j->phase = -1;
            continue;
        }
        case ST_WAKE:
        case ST_WARMUP: {
            int rc = phase_done(s, j, RES_PHASE_WARMUP, -1);
            if (rc < 0) return rc;
            struct shell_load *l = j->l;
            load_forget(s, j);
            return shell_load_done(s->sh, l, true, NULL, s->err);
        }
        }
        return thaw_err_set(s->err, THAW_EINVARIANT, "load in unknown stage %d", (int)j->stage);
    }
}

static int m_start_load(void *drv, struct shell *sh, struct shell_load *l)
{
    (void)sh;
    struct sim *s = drv;
    if (l->load >= s->load_cap) {
        size_t cap = s->load_cap ? s->load_cap : 256;
        while (cap <= l->load)
            cap *= 2;
        struct sim_load **grown = realloc(s->loads, cap * sizeof *grown);
        if (!grown) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
        memset(grown + s->load_cap, 0, (cap - s->load_cap) * sizeof *grown);
        s->loads = grown;
        s->load_cap = cap;
    }
    struct sim_load *j = calloc(1, sizeof *j);
    if (!j) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    j->l = l;
    j->stage = ST_NEW;
    j->phase = -1;
    shell_ev_init(&j->timer, EV_LOAD_TIMER);
    sim_flow_init(&j->flow, EV_LOAD_FLOW);
    for (int i = 0; i < CORE_TP_MAX; i++) {
        j->shards[i].j = j;
        sim_flow_init(&j->shards[i].flow, EV_SHARD_FLOW);
    }
    l->drv = j;
    s->loads[l->load] = j;
    return load_next(s, j);
}

static void m_cancel_load(void *drv, struct shell *sh, struct shell_load *l)
{
    (void)sh;
    struct sim *s = drv;
    if (l->drv) load_forget(s, l->drv);
    l->drv = NULL;
}

/* ---- shm fills ----------------------------------------------------------- */

static struct fill_job **fill_slot_of(struct sim *s, bool disk, int node, int model)
{
    return &(disk ? s->disk_fills
                  : s->fills)[(size_t)node * (size_t)s->spec->model_count + (size_t)model];
}

static struct fill_job **fill_slot(struct sim *s, int node, int model)
{
    return fill_slot_of(s, false, node, model);
}

static int m_start_fill(void *drv, struct shell *sh, const struct core_action *a)
{
    (void)sh;
    struct sim *s = drv;
    bool disk = a->kind == CORE_ACT_START_DISK_FILL;
    if (*fill_slot_of(s, disk, a->node, a->model))
        return thaw_err_set(s->err, THAW_EINVARIANT,
                            "core started a %s fill of model %d on node %d: one is in flight",
                            disk ? "disk" : "shm", a->model, a->node);
    int res[SIM_FLOW_MAX_RES];
    int n = sim_paths_fill(&s->paths, a, res);
    if (n < 0)
        return thaw_err_set(s->err, THAW_EINVARIANT, "fill of model %d on node %d from %s: no pipe",
                            a->model, a->node, core_source_name(a->source));
    struct fill_job *f = calloc(1, sizeof *f);
    if (!f) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    f->node = a->node;
    f->model = a->model;
    f->disk = disk;
    sim_flow_init(&f->flow, EV_FILL_FLOW);
    int rc = sim_flow_start(&s->net, &f->flow, (double)a->bytes, res, n, 0);
    if (rc < 0) {
        free(f);
        return thaw_err_set(s->err, rc, "cannot start a fill flow");
    }
    *fill_slot_of(s, disk, a->node, a->model) = f;
    return 0;
}

static void m_drop_shm(void *drv, struct shell *sh, int node, int model)
{
    (void)sh;
    struct sim *s = drv;
    struct fill_job **slot = fill_slot(s, node, model);
    if (!*slot) return;
    sim_flow_remove(&s->net, &(*slot)->flow);
    free(*slot);
    *slot = NULL;
}

static void m_drop_disk(void *drv, struct shell *sh, int node, int model)
{
    (void)sh;
    struct sim *s = drv;
    struct fill_job **slot = fill_slot_of(s, true, node, model);
    if (!*slot) return;
    sim_flow_remove(&s->net, &(*slot)->flow);
    free(*slot);
    *slot = NULL;
}

static int on_fill_done(struct sim *s, struct fill_job *f)
{
    int node = f->node, model = f->model;
    bool disk = f->disk;
    sim_flow_remove(&s->net, &f->flow);
    *fill_slot_of(s, disk, node, model) = NULL;
    free(f);
    if (disk) return shell_disk_fill_done(s->sh, node, model, true, s->err);
    return shell_fill_done(s->sh, node, model, true, s->err);
}

/* ---- requests and events ---------------------------------------------------- */

static int m_dispatch(void *drv, struct shell *sh, struct shell_req *r)
{
    struct sim *s = drv;
    return shell_heap_schedule(shell_heap(sh), &r->done, now(s) + r->service_ns);
}

static int m_fire(void *drv, struct shell *sh, struct shell_ev *ev)
{
    (void)sh;
    struct sim *s = drv;
    switch ((enum ev_kind)ev->kind) {
    case EV_LOAD_TIMER:
        return load_next(s, SHELL_CONTAINER_OF(ev, struct sim_load, timer));
    case EV_LOAD_FLOW: {
        struct sim_load *j = SHELL_CONTAINER_OF(ev, struct sim_load, flow.done);
        sim_flow_remove(&s->net, &j->flow);
        return load_next(s, j);
    }
    case EV_FILL_FLOW:
        return on_fill_done(s, SHELL_CONTAINER_OF(ev, struct fill_job, flow.done));
    case EV_SHARD_FLOW: {
        struct sim_shard *sd = SHELL_CONTAINER_OF(ev, struct sim_shard, flow.done);
        sim_flow_remove(&s->net, &sd->flow);
        if (--sd->j->shards_left > 0) return 0; /* the slowest shard ends the copy */
        return load_next(s, sd->j);
    }
    }
    return thaw_err_set(s->err, THAW_EINVARIANT, "unknown sim event kind %d", ev->kind);
}

static const struct shell_methods sim_methods = {
    .name = "sim",
    .start_load = m_start_load,
    .cancel_load = m_cancel_load,
    .start_fill = m_start_fill,
    .drop_shm = m_drop_shm,
    .dispatch = m_dispatch,
    .fire = m_fire,
    .drop_disk = m_drop_disk,
};

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
    s->fills =
        calloc((size_t)(nn > 0 ? nn : 1) * (size_t)(sp->model_count > 0 ? sp->model_count : 1),
               sizeof *s->fills);
    s->disk_fills =
        calloc((size_t)(nn > 0 ? nn : 1) * (size_t)(sp->model_count > 0 ? sp->model_count : 1),
               sizeof *s->disk_fills);
    if (!s->disk_fills) return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    sim_paths_init(&s->paths, sp);
    if (!s->storage_res || !s->shm_read_res || !s->shm_write_res || !s->pcie_res || !s->cpu_res ||
        !s->h2d_res || !s->fills)
        return thaw_err_set(s->err, THAW_ENOMEM, "out of memory");
    int rc = sim_flownet_init(&s->net, shell_heap(s->sh), nn);
    if (rc < 0) return thaw_err_set(s->err, rc, "out of memory");
    for (int i = 0; i < nn; i++) {
        const struct core_node_spec *n = &sp->nodes[i];
        if (!(n->storage_read_bps > 0))
            return thaw_err_set(s->err, THAW_EINVAL, "node %s: storage read bandwidth must be > 0",
                                n->name);
        int gi = sim_paths_group(&s->paths, i);
        if ((rc = add_res(s, gi, n->storage_read_bps, &s->storage_res[i])) < 0 ||
            (rc = add_res(s, gi, n->pcie_switch_bps, &s->pcie_res[i])) < 0 ||
            (rc = add_res(s, gi, n->cpu_cores > 0 ? (double)n->cpu_cores : 0, &s->cpu_res[i])) < 0)
            return rc;
        if (n->shm_bytes > 0 && ((rc = add_res(s, gi, n->shm_read_bps, &s->shm_read_res[i])) < 0 ||
                                 (rc = add_res(s, gi, n->shm_write_bps, &s->shm_write_res[i])) < 0))
            return rc;
    }
    for (int g = 0; g < ng; g++) {
        const struct core_gpu_spec *gs = &sp->gpus[g];
        if (gs->node < 0 || gs->node >= nn || !(gs->h2d_bps > 0))
            return thaw_err_set(s->err, THAW_EINVAL, "gpu %s: bad node or h2d bandwidth", gs->name);
        if ((rc = add_res(s, sim_paths_group(&s->paths, gs->node), gs->h2d_bps, &s->h2d_res[g])) <
            0)
            return rc;
    }
    return sim_paths_build(&s->paths, &s->net, s->storage_res, s->shm_read_res, s->shm_write_res,
                           s->pcie_res, s->h2d_res, s->err);
}

static void sim_free(struct sim *s)
{
    /* The shell first: its heap detaches every pending event, so the
     * owners can then be freed without touching it. */
    shell_free(s->sh);
    res_phases_free(s->phases);
    for (size_t id = 0; id < s->load_cap; id++)
        free(s->loads[id]);
    free(s->loads);
    if (s->fills)
        for (size_t i = 0; i < (size_t)s->spec->node_count * (size_t)s->spec->model_count; i++)
            free(s->fills[i]);
    free(s->fills);
    if (s->disk_fills)
        for (size_t i = 0; i < (size_t)s->spec->node_count * (size_t)s->spec->model_count; i++)
            free(s->disk_fills[i]);
    free(s->disk_fills);
    sim_paths_free(&s->paths);
    free(s->storage_res);
    free(s->shm_read_res);
    free(s->shm_write_res);
    free(s->pcie_res);
    free(s->cpu_res);
    free(s->h2d_res);
    sim_flownet_free(&s->net);
}

int sim_run(const struct core_spec *spec, const struct sim_opts *opts, struct sim_result *out,
            struct thaw_err *err)
{
    struct thaw_err local;
    if (!err) err = &local;
    if (out) memset(out, 0, sizeof *out);
    if (!spec || !opts) return thaw_err_set(err, THAW_EINVAL, "sim_run: no spec or options");
    double t0 = wall_now();
    struct sim s;
    memset(&s, 0, sizeof s);
    s.err = err;
    struct shell_opts so = {
        .seed = opts->seed,
        .has_seed = opts->has_seed,
        .check_invariants = opts->check_invariants,
        .time_core = opts->time_core,
        .db = opts->db,
        .run_info = opts->run_info,
        .log_actions = opts->db != NULL,
        .stop = opts->stop,
    };
    if (!so.run_info.mode) so.run_info.mode = "sim";
    int rc = shell_new(spec, &so, &sim_methods, &s, &s.sh, err);
    if (rc < 0) return rc;
    s.spec = spec; /* the caller's: outlives the shell (its copy differs only in the seed) */
    rc = build_resources(&s);
    if (rc == 0) rc = shell_begin_run(s.sh, err);
    /* load_phases are per-load rows: written at --record loads and all */
    if (rc == 0 && opts->db && shell_run_id(s.sh) > 0 &&
        res_record_level(opts->db) != RES_RECORD_SUMMARY)
        rc = res_phases_new(opts->db, shell_run_id(s.sh), &s.phases, err);
    /* the ladder's rows (bandwidth_samples, load_copies) are per-load and
     * per-change: written at --record loads and all, like load_phases */
    if (rc == 0 && opts->db && res_record_level(opts->db) != RES_RECORD_SUMMARY)
        rc = sim_paths_record(&s.paths, &s.net, opts->db, shell_run_id(s.sh), err);
    if (rc < 0) {
        sim_free(&s);
        return rc;
    }
    int status = shell_run(s.sh, err);
    if (status >= 0 && (rc = res_phases_flush(s.phases, err)) < 0) status = rc;
    if (status >= 0 && (rc = sim_paths_flush(&s.paths, err)) < 0) status = rc;
    rc = shell_finish_run(s.sh, status, err);
    if (out) {
        struct shell_counts c;
        shell_counts(s.sh, &c);
        out->run_id = shell_run_id(s.sh);
        out->events = c.popped;
        out->end_ns = c.end_ns;
        out->rows = c.rows;
        out->wall_s = wall_now() - t0;
        out->core_wall_s = c.core_wall_s;
        out->interrupted = status == 1;
    }
    sim_free(&s);
    return rc;
}

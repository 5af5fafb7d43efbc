/* ladder.c - the storage ladder: which rung a load reads from, and the
 * node-local disk cache rung. The ladder, top to bottom: the node's shm
 * cache (shm_cache.c), its disk cache (here), the model's store (a remote
 * store shared by every node, through the node's network link, or the
 * node's own storage), with a READY peer on the side (peer.c). A rung is
 * taken when it holds the weights; shm first as before the ladder, so
 * scenarios without the new rungs decide exactly as they did. The disk rung
 * is bookkept like shm (space reserved at admission, one fill per node in
 * admission order) but survives a node fault when configured so. */
#include "core_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static double min_pos(double a, double b)
{
    return b > 0.0 && b < a ? b : a;
}

double core_ladder_bps(const struct core_spec *sp, int model, int gpu, enum core_source src)
{
    const struct core_gpu_spec *g = &sp->gpus[gpu];
    const struct core_node_spec *n = &sp->nodes[g->node];
    double read = 0;
    switch (src) {
    case CORE_SRC_STORAGE:
        read = n->storage_read_bps;
        break;
    case CORE_SRC_SHM:
        read = n->shm_read_bps;
        break;
    case CORE_SRC_DISK:
        read = n->disk_read_bps;
        break;
    case CORE_SRC_STORE: {
        int st = sp->models[model].store;
        if (st < 1 || st > sp->store_count) return 0;
        read = min_pos(sp->stores[st - 1].read_bps, n->network_bps);
        break;
    }
    case CORE_SRC_PEER:
        return 0; /* a peer's path depends on the peer: core_peer_best */
    }
    if (!(read > 0.0)) return 0;
    return min_pos(min_pos(read, g->h2d_bps), n->pcie_switch_bps);
}

enum core_source core_ladder_base(const struct core_sched *s, int model)
{
    int st = s->spec->models[model].store;
    return st >= 1 && st <= s->spec->store_count ? CORE_SRC_STORE : CORE_SRC_STORAGE;
}

bool core_disk_resident(const struct core_sched *s, int node, int model)
{
    const struct core_node_state *n = &s->nodes[node];
    return !n->failed && n->disk && n->disk[model].state == CORE_SHM_RESIDENT;
}

/* Loads in flight reading store st (1-based), or node's disk cache (st 0):
 * the core started them. */
static int readers(const struct core_sched *s, enum core_source src, int st, int node)
{
    int n = 0;
    for (size_t i = 0; i < s->live_count; i++) {
        const struct core_inst *in = &s->insts[s->live[i]];
        if (in->state != CORE_INST_LOADING || in->source != src) continue;
        n += src == CORE_SRC_STORE ? s->spec->models[in->model].store == st
                                   : s->spec->gpus[in->gpu].node == node;
    }
    return n;
}

void core_ladder_pick(const struct core_sched *s, int model, int gpu, struct core_pick *out)
{
    core_ladder_pick_gang(s, model, 1, &gpu, out);
}

void core_ladder_pick_gang(const struct core_sched *s, int model, int tp, const int *gang,
                           struct core_pick *out)
{
    int gpu = gang[0];
    const struct core_spec *sp = s->spec;
    int node = sp->gpus[gpu].node;
    out->peer = SIZE_MAX;
    if (core_shm_resident(s, node, model)) {
        out->source = CORE_SRC_SHM;
        out->bps = core_ladder_bps(sp, model, gpu, CORE_SRC_SHM);
    } else {
        out->source = core_ladder_base(s, model);
        out->bps = core_ladder_bps(sp, model, gpu, out->source);
        /* a store is shared by every node: its share now, not its whole */
        if (out->source == CORE_SRC_STORE) {
            int st = sp->models[model].store;
            double share =
                sp->stores[st - 1].read_bps / (double)(1 + readers(s, out->source, st, 0));
            if (share < out->bps) out->bps = share;
        }
        /* a cache rung that holds the weights is read, as a cache is */
        if (core_disk_resident(s, node, model)) {
            out->source = CORE_SRC_DISK;
            out->bps = core_ladder_bps(sp, model, gpu, CORE_SRC_DISK) /
                       (double)(1 + readers(s, CORE_SRC_DISK, 0, node));
        }
    }
    if (!sp->policy.peer) return;
    double pb = 0;
    size_t peer = core_peer_best_gang(s, model, tp, gang, &pb);
    if (peer != SIZE_MAX && pb > out->bps) {
        out->source = CORE_SRC_PEER;
        out->peer = peer;
        out->bps = pb;
    }
}

enum core_source core_ladder_fill_source(const struct core_sched *s, int node, int model)
{
    return core_disk_resident(s, node, model) ? CORE_SRC_DISK : core_ladder_base(s, model);
}

/* ---- the disk rung ---------------------------------------------------------------- */

int core_ladder_init(struct core_sched *s)
{
    const struct core_spec *sp = s->spec;
    size_t M = (size_t)sp->model_count;
    for (int n = 0; n < sp->node_count; n++) {
        if (sp->nodes[n].disk_bytes == 0) continue;
        /* no name (a spec built by hand): the admission that fills on use */
        const struct core_shm_policy *pol = NULL;
        if (sp->nodes[n].disk_admission[0])
            pol = core_shm_policy_find(sp->nodes[n].disk_admission);
        else
            for (const struct core_shm_policy *q = core_shm_policies; q->name && !pol; q++)
                if (q->admit_on_load) pol = q;
        s->nodes[n].disk_policy = pol;
        if (!s->nodes[n].disk_policy) return THAW_EINVAL;
        s->nodes[n].disk = calloc(M ? M : 1, sizeof *s->nodes[n].disk);
        if (!s->nodes[n].disk) return THAW_ENOMEM;
    }
    return 0;
}

void core_ladder_free(struct core_sched *s)
{
    if (s->nodes)
        for (int n = 0; n < s->spec->node_count; n++)
            free(s->nodes[n].disk);
    free(s->peer_copies);
}

static uint64_t entry_bytes(const struct core_sched *s, int model)
{
    return s->spec->models[model].weights_bytes;
}

static void disk_drop(struct core_sched *s, int node, int model)
{
    struct core_node_state *n = &s->nodes[node];
    struct core_shm_entry *e = &n->disk[model];
    n->disk_used_bytes -= entry_bytes(s, model);
    core_fill_due(s->disk_due, node);
    n->disk_queued -= e->state == CORE_SHM_QUEUED;
    n->disk_filling -= e->state == CORE_SHM_FILLING;
    memset(e, 0, sizeof *e);
    struct core_action a = {.kind = CORE_ACT_DISK_DROP, .node = node, .model = model, .gpu = -1};
    a.bytes = entry_bytes(s, model);
    core_emit(s, &a);
}

/* As shm_cache.c's admit: reserves room, dropping unpinned resident
 * entries least recently used first (then lowest index) when make_room and
 * that is enough. */
static bool disk_admit(struct core_sched *s, int node, int model, bool pinned, bool make_room)
{
    struct core_node_state *n = &s->nodes[node];
    uint64_t cap = s->spec->nodes[node].disk_bytes, bytes = entry_bytes(s, model);
    if (!n->disk || n->failed || n->disk[model].state != CORE_SHM_NONE || bytes > cap) return false;
    if (n->disk_used_bytes + bytes > cap) {
        if (!make_room) return false;
        uint64_t droppable = 0;
        for (int m = 0; m < s->spec->model_count; m++)
            if (n->disk[m].state == CORE_SHM_RESIDENT && !n->disk[m].pinned)
                droppable += entry_bytes(s, m);
        if (n->disk_used_bytes - droppable + bytes > cap) return false;
        while (n->disk_used_bytes + bytes > cap) {
            int victim = -1;
            for (int m = 0; m < s->spec->model_count; m++) {
                const struct core_shm_entry *e = &n->disk[m];
                if (e->state != CORE_SHM_RESIDENT || e->pinned) continue;
                if (victim < 0 || e->last_used_ns < n->disk[victim].last_used_ns) victim = m;
            }
            disk_drop(s, node, victim);
        }
    }
    struct core_shm_entry *e = &n->disk[model];
    e->state = CORE_SHM_QUEUED;
    n->disk_queued++;
    core_fill_due(s->disk_due, node);
    e->pinned = pinned;
    e->last_used_ns = s->now;
    e->admit_seq = ++s->disk_seq;
    n->disk_used_bytes += bytes;
    return true;
}

void core_disk_preload(struct core_sched *s, int node)
{
    const struct core_spec *sp = s->spec;
    struct core_node_state *n = &s->nodes[node];
    if (!n->disk || !n->disk_policy->preload || n->failed) return;
    /* priority descending, then index: one pass per distinct priority is
     * avoided by an insertion order as shm_cache.c's */
    int *order = malloc((size_t)(sp->model_count > 0 ? sp->model_count : 1) * sizeof *order);
    if (!order) {
        s->oom = true;
        return;
    }
    int k = 0;
    for (int m = 0; m < sp->model_count; m++) {
        const struct core_model_spec *ms = &sp->models[m];
        if (!ms->preload_to_shm && ms->standby != CORE_STANDBY_WARM) continue;
        int at = k++;
        while (at > 0 && sp->models[order[at - 1]].priority < ms->priority) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = m;
    }
    for (int i = 0; i < k; i++)
        disk_admit(s, node, order[i], true, false);
    free(order);
}

void core_disk_start_fills(struct core_sched *s)
{
    if (!core_any_due(s, s->disk_due)) return;
    for (int node = core_next_due(s, s->disk_due, 0); node >= 0;
         node = core_next_due(s, s->disk_due, node + 1)) {
        struct core_node_state *n = &s->nodes[node];
        if (!n->disk || n->failed || n->disk_filling > 0 || n->disk_queued == 0) continue;
        int next = -1;
        for (int m = 0; m < s->spec->model_count; m++)
            if (n->disk[m].state == CORE_SHM_QUEUED &&
                (next < 0 || n->disk[m].admit_seq < n->disk[next].admit_seq))
                next = m;
        if (next < 0) continue;
        n->disk[next].state = CORE_SHM_FILLING;
        n->disk_queued--;
        n->disk_filling++;
        struct core_action a = {.kind = CORE_ACT_START_DISK_FILL, .node = node, .model = next};
        a.gpu = -1;
        a.bytes = entry_bytes(s, next);
        a.source = core_ladder_base(s, next);
        core_emit(s, &a);
    }
}

void core_disk_fill_done(struct core_sched *s, int node, int model, bool ok)
{
    struct core_node_state *n = &s->nodes[node];
    if (!n->disk || n->failed || n->disk[model].state != CORE_SHM_FILLING) return; /* stale */
    struct core_shm_entry *e = &n->disk[model];
    n->disk_filling--;
    core_fill_due(s->disk_due, node);
    if (ok) {
        e->state = CORE_SHM_RESIDENT;
        e->last_used_ns = s->now;
        return;
    }
    n->disk_used_bytes -= entry_bytes(s, model); /* not retried, as shm */
    memset(e, 0, sizeof *e);
}

void core_disk_node_failed(struct core_sched *s, int node)
{
    struct core_node_state *n = &s->nodes[node];
    if (!n->disk) return;
    bool keep = s->spec->nodes[node].disk_survives_restart;
    for (int m = 0; m < s->spec->model_count; m++) {
        enum core_shm_state st = n->disk[m].state;
        /* a fill in flight or waiting dies with the node; resident weights
         * on a disk that survives stay, to be read once the node is back */
        if (st != CORE_SHM_NONE && (!keep || st != CORE_SHM_RESIDENT)) disk_drop(s, node, m);
    }
}

void core_ladder_on_load(struct core_sched *s, size_t inst, const struct core_job *job,
                         const struct core_pick *pk)
{
    int node = s->spec->gpus[s->insts[inst].gpu].node, model = job->model;
    struct core_node_state *n = &s->nodes[node];
    s->insts[inst].source = pk->source;
    switch (pk->source) {
    case CORE_SRC_DISK:
        s->stats.disk_hits++;
        n->disk[model].last_used_ns = s->now;
        break;
    case CORE_SRC_PEER:
        s->stats.peer_loads++;
        core_peer_begin(s, inst, pk->peer, job);
        /* it read no rung of this node: lru keeps it on the disk as well */
        if (n->disk && n->disk_policy->admit_on_load) disk_admit(s, node, model, false, true);
        break;
    case CORE_SRC_STORE:
    case CORE_SRC_STORAGE:
        /* a load from the bottom rung fills the disk (lru); the fill reads
         * the store (core_disk_start_fills) */
        s->stats.store_loads += pk->source == CORE_SRC_STORE;
        if (n->disk && n->disk_policy->admit_on_load) disk_admit(s, node, model, false, true);
        break;
    case CORE_SRC_SHM:
        break;
    }
}

int core_ladder_check(const struct core_sched *s, struct thaw_err *err)
{
    const struct core_spec *sp = s->spec;
    for (int node = 0; node < sp->node_count; node++) {
        const struct core_node_state *n = &s->nodes[node];
        if (!n->disk) continue;
        uint64_t used = 0;
        int filling = 0;
        for (int m = 0; m < sp->model_count; m++) {
            enum core_shm_state st = n->disk[m].state;
            if (st != CORE_SHM_NONE) used += entry_bytes(s, m);
            filling += st == CORE_SHM_FILLING;
            if (n->failed && st != CORE_SHM_NONE &&
                (st != CORE_SHM_RESIDENT || !sp->nodes[node].disk_survives_restart))
                return thaw_err_set(err, THAW_EINVARIANT,
                                    "failed node %d keeps disk entry %d in state %d", node, m,
                                    (int)st);
        }
        if (used != n->disk_used_bytes || used > sp->nodes[node].disk_bytes)
            return thaw_err_set(err, THAW_EINVARIANT,
                                "node %d disk: %" PRIu64 " used, counter %" PRIu64
                                ", capacity %" PRIu64,
                                node, used, n->disk_used_bytes, sp->nodes[node].disk_bytes);
        if (filling > 1)
            return thaw_err_set(err, THAW_EINVARIANT, "node %d runs %d disk fills at once", node,
                                filling);
    }
    for (size_t i = 0; sp->policy.peer && i < s->inst_count; i++) {
        int copies = 0;
        for (size_t c = 0; c < s->peer_copy_count; c++)
            copies += s->peer_copies[c].peer == i;
        if (copies != s->insts[i].peer_copies)
            return thaw_err_set(err, THAW_EINVARIANT,
                                "instance %zu: %d peer copies counted, %d held", i + 1,
                                s->insts[i].peer_copies, copies);
    }
    for (size_t c = 0; c < s->peer_copy_count; c++)
        if (s->insts[s->peer_copies[c].inst].state != CORE_INST_LOADING)
            return thaw_err_set(err, THAW_EINVARIANT, "peer copy of load %" PRIu64 " not loading",
                                s->peer_copies[c].load);
    return 0;
}

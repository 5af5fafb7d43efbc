/* shm_cache.c - the per-node host-memory weight cache (/dev/shm), as
 * bookkeeping: which models are resident, queued or filling, and how much of
 * the node's shm_bytes they take. Space is reserved when a model is admitted,
 * so a cache never over-commits. Fills run one at a time per node, in
 * admission order: with preload that is priority order, so the most urgent
 * model becomes resident first instead of all of them sharing the write
 * bandwidth and finishing late together. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

const struct core_shm_policy core_shm_policies[] = {
    {"off", false, false},
    {"preload", true, false},
    {"lru", true, true},
    {NULL, false, false},
};

const struct core_shm_policy *core_shm_policy_find(const char *name)
{
    for (const struct core_shm_policy *p = core_shm_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

uint64_t core_shm_entry_bytes(const struct core_sched *s, int model)
{
    return s->spec->models[model].weights_bytes;
}

bool core_shm_resident(const struct core_sched *s, int node, int model)
{
    const struct core_node_state *n = &s->nodes[node];
    return !n->failed && n->shm && n->shm[model].state == CORE_SHM_RESIDENT;
}

static void drop(struct core_sched *s, int node, int model)
{
    struct core_node_state *n = &s->nodes[node];
    struct core_shm_entry *e = &n->shm[model];
    n->shm_used_bytes -= core_shm_entry_bytes(s, model);
    core_fill_due(s->shm_due, node);
    n->shm_queued -= e->state == CORE_SHM_QUEUED;
    n->shm_filling -= e->state == CORE_SHM_FILLING;
    memset(e, 0, sizeof *e);
    struct core_action a = {.kind = CORE_ACT_SHM_DROP, .node = node, .model = model, .gpu = -1};
    a.bytes = core_shm_entry_bytes(s, model);
    core_emit(s, &a);
}

/* Reserves room for `model` on `node`. With make_room, unpinned resident
 * entries are dropped least recently used first (then lowest model index),
 * but only when that is enough. */
static bool admit(struct core_sched *s, int node, int model, bool pinned, bool make_room)
{
    struct core_node_state *n = &s->nodes[node];
    uint64_t cap = s->spec->nodes[node].shm_bytes, bytes = core_shm_entry_bytes(s, model);
    if (cap == 0 || n->failed || n->shm[model].state != CORE_SHM_NONE || bytes > cap) return false;
    if (n->shm_used_bytes + bytes > cap) {
        if (!make_room) return false;
        uint64_t droppable = 0;
        for (int m = 0; m < s->spec->model_count; m++)
            if (n->shm[m].state == CORE_SHM_RESIDENT && !n->shm[m].pinned)
                droppable += core_shm_entry_bytes(s, m);
        if (n->shm_used_bytes - droppable + bytes > cap) return false;
        while (n->shm_used_bytes + bytes > cap) {
            int victim = -1;
            for (int m = 0; m < s->spec->model_count; m++) {
                const struct core_shm_entry *e = &n->shm[m];
                if (e->state != CORE_SHM_RESIDENT || e->pinned) continue;
                if (victim < 0 || e->last_used_ns < n->shm[victim].last_used_ns) victim = m;
            }
            drop(s, node, victim);
        }
    }
    struct core_shm_entry *e = &n->shm[model];
    e->state = CORE_SHM_QUEUED;
    n->shm_queued++;
    core_fill_due(s->shm_due, node);
    e->pinned = pinned;
    e->last_used_ns = s->now;
    e->admit_seq = ++s->shm_seq;
    n->shm_used_bytes += bytes;
    return true;
}

void core_shm_preload(struct core_sched *s, int node)
{
    const struct core_spec *sp = s->spec;
    if (!s->shm->preload || sp->nodes[node].shm_bytes == 0 || s->nodes[node].failed) return;
    int *order = malloc((size_t)(sp->model_count > 0 ? sp->model_count : 1) * sizeof *order);
    if (!order) {
        s->oom = true;
        return;
    }
    int n = 0;
    for (int m = 0; m < sp->model_count; m++) {
        const struct core_model_spec *ms = &sp->models[m];
        if (!ms->preload_to_shm && ms->standby != CORE_STANDBY_WARM) continue;
        int at = n++; /* insertion sort: priority descending, then index */
        while (at > 0 && sp->models[order[at - 1]].priority < ms->priority) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = m;
    }
    for (int i = 0; i < n; i++)
        admit(s, node, order[i], true, false);
    free(order);
}

void core_shm_on_storage_load(struct core_sched *s, int node, int model)
{
    if (s->shm->admit_on_load) admit(s, node, model, false, true);
}

void core_shm_touch(struct core_sched *s, int node, int model)
{
    s->nodes[node].shm[model].last_used_ns = s->now;
}

void core_shm_start_fills(struct core_sched *s)
{
    if (!core_any_due(s, s->shm_due)) return;
    for (int node = core_next_due(s, s->shm_due, 0); node >= 0;
         node = core_next_due(s, s->shm_due, node + 1)) {
        struct core_node_state *n = &s->nodes[node];
        /* the counters say whether a scan can find anything to start */
        if (n->failed || n->shm_filling > 0 || n->shm_queued == 0) continue;
        int next = -1;
        bool busy = false;
        for (int m = 0; m < s->spec->model_count; m++) {
            if (n->shm[m].state == CORE_SHM_FILLING) busy = true;
            if (n->shm[m].state == CORE_SHM_QUEUED &&
                (next < 0 || n->shm[m].admit_seq < n->shm[next].admit_seq))
                next = m;
        }
        if (busy || next < 0) continue;
        n->shm[next].state = CORE_SHM_FILLING;
        n->shm_queued--;
        n->shm_filling++;
        struct core_action a = {.kind = CORE_ACT_START_SHM_FILL, .node = node, .model = next};
        a.gpu = -1;
        a.bytes = core_shm_entry_bytes(s, next);
        a.source = core_ladder_fill_source(s, node, next);
        core_emit(s, &a);
    }
}

void core_shm_fill_done(struct core_sched *s, int node, int model, bool ok)
{
    struct core_shm_entry *e = &s->nodes[node].shm[model];
    if (s->nodes[node].failed || e->state != CORE_SHM_FILLING) return; /* stale: ignored */
    s->nodes[node].shm_filling--;
    core_fill_due(s->shm_due, node);
    if (ok) {
        e->state = CORE_SHM_RESIDENT;
        e->last_used_ns = s->now;
        return;
    }
    /* A failed fill is not retried; its space is released. */
    s->nodes[node].shm_used_bytes -= core_shm_entry_bytes(s, model);
    memset(e, 0, sizeof *e);
}

void core_shm_node_failed(struct core_sched *s, int node)
{
    for (int m = 0; m < s->spec->model_count; m++)
        if (s->nodes[node].shm[m].state != CORE_SHM_NONE) drop(s, node, m);
}

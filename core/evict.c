/* evict.c - making room on a GPU when no GPU has enough free VRAM for a load.
 * Candidates are idle READY instances (no outstanding request, not a hot
 * standby, not of the model being loaded) that the eviction policy allows and
 * whose model keeps replicas_min READY without them. They are taken in LRU
 * order (last_used, then id) across the allowed GPUs; the first GPU that
 * reaches enough room wins and only its victims are evicted. GPUs that
 * could not reach the room even with every idle instance gone (per-GPU
 * idle_bytes) are ruled out first, and their candidates skipped where they
 * cannot change the outcome. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

static bool lru_may(const struct core_sched *s, const struct core_inst *in)
{
    (void)s;
    (void)in;
    return true;
}

/* keep_alive: when an idle instance has been idle for keep_alive_ns. */
static int64_t keep_alive_at(const struct core_sched *s, const struct core_inst *in)
{
    return core_time_add(in->last_used_ns, s->spec->policy.keep_alive_ns);
}

/* Only instances idle for at least keep_alive. */
static bool keep_alive_may(const struct core_sched *s, const struct core_inst *in)
{
    return s->now >= keep_alive_at(s, in);
}

/* lru: any idle instance; none: no may_evict, a load waits for room. */
const struct core_eviction_policy core_eviction_policies[] = {
    {.name = "lru", .may_evict = lru_may, .any_idle = true},
    {.name = "keep_alive", .may_evict = keep_alive_may, .evictable_at_ns = keep_alive_at},
    {.name = "none"},
    {.name = NULL},
};

const struct core_eviction_policy *core_eviction_policy_find(const char *name)
{
    for (const struct core_eviction_policy *p = core_eviction_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

/* LRU order: last_used, then id; a total order, so the sort is repeatable. */
int core_evict_lru_order(const void *pa, const void *pb)
{
    const struct core_evict_cand *a = pa, *b = pb;
    if (a->last_used_ns != b->last_used_ns) return a->last_used_ns < b->last_used_ns ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id ? 1 : 0;
}

/* READY serving instances of a model (what replicas_min counts): the
 * books' count (books.c). */
int core_ready_count(const struct core_sched *s, int model)
{
    return s->models[model].live_counts.ready;
}

bool core_evict_reserve(struct core_sched *s)
{
    if (s->ev_cand_cap >= s->live_count) return true;
    size_t cap = s->live_count * 2;
    struct core_evict_cand *c = realloc(s->ev_cand, cap * sizeof *c);
    if (!c) {
        s->oom = true;
        return false;
    }
    s->ev_cand = c;
    s->ev_cand_cap = cap;
    return true;
}

bool core_evict_take(struct core_sched *s, struct core_evict_cand *c)
{
    const struct core_inst *in = &s->insts[c->idx];
    int rmin = s->spec->models[in->model].replicas_min;
    if (rmin > 0 && core_ready_count(s, in->model) - s->ev_taken[in->model] <= rmin) {
        c->id = 0; /* the last replica replicas_min needs */
        return false;
    }
    s->ev_taken[in->model]++;
    for (int i = 0; i < in->tp; i++)
        s->ev_freed[in->gang[i]] += in->vram_bytes;
    return true;
}

void core_evict_reset(struct core_sched *s, const struct core_evict_cand *cand, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const struct core_inst *in = &s->insts[cand[k].idx];
        s->ev_taken[in->model] = 0;
        for (int i = 0; i < in->tp; i++)
            s->ev_freed[in->gang[i]] = 0;
    }
}

/* Only GPUs whose free VRAM plus all their idle instances reach `need` can
 * be chosen, so candidates elsewhere matter only through the replicas_min
 * count of their model (a model with replicas_min 0 is never held back:
 * it has more READY instances than candidates taken before any of its own),
 * and are left out otherwise. */
int core_evict_for(struct core_sched *s, int model, const unsigned char *allowed, uint64_t need)
{
    const struct core_spec *sp = s->spec;
    int G = sp->gpu_count;
    unsigned char reach[G > 0 ? G : 1];
    bool any = false;
    for (int g = 0; g < G; g++) {
        reach[g] = allowed[g] && sp->gpus[g].vram_bytes >= need &&
                   core_gpu_free(s, g) + s->gpus[g].idle_bytes >= need;
        any = any || reach[g];
    }
    if (!any || !s->eviction->may_evict || !core_evict_reserve(s)) return -1;
    struct core_evict_cand *cand = s->ev_cand;
    size_t n = 0;
    for (size_t i = 0; i < s->live_count; i++) {
        const struct core_inst *in = &s->insts[s->live[i]];
        if (!core_inst_idle(in) || in->model == model || !core_gang_any(in, allowed)) continue;
        bool big = false; /* a gang victim frees room on each of its GPUs */
        for (int i = 0; i < in->tp; i++)
            big = big || (allowed[in->gang[i]] && sp->gpus[in->gang[i]].vram_bytes >= need);
        if (!big) continue;
        if (!core_gang_any(in, reach) && sp->models[in->model].replicas_min <= 0) continue;
        if (!s->eviction->may_evict(s, in)) continue;
        cand[n++] = (struct core_evict_cand){in->last_used_ns, in->id, s->live[i]};
    }
    qsort(cand, n, sizeof *cand, core_evict_lru_order);
    int chosen_gpu = -1;
    size_t upto = 0;
    for (size_t k = 0; k < n && chosen_gpu < 0; k++) {
        if (!core_evict_take(s, &cand[k])) continue;
        const struct core_inst *in = &s->insts[cand[k].idx];
        for (int i = 0; i < in->tp && chosen_gpu < 0; i++) {
            int g = in->gang[i];
            if (reach[g] && core_gpu_free(s, g) + s->ev_freed[g] >= need) {
                chosen_gpu = g;
                upto = k;
            }
        }
    }
    core_evict_reset(s, cand, n);
    if (chosen_gpu >= 0) {
        for (size_t k = 0; k <= upto; k++)
            if (cand[k].id != 0 && core_inst_on(&s->insts[cand[k].idx], chosen_gpu))
                core_inst_evict(s, cand[k].idx);
    }
    return chosen_gpu;
}

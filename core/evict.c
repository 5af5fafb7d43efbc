/* evict.c - making room on a GPU when no GPU has enough free VRAM for a load.
 * Candidates are idle READY instances (no outstanding request, not a hot
 * standby, not of the model being loaded) that the eviction policy allows and
 * whose model keeps replicas_min READY without them. They are taken in LRU
 * order (last_used, then id) across the allowed GPUs; the first GPU that
 * reaches enough room wins and only its victims are evicted. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

static bool lru_may(const struct core_sched *s, const struct core_inst *in)
{
    (void)s;
    (void)in;
    return true;
}

/* Only instances idle for at least keep_alive. */
static bool keep_alive_may(const struct core_sched *s, const struct core_inst *in)
{
    return s->now >= core_time_add(in->last_used_ns, s->spec->policy.keep_alive_ns);
}

/* Never evict: a load waits until room appears. */
static bool none_may(const struct core_sched *s, const struct core_inst *in)
{
    (void)s;
    (void)in;
    return false;
}

const struct core_eviction_policy core_eviction_policies[] = {
    {"lru", lru_may},
    {"keep_alive", keep_alive_may},
    {"none", none_may},
    {NULL, NULL},
};

const struct core_eviction_policy *core_eviction_policy_find(const char *name)
{
    for (const struct core_eviction_policy *p = core_eviction_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

static int lru_order(const struct core_inst *a, const struct core_inst *b)
{
    if (a->last_used_ns != b->last_used_ns) return a->last_used_ns < b->last_used_ns ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id ? 1 : 0;
}

int core_evict_for(struct core_sched *s, int model, const unsigned char *allowed, uint64_t need)
{
    const struct core_spec *sp = s->spec;
    size_t n = 0;
    size_t *cand = malloc((s->live_count ? s->live_count : 1) * sizeof *cand);
    uint64_t *freed = calloc((size_t)(sp->gpu_count > 0 ? sp->gpu_count : 1), sizeof *freed);
    int *taken = calloc((size_t)(sp->model_count > 0 ? sp->model_count : 1), sizeof *taken);
    int *ready = calloc((size_t)(sp->model_count > 0 ? sp->model_count : 1), sizeof *ready);
    int chosen_gpu = -1;
    if (!cand || !freed || !taken || !ready) {
        s->oom = true;
        goto out;
    }
    for (size_t i = 0; i < s->live_count; i++) {
        const struct core_inst *in = &s->insts[s->live[i]];
        if (in->state == CORE_INST_READY && !in->hot) ready[in->model]++;
    }
    for (size_t i = 0; i < s->live_count; i++) {
        const struct core_inst *in = &s->insts[s->live[i]];
        if (in->state != CORE_INST_READY || in->hot || in->outstanding > 0) continue;
        if (in->model == model || !allowed[in->gpu]) continue;
        if (sp->gpus[in->gpu].vram_bytes < need) continue;
        if (!s->eviction->may_evict(s, in)) continue;
        /* insertion sort into LRU order: candidate lists are short */
        size_t at = n;
        while (at > 0 && lru_order(&s->insts[cand[at - 1]], in) > 0) {
            cand[at] = cand[at - 1];
            at--;
        }
        cand[at] = s->live[i];
        n++;
    }
    size_t upto = 0;
    for (size_t k = 0; k < n && chosen_gpu < 0; k++) {
        const struct core_inst *in = &s->insts[cand[k]];
        if (ready[in->model] - taken[in->model] <= sp->models[in->model].replicas_min) {
            cand[k] = SIZE_MAX; /* the last replica replicas_min needs */
            continue;
        }
        taken[in->model]++;
        freed[in->gpu] += in->vram_bytes;
        if (core_gpu_free(s, in->gpu) + freed[in->gpu] >= need) {
            chosen_gpu = in->gpu;
            upto = k;
        }
    }
    if (chosen_gpu >= 0) {
        for (size_t k = 0; k <= upto; k++)
            if (cand[k] != SIZE_MAX && s->insts[cand[k]].gpu == chosen_gpu)
                core_inst_evict(s, cand[k]);
    }
out:
    free(cand);
    free(freed);
    free(taken);
    free(ready);
    return chosen_gpu;
}

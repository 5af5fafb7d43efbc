/* balancer.c - which READY instance serves a request. Candidates arrive in
 * ascending instance id, all READY, not hot standbys, with a free slot; every
 * tie goes to the lower id. p2c draws from the scheduler's own splitmix64
 * stream (seeded from spec->seed), never from libc or GSL, so the core stays
 * pure and a run repeats bit for bit. */
#include "core_internal.h"

#include <string.h>

uint64_t core_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Least recently used: spreads work and keeps every instance warm. */
static size_t lru_pick(struct core_sched *s, int model, const size_t *cand, size_t n)
{
    (void)model;
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (s->insts[cand[i]].last_used_ns < s->insts[cand[best]].last_used_ns) best = i;
    return best;
}

/* The next instance id after the last one chosen for this model, wrapping. */
static size_t round_robin_pick(struct core_sched *s, int model, const size_t *cand, size_t n)
{
    struct core_model_state *ms = &s->models[model];
    size_t pick = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->insts[cand[i]].id > ms->rr_last) {
            pick = i;
            break;
        }
    }
    ms->rr_last = s->insts[cand[pick]].id;
    return pick;
}

static size_t least_outstanding_pick(struct core_sched *s, int model, const size_t *cand, size_t n)
{
    (void)model;
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (s->insts[cand[i]].outstanding < s->insts[cand[best]].outstanding) best = i;
    return best;
}

/* Power of two choices: two distinct candidates drawn uniformly, the one
 * with fewer outstanding requests wins (tie: the lower id). */
static size_t p2c_pick(struct core_sched *s, int model, const size_t *cand, size_t n)
{
    (void)model;
    if (n == 1) return 0;
    size_t a = (size_t)(core_rng_next(&s->rng) % n);
    size_t b = (size_t)(core_rng_next(&s->rng) % (n - 1));
    if (b >= a) b++;
    int oa = s->insts[cand[a]].outstanding, ob = s->insts[cand[b]].outstanding;
    if (oa != ob) return oa < ob ? a : b;
    return a < b ? a : b;
}

const struct core_balancer_policy core_balancer_policies[] = {
    {"lru", lru_pick},
    {"round_robin", round_robin_pick},
    {"least_outstanding", least_outstanding_pick},
    {"p2c", p2c_pick},
    {NULL, NULL},
};

const struct core_balancer_policy *core_balancer_policy_find(const char *name)
{
    for (const struct core_balancer_policy *p = core_balancer_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

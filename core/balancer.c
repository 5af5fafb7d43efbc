/* balancer.c - which READY instance serves a request. Candidates are the
 * model's free set (books.c: READY, not hot standbys, with a free slot);
 * every tie goes to the lower id. p2c draws from the scheduler's own splitmix64
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

/* Each policy orders the model's free set (books.c: READY serving
 * instances with a free slot) by a key, then id, and picks from it in
 * O(log n): the first, the next id, or two drawn by rank. */

static int64_t key_last_used(const struct core_inst *in)
{
    return in->last_used_ns;
}

static int64_t key_outstanding(const struct core_inst *in)
{
    return in->outstanding;
}

static int64_t key_none(const struct core_inst *in)
{
    (void)in;
    return 0;
}

/* Least recently used (lru) and least outstanding: the least key, then
 * the lower id: the free set's first. lru spreads work and keeps every
 * instance warm. */
static size_t first_pick(struct core_sched *s, int model)
{
    return core_free_first(s, model);
}

/* The next instance id after the last one chosen for this model, wrapping. */
static size_t round_robin_pick(struct core_sched *s, int model)
{
    struct core_model_state *ms = &s->models[model];
    size_t pick = core_free_after_id(s, model, ms->rr_last);
    if (pick == SIZE_MAX) pick = core_free_first(s, model);
    ms->rr_last = s->insts[pick].id;
    return pick;
}

/* Power of two choices: two distinct candidates drawn uniformly by rank in
 * id order, the one with fewer outstanding requests wins (tie: the lower
 * id). */
static size_t p2c_pick(struct core_sched *s, int model)
{
    size_t n = core_free_count(s, model);
    if (n == 1) return core_free_first(s, model);
    size_t a = (size_t)(core_rng_next(&s->rng) % n);
    size_t b = (size_t)(core_rng_next(&s->rng) % (n - 1));
    if (b >= a) b++;
    size_t ia = core_free_nth(s, model, a), ib = core_free_nth(s, model, b);
    int oa = s->insts[ia].outstanding, ob = s->insts[ib].outstanding;
    if (oa != ob) return oa < ob ? ia : ib;
    return a < b ? ia : ib;
}

const struct core_balancer_policy core_balancer_policies[] = {
    {"lru", key_last_used, first_pick},
    {"round_robin", key_none, round_robin_pick},
    {"least_outstanding", key_outstanding, first_pick},
    {"p2c", key_none, p2c_pick},
    {NULL, NULL, NULL},
};

const struct core_balancer_policy *core_balancer_policy_find(const char *name)
{
    for (const struct core_balancer_policy *p = core_balancer_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

/* test_sched_freeset.c - the balancers pick from a per-model free set kept
 * incrementally (books.c: a treap ordered by the balancer's key, then id)
 * instead of a scan of the model's instances. 16 READY instances with 3
 * slots each take a long random stream of arrivals and finishes, and every
 * DISPATCH is checked against a reference pick computed here by scanning,
 * straight from each balancer's definition (core.h):
 *   lru                least last use (start, dispatch or finish), then id;
 *   round_robin        the first free id above the last chosen, wrapping;
 *   least_outstanding  fewest outstanding, then id;
 *   p2c                two distinct free instances by rank in id order from
 *                      splitmix64 seeded with the spec's seed (a = x1 % n,
 *                      b = x2 % (n-1), b >= a -> b+1), fewer outstanding
 *                      wins, tie the lower rank; one free instance: no draw.
 * The books are recounted after every event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core_internal.h"
#include "spec_fixture.h"

#define N 16
#define CONC 3
#define STEPS 4000

struct ref {
    int outstanding[N + 1]; /* by instance id */
    int64_t last_used[N + 1];
    uint64_t reqs[N + 1][CONC];
    uint64_t rr_last;
    uint64_t rng;
    size_t waiting; /* requests the test expects queued */
};

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The reference pick among the free instances (ids ascending); 0 if none. */
static uint64_t ref_pick(struct ref *r, const char *balancer)
{
    uint64_t free_ids[N];
    size_t n = 0;
    for (uint64_t id = 1; id <= N; id++)
        if (r->outstanding[id] < CONC) free_ids[n++] = id;
    if (n == 0) return 0;
    uint64_t best = free_ids[0];
    if (!strcmp(balancer, "lru")) {
        for (size_t i = 1; i < n; i++)
            if (r->last_used[free_ids[i]] < r->last_used[best]) best = free_ids[i];
    } else if (!strcmp(balancer, "least_outstanding")) {
        for (size_t i = 1; i < n; i++)
            if (r->outstanding[free_ids[i]] < r->outstanding[best]) best = free_ids[i];
    } else if (!strcmp(balancer, "round_robin")) {
        for (size_t i = 0; i < n; i++)
            if (free_ids[i] > r->rr_last) {
                best = free_ids[i];
                break;
            }
        r->rr_last = best;
    } else if (n > 1) { /* p2c */
        size_t a = (size_t)(splitmix(&r->rng) % n);
        size_t b = (size_t)(splitmix(&r->rng) % (n - 1));
        if (b >= a) b++;
        int oa = r->outstanding[free_ids[a]], ob = r->outstanding[free_ids[b]];
        best = oa != ob ? (oa < ob ? free_ids[a] : free_ids[b]) : free_ids[a < b ? a : b];
    }
    return best;
}

/* Checks the last call's DISPATCH actions, in order, against the reference,
 * and that the core dispatched as far as free slots allow; returns the
 * most free instances seen at one pick. */
static size_t check_dispatches(struct fx *f, struct ref *r, const char *balancer, int64_t t)
{
    size_t most = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct core_action *a = &f->acts[i];
        if (a->kind != CORE_ACT_DISPATCH) continue;
        size_t nfree = 0;
        for (uint64_t id = 1; id <= N; id++)
            nfree += r->outstanding[id] < CONC;
        if (nfree > most) most = nfree;
        uint64_t want = ref_pick(r, balancer);
        if (a->instance != want)
            fprintf(stderr, "%s at t=%lld: dispatched to %llu, reference %llu\n", balancer,
                    (long long)t, (unsigned long long)a->instance, (unsigned long long)want);
        assert_int_equal(a->instance, want);
        assert_true(r->waiting > 0);
        r->waiting--;
        r->reqs[want][r->outstanding[want]++] = a->request;
        r->last_used[want] = t;
    }
    for (uint64_t id = 1; id <= N && r->waiting > 0; id++)
        assert_true(r->outstanding[id] == CONC); /* it waits only when every slot is taken */
    return most;
}

static void books(const struct fx *f)
{
    struct thaw_err err = {0};
    int rc = core_sched_check_books(f->s, &err);
    if (rc) fprintf(stderr, "bookkeeping: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void stream(const char *balancer)
{
    struct fx *f = fx_new(1, 4, 40 * GIB);
    strcpy(f->spec.policy.balancer, balancer);
    strcpy(f->spec.policy.eviction, "none");
    f->spec.seed = 11;
    int m = fx_model(f, "A", 1 * GIB, 1, N, N);
    for (int i = 0; i < N; i++)
        fx_place(f, m, i % 4);
    fx_concurrency(f, m, CONC);
    fx_start(f);
    struct ref r = {.rng = 11};
    uint64_t x = 5, req = 1;
    int64_t t = 0;
    size_t most = 0, waited = 0;
    for (int step = 0; step < STEPS; step++) {
        t += (int64_t)(1 + lcg(&x) % 1000) * 1000000;
        int busy = 0;
        for (uint64_t id = 1; id <= N; id++)
            busy += r.outstanding[id];
        /* arrivals outpace finishes in phases, so the free set runs from
         * all 16 instances down to none (requests wait) and back */
        bool arrive = busy == 0 || lcg(&x) % 100 < ((step / 500) % 2 ? 35u : 65u);
        if (arrive) {
            r.waiting++;
            fx_arrive(f, t, m, req++);
        } else {
            uint64_t k = lcg(&x) % (uint64_t)busy, id = 1;
            while (k >= (uint64_t)r.outstanding[id])
                k -= (uint64_t)r.outstanding[id++];
            uint64_t done = r.reqs[id][k];
            memmove(&r.reqs[id][k], &r.reqs[id][k + 1],
                    (size_t)(r.outstanding[id] - (int)k - 1) * sizeof r.reqs[id][0]);
            r.outstanding[id]--;
            r.last_used[id] = t;
            fx_finish(f, t, done, id);
        }
        size_t seen = check_dispatches(f, &r, balancer, t);
        if (seen > most) most = seen;
        waited += r.waiting > 0;
        books(f);
    }
    /* the stream exercised a full free set and requests waiting for a slot */
    assert_int_equal(most, N);
    assert_true(waited > 100);
    fx_free(f);
}

static void test_lru(void **state)
{
    (void)state;
    stream("lru");
}

static void test_round_robin(void **state)
{
    (void)state;
    stream("round_robin");
}

static void test_least_outstanding(void **state)
{
    (void)state;
    stream("least_outstanding");
}

static void test_p2c(void **state)
{
    (void)state;
    stream("p2c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_least_outstanding),
        cmocka_unit_test(test_p2c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

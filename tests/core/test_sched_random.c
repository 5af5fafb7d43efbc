/* test_sched_random.c - random event streams against every combination of
 * policies: a small driver keeps what is in flight (loads, fills, requests)
 * and finishes it in random order, mixes in faults, recoveries, failed loads,
 * stale and invalid events, and the invariant checker runs after every
 * event (the fixture does it). The stream comes from a fixed LCG, so a
 * failure repeats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core_internal.h"
#include "spec_fixture.h"

#define POOL 512

struct pending {
    enum core_event_kind kind;
    uint64_t a, b; /* load | request+instance | node+model */
};

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static void collect(struct fx *f, struct pending *pool, int *np)
{
    for (size_t i = 0; i < f->n && *np < POOL; i++) {
        const struct core_action *a = &f->acts[i];
        if (a->kind == CORE_ACT_START_LOAD)
            pool[(*np)++] = (struct pending){CORE_EV_LOAD_FINISHED, a->load, 0};
        else if (a->kind == CORE_ACT_DISPATCH)
            pool[(*np)++] = (struct pending){CORE_EV_REQUEST_FINISHED, a->request, a->instance};
        else if (a->kind == CORE_ACT_START_SHM_FILL)
            pool[(*np)++] =
                (struct pending){CORE_EV_SHM_FILL_FINISHED, (uint64_t)a->node, (uint64_t)a->model};
    }
}

static struct core_stats run(uint64_t seed, const char *queue, const char *placement,
                             const char *eviction, const char *shm, const char *balancer)
{
    uint64_t x = seed;
    struct fx *f = fx_new(2, 2, 40 * GIB);
    struct core_policy_spec *p = &f->spec.policy;
    strcpy(p->queue, queue);
    strcpy(p->placement, placement);
    strcpy(p->eviction, eviction);
    strcpy(p->shm, shm);
    strcpy(p->balancer, balancer);
    p->aging_per_s = (double)(seed % 3) * 0.05;
    p->keep_alive_ns = SEC(3);
    p->max_loads_per_gpu = (int)(seed % 2);
    p->max_loads_per_node = (int)(seed % 3);
    p->autoscale = seed % 2 == 0;
    p->autoscale_target = 1.5;
    p->autoscale_max_step = 2;
    p->autoscale_period_ns = SEC(2);
    f->spec.seed = seed;
    f->nodes[0].shm_bytes = 30 * GIB;
    f->nodes[1].shm_bytes = 12 * GIB;
    for (int m = 0; m < 6; m++) {
        /* one draw per statement: C leaves the order of arguments open, and
         * the stream must be the same under every compiler and -O level */
        uint64_t weights = (uint64_t)(4 + (lcg(&x) % 20)) * GIB;
        int priority = (int)(lcg(&x) % 4);
        int replicas_min = (int)(lcg(&x) % 2);
        int replicas_max = 1 + (int)(lcg(&x) % 3);
        int idx = fx_model(f, "m", weights, priority, replicas_min, replicas_max);
        f->models[idx].standby = (enum core_standby)(lcg(&x) % 3);
        f->models[idx].preload_to_shm = lcg(&x) % 2;
        f->models[idx].deadline_ns = (lcg(&x) % 2) ? SEC(1 + lcg(&x) % 30) : 0;
        fx_concurrency(f, idx, 1 + (int)(lcg(&x) % 3));
    }
    fx_place(f, 0, 0);
    fx_start(f);
    struct pending pool[POOL];
    int np = 0;
    collect(f, pool, &np);
    int64_t t = 0;
    uint64_t req = 1;
    for (int step = 0; step < 600; step++) {
        t += (int64_t)(lcg(&x) % 700) * 1000000; /* 0..0.7 s */
        unsigned r = (unsigned)(lcg(&x) % 100);
        struct core_event ev = {.t_ns = t};
        if (r < 40 || np == 0) {
            ev.kind = CORE_EV_REQUEST_ARRIVED;
            ev.model = (int)(lcg(&x) % 6);
            ev.request = req++;
        } else if (r < 85) {
            int k = (int)(lcg(&x) % (uint64_t)np);
            struct pending pe = pool[k];
            pool[k] = pool[--np];
            ev.kind = pe.kind;
            if (pe.kind == CORE_EV_LOAD_FINISHED) {
                ev.load = pe.a;
                ev.ok = lcg(&x) % 20 != 0; /* 5% of loads fail */
            } else if (pe.kind == CORE_EV_REQUEST_FINISHED) {
                ev.request = pe.a;
                ev.instance = pe.b;
            } else {
                ev.node = (int)pe.a;
                ev.model = (int)pe.b;
                ev.ok = lcg(&x) % 10 != 0;
            }
        } else if (r < 88) {
            ev.kind = CORE_EV_GPU_FAILED;
            ev.gpu = (int)(lcg(&x) % 4);
        } else if (r < 93) {
            ev.kind = CORE_EV_GPU_RECOVERED;
            ev.gpu = (int)(lcg(&x) % 4);
        } else if (r < 94) {
            ev.kind = CORE_EV_NODE_FAILED;
            ev.node = (int)(lcg(&x) % 2);
        } else if (r < 97) {
            ev.kind = CORE_EV_NODE_RECOVERED;
            ev.node = (int)(lcg(&x) % 2);
        } else {
            ev.kind = CORE_EV_TICK;
        }
        fx_feed(f, ev);
        collect(f, pool, &np);
        if (r % 17 == 0) { /* an invalid event changes nothing */
            struct core_event bad = {.kind = CORE_EV_LOAD_FINISHED, .t_ns = t, .load = 1u << 30};
            struct thaw_err err;
            assert_int_equal(core_sched_feed(f->s, &bad, &err), THAW_EINVAL);
            struct thaw_err cerr;
            assert_int_equal(core_sched_check(f->s, &cerr), 0);
        }
    }
    struct core_stats st;
    core_sched_stats(f->s, &st);
    fx_free(f);
    return st;
}

static void test_random_streams(void **state)
{
    (void)state;
    int combos = 0;
    uint64_t loads = 0, evictions = 0, hits = 0;
    for (int q = 0; core_queue_policies[q].name; q++)
        for (int pl = 0; core_placement_policies[pl].name; pl++)
            for (int e = 0; core_eviction_policies[e].name; e++) {
                int sh = (q + pl + e) % 3, b = (q * 3 + pl + e) % 4;
                struct core_stats st =
                    run((uint64_t)(1 + combos), core_queue_policies[q].name,
                        core_placement_policies[pl].name, core_eviction_policies[e].name,
                        core_shm_policies[sh].name, core_balancer_policies[b].name);
                loads += st.loads_started;
                evictions += st.evictions;
                hits += st.shm_hits;
                combos++;
            }
    assert_int_equal(combos, 4 * 4 * 3);
    /* the streams did exercise loads, evictions and shm (1521, 276 and
     * 192 with these seeds) */
    assert_true(loads > 800 && evictions > 100 && hits > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

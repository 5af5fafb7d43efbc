/* test_sched_shm.c - the per-node shm weight cache: preloading in priority
 * order within capacity, one fill at a time per node, loads reading from shm
 * only once a fill has finished, lru admission on first load with
 * least-recently-used drops, pinned entries, and a node failure emptying the
 * cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spec_fixture.h"

/* shm lru: A's first load reads storage and admits A (a fill starts right
 * after the load). Once the fill has finished, A's second load (a second
 * replica for a request that finds instance 1 busy) reads shm: 1 miss, 1 hit. */
static void test_shm_hit_after_fill(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 80 * GIB);
    strcpy(f->spec.policy.shm, "lru");
    f->nodes[0].shm_bytes = 100 * GIB;
    fx_model(f, "A", 10 * GB, 1, 0, 2);
    fx_start(f);
    assert_int_equal(fx_count(f, CORE_ACT_START_SHM_FILL), 0); /* nothing to preload */
    fx_arrive(f, 0, 0, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=1 model=0 node=0 gpu=0 src=storage");
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "t=0 START_SHM_FILL node=0 model=0 bytes=10000000000");
    assert_true(f->acts[0].kind == CORE_ACT_START_LOAD); /* the fill comes after the load */
    fx_filled(f, SEC(2), 0, 0, true);
    fx_loaded(f, SEC(10), 1, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=1");
    fx_arrive(f, SEC(11), 0, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=2 inst=2 model=0 node=0 gpu=0 src=shm");
    struct core_stats st;
    core_sched_stats(f->s, &st);
    assert_int_equal(st.shm_hits, 1);
    assert_int_equal(st.shm_misses, 1);
    fx_free(f);
}

/* shm preload with 25 GiB: N (normal), C (critical), H (high), 10 GiB each,
 * all preload_to_shm; X is not. Order by priority: C, H (20 GiB); N would
 * need 30 > 25 and is skipped. Fills run one at a time: C, then H. H
 * requested while still queued reads storage (only resident counts); C reads
 * shm; N and X read storage and preload never admits on load. */
static void test_preload_priority_order(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 2, 80 * GIB);
    strcpy(f->spec.policy.shm, "preload");
    f->nodes[0].shm_bytes = 25 * GIB;
    int n = fx_model(f, "N", 10 * GIB, 1, 0, 1);
    int c = fx_model(f, "C", 10 * GIB, 3, 0, 1);
    int h = fx_model(f, "H", 10 * GIB, 2, 0, 1);
    int x = fx_model(f, "X", 10 * GIB, 3, 0, 1);
    f->models[n].preload_to_shm = f->models[c].preload_to_shm = true;
    f->models[h].preload_to_shm = true;
    fx_start(f);
    assert_int_equal(fx_count(f, CORE_ACT_START_SHM_FILL), 1);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "node=0 model=1");
    fx_arrive(f, SEC(1), h, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=2 node=0 gpu=0 src=storage");
    assert_int_equal(fx_count(f, CORE_ACT_START_SHM_FILL), 0);
    fx_filled(f, SEC(2), 0, c, true);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "t=2000000000 START_SHM_FILL node=0 model=2");
    fx_filled(f, SEC(4), 0, h, true);
    assert_int_equal(fx_count(f, CORE_ACT_START_SHM_FILL), 0);
    fx_arrive(f, SEC(5), c, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=1 node=0 gpu=0 src=shm");
    fx_arrive(f, SEC(6), n, 3);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=0 node=0 gpu=0 src=storage");
    fx_arrive(f, SEC(7), x, 4);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=3 node=0 gpu=0 src=storage");
    assert_int_equal(fx_count(f, CORE_ACT_START_SHM_FILL), 0);
    fx_free(f);
}

/* shm lru with 15 GiB: A (10 GiB) admitted and resident; B's first load
 * needs 10 GiB: A, unpinned, least recently used, is dropped and B fills. */
static void test_lru_drops_unpinned(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 80 * GIB);
    strcpy(f->spec.policy.shm, "lru");
    f->nodes[0].shm_bytes = 15 * GIB;
    fx_model(f, "A", 10 * GIB, 1, 0, 1);
    fx_model(f, "B", 10 * GIB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, 0, 0, 1);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "model=0");
    fx_filled(f, SEC(2), 0, 0, true);
    fx_arrive(f, SEC(3), 1, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=1 node=0 gpu=0 src=storage");
    fx_expect(f, CORE_ACT_SHM_DROP, 0, "t=3000000000 SHM_DROP node=0 model=0");
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "t=3000000000 START_SHM_FILL node=0 model=1");
    fx_free(f);
}

/* A pinned (preloaded) entry is never dropped: with A pinned in 15 GiB, B's
 * load reads storage and B is not admitted (no drop, no fill). */
static void test_lru_keeps_pinned(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 80 * GIB);
    strcpy(f->spec.policy.shm, "lru");
    f->nodes[0].shm_bytes = 15 * GIB;
    int a = fx_model(f, "A", 10 * GIB, 1, 0, 1);
    fx_model(f, "B", 10 * GIB, 1, 0, 1);
    f->models[a].preload_to_shm = true;
    fx_start(f);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "model=0");
    fx_filled(f, SEC(2), 0, 0, true);
    fx_arrive(f, SEC(3), 1, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=1 node=0 gpu=0 src=storage");
    assert_int_equal(fx_count(f, CORE_ACT_SHM_DROP), 0);
    assert_int_equal(fx_count(f, CORE_ACT_START_SHM_FILL), 0);
    fx_free(f);
}

/* A warm standby is pinned in shm like preload_to_shm. A node failure empties
 * the cache (SHM_DROP per entry) and its recovery preloads again. shm off
 * never fills, not even for a warm standby. */
static void test_warm_standby_and_node_failure(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 80 * GIB);
    strcpy(f->spec.policy.shm, "preload");
    f->nodes[0].shm_bytes = 50 * GIB;
    int a = fx_model(f, "A", 10 * GIB, 1, 0, 1);
    f->models[a].standby = CORE_STANDBY_WARM;
    fx_start(f);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "node=0 model=0");
    fx_filled(f, SEC(2), 0, a, true);
    fx_event(f, CORE_EV_NODE_FAILED, SEC(5), 0, -1);
    fx_expect(f, CORE_ACT_SHM_DROP, 0, "t=5000000000 SHM_DROP node=0 model=0");
    /* the request waits: the only GPU is down, the demand load stays queued */
    fx_arrive(f, SEC(6), a, 1);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_event(f, CORE_EV_NODE_RECOVERED, SEC(7), 0, -1);
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "t=7000000000 START_LOAD load=1 inst=1 model=0 node=0 "
              "gpu=0 src=storage reason=demand");
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "t=7000000000 START_SHM_FILL node=0 model=0");
    fx_free(f);

    f = fx_new(1, 1, 80 * GIB);
    f->nodes[0].shm_bytes = 50 * GIB;
    a = fx_model(f, "A", 10 * GIB, 1, 0, 1);
    f->models[a].standby = CORE_STANDBY_WARM;
    fx_start(f);
    assert_int_equal(fx_count(f, CORE_ACT_START_SHM_FILL), 0);
    fx_free(f);
}

/* A failed fill releases its space and is not retried; the next queued
 * fill starts. */
static void test_failed_fill(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 80 * GIB);
    strcpy(f->spec.policy.shm, "preload");
    f->nodes[0].shm_bytes = 50 * GIB;
    fx_model(f, "A", 10 * GIB, 2, 0, 1);
    fx_model(f, "B", 10 * GIB, 1, 0, 1);
    f->models[0].preload_to_shm = f->models[1].preload_to_shm = true;
    fx_start(f);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "model=0");
    fx_filled(f, SEC(1), 0, 0, false);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "model=1");
    fx_filled(f, SEC(1), 0, 0, true); /* stale: A is no longer filling */
    assert_int_equal(f->n, 0);
    fx_arrive(f, SEC(2), 0, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=0 node=0 gpu=0 src=storage");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shm_hit_after_fill),
        cmocka_unit_test(test_preload_priority_order),
        cmocka_unit_test(test_lru_drops_unpinned),
        cmocka_unit_test(test_lru_keeps_pinned),
        cmocka_unit_test(test_warm_standby_and_node_failure),
        cmocka_unit_test(test_failed_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

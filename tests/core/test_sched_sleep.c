/* test_sched_sleep.c - sleep-mode standby (core/sleep.c): an eviction
 * victim with standby sleep sleeps when its node's host memory has room
 * (SLEEP, VRAM freed, no EVICT), a demand for it wakes it (WAKE: a load
 * back from host memory) in preference to a cold load, and host memory is
 * never over-committed: the invariant checker (after every event, in
 * spec_fixture.h) recounts it from the sleeping and waking instances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spec_fixture.h"

/* One node, one 40 GiB GPU, host memory `host`; A (30 GiB, standby sleep)
 * and B (30 GiB, cold) cannot share the GPU. A loads, serves, goes idle;
 * B's demand evicts A. */
static struct fx *setup_ab(uint64_t host)
{
    struct fx *f = fx_new(1, 1, 40 * GIB);
    f->nodes[0].host_memory_bytes = host;
    int a = fx_model(f, "A", 30 * GIB, 1, 0, 1);
    f->models[a].standby = CORE_STANDBY_SLEEP;
    fx_model(f, "B", 30 * GIB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, SEC(1), 0, 1);
    fx_loaded(f, SEC(11), 1, true);
    fx_finish(f, SEC(12), 1, 1);
    return f;
}

static void test_sleep_then_wake(void **state)
{
    (void)state;
    struct fx *f = setup_ab(64 * GIB);
    fx_arrive(f, SEC(13), 1, 2);
    /* A sleeps instead of being evicted: 30 GiB = 32212254720 B to host */
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    fx_expect(f, CORE_ACT_SLEEP, 0, "load=1 inst=1 model=0 node=0 gpu=0 bytes=32212254720");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=2 inst=2 model=1 node=0 gpu=0");
    fx_loaded(f, SEC(23), 2, true);
    fx_finish(f, SEC(24), 2, 2);
    /* A is asked for again: no room, no cold load; B (cold) is evicted and
     * A wakes on gpu0 as load 3 of the same instance 1 */
    fx_arrive(f, SEC(25), 0, 3);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=2 model=1");
    fx_expect(f, CORE_ACT_WAKE, 0, "load=3 inst=1 model=0 node=0 gpu=0 bytes=32212254720");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 1, "inst=1 load=3 model=0 node=0 gpu=0 state=loading");
    fx_loaded(f, SEC(27), 3, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=3 inst=1 model=0");
    struct core_stats st;
    core_sched_stats(f->s, &st);
    assert_int_equal(st.sleeps, 1);
    assert_int_equal(st.wakes, 1);
    assert_int_equal(st.loads_started, 2); /* the wake is not a cold load */
    fx_free(f);
}

/* Host memory smaller than A's weights (20 < 30 GiB): A is evicted. */
static void test_no_room_in_host_memory(void **state)
{
    (void)state;
    struct fx *f = setup_ab(20 * GIB);
    fx_arrive(f, SEC(13), 1, 2);
    assert_int_equal(fx_count(f, CORE_ACT_SLEEP), 0);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=1 model=0");
    fx_free(f);
}

/* Host memory for one sleeper only: two 40 GiB GPUs, host 40 GiB; A1 and
 * A2 (30 GiB, sleep) idle on gpu0 and gpu1. B and C (35 GiB each) evict
 * them in LRU order: A1 sleeps (30 of 40 used), A2 finds 10 GiB left and is
 * evicted. The checker verifies 30 GiB held, never more than 40. */
static void test_host_memory_never_over_committed(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 2, 40 * GIB);
    f->nodes[0].host_memory_bytes = 40 * GIB;
    int a1 = fx_model(f, "A1", 30 * GIB, 1, 0, 1);
    int a2 = fx_model(f, "A2", 30 * GIB, 1, 0, 1);
    f->models[a1].standby = f->models[a2].standby = CORE_STANDBY_SLEEP;
    fx_place(f, a1, 0);
    fx_place(f, a2, 1);
    int b = fx_model(f, "B", 35 * GIB, 1, 0, 1);
    int c = fx_model(f, "C", 35 * GIB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, SEC(1), b, 1);
    fx_expect(f, CORE_ACT_SLEEP, 0, "inst=1 model=0 node=0 gpu=0");
    fx_arrive(f, SEC(2), c, 2);
    assert_int_equal(fx_count(f, CORE_ACT_SLEEP), 0);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=2 model=1 node=0 gpu=1");
    fx_free(f);
}

/* A node failure loses its sleepers with its memory: A asleep, the node
 * fails: A is FAILED and the host memory counter is back to 0 (checked). */
static void test_node_failure_loses_sleepers(void **state)
{
    (void)state;
    struct fx *f = setup_ab(64 * GIB);
    fx_arrive(f, SEC(13), 1, 2);
    fx_expect(f, CORE_ACT_SLEEP, 0, "inst=1");
    fx_event(f, CORE_EV_NODE_FAILED, SEC(14), 0, -1);
    /* the sleeper first (its memory goes with the node), then B's load */
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=1 model=0 node=0 gpu=0 state=failed");
    fx_expect(f, CORE_ACT_CANCEL_LOAD, 0, "load=2 inst=2 model=1");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 1, "inst=2 load=2 model=1 node=0 gpu=0 state=failed");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleep_then_wake),
        cmocka_unit_test(test_no_room_in_host_memory),
        cmocka_unit_test(test_host_memory_never_over_committed),
        cmocka_unit_test(test_node_failure_loses_sleepers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

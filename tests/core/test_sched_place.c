/* test_sched_place.c - where loads go (first_fit, best_fit, spread,
 * locality) and what is evicted to make room (lru, keep_alive, none): the
 * least recently used idle instance, never a busy one, never the last
 * replica replicas_min needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spec_fixture.h"

/* Three 40 GiB GPUs on one node: gpu0 holds P (10 GiB, 30 free), gpu1 holds
 * Q (25 GiB, 15 free), gpu2 is empty (40 free). N needs 12 GiB:
 *   first_fit -> gpu0 (lowest index with room)
 *   best_fit  -> leftovers 18, 3, 28 GiB -> gpu1
 *   spread    -> reserved fractions 0.25, 0.625, 0 -> gpu2 */
static int place_n(const char *policy)
{
    struct fx *f = fx_new(1, 3, 40 * GIB);
    strcpy(f->spec.policy.placement, policy);
    int p = fx_model(f, "P", 10 * GIB, 1, 1, 1);
    int q = fx_model(f, "Q", 25 * GIB, 1, 1, 1);
    int n = fx_model(f, "N", 12 * GIB, 1, 0, 1);
    fx_place(f, p, 0);
    fx_place(f, q, 1);
    fx_start(f);
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0,
              "inst=1 load=0 model=0 node=0 gpu=0 state=ready "
              "reason=prewarm");
    fx_arrive(f, SEC(1), n, 1);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 1);
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    int gpu = fx_nth(f, CORE_ACT_START_LOAD, 0)->gpu;
    fx_free(f);
    return gpu;
}

static void test_first_fit(void **state)
{
    (void)state;
    assert_int_equal(place_n("first_fit"), 0);
}

static void test_best_fit(void **state)
{
    (void)state;
    assert_int_equal(place_n("best_fit"), 1);
}

static void test_spread(void **state)
{
    (void)state;
    assert_int_equal(place_n("spread"), 2);
}

/* Two nodes of one 40 GiB GPU each; node 1 has a 64 GiB shm cache where N is
 * preloaded. best_fit ties (40 GiB free on both) and takes gpu0 from storage;
 * locality prefers gpu1, whose node holds the weights, and reads shm. */
static void place_local(const char *policy, const char *want)
{
    struct fx *f = fx_new(2, 1, 40 * GIB);
    strcpy(f->spec.policy.placement, policy);
    strcpy(f->spec.policy.shm, "preload");
    f->nodes[1].shm_bytes = 64 * GIB;
    int n = fx_model(f, "N", 12 * GIB, 1, 0, 1);
    f->models[n].preload_to_shm = true;
    fx_start(f);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "node=1 model=0");
    assert_int_equal(fx_count(f, CORE_ACT_START_SHM_FILL), 1); /* node 0 has no shm */
    fx_filled(f, SEC(3), 1, n, true);
    fx_arrive(f, SEC(5), n, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, want);
    fx_free(f);
}

static void test_locality(void **state)
{
    (void)state;
    place_local("best_fit", "node=0 gpu=0 src=storage");
    place_local("locality", "node=1 gpu=1 src=shm");
}

/* One 40 GiB GPU holding A, B, C (10 GiB each, 10 free). C is dispatched at
 * 0.5 s and still serving; A serves 1..2 s, B 3..4 s. D (20 GiB) at 10 s needs
 * 10 GiB more: by last use C (0.5) < A (2) < B (4), but C is busy, so A, the
 * least recently used idle instance, is evicted, and only A. */
static struct fx *three_idle(const char *eviction)
{
    struct fx *f = fx_new(1, 1, 40 * GIB);
    strcpy(f->spec.policy.eviction, eviction);
    f->spec.policy.keep_alive_ns = SEC(10);
    for (int m = 0; m < 3; m++) {
        fx_model(f, m == 0 ? "A" : m == 1 ? "B" : "C", 10 * GIB, 1, 0, 1);
        fx_place(f, m, 0);
    }
    fx_model(f, "D", 20 * GIB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, SEC(0.5), 2, 30);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=30 inst=3");
    fx_arrive(f, SEC(1), 0, 10);
    fx_finish(f, SEC(2), 10, 1);
    fx_arrive(f, SEC(3), 1, 20);
    fx_finish(f, SEC(4), 20, 2);
    return f;
}

static void test_lru_evicts_least_recent_idle(void **state)
{
    (void)state;
    struct fx *f = three_idle("lru");
    fx_arrive(f, SEC(10), 3, 40);
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 1);
    fx_expect(f, CORE_ACT_EVICT, 0, "t=10000000000 EVICT load=0 inst=1 model=0 node=0 gpu=0");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=0 model=0 node=0 gpu=0 state=evicted");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=4 model=3 node=0 gpu=0");
    /* A's next request must load A again: B (idle since 4 s) goes; C (busy) stays */
    fx_arrive(f, SEC(11), 0, 11);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=2 model=1");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=2 inst=5 model=0");
    /* nothing idle is left: C is busy, A and D are loading. B waits. */
    fx_arrive(f, SEC(12), 1, 21);
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_free(f);
}

/* replicas_min 1 protects A (its only READY instance): B is evicted instead. */
static void test_lru_keeps_min_replicas(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 40 * GIB);
    for (int m = 0; m < 3; m++) {
        fx_model(f, "x", 10 * GIB, 1, m == 0 ? 1 : 0, 1);
        fx_place(f, m, 0);
    }
    fx_model(f, "D", 20 * GIB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, SEC(1), 1, 1); /* B used at 1..2 s, A and C never (last use 0) */
    fx_finish(f, SEC(2), 1, 2);
    fx_arrive(f, SEC(5), 3, 2);
    /* LRU order A (0, protected), C (0), B (2): C goes */
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 1);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=3 model=2");
    fx_free(f);
}

/* keep_alive 10 s: at 10 s A has been idle 8 s and B 6 s: nothing may go, D
 * waits and the core asks to be woken when A's keep-alive ends (2 + 10 =
 * 12 s). At that tick A is evicted and D starts. */
static void test_keep_alive_waits_then_evicts(void **state)
{
    (void)state;
    struct fx *f = three_idle("keep_alive");
    fx_arrive(f, SEC(10), 3, 40);
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    assert_int_equal(fx_nth(f, CORE_ACT_WAKE_AT, 0)->wake_ns, SEC(12));
    fx_tick(f, SEC(12));
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=1 model=0");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "t=12000000000 START_LOAD load=1 inst=4 model=3");
    fx_free(f);
}

/* none: never evicts; D waits until room appears some other way. */
static void test_none_never_evicts(void **state)
{
    (void)state;
    struct fx *f = three_idle("none");
    fx_arrive(f, SEC(10), 3, 40);
    fx_tick(f, SEC(400));
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    assert_int_equal(fx_count(f, CORE_ACT_WAKE_AT), 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_fit),
        cmocka_unit_test(test_best_fit),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_locality),
        cmocka_unit_test(test_lru_evicts_least_recent_idle),
        cmocka_unit_test(test_lru_keeps_min_replicas),
        cmocka_unit_test(test_keep_alive_waits_then_evicts),
        cmocka_unit_test(test_none_never_evicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

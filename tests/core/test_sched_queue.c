/* test_sched_queue.c - the cold-start queue: the order in which waiting loads
 * start under each queue policy (fifo, priority, edf, sjf, aging), the
 * chained cold start of the design article, and the load concurrency limits.
 * The fixture's storage reads 1e9 B/s, so an N GB load takes N seconds; the
 * test plays the driver and feeds LOAD_FINISHED at those times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spec_fixture.h"

/* One node, one big GPU, one load at a time. Model 0 (10 GB) is requested at
 * t=0 and starts at once; models 1..3 are requested at t=1,2,3 and queue
 * behind it. Each time the running load finishes, exactly one more starts:
 * the first of the queue in the policy's order, which must be `want`. */
static void run_order(struct fx *f, const int want[3])
{
    f->spec.policy.max_loads_per_node = 1;
    fx_start(f);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_arrive(f, 0, 0, 100);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=1 model=0 node=0 gpu=0 src=storage");
    for (int i = 1; i <= 3; i++) {
        fx_arrive(f, SEC(i), i, 100 + (uint64_t)i);
        assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    }
    int64_t t = SEC(10);
    for (int k = 0; k < 3; k++) {
        fx_loaded(f, t, (uint64_t)k + 1, true);
        assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 1);
        const struct core_action *a = fx_nth(f, CORE_ACT_START_LOAD, 0);
        assert_int_equal(a->model, want[k]);
        assert_int_equal(a->load, (uint64_t)k + 2);
        assert_int_equal(a->enqueued_ns, SEC(a->model)); /* requested at t = its index */
        t += (int64_t)(f->models[a->model].weights_bytes / GB) * SEC(1);
    }
    fx_loaded(f, t, 4, true);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    assert_int_equal(fx_count(f, CORE_ACT_DISPATCH), 1);
}

static struct fx *four_models(const char *queue, int p1, int p2, int p3)
{
    struct fx *f = fx_new(1, 1, 200 * GIB);
    strcpy(f->spec.policy.queue, queue);
    fx_model(f, "blocker", 10 * GB, 1, 0, 1);
    fx_model(f, "m1", 10 * GB, p1, 0, 1);
    fx_model(f, "m2", 10 * GB, p2, 0, 1);
    fx_model(f, "m3", 10 * GB, p3, 0, 1);
    return f;
}

/* fifo ignores priority: requested 1, 2, 3 -> started 1, 2, 3. */
static void test_fifo_order(void **state)
{
    (void)state;
    struct fx *f = four_models("fifo", 1, 3, 1);
    run_order(f, (const int[]){1, 2, 3});
    fx_free(f);
}

/* priority: the critical m2 (3) overtakes the normal m1 (1) queued before it. */
static void test_priority_critical_overtakes(void **state)
{
    (void)state;
    struct fx *f = four_models("priority", 1, 3, 1);
    run_order(f, (const int[]){2, 1, 3});
    fx_free(f);
}

/* priority ties break on the earlier absolute deadline: m1 normal with 60 s
 * (due 61 s), m3 normal with 20 s (due 23 s), m2 low: m3, m1, m2. */
static void test_priority_then_deadline(void **state)
{
    (void)state;
    struct fx *f = four_models("priority", 1, 0, 1);
    f->models[1].deadline_ns = SEC(60);
    f->models[3].deadline_ns = SEC(20);
    run_order(f, (const int[]){3, 1, 2});
    fx_free(f);
}

/* edf: m1 due 1+100 = 101 s, m2 due 2+20 = 22 s, m3 no deadline (last),
 * whatever the priorities: m2, m1, m3. */
static void test_edf_order(void **state)
{
    (void)state;
    struct fx *f = four_models("edf", 3, 0, 3);
    f->models[1].deadline_ns = SEC(100);
    f->models[2].deadline_ns = SEC(20);
    run_order(f, (const int[]){2, 1, 3});
    fx_free(f);
}

/* sjf: lone load times 30 s, 5 s, 10 s (GB at 1 GB/s) -> m2, m3, m1. */
static void test_sjf_by_size(void **state)
{
    (void)state;
    struct fx *f = four_models("sjf", 1, 1, 1);
    f->models[1].weights_bytes = f->models[1].vram_bytes = 30 * GB;
    f->models[2].weights_bytes = f->models[2].vram_bytes = 5 * GB;
    run_order(f, (const int[]){2, 3, 1});
    fx_free(f);
}

/* Aging 0.1/s. A blocker loads 0..40 s; low-priority L (0) is requested at
 * t=1, high-priority H (2) at t=b. At 40 s the winner starts.
 * b=30: L has waited 39 s -> 3.9, H 10 s -> 3.0: L first (aging overtakes).
 * b=15: L 3.9, H 2 + 2.5 = 4.5: H first. Without aging: H first. */
static int aging_winner(double aging, int64_t b)
{
    struct fx *f = fx_new(1, 1, 200 * GIB);
    strcpy(f->spec.policy.queue, "priority");
    f->spec.policy.aging_per_s = aging;
    f->spec.policy.max_loads_per_node = 1;
    fx_model(f, "blocker", 40 * GB, 1, 0, 1);
    fx_model(f, "low", 10 * GB, 0, 0, 1);
    fx_model(f, "high", 10 * GB, 2, 0, 1);
    fx_start(f);
    fx_arrive(f, 0, 0, 1);
    fx_arrive(f, SEC(1), 1, 2);
    fx_arrive(f, b, 2, 3);
    fx_loaded(f, SEC(40), 1, true);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 1);
    int m = fx_nth(f, CORE_ACT_START_LOAD, 0)->model;
    fx_free(f);
    return m;
}

static void test_aging_overtakes(void **state)
{
    (void)state;
    assert_int_equal(aging_winner(0.1, SEC(30)), 1);
    assert_int_equal(aging_winner(0.1, SEC(15)), 2);
    assert_int_equal(aging_winner(0.0, SEC(30)), 2);
}

/* The article's chained cold start with serial loading (one load per node):
 * A requested at 0, B at 10, C at 15, each a 30 s load. Loads start at
 * 0/30/60 and instances are READY at 30/60/90; each request is dispatched
 * cold when its model becomes READY. Cold-start latency (ready - enqueued):
 * 30, 50, 75 s; makespan 90 s against an ideal 30 s. */
static void test_chained_cold_start_serial(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 2, 80 * GIB);
    f->spec.policy.max_loads_per_node = 1;
    fx_model(f, "A", 30 * GB, 1, 0, 1);
    fx_model(f, "B", 30 * GB, 1, 0, 1);
    fx_model(f, "C", 30 * GB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, 0, 0, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "t=0 START_LOAD load=1 inst=1 model=0 node=0 gpu=0");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "reason=demand");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=1 model=0 node=0 gpu=0 state=loading");
    fx_arrive(f, SEC(10), 1, 2);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_arrive(f, SEC(15), 2, 3);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);

    fx_loaded(f, SEC(30), 1, true);
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=1 model=0 node=0 gpu=0 state=ready");
    fx_expect(f, CORE_ACT_DISPATCH, 0, "t=30000000000 DISPATCH req=1 inst=1 model=0");
    assert_true(fx_nth(f, CORE_ACT_DISPATCH, 0)->cold);
    /* first_fit: GPU 0 still has 80 GiB - 30 GB free */
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=2 inst=2 model=1 node=0 gpu=0");
    assert_int_equal(fx_nth(f, CORE_ACT_START_LOAD, 0)->enqueued_ns, SEC(10));

    fx_loaded(f, SEC(60), 2, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=2 inst=2 model=1");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "t=60000000000 START_LOAD load=3 inst=3 model=2");
    assert_int_equal(fx_nth(f, CORE_ACT_START_LOAD, 0)->enqueued_ns, SEC(15));

    fx_loaded(f, SEC(90), 3, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "t=90000000000 DISPATCH req=3 inst=3 model=2");
    assert_true(fx_nth(f, CORE_ACT_DISPATCH, 0)->cold);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_free(f);
}

/* The chained cold start by VRAM: one 16 GiB GPU, A, B, C need 14 GiB each
 * (30 s loads), requests served 5 s. B (t=10) cannot start while A loads
 * (LOADING is never evicted) nor while A serves (busy is never evicted): it
 * starts at 35 s when A's request ends and A, now idle, is evicted. C
 * (t=15) starts at 70 s the same way. */
static void test_chained_cold_start_vram(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 16 * GIB);
    for (int m = 0; m < 3; m++) {
        fx_model(f, m == 0 ? "A" : m == 1 ? "B" : "C", 30 * GB, 1, 0, 1);
        f->models[m].vram_bytes = 14 * GIB;
    }
    fx_start(f);
    fx_arrive(f, 0, 0, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=1 model=0");
    fx_arrive(f, SEC(10), 1, 2);
    fx_arrive(f, SEC(15), 2, 3);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_loaded(f, SEC(30), 1, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=1");
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_finish(f, SEC(35), 1, 1);
    fx_expect(f, CORE_ACT_EVICT, 0, "t=35000000000 EVICT load=1 inst=1 model=0");
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "t=35000000000 START_LOAD load=2 inst=2 model=1 node=0 gpu=0");
    fx_loaded(f, SEC(65), 2, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=2 inst=2");
    fx_finish(f, SEC(70), 2, 2);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=2");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "t=70000000000 START_LOAD load=3 inst=3 model=2");
    fx_loaded(f, SEC(100), 3, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=3 inst=3");
    struct core_stats st;
    core_sched_stats(f->s, &st);
    assert_int_equal(st.evictions, 2);
    assert_int_equal(st.loads_started, 3);
    fx_free(f);
}

/* max_loads_per_gpu 1 and max_loads_per_node 2 on a node of 3 GPUs: four
 * models requested at t=0. m0 -> gpu0; m1: gpu0 at its limit -> gpu1; m2, m3:
 * the node is at 2 -> wait. At 10 s load 1 ends: m2 starts on gpu0 (free of
 * loads again, first fit); m3 still waits (node at 2). */
static void test_load_limits(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 3, 80 * GIB);
    f->spec.policy.max_loads_per_gpu = 1;
    f->spec.policy.max_loads_per_node = 2;
    for (int m = 0; m < 4; m++)
        fx_model(f, "m", 10 * GB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, 0, 0, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=1 model=0 node=0 gpu=0");
    fx_arrive(f, 0, 1, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=2 inst=2 model=1 node=0 gpu=1");
    fx_arrive(f, 0, 2, 3);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_arrive(f, 0, 3, 4);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_loaded(f, SEC(10), 1, true);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=3 inst=3 model=2 node=0 gpu=0");
    fx_loaded(f, SEC(10), 2, true);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=4 inst=4 model=3 node=0 gpu=1");
    fx_free(f);
}

/* Head-of-line: a job that cannot be placed does not block a later one that
 * can. Queue (priority): big (critical, 70 GiB, fits no GPU with 40 GiB
 * free) then small (normal, 10 GiB): small starts, big keeps waiting. */
static void test_no_head_of_line_blocking(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 80 * GIB);
    strcpy(f->spec.policy.queue, "priority");
    strcpy(f->spec.policy.eviction, "none");
    int busy = fx_model(f, "busy", 40 * GIB, 1, 1, 1);
    fx_place(f, busy, 0);
    fx_model(f, "big", 70 * GIB, 3, 0, 1);
    fx_model(f, "small", 10 * GIB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, SEC(1), 1, 1);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_arrive(f, SEC(2), 2, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=2 model=2 node=0 gpu=0");
    struct core_stats st;
    core_sched_stats(f->s, &st);
    assert_int_equal(st.requests_waiting, 2); /* big's, and small's until its load ends */
    fx_loaded(f, SEC(12), 1, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=2 inst=2");
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0); /* big: still no room */
    core_sched_stats(f->s, &st);
    assert_int_equal(st.requests_waiting, 1);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_order),
        cmocka_unit_test(test_priority_critical_overtakes),
        cmocka_unit_test(test_priority_then_deadline),
        cmocka_unit_test(test_edf_order),
        cmocka_unit_test(test_sjf_by_size),
        cmocka_unit_test(test_aging_overtakes),
        cmocka_unit_test(test_chained_cold_start_serial),
        cmocka_unit_test(test_chained_cold_start_vram),
        cmocka_unit_test(test_load_limits),
        cmocka_unit_test(test_no_head_of_line_blocking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

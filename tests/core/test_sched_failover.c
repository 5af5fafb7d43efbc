/* test_sched_failover.c - faults and their repair: failover re-queue with the
 * model's priority and reason, requests requeued to the head of their queue,
 * in-flight loads cancelled, hot standby promotion with no load, failed
 * loads not retried, GPU recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spec_fixture.h"

/* Two nodes of one 80 GiB GPU, one load per GPU at a time. B (normal, model
 * 0) and A (critical, model 1), replicas_min 1, both READY on gpu0; A serves
 * request 1. gpu0 fails at 5 s: request 1 is requeued, both instances FAIL,
 * and a failover load for each is queued at once with its model's priority.
 * With the priority queue, A's replacement (critical) starts first on gpu1
 * although B's was queued first; B's starts when A's ends (35 s), still
 * with enqueued = 5 s. Request 1 goes to A's new instance, cold. */
static struct fx *two_models(const char *queue)
{
    struct fx *f = fx_new(2, 1, 80 * GIB);
    strcpy(f->spec.policy.queue, queue);
    f->spec.policy.max_loads_per_gpu = 1;
    int b = fx_model(f, "B", 30 * GB, 1, 1, 1);
    int a = fx_model(f, "A", 30 * GB, 3, 1, 1);
    fx_place(f, b, 0);
    fx_place(f, a, 0);
    fx_start(f);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0); /* replicas_min met at start */
    fx_arrive(f, SEC(1), a, 1);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=2 model=1");
    assert_false(fx_nth(f, CORE_ACT_DISPATCH, 0)->cold);
    fx_event(f, CORE_EV_GPU_FAILED, SEC(5), 0, 0);
    return f;
}

static void test_failover_priority(void **state)
{
    (void)state;
    struct fx *f = two_models("priority");
    fx_expect(f, CORE_ACT_REQUEST_REQUEUED, 0, "t=5000000000 REQUEST_REQUEUED req=1 inst=2");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=0 model=0 node=0 gpu=0 state=failed");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 1, "inst=2 load=0 model=1 node=0 gpu=0 state=failed");
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "load=1 inst=3 model=1 node=1 gpu=1 src=storage "
              "reason=failover");
    fx_loaded(f, SEC(35), 1, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=3 model=1");
    assert_true(fx_nth(f, CORE_ACT_DISPATCH, 0)->cold);
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "load=2 inst=4 model=0 node=1 gpu=1 src=storage "
              "reason=failover");
    assert_int_equal(fx_nth(f, CORE_ACT_START_LOAD, 0)->enqueued_ns, SEC(5));
    fx_free(f);
}

/* The same fault under fifo: B's replacement, queued first, starts first. */
static void test_failover_fifo(void **state)
{
    (void)state;
    struct fx *f = two_models("fifo");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=3 model=0 node=1 gpu=1");
    fx_free(f);
}

/* A GPU failure during a load: CANCEL_LOAD and FAILED; the request keeps
 * waiting and (replicas_min 0) a demand load is queued again and placed on
 * the other GPU. A late LOAD_FINISHED for the cancelled load is ignored.
 * Requests requeued by a fault go before those that arrived later. */
static void test_cancel_in_flight_and_requeue_order(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 2, 80 * GIB);
    f->spec.policy.max_loads_per_gpu = 1;
    int a = fx_model(f, "A", 30 * GB, 1, 0, 1);
    int b = fx_model(f, "B", 30 * GB, 1, 0, 1);
    fx_place(f, b, 0);
    fx_start(f);
    fx_arrive(f, SEC(1), a, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=2 model=0 node=0 gpu=0");
    fx_arrive(f, SEC(2), b, 10);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=10 inst=1");
    fx_arrive(f, SEC(3), b, 11); /* waits: B at replicas_max 1, busy */
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_event(f, CORE_EV_GPU_FAILED, SEC(4), 0, 0);
    fx_expect(f, CORE_ACT_CANCEL_LOAD, 0, "t=4000000000 CANCEL_LOAD load=1 inst=2 model=0");
    fx_expect(f, CORE_ACT_REQUEST_REQUEUED, 0, "req=10 inst=1");
    /* instances 1 and 2 fail; new loads for A (demand) and B (demand) */
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=0 model=1 node=0 gpu=0 state=failed");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 1, "inst=2 load=1 model=0 node=0 gpu=0 state=failed");
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "load=2 inst=3 model=0 node=0 gpu=1 src=storage "
              "reason=demand");
    fx_loaded(f, SEC(5), 1, true); /* the cancelled load: ignored */
    assert_int_equal(f->n, 0);
    fx_loaded(f, SEC(34), 2, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=3");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=3 inst=4 model=1 node=0 gpu=1");
    fx_loaded(f, SEC(64), 3, true);
    /* request 10 (requeued to the head) before request 11 */
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=10 inst=4");
    assert_int_equal(fx_count(f, CORE_ACT_DISPATCH), 1);
    fx_finish(f, SEC(65), 10, 4);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=11 inst=4");
    fx_finish(f, SEC(66), 10, 4); /* already finished: ignored */
    assert_int_equal(f->n, 0);
    fx_free(f);
}

/* Hot standby: A (min 1, max 1, standby hot) READY on gpu0 of node 0. At
 * start the core loads a hot standby on node 1 (another node). It never gets
 * requests: request 2 waits while instance 1 is busy. gpu0 fails: the standby
 * is promoted at once (INSTANCE_STATE ready, reason failover) with no load,
 * request 1 goes to it first, warm. A new hot standby is queued but has no
 * GPU until gpu0 recovers. */
static void test_hot_standby_promotion(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, 1, 40 * GIB);
    int a = fx_model(f, "A", 10 * GB, 3, 1, 1);
    f->models[a].standby = CORE_STANDBY_HOT;
    fx_place(f, a, 0);
    fx_start(f);
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "load=1 inst=2 model=0 node=1 gpu=1 src=storage "
              "reason=standby");
    fx_loaded(f, SEC(10), 1, true);
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0,
              "inst=2 load=1 model=0 node=1 gpu=1 state=ready "
              "reason=standby");
    fx_arrive(f, SEC(20), a, 1);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=1");
    fx_arrive(f, SEC(21), a, 2);
    assert_int_equal(fx_count(f, CORE_ACT_DISPATCH), 0);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);

    fx_event(f, CORE_EV_GPU_FAILED, SEC(22), 0, 0);
    fx_expect(f, CORE_ACT_REQUEST_REQUEUED, 0, "req=1 inst=1");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=0 model=0 node=0 gpu=0 state=failed");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 1,
              "inst=2 load=1 model=0 node=1 gpu=1 state=ready "
              "reason=failover");
    fx_expect(f, CORE_ACT_DISPATCH, 0, "t=22000000000 DISPATCH req=1 inst=2");
    assert_false(fx_nth(f, CORE_ACT_DISPATCH, 0)->cold);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_finish(f, SEC(23), 1, 2);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=2 inst=2");
    fx_event(f, CORE_EV_GPU_RECOVERED, SEC(30), 0, 0);
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "t=30000000000 START_LOAD load=2 inst=3 model=0 node=0 "
              "gpu=0 src=storage reason=standby");
    struct core_stats st;
    core_sched_stats(f->s, &st);
    assert_int_equal(st.loads_started, 2);
    fx_free(f);
}

/* A failed load is not retried: the instance FAILS, its VRAM is released,
 * the request keeps waiting, and later requests queue no load either. */
static void test_failed_load_not_retried(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 40 * GIB);
    int a = fx_model(f, "A", 10 * GB, 1, 0, 2);
    fx_start(f);
    fx_arrive(f, SEC(1), a, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=1");
    fx_loaded(f, SEC(11), 1, false);
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=1 model=0 node=0 gpu=0 state=failed");
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_arrive(f, SEC(12), a, 2);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    struct core_stats st;
    core_sched_stats(f->s, &st);
    assert_int_equal(st.requests_waiting, 2);
    fx_free(f);
}

/* A node failure fails every GPU of the node; replicas_min 1 queues a
 * failover load onto the other node at once. */
static void test_node_failure(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, 2, 40 * GIB);
    int a = fx_model(f, "A", 10 * GB, 2, 1, 2);
    int b = fx_model(f, "B", 10 * GB, 1, 0, 1);
    fx_place(f, a, 0);
    fx_place(f, b, 1);
    fx_start(f);
    fx_event(f, CORE_EV_NODE_FAILED, SEC(1), 0, -1);
    /* instances 1 and 2 fail, the replacement enters loading */
    assert_int_equal(fx_count(f, CORE_ACT_INSTANCE_STATE), 3);
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=0 model=0 node=0 gpu=0 state=failed");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 1, "inst=2 load=0 model=1 node=0 gpu=1 state=failed");
    /* only A has a replicas_min to keep */
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "load=1 inst=3 model=0 node=1 gpu=2 src=storage "
              "reason=failover");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover_priority),
        cmocka_unit_test(test_failover_fifo),
        cmocka_unit_test(test_cancel_in_flight_and_requeue_order),
        cmocka_unit_test(test_hot_standby_promotion),
        cmocka_unit_test(test_failed_load_not_retried),
        cmocka_unit_test(test_node_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

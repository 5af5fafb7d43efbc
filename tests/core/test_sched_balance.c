/* test_sched_balance.c - the balancer (lru, round_robin, least_outstanding,
 * p2c), the FIFO wait queue with the cold flag (an M/M/c queue when
 * concurrency is 1), the autoscaler's step and replicas limits and its
 * scale-down, and determinism: the same stream twice gives the same log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spec_fixture.h"

/* n READY instances of A (ids 1..n) on gpus 0..n-1, `conc` slots each. */
static struct fx *replicas(const char *balancer, int n, int conc)
{
    struct fx *f = fx_new(1, 4, 40 * GIB);
    strcpy(f->spec.policy.balancer, balancer);
    f->spec.seed = 7;
    int a = fx_model(f, "A", 10 * GIB, 1, n, n);
    for (int g = 0; g < n; g++)
        fx_place(f, a, g);
    fx_concurrency(f, a, conc);
    fx_start(f);
    return f;
}

static uint64_t send(struct fx *f, int64_t t, uint64_t req)
{
    fx_arrive(f, t, 0, req);
    assert_int_equal(fx_count(f, CORE_ACT_DISPATCH), 1);
    return fx_nth(f, CORE_ACT_DISPATCH, 0)->instance;
}

/* lru, 2 slots: all last used at 0 -> 1, 2, 3 (ties: lowest id); request 1
 * ends at 4 (instance 1 last used 4); request 4 at 5: last uses 2 (inst 2),
 * 3 (inst 3), 4 (inst 1) -> instance 2, although it is still serving one. */
static void test_lru(void **state)
{
    (void)state;
    struct fx *f = replicas("lru", 3, 2);
    assert_int_equal(send(f, SEC(1), 1), 1);
    assert_int_equal(send(f, SEC(2), 2), 2);
    assert_int_equal(send(f, SEC(3), 3), 3);
    fx_finish(f, SEC(4), 1, 1);
    assert_int_equal(send(f, SEC(5), 4), 2);
    fx_free(f);
}

/* round_robin: 1, 2, 3, 1, 2 whatever the load. */
static void test_round_robin(void **state)
{
    (void)state;
    struct fx *f = replicas("round_robin", 3, 2);
    uint64_t want[] = {1, 2, 3, 1, 2};
    for (int i = 0; i < 5; i++)
        assert_int_equal(send(f, SEC(i + 1), (uint64_t)i + 1), want[i]);
    fx_free(f);
}

/* least_outstanding: 1, 2, 3 (ties: lowest id), then all hold one -> 1;
 * request 2 ends, instance 2 holds none -> 2. */
static void test_least_outstanding(void **state)
{
    (void)state;
    struct fx *f = replicas("least_outstanding", 3, 2);
    assert_int_equal(send(f, SEC(1), 1), 1);
    assert_int_equal(send(f, SEC(2), 2), 2);
    assert_int_equal(send(f, SEC(3), 3), 3);
    assert_int_equal(send(f, SEC(4), 4), 1);
    fx_finish(f, SEC(5), 2, 2);
    assert_int_equal(send(f, SEC(6), 5), 2);
    fx_free(f);
}

/* p2c with seed 7, 3 candidates, 4 slots each, nothing finishing. splitmix64
 * from state 7 gives draws (x1 % 3, x2 % 2) = (0,0) (0,1) (1,1) (1,0) (2,1);
 * the second index skips the first (b >= a -> b+1), so the pairs are
 * {1,2} {1,3} {2,3} {2,1} {3,2} (instance ids). Outstanding before each:
 * 000 -> tie, lower: 1; 100 -> 3; 101 -> 2; 111 -> tie: 1; 211 -> 2. */
static void test_p2c_seeded(void **state)
{
    (void)state;
    struct fx *f = replicas("p2c", 3, 4);
    uint64_t want[] = {1, 3, 2, 1, 2};
    for (int i = 0; i < 5; i++)
        assert_int_equal(send(f, SEC(i + 1), (uint64_t)i + 1), want[i]);
    fx_free(f);
}

/* p2c with two candidates always compares both: the less loaded wins, so
 * the two instances alternate 1, 2, 1, 2 whatever the random draws. */
static void test_p2c_two(void **state)
{
    (void)state;
    struct fx *f = replicas("p2c", 2, 3);
    uint64_t want[] = {1, 2, 1, 2};
    for (int i = 0; i < 4; i++)
        assert_int_equal(send(f, SEC(i + 1), (uint64_t)i + 1), want[i]);
    fx_free(f);
}

/* Two instances, one slot each, replicas_max 2: an M/M/2 queue. Requests 3
 * and 4 wait in FIFO order for a server, not for a load: no load starts and
 * they are not cold. */
static void test_mmc_fifo_not_cold(void **state)
{
    (void)state;
    struct fx *f = replicas("lru", 2, 1);
    assert_int_equal(send(f, SEC(1), 1), 1);
    assert_int_equal(send(f, SEC(2), 2), 2);
    fx_arrive(f, SEC(3), 0, 3);
    fx_arrive(f, SEC(4), 0, 4);
    assert_int_equal(fx_count(f, CORE_ACT_DISPATCH) + fx_count(f, CORE_ACT_START_LOAD), 0);
    fx_finish(f, SEC(5), 2, 2);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=3 inst=2");
    assert_false(fx_nth(f, CORE_ACT_DISPATCH, 0)->cold);
    fx_finish(f, SEC(6), 1, 1);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=4 inst=1");
    assert_false(fx_nth(f, CORE_ACT_DISPATCH, 0)->cold);
    fx_free(f);
}

/* A request that waits behind a busy instance with no load in flight is
 * marked cold as soon as a load for its model is queued (here the demand
 * load of a later request when replicas_max allows 2). */
static void test_cold_when_load_triggered(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 2, 40 * GIB);
    int a = fx_model(f, "A", 10 * GB, 1, 1, 2);
    fx_place(f, a, 0);
    fx_start(f);
    assert_int_equal(send(f, SEC(1), 1), 1);
    fx_arrive(f, SEC(2), a, 2); /* waits; demand load (2 < replicas_max) */
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=1 inst=2 model=0 node=0 gpu=0");
    fx_finish(f, SEC(3), 1, 1); /* instance 1 frees first: it takes request 2 */
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=2 inst=1");
    assert_true(fx_nth(f, CORE_ACT_DISPATCH, 0)->cold);
    fx_free(f);
}

/* The AUTOSCALE action of the last call (exactly one). */
static const struct core_scale_decision *decision(const struct fx *f)
{
    assert_int_equal(fx_count(f, CORE_ACT_AUTOSCALE), 1);
    return &fx_nth(f, CORE_ACT_AUTOSCALE, 0)->scale;
}

static void expect_decision(const struct fx *f, const char *want)
{
    fx_expect(f, CORE_ACT_AUTOSCALE, 0, want);
}

/* Autoscaler: target 1 waiting per instance, at most 2 new per 10 s, A has
 * replicas 1..5, concurrency 1 and one READY instance; no load finishes.
 * Eight requests at 1 s: one is served, 7 wait; the first waiting one
 * triggers a demand load. At 10 s: supply 1 READY + 1 loading = 2; the
 * loading one will take 1 waiting request, excess 7 - 1 = 6; 6 / 2 > 1, 6
 * instances wanted for the target, 4 beyond supply, room 5 - 2 = 3, step 2
 * -> 2 scale_up loads. Eight more at 15 s: 15 wait. At 20 s: supply 4,
 * excess 15 - 3 = 12, 12 / 4 > 1, wanted 12 - 4 = 8, room 1 -> 1. At 30 s:
 * room 0 -> none, but the decision is still recorded (asked 0). */
static void test_autoscaler_step_limit(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 8, 40 * GIB);
    struct core_policy_spec *p = &f->spec.policy;
    p->autoscale = true;
    p->autoscale_target = 1.0;
    p->autoscale_max_step = 2;
    p->autoscale_period_ns = SEC(10);
    int a = fx_model(f, "A", 10 * GIB, 1, 1, 5);
    fx_place(f, a, 0);
    fx_start(f);
    assert_int_equal(fx_nth(f, CORE_ACT_WAKE_AT, 0)->wake_ns, SEC(10));
    for (uint64_t r = 1; r <= 8; r++)
        fx_arrive(f, SEC(1), a, r);
    struct core_stats st;
    core_sched_stats(f->s, &st);
    assert_int_equal(st.requests_waiting, 7);
    assert_int_equal(st.loads_started, 1);
    fx_tick(f, SEC(10));
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0,
              "load=2 inst=3 model=0 node=0 gpu=0 src=storage "
              "reason=scale_up");
    /* first fit: gpu0 (40 GiB) holds 10 + 10 + 10 + 10 GiB exactly */
    fx_expect(f, CORE_ACT_START_LOAD, 1,
              "load=3 inst=4 model=0 node=0 gpu=0 src=storage "
              "reason=scale_up");
    expect_decision(f, "t=10000000000 AUTOSCALE model=0 waiting=7 ready=1 loading=1 queued=0 "
                       "excess=6 wanted=4 asked=2 dropped=0 evicted=0");
    assert_int_equal(fx_nth(f, CORE_ACT_WAKE_AT, 0)->wake_ns, SEC(20));
    for (uint64_t r = 9; r <= 16; r++)
        fx_arrive(f, SEC(15), a, r);
    fx_tick(f, SEC(20));
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=4 inst=5 model=0 node=0 gpu=1");
    expect_decision(f, "waiting=15 ready=1 loading=3 queued=0 excess=12 wanted=8 asked=1");
    fx_tick(f, SEC(30));
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    /* supply 5, excess 15 - 4 = 11, wanted 11 - 5 = 6, room 0 */
    expect_decision(f, "waiting=15 ready=1 loading=4 queued=0 excess=11 wanted=6 asked=0");
    fx_free(f);
}

/* Loads in flight are supply: the same start as above (target 1, step 2,
 * replicas 1..5, 8 requests at 1 s, no load finishes). At 10 s 2 scale-ups
 * (above). At 20 s nothing more arrived: 7 wait, 1 READY and 3 LOADING.
 * Once the three are READY they take 3 of the 7, leaving 4 waiting on 4
 * instances: 4 / 4 is not above 1, so nothing is asked (excess 7 - 3 = 4,
 * 4 / 4 = 1). The old rule (waiting / max(1, READY) = 7 > 1, then
 * ceil(7 / 1) - 4 = 3, room 1) asked a fifth instance here, which would
 * find the backlog gone when it came up. */
static void test_autoscaler_no_overask_in_flight(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 8, 40 * GIB);
    struct core_policy_spec *p = &f->spec.policy;
    p->autoscale = true;
    p->autoscale_target = 1.0;
    p->autoscale_max_step = 2;
    p->autoscale_period_ns = SEC(10);
    int a = fx_model(f, "A", 10 * GIB, 1, 1, 5);
    fx_place(f, a, 0);
    fx_start(f);
    for (uint64_t r = 1; r <= 8; r++)
        fx_arrive(f, SEC(1), a, r);
    fx_tick(f, SEC(10));
    assert_int_equal(decision(f)->asked, 2);
    fx_tick(f, SEC(20));
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    const struct core_scale_decision *d = decision(f);
    assert_int_equal(d->waiting, 7);
    assert_int_equal(d->ready + d->loading + d->queued, 4);
    assert_int_equal(d->excess, 4);
    assert_int_equal(d->wanted, 0);
    assert_int_equal(d->asked, 0);
    fx_free(f);
}

/* Concurrency counts too: A with 8 slots per instance, one READY instance
 * (busy with 8), target 1, no step limit, replicas 1..8. 16 more requests
 * at 1 s wait; a demand load starts. At 10 s the loading instance will take
 * 8 of them: excess 16 - 8 = 8, supply 2, 8 / 2 > 1, wanted ceil(8 / 1) - 2
 * = 6. The old rule counted all 16 (16 - 2 = 14 wanted). */
static void test_autoscaler_counts_slots(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 8, 80 * GIB);
    struct core_policy_spec *p = &f->spec.policy;
    p->autoscale = true;
    p->autoscale_target = 1.0;
    p->autoscale_max_step = 0;
    p->autoscale_period_ns = SEC(10);
    int a = fx_model(f, "A", 10 * GIB, 1, 1, 8);
    fx_place(f, a, 0);
    fx_concurrency(f, a, 8);
    fx_start(f);
    for (uint64_t r = 1; r <= 24; r++)
        fx_arrive(f, SEC(1), a, r);
    fx_tick(f, SEC(10));
    expect_decision(f, "waiting=16 ready=1 loading=1 queued=0 excess=8 wanted=6 asked=6");
    fx_free(f);
}

/* A queued scale-up that the drained queue no longer needs is dropped. One
 * GPU of 20 GiB holds A and B (10 GiB each) READY, eviction none, so no
 * load can start. At 1 s B gets one request, A three: request 1 is served,
 * 2 and 3 wait, a demand job is queued (1 < replicas_max 3). At 10 s:
 * supply 1 READY + 1 queued = 2, the queued one will take 1, excess 1;
 * 1 / 2 = 0.5 > target 0.4, wanted ceil(1 / 0.4) - 2 = 1, room 3 - 2 = 1
 * -> one scale_up job. Requests 1, 2, 3 finish on instance 1 at 11, 12,
 * 13 s: nothing waits. At 20 s the two queued jobs bring 2 slots for 0
 * waiting requests: the most recently queued scale-up is dropped (then 1
 * slot, still >= 0 + 1, but the demand job is not the autoscaler's to
 * drop): dropped 1; READY 1 = replicas_min, so nothing is evicted. */
static void test_autoscaler_drops_unneeded_scale_up(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 20 * GIB);
    struct core_policy_spec *p = &f->spec.policy;
    p->autoscale = true;
    p->autoscale_target = 0.4;
    p->autoscale_max_step = 0;
    p->autoscale_period_ns = SEC(10);
    strcpy(p->eviction, "none");
    int a = fx_model(f, "A", 10 * GIB, 1, 1, 3);
    int b = fx_model(f, "B", 10 * GIB, 1, 1, 1);
    fx_place(f, a, 0);
    fx_place(f, b, 0);
    fx_start(f);
    fx_arrive(f, SEC(1), b, 100); /* B busy: never idle */
    for (uint64_t r = 1; r <= 3; r++)
        fx_arrive(f, SEC(1), a, r);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    assert_int_equal(core_sched_queued_count(f->s), 1); /* the demand job */
    fx_tick(f, SEC(10));
    expect_decision(f, "waiting=2 ready=1 loading=0 queued=1 excess=1 wanted=1 asked=1");
    assert_int_equal(core_sched_queued_count(f->s), 2);
    fx_finish(f, SEC(11), 1, 1);
    fx_finish(f, SEC(12), 2, 1);
    fx_finish(f, SEC(13), 3, 1);
    fx_tick(f, SEC(20));
    assert_int_equal(fx_count(f, CORE_ACT_DROP_JOB), 1);
    fx_expect(f, CORE_ACT_DROP_JOB, 0,
              "t=20000000000 DROP_JOB model=0 reason=scale_up enqueued=10000000000");
    expect_decision(f, "waiting=0 ready=1 loading=0 queued=2 excess=0 wanted=0 asked=0 "
                       "dropped=1 evicted=0");
    assert_int_equal(core_sched_queued_count(f->s), 1);
    struct core_queued_job j;
    core_sched_queued(f->s, 0, &j);
    assert_int_equal(j.reason, CORE_REASON_DEMAND);
    /* the next period has nothing left to drop and nothing waits: no row */
    fx_tick(f, SEC(30));
    assert_int_equal(fx_count(f, CORE_ACT_AUTOSCALE), 0);
    fx_free(f);
}

/* Scale-down: keep_alive 15 s, replicas 1..3, three READY instances. Use:
 * instance 1 at 1..2 s, instance 2 at 12..13 s, instance 3 never (0). At 10 s
 * nobody has been idle 15 s. At 20 s instances 3 (idle 20 s) and 1 (18 s)
 * qualify, least recently used first; after both, one READY remains (the
 * minimum) - instance 2 (idle 7 s) would not qualify anyway. */
static void test_autoscaler_scale_down(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 3, 40 * GIB);
    struct core_policy_spec *p = &f->spec.policy;
    p->autoscale = true;
    p->autoscale_target = 4.0;
    p->autoscale_max_step = 1;
    p->autoscale_period_ns = SEC(10);
    p->keep_alive_ns = SEC(15);
    int a = fx_model(f, "A", 10 * GIB, 1, 1, 3);
    for (int g = 0; g < 3; g++)
        fx_place(f, a, g);
    fx_start(f);
    assert_int_equal(send(f, SEC(1), 1), 1);
    fx_finish(f, SEC(2), 1, 1);
    fx_tick(f, SEC(10));
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    assert_int_equal(send(f, SEC(12), 2), 2); /* lru: 2 and 3 at 0, lower id */
    fx_finish(f, SEC(13), 2, 2);
    fx_tick(f, SEC(20));
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 2);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=3");
    fx_expect(f, CORE_ACT_EVICT, 1, "inst=1");
    fx_tick(f, SEC(60));
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0); /* never below replicas_min */
    fx_free(f);
}

/* A mixed stream (p2c, shm lru, autoscaler, a GPU fault) played twice gives
 * byte-identical action logs. */
static char *play_mixed(void)
{
    struct fx *f = fx_new(2, 2, 40 * GIB);
    struct core_policy_spec *p = &f->spec.policy;
    strcpy(p->balancer, "p2c");
    strcpy(p->shm, "lru");
    strcpy(p->queue, "priority");
    strcpy(p->placement, "spread");
    p->aging_per_s = 0.05;
    p->autoscale = true;
    p->autoscale_target = 1.0;
    p->autoscale_max_step = 2;
    p->autoscale_period_ns = SEC(5);
    f->nodes[0].shm_bytes = f->nodes[1].shm_bytes = 30 * GIB;
    f->spec.seed = 42;
    for (int m = 0; m < 4; m++) {
        fx_model(f, "m", (uint64_t)(8 + 4 * m) * GIB, m % 4, m == 0 ? 1 : 0, 3);
        fx_concurrency(f, m, 2);
    }
    fx_place(f, 0, 0);
    fx_start(f);
    uint64_t req = 1;
    uint64_t pending_load = 0;
    for (int step = 0; step < 60; step++) {
        int64_t t = SEC(step);
        fx_arrive(f, t, step % 4, req++);
        fx_arrive(f, t, (step * 7) % 4, req++);
        for (size_t i = 0; i < f->n; i++)
            if (f->acts[i].kind == CORE_ACT_START_LOAD) pending_load = f->acts[i].load;
        if (step % 3 == 2 && pending_load) {
            struct core_event ev = {
                .kind = CORE_EV_LOAD_FINISHED, .t_ns = t, .load = pending_load, .ok = true};
            fx_feed(f, ev);
        }
        if (step == 20) fx_event(f, CORE_EV_GPU_FAILED, t, 0, 1);
        if (step == 40) fx_event(f, CORE_EV_GPU_RECOVERED, t, 0, 1);
        fx_tick(f, t);
    }
    char *log = strdup(f->log);
    fx_free(f);
    return log;
}

static void test_determinism(void **state)
{
    (void)state;
    char *a = play_mixed(), *b = play_mixed();
    assert_true(strlen(a) > 2000); /* the stream did produce work */
    assert_string_equal(a, b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_least_outstanding),
        cmocka_unit_test(test_p2c_seeded),
        cmocka_unit_test(test_p2c_two),
        cmocka_unit_test(test_mmc_fifo_not_cold),
        cmocka_unit_test(test_cold_when_load_triggered),
        cmocka_unit_test(test_autoscaler_step_limit),
        cmocka_unit_test(test_autoscaler_no_overask_in_flight),
        cmocka_unit_test(test_autoscaler_counts_slots),
        cmocka_unit_test(test_autoscaler_drops_unneeded_scale_up),
        cmocka_unit_test(test_autoscaler_scale_down),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

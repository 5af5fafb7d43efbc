/* test_sched_api.c - the scheduler's contract at its edges (policy tables
 * against their names: test_policy_tables.c): bad specs and bad events are refused
 * with the scheduler unchanged, names and the action format are stable, and
 * core_spec_lone_load_ns follows its formula. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core_internal.h"
#include "spec_fixture.h"

static void test_unknown_policy_refused(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 40 * GIB);
    fx_model(f, "A", GB, 1, 0, 1);
    strcpy(f->spec.policy.placement, "worst_fit");
    struct thaw_err err = {0};
    assert_int_equal(core_sched_new(&f->spec, &f->s, &err), THAW_EINVAL);
    assert_null(f->s);
    assert_non_null(strstr(err.msg, "placement"));
    assert_non_null(strstr(err.msg, "worst_fit"));
    fx_free(f);
}

/* Initial placements that over-commit a GPU are refused at start. */
static void test_overcommitted_initial_placement(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 40 * GIB);
    int a = fx_model(f, "A", 30 * GIB, 1, 0, 2);
    fx_place(f, a, 0);
    fx_place(f, a, 0);
    struct thaw_err err = {0};
    assert_int_equal(core_sched_new(&f->spec, &f->s, &err), 0);
    assert_int_equal(core_sched_start(f->s, 0, &err), THAW_EINVAL);
    fx_free(f);
}

/* Bad events: THAW_EINVAL, the previous actions still readable, and the next
 * good event behaves as if the bad ones never came. */
static void test_bad_events_change_nothing(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 40 * GIB);
    int a = fx_model(f, "A", 10 * GB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, SEC(5), a, 1);
    size_t before = f->n;
    assert_true(before > 0);
    struct thaw_err err = {0};
    struct core_event bad[] = {
        {.kind = CORE_EV_REQUEST_ARRIVED, .t_ns = SEC(4), .model = a}, /* back in time */
        {.kind = CORE_EV_REQUEST_ARRIVED, .t_ns = SEC(6), .model = 7},
        {.kind = CORE_EV_REQUEST_ARRIVED, .t_ns = SEC(6), .model = -1},
        {.kind = CORE_EV_LOAD_FINISHED, .t_ns = SEC(6), .load = 2},
        {.kind = CORE_EV_LOAD_FINISHED, .t_ns = SEC(6), .load = 0},
        {.kind = CORE_EV_REQUEST_FINISHED, .t_ns = SEC(6), .instance = 9},
        {.kind = CORE_EV_GPU_FAILED, .t_ns = SEC(6), .gpu = 1},
        {.kind = CORE_EV_NODE_FAILED, .t_ns = SEC(6), .node = -3},
        {.kind = CORE_EV_SHM_FILL_FINISHED, .t_ns = SEC(6), .node = 0, .model = 4},
        {.kind = (enum core_event_kind)99, .t_ns = SEC(6)},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(core_sched_feed(f->s, &bad[i], &err), THAW_EINVAL);
        const struct core_action *acts;
        assert_int_equal(core_sched_actions(f->s, &acts), before);
    }
    assert_int_equal(core_sched_feed(f->s, NULL, &err), THAW_EINVAL);
    fx_loaded(f, SEC(15), 1, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "t=15000000000 DISPATCH req=1 inst=1");
    fx_free(f);
}

static void test_feed_before_start(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 40 * GIB);
    fx_model(f, "A", GB, 1, 0, 1);
    struct thaw_err err = {0};
    assert_int_equal(core_sched_new(&f->spec, &f->s, &err), 0);
    struct core_event ev = {.kind = CORE_EV_TICK};
    assert_int_equal(core_sched_feed(f->s, &ev, &err), THAW_ESTATE);
    assert_int_equal(core_sched_start(f->s, 0, &err), 0);
    assert_int_equal(core_sched_start(f->s, 0, &err), THAW_ESTATE);
    fx_free(f);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(core_source_name(CORE_SRC_SHM), "shm");
    assert_string_equal(core_reason_name(CORE_REASON_SCALE_UP), "scale_up");
    assert_string_equal(core_inst_state_name(CORE_INST_EVICTED), "evicted");
    assert_string_equal(core_event_kind_name(CORE_EV_NODE_RECOVERED), "NODE_RECOVERED");
    assert_string_equal(core_action_kind_name(CORE_ACT_WAKE_AT), "WAKE_AT");
    assert_string_equal(core_action_kind_name((enum core_action_kind)77), "?");
    struct core_action a = {.kind = CORE_ACT_START_LOAD,
                            .t_ns = 5,
                            .load = 2,
                            .instance = 3,
                            .model = 1,
                            .node = 0,
                            .gpu = 1,
                            .source = CORE_SRC_SHM,
                            .reason = CORE_REASON_FAILOVER,
                            .bytes = 10,
                            .vram_bytes = 12,
                            .enqueued_ns = 4};
    char buf[256];
    core_action_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "t=5 START_LOAD load=2 inst=3 model=1 node=0 gpu=1 src=shm "
                             "reason=failover bytes=10 vram=12 enqueued=4");
    core_action_format(&a, buf, 8); /* truncates, terminated */
    assert_string_equal(buf, "t=5 STA");
}

/* Node: init 2 s, warm-up 1 s, storage 2e9 B/s, shm read 20e9, h2d 25e9.
 * Model: 10e9 bytes; phases: cpu 8 s; compile 20 s with a 0.8 cache hit of
 * 2 s -> 0.8*2 + 0.2*20 = 5.6 s. From storage: copy 10e9/2e9 = 5 s, total
 * 2 + 1 + 8 + 5.6 + 5 = 21.6 s. From shm: min(20e9, 25e9) -> 0.5 s, total
 * 17.1 s. A 1e9 B/s PCIe switch caps both copies at 10 s: 26.6 s. */
static void test_lone_load(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 1, 40 * GIB);
    f->nodes[0].init.mean_ns = SEC(2);
    f->nodes[0].warmup.mean_ns = SEC(1);
    f->nodes[0].storage_read_bps = 2e9;
    f->nodes[0].shm_read_bps = 20e9;
    f->gpus[0].h2d_bps = 25e9;
    int a = fx_model(f, "A", 10 * GB, 1, 0, 1);
    struct core_phase_spec ph[2] = {0};
    ph[0].cpu = true;
    ph[0].work.mean_ns = SEC(8);
    ph[1].cpu = true;
    ph[1].when = CORE_PHASE_AFTER_COPY;
    ph[1].work.mean_ns = SEC(20);
    ph[1].cache_hit_probability = 0.8;
    ph[1].hit_work.mean_ns = SEC(2);
    f->models[a].phases = ph;
    f->models[a].phase_count = 2;
    assert_int_equal(core_spec_lone_load_ns(&f->spec, a, 0, false), SEC(21.6));
    assert_int_equal(core_spec_lone_load_ns(&f->spec, a, 0, true), SEC(17.1));
    f->nodes[0].pcie_switch_bps = 1e9;
    assert_int_equal(core_spec_lone_load_ns(&f->spec, a, 0, false), SEC(26.6));
    assert_int_equal(core_spec_lone_load_ns(&f->spec, a, 1, false), -1);
    assert_int_equal(core_spec_lone_load_ns(&f->spec, 3, 0, false), -1);
    assert_int_equal(core_spec_lone_load_ns(NULL, 0, 0, false), -1);
    f->nodes[0].storage_read_bps = 0;
    assert_int_equal(core_spec_lone_load_ns(&f->spec, a, 0, false), INT64_MAX);
    f->models[a].phases = NULL;
    f->models[a].phase_count = 0;
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_policy_refused),
        cmocka_unit_test(test_overcommitted_initial_placement),
        cmocka_unit_test(test_bad_events_change_nothing),
        cmocka_unit_test(test_feed_before_start),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_lone_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

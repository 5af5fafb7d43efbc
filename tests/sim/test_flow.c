/* test_flow.c - max-min fair sharing (sim/flow.c), each case small enough to
 * work out by hand; the derivation is beside each assertion. Units: GB = 1e9
 * bytes, so rates in GB/s and times in seconds come out round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow.h"
#include "thaw_err.h"

#define GB 1e9
#define S 1000000000LL

struct net {
    struct shell_heap e;
    struct sim_flownet n;
};

static void setup(struct net *t, int groups)
{
    shell_heap_init(&t->e);
    assert_int_equal(sim_flownet_init(&t->n, &t->e, groups), 0);
}

static void teardown(struct net *t)
{
    sim_flownet_free(&t->n);
    shell_heap_free(&t->e);
}

/* Pops the next event, checks it is flow f finishing at t_ns, removes f. */
static void expect_done(struct net *t, struct sim_flow *f, int64_t t_ns)
{
    struct shell_ev *ev = shell_heap_pop(&t->e);
    assert_ptr_equal(ev, &f->done);
    assert_int_equal(ev->t_ns, t_ns);
    sim_flow_remove(&t->n, f);
}

static void two_flows_share_a_link(void **state)
{
    (void)state;
    struct net t;
    setup(&t, 1);
    int link = sim_flownet_add_resource(&t.n, 0, 1 * GB);
    struct sim_flow a, b;
    sim_flow_init(&a, 0);
    sim_flow_init(&b, 1);
    assert_int_equal(sim_flow_start(&t.n, &a, 1 * GB, &link, 1, 0), 0);
    /* Alone: the whole 1 GB/s, done at 1 s. */
    assert_true(a.rate == 1 * GB);
    assert_int_equal(a.done.t_ns, 1 * S);
    assert_int_equal(sim_flow_start(&t.n, &b, 1 * GB, &link, 1, 0), 0);
    /* Two on 1 GB/s: 0.5 each; 1 GB at 0.5 GB/s = 2 s for both. */
    assert_true(a.rate == 0.5 * GB && b.rate == 0.5 * GB);
    expect_done(&t, &a, 2 * S);
    expect_done(&t, &b, 2 * S);
    teardown(&t);
}

static void progressive_filling_two_resources(void **state)
{
    (void)state;
    struct net t;
    setup(&t, 1);
    int storage = sim_flownet_add_resource(&t.n, 0, 1 * GB);
    int link = sim_flownet_add_resource(&t.n, 0, 0.4 * GB);
    struct sim_flow a, b;
    sim_flow_init(&a, 0);
    sim_flow_init(&b, 1);
    int ra[2] = {storage, link};
    assert_int_equal(sim_flow_start(&t.n, &a, 0.8 * GB, ra, 2, 0), 0);
    assert_int_equal(sim_flow_start(&t.n, &b, 1.2 * GB, &storage, 1, 0), 0);
    /* Both rise to 0.4, where the link saturates and freezes a; b rises
     * alone on storage's remaining 1 - 0.4 = 0.6. So a 0.4, b 0.6; a's
     * 0.8 GB takes 2 s, b's 1.2 GB takes 2 s. */
    assert_float_equal(a.rate, 0.4 * GB, 1);
    assert_float_equal(b.rate, 0.6 * GB, 1);
    expect_done(&t, &a, 2 * S);
    expect_done(&t, &b, 2 * S);
    teardown(&t);
}

static void freed_bandwidth_goes_to_the_rest(void **state)
{
    (void)state;
    struct net t;
    setup(&t, 1);
    int link = sim_flownet_add_resource(&t.n, 0, 1 * GB);
    struct sim_flow a, b;
    sim_flow_init(&a, 0);
    sim_flow_init(&b, 1);
    assert_int_equal(sim_flow_start(&t.n, &a, 1 * GB, &link, 1, 0), 0);
    assert_int_equal(sim_flow_start(&t.n, &b, 3 * GB, &link, 1, 0), 0);
    /* 0.5 each: a's 1 GB ends at 2 s; b then has 3 - 1 = 2 GB left at the
     * full 1 GB/s, so it ends at 2 + 2 = 4 s (instead of 6 s). */
    expect_done(&t, &a, 2 * S);
    assert_float_equal(sim_flow_remaining(&t.n, &b), 2 * GB, 1);
    assert_true(b.rate == 1 * GB);
    expect_done(&t, &b, 4 * S);
    teardown(&t);
}

static void late_joiner_and_abort(void **state)
{
    (void)state;
    struct net t;
    setup(&t, 1);
    int link = sim_flownet_add_resource(&t.n, 0, 1 * GB);
    struct sim_flow a, b, timer_owner;
    sim_flow_init(&a, 0);
    sim_flow_init(&b, 1);
    sim_flow_init(&timer_owner, 2);
    assert_int_equal(sim_flow_start(&t.n, &a, 2 * GB, &link, 1, 0), 0);
    /* A plain event at 1 s lets b join then. */
    struct shell_ev tick;
    shell_ev_init(&tick, 9);
    assert_int_equal(shell_heap_schedule(&t.e, &tick, 1 * S), 0);
    assert_ptr_equal(shell_heap_pop(&t.e), &tick);
    assert_int_equal(sim_flow_start(&t.n, &b, 1 * GB, &link, 1, 0), 0);
    /* At 1 s a has 1 GB left; both at 0.5: both finish 2 s later, at 3 s. */
    assert_float_equal(sim_flow_remaining(&t.n, &a), 1 * GB, 1);
    assert_int_equal(a.done.t_ns, 3 * S);
    assert_int_equal(b.done.t_ns, 3 * S);
    /* Abort b at 2 s (it has 0.5 GB left): a has 0.5 GB left, now at 1 GB/s,
     * so it ends at 2.5 s. */
    assert_int_equal(shell_heap_schedule(&t.e, &tick, 2 * S), 0);
    assert_ptr_equal(shell_heap_pop(&t.e), &tick);
    sim_flow_remove(&t.n, &b);
    assert_false(shell_ev_pending(&b.done));
    assert_float_equal(b.remaining, 0.5 * GB, 1);
    expect_done(&t, &a, 2 * S + S / 2);
    assert_null(shell_heap_pop(&t.e));
    teardown(&t);
}

static void cpu_phases_capped_at_one_core(void **state)
{
    (void)state;
    struct net t;
    setup(&t, 2);
    int cpu2 = sim_flownet_add_resource(&t.n, 0, 2);   /* node 0: 2 cores */
    int cpu16 = sim_flownet_add_resource(&t.n, 1, 16); /* node 1: 16 cores */
    struct sim_flow p[3], q;
    for (int i = 0; i < 3; i++) {
        sim_flow_init(&p[i], i);
        assert_int_equal(sim_flow_start(&t.n, &p[i], 2.0, &cpu2, 1, 1.0), 0);
    }
    sim_flow_init(&q, 3);
    assert_int_equal(sim_flow_start(&t.n, &q, 2.0, &cpu16, 1, 1.0), 0);
    /* Node 0: three phases of 2 core-seconds on 2 cores: 2/3 core each (below
     * the 1-core cap), so 2 / (2/3) = 3 s. Node 1 is another group: its
     * phase alone gets its cap, 1 core (not 16), so 2 s. */
    assert_float_equal(p[0].rate, 2.0 / 3, 1e-12);
    assert_float_equal(q.rate, 1.0, 0);
    expect_done(&t, &q, 2 * S);
    expect_done(&t, &p[0], 3 * S);
    expect_done(&t, &p[1], 3 * S);
    expect_done(&t, &p[2], 3 * S);
    /* A capped flow over no resource (CPU not modelled) runs at its cap. */
    struct sim_flow r;
    sim_flow_init(&r, 4);
    assert_int_equal(sim_flow_start_in(&t.n, &r, 0, 5.0, NULL, 0, 1.0), 0);
    expect_done(&t, &r, 3 * S + 5 * S);
    teardown(&t);
}

/* The reference case of the simulator: 14 GiB at 512 MiB/s is 28 s exactly,
 * and eight such copies sharing the storage take 8 x 28 = 224 s. */
static void gib_copies_land_on_whole_seconds(void **state)
{
    (void)state;
    struct net t;
    setup(&t, 1);
    const double MiB = 1048576.0, GiB = 1073741824.0;
    int storage = sim_flownet_add_resource(&t.n, 0, 512 * MiB);
    int links[8];
    struct sim_flow f[8];
    for (int i = 0; i < 8; i++)
        links[i] = sim_flownet_add_resource(&t.n, 0, 25e9);
    for (int i = 0; i < 8; i++) {
        sim_flow_init(&f[i], i);
        int r[2] = {storage, links[i]};
        assert_int_equal(sim_flow_start(&t.n, &f[i], 14 * GiB, r, 2, 0), 0);
    }
    for (int i = 0; i < 8; i++)
        expect_done(&t, &f[i], 224 * S);
    teardown(&t);
}

static void bad_input_is_refused(void **state)
{
    (void)state;
    struct net t;
    setup(&t, 2);
    assert_int_equal(sim_flownet_add_resource(&t.n, 0, 0), THAW_EINVAL);
    assert_int_equal(sim_flownet_add_resource(&t.n, 0, -1), THAW_EINVAL);
    assert_int_equal(sim_flownet_add_resource(&t.n, 2, 1), THAW_EINVAL);
    int r0 = sim_flownet_add_resource(&t.n, 0, 1);
    int r1 = sim_flownet_add_resource(&t.n, 1, 1);
    struct sim_flow f;
    sim_flow_init(&f, 0);
    int mixed[2] = {r0, r1};
    assert_int_equal(sim_flow_start(&t.n, &f, 1, mixed, 2, 0), THAW_EINVAL);
    int bad = 7;
    assert_int_equal(sim_flow_start(&t.n, &f, 1, &bad, 1, 0), THAW_EINVAL);
    assert_int_equal(sim_flow_start_in(&t.n, &f, 0, 1, NULL, 0, 0), THAW_EINVAL);
    assert_int_equal(sim_flow_start(&t.n, &f, 1, &r0, 1, 0), 0);
    assert_int_equal(sim_flow_start(&t.n, &f, 1, &r0, 1, 0), THAW_EINVAL);
    /* Zero work completes at once. */
    struct sim_flow z;
    sim_flow_init(&z, 1);
    assert_int_equal(sim_flow_start(&t.n, &z, 0, &r1, 1, 0), 0);
    expect_done(&t, &z, 0);
    sim_flow_remove(&t.n, &f);
    teardown(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_flows_share_a_link),
        cmocka_unit_test(progressive_filling_two_resources),
        cmocka_unit_test(freed_bandwidth_goes_to_the_rest),
        cmocka_unit_test(late_joiner_and_abort),
        cmocka_unit_test(cpu_phases_capped_at_one_core),
        cmocka_unit_test(gib_copies_land_on_whole_seconds),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

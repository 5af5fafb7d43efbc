/* test_rng.c - the simulator's randomness (sim/rng.c): the generator against
 * its published reference outputs, stream seeding, and the distributions'
 * means within stated statistical tolerances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "workload.h"

static void splitmix64_reference(void **state)
{
    (void)state;
    /* Vigna's splitmix64.c seeded with 0 gives these first three outputs. */
    uint64_t s = 0;
    assert_true(wl_rng_splitmix64(&s) == 0xe220a8397b1dcdafULL);
    assert_true(wl_rng_splitmix64(&s) == 0x6e789e6aa1b965f4ULL);
    assert_true(wl_rng_splitmix64(&s) == 0x06c45d188009454fULL);
}

static void xoshiro_reference(void **state)
{
    (void)state;
    /* xoshiro256** from state {1, 2, 3, 4} (Vigna's reference code) gives
     * 11520, 0, 1509978240, 1215971899390074240, 1216172134540287360, ...;
     * gsl_rng_get returns the top 32 bits of each: 0, 0, 0, 283115520,
     * 283162140, 141558300, 3765552066, 1973512462. */
    gsl_rng *r = gsl_rng_alloc(wl_rng_xoshiro256ss);
    assert_non_null(r);
    uint64_t init[4] = {1, 2, 3, 4};
    assert_int_equal(gsl_rng_size(r), sizeof init);
    memcpy(gsl_rng_state(r), init, sizeof init);
    unsigned long want[8] = {0, 0, 0, 283115520, 283162140, 141558300, 3765552066UL, 1973512462};
    for (int i = 0; i < 8; i++)
        assert_int_equal(gsl_rng_get(r), want[i]);
    assert_int_equal(gsl_rng_max(r), 0xffffffffUL);
    gsl_rng_free(r);
}

static void streams_are_keyed(void **state)
{
    (void)state;
    /* Same (seed, kind, key): same sequence. Change any one: another. */
    uint64_t k = wl_rng_key("llama-7b", 0);
    gsl_rng *a = wl_rng_new(42, WL_STREAM_ARRIVALS, k);
    gsl_rng *b = wl_rng_new(42, WL_STREAM_ARRIVALS, k);
    gsl_rng *c = wl_rng_new(43, WL_STREAM_ARRIVALS, k);
    gsl_rng *d = wl_rng_new(42, WL_STREAM_SERVICE, k);
    gsl_rng *e = wl_rng_new(42, WL_STREAM_ARRIVALS, wl_rng_key("llama-7b", 1));
    assert_true(a && b && c && d && e);
    int same_c = 0, same_d = 0, same_e = 0;
    for (int i = 0; i < 100; i++) {
        unsigned long x = gsl_rng_get(a);
        assert_int_equal(x, gsl_rng_get(b));
        same_c += x == gsl_rng_get(c);
        same_d += x == gsl_rng_get(d);
        same_e += x == gsl_rng_get(e);
    }
    /* Independent 32-bit outputs agree by chance with probability 2^-32. */
    assert_true(same_c < 2 && same_d < 2 && same_e < 2);
    assert_true(wl_rng_key("a", 0) != wl_rng_key("b", 0));
    assert_true(wl_rng_key("a", 0) != wl_rng_key("a", 1));
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(c);
    gsl_rng_free(d);
    gsl_rng_free(e);
}

/* Sample mean of n draws of d, in ns. */
static double sample_mean(gsl_rng *r, const struct core_dist *d, int n, double *sd)
{
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double x = (double)wl_draw_ns(r, d);
        assert_true(x >= 0);
        sum += x;
        sum2 += x * x;
    }
    double m = sum / n;
    *sd = sqrt(sum2 / n - m * m);
    return m;
}

static void distributions(void **state)
{
    (void)state;
    gsl_rng *r = wl_rng_new(7, WL_STREAM_NODE, wl_rng_key("node0", 0));
    const int n = 200000;
    double sd;
    struct core_dist fixed = {.kind = CORE_DIST_FIXED, .mean_ns = 2000000000};
    assert_int_equal(wl_draw_ns(r, &fixed), 2000000000);
    /* Exponential, mean 1 s: sd = mean, so the sample mean's standard error
     * is 1 s / sqrt(200000) = 2.24 ms; allow 5 standard errors (11.2 ms),
     * which a correct generator exceeds with probability below 1e-6. */
    struct core_dist ex = {.kind = CORE_DIST_EXP, .mean_ns = 1000000000};
    double m = sample_mean(r, &ex, n, &sd);
    assert_true(fabs(m - 1e9) < 5 * 1e9 / sqrt(n));
    assert_true(fabs(sd - 1e9) < 0.02e9); /* cv of an exponential is 1 */
    /* Lognormal and gamma by mean 1 s and cv 0.5: sd 0.5 s, so the standard
     * error is 0.5 s / sqrt(n) = 1.12 ms; 5 of them; the sample sd within
     * 4% of 0.5 s. */
    struct core_dist ln = {.kind = CORE_DIST_LOGNORMAL, .mean_ns = 1000000000, .cv = 0.5};
    m = sample_mean(r, &ln, n, &sd);
    assert_true(fabs(m - 1e9) < 5 * 0.5e9 / sqrt(n));
    assert_true(fabs(sd - 0.5e9) < 0.02e9);
    struct core_dist ga = {.kind = CORE_DIST_GAMMA, .mean_ns = 1000000000, .cv = 0.5};
    m = sample_mean(r, &ga, n, &sd);
    assert_true(fabs(m - 1e9) < 5 * 0.5e9 / sqrt(n));
    assert_true(fabs(sd - 0.5e9) < 0.02e9);
    /* Uniform on [1 s, 3 s]: mean 2 s, sd 2 / sqrt(12) = 0.577 s; every draw
     * inside the bounds. */
    struct core_dist un = {.kind = CORE_DIST_UNIFORM, .lo_ns = 1000000000, .hi_ns = 3000000000};
    for (int i = 0; i < 1000; i++) {
        int64_t x = wl_draw_ns(r, &un);
        assert_true(x >= 1000000000 && x <= 3000000000);
    }
    m = sample_mean(r, &un, n, &sd);
    assert_true(fabs(m - 2e9) < 5 * 0.577e9 / sqrt(n));
    /* cv 0 is a fixed duration, never NaN. */
    struct core_dist ln0 = {.kind = CORE_DIST_LOGNORMAL, .mean_ns = 5};
    assert_int_equal(wl_draw_ns(r, &ln0), 5);
    gsl_rng_free(r);
}

/* The per-source seeding functions sim and exec share: a workload's
 * streams are keyed by its model's name and its ordinal among that model's
 * entries (workload 2, the second entry of model "b", is key ("b", 1)); a
 * fault's by its target's name and ordinal among that target's faults; a
 * node's by (name, 0). Each must give the generator wl_rng_new gives for
 * that key. And wl_draw_load draws, from the node's stream: init, then
 * each phase (its lottery only when the hit probability is > 0), then
 * warm-up. With a lottery of probability 1 the hit work is always taken. */
static bool same_stream(gsl_rng *a, gsl_rng *b)
{
    bool same = a && b;
    for (int i = 0; same && i < 4; i++)
        same = gsl_rng_get(a) == gsl_rng_get(b);
    gsl_rng_free(a);
    gsl_rng_free(b);
    return same;
}

static void per_source_streams(void **state)
{
    (void)state;
    struct core_node_spec nodes[1] = {{.name = "n0", .gpu_count = 2}};
    struct core_gpu_spec gpus[2] = {{.name = "n0/gpu0"}, {.name = "n0/gpu1"}};
    struct core_phase_spec ph[2] = {
        {.when = CORE_PHASE_AFTER_COPY,
         .work = {.kind = CORE_DIST_EXP, .mean_ns = 1000000},
         .hit_work = {.kind = CORE_DIST_EXP, .mean_ns = 7000000},
         .cache_hit_probability = 1.0},
        {.when = CORE_PHASE_BEFORE_COPY, .work = {.kind = CORE_DIST_EXP, .mean_ns = 2000000}},
    };
    struct core_model_spec models[2] = {{.name = "a", .phase_count = 2, .phases = ph},
                                        {.name = "b"}};
    struct core_workload_spec wl[3] = {{.model = 1}, {.model = 0}, {.model = 1}};
    struct core_fault_spec faults[3] = {
        {.target = CORE_FAULT_GPU, .gpu = 1, .node = 0},
        {.target = CORE_FAULT_NODE, .node = 0, .gpu = -1},
        {.target = CORE_FAULT_GPU, .gpu = 1, .node = 0},
    };
    struct core_spec sp = {.node_count = 1,
                           .nodes = nodes,
                           .gpu_count = 2,
                           .gpus = gpus,
                           .model_count = 2,
                           .models = models,
                           .workload_count = 3,
                           .workloads = wl,
                           .fault_count = 3,
                           .faults = faults};
    assert_true(same_stream(wl_rng_for_workload(&sp, 9, 2, WL_STREAM_SERVICE),
                            wl_rng_new(9, WL_STREAM_SERVICE, wl_rng_key("b", 1))));
    assert_true(same_stream(wl_rng_for_workload(&sp, 9, 1, WL_STREAM_ARRIVALS),
                            wl_rng_new(9, WL_STREAM_ARRIVALS, wl_rng_key("a", 0))));
    assert_false(same_stream(wl_rng_for_workload(&sp, 9, 0, WL_STREAM_ARRIVALS),
                             wl_rng_new(9, WL_STREAM_ARRIVALS, wl_rng_key("b", 1))));
    assert_true(same_stream(wl_rng_for_fault(&sp, 9, 2),
                            wl_rng_new(9, WL_STREAM_FAULT, wl_rng_key("n0/gpu1", 1))));
    assert_true(same_stream(wl_rng_for_fault(&sp, 9, 1),
                            wl_rng_new(9, WL_STREAM_FAULT, wl_rng_key("n0", 0))));
    assert_true(same_stream(wl_rng_for_node(&sp, 9, 0),
                            wl_rng_new(9, WL_STREAM_NODE, wl_rng_key("n0", 0))));
    assert_null(wl_rng_for_node(&sp, 9, 1));
    assert_null(wl_rng_for_workload(&sp, 9, 3, WL_STREAM_ARRIVALS));

    nodes[0].init = (struct core_dist){.kind = CORE_DIST_EXP, .mean_ns = 3000000};
    nodes[0].warmup = (struct core_dist){.kind = CORE_DIST_EXP, .mean_ns = 5000000};
    gsl_rng *r = wl_rng_for_node(&sp, 4, 0), *ref = wl_rng_for_node(&sp, 4, 0);
    int64_t phase_ns[2];
    struct wl_load_costs c = {.phase_ns = phase_ns};
    wl_draw_load(r, &nodes[0], &models[0], &c);
    assert_int_equal(c.init_ns, wl_draw_ns(ref, &nodes[0].init));
    assert_true(gsl_rng_uniform(ref) < 1.0); /* phase 0's lottery */
    assert_int_equal(phase_ns[0], wl_draw_ns(ref, &ph[0].hit_work));
    assert_int_equal(phase_ns[1], wl_draw_ns(ref, &ph[1].work)); /* no lottery */
    assert_int_equal(c.warmup_ns, wl_draw_ns(ref, &nodes[0].warmup));
    assert_int_equal(gsl_rng_get(r), gsl_rng_get(ref)); /* nothing else drawn */
    gsl_rng_free(r);
    gsl_rng_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splitmix64_reference), cmocka_unit_test(xoshiro_reference),
        cmocka_unit_test(streams_are_keyed),    cmocka_unit_test(distributions),
        cmocka_unit_test(per_source_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_plan.c - the search of `thaw plan` (cli_plan_search in
 * cli/sweep_grid.c) on synthetic metrics with known answers, its warnings
 * on non-monotone metrics, and the parsing of --target and --vary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sweep_grid.c"

/* A synthetic metric: value(x) = scale / x (a p99 that falls as GPUs are
 * added), with optional overrides at one x, and a count of calls per x. */
struct synth {
    double scale;
    long special_x;
    double special_value;
    int calls[128];
    int total_calls;
};

static double synth_eval(long x, void *ctx)
{
    struct synth *s = ctx;
    if (x >= 0 && x < 128) s->calls[x]++;
    s->total_calls++;
    if (x == s->special_x) return s->special_value;
    return s->scale / (double)x;
}

static struct cli_plan_target target(const char *text)
{
    struct cli_plan_target t;
    struct thaw_err err = {0};
    assert_int_equal(cli_plan_target_parse(text, &t, &err), 0);
    return t;
}

/* 100/x < 15 holds from x > 6.67, so the answer over 1..64 is 7. Bisection
 * of 1..64 needs lo, hi and about log2(63) = 6 midpoints; the checks at 6
 * and 8 may add two more: at most 10 evaluations, none twice. */
static void test_monotone_known_answer(void **state)
{
    (void)state;
    struct synth s = {.scale = 100, .special_x = -1};
    struct cli_plan_target t = target("cold_start_p99_s<15");
    struct cli_plan_result r;
    assert_int_equal(cli_plan_search(1, 64, &t, synth_eval, &s, &r), 0);
    assert_true(r.found);
    assert_int_equal(r.answer, 7);
    assert_true(r.monotone);
    assert_true(r.consistent);
    assert_true(s.total_calls <= 10);
    for (int x = 0; x < 128; x++)
        assert_true(s.calls[x] <= 1);
    /* The evidence includes both neighbours: 6 fails (16.7), 8 meets (12.5). */
    assert_int_equal(s.calls[6], 1);
    assert_int_equal(s.calls[7], 1);
    assert_int_equal(s.calls[8], 1);
    assert_int_equal(r.point_count, s.total_calls);
    for (int i = 1; i < r.point_count; i++)
        assert_true(r.points[i - 1].x < r.points[i].x);
    for (int i = 0; i < r.point_count; i++) {
        assert_true(r.points[i].meets == (r.points[i].x >= 7));
        assert_true(fabs(r.points[i].value - 100.0 / (double)r.points[i].x) < 1e-12);
    }
}

/* <= and the boundary: 100/x <= 10 first holds at x = 10 exactly. */
static void test_boundary_inclusive(void **state)
{
    (void)state;
    struct synth s = {.scale = 100, .special_x = -1};
    struct cli_plan_target t = target("m <= 10");
    struct cli_plan_result r;
    assert_int_equal(cli_plan_search(1, 1000, &t, synth_eval, &s, &r), 0);
    assert_true(r.found);
    assert_int_equal(r.answer, 10);
    /* With < instead, 100/10 = 10 fails and the answer is 11. */
    struct synth s2 = {.scale = 100, .special_x = -1};
    t = target("m<10");
    assert_int_equal(cli_plan_search(1, 1000, &t, synth_eval, &s2, &r), 0);
    assert_int_equal(r.answer, 11);
}

/* A metric that rises with x (makespan vs models, say) and a > target:
 * 100/x > 30 holds at 1 (100), 2 (50), 3 (33.3) only, so the smallest x
 * meeting it is lo itself, and 2 is evaluated as the check. */
static void test_met_at_lo(void **state)
{
    (void)state;
    struct synth s = {.scale = 100, .special_x = -1};
    struct cli_plan_target t = target("m>30");
    struct cli_plan_result r;
    assert_int_equal(cli_plan_search(1, 20, &t, synth_eval, &s, &r), 0);
    assert_true(r.found);
    assert_int_equal(r.answer, 1);
    assert_int_equal(s.calls[2], 1);
    /* Truth falls from true to false: 20 fails, against the assumption. */
    assert_false(r.consistent);
    assert_true(r.monotone);
}

/* 100/x < 1 never holds on 1..50: not found; lo, hi and the midpoint 25
 * are the evidence. */
static void test_never_met(void **state)
{
    (void)state;
    struct synth s = {.scale = 100, .special_x = -1};
    struct cli_plan_target t = target("m<1");
    struct cli_plan_result r;
    assert_int_equal(cli_plan_search(1, 50, &t, synth_eval, &s, &r), 0);
    assert_false(r.found);
    assert_true(r.consistent);
    assert_int_equal(r.point_count, 3);
    assert_int_equal(r.points[0].x, 1);
    assert_int_equal(r.points[1].x, 25);
    assert_int_equal(r.points[2].x, 50);
}

/* A bump at x = 12 (value 50) over 100/x on 1..16 with target < 10:
 * the bisection visits 1 (100, fails), 16 (6.25, meets), 8 (12.5, fails),
 * 12 (50, fails), 14 (7.1, meets), 13 (7.7, meets): answer 13. In x order
 * the values fall 1 -> 8, rise 8 -> 12 and fall again: not monotone, and
 * the turn is reported as (1, 8, 12). */
static void test_non_monotone_warning(void **state)
{
    (void)state;
    struct synth s = {.scale = 100, .special_x = 12, .special_value = 50};
    struct cli_plan_target t = target("m<10");
    struct cli_plan_result r;
    assert_int_equal(cli_plan_search(1, 16, &t, synth_eval, &s, &r), 0);
    assert_true(r.found);
    assert_int_equal(r.answer, 13);
    assert_false(r.monotone);
    assert_int_equal(r.bad_x[0], 1);
    assert_int_equal(r.bad_x[1], 8);
    assert_int_equal(r.bad_x[2], 12);
    /* Every x below 13 that was evaluated fails: the answer itself is
     * consistent even though the metric is not monotone. */
    assert_true(r.consistent);
}

/* A dip at x = 8 (value 5) makes bisection stop at 8: 1 fails, 16 meets,
 * 8 meets, 4 (25) fails, 6 (16.7) fails, 7 (14.3) fails: answer 8. The
 * check at 9 (11.1) fails: inconsistent and not monotone. */
static void test_dip_inconsistent(void **state)
{
    (void)state;
    struct synth s = {.scale = 100, .special_x = 8, .special_value = 5};
    struct cli_plan_target t = target("m<10");
    struct cli_plan_result r;
    assert_int_equal(cli_plan_search(1, 16, &t, synth_eval, &s, &r), 0);
    assert_int_equal(r.answer, 8);
    assert_int_equal(s.calls[9], 1);
    assert_false(r.consistent);
    assert_false(r.monotone);
}

/* NaN (no value, e.g. every run failed) never meets the target. */
static double nan_at_5(long x, void *ctx)
{
    (void)ctx;
    return x == 5 ? NAN : (double)(10 - x);
}

static void test_nan_never_meets(void **state)
{
    (void)state;
    /* 10 - x < 6 holds from x = 5, but 5 gives NaN: answer 6; the NaN
     * point is skipped by the monotonicity check. */
    struct cli_plan_target t = target("m<6");
    struct cli_plan_result r;
    assert_int_equal(cli_plan_search(0, 10, &t, nan_at_5, NULL, &r), 0);
    assert_int_equal(r.answer, 6);
    assert_true(r.monotone);
    assert_int_equal(cli_plan_search(3, 2, &t, nan_at_5, NULL, &r), THAW_EINVAL);
    /* A single-point range: 10 - 7 = 3 < 6 at lo = hi = 7. */
    assert_int_equal(cli_plan_search(7, 7, &t, nan_at_5, NULL, &r), 0);
    assert_int_equal(r.answer, 7);
    assert_int_equal(r.point_count, 1);
}

/* Extreme ranges: the midpoint must not overflow; value(x) = x (as a
 * double) with target > 0 meets from 1. */
static double identity(long x, void *ctx)
{
    (void)ctx;
    return (double)x;
}

static void test_wide_range(void **state)
{
    (void)state;
    struct cli_plan_target t = target("m>0");
    struct cli_plan_result r;
    assert_int_equal(cli_plan_search(LONG_MIN, LONG_MAX, &t, identity, NULL, &r), 0);
    assert_int_equal(r.answer, 1);
    assert_true(r.point_count <= 70);
}

static void test_parse(void **state)
{
    (void)state;
    struct cli_plan_target t;
    struct thaw_err err = {0};
    assert_int_equal(cli_plan_target_parse("cold_start_p99_s<15", &t, &err), 0);
    assert_string_equal(t.metric, "cold_start_p99_s");
    assert_int_equal(t.op, CLI_PLAN_LT);
    assert_true(t.value == 15);
    assert_int_equal(cli_plan_target_parse(" x >= 1e3 ", &t, &err), 0);
    assert_int_equal(t.op, CLI_PLAN_GE);
    assert_true(t.value == 1000);
    const char *bad_t[] = {"<15", "m", "m<", "m<15s", "m=15", "m<<1", "m<nan", "", NULL};
    for (int i = 0; bad_t[i]; i++)
        assert_int_equal(cli_plan_target_parse(bad_t[i], &t, &err), THAW_EINVAL);

    char key[64];
    long lo, hi;
    assert_int_equal(
        cli_plan_range_parse("cluster.nodes[0].gpus=1..16", key, sizeof key, &lo, &hi, &err), 0);
    assert_string_equal(key, "cluster.nodes[0].gpus");
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 16);
    assert_int_equal(cli_plan_range_parse("k=2..2", key, sizeof key, &lo, &hi, &err), 0);
    const char *bad_r[] = {"k=5..1", "k=1-3", "=1..2", "k=1..", "k=a..3", "k=1..3x", "k", NULL};
    for (int i = 0; bad_r[i]; i++)
        assert_int_equal(cli_plan_range_parse(bad_r[i], key, sizeof key, &lo, &hi, &err),
                         THAW_EINVAL);
    /* A key longer than the buffer is refused, not truncated. */
    assert_int_equal(cli_plan_range_parse("abcdefgh=1..2", key, 4, &lo, &hi, &err), THAW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotone_known_answer),
        cmocka_unit_test(test_boundary_inclusive),
        cmocka_unit_test(test_met_at_lo),
        cmocka_unit_test(test_never_met),
        cmocka_unit_test(test_non_monotone_warning),
        cmocka_unit_test(test_dip_inconsistent),
        cmocka_unit_test(test_nan_never_meets),
        cmocka_unit_test(test_wide_range),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

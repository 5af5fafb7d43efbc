/* test_stats.c - results/stats.c against answers worked by hand with
 * tabulated t quantiles: t(0.975, 4) = 2.776445, t(0.975, 8) = 2.306004,
 * t(0.975, 6) = 2.446912, t(0.975, 7) = 2.364624. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "results.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) < (tol))

/* d = b - a = {1, 2, 3, 4, 5}: mean 3, sd = sqrt(10/4) = 1.581139, se =
 * 1.581139 / sqrt(5) = 0.707107, df 4; half-width 2.776445 * 0.707107 =
 * 1.963243 -> [1.036757, 4.963243]. */
static void test_paired(void **state)
{
    (void)state;
    const double a[] = {10, 20, 30, 40, 50};
    const double b[] = {11, 22, 33, 44, 55};
    struct res_interval ci;
    struct thaw_err err = {0};
    assert_int_equal(res_stats_paired(a, b, 5, 0.95, &ci, &err), 0);
    NEAR(ci.diff, 3, 1e-12);
    NEAR(ci.se, 0.7071068, 1e-6);
    NEAR(ci.df, 4, 1e-12);
    NEAR(ci.lo, 1.036757, 1e-5);
    NEAR(ci.hi, 4.963243, 1e-5);
    NEAR(ci.mean_a, 30, 1e-12);
    NEAR(ci.mean_b, 33, 1e-12);
    assert_int_equal(ci.n_a, 5);
}

/* Constant differences: se 0, the interval is the point 2. */
static void test_paired_constant(void **state)
{
    (void)state;
    const double a[] = {1, 5, 9};
    const double b[] = {3, 7, 11};
    struct res_interval ci;
    assert_int_equal(res_stats_paired(a, b, 3, 0.95, &ci, NULL), 0);
    NEAR(ci.diff, 2, 1e-12);
    NEAR(ci.lo, 2, 1e-12);
    NEAR(ci.hi, 2, 1e-12);
}

/* Equal sizes and variances: a = 1..5, b = 4..8, each variance 2.5, so
 * va = vb = 2.5/5 = 0.5, se = 1, df = 1^2 / (0.25/4 + 0.25/4) = 8 (the
 * pooled df); diff 3, half-width 2.306004 -> [0.693996, 5.306004]. */
static void test_welch_equal(void **state)
{
    (void)state;
    const double a[] = {1, 2, 3, 4, 5};
    const double b[] = {4, 5, 6, 7, 8};
    struct res_interval ci;
    struct thaw_err err = {0};
    assert_int_equal(res_stats_welch(a, 5, b, 5, 0.95, &ci, &err), 0);
    NEAR(ci.diff, 3, 1e-12);
    NEAR(ci.se, 1, 1e-12);
    NEAR(ci.df, 8, 1e-9);
    NEAR(ci.lo, 0.693996, 1e-5);
    NEAR(ci.hi, 5.306004, 1e-5);
}

/* Unequal: a = 1..5 (mean 3, var 2.5), b = 2,4,..,12 (mean 7, var 70/5 =
 * 14). va = 0.5, vb = 14/6 = 2.333333; se = sqrt(2.833333) = 1.683251;
 * df = 2.833333^2 / (0.5^2/4 + 2.333333^2/5) = 8.027778 / 1.151389 =
 * 6.972256. The t quantile lies between t(.975,7) and t(.975,6). */
static void test_welch_unequal(void **state)
{
    (void)state;
    const double a[] = {1, 2, 3, 4, 5};
    const double b[] = {2, 4, 6, 8, 10, 12};
    struct res_interval ci;
    assert_int_equal(res_stats_welch(a, 5, b, 6, 0.95, &ci, NULL), 0);
    NEAR(ci.diff, 4, 1e-12);
    NEAR(ci.se, 1.6832508, 1e-6);
    NEAR(ci.df, 6.9722557, 1e-6);
    double t = (ci.hi - ci.diff) / ci.se;
    assert_true(t > 2.364624 && t < 2.446912);
    NEAR(ci.diff - ci.lo, ci.hi - ci.diff, 1e-12);
    assert_int_equal(ci.n_b, 6);
}

static void test_bad_input(void **state)
{
    (void)state;
    const double a[] = {1, 2};
    const double nan_b[] = {1, NAN};
    struct res_interval ci;
    struct thaw_err err = {0};
    assert_int_equal(res_stats_paired(a, a, 1, 0.95, &ci, &err), THAW_EINVAL);
    assert_int_equal(res_stats_welch(a, 1, a, 2, 0.95, &ci, &err), THAW_EINVAL);
    assert_int_equal(res_stats_welch(a, 2, a, 2, 1.0, &ci, &err), THAW_EINVAL);
    assert_int_equal(res_stats_paired(a, nan_b, 2, 0.95, &ci, &err), THAW_EINVAL);
    assert_int_equal(res_stats_paired(NULL, a, 2, 0.95, &ci, &err), THAW_EINVAL);
    /* both variances zero: df falls back to n_a + n_b - 2, point interval */
    const double c[] = {4, 4, 4};
    assert_int_equal(res_stats_welch(a, 2, c, 3, 0.95, &ci, &err), 0);
    assert_true(ci.se > 0);
    assert_int_equal(res_stats_welch(c, 3, c, 3, 0.95, &ci, &err), 0);
    NEAR(ci.df, 4, 1e-12);
    NEAR(ci.lo, 0, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paired),      cmocka_unit_test(test_paired_constant),
        cmocka_unit_test(test_welch_equal), cmocka_unit_test(test_welch_unequal),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

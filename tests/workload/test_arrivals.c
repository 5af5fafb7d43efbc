/* test_workload.c - arrival generators (sim/workload.c): fixed times and
 * bursts replayed exactly, Poisson counts within their statistical spread,
 * and input that would never end or goes back in time refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "workload.h"

#define S 1000000000LL

static void times_replayed_until_the_end(void **state)
{
    (void)state;
    int64_t times[3] = {0, 10 * S, 15 * S};
    struct core_workload_spec w = {
        .arrivals = CORE_ARRIVAL_TIMES, .time_count = 3, .times_ns = times};
    struct wl_arrivals a;
    struct thaw_err err;
    int64_t t;
    assert_int_equal(wl_arrivals_init(&a, &w, NULL, 0, &err), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(wl_arrivals_next(&a, &t));
        assert_int_equal(t, times[i]);
    }
    assert_false(wl_arrivals_next(&a, &t));
    assert_false(wl_arrivals_next(&a, &t));
    /* A run of 12 s never sees the arrival at 15 s. */
    assert_int_equal(wl_arrivals_init(&a, &w, NULL, 12 * S, &err), 0);
    assert_true(wl_arrivals_next(&a, &t) && t == 0);
    assert_true(wl_arrivals_next(&a, &t) && t == 10 * S);
    assert_false(wl_arrivals_next(&a, &t));
    /* Out of order: refused, not reordered silently. */
    int64_t bad[2] = {5 * S, 1 * S};
    w.times_ns = bad;
    w.time_count = 2;
    assert_int_equal(wl_arrivals_init(&a, &w, NULL, 0, &err), THAW_EINVAL);
}

static void bursts(void **state)
{
    (void)state;
    /* {0 s: 2}, {5 s: 0}, {7 s: 3} gives 0, 0, 7, 7, 7 (the empty burst
     * adds nothing). */
    struct core_burst b[3] = {{0, 2}, {5 * S, 0}, {7 * S, 3}};
    struct core_workload_spec w = {.arrivals = CORE_ARRIVAL_BURSTS, .burst_count = 3, .bursts = b};
    struct wl_arrivals a;
    struct thaw_err err;
    int64_t t, want[5] = {0, 0, 7 * S, 7 * S, 7 * S};
    assert_int_equal(wl_arrivals_init(&a, &w, NULL, 0, &err), 0);
    for (int i = 0; i < 5; i++) {
        assert_true(wl_arrivals_next(&a, &t));
        assert_int_equal(t, want[i]);
    }
    assert_false(wl_arrivals_next(&a, &t));
}

static void poisson(void **state)
{
    (void)state;
    /* 100/s from 10 s to 1010 s: the count is Poisson with mean and variance
     * 100 x 1000 = 1e5, sd 316; allow 5 sd. Every time in [10 s, 1010 s),
     * non-decreasing; the mean gap 1/100 s follows from the count. */
    struct core_workload_spec w = {.arrivals = CORE_ARRIVAL_POISSON,
                                   .rate_per_s = 100,
                                   .start_ns = 10 * S,
                                   .end_ns = 1010 * S};
    gsl_rng *r = wl_rng_new(1, WL_STREAM_ARRIVALS, wl_rng_key("m", 0));
    struct wl_arrivals a;
    struct thaw_err err;
    assert_int_equal(wl_arrivals_init(&a, &w, r, 0, &err), 0);
    int64_t t, last = 10 * S;
    long n = 0;
    while (wl_arrivals_next(&a, &t)) {
        assert_true(t >= last && t < 1010 * S);
        last = t;
        n++;
    }
    assert_true(labs(n - 100000) < 5 * 316);
    /* The run's duration bounds an open-ended entry; with neither, refused. */
    w.end_ns = 0;
    assert_int_equal(wl_arrivals_init(&a, &w, r, 20 * S, &err), 0);
    while (wl_arrivals_next(&a, &t))
        assert_true(t < 20 * S);
    assert_int_equal(wl_arrivals_init(&a, &w, r, 0, &err), THAW_EINVAL);
    w.rate_per_s = -1;
    assert_int_equal(wl_arrivals_init(&a, &w, r, 20 * S, &err), THAW_EINVAL);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times_replayed_until_the_end),
        cmocka_unit_test(bursts),
        cmocka_unit_test(poisson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

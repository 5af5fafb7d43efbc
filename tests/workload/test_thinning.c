/* test_thinning.c - time-varying Poisson arrivals (arrivals.c, thinning):
 * counts per bin against the target rate curve, by a chi-square test at a
 * stated significance, for a piecewise and a diurnal rate, seeded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_cdf.h>
#include <math.h>

#include "workload.h"

#define S 1000000000LL
#define BINS 48

/* The expected count in [lo, hi): the integral of the rate, by the
 * midpoint rule on 1000 steps (exact for piecewise rates whose breaks fall
 * on bin edges, and within 1e-6 relative for the cosine). */
static double expected(const struct core_workload_spec *w, int64_t lo, int64_t hi)
{
    double sum = 0;
    int steps = 1000;
    double h = (double)(hi - lo) / steps;
    for (int i = 0; i < steps; i++)
        sum += wl_arrivals_rate_at(w, lo + (int64_t)((i + 0.5) * h)) * h / 1e9;
    return sum;
}

/* Chi-square of counts in BINS equal bins over [0, span): with Poisson
 * counts O_i independent across bins (a Poisson process's counts on
 * disjoint intervals are independent) and E_i = integral of the rate over
 * bin i, each (O_i - E_i)^2 / E_i is close to a chi-square with one degree
 * of freedom when E_i is large (here >= 400), so their sum is close to a
 * chi-square with BINS degrees of freedom (no parameter is estimated from
 * the data, so none is subtracted). The test fails when the upper-tail
 * probability is below alpha = 0.001: a correct sampler fails with
 * probability 0.001 per seed, and the seeds are fixed, so the result is
 * the same on every run. */
static double chi_square_p(const struct core_workload_spec *w, uint64_t seed, int64_t span)
{
    gsl_rng *r = wl_rng_new(seed, WL_STREAM_ARRIVALS, wl_rng_key("m", 0));
    struct wl_arrivals a;
    struct thaw_err err;
    assert_int_equal(wl_arrivals_init(&a, w, r, span, &err), 0);
    long counts[BINS] = {0};
    int64_t t, last = 0;
    while (wl_arrivals_next(&a, &t)) {
        assert_true(t >= last && t < span);
        last = t;
        counts[t / (span / BINS)]++;
    }
    double chi2 = 0;
    for (int i = 0; i < BINS; i++) {
        double e = expected(w, i * (span / BINS), (i + 1) * (span / BINS));
        assert_true(e >= 400);
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    wl_arrivals_free(&a);
    gsl_rng_free(r);
    return gsl_cdf_chisq_Q(chi2, BINS);
}

static void piecewise_rate_matches_its_curve(void **state)
{
    (void)state;
    /* 1/s for 6 h, 5/s until 18 h, 2/s until 24 h: 30-minute bins (breaks
     * on bin edges), the lowest bin expects 1800 arrivals. */
    struct core_rate_seg segs[3] = {{6 * 3600 * S, 1}, {18 * 3600 * S, 5}, {24 * 3600 * S, 2}};
    struct core_workload_spec w = {
        .arrivals = CORE_ARRIVAL_PIECEWISE, .rate_seg_count = 3, .rate_segs = segs};
    for (uint64_t seed = 1; seed <= 3; seed++)
        assert_true(chi_square_p(&w, seed, 24 * 3600 * S) > 0.001);
    /* The total is the integral: 6h x 1 + 12h x 5 + 6h x 2 = 280800
     * expected; a wrong level in one piece would be far outside this. */
    assert_true(fabs(expected(&w, 0, 24 * 3600 * S) - 280800) < 1);
    /* After the last piece there is nothing; a piece of rate 0 gives none. */
    assert_true(wl_arrivals_rate_at(&w, 25 * 3600 * S) == 0);
}

static void diurnal_rate_matches_its_curve(void **state)
{
    (void)state;
    /* base 0.5/s, peak 4/s at 14 h, period 24 h: the rate at 2 h (half a
     * period from the peak) is the base, at 14 h the peak. Bins of 30 min
     * expect at least 0.5 x 1800 = 900. */
    struct core_workload_spec w = {.arrivals = CORE_ARRIVAL_DIURNAL,
                                   .diurnal = {.base_per_s = 0.5,
                                               .peak_per_s = 4,
                                               .peak_at_ns = 14 * 3600 * S,
                                               .period_ns = 24 * 3600 * S}};
    assert_true(fabs(wl_arrivals_rate_at(&w, 14 * 3600 * S) - 4) < 1e-12);
    assert_true(fabs(wl_arrivals_rate_at(&w, 2 * 3600 * S) - 0.5) < 1e-12);
    /* At 8 h, a quarter period before the peak: (0.5 + 4) / 2. */
    assert_true(fabs(wl_arrivals_rate_at(&w, 8 * 3600 * S) - 2.25) < 1e-12);
    for (uint64_t seed = 1; seed <= 3; seed++)
        assert_true(chi_square_p(&w, seed, 24 * 3600 * S) > 0.001);
}

static void a_uniform_sampler_is_refused_by_the_test(void **state)
{
    (void)state;
    /* The test has power: a homogeneous 2.25/s (the diurnal curve's mean)
     * judged against the diurnal curve gives a p-value far below 0.001. */
    struct core_workload_spec flat = {.arrivals = CORE_ARRIVAL_PIECEWISE,
                                      .rate_seg_count = 1,
                                      .rate_segs = (struct core_rate_seg[]){{24 * 3600 * S, 2.25}}};
    gsl_rng *r = wl_rng_new(1, WL_STREAM_ARRIVALS, wl_rng_key("m", 0));
    struct wl_arrivals a;
    struct thaw_err err;
    int64_t span = 24 * 3600 * S, t;
    assert_int_equal(wl_arrivals_init(&a, &flat, r, span, &err), 0);
    long counts[BINS] = {0};
    while (wl_arrivals_next(&a, &t))
        counts[t / (span / BINS)]++;
    struct core_workload_spec w = {.arrivals = CORE_ARRIVAL_DIURNAL,
                                   .diurnal = {.base_per_s = 0.5,
                                               .peak_per_s = 4,
                                               .peak_at_ns = 14 * 3600 * S,
                                               .period_ns = 24 * 3600 * S}};
    double chi2 = 0;
    for (int i = 0; i < BINS; i++) {
        double e = expected(&w, i * (span / BINS), (i + 1) * (span / BINS));
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    assert_true(gsl_cdf_chisq_Q(chi2, BINS) < 1e-6);
    gsl_rng_free(r);
}

static void never_ending_rates_are_refused(void **state)
{
    (void)state;
    struct core_rate_seg open[1] = {{INT64_MAX, 1}};
    struct core_workload_spec w = {
        .arrivals = CORE_ARRIVAL_PIECEWISE, .rate_seg_count = 1, .rate_segs = open};
    gsl_rng *r = wl_rng_new(1, WL_STREAM_ARRIVALS, 1);
    struct wl_arrivals a;
    struct thaw_err err;
    assert_int_equal(wl_arrivals_init(&a, &w, r, 0, &err), THAW_EINVAL);
    assert_int_equal(wl_arrivals_init(&a, &w, r, 10 * S, &err), 0);
    /* start: nothing before it. */
    w.start_ns = 5 * S;
    assert_int_equal(wl_arrivals_init(&a, &w, r, 10 * S, &err), 0);
    int64_t t;
    while (wl_arrivals_next(&a, &t))
        assert_true(t >= 5 * S && t < 10 * S);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(piecewise_rate_matches_its_curve),
        cmocka_unit_test(diurnal_rate_matches_its_curve),
        cmocka_unit_test(a_uniform_sampler_is_refused_by_the_test),
        cmocka_unit_test(never_ending_rates_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* stats.c - confidence intervals for a difference of means, as `thaw
 * compare` needs them: paired by seed (a t interval on the differences,
 * which removes the seed-to-seed variance both sides share) or Welch's
 * unequal-variance interval with the Welch-Satterthwaite degrees of freedom.
 * Quantiles of t come from gsl_cdf_tdist_Pinv. And cold-start percentiles
 * pooled over several runs' loads (plan and plot sweep): a mean of per-run
 * p99s is not a p99. */
#include "results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>

static int check_level(double level, struct thaw_err *err)
{
    if (!(level > 0 && level < 1))
        return thaw_err_set(err, THAW_EINVAL, "confidence level must be in (0, 1), found %g",
                            level);
    return 0;
}

static int check_finite(const double *x, int n, struct thaw_err *err)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return thaw_err_set(err, THAW_EINVAL, "sample value %d is not finite", i);
    return 0;
}

/* diff -/+ t(1 - (1 - level)/2, df) * se; a zero se gives the point. */
static void fill_interval(struct res_interval *out, double level)
{
    double half = 0;
    if (out->se > 0) half = gsl_cdf_tdist_Pinv(1.0 - (1.0 - level) / 2.0, out->df) * out->se;
    out->lo = out->diff - half;
    out->hi = out->diff + half;
}

int res_stats_paired(const double *a, const double *b, int n, double level,
                     struct res_interval *out, struct thaw_err *err)
{
    if (!a || !b || !out) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    if (n < 2) return thaw_err_set(err, THAW_EINVAL, "a paired interval needs 2 pairs, got %d", n);
    int rc;
    if ((rc = check_level(level, err)) < 0 || (rc = check_finite(a, n, err)) < 0 ||
        (rc = check_finite(b, n, err)) < 0)
        return rc;
    /* Welford over the differences: one pass, no allocation. */
    double mean = 0, m2 = 0;
    for (int i = 0; i < n; i++) {
        double d = b[i] - a[i];
        double delta = d - mean;
        mean += delta / (i + 1);
        m2 += delta * (d - mean);
    }
    double var = m2 / (n - 1);
    *out = (struct res_interval){0};
    out->n_a = out->n_b = n;
    out->mean_a = gsl_stats_mean(a, 1, (size_t)n);
    out->mean_b = gsl_stats_mean(b, 1, (size_t)n);
    out->diff = mean;
    out->se = sqrt(var > 0 ? var : 0) / sqrt((double)n);
    out->df = n - 1;
    fill_interval(out, level);
    return 0;
}

int res_stats_welch(const double *a, int n_a, const double *b, int n_b, double level,
                    struct res_interval *out, struct thaw_err *err)
{
    if (!a || !b || !out) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    if (n_a < 2 || n_b < 2)
        return thaw_err_set(err, THAW_EINVAL,
                            "Welch's interval needs 2 runs per side, got %d and %d", n_a, n_b);
    int rc;
    if ((rc = check_level(level, err)) < 0 || (rc = check_finite(a, n_a, err)) < 0 ||
        (rc = check_finite(b, n_b, err)) < 0)
        return rc;
    *out = (struct res_interval){0};
    out->n_a = n_a;
    out->n_b = n_b;
    out->mean_a = gsl_stats_mean(a, 1, (size_t)n_a);
    out->mean_b = gsl_stats_mean(b, 1, (size_t)n_b);
    out->diff = out->mean_b - out->mean_a;
    double va = gsl_stats_variance_m(a, 1, (size_t)n_a, out->mean_a) / n_a;
    double vb = gsl_stats_variance_m(b, 1, (size_t)n_b, out->mean_b) / n_b;
    out->se = sqrt(va + vb);
    /* Welch-Satterthwaite: (va + vb)^2 / (va^2/(n_a-1) + vb^2/(n_b-1)). */
    double denom = va * va / (n_a - 1) + vb * vb / (n_b - 1);
    out->df = denom > 0 ? (va + vb) * (va + vb) / denom : (double)(n_a + n_b - 2);
    fill_interval(out, level);
    return 0;
}

double res_pooled_quantile(const char *metric)
{
    if (!metric) return 0;
    if (!strcmp(metric, "cold_start_p50_s")) return 0.50;
    if (!strcmp(metric, "cold_start_p95_s")) return 0.95;
    if (!strcmp(metric, "cold_start_p99_s")) return 0.99;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every run's cold starts in one sorted sample of n, the R type 7 quantile,
 * and the distribution-free order-statistic interval [x(j), x(k)], j, k =
 * floor/ceil(n p -/+ 1.96 sqrt(n p (1-p))) clamped to the sample (normal
 * approximation of the binomial rank), widened to hold the estimate. */
int res_cold_start_pooled(struct res_db *db, const int64_t *runs, size_t n, double p,
                          struct res_pooled *out, struct thaw_err *err)
{
    out->value = out->lo = out->hi = NAN;
    out->count = 0;
    if (!(p > 0 && p < 1)) return thaw_err_set(err, THAW_EINVAL, "pooled quantile %g", p);
    double *all = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        double *one = NULL;
        size_t m = 0;
        int rc = res_cold_starts(db, runs[i], &one, &m, err);
        if (rc < 0) {
            free(all);
            return rc;
        }
        double *g = m ? realloc(all, (total + m) * sizeof *g) : all;
        if (m && !g) {
            free(one);
            free(all);
            return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        }
        all = g;
        if (m) memcpy(all + total, one, m * sizeof *one);
        total += m;
        free(one);
    }
    if (total > 0) {
        qsort(all, total, sizeof *all, cmp_double);
        out->value = gsl_stats_quantile_from_sorted_data(all, 1, total, p);
        double sd = 1.96 * sqrt((double)total * p * (1 - p));
        double j = floor((double)total * p - sd), k = ceil((double)total * p + sd);
        if (j < 0) j = 0;
        if (k > (double)total - 1) k = (double)total - 1;
        out->lo = all[(size_t)j];
        out->hi = all[(size_t)k];
        if (out->lo > out->value) out->lo = out->value;
        if (out->hi < out->value) out->hi = out->value;
    }
    out->count = total;
    free(all);
    return 0;
}

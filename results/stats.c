/* stats.c - confidence intervals for a difference of means, as `thaw
 * compare` needs them: paired by seed (a t interval on the differences,
 * which removes the seed-to-seed variance both sides share) or Welch's
 * unequal-variance interval with the Welch-Satterthwaite degrees of freedom.
 * Quantiles of t come from gsl_cdf_tdist_Pinv. */
#include "results.h"

#include <math.h>

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

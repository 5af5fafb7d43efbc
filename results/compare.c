/* compare.c - one metric of two sets of runs, A and B: the means, B - A with
 * a confidence interval, and a verdict. Paired by seed when both sides ran
 * the same seeds (each seed's shared randomness cancels in the difference,
 * which narrows the interval), Welch otherwise. */
#include "results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct sample {
    int64_t seed;
    double value;
};

static int cmp_seed(const void *x, const void *y)
{
    const struct sample *a = x, *b = y;
    return (a->seed > b->seed) - (a->seed < b->seed);
}

/* The metric's non-NULL values of runs[0..n-1] with their seeds. */
static int fetch(sqlite3 *db, const int64_t *runs, int n, const char *metric, struct sample **out,
                 int *count, struct thaw_err *err)
{
    *out = NULL;
    *count = 0;
    if (n == 0) return 0;
    struct sample *v = malloc((size_t)n * sizeof *v);
    if (!v) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT r.seed, m.value FROM runs r JOIN metrics m ON m.run = r.id "
                           "AND m.name = ?2 WHERE r.id = ?1 AND m.value IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK) {
        free(v);
        return thaw_err_set(err, THAW_EIO, "compare: %s", sqlite3_errmsg(db));
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, runs[i]);
        sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v[k].seed = sqlite3_column_int64(st, 0);
            v[k].value = sqlite3_column_double(st, 1);
            k++;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    *out = v;
    *count = k;
    return 0;
}

/* Same seeds on both sides, each seed once: a (seed-sorted) pairing. */
static bool same_seeds(struct sample *a, int na, struct sample *b, int nb)
{
    if (na != nb) return false;
    qsort(a, (size_t)na, sizeof *a, cmp_seed);
    qsort(b, (size_t)nb, sizeof *b, cmp_seed);
    for (int i = 0; i < na; i++) {
        if (a[i].seed != b[i].seed) return false;
        if (i > 0 && a[i].seed == a[i - 1].seed) return false;
    }
    return true;
}

static double mean_of(const struct sample *s, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += s[i].value;
    return n ? sum / n : NAN;
}

int res_compare_metric(struct res_db *rdb, const int64_t *a, int n_a, const int64_t *b, int n_b,
                       const char *metric, double level, struct res_comparison *out,
                       struct thaw_err *err)
{
    if (!rdb || !metric || !out || (n_a && !a) || (n_b && !b) || n_a < 0 || n_b < 0)
        return thaw_err_set(err, THAW_EINVAL, "bad compare arguments");
    if (!(level > 0 && level < 1))
        return thaw_err_set(err, THAW_EINVAL, "confidence level must be in (0, 1)");
    *out = (struct res_comparison){0};
    sqlite3 *db = res_handle(rdb);
    struct sample *sa = NULL, *sb = NULL;
    int na, nb;
    int rc = fetch(db, a, n_a, metric, &sa, &na, err);
    if (rc == 0) rc = fetch(db, b, n_b, metric, &sb, &nb, err);
    if (rc < 0) goto out;
    out->n_a = na;
    out->n_b = nb;
    out->mean_a = mean_of(sa, na);
    out->mean_b = mean_of(sb, nb);
    double *xa = malloc(((size_t)na + 1) * sizeof *xa), *xb = malloc(((size_t)nb + 1) * sizeof *xb);
    if (!xa || !xb) {
        free(xa);
        free(xb);
        rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
        goto out;
    }
    bool paired = na >= 2 && same_seeds(sa, na, sb, nb);
    for (int i = 0; i < na; i++)
        xa[i] = sa[i].value;
    for (int i = 0; i < nb; i++)
        xb[i] = sb[i].value;
    if (paired) {
        out->method = RES_CMP_PAIRED;
        rc = res_stats_paired(xa, xb, na, level, &out->ci, err);
    } else if (na >= 2 && nb >= 2) {
        out->method = RES_CMP_WELCH;
        rc = res_stats_welch(xa, na, xb, nb, level, &out->ci, err);
    }
    free(xa);
    free(xb);
    if (rc < 0 || out->method == RES_CMP_NONE) goto out;
    bool higher = res_metric_higher_is_better(metric) == 1;
    if (out->ci.lo > 0)
        out->verdict = higher ? RES_VERDICT_B : RES_VERDICT_A;
    else if (out->ci.hi < 0)
        out->verdict = higher ? RES_VERDICT_A : RES_VERDICT_B;
    else
        out->verdict = RES_VERDICT_SAME;
out:
    free(sa);
    free(sb);
    return rc;
}

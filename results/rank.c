/* rank.c - exact order statistics of a set of doubles in bounded memory,
 * for the request-latency quantiles of a run that kept its request rows
 * (metrics.c): a million rows read back and sorted made peak memory grow
 * with the requests. A set keeps its values while it holds at most `cap`
 * of them (then sorting them is cheapest); beyond, only its count and a
 * histogram of the top 16 bits of each value's order-preserving 64-bit key,
 * and an order statistic is found by radix selection: each further pass
 * over the same rows fixes 16 more bits of the k-th key (three passes fix
 * all 64, so the value is exact, bit for bit what sorting gives). */
#include "results_internal.h"

#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_statistics_double.h>

#define RANK_DIGITS 65536 /* 16 bits a pass */

/* Doubles ordered as unsigned integers: flip the sign bit of a positive
 * value, every bit of a negative one. */
static uint64_t key_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return (b >> 63) ? ~b : b | (1ULL << 63);
}

static double value_of(uint64_t k)
{
    uint64_t b = (k >> 63) ? k & ~(1ULL << 63) : ~k;
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void res_rank_init(struct res_rank *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->exact_cap = cap;
}

void res_rank_free(struct res_rank *r)
{
    free(r->v);
    free(r->top);
    for (int i = 0; i < RES_RANK_TARGETS; i++)
        free(r->t[i].hist);
    res_rank_init(r, r->exact_cap);
}

int res_rank_add(struct res_rank *r, double x)
{
    r->total++;
    if (!r->over && r->n == r->exact_cap) {
        /* Outgrown: the values go into the histogram, exact storage freed. */
        if (!(r->top = calloc(RANK_DIGITS, sizeof *r->top))) return THAW_ENOMEM;
        for (size_t i = 0; i < r->n; i++)
            r->top[key_of(r->v[i]) >> 48]++;
        free(r->v);
        r->v = NULL;
        r->n = r->cap = 0;
        r->over = true;
    }
    if (r->over) {
        r->top[key_of(x) >> 48]++;
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        if (cap > r->exact_cap) cap = r->exact_cap;
        double *g = realloc(r->v, cap * sizeof *g);
        if (!g) return THAW_ENOMEM;
        r->v = g;
        r->cap = cap;
    }
    r->v[r->n++] = x;
    return 0;
}

/* The ranks gsl_stats_quantile_from_sorted_data reads for p: lhs =
 * (int)(p (n - 1)) and lhs + 1 unless lhs is the last. */
static void ranks_for(uint64_t n, double p, uint64_t *lhs, double *delta)
{
    const double index = p * (double)(n - 1);
    *lhs = (uint64_t)(int64_t)index;
    *delta = index - (double)*lhs;
}

int res_rank_want(struct res_rank *r, const double *ps, int np)
{
    r->targets = 0;
    if (!r->over) {
        if (r->n > 1) qsort(r->v, r->n, sizeof *r->v, cmp_double);
        return 0;
    }
    for (int i = 0; i < np; i++) {
        uint64_t lhs;
        double delta;
        ranks_for(r->total, ps[i], &lhs, &delta);
        for (uint64_t k = lhs; k <= lhs + 1 && k < r->total; k++) {
            bool have = false;
            for (int j = 0; j < r->targets; j++)
                have = have || r->t[j].rank0 == k;
            if (have) continue;
            if (r->targets == RES_RANK_TARGETS) return THAW_EINVAL;
            struct res_rank_target *t = &r->t[r->targets++];
            t->rank0 = k;
            /* the first 16 bits from the histogram of the first pass */
            uint64_t seen = 0, d = 0;
            while (seen + r->top[d] <= k)
                seen += r->top[d++];
            t->prefix = d;
            t->bits = 16;
            t->rank = k - seen;
            if (!t->hist && !(t->hist = calloc(RANK_DIGITS, sizeof *t->hist))) return THAW_ENOMEM;
        }
    }
    return 0;
}

bool res_rank_more(const struct res_rank *r)
{
    for (int j = 0; j < r->targets; j++)
        if (r->t[j].bits < 64) return true;
    return false;
}

void res_rank_see(struct res_rank *r, double x)
{
    uint64_t k = key_of(x);
    for (int j = 0; j < r->targets; j++) {
        struct res_rank_target *t = &r->t[j];
        if (t->bits < 64 && k >> (64 - t->bits) == t->prefix)
            t->hist[(k >> (48 - t->bits)) & (RANK_DIGITS - 1)]++;
    }
}

void res_rank_pass_end(struct res_rank *r)
{
    for (int j = 0; j < r->targets; j++) {
        struct res_rank_target *t = &r->t[j];
        if (t->bits >= 64) continue;
        uint64_t seen = 0, d = 0;
        while (seen + t->hist[d] <= t->rank)
            seen += t->hist[d++];
        t->prefix = t->prefix << 16 | d;
        t->bits += 16;
        t->rank -= seen;
        memset(t->hist, 0, RANK_DIGITS * sizeof *t->hist);
    }
}

/* The k-th smallest value (0-based): sorted values, or a target's key. */
static double kth(const struct res_rank *r, uint64_t k)
{
    if (!r->over) return r->v[k];
    for (int j = 0; j < r->targets; j++)
        if (r->t[j].rank0 == k) return value_of(r->t[j].prefix);
    return 0; /* not asked for: res_rank_want names every rank read */
}

double res_rank_quantile(const struct res_rank *r, double p)
{
    if (!r->over) return gsl_stats_quantile_from_sorted_data(r->v, 1, r->n, p);
    uint64_t lhs;
    double delta;
    ranks_for(r->total, p, &lhs, &delta);
    /* gsl's expression, term for term */
    if (lhs == r->total - 1) return kth(r, lhs);
    return (1 - delta) * kth(r, lhs) + delta * kth(r, lhs + 1);
}

/* stream.c - the request-side metrics of a run computed while it runs, from
 * the request and load rows as the recorder receives them, for the recording
 * levels that keep no request rows (`summary`, `loads`; results.h). It holds
 * what metrics.c's cold_start_values and requests() would read back from the
 * requests table, in memory that grows with the models and the loads, never
 * with the requests:
 *   - per model and for the run: the latencies of finished requests (all,
 *     cold, warm), exact while a set holds at most RES_STREAM_EXACT values,
 *     then a log-bucket histogram whose quantiles are within a relative
 *     error of 2^-10 of the exact ones (STREAM_SUB sub-buckets per octave,
 *     each value stands for its bucket's midpoint); counts exactly;
 *   - the cold-start classification of each load (metrics.c's definition:
 *     some request of its model waited during [enqueued, finished or end)),
 *     kept exactly: a request row is checked against the loads recorded
 *     before it, a load row against the latest wait end of the requests
 *     recorded before it, and a request never dispatched (its wait ends at
 *     the run's end) through the earliest such arrival, at the end.
 * Rows come in recording order (a request when it finishes, a load when it
 * ends, leftovers at the end), so "recorded before" means "ended before". */
#include "results_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_statistics_double.h>

#define STREAM_SUB 512       /* sub-buckets per octave: bucket width 2^-9 of its lower edge */
#define STREAM_EXP_MIN (-60) /* frexp exponents kept: [2^-61, 2^67) seconds */
#define STREAM_OCTAVES 128

/* A set of latencies: exact values, or a histogram once it outgrew them. */
struct qset {
    double *v;
    size_t n, cap;
    bool sketch, sorted; /* sorted: v is in order (qset_sort since the last add) */
    uint64_t total, zero;
    uint32_t *oct[STREAM_OCTAVES];
};

struct sload {
    int64_t enq_ns, fin_ns; /* fin_ns < 0: unfinished (measured to the end) */
    bool cold;
};

struct smodel {
    uint64_t requests, unserved, in_service, cold;
    bool any_dispatched;
    struct qset all, part[2]; /* part[1] cold, part[0] warm */
    bool has_wait;            /* max_wait_end_ns is set */
    int64_t max_wait_end_ns;  /* over dispatched rows that waited (dispatched > arrived) */
    bool has_undispatched;
    int64_t min_undispatched_ns; /* earliest arrival of a row never dispatched */
    struct sload *loads;         /* eligible loads (ok, in_flight, queued), recording order */
    size_t nl, capl;
    size_t candidates; /* loads not cold yet (skips the scan when 0) */
};

struct res_stream {
    int model_count;
    char (*names)[CORE_NAME_MAX];
    struct smodel *models;
    struct qset all, part[2];
    uint64_t requests, unserved, in_service, cold;
    double last_s, last_finished_s; /* max(arrived, finished), max(finished) over request rows */
};

static double ns_to_s(int64_t ns)
{
    return (double)ns / 1e9;
}

int res_stream_new(const struct core_spec *spec, struct res_stream **out)
{
    *out = NULL;
    struct res_stream *s = calloc(1, sizeof *s);
    if (!s) return THAW_ENOMEM;
    s->model_count = spec->model_count;
    size_t n = (size_t)(spec->model_count > 0 ? spec->model_count : 1);
    s->names = calloc(n, sizeof *s->names);
    s->models = calloc(n, sizeof *s->models);
    if (!s->names || !s->models) {
        res_stream_free(s);
        return THAW_ENOMEM;
    }
    for (int m = 0; m < spec->model_count; m++)
        snprintf(s->names[m], sizeof s->names[m], "%s", spec->models[m].name);
    *out = s;
    return 0;
}

static void qset_free(struct qset *q)
{
    free(q->v);
    for (int i = 0; i < STREAM_OCTAVES; i++)
        free(q->oct[i]);
    memset(q, 0, sizeof *q);
}

void res_stream_free(struct res_stream *s)
{
    if (!s) return;
    for (int m = 0; s->models && m < s->model_count; m++) {
        struct smodel *sm = &s->models[m];
        qset_free(&sm->all);
        qset_free(&sm->part[0]);
        qset_free(&sm->part[1]);
        free(sm->loads);
    }
    qset_free(&s->all);
    qset_free(&s->part[0]);
    qset_free(&s->part[1]);
    free(s->models);
    free(s->names);
    free(s);
}

/* ---- latency sets ---------------------------------------------------------- */

static int sketch_add(struct qset *q, double x, uint64_t count)
{
    q->total += count;
    if (!(x > 0)) {
        q->zero += count;
        return 0;
    }
    int o, sub;
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int biased = (int)(bits >> 52) & 0x7ff;
    if (biased > 0 && biased < 0x7ff) {
        /* A normal x = 1.f 2^(biased - 1023) = m 2^e with m = (1 + f) / 2 in
         * [0.5, 1), e = biased - 1022: what frexp gives, read from the bits,
         * and the sub-bucket (m - 0.5) 2 STREAM_SUB = the fraction's top 9
         * bits, exactly (m - 0.5 and the scaling by 2^10 are exact). */
        o = biased - 1022 - STREAM_EXP_MIN;
        sub = (int)((bits >> (52 - 9)) & (STREAM_SUB - 1));
    } else {
        int e;
        double m = frexp(x, &e); /* x = m 2^e, m in [0.5, 1) */
        o = e - STREAM_EXP_MIN;
        sub = (int)((m - 0.5) * 2 * STREAM_SUB);
    }
    if (o < 0) {
        q->zero += count; /* below 2^-61 s: a zero */
        return 0;
    }
    if (o >= STREAM_OCTAVES) o = STREAM_OCTAVES - 1;
    if (!q->oct[o] && !(q->oct[o] = calloc(STREAM_SUB, sizeof *q->oct[o]))) return THAW_ENOMEM;
    if (sub >= STREAM_SUB) sub = STREAM_SUB - 1;
    q->oct[o][sub] += (uint32_t)count;
    return 0;
}

static int qset_add(struct qset *q, double x)
{
    if (q->sketch) return sketch_add(q, x, 1);
    q->sorted = false;
    if (q->n == RES_STREAM_EXACT) {
        /* Outgrown: every value into the histogram, exact storage freed. */
        q->sketch = true;
        q->total = 0;
        for (size_t i = 0; i < q->n; i++)
            if (sketch_add(q, q->v[i], 1) < 0) return THAW_ENOMEM;
        free(q->v);
        q->v = NULL;
        q->n = q->cap = 0;
        return sketch_add(q, x, 1);
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        if (cap > RES_STREAM_EXACT) cap = RES_STREAM_EXACT;
        double *g = realloc(q->v, cap * sizeof *g);
        if (!g) return THAW_ENOMEM;
        q->v = g;
        q->cap = cap;
    }
    q->v[q->n++] = x;
    q->total++;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest value (0-based) a histogram stands for. */
static double sketch_rank(const struct qset *q, uint64_t k)
{
    if (k < q->zero) return 0;
    uint64_t seen = q->zero;
    for (int o = 0; o < STREAM_OCTAVES; o++) {
        if (!q->oct[o]) continue;
        for (int sub = 0; sub < STREAM_SUB; sub++) {
            seen += q->oct[o][sub];
            if (k < seen) return ldexp(0.5 + (sub + 0.5) / (2.0 * STREAM_SUB), o + STREAM_EXP_MIN);
        }
    }
    return NAN;
}

/* R type 7, as metrics.c's quantile(): exactly gsl's on the sorted values
 * while exact, the same interpolation between histogram ranks after. */
static double qset_quantile(struct qset *q, double p)
{
    if (!q->sketch) {
        return gsl_stats_quantile_from_sorted_data(q->v, 1, q->n, p);
    }
    double h = (double)(q->total - 1) * p;
    uint64_t lo = (uint64_t)floor(h);
    double delta = h - (double)lo, a = sketch_rank(q, lo);
    if (lo + 1 >= q->total || delta == 0) return a;
    return a + delta * (sketch_rank(q, lo + 1) - a);
}

static void qset_sort(struct qset *q)
{
    if (!q->sketch && !q->sorted && q->n > 1) qsort(q->v, q->n, sizeof *q->v, cmp_double);
    q->sorted = true;
}

/* ---- rows --------------------------------------------------------------- */

int res_stream_request(struct res_stream *s, const struct res_request_row *row)
{
    if (row->model < 0 || row->model >= s->model_count) return THAW_EINVAL;
    struct smodel *m = &s->models[row->model];
    bool dispatched = row->dispatched_ns >= 0, finished = row->finished_ns >= 0;
    double a_s = ns_to_s(row->arrived_ns);
    if (a_s > s->last_s) s->last_s = a_s;
    m->requests++;
    s->requests++;
    if (row->cold) {
        m->cold++;
        s->cold++;
    }
    if (dispatched) m->any_dispatched = true;
    if (finished) {
        double f_s = ns_to_s(row->finished_ns);
        if (f_s > s->last_s) s->last_s = f_s;
        if (f_s > s->last_finished_s) s->last_finished_s = f_s;
        /* finished - arrived as the rows path computes it: from the seconds. */
        double v = f_s - a_s;
        int k = row->cold ? 1 : 0;
        /* One model: the run's sets would be its sets (res_stream_requests). */
        if (qset_add(&m->all, v) < 0 || qset_add(&m->part[k], v) < 0 ||
            (s->model_count > 1 && (qset_add(&s->all, v) < 0 || qset_add(&s->part[k], v) < 0)))
            return THAW_ENOMEM;
    } else if (dispatched) {
        m->in_service++;
        s->in_service++;
    } else {
        m->unserved++;
        s->unserved++;
    }
    if (!dispatched) {
        /* Waits until the end, which is not known yet: res_stream_finalize. */
        if (!m->has_undispatched || row->arrived_ns < m->min_undispatched_ns)
            m->min_undispatched_ns = row->arrived_ns;
        m->has_undispatched = true;
        return 0;
    }
    int64_t e = row->dispatched_ns;
    if (!(e > row->arrived_ns)) return 0; /* served at once: waited for nothing */
    if (!m->has_wait || e > m->max_wait_end_ns) m->max_wait_end_ns = e;
    m->has_wait = true;
    /* Loads recorded before: arrived < their end and the wait ended after
     * their enqueue. An unfinished one ends at the run's end, after every
     * arrival that waited (arrived < dispatched <= end). */
    for (size_t i = 0; m->candidates && i < m->nl; i++) {
        struct sload *l = &m->loads[i];
        if (l->cold) continue;
        if ((l->fin_ns < 0 || row->arrived_ns < l->fin_ns) && e > l->enq_ns) {
            l->cold = true;
            m->candidates--;
        }
    }
    return 0;
}

int res_stream_load(struct res_stream *s, const struct res_load_row *row, const char *outcome)
{
    if (row->model < 0 || row->model >= s->model_count) return THAW_EINVAL;
    bool ok = !strcmp(outcome, "ok");
    if (!ok && strcmp(outcome, "in_flight") && strcmp(outcome, "queued")) return 0;
    struct smodel *m = &s->models[row->model];
    if (m->nl == m->capl) {
        size_t cap = m->capl ? m->capl * 2 : 8;
        struct sload *g = realloc(m->loads, cap * sizeof *g);
        if (!g) return THAW_ENOMEM;
        m->loads = g;
        m->capl = cap;
    }
    struct sload *l = &m->loads[m->nl++];
    l->enq_ns = row->enqueued_ns;
    l->fin_ns = ok && row->finished_ns >= 0 ? row->finished_ns : -1;
    /* Requests recorded before this load ended before it: their arrival is
     * before its end, so only the wait's end decides. */
    l->cold = row->reason == CORE_REASON_DEMAND || row->reason == CORE_REASON_FAILOVER ||
              (m->has_wait && m->max_wait_end_ns > row->enqueued_ns);
    if (!l->cold) m->candidates++;
    return 0;
}

double res_stream_last_s(const struct res_stream *s, bool finished_only)
{
    return finished_only ? s->last_finished_s : s->last_s;
}

/* Requests never dispatched wait until end_s: a load whose end comes after
 * the earliest such arrival, and that was enqueued before end_s, is cold. */
static void finalize(struct res_stream *s, double end_s)
{
    for (int mi = 0; mi < s->model_count; mi++) {
        struct smodel *m = &s->models[mi];
        if (!m->has_undispatched || !m->candidates) continue;
        double a = ns_to_s(m->min_undispatched_ns);
        if (!(end_s > a)) continue;
        for (size_t i = 0; i < m->nl; i++) {
            struct sload *l = &m->loads[i];
            double fin = l->fin_ns < 0 ? end_s : ns_to_s(l->fin_ns);
            if (!l->cold && a < fin && end_s > ns_to_s(l->enq_ns)) {
                l->cold = true;
                m->candidates--;
            }
        }
    }
}

static int model_index(const struct res_stream *s, const char *model)
{
    for (int m = 0; m < s->model_count; m++)
        if (!strcmp(s->names[m], model)) return m;
    return -1;
}

int res_stream_cold_starts(struct res_stream *s, const char *model, double end_s, double **out,
                           size_t *n, size_t *unfinished)
{
    finalize(s, end_s);
    *out = NULL;
    *n = *unfinished = 0;
    int only = model ? model_index(s, model) : -1;
    if (model && only < 0) return 0;
    size_t total = 0;
    for (int m = 0; m < s->model_count; m++)
        if (only < 0 || m == only) total += s->models[m].nl;
    double *v = malloc((total ? total : 1) * sizeof *v);
    if (!v) return THAW_ENOMEM;
    size_t k = 0;
    for (int m = 0; m < s->model_count; m++) {
        if (only >= 0 && m != only) continue;
        const struct smodel *sm = &s->models[m];
        for (size_t i = 0; i < sm->nl; i++) {
            const struct sload *l = &sm->loads[i];
            if (!l->cold) continue;
            double fin = l->fin_ns < 0 ? end_s : ns_to_s(l->fin_ns);
            if (l->fin_ns < 0) (*unfinished)++;
            v[k++] = fin - ns_to_s(l->enq_ns);
        }
    }
    if (k > 1) qsort(v, k, sizeof *v, cmp_double);
    *out = v;
    *n = k;
    return 0;
}

int res_stream_requests(struct res_stream *s, const char *model, struct res_stream_requests *out)
{
    memset(out, 0, sizeof *out);
    struct qset *sets[3];
    if (model) {
        int m = model_index(s, model);
        if (m < 0) return 0;
        struct smodel *sm = &s->models[m];
        sets[0] = &sm->all;
        sets[1] = &sm->part[1];
        sets[2] = &sm->part[0];
        out->served = sm->all.total;
        out->unserved = sm->unserved;
        out->in_service = sm->in_service;
        out->cold = sm->cold;
        out->never_served = sm->requests > 0 && !sm->any_dispatched;
    } else {
        /* With one model the run's latencies are that model's, kept once. */
        struct smodel *only = s->model_count == 1 ? &s->models[0] : NULL;
        sets[0] = only ? &only->all : &s->all;
        sets[1] = only ? &only->part[1] : &s->part[1];
        sets[2] = only ? &only->part[0] : &s->part[0];
        out->served = sets[0]->total;
        out->unserved = s->unserved;
        out->in_service = s->in_service;
        out->cold = s->cold;
        for (int m = 0; m < s->model_count; m++)
            if (s->models[m].requests > 0 && !s->models[m].any_dispatched) out->never_served++;
    }
    for (int i = 0; i < 3; i++) {
        struct qset *q = sets[i];
        out->have[i] = q->total > 0;
        out->exact[i] = !q->sketch;
        if (!q->total) continue;
        qset_sort(q);
        out->p50[i] = qset_quantile(q, 0.50);
        out->p99[i] = qset_quantile(q, 0.99);
    }
    return 0;
}

int res_stream_model_count(const struct res_stream *s)
{
    return s->model_count;
}

const char *res_stream_model_name(const struct res_stream *s, int m, bool *has_requests)
{
    *has_requests = s->models[m].requests > 0;
    return s->names[m];
}

int res_stream_never_served(const struct res_stream *s, int m, double *first_arrived_s,
                            uint64_t *count)
{
    const struct smodel *sm = &s->models[m];
    if (!sm->requests || sm->any_dispatched) return 0;
    *first_arrived_s = ns_to_s(sm->min_undispatched_ns);
    *count = sm->requests;
    return 1;
}

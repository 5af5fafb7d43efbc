/* metrics.c - the summary metrics of a run, computed from its rows only, so
 * sim and exec runs (and merged databases) get the same definitions. Each
 * definition is stated where it is computed; results.h lists the names.
 * Percentiles use gsl_stats_quantile_from_sorted_data: R type 7, i.e. for
 * sorted x[0..n-1] and h = (n-1)p, x[floor h] + (h - floor h)(x[floor h + 1]
 * - x[floor h]). A metric with no data to compute it from is stored NULL. */
#include "results.h"
#include "results_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_statistics_double.h>
#include <sqlite3.h>

static const char *const metric_names[] = {"cold_start_mean_s",
                                           "cold_start_p50_s",
                                           "cold_start_p95_s",
                                           "cold_start_p99_s",
                                           "cold_start_count",
                                           "makespan_s",
                                           "shm_hit_rate",
                                           "deadline_miss_rate",
                                           "request_p50_s",
                                           "request_p99_s",
                                           "request_cold_p50_s",
                                           "request_cold_p99_s",
                                           "request_warm_p50_s",
                                           "request_warm_p99_s",
                                           "requests_served",
                                           "requests_unserved",
                                           "requests_in_service_at_end",
                                           "requests_cold",
                                           "models_never_served",
                                           "cold_start_unfinished",
                                           "recovery_mean_s",
                                           "recovery_max_s",
                                           "recovery_count",
                                           "recovery_unrecovered",
                                           "vram_util_mean",
                                           "loads_ok",
                                           "loads_failed",
                                           "loads_cancelled",
                                           "loads_in_flight_at_end",
                                           "loads_queued_at_end",
                                           NULL};

static const char *const higher_better[] = {"shm_hit_rate", "vram_util_mean", "requests_served",
                                            "loads_ok",     "recovery_count", NULL};

const char *const *res_metric_names(void)
{
    return metric_names;
}

int res_metric_higher_is_better(const char *name)
{
    if (!name) return -1;
    for (int i = 0; higher_better[i]; i++)
        if (!strcmp(name, higher_better[i])) return 1;
    for (int i = 0; metric_names[i]; i++)
        if (!strcmp(name, metric_names[i])) return 0;
    return -1;
}

int res_metric_check(const char *name, struct thaw_err *err)
{
    if (res_metric_higher_is_better(name) >= 0) return 0;
    char list[THAW_ERR_MSG_MAX];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; metric_names[i] && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 metric_names[i]);
    return thaw_err_set(err, THAW_EINVAL, "unknown metric \"%s\"; metrics are: %s",
                        name ? name : "", list);
}

/* A growable array of doubles. */
struct vec {
    double *v;
    size_t n, cap;
};

static int vec_push(struct vec *a, double x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        double *g = realloc(a->v, cap * sizeof *g);
        if (!g) return THAW_ENOMEM;
        a->v = g;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The computation's context: the connection, the run, the insert statement. */
struct ctx {
    sqlite3 *db;
    int64_t run;
    sqlite3_stmt *put;
    struct thaw_err *err;
    const char *model; /* NULL: the whole run (metrics); else one model
                        * (metrics_by_model), bound as ?2 where a query
                        * filters with MODEL_FILTER */
    double end_s;      /* the run's end (end_of_run) */
    /* The requests side, when the run kept no request rows (stream.c);
     * NULL: from the requests table. */
    struct res_stream *stream;
    size_t rank_cap; /* latencies a set keeps exactly (rank.c); 0: RES_RANK_EXACT */
    /* Statements of the per-model pass, prepared once for all models
     * (1,000 models x 25 queries of parsing otherwise): by the query's
     * text pointer. */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[64];
    int cached;
    /* The run pass's classified loads (cold_start_values), so the per-model
     * pass takes each model's from them instead of reading the requests
     * again: a load is classified by its own model's requests alone, so
     * the result is the one the model's own pass computes. */
    struct cs_load *kept;
    size_t kept_n;
};

/* Appended to a query on loads, requests or instance_events: one model's
 * rows when ctx.model is set, every row otherwise. */
#define MODEL_FILTER " AND (?2 IS NULL OR model = ?2)"

static int sql_fail(struct ctx *c, const char *what)
{
    return thaw_err_set(c->err, THAW_EIO, "metrics (%s): %s", what, sqlite3_errmsg(c->db));
}

/* Stores name = value, or NULL when !have. */
static int put(struct ctx *c, const char *name, bool have, double value)
{
    sqlite3_bind_int64(c->put, 1, c->run);
    sqlite3_bind_text(c->put, 2, name, -1, SQLITE_STATIC);
    if (c->model) sqlite3_bind_text(c->put, 4, c->model, -1, SQLITE_STATIC);
    if (have && isfinite(value))
        sqlite3_bind_double(c->put, 3, value);
    else
        sqlite3_bind_null(c->put, 3);
    int rc = sqlite3_step(c->put);
    sqlite3_reset(c->put);
    return rc == SQLITE_DONE ? 0 : sql_fail(c, name);
}

/* For one model, the filter becomes a plain "model = ?2", which the
 * (run, model) indexes of schema.sql answer: the OR form scans every row of
 * the run, once per model (1,000 models x every load and request). */
static const char *model_sql(const struct ctx *c, const char *sql, char *buf, size_t len)
{
    static const char any[] = "(?2 IS NULL OR model = ?2)", one[] = "model = ?2";
    if (!c->model || !strstr(sql, any)) return sql;
    size_t used = 0;
    for (const char *p = sql; *p && used + sizeof any < len;) {
        if (!strncmp(p, any, sizeof any - 1)) {
            memcpy(buf + used, one, sizeof one - 1);
            used += sizeof one - 1;
            p += sizeof any - 1;
        } else {
            buf[used++] = *p++;
        }
    }
    buf[used] = '\0';
    return buf;
}

/* A statement from prep goes back here: kept when cached, else finalized. */
static void release(struct ctx *c, sqlite3_stmt *st)
{
    for (int i = 0; i < c->cached; i++)
        if (c->cache[i].st == st) {
            sqlite3_reset(st);
            return;
        }
    sqlite3_finalize(st);
}

static void cache_free(struct ctx *c)
{
    for (int i = 0; i < c->cached; i++)
        sqlite3_finalize(c->cache[i].st);
    c->cached = 0;
}

static int prep(struct ctx *c, const char *sql, sqlite3_stmt **st)
{
    char buf[4096];
    const char *key = sql;
    *st = NULL;
    for (int i = 0; c->model && i < c->cached; i++)
        if (c->cache[i].sql == key) *st = c->cache[i].st;
    sql = model_sql(c, sql, buf, sizeof buf);
    if (!*st) {
        if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK) return sql_fail(c, sql);
        if (c->model && c->cached < (int)(sizeof c->cache / sizeof c->cache[0])) {
            c->cache[c->cached].sql = key;
            c->cache[c->cached++].st = *st;
        }
    }
    sqlite3_bind_int64(*st, 1, c->run);
    if (sqlite3_bind_parameter_count(*st) >= 2) {
        if (c->model)
            sqlite3_bind_text(*st, 2, c->model, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(*st, 2);
    }
    return 0;
}

static double quantile(const struct vec *a, double p)
{
    return gsl_stats_quantile_from_sorted_data(a->v, 1, a->n, p);
}

/* One numeric value from a query (run bound as ?1); *have = false on NULL. */
static int scalar(struct ctx *c, const char *sql, bool *have, double *value)
{
    sqlite3_stmt *st;
    int rc = prep(c, sql, &st);
    if (rc < 0) return rc;
    *have = false;
    *value = 0;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            *have = true;
            *value = sqlite3_column_double(st, 0);
        }
    } else if (s != SQLITE_DONE) {
        rc = sql_fail(c, sql);
    }
    release(c, st);
    return rc;
}

static int put_scalar(struct ctx *c, const char *name, const char *sql)
{
    bool have;
    double v;
    int rc = scalar(c, sql, &have, &v);
    return rc < 0 ? rc : put(c, name, have, v);
}

/* The run's end: runs.duration_s, or when that is missing or 0 the latest
 * time in its rows. Loads and requests still waiting are measured to it. */
static int end_of_run(struct ctx *c)
{
    bool have;
    double end;
    int rc = scalar(c,
                    "SELECT CASE WHEN duration_s > 0 THEN duration_s ELSE max("
                    "(SELECT coalesce(max(t), 0) FROM instance_events WHERE run = ?1), "
                    "(SELECT coalesce(max(max(enqueued, coalesce(finished, 0))), 0) FROM loads "
                    "WHERE run = ?1), "
                    "(SELECT coalesce(max(max(arrived, coalesce(finished, 0))), 0) FROM requests "
                    "WHERE run = ?1)) END FROM runs WHERE id = ?1",
                    &have, &end);
    c->end_s = have ? end : 0;
    if (rc == 0 && c->stream) {
        bool have_d;
        double d;
        rc = scalar(c, "SELECT duration_s FROM runs WHERE id = ?1", &have_d, &d);
        double last = res_stream_last_s(c->stream, false);
        if (rc == 0 && !(have_d && d > 0) && last > c->end_s) c->end_s = last;
    }
    return rc;
}

/* cold_start_values' loads, and their models: a model's loads sit at
 * [from, from + n) of the order sorted by (model, end). */
struct cs_load {
    char model[CORE_NAME_MAX];
    bool has_model, by_reason, done;
    double enq, fin;
    double wait_end; /* the latest wait end of a request arrived before fin */
};

struct cs_model {
    char model[CORE_NAME_MAX];
    size_t from, n;
};

static int cs_cmp(const struct cs_load *x, const struct cs_load *y)
{
    int c = strcmp(x->model, y->model);
    if (c) return c;
    return (x->fin > y->fin) - (x->fin < y->fin);
}

/* Sorts idx by (model, end): a merge sort, since qsort's comparator would
 * need the loads through a global. */
static void cs_sort_rec(size_t *idx, size_t *tmp, size_t n, const struct cs_load *ls)
{
    if (n < 2) return;
    size_t h = n / 2, i = 0, j = h, k = 0;
    cs_sort_rec(idx, tmp, h, ls);
    cs_sort_rec(idx + h, tmp, n - h, ls);
    while (i < h && j < n)
        tmp[k++] = cs_cmp(&ls[idx[j]], &ls[idx[i]]) < 0 ? idx[j++] : idx[i++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

static void cs_sort(size_t *idx, size_t n, const struct cs_load *ls)
{
    size_t *tmp = malloc(n * sizeof *tmp);
    if (tmp) {
        cs_sort_rec(idx, tmp, n, ls);
        free(tmp);
        return;
    }
    for (size_t i = 1; i < n; i++) /* no memory for the merge: insertion */
        for (size_t j = i; j > 0 && cs_cmp(&ls[idx[j]], &ls[idx[j - 1]]) < 0; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
}

static const struct cs_model *cs_find(const struct cs_model *ms, size_t n, const char *model)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ms[mid].model, model);
        if (c == 0) return &ms[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Cold-start latency, the one definition (shared with res_cold_starts and
 * so with `thaw plan` and the cdf chart). A cold start is a load that
 *   - is a serving load a request or a lost instance waits for by its
 *     reason (demand, failover), or
 *   - of any reason (standby, scale_up, ...) while some request of its
 *     model waited: a request's wait [arrived, dispatched, or the end when
 *     never dispatched) overlaps the load's [enqueued, finished, or the end)
 *     (open intervals: a request served at the instant the load finished,
 *     or dispatched at the instant it was queued, did not wait for it),
 * and that finished ok or was still queued or in flight at the end; failed
 * and cancelled loads never made an instance and are left out. Its latency
 * is finished - enqueued; for one unfinished at the end, end - enqueued (a
 * lower bound: it is still going), counted in *unfinished. Sorted. */
static int cold_start_values(struct ctx *c, struct vec *out, size_t *unfinished)
{
    *unfinished = 0;
    int rc = end_of_run(c);
    if (rc < 0) return rc;
    double end = c->end_s;
    if (c->stream) {
        double *v;
        size_t n;
        if ((rc = res_stream_cold_starts(c->stream, c->model, end, &v, &n, unfinished)) < 0)
            return thaw_err_set(c->err, rc, "metrics: out of memory");
        free(out->v);
        out->v = v;
        out->n = out->cap = n;
        return 0;
    }
    if (c->model && c->kept) { /* one model: from the run pass's loads */
        for (size_t i = 0; i < c->kept_n; i++) {
            const struct cs_load *l = &c->kept[i];
            if (!l->has_model || strcmp(l->model, c->model)) continue;
            if (!(l->by_reason || l->wait_end > l->enq)) continue;
            if (!l->done) (*unfinished)++;
            if (vec_push(out, l->fin - l->enq) < 0)
                return thaw_err_set(c->err, THAW_ENOMEM, "metrics: out of memory");
        }
        if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_double);
        return 0;
    }
    /* The loads first (few: entities), then one pass over the requests
     * that waited, in any order, so memory grows with the loads, never
     * with the requests. A load is cold by its waits when some request of
     * its model arrived before its end and waited past its enqueue: with
     * its model's load ends sorted, a request arrived at a and waiting
     * until e counts for every end > a, so it raises the bucket of the
     * first such end to e, and a load's "latest wait end among requests
     * arrived before its end" is the running maximum of the buckets up to
     * its place. */
    struct cs_load *ls = NULL;
    struct cs_model *ms = NULL;
    size_t nl = 0, capl = 0, nm = 0, capm = 0;
    sqlite3_stmt *st = NULL;
    int s = SQLITE_DONE;
    if ((rc = prep(c,
                   "SELECT model, reason IN ('demand', 'failover'), enqueued, "
                   "CASE WHEN outcome = 'ok' THEN finished END FROM loads WHERE run = ?1"
                   " AND (?2 IS NULL OR model = ?2) AND outcome IN ('ok', 'in_flight', 'queued')"
                   " ORDER BY load_id",
                   &st)) < 0)
        return rc;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        if (nl == capl) {
            capl = capl ? capl * 2 : 64;
            struct cs_load *g = realloc(ls, capl * sizeof *g);
            if (!g) {
                rc = THAW_ENOMEM;
                break;
            }
            ls = g;
        }
        struct cs_load *l = &ls[nl++];
        const char *m = (const char *)sqlite3_column_text(st, 0);
        l->has_model = m != NULL;
        snprintf(l->model, sizeof l->model, "%s", m ? m : "");
        l->by_reason = sqlite3_column_int(st, 1) != 0;
        l->enq = sqlite3_column_double(st, 2);
        l->done = sqlite3_column_type(st, 3) != SQLITE_NULL;
        l->fin = l->done ? sqlite3_column_double(st, 3) : end;
        l->wait_end = -INFINITY;
    }
    if (rc == 0 && s != SQLITE_DONE) rc = sql_fail(c, "loads");
    release(c, st);
    st = NULL;
    /* the models of the loads, by name; each one's loads sorted by end */
    size_t *order = NULL;
    double *bucket = NULL;
    if (rc == 0 && nl > 0) {
        order = malloc(nl * sizeof *order);
        bucket = malloc(nl * sizeof *bucket);
        if (!order || !bucket) rc = THAW_ENOMEM;
    }
    if (rc == 0 && nl > 0) {
        for (size_t i = 0; i < nl; i++) {
            order[i] = i;
            bucket[i] = -INFINITY;
        }
        cs_sort(order, nl, ls);
        for (size_t i = 0; i < nl && rc == 0; i++) {
            const struct cs_load *l = &ls[order[i]];
            if (nm > 0 && !strcmp(ms[nm - 1].model, l->model)) {
                ms[nm - 1].n++;
                continue;
            }
            if (nm == capm) {
                capm = capm ? capm * 2 : 16;
                struct cs_model *g = realloc(ms, capm * sizeof *g);
                if (!g) {
                    rc = THAW_ENOMEM;
                    break;
                }
                ms = g;
            }
            ms[nm++] = (struct cs_model){.from = i, .n = 1};
            snprintf(ms[nm - 1].model, sizeof ms[nm - 1].model, "%s", l->model);
        }
    }
    if (rc == 0 && nm > 0 &&
        (rc = prep(c,
                   "SELECT model, arrived, coalesce(dispatched, ?3) FROM requests WHERE run = ?1"
                   " AND (?2 IS NULL OR model = ?2)",
                   &st)) == 0) {
        sqlite3_bind_double(st, 3, end);
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            double a = sqlite3_column_double(st, 1), e = sqlite3_column_double(st, 2);
            if (!(e > a)) continue; /* served at once: it waited for nothing */
            const char *m = (const char *)sqlite3_column_text(st, 0);
            const struct cs_model *cm = cs_find(ms, nm, m ? m : "");
            if (!cm) continue;
            /* the first of the model's ends after a */
            size_t lo = 0, hi = cm->n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ls[order[cm->from + mid]].fin > a)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            if (lo < cm->n && e > bucket[cm->from + lo]) bucket[cm->from + lo] = e;
        }
        if (s != SQLITE_DONE) rc = sql_fail(c, "requests");
        release(c, st);
        st = NULL;
        for (size_t k = 0; k < nm; k++) {
            double run_max = -INFINITY;
            for (size_t i = ms[k].from; i < ms[k].from + ms[k].n; i++) {
                if (bucket[i] > run_max) run_max = bucket[i];
                ls[order[i]].wait_end = run_max;
            }
        }
    }
    for (size_t i = 0; rc == 0 && i < nl; i++) {
        const struct cs_load *l = &ls[i];
        bool cold = l->by_reason || (l->has_model && l->wait_end > l->enq);
        if (!cold) continue;
        if (!l->done) (*unfinished)++;
        rc = vec_push(out, l->fin - l->enq);
    }
    free(order);
    free(bucket);
    if (rc == 0 && !c->model) { /* kept for the per-model pass */
        free(c->kept);
        c->kept = ls;
        c->kept_n = nl;
        ls = NULL;
    }
    free(ls);
    free(ms);
    if (rc == THAW_ENOMEM) return thaw_err_set(c->err, rc, "metrics: out of memory");
    if (rc == 0 && out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_double);
    return rc;
}

int res_cold_starts(struct res_db *db, int64_t run, double **out, size_t *n, struct thaw_err *err)
{
    if (!db || !out || !n) return thaw_err_set(err, THAW_EINVAL, "cold starts: NULL argument");
    struct ctx c = {.db = res_handle(db), .run = run, .err = err};
    struct vec a = {0};
    size_t unfinished;
    /* A run recorded below `all` kept its cold starts, not the rows. */
    sqlite3_stmt *st = NULL;
    int rc = prep(&c, "SELECT latency_s FROM cold_starts WHERE run = ?1 ORDER BY latency_s", &st);
    if (rc < 0) return rc;
    int s;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW)
        if (vec_push(&a, sqlite3_column_double(st, 0)) < 0)
            rc = thaw_err_set(err, THAW_ENOMEM, "cold starts: out of memory");
    if (rc == 0 && s != SQLITE_DONE) rc = sql_fail(&c, "cold starts");
    sqlite3_finalize(st);
    if (rc == 0 && a.n == 0) rc = cold_start_values(&c, &a, &unfinished);
    free(c.kept);
    if (rc < 0) {
        free(a.v);
        a = (struct vec){0};
    }
    *out = a.v;
    *n = a.n;
    return rc;
}

static int cold_starts(struct ctx *c)
{
    struct vec a = {0};
    size_t unfinished = 0;
    int rc = cold_start_values(c, &a, &unfinished);
    if (rc == 0) {
        bool have = a.n > 0;
        double mean = have ? gsl_stats_mean(a.v, 1, a.n) : 0;
        if ((rc = put(c, "cold_start_mean_s", have, mean)) == 0 &&
            (rc = put(c, "cold_start_p50_s", have, have ? quantile(&a, 0.50) : 0)) == 0 &&
            (rc = put(c, "cold_start_p95_s", have, have ? quantile(&a, 0.95) : 0)) == 0 &&
            (rc = put(c, "cold_start_p99_s", have, have ? quantile(&a, 0.99) : 0)) == 0 &&
            (rc = put(c, "cold_start_count", true, (double)a.n)) == 0)
            rc = put(c, "cold_start_unfinished", true, (double)unfinished);
    }
    free(a.v);
    return rc;
}

/* Makespan of the burst: last ok finish - first enqueue over the loads with
 * reason demand or failover; over all loads when the run has none of those.
 * NULL when no load of that set finished ok. */
static int makespan(struct ctx *c)
{
    bool have;
    double n;
    int rc = scalar(c,
                    "SELECT count(*) FROM loads WHERE run = ?1 AND reason IN "
                    "('demand', 'failover')" MODEL_FILTER,
                    &have, &n);
    if (rc < 0) return rc;
    const char *sql = n > 0 ? "SELECT max(CASE WHEN outcome = 'ok' THEN finished END) - "
                              "min(enqueued) FROM loads WHERE run = ?1 AND reason IN "
                              "('demand', 'failover')" MODEL_FILTER
                            : "SELECT max(CASE WHEN outcome = 'ok' THEN finished END) - "
                              "min(enqueued) FROM loads WHERE run = ?1" MODEL_FILTER;
    return put_scalar(c, "makespan_s", sql);
}

/* Request latency: arrived -> finished of the requests that finished, all
 * of them and split by cold (waited for a cold start) and warm. Counts:
 * served (finished), unserved (never dispatched), in service at the end
 * (dispatched, not finished), cold (waited for a cold start, served or
 * not), and models never served (models with requests of which none was
 * ever dispatched). One pass over the rows (a benchmark run holds a million
 * of them). */
/* requests() from the stream: the same names and definitions. */
static int stream_requests(struct ctx *c)
{
    struct res_stream_requests q;
    int rc = res_stream_requests(c->stream, c->model, &q);
    if (rc < 0) return thaw_err_set(c->err, rc, "metrics: out of memory");
    static const char *const names[3][2] = {{"request_p50_s", "request_p99_s"},
                                            {"request_cold_p50_s", "request_cold_p99_s"},
                                            {"request_warm_p50_s", "request_warm_p99_s"}};
    for (int i = 0; rc == 0 && i < 3; i++) {
        rc = put(c, names[i][0], q.have[i], q.p50[i]);
        if (rc == 0) rc = put(c, names[i][1], q.have[i], q.p99[i]);
    }
    if (rc == 0) rc = put(c, "requests_served", true, (double)q.served);
    if (rc == 0) rc = put(c, "requests_unserved", true, (double)q.unserved);
    if (rc == 0) rc = put(c, "requests_in_service_at_end", true, (double)q.in_service);
    if (rc == 0) rc = put(c, "requests_cold", true, (double)q.cold);
    if (rc == 0) rc = put(c, "models_never_served", true, (double)q.never_served);
    return rc;
}

static int requests(struct ctx *c)
{
    if (c->stream) return stream_requests(c);
    /* part[1] cold, part[0] warm; values kept up to a cap, then ranked in
     * more passes (rank.c), so memory never grows with the requests */
    struct res_rank all, part[2];
    size_t cap = c->rank_cap ? c->rank_cap : RES_RANK_EXACT;
    res_rank_init(&all, cap);
    res_rank_init(&part[0], cap);
    res_rank_init(&part[1], cap);
    uint64_t unserved = 0, in_service = 0, cold = 0, never_served = 0;
    sqlite3_stmt *st;
    int rc = prep(c,
                  "SELECT finished - arrived, cold, dispatched IS NULL, model FROM requests "
                  "WHERE run = ?1" MODEL_FILTER " ORDER BY model",
                  &st);
    if (rc < 0) return rc;
    int s;
    char model[CORE_NAME_MAX] = "";
    bool first = true, model_served = false;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 3);
        if (!m) m = "";
        if (first || strncmp(model, m, sizeof model - 1) != 0) {
            if (!first && !model_served) never_served++;
            snprintf(model, sizeof model, "%s", m);
            first = false;
            model_served = false;
        }
        bool is_cold = sqlite3_column_int(st, 1) != 0;
        bool undispatched = sqlite3_column_int(st, 2) != 0;
        if (is_cold) cold++;
        if (!undispatched) model_served = true;
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
            if (undispatched)
                unserved++;
            else
                in_service++;
            continue;
        }
        double v = sqlite3_column_double(st, 0);
        if ((rc = res_rank_add(&all, v)) < 0 || (rc = res_rank_add(&part[is_cold ? 1 : 0], v)) < 0)
            break;
    }
    if (!first && !model_served) never_served++;
    if (rc == 0 && s != SQLITE_DONE) rc = sql_fail(c, "requests");
    release(c, st);
    static const double ps[2] = {0.50, 0.99};
    for (int i = 0; rc == 0 && i < 3; i++)
        rc = res_rank_want(i == 0 ? &all : &part[i - 1], ps, 2);
    /* Sets beyond the cap: three more passes over the finished rows. */
    while (rc == 0 && (res_rank_more(&all) || res_rank_more(&part[0]) || res_rank_more(&part[1]))) {
        if ((rc = prep(c,
                       "SELECT finished - arrived, cold FROM requests WHERE run = ?1 AND "
                       "finished IS NOT NULL" MODEL_FILTER,
                       &st)) < 0)
            break;
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            double v = sqlite3_column_double(st, 0);
            res_rank_see(&all, v);
            res_rank_see(&part[sqlite3_column_int(st, 1) != 0 ? 1 : 0], v);
        }
        if (s != SQLITE_DONE) rc = sql_fail(c, "requests");
        release(c, st);
        res_rank_pass_end(&all);
        res_rank_pass_end(&part[0]);
        res_rank_pass_end(&part[1]);
    }
    if (rc == THAW_ENOMEM) rc = thaw_err_set(c->err, rc, "metrics: out of memory");
    const struct {
        struct res_rank *v;
        const char *p50, *p99;
    } sets[] = {
        {&all, "request_p50_s", "request_p99_s"},
        {&part[1], "request_cold_p50_s", "request_cold_p99_s"},
        {&part[0], "request_warm_p50_s", "request_warm_p99_s"},
    };
    for (size_t i = 0; rc == 0 && i < sizeof sets / sizeof sets[0]; i++) {
        struct res_rank *a = sets[i].v;
        rc = put(c, sets[i].p50, a->total > 0, a->total ? res_rank_quantile(a, 0.50) : 0);
        if (rc == 0)
            rc = put(c, sets[i].p99, a->total > 0, a->total ? res_rank_quantile(a, 0.99) : 0);
    }
    if (rc == 0) rc = put(c, "requests_served", true, (double)all.total);
    if (rc == 0) rc = put(c, "requests_unserved", true, (double)unserved);
    if (rc == 0) rc = put(c, "requests_in_service_at_end", true, (double)in_service);
    if (rc == 0) rc = put(c, "requests_cold", true, (double)cold);
    if (rc == 0) rc = put(c, "models_never_served", true, (double)never_served);
    res_rank_free(&all);
    res_rank_free(&part[0]);
    res_rank_free(&part[1]);
    return rc;
}

/* ---- instance events: recovery after faults and VRAM over time ----------- */

struct iev {
    int64_t instance;
    int model; /* dense rank of the model name */
    int gpu;
    int state; /* 0 LOADING 1 READY 2 DRAINING 3 EVICTED 4 FAILED */
    double t;
    double vram;
};

static int state_code(const char *s)
{
    static const char *const names[] = {"LOADING", "READY", "DRAINING", "EVICTED", "FAILED"};
    for (int i = 0; i < 5; i++)
        if (s && !strcmp(s, names[i])) return i;
    return -1;
}

/* Every instance event of the run, ordered by instance, then time, then
 * insertion order (the order the driver recorded them in). */
static int load_events(struct ctx *c, struct iev **out, size_t *count)
{
    sqlite3_stmt *st;
    int rc = prep(c,
                  "SELECT instance, DENSE_RANK() OVER (ORDER BY model) - 1, gpu, state, t, vram "
                  "FROM instance_events WHERE run = ?1" MODEL_FILTER " ORDER BY instance, t, rowid",
                  &st);
    if (rc < 0) return rc;
    struct iev *v = NULL;
    size_t n = 0, cap = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            struct iev *g = realloc(v, cap * sizeof *g);
            if (!g) {
                rc = thaw_err_set(c->err, THAW_ENOMEM, "metrics: out of memory");
                break;
            }
            v = g;
        }
        struct iev *e = &v[n++];
        e->instance = sqlite3_column_int64(st, 0);
        e->model = sqlite3_column_int(st, 1);
        e->gpu = sqlite3_column_int(st, 2);
        e->state = state_code((const char *)sqlite3_column_text(st, 3));
        e->t = sqlite3_column_double(st, 4);
        e->vram = sqlite3_column_double(st, 5);
    }
    if (rc == 0 && s != SQLITE_DONE) rc = sql_fail(c, "instance events");
    release(c, st);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

static bool is_alive_state(int s)
{
    return s == 0 || s == 1 || s == 2;
}

/* State of the instance whose events are e[0..n-1] at time t: its last
 * event at or before t; -1 before its first. With skip_end_at_t, EVICTED
 * and FAILED events at exactly t are ignored (they are the fault's own
 * consequence when t is a fault time). */
static int state_at(const struct iev *e, size_t n, double t, bool skip_end_at_t)
{
    int s = -1;
    for (size_t i = 0; i < n && e[i].t <= t; i++) {
        if (skip_end_at_t && e[i].t == t && (e[i].state == 3 || e[i].state == 4)) continue;
        s = e[i].state;
    }
    return s;
}

struct fault {
    double t;
    bool *on_target; /* per flat gpu index, gpu_count entries */
};

/* Recovery after faults. For each fault F at time tf and each model m that
 * had an instance alive (LOADING, READY or DRAINING) on a GPU hit by F just
 * before tf (one pair per (F, m)):
 *   recovery(F, m) = 0 when m had another instance READY at tf off the
 *   failed GPUs (a hot standby); otherwise t - tf for the first READY event
 *   of m at t >= tf from an instance not alive on the failed GPUs at tf.
 * recovery_mean_s / recovery_max_s are over the pairs that recovered;
 * recovery_count counts them, recovery_unrecovered counts the pairs with no
 * READY replacement before the end of the run. All NULL without faults;
 * mean and max NULL when no pair recovered. */
static int recovery(struct ctx *c, const struct iev *ev, size_t nev)
{
    int rc = 0;
    sqlite3_stmt *st = NULL;
    int gpu_count = 0;
    bool have;
    double v;
    if ((rc = scalar(c, "SELECT coalesce(max(gpu), -1) + 1 FROM gpus WHERE run = ?1", &have, &v)) <
        0)
        return rc;
    gpu_count = (int)v;
    int max_gpu = -1;
    for (size_t i = 0; i < nev; i++)
        if (ev[i].gpu > max_gpu) max_gpu = ev[i].gpu;
    if (max_gpu + 1 > gpu_count) gpu_count = max_gpu + 1;

    /* Faults and the flat GPU indices each one hits (by GPU or node name). */
    struct fault *faults = NULL;
    size_t nf = 0, capf = 0;
    /* One row per (fault, GPU it hits), grouped by the fault's rowid. */
    if ((rc = prep(c,
                   "SELECT f.rowid, f.t, g.gpu FROM faults f LEFT JOIN gpus g ON "
                   "g.run = f.run AND ((f.kind = 'gpu' AND g.name = f.target) OR "
                   "(f.kind = 'node' AND g.node = f.target)) "
                   "WHERE f.run = ?1 ORDER BY f.rowid, g.gpu",
                   &st)) < 0)
        return rc;
    int64_t last_rowid = -1;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t rowid = sqlite3_column_int64(st, 0);
        if (rowid != last_rowid) {
            if (nf == capf) {
                capf = capf ? capf * 2 : 8;
                struct fault *g = realloc(faults, capf * sizeof *g);
                if (!g) {
                    rc = THAW_ENOMEM;
                    break;
                }
                faults = g;
            }
            faults[nf].t = sqlite3_column_double(st, 1);
            faults[nf].on_target = calloc((size_t)gpu_count + 1, sizeof(bool));
            if (!faults[nf].on_target) {
                rc = THAW_ENOMEM;
                break;
            }
            nf++;
            last_rowid = rowid;
        }
        if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
            int g = sqlite3_column_int(st, 2);
            if (g >= 0 && g < gpu_count) faults[nf - 1].on_target[g] = true;
        }
    }
    if (rc == 0 && s != SQLITE_DONE) rc = sql_fail(c, "faults");
    release(c, st);
    if (rc == THAW_ENOMEM) rc = thaw_err_set(c->err, rc, "metrics: out of memory");

    int model_count = 0;
    for (size_t i = 0; i < nev; i++)
        if (ev[i].model + 1 > model_count) model_count = ev[i].model + 1;
    bool *affected = calloc((size_t)model_count + 1, sizeof(bool));
    bool *covered = calloc((size_t)model_count + 1, sizeof(bool));
    double *first_ready = calloc((size_t)model_count + 1, sizeof(double));
    if (rc == 0 && (!affected || !covered || !first_ready))
        rc = thaw_err_set(c->err, THAW_ENOMEM, "metrics: out of memory");

    struct vec rec = {0};
    int unrecovered = 0;
    for (size_t f = 0; rc == 0 && f < nf; f++) {
        double tf = faults[f].t;
        memset(affected, 0, (size_t)model_count * sizeof(bool));
        memset(covered, 0, (size_t)model_count * sizeof(bool));
        for (int m = 0; m < model_count; m++)
            first_ready[m] = INFINITY;
        /* Pass 1: which models were alive on the failed GPUs. */
        for (size_t i = 0; i < nev;) {
            size_t j = i;
            while (j < nev && ev[j].instance == ev[i].instance)
                j++;
            int g = ev[i].gpu;
            bool hit = g >= 0 && g < gpu_count && faults[f].on_target[g];
            if (hit && is_alive_state(state_at(ev + i, j - i, tf, true)))
                affected[ev[i].model] = true;
            i = j;
        }
        /* Pass 2: standbys READY at tf, and first READY at or after tf. */
        for (size_t i = 0; i < nev;) {
            size_t j = i;
            while (j < nev && ev[j].instance == ev[i].instance)
                j++;
            int m = ev[i].model, g = ev[i].gpu;
            bool hit = g >= 0 && g < gpu_count && faults[f].on_target[g];
            bool was_alive_on_target = hit && is_alive_state(state_at(ev + i, j - i, tf, true));
            if (affected[m] && !was_alive_on_target) {
                if (!hit && state_at(ev + i, j - i, tf, false) == 1) covered[m] = true;
                for (size_t k = i; k < j; k++)
                    if (ev[k].state == 1 && ev[k].t >= tf && ev[k].t < first_ready[m])
                        first_ready[m] = ev[k].t;
            }
            i = j;
        }
        for (int m = 0; rc == 0 && m < model_count; m++) {
            if (!affected[m]) continue;
            if (covered[m])
                rc = vec_push(&rec, 0.0);
            else if (isfinite(first_ready[m]))
                rc = vec_push(&rec, first_ready[m] - tf);
            else
                unrecovered++;
        }
        if (rc == THAW_ENOMEM) rc = thaw_err_set(c->err, rc, "metrics: out of memory");
    }
    if (rc == 0) {
        bool any = rec.n > 0;
        double max = 0;
        for (size_t i = 0; i < rec.n; i++)
            if (rec.v[i] > max) max = rec.v[i];
        if ((rc = put(c, "recovery_mean_s", any, any ? gsl_stats_mean(rec.v, 1, rec.n) : 0)) == 0 &&
            (rc = put(c, "recovery_max_s", any, max)) == 0 &&
            (rc = put(c, "recovery_count", nf > 0, (double)rec.n)) == 0)
            rc = put(c, "recovery_unrecovered", nf > 0, (double)unrecovered);
    }
    for (size_t f = 0; f < nf; f++)
        free(faults[f].on_target);
    free(faults);
    free(affected);
    free(covered);
    free(first_ready);
    free(rec.v);
    return rc;
}

struct step {
    double t, delta;
};

static int cmp_step(const void *a, const void *b)
{
    const struct step *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* Mean VRAM utilisation: the time-weighted mean over [0, end] of the VRAM
 * reserved by instances (an instance reserves its `vram` from its first
 * LOADING or READY event until its first EVICTED or FAILED event, or the end)
 * divided by the total VRAM of the run's GPUs (gpus table; failed GPUs are
 * not subtracted). end = runs.duration_s, or when that is missing or 0 the
 * latest time in the run's rows. NULL when end <= 0 or no VRAM. */
static int vram_util(struct ctx *c, const struct iev *ev, size_t nev)
{
    bool have_total, have_end;
    double total, end;
    int rc = scalar(c, "SELECT sum(vram) FROM gpus WHERE run = ?1", &have_total, &total);
    if (rc < 0) return rc;
    rc = scalar(c,
                "SELECT CASE WHEN duration_s > 0 THEN duration_s ELSE max("
                "(SELECT coalesce(max(t), 0) FROM instance_events WHERE run = ?1), "
                "(SELECT coalesce(max(finished), 0) FROM loads WHERE run = ?1), "
                "(SELECT coalesce(max(finished), 0) FROM requests WHERE run = ?1)) END "
                "FROM runs WHERE id = ?1",
                &have_end, &end);
    if (rc < 0) return rc;
    if (c->stream) {
        bool have_d;
        double d;
        if ((rc = scalar(c, "SELECT duration_s FROM runs WHERE id = ?1", &have_d, &d)) < 0)
            return rc;
        double last = res_stream_last_s(c->stream, true);
        if (!(have_d && d > 0) && last > end) end = last;
    }
    if (!have_total || total <= 0 || !have_end || end <= 0)
        return put(c, "vram_util_mean", false, 0);

    struct step *steps = malloc((2 * nev + 1) * sizeof *steps);
    if (!steps) return thaw_err_set(c->err, THAW_ENOMEM, "metrics: out of memory");
    size_t ns = 0;
    for (size_t i = 0; i < nev;) {
        size_t j = i;
        while (j < nev && ev[j].instance == ev[i].instance)
            j++;
        double from = NAN, to = end, vram = 0;
        for (size_t k = i; k < j; k++) {
            if (isnan(from) && (ev[k].state == 0 || ev[k].state == 1)) {
                from = ev[k].t;
                vram = ev[k].vram;
            } else if (!isnan(from) && (ev[k].state == 3 || ev[k].state == 4)) {
                to = ev[k].t;
                break;
            }
        }
        if (!isnan(from)) {
            if (from < 0) from = 0;
            if (to > end) to = end;
            if (to > from) {
                steps[ns++] = (struct step){from, vram};
                steps[ns++] = (struct step){to, -vram};
            }
        }
        i = j;
    }
    qsort(steps, ns, sizeof *steps, cmp_step);
    double area = 0, level = 0, prev = 0;
    for (size_t i = 0; i < ns; i++) {
        area += level * (steps[i].t - prev);
        level += steps[i].delta;
        prev = steps[i].t;
    }
    area += level * (end - prev);
    free(steps);
    return put(c, "vram_util_mean", true, area / (end * total));
}

static int compute(struct ctx *c)
{
    int rc;
    bool exists;
    double one;
    if ((rc = scalar(c, "SELECT 1 FROM runs WHERE id = ?1", &exists, &one)) < 0) return rc;
    if (!exists)
        return thaw_err_set(c->err, THAW_ENOENT, "run %lld does not exist", (long long)c->run);
    /* No DELETE: every metric of the list is written (NULL without data)
     * with INSERT OR REPLACE, and metrics a driver set with res_set_metric
     * (exec_load_gbps, ...) are kept. */
    if ((rc = cold_starts(c)) < 0 || (rc = makespan(c)) < 0) return rc;
    /* shm hit rate: loads started from shm / all loads started (every loads
     * row has started); NULL with no loads. */
    if ((rc = put_scalar(c, "shm_hit_rate",
                         "SELECT avg(source = 'shm') FROM loads WHERE run = ?1" MODEL_FILTER)) < 0)
        return rc;
    /* Deadline miss rate over the loads with a deadline: missed when the load
     * failed or was cancelled, finished later than enqueued + deadline (1 ns
     * of slack for the seconds conversion), or was still queued or in flight
     * at an end past its deadline; one still going before its deadline has
     * not missed yet and is left out, and so is a job withdrawn before it
     * started (cancelled, started NULL: the autoscaler no longer needed it). */
    if ((rc = put_scalar(c, "deadline_miss_rate",
                         "SELECT avg(CASE WHEN outcome = 'ok' THEN finished IS NULL OR "
                         "finished > enqueued + deadline + 1e-9 ELSE 1 END) FROM loads "
                         "WHERE run = ?1 AND deadline IS NOT NULL AND (outcome NOT IN "
                         "('in_flight', 'queued') OR enqueued + deadline < "
                         "(SELECT duration_s FROM runs WHERE id = ?1)) AND NOT "
                         "(outcome = 'cancelled' AND started IS NULL)" MODEL_FILTER)) < 0)
        return rc;
    if ((rc = requests(c)) < 0) return rc;
    struct iev *ev = NULL;
    size_t nev = 0;
    if ((rc = load_events(c, &ev, &nev)) < 0) return rc;
    rc = recovery(c, ev, nev);
    if (rc == 0) rc = vram_util(c, ev, nev);
    free(ev);
    if (rc < 0) return rc;
    static const char *const outcome_sql[][2] = {
        {"loads_ok", "SELECT count(*) FROM loads WHERE run = ?1 AND outcome = 'ok'" MODEL_FILTER},
        {"loads_failed",
         "SELECT count(*) FROM loads WHERE run = ?1 AND outcome = 'failed'" MODEL_FILTER},
        {"loads_cancelled",
         "SELECT count(*) FROM loads WHERE run = ?1 AND outcome = 'cancelled'" MODEL_FILTER},
        {"loads_in_flight_at_end",
         "SELECT count(*) FROM loads WHERE run = ?1 AND outcome = 'in_flight'" MODEL_FILTER},
        {"loads_queued_at_end",
         "SELECT count(*) FROM loads WHERE run = ?1 AND outcome = 'queued'" MODEL_FILTER},
    };
    for (int i = 0; i < 5 && rc == 0; i++)
        rc = put_scalar(c, outcome_sql[i][0], outcome_sql[i][1]);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The same metrics over each model's rows (every model named by a load,
 * a request or an instance event), into metrics_by_model. */
static int compute_by_model(struct ctx *c)
{
    sqlite3_stmt *names = NULL;
    int rc = 0, s = SQLITE_DONE;
    if ((rc = prep(c, "DELETE FROM metrics_by_model WHERE run = ?1", &names)) < 0) return rc;
    s = sqlite3_step(names);
    sqlite3_finalize(names);
    if (s != SQLITE_DONE) return sql_fail(c, "metrics by model");
    if ((rc = prep(c,
                   "SELECT model FROM loads WHERE run = ?1 UNION SELECT model FROM requests "
                   "WHERE run = ?1 UNION SELECT model FROM instance_events WHERE run = ?1 "
                   "ORDER BY 1",
                   &names)) < 0)
        return rc;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT OR REPLACE INTO metrics_by_model (run, name, value, model) "
                           "VALUES (?1, ?2, ?3, ?4)",
                           -1, &c->put, NULL) != SQLITE_OK) {
        rc = sql_fail(c, "prepare");
        sqlite3_finalize(names);
        return rc;
    }
    /* The names first (with the stream's models that had requests: their
     * rows are not in the database), sorted as ORDER BY sorts them. */
    char(*list)[CORE_NAME_MAX] = NULL;
    size_t nl = 0, capl = 0;
    int extra = c->stream ? res_stream_model_count(c->stream) : 0;
    for (int m = -extra; rc == 0; m++) {
        const char *name = NULL;
        if (m < 0) {
            bool has;
            name = res_stream_model_name(c->stream, m + extra, &has);
            if (!has) continue;
        } else if ((s = sqlite3_step(names)) == SQLITE_ROW) {
            name = (const char *)sqlite3_column_text(names, 0);
        } else {
            break;
        }
        if (nl == capl) {
            capl = capl ? capl * 2 : 64;
            char(*g)[CORE_NAME_MAX] = realloc(list, capl * sizeof *g);
            if (!g) {
                rc = thaw_err_set(c->err, THAW_ENOMEM, "metrics: out of memory");
                break;
            }
            list = g;
        }
        snprintf(list[nl++], CORE_NAME_MAX, "%s", name ? name : "");
    }
    if (rc == 0 && s != SQLITE_DONE) rc = sql_fail(c, "models");
    sqlite3_finalize(names);
    if (nl > 1) qsort(list, nl, sizeof *list, cmp_name);
    for (size_t i = 0; rc == 0 && i < nl; i++) {
        if (i > 0 && !strcmp(list[i], list[i - 1])) continue;
        c->model = list[i];
        rc = compute(c);
        c->model = NULL;
    }
    free(list);
    cache_free(c);
    sqlite3_finalize(c->put);
    c->put = NULL;
    return rc;
}

int res_metrics_compute(struct res_db *rdb, int64_t run, struct thaw_err *err)
{
    return res_metrics_compute_stream(rdb, run, NULL, NULL, err);
}

static int compute_all(struct res_db *rdb, int64_t run, struct res_stream *stream, size_t cap,
                       double *end_s, struct thaw_err *err);

int res_metrics_compute_stream(struct res_db *rdb, int64_t run, struct res_stream *stream,
                               double *end_s, struct thaw_err *err)
{
    return compute_all(rdb, run, stream, 0, end_s, err);
}

int res_metrics_compute_cap(struct res_db *rdb, int64_t run, size_t cap, struct thaw_err *err)
{
    return compute_all(rdb, run, NULL, cap, NULL, err);
}

static int compute_all(struct res_db *rdb, int64_t run, struct res_stream *stream, size_t cap,
                       double *end_s, struct thaw_err *err)
{
    if (!rdb) return thaw_err_set(err, THAW_EINVAL, "NULL database");
    sqlite3 *db = res_handle(rdb);
    /* Rows still buffered are part of the run. Inside res_run_finish's
     * transaction the buffer is already empty, so this is a no-op there. */
    int rc = sqlite3_get_autocommit(db) ? res_flush(rdb, err) : 0;
    if (rc < 0) return rc;
    struct ctx c = {.db = db, .run = run, .err = err, .stream = stream, .rank_cap = cap};
    bool own_txn = sqlite3_get_autocommit(db);
    if (own_txn && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(&c, "begin");
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO metrics (run, name, value) VALUES (?,?,?)",
                           -1, &c.put, NULL) != SQLITE_OK) {
        rc = sql_fail(&c, "prepare");
    } else {
        rc = compute(&c);
    }
    sqlite3_finalize(c.put);
    c.put = NULL;
    if (end_s) *end_s = c.end_s;
    if (rc == 0) rc = compute_by_model(&c);
    free(c.kept);
    if (own_txn) {
        if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = sql_fail(&c, "commit");
        if (rc < 0) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

/* anomalies.c - what went wrong in a run that still completed, said out loud:
 * computed from the rows when the run finishes (res_run_finish), stored in
 * the anomalies table, printed by sim, exec and report. Each kind is one
 * query returning (model, t, detail) rows, so its definition sits in one
 * place; results.h states them. Every detail names the model and a time. */
#include "results.h"
#include "results_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include <math.h>
#include <string.h>

#include <sqlite3.h>

/* The run's end as the queries use it. */
#define END_S "(SELECT coalesce(duration_s, 0) FROM runs WHERE id = ?1)"

static const struct {
    const char *kind, *sql;
} kinds[] = {
    {"never_served",
     "SELECT model, min(arrived), printf('model %s: none of its %d requests was ever served "
     "(the first arrived at %.3f s)', model, count(*), min(arrived)) FROM requests "
     "WHERE run = ?1 GROUP BY model HAVING sum(dispatched IS NOT NULL) = 0 "
     "ORDER BY 2, 1"},
    {"queued_at_end",
     "SELECT model, min(enqueued), printf('model %s: %d load(s) never started, still queued at "
     "the end (%.3f s); the first was enqueued at %.3f s', model, count(*), " END_S
     ", min(enqueued)) FROM loads WHERE run = ?1 AND outcome = 'queued' GROUP BY model "
     "ORDER BY 2, 1"},
    /* b started while a, of a higher priority, waited and needed no more
     * VRAM than b took (it fit where b went): computed in C (priority_inversion
     * below), as the query it replaces defined it. */
    {"priority_inversion", NULL},
    /* head_of_line is computed in C (head_of_line below): as SQL its
     * count of passers is a correlated subquery per load, O(loads^2) in
     * SQLite's row machinery, minutes on large.yaml. */
    {"head_of_line", NULL},
    /* as deadline_miss_rate counts them: finished late, failed, cancelled
     * once started, or still going at an end past the deadline; per model,
     * the first due */
    {"deadline_miss",
     "SELECT model, min(enqueued + deadline), printf('model %s: %d load(s) missed the %.3f s "
     "deadline, the first due at %.3f s', model, count(*), deadline, min(enqueued + deadline)) "
     "FROM loads WHERE run = ?1 AND deadline IS NOT NULL AND CASE WHEN outcome = 'ok' THEN "
     "finished IS NULL OR finished > enqueued + deadline + 1e-9 WHEN outcome IN ('in_flight', "
     "'queued') THEN enqueued + deadline < " END_S
     " WHEN outcome = 'cancelled' THEN started IS NOT "
     "NULL ELSE 1 END GROUP BY model ORDER BY 2, 1"},
    /* a scale-up load that started when no request of its model waited (so
     * nobody needed it any more) */
    {"stale_scale_up",
     "SELECT model, min(started), printf('model %s: %d scale-up load(s) started when no request "
     "of the model was waiting, the first queued at %.3f s and started at %.3f s', model, "
     "count(*), enqueued, min(started)) FROM loads l WHERE run = ?1 AND reason = 'scale_up' AND "
     "started IS NOT NULL AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.run = l.run AND "
     "r.model = l.model AND r.arrived <= l.started AND (r.dispatched IS NULL OR r.dispatched > "
     "l.started)) GROUP BY model ORDER BY 2, 1"},
};
#define KIND_COUNT ((int)(sizeof kinds / sizeof kinds[0]))

static int fail(sqlite3 *db, struct thaw_err *err, const char *what)
{
    return thaw_err_set(err, THAW_EIO, "anomalies (%s): %s", what, sqlite3_errmsg(db));
}

struct never_row {
    double t;
    const char *model;
    uint64_t count;
};

static int cmp_never(const void *a, const void *b)
{
    const struct never_row *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return strcmp(x->model, y->model);
}

/* never_served as its query states it, from the stream (no request rows). */
static int stream_never_served(sqlite3 *db, sqlite3_stmt *ins, int64_t run,
                               const struct res_stream *st, int64_t *seq, struct thaw_err *err)
{
    int n = res_stream_model_count(st), k = 0, rc = 0;
    struct never_row *rows = calloc((size_t)(n > 0 ? n : 1), sizeof *rows);
    if (!rows) return thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
    for (int m = 0; m < n; m++) {
        bool has;
        const char *name = res_stream_model_name(st, m, &has);
        if (res_stream_never_served(st, m, &rows[k].t, &rows[k].count)) rows[k++].model = name;
    }
    qsort(rows, (size_t)k, sizeof *rows, cmp_never);
    for (int i = 0; i < k && rc == 0; i++) {
        char detail[512];
        snprintf(detail, sizeof detail,
                 "model %s: none of its %llu requests was ever served (the first arrived at "
                 "%.3f s)",
                 rows[i].model, (unsigned long long)rows[i].count, rows[i].t);
        sqlite3_bind_int64(ins, 1, run);
        sqlite3_bind_int64(ins, 2, ++*seq);
        sqlite3_bind_text(ins, 3, "never_served", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, rows[i].model, -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 5, rows[i].t);
        sqlite3_bind_text(ins, 6, detail, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) rc = fail(db, err, "insert");
        sqlite3_reset(ins);
    }
    free(rows);
    return rc;
}

/* Room for load n and its model's name in two parallel arrays (capacity
 * doubled from 256): 0, or THAW_ENOMEM with err set. */
static int grow_loads(void **loads, size_t size, char ***names, size_t n, size_t *cap,
                      struct thaw_err *err)
{
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 256;
    void *g = realloc(*loads, c * size);
    char **gn = realloc(*names, c * sizeof *gn);
    if (g) *loads = g;
    if (gn) *names = gn;
    if (!g || !gn) return thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
    *cap = c;
    return 0;
}

/* head_of_line: a load a (not prewarm, not cancelled) waited while loads
 * queued after it (b.enqueued > a.enqueued), of another model and of no
 * higher priority (coalesce(priority, 0)), started first (b.started <
 * coalesce(a.started, end)): the queue's head waits and the line moves past
 * it. Per model the first such load by (enqueued, load_id), with how many
 * passed it and how long it waited; rows ordered by (enqueued, model). */
struct hl_load {
    double enq, started; /* started NAN: never */
    int prio, model;
    bool eligible;
};

struct hl_row {
    double enq, waited;
    int model;
    long passed;
};

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_hl_row(const void *a, const void *b)
{
    const struct hl_row *x = a, *y = b;
    if (x->enq != y->enq) return x->enq < y->enq ? -1 : 1;
    return (x->model > y->model) - (x->model < y->model); /* model ids are in name order */
}

static int head_of_line(sqlite3 *db, sqlite3_stmt *ins, int64_t run, int64_t *seq,
                        struct thaw_err *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT model, enqueued, started, coalesce(priority, 0), reason != "
                           "'prewarm' AND outcome != 'cancelled', " END_S
                           " FROM loads WHERE run = ?1 ORDER BY enqueued, load_id",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(db, err, "head_of_line");
    sqlite3_bind_int64(q, 1, run);
    struct hl_load *l = NULL;
    char **names = NULL, **sorted = NULL;
    struct hl_row *rows = NULL;
    bool *found = NULL;
    size_t n = 0, cap = 0;
    double end = 0;
    int rc = 0, s;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        if ((rc = grow_loads((void **)&l, sizeof *l, &names, n, &cap, err)) < 0) break;
        const char *m = (const char *)sqlite3_column_text(q, 0);
        names[n] = strdup(m ? m : "");
        if (!names[n]) {
            rc = thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
            break;
        }
        l[n].enq = sqlite3_column_double(q, 1);
        l[n].started = sqlite3_column_type(q, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 2);
        l[n].prio = sqlite3_column_int(q, 3);
        l[n].eligible = sqlite3_column_int(q, 4) != 0;
        end = sqlite3_column_double(q, 5);
        n++;
    }
    if (rc == 0 && s != SQLITE_DONE) rc = fail(db, err, "head_of_line");
    sqlite3_finalize(q);
    /* model ids: ranks of the names, so comparing ids compares names */
    size_t nm = 0;
    if (rc == 0 && n > 0) {
        sorted = malloc(n * sizeof *sorted);
        rows = malloc(n * sizeof *rows);
        found = calloc(n, sizeof *found);
        if (!sorted || !rows || !found)
            rc = thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
    }
    if (rc == 0 && n > 0) {
        memcpy(sorted, names, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_str_ptr);
        for (size_t i = 0; i < n; i++)
            if (nm == 0 || strcmp(sorted[nm - 1], sorted[i])) sorted[nm++] = sorted[i];
        for (size_t i = 0; i < n; i++) {
            char **hit = bsearch(&names[i], sorted, nm, sizeof *sorted, cmp_str_ptr);
            l[i].model = (int)(hit - sorted);
        }
    }
    size_t nr = 0;
    for (size_t i = 0, after = 0; rc == 0 && i < n; i++) {
        const struct hl_load *a = &l[i];
        if (after <= i) after = i + 1;
        while (after < n && !(l[after].enq > a->enq))
            after++;
        if (!a->eligible || found[a->model]) continue;
        double lim = isnan(a->started) ? end : a->started;
        long passed = 0;
        for (size_t j = after; j < n; j++) {
            const struct hl_load *b = &l[j];
            if (b->model != a->model && !isnan(b->started) && b->started < lim &&
                b->prio <= a->prio)
                passed++;
        }
        if (passed > 0) {
            found[a->model] = true;
            rows[nr++] = (struct hl_row){a->enq, lim - a->enq, a->model, passed};
        }
    }
    if (nr > 1) qsort(rows, nr, sizeof *rows, cmp_hl_row);
    for (size_t i = 0; rc == 0 && i < nr; i++) {
        char detail[512];
        const char *model = sorted[rows[i].model];
        snprintf(detail, sizeof detail,
                 "model %s: its load enqueued at %.3f s waited %.3f s while %ld load(s) queued "
                 "after it started first",
                 model, rows[i].enq, rows[i].waited, rows[i].passed);
        sqlite3_bind_int64(ins, 1, run);
        sqlite3_bind_int64(ins, 2, ++*seq);
        sqlite3_bind_text(ins, 3, "head_of_line", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, model, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 5, rows[i].enq);
        sqlite3_bind_text(ins, 6, detail, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) rc = fail(db, err, "insert");
        sqlite3_reset(ins);
    }
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    free(sorted);
    free(rows);
    free(found);
    free(l);
    return rc;
}

/* priority_inversion: a load b started (b.started >= a.enqueued, before
 * a started or ever, when a never did) while a load a (not cancelled) of a
 * higher priority waited and needed no more VRAM (a.vram <= b.vram); loads
 * without a priority (older databases) take no part. Per (a's model, b's
 * model) the first such start t, the row's a and b those the query
 *   SELECT a.model, min(b.started), printf(...) FROM loads a JOIN loads b
 *   ON b.run = a.run WHERE ... GROUP BY a.model, b.model ORDER BY 2, 1
 * took its bare columns from (it scanned a by (model, rowid), b by
 * (started, rowid), and min() keeps the first of equal values): the a of
 * the lowest rowid waiting at t, then the b of the lowest rowid starting at
 * t. Rows ordered by (t, a's model, b's model). The query visited every
 * pair (a waiting, b starting meanwhile): 2.9 s of large.yaml's 1 h run;
 * this sweep over the starts in time order keeps only the waiting loads. */
struct pi_load {
    int64_t rowid;
    double enq, lim, started; /* lim: a.started or 1e300; started NAN: never */
    int64_t prio, vram;
    bool has_prio, eligible;
    int model;
    char *gpu_name;
};

struct pi_row {
    double t;
    int a_model, b_model;
    uint64_t key; /* a_model * models + b_model */
    size_t a, b;  /* indexes into the loads */
};

/* The rows by key: open addressing over row indexes, PI_NONE empty. */
#define PI_NONE ((size_t)-1)
struct pi_slots {
    size_t *v, cap, used;
};

/* The slot of key (PI_NONE when new: the caller fills it), growing the
 * table at half full; NULL: out of memory. */
static size_t *pi_slot(struct pi_slots *h, uint64_t key, const struct pi_row *rows)
{
    if (2 * (h->used + 1) > h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        size_t *v = malloc(cap * sizeof *v);
        if (!v) return NULL;
        for (size_t i = 0; i < cap; i++)
            v[i] = PI_NONE;
        for (size_t i = 0; i < h->cap; i++) {
            if (h->v[i] == PI_NONE) continue;
            size_t j = (size_t)(rows[h->v[i]].key * 0x9E3779B97F4A7C15ull) & (cap - 1);
            while (v[j] != PI_NONE)
                j = (j + 1) & (cap - 1);
            v[j] = h->v[i];
        }
        free(h->v);
        h->v = v;
        h->cap = cap;
    }
    size_t j = (size_t)(key * 0x9E3779B97F4A7C15ull) & (h->cap - 1);
    while (h->v[j] != PI_NONE && rows[h->v[j]].key != key)
        j = (j + 1) & (h->cap - 1);
    if (h->v[j] == PI_NONE) h->used++;
    return &h->v[j];
}

static int cmp_pi_row(const void *x, const void *y)
{
    const struct pi_row *a = x, *b = y;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    if (a->a_model != b->a_model) return a->a_model < b->a_model ? -1 : 1;
    return (a->b_model > b->b_model) - (a->b_model < b->b_model);
}

/* Sorts idx[0..n) with cmp over loads: qsort with the base in a static (the
 * comparators need it) would not be thread-safe, so a merge sort. */
static void pi_sort(size_t *idx, size_t *tmp, size_t n, const struct pi_load *loads,
                    int (*cmp)(const struct pi_load *, const struct pi_load *))
{
    if (n < 2) return;
    size_t h = n / 2;
    pi_sort(idx, tmp, h, loads, cmp);
    pi_sort(idx + h, tmp, n - h, loads, cmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp(&loads[idx[j]], &loads[idx[i]]) < 0 ? idx[j++] : idx[i++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

static int pi_by_started(const struct pi_load *a, const struct pi_load *b)
{
    if (a->started != b->started) return a->started < b->started ? -1 : 1;
    return (a->rowid > b->rowid) - (a->rowid < b->rowid);
}

static int pi_by_enq(const struct pi_load *a, const struct pi_load *b)
{
    if (a->enq != b->enq) return a->enq < b->enq ? -1 : 1;
    return (a->rowid > b->rowid) - (a->rowid < b->rowid);
}

static int priority_inversion(sqlite3 *db, sqlite3_stmt *ins, int64_t run, int64_t *seq,
                              struct thaw_err *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT rowid, model, priority, vram, enqueued, started, "
                           "outcome != 'cancelled', gpu_name FROM loads WHERE run = ?1 "
                           "ORDER BY rowid",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(db, err, "priority_inversion");
    sqlite3_bind_int64(q, 1, run);
    struct pi_load *l = NULL;
    char **names = NULL, **sorted = NULL;
    size_t *starts = NULL, *waits = NULL, *tmp = NULL, *active = NULL;
    struct pi_row *rows = NULL;
    struct pi_slots slots = {0};
    size_t n = 0, cap = 0, nm = 0, nr = 0, rcap = 0;
    int rc = 0, s;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        if ((rc = grow_loads((void **)&l, sizeof *l, &names, n, &cap, err)) < 0) break;
        struct pi_load *x = &l[n];
        const char *m = (const char *)sqlite3_column_text(q, 1);
        const char *gpu = (const char *)sqlite3_column_text(q, 7);
        names[n] = strdup(m ? m : "");
        x->gpu_name = strdup(gpu ? gpu : "");
        if (!names[n] || !x->gpu_name) {
            free(names[n]);
            free(x->gpu_name);
            rc = thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
            break;
        }
        x->rowid = sqlite3_column_int64(q, 0);
        x->has_prio = sqlite3_column_type(q, 2) != SQLITE_NULL;
        x->prio = sqlite3_column_int64(q, 2);
        x->vram = sqlite3_column_int64(q, 3);
        x->enq = sqlite3_column_double(q, 4);
        bool started = sqlite3_column_type(q, 5) != SQLITE_NULL;
        x->started = started ? sqlite3_column_double(q, 5) : NAN;
        x->lim = started ? x->started : 1e300;
        x->eligible = sqlite3_column_int(q, 6) != 0;
        n++;
    }
    if (rc == 0 && s != SQLITE_DONE) rc = fail(db, err, "priority_inversion");
    sqlite3_finalize(q);
    if (rc == 0 && n > 0) {
        sorted = malloc(n * sizeof *sorted);
        starts = malloc(n * sizeof *starts);
        waits = malloc(n * sizeof *waits);
        tmp = malloc(n * sizeof *tmp);
        active = malloc(n * sizeof *active);
        if (!sorted || !starts || !waits || !tmp || !active)
            rc = thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
    }
    /* model ids: ranks of the names, so comparing ids compares names */
    if (rc == 0 && n > 0) {
        memcpy(sorted, names, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_str_ptr);
        for (size_t i = 0; i < n; i++)
            if (nm == 0 || strcmp(sorted[nm - 1], sorted[i])) sorted[nm++] = sorted[i];
        for (size_t i = 0; i < n; i++) {
            char **hit = bsearch(&names[i], sorted, nm, sizeof *sorted, cmp_str_ptr);
            l[i].model = (int)(hit - sorted);
        }
    }
    size_t ns = 0, nw = 0, na = 0;
    if (rc == 0 && n > 0) {
        for (size_t i = 0; i < n; i++) {
            if (!l[i].has_prio) continue;
            if (!isnan(l[i].started)) starts[ns++] = i;
            if (l[i].eligible) waits[nw++] = i;
        }
        pi_sort(starts, tmp, ns, l, pi_by_started);
        pi_sort(waits, tmp, nw, l, pi_by_enq);
    }
    /* Sweep the starts in (started, rowid) order; active holds the a loads
     * enqueued by t, dropped once started by t (lim <= t). */
    for (size_t k = 0, next = 0; rc == 0 && k < ns; k++) {
        const struct pi_load *b = &l[starts[k]];
        double t = b->started;
        while (next < nw && l[waits[next]].enq <= t)
            active[na++] = waits[next++];
        for (size_t i = 0; i < na;) {
            const struct pi_load *a = &l[active[i]];
            if (!(t < a->lim)) {
                active[i] = active[--na];
                continue;
            }
            i++;
            if (!(a->prio > b->prio) || a->vram > b->vram) continue;
            uint64_t key = (uint64_t)a->model * nm + (uint64_t)b->model;
            size_t *at = pi_slot(&slots, key, rows);
            if (!at) {
                rc = thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
                break;
            }
            if (*at == PI_NONE) {
                if (nr == rcap) {
                    size_t c = rcap ? rcap * 2 : 64;
                    struct pi_row *g = realloc(rows, c * sizeof *g);
                    if (!g) {
                        rc = thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
                        break;
                    }
                    rows = g;
                    rcap = c;
                }
                *at = nr;
                rows[nr++] =
                    (struct pi_row){t, a->model, b->model, key, (size_t)(a - l), starts[k]};
            } else if (rows[*at].t == t && a->rowid < l[rows[*at].a].rowid) {
                /* the same t, an a of a lower rowid: its first b at t */
                rows[*at].a = (size_t)(a - l);
                rows[*at].b = starts[k];
            }
        }
    }
    if (nr > 1) qsort(rows, nr, sizeof *rows, cmp_pi_row);
    for (size_t i = 0; rc == 0 && i < nr; i++) {
        const struct pi_load *a = &l[rows[i].a], *b = &l[rows[i].b];
        const char *am = sorted[a->model], *bm = sorted[b->model];
        /* sqlite3_mprintf: the SQL printf() engine, so the digits match it */
        char *detail = sqlite3_mprintf("model %s (priority %lld, waiting since %.3f s) was passed "
                                       "by lower-priority model %s (priority %lld) starting at "
                                       "%.3f s on %s, where it fit",
                                       am, (long long)a->prio, a->enq, bm, (long long)b->prio,
                                       b->started, b->gpu_name);
        if (!detail) {
            rc = thaw_err_set(err, THAW_ENOMEM, "anomalies: out of memory");
            break;
        }
        sqlite3_bind_int64(ins, 1, run);
        sqlite3_bind_int64(ins, 2, ++*seq);
        sqlite3_bind_text(ins, 3, "priority_inversion", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, am, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 5, rows[i].t);
        sqlite3_bind_text(ins, 6, detail, -1, sqlite3_free);
        if (sqlite3_step(ins) != SQLITE_DONE) rc = fail(db, err, "insert");
        sqlite3_reset(ins);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        free(l[i].gpu_name);
    }
    free(names);
    free(sorted);
    free(starts);
    free(waits);
    free(tmp);
    free(active);
    free(rows);
    free(slots.v);
    free(l);
    return rc;
}

int res_anomalies_compute(struct res_db *rdb, int64_t run, struct thaw_err *err)
{
    return res_anomalies_compute_stream(rdb, run, NULL, err);
}

/* With a stream (a run recorded without request rows): never_served comes
 * from it, and stale_scale_up, which needs every request's wait, is left
 * out. */
int res_anomalies_compute_stream(struct res_db *rdb, int64_t run, const struct res_stream *stream,
                                 struct thaw_err *err)
{
    if (!rdb) return thaw_err_set(err, THAW_EINVAL, "NULL database");
    sqlite3 *db = res_handle(rdb);
    sqlite3_stmt *del = NULL, *ins = NULL, *q = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, "DELETE FROM anomalies WHERE run = ?", -1, &del, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO anomalies (run, seq, kind, model, t, detail) VALUES "
                           "(?, ?, ?, ?, ?, ?)",
                           -1, &ins, NULL) != SQLITE_OK) {
        rc = fail(db, err, "prepare");
        goto out;
    }
    sqlite3_bind_int64(del, 1, run);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rc = fail(db, err, "delete");
        goto out;
    }
    int64_t seq = 0;
    for (int k = 0; k < KIND_COUNT && rc == 0; k++) {
        if (stream && !strcmp(kinds[k].kind, "never_served")) {
            rc = stream_never_served(db, ins, run, stream, &seq, err);
            continue;
        }
        if (stream && !strcmp(kinds[k].kind, "stale_scale_up")) continue;
        if (!kinds[k].sql) {
            rc = !strcmp(kinds[k].kind, "head_of_line")
                     ? head_of_line(db, ins, run, &seq, err)
                     : priority_inversion(db, ins, run, &seq, err);
            continue;
        }
        if (sqlite3_prepare_v2(db, kinds[k].sql, -1, &q, NULL) != SQLITE_OK) {
            rc = fail(db, err, kinds[k].kind);
            break;
        }
        sqlite3_bind_int64(q, 1, run);
        int s;
        while (rc == 0 && (s = sqlite3_step(q)) == SQLITE_ROW) {
            sqlite3_bind_int64(ins, 1, run);
            sqlite3_bind_int64(ins, 2, ++seq);
            sqlite3_bind_text(ins, 3, kinds[k].kind, -1, SQLITE_STATIC);
            sqlite3_bind_value(ins, 4, sqlite3_column_value(q, 0));
            sqlite3_bind_double(ins, 5, sqlite3_column_double(q, 1));
            sqlite3_bind_value(ins, 6, sqlite3_column_value(q, 2));
            if (sqlite3_step(ins) != SQLITE_DONE) rc = fail(db, err, "insert");
            sqlite3_reset(ins);
        }
        if (rc == 0 && s != SQLITE_DONE) rc = fail(db, err, kinds[k].kind);
        sqlite3_finalize(q);
        q = NULL;
    }
out:
    sqlite3_finalize(q);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
}

int res_anomalies_walk(struct res_db *rdb, int64_t run,
                       int (*fn)(const struct res_anomaly *, void *), void *ctx,
                       struct thaw_err *err)
{
    if (!rdb || !fn) return thaw_err_set(err, THAW_EINVAL, "anomalies: NULL argument");
    sqlite3 *db = res_handle(rdb);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT kind, model, t, detail FROM anomalies WHERE run = ? ORDER BY "
                           "seq",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(db, err, "read");
    sqlite3_bind_int64(st, 1, run);
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *m = (const char *)sqlite3_column_text(st, 1);
        const char *d = (const char *)sqlite3_column_text(st, 3);
        struct res_anomaly a = {k ? k : "", m ? m : "", sqlite3_column_double(st, 2), d ? d : ""};
        if ((rc = fn(&a, ctx)) != 0) break;
    }
    if (rc == 0 && s != SQLITE_DONE) rc = fail(db, err, "read");
    sqlite3_finalize(st);
    return rc;
}

struct print_ctx {
    FILE *out;
    const char *prefix;
    int shown, max, total;
};

static int print_one(const struct res_anomaly *a, void *arg)
{
    struct print_ctx *p = arg;
    if (p->max <= 0 || p->shown < p->max) {
        fprintf(p->out, "%s: anomaly: %s at %.3f s: %s\n", p->prefix, a->kind, a->t_s, a->detail);
        p->shown++;
    }
    p->total++;
    return 0;
}

int res_anomalies_print(struct res_db *db, int64_t run, FILE *out, const char *prefix, int max,
                        int *count, struct thaw_err *err)
{
    struct print_ctx p = {out, prefix ? prefix : "thaw", 0, max, 0};
    int rc = res_anomalies_walk(db, run, print_one, &p, err);
    if (rc == 0 && p.total > p.shown)
        fprintf(out, "%s: ... %d more anomalies (SELECT * FROM anomalies WHERE run = %lld)\n",
                p.prefix, p.total - p.shown, (long long)run);
    if (count) *count = p.total;
    return rc;
}

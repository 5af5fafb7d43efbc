/* calibrate.c - fits the simulator's per-load parameters to a run's loads
 * for `thaw calibrate`: per (node, source), the loads that ran alone on
 * their node fitted to t = a + bytes / B with GSL. Contended loads are left
 * out because sharing the node's bandwidth would read as a slower B. */
#include "results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_fit.h>
#include <sqlite3.h>

struct cal_load {
    int node;   /* index into the node name list */
    int source; /* CORE_SRC_* */
    bool ok;
    double started, end;
    uint64_t bytes;
    bool alone;
};

static int by_node_start(const void *a, const void *b)
{
    const struct cal_load *x = a, *y = b;
    if (x->node != y->node) return x->node < y->node ? -1 : 1;
    if (x->started != y->started) return x->started < y->started ? -1 : 1;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A shm fill of a run as an interval of scenario seconds on a node: fills
 * read storage, so a storage load beside one does not run alone. */
struct fill_iv {
    char node[CORE_NAME_MAX];
    double s, e;
};

/* The run's fills: each START_SHM_FILL action ("t=<ns> START_SHM_FILL
 * node=<i> model=<m> ..." in core_actions, both modes) to the first
 * SHM_FILL_FINISHED event of that node and model at or after it (ok or
 * not: the fill read storage until then), or the run's end when none. */
static int fills_of_run(sqlite3 *h, int64_t run, struct fill_iv **out, int *count,
                        struct thaw_err *err)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *a = NULL, *q = NULL;
    if (sqlite3_prepare_v2(h,
                           "SELECT line FROM core_actions WHERE run = ? AND line LIKE "
                           "'% START_SHM_FILL %' ORDER BY seq, idx",
                           -1, &a, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h,
                           "SELECT (SELECT name FROM nodes WHERE run = ?1 AND node = ?2), "
                           "(SELECT min(t_ns) FROM core_events WHERE run = ?1 AND kind = "
                           "'SHM_FILL_FINISHED' AND node = ?2 AND model = ?3 AND t_ns >= ?4), "
                           "(SELECT duration_s FROM runs WHERE id = ?1)",
                           -1, &q, NULL) != SQLITE_OK) {
        int rc = thaw_err_set(err, THAW_EIO, "calibrate: %s", sqlite3_errmsg(h));
        sqlite3_finalize(a);
        return rc;
    }
    sqlite3_bind_int64(a, 1, run);
    struct fill_iv *v = NULL;
    int n = 0, cap = 0, rc = 0, s;
    while (rc == 0 && (s = sqlite3_step(a)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(a, 0);
        long long t;
        int node, model;
        if (!line || sscanf(line, "t=%lld START_SHM_FILL node=%d model=%d", &t, &node, &model) != 3)
            continue;
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, run);
        sqlite3_bind_int(q, 2, node);
        sqlite3_bind_int(q, 3, model);
        sqlite3_bind_int64(q, 4, t);
        if (sqlite3_step(q) != SQLITE_ROW) continue;
        const char *name = (const char *)sqlite3_column_text(q, 0);
        if (!name) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            struct fill_iv *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                rc = thaw_err_set(err, THAW_ENOMEM, "calibrate: out of memory");
                break;
            }
            v = nv;
        }
        snprintf(v[n].node, sizeof v[n].node, "%s", name);
        v[n].s = (double)t / 1e9;
        v[n].e = sqlite3_column_type(q, 1) != SQLITE_NULL   ? sqlite3_column_int64(q, 1) / 1e9
                 : sqlite3_column_type(q, 2) != SQLITE_NULL ? sqlite3_column_double(q, 2)
                                                            : INFINITY;
        n++;
    }
    sqlite3_finalize(a);
    sqlite3_finalize(q);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

void res_calibration_free(struct res_calibration *c, int count)
{
    if (!c) return;
    for (int i = 0; i < count; i++) {
        free(c[i].bytes);
        free(c[i].secs);
    }
    free(c);
}

/* Fits one (node, source) entry from its used points. */
static void fit(struct res_calibration *c)
{
    c->ok = false;
    c->a_s = c->bandwidth_bps = c->r2 = NAN;
    c->n_sizes = 0;
    if (c->n_used == 0) return;
    double *sorted = malloc((size_t)c->n_used * sizeof *sorted);
    if (!sorted) return;
    memcpy(sorted, c->bytes, (size_t)c->n_used * sizeof *sorted);
    qsort(sorted, (size_t)c->n_used, sizeof *sorted, cmp_double);
    c->n_sizes = 1;
    for (int i = 1; i < c->n_used; i++)
        if (sorted[i] != sorted[i - 1]) c->n_sizes++;
    free(sorted);
    if (c->n_sizes < 2) return;
    double c0, c1, cov00, cov01, cov11, sumsq;
    if (gsl_fit_linear(c->bytes, 1, c->secs, 1, (size_t)c->n_used, &c0, &c1, &cov00, &cov01, &cov11,
                       &sumsq) != 0)
        return;
    c->ok = true;
    c->a_s = c0;
    c->bandwidth_bps = c1 > 0 ? 1.0 / c1 : NAN;
    /* R^2 = 1 - SS_res / SS_tot; equal times (SS_tot 0) fit exactly. */
    double mean = 0, sst = 0;
    for (int i = 0; i < c->n_used; i++)
        mean += c->secs[i];
    mean /= c->n_used;
    for (int i = 0; i < c->n_used; i++)
        sst += (c->secs[i] - mean) * (c->secs[i] - mean);
    c->r2 = sst > 0 ? 1.0 - sumsq / sst : 1.0;
}

int res_calibration_through(const struct res_calibration *c, double a_s, double *bandwidth_bps,
                            struct thaw_err *err)
{
    if (!c || !bandwidth_bps || c->n_used < 1 || !c->bytes || !c->secs)
        return thaw_err_set(err, THAW_EINVAL, "calibrate: no points to fit");
    double *y = malloc((size_t)c->n_used * sizeof *y);
    if (!y) return thaw_err_set(err, THAW_ENOMEM, "calibrate: out of memory");
    for (int i = 0; i < c->n_used; i++)
        y[i] = c->secs[i] - a_s;
    double c1, cov11, sumsq;
    int rc = gsl_fit_mul(c->bytes, 1, y, 1, (size_t)c->n_used, &c1, &cov11, &sumsq);
    free(y);
    if (rc != 0 || !(c1 > 0))
        return thaw_err_set(err, THAW_EINVAL,
                            "calibrate: the loads took no longer than the fixed cost %.3f s", a_s);
    *bandwidth_bps = 1.0 / c1;
    return 0;
}

int res_calibrate(struct res_db *db, int64_t run, struct res_calibration **out, int *count,
                  struct thaw_err *err)
{
    if (!db || !out || !count) return thaw_err_set(err, THAW_EINVAL, "calibrate: bad arguments");
    *out = NULL;
    *count = 0;
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "SELECT 1 FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "calibrate: %s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, run);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return thaw_err_set(err, THAW_ENOENT, "no run %lld", (long long)run);

    /* A load that never finished held the node until its instance failed or
     * was evicted (the cancel), else to the run's end: counted as long as
     * it may have run, so no load beside it is taken for a lone one. The
     * node order is that of the node's first GPU. */
    const char *sql =
        "SELECT l.node, l.source, l.outcome = 'ok' AND l.finished IS NOT NULL, l.started, "
        "COALESCE(l.finished, (SELECT min(t) FROM instance_events ie WHERE ie.run = l.run AND "
        "ie.instance = l.instance AND ie.state IN ('FAILED', 'EVICTED') AND ie.t >= l.started), "
        "(SELECT duration_s FROM runs WHERE id = l.run), 1e300), l.bytes, "
        "(SELECT min(gpu) FROM loads x WHERE x.run = l.run AND x.node = l.node AND x.gpu >= 0) "
        "AS first_gpu "
        "FROM loads l WHERE l.run = ? AND l.started IS NOT NULL ORDER BY first_gpu, l.node, "
        "l.started, l.load_id";
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "calibrate: %s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, run);

    struct cal_load *loads = NULL;
    int n = 0, cap = 0;
    char(*nodes)[CORE_NAME_MAX] = NULL;
    int n_nodes = 0;
    rc = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *node = (const char *)sqlite3_column_text(st, 0);
        const char *src = (const char *)sqlite3_column_text(st, 1);
        if (!node) node = "";
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            struct cal_load *nl = realloc(loads, (size_t)cap * sizeof *nl);
            if (!nl) {
                rc = thaw_err_set(err, THAW_ENOMEM, "calibrate: out of memory");
                break;
            }
            loads = nl;
        }
        /* Rows arrive grouped by node, so a node is new when it differs from
         * the last one seen. */
        if (n_nodes == 0 || strcmp(nodes[n_nodes - 1], node)) {
            void *nn = realloc(nodes, (size_t)(n_nodes + 1) * sizeof *nodes);
            if (!nn) {
                rc = thaw_err_set(err, THAW_ENOMEM, "calibrate: out of memory");
                break;
            }
            nodes = nn;
            snprintf(nodes[n_nodes++], CORE_NAME_MAX, "%s", node);
        }
        struct cal_load *l = &loads[n++];
        l->node = n_nodes - 1;
        l->source = src && !strcmp(src, "shm") ? CORE_SRC_SHM : CORE_SRC_STORAGE;
        l->ok = sqlite3_column_int(st, 2) != 0;
        l->started = sqlite3_column_double(st, 3);
        l->end = sqlite3_column_double(st, 4);
        sqlite3_int64 b = sqlite3_column_int64(st, 5);
        l->bytes = b > 0 ? (uint64_t)b : 0;
        l->alone = true;
    }
    if (!rc && s != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "calibrate: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (rc < 0) goto out;

    /* Sorted by node then start: a load overlaps an earlier one when the
     * latest end before it is past its start, and a later one when the
     * next start is before its end. Touching intervals do not overlap. */
    if (n > 0) qsort(loads, (size_t)n, sizeof *loads, by_node_start);
    double max_end = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (i > 0 && loads[i - 1].node != loads[i].node) max_end = -INFINITY;
        if (max_end > loads[i].started) loads[i].alone = false;
        if (i + 1 < n && loads[i + 1].node == loads[i].node && loads[i + 1].started < loads[i].end)
            loads[i].alone = false;
        if (loads[i].end > max_end) max_end = loads[i].end;
    }

    /* A storage load beside a shm fill of its node shares the storage. */
    struct fill_iv *fills = NULL;
    int n_fills = 0;
    if ((rc = fills_of_run(h, run, &fills, &n_fills, err)) < 0) goto out;
    for (int i = 0; i < n; i++)
        for (int f = 0; f < n_fills && loads[i].alone; f++)
            if (loads[i].source == CORE_SRC_STORAGE &&
                !strcmp(fills[f].node, nodes[loads[i].node]) && fills[f].s < loads[i].end &&
                fills[f].e > loads[i].started)
                loads[i].alone = false;
    free(fills);

    struct res_calibration *cal = calloc((size_t)(2 * n_nodes + 1), sizeof *cal);
    if (!cal) {
        rc = thaw_err_set(err, THAW_ENOMEM, "calibrate: out of memory");
        goto out;
    }
    int nc = 0;
    for (int node = 0; node < n_nodes; node++) {
        for (int src = CORE_SRC_STORAGE; src <= CORE_SRC_SHM; src++) {
            int used = 0, left = 0;
            for (int i = 0; i < n; i++) {
                if (loads[i].node != node || loads[i].source != src || !loads[i].ok) continue;
                if (loads[i].alone)
                    used++;
                else
                    left++;
            }
            if (used + left == 0) continue;
            struct res_calibration *c = &cal[nc++];
            snprintf(c->node, sizeof c->node, "%s", nodes[node]);
            c->source = (enum core_source)src;
            c->n_left_out = left;
            c->bytes = malloc((size_t)(used + 1) * sizeof *c->bytes);
            c->secs = malloc((size_t)(used + 1) * sizeof *c->secs);
            if (!c->bytes || !c->secs) {
                res_calibration_free(cal, nc);
                rc = thaw_err_set(err, THAW_ENOMEM, "calibrate: out of memory");
                goto out;
            }
            for (int i = 0; i < n; i++) {
                const struct cal_load *l = &loads[i];
                if (l->node != node || l->source != src || !l->ok || !l->alone) continue;
                c->bytes[c->n_used] = (double)l->bytes;
                c->secs[c->n_used] = l->end - l->started;
                c->n_used++;
            }
            fit(c);
        }
    }
    if (nc == 0) {
        free(cal);
        cal = NULL;
    }
    *out = cal;
    *count = nc;
out:
    free(loads);
    free(nodes);
    return rc;
}

/* ---- from load_phases, pooled over runs --------------------------------- */

struct ph_load {
    int run, node, source;
    bool ok;
    uint64_t bytes;
    double copy_s, copy_e, verify, init, warmup, alloc;
    bool has_init, has_warmup;
    double k;
};

struct ph_ctx {
    int run;
    struct ph_load *v;
    int n, cap;
    uint64_t last_load;
    bool have_last;
    char (*nodes)[CORE_NAME_MAX];
    int n_nodes;
    int rc;
};

static int node_id(struct ph_ctx *c, const char *name)
{
    for (int i = 0; i < c->n_nodes; i++)
        if (!strcmp(c->nodes[i], name)) return i;
    void *nn = realloc(c->nodes, (size_t)(c->n_nodes + 1) * sizeof *c->nodes);
    if (!nn) return -1;
    c->nodes = nn;
    snprintf(c->nodes[c->n_nodes], CORE_NAME_MAX, "%s", name);
    return c->n_nodes++;
}

static int ph_row(const struct res_phase_row *r, void *arg)
{
    struct ph_ctx *c = arg;
    if (!c->have_last || r->load_id != c->last_load) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            struct ph_load *nv = realloc(c->v, (size_t)c->cap * sizeof *nv);
            if (!nv) return THAW_ENOMEM;
            c->v = nv;
        }
        struct ph_load *l = &c->v[c->n++];
        memset(l, 0, sizeof *l);
        l->run = c->run;
        l->node = node_id(c, r->node ? r->node : "");
        if (l->node < 0) return THAW_ENOMEM;
        l->source = r->source && !strcmp(r->source, "shm") ? CORE_SRC_SHM : CORE_SRC_STORAGE;
        l->ok = r->outcome && !strcmp(r->outcome, "ok");
        l->bytes = r->bytes;
        l->copy_s = l->copy_e = NAN;
        c->last_load = r->load_id;
        c->have_last = true;
    }
    struct ph_load *l = &c->v[c->n - 1];
    double d = r->finished_s - r->started_s;
    switch (r->phase) {
    case RES_PHASE_COPY:
        l->copy_s = r->started_s;
        l->copy_e = r->finished_s;
        break;
    case RES_PHASE_VERIFY:
        l->verify += d;
        break;
    case RES_PHASE_INIT:
        l->init += d;
        l->has_init = true;
        break;
    case RES_PHASE_WARMUP:
        l->warmup += d;
        l->has_warmup = true;
        break;
    case RES_PHASE_ALLOC:
        l->alloc += d;
        break;
    default:
        break;
    }
    return 0;
}

/* y = a + b x by least squares (through the origin with one distinct x);
 * R^2 = 1 - SS_res / SS_tot (1 when every y is equal and fitted exactly). */
static bool line(const double *x, const double *y, int n, bool origin, double *a, double *b,
                 double *r2)
{
    double c0 = 0, c1, cov00, cov01, cov11, sumsq;
    if (origin) {
        if (gsl_fit_mul(x, 1, y, 1, (size_t)n, &c1, &cov11, &sumsq) != 0) return false;
    } else if (gsl_fit_linear(x, 1, y, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq) !=
               0) {
        return false;
    }
    double mean = 0, sst = 0;
    for (int i = 0; i < n; i++)
        mean += y[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        sst += (y[i] - mean) * (y[i] - mean);
    *a = c0;
    *b = c1;
    *r2 = sst > 0 ? 1.0 - sumsq / sst : 1.0;
    return c1 > 0;
}

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    *mean = *sd = NAN;
    if (n <= 0) return;
    double m = 0, s = 0;
    for (int i = 0; i < n; i++)
        m += v[i];
    m /= n;
    for (int i = 0; i < n; i++)
        s += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(s / (n - 1)) : 0;
}

static void fit_group(const struct ph_load *v, int n, int node, int src, struct res_phase_fit *f)
{
    double *x = malloc((size_t)n * 6 * sizeof *x);
    if (!x) return;
    double *xk = x + n, *y = xk + n, *ini = y + n, *wu = ini + n, *tmp = wu + n;
    int m = 0, ni = 0, nw = 0, last_run = -1;
    double alloc = 0, verify = 0, k_sum = 0, vbytes = 0;
    f->runs = 0;
    for (int i = 0; i < n; i++) {
        const struct ph_load *l = &v[i];
        if (l->node != node || l->source != src || !l->ok || isnan(l->copy_s)) continue;
        if (l->run != last_run) {
            f->runs++;
            last_run = l->run;
        }
        x[m] = (double)l->bytes;
        xk[m] = (double)l->bytes * l->k;
        y[m] = l->copy_e - l->copy_s;
        vbytes += l->verify > 0 ? (double)l->bytes : 0;
        k_sum += l->k;
        alloc += l->alloc;
        verify += l->verify;
        if (l->has_init) ini[ni++] = l->init;
        if (l->has_warmup) wu[nw++] = l->warmup;
        m++;
    }
    f->loads = m;
    f->a_s = f->bandwidth_bps = f->bw_sd_bps = f->r2 = NAN;
    f->other_bandwidth_bps = f->other_r2 = NAN;
    mean_sd(ini, ni, &f->init_s, &f->init_sd_s);
    mean_sd(wu, nw, &f->warmup_s, &f->warmup_sd_s);
    f->alloc_s = m ? alloc / m : NAN;
    f->verify_s = m ? verify / m : NAN;
    f->verify_bps = verify > 0 ? vbytes / verify : NAN;
    f->mean_overlap = m ? k_sum / m : NAN;
    if (m == 0) {
        free(x);
        return;
    }
    memcpy(tmp, x, (size_t)m * sizeof *tmp);
    qsort(tmp, (size_t)m, sizeof *tmp, cmp_double);
    f->sizes = 1;
    for (int i = 1; i < m; i++)
        if (tmp[i] != tmp[i - 1]) f->sizes++;
    bool origin = f->sizes < 2;
    double a1 = NAN, b1 = NAN, r1 = -INFINITY, a2 = NAN, b2 = NAN, r2 = -INFINITY;
    bool ok1 = line(x, y, m, origin, &a1, &b1, &r1);
    bool ok2 = line(xk, y, m, origin, &a2, &b2, &r2);
    if (!ok1) r1 = -INFINITY;
    if (!ok2) r2 = -INFINITY;
    if (!ok1 && !ok2) {
        free(x);
        return;
    }
    /* One size: a line through the origin, whose R^2 says nothing (the
     * loads differ only by noise): NAN, and the shared line is taken. */
    if (origin) r1 = r2 = NAN;
    f->shared = ok2 && (!ok1 || origin || r2 > r1);
    double a = f->shared ? a2 : a1, b = f->shared ? b2 : b1;
    const double *xs = f->shared ? xk : x;
    f->a_s = a;
    f->bandwidth_bps = 1.0 / b;
    f->r2 = f->shared ? r2 : r1;
    f->other_bandwidth_bps = f->shared ? (ok1 ? 1.0 / b1 : NAN) : (ok2 ? 1.0 / b2 : NAN);
    f->other_r2 = f->shared ? (ok1 ? r1 : NAN) : (ok2 ? r2 : NAN);
    int nb = 0;
    for (int i = 0; i < m; i++)
        if (y[i] - a > 0) tmp[nb++] = xs[i] / (y[i] - a);
    double mb;
    mean_sd(tmp, nb, &mb, &f->bw_sd_bps);
    free(x);
}

int res_calibrate_phases(struct res_db *db, const int64_t *runs, int n_runs,
                         struct res_phase_fit **out, int *count, struct thaw_err *err)
{
    *out = NULL;
    *count = 0;
    struct ph_ctx c = {0};
    int rc = 0;
    for (int r = 0; r < n_runs && rc == 0; r++) {
        c.run = r;
        c.have_last = false;
        rc = res_phases_each(db, runs[r], ph_row, &c, err);
        if (rc < 0 && err && !err->msg[0]) thaw_err_set(err, rc, "calibrate: out of memory");
    }
    /* Each run's shm fills, as copies in flight beside its storage loads. */
    struct fill_iv **fills = rc == 0 ? calloc((size_t)n_runs + 1, sizeof *fills) : NULL;
    int *n_fills = rc == 0 ? calloc((size_t)n_runs + 1, sizeof *n_fills) : NULL;
    if (rc == 0 && (!fills || !n_fills))
        rc = thaw_err_set(err, THAW_ENOMEM, "calibrate: out of memory");
    for (int r = 0; r < n_runs && rc == 0; r++)
        rc = fills_of_run(res_handle(db), runs[r], &fills[r], &n_fills[r], err);
    /* Overlap: per run, node and source, the share of each copy that the
     * others' copies covered, summed (mean copies in flight during it). */
    for (int i = 0; rc == 0 && i < c.n; i++) {
        struct ph_load *l = &c.v[i];
        l->k = 1;
        double len = l->copy_e - l->copy_s;
        if (isnan(len) || !(len > 0)) continue;
        for (int j = 0; j < c.n; j++) {
            const struct ph_load *o = &c.v[j];
            if (j == i || o->run != l->run || o->node != l->node || o->source != l->source ||
                isnan(o->copy_s))
                continue;
            double s = o->copy_s > l->copy_s ? o->copy_s : l->copy_s;
            double e = o->copy_e < l->copy_e ? o->copy_e : l->copy_e;
            if (e > s) l->k += (e - s) / len;
        }
        for (int f = 0; l->source == CORE_SRC_STORAGE && f < n_fills[l->run]; f++) {
            const struct fill_iv *o = &fills[l->run][f];
            if (strcmp(o->node, c.nodes[l->node])) continue;
            double s = o->s > l->copy_s ? o->s : l->copy_s;
            double e = o->e < l->copy_e ? o->e : l->copy_e;
            if (e > s) l->k += (e - s) / len;
        }
    }
    for (int r = 0; fills && r < n_runs; r++)
        free(fills[r]);
    free(fills);
    free(n_fills);
    struct res_phase_fit *fits = NULL;
    int nf = 0;
    if (rc == 0) {
        fits = calloc((size_t)(2 * c.n_nodes + 1), sizeof *fits);
        if (!fits) rc = thaw_err_set(err, THAW_ENOMEM, "calibrate: out of memory");
    }
    for (int node = 0; rc == 0 && node < c.n_nodes; node++)
        for (int src = CORE_SRC_STORAGE; src <= CORE_SRC_SHM; src++) {
            struct res_phase_fit *f = &fits[nf];
            memset(f, 0, sizeof *f);
            snprintf(f->node, sizeof f->node, "%s", c.nodes[node]);
            f->source = (enum core_source)src;
            fit_group(c.v, c.n, node, src, f);
            if (f->loads > 0) nf++;
        }
    free(c.v);
    free(c.nodes);
    if (rc == 0 && nf == 0) {
        free(fits);
        return thaw_err_set(err, THAW_ENOENT,
                            "calibrate: no load_phases rows of an ok load in the run%s given",
                            n_runs == 1 ? "" : "s");
    }
    if (rc < 0) {
        free(fits);
        return rc;
    }
    *out = fits;
    *count = nf;
    return 0;
}

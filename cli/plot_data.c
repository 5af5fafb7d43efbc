/* plot_data.c - `thaw plot` below the option parsing: one function per chart
 * queries the results schema and writes whitespace-separated data files
 * (described in plots/README.md) into a mkdtemp folder, plus the gnuplot
 * variables (names, ranges, titles) as one -e string; cli_plot_render runs
 * gnuplot on plots/KIND.gp with fork + execvp, no shell in between, so no
 * name in a database can be interpreted as a command. */
#include "plot_data.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>
#include <sqlite3.h>

#ifndef THAW_PLOTS_DIR
#define THAW_PLOTS_DIR THAW_SOURCE_DIR "/plots"
#endif

static const char *const kind_names[CLI_PLOT_KIND_COUNT] = {"timeline", "cdf", "vram", "sweep",
                                                            "validate"};

const char *cli_plot_kind_name(enum cli_plot_kind k)
{
    return (unsigned)k < CLI_PLOT_KIND_COUNT ? kind_names[k] : "?";
}

int cli_plot_kind_parse(const char *name, enum cli_plot_kind *out)
{
    for (int k = 0; name && k < CLI_PLOT_KIND_COUNT; k++)
        if (!strcmp(name, kind_names[k])) {
            *out = (enum cli_plot_kind)k;
            return 0;
        }
    return THAW_EINVAL;
}

const char *cli_plot_scripts_dir(void)
{
    const char *env = getenv("THAW_PLOTS_DIR");
    return env && *env ? env : THAW_PLOTS_DIR;
}

/* ---- small helpers --------------------------------------------------------- */

/* A growing string for the gnuplot -e assignments. */
struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->s && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->oom = true;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
}

/* Appends s as the inside of a gnuplot double-quoted string. */
static void sb_gp_escaped(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_printf(b, "\\%c", *s);
        else if (*s == '\n')
            sb_printf(b, "\\n");
        else if ((unsigned char)*s < 0x20)
            sb_printf(b, " ");
        else
            sb_printf(b, "%c", *s);
    }
}

static void gp_str(struct sbuf *b, const char *name, const char *value)
{
    sb_printf(b, "%s=\"", name);
    sb_gp_escaped(b, value);
    sb_printf(b, "\"; ");
}

static void gp_num(struct sbuf *b, const char *name, double v)
{
    sb_printf(b, "%s=%.17g; ", name, isfinite(v) ? v : 0.0);
}

/* A word list for gnuplot's word()/words(): each name quoted. A quote or
 * backslash inside a name would end its word early, so they become '_'. */
static void gp_words(struct sbuf *b, const char *name, char *const *items, size_t n)
{
    sb_printf(b, "%s=\"", name);
    for (size_t i = 0; i < n; i++) {
        sb_printf(b, "%s\\\"", i ? " " : "");
        for (const char *s = items[i]; *s; s++)
            sb_printf(b, "%c", (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) ? '_' : *s);
        sb_printf(b, "\\\"");
    }
    sb_printf(b, "\"; ");
}

/* A data-file string column: quoted, quotes replaced. */
static void fput_name(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        fputc(*s == '"' || (unsigned char)*s < 0x20 ? '_' : *s, f);
    fputc('"', f);
}

/* A list of owned strings, kept in insertion order (order of first
 * appearance decides colours, so it never depends on hashing). */
struct names {
    char **v;
    size_t n;
};

static void names_free(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static long names_find(const struct names *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s)) return (long)i;
    return -1;
}

/* Appends s (even when already there); its index, -1 when out of memory. */
static long names_push(struct names *l, const char *s)
{
    char *copy = strdup(s);
    char **grown = realloc(l->v, (l->n + 1) * sizeof *grown);
    if (!copy || !grown) {
        free(copy);
        if (grown) l->v = grown;
        return -1;
    }
    l->v = grown;
    l->v[l->n] = copy;
    return (long)l->n++;
}

/* Index of s, appended when new; -1 when out of memory. */
static long names_intern(struct names *l, const char *s)
{
    long i = names_find(l, s);
    return i >= 0 ? i : names_push(l, s);
}

static int db_fail(sqlite3 *db, struct thaw_err *err, const char *what)
{
    return thaw_err_set(err, THAW_EIO, "plot: %s: %s", what, sqlite3_errmsg(db));
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct thaw_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) return db_fail(db, err, "query");
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static FILE *open_data(struct cli_plot_job *job, const char *name, struct thaw_err *err)
{
    if (job->file_count == CLI_PLOT_MAX_FILES) {
        thaw_err_set(err, THAW_ERANGE, "plot: too many data files");
        return NULL;
    }
    char *path = job->files[job->file_count];
    int n = snprintf(path, PATH_MAX, "%s/%s", job->dir, name);
    if (n < 0 || n >= PATH_MAX) {
        thaw_err_set(err, THAW_ERANGE, "plot: temporary path too long");
        return NULL;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        thaw_err_set(err, THAW_EIO, "plot: cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    job->rows[job->file_count] = 0;
    job->file_count++;
    return f;
}

static int close_data(FILE *f, const char *path, struct thaw_err *err)
{
    bool bad = ferror(f);
    if (fclose(f) != 0 || bad) return thaw_err_set(err, THAW_EIO, "plot: cannot write %s", path);
    return 0;
}

/* ---- runs ---------------------------------------------------------------- */

struct run_meta {
    int64_t id;
    char mode[8];
    char scenario[256];
    char sha[72];
    char policy[512];
    char params[512];
    char sweep[64];
    int64_t seed;
    double duration_s; /* NaN when unknown */
};

static int run_meta_load(sqlite3 *db, int64_t id, struct run_meta *m, struct thaw_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(db,
                     "SELECT mode, scenario, scenario_sha256, policy, params, "
                     "coalesce(sweep_id, ''), seed, duration_s FROM runs WHERE id = ?",
                     &st, err);
    if (rc < 0) return rc;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return thaw_err_set(err, THAW_ENOENT, "plot: no run %lld", (long long)id);
    }
    memset(m, 0, sizeof *m);
    m->id = id;
    snprintf(m->mode, sizeof m->mode, "%s", col_text(st, 0));
    snprintf(m->scenario, sizeof m->scenario, "%s", col_text(st, 1));
    snprintf(m->sha, sizeof m->sha, "%s", col_text(st, 2));
    snprintf(m->policy, sizeof m->policy, "%s", col_text(st, 3));
    snprintf(m->params, sizeof m->params, "%s", col_text(st, 4));
    snprintf(m->sweep, sizeof m->sweep, "%s", col_text(st, 5));
    m->seed = sqlite3_column_int64(st, 6);
    m->duration_s = col_real(st, 7);
    sqlite3_finalize(st);
    return 0;
}

/* A single integer from a query with one optional text parameter; *found
 * false when there is no row or the value is NULL. */
static int query_id(sqlite3 *db, const char *sql, const char *param, int64_t *out, bool *found,
                    struct thaw_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(db, sql, &st, err);
    if (rc < 0) return rc;
    if (param) sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    *found = false;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *out = sqlite3_column_int64(st, 0);
        *found = true;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return db_fail(db, err, "query");
    }
    sqlite3_finalize(st);
    return 0;
}

static int resolve_run(struct res_db *rdb, const char *sel, int64_t *id, struct thaw_err *err)
{
    if (sel) return res_resolve_run(rdb, sel, id, err);
    bool found;
    int rc = query_id(res_handle(rdb), "SELECT max(id) FROM runs", NULL, id, &found, err);
    if (rc == 0 && !found)
        rc = thaw_err_set(err, THAW_ENOENT, "plot: the database holds no run yet");
    return rc;
}

/* The time the run's chart ends: duration_s, or the latest time in its rows. */
static int run_end_s(sqlite3 *db, const struct run_meta *m, double *end, struct thaw_err *err)
{
    sqlite3_stmt *st;
    int rc =
        prepare(db,
                "SELECT max(coalesce((SELECT max(max(enqueued, started, coalesce(finished, 0))) "
                "FROM loads WHERE run = ?1), 0), "
                "coalesce((SELECT max(t) FROM instance_events WHERE run = ?1), 0), "
                "coalesce((SELECT max(max(t, coalesce(recovered, 0))) FROM faults "
                "WHERE run = ?1), 0))",
                &st, err);
    if (rc < 0) return rc;
    sqlite3_bind_int64(st, 1, m->id);
    double latest = 0;
    if (sqlite3_step(st) == SQLITE_ROW) latest = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    *end = isfinite(m->duration_s) && m->duration_s > latest ? m->duration_s : latest;
    if (*end <= 0) *end = 1;
    return 0;
}

/* GPUs of a run: from the gpus table, or, when a run has none there, from
 * the GPUs its loads and instances name. */
struct gpu_list {
    struct names names;
    struct names nodes; /* the node of each GPU row, for node faults */
    double *vram_gib;
    int *flat; /* flat index as stored in loads.gpu / instance_events.gpu */
};

static void gpu_list_free(struct gpu_list *g)
{
    names_free(&g->names);
    names_free(&g->nodes);
    free(g->vram_gib);
    free(g->flat);
    memset(g, 0, sizeof *g);
}

static long gpu_row(const struct gpu_list *g, int flat)
{
    for (size_t i = 0; i < g->names.n; i++)
        if (g->flat[i] == flat) return (long)i;
    return -1;
}

static int gpu_list_load(sqlite3 *db, int64_t run, struct gpu_list *g, struct thaw_err *err)
{
    memset(g, 0, sizeof *g);
    sqlite3_stmt *st;
    int rc = prepare(db,
                     "SELECT gpu, name, node, vram FROM gpus WHERE run = ?1 UNION ALL "
                     "SELECT gpu, min(gpu_name), min(node), 0 FROM loads WHERE run = ?1 AND NOT "
                     "EXISTS (SELECT 1 FROM gpus WHERE run = ?1) GROUP BY gpu UNION ALL "
                     "SELECT gpu, 'gpu' || gpu, '', 0 FROM instance_events WHERE run = ?1 AND NOT "
                     "EXISTS (SELECT 1 FROM gpus WHERE run = ?1) AND gpu NOT IN (SELECT gpu FROM "
                     "loads WHERE run = ?1) GROUP BY gpu ORDER BY 1",
                     &st, err);
    if (rc < 0) return rc;
    sqlite3_bind_int64(st, 1, run);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t n = g->names.n;
        char name[96];
        snprintf(name, sizeof name, "%s", col_text(st, 1));
        if (names_find(&g->names, name) >= 0)
            snprintf(name, sizeof name, "gpu%d", sqlite3_column_int(st, 0));
        double *v = realloc(g->vram_gib, (n + 1) * sizeof *v);
        if (v) g->vram_gib = v;
        int *f = realloc(g->flat, (n + 1) * sizeof *f);
        if (f) g->flat = f;
        if (!v || !f || names_intern(&g->names, name) < 0 ||
            (g->nodes.n < g->names.n && names_push(&g->nodes, col_text(st, 2)) < 0)) {
            sqlite3_finalize(st);
            gpu_list_free(g);
            return thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        }
        g->vram_gib[n] = sqlite3_column_double(st, 3) / 1073741824.0;
        g->flat[n] = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        gpu_list_free(g);
        return db_fail(db, err, "gpus");
    }
    return 0;
}

/* What the timeline and the vram chart both start from: the run's end and
 * its GPUs, at least one (THAW_ENOENT otherwise; nothing to free then). */
static int run_gpus_load(sqlite3 *db, const struct run_meta *m, double *end, struct gpu_list *g,
                         struct thaw_err *err)
{
    int rc = run_end_s(db, m, end, err);
    if (rc < 0) return rc;
    if ((rc = gpu_list_load(db, m->id, g, err)) < 0) return rc;
    if (g->names.n == 0) {
        gpu_list_free(g);
        return thaw_err_set(err, THAW_ENOENT, "plot: run %lld has no GPUs to draw",
                            (long long)m->id);
    }
    return 0;
}

/* ---- titles from what differs between runs ---------------------------------- */

/* Items "key=value" of a run for labels: mode, the policy's components, the
 * sweep parameters (except the policy, already there), and the seed. */
static void run_items(const struct run_meta *m, bool with_seed, struct names *items)
{
    char buf[640];
    snprintf(buf, sizeof buf, "mode=%s", m->mode);
    names_intern(items, buf);
    char pol[512];
    snprintf(pol, sizeof pol, "%s", m->policy);
    for (char *save = NULL, *tok = strtok_r(pol, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        names_intern(items, tok);
    char par[512];
    snprintf(par, sizeof par, "%s", m->params);
    for (char *save = NULL, *tok = strtok_r(par, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        if (strncmp(tok, "policy=", 7)) {
            names_intern(items, tok);
            continue;
        }
        /* A sweep's --policy SPEC may set more than runs.policy shows
         * (max_loads_per_node, say): its settings are items too. */
        for (char *s2 = NULL, *t = strtok_r(tok + 7, ",", &s2); t; t = strtok_r(NULL, ",", &s2))
            names_intern(items, t);
    }
    if (with_seed) {
        snprintf(buf, sizeof buf, "seed=%lld", (long long)m->seed);
        names_intern(items, buf);
    }
}

/* Appends to out the items of `mine` that are not shared by every list in
 * all[0..n-1] (a key missing from a list counts as different). */
static void differing(const struct names *mine, const struct names *all, size_t n, char *out,
                      size_t len)
{
    size_t used = strlen(out);
    for (size_t i = 0; i < mine->n; i++) {
        bool common = true;
        for (size_t r = 0; r < n && common; r++)
            common = names_find(&all[r], mine->v[i]) >= 0;
        if (common) continue;
        int w = snprintf(out + used, len - used, "%s%s", used ? ", " : "", mine->v[i]);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

/* ---- timeline ------------------------------------------------------------ */

/* The scenario entry a model comes from: its name less a "-DIGITS" suffix. */
static void entry_name(const char *model, char *name, size_t len)
{
    snprintf(name, len, "%s", model);
    size_t n = strlen(name), d = n;
    while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
        d--;
    if (d > 1 && d < n && name[d - 1] == '-') name[d - 1] = '\0';
}

/* Colours for many models: a scenario entry with `count: N` becomes models
 * NAME-0 .. NAME-(N-1). With more than twelve models (more than there are
 * colours) and fewer entries than models, colour by entry - the name
 * without its "-DIGITS" suffix - so the legend names groups that can be
 * told apart. colour[i] is model i's index into legend. */
static int colour_groups(const struct names *models, struct names *legend, long *colour)
{
    bool group = false;
    if (models->n > 12) {
        struct names g = {0};
        for (size_t i = 0; i < models->n; i++) {
            char name[256];
            entry_name(models->v[i], name, sizeof name);
            if (names_intern(&g, name) < 0) {
                names_free(&g);
                return THAW_ENOMEM;
            }
        }
        group = g.n < models->n;
        names_free(&g);
    }
    for (size_t i = 0; i < models->n; i++) {
        char name[256];
        if (group)
            entry_name(models->v[i], name, sizeof name);
        else
            snprintf(name, sizeof name, "%s", models->v[i]);
        colour[i] = names_intern(legend, name);
        if (colour[i] < 0) return THAW_ENOMEM;
    }
    return 0;
}

struct inst {
    int64_t id;
    long model;
    long row;        /* GPU row */
    double from, to; /* the instance's life on the chart, for lanes */
    int lane;
};

struct span {
    size_t inst; /* index into tl.in */
    double t0, t1;
    int kind; /* 0 queued, 1 loading, 2 ready */
};

/* Instances in order of first appearance, found by id through an
 * open-addressing table (a large run has tens of thousands); the table only
 * finds, it never decides an order. */
struct tl {
    struct inst *in;
    size_t nin, cap_in;
    size_t *slot; /* index + 1 into in, 0 = empty; size mask + 1 */
    size_t mask;
    struct span *sp;
    size_t nsp, cap_sp;
    bool oom;
};

static size_t tl_hash(int64_t id, size_t mask)
{
    return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 17) & mask;
}

static bool tl_grow_table(struct tl *t)
{
    size_t size = t->slot ? 2 * (t->mask + 1) : 1024;
    size_t *slot = calloc(size, sizeof *slot);
    if (!slot) return false;
    for (size_t i = 0; i < t->nin; i++) {
        size_t h = tl_hash(t->in[i].id, size - 1);
        while (slot[h])
            h = (h + 1) & (size - 1);
        slot[h] = i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->mask = size - 1;
    return true;
}

/* Index of the instance with this id, added when new; -1 on OOM. */
static long tl_inst(struct tl *t, int64_t id, long model, long row)
{
    if ((!t->slot || 2 * (t->nin + 1) > t->mask + 1) && !tl_grow_table(t)) {
        t->oom = true;
        return -1;
    }
    size_t h = tl_hash(id, t->mask);
    for (; t->slot[h]; h = (h + 1) & t->mask)
        if (t->in[t->slot[h] - 1].id == id) return (long)(t->slot[h] - 1);
    if (t->nin == t->cap_in) {
        size_t cap = t->cap_in ? 2 * t->cap_in : 256;
        struct inst *grown = realloc(t->in, cap * sizeof *grown);
        if (!grown) {
            t->oom = true;
            return -1;
        }
        t->in = grown;
        t->cap_in = cap;
    }
    t->in[t->nin] = (struct inst){id, model, row, INFINITY, -INFINITY, 0};
    t->slot[h] = ++t->nin;
    return (long)(t->nin - 1);
}

static void tl_span(struct tl *t, long inst, double t0, double t1, int kind)
{
    if (inst < 0) return;
    if (!(t1 >= t0)) t1 = t0;
    if (t->nsp == t->cap_sp) {
        size_t cap = t->cap_sp ? 2 * t->cap_sp : 256;
        struct span *grown = realloc(t->sp, cap * sizeof *grown);
        if (!grown) {
            t->oom = true;
            return;
        }
        t->sp = grown;
        t->cap_sp = cap;
    }
    t->sp[t->nsp++] = (struct span){(size_t)inst, t0, t1, kind};
    struct inst *in = &t->in[inst];
    if (t0 < in->from) in->from = t0;
    if (t1 > in->to) in->to = t1;
}

/* Lane order: by GPU row, then start, then id (qsort_r over indices). */
static int cmp_inst_lane(const void *pa, const void *pb, void *ctx)
{
    const struct inst *in = ctx;
    const struct inst *x = &in[*(const size_t *)pa], *y = &in[*(const size_t *)pb];
    if (x->row != y->row) return x->row < y->row ? -1 : 1;
    if (x->from != y->from) return x->from < y->from ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The earliest time after `after` at which the instance left (EVICTED or
 * FAILED), or NaN. */
static double inst_end_after(sqlite3_stmt *ends, int64_t run, int64_t inst, double after)
{
    sqlite3_reset(ends);
    sqlite3_bind_int64(ends, 1, run);
    sqlite3_bind_int64(ends, 2, inst);
    sqlite3_bind_double(ends, 3, after);
    double t = NAN;
    if (sqlite3_step(ends) == SQLITE_ROW) t = col_real(ends, 0);
    return t;
}

static int prepare_timeline(sqlite3 *db, const struct run_meta *m, struct cli_plot_job *job,
                            struct sbuf *sb, struct thaw_err *err)
{
    struct gpu_list gpus;
    struct names models = {0}, legend = {0};
    long *colour = NULL;
    struct tl t = {0};
    sqlite3_stmt *st = NULL, *ends = NULL;
    FILE *f = NULL;
    double end;
    int rc = run_gpus_load(db, m, &end, &gpus, err);
    if (rc < 0) return rc;
    if ((rc = prepare(db,
                      "SELECT min(t) FROM instance_events WHERE run = ?1 AND instance = ?2 AND "
                      "t >= ?3 AND state IN ('EVICTED', 'FAILED')",
                      &ends, err)) < 0)
        goto out;
    double last_done = -1;
    /* Loads: a queued span (enqueued -> started) and a loading span
     * (started -> finished; a load that never finished ends when its
     * instance left, or at the end of the run). */
    if ((rc =
             prepare(db,
                     "SELECT instance, model, gpu, enqueued, started, finished, outcome FROM loads "
                     "WHERE run = ? ORDER BY enqueued, load_id",
                     &st, err)) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, m->id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        long model = names_intern(&models, col_text(st, 1));
        long row = gpu_row(&gpus, sqlite3_column_int(st, 2));
        if (model < 0) t.oom = true;
        if (row < 0 || model < 0) continue;
        double enq = sqlite3_column_double(st, 3), start = sqlite3_column_double(st, 4);
        double fin = col_real(st, 5);
        /* the "last load done" mark: the latest load that finished ok */
        if (!isnan(fin) && !strcmp(col_text(st, 6), "ok") && fin > last_done) last_done = fin;
        if (isnan(fin)) fin = inst_end_after(ends, m->id, id, start);
        if (isnan(fin)) fin = end;
        long idx = tl_inst(&t, id, model, row);
        if (idx < 0) break;
        if (start > enq) tl_span(&t, idx, enq, start, 0);
        tl_span(&t, idx, start, fin, 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Ready spans: READY -> the next EVICTED or FAILED, or the end. */
    if ((rc = prepare(db,
                      "SELECT instance, model, gpu, state, t FROM instance_events WHERE run = ? "
                      "ORDER BY instance, t, rowid",
                      &st, err)) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, m->id);
    int64_t cur = -1;
    long cur_idx = -1;
    double ready_from = NAN;
    bool have_cur = false;
    for (;;) {
        int step = sqlite3_step(st);
        int64_t id = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        if (have_cur && (step != SQLITE_ROW || id != cur) && !isnan(ready_from)) {
            tl_span(&t, cur_idx, ready_from, end, 2);
            ready_from = NAN;
        }
        if (step != SQLITE_ROW) break;
        const char *state = col_text(st, 3);
        double at = sqlite3_column_double(st, 4);
        long model = names_intern(&models, col_text(st, 1));
        long row = gpu_row(&gpus, sqlite3_column_int(st, 2));
        cur = id;
        have_cur = true;
        cur_idx = row < 0 || model < 0 ? -1 : tl_inst(&t, id, model, row);
        if (cur_idx < 0) continue;
        if (!strcmp(state, "READY") && isnan(ready_from)) {
            ready_from = at;
        } else if ((!strcmp(state, "EVICTED") || !strcmp(state, "FAILED")) && !isnan(ready_from)) {
            tl_span(&t, cur_idx, ready_from, at, 2);
            ready_from = NAN;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (t.oom) {
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    if (t.nsp == 0) {
        rc = thaw_err_set(err, THAW_ENOENT, "plot: run %lld has no loads or instances to draw",
                          (long long)m->id);
        goto out;
    }

    /* Lanes: within a GPU row, instances whose lives overlap get separate
     * lanes (greedy interval colouring in order of start). */
    size_t *order = malloc((t.nin + 1) * sizeof *order);
    int *lanes_of_row = calloc(gpus.names.n, sizeof *lanes_of_row);
    double *lane_end = calloc(t.nin + 1, sizeof *lane_end);
    if (!order || !lanes_of_row || !lane_end) {
        free(order);
        free(lanes_of_row);
        free(lane_end);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    for (size_t i = 0; i < t.nin; i++)
        order[i] = i;
    qsort_r(order, t.nin, sizeof *order, cmp_inst_lane, t.in);
    for (size_t i = 0; i < t.nin;) {
        size_t j = i;
        int used = 0;
        for (; j < t.nin && t.in[order[j]].row == t.in[order[i]].row; j++) {
            struct inst *in = &t.in[order[j]];
            int lane = 0;
            while (lane < used && lane_end[lane] > in->from + 1e-9)
                lane++;
            if (lane == used) used++;
            lane_end[lane] = in->to;
            in->lane = lane;
        }
        lanes_of_row[t.in[order[i]].row] = used;
        i = j;
    }
    free(lane_end);
    free(order);

    f = open_data(job, "spans.dat", err);
    if (!f) {
        free(lanes_of_row);
        rc = err->code;
        goto out;
    }
    fprintf(f, "# y_center t_start_s t_end_s y_half colour_index kind(0 queued,1 loading,2 ready)"
               " model\n");
    colour = calloc(models.n ? models.n : 1, sizeof *colour);
    if (!colour || colour_groups(&models, &legend, colour) < 0) {
        free(lanes_of_row);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    for (size_t s = 0; s < t.nsp; s++) {
        const struct inst *in = &t.in[t.sp[s].inst];
        int nl = lanes_of_row[in->row] ? lanes_of_row[in->row] : 1;
        double pad = 0.08, lane_h = (1 - 2 * pad) / nl;
        double yc = (double)in->row + pad + (in->lane + 0.5) * lane_h;
        fprintf(f, "%.6f %.9g %.9g %.6f %ld %d ", yc, t.sp[s].t0, t.sp[s].t1, 0.45 * lane_h,
                colour[in->model], t.sp[s].kind);
        fput_name(f, models.v[in->model]);
        fputc('\n', f);
        job->rows[job->file_count - 1]++;
    }
    free(lanes_of_row);
    rc = close_data(f, job->files[job->file_count - 1], err);
    f = NULL;
    if (rc < 0) goto out;

    /* Faults: a mark across each affected GPU row (a node fault marks every
     * GPU of the node); a recovery as a second, dashed mark. */
    f = open_data(job, "faults.dat", err);
    if (!f) {
        rc = err->code;
        goto out;
    }
    fprintf(f, "# t_s y_top y_bottom kind(0 fault,1 recovered) target\n");
    if ((rc = prepare(db, "SELECT kind, target, t, recovered FROM faults WHERE run = ? ORDER BY t",
                      &st, err)) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, m->id);
    size_t nfaults = 0, nrecovered = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        bool node = !strcmp(col_text(st, 0), "node");
        const char *target = col_text(st, 1);
        for (size_t r = 0; r < gpus.names.n; r++) {
            if (node ? strcmp(gpus.nodes.v[r], target) : strcmp(gpus.names.v[r], target)) continue;
            double when[2] = {sqlite3_column_double(st, 2), col_real(st, 3)};
            for (int k = 0; k < 2; k++) {
                if (isnan(when[k])) continue;
                fprintf(f, "%.9g %zu %zu %d ", when[k], r, r + 1, k);
                fput_name(f, target);
                fputc('\n', f);
                job->rows[job->file_count - 1]++;
                if (k)
                    nrecovered++;
                else
                    nfaults++;
            }
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = close_data(f, job->files[job->file_count - 1], err);
    f = NULL;
    if (rc < 0) goto out;

    char title[1400];
    snprintf(title, sizeof title,
             "Cold-start timeline: run %lld (%s, %s, seed %lld)\npolicy: %s%s%s", (long long)m->id,
             m->mode, m->scenario, (long long)m->seed, m->policy, m->params[0] ? "   point: " : "",
             m->params);
    gp_str(sb, "spans", job->files[0]);
    gp_str(sb, "faults", job->files[1]);
    gp_num(sb, "nfaults", (double)nfaults);
    gp_num(sb, "nrecovered", (double)nrecovered);
    gp_words(sb, "gpus", gpus.names.v, gpus.names.n);
    gp_words(sb, "models", legend.v, legend.n);
    gp_num(sb, "tmax", end);
    gp_num(sb, "tdone", last_done);
    gp_str(sb, "title", title);
    job->series = legend.n;
    rc = 0;
out:
    if (f) fclose(f);
    sqlite3_finalize(st);
    sqlite3_finalize(ends);
    free(t.in);
    free(t.slot);
    free(t.sp);
    free(colour);
    names_free(&legend);
    names_free(&models);
    gpu_list_free(&gpus);
    return rc;
}

/* ---- vram ------------------------------------------------------------------ */

static int prepare_vram(sqlite3 *db, const struct run_meta *m, struct cli_plot_job *job,
                        struct sbuf *sb, struct thaw_err *err)
{
    struct gpu_list gpus;
    double end;
    int rc = run_gpus_load(db, m, &end, &gpus, err);
    if (rc < 0) return rc;
    /* Each instance holds its vram from its first LOADING or READY event to
     * its first EVICTED or FAILED one (the rule of vram_util_mean in
     * results/metrics.c). A zero vram column falls back to the load's. */
    sqlite3_stmt *st;
    rc = prepare(db,
                 "SELECT e.gpu, e.t, e.state, e.instance, CASE WHEN e.vram > 0 THEN e.vram ELSE "
                 "coalesce((SELECT max(l.vram) FROM loads l WHERE l.run = e.run AND l.instance = "
                 "e.instance), 0) END FROM instance_events e WHERE e.run = ? "
                 "ORDER BY e.gpu, e.t, e.rowid",
                 &st, err);
    if (rc < 0) {
        gpu_list_free(&gpus);
        return rc;
    }
    sqlite3_bind_int64(st, 1, m->id);
    FILE *f = open_data(job, "vram.dat", err);
    if (!f) {
        sqlite3_finalize(st);
        gpu_list_free(&gpus);
        return err->code;
    }
    fprintf(f, "# one block per GPU, in the order of the gpus list\n# t_s reserved_GiB\n");
    /* Instances that hold VRAM now, per GPU: ids and amounts. */
    int64_t *held_id = NULL;
    double *held_gib = NULL;
    size_t nheld = 0, cap = 0;
    int step = sqlite3_step(st);
    bool oom = false;
    for (size_t r = 0; r < gpus.names.n; r++) {
        double level = 0;
        nheld = 0;
        fprintf(f, "%s# %s\n0 0\n", r ? "\n\n" : "", gpus.names.v[r]);
        job->rows[0]++;
        while (step == SQLITE_ROW && gpu_row(&gpus, sqlite3_column_int(st, 0)) < (long)r) {
            step = sqlite3_step(st); /* GPUs missing from the list: skip */
        }
        while (step == SQLITE_ROW && gpu_row(&gpus, sqlite3_column_int(st, 0)) == (long)r) {
            double at = sqlite3_column_double(st, 1);
            const char *state = col_text(st, 2);
            int64_t id = sqlite3_column_int64(st, 3);
            double gib = sqlite3_column_double(st, 4) / 1073741824.0;
            size_t h = 0;
            while (h < nheld && held_id[h] != id)
                h++;
            bool holds = h < nheld;
            bool take = !holds && (!strcmp(state, "LOADING") || !strcmp(state, "READY"));
            bool give = holds && (!strcmp(state, "EVICTED") || !strcmp(state, "FAILED"));
            if (take) {
                if (nheld == cap) {
                    size_t nc = cap ? 2 * cap : 16;
                    int64_t *gi = realloc(held_id, nc * sizeof *gi);
                    if (gi) held_id = gi;
                    double *gg = realloc(held_gib, nc * sizeof *gg);
                    if (gg) held_gib = gg;
                    if (!gi || !gg) {
                        oom = true;
                        break;
                    }
                    cap = nc;
                }
                held_id[nheld] = id;
                held_gib[nheld++] = gib;
                level += gib;
            } else if (give) {
                level -= held_gib[h];
                held_id[h] = held_id[nheld - 1];
                held_gib[h] = held_gib[nheld - 1];
                nheld--;
            }
            if ((take || give) && at >= 0) {
                if (level < 1e-9) level = 0;
                fprintf(f, "%.9g %.6f\n", at, level);
                job->rows[0]++;
            }
            step = sqlite3_step(st);
        }
        fprintf(f, "%.9g %.6f\n", end, level);
        job->rows[0]++;
    }
    sqlite3_finalize(st);
    free(held_id);
    free(held_gib);
    rc = close_data(f, job->files[0], err);
    if (oom) rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    if (rc == 0) {
        char caps[4096] = "";
        size_t used = 0;
        for (size_t r = 0; r < gpus.names.n && used < sizeof caps - 32; r++)
            used += (size_t)snprintf(caps + used, sizeof caps - used, "%s%.3f", r ? " " : "",
                                     gpus.vram_gib[r]);
        char title[1200];
        snprintf(title, sizeof title,
                 "VRAM reserved per GPU: run %lld (%s, %s, seed %lld)\npolicy: %s",
                 (long long)m->id, m->mode, m->scenario, (long long)m->seed, m->policy);
        gp_str(sb, "datafile", job->files[0]);
        gp_words(sb, "gpus", gpus.names.v, gpus.names.n);
        gp_str(sb, "caps", caps);
        gp_num(sb, "tmax", end);
        gp_str(sb, "title", title);
        job->series = gpus.names.n;
    }
    gpu_list_free(&gpus);
    return rc;
}

/* ---- cdf ------------------------------------------------------------------- */

struct series {
    int64_t *runs;
    size_t nruns;
    struct names items; /* labels: what this series is */
    char key[1100];     /* grouping key for sweep series */
};

static void series_free(struct series *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].runs);
        names_free(&s[i].items);
    }
    free(s);
}

static int series_add_run(struct series *s, int64_t run)
{
    int64_t *grown = realloc(s->runs, (s->nruns + 1) * sizeof *grown);
    if (!grown) return THAW_ENOMEM;
    s->runs = grown;
    s->runs[s->nruns++] = run;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Builds the series of a cdf: a RUN selector is one run; otherwise a sweep
 * id gives one series per (mode, policy, params) point of the sweep. */
static int cdf_series(struct res_db *rdb, const struct cli_plot_request *req, struct series **out,
                      size_t *nout, struct thaw_err *err)
{
    sqlite3 *db = res_handle(rdb);
    struct series *s = NULL;
    size_t n = 0;
    int rc = 0;
    int nsel = req->sel_count ? req->sel_count : 1;
    for (int a = 0; a < nsel && rc == 0; a++) {
        const char *sel = req->sel_count ? req->sel[a] : NULL;
        int64_t run;
        struct thaw_err run_err = {0};
        bool is_sweep = false;
        if (sel) {
            bool found;
            int64_t dummy;
            rc = query_id(db, "SELECT min(id) FROM runs WHERE sweep_id = ?1", sel, &dummy, &found,
                          err);
            if (rc < 0) break;
            is_sweep = found;
        }
        if (!is_sweep) {
            if ((rc = resolve_run(rdb, sel, &run, &run_err)) < 0) {
                rc = thaw_err_set(err, rc, "%s (nor a sweep id)", run_err.msg);
                break;
            }
            struct run_meta m;
            struct series *grown = realloc(s, (n + 1) * sizeof *grown);
            if (!grown) {
                rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
                break;
            }
            s = grown;
            memset(&s[n], 0, sizeof s[n]);
            n++;
            if ((rc = run_meta_load(db, run, &m, err)) < 0) break;
            run_items(&m, true, &s[n - 1].items);
            if (series_add_run(&s[n - 1], run) < 0)
                rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
            continue;
        }
        sqlite3_stmt *st;
        if ((rc = prepare(db, "SELECT id FROM runs WHERE sweep_id = ? ORDER BY id", &st, err)) < 0)
            break;
        sqlite3_bind_text(st, 1, sel, -1, SQLITE_TRANSIENT);
        while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
            struct run_meta m;
            if ((rc = run_meta_load(db, sqlite3_column_int64(st, 0), &m, err)) < 0) break;
            char key[1100];
            snprintf(key, sizeof key, "%s|%s|%s|%s", sel, m.mode, m.policy, m.params);
            size_t k = 0;
            while (k < n && strcmp(s[k].key, key))
                k++;
            if (k == n) {
                struct series *grown = realloc(s, (n + 1) * sizeof *grown);
                if (!grown) {
                    rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
                    break;
                }
                s = grown;
                memset(&s[n], 0, sizeof s[n]);
                snprintf(s[n].key, sizeof s[n].key, "%s", key);
                run_items(&m, false, &s[n].items);
                n++;
            }
            if (series_add_run(&s[k], m.id) < 0)
                rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        }
        sqlite3_finalize(st);
    }
    if (rc < 0) {
        series_free(s, n);
        return rc;
    }
    *out = s;
    *nout = n;
    return 0;
}

static int prepare_cdf(struct res_db *rdb, const struct cli_plot_request *req,
                       struct cli_plot_job *job, struct sbuf *sb, struct thaw_err *err)
{
    sqlite3 *db = res_handle(rdb);
    struct series *s = NULL;
    size_t n = 0;
    int rc = cdf_series(rdb, req, &s, &n, err);
    if (rc < 0) return rc;
    struct names items_all[64];
    size_t nitems = n < 64 ? n : 64;
    for (size_t i = 0; i < nitems; i++)
        items_all[i] = s[i].items;
    struct names titles = {0};
    sqlite3_stmt *st = NULL;
    double *lat = NULL;
    size_t cap = 0, plotted = 0;
    FILE *f = open_data(job, "cdf.dat", err);
    if (!f) {
        series_free(s, n);
        return err->code;
    }
    fprintf(f, "# one block per line, in the order of the titles\n"
               "# latency_s fraction_of_cold_starts_at_or_below\n");
    if ((rc = prepare(db,
                      "SELECT finished - enqueued FROM loads WHERE run = ? AND outcome = 'ok' AND "
                      "finished IS NOT NULL AND reason IN ('demand', 'failover')",
                      &st, err)) < 0)
        goto out;
    char skipped[256] = "";
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        for (size_t r = 0; r < s[i].nruns; r++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, s[i].runs[r]);
            while (sqlite3_step(st) == SQLITE_ROW) {
                if (count == cap) {
                    size_t nc = cap ? 2 * cap : 256;
                    double *g = realloc(lat, nc * sizeof *g);
                    if (!g) {
                        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
                        goto out;
                    }
                    lat = g;
                    cap = nc;
                }
                lat[count++] = sqlite3_column_double(st, 0);
            }
        }
        if (count == 0) {
            size_t used = strlen(skipped);
            snprintf(skipped + used, sizeof skipped - used, "%s%lld%s", used ? ", " : "",
                     (long long)s[i].runs[0], s[i].nruns > 1 ? "..." : "");
            continue;
        }
        qsort(lat, count, sizeof *lat, cmp_double);
        /* The step starts at (0, 0) and rises by 1/count at each latency. */
        fprintf(f, "%s0 0\n", plotted ? "\n\n" : "");
        job->rows[0]++;
        for (size_t k = 0; k < count; k++) {
            fprintf(f, "%.9g %.9g\n", lat[k], (double)(k + 1) / (double)count);
            job->rows[0]++;
        }
        char label[1400];
        if (s[i].nruns == 1)
            snprintf(label, sizeof label, "run %lld", (long long)s[i].runs[0]);
        else
            snprintf(label, sizeof label, "%zu runs", s[i].nruns);
        size_t used = strlen(label);
        char diff[1200] = "";
        if (i < nitems) differing(&s[i].items, items_all, nitems, diff, sizeof diff);
        snprintf(label + used, sizeof label - used, "%s%s (n=%zu)", diff[0] ? ": " : "", diff,
                 count);
        /* Two identical labels would be one entry of the list: number them. */
        if (names_find(&titles, label) >= 0) {
            used = strlen(label);
            snprintf(label + used, sizeof label - used, " #%zu", plotted + 1);
        }
        if (names_intern(&titles, label) < 0) {
            rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
            goto out;
        }
        plotted++;
    }
    if (plotted == 0) {
        rc = thaw_err_set(err, THAW_ENOENT,
                          "plot: no cold starts to draw (no load with reason demand or failover "
                          "finished in run %s)",
                          skipped);
        goto out;
    }
    rc = close_data(f, job->files[0], err);
    f = NULL;
    if (rc < 0) goto out;
    /* The common part of every line goes into the title. */
    char common[1200] = "";
    for (size_t k = 0; k < s[0].items.n; k++) {
        bool shared = true;
        for (size_t i = 1; i < nitems && shared; i++)
            shared = names_find(&s[i].items, s[0].items.v[k]) >= 0;
        if (!shared) continue;
        size_t used = strlen(common);
        snprintf(common + used, sizeof common - used, "%s%s", used ? ", " : "", s[0].items.v[k]);
    }
    struct run_meta m0;
    if ((rc = run_meta_load(db, s[0].runs[0], &m0, err)) < 0) goto out;
    char title[1800];
    snprintf(title, sizeof title, "Cold-start latency (loads for a demand or a failover): %s%s%s%s",
             m0.scenario, common[0] ? "\n" : "", common,
             skipped[0] ? "\n(runs without cold starts left out: " : "");
    if (skipped[0]) {
        size_t used = strlen(title);
        snprintf(title + used, sizeof title - used, "%s)", skipped);
    }
    gp_str(sb, "datafile", job->files[0]);
    gp_words(sb, "titles", titles.v, titles.n);
    gp_str(sb, "title", title);
    job->series = plotted;
out:
    if (f) fclose(f);
    sqlite3_finalize(st);
    free(lat);
    names_free(&titles);
    series_free(s, n);
    return rc;
}

/* ---- sweep ------------------------------------------------------------------ */

/* The value of key in "k=v;k=v" params into out; false when absent. */
static bool param_value(const char *params, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    for (const char *p = params; *p;) {
        size_t n = strcspn(p, ";");
        if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            snprintf(out, len, "%.*s", (int)(n - kl - 1), p + kl + 1);
            return true;
        }
        p += n;
        if (*p) p++;
    }
    return false;
}

/* params without the item of key (for grouping the lines). */
static void params_without(const char *params, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key), used = 0;
    out[0] = '\0';
    for (const char *p = params; *p;) {
        size_t n = strcspn(p, ";");
        if (!(n > kl && !strncmp(p, key, kl) && p[kl] == '=')) {
            int w = snprintf(out + used, len - used, "%s%.*s", used ? ";" : "", (int)n, p);
            if (w > 0 && (size_t)w < len - used) used += (size_t)w;
        }
        p += n;
        if (*p) p++;
    }
}

struct sweep_row {
    int64_t run;
    long x;    /* index into the distinct x values */
    long line; /* index into the lines */
    double value;
};

static const char *metric_unit(const char *metric)
{
    size_t n = strlen(metric);
    if (n > 2 && !strcmp(metric + n - 2, "_s")) return "s";
    if (strstr(metric, "rate") || strstr(metric, "util")) return "fraction";
    return "";
}

static int prepare_sweep(struct res_db *rdb, const struct cli_plot_request *req,
                         struct cli_plot_job *job, struct sbuf *sb, struct thaw_err *err)
{
    sqlite3 *db = res_handle(rdb);
    const char *metric = req->metric ? req->metric : "cold_start_p99_s";
    if (res_metric_higher_is_better(metric) < 0)
        return thaw_err_set(err, THAW_EINVAL, "plot: \"%s\" is not a metric (see thaw report)",
                            metric);
    char sweep[128];
    int rc;
    if (req->sel_count) {
        snprintf(sweep, sizeof sweep, "%s", req->sel[0]);
    } else {
        sqlite3_stmt *st;
        if ((rc = prepare(db,
                          "SELECT sweep_id FROM runs WHERE sweep_id IS NOT NULL ORDER BY id "
                          "DESC LIMIT 1",
                          &st, err)) < 0)
            return rc;
        bool found = sqlite3_step(st) == SQLITE_ROW;
        if (found) snprintf(sweep, sizeof sweep, "%s", col_text(st, 0));
        sqlite3_finalize(st);
        if (!found) return thaw_err_set(err, THAW_ENOENT, "plot: the database holds no sweep yet");
    }
    snprintf(job->label, sizeof job->label, "%.*s", (int)sizeof job->label - 1, sweep);

    /* Every complete run of the sweep with its params and metric value. */
    struct names keys = {0}, xs = {0}, lines = {0}, line_policy = {0};
    struct sweep_row *rows = NULL;
    size_t nrows = 0;
    sqlite3_stmt *st = NULL;
    FILE *f = NULL;
    char scenario[256] = "";
    if ((rc = prepare(db,
                      "SELECT r.id, r.policy, r.params, m.value, r.scenario FROM runs r LEFT JOIN "
                      "metrics m ON m.run = r.id AND m.name = ?2 WHERE r.sweep_id = ?1 AND "
                      "r.status = 'complete' ORDER BY r.id",
                      &st, err)) < 0)
        return rc;
    sqlite3_bind_text(st, 1, sweep, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    /* First pass: the keys and their distinct values, to pick the x key. */
    struct names *values = NULL; /* distinct values per key */
    size_t nvalues = 0, total = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        total++;
        snprintf(scenario, sizeof scenario, "%s", col_text(st, 4));
        const char *p = col_text(st, 2);
        while (*p) {
            size_t n = strcspn(p, ";");
            size_t kl = strcspn(p, "=");
            if (kl < n) {
                char key[256], val[512];
                snprintf(key, sizeof key, "%.*s", (int)kl, p);
                snprintf(val, sizeof val, "%.*s", (int)(n - kl - 1), p + kl + 1);
                long k = names_intern(&keys, key);
                if (k >= 0 && (size_t)k >= nvalues) {
                    struct names *g = realloc(values, keys.n * sizeof *g);
                    if (g) {
                        values = g;
                        for (; nvalues < keys.n; nvalues++)
                            values[nvalues] = (struct names){0};
                    }
                }
                if (k < 0 || (size_t)k >= nvalues || names_intern(&values[k], val) < 0) {
                    rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
                    goto out;
                }
            }
            p += n;
            if (*p) p++;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = db_fail(db, err, "sweep runs");
        goto out;
    }
    if (total == 0) {
        rc = thaw_err_set(err, THAW_ENOENT, "plot: no complete run in sweep \"%s\"", sweep);
        goto out;
    }
    const char *xkey = req->param;
    if (xkey && names_find(&keys, xkey) < 0) {
        rc = thaw_err_set(err, THAW_ENOENT, "plot: sweep \"%s\" has no parameter \"%s\"", sweep,
                          xkey);
        goto out;
    }
    for (size_t k = 0; !xkey && k < keys.n; k++)
        if (strcmp(keys.v[k], "policy") && values[k].n > 1) xkey = keys.v[k];
    if (!xkey && names_find(&keys, "policy") >= 0) xkey = "policy";
    if (!xkey) {
        rc = thaw_err_set(err, THAW_ENOENT,
                          "plot: sweep \"%s\" varies no parameter (its runs differ by seed only)",
                          sweep);
        goto out;
    }

    /* Second pass: rows with their x and line. */
    sqlite3_reset(st);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char xv[512], rest[1200], key[1800];
        if (!param_value(col_text(st, 2), xkey, xv, sizeof xv)) continue;
        params_without(col_text(st, 2), xkey, rest, sizeof rest);
        /* A line per policy and per value of the other parameters; the
         * policy item of params duplicates runs.policy, so it is dropped. */
        char rest2[1200];
        params_without(rest, "policy", rest2, sizeof rest2);
        /* With the policy itself on the x axis, one line per value of the
         * other parameters. */
        bool x_is_policy = !strcmp(xkey, "policy");
        /* The policy as the sweep gave it (--policy SPEC) says more than
         * runs.policy, which lists only the main choices. */
        char pol[600];
        if (!param_value(col_text(st, 2), "policy", pol, sizeof pol))
            snprintf(pol, sizeof pol, "%s", col_text(st, 1));
        snprintf(key, sizeof key, "%s|%s", x_is_policy ? "" : pol, rest2);
        long line = names_intern(&lines, key);
        if (line >= 0 && (size_t)line == line_policy.n) {
            char label[1800];
            snprintf(label, sizeof label, "%s%s%s", x_is_policy ? "" : pol,
                     rest2[0] && !x_is_policy ? ";" : "", rest2);
            names_intern(&line_policy, label);
        }
        long x = names_intern(&xs, xv);
        struct sweep_row *g = realloc(rows, (nrows + 1) * sizeof *g);
        if (g) rows = g;
        if (!g || x < 0 || line < 0) {
            rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
            goto out;
        }
        rows = g;
        rows[nrows++] = (struct sweep_row){sqlite3_column_int64(st, 0), x, line, col_real(st, 3)};
    }
    sqlite3_finalize(st);
    st = NULL;

    /* x values: numeric when every value is a number with one common unit
     * suffix ("40GiB", "80GiB"); else categorical, in grid order. */
    bool numeric = xs.n > 0;
    char unit[64] = "";
    double *xnum = calloc(xs.n ? xs.n : 1, sizeof *xnum);
    if (!xnum) {
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    for (size_t i = 0; i < xs.n && numeric; i++) {
        char *end;
        xnum[i] = strtod(xs.v[i], &end);
        if (end == xs.v[i] || !isfinite(xnum[i]))
            numeric = false;
        else if (i == 0)
            snprintf(unit, sizeof unit, "%s", end);
        else if (strcmp(unit, end))
            numeric = false;
    }
    if (!numeric)
        for (size_t i = 0; i < xs.n; i++)
            xnum[i] = (double)i;
    double xmin = INFINITY, xmax = -INFINITY;
    for (size_t i = 0; i < xs.n; i++) {
        if (xnum[i] < xmin) xmin = xnum[i];
        if (xnum[i] > xmax) xmax = xnum[i];
    }
    double span = xmax > xmin ? xmax - xmin : 1;
    /* The x indices in increasing x (insertion sort: a sweep has few x). */
    size_t *xorder = malloc((xs.n ? xs.n : 1) * sizeof *xorder);
    if (!xorder) {
        free(xnum);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    for (size_t i = 0; i < xs.n; i++) {
        size_t j = i;
        for (; j > 0 && xnum[xorder[j - 1]] > xnum[i]; j--)
            xorder[j] = xorder[j - 1];
        xorder[j] = i;
    }

    /* Line labels: only the policy components and parameters that differ
     * between lines. */
    struct names *items = calloc(lines.n ? lines.n : 1, sizeof *items);
    struct names titles = {0};
    if (!items) {
        free(xnum);
        free(xorder);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    for (size_t l = 0; l < lines.n; l++) {
        char tmp[1800];
        snprintf(tmp, sizeof tmp, "%s", line_policy.v[l]);
        for (char *save = NULL, *tok = strtok_r(tmp, ",;", &save); tok;
             tok = strtok_r(NULL, ",;", &save))
            names_intern(&items[l], tok);
    }
    f = open_data(job, "sweep.dat", err);
    if (!f) {
        rc = err->code;
        goto sweep_out;
    }
    fprintf(f, "# one block per line, in the order of the titles\n"
               "# x_plotted mean ci95_low ci95_high seeds x_label\n");
    size_t min_seeds = SIZE_MAX, max_seeds = 0;
    double *vals = malloc((nrows ? nrows : 1) * sizeof *vals);
    if (!vals) {
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto sweep_out;
    }
    for (size_t l = 0; l < lines.n; l++) {
        if (l) fprintf(f, "\n\n");
        /* x in increasing order: sort the x indices by their number. */
        for (size_t pass = 0; pass < xs.n; pass++) {
            size_t xi = xorder[pass], k = 0;
            for (size_t r = 0; r < nrows; r++)
                if (rows[r].line == (long)l && rows[r].x == (long)xi && !isnan(rows[r].value))
                    vals[k++] = rows[r].value;
            if (k == 0) continue;
            double mean = 0, var = 0;
            for (size_t i = 0; i < k; i++)
                mean += vals[i];
            mean /= (double)k;
            for (size_t i = 0; i < k; i++)
                var += (vals[i] - mean) * (vals[i] - mean);
            double half = 0;
            if (k > 1) {
                var /= (double)(k - 1);
                half = gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) * sqrt(var / (double)k);
            }
            double dodge = lines.n > 1 ? ((double)l - (double)(lines.n - 1) / 2) : 0;
            double xp = xnum[xi] + dodge * (numeric ? 0.008 * span : 0.05);
            fprintf(f, "%.9g %.9g %.9g %.9g %zu ", xp, mean, mean - half, mean + half, k);
            fput_name(f, xs.v[xi]);
            fputc('\n', f);
            job->rows[0]++;
            if (k < min_seeds) min_seeds = k;
            if (k > max_seeds) max_seeds = k;
        }
        char diff[1800] = "";
        differing(&items[l], items, lines.n, diff, sizeof diff);
        if (!diff[0])
            snprintf(diff, sizeof diff, "%s", lines.n > 1 ? line_policy.v[l] : "all runs");
        if (names_find(&titles, diff) >= 0) {
            size_t used = strlen(diff);
            snprintf(diff + used, sizeof diff - used, " #%zu", l + 1);
        }
        names_intern(&titles, diff);
    }
    free(vals);
    rc = close_data(f, job->files[0], err);
    f = NULL;
    if (rc < 0) goto sweep_out;
    if (job->rows[0] == 0) {
        rc = thaw_err_set(err, THAW_ENOENT, "plot: no run of sweep \"%s\" has a value for %s",
                          sweep, metric);
        goto sweep_out;
    }
    char xlabel[400], ylabel[200], title[1200], seeds[64];
    snprintf(xlabel, sizeof xlabel, "%s%s%s%s", xkey, unit[0] ? " (" : "", unit,
             unit[0] ? ")" : "");
    const char *yu = metric_unit(metric);
    snprintf(ylabel, sizeof ylabel, "%s%s%s%s", metric, yu[0] ? " (" : "", yu, yu[0] ? ")" : "");
    if (min_seeds == max_seeds)
        snprintf(seeds, sizeof seeds, "%zu", min_seeds);
    else
        snprintf(seeds, sizeof seeds, "%zu to %zu", min_seeds, max_seeds);
    snprintf(title, sizeof title,
             "%s against %s: sweep %s (%s)\nmean over %s seeds per point; bars: 95%% confidence "
             "interval of the mean",
             metric, xkey, sweep, scenario, seeds);
    gp_str(sb, "datafile", job->files[0]);
    gp_words(sb, "titles", titles.v, titles.n);
    gp_str(sb, "xlabel", xlabel);
    gp_str(sb, "ylabel", ylabel);
    gp_num(sb, "categorical", numeric ? 0 : 1);
    if (numeric) {
        char xvals[2048] = "";
        size_t used = 0;
        for (size_t i = 0; i < xs.n && used < sizeof xvals - 40; i++)
            used += (size_t)snprintf(xvals + used, sizeof xvals - used, "%s%.10g", i ? " " : "",
                                     xnum[xorder[i]]);
        gp_str(sb, "xvals", xvals);
    }
    gp_str(sb, "title", title);
    job->series = lines.n;
sweep_out:
    for (size_t l = 0; l < lines.n; l++)
        names_free(&items[l]);
    free(items);
    names_free(&titles);
    free(xnum);
    free(xorder);
out:
    if (f) fclose(f);
    sqlite3_finalize(st);
    for (size_t k = 0; k < nvalues; k++)
        names_free(&values[k]);
    free(values);
    names_free(&keys);
    names_free(&xs);
    names_free(&lines);
    names_free(&line_policy);
    free(rows);
    return rc;
}

/* ---- validate ------------------------------------------------------------- */

/* The pairs (results/validate.c) as they stream in: one data row each. */
struct validate_rows {
    FILE *f;
    struct names models;
    double tmax, abs_rel;
    size_t n, rel_n;
};

static int validate_row(const struct res_load_pair *p, void *ctx)
{
    struct validate_rows *v = ctx;
    long m = names_intern(&v->models, p->model);
    if (m < 0) return 0;
    fprintf(v->f, "%.9g %.9g %ld ", p->simulated_s, p->measured_s, m);
    fput_name(v->f, v->models.v[m]);
    fputc('\n', v->f);
    v->n++;
    if (p->simulated_s > v->tmax) v->tmax = p->simulated_s;
    if (p->measured_s > v->tmax) v->tmax = p->measured_s;
    if (p->simulated_s > 0) {
        v->abs_rel += fabs(p->measured_s - p->simulated_s) / p->simulated_s;
        v->rel_n++;
    }
    return 0;
}

static int prepare_validate(struct res_db *rdb, const struct cli_plot_request *req,
                            struct cli_plot_job *job, struct sbuf *sb, struct thaw_err *err)
{
    sqlite3 *db = res_handle(rdb);
    struct run_meta a, b, *ex = NULL, *sm = NULL;
    int64_t id;
    int rc;
    if (req->sel_count > 2)
        return thaw_err_set(err, THAW_EINVAL, "plot validate: give at most two runs");
    if (req->sel_count == 0) {
        if ((rc = res_latest_run_of_mode(rdb, "exec", NULL, &id, err)) < 0) return rc;
    } else if ((rc = res_resolve_run(rdb, req->sel[0], &id, err)) < 0) {
        return rc;
    }
    if ((rc = run_meta_load(db, id, &a, err)) < 0) return rc;
    if (req->sel_count == 2) {
        if ((rc = res_resolve_run(rdb, req->sel[1], &id, err)) < 0) return rc;
    } else if ((rc = res_latest_run_of_mode(rdb, strcmp(a.mode, "exec") ? "exec" : "sim", a.sha,
                                            &id, err)) < 0) {
        return rc;
    }
    if ((rc = run_meta_load(db, id, &b, err)) < 0) return rc;
    ex = !strcmp(a.mode, "exec") ? &a : !strcmp(b.mode, "exec") ? &b : NULL;
    sm = !strcmp(a.mode, "sim") ? &a : !strcmp(b.mode, "sim") ? &b : NULL;
    if (!ex || !sm || ex == sm)
        return thaw_err_set(err, THAW_EINVAL,
                            "plot validate: needs one exec run and one sim run (runs %lld and "
                            "%lld are %s and %s)",
                            (long long)a.id, (long long)b.id, a.mode, b.mode);
    snprintf(job->label, sizeof job->label, "%lld-%lld", (long long)ex->id, (long long)sm->id);

    struct validate_rows v = {0};
    v.f = open_data(job, "validate.dat", err);
    if (!v.f) return err->code;
    fprintf(v.f, "# simulated_s measured_s model_index model\n");
    rc = res_load_pairs(rdb, ex->id, sm->id, validate_row, &v, err);
    job->rows[0] = v.n;
    struct thaw_err close_err = {0}; /* the pairs' error, if any, is the one to report */
    int crc = close_data(v.f, job->files[0], rc ? &close_err : err);
    if (rc == 0) rc = crc;
    if (rc == 0 && v.n == 0)
        rc = thaw_err_set(err, THAW_ENOENT,
                          "plot validate: exec run %lld and sim run %lld have no finished loads "
                          "of the same model to pair",
                          (long long)ex->id, (long long)sm->id);
    if (rc == 0) {
        char title[1400];
        snprintf(title, sizeof title,
                 "Simulated vs measured load time: exec run %lld (%s) vs sim run %lld\n%s%s; "
                 "%zu pairs, mean |measured - simulated| / simulated = %.1f%%",
                 (long long)ex->id, ex->scenario, (long long)sm->id,
                 strcmp(ex->sha, sm->sha) ? "warning: different scenario files" : "same scenario",
                 "", v.n, v.rel_n ? 100.0 * v.abs_rel / (double)v.rel_n : 0.0);
        gp_str(sb, "datafile", job->files[0]);
        gp_words(sb, "models", v.models.v, v.models.n);
        gp_num(sb, "tmax", v.tmax > 0 ? v.tmax * 1.08 : 1);
        gp_str(sb, "title", title);
        job->series = v.models.n;
    }
    names_free(&v.models);
    return rc;
}

/* ---- the job ---------------------------------------------------------------- */

static void remove_dir(struct cli_plot_job *job)
{
    for (int i = 0; i < job->file_count; i++)
        unlink(job->files[i]);
    if (job->dir[0]) rmdir(job->dir);
}

void cli_plot_job_free(struct cli_plot_job *job, int keep)
{
    if (!keep) remove_dir(job);
    free(job->assign);
    job->assign = NULL;
}

int cli_plot_prepare(struct res_db *rdb, const struct cli_plot_request *req,
                     struct cli_plot_job *job, struct thaw_err *err)
{
    memset(job, 0, sizeof *job);
    if (!rdb || !req || (unsigned)req->kind >= CLI_PLOT_KIND_COUNT)
        return thaw_err_set(err, THAW_EINVAL, "plot: bad request");
    job->kind = req->kind;
    snprintf(job->script, sizeof job->script, "%s/%s.gp", cli_plot_scripts_dir(),
             cli_plot_kind_name(req->kind));
    if (access(job->script, R_OK) != 0)
        return thaw_err_set(err, THAW_ENOENT, "plot: cannot read the chart script %s: %s",
                            job->script, strerror(errno));
    const char *tmp = getenv("TMPDIR");
    snprintf(job->dir, sizeof job->dir, "%s/thaw-plot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(job->dir)) {
        int e = errno;
        job->dir[0] = '\0';
        return thaw_err_set(err, THAW_EIO, "plot: cannot create a temporary folder: %s",
                            strerror(e));
    }
    sqlite3 *db = res_handle(rdb);
    struct sbuf sb = {0};
    int rc = 0;
    if (req->kind == CLI_PLOT_TIMELINE || req->kind == CLI_PLOT_VRAM) {
        int64_t id;
        struct run_meta m;
        if (req->sel_count > 1)
            rc = thaw_err_set(err, THAW_EINVAL, "plot %s: draws one run; give at most one RUN",
                              cli_plot_kind_name(req->kind));
        if (rc == 0) rc = resolve_run(rdb, req->sel_count ? req->sel[0] : NULL, &id, err);
        if (rc == 0) rc = run_meta_load(db, id, &m, err);
        if (rc == 0) {
            snprintf(job->label, sizeof job->label, "%lld", (long long)id);
            rc = req->kind == CLI_PLOT_TIMELINE ? prepare_timeline(db, &m, job, &sb, err)
                                                : prepare_vram(db, &m, job, &sb, err);
        }
    } else if (req->kind == CLI_PLOT_CDF) {
        rc = prepare_cdf(rdb, req, job, &sb, err);
        /* Label: the selectors as given (or "latest"), joined by '-'. */
        size_t used = 0;
        for (int i = 0; rc == 0 && i < req->sel_count && used < sizeof job->label - 1; i++) {
            int w = snprintf(job->label + used, sizeof job->label - used, "%s%s", i ? "-" : "",
                             req->sel[i]);
            if (w < 0) break;
            used += (size_t)w;
        }
        if (rc == 0 && !req->sel_count) snprintf(job->label, sizeof job->label, "latest");
    } else if (req->kind == CLI_PLOT_SWEEP) {
        if (req->sel_count > 1)
            rc = thaw_err_set(err, THAW_EINVAL, "plot sweep: give at most one sweep id");
        else
            rc = prepare_sweep(rdb, req, job, &sb, err);
    } else {
        rc = prepare_validate(rdb, req, job, &sb, err);
    }
    if (rc == 0 && sb.oom) rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    if (rc < 0) {
        free(sb.s);
        remove_dir(job);
        job->dir[0] = '\0';
        job->file_count = 0;
        return rc;
    }
    /* A label becomes part of a file name: keep it to safe characters. */
    for (char *p = job->label; *p; p++)
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            *p = '_';
    job->assign = sb.s;
    return 0;
}

int cli_plot_render(const struct cli_plot_job *job, const char *outfile, const char *gnuplot,
                    struct thaw_err *err)
{
    if (!job || !job->assign || !outfile)
        return thaw_err_set(err, THAW_EINVAL, "plot: nothing prepared to render");
    const char *dot = strrchr(outfile, '.');
    const char *term = NULL;
    if (dot && !strcasecmp(dot, ".png"))
        term = "pngcairo";
    else if (dot && !strcasecmp(dot, ".svg"))
        term = "svg";
    else
        return thaw_err_set(err, THAW_EINVAL, "plot: the output must end in .png or .svg, found %s",
                            outfile);
    if (!gnuplot) gnuplot = getenv("THAW_GNUPLOT");
    if (!gnuplot || !*gnuplot) gnuplot = "gnuplot";

    struct sbuf sb = {0};
    sb_printf(&sb, "%s", job->assign);
    gp_str(&sb, "outfile", outfile);
    gp_str(&sb, "term", term);
    if (sb.oom) {
        free(sb.s);
        return thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    }
    unlink(outfile); /* so that a stale chart is never mistaken for a new one */
    /* A close-on-exec pipe tells the parent whether execvp itself failed
     * (gnuplot missing) as opposed to gnuplot failing. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(sb.s);
        return thaw_err_set(err, THAW_EIO, "plot: pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        free(sb.s);
        return thaw_err_set(err, THAW_EIO, "plot: fork: %s", strerror(e));
    }
    if (pid == 0) {
        char *argv[] = {(char *)gnuplot, "-e", sb.s, (char *)job->script, NULL};
        execvp(gnuplot, argv);
        int e = errno;
        ssize_t w = write(fds[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(fds[1]);
    int exec_errno = 0;
    ssize_t got;
    do
        got = read(fds[0], &exec_errno, sizeof exec_errno);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    free(sb.s);
    if (got == (ssize_t)sizeof exec_errno) {
        if (exec_errno == ENOENT)
            return thaw_err_set(err, THAW_ENOENT,
                                "plot: gnuplot is not installed (\"%s\" is not in PATH); install "
                                "it with: apt-get install gnuplot-nox",
                                gnuplot);
        return thaw_err_set(err, THAW_EIO, "plot: cannot run %s: %s", gnuplot,
                            strerror(exec_errno));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return thaw_err_set(err, THAW_EIO, "plot: gnuplot failed on %s (%s %d)", job->script,
                            WIFEXITED(status) ? "exit status" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    struct stat sst;
    if (stat(outfile, &sst) != 0 || sst.st_size == 0)
        return thaw_err_set(err, THAW_EIO, "plot: gnuplot wrote no chart to %s", outfile);
    return 0;
}

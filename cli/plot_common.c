/* plot_common.c - `thaw plot` below the option parsing: cli_plot_prepare
 * picks the chart (one file per plots/KIND.gp) and gives it a mkdtemp
 * folder for its whitespace-separated data files (described in
 * plots/README.md); the helpers here build the gnuplot variables (names,
 * ranges, titles) as one -e string and the labels the charts share. */
#include "plot_common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <unistd.h>

#ifndef THAW_PLOTS_DIR
#define THAW_PLOTS_DIR THAW_SOURCE_DIR "/plots"
#endif

static const char *const kind_names[CLI_PLOT_KIND_COUNT] = {"timeline", "cdf",      "vram",
                                                            "sweep",    "validate", "cluster",
                                                            "bandwidth"};

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

/* ---- the gnuplot -e string ------------------------------------------------ */

void cli_plot_printf(struct cli_plot_sbuf *b, const char *fmt, ...)
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
static void gp_escaped(struct cli_plot_sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            cli_plot_printf(b, "\\%c", *s);
        else if (*s == '\n')
            cli_plot_printf(b, "\\n");
        else if ((unsigned char)*s < 0x20)
            cli_plot_printf(b, " ");
        else
            cli_plot_printf(b, "%c", *s);
    }
}

void cli_plot_gp_str(struct cli_plot_sbuf *b, const char *name, const char *value)
{
    cli_plot_printf(b, "%s=\"", name);
    gp_escaped(b, value);
    cli_plot_printf(b, "\"; ");
}

/* Charts are ~1100 px wide: at the title font a line of about this many
 * characters fits; a longer one is broken at the last ',' or space before
 * it (or cut there when it has none), so nothing is clipped at the sides. */
#define PLOT_TITLE_COLUMNS 90

void cli_plot_gp_title(struct cli_plot_sbuf *b, const char *title)
{
    size_t n = strlen(title);
    char *w = malloc(2 * n + 1);
    if (!w) {
        cli_plot_gp_str(b, "title", title);
        return;
    }
    size_t o = 0, line = 0, brk = 0; /* brk: where in w the last break chance was */
    for (size_t i = 0; i < n; i++) {
        char c = title[i];
        w[o++] = c;
        if (c == '\n') {
            line = 0;
            brk = 0;
            continue;
        }
        line++;
        if (c == ' ' || c == ',') brk = o;
        if (line >= PLOT_TITLE_COLUMNS && i + 1 < n && title[i + 1] != '\n') {
            if (brk > 0 && o - brk < line) {
                /* move the tail after the break chance to a new line */
                memmove(w + brk + 1, w + brk, o - brk);
                w[brk] = '\n';
                o++;
                line = o - brk - 1;
            } else {
                w[o++] = '\n';
                line = 0;
            }
            brk = 0;
        }
    }
    w[o] = '\0';
    cli_plot_gp_str(b, "title", w);
    free(w);
}

void cli_plot_gp_num(struct cli_plot_sbuf *b, const char *name, double v)
{
    cli_plot_printf(b, "%s=%.17g; ", name, isfinite(v) ? v : 0.0);
}

/* A word list for gnuplot's word()/words(): each name quoted. A quote or
 * backslash inside a name would end its word early, so they become '_'. */
void cli_plot_gp_words(struct cli_plot_sbuf *b, const char *name, char *const *items, size_t n)
{
    cli_plot_printf(b, "%s=\"", name);
    for (size_t i = 0; i < n; i++) {
        cli_plot_printf(b, "%s\\\"", i ? " " : "");
        for (const char *s = items[i]; *s; s++)
            cli_plot_printf(b, "%c",
                            (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) ? '_' : *s);
        cli_plot_printf(b, "\\\"");
    }
    cli_plot_printf(b, "\"; ");
}

/* A data-file string column: quoted, quotes replaced. */
void cli_plot_fput_name(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        fputc(*s == '"' || (unsigned char)*s < 0x20 ? '_' : *s, f);
    fputc('"', f);
}

FILE *cli_plot_open_data(struct cli_plot_job *job, const char *name, struct thaw_err *err)
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

int cli_plot_close_data(FILE *f, const char *path, struct thaw_err *err)
{
    bool bad = ferror(f);
    if (fclose(f) != 0 || bad) return thaw_err_set(err, THAW_EIO, "plot: cannot write %s", path);
    return 0;
}

/* ---- runs ---------------------------------------------------------------- */

int cli_plot_resolve_run(struct res_db *db, const char *sel, int64_t *id, struct thaw_err *err)
{
    if (sel) return res_resolve_run(db, sel, id, err);
    int rc = res_last_run(db, id, err);
    if (rc == 0 && *id == 0)
        rc = thaw_err_set(err, THAW_ENOENT, "plot: the database holds no run yet");
    return rc;
}

void cli_plot_gpus_free(struct cli_plot_gpus *g)
{
    names_free(&g->names);
    names_free(&g->nodes);
    free(g->vram_gib);
    free(g->flat);
    memset(g, 0, sizeof *g);
}

long cli_plot_gpus_row(const struct cli_plot_gpus *g, int flat)
{
    for (size_t i = 0; i < g->names.n; i++)
        if (g->flat[i] == flat) return (long)i;
    return -1;
}

static int gpus_add(const struct res_stored_gpu *row, void *ctx)
{
    struct cli_plot_gpus *g = ctx;
    size_t n = g->names.n;
    char name[96];
    snprintf(name, sizeof name, "%s", row->name);
    if (names_find(&g->names, name) >= 0) snprintf(name, sizeof name, "gpu%d", row->gpu);
    double *v = realloc(g->vram_gib, (n + 1) * sizeof *v);
    if (v) g->vram_gib = v;
    int *f = realloc(g->flat, (n + 1) * sizeof *f);
    if (f) g->flat = f;
    if (!v || !f || names_intern(&g->names, name) < 0 ||
        (g->nodes.n < g->names.n && names_push(&g->nodes, row->node) < 0))
        return THAW_ENOMEM;
    g->vram_gib[n] = (double)row->vram_bytes / 1073741824.0;
    g->flat[n] = row->gpu;
    return 0;
}

int cli_plot_gpus_load(struct res_db *db, const struct res_run_meta *m, struct cli_plot_gpus *g,
                       struct thaw_err *err)
{
    memset(g, 0, sizeof *g);
    double latest;
    int rc = res_rows_last_s(db, m->id, &latest, err);
    if (rc < 0) return rc;
    g->end_s = isfinite(m->duration_s) && m->duration_s > latest ? m->duration_s : latest;
    if (g->end_s <= 0) g->end_s = 1;
    rc = res_rows_gpus(db, m->id, gpus_add, g, err);
    if (rc == THAW_ENOMEM) rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    if (rc == 0 && g->names.n == 0)
        rc = thaw_err_set(err, THAW_ENOENT, "plot: run %lld has no GPUs to draw", (long long)m->id);
    if (rc < 0) cli_plot_gpus_free(g);
    return rc;
}

/* ---- titles from what differs between runs ---------------------------------- */

/* Items "key=value" of a run for labels: mode, the policy's components, the
 * sweep parameters (except the policy, already there), and the seed. */
void cli_plot_run_items(const struct res_run_meta *m, bool with_seed, struct names *items)
{
    char buf[640];
    snprintf(buf, sizeof buf, "mode=%s", m->mode);
    names_intern(items, buf);
    char pol[512];
    snprintf(pol, sizeof pol, "%s", m->policy);
    for (char *save = NULL, *tok = strtok_r(pol, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        names_intern(items, tok);
    char par[sizeof m->params];
    snprintf(par, sizeof par, "%s", m->params);
    for (char *save = NULL, *tok = strtok_r(par, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        if (strncmp(tok, "policy=", 7)) {
            /* --set policy.K=V says what runs.policy says as K=V */
            names_intern(items, strncmp(tok, "policy.", 7) ? tok : tok + 7);
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
void cli_plot_differing(const struct names *mine, const struct names *all, size_t n, char *out,
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

int cli_plot_prepare(struct res_db *db, const struct cli_plot_request *req,
                     struct cli_plot_job *job, struct thaw_err *err)
{
    memset(job, 0, sizeof *job);
    if (!db || !req || (unsigned)req->kind >= CLI_PLOT_KIND_COUNT)
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
    struct cli_plot_sbuf sb = {0};
    int rc = 0;
    if (req->kind == CLI_PLOT_TIMELINE || req->kind == CLI_PLOT_VRAM ||
        req->kind == CLI_PLOT_CLUSTER || req->kind == CLI_PLOT_BANDWIDTH) {
        int64_t id;
        struct res_run_meta m;
        if (req->sel_count > 1)
            rc = thaw_err_set(err, THAW_EINVAL, "plot %s: draws one run; give at most one RUN",
                              cli_plot_kind_name(req->kind));
        if (rc == 0) rc = cli_plot_resolve_run(db, req->sel_count ? req->sel[0] : NULL, &id, err);
        if (rc == 0) rc = res_run_meta_load(db, id, &m, err);
        if (rc == 0) {
            snprintf(job->label, sizeof job->label, "%lld", (long long)id);
            rc = req->kind == CLI_PLOT_TIMELINE ? cli_plot_timeline(db, &m, job, &sb, err)
                 : req->kind == CLI_PLOT_VRAM   ? cli_plot_vram(db, &m, job, &sb, err)
                 : req->kind == CLI_PLOT_CLUSTER ? cli_plot_cluster(db, &m, job, &sb, err)
                                                : cli_plot_bandwidth(db, &m, req->param, job, &sb, err);
        }
    } else if (req->kind == CLI_PLOT_CDF) {
        rc = cli_plot_cdf(db, req, job, &sb, err);
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
            rc = cli_plot_sweep(db, req, job, &sb, err);
    } else {
        rc = cli_plot_validate(db, req, job, &sb, err);
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

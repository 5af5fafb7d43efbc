/* report_html.c - `thaw report --html`: one HTML file that travels (mailed,
 * attached to a ticket): the runs' summary side by side, per-model tables,
 * anomalies and every chart, drawn by gnuplot's svg terminal and inlined,
 * with the style in the file and nothing fetched from a network. The charts
 * are one table, report_charts[]: a new chart joins with one line. Ids in
 * each SVG get a prefix of their own, so the charts of one page never share
 * an id. */
#include "cli.h"
#include "plot_data.h"
#include "report_html.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a chart is drawn for: each run, all the runs at once, the sweep. */
enum report_scope { REPORT_PER_RUN, REPORT_ALL_RUNS, REPORT_SWEEP };

static const struct report_chart {
    enum cli_plot_kind kind;
    enum report_scope scope;
    const char *caption;
} report_charts[] = {
    {CLI_PLOT_CDF, REPORT_ALL_RUNS, "Cold-start latency (enqueued to READY), a line per run"},
    {CLI_PLOT_SWEEP, REPORT_SWEEP, "cold_start_p99_s against the swept parameter"},
    {CLI_PLOT_CLUSTER, REPORT_PER_RUN, "The cluster over time"},
    {CLI_PLOT_TIMELINE, REPORT_PER_RUN, "Cold-start timeline"},
    {CLI_PLOT_VRAM, REPORT_PER_RUN, "VRAM reserved per GPU"},
    {CLI_PLOT_BANDWIDTH, REPORT_PER_RUN, "Bandwidth in use per shared pipe (sim runs)"},
    {CLI_PLOT_VALIDATE, REPORT_PER_RUN, "Simulated against measured load time (exec runs)"},
};

/* Per-run charts for at most this many runs (a 64-run sweep would be a
 * page of hundreds of charts); the summary still has every run. */
#define REPORT_CHART_RUNS 8
/* Anomalies listed per run; the rest are counted. */
#define REPORT_ANOMALIES 50
/* Per-model tables longer than this start folded. */
#define REPORT_OPEN_ROWS 30

static void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* ---- rows of a view, kept as text --------------------------------------- */

struct grid {
    int ncols;
    char **names;
    char ***cells;
    size_t nrows;
    bool oom;
};

static void grid_free(struct grid *g)
{
    for (size_t r = 0; r < g->nrows; r++) {
        for (int c = 0; c < g->ncols; c++)
            free(g->cells[r][c]);
        free(g->cells[r]);
    }
    free(g->cells);
    for (int c = 0; c < g->ncols; c++)
        free(g->names[c]);
    free(g->names);
    memset(g, 0, sizeof *g);
}

static int grid_columns(void *ctx, int n, const char *const *names)
{
    struct grid *g = ctx;
    if (g->names) return 0; /* the same view for the next run */
    g->names = calloc((size_t)(n ? n : 1), sizeof *g->names);
    if (!g->names) return THAW_ENOMEM;
    g->ncols = n;
    for (int c = 0; c < n; c++)
        if (!(g->names[c] = strdup(names[c]))) return THAW_ENOMEM;
    return 0;
}

static int grid_row(void *ctx, int n, const struct res_value *v)
{
    struct grid *g = ctx;
    char ***cells = realloc(g->cells, (g->nrows + 1) * sizeof *cells);
    if (!cells) return THAW_ENOMEM;
    g->cells = cells;
    char **row = calloc((size_t)(g->ncols ? g->ncols : 1), sizeof *row);
    if (!row) return THAW_ENOMEM;
    g->cells[g->nrows++] = row;
    for (int c = 0; c < g->ncols; c++) {
        char buf[64];
        const char *s = "-";
        if (c < n && v[c].type == RES_VAL_INT) {
            snprintf(buf, sizeof buf, "%lld", (long long)v[c].i);
            s = buf;
        } else if (c < n && v[c].type == RES_VAL_REAL) {
            cli_format_number(buf, sizeof buf, v[c].r, true);
            s = buf;
        } else if (c < n && v[c].type == RES_VAL_TEXT) {
            s = v[c].text ? v[c].text : "";
        }
        if (!(row[c] = strdup(s))) return THAW_ENOMEM;
    }
    return 0;
}

static int grid_load(struct res_db *db, const char *view, const int64_t *runs, int n,
                     struct grid *g, struct thaw_err *err)
{
    memset(g, 0, sizeof *g);
    struct res_export_sink sink = {grid_columns, grid_row};
    int rc = res_export(db, view, runs, n, &sink, g, err);
    if (rc == THAW_ENOMEM) rc = thaw_err_set(err, THAW_ENOMEM, "report: out of memory");
    if (rc < 0) grid_free(g);
    return rc;
}

/* A number (or "-") is right-aligned. */
static bool looks_numeric(const char *s)
{
    if (!strcmp(s, "-")) return true;
    char *end;
    strtod(s, &end);
    return *s && !*end;
}

static void td(FILE *f, const char *s, bool header)
{
    fputs(header ? "<th>" : looks_numeric(s) ? "<td class=\"n\">" : "<td>", f);
    html_text(f, s);
    fputs(header ? "</th>" : "</td>", f);
}

/* The run summary turned sideways: a row per column, a column per run. */
static void html_summary(FILE *f, const struct grid *g)
{
    fputs("<table class=\"summary\">\n", f);
    for (int c = 0; c < g->ncols; c++) {
        fputs("<tr>", f);
        td(f, g->names[c], true);
        for (size_t r = 0; r < g->nrows; r++)
            td(f, g->cells[r][c], c == 0);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* Rows of run (column "run" equal to it), without that column; more than
 * REPORT_OPEN_ROWS rows are folded (<details>), so the charts stay near. */
static void html_rows_of_run(FILE *f, const struct grid *g, int64_t run)
{
    int runcol = -1;
    for (int c = 0; c < g->ncols; c++)
        if (!strcmp(g->names[c], "run")) runcol = c;
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)run);
    size_t shown = 0, total = 0;
    for (size_t r = 0; r < g->nrows; r++)
        total += runcol < 0 || !strcmp(g->cells[r][runcol], id);
    for (size_t r = 0; r < g->nrows; r++) {
        if (runcol >= 0 && strcmp(g->cells[r][runcol], id)) continue;
        if (!shown++) {
            fprintf(f, "<details%s><summary>%zu model%s</summary>\n<table>\n<tr>",
                    total > REPORT_OPEN_ROWS ? "" : " open", total, total == 1 ? "" : "s");
            for (int c = 0; c < g->ncols; c++)
                if (c != runcol) td(f, g->names[c], true);
            fputs("</tr>\n", f);
        }
        fputs("<tr>", f);
        for (int c = 0; c < g->ncols; c++)
            if (c != runcol) td(f, g->cells[r][c], false);
        fputs("</tr>\n", f);
    }
    if (shown)
        fputs("</table>\n</details>\n", f);
    else
        fputs("<p class=\"none\">No loads: no per-model rows.</p>\n", f);
}

/* ---- anomalies ---------------------------------------------------------- */

struct anomaly_walk {
    FILE *f;
    int n;
};

static int html_anomaly(const struct res_anomaly *a, void *ctx)
{
    struct anomaly_walk *w = ctx;
    if (w->n++ >= REPORT_ANOMALIES) return 0;
    if (w->n == 1)
        fputs("<table class=\"anomalies\">\n<tr><th>kind</th><th>model</th><th>t (s)</th>"
              "<th>what happened</th></tr>\n",
              w->f);
    char t[32];
    snprintf(t, sizeof t, "%.3f", a->t_s);
    fputs("<tr>", w->f);
    td(w->f, a->kind, false);
    td(w->f, a->model, false);
    td(w->f, t, false);
    td(w->f, a->detail, false);
    fputs("</tr>\n", w->f);
    return 0;
}

static int html_anomalies(FILE *f, struct res_db *db, int64_t run, struct thaw_err *err)
{
    struct anomaly_walk w = {f, 0};
    int rc = res_anomalies_walk(db, run, html_anomaly, &w, err);
    if (rc < 0) return rc;
    if (w.n == 0) {
        fputs("<p class=\"none\">No anomalies.</p>\n", f);
        return 0;
    }
    fputs("</table>\n", f);
    if (w.n > REPORT_ANOMALIES)
        fprintf(f, "<p class=\"none\">... and %d more (thaw export %lld --table anomalies).</p>\n",
                w.n - REPORT_ANOMALIES, (long long)run);
    return 0;
}

/* ---- charts ------------------------------------------------------------- */

/* Copies the svg element of file into f, every id (and each reference to
 * one) prefixed with "cN-", so the charts of one page never share an id. */
static int inline_svg(FILE *f, const char *path, int chart, struct thaw_err *err)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return thaw_err_set(err, THAW_EIO, "report: cannot read %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        fclose(in);
        return thaw_err_set(err, THAW_ENOMEM, "report: out of memory");
    }
    char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, got, mem);
    bool bad = ferror(in);
    fclose(in);
    if (fclose(mem) != 0 || bad || !text) {
        free(text);
        return thaw_err_set(err, THAW_EIO, "report: cannot read %s", path);
    }
    const char *p = strstr(text, "<svg");
    if (!p) {
        free(text);
        return thaw_err_set(err, THAW_EIO, "report: %s holds no <svg>", path);
    }
    static const char *const marks[] = {"id='", "id=\"", "href='#", "href=\"#", "url(#"};
    char **seen_ids = NULL;
    size_t nseen = 0;
    while (*p) {
        size_t best = strlen(p), which = 0;
        for (size_t m = 0; m < sizeof marks / sizeof *marks; m++) {
            const char *q = strstr(p, marks[m]);
            if (q && (size_t)(q - p) < best) {
                best = (size_t)(q - p);
                which = m;
            }
        }
        if (best == strlen(p)) {
            fputs(p, f);
            p += best;
            break;
        }
        size_t ml = strlen(marks[which]);
        fwrite(p, 1, best + ml, f);
        fprintf(f, "c%d-", chart);
        p += best + ml;
        if (which > 1) continue; /* a reference: to the first of its name */
        /* gnuplot repeats some ids (gnuplot_plot_N in the plot and the
         * key); the second and later get a number. */
        size_t vl = strcspn(p, which ? "\"" : "'");
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(vl < sizeof name ? vl : sizeof name - 1), p);
        long seen = 0;
        for (size_t i = 0; i < nseen; i++)
            if (!strcmp(seen_ids[i], name)) seen++;
        char *copy = strdup(name);
        char **grown = copy ? realloc(seen_ids, (nseen + 1) * sizeof *grown) : NULL;
        if (!grown) {
            free(copy);
            break;
        }
        seen_ids = grown;
        seen_ids[nseen++] = copy;
        fwrite(p, 1, vl, f);
        if (seen) fprintf(f, "-%ld", seen + 1);
        p += vl;
    }
    for (size_t i = 0; i < nseen; i++)
        free(seen_ids[i]);
    free(seen_ids);
    if (*p) {
        free(text);
        return thaw_err_set(err, THAW_ENOMEM, "report: out of memory");
    }
    free(text);
    return 0;
}

/* Draws one chart and writes it as a figure; a chart with nothing to draw
 * (THAW_ENOENT from prepare) becomes a line saying why. */
static int html_chart(FILE *f, struct res_db *db, const struct report_chart *c, int nsel,
                      const char *const *sel, const char *gnuplot, int *chart_no,
                      struct thaw_err *err)
{
    struct cli_plot_request req = {c->kind, nsel, sel, NULL, NULL};
    struct cli_plot_job job;
    struct thaw_err perr = {0};
    int rc = cli_plot_prepare(db, &req, &job, &perr);
    if (rc < 0) {
        if (c->kind == CLI_PLOT_VALIDATE) return 0; /* not an exec run, or no sim to pair */
        fprintf(f, "<p class=\"none\">%s: not drawn: ", cli_plot_kind_name(c->kind));
        html_text(f, perr.msg);
        fputs("</p>\n", f);
        return rc == THAW_ENOMEM ? thaw_err_set(err, rc, "%s", perr.msg) : 0;
    }
    const char *tmp = getenv("TMPDIR");
    char svg[PATH_MAX];
    snprintf(svg, sizeof svg, "%s/thaw-report-XXXXXX.svg", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(svg, 4);
    if (fd < 0) {
        cli_plot_job_free(&job, 0);
        return thaw_err_set(err, THAW_EIO, "report: cannot create a temporary file: %s",
                            strerror(errno));
    }
    close(fd);
    rc = cli_plot_render(&job, svg, gnuplot, err);
    cli_plot_job_free(&job, 0);
    if (rc == 0) {
        int no = ++*chart_no;
        fprintf(f, "<figure id=\"chart-%d\" class=\"%s\">\n", no, cli_plot_kind_name(c->kind));
        rc = inline_svg(f, svg, no, err);
        fputs("<figcaption>", f);
        html_text(f, c->caption);
        fprintf(f, " (<code>thaw plot %s", cli_plot_kind_name(c->kind));
        for (int i = 0; i < nsel; i++) {
            fputc(' ', f);
            html_text(f, sel[i]);
        }
        fputs("</code>)</figcaption>\n</figure>\n", f);
    }
    unlink(svg);
    return rc;
}

static const char style[] =
    "body{font-family:Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1250px;color:#222;"
    "padding:0 1em}\n"
    "h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;"
    "margin-top:2em}h3{font-size:1.05em}\n"
    "table{border-collapse:collapse;font-size:.85em;margin:.5em 0;display:block;overflow-x:auto}"
    "\n"
    "th,td{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}\n"
    "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "table.summary th:first-child{white-space:nowrap}\n"
    "figure{margin:1em 0}figure svg{width:100%;height:auto;border:1px solid #eee}\n"
    "figure svg image{image-rendering:pixelated}\n"
    "figcaption{font-size:.85em;color:#555}p.none{color:#777;font-size:.9em}\n"
    "details summary{cursor:pointer;color:#444;font-size:.9em}\n"
    "nav a{margin-right:1em}code{font-size:.95em}\n";

int cli_report_html(struct res_db *db, const int64_t *runs, int n, const char *sweep_id,
                    const char *out_path, const char *gnuplot, struct thaw_err *err)
{
    if (!db || !runs || n <= 0 || !out_path)
        return thaw_err_set(err, THAW_EINVAL, "report: nothing to write");
    char tmp_path[PATH_MAX];
    if (snprintf(tmp_path, sizeof tmp_path, "%s.tmp", out_path) >= (int)sizeof tmp_path)
        return thaw_err_set(err, THAW_ERANGE, "report: the path %s is too long", out_path);
    FILE *f = fopen(tmp_path, "w");
    if (!f)
        return thaw_err_set(err, THAW_EIO, "report: cannot write %s: %s", tmp_path,
                            strerror(errno));
    struct grid summary = {0}, models = {0};
    struct res_run_meta *meta = calloc((size_t)n, sizeof *meta);
    char **ids = calloc((size_t)n, sizeof *ids);
    int rc = meta && ids ? 0 : thaw_err_set(err, THAW_ENOMEM, "report: out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = res_run_meta_load(db, runs[i], &meta[i], err);
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)runs[i]);
        if (rc == 0 && !(ids[i] = strdup(id)))
            rc = thaw_err_set(err, THAW_ENOMEM, "report: out of memory");
    }
    if (rc == 0) rc = grid_load(db, "run_summary", runs, n, &summary, err);
    if (rc == 0) rc = grid_load(db, "model_summary", runs, n, &models, err);
    if (rc < 0) goto out;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", f);
    fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
    if (n == 1)
        fprintf(f, "thaw run %lld: ", (long long)runs[0]);
    else
        fprintf(f, "thaw: %d runs: ", n);
    html_text(f, meta[0].scenario);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", style);
    if (n == 1)
        fprintf(f, "Run %lld: ", (long long)runs[0]);
    else
        fprintf(f, "%d runs: ", n);
    html_text(f, meta[0].scenario);
    if (sweep_id) {
        fputs(" (sweep ", f);
        html_text(f, sweep_id);
        fputs(")", f);
    }
    fputs("</h1>\n<nav><a href=\"#summary\">Summary</a>", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "<a href=\"#run-%lld\">run %lld</a>", (long long)runs[i], (long long)runs[i]);
    fputs("</nav>\n<h2 id=\"summary\">Summary</h2>\n", f);
    html_summary(f, &summary);

    int chart_no = 0;
    for (size_t c = 0; rc == 0 && c < sizeof report_charts / sizeof *report_charts; c++) {
        const struct report_chart *ch = &report_charts[c];
        if (ch->scope == REPORT_ALL_RUNS)
            rc = html_chart(f, db, ch, n, (const char *const *)ids, gnuplot, &chart_no, err);
        else if (ch->scope == REPORT_SWEEP && sweep_id)
            rc = html_chart(f, db, ch, 1, &sweep_id, gnuplot, &chart_no, err);
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        const struct res_run_meta *m = &meta[i];
        fprintf(f, "<h2 id=\"run-%lld\">Run %lld: %s, ", (long long)m->id, (long long)m->id,
                m->mode);
        html_text(f, m->scenario);
        fprintf(f, ", seed %lld (%s)</h2>\n<p>policy: <code>", m->seed, m->status);
        html_text(f, m->policy);
        fputs("</code>", f);
        if (m->params[0]) {
            fputs("; point: <code>", f);
            html_text(f, m->params);
            fputs("</code>", f);
        }
        fputs("</p>\n<h3>Charts</h3>\n", f);
        if (i >= REPORT_CHART_RUNS) {
            fprintf(f, "<p class=\"none\">Charts are drawn for the first %d runs only.</p>\n",
                    REPORT_CHART_RUNS);
        } else {
            const char *sel[1] = {ids[i]};
            for (size_t c = 0; rc == 0 && c < sizeof report_charts / sizeof *report_charts; c++) {
                const struct report_chart *ch = &report_charts[c];
                if (ch->scope != REPORT_PER_RUN) continue;
                if (ch->kind == CLI_PLOT_VALIDATE && strcmp(m->mode, "exec")) continue;
                rc = html_chart(f, db, ch, 1, sel, gnuplot, &chart_no, err);
            }
        }
        if (rc < 0) break;
        fputs("<h3>Per model</h3>\n", f);
        html_rows_of_run(f, &models, m->id);
        fputs("<h3>Anomalies</h3>\n", f);
        if ((rc = html_anomalies(f, db, m->id, err)) < 0) break;
    }
    if (rc == 0)
        fputs("<p class=\"none\">Written by thaw report --html.</p>\n</body>\n</html>\n", f);
out:
    grid_free(&summary);
    grid_free(&models);
    for (int i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
    free(meta);
    bool bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        if (rc == 0) rc = thaw_err_set(err, THAW_EIO, "report: cannot write %s", tmp_path);
    }
    if (rc == 0 && rename(tmp_path, out_path) != 0)
        rc = thaw_err_set(err, THAW_EIO, "report: cannot rename %s to %s: %s", tmp_path, out_path,
                          strerror(errno));
    if (rc < 0) unlink(tmp_path);
    return rc;
}

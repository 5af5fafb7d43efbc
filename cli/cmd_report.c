/* cmd_report.c - `thaw report`: stored runs' summaries side by side, read
 * from a results database (the last run by default). Reads only: a missing
 * database is an error, not a new empty file. */
#include "cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_html.h"
#include "results.h"

static const char report_usage[] =
    "usage: thaw report [--db PATH] [--format table|csv|json] [--by-model] [--autoscaler]\n"
    "                   [--phases] [--ladder] [RUN...]\n"
    "       thaw report --explain\n"
    "       thaw report [--db PATH] [--format F] --select SELECTOR [--metric M]...\n"
    "       thaw report [--db PATH] [RUN|SELECTOR...] --html OUT.html\n"
    "\n"
    "Prints the summary of stored runs side by side: for each run its id, uuid,\n"
    "mode, scenario, seed, status and policy, then one row per metric (cold-start\n"
    "latency mean/p50/p95/p99, makespan, shm hit rate, deadline misses, request\n"
    "latency cold and warm, recovery after faults, VRAM utilisation, load counts)\n"
    "with one column per run. '-' marks a metric without data (no faults, no\n"
    "requests...), and every metric of a run still 'running'. Runs still\n"
    "'running' whose process is gone (orphaned) are named on stderr; `thaw\n"
    "prune` removes them with failed and interrupted runs.\n"
    "\n"
    "options:\n"
    "  --db PATH   results database (default " CLI_DEFAULT_DB ")\n"
    "  RUN         a run id, or a prefix (4+ hex digits) of a run's uuid;\n"
    "              default: the last run\n"
    "  --select S  a table instead, one row per selected run (selectors as in\n"
    "              'thaw compare': sweep=ID, policy=k=v, param:k=v, 3-7, ...)\n"
    "  --by-model  also each run's metrics per model (which model suffered)\n"
    "  --autoscaler  also each run's autoscaler decisions (why it scaled:\n"
    "              waiting, supply, excess, wanted, asked, dropped, evicted)\n"
    "  --phases    also where each run's load time went: queued, init, every\n"
    "              startup phase, alloc, copy, verify, warm-up (loads, mean,\n"
    "              max, total seconds, share; the load_phase_summary view)\n"
    "  --ladder    also each run's storage ladder: loads, hit rate and bytes per\n"
    "              source (shm, disk, peer, store, storage) and the time loads\n"
    "              waited on the shared store (copy time beyond the lone copy)\n"
    "  --explain   print the definitions of the metrics and anomalies\n"
    "  --metric M  the table's columns (repeatable, or M1,M2; default\n"
    "              cold_start_mean_s, cold_start_p99_s, makespan_s,\n"
    "              recovery_mean_s)\n"
    "  --format F  table (default), or csv / json: one row (object) per run with\n"
    "              its identity and every metric as a column (the run_summary\n"
    "              view; with --metric, run, seed, params and those metrics)\n"
    "  --html F    one self-contained HTML file F instead: the summary side by\n"
    "              side, each run's per-model table, anomalies and charts (SVG\n"
    "              from gnuplot, inlined; nothing fetched from a network); the\n"
    "              runs as ids, uuid prefixes or selectors (sweep=ID adds the\n"
    "              sweep chart); prints F\n"
    "\n"
    "examples:\n"
    "  thaw report                 the last run\n"
    "  thaw report 3 4             runs 3 and 4 side by side\n"
    "  thaw report --db lab.db 9f2c\n"
    "  thaw report --select sweep=4f1e --metric makespan_s\n"
    "  thaw report --select sweep=4f1e --format csv > sweep.csv\n"
    "  thaw report 12 --html run12.html\n";

/* csv / json: the run_summary rows, narrowed to the chosen columns. */
struct report_sink {
    struct cli_writer w;
    const char *const *keep; /* NULL: every column */
    int n_keep;
    int map[128]; /* writer column -> export column */
    int n_map;
};

static int report_columns(void *ctx, int n, const char *const *names)
{
    struct report_sink *s = ctx;
    const char *out[128];
    s->n_map = 0;
    for (int c = 0; c < n && c < 128; c++) {
        bool keep = !s->keep || !strcmp(names[c], "run") || !strcmp(names[c], "seed") ||
                    !strcmp(names[c], "params");
        for (int k = 0; k < s->n_keep && !keep; k++)
            keep = !strcmp(names[c], s->keep[k]);
        if (keep) {
            out[s->n_map] = names[c];
            s->map[s->n_map++] = c;
        }
    }
    return cli_writer_columns(&s->w, s->n_map, out) < 0 ? THAW_EIO : 0;
}

static int report_row(void *ctx, int n, const struct res_value *v)
{
    struct report_sink *s = ctx;
    struct res_value out[128];
    for (int i = 0; i < s->n_map; i++)
        out[i] = s->map[i] < n ? v[s->map[i]] : (struct res_value){0};
    return cli_writer_row(&s->w, s->n_map, out) < 0 ? THAW_EIO : 0;
}

static int report_export(struct res_db *db, const int64_t *runs, int n, enum cli_format fmt,
                         const char *const *metrics, int n_metrics)
{
    struct report_sink s = {.keep = n_metrics ? metrics : NULL, .n_keep = n_metrics};
    cli_writer_init(&s.w, fmt, stdout);
    struct res_export_sink sink = {report_columns, report_row};
    struct thaw_err err = {0};
    int rc = res_export(db, "run_summary", runs, n, &sink, &s, &err);
    if (rc == 0 && cli_writer_end(&s.w) < 0) rc = thaw_err_set(&err, THAW_EIO, "write failed");
    cli_writer_free(&s.w);
    if (rc < 0) {
        fprintf(stderr, "thaw report: %s\n", err.msg[0] ? err.msg : "write failed");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* Runs left 'running' by a process that is gone, on stderr so that the
 * tables on stdout stay as they are. */
static void note_orphans(struct res_db *db)
{
    int64_t *ids = NULL;
    int n = 0;
    if (res_runs_orphaned(db, &ids, &n, NULL) < 0 || n == 0) {
        free(ids);
        return;
    }
    fprintf(stderr, "thaw report: %d orphaned run%s (still 'running', the process is gone):", n,
            n == 1 ? "" : "s");
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s %lld", i ? "," : "", (long long)ids[i]);
    fprintf(stderr, "; `thaw prune` removes them\n");
    free(ids);
}

/* The --select table: one row per run of the selector. */
static int report_table(struct res_db *db, const char *selector, const char **metrics,
                        int n_metrics, enum cli_format fmt)
{
    static const char *const defaults[] = {"cold_start_mean_s", "cold_start_p99_s", "makespan_s",
                                           "recovery_mean_s"};
    struct thaw_err err = {0};
    int64_t *ids = NULL;
    int n = 0;
    if (res_select_runs(db, selector, &ids, &n, &err) < 0) {
        fprintf(stderr, "thaw report: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    if (n == 0) {
        fprintf(stderr, "thaw report: no complete run matches '%s'\n", selector);
        free(ids);
        return CLI_EXIT_FAIL;
    }
    if (fmt != CLI_FMT_TABLE) {
        int erc = report_export(db, ids, n, fmt, metrics, n_metrics);
        free(ids);
        return erc;
    }
    int rc = n_metrics ? res_table_print(db, ids, n, metrics, n_metrics, stdout, &err)
                       : res_table_print(db, ids, n, defaults, 4, stdout, &err);
    free(ids);
    if (rc < 0) {
        fprintf(stderr, "thaw report: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* --by-model, --autoscaler and the anomalies of each run printed (stderr)
 * after the summary: what issue 11 asks report to say. */
static int report_models_and_anomalies(struct res_db *db, const int64_t *runs, int n, bool by_model,
                                       bool autoscaler, bool phases)
{
    struct thaw_err err = {0};
    for (int i = 0; i < n; i++) {
        if (by_model) {
            printf("\n");
            if (res_by_model_print(db, runs[i], stdout, &err) < 0) {
                fprintf(stderr, "thaw report: %s\n", err.msg);
                return CLI_EXIT_FAIL;
            }
        }
        if (autoscaler) {
            printf("\n");
            if (res_autoscale_print(db, runs[i], stdout, NULL, &err) < 0) {
                fprintf(stderr, "thaw report: %s\n", err.msg);
                return CLI_EXIT_FAIL;
            }
        }
        if (phases) {
            printf("\n");
            if (res_phases_print(db, runs[i], stdout, &err) < 0) {
                fprintf(stderr, "thaw report: %s\n", err.msg);
                return CLI_EXIT_FAIL;
            }
        }
        fflush(stdout);
        if (res_anomalies_print(db, runs[i], stderr, "thaw report", 0, NULL, &err) < 0) {
            fprintf(stderr, "thaw report: %s\n", err.msg);
            return CLI_EXIT_FAIL;
        }
    }
    return CLI_EXIT_OK;
}

/* --html: the runs as words (ids, uuid prefixes, selectors) or --select;
 * the sweep chart when they all belong to one sweep. */
static int report_html(struct res_db *db, const char *const *words, int nwords,
                       const char *selector, const char *out)
{
    struct thaw_err err = {0};
    int64_t *ids = NULL;
    int n = 0;
    int rc = selector ? res_select_runs(db, selector, &ids, &n, &err)
                      : cli_runs_resolve(db, words, nwords, &ids, &n, &err);
    if (rc == 0 && n == 0) rc = thaw_err_set(&err, THAW_ENOENT, "no run matches");
    char sweep[64] = "";
    for (int i = 0; rc == 0 && i < n; i++) {
        struct res_run_meta m;
        if ((rc = res_run_meta_load(db, ids[i], &m, &err)) < 0) break;
        if (i == 0)
            snprintf(sweep, sizeof sweep, "%s", m.sweep_id);
        else if (strcmp(sweep, m.sweep_id))
            sweep[0] = '\0';
    }
    if (rc == 0) rc = cli_report_html(db, ids, n, sweep[0] ? sweep : NULL, out, NULL, &err);
    free(ids);
    if (rc < 0) {
        fprintf(stderr, "thaw report: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    printf("%s\n", out);
    return CLI_EXIT_OK;
}

static int report_run(int argc, char **argv)
{
    bool by_model = false, autoscaler = false, phases = false, ladder = false;
    const char *db_path = CLI_DEFAULT_DB;
    const char *selector = NULL, *html = NULL;
    enum cli_format fmt = CLI_FMT_TABLE;
    char metric_list[1024] = ""; /* every --metric, joined by ',' */
    const char **sel = calloc((size_t)argc + 1, sizeof *sel);
    if (!sel) {
        fprintf(stderr, "thaw report: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    int nsel = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        bool takes_value = !strcmp(opt, "--db") || !strcmp(opt, "--select") ||
                           !strcmp(opt, "--metric") || !strcmp(opt, "--format") ||
                           !strcmp(opt, "--html");
        if (takes_value && i + 1 >= argc) {
            free(sel);
            return cli_usage_error("report", "%s needs a value", opt);
        }
        if (!strcmp(opt, "--db")) {
            db_path = argv[++i];
        } else if (!strncmp(opt, "--db=", 5)) {
            db_path = opt + 5;
        } else if (!strcmp(opt, "--format")) {
            if (cli_format_parse("report", argv[++i], &fmt) < 0) {
                free(sel);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(opt, "--html")) {
            html = argv[++i];
        } else if (!strcmp(opt, "--select")) {
            selector = argv[++i];
        } else if (!strcmp(opt, "--metric")) {
            size_t used = strlen(metric_list);
            snprintf(metric_list + used, sizeof metric_list - used, "%s%s", used ? "," : "",
                     argv[++i]);
        } else if (!strcmp(opt, "--by-model")) {
            by_model = true;
        } else if (!strcmp(opt, "--autoscaler")) {
            autoscaler = true;
        } else if (!strcmp(opt, "--phases")) {
            phases = true;
        } else if (!strcmp(opt, "--ladder")) {
            ladder = true;
        } else if (!strcmp(opt, "--explain")) {
            fputs(res_metrics_explain(), stdout);
            free(sel);
            return CLI_EXIT_OK;
        } else if (!strcmp(opt, "--")) {
            for (i++; i < argc; i++)
                sel[nsel++] = argv[i];
        } else if (opt[0] == '-' && opt[1]) {
            free(sel);
            return cli_usage_error("report", "unknown option %s", opt);
        } else {
            sel[nsel++] = opt;
        }
    }
    if (selector && nsel) {
        free(sel);
        return cli_usage_error("report", "give runs or --select, not both");
    }
    if (html && (fmt != CLI_FMT_TABLE || metric_list[0] || by_model || autoscaler || phases || ladder)) {
        free(sel);
        return cli_usage_error("report", "--html writes everything: no --format, --metric, "
                                         "--by-model, --autoscaler or --phases with it");
    }
    if (metric_list[0] && !selector) {
        free(sel);
        return cli_usage_error("report", "--metric chooses the columns of a --select table");
    }
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr,
                "thaw report: no results database at %s (run `thaw sim` first, or give "
                "--db)\n",
                db_path);
        free(sel);
        return CLI_EXIT_FAIL;
    }
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    int64_t *runs = calloc((size_t)nsel + 1, sizeof *runs);
    int rc = CLI_EXIT_FAIL;
    if (!runs) {
        fprintf(stderr, "thaw report: out of memory\n");
        goto out;
    }
    if (res_open(db_path, &db, &err) < 0) {
        fprintf(stderr, "thaw report: %s\n", err.msg);
        goto out;
    }
    if (html) {
        rc = report_html(db, sel, nsel, selector, html);
        goto out;
    }
    if (selector) {
        const char *metrics[64];
        int n_metrics = 0;
        for (char *tok = strtok(metric_list, ","); tok && n_metrics < 64; tok = strtok(NULL, ","))
            metrics[n_metrics++] = tok;
        rc = report_table(db, selector, metrics, n_metrics, fmt);
        goto out;
    }
    int n = 0;
    if (nsel == 0) {
        if (res_last_run(db, &runs[0], &err) < 0) {
            fprintf(stderr, "thaw report: %s\n", err.msg);
            goto out;
        }
        if (runs[0] == 0) {
            fprintf(stderr, "thaw report: %s holds no runs\n", db_path);
            goto out;
        }
        n = 1;
    }
    for (int i = 0; i < nsel; i++) {
        if (res_resolve_run(db, sel[i], &runs[n++], &err) < 0) {
            fprintf(stderr, "thaw report: %s\n", err.msg);
            goto out;
        }
    }
    if (fmt != CLI_FMT_TABLE) {
        rc = report_export(db, runs, n, fmt, NULL, 0);
        goto out;
    }
    if (res_summary_print(db, runs, n, stdout, &err) < 0) {
        fprintf(stderr, "thaw report: %s\n", err.msg);
        goto out;
    }
    rc = report_models_and_anomalies(db, runs, n, by_model, autoscaler, phases);
    for (int i = 0; ladder && rc == CLI_EXIT_OK && i < n; i++) {
        printf("\n");
        if (res_ladder_print(db, runs[i], stdout, &err) < 0) {
            fprintf(stderr, "thaw report: %s\n", err.msg);
            rc = CLI_EXIT_FAIL;
        }
    }
out:
    if (db) note_orphans(db);
    res_close(db);
    free(runs);
    free(sel);
    return rc;
}

const struct cli_command cli_cmd_report = {
    "report",
    "print stored runs' summaries side by side",
    report_usage,
    report_run,
};

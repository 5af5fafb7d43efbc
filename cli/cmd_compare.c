/* cmd_compare.c - `thaw compare`: policy A/B on stored runs. Two selectors
 * pick the runs of each side; for each metric it prints both means, B - A
 * with a confidence interval (paired by seed or Welch, results/compare.c)
 * and a verdict. The statistics live in the results library so that tests
 * check them on synthetic runs; this file parses and prints. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

static const char compare_usage[] =
    "usage: thaw compare [--db PATH] --a SELECTOR --b SELECTOR [--metric M...] [--level L]\n"
    "                    [--format table|csv|json]\n"
    "\n"
    "Compares two sets of stored runs (sim or exec alike), metric by metric: the\n"
    "mean of A, the mean of B, the difference B - A with a confidence interval,\n"
    "and a verdict: \"A better\", \"B better\" or \"no significant difference\"\n"
    "(the interval holds 0). Lower is better for every latency, time, miss and\n"
    "loss metric; higher is better for shm_hit_rate, vram_util_mean,\n"
    "requests_served, loads_ok and recovery_count.\n"
    "\n"
    "The interval is paired by seed when both sides ran the same seeds, each\n"
    "once (a t interval on the per-seed differences, df = n - 1); otherwise it\n"
    "is Welch's interval (Welch-Satterthwaite df). Quantiles of t from GSL.\n"
    "With a single run on a side the values are printed and no interval.\n"
    "Runs where a metric is NULL (no data) are left out of that metric.\n"
    "\n"
    "options:\n"
    "  --db PATH        results database (default " CLI_DEFAULT_DB ")\n"
    "  --a SELECTOR     the runs of side A; repeat to add conditions\n"
    "  --b SELECTOR     the runs of side B\n"
    "  --metric M       a metric to compare (repeatable, or M1,M2); default:\n"
    "                   cold_start_mean_s cold_start_p99_s makespan_s\n"
    "                   recovery_mean_s request_p99_s\n"
    "  --level L        confidence level, 0 < L < 1 (default 0.95)\n"
    "  --format F       table (default), csv or json: one row per metric with\n"
    "                   metric, n_a, n_b, a_mean, b_mean, diff, ci_lo, ci_hi,\n"
    "                   level, method (paired|welch|none), df, verdict (a|b|same|\n"
    "                   empty), a_runs, b_runs (the ids, space-separated)\n"
    "\n"
    "selectors: terms that must all hold, separated by spaces or ';'\n"
    "  1,2,5  3-7       run ids\n"
    "  sweep=ID         runs of a sweep\n"
    "  policy=k=v,...   runs whose policy has these items, e.g.\n"
    "                   policy=queue=priority,shm=preload\n"
    "  param:k=v        a sweep parameter or --set override, e.g. param:policy.shm=off\n"
    "  scenario=NAME    scenario path, file name, or name without .yaml\n"
    "  mode=sim|exec    status=S  (only complete runs unless status= is given)\n"
    "\n"
    "examples:\n"
    "  thaw compare --a sweep=s1 --a policy=queue=fifo --b sweep=s1 --b policy=queue=priority\n"
    "  thaw compare --a 1-30 --b 31-60 --metric cold_start_p99_s\n"
    "  thaw compare --a 'scenario=failover-standby mode=sim' --b 'scenario=failover-standby "
    "mode=exec'\n";

static const char *const default_metrics[] = {"cold_start_mean_s", "cold_start_p99_s", "makespan_s",
                                              "recovery_mean_s", "request_p99_s"};

#define MAX_METRICS 64

static bool known_metric(const char *m)
{
    for (const char *const *n = res_metric_names(); *n; n++)
        if (!strcmp(*n, m)) return true;
    return false;
}

/* Appends " TERM" to a selector buffer. */
static int add_term(char *sel, size_t len, const char *term)
{
    size_t used = strlen(sel);
    int n = snprintf(sel + used, len - used, "%s%s", used ? ";" : "", term);
    return n < 0 || (size_t)n >= len - used ? -1 : 0;
}

static void print_ids(const char *side, const char *sel, const int64_t *ids, int n)
{
    printf("%s: %d run%s (%s):", side, n, n == 1 ? "" : "s", sel);
    for (int i = 0; i < n && i < 20; i++)
        printf(" %lld", (long long)ids[i]);
    if (n > 20) printf(" ...");
    printf("\n");
}

static void fmt(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.3f", v);
}

static const char *verdict_text(enum res_verdict v)
{
    switch (v) {
    case RES_VERDICT_A:
        return "A better";
    case RES_VERDICT_B:
        return "B better";
    case RES_VERDICT_SAME:
        return "no significant difference";
    case RES_VERDICT_NONE:
        break;
    }
    return "-";
}

/* The ids as "1 2 5" (truncated past the buffer). */
static void ids_text(char *buf, size_t len, const int64_t *ids, int n)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t used = strlen(buf);
        if (snprintf(buf + used, len - used, "%s%lld", i ? " " : "", (long long)ids[i]) >=
            (int)(len - used))
            break;
    }
}

static struct res_value real_value(double v)
{
    return isfinite(v) ? (struct res_value){.type = RES_VAL_REAL, .r = v} : (struct res_value){0};
}

static struct res_value text_value(const char *t)
{
    return (struct res_value){.type = RES_VAL_TEXT, .text = t};
}

/* --format csv|json: one row per metric, the numbers unrounded. */
static int compare_rows(struct res_db *db, const int64_t *a, int na, const int64_t *b, int nb,
                        const char *const *metrics, int nmetrics, double level, enum cli_format fmt)
{
    static const char *const cols[] = {"metric", "n_a",     "n_b",    "a_mean", "b_mean",
                                       "diff",   "ci_lo",   "ci_hi",  "level",  "method",
                                       "df",     "verdict", "a_runs", "b_runs"};
    enum { NCOLS = (int)(sizeof cols / sizeof cols[0]) };
    char a_ids[4096], b_ids[4096];
    ids_text(a_ids, sizeof a_ids, a, na);
    ids_text(b_ids, sizeof b_ids, b, nb);
    struct cli_writer w;
    cli_writer_init(&w, fmt, stdout);
    int rc = cli_writer_columns(&w, NCOLS, cols) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    for (int m = 0; m < nmetrics && rc == CLI_EXIT_OK; m++) {
        struct res_comparison c;
        struct thaw_err err = {0};
        if (res_compare_metric(db, a, na, b, nb, metrics[m], level, &c, &err) < 0) {
            fprintf(stderr, "thaw compare: %s: %s\n", metrics[m], err.msg);
            rc = CLI_EXIT_FAIL;
            break;
        }
        bool ci = c.method != RES_CMP_NONE;
        double diff = c.method == RES_CMP_PAIRED ? c.ci.diff : c.mean_b - c.mean_a;
        static const char *const verdicts[] = {"", "same", "a", "b"};
        struct res_value v[NCOLS] = {
            text_value(metrics[m]),
            {.type = RES_VAL_INT, .i = c.n_a},
            {.type = RES_VAL_INT, .i = c.n_b},
            real_value(c.mean_a),
            real_value(c.mean_b),
            real_value(diff),
            real_value(ci ? c.ci.lo : NAN),
            real_value(ci ? c.ci.hi : NAN),
            real_value(level),
            text_value(c.method == RES_CMP_PAIRED  ? "paired"
                       : c.method == RES_CMP_WELCH ? "welch"
                                                   : "none"),
            real_value(ci ? c.ci.df : NAN),
            c.verdict == RES_VERDICT_NONE ? (struct res_value){0} : text_value(verdicts[c.verdict]),
            text_value(a_ids),
            text_value(b_ids),
        };
        if (cli_writer_row(&w, NCOLS, v) < 0) rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK && cli_writer_end(&w) < 0) rc = CLI_EXIT_FAIL;
    cli_writer_free(&w);
    return rc;
}

static int compare_run(int argc, char **argv)
{
    const char *db_path = CLI_DEFAULT_DB;
    char sel_a[2048] = "", sel_b[2048] = "";
    const char *metrics[MAX_METRICS];
    char *metric_buf[MAX_METRICS];
    int nmetrics = 0, nbuf = 0;
    double level = 0.95;
    enum cli_format format = CLI_FMT_TABLE;
    int rc = CLI_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--db") && strcmp(opt, "--a") && strcmp(opt, "--b") &&
            strcmp(opt, "--metric") && strcmp(opt, "--level") && strcmp(opt, "--format")) {
            cli_usage_error("compare", "unexpected argument %s", opt);
            goto out;
        }
        if (i + 1 >= argc) {
            cli_usage_error("compare", "%s needs a value", opt);
            goto out;
        }
        const char *v = argv[++i];
        if (!strcmp(opt, "--db")) {
            db_path = v;
        } else if (!strcmp(opt, "--format")) {
            if (cli_format_parse("compare", v, &format) < 0) goto out;
        } else if (!strcmp(opt, "--a") || !strcmp(opt, "--b")) {
            if (add_term(opt[2] == 'a' ? sel_a : sel_b, sizeof sel_a, v) < 0) {
                cli_usage_error("compare", "selector too long");
                goto out;
            }
        } else if (!strcmp(opt, "--level")) {
            char *end;
            level = strtod(v, &end);
            if (*end || !(level > 0 && level < 1)) {
                cli_usage_error("compare", "--level expects a number in (0, 1), found \"%s\"", v);
                goto out;
            }
        } else {
            /* --metric M or M1,M2 */
            char *copy = strdup(v);
            if (!copy || nbuf == MAX_METRICS) {
                free(copy);
                cli_usage_error("compare", "too many --metric options");
                goto out;
            }
            metric_buf[nbuf++] = copy;
            for (char *save = NULL, *m = strtok_r(copy, ",", &save); m;
                 m = strtok_r(NULL, ",", &save)) {
                if (!known_metric(m)) {
                    fprintf(stderr, "thaw compare: unknown metric \"%s\"; metrics are:", m);
                    for (const char *const *n = res_metric_names(); *n; n++)
                        fprintf(stderr, " %s", *n);
                    fprintf(stderr, "\n");
                    goto out;
                }
                if (nmetrics == MAX_METRICS) {
                    cli_usage_error("compare", "too many metrics");
                    goto out;
                }
                metrics[nmetrics++] = m;
            }
        }
    }
    if (!*sel_a || !*sel_b) {
        cli_usage_error("compare", "both --a and --b are required");
        goto out;
    }
    if (nmetrics == 0)
        for (size_t i = 0; i < sizeof default_metrics / sizeof default_metrics[0]; i++)
            metrics[nmetrics++] = default_metrics[i];

    rc = CLI_EXIT_FAIL;
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "thaw compare: no results database at %s\n", db_path);
        goto out;
    }
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    int64_t *a = NULL, *b = NULL;
    int na = 0, nb = 0;
    if (res_open(db_path, &db, &err) < 0) {
        fprintf(stderr, "thaw compare: %s\n", err.msg);
        goto out;
    }
    int src;
    if ((src = res_select_runs(db, sel_a, &a, &na, &err)) < 0 ||
        (src = res_select_runs(db, sel_b, &b, &nb, &err)) < 0) {
        fprintf(stderr, "thaw compare: %s\n", err.msg);
        if (src == THAW_EINVAL) rc = CLI_EXIT_USAGE;
        goto close;
    }
    if (na == 0 || nb == 0) {
        fprintf(stderr, "thaw compare: selector %s (\"%s\") matches no complete run\n",
                na == 0 ? "A" : "B", na == 0 ? sel_a : sel_b);
        goto close;
    }
    if (format != CLI_FMT_TABLE) {
        rc = compare_rows(db, a, na, b, nb, metrics, nmetrics, level, format);
        goto close;
    }
    print_ids("A", sel_a, a, na);
    print_ids("B", sel_b, b, nb);
    int overlap = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            overlap += a[i] == b[j];
    if (overlap)
        printf("warning: %d run%s on both sides\n", overlap, overlap == 1 ? " is" : "s are");

    char ci_head[48];
    snprintf(ci_head, sizeof ci_head, "%g%% CI of B - A", level * 100);
    printf("\n%-22s %10s %10s %10s  %-24s %-16s %s\n", "metric", "A mean", "B mean", "B - A",
           ci_head, "method", "verdict");
    bool any_single = false;
    for (int m = 0; m < nmetrics; m++) {
        struct res_comparison c;
        if (res_compare_metric(db, a, na, b, nb, metrics[m], level, &c, &err) < 0) {
            fprintf(stderr, "thaw compare: %s: %s\n", metrics[m], err.msg);
            goto close;
        }
        char ma[32], mb[32], d[32], ci[64], method[32];
        fmt(ma, sizeof ma, c.mean_a);
        fmt(mb, sizeof mb, c.mean_b);
        fmt(d, sizeof d, c.mean_b - c.mean_a);
        if (c.method == RES_CMP_PAIRED) {
            fmt(d, sizeof d, c.ci.diff);
            snprintf(ci, sizeof ci, "[%.3f, %.3f]", c.ci.lo, c.ci.hi);
            snprintf(method, sizeof method, "paired n=%d", c.n_a);
        } else if (c.method == RES_CMP_WELCH) {
            snprintf(ci, sizeof ci, "[%.3f, %.3f]", c.ci.lo, c.ci.hi);
            snprintf(method, sizeof method, "welch df=%.1f", c.ci.df);
        } else {
            snprintf(ci, sizeof ci, "%s", c.n_a == 0 || c.n_b == 0 ? "no values" : "no interval");
            snprintf(method, sizeof method, "n=%d/%d", c.n_a, c.n_b);
            if (c.n_a == 1 || c.n_b == 1) any_single = true;
        }
        printf("%-22s %10s %10s %10s  %-24s %-16s %s\n", metrics[m], ma, mb, d, ci, method,
               verdict_text(c.verdict));
    }
    if (any_single)
        printf("\nno interval can be computed from a single run on a side: run more seeds "
               "(e.g. thaw sweep --seeds 1-10).\n");
    rc = CLI_EXIT_OK;
close:
    free(a);
    free(b);
    res_close(db);
out:
    for (int i = 0; i < nbuf; i++)
        free(metric_buf[i]);
    return rc;
}

const struct cli_command cli_cmd_compare = {
    "compare",
    "A/B test two sets of runs: means, difference, 95% CI, verdict",
    compare_usage,
    compare_run,
};

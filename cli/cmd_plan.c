/* cmd_plan.c - `thaw plan`: capacity planning by search. The smallest
 * integer value of one scenario key (GPUs, shm size in GiB, ...) for which a
 * summary metric, averaged over seeds, meets a target; found by bisection
 * (cli_plan_search in sweep_grid.c, which assumes monotonicity and checks
 * the answer's neighbours), with every evaluated point printed as evidence
 * and recorded in the database under one plan id. */
#include "cli.h"
#include "sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>

#include "exec.h"
#include "results.h"

static const char usage[] =
    "usage: thaw plan SCENARIO --vary KEY=LO..HI --target 'METRIC<VALUE'...\n"
    "                 [--seeds LIST] [--policy SPEC] [--set KEY=V]... [--jobs N]\n"
    "                 [--allow-unserved] [--db DB] [--quiet] [--format table|csv|json]\n"
    "                 [--record LEVEL]\n"
    "\n"
    "Finds the smallest integer value of KEY in LO..HI for which METRIC (the mean\n"
    "over the seeds of a summary metric, see 'thaw report') meets the target, e.g.\n"
    "how many GPUs finish eight simultaneous cold starts within 70 s:\n"
    "\n"
    "  thaw plan scenarios/scaling.yaml --vary 'cluster.nodes[0].gpus=1..8' \\\n"
    "      --target 'makespan_s<=70'\n"
    "\n"
    "Several --target options must all hold. A point where any request was never\n"
    "served or any model never served misses, whatever the targets say, unless\n"
    "--allow-unserved. Cold-start percentiles (cold_start_p50_s, _p95_s, _p99_s)\n"
    "are pooled over every seed's cold starts, with a 95% order-statistic\n"
    "interval; other metrics are the mean over the seeds, with a t interval.\n"
    "\n"
    "The search bisects the range, assuming the target is missed below some value\n"
    "and met from it on (more GPUs never hurt, say), then evaluates the neighbours\n"
    "of the answer as a check. Every evaluated value is printed as a table, and a\n"
    "warning says when the metric is not monotone among them or the target's truth\n"
    "does not switch once: then the assumption is wrong and a full 'thaw sweep'\n"
    "over the range is the safer tool. Each run is recorded under a plan id\n"
    "(runs.sweep_id), so 'thaw plot sweep ID' draws the metric against KEY.\n"
    "\n"
    "options:\n"
    "  --vary KEY=LO..HI  the scenario key to search and its integer range\n"
    "  --target T         METRIC<VALUE, METRIC<=VALUE, METRIC>VALUE or METRIC>=VALUE\n"
    "                     (repeatable: all must hold)\n"
    "  --allow-unserved   a point may meet the targets with requests unserved\n"
    "  --seeds LIST       seeds per evaluated value, such as 1-10 (default: the\n"
    "                     scenario's seed)\n"
    "  --policy SPEC      policy overrides for every run (queue=priority,...)\n"
    "  --set KEY=V        other scenario overrides (repeatable)\n"
    "  --jobs N           simulations at once (default: the number of CPUs)\n"
    "  --db DB            results database (default " CLI_DEFAULT_DB ")\n"
    "  --quiet            no progress lines\n"
    "  --format F         the evaluated points as a table (default), or csv / json:\n"
    "                     a row (object) per point: KEY, per target METRIC,\n"
    "                     METRIC_ci95_low, METRIC_ci95_high, METRIC_n, then\n"
    "                     unserved, target (met | missed), first_run, last_run; the\n"
    "                     answer and plan id then go to stderr\n"
    "  --record LEVEL     rows each run writes: summary (default), loads or all\n"
    "                     (as thaw sweep; --no-record is --record summary)\n"
    "\n"
    "exit status: 0 an answer was found, 1 no value in the range meets the target\n"
    "or a run failed, 2 usage error\n";

#define MAX_SETS 64
#define MAX_TARGETS 8

/* What eval() needs, and what it learned about each value it ran. */
struct plan_ctx {
    const char *scenario;
    const char *key;
    const char *sets[MAX_SETS];
    int set_count;
    const char *policy;
    struct cli_sweep_grid seeds; /* seeds only */
    const struct cli_plan_target *targets;
    int target_count;
    bool allow_unserved;
    struct cli_sweep_exec_opts exec;
    struct res_db *db; /* this thread's connection, to read the metrics */
    bool failed;       /* a scenario or a run failed: stop evaluating */
    bool quiet;
    int count;
    struct {
        long x;
        /* per target: the value and its 95% interval [lo, hi] (pooled
         * order statistics, or mean +/- t half-width; lo = hi = value for
         * one seed) */
        double value[MAX_TARGETS], lo[MAX_TARGETS], hi[MAX_TARGETS];
        int n[MAX_TARGETS]; /* seeds (or pooled cold starts) with a value */
        double unserved;    /* requests never served, over the seeds */
        double never;       /* models never served, summed over the seeds */
        bool meets;
        int runs;
        int64_t first_run, last_run;
    } seen[CLI_PLAN_MAX_POINTS];
};

/* A target metric's value at one point and its 95% interval. Cold-start
 * percentiles are pooled over the seeds' loads (res_cold_start_pooled: an
 * order-statistic interval). Other metrics: the mean over the seeds with a
 * value, mean -/+ t(0.975, k-1) sd/sqrt(k). */
static int plan_value(struct plan_ctx *c, const struct cli_sweep_job *jobs, size_t n,
                      const char *metric, double *v, double *lo, double *hi, int *count)
{
    *v = *lo = *hi = NAN;
    *count = 0;
    double p = res_pooled_quantile(metric);
    if (p > 0) {
        int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
        if (!ids) {
            fprintf(stderr, "thaw plan: out of memory\n");
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            ids[i] = jobs[i].run_id;
        struct res_pooled pooled;
        struct thaw_err err = {0};
        int rc = res_cold_start_pooled(c->db, ids, n, p, &pooled, &err);
        free(ids);
        if (rc < 0) {
            fprintf(stderr, "thaw plan: %s\n", err.msg);
            return -1;
        }
        *v = pooled.value;
        *lo = pooled.lo;
        *hi = pooled.hi;
        *count = (int)pooled.count;
        return 0;
    }
    double *vals = calloc(n ? n : 1, sizeof *vals);
    if (!vals) {
        fprintf(stderr, "thaw plan: out of memory\n");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double x = res_metric_value(c->db, jobs[i].run_id, metric);
        if (!isnan(x)) vals[k++] = x;
    }
    if (k > 0) *v = *lo = *hi = gsl_stats_mean(vals, 1, k);
    if (k > 1) {
        double half = gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) * gsl_stats_sd_m(vals, 1, k, *v) /
                      sqrt((double)k);
        *lo = *v - half;
        *hi = *v + half;
    }
    *count = (int)k;
    free(vals);
    return 0;
}

static double eval(long x, void *arg)
{
    struct plan_ctx *c = arg;
    if (c->failed || c->count == CLI_PLAN_MAX_POINTS) return NAN;
    struct cli_overrides ovr;
    cli_overrides_init(&ovr);
    char kv[512];
    for (int i = 0; i < c->set_count; i++)
        if (cli_overrides_add_set(&ovr, c->sets[i]) < 0) c->failed = true;
    snprintf(kv, sizeof kv, "%s=%ld", c->key, x);
    if (cli_overrides_add_set(&ovr, kv) < 0) c->failed = true;
    if (c->policy && cli_overrides_add_policy(&ovr, c->policy) < 0) c->failed = true;
    struct core_spec *spec = c->failed ? NULL : cli_load_spec(c->scenario, &ovr);
    if (!spec) {
        fprintf(stderr, "thaw plan: the scenario does not load with %s\n", kv);
        c->failed = true;
        cli_overrides_free(&ovr);
        return NAN;
    }
    size_t n = c->seeds.seed_count ? c->seeds.seed_count : 1;
    struct cli_sweep_job *jobs = calloc(n, sizeof *jobs);
    double value = NAN;
    if (!jobs) {
        fprintf(stderr, "thaw plan: out of memory\n");
        c->failed = true;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i].spec = spec;
        jobs[i].overrides = ovr.text;
        snprintf(jobs[i].params, sizeof jobs[i].params, "%s%s%s", kv, c->policy ? ";policy=" : "",
                 c->policy ? c->policy : "");
        jobs[i].has_seed = c->seeds.seed_count > 0;
        jobs[i].seed = jobs[i].has_seed ? c->seeds.seeds[i] : 0;
    }
    struct thaw_err err = {0};
    long failed = cli_sweep_execute(jobs, n, &c->exec, &err);
    if (failed != 0) {
        if (failed < 0) fprintf(stderr, "thaw plan: %s\n", err.msg);
        for (size_t i = 0; i < n && failed > 0; i++)
            if (jobs[i].rc < 0)
                fprintf(stderr, "thaw plan: %s seed %llu failed: %s\n", kv,
                        (unsigned long long)jobs[i].seed, jobs[i].err);
        c->failed = true;
        goto done;
    }
    int idx = c->count++;
    c->seen[idx].x = x;
    c->seen[idx].runs = (int)n;
    c->seen[idx].first_run = jobs[0].run_id;
    c->seen[idx].last_run = jobs[n - 1].run_id;
    c->seen[idx].unserved = 0;
    c->seen[idx].never = 0;
    for (size_t i = 0; i < n; i++) {
        double u = res_metric_value(c->db, jobs[i].run_id, "requests_unserved");
        double m = res_metric_value(c->db, jobs[i].run_id, "models_never_served");
        if (!isnan(u)) c->seen[idx].unserved += u;
        if (!isnan(m)) c->seen[idx].never += m;
    }
    bool all = c->allow_unserved || (c->seen[idx].unserved == 0 && c->seen[idx].never == 0);
    for (int t = 0; t < c->target_count; t++) {
        double v, lo, hi;
        int k;
        if (plan_value(c, jobs, n, c->targets[t].metric, &v, &lo, &hi, &k) < 0) {
            c->failed = true;
            value = NAN;
            goto done;
        }
        c->seen[idx].value[t] = v;
        c->seen[idx].lo[t] = lo;
        c->seen[idx].hi[t] = hi;
        c->seen[idx].n[t] = k;
        bool met = cli_plan_meets(&c->targets[t], v);
        if (!met) all = false;
        if (!c->quiet)
            fprintf(stderr, "plan: %s -> %s = %.6g [%.4g, %.4g] over %d %s: %s\n", kv,
                    c->targets[t].metric, v, lo, hi, k,
                    res_pooled_quantile(c->targets[t].metric) > 0 ? "cold starts" : "seeds",
                    met ? "meets the target" : "misses the target");
    }
    if (!c->quiet && !c->allow_unserved && (c->seen[idx].unserved > 0 || c->seen[idx].never > 0))
        fprintf(stderr,
                "plan: %s -> %.0f requests never served, %.0f models never served over %zu seed%s: "
                "misses (--allow-unserved to ignore)\n",
                kv, c->seen[idx].unserved, c->seen[idx].never, n, n == 1 ? "" : "s");
    c->seen[idx].meets = all;
    value = all ? 1.0 : 0.0;
done:
    free(jobs);
    core_spec_free(spec);
    cli_overrides_free(&ovr);
    return value;
}

static int find_seen(const struct plan_ctx *c, long x)
{
    for (int i = 0; i < c->count; i++)
        if (c->seen[i].x == x) return i;
    return -1;
}

/* --format csv|json: the evaluated points, one row each, in the order of
 * the table. */
static int plan_rows(const struct plan_ctx *c, const struct cli_plan_result *r, enum cli_format fmt)
{
    enum { PER_TARGET = 4, FIXED = 5 };
    char names[FIXED + PER_TARGET * MAX_TARGETS][96];
    const char *cols[FIXED + PER_TARGET * MAX_TARGETS];
    int nc = 0;
    snprintf(names[nc++], sizeof names[0], "%s", c->key);
    for (int t = 0; t < c->target_count; t++) {
        const char *m = c->targets[t].metric;
        snprintf(names[nc++], sizeof names[0], "%s", m);
        snprintf(names[nc++], sizeof names[0], "%s_ci95_low", m);
        snprintf(names[nc++], sizeof names[0], "%s_ci95_high", m);
        snprintf(names[nc++], sizeof names[0], "%s_n", m);
    }
    static const char *const tail[] = {"unserved", "target", "first_run", "last_run"};
    for (int i = 0; i < 4; i++)
        snprintf(names[nc++], sizeof names[0], "%s", tail[i]);
    for (int i = 0; i < nc; i++)
        cols[i] = names[i];
    struct cli_writer w;
    cli_writer_init(&w, fmt, stdout);
    int rc = cli_writer_columns(&w, nc, cols);
    for (int i = 0; rc == 0 && i < r->point_count; i++) {
        int s = find_seen(c, r->points[i].x);
        if (s < 0) continue;
        struct res_value v[FIXED + PER_TARGET * MAX_TARGETS];
        int k = 0;
        v[k++] = (struct res_value){.type = RES_VAL_INT, .i = c->seen[s].x};
        for (int t = 0; t < c->target_count; t++) {
            v[k++] = (struct res_value){.type = RES_VAL_REAL, .r = c->seen[s].value[t]};
            v[k++] = (struct res_value){.type = RES_VAL_REAL, .r = c->seen[s].lo[t]};
            v[k++] = (struct res_value){.type = RES_VAL_REAL, .r = c->seen[s].hi[t]};
            v[k++] = (struct res_value){.type = RES_VAL_INT, .i = c->seen[s].n[t]};
        }
        v[k++] = (struct res_value){.type = RES_VAL_REAL, .r = c->seen[s].unserved};
        v[k++] =
            (struct res_value){.type = RES_VAL_TEXT, .text = c->seen[s].meets ? "met" : "missed"};
        v[k++] = (struct res_value){.type = RES_VAL_INT, .i = c->seen[s].first_run};
        v[k++] = (struct res_value){.type = RES_VAL_INT, .i = c->seen[s].last_run};
        rc = cli_writer_row(&w, k, v);
    }
    if (rc == 0) rc = cli_writer_end(&w);
    cli_writer_free(&w);
    return rc;
}

static int run(int argc, char **argv)
{
    struct plan_ctx *c = calloc(1, sizeof *c);
    const char *vary = NULL, *db_path = CLI_DEFAULT_DB;
    const char *target_text[MAX_TARGETS];
    int target_count = 0;
    unsigned long long jobs_n = 0;
    enum cli_format fmt = CLI_FMT_TABLE;
    struct cli_plan_target targets[MAX_TARGETS];
    struct thaw_err err = {0};
    int rc = CLI_EXIT_USAGE;
    char key[256];
    long lo = 0, hi = 0;
    int record = RES_RECORD_SUMMARY;
    if (!c) {
        fprintf(stderr, "thaw plan: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    cli_sweep_grid_init(&c->seeds);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = !strcmp(a, "--vary") || !strcmp(a, "--target") || !strcmp(a, "--seeds") ||
                     !strcmp(a, "--policy") || !strcmp(a, "--set") || !strcmp(a, "--jobs") ||
                     !strcmp(a, "--db") || !strcmp(a, "--format") || !strcmp(a, "--record");
        if (takes) {
            if (i + 1 >= argc) {
                cli_usage_error("plan", "%s needs a value", a);
                goto out;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--vary")) {
                vary = v;
            } else if (!strcmp(a, "--target")) {
                if (target_count == MAX_TARGETS) {
                    cli_usage_error("plan", "at most %d --target options", MAX_TARGETS);
                    goto out;
                }
                target_text[target_count++] = v;
            } else if (!strcmp(a, "--seeds")) {
                if (cli_sweep_grid_add_seeds(&c->seeds, v, &err) < 0) {
                    cli_usage_error("plan", "%s", err.msg);
                    goto out;
                }
            } else if (!strcmp(a, "--policy")) {
                if (c->policy) {
                    cli_usage_error("plan", "one --policy (join its settings with commas)");
                    goto out;
                }
                c->policy = v;
            } else if (!strcmp(a, "--set")) {
                if (c->set_count == MAX_SETS || !strchr(v, '=')) {
                    cli_usage_error("plan", "--set expects KEY=VALUE (at most %d)", MAX_SETS);
                    goto out;
                }
                c->sets[c->set_count++] = v;
            } else if (!strcmp(a, "--db")) {
                db_path = v;
            } else if (!strcmp(a, "--format")) {
                if (cli_format_parse("plan", v, &fmt) < 0) goto out;
            } else if (!strcmp(a, "--record")) {
                if (cli_parse_record("plan", v, &record) < 0) goto out;
            } else if (cli_parse_range("plan", "--jobs", v, 1, 1024, &jobs_n) < 0) {
                goto out;
            }
        } else if (!strcmp(a, "--quiet")) {
            c->quiet = true;
        } else if (!strcmp(a, "--no-record")) {
            record = RES_RECORD_SUMMARY;
        } else if (!strcmp(a, "--allow-unserved")) {
            c->allow_unserved = true;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("plan", "unknown option %s", a);
            goto out;
        } else if (c->scenario) {
            cli_usage_error("plan", "one scenario at a time (found %s and %s)", c->scenario, a);
            goto out;
        } else {
            c->scenario = a;
        }
    }
    if (!c->scenario || !vary || target_count == 0) {
        cli_usage_error("plan", "needs SCENARIO, --vary KEY=LO..HI and --target 'METRIC<VALUE'");
        goto out;
    }
    if (cli_plan_range_parse(vary, key, sizeof key, &lo, &hi, &err) < 0) {
        cli_usage_error("plan", "%s", err.msg);
        goto out;
    }
    for (int t = 0; t < target_count; t++) {
        if (cli_plan_target_parse(target_text[t], &targets[t], &err) < 0) {
            cli_usage_error("plan", "%s", err.msg);
            goto out;
        }
        if (res_metric_higher_is_better(targets[t].metric) < 0) {
            cli_usage_error("plan", "\"%s\" is not a summary metric (see 'thaw report')",
                            targets[t].metric);
            goto out;
        }
    }
    /* The search sees one target: every real one met (eval returns 1). */
    struct cli_plan_target all_met = {.op = CLI_PLAN_GE, .value = 1};
    snprintf(all_met.metric, sizeof all_met.metric, "all targets");
    rc = CLI_EXIT_FAIL;
    c->key = key;
    c->targets = targets;
    c->target_count = target_count;
    char plan_id[32] = "plan-";
    if (cli_sweep_new_id(plan_id + 5, sizeof plan_id - 5, &err) < 0 ||
        res_open(db_path, &c->db, &err) < 0) {
        fprintf(stderr, "thaw plan: %s\n", err.msg);
        goto out;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->exec = (struct cli_sweep_exec_opts){
        .db_path = db_path,
        .sweep_id = plan_id,
        .threads = jobs_n ? (int)jobs_n : (cpus > 0 ? (int)cpus : 1),
        .progress = false,
        .what = "plan",
        .stop = &exec_signal_flag, /* the process's one signal flag (exec.h) */
        .record = record,
    };
    if (exec_signals_install(&err) < 0) {
        fprintf(stderr, "thaw plan: %s\n", err.msg);
        goto out;
    }
    /* "m<v and m2<=w" for the messages */
    char what[1024] = "";
    for (int t = 0; t < target_count; t++) {
        size_t used = strlen(what);
        snprintf(what + used, sizeof what - used, "%s%s %s %g", t ? " and " : "", targets[t].metric,
                 cli_plan_op_text(targets[t].op), targets[t].value);
    }
    if (!c->allow_unserved) {
        size_t used = strlen(what);
        snprintf(what + used, sizeof what - used, " with every request served");
    }
    if (!c->quiet)
        fprintf(stderr, "thaw plan %s: smallest %s in %ld..%ld with %s\n", plan_id, key, lo, hi,
                what);
    struct cli_plan_result *r = malloc(sizeof *r);
    if (!r) {
        fprintf(stderr, "thaw plan: out of memory\n");
        goto out;
    }
    cli_plan_search(lo, hi, &all_met, eval, c, r);

    /* The evidence: every evaluated value in order (a point the search
     * asked for but that was never evaluated is no evidence: left out). */
    int kw = (int)(strlen(key) > 8 ? strlen(key) : 8);
    if (fmt != CLI_FMT_TABLE) {
        if (plan_rows(c, r, fmt) < 0) {
            fprintf(stderr, "thaw plan: cannot write the points\n");
            c->failed = true;
        }
        goto answer;
    }
    printf("%-*s", kw, key);
    for (int t = 0; t < target_count; t++)
        printf("  %-22s %-23s %6s", targets[t].metric, "95% interval", "n");
    printf(" %9s  %-6s %s\n", "unserved", "target", "runs");
    for (int i = 0; i < r->point_count; i++) {
        int sidx = find_seen(c, r->points[i].x);
        if (sidx < 0) continue;
        printf("%-*ld", kw, r->points[i].x);
        for (int t = 0; t < target_count; t++) {
            char ci[64];
            snprintf(ci, sizeof ci, "[%.4g, %.4g]", c->seen[sidx].lo[t], c->seen[sidx].hi[t]);
            printf("  %-22.6g %-23s %6d", c->seen[sidx].value[t], ci, c->seen[sidx].n[t]);
        }
        printf(" %9.0f  %-6s %lld..%lld\n", c->seen[sidx].unserved,
               c->seen[sidx].meets ? "met" : "missed", (long long)c->seen[sidx].first_run,
               (long long)c->seen[sidx].last_run);
    }
answer:;
    /* csv / json keep stdout for the rows */
    FILE *say = fmt == CLI_FMT_TABLE ? stdout : stderr;
    if (c->failed) {
        fprintf(stderr, "thaw plan: stopped: a point could not be evaluated (see above)\n");
    } else {
        if (r->found && !r->consistent)
            fprintf(stderr,
                    "thaw plan: warning: the targets are not met from %ld on and missed below "
                    "it among the evaluated points (not monotone in %s?); the answer may be "
                    "wrong: check the whole range with thaw sweep --set %s=...\n",
                    r->answer, key, key);
        if (r->found) {
            fprintf(say, "answer: %s = %ld (%s)\n", key, r->answer, what);
            rc = CLI_EXIT_OK;
        } else {
            fprintf(say, "answer: none: no %s in %ld..%ld gives %s\n", key, lo, hi, what);
        }
    }
    fprintf(say, "plan %s (runs in %s)\n", plan_id, db_path);
    free(r);
out:
    if (c->db) res_close(c->db);
    cli_sweep_grid_free(&c->seeds);
    free(c);
    return rc;
}

const struct cli_command cli_cmd_plan = {
    "plan", "find the smallest value of a key that meets a metric target", usage, run};

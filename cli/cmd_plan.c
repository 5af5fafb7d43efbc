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
    "usage: thaw plan SCENARIO --vary KEY=LO..HI --target 'METRIC<VALUE'\n"
    "                 [--seeds LIST] [--policy SPEC] [--set KEY=V]... [--jobs N]\n"
    "                 [--db DB] [--quiet]\n"
    "\n"
    "Finds the smallest integer value of KEY in LO..HI for which METRIC (the mean\n"
    "over the seeds of a summary metric, see 'thaw report') meets the target, e.g.\n"
    "how many GPUs finish eight simultaneous cold starts within 70 s:\n"
    "\n"
    "  thaw plan scenarios/scaling.yaml --vary 'cluster.nodes[0].gpus=1..8' \\\n"
    "      --target 'makespan_s<=70'\n"
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
    "  --seeds LIST       seeds per evaluated value, such as 1-10 (default: the\n"
    "                     scenario's seed)\n"
    "  --policy SPEC      policy overrides for every run (queue=priority,...)\n"
    "  --set KEY=V        other scenario overrides (repeatable)\n"
    "  --jobs N           simulations at once (default: the number of CPUs)\n"
    "  --db DB            results database (default " CLI_DEFAULT_DB ")\n"
    "  --quiet            no progress lines\n"
    "\n"
    "exit status: 0 an answer was found, 1 no value in the range meets the target\n"
    "or a run failed, 2 usage error\n";

#define MAX_SETS 64

/* What eval() needs, and what it learned about each value it ran. */
struct plan_ctx {
    const char *scenario;
    const char *key;
    const char *sets[MAX_SETS];
    int set_count;
    const char *policy;
    struct cli_sweep_grid seeds; /* seeds only */
    const struct cli_plan_target *target;
    struct cli_sweep_exec_opts exec;
    struct res_db *db; /* this thread's connection, to read the metrics */
    bool failed;       /* a scenario or a run failed: stop evaluating */
    bool quiet;
    int count;
    struct {
        long x;
        double mean, half; /* half: 95% CI half-width over seeds (0 for one seed) */
        int n;             /* seeds with a value */
        int runs;
        int64_t first_run, last_run;
    } seen[CLI_PLAN_MAX_POINTS];
};

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
    /* Mean over the seeds that gave a value, and the t interval of it
     * (GSL's two-pass variance: no cancellation when values are close). */
    double *vals = calloc(n ? n : 1, sizeof *vals);
    if (!vals) {
        fprintf(stderr, "thaw plan: out of memory\n");
        c->failed = true;
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double v = res_metric_value(c->db, jobs[i].run_id, c->target->metric);
        if (!isnan(v)) vals[k++] = v;
    }
    double half = 0;
    if (k > 0) value = gsl_stats_mean(vals, 1, k);
    if (k > 1)
        half = gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) * gsl_stats_sd_m(vals, 1, k, value) /
               sqrt((double)k);
    free(vals);
    c->seen[c->count].x = x;
    c->seen[c->count].mean = value;
    c->seen[c->count].half = half;
    c->seen[c->count].n = (int)k;
    c->seen[c->count].runs = (int)n;
    c->seen[c->count].first_run = jobs[0].run_id;
    c->seen[c->count].last_run = jobs[n - 1].run_id;
    c->count++;
    if (!c->quiet)
        fprintf(stderr, "plan: %s -> %s = %.6g over %d seed%s: %s\n", kv, c->target->metric, value,
                (int)k, k == 1 ? "" : "s",
                cli_plan_meets(c->target, value) ? "meets the target" : "misses the target");
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

static int run(int argc, char **argv)
{
    struct plan_ctx *c = calloc(1, sizeof *c);
    const char *vary = NULL, *target_text = NULL, *db_path = CLI_DEFAULT_DB;
    unsigned long long jobs_n = 0;
    struct cli_plan_target target;
    struct thaw_err err = {0};
    int rc = CLI_EXIT_USAGE;
    char key[256];
    long lo = 0, hi = 0;
    if (!c) {
        fprintf(stderr, "thaw plan: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    cli_sweep_grid_init(&c->seeds);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = !strcmp(a, "--vary") || !strcmp(a, "--target") || !strcmp(a, "--seeds") ||
                     !strcmp(a, "--policy") || !strcmp(a, "--set") || !strcmp(a, "--jobs") ||
                     !strcmp(a, "--db");
        if (takes) {
            if (i + 1 >= argc) {
                cli_usage_error("plan", "%s needs a value", a);
                goto out;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--vary")) {
                vary = v;
            } else if (!strcmp(a, "--target")) {
                target_text = v;
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
            } else if (cli_parse_u64("plan", "--jobs", v, &jobs_n) < 0 || jobs_n == 0 ||
                       jobs_n > 1024) {
                cli_usage_error("plan", "--jobs expects 1 to 1024");
                goto out;
            }
        } else if (!strcmp(a, "--quiet")) {
            c->quiet = true;
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
    if (!c->scenario || !vary || !target_text) {
        cli_usage_error("plan", "needs SCENARIO, --vary KEY=LO..HI and --target 'METRIC<VALUE'");
        goto out;
    }
    if (cli_plan_range_parse(vary, key, sizeof key, &lo, &hi, &err) < 0 ||
        cli_plan_target_parse(target_text, &target, &err) < 0) {
        cli_usage_error("plan", "%s", err.msg);
        goto out;
    }
    if (res_metric_higher_is_better(target.metric) < 0) {
        cli_usage_error("plan", "\"%s\" is not a summary metric (see 'thaw report')",
                        target.metric);
        goto out;
    }
    rc = CLI_EXIT_FAIL;
    c->key = key;
    c->target = &target;
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
    };
    if (exec_signals_install(&err) < 0) {
        fprintf(stderr, "thaw plan: %s\n", err.msg);
        goto out;
    }
    if (!c->quiet)
        fprintf(stderr, "thaw plan %s: smallest %s in %ld..%ld with %s %s %g\n", plan_id, key, lo,
                hi, target.metric, cli_plan_op_text(target.op), target.value);
    struct cli_plan_result *r = malloc(sizeof *r);
    if (!r) {
        fprintf(stderr, "thaw plan: out of memory\n");
        goto out;
    }
    cli_plan_search(lo, hi, &target, eval, c, r);

    /* The evidence: every evaluated value in order. */
    printf("%-*s  %-22s %12s %6s  %-6s %s\n", (int)(strlen(key) > 8 ? strlen(key) : 8), key,
           target.metric, "95% CI +/-", "seeds", "target", "runs");
    for (int i = 0; i < r->point_count; i++) {
        int s = find_seen(c, r->points[i].x);
        char runs[64] = "-";
        if (s >= 0)
            snprintf(runs, sizeof runs, "%lld..%lld", (long long)c->seen[s].first_run,
                     (long long)c->seen[s].last_run);
        printf("%-*ld  %-22.6g %12.4g %6d  %-6s %s\n", (int)(strlen(key) > 8 ? strlen(key) : 8),
               r->points[i].x, r->points[i].value, s >= 0 ? c->seen[s].half : NAN,
               s >= 0 ? c->seen[s].n : 0, r->points[i].meets ? "met" : "missed", runs);
    }
    if (c->failed) {
        fprintf(stderr, "thaw plan: stopped: a point could not be evaluated (see above)\n");
    } else {
        if (!r->monotone) {
            int a = find_seen(c, r->bad_x[0]), b = find_seen(c, r->bad_x[1]),
                d = find_seen(c, r->bad_x[2]);
            fprintf(stderr,
                    "thaw plan: warning: %s is not monotone in %s among the evaluated points "
                    "(%ld: %.4g, %ld: %.4g, %ld: %.4g); the search assumes it is, so check the "
                    "whole range with thaw sweep --set %s=...\n",
                    target.metric, key, r->bad_x[0], a >= 0 ? c->seen[a].mean : NAN, r->bad_x[1],
                    b >= 0 ? c->seen[b].mean : NAN, r->bad_x[2], d >= 0 ? c->seen[d].mean : NAN,
                    key);
        }
        if (r->found && !r->consistent)
            fprintf(stderr,
                    "thaw plan: warning: the target is not met from %ld on and missed below it "
                    "among the evaluated points; the answer may be wrong\n",
                    r->answer);
        if (r->found) {
            printf("answer: %s = %ld (%s %s %g)\n", key, r->answer, target.metric,
                   cli_plan_op_text(target.op), target.value);
            rc = CLI_EXIT_OK;
        } else {
            printf("answer: none: no %s in %ld..%ld gives %s %s %g\n", key, lo, hi, target.metric,
                   cli_plan_op_text(target.op), target.value);
        }
    }
    printf("plan %s (runs in %s)\n", plan_id, db_path);
    free(r);
out:
    if (c->db) res_close(c->db);
    cli_sweep_grid_free(&c->seeds);
    free(c);
    return rc;
}

const struct cli_command cli_cmd_plan = {
    "plan", "find the smallest value of a key that meets a metric target", usage, run};

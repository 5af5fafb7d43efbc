/* cmd_validate.c - `thaw validate`: does the simulator agree with a real
 * run? Picks an exec run and a sim run of the same scenario, pairs their
 * loads (results/validate.c, shared with `thaw plot validate`), and prints
 * per-model load times, the mean relative error over all pairs and the
 * shared summary metrics side by side. --tolerance makes it a pass/fail
 * check for CI on GPU hosts; this file only selects runs and prints. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

static const char validate_usage[] =
    "usage: thaw validate [--db PATH] [RUN [RUN]] [--tolerance F] [--repeat N]\n"
    "\n"
    "Checks the simulator against a real run: compares the load times of an\n"
    "exec run (measured) with those of a sim run of the same scenario\n"
    "(simulated). The k-th load of a model that finished ok in one run (in\n"
    "start order) pairs with the k-th of the same model in the other; failed\n"
    "and cancelled loads, models loaded in one run only, and the loads beyond\n"
    "the shorter run's count are left out. `thaw plot validate` draws the\n"
    "same pairs.\n"
    "\n"
    "Which runs (RUN: a run id, or 4+ hex digits of its uuid):\n"
    "  none             the latest exec run and the latest sim run of the same\n"
    "                   scenario file (same sha256)\n"
    "  RUN              that run and the latest run of the other mode of the\n"
    "                   same scenario file\n"
    "  RUN RUN          an exec run and a sim run, in either order\n"
    "\n"
    "Prints both runs (id, mode, scenario, seed, policy, backend, status), a\n"
    "warning when their scenario files or policies differ, then per model:\n"
    "the pairs, the mean measured and simulated load time (finished - started,\n"
    "seconds) and the relative error of the means, (measured - simulated) /\n"
    "simulated (> 0: the real loads were slower); then the mean over all pairs\n"
    "of |measured - simulated| / simulated, and the summary metrics both runs\n"
    "share (cold_start_mean_s, cold_start_p95_s, makespan_s, shm_hit_rate,\n"
    "request_warm_p50_s) side by side with (exec - sim) / sim.\n"
    "Also the median, p90 and max of the per-load errors, the makespan error\n"
    "(makespan_s of both runs), and the executor's noise floor: when the\n"
    "database holds two or more complete exec runs of the same scenario file,\n"
    "seed, policy, overrides and backend (`thaw exec --seed S` run again),\n"
    "each of their loads against the median of the same load (model, k-th)\n"
    "in the others; the median per-load error is then said to be within the\n"
    "noise floor or above it.\n"
    "\n"
    "options:\n"
    "  --db PATH        results database (default " CLI_DEFAULT_DB ")\n"
    "  --tolerance F    fail (exit 1) when the mean relative error over all\n"
    "                   pairs exceeds F, a fraction: 0.25 = 25%; a check for\n"
    "                   CI on GPU hosts. Without it the exit status is 0\n"
    "                   whenever there are pairs.\n"
    "  --repeat N       first run the exec run's scenario N more times (1-20)\n"
    "                   as it ran (seed, overrides, backend, time scale) into\n"
    "                   the database, for the noise floor\n"
    "  --weights-dir D, --shm-dir D   for those runs, as in `thaw exec`\n"
    "\n"
    "exit status: 0 the runs pair (and, with --tolerance, agree within F);\n"
    "1 no database, no matching runs, modes that do not pair, no pairs, or\n"
    "an error above F; 2 usage error.\n"
    "\n"
    "examples:\n"
    "  thaw exec scenarios/exec-small.yaml && thaw sim scenarios/exec-small.yaml\n"
    "  thaw validate\n"
    "  thaw validate 12 13 --tolerance 0.25\n";

static const char *const shared_metrics[] = {"cold_start_mean_s", "cold_start_p95_s", "makespan_s",
                                             "shm_hit_rate", "request_warm_p50_s"};

static void print_run(const char *label, const struct res_run_meta *r)
{
    printf("%s run %lld: %s, seed %lld, policy %s, backend %s, %s\n", label, (long long)r->id,
           r->scenario, r->seed, r->policy, *r->backend ? r->backend : "-", r->status);
}

static void fmt_num(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.3f", v);
}

static void fmt_pct(char *buf, size_t len, double v)
{
    if (isnan(v) || isinf(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%+.1f%%", 100 * v);
}

/* Finds the exec and the sim run as the RUN arguments ask. */
static int pick_runs(struct res_db *db, char **sel, int nsel, struct res_run_meta *ex,
                     struct res_run_meta *sm, struct thaw_err *err)
{
    struct res_run_meta a, b;
    int64_t id;
    int rc;
    if (nsel == 0)
        rc = res_latest_run_of_mode(db, "exec", NULL, &id, err);
    else
        rc = res_resolve_run(db, sel[0], &id, err);
    if (rc < 0 || (rc = res_run_meta_load(db, id, &a, err)) < 0) return rc;
    if (nsel == 2)
        rc = res_resolve_run(db, sel[1], &id, err);
    else
        rc = res_latest_run_of_mode(db, strcmp(a.mode, "exec") ? "exec" : "sim", a.sha, &id, err);
    if (rc < 0 || (rc = res_run_meta_load(db, id, &b, err)) < 0) return rc;
    bool a_exec = !strcmp(a.mode, "exec"), b_exec = !strcmp(b.mode, "exec");
    if (a_exec == b_exec || (!a_exec && strcmp(a.mode, "sim")) ||
        (!b_exec && strcmp(b.mode, "sim")))
        return thaw_err_set(err, THAW_EINVAL,
                            "needs one exec run and one sim run; runs %lld and %lld are %s and %s",
                            (long long)a.id, (long long)b.id, a.mode, b.mode);
    *ex = a_exec ? a : b;
    *sm = a_exec ? b : a;
    return 0;
}

/* ---- per-load errors and the noise floor --------------------------------- */

struct errs {
    double *v;
    int n, cap;
};

static int errs_push(struct errs *e, double x)
{
    if (e->n == e->cap) {
        int cap = e->cap ? 2 * e->cap : 64;
        double *nv = realloc(e->v, (size_t)cap * sizeof *nv);
        if (!nv) return -1;
        e->v = nv;
        e->cap = cap;
    }
    e->v[e->n++] = x;
    return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile p of sorted v[0..n-1], linear between order statistics (R type
 * 7, as the summary metrics): h = (n-1)p, v[floor h] + frac(h) (next - it). */
static double quantile(const double *v, int n, double p)
{
    if (n <= 0) return NAN;
    double h = (n - 1) * p;
    int lo = (int)floor(h);
    if (lo + 1 >= n) return v[n - 1];
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

static int pair_err(const struct res_load_pair *p, void *ctx)
{
    if (!(p->simulated_s > 0)) return 0;
    return errs_push(ctx, fabs(p->measured_s - p->simulated_s) / p->simulated_s) ? THAW_ENOMEM : 0;
}

/* One load of one repeat, as paired with another repeat's k-th load. */
struct rep_val {
    int run; /* index into the repeats */
    char model[CORE_NAME_MAX];
    int k;
    double x, other;
};

struct rep_ctx {
    int run;
    struct rep_val *v;
    int n, cap;
};

static int rep_pair(const struct res_load_pair *p, void *arg)
{
    struct rep_ctx *c = arg;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 128;
        struct rep_val *nv = realloc(c->v, (size_t)cap * sizeof *nv);
        if (!nv) return THAW_ENOMEM;
        c->v = nv;
        c->cap = cap;
    }
    struct rep_val *r = &c->v[c->n++];
    r->run = c->run;
    snprintf(r->model, sizeof r->model, "%s", p->model);
    r->k = p->k;
    r->x = p->measured_s;
    r->other = p->simulated_s;
    return 0;
}

static int cmp_rep(const void *a, const void *b)
{
    const struct rep_val *x = a, *y = b;
    if (x->run != y->run) return x->run < y->run ? -1 : 1;
    int c = strcmp(x->model, y->model);
    if (c) return c;
    return (x->k > y->k) - (x->k < y->k);
}

/* The executor's own noise over repeats ids[0..n-1] (n >= 2): each load of
 * each repeat against the median of the same load (model, k-th ok load) in
 * the other repeats, |x - median| / median, into *out. */
static int noise_floor(struct res_db *db, const int64_t *ids, int n, struct errs *out)
{
    struct rep_ctx c = {0};
    struct thaw_err err = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        for (int j = 0; j < n && rc == 0; j++) {
            if (i == j) continue;
            c.run = i;
            rc = res_load_pairs(db, ids[i], ids[j], rep_pair, &c, &err);
        }
    if (rc == 0 && c.n > 0) qsort(c.v, (size_t)c.n, sizeof *c.v, cmp_rep);
    double *others = rc == 0 && c.n > 0 ? malloc((size_t)c.n * sizeof *others) : NULL;
    for (int a = 0; rc == 0 && others && a < c.n;) {
        int b = a, m = 0;
        while (b < c.n && !cmp_rep(&c.v[a], &c.v[b]))
            others[m++] = c.v[b++].other;
        qsort(others, (size_t)m, sizeof *others, cmp_dbl);
        double med = quantile(others, m, 0.5);
        if (med > 0 && errs_push(out, fabs(c.v[a].x - med) / med)) rc = THAW_ENOMEM;
        a = b;
    }
    free(others);
    free(c.v);
    return rc;
}

static int report(struct res_db *db, const struct res_run_meta *ex, const struct res_run_meta *sm,
                  bool have_tol, double tolerance)
{
    struct thaw_err err = {0};
    print_run("exec", ex);
    print_run("sim ", sm);
    if (strcmp(ex->sha, sm->sha))
        printf("warning: the runs' scenario files differ (sha256 %.12s vs %.12s): the pairs may "
               "not be the same loads\n",
               ex->sha, sm->sha);
    if (strcmp(ex->policy, sm->policy)) printf("warning: the runs' policies differ\n");
    for (int i = 0; i < 2; i++) {
        const struct res_run_meta *r = i ? sm : ex;
        if (strcmp(r->status, "complete"))
            printf("warning: %s run %lld is %s, not complete\n", r->mode, (long long)r->id,
                   r->status);
    }

    double scale = res_metric_value(db, ex->id, "exec_time_scale");
    if (!isnan(scale) && scale != 1.0)
        printf("warning: exec run %lld ran at --time-scale %g: its weight copies take wall "
               "time and are recorded scaled, so measured loads read %gx long; validate with "
               "--time-scale 1\n",
               (long long)ex->id, scale, scale);
    /* Runs recorded before exec_time_scale existed: estimate it from the
     * run's wall span (from the started_at / finished_at stamps, whole
     * seconds) and its scenario span (duration_s), so only a clear
     * departure from 1 is worth a word. */
    double wall_s = ex->wall_s, scenario_s = ex->duration_s;
    if (isnan(scale) && wall_s >= 2 && scenario_s / wall_s > 1.5)
        printf("warning: exec run %lld ran %.0f scenario s in about %.0f wall s (--time-scale "
               "about %.1f): its weight copies take wall time and are recorded scaled up, so "
               "measured loads read long; validate with --time-scale 1\n",
               (long long)ex->id, scenario_s, wall_s, scenario_s / wall_s);

    struct res_validation v;
    if (res_validate(db, ex->id, sm->id, &v, &err) < 0) {
        fprintf(stderr, "thaw validate: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    if (v.pairs == 0) {
        fprintf(stderr,
                "thaw validate: exec run %lld and sim run %lld have no pair of loads: no model "
                "has a load that finished ok in both\n",
                (long long)ex->id, (long long)sm->id);
        res_validation_free(&v);
        return CLI_EXIT_FAIL;
    }

    printf("\nload time per model (finished - started, s; k-th ok load paired with k-th):\n");
    printf("%-20s %6s %12s %12s %10s\n", "model", "pairs", "measured", "simulated", "error");
    for (int i = 0; i < v.model_count; i++) {
        const struct res_model_fit *m = &v.models[i];
        char e[32];
        fmt_pct(e, sizeof e, m->rel_error);
        printf("%-20s %6d %12.3f %12.3f %10s\n", m->model, m->pairs, m->measured_mean_s,
               m->simulated_mean_s, e);
    }
    printf("\nmean |measured - simulated| / simulated over %d pair%s: ", v.rel_pairs,
           v.rel_pairs == 1 ? "" : "s");
    if (isnan(v.mean_rel_error))
        printf("- (every simulated load took 0 s)\n");
    else
        printf("%.1f%%\n", 100 * v.mean_rel_error);
    if (v.rel_pairs < v.pairs)
        printf("(%d pair%s with a simulated time of 0 s left out)\n", v.pairs - v.rel_pairs,
               v.pairs - v.rel_pairs == 1 ? "" : "s");

    /* The spread of the per-load errors, the makespan's, and the noise
     * floor of the executor itself from repeats of the exec run. */
    struct errs pe = {0};
    double med = NAN;
    if (res_load_pairs(db, ex->id, sm->id, pair_err, &pe, &err) == 0 && pe.n > 0) {
        qsort(pe.v, (size_t)pe.n, sizeof *pe.v, cmp_dbl);
        med = quantile(pe.v, pe.n, 0.5);
        printf("per-load |measured - simulated| / simulated over %d pair%s: median %.1f%%, p90 "
               "%.1f%%, max %.1f%%\n",
               pe.n, pe.n == 1 ? "" : "s", 100 * med, 100 * quantile(pe.v, pe.n, 0.9),
               100 * pe.v[pe.n - 1]);
    }
    free(pe.v);
    double mk_e = res_metric_value(db, ex->id, "makespan_s");
    double mk_s = res_metric_value(db, sm->id, "makespan_s");
    if (!isnan(mk_e) && mk_s > 0)
        printf("makespan error: exec %.3f s, sim %.3f s: %+.1f%%\n", mk_e, mk_s,
               100 * (mk_e - mk_s) / mk_s);
    int64_t *reps = NULL;
    int n_reps = 0;
    if (res_run_repeats(db, ex->id, &reps, &n_reps, &err) == 0 && n_reps >= 2) {
        struct errs nf = {0};
        if (noise_floor(db, reps, n_reps, &nf) == 0 && nf.n > 0) {
            qsort(nf.v, (size_t)nf.n, sizeof *nf.v, cmp_dbl);
            double nmed = quantile(nf.v, nf.n, 0.5);
            printf("noise floor: %d exec runs of this scenario, seed and policy (each load "
                   "against the median of the others) over %d loads: median %.1f%%, p90 "
                   "%.1f%%\n",
                   n_reps, nf.n, 100 * nmed, 100 * quantile(nf.v, nf.n, 0.9));
            if (!isnan(med))
                printf("the median per-load error %.1f%% is %s the noise floor %.1f%%\n", 100 * med,
                       med <= nmed ? "within" : "above", 100 * nmed);
        }
        free(nf.v);
    } else {
        printf("noise floor: - (one exec run of this scenario, seed and policy; run `thaw exec "
               "--seed S` again to measure it)\n");
    }
    free(reps);

    printf("\n%-20s %12s %12s %12s\n", "metric", "exec", "sim", "(exec-sim)/sim");
    for (size_t i = 0; i < sizeof shared_metrics / sizeof shared_metrics[0]; i++) {
        double me = res_metric_value(db, ex->id, shared_metrics[i]);
        double ms = res_metric_value(db, sm->id, shared_metrics[i]);
        char a[32], b[32], d[32];
        fmt_num(a, sizeof a, me);
        fmt_num(b, sizeof b, ms);
        fmt_pct(d, sizeof d, ms != 0 ? (me - ms) / ms : NAN);
        printf("%-20s %12s %12s %12s\n", shared_metrics[i], a, b, d);
    }

    int rc = CLI_EXIT_OK;
    if (have_tol) {
        if (isnan(v.mean_rel_error)) {
            printf("\nFAIL: no relative error to hold to --tolerance %g\n", tolerance);
            rc = CLI_EXIT_FAIL;
        } else if (v.mean_rel_error > tolerance) {
            printf("\nFAIL: mean relative error %.1f%% exceeds the tolerance %g%%\n",
                   100 * v.mean_rel_error, 100 * tolerance);
            rc = CLI_EXIT_FAIL;
        } else {
            printf("\nok: mean relative error %.1f%% is within the tolerance %g%%\n",
                   100 * v.mean_rel_error, 100 * tolerance);
        }
    }
    res_validation_free(&v);
    return rc;
}

static int validate_run(int argc, char **argv)
{
    const char *db_path = CLI_DEFAULT_DB;
    char *sel[2];
    int nsel = 0;
    bool have_tol = false;
    double tolerance = 0;
    unsigned long long repeat = 0;
    const char *weights_dir = NULL, *shm_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--repeat") || !strcmp(opt, "--weights-dir") ||
            !strcmp(opt, "--shm-dir")) {
            if (i + 1 >= argc) return cli_usage_error("validate", "%s needs a value", opt);
            const char *v = argv[++i];
            if (!strcmp(opt, "--weights-dir"))
                weights_dir = v;
            else if (!strcmp(opt, "--shm-dir"))
                shm_dir = v;
            else if (cli_parse_range("validate", "--repeat", v, 1, 20, &repeat) < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (!strcmp(opt, "--db") || !strcmp(opt, "--tolerance")) {
            if (i + 1 >= argc) return cli_usage_error("validate", "%s needs a value", opt);
            const char *v = argv[++i];
            if (!strcmp(opt, "--db")) {
                db_path = v;
                continue;
            }
            char *end;
            tolerance = strtod(v, &end);
            if (end == v || *end || !(tolerance >= 0) || isinf(tolerance))
                return cli_usage_error("validate",
                                       "--tolerance expects a fraction >= 0 (e.g. 0.25), found "
                                       "\"%s\"",
                                       v);
            have_tol = true;
        } else if (opt[0] == '-' && opt[1]) {
            return cli_usage_error("validate", "unknown option %s", opt);
        } else if (nsel == 2) {
            return cli_usage_error("validate", "give at most two runs (found \"%s\")", opt);
        } else {
            sel[nsel++] = argv[i];
        }
    }
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "thaw validate: no results database at %s\n", db_path);
        return CLI_EXIT_FAIL;
    }
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    if (res_open(db_path, &db, &err) < 0) {
        fprintf(stderr, "thaw validate: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    struct res_run_meta ex, sm;
    int rc;
    if (pick_runs(db, sel, nsel, &ex, &sm, &err) < 0) {
        fprintf(stderr, "thaw validate: %s\n", err.msg);
        rc = CLI_EXIT_FAIL;
    } else if (repeat > 0 && cli_validate_repeat(db, &ex, (int)repeat, weights_dir, shm_dir) < 0) {
        rc = CLI_EXIT_FAIL;
    } else {
        rc = report(db, &ex, &sm, have_tol, tolerance);
    }
    res_close(db);
    return rc;
}

const struct cli_command cli_cmd_validate = {
    "validate",
    "the simulator against a real run: load times paired, errors, metrics",
    validate_usage,
    validate_run,
};

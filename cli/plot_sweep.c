/* plot_sweep.c - the sweep chart (plots/sweep.gp): a metric against a swept
 * parameter, a line per policy (and per value of the other parameters),
 * the mean over seeds with 95% t confidence bars, or for cold_start_p50/
 * p95/p99_s the percentile pooled over the seeds' cold starts with its
 * order-statistic interval (res_cold_start_pooled, as plan). The x axis is numeric when
 * every value is a number with one unit suffix, else categorical in grid
 * order; lines are dodged sideways so their bars do not hide each other.
 * The x labels are given once per value (xvals, xcats), so sweep.gp can
 * thin and tilt them when there are many. */
#include "plot_common.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdint.h>

/* A complete run of the sweep: what the chart needs of it. */
struct sweep_run {
    int64_t id;
    char *policy, *params;
    double value; /* NaN: the run has no value for the metric */
};

static void sweep_runs_free(struct sweep_run *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].policy);
        free(r[i].params);
    }
    free(r);
}

/* Every complete run of the sweep with its policy, params and metric value,
 * in id order; scenario: that of the last. */
static int sweep_runs_load(struct res_db *db, const char *sweep, const char *metric,
                           struct sweep_run **out, size_t *n, char *scenario, size_t len,
                           struct thaw_err *err)
{
    int64_t *ids = NULL;
    int count = 0;
    *out = NULL;
    *n = 0;
    int rc = res_sweep_runs(db, sweep, true, &ids, &count, err);
    if (rc < 0) return rc;
    struct sweep_run *r = calloc(count ? (size_t)count : 1, sizeof *r);
    if (!r) rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    size_t got = 0;
    for (int i = 0; rc == 0 && i < count; i++) {
        struct res_run_meta m;
        if ((rc = res_run_meta_load(db, ids[i], &m, err)) < 0) break;
        struct sweep_run *run = &r[got++];
        *run = (struct sweep_run){ids[i], strdup(m.policy), strdup(m.params),
                                  res_metric_value(db, ids[i], metric)};
        if (!run->policy || !run->params)
            rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        snprintf(scenario, len, "%s", m.scenario);
    }
    free(ids);
    if (rc < 0) {
        sweep_runs_free(r, got);
        return rc;
    }
    *out = r;
    *n = got;
    return 0;
}

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

/* Removes the component "comp=..." from a policy "k=v,k=v" in place. */
static void policy_without(char *pol, const char *comp)
{
    size_t cl = strlen(comp);
    char *out = pol;
    for (const char *p = pol; *p;) {
        size_t n = strcspn(p, ",");
        if (!(n > cl && !strncmp(p, comp, cl) && p[cl] == '=')) {
            if (out != pol) *out++ = ',';
            memmove(out, p, n);
            out += n;
        }
        p += n;
        if (*p) p++;
    }
    *out = '\0';
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

int cli_plot_sweep(struct res_db *db, const struct cli_plot_request *req, struct cli_plot_job *job,
                   struct cli_plot_sbuf *sb, struct thaw_err *err)
{
    const char *metric = req->metric ? req->metric : "cold_start_p99_s";
    if (res_metric_higher_is_better(metric) < 0)
        return thaw_err_set(err, THAW_EINVAL, "plot: \"%s\" is not a metric (see thaw report)",
                            metric);
    char sweep[128];
    int rc;
    if (req->sel_count) {
        snprintf(sweep, sizeof sweep, "%s", req->sel[0]);
    } else if ((rc = res_sweep_latest(db, sweep, sizeof sweep, err)) < 0) {
        if (rc == THAW_ENOENT)
            rc = thaw_err_set(err, THAW_ENOENT, "plot: the database holds no sweep yet");
        return rc;
    }
    snprintf(job->label, sizeof job->label, "%.*s", (int)sizeof job->label - 1, sweep);

    struct names keys = {0}, xs = {0}, lines = {0}, line_policy = {0};
    struct sweep_row *rows = NULL;
    size_t nrows = 0;
    FILE *f = NULL;
    char scenario[sizeof((struct res_run_meta *)0)->scenario] = "";
    struct sweep_run *runs = NULL;
    size_t nruns = 0;
    if ((rc = sweep_runs_load(db, sweep, metric, &runs, &nruns, scenario, sizeof scenario, err)) <
        0)
        return rc;
    /* First pass: the keys and their distinct values, to pick the x key. */
    struct names *values = NULL; /* distinct values per key */
    size_t nvalues = 0, total = 0;
    for (size_t r = 0; r < nruns; r++) {
        total++;
        const char *p = runs[r].params;
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
    for (size_t r = 0; r < nruns; r++) {
        char xv[512], rest[1200], key[1800];
        if (!param_value(runs[r].params, xkey, xv, sizeof xv)) continue;
        params_without(runs[r].params, xkey, rest, sizeof rest);
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
        if (!param_value(runs[r].params, "policy", pol, sizeof pol))
            snprintf(pol, sizeof pol, "%s", runs[r].policy);
        /* x = policy.K (--set policy.queue=fifo,...): the policy's K is on
         * the x axis, so it must not split the lines too. */
        if (!strncmp(xkey, "policy.", 7)) policy_without(pol, xkey + 7);
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
        rows[nrows++] = (struct sweep_row){runs[r].id, x, line, runs[r].value};
    }

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
            names_intern(&items[l], strncmp(tok, "policy.", 7) ? tok : tok + 7);
    }
    f = cli_plot_open_data(job, "sweep.dat", err);
    if (!f) {
        rc = err->code;
        goto sweep_out;
    }
    fprintf(f, "# one block per line, in the order of the titles\n"
               "# x_plotted mean ci95_low ci95_high seeds x_label\n");
    size_t min_seeds = SIZE_MAX, max_seeds = 0;
    /* cold_start_pXX_s: pooled over the point's runs' cold starts, as plan
     * does (a mean of per-run percentiles is not a percentile) */
    double pooled_p = res_pooled_quantile(metric);
    double *vals = malloc((nrows ? nrows : 1) * sizeof *vals);
    int64_t *point_runs = malloc((nrows ? nrows : 1) * sizeof *point_runs);
    if (!vals || !point_runs) {
        free(vals);
        free(point_runs);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto sweep_out;
    }
    for (size_t l = 0; l < lines.n; l++) {
        if (l) fprintf(f, "\n\n");
        /* x in increasing order: sort the x indices by their number. */
        for (size_t pass = 0; pass < xs.n; pass++) {
            size_t xi = xorder[pass], k = 0, nr = 0;
            for (size_t r = 0; r < nrows; r++) {
                if (rows[r].line != (long)l || rows[r].x != (long)xi) continue;
                point_runs[nr++] = rows[r].run;
                if (!isnan(rows[r].value)) vals[k++] = rows[r].value;
            }
            double mean = 0, lo = 0, hi = 0;
            if (pooled_p > 0) {
                struct res_pooled pooled;
                if ((rc = res_cold_start_pooled(db, point_runs, nr, pooled_p, &pooled, err)) < 0)
                    break;
                if (pooled.count == 0) continue;
                mean = pooled.value;
                lo = pooled.lo;
                hi = pooled.hi;
                k = nr;
            } else {
                if (k == 0) continue;
                double var = 0;
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
                lo = mean - half;
                hi = mean + half;
            }
            double dodge = lines.n > 1 ? ((double)l - (double)(lines.n - 1) / 2) : 0;
            double xp = xnum[xi] + dodge * (numeric ? 0.008 * span : 0.05);
            fprintf(f, "%.9g %.9g %.9g %.9g %zu ", xp, mean, lo, hi, k);
            cli_plot_fput_name(f, xs.v[xi]);
            fputc('\n', f);
            job->rows[0]++;
            if (k < min_seeds) min_seeds = k;
            if (k > max_seeds) max_seeds = k;
        }
        if (rc < 0) break;
        char diff[1800] = "";
        cli_plot_differing(&items[l], items, lines.n, diff, sizeof diff);
        if (!diff[0])
            snprintf(diff, sizeof diff, "%s", lines.n > 1 ? line_policy.v[l] : "all runs");
        if (names_find(&titles, diff) >= 0) {
            size_t used = strlen(diff);
            snprintf(diff + used, sizeof diff - used, " #%zu", l + 1);
        }
        names_intern(&titles, diff);
    }
    free(vals);
    free(point_runs);
    if (rc < 0) goto sweep_out;
    rc = cli_plot_close_data(f, job->files[0], err);
    f = NULL;
    if (rc < 0) goto sweep_out;
    if (job->rows[0] == 0) {
        rc = thaw_err_set(err, THAW_ENOENT, "plot: no run of sweep \"%s\" has a value for %s",
                          sweep, metric);
        goto sweep_out;
    }
    char xlabel[400], ylabel[200], title[sizeof scenario + 1200], seeds[64];
    snprintf(xlabel, sizeof xlabel, "%s%s%s%s", xkey, unit[0] ? " (" : "", unit,
             unit[0] ? ")" : "");
    const char *yu = metric_unit(metric);
    snprintf(ylabel, sizeof ylabel, "%s%s%s%s", metric, yu[0] ? " (" : "", yu, yu[0] ? ")" : "");
    if (min_seeds == max_seeds)
        snprintf(seeds, sizeof seeds, "%zu", min_seeds);
    else
        snprintf(seeds, sizeof seeds, "%zu to %zu", min_seeds, max_seeds);
    if (pooled_p > 0)
        snprintf(title, sizeof title,
                 "%s against %s: sweep %s (%s)\npooled over the cold starts of %s seeds per "
                 "point; bars: 95%% order-statistic interval",
                 metric, xkey, sweep, scenario, seeds);
    else
        snprintf(title, sizeof title,
                 "%s against %s: sweep %s (%s)\nmean over %s seeds per point; bars: 95%% "
                 "confidence interval of the mean",
                 metric, xkey, sweep, scenario, seeds);
    cli_plot_gp_str(sb, "datafile", job->files[0]);
    cli_plot_gp_words(sb, "titles", titles.v, titles.n);
    cli_plot_gp_str(sb, "xlabel", xlabel);
    cli_plot_gp_str(sb, "ylabel", ylabel);
    cli_plot_gp_num(sb, "categorical", numeric ? 0 : 1);
    if (!numeric) {
        /* The categories once each, in x order: labels drawn per point
         * (xtic() of every line) would repeat at each dodged x. */
        char **cats = malloc((xs.n ? xs.n : 1) * sizeof *cats);
        if (!cats) {
            rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
            goto sweep_out;
        }
        for (size_t i = 0; i < xs.n; i++)
            cats[i] = xs.v[xorder[i]];
        cli_plot_gp_words(sb, "xcats", cats, xs.n);
        free(cats);
    }
    if (numeric) {
        char xvals[2048] = "";
        size_t used = 0;
        for (size_t i = 0; i < xs.n && used < sizeof xvals - 40; i++)
            used += (size_t)snprintf(xvals + used, sizeof xvals - used, "%s%.10g", i ? " " : "",
                                     xnum[xorder[i]]);
        cli_plot_gp_str(sb, "xvals", xvals);
    }
    cli_plot_gp_title(sb, title);
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
    sweep_runs_free(runs, nruns);
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

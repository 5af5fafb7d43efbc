/* plot_cdf.c - the cdf chart (plots/cdf.gp): cold-start latency as a CDF,
 * a line per run, or per point of a sweep with its seeds pooled. The
 * latencies are the cold starts of the summary metrics (res_cold_starts), so
 * the chart's lines end where cold_start_p99_s says. Labels keep only what
 * differs between the lines; the rest goes into the title. */
#include "plot_common.h"

struct series {
    int64_t *runs;
    size_t nruns;
    struct names items; /* labels: what this series is */
    char key[1700];     /* grouping key for sweep series */
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

/* Appends an empty series; NULL when out of memory. */
static struct series *series_new(struct series **s, size_t *n)
{
    struct series *grown = realloc(*s, (*n + 1) * sizeof *grown);
    if (!grown) return NULL;
    *s = grown;
    memset(&grown[*n], 0, sizeof *grown);
    return &grown[(*n)++];
}

/* Builds the series of a cdf: a RUN selector is one run; otherwise a sweep
 * id gives one series per (mode, policy, params) point of the sweep. */
static int cdf_series(struct res_db *db, const struct cli_plot_request *req, struct series **out,
                      size_t *nout, struct thaw_err *err)
{
    struct series *s = NULL;
    size_t n = 0;
    int rc = 0;
    int nsel = req->sel_count ? req->sel_count : 1;
    for (int a = 0; a < nsel && rc == 0; a++) {
        const char *sel = req->sel_count ? req->sel[a] : NULL;
        int64_t run, *sweep_runs = NULL;
        int nsweep = 0;
        struct thaw_err run_err = {0};
        if (sel && (rc = res_sweep_runs(db, sel, false, &sweep_runs, &nsweep, err)) < 0) break;
        if (nsweep == 0) {
            if ((rc = cli_plot_resolve_run(db, sel, &run, &run_err)) < 0) {
                rc = thaw_err_set(err, rc, "%s (nor a sweep id)", run_err.msg);
                break;
            }
            struct res_run_meta m;
            if (!series_new(&s, &n)) {
                rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
                break;
            }
            if ((rc = res_run_meta_load(db, run, &m, err)) < 0) break;
            cli_plot_run_items(&m, true, &s[n - 1].items);
            if (series_add_run(&s[n - 1], run) < 0)
                rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
            continue;
        }
        for (int r = 0; r < nsweep && rc == 0; r++) {
            struct res_run_meta m;
            if ((rc = res_run_meta_load(db, sweep_runs[r], &m, err)) < 0) break;
            char key[1700];
            snprintf(key, sizeof key, "%s|%s|%s|%s", sel, m.mode, m.policy, m.params);
            size_t k = 0;
            while (k < n && strcmp(s[k].key, key))
                k++;
            if (k == n) {
                if (!series_new(&s, &n)) {
                    rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
                    break;
                }
                snprintf(s[k].key, sizeof s[k].key, "%s", key);
                cli_plot_run_items(&m, false, &s[k].items);
            }
            if (series_add_run(&s[k], m.id) < 0)
                rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        }
        free(sweep_runs);
    }
    if (rc < 0) {
        series_free(s, n);
        return rc;
    }
    *out = s;
    *nout = n;
    return 0;
}

int cli_plot_cdf(struct res_db *db, const struct cli_plot_request *req, struct cli_plot_job *job,
                 struct cli_plot_sbuf *sb, struct thaw_err *err)
{
    struct series *s = NULL;
    size_t n = 0;
    int rc = cdf_series(db, req, &s, &n, err);
    if (rc < 0) return rc;
    struct names items_all[64];
    size_t nitems = n < 64 ? n : 64;
    for (size_t i = 0; i < nitems; i++)
        items_all[i] = s[i].items;
    struct names titles = {0};
    double *lat = NULL, *one = NULL;
    size_t cap = 0, plotted = 0;
    FILE *f = cli_plot_open_data(job, "cdf.dat", err);
    if (!f) {
        series_free(s, n);
        return err->code;
    }
    fprintf(f, "# one block per line, in the order of the titles\n"
               "# latency_s fraction_of_cold_starts_at_or_below\n");
    char skipped[256] = "";
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        for (size_t r = 0; r < s[i].nruns; r++) {
            size_t none;
            if ((rc = res_cold_starts(db, s[i].runs[r], &one, &none, err)) < 0) goto out;
            if (count + none > cap) {
                size_t nc = cap ? 2 * cap : 256;
                while (nc < count + none)
                    nc *= 2;
                double *g = realloc(lat, nc * sizeof *g);
                if (!g) {
                    rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
                    goto out;
                }
                lat = g;
                cap = nc;
            }
            if (none) memcpy(lat + count, one, none * sizeof *lat);
            count += none;
            free(one);
            one = NULL;
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
        if (i < nitems) cli_plot_differing(&s[i].items, items_all, nitems, diff, sizeof diff);
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
    rc = cli_plot_close_data(f, job->files[0], err);
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
    struct res_run_meta m0;
    if ((rc = res_run_meta_load(db, s[0].runs[0], &m0, err)) < 0) goto out;
    char title[sizeof m0.scenario + sizeof common + 400];
    snprintf(title, sizeof title, "Cold-start latency (loads for a demand or a failover): %s%s%s%s",
             m0.scenario, common[0] ? "\n" : "", common,
             skipped[0] ? "\n(runs without cold starts left out: " : "");
    if (skipped[0]) {
        size_t used = strlen(title);
        snprintf(title + used, sizeof title - used, "%s)", skipped);
    }
    cli_plot_gp_str(sb, "datafile", job->files[0]);
    cli_plot_gp_words(sb, "titles", titles.v, titles.n);
    cli_plot_gp_title(sb, title);
    job->series = plotted;
out:
    if (f) fclose(f);
    free(one);
    free(lat);
    names_free(&titles);
    series_free(s, n);
    return rc;
}

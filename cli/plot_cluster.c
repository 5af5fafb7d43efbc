/* plot_cluster.c - the cluster chart (plots/cluster.gp): the whole cluster
 * over time for one run, whatever its size: READY instances, loads waiting
 * in the queue, requests waiting for an instance, VRAM reserved against the
 * cluster's capacity. The steps come from res_cluster_steps (results/
 * cluster.c) in time order and are added up here; changes at one instant
 * make one row. Past PLOT_CLUSTER_MAX_ROWS rows (an hour of a large run has
 * millions) the file holds instead PLOT_CLUSTER_BINS time bins with the
 * largest value of each series in the bin, so a peak is never sampled away. */
#include "plot_common.h"

#include <math.h>

#define PLOT_CLUSTER_MAX_ROWS 20000
#define PLOT_CLUSTER_BINS 2000

struct cluster_walk {
    FILE *f;
    double level[RES_CLUSTER_SERIES_COUNT];
    double top[RES_CLUSTER_SERIES_COUNT]; /* the largest level, for the axes */
    double at; /* the time of the changes being merged; NAN before the first */
    size_t rows;
    bool binned; /* too many rows: only the bins are kept */
    double binw, end_s;
    double (*peak)[RES_CLUSTER_SERIES_COUNT]; /* [PLOT_CLUSTER_BINS] */
    long bin;                                 /* the bin the levels were last raised in */
};

static void cluster_row(FILE *f, double t, const double *v)
{
    fprintf(f, "%.9g %.0f %.0f %.0f %.6f\n", t, v[0], v[1], v[2], fabs(v[3]) < 1e-9 ? 0 : v[3]);
}

/* The levels hold from w->at on: raise the peaks of the bins they cover up
 * to t (the next change). */
static void cluster_peaks(struct cluster_walk *w, double t)
{
    long b0 = (long)floor(w->at / w->binw), b1 = (long)floor(t / w->binw);
    if (b0 < 0) b0 = 0;
    if (b1 >= PLOT_CLUSTER_BINS) b1 = PLOT_CLUSTER_BINS - 1;
    for (long b = b0; b <= b1; b++)
        for (int s = 0; s < RES_CLUSTER_SERIES_COUNT; s++)
            if (w->level[s] > w->peak[b][s]) w->peak[b][s] = w->level[s];
}

/* The levels at w->at are final: a row, and the peaks. */
static void cluster_flush(struct cluster_walk *w, double next)
{
    if (isnan(w->at)) return;
    cluster_peaks(w, next);
    if (!w->binned) {
        cluster_row(w->f, w->at, w->level);
        w->rows++;
        if (w->rows > PLOT_CLUSTER_MAX_ROWS) w->binned = true;
    }
}

static int cluster_step(const struct res_cluster_step *s, void *ctx)
{
    struct cluster_walk *w = ctx;
    if ((unsigned)s->series >= RES_CLUSTER_SERIES_COUNT) return 0;
    double t = s->t_s < 0 ? 0 : s->t_s;
    if (isnan(w->at) || t != w->at) {
        cluster_flush(w, t);
        w->at = t;
    }
    w->level[s->series] += s->delta;
    if (w->level[s->series] > w->top[s->series]) w->top[s->series] = w->level[s->series];
    return 0;
}

int cli_plot_cluster(struct res_db *db, const struct res_run_meta *m, struct cli_plot_job *job,
                     struct cli_plot_sbuf *sb, struct thaw_err *err)
{
    struct cli_plot_gpus gpus;
    int rc = cli_plot_gpus_load(db, m, &gpus, err);
    if (rc < 0) return rc;
    double cap_gib = 0;
    size_t ngpu = gpus.names.n;
    for (size_t r = 0; r < ngpu; r++)
        cap_gib += gpus.vram_gib[r];
    struct cluster_walk w = {
        .at = NAN, .binw = gpus.end_s / PLOT_CLUSTER_BINS, .end_s = gpus.end_s};
    w.peak = calloc(PLOT_CLUSTER_BINS, sizeof *w.peak);
    if (!w.peak) {
        cli_plot_gpus_free(&gpus);
        return thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    }
    w.f = cli_plot_open_data(job, "cluster.dat", err);
    if (!w.f) {
        rc = err->code;
        goto out;
    }
    const char *head = "# t_s ready_instances queued_loads waiting_requests vram_reserved_GiB\n";
    fputs(head, w.f);
    rc = res_cluster_steps(db, m->id, cluster_step, &w, err);
    if (rc < 0) goto out;
    if (isnan(w.at)) {
        rc = thaw_err_set(err, THAW_ENOENT, "plot: run %lld has no loads, instances or requests",
                          (long long)m->id);
        goto out;
    }
    cluster_flush(&w, gpus.end_s);
    w.at = gpus.end_s;
    if (w.binned) {
        /* Start over with the bins: each row the peaks of one bin. */
        if (fclose(w.f) != 0) {
            w.f = NULL;
            rc = thaw_err_set(err, THAW_EIO, "plot: cannot write %s", job->files[0]);
            goto out;
        }
        w.f = fopen(job->files[0], "w");
        if (!w.f) {
            rc = thaw_err_set(err, THAW_EIO, "plot: cannot write %s", job->files[0]);
            goto out;
        }
        fprintf(w.f, "# more than %d changes: per time bin of %.6g s the largest value\n%s",
                PLOT_CLUSTER_MAX_ROWS, w.binw, head);
        w.rows = 0;
        for (long b = 0; b < PLOT_CLUSTER_BINS; b++) {
            cluster_row(w.f, (double)b * w.binw, w.peak[b]);
            w.rows++;
        }
    }
    /* The last values hold to the end of the run. */
    cluster_row(w.f, gpus.end_s, w.level);
    w.rows++;
    job->rows[0] = w.rows;
    rc = cli_plot_close_data(w.f, job->files[0], err);
    w.f = NULL;
    if (rc < 0) goto out;

    char title[3400];
    snprintf(title, sizeof title,
             "The cluster over time: run %lld (%s, %s, seed %lld), %zu GPUs, %.0f GiB\npolicy: "
             "%s%s",
             (long long)m->id, m->mode, m->scenario, (long long)m->seed, ngpu, cap_gib, m->policy,
             w.binned ? "\neach step: the largest value in its time bin" : "");
    cli_plot_gp_str(sb, "datafile", job->files[0]);
    cli_plot_gp_num(sb, "vramcap", cap_gib);
    cli_plot_gp_num(sb, "topready", w.top[RES_CLUSTER_READY]);
    cli_plot_gp_num(sb, "topqueued", w.top[RES_CLUSTER_QUEUED]);
    cli_plot_gp_num(sb, "toprequests", w.top[RES_CLUSTER_WAITING]);
    cli_plot_gp_num(sb, "tmax", gpus.end_s);
    cli_plot_gp_title(sb, title);
    job->series = RES_CLUSTER_SERIES_COUNT;
out:
    if (w.f) fclose(w.f);
    free(w.peak);
    cli_plot_gpus_free(&gpus);
    return rc;
}

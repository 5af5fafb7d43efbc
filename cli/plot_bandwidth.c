/* plot_bandwidth.c - the bandwidth chart (plots/bandwidth.gp): bandwidth in
 * use per resource over time for one run, from results' bandwidth_samples
 * (the simulator records a row each time a pipe's rate in use changes), a
 * step line per resource against its capacity. --pipes chooses the kinds
 * (default the ladder's shared pipes: store, network, storage, disk). */
#include "plot_common.h"

#define PLOT_BW_DEFAULT_PIPES "store,network,storage,disk"

struct bw_data {
    FILE *f;
    struct names names;
    double *caps;
    size_t cap_n;
    double last_t, last_used;
    double tmax; /* the run's end: every block's step is held to it */
    size_t *rows;
    bool oom;
};

static int bw_row(const char *resource, double t, double used_bps, double capacity_bps, void *ctx)
{
    struct bw_data *d = ctx;
    if (!resource) return 0;
    long i = names_find(&d->names, resource);
    if (i < 0) {
        /* a new resource: close the last one's step at its last time, open
         * a block */
        if (d->names.n > 0)
            fprintf(d->f, "%.9g %.9g\n\n\n", d->last_t > d->tmax ? d->last_t : d->tmax,
                    d->last_used);
        i = names_push(&d->names, resource);
        double *grown = i < 0 ? NULL : realloc(d->caps, d->names.n * sizeof *grown);
        if (!grown) {
            d->oom = true;
            return THAW_ENOMEM;
        }
        d->caps = grown;
        d->caps[i] = capacity_bps / 1e9;
        fprintf(d->f, "# %s\n0 0\n", resource);
        (*d->rows)++;
    }
    fprintf(d->f, "%.9g %.9g\n", t, used_bps / 1e9);
    (*d->rows)++;
    d->last_t = t;
    d->last_used = used_bps / 1e9;
    return 0;
}

int cli_plot_bandwidth(struct res_db *db, const struct res_run_meta *m, const char *pipes,
                       struct cli_plot_job *job, struct cli_plot_sbuf *sb, struct thaw_err *err)
{
    FILE *f = cli_plot_open_data(job, "bandwidth.dat", err);
    if (!f) return err->code;
    fprintf(f, "# one block per resource, in the order of the names list\n# t_s used_GBps\n");
    struct bw_data d = {
        .f = f, .rows = &job->rows[0], .tmax = m->duration_s > 0 ? m->duration_s : 0};
    int rc =
        res_bandwidth_series(db, m->id, pipes ? pipes : PLOT_BW_DEFAULT_PIPES, bw_row, &d, err);
    if (rc == THAW_ENOMEM) rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    double tmax = d.tmax;
    if (rc == 0 && d.names.n > 0) {
        if (d.last_t > tmax) tmax = d.last_t;
        fprintf(f, "%.9g %.9g\n", tmax, d.last_used);
    }
    int crc = cli_plot_close_data(f, job->files[0], err);
    if (rc == 0) rc = crc;
    if (rc == 0 && d.names.n == 0)
        rc = thaw_err_set(err, THAW_ENOENT,
                          "plot bandwidth: run %lld has no bandwidth rows for %s (the simulator "
                          "records them; exec runs have none)",
                          (long long)m->id, pipes ? pipes : PLOT_BW_DEFAULT_PIPES);
    if (rc == 0) {
        char caps[8192] = "";
        size_t used = 0;
        for (size_t r = 0; r < d.names.n && used < sizeof caps - 32; r++)
            used += (size_t)snprintf(caps + used, sizeof caps - used, "%s%.6g", r ? " " : "",
                                     d.caps[r]);
        char title[1800];
        snprintf(title, sizeof title,
                 "Bandwidth in use per resource: run %lld (%s, %s, seed %lld)\npolicy: %s",
                 (long long)m->id, m->mode, m->scenario, (long long)m->seed, m->policy);
        cli_plot_gp_str(sb, "datafile", job->files[0]);
        cli_plot_gp_words(sb, "names", d.names.v, d.names.n);
        cli_plot_gp_str(sb, "caps", caps);
        cli_plot_gp_num(sb, "tmax", tmax > 0 ? tmax : 1);
        cli_plot_gp_title(sb, title);
        job->series = d.names.n;
    }
    for (size_t i = 0; i < d.names.n; i++)
        free(d.names.v[i]);
    free(d.names.v);
    free(d.caps);
    return rc;
}

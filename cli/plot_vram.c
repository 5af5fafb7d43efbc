/* plot_vram.c - the vram chart (plots/vram.gp): VRAM reserved per GPU over
 * time for one run, a step line per GPU against its capacity. An instance
 * holds its vram from its first LOADING or READY event to its first EVICTED
 * or FAILED one: the rule of vram_util_mean in results/metrics.c, so the
 * chart and the metric tell the same story. Above PLOT_VRAM_HEAT_GPUS GPUs
 * step lines stop being readable: the chart becomes a heatmap, GPU x time,
 * of the share of each GPU's VRAM reserved (sampled at the middle of each
 * of PLOT_VRAM_BINS time bins). */
#include "plot_common.h"

#include <math.h>

#define PLOT_VRAM_HEAT_GPUS 16
#define PLOT_VRAM_BINS 240

/* Fills heat[from..] up to the bins whose middle lies before t with pct. */
static void heat_fill(double *heat, size_t *next, double binw, double t, double pct)
{
    while (*next < PLOT_VRAM_BINS && ((double)*next + 0.5) * binw < t)
        heat[(*next)++] = pct;
}

/* The events of the run by GPU, as the chart needs them. */
struct vram_ev {
    long row; /* GPU row; -1 for a GPU missing from the list */
    double at, gib;
    int64_t id;
    int kind; /* 1 takes VRAM (LOADING, READY), 2 gives it back (EVICTED, FAILED), 0 neither */
};

struct vram_evs {
    const struct cli_plot_gpus *gpus;
    struct vram_ev *v;
    size_t n, cap;
};

static int vram_event(const struct res_stored_ievent *e, void *ctx)
{
    struct vram_evs *w = ctx;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        struct vram_ev *grown = realloc(w->v, cap * sizeof *grown);
        if (!grown) return THAW_ENOMEM;
        w->v = grown;
        w->cap = cap;
    }
    int kind = !strcmp(e->state, "LOADING") || !strcmp(e->state, "READY")    ? 1
               : !strcmp(e->state, "EVICTED") || !strcmp(e->state, "FAILED") ? 2
                                                                             : 0;
    w->v[w->n++] = (struct vram_ev){cli_plot_gpus_row(w->gpus, e->gpu), e->t_s,
                                    (double)e->vram_bytes / 1073741824.0, e->instance, kind};
    return 0;
}

int cli_plot_vram(struct res_db *db, const struct res_run_meta *m, struct cli_plot_job *job,
                  struct cli_plot_sbuf *sb, struct thaw_err *err)
{
    struct cli_plot_gpus gpus;
    int rc = cli_plot_gpus_load(db, m, &gpus, err);
    if (rc < 0) return rc;
    struct vram_evs evs = {&gpus, NULL, 0, 0};
    rc = res_rows_ievents(db, m->id, RES_IEVENTS_BY_GPU, vram_event, &evs, err);
    if (rc == THAW_ENOMEM) rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    FILE *f = rc < 0 ? NULL : cli_plot_open_data(job, "vram.dat", err);
    if (!f) {
        if (rc == 0) rc = err->code;
        free(evs.v);
        cli_plot_gpus_free(&gpus);
        return rc;
    }
    fprintf(f, "# one block per GPU, in the order of the gpus list\n# t_s reserved_GiB\n");
    bool heatmap = gpus.names.n > PLOT_VRAM_HEAT_GPUS;
    double binw = gpus.end_s > 0 ? gpus.end_s / PLOT_VRAM_BINS : 1.0 / PLOT_VRAM_BINS;
    double *heat = heatmap ? calloc((size_t)PLOT_VRAM_BINS * gpus.names.n, sizeof *heat) : NULL;
    if (heatmap && !heat) {
        fclose(f);
        free(evs.v);
        cli_plot_gpus_free(&gpus);
        return thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    }
    /* Instances that hold VRAM now, per GPU: ids and amounts. */
    int64_t *held_id = NULL;
    double *held_gib = NULL;
    size_t nheld = 0, cap = 0, e = 0;
    bool oom = false;
    for (size_t r = 0; r < gpus.names.n; r++) {
        double level = 0;
        double cap_gib = gpus.vram_gib[r] > 0 ? gpus.vram_gib[r] : 0;
        double *hrow = heatmap ? heat + r * PLOT_VRAM_BINS : NULL;
        size_t hnext = 0;
        nheld = 0;
        fprintf(f, "%s# %s\n0 0\n", r ? "\n\n" : "", gpus.names.v[r]);
        job->rows[0]++;
        while (e < evs.n && evs.v[e].row < (long)r)
            e++; /* GPUs missing from the list: skip */
        for (; e < evs.n && evs.v[e].row == (long)r; e++) {
            const struct vram_ev *ev = &evs.v[e];
            size_t h = 0;
            while (h < nheld && held_id[h] != ev->id)
                h++;
            bool holds = h < nheld;
            bool take = !holds && ev->kind == 1;
            bool give = holds && ev->kind == 2;
            if (hrow && (take || give))
                heat_fill(hrow, &hnext, binw, ev->at, cap_gib > 0 ? 100 * level / cap_gib : 0);
            if (take) {
                if (nheld == cap) {
                    size_t nc = cap ? 2 * cap : 16;
                    int64_t *gi = realloc(held_id, nc * sizeof *gi);
                    if (gi) held_id = gi;
                    double *gg = realloc(held_gib, nc * sizeof *gg);
                    if (gg) held_gib = gg;
                    if (!gi || !gg) {
                        oom = true;
                        break;
                    }
                    cap = nc;
                }
                held_id[nheld] = ev->id;
                held_gib[nheld++] = ev->gib;
                level += ev->gib;
            } else if (give) {
                level -= held_gib[h];
                held_id[h] = held_id[nheld - 1];
                held_gib[h] = held_gib[nheld - 1];
                nheld--;
            }
            if ((take || give) && ev->at >= 0) {
                if (level < 1e-9) level = 0;
                fprintf(f, "%.9g %.6f\n", ev->at, level);
                job->rows[0]++;
            }
        }
        fprintf(f, "%.9g %.6f\n", gpus.end_s, level);
        job->rows[0]++;
        if (hrow) heat_fill(hrow, &hnext, binw, INFINITY, cap_gib > 0 ? 100 * level / cap_gib : 0);
    }
    free(evs.v);
    free(held_id);
    free(held_gib);
    rc = cli_plot_close_data(f, job->files[0], err);
    if (oom) rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    /* The heatmap's matrix: a row per GPU (in list order), a column per bin. */
    if (rc == 0 && heatmap) {
        FILE *h = cli_plot_open_data(job, "vram_heat.dat", err);
        if (!h) {
            rc = err->code;
        } else {
            for (size_t r = 0; r < gpus.names.n; r++) {
                for (size_t b = 0; b < PLOT_VRAM_BINS; b++)
                    fprintf(h, "%s%.2f", b ? " " : "", heat[r * PLOT_VRAM_BINS + b]);
                fputc('\n', h);
                job->rows[1]++;
            }
            rc = cli_plot_close_data(h, job->files[1], err);
        }
    }
    free(heat);
    if (rc == 0) {
        char caps[4096] = "";
        size_t used = 0;
        for (size_t r = 0; r < gpus.names.n && used < sizeof caps - 32; r++)
            used += (size_t)snprintf(caps + used, sizeof caps - used, "%s%.3f", r ? " " : "",
                                     gpus.vram_gib[r]);
        char title[1800];
        snprintf(title, sizeof title,
                 "VRAM reserved per GPU: run %lld (%s, %s, seed %lld)\npolicy: %s",
                 (long long)m->id, m->mode, m->scenario, (long long)m->seed, m->policy);
        cli_plot_gp_str(sb, "datafile", job->files[0]);
        cli_plot_gp_words(sb, "gpus", gpus.names.v, gpus.names.n);
        cli_plot_gp_str(sb, "caps", caps);
        cli_plot_gp_num(sb, "tmax", gpus.end_s);
        cli_plot_gp_title(sb, title);
        if (heatmap) {
            cli_plot_gp_str(sb, "heatfile", job->files[1]);
            cli_plot_gp_num(sb, "binw", binw);
        }
        job->series = gpus.names.n;
    }
    cli_plot_gpus_free(&gpus);
    return rc;
}

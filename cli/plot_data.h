/* plot_data.h - the data side of `thaw plot`: for each chart, the rows it
 * reads through results.h (res_rows_*, res_cold_starts, res_load_pairs,
 * res_sweep_runs, ...), the data files they become (written into a fresh
 * mkdtemp folder) and the variables handed to the chart's gnuplot script
 * (plots/KIND.gp), then gnuplot itself, run with fork + execvp and never
 * through a shell. One file per chart: plot_timeline.c, plot_vram.c,
 * plot_cdf.c, plot_sweep.c, plot_validate.c, plot_cluster.c; what they share in
 * plot_common.c (plot_common.h), gnuplot in plot_render.c. cmd_plot.c is
 * only the option parsing around it. */
#ifndef THAW_CLI_PLOT_DATA_H
#define THAW_CLI_PLOT_DATA_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "results.h"
#include "thaw_err.h"

enum cli_plot_kind {
    CLI_PLOT_TIMELINE = 0,
    CLI_PLOT_CDF,
    CLI_PLOT_VRAM,
    CLI_PLOT_SWEEP,
    CLI_PLOT_VALIDATE,
    CLI_PLOT_CLUSTER,
    CLI_PLOT_BANDWIDTH,
    CLI_PLOT_KIND_COUNT
};

const char *cli_plot_kind_name(enum cli_plot_kind k);
/* 0, or THAW_EINVAL for a name that is not a chart. */
int cli_plot_kind_parse(const char *name, enum cli_plot_kind *out);

/* What to plot. sel[] are the RUN arguments as given:
 *   timeline, vram, cluster: at most one run (id or uuid prefix); none = latest run.
 *   cdf: runs, or sweep ids (one line per policy/parameter point of the
 *        sweep, seeds pooled); none = latest run.
 *   sweep: at most one sweep id; none = the latest sweep.
 *   validate: an exec run and a sim run in either order; one run = it and
 *        the latest run of the other mode on the same scenario; none = the
 *        latest exec run and the latest sim run of its scenario. */
struct cli_plot_request {
    enum cli_plot_kind kind;
    int sel_count;
    const char *const *sel;
    const char *metric; /* sweep: metrics-table name; NULL = cold_start_p99_s */
    /* sweep: the x parameter; NULL = the first that varies. bandwidth (one
     * run, as timeline): the resource kinds, "store,network" (--pipes);
     * NULL = store,network,storage,disk */
    const char *param;
};

#define CLI_PLOT_MAX_FILES 4

/* A prepared chart: data files in dir, the assignments for gnuplot -e. */
struct cli_plot_job {
    enum cli_plot_kind kind;
    char dir[PATH_MAX];    /* the mkdtemp folder; "" when not created */
    char script[PATH_MAX]; /* plots/KIND.gp */
    char label[96];        /* "12", "3-4-5", sweep id: names the default output */
    int file_count;
    char files[CLI_PLOT_MAX_FILES][PATH_MAX];
    size_t rows[CLI_PLOT_MAX_FILES]; /* data rows written to each file */
    size_t series;                   /* lines, GPUs or models in the chart */
    char *assign;                    /* "spans=\"...\"; gpus=\"...\"; ..." (malloc'ed) */
};

/* The folder of the gnuplot scripts: $THAW_PLOTS_DIR when set, else the
 * source tree's plots/ compiled in. */
const char *cli_plot_scripts_dir(void);

/* Queries db and writes the chart's data files into a new folder under
 * $TMPDIR (or /tmp). On failure nothing is left behind and err says why
 * (THAW_ENOENT: no such run or sweep, or nothing to plot in it). */
int cli_plot_prepare(struct res_db *db, const struct cli_plot_request *req,
                     struct cli_plot_job *job, struct thaw_err *err);

/* Runs `GNUPLOT -e ASSIGN; outfile=...; term=... SCRIPT`. gnuplot is the
 * program (searched in PATH), NULL = $THAW_GNUPLOT or "gnuplot". The
 * terminal follows outfile's extension: .png (pngcairo) or .svg.
 * THAW_ENOENT when gnuplot is not installed, THAW_EIO when it fails or
 * writes no file. gnuplot's own messages go to this process's stderr. */
int cli_plot_render(const struct cli_plot_job *job, const char *outfile, const char *gnuplot,
                    struct thaw_err *err);

/* Removes the data files and their folder (unless keep), frees assign. */
void cli_plot_job_free(struct cli_plot_job *job, int keep);

#endif

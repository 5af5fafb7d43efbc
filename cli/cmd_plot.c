/* cmd_plot.c - `thaw plot KIND [RUN...]`: the option parsing around
 * plot_*.c (plot_data.h), which read the database, write the data files and run
 * gnuplot on plots/KIND.gp. The chart lands in results/plots/ unless -o
 * says where; its path is printed on stdout so scripts can pick it up. */
#include "cli.h"
#include "plot_data.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: thaw plot [--db DB] KIND [RUN...] [-o FILE.png|FILE.svg] [options]\n"
    "\n"
    "Draws a chart of recorded runs with gnuplot (which must be installed) and\n"
    "prints the path of the chart. KIND is one of:\n"
    "\n"
    "  timeline   a Gantt chart of one run: a row per GPU, for each instance its\n"
    "             wait in the queue (hatched), its load (solid) and its time READY\n"
    "             (light), one colour per model, fault marks across the rows.\n"
    "             RUN: a run id or uuid prefix; default the latest run. Above 32\n"
    "             GPUs: the 24 busiest GPUs, then a row per node.\n"
    "  cdf        cold-start latency (loads for a demand or a failover, enqueued\n"
    "             to READY) as a CDF, a line per RUN; a sweep id as RUN gives a\n"
    "             line per point of the sweep, seeds pooled. Default: latest run.\n"
    "  vram       VRAM reserved per GPU over time for one run (default latest);\n"
    "             above 16 GPUs a heatmap, GPU x time.\n"
    "  cluster    the whole cluster over time for one run (default latest): READY\n"
    "             instances, queued loads, waiting requests, VRAM reserved.\n"
    "  sweep      a metric against a swept parameter, a line per policy, the mean\n"
    "             over seeds with 95% confidence bars. RUN: a sweep id; default\n"
    "             the latest sweep.\n"
    "  bandwidth  bandwidth in use per resource over time for one sim run (default\n"
    "             latest): the shared store, each node's network link, storage and\n"
    "             disk cache (--pipes), a step line each against its capacity, so\n"
    "             the bottleneck pipe shows.\n"
    "  validate   simulated against measured load time, with the y = x line: an\n"
    "             exec run and a sim run (either order); one run pairs it with the\n"
    "             latest run of the other mode on the same scenario; none pairs\n"
    "             the latest exec run with the latest sim run of its scenario.\n"
    "\n"
    "options:\n"
    "  --db DB          results database (default " CLI_DEFAULT_DB ")\n"
    "  -o, --output F   the chart; .png (pngcairo) or .svg. Default:\n"
    "                   results/plots/KIND-RUN.png\n"
    "  --metric M       sweep: the metric on the y axis (default cold_start_p99_s);\n"
    "                   any name of the metrics table, see 'thaw report'\n"
    "  --param KEY      sweep: the parameter on the x axis (default: the first\n"
    "                   --set key that varies in the sweep, else the policy)\n"
    "  --pipes K,K      bandwidth: the resource kinds to draw, of store, network,\n"
    "                   storage, disk, shm, nvlink, h2d, pcie (default\n"
    "                   store,network,storage,disk)\n"
    "  --keep-data      keep the data files given to gnuplot and print their folder\n"
    "  --log            a log scale on the value axis: latency (x) for cdf, the\n"
    "                   metric (y) for sweep, GiB (y) for vram lines, both for\n"
    "                   validate, waiting requests (y) for cluster\n"
    "\n"
    "Environment: THAW_GNUPLOT names the gnuplot program (default gnuplot, from\n"
    "PATH); THAW_PLOTS_DIR the folder of the chart scripts. The data files and\n"
    "their columns are described in plots/README.md.\n"
    "\n"
    "examples:\n"
    "  thaw plot timeline                  # the latest run\n"
    "  thaw plot cdf 3 4 -o ab.svg         # runs 3 and 4 side by side\n"
    "  thaw plot sweep 5f2c9a1e --metric makespan_s\n";

/* mkdir -p of the folder that holds path. */
static int make_parent(const char *path)
{
    char dir[4096];
    int n = snprintf(dir, sizeof dir, "%s", path);
    if (n < 0 || (size_t)n >= sizeof dir) return -1;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int run(int argc, char **argv)
{
    const char *db_path = CLI_DEFAULT_DB, *out = NULL, *metric = NULL, *param = NULL;
    const char *kind_name = NULL, *pipes = NULL;
    const char **sel = calloc((size_t)argc, sizeof *sel);
    int nsel = 0, keep = 0, logscale = 0, rc = CLI_EXIT_FAIL;
    if (!sel) {
        fprintf(stderr, "thaw plot: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--db") || !strcmp(a, "-o") || !strcmp(a, "--output") ||
            !strcmp(a, "--metric") || !strcmp(a, "--param") || !strcmp(a, "--pipes")) {
            if (!has_value) {
                rc = cli_usage_error("plot", "%s needs a value", a);
                goto done;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--db"))
                db_path = v;
            else if (!strcmp(a, "--metric"))
                metric = v;
            else if (!strcmp(a, "--param"))
                param = v;
            else if (!strcmp(a, "--pipes"))
                pipes = v;
            else
                out = v;
        } else if (!strcmp(a, "--keep-data")) {
            keep = 1;
        } else if (!strcmp(a, "--log")) {
            logscale = 1;
        } else if (!strcmp(a, "--")) {
            for (i++; i < argc; i++) {
                if (!kind_name)
                    kind_name = argv[i];
                else
                    sel[nsel++] = argv[i];
            }
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("plot", "unknown option %s", a);
            goto done;
        } else if (!kind_name) {
            kind_name = a;
        } else {
            sel[nsel++] = a;
        }
    }
    if (!kind_name) {
        rc = cli_usage_error(
            "plot", "which chart? timeline, cdf, vram, sweep, validate, cluster or bandwidth");
        goto done;
    }
    enum cli_plot_kind kind;
    if (cli_plot_kind_parse(kind_name, &kind) < 0) {
        rc = cli_usage_error(
            "plot", "unknown chart \"%s\" (timeline, cdf, vram, sweep, validate, cluster, bandwidth)",
            kind_name);
        goto done;
    }
    if ((metric || param) && kind != CLI_PLOT_SWEEP) {
        rc = cli_usage_error("plot", "--metric and --param apply to the sweep chart only");
        goto done;
    }
    if (pipes && kind != CLI_PLOT_BANDWIDTH) {
        rc = cli_usage_error("plot", "--pipes applies to the bandwidth chart only");
        goto done;
    }
    if (access(db_path, R_OK) != 0) {
        fprintf(stderr,
                "thaw plot: no results database at %s (record runs with thaw sim or "
                "thaw exec first, or give --db)\n",
                db_path);
        goto done;
    }

    struct thaw_err err = {0};
    struct res_db *db = NULL;
    if (res_open(db_path, &db, &err) < 0) {
        fprintf(stderr, "thaw plot: %s\n", err.msg);
        goto done;
    }
    struct cli_plot_request req = {kind, nsel, sel, metric, pipes ? pipes : param};
    struct cli_plot_job job;
    int prc = cli_plot_prepare(db, &req, &job, &err);
    res_close(db);
    if (prc == 0 && logscale) {
        size_t len = job.assign ? strlen(job.assign) : 0;
        char *grown = realloc(job.assign, len + 16);
        if (grown) {
            memcpy(grown + len, "logscale=1; ", 13);
            job.assign = grown;
        }
    }
    if (prc < 0) {
        fprintf(stderr, "thaw plot: %s\n", err.msg);
        goto done;
    }
    char def[256];
    if (!out) {
        snprintf(def, sizeof def, "results/plots/%s-%s.png", kind_name, job.label);
        out = def;
    }
    if (make_parent(out) < 0) {
        fprintf(stderr, "thaw plot: cannot create the folder of %s: %s\n", out, strerror(errno));
        cli_plot_job_free(&job, keep);
        goto done;
    }
    if (cli_plot_render(&job, out, NULL, &err) < 0) {
        fprintf(stderr, "thaw plot: %s\n", err.msg);
        if (keep) fprintf(stderr, "thaw plot: data files kept in %s\n", job.dir);
        cli_plot_job_free(&job, keep);
        goto done;
    }
    if (keep) fprintf(stderr, "thaw plot: data files kept in %s\n", job.dir);
    cli_plot_job_free(&job, keep);
    printf("%s\n", out);
    rc = CLI_EXIT_OK;
done:
    free(sel);
    return rc;
}

const struct cli_command cli_cmd_plot = {"plot", "draw a chart of recorded runs with gnuplot",
                                         usage, run};

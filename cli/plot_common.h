/* plot_common.h - what the chart files of `thaw plot` share, internal to
 * cli/: name lists (inline, kept in insertion order so that colours never
 * depend on hashing), the gnuplot -e string, the data files, labels made
 * of what differs between runs, and a run's GPUs. plot_common.c holds them
 * and cli_plot_prepare, which calls one chart function per plots/KIND.gp:
 * plot_timeline.c, plot_vram.c, plot_cdf.c, plot_sweep.c, plot_validate.c,
 * plot_cluster.c.
 * The charts read the database through results.h only. */
#ifndef THAW_CLI_PLOT_COMMON_H
#define THAW_CLI_PLOT_COMMON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_data.h"

/* A list of owned strings in insertion order. */
struct names {
    char **v;
    size_t n;
};

static inline void names_free(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static inline long names_find(const struct names *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s)) return (long)i;
    return -1;
}

/* Appends s (even when already there); its index, -1 when out of memory. */
static inline long names_push(struct names *l, const char *s)
{
    char *copy = strdup(s);
    char **grown = realloc(l->v, (l->n + 1) * sizeof *grown);
    if (!copy || !grown) {
        free(copy);
        if (grown) l->v = grown;
        return -1;
    }
    l->v = grown;
    l->v[l->n] = copy;
    return (long)l->n++;
}

/* Index of s, appended when new; -1 when out of memory. */
static inline long names_intern(struct names *l, const char *s)
{
    long i = names_find(l, s);
    return i >= 0 ? i : names_push(l, s);
}

/* A growing string for the gnuplot -e assignments; oom sticks. */
struct cli_plot_sbuf {
    char *s;
    size_t len, cap;
    bool oom;
};
void cli_plot_printf(struct cli_plot_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* name="value"; with value escaped for a gnuplot double-quoted string. */
void cli_plot_gp_str(struct cli_plot_sbuf *b, const char *name, const char *value);
/* name=v; (0 for a value that is not finite). */
/* title="...", its lines longer than a chart's width broken at a ',' or
 * space. */
void cli_plot_gp_title(struct cli_plot_sbuf *b, const char *title);
void cli_plot_gp_num(struct cli_plot_sbuf *b, const char *name, double v);
/* A word list for gnuplot's word()/words(): each item quoted. A quote or
 * backslash inside an item would end its word early, so they become '_'. */
void cli_plot_gp_words(struct cli_plot_sbuf *b, const char *name, char *const *items, size_t n);

/* A data-file string column: quoted, quotes and control characters '_'. */
void cli_plot_fput_name(FILE *f, const char *s);
/* Creates job->dir/name as the job's next data file (its row count 0);
 * NULL with err set (err->code) on failure. */
FILE *cli_plot_open_data(struct cli_plot_job *job, const char *name, struct thaw_err *err);
/* Closes a data file; THAW_EIO when anything failed to be written. */
int cli_plot_close_data(FILE *f, const char *path, struct thaw_err *err);

/* Items "key=value" of a run for labels: mode, the policy's components, the
 * sweep parameters (the policy's settings among them), and the seed. */
void cli_plot_run_items(const struct res_run_meta *m, bool with_seed, struct names *items);
/* Appends to out the items of `mine` that are not shared by every list in
 * all[0..n-1] (a key missing from a list counts as different). */
void cli_plot_differing(const struct names *mine, const struct names *all, size_t n, char *out,
                        size_t len);

/* A RUN argument (id or uuid prefix), or NULL for the latest run. */
int cli_plot_resolve_run(struct res_db *db, const char *sel, int64_t *id, struct thaw_err *err);

/* The GPU rows of a chart (res_rows_gpus; a name repeated is shown as
 * "gpu" INDEX) and the time the chart ends: duration_s, or the latest time
 * in the run's rows when later or unknown (at least 1 s). */
struct cli_plot_gpus {
    struct names names;
    struct names nodes; /* the node of each GPU row, for node faults */
    double *vram_gib;
    int *flat; /* flat index as stored in loads.gpu / instance_events.gpu */
    double end_s;
};
/* At least one GPU, THAW_ENOENT otherwise (nothing to free then). */
int cli_plot_gpus_load(struct res_db *db, const struct res_run_meta *m, struct cli_plot_gpus *g,
                       struct thaw_err *err);
void cli_plot_gpus_free(struct cli_plot_gpus *g);
/* The row of a flat GPU index; -1 when the list lacks it. */
long cli_plot_gpus_row(const struct cli_plot_gpus *g, int flat);

/* The charts: each writes its data files into job->dir and its gnuplot
 * variables into sb; THAW_ENOENT when there is nothing to draw. */
int cli_plot_timeline(struct res_db *db, const struct res_run_meta *m, struct cli_plot_job *job,
                      struct cli_plot_sbuf *sb, struct thaw_err *err);
int cli_plot_vram(struct res_db *db, const struct res_run_meta *m, struct cli_plot_job *job,
                  struct cli_plot_sbuf *sb, struct thaw_err *err);
int cli_plot_cdf(struct res_db *db, const struct cli_plot_request *req, struct cli_plot_job *job,
                 struct cli_plot_sbuf *sb, struct thaw_err *err);
int cli_plot_sweep(struct res_db *db, const struct cli_plot_request *req, struct cli_plot_job *job,
                   struct cli_plot_sbuf *sb, struct thaw_err *err);
int cli_plot_cluster(struct res_db *db, const struct res_run_meta *m, struct cli_plot_job *job,
                     struct cli_plot_sbuf *sb, struct thaw_err *err);
int cli_plot_validate(struct res_db *db, const struct cli_plot_request *req,
                      struct cli_plot_job *job, struct cli_plot_sbuf *sb, struct thaw_err *err);
int cli_plot_bandwidth(struct res_db *db, const struct res_run_meta *m, const char *pipes,
                       struct cli_plot_job *job, struct cli_plot_sbuf *sb, struct thaw_err *err);

#endif

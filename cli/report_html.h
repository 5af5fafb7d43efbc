/* report_html.h - `thaw report --html OUT.html` (report_html.c): one
 * self-contained HTML file for runs, internal to cli/. */
#ifndef THAW_CLI_REPORT_HTML_H
#define THAW_CLI_REPORT_HTML_H

#include <stdint.h>

#include "results.h"
#include "thaw_err.h"

/* Writes to out_path (through out_path.tmp, renamed when complete) the
 * summary of runs[0..n-1] side by side, each run's per-model table,
 * anomalies and charts (SVG from gnuplot, inlined), and the charts across
 * the runs. sweep_id (NULL: none) adds the sweep chart. gnuplot: the
 * program, NULL as cli_plot_render. THAW_ENOENT when gnuplot is missing. */
int cli_report_html(struct res_db *db, const int64_t *runs, int n, const char *sweep_id,
                    const char *out_path, const char *gnuplot, struct thaw_err *err);

#endif

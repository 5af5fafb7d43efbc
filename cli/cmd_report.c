/* cmd_report.c - `thaw report`: stored runs' summaries side by side, read
 * from a results database (the last run by default). Reads only: a missing
 * database is an error, not a new empty file. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

static const char report_usage[] =
    "usage: thaw report [--db PATH] [RUN...]\n"
    "\n"
    "Prints the summary of stored runs side by side: for each run its id, uuid,\n"
    "mode, scenario, seed, status and policy, then one row per metric (cold-start\n"
    "latency mean/p50/p95/p99, makespan, shm hit rate, deadline misses, request\n"
    "latency cold and warm, recovery after faults, VRAM utilisation, load counts)\n"
    "with one column per run. '-' marks a metric without data (no faults, no\n"
    "requests...), and every metric of a run still 'running'.\n"
    "\n"
    "options:\n"
    "  --db PATH   results database (default " CLI_DEFAULT_DB ")\n"
    "  RUN         a run id, or a prefix (4+ hex digits) of a run's uuid;\n"
    "              default: the last run\n"
    "\n"
    "examples:\n"
    "  thaw report                 the last run\n"
    "  thaw report 3 4             runs 3 and 4 side by side\n"
    "  thaw report --db lab.db 9f2c\n";

static int report_run(int argc, char **argv)
{
    const char *db_path = CLI_DEFAULT_DB;
    const char **sel = calloc((size_t)argc + 1, sizeof *sel);
    if (!sel) {
        fprintf(stderr, "thaw report: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    int nsel = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db")) {
            if (i + 1 >= argc) {
                free(sel);
                return cli_usage_error("report", "--db needs a path");
            }
            db_path = argv[++i];
        } else if (!strncmp(argv[i], "--db=", 5)) {
            db_path = argv[i] + 5;
        } else if (!strcmp(argv[i], "--")) {
            for (i++; i < argc; i++)
                sel[nsel++] = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(sel);
            return cli_usage_error("report", "unknown option %s", argv[i]);
        } else {
            sel[nsel++] = argv[i];
        }
    }
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr,
                "thaw report: no results database at %s (run `thaw sim` first, or give "
                "--db)\n",
                db_path);
        free(sel);
        return CLI_EXIT_FAIL;
    }
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    int64_t *runs = calloc((size_t)nsel + 1, sizeof *runs);
    int rc = CLI_EXIT_FAIL;
    if (!runs) {
        fprintf(stderr, "thaw report: out of memory\n");
        goto out;
    }
    if (res_open(db_path, &db, &err) < 0) {
        fprintf(stderr, "thaw report: %s\n", err.msg);
        goto out;
    }
    int n = 0;
    if (nsel == 0) {
        if (res_last_run(db, &runs[0], &err) < 0) {
            fprintf(stderr, "thaw report: %s\n", err.msg);
            goto out;
        }
        if (runs[0] == 0) {
            fprintf(stderr, "thaw report: %s holds no runs\n", db_path);
            goto out;
        }
        n = 1;
    }
    for (int i = 0; i < nsel; i++) {
        if (res_resolve_run(db, sel[i], &runs[n++], &err) < 0) {
            fprintf(stderr, "thaw report: %s\n", err.msg);
            goto out;
        }
    }
    if (res_summary_print(db, runs, n, stdout, &err) < 0) {
        fprintf(stderr, "thaw report: %s\n", err.msg);
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    res_close(db);
    free(runs);
    free(sel);
    return rc;
}

const struct cli_command cli_cmd_report = {
    "report",
    "print stored runs' summaries side by side",
    report_usage,
    report_run,
};

/* cmd_prune.c - `thaw prune`: removes the runs that will never finish
 * (failed, interrupted, or still 'running' though the process that wrote
 * them is gone) with all their rows, which a killed sweep can leave by the
 * million. The choice is results/prune.c's; this file prints. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

static const char prune_usage[] =
    "usage: thaw prune [--db PATH] [--dry-run]\n"
    "\n"
    "Removes from the results database every run that is failed, interrupted\n"
    "or orphaned, with all its rows (loads, requests, instance events, faults,\n"
    "GPUs, core events, metrics), in one transaction. A run is orphaned when\n"
    "it is still 'running' but the process that wrote it (its host, pid and\n"
    "process start time are recorded in the runs row) is gone. A 'running'\n"
    "run of another host, or of a database older than that record, is kept:\n"
    "its process cannot be checked from here. Prints one line per run, then\n"
    "the totals; `thaw report` names orphaned runs too.\n"
    "\n"
    "options:\n"
    "  --db PATH   the results database (default " CLI_DEFAULT_DB ")\n"
    "  --dry-run   list what would be removed; change nothing\n";

static int prune_run(int argc, char **argv)
{
    const char *db_path = CLI_DEFAULT_DB;
    bool dry = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db")) {
            if (i + 1 >= argc) return cli_usage_error("prune", "--db needs a value");
            db_path = argv[++i];
        } else if (!strncmp(argv[i], "--db=", 5)) {
            db_path = argv[i] + 5;
        } else if (!strcmp(argv[i], "--dry-run")) {
            dry = true;
        } else {
            return cli_usage_error("prune", "unknown argument %s", argv[i]);
        }
    }
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "thaw prune: no results database at %s\n", db_path);
        return CLI_EXIT_FAIL;
    }
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    int64_t *ids = NULL;
    int n = 0, rc = CLI_EXIT_FAIL;
    if (res_open(db_path, &db, &err) < 0 || res_prune_list(db, &ids, &n, &err) < 0) {
        fprintf(stderr, "thaw prune: %s\n", err.msg);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        struct res_run_meta m;
        if (res_run_meta_load(db, ids[i], &m, &err) < 0) {
            fprintf(stderr, "thaw prune: %s\n", err.msg);
            goto out;
        }
        printf("run %lld %s %s %s\n", (long long)ids[i],
               strcmp(m.status, "running") ? m.status : "orphaned", m.mode, m.scenario);
    }
    int64_t rows = 0;
    if (!dry && n > 0 && res_runs_delete(db, ids, n, &rows, &err) < 0) {
        fprintf(stderr, "thaw prune: %s\n", err.msg);
        goto out;
    }
    if (dry)
        printf("%d run%s would be removed (--dry-run: nothing changed)\n", n, n == 1 ? "" : "s");
    else
        printf("%d run%s removed, %lld rows in all\n", n, n == 1 ? "" : "s", (long long)rows);
    rc = CLI_EXIT_OK;
out:
    free(ids);
    res_close(db);
    return rc;
}

const struct cli_command cli_cmd_prune = {
    "prune",
    "remove failed, interrupted and orphaned runs with all their rows",
    prune_usage,
    prune_run,
};

/* cmd_merge.c - `thaw merge OUT.db IN.db...`: gathers the results of a sweep
 * run as shards on several machines into one database. Runs are known by
 * uuid, so merging an input twice adds nothing (results/merge.c). */
#include "cli.h"

#include <string.h>

#include "results.h"

static const char merge_usage[] =
    "usage: thaw merge OUT.db IN.db...\n"
    "\n"
    "Copies every finished run of each IN.db (the runs row and all its loads,\n"
    "requests, instance events, faults, GPUs, core events and metrics) into\n"
    "OUT.db, which is created when missing. A run whose uuid OUT.db already\n"
    "holds is skipped, so merging the same input again adds nothing; runs\n"
    "still 'running' in an input are skipped too. Run ids are renumbered in\n"
    "OUT.db; uuids, sweep ids and parameters are kept. Each input is copied\n"
    "in one transaction: a failed input leaves OUT.db as it was before it.\n"
    "\n"
    "example (a sweep sharded over a Slurm array, then gathered):\n"
    "  thaw sweep s.yaml --seeds 1-30 --shard $((SLURM_ARRAY_TASK_ID+1))/8 \\\n"
    "      --db shard-$SLURM_ARRAY_TASK_ID.db\n"
    "  thaw merge all.db shard-*.db\n";

static int merge_run(int argc, char **argv)
{
    int first = 1;
    if (first < argc && !strcmp(argv[first], "--")) first++;
    if (argc - first < 2) return cli_usage_error("merge", "expected OUT.db and at least one IN.db");
    for (int i = first; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1])
            return cli_usage_error("merge", "unknown option %s", argv[i]);
    const char *out_path = argv[first];
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    if (res_open(out_path, &db, &err) < 0) {
        fprintf(stderr, "thaw merge: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_OK, added = 0;
    for (int i = first + 1; i < argc; i++) {
        struct res_merge_counts c;
        if (res_merge(db, argv[i], &c, &err) < 0) {
            fprintf(stderr, "thaw merge: %s\n", err.msg);
            rc = CLI_EXIT_FAIL;
            continue;
        }
        printf("%s: %d run%s added, %d already present, %d still running (skipped)\n", argv[i],
               c.added, c.added == 1 ? "" : "s", c.duplicates, c.running);
        added += c.added;
    }
    printf("%s: %d run%s added in all\n", out_path, added, added == 1 ? "" : "s");
    res_close(db);
    return rc;
}

const struct cli_command cli_cmd_merge = {
    "merge",
    "merge result databases (e.g. sweep shards) without duplicating runs",
    merge_usage,
    merge_run,
};

/* fuzz_select.c - the sweep grid (--set, --policy, --seeds, --shard, plan's
 * --vary and --target) and run selectors. The input's first line is fed to
 * every grid parser, and the grid is walked point by point; the rest is a
 * run selector, matched against a database of six runs. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "spec.h"
#include "sweep.h"

static struct res_db *db;

/* Six runs of one scenario: two sweeps, two policies, one still running. */
static void make_db(void)
{
    struct thaw_err err = {0, ""};
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *spec = NULL;
    if (core_spec_load(THAW_SOURCE_DIR "/scenarios/chained-cold-start.yaml", NULL, 0, &spec, &d) ||
        res_open(":memory:", &db, &err)) {
        core_diags_free(&d);
        abort();
    }
    core_diags_free(&d);
    for (int i = 0; i < 6; i++) {
        struct res_run_info info = {i < 3 ? "sim" : "exec",           "",
                                    i % 2 ? "policy.queue=fifo" : "", i < 4 ? "S1" : "S2",
                                    i % 3 ? "gpus=4;n=2" : "gpus=8",  (uint64_t)i + 1};
        int64_t run;
        if (res_run_begin(db, spec, &info, &run, &err) ||
            (i < 5 && res_run_finish(db, run, "complete", 1000000000, &err)))
            abort();
    }
    core_spec_free(spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db) make_db();
    char *s = fuzz_cstr(data, size);
    if (!s) return 0;
    char *rest = strchr(s, '\n');
    if (rest) *rest++ = '\0';
    struct thaw_err err = {0, ""};

    struct cli_sweep_grid g;
    cli_sweep_grid_init(&g);
    cli_sweep_grid_add_set(&g, s, &err);
    cli_sweep_grid_add_policy(&g, s, &err);
    cli_sweep_grid_add_seeds(&g, s, &err);
    size_t total = cli_sweep_grid_size(&g);
    cli_sweep_grid_combos(&g);
    for (size_t i = 0; i < total && i < 64; i++) {
        struct cli_sweep_point p;
        char params[1024];
        if (cli_sweep_point_at(&g, i, &p) == 0)
            cli_sweep_point_params(&g, &p, params, sizeof params);
    }
    cli_sweep_grid_free(&g);
    struct cli_shard shard;
    if (cli_shard_parse(s, &shard, &err) == 0) {
        cli_shard_count(&shard, 1000);
        cli_shard_has(&shard, 7);
    }
    struct cli_plan_target t;
    if (cli_plan_target_parse(s, &t, &err) == 0) cli_plan_meets(&t, 1.0);
    char key[64];
    long lo, hi;
    cli_plan_range_parse(s, key, sizeof key, &lo, &hi, &err);

    int64_t *ids = NULL;
    int count = 0;
    if (res_select_runs(db, rest ? rest : s, &ids, &count, &err) == 0) free(ids);
    free(s);
    return 0;
}

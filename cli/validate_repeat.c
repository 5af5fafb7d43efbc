/* validate_repeat.c - `thaw validate --repeat N`: runs an exec run's
 * scenario again N times, as it ran (the spec the run was recorded from,
 * its seed, --set/--policy overrides, backend and time scale), into the
 * same database, so that res_run_repeats finds them and `thaw validate`
 * measures the executor's own noise floor beside the simulator's error. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "results.h"

int cli_validate_repeat(struct res_db *db, const struct res_run_meta *ex, int n,
                        const char *weights_dir, const char *shm_dir)
{
    struct thaw_err err = {0};
    char *full = NULL;
    struct cli_overrides o;
    cli_overrides_init(&o);
    if (res_run_overrides(db, ex->id, &full, &err) < 0 || cli_overrides_from_text(full, &o) < 0) {
        fprintf(stderr, "thaw validate: --repeat: run %lld's overrides: %s\n", (long long)ex->id,
                err.msg[0] ? err.msg : "do not parse");
        free(full);
        cli_overrides_free(&o);
        return -1;
    }
    bool stored = false;
    struct core_spec *spec = cli_run_spec_load(db, ex, &o, "validate", &stored);
    cli_overrides_free(&o);
    int rc = -1;
    if (!spec) goto out;
    spec->seed = (uint64_t)ex->seed;

    struct exec_opts opts;
    exec_opts_init(&opts);
    opts.backend = !strcmp(ex->backend, "cuda") ? EXEC_BACKEND_CUDA : EXEC_BACKEND_HOST;
    double scale = res_metric_value(db, ex->id, "exec_time_scale");
    opts.time_scale = scale > 0 ? scale : 1.0;
    if (weights_dir) opts.weights_dir = weights_dir;
    opts.shm_dir = shm_dir;
    opts.db = db;
    opts.run_info.overrides = full ? full : "";
    int generated;
    uint64_t gen_bytes;
    if (exec_check_memory(spec, opts.backend == EXEC_BACKEND_HOST, &err) < 0 ||
        exec_weights_prepare(spec, opts.weights_dir, &generated, &gen_bytes, &err) < 0 ||
        exec_signals_install(&err) < 0) {
        fprintf(stderr, "thaw validate: --repeat: %s\n", err.msg);
        goto out;
    }
    printf("repeating exec run %lld %d time%s (%s, seed %lld, %s backend, --time-scale %g)\n",
           (long long)ex->id, n, n == 1 ? "" : "s", ex->scenario, ex->seed,
           opts.backend == EXEC_BACKEND_CUDA ? "cuda" : "host", opts.time_scale);
    for (int i = 0; i < n; i++) {
        struct exec_result res;
        if (exec_run(spec, &opts, &res, &err) < 0) {
            fprintf(stderr, "thaw validate: --repeat: %s\n", err.msg);
            goto out;
        }
        printf("  repeat %d: run %lld, %s, %.2f s wall, %llu loads ok, %llu failed\n", i + 1,
               (long long)res.run_id, res.status, res.wall_s, (unsigned long long)res.loads_ok,
               (unsigned long long)res.loads_failed);
        if (strcmp(res.status, "complete")) {
            fprintf(stderr, "thaw validate: --repeat: run %lld %s\n", (long long)res.run_id,
                    res.status);
            goto out;
        }
    }
    printf("\n");
    rc = 0;
out:
    core_spec_free(spec);
    free(full);
    return rc;
}

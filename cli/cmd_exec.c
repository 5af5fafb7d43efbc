/* cmd_exec.c - `thaw exec`: runs a scenario for real on this host (cuda or
 * host backend, real weight files, a real /dev/shm tier), records it with
 * mode=exec in the same schema as `thaw sim`, and prints the summary. Also
 * `--bench`: the loader's GB/s per source beside the host's own limits. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "results.h"

static const char exec_usage[] =
    "usage: thaw exec SCENARIO [options]\n"
    "\n"
    "Runs SCENARIO for real: the same scheduling core as `thaw sim`, fed by real\n"
    "events on the wall clock. Weight files are real (synthetic files of each\n"
    "model's exact size, written to the weights folder when missing or of the\n"
    "wrong size; or the model's safetensors), loads are chunked, pipelined and\n"
    "checksummed, the shm tier is real files under /dev/shm/thaw-$UID, requests\n"
    "run real work on the loaded weights. The run is recorded with mode=exec, so\n"
    "`thaw report` shows it beside a `thaw sim` run of the same scenario.\n"
    "\n"
    "Times: scenario time = wall time x --time-scale. Arrivals, faults, drawn\n"
    "init/warm-up/phase waits and request service times follow the scenario\n"
    "clock; weight copies and request work take what they take. Recorded times\n"
    "are scenario seconds. A request's service ends at the later of its real\n"
    "work's end and dispatch + its drawn service time.\n"
    "\n"
    "options:\n"
    "  --backend B       auto | cuda | host (default auto: cuda when a device\n"
    "                    answers; says why when it falls back to host)\n"
    "  --time-scale X    scenario seconds per wall second (default 1)\n"
    "  --seed N          the run's seed (default: the scenario's run.seed), as in\n"
    "                    `thaw sim --seed`: the same arrivals, services and faults\n"
    "  --weights-dir D   synthetic weight files (default weights/)\n"
    "  --disk-dir D      folder holding the node disk caches' thaw-$UID (storage\n"
    "                    ladder; default the weights folder)\n"
    "  --shm-dir D       folder holding the shm tier's thaw-$UID (default /dev/shm);\n"
    "                    each run fills a folder of its own there, run-<pid>-<n>,\n"
    "                    so runs at the same time never touch each other's files\n"
    "  --keep-shm        fill thaw-$UID itself and leave the files in place (a\n"
    "                    later --keep-shm run adopts them instead of filling again)\n"
    "  --chunk SIZE      loader chunk, e.g. 64MiB, 4M, 1048576 (default 8MiB;\n"
    "                    capped per load at its size / depth)\n"
    "  --depth N         loader chunks in flight (default 4)\n"
    "  --db PATH         results database (default " CLI_DEFAULT_DB ")\n"
    "  --set K=V         override one scenario value (repeatable)\n"
    "  --policy K=V,...  override policy values\n"
    "  --request-fraction F  share of an instance's weights one request reads\n"
    "                    (default: 1 on cuda, 1/64 on host, whose CPU is ~1000x\n"
    "                    slower than a GPU at this pass)\n"
    "  --check           run the core's invariant checker after every event\n"
    "  --no-drop-cache   keep weight files in the page cache (storage loads then\n"
    "                    measure memory, not storage)\n"
    "  --quiet           print only the run id\n"
    "  --record LEVEL    rows the run writes: all (default), loads (no requests or\n"
    "                    core events) or summary (metrics, faults, cold starts)\n"
    "  --bench           do not run the scenario: measure the loader from storage\n"
    "                    and from shm on the largest model beside this host's\n"
    "                    limits (cold file read, memcpy)\n"
    "\n"
    "Ctrl-C stops the run cleanly: workers are joined, shm files removed, and the\n"
    "run is recorded as 'interrupted' (exit 1).\n"
    "\n"
    "examples:\n"
    "  thaw exec scenarios/exec-small.yaml\n"
    "  thaw exec scenarios/exec-small.yaml --time-scale 2 --policy queue=priority\n"
    "  thaw exec scenarios/exec-small.yaml --bench\n";

/* "64MiB", "64M", "64m", "65536": bytes; 0 on error. */
static uint64_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0)) return 0;
    uint64_t mul = 1;
    if (*end) {
        char u = *end++;
        if (u == 'k' || u == 'K')
            mul = 1ull << 10;
        else if (u == 'm' || u == 'M')
            mul = 1ull << 20;
        else if (u == 'g' || u == 'G')
            mul = 1ull << 30;
        else
            return 0;
        if (!strcmp(end, "iB") || !strcmp(end, "B")) end += strlen(end);
        if (*end) return 0;
    }
    double bytes = v * (double)mul;
    if (bytes > 16.0 * (1ull << 30)) return 0;
    return (uint64_t)bytes;
}

struct progress_state {
    bool drawn;
};

static void draw_progress(void *ctx, const struct exec_progress *p)
{
    struct progress_state *ps = ctx;
    double gbps = p->wall_s > 0 ? (double)p->bytes_moved / p->wall_s / 1e9 : 0;
    fprintf(stderr,
            "\r\033[K  t=%7.2fs  loading %d  filling %d  loads done %llu  requests %llu  "
            "moved %.2f GB (%.2f GB/s)",
            (double)p->now_ns / 1e9, p->loads_in_flight, p->fills_in_flight,
            (unsigned long long)p->loads_done, (unsigned long long)p->requests_done,
            (double)p->bytes_moved / 1e9, gbps);
    ps->drawn = true;
}

static void print_bench(const struct exec_bench_result *b)
{
    printf("bench: %s, %.1f MiB, %s backend\n", b->model, (double)b->bytes / (1 << 20), b->backend);
    printf("  %-8s %12s %14s %8s\n", "source", "loader GB/s", "host limit", "ratio");
    double r1 = b->storage_limit_gbps > 0 ? b->storage_load_gbps / b->storage_limit_gbps : 0;
    double r2 = b->shm_limit_gbps > 0 ? b->shm_load_gbps / b->shm_limit_gbps : 0;
    printf("  %-8s %12.2f %14.2f %7.0f%%   (limit: read() with a cold page cache%s)\n", "storage",
           b->storage_load_gbps, b->storage_limit_gbps, 100 * r1,
           b->direct_io ? "; loader used O_DIRECT" : "");
    printf("  %-8s %12.2f %14.2f %7.0f%%   (limit: single-thread memcpy)\n", "shm",
           b->shm_load_gbps, b->shm_limit_gbps, 100 * r2);
    printf("  shm fill (storage -> /dev/shm): %.2f GB/s\n", b->shm_fill_gbps);
    if (r1 < 0.8)
        printf("  note: storage load under 80%% of the limit: each chunk is read, then copied\n"
               "  into the device buffer; with few cores (or a busy host) the copy and the\n"
               "  reader compete for CPU.\n");
    if (r2 < 0.8)
        printf("  note: shm load under 80%% of memcpy: the load copies out of a tmpfs mapping\n"
               "  (4 KiB pages, a TLB miss every page) while the yardstick copies anonymous\n"
               "  memory; on a shared host both also compete with other processes.\n");
}

/* Every failed load, with its reason, on stderr: a run that goes on past a
 * bad weight file still says what was wrong with it. */
static int print_failed(const struct res_stored_load *l, void *ctx)
{
    (void)ctx;
    if (strcmp(l->outcome, "failed")) return 0;
    fprintf(stderr, "thaw exec: load %lld of %s on %s failed at %.3f s: %s\n",
            (long long)l->load_id, l->model, l->gpu_name,
            isnan(l->finished_s) ? l->started_s : l->finished_s,
            l->error ? l->error : "no reason recorded");
    return 0;
}

static int exec_cmd_run(int argc, char **argv)
{
    struct exec_opts opts;
    exec_opts_init(&opts);
    struct cli_overrides ovr;
    cli_overrides_init(&ovr);
    const char *scenario = NULL, *db_path = CLI_DEFAULT_DB;
    bool quiet = false, bench = false, has_seed = false;
    int record = RES_RECORD_ALL;
    unsigned long long seed = 0;
    int rc = CLI_EXIT_USAGE;
    struct core_spec *spec = NULL;
    struct res_db *db = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (!val) {                                                                                \
            rc = cli_usage_error("exec", "%s needs a value", a);                                   \
            goto out;                                                                              \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (!strcmp(a, "--backend")) {
            NEED_VALUE();
            if (!strcmp(val, "auto"))
                opts.backend = EXEC_BACKEND_AUTO;
            else if (!strcmp(val, "cuda"))
                opts.backend = EXEC_BACKEND_CUDA;
            else if (!strcmp(val, "host"))
                opts.backend = EXEC_BACKEND_HOST;
            else {
                rc = cli_usage_error("exec", "--backend expects auto, cuda or host, found \"%s\"",
                                     val);
                goto out;
            }
        } else if (!strcmp(a, "--time-scale")) {
            NEED_VALUE();
            char *end;
            errno = 0;
            opts.time_scale = strtod(val, &end);
            if (errno || *end || !(opts.time_scale > 0) || !isfinite(opts.time_scale) ||
                opts.time_scale > 1e6) {
                rc =
                    cli_usage_error("exec", "--time-scale expects a number > 0, found \"%s\"", val);
                goto out;
            }
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            if (cli_parse_u64("exec", "--seed", val, &seed) < 0) goto out;
            has_seed = true;
        } else if (!strcmp(a, "--weights-dir")) {
            NEED_VALUE();
            opts.weights_dir = val;
        } else if (!strcmp(a, "--shm-dir")) {
            NEED_VALUE();
            opts.shm_dir = val;
        } else if (!strcmp(a, "--disk-dir")) {
            NEED_VALUE();
            opts.disk_dir = val;
        } else if (!strcmp(a, "--keep-shm")) {
            opts.keep_shm = true;
        } else if (!strcmp(a, "--chunk")) {
            NEED_VALUE();
            opts.chunk_bytes = parse_size(val);
            if (opts.chunk_bytes < 4096) {
                rc = cli_usage_error("exec",
                                     "--chunk expects a size from 4KiB to 16GiB, found "
                                     "\"%s\"",
                                     val);
                goto out;
            }
        } else if (!strcmp(a, "--depth")) {
            NEED_VALUE();
            unsigned long long d;
            if (cli_parse_range("exec", a, val, 2, 64, &d) < 0) goto out;
            opts.depth = (int)d;
        } else if (!strcmp(a, "--db")) {
            NEED_VALUE();
            db_path = val;
        } else if (!strcmp(a, "--record")) {
            NEED_VALUE();
            if (cli_parse_record("exec", val, &record) < 0) goto out;
        } else if (!strcmp(a, "--set")) {
            NEED_VALUE();
            if (cli_overrides_add_set(&ovr, val) < 0) goto out;
        } else if (!strcmp(a, "--policy")) {
            NEED_VALUE();
            if (cli_overrides_add_policy(&ovr, val) < 0) goto out;
        } else if (!strcmp(a, "--request-fraction")) {
            NEED_VALUE();
            char *end;
            errno = 0;
            opts.request_fraction = strtod(val, &end);
            if (errno || *end || !(opts.request_fraction > 0) || opts.request_fraction > 1) {
                rc = cli_usage_error("exec",
                                     "--request-fraction expects a number in (0, 1], "
                                     "found \"%s\"",
                                     val);
                goto out;
            }
        } else if (!strcmp(a, "--check")) {
            opts.check_invariants = true;
        } else if (!strcmp(a, "--no-drop-cache")) {
            opts.drop_page_cache = false;
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!strcmp(a, "--bench")) {
            bench = true;
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("exec", "unknown option %s", a);
            goto out;
        } else if (!scenario) {
            scenario = a;
        } else {
            rc = cli_usage_error("exec", "one scenario at a time (found \"%s\" and \"%s\")",
                                 scenario, a);
            goto out;
        }
#undef NEED_VALUE
    }
    if (!scenario) {
        rc = cli_usage_error("exec", "missing SCENARIO");
        goto out;
    }
    rc = CLI_EXIT_FAIL;
    if (!(spec = cli_load_spec(scenario, &ovr))) goto out;
    if (has_seed) spec->seed = seed;

    struct thaw_err err = {0};
    char backend[16], why[256];
    if (exec_backend_pick(opts.backend, backend, sizeof backend, why, sizeof why, &err) < 0) {
        fprintf(stderr, "thaw exec: %s\n", err.msg);
        goto out;
    }
    /* Run on what was picked, so what is printed is what runs. */
    opts.backend = !strcmp(backend, "cuda") ? EXEC_BACKEND_CUDA : EXEC_BACKEND_HOST;
    if (!quiet) printf("backend: %s (%s)\n", backend, why);

    if (exec_check_memory(spec, opts.backend == EXEC_BACKEND_HOST, &err) < 0) {
        fprintf(stderr, "thaw exec: %s\n", err.msg);
        goto out;
    }
    int generated;
    uint64_t gen_bytes;
    if (exec_weights_prepare(spec, opts.weights_dir, &generated, &gen_bytes, &err) < 0) {
        fprintf(stderr, "thaw exec: weights: %s\n", err.msg);
        goto out;
    }
    if (!quiet && generated > 0)
        printf("weights: wrote %d synthetic file%s (%.1f MiB) in %s\n", generated,
               generated == 1 ? "" : "s", (double)gen_bytes / (1 << 20), opts.weights_dir);

    if (bench) {
        struct exec_bench_result b;
        if (exec_bench(spec, -1, &opts, &b, &err) < 0) {
            fprintf(stderr, "thaw exec: bench: %s\n", err.msg);
            goto out;
        }
        print_bench(&b);
        rc = CLI_EXIT_OK;
        goto out;
    }

    if (res_open(db_path, &db, &err) < 0) {
        fprintf(stderr, "thaw exec: %s\n", err.msg);
        goto out;
    }
    res_set_record(db, (enum res_record)record);
    if (exec_signals_install(&err) < 0) {
        fprintf(stderr, "thaw exec: %s\n", err.msg);
        goto out;
    }
    struct progress_state ps = {false};
    opts.db = db;
    opts.run_info.overrides = ovr.text;
    if (!quiet && isatty(STDERR_FILENO)) {
        opts.progress = draw_progress;
        opts.progress_ctx = &ps;
    }
    struct exec_result res;
    int r = exec_run(spec, &opts, &res, &err);
    if (ps.drawn) fprintf(stderr, "\r\033[K");
    if (r < 0) {
        fprintf(stderr, "thaw exec: %s\n", err.msg);
        if (res.run_id > 0)
            fprintf(stderr, "thaw exec: run %lld recorded as failed\n", (long long)res.run_id);
        goto out;
    }
    if (quiet) {
        printf("%lld\n", (long long)res.run_id);
    } else {
        printf("run %lld: %s, %.2f s wall, scenario time %.2f s (x%g)\n", (long long)res.run_id,
               res.status, res.wall_s, (double)res.end_ns / 1e9, opts.time_scale);
        printf("  loads: %llu ok, %llu failed, %llu cancelled; shm fills: %llu ok, %llu failed\n",
               (unsigned long long)res.loads_ok, (unsigned long long)res.loads_failed,
               (unsigned long long)res.loads_cancelled, (unsigned long long)res.shm_fills_ok,
               (unsigned long long)res.shm_fills_failed);
        const char *src_names[2] = {"storage", "shm"};
        for (int s = 0; s < 2; s++)
            if (res.source_loads[s] > 0 && res.source_copy_s[s] > 0)
                printf("  from %-7s: %llu loads, %.1f MiB, %.2f GB/s per load\n", src_names[s],
                       (unsigned long long)res.source_loads[s],
                       (double)res.source_bytes[s] / (1 << 20),
                       (double)res.source_bytes[s] / res.source_copy_s[s] / 1e9);
        printf("  requests: %llu arrived, %llu served; core: %llu events, %llu actions\n",
               (unsigned long long)res.requests_arrived, (unsigned long long)res.requests_served,
               (unsigned long long)res.events, (unsigned long long)res.actions);
        if (res.run_id > 0 && res_summary_print(db, &res.run_id, 1, stdout, &err) < 0)
            fprintf(stderr, "thaw exec: %s\n", err.msg);
    }
    if (res.loads_failed > 0 && res.run_id > 0 &&
        res_rows_loads(db, res.run_id, RES_LOADS_BY_START, print_failed, NULL, &err) < 0)
        fprintf(stderr, "thaw exec: %s\n", err.msg);
    /* Said out loud, on stderr, whatever --quiet says; the status stays 0. */
    if (res.run_id > 0 &&
        res_anomalies_print(db, res.run_id, stderr, "thaw exec", 20, NULL, &err) < 0)
        fprintf(stderr, "thaw exec: anomalies: %s\n", err.msg);
    if (strcmp(res.status, "complete")) {
        fprintf(stderr, "thaw exec: run %lld %s\n", (long long)res.run_id, res.status);
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    res_close(db);
    core_spec_free(spec);
    cli_overrides_free(&ovr);
    return rc;
}

const struct cli_command cli_cmd_exec = {
    "exec",
    "run a scenario for real: weight files, /dev/shm, cuda or host backend",
    exec_usage,
    exec_cmd_run,
};

/* cmd_weights.c - `thaw weights gen|check|bench`: writes each model's
 * synthetic weight file of its exact size (the files `thaw exec` loads),
 * validates models that name safetensors files, and measures the loader per
 * source (storage with a cold page cache, shm) beside this host's own limits
 * measured in the same run, so a loader figure always has its yardstick. */
#include "cli.h"

#include "exec.h"
#include "units.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD "weights"
#define DEFAULT_DIR "weights"

static const char usage[] =
    "usage: thaw weights gen SCENARIO [--dir D] [--force] [--set K=V]... [--policy K=V,...]\n"
    "       thaw weights check SCENARIO [--dir D] [--verify] [--set K=V]...\n"
    "       thaw weights bench [--size N] [--dir D] [--chunk N] [--depth N]\n"
    "                          [--reps N] [--backend auto|host|cuda] [--shm-base D] [--keep]\n"
    "\n"
    "Weight files for the real executor (`thaw exec`).\n"
    "\n"
    "gen    writes each synthetic model's file, D/MODEL.bin, of the model's exact\n"
    "       `weights` size, from a generator seeded by the model's name (so its\n"
    "       checksum is known without reading it back). A file of the right size is\n"
    "       kept unless --force. Models with a `path` (safetensors) are validated\n"
    "       instead. Prints each path and size.\n"
    "check  checks every model's weights: synthetic files exist with the right size\n"
    "       (with --verify, their checksum is read back and compared); safetensors\n"
    "       files or shard folders are parsed and validated (header length, JSON,\n"
    "       dtypes, shape x dtype size = byte range, ranges sorted, contiguous and\n"
    "       inside the file). Exit 1 when any model fails.\n"
    "bench  writes a synthetic file of --size bytes (default 1GiB) in D, then prints\n"
    "       per source the loader's rate beside this host's limit measured in the\n"
    "       same run: storage (loader with a cold page cache, buffered and O_DIRECT)\n"
    "       against a plain read() of the file with a cold cache; shm (loader from\n"
    "       the /dev/shm mapping) against single-thread memcpy. A loader under 80%\n"
    "       of its limit gets a note. The file and the shm copy are removed unless\n"
    "       --keep.\n"
    "\n"
    "options:\n"
    "  --dir D          folder of the weight files (default weights/)\n"
    "  --force          gen: rewrite files even when their size is right\n"
    "  --verify         check: read synthetic files back and compare checksums\n"
    "  --size N         bench: file size, e.g. 1GiB, 256MiB (default 1GiB)\n"
    "  --chunk N        bench: loader chunk size (default 64MiB)\n"
    "  --depth N        bench: loader chunks in flight (default 4)\n"
    "  --reps N         bench: rounds; the best of each figure is kept (default 3)\n"
    "  --backend B      bench: auto (default), host or cuda\n"
    "  --shm-base D     bench: folder holding the shm tier (default /dev/shm)\n"
    "  --keep           bench: leave the bench file in D\n"
    "  --set K=V        override a scenario value (repeatable)\n"
    "  --policy K=V,... override policy values\n"
    "\n"
    "Rates are in GB/s (1e9 bytes per second). Exit: 0 ok, 1 failure, 2 usage.\n";

static int parse_size(const char *opt, const char *s, uint64_t *out)
{
    if (!s) return cli_usage_error(CMD, "%s needs a value", opt), -1;
    if (core_units_bytes(s, out) != 0 || *out == 0) {
        cli_usage_error(CMD, "%s expects a size such as 1GiB or 64MiB, found \"%s\"", opt, s);
        return -1;
    }
    return 0;
}

static void mib(char *buf, size_t len, uint64_t b)
{
    snprintf(buf, len, "%.1f MiB", (double)b / (1024.0 * 1024.0));
}

/* ---- gen / check ------------------------------------------------------- */

struct scenario_args {
    const char *scenario;
    const char *dir;
    bool force;
    bool verify;
    struct cli_overrides ovr;
};

static int parse_scenario_args(int argc, char **argv, bool gen, struct scenario_args *a)
{
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--dir")) {
            if (!val) return cli_usage_error(CMD, "--dir needs a folder");
            a->dir = val;
            i++;
        } else if (!strcmp(arg, "--set")) {
            if (!val) return cli_usage_error(CMD, "--set needs K=V");
            if (cli_overrides_add_set(&a->ovr, val) != 0) return CLI_EXIT_USAGE;
            i++;
        } else if (!strcmp(arg, "--policy")) {
            if (!val) return cli_usage_error(CMD, "--policy needs K=V,...");
            if (cli_overrides_add_policy(&a->ovr, val) != 0) return CLI_EXIT_USAGE;
            i++;
        } else if (gen && !strcmp(arg, "--force")) {
            a->force = true;
        } else if (!gen && !strcmp(arg, "--verify")) {
            a->verify = true;
        } else if (arg[0] == '-' && arg[1]) {
            return cli_usage_error(CMD, "unknown option %s", arg);
        } else if (!a->scenario) {
            a->scenario = arg;
        } else {
            return cli_usage_error(CMD, "one scenario at a time (got %s and %s)", a->scenario, arg);
        }
    }
    if (!a->scenario) return cli_usage_error(CMD, "%s needs a scenario file", argv[1]);
    return 0;
}

static int check_safetensors(const struct core_model_spec *m)
{
    struct exec_safetensors_info st;
    struct thaw_err err = {0, ""};
    char b[32];
    if (exec_safetensors_check(m->weights_path, &st, &err) != 0) {
        fprintf(stderr, "thaw weights: %s: %s\n", m->name, err.msg);
        return -1;
    }
    mib(b, sizeof b, st.data_bytes);
    printf("%-24s %s  safetensors, %d file%s, %d tensor%s, %" PRIu64 " bytes (%s): valid\n",
           m->name, m->weights_path, st.file_count, st.file_count == 1 ? "" : "s", st.tensor_count,
           st.tensor_count == 1 ? "" : "s", st.data_bytes, b);
    if (st.data_bytes != m->weights_bytes)
        fprintf(stderr,
                "thaw weights: note: %s: the scenario says %" PRIu64
                " bytes, the files hold %" PRIu64
                ": the simulator uses the first, the executor moves the second\n",
                m->name, m->weights_bytes, st.data_bytes);
    return 0;
}

static int run_gen_check(int argc, char **argv, bool gen)
{
    struct scenario_args a;
    memset(&a, 0, sizeof a);
    a.dir = DEFAULT_DIR;
    cli_overrides_init(&a.ovr);
    int rc = parse_scenario_args(argc, argv, gen, &a);
    if (rc) {
        cli_overrides_free(&a.ovr);
        return rc;
    }
    struct core_spec *spec = cli_load_spec(a.scenario, &a.ovr);
    cli_overrides_free(&a.ovr);
    if (!spec) return CLI_EXIT_FAIL;
    struct thaw_err derr = {0, ""};
    if (gen && exec_weights_check_disk(spec, a.dir, a.force, &derr) < 0) {
        fprintf(stderr, "thaw weights: %s\n", derr.msg);
        core_spec_free(spec);
        return CLI_EXIT_FAIL;
    }
    if (gen && mkdir(a.dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "thaw weights: %s: cannot create: %s\n", a.dir, strerror(errno));
        core_spec_free(spec);
        return CLI_EXIT_FAIL;
    }
    int failures = 0;
    uint64_t written = 0;
    for (int i = 0; i < spec->model_count; i++) {
        const struct core_model_spec *m = &spec->models[i];
        if (m->weights_kind != CORE_WEIGHTS_SYNTHETIC) {
            if (check_safetensors(m) != 0) failures++;
            continue;
        }
        char path[4096], b[32];
        struct thaw_err err = {0, ""};
        if (exec_weights_synthetic_path(a.dir, m->name, path, sizeof path, &err) != 0) {
            fprintf(stderr, "thaw weights: %s: %s\n", m->name, err.msg);
            failures++;
            continue;
        }
        mib(b, sizeof b, m->weights_bytes);
        struct stat sb;
        bool right = lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
                     (uint64_t)sb.st_size == m->weights_bytes;
        if (gen) {
            if (right && !a.force) {
                printf("%-24s %s  %" PRIu64 " bytes (%s): kept\n", m->name, path, m->weights_bytes,
                       b);
                continue;
            }
            if (exec_weights_write_synthetic(path, m->name, m->weights_bytes, &err) != 0) {
                fprintf(stderr, "thaw weights: %s: %s\n", m->name, err.msg);
                failures++;
                continue;
            }
            written += m->weights_bytes;
            printf("%-24s %s  %" PRIu64 " bytes (%s): written\n", m->name, path, m->weights_bytes,
                   b);
            continue;
        }
        if (!right) {
            fprintf(stderr, "thaw weights: %s: %s is missing or not %" PRIu64 " bytes (%s)\n",
                    m->name, path, m->weights_bytes, b);
            failures++;
            continue;
        }
        const char *state = "size ok";
        if (a.verify) {
            uint64_t got = 0, want = 0;
            if (exec_weights_verify_synthetic(path, m->name, m->weights_bytes, &got, &want, &err) !=
                0) {
                fprintf(stderr, "thaw weights: %s: %s\n", m->name, err.msg);
                failures++;
                continue;
            }
            if (got != want) {
                fprintf(stderr,
                        "thaw weights: %s: %s: checksum %016" PRIx64 ", expected %016" PRIx64
                        " (corrupt)\n",
                        m->name, path, got, want);
                failures++;
                continue;
            }
            state = "checksum ok";
        }
        printf("%-24s %s  %" PRIu64 " bytes (%s): %s\n", m->name, path, m->weights_bytes, b, state);
    }
    if (gen && written)
        printf("wrote %.1f MiB in %s\n", (double)written / (1024.0 * 1024.0), a.dir);
    core_spec_free(spec);
    if (failures) {
        fprintf(stderr, "thaw weights: %d model%s failed\n", failures, failures == 1 ? "" : "s");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* ---- bench ------------------------------------------------------------- */

struct bench_args {
    uint64_t size;
    const char *dir;
    uint64_t chunk;
    int depth;
    const char *backend;
    const char *shm_base;
    bool keep;
    int reps;
};

static void row(const char *source, double loader, const char *limit_name, double limit,
                const char *extra)
{
    double pct = limit > 0 ? 100.0 * loader / limit : 0.0;
    printf("%-30s %8.2f   %-28s %8.2f   %5.0f%%%s\n", source, loader, limit_name, limit, pct,
           extra);
}

static int run_bench(int argc, char **argv)
{
    struct bench_args a = {1ull << 30,
                           DEFAULT_DIR,
                           EXEC_LOAD_CHUNK_DEFAULT,
                           EXEC_LOAD_DEPTH_DEFAULT,
                           "auto",
                           NULL,
                           false,
                           3};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--size")) {
            if (parse_size(arg, val, &a.size)) return CLI_EXIT_USAGE;
            i++;
        } else if (!strcmp(arg, "--chunk")) {
            if (parse_size(arg, val, &a.chunk)) return CLI_EXIT_USAGE;
            if (a.chunk > (1ull << 30)) return cli_usage_error(CMD, "--chunk is at most 1GiB");
            i++;
        } else if (!strcmp(arg, "--depth")) {
            unsigned long long d;
            if (!val) return cli_usage_error(CMD, "--depth needs a number");
            if (cli_parse_range(CMD, arg, val, 2, 64, &d)) return CLI_EXIT_USAGE;
            a.depth = (int)d;
            i++;
        } else if (!strcmp(arg, "--reps")) {
            unsigned long long r;
            if (!val) return cli_usage_error(CMD, "--reps needs a number");
            if (cli_parse_range(CMD, arg, val, 1, 100, &r)) return CLI_EXIT_USAGE;
            a.reps = (int)r;
            i++;
        } else if (!strcmp(arg, "--dir") || !strcmp(arg, "--backend") ||
                   !strcmp(arg, "--shm-base")) {
            if (!val) return cli_usage_error(CMD, "%s needs a value", arg);
            if (!strcmp(arg, "--dir")) a.dir = val;
            if (!strcmp(arg, "--backend")) a.backend = val;
            if (!strcmp(arg, "--shm-base")) a.shm_base = val;
            i++;
        } else if (!strcmp(arg, "--keep")) {
            a.keep = true;
        } else {
            return cli_usage_error(CMD, "unknown bench argument %s", arg);
        }
    }
    if (strcmp(a.backend, "auto") && strcmp(a.backend, "host") && strcmp(a.backend, "cuda"))
        return cli_usage_error(CMD, "--backend is auto, host or cuda, found \"%s\"", a.backend);
    if (mkdir(a.dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "thaw weights bench: %s: cannot create: %s\n", a.dir, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/thaw-bench-%" PRIu64 ".bin", a.dir, a.size);
    struct thaw_err err = {0, ""};
    char b[32];
    mib(b, sizeof b, a.size);
    struct exec_bench_file_config cfg = {path,      a.size,     a.chunk, a.depth,
                                         a.backend, a.shm_base, a.keep};
    struct exec_bench_file *bench = NULL;
    char why[256];
    if (exec_bench_file_open(&cfg, &bench, why, sizeof why, &err) != 0) {
        fprintf(stderr, "thaw weights bench: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    printf("bench file: %s (%s)\n", path, b);
    fflush(stdout);
    if (exec_bench_file_write(bench, &err) != 0) {
        fprintf(stderr, "thaw weights bench: %s\n", err.msg);
        exec_bench_file_close(bench);
        return CLI_EXIT_FAIL;
    }

    char desc[256];
    exec_bench_file_describe(bench, desc, sizeof desc);
    printf("backend: %s (%s)\n", why, desc);
    mib(b, sizeof b, a.chunk);
    printf("loader: chunk %s x depth %d\n", b, a.depth);
    double load[1] = {0};
    if (getloadavg(load, 1) == 1)
        printf("host: %ld CPUs online, load average %.2f (other work on this host skews every "
               "figure)\n",
               sysconf(_SC_NPROCESSORS_ONLN), load[0]);
    printf("\n");
    fflush(stdout);

    int rc = CLI_EXIT_OK;
    if (exec_bench_file_prepare(bench, &err) != 0) {
        fprintf(stderr, "thaw weights bench: %s\n", err.msg);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (exec_bench_file_shm_note(bench)) printf("note: %s\n", exec_bench_file_shm_note(bench));
    /* Each round measures a limit and the loader on the same bytes back to
     * back; the best of the rounds is kept for each, since on a shared host
     * every figure is the true rate minus some interference. */
    struct exec_bench_file_result r = {0};
    for (int i = 0; i < a.reps; i++) {
        if (exec_bench_file_round(bench, &r, &err) != 0) {
            fprintf(stderr, "thaw weights bench: %s\n", err.msg);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
    }
    printf("best of %d round%s\n", a.reps, a.reps == 1 ? "" : "s");
    printf("%-30s %8s   %-28s %8s   %6s\n", "source (loader)", "GB/s", "host limit (same run)",
           "GB/s", "ratio");
    row("storage, cold cache, buffered", r.storage_buffered_gbps, "read(), cold page cache",
        r.read_gbps, "");
    row("storage, cold cache, O_DIRECT", r.storage_direct_gbps, "read(), cold page cache",
        r.read_gbps, r.direct_io ? "" : "  (O_DIRECT refused: buffered)");
    row("shm (/dev/shm mapping)", r.shm_load_gbps, "memcpy, one thread", r.memcpy_gbps, "");
    printf("%-30s %8.2f   (no loader: what the mapping itself allows)\n",
           "memcpy out of the shm mapping", r.mapping_gbps);
    printf("%-30s %8.2f   (storage -> shm, page cache as it was)\n", "shm fill", r.shm_fill_gbps);
    mib(b, sizeof b, a.size);
    printf("verify (device checksum):      %.0f ms for %s\n", (double)r.shm_verify_ns / 1e6, b);
    printf("\n");
    if (r.storage_buffered_gbps < 0.8 * r.read_gbps && r.storage_direct_gbps < 0.8 * r.read_gbps)
        printf("note: the storage loader is under 80%% of a plain read(). Its reader is the\n"
               "      same sequential read, but each chunk is then copied again into the device\n"
               "      buffer (on the host backend a memcpy stands in for the host-to-device\n"
               "      copy), on a second thread that competes for the same cores and memory\n"
               "      bandwidth; and the pipeline's first read and last copy (one chunk each)\n"
               "      do not overlap anything. A smaller --chunk shortens both ends.\n");
    if (r.shm_load_gbps < 0.8 * r.memcpy_gbps) {
        printf("note: the shm loader is under 80%% of memcpy. A plain memcpy out of the same\n"
               "      mapping ran at %.2f GB/s (%.0f%% of the limit): ",
               r.mapping_gbps, r.memcpy_gbps > 0 ? 100.0 * r.mapping_gbps / r.memcpy_gbps : 0.0);
        if (r.mapping_gbps < 0.8 * r.memcpy_gbps)
            printf(
                "the mapping itself is slower than\n"
                "      anonymous memory here (tmpfs 4 KiB pages and their TLB misses, where the\n"
                "      limit's buffers may use transparent huge pages), so the loader cannot\n"
                "      reach the limit from shm; it is at %.0f%% of that memcpy.\n",
                r.mapping_gbps > 0 ? 100.0 * r.shm_load_gbps / r.mapping_gbps : 0.0);
        else
            printf("the mapping is not the cause; the\n"
                   "      loader's own work is: %s, chunk by chunk, and\n"
                   "      on a busy host (see the load average) each round can lose its core.\n",
                   strcmp(exec_bench_file_backend(bench), "host")
                       ? "a memcpy into pinned staging, then the copy to the device"
                       : "its copy lands in the emulated GPU's buffer");
    }
out:
    exec_bench_file_close(bench);
    return rc;
}

static int run(int argc, char **argv)
{
    if (argc < 2) return cli_usage_error(CMD, "needs a subcommand: gen, check or bench");
    if (!strcmp(argv[1], "gen")) return run_gen_check(argc, argv, true);
    if (!strcmp(argv[1], "check")) return run_gen_check(argc, argv, false);
    if (!strcmp(argv[1], "bench")) return run_bench(argc, argv);
    return cli_usage_error(CMD, "unknown subcommand \"%s\" (gen, check or bench)", argv[1]);
}

const struct cli_command cli_cmd_weights = {
    "weights",
    "write, check and benchmark weight files for the real executor",
    usage,
    run,
};

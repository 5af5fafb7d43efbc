/* calibrate_probe.c - `thaw calibrate --probe`: calibrates this host without
 * a scenario. Writes a short workload of its own (three sizes from storage,
 * three from shm, each alone, then 2-4 loads at once), runs it through the
 * real executor (exec_run) one or more times, pools the runs' load phases
 * with results/calibrate.c (res_calibrate_phases) and writes the fitted
 * values as a host profile that a scenario takes with `include: FILE`
 * (core/scenario_include.c). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "results.h"
#include "units.h"

#define MIB (1024ull * 1024)

/* Free bytes of the file system holding path (UINT64_MAX when unknown). */
static uint64_t fs_free(const char *path)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0) return UINT64_MAX;
    return (uint64_t)v.f_bavail * v.f_frsize;
}

/* The base size S: 64 MiB, or less where memory or disk is short. The run
 * holds 12 S of weight files on disk, 6 S in shm and 4 emulated GPUs of 4 S
 * (host backend: in memory), about 25 S of memory in all; S is kept under a
 * quarter of what is free, in whole MiB, at least 1 MiB. */
static uint64_t base_size(const char *weights_dir, const char *shm_dir)
{
    uint64_t s = 64 * MIB, mem = 0;
    struct thaw_err err = {0};
    if (exec_meminfo_available("/proc/meminfo", &mem, &err) == 0 && mem / 100 < s) s = mem / 100;
    uint64_t disk = fs_free(weights_dir);
    if (disk != UINT64_MAX && disk / 48 < s) s = disk / 48;
    uint64_t shm = fs_free(shm_dir ? shm_dir : "/dev/shm");
    if (shm != UINT64_MAX && shm / 24 < s) s = shm / 24;
    s = s / MIB * MIB;
    return s < MIB ? MIB : s;
}

/* The probe's scenario for base size s: one node of 4 GPUs of 4 S each;
 * st1..st3 (S, 2S, 3S) read from storage, sh1..sh3 preloaded into shm at
 * t = 0. Slot k starts at t0 + k gap: six lone loads, then 2, 3, 4, 2 and
 * 4 at once. A request's service is 10 ms; the autoscaler (every 50 ms,
 * a target no queue reaches, so it never adds an instance) scales down an
 * instance idle for keep_alive 30 ms, so each model is unloaded long
 * before its next arrival and every arrival loads.
 * gap is the largest load's time at 0.5 GB/s (a slow disk) + 0.1 s. */
static int write_scenario(const char *path, uint64_t s, double *duration_s)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    double gap = (double)(3 * s) / 0.5e9 + 0.1;
    double t0 = (double)(6 * s) / 0.5e9 + 0.2; /* the shm fills first */
    static const char *const slot[] = {
        "st1",
        "st2",
        "st3",
        "sh1",
        "sh2",
        "sh3", /* alone */
        "st1 st2",
        "sh1 sh2 sh3",
        "st1 st2 st3 sh1",
        "st3 sh3",
        "st2 st3 sh2 sh3",
    };
    const int nslot = (int)(sizeof slot / sizeof slot[0]);
    *duration_s = t0 + (nslot + 1) * gap;
    fprintf(f,
            "# thaw calibrate --probe: the calibration workload (base size %llu MiB)\n"
            "cluster:\n"
            "  nodes:\n"
            "    - name: probe\n"
            "      gpus: 4\n"
            "      vram: %lluMiB\n"
            "      h2d: 100GB/s\n"
            "      storage_read: 1GB/s\n"
            "      shm: {size: %lluMiB, read: 4GB/s, write: 1GB/s}\n"
            "models:\n",
            (unsigned long long)(s / MIB), (unsigned long long)(4 * s / MIB),
            (unsigned long long)(8 * s / MIB));
    for (int m = 1; m <= 3; m++) {
        fprintf(f, "  - {name: st%d, weights: %lluMiB}\n", m, (unsigned long long)(m * s / MIB));
        fprintf(f, "  - {name: sh%d, weights: %lluMiB, preload_to_shm: true}\n", m,
                (unsigned long long)(m * s / MIB));
    }
    fprintf(f, "workload:\n");
    static const char *const names[] = {"st1", "st2", "st3", "sh1", "sh2", "sh3"};
    for (int m = 0; m < 6; m++) {
        fprintf(f, "  - model: %s\n    service: 10ms\n    arrivals: {times: [", names[m]);
        bool first = true;
        for (int k = 0; k < nslot; k++) {
            const char *p = strstr(slot[k], names[m]);
            if (!p) continue;
            fprintf(f, "%s%.0fms", first ? "" : ", ", 1000 * (t0 + k * gap));
            first = false;
        }
        fprintf(f, "]}\n");
    }
    fprintf(f,
            "policy:\n"
            "  placement: first_fit\n"
            "  keep_alive: 30ms\n"
            "  autoscaler: {target: 1000, max_step: 1, period: 50ms}\n"
            "  shm: preload\n"
            "  max_loads_per_gpu: 1\n"
            "run:\n"
            "  duration: %.0fms\n"
            "  seed: 1\n",
            1000 * *duration_s);
    return fclose(f) == 0 ? 0 : -1;
}

/* Removes the files of a folder this probe made, then the folder. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

static void put_bw(FILE *f, const char *key, double bps)
{
    fprintf(f, "%s: %.0fMB/s", key, bps / 1e6);
}

/* Writes the profile from the pooled fits; 0, or -1 (no storage fit). */
static int write_profile(const char *out, const struct res_phase_fit *fit, int count,
                         const char *backend, uint64_t s, int runs)
{
    const struct res_phase_fit *st = NULL, *sh = NULL;
    for (int i = 0; i < count; i++) {
        if (fit[i].source == CORE_SRC_STORAGE) st = &fit[i];
        if (fit[i].source == CORE_SRC_SHM) sh = &fit[i];
    }
    double st_b = st ? (st->shared ? st->bandwidth_bps : st->other_bandwidth_bps) : NAN;
    double sh_b = sh ? (sh->shared ? sh->bandwidth_bps : sh->other_bandwidth_bps) : NAN;
    double sh_r = sh ? (sh->shared ? sh->r2 : sh->other_r2) : NAN;
    double sh_own = sh ? (sh->shared ? sh->other_bandwidth_bps : sh->bandwidth_bps) : NAN;
    double sh_own_r = sh ? (sh->shared ? sh->other_r2 : sh->r2) : NAN;
    if (!(st_b > 0) || isinf(st_b)) {
        /* the line of the chosen model gave no bandwidth (small loads on a
         * busy host: the copy times are noise); the other line may */
        double alt = st ? (st->shared ? st->other_bandwidth_bps : st->bandwidth_bps) : NAN;
        if (!(alt > 0) || isinf(alt)) return -1;
        printf("warning: storage: the %s line gave no bandwidth (a busy host?); using the %s "
               "line's %.3f GB/s: more --runs or a larger --size\n",
               st->shared ? "shared-pipe" : "per-load", st->shared ? "per-load" : "shared-pipe",
               alt / 1e9);
        st_b = alt;
    }
    /* Checksum rate pooled over both sources: bytes / seconds of verify. */
    double vsec = 0, vbytes = 0;
    for (int i = 0; i < count; i++)
        if (fit[i].verify_bps > 0 && fit[i].verify_s > 0) {
            double sec = fit[i].verify_s * fit[i].loads;
            vsec += sec;
            vbytes += sec * fit[i].verify_bps;
        }
    FILE *f = fopen(out, "w");
    if (!f) return -2;
    time_t now = time(NULL);
    struct tm tm;
    char when[32] = "";
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    fprintf(f,
            "# thaw host profile: `thaw calibrate --probe`, %s on %s, %s backend,\n"
            "# %d run%s of loads of %llu-%llu MiB, 1-4 at a time. A scenario takes it with\n"
            "# `include: THIS_FILE`; its keys apply to every node entry that does not set\n"
            "# them (shm keys to the entries with an shm tier).\n",
            when, *host ? host : "-", backend, runs, runs == 1 ? "" : "s",
            (unsigned long long)(s / MIB), (unsigned long long)(3 * s / MIB));
    for (int i = 0; i < count; i++) {
        const struct res_phase_fit *p = &fit[i];
        fprintf(f,
                "#   %s: %d loads, %d sizes, mean %.2f copies in flight, fixed %.4f s, "
                "B %.3f GB/s (sd %.3f, R^2 %.3f; per-load line %.3f GB/s, R^2 %.3f); "
                "init+alloc %.4f s\n",
                p->source == CORE_SRC_SHM ? "shm" : "storage", p->loads, p->sizes, p->mean_overlap,
                p->a_s, (p->shared ? p->bandwidth_bps : p->other_bandwidth_bps) / 1e9,
                p->bw_sd_bps / 1e9, p->shared ? p->r2 : p->other_r2,
                (p->shared ? p->other_bandwidth_bps : p->bandwidth_bps) / 1e9,
                p->shared ? p->other_r2 : p->r2,
                (isnan(p->init_s) ? 0 : p->init_s) + (isnan(p->alloc_s) ? 0 : p->alloc_s));
    }
    fprintf(f, "node:\n  ");
    put_bw(f, "storage_read", st_b);
    fprintf(f, "\n");
    if (vsec > 0) {
        fprintf(f, "  ");
        put_bw(f, "verify", vbytes / vsec);
        fprintf(f, "\n");
    }
    if (sh_b > 0 && !isinf(sh_b)) {
        fprintf(f, "  shm:\n    ");
        put_bw(f, "read", sh_b);
        fprintf(f, "\n");
        /* Shm loads that overlapped and kept their own rate (one core
         * each): the per-load cap, as `thaw calibrate RUN` suggests it. */
        if (sh->mean_overlap > 1.05 && !isnan(sh_own_r) && !(sh_own_r <= sh_r) && sh_own > 0 &&
            !isinf(sh_own)) {
            fprintf(f, "    ");
            put_bw(f, "per_load", sh_own);
            fprintf(f, "\n");
        }
    }
    if (fclose(f) != 0) return -2;
    return 0;
}

int cli_calibrate_probe(int argc, char **argv)
{
    struct exec_opts opts;
    exec_opts_init(&opts);
    const char *out = "host-profile.yaml", *db_path = NULL, *weights_dir = NULL;
    unsigned long long runs = 2;
    uint64_t size = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--probe")) continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return cli_usage_error("calibrate", "%s needs a value", a);
        i++;
        if (!strcmp(a, "--backend")) {
            if (!strcmp(v, "auto"))
                opts.backend = EXEC_BACKEND_AUTO;
            else if (!strcmp(v, "cuda"))
                opts.backend = EXEC_BACKEND_CUDA;
            else if (!strcmp(v, "host"))
                opts.backend = EXEC_BACKEND_HOST;
            else
                return cli_usage_error("calibrate",
                                       "--backend expects auto, cuda or host, found \"%s\"", v);
        } else if (!strcmp(a, "--out")) {
            out = v;
        } else if (!strcmp(a, "--db")) {
            db_path = v;
        } else if (!strcmp(a, "--weights-dir")) {
            weights_dir = v;
        } else if (!strcmp(a, "--shm-dir")) {
            opts.shm_dir = v;
        } else if (!strcmp(a, "--runs")) {
            if (cli_parse_range("calibrate", "--runs", v, 1, 16, &runs) < 0) return CLI_EXIT_USAGE;
        } else if (!strcmp(a, "--size")) {
            if (core_units_bytes(v, &size) != 0 || size < MIB || size > 1024 * MIB)
                return cli_usage_error("calibrate",
                                       "--size expects a size from 1MiB to 1GiB, found \"%s\"", v);
            size = size / MIB * MIB;
        } else {
            return cli_usage_error("calibrate", "--probe does not take %s", a);
        }
    }

    int rc = CLI_EXIT_FAIL;
    struct thaw_err err = {0};
    char tmp[] = ".thaw-probe-XXXXXX";
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "thaw calibrate: --probe: cannot make a folder here: %s\n",
                strerror(errno));
        return CLI_EXIT_FAIL;
    }
    char scen[64], dbtmp[64], wtmp[64];
    snprintf(scen, sizeof scen, "%s/probe.yaml", tmp);
    snprintf(dbtmp, sizeof dbtmp, "%s/probe.db", tmp);
    snprintf(wtmp, sizeof wtmp, "%s/weights", tmp);
    opts.weights_dir = weights_dir ? weights_dir : wtmp;
    struct core_spec *spec = NULL;
    struct res_db *db = NULL;
    struct res_phase_fit *fit = NULL;
    int count = 0;
    int64_t ids[16];
    char backend[16], why[256];
    double duration = 0;
    if (!size) size = base_size(".", opts.shm_dir);
    if (write_scenario(scen, size, &duration) < 0) {
        fprintf(stderr, "thaw calibrate: --probe: cannot write %s\n", scen);
        goto out;
    }
    struct cli_overrides none;
    cli_overrides_init(&none);
    spec = cli_load_spec(scen, &none);
    cli_overrides_free(&none);
    if (!spec) goto out;
    if (exec_backend_pick(opts.backend, backend, sizeof backend, why, sizeof why, &err) < 0) {
        fprintf(stderr, "thaw calibrate: %s\n", err.msg);
        goto out;
    }
    opts.backend = !strcmp(backend, "cuda") ? EXEC_BACKEND_CUDA : EXEC_BACKEND_HOST;
    printf("probe: %s backend (%s); loads of %llu, %llu and %llu MiB from storage (%s) and "
           "from shm, alone and 2-4 at once; %llu run%s of %.1f s\n",
           backend, why, (unsigned long long)(size / MIB), (unsigned long long)(2 * size / MIB),
           (unsigned long long)(3 * size / MIB), opts.weights_dir, runs, runs == 1 ? "" : "s",
           duration);
    fflush(stdout);
    int generated;
    uint64_t gen_bytes;
    if (exec_check_memory(spec, opts.backend == EXEC_BACKEND_HOST, &err) < 0 ||
        exec_weights_prepare(spec, opts.weights_dir, &generated, &gen_bytes, &err) < 0) {
        fprintf(stderr, "thaw calibrate: --probe: %s\n", err.msg);
        goto out;
    }
    if (res_open(db_path ? db_path : dbtmp, &db, &err) < 0 || exec_signals_install(&err) < 0) {
        fprintf(stderr, "thaw calibrate: %s\n", err.msg);
        goto out;
    }
    opts.db = db;
    opts.run_info.overrides = "";
    for (unsigned long long r = 0; r < runs; r++) {
        struct exec_result res;
        if (exec_run(spec, &opts, &res, &err) < 0) {
            fprintf(stderr, "thaw calibrate: --probe: %s\n", err.msg);
            goto out;
        }
        printf("  run %lld: %s, %.2f s wall, %llu loads ok, %llu failed\n", (long long)res.run_id,
               res.status, res.wall_s, (unsigned long long)res.loads_ok,
               (unsigned long long)res.loads_failed);
        if (strcmp(res.status, "complete")) {
            fprintf(stderr, "thaw calibrate: --probe: run %lld %s\n", (long long)res.run_id,
                    res.status);
            goto out;
        }
        ids[r] = res.run_id;
    }
    if (res_calibrate_phases(db, ids, (int)runs, &fit, &count, &err) < 0) {
        fprintf(stderr, "thaw calibrate: --probe: %s\n", err.msg);
        goto out;
    }
    int w = write_profile(out, fit, count, backend, size, (int)runs);
    if (w == -1) {
        fprintf(stderr, "thaw calibrate: --probe: no storage bandwidth could be fitted\n");
        goto out;
    }
    if (w < 0) {
        fprintf(stderr, "thaw calibrate: --probe: cannot write %s: %s\n", out, strerror(errno));
        goto out;
    }
    for (int i = 0; i < count; i++) {
        double r2 = fit[i].shared ? fit[i].r2 : fit[i].other_r2;
        if (!isnan(r2) && r2 < 0.9)
            printf("warning: %s: R^2 %.3f below 0.9, a poor fit (a busy host?): more --runs, or "
                   "a quieter moment, narrow it\n",
                   fit[i].source == CORE_SRC_SHM ? "shm" : "storage", r2);
    }
    printf("host profile: %s\n", out);
    FILE *pf = fopen(out, "r");
    char line[512];
    while (pf && fgets(line, sizeof line, pf))
        if (line[0] != '#') printf("  %s", line);
    if (pf) fclose(pf);
    printf("use it with `include: %s` at the top of a scenario\n", out);
    rc = CLI_EXIT_OK;
out:
    free(fit);
    res_close(db);
    core_spec_free(spec);
    if (!weights_dir) remove_dir(wtmp);
    unlink(scen);
    if (!db_path) unlink(dbtmp);
    remove_dir(tmp);
    return rc;
}

/* test_ladder.c - the storage ladder carried out on this host (host
 * backend; exec/ladder.h): a shared store's read cap split between two
 * nodes' loads, a disk-cache hit after a store miss, peer copies between
 * emulated GPUs on one node (NVLink cap) and across nodes (network caps),
 * and the peer failing mid-copy (the load falls back to the store). The
 * caps make copies last what the scenario says, so the figures are
 * derived from it; lower bounds are exact (a cap never lets more bytes
 * through than rate x time), upper bounds are loose (this host is shared). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec.h"
#include "results.h"
#include "shell.h"
#include "weights.h"

struct fx {
    char dir[256];
    char weights[300];
    char shm_base[300];
    char db_path[300];
    char yaml_path[300];
    struct res_db *db;
    struct core_spec *spec;
    struct exec_result res;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/thaw-exec-test-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    /* A private shm folder: tests running in parallel never share names. */
    snprintf(f->shm_base, sizeof f->shm_base, "/dev/shm/thaw-exec-test-XXXXXX");
    if (!mkdtemp(f->shm_base)) {
        snprintf(f->shm_base, sizeof f->shm_base, "%s/shm", f->dir);
        if (mkdir(f->shm_base, 0700) != 0) return -1;
    }
    snprintf(f->weights, sizeof f->weights, "%s/weights", f->dir);
    snprintf(f->db_path, sizeof f->db_path, "%s/t.db", f->dir);
    snprintf(f->yaml_path, sizeof f->yaml_path, "%s/s.yaml", f->dir);
    struct thaw_err err = {0};
    if (res_open(f->db_path, &f->db, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    res_close(f->db);
    core_spec_free(f->spec);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    nftw(f->shm_base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void load_spec(struct fx *f, const char *yaml)
{
    FILE *fp = fopen(f->yaml_path, "w");
    assert_non_null(fp);
    fputs(yaml, fp);
    fclose(fp);
    struct core_diags diags;
    core_diags_init(&diags);
    int rc = core_spec_load(f->yaml_path, NULL, 0, &f->spec, &diags);
    for (int i = 0; i < diags.count; i++) {
        char line[1200];
        core_diag_format(&diags.items[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    core_diags_free(&diags);
    assert_int_equal(rc, 0);
    struct thaw_err err = {0};
    int generated;
    uint64_t bytes;
    rc = exec_weights_prepare(f->spec, f->weights, &generated, &bytes, &err);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void default_opts(struct fx *f, struct exec_opts *o)
{
    exec_opts_init(o);
    o->backend = EXEC_BACKEND_HOST;
    o->weights_dir = f->weights;
    o->shm_dir = f->shm_base;
    o->chunk_bytes = 4u << 20;
    o->check_invariants = true;
    o->db = f->db;
    o->request_threads = 2;
}

static void run(struct fx *f, const struct exec_opts *o)
{
    struct thaw_err err = {0};
    int rc = exec_run(f->spec, o, &f->res, &err);
    if (rc < 0) fprintf(stderr, "exec_run: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_true(f->res.run_id > 0);
}

/* One number from SQL (printf-formatted); NAN when NULL or no row. */
static double q(struct fx *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *h = res_handle(f->db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(h));
        fail();
    }
    double v = 0.0 / 0.0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int64_t run_yaml(struct fx *f, const char *yaml)
{
    core_spec_free(f->spec);
    f->spec = NULL;
    load_spec(f, yaml);
    struct exec_opts o;
    default_opts(f, &o);
    o.disk_dir = f->dir;
    run(f, &o);
    return f->res.run_id;
}

/* Two nodes, one 32 MiB model each, both in store s3 read at 64 MiB/s
 * (network 1 GiB/s, no bind): 64 MiB through 64 MiB/s takes at least 1 s
 * from the first byte to the last; shared chunk by chunk (4 MiB), each copy
 * runs nearly all of it (alone one would take 0.5 s). */
static const char store_yaml[] =
    "cluster:\n"
    "  stores: [{name: s3, read: 64MiB/s}]\n"
    "  nodes:\n"
    "    - {name: a, gpus: 1, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: 1GiB/s}\n"
    "    - {name: b, gpus: 1, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: 1GiB/s}\n"
    "models:\n"
    "  - {name: m, count: 2, weights: 32MiB, vram: 200MiB, store: s3}\n"
    "workload:\n"
    "  - {model: m, arrivals: {bursts: [{at: 0s, count: 1}]}, service: 10ms}\n";

static void store_cap_is_shared(void **state)
{
    struct fx *f = *state;
    int64_t run = run_yaml(f, store_yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND outcome = 'ok' "
                            "AND source = 'store'",
                            (long long)run),
                     2);
    double span = q(f,
                    "SELECT max(copy_finished) - min(copy_started) FROM load_copies WHERE run "
                    "= %lld",
                    (long long)run);
    double shortest = q(f,
                        "SELECT min(copy_finished - copy_started) FROM load_copies WHERE run = "
                        "%lld",
                        (long long)run);
    fprintf(stderr, "store: span %.3f s, shortest copy %.3f s\n", span, shortest);
    assert_true(span >= 0.99 && span < 5.0);
    assert_true(shortest >= 0.75); /* shared: alone it would be 0.5 s */
    /* lone_s = 32 MiB / 64 MiB/s = 0.5 s each */
    assert_float_equal(q(f, "SELECT max(lone_s) FROM load_copies WHERE run = %lld", (long long)run),
                       0.5, 1e-9);
}

/* The standby load misses (store at 64 MiB/s) and fills the disk cache
 * meanwhile (both done after about 1 s); GPU 0 fails at 5 s (room for a slow,
 * sanitized build) and the failover load onto GPU 1 reads the
 * disk file (read cap 256 MiB/s: 32 MiB in >= 0.125 s), verified. */
static const char disk_yaml[] =
    "cluster:\n"
    "  stores: [{name: s3, read: 64MiB/s}]\n"
    "  nodes:\n"
    "    - name: a\n"
    "      gpus: 2\n"
    "      vram: 256MiB\n"
    "      h2d: 8GiB/s\n"
    "      storage_read: 8GiB/s\n"
    "      network: 1GiB/s\n"
    "      disk_cache: {size: 1GiB, read: 256MiB/s, write: 1GiB/s}\n"
    "models:\n"
    "  - {name: m, weights: 32MiB, vram: 200MiB, store: s3, replicas: {min: 1}}\n"
    "faults:\n"
    "  - {gpu: a/gpu0, at: 5s}\n";

static void disk_cache_hit_after_a_miss(void **state)
{
    struct fx *f = *state;
    int64_t run = run_yaml(f, disk_yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 1 AND "
                            "source = 'store' AND outcome = 'ok'",
                            (long long)run),
                     1);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 2 AND "
                            "source = 'disk' AND outcome = 'ok'",
                            (long long)run),
                     1);
    double disk = q(f,
                    "SELECT copy_finished - copy_started FROM load_copies WHERE run = %lld "
                    "AND load_id = 2",
                    (long long)run);
    fprintf(stderr, "disk hit copy %.3f s\n", disk);
    assert_true(disk >= 0.124 && disk < 0.5); /* the store would take >= 0.5 s */
}

/* m READY on a/gpu0 at start, replicas min 2: the second replica copies
 * from it over NVLink capped at 128 MiB/s: 32 MiB in >= 0.25 s, verified
 * against the weights' checksum. */
static const char peer_yaml[] =
    "cluster:\n"
    "  stores: [{name: s3, read: 16MiB/s}]\n"
    "  nodes:\n"
    "    - {name: a, gpus: 2, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: "
    "64MiB/s, nvlink: 128MiB/s}\n"
    "    - {name: b, gpus: 1, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: "
    "64MiB/s}\n"
    "models:\n"
    "  - {name: m, weights: 32MiB, vram: 200MiB, store: s3, replicas: {min: 2}, placement: "
    "[a/gpu0]}\n"
    "policy: {peer: on}\n";

static void peer_copy_on_one_node_and_across(void **state)
{
    struct fx *f = *state;
    int64_t run = run_yaml(f, peer_yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 1 AND "
                            "source = 'peer' AND outcome = 'ok' AND gpu = 1",
                            (long long)run),
                     1);
    double nv = q(f, "SELECT copy_finished - copy_started FROM load_copies WHERE run = %lld",
                  (long long)run);
    fprintf(stderr, "peer over nvlink %.3f s\n", nv);
    assert_true(nv >= 0.249 && nv < 2.0);
    /* Across nodes (a with one GPU): both links at 64 MiB/s, 0.5 s, faster
     * than the store (16 MiB/s, 2 s). */
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "%s", peer_yaml);
    char *two = strstr(yaml, "gpus: 2");
    assert_non_null(two);
    two[6] = '1';
    run = run_yaml(f, yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 1 AND "
                            "source = 'peer' AND outcome = 'ok' AND gpu = 1",
                            (long long)run),
                     1);
    double net = q(f, "SELECT copy_finished - copy_started FROM load_copies WHERE run = %lld",
                   (long long)run);
    fprintf(stderr, "peer across nodes %.3f s\n", net);
    assert_true(net >= 0.499 && net < 3.0);
}

/* Across nodes again, a/gpu0 failing at 0.2 s, mid-copy (>= 0.5 s): the
 * copy is cancelled (load 1 failed) and the job starts again from the
 * store on b/gpu0 (load 2, 32 MiB at 16 MiB/s: >= 2 s), verified. */
static void peer_fault_mid_copy_falls_back(void **state)
{
    struct fx *f = *state;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "%sfaults:\n  - {gpu: a/gpu0, at: 0.2s}\n", peer_yaml);
    char *two = strstr(yaml, "gpus: 2");
    two[6] = '1';
    int64_t run = run_yaml(f, yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 1 AND "
                            "source = 'peer' AND outcome = 'failed'",
                            (long long)run),
                     1);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 2 AND "
                            "source = 'store' AND outcome = 'ok' AND enqueued = 0",
                            (long long)run),
                     1);
    double back = q(f, "SELECT finished - started FROM loads WHERE run = %lld AND load_id = 2",
                    (long long)run);
    fprintf(stderr, "fallback from the store %.3f s\n", back);
    assert_true(back >= 1.99 && back < 8.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(store_cap_is_shared, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(disk_cache_hit_after_a_miss, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(peer_copy_on_one_node_and_across, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(peer_fault_mid_copy_falls_back, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_faults.c - fault injection through exec's seams. A failing backend
 * (the host backend's methods wrapped through exec_opts.backend_hook: the
 * Nth alloc, the Nth copy, a wrong checksum, a device that dies mid-copy and
 * stays dead) under a real exec run: the run goes on to its end, only the
 * hit loads fail, each with the injected reason in loads.error, no run is
 * 'complete' unless exec_run finished it, and the db passes integrity_check.
 * A short-read and an EIO file layer (exec_load_options.pread_fn) under the
 * loader: the load fails with THAW_EIO naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "exec.h"
#include "loader.h"
#include "results.h"
#include "weights.h"

/* ---- the failing backend -------------------------------------------------- */

enum fault { F_ALLOC, F_COPY, F_CHECKSUM, F_DIES };

struct faulty {
    enum fault fault;
    int nth; /* 1-based call that fails (F_DIES: every call from it on) */
    atomic_int allocs, copies, checksums;
    atomic_bool dead;
    const struct exec_backend_methods *inner;
    struct exec_backend_methods methods;
};
static struct faulty fb; /* the wrapped methods reach it: one run at a time */

static int f_alloc(struct exec_backend *be, int gpu, uint64_t bytes, struct exec_dev_buf **out,
                   struct thaw_err *err)
{
    int n = atomic_fetch_add(&fb.allocs, 1) + 1;
    if (atomic_load(&fb.dead)) return thaw_err_set(err, THAW_EDEVICE, "injected: device lost");
    if (fb.fault == F_ALLOC && n == fb.nth)
        return thaw_err_set(err, THAW_ENOMEM, "injected: alloc %d fails", n);
    return fb.inner->alloc(be, gpu, bytes, out, err);
}

static int f_copy(struct exec_backend *be, struct exec_xfer *x, int slot, uint64_t off,
                  const void *src, size_t bytes, struct thaw_err *err)
{
    int n = atomic_fetch_add(&fb.copies, 1) + 1;
    if (fb.fault == F_DIES && n >= fb.nth) atomic_store(&fb.dead, true);
    if (atomic_load(&fb.dead)) return thaw_err_set(err, THAW_EDEVICE, "injected: device lost");
    if (fb.fault == F_COPY && n == fb.nth)
        return thaw_err_set(err, THAW_EDEVICE, "injected: copy %d fails", n);
    return fb.inner->xfer_copy(be, x, slot, off, src, bytes, err);
}

static int f_checksum(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                      uint64_t *out, struct thaw_err *err)
{
    int n = atomic_fetch_add(&fb.checksums, 1) + 1;
    if (atomic_load(&fb.dead)) return thaw_err_set(err, THAW_EDEVICE, "injected: device lost");
    int rc = fb.inner->checksum(be, buf, bytes, out, err);
    if (!rc && fb.fault == F_CHECKSUM && n == fb.nth) *out ^= 1; /* a bit flipped on the way */
    return rc;
}

static int f_request(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                     uint64_t seed, uint64_t *out, struct thaw_err *err)
{
    if (atomic_load(&fb.dead)) return thaw_err_set(err, THAW_EDEVICE, "injected: device lost");
    return fb.inner->request(be, buf, bytes, seed, out, err);
}

static void wrap(void *ctx, struct exec_backend *be)
{
    (void)ctx;
    fb.inner = be->methods;
    fb.methods = *be->methods;
    fb.methods.alloc = f_alloc;
    fb.methods.xfer_copy = f_copy;
    fb.methods.checksum = f_checksum;
    fb.methods.request = f_request;
    be->methods = &fb.methods;
}

/* ---- a small real run ------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Two 8 MiB models on one GPU, each asked for at 100 ms and 400 ms; with
 * 1 MiB chunks a load is 8 copies. Both loads run at once, so which one a
 * fault hits may vary; the counts checked do not. No run.duration: the
 * run ends when nothing is left, so a slow host (valgrind) only makes it
 * longer. */
static const char yaml[] = "cluster:\n"
                           "  nodes:\n"
                           "    - {name: n0, gpus: 1, vram: 64MiB, h2d: 10GB/s, storage_read: "
                           "1GB/s, cpu_cores: 2}\n"
                           "models:\n"
                           "  - {name: a, weights: 8MiB}\n"
                           "  - {name: b, weights: 8MiB}\n"
                           "workload:\n"
                           "  - {model: a, arrivals: {times: [100ms, 400ms]}, service: 5ms}\n"
                           "  - {model: b, arrivals: {times: [100ms, 400ms]}, service: 5ms}\n";

static double q(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    double v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void run_with_fault(enum fault fault, int nth, int want_ok, const char *reason)
{
    char dir[] = "/tmp/thaw-faults-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300], w[300], db_path[300];
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    snprintf(w, sizeof w, "%s/w", dir);
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    FILE *fp = fopen(path, "w");
    fputs(yaml, fp);
    fclose(fp);
    struct core_diags diags;
    core_diags_init(&diags);
    struct core_spec *spec = NULL;
    assert_int_equal(core_spec_load(path, NULL, 0, &spec, &diags), 0);
    core_diags_free(&diags);
    struct thaw_err err = {0, ""};
    int gen;
    uint64_t gen_bytes;
    assert_int_equal(exec_weights_prepare(spec, w, &gen, &gen_bytes, &err), 0);
    struct res_db *db = NULL;
    assert_int_equal(res_open(db_path, &db, &err), 0);

    memset(&fb, 0, sizeof fb);
    fb.fault = fault;
    fb.nth = nth;
    struct exec_opts o;
    exec_opts_init(&o);
    o.backend = EXEC_BACKEND_HOST;
    o.weights_dir = w;
    o.shm_dir = dir;
    o.chunk_bytes = 1u << 20;
    o.check_invariants = true;
    o.db = db;
    o.request_threads = 2;
    o.backend_hook = wrap;
    struct exec_result res;
    int rc = exec_run(spec, &o, &res, &err);
    if (rc < 0) fprintf(stderr, "exec_run: %s\n", err.msg);
    assert_int_equal(rc, 0); /* the run goes on to its end */
    assert_string_equal(res.status, "complete");

    sqlite3 *h = res_handle(db);
    char sql[512];
    printf("# fault %d at %d: %llu loads ok, %llu failed\n", (int)fault, nth,
           (unsigned long long)res.loads_ok, (unsigned long long)res.loads_failed);
    assert_true(res.loads_failed >= 1);
    assert_int_equal((int)res.loads_ok, want_ok);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM loads WHERE run = %lld AND outcome = 'failed' AND error LIKE "
             "'%%%s%%'",
             (long long)res.run_id, reason);
    assert_true(q(h, sql) >= 1); /* the reason is recorded */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM loads WHERE run = %lld AND outcome = 'failed' AND error IS NULL",
             (long long)res.run_id);
    assert_true(q(h, sql) == 0);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    res_close(db);
    core_spec_free(spec);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* One load of two fails; the other lands (want_ok = 1): a failed load is
 * not retried (the model is broken), the other model serves. */
static void test_nth_alloc(void **state)
{
    (void)state;
    run_with_fault(F_ALLOC, 1, 1, "injected: alloc 1 fails");
}

static void test_nth_copy(void **state)
{
    (void)state;
    run_with_fault(F_COPY, 3, 1, "injected: copy 3 fails");
}

static void test_checksum(void **state)
{
    (void)state;
    run_with_fault(F_CHECKSUM, 1, 1, "checksum mismatch");
}

/* The device dies at the 5th copy (inside the first loads) and stays dead:
 * every load fails, the run still reaches its end. */
static void test_device_dies_mid_copy(void **state)
{
    (void)state;
    run_with_fault(F_DIES, 5, 0, "injected: device lost");
}

/* ---- the file layer under the loader --------------------------------------- */

static int io_nth, io_calls;
static bool io_short; /* short read (then end of file) instead of EIO */

static ssize_t faulty_pread(int fd, void *buf, size_t len, off_t off)
{
    if (++io_calls == io_nth) {
        if (!io_short) {
            errno = EIO;
            return -1;
        }
        return pread(fd, buf, len / 2, off); /* half; the next call is the end */
    }
    if (io_short && io_calls > io_nth) return 0;
    return pread(fd, buf, len, off);
}

static void load_with_io_fault(bool short_read, const char *want)
{
    char dir[] = "/tmp/thaw-faults-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/m.bin", dir);
    const uint64_t size = 1u << 20;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_weights_gen(path, size, 9, &err), 0);
    uint64_t caps[1] = {4u << 20};
    struct exec_backend_config cfg = {1, caps, NULL};
    struct exec_backend *be = NULL;
    assert_int_equal(exec_backend_open("host", &cfg, &be, NULL, 0, &err), 0);
    struct exec_dev_buf *buf = NULL;
    assert_int_equal(exec_backend_alloc(be, 0, size, &buf, &err), 0);
    struct exec_segment seg = {path, 0, size};
    struct exec_source src = {EXEC_SOURCE_FILES, 1, &seg, NULL, size, path, -1};
    struct exec_load_options lo;
    exec_load_options_init(&lo);
    lo.chunk_bytes = 128u << 10; /* 8 chunks; the 3rd read is hit */
    lo.have_expected = true;
    lo.expected_checksum = exec_weights_expected_checksum(size, 9);
    lo.pread_fn = faulty_pread;
    io_nth = 3;
    io_calls = 0;
    io_short = short_read;
    struct exec_load_result lr;
    assert_int_equal(exec_load(be, buf, &src, &lo, &lr, &err), THAW_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, want));
    assert_false(lr.verified);
    exec_backend_close(be);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_eio_under_loader(void **state)
{
    (void)state;
    load_with_io_fault(false, "Input/output error");
}

static void test_short_read_under_loader(void **state)
{
    (void)state;
    load_with_io_fault(true, "truncated");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nth_alloc),        cmocka_unit_test(test_nth_copy),
        cmocka_unit_test(test_checksum),         cmocka_unit_test(test_device_dies_mid_copy),
        cmocka_unit_test(test_eio_under_loader), cmocka_unit_test(test_short_read_under_loader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

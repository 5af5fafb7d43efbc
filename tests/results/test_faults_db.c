/* test_faults_db.c - the recorder under a failing disk: a VFS shim
 * (registered as the default, wrapping the real one, as SQLite's own tests
 * do) fails the Nth write with SQLITE_IOERR_WRITE. For every third N from 1 to
 * the writes of a whole run (open, begin, 3,000 request rows, finish) the
 * failing call returns THAW_EIO with a reason (a failure in a write no
 * caller waits for, the checkpoint at close, is SQLite's to recover from
 * the WAL), the database then passes
 * PRAGMA integrity_check, and a run is 'complete' only when every call
 * succeeded: a failed write never leaves a false 'complete'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "results.h"

/* ---- the shim -------------------------------------------------------------- */

struct shim_file {
    sqlite3_file base;
    sqlite3_file *real; /* follows this struct in the same allocation */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static int writes, fail_at = INT_MAX; /* one connection at a time: plain ints */

#define REAL(f) (((struct shim_file *)(f))->real)

static int s_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    return rc;
}
static int s_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int s_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    if (++writes == fail_at) return SQLITE_IOERR_WRITE;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int s_truncate(sqlite3_file *f, sqlite3_int64 s)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), s);
}
static int s_sync(sqlite3_file *f, int fl)
{
    return REAL(f)->pMethods->xSync(REAL(f), fl);
}
static int s_size(sqlite3_file *f, sqlite3_int64 *s)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), s);
}
static int s_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int s_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int s_reserved(sqlite3_file *f, int *r)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r);
}
static int s_fcntl(sqlite3_file *f, int op, void *a)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int s_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int s_dev(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int s_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p);
}
static int s_shm_lock(sqlite3_file *f, int off, int n, int fl)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, fl);
}
static void s_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int s_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int s_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{
    *p = NULL; /* no memory-mapped reads: every page goes through xRead */
    (void)f;
    (void)o;
    (void)n;
    return SQLITE_OK;
}
static int s_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
    (void)f;
    (void)o;
    (void)p;
    return SQLITE_OK;
}

static const sqlite3_io_methods shim_io = {
    .iVersion = 3,
    .xClose = s_close,
    .xRead = s_read,
    .xWrite = s_write,
    .xTruncate = s_truncate,
    .xSync = s_sync,
    .xFileSize = s_size,
    .xLock = s_lock,
    .xUnlock = s_unlock,
    .xCheckReservedLock = s_reserved,
    .xFileControl = s_fcntl,
    .xSectorSize = s_sector,
    .xDeviceCharacteristics = s_dev,
    .xShmMap = s_shm_map,
    .xShmLock = s_shm_lock,
    .xShmBarrier = s_shm_barrier,
    .xShmUnmap = s_shm_unmap,
    .xFetch = s_fetch,
    .xUnfetch = s_unfetch,
};

static int s_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)v;
    struct shim_file *sf = (struct shim_file *)f;
    sf->real = (sqlite3_file *)(sf + 1);
    int rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out);
    f->pMethods = sf->real->pMethods ? &shim_io : NULL;
    return rc;
}

static void shim_install(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    shim_vfs = *real_vfs;
    shim_vfs.zName = "thaw-faulty";
    shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
    shim_vfs.xOpen = s_open;
    assert_int_equal(sqlite3_vfs_register(&shim_vfs, 1), SQLITE_OK);
}

static void shim_remove(void)
{
    sqlite3_vfs_unregister(&shim_vfs);
    sqlite3_vfs_register(real_vfs, 1);
}

/* ---- a whole run under a fault ---------------------------------------------- */

static const struct res_run_info info = {"sim", "", "", NULL, "", 7};

/* Returns 1 when every call succeeded, 0 when one failed (with THAW_EIO and
 * a message). */
static int write_run(const char *path, const struct core_spec *spec)
{
    struct res_db *db = NULL;
    struct thaw_err err = {0, ""};
    int rc = res_open(path, &db, &err);
    int64_t run = 0;
    if (rc == 0) rc = res_run_begin(db, spec, &info, &run, &err);
    for (int i = 0; i < 3000 && rc == 0; i++) {
        struct res_request_row rq = {(uint64_t)i + 1, 0, SEC(i), SEC(i), SEC(i + 1), 1, false};
        rc = res_add_request(db, run, spec, &rq, &err);
    }
    if (rc == 0) rc = res_run_finish(db, run, "complete", SEC(3000), &err);
    if (rc) {
        assert_true(rc == THAW_EIO || rc == THAW_ENOMEM);
        assert_true(err.msg[0] != '\0'); /* the reason */
    }
    res_close(db);
    return rc == 0;
}

/* fixture_tmpdb in /dev/shm when there is one: 200-odd databases with
 * their fsyncs cost seconds on a disk. */
static void tmpdb(char *dir, size_t dlen, char *path, size_t plen)
{
    snprintf(dir, dlen, "/dev/shm/thaw-res-XXXXXX");
    if (!mkdtemp(dir)) {
        fixture_tmpdb(dir, dlen, path, plen, "t.db");
        return;
    }
    snprintf(path, plen, "%s/t.db", dir);
}

static void test_every_write_fails_once(void **state)
{
    (void)state;
    struct core_spec *spec = fixture_spec();
    shim_install();
    char dir[64], path[256];
    /* A clean pass counts the writes. */
    tmpdb(dir, sizeof dir, path, sizeof path);
    writes = 0;
    fail_at = INT_MAX;
    assert_int_equal(write_run(path, spec), 1);
    int total = writes;
    fixture_rmdir(dir);
    printf("# a run is %d writes\n", total);
    assert_true(total > 10);

    int failed = 0;
    for (int n = 1; n <= total; n += 3) { /* every third: seconds, not tens */
        tmpdb(dir, sizeof dir, path, sizeof path);
        writes = 0;
        fail_at = n;
        int ok = write_run(path, spec);
        fail_at = INT_MAX;
        failed += !ok;
        struct res_db *db = NULL;
        struct thaw_err err = {0, ""};
        if (res_open(path, &db, &err) == 0) {
            sqlite3_stmt *st;
            assert_int_equal(
                sqlite3_prepare_v2(res_handle(db), "PRAGMA integrity_check", -1, &st, NULL),
                SQLITE_OK);
            assert_int_equal(sqlite3_step(st), SQLITE_ROW);
            assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
            sqlite3_finalize(st);
            assert_true(sqlite3_prepare_v2(res_handle(db),
                                           "SELECT count(*) FROM runs WHERE status = 'complete'",
                                           -1, &st, NULL) == SQLITE_OK);
            assert_int_equal(sqlite3_step(st), SQLITE_ROW);
            int complete = sqlite3_column_int(st, 0);
            sqlite3_finalize(st);
            if (complete != (ok ? 1 : 0))
                fail_msg("write %d failed: %d complete runs, the run %s", n, complete,
                         ok ? "succeeded" : "reported a failure");
            res_close(db);
        }
        fixture_rmdir(dir);
    }
    printf("# %d of %d injected write failures reached a caller\n", failed, (total + 2) / 3);
    assert_true(failed > 0);
    shim_remove();
    fixture_spec_free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_write_fails_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

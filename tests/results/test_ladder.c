/* test_ladder.c - results/ladder.c: a database written before the storage
 * ladder (loads.source CHECK of 'storage' and 'shm' only) is rebuilt when
 * opened, every row and column kept, and then takes the ladder's sources;
 * the ladder writer's rows (one bandwidth row per resource and instant) and
 * the summary's hit rates, bytes and store wait, derived by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "fixture.h"

static void exec_sql(sqlite3 *h, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "%s\n%s\n", msg, sql);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

static double num(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    int prc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (prc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(h));
    assert_int_equal(prc, SQLITE_OK);
    double v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static void old_database_is_migrated(void **state)
{
    (void)state;
    char dir[] = "/tmp/thaw-res-ladder-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    struct thaw_err err = {0};
    struct res_db *db;
    assert_int_equal(res_open(path, &db, &err), 0);
    /* put back the loads table of before the ladder, with one row */
    exec_sql(res_handle(db),
             "PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON; DROP TABLE loads;"
             "CREATE TABLE loads (run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
             " load_id INTEGER NOT NULL, model TEXT NOT NULL, instance INTEGER NOT NULL,"
             " gpu INTEGER NOT NULL, gpu_name TEXT NOT NULL, node TEXT NOT NULL,"
             " source TEXT CHECK (source IN ('storage', 'shm')), reason TEXT NOT NULL,"
             " enqueued REAL NOT NULL, started REAL, finished REAL, bytes INTEGER NOT NULL,"
             " vram INTEGER NOT NULL, deadline REAL, outcome TEXT NOT NULL CHECK (outcome IN"
             " ('ok', 'failed', 'cancelled', 'in_flight', 'queued')), priority INTEGER,"
             " error TEXT, PRIMARY KEY (run, load_id));"
             "INSERT INTO runs (id, uuid, mode, scenario, scenario_sha256, policy, seed, host,"
             " version, started_at, status) VALUES (1, 'u1', 'sim', 's', 'h', 'p', 1, 'h', '0',"
             " '2026-01-01T00:00:00Z', 'complete');"
             "INSERT INTO loads VALUES (1, 1, 'm', 1, 0, 'g', 'n', 'shm', 'demand', 0, 1, 2, 7, 8,"
             " NULL, 'failed', 2, 'a reason');"
             "PRAGMA foreign_keys = ON; PRAGMA legacy_alter_table = OFF;");
    res_close(db);
    assert_int_equal(res_open(path, &db, &err), 0);
    sqlite3 *h = res_handle(db);
    assert_true(num(h, "SELECT instr(sql, '''peer''') > 0 FROM sqlite_master WHERE name = "
                       "'loads'") == 1);
    /* the row, every column, kept */
    assert_true(num(h, "SELECT count(*) FROM loads WHERE run = 1 AND load_id = 1 AND source = "
                       "'shm' AND bytes = 7 AND vram = 8 AND priority = 2 AND error = 'a reason' "
                       "AND outcome = 'failed'") == 1);
    /* and the ladder's sources go in now; views over loads still work */
    exec_sql(h, "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, source,"
                " reason, enqueued, started, finished, bytes, vram, outcome) VALUES (1, 2, 'm', 2,"
                " 0, 'g', 'n', 'peer', 'demand', 0, 1, 2, 7, 8, 'ok')");
    assert_true(num(h, "SELECT count(*) FROM load_breakdown WHERE run = 1") >= 1);
    res_close(db);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void writer_rows_and_summary(void **state)
{
    (void)state;
    struct thaw_err err = {0};
    struct res_db *db;
    assert_int_equal(res_open(":memory:", &db, &err), 0);
    struct core_spec *spec = fixture_spec();
    struct res_run_info info = {.mode = "sim", .backend = "", .overrides = "", .params = ""};
    int64_t run;
    assert_int_equal(res_run_begin(db, spec, &info, &run, &err), 0);
    struct res_ladder_rec *r;
    assert_int_equal(res_ladder_rec_new(db, run, &r, &err), 0);
    assert_int_equal(res_ladder_rec_resource(r, 3, "store", "s3", &err), 0);
    /* t=0: 1 GB/s then 2 GB/s at the same instant (one row, 2), t=4: 0;
     * id 5 has no name: ignored */
    assert_int_equal(res_ladder_rec_rate(r, 0, 3, 1e9, 2e9, &err), 0);
    assert_int_equal(res_ladder_rec_rate(r, 0, 3, 2e9, 2e9, &err), 0);
    assert_int_equal(res_ladder_rec_rate(r, SEC(4), 3, 0, 2e9, &err), 0);
    assert_int_equal(res_ladder_rec_rate(r, SEC(4), 5, 1, 1, &err), 0);
    /* two copies from the store, 4 GB each, lone 2 s, each 4 s: 2 s waited */
    for (int l = 1; l <= 2; l++) {
        struct res_copy_row c = {.load_id = (uint64_t)l,
                                 .source = CORE_SRC_STORE,
                                 .peer_gpu = -1,
                                 .bytes = 4000000000ULL,
                                 .started_ns = 0,
                                 .finished_ns = SEC(4),
                                 .lone_s = 2.0};
        assert_int_equal(res_ladder_rec_copy(r, &c, &err), 0);
    }
    assert_int_equal(res_ladder_rec_flush(r, &err), 0);
    res_ladder_rec_free(r);
    sqlite3 *h = res_handle(db);
    assert_true(num(h, "SELECT count(*) FROM bandwidth_samples") == 2);
    assert_true(num(h, "SELECT used_bps FROM bandwidth_samples WHERE t = 0 AND kind = 'store' "
                       "AND resource = 'store:s3'") == 2e9);
    /* loads: 2 from the store, 1 from shm, 1 queued (not started) */
    const char *srcs[] = {"store", "store", "shm"};
    for (int l = 0; l < 3; l++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, source,"
                 " reason, enqueued, started, finished, bytes, vram, outcome) VALUES (%lld, %d,"
                 " 'm0', %d, 0, 'g0', 'n0', '%s', 'demand', 0, 0, 4, 4000000000, 20, 'ok')",
                 (long long)run, l + 1, l + 1, srcs[l]);
        exec_sql(h, sql);
    }
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, source,"
             " reason, enqueued, bytes, vram, outcome) VALUES (%lld, 4, 'm0', 0, -1, '', '',"
             " NULL, 'demand', 0, 4000000000, 20, 'queued')",
             (long long)run);
    exec_sql(h, sql);
    struct res_ladder_summary s;
    assert_int_equal(res_ladder_summary(db, run, &s, &err), 0);
    assert_int_equal(s.started, 3);
    assert_int_equal(s.loads[CORE_SRC_STORE], 2);
    assert_int_equal(s.loads[CORE_SRC_SHM], 1);
    assert_true(s.bytes[CORE_SRC_STORE] == 8000000000ULL);
    assert_int_equal(s.store_copies, 2);
    assert_float_equal(s.store_wait_total_s, 4.0, 1e-9);
    assert_float_equal(s.store_wait_max_s, 2.0, 1e-9);
    res_close(db);
    fixture_spec_free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_database_is_migrated),
        cmocka_unit_test(writer_rows_and_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

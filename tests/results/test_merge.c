/* test_merge.c - results/merge.c: runs and all their rows are copied with
 * new ids, a second merge of the same input adds nothing, 'running' runs
 * are left out, a merged run's metrics recompute to the same values, and
 * bad inputs (missing, not a database, the output itself) are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"

static int64_t query_int(struct res_db *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static double query_double(struct res_db *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* One complete run: 2 ok loads (cold starts 10 s and 30 s -> mean 20) and
 * a failed one with its reason, 2 action-log lines, 3
 * requests, 4 instance events, 1 fault, 1 core event. With `unfinished`,
 * a second run left 'running'. */
static void make_input(const char *path, const struct core_spec *spec, uint64_t seed,
                       bool unfinished)
{
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    struct res_run_info info = {"sim", "", "", "sweep-1", "gpus=3", seed};
    int64_t run;
    assert_int_equal(res_run_begin(db, spec, &info, &run, &err), 0);
    struct res_load_row l1 = {1,       1,  0,  0,   CORE_SRC_STORAGE, CORE_REASON_DEMAND, 0, 0,
                              SEC(10), 18, 20, "ok", NULL};
    struct res_load_row l2 = {2,      2,      1,       2, CORE_SRC_SHM, CORE_REASON_FAILOVER,
                              SEC(5), SEC(5), SEC(35), 9, 10,           "ok", NULL};
    struct res_load_row l3 = {3,       3,  0,  1,   CORE_SRC_STORAGE, CORE_REASON_DEMAND, 0, 0,
                              SEC(12), 18, 20, "failed", "checksum mismatch"};
    assert_int_equal(res_add_load(db, run, spec, &l1, &err), 0);
    assert_int_equal(res_add_load(db, run, spec, &l2, &err), 0);
    assert_int_equal(res_add_load(db, run, spec, &l3, &err), 0);
    /* two action-log lines (replay reads them) */
    struct res_action_log *alog;
    assert_int_equal(res_action_log_open(db, run, &alog, &err), 0);
    assert_int_equal(res_action_log_add(alog, 0, 0, "t=0 WAKE_AT", &err), 0);
    assert_int_equal(res_action_log_add(alog, 1, 0, "t=3 CANCEL_LOAD", &err), 0);
    assert_int_equal(res_action_log_flush(alog, &err), 0);
    res_action_log_close(alog);
    for (uint64_t i = 1; i <= 3; i++) {
        struct res_request_row rq = {i, 0, SEC(i), SEC(i), SEC(i + 1), 1, false};
        assert_int_equal(res_add_request(db, run, spec, &rq, &err), 0);
    }
    assert_int_equal(res_add_instance_event(db, run, spec, 1, 0, 0, CORE_INST_LOADING, 0, &err), 0);
    assert_int_equal(res_add_instance_event(db, run, spec, 1, 0, 0, CORE_INST_READY, SEC(10), &err),
                     0);
    assert_int_equal(
        res_add_instance_event(db, run, spec, 2, 1, 2, CORE_INST_LOADING, SEC(5), &err), 0);
    assert_int_equal(res_add_instance_event(db, run, spec, 2, 1, 2, CORE_INST_READY, SEC(35), &err),
                     0);
    assert_int_equal(res_add_fault(db, run, spec, false, 1, SEC(3), -1, &err), 0);
    struct core_event ev = {CORE_EV_GPU_FAILED, SEC(3), 0, 0, 0, -1, 0, 1, true};
    assert_int_equal(res_add_core_event(db, run, 1, &ev, &err), 0);
    assert_int_equal(res_run_finish(db, run, "complete", SEC(40), &err), 0);
    if (unfinished) {
        assert_int_equal(res_run_begin(db, spec, &info, &run, &err), 0);
        assert_int_equal(res_add_load(db, run, spec, &l1, &err), 0);
    }
    res_close(db);
}

static void test_merge_idempotent(void **state)
{
    (void)state;
    char dir[64], out_path[256], a_path[256], b_path[256];
    fixture_tmpdb(dir, sizeof dir, out_path, sizeof out_path, "out.db");
    snprintf(a_path, sizeof a_path, "%s/a.db", dir);
    snprintf(b_path, sizeof b_path, "%s/b.db", dir);
    struct core_spec *spec = fixture_spec();
    make_input(a_path, spec, 1, true); /* runs 1 (complete), 2 (running) */
    make_input(b_path, spec, 2, false);

    struct res_db *out;
    struct thaw_err err = {0};
    assert_int_equal(res_open(out_path, &out, &err), 0);
    /* the output already holds one run of its own: merged ones come after */
    int64_t own;
    struct res_run_info info = {"exec", "host", "", NULL, "", 9};
    assert_int_equal(res_run_begin(out, spec, &info, &own, &err), 0);
    assert_int_equal(res_run_finish(out, own, "complete", SEC(1), &err), 0);

    struct res_merge_counts c;
    assert_int_equal(res_merge(out, a_path, &c, &err), 0);
    assert_int_equal(c.added, 1);
    assert_int_equal(c.running, 1);
    assert_int_equal(c.duplicates, 0);
    assert_int_equal(res_merge(out, b_path, &c, &err), 0);
    assert_int_equal(c.added, 1);
    assert_int_equal(query_int(out, "SELECT count(*) FROM runs"), 3);
    /* a's run became run 2, b's run 3; every row followed its run */
    assert_int_equal(query_int(out, "SELECT seed FROM runs WHERE id = 2"), 1);
    assert_int_equal(query_int(out, "SELECT seed FROM runs WHERE id = 3"), 2);
    assert_int_equal(query_int(out, "SELECT count(*) FROM loads WHERE run = 3"), 3);
    /* every table with a run column follows, with every column: the action
     * log (replay on a merged db) and a failed load's reason */
    assert_int_equal(query_int(out, "SELECT count(*) FROM core_actions WHERE run = 3"), 2);
    assert_int_equal(query_int(out, "SELECT count(*) FROM loads WHERE run = 3 AND "
                                    "error = 'checksum mismatch'"),
                     1);
    assert_int_equal(query_int(out, "SELECT count(*) FROM requests WHERE run = 3"), 3);
    assert_int_equal(query_int(out, "SELECT count(*) FROM instance_events WHERE run = 3"), 4);
    assert_int_equal(query_int(out, "SELECT count(*) FROM faults WHERE run = 3"), 1);
    assert_int_equal(query_int(out, "SELECT count(*) FROM gpus WHERE run = 3"), 3);
    assert_int_equal(query_int(out, "SELECT count(*) FROM core_events WHERE run = 3"), 1);
    assert_int_equal(query_int(out, "SELECT count(*) FROM metrics WHERE run = 3"),
                     query_int(out, "SELECT count(*) FROM metrics WHERE run = 1"));
    assert_int_equal(query_int(out, "SELECT count(*) FROM runs WHERE sweep_id = 'sweep-1' AND "
                                    "params = 'gpus=3' AND status = 'complete'"),
                     2);
    /* cold starts 10 and 30 s -> mean 20, copied and recomputed alike */
    assert_true(query_double(out, "SELECT value FROM metrics WHERE run = 2 AND name = "
                                  "'cold_start_mean_s'") == 20.0);
    assert_int_equal(res_metrics_compute(out, 2, &err), 0);
    assert_true(query_double(out, "SELECT value FROM metrics WHERE run = 2 AND name = "
                                  "'cold_start_mean_s'") == 20.0);

    /* merging again adds nothing */
    assert_int_equal(res_merge(out, a_path, &c, &err), 0);
    assert_int_equal(c.added, 0);
    assert_int_equal(c.duplicates, 1);
    assert_int_equal(c.running, 1);
    assert_int_equal(res_merge(out, b_path, &c, &err), 0);
    assert_int_equal(c.added, 0);
    assert_int_equal(c.duplicates, 1);
    assert_int_equal(query_int(out, "SELECT count(*) FROM runs"), 3);
    assert_int_equal(query_int(out, "SELECT count(*) FROM loads"), 6);
    assert_int_equal(query_int(out, "SELECT count(DISTINCT uuid) FROM runs"), 3);

    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(out), "PRAGMA integrity_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(query_int(out, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    res_close(out);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

static void test_merge_bad_inputs(void **state)
{
    (void)state;
    char dir[64], out_path[256], junk[256], other[256];
    fixture_tmpdb(dir, sizeof dir, out_path, sizeof out_path, "out.db");
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    snprintf(other, sizeof other, "%s/other.db", dir);
    FILE *f = fopen(junk, "w");
    assert_non_null(f);
    fputs("this is not SQLite, just text long enough to have a header of sorts....\n", f);
    fclose(f);
    struct res_db *out;
    struct thaw_err err = {0};
    assert_int_equal(res_open(out_path, &out, &err), 0);
    struct res_merge_counts c;
    assert_int_equal(res_merge(out, junk, &c, &err), THAW_EINVAL);
    assert_non_null(strstr(err.msg, "not a thaw results database"));
    assert_int_equal(res_merge(out, other, &c, &err), THAW_ENOENT);
    assert_int_equal(res_merge(out, out_path, &c, &err), THAW_EINVAL);
    /* an SQLite file with other tables */
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(other, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TABLE runs (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(res_merge(out, other, &c, &err), THAW_EINVAL);
    /* the output is still usable */
    assert_int_equal(query_int(out, "SELECT count(*) FROM runs"), 0);
    res_close(out);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_idempotent),
        cmocka_unit_test(test_merge_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

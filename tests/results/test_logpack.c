/* test_logpack.c - results/logpack.c, recorder.c's core events and
 * actionlog.c's actions: packed 1024 to a row (schema version 2), read back
 * exactly by replay's readers and, one row per item, by the schema's views
 * core_events and core_actions; a database of version 1 (a row per item)
 * is migrated when opened and packed when merged from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"

static const struct res_run_info sim_info = {"sim", "", "", NULL, "", 42};

static int64_t query_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void query_text(sqlite3 *h, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, len, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
}

/* Event i of the test run: every kind in turn, fields that exercise the
 * format (negatives, 0, values past 2^32, ok false). */
static struct core_event event_of(int i)
{
    return (struct core_event){.kind = (enum core_event_kind)(i % 10),
                               .t_ns = (int64_t)i * 1000003 + 5000000000LL,
                               .request = (uint64_t)i * 7,
                               .instance = (uint64_t)(i % 13),
                               .load = (uint64_t)i << 33,
                               .model = i % 3 - 1,
                               .node = -(i % 2),
                               .gpu = i % 5 - 1,
                               .ok = i % 4 != 0};
}

/* A line with what JSON must escape. */
static void line_of(int seq, int idx, char *buf, size_t len)
{
    snprintf(buf, len, "t=%d DISPATCH \"q\" back\\slash\ttab idx=%d", seq, idx);
}

enum { EVENTS = 2500, ACTION_SEQS = 1500 };

/* Records EVENTS events (seq 1..EVENTS) and two actions per seq
 * 0..ACTION_SEQS-1 into a new run; returns its id. */
static int64_t record(struct res_db *db, struct core_spec *spec)
{
    struct thaw_err err = {0};
    int64_t run;
    assert_int_equal(res_run_begin(db, spec, &sim_info, &run, &err), 0);
    for (int i = 1; i <= EVENTS; i++) {
        struct core_event ev = event_of(i);
        assert_int_equal(res_add_core_event(db, run, (uint64_t)i, &ev, &err), 0);
    }
    struct res_action_log *log;
    assert_int_equal(res_action_log_open(db, run, &log, &err), 0);
    char line[128];
    for (int s = 0; s < ACTION_SEQS; s++)
        for (int k = 0; k < 2; k++) {
            line_of(s, k, line, sizeof line);
            assert_int_equal(res_action_log_add(log, (uint64_t)s, (uint32_t)k, line, &err), 0);
        }
    assert_int_equal(res_action_log_flush(log, &err), 0);
    res_action_log_close(log);
    assert_int_equal(res_run_finish(db, run, "complete", SEC(10), &err), 0);
    return run;
}

/* What replay's readers and the views give back is what was recorded. */
static void check_run(struct res_db *db, int64_t run)
{
    struct thaw_err err = {0};
    struct res_core_events got;
    assert_int_equal(res_core_events_load(db, run, &got, &err), 0);
    assert_int_equal(got.count, EVENTS);
    for (int i = 1; i <= EVENTS; i++) {
        struct core_event want = event_of(i), *e = &got.ev[i - 1];
        assert_int_equal(got.seq[i - 1], (uint64_t)i);
        assert_int_equal(e->kind, want.kind);
        assert_int_equal(e->t_ns, want.t_ns);
        assert_int_equal(e->request, want.request);
        assert_int_equal(e->instance, want.instance);
        assert_int_equal(e->load, want.load);
        assert_int_equal(e->model, want.model);
        assert_int_equal(e->node, want.node);
        assert_int_equal(e->gpu, want.gpu);
        assert_int_equal(e->ok, want.ok);
    }
    res_core_events_free(&got);

    struct res_action_reader *r;
    assert_int_equal(res_action_reader_open(db, run, &r, &err), 0);
    uint64_t seq, idx;
    const char *line;
    char want[128];
    int n = 0;
    while (res_action_reader_next(r, &seq, &idx, &line)) {
        assert_int_equal(seq, (uint64_t)(n / 2));
        assert_int_equal(idx, (uint64_t)(n % 2));
        line_of(n / 2, n % 2, want, sizeof want);
        assert_string_equal(line, want);
        n++;
    }
    res_action_reader_close(r);
    assert_int_equal(n, 2 * ACTION_SEQS);

    sqlite3 *h = res_handle(db);
    char sql[256], text[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM core_events WHERE run = %lld", (long long)run);
    assert_int_equal(query_int(h, sql), EVENTS);
    /* event 1234: kind 1234 % 10 = 4 GPU_FAILED, t 1234 * 1000003 + 5e9 =
     * 6234003702, request 8638, instance 1234 % 13 = 12, load 1234 << 33 =
     * 10599979286528, model 1234 % 3 - 1 = 0, node 0, gpu 1234 % 5 - 1 = 3,
     * ok (1234 % 4 = 2) 1 */
    snprintf(sql, sizeof sql,
             "SELECT kind || ',' || t_ns || ',' || request || ',' || instance || ',' || load_id "
             "|| ',' || model || ',' || node || ',' || gpu || ',' || ok FROM core_events WHERE "
             "run = %lld AND seq = 1234",
             (long long)run);
    query_text(h, sql, text, sizeof text);
    assert_string_equal(text, "GPU_FAILED,6234003702,8638,12,10599979286528,0,0,3,1");
    snprintf(sql, sizeof sql,
             "SELECT line FROM core_actions WHERE run = %lld AND seq = 1499 AND idx = 1",
             (long long)run);
    query_text(h, sql, text, sizeof text);
    line_of(1499, 1, want, sizeof want);
    assert_string_equal(text, want);
}

static void test_round_trip(void **state)
{
    (void)state;
    char dir[64], path[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    int64_t run = record(db, spec);
    check_run(db, run);
    /* 2500 events: batches of 1024, 1024, 452; 3000 actions: seqs of
     * batches 0..511, 512..1023, 1024..1499 */
    sqlite3 *h = res_handle(db);
    assert_int_equal(query_int(h, "SELECT count(*) FROM core_event_log"), 3);
    assert_int_equal(query_int(h, "SELECT group_concat(first_seq || '-' || last_seq) = "
                                  "'1-1024,1025-2048,2049-2500' FROM core_event_log"),
                     1);
    assert_int_equal(query_int(h, "SELECT group_concat(first_seq || '-' || last_seq) = "
                                  "'0-511,512-1023,1024-1499' FROM core_action_log"),
                     1);
    /* Events of a run that does not exist are refused at the burst, as
     * the foreign key would (res_flush checks it itself). */
    struct core_event ev = event_of(1);
    assert_int_equal(res_add_core_event(db, 99, 1, &ev, &err), 0);
    assert_int_equal(res_flush(db, &err), THAW_EINVAL);
    assert_non_null(strstr(err.msg, "FOREIGN KEY"));
    assert_int_equal(query_int(h, "SELECT count(*) FROM core_event_log WHERE run = 99"), 0);
    assert_int_equal(query_int(h, "PRAGMA foreign_keys"), 1);
    /* A run deleted takes its batches along (ON DELETE CASCADE). */
    assert_int_equal(sqlite3_exec(h, "DELETE FROM runs", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(query_int(h, "SELECT count(*) FROM core_events"), 0);
    assert_int_equal(query_int(h, "SELECT count(*) FROM core_action_log"), 0);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* Turns the database at path back into schema version 1's logs: the
 * tables of a row per item, filled from the views. */
static void make_version_1(const char *path)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "BEGIN;"
                     "CREATE TEMP TABLE ev AS SELECT * FROM core_events;"
                     "CREATE TEMP TABLE ac AS SELECT * FROM core_actions;"
                     "DROP VIEW core_events_named; DROP VIEW core_events; DROP VIEW core_actions;"
                     "DELETE FROM core_event_log; DELETE FROM core_action_log;"
                     "CREATE TABLE core_actions (run INTEGER NOT NULL REFERENCES runs(id) ON "
                     " DELETE CASCADE, seq INTEGER NOT NULL, idx INTEGER NOT NULL, line TEXT NOT "
                     " NULL, PRIMARY KEY (run, seq, idx));"
                     "CREATE TABLE core_events (run INTEGER NOT NULL REFERENCES runs(id) ON "
                     " DELETE CASCADE, seq INTEGER NOT NULL, kind TEXT NOT NULL, t_ns INTEGER "
                     " NOT NULL, request INTEGER NOT NULL DEFAULT 0, instance INTEGER NOT NULL "
                     " DEFAULT 0, load_id INTEGER NOT NULL DEFAULT 0, model INTEGER NOT NULL "
                     " DEFAULT -1, node INTEGER NOT NULL DEFAULT -1, gpu INTEGER NOT NULL "
                     " DEFAULT -1, ok INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (run, seq));"
                     /* reversed, so that packing must put them back in order */
                     "INSERT INTO core_events SELECT * FROM ev ORDER BY seq DESC;"
                     "INSERT INTO core_actions SELECT * FROM ac ORDER BY seq DESC, idx DESC;"
                     "PRAGMA user_version = 1;"
                     "COMMIT;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
}

static void test_version_1_migrated_and_merged(void **state)
{
    (void)state;
    char dir[64], path[256], old[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    snprintf(old, sizeof old, "%s/old.db", dir);
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    /* the same version-1 database twice: one opened (migrated in place),
     * one merged into a new database (packed on the way, run 1 -> 2) */
    assert_int_equal(res_open(old, &db, &err), 0);
    record(db, spec);
    res_close(db);
    make_version_1(old);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.copy'", old, old);
    assert_int_equal(system(cmd), 0);

    assert_int_equal(res_open(old, &db, &err), 0);
    sqlite3 *h = res_handle(db);
    assert_int_equal(query_int(h, "PRAGMA user_version"), 2);
    assert_int_equal(query_int(h, "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND "
                                  "name IN ('core_events', 'core_actions')"),
                     2);
    check_run(db, 1);
    res_close(db);

    assert_int_equal(res_open(path, &db, &err), 0);
    record(db, spec); /* run 1 of the output */
    snprintf(old + strlen(old), sizeof old - strlen(old), ".copy");
    struct res_merge_counts c;
    assert_int_equal(res_merge(db, old, &c, &err), 0);
    assert_int_equal(c.added, 1);
    check_run(db, 1);
    check_run(db, 2);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_version_1_migrated_and_merged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_recorder.c - results/recorder.c: opening (WAL, foreign keys, parent
 * folder), the runs row and its life cycle (running until finished; failed,
 * interrupted), rows written across several bursts, bad input refused, and
 * run selection by id or uuid prefix. Prints the recorder's rows/s. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

static void query_text(struct res_db *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, len, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
}

/* Every schema object as "type name sql\n", in name order. */
static void schema_text(sqlite3 *raw, char *out, size_t len)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw,
                                        "SELECT type, name, sql FROM sqlite_master ORDER BY name",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t used = 0;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && used < len)
        used += (size_t)snprintf(out + used, len - used, "%s %s %s\n", sqlite3_column_text(st, 0),
                                 sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
}

static const struct res_run_info sim_info = {"sim", "", "--policy queue=priority", NULL, "", 42};

static void test_open_creates_folder_and_schema(void **state)
{
    (void)state;
    char dir[64], path[256], text[128];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "deeper/still/thaw.db");
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    query_text(db, "PRAGMA journal_mode", text, sizeof text);
    assert_string_equal(text, "wal");
    assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
    /* the twenty tables of schema.sql: runs loads requests instance_events
     * faults gpus core_action_log core_event_log (version 2: packed; the
     * views core_actions, core_events unpack them) metrics metrics_by_model
     * anomalies autoscale_decisions, (version 1) run_params
     * scenario_texts models nodes, load_phases, cold_starts (--record
     * below all), and (the storage ladder) bandwidth_samples load_copies:
     * twenty */
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 20);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
    res_close(db);
    /* reopening applies the schema again harmlessly (IF NOT EXISTS) */
    assert_int_equal(res_open(path, &db, &err), 0);
    int64_t last = -1;
    assert_int_equal(res_last_run(db, &last, &err), 0);
    assert_int_equal(last, 0);
    res_close(db);
    fixture_rmdir(dir);
}

static void test_open_bad_path(void **state)
{
    (void)state;
    struct res_db *db = (struct res_db *)1;
    struct thaw_err err = {0};
    /* a folder cannot be created under a regular file */
    assert_int_equal(res_open("/etc/passwd/x/thaw.db", &db, &err), THAW_EIO);
    assert_null(db);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(res_open("", &db, &err), THAW_EINVAL);
}

/* Someone else's database is refused and left exactly as it was; a file
 * that is not SQLite at all is an I/O error naming it. */
static void test_open_foreign_db(void **state)
{
    (void)state;
    char dir[64], path[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "theirs.db");
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TABLE notes (t TEXT)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    struct res_db *db = (struct res_db *)1;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), THAW_EINVAL);
    assert_null(db);
    assert_non_null(strstr(err.msg, "not a thaw results database"));
    /* still one table: nothing of thaw's schema was added */
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw, "SELECT count(*) FROM sqlite_master", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(raw);

    /* A stranger's table that happens to be called runs: refused with one
     * line naming what is missing, and its schema left byte for byte. */
    char other[256], before[4096], after[4096];
    snprintf(other, sizeof other, "%s/other.db", dir);
    assert_int_equal(sqlite3_open(other, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw,
                     "CREATE TABLE runs (id INTEGER PRIMARY KEY, athlete TEXT, km REAL);"
                     "INSERT INTO runs (athlete, km) VALUES ('ann', 10.5)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    schema_text(raw, before, sizeof before);
    sqlite3_close(raw);
    assert_int_equal(res_open(other, &db, &err), THAW_EINVAL);
    assert_null(db);
    /* runs' first column thaw needs that the stranger lacks is uuid (id is
     * there); one line, no schema dump. */
    char want[512];
    snprintf(want, sizeof want,
             "%s: not a thaw results database (its table runs has no column uuid); give "
             "another --db",
             other);
    assert_string_equal(err.msg, want);
    assert_int_equal(sqlite3_open(other, &raw), SQLITE_OK);
    schema_text(raw, after, sizeof after);
    sqlite3_close(raw);
    assert_string_equal(after, before);
    assert_string_equal(before,
                        "table runs CREATE TABLE runs (id INTEGER PRIMARY KEY, athlete TEXT, "
                        "km REAL)\n");

    /* thaw's own database with a table of the user's added stays usable. */
    char ours[256];
    snprintf(ours, sizeof ours, "%s/ours.db", dir);
    assert_int_equal(res_open(ours, &db, &err), 0);
    assert_int_equal(
        sqlite3_exec(res_handle(db), "CREATE TABLE my_notes (t TEXT)", NULL, NULL, NULL),
        SQLITE_OK);
    res_close(db);
    assert_int_equal(res_open(ours, &db, &err), 0);
    res_close(db);

    char junk[256];
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    FILE *f = fopen(junk, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database\n", f);
    fclose(f);
    assert_int_equal(res_open(junk, &db, &err), THAW_EIO);
    assert_non_null(strstr(err.msg, "junk.db"));
    unlink(junk);
    fixture_rmdir(dir);
}

static void test_run_row(void **state)
{
    (void)state;
    char dir[64], path[256], text[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    int64_t run = 0, run2 = 0;
    assert_int_equal(res_run_begin(db, spec, &sim_info, &run, &err), 0);
    assert_int_equal(run, 1);
    query_text(db, "SELECT status FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, "running");
    query_text(db, "SELECT policy FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text,
                        "queue=priority,placement=locality,eviction=lru,shm=preload,balancer=lru,"
                        "autoscale=off");
    query_text(db, "SELECT version FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, THAW_VERSION);
    assert_int_equal(query_int(db, "SELECT seed FROM runs WHERE id = 1"), 42);
    assert_int_equal(query_int(db, "SELECT length(host) > 0 FROM runs WHERE id = 1"), 1);
    assert_int_equal(query_int(db, "SELECT sweep_id IS NULL FROM runs WHERE id = 1"), 1);
    /* uuid: 32 lower-case hex digits */
    assert_int_equal(query_int(db, "SELECT length(uuid) = 32 AND uuid NOT GLOB '*[^0-9a-f]*' "
                                   "FROM runs WHERE id = 1"),
                     1);
    /* ISO 8601 UTC: 2026-11-25T19:41:44Z */
    assert_int_equal(query_int(db, "SELECT started_at GLOB "
                                   "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T"
                                   "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z' FROM runs WHERE id = 1"),
                     1);
    assert_int_equal(query_int(db, "SELECT finished_at IS NULL FROM runs WHERE id = 1"), 1);
    /* gpus: 3 rows, g2 on n1, total VRAM 3 x 40 */
    assert_int_equal(query_int(db, "SELECT count(*) FROM gpus WHERE run = 1"), 3);
    query_text(db, "SELECT node FROM gpus WHERE run = 1 AND gpu = 2", text, sizeof text);
    assert_string_equal(text, "n1");
    assert_int_equal(query_int(db, "SELECT sum(vram) FROM gpus WHERE run = 1"), 120);

    assert_int_equal(res_run_begin(db, spec, &sim_info, &run2, &err), 0);
    assert_int_equal(run2, 2);
    assert_int_equal(query_int(db, "SELECT count(DISTINCT uuid) FROM runs"), 2);

    /* selection by id and by uuid prefix */
    int64_t got = 0;
    assert_int_equal(res_resolve_run(db, "2", &got, &err), 0);
    assert_int_equal(got, 2);
    query_text(db, "SELECT substr(uuid, 1, 8) FROM runs WHERE id = 1", text, sizeof text);
    assert_int_equal(res_resolve_run(db, text, &got, &err), 0);
    assert_int_equal(got, 1);
    assert_int_equal(res_resolve_run(db, "99", &got, &err), THAW_ENOENT);
    assert_int_equal(res_resolve_run(db, "xyz!", &got, &err), THAW_ENOENT);
    assert_int_equal(res_resolve_run(db, "", &got, &err), THAW_EINVAL);
    int64_t last = 0;
    assert_int_equal(res_last_run(db, &last, &err), 0);
    assert_int_equal(last, 2);

    struct res_run_info bad = sim_info;
    bad.mode = "replay";
    assert_int_equal(res_run_begin(db, spec, &bad, &got, &err), THAW_EINVAL);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* A run whose driver stops before res_run_finish stays 'running', even
 * though its rows reached the file; finishing it later marks it. */
static void test_unfinished_stays_running(void **state)
{
    (void)state;
    char dir[64], path[256], text[64];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    int64_t run;
    assert_int_equal(res_run_begin(db, spec, &sim_info, &run, &err), 0);
    struct res_request_row rq = {1, 0, SEC(1), SEC(1), SEC(2), 1, false};
    assert_int_equal(res_add_request(db, run, spec, &rq, &err), 0);
    res_close(db); /* no finish: the process "died" after writing rows */

    assert_int_equal(res_open(path, &db, &err), 0);
    query_text(db, "SELECT status FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, "running");
    assert_int_equal(query_int(db, "SELECT count(*) FROM requests WHERE run = 1"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM metrics WHERE run = 1"), 0);

    assert_int_equal(res_run_finish(db, run, "interrupted", SEC(2), &err), 0);
    query_text(db, "SELECT status FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, "interrupted");
    assert_int_equal(query_int(db, "SELECT finished_at IS NOT NULL FROM runs WHERE id = 1"), 1);
    /* metrics are computed for interrupted runs too: 1 request served */
    assert_int_equal(query_int(db, "SELECT value FROM metrics WHERE run = 1 AND "
                                   "name = 'requests_served'"),
                     1);

    int64_t run2;
    assert_int_equal(res_run_begin(db, spec, &sim_info, &run2, &err), 0);
    assert_int_equal(res_run_finish(db, run2, "failed", 0, &err), 0);
    query_text(db, "SELECT status FROM runs WHERE id = 2", text, sizeof text);
    assert_string_equal(text, "failed");
    assert_int_equal(res_run_finish(db, run2, "done", 0, &err), THAW_EINVAL);
    assert_int_equal(res_run_finish(db, 77, "complete", 0, &err), THAW_ENOENT);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* Bad rows are refused at the call (indices out of range, bad outcome), or
 * at the burst that writes them (a duplicate id), without losing the other
 * rows of that burst. */
static void test_bad_rows(void **state)
{
    (void)state;
    char dir[64], path[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    int64_t run;
    assert_int_equal(res_run_begin(db, spec, &sim_info, &run, &err), 0);
    struct res_load_row ld = {
        1, 1, 0, 0, CORE_SRC_STORAGE, CORE_REASON_DEMAND, 0, 0, SEC(10), 18, 20, "ok", NULL};
    struct res_load_row bad = ld;
    bad.model = 2;
    assert_int_equal(res_add_load(db, run, spec, &bad, &err), THAW_EINVAL);
    bad = ld;
    bad.gpu = -1;
    assert_int_equal(res_add_load(db, run, spec, &bad, &err), THAW_EINVAL);
    bad = ld;
    bad.outcome = "great";
    assert_int_equal(res_add_load(db, run, spec, &bad, &err), THAW_EINVAL);
    bad.outcome = NULL;
    assert_int_equal(res_add_load(db, run, spec, &bad, &err), THAW_EINVAL);
    assert_int_equal(
        res_add_instance_event(db, run, spec, 1, 0, 0, (enum core_inst_state)9, 0, &err),
        THAW_EINVAL);
    assert_int_equal(res_add_fault(db, run, spec, true, 2, 0, -1, &err), THAW_EINVAL);
    assert_int_equal(res_add_fault(db, run, spec, false, 3, 0, -1, &err), THAW_EINVAL);
    struct core_event ev = {.kind = (enum core_event_kind)40};
    assert_int_equal(res_add_core_event(db, run, 1, &ev, &err), THAW_EINVAL);

    assert_int_equal(res_add_load(db, run, spec, &ld, &err), 0);
    assert_int_equal(res_add_load(db, run, spec, &ld, &err), 0); /* same load_id */
    ld.load_id = 2;
    assert_int_equal(res_add_load(db, run, spec, &ld, &err), 0);
    assert_int_equal(res_flush(db, &err), THAW_EINVAL);
    assert_non_null(strstr(err.msg, "UNIQUE"));
    assert_int_equal(query_int(db, "SELECT count(*) FROM loads WHERE run = 1"), 2);
    /* rows for a run that does not exist break the foreign key */
    ld.load_id = 3;
    assert_int_equal(res_add_load(db, 99, spec, &ld, &err), 0);
    assert_int_equal(res_flush(db, &err), THAW_EINVAL);
    assert_int_equal(query_int(db, "SELECT count(*) FROM loads"), 2);
    assert_int_equal(res_run_finish(db, run, "complete", SEC(10), &err), 0);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* 100,000 requests span five bursts; all arrive, with values intact. Prints
 * the rows/s the recorder reaches (informative, never asserted). */
static void test_many_rows(void **state)
{
    (void)state;
    char dir[64], path[256], text[64];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    int64_t run;
    assert_int_equal(res_run_begin(db, spec, &sim_info, &run, &err), 0);
    const int n = 100000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        /* request i arrives at i ms and takes 1 ms (1.5 ms when cold) */
        bool cold = i % 10 == 0;
        struct res_request_row rq = {(uint64_t)i + 1,
                                     i % 2,
                                     (int64_t)i * 1000000,
                                     (int64_t)i * 1000000,
                                     (int64_t)i * 1000000 + (cold ? 1500000 : 1000000),
                                     (uint64_t)(i % 2) + 1,
                                     cold};
        assert_int_equal(res_add_request(db, run, spec, &rq, &err), 0);
    }
    assert_int_equal(res_run_finish(db, run, "complete", SEC(100), &err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("recorder: %d request rows + metrics in %.3f s = %.0f rows/s\n", n, wall, n / wall);

    assert_int_equal(query_int(db, "SELECT count(*) FROM requests WHERE run = 1"), n);
    assert_int_equal(query_int(db, "SELECT sum(cold) FROM requests WHERE run = 1"), n / 10);
    query_text(db, "SELECT model FROM requests WHERE run = 1 AND request_id = 2", text,
               sizeof text);
    assert_string_equal(text, "m1");
    /* request 50001 (i = 50000) arrived at 50 s */
    assert_int_equal(query_int(db, "SELECT arrived = 50.0 FROM requests WHERE run = 1 AND "
                                   "request_id = 50001"),
                     1);
    query_text(db, "PRAGMA integrity_check", text, sizeof text);
    assert_string_equal(text, "ok");
    query_text(db, "SELECT status FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, "complete");
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* Every row kind lands in its table with the schema's vocabulary. */
static void test_row_kinds(void **state)
{
    (void)state;
    char dir[64], path[256], text[128];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    int64_t run;
    assert_int_equal(res_run_begin(db, spec, &sim_info, &run, &err), 0);
    struct res_load_row ld = {7,      3,      1,  2, CORE_SRC_SHM, CORE_REASON_SCALE_UP,
                              SEC(1), SEC(2), -1, 9, 10,           "cancelled",
                              NULL};
    assert_int_equal(res_add_load(db, run, spec, &ld, &err), 0);
    assert_int_equal(
        res_add_instance_event(db, run, spec, 3, 1, 2, CORE_INST_DRAINING, SEC(4), &err), 0);
    assert_int_equal(res_add_fault(db, run, spec, true, 1, SEC(5), SEC(9), &err), 0);
    struct core_event ev = {CORE_EV_GPU_FAILED, SEC(5), 0, 0, 0, -1, 1, 2, true};
    assert_int_equal(res_add_core_event(db, run, 12, &ev, &err), 0);
    assert_int_equal(res_set_metric(db, run, "custom", 1.5, &err), 0);
    assert_int_equal(res_flush(db, &err), 0);
    query_text(db,
               "SELECT model || ',' || gpu_name || ',' || node || ',' || source || ',' || reason "
               "|| ',' || outcome || ',' || coalesce(finished, 'null') FROM loads",
               text, sizeof text);
    assert_string_equal(text, "m1,g2,n1,shm,scale_up,cancelled,null");
    /* m1 has no deadline */
    assert_int_equal(query_int(db, "SELECT deadline IS NULL FROM loads"), 1);
    query_text(db, "SELECT state || ',' || vram || ',' || t FROM instance_events", text,
               sizeof text);
    assert_string_equal(text, "DRAINING,10,4.0");
    query_text(db, "SELECT kind || ',' || target || ',' || t || ',' || recovered FROM faults", text,
               sizeof text);
    assert_string_equal(text, "node,n1,5.0,9.0");
    query_text(db, "SELECT kind || ',' || t_ns || ',' || node || ',' || gpu FROM core_events", text,
               sizeof text);
    assert_string_equal(text, "GPU_FAILED,5000000000,1,2");
    /* res_run_finish computes the summary metrics and keeps a driver's own
     * metric set before it */
    assert_int_equal(res_run_finish(db, run, "complete", SEC(10), &err), 0);
    assert_int_equal(query_int(db, "SELECT value * 2 FROM metrics WHERE name = 'custom'"), 3);
    assert_int_equal(query_int(db, "SELECT value FROM metrics WHERE name = 'loads_cancelled'"), 1);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

struct writer {
    const char *path;
    const struct core_spec *spec;
    int rc;
};

/* One sweep thread: its own connection, two runs of 25,000 requests. */
static void *write_runs(void *arg)
{
    struct writer *w = arg;
    struct res_db *db;
    struct thaw_err err = {0};
    w->rc = res_open(w->path, &db, &err);
    for (int r = 0; r < 2 && w->rc == 0; r++) {
        int64_t run;
        w->rc = res_run_begin(db, w->spec, &sim_info, &run, &err);
        for (int i = 0; i < 25000 && w->rc == 0; i++) {
            struct res_request_row rq = {(uint64_t)i + 1, 0, SEC(i), SEC(i), SEC(i + 1), 1, false};
            w->rc = res_add_request(db, run, w->spec, &rq, &err);
        }
        if (w->rc == 0) w->rc = res_run_finish(db, run, "complete", SEC(25000), &err);
    }
    if (w->rc) fprintf(stderr, "writer: %s\n", err.msg);
    res_close(db);
    return NULL;
}

/* Four threads writing to one file at once (as `thaw sweep --jobs 4`
 * does): every run and row arrives, each run complete. 4 x 2 runs, 8 x
 * 25,000 requests. */
static void test_concurrent_writers(void **state)
{
    (void)state;
    char dir[64], path[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct writer w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){path, spec, -99};
        assert_int_equal(pthread_create(&th[i], NULL, write_runs, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'complete'"), 8);
    assert_int_equal(query_int(db, "SELECT count(*) FROM requests"), 200000);
    assert_int_equal(query_int(db, "SELECT count(*) FROM metrics WHERE name = 'requests_served' "
                                   "AND value = 25000"),
                     8);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_creates_folder_and_schema),
        cmocka_unit_test(test_open_bad_path),
        cmocka_unit_test(test_open_foreign_db),
        cmocka_unit_test(test_run_row),
        cmocka_unit_test(test_unfinished_stays_running),
        cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_many_rows),
        cmocka_unit_test(test_row_kinds),
        cmocka_unit_test(test_concurrent_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_anomalies.c - results/anomalies.c and the end-of-run metrics of
 * metrics.c (issue 11): for each anomaly kind one run that produces it and
 * one that does not, and the metrics of loads still queued or in flight and
 * of requests never served, each value derived by hand. Rows are written
 * through the recorder on the fixture (m0 vram 20 deadline 25 s, m1 vram
 * 10); every run lasts 100 s. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"

static const struct res_run_info sim_info = {"sim", "", "", NULL, "", 1};

static void load(struct res_db *db, int64_t run, const struct core_spec *spec, uint64_t id,
                 int model, enum core_reason reason, double enq, double start, double fin,
                 const char *outcome)
{
    struct thaw_err err = {0};
    struct res_load_row r = {id,
                             start < 0 ? 0 : id,
                             model,
                             start < 0 ? -1 : 0,
                             CORE_SRC_STORAGE,
                             reason,
                             SEC(enq),
                             start < 0 ? -1 : SEC(start),
                             fin < 0 ? -1 : SEC(fin),
                             18,
                             spec->models[model].vram_bytes,
                             outcome, NULL};
    assert_int_equal(res_add_load(db, run, spec, &r, &err), 0);
}

static void req(struct res_db *db, int64_t run, const struct core_spec *spec, uint64_t id,
                int model, double arrived, double dispatched, double finished, bool cold)
{
    struct thaw_err err = {0};
    struct res_request_row r = {id,
                                model,
                                SEC(arrived),
                                dispatched < 0 ? -1 : SEC(dispatched),
                                finished < 0 ? -1 : SEC(finished),
                                dispatched < 0 ? 0 : 1,
                                cold};
    assert_int_equal(res_add_request(db, run, spec, &r, &err), 0);
}

static int count_kind(struct res_db *db, int64_t run, const char *kind, double *t)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(db),
                                        "SELECT count(*), min(t), min(detail) FROM anomalies "
                                        "WHERE run = ? AND kind = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    if (t) *t = sqlite3_column_double(st, 1);
    if (n) {
        /* every detail names its model */
        const char *d = (const char *)sqlite3_column_text(st, 2);
        assert_non_null(d);
        assert_non_null(strstr(d, "model m"));
    }
    sqlite3_finalize(st);
    return n;
}

static double metric(struct res_db *db, int64_t run, const char *table_model, const char *name)
{
    sqlite3_stmt *st;
    const char *sql = table_model
                          ? "SELECT value FROM metrics_by_model WHERE run = ?1 AND name = ?2 AND "
                            "model = ?3"
                          : "SELECT value FROM metrics WHERE run = ?1 AND name = ?2";
    assert_int_equal(sqlite3_prepare_v2(res_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (table_model) sqlite3_bind_text(st, 3, table_model, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) fail_msg("metric %s missing", name);
    double v = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* One case: rows written by fill(variant), then the kind counted. */
struct anomaly_case {
    const char *kind;
    void (*fill)(struct res_db *, int64_t, const struct core_spec *, bool produce);
    double t; /* the anomaly's time when produced */
};

/* m0's request at 1 s: never dispatched (produce) or dispatched at 2 s. */
static void fill_never_served(struct res_db *db, int64_t run, const struct core_spec *sp, bool p)
{
    req(db, run, sp, 1, 0, 1, p ? -1 : 2, p ? -1 : 3, false);
}

/* m0's demand load enqueued at 3 s: never started, or started and ok. */
static void fill_queued(struct res_db *db, int64_t run, const struct core_spec *sp, bool p)
{
    if (p)
        load(db, run, sp, 1, 0, CORE_REASON_DEMAND, 3, -1, -1, "queued");
    else
        load(db, run, sp, 1, 0, CORE_REASON_DEMAND, 3, 3, 8, "ok");
}

/* m1 (priority 2, vram 10) waits from 0 s and starts at 10 s; m0 (priority
 * 0, vram 20 >= 10: m1 fit where it went) starts at 5 s (produce: the
 * inversion at 5 s) or at 12 s, after m1 started (none). */
static void fill_inversion(struct res_db *db, int64_t run, const struct core_spec *sp, bool p)
{
    load(db, run, sp, 1, 1, CORE_REASON_DEMAND, 0, 10, 15, "ok");
    load(db, run, sp, 2, 0, CORE_REASON_DEMAND, 4, p ? 5 : 12, p ? 9 : 16, "ok");
}

/* m0 enqueued at 0 s starts at 10 s; m1 (same priority 0; the spec's m1 is
 * at priority 0 in this case) enqueued after it at 2 s starts at 3 s, before
 * it (produce: head of line, t = 0, its enqueue) or at 11 s (none). */
static void fill_hol(struct res_db *db, int64_t run, const struct core_spec *sp, bool p)
{
    load(db, run, sp, 1, 0, CORE_REASON_DEMAND, 0, 10, 20, "ok");
    load(db, run, sp, 2, 1, CORE_REASON_DEMAND, 2, p ? 3 : 11, p ? 6 : 14, "ok");
}

/* m0 (deadline 25 s) enqueued at 0 s finishes at 30 s (missed, due at 25 s)
 * or at 10 s (met). */
static void fill_deadline(struct res_db *db, int64_t run, const struct core_spec *sp, bool p)
{
    load(db, run, sp, 1, 0, CORE_REASON_DEMAND, 0, 0, p ? 30 : 10, "ok");
}

/* m0's scale_up load starts at 20 s. Request 1 waited 1 -> 2 s (not at
 * 20 s); request 2 arrives at 15 s and is dispatched at 30 s (none: it waits
 * at 20 s) or not present (produce: nobody waits at 20 s, t = 20). */
static void fill_stale(struct res_db *db, int64_t run, const struct core_spec *sp, bool p)
{
    load(db, run, sp, 1, 0, CORE_REASON_SCALE_UP, 18, 20, 30, "ok");
    req(db, run, sp, 1, 0, 1, 2, 3, false);
    if (!p) req(db, run, sp, 2, 0, 15, 30, 31, true);
}

static const struct anomaly_case cases[] = {
    {"never_served", fill_never_served, 1},    {"queued_at_end", fill_queued, 3},
    {"priority_inversion", fill_inversion, 5}, {"head_of_line", fill_hol, 0},
    {"deadline_miss", fill_deadline, 25},      {"stale_scale_up", fill_stale, 20},
};

static void test_each_kind(void **state)
{
    (void)state;
    char dir[64], path[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    spec->models[1].priority = 2;
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* head_of_line needs equal priorities (a higher one may pass) */
        spec->models[1].priority = !strcmp(cases[i].kind, "head_of_line") ? 0 : 2;
        for (int produce = 0; produce < 2; produce++) {
            int64_t run;
            assert_int_equal(res_run_begin(db, spec, &sim_info, &run, &err), 0);
            cases[i].fill(db, run, spec, produce);
            assert_int_equal(res_run_finish(db, run, "complete", SEC(100), &err), 0);
            double t = -1;
            int n = count_kind(db, run, cases[i].kind, &t);
            if (n != produce)
                fail_msg("%s (%s): %d anomalies", cases[i].kind, produce ? "produce" : "none", n);
            if (produce && fabs(t - cases[i].t) > 1e-9)
                fail_msg("%s at %g, expected %g", cases[i].kind, t, cases[i].t);
        }
    }
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* The end-of-run rows and metrics (run of 100 s):
 *   L1 m0 standby   enq 0  start 0   fin 10  ok
 *   L2 m1 demand    enq 50 never started     queued
 *   L3 m0 scale_up  enq 60 start 60          in_flight
 *   L4 m1 standby   enq 0  start 0   fin 5   ok
 *   r1 m0 arrived 2 dispatched 10 finished 12 cold
 *   r2 m1 arrived 40 never dispatched, cold
 *   r3 m0 arrived 70 dispatched 70, in service at the end
 * Cold starts: L1 (standby, but r1 waited [2, 10) inside [0, 10]): 10 s;
 * L2 (demand, unfinished): 100 - 50 = 50 s; L3: no m0 request waits in
 * [60, 100] (r3 served at once): not one; L4: r2 waits [40, 100), not in
 * [0, 5]: not one. So count 2, mean 30, p50 (h = 0.5) 30, unfinished 1.
 * Requests: served 1 (r1), unserved 1 (r2), in service 1 (r3), cold 2 (r1,
 * r2); m1's only request never dispatched: models_never_served 1. Loads by
 * outcome: ok 2, queued 1, in flight 1. Per model m1: cold starts 1 (L2,
 * 50 s), never served 1, unserved 1; m0: cold starts 1 (L1, 10 s). */
static void test_end_of_run_metrics(void **state)
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
    load(db, run, spec, 1, 0, CORE_REASON_STANDBY, 0, 0, 10, "ok");
    load(db, run, spec, 2, 1, CORE_REASON_DEMAND, 50, -1, -1, "queued");
    load(db, run, spec, 3, 0, CORE_REASON_SCALE_UP, 60, 60, -1, "in_flight");
    load(db, run, spec, 4, 1, CORE_REASON_STANDBY, 0, 0, 5, "ok");
    req(db, run, spec, 1, 0, 2, 10, 12, true);
    req(db, run, spec, 2, 1, 40, -1, -1, true);
    req(db, run, spec, 3, 0, 70, 70, -1, false);
    assert_int_equal(res_run_finish(db, run, "complete", SEC(100), &err), 0);
    assert_true(fabs(metric(db, run, NULL, "cold_start_count") - 2) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "cold_start_mean_s") - 30) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "cold_start_p50_s") - 30) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "cold_start_unfinished") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "requests_served") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "requests_unserved") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "requests_in_service_at_end") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "requests_cold") - 2) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "models_never_served") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "loads_ok") - 2) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "loads_queued_at_end") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, NULL, "loads_in_flight_at_end") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, "m1", "cold_start_count") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, "m1", "cold_start_mean_s") - 50) < 1e-9);
    assert_true(fabs(metric(db, run, "m1", "models_never_served") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, "m1", "requests_unserved") - 1) < 1e-9);
    assert_true(fabs(metric(db, run, "m0", "cold_start_mean_s") - 10) < 1e-9);
    assert_true(fabs(metric(db, run, "m0", "models_never_served") - 0) < 1e-9);
    /* the unstarted load's row: no start, no GPU, no source */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(db),
                                        "SELECT started IS NULL, gpu, source IS NULL FROM loads "
                                        "WHERE outcome = 'queued'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_int_equal(sqlite3_column_int(st, 1), -1);
    assert_int_equal(sqlite3_column_int(st, 2), 1);
    sqlite3_finalize(st);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* A database from before (loads.started NOT NULL, no priority column) is
 * rebuilt when opened: its row is kept and an unstarted load fits. */
static void test_old_loads_table_migrates(void **state)
{
    (void)state;
    char dir[64], path[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "old.db");
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(
            raw,
            "CREATE TABLE runs (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, mode "
            "TEXT NOT NULL, scenario TEXT NOT NULL, scenario_sha256 TEXT NOT NULL, "
            "policy TEXT NOT NULL, overrides TEXT NOT NULL DEFAULT '', seed INTEGER NOT "
            "NULL, host TEXT NOT NULL, version TEXT NOT NULL, backend TEXT NOT NULL "
            "DEFAULT '', sweep_id TEXT, params TEXT NOT NULL DEFAULT '', started_at "
            "TEXT NOT NULL, finished_at TEXT, duration_s REAL, status TEXT NOT NULL);"
            "CREATE TABLE loads (run INTEGER NOT NULL, load_id INTEGER NOT NULL, model "
            "TEXT NOT NULL, instance INTEGER NOT NULL, gpu INTEGER NOT NULL, gpu_name "
            "TEXT NOT NULL, node TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT "
            "NULL, enqueued REAL NOT NULL, started REAL NOT NULL, finished REAL, bytes "
            "INTEGER NOT NULL, vram INTEGER NOT NULL, deadline REAL, outcome TEXT NOT "
            "NULL, PRIMARY KEY (run, load_id));"
            "INSERT INTO runs VALUES (1, 'u1', 'sim', 's.yaml', '0', 'p', '', 1, 'h', 'v', "
            "'', NULL, '', '2026', NULL, 10, 'complete');"
            "INSERT INTO loads VALUES (1, 1, 'm0', 1, 0, 'g0', 'n0', 'storage', "
            "'demand', 0, 0, 10, 18, 20, NULL, 'ok');",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(raw);
    struct res_db *db;
    struct thaw_err err = {0};
    if (res_open(path, &db, &err) != 0) fail_msg("open: %s", err.msg);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(db),
                                        "SELECT count(*), sum(priority IS NULL) FROM loads", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_int_equal(sqlite3_column_int(st, 1), 1);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(res_handle(db),
                                  "INSERT INTO loads (run, load_id, model, instance, gpu, "
                                  "gpu_name, node, reason, enqueued, bytes, vram, outcome) "
                                  "VALUES (1, 2, 'm1', 0, -1, '', '', 'demand', 3, 9, 10, "
                                  "'queued')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    res_close(db);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_kind),
        cmocka_unit_test(test_end_of_run_metrics),
        cmocka_unit_test(test_old_loads_table_migrates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

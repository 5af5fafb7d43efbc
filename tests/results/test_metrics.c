/* test_metrics.c - results/metrics.c: every summary metric on synthetic rows
 * of the fixture (2 nodes, 3 GPUs of 40 bytes, m0 vram 20 deadline 25 s,
 * m1 vram 10), with each expected value derived by hand in a comment; the
 * NULLs of a run without data; the makespan fallback to all loads. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"

static const struct res_run_info sim_info = {"sim", "", "", NULL, "", 1};

/* The metric's value; *is_null set when stored NULL; fails when absent. */
static double metric(struct res_db *db, int64_t run, const char *name, bool *is_null)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(db),
                                        "SELECT value FROM metrics WHERE run = ? AND name = ?", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) fail_msg("metric %s missing", name);
    *is_null = sqlite3_column_type(st, 0) == SQLITE_NULL;
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void expect(struct res_db *db, int64_t run, const char *name, double want)
{
    bool is_null;
    double got = metric(db, run, name, &is_null);
    if (is_null) fail_msg("%s is NULL, expected %.6f", name, want);
    if (fabs(got - want) > 1e-9 * (1 + fabs(want)))
        fail_msg("%s = %.9f, expected %.9f", name, got, want);
}

static void expect_null(struct res_db *db, int64_t run, const char *name)
{
    bool is_null;
    double got = metric(db, run, name, &is_null);
    if (!is_null) fail_msg("%s = %.9f, expected NULL", name, got);
}

static void add_load(struct res_db *db, int64_t run, const struct core_spec *spec, uint64_t id,
                     int model, int gpu, enum core_source src, enum core_reason reason, double enq,
                     double start, double fin, const char *outcome)
{
    struct thaw_err err = {0};
    struct res_load_row r = {
        id, id, model,  gpu, src, reason, SEC(enq), SEC(start), fin < 0 ? -1 : SEC(fin),
        18, 20, outcome, NULL};
    assert_int_equal(res_add_load(db, run, spec, &r, &err), 0);
}

static void add_req(struct res_db *db, int64_t run, const struct core_spec *spec, uint64_t id,
                    double arrived, double finished, bool cold)
{
    struct thaw_err err = {0};
    struct res_request_row r = {id,
                                0,
                                SEC(arrived),
                                finished < 0 ? -1 : SEC(arrived),
                                finished < 0 ? -1 : SEC(finished),
                                finished < 0 ? 0 : 1,
                                cold};
    assert_int_equal(res_add_request(db, run, spec, &r, &err), 0);
}

static void add_ev(struct res_db *db, int64_t run, const struct core_spec *spec, uint64_t inst,
                   int model, int gpu, enum core_inst_state st, double t)
{
    struct thaw_err err = {0};
    assert_int_equal(res_add_instance_event(db, run, spec, inst, model, gpu, st, SEC(t), &err), 0);
}

/* The scenario of the rows (times in seconds, run duration 100 s):
 *
 * loads  id model gpu source reason   enq start fin  outcome
 *        1  m0    g0  storage demand   0   0    10   ok
 *        2  m1    g1  shm     demand   0   5    20   ok
 *        3  m0    g2  storage failover 10  10   40   ok
 *        4  m1    g0  shm     failover 20  20   60   ok
 *        5  m0    g1  storage prewarm  0   0    5    ok
 *        6  m1    g2  storage demand   50  50   -    failed
 *
 * requests (model m0)  arrived finished cold:  1: 0 12 cold, 2: 1 3 warm,
 *        3: 2 6 warm, 4: 5 25 cold, 5: 7 never
 *
 * instances (vram m0 = 20, m1 = 10):
 *        i1 m0 g0: LOADING 0, READY 10, FAILED 30
 *        i2 m1 g1: LOADING 5, READY 20, FAILED 95
 *        i3 m0 g2: LOADING 30, READY 45, FAILED 70
 *        i4 m1 g2: LOADING 40, READY 50, FAILED 70
 *        i5 m0 g1: LOADING 70, READY 90, FAILED 95
 * faults: gpu g0 at 30; node n1 (g2) at 70; gpu g1 at 95. */
static void fill_run(struct res_db *db, int64_t run, const struct core_spec *spec)
{
    add_load(db, run, spec, 1, 0, 0, CORE_SRC_STORAGE, CORE_REASON_DEMAND, 0, 0, 10, "ok");
    add_load(db, run, spec, 2, 1, 1, CORE_SRC_SHM, CORE_REASON_DEMAND, 0, 5, 20, "ok");
    add_load(db, run, spec, 3, 0, 2, CORE_SRC_STORAGE, CORE_REASON_FAILOVER, 10, 10, 40, "ok");
    add_load(db, run, spec, 4, 1, 0, CORE_SRC_SHM, CORE_REASON_FAILOVER, 20, 20, 60, "ok");
    add_load(db, run, spec, 5, 0, 1, CORE_SRC_STORAGE, CORE_REASON_PREWARM, 0, 0, 5, "ok");
    add_load(db, run, spec, 6, 1, 2, CORE_SRC_STORAGE, CORE_REASON_DEMAND, 50, 50, -1, "failed");

    add_req(db, run, spec, 1, 0, 12, true);
    add_req(db, run, spec, 2, 1, 3, false);
    add_req(db, run, spec, 3, 2, 6, false);
    add_req(db, run, spec, 4, 5, 25, true);
    add_req(db, run, spec, 5, 7, -1, false);

    /* recorded in time order, as a driver does */
    add_ev(db, run, spec, 1, 0, 0, CORE_INST_LOADING, 0);
    add_ev(db, run, spec, 2, 1, 1, CORE_INST_LOADING, 5);
    add_ev(db, run, spec, 1, 0, 0, CORE_INST_READY, 10);
    add_ev(db, run, spec, 2, 1, 1, CORE_INST_READY, 20);
    add_ev(db, run, spec, 1, 0, 0, CORE_INST_FAILED, 30);
    add_ev(db, run, spec, 3, 0, 2, CORE_INST_LOADING, 30);
    add_ev(db, run, spec, 4, 1, 2, CORE_INST_LOADING, 40);
    add_ev(db, run, spec, 3, 0, 2, CORE_INST_READY, 45);
    add_ev(db, run, spec, 4, 1, 2, CORE_INST_READY, 50);
    add_ev(db, run, spec, 3, 0, 2, CORE_INST_FAILED, 70);
    add_ev(db, run, spec, 4, 1, 2, CORE_INST_FAILED, 70);
    add_ev(db, run, spec, 5, 0, 1, CORE_INST_LOADING, 70);
    add_ev(db, run, spec, 5, 0, 1, CORE_INST_READY, 90);
    add_ev(db, run, spec, 2, 1, 1, CORE_INST_FAILED, 95);
    add_ev(db, run, spec, 5, 0, 1, CORE_INST_FAILED, 95);

    struct thaw_err err = {0};
    assert_int_equal(res_add_fault(db, run, spec, false, 0, SEC(30), -1, &err), 0);
    assert_int_equal(res_add_fault(db, run, spec, true, 1, SEC(70), -1, &err), 0);
    assert_int_equal(res_add_fault(db, run, spec, false, 1, SEC(95), -1, &err), 0);
}

static void test_all_metrics(void **state)
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
    fill_run(db, run, spec);
    assert_int_equal(res_run_finish(db, run, "complete", SEC(100), &err), 0);

    /* Cold starts = demand/failover loads finished ok, fin - enq: loads 1-4
     * give 10, 20, 30, 40 (5 is prewarm, 6 failed). Mean 25. Type 7 with
     * n = 4: h = 3p. p50: h = 1.5 -> 20 + 0.5*10 = 25; p95: h = 2.85 ->
     * 30 + 0.85*10 = 38.5; p99: h = 2.97 -> 30 + 0.97*10 = 39.7. */
    expect(db, run, "cold_start_mean_s", 25);
    expect(db, run, "cold_start_p50_s", 25);
    expect(db, run, "cold_start_p95_s", 38.5);
    expect(db, run, "cold_start_p99_s", 39.7);
    expect(db, run, "cold_start_count", 4);
    /* Makespan over demand/failover loads (1,2,3,4,6): first enqueue 0, last
     * ok finish 60 (load 6 failed) -> 60. */
    expect(db, run, "makespan_s", 60);
    /* shm loads 2 and 4 of 6 started loads */
    expect(db, run, "shm_hit_rate", 2.0 / 6.0);
    /* Deadline 25 s applies to m0's loads 1, 3, 5: load 1 took 10 s, load 5
     * 5 s, load 3 30 s > 25 -> 1 miss of 3. */
    expect(db, run, "deadline_miss_rate", 1.0 / 3.0);
    /* Finished requests' latencies: 12, 2, 4, 20 -> sorted 2, 4, 12, 20.
     * p50: h = 1.5 -> 4 + 0.5*8 = 8; p99: h = 2.97 -> 12 + 0.97*8 = 19.76.
     * Cold 12, 20: p50 h = 0.5 -> 16; p99 h = 0.99 -> 12 + 0.99*8 = 19.92.
     * Warm 2, 4: p50 3; p99 2 + 0.99*2 = 3.98. Served 4; req 5 was never
     * dispatched: unserved 1, none in service at the end; cold: 1 and 4.
     * m1 has no request, m0 has served ones: no model never served. */
    expect(db, run, "request_p50_s", 8);
    expect(db, run, "request_p99_s", 19.76);
    expect(db, run, "request_cold_p50_s", 16);
    expect(db, run, "request_cold_p99_s", 19.92);
    expect(db, run, "request_warm_p50_s", 3);
    expect(db, run, "request_warm_p99_s", 3.98);
    expect(db, run, "requests_served", 4);
    expect(db, run, "requests_unserved", 1);
    expect(db, run, "requests_in_service_at_end", 0);
    expect(db, run, "requests_cold", 2);
    expect(db, run, "models_never_served", 0);
    /* Recovery pairs (fault, model alive on the failed GPUs just before):
     *  g0 at 30: i1 (m0) was READY; no other m0 READY at 30; next m0 READY
     *            is i3 at 45 -> 15.
     *  n1 at 70: i3 (m0) and i4 (m1) on g2. m1 has i2 READY on g1 at 70 ->
     *            0 (a standby covers it); m0: next READY i5 at 90 -> 20.
     *  g1 at 95: i2 (m1) and i5 (m0); no READY after 95 -> 2 unrecovered.
     * Mean (15 + 0 + 20) / 3 = 11.667, max 20, 3 recovered. */
    expect(db, run, "recovery_mean_s", 35.0 / 3.0);
    expect(db, run, "recovery_max_s", 20);
    expect(db, run, "recovery_count", 3);
    expect(db, run, "recovery_unrecovered", 2);
    /* Reserved VRAM x time (from first LOADING to FAILED):
     *  i1 20*(30-0) = 600, i2 10*(95-5) = 900, i3 20*(70-30) = 800,
     *  i4 10*(70-40) = 300, i5 20*(95-70) = 500; sum 3100.
     *  Total VRAM 3*40 = 120 over 100 s -> 3100 / 12000 = 0.258333. */
    expect(db, run, "vram_util_mean", 3100.0 / 12000.0);
    expect(db, run, "loads_ok", 5);
    expect(db, run, "loads_failed", 1);
    expect(db, run, "loads_cancelled", 0);

    /* Every listed metric is stored, and recomputing gives the same. */
    for (const char *const *n = res_metric_names(); *n; n++) {
        bool is_null;
        metric(db, run, *n, &is_null);
    }
    assert_int_equal(res_metrics_compute(db, run, &err), 0);
    expect(db, run, "cold_start_p95_s", 38.5);
    assert_int_equal(res_metrics_compute(db, 5, &err), THAW_ENOENT);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* A run without rows: every latency, rate and time is NULL; counts are 0;
 * recovery counts are NULL (no fault to recover from). */
static void test_no_data_is_null(void **state)
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
    assert_int_equal(res_run_finish(db, run, "complete", 0, &err), 0);
    static const char *const nulls[] = {
        "cold_start_mean_s",    "cold_start_p50_s",   "cold_start_p95_s",   "cold_start_p99_s",
        "makespan_s",           "shm_hit_rate",       "deadline_miss_rate", "request_p50_s",
        "request_p99_s",        "request_cold_p50_s", "request_cold_p99_s", "request_warm_p50_s",
        "request_warm_p99_s",   "recovery_mean_s",    "recovery_max_s",     "recovery_count",
        "recovery_unrecovered", "vram_util_mean"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        expect_null(db, run, nulls[i]);
    expect(db, run, "cold_start_count", 0);
    expect(db, run, "requests_served", 0);
    expect(db, run, "requests_unserved", 0);
    expect(db, run, "requests_in_service_at_end", 0);
    expect(db, run, "models_never_served", 0);
    expect(db, run, "loads_ok", 0);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

/* Makespan falls back to all loads when no load is demand/failover: two
 * prewarm loads enqueued at 2 and 3, finished at 7 and 12 -> 12 - 2 = 10.
 * One cold start (n = 1): every percentile equals it. The duration is 0, so
 * VRAM utilisation runs to the latest row time: i1 (m0, 20 bytes) reserved
 * from 2 to 12 (the end) -> 20*10 / (120*12) = 0.138889. */
static void test_fallbacks(void **state)
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
    add_load(db, run, spec, 1, 0, 0, CORE_SRC_STORAGE, CORE_REASON_PREWARM, 2, 2, 7, "ok");
    add_load(db, run, spec, 2, 1, 1, CORE_SRC_STORAGE, CORE_REASON_STANDBY, 3, 3, 12, "ok");
    add_ev(db, run, spec, 1, 0, 0, CORE_INST_LOADING, 2);
    add_ev(db, run, spec, 1, 0, 0, CORE_INST_READY, 7);
    assert_int_equal(res_run_finish(db, run, "complete", 0, &err), 0);
    expect(db, run, "makespan_s", 10);
    expect_null(db, run, "cold_start_mean_s");
    expect(db, run, "vram_util_mean", 200.0 / (120.0 * 12.0));

    assert_int_equal(res_run_begin(db, spec, &sim_info, &run, &err), 0);
    add_load(db, run, spec, 1, 0, 0, CORE_SRC_STORAGE, CORE_REASON_DEMAND, 1, 1, 8.5, "ok");
    assert_int_equal(res_run_finish(db, run, "complete", SEC(10), &err), 0);
    expect(db, run, "cold_start_mean_s", 7.5);
    expect(db, run, "cold_start_p50_s", 7.5);
    expect(db, run, "cold_start_p99_s", 7.5);
    expect(db, run, "makespan_s", 7.5);
    /* a deadline of 25 s, met */
    expect(db, run, "deadline_miss_rate", 0);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

static void test_metric_names(void **state)
{
    (void)state;
    assert_int_equal(res_metric_higher_is_better("shm_hit_rate"), 1);
    assert_int_equal(res_metric_higher_is_better("vram_util_mean"), 1);
    assert_int_equal(res_metric_higher_is_better("cold_start_p99_s"), 0);
    assert_int_equal(res_metric_higher_is_better("deadline_miss_rate"), 0);
    assert_int_equal(res_metric_higher_is_better("bogus"), -1);
    assert_int_equal(res_metric_higher_is_better(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_metrics),
        cmocka_unit_test(test_no_data_is_null),
        cmocka_unit_test(test_fallbacks),
        cmocka_unit_test(test_metric_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

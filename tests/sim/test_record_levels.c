/* test_record_levels.c - one run recorded at each level (--record all,
 * loads, summary) gives the same metrics, per-model metrics, anomalies
 * (stale_scale_up aside: it needs every request's wait, results.h) and
 * cold-start latencies, to the last bit: below `all` they are computed while
 * the run runs (results/stream.c) instead of from the request rows, and
 * these scenarios stay under the 8192 latencies per set that the stream
 * keeps exactly. Each level writes only its own rows. */
#include "sim_test_util.h"

/* Every metric, per-model metric and anomaly of run, one line each. */
static char *metrics_text(struct simt *t, int64_t run)
{
    static const char *const sql[] = {
        "SELECT name, quote(value) FROM metrics WHERE run = ?1 ORDER BY name",
        "SELECT model, name, quote(value) FROM metrics_by_model WHERE run = ?1 ORDER BY 1, 2",
        ("SELECT kind, model, quote(t), detail FROM anomalies WHERE run = ?1 AND kind != "
         "'stale_scale_up' ORDER BY seq")};
    sqlite3 *h = res_handle(t->db);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    for (size_t q = 0; q < sizeof sql / sizeof *sql; q++) {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(h, sql[q], -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_int64(st, 1, run);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *v = sqlite3_column_text(st, c);
                fprintf(f, "%s|", v ? (const char *)v : "NULL");
            }
            fputc('\n', f);
        }
        sqlite3_finalize(st);
    }
    fclose(f);
    return buf;
}

static double rows_of(struct simt *t, int64_t run, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run = ?1", table);
    return simt_num(t, run, sql);
}

static void same_at_every_level(const char *scenario)
{
    struct simt t;
    simt_open(&t);
    struct core_spec *spec = simt_load(scenario, NULL);
    int64_t run[3];
    for (int level = 0; level < 3; level++) {
        res_set_record(t.db, (enum res_record)level);
        run[level] = simt_run(&t, spec, NULL);
    }
    char *all = metrics_text(&t, run[RES_RECORD_ALL]);
    assert_true(strlen(all) > 0);
    for (int level = 1; level < 3; level++) {
        char *got = metrics_text(&t, run[level]);
        if (strcmp(all, got))
            fail_msg("%s: --record %s metrics differ from --record all:\n%s\n---\n%s", scenario,
                     res_record_name((enum res_record)level), all, got);
        free(got);
    }
    /* `summary` into an in-memory database, as sim --no-record runs it
     * (the recorder keeps the loads there instead of in a second scratch
     * database): the same metrics and anomalies, and no per-load rows of
     * the drivers' (load_phases are written from `loads` on). */
    /* A second summary run on the same handle reuses the scratch database
     * of the first, emptied of its rows: the same metrics again. */
    res_set_record(t.db, RES_RECORD_SUMMARY);
    int64_t again = simt_run(&t, spec, NULL);
    char *second = metrics_text(&t, again);
    if (strcmp(all, second))
        fail_msg("%s: a second summary run differs from --record all:\n%s\n---\n%s", scenario, all,
                 second);
    free(second);
    struct simt mem = {.db = NULL};
    struct thaw_err merr = {0};
    assert_int_equal(res_open(":memory:", &mem.db, &merr), 0);
    res_set_record(mem.db, RES_RECORD_SUMMARY);
    int64_t mrun = simt_run(&mem, spec, NULL);
    char *got = metrics_text(&mem, mrun);
    if (strcmp(all, got))
        fail_msg("%s: summary in memory differs from --record all:\n%s\n---\n%s", scenario, all,
                 got);
    free(got);
    assert_true(rows_of(&mem, mrun, "load_phases") == 0);
    assert_true(rows_of(&mem, mrun, "requests") == 0);
    res_close(mem.db);
    free(all);
    /* The cold-start latencies plan and the cdf chart read: from the rows
     * at `all`, from cold_starts below it; the same values. */
    double *v[3];
    size_t n[3];
    struct thaw_err err = {0};
    for (int level = 0; level < 3; level++)
        assert_int_equal(res_cold_starts(t.db, run[level], &v[level], &n[level], &err), 0);
    assert_true(n[0] > 0);
    for (int level = 1; level < 3; level++) {
        assert_int_equal(n[level], n[0]);
        assert_memory_equal(v[level], v[0], n[0] * sizeof *v[0]);
    }
    for (int level = 0; level < 3; level++)
        free(v[level]);
    /* What each level writes: requests and core events only at all; loads
     * and instance events from loads on; faults at every level. */
    /* every request has a row at all (chained-cold-start has none) */
    assert_true(rows_of(&t, run[0], "requests") ==
                simt_metric(&t, run[0], "requests_served") +
                    simt_metric(&t, run[0], "requests_unserved") +
                    simt_metric(&t, run[0], "requests_in_service_at_end"));
    assert_true(rows_of(&t, run[0], "core_events") > 0);
    assert_true(rows_of(&t, run[0], "core_actions") > 0);
    assert_true(rows_of(&t, run[0], "cold_starts") == 0);
    for (int level = 1; level < 3; level++) {
        assert_true(rows_of(&t, run[level], "requests") == 0);
        assert_true(rows_of(&t, run[level], "core_events") == 0);
        assert_true(rows_of(&t, run[level], "core_actions") == 0);
        assert_true(rows_of(&t, run[level], "cold_starts") == (double)n[0]);
        assert_true(rows_of(&t, run[level], "faults") == rows_of(&t, run[0], "faults"));
        assert_true(
            simt_num(&t, run[level], "SELECT status = 'complete' FROM runs WHERE id = ?1") == 1);
    }
    assert_true(rows_of(&t, run[1], "loads") == rows_of(&t, run[0], "loads"));
    assert_true(rows_of(&t, run[1], "instance_events") == rows_of(&t, run[0], "instance_events"));
    assert_true(rows_of(&t, run[2], "loads") == 0);
    assert_true(rows_of(&t, run[2], "instance_events") == 0);
    core_spec_free(spec);
    simt_close(&t);
}

/* Chained cold starts with deadlines (cold_start_*, deadline_miss_rate,
 * head_of_line and deadline_miss anomalies). */
static void test_chained(void **state)
{
    (void)state;
    same_at_every_level("scenarios/chained-cold-start.yaml");
}

/* A GPU fault with a standby (recovery_*, requeued requests, a failover
 * load: faults rows at every level). */
static void test_failover(void **state)
{
    (void)state;
    same_at_every_level("scenarios/failover-standby.yaml");
}

/* Contention and a fault with a load still queued at the end (an
 * unfinished cold start measured to the end: queued_at_end). */
static void test_contention_fault(void **state)
{
    (void)state;
    same_at_every_level("tests/sim/contention-fault.yaml");
}

/* The autoscaler's scale-up loads are cold only when a request waited
 * during them: the stream's classification, not the reason, decides. */
static void test_autoscale(void **state)
{
    (void)state;
    same_at_every_level("tests/e2e/data/autoscale.yaml");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chained),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_contention_fault),
        cmocka_unit_test(test_autoscale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

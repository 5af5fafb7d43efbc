/* test_rank.c - results/rank.c: order statistics found by radix selection
 * (values beyond the set's cap) are the ones sorting gives, bit for bit,
 * and so are the request-latency metrics metrics.c computes with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <sqlite3.h>

#include "fixture.h"
#include "results_internal.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Values 3, 1, 2, 2, 5 with a cap of 2 (ranked, not kept). Sorted: 1 2 2 3
 * 5. p50: index 0.5 4 = 2, the third, 2. p99: index 3.96, lhs 3, delta
 * 0.96: (1 - 0.96) 3 + 0.96 5 = 4.92 as doubles compute it, which is what
 * gsl gives on the sorted array. p0 is the least, p1 the greatest. */
static void test_small_by_hand(void **state)
{
    (void)state;
    double v[5] = {3, 1, 2, 2, 5}, sorted[5] = {1, 2, 2, 3, 5};
    double ps[4] = {0.5, 0.99, 0, 1};
    struct res_rank r;
    res_rank_init(&r, 2);
    for (int i = 0; i < 5; i++)
        assert_int_equal(res_rank_add(&r, v[i]), 0);
    assert_true(r.over);
    assert_int_equal(res_rank_want(&r, ps, 4), 0);
    int passes = 0;
    while (res_rank_more(&r)) {
        for (int i = 4; i >= 0; i--) /* any order */
            res_rank_see(&r, v[i]);
        res_rank_pass_end(&r);
        passes++;
    }
    assert_int_equal(passes, 3); /* 16 bits from the first pass, 48 from three more */
    assert_true(res_rank_quantile(&r, 0.5) == 2.0);
    assert_true(res_rank_quantile(&r, 0.99) == (1 - 0.96) * 3.0 + 0.96 * 5.0);
    assert_true(res_rank_quantile(&r, 0.99) ==
                gsl_stats_quantile_from_sorted_data(sorted, 1, 5, 0.99));
    assert_true(res_rank_quantile(&r, 0) == 1.0);
    assert_true(res_rank_quantile(&r, 1) == 5.0);
    res_rank_free(&r);
}

/* 5,000 pseudo-random latencies (an LCG; many ties: each is k / 64 s for k
 * in [0, 4096), plus some tiny and huge ones across octaves): the ranked
 * quantiles equal gsl's on the sorted values for every p asked. */
static void test_random_matches_sort(void **state)
{
    (void)state;
    enum { N = 5000 };
    static double v[N], sorted[N];
    uint64_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t k = x >> 52; /* 0 .. 4095 */
        v[i] = (x >> 40 & 7) == 0   ? ldexp((double)k, -40)
               : (x >> 40 & 7) == 1 ? 1e6 + (double)k
                                    : (double)k / 64;
        sorted[i] = v[i];
    }
    qsort(sorted, N, sizeof *sorted, cmp_double);
    double ps[4] = {0.5, 0.99, 0.95, 0.001};
    struct res_rank r;
    res_rank_init(&r, 100);
    for (int i = 0; i < N; i++)
        assert_int_equal(res_rank_add(&r, v[i]), 0);
    assert_int_equal(res_rank_want(&r, ps, 4), 0);
    while (res_rank_more(&r)) {
        for (int i = 0; i < N; i++)
            res_rank_see(&r, v[i]);
        res_rank_pass_end(&r);
    }
    for (int i = 0; i < 4; i++)
        assert_true(res_rank_quantile(&r, ps[i]) ==
                    gsl_stats_quantile_from_sorted_data(sorted, 1, N, ps[i]));
    res_rank_free(&r);
}

static double metric(sqlite3 *db, int64_t run, const char *model, const char *name, bool *null)
{
    sqlite3_stmt *st;
    const char *sql = model ? "SELECT value FROM metrics_by_model WHERE run = ?1 AND name = ?2 "
                              "AND model = ?3"
                            : "SELECT value FROM metrics WHERE run = ?1 AND name = ?2";
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (model) sqlite3_bind_text(st, 3, model, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    *null = sqlite3_column_type(st, 0) == SQLITE_NULL;
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A run of 3,000 request rows over two models (some cold, some never
 * finished): its request metrics computed with every value kept (the cap
 * of 65,536) and again with a cap of 10 (three more passes) are the same
 * bits, for the run and for each model. */
static void test_metrics_same_either_way(void **state)
{
    (void)state;
    char dir[64], path[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    static const struct res_run_info info = {"sim", "", "", NULL, "", 1};
    int64_t run;
    assert_int_equal(res_run_begin(db, spec, &info, &run, &err), 0);
    uint64_t x = 99;
    for (uint64_t id = 1; id <= 3000; id++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t arrived = SEC((double)(x >> 54) / 8), wait = SEC((double)(x >> 60) / 4);
        int64_t service = SEC((double)(x >> 33 & 255) / 128);
        bool done = (x >> 20 & 15) != 0;
        struct res_request_row r = {
            id, (int)(x >> 25 & 1), arrived, arrived + wait, done ? arrived + wait + service : -1,
            1,  (x >> 21 & 3) == 0};
        assert_int_equal(res_add_request(db, run, spec, &r, &err), 0);
    }
    assert_int_equal(res_run_finish(db, run, "complete", SEC(1000), &err), 0);
    static const char *const names[] = {
        "request_p50_s",      "request_p99_s",      "request_cold_p50_s", "request_cold_p99_s",
        "request_warm_p50_s", "request_warm_p99_s", "requests_served"};
    const char *models[3] = {NULL, "m0", "m1"};
    double kept[3][7];
    bool kept_null[3][7];
    for (int m = 0; m < 3; m++)
        for (int i = 0; i < 7; i++)
            kept[m][i] = metric(res_handle(db), run, models[m], names[i], &kept_null[m][i]);
    assert_int_equal(res_metrics_compute_cap(db, run, 10, &err), 0);
    for (int m = 0; m < 3; m++)
        for (int i = 0; i < 7; i++) {
            bool null;
            double v = metric(res_handle(db), run, models[m], names[i], &null);
            assert_false(kept_null[m][i]);
            assert_false(null);
            if (memcmp(&v, &kept[m][i], sizeof v))
                fail_msg("%s %s: %.17g ranked, %.17g sorted", models[m] ? models[m] : "run",
                         names[i], v, kept[m][i]);
        }
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_by_hand),
        cmocka_unit_test(test_random_matches_sort),
        cmocka_unit_test(test_metrics_same_either_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

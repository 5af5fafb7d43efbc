/* test_compare.c - results/select.c and results/compare.c: selectors pick
 * the right runs (ids, sweep, policy items, params, scenario, status), and
 * a metric compared between two sets gives the paired or Welch interval
 * worked by hand in test_stats.c, with the verdict in the metric's
 * direction; one run per side gives no interval. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

struct env {
    char dir[64], path[256];
    struct core_spec *spec;
    struct res_db *db;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    fixture_tmpdb(e->dir, sizeof e->dir, e->path, sizeof e->path, "thaw.db");
    e->spec = fixture_spec();
    struct thaw_err err = {0};
    if (res_open(e->path, &e->db, &err) < 0) return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    res_close(e->db);
    fixture_spec_free(e->spec);
    fixture_rmdir(e->dir);
    free(e);
    return 0;
}

/* A complete run with the given seed and cold_start_mean_s / shm_hit_rate
 * (NaN: leave the computed NULL). */
static int64_t add_run(struct env *e, const char *sweep, const char *params, uint64_t seed,
                       double cold_mean, double shm_rate)
{
    struct res_run_info info = {"sim", "", "", sweep, params, seed};
    struct thaw_err err = {0};
    int64_t run;
    assert_int_equal(res_run_begin(e->db, e->spec, &info, &run, &err), 0);
    assert_int_equal(res_run_finish(e->db, run, "complete", SEC(1), &err), 0);
    if (!isnan(cold_mean))
        assert_int_equal(res_set_metric(e->db, run, "cold_start_mean_s", cold_mean, &err), 0);
    if (!isnan(shm_rate))
        assert_int_equal(res_set_metric(e->db, run, "shm_hit_rate", shm_rate, &err), 0);
    return run;
}

static void select_expect(struct env *e, const char *sel, int n, const int64_t *want)
{
    int64_t *ids;
    int count;
    struct thaw_err err = {0};
    assert_int_equal(res_select_runs(e->db, sel, &ids, &count, &err), 0);
    if (count != n) fail_msg("selector \"%s\": %d runs, expected %d", sel, count, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    free(ids);
}

static void test_select(void **state)
{
    struct env *e = *state;
    /* runs 1-2: sweep S1, queue=priority, gpus=4; runs 3-4: sweep S1,
     * queue=fifo, gpus=40; run 5: exec, no sweep, fifo, overrides
     * cluster.gpus=4; run 6: like 5, still running. shm=preload in all. */
    add_run(e, "S1", "gpus=4;policy=queue=priority", 1, 10, NAN);
    add_run(e, "S1", "gpus=4;policy=queue=priority", 2, 10, NAN);
    snprintf(e->spec->policy.queue, CORE_NAME_MAX, "fifo"); /* runs.policy comes from the spec */
    add_run(e, "S1", "gpus=40", 1, 10, NAN);
    add_run(e, "S1", "gpus=40", 2, 10, NAN);
    struct res_run_info info = {"exec", "host", "cluster.gpus=4,policy.shm=off", NULL, "", 3};
    struct thaw_err err = {0};
    int64_t run;
    assert_int_equal(res_run_begin(e->db, e->spec, &info, &run, &err), 0);
    assert_int_equal(res_run_finish(e->db, run, "complete", 0, &err), 0);
    assert_int_equal(res_run_begin(e->db, e->spec, &info, &run, &err), 0);

    select_expect(e, "1,2", 2, (int64_t[]){1, 2});
    select_expect(e, "2-4", 3, (int64_t[]){2, 3, 4});
    select_expect(e, "sweep=S1", 4, (int64_t[]){1, 2, 3, 4});
    select_expect(e, "policy=queue=priority", 2, (int64_t[]){1, 2});
    select_expect(e, "policy=queue=fifo,shm=preload", 3, (int64_t[]){3, 4, 5});
    /* exact items: gpus=4 does not match gpus=40 */
    select_expect(e, "param:gpus=4", 2, (int64_t[]){1, 2});
    select_expect(e, "param:cluster.gpus=4", 1, (int64_t[]){5});
    select_expect(e, "sweep=S1;param:gpus=40", 2, (int64_t[]){3, 4});
    select_expect(e, "sweep=S1 policy=queue=fifo", 2, (int64_t[]){3, 4});
    select_expect(e, "scenario=fixture", 5, (int64_t[]){1, 2, 3, 4, 5});
    select_expect(e, "scenario=fixture.yaml mode=exec", 1, (int64_t[]){5});
    select_expect(e, "5,6", 1, (int64_t[]){5}); /* 6 is running */
    select_expect(e, "5,6 status=any", 2, (int64_t[]){5, 6});
    select_expect(e, "status=running", 1, (int64_t[]){6});
    select_expect(e, "sweep=S2", 0, NULL);

    int64_t *ids;
    int count;
    assert_int_equal(res_select_runs(e->db, "colour=red", &ids, &count, &err), THAW_EINVAL);
    assert_int_equal(res_select_runs(e->db, "3-1", &ids, &count, &err), THAW_EINVAL);
    assert_int_equal(res_select_runs(e->db, "  ", &ids, &count, &err), THAW_EINVAL);
    assert_int_equal(res_select_runs(e->db, "fifo", &ids, &count, &err), THAW_EINVAL);
    /* Empty or malformed values are errors, not "every run" (policy= once
     * matched all six): each names its term. */
    static const char *const malformed[] = {
        "policy=",
        "sweep=",
        "scenario=",
        "mode=",
        "status=",
        "policy=queue",
        "policy=queue=",
        "policy==fifo",
        "policy=queue=fifo,",
        "policy=,shm=off",
        "param:",
        "param:gpus",
        "param:gpus=",
        "param:=4",
        "mode=both",
        "status=done",
        "1,",
        ",1",
        "1,,2",
        " 1-",
        "+1",
        "1-+2",
        "99999999999999999999",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        int rc = res_select_runs(e->db, malformed[i], &ids, &count, &err);
        if (rc != THAW_EINVAL) print_error("selector \"%s\": rc %d\n", malformed[i], rc);
        assert_int_equal(rc, THAW_EINVAL);
    }
    assert_int_equal(res_select_runs(e->db, "policy=", &ids, &count, &err), THAW_EINVAL);
    assert_string_equal(err.msg, "selector term \"policy=\" has an empty value");
    assert_int_equal(res_select_runs(e->db, "policy=queue=fifo,", &ids, &count, &err), THAW_EINVAL);
    assert_string_equal(err.msg, "selector term \"policy=queue=fifo,\": \"\" is not a policy "
                                 "setting k=v (such as policy=queue=fifo,shm=off)");
}

/* Same seeds 1..5 on both sides: A = 10..50, B = 11..55, so B - A = 1..5:
 * mean 3, CI 3 -/+ 2.776445 * 0.707107 = [1.036757, 4.963243] (see
 * test_stats.c). Lower cold start is better and B is higher: A better. */
static void test_compare_paired(void **state)
{
    struct env *e = *state;
    int64_t a[5], b[5];
    for (int i = 0; i < 5; i++) {
        a[i] = add_run(e, "A", "", (uint64_t)i + 1, 10.0 * (i + 1), NAN);
        b[i] = add_run(e, "B", "", (uint64_t)i + 1, 11.0 * (i + 1), NAN);
    }
    struct res_comparison c;
    struct thaw_err err = {0};
    assert_int_equal(res_compare_metric(e->db, a, 5, b, 5, "cold_start_mean_s", 0.95, &c, &err), 0);
    assert_int_equal(c.method, RES_CMP_PAIRED);
    assert_true(fabs(c.mean_a - 30) < 1e-12 && fabs(c.mean_b - 33) < 1e-12);
    assert_true(fabs(c.ci.lo - 1.036757) < 1e-5 && fabs(c.ci.hi - 4.963243) < 1e-5);
    assert_int_equal(c.verdict, RES_VERDICT_A);
    /* shm_hit_rate is NULL in every run: no values, no interval */
    assert_int_equal(res_compare_metric(e->db, a, 5, b, 5, "shm_hit_rate", 0.95, &c, &err), 0);
    assert_int_equal(c.method, RES_CMP_NONE);
    assert_int_equal(c.n_a, 0);
    assert_true(isnan(c.mean_a));
    /* one run per side: means, no interval */
    assert_int_equal(res_compare_metric(e->db, a, 1, b + 1, 1, "cold_start_mean_s", 0.95, &c, &err),
                     0);
    assert_int_equal(c.method, RES_CMP_NONE);
    assert_int_equal(c.verdict, RES_VERDICT_NONE);
    assert_true(fabs(c.mean_a - 10) < 1e-12 && fabs(c.mean_b - 22) < 1e-12);
}

/* Seeds differ (A 1..5, B 6..10): Welch. A = 1..5, B = 4..8 gives diff 3,
 * se 1, df 8, CI [0.693996, 5.306004] (test_stats.c). For shm_hit_rate,
 * higher is better: B better; for cold_start_mean_s: A better. */
static void test_compare_welch(void **state)
{
    struct env *e = *state;
    int64_t a[5], b[5];
    for (int i = 0; i < 5; i++) {
        a[i] = add_run(e, "A", "", (uint64_t)i + 1, i + 1.0, i + 1.0);
        b[i] = add_run(e, "B", "", (uint64_t)i + 6, i + 4.0, i + 4.0);
    }
    struct res_comparison c;
    struct thaw_err err = {0};
    assert_int_equal(res_compare_metric(e->db, a, 5, b, 5, "shm_hit_rate", 0.95, &c, &err), 0);
    assert_int_equal(c.method, RES_CMP_WELCH);
    assert_true(fabs(c.ci.df - 8) < 1e-9);
    assert_true(fabs(c.ci.lo - 0.693996) < 1e-5 && fabs(c.ci.hi - 5.306004) < 1e-5);
    assert_int_equal(c.verdict, RES_VERDICT_B);
    assert_int_equal(res_compare_metric(e->db, a, 5, b, 5, "cold_start_mean_s", 0.95, &c, &err), 0);
    assert_int_equal(c.verdict, RES_VERDICT_A);
    /* a seed twice on one side breaks the pairing even with equal seed sets */
    int64_t a2[2] = {a[0], add_run(e, "A", "", 1, 2, NAN)};
    int64_t b2[2] = {b[0], b[1]};
    assert_int_equal(res_compare_metric(e->db, a2, 2, b2, 2, "cold_start_mean_s", 0.95, &c, &err),
                     0);
    assert_int_equal(c.method, RES_CMP_WELCH);
}

/* Paired differences {1, -1, 2, -2}: mean 0, the interval holds 0. */
static void test_compare_same(void **state)
{
    struct env *e = *state;
    const double da[] = {5, 6, 7, 8}, db[] = {6, 5, 9, 6};
    int64_t a[4], b[4];
    for (int i = 0; i < 4; i++) {
        a[i] = add_run(e, "A", "", (uint64_t)i + 1, da[i], NAN);
        b[i] = add_run(e, "B", "", (uint64_t)i + 1, db[i], NAN);
    }
    struct res_comparison c;
    struct thaw_err err = {0};
    assert_int_equal(res_compare_metric(e->db, a, 4, b, 4, "cold_start_mean_s", 0.95, &c, &err), 0);
    assert_int_equal(c.method, RES_CMP_PAIRED);
    assert_true(fabs(c.ci.diff) < 1e-12);
    assert_int_equal(c.verdict, RES_VERDICT_SAME);
    assert_int_equal(res_compare_metric(e->db, a, 4, b, 4, "cold_start_mean_s", 1.5, &c, &err),
                     THAW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_paired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_welch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_same, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

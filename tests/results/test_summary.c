/* test_summary.c - results/summary.c: two runs side by side, a header block
 * per run, one row per metric with "-" for NULL, counts as integers, and a
 * driver's own metric appended after the standard ones. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

static void test_side_by_side(void **state)
{
    (void)state;
    char dir[64], path[256];
    fixture_tmpdb(dir, sizeof dir, path, sizeof path, "thaw.db");
    struct core_spec *spec = fixture_spec();
    struct res_db *db;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    struct res_run_info info = {"sim", "", "--set x=1", "sw", "gpus=3", 5};
    int64_t r1, r2;
    assert_int_equal(res_run_begin(db, spec, &info, &r1, &err), 0);
    /* four demand loads taking 10, 20, 30, 40 s: mean 25, count 4 */
    for (int i = 1; i <= 4; i++) {
        struct res_load_row ld = {
            (uint64_t)i, (uint64_t)i, 0,  0,   CORE_SRC_STORAGE, CORE_REASON_DEMAND, 0, 0,
            SEC(10 * i), 18,          20, "ok", NULL};
        assert_int_equal(res_add_load(db, r1, spec, &ld, &err), 0);
    }
    assert_int_equal(res_set_metric(db, r1, "exec_load_gbps", 12.5, &err), 0);
    assert_int_equal(res_run_finish(db, r1, "complete", SEC(40), &err), 0);
    assert_int_equal(res_run_begin(db, spec, &info, &r2, &err), 0);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    int64_t runs[] = {r1, r2};
    assert_int_equal(res_summary_print(db, runs, 2, out, &err), 0);
    fclose(out);
    assert_non_null(strstr(text, "run 1  "));
    assert_non_null(strstr(text, "  complete  "));
    assert_non_null(strstr(text, "run 2  "));
    assert_non_null(strstr(text, "  running  "));
    assert_non_null(strstr(text, "    policy queue=priority,placement=locality"));
    assert_non_null(strstr(text, "    overrides --set x=1\n"));
    assert_non_null(strstr(text, "    sweep sw  point gpus=3\n"));
    /* name in 28 columns (requests_in_service_at_end), then 12-wide
     * columns; run 2 has no metrics */
    assert_non_null(strstr(text, "\nmetric                             run 1       run 2\n"));
    assert_non_null(strstr(text, "\ncold_start_mean_s                 25.000           -\n"));
    assert_non_null(strstr(text, "\ncold_start_count                       4           -\n"));
    assert_non_null(strstr(text, "\nexec_load_gbps                    12.500           -\n"));
    free(text);

    /* one metric by name: run 1's mean is 25 (above), its driver metric
     * 12.5; run 2 has none and no run has a metric called "nope" */
    assert_float_equal(res_metric_value(db, r1, "cold_start_mean_s"), 25.0, 1e-9);
    assert_float_equal(res_metric_value(db, r1, "exec_load_gbps"), 12.5, 1e-9);
    assert_true(isnan(res_metric_value(db, r2, "cold_start_mean_s")));
    assert_true(isnan(res_metric_value(db, r1, "nope")));

    /* who run 1 is: the run info given above, finished complete */
    struct res_run_meta meta;
    assert_int_equal(res_run_meta_load(db, r1, &meta, &err), 0);
    assert_int_equal(meta.id, r1);
    assert_string_equal(meta.mode, "sim");
    assert_string_equal(meta.overrides, "--set x=1");
    assert_string_equal(meta.status, "complete");
    assert_int_equal(meta.seed, 5);
    assert_int_equal(res_run_meta_load(db, 9, &meta, &err), THAW_ENOENT);

    assert_int_equal(res_summary_print(db, (int64_t[]){9}, 1, stderr, &err), THAW_ENOENT);
    res_close(db);
    fixture_spec_free(spec);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_side_by_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

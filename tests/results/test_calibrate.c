/* test_calibrate.c - results/calibrate.c: which loads count as alone on
 * their node, the least-squares line t = a + bytes / B per (node, source)
 * with its R^2, the one-size case left to the ratio fit through a given
 * fixed cost, and bad runs. Rows go in through the recorder, as a driver
 * writes them; the fixture's nodes are n0 (g0, g1) and n1 (g2). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#define GB 1000000000ull

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

static int64_t begin(struct env *e)
{
    struct res_run_info info = {"exec", "host", "", NULL, "", 7};
    struct thaw_err err = {0};
    int64_t run;
    assert_int_equal(res_run_begin(e->db, e->spec, &info, &run, &err), 0);
    return run;
}

/* A load of m0 on gpu from src, instance = id; finished < 0: never. */
static void load(struct env *e, int64_t run, uint64_t id, int gpu, enum core_source src,
                 uint64_t bytes, double started, double finished, const char *outcome)
{
    struct thaw_err err = {0};
    struct res_load_row r = {id,           id,           0,
                             gpu,          src,          CORE_REASON_DEMAND,
                             SEC(started), SEC(started), finished < 0 ? -1 : SEC(finished),
                             bytes,        20,           outcome,
                             NULL};
    assert_int_equal(res_add_load(e->db, run, e->spec, &r, &err), 0);
}

static void finish(struct env *e, int64_t run)
{
    struct thaw_err err = {0};
    assert_int_equal(res_run_finish(e->db, run, "complete", SEC(60), &err), 0);
}

/* Run of 60 s:
 *   n0 storage, all alone: 1 GB 0->1.5 (1.5 s), 2 GB 2->4.5 (2.5 s), 3 GB
 *     5->8.5 (3.5 s): t = 0.5 + bytes / 1 GB/s exactly.
 *   n0: a storage load cancelled at 30 (never finished; its instance FAILED
 *     at 31) holds the node over [30, 31], so the ok 1 GB load 30.5->32 on
 *     g1 overlaps it: left out. The ok 1 GB load 32->33.5 touches 32 and
 *     starts after 31: alone (without the FAILED event the cancelled load
 *     would hold the node to 60 and take it out too).
 *   n0 storage: used 4 (sizes 1, 2, 3 GB: 3 distinct), left out 1; the
 *     points lie on the line: a = 0.5 s, slope 1 s/GB: B = 1e9 B/s, R^2 1.
 *   n0 shm: 1 GB 20->20.75 (0.75 s), 2 GB 21->22.25 (1.25 s): slope 0.5
 *     s/GB: B = 2e9 B/s, a = 0.75 - 0.5 = 0.25 s, R^2 1 (a storage load
 *     of the same node would have counted as overlap: there is none).
 *   n1 storage: 1 GB 0->2 and 1 GB 1->3 overlap: both left out; 1 GB 5->6
 *     and 1 GB 8->9 alone: used 2 but one size only, no line (ok false).
 *     Through a = 0.5 s: y = 0.5 s for x = 1 GB twice, slope 0.5 s/GB,
 *     B = 2e9 B/s. */
static void test_fit(void **state)
{
    struct env *e = *state;
    int64_t run = begin(e);
    load(e, run, 1, 0, CORE_SRC_STORAGE, 1 * GB, 0, 1.5, "ok");
    load(e, run, 2, 1, CORE_SRC_STORAGE, 2 * GB, 2, 4.5, "ok");
    load(e, run, 3, 0, CORE_SRC_STORAGE, 3 * GB, 5, 8.5, "ok");
    load(e, run, 4, 0, CORE_SRC_STORAGE, 1 * GB, 30, -1, "cancelled");
    struct thaw_err err = {0};
    assert_int_equal(
        res_add_instance_event(e->db, run, e->spec, 4, 0, 0, CORE_INST_FAILED, SEC(31), &err), 0);
    load(e, run, 5, 1, CORE_SRC_STORAGE, 1 * GB, 30.5, 32, "ok");
    load(e, run, 6, 0, CORE_SRC_STORAGE, 1 * GB, 32, 33.5, "ok");
    load(e, run, 7, 0, CORE_SRC_SHM, 1 * GB, 20, 20.75, "ok");
    load(e, run, 8, 1, CORE_SRC_SHM, 2 * GB, 21, 22.25, "ok");
    load(e, run, 9, 2, CORE_SRC_STORAGE, 1 * GB, 0, 2, "ok");
    load(e, run, 10, 2, CORE_SRC_STORAGE, 1 * GB, 1, 3, "ok");
    load(e, run, 11, 2, CORE_SRC_STORAGE, 1 * GB, 5, 6, "ok");
    load(e, run, 12, 2, CORE_SRC_STORAGE, 1 * GB, 8, 9, "ok");
    finish(e, run);

    struct res_calibration *c = NULL;
    int n = -1;
    assert_int_equal(res_calibrate(e->db, run, &c, &n, &err), 0);
    assert_int_equal(n, 3);

    assert_string_equal(c[0].node, "n0");
    assert_int_equal(c[0].source, CORE_SRC_STORAGE);
    assert_int_equal(c[0].n_used, 4);
    assert_int_equal(c[0].n_left_out, 1);
    assert_int_equal(c[0].n_sizes, 3);
    assert_true(c[0].ok);
    assert_float_equal(c[0].a_s, 0.5, 1e-9);
    assert_float_equal(c[0].bandwidth_bps / 1e9, 1.0, 1e-9);
    assert_float_equal(c[0].r2, 1.0, 1e-9);

    assert_string_equal(c[1].node, "n0");
    assert_int_equal(c[1].source, CORE_SRC_SHM);
    assert_int_equal(c[1].n_used, 2);
    assert_int_equal(c[1].n_left_out, 0);
    assert_true(c[1].ok);
    assert_float_equal(c[1].a_s, 0.25, 1e-9);
    assert_float_equal(c[1].bandwidth_bps / 1e9, 2.0, 1e-9);
    assert_float_equal(c[1].r2, 1.0, 1e-9);

    assert_string_equal(c[2].node, "n1");
    assert_int_equal(c[2].source, CORE_SRC_STORAGE);
    assert_int_equal(c[2].n_used, 2);
    assert_int_equal(c[2].n_left_out, 2);
    assert_int_equal(c[2].n_sizes, 1);
    assert_false(c[2].ok);
    assert_true(isnan(c[2].a_s));
    assert_true(isnan(c[2].bandwidth_bps));
    double b = 0;
    assert_int_equal(res_calibration_through(&c[2], 0.5, &b, &err), 0);
    assert_float_equal(b / 1e9, 2.0, 1e-9);
    /* Through a = 1 s the loads (1 s each) took no time beyond it. */
    assert_int_equal(res_calibration_through(&c[2], 1.0, &b, &err), THAW_EINVAL);
    res_calibration_free(c, n);
}

/* Points (1 GB, 1 s), (2 GB, 3 s), (3 GB, 2 s), alone on n0 from storage:
 * mean x 2 GB, mean y 2 s; Sxy = (-1)(-1) + 0 + (1)(0) = 1, Sxx = 2, so
 * the slope is 0.5 s/GB (B = 2e9 B/s) and a = 2 - 0.5 * 2 = 1 s. Fitted
 * 1.5, 2, 2.5: SS_res = 0.25 + 1 + 0.25 = 1.5, SS_tot = 1 + 1 + 0 = 2, so
 * R^2 = 1 - 1.5 / 2 = 0.25. A failed load is no point. */
static void test_r2(void **state)
{
    struct env *e = *state;
    int64_t run = begin(e);
    load(e, run, 1, 0, CORE_SRC_STORAGE, 1 * GB, 0, 1, "ok");
    load(e, run, 2, 0, CORE_SRC_STORAGE, 2 * GB, 2, 5, "ok");
    load(e, run, 3, 0, CORE_SRC_STORAGE, 3 * GB, 6, 8, "ok");
    load(e, run, 4, 0, CORE_SRC_STORAGE, 5 * GB, 10, -1, "failed");
    finish(e, run);
    struct res_calibration *c = NULL;
    int n = -1;
    struct thaw_err err = {0};
    assert_int_equal(res_calibrate(e->db, run, &c, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].n_used, 3);
    assert_int_equal(c[0].n_left_out, 0);
    assert_true(c[0].ok);
    assert_float_equal(c[0].a_s, 1.0, 1e-9);
    assert_float_equal(c[0].bandwidth_bps / 1e9, 2.0, 1e-9);
    assert_float_equal(c[0].r2, 0.25, 1e-9);
    res_calibration_free(c, n);
}

/* No such run: THAW_ENOENT. A run with no loads: nothing, no error. A run
 * whose only load failed: nothing either (only ok loads are points). */
static void test_empty(void **state)
{
    struct env *e = *state;
    struct res_calibration *c = (void *)1;
    int n = -1;
    struct thaw_err err = {0};
    assert_int_equal(res_calibrate(e->db, 99, &c, &n, &err), THAW_ENOENT);
    int64_t run = begin(e);
    finish(e, run);
    assert_int_equal(res_calibrate(e->db, run, &c, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(c);
    run = begin(e);
    load(e, run, 1, 0, CORE_SRC_STORAGE, 1 * GB, 0, -1, "failed");
    finish(e, run);
    assert_int_equal(res_calibrate(e->db, run, &c, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(c);
    assert_int_equal(res_calibrate(NULL, run, &c, &n, &err), THAW_EINVAL);
}

/* Adds load `id`'s phases: init 0.3 s before the copy, then the copy. */
static void phases(struct res_phases *w, uint64_t id, double copy_start, double copy_end)
{
    struct thaw_err err = {0};
    struct res_load_phase p = {
        id, 0, RES_PHASE_INIT, NULL, false, SEC(copy_start - 0.3), SEC(copy_start)};
    assert_int_equal(res_phases_add(w, &p, &err), 0);
    p = (struct res_load_phase){id, 1, RES_PHASE_COPY, NULL, false, SEC(copy_start), SEC(copy_end)};
    assert_int_equal(res_phases_add(w, &p, &err), 0);
}

/* Two runs pooled, node n0, storage:
 *   run A: two 1 GB loads (g0, g1) copying together over [1, 3]: each
 *     copy's overlap k = 1 + 2/2 = 2;
 *   run B: a 2 GB load alone [11, 13] and a 3 GB one alone [21, 24]: k = 1.
 * Shared line over (k bytes, t): (2,2) (2,2) (2,2) (3,3) GB,s: t = 0 +
 * k bytes / 1 GB/s exactly, R^2 1. Per-load line over (bytes, t): x 1,1,2,3
 * GB, y 2,2,2,3 s: mean x 1.75, y 2.25; Sxx 2.75, Sxy 1.25, Syy 0.75;
 * slope 1.25/2.75 s/GB -> B 2.2 GB/s, R^2 = 1.25^2 / (2.75 * 0.75) =
 * 0.757575...; so the shared line wins. Mean overlap (2+2+1+1)/4 = 1.5;
 * init 0.3 s each (sd 0); four loads of 3 sizes over 2 runs. */
static void test_phases_pooled(void **state)
{
    struct env *e = *state;
    struct thaw_err err = {0};
    int64_t runs[2];
    struct res_phases *w;
    runs[0] = begin(e);
    load(e, runs[0], 1, 0, CORE_SRC_STORAGE, 1 * GB, 0.7, 3, "ok");
    load(e, runs[0], 2, 1, CORE_SRC_STORAGE, 1 * GB, 0.7, 3, "ok");
    finish(e, runs[0]);
    assert_int_equal(res_phases_new(e->db, runs[0], &w, &err), 0);
    phases(w, 1, 1, 3);
    phases(w, 2, 1, 3);
    assert_int_equal(res_phases_flush(w, &err), 0);
    res_phases_free(w);
    runs[1] = begin(e);
    load(e, runs[1], 1, 0, CORE_SRC_STORAGE, 2 * GB, 10.7, 13, "ok");
    load(e, runs[1], 2, 0, CORE_SRC_STORAGE, 3 * GB, 20.7, 24, "ok");
    finish(e, runs[1]);
    assert_int_equal(res_phases_new(e->db, runs[1], &w, &err), 0);
    phases(w, 1, 11, 13);
    phases(w, 2, 21, 24);
    assert_int_equal(res_phases_flush(w, &err), 0);
    res_phases_free(w);

    struct res_phase_fit *f;
    int n;
    assert_int_equal(res_calibrate_phases(e->db, runs, 2, &f, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].node, "n0");
    assert_int_equal(f[0].source, CORE_SRC_STORAGE);
    assert_int_equal(f[0].loads, 4);
    assert_int_equal(f[0].sizes, 3);
    assert_int_equal(f[0].runs, 2);
    assert_true(f[0].shared);
    assert_float_equal(f[0].mean_overlap, 1.5, 1e-9);
    assert_float_equal(f[0].a_s, 0, 1e-9);
    assert_float_equal(f[0].bandwidth_bps / 1e9, 1.0, 1e-9);
    assert_float_equal(f[0].r2, 1.0, 1e-9);
    assert_float_equal(f[0].bw_sd_bps, 0, 1e-3);
    assert_float_equal(f[0].other_bandwidth_bps / 1e9, 2.2, 1e-9);
    assert_float_equal(f[0].other_r2, 1.5625 / 2.0625, 1e-9);
    assert_float_equal(f[0].init_s, 0.3, 1e-9);
    assert_float_equal(f[0].init_sd_s, 0, 1e-9);
    assert_true(isnan(f[0].warmup_s));
    assert_true(isnan(f[0].verify_bps)); /* no verify phases */
    free(f);
    /* A run without phases: nothing to fit. */
    int64_t none = begin(e);
    finish(e, none);
    assert_int_equal(res_calibrate_phases(e->db, &none, 1, &f, &n, &err), THAW_ENOENT);
}

/* A shm fill reads storage: node n0's fill of m0 runs [0, 2] (its
 * START_SHM_FILL action at t=0, its SHM_FILL_FINISHED event at 2 s).
 *   storage 1 GB 1->2.5 (copy [1, 2.5]) overlaps the fill: not alone, and
 *     its copy's k = 1 + (2 - 1) / 1.5 = 5/3;
 *   storage 2 GB 5->7.5 and 3 GB 8->11.5 (copies [5.3, 7.5], [8.3, 11.5])
 *     alone: t = 0.5 + bytes / 1 GB/s, a line through both exactly;
 *   shm 1 GB on g1 0.2->0.8 beside the fill (before any storage load)
 *     stays alone: it reads memory.
 * Lone fit: storage used 2, left out 1; a 0.5 s, B 1 GB/s, R^2 1. Phase fit:
 * storage mean overlap (5/3 + 1 + 1) / 3 = 11/9. */
static void test_fill_overlaps_storage(void **state)
{
    struct env *e = *state;
    struct thaw_err err = {0};
    int64_t run = begin(e);
    struct res_action_log *log;
    assert_int_equal(res_action_log_open(e->db, run, &log, &err), 0);
    assert_int_equal(
        res_action_log_add(log, 0, 0, "t=0 START_SHM_FILL node=0 model=0 bytes=1000000000", &err),
        0);
    assert_int_equal(res_action_log_flush(log, &err), 0);
    res_action_log_close(log);
    struct core_event ev = {.kind = CORE_EV_SHM_FILL_FINISHED,
                            .t_ns = SEC(2),
                            .model = 0,
                            .node = 0,
                            .gpu = -1,
                            .ok = true};
    assert_int_equal(res_add_core_event(e->db, run, 1, &ev, &err), 0);
    load(e, run, 1, 0, CORE_SRC_STORAGE, 1 * GB, 1, 2.5, "ok");
    load(e, run, 2, 0, CORE_SRC_STORAGE, 2 * GB, 5, 7.5, "ok");
    load(e, run, 3, 0, CORE_SRC_STORAGE, 3 * GB, 8, 11.5, "ok");
    load(e, run, 4, 1, CORE_SRC_SHM, 1 * GB, 0.2, 0.8, "ok");
    finish(e, run);
    struct res_phases *w;
    assert_int_equal(res_phases_new(e->db, run, &w, &err), 0);
    struct res_load_phase p = {1, 0, RES_PHASE_COPY, NULL, false, SEC(1), SEC(2.5)};
    assert_int_equal(res_phases_add(w, &p, &err), 0);
    phases(w, 2, 5.3, 7.5);
    phases(w, 3, 8.3, 11.5);
    assert_int_equal(res_phases_flush(w, &err), 0);
    res_phases_free(w);

    struct res_calibration *c;
    int n;
    assert_int_equal(res_calibrate(e->db, run, &c, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].node, "n0");
    assert_int_equal(c[0].source, CORE_SRC_STORAGE);
    assert_int_equal(c[0].n_used, 2);
    assert_int_equal(c[0].n_left_out, 1);
    assert_true(c[0].ok);
    assert_float_equal(c[0].a_s, 0.5, 1e-9);
    assert_float_equal(c[0].bandwidth_bps / 1e9, 1.0, 1e-9);
    assert_int_equal(c[1].source, CORE_SRC_SHM);
    assert_int_equal(c[1].n_used, 1);
    assert_int_equal(c[1].n_left_out, 0);
    res_calibration_free(c, n);

    struct res_phase_fit *f;
    assert_int_equal(res_calibrate_phases(e->db, &run, 1, &f, &n, &err), 0);
    assert_int_equal(n, 1); /* the shm load has no phases */
    assert_int_equal(f[0].source, CORE_SRC_STORAGE);
    assert_int_equal(f[0].loads, 3);
    assert_float_equal(f[0].mean_overlap, 11.0 / 9.0, 1e-9);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_r2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phases_pooled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_overlaps_storage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_validate.c - results/validate.c: which loads of an exec run pair with
 * which loads of a sim run (the k-th finished-ok load of a model with the
 * k-th of the same model, in start order, ties by load id), the per-model
 * means and errors and the overall mean relative error derived from them,
 * and the latest run of a mode (optionally of one scenario). */
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

static int64_t begin(struct env *e, const char *mode)
{
    struct res_run_info info = {mode, strcmp(mode, "exec") ? "" : "host", "", NULL, "", 7};
    struct thaw_err err = {0};
    int64_t run;
    assert_int_equal(res_run_begin(e->db, e->spec, &info, &run, &err), 0);
    return run;
}

/* A load of model m on g0 from storage, enqueued when it starts;
 * finished < 0: never finished. */
static void load(struct env *e, int64_t run, uint64_t id, int m, double started, double finished,
                 const char *outcome)
{
    struct thaw_err err = {0};
    struct res_load_row r = {id,
                             id,
                             m,
                             0,
                             CORE_SRC_STORAGE,
                             CORE_REASON_DEMAND,
                             SEC(started),
                             SEC(started),
                             finished < 0 ? -1 : SEC(finished),
                             18,
                             20,
                             outcome, NULL};
    assert_int_equal(res_add_load(e->db, run, e->spec, &r, &err), 0);
}

static void finish(struct env *e, int64_t run)
{
    struct thaw_err err = {0};
    assert_int_equal(res_run_finish(e->db, run, "complete", SEC(60), &err), 0);
}

#define MAX_SEEN 8
struct seen {
    int n, stop_after; /* stop_after > 0: return THAW_ERANGE at that pair */
    char model[MAX_SEEN][CORE_NAME_MAX];
    int k[MAX_SEEN];
    double measured[MAX_SEEN], simulated[MAX_SEEN];
};

static int record(const struct res_load_pair *p, void *ctx)
{
    struct seen *s = ctx;
    if (s->n == MAX_SEEN) return THAW_ERANGE;
    snprintf(s->model[s->n], CORE_NAME_MAX, "%s", p->model);
    s->k[s->n] = p->k;
    s->measured[s->n] = p->measured_s;
    s->simulated[s->n] = p->simulated_s;
    s->n++;
    return s->stop_after && s->n == s->stop_after ? THAW_ERANGE : 0;
}

/* Exec run 1 (measured) and sim run 2 (simulated), model m0 and m1:
 *   run 1: m0 id1 1->12 ok (11 s), m0 id2 5->6 failed, m0 id3 20->29 ok
 *          (9 s), m0 id4 40->45 ok (5 s), m1 id5 2->6 ok (4 s)
 *   run 2: m0 id1 0.5->10.5 ok (10 s), m0 id2 3 cancelled (never
 *          finished), m0 id3 19->29 ok (10 s)
 * Finished-ok m0 loads in start order: run 1 = 11, 9, 5; run 2 = 10, 10.
 * The failed load of run 1 and the cancelled one of run 2 take no k, so
 * pairs are (k=1: 11 vs 10), (k=2: 9 vs 10); run 1's third m0 load has no
 * partner, and m1 is loaded in run 1 only: both left out.
 * Pair errors |11-10|/10 = 10%, |9-10|/10 = 10%: mean 10%. The means are
 * (11+9)/2 = 10 and 10: error of the means 0. */
static void test_pairs(void **state)
{
    struct env *e = *state;
    int64_t ex = begin(e, "exec");
    load(e, ex, 1, 0, 1, 12, "ok");
    load(e, ex, 2, 0, 5, 6, "failed");
    load(e, ex, 3, 0, 20, 29, "ok");
    load(e, ex, 4, 0, 40, 45, "ok");
    load(e, ex, 5, 1, 2, 6, "ok");
    finish(e, ex);
    int64_t sm = begin(e, "sim");
    load(e, sm, 1, 0, 0.5, 10.5, "ok");
    load(e, sm, 2, 0, 3, -1, "cancelled");
    load(e, sm, 3, 0, 19, 29, "ok");
    finish(e, sm);

    struct thaw_err err = {0};
    struct seen s = {0};
    assert_int_equal(res_load_pairs(e->db, ex, sm, record, &s, &err), 0);
    assert_int_equal(s.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(s.model[i], "m0");
        assert_int_equal(s.k[i], i + 1);
        assert_true(fabs(s.simulated[i] - 10) < 1e-9);
    }
    assert_true(fabs(s.measured[0] - 11) < 1e-9);
    assert_true(fabs(s.measured[1] - 9) < 1e-9);

    /* The same runs the other way round: measured and simulated swap. */
    struct seen r = {0};
    assert_int_equal(res_load_pairs(e->db, sm, ex, record, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_true(fabs(r.measured[0] - 10) < 1e-9 && fabs(r.simulated[0] - 11) < 1e-9);

    struct res_validation v;
    assert_int_equal(res_validate(e->db, ex, sm, &v, &err), 0);
    assert_int_equal(v.pairs, 2);
    assert_int_equal(v.rel_pairs, 2);
    assert_true(fabs(v.mean_rel_error - 0.10) < 1e-9);
    assert_int_equal(v.model_count, 1);
    assert_string_equal(v.models[0].model, "m0");
    assert_int_equal(v.models[0].pairs, 2);
    assert_true(fabs(v.models[0].measured_mean_s - 10) < 1e-9);
    assert_true(fabs(v.models[0].simulated_mean_s - 10) < 1e-9);
    assert_true(fabs(v.models[0].rel_error) < 1e-9);
    res_validation_free(&v);
    assert_null(v.models);

    /* A callback's non-zero return stops the walk and is returned. */
    struct seen stop = {.stop_after = 1};
    assert_int_equal(res_load_pairs(e->db, ex, sm, record, &stop, &err), THAW_ERANGE);
    assert_int_equal(stop.n, 1);
}

/* Ties in start time go by load id, and the error of the means is signed:
 *   exec run: m1 id2 0->3 (3 s), m1 id1 0->2 (2 s), both start at 0, so
 *             k=1 is id1 (2 s), k=2 is id2 (3 s); m0 id3 0->6 (6 s)
 *   sim run:  m1 id1 0->4 (4 s), m1 id2 0->6 (6 s); m0 id3 0->4 (4 s)
 * Pairs by model name: m0 (6 vs 4), m1 (2 vs 4), (3 vs 6).
 * Pair errors 2/4 = 50%, 2/4 = 50%, 3/6 = 50%: mean 50%.
 * m0: means 6 and 4, (6-4)/4 = +50%; m1: means 2.5 and 5, (2.5-5)/5 = -50%. */
static void test_ties_and_sign(void **state)
{
    struct env *e = *state;
    int64_t ex = begin(e, "exec");
    load(e, ex, 2, 1, 0, 3, "ok");
    load(e, ex, 1, 1, 0, 2, "ok");
    load(e, ex, 3, 0, 0, 6, "ok");
    finish(e, ex);
    int64_t sm = begin(e, "sim");
    load(e, sm, 1, 1, 0, 4, "ok");
    load(e, sm, 2, 1, 0, 6, "ok");
    load(e, sm, 3, 0, 0, 4, "ok");
    finish(e, sm);

    struct thaw_err err = {0};
    struct seen s = {0};
    assert_int_equal(res_load_pairs(e->db, ex, sm, record, &s, &err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.model[0], "m0");
    assert_string_equal(s.model[1], "m1");
    assert_string_equal(s.model[2], "m1");
    assert_true(fabs(s.measured[1] - 2) < 1e-9 && fabs(s.simulated[1] - 4) < 1e-9);
    assert_true(fabs(s.measured[2] - 3) < 1e-9 && fabs(s.simulated[2] - 6) < 1e-9);

    struct res_validation v;
    assert_int_equal(res_validate(e->db, ex, sm, &v, &err), 0);
    assert_int_equal(v.pairs, 3);
    assert_true(fabs(v.mean_rel_error - 0.5) < 1e-9);
    assert_int_equal(v.model_count, 2);
    assert_true(fabs(v.models[0].rel_error - 0.5) < 1e-9);
    assert_true(fabs(v.models[1].measured_mean_s - 2.5) < 1e-9);
    assert_true(fabs(v.models[1].simulated_mean_s - 5) < 1e-9);
    assert_true(fabs(v.models[1].rel_error + 0.5) < 1e-9);
    res_validation_free(&v);
}

/* No common model: no pair, no callback, no error; the error is NaN. A
 * simulated load of 0 s pairs but has no relative error. */
static void test_no_pairs(void **state)
{
    struct env *e = *state;
    int64_t ex = begin(e, "exec");
    load(e, ex, 1, 0, 0, 1, "ok");
    finish(e, ex);
    int64_t sm = begin(e, "sim");
    load(e, sm, 1, 1, 0, 1, "ok");
    finish(e, sm);
    struct thaw_err err = {0};
    struct seen s = {0};
    assert_int_equal(res_load_pairs(e->db, ex, sm, record, &s, &err), 0);
    assert_int_equal(s.n, 0);
    struct res_validation v;
    assert_int_equal(res_validate(e->db, ex, sm, &v, &err), 0);
    assert_int_equal(v.pairs, 0);
    assert_int_equal(v.model_count, 0);
    assert_null(v.models);
    assert_true(isnan(v.mean_rel_error));
    res_validation_free(&v);

    /* m0 in exec (1 s) against m0 of 0 s in a second sim run: one pair,
     * no relative error of it, NaN error of the means. */
    int64_t zero = begin(e, "sim");
    load(e, zero, 1, 0, 2, 2, "ok");
    finish(e, zero);
    assert_int_equal(res_validate(e->db, ex, zero, &v, &err), 0);
    assert_int_equal(v.pairs, 1);
    assert_int_equal(v.rel_pairs, 0);
    assert_true(isnan(v.mean_rel_error));
    assert_true(isnan(v.models[0].rel_error));
    res_validation_free(&v);
    assert_int_equal(res_load_pairs(e->db, ex, sm, NULL, NULL, &err), THAW_EINVAL);
}

/* Runs 1 exec and 2 sim of scenario A (sha 0...0), then 3 exec and 4 sim of
 * scenario B (sha 1...1), 5 sim of A still running: the latest exec is 3,
 * the latest sim 5 (any status), the latest exec of A is 1, the latest sim
 * of B is 4; no sim of scenario C; "replay" is not a mode. */
static void test_latest(void **state)
{
    struct env *e = *state;
    int64_t id;
    struct thaw_err err = {0};
    assert_int_equal(res_latest_run_of_mode(e->db, "exec", NULL, &id, &err), THAW_ENOENT);
    assert_non_null(strstr(err.msg, "no exec run"));
    finish(e, begin(e, "exec"));
    finish(e, begin(e, "sim"));
    char sha_a[sizeof e->spec->sha256_hex], sha_b[sizeof e->spec->sha256_hex];
    snprintf(sha_a, sizeof sha_a, "%s", e->spec->sha256_hex);
    memset(e->spec->sha256_hex, '1', 64);
    snprintf(sha_b, sizeof sha_b, "%s", e->spec->sha256_hex);
    finish(e, begin(e, "exec"));
    finish(e, begin(e, "sim"));
    snprintf(e->spec->sha256_hex, sizeof e->spec->sha256_hex, "%s", sha_a);
    begin(e, "sim");

    assert_int_equal(res_latest_run_of_mode(e->db, "exec", NULL, &id, &err), 0);
    assert_int_equal(id, 3);
    assert_int_equal(res_latest_run_of_mode(e->db, "sim", NULL, &id, &err), 0);
    assert_int_equal(id, 5);
    assert_int_equal(res_latest_run_of_mode(e->db, "exec", sha_a, &id, &err), 0);
    assert_int_equal(id, 1);
    assert_int_equal(res_latest_run_of_mode(e->db, "sim", sha_b, &id, &err), 0);
    assert_int_equal(id, 4);
    id = -1;
    assert_int_equal(res_latest_run_of_mode(e->db, "sim", "c", &id, &err), THAW_ENOENT);
    assert_int_equal(id, -1);
    assert_non_null(strstr(err.msg, "same scenario"));
    assert_int_equal(res_latest_run_of_mode(e->db, "replay", NULL, &id, &err), THAW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ties_and_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

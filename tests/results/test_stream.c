/* test_stream.c - results/stream.c on hand-made rows: quantiles exact up to
 * RES_STREAM_EXACT values and within 2^-10 relative beyond; counts exact;
 * the cold-start classification of each load as metrics.c defines it
 * (some request of its model waited during [enqueued, end)), whichever of
 * the request and the load was recorded first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results_internal.h"

#define S 1000000000LL /* ns per second */

static struct core_spec *two_models(void)
{
    struct core_spec *spec = calloc(1, sizeof *spec);
    assert_non_null(spec);
    spec->model_count = 2;
    spec->models = calloc(2, sizeof *spec->models);
    assert_non_null(spec->models);
    snprintf(spec->models[0].name, sizeof spec->models[0].name, "a");
    snprintf(spec->models[1].name, sizeof spec->models[1].name, "b");
    return spec;
}

static void free_spec(struct core_spec *spec)
{
    free(spec->models);
    free(spec);
}

static void request(struct res_stream *s, int model, int64_t arrived, int64_t dispatched,
                    int64_t finished, bool cold)
{
    struct res_request_row r = {.request_id = 1,
                                .model = model,
                                .arrived_ns = arrived,
                                .dispatched_ns = dispatched,
                                .finished_ns = finished,
                                .cold = cold};
    assert_int_equal(res_stream_request(s, &r), 0);
}

static void load(struct res_stream *s, int model, enum core_reason reason, int64_t enq, int64_t fin,
                 const char *outcome)
{
    struct res_load_row l = {.model = model,
                             .reason = reason,
                             .enqueued_ns = enq,
                             .started_ns = enq,
                             .finished_ns = fin};
    assert_int_equal(res_stream_load(s, &l, outcome), 0);
}

/* Latencies 1, 2, ..., n ms for model a. R type 7 on x[i] = (i + 1) ms:
 * h = (n - 1) p, value (floor h + 1) ms + frac(h) ms. */
static void quantiles(int n, bool exact)
{
    struct core_spec *spec = two_models();
    struct res_stream *s;
    assert_int_equal(res_stream_new(spec, &s), 0);
    for (int i = 1; i <= n; i++)
        request(s, 0, 0, 0, (int64_t)i * 1000000, false);
    struct res_stream_requests q;
    assert_int_equal(res_stream_requests(s, NULL, &q), 0);
    assert_int_equal(q.served, n);
    assert_true(q.have[0] && q.have[2] && !q.have[1]); /* all and warm; no cold */
    assert_true(q.exact[0] == exact);
    double ps[2] = {0.50, 0.99}, got[2] = {q.p50[0], q.p99[0]};
    for (int k = 0; k < 2; k++) {
        double h = (n - 1) * ps[k];
        double want = (floor(h) + 1 + (h - floor(h))) * 1e-3;
        if (exact)
            assert_true(fabs(got[k] - want) <= 1e-12 * want);
        else
            assert_true(fabs(got[k] - want) <= ldexp(want, -10));
    }
    /* the same per model; model b had none */
    assert_int_equal(res_stream_requests(s, "a", &q), 0);
    assert_int_equal(q.served, n);
    assert_int_equal(res_stream_requests(s, "b", &q), 0);
    assert_int_equal(q.served, 0);
    assert_false(q.have[0]);
    res_stream_free(s);
    free_spec(spec);
}

static void test_quantiles_exact(void **state)
{
    (void)state;
    quantiles(1000, true);
    quantiles(RES_STREAM_EXACT, true);
}

static void test_quantiles_sketch(void **state)
{
    (void)state;
    quantiles(RES_STREAM_EXACT + 1, false);
    quantiles(50000, false);
}

/* The histogram's buckets at an octave's edges, RES_STREAM_EXACT + 1 equal
 * latencies (a sketch) each time, so every quantile is the one bucket's
 * midpoint. 1 s = m 2^e with m = 0.5, e = 1: sub-bucket (m - 0.5) 2 512 = 0
 * of octave 1, midpoint (0.5 + 0.5 / 1024) 2 = 1.0009765625. 0.999999999 s
 * (finished at 10^9 - 1 ns): m = 0.999999999, e = 0, sub-bucket
 * floor(0.499999999 1024) = 511, the last, midpoint 0.5 + 511.5 / 1024 =
 * 0.99951171875. With one model the run's quantiles are the model's. */
static void test_sketch_edges(void **state)
{
    (void)state;
    struct core_spec *spec = two_models();
    spec->model_count = 1;
    int64_t fin[2] = {S, S - 1};
    double mids[2] = {1.0009765625, 0.99951171875};
    for (int k = 0; k < 2; k++) {
        struct res_stream *s;
        assert_int_equal(res_stream_new(spec, &s), 0);
        for (int i = 0; i <= RES_STREAM_EXACT; i++)
            request(s, 0, 0, 0, fin[k], false);
        struct res_stream_requests q, qm;
        assert_int_equal(res_stream_requests(s, NULL, &q), 0);
        assert_int_equal(res_stream_requests(s, "a", &qm), 0);
        assert_false(q.exact[0]);
        assert_int_equal(q.served, RES_STREAM_EXACT + 1);
        assert_true(q.p50[0] == mids[k] && q.p99[0] == mids[k]);
        assert_true(qm.p50[0] == q.p50[0] && qm.p99[0] == q.p99[0] && qm.served == q.served);
        res_stream_free(s);
    }
    spec->model_count = 2;
    free_spec(spec);
}

/* Counts: unserved (never dispatched), in service at the end, cold, and a
 * model never served. */
static void test_counts(void **state)
{
    (void)state;
    struct core_spec *spec = two_models();
    struct res_stream *s;
    assert_int_equal(res_stream_new(spec, &s), 0);
    request(s, 0, 0, 1 * S, 2 * S, true);
    request(s, 0, 0, 1 * S, -1, false); /* in service at the end */
    request(s, 1, 3 * S, -1, -1, false);
    request(s, 1, 4 * S, -1, -1, true); /* b: never served; one cold */
    struct res_stream_requests q;
    assert_int_equal(res_stream_requests(s, NULL, &q), 0);
    assert_int_equal(q.served, 1);
    assert_int_equal(q.in_service, 1);
    assert_int_equal(q.unserved, 2);
    assert_int_equal(q.cold, 2);
    assert_int_equal(q.never_served, 1);
    double first;
    uint64_t count;
    assert_int_equal(res_stream_never_served(s, 1, &first, &count), 1);
    assert_true(first == 3.0 && count == 2);
    assert_int_equal(res_stream_never_served(s, 0, &first, &count), 0);
    assert_true(res_stream_last_s(s, false) == 4.0); /* the last arrival */
    assert_true(res_stream_last_s(s, true) == 2.0);  /* the last finish */
    res_stream_free(s);
    free_spec(spec);
}

/* Which standby loads are cold (the end is 100 s):
 *   L1 [10, 20) model a: the request waiting [15, 16) was recorded after it: cold;
 *   L2 [30, 40) model a: a request waited [25, 31), recorded before it: cold;
 *   L3 [50, 60) model a: the only waits end at 16 and 31: not cold;
 *   L4 [70, end) model a, still queued: a request arrived at 80 and never
 *      dispatched waits [80, end): cold (at the end);
 *   L5 [5, 9) model b: b's request arrived at 9 = its end (open interval): not cold;
 *   L6 [0, 1) model b, demand: cold by its reason.
 * Latencies: L1 10, L2 10, L4 30 (unfinished), L6 1. */
static void test_cold_classification(void **state)
{
    (void)state;
    struct core_spec *spec = two_models();
    struct res_stream *s;
    assert_int_equal(res_stream_new(spec, &s), 0);
    load(s, 1, CORE_REASON_DEMAND, 0, 1 * S, "ok");                /* L6 */
    load(s, 1, CORE_REASON_STANDBY, 5 * S, 9 * S, "ok");           /* L5 */
    load(s, 0, CORE_REASON_STANDBY, 10 * S, 20 * S, "ok");         /* L1 */
    request(s, 0, 15 * S, 16 * S, 17 * S, false);                  /* waited [15, 16) */
    request(s, 1, 9 * S, 12 * S, 13 * S, false);                   /* waited [9, 12) */
    request(s, 0, 25 * S, 31 * S, 32 * S, false);                  /* waited [25, 31) */
    load(s, 0, CORE_REASON_STANDBY, 30 * S, 40 * S, "ok");         /* L2 */
    load(s, 0, CORE_REASON_STANDBY, 50 * S, 60 * S, "ok");         /* L3 */
    load(s, 0, CORE_REASON_SCALE_UP, 20 * S, 25 * S, "cancelled"); /* not a cold start */
    load(s, 0, CORE_REASON_STANDBY, 70 * S, -1, "queued");         /* L4 */
    request(s, 0, 80 * S, -1, -1, false);                          /* waits to the end */
    double *v;
    size_t n, unfinished;
    assert_int_equal(res_stream_cold_starts(s, NULL, 100.0, &v, &n, &unfinished), 0);
    assert_int_equal(n, 4);
    assert_int_equal(unfinished, 1);
    double want[] = {1, 10, 10, 30};
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(v[i] - want[i]) < 1e-9);
    free(v);
    assert_int_equal(res_stream_cold_starts(s, "b", 100.0, &v, &n, &unfinished), 0);
    assert_int_equal(n, 1);
    assert_true(fabs(v[0] - 1) < 1e-9);
    free(v);
    res_stream_free(s);
    free_spec(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles_exact),
        cmocka_unit_test(test_quantiles_sketch),
        cmocka_unit_test(test_sketch_edges),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_cold_classification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

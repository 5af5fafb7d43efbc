/* test_mmc.c - queueing sanity of the simulator: Poisson arrivals to c hot
 * instances with exponential service and concurrency 1 form an M/M/c queue,
 * whose mean wait in queue is given by the Erlang C formula. The simulated
 * mean wait (dispatched - arrived, from the requests table) must agree
 * within the statistical error of a finite run. */
#include "sim_test_util.h"

/* Erlang C: the probability that an arrival waits, for c servers at offered
 * load a = lambda / mu (a < c):
 *   C(c, a) = (a^c / c!) / (1 - rho) / (sum_{k<c} a^k / k! + (a^c / c!) / (1 - rho)),
 * rho = a / c; the mean wait in queue is Wq = C / (c mu - lambda). */
static double erlang_c_wq(int c, double lambda, double mu)
{
    double a = lambda / mu, rho = a / c, term = 1, sum = 0;
    for (int k = 0; k < c; k++) {
        sum += term;
        term *= a / (k + 1);
    }
    double top = term / (1 - rho); /* term is now a^c / c! */
    double pw = top / (sum + top);
    return pw / (c * mu - lambda);
}

static void mmc_mean_wait_matches_erlang_c(void **state)
{
    (void)state;
    /* By hand for c = 4, lambda = 3/s, mu = 1/s: a = 3, rho = 0.75;
     * sum_{k<4} 3^k/k! = 1 + 3 + 4.5 + 4.5 = 13; 3^4/4! = 3.375, / 0.25 =
     * 13.5; C = 13.5 / 26.5 = 0.509434; Wq = 0.509434 / (4 - 3) = 0.509 s. */
    double wq = erlang_c_wq(4, 3.0, 1.0);
    assert_float_equal(wq, 13.5 / 26.5, 1e-12);

    struct simt t;
    simt_open(&t);
    struct core_spec *spec = simt_load("tests/sim/mmc.yaml", NULL);
    int64_t run = simt_run(&t, spec, NULL);

    /* Waits of requests arriving after a 1,000 s warm-up (the queue starts
     * empty, which biases early waits low), in arrival order. */
    sqlite3 *h = res_handle(t.db);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT dispatched - arrived FROM requests WHERE run = ?1 "
                                        "AND arrived >= 1000 AND dispatched IS NOT NULL "
                                        "ORDER BY arrived, request_id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    enum { BATCHES = 40 };
    enum { MAX = 160000 };
    double *w = malloc(MAX * sizeof *w);
    assert_non_null(w);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < MAX)
        w[n++] = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    /* 49,000 s at 3/s: about 147,000 requests (sd 383). */
    assert_true(n > 145000 && n < 149000);

    /* Tolerance: the standard error of the mean wait. Successive waits are
     * correlated (a long queue persists), so the naive sd / sqrt(n) is too
     * small; the batch-means estimate (40 consecutive batches, whose means
     * are nearly independent) accounts for it. A correct simulator lands
     * within 4 standard errors with probability > 99.99%. */
    double mean = 0, bm[BATCHES];
    int per = n / BATCHES;
    for (int b = 0; b < BATCHES; b++) {
        double s = 0;
        for (int i = b * per; i < (b + 1) * per; i++)
            s += w[i];
        bm[b] = s / per;
        mean += bm[b] / BATCHES;
    }
    double var = 0;
    for (int b = 0; b < BATCHES; b++)
        var += (bm[b] - mean) * (bm[b] - mean);
    double se = sqrt(var / (BATCHES - 1) / BATCHES);
    print_message("M/M/4 rho 0.75: simulated Wq %.4f s over %d requests, Erlang C %.4f s, "
                  "SE %.4f s (%.1f SE apart)\n",
                  mean, n, wq, se, fabs(mean - wq) / se);
    /* The run is long enough for the check to bite: SE under 5% of Wq
     * (about 3.5% expected at this length). */
    assert_true(se < 0.05 * wq);
    assert_true(fabs(mean - wq) < 4 * se);
    /* Every request arrived before the end was served: no loss in M/M/c. */
    assert_true(simt_num(&t, run,
                         "SELECT COUNT(*) FROM requests WHERE run = ?1 AND arrived < 49900 "
                         "AND finished IS NULL") == 0);
    /* No cold start: the four instances were READY at t=0. */
    assert_true(simt_num(&t, run, "SELECT COUNT(*) FROM loads WHERE run = ?1") == 0);
    free(w);
    core_spec_free(spec);
    simt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mmc_mean_wait_matches_erlang_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

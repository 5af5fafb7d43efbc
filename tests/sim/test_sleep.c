/* test_sleep.c - sleep-mode standby in the simulator: a sleeping instance
 * wakes with a host-to-device copy plus the model's wake cost, skipping
 * init and the startup phases; the run records sleeps, wakes, the wake
 * latency and the sleep hit rate. Figures derived by hand from
 * tests/sim/sleep.yaml. */
#include "sim_test_util.h"

#define EPS 1e-6

static void sleep_then_wake(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    struct core_spec *spec = simt_load("tests/sim/sleep.yaml", NULL);
    int64_t run = simt_run(&t, spec, NULL);
    core_spec_free(spec);
    /* A at 0 s: init 2 + bootstrap 5 + 30 GB at min(1, 10) GB/s = 30: READY
     * at 37 s, served 37..38. B at 50 s: A sleeps (no eviction), B loads
     * 2 + 30: READY 82 s, served 82..83. A at 100 s: B is evicted and A
     * wakes: 30 GB back at 10 GB/s = 3 s + wake 0.5 s: READY at 103.5 s,
     * served 103.5..104.5 (a 4.5 s request). */
    assert_float_equal(simt_num(&t, run, "SELECT MAX(finished) FROM requests WHERE run = ?1"),
                       104.5, EPS);
    assert_float_equal(simt_num(&t, run,
                                "SELECT finished - arrived FROM requests WHERE run = ?1 "
                                "AND arrived = 100"),
                       4.5, EPS);
    /* wake latency = copy + wake cost = 3.5 s; one sleep, one wake; A was
     * never cold-loaded again (its first load is no miss): 1 / (1 + 0) */
    assert_float_equal(simt_metric(&t, run, "wake_latency_mean_s"), 3.5, EPS);
    assert_float_equal(simt_metric(&t, run, "sleeps"), 1, EPS);
    assert_float_equal(simt_metric(&t, run, "wakes"), 1, EPS);
    assert_float_equal(simt_metric(&t, run, "sleep_hit_rate"), 1, EPS);
    /* with host memory too small for A's 30 GB, A is evicted and cold-loads
     * again: no sleep, so no sleep metrics at all */
    const char *const small[] = {"cluster.nodes[0].host_memory=20GB", NULL};
    spec = simt_load("tests/sim/sleep.yaml", small);
    int64_t run2 = simt_run(&t, spec, NULL);
    core_spec_free(spec);
    assert_true(isnan(simt_metric(&t, run2, "sleeps")));
    /* A's second load: 2 + 5 + 30 = 37 s from 100 s: READY 137, served 138 */
    assert_float_equal(simt_num(&t, run2, "SELECT MAX(finished) FROM requests WHERE run = ?1"), 138,
                       EPS);
    /* the wake is no cold load: two loads rows (A's and B's) */
    assert_int_equal((int)simt_num(&t, run, "SELECT COUNT(*) FROM loads WHERE run = ?1"), 2);
    simt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sleep_then_wake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

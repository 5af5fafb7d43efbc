/* test_driver.c - what the sim driver adds around the core: a load is init,
 * CPU phases (flows over the node's cores, one core each at most), the copy
 * (a flow over storage or shm, the GPU's link and the PCIe switch), more
 * phases and warm-up; requests are served for their drawn time; a GPU fault
 * stops a copy and hands its bandwidth to the others. Each figure is derived
 * by hand from tests/sim/contention.yaml and contention-fault.yaml. */
#include "sim_test_util.h"

#define EPS 1e-6

static double ready_at(struct simt *t, const char *const *kv, int64_t *run_out)
{
    struct core_spec *spec = simt_load("tests/sim/contention.yaml", kv);
    int64_t run = simt_run(t, spec, NULL);
    core_spec_free(spec);
    if (run_out) *run_out = run;
    /* All four loads start at 0 together, so they all end together. */
    assert_float_equal(simt_num(t, run, "SELECT MIN(finished) FROM loads WHERE run = ?1"),
                       simt_num(t, run, "SELECT MAX(finished) FROM loads WHERE run = ?1"), EPS);
    assert_int_equal((int)simt_num(t, run,
                                   "SELECT COUNT(*) FROM loads WHERE run = ?1 AND "
                                   "outcome = 'ok' AND started = 0"),
                     4);
    return simt_num(t, run, "SELECT MAX(finished) FROM loads WHERE run = ?1");
}

static void phases_share_cores(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    int64_t run;
    /* 2 cores, four loads at t=0 (init 0):
     *   bootstrap 8 core-s each, 4 on 2 cores: 0.5 core each -> 16 s;
     *   copy 1 GiB each over its own 1 GiB/s link (storage 64 GiB/s) -> 17 s;
     *   compile: the cache always hits (p = 1), 2 core-s, 0.5 core -> 21 s;
     *   capture: a 3 s wait -> 24 s; warm-up 0: ready at 24 s.
     * Each request (1 s of service) then finishes at 25 s. */
    assert_float_equal(ready_at(&t, NULL, &run), 24, EPS);
    assert_float_equal(simt_num(&t, run, "SELECT MAX(finished) FROM requests WHERE run = ?1"), 25,
                       EPS);
    assert_int_equal((int)simt_num(&t, run, "SELECT SUM(cold) FROM requests WHERE run = ?1"), 4);
    /* 8 cores: every phase gets its one-core cap: 8 + 1 + 2 + 3 = 14 s. */
    const char *const cores8[] = {"cluster.nodes[0].cpu_cores=8", NULL};
    assert_float_equal(ready_at(&t, cores8, NULL), 14, EPS);
    /* 8 cores and a 1 GiB/s PCIe switch: the four copies share it, 4 GiB at
     * 1 GiB/s = 4 s instead of 1: 8 + 4 + 2 + 3 = 17 s. */
    const char *const sw[] = {"cluster.nodes[0].cpu_cores=8", "cluster.nodes[0].pcie_switch=1GiB/s",
                              NULL};
    assert_float_equal(ready_at(&t, sw, NULL), 17, EPS);
    /* A cache that never hits: compile is 30 core-s; with 8 cores at one
     * core each: 8 + 1 + 30 + 3 = 42 s. */
    const char *const miss[] = {"cluster.nodes[0].cpu_cores=8", "models[0].phases[1].cache_hit=0",
                                NULL};
    assert_float_equal(ready_at(&t, miss, NULL), 42, EPS);
    simt_close(&t);
}

/* load_phases of the default contention run (derivation in
 * phases_share_cores): every load goes queued [0,0], init [0,0], bootstrap
 * (cpu) [0,16], copy [16,17], compile (cpu) [17,21], capture [21,24],
 * warm-up [24,24]: seven rows each, 28 in all, and a load's phases add up
 * to its finished - enqueued. */
static void phases_recorded(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    int64_t run;
    ready_at(&t, NULL, &run);
    assert_int_equal((int)simt_num(&t, run, "SELECT count(*) FROM load_phases WHERE run = ?1"), 28);
    static const struct {
        int seq;
        const char *where;
        double start, end;
    } want[] = {
        {0, "phase = 'queued' AND name IS NULL AND cpu = 0", 0, 0},
        {1, "phase = 'init' AND name IS NULL", 0, 0},
        {2, "phase = 'startup' AND name = 'bootstrap' AND cpu = 1", 0, 16},
        {3, "phase = 'copy'", 16, 17},
        {4, "phase = 'startup' AND name = 'compile' AND cpu = 1", 17, 21},
        {5, "phase = 'startup' AND name = 'capture' AND cpu = 0", 21, 24},
        {6, "phase = 'warmup'", 24, 24},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM load_phases WHERE run = ?1 AND seq = %d AND %s AND "
                 "abs(started - %g) < 1e-6 AND abs(finished - %g) < 1e-6",
                 want[i].seq, want[i].where, want[i].start, want[i].end);
        assert_int_equal((int)simt_num(&t, run, sql), 4);
    }
    assert_float_equal(simt_num(&t, run,
                                "SELECT max(abs(l.finished - l.enqueued - (SELECT sum(p.finished - "
                                "p.started) FROM load_phases p WHERE p.run = l.run AND p.load_id = "
                                "l.load_id))) FROM loads l WHERE l.run = ?1"),
                       0, EPS);
    simt_close(&t);
}

/* What the executor pays, as scenario keys (default 0: nothing changes).
 * verify on contention.yaml with 8 cores (14 s without, phases_share_cores):
 * each load checksums 1 GiB at 1 GiB/s = 1 core-s after its copy, four on
 * 8 cores at one core each: 1 s more, ready at 15 s, with a verify phase
 * [9, 10] (bootstrap 8 s, copy 1 s) per load.
 * shm.per_load on shm-per-load.yaml: two 1 GiB loads from shm at 10 s
 * share read 8 GB/s: 4 GB/s each, 2^30 / 4e9 = 0.268435456 s; capped at
 * 2 GB/s each they take 2^30 / 2e9 = 0.536870912 s. */
static void executor_costs(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    int64_t run;
    const char *const v[] = {"cluster.nodes[0].cpu_cores=8", "cluster.nodes[0].verify=1GiB/s",
                             NULL};
    assert_float_equal(ready_at(&t, v, &run), 15, EPS);
    assert_int_equal((int)simt_num(&t, run,
                                   "SELECT count(*) FROM load_phases WHERE run = ?1 AND phase = "
                                   "'verify' AND abs(started - 9) < 1e-6 AND abs(finished - 10) "
                                   "< 1e-6"),
                     4);
    for (int capped = 0; capped < 2; capped++) {
        const char *const kv[] = {capped ? "cluster.nodes[0].shm.per_load=2GB/s" : NULL, NULL};
        struct core_spec *spec = simt_load("tests/sim/shm-per-load.yaml", kv);
        run = simt_run(&t, spec, NULL);
        core_spec_free(spec);
        double want = capped ? 1073741824.0 / 2e9 : 1073741824.0 / 4e9;
        assert_int_equal((int)simt_num(&t, run,
                                       "SELECT count(*) FROM loads WHERE run = ?1 AND source = "
                                       "'shm' AND outcome = 'ok' AND started = 10"),
                         2);
        assert_float_equal(
            simt_num(&t, run, "SELECT max(finished - started) FROM loads WHERE run = ?1"), want,
            EPS);
    }
    simt_close(&t);
}

static void unrecorded_run_counts_events(void **state)
{
    (void)state;
    /* Without a database nothing is written, and the run still happens:
     * events are counted and the clock ends at the last request, 25 s. */
    struct core_spec *spec = simt_load("tests/sim/contention.yaml", NULL);
    struct sim_result res;
    assert_int_equal(simt_run(NULL, spec, &res), 0);
    assert_int_equal(res.rows, 0);
    assert_true(res.events >= 4 * 6);
    assert_int_equal(res.end_ns, 25000000000LL);
    core_spec_free(spec);
}

static void gpu_fault_mid_copy(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    struct core_spec *spec = simt_load("tests/sim/contention-fault.yaml", NULL);
    int64_t run = simt_run(&t, spec, NULL);
    core_spec_free(spec);
    /* 8 cores, 1 GiB/s switch: bootstraps end at 8 s; the four copies share
     * the switch at 0.25 GiB/s. At 9 s each has 0.75 GiB left and gpu0 dies:
     * m-0's load fails (its flow stops), and the three others share 1 GiB/s
     * at 1/3 GiB/s: 0.75 / (1/3) = 2.25 s, copies end at 11.25 s; compile 2 s
     * and capture 3 s: ready at 16.25 s (17 s without the fault).
     * m-0's request still waits, so the core queues a demand load at 9 s; it
     * starts when a GPU's load slot frees, at 16.25 s (gpu1, first fit), and
     * runs alone: 8 + 1 + 2 + 3 = 14 s, ready at 30.25 s. */
    assert_float_equal(simt_num(&t, run,
                                "SELECT MAX(finished) FROM loads WHERE run = ?1 AND "
                                "model <> 'm-0'"),
                       16.25, EPS);
    assert_int_equal((int)simt_num(&t, run,
                                   "SELECT COUNT(*) FROM loads WHERE run = ?1 AND "
                                   "model = 'm-0' AND outcome = 'failed' AND "
                                   "finished IS NULL AND gpu_name = 'n/gpu0'"),
                     1);
    assert_float_equal(simt_num(&t, run,
                                "SELECT enqueued FROM loads WHERE run = ?1 AND "
                                "model = 'm-0' AND outcome = 'ok'"),
                       9, EPS);
    assert_float_equal(simt_num(&t, run,
                                "SELECT started FROM loads WHERE run = ?1 AND "
                                "model = 'm-0' AND outcome = 'ok'"),
                       16.25, EPS);
    assert_float_equal(simt_num(&t, run,
                                "SELECT finished FROM loads WHERE run = ?1 AND "
                                "model = 'm-0' AND outcome = 'ok'"),
                       30.25, EPS);
    /* The fault is recorded, never recovered. */
    assert_float_equal(simt_num(&t, run,
                                "SELECT t FROM faults WHERE run = ?1 AND "
                                "target = 'n/gpu0' AND recovered IS NULL"),
                       9, EPS);
    simt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phases_share_cores), cmocka_unit_test(phases_recorded),
        cmocka_unit_test(executor_costs),     cmocka_unit_test(unrecorded_run_counts_events),
        cmocka_unit_test(gpu_fault_mid_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

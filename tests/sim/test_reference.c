/* test_reference.c - the reference figures of DESIGN.md, reproduced by the
 * simulator on the reference scenarios (scenarios/) and read back from
 * the rows it recorded. Every expected figure is derived by hand in the
 * comment above its assertion; the tables are printed beside the design
 * article's figures (docs/reference-figures.md explains the differences). */
#include "sim_test_util.h"

#define GIB 1073741824.0
#define MIB 1048576.0
#define EPS 1e-6 /* seconds: rows store seconds as REAL; loads land on whole ns */

/* Makespan of a scaling run: the last load's finish (every model is needed
 * at t=0, so this is also max finished - min enqueued). */
static double scaling_run(struct simt *t, int n, const char *variant)
{
    char count[64];
    snprintf(count, sizeof count, "models[0].count=%d", n);
    const char *const kv[] = {count, variant, NULL};
    struct core_spec *spec = simt_load("scenarios/scaling.yaml", kv);
    int64_t run = simt_run(t, spec, NULL);
    core_spec_free(spec);
    assert_int_equal((int)simt_num(t, run,
                                   "SELECT COUNT(*) FROM loads WHERE run = ?1 AND "
                                   "outcome = 'ok'"),
                     n);
    return simt_num(t, run, "SELECT MAX(finished) FROM loads WHERE run = ?1");
}

static void scaling_table(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    const int ns[4] = {1, 2, 4, 8};
    /* scaling.yaml: N models of 14 GiB on one node of 8 GPUs (24 GiB each),
     * h2d 512 MiB/s per GPU, storage 64 GiB/s, init 2 s, one request per
     * model at t=0, service 1 s. A lone load: 2 s + 14 GiB / 512 MiB/s =
     * 2 + 28 = 30 s.
     * - parallel (as written): each copy is bound by its own GPU's link; the
     *   N copies share storage at N x 512 MiB/s <= 4 GiB/s, far below 64
     *   GiB/s: every load takes 30 s, makespan 30 for every N.
     * - serial (max_loads_per_node=1): one load at a time: 30 N = 30, 60,
     *   120, 240.
     * - shared storage (storage_read=512MiB/s): the inits overlap (2 s), then
     *   N copies share 512 MiB/s, each at 512/N MiB/s, all ending together:
     *   2 + 28 N = 30, 58, 114, 226.
     * - VRAM (gpus=2; 24 GiB holds one 14 GiB model): waves of two. A wave's
     *   loads end at 30 s after it starts; their requests then take 1 s, and
     *   only an idle instance may be evicted, so the next wave starts 31 s
     *   after the previous: makespan 30 + 31 (ceil(N/2) - 1) = 30, 30, 61,
     *   123. */
    const char *variants[4] = {NULL, "policy.max_loads_per_node=1",
                               "cluster.nodes[0].storage_read=512MiB/s", "cluster.nodes[0].gpus=2"};
    const double want[4][4] = {
        {30, 30, 30, 30}, {30, 60, 120, 240}, {30, 58, 114, 226}, {30, 30, 61, 123}};
    double got[4][4];
    for (int v = 0; v < 4; v++)
        for (int i = 0; i < 4; i++)
            got[v][i] = scaling_run(&t, ns[i], variants[v]);
    print_message("scaling.yaml, makespan in s (thaw vs the design article)\n");
    print_message("%-36s %7s %7s %7s %7s   %s\n", "", "N=1", "N=2", "N=4", "N=8", "article");
    const char *labels[4] = {"parallel, independent bandwidth", "serial (max_loads_per_node=1)",
                             "contended: shared 512 MiB/s storage",
                             "contended: 2 GPUs (VRAM for 2)"};
    const char *article[4] = {"30 30 30 30", "30 60 120 240", "30 50 80 150", "30 50 80 150"};
    for (int v = 0; v < 4; v++)
        print_message("%-36s %7.1f %7.1f %7.1f %7.1f   %s\n", labels[v], got[v][0], got[v][1],
                      got[v][2], got[v][3], article[v]);
    for (int v = 0; v < 4; v++)
        for (int i = 0; i < 4; i++)
            assert_float_equal(got[v][i], want[v][i], EPS);
    simt_close(&t);
}

static void chained_cold_start(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    struct core_spec *spec = simt_load("scenarios/chained-cold-start.yaml", NULL);
    int64_t run = simt_run(&t, spec, NULL);
    core_spec_free(spec);
    /* chained-cold-start.yaml: A, B, C (14 GiB each) lose their primary GPUs
     * at 0, 10 and 15 s (each primary GPU holds one model, so they all fail
     * over to backup/gpu0: 48 GiB holds all three). backup reads storage at
     * 512 MiB/s, init 2 s, warm-up 0: one load is 2 + 28 = 30 s; at most one
     * load at a time on the node, FIFO:
     *   A: enqueued 0,  starts 0,  waits 0,  ready 30
     *   B: enqueued 10, starts 30, waits 20, ready 60
     *   C: enqueued 15, starts 60, waits 45, ready 90
     * All three serve at 90 s; ideal (each alone, from its own failure):
     * A 30, B 40, C 45, so 45 s. */
    const char *names[3] = {"A", "B", "C"};
    const double enq[3] = {0, 10, 15}, start[3] = {0, 30, 60}, fin[3] = {30, 60, 90};
    print_message("chained-cold-start.yaml: loads on backup/gpu0\n");
    print_message("%-6s %9s %9s %9s %9s\n", "model", "enqueued", "started", "wait", "finished");
    for (int i = 0; i < 3; i++) {
        char sql[256];
        double v[3];
        const char *col[3] = {"enqueued", "started", "finished"};
        for (int c = 0; c < 3; c++) {
            snprintf(sql, sizeof sql,
                     "SELECT %s FROM loads WHERE run = ?1 AND model = '%s' AND outcome = 'ok' "
                     "AND gpu_name = 'backup/gpu0'",
                     col[c], names[i]);
            v[c] = simt_num(&t, run, sql);
        }
        print_message("%-6s %9.3f %9.3f %9.3f %9.3f\n", names[i], v[0], v[1], v[1] - v[0], v[2]);
        assert_float_equal(v[0], enq[i], EPS);
        assert_float_equal(v[1], start[i], EPS);
        assert_float_equal(v[2], fin[i], EPS);
    }
    double total = simt_num(&t, run, "SELECT MAX(finished) FROM loads WHERE run = ?1");
    print_message(
        "all serving at %.1f s; ideal (each load alone) %.1f s; the article: 65 s vs 30 s\n", total,
        45.0);
    assert_float_equal(total, 90, EPS);
    assert_int_equal((int)simt_num(&t, run, "SELECT COUNT(*) FROM loads WHERE run = ?1"), 3);
    simt_close(&t);
}

static void failover_standby_claim(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* failover-standby.yaml: node primary dies at 90 s; four models move to
     * backup (800 MB/s storage, shm 20 GB/s read, init 2 s, one load at a
     * time). Sizes: critical 28 GiB = 30.064771072 GB, high 14 GiB =
     * 15.032385536 GB, normal-a and normal-b 7 GiB = 7.516192768 GB.
     * Recovery of a model = fault -> its replacement READY.
     *
     * Baseline (fifo, cold standby, shm off), from storage at 0.8 GB/s:
     *   critical 2 + 37.58096384 = 39.58096384
     *   high     2 + 18.79048192 = 20.79048192 -> ready 60.37144576
     *   normal-a 2 +  9.39524096 = 11.39524096 -> ready 71.76668672
     *   normal-b                               -> ready 83.16192768
     *   mean = 254.881024 / 4 = 63.720256 s (over 60 s).
     *
     * Optimized (priority, shm preload, locality, warm standbys): backup's
     * shm is filled from t=0 (60.13 GB at 0.8 GB/s: done at 75.2 s, before
     * the fault), so every load reads shm at 20 GB/s (h2d 25 GB/s is wider):
     *   critical 2 + 1.5032385536 = 3.5032385536
     *   high     2 + 0.7516192768 -> ready 6.2548578304
     *   normal-a 2 + 0.3758096384 -> ready 8.6306674688
     *   normal-b                  -> ready 11.0064771072
     *   mean = 29.39524096 / 4 = 7.34881024 s (under 15 s). */
    struct core_spec *spec = simt_load("scenarios/failover-standby.yaml", NULL);
    int64_t base = simt_run(&t, spec, NULL);
    core_spec_free(spec);
    const char *const opt[] = {"policy.queue=priority",     "policy.shm=preload",
                               "policy.placement=locality", "models[0].standby=warm",
                               "models[1].standby=warm",    "models[2].standby=warm",
                               "models[3].standby=warm",    NULL};
    spec = simt_load("scenarios/failover-standby.yaml", opt);
    int64_t best = simt_run(&t, spec, NULL);
    core_spec_free(spec);
    /* Recovery from the rows themselves: failover loads' finish - fault. */
    const char *sql = "SELECT AVG(l.finished - f.t) FROM loads l, faults f WHERE l.run = ?1 AND "
                      "f.run = ?1 AND l.reason = 'failover' AND l.outcome = 'ok'";
    double r_base = simt_num(&t, base, sql), r_best = simt_num(&t, best, sql);
    print_message("failover-standby.yaml: mean recovery %.3f s (baseline) -> %.3f s (optimized); "
                  "the article: over 60 s -> under 15 s\n",
                  r_base, r_best);
    assert_float_equal(r_base, 63.720256, EPS);
    assert_float_equal(r_best, 7.34881024, EPS);
    assert_true(r_base > 60 && r_best < 15);
    /* The shared metric agrees (results/metrics.c computes it from rows). */
    assert_float_equal(simt_metric(&t, base, "recovery_mean_s"), 63.720256, EPS);
    assert_float_equal(simt_metric(&t, best, "recovery_mean_s"), 7.34881024, EPS);
    /* Every optimized load read shm; none of the baseline's did. */
    assert_int_equal((int)simt_num(&t, best,
                                   "SELECT COUNT(*) FROM loads WHERE run = ?1 AND "
                                   "source = 'shm' AND reason = 'failover'"),
                     4);
    assert_int_equal((int)simt_num(&t, base,
                                   "SELECT COUNT(*) FROM loads WHERE run = ?1 AND "
                                   "source = 'shm'"),
                     0);
    /* The preload: one fill at a time on backup, critical first, each a flow
     * over [storage 0.8 GB/s, shm write 2 GB/s], so at 0.8 GB/s: done at
     * 37.58096384, + 18.79048192 = 56.37144576, + 9.39524096 = 65.76668672
     * and 75.16192768 s (the core's input events record when). */
    const double fills[4] = {37.58096384, 56.37144576, 65.76668672, 75.16192768};
    for (int i = 0; i < 4; i++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT t_ns / 1e9 FROM core_events WHERE run = ?1 AND kind = "
                 "'SHM_FILL_FINISHED' ORDER BY seq LIMIT 1 OFFSET %d",
                 i);
        assert_float_equal(simt_num(&t, best, sql), fills[i], EPS);
    }
    simt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scaling_table),
        cmocka_unit_test(chained_cold_start),
        cmocka_unit_test(failover_standby_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

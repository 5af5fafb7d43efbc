/* test_tp.c - a tensor-parallel load in the simulator: k shard copies in
 * parallel, each over its own GPU's link, sharing the node's storage; the
 * instance is READY when the slowest shard (and the phases) are done.
 * Every figure is derived by hand from tests/sim/tp.yaml. */
#include "sim_test_util.h"

#define EPS 1e-6

/* READY time of the one load (its `finished`), the request's end, and the
 * load's recorded GPU (the gang's first). */
static double ready_at(struct simt *t, const char *const *kv, double *served, int *gpu)
{
    struct core_spec *spec = simt_load("tests/sim/tp.yaml", kv);
    int64_t run = simt_run(t, spec, NULL);
    core_spec_free(spec);
    assert_int_equal(
        (int)simt_num(t, run, "SELECT COUNT(*) FROM loads WHERE run = ?1 AND outcome = 'ok'"), 1);
    if (served) *served = simt_num(t, run, "SELECT MAX(finished) FROM requests WHERE run = ?1");
    if (gpu) *gpu = (int)simt_num(t, run, "SELECT gpu FROM loads WHERE run = ?1");
    return simt_num(t, run, "SELECT finished FROM loads WHERE run = ?1");
}

static void tp4_ready_at_slowest_shard(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    double served;
    int gpu;
    /* tp 4: four 10 GB shards. Storage 35 GB/s shared max-min: g3's shard
     * is held to its 5 GB/s link, the other three share 30 -> 10 each (their
     * link cap). g0..g2 finish at 1 s (init) + 1 s, g3 at 1 + 2 = 3 s: READY
     * at 3 s, the request (1 s) ends at 4 s. */
    assert_float_equal(ready_at(&t, NULL, &served, &gpu), 3, EPS);
    assert_float_equal(served, 4, EPS);
    assert_int_equal(gpu, 0);
    /* Gang fragmentation: 12 GB GPUs; the 44 GB footprint takes 11 GB on
     * each from t = 0 (the load starts at once) to the end (4 s), leaving
     * 1 GB on each that no tp 4 gang can use: 4 GB of 48 all along: 1/12. */
    const char *const tight[] = {"cluster.nodes[0].vram=12GB", NULL};
    struct core_spec *spec = simt_load("tests/sim/tp.yaml", tight);
    int64_t run = simt_run(&t, spec, NULL);
    core_spec_free(spec);
    assert_float_equal(simt_metric(&t, run, "vram_gang_stranded_mean"), 1.0 / 12, EPS);
    /* The same model at tp 1 on g0: 40 GB at min(35, 10) = 10 GB/s: 1 + 4 = 5 s. */
    const char *const tp1[] = {"models[0].tp=1", NULL};
    assert_float_equal(ready_at(&t, tp1, NULL, NULL), 5, EPS);
    simt_close(&t);
}

static void tp2_shards_share_storage(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* tp 2 (first_fit: g0, g1), g1's link down to 5 GB/s: two 20 GB shards;
     * storage 35 is not the limit: g0 20/10 = 2 s, g1 20/5 = 4 s: READY at
     * 1 + 4 = 5 s (the slowest shard). */
    const char *const slow[] = {"models[0].tp=2", "cluster.nodes[0].gpus[1].h2d=5GB/s", NULL};
    assert_float_equal(ready_at(&t, slow, NULL, NULL), 5, EPS);
    /* Storage down to 8 GB/s: the two shards share it, 4 GB/s each (both
     * under their links): 20/4 = 5 s each: READY at 1 + 5 = 6 s. */
    const char *const shared[] = {"models[0].tp=2", "cluster.nodes[0].gpus[1].h2d=5GB/s",
                                  "cluster.nodes[0].storage_read=8GB/s", NULL};
    assert_float_equal(ready_at(&t, shared, NULL, NULL), 6, EPS);
    simt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tp4_ready_at_slowest_shard),
        cmocka_unit_test(tp2_shards_share_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

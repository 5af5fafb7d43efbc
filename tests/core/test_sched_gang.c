/* test_sched_gang.c - tensor-parallel instances (tp > 1, core/gang.c): a
 * gang reserves a 1/k share on k GPUs of one node at once or not at all,
 * is placed by each policy's gang form, waits for eviction to make room on
 * k GPUs (never starts partial), fails whole when any of its GPUs does,
 * and copies shard by shard from a READY tp k peer gang.
 * The invariant checker runs after every event (spec_fixture.h), so VRAM on
 * each GPU of a gang is recounted from the instances each time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spec_fixture.h"

static int fx_tp_model(struct fx *f, const char *name, uint64_t weights, int tp)
{
    int m = fx_model(f, name, weights, 1, 0, 1);
    f->models[m].tp = tp;
    return m;
}

/* One node of four 40 GiB GPUs; G (60 GiB, tp 2) needs 30 GiB on each of
 * two GPUs: first_fit takes gpu0 and gpu1. A second G-sized gang (tp 2) of
 * another model H then takes gpu2 and gpu3 (gpu0/1 have 10 GiB left); a
 * third, J, finds 10 GiB on every GPU and waits (no partial gang). */
static void test_tp2_reserves_share_on_two(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 4, 40 * GIB);
    int g = fx_tp_model(f, "G", 60 * GIB, 2);
    int h = fx_tp_model(f, "H", 60 * GIB, 2);
    int j = fx_tp_model(f, "J", 60 * GIB, 2);
    fx_start(f);
    fx_arrive(f, SEC(1), g, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=0 node=0 gpu=0");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=2 gang=0,1");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "state=loading reason=demand tp=2 gang=0,1");
    /* bytes and vram stay the whole instance's: 60 GiB = 64424509440 B */
    fx_expect(f, CORE_ACT_START_LOAD, 0, "bytes=64424509440 vram=64424509440");
    fx_arrive(f, SEC(2), h, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=1 node=0 gpu=2 ");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=2 gang=2,3");
    fx_arrive(f, SEC(3), j, 3);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    assert_int_equal(core_sched_queued_count(f->s), 1);
    /* every GPU has 10 GiB free and no tp 2 gang can use it (30 each) */
    assert_true(core_sched_gang_stranded_bytes(f->s) == 40 * GIB);
    fx_free(f);

    /* with G alone on gpu0+1: their 10 GiB each is stranded, gpu2 and 3
     * (40 free each) could still hold a gang: 20 GiB */
    f = fx_new(1, 4, 40 * GIB);
    g = fx_tp_model(f, "G", 60 * GIB, 2);
    fx_start(f);
    assert_true(core_sched_gang_stranded_bytes(f->s) == 0);
    fx_arrive(f, SEC(1), g, 1);
    assert_true(core_sched_gang_stranded_bytes(f->s) == 20 * GIB);
    fx_free(f);
}

/* tp 4 over a node of four GPUs (share 20 GiB of 80) and, on a node of
 * two, none: with two nodes (2 and 4 GPUs) the gang goes to node 1. */
static void test_tp4_needs_one_node(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, 3, 40 * GIB); /* 3 + 3 GPUs: no node has 4 */
    int g = fx_tp_model(f, "G", 80 * GIB, 4);
    fx_start(f);
    fx_arrive(f, SEC(1), g, 1);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0); /* never split over nodes */
    fx_free(f);

    f = fx_new(2, 4, 40 * GIB);
    g = fx_tp_model(f, "G", 80 * GIB, 4);
    fx_start(f);
    fx_arrive(f, SEC(1), g, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "node=0 gpu=0 ");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=4 gang=0,1,2,3");
    fx_loaded(f, SEC(5), 1, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=1 model=0 node=0 gpu=0 cold=1 tp=4");
    fx_free(f);
}

/* Two nodes of four 40 GiB GPUs, READY at start (one model each, kept by
 * replicas min 1): node 0: gpu0 P 10, gpu1 Q 25, gpu2 -, gpu3 R 28;
 * node 1: gpu4 S 20, gpu5 T 30, gpu6 -, gpu7 -. G (20 GiB, tp 2) needs 10
 * GiB on two GPUs of one node; free: node 0 30 15 40 12, node 1 20 10 40 40.
 *   first_fit: node 0, its two lowest: 0,1
 *   best_fit: leftovers node 0 20 5 30 2 -> 3 and 1 (7); node 1 10 0 30 30
 *     -> 5 and 4 (10): node 0, gang 1,3
 *   spread: reserved fractions node 0 .25 .625 0 .7 -> 2 and 0 (.25);
 *     node 1 .5 .75 0 0 -> 6 and 7 (0): node 1, gang 6,7
 *   locality: G's weights in node 1's shm: best fit within node 1: 4,5 */
static const char *place_gang(const char *policy)
{
    static char line[512];
    struct fx *f = fx_new(2, 4, 40 * GIB);
    strcpy(f->spec.policy.placement, policy);
    const uint64_t sizes[] = {10, 25, 0, 28, 20, 30, 0, 0};
    char name[8];
    for (int gpu = 0; gpu < 8; gpu++) {
        if (!sizes[gpu]) continue;
        snprintf(name, sizeof name, "M%d", gpu);
        int m = fx_model(f, name, sizes[gpu] * GIB, 1, 1, 1);
        fx_place(f, m, gpu);
    }
    int g = fx_tp_model(f, "G", 20 * GIB, 2);
    if (!strcmp(policy, "locality")) {
        strcpy(f->spec.policy.shm, "preload");
        f->nodes[1].shm_bytes = 64 * GIB;
        f->models[g].preload_to_shm = true;
    }
    fx_start(f);
    if (!strcmp(policy, "locality")) fx_filled(f, SEC(1), 1, g, true);
    fx_arrive(f, SEC(2), g, 1);
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    core_action_format(fx_nth(f, CORE_ACT_START_LOAD, 0), line, sizeof line);
    fx_free(f);
    return strstr(line, " tp=");
}

static void test_gang_policies(void **state)
{
    (void)state;
    assert_string_equal(place_gang("first_fit"), " tp=2 gang=0,1");
    assert_string_equal(place_gang("best_fit"), " tp=2 gang=1,3");
    assert_string_equal(place_gang("spread"), " tp=2 gang=6,7");
    assert_string_equal(place_gang("locality"), " tp=2 gang=4,5");
}

/* One node of four 40 GiB GPUs, each holding a 30 GiB READY instance of its
 * own model (A..D on gpu0..3, replicas 0..1, so evictable) and each serving
 * one request. G (40 GiB, tp 2) needs 20 GiB on two GPUs: 10 free on each,
 * so it waits. At 2 s A finishes: one GPU could be freed, not two: G still
 * waits and nothing is evicted (never half a gang). At 3 s C finishes: A
 * (idle since 2 s) and C are the LRU candidates, evicting both gives gpu0
 * and gpu2 the room: EVICT A, EVICT C, START_LOAD gang 0,2. B and D stay. */
static void test_gang_waits_for_eviction_on_k(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 4, 40 * GIB);
    const char *names[] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++) {
        int m = fx_model(f, names[i], 30 * GIB, 1, 0, 1);
        fx_place(f, m, i);
    }
    int g = fx_tp_model(f, "G", 40 * GIB, 2);
    fx_start(f);
    for (int i = 0; i < 4; i++) {
        fx_arrive(f, SEC(0.5), i, (uint64_t)(10 + i));
        assert_int_equal(fx_count(f, CORE_ACT_DISPATCH), 1);
    }
    fx_arrive(f, SEC(1), g, 1);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    fx_finish(f, SEC(2), 10, 1); /* A (instance 1) idle */
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    fx_finish(f, SEC(3), 12, 3); /* C (instance 3) idle */
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 2);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=1 model=0 node=0 gpu=0");
    fx_expect(f, CORE_ACT_EVICT, 1, "inst=3 model=2 node=0 gpu=2");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=4 node=0 gpu=0 ");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=2 gang=0,2");
    fx_free(f);
}

/* A single-GPU load that must evict an idle gang: one node of two 40 GiB
 * GPUs holds G (60 GiB, tp 2: 30 on each), READY and idle. N (30 GiB,
 * tp 1) fits nowhere (10 free each); evicting G frees 30 on both, so N goes
 * to gpu0, the first GPU of G's that reaches the room. */
static void test_single_evicts_gang(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 2, 40 * GIB);
    int g = fx_tp_model(f, "G", 60 * GIB, 2);
    int n = fx_model(f, "N", 30 * GIB, 1, 0, 1);
    fx_start(f);
    fx_arrive(f, SEC(1), g, 1);
    fx_loaded(f, SEC(2), 1, true);
    fx_finish(f, SEC(3), 1, 1);
    fx_arrive(f, SEC(4), n, 2);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=1 model=0 node=0 gpu=0 vram=64424509440 tp=2 gang=0,1");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=1 node=0 gpu=0 ");
    fx_free(f);
}

/* A fault on one GPU of a gang fails the whole instance. One node of four
 * 40 GiB GPUs; G (60 GiB, tp 2). Loading on gpu0+1, gpu1 fails: CANCEL_LOAD
 * of the gang, FAILED, and the waiting request's new demand load takes the
 * lowest healthy pair, gpu0 and gpu2. That one READY and serving, gpu2
 * fails: the request is requeued, the instance fails, and the next gang is
 * 0,3 (1 and 2 are down). */
static void test_fault_on_one_gpu_of_gang(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 4, 40 * GIB);
    int g = fx_tp_model(f, "G", 60 * GIB, 2);
    fx_start(f);
    fx_arrive(f, SEC(1), g, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=2 gang=0,1");
    fx_event(f, CORE_EV_GPU_FAILED, SEC(2), 0, 1);
    fx_expect(f, CORE_ACT_CANCEL_LOAD, 0, "load=1 inst=1 model=0 node=0 gpu=0 ");
    fx_expect(f, CORE_ACT_CANCEL_LOAD, 0, "tp=2 gang=0,1");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=1 load=1 model=0 node=0 gpu=0 state=failed");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "load=2 inst=2 model=0 node=0 gpu=0 ");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=2 gang=0,2");
    fx_loaded(f, SEC(10), 2, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=2");
    fx_event(f, CORE_EV_GPU_FAILED, SEC(11), 0, 2);
    fx_expect(f, CORE_ACT_REQUEST_REQUEUED, 0, "req=1 inst=2 model=0 gpu=0 tp=2 gang=0,2");
    fx_expect(f, CORE_ACT_INSTANCE_STATE, 0, "inst=2 load=2 model=0 node=0 gpu=0 state=failed");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=2 gang=0,3");
    fx_free(f);
}

/* The weights split into k shards that add up to the whole: 10 bytes over
 * 4 GPUs is floor(10 i / 4) boundaries 0, 2, 5, 7, 10 -> 2, 3, 2, 3; the
 * VRAM share rounds up: 10 / 4 -> 3 (4 x 3 >= 10). tp 1 is the whole. */
static void test_shard_arithmetic(void **state)
{
    (void)state;
    struct core_model_spec m = {.weights_bytes = 10, .vram_bytes = 10, .tp = 4};
    assert_int_equal(core_model_shard_bytes(&m, 0), 2);
    assert_int_equal(core_model_shard_bytes(&m, 1), 3);
    assert_int_equal(core_model_shard_bytes(&m, 2), 2);
    assert_int_equal(core_model_shard_bytes(&m, 3), 3);
    assert_int_equal(core_model_share_bytes(&m), 3);
    m.tp = 0;
    assert_int_equal(core_model_shard_bytes(&m, 0), 10);
    assert_int_equal(core_model_share_bytes(&m), 10);
    m.tp = 1;
    m.weights_bytes = UINT64_MAX;
    assert_true(core_model_shard_bytes(&m, 0) == UINT64_MAX);
}

/* One node of four 40 GiB GPUs with NVLink 100e9; G (60 GiB, tp 2: 30 GiB
 * on each GPU of a gang), replicas 0..2, concurrency 1, policy peer on.
 * Request 1 loads G onto gpu0+1 from storage (no peer yet). Request 2
 * arrives while it is busy: a demand load onto gpu2+3 (gpu0/1 have 10 GiB
 * left) copies shard i from the peer's gpu i over NVLink (100e9 beats
 * storage's 1e9). gpu1 - the peer gang's second GPU - fails
 * mid-copy: the peer is lost, so the copying load is cancelled as a gang
 * and its job starts again on the healthy free GPUs 0 and 2 from storage
 * (no READY peer left). */
static void test_tp2_copies_from_a_tp2_peer(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, 4, 40 * GIB);
    f->spec.policy.peer = true;
    f->nodes[0].nvlink_bps = 100e9;
    int g = fx_model(f, "G", 60 * GIB, 1, 0, 2);
    f->models[g].tp = 2;
    fx_start(f);
    fx_arrive(f, SEC(1), g, 1);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "src=storage");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=2 gang=0,1");
    fx_loaded(f, SEC(2), 1, true);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=1 inst=1");
    fx_arrive(f, SEC(3), g, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "gpu=2 src=peer reason=demand");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "peer_gpu=0 peer_inst=1 peer_gang=0,1 tp=2 gang=2,3");
    fx_finish(f, SEC(3.2), 1, 1);
    fx_event(f, CORE_EV_GPU_FAILED, SEC(3.5), 0, 1);
    fx_expect(f, CORE_ACT_CANCEL_LOAD, 0, "load=2");
    fx_expect(f, CORE_ACT_CANCEL_LOAD, 0, "tp=2 gang=2,3");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "src=storage");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "tp=2 gang=0,2");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tp2_copies_from_a_tp2_peer),
        cmocka_unit_test(test_tp2_reserves_share_on_two),
        cmocka_unit_test(test_tp4_needs_one_node),
        cmocka_unit_test(test_gang_policies),
        cmocka_unit_test(test_gang_waits_for_eviction_on_k),
        cmocka_unit_test(test_single_evicts_gang),
        cmocka_unit_test(test_fault_on_one_gpu_of_gang),
        cmocka_unit_test(test_shard_arithmetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

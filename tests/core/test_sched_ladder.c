/* test_sched_ladder.c - the core's storage ladder: which rung a load reads
 * from (shm, the disk cache, the model's store, a peer), the disk rung's
 * fills and its survival of a node fault, and the action text the ladder
 * adds. The fixture's nodes: storage 1e9 B/s, shm read 10e9, h2d 20e9;
 * here also a store of 2e9 B/s read behind a 4e9 B/s network link and a
 * disk cache read at 5e9 B/s (so lone paths: store 2e9, disk 5e9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spec_fixture.h"

static struct core_store_spec store = {.name = "s3", .read_bps = 2e9};

/* One node of two 40 GB GPUs, model m (4 GB) in the store, replicas min 1,
 * a disk cache of 100 GB (admission lru, survives restarts). */
static struct fx *ladder(bool survives)
{
    struct fx *f = fx_new(1, 2, 40 * GB);
    f->spec.stores = &store;
    f->spec.store_count = 1;
    struct core_node_spec *n = &f->nodes[0];
    n->network_bps = 4e9;
    n->disk_bytes = 100 * GB;
    n->disk_read_bps = 5e9;
    n->disk_write_bps = 2e9;
    strcpy(n->disk_admission, "lru");
    n->disk_survives_restart = survives;
    int m = fx_model(f, "m", 4 * GB, 1, 1, 1);
    f->models[m].store = 1;
    return f;
}

static void store_miss_fills_disk_then_disk_hits(void **state)
{
    (void)state;
    struct fx *f = ladder(true);
    fx_start(f);
    /* nothing holds m yet: the standby load reads the store; lru admits m
     * to the disk and its fill (from the store) starts at once */
    fx_expect(f, CORE_ACT_START_LOAD, 0, "gpu=0 src=store reason=standby");
    fx_expect(f, CORE_ACT_START_DISK_FILL, 0, "node=0 model=0 bytes=4000000000 src=store");
    fx_feed(f, (struct core_event){
                   .kind = CORE_EV_DISK_FILL_FINISHED, .t_ns = SEC(2), .model = 0, .ok = true});
    fx_loaded(f, SEC(2), 1, true);
    /* GPU 0 fails: the failover load onto GPU 1 reads the disk (5e9 beats
     * the store's 2e9) and fills nothing */
    fx_event(f, CORE_EV_GPU_FAILED, SEC(10), 0, 0);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "gpu=1 src=disk reason=failover");
    assert_int_equal(fx_count(f, CORE_ACT_START_DISK_FILL), 0);
    struct core_stats st;
    core_sched_stats(f->s, &st);
    assert_int_equal(st.disk_hits, 1);
    assert_int_equal(st.store_loads, 1);
    fx_free(f);
}

static void a_disk_hit_is_read_even_when_the_store_is_faster(void **state)
{
    (void)state;
    /* a cache rung that holds the weights is read: the disk at 1e9 B/s
     * against the store path's 2e9 still serves the failover load */
    struct fx *f = ladder(true);
    f->nodes[0].disk_read_bps = 1e9;
    fx_start(f);
    fx_feed(f, (struct core_event){
                   .kind = CORE_EV_DISK_FILL_FINISHED, .t_ns = SEC(2), .model = 0, .ok = true});
    fx_loaded(f, SEC(2), 1, true);
    fx_event(f, CORE_EV_GPU_FAILED, SEC(10), 0, 0);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "gpu=1 src=disk reason=failover");
    fx_free(f);
}

static void the_stores_share_decides_against_a_peer(void **state)
{
    (void)state;
    /* Three nodes of one GPU, peer on; m (30 GB in VRAM: one per GPU) READY
     * on n0, replicas min 3. Two loads start at t=0 onto n1 and n2. The
     * first: the store's 2e9 alone against the peer across nodes at
     * min(n0's link 2.5e9, target's 4e9) = 2.5e9: the peer. The second: the
     * peer now shares n0's link with that copy, 2.5e9 / 2 = 1.25e9, the
     * store alone 2e9: the store. */
    struct fx *f = fx_new(3, 1, 40 * GB);
    f->spec.stores = &store;
    f->spec.store_count = 1;
    f->spec.policy.peer = true;
    for (int n = 0; n < 3; n++)
        f->nodes[n].network_bps = 4e9;
    f->nodes[0].network_bps = 2.5e9;
    int m = fx_model(f, "m", 4 * GB, 1, 3, 3);
    f->models[m].vram_bytes = 30 * GB;
    f->models[m].store = 1;
    fx_place(f, m, 0);
    fx_start(f);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "gpu=1 src=peer");
    fx_expect(f, CORE_ACT_START_LOAD, 1, "gpu=2 src=store");
    fx_free(f);
}

static void disk_survives_a_node_restart_if_configured(void **state)
{
    (void)state;
    for (int survives = 0; survives < 2; survives++) {
        struct fx *f = ladder(survives);
        fx_start(f);
        fx_feed(f, (struct core_event){
                       .kind = CORE_EV_DISK_FILL_FINISHED, .t_ns = SEC(2), .model = 0, .ok = true});
        fx_loaded(f, SEC(2), 1, true);
        /* the node fails: its disk keeps m only when it survives restarts */
        fx_event(f, CORE_EV_NODE_FAILED, SEC(10), 0, -1);
        assert_int_equal(fx_count(f, CORE_ACT_DISK_DROP), survives ? 0 : 1);
        /* back up: the failover load reads the disk, or the store again */
        fx_event(f, CORE_EV_NODE_RECOVERED, SEC(20), 0, -1);
        fx_expect(f, CORE_ACT_START_LOAD, 0, survives ? "src=disk" : "src=store");
        fx_free(f);
    }
}

static void shm_stays_the_top_rung_and_peers_beat_slow_rungs(void **state)
{
    (void)state;
    /* Two nodes of one GPU; m (4 GB, 30 GB in VRAM: one per GPU)
     * preloaded to shm (pinned) on both; policy peer on; m READY on
     * n0/gpu0 from the start, replicas min 2. */
    struct fx *f = fx_new(2, 1, 40 * GB);
    f->spec.stores = &store;
    f->spec.store_count = 1;
    strcpy(f->spec.policy.shm, "preload");
    f->spec.policy.peer = true;
    for (int n = 0; n < 2; n++) {
        f->nodes[n].shm_bytes = 100 * GB;
        f->nodes[n].network_bps = 4e9;
    }
    int m = fx_model(f, "m", 4 * GB, 1, 2, 2);
    f->models[m].vram_bytes = 30 * GB;
    f->models[m].store = 1;
    f->models[m].preload_to_shm = true;
    fx_place(f, m, 0);
    fx_start(f);
    /* shm not resident yet (fills queued): the store path is 2e9, the peer
     * across nodes min(4e9, 4e9, h2d 20e9) = 4e9: the peer wins */
    fx_expect(f, CORE_ACT_START_LOAD, 0, "gpu=1 src=peer");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "peer_gpu=0 peer_inst=1");
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "node=0 model=0 bytes=4000000000 src=store");
    fx_free(f);

    /* The same with the peer's link at 1e9: the store (2e9) is faster. */
    f = fx_new(2, 1, 40 * GB);
    f->spec.stores = &store;
    f->spec.store_count = 1;
    f->spec.policy.peer = true;
    f->nodes[0].network_bps = 1e9;
    f->nodes[1].network_bps = 4e9;
    m = fx_model(f, "m", 4 * GB, 1, 2, 2);
    f->models[m].vram_bytes = 30 * GB;
    f->models[m].store = 1;
    fx_place(f, m, 0);
    fx_start(f);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "gpu=1 src=store");
    fx_free(f);
}

static void a_peer_mid_copy_is_not_evicted(void **state)
{
    (void)state;
    /* One node, two 10 GB GPUs with NVLink 100e9. a (6 GB, replicas 0..2)
     * READY on gpu0; c (6 GB, 0..1) has no instance. Concurrency 1. */
    struct fx *f = fx_new(1, 2, 10 * GB);
    f->spec.policy.peer = true;
    f->nodes[0].nvlink_bps = 100e9;
    int a = fx_model(f, "a", 6 * GB, 1, 0, 2);
    int c = fx_model(f, "c", 6 * GB, 1, 0, 1);
    fx_place(f, a, 0);
    fx_start(f);
    /* request 1 takes a@gpu0; request 2 waits: a demand load of a goes to
     * gpu1 (10 GB free) and copies from a@gpu0 (100e9 beats storage 1e9) */
    fx_arrive(f, SEC(1), a, 1);
    fx_arrive(f, SEC(1), a, 2);
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=0 node=0 gpu=1 src=peer");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "peer_gpu=0 peer_inst=1");
    /* request 1 ends and request 2 takes a@gpu0 at once; it ends at 2.5 s:
     * a@gpu0 has no request now, but the copy still runs from it */
    fx_finish(f, SEC(2), 1, 1);
    fx_expect(f, CORE_ACT_DISPATCH, 0, "req=2 inst=1");
    fx_finish(f, SEC(2.5), 2, 1);
    /* c needs 6 GB: gpu0 has 4 free and only a there, which the copy
     * keeps (without the copy it would be evicted: replicas min 0);
     * gpu1 has 4 free: c waits, nothing is evicted */
    fx_arrive(f, SEC(3), c, 3);
    assert_int_equal(fx_count(f, CORE_ACT_EVICT), 0);
    assert_int_equal(fx_count(f, CORE_ACT_START_LOAD), 0);
    /* the copy's load ends: both a instances are idle; lru takes a@gpu0
     * (used at 2.5 s; a@gpu1 READY at 4 s) and c loads there, from
     * storage (c has no peer) */
    fx_loaded(f, SEC(4), 1, true);
    fx_expect(f, CORE_ACT_EVICT, 0, "inst=1 model=0 node=0 gpu=0");
    fx_expect(f, CORE_ACT_START_LOAD, 0, "model=1 node=0 gpu=0 src=storage");
    fx_free(f);
}

static void an_shm_fill_reads_the_disk_when_it_holds_the_model(void **state)
{
    (void)state;
    /* One node, two GPUs, shm lru (10 GB) and the disk cache lru; a and b
     * (4 GB each, in the store) loaded at t=0, one per GPU. Both loads come
     * from the store and admit their model to shm and to the disk; the
     * first fill of each rung starts at once (a's), from the store. */
    struct fx *f = ladder(true);
    strcpy(f->spec.policy.shm, "lru");
    f->nodes[0].shm_bytes = 10 * GB;
    f->models[0].vram_bytes = 30 * GB;
    int b = fx_model(f, "b", 4 * GB, 1, 1, 1);
    f->models[b].vram_bytes = 30 * GB;
    f->models[b].store = 1;
    fx_start(f);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "model=0 bytes=4000000000 src=store");
    fx_expect(f, CORE_ACT_START_DISK_FILL, 0, "model=0 bytes=4000000000 src=store");
    /* the disk finishes a, then b (started after a); only then does shm
     * finish a: its next fill, b's, reads the disk */
    fx_feed(f, (struct core_event){
                   .kind = CORE_EV_DISK_FILL_FINISHED, .t_ns = SEC(1), .model = 0, .ok = true});
    fx_expect(f, CORE_ACT_START_DISK_FILL, 0, "model=1 bytes=4000000000 src=store");
    fx_feed(f, (struct core_event){
                   .kind = CORE_EV_DISK_FILL_FINISHED, .t_ns = SEC(2), .model = 1, .ok = true});
    fx_filled(f, SEC(3), 0, 0, true);
    fx_expect(f, CORE_ACT_START_SHM_FILL, 0, "model=1 bytes=4000000000 src=disk");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_miss_fills_disk_then_disk_hits),
        cmocka_unit_test(a_disk_hit_is_read_even_when_the_store_is_faster),
        cmocka_unit_test(the_stores_share_decides_against_a_peer),
        cmocka_unit_test(disk_survives_a_node_restart_if_configured),
        cmocka_unit_test(shm_stays_the_top_rung_and_peers_beat_slow_rungs),
        cmocka_unit_test(a_peer_mid_copy_is_not_evicted),
        cmocka_unit_test(an_shm_fill_reads_the_disk_when_it_holds_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ladder.c - the storage ladder in the simulator: a shared store split
 * max-min between nodes, a node's network link binding first, a disk-cache
 * hit against a miss, a peer copy on one node and across nodes, and the
 * peer failing mid-copy (the load is cancelled and starts again from the
 * best rung left), and the same for a tp 2 gang copying shard by shard
 * from a tp 2 peer. Every figure is derived by hand in the comments from
 * tests/sim/ladder-*.yaml (4 GiB of weights, store 2 GiB/s, network
 * 4 GiB/s, h2d 16 GiB/s, init and warm-up 0). */
#include "sim_test_util.h"

#define EPS 1e-6

static int64_t run_file(struct simt *t, const char *rel, const char *const *kv)
{
    struct core_spec *spec = simt_load(rel, kv);
    int64_t run = simt_run(t, spec, NULL);
    core_spec_free(spec);
    return run;
}

static double load_num(struct simt *t, int64_t run, int load, const char *col)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM loads WHERE run = ?1 AND load_id = %d", col, load);
    return simt_num(t, run, sql);
}

static int load_source_is(struct simt *t, int64_t run, int load, const char *src)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM loads WHERE run = ?1 AND load_id = %d AND source = '%s'", load,
             src);
    return (int)simt_num(t, run, sql);
}

static void two_nodes_share_the_store(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* Both loads start at 0 on their own node. Each crosses the store
     * (2 GiB/s, shared), its node's link (4) and its GPU's h2d (16): the
     * store binds, max-min gives 1 GiB/s each: 4 GiB / 1 GiB/s = 4 s. */
    int64_t run = run_file(&t, "tests/sim/ladder-store.yaml", NULL);
    for (int l = 1; l <= 2; l++) {
        assert_int_equal(load_source_is(&t, run, l, "store"), 1);
        assert_float_equal(load_num(&t, run, l, "finished"), 4.0, EPS);
    }
    /* The store was in use at its full 2 GiB/s from 0 to 4 s, each link at
     * 1 GiB/s: the bandwidth rows say so. */
    assert_float_equal(simt_num(&t, run,
                                "SELECT used_bps FROM bandwidth_samples WHERE run = ?1 AND "
                                "resource = 'store:s3' AND t = 0 ORDER BY rowid DESC LIMIT 1"),
                       2.0 * 1073741824.0, 1.0);
    assert_float_equal(simt_num(&t, run,
                                "SELECT used_bps FROM bandwidth_samples WHERE run = ?1 AND "
                                "resource = 'network:a' AND t = 0 ORDER BY rowid DESC LIMIT 1"),
                       1073741824.0, 1.0);
    assert_float_equal(simt_num(&t, run,
                                "SELECT used_bps FROM bandwidth_samples WHERE run = ?1 AND "
                                "resource = 'store:s3' AND t = 4"),
                       0.0, 1e-3);
    /* Lone, each copy would take 4 GiB / 2 GiB/s = 2 s: each waited 2 s on
     * the shared store. */
    assert_float_equal(simt_num(&t, run,
                                "SELECT sum(copy_finished - copy_started - lone_s) FROM "
                                "load_copies WHERE run = ?1 AND source = 'store'"),
                       4.0, EPS);
    struct res_ladder_summary sum;
    struct thaw_err err = {0};
    assert_int_equal(res_ladder_summary(t.db, run, &sum, &err), 0);
    assert_int_equal(sum.loads[CORE_SRC_STORE], 2);
    assert_int_equal(sum.bytes[CORE_SRC_STORE], 8ULL << 30);
    assert_float_equal(sum.store_wait_total_s, 4.0, EPS);
    simt_close(&t);
}

static void a_node_link_binds_first(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* Node b's link at 0.5 GiB/s: b's flow is bound there (0.5), and
     * max-min hands the store's rest to a: 2 - 0.5 = 1.5 GiB/s (a's link, 4,
     * does not bind). a: 4 / 1.5 = 8/3 s. b stays at 0.5 after a ends (its
     * link still binds): 4 / 0.5 = 8 s. */
    const char *const kv[] = {"cluster.nodes[1].network=0.5GiB/s", NULL};
    int64_t run = run_file(&t, "tests/sim/ladder-store.yaml", kv);
    assert_float_equal(load_num(&t, run, 1, "finished"), 8.0 / 3.0, EPS);
    assert_float_equal(load_num(&t, run, 2, "finished"), 8.0, EPS);
    simt_close(&t);
}

static void disk_cache_hit_and_miss(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* t=0: the standby load misses every rung and reads the store
     * (source store); lru admits m to the disk and its fill starts at once
     * (store -> network -> disk write 4 GiB/s). Both flows share the store:
     * 1 GiB/s each, both done at 4 s (load 1 READY at 4 s, m on disk).
     * t=10: GPU 0 fails; the failover load onto GPU 1 hits the disk: 8 GiB/s
     * disk read, h2d 16: 4 GiB in 0.5 s, READY at 10.5 s. */
    int64_t run = run_file(&t, "tests/sim/ladder-disk.yaml", NULL);
    assert_int_equal(load_source_is(&t, run, 1, "store"), 1);
    assert_float_equal(load_num(&t, run, 1, "finished"), 4.0, EPS);
    assert_int_equal(load_source_is(&t, run, 2, "disk"), 1);
    assert_float_equal(load_num(&t, run, 2, "started"), 10.0, EPS);
    assert_float_equal(load_num(&t, run, 2, "finished"), 10.5, EPS);
    /* With admission off nothing fills the disk, so the failover load
     * misses again: the store alone at 2 GiB/s, 2 s, READY at 12 s (and
     * load 1, alone on the store now, at 2 s). */
    const char *const kv[] = {"cluster.nodes[0].disk_cache.admission=off", NULL};
    run = run_file(&t, "tests/sim/ladder-disk.yaml", kv);
    assert_int_equal(load_source_is(&t, run, 2, "store"), 1);
    assert_float_equal(load_num(&t, run, 1, "finished"), 2.0, EPS);
    assert_float_equal(load_num(&t, run, 2, "finished"), 12.0, EPS);
    simt_close(&t);
}

static void peer_copy_on_one_node_and_across(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* The second replica goes to a/gpu1 (first fit: a/gpu0 has 12 GiB
     * left). From the store: 2 GiB/s; from the peer on a/gpu0 over both
     * GPUs' NVLink ports: 100 GiB/s, faster: 4 GiB / 100 GiB/s = 0.04 s. */
    int64_t run = run_file(&t, "tests/sim/ladder-peer.yaml", NULL);
    assert_int_equal(load_source_is(&t, run, 1, "peer"), 1);
    assert_float_equal(load_num(&t, run, 1, "gpu"), 1, 0);
    assert_float_equal(load_num(&t, run, 1, "finished"), 0.04, EPS);
    assert_float_equal(simt_num(&t, run, "SELECT peer_gpu FROM load_copies WHERE run = ?1"), 0, 0);
    /* One GPU on node a: the replica goes to b/gpu0. Across nodes the copy
     * crosses a's link, b's link (4 GiB/s each) and b's h2d (16): 4 GiB/s,
     * faster than the store's 2: 1 s. */
    const char *const one[] = {"cluster.nodes[0].gpus=1", NULL};
    run = run_file(&t, "tests/sim/ladder-peer.yaml", one);
    assert_int_equal(load_source_is(&t, run, 1, "peer"), 1);
    assert_float_equal(load_num(&t, run, 1, "finished"), 1.0, EPS);
    /* Peer loading off: the store, 2 s. */
    const char *const off[] = {"cluster.nodes[0].gpus=1", "policy.peer=off", NULL};
    run = run_file(&t, "tests/sim/ladder-peer.yaml", off);
    assert_int_equal(load_source_is(&t, run, 1, "store"), 1);
    assert_float_equal(load_num(&t, run, 1, "finished"), 2.0, EPS);
    simt_close(&t);
}

static void peer_fault_mid_copy_falls_back(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* The copy from a/gpu0 to b/gpu0 runs from 0 (1 s lone). At 0.5 s
     * a/gpu0 fails: the copying load 1 is cancelled (recorded failed) and
     * its job queued again with its reason and enqueued time; it starts at
     * once on b/gpu0 (load 2) from the best rung left, the store: 2 GiB/s,
     * 2 s, READY at 2.5 s; cold-start latency counted from enqueued 0. The
     * failover load for the lost serving instance finds no GPU left. */
    int64_t run = run_file(&t, "tests/sim/ladder-peer-fault.yaml", NULL);
    assert_int_equal(load_source_is(&t, run, 1, "peer"), 1);
    assert_int_equal((int)simt_num(&t, run,
                                   "SELECT count(*) FROM loads WHERE run = ?1 AND load_id = 1 "
                                   "AND outcome = 'failed'"),
                     1);
    /* its error names the peer that failed, not its own GPU (b/gpu0 is up) */
    assert_int_equal((int)simt_num(&t, run,
                                   "SELECT count(*) FROM loads WHERE run = ?1 AND load_id = 1 "
                                   "AND error = 'the peer it copied from (a/gpu0, instance 1) "
                                   "failed while it loaded'"),
                     1);
    assert_int_equal(load_source_is(&t, run, 2, "store"), 1);
    assert_float_equal(load_num(&t, run, 2, "enqueued"), 0.0, EPS);
    assert_float_equal(load_num(&t, run, 2, "started"), 0.5, EPS);
    assert_float_equal(load_num(&t, run, 2, "finished"), 2.5, EPS);
    assert_int_equal((int)simt_num(&t, run,
                                   "SELECT count(*) FROM loads WHERE run = ?1 AND "
                                   "reason = 'failover' AND outcome = 'queued'"),
                     1);
    simt_close(&t);
}

static void tp_peer_copies_shard_by_shard(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* tp 2, 20 GiB on each GPU of a gang: two gangs do not fit on one pair
     * of 32 GiB GPUs, so first fit gives a/gpu0+gpu1 then a/gpu2+gpu3. One
     * load at a time. Load 1 reads the store: its two 2 GiB shards share
     * the store's 2 GiB/s (1 each): 2 s. Load 2 starts at 2 s with load 1's
     * gang READY: shard i copies from gpu i into gpu 2+i over both GPUs'
     * NVLink ports (100 GiB/s, no port shared between the shards):
     * 2 GiB / 100 GiB/s = 0.02 s, done at 2.02 s (the store: 2 s). */
    int64_t run = run_file(&t, "tests/sim/ladder-peer-tp.yaml", NULL);
    assert_int_equal(load_source_is(&t, run, 1, "store"), 1);
    assert_float_equal(load_num(&t, run, 1, "finished"), 2.0, EPS);
    assert_int_equal(load_source_is(&t, run, 2, "peer"), 1);
    assert_float_equal(load_num(&t, run, 2, "gpu"), 2, 0);
    assert_float_equal(load_num(&t, run, 2, "started"), 2.0, EPS);
    assert_float_equal(load_num(&t, run, 2, "finished"), 2.02, EPS);
    /* the copy row names the peer gang's first GPU; alone the two shards
     * take 0.02 s too (no pipe shared): no wait */
    assert_float_equal(
        simt_num(&t, run, "SELECT peer_gpu FROM load_copies WHERE run = ?1 AND load_id = 2"), 0,
        0);
    assert_float_equal(
        simt_num(&t, run, "SELECT lone_s FROM load_copies WHERE run = ?1 AND load_id = 2"), 0.02,
        EPS);
    /* Peer loading off: load 2 reads the store as load 1 did, 2 s more. */
    const char *const off[] = {"policy.peer=off", NULL};
    run = run_file(&t, "tests/sim/ladder-peer-tp.yaml", off);
    assert_int_equal(load_source_is(&t, run, 2, "store"), 1);
    assert_float_equal(load_num(&t, run, 2, "finished"), 4.0, EPS);
    /* Each GPU's h2d at 1 GiB/s: load 1's shards go 2 GiB over their own
     * links (store 1 GiB/s each, network 2): 2 s, and alone as well, so
     * lone_s is 2 s (it was once the whole 4 GiB over one shard's path at
     * 1 GiB/s: 4 s, an invented 2 s of wait). */
    const char *const slow[] = {"cluster.nodes[0].h2d=1GiB/s", NULL};
    run = run_file(&t, "tests/sim/ladder-peer-tp.yaml", slow);
    assert_float_equal(load_num(&t, run, 1, "finished"), 2.0, EPS);
    assert_float_equal(
        simt_num(&t, run, "SELECT lone_s FROM load_copies WHERE run = ?1 AND load_id = 1"), 2.0,
        EPS);
    simt_close(&t);
}

static void tp_peer_fault_of_one_member_falls_back(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* As ladder-peer-tp.yaml, and a/gpu1 - the peer gang's second member,
     * not its first - fails at 2.01 s, half-way through the 2 s..2.02 s
     * copy. The peer is lost, so load 2 is cancelled (failed) and its job
     * queued again with enqueued 0; it starts at once (load 3) on the first
     * gang that fits among the healthy free GPUs 0, 2, 3: gpu0+gpu2, from
     * the store (no READY peer left): 2 shards sharing 2 GiB/s, 2 s, done
     * at 4.01 s. The failover load for the lost instance finds no second
     * free GPU (only gpu3) and is still queued at the end. */
    int64_t run = run_file(&t, "tests/sim/ladder-peer-tp-fault.yaml", NULL);
    assert_int_equal(load_source_is(&t, run, 2, "peer"), 1);
    assert_int_equal((int)simt_num(&t, run,
                                   "SELECT count(*) FROM loads WHERE run = ?1 AND load_id = 2 "
                                   "AND outcome = 'failed'"),
                     1);
    assert_int_equal(load_source_is(&t, run, 3, "store"), 1);
    assert_float_equal(load_num(&t, run, 3, "gpu"), 0, 0);
    assert_float_equal(load_num(&t, run, 3, "enqueued"), 0.0, EPS);
    assert_float_equal(load_num(&t, run, 3, "started"), 2.01, EPS);
    assert_float_equal(load_num(&t, run, 3, "finished"), 4.01, EPS);
    assert_int_equal((int)simt_num(&t, run,
                                   "SELECT count(*) FROM loads WHERE run = ?1 AND "
                                   "reason = 'failover' AND outcome = 'queued'"),
                     1);
    simt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_nodes_share_the_store),
        cmocka_unit_test(a_node_link_binds_first),
        cmocka_unit_test(disk_cache_hit_and_miss),
        cmocka_unit_test(peer_copy_on_one_node_and_across),
        cmocka_unit_test(peer_fault_mid_copy_falls_back),
        cmocka_unit_test(tp_peer_copies_shard_by_shard),
        cmocka_unit_test(tp_peer_fault_of_one_member_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ladder.c - the storage ladder carried out on this host (host
 * backend; exec/ladder.h): a shared store's read cap split between two
 * nodes' loads, a disk-cache hit after a store miss, peer copies between
 * emulated GPUs on one node (NVLink cap) and across nodes (network caps),
 * and the peer failing mid-copy (the load falls back to the store), a tp 2
 * gang's shards copied from a tp 2 peer or read from the store. The
 * caps make copies last what the scenario says, so the figures are
 * derived from it; lower bounds are exact (a cap never lets more bytes
 * through than rate x time), upper bounds are loose (this host is shared). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec.h"
#include "results.h"
#include "shell.h"
#include "weights.h"

#include "exec_fixture.h"

/* The copy phase of one load, from its load_copies row. */
static double load_copy_s(struct fx *f, int64_t run, int load)
{
    return q(f,
             "SELECT copy_finished - copy_started FROM load_copies WHERE run = %lld AND "
             "load_id = %d",
             (long long)run, load);
}

static int64_t run_yaml(struct fx *f, const char *yaml)
{
    core_spec_free(f->spec);
    f->spec = NULL;
    load_spec(f, yaml);
    struct exec_opts o;
    default_opts(f, &o);
    o.disk_dir = f->dir;
    run(f, &o);
    return f->res.run_id;
}

/* Two nodes, one 32 MiB model each, both in store s3 read at 64 MiB/s
 * (network 1 GiB/s, no bind): 64 MiB through 64 MiB/s takes at least 1 s
 * from the first byte to the last; shared chunk by chunk (4 MiB), each copy
 * runs nearly all of it (alone one would take 0.5 s). */
static const char store_yaml[] =
    "cluster:\n"
    "  stores: [{name: s3, read: 64MiB/s}]\n"
    "  nodes:\n"
    "    - {name: a, gpus: 1, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: 1GiB/s}\n"
    "    - {name: b, gpus: 1, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: 1GiB/s}\n"
    "models:\n"
    "  - {name: m, count: 2, weights: 32MiB, vram: 200MiB, store: s3}\n"
    "workload:\n"
    "  - {model: m, arrivals: {bursts: [{at: 0s, count: 1}]}, service: 10ms}\n";

static void store_cap_is_shared(void **state)
{
    struct fx *f = *state;
    int64_t run = run_yaml(f, store_yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND outcome = 'ok' "
                            "AND source = 'store'",
                            (long long)run),
                     2);
    double span = q(f,
                    "SELECT max(copy_finished) - min(copy_started) FROM load_copies WHERE run "
                    "= %lld",
                    (long long)run);
    double shortest = q(f,
                        "SELECT min(copy_finished - copy_started) FROM load_copies WHERE run = "
                        "%lld",
                        (long long)run);
    fprintf(stderr, "store: span %.3f s, shortest copy %.3f s\n", span, shortest);
    assert_true(span >= 0.99 && span < 5.0);
    assert_true(shortest >= 0.75); /* shared: alone it would be 0.5 s */
    /* lone_s = 32 MiB / 64 MiB/s = 0.5 s each */
    assert_float_equal(q(f, "SELECT max(lone_s) FROM load_copies WHERE run = %lld", (long long)run),
                       0.5, 1e-9);
}

/* The standby load misses (store at 64 MiB/s) and fills the disk cache
 * meanwhile (both done after about 1 s); GPU 0 fails at 5 s (room for a slow,
 * sanitized build) and the failover load onto GPU 1 reads the
 * disk file (read cap 256 MiB/s: 32 MiB in >= 0.125 s), verified. */
static const char disk_yaml[] =
    "cluster:\n"
    "  stores: [{name: s3, read: 64MiB/s}]\n"
    "  nodes:\n"
    "    - name: a\n"
    "      gpus: 2\n"
    "      vram: 256MiB\n"
    "      h2d: 8GiB/s\n"
    "      storage_read: 8GiB/s\n"
    "      network: 1GiB/s\n"
    "      disk_cache: {size: 1GiB, read: 256MiB/s, write: 1GiB/s}\n"
    "models:\n"
    "  - {name: m, weights: 32MiB, vram: 200MiB, store: s3, replicas: {min: 1}}\n"
    "faults:\n"
    "  - {gpu: a/gpu0, at: 5s}\n";

static void disk_cache_hit_after_a_miss(void **state)
{
    struct fx *f = *state;
    int64_t run = run_yaml(f, disk_yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 1 AND "
                            "source = 'store' AND outcome = 'ok'",
                            (long long)run),
                     1);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 2 AND "
                            "source = 'disk' AND outcome = 'ok'",
                            (long long)run),
                     1);
    double disk = load_copy_s(f, run, 2);
    fprintf(stderr, "disk hit copy %.3f s\n", disk);
    assert_true(disk >= 0.124 && disk < 0.5); /* the store would take >= 0.5 s */
}

/* m READY on a/gpu0 at start, replicas min 2: the second replica copies
 * from it over NVLink capped at 128 MiB/s: 32 MiB in >= 0.25 s, verified
 * against the weights' checksum. */
static const char peer_yaml[] =
    "cluster:\n"
    "  stores: [{name: s3, read: 16MiB/s}]\n"
    "  nodes:\n"
    "    - {name: a, gpus: 2, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: "
    "64MiB/s, nvlink: 128MiB/s}\n"
    "    - {name: b, gpus: 1, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: "
    "64MiB/s}\n"
    "models:\n"
    "  - {name: m, weights: 32MiB, vram: 200MiB, store: s3, replicas: {min: 2}, placement: "
    "[a/gpu0]}\n"
    "policy: {peer: on}\n";

static void peer_copy_on_one_node_and_across(void **state)
{
    struct fx *f = *state;
    int64_t run = run_yaml(f, peer_yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 1 AND "
                            "source = 'peer' AND outcome = 'ok' AND gpu = 1",
                            (long long)run),
                     1);
    double nv = q(f, "SELECT copy_finished - copy_started FROM load_copies WHERE run = %lld",
                  (long long)run);
    fprintf(stderr, "peer over nvlink %.3f s\n", nv);
    assert_true(nv >= 0.249 && nv < 2.0);
    /* Across nodes (a with one GPU): both links at 64 MiB/s, 0.5 s, faster
     * than the store (16 MiB/s, 2 s). */
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "%s", peer_yaml);
    char *two = strstr(yaml, "gpus: 2");
    assert_non_null(two);
    two[6] = '1';
    run = run_yaml(f, yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 1 AND "
                            "source = 'peer' AND outcome = 'ok' AND gpu = 1",
                            (long long)run),
                     1);
    double net = q(f, "SELECT copy_finished - copy_started FROM load_copies WHERE run = %lld",
                   (long long)run);
    fprintf(stderr, "peer across nodes %.3f s\n", net);
    assert_true(net >= 0.499 && net < 3.0);
}

/* Across nodes again, a/gpu0 failing at 0.2 s, mid-copy (>= 0.5 s): the
 * copy is cancelled (load 1 failed) and the job starts again from the
 * store on b/gpu0 (load 2, 32 MiB at 16 MiB/s: >= 2 s), verified. */
static void peer_fault_mid_copy_falls_back(void **state)
{
    struct fx *f = *state;
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "%sfaults:\n  - {gpu: a/gpu0, at: 0.2s}\n", peer_yaml);
    char *two = strstr(yaml, "gpus: 2");
    two[6] = '1';
    int64_t run = run_yaml(f, yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 1 AND "
                            "source = 'peer' AND outcome = 'failed'",
                            (long long)run),
                     1);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 2 AND "
                            "source = 'store' AND outcome = 'ok' AND enqueued = 0",
                            (long long)run),
                     1);
    double back = q(f, "SELECT finished - started FROM loads WHERE run = %lld AND load_id = 2",
                    (long long)run);
    fprintf(stderr, "fallback from the store %.3f s\n", back);
    assert_true(back >= 1.99 && back < 8.0);
}

/* tp 2 (two 16 MiB shards, 200 MiB on each GPU of a gang, so the two
 * gangs are a/gpu0+gpu1 and a/gpu2+gpu3), one load at a time: load 1 reads
 * the store, load 2 copies shard i from gpu i into gpu 2+i, each over its
 * own pair of NVLink caps at 128 MiB/s: 16 MiB in >= 0.125 s, each shard
 * verified against its peer shard's checksum. */
static const char peer_tp_yaml[] =
    "cluster:\n"
    "  stores: [{name: s3, read: 64MiB/s}]\n"
    "  nodes:\n"
    "    - {name: a, gpus: 4, vram: 256MiB, h2d: 8GiB/s, storage_read: 8GiB/s, network: "
    "64MiB/s, nvlink: 128MiB/s}\n"
    "models:\n"
    "  - {name: m, weights: 32MiB, vram: 400MiB, store: s3, tp: 2, replicas: {min: 2}}\n"
    "policy: {peer: on, max_loads_per_node: 1}\n";

static void tp_peer_copies_shard_by_shard(void **state)
{
    struct fx *f = *state;
    int64_t run = run_yaml(f, peer_tp_yaml);
    assert_int_equal((int)q(f,
                            "SELECT count(*) FROM loads WHERE run = %lld AND load_id = 2 AND "
                            "source = 'peer' AND outcome = 'ok' AND gpu = 2",
                            (long long)run),
                     1);
    double nv = load_copy_s(f, run, 2);
    fprintf(stderr, "tp 2 peer over nvlink %.3f s\n", nv);
    assert_true(nv >= 0.124 && nv < 2.0);
    /* load 1 read both shards, 32 MiB, through the store's one 64 MiB/s
     * cap: its load_copies row spans the gang's copy, >= 0.5 s (it once
     * started after the copy and showed ~0) */
    double st = load_copy_s(f, run, 1);
    fprintf(stderr, "tp 2 from the store %.3f s\n", st);
    assert_true(st >= 0.49 && st < 8.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(store_cap_is_shared, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(disk_cache_hit_after_a_miss, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(peer_copy_on_one_node_and_across, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(peer_fault_mid_copy_falls_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(tp_peer_copies_shard_by_shard, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_cluster.c - results/cluster.c: res_cluster_steps on rows written by
 * hand, each rule of the four series once: READY from the first READY to the
 * first EVICTED/FAILED after it (DRAINING changes nothing; an instance that
 * failed loading is never READY), queued from enqueued to started (a load
 * cancelled in the queue leaves at its finish, one still queued never
 * leaves), waiting requests from arrived to dispatched, VRAM from the first
 * LOADING to the first EVICTED/FAILED (an event vram of 0 falls back to
 * the load's), in time order, ties by series. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "results.h"

#define GIB 1073741824LL

struct steps {
    struct res_cluster_step s[32];
    int n;
};

static int collect(const struct res_cluster_step *st, void *ctx)
{
    struct steps *w = ctx;
    if (w->n < 32) w->s[w->n] = *st;
    w->n++;
    return 0;
}

static int stop_at_third(const struct res_cluster_step *st, void *ctx)
{
    (void)st;
    return ++*(int *)ctx == 3 ? 42 : 0;
}

static void test_cluster_steps(void **state)
{
    (void)state;
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/thaw-test-cluster-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    assert_int_equal(res_open(path, &db, &err), 0);
    char sql[3000];
    snprintf(sql, sizeof sql,
             "INSERT INTO runs (id, uuid, mode, scenario, scenario_sha256, policy, seed, host, "
             "version, started_at, status) VALUES (1, 'u1', 'sim', 's', 'x', 'p', 1, 'h', '0', "
             "'2026', 'complete');"
             /* instance 1 loads 1-3 (event vram 0: the load's 2 GiB), READY
              * 3, DRAINING 5, EVICTED 6; instance 2 loads from 2, FAILED 4 */
             "INSERT INTO instance_events (run, instance, model, gpu, state, t, vram) VALUES "
             "(1, 1, 'a', 0, 'LOADING', 1, 0), (1, 1, 'a', 0, 'READY', 3, 0), "
             "(1, 1, 'a', 0, 'DRAINING', 5, 0), (1, 1, 'a', 0, 'EVICTED', 6, 0), "
             "(1, 2, 'b', 1, 'LOADING', 2, %lld), (1, 2, 'b', 1, 'FAILED', 4, %lld);"
             "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, source, "
             "reason, enqueued, started, finished, bytes, vram, outcome) VALUES "
             "(1, 1, 'a', 1, 0, 'g0', 'n', 'storage', 'demand', 0, 1, 3, 1, %lld, 'ok'), "
             "(1, 2, 'b', 2, 1, 'g1', 'n', 'storage', 'demand', 0.5, 2, NULL, 1, %lld, 'failed'), "
             "(1, 3, 'c', 0, -1, '', '', NULL, 'scale_up', 2.5, NULL, 4.5, 1, %lld, 'cancelled'), "
             "(1, 4, 'd', 0, -1, '', '', NULL, 'demand', 5, NULL, NULL, 1, %lld, 'queued');"
             "INSERT INTO requests (run, request_id, model, arrived, dispatched) VALUES "
             "(1, 1, 'a', 0.2, 3), (1, 2, 'd', 7, NULL);",
             GIB, GIB, 2 * GIB, GIB, GIB, GIB);
    char *msg = NULL;
    int rc = sqlite3_exec(res_handle(db), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "%s\n", msg);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);

    struct steps w = {.n = 0};
    assert_int_equal(res_cluster_steps(db, 1, collect, &w, &err), 0);
    const enum res_cluster_series R = RES_CLUSTER_READY, Q = RES_CLUSTER_QUEUED,
                                  W = RES_CLUSTER_WAITING, V = RES_CLUSTER_VRAM_GIB;
    /* By hand, in time order; at one t by series (READY, QUEUED, WAITING,
     * VRAM): load 1 queued 0-1, load 2 0.5-2, load 3 2.5-4.5 (cancelled),
     * load 4 from 5 on; request 1 waits 0.2-3, request 2 from 7; instance
     * 1 READY 3-6 and holds 2 GiB 1-6, instance 2 holds 1 GiB 2-4. */
    const struct res_cluster_step want[] = {
        {0, Q, 1}, {0.2, W, 1}, {0.5, Q, 1}, {1, Q, -1}, {1, V, 2},  {2, Q, -1},
        {2, V, 1}, {2.5, Q, 1}, {3, R, 1},   {3, W, -1}, {4, V, -1}, {4.5, Q, -1},
        {5, Q, 1}, {6, R, -1},  {6, V, -2},  {7, W, 1},
    };
    int nwant = (int)(sizeof want / sizeof *want);
    assert_int_equal(w.n, nwant);
    for (int i = 0; i < nwant; i++) {
        if (w.s[i].t_s != want[i].t_s || w.s[i].series != want[i].series ||
            w.s[i].delta != want[i].delta)
            fail_msg("step %d: (%g, %d, %g), want (%g, %d, %g)", i, w.s[i].t_s, w.s[i].series,
                     w.s[i].delta, want[i].t_s, want[i].series, want[i].delta);
    }
    /* A callback's non-zero stops the walk and is returned. */
    int calls = 0;
    assert_int_equal(res_cluster_steps(db, 1, stop_at_third, &calls, &err), 42);
    assert_int_equal(calls, 3);
    /* A run without rows: no steps, no error. */
    w.n = 0;
    assert_int_equal(res_cluster_steps(db, 99, collect, &w, &err), 0);
    assert_int_equal(w.n, 0);
    assert_int_equal(res_cluster_steps(db, 1, NULL, NULL, &err), THAW_EINVAL);
    res_close(db);
    const char *left[] = {"t.db", "t.db-wal", "t.db-shm", NULL};
    for (int i = 0; left[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, left[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cluster_steps)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

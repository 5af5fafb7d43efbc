/* test_rows.c - results/rows.c and results/runs.c: a run's rows read back
 * (loads in start or enqueue order with the time an unfinished load's
 * instance left, instance events with the vram fallback, faults, GPUs with
 * the fallback for runs without gpus rows, a node's index, the latest
 * time), the runs of a sweep, the latest sweep, the runs-row reader, and
 * res_cold_starts. Rows are written with plain SQL so every value is known
 * by construction. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"

struct env {
    char dir[64], path[256];
    struct core_spec *spec;
    struct res_db *db;
    int64_t run; /* the run with rows */
};

static void exec_sql(struct res_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(res_handle(db), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "SQL failed: %s\n%s\n", msg, sql);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

static int64_t begin(struct env *e, const char *sweep, const char *params)
{
    struct res_run_info info = {"sim", "", "", sweep, params, 7};
    struct thaw_err err = {0};
    int64_t run;
    assert_int_equal(res_run_begin(e->db, e->spec, &info, &run, &err), 0);
    return run;
}

/* Run 1 (the fixture's 3 GPUs; g0, g1 on n0, g2 on n1):
 *   load 1: m0, inst 10, g0, demand,   enqueued 5, started 5, finished 20, ok
 *   load 2: m1, inst 11, g1, failover, enqueued 0, started 8, finished 30, ok
 *   load 3: m0, inst 12, g2, demand,   enqueued 2, started 9, never finished,
 *           cancelled; instance 12 EVICTED at 4 (before the start: not its
 *           end), FAILED at 40 and EVICTED at 45: it left at 40
 *   load 4: m1, inst 13, g2, standby,  enqueued 1, started 6, finished 7, ok
 *   instance 10: LOADING 5 (vram 20), READY 20 (vram 0: falls back to
 *   load 1's vram 20); instance 14 READY 3 with vram 0 and no loads: 0
 *   faults: g2 at 35 recovered at 50; n0 at 42 never recovered. */
static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    fixture_tmpdb(e->dir, sizeof e->dir, e->path, sizeof e->path, "thaw.db");
    e->spec = fixture_spec();
    struct thaw_err err = {0};
    if (res_open(e->path, &e->db, &err) < 0) return -1;
    e->run = begin(e, NULL, "");
    exec_sql(e->db,
             "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, source, "
             "reason, enqueued, started, finished, bytes, vram, deadline, outcome) VALUES "
             "(1, 1, 'm0', 10, 0, 'g0', 'n0', 'storage', 'demand', 5, 5, 20, 18, 20, 25, 'ok'),"
             "(1, 2, 'm1', 11, 1, 'g1', 'n0', 'shm', 'failover', 0, 8, 30, 9, 10, NULL, 'ok'),"
             "(1, 3, 'm0', 12, 2, 'g2', 'n1', 'storage', 'demand', 2, 9, NULL, 18, 20, NULL, "
             "'cancelled'),"
             "(1, 4, 'm1', 13, 2, 'g2', 'n1', 'storage', 'standby', 1, 6, 7, 9, 10, NULL, 'ok');"
             "INSERT INTO instance_events (run, instance, model, gpu, state, t, vram) VALUES "
             "(1, 12, 'm0', 2, 'EVICTED', 4, 20), (1, 12, 'm0', 2, 'FAILED', 40, 20),"
             "(1, 12, 'm0', 2, 'EVICTED', 45, 20), (1, 10, 'm0', 0, 'LOADING', 5, 20),"
             "(1, 10, 'm0', 0, 'READY', 20, 0), (1, 14, 'm1', 1, 'READY', 3, 0);"
             "INSERT INTO faults (run, kind, target, t, recovered) VALUES "
             "(1, 'node', 'n0', 42, NULL), (1, 'gpu', 'g2', 35, 50);");
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    res_close(e->db);
    fixture_spec_free(e->spec);
    fixture_rmdir(e->dir);
    free(e);
    return 0;
}

#define MAX_SEEN 8
struct seen {
    int n;
    int64_t id[MAX_SEEN];
    double a[MAX_SEEN], b[MAX_SEEN];
    uint64_t u[MAX_SEEN];
    char text[MAX_SEEN][16];
    int stop_after; /* 0: never */
};

static int see_load(const struct res_stored_load *l, void *ctx)
{
    struct seen *s = ctx;
    assert_true(s->n < MAX_SEEN);
    s->id[s->n] = l->load_id;
    s->a[s->n] = l->finished_s;
    s->b[s->n] = l->left_s;
    snprintf(s->text[s->n], sizeof s->text[0], "%s/%s", l->gpu_name, l->source);
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

/* By start: 5 (load 1), 6 (4), 8 (2), 9 (3); by enqueue: 0 (2), 1 (4),
 * 2 (3), 5 (1). Load 3 never finished: its left is 40, the first FAILED or
 * EVICTED of instance 12 at or after its start 9 (the EVICTED at 4 is
 * earlier). Finished loads have no left. A callback's non-zero value stops
 * the walk and comes back. */
static void test_loads(void **state)
{
    struct env *e = *state;
    struct thaw_err err = {0};
    struct seen s = {0};
    assert_int_equal(res_rows_loads(e->db, e->run, RES_LOADS_BY_START, see_load, &s, &err), 0);
    assert_int_equal(s.n, 4);
    int64_t by_start[] = {1, 4, 2, 3};
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.id[i], by_start[i]);
    assert_float_equal(s.a[0], 20, 1e-12);
    assert_true(isnan(s.b[0]));
    assert_true(isnan(s.a[3]));
    assert_float_equal(s.b[3], 40, 1e-12);
    assert_string_equal(s.text[2], "g1/shm");

    memset(&s, 0, sizeof s);
    assert_int_equal(res_rows_loads(e->db, e->run, RES_LOADS_BY_ENQUEUE, see_load, &s, &err), 0);
    int64_t by_enqueue[] = {2, 4, 3, 1};
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.id[i], by_enqueue[i]);

    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    assert_int_equal(res_rows_loads(e->db, e->run, RES_LOADS_BY_START, see_load, &s, &err), 42);
    assert_int_equal(s.n, 2);
    /* A run without rows: no call, 0. */
    memset(&s, 0, sizeof s);
    assert_int_equal(res_rows_loads(e->db, 99, RES_LOADS_BY_START, see_load, &s, &err), 0);
    assert_int_equal(s.n, 0);
}

static int see_ievent(const struct res_stored_ievent *ev, void *ctx)
{
    struct seen *s = ctx;
    assert_true(s->n < MAX_SEEN);
    s->id[s->n] = ev->instance;
    s->a[s->n] = ev->t_s;
    s->u[s->n] = ev->vram_bytes;
    snprintf(s->text[s->n], sizeof s->text[0], "%s", ev->state);
    s->n++;
    return 0;
}

/* By instance then time: 10@5, 10@20, 12@4, 12@40, 12@45, 14@3. By GPU then
 * time: g0: 10@5, 10@20; g1: 14@3; g2: 12@4, 12@40, 12@45. Instance 10's
 * READY has vram 0 and takes load 1's 20; instance 14 has no load: 0. */
static void test_ievents(void **state)
{
    struct env *e = *state;
    struct thaw_err err = {0};
    struct seen s = {0};
    assert_int_equal(res_rows_ievents(e->db, e->run, RES_IEVENTS_BY_INSTANCE, see_ievent, &s, &err),
                     0);
    assert_int_equal(s.n, 6);
    int64_t inst[] = {10, 10, 12, 12, 12, 14};
    double t[] = {5, 20, 4, 40, 45, 3};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(s.id[i], inst[i]);
        assert_float_equal(s.a[i], t[i], 1e-12);
    }
    assert_int_equal(s.u[1], 20);
    assert_string_equal(s.text[1], "READY");
    assert_int_equal(s.u[5], 0);

    memset(&s, 0, sizeof s);
    assert_int_equal(res_rows_ievents(e->db, e->run, RES_IEVENTS_BY_GPU, see_ievent, &s, &err), 0);
    int64_t by_gpu[] = {10, 10, 14, 12, 12, 12};
    for (int i = 0; i < 6; i++)
        assert_int_equal(s.id[i], by_gpu[i]);
}

static int see_fault(const struct res_stored_fault *f, void *ctx)
{
    struct seen *s = ctx;
    s->a[s->n] = f->t_s;
    s->b[s->n] = f->recovered_s;
    snprintf(s->text[s->n], sizeof s->text[0], "%s:%s", f->kind, f->target);
    s->n++;
    return 0;
}

/* In time order: g2 at 35 (recovered 50), then n0 at 42 (never: NaN). */
static void test_faults(void **state)
{
    struct env *e = *state;
    struct thaw_err err = {0};
    struct seen s = {0};
    assert_int_equal(res_rows_faults(e->db, e->run, see_fault, &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.text[0], "gpu:g2");
    assert_float_equal(s.b[0], 50, 1e-12);
    assert_string_equal(s.text[1], "node:n0");
    assert_true(isnan(s.b[1]));
}

static int see_gpu(const struct res_stored_gpu *g, void *ctx)
{
    struct seen *s = ctx;
    s->id[s->n] = g->gpu;
    s->u[s->n] = g->vram_bytes;
    snprintf(s->text[s->n], sizeof s->text[0], "%s@%s", g->name, g->node);
    s->n++;
    return 0;
}

/* The gpus table: g0, g1 on n0 and g2 on n1, 40 bytes each. Without gpus
 * rows: GPUs 0, 1, 2 from the loads (name and node from them, vram 0) and
 * none from the events (every event's GPU has a load). Node index: n0 has
 * no node before it (0); n1 has n0 before it (1); nx is not in the run. The
 * latest time: the FAILED / EVICTED / faults - max(45, recovered 50) = 50. */
static void test_gpus_and_times(void **state)
{
    struct env *e = *state;
    struct thaw_err err = {0};
    struct seen s = {0};
    assert_int_equal(res_rows_gpus(e->db, e->run, see_gpu, &s, &err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.text[0], "g0@n0");
    assert_string_equal(s.text[2], "g2@n1");
    assert_int_equal(s.u[2], 40);
    int idx = -1;
    assert_int_equal(res_rows_node_index(e->db, e->run, "n0", &idx, &err), 0);
    assert_int_equal(idx, 0);
    assert_int_equal(res_rows_node_index(e->db, e->run, "n1", &idx, &err), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(res_rows_node_index(e->db, e->run, "nx", &idx, &err), THAW_ENOENT);
    double last = 0;
    assert_int_equal(res_rows_last_s(e->db, e->run, &last, &err), 0);
    assert_float_equal(last, 50, 1e-12);
    assert_int_equal(res_rows_last_s(e->db, 99, &last, &err), 0);
    assert_float_equal(last, 0, 1e-12);

    exec_sql(e->db, "DELETE FROM gpus WHERE run = 1");
    memset(&s, 0, sizeof s);
    assert_int_equal(res_rows_gpus(e->db, e->run, see_gpu, &s, &err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.text[1], "g1@n0");
    assert_int_equal(s.u[1], 0);
    assert_int_equal(res_rows_node_index(e->db, e->run, "n0", &idx, &err), THAW_ENOENT);
}

/* Cold starts of run 1: ok loads for a demand or a failover: load 1
 * (20 - 5 = 15) and load 2 (30 - 0 = 30), sorted: 15, 30; load 3 never
 * finished, load 4 is a standby. */
static void test_cold_starts(void **state)
{
    struct env *e = *state;
    struct thaw_err err = {0};
    double *v = NULL;
    size_t n = 0;
    assert_int_equal(res_cold_starts(e->db, e->run, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_float_equal(v[0], 15, 1e-12);
    assert_float_equal(v[1], 30, 1e-12);
    free(v);
    assert_int_equal(res_cold_starts(e->db, 99, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(v);
}

/* Sweep "sa": runs 2 (complete) and 3 (still running); then sweep "sb": run
 * 4 (complete). All runs of sa: 2, 3; complete: 2; the latest sweep is sb,
 * the sweep of the highest run id. Run 2's row: its params, sweep, the
 * span 60 s given to res_run_finish; run 3 has no finished_at: no wall
 * span, no duration. */
static void test_sweeps_and_meta(void **state)
{
    struct env *e = *state;
    struct thaw_err err = {0};
    char latest[64];
    assert_int_equal(res_sweep_latest(e->db, latest, sizeof latest, &err), THAW_ENOENT);
    int64_t r2 = begin(e, "sa", "gpus=1"), r3 = begin(e, "sa", "gpus=2");
    assert_int_equal(res_run_finish(e->db, r2, "complete", SEC(60), &err), 0);
    int64_t r4 = begin(e, "sb", "gpus=1");
    assert_int_equal(res_run_finish(e->db, r4, "complete", SEC(1), &err), 0);
    int64_t *ids = NULL;
    int count = 0;
    assert_int_equal(res_sweep_runs(e->db, "sa", false, &ids, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(ids[0], r2);
    assert_int_equal(ids[1], r3);
    free(ids);
    assert_int_equal(res_sweep_runs(e->db, "sa", true, &ids, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(ids[0], r2);
    free(ids);
    assert_int_equal(res_sweep_runs(e->db, "nope", false, &ids, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_null(ids);
    assert_int_equal(res_sweep_latest(e->db, latest, sizeof latest, &err), 0);
    assert_string_equal(latest, "sb");

    struct res_run_meta m;
    assert_int_equal(res_run_meta_load(e->db, r2, &m, &err), 0);
    assert_string_equal(m.params, "gpus=1");
    assert_string_equal(m.sweep_id, "sa");
    assert_float_equal(m.duration_s, 60, 1e-9);
    /* the stamps are whole seconds taken moments apart: a small span */
    assert_true(m.wall_s >= 0 && m.wall_s < 60);
    assert_int_equal(res_run_meta_load(e->db, r3, &m, &err), 0);
    assert_true(isnan(m.duration_s));
    assert_true(isnan(m.wall_s));
    assert_int_equal(res_run_meta_load(e->db, e->run, &m, &err), 0);
    assert_string_equal(m.sweep_id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ievents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpus_and_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cold_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweeps_and_meta, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

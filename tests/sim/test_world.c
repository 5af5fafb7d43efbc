/* test_world.c - the world's inputs (workload/world.c) in the driver
 * shell's order: every source armed in a shell heap as the shell arms them
 * (first inputs in source order, each next one right after its previous one
 * is taken), popped in (time, seq) order, up to run.duration inclusive.
 * Fixed times and bursts come out exactly; Poisson arrivals are a pure
 * function of the seed, inside their window and about as many as the rate
 * says; faults step as documented; and the whole timetable (arrival
 * instants, service times, faults) equals what sim_run records for the same
 * scenario and seed. Both drivers take their inputs through this path. */
#include "sim_test_util.h"

#include "shell.h"
#include "workload.h"

struct exec_arrival {
    int64_t t_ns;
    int model, workload;
    int64_t service_ns;
};

struct exec_fault_ev {
    int64_t t_ns;
    bool recover, node;
    int target, fault;
};

struct exec_schedule {
    int arrival_count, fault_count;
    struct exec_arrival arrivals[4096];
    struct exec_fault_ev faults[256];
};

struct src {
    struct shell_ev ev;
    int index;
};

/* The timetable as the shell plays it out (shell.c's arm_source/on_source). */
static int exec_schedule_build(const struct core_spec *spec, uint64_t seed, int unused,
                               struct exec_schedule *out, struct thaw_err *err)
{
    (void)unused;
    memset(out, 0, sizeof *out);
    struct wl_world *w;
    int rc = wl_world_new(spec, seed, &w, err);
    if (rc < 0) return rc;
    int n = wl_world_source_count(w);
    struct src *src = calloc((size_t)n + 1, sizeof *src);
    struct shell_heap h;
    shell_heap_init(&h);
    for (int i = 0; i < n; i++) {
        shell_ev_init(&src[i].ev, SHELL_EV_SOURCE);
        src[i].index = i;
        int64_t t;
        if (wl_world_peek(w, i, &t)) assert_int_equal(shell_heap_schedule(&h, &src[i].ev, t), 0);
    }
    struct shell_ev *ev;
    while ((ev = shell_heap_peek(&h)) &&
           (spec->duration_ns <= 0 || ev->t_ns <= spec->duration_ns)) {
        shell_heap_pop(&h);
        struct src *s = SHELL_CONTAINER_OF(ev, struct src, ev);
        struct wl_input in;
        assert_true(wl_world_take(w, s->index, &in));
        int64_t t;
        if (wl_world_peek(w, s->index, &t)) assert_int_equal(shell_heap_schedule(&h, &s->ev, t), 0);
        if (in.kind == WL_INPUT_ARRIVAL) {
            assert_true(out->arrival_count < 4096);
            out->arrivals[out->arrival_count++] =
                (struct exec_arrival){in.t_ns, in.model, in.workload, in.service_ns};
        } else if (in.kind != WL_INPUT_NONE) {
            assert_true(out->fault_count < 256);
            out->faults[out->fault_count++] = (struct exec_fault_ev){
                in.t_ns, in.kind == WL_INPUT_RECOVER, in.node, in.target, in.fault};
        }
    }
    shell_heap_free(&h);
    free(src);
    wl_world_free(w);
    return 0;
}

static void exec_schedule_free(struct exec_schedule *s)
{
    (void)s;
}

#define MS 1000000LL
#define S 1000000000LL

struct fixture {
    struct core_node_spec node;
    struct core_gpu_spec gpus[2];
    struct core_model_spec models[2];
    struct core_workload_spec wl[2];
    struct core_fault_spec faults[5];
    int64_t times[3];
    struct core_burst bursts[3];
    struct core_spec spec;
};

static void base(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->node.gpu_count = 2;
    snprintf(f->node.name, CORE_NAME_MAX, "n");
    for (int g = 0; g < 2; g++)
        f->gpus[g].vram_bytes = 1u << 30;
    snprintf(f->models[0].name, CORE_NAME_MAX, "a");
    snprintf(f->models[1].name, CORE_NAME_MAX, "b");
    f->spec.node_count = 1;
    f->spec.nodes = &f->node;
    f->spec.gpu_count = 2;
    f->spec.gpus = f->gpus;
    f->spec.model_count = 2;
    f->spec.models = f->models;
    f->spec.workloads = f->wl;
    f->spec.faults = f->faults;
    f->spec.seed = 1;
}

/* Workload 0: bursts of 2 at 500 ms, 1 at 1 s and 1 at 4 s (past the 3 s
 * run), fixed 10 ms service; workload 1: times 500 ms and 2 s, 20 ms. The
 * sim's event heap orders equal times by when each was scheduled: the first
 * arrivals go in entry order (w0 seq 0, w1 seq 1), and each arrival
 * schedules its source's next one with a fresh (larger) sequence number. So:
 * w0@500 (next w0@500 gets seq 2), w1@500 (seq 1; next w1@2s seq 3),
 * w0@500 (seq 2; next w0@1s), w0@1s, w1@2s; 4 s is cut by run.duration. */
static void test_times_and_bursts_in_sim_order(void **state)
{
    (void)state;
    struct fixture f;
    base(&f);
    f.bursts[0] = (struct core_burst){.at_ns = 500 * MS, .count = 2};
    f.bursts[1] = (struct core_burst){.at_ns = 1 * S, .count = 1};
    f.bursts[2] = (struct core_burst){.at_ns = 4 * S, .count = 1};
    f.wl[0] = (struct core_workload_spec){.model = 0,
                                          .arrivals = CORE_ARRIVAL_BURSTS,
                                          .burst_count = 3,
                                          .bursts = f.bursts,
                                          .service = {.kind = CORE_DIST_FIXED, .mean_ns = 10 * MS}};
    f.times[0] = 500 * MS;
    f.times[1] = 2 * S;
    f.wl[1] = (struct core_workload_spec){.model = 1,
                                          .arrivals = CORE_ARRIVAL_TIMES,
                                          .time_count = 2,
                                          .times_ns = f.times,
                                          .service = {.kind = CORE_DIST_FIXED, .mean_ns = 20 * MS}};
    f.spec.workload_count = 2;
    f.spec.duration_ns = 3 * S;
    static struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), 0);
    assert_int_equal(s.arrival_count, 5);
    const int64_t t[] = {500 * MS, 500 * MS, 500 * MS, 1 * S, 2 * S};
    const int wl[] = {0, 1, 0, 0, 1};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.arrivals[i].t_ns, t[i]);
        assert_int_equal(s.arrivals[i].workload, wl[i]);
        assert_int_equal(s.arrivals[i].model, wl[i]);
        assert_int_equal(s.arrivals[i].service_ns, wl[i] ? 20 * MS : 10 * MS);
    }
    assert_int_equal(s.fault_count, 0);
    exec_schedule_free(&s);

    /* The world rejects unsorted times. */
    f.times[0] = 3 * S;
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), THAW_EINVAL);
}

static void poisson(struct fixture *f, double rate, int64_t start, int64_t end)
{
    base(f);
    f->wl[0] = (struct core_workload_spec){
        .model = 0,
        .arrivals = CORE_ARRIVAL_POISSON,
        .rate_per_s = rate,
        .start_ns = start,
        .end_ns = end,
        .service = {.kind = CORE_DIST_EXP, .mean_ns = 50 * MS},
    };
    f->spec.workload_count = 1;
}

/* 100/s over [2 s, 12 s): N ~ Poisson(1000), sd sqrt(1000) = 31.6; the
 * band 1000 +- 160 is five sd wide on each side. */
static void test_poisson_seeded_and_in_window(void **state)
{
    (void)state;
    struct fixture f;
    poisson(&f, 100, 2 * S, 12 * S);
    static struct exec_schedule a, b, c;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 42, 0, &a, &err), 0);
    assert_int_equal(exec_schedule_build(&f.spec, 42, 0, &b, &err), 0);
    assert_int_equal(exec_schedule_build(&f.spec, 43, 0, &c, &err), 0);
    assert_true(a.arrival_count >= 840 && a.arrival_count <= 1160);
    assert_int_equal(a.arrival_count, b.arrival_count);
    assert_memory_equal(a.arrivals, b.arrivals, (size_t)a.arrival_count * sizeof *a.arrivals);
    bool differs = c.arrival_count != a.arrival_count;
    for (int i = 0; !differs && i < a.arrival_count; i++)
        differs = a.arrivals[i].t_ns != c.arrivals[i].t_ns;
    assert_true(differs);
    double service_sum = 0;
    for (int i = 0; i < a.arrival_count; i++) {
        assert_true(a.arrivals[i].t_ns >= 2 * S && a.arrivals[i].t_ns < 12 * S);
        if (i) assert_true(a.arrivals[i].t_ns >= a.arrivals[i - 1].t_ns);
        service_sum += (double)a.arrivals[i].service_ns;
    }
    /* Exponential services of mean 50 ms: the mean of ~1000 has sd 1.6 ms. */
    double mean = service_sum / a.arrival_count;
    assert_true(mean > 42 * MS && mean < 58 * MS);
    exec_schedule_free(&a);
    exec_schedule_free(&b);
    exec_schedule_free(&c);
}

static void test_poisson_needs_an_end(void **state)
{
    (void)state;
    struct fixture f;
    poisson(&f, 5, 0, 0);
    static struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), THAW_EINVAL);
    assert_non_null(strstr(err.msg, "Poisson"));
    /* The run's duration is an end. */
    f.spec.duration_ns = 1 * S;
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), 0);
    exec_schedule_free(&s);
}

/* As the sim plays faults out: node 0 fails at 500 ms and is back after
 * 1 s (1.5 s); gpu 1 (on node 0) "fails" at 1 s while its node is down, so
 * that fault finds nothing to break and is skipped; gpu 0 fails at 2 s and
 * is back at 4 s; a fault at exactly run.duration (5 s) still fires (the
 * sim stops at the first event *past* it) and one at 6 s does not. */
static void test_faults_as_the_sim_fires_them(void **state)
{
    (void)state;
    struct fixture f;
    base(&f);
    f.faults[0] = (struct core_fault_spec){.target = CORE_FAULT_NODE,
                                           .node = 0,
                                           .gpu = -1,
                                           .at_ns = 500 * MS,
                                           .recover_after_ns = 1 * S};
    f.faults[1] = (struct core_fault_spec){
        .target = CORE_FAULT_GPU, .node = 0, .gpu = 1, .at_ns = 1 * S, .recover_after_ns = 2 * S};
    f.faults[2] = (struct core_fault_spec){
        .target = CORE_FAULT_GPU, .node = 0, .gpu = 0, .at_ns = 2 * S, .recover_after_ns = 2 * S};
    f.faults[3] =
        (struct core_fault_spec){.target = CORE_FAULT_GPU, .node = 0, .gpu = 1, .at_ns = 5 * S};
    f.faults[4] =
        (struct core_fault_spec){.target = CORE_FAULT_GPU, .node = 0, .gpu = 0, .at_ns = 6 * S};
    f.spec.fault_count = 5;
    f.spec.duration_ns = 5 * S;
    static struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), 0);
    assert_int_equal(s.fault_count, 5);
    const int64_t t[] = {500 * MS, 1500 * MS, 2 * S, 4 * S, 5 * S};
    const int fault[] = {0, 0, 2, 2, 3};
    const bool recover[] = {false, true, false, true, false};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.faults[i].t_ns, t[i]);
        assert_int_equal(s.faults[i].fault, fault[i]);
        assert_int_equal(s.faults[i].recover, recover[i]);
        assert_int_equal(s.faults[i].node, fault[i] == 0);
    }
    assert_int_equal(s.faults[4].target, 1);
    exec_schedule_free(&s);

    /* A fault with neither a time nor an MTBF is refused, as by the sim. */
    f.faults[0].at_ns = -1;
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), THAW_EINVAL);
}

/* MTBF 1 s with recovery 100 ms over a 20 s run: failures are ~1.1 s
 * apart, so 10 to 30 of them; each is followed by its recovery 100 ms
 * later, and every failure time is inside the run. */
static void test_mtbf_faults(void **state)
{
    (void)state;
    struct fixture f;
    base(&f);
    f.faults[0] = (struct core_fault_spec){.target = CORE_FAULT_GPU,
                                           .gpu = 0,
                                           .at_ns = -1,
                                           .mtbf_ns = 1 * S,
                                           .recover_after_ns = 100 * MS};
    f.spec.fault_count = 1;
    f.spec.duration_ns = 20 * S;
    static struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 9, 0, &s, &err), 0);
    int fails = 0;
    for (int i = 0; i < s.fault_count; i++) {
        if (s.faults[i].recover) {
            assert_true(i > 0 && !s.faults[i - 1].recover);
            assert_int_equal(s.faults[i].t_ns - s.faults[i - 1].t_ns, 100 * MS);
        } else {
            fails++;
            assert_true(s.faults[i].t_ns <= 20 * S);
        }
    }
    assert_true(fails >= 10 && fails <= 30);
    exec_schedule_free(&s);
}

/* exec-small.yaml, and the same with seed 7: the timetable is what sim_run
 * of the same spec records. Request i + 1 of the sim arrived at arrival i's
 * instant (ns-exact: the table holds seconds as doubles, 15 s carries
 * ~2e-15 s of rounding) for the same model; each finished request was served
 * for exactly its drawn service time (finished - dispatched, to 1 ns of
 * rounding); and the fault rows are the timetable's fail/recover pairs. */
static void check_against_sim(const char *seed_kv)
{
    const char *kv[] = {seed_kv, NULL};
    struct core_spec *spec = simt_load("scenarios/exec-small.yaml", kv);
    static struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(spec, spec->seed, 0, &s, &err), 0);
    struct simt t;
    simt_open(&t);
    int64_t run = simt_run(&t, spec, NULL);
    assert_true(s.arrival_count > 20);
    assert_int_equal((int)simt_num(&t, run, "SELECT count(*) FROM requests WHERE run = ?1"),
                     s.arrival_count);
    sqlite3 *h = res_handle(t.db);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT request_id, model, arrived, dispatched, finished "
                                        "FROM requests WHERE run = ?1 ORDER BY request_id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    int i = 0, served = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_true(i < s.arrival_count);
        const struct exec_arrival *a = &s.arrivals[i];
        assert_int_equal(sqlite3_column_int64(st, 0), i + 1);
        assert_string_equal((const char *)sqlite3_column_text(st, 1), spec->models[a->model].name);
        assert_int_equal(llround(sqlite3_column_double(st, 2) * 1e9), a->t_ns);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            double d = sqlite3_column_double(st, 4) - sqlite3_column_double(st, 3);
            assert_true(llabs(llround(d * 1e9) - a->service_ns) <= 1);
            served++;
        }
        i++;
    }
    sqlite3_finalize(st);
    assert_int_equal(i, s.arrival_count);
    assert_true(served > 0);
    /* exec-small: gpu1 fails at 8 s, back at 12 s. */
    assert_int_equal(s.fault_count, 2);
    assert_int_equal(s.faults[0].t_ns, 8 * S);
    assert_int_equal(s.faults[1].t_ns, 12 * S);
    assert_int_equal((int)simt_num(&t, run, "SELECT count(*) FROM faults WHERE run = ?1"), 1);
    assert_int_equal(llround(simt_num(&t, run, "SELECT t FROM faults WHERE run = ?1") * 1e9),
                     s.faults[0].t_ns);
    assert_int_equal(
        llround(simt_num(&t, run, "SELECT recovered FROM faults WHERE run = ?1") * 1e9),
        s.faults[1].t_ns);
    simt_close(&t);
    exec_schedule_free(&s);
    core_spec_free(spec);
}

static void test_same_timetable_as_the_sim(void **state)
{
    (void)state;
    check_against_sim("run.seed=42");
    check_against_sim("run.seed=7");
}

/* MTBF faults drawn from the sim's fault stream: exec-small.yaml with its
 * gpu1 fault made recurring (MTBF 2 s, back after 300 ms) over its 15 s.
 * The sim records one row per failure with its recovery (NULL when the run
 * ended first); the timetable must list the same instants, fail and
 * recover alternating. */
static void test_mtbf_faults_as_the_sim(void **state)
{
    (void)state;
    struct core_spec *spec = simt_load("scenarios/exec-small.yaml", NULL);
    assert_int_equal(spec->fault_count, 1);
    spec->faults[0].at_ns = -1;
    spec->faults[0].mtbf_ns = 2 * S;
    spec->faults[0].recover_after_ns = 300 * MS;
    static struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(spec, spec->seed, 0, &s, &err), 0);
    struct simt t;
    simt_open(&t);
    int64_t run = simt_run(&t, spec, NULL);
    int rows = (int)simt_num(&t, run, "SELECT count(*) FROM faults WHERE run = ?1");
    assert_true(rows >= 3);
    assert_int_equal((s.fault_count + 1) / 2, rows);
    sqlite3 *h = res_handle(t.db);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT t, recovered FROM faults WHERE run = ?1 "
                                        "ORDER BY t",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i += 2) {
        assert_false(s.faults[i].recover);
        assert_int_equal(llround(sqlite3_column_double(st, 0) * 1e9), s.faults[i].t_ns);
        if (i + 1 < s.fault_count) {
            assert_true(s.faults[i + 1].recover);
            assert_int_equal(s.faults[i + 1].t_ns - s.faults[i].t_ns, 300 * MS);
            assert_int_equal(llround(sqlite3_column_double(st, 1) * 1e9), s.faults[i + 1].t_ns);
        }
    }
    sqlite3_finalize(st);
    simt_close(&t);
    exec_schedule_free(&s);
    core_spec_free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_and_bursts_in_sim_order),
        cmocka_unit_test(test_poisson_seeded_and_in_window),
        cmocka_unit_test(test_poisson_needs_an_end),
        cmocka_unit_test(test_faults_as_the_sim_fires_them),
        cmocka_unit_test(test_mtbf_faults),
        cmocka_unit_test(test_same_timetable_as_the_sim),
        cmocka_unit_test(test_mtbf_faults_as_the_sim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_schedule.c - the exec driver's timetable (exec/schedule.c): fixed
 * times and bursts come out exactly, sorted and cut at run.duration; Poisson
 * arrivals are a pure function of the seed, inside their window and about
 * as many as the rate says; faults and their recoveries land where the
 * scenario puts them; the distribution draws have the means they claim.
 * Specs are built by hand, so nothing here depends on the YAML loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schedule.h"

#define MS 1000000LL
#define S 1000000000LL

struct fixture {
    struct core_node_spec node;
    struct core_gpu_spec gpus[2];
    struct core_model_spec models[2];
    struct core_workload_spec wl[2];
    struct core_fault_spec faults[2];
    int64_t times[3];
    struct core_burst bursts[1];
    struct core_spec spec;
};

static void base(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->node.gpu_count = 2;
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

/* Workload 0: times 1 s, 500 ms, 4 s (4 s is past the 3 s run) with a fixed
 * 10 ms service; workload 1: a burst of 3 at 500 ms, service 20 ms. Sorted
 * by (time, workload, order drawn): 500ms w0, then the three of w1 at
 * 500 ms, then 1 s w0; 4 s is cut. The times list is taken as written, so
 * 500 ms drawn second still comes first. */
static void test_times_and_bursts_exact(void **state)
{
    (void)state;
    struct fixture f;
    base(&f);
    f.times[0] = 1 * S;
    f.times[1] = 500 * MS;
    f.times[2] = 4 * S;
    f.wl[0] = (struct core_workload_spec){.model = 0,
                                          .arrivals = CORE_ARRIVAL_TIMES,
                                          .time_count = 3,
                                          .times_ns = f.times,
                                          .service = {.kind = CORE_DIST_FIXED, .mean_ns = 10 * MS}};
    f.bursts[0] = (struct core_burst){.at_ns = 500 * MS, .count = 3};
    f.wl[1] = (struct core_workload_spec){.model = 1,
                                          .arrivals = CORE_ARRIVAL_BURSTS,
                                          .burst_count = 1,
                                          .bursts = f.bursts,
                                          .service = {.kind = CORE_DIST_FIXED, .mean_ns = 20 * MS}};
    f.spec.workload_count = 2;
    f.spec.duration_ns = 3 * S;
    struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), 0);
    assert_int_equal(s.arrival_count, 5);
    const int64_t t[] = {500 * MS, 500 * MS, 500 * MS, 500 * MS, 1 * S};
    const int model[] = {0, 1, 1, 1, 0};
    const int64_t service[] = {10 * MS, 20 * MS, 20 * MS, 20 * MS, 10 * MS};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.arrivals[i].t_ns, t[i]);
        assert_int_equal(s.arrivals[i].model, model[i]);
        assert_int_equal(s.arrivals[i].service_ns, service[i]);
    }
    assert_int_equal(s.fault_count, 0);
    exec_schedule_free(&s);
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
    struct exec_schedule a, b, c;
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
    struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), THAW_EINVAL);
    assert_non_null(strstr(err.msg, "poisson"));
    /* The run's duration is an end. */
    f.spec.duration_ns = 1 * S;
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), 0);
    exec_schedule_free(&s);
    /* Too many arrivals for the cap: 1000/s over 1 s against a cap of 10. */
    poisson(&f, 1000, 0, 1 * S);
    assert_int_equal(exec_schedule_build(&f.spec, 1, 10, &s, &err), THAW_ERANGE);
}

/* Fault 0: gpu 1 at 1 s, back after 2 s -> fail at 1 s, recover at 3 s.
 * Fault 1: node 0 at 500 ms, never back -> one event. Sorted by time. A
 * fault at or past run.duration (5 s) is dropped. */
static void test_faults_where_the_scenario_puts_them(void **state)
{
    (void)state;
    struct fixture f;
    base(&f);
    f.faults[0] = (struct core_fault_spec){
        .target = CORE_FAULT_GPU, .node = 0, .gpu = 1, .at_ns = 1 * S, .recover_after_ns = 2 * S};
    f.faults[1] = (struct core_fault_spec){
        .target = CORE_FAULT_NODE, .node = 0, .gpu = -1, .at_ns = 500 * MS};
    f.spec.fault_count = 2;
    f.spec.duration_ns = 5 * S;
    struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), 0);
    assert_int_equal(s.fault_count, 3);
    assert_int_equal(s.faults[0].t_ns, 500 * MS);
    assert_true(s.faults[0].node && !s.faults[0].recover);
    assert_int_equal(s.faults[1].t_ns, 1 * S);
    assert_true(!s.faults[1].node && !s.faults[1].recover && s.faults[1].target == 1);
    assert_int_equal(s.faults[2].t_ns, 3 * S);
    assert_true(s.faults[2].recover && s.faults[2].target == 1);
    exec_schedule_free(&s);

    f.faults[0].at_ns = 5 * S;
    f.spec.fault_count = 1;
    assert_int_equal(exec_schedule_build(&f.spec, 1, 0, &s, &err), 0);
    assert_int_equal(s.fault_count, 0);
    exec_schedule_free(&s);
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
    struct exec_schedule s;
    struct thaw_err err = {0};
    assert_int_equal(exec_schedule_build(&f.spec, 9, 0, &s, &err), 0);
    int fails = 0;
    for (int i = 0; i < s.fault_count; i++) {
        if (s.faults[i].recover) {
            assert_true(i > 0 && !s.faults[i - 1].recover);
            assert_int_equal(s.faults[i].t_ns - s.faults[i - 1].t_ns, 100 * MS);
        } else {
            fails++;
            assert_true(s.faults[i].t_ns < 20 * S);
        }
    }
    assert_true(fails >= 10 && fails <= 30);
    exec_schedule_free(&s);
}

/* 20,000 draws per distribution of mean 100 ms: with cv 0.5 the sample
 * mean's sd is 0.35 ms, so +-3 ms is more than eight sd. */
static void test_draw_means(void **state)
{
    (void)state;
    const struct core_dist d[] = {
        {.kind = CORE_DIST_FIXED, .mean_ns = 100 * MS},
        {.kind = CORE_DIST_EXP, .mean_ns = 100 * MS},
        {.kind = CORE_DIST_LOGNORMAL, .mean_ns = 100 * MS, .cv = 0.5},
        {.kind = CORE_DIST_GAMMA, .mean_ns = 100 * MS, .cv = 0.5},
        {.kind = CORE_DIST_UNIFORM, .lo_ns = 50 * MS, .hi_ns = 150 * MS},
    };
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++) {
        struct exec_rng *r;
        assert_int_equal(exec_rng_new(5, exec_stream_seed(5, EXEC_STREAM_LOAD_COSTS, 0), &r), 0);
        double sum = 0;
        int n = 20000;
        double tol = d[k].kind == CORE_DIST_EXP ? 5.0 * MS : 3.0 * MS; /* EXP: cv 1, sd 0.7 ms */
        for (int i = 0; i < n; i++) {
            int64_t v = exec_rng_draw(r, &d[k]);
            assert_true(v >= 0);
            sum += (double)v;
        }
        exec_rng_free(r);
        assert_true(fabs(sum / n - 100.0 * MS) < tol);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_and_bursts_exact),
        cmocka_unit_test(test_poisson_seeded_and_in_window),
        cmocka_unit_test(test_poisson_needs_an_end),
        cmocka_unit_test(test_faults_where_the_scenario_puts_them),
        cmocka_unit_test(test_mtbf_faults),
        cmocka_unit_test(test_draw_means),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_plot.c - cli/plot_*.c: a database of synthetic runs (written with
 * plain SQL through the results schema, so the expected rows are known by
 * construction), then every chart: the data files must hold the rows
 * derived below, and gnuplot must turn them into a valid PNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "plot_bandwidth.c"
#include "plot_common.c"
#include "plot_cdf.c"
#include "plot_cluster.c"
#include "plot_render.c"
#include "plot_sweep.c"
#include "plot_timeline.c"
#include "plot_validate.c"
#include "plot_vram.c"

#define GIB 1073741824LL

struct fixture {
    char dir[256];
    char db_path[300];
    struct res_db *db;
};

static void exec_sql(struct res_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(res_handle(db), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "SQL failed: %s\n%s\n", msg, sql);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

static void add_run(struct res_db *db, int id, const char *mode, const char *policy, int seed,
                    const char *sweep, const char *params)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO runs (id, uuid, mode, scenario, scenario_sha256, policy, seed, host, "
             "version, sweep_id, params, started_at, duration_s, status) VALUES (%d, 'u%d', '%s', "
             "'scenarios/chain.yaml', 'sha-chain', '%s', %d, 'h', '0', %s%s%s, '%s', "
             "'2026-01-01T00:00:00Z', 80, 'complete');"
             "INSERT INTO gpus (run, gpu, name, node, vram) VALUES (%d, 0, 'n/gpu0', 'n', %lld), "
             "(%d, 1, 'n/gpu1', 'n', %lld);",
             id, id, mode, policy, seed, sweep ? "'" : "", sweep ? sweep : "NULL", sweep ? "'" : "",
             params, id, 80 * GIB, id, 80 * GIB);
    exec_sql(db, sql);
}

/* One load with its instance's LOADING and READY events (instance = load). */
static void add_load(struct res_db *db, int run, int load, const char *model, int gpu,
                     const char *reason, double enq, double start, double fin, long long vram)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, source, "
             "reason, enqueued, started, finished, bytes, vram, deadline, outcome) VALUES (%d, %d, "
             "'%s', %d, %d, 'n/gpu%d', 'n', 'storage', '%s', "
             "%g, %g, %g, %lld, %lld, NULL, 'ok');"
             "INSERT INTO instance_events (run, instance, model, gpu, state, t, vram) VALUES "
             "(%d, %d, '%s', %d, 'LOADING', %g, %lld), "
             "(%d, %d, '%s', %d, 'READY', %g, %lld);",
             run, load, model, load, gpu, gpu, reason, enq, start, fin, vram, vram, run, load,
             model, gpu, start, vram, run, load, model, gpu, fin, vram);
    exec_sql(db, sql);
}

/* Run 1 (sim, fifo) is the chained cold start on two GPUs:
 *   A: gpu0, failover, enqueued 0, loads 0-30, READY until EVICTED at 70
 *   B: gpu1, failover, enqueued 10, loads 35-55, READY to the end (80)
 *   C: gpu1, demand,   enqueued 15, loads 40-65, READY to the end
 *   a fault of n/gpu0 at 5, recovered at 60.
 * Run 2 (sim, priority): the same models, shorter waits.
 * Run 3 (exec): the loads of run 1, measured 10% slower.
 * Runs 10-21: sweep "sw1", gpus in {1, 2} x queue in {fifo, priority} x
 * seeds 1-3, with makespan_s = base + {0, 2, 4} by seed (a metric the
 * sweep chart averages over seeds). */
static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    struct thaw_err err = {0};
    snprintf(fx->dir, sizeof fx->dir, "%s/thaw-test-plot-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->db_path, sizeof fx->db_path, "%s/t.db", fx->dir);
    assert_int_equal(res_open(fx->db_path, &fx->db, &err), 0);
    struct res_db *db = fx->db;
    const char *fifo =
        "queue=fifo,placement=first_fit,eviction=lru,shm=off,balancer=lru,autoscale=off";
    const char *prio =
        "queue=priority,placement=first_fit,eviction=lru,shm=off,balancer=lru,autoscale=off";
    add_run(db, 1, "sim", fifo, 1, NULL, "");
    add_load(db, 1, 1, "A", 0, "failover", 0, 0, 30, 14 * GIB);
    add_load(db, 1, 2, "B", 1, "failover", 10, 35, 55, 14 * GIB);
    add_load(db, 1, 3, "C", 1, "demand", 15, 40, 65, 20 * GIB);
    exec_sql(db, "INSERT INTO instance_events (run, instance, model, gpu, state, t, vram) "
                 "VALUES (1, 1, 'A', 0, 'EVICTED', 70, 15032385536);"
                 "INSERT INTO faults (run, kind, target, t, recovered) "
                 "VALUES (1, 'gpu', 'n/gpu0', 5, 60);");
    add_run(db, 2, "sim", prio, 1, NULL, "");
    add_load(db, 2, 1, "A", 0, "failover", 0, 0, 30, 14 * GIB);
    add_load(db, 2, 2, "B", 1, "failover", 10, 30, 50, 14 * GIB);
    add_load(db, 2, 3, "C", 1, "demand", 15, 32, 57, 20 * GIB);
    add_run(db, 3, "exec", fifo, 1, NULL, "");
    add_load(db, 3, 1, "A", 0, "failover", 0, 0, 33, 14 * GIB);
    add_load(db, 3, 2, "B", 1, "failover", 10, 35, 57, 14 * GIB);
    add_load(db, 3, 3, "C", 1, "demand", 15, 40, 67.5, 20 * GIB);
    int id = 10;
    for (int g = 1; g <= 2; g++)
        for (int q = 0; q < 2; q++)
            for (int seed = 1; seed <= 3; seed++, id++) {
                char params[128], sql[256];
                snprintf(params, sizeof params, "cluster.nodes[0].gpus=%d;policy=queue=%s", g,
                         q ? "priority" : "fifo");
                add_run(db, id, "sim", q ? prio : fifo, seed, "sw1", params);
                /* base: 60 / gpus, minus 10 for priority. */
                double v = 60.0 / g - 10 * q + 2 * (seed - 1);
                snprintf(sql, sizeof sql,
                         "INSERT INTO metrics (run, name, value) VALUES (%d, 'makespan_s', %g);",
                         id, v);
                exec_sql(db, sql);
            }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    res_close(fx->db);
    char path[400];
    const char *leftovers[] = {"t.db", "t.db-wal", "t.db-shm", "chart.png", "chart.svg", NULL};
    for (int i = 0; leftovers[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", fx->dir, leftovers[i]);
        unlink(path);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Counts the data rows (not comments, not blank) of a file. */
static size_t count_rows(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192]; /* a heatmap row is 240 cells of 6 characters */
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && line[0] != '\n') n++;
    fclose(f);
    return n;
}

/* Reads line `want` (0-based, data rows only) of a file. */
static void read_row(const char *path, size_t want, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = 0;
    out[0] = '\0';
    while (fgets(out, (int)len, f)) {
        if (out[0] == '#' || out[0] == '\n') continue;
        if (n++ == want) break;
    }
    fclose(f);
}

static void render_png(struct fixture *fx, struct cli_plot_job *job)
{
    char out[400];
    struct thaw_err err = {0};
    snprintf(out, sizeof out, "%s/chart.png", fx->dir);
    int rc = cli_plot_render(job, out, NULL, &err);
    if (rc == THAW_ENOENT && strstr(err.msg, "not installed")) {
        cli_plot_job_free(job, 0);
        skip();
    }
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    FILE *f = fopen(out, "rb");
    assert_non_null(f);
    unsigned char sig[8];
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
    /* A chart with axes, labels and a legend is tens of KB; an empty or
     * error image is a few hundred bytes. */
    assert_true(size > 2048);
}

static struct cli_plot_job prepare_ok(struct fixture *fx, enum cli_plot_kind kind, int n,
                                      const char *const *sel)
{
    struct cli_plot_request req = {kind, n, sel, NULL, NULL};
    struct cli_plot_job job;
    struct thaw_err err = {0};
    int rc = cli_plot_prepare(fx->db, &req, &job, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    return job;
}

/* Spans of run 1: A loading + ready (no queue: enqueued = started) = 2,
 * B and C queued + loading + ready = 3 each: 8. Faults: the fault and its
 * recovery: 2. B and C overlap on gpu1 (35-80 and 15-80), so gpu1 has two
 * lanes: B (from 10) in lane 0 at y = 1 + 0.08 + 0.5 * 0.42 = 1.29 and C
 * in lane 1 at 1.71; A alone on gpu0 at 0.5. */
static void test_timeline(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"1"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_TIMELINE, 1, sel);
    assert_int_equal(job.file_count, 2);
    assert_int_equal(job.rows[0], 8);
    assert_int_equal(count_rows(job.files[0]), 8);
    assert_int_equal(job.rows[1], 2);
    assert_int_equal(job.series, 3);
    assert_string_equal(job.label, "1");
    char row[256];
    /* Loads come first in enqueue order: A's loading span is row 0. */
    read_row(job.files[0], 0, row, sizeof row);
    assert_string_equal(row, "0.500000 0 30 0.378000 0 1 \"A\"\n");
    /* B's queued span: 10 -> 35, lane 0 of gpu1, half height 0.45*0.42. */
    read_row(job.files[0], 1, row, sizeof row);
    assert_string_equal(row, "1.290000 10 35 0.189000 1 0 \"B\"\n");
    read_row(job.files[0], 3, row, sizeof row);
    assert_string_equal(row, "1.710000 15 40 0.189000 2 0 \"C\"\n");
    read_row(job.files[1], 0, row, sizeof row);
    assert_string_equal(row, "5 0 1 0 \"n/gpu0\"\n");
    assert_non_null(strstr(job.assign, "tdone=65;"));
    assert_non_null(strstr(job.assign, "tmax=80;"));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);
}

/* VRAM of run 1: gpu0 rows (0,0) (0,14: A loads) (70,0: A evicted)
 * (80,0: end); gpu1 rows (0,0) (35,14: B) (40,34: C's 20 more) (80,34). */
static void test_vram(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"1"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_VRAM, 1, sel);
    assert_int_equal(job.rows[0], 8);
    assert_int_equal(count_rows(job.files[0]), 8);
    char row[128];
    read_row(job.files[0], 1, row, sizeof row);
    assert_string_equal(row, "0 14.000000\n");
    read_row(job.files[0], 2, row, sizeof row);
    assert_string_equal(row, "70 0.000000\n");
    read_row(job.files[0], 6, row, sizeof row);
    assert_string_equal(row, "40 34.000000\n");
    assert_non_null(strstr(job.assign, "caps=\"80.000 80.000\""));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);
}

/* Runs 1 and 2 have three cold starts each (A, B failover; C demand), so
 * each line is (0,0) plus three rows: 8. Run 1's latencies enqueued to
 * READY: A 30, B 45, C 50. The labels keep only what differs: the queue. */
static void test_cdf(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"1", "2"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_CDF, 2, sel);
    assert_int_equal(job.rows[0], 8);
    assert_int_equal(job.series, 2);
    char row[128];
    read_row(job.files[0], 2, row, sizeof row);
    assert_string_equal(row, "45 0.666666667\n");
    assert_non_null(strstr(job.assign, "run 1: queue=fifo (n=3)"));
    assert_non_null(strstr(job.assign, "run 2: queue=priority (n=3)"));
    assert_string_equal(job.label, "1-2");
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);

    /* The sweep id as a selector: a line per (policy, params) point of the
     * sweep, but its runs have no loads: nothing to draw. */
    const char *sw[] = {"sw1"};
    struct cli_plot_request req = {CLI_PLOT_CDF, 1, sw, NULL, NULL};
    struct thaw_err err = {0};
    assert_int_equal(cli_plot_prepare(fx->db, &req, &job, &err), THAW_ENOENT);
}

/* Sweep sw1 on gpus: 2 lines (fifo, priority) x 2 x values = 4 rows. The
 * fifo line at gpus=1: values 60, 62, 64: mean 62, sd 2, half-width
 * t(0.975, 2) * 2 / sqrt(3) = 4.30265 * 1.15470 = 4.96827. */
static void test_sweep(void **state)
{
    struct fixture *fx = *state;
    struct cli_plot_request mreq = {CLI_PLOT_SWEEP, 0, NULL, "makespan_s", NULL};
    struct cli_plot_job job;
    struct thaw_err merr = {0};
    assert_int_equal(cli_plot_prepare(fx->db, &mreq, &job, &merr), 0);
    assert_int_equal(job.rows[0], 4);
    assert_int_equal(job.series, 2);
    assert_string_equal(job.label, "sw1");
    char row[256];
    read_row(job.files[0], 0, row, sizeof row);
    double x, mean, lo, hi;
    int n;
    assert_int_equal(sscanf(row, "%lf %lf %lf %lf %d", &x, &mean, &lo, &hi, &n), 5);
    assert_int_equal(n, 3);
    assert_true(fabs(mean - 62) < 1e-9);
    assert_true(fabs(hi - mean - 4.968275) < 1e-5);
    assert_true(fabs(mean - lo - 4.968275) < 1e-5);
    /* Dodged left of x = 1 by 0.008 * (2 - 1) * 0.5 for the first of two lines. */
    assert_true(fabs(x - 0.996) < 1e-9);
    assert_non_null(strstr(job.assign, "xlabel=\"cluster.nodes[0].gpus\""));
    assert_non_null(strstr(job.assign, "\\\"queue=fifo\\\" \\\"queue=priority\\\""));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);

    struct cli_plot_request req = {CLI_PLOT_SWEEP, 0, NULL, "no_such_metric", NULL};
    struct thaw_err err = {0};
    assert_int_equal(cli_plot_prepare(fx->db, &req, &job, &err), THAW_EINVAL);
    const char *nosweep[] = {"nope"};
    req = (struct cli_plot_request){CLI_PLOT_SWEEP, 1, nosweep, NULL, NULL};
    assert_int_equal(cli_plot_prepare(fx->db, &req, &job, &err), THAW_ENOENT);
}

/* Validate: exec run 3 against the latest sim run of its scenario, which
 * is run 21 (the sweep runs share the sha) - so name run 1 explicitly:
 * A, B, C pair one to one: 3 rows, A first as (30 simulated, 33 measured). */
static void test_validate(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"1", "3"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_VALIDATE, 2, sel);
    assert_int_equal(job.rows[0], 3);
    assert_string_equal(job.label, "3-1");
    char row[128];
    read_row(job.files[0], 0, row, sizeof row);
    assert_string_equal(row, "30 33 0 \"A\"\n");
    /* Relative errors 10%, 2/20 = 10%, 2.5/25 = 10%: mean 10.0%. */
    assert_non_null(strstr(job.assign, "= 10.0%"));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);

    /* Two sim runs are not a validation. */
    const char *two_sims[] = {"1", "2"};
    struct cli_plot_request req = {CLI_PLOT_VALIDATE, 2, two_sims, NULL, NULL};
    struct thaw_err err = {0};
    assert_int_equal(cli_plot_prepare(fx->db, &req, &job, &err), THAW_EINVAL);
}

static void test_errors(void **state)
{
    struct fixture *fx = *state;
    struct cli_plot_job job;
    struct thaw_err err = {0};
    const char *missing[] = {"999"};
    struct cli_plot_request req = {CLI_PLOT_TIMELINE, 1, missing, NULL, NULL};
    assert_int_equal(cli_plot_prepare(fx->db, &req, &job, &err), THAW_ENOENT);
    /* Nothing is left behind by a failed prepare. */
    assert_string_equal(job.dir, "");

    /* A missing gnuplot is a clear error, not a crash or a silent success. */
    const char *sel[] = {"1"};
    job = prepare_ok(fx, CLI_PLOT_TIMELINE, 1, sel);
    char out[400];
    snprintf(out, sizeof out, "%s/chart.png", fx->dir);
    assert_int_equal(cli_plot_render(&job, out, "thaw-test-no-such-gnuplot", &err), THAW_ENOENT);
    assert_non_null(strstr(err.msg, "not installed"));
    /* Only .png and .svg. */
    snprintf(out, sizeof out, "%s/chart.pdf", fx->dir);
    assert_int_equal(cli_plot_render(&job, out, NULL, &err), THAW_EINVAL);
    /* The data folder goes away with the job. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", job.dir);
    cli_plot_job_free(&job, 0);
    assert_int_not_equal(access(dir, F_OK), 0);

    enum cli_plot_kind k;
    assert_int_equal(cli_plot_kind_parse("gantt", &k), THAW_EINVAL);
    assert_int_equal(cli_plot_kind_parse("vram", &k), 0);
    assert_int_equal(k, CLI_PLOT_VRAM);
}

/* Colour groups: 13 models m-0 .. m-12 (more than the 12 colours) from one
 * entry share the colour of "m"; three models keep one colour each; 13
 * models with 13 different stems stay apart (grouping would not shrink). */
static void test_colour_groups(void **state)
{
    (void)state;
    struct names models = {0}, legend = {0};
    long colour[16];
    char name[16];
    for (int i = 0; i < 13; i++) {
        snprintf(name, sizeof name, "m-%d", i);
        names_intern(&models, name);
    }
    assert_int_equal(colour_groups(&models, &legend, colour), 0);
    assert_int_equal(legend.n, 1);
    assert_string_equal(legend.v[0], "m");
    assert_int_equal(colour[12], 0);
    names_free(&models);
    names_free(&legend);

    const char *three[] = {"a-1", "a-2", "b"};
    for (int i = 0; i < 3; i++)
        names_intern(&models, three[i]);
    assert_int_equal(colour_groups(&models, &legend, colour), 0);
    assert_int_equal(legend.n, 3);
    assert_string_equal(legend.v[1], "a-2");
    names_free(&models);
    names_free(&legend);

    for (int i = 0; i < 13; i++) {
        snprintf(name, sizeof name, "%c-1", 'a' + i);
        names_intern(&models, name);
    }
    assert_int_equal(colour_groups(&models, &legend, colour), 0);
    assert_int_equal(legend.n, 13);
    assert_int_equal(colour[5], 5);
    names_free(&models);
    names_free(&legend);
}

/* SVG output: the same job, another terminal. */
static void test_svg(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"2"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_TIMELINE, 1, sel);
    char out[400];
    struct thaw_err err = {0};
    snprintf(out, sizeof out, "%s/chart.svg", fx->dir);
    int rc = cli_plot_render(&job, out, NULL, &err);
    cli_plot_job_free(&job, 0);
    if (rc == THAW_ENOENT) skip();
    assert_int_equal(rc, 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char head[512] = "";
    size_t got = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[got] = '\0';
    assert_non_null(strstr(head, "<svg"));
}

/* Sweep sw2, one point (gpus=1), two seeds whose demand loads (cold
 * starts) take 10, 20 s (run 30) and 30, 40, 100 s (run 31). Per-run p99s
 * (R type 7) are 10 + 0.99 * 10 = 19.9 and 40 + 0.98 * 60 = 98.8, whose
 * mean 59.35 is no percentile of anything; pooled, the five sorted
 * 10 20 30 40 100 give h = 4 * 0.99 = 3.96, 40 + 0.96 * 60 = 97.6, as
 * plan computes it. Interval: n p = 4.95, 1.96 sqrt(5 * 0.99 * 0.01) =
 * 0.436, ranks floor(4.514) = 4 and ceil(5.386) = 6 -> clamped to 4: [100,
 * 100], widened to hold the estimate: [97.6, 100]. The seeds column is 2. */
static void test_sweep_pooled(void **state)
{
    struct fixture *fx = *state;
    struct res_db *db = fx->db;
    const char *fifo =
        "queue=fifo,placement=first_fit,eviction=lru,shm=off,balancer=lru,autoscale=off";
    add_run(db, 30, "sim", fifo, 1, "sw2", "cluster.nodes[0].gpus=1");
    add_run(db, 31, "sim", fifo, 2, "sw2", "cluster.nodes[0].gpus=1");
    add_load(db, 30, 1, "A", 0, "demand", 0, 0, 10, GIB);
    add_load(db, 30, 2, "B", 0, "demand", 0, 10, 20, GIB);
    add_load(db, 31, 1, "A", 0, "demand", 0, 0, 30, GIB);
    add_load(db, 31, 2, "B", 0, "demand", 0, 30, 40, GIB);
    add_load(db, 31, 3, "C", 0, "demand", 0, 40, 100, GIB);
    const char *sw[] = {"sw2"};
    struct cli_plot_request req = {CLI_PLOT_SWEEP, 1, sw, "cold_start_p99_s",
                                   "cluster.nodes[0].gpus"};
    struct cli_plot_job job;
    struct thaw_err err = {0};
    assert_int_equal(cli_plot_prepare(db, &req, &job, &err), 0);
    assert_int_equal(job.rows[0], 1);
    char row[256];
    read_row(job.files[0], 0, row, sizeof row);
    double x, v, lo, hi;
    int n;
    assert_int_equal(sscanf(row, "%lf %lf %lf %lf %d", &x, &v, &lo, &hi, &n), 5);
    assert_int_equal(n, 2);
    assert_true(fabs(v - 97.6) < 1e-9);
    assert_true(fabs(lo - 97.6) < 1e-9);
    assert_true(fabs(hi - 100) < 1e-9);
    assert_non_null(strstr(job.assign, "pooled over the cold starts of 2 seeds"));
    cli_plot_job_free(&job, 0);
}

/* ---- at scale: 256 GPUs, 16 series ---------------------------------------
 * Run 50: 32 nodes x 8 GPUs (node-K/gpuJ, flat 8K + J, 80 GiB each), one
 * load per GPU g: model "a" + g % 16 (16 models), enqueued = started = 0,
 * finished 1 + g, 10 GiB, READY at 1 + g to the end; 16 requests, the i-th
 * arriving at i and dispatched at 100. The run's end: its latest row, 256.
 * Runs 100-131: sweep sw16, cluster.nodes[0].vram in {40GiB, 80GiB} x
 * models[0].count = L in 1..16, one seed, makespan_s = 10 L (+5 at 40GiB),
 * one demand load of L s each. Run 140-169: sweep swcat, one line, 30
 * categories of long names. Runs 200 (sim) / 201 (exec): 16 models, one
 * load each, k + 1 s simulated and 1.1 (k + 1) measured. */
static void add_run_gpus(struct res_db *db, int id, const char *mode, const char *sweep,
                         const char *params, int nodes, int per_node)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO runs (id, uuid, mode, scenario, scenario_sha256, policy, seed, host, "
             "version, sweep_id, params, started_at, duration_s, status) VALUES (%d, 'u%d', '%s', "
             "'scenarios/large.yaml', 'sha-large', 'queue=fifo,placement=first_fit', 1, 'h', '0', "
             "%s%s%s, '%s', '2026-01-01T00:00:00Z', 80, 'complete');",
             id, id, mode, sweep ? "'" : "", sweep ? sweep : "NULL", sweep ? "'" : "", params);
    exec_sql(db, sql);
    for (int n = 0; n < nodes; n++)
        for (int g = 0; g < per_node; g++) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO gpus (run, gpu, name, node, vram) VALUES (%d, %d, "
                     "'node-%d/gpu%d', 'node-%d', %lld);",
                     id, n * per_node + g, n, g, n, 80 * GIB);
            exec_sql(db, sql);
        }
}

static int setup_scale(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    struct thaw_err err = {0};
    snprintf(fx->dir, sizeof fx->dir, "%s/thaw-test-plot-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->db_path, sizeof fx->db_path, "%s/t.db", fx->dir);
    assert_int_equal(res_open(fx->db_path, &fx->db, &err), 0);
    struct res_db *db = fx->db;
    exec_sql(db, "BEGIN");
    add_run_gpus(db, 50, "sim", NULL, "", 32, 8);
    for (int g = 0; g < 256; g++) {
        char model[2] = {(char)('a' + g % 16), 0};
        add_load(db, 50, g + 1, model, g, "demand", 0, 0, 1 + g, 10 * GIB);
    }
    for (int i = 0; i < 16; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "INSERT INTO requests (run, request_id, model, arrived, dispatched, finished, "
                 "instance, cold) VALUES (50, %d, 'a', %d, 100, 101, 1, 1);",
                 i + 1, i);
        exec_sql(db, sql);
    }
    int id = 100;
    for (int v = 0; v < 2; v++)
        for (int l = 1; l <= 16; l++, id++) {
            char params[128], sql[256];
            snprintf(params, sizeof params, "cluster.nodes[0].vram=%dGiB;models[0].count=%d",
                     v ? 80 : 40, l);
            add_run_gpus(db, id, "sim", "sw16", params, 1, 2);
            add_load(db, id, 1, "a", 0, "demand", 0, 0, l, GIB);
            snprintf(sql, sizeof sql,
                     "INSERT INTO metrics (run, name, value) VALUES (%d, 'makespan_s', %d);", id,
                     10 * l + (v ? 0 : 5));
            exec_sql(db, sql);
        }
    for (int k = 0; k < 30; k++, id++) {
        char params[128], sql[256];
        snprintf(params, sizeof params, "workload[0].arrivals=poisson-%d-per-second-burst", k);
        add_run_gpus(db, 140 + k, "sim", "swcat", params, 1, 1);
        snprintf(sql, sizeof sql,
                 "INSERT INTO metrics (run, name, value) VALUES (%d, 'makespan_s', %d);", 140 + k,
                 k);
        exec_sql(db, sql);
    }
    add_run_gpus(db, 200, "sim", NULL, "", 2, 8);
    add_run_gpus(db, 201, "exec", NULL, "", 2, 8);
    for (int k = 0; k < 16; k++) {
        char model[2] = {(char)('a' + k), 0};
        add_load(db, 200, k + 1, model, k, "demand", 0, 0, k + 1, GIB);
        add_load(db, 201, k + 1, model, k, "demand", 0, 0, 1.1 * (k + 1), GIB);
    }
    exec_sql(db, "COMMIT");
    *state = fx;
    return 0;
}

/* Timeline at 256 GPUs: more than 32, so the 24 busiest - the longest
 * loads, GPUs 232-255 (node-29/gpu0 on) - in cluster order, and a row per
 * node. Spans: each shown GPU has a loading and a ready span (no wait):
 * 48. Node rows: node K's loads end at 8K+1 .. 8K+8; with 240 bins of
 * 256/240 s, node K has ceil((8K + 8) * 240 / 256) = ceil(7.5 (K + 1))
 * bins with a load: the sum over K = 0..31 of 7.5 (K + 1) is 3960, plus
 * 0.5 for each of the 16 even K: 3968. Node 0's first bin: gpu0 loads 1 s
 * of it, gpus 1-7 all of it, (1 + 7 * 16/15) / (8 * 16/15) = 0.9921875,
 * at y = 24 + 0.5. 16 models, 16 stems: 16 legend entries. */
static void test_scale_timeline(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"50"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_TIMELINE, 1, sel);
    assert_int_equal(job.file_count, 3);
    assert_int_equal(job.rows[0], 48);
    assert_int_equal(count_rows(job.files[0]), 48);
    assert_int_equal(job.rows[2], 3968);
    assert_int_equal(count_rows(job.files[2]), 3968);
    assert_int_equal(job.series, 16);
    char row[256];
    read_row(job.files[2], 0, row, sizeof row);
    double y, tmid, half, hh, v;
    assert_int_equal(sscanf(row, "%lf %lf %lf %lf %lf", &y, &tmid, &half, &hh, &v), 5);
    assert_true(fabs(y - 24.5) < 1e-9 && fabs(tmid - 8.0 / 15) < 1e-6);
    assert_true(fabs(v - 0.9921875) < 1e-6);
    assert_non_null(strstr(row, "\"node-0\""));
    /* The first shown GPU is 232, alone in its row: y 0.5, its load 0-233. */
    read_row(job.files[0], 0, row, sizeof row);
    assert_string_equal(row, "0.500000 0 233 0.378000 8 1 \"i\"\n");
    assert_non_null(strstr(job.assign, "nshown=24;"));
    assert_non_null(strstr(job.assign, "gpus=\"\\\"node-29/gpu0\\\""));
    assert_non_null(strstr(job.assign, "\\\"node-31 (8 GPUs)\\\"\""));
    assert_non_null(strstr(job.assign, "showing the 24 busiest of 256 GPUs"));
    assert_non_null(strstr(job.assign, "nodesfile="));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);
}

/* vram at 256 GPUs: a heatmap matrix of 256 rows x 240 bins; each GPU
 * holds 10 of its 80 GiB from 0 on: 12.5% in every cell. The lines file:
 * per GPU (0,0), (0,10) when its instance loads, (256,10) at the end. */
static void test_scale_vram(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"50"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_VRAM, 1, sel);
    assert_int_equal(job.file_count, 2);
    assert_int_equal(job.rows[0], 3 * 256);
    assert_int_equal(job.rows[1], 256);
    assert_int_equal(count_rows(job.files[1]), 256);
    assert_int_equal(job.series, 256);
    char row[4096];
    read_row(job.files[1], 255, row, sizeof row);
    assert_int_equal(strncmp(row, "12.50 12.50 ", 12), 0);
    assert_int_equal(strlen(row), 240 * 6); /* "12.50" + ' ' (or '\n' last) */
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);
}

/* cluster at 256 GPUs: changes at every whole second 0..256 (arrivals
 * 0-15, READY at 1-256, dispatch at 100): 257 rows and the end row. At
 * t = 15: GPUs 0-14 READY (1 + g <= 15), nothing queued (started =
 * enqueued), 16 requests waiting, 256 x 10 GiB reserved. */
static void test_scale_cluster(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"50"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_CLUSTER, 1, sel);
    assert_int_equal(job.rows[0], 258);
    assert_int_equal(count_rows(job.files[0]), 258);
    char row[256];
    read_row(job.files[0], 15, row, sizeof row);
    assert_string_equal(row, "15 15 0 16 2560.000000\n");
    read_row(job.files[0], 100, row, sizeof row);
    assert_string_equal(row, "100 100 0 0 2560.000000\n");
    assert_non_null(strstr(job.assign, "vramcap=20480;"));
    /* READY peaks at 256; queued never rises: each load's start at 0
     * sorts before its enqueue at 0 (decreases first), so 0. */
    assert_non_null(strstr(job.assign, "topready=256;"));
    assert_non_null(strstr(job.assign, "topqueued=0;"));
    assert_non_null(strstr(job.assign, "toprequests=16;"));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);
}

/* cdf with 16 runs (100-115: 40GiB, L = 1..16): 16 lines of (0,0) and
 * (L, 1): 32 rows; the labels keep what differs, models[0].count. */
static void test_scale_cdf(void **state)
{
    struct fixture *fx = *state;
    const char *sel[16];
    char ids[16][8];
    for (int i = 0; i < 16; i++) {
        snprintf(ids[i], sizeof ids[i], "%d", 100 + i);
        sel[i] = ids[i];
    }
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_CDF, 16, sel);
    assert_int_equal(job.rows[0], 32);
    assert_int_equal(job.series, 16);
    char row[128];
    read_row(job.files[0], 31, row, sizeof row);
    assert_string_equal(row, "16 1\n");
    assert_non_null(strstr(job.assign, "run 115: models[0].count=16 (n=1)"));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);
}

/* sweep sw16: x = cluster.nodes[0].vram (the first key that varies),
 * numeric in GiB; 16 lines (models[0].count), 2 points each. Line 1 at
 * 40GiB: 15, one seed, dodged by (0 - 7.5) * 0.008 * 40 = -2.4: 37.6. */
static void test_scale_sweep(void **state)
{
    struct fixture *fx = *state;
    const char *sw[] = {"sw16"};
    struct cli_plot_request req = {CLI_PLOT_SWEEP, 1, sw, "makespan_s", NULL};
    struct cli_plot_job job;
    struct thaw_err err = {0};
    assert_int_equal(cli_plot_prepare(fx->db, &req, &job, &err), 0);
    assert_int_equal(job.rows[0], 32);
    assert_int_equal(job.series, 16);
    char row[256];
    read_row(job.files[0], 0, row, sizeof row);
    assert_string_equal(row, "37.6 15 15 15 1 \"40GiB\"\n");
    assert_non_null(strstr(job.assign, "xvals=\"40 80\""));
    assert_non_null(strstr(job.assign, "categorical=0;"));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);

    /* 30 long categories: named once each, in grid order (xcats), not once
     * per point; sweep.gp thins and tilts them. */
    const char *cat[] = {"swcat"};
    req = (struct cli_plot_request){CLI_PLOT_SWEEP, 1, cat, "makespan_s", NULL};
    assert_int_equal(cli_plot_prepare(fx->db, &req, &job, &err), 0);
    assert_int_equal(job.rows[0], 30);
    assert_non_null(strstr(job.assign, "categorical=1;"));
    assert_non_null(strstr(job.assign, "xcats=\"\\\"poisson-0-per-second-burst\\\" "));
    assert_non_null(strstr(job.assign, "\\\"poisson-29-per-second-burst\\\"\";"));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);
}

/* validate with 16 models: 16 pairs, measured 10% over simulated each. */
static void test_scale_validate(void **state)
{
    struct fixture *fx = *state;
    const char *sel[] = {"201", "200"};
    struct cli_plot_job job = prepare_ok(fx, CLI_PLOT_VALIDATE, 2, sel);
    assert_int_equal(job.rows[0], 16);
    assert_int_equal(job.series, 16);
    assert_non_null(strstr(job.assign, "= 10.0%"));
    render_png(fx, &job);
    cli_plot_job_free(&job, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline),     cmocka_unit_test(test_vram),
        cmocka_unit_test(test_cdf),          cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_validate),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_svg),          cmocka_unit_test(test_colour_groups),
        cmocka_unit_test(test_sweep_pooled),
    };
    const struct CMUnitTest scale[] = {
        cmocka_unit_test(test_scale_timeline), cmocka_unit_test(test_scale_vram),
        cmocka_unit_test(test_scale_cluster),  cmocka_unit_test(test_scale_cdf),
        cmocka_unit_test(test_scale_sweep),    cmocka_unit_test(test_scale_validate),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed + cmocka_run_group_tests_name("scale", scale, setup_scale, teardown);
}

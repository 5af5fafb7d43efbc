/* cmd_sim.c - `thaw sim`: runs a scenario in the discrete-event simulator,
 * records it in the results database, and prints the loads timeline, the
 * summary metrics and the run id. `--bench` measures the simulator itself
 * instead: each run in a child process, so peak RSS is that run's alone. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "results.h"
#include "sim.h"

static const char usage[] =
    "usage: thaw sim SCENARIO [--seed N] [--policy k=v,...] [--set k=v]... [--db PATH]\n"
    "                [--quiet] [--record summary|loads|all] [--no-record] [--check]\n"
    "                [--bench]\n"
    "\n"
    "Runs SCENARIO in the discrete-event simulator: the scheduling core decides,\n"
    "a virtual clock and a flow-level bandwidth model (storage, shm, host-to-device\n"
    "links, PCIe switch, CPU cores shared max-min fairly) carry its decisions out.\n"
    "The run is recorded in the results database; thaw prints the loads timeline\n"
    "(model, GPU, source, reason, enqueued, started, finished, wait), the summary\n"
    "metrics and the run id.\n"
    "\n"
    "options:\n"
    "  --seed N          run seed (default: the scenario's run.seed); every source of\n"
    "                    randomness has its own stream derived from it\n"
    "  --policy k=v,...  policy overrides, e.g. --policy queue=priority,shm=preload\n"
    "  --set k=v         any scenario value, e.g. --set models[0].count=4 (repeatable)\n"
    "  --db PATH         results database (default " CLI_DEFAULT_DB ")\n"
    "  --quiet           print only the run id\n"
    "  --record LEVEL    rows the run writes: all (default: every load, request,\n"
    "                    instance event and core event, so replay works), loads\n"
    "                    (no requests or core events/actions) or summary (runs,\n"
    "                    metrics, per-model metrics, faults and cold starts only;\n"
    "                    the metrics are computed while the run runs)\n"
    "  --no-record       write no database: compute the metrics in memory (as\n"
    "                    --record summary) and print them with the run's counters\n"
    "  --check           verify the core's invariants after every event (slower)\n"
    "  --bench           measure the simulator: events/s, simulated seconds per wall\n"
    "                    second, rows/s, peak RSS and the share of wall time spent in\n"
    "                    the scheduling core, at each recording level (all, loads,\n"
    "                    summary; into --db, or a temporary database) and without a\n"
    "                    database; each run in its own process\n"
    "\n"
    "Ctrl-C (or SIGTERM) stops the run cleanly: it is recorded as 'interrupted'.\n"
    "exit status: 0 done, 1 the scenario or the run failed or was interrupted, 2 usage error\n";

struct sim_args {
    const char *scenario;
    const char *db_path;
    bool db_given;
    unsigned long long seed;
    bool has_seed, quiet, no_record, check, bench;
    int record; /* enum res_record */
    struct cli_overrides ovr;
};

static int parse(int argc, char **argv, struct sim_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_next = i + 1 < argc;
        if (!strcmp(arg, "--seed") || !strcmp(arg, "--policy") || !strcmp(arg, "--set") ||
            !strcmp(arg, "--db") || !strcmp(arg, "--record")) {
            if (!has_next) return cli_usage_error("sim", "%s needs a value", arg);
            const char *v = argv[++i];
            if (!strcmp(arg, "--seed")) {
                if (cli_parse_u64("sim", "--seed", v, &a->seed) < 0) return CLI_EXIT_USAGE;
                a->has_seed = true;
            } else if (!strcmp(arg, "--policy")) {
                if (cli_overrides_add_policy(&a->ovr, v) < 0) return CLI_EXIT_USAGE;
            } else if (!strcmp(arg, "--set")) {
                if (cli_overrides_add_set(&a->ovr, v) < 0) return CLI_EXIT_USAGE;
            } else if (!strcmp(arg, "--record")) {
                if (cli_parse_record("sim", v, &a->record) < 0) return CLI_EXIT_USAGE;
            } else {
                a->db_path = v;
                a->db_given = true;
            }
        } else if (!strcmp(arg, "--quiet")) {
            a->quiet = true;
        } else if (!strcmp(arg, "--no-record")) {
            a->no_record = true;
        } else if (!strcmp(arg, "--check")) {
            a->check = true;
        } else if (!strcmp(arg, "--bench")) {
            a->bench = true;
        } else if (arg[0] == '-' && arg[1]) {
            return cli_usage_error("sim", "unknown option '%s'", arg);
        } else if (a->scenario) {
            return cli_usage_error("sim", "one scenario at a time (found '%s' and '%s')",
                                   a->scenario, arg);
        } else {
            a->scenario = arg;
        }
    }
    if (!a->scenario) return cli_usage_error("sim", "no scenario given");
    return 0;
}

static void fill_opts(const struct sim_args *a, struct sim_opts *o, struct res_db *db)
{
    memset(o, 0, sizeof *o);
    o->seed = a->seed;
    o->has_seed = a->has_seed;
    o->check_invariants = a->check;
    o->db = db;
    o->run_info.mode = "sim";
    o->run_info.backend = "";
    o->run_info.overrides = a->ovr.text;
    o->run_info.params = "";
}

/* The loads of a run, in start order: the chained cold start as a table. */
struct timeline_rows {
    int n, shown_max;
};

static int timeline_row(const struct res_stored_load *l, void *ctx)
{
    struct timeline_rows *t = ctx;
    if (t->n++ >= t->shown_max) return 0;
    char finished[32];
    if (isnan(l->finished_s))
        snprintf(finished, sizeof finished, "%s", l->outcome);
    else
        snprintf(finished, sizeof finished, "%.3f", l->finished_s);
    if (isnan(l->started_s)) { /* still queued at the end: no GPU, no start */
        printf("%-24s %-16s %-7s %-8s %10.3f %10s %10s %9s\n", l->model, "-", "-", l->reason,
               l->enqueued_s, "-", l->outcome, "-");
        return 0;
    }
    printf("%-24s %-16s %-7s %-8s %10.3f %10.3f %10s %9.3f\n", l->model, l->gpu_name, l->source,
           l->reason, l->enqueued_s, l->started_s, finished, l->started_s - l->enqueued_s);
    return 0;
}

static void print_timeline(struct res_db *db, int64_t run)
{
    struct timeline_rows t = {0, 60};
    struct thaw_err err = {0};
    printf("%-24s %-16s %-7s %-8s %10s %10s %10s %9s\n", "model", "gpu", "source", "reason",
           "enqueued", "started", "finished", "wait");
    if (res_rows_loads(db, run, RES_LOADS_BY_START, timeline_row, &t, &err) < 0) {
        fprintf(stderr, "thaw sim: cannot read the loads: %s\n", err.msg);
        return;
    }
    if (t.n == 0) printf("(no loads)\n");
    if (t.n > t.shown_max)
        printf("... %d more loads (SELECT * FROM loads WHERE run = %lld)\n", t.n - t.shown_max,
               (long long)run);
}

static int run_once(const struct sim_args *a, const struct core_spec *spec)
{
    struct thaw_err err = {0};
    struct res_db *db = NULL;
    /* --no-record: the metrics still come, from an in-memory database. */
    const char *path = a->no_record ? ":memory:" : a->db_path;
    if (res_open(path, &db, &err) < 0) {
        fprintf(stderr, "thaw sim: %s: %s\n", path, err.msg);
        return CLI_EXIT_FAIL;
    }
    res_set_record(db, a->no_record ? RES_RECORD_SUMMARY : (enum res_record)a->record);
    struct sim_opts opts;
    fill_opts(a, &opts, db);
    /* Ctrl-C or SIGTERM stops the run cleanly, recorded 'interrupted'. */
    if (exec_signals_install(&err) < 0) {
        fprintf(stderr, "thaw sim: %s\n", err.msg);
        res_close(db);
        return CLI_EXIT_FAIL;
    }
    opts.stop = &exec_signal_flag;
    struct sim_result res;
    int rc = sim_run(spec, &opts, &res, &err);
    if (rc < 0) {
        fprintf(stderr, "thaw sim: %s: %s\n", a->scenario,
                err.msg[0] ? err.msg : thaw_strerror(rc));
        if (!a->no_record && res.run_id)
            fprintf(stderr, "thaw sim: run %lld recorded as failed\n", (long long)res.run_id);
        res_close(db);
        return CLI_EXIT_FAIL;
    }
    if (res.interrupted) {
        fprintf(stderr, "thaw sim: interrupted at %.3f s of simulated time",
                (double)res.end_ns * 1e-9);
        if (!a->no_record)
            fprintf(stderr, "; run %lld recorded as interrupted", (long long)res.run_id);
        fprintf(stderr, "\n");
        res_close(db);
        return CLI_EXIT_FAIL;
    }
    if (a->no_record) {
        if (!a->quiet) {
            if (res_summary_print(db, &res.run_id, 1, stdout, &err) < 0)
                fprintf(stderr, "thaw sim: summary: %s\n", err.msg);
            printf("\nevents %llu, simulated %.3f s in %.3f s wall (not recorded)\n",
                   (unsigned long long)res.events, (double)res.end_ns * 1e-9, res.wall_s);
        }
        res_close(db);
        return CLI_EXIT_OK;
    }
    if (!a->quiet) {
        if (a->record != RES_RECORD_SUMMARY) {
            print_timeline(db, res.run_id);
            printf("\n");
        }
        if (res_summary_print(db, &res.run_id, 1, stdout, &err) < 0)
            fprintf(stderr, "thaw sim: summary: %s\n", err.msg);
        printf("\nsimulated %.3f s: %llu events, %llu rows, %.3f s wall\n",
               (double)res.end_ns * 1e-9, (unsigned long long)res.events,
               (unsigned long long)res.rows, res.wall_s);
    }
    /* Said out loud, on stderr, whatever --quiet says; the status stays 0. */
    fflush(stdout);
    if (res_anomalies_print(db, res.run_id, stderr, "thaw sim", 20, NULL, &err) < 0)
        fprintf(stderr, "thaw sim: anomalies: %s\n", err.msg);
    if (a->quiet)
        printf("%lld\n", (long long)res.run_id); /* as `thaw exec --quiet`, for scripts */
    else
        printf("run %lld (%s)\n", (long long)res.run_id, a->db_path);
    res_close(db);
    return CLI_EXIT_OK;
}

/* One benchmark run in a child process at recording level `level` (into
 * db_path; NULL: no database); its result comes back through a pipe and its
 * peak RSS from wait4. Returns 0 or -1 (message printed). */
static int bench_child(const struct sim_args *a, const struct core_spec *spec, const char *db_path,
                       int level, struct sim_result *res, long *maxrss_kib)
{
    int fds[2];
    if (pipe(fds) < 0) {
        perror("thaw sim: pipe");
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("thaw sim: fork");
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        struct thaw_err err = {0};
        struct res_db *db = NULL;
        if (db_path && res_open(db_path, &db, &err) < 0) {
            fprintf(stderr, "thaw sim: %s: %s\n", db_path, err.msg);
            _exit(1);
        }
        res_set_record(db, (enum res_record)level);
        struct sim_opts opts;
        fill_opts(a, &opts, db);
        opts.time_core = true;
        struct sim_result r;
        if (sim_run(spec, &opts, &r, &err) < 0) {
            fprintf(stderr, "thaw sim: %s\n", err.msg);
            _exit(1);
        }
        res_close(db);
        ssize_t w = write(fds[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], res, sizeof *res);
    close(fds[0]);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    if (got != (ssize_t)sizeof *res || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "thaw sim: benchmark run failed\n");
        return -1;
    }
    *maxrss_kib = ru.ru_maxrss;
    return 0;
}

static double file_mib(const char *path)
{
    struct stat st;
    double total = 0;
    char p[600];
    const char *suffix[] = {"", "-wal"};
    for (int i = 0; path && i < 2; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        if (stat(p, &st) == 0) total += (double)st.st_size;
    }
    return total / (1024.0 * 1024.0);
}

static void bench_line(const char *label, const struct sim_result *r, long rss_kib, double db_mib)
{
    double wall = r->wall_s > 0 ? r->wall_s : 1e-9;
    printf("%-17s %12llu %12.0f %14.1f %11llu %11.0f %10.1f %8.2f %7.0f%% %9.1f\n", label,
           (unsigned long long)r->events, (double)r->events / wall, (double)r->end_ns * 1e-9 / wall,
           (unsigned long long)r->rows, (double)r->rows / wall, (double)rss_kib / 1024.0, r->wall_s,
           100.0 * r->core_wall_s / wall, db_mib);
}

static int bench(const struct sim_args *a, const struct core_spec *spec)
{
    char tmp[] = "/tmp/thaw-bench-XXXXXX";
    if (!a->db_given && !mkdtemp(tmp)) {
        perror("thaw sim: mkdtemp");
        return CLI_EXIT_FAIL;
    }
    /* all, loads, summary (each its own file unless --db), then none. */
    static const char *const labels[] = {"record all", "record loads", "record summary",
                                         "no database"};
    static const int levels[] = {RES_RECORD_ALL, RES_RECORD_LOADS, RES_RECORD_SUMMARY, 0};
    struct sim_result r[4];
    long rss[4] = {0};
    double mib[4] = {0};
    char paths[3][64];
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        const char *path = NULL;
        if (i < 3) {
            snprintf(paths[i], sizeof paths[i], "%s/bench-%s.db", tmp,
                     res_record_name((enum res_record)levels[i]));
            path = a->db_given ? a->db_path : paths[i];
        }
        double before = a->db_given ? file_mib(path) : 0;
        rc = bench_child(a, spec, path, levels[i], &r[i], &rss[i]);
        mib[i] = path ? file_mib(path) - before : 0;
    }
    if (!a->db_given) {
        char p[256];
        const char *suffix[] = {"", "-wal", "-shm", "-journal"};
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 4; k++) {
                snprintf(p, sizeof p, "%s%s", paths[i], suffix[k]);
                unlink(p);
            }
        rmdir(tmp);
    }
    if (rc < 0) return CLI_EXIT_FAIL;
    printf("thaw sim --bench %s (%d models, %d GPUs on %d nodes, seed %llu)\n", a->scenario,
           spec->model_count, spec->gpu_count, spec->node_count,
           (unsigned long long)(a->has_seed ? a->seed : spec->seed));
    printf("%-17s %12s %12s %14s %11s %11s %10s %8s %8s %9s\n", "", "events", "events/s",
           "sim s/wall s", "rows", "rows/s", "RSS MiB", "wall s", "in core", "db MiB");
    for (int i = 0; i < 4; i++)
        bench_line(labels[i], &r[i], rss[i], mib[i]);
    printf("(simulated %.0f s; recording every row costs %.0f%% of the run's wall time, "
           "summary %.0f%%)\n",
           (double)r[0].end_ns * 1e-9,
           r[0].wall_s > 0 ? 100.0 * (r[0].wall_s - r[3].wall_s) / r[0].wall_s : 0.0,
           r[2].wall_s > 0 ? 100.0 * (r[2].wall_s - r[3].wall_s) / r[2].wall_s : 0.0);
    return CLI_EXIT_OK;
}

static int run(int argc, char **argv)
{
    struct sim_args a;
    memset(&a, 0, sizeof a);
    a.db_path = CLI_DEFAULT_DB;
    cli_overrides_init(&a.ovr);
    int rc = parse(argc, argv, &a);
    if (rc != 0) {
        cli_overrides_free(&a.ovr);
        return rc;
    }
    struct core_spec *spec = cli_load_spec(a.scenario, &a.ovr);
    if (!spec) {
        cli_overrides_free(&a.ovr);
        return CLI_EXIT_FAIL;
    }
    rc = a.bench ? bench(&a, spec) : run_once(&a, spec);
    core_spec_free(spec);
    cli_overrides_free(&a.ovr);
    return rc;
}

const struct cli_command cli_cmd_sim = {
    "sim",
    "run a scenario in the discrete-event simulator and record it",
    usage,
    run,
};

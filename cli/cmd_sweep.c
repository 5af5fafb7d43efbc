/* cmd_sweep.c - `thaw sweep`: every point of a grid (--set values x
 * policies x seeds, or one shard of it) simulated on local threads and
 * recorded under one sweep id; and the threaded runner that `thaw plan`
 * shares. Each worker thread owns its own database connection: the recorder
 * buffers rows and writes them in short BEGIN IMMEDIATE bursts under WAL
 * with a busy timeout, so threads (and shards on other processes writing
 * the same file) wait for each other instead of failing. */
#include "cli.h"
#include "sweep.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "results.h"
#include "sim.h"

static const char usage[] =
    "usage: thaw sweep SCENARIO [--set KEY=V1,V2,...]... [--policy SPEC]... [--seeds LIST]\n"
    "                  [--jobs N] [--shard K/N] [--sweep-id ID] [--db DB] [--check]\n"
    "                  [--resume] [--dry-run] [--quiet] [--record summary|loads|all]\n"
    "\n"
    "Simulates every combination of the given values: each --set KEY is one axis\n"
    "(values separated by commas; commas inside [] or {} belong to the value), each\n"
    "--policy SPEC one policy (queue=priority,shm=preload), each seed one repetition.\n"
    "Every point is a run in the database tagged with the sweep id and its\n"
    "parameters (runs.sweep_id, runs.params = \"KEY=V;...;policy=SPEC\"). The sweep id\n"
    "is printed last; compare, report and 'thaw plot sweep' take it.\n"
    "\n"
    "options:\n"
    "  --set KEY=V1,V2,...  an axis of the grid (repeatable), e.g.\n"
    "                       --set cluster.nodes[0].gpus=1,2,4,8\n"
    "  --policy SPEC        a policy point (repeatable); default the scenario's\n"
    "  --seeds LIST         seeds, such as 1-30 or 1,2,5-7 (default the scenario's)\n"
    "  --jobs N             simulations at once (default: the number of CPUs)\n"
    "  --shard K/N          run only the points whose index i has i % N == K-1, so N\n"
    "                       machines (a Slurm job array, GNU parallel) share a sweep;\n"
    "                       give them one --sweep-id and merge with 'thaw merge'\n"
    "  --sweep-id ID        the sweep id (default: a new random one); letters,\n"
    "                       digits, '-', '_' and '.'\n"
    "  --db DB              results database (default " CLI_DEFAULT_DB ")\n"
    "  --check              check the core's invariants after every event (slower)\n"
    "  --resume             with --sweep-id: skip the points (params and seed) that\n"
    "                       already have a complete run of this sweep in DB, e.g. to\n"
    "                       re-run a shard that was cut short\n"
    "  --dry-run            list the points of this shard (index, seed, params), run\n"
    "                       nothing\n"
    "  --quiet              no progress output\n"
    "  --record LEVEL       rows each run writes: summary (default: runs, metrics,\n"
    "                       per-model metrics, faults, cold starts), loads (adds\n"
    "                       loads, instance events), all (adds requests and the\n"
    "                       core's events and actions, for replay)\n"
    "  --no-record          the same as --record summary\n"
    "\n"
    "Points are numbered in a fixed order: the first --set varies slowest, then the\n"
    "next ones, then the policy, then the seed fastest.\n"
    "\n"
    "example (a Slurm job array of 8 tasks, one shard each):\n"
    "  #SBATCH --array=1-8\n"
    "  thaw sweep scenarios/scaling.yaml --set models[0].count=1,2,4,8 \\\n"
    "      --policy queue=fifo --policy queue=priority --seeds 1-30 \\\n"
    "      --shard $SLURM_ARRAY_TASK_ID/8 --sweep-id scaling-$SLURM_ARRAY_JOB_ID \\\n"
    "      --db results/shard-$SLURM_ARRAY_TASK_ID.db\n"
    "  thaw merge results/thaw.db results/shard-*.db      # afterwards\n"
    "\n"
    "exit status: 0 every point ran, 1 a point failed or bad input, 2 usage error\n";

/* ---- the runner ------------------------------------------------------------- */

struct runner {
    struct cli_sweep_job *jobs;
    size_t n;
    const struct cli_sweep_exec_opts *o;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t next; /* next job to take */
    size_t done; /* jobs finished */
    size_t failed;
    int open_failed; /* threads that could not open the database */
    int exited;      /* threads that left their loop */
    char open_err[THAW_ERR_MSG_MAX];
};

static void *worker(void *arg)
{
    struct runner *r = arg;
    struct thaw_err err = {0};
    struct res_db *db = NULL;
    if (res_open(r->o->db_path, &db, &err) < 0) {
        pthread_mutex_lock(&r->lock);
        r->open_failed++;
        snprintf(r->open_err, sizeof r->open_err, "%s", err.msg);
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        return NULL;
    }
    res_set_record(db, (enum res_record)r->o->record);
    for (;;) {
        pthread_mutex_lock(&r->lock);
        bool stop = r->o->stop && *r->o->stop;
        size_t i = !stop && r->next < r->n ? r->next++ : r->n;
        pthread_mutex_unlock(&r->lock);
        if (i == r->n) break;
        struct cli_sweep_job *j = &r->jobs[i];
        struct sim_opts opts;
        memset(&opts, 0, sizeof opts);
        opts.seed = j->seed;
        opts.has_seed = j->has_seed;
        opts.check_invariants = r->o->check_invariants;
        opts.db = db;
        opts.run_info.mode = "sim";
        opts.run_info.backend = "";
        opts.run_info.overrides = j->overrides ? j->overrides : "";
        opts.run_info.sweep_id = r->o->sweep_id;
        opts.run_info.params = j->params;
        opts.stop = r->o->stop;
        struct sim_result res;
        memset(&res, 0, sizeof res);
        err = (struct thaw_err){0};
        j->rc = sim_run(j->spec, &opts, &res, &err);
        j->run_id = res.run_id;
        if (j->rc < 0)
            snprintf(j->err, sizeof j->err, "%.*s", (int)sizeof j->err - 1,
                     err.msg[0] ? err.msg : thaw_strerror(j->rc));
        pthread_mutex_lock(&r->lock);
        r->done++;
        if (j->rc < 0) r->failed++;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
    res_close(db);
    pthread_mutex_lock(&r->lock);
    r->exited++;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fmt_duration(double s, char *buf, size_t len)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

/* One progress report. On a TTY a bar redrawn in place; otherwise a line. */
static void report(const struct cli_sweep_exec_opts *o, bool tty, size_t done, size_t failed,
                   size_t n, double elapsed, bool final)
{
    char eta[32] = "--:--", spent[32];
    if (done > 0 && done < n)
        fmt_duration(elapsed / (double)done * (double)(n - done), eta, sizeof eta);
    fmt_duration(elapsed, spent, sizeof spent);
    int pct = n ? (int)(100.0 * (double)done / (double)n) : 100;
    char fail[48] = "";
    if (failed) snprintf(fail, sizeof fail, ", %zu failed", failed);
    if (tty) {
        char bar[31];
        int fill = n ? (int)(30.0 * (double)done / (double)n) : 30;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r%s [%s] %zu/%zu %3d%%  %s elapsed  ETA %s%s\033[K", o->what, bar, done,
                n, pct, spent, final ? "0:00" : eta, fail);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %zu/%zu runs done (%d%%), %s elapsed, ETA %s%s\n", o->what, done, n,
                pct, spent, final ? "0:00" : eta, fail);
    }
}

long cli_sweep_execute(struct cli_sweep_job *jobs, size_t n, const struct cli_sweep_exec_opts *o,
                       struct thaw_err *err)
{
    if (n == 0) return 0;
    struct runner r;
    memset(&r, 0, sizeof r);
    r.jobs = jobs;
    r.n = n;
    r.o = o;
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.changed, NULL);
    int threads = o->threads < 1 ? 1 : o->threads;
    if ((size_t)threads > n) threads = (int)n;
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!tid) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    int started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &r) != 0) break;
    if (started == 0) {
        free(tid);
        return thaw_err_set(err, THAW_EIO, "cannot start a thread");
    }
    bool tty = isatty(2);
    double t0 = now_s(), last = t0;
    size_t last_done = 0;
    pthread_mutex_lock(&r.lock);
    while (r.done < n && r.open_failed + r.exited < started) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r.changed, &r.lock, &until);
        size_t done = r.done, failed = r.failed;
        pthread_mutex_unlock(&r.lock);
        double t = now_s();
        /* A bar every 0.2 s; lines (logs, CI) at most every 5 s and only
         * when something finished. */
        if (o->progress && done < n &&
            (tty ? t - last >= 0.2 : (t - last >= 5 && done != last_done))) {
            report(o, tty, done, failed, n, t - t0, false);
            last = t;
            last_done = done;
        }
        pthread_mutex_lock(&r.lock);
    }
    pthread_mutex_unlock(&r.lock);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
    if (o->progress) report(o, tty, r.done, r.failed, n, now_s() - t0, true);
    pthread_cond_destroy(&r.changed);
    pthread_mutex_destroy(&r.lock);
    if (r.done < n && o->stop && *o->stop)
        return thaw_err_set(err, THAW_EINTR,
                            "interrupted: %zu of %zu points done (runs in flight recorded "
                            "'interrupted'); --resume with the same --sweep-id finishes it",
                            r.done, n);
    if (r.done < n) return thaw_err_set(err, THAW_EIO, "%s: %s", o->db_path, r.open_err);
    return (long)r.failed;
}

int cli_sweep_new_id(char *buf, size_t len, struct thaw_err *err)
{
    unsigned char b[6];
    if (len < 13) return thaw_err_set(err, THAW_ERANGE, "sweep id buffer too small");
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return thaw_err_set(err, THAW_EIO, "getrandom: %s", strerror(errno));
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(buf + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* ---- thaw sweep ---------------------------------------------------------------- */

static bool valid_id(const char *s)
{
    if (!*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

/* The loaded scenario of one (values, policy) combination. */
struct combo {
    struct core_spec *spec;
    struct cli_overrides ovr;
    bool loaded;
};

static int load_combo(const char *scenario, const struct cli_sweep_grid *g,
                      const struct cli_sweep_point *p, struct combo *c)
{
    cli_overrides_init(&c->ovr);
    c->loaded = true;
    for (int a = 0; a < g->axis_count; a++) {
        char kv[1200];
        snprintf(kv, sizeof kv, "%s=%s", g->axes[a].key, g->axes[a].values[p->value_idx[a]]);
        if (cli_overrides_add_set(&c->ovr, kv) < 0) return -1;
    }
    if (p->policy >= 0 && cli_overrides_add_policy(&c->ovr, g->policies[p->policy]) < 0) return -1;
    c->spec = cli_load_spec(scenario, &c->ovr);
    return c->spec ? 0 : -1;
}

/* --resume: the points of the sweep that already have a complete run. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_done(const char *db_path, const char *sweep_id, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (access(db_path, F_OK) != 0) return 0;
    struct thaw_err err = {0};
    struct res_db *db = NULL;
    int64_t *ids = NULL;
    int count = 0, rc = -1;
    if (res_open(db_path, &db, &err) < 0 ||
        res_sweep_runs(db, sweep_id, true, &ids, &count, &err) < 0) {
        fprintf(stderr, "thaw sweep: %s: %s\n", db_path, err.msg);
        goto done;
    }
    if (count > 0 && !(*out = calloc((size_t)count, sizeof **out))) goto oom;
    for (int i = 0; i < count; i++) {
        struct res_run_meta m;
        if (res_run_meta_load(db, ids[i], &m, &err) < 0) {
            fprintf(stderr, "thaw sweep: %s: %s\n", db_path, err.msg);
            goto done;
        }
        char *key = NULL;
        if (asprintf(&key, "%llu|%s", (unsigned long long)m.seed, m.params) < 0) goto oom;
        (*out)[(*n)++] = key;
    }
    if (*n > 1) qsort(*out, *n, sizeof **out, cmp_str); /* *out is NULL when none */
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "thaw sweep: out of memory\n");
done:
    free(ids);
    res_close(db);
    return rc;
}

/* A point without a seed of its own ran with the scenario's seed, so any
 * complete run with its params counts. */
static bool is_done(char **done, size_t n, const struct cli_sweep_point *p, const char *params)
{
    if (!p->has_seed) {
        for (size_t i = 0; i < n; i++) {
            const char *bar = strchr(done[i], '|');
            if (bar && !strcmp(bar + 1, params)) return true;
        }
        return false;
    }
    char key[1200];
    snprintf(key, sizeof key, "%llu|%s", (unsigned long long)p->seed, params);
    const char *k = key;
    return bsearch(&k, done, n, sizeof *done, cmp_str) != NULL;
}

static int run(int argc, char **argv)
{
    const char *scenario = NULL, *db_path = CLI_DEFAULT_DB, *sweep_id = NULL;
    struct cli_sweep_grid grid;
    struct cli_shard shard = {1, 1};
    struct thaw_err err = {0};
    unsigned long long jobs_n = 0;
    bool dry = false, quiet = false, check = false, resume = false;
    int record = RES_RECORD_SUMMARY;
    char **done = NULL; /* "seed|params" of complete runs, sorted (--resume) */
    size_t ndone = 0, skipped = 0;
    int rc = CLI_EXIT_USAGE;
    struct combo *combos = NULL;
    struct cli_sweep_job *jobs = NULL;
    size_t ncombos = 0;
    cli_sweep_grid_init(&grid);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = !strcmp(a, "--set") || !strcmp(a, "--policy") || !strcmp(a, "--seeds") ||
                     !strcmp(a, "--jobs") || !strcmp(a, "--shard") || !strcmp(a, "--db") ||
                     !strcmp(a, "--sweep-id") || !strcmp(a, "--record");
        if (takes) {
            if (i + 1 >= argc) {
                cli_usage_error("sweep", "%s needs a value", a);
                goto out;
            }
            const char *v = argv[++i];
            int prc = 0;
            if (!strcmp(a, "--set"))
                prc = cli_sweep_grid_add_set(&grid, v, &err);
            else if (!strcmp(a, "--policy"))
                prc = cli_sweep_grid_add_policy(&grid, v, &err);
            else if (!strcmp(a, "--seeds"))
                prc = cli_sweep_grid_add_seeds(&grid, v, &err);
            else if (!strcmp(a, "--shard"))
                prc = cli_shard_parse(v, &shard, &err);
            else if (!strcmp(a, "--db"))
                db_path = v;
            else if (!strcmp(a, "--sweep-id"))
                sweep_id = v;
            else if (!strcmp(a, "--record")) {
                if (cli_parse_record("sweep", v, &record) < 0) goto out;
            } else if (cli_parse_range("sweep", "--jobs", v, 1, 1024, &jobs_n) < 0)
                goto out;
            if (prc < 0) {
                cli_usage_error("sweep", "%s", err.msg);
                goto out;
            }
        } else if (!strcmp(a, "--no-record")) {
            record = RES_RECORD_SUMMARY;
        } else if (!strcmp(a, "--resume")) {
            resume = true;
        } else if (!strcmp(a, "--dry-run")) {
            dry = true;
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!strcmp(a, "--check")) {
            check = true;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("sweep", "unknown option %s", a);
            goto out;
        } else if (scenario) {
            cli_usage_error("sweep", "one scenario at a time (found %s and %s)", scenario, a);
            goto out;
        } else {
            scenario = a;
        }
    }
    if (!scenario) {
        cli_usage_error("sweep", "no scenario given");
        goto out;
    }
    if (resume && !sweep_id) {
        cli_usage_error("sweep", "--resume needs the --sweep-id of the sweep to resume");
        goto out;
    }
    if (sweep_id && !valid_id(sweep_id)) {
        cli_usage_error("sweep", "--sweep-id: use letters, digits, '-', '_' and '.' (at most 64)");
        goto out;
    }
    size_t total = cli_sweep_grid_size(&grid);
    if (total == 0) {
        cli_usage_error("sweep", "the grid has too many points to count");
        goto out;
    }
    rc = CLI_EXIT_FAIL;
    char id_buf[16];
    if (!sweep_id) {
        if (cli_sweep_new_id(id_buf, sizeof id_buf, &err) < 0) {
            fprintf(stderr, "thaw sweep: %s\n", err.msg);
            goto out;
        }
        sweep_id = id_buf;
    }

    size_t mine = cli_shard_count(&shard, total);
    if (dry) {
        printf("# sweep %s: %zu points in all, %zu in shard %lu/%lu\n# index seed params\n",
               sweep_id, total, mine, shard.k, shard.n);
        for (size_t i = shard.k - 1; i < total; i += shard.n) {
            struct cli_sweep_point p;
            char params[1024];
            cli_sweep_point_at(&grid, i, &p);
            if (cli_sweep_point_params(&grid, &p, params, sizeof params) < 0) params[0] = '\0';
            if (p.has_seed)
                printf("%zu %llu %s\n", i, (unsigned long long)p.seed, params);
            else
                printf("%zu - %s\n", i, params);
        }
        rc = CLI_EXIT_OK;
        goto out;
    }
    if (mine == 0) {
        fprintf(stderr, "thaw sweep: shard %lu/%lu of %zu points is empty\n", shard.k, shard.n,
                total);
        printf("sweep %s\n", sweep_id);
        rc = CLI_EXIT_OK;
        goto out;
    }

    /* Load each (values, policy) combination once, on this thread, before
     * any run starts: a bad value fails the sweep up front. */
    ncombos = cli_sweep_grid_combos(&grid);
    combos = calloc(ncombos, sizeof *combos);
    jobs = calloc(mine, sizeof *jobs);
    if (!combos || !jobs) {
        fprintf(stderr, "thaw sweep: out of memory\n");
        goto out;
    }
    if (resume && load_done(db_path, sweep_id, &done, &ndone) < 0) goto out;
    size_t nj = 0;
    for (size_t i = shard.k - 1; i < total; i += shard.n) {
        struct cli_sweep_point p;
        cli_sweep_point_at(&grid, i, &p);
        struct cli_sweep_job *j = &jobs[nj++];
        if (cli_sweep_point_params(&grid, &p, j->params, sizeof j->params) < 0) {
            fprintf(stderr, "thaw sweep: the parameters of point %zu are too long\n", i);
            goto out;
        }
        if (ndone && is_done(done, ndone, &p, j->params)) {
            nj--;
            skipped++;
            continue;
        }
        struct combo *c = &combos[p.combo];
        if (!c->loaded && load_combo(scenario, &grid, &p, c) < 0) {
            fprintf(stderr, "thaw sweep: %s: cannot load the scenario at point %s\n", scenario,
                    j->params);
            goto out;
        }
        j->spec = c->spec;
        j->overrides = c->ovr.text;
        j->has_seed = p.has_seed;
        j->seed = p.seed;
    }

    if (resume && !quiet)
        fprintf(stderr, "thaw sweep %s: %zu points already complete, skipped\n", sweep_id, skipped);
    if (nj == 0) {
        printf("sweep %s\n", sweep_id);
        rc = CLI_EXIT_OK;
        goto out;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct cli_sweep_exec_opts o = {
        .db_path = db_path,
        .sweep_id = sweep_id,
        .threads = jobs_n ? (int)jobs_n : (cpus > 0 ? (int)cpus : 1),
        .check_invariants = check,
        .progress = !quiet,
        .what = "sweep",
        .stop = &exec_signal_flag, /* the process's one signal flag (exec.h) */
        .record = record,
    };
    if (exec_signals_install(&err) < 0) {
        fprintf(stderr, "thaw sweep: %s\n", err.msg);
        goto out;
    }
    if (!quiet)
        fprintf(stderr, "thaw sweep %s: %zu runs%s on %d threads into %s\n", sweep_id, nj,
                shard.n > 1 ? " (this shard)" : "", o.threads < (int)nj ? o.threads : (int)nj,
                db_path);
    long failed = cli_sweep_execute(jobs, nj, &o, &err);
    if (failed < 0) {
        fprintf(stderr, "thaw sweep: %s\n", err.msg);
        goto out;
    }
    for (size_t i = 0, shown = 0; i < nj; i++)
        if (jobs[i].rc < 0 && shown++ < 10)
            fprintf(stderr, "thaw sweep: failed: %s seed %llu: %s\n", jobs[i].params,
                    (unsigned long long)jobs[i].seed, jobs[i].err);
    if (failed) fprintf(stderr, "thaw sweep: %ld of %zu runs failed\n", failed, nj);
    printf("sweep %s\n", sweep_id);
    rc = failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
out:
    for (size_t c = 0; combos && c < ncombos; c++) {
        if (combos[c].spec) core_spec_free(combos[c].spec);
        if (combos[c].loaded) cli_overrides_free(&combos[c].ovr);
    }
    free(combos);
    free(jobs);
    for (size_t i = 0; i < ndone; i++)
        free(done[i]);
    free(done);
    cli_sweep_grid_free(&grid);
    return rc;
}

const struct cli_command cli_cmd_sweep = {
    "sweep", "simulate a grid of parameters, policies and seeds in parallel", usage, run};

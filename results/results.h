/* results.h - the one SQLite schema (schema.sql) both drivers write, the
 * recorder that writes it (recorder.c), the summary metrics computed from
 * its rows (metrics.c), and every reader of it: runs (runs.c), a run's rows
 * (rows.c), selection (select.c), summaries (summary.c), comparison,
 * validation, calibration, merge. No other module holds SQL: they call
 * these res_* functions.
 * The recorder batches rows in transactions with prepared statements under
 * WAL; a run stays 'running' until res_run_finish() has committed every row
 * and its metrics, so an interrupted run never looks complete.
 * Times passed in are int64 ns from the run's start; stored as seconds. */
#ifndef THAW_RESULTS_H
#define THAW_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core.h"
#include "thaw_err.h"

struct res_db;

/* Opens (creating if needed) the database and applies schema.sql. Creates
 * the parent folder of path when missing. */
int res_open(const char *path, struct res_db **out, struct thaw_err *err);
/* Process-wide SQLite settings, once, before any res_open (a program's
 * main): memory statistics off, since keeping them takes a global mutex on
 * every allocation SQLite makes. Harmless when it comes too late (SQLite
 * then keeps its defaults). */
void res_library_init(void);
void res_close(struct res_db *db);
/* The underlying handle (sqlite3 *), for the files of results/ and for
 * tests that write rows by hand; other modules call the res_* readers. */
void *res_handle(struct res_db *db);

/* Recording levels (--record): what rows a run writes. Every level writes
 * the runs, gpus, metrics, metrics_by_model, anomalies and faults rows;
 * `loads` adds loads, instance_events and autoscale_decisions; `all` adds
 * requests, core_events and core_actions (what replay needs). Below `all`
 * the request-side metrics are computed while the run runs (stream.c: the
 * same definitions; quantiles exact up to 8192 values per set, within 2^-10
 * relative beyond) and the cold-start latencies are kept in cold_starts.
 * At `summary` on an in-memory database (":memory:", sim --no-record) the
 * loads and instance events the metrics need are kept in that database
 * itself, as at `loads`; res_record_level still says `summary`. At `all`
 * the request-latency quantiles are exact at every size (rank.c). */
enum res_record { RES_RECORD_ALL = 0, RES_RECORD_LOADS, RES_RECORD_SUMMARY };
/* "summary" | "loads" | "all" -> *out; THAW_EINVAL otherwise. */
int res_record_parse(const char *text, enum res_record *out);
const char *res_record_name(enum res_record level);
/* The level of every run res_run_begin starts on this connection from now
 * on (a new connection records `all`), and its getter. */
void res_set_record(struct res_db *db, enum res_record level);
enum res_record res_record_level(const struct res_db *db);

struct res_run_info {
    const char *mode;      /* "sim" | "exec" */
    const char *backend;   /* "" for sim; "cuda" | "host" */
    const char *overrides; /* the --set / --policy strings as given, or "" */
    const char *sweep_id;  /* NULL unless part of a sweep */
    const char *params;    /* sweep point "k=v;k=v", or "" */
    uint64_t seed;
};

/* Inserts the runs row (status 'running') and the gpus rows. */
int res_run_begin(struct res_db *db, const struct core_spec *spec, const struct res_run_info *info,
                  int64_t *run_id, struct thaw_err *err);

struct res_load_row {
    uint64_t load_id, instance;
    int model, gpu;
    enum core_source source;
    enum core_reason reason;
    int64_t enqueued_ns;
    int64_t started_ns;  /* < 0: never started (outcome "queued"; gpu ignored) */
    int64_t finished_ns; /* < 0: never finished */
    uint64_t bytes, vram_bytes;
    /* "ok" | "failed" | "cancelled" | "in_flight" (running at the end) |
     * "queued" (still in the cold-start queue at the end) */
    const char *outcome;
    const char *error; /* why it failed (copied), or NULL: unknown / not failed */
};

struct res_request_row {
    uint64_t request_id;
    int model;
    int64_t arrived_ns;
    int64_t dispatched_ns; /* < 0: never */
    int64_t finished_ns;   /* < 0: never */
    uint64_t instance;     /* 0: none */
    bool cold;
};

/* Row writers: buffered in the open transaction, committed every few
 * thousand rows and at res_run_finish. The spec names models and GPUs. */
int res_add_load(struct res_db *db, int64_t run, const struct core_spec *spec,
                 const struct res_load_row *row, struct thaw_err *err);
int res_add_request(struct res_db *db, int64_t run, const struct core_spec *spec,
                    const struct res_request_row *row, struct thaw_err *err);
int res_add_instance_event(struct res_db *db, int64_t run, const struct core_spec *spec,
                           uint64_t instance, int model, int gpu, enum core_inst_state state,
                           int64_t t_ns, struct thaw_err *err);
/* kind "gpu" | "node"; target index (flat gpu or node); recovered_ns < 0: never */
int res_add_fault(struct res_db *db, int64_t run, const struct core_spec *spec, bool node,
                  int target, int64_t t_ns, int64_t recovered_ns, struct thaw_err *err);
/* One autoscaler decision (CORE_ACT_AUTOSCALE) at t_ns for model. */
int res_add_autoscale_decision(struct res_db *db, int64_t run, const struct core_spec *spec,
                               int64_t t_ns, int model, const struct core_scale_decision *d,
                               struct thaw_err *err);
int res_add_core_event(struct res_db *db, int64_t run, uint64_t seq, const struct core_event *ev,
                       struct thaw_err *err);
int res_set_metric(struct res_db *db, int64_t run, const char *name, double value,
                   struct thaw_err *err);

/* Commits the remaining rows, computes the summary metrics from the rows
 * (res_metrics_compute), and sets status ('complete', 'failed',
 * 'interrupted'), finished_at and duration_s, in that order. */
int res_run_finish(struct res_db *db, int64_t run, const char *status, int64_t duration_ns,
                   struct thaw_err *err);

/* Computes the summary metrics of a run from its rows into the metrics
 * table (replacing their old values; other names a driver stored with
 * res_set_metric are kept). Shared by sim and exec. Metric names:
 *   cold_start_mean_s cold_start_p50_s cold_start_p95_s cold_start_p99_s
 *   cold_start_count makespan_s shm_hit_rate deadline_miss_rate
 *   request_p50_s request_p99_s request_cold_p50_s request_cold_p99_s
 *   request_warm_p50_s request_warm_p99_s requests_served requests_unserved
 *   requests_in_service_at_end requests_cold models_never_served
 *   cold_start_unfinished
 *   recovery_mean_s recovery_max_s vram_util_mean loads_ok loads_failed
 *   (added) recovery_count recovery_unrecovered loads_cancelled
 *   loads_in_flight_at_end loads_queued_at_end
 * Each is also computed per model into metrics_by_model (the same
 * definitions over one model's rows). The full definitions, as shown by
 * `thaw report --explain`, are res_metrics_explain() (per_model.c).
 * Percentiles: gsl_stats_quantile_from_sorted_data (linear interpolation
 * between order statistics, R type 7: for sorted x[0..n-1], h = (n-1)p,
 * q = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h])). A metric
 * with no data is NULL. Definitions (metrics.c has the details):
 *   cold start   loads with reason demand or failover, or of any reason
 *                while a request of the model waited (its [arrived,
 *                dispatched or end) overlaps the load's [enqueued,
 *                finished or end]), that finished ok or were still queued
 *                or in flight at the end: finished - enqueued (finished =
 *                the instance is READY), or end - enqueued when unfinished
 *   makespan     last ok finish - first enqueue over the demand/failover
 *                loads (over all loads when there are none)
 *   shm_hit_rate loads from shm / all loads (every loads row started)
 *   deadline_miss_rate  over loads with a deadline: not ok, or finished
 *                after enqueued + deadline
 *   request_*    arrived -> finished of finished requests; cold = waited
 *                for a cold start (served or not); served = finished,
 *                unserved = never dispatched, in service at end =
 *                dispatched and not finished
 *   recovery     per (fault, model alive on a failed GPU just before it):
 *                0 when another instance of the model was READY elsewhere
 *                at the fault, else the first READY of the model at or
 *                after the fault minus the fault time; mean/max over the
 *                pairs that recovered (recovery_count), the rest counted in
 *                recovery_unrecovered
 *   vram_util_mean  time-weighted mean over [0, duration] of VRAM reserved
 *                (first LOADING/READY -> first EVICTED/FAILED, model vram)
 *                / total VRAM of the gpus table */
int res_metrics_compute(struct res_db *db, int64_t run, struct thaw_err *err);

/* Latest run id in the db (0 when empty). */
int res_last_run(struct res_db *db, int64_t *run, struct thaw_err *err);

/* ---- added by the results module (beyond the first contract) ----------- */

/* Writes every buffered row now, in one transaction. Rows are buffered in
 * memory and written in bursts so that the write lock is held only while a
 * burst is written (several sweep threads share one database file). One
 * struct res_db belongs to one thread at a time; open one per thread. */
int res_flush(struct res_db *db, struct thaw_err *err);

/* Resolves "RUN" as given on a command line: a decimal run id, or a prefix
 * (at least 4 hex digits) of a run's uuid that matches exactly one run.
 * THAW_ENOENT when nothing matches, THAW_EINVAL when ambiguous. */
int res_resolve_run(struct res_db *db, const char *text, int64_t *run, struct thaw_err *err);

/* ---- interrupted and orphaned runs (prune.c) ----------------------------- */

/* This process as runs.owner records it: "PID START BOOT_ID", START being
 * the process's start time in clock ticks since boot (field 22 of
 * /proc/PID/stat), so a reused pid or a reboot is not mistaken for the
 * writer. THAW_EIO when /proc cannot tell. */
int res_owner_text(char *buf, size_t len);

enum res_liveness { RES_ALIVE = 1, RES_GONE = 0, RES_UNKNOWN = -1 };
/* Is the process that wrote a run (its runs.host and runs.owner) still
 * there? UNKNOWN for another host, or no owner (an older database). */
enum res_liveness res_owner_liveness(const char *host, const char *owner);

/* Runs still 'running' whose writer is gone (orphaned), in id order, into
 * a malloc'ed array (caller frees; NULL when none). */
int res_runs_orphaned(struct res_db *db, int64_t **ids, int *count, struct thaw_err *err);

/* What `thaw prune` removes: failed, interrupted and orphaned runs, in id
 * order, malloc'ed as above. */
int res_prune_list(struct res_db *db, int64_t **ids, int *count, struct thaw_err *err);

/* Deletes runs[0..n-1] and every row of theirs (all tables cascade from
 * runs), in one transaction; *rows (may be NULL) receives how many rows
 * went in all, the runs rows included. */
int res_runs_delete(struct res_db *db, const int64_t *runs, int n, int64_t *rows,
                    struct thaw_err *err);

/* The metric names above, in display order, NULL-terminated. */
const char *const *res_metric_names(void);
/* 0 for a metric name; THAW_EINVAL for anything else, with a message that
 * lists every valid name ("unknown metric \"x\"; metrics are: a, b, ..."). */
int res_metric_check(const char *name, struct thaw_err *err);
/* 1 when a larger value is better (shm_hit_rate, vram_util_mean,
 * requests_served, loads_ok, recovery_count), 0 when smaller is better, -1
 * for a name that is not a metric. */
int res_metric_higher_is_better(const char *name);

/* Who a run is: the runs row's identifying columns (text truncated to the
 * field sizes), in runs.c with the other readers of the runs table.
 * THAW_ENOENT for an unknown id. */
struct res_run_meta {
    int64_t id;
    char mode[8], status[16], backend[32], sha[72];
    char scenario[1024], policy[512], overrides[1024];
    char params[1024]; /* sweep point "k=v;k=v", or "" */
    char sweep_id[64]; /* "" unless part of a sweep */
    long long seed;
    double duration_s; /* runs.duration_s; NaN while NULL */
    double wall_s;     /* finished_at - started_at (whole-second stamps); NaN
                        * while the run has no finished_at */
};
int res_run_meta_load(struct res_db *db, int64_t id, struct res_run_meta *out,
                      struct thaw_err *err);
/* A run's overrides, whole (res_run_meta.overrides is cut at 1 KiB): a
 * malloc'ed string the caller frees. THAW_ENOENT: no such run. */
int res_run_overrides(struct res_db *db, int64_t id, char **out, struct thaw_err *err);

/* The runs of sweep sweep_id (runs.sweep_id), in id order, into a malloc'ed
 * array (*ids, caller frees; NULL and *count 0 when none, which is not an
 * error); complete_only: only runs with status 'complete'. */
int res_sweep_runs(struct res_db *db, const char *sweep_id, bool complete_only, int64_t **ids,
                   int *count, struct thaw_err *err);
/* The sweep id of the latest (highest id) run that is part of a sweep, into
 * out (len bytes). THAW_ENOENT when no run is. */
int res_sweep_latest(struct res_db *db, char *out, size_t len, struct thaw_err *err);

/* One stored metric of a run; NaN when the run has no such metric, it is
 * NULL (no data), or the query fails. */
double res_metric_value(struct res_db *db, int64_t run, const char *name);

/* The cold-start latencies of a run (the cold start of res_metrics_compute,
 * unfinished ones measured to the end), in seconds,
 * sorted ascending, into a malloc'ed array (*out, caller frees; NULL and
 * *n 0 when the run has none). */
int res_cold_starts(struct res_db *db, int64_t run, double **out, size_t *n, struct thaw_err *err);

/* Cold-start percentiles pooled over runs (seeds): res_pooled_quantile
 * gives p for cold_start_p50_s, _p95_s, _p99_s and 0 for any other metric
 * (those are averaged over runs). res_cold_start_pooled puts every run's
 * cold starts in one sample of `count`, value = its R type 7 quantile p,
 * [lo, hi] a 95% distribution-free order-statistic interval; NaN (count 0)
 * when no run has a cold start. */
struct res_pooled {
    double value, lo, hi;
    size_t count;
};
double res_pooled_quantile(const char *metric);
int res_cold_start_pooled(struct res_db *db, const int64_t *runs, size_t n, double p,
                          struct res_pooled *out, struct thaw_err *err);

/* Reading a run's rows back (rows.c), for charts and printed tables. Each
 * walk calls fn once per row in the order stated; fn returns 0 to go on,
 * any other value stops the walk and is returned (by convention a negative
 * THAW_E* code, with err filled by fn). 0 when every row was visited, also
 * when there is none. Times are seconds from the run's start; a row's
 * strings are valid during the callback only. */
struct res_stored_load {
    int64_t load_id, instance;
    const char *model, *gpu_name, *node;
    int gpu;                     /* flat index */
    const char *source, *reason; /* as stored: "storage" | "shm"; "demand", ... */
    const char *outcome;         /* "ok" | "failed" | "cancelled" | "in_flight" | "queued" */
    double enqueued_s;
    double started_s;  /* NaN: never started (outcome queued: gpu -1, source NULL
                        * read as "", gpu_name and node "", instance 0) */
    double finished_s; /* NaN: never finished */
    double deadline_s; /* after enqueued; NaN: none */
    double left_s;     /* loads without a finish: the instance's first
                        * EVICTED or FAILED at or after started; else NaN */
    uint64_t bytes, vram_bytes;
    const char *error; /* why a failed load failed; NULL when not known */
};
enum res_load_order {
    RES_LOADS_BY_START = 0, /* started, then load_id; never started last */
    RES_LOADS_BY_ENQUEUE,   /* enqueued, then load_id */
};
int res_rows_loads(struct res_db *db, int64_t run, enum res_load_order order,
                   int (*fn)(const struct res_stored_load *, void *), void *ctx,
                   struct thaw_err *err);

struct res_stored_ievent {
    int64_t instance;
    const char *model;
    const char *state; /* "LOADING" | "READY" | "DRAINING" | "EVICTED" | "FAILED" */
    int gpu;           /* flat index */
    double t_s;
    uint64_t vram_bytes; /* the event's vram; when that is 0 (runs recorded
                          * before the column), the largest vram of the
                          * instance's loads, 0 without loads */
};
enum res_ievent_order {
    RES_IEVENTS_BY_INSTANCE = 0, /* instance, then t, then insertion order */
    RES_IEVENTS_BY_GPU,          /* gpu, then t, then insertion order */
};
int res_rows_ievents(struct res_db *db, int64_t run, enum res_ievent_order order,
                     int (*fn)(const struct res_stored_ievent *, void *), void *ctx,
                     struct thaw_err *err);

/* Faults in time order. */
struct res_stored_fault {
    const char *kind;   /* "gpu" | "node" */
    const char *target; /* the GPU's or the node's name */
    double t_s;
    double recovered_s; /* NaN: not recovered in the run */
};
int res_rows_faults(struct res_db *db, int64_t run,
                    int (*fn)(const struct res_stored_fault *, void *), void *ctx,
                    struct thaw_err *err);

/* The run's GPUs by flat index: the gpus table; for a run without gpus
 * rows, the GPUs its loads name (name and node from the loads), then those
 * only its instance events name ("gpu" INDEX, node "", vram 0). */
struct res_stored_gpu {
    int gpu;
    const char *name, *node;
    uint64_t vram_bytes;
};
int res_rows_gpus(struct res_db *db, int64_t run, int (*fn)(const struct res_stored_gpu *, void *),
                  void *ctx, struct thaw_err *err);
/* The index of node in the run's cluster (nodes are node-major in the gpus
 * table: the number of distinct nodes holding a GPU of a lower index).
 * THAW_ENOENT when the run's gpus table has no GPU on that node. */
int res_rows_node_index(struct res_db *db, int64_t run, const char *node, int *idx,
                        struct thaw_err *err);
/* The latest time in the run's rows: enqueued, started, finished of loads,
 * instance events, faults and their recoveries; 0 with no rows. */
int res_rows_last_s(struct res_db *db, int64_t run, double *t, struct thaw_err *err);

/* Prints the summary of runs[0..n-1] side by side to out: a header line per
 * run (id, uuid prefix, mode, scenario, policy, seed, status), then one row
 * per metric with one column per run ("-" for NULL). */
int res_summary_print(struct res_db *db, const int64_t *runs, int n, FILE *out,
                      struct thaw_err *err);

/* Prints one row per run (id, seed, sweep parameters or policy, then the
 * given metrics as columns): the table of a sweep, e.g. makespan per N. */
int res_table_print(struct res_db *db, const int64_t *runs, int n, const char *const *metrics,
                    int n_metrics, FILE *out, struct thaw_err *err);

/* A difference of means B - A with its confidence interval. */
struct res_interval {
    int n_a, n_b; /* sample sizes (paired: both are the number of pairs) */
    double mean_a, mean_b;
    double diff;   /* mean(B) - mean(A) (paired: mean of b[i] - a[i]) */
    double se;     /* standard error of diff */
    double df;     /* degrees of freedom of the t distribution */
    double lo, hi; /* diff -/+ t(1 - (1-level)/2, df) * se */
};
/* Paired t interval on d[i] = b[i] - a[i], df = n - 1. Needs n >= 2. */
int res_stats_paired(const double *a, const double *b, int n, double level,
                     struct res_interval *out, struct thaw_err *err);
/* Welch's interval on mean(b) - mean(a) with Welch-Satterthwaite df. Needs
 * n_a, n_b >= 2. When both variances are 0 the interval is the point diff
 * and df = n_a + n_b - 2. */
int res_stats_welch(const double *a, int n_a, const double *b, int n_b, double level,
                    struct res_interval *out, struct thaw_err *err);

/* Selects the runs matching a selector, in id order, into a malloc'ed
 * array (*ids, caller frees; NULL when none). A selector is terms, all of
 * which must hold, separated by ';' or spaces:
 *   1,2,5 or 3-7     run ids (also single ids)
 *   sweep=ID         runs.sweep_id
 *   policy=k=v,...   every k=v is an item of runs.policy
 *                    ("queue=priority,placement=locality,...")
 *   param:k=v        an item of runs.params ("k=v;k=v") or of the
 *                    --set/--policy overrides ("k=v,k=v")
 *   scenario=NAME    runs.scenario, its file name, or the name less .yaml
 *   mode=sim|exec    status=S (complete by default; status=any for all)
 * THAW_EINVAL names a malformed term. */
int res_select_runs(struct res_db *db, const char *selector, int64_t **ids, int *count,
                    struct thaw_err *err);

enum res_cmp_method { RES_CMP_NONE = 0, RES_CMP_PAIRED, RES_CMP_WELCH };
enum res_verdict {
    RES_VERDICT_NONE = 0, /* no interval (fewer than 2 runs on a side) */
    RES_VERDICT_SAME,     /* the interval holds 0: no significant difference */
    RES_VERDICT_A,        /* A better */
    RES_VERDICT_B,        /* B better */
};
struct res_comparison {
    enum res_cmp_method method;
    int n_a, n_b;           /* runs with a (non-NULL) value for the metric */
    double mean_a, mean_b;  /* NaN when that side has no value */
    struct res_interval ci; /* valid unless method is RES_CMP_NONE */
    enum res_verdict verdict;
};
/* Compares one metric between two sets of runs at confidence `level`:
 * paired by seed when both sides hold the same seeds, each once, and at
 * least 2 of them; Welch when each side has 2 or more values; otherwise no
 * interval. The verdict reads "better" as lower, except for metrics where
 * res_metric_higher_is_better() says higher. Runs without the metric (NULL)
 * are left out of that metric. */
int res_compare_metric(struct res_db *db, const int64_t *a, int n_a, const int64_t *b, int n_b,
                       const char *metric, double level, struct res_comparison *out,
                       struct thaw_err *err);

/* Copies every finished run of the database at in_path (runs and all their
 * rows) into out, skipping runs whose uuid out already holds (so merging
 * twice adds nothing) and runs still 'running'. One transaction per call. */
struct res_merge_counts {
    int added;      /* runs copied */
    int duplicates; /* runs skipped: uuid already in out */
    int running;    /* runs skipped: still 'running' in the input */
};
int res_merge(struct res_db *out, const char *in_path, struct res_merge_counts *counts,
              struct thaw_err *err);

/* Validation (validate.c): the simulator against a real run. A load pair is
 * the k-th (1-based, by start time then load id) load of a model that
 * finished with outcome ok in the exec run and the k-th such load of the
 * same model in the sim run; durations are finished - started, in seconds.
 * Models loaded in one run only, and loads beyond the shorter run's count,
 * have no pair. */
struct res_load_pair {
    const char *model; /* valid during the callback only */
    int k;
    double measured_s, simulated_s;
};
/* Calls fn for every pair, ordered by model name then k. fn returns 0 to go
 * on; any other value stops the walk and is returned (by convention a
 * negative THAW_E* code, with err filled by fn). 0 when every pair was
 * visited, also when there is none. */
int res_load_pairs(struct res_db *db, int64_t exec_run, int64_t sim_run,
                   int (*fn)(const struct res_load_pair *, void *), void *ctx,
                   struct thaw_err *err);
/* The pairs summed up per model and over all pairs, for `thaw validate`. */
struct res_model_fit {
    char model[CORE_NAME_MAX];
    int pairs;
    double measured_mean_s, simulated_mean_s; /* over the model's pairs */
    double rel_error; /* (measured_mean - simulated_mean) / simulated_mean, signed
                       * (> 0: the real loads were slower); NaN when the
                       * simulated mean is 0 */
};
struct res_validation {
    int pairs;             /* all pairs */
    int rel_pairs;         /* pairs with simulated_s > 0 */
    double mean_rel_error; /* mean over those of |measured - simulated| /
                            * simulated; NaN when rel_pairs is 0 */
    int model_count;
    struct res_model_fit *models; /* by model name; malloc'ed, NULL when none */
};
/* Fills out (free it with res_validation_free); no pairs is not an error:
 * out->pairs is 0. */
int res_validate(struct res_db *db, int64_t exec_run, int64_t sim_run, struct res_validation *out,
                 struct thaw_err *err);
void res_validation_free(struct res_validation *v);
/* The latest (highest id) run of mode "sim" or "exec", of any status; with
 * sha_or_null, only runs whose scenario_sha256 equals it. THAW_ENOENT when
 * there is none. */
int res_latest_run_of_mode(struct res_db *db, const char *mode, const char *sha_or_null,
                           int64_t *id, struct thaw_err *err);

/* Calibration (calibrate.c): the simulator's per-load parameters fitted to
 * a run's measured loads, for `thaw calibrate`. In the simulator a lone
 * load takes init + phases + bytes / bandwidth + warmup, a line in bytes:
 * per (node, source) the ok loads that ran alone on their node (no other
 * load of the node, of any source or outcome, overlapped [started,
 * finished]; a load without a finish ends at its instance's FAILED or
 * EVICTED event, else at the run's end) are fitted by least squares
 * (gsl_fit_linear) to t = a + bytes / B, t = finished - started. */
struct res_calibration {
    char node[CORE_NAME_MAX];
    enum core_source source; /* CORE_SRC_STORAGE or CORE_SRC_SHM */
    int n_used;              /* ok loads that ran alone on the node */
    int n_left_out;          /* ok loads that overlapped another load */
    int n_sizes;             /* distinct byte counts among the used loads */
    bool ok;                 /* a line was fitted: n_sizes >= 2 */
    double a_s;              /* intercept: the fixed cost, seconds */
    double bandwidth_bps;    /* 1 / slope; NaN when the slope is <= 0 */
    double r2;               /* of the line; NaN when not ok */
    double *bytes, *secs;    /* the n_used points, for res_calibration_through */
};
/* Fills *out with one entry per (node, source) that has ok loads, nodes in
 * GPU order, storage before shm (free with res_calibration_free); *count 0
 * and *out NULL when the run has none. THAW_ENOENT for no such run. */
int res_calibrate(struct res_db *db, int64_t run, struct res_calibration **out, int *count,
                  struct thaw_err *err);
void res_calibration_free(struct res_calibration *c, int count);
/* The fallback when the sizes do not span a line: the bandwidth of the
 * least-squares fit through a given fixed cost a_s (gsl_fit_mul on bytes,
 * t - a_s). THAW_EINVAL with no points or a slope <= 0. */
int res_calibration_through(const struct res_calibration *c, double a_s, double *bandwidth_bps,
                            struct thaw_err *err);

/* ---- per model and definitions (per_model.c) ----------------------------- */

/* A run's metrics_by_model as a table: one row per metric (res_metric_names
 * order), one column per model (by name); "-" for NULL. */
int res_by_model_print(struct res_db *db, int64_t run, FILE *out, struct thaw_err *err);
/* The definitions of the metrics and anomalies, as text (static). */
const char *res_metrics_explain(void);

/* A run's autoscaler decisions (autoscale_decisions), one line each in the
 * order taken, or a line saying there are none; *rows (may be NULL) gets
 * their number. */
int res_autoscale_print(struct res_db *db, int64_t run, FILE *out, int *rows, struct thaw_err *err);

/* ---- anomalies (anomalies.c) --------------------------------------------- */

/* What went wrong in a run that still completed, one row per (kind,
 * model), computed from the rows by res_run_finish (after the metrics) into
 * the anomalies table. The kinds:
 *   never_served        a model with requests none of which was ever
 *                       dispatched; t = its first arrival
 *   queued_at_end       a model with loads never started (outcome queued);
 *                       t = the first one's enqueue
 *   priority_inversion  a load B started at t while a load A of a higher
 *                       priority waited (enqueued <= t, not started by t)
 *                       needing no more VRAM than B (it fit where B went);
 *                       the first per (A's model, B's model)
 *   head_of_line        a load A waited while loads of other models queued
 *                       after it, of no higher priority, started first (the
 *                       line moved past the head); the first per model,
 *                       t = its enqueue
 *   deadline_miss       loads of a model that missed their deadline (as
 *                       deadline_miss_rate counts them); t = the first due
 *   stale_scale_up      scale_up loads that started when no request of the
 *                       model was waiting; t = the first such start
 * Each detail is a sentence naming the model and the times. */
struct res_anomaly {
    const char *kind, *model;
    double t_s;
    const char *detail;
};
int res_anomalies_compute(struct res_db *db, int64_t run, struct thaw_err *err);
/* The stored anomalies of a run in order (kinds as listed, then t); fn
 * returns 0 to go on (as the row walks). None is not an error. */
int res_anomalies_walk(struct res_db *db, int64_t run,
                       int (*fn)(const struct res_anomaly *, void *), void *ctx,
                       struct thaw_err *err);
/* Prints them, one "PREFIX: anomaly: KIND at T s: DETAIL" line each (at
 * most max lines, then a count of the rest; max <= 0: all); *count (NULL
 * ok) gets how many there are. */
int res_anomalies_print(struct res_db *db, int64_t run, FILE *out, const char *prefix, int max,
                        int *count, struct thaw_err *err);

/* ---- the core's action log and input events (replay) ------------------- */

/* core_actions rows of one run: every action the core returned, one
 * core_action_format line each, keyed by the input event that caused it
 * (core_events.seq; 0 = core_sched_start). Written by the driver shell for
 * both drivers. Lines are buffered (copied) and written in bursts. */
struct res_action_log;
int res_action_log_open(struct res_db *db, int64_t run, struct res_action_log **out,
                        struct thaw_err *err);
int res_action_log_add(struct res_action_log *l, uint64_t seq, uint32_t idx, const char *line,
                       struct thaw_err *err);
/* Writes what is buffered (one transaction). NULL ok. */
int res_action_log_flush(struct res_action_log *l, struct thaw_err *err);
/* Flushes (errors ignored: call flush first to see them) and frees. NULL ok. */
void res_action_log_close(struct res_action_log *l);

/* A run's core events in seq order (ev[i] numbered seq[i]). */
struct res_core_events {
    struct core_event *ev;
    uint64_t *seq;
    size_t count;
};
int res_core_events_load(struct res_db *db, int64_t run, struct res_core_events *out,
                         struct thaw_err *err);
void res_core_events_free(struct res_core_events *e);

/* Walks a run's core_actions in (seq, idx) order. `line` stays valid until
 * the next call. */
struct res_action_reader;
int res_action_reader_open(struct res_db *db, int64_t run, struct res_action_reader **out,
                           struct thaw_err *err);
bool res_action_reader_next(struct res_action_reader *r, uint64_t *seq, uint64_t *idx,
                            const char **line);
void res_action_reader_close(struct res_action_reader *r);

/* ---- for analysis: export, stored scenarios (export.c, runextra.c) ------ */

/* One value of an exported row, typed as SQLite stored it. */
enum res_value_type { RES_VAL_NULL = 0, RES_VAL_INT, RES_VAL_REAL, RES_VAL_TEXT };
struct res_value {
    enum res_value_type type;
    int64_t i;        /* RES_VAL_INT */
    double r;         /* RES_VAL_REAL */
    const char *text; /* RES_VAL_TEXT; valid during the callback only */
};
/* Where exported rows go: columns once (also when no row follows), then
 * row per row. Each returns 0 to go on; anything else stops the export and
 * is returned (a negative THAW_E* code by convention, err filled by it). */
struct res_export_sink {
    int (*columns)(void *ctx, int n, const char *const *names);
    int (*row)(void *ctx, int n, const struct res_value *values);
};
/* The tables and views res_export reads, NULL-terminated: runs, loads,
 * requests, metrics, instance_events, faults, gpus, core_events,
 * run_params, models, nodes, and the views run_summary (one row per run,
 * one column per metric), load_breakdown (queued_s, service_s, total_s),
 * core_events_named (names instead of indices), model_summary. */
const char *const *res_export_tables(void);
/* Streams the rows of table for runs[0..n-1], run by run in the order
 * given, each run's rows in a stable order (ids, sequence or time, then
 * insertion order). THAW_EINVAL for a table not in res_export_tables(). */
int res_export(struct res_db *db, const char *table, const int64_t *runs, int n,
               const struct res_export_sink *sink, void *ctx, struct thaw_err *err);

/* The bytes of the scenario file a run was recorded from (stored with it
 * by res_run_begin, keyed by its sha256), NUL-terminated, into a malloc'ed
 * *text (caller frees). THAW_ENOENT when the run has none stored (runs
 * recorded before schema version 1, or whose file could not be read). */
int res_scenario_text(struct res_db *db, int64_t run, char **text, size_t *len,
                      struct thaw_err *err);

/* ---- load phases: where each load's time went (phases.c) ----------------- */

/* A load's phases, in the order a load goes through them (load_phases in
 * schema.sql says what each covers). */
enum res_phase {
    RES_PHASE_QUEUED = 0,
    RES_PHASE_INIT,
    RES_PHASE_STARTUP, /* one of the model's startup phases (name says which) */
    RES_PHASE_ALLOC,
    RES_PHASE_COPY,
    RES_PHASE_VERIFY,
    RES_PHASE_WARMUP,
    RES_PHASE_COUNT
};
/* "queued", "init", ...; NULL out of range. */
const char *res_phase_name(enum res_phase p);
/* The phase named `name`, or -1. */
int res_phase_parse(const char *name);

struct res_load_phase {
    uint64_t load_id;
    int seq; /* 0, 1, ... within the load */
    enum res_phase phase;
    const char *name; /* RES_PHASE_STARTUP: the phase's name (copied); else NULL */
    bool cpu;
    int64_t start_ns, end_ns;
};

/* A buffered writer of one run's load_phases rows, used by a driver on its
 * main thread: rows are kept in memory and written in their own
 * transactions, a few thousand at a time and at res_phases_flush (which
 * the driver calls before the run is finished). */
struct res_phases;
int res_phases_new(struct res_db *db, int64_t run, struct res_phases **out, struct thaw_err *err);
int res_phases_add(struct res_phases *w, const struct res_load_phase *p, struct thaw_err *err);
int res_phases_flush(struct res_phases *w, struct thaw_err *err);
/* Frees without writing what was not flushed. NULL ok. */
void res_phases_free(struct res_phases *w);

/* One load_phases row joined with its load, for readers (calibrate). */
struct res_phase_row {
    uint64_t load_id;
    /* names, valid during the callback only; source NULL when never started */
    const char *model, *gpu, *node, *source, *outcome;
    uint64_t bytes;
    enum res_phase phase;
    const char *name; /* NULL unless startup */
    bool cpu;
    double started_s, finished_s;
};
/* Calls fn for each row of run, ordered by load then seq; fn returns 0 to
 * go on (anything else stops and is returned). */
int res_phases_each(struct res_db *db, int64_t run, int (*fn)(const struct res_phase_row *, void *),
                    void *ctx, struct thaw_err *err);
/* A run's load_phase_summary as a table (`thaw report --phases`): one row
 * per phase (startup phases by name), loads, mean, max and total seconds and
 * the share of all the run's load time; a line saying so when none. */
int res_phases_print(struct res_db *db, int64_t run, FILE *out, struct thaw_err *err);

/* Calibration from load_phases, pooled over several runs (calibrate.c): per
 * (node, source), every ok load's copy seconds against its bytes (the
 * checksum is fitted apart, as the node's verify rate),
 * concurrent loads included. Each load's overlap k is 1 + the share of its
 * copy that other copies of the same run, node and source overlapped (mean
 * copies in flight). Two lines are fitted by least squares: per load
 * (t = a + bytes / B: each load has its own pipe, as the host backend's
 * shm loads, one core each) and shared (t = a + k bytes / B: the loads
 * share one pipe of B, as the simulator's flows do); with one size only,
 * through the origin (a = 0). `shared` says which fits better (higher R^2).
 * The spread is the standard deviation of the per-load B_i = (k) bytes /
 * (t - a). init, warm-up and alloc are the means (and standard deviations)
 * of those phases over the same loads. */
struct res_phase_fit {
    char node[CORE_NAME_MAX];
    enum core_source source;
    int loads, sizes, runs;
    double mean_overlap;
    bool shared;
    double a_s, bandwidth_bps, bw_sd_bps, r2;        /* the better line */
    double other_bandwidth_bps, other_r2;            /* the other one */
    double init_s, init_sd_s, warmup_s, warmup_sd_s; /* NAN when no such phase */
    double alloc_s, verify_s;                        /* means */
    double verify_bps; /* sum of bytes / sum of verify seconds; NAN without verify phases */
};
/* THAW_ENOENT when none of the runs has load_phases rows of an ok load.
 * *out (free()) holds *count entries, in the order the nodes first appear. */
int res_calibrate_phases(struct res_db *db, const int64_t *runs, int n_runs,
                         struct res_phase_fit **out, int *count, struct thaw_err *err);

/* The complete runs that repeat `run` (itself included when complete): the
 * same mode, scenario sha256, seed, policy, overrides and backend, in id
 * order, into a malloc'ed *ids (caller frees; NULL when none). */
int res_run_repeats(struct res_db *db, int64_t run, int64_t **ids, int *count,
                    struct thaw_err *err);

/* ---- the whole cluster over time (cluster.c) ----------------------------- */

/* What `thaw plot cluster` adds up: each change of one series at t_s. */
enum res_cluster_series {
    RES_CLUSTER_READY = 0, /* READY instances: first READY to first EVICTED/FAILED */
    RES_CLUSTER_QUEUED,    /* loads in the queue: enqueued to started */
    RES_CLUSTER_WAITING,   /* requests waiting: arrived to dispatched */
    RES_CLUSTER_VRAM_GIB,  /* VRAM reserved, GiB (the vram_util_mean rule) */
    RES_CLUSTER_SERIES_COUNT
};
struct res_cluster_step {
    double t_s;
    enum res_cluster_series series;
    double delta; /* +1 / -1, or GiB for RES_CLUSTER_VRAM_GIB */
};
/* Calls fn for every step of the run in time order (ties: series, then
 * decreases first); fn returns 0 to go on, as the row walks. */
int res_cluster_steps(struct res_db *db, int64_t run,
                      int (*fn)(const struct res_cluster_step *, void *), void *ctx,
                      struct thaw_err *err);
/* ---- the storage ladder (ladder.c) ------------------------------------ */

/* A load's weight copy (load_copies): where it read and when. */
struct res_copy_row {
    uint64_t load_id;
    enum core_source source;
    int peer_gpu; /* -1 unless source is CORE_SRC_PEER */
    uint64_t bytes;
    int64_t started_ns, finished_ns;
    double lone_s; /* bytes / the lone path bandwidth */
};

/* A run's ladder rows, buffered by the driver and written by
 * res_ladder_rec_flush in one transaction (call it before the run is
 * finished). Resources are the driver's ids, named "kind:name" once. */
struct res_ladder_rec;
int res_ladder_rec_new(struct res_db *db, int64_t run, struct res_ladder_rec **out,
                       struct thaw_err *err);
void res_ladder_rec_free(struct res_ladder_rec *r);
int res_ladder_rec_resource(struct res_ladder_rec *r, int id, const char *kind, const char *name,
                            struct thaw_err *err);
bool res_ladder_rec_named(const struct res_ladder_rec *r, int id);
/* Resource id's rate in use became used_bps at t_ns (ignored for unnamed ids). */
int res_ladder_rec_rate(struct res_ladder_rec *r, int64_t t_ns, int id, double used_bps,
                        double capacity_bps, struct thaw_err *err);
int res_ladder_rec_copy(struct res_ladder_rec *r, const struct res_copy_row *row,
                        struct thaw_err *err);
int res_ladder_rec_flush(struct res_ladder_rec *r, struct thaw_err *err);

/* Per source (index enum core_source): loads started and their bytes;
 * hit rate of a rung = loads[k] / started. Time waited on the shared store:
 * over load_copies from a store, copy time beyond lone_s. */
#define RES_LADDER_SOURCES 5
struct res_ladder_summary {
    int64_t started;
    int64_t loads[RES_LADDER_SOURCES];
    uint64_t bytes[RES_LADDER_SOURCES];
    int64_t store_copies;
    double store_wait_total_s, store_wait_max_s;
};
int res_ladder_summary(struct res_db *db, int64_t run, struct res_ladder_summary *out,
                       struct thaw_err *err);
/* The summary as a small table (`thaw report --ladder`). */
int res_ladder_print(struct res_db *db, int64_t run, FILE *out, struct thaw_err *err);
/* bandwidth_samples of run, by resource then time; kinds: a comma list
 * ("store,network") or NULL for all. fn's non-zero return stops and is
 * returned. */
int res_bandwidth_series(struct res_db *db, int64_t run, const char *kinds,
                         int (*fn)(const char *resource, double t, double used_bps,
                                   double capacity_bps, void *ctx),
                         void *ctx, struct thaw_err *err);

#endif

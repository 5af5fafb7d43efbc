/* results.h - the one SQLite schema (schema.sql) both drivers write, the
 * recorder that writes it, and the summary metrics computed from its rows.
 * The recorder batches rows in transactions with prepared statements under
 * WAL; a run stays 'running' until res_run_finish() has committed every row
 * and its metrics, so an interrupted run never looks complete.
 * Times passed in are int64 ns from the run's start; stored as seconds. */
#ifndef THAW_RESULTS_H
#define THAW_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "thaw_err.h"

struct res_db;

/* Opens (creating if needed) the database and applies schema.sql. Creates
 * the parent folder of path when missing. */
int res_open(const char *path, struct res_db **out, struct thaw_err *err);
void res_close(struct res_db *db);
/* The underlying handle, for queries by report/compare/plot (sqlite3 *). */
void *res_handle(struct res_db *db);

struct res_run_info {
    const char *mode;     /* "sim" | "exec" */
    const char *backend;  /* "" for sim; "cuda" | "host" */
    const char *overrides;/* the --set / --policy strings as given, or "" */
    const char *sweep_id; /* NULL unless part of a sweep */
    const char *params;   /* sweep point "k=v;k=v", or "" */
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
    int64_t enqueued_ns, started_ns;
    int64_t finished_ns; /* < 0: never finished */
    uint64_t bytes, vram_bytes;
    const char *outcome; /* "ok" | "failed" | "cancelled" */
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
 * table (replacing old ones). Shared by sim and exec. Metric names:
 *   cold_start_mean_s cold_start_p50_s cold_start_p95_s cold_start_p99_s
 *   cold_start_count makespan_s shm_hit_rate deadline_miss_rate
 *   request_p50_s request_p99_s request_cold_p50_s request_cold_p99_s
 *   request_warm_p50_s request_warm_p99_s requests_served requests_lost
 *   recovery_mean_s recovery_max_s vram_util_mean loads_ok loads_failed
 * Percentiles: gsl_stats_quantile_from_sorted_data (linear interpolation
 * between order statistics, R type 7). A metric with no data is NULL. */
int res_metrics_compute(struct res_db *db, int64_t run, struct thaw_err *err);

/* Latest run id in the db (0 when empty). */
int res_last_run(struct res_db *db, int64_t *run, struct thaw_err *err);

#endif

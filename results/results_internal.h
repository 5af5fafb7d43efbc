/* results_internal.h - what the files of results/ share beyond results.h:
 * the schema version and its migration (migrate.c), the analysis rows
 * written with a run (runextra.c). Internal to results/. */
#ifndef THAW_RESULTS_INTERNAL_H
#define THAW_RESULTS_INTERNAL_H

#include <sqlite3.h>

#include "results.h"

/* PRAGMA user_version of a database this thaw writes. 0: the first schema
 * (no run_params, scenario_texts, models, nodes); 1: core_events and
 * core_actions a row per item (2: packed, logpack.c). */
#define RES_SCHEMA_VERSION 2

/* Brings a database that schema.sql was just applied to up to
 * RES_SCHEMA_VERSION (backfilling what older runs lack), and (re)creates the
 * run_summary view when the metric names changed. Writes nothing when the
 * database is already current. THAW_EINVAL for a newer database. */
int res_migrate(sqlite3 *db, struct thaw_err *err);

/* What version 1 adds, for runs that lack it (idempotent, inside the
 * caller's transaction): run_params from runs.params, nodes from gpus. Also
 * run by res_merge after copying runs of an older database. */
int res_migrate_backfill(sqlite3 *db, struct thaw_err *err);

/* What version 2 changed, for the runs of schema ("main", or "src" for
 * res_merge's attached input) that still have the core_events and
 * core_actions tables: packed into main's core_event_log, core_action_log.
 * run < 0: every run, ids kept; else run `run` only, as run to_run. */
int res_migrate_pack_logs(sqlite3 *db, const char *schema, int64_t run, int64_t to_run,
                          struct thaw_err *err);

/* Inside res_run_begin's transaction: run_params from info->params, the
 * models and nodes names of spec, and the scenario file's bytes (when the
 * file can be read; nothing otherwise). */
int res_runextra_insert(sqlite3 *db, int64_t run, const struct core_spec *spec,
                        const struct res_run_info *info, struct thaw_err *err);

/* Splits "k=v;k=v" into run_params rows of run (INSERT OR REPLACE). */
int res_runextra_params(sqlite3 *db, int64_t run, const char *params, struct thaw_err *err);

/* ---- stream.c: request-side metrics while the run runs ------------------ */

/* Values a latency set keeps exactly; beyond, a histogram (stream.c). */
#define RES_STREAM_EXACT 8192

struct res_stream;

int res_stream_new(const struct core_spec *spec, struct res_stream **out);
void res_stream_free(struct res_stream *s);
/* A request row / a load row with its outcome, in recording order. */
int res_stream_request(struct res_stream *s, const struct res_request_row *row);
int res_stream_load(struct res_stream *s, const struct res_load_row *row, const char *outcome);
/* max(arrived, finished) over the request rows, or max(finished) alone; 0 without. */
double res_stream_last_s(const struct res_stream *s, bool finished_only);
/* The cold-start latencies of the run (model NULL) or of one model, sorted
 * (metrics.c's cold_start_values); *out is the caller's to free. */
int res_stream_cold_starts(struct res_stream *s, const char *model, double end_s, double **out,
                           size_t *n, size_t *unfinished);
/* metrics.c's requests(): sets 0 all, 1 cold, 2 warm. exact[i] false: the
 * quantiles are within 2^-10 relative of the exact ones. */
struct res_stream_requests {
    bool have[3], exact[3];
    double p50[3], p99[3];
    uint64_t served, unserved, in_service, cold, never_served;
};
int res_stream_requests(struct res_stream *s, const char *model, struct res_stream_requests *out);
int res_stream_model_count(const struct res_stream *s);
const char *res_stream_model_name(const struct res_stream *s, int m, bool *has_requests);
/* 1 (filling *first_arrived_s, *count) when model m had requests and none
 * was ever dispatched; 0 otherwise. */
int res_stream_never_served(const struct res_stream *s, int m, double *first_arrived_s,
                            uint64_t *count);

/* ---- rank.c: exact order statistics in bounded memory -------------------- */

/* Values a set keeps (and sorts) before it counts them in a histogram and
 * answers by radix selection, with more passes over the same rows. */
#define RES_RANK_EXACT 65536
#define RES_RANK_TARGETS 8

struct res_rank_target {
    uint64_t rank0;  /* the order statistic (0-based) over the whole set */
    uint64_t prefix; /* its key's top `bits` bits */
    int bits;
    uint64_t rank; /* its rank among the keys with that prefix */
    uint32_t *hist;
};

/* One set of doubles. Use: res_rank_init; res_rank_add every value (the
 * first pass); res_rank_want the quantiles; while res_rank_more: a pass of
 * res_rank_see over the same values (any order), then res_rank_pass_end;
 * then res_rank_quantile (gsl_stats_quantile_from_sorted_data's value, bit
 * for bit); res_rank_free. Memory: cap values, or 65536 counters plus as
 * many per rank asked for. */
struct res_rank {
    double *v;
    size_t n, cap, exact_cap;
    uint64_t total;
    bool over;
    uint32_t *top;
    struct res_rank_target t[RES_RANK_TARGETS];
    int targets;
};
void res_rank_init(struct res_rank *r, size_t cap);
void res_rank_free(struct res_rank *r);
int res_rank_add(struct res_rank *r, double x);
int res_rank_want(struct res_rank *r, const double *ps, int np);
bool res_rank_more(const struct res_rank *r);
void res_rank_see(struct res_rank *r, double x);
void res_rank_pass_end(struct res_rank *r);
double res_rank_quantile(const struct res_rank *r, double p);

/* res_metrics_compute with the exact-value cap of every latency set given
 * (tests: a small cap takes the radix path on few rows). */
int res_metrics_compute_cap(struct res_db *db, int64_t run, size_t cap, struct thaw_err *err);

/* metrics.c with the requests side from a stream (recording levels without
 * request rows); stream NULL: res_metrics_compute. */
int res_metrics_compute_stream(struct res_db *db, int64_t run, struct res_stream *stream,
                               double *end_s, struct thaw_err *err);
/* anomalies.c likewise (never_served from the stream). */
int res_anomalies_compute_stream(struct res_db *db, int64_t run, const struct res_stream *stream,
                                 struct thaw_err *err);
/* ladder.c: rebuilds a loads table whose source CHECK predates the
 * storage ladder's sources (rows and columns kept); nothing when current. */
int res_ladder_migrate(sqlite3 *db, struct thaw_err *err);

#endif

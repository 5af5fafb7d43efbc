/* per_model.c - "which model suffered" in one table: a run's summary metrics
 * per model (metrics_by_model, written by res_metrics_compute), one row
 * per metric and one column per model; and the metrics' definitions as
 * text, the one place `thaw report --explain` and the README quote. */
#include "results.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

static const char explain_text[] =
    "Summary metrics (results/metrics.c computes them from the rows; the same in\n"
    "sim and exec; per model in metrics_by_model, 'thaw report --by-model'):\n"
    "\n"
    "  cold start           a load that (a) has reason demand or failover, or (b) of\n"
    "                       any reason (standby, scale_up, ...) overlapped the wait of\n"
    "                       some request of its model: the request's [arrived,\n"
    "                       dispatched, or the end if never dispatched) meets the\n"
    "                       load's [enqueued, finished, or the end]; and that finished\n"
    "                       ok or was still queued or in flight at the end (failed and\n"
    "                       cancelled loads made no instance). Latency: finished -\n"
    "                       enqueued; for an unfinished one, end - enqueued (a lower\n"
    "                       bound, counted in cold_start_unfinished).\n"
    "  cold_start_mean/p50/p95/p99_s, cold_start_count   over those latencies;\n"
    "                       percentiles are R type 7 (linear between order stats).\n"
    "  makespan_s           last ok finish - first enqueue of the demand/failover\n"
    "                       loads (all loads when none): a burst notion; in a\n"
    "                       steady-traffic run it is just the span of its loads.\n"
    "  shm_hit_rate         started loads read from shm / started loads.\n"
    "  deadline_miss_rate   loads with a deadline that finished after enqueued +\n"
    "                       deadline, failed, were cancelled once started, or were\n"
    "                       still going at an end past their deadline; over those\n"
    "                       loads (a queued scale-up the autoscaler dropped unstarted\n"
    "                       is left out).\n"
    "  request_*_s          arrived -> finished of finished requests; cold ones waited\n"
    "                       for a cold start (a serving load of their model was queued\n"
    "                       or in flight while they waited), warm the others.\n"
    "  requests_served      requests that finished.\n"
    "  requests_unserved    requests never dispatched before the end.\n"
    "  requests_in_service_at_end  dispatched, not finished at the end.\n"
    "                       (Older runs stored requests_lost = the sum of the two.)\n"
    "  requests_cold        requests that waited for a cold start, served or not.\n"
    "  models_never_served  models with requests none of which was dispatched.\n"
    "  recovery_*           per (fault, model alive on the failed GPUs): 0 when\n"
    "                       another instance was READY, else the first READY of the\n"
    "                       model after the fault minus the fault time.\n"
    "  vram_util_mean       time-weighted VRAM reserved / total VRAM over the run.\n"
    "  loads_ok / failed / cancelled / in_flight_at_end / queued_at_end   loads by\n"
    "                       outcome; every load the core queued has a row, those\n"
    "                       never started with started NULL (outcome queued, or\n"
    "                       cancelled: a scale-up the autoscaler dropped).\n"
    "\n"
    "Autoscaler decisions (autoscale_decisions; 'thaw report --autoscaler'): per\n"
    "model and period when a request waited or it dropped or evicted: waiting;\n"
    "ready, loading, queued (supply); excess = waiting beyond the slots the loading\n"
    "and queued instances bring (concurrency each); wanted = ceil(excess / target)\n"
    "- supply; asked = scale_up loads queued (wanted capped by max_step and\n"
    "replicas_max); dropped = queued scale-ups no longer needed; evicted.\n"
    "\n"
    "Anomalies (results/anomalies.c; printed by sim, exec and report, stored in the\n"
    "anomalies table; the exit status of a completed run stays 0):\n"
    "  never_served         a model with requests, none ever dispatched.\n"
    "  queued_at_end        loads of a model never started.\n"
    "  priority_inversion   a load started while a higher-priority one that needed\n"
    "                       no more VRAM was waiting.\n"
    "  head_of_line         a load waited while loads of other models queued after it\n"
    "                       (of no higher priority) started first.\n"
    "  deadline_miss        loads of a model that missed their deadline.\n"
    "  stale_scale_up       scale-up loads started when no request of the model\n"
    "                       waited.\n";

const char *res_metrics_explain(void)
{
    return explain_text;
}

int res_by_model_print(struct res_db *rdb, int64_t run, FILE *out, struct thaw_err *err)
{
    if (!rdb || !out) return thaw_err_set(err, THAW_EINVAL, "by model: NULL argument");
    sqlite3 *db = res_handle(rdb);
    sqlite3_stmt *models = NULL, *val = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT model FROM metrics_by_model WHERE run = ? ORDER BY "
                           "model",
                           -1, &models, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT value FROM metrics_by_model WHERE run = ? AND model = ? AND "
                           "name = ?",
                           -1, &val, NULL) != SQLITE_OK) {
        rc = thaw_err_set(err, THAW_EIO, "by model: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int64(models, 1, run);
    char(*names)[CORE_NAME_MAX] = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(models) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char(*g)[CORE_NAME_MAX] = realloc(names, cap * sizeof *g);
            if (!g) {
                free(names);
                rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
                goto out;
            }
            names = g;
        }
        const unsigned char *t = sqlite3_column_text(models, 0);
        snprintf(names[n++], CORE_NAME_MAX, "%s", t ? (const char *)t : "");
    }
    if (n == 0) {
        fprintf(out,
                "run %lld: no per-model metrics (a run recorded before them, or no "
                "rows)\n",
                (long long)run);
        free(names);
        goto out;
    }
    int col_w = 12;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(names[i]) + 2 > col_w) col_w = (int)strlen(names[i]) + 2;
    fprintf(out, "run %lld by model\n%-28s", (long long)run, "metric");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%*s", col_w, names[i]);
    fputc('\n', out);
    for (const char *const *m = res_metric_names(); *m; m++) {
        fprintf(out, "%-28s", *m);
        for (size_t i = 0; i < n; i++) {
            sqlite3_bind_int64(val, 1, run);
            sqlite3_bind_text(val, 2, names[i], -1, SQLITE_STATIC);
            sqlite3_bind_text(val, 3, *m, -1, SQLITE_STATIC);
            char cell[64] = "-";
            if (sqlite3_step(val) == SQLITE_ROW && sqlite3_column_type(val, 0) != SQLITE_NULL) {
                double v = sqlite3_column_double(val, 0);
                snprintf(cell, sizeof cell, v == (double)(long long)v ? "%.0f" : "%.3f", v);
            }
            sqlite3_reset(val);
            fprintf(out, "%*s", col_w, cell);
        }
        fputc('\n', out);
    }
    free(names);
out:
    sqlite3_finalize(models);
    sqlite3_finalize(val);
    return rc;
}

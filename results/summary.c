/* summary.c - prints stored runs' summaries side by side: who each run is
 * (one header block per run, since policy strings are too long for a
 * column), then one row per metric and one column per run. Used by
 * `thaw report`, and by `thaw sim` / `thaw exec` after a run. */
#include "results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

/* Metrics shown as whole numbers. */
static bool is_count(const char *name)
{
    /* requests_lost: runs recorded before requests_unserved and
     * requests_in_service_at_end replaced it (shown among the extras). */
    static const char *const counts[] = {"cold_start_count",
                                         "cold_start_unfinished",
                                         "requests_served",
                                         "requests_unserved",
                                         "requests_in_service_at_end",
                                         "requests_cold",
                                         "models_never_served",
                                         "requests_lost",
                                         "recovery_count",
                                         "recovery_unrecovered",
                                         "loads_ok",
                                         "loads_failed",
                                         "loads_cancelled",
                                         "loads_in_flight_at_end",
                                         "loads_queued_at_end",
                                         "sleeps",
                                         "wakes",
                                         "exec_gang_shards",
                                         "exec_gang_devices",
                                         NULL};
    for (int i = 0; counts[i]; i++)
        if (!strcmp(name, counts[i])) return true;
    return false;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int print_header(sqlite3 *db, int64_t run, FILE *out, struct thaw_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT substr(uuid, 1, 8), mode, backend, scenario, policy, overrides, "
                           "seed, status, started_at, duration_s, coalesce(sweep_id, ''), params, "
                           "host FROM runs WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "summary: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, run);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        fprintf(out, "run %lld  %s  %s%s%s  %s  seed %lld  %s  started %s on %s", (long long)run,
                col_text(st, 0), col_text(st, 1), *col_text(st, 2) ? "/" : "", col_text(st, 2),
                col_text(st, 3), (long long)sqlite3_column_int64(st, 6), col_text(st, 7),
                col_text(st, 8), col_text(st, 12));
        if (sqlite3_column_type(st, 9) != SQLITE_NULL)
            fprintf(out, "  span %.3f s", sqlite3_column_double(st, 9));
        fprintf(out, "\n    policy %s\n", col_text(st, 4));
        if (*col_text(st, 5)) fprintf(out, "    overrides %s\n", col_text(st, 5));
        if (*col_text(st, 10) || *col_text(st, 11))
            fprintf(out, "    sweep %s  point %s\n", col_text(st, 10), col_text(st, 11));
    } else {
        rc = thaw_err_set(err, THAW_ENOENT, "no run %lld", (long long)run);
    }
    sqlite3_finalize(st);
    return rc;
}

/* One metric's row: its value in each run's column, "-" for NULL/none. */
static void print_row(sqlite3_stmt *st, const char *name, const int64_t *runs, int n, int name_w,
                      int col_w, FILE *out)
{
    fprintf(out, "%-*s", name_w, name);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, runs[i]);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        char cell[64] = "-";
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            snprintf(cell, sizeof cell, is_count(name) ? "%.0f" : "%.3f",
                     sqlite3_column_double(st, 0));
        sqlite3_reset(st);
        fprintf(out, "%*s", col_w, cell);
    }
    fputc('\n', out);
}

int res_summary_print(struct res_db *rdb, const int64_t *runs, int n, FILE *out,
                      struct thaw_err *err)
{
    if (!rdb || !out || (n > 0 && !runs) || n < 0)
        return thaw_err_set(err, THAW_EINVAL, "bad summary arguments");
    sqlite3 *db = res_handle(rdb);
    for (int i = 0; i < n; i++) {
        int rc = print_header(db, runs[i], out, err);
        if (rc < 0) return rc;
    }
    if (n == 0) return 0;

    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT value FROM metrics WHERE run = ? AND name = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "summary: %s", sqlite3_errmsg(db));
    const int name_w = 28;
    int col_w = 12;
    for (int i = 0; i < n; i++) {
        char h[32];
        int len = snprintf(h, sizeof h, "run %lld", (long long)runs[i]);
        if (len + 2 > col_w) col_w = len + 2;
    }
    fprintf(out, "\n%-*s", name_w, "metric");
    for (int i = 0; i < n; i++) {
        char h[32];
        snprintf(h, sizeof h, "run %lld", (long long)runs[i]);
        fprintf(out, "%*s", col_w, h);
    }
    fputc('\n', out);
    for (const char *const *name = res_metric_names(); *name; name++)
        print_row(st, *name, runs, n, name_w, col_w, out);
    /* Then the metrics a driver stored itself (exec_load_gbps, ...), by name. */
    sqlite3_stmt *extra;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT name FROM metrics WHERE run = ? ORDER BY name", -1,
                           &extra, NULL) == SQLITE_OK) {
        char shown[32][64];
        int nshown = 0;
        for (int i = 0; i < n && nshown < 32; i++) {
            sqlite3_bind_int64(extra, 1, runs[i]);
            while (sqlite3_step(extra) == SQLITE_ROW && nshown < 32) {
                const char *name = col_text(extra, 0);
                bool seen = res_metric_higher_is_better(name) >= 0 || strlen(name) >= 64;
                for (int k = 0; k < nshown && !seen; k++)
                    seen = !strcmp(shown[k], name);
                if (seen) continue;
                snprintf(shown[nshown++], sizeof shown[0], "%s", name);
                print_row(st, name, runs, n, name_w, col_w, out);
            }
            sqlite3_reset(extra);
        }
        sqlite3_finalize(extra);
    }
    sqlite3_finalize(st);
    return 0;
}

/* A metric's value for the table, "-" when NULL or absent. */
static void table_cell(sqlite3_stmt *st, int64_t run, const char *metric, char *buf, size_t len)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        double v = sqlite3_column_double(st, 0);
        if (is_count(metric))
            snprintf(buf, len, "%.0f", v);
        else
            snprintf(buf, len, "%.3f", v);
    } else {
        snprintf(buf, len, "-");
    }
}

int res_table_print(struct res_db *db, const int64_t *runs, int n, const char *const *metrics,
                    int n_metrics, FILE *out, struct thaw_err *err)
{
    /* An unknown name would print a column of '-' and look like no data. */
    for (int m = 0; m < n_metrics; m++) {
        int mrc = res_metric_check(metrics[m], err);
        if (mrc < 0) return mrc;
    }
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *info = NULL, *val = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(h,
                           "SELECT seed, CASE WHEN params != '' THEN params "
                           "WHEN overrides != '' THEN overrides ELSE policy END "
                           "FROM runs WHERE id = ?",
                           -1, &info, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h, "SELECT value FROM metrics WHERE run = ? AND name = ?", -1, &val,
                           NULL) != SQLITE_OK) {
        rc = thaw_err_set(err, THAW_EIO, "table: %s", sqlite3_errmsg(h));
        goto out;
    }
    fprintf(out, "%6s %6s  %-48s", "run", "seed", "parameters");
    for (int m = 0; m < n_metrics; m++)
        fprintf(out, " %18s", metrics[m]);
    fputc('\n', out);
    for (int i = 0; i < n; i++) {
        sqlite3_reset(info);
        sqlite3_bind_int64(info, 1, runs[i]);
        if (sqlite3_step(info) != SQLITE_ROW) {
            rc = thaw_err_set(err, THAW_ENOENT, "table: no run %lld", (long long)runs[i]);
            goto out;
        }
        fprintf(out, "%6lld %6lld  %-48s", (long long)runs[i],
                (long long)sqlite3_column_int64(info, 0), col_text(info, 1));
        for (int m = 0; m < n_metrics; m++) {
            char cell[64];
            table_cell(val, runs[i], metrics[m], cell, sizeof cell);
            fprintf(out, " %18s", cell);
        }
        fputc('\n', out);
    }
out:
    sqlite3_finalize(info);
    sqlite3_finalize(val);
    return rc;
}

double res_metric_value(struct res_db *db, int64_t run, const char *name)
{
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    double v = NAN;
    if (sqlite3_prepare_v2(h, "SELECT value FROM metrics WHERE run = ? AND name = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return v;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

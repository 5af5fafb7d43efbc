/* export.c - a run's rows as typed values, for `thaw export` and the
 * --format of report: one whitelisted table or view at a time, streamed
 * through a sink so that a million requests never sit in memory. Formats
 * (CSV, JSON) are the caller's: this file only reads. */
#include "results.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

/* Per name: the column holding the run id, and the order of a run's rows. */
static const struct {
    const char *name, *run_column, *order;
} tables[] = {
    {"runs", "id", "id"},
    {"run_summary", "run", "run"},
    {"loads", "run", "load_id"},
    {"load_breakdown", "run", "load_id"},
    {"requests", "run", "request_id"},
    {"metrics", "run", "rowid"},
    {"instance_events", "run", "t, rowid"},
    {"faults", "run", "t, rowid"},
    {"gpus", "run", "gpu"},
    {"core_events", "run", "seq"},
    {"core_events_named", "run", "seq"},
    {"run_params", "run", "key"},
    {"models", "run", "model"},
    {"nodes", "run", "node"},
    {"model_summary", "run", "model"},
};
#define TABLE_COUNT ((int)(sizeof tables / sizeof tables[0]))

static const char *const table_names[] = {"runs",
                                          "run_summary",
                                          "loads",
                                          "load_breakdown",
                                          "requests",
                                          "metrics",
                                          "instance_events",
                                          "faults",
                                          "gpus",
                                          "core_events",
                                          "core_events_named",
                                          "run_params",
                                          "models",
                                          "nodes",
                                          "model_summary",
                                          NULL};
_Static_assert(sizeof table_names / sizeof table_names[0] == TABLE_COUNT + 1, "one name per table");

const char *const *res_export_tables(void)
{
    return table_names;
}

#define EXPORT_MAX_COLUMNS 128

int res_export(struct res_db *rdb, const char *table, const int64_t *runs, int n,
               const struct res_export_sink *sink, void *ctx, struct thaw_err *err)
{
    int t = 0;
    while (t < TABLE_COUNT && (!table || strcmp(tables[t].name, table)))
        t++;
    if (t == TABLE_COUNT) {
        char list[512] = "";
        for (int i = 0; i < TABLE_COUNT; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     tables[i].name);
        return thaw_err_set(err, THAW_EINVAL, "no table \"%s\" to export; tables are: %s",
                            table ? table : "", list);
    }
    sqlite3 *db = res_handle(rdb);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE %s = ? ORDER BY %s", tables[t].name,
             tables[t].run_column, tables[t].order);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "export %s: %s", table, sqlite3_errmsg(db));
    int ncol = sqlite3_column_count(st);
    if (ncol > EXPORT_MAX_COLUMNS) ncol = EXPORT_MAX_COLUMNS;
    const char *names[EXPORT_MAX_COLUMNS];
    for (int c = 0; c < ncol; c++)
        names[c] = sqlite3_column_name(st, c);
    int rc = sink->columns ? sink->columns(ctx, ncol, names) : 0;
    struct res_value vals[EXPORT_MAX_COLUMNS];
    for (int r = 0; r < n && rc == 0; r++) {
        sqlite3_bind_int64(st, 1, runs[r]);
        int s;
        while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
            for (int c = 0; c < ncol; c++) {
                struct res_value *v = &vals[c];
                *v = (struct res_value){0};
                switch (sqlite3_column_type(st, c)) {
                case SQLITE_INTEGER:
                    v->type = RES_VAL_INT;
                    v->i = sqlite3_column_int64(st, c);
                    break;
                case SQLITE_FLOAT:
                    v->type = RES_VAL_REAL;
                    v->r = sqlite3_column_double(st, c);
                    break;
                case SQLITE_NULL:
                    break;
                default:
                    v->type = RES_VAL_TEXT;
                    v->text = (const char *)sqlite3_column_text(st, c);
                    if (!v->text) v->text = "";
                }
            }
            rc = sink->row(ctx, ncol, vals);
        }
        if (rc == 0 && s != SQLITE_DONE)
            rc = thaw_err_set(err, THAW_EIO, "export %s: %s", table, sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

/* merge.c - copies runs from another results database into this one, for
 * sweeps sharded over machines (`thaw merge OUT.db IN.db...`). A run is
 * known by its uuid, so merging the same input twice adds nothing; run ids
 * are renumbered in the output and every row follows its run. Rows are
 * copied in their stored order (rowid), which the metrics rely on for ties. */
#include "results.h"
#include "results_internal.h"

#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

/* Per table: the columns after `run`, copied as they are. Optional tables
 * came with schema version 1: an older input lacks them, and the backfill
 * of the migration fills them for its runs after the copy. */
static const struct {
    const char *table, *columns;
    bool optional;
} row_tables[] = {
    {"gpus", "gpu, name, node, vram", false},
    {"loads",
     "load_id, model, instance, gpu, gpu_name, node, source, reason, enqueued, started, "
     "finished, bytes, vram, deadline, outcome",
     false},
    {"requests", "request_id, model, arrived, dispatched, finished, instance, cold", false},
    {"instance_events", "instance, model, gpu, state, t, vram", false},
    {"faults", "kind, target, t, recovered", false},
    {"core_events", "seq, kind, t_ns, request, instance, load_id, model, node, gpu, ok", false},
    {"metrics", "name, value", false},
    {"run_params", "key, value", true},
    {"models", "model, name", true},
    {"nodes", "node, name", true},
};
#define TABLE_COUNT ((int)(sizeof row_tables / sizeof row_tables[0]))

static const char run_columns[] =
    "uuid, mode, scenario, scenario_sha256, policy, overrides, seed, host, version, backend, "
    "sweep_id, params, started_at, finished_at, duration_s, status";

static int fail(sqlite3 *db, struct thaw_err *err, const char *in_path, const char *what)
{
    return thaw_err_set(err, THAW_EIO, "merge %s: %s: %s", in_path, what, sqlite3_errmsg(db));
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && *a && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Copies the runs of the attached `src` inside the open transaction. */
static int copy_runs(sqlite3 *db, const char *in_path, struct res_merge_counts *counts,
                     struct thaw_err *err)
{
    sqlite3_stmt *list = NULL, *known = NULL, *ins_run = NULL, *ins_rows[TABLE_COUNT] = {0};
    int rc = 0;
    char sql[1024];
    if (sqlite3_prepare_v2(db, "SELECT id, uuid, status FROM src.runs ORDER BY id", -1, &list,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT 1 FROM main.runs WHERE uuid = ?", -1, &known, NULL) !=
            SQLITE_OK) {
        rc = fail(db, err, in_path, "reading runs");
        goto out;
    }
    snprintf(sql, sizeof sql, "INSERT INTO main.runs (%s) SELECT %s FROM src.runs WHERE id = ?",
             run_columns, run_columns);
    if (sqlite3_prepare_v2(db, sql, -1, &ins_run, NULL) != SQLITE_OK) {
        rc = fail(db, err, in_path, "copying runs");
        goto out;
    }
    for (int t = 0; t < TABLE_COUNT; t++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO main.%s (run, %s) SELECT ?1, %s FROM src.%s WHERE run = ?2 "
                 "ORDER BY rowid",
                 row_tables[t].table, row_tables[t].columns, row_tables[t].columns,
                 row_tables[t].table);
        if (sqlite3_prepare_v2(db, sql, -1, &ins_rows[t], NULL) != SQLITE_OK) {
            if (row_tables[t].optional) continue;
            rc = fail(db, err, in_path, row_tables[t].table);
            goto out;
        }
    }
    int s;
    while ((s = sqlite3_step(list)) == SQLITE_ROW) {
        int64_t old_id = sqlite3_column_int64(list, 0);
        const unsigned char *status = sqlite3_column_text(list, 2);
        if (status && !strcmp((const char *)status, "running")) {
            counts->running++;
            continue;
        }
        sqlite3_bind_value(known, 1, sqlite3_column_value(list, 1));
        int k = sqlite3_step(known);
        sqlite3_reset(known);
        if (k == SQLITE_ROW) {
            counts->duplicates++;
            continue;
        }
        if (k != SQLITE_DONE) {
            rc = fail(db, err, in_path, "checking uuids");
            goto out;
        }
        sqlite3_bind_int64(ins_run, 1, old_id);
        int r = sqlite3_step(ins_run);
        sqlite3_reset(ins_run);
        if (r != SQLITE_DONE) {
            rc = fail(db, err, in_path, "copying a run");
            goto out;
        }
        int64_t new_id = sqlite3_last_insert_rowid(db);
        for (int t = 0; t < TABLE_COUNT; t++) {
            if (!ins_rows[t]) continue;
            sqlite3_bind_int64(ins_rows[t], 1, new_id);
            sqlite3_bind_int64(ins_rows[t], 2, old_id);
            r = sqlite3_step(ins_rows[t]);
            sqlite3_reset(ins_rows[t]);
            if (r != SQLITE_DONE) {
                rc = fail(db, err, in_path, row_tables[t].table);
                goto out;
            }
        }
        counts->added++;
    }
    if (s != SQLITE_DONE) rc = fail(db, err, in_path, "reading runs");
    /* The scenario texts (once per hash), when the input has them; then what
     * an older input lacked. */
    if (rc == 0) {
        sqlite3_stmt *txt = NULL;
        if (sqlite3_prepare_v2(db,
                               "INSERT OR IGNORE INTO main.scenario_texts (sha256, text) "
                               "SELECT sha256, text FROM src.scenario_texts",
                               -1, &txt, NULL) == SQLITE_OK &&
            sqlite3_step(txt) != SQLITE_DONE)
            rc = fail(db, err, in_path, "scenario_texts");
        sqlite3_finalize(txt);
    }
    if (rc == 0) rc = res_migrate_backfill(db, err);
out:
    sqlite3_finalize(list);
    sqlite3_finalize(known);
    sqlite3_finalize(ins_run);
    for (int t = 0; t < TABLE_COUNT; t++)
        sqlite3_finalize(ins_rows[t]);
    return rc;
}

int res_merge(struct res_db *out, const char *in_path, struct res_merge_counts *counts,
              struct thaw_err *err)
{
    if (!out || !in_path || !counts) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    *counts = (struct res_merge_counts){0};
    struct stat st;
    if (stat(in_path, &st) != 0 || !S_ISREG(st.st_mode))
        return thaw_err_set(err, THAW_ENOENT, "merge: no database file %s", in_path);
    sqlite3 *db = res_handle(out);
    if (same_file(sqlite3_db_filename(db, "main"), in_path))
        return thaw_err_set(err, THAW_EINVAL, "merge: %s is the output database itself", in_path);
    int rc = res_flush(out, err);
    if (rc < 0) return rc;

    sqlite3_stmt *att;
    if (sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS src", -1, &att, NULL) != SQLITE_OK)
        return fail(db, err, in_path, "attach");
    sqlite3_bind_text(att, 1, in_path, -1, SQLITE_STATIC);
    int s = sqlite3_step(att);
    sqlite3_finalize(att);
    if (s != SQLITE_DONE) {
        if (sqlite3_errcode(db) == SQLITE_NOTADB)
            return thaw_err_set(err, THAW_EINVAL, "merge: %s is not a thaw results database",
                                in_path);
        return fail(db, err, in_path, "attach");
    }

    /* Not a thaw database (or not SQLite at all): say so before copying. */
    sqlite3_stmt *check;
    bool is_thaw = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM src.sqlite_master WHERE type = 'table' AND name "
                           "IN ('runs', 'loads', 'requests', 'instance_events', 'faults', 'gpus', "
                           "'core_events', 'metrics')",
                           -1, &check, NULL) == SQLITE_OK) {
        is_thaw = sqlite3_step(check) == SQLITE_ROW && sqlite3_column_int(check, 0) == 8;
        sqlite3_finalize(check);
    }
    if (!is_thaw) {
        rc = thaw_err_set(err, THAW_EINVAL, "merge: %s is not a thaw results database", in_path);
    } else if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail(db, err, in_path, "begin");
    } else {
        rc = copy_runs(db, in_path, counts, err);
        if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = fail(db, err, in_path, "commit");
        if (rc < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            *counts = (struct res_merge_counts){0};
        }
    }
    sqlite3_exec(db, "DETACH DATABASE src", NULL, NULL, NULL);
    return rc;
}

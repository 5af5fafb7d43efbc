/* merge.c - copies runs from another results database into this one, for
 * sweeps sharded over machines (`thaw merge OUT.db IN.db...`). A run is
 * known by its uuid, so merging the same input twice adds nothing; run ids
 * are renumbered in the output and every row follows its run. Rows are
 * copied in their stored order (rowid), which the metrics rely on for ties;
 * an input's core logs of schema version 1 are packed on the way. */
#include "results.h"
#include "results_internal.h"

#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

/* The tables copied are found, not listed: every table of the output that
 * has a `run` column (loads, requests, core_actions, metrics_by_model, ...)
 * and that the input has too, with the columns both have (an older input
 * lacks newer columns: they stay NULL). So a table added to schema.sql is
 * merged without touching this file. */
#define MAX_TABLES 32

/* "a, b, c": the columns of `table` that main and src both have, but `skip`;
 * sqlite3_malloc'ed, or NULL when there are none (or out of memory). */
static char *common_columns(sqlite3 *db, const char *table, const char *skip)
{
    sqlite3_stmt *st = NULL;
    char *cols = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT m.name FROM pragma_table_info(?1, 'main') m WHERE m.name <> ?2 "
                           "AND m.name IN (SELECT name FROM pragma_table_info(?1, 'src')) "
                           "ORDER BY m.cid",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, skip, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char *next = cols ? sqlite3_mprintf("%s, \"%w\"", cols, sqlite3_column_text(st, 0))
                          : sqlite3_mprintf("\"%w\"", sqlite3_column_text(st, 0));
        sqlite3_free(cols);
        if (!(cols = next)) break;
    }
    sqlite3_finalize(st);
    return cols;
}

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
    sqlite3_stmt *list = NULL, *known = NULL, *ins_run = NULL, *ins_rows[MAX_TABLES] = {0};
    char *names[MAX_TABLES] = {0};
    int table_count = 0;
    int rc = 0;
    char *sql = NULL, *cols = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, uuid, status FROM src.runs ORDER BY id", -1, &list,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT 1 FROM main.runs WHERE uuid = ?", -1, &known, NULL) !=
            SQLITE_OK) {
        rc = fail(db, err, in_path, "reading runs");
        goto out;
    }
    cols = common_columns(db, "runs", "id");
    sql = cols ? sqlite3_mprintf("INSERT INTO main.runs (%s) SELECT %s FROM src.runs WHERE id = ?",
                                 cols, cols)
               : NULL;
    if (!sql || sqlite3_prepare_v2(db, sql, -1, &ins_run, NULL) != SQLITE_OK) {
        rc = fail(db, err, in_path, "copying runs");
        goto out;
    }
    sqlite3_free(sql);
    sqlite3_free(cols);
    sql = cols = NULL;
    sqlite3_stmt *tables = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT m.name FROM main.sqlite_master m WHERE m.type = 'table' AND "
                           "m.name <> 'runs' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name, "
                           "'main') WHERE name = 'run') AND EXISTS (SELECT 1 FROM "
                           "src.sqlite_master s WHERE s.type = 'table' AND s.name = m.name) "
                           "ORDER BY m.name",
                           -1, &tables, NULL) != SQLITE_OK) {
        rc = fail(db, err, in_path, "listing tables");
        goto out;
    }
    while (rc == 0 && table_count < MAX_TABLES && sqlite3_step(tables) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        cols = common_columns(db, name, "run");
        if (!cols) continue;
        sql = sqlite3_mprintf("INSERT INTO main.\"%w\" (run, %s) SELECT ?1, %s FROM src.\"%w\" "
                              "WHERE run = ?2 ORDER BY rowid",
                              name, cols, cols, name);
        names[table_count] = sqlite3_mprintf("%s", name);
        if (sql && sqlite3_prepare_v2(db, sql, -1, &ins_rows[table_count], NULL) != SQLITE_OK) {
            /* A WITHOUT ROWID table has no rowid: its key order is its stored order. */
            sqlite3_free(sql);
            sql = sqlite3_mprintf("INSERT INTO main.\"%w\" (run, %s) SELECT ?1, %s FROM "
                                  "src.\"%w\" WHERE run = ?2",
                                  name, cols, cols, name);
            if (sql && sqlite3_prepare_v2(db, sql, -1, &ins_rows[table_count], NULL) != SQLITE_OK)
                rc = fail(db, err, in_path, name);
        }
        if (!sql || !names[table_count]) rc = fail(db, err, in_path, name);
        table_count++;
        sqlite3_free(sql);
        sqlite3_free(cols);
        sql = cols = NULL;
    }
    sqlite3_finalize(tables);
    if (rc < 0) goto out;
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
        for (int t = 0; t < table_count; t++) {
            sqlite3_bind_int64(ins_rows[t], 1, new_id);
            sqlite3_bind_int64(ins_rows[t], 2, old_id);
            r = sqlite3_step(ins_rows[t]);
            sqlite3_reset(ins_rows[t]);
            if (r != SQLITE_DONE) {
                rc = fail(db, err, in_path, names[t]);
                goto out;
            }
        }
        /* An input of schema version 1 has its logs a row per item. */
        if ((rc = res_migrate_pack_logs(db, "src", old_id, new_id, err)) < 0) goto out;
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
    for (int t = 0; t < table_count; t++) {
        sqlite3_finalize(ins_rows[t]);
        sqlite3_free(names[t]);
    }
    sqlite3_free(sql);
    sqlite3_free(cols);
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
                           "SELECT count(*) FROM src.sqlite_master WHERE type IN ('table', "
                           "'view') AND name "
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

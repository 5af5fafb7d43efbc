/* migrate.c - the schema's version (PRAGMA user_version) and the step that
 * brings an older database up to it, run by res_open after schema.sql (whose
 * CREATE ... IF NOT EXISTS adds the new tables and views): runs recorded
 * before version 1 get their run_params and nodes rows from what they hold;
 * version 2 packs the core_events and core_actions tables (a row per item)
 * into core_event_log and core_action_log (a row per 1024).
 * Also the run_summary view, generated from res_metric_names() so that it
 * follows the metrics without a hand-kept column list. */
#include "results_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char res_schema_sql[];

static int sql_fail(sqlite3 *db, struct thaw_err *err, const char *what)
{
    return thaw_err_set(err, THAW_EIO, "%s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, struct thaw_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = thaw_err_set(err, THAW_EIO, "migrate: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static int user_version(sqlite3 *db, int *v, struct thaw_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "user_version");
    *v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return 0;
}

/* Version 0 -> 1, for runs that lack them: run_params from runs.params, nodes from the gpus table
 * (node-major: numbered by their first GPU). Model indices of old runs are
 * not known, so their models table stays empty. */
int res_migrate_backfill(sqlite3 *db, struct thaw_err *err)
{
    int rc = exec(db,
                  "INSERT OR IGNORE INTO nodes (run, node, name) "
                  "SELECT run, row_number() OVER (PARTITION BY run ORDER BY first) - 1, node "
                  "FROM (SELECT run, node, min(gpu) AS first FROM gpus "
                  "WHERE run NOT IN (SELECT run FROM nodes) GROUP BY run, node)",
                  err);
    if (rc < 0) return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, params FROM runs WHERE params != '' AND id NOT IN "
                           "(SELECT run FROM run_params) ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "migrate");
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *params = (const char *)sqlite3_column_text(st, 1);
        char *copy = strdup(params ? params : "");
        if (!copy) {
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
            break;
        }
        rc = res_runextra_params(db, sqlite3_column_int64(st, 0), copy, err);
        free(copy);
    }
    sqlite3_finalize(st);
    return rc;
}

/* CREATE VIEW run_summary: the runs row's identity, then one column per
 * metric (NULL where the run lacks it). */
static char *summary_view_sql(void)
{
    size_t cap = 4096, used = 0;
    char *sql = malloc(cap);
    if (!sql) return NULL;
    used += (size_t)snprintf(sql, cap,
                             "CREATE VIEW run_summary AS SELECT r.id AS run, r.uuid, r.mode, "
                             "r.scenario, r.policy, r.overrides, r.seed, r.status, r.sweep_id, "
                             "r.params, r.duration_s");
    for (const char *const *name = res_metric_names(); *name; name++) {
        size_t need = 2 * strlen(*name) + 64;
        if (used + need + 64 > cap) {
            cap = 2 * (cap + need);
            char *nb = realloc(sql, cap);
            if (!nb) {
                free(sql);
                return NULL;
            }
            sql = nb;
        }
        used += (size_t)snprintf(sql + used, cap - used,
                                 ", max(CASE WHEN m.name = '%s' THEN m.value END) AS \"%s\"", *name,
                                 *name);
    }
    snprintf(sql + used, cap - used,
             " FROM runs r LEFT JOIN metrics m ON m.run = r.id GROUP BY r.id");
    return sql;
}

static int summary_view(sqlite3 *db, struct thaw_err *err)
{
    char *want = summary_view_sql();
    if (!want) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    sqlite3_stmt *st;
    bool same = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = "
                           "'run_summary'",
                           -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *have = (const char *)sqlite3_column_text(st, 0);
            same = have && !strcmp(have, want);
        }
        sqlite3_finalize(st);
    }
    int rc = 0;
    if (!same) {
        if ((rc = exec(db, "BEGIN IMMEDIATE", err)) == 0) {
            if ((rc = exec(db, "DROP VIEW IF EXISTS run_summary", err)) == 0 &&
                (rc = exec(db, want, err)) == 0)
                rc = exec(db, "COMMIT", err);
            if (rc < 0) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    free(want);
    return rc;
}

/* Is name a table (not a view) in schema ("main", "src")? */
static bool is_table(sqlite3 *db, const char *schema, const char *name)
{
    char *sql = sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_master WHERE type = 'table' AND "
                                "name = ?",
                                schema);
    sqlite3_stmt *st = NULL;
    bool yes = sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
    if (yes) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        yes = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return yes;
}

/* Version 1 -> 2 for one source: the core_events and core_actions tables
 * of schema (a row per item) packed into main's core_event_log and
 * core_action_log (schema.sql), 1024 items to a row. run < 0: every run,
 * ids kept; else run `run` only, renumbered to_run (res_merge). */
int res_migrate_pack_logs(sqlite3 *db, const char *schema, int64_t run, int64_t to_run,
                          struct thaw_err *err)
{
    static const char kinds[] =
        "CASE kind WHEN 'REQUEST_ARRIVED' THEN 0 WHEN 'REQUEST_FINISHED' THEN 1 "
        "WHEN 'LOAD_FINISHED' THEN 2 WHEN 'SHM_FILL_FINISHED' THEN 3 WHEN 'GPU_FAILED' THEN 4 "
        "WHEN 'GPU_RECOVERED' THEN 5 WHEN 'NODE_FAILED' THEN 6 WHEN 'NODE_RECOVERED' THEN 7 "
        "WHEN 'TICK' THEN 8 WHEN 'DISK_FILL_FINISHED' THEN 9 END";
    const char *what[2][2] = {{"core_events", "core_event_log"},
                              {"core_actions", "core_action_log"}};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!is_table(db, schema, what[i][0])) continue;
        char *cols = i == 0 ? sqlite3_mprintf("seq, %s, t_ns, request, instance, load_id, model, "
                                              "node, gpu, ok",
                                              kinds)
                            : sqlite3_mprintf("seq, idx, line");
        char *sql =
            cols
                ? sqlite3_mprintf("INSERT INTO main.%s (run, first_seq, last_seq, data) "
                                  "SELECT %s, min(seq), max(seq), json_group_array(json_array(%s)) "
                                  "FROM (SELECT * FROM \"%w\".%s WHERE %s ORDER BY run, seq%s) "
                                  "GROUP BY run, seq / 1024 ORDER BY run, seq / 1024",
                                  what[i][1], run < 0 ? "run" : "?2", cols, schema, what[i][0],
                                  run < 0 ? "1" : "run = ?1", i ? ", idx" : "")
                : NULL;
        sqlite3_stmt *st = NULL;
        if (!sql)
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
        else if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            rc = sql_fail(db, err, what[i][0]);
        else {
            if (run >= 0) {
                sqlite3_bind_int64(st, 1, run);
                sqlite3_bind_int64(st, 2, to_run);
            }
            if (sqlite3_step(st) != SQLITE_DONE) rc = sql_fail(db, err, what[i][0]);
        }
        sqlite3_finalize(st);
        sqlite3_free(sql);
        sqlite3_free(cols);
    }
    return rc;
}

/* Version 1 -> 2: the logs packed, the old tables dropped, the views that
 * take their names made (schema.sql, applied again: IF NOT EXISTS). */
static int pack_logs(sqlite3 *db, struct thaw_err *err)
{
    int rc = res_migrate_pack_logs(db, "main", -1, 0, err);
    if (rc == 0 && is_table(db, "main", "core_events"))
        rc = exec(db, "DROP TABLE core_events", err);
    if (rc == 0 && is_table(db, "main", "core_actions"))
        rc = exec(db, "DROP TABLE core_actions", err);
    if (rc == 0) rc = exec(db, res_schema_sql, err);
    return rc;
}

int res_migrate(sqlite3 *db, struct thaw_err *err)
{
    int v, rc = user_version(db, &v, err);
    if (rc < 0) return rc;
    if (v > RES_SCHEMA_VERSION)
        return thaw_err_set(err, THAW_EINVAL,
                            "schema version %d is newer than this thaw's (%d): use a newer thaw", v,
                            RES_SCHEMA_VERSION);
    if (v < RES_SCHEMA_VERSION) {
        if ((rc = exec(db, "BEGIN IMMEDIATE", err)) < 0) return rc;
        /* Another process may have migrated while this one waited. */
        if ((rc = user_version(db, &v, err)) == 0 && v < 1) rc = res_migrate_backfill(db, err);
        if (rc == 0 && v < 2) rc = pack_logs(db, err);
        char set[64];
        snprintf(set, sizeof set, "PRAGMA user_version = %d", RES_SCHEMA_VERSION);
        if (rc == 0 && v < RES_SCHEMA_VERSION) rc = exec(db, set, err);
        if (rc == 0) rc = exec(db, "COMMIT", err);
        if (rc < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return summary_view(db, err);
}

/* actionlog.c - writes the core_actions table (see actionlog.h): lines are
 * buffered and written in bursts inside one BEGIN IMMEDIATE transaction with
 * one prepared statement, like the recorder, so the write lock is held only
 * while a burst is written. */
#include "actionlog.h"
#include "exec.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define ACTION_LOG_BURST 20000

static const char create_sql[] =
    "CREATE TABLE IF NOT EXISTS core_actions ("
    " run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL," /* core_events.seq of the cause; 0 = core_sched_start */
    " idx INTEGER NOT NULL," /* position among that event's actions */
    " line TEXT NOT NULL,"   /* core_action_format */
    " PRIMARY KEY (run, seq, idx))";

struct pending {
    uint64_t seq;
    uint32_t idx;
    char *line;
};

struct exec_action_log {
    struct res_db *db;
    int64_t run;
    struct pending *rows;
    int count;
};

int exec_action_log_ensure(struct res_db *db, struct thaw_err *err)
{
    if (!db) return thaw_err_set(err, THAW_EINVAL, "NULL database");
    sqlite3 *h = res_handle(db);
    char *msg = NULL;
    if (sqlite3_exec(h, create_sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = thaw_err_set(err, THAW_EIO, "create core_actions: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int exec_action_log_open(struct res_db *db, int64_t run, struct exec_action_log **out,
                         struct thaw_err *err)
{
    *out = NULL;
    int rc = exec_action_log_ensure(db, err);
    if (rc < 0) return rc;
    struct exec_action_log *l = calloc(1, sizeof *l);
    if (l) l->rows = calloc(ACTION_LOG_BURST, sizeof *l->rows);
    if (!l || !l->rows) {
        free(l);
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    }
    l->db = db;
    l->run = run;
    *out = l;
    return 0;
}

static void drop_rows(struct exec_action_log *l)
{
    for (int i = 0; i < l->count; i++)
        free(l->rows[i].line);
    l->count = 0;
}

int exec_action_log_flush(struct exec_action_log *l, struct thaw_err *err)
{
    if (!l || l->count == 0) return 0;
    sqlite3 *h = res_handle(l->db);
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
        drop_rows(l);
        return rc;
    }
    if (sqlite3_prepare_v2(h, "INSERT INTO core_actions (run, seq, idx, line) VALUES (?,?,?,?)", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
        goto out;
    }
    for (int i = 0; i < l->count; i++) {
        sqlite3_bind_int64(st, 1, l->run);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)l->rows[i].seq);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)l->rows[i].idx);
        sqlite3_bind_text(st, 4, l->rows[i].line, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
            goto out;
        }
        sqlite3_reset(st);
    }
out:
    sqlite3_finalize(st);
    if (sqlite3_exec(h, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && rc == 0) {
        rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    }
    drop_rows(l);
    return rc;
}

int exec_action_log_add(struct exec_action_log *l, uint64_t seq, uint32_t idx, const char *line,
                        struct thaw_err *err)
{
    if (l->count == ACTION_LOG_BURST) {
        int rc = exec_action_log_flush(l, err);
        if (rc < 0) return rc;
    }
    char *copy = strdup(line);
    if (!copy) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    l->rows[l->count++] = (struct pending){.seq = seq, .idx = idx, .line = copy};
    return 0;
}

void exec_action_log_close(struct exec_action_log *l)
{
    if (!l) return;
    exec_action_log_flush(l, NULL);
    drop_rows(l);
    free(l->rows);
    free(l);
}

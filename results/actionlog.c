/* actionlog.c - the core_actions table (schema.sql) and the readers `thaw
 * replay` needs: the writer buffers lines and writes them in bursts inside
 * one BEGIN IMMEDIATE transaction with one prepared statement, like the
 * recorder, so the write lock is held only while a burst is written; the
 * readers walk core_events and core_actions of a run in seq order. */
#include "results.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define ACTION_LOG_BURST 20000

struct pending {
    uint64_t seq;
    uint32_t idx;
    char *line;
};

struct res_action_log {
    struct res_db *db;
    int64_t run;
    struct pending *rows;
    int count;
};

int res_action_log_open(struct res_db *db, int64_t run, struct res_action_log **out,
                        struct thaw_err *err)
{
    *out = NULL;
    if (!db) return thaw_err_set(err, THAW_EINVAL, "NULL database");
    struct res_action_log *l = calloc(1, sizeof *l);
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

static void drop_rows(struct res_action_log *l)
{
    for (int i = 0; i < l->count; i++)
        free(l->rows[i].line);
    l->count = 0;
}

int res_action_log_flush(struct res_action_log *l, struct thaw_err *err)
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
    }
    for (int i = 0; rc == 0 && i < l->count; i++) {
        sqlite3_bind_int64(st, 1, l->run);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)l->rows[i].seq);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)l->rows[i].idx);
        sqlite3_bind_text(st, 4, l->rows[i].line, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(h, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && rc == 0) {
        rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    }
    drop_rows(l);
    return rc;
}

int res_action_log_add(struct res_action_log *l, uint64_t seq, uint32_t idx, const char *line,
                       struct thaw_err *err)
{
    if (l->count == ACTION_LOG_BURST) {
        int rc = res_action_log_flush(l, err);
        if (rc < 0) return rc;
    }
    char *copy = strdup(line);
    if (!copy) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    l->rows[l->count++] = (struct pending){.seq = seq, .idx = idx, .line = copy};
    return 0;
}

void res_action_log_close(struct res_action_log *l)
{
    if (!l) return;
    res_action_log_flush(l, NULL);
    drop_rows(l);
    free(l->rows);
    free(l);
}

/* ---- readers ----------------------------------------------------------- */

static int event_kind_of(const char *name, enum core_event_kind *out)
{
    for (int k = CORE_EV_REQUEST_ARRIVED; k <= CORE_EV_DISK_FILL_FINISHED; k++)
        if (!strcmp(core_event_kind_name((enum core_event_kind)k), name)) {
            *out = (enum core_event_kind)k;
            return 0;
        }
    return -1;
}

int res_core_events_load(struct res_db *db, int64_t run, struct res_core_events *out,
                         struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           "SELECT seq, kind, t_ns, request, instance, load_id, model, node, gpu, "
                           "ok FROM core_events WHERE run = ? ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "read core_events: %s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, run);
    int rc = 0, step;
    size_t cap = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 1024;
            struct core_event *ge = realloc(out->ev, cap * sizeof *ge);
            if (ge) out->ev = ge;
            uint64_t *gs = ge ? realloc(out->seq, cap * sizeof *gs) : NULL;
            if (!gs) {
                rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
                break;
            }
            out->seq = gs;
        }
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        struct core_event *e = &out->ev[out->count];
        memset(e, 0, sizeof *e);
        if (!kind || event_kind_of(kind, &e->kind) < 0) {
            rc = thaw_err_set(err, THAW_EINVAL, "core event %lld: unknown kind \"%s\"",
                              (long long)sqlite3_column_int64(st, 0), kind ? kind : "");
            break;
        }
        out->seq[out->count] = (uint64_t)sqlite3_column_int64(st, 0);
        e->t_ns = sqlite3_column_int64(st, 2);
        e->request = (uint64_t)sqlite3_column_int64(st, 3);
        e->instance = (uint64_t)sqlite3_column_int64(st, 4);
        e->load = (uint64_t)sqlite3_column_int64(st, 5);
        e->model = sqlite3_column_int(st, 6);
        e->node = sqlite3_column_int(st, 7);
        e->gpu = sqlite3_column_int(st, 8);
        e->ok = sqlite3_column_int(st, 9) != 0;
        out->count++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "read core_events: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (rc < 0) res_core_events_free(out);
    return rc;
}

void res_core_events_free(struct res_core_events *e)
{
    free(e->ev);
    free(e->seq);
    memset(e, 0, sizeof *e);
}

struct res_action_reader {
    sqlite3_stmt *st;
};

int res_action_reader_open(struct res_db *db, int64_t run, struct res_action_reader **out,
                           struct thaw_err *err)
{
    *out = NULL;
    sqlite3 *h = res_handle(db);
    struct res_action_reader *r = calloc(1, sizeof *r);
    if (!r) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    if (sqlite3_prepare_v2(
            h, "SELECT seq, idx, line FROM core_actions WHERE run = ? ORDER BY seq, idx", -1,
            &r->st, NULL) != SQLITE_OK) {
        int rc = thaw_err_set(err, THAW_EIO, "read core_actions: %s", sqlite3_errmsg(h));
        free(r);
        return rc;
    }
    sqlite3_bind_int64(r->st, 1, run);
    *out = r;
    return 0;
}

bool res_action_reader_next(struct res_action_reader *r, uint64_t *seq, uint64_t *idx,
                            const char **line)
{
    if (!r || sqlite3_step(r->st) != SQLITE_ROW) return false;
    *seq = (uint64_t)sqlite3_column_int64(r->st, 0);
    *idx = (uint64_t)sqlite3_column_int64(r->st, 1);
    const char *text = (const char *)sqlite3_column_text(r->st, 2);
    *line = text ? text : "";
    return true;
}

void res_action_reader_close(struct res_action_reader *r)
{
    if (!r) return;
    sqlite3_finalize(r->st);
    free(r);
}

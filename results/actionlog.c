/* actionlog.c - the core_actions table (schema.sql) and the readers `thaw
 * replay` needs: the writer buffers lines and writes them in bursts inside
 * one BEGIN IMMEDIATE transaction, packed 1024 lines to a core_action_log
 * row (logpack.c), like the recorder's core events, so the write lock is
 * held only while a burst is written; the readers walk a run's events and
 * actions in seq order (actions through the schema's core_actions view). */
#include "results.h"
#include "logpack.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* Actions buffered before a burst is written (like the recorder's rows). */
#define ACTION_LOG_BURST 20000

struct res_action_log {
    struct res_db *db;
    int64_t run;
    struct logpack pack;
};

int res_action_log_open(struct res_db *db, int64_t run, struct res_action_log **out,
                        struct thaw_err *err)
{
    *out = NULL;
    if (!db) return thaw_err_set(err, THAW_EINVAL, "NULL database");
    struct res_action_log *l = calloc(1, sizeof *l);
    if (!l) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    l->db = db;
    l->run = run;
    *out = l;
    return 0;
}

int res_action_log_flush(struct res_action_log *l, struct thaw_err *err)
{
    if (!l || logpack_pending(&l->pack) == 0) return 0;
    sqlite3 *h = res_handle(l->db);
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
        logpack_free(&l->pack);
        return rc;
    }
    if (sqlite3_prepare_v2(h,
                           "INSERT INTO core_action_log (run, first_seq, last_seq, data) "
                           "VALUES (?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
    if (rc == 0) rc = logpack_write(&l->pack, h, st, "core_actions", err);
    logpack_free(&l->pack);
    sqlite3_finalize(st);
    if (sqlite3_exec(h, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && rc == 0) {
        rc = thaw_err_set(err, THAW_EIO, "core_actions: %s", sqlite3_errmsg(h));
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

int res_action_log_add(struct res_action_log *l, uint64_t seq, uint32_t idx, const char *line,
                       struct thaw_err *err)
{
    if (logpack_pending(&l->pack) >= ACTION_LOG_BURST) {
        int rc = res_action_log_flush(l, err);
        if (rc < 0) return rc;
    }
    if (logpack_action(&l->pack, l->run, seq, idx, line ? line : "") < 0)
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    return 0;
}

void res_action_log_close(struct res_action_log *l)
{
    if (!l) return;
    res_action_log_flush(l, NULL);
    logpack_free(&l->pack);
    free(l);
}

/* ---- readers ----------------------------------------------------------- */

/* seq order, whatever order the batches' items came in (a migrated log's
 * batches hold their items in the order SQLite grouped them). */
struct seq_event {
    uint64_t seq;
    struct core_event ev;
};

static int cmp_seq_event(const void *a, const void *b)
{
    const struct seq_event *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int sort_by_seq(struct res_core_events *out)
{
    bool sorted = true;
    for (size_t i = 1; i < out->count && sorted; i++)
        sorted = out->seq[i - 1] < out->seq[i];
    if (sorted) return 0;
    struct seq_event *t = malloc(out->count * sizeof *t);
    if (!t) return THAW_ENOMEM;
    for (size_t i = 0; i < out->count; i++)
        t[i] = (struct seq_event){out->seq[i], out->ev[i]};
    qsort(t, out->count, sizeof *t, cmp_seq_event);
    for (size_t i = 0; i < out->count; i++) {
        out->seq[i] = t[i].seq;
        out->ev[i] = t[i].ev;
    }
    free(t);
    return 0;
}

int res_core_events_load(struct res_db *db, int64_t run, struct res_core_events *out,
                         struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "SELECT data FROM core_event_log WHERE run = ? ORDER BY first_seq",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "read core_events: %s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, run);
    int rc = 0, step;
    size_t cap = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = logpack_parse_events((const char *)sqlite3_column_text(st, 0), &out->ev, &out->seq,
                                  &out->count, &cap, err);
    if (rc == 0 && step != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "read core_events: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (rc == 0 && sort_by_seq(out) < 0) rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
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

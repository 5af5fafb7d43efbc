/* rows.c - a run's rows read back (loads, instance events, faults, GPUs),
 * for the charts of `thaw plot` and the tables `thaw sim` prints. Each
 * reader walks the rows in a stated order and hands one typed row at a time
 * to a callback, so a run of any size costs one row of memory here and the
 * caller keeps only what it needs. Strings in a row are valid during the
 * callback only. */
#include "results.h"

#include <math.h>
#include <string.h>

#include <sqlite3.h>

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Prepares sql with the run bound as ?1. */
static int rows_prepare(struct res_db *db, int64_t run, const char *sql, const char *what,
                        sqlite3_stmt **st, struct thaw_err *err)
{
    if (!db) return thaw_err_set(err, THAW_EINVAL, "%s: no database", what);
    sqlite3 *h = res_handle(db);
    if (sqlite3_prepare_v2(h, sql, -1, st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "%s: %s", what, sqlite3_errmsg(h));
    sqlite3_bind_int64(*st, 1, run);
    return 0;
}

/* The end of a walk: rc from the callback, or the step's error. */
static int rows_finish(struct res_db *db, sqlite3_stmt *st, int rc, int step, const char *what,
                       struct thaw_err *err)
{
    if (rc == 0 && step != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "%s: %s", what, sqlite3_errmsg(res_handle(db)));
    sqlite3_finalize(st);
    return rc;
}

int res_rows_loads(struct res_db *db, int64_t run, enum res_load_order order,
                   int (*fn)(const struct res_stored_load *, void *), void *ctx,
                   struct thaw_err *err)
{
    /* left: only for a load without a finish, where a chart needs to know
     * when its instance went away. */
#define LOADS_SELECT                                                                               \
    "SELECT l.load_id, l.instance, l.model, l.gpu, l.gpu_name, l.node, l.source, l.reason, "       \
    "l.enqueued, l.started, l.finished, l.bytes, l.vram, l.deadline, l.outcome, "                  \
    "CASE WHEN l.finished IS NULL THEN (SELECT min(e.t) FROM instance_events e WHERE e.run = "     \
    "l.run AND e.instance = l.instance AND e.t >= l.started AND e.state IN ('EVICTED', "           \
    "'FAILED')) END, l.error FROM loads l WHERE l.run = ?1 "
    static const char *const sql[] = {
        [RES_LOADS_BY_START] = LOADS_SELECT "ORDER BY l.started IS NULL, l.started, l.load_id",
        [RES_LOADS_BY_ENQUEUE] = LOADS_SELECT "ORDER BY l.enqueued, l.load_id",
    };
#undef LOADS_SELECT
    if (!fn || (unsigned)order > RES_LOADS_BY_ENQUEUE)
        return thaw_err_set(err, THAW_EINVAL, "loads: bad arguments");
    sqlite3_stmt *st;
    int rc = rows_prepare(db, run, sql[order], "loads", &st, err), step;
    if (rc < 0) return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct res_stored_load l = {
            .load_id = sqlite3_column_int64(st, 0),
            .instance = sqlite3_column_int64(st, 1),
            .model = col_text(st, 2),
            .gpu = sqlite3_column_int(st, 3),
            .gpu_name = col_text(st, 4),
            .node = col_text(st, 5),
            .source = col_text(st, 6),
            .reason = col_text(st, 7),
            .enqueued_s = sqlite3_column_double(st, 8),
            .started_s = col_real(st, 9),
            .finished_s = col_real(st, 10),
            .bytes = (uint64_t)sqlite3_column_int64(st, 11),
            .vram_bytes = (uint64_t)sqlite3_column_int64(st, 12),
            .deadline_s = col_real(st, 13),
            .outcome = col_text(st, 14),
            .left_s = col_real(st, 15),
            .error = sqlite3_column_type(st, 16) == SQLITE_NULL ? NULL : col_text(st, 16),
        };
        if ((rc = fn(&l, ctx)) != 0) break;
    }
    return rows_finish(db, st, rc, step, "loads", err);
}

int res_rows_ievents(struct res_db *db, int64_t run, enum res_ievent_order order,
                     int (*fn)(const struct res_stored_ievent *, void *), void *ctx,
                     struct thaw_err *err)
{
    /* A zero vram column (runs recorded before it existed) falls back to
     * the largest vram of the instance's loads; the grouped subquery is
     * read once, not once per event. */
#define IEVENTS_SELECT                                                                             \
    "SELECT e.instance, e.model, e.gpu, e.state, e.t, CASE WHEN e.vram > 0 THEN e.vram ELSE "      \
    "coalesce(l.vram, 0) END FROM instance_events e LEFT JOIN (SELECT instance, max(vram) AS "     \
    "vram FROM loads WHERE run = ?1 GROUP BY instance) l ON l.instance = e.instance "              \
    "WHERE e.run = ?1 "
    static const char *const sql[] = {
        [RES_IEVENTS_BY_INSTANCE] = IEVENTS_SELECT "ORDER BY e.instance, e.t, e.rowid",
        [RES_IEVENTS_BY_GPU] = IEVENTS_SELECT "ORDER BY e.gpu, e.t, e.rowid",
    };
#undef IEVENTS_SELECT
    if (!fn || (unsigned)order > RES_IEVENTS_BY_GPU)
        return thaw_err_set(err, THAW_EINVAL, "instance events: bad arguments");
    sqlite3_stmt *st;
    int rc = rows_prepare(db, run, sql[order], "instance events", &st, err), step;
    if (rc < 0) return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct res_stored_ievent e = {
            .instance = sqlite3_column_int64(st, 0),
            .model = col_text(st, 1),
            .gpu = sqlite3_column_int(st, 2),
            .state = col_text(st, 3),
            .t_s = sqlite3_column_double(st, 4),
            .vram_bytes = (uint64_t)sqlite3_column_int64(st, 5),
        };
        if ((rc = fn(&e, ctx)) != 0) break;
    }
    return rows_finish(db, st, rc, step, "instance events", err);
}

int res_rows_faults(struct res_db *db, int64_t run,
                    int (*fn)(const struct res_stored_fault *, void *), void *ctx,
                    struct thaw_err *err)
{
    if (!fn) return thaw_err_set(err, THAW_EINVAL, "faults: no callback");
    sqlite3_stmt *st;
    int rc = rows_prepare(db, run,
                          "SELECT kind, target, t, recovered FROM faults WHERE run = ?1 ORDER BY t",
                          "faults", &st, err),
        step;
    if (rc < 0) return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct res_stored_fault f = {col_text(st, 0), col_text(st, 1), sqlite3_column_double(st, 2),
                                     col_real(st, 3)};
        if ((rc = fn(&f, ctx)) != 0) break;
    }
    return rows_finish(db, st, rc, step, "faults", err);
}

int res_rows_gpus(struct res_db *db, int64_t run, int (*fn)(const struct res_stored_gpu *, void *),
                  void *ctx, struct thaw_err *err)
{
    if (!fn) return thaw_err_set(err, THAW_EINVAL, "gpus: no callback");
    sqlite3_stmt *st;
    int rc = rows_prepare(
            db, run,
            "SELECT gpu, name, node, vram FROM gpus WHERE run = ?1 UNION ALL "
            "SELECT gpu, min(gpu_name), min(node), 0 FROM loads WHERE run = ?1 AND gpu >= 0 AND "
            "NOT "
            "EXISTS (SELECT 1 FROM gpus WHERE run = ?1) GROUP BY gpu UNION ALL "
            "SELECT gpu, 'gpu' || gpu, '', 0 FROM instance_events WHERE run = ?1 AND NOT "
            "EXISTS (SELECT 1 FROM gpus WHERE run = ?1) AND gpu NOT IN (SELECT gpu FROM "
            "loads WHERE run = ?1) GROUP BY gpu ORDER BY 1",
            "gpus", &st, err),
        step;
    if (rc < 0) return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct res_stored_gpu g = {sqlite3_column_int(st, 0), col_text(st, 1), col_text(st, 2),
                                   (uint64_t)sqlite3_column_int64(st, 3)};
        if ((rc = fn(&g, ctx)) != 0) break;
    }
    return rows_finish(db, st, rc, step, "gpus", err);
}

int res_rows_node_index(struct res_db *db, int64_t run, const char *node, int *idx,
                        struct thaw_err *err)
{
    if (!node || !idx) return thaw_err_set(err, THAW_EINVAL, "node index: NULL argument");
    sqlite3_stmt *st;
    /* The nodes before this one: those with a GPU of a lower index. NULL
     * when the node has no GPU in the run. */
    int rc = rows_prepare(db, run,
                          "SELECT CASE WHEN EXISTS (SELECT 1 FROM gpus WHERE run = ?1 AND node = "
                          "?2) THEN (SELECT count(DISTINCT node) FROM gpus WHERE run = ?1 AND gpu "
                          "< (SELECT min(gpu) FROM gpus WHERE run = ?1 AND node = ?2)) END",
                          "node index", &st, err);
    if (rc < 0) return rc;
    sqlite3_bind_text(st, 2, node, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *idx = sqlite3_column_int(st, 0);
    else if (step == SQLITE_ROW || step == SQLITE_DONE)
        rc = thaw_err_set(err, THAW_ENOENT, "run %lld has no node \"%s\"", (long long)run, node);
    else
        rc = thaw_err_set(err, THAW_EIO, "node index: %s", sqlite3_errmsg(res_handle(db)));
    sqlite3_finalize(st);
    return rc;
}

int res_rows_last_s(struct res_db *db, int64_t run, double *t, struct thaw_err *err)
{
    if (!t) return thaw_err_set(err, THAW_EINVAL, "last time: NULL argument");
    sqlite3_stmt *st;
    int rc = rows_prepare(
        db, run,
        "SELECT max(coalesce((SELECT max(max(enqueued, started, coalesce(finished, 0))) "
        "FROM loads WHERE run = ?1), 0), "
        "coalesce((SELECT max(t) FROM instance_events WHERE run = ?1), 0), "
        "coalesce((SELECT max(max(t, coalesce(recovered, 0))) FROM faults "
        "WHERE run = ?1), 0))",
        "last time", &st, err);
    if (rc < 0) return rc;
    int step = sqlite3_step(st);
    *t = 0;
    if (step == SQLITE_ROW)
        *t = sqlite3_column_double(st, 0);
    else
        rc = thaw_err_set(err, THAW_EIO, "last time: %s", sqlite3_errmsg(res_handle(db)));
    sqlite3_finalize(st);
    return rc;
}

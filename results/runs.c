/* runs.c - readers of the runs table: who a run is (res_run_meta_load) and
 * which runs make up a sweep. One row per run, so each reader is one small
 * query; the commands and the charts share them instead of selecting runs
 * columns of their own. */
#include "results.h"

#include <math.h>
#include <stdlib.h>
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

int res_run_meta_load(struct res_db *db, int64_t id, struct res_run_meta *r, struct thaw_err *err)
{
    if (!db || !r) return thaw_err_set(err, THAW_EINVAL, "run meta: NULL argument");
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           "SELECT mode, scenario, scenario_sha256, seed, policy, backend, status, "
                           "overrides, params, coalesce(sweep_id, ''), duration_s, "
                           "(julianday(finished_at) - julianday(started_at)) * 86400.0 "
                           "FROM runs WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "%s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return thaw_err_set(err, THAW_ENOENT, "no run %lld", (long long)id);
    }
    memset(r, 0, sizeof *r);
    r->id = id;
    snprintf(r->mode, sizeof r->mode, "%s", col_text(st, 0));
    snprintf(r->scenario, sizeof r->scenario, "%s", col_text(st, 1));
    snprintf(r->sha, sizeof r->sha, "%s", col_text(st, 2));
    r->seed = sqlite3_column_int64(st, 3);
    snprintf(r->policy, sizeof r->policy, "%s", col_text(st, 4));
    snprintf(r->backend, sizeof r->backend, "%s", col_text(st, 5));
    snprintf(r->status, sizeof r->status, "%s", col_text(st, 6));
    snprintf(r->overrides, sizeof r->overrides, "%s", col_text(st, 7));
    snprintf(r->params, sizeof r->params, "%s", col_text(st, 8));
    snprintf(r->sweep_id, sizeof r->sweep_id, "%s", col_text(st, 9));
    r->duration_s = col_real(st, 10);
    r->wall_s = col_real(st, 11);
    sqlite3_finalize(st);
    return 0;
}

int res_sweep_runs(struct res_db *db, const char *sweep_id, bool complete_only, int64_t **ids,
                   int *count, struct thaw_err *err)
{
    if (!db || !sweep_id || !ids || !count)
        return thaw_err_set(err, THAW_EINVAL, "sweep runs: NULL argument");
    *ids = NULL;
    *count = 0;
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           complete_only ? "SELECT id FROM runs WHERE sweep_id = ?1 AND status = "
                                           "'complete' ORDER BY id"
                                         : "SELECT id FROM runs WHERE sweep_id = ?1 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "sweep runs: %s", sqlite3_errmsg(h));
    sqlite3_bind_text(st, 1, sweep_id, -1, SQLITE_TRANSIENT);
    int rc = 0, step, cap = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? 2 * cap : 64;
            int64_t *grown = realloc(*ids, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = thaw_err_set(err, THAW_ENOMEM, "sweep runs: out of memory");
                break;
            }
            *ids = grown;
        }
        (*ids)[(*count)++] = sqlite3_column_int64(st, 0);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "sweep runs: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (rc < 0) {
        free(*ids);
        *ids = NULL;
        *count = 0;
    }
    return rc;
}

int res_sweep_latest(struct res_db *db, char *out, size_t len, struct thaw_err *err)
{
    if (!db || !out || len == 0)
        return thaw_err_set(err, THAW_EINVAL, "latest sweep: NULL argument");
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           "SELECT sweep_id FROM runs WHERE sweep_id IS NOT NULL ORDER BY id "
                           "DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "latest sweep: %s", sqlite3_errmsg(h));
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW)
        snprintf(out, len, "%s", col_text(st, 0));
    else if (step == SQLITE_DONE)
        rc = thaw_err_set(err, THAW_ENOENT, "the database holds no sweep yet");
    else
        rc = thaw_err_set(err, THAW_EIO, "latest sweep: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return rc;
}

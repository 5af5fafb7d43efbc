/* repeats.c - the runs that repeat a run: same mode, scenario file (sha256),
 * seed, policy, overrides and backend, complete. `thaw validate` measures
 * the executor's own run-to-run noise on them (the noise floor below which
 * no simulator can agree with it). */
#include "results.h"

#include <sqlite3.h>
#include <stdlib.h>

int res_run_repeats(struct res_db *db, int64_t run, int64_t **ids, int *count, struct thaw_err *err)
{
    *ids = NULL;
    *count = 0;
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           "SELECT r.id FROM runs r JOIN runs me ON me.id = ?1 WHERE r.mode = "
                           "me.mode AND r.scenario_sha256 = me.scenario_sha256 AND r.seed = "
                           "me.seed AND r.policy = me.policy AND r.overrides = me.overrides AND "
                           "r.backend = me.backend AND r.status = 'complete' ORDER BY r.id",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "repeats: %s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, run);
    int64_t *v = NULL;
    int n = 0, cap = 0, s, rc = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            int64_t *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                rc = thaw_err_set(err, THAW_ENOMEM, "repeats: out of memory");
                break;
            }
            v = nv;
        }
        v[n++] = sqlite3_column_int64(st, 0);
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "repeats: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *ids = v;
    *count = n;
    return 0;
}

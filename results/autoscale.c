/* autoscale.c - why a run scaled: the autoscaler's decisions of a run
 * (autoscale_decisions, written from the core's AUTOSCALE actions by the
 * shell through res_add_autoscale_decision) as a table, one line per
 * decision in the order taken, for `thaw report --autoscaler`. */
#include "results.h"

#include <sqlite3.h>

int res_autoscale_print(struct res_db *rdb, int64_t run, FILE *out, int *rows, struct thaw_err *err)
{
    if (!rdb || !out) return thaw_err_set(err, THAW_EINVAL, "autoscaler: NULL argument");
    sqlite3 *db = res_handle(rdb);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT t, model, waiting, ready, loading, queued, excess, wanted, "
                           "asked, dropped, evicted FROM autoscale_decisions WHERE run = ? "
                           "ORDER BY rowid",
                           -1, &q, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "autoscaler: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(q, 1, run);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n++ == 0)
            fprintf(out,
                    "run %lld autoscaler decisions (supply = ready + loading + queued; excess = "
                    "waiting beyond the slots loading and queued bring)\n"
                    "%10s  %-24s %7s %5s %7s %6s %6s %6s %5s %7s %7s\n",
                    (long long)run, "t_s", "model", "waiting", "ready", "loading", "queued",
                    "excess", "wanted", "asked", "dropped", "evicted");
        const unsigned char *m = sqlite3_column_text(q, 1);
        fprintf(out, "%10.3f  %-24s %7lld %5d %7d %6d %6lld %6d %5d %7d %7d\n",
                sqlite3_column_double(q, 0), m ? (const char *)m : "",
                (long long)sqlite3_column_int64(q, 2), sqlite3_column_int(q, 3),
                sqlite3_column_int(q, 4), sqlite3_column_int(q, 5),
                (long long)sqlite3_column_int64(q, 6), sqlite3_column_int(q, 7),
                sqlite3_column_int(q, 8), sqlite3_column_int(q, 9), sqlite3_column_int(q, 10));
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return thaw_err_set(err, THAW_EIO, "autoscaler: %s", sqlite3_errmsg(db));
    if (n == 0)
        fprintf(out, "run %lld: no autoscaler decisions (autoscaler off, or nothing waited)\n",
                (long long)run);
    if (rows) *rows = n;
    return 0;
}

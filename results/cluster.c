/* cluster.c - the whole cluster over time, for `thaw plot cluster`: every
 * change of four counts as a (time, series, delta) step, in time order, so
 * a chart adds them up and never holds a run's rows. READY instances count
 * from an instance's first READY to its first EVICTED or FAILED after it
 * (DRAINING still serves); queued loads from enqueued to started (a load
 * cancelled while queued leaves at its finish when one is stored); waiting
 * requests from arrived to dispatched; VRAM as vram_util_mean counts it
 * (results/metrics.c): from the first LOADING or READY to the first EVICTED
 * or FAILED, the event's vram or, when 0, the largest of its loads'. */
#include "results.h"

#include <sqlite3.h>

static const char cluster_sql[] =
    "WITH ready AS (SELECT instance, min(t) AS r FROM instance_events "
    "  WHERE run = ?1 AND state = 'READY' GROUP BY instance), "
    "gone AS (SELECT e.instance, min(e.t) AS g FROM instance_events e JOIN ready USING (instance) "
    "  WHERE e.run = ?1 AND e.state IN ('EVICTED', 'FAILED') AND e.t >= ready.r "
    "  GROUP BY e.instance), "
    "held AS (SELECT e.instance, min(e.t) AS h, CASE WHEN max(e.vram) > 0 THEN max(e.vram) ELSE "
    "  (SELECT coalesce(max(l.vram), 0) FROM loads l WHERE l.run = ?1 AND l.instance = "
    "  e.instance) END AS v FROM instance_events e "
    "  WHERE e.run = ?1 AND e.state IN ('LOADING', 'READY') GROUP BY e.instance), "
    "freed AS (SELECT e.instance, min(e.t) AS f FROM instance_events e JOIN held USING (instance) "
    "  WHERE e.run = ?1 AND e.state IN ('EVICTED', 'FAILED') AND e.t >= held.h "
    "  GROUP BY e.instance) "
    "SELECT t, series, delta FROM ("
    "  SELECT r AS t, 0 AS series, 1.0 AS delta FROM ready "
    "  UNION ALL SELECT g, 0, -1.0 FROM gone "
    "  UNION ALL SELECT enqueued, 1, 1.0 FROM loads WHERE run = ?1 "
    "  UNION ALL SELECT coalesce(started, finished), 1, -1.0 FROM loads "
    "    WHERE run = ?1 AND coalesce(started, finished) IS NOT NULL "
    "  UNION ALL SELECT arrived, 2, 1.0 FROM requests WHERE run = ?1 "
    "  UNION ALL SELECT dispatched, 2, -1.0 FROM requests WHERE run = ?1 AND dispatched IS NOT "
    "    NULL "
    "  UNION ALL SELECT h, 3, v / 1073741824.0 FROM held "
    "  UNION ALL SELECT f, 3, -held.v / 1073741824.0 FROM freed JOIN held USING (instance)"
    ") ORDER BY t, series, delta";

int res_cluster_steps(struct res_db *db, int64_t run,
                      int (*fn)(const struct res_cluster_step *, void *), void *ctx,
                      struct thaw_err *err)
{
    if (!db || !fn) return thaw_err_set(err, THAW_EINVAL, "cluster: no database or callback");
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, cluster_sql, -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "cluster: %s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, run);
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct res_cluster_step s = {sqlite3_column_double(st, 0),
                                     (enum res_cluster_series)sqlite3_column_int(st, 1),
                                     sqlite3_column_double(st, 2)};
        if ((rc = fn(&s, ctx)) != 0) break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "cluster: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return rc;
}

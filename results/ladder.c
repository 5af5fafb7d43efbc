/* ladder.c - the storage ladder's rows and readers: bandwidth in use per
 * resource over time (bandwidth_samples), each load's weight copy
 * (load_copies), the loads table's source vocabulary for databases written
 * before the ladder, and the ladder's summary (hit rate per rung, bytes per
 * source, time waited on the shared store). Rows are buffered by the
 * writer and go in with one transaction at the end of the run, before the
 * run is marked complete (schema.sql has the column meanings). */
#include "results.h"
#include "results_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- migration ---------------------------------------------------------- */

int res_ladder_migrate(sqlite3 *db, struct thaw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                           "name = 'loads'",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "reading the loads table: %s", sqlite3_errmsg(db));
    bool old = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *sql = (const char *)sqlite3_column_text(st, 0);
        old = sql && !strstr(sql, "'peer'");
    }
    sqlite3_finalize(st);
    if (!old) return 0;
    /* A CHECK cannot change in place: the table is rebuilt (SQLite's
     * 12-step recipe), keeping every row and column; legacy_alter_table so
     * the rename leaves the views that name loads alone. */
    bool has_error = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('loads') WHERE name = 'error'", -1,
                           &st, NULL) == SQLITE_OK)
        has_error = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    const char *cols = has_error
                           ? "run, load_id, model, instance, gpu, gpu_name, node, source, reason, "
                             "enqueued, started, finished, bytes, vram, deadline, outcome, error, "
                             "priority"
                           : "run, load_id, model, instance, gpu, gpu_name, node, source, reason, "
                             "enqueued, started, finished, bytes, vram, deadline, outcome, "
                             "priority";
    char sql[2048];
    snprintf(sql, sizeof sql,
             "PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON; BEGIN IMMEDIATE;"
             "CREATE TABLE loads_ladder ("
             " run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
             " load_id INTEGER NOT NULL, model TEXT NOT NULL, instance INTEGER NOT NULL,"
             " gpu INTEGER NOT NULL, gpu_name TEXT NOT NULL, node TEXT NOT NULL,"
             " source TEXT CHECK (source IN ('storage', 'shm', 'disk', 'peer', 'store')),"
             " reason TEXT NOT NULL, enqueued REAL NOT NULL, started REAL, finished REAL,"
             " bytes INTEGER NOT NULL, vram INTEGER NOT NULL, deadline REAL,"
             " outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'cancelled', 'in_flight',"
             " 'queued')), %s priority INTEGER, PRIMARY KEY (run, load_id));"
             "INSERT INTO loads_ladder (%s) SELECT %s FROM loads ORDER BY rowid;"
             "DROP TABLE loads; ALTER TABLE loads_ladder RENAME TO loads; COMMIT;",
             has_error ? "error TEXT," : "", cols, cols);
    char *msg = NULL;
    int rc = 0;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rc = thaw_err_set(err, THAW_EIO, "migrating loads.source: %s",
                          msg ? msg : sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_free(msg);
    sqlite3_exec(db, "PRAGMA legacy_alter_table = OFF; PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    return rc;
}

/* ---- the writer ----------------------------------------------------------- */

struct bw_row {
    int64_t t_ns;
    int resource; /* index into names */
    double used, cap;
};

struct res_ladder_rec {
    struct res_db *db;
    int64_t run;
    char **names; /* "kind:name" per resource id */
    int name_count;
    struct bw_row *bw;
    size_t bw_count, bw_cap;
    size_t *last; /* per resource id: its latest row + 1 (0: none) */
    struct res_copy_row *copies;
    size_t copy_count, copy_cap;
};

int res_ladder_rec_new(struct res_db *db, int64_t run, struct res_ladder_rec **out,
                       struct thaw_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    (*out)->db = db;
    (*out)->run = run;
    return 0;
}

void res_ladder_rec_free(struct res_ladder_rec *r)
{
    if (!r) return;
    for (int i = 0; i < r->name_count; i++)
        free(r->names[i]);
    free(r->names);
    free(r->last);
    free(r->bw);
    free(r->copies);
    free(r);
}

int res_ladder_rec_resource(struct res_ladder_rec *r, int id, const char *kind, const char *name,
                            struct thaw_err *err)
{
    if (id < 0) return 0;
    if (id >= r->name_count) {
        char **grown = realloc(r->names, (size_t)(id + 1) * sizeof *grown);
        if (!grown) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        r->names = grown;
        size_t *last = realloc(r->last, (size_t)(id + 1) * sizeof *last);
        if (!last) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        r->last = last;
        for (int i = r->name_count; i <= id; i++) {
            grown[i] = NULL;
            last[i] = 0;
        }
        r->name_count = id + 1;
    }
    size_t len = strlen(kind) + strlen(name) + 2;
    char *s = malloc(len);
    if (!s) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    snprintf(s, len, "%s:%s", kind, name);
    free(r->names[id]);
    r->names[id] = s;
    return 0;
}

bool res_ladder_rec_named(const struct res_ladder_rec *r, int id)
{
    return id >= 0 && id < r->name_count && r->names[id];
}

int res_ladder_rec_rate(struct res_ladder_rec *r, int64_t t_ns, int id, double used_bps,
                        double capacity_bps, struct thaw_err *err)
{
    if (!res_ladder_rec_named(r, id)) return 0;
    /* several changes at one instant (flows starting or ending together)
     * leave one row: the rate the instant settled on */
    size_t prev = r->last[id];
    if (prev && r->bw[prev - 1].t_ns == t_ns) {
        r->bw[prev - 1].used = used_bps;
        return 0;
    }
    if (r->bw_count == r->bw_cap) {
        size_t cap = r->bw_cap ? r->bw_cap * 2 : 256;
        struct bw_row *grown = realloc(r->bw, cap * sizeof *grown);
        if (!grown) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        r->bw = grown;
        r->bw_cap = cap;
    }
    r->bw[r->bw_count++] = (struct bw_row){t_ns, id, used_bps, capacity_bps};
    r->last[id] = r->bw_count;
    return 0;
}

int res_ladder_rec_copy(struct res_ladder_rec *r, const struct res_copy_row *row,
                        struct thaw_err *err)
{
    if (r->copy_count == r->copy_cap) {
        size_t cap = r->copy_cap ? r->copy_cap * 2 : 64;
        struct res_copy_row *grown = realloc(r->copies, cap * sizeof *grown);
        if (!grown) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        r->copies = grown;
        r->copy_cap = cap;
    }
    r->copies[r->copy_count++] = *row;
    return 0;
}

int res_ladder_rec_flush(struct res_ladder_rec *r, struct thaw_err *err)
{
    if (!r || !r->db || (r->bw_count == 0 && r->copy_count == 0)) return 0;
    sqlite3 *db = res_handle(r->db);
    bool own = sqlite3_get_autocommit(db) != 0;
    if (own && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "bandwidth rows: %s", sqlite3_errmsg(db));
    sqlite3_stmt *bw = NULL, *cp = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO bandwidth_samples (run, t, resource, kind, used_bps, "
                           "capacity_bps) VALUES (?,?,?,?,?,?)",
                           -1, &bw, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO load_copies (run, load_id, source, peer_gpu, "
                           "bytes, copy_started, copy_finished, lone_s) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &cp, NULL) != SQLITE_OK)
        rc = thaw_err_set(err, THAW_EIO, "bandwidth rows: %s", sqlite3_errmsg(db));
    for (size_t i = 0; rc == 0 && i < r->bw_count; i++) {
        const struct bw_row *b = &r->bw[i];
        const char *name = r->names[b->resource];
        const char *colon = strchr(name, ':');
        sqlite3_reset(bw);
        sqlite3_bind_int64(bw, 1, r->run);
        sqlite3_bind_double(bw, 2, (double)b->t_ns / 1e9);
        sqlite3_bind_text(bw, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(bw, 4, name, colon ? (int)(colon - name) : -1, SQLITE_STATIC);
        sqlite3_bind_double(bw, 5, b->used);
        sqlite3_bind_double(bw, 6, b->cap);
        if (sqlite3_step(bw) != SQLITE_DONE)
            rc = thaw_err_set(err, THAW_EIO, "bandwidth rows: %s", sqlite3_errmsg(db));
    }
    for (size_t i = 0; rc == 0 && i < r->copy_count; i++) {
        const struct res_copy_row *c = &r->copies[i];
        sqlite3_reset(cp);
        sqlite3_bind_int64(cp, 1, r->run);
        sqlite3_bind_int64(cp, 2, (sqlite3_int64)c->load_id);
        sqlite3_bind_text(cp, 3, core_source_name(c->source), -1, SQLITE_STATIC);
        sqlite3_bind_int(cp, 4, c->peer_gpu);
        sqlite3_bind_int64(cp, 5, (sqlite3_int64)c->bytes);
        sqlite3_bind_double(cp, 6, (double)c->started_ns / 1e9);
        sqlite3_bind_double(cp, 7, (double)c->finished_ns / 1e9);
        sqlite3_bind_double(cp, 8, c->lone_s);
        if (sqlite3_step(cp) != SQLITE_DONE)
            rc = thaw_err_set(err, THAW_EIO, "load copy rows: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(bw);
    sqlite3_finalize(cp);
    if (own) sqlite3_exec(db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    if (rc == 0) {
        r->bw_count = r->copy_count = 0;
        for (int i = 0; i < r->name_count; i++)
            r->last[i] = 0;
    }
    return rc;
}

/* ---- readers ------------------------------------------------------------- */

int res_ladder_summary(struct res_db *rdb, int64_t run, struct res_ladder_summary *out,
                       struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = res_handle(rdb);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT source, count(*), coalesce(sum(bytes), 0) FROM loads "
                           "WHERE run = ?1 AND started IS NOT NULL AND source IS NOT NULL "
                           "GROUP BY source",
                           -1, &q, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "ladder summary: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(q, 1, run);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *src = (const char *)sqlite3_column_text(q, 0);
        for (int k = 0; k < RES_LADDER_SOURCES; k++)
            if (src && !strcmp(src, core_source_name((enum core_source)k))) {
                out->loads[k] = sqlite3_column_int64(q, 1);
                out->bytes[k] = (uint64_t)sqlite3_column_int64(q, 2);
                out->started += out->loads[k];
            }
    }
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*), coalesce(sum(max(copy_finished - copy_started - "
                           "lone_s, 0)), 0), coalesce(max(max(copy_finished - copy_started - "
                           "lone_s, 0)), 0) FROM load_copies WHERE run = ?1 AND source = 'store'",
                           -1, &q, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "ladder summary: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(q, 1, run);
    if (sqlite3_step(q) == SQLITE_ROW) {
        out->store_copies = sqlite3_column_int64(q, 0);
        out->store_wait_total_s = sqlite3_column_double(q, 1);
        out->store_wait_max_s = sqlite3_column_double(q, 2);
    }
    sqlite3_finalize(q);
    return 0;
}

int res_ladder_print(struct res_db *db, int64_t run, FILE *out, struct thaw_err *err)
{
    struct res_ladder_summary s;
    int rc = res_ladder_summary(db, run, &s, err);
    if (rc < 0) return rc;
    fprintf(out, "run %lld storage ladder (loads started: %lld)\n", (long long)run,
            (long long)s.started);
    fprintf(out, "%-8s %7s %9s %14s\n", "source", "loads", "hit_rate", "bytes");
    for (int k = 0; k < RES_LADDER_SOURCES; k++) {
        if (s.loads[k] == 0) continue;
        fprintf(out, "%-8s %7lld %9.3f %14llu\n", core_source_name((enum core_source)k),
                (long long)s.loads[k], s.started ? (double)s.loads[k] / (double)s.started : 0.0,
                (unsigned long long)s.bytes[k]);
    }
    if (s.store_copies > 0)
        fprintf(out,
                "waited on the shared store: %.3f s in all, %.3f s per load from a store "
                "(%lld), %.3f s at most\n",
                s.store_wait_total_s, s.store_wait_total_s / (double)s.store_copies,
                (long long)s.store_copies, s.store_wait_max_s);
    return 0;
}

int res_bandwidth_series(struct res_db *rdb, int64_t run, const char *kinds,
                         int (*fn)(const char *resource, double t, double used_bps,
                                   double capacity_bps, void *ctx),
                         void *ctx, struct thaw_err *err)
{
    sqlite3 *db = res_handle(rdb);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT resource, t, used_bps, capacity_bps FROM bandwidth_samples "
                           "WHERE run = ?1 AND (?2 IS NULL OR instr(',' || ?2 || ',', ',' || "
                           "kind || ',') > 0) ORDER BY resource, t, rowid",
                           -1, &q, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "bandwidth: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(q, 1, run);
    if (kinds)
        sqlite3_bind_text(q, 2, kinds, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 2);
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW)
        rc = fn((const char *)sqlite3_column_text(q, 0), sqlite3_column_double(q, 1),
                sqlite3_column_double(q, 2), sqlite3_column_double(q, 3), ctx);
    if (rc == 0 && step != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "bandwidth: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return rc;
}

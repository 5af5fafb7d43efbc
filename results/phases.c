/* phases.c - the load_phases rows: a buffered writer a driver feeds one
 * phase at a time (its own statement and transactions, beside the
 * recorder's rows rather than inside them, so the recorder's buffer is not
 * widened for a table most readers never look at), and the reader that
 * `thaw calibrate` fits from. */
#include "results.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PHASES_BURST 4096

static const char *const phase_names[RES_PHASE_COUNT] = {"queued", "init",   "startup", "alloc",
                                                         "copy",   "verify", "warmup"};

const char *res_phase_name(enum res_phase p)
{
    return (int)p >= 0 && p < RES_PHASE_COUNT ? phase_names[p] : NULL;
}

int res_phase_parse(const char *name)
{
    for (int i = 0; name && i < RES_PHASE_COUNT; i++)
        if (!strcmp(name, phase_names[i])) return i;
    return -1;
}

struct phase_buf {
    struct res_load_phase p;
    char name[CORE_NAME_MAX];
};

struct res_phases {
    struct res_db *db;
    int64_t run;
    struct phase_buf *rows;
    int count;
};

int res_phases_new(struct res_db *db, int64_t run, struct res_phases **out, struct thaw_err *err)
{
    *out = NULL;
    if (!db || run <= 0) return thaw_err_set(err, THAW_EINVAL, "load phases: no run to write to");
    struct res_phases *w = calloc(1, sizeof *w);
    if (w) w->rows = calloc(PHASES_BURST, sizeof *w->rows);
    if (!w || !w->rows) {
        free(w);
        return thaw_err_set(err, THAW_ENOMEM, "load phases: out of memory");
    }
    w->db = db;
    w->run = run;
    *out = w;
    return 0;
}

void res_phases_free(struct res_phases *w)
{
    if (!w) return;
    free(w->rows);
    free(w);
}

static int sql_fail(sqlite3 *h, struct thaw_err *err, const char *what)
{
    return thaw_err_set(err, THAW_EIO, "load phases: %s: %s", what, sqlite3_errmsg(h));
}

int res_phases_flush(struct res_phases *w, struct thaw_err *err)
{
    if (!w || w->count == 0) return 0;
    sqlite3 *h = res_handle(w->db);
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(h, err, "begin");
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(h,
                           "INSERT INTO load_phases (run, load_id, seq, phase, name, cpu, started, "
                           "finished) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        rc = sql_fail(h, err, "prepare");
    for (int i = 0; rc == 0 && i < w->count; i++) {
        const struct phase_buf *b = &w->rows[i];
        sqlite3_bind_int64(st, 1, w->run);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)b->p.load_id);
        sqlite3_bind_int(st, 3, b->p.seq);
        sqlite3_bind_text(st, 4, phase_names[b->p.phase], -1, SQLITE_STATIC);
        if (b->name[0])
            sqlite3_bind_text(st, 5, b->name, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_int(st, 6, b->p.cpu ? 1 : 0);
        sqlite3_bind_double(st, 7, (double)b->p.start_ns / 1e9);
        sqlite3_bind_double(st, 8, (double)b->p.end_ns / 1e9);
        if (sqlite3_step(st) != SQLITE_DONE) rc = sql_fail(h, err, "insert");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    w->count = 0;
    if (rc == 0 && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_fail(h, err, "commit");
    if (rc < 0) sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int res_phases_add(struct res_phases *w, const struct res_load_phase *p, struct thaw_err *err)
{
    if ((int)p->phase < 0 || p->phase >= RES_PHASE_COUNT)
        return thaw_err_set(err, THAW_EINVAL, "load phases: phase %d", (int)p->phase);
    if (w->count == PHASES_BURST) {
        int rc = res_phases_flush(w, err);
        if (rc < 0) return rc;
    }
    struct phase_buf *b = &w->rows[w->count++];
    b->p = *p;
    snprintf(b->name, sizeof b->name, "%s", p->name ? p->name : "");
    b->p.name = NULL;
    return 0;
}

int res_phases_each(struct res_db *db, int64_t run, int (*fn)(const struct res_phase_row *, void *),
                    void *ctx, struct thaw_err *err)
{
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           "SELECT p.load_id, l.model, l.gpu_name, l.node, l.source, l.outcome, "
                           "l.bytes, p.phase, p.name, p.cpu, p.started, p.finished "
                           "FROM load_phases p JOIN loads l ON l.run = p.run AND "
                           "l.load_id = p.load_id WHERE p.run = ? ORDER BY p.load_id, p.seq",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(h, err, "read");
    sqlite3_bind_int64(st, 1, run);
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct res_phase_row r = {
            .load_id = (uint64_t)sqlite3_column_int64(st, 0),
            .model = (const char *)sqlite3_column_text(st, 1),
            .gpu = (const char *)sqlite3_column_text(st, 2),
            .node = (const char *)sqlite3_column_text(st, 3),
            .source = (const char *)sqlite3_column_text(st, 4),
            .outcome = (const char *)sqlite3_column_text(st, 5),
            .bytes = (uint64_t)sqlite3_column_int64(st, 6),
            .name = (const char *)sqlite3_column_text(st, 8),
            .cpu = sqlite3_column_int(st, 9) != 0,
            .started_s = sqlite3_column_double(st, 10),
            .finished_s = sqlite3_column_double(st, 11),
        };
        int ph = res_phase_parse((const char *)sqlite3_column_text(st, 7));
        if (ph < 0) continue;
        r.phase = (enum res_phase)ph;
        if ((rc = fn(&r, ctx)) != 0) break;
    }
    if (rc == 0 && s != SQLITE_DONE && s != SQLITE_ROW) rc = sql_fail(h, err, "read");
    sqlite3_finalize(st);
    return rc;
}

/* `thaw report --phases`: the load_phase_summary view of one run, phases in
 * the order a load goes through them (startup phases by first appearance),
 * each with its share of the run's total load time (sum over every phase of
 * every load, queueing included). */
int res_phases_print(struct res_db *rdb, int64_t run, FILE *out, struct thaw_err *err)
{
    if (!rdb || !out) return thaw_err_set(err, THAW_EINVAL, "load phases: NULL argument");
    sqlite3 *db = res_handle(rdb);
    sqlite3_stmt *st = NULL;
    const char *sql =
        "SELECT s.phase, s.name, s.loads, s.mean_s, s.total_s, s.max_s, "
        "       (SELECT sum(finished - started) FROM load_phases WHERE run = ?1) "
        "FROM load_phase_summary s WHERE s.run = ?1 "
        "ORDER BY CASE s.phase WHEN 'queued' THEN 0 WHEN 'init' THEN 1 WHEN 'startup' THEN 2 "
        "  WHEN 'alloc' THEN 3 WHEN 'copy' THEN 4 WHEN 'verify' THEN 5 ELSE 6 END, "
        "  (SELECT min(seq) FROM load_phases p WHERE p.run = ?1 AND p.phase = s.phase "
        "   AND p.name IS s.name), s.name";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "summary");
    sqlite3_bind_int64(st, 1, run);
    int rows = 0, rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (rows++ == 0)
            fprintf(out, "run %lld: where the loads' time went\n%-24s %7s %11s %11s %11s %7s\n",
                    (long long)run, "phase", "loads", "mean s", "max s", "total s", "share");
        const unsigned char *ph = sqlite3_column_text(st, 0);
        const unsigned char *nm = sqlite3_column_text(st, 1);
        char label[96];
        if (nm)
            snprintf(label, sizeof label, "%s:%s", ph ? (const char *)ph : "", (const char *)nm);
        else
            snprintf(label, sizeof label, "%s", ph ? (const char *)ph : "");
        double total = sqlite3_column_double(st, 6);
        double share = total > 0 ? 100.0 * sqlite3_column_double(st, 4) / total : 0.0;
        fprintf(out, "%-24s %7lld %11.3f %11.3f %11.3f %6.1f%%\n", label,
                (long long)sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3),
                sqlite3_column_double(st, 5), sqlite3_column_double(st, 4), share);
    }
    if (rc != SQLITE_DONE) rc = sql_fail(db, err, "summary");
    else rc = 0;
    if (rc == 0 && rows == 0)
        fprintf(out, "run %lld: no load phases recorded (a run recorded before them, or no loads)\n",
                (long long)run);
    sqlite3_finalize(st);
    return rc;
}

/* runextra.c - the rows written with a run for analysis rather than for the
 * charts: the sweep point as run_params rows, the names behind the indices
 * of core_events (models, nodes), and the scenario file's text so that a
 * run can be replayed after its file changed. Also the reader of that text. */
#include "results_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A scenario larger than this is not stored (traces live in their own files). */
#define RES_SCENARIO_TEXT_MAX (16u << 20)

static int sql_fail(sqlite3 *db, struct thaw_err *err, const char *what)
{
    return thaw_err_set(err, THAW_EIO, "%s: %s", what, sqlite3_errmsg(db));
}

int res_runextra_params(sqlite3 *db, int64_t run, const char *params, struct thaw_err *err)
{
    if (!params || !*params) return 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO run_params (run, key, value) VALUES (?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "run_params");
    int rc = 0;
    for (const char *p = params; *p && rc == 0;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq && eq > p) {
            sqlite3_bind_int64(st, 1, run);
            sqlite3_bind_text(st, 2, p, (int)(eq - p), SQLITE_STATIC);
            sqlite3_bind_text(st, 3, eq + 1, (int)(len - (size_t)(eq - p) - 1), SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) rc = sql_fail(db, err, "run_params");
            sqlite3_reset(st);
        }
        p += len + (end ? 1 : 0);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The file's bytes, or NULL when it cannot be read or is too large. */
static char *read_text(const char *path, size_t *len)
{
    FILE *f = path && *path ? fopen(path, "rb") : NULL;
    if (!f) return NULL;
    char *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used == cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > RES_SCENARIO_TEXT_MAX) break;
            char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (n == 0) {
            bool ok = !ferror(f);
            fclose(f);
            if (!ok) break;
            *len = used;
            return buf;
        }
    }
    fclose(f);
    free(buf);
    return NULL;
}

int res_runextra_insert(sqlite3 *db, int64_t run, const struct core_spec *spec,
                        const struct res_run_info *info, struct thaw_err *err)
{
    int rc = res_runextra_params(db, run, info->params, err);
    if (rc < 0) return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO models (run, model, name) VALUES (?,?,?)", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_fail(db, err, "models");
    for (int m = 0; m < spec->model_count && rc == 0; m++) {
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_int(st, 2, m);
        sqlite3_bind_text(st, 3, spec->models[m].name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = sql_fail(db, err, "models");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc < 0) return rc;
    if (sqlite3_prepare_v2(db, "INSERT INTO nodes (run, node, name) VALUES (?,?,?)", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_fail(db, err, "nodes");
    for (int n = 0; n < spec->node_count && rc == 0; n++) {
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_int(st, 2, n);
        sqlite3_bind_text(st, 3, spec->nodes[n].name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = sql_fail(db, err, "nodes");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc < 0) return rc;

    /* The bytes are read again here, after core_spec_load hashed them: a file
     * edited in between would be stored under the old hash, which whoever
     * uses the text detects (core_spec_load hashes it again). */
    size_t len = 0;
    char *text = read_text(spec->path, &len);
    if (!text) return 0;
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO scenario_texts (sha256, text) VALUES (?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        free(text);
        return sql_fail(db, err, "scenario_texts");
    }
    sqlite3_bind_text(st, 1, spec->sha256_hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, text, (int)len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = sql_fail(db, err, "scenario_texts");
    sqlite3_finalize(st);
    free(text);
    return rc;
}

int res_scenario_text(struct res_db *rdb, int64_t run, char **text, size_t *len,
                      struct thaw_err *err)
{
    *text = NULL;
    *len = 0;
    sqlite3 *db = res_handle(rdb);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT t.text FROM runs r JOIN scenario_texts t ON t.sha256 = "
                           "r.scenario_sha256 WHERE r.id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "scenario text");
    sqlite3_bind_int64(st, 1, run);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        const void *p = sqlite3_column_blob(st, 0);
        *text = malloc((size_t)n + 1);
        if (!*text) {
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
        } else {
            if (n) memcpy(*text, p, (size_t)n);
            (*text)[n] = '\0';
            *len = (size_t)n;
        }
    } else {
        rc = thaw_err_set(err, THAW_ENOENT, "run %lld has no stored scenario text", (long long)run);
    }
    sqlite3_finalize(st);
    return rc;
}

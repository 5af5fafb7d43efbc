/* validate.c - pairs the loads of an exec run with those of a sim run, the
 * data behind `thaw validate` and `thaw plot validate`. The k-th finished-ok
 * load of a model (in start order) in one run pairs with the k-th of the
 * same model in the other: both runs follow the same scenario, so the k-th
 * cold start of a model is the same event in both, as far as the policy's
 * decisions agree. Kept in one place so the command and the chart agree. */
#include "results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

int res_latest_run_of_mode(struct res_db *db, const char *mode, const char *sha_or_null,
                           int64_t *id, struct thaw_err *err)
{
    if (!db || !mode || !id || (strcmp(mode, "sim") && strcmp(mode, "exec")))
        return thaw_err_set(err, THAW_EINVAL, "latest run: mode must be \"sim\" or \"exec\"");
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           sha_or_null
                               ? "SELECT max(id) FROM runs WHERE mode = ?1 AND scenario_sha256 = ?2"
                               : "SELECT max(id) FROM runs WHERE mode = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "latest run: %s", sqlite3_errmsg(h));
    sqlite3_bind_text(st, 1, mode, -1, SQLITE_STATIC);
    if (sha_or_null) sqlite3_bind_text(st, 2, sha_or_null, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    bool found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (found) *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return thaw_err_set(err, THAW_EIO, "latest run: %s", sqlite3_errmsg(h));
    if (!found)
        return thaw_err_set(err, THAW_ENOENT, "no %s run%s in the database%s", mode,
                            sha_or_null ? " of the same scenario" : "",
                            strcmp(mode, "exec") ? " (run thaw sim first)"
                                                 : " (run thaw exec first)");
    return 0;
}

int res_load_pairs(struct res_db *db, int64_t exec_run, int64_t sim_run,
                   int (*fn)(const struct res_load_pair *, void *), void *ctx, struct thaw_err *err)
{
    if (!db || !fn) return thaw_err_set(err, THAW_EINVAL, "load pairs: no database or callback");
    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    /* load_id breaks ties between loads started at the same instant, in
     * the order the core issued them. */
    if (sqlite3_prepare_v2(h,
                           "SELECT e.model, e.k, e.d, s.d FROM "
                           "(SELECT model, finished - started AS d, row_number() OVER (PARTITION "
                           "BY model ORDER BY started, load_id) AS k FROM loads WHERE run = ?1 "
                           "AND outcome = 'ok' AND finished IS NOT NULL) e JOIN "
                           "(SELECT model, finished - started AS d, row_number() OVER (PARTITION "
                           "BY model ORDER BY started, load_id) AS k FROM loads WHERE run = ?2 "
                           "AND outcome = 'ok' AND finished IS NOT NULL) s "
                           "ON e.model = s.model AND e.k = s.k ORDER BY e.model, e.k",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "load pairs: %s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, exec_run);
    sqlite3_bind_int64(st, 2, sim_run);
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *model = sqlite3_column_text(st, 0);
        struct res_load_pair p = {
            model ? (const char *)model : "",
            sqlite3_column_int(st, 1),
            sqlite3_column_double(st, 2),
            sqlite3_column_double(st, 3),
        };
        if ((rc = fn(&p, ctx)) != 0) break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "load pairs: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return rc;
}

struct fit_acc {
    struct res_validation *v;
    int cap;
    double abs_rel;
    struct thaw_err *err;
};

/* Pairs arrive grouped by model, so a new model name starts a new row. */
static int fit_add(const struct res_load_pair *p, void *ctx)
{
    struct fit_acc *a = ctx;
    struct res_validation *v = a->v;
    struct res_model_fit *m = v->model_count ? &v->models[v->model_count - 1] : NULL;
    if (!m || strcmp(m->model, p->model)) {
        if (v->model_count == a->cap) {
            int cap = a->cap ? 2 * a->cap : 8;
            struct res_model_fit *grown = realloc(v->models, (size_t)cap * sizeof *grown);
            if (!grown) return thaw_err_set(a->err, THAW_ENOMEM, "validate: out of memory");
            v->models = grown;
            a->cap = cap;
        }
        m = &v->models[v->model_count++];
        memset(m, 0, sizeof *m);
        snprintf(m->model, sizeof m->model, "%s", p->model);
    }
    /* sums for now; res_validate turns them into means */
    m->pairs++;
    m->measured_mean_s += p->measured_s;
    m->simulated_mean_s += p->simulated_s;
    v->pairs++;
    if (p->simulated_s > 0) {
        a->abs_rel += fabs(p->measured_s - p->simulated_s) / p->simulated_s;
        v->rel_pairs++;
    }
    return 0;
}

int res_validate(struct res_db *db, int64_t exec_run, int64_t sim_run, struct res_validation *out,
                 struct thaw_err *err)
{
    if (!out) return thaw_err_set(err, THAW_EINVAL, "validate: no output");
    memset(out, 0, sizeof *out);
    struct fit_acc a = {out, 0, 0, err};
    int rc = res_load_pairs(db, exec_run, sim_run, fit_add, &a, err);
    if (rc < 0) {
        res_validation_free(out);
        return rc;
    }
    for (int i = 0; i < out->model_count; i++) {
        struct res_model_fit *m = &out->models[i];
        m->measured_mean_s /= m->pairs;
        m->simulated_mean_s /= m->pairs;
        m->rel_error = m->simulated_mean_s > 0
                           ? (m->measured_mean_s - m->simulated_mean_s) / m->simulated_mean_s
                           : NAN;
    }
    out->mean_rel_error = out->rel_pairs ? a.abs_rel / out->rel_pairs : NAN;
    return 0;
}

void res_validation_free(struct res_validation *v)
{
    if (!v) return;
    free(v->models);
    v->models = NULL;
    v->model_count = 0;
}

/* select.c - which runs a selector names ("sweep=S1 policy=queue=fifo",
 * "1,2,5", "param:gpus=4"), for `thaw compare` and the other commands that
 * take sets of runs. The runs table is small (one row per run), so the runs
 * are read once and matched in C, where list items are compared exactly
 * rather than with LIKE patterns that would match "gpus=4" inside "gpus=40". */
#include "results.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define TERM_MAX 512

/* True when `item` is one of the items of list (split on any char of seps). */
static bool has_item(const char *list, const char *seps, const char *item, size_t item_len)
{
    const char *p = list;
    while (p && *p) {
        size_t n = strcspn(p, seps);
        if (n == item_len && !strncmp(p, item, n)) return true;
        p += n;
        if (*p) p++;
    }
    return false;
}

/* True when every ','-separated k=v of want is an item of the policy. */
static bool policy_matches(const char *policy, const char *want)
{
    const char *p = want;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0 && !has_item(policy, ",", p, n)) return false;
        p += n;
        if (*p) p++;
    }
    return true;
}

static bool scenario_matches(const char *scenario, const char *want)
{
    if (!strcmp(scenario, want)) return true;
    const char *base = strrchr(scenario, '/');
    base = base ? base + 1 : scenario;
    if (!strcmp(base, want)) return true;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))) n = (size_t)(dot - base);
    return strlen(want) == n && !strncmp(base, want, n);
}

/* "1,2,5" / "3-7" / "1,4-6": true and in-range check of id. */
static int id_list_matches(const char *list, int64_t id, bool *match, struct thaw_err *err)
{
    *match = false;
    const char *p = list;
    while (*p) {
        const char *end;
        int64_t lo, hi;
        if (core_parse_i64(p, 0, INT64_MAX, &end, &lo)) goto bad;
        hi = lo;
        if (*end == '-' && (core_parse_i64(end + 1, 0, INT64_MAX, &end, &hi) || hi < lo)) goto bad;
        if (*end && (*end != ',' || !end[1])) goto bad;
        if (id >= lo && id <= hi) *match = true;
        p = *end ? end + 1 : end;
    }
    return 0;
bad:
    return thaw_err_set(err, THAW_EINVAL, "bad run id list \"%s\" (expected e.g. 1,2,5 or 3-7)",
                        list);
}

struct run_fields {
    int64_t id;
    const char *sweep, *policy, *params, *overrides, *scenario, *mode, *status;
};

/* "k=v" with a non-empty k and v, n bytes of it. */
static bool is_kv(const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    return eq && eq > s && eq < s + n - 1;
}

/* A term's value must say something: an empty value (or an empty or
 * malformed item) once matched every run. */
static int check_value(const char *term, size_t klen, const char *v, struct thaw_err *err)
{
#define KEY(s) (klen == strlen(s) && !strncmp(term, s, klen))
    if (!*v) return thaw_err_set(err, THAW_EINVAL, "selector term \"%s\" has an empty value", term);
    if (KEY("policy")) {
        for (const char *p = v;;) {
            size_t n = strcspn(p, ",");
            if (!is_kv(p, n))
                return thaw_err_set(err, THAW_EINVAL,
                                    "selector term \"%s\": \"%.*s\" is not a policy setting k=v "
                                    "(such as policy=queue=fifo,shm=off)",
                                    term, (int)n, p);
            if (!p[n]) break;
            p += n + 1;
        }
    } else if (KEY("mode") && strcmp(v, "sim") && strcmp(v, "exec")) {
        return thaw_err_set(err, THAW_EINVAL, "selector term \"%s\": mode is sim or exec", term);
    } else if (KEY("status") && strcmp(v, "any") && strcmp(v, "running") && strcmp(v, "complete") &&
               strcmp(v, "failed") && strcmp(v, "interrupted")) {
        return thaw_err_set(err, THAW_EINVAL,
                            "selector term \"%s\": status is running, complete, failed, "
                            "interrupted or any",
                            term);
    }
#undef KEY
    return 0;
}

/* Does one term hold for a run? */
static int term_matches(const char *term, const struct run_fields *r, bool *match,
                        struct thaw_err *err)
{
    const char *eq = strchr(term, '=');
    if (strspn(term, "0123456789,-") == strlen(term))
        return id_list_matches(term, r->id, match, err);
    if (!strncmp(term, "param:", 6)) {
        const char *kv = term + 6;
        size_t n = strlen(kv);
        if (!is_kv(kv, n))
            return thaw_err_set(err, THAW_EINVAL,
                                "selector term \"%s\": expected param:KEY=VALUE, both non-empty",
                                term);
        *match = has_item(r->params, ";", kv, n) || has_item(r->overrides, ",", kv, n);
        return 0;
    }
    if (!eq || eq == term)
        return thaw_err_set(err, THAW_EINVAL,
                            "bad selector term \"%s\" (expected ids, sweep=, policy=, param:k=v, "
                            "scenario=, mode= or status=)",
                            term);
    size_t klen = (size_t)(eq - term);
    const char *v = eq + 1;
    int rc = check_value(term, klen, v, err);
    if (rc < 0) return rc;
#define KEY(s) (klen == strlen(s) && !strncmp(term, s, klen))
    if (KEY("sweep"))
        *match = !strcmp(r->sweep, v);
    else if (KEY("policy"))
        *match = policy_matches(r->policy, v);
    else if (KEY("scenario"))
        *match = scenario_matches(r->scenario, v);
    else if (KEY("mode"))
        *match = !strcmp(r->mode, v);
    else if (KEY("status"))
        *match = !strcmp(v, "any") || !strcmp(r->status, v);
    else
        return thaw_err_set(err, THAW_EINVAL,
                            "unknown selector key \"%.*s\" (sweep, policy, param:K, scenario, "
                            "mode, status)",
                            (int)klen, term);
#undef KEY
    return 0;
}

static const char *text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int res_select_runs(struct res_db *db, const char *selector, int64_t **ids, int *count,
                    struct thaw_err *err)
{
    if (!db || !selector || !ids || !count) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    *ids = NULL;
    *count = 0;
    /* Split into terms once; whether any term is status= decides the default. */
    char terms[32][TERM_MAX];
    int nterms = 0;
    bool has_status = false;
    for (const char *p = selector; *p;) {
        while (*p == ';' || isspace((unsigned char)*p))
            p++;
        if (!*p) break;
        size_t n = strcspn(p, "; \t\n");
        if (n >= TERM_MAX) return thaw_err_set(err, THAW_EINVAL, "selector term too long");
        if (nterms == 32) return thaw_err_set(err, THAW_EINVAL, "more than 32 selector terms");
        memcpy(terms[nterms], p, n);
        terms[nterms][n] = '\0';
        if (!strncmp(terms[nterms], "status=", 7)) has_status = true;
        nterms++;
        p += n;
    }
    if (nterms == 0) return thaw_err_set(err, THAW_EINVAL, "empty selector");
    /* Check every term's form now, so a typo is reported even when no run
     * would reach it. */
    const struct run_fields blank = {0, "", "", "", "", "", "", ""};
    for (int t = 0; t < nterms; t++) {
        bool m;
        int rc = term_matches(terms[t], &blank, &m, err);
        if (rc < 0) return rc;
    }

    sqlite3 *h = res_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            h,
            "SELECT id, coalesce(sweep_id, ''), policy, params, overrides, scenario, "
            "mode, status FROM runs ORDER BY id",
            -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "select runs: %s", sqlite3_errmsg(h));
    int rc = 0, cap = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct run_fields r = {sqlite3_column_int64(st, 0),
                               text(st, 1),
                               text(st, 2),
                               text(st, 3),
                               text(st, 4),
                               text(st, 5),
                               text(st, 6),
                               text(st, 7)};
        bool all = has_status || !strcmp(r.status, "complete");
        for (int t = 0; all && t < nterms; t++) {
            bool m;
            if ((rc = term_matches(terms[t], &r, &m, err)) < 0) break;
            all = m;
        }
        if (rc < 0) break;
        if (!all) continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *g = realloc(*ids, (size_t)cap * sizeof *g);
            if (!g) {
                rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
                break;
            }
            *ids = g;
        }
        (*ids)[(*count)++] = r.id;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "select runs: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (rc < 0) {
        free(*ids);
        *ids = NULL;
        *count = 0;
    }
    return rc;
}

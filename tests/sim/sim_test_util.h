/* sim_test_util.h - shared by the simulator's end-to-end tests: load a
 * scenario (with overrides) from the source tree, run it into a temporary
 * database, and read numbers back with SQL. Header-only (static functions)
 * so every test_*.c stays one executable. */
#ifndef THAW_SIM_TEST_UTIL_H
#define THAW_SIM_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"
#include "sim.h"

struct simt {
    char dir[64];
    char path[96];
    struct res_db *db;
};

static __attribute__((unused)) void simt_open(struct simt *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/thaw-simtest-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/t.db", t->dir);
    struct thaw_err err = {0};
    int rc = res_open(t->path, &t->db, &err);
    if (rc < 0) fail_msg("res_open: %s", err.msg);
}

static __attribute__((unused)) void simt_close(struct simt *t)
{
    res_close(t->db);
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s%s", t->path, suffix[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

/* Loads scenarios/NAME (relative to the source tree) with "k=v" overrides
 * (NULL-terminated); fails the test with the diagnostics otherwise. */
static __attribute__((unused)) struct core_spec *simt_load(const char *rel, const char *const *kv)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", THAW_SOURCE_DIR, rel);
    struct core_override ovr[16];
    char keys[16][128];
    int n = 0;
    for (; kv && kv[n]; n++) {
        assert_true(n < 16);
        const char *eq = strchr(kv[n], '=');
        assert_non_null(eq);
        snprintf(keys[n], sizeof keys[n], "%.*s", (int)(eq - kv[n]), kv[n]);
        ovr[n].key = keys[n];
        ovr[n].value = eq + 1;
    }
    struct core_diags diags;
    core_diags_init(&diags);
    struct core_spec *spec = NULL;
    int rc = core_spec_load(path, ovr, n, &spec, &diags);
    if (rc < 0) {
        for (int i = 0; i < diags.count; i++) {
            char line[1200];
            core_diag_format(&diags.items[i], line, sizeof line);
            print_error("%s\n", line);
        }
        core_diags_free(&diags);
        fail_msg("cannot load %s (%d)", path, rc);
    }
    core_diags_free(&diags);
    return spec;
}

/* Runs spec into t's database with the invariant checker on; returns the
 * run id. */
static __attribute__((unused)) int64_t simt_run(struct simt *t, const struct core_spec *spec,
                                                struct sim_result *out)
{
    struct sim_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.check_invariants = true;
    opts.db = t ? t->db : NULL;
    opts.run_info.mode = "sim";
    opts.run_info.backend = "";
    opts.run_info.overrides = "";
    opts.run_info.params = "";
    struct sim_result res;
    struct thaw_err err = {0};
    int rc = sim_run(spec, &opts, &res, &err);
    if (rc < 0) fail_msg("sim_run: %s (%d)", err.msg, rc);
    if (out) *out = res;
    return res.run_id;
}

/* One number from a query with the run id bound to ?1 (NAN for NULL or no
 * row). */
static __attribute__((unused)) double simt_num(struct simt *t, int64_t run, const char *sql)
{
    sqlite3 *h = res_handle(t->db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, run);
    double v = NAN;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A metric of a run (NAN when NULL or absent). */
static __attribute__((unused)) double simt_metric(struct simt *t, int64_t run, const char *name)
{
    sqlite3 *h = res_handle(t->db);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT value FROM metrics WHERE run = ?1 AND name = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    double v = NAN;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

#endif

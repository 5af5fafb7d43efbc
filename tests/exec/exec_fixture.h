/* exec_fixture.h - the fixture the exec driver tests share (test_driver.c,
 * test_ladder.c): a temporary folder with weights, a private shm folder and
 * a database per test; a scenario from text with its weight files written;
 * host-backend options; exec_run; one number from SQL. Static functions:
 * each test file includes it once, after cmocka and the exec headers. */
#ifndef THAW_TESTS_EXEC_FIXTURE_H
#define THAW_TESTS_EXEC_FIXTURE_H

struct fx {
    char dir[256];
    char weights[300];
    char shm_base[300];
    char db_path[300];
    char yaml_path[300];
    struct res_db *db;
    struct core_spec *spec;
    struct exec_result res;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/thaw-exec-test-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    /* A private shm folder: tests running in parallel never share names. */
    snprintf(f->shm_base, sizeof f->shm_base, "/dev/shm/thaw-exec-test-XXXXXX");
    if (!mkdtemp(f->shm_base)) {
        snprintf(f->shm_base, sizeof f->shm_base, "%s/shm", f->dir);
        if (mkdir(f->shm_base, 0700) != 0) return -1;
    }
    snprintf(f->weights, sizeof f->weights, "%s/weights", f->dir);
    snprintf(f->db_path, sizeof f->db_path, "%s/t.db", f->dir);
    snprintf(f->yaml_path, sizeof f->yaml_path, "%s/s.yaml", f->dir);
    struct thaw_err err = {0};
    if (res_open(f->db_path, &f->db, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    res_close(f->db);
    core_spec_free(f->spec);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    nftw(f->shm_base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void load_spec(struct fx *f, const char *yaml)
{
    FILE *fp = fopen(f->yaml_path, "w");
    assert_non_null(fp);
    fputs(yaml, fp);
    fclose(fp);
    struct core_diags diags;
    core_diags_init(&diags);
    int rc = core_spec_load(f->yaml_path, NULL, 0, &f->spec, &diags);
    for (int i = 0; i < diags.count; i++) {
        char line[1200];
        core_diag_format(&diags.items[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    core_diags_free(&diags);
    assert_int_equal(rc, 0);
    struct thaw_err err = {0};
    int generated;
    uint64_t bytes;
    rc = exec_weights_prepare(f->spec, f->weights, &generated, &bytes, &err);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void default_opts(struct fx *f, struct exec_opts *o)
{
    exec_opts_init(o);
    o->backend = EXEC_BACKEND_HOST;
    o->weights_dir = f->weights;
    o->shm_dir = f->shm_base;
    o->chunk_bytes = 4u << 20;
    o->check_invariants = true;
    o->db = f->db;
    o->request_threads = 2;
}

static void run(struct fx *f, const struct exec_opts *o)
{
    struct thaw_err err = {0};
    int rc = exec_run(f->spec, o, &f->res, &err);
    if (rc < 0) fprintf(stderr, "exec_run: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_true(f->res.run_id > 0);
}

/* One number from SQL (printf-formatted); NAN when NULL or no row. */
static double q(struct fx *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *h = res_handle(f->db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(h));
        fail();
    }
    double v = 0.0 / 0.0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

#endif

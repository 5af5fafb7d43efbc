/* test_determinism.c - same scenario, same seed: the same rows, every table,
 * in the same order (a text dump of each run minus its id and wall-clock
 * fields), also when runs go on in parallel threads. And each model's
 * randomness is its own: adding a model leaves another model's arrival
 * times unchanged. */
#include "sim_test_util.h"

#include <pthread.h>

/* Fields that legitimately differ between two runs of the same input. */
static bool skipped(const char *table, const char *col)
{
    if (!strcmp(col, "run")) return true;
    if (strcmp(table, "runs")) return false;
    return !strcmp(col, "id") || !strcmp(col, "uuid") || !strcmp(col, "started_at") ||
           !strcmp(col, "finished_at");
}

/* Appends every row of `table` for the run (in insertion order) as text. */
static void dump_table(sqlite3 *h, const char *table, int64_t run, char **buf, size_t *len)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE %s = ?1 ORDER BY rowid", table,
             strcmp(table, "runs") ? "run" : "id");
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    FILE *f = open_memstream(buf, len);
    assert_non_null(f);
    fprintf(f, "[%s]\n", table);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            if (skipped(table, sqlite3_column_name(st, c))) continue;
            const unsigned char *v = sqlite3_column_text(st, c);
            fprintf(f, "%s|", v ? (const char *)v : "NULL");
        }
        fputc('\n', f);
    }
    fclose(f);
    sqlite3_finalize(st);
}

static char *dump_run(struct simt *t, int64_t run)
{
    static const char *const tables[] = {
        "runs", "gpus", "loads", "requests", "instance_events", "faults", "core_events", "metrics"};
    sqlite3 *h = res_handle(t->db);
    char *all = NULL;
    size_t all_len = 0;
    FILE *out = open_memstream(&all, &all_len);
    assert_non_null(out);
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        char *part = NULL;
        size_t len = 0;
        dump_table(h, tables[i], run, &part, &len);
        fputs(part, out);
        free(part);
    }
    fclose(out);
    return all;
}

static void same_seed_same_rows(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    struct core_spec *spec = simt_load("tests/sim/determinism.yaml", NULL);
    int64_t r1 = simt_run(&t, spec, NULL);
    int64_t r2 = simt_run(&t, spec, NULL);
    assert_int_not_equal(r1, r2);
    char *d1 = dump_run(&t, r1), *d2 = dump_run(&t, r2);
    /* The scenario exercises what it claims: loads, requests, faults. */
    assert_true(simt_num(&t, r1, "SELECT COUNT(*) FROM loads WHERE run = ?1") >= 5);
    assert_true(simt_num(&t, r1, "SELECT COUNT(*) FROM requests WHERE run = ?1") > 500);
    assert_true(simt_num(&t, r1, "SELECT COUNT(*) FROM faults WHERE run = ?1") >= 2);
    assert_true(strlen(d1) > 10000);
    assert_string_equal(d1, d2);
    core_spec_free(spec);

    /* Another seed gives other rows: the comparison above can fail. */
    const char *const other[] = {"run.seed=12", NULL};
    spec = simt_load("tests/sim/determinism.yaml", other);
    int64_t r3 = simt_run(&t, spec, NULL);
    char *d3 = dump_run(&t, r3);
    assert_true(strcmp(d1, d3) != 0);
    free(d1);
    free(d2);
    free(d3);
    core_spec_free(spec);
    simt_close(&t);
}

static char *arrivals_of(struct simt *t, int64_t run, const char *model)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(res_handle(t->db),
                                        "SELECT arrived FROM requests WHERE run = ?1 AND "
                                        "model = ?2 ORDER BY arrived",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    while (sqlite3_step(st) == SQLITE_ROW)
        fprintf(f, "%.9f\n", sqlite3_column_double(st, 0));
    fclose(f);
    sqlite3_finalize(st);
    return buf;
}

static void adding_a_model_shifts_no_other_arrivals(void **state)
{
    (void)state;
    struct simt t;
    simt_open(&t);
    /* The file has b-0..b-2; the variant adds b-3 (with its own Poisson
     * entry). Model a's stream is keyed by its name, so its arrival times
     * are the same, although the decisions around them differ. */
    struct core_spec *base = simt_load("tests/sim/determinism.yaml", NULL);
    const char *const more[] = {"models[1].count=4", NULL};
    struct core_spec *grown = simt_load("tests/sim/determinism.yaml", more);
    assert_int_equal(grown->model_count, base->model_count + 1);
    int64_t r1 = simt_run(&t, base, NULL);
    int64_t r2 = simt_run(&t, grown, NULL);
    char *a1 = arrivals_of(&t, r1, "a"), *a2 = arrivals_of(&t, r2, "a");
    char *b1 = arrivals_of(&t, r1, "b-0"), *b2 = arrivals_of(&t, r2, "b-0");
    assert_true(strlen(a1) > 1000);
    assert_string_equal(a1, a2);
    assert_string_equal(b1, b2);
    /* The runs as a whole do differ (b-3's requests exist in one only). */
    assert_true(simt_num(&t, r2, "SELECT COUNT(*) FROM requests WHERE run = ?1 AND model = 'b-3'") >
                0);
    free(a1);
    free(a2);
    free(b1);
    free(b2);
    core_spec_free(base);
    core_spec_free(grown);
    simt_close(&t);
}

struct thread_run {
    struct simt t;
    const struct core_spec *spec;
    int64_t run;
};

static void *run_in_thread(void *arg)
{
    struct thread_run *r = arg;
    r->run = simt_run(&r->t, r->spec, NULL);
    return NULL;
}

static void threads_share_nothing(void **state)
{
    (void)state;
    /* Sweeps run simulations in parallel threads. Two runs of one spec at
     * the same time, each into its own database, give the rows of a run
     * alone: no state is shared between runs. */
    struct core_spec *spec = simt_load("tests/sim/determinism.yaml", NULL);
    struct thread_run r[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        simt_open(&r[i].t);
        r[i].spec = spec;
        assert_int_equal(pthread_create(&th[i], NULL, run_in_thread, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    struct simt alone;
    simt_open(&alone);
    int64_t a = simt_run(&alone, spec, NULL);
    char *d0 = dump_run(&r[0].t, r[0].run), *d1 = dump_run(&r[1].t, r[1].run);
    char *da = dump_run(&alone, a);
    assert_string_equal(d0, da);
    assert_string_equal(d1, da);
    free(d0);
    free(d1);
    free(da);
    for (int i = 0; i < 2; i++)
        simt_close(&r[i].t);
    simt_close(&alone);
    core_spec_free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_rows),
        cmocka_unit_test(adding_a_model_shifts_no_other_arrivals),
        cmocka_unit_test(threads_share_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

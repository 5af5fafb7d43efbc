/* test_report_html.c - cli/report_html.c on a database written with plain
 * SQL: the file is one HTML document with every chart inlined as SVG (one
 * figure and caption each), ids unique across the charts and every
 * reference pointing at a prefixed id, names escaped, the anomaly and
 * per-model rows present, nothing left behind; a missing gnuplot is an
 * error that writes no file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "common.c"
#include "format.c"
#include "plot_bandwidth.c"
#include "plot_cdf.c"
#include "plot_cluster.c"
#include "plot_common.c"
#include "plot_render.c"
#include "plot_sweep.c"
#include "plot_timeline.c"
#include "plot_validate.c"
#include "plot_vram.c"
#include "report_html.c"

#define GIB 1073741824LL

static void exec_sql(struct res_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(res_handle(db), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "SQL failed: %s\n%s\n", msg, sql);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* Run 1: two GPUs; model "<m&1>" loads 0-30 on gpu0, "b" waits 10-35 and
 * loads 35-55 on gpu1; one anomaly. */
static void test_report_html(void **state)
{
    (void)state;
    char dir[256], db_path[300], out[300], tmp[310];
    snprintf(dir, sizeof dir, "%s/thaw-test-rhtml-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    snprintf(out, sizeof out, "%s/r.html", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    assert_int_equal(res_open(db_path, &db, &err), 0);
    char sql[2048];
    snprintf(sql, sizeof sql,
             "INSERT INTO runs (id, uuid, mode, scenario, scenario_sha256, policy, seed, host, "
             "version, params, started_at, duration_s, status) VALUES (1, 'u1', 'sim', "
             "'s.yaml', 'sha', 'queue=fifo', 1, 'h', '0', '', '2026-01-01T00:00:00Z', 80, "
             "'complete');"
             "INSERT INTO gpus (run, gpu, name, node, vram) VALUES (1, 0, 'n/gpu0', 'n', %lld), "
             "(1, 1, 'n/gpu1', 'n', %lld);"
             "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, source, "
             "reason, enqueued, started, finished, bytes, vram, outcome) VALUES "
             "(1, 1, '<m&1>', 1, 0, 'n/gpu0', 'n', 'storage', 'demand', 0, 0, 30, 1, %lld, 'ok'),"
             "(1, 2, 'b', 2, 1, 'n/gpu1', 'n', 'storage', 'demand', 10, 35, 55, 1, %lld, 'ok');"
             "INSERT INTO instance_events (run, instance, model, gpu, state, t, vram) VALUES "
             "(1, 1, '<m&1>', 0, 'LOADING', 0, %lld), (1, 1, '<m&1>', 0, 'READY', 30, %lld), "
             "(1, 2, 'b', 1, 'LOADING', 35, %lld), (1, 2, 'b', 1, 'READY', 55, %lld);"
             "INSERT INTO anomalies (run, seq, kind, model, t, detail) VALUES (1, 1, "
             "'head_of_line', 'b', 10, 'b waited while others went first');"
             "INSERT INTO metrics (run, name, value) VALUES (1, 'makespan_s', 55);",
             80 * GIB, 80 * GIB, 14 * GIB, 14 * GIB, 14 * GIB, 14 * GIB, 14 * GIB, 14 * GIB);
    exec_sql(db, sql);
    int64_t runs[] = {1};

    /* No gnuplot: an error, and no file (not even the temporary one). */
    assert_int_equal(cli_report_html(db, runs, 1, NULL, out, "thaw-test-no-such-gnuplot", &err),
                     THAW_ENOENT);
    assert_int_not_equal(access(out, F_OK), 0);
    assert_int_not_equal(access(tmp, F_OK), 0);

    int rc = cli_report_html(db, runs, 1, NULL, out, NULL, &err);
    if (rc == THAW_ENOENT && strstr(err.msg, "not installed")) {
        res_close(db);
        skip();
    }
    if (rc) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_not_equal(access(tmp, F_OK), 0);
    char *html = slurp(out);
    assert_int_equal(strncmp(html, "<!DOCTYPE html>\n<html", 21), 0);
    assert_non_null(strstr(html, "</html>\n"));
    /* cdf (all runs), then cluster, timeline, vram for run 1 (validate is
     * for exec runs): 4 charts, each an svg with its caption. */
    assert_int_equal(count(html, "<svg"), 4);
    assert_int_equal(count(html, "</svg>"), 4);
    assert_int_equal(count(html, "<figcaption>"), 4);
    assert_non_null(strstr(html, "class=\"cluster\""));
    assert_non_null(strstr(html, "class=\"timeline\""));
    assert_null(strstr(html, "<?xml"));
    /* Escaped in the tables (the SVGs escape on their own). */
    assert_non_null(strstr(html, "<td>&lt;m&amp;1&gt;</td>"));
    assert_null(strstr(html, "<td><m&1></td>"));
    assert_non_null(strstr(html, "b waited while others went first"));
    /* The summary sideways: a row per metric, a column per run. */
    assert_non_null(strstr(html, "<tr><th>makespan_s</th><td class=\"n\">55</td></tr>"));
    /* Ids: every one unique, all prefixed with their chart; every
     * reference to one points at a prefixed id. */
    size_t nids = 0;
    char **ids = NULL;
    for (const char *p = html; (p = strstr(p, " id=")); p += 4) {
        char q = p[4];
        const char *v = p + 5, *e = strchr(v, q);
        assert_non_null(e);
        char *id = strndup(v, (size_t)(e - v));
        for (size_t i = 0; i < nids; i++)
            if (!strcmp(ids[i], id)) fail_msg("id %s twice", id);
        ids = realloc(ids, (nids + 1) * sizeof *ids);
        ids[nids++] = id;
    }
    assert_true(nids > 20);
    for (const char *p = html; (p = strstr(p, "href='#")); p += 7)
        assert_true(p[7] == 'c' && p[8] >= '1' && p[8] <= '4' && p[9] == '-');
    for (const char *p = html; (p = strstr(p, "url(#")); p += 5)
        assert_true(p[5] == 'c' && p[7] == '-');
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    free(html);
    res_close(db);
    const char *left[] = {"r.html", "t.db", "t.db-wal", "t.db-shm", NULL};
    for (int i = 0; left[i]; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", dir, left[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_report_html)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

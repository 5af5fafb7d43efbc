/* test_plot_bandwidth.c - cli/plot_bandwidth.c: the bandwidth chart's data
 * from a real sim run of tests/sim/ladder-store.yaml (two nodes sharing a
 * 2 GiB/s store, 4 GiB each: the store runs full from 0 to 4 s, each link
 * at 1 GiB/s), and its refusal of a run without bandwidth rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <unistd.h>

#include "plot_bandwidth.c"
#include "plot_cdf.c"
#include "plot_cluster.c"
#include "plot_common.c"
#include "plot_render.c"
#include "plot_sweep.c"
#include "plot_timeline.c"
#include "plot_validate.c"
#include "plot_vram.c"
#include "sim.h"

static void bandwidth_data_of_a_sim_run(void **state)
{
    (void)state;
    char dir[] = "/tmp/thaw-plotbw-XXXXXX", db_path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    struct thaw_err err = {0};
    struct res_db *db;
    assert_int_equal(res_open(db_path, &db, &err), 0);
    struct core_diags diags;
    core_diags_init(&diags);
    struct core_spec *spec = NULL;
    assert_int_equal(
        core_spec_load(THAW_SOURCE_DIR "/tests/sim/ladder-store.yaml", NULL, 0, &spec, &diags), 0);
    core_diags_free(&diags);
    struct sim_opts so;
    memset(&so, 0, sizeof so);
    so.db = db;
    so.run_info.mode = "sim";
    so.run_info.backend = so.run_info.overrides = so.run_info.params = "";
    struct sim_result res;
    assert_int_equal(sim_run(spec, &so, &res, &err), 0);
    core_spec_free(spec);

    char sel[32];
    snprintf(sel, sizeof sel, "%lld", (long long)res.run_id);
    const char *sels[] = {sel};
    struct cli_plot_request req = {CLI_PLOT_BANDWIDTH, 1, sels, NULL, "store,network"};
    struct cli_plot_job job;
    assert_int_equal(cli_plot_prepare(db, &req, &job, &err), 0);
    /* names in resource order: network:a, network:b, store:s3 */
    assert_int_equal(job.series, 3);
    assert_non_null(strstr(job.assign, "names=\"\\\"network:a\\\" \\\"network:b\\\" "
                                       "\\\"store:s3\\\"\""));
    /* capacities in GB/s: 4 GiB/s = 4.294967296, 2 GiB/s = 2.147483648 */
    assert_non_null(strstr(job.assign, "caps=\"4.29497 4.29497 2.14748\""));
    FILE *f = fopen(job.files[0], "r");
    assert_non_null(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    /* the store's block: 0 at 0 (opened), full 2 GiB/s from 0 (one row for
     * the instant both flows started), idle at 4 s, held to the run's end
     * (5 s: the requests' 1 s of service) */
    assert_non_null(strstr(text, "# store:s3\n0 0\n0 2.14748365\n4 0\n5 0\n"));
    /* a link carries its node's half of the store: 1 GiB/s */
    assert_non_null(strstr(text, "# network:a\n0 0\n0 1.07374182\n4 0\n5 0\n"));
    assert_non_null(strstr(text, "# network:b\n0 0\n0 1.07374182\n4 0\n5 0\n"));
    cli_plot_job_free(&job, 0);

    /* only shm rows asked: the run has none */
    struct cli_plot_request none = {CLI_PLOT_BANDWIDTH, 1, sels, NULL, "shm"};
    assert_int_equal(cli_plot_prepare(db, &none, &job, &err), THAW_ENOENT);
    assert_non_null(strstr(err.msg, "no bandwidth rows"));
    res_close(db);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s%s", db_path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bandwidth_data_of_a_sim_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

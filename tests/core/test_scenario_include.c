/* test_scenario_include.c - `include: FILE` (core/scenario_include.c): a
 * host profile's node keys land in every node entry that lacks them, the
 * scenario's own keys and --set overrides win, a profile wins over what it
 * includes, shm keys go only to entries with an shm tier; a missing file, a
 * cycle and a bad value in the profile are errors at file:line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/thaw-test-include-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
    return 0;
}

static const char *put(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
    return path;
}

static int load(const char *path, const struct core_override *o, int n, struct core_spec **spec,
                struct core_diags *d)
{
    core_diags_init(d);
    return core_spec_load(path, o, n, spec, d);
}

static bool has_diag(const struct core_diags *d, const char *want)
{
    for (int i = 0; i < d->count; i++) {
        char line[1200];
        core_diag_format(&d->items[i], line, sizeof line);
        if (strstr(line, want)) return true;
    }
    for (int i = 0; i < d->count; i++) {
        char line[1200];
        core_diag_format(&d->items[i], line, sizeof line);
        print_error("  have: %s\n", line);
    }
    print_error("  want: %s\n", want);
    return false;
}

/* Node a sets nothing the profile gives but h2d (and has an shm tier
 * without read); b (count: 2) sets its own storage_read and has no shm. */
static const char *scenario = "include: prof.yaml\n"
                              "cluster:\n"
                              "  nodes:\n"
                              "    - name: a\n"
                              "      gpus: 1\n"
                              "      vram: 1GiB\n"
                              "      h2d: 12GB/s\n"
                              "      shm: {size: 1GiB, write: 1GB/s}\n"
                              "    - name: b\n"
                              "      count: 2\n"
                              "      gpus: 1\n"
                              "      vram: 1GiB\n"
                              "      h2d: 12GB/s\n"
                              "      storage_read: 1GB/s\n"
                              "models:\n"
                              "  - {name: m, weights: 100MiB}\n";

static void test_profile_applies_where_the_scenario_is_silent(void **state)
{
    (void)state;
    put("prof.yaml", "# a host profile\n"
                     "node:\n"
                     "  storage_read: 2.5GB/s\n"
                     "  h2d: 20GB/s\n"
                     "  verify: 3GB/s\n"
                     "  shm: {read: 9GB/s, per_load: 5GB/s}\n");
    const char *path = put("sc.yaml", scenario);
    struct core_spec *spec = NULL;
    struct core_diags d;
    assert_int_equal(load(path, NULL, 0, &spec, &d), 0);
    assert_int_equal(d.count, 0);
    assert_int_equal(spec->node_count, 3);
    /* a: storage_read, verify and shm read/per_load from the profile (GB =
     * 1e9 B); its own h2d 12GB/s and shm write 1GB/s stay. */
    assert_true(spec->nodes[0].storage_read_bps == 2.5e9);
    assert_true(spec->nodes[0].verify_bps == 3e9);
    assert_true(spec->nodes[0].shm_read_bps == 9e9);
    assert_true(spec->nodes[0].shm_per_load_bps == 5e9);
    assert_true(spec->nodes[0].shm_write_bps == 1e9);
    assert_true(spec->gpus[0].h2d_bps == 12e9);
    /* b-0 and b-1 (one entry): their own storage_read 1GB/s, the profile's
     * verify; no shm tier, so no shm values. */
    for (int i = 1; i < 3; i++) {
        assert_true(spec->nodes[i].storage_read_bps == 1e9);
        assert_true(spec->nodes[i].verify_bps == 3e9);
        assert_int_equal(spec->nodes[i].shm_bytes, 0);
        assert_true(spec->nodes[i].shm_read_bps == 0);
    }
    core_spec_free(spec);
    core_diags_free(&d);

    /* A --set of a key wins over the profile: it is the scenario's. */
    struct core_override o = {"cluster.nodes[0].verify", "7GB/s"};
    assert_int_equal(load(path, &o, 1, &spec, &d), 0);
    assert_true(spec->nodes[0].verify_bps == 7e9);
    assert_true(spec->nodes[1].verify_bps == 3e9);
    core_spec_free(spec);
    core_diags_free(&d);
}

static void test_nested_profile_is_overridden_by_its_includer(void **state)
{
    (void)state;
    /* prof.yaml gives storage_read 4GB/s and includes base.yaml, whose
     * storage_read 1.5GB/s loses and whose shm.read 6GB/s is taken. */
    put("base.yaml", "node: {storage_read: 1.5GB/s, shm: {read: 6GB/s}}\n");
    put("prof.yaml", "include: base.yaml\nnode: {storage_read: 4GB/s}\n");
    const char *path = put("sc.yaml", scenario);
    struct core_spec *spec = NULL;
    struct core_diags d;
    assert_int_equal(load(path, NULL, 0, &spec, &d), 0);
    assert_true(spec->nodes[0].storage_read_bps == 4e9);
    assert_true(spec->nodes[0].shm_read_bps == 6e9);
    assert_true(spec->nodes[0].verify_bps == 0); /* default: no verify cost */
    core_spec_free(spec);
    core_diags_free(&d);
}

static void test_missing_cycle_and_bad_values_are_errors(void **state)
{
    (void)state;
    char want[700];
    struct core_spec *spec = NULL;
    struct core_diags d;

    /* A missing file: at the include value, line 1 column 10. */
    unlink(put("prof.yaml", ""));
    char path[512]; /* put() returns one static buffer */
    snprintf(path, sizeof path, "%s", put("sc.yaml", scenario));
    assert_int_equal(load(path, NULL, 0, &spec, &d), THAW_EPARSE);
    assert_null(spec);
    snprintf(want, sizeof want, "%s/sc.yaml:1:10: include: cannot read include file", tmpdir);
    assert_true(has_diag(&d, want));
    core_diags_free(&d);

    /* A cycle prof -> loop -> prof: at loop.yaml's include (1:10). */
    put("prof.yaml", "include: loop.yaml\nnode: {verify: 1GB/s}\n");
    put("loop.yaml", "include: prof.yaml\nnode: {verify: 2GB/s}\n");
    assert_int_equal(load(path, NULL, 0, &spec, &d), THAW_EPARSE);
    snprintf(want, sizeof want, "%s/loop.yaml:1:10: include: include cycle: ", tmpdir);
    assert_true(has_diag(&d, want));
    core_diags_free(&d);

    /* A scenario including itself. */
    char self[512];
    snprintf(self, sizeof self, "%s", put("self.yaml", "include: self.yaml\ncluster: {}\n"));
    assert_int_equal(load(self, NULL, 0, &spec, &d), THAW_EPARSE);
    snprintf(want, sizeof want, "%s/self.yaml:1:10: include: include cycle: ", tmpdir);
    assert_true(has_diag(&d, want));
    core_diags_free(&d);

    /* A bad value and an unknown key, at their place in the profile. */
    put("prof.yaml", "node:\n  storage_read: fast\n  vram: 1GiB\n");
    assert_int_equal(load(path, NULL, 0, &spec, &d), THAW_EPARSE);
    snprintf(want, sizeof want,
             "%s/prof.yaml:2:17: node.storage_read: expected a bandwidth above zero", tmpdir);
    assert_true(has_diag(&d, want));
    snprintf(want, sizeof want, "%s/prof.yaml:3:3: node.vram: unknown key 'vram'", tmpdir);
    assert_true(has_diag(&d, want));
    core_diags_free(&d);

    /* A profile without node, and the include not a string. */
    put("prof.yaml", "include: {a: 1}\n");
    assert_int_equal(load(path, NULL, 0, &spec, &d), THAW_EPARSE);
    snprintf(want, sizeof want, "%s/prof.yaml:1:1: missing key 'node'", tmpdir);
    assert_true(has_diag(&d, want));
    snprintf(want, sizeof want, "%s/prof.yaml:1:11: include: expected a file name", tmpdir);
    assert_true(has_diag(&d, want));
    core_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_profile_applies_where_the_scenario_is_silent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nested_profile_is_overridden_by_its_includer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_cycle_and_bad_values_are_errors, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

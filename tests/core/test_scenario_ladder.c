/* test_scenario_ladder.c - the storage ladder's keys as the loader reads
 * them (core/scenario_ladder.c): tests/scenarios/good/ladder-keys.yaml
 * holds each once; its defaults (admission lru, survives_restart true, a
 * model's store local, peer off) where a key is absent; the refusals are in
 * tests/scenarios/bad/ladder-*.yaml (test_bad_corpus). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "spec.h"

static struct core_spec *load(const char *path, const struct core_override *o, int n)
{
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *spec = NULL;
    int rc = core_spec_load(path, o, n, &spec, &d);
    for (int i = 0; i < d.count; i++) {
        char line[1200];
        core_diag_format(&d.items[i], line, sizeof line);
        print_error("unexpected: %s\n", line);
    }
    core_diags_free(&d);
    assert_int_equal(rc, 0);
    return spec;
}

static void every_ladder_key(void **state)
{
    (void)state;
    struct core_spec *s = load("tests/scenarios/good/ladder-keys.yaml", NULL, 0);
    assert_int_equal(s->store_count, 2);
    assert_string_equal(s->stores[0].name, "s3");
    assert_true(s->stores[0].read_bps == 10e9);
    assert_true(s->stores[1].read_bps == 800e6);
    const struct core_node_spec *a = &s->nodes[0], *b = &s->nodes[1];
    assert_true(a->network_bps == 25e9 && a->nvlink_bps == 450e9);
    assert_true(a->disk_bytes == 2000000000000ULL);
    assert_true(a->disk_read_bps == 6e9 && a->disk_write_bps == 3e9);
    assert_string_equal(a->disk_admission, "preload");
    assert_false(a->disk_survives_restart);
    /* b: no network, no NVLink; the disk's defaults */
    assert_true(b->network_bps == 0 && b->nvlink_bps == 0);
    assert_true(b->disk_bytes == 1000000000000ULL);
    assert_string_equal(b->disk_admission, "lru");
    assert_true(b->disk_survives_restart);
    /* stores by 1-based index; local and absent are 0 */
    assert_int_equal(s->models[0].store, 2);
    assert_int_equal(s->models[1].store, 0);
    assert_int_equal(s->models[2].store, 0);
    assert_true(s->policy.peer);
    core_spec_free(s);
    /* --set reaches them like any key */
    const struct core_override o[] = {{"policy.peer", "off"},
                                      {"cluster.stores[1].read", "1GB/s"},
                                      {"models[2].store", "s3"}};
    s = load("tests/scenarios/good/ladder-keys.yaml", o, 3);
    assert_false(s->policy.peer);
    assert_true(s->stores[1].read_bps == 1e9);
    assert_int_equal(s->models[2].store, 1);
    core_spec_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_ladder_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

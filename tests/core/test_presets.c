/* test_presets.c - the scenario keys of deployments as they are run
 * (core/scenario_presets.c, core/scenario_models.c): `gpu: PRESET` on a
 * node, `params` + `dtype` and `engine: PRESET` on a model, `tp`, and a
 * scenario's own `presets:` file on top of the built-in one
 * (scenarios/presets.yaml). Each expected figure is read off that file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec.h"

#define GIB (1024ULL * 1024 * 1024)

static char dir[64];

static const char *put(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
    return path;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/thaw-test-presets-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[512];
    const char *names[] = {"a.yaml", "b.yaml", "mine.presets", "bad.presets"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

/* Loads; returns the spec or NULL, with the first diagnostic in first[]. */
static struct core_spec *load(const char *path, char *first, size_t len)
{
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *spec = NULL;
    core_spec_load(path, NULL, 0, &spec, &d);
    if (first) first[0] = '\0';
    if (d.count && first) core_diag_format(&d.items[0], first, len);
    core_diags_free(&d);
    return spec;
}

static void test_builtin_presets(void **state)
{
    (void)state;
    const char *p =
        put("a.yaml", "cluster:\n"
                      "  nodes:\n"
                      "    - {name: a, gpus: 8, gpu: H100-SXM-80GB, storage_read: 2GB/s}\n"
                      "    - {name: b, gpus: 2, gpu: L4, h2d: 20GB/s, storage_read: 2GB/s}\n"
                      "models:\n"
                      "  - {name: big, params: 70B, dtype: bf16, tp: 4, engine: vllm}\n"
                      "  - {name: q, params: 8B, dtype: int4}\n");
    char first[1200];
    struct core_spec *s = load(p, first, sizeof first);
    if (!s) fail_msg("%s", first);
    /* H100-SXM-80GB: vram 80GiB, h2d 64GB/s */
    assert_true(s->gpus[0].vram_bytes == 80 * GIB);
    assert_true(s->gpus[7].h2d_bps == 64e9);
    /* L4: vram 24GB; the node's own h2d (20GB/s) wins over the preset's 32 */
    assert_true(s->gpus[8].vram_bytes == 24000000000ULL);
    assert_true(s->gpus[8].h2d_bps == 20e9);
    /* 70e9 params x 2 B (bf16) = 140e9 B; default reserve 10%: 154e9 */
    assert_true(s->models[0].weights_bytes == 140000000000ULL);
    assert_true(s->models[0].vram_bytes == 154000000000ULL);
    assert_int_equal(s->models[0].tp, 4);
    /* 8e9 x 0.5 B (int4) = 4e9 B */
    assert_true(s->models[1].weights_bytes == 4000000000ULL);
    /* vllm: bootstrap 15.31 s before the copy (cpu), then compile 8.41 s
     * (cpu), cuda_graphs 2.89 s and kv_profile 10.3 s (waits) */
    assert_int_equal(s->models[0].phase_count, 4);
    assert_string_equal(s->models[0].phases[0].name, "bootstrap");
    assert_int_equal(s->models[0].phases[0].when, CORE_PHASE_BEFORE_COPY);
    assert_true(s->models[0].phases[0].cpu);
    assert_true(s->models[0].phases[0].work.mean_ns == 15310000000LL);
    assert_true(s->models[0].phases[2].work.mean_ns == 2890000000LL);
    assert_false(s->models[0].phases[3].cpu);
    assert_int_equal(s->models[1].phase_count, 0);
    /* what each preset expanded to, for `thaw check` */
    assert_int_equal(s->preset_note_count, 5);
    assert_string_equal(
        s->preset_notes[0],
        "cluster.nodes[0].gpu: gpu H100-SXM-80GB -> vram 80GiB, h2d 64GB/s per GPU");
    assert_non_null(strstr(s->preset_notes[2], "models[0].params: params 70B x bf16 (2 B each) "
                                               "-> weights 140000000000 B"));
    assert_non_null(strstr(s->preset_notes[3], "models[0].engine: engine vllm -> phases: "
                                               "bootstrap before cpu 15.31s, compile after cpu"));
    core_spec_free(s);
}

static void test_user_presets_file(void **state)
{
    (void)state;
    put("mine.presets", "gpus:\n"
                        "  MyGPU: {vram: 96GiB, h2d: 40GB/s}\n"
                        "  L4: {vram: 20GiB, h2d: 16GB/s}\n"
                        "dtypes:\n"
                        "  nf4: 0.5625\n");
    const char *p = put("b.yaml", "presets: mine.presets\n"
                                  "cluster:\n"
                                  "  nodes:\n"
                                  "    - {name: a, gpus: 2, gpu: MyGPU, storage_read: 2GB/s}\n"
                                  "    - {name: b, gpus: 1, gpu: L4, storage_read: 2GB/s}\n"
                                  "models:\n"
                                  "  - {name: m, params: 8B, dtype: nf4}\n");
    char first[1200];
    struct core_spec *s = load(p, first, sizeof first);
    if (!s) fail_msg("%s", first);
    assert_true(s->gpus[0].vram_bytes == 96 * GIB);
    assert_true(s->gpus[1].h2d_bps == 40e9);
    /* the user's L4 replaces the built-in one */
    assert_true(s->gpus[2].vram_bytes == 20 * GIB);
    /* 8e9 x 0.5625 = 4.5e9 */
    assert_true(s->models[0].weights_bytes == 4500000000ULL);
    core_spec_free(s);

    /* a mistake in the user's file is reported at its own line and column */
    put("bad.presets", "# one mistake\n"
                       "gpus:\n"
                       "  MyGPU: {vram: lots, h2d: 10GB/s}\n");
    p = put("b.yaml", "presets: bad.presets\n"
                      "cluster:\n"
                      "  nodes:\n"
                      "    - {name: a, gpus: 2, vram: 8GiB, h2d: 1GB/s, storage_read: 2GB/s}\n"
                      "models:\n"
                      "  - {name: m, weights: 1GiB}\n");
    assert_null(load(p, first, sizeof first));
    assert_non_null(strstr(first, "bad.presets:3:17: gpus.MyGPU.vram: expected a size"));
    /* a missing file names the key */
    p = put("b.yaml", "presets: nowhere.presets\n"
                      "cluster:\n"
                      "  nodes:\n"
                      "    - {name: a, gpus: 2, vram: 8GiB, h2d: 1GB/s, storage_read: 2GB/s}\n"
                      "models:\n"
                      "  - {name: m, weights: 1GiB}\n");
    assert_null(load(p, first, sizeof first));
    assert_non_null(strstr(first, "b.yaml:1:10: presets: presets file "));
    assert_non_null(strstr(first, "nowhere.presets: cannot open it"));
}

/* tp 8 on a node of 8 H100s: 140e9 x 1.1 / 8 = 19.25e9 per GPU, fits; a
 * second node of 4 cannot hold it, but one node is enough. tp 16 fails. */
static void test_tp_fits_some_node(void **state)
{
    (void)state;
    const char *p =
        put("a.yaml", "cluster:\n"
                      "  nodes:\n"
                      "    - {name: a, gpus: 8, gpu: H100-SXM-80GB, storage_read: 2GB/s}\n"
                      "    - {name: b, gpus: 4, gpu: H100-SXM-80GB, storage_read: 2GB/s}\n"
                      "models:\n"
                      "  - {name: big, params: 70B, dtype: bf16, tp: 8}\n");
    char first[1200];
    struct core_spec *s = load(p, first, sizeof first);
    if (!s) fail_msg("%s", first);
    assert_true(core_model_share_bytes(&s->models[0]) == 19250000000ULL);
    core_spec_free(s);
    p = put("a.yaml", "cluster:\n"
                      "  nodes:\n"
                      "    - {name: a, gpus: 8, gpu: H100-SXM-80GB, storage_read: 2GB/s}\n"
                      "models:\n"
                      "  - {name: big, params: 70B, dtype: bf16, tp: 16}\n");
    assert_null(load(p, first, sizeof first));
    /* 154e9 / 16 = 9.625e9 B = 8.964 GiB per GPU; 154e9 B = 143.4 GiB */
    assert_non_null(strstr(first, "a.yaml:5:47: models[0].tp: model 'big' at tp 16 needs 16 GPUs "
                                  "of one node with 8.964GiB each (143.4GiB in all); no node has "
                                  "that many (at most 8)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_presets),
        cmocka_unit_test(test_user_presets_file),
        cmocka_unit_test(test_tp_fits_some_node),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

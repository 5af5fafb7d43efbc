/* test_trace.c - traces (core/trace_line.c, core/scenario_trace.c,
 * workload/trace.c): hand-made files in each layout (tests/workload/data/)
 * loaded through the scenario loader and streamed by the world, giving the
 * arrivals derived by hand in the comments; malformed, header-only and
 * unsorted files refused with trace-file:line:col; one trace shared by a
 * count: entry without two models getting the same arrivals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

#define MS 1000000LL
#define S 1000000000LL

static char tmpdir[] = "/tmp/thaw-test-trace-XXXXXX";
static char data[PATH_MAX - 256];

static int setup(void **state)
{
    (void)state;
    char cwd[PATH_MAX - 320];
    if (!getcwd(cwd, sizeof cwd)) return -1;
    snprintf(data, sizeof data, "%s/tests/workload/data", cwd);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[sizeof tmpdir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A scenario with `models` (YAML list items) and one workload whose
 * arrivals are `trace` (the file name is relative to data/). */
static const char *scenario(const char *models, const char *model, const char *trace,
                            const char *service)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/s.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "cluster:\n  nodes:\n    - {name: n, gpus: 2, vram: 80GiB, h2d: 25GB/s, "
            "storage_read: 2GB/s}\n"
            "models:\n%s"
            "workload:\n  - model: %s\n    arrivals: {trace: {%s}}\n    service: %s\n",
            models, model, trace, service);
    fclose(f);
    return path;
}

static struct core_spec *load(const char *path)
{
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *s = NULL;
    int rc = core_spec_load(path, NULL, 0, &s, &d);
    for (int i = 0; i < d.count; i++) {
        char b[1024];
        core_diag_format(&d.items[i], b, sizeof b);
        print_message("unexpected: %s\n", b);
    }
    assert_int_equal(rc, 0);
    core_diags_free(&d);
    return s;
}

/* Loads a scenario that must fail, and checks a diagnostic contains want. */
static void load_fails_with(const char *path, const char *want)
{
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *s = NULL;
    assert_int_not_equal(core_spec_load(path, NULL, 0, &s, &d), 0);
    bool found = false;
    for (int i = 0; i < d.count; i++) {
        char b[1024];
        core_diag_format(&d.items[i], b, sizeof b);
        if (strstr(b, want))
            found = true;
        else
            print_message("other: %s\n", b);
    }
    if (!found) fail_msg("no diagnostic has \"%s\"", want);
    core_diags_free(&d);
}

/* Every arrival of workload w: times into t[], services into svc[]. */
static int arrivals(const struct core_spec *s, int w, int64_t *t, int64_t *svc, int max)
{
    struct wl_world *world;
    struct thaw_err err;
    assert_int_equal(wl_world_new(s, 42, &world, &err), 0);
    int n = 0;
    int64_t at;
    while (wl_world_peek(world, w, &at)) {
        struct wl_input in;
        assert_true(wl_world_take(world, w, &in));
        if (n < max) {
            t[n] = in.t_ns;
            if (svc) svc[n] = in.service_ns;
        }
        n++;
    }
    wl_world_free(world);
    return n;
}

static void azure_llm_with_crlf_and_tokens(void **state)
{
    (void)state;
    /* azure-llm-crlf.csv, CRLF endings, relative to the first timestamp:
     * 18:15:46.68059 -> 0; 18:15:47.0 -> 0.31941 s; 18:15:50.18059 -> 3.5 s.
     * Service = 30 ms + 0.2 ms x context + 20 ms x generated:
     * 30 + 74.8 + 880 = 984.8 ms; 30 + 20 + 200 = 250 ms; 30 + 400 + 100 =
     * 530 ms. */
    char tr[PATH_MAX + 256];
    snprintf(tr, sizeof tr, "file: %s/azure-llm-crlf.csv, format: azure-llm", data);
    struct core_spec *s =
        load(scenario("  - {name: m, weights: 1GiB}\n", "m", tr,
                      "{tokens: {prefill_per_token: 0.2ms, decode_per_token: 20ms, fixed: 30ms}}"));
    assert_int_equal(s->workloads[0].trace.lines, 3);
    int64_t t[8], svc[8];
    assert_int_equal(arrivals(s, 0, t, svc, 8), 3);
    assert_true(t[0] == 0 && t[1] == 319410000 && t[2] == 3500 * MS);
    assert_true(svc[0] == 984800000 && svc[1] == 250 * MS && svc[2] == 530 * MS);
    core_spec_free(s);

    /* start: a given instant; speed 2 halves the gaps; 18:15:47 -> 0, the
     * first line (before start) skipped, 18:15:50.18059 -> 3.18059 s / 2. */
    snprintf(tr, sizeof tr,
             "file: %s/azure-llm-crlf.csv, format: azure-llm, start: '2023-11-16 18:15:47', "
             "speed: 2",
             data);
    s = load(scenario("  - {name: m, weights: 1GiB}\n", "m", tr, "10ms"));
    assert_int_equal(arrivals(s, 0, t, NULL, 8), 2);
    assert_true(t[0] == 0 && t[1] == 1590295000);
    core_spec_free(s);
}

static void azure_llm_refusals(void **state)
{
    (void)state;
    char tr[PATH_MAX + 256];
    snprintf(tr, sizeof tr, "file: %s/azure-llm-header-only.csv, format: azure-llm", data);
    load_fails_with(scenario("  - {name: m, weights: 1GiB}\n", "m", tr, "10ms"),
                    "azure-llm-header-only.csv holds no data lines");
    snprintf(tr, sizeof tr, "file: %s/azure-llm-unsorted.csv, format: azure-llm", data);
    load_fails_with(scenario("  - {name: m, weights: 1GiB}\n", "m", tr, "10ms"),
                    "azure-llm-unsorted.csv:3:1: timestamps must not decrease");
    /* Line 3's ContextTokens "1x0" starts at byte 29: column 29, inside the
     * scenario's diagnostic at the trace's file key (s.yaml line 8). */
    snprintf(tr, sizeof tr, "file: %s/azure-llm-malformed.csv, format: azure-llm", data);
    load_fails_with(scenario("  - {name: m, weights: 1GiB}\n", "m", tr, "10ms"),
                    "azure-llm-malformed.csv:3:29: expected a token count");
    load_fails_with(scenario("  - {name: m, weights: 1GiB}\n", "m", tr, "10ms"), "s.yaml:8:");
    /* Tokens need token counts: a CSV of seconds has none. */
    snprintf(tr, sizeof tr, "file: %s/seconds.csv", data);
    load_fails_with(
        scenario("  - {name: m, weights: 1GiB}\n", "m", tr, "{tokens: {decode_per_token: 20ms}}"),
        "service from tokens needs a trace with token counts");
}

static void jsonl_mooncake(void **state)
{
    (void)state;
    /* mooncake.jsonl: 27482 ms, 27482 ms, (blank line), 30000.5 ms, nested
     * arrays and a "}" inside a string skipped: 0, 0, 2518.5 ms. Tokens:
     * decode 1 ms x output + prefill 0.001 ms x input: 52 + 6.955 = 58.955 ms,
     * 1 + 0.01 = 1.01 ms, 2 + 0.001 = 2.001 ms. */
    char tr[PATH_MAX + 256];
    snprintf(tr, sizeof tr, "file: %s/mooncake.jsonl, format: jsonl", data);
    struct core_spec *s =
        load(scenario("  - {name: m, weights: 1GiB}\n", "m", tr,
                      "{tokens: {prefill_per_token: 1us, decode_per_token: 1ms}}"));
    int64_t t[8], svc[8];
    assert_int_equal(arrivals(s, 0, t, svc, 8), 3);
    assert_true(t[0] == 0 && t[1] == 0 && t[2] == 2518500000LL);
    assert_true(svc[0] == 58955000 && svc[1] == 1010000 && svc[2] == 2001000);
    core_spec_free(s);
}

static void many_models_by_rank_hash_mapping_and_split(void **state)
{
    (void)state;
    /* models.jsonl: ids a (0, 5 s), b (1, 2, 4 s), c (3 s). Rank: m-0 takes
     * the busiest (b), m-1 the next (a: 2 lines), m-2 c. */
    char tr[PATH_MAX + 256];
    const char *group = "  - {name: m, weights: 1GiB, count: 3}\n";
    snprintf(tr, sizeof tr, "file: %s/models.jsonl, format: jsonl, model_column: model", data);
    struct core_spec *s = load(scenario(group, "m", tr, "10ms"));
    int64_t t[8];
    assert_string_equal(s->workloads[0].trace.id, "b");
    assert_int_equal(arrivals(s, 0, t, NULL, 8), 3);
    /* Relative to the file's first timestamp (0 ms, a line of a), shared by
     * every model: b at 1, 2 and 4 s. */
    assert_true(t[0] == 1 * S && t[1] == 2 * S && t[2] == 4 * S);
    core_spec_free(s);
    snprintf(tr, sizeof tr, "file: %s/models.jsonl, format: jsonl, model_column: model, start: 0",
             data);
    s = load(scenario(group, "m", tr, "10ms"));
    assert_int_equal(arrivals(s, 0, t, NULL, 8), 3);
    assert_true(t[0] == 1 * S && t[1] == 2 * S && t[2] == 4 * S);
    assert_int_equal(arrivals(s, 1, t, NULL, 8), 2);
    assert_true(t[0] == 0 && t[1] == 5 * S);
    assert_int_equal(arrivals(s, 2, t, NULL, 8), 1);
    assert_true(t[0] == 3 * S);
    core_spec_free(s);

    /* An explicit mapping. */
    snprintf(tr, sizeof tr,
             "file: %s/models.jsonl, format: jsonl, model_column: model, start: 0, "
             "mapping: {m-0: c, m-1: a, m-2: b}",
             data);
    s = load(scenario(group, "m", tr, "10ms"));
    assert_int_equal(arrivals(s, 0, t, NULL, 8), 1);
    assert_true(t[0] == 3 * S);
    core_spec_free(s);
    snprintf(tr, sizeof tr,
             "file: %s/models.jsonl, format: jsonl, model_column: model, mapping: {m-0: c, "
             "m-1: zz, m-2: b}",
             data);
    load_fails_with(scenario(group, "m", tr, "10ms"), "id \"zz\" does not occur in trace");
    snprintf(tr, sizeof tr,
             "file: %s/models.jsonl, format: jsonl, model_column: model, mapping: {m-0: c, "
             "m-1: b, m-2: c}",
             data);
    load_fails_with(scenario(group, "m", tr, "10ms"), "id \"c\" is already mapped to model 'm-0'");

    /* Hash: the three models' lines partition the file (6 lines). */
    snprintf(tr, sizeof tr,
             "file: %s/models.jsonl, format: jsonl, model_column: model, "
             "assign: hash",
             data);
    s = load(scenario(group, "m", tr, "10ms"));
    int total = 0;
    for (int k = 0; k < 3; k++)
        total += arrivals(s, k, t, NULL, 8);
    assert_int_equal(total, 6);
    core_spec_free(s);

    /* No id column: split. seconds.csv holds 0..9 s; m-k takes lines k,
     * k+3, ...: m-0 0, 3, 6, 9 s; m-1 1, 4, 7 s; m-2 2, 5, 8 s. No two
     * models share an instant. */
    snprintf(tr, sizeof tr, "file: %s/seconds.csv", data);
    s = load(scenario(group, "m", tr, "10ms"));
    for (int k = 0; k < 3; k++) {
        int n = arrivals(s, k, t, NULL, 8);
        assert_int_equal(n, k == 0 ? 4 : 3);
        for (int i = 0; i < n; i++)
            assert_true(t[i] == (k + 3 * i) * S);
    }
    core_spec_free(s);
    /* Rank with more models than ids: refused. */
    snprintf(tr, sizeof tr, "file: %s/models.jsonl, format: jsonl, model_column: model", data);
    load_fails_with(scenario("  - {name: m, weights: 1GiB, count: 4}\n", "m", tr, "10ms"),
                    "holds 3 distinct ids for the 4 models");
}

static void csv_window_and_speed(void **state)
{
    (void)state;
    /* seconds.csv 0..9 s; window [2 s, 5 s): 2, 3, 4 s -> 0, 1, 2 s; speed
     * 4: 0, 250, 500 ms. */
    char tr[PATH_MAX + 256];
    snprintf(tr, sizeof tr, "file: %s/seconds.csv, window: {from: 2s, to: 5s}, speed: 4", data);
    struct core_spec *s = load(scenario("  - {name: m, weights: 1GiB}\n", "m", tr, "10ms"));
    int64_t t[8];
    assert_int_equal(arrivals(s, 0, t, NULL, 8), 3);
    assert_true(t[0] == 0 && t[1] == 250 * MS && t[2] == 500 * MS);
    core_spec_free(s);
}

static void azure_functions_minutes(void **state)
{
    (void)state;
    /* functions.csv: fA 2 in minute 1, 1 in minute 3; fB 4 in minute 2; fC
     * 1 in minute 1. Rank: f-0 fB, f-1 fA, f-2 fC. Minute m (1-based) is
     * [(m-1) 60 s, m 60 s). */
    char tr[PATH_MAX + 256];
    const char *group = "  - {name: f, weights: 1GiB, count: 3}\n";
    for (int spread = 0; spread < 2; spread++) {
        snprintf(tr, sizeof tr, "file: %s/functions.csv, format: azure-functions%s", data,
                 spread ? ", spread: poisson" : "");
        struct core_spec *s = load(scenario(group, "f", tr, "10ms"));
        assert_string_equal(s->workloads[0].trace.id, "fB");
        assert_string_equal(s->workloads[1].trace.id, "fA");
        int64_t t[64];
        int n = arrivals(s, 0, t, NULL, 64);
        if (!spread) {
            /* Uniform: exactly the counts, in their minutes, sorted. */
            assert_int_equal(n, 4);
            for (int i = 0; i < 4; i++)
                assert_true(t[i] >= 60 * S && t[i] < 120 * S && (i == 0 || t[i] >= t[i - 1]));
            n = arrivals(s, 1, t, NULL, 64);
            assert_int_equal(n, 3);
            assert_true(t[0] < 60 * S && t[1] < 60 * S && t[2] >= 120 * S && t[2] < 180 * S);
        } else {
            /* Poisson: the count varies, the minute does not. */
            for (int i = 0; i < n && i < 64; i++)
                assert_true(t[i] >= 60 * S && t[i] < 120 * S);
        }
        core_spec_free(s);
    }
    /* By app: HashApp app1 sums fA and fB (7), app2 is fC (1). */
    snprintf(tr, sizeof tr,
             "file: %s/functions.csv, format: azure-functions, model_column: HashApp", data);
    struct core_spec *s =
        load(scenario("  - {name: f, weights: 1GiB, count: 2}\n", "f", tr, "10ms"));
    int64_t t[64];
    assert_int_equal(arrivals(s, 0, t, NULL, 64), 7);
    assert_int_equal(arrivals(s, 1, t, NULL, 64), 1);
    core_spec_free(s);
}

static void azure_functions_big_count_and_malformed(void **state)
{
    (void)state;
    /* A count of 2^31 in minute 1440 is a count, not an int overflow: it is
     * spread one arrival at a time (no buffer of 2^31), each in [1439 min,
     * 1440 min), ascending, about 60 s / 2^31 = 28 ns apart. */
    char tr[PATH_MAX + 256];
    snprintf(tr, sizeof tr, "file: %s/functions-big.csv, format: azure-functions", data);
    struct core_spec *s = load(scenario("  - {name: f, weights: 1GiB}\n", "f", tr, "10ms"));
    struct wl_world *world;
    struct thaw_err err;
    assert_int_equal(wl_world_new(s, 1, &world, &err), 0);
    int64_t last = 0;
    for (int i = 0; i < 1000; i++) {
        struct wl_input in;
        assert_true(wl_world_take(world, 0, &in));
        assert_true(in.t_ns >= 1439 * 60 * S && in.t_ns < 1440 * 60 * S && in.t_ns >= last);
        last = in.t_ns;
    }
    /* 1000 arrivals span about 1000 x 28 ns: well under 1 ms. */
    assert_true(last - 1439 * 60 * S < 1 * MS);
    wl_world_free(world);
    core_spec_free(s);
    /* Line 2: minute 10 holds "x7" at column 35; line 3 has 100 columns. */
    snprintf(tr, sizeof tr, "file: %s/functions-malformed.csv, format: azure-functions", data);
    const char *p = scenario("  - {name: f, weights: 1GiB}\n", "f", tr, "10ms");
    load_fails_with(p, "functions-malformed.csv:2:35: expected an invocation count");
    load_fails_with(p, "functions-malformed.csv:3:");
    load_fails_with(p, "expected 1444 columns (HashOwner,HashApp,HashFunction,Trigger,1..1440), "
                       "found 100");
}

static void azure_functions_durations(void **state)
{
    (void)state;
    /* durations.csv (Azure's function_durations_percentiles layout, CRLF):
     * fA: Average 100 ms, p50 80, p99 400 -> lognormal of mean 100 ms,
     *   sigma = ln(400 / 80) / 2.3263479 = 0.69183, cv = sqrt(exp(sigma^2) - 1)
     *   = sqrt(exp(0.47863) - 1) = 0.78347;
     * fB: Average 0.4 ms -> the 1 ms floor, p50 0 -> fixed;
     * fC: p99 = p50 -> fixed at its Average, 2500 ms.
     * Models by rank: f-0 fB, f-1 fA, f-2 fC. */
    char tr[PATH_MAX + 256], svc[PATH_MAX + 64];
    snprintf(tr, sizeof tr, "file: %s/functions.csv, format: azure-functions", data);
    snprintf(svc, sizeof svc, "{durations: %s/durations.csv}", data);
    struct core_spec *s = load(scenario("  - {name: f, weights: 1GiB, count: 3}\n", "f", tr, svc));
    const struct core_dist *b = &s->workloads[0].service, *a = &s->workloads[1].service,
                           *c = &s->workloads[2].service;
    assert_int_equal(a->kind, CORE_DIST_LOGNORMAL);
    assert_true(a->mean_ns == 100 * MS && fabs(a->cv - 0.78347) < 1e-4);
    assert_true(b->kind == CORE_DIST_FIXED && b->mean_ns == 1 * MS);
    assert_true(c->kind == CORE_DIST_FIXED && c->mean_ns == 2500 * MS);
    core_spec_free(s);
    /* By app (ids app1, app2): refused, durations are per function. */
    snprintf(tr, sizeof tr,
             "file: %s/functions.csv, format: azure-functions, model_column: HashApp", data);
    load_fails_with(scenario("  - {name: f, weights: 1GiB, count: 2}\n", "f", tr, svc),
                    "durations need an azure-functions trace with model_column HashFunction");
}

/* functions.csv (azure-functions) with trace_extra, its models' weights
 * from data/memory (memory_extra inside weights_from). */
static const char *memory_trace(const char *trace_extra, const char *memory,
                                const char *memory_extra)
{
    static char tr[PATH_MAX * 2];
    snprintf(tr, sizeof tr,
             "file: %s/functions.csv, format: azure-functions%s, weights_from: {memory: %s/%s%s}",
             data, trace_extra, data, memory, memory_extra);
    return tr;
}

static void expect_sizes(const struct core_spec *s, int model, uint64_t weights, uint64_t vram)
{
    assert_true(s->models[model].weights_bytes == weights);
    assert_true(s->models[model].vram_bytes == vram);
}

static void azure_functions_weights_from_memory(void **state)
{
    (void)state;
    /* memory.csv (Azure's app_memory_percentiles layout, CRLF): app9 (in no
     * model's app), app1 AverageAllocatedMb 160, pct99 240, then a second
     * app1 row that is ignored (the first row of an app counts); no app2.
     * Models by rank: f-0 fB, f-1 fA (both app1), f-2 fC (app2).
     * scale 64MiB: 160 x 64 MiB = 10 GiB = 10737418240 bytes for f-0 and
     * f-1; the footprint keeps the entry's ratio: 1GiB + 10% reserve =
     * 1073741824 + 107374182 = 1181116006, times 10 = 11811160060. f-2 has
     * no row: the entry's 1 GiB and 1181116006 stay. */
    const char *group = "  - {name: f, weights: 1GiB, count: 3}\n";
    struct core_spec *s =
        load(scenario(group, "f", memory_trace("", "memory.csv", ", scale: 64MiB"), "10ms"));
    assert_string_equal(s->workloads[0].trace.id, "fB");
    expect_sizes(s, 0, 10737418240ULL, 11811160060ULL);
    expect_sizes(s, 1, 10737418240ULL, 11811160060ULL);
    expect_sizes(s, 2, 1073741824ULL, 1181116006ULL);
    core_spec_free(s);
    /* By app with column pct99 and the default scale (1 MiB per MB): f-0 is
     * app1 (7 invocations): 240 MiB = 251658240 bytes; an explicit vram:
     * 2GiB on 1GiB keeps ratio 2: 503316480; f-1 (app2) keeps 1 GiB, 2 GiB. */
    s = load(scenario(
        "  - {name: f, weights: 1GiB, vram: 2GiB, count: 2}\n", "f",
        memory_trace(", model_column: HashApp", "memory.csv", ", column: AverageAllocatedMb_pct99"),
        "10ms"));
    assert_string_equal(s->workloads[0].trace.id, "app1");
    expect_sizes(s, 0, 251658240ULL, 503316480ULL);
    expect_sizes(s, 1, 1073741824ULL, 2147483648ULL);
    core_spec_free(s);
    /* Malformed (LF): line 2 "abc" in AverageAllocatedMb at column 14
     * ("o1,app1,1440," is 13 bytes); line 3 has 4 of the 12 columns (its
     * end, column 13); line 4 "-4" in pct50 at column 20. */
    const char *p = scenario(group, "f", memory_trace("", "memory-malformed.csv", ""), "10ms");
    load_fails_with(p, "memory-malformed.csv:2:14: expected a number (0 or more) for "
                       "AverageAllocatedMb, found \"abc\"");
    load_fails_with(p, "memory-malformed.csv:3:13: expected 12 columns (as the header), found 4");
    load_fails_with(p, "memory-malformed.csv:4:20: expected a number (0 or more) for "
                       "AverageAllocatedMb_pct50, found \"-4\"");
    load_fails_with(scenario(group, "f", memory_trace("", "memory-noapp.csv", ""), "10ms"),
                    "memory-noapp.csv:1:1: no column named HashApp");
    /* The wrong id column, an unknown memory column. */
    load_fails_with(
        scenario(group, "f", memory_trace(", model_column: Trigger", "memory.csv", ""), "10ms"),
        "weights from memory need an azure-functions trace with model_column "
        "HashFunction or HashApp");
    load_fails_with(
        scenario(group, "f", memory_trace("", "memory.csv", ", column: Average"), "10ms"),
        "weights_from.column");
}

static void token_service_preset(void **state)
{
    (void)state;
    /* scenarios/presets/tokens.yaml, llama-3.3-70b-fp8-tp2-h100-nim:
     * prefill 79.78 us, decode 18.745 ms, fixed 7.88 ms (derived there from
     * NVIDIA's published TTFT and ITL). azure-llm-crlf.csv holds (context,
     * generated) = (374, 44), (100, 10), (2000, 5):
     * 7880000 + 374 x 79780 + 44 x 18745000 = 862497720 ns;
     * 7880000 + 100 x 79780 + 10 x 18745000 = 203308000 ns;
     * 7880000 + 2000 x 79780 + 5 x 18745000 = 261165000 ns. */
    char tr[PATH_MAX + 256];
    snprintf(tr, sizeof tr, "file: %s/azure-llm-crlf.csv, format: azure-llm", data);
    const char *model = "  - {name: m, weights: 1GiB}\n";
    struct core_spec *s =
        load(scenario(model, "m", tr, "{tokens: {preset: llama-3.3-70b-fp8-tp2-h100-nim}}"));
    int64_t t[8], svc[8];
    assert_int_equal(arrivals(s, 0, t, svc, 8), 3);
    assert_true(svc[0] == 862497720 && svc[1] == 203308000 && svc[2] == 261165000);
    core_spec_free(s);
    /* A key beside the preset replaces its figure: fixed 30 ms adds
     * 30000000 - 7880000 = 22120000 to each: 884617720 for the first. */
    s = load(scenario(model, "m", tr,
                      "{tokens: {preset: llama-3.3-70b-fp8-tp2-h100-nim, fixed: 30ms}}"));
    assert_int_equal(arrivals(s, 0, t, svc, 8), 3);
    assert_true(svc[0] == 884617720);
    core_spec_free(s);
    load_fails_with(scenario(model, "m", tr, "{tokens: {preset: llama-3.3-70b-fp8-tp2-h100-nin}}"),
                    "unknown token preset 'llama-3.3-70b-fp8-tp2-h100-nin'; did you mean "
                    "'llama-3.3-70b-fp8-tp2-h100-nim'?");
    load_fails_with(scenario(model, "m", tr, "{tokens: {preset: a100}}"),
                    "unknown token preset 'a100' (");
}

static void line_parser_direct(void **state)
{
    (void)state;
    struct core_trace_spec t = {.format = CORE_TRACE_AZURE_LLM, .id_column = -1};
    struct core_trace_parser p;
    struct core_trace_rec *rec = malloc(sizeof *rec);
    int col;
    char msg[200];
    core_trace_parser_init(&p, &t, NULL);
    const char *l = "2023-11-16 18:15:46.6805900,374,44";
    assert_int_equal(core_trace_parse(&p, l, strlen(l), rec, &col, msg, sizeof msg), 1);
    /* 2023-11-16 is day 19677 since 1970-01-01: 19677 x 86400 + 18 x 3600 +
     * 15 x 60 + 46 = 1700158546 s, plus .68059 s. */
    assert_true(rec->t_ns == 1700158546680590000LL);
    assert_true(rec->in_tokens == 374 && rec->out_tokens == 44);
    free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(azure_llm_with_crlf_and_tokens),
        cmocka_unit_test(azure_llm_refusals),
        cmocka_unit_test(jsonl_mooncake),
        cmocka_unit_test(many_models_by_rank_hash_mapping_and_split),
        cmocka_unit_test(csv_window_and_speed),
        cmocka_unit_test(azure_functions_minutes),
        cmocka_unit_test(azure_functions_big_count_and_malformed),
        cmocka_unit_test(azure_functions_durations),
        cmocka_unit_test(azure_functions_weights_from_memory),
        cmocka_unit_test(token_service_preset),
        cmocka_unit_test(line_parser_direct),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

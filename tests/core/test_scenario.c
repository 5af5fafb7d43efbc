/* test_scenario.c - core_spec_load() on the reference scenarios (values
 * derived by hand from the files), --set overrides, CSV traces, relative
 * paths, the diagnostics' shape, and hostile inputs (empty, binary, alias
 * bomb, 100,000 keys, deep nesting, huge counts) that must end in a clear
 * error, quickly, without a crash. The one-error-per-file cases live in
 * tests/scenarios/bad/ (test_bad_corpus.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"
#include "scenario_internal.h"
#include "spec.h"

#define SEC(x) ((int64_t)(x)*1000000000LL)
#define GIB (1024ULL * 1024 * 1024)

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/thaw-test-scenario-XXXXXX");
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

/* Writes `len` bytes to tmpdir/name; returns the path (static storage per call site
 * is not needed: callers copy it). */
static const char *put(const char *name, const char *text, size_t len)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static const char *put_text(const char *name, const char *text)
{
    return put(name, text, strlen(text));
}

static struct core_spec *load_ok(const char *path, const struct core_override *o, int n)
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
    assert_int_equal(rc, 0);
    assert_int_equal(d.count, 0);
    assert_non_null(spec);
    core_diags_free(&d);
    return spec;
}

/* Loads a file expected to fail; returns its diagnostics (caller frees). */
static struct core_diags load_bad(const char *path, const struct core_override *o, int n,
                                  int want_rc)
{
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *spec = (struct core_spec *)&d; /* must come back NULL */
    int rc = core_spec_load(path, o, n, &spec, &d);
    assert_int_equal(rc, want_rc);
    assert_null(spec);
    assert_true(d.count >= 1);
    return d;
}

/* True when some diagnostic's formatted line contains `want`. */
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

static const char *base_cluster = "cluster:\n"
                                  "  nodes:\n"
                                  "    - name: n\n"
                                  "      gpus: 2\n"
                                  "      vram: 80GiB\n"
                                  "      h2d: 25GB/s\n"
                                  "      storage_read: 2GB/s\n";

/* ---- the reference scenarios ---------------------------------------------- */

static void test_every_reference_scenario_loads(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/scenarios", THAW_SOURCE_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".yaml")) continue;
        if (!strcmp(e->d_name, "presets.yaml")) continue; /* the presets, not a scenario */
        char p[800];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct core_spec *spec = load_ok(p, NULL, 0);
        assert_string_equal(spec->path, p);
        assert_int_equal(strlen(spec->sha256_hex), 64);
        core_spec_free(spec);
        n++;
    }
    closedir(d);
    assert_true(n >= 4); /* the four reference scenarios at least */
}

static void test_chained(void **state)
{
    (void)state;
    struct core_spec *s = load_ok("scenarios/chained-cold-start.yaml", NULL, 0);
    assert_int_equal(s->node_count, 2);
    assert_int_equal(s->gpu_count, 4); /* primary: 3, backup: 1 */
    assert_string_equal(s->nodes[1].name, "backup");
    assert_int_equal(s->nodes[1].first_gpu, 3);
    assert_true(s->nodes[1].storage_read_bps == 536870912.0); /* 512 * 2^20 */
    assert_true(s->gpus[3].vram_bytes == 48 * GIB);
    assert_string_equal(s->gpus[3].name, "backup/gpu0");
    assert_true(s->gpus[0].h2d_bps == 25e9);
    assert_int_equal(s->nodes[1].init.kind, CORE_DIST_FIXED);
    assert_true(s->nodes[1].init.mean_ns == SEC(2));
    assert_int_equal(s->model_count, 3);
    const char *names[] = {"A", "B", "C"};
    for (int m = 0; m < 3; m++) {
        assert_string_equal(s->models[m].name, names[m]);
        assert_true(s->models[m].weights_bytes == 14 * GIB);
        assert_true(s->models[m].vram_bytes == 14 * GIB); /* explicit: no reserve */
        assert_int_equal(s->models[m].replicas_min, 1);
        assert_int_equal(s->models[m].replicas_max, 1);
        assert_int_equal(s->models[m].standby, CORE_STANDBY_COLD);
        assert_int_equal(s->models[m].initial_gpu_count, 1);
        assert_int_equal(s->models[m].initial_gpus[0], m); /* primary/gpuM */
    }
    assert_int_equal(s->fault_count, 3);
    const int64_t at[] = {0, SEC(10), SEC(15)};
    for (int f = 0; f < 3; f++) {
        assert_int_equal(s->faults[f].target, CORE_FAULT_GPU);
        assert_int_equal(s->faults[f].gpu, f);
        assert_int_equal(s->faults[f].node, 0);
        assert_true(s->faults[f].at_ns == at[f]);
        assert_true(s->faults[f].recover_after_ns == 0);
    }
    assert_string_equal(s->policy.queue, "fifo");
    assert_int_equal(s->policy.max_loads_per_node, 1);
    /* One lone load on backup: 2 s init + 14 GiB / 512 MiB/s = 2 + 28 = 30 s. */
    assert_true(core_spec_lone_load_ns(s, 0, 3, false) == SEC(30));
    core_spec_free(s);
}

static void test_scaling_and_count_override(void **state)
{
    (void)state;
    struct core_spec *s = load_ok("scenarios/scaling.yaml", NULL, 0);
    assert_int_equal(s->gpu_count, 8);
    assert_int_equal(s->model_count, 8);
    for (int m = 0; m < 8; m++) {
        char want[16];
        snprintf(want, sizeof want, "m-%d", m);
        assert_string_equal(s->models[m].name, want);
        assert_string_equal(s->models[m].group, "m");
    }
    /* `model: m` names the entry: one workload per model, in order. */
    assert_int_equal(s->workload_count, 8);
    for (int w = 0; w < 8; w++) {
        assert_int_equal(s->workloads[w].model, w);
        assert_int_equal(s->workloads[w].arrivals, CORE_ARRIVAL_BURSTS);
        assert_int_equal(s->workloads[w].burst_count, 1);
        assert_int_equal(s->workloads[w].bursts[0].count, 1);
        assert_true(s->workloads[w].service.mean_ns == SEC(1));
        assert_int_equal(s->workloads[w].concurrency, 1);
    }
    /* 2 s + 14 GiB / (512 MiB/s of h2d; storage is 64 GiB/s) = 30 s. */
    assert_true(core_spec_lone_load_ns(s, 0, 0, false) == SEC(30));
    core_spec_free(s);

    struct core_override o[] = {{"models[0].count", "2"},
                                {"cluster.nodes[0].gpus", "2"},
                                {"policy.max_loads_per_node", "1"},
                                {"cluster.nodes[0].storage_read", "512MiB/s"}};
    s = load_ok("scenarios/scaling.yaml", o, 4);
    assert_int_equal(s->model_count, 2);
    assert_string_equal(s->models[1].name, "m-1");
    assert_int_equal(s->workload_count, 2);
    assert_int_equal(s->gpu_count, 2);
    assert_int_equal(s->policy.max_loads_per_node, 1);
    assert_true(s->nodes[0].storage_read_bps == 536870912.0);
    core_spec_free(s);
}

static void test_failover(void **state)
{
    (void)state;
    struct core_spec *s = load_ok("scenarios/failover-standby.yaml", NULL, 0);
    assert_int_equal(s->gpu_count, 8);
    assert_true(s->nodes[1].shm_bytes == 128 * GIB);
    assert_true(s->nodes[1].shm_read_bps == 20e9);
    assert_true(s->nodes[1].shm_write_bps == 2e9);
    assert_true(s->nodes[0].shm_bytes == 0);
    const int prio[] = {3, 2, 1, 1};
    for (int m = 0; m < 4; m++) {
        assert_int_equal(s->models[m].priority, prio[m]);
        assert_true(s->models[m].preload_to_shm);
        assert_int_equal(s->models[m].replicas_min, 1);
        assert_int_equal(s->models[m].replicas_max, 1); /* default: max(1, min, placements) */
        assert_int_equal(s->models[m].initial_gpus[0], m);
    }
    /* Default footprint: 28 GiB + 10% = 30064771072 + 3006477107.2 -> 33071248179. */
    assert_true(s->models[0].vram_bytes == 33071248179ULL);
    assert_int_equal(s->fault_count, 1);
    assert_int_equal(s->faults[0].target, CORE_FAULT_NODE);
    assert_int_equal(s->faults[0].node, 0);
    assert_int_equal(s->faults[0].gpu, -1);
    /* The time is the simulator's to tune (after backup's shm preload). */
    assert_true(s->faults[0].at_ns > 0);
    assert_true(s->faults[0].recover_after_ns == 0);
    /* Defaults filled in where the file is silent. */
    assert_string_equal(s->policy.eviction, "lru");
    assert_string_equal(s->policy.balancer, "lru");
    assert_true(s->policy.keep_alive_ns == SEC(300));
    assert_false(s->policy.autoscale);
    assert_int_equal(s->policy.max_loads_per_gpu, 1);
    assert_true(s->duration_ns == 0);
    assert_true(s->seed == 1);
    core_spec_free(s);

    /* The optimized alternative, by overrides. */
    struct core_override o[] = {{"policy.queue", "priority"},
                                {"policy.shm", "preload"},
                                {"policy.placement", "locality"},
                                {"models[0].standby", "warm"}};
    s = load_ok("scenarios/failover-standby.yaml", o, 4);
    assert_string_equal(s->policy.queue, "priority");
    assert_string_equal(s->policy.shm, "preload");
    assert_string_equal(s->policy.placement, "locality");
    assert_int_equal(s->models[0].standby, CORE_STANDBY_WARM);
    core_spec_free(s);
}

static void test_steady(void **state)
{
    (void)state;
    struct core_spec *s = load_ok("scenarios/steady-traffic.yaml", NULL, 0);
    assert_int_equal(s->node_count, 2);
    assert_string_equal(s->nodes[1].name, "node-1");
    assert_string_equal(s->gpus[3].name, "node-1/gpu1");
    assert_int_equal(s->model_count, 2);
    /* chat on node-0/gpu0 and node-1/gpu0 = GPUs 0 and 2; code by node/index: 1 and 3. */
    assert_int_equal(s->models[0].initial_gpus[1], 2);
    assert_int_equal(s->models[1].initial_gpus[0], 1);
    assert_int_equal(s->models[1].initial_gpus[1], 3);
    assert_int_equal(s->workload_count, 2);
    for (int w = 0; w < 2; w++) {
        assert_int_equal(s->workloads[w].arrivals, CORE_ARRIVAL_POISSON);
        assert_true(s->workloads[w].rate_per_s == 5.0);
        assert_true(s->workloads[w].start_ns == 0);
        assert_true(s->workloads[w].end_ns == SEC(60));
        assert_int_equal(s->workloads[w].service.kind, CORE_DIST_EXP);
        assert_true(s->workloads[w].service.mean_ns == 100000000);
    }
    assert_true(s->duration_ns == SEC(70));
    assert_true(s->seed == 7);
    core_spec_free(s);
}

/* Every key of the language once (tests/scenarios/good/every-key.yaml). */
static void test_every_key(void **state)
{
    (void)state;
    struct core_spec *s = load_ok("tests/scenarios/good/every-key.yaml", NULL, 0);
    assert_int_equal(s->node_count, 3);
    assert_int_equal(s->gpu_count, 4);
    assert_string_equal(s->nodes[1].name, "node1"); /* unnamed: node<index> */
    assert_string_equal(s->nodes[2].name, "node2");
    const struct core_node_spec *big = &s->nodes[0];
    assert_true(big->pcie_switch_bps == 64e9);
    assert_true(big->shm_bytes == 128 * GIB);
    assert_true(big->shm_read_bps == 20e9 && big->shm_write_bps == 4e9);
    assert_int_equal(big->cpu_cores, 32);
    assert_int_equal(big->init.kind, CORE_DIST_UNIFORM);
    assert_true(big->init.lo_ns == SEC(1) && big->init.hi_ns == SEC(3));
    assert_true(big->init.mean_ns == SEC(2)); /* the midpoint */
    assert_int_equal(big->warmup.kind, CORE_DIST_GAMMA);
    assert_true(big->warmup.mean_ns == 500000000 && big->warmup.cv == 0.25);
    assert_string_equal(s->gpus[0].name, "h100-a");
    assert_true(s->gpus[0].vram_bytes == 80 * GIB && s->gpus[0].h2d_bps == 50e9);
    assert_string_equal(s->gpus[1].name, "big/gpu1");
    assert_true(s->gpus[1].vram_bytes == 40 * GIB && s->gpus[1].h2d_bps == 25e9);
    assert_true(s->gpus[2].h2d_bps == 12.5e9);        /* 100 Gbit/s / 8 */
    assert_true(s->nodes[1].storage_read_bps == 1e8); /* 800 Mbit/s / 8 */
    assert_true(s->nodes[1].init.mean_ns == 0);

    const struct core_model_spec *llm = &s->models[0];
    assert_true(llm->weights_bytes == 1610612736ULL);          /* 1.5 * 2^30 */
    assert_true(llm->vram_bytes == 1610612736ULL + 805306368); /* + 50% */
    assert_int_equal(llm->priority, 7);
    assert_true(llm->deadline_ns == SEC(45));
    assert_true(llm->preload_to_shm);
    assert_int_equal(llm->replicas_min, 2);
    assert_int_equal(llm->replicas_max, 2);
    assert_int_equal(llm->standby, CORE_STANDBY_HOT);
    assert_string_equal(llm->weights_path, "tests/scenarios/good/weights/llm.safetensors");
    assert_int_equal(llm->weights_kind, CORE_WEIGHTS_SAFETENSORS);
    assert_int_equal(llm->initial_gpu_count, 2);
    assert_int_equal(llm->initial_gpus[0], 0); /* h100-a */
    assert_int_equal(llm->initial_gpus[1], 1); /* big/1 */
    assert_int_equal(llm->phase_count, 3);
    const struct core_phase_spec *ph = llm->phases;
    assert_string_equal(ph[0].name, "bootstrap");
    assert_int_equal(ph[0].when, CORE_PHASE_BEFORE_COPY);
    assert_true(ph[0].cpu && ph[0].work.mean_ns == SEC(8));
    assert_int_equal(ph[1].when, CORE_PHASE_AFTER_COPY);
    assert_int_equal(ph[1].work.kind, CORE_DIST_LOGNORMAL);
    assert_true(ph[1].work.mean_ns == SEC(20) && ph[1].work.cv == 0.5);
    assert_true(ph[1].cache_hit_probability == 0.8);
    assert_true(ph[1].hit_work.mean_ns == SEC(2));
    assert_false(ph[2].cpu);
    assert_true(ph[2].work.mean_ns == SEC(3));
    assert_int_equal(ph[2].hit_work.kind, CORE_DIST_EXP);
    /* Lone load on h100-a: init 2 + warm-up 0.5 + phases (8 + 0.8*2 + 0.2*20
     * + 0.5*1 + 0.5*3 = 15.6) + 1.5 GiB / 2 GB/s storage (0.805306368) s. */
    assert_true(core_spec_lone_load_ns(s, 0, 0, false) == 18905306368LL);

    assert_int_equal(s->model_count, 3);
    for (int k = 0; k < 2; k++) {
        const struct core_model_spec *t = &s->models[1 + k];
        assert_string_equal(t->group, "tiny");
        assert_true(t->weights_bytes == 100000000 && t->vram_bytes == 1000000000);
        assert_int_equal(t->priority, 0);
        assert_int_equal(t->standby, CORE_STANDBY_WARM);
        assert_int_equal(t->replicas_min, 0);
        assert_int_equal(t->replicas_max, 1);
        assert_int_equal(t->initial_gpu_count, 1); /* with count: one GPU each */
        assert_int_equal(t->initial_gpus[0], 2 + k);
    }

    assert_int_equal(s->workload_count, 3);
    for (int k = 0; k < 2; k++) {
        const struct core_workload_spec *w = &s->workloads[k];
        assert_int_equal(w->model, 1 + k);
        assert_true(w->rate_per_s == 2.0); /* 120/m */
        assert_true(w->start_ns == SEC(5) && w->end_ns == SEC(3600));
        assert_true(w->service.kind == CORE_DIST_FIXED && w->service.mean_ns == 50000000);
        assert_int_equal(w->concurrency, 3);
    }
    const struct core_workload_spec *w = &s->workloads[2];
    assert_int_equal(w->model, 0);
    assert_int_equal(w->arrivals, CORE_ARRIVAL_TIMES);
    assert_int_equal(w->time_count, 3);
    assert_true(w->times_ns[0] == 0 && w->times_ns[1] == 1500000000 && w->times_ns[2] == SEC(15));
    assert_int_equal(w->service.kind, CORE_DIST_UNIFORM);
    assert_true(w->service.mean_ns == 20000000);
    assert_int_equal(w->concurrency, 1);

    assert_int_equal(s->fault_count, 2);
    assert_int_equal(s->faults[0].gpu, 1);
    assert_int_equal(s->faults[0].node, 0);
    assert_true(s->faults[0].at_ns == SEC(120) && s->faults[0].recover_after_ns == SEC(30));
    assert_int_equal(s->faults[1].target, CORE_FAULT_NODE);
    assert_int_equal(s->faults[1].node, 2);
    assert_true(s->faults[1].at_ns < 0 && s->faults[1].mtbf_ns == SEC(3600));

    const struct core_policy_spec *p = &s->policy;
    assert_string_equal(p->queue, "sjf");
    assert_true(p->aging_per_s == 0.1); /* 6/m */
    assert_string_equal(p->placement, "best_fit");
    assert_string_equal(p->eviction, "keep_alive");
    assert_true(p->keep_alive_ns == SEC(90));
    assert_string_equal(p->shm, "lru");
    assert_string_equal(p->balancer, "p2c");
    assert_true(p->autoscale && p->autoscale_target == 2.5);
    assert_int_equal(p->autoscale_max_step, 3);
    assert_true(p->autoscale_period_ns == SEC(15));
    assert_int_equal(p->max_loads_per_node, 2);
    assert_int_equal(p->max_loads_per_gpu, 0);
    assert_true(s->duration_ns == SEC(7200));
    assert_true(s->seed == 1234567890123ULL);
    core_spec_free(s);
}

/* ---- overrides ------------------------------------------------------------ */

static void test_override_creates_and_replaces(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text, "%smodels:\n  - name: a\n    weights: 14GiB\n", base_cluster);
    char path[512];
    snprintf(path, sizeof path, "%s", put_text("ovr.yaml", text));
    /* No policy section at all: policy.queue creates it. A flow value is
     * parsed as YAML; a list item can be replaced whole. */
    struct core_override o[] = {{"policy.queue", "edf"},
                                {"policy.autoscaler", "{target: 2, period: 5s}"},
                                {"models[0].placement", "[n/gpu1, n/0]"},
                                {"run.seed", "99"},
                                {"cluster.nodes[0]", "{name: x, gpus: 1, vram: 1GiB, h2d: 1GB/s, "
                                                     "storage_read: 1GB/s}"}};
    struct core_spec *s = load_ok(path, o, 4);
    assert_string_equal(s->policy.queue, "edf");
    assert_true(s->policy.autoscale);
    assert_true(s->policy.autoscale_target == 2.0);
    assert_int_equal(s->policy.autoscale_max_step, 2); /* default kept */
    assert_true(s->policy.autoscale_period_ns == SEC(5));
    assert_int_equal(s->models[0].initial_gpu_count, 2);
    assert_int_equal(s->models[0].initial_gpus[0], 1);
    assert_int_equal(s->models[0].initial_gpus[1], 0);
    assert_int_equal(s->models[0].replicas_max, 2); /* default: the placements */
    assert_true(s->seed == 99);
    core_spec_free(s);

    /* Replacing the node: a 1 GiB GPU cannot hold a 14 GiB model. */
    struct core_diags d = load_bad(path, &o[4], 1, THAW_EPARSE);
    assert_true(has_diag(&d, "more than any GPU has (largest: 1GiB)"));
    core_diags_free(&d);
}

/* Every name core_policy_names() lists is accepted by the loader under its
 * policy key and reaches the spec, so the loader, the lists and the
 * scheduler's tables (test_policy_tables.c) all agree; the autoscaler's
 * words select the table entry of that name. */
static void test_every_policy_name_loads(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text, "%smodels:\n  - name: a\n    weights: 14GiB\n", base_cluster);
    char path[512];
    snprintf(path, sizeof path, "%s", put_text("names.yaml", text));
    static const char *const kinds[] = {"queue",    "placement",  "eviction", "shm",
                                        "balancer", "autoscaler", NULL};
    int loaded = 0;
    for (int k = 0; kinds[k]; k++) {
        const char *const *names = core_policy_names(kinds[k]);
        assert_non_null(names);
        for (int i = 0; names[i]; i++) {
            char key[64];
            snprintf(key, sizeof key, "policy.%s", kinds[k]);
            struct core_override o = {key, names[i]};
            struct core_spec *s = load_ok(path, &o, 1);
            const struct core_policy_spec *p = &s->policy;
            const char *got = k == 0   ? p->queue
                              : k == 1 ? p->placement
                              : k == 2 ? p->eviction
                              : k == 3 ? p->shm
                              : k == 4 ? p->balancer
                                       : core_autoscale_policy_of(p)->name;
            assert_string_equal(got, names[i]);
            core_spec_free(s);
            loaded++;
        }
    }
    assert_true(loaded >= 6);
}

static void test_override_errors(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s", "scenarios/chained-cold-start.yaml");
    struct core_override o[] = {
        {"models[9].count", "2"},         /* no such entry */
        {"models[0].count", "many"},      /* a bad value, reported as the override's */
        {"cluster.nodes[0].gpus.x", "1"}, /* gpus is a scalar */
        {"models[x]", "1"},               /* bad syntax */
        {"policy.queue", "fast"},         /* a bad policy name */
        {"workload[0].model", "A"},       /* no workload list to index */
    };
    struct core_diags d = load_bad(path, o, 6, THAW_EPARSE);
    assert_true(
        has_diag(&d, "chained-cold-start.yaml: --set models[9].count: models has 3 entries"));
    assert_true(has_diag(&d,
                         "models[0].count: expected an integer from 1 to 100000, found \"many\" "
                         "(from override models[0].count=many)"));
    assert_true(has_diag(&d, "--set cluster.nodes[0].gpus.x: cluster.nodes[0].gpus is \"3\", not a "
                             "mapping"));
    assert_true(has_diag(&d, "--set models[x]: expected a key path"));
    assert_true(has_diag(&d,
                         "policy.queue: expected one of fifo, priority, edf, sjf, found \"fast\" "
                         "(from override policy.queue=fast)"));
    assert_true(has_diag(&d, "--set workload[0].model: workload does not exist"));
    /* Override diagnostics have no line: they are not in the file. */
    for (int i = 0; i < d.count; i++)
        assert_int_equal(d.items[i].line, 0);
    core_diags_free(&d);
}

/* ---- files next to the scenario -------------------------------------------- */

static void test_trace_and_paths(void **state)
{
    (void)state;
    put_text("trace.csv", "timestamp,model\n0.5,a\n# a comment\n\n1500ms,a\n2,a\n");
    char text[2048];
    snprintf(text, sizeof text,
             "%smodels:\n  - name: a\n    weights: 1GiB\n    path: w/a.safetensors\n"
             "  - name: b\n    weights: 1GiB\n    path: shards\n"
             "workload:\n  - model: a\n    arrivals: {trace: trace.csv}\n    service: 10ms\n",
             base_cluster);
    char path[512];
    snprintf(path, sizeof path, "%s", put_text("trace.yaml", text));
    struct core_spec *s = load_ok(path, NULL, 0);
    assert_int_equal(s->workloads[0].arrivals, CORE_ARRIVAL_TRACE);
    /* Streamed at run time: the loader counted its 3 data lines (header,
     * comment and blank line skipped) and kept none of them. A CSV's clock
     * is run time (origin 0), and one model takes every line. */
    assert_int_equal(s->workloads[0].time_count, 0);
    assert_int_equal(s->workloads[0].trace.lines, 3);
    assert_int_equal(s->workloads[0].trace.format, CORE_TRACE_CSV);
    assert_int_equal(s->workloads[0].trace.assign, CORE_TRACE_ALL);
    assert_true(s->workloads[0].trace.origin_ns == 0);
    char want[600];
    snprintf(want, sizeof want, "%s/trace.csv", tmpdir);
    assert_string_equal(s->workloads[0].trace_path, want);
    snprintf(want, sizeof want, "%s/w/a.safetensors", tmpdir);
    assert_string_equal(s->models[0].weights_path, want);
    assert_int_equal(s->models[0].weights_kind, CORE_WEIGHTS_SAFETENSORS);
    assert_int_equal(s->models[1].weights_kind, CORE_WEIGHTS_SHARDS);
    core_spec_free(s);

    put_text("bad.csv", "1\n2\nsoon\n-4\n");
    snprintf(text, sizeof text,
             "%smodels:\n  - name: a\n    weights: 1GiB\n"
             "workload:\n  - model: a\n    arrivals: {trace: bad.csv}\n    service: 10ms\n"
             "  - model: a\n    arrivals: {trace: missing.csv}\n    service: 10ms\n",
             base_cluster);
    snprintf(path, sizeof path, "%s", put_text("badtrace.yaml", text));
    struct core_diags d = load_bad(path, NULL, 0, THAW_EPARSE);
    assert_int_equal(d.count, 3);
    /* Reported at the trace key (line 13), naming the CSV's own line. */
    assert_true(has_diag(&d, "badtrace.yaml:13:23: workload[0].arrivals.trace: "));
    assert_true(has_diag(&d, "bad.csv:3:1: expected a timestamp"));
    assert_true(has_diag(&d, "bad.csv:4:1: expected a timestamp in seconds (or with a unit, such "
                             "as 1500ms), found \"-4\" (a negative value)"));
    assert_true(has_diag(&d, "cannot read trace"));
    core_diags_free(&d);
}

/* ---- time-varying rates ------------------------------------------------------ */

static void test_time_varying_rates(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text,
             "%smodels:\n  - {name: a, weights: 1GiB}\n"
             "workload:\n"
             "  - model: a\n"
             "    arrivals: {rate: [{until: 6h, rate: 1/s}, {until: 18h, rate: 5/s}, {rate: "
             "120/m}], start: 1m30s}\n"
             "    service: 10ms\n"
             "  - model: a\n"
             "    arrivals: {diurnal: {base: 0.5/s, peak: 4/s, peak_at: 14h}}\n"
             "    service: 10ms\n",
             base_cluster);
    char path[512];
    snprintf(path, sizeof path, "%s", put_text("rates.yaml", text));
    struct core_spec *s = load_ok(path, NULL, 0);
    const struct core_workload_spec *w = &s->workloads[0];
    assert_int_equal(w->arrivals, CORE_ARRIVAL_PIECEWISE);
    assert_int_equal(w->rate_seg_count, 3);
    assert_true(w->rate_segs[0].until_ns == SEC(6 * 3600) && w->rate_segs[0].rate_per_s == 1);
    assert_true(w->rate_segs[1].until_ns == SEC(18 * 3600) && w->rate_segs[1].rate_per_s == 5);
    /* The last piece without `until` lasts until the run's end; 120/m = 2/s. */
    assert_true(w->rate_segs[2].until_ns == INT64_MAX && w->rate_segs[2].rate_per_s == 2);
    assert_true(w->start_ns == SEC(90)); /* 1m30s */
    w = &s->workloads[1];
    assert_int_equal(w->arrivals, CORE_ARRIVAL_DIURNAL);
    assert_true(w->diurnal.base_per_s == 0.5 && w->diurnal.peak_per_s == 4);
    assert_true(w->diurnal.peak_at_ns == SEC(14 * 3600));
    assert_true(w->diurnal.period_ns == SEC(24 * 3600)); /* the default period */
    core_spec_free(s);

    snprintf(text, sizeof text,
             "%smodels:\n  - {name: a, weights: 1GiB}\n"
             "workload:\n"
             "  - model: a\n"
             "    arrivals: {rate: [{until: 6h, rate: 1/s}, {until: 2h, rate: 5/s}]}\n"
             "    service: 10ms\n"
             "  - model: a\n"
             "    arrivals: {rate: [{rate: 1/s}, {until: 2h, rate: 5/s}]}\n"
             "    service: 10ms\n"
             "  - model: a\n"
             "    arrivals: {diurnal: {base: 5/s, peak: 4/s}}\n"
             "    service: 10ms\n",
             base_cluster);
    snprintf(path, sizeof path, "%s", put_text("badrates.yaml", text));
    struct core_diags d = load_bad(path, NULL, 0, THAW_EPARSE);
    assert_true(has_diag(&d, "workload[0].arrivals.rate[1].until: expected until after the "
                             "previous piece's"));
    assert_true(has_diag(&d, "workload[1].arrivals.rate[0]: missing key 'until'"));
    assert_true(has_diag(&d, "workload[2].arrivals.diurnal: expected peak at least base"));
    core_diags_free(&d);
}

/* ---- diagnostics ------------------------------------------------------------ */

static void test_all_errors_in_file_order(void **state)
{
    (void)state;
    const char *text = "cluster:\n"
                       "  nodes:\n"
                       "    - name: n\n"
                       "      gpus: 0\n" /* 4: zero GPUs */
                       "      vram: 80GiB\n"
                       "      h2d: 25GB/s\n"
                       "      storage_read: 2GB/s\n"
                       "models:\n"
                       "  - name: a\n"
                       "    weights: 0GiB\n" /* 10: zero size */
                       "  - name: b\n"
                       "    weights: 1GiB\n"
                       "    replicas: {min: 3, max: 1}\n" /* 13: min > max */
                       "polcy:\n"                         /* 14: typo */
                       "  queue: fifo\n";
    char path[512];
    snprintf(path, sizeof path, "%s", put_text("many.yaml", text));
    struct core_diags d = load_bad(path, NULL, 0, THAW_EPARSE);
    assert_int_equal(d.count, 4);
    int lines[] = {4, 10, 13, 14};
    for (int i = 0; i < 4; i++)
        assert_int_equal(d.items[i].line, lines[i]);
    assert_string_equal(d.items[0].path, "cluster.nodes[0].gpus");
    assert_string_equal(d.items[1].path, "models[0].weights");
    assert_string_equal(d.items[2].path, "models[1].replicas.min");
    assert_string_equal(d.items[3].message, "unknown key 'polcy'; did you mean 'policy'?");
    char line[1200];
    core_diag_format(&d.items[2], line, sizeof line);
    char want[700];
    snprintf(want, sizeof want, "%s:13:21: models[1].replicas.min: min (3) is greater than max (1)",
             path);
    assert_string_equal(line, want);
    core_diags_free(&d);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct core_diags d = load_bad("/nonexistent/thaw.yaml", NULL, 0, THAW_EIO);
    assert_true(has_diag(&d, "/nonexistent/thaw.yaml: cannot read: No such file or directory"));
    core_diags_free(&d);
    struct core_spec *spec = NULL;
    core_diags_init(&d);
    assert_int_equal(core_spec_load(NULL, NULL, 0, &spec, &d), THAW_EINVAL);
    core_diags_free(&d);
}

static void test_suggest_and_distance(void **state)
{
    (void)state;
    assert_int_equal(core_edit_distance("weights", "weights", 3), 0);
    assert_int_equal(core_edit_distance("wieghts", "weights", 3), 1); /* transposition */
    assert_int_equal(core_edit_distance("wights", "weights", 3), 1);  /* deletion */
    assert_int_equal(core_edit_distance("kitten", "sitting", 5), 3);
    assert_int_equal(core_edit_distance("a", "abcdefgh", 2), 3); /* capped at cap + 1 */
    struct core_suggest sg;
    const char *names[] = {"queue", "placement", "eviction", "keep_alive", NULL};
    core_suggest_init(&sg, "placment");
    for (int i = 0; names[i]; i++)
        core_suggest_offer(&sg, names[i]);
    assert_string_equal(core_suggest_result(&sg), "placement");
    core_suggest_init(&sg, "zzz"); /* nothing near */
    for (int i = 0; names[i]; i++)
        core_suggest_offer(&sg, names[i]);
    assert_null(core_suggest_result(&sg));
}

static void test_sha256(void **state)
{
    (void)state;
    char hex[65];
    core_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    core_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the length no longer fits the first padding block. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    core_sha256_hex(m, strlen(m), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    core_sha256_hex(a, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* ---- hostile inputs ------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_empty_and_binary(void **state)
{
    (void)state;
    struct core_diags d = load_bad(put_text("empty.yaml", ""), NULL, 0, THAW_EPARSE);
    assert_true(has_diag(&d, "empty.yaml: expected a YAML document"));
    core_diags_free(&d);
    d = load_bad(put_text("comments.yaml", "# nothing\n# here\n"), NULL, 0, THAW_EPARSE);
    assert_true(has_diag(&d, "found none"));
    core_diags_free(&d);
    /* A NUL on line 2, column 3. */
    d = load_bad(put("nul.yaml", "a: 1\nb:\0\x01\x02", 10), NULL, 0, THAW_EPARSE);
    assert_true(has_diag(&d, "nul.yaml:2:3: expected UTF-8 text, found byte 0x00"));
    core_diags_free(&d);
    d = load_bad(put("latin1.yaml", "name: caf\xe9\n", 10), NULL, 0, THAW_EPARSE);
    assert_true(has_diag(&d, "latin1.yaml:1:10: expected UTF-8 text, found byte 0xe9"));
    core_diags_free(&d);
    /* Random bytes: some error, never a crash. */
    unsigned char junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
    }
    d = load_bad(put("junk.yaml", (const char *)junk, sizeof junk), NULL, 0, THAW_EPARSE);
    core_diags_free(&d);
    /* A scalar, a list: not a mapping of sections. */
    d = load_bad(put_text("scalar.yaml", "hello\n"), NULL, 0, THAW_EPARSE);
    assert_true(has_diag(&d, "scalar.yaml:1:1: expected a mapping with sections cluster, models"));
    core_diags_free(&d);
    d = load_bad(put_text("syntax.yaml", "cluster:\n  nodes: [\nmodels: 1\n"), NULL, 0,
                 THAW_EPARSE);
    assert_true(has_diag(&d, "YAML syntax:"));
    core_diags_free(&d);
}

static void test_alias_bomb(void **state)
{
    (void)state;
    /* A billion laughs: nine levels of ten aliases each would expand to 10^9
     * strings. Aliases are refused, so this costs nothing. */
    char *text = malloc(1 << 16);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text,
                               "%sbomb:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, "
                               "lol, lol, lol]\n",
                               base_cluster);
    for (int l = 1; l < 10; l++) {
        n += (size_t)sprintf(text + n, "  l%d: &l%d [", l, l);
        for (int k = 0; k < 10; k++)
            n += (size_t)sprintf(text + n, "%s*l%d", k ? ", " : "", l - 1);
        n += (size_t)sprintf(text + n, "]\n");
    }
    n += (size_t)sprintf(text + n, "models: *l9\n");
    double t0 = now_s();
    struct core_diags d = load_bad(put_text("bomb.yaml", text), NULL, 0, THAW_EPARSE);
    assert_true(now_s() - t0 < 5.0);
    assert_true(has_diag(&d, "models: YAML aliases (*l9) are not supported"));
    assert_true(has_diag(&d, "unknown key 'bomb'"));
    core_diags_free(&d);
    free(text);
}

static void test_hundred_thousand_keys(void **state)
{
    (void)state;
    size_t cap = 3u << 20;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n =
        (size_t)sprintf(text, "%smodels:\n  - name: a\n    weights: 1GiB\npolicy:\n", base_cluster);
    for (int i = 0; i < 100000; i++)
        n += (size_t)sprintf(text + n, "  key%d: %d\n", i, i);
    double t0 = now_s();
    struct core_diags d = load_bad(put_text("keys.yaml", text), NULL, 0, THAW_EPARSE);
    assert_true(now_s() - t0 < 20.0);
    /* Capped: 100 diagnostics, then one line saying it stopped. */
    assert_int_equal(d.count, CORE_LD_MAX_DIAGS + 1);
    assert_true(has_diag(&d, "keys.yaml:12:3: policy.key0: unknown key 'key0'"));
    assert_true(has_diag(&d, "too many errors; stopped after 100"));
    core_diags_free(&d);
    free(text);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *text = malloc(2 * depth + 64);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "models: ");
    memset(text + n, '[', depth);
    memset(text + n + depth, ']', depth);
    text[n + 2 * depth] = '\n';
    double t0 = now_s();
    struct core_diags d = load_bad(put("deep.yaml", text, n + 2 * depth + 1), NULL, 0, THAW_EPARSE);
    assert_true(now_s() - t0 < 5.0);
    assert_true(has_diag(&d, "YAML syntax: Max depth"));
    core_diags_free(&d);
    /* Block nesting, 10,000 levels of mappings. */
    char *p = text = realloc(text, 10000u * 10000u / 2 + 10000u * 8);
    assert_non_null(text);
    for (int i = 0; i < 10000; i++) {
        memset(p, ' ', (size_t)i);
        p += i;
        p += sprintf(p, "k:\n");
    }
    d = load_bad(put("deepblock.yaml", text, (size_t)(p - text)), NULL, 0, THAW_EPARSE);
    core_diags_free(&d);
    free(text);
}

/* What `thaw sim` would refuse, `thaw check` (the loader) says with
 * file:line:col and the model's name. base_cluster is lines 1-7; models at
 * 8-9 (a counted entry: c-0, c-1), workload from line 10. */
static void test_workloads_sim_would_refuse(void **state)
{
    (void)state;
    char text[2048];
    /* Poisson with no end and no run.duration: one message for the entry
     * of two models (line 12, the value of arrivals at column 16) */
    snprintf(text, sizeof text,
             "%smodels:\n  - {name: c, weights: 1GiB, count: 2}\n"
             "workload:\n  - model: c\n    arrivals: {poisson: 1/s}\n    service: 1s\n",
             base_cluster);
    struct core_diags d = load_bad(put_text("unbounded.yaml", text), NULL, 0, THAW_EPARSE);
    assert_int_equal(d.count, 1);
    assert_true(has_diag(&d, "unbounded.yaml:12:16: workload[0].arrivals: Poisson arrivals of "
                             "model 'c-0' with no end and no run.duration would never stop"));
    core_diags_free(&d);
    /* the same with run.duration, or with arrivals.end: fine */
    const char *fixes[] = {"run: {duration: 1m}\n", ""};
    for (int k = 0; k < 2; k++) {
        snprintf(text, sizeof text,
                 "%smodels:\n  - {name: c, weights: 1GiB}\n"
                 "workload:\n  - model: c\n    arrivals: {poisson: 1/s%s}\n    service: 1s\n%s",
                 base_cluster, k ? ", end: 30s" : "", fixes[k]);
        core_spec_free(load_ok(put_text("bounded.yaml", text), NULL, 0));
    }
    /* concurrency 4 then 8 for chat (line 14 col 18); an absent key (the
     * third workload) and an equal value (the fourth) conflict with nothing */
    snprintf(text, sizeof text,
             "%smodels:\n  - {name: chat, weights: 1GiB}\n"
             "workload:\n"
             "  - {model: chat, arrivals: {times: [0s]}, service: 1s, concurrency: 4}\n"
             "  - model: chat\n    arrivals: {times: [1s]}\n    concurrency: 8\n"
             "    service: 1s\n"
             "  - {model: chat, arrivals: {times: [2s]}, service: 1s}\n"
             "  - {model: chat, arrivals: {times: [3s]}, service: 1s, concurrency: 4}\n",
             base_cluster);
    d = load_bad(put_text("conc.yaml", text), NULL, 0, THAW_EPARSE);
    assert_int_equal(d.count, 1);
    assert_true(has_diag(&d, "conc.yaml:14:18: workload[1].concurrency: model 'chat' gets "
                             "concurrency 8 here but 4 from workload[0]"));
    core_diags_free(&d);
    snprintf(text, sizeof text,
             "%smodels:\n  - {name: chat, weights: 1GiB}\n"
             "workload:\n"
             "  - {model: chat, arrivals: {times: [0s]}, service: 1s, concurrency: 4}\n"
             "  - {model: chat, arrivals: {times: [2s]}, service: 1s}\n"
             "  - {model: chat, arrivals: {times: [3s]}, service: 1s, concurrency: 4}\n",
             base_cluster);
    core_spec_free(load_ok(put_text("conc-ok.yaml", text), NULL, 0));
}

static void test_huge_counts(void **state)
{
    (void)state;
    char text[4096];
    /* Bounds on each count. */
    snprintf(text, sizeof text,
             "cluster:\n  nodes:\n    - {name: n, count: 100001, gpus: 1, vram: 1GiB, h2d: 1GB/s, "
             "storage_read: 1GB/s}\n    - {name: m, gpus: 99999999999, vram: 1GiB, h2d: 1GB/s, "
             "storage_read: 1GB/s}\n"
             "models:\n  - {name: a, weights: 1GiB, count: 100001}\n");
    struct core_diags d = load_bad(put_text("counts.yaml", text), NULL, 0, THAW_EPARSE);
    assert_true(has_diag(&d, "counts.yaml:3:24: cluster.nodes[0].count: expected an integer from 1 "
                             "to 10000, found \"100001\""));
    assert_true(has_diag(&d, "cluster.nodes[1].gpus: expected an integer from 1 to 4096"));
    assert_true(has_diag(&d, "models[0].count: expected an integer from 1 to 100000"));
    core_diags_free(&d);
    /* Within each bound, over the total: 2 x 60,000 models. */
    snprintf(text, sizeof text,
             "%smodels:\n  - {name: a, weights: 1GiB, count: 60000}\n"
             "  - {name: b, weights: 1GiB, count: 60000}\n",
             base_cluster);
    d = load_bad(put_text("total.yaml", text), NULL, 0, THAW_EPARSE);
    assert_true(has_diag(&d, "models[1]: too many models: at most 100000"));
    core_diags_free(&d);
    /* Exactly at the bound, with a workload per model: loads, and fast. */
    snprintf(text, sizeof text,
             "%smodels:\n  - {name: a, weights: 1GiB, count: 100000}\n"
             "workload:\n  - {model: a, arrivals: {poisson: 1/h, end: 1h}, service: 1s}\n"
             "  - {model: a-99999, arrivals: {times: [1s]}, service: 1s}\n",
             base_cluster);
    double t0 = now_s();
    struct core_spec *s = load_ok(put_text("max.yaml", text), NULL, 0);
    assert_true(now_s() - t0 < 20.0);
    assert_int_equal(s->model_count, 100000);
    assert_string_equal(s->models[99999].name, "a-99999");
    assert_int_equal(s->workload_count, 100001);
    assert_int_equal(s->workloads[100000].model, 99999);
    core_spec_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_reference_scenario_loads),
        cmocka_unit_test(test_chained),
        cmocka_unit_test(test_scaling_and_count_override),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_steady),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_override_creates_and_replaces),
        cmocka_unit_test(test_override_errors),
        cmocka_unit_test(test_every_policy_name_loads),
        cmocka_unit_test(test_trace_and_paths),
        cmocka_unit_test(test_time_varying_rates),
        cmocka_unit_test(test_all_errors_in_file_order),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_suggest_and_distance),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_empty_and_binary),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_hundred_thousand_keys),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_huge_counts),
        cmocka_unit_test(test_workloads_sim_would_refuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* spec_fixture.h - builds a struct core_spec by hand for the scheduler tests
 * (no scenario loader needed) and plays the driver: feeds one event, keeps
 * the actions it produced and a text log of every action, and runs
 * core_sched_check after every single event. Include after <cmocka.h>.
 * Defaults: nodes read storage at 1e9 B/s with no init or warm-up, so a load
 * of N GB takes N seconds; policy fifo / first_fit / lru / shm off / lru. */
#ifndef THAW_TESTS_SPEC_FIXTURE_H
#define THAW_TESTS_SPEC_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define FX_MAX_NODES 8
#define FX_MAX_GPUS 16
#define FX_MAX_MODELS 16
#define FX_MAX_ACTS 256
#define GIB (1024ULL * 1024 * 1024)
#define GB 1000000000ULL
#define SEC(x) ((int64_t)((x)*1e9))

struct fx {
    struct core_spec spec;
    struct core_node_spec nodes[FX_MAX_NODES];
    struct core_gpu_spec gpus[FX_MAX_GPUS];
    struct core_model_spec models[FX_MAX_MODELS];
    struct core_workload_spec workloads[FX_MAX_MODELS];
    int initial[FX_MAX_MODELS][FX_MAX_GPUS];
    struct core_sched *s;
    struct core_action acts[FX_MAX_ACTS]; /* the last call's actions */
    size_t n;
    char *log; /* every action so far, one formatted line each */
    size_t log_len, log_cap;
};

/* nodes x gpus_per_node GPUs of vram bytes each. */
static inline struct fx *fx_new(int nodes, int gpus_per_node, uint64_t vram)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_true(nodes <= FX_MAX_NODES && nodes * gpus_per_node <= FX_MAX_GPUS);
    f->spec.nodes = f->nodes;
    f->spec.gpus = f->gpus;
    f->spec.models = f->models;
    f->spec.workloads = f->workloads;
    f->spec.node_count = nodes;
    f->spec.gpu_count = nodes * gpus_per_node;
    for (int n = 0; n < nodes; n++) {
        struct core_node_spec *ns = &f->nodes[n];
        snprintf(ns->name, sizeof ns->name, "n%d", n);
        ns->first_gpu = n * gpus_per_node;
        ns->gpu_count = gpus_per_node;
        ns->storage_read_bps = 1e9;
        ns->shm_read_bps = 10e9;
        ns->shm_write_bps = 5e9;
        ns->cpu_cores = 8;
        for (int g = 0; g < gpus_per_node; g++) {
            struct core_gpu_spec *gs = &f->gpus[n * gpus_per_node + g];
            snprintf(gs->name, sizeof gs->name, "n%d/gpu%d", n, g);
            gs->node = n;
            gs->index_in_node = g;
            gs->vram_bytes = vram;
            gs->h2d_bps = 20e9;
        }
    }
    struct core_policy_spec *p = &f->spec.policy;
    strcpy(p->queue, "fifo");
    strcpy(p->placement, "first_fit");
    strcpy(p->eviction, "lru");
    strcpy(p->shm, "off");
    strcpy(p->balancer, "lru");
    p->keep_alive_ns = SEC(300);
    f->spec.seed = 1;
    return f;
}

/* A model with vram = weights; cold standby; returns its index. */
static inline int fx_model(struct fx *f, const char *name, uint64_t weights, int priority, int rmin,
                           int rmax)
{
    int m = f->spec.model_count++;
    assert_true(m < FX_MAX_MODELS);
    struct core_model_spec *ms = &f->models[m];
    snprintf(ms->name, sizeof ms->name, "%s", name);
    snprintf(ms->group, sizeof ms->group, "%s", name);
    ms->weights_bytes = weights;
    ms->vram_bytes = weights;
    ms->priority = priority;
    ms->replicas_min = rmin;
    ms->replicas_max = rmax;
    ms->initial_gpus = f->initial[m];
    return m;
}

/* An instance of `model` already READY on `gpu` at start. */
static inline void fx_place(struct fx *f, int model, int gpu)
{
    struct core_model_spec *ms = &f->models[model];
    f->initial[model][ms->initial_gpu_count++] = gpu;
}

static inline void fx_concurrency(struct fx *f, int model, int conc)
{
    int w = f->spec.workload_count++;
    f->workloads[w].model = model;
    f->workloads[w].concurrency = conc;
}

static inline void fx_capture(struct fx *f)
{
    const struct core_action *a;
    f->n = core_sched_actions(f->s, &a);
    assert_true(f->n <= FX_MAX_ACTS);
    if (f->n) memcpy(f->acts, a, f->n * sizeof *a);
    for (size_t i = 0; i < f->n; i++) {
        char line[512];
        core_action_format(&a[i], line, sizeof line);
        size_t len = strlen(line);
        if (f->log_len + len + 2 > f->log_cap) {
            f->log_cap = (f->log_cap + len + 2) * 2;
            f->log = realloc(f->log, f->log_cap);
            assert_non_null(f->log);
        }
        memcpy(f->log + f->log_len, line, len);
        f->log_len += len;
        f->log[f->log_len++] = '\n';
        f->log[f->log_len] = '\0';
    }
    struct thaw_err err = {0};
    int rc = core_sched_check(f->s, &err);
    if (rc) fprintf(stderr, "invariant broken: %s\n%s", err.msg, f->log ? f->log : "");
    assert_int_equal(rc, 0);
}

static inline void fx_start(struct fx *f)
{
    struct thaw_err err = {0};
    int rc = core_sched_new(&f->spec, &f->s, &err);
    if (rc) fprintf(stderr, "core_sched_new: %s\n", err.msg);
    assert_int_equal(rc, 0);
    rc = core_sched_start(f->s, 0, &err);
    if (rc) fprintf(stderr, "core_sched_start: %s\n", err.msg);
    assert_int_equal(rc, 0);
    fx_capture(f);
}

static inline void fx_feed(struct fx *f, struct core_event ev)
{
    struct thaw_err err = {0};
    int rc = core_sched_feed(f->s, &ev, &err);
    if (rc) fprintf(stderr, "core_sched_feed: %s\n", err.msg);
    assert_int_equal(rc, 0);
    fx_capture(f);
}

static inline void fx_arrive(struct fx *f, int64_t t, int model, uint64_t req)
{
    fx_feed(f, (struct core_event){
                   .kind = CORE_EV_REQUEST_ARRIVED, .t_ns = t, .model = model, .request = req});
}

static inline void fx_finish(struct fx *f, int64_t t, uint64_t req, uint64_t inst)
{
    fx_feed(f, (struct core_event){
                   .kind = CORE_EV_REQUEST_FINISHED, .t_ns = t, .request = req, .instance = inst});
}

static inline void fx_loaded(struct fx *f, int64_t t, uint64_t load, bool ok)
{
    fx_feed(f,
            (struct core_event){.kind = CORE_EV_LOAD_FINISHED, .t_ns = t, .load = load, .ok = ok});
}

static inline void fx_filled(struct fx *f, int64_t t, int node, int model, bool ok)
{
    fx_feed(
        f,
        (struct core_event){
            .kind = CORE_EV_SHM_FILL_FINISHED, .t_ns = t, .node = node, .model = model, .ok = ok});
}

static inline void fx_event(struct fx *f, enum core_event_kind k, int64_t t, int node, int gpu)
{
    fx_feed(f, (struct core_event){.kind = k, .t_ns = t, .node = node, .gpu = gpu});
}

static inline void fx_tick(struct fx *f, int64_t t)
{
    fx_event(f, CORE_EV_TICK, t, 0, 0);
}

/* How many actions of a kind the last call produced. */
static inline size_t fx_count(const struct fx *f, enum core_action_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < f->n; i++)
        c += f->acts[i].kind == k;
    return c;
}

/* The i-th action of a kind in the last call (fails the test when absent). */
static inline const struct core_action *fx_nth(const struct fx *f, enum core_action_kind k,
                                               size_t i)
{
    size_t left = i;
    for (size_t j = 0; j < f->n; j++)
        if (f->acts[j].kind == k && left-- == 0) return &f->acts[j];
    fprintf(stderr, "no %s #%zu in the last actions; log:\n%s", core_action_kind_name(k), i,
            f->log ? f->log : "");
    fail();
    return NULL;
}

/* The i-th action of a kind, formatted, must contain `want`. */
static inline void fx_expect(const struct fx *f, enum core_action_kind k, size_t i,
                             const char *want)
{
    char line[512];
    core_action_format(fx_nth(f, k, i), line, sizeof line);
    if (!strstr(line, want)) {
        fprintf(stderr, "expected \"%s\" in \"%s\"\n", want, line);
        fail();
    }
}

static inline void fx_free(struct fx *f)
{
    core_sched_free(f->s);
    free(f->log);
    free(f);
}

#endif

/* fixture.h - a small hand-built struct core_spec for the results tests:
 * 2 nodes (n0 with g0 and g1, n1 with g2), 3 GPUs of 40 bytes of VRAM each,
 * 2 models (m0: vram 20, deadline 25 s; m1: vram 10, no deadline). Small
 * byte counts keep the hand derivations of VRAM utilisation readable. */
#ifndef THAW_TESTS_RESULTS_FIXTURE_H
#define THAW_TESTS_RESULTS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

#define SEC(x) ((int64_t)((x)*1000000000.0))

static inline struct core_spec *fixture_spec(void)
{
    struct core_spec *s = calloc(1, sizeof *s);
    s->path = strdup("tests/results/fixture.yaml");
    snprintf(s->sha256_hex, sizeof s->sha256_hex, "%064d", 0);
    s->node_count = 2;
    s->nodes = calloc(2, sizeof *s->nodes);
    snprintf(s->nodes[0].name, CORE_NAME_MAX, "n0");
    s->nodes[0].first_gpu = 0;
    s->nodes[0].gpu_count = 2;
    snprintf(s->nodes[1].name, CORE_NAME_MAX, "n1");
    s->nodes[1].first_gpu = 2;
    s->nodes[1].gpu_count = 1;
    s->gpu_count = 3;
    s->gpus = calloc(3, sizeof *s->gpus);
    for (int g = 0; g < 3; g++) {
        snprintf(s->gpus[g].name, CORE_NAME_MAX, "g%d", g);
        s->gpus[g].node = g < 2 ? 0 : 1;
        s->gpus[g].index_in_node = g < 2 ? g : 0;
        s->gpus[g].vram_bytes = 40;
    }
    s->model_count = 2;
    s->models = calloc(2, sizeof *s->models);
    snprintf(s->models[0].name, CORE_NAME_MAX, "m0");
    s->models[0].vram_bytes = 20;
    s->models[0].weights_bytes = 18;
    s->models[0].deadline_ns = SEC(25);
    snprintf(s->models[1].name, CORE_NAME_MAX, "m1");
    s->models[1].vram_bytes = 10;
    s->models[1].weights_bytes = 9;
    snprintf(s->policy.queue, CORE_NAME_MAX, "priority");
    snprintf(s->policy.placement, CORE_NAME_MAX, "locality");
    snprintf(s->policy.eviction, CORE_NAME_MAX, "lru");
    snprintf(s->policy.shm, CORE_NAME_MAX, "preload");
    snprintf(s->policy.balancer, CORE_NAME_MAX, "lru");
    s->seed = 7;
    return s;
}

static inline void fixture_spec_free(struct core_spec *s)
{
    free(s->path);
    free(s->nodes);
    free(s->gpus);
    free(s->models);
    free(s);
}

/* A fresh folder under /tmp; the database path inside it is written to db. */
static inline void fixture_tmpdb(char *dir, size_t dlen, char *db, size_t len, const char *name)
{
    snprintf(dir, dlen, "/tmp/thaw-res-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(db, len, "%s/%s", dir, name);
}

static inline void fixture_rmdir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

#endif

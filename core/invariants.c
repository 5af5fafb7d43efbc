/* invariants.c - core_sched_check: everything the scheduler promises about its
 * own state, recomputed from scratch and compared with the running counters.
 * Tests call it after every event; drivers may in debug builds. It is slow
 * (quadratic in places) on purpose: it must not share the code it checks. */
#include "core_internal.h"

#include <inttypes.h>
#include <stdlib.h>

#define FAIL(...) return thaw_err_set(err, THAW_EINVARIANT, __VA_ARGS__)

static int check_gpus(const struct core_sched *s, struct thaw_err *err)
{
    const struct core_spec *sp = s->spec;
    for (int g = 0; g < sp->gpu_count; g++) {
        uint64_t sum = 0;
        int loads = 0;
        for (size_t i = 0; i < s->live_count; i++) {
            const struct core_inst *in = &s->insts[s->live[i]];
            if (!core_inst_on(in, g)) continue;
            sum += in->vram_bytes;
            if (in->state == CORE_INST_LOADING) loads++;
        }
        if (s->gpus[g].reserved_bytes > sp->gpus[g].vram_bytes)
            FAIL("GPU %d over-committed: %" PRIu64 " reserved of %" PRIu64, g,
                 s->gpus[g].reserved_bytes, sp->gpus[g].vram_bytes);
        if (sum != s->gpus[g].reserved_bytes)
            FAIL("GPU %d reserved counter %" PRIu64 " != instances' %" PRIu64, g,
                 s->gpus[g].reserved_bytes, sum);
        if (loads != s->gpus[g].loads)
            FAIL("GPU %d load counter %d != %d LOADING instances", g, s->gpus[g].loads, loads);
        if (sp->policy.max_loads_per_gpu > 0 && loads > sp->policy.max_loads_per_gpu)
            FAIL("GPU %d runs %d loads, limit %d", g, loads, sp->policy.max_loads_per_gpu);
        if (!core_gpu_healthy(s, g) && sum != 0) FAIL("failed GPU %d still holds instances", g);
    }
    for (int n = 0; n < sp->node_count; n++) {
        /* a gang's load counts once on its node (and on each of its GPUs) */
        int loads = 0;
        for (size_t i = 0; i < s->live_count; i++) {
            const struct core_inst *in = &s->insts[s->live[i]];
            loads += in->state == CORE_INST_LOADING && sp->gpus[in->gpu].node == n;
        }
        if (loads != s->nodes[n].loads)
            FAIL("node %d load counter %d != %d", n, s->nodes[n].loads, loads);
        if (sp->policy.max_loads_per_node > 0 && loads > sp->policy.max_loads_per_node)
            FAIL("node %d runs %d loads, limit %d", n, loads, sp->policy.max_loads_per_node);
        uint64_t used = 0;
        int filling = 0;
        for (int m = 0; m < sp->model_count; m++) {
            if (s->nodes[n].shm[m].state != CORE_SHM_NONE) used += core_shm_entry_bytes(s, m);
            if (s->nodes[n].shm[m].state == CORE_SHM_FILLING) filling++;
        }
        if (used != s->nodes[n].shm_used_bytes || used > sp->nodes[n].shm_bytes)
            FAIL("node %d shm: %" PRIu64 " used, counter %" PRIu64 ", capacity %" PRIu64, n, used,
                 s->nodes[n].shm_used_bytes, sp->nodes[n].shm_bytes);
        if (filling > 1) FAIL("node %d runs %d shm fills at once", n, filling);
        if (s->nodes[n].failed && used) FAIL("failed node %d still has shm entries", n);
        /* standby sleep: sleeping and waking instances' weights in host
         * memory, never over-committed */
        uint64_t host = 0;
        bool any_host = sp->nodes[n].host_memory_bytes > 0 || s->nodes[n].host_used_bytes > 0;
        for (size_t i = 0; any_host && i < s->inst_count; i++) {
            const struct core_inst *in = &s->insts[i];
            if (in->node == n && (in->state == CORE_INST_SLEEPING || in->waking))
                host += sp->models[in->model].weights_bytes;
        }
        if (host != s->nodes[n].host_used_bytes || host > sp->nodes[n].host_memory_bytes)
            FAIL("node %d host memory: %" PRIu64 " held by sleepers, counter %" PRIu64
                 ", capacity %" PRIu64,
                 n, host, s->nodes[n].host_used_bytes, sp->nodes[n].host_memory_bytes);
    }
    return 0;
}

static int check_instances(const struct core_sched *s, struct thaw_err *err)
{
    for (size_t i = 0; i < s->live_count; i++) {
        if (i > 0 && s->live[i - 1] >= s->live[i]) FAIL("live list out of id order");
        const struct core_inst *in = &s->insts[s->live[i]];
        if (in->state != CORE_INST_LOADING && in->state != CORE_INST_READY)
            FAIL("instance %" PRIu64 " is live in state %s", in->id,
                 core_inst_state_name(in->state));
        if (in->tp < 1 || in->tp > CORE_TP_MAX || in->gang[0] != in->gpu ||
            in->tp != (in->load ? core_model_tp(&s->spec->models[in->model]) : 1))
            FAIL("instance %" PRIu64 " has a bad gang (tp %d)", in->id, in->tp);
        for (int k = 0; k < in->tp; k++) {
            int g = in->gang[k];
            if (k > 0 &&
                (g <= in->gang[k - 1] || s->spec->gpus[g].node != s->spec->gpus[in->gpu].node))
                FAIL("instance %" PRIu64 ": gang not ascending on one node", in->id);
            if (in->state == CORE_INST_READY && !core_gpu_healthy(s, g))
                FAIL("READY instance %" PRIu64 " on failed GPU %d", in->id, g);
        }
        if (in->outstanding < 0 || in->outstanding > s->models[in->model].concurrency)
            FAIL("instance %" PRIu64 " has %d outstanding", in->id, in->outstanding);
        if (in->outstanding && (in->hot || in->state != CORE_INST_READY))
            FAIL("instance %" PRIu64 " serves while not a READY serving instance", in->id);
        if (in->vram_bytes != core_model_need(s, in->model))
            FAIL("instance %" PRIu64 " reserves the wrong amount", in->id);
    }
    for (size_t i = 0; i < s->inst_count; i++) {
        const struct core_inst *in = &s->insts[i];
        bool live = in->state == CORE_INST_LOADING || in->state == CORE_INST_READY;
        if (!live && (in->vram_bytes || in->outstanding))
            FAIL("dead instance %" PRIu64 " still holds VRAM or requests", in->id);
    }
    return 0;
}

static int check_queue(const struct core_sched *s, struct thaw_err *err)
{
    double aging = s->spec->policy.aging_per_s;
    for (size_t j = 0; j < s->job_count; j++) {
        if (j > 0 && s->queue->cmp(&s->jobs[j - 1], &s->jobs[j], aging) >= 0)
            FAIL("cold-start queue out of %s order at %zu", s->queue->name, j);
        for (size_t k = j + 1; k < s->job_count; k++)
            if (s->jobs[k].seq == s->jobs[j].seq)
                FAIL("job %" PRIu64 " queued twice", s->jobs[j].seq);
        /* no load in two places: a started job has left the queue */
        for (size_t i = 0; i < s->live_count; i++)
            if (s->insts[s->live[i]].job_seq == s->jobs[j].seq)
                FAIL("job %" PRIu64 " is both queued and in flight", s->jobs[j].seq);
    }
    for (size_t l = 0; l < s->load_count; l++) {
        size_t idx = s->load_inst[l];
        /* an instance woken from sleep has a later load id than its first */
        if (idx >= s->inst_count || s->insts[idx].load < l + 1)
            FAIL("load %zu maps to the wrong instance", l + 1);
    }
    return 0;
}

static int check_waiting(const struct core_sched *s, struct thaw_err *err)
{
    for (int m = 0; m < s->spec->model_count; m++) {
        if (s->models[m].wait.len == 0) continue;
        struct core_model_count c;
        core_model_count(s, m, &c);
        if (c.ready_free > 0)
            FAIL("model '%s': %zu requests wait while a READY instance has a free slot",
                 s->spec->models[m].name, s->models[m].wait.len);
        if (s->models[m].broken) continue; /* a failed load is not retried */
        if (c.loading + c.queued == 0 && c.ready < core_model_max(s, m))
            FAIL("model '%s': %zu requests wait with no load queued or in flight",
                 s->spec->models[m].name, s->models[m].wait.len);
    }
    return 0;
}

int core_sched_check(const struct core_sched *s, struct thaw_err *err)
{
    if (!s) return thaw_err_set(err, THAW_EINVAL, "core_sched_check: NULL scheduler");
    int rc = check_gpus(s, err);
    if (!rc) rc = check_instances(s, err);
    if (!rc) rc = check_queue(s, err);
    if (!rc) rc = check_waiting(s, err);
    if (!rc) rc = core_ladder_check(s, err);
    return rc;
}

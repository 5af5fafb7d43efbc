/* sleep.c - sleep-mode standby (`standby: sleep`), as serving engines offer
 * it (vLLM level 1: weights moved to host memory, the process, CUDA graphs
 * and compiled kernels kept). When eviction picks an idle READY instance of
 * such a model and its node's host memory has room for the weights, the
 * instance sleeps instead: SLEEP, its VRAM is free at once, its weights are
 * accounted in host memory (never over-committed). A queued job of the model
 * then prefers waking a sleeper over a cold load: onto free room on the
 * sleeper's node by the placement policy, else by eviction there; the wake
 * is a load (WAKE, then LOAD_FINISHED) of a host-to-device copy plus the
 * model's wake cost, with no init and no phases. The host copy is freed when
 * the wake ends (or is lost); a failed node loses its sleepers. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t weights(const struct core_sched *s, int m)
{
    return s->spec->models[m].weights_bytes;
}

static void sleepers_remove(struct core_model_state *ms, size_t idx)
{
    for (size_t i = 0; i < ms->sleeper_count; i++)
        if (ms->sleepers[i] == idx) {
            memmove(&ms->sleepers[i], &ms->sleepers[i + 1],
                    (ms->sleeper_count - i - 1) * sizeof *ms->sleepers);
            ms->sleeper_count--;
            return;
        }
}

bool core_sleep_instead(struct core_sched *s, size_t idx)
{
    struct core_inst *in = &s->insts[idx];
    const struct core_model_spec *m = &s->spec->models[in->model];
    if (m->standby != CORE_STANDBY_SLEEP || in->state != CORE_INST_READY || in->hot) return false;
    int node = s->spec->gpus[in->gpu].node;
    uint64_t cap = s->spec->nodes[node].host_memory_bytes, need = m->weights_bytes;
    struct core_node_state *ns = &s->nodes[node];
    if (ns->host_used_bytes > cap || cap - ns->host_used_bytes < need) return false;
    struct core_model_state *ms = &s->models[in->model];
    if (ms->sleeper_count == ms->sleeper_cap) {
        size_t c = ms->sleeper_cap ? ms->sleeper_cap * 2 : 4;
        size_t *g = realloc(ms->sleepers, c * sizeof *g);
        if (!g) {
            s->oom = true;
            return false;
        }
        ms->sleepers = g;
        ms->sleeper_cap = c;
    }
    struct core_action a = {.kind = CORE_ACT_SLEEP};
    a.instance = in->id;
    a.load = in->load;
    a.model = in->model;
    a.gpu = in->gpu;
    a.node = node;
    a.reason = in->reason;
    a.bytes = need;
    a.vram_bytes = m->vram_bytes;
    core_gang_act(&a, in);
    core_books_out(s, in);
    core_inst_release(s, in);
    in->state = CORE_INST_SLEEPING;
    in->node = node;
    core_inst_live_remove(s, idx);
    ns->host_used_bytes += need;
    /* in id order (an older instance may fall asleep after a newer one) */
    size_t at = ms->sleeper_count;
    while (at > 0 && ms->sleepers[at - 1] > idx) {
        ms->sleepers[at] = ms->sleepers[at - 1];
        at--;
    }
    ms->sleepers[at] = idx;
    ms->sleeper_count++;
    s->stats.sleeps++;
    core_emit(s, &a);
    return true;
}

/* Where on the sleeper's node the wake can go: free room by the placement
 * policy, or (evict) room made by eviction there; false when nowhere. */
static bool wake_target(struct core_sched *s, int model, int node, const unsigned char *allowed,
                        bool evict, int *gang)
{
    const struct core_spec *sp = s->spec;
    int G = sp->gpu_count, k = core_model_tp(&sp->models[model]);
    uint64_t need = core_model_need(s, model);
    unsigned char here[G > 0 ? G : 1], fits[G > 0 ? G : 1];
    for (int g = 0; g < G; g++) {
        here[g] = allowed[g] && sp->gpus[g].node == node;
        fits[g] = here[g] && core_gpu_free(s, g) >= need;
    }
    if (k > 1)
        return evict ? core_gang_place(s, model, here, gang)
                     : s->placement->pick_gang(s, model, fits, k, gang);
    int g = evict ? core_evict_for(s, model, here, need) : s->placement->pick(s, model, fits);
    gang[0] = g;
    return g >= 0;
}

bool core_sleep_wake(struct core_sched *s, size_t pos, const unsigned char *allowed, bool evict)
{
    const struct core_job job = s->jobs[pos];
    struct core_model_state *ms = &s->models[job.model];
    const struct core_spec *sp = s->spec;
    /* the lowest-id sleeper on a healthy node that has room or can make it */
    for (size_t i = 0; i < ms->sleeper_count; i++) {
        size_t idx = ms->sleepers[i];
        int node = s->insts[idx].node;
        if (s->nodes[node].failed) continue;
        int gang[CORE_TP_MAX];
        if (!wake_target(s, job.model, node, allowed, evict, gang)) continue;
        if (s->oom) return false;
        core_queue_remove(s, pos);
        sleepers_remove(ms, idx);
        struct core_inst *in = &s->insts[idx];
        in->state = CORE_INST_LOADING;
        in->waking = true;
        in->reason = job.reason;
        in->job_seq = job.seq;
        in->gpu = gang[0];
        in->tp = core_model_tp(&sp->models[job.model]);
        for (int k = 0; k < in->tp; k++)
            in->gang[k] = gang[k];
        in->vram_bytes = core_model_need(s, job.model);
        for (int k = 0; k < in->tp; k++) {
            s->gpus[in->gang[k]].reserved_bytes += in->vram_bytes;
            s->gpus[in->gang[k]].loads++;
        }
        s->nodes[node].loads++;
        core_node_touch(s, node);
        core_inst_live_add(s, idx);
        core_books_in(s, in);
        if (!core_load_register(s, idx)) return true;
        s->stats.wakes++;
        struct core_action a = {.kind = CORE_ACT_WAKE};
        a.load = in->load;
        a.instance = in->id;
        a.model = job.model;
        a.node = node;
        a.gpu = in->gpu;
        a.reason = job.reason;
        a.state = CORE_INST_LOADING;
        a.bytes = weights(s, job.model);
        a.vram_bytes = sp->models[job.model].vram_bytes;
        a.enqueued_ns = job.enqueued_ns;
        core_gang_act(&a, in);
        core_emit(s, &a);
        core_inst_emit_state(s, idx);
        return true;
    }
    return false;
}

void core_sleep_load_done(struct core_sched *s, struct core_inst *in)
{
    if (!in->waking) return;
    s->nodes[in->node].host_used_bytes -= weights(s, in->model);
    in->waking = false;
}

void core_sleep_node_failed(struct core_sched *s, int node)
{
    for (int m = 0; m < s->spec->model_count; m++) {
        struct core_model_state *ms = &s->models[m];
        for (size_t i = 0; i < ms->sleeper_count;) {
            size_t idx = ms->sleepers[i];
            struct core_inst *in = &s->insts[idx];
            if (in->node != node) {
                i++;
                continue;
            }
            s->nodes[node].host_used_bytes -= weights(s, m);
            in->state = CORE_INST_FAILED;
            sleepers_remove(ms, idx);
            core_inst_emit_state(s, idx);
        }
    }
}

/* peer.c - loading from a serving peer: a load may copy its weights from a
 * READY instance of the same model on another GPU (policy.peer: on), over
 * NVLink on the same node or over both nodes' network links, when that is
 * faster than the best rung of the ladder (ladder.c). The peer keeps
 * serving; while a copy from it runs it is not idle, so no eviction or
 * scale-down takes it. A peer lost to a fault mid-copy cuts the copy: the
 * load is cancelled (recorded failed) and its job goes back to the queue
 * with its first reason, enqueued time and queue place, to start again from
 * the best source left; the model is not marked broken. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

static double min_pos(double a, double b)
{
    return b > 0.0 && b < a ? b : a;
}

/* Lone bandwidth of a copy from GPU `from` to GPU `to`; 0: no path. */
static double path_bps(const struct core_spec *sp, int from, int to)
{
    const struct core_gpu_spec *gf = &sp->gpus[from], *gt = &sp->gpus[to];
    const struct core_node_spec *nf = &sp->nodes[gf->node], *nt = &sp->nodes[gt->node];
    if (gf->node == gt->node) return nt->nvlink_bps > 0.0 ? nt->nvlink_bps : 0.0;
    if (!(nf->network_bps > 0.0) || !(nt->network_bps > 0.0)) return 0.0;
    double bw = min_pos(nf->network_bps, nt->network_bps);
    bw = min_pos(bw, gt->h2d_bps);
    return min_pos(bw, nt->pcie_switch_bps);
}

/* Lone bandwidth of one shard's copy from GPU `from` to GPU `to` when
 * `shards` copies of one gang cross the same nodes at once: on one node
 * each shard has its own pair of NVLink ports; across nodes they share both
 * network links and the target's switch (1/shards each). 0: no path. */
static double shard_bps(const struct core_spec *sp, int from, int to, int shards)
{
    const struct core_gpu_spec *gf = &sp->gpus[from], *gt = &sp->gpus[to];
    if (shards <= 1 || gf->node == gt->node) return path_bps(sp, from, to);
    const struct core_node_spec *nf = &sp->nodes[gf->node], *nt = &sp->nodes[gt->node];
    if (!(nf->network_bps > 0.0) || !(nt->network_bps > 0.0)) return 0.0;
    double bw = min_pos(nf->network_bps, nt->network_bps) / (double)shards;
    bw = min_pos(bw, gt->h2d_bps);
    return min_pos(bw, nt->pcie_switch_bps / (double)shards);
}

size_t core_peer_best(const struct core_sched *s, int model, int gpu, double *bps)
{
    return core_peer_best_gang(s, model, 1, &gpu, bps);
}

size_t core_peer_best_gang(const struct core_sched *s, int model, int tp, const int *gang,
                           double *bps)
{
    const struct core_model_state *ms = &s->models[model];
    size_t best = SIZE_MAX;
    double best_bps = 0;
    *bps = 0;
    if (tp < 1) tp = 1;
    for (size_t i = 0; i < ms->live_count; i++) {
        size_t idx = ms->live[i];
        const struct core_inst *in = &s->insts[idx];
        if (in->state != CORE_INST_READY || in->tp != tp) continue;
        /* every GPU of the peer gang healthy and none in the load's gang;
         * the slowest shard's path is the copy's */
        double bw = 0;
        bool usable = true;
        for (int k = 0; k < tp && usable; k++) {
            usable = core_gpu_healthy(s, in->gang[k]);
            for (int g = 0; g < tp && usable; g++)
                usable = in->gang[k] != gang[g];
            if (!usable) break;
            double b = shard_bps(s->spec, in->gang[k], gang[k], tp);
            bw = k == 0 || b < bw ? b : bw;
        }
        if (!usable) continue;
        /* its links are shared by the copies from it: its share now */
        bw /= (double)(1 + in->peer_copies);
        if (!(bw > 0.0)) continue;
        if (best == SIZE_MAX || bw > best_bps ||
            (bw == best_bps && in->peer_copies < s->insts[best].peer_copies)) {
            best = idx;
            best_bps = bw;
        }
    }
    *bps = best_bps;
    return best;
}

void core_peer_begin(struct core_sched *s, size_t inst, size_t peer, const struct core_job *job)
{
    if (s->peer_copy_count == s->peer_copy_cap) {
        size_t cap = s->peer_copy_cap ? s->peer_copy_cap * 2 : 8;
        struct core_peer_copy *grown = realloc(s->peer_copies, cap * sizeof *grown);
        if (!grown) {
            s->oom = true;
            return;
        }
        s->peer_copies = grown;
        s->peer_copy_cap = cap;
    }
    s->peer_copies[s->peer_copy_count++] = (struct core_peer_copy){
        .load = s->insts[inst].load,
        .inst = inst,
        .peer = peer,
        .reason = job->reason,
        .hot = job->hot,
        .enqueued_ns = job->enqueued_ns,
        .job_seq = job->seq,
    };
    struct core_inst *p = &s->insts[peer];
    core_books_out(s, p);
    p->peer_copies++;
    core_books_in(s, p);
}

static void copy_end(struct core_sched *s, size_t i)
{
    struct core_inst *p = &s->insts[s->peer_copies[i].peer];
    core_books_out(s, p);
    p->peer_copies--;
    core_books_in(s, p);
    memmove(&s->peer_copies[i], &s->peer_copies[i + 1],
            (s->peer_copy_count - i - 1) * sizeof *s->peer_copies);
    s->peer_copy_count--;
}

void core_peer_load_end(struct core_sched *s, uint64_t load)
{
    for (size_t i = 0; i < s->peer_copy_count; i++)
        if (s->peer_copies[i].load == load) {
            copy_end(s, i);
            return;
        }
}

void core_peer_after_fault(struct core_sched *s)
{
    size_t i = 0;
    while (i < s->peer_copy_count) {
        struct core_peer_copy c = s->peer_copies[i];
        if (s->insts[c.inst].state != CORE_INST_LOADING) {
            copy_end(s, i); /* the copying load itself was lost */
            continue;
        }
        if (s->insts[c.peer].state == CORE_INST_READY) {
            i++;
            continue;
        }
        copy_end(s, i);
        core_inst_cancel_load(s, c.inst);
        s->stats.peer_fallbacks++;
        int model = s->insts[c.inst].model;
        const struct core_model_spec *ms = &s->spec->models[model];
        struct core_job j = {0};
        j.seq = c.job_seq; /* its first place in the queue order */
        j.model = model;
        j.reason = c.reason;
        j.hot = c.hot;
        j.priority = ms->priority;
        j.enqueued_ns = c.enqueued_ns;
        j.deadline_ns =
            ms->deadline_ns > 0 ? core_time_add(c.enqueued_ns, ms->deadline_ns) : CORE_NO_TIME;
        if (s->queue->prepare) s->queue->prepare(s, &j);
        core_queue_insert(s, &j);
    }
}

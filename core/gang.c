/* gang.c - tensor-parallel instances: a model with tp k > 1 runs as one
 * instance over k GPUs of one node, each holding a 1/k share of its VRAM.
 * The core reserves the share on all k at once or not at all, so a gang is
 * never partial: a fitting gang by the placement policy's gang form
 * (placement.c), else eviction so that k GPUs of one node get room. The
 * eviction rule is the single-GPU one (evict.c) widened to a node: idle
 * candidates in LRU order across the allowed GPUs, and the first node on
 * which k GPUs reach the share wins; only victims on the chosen GPUs that
 * are still needed there are evicted. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

void core_gang_act(struct core_action *a, const struct core_inst *in)
{
    if (in->tp <= 1) return; /* tp 1 actions stay as they were */
    a->tp = in->tp;
    for (int i = 0; i < in->tp; i++)
        a->gang[i] = in->gang[i];
}

bool core_gang_any(const struct core_inst *in, const unsigned char *mask)
{
    for (int i = 0; i < in->tp; i++)
        if (mask[in->gang[i]]) return true;
    return false;
}

/* GPUs of node n that could hold the share with ev_freed added. */
static int node_room(const struct core_sched *s, int n, const unsigned char *allowed,
                     uint64_t share)
{
    const struct core_node_spec *node = &s->spec->nodes[n];
    int c = 0;
    for (int i = 0; i < node->gpu_count; i++) {
        int g = node->first_gpu + i;
        c += allowed[g] && s->spec->gpus[g].vram_bytes >= share &&
             core_gpu_free(s, g) + s->ev_freed[g] >= share;
    }
    return c;
}

static bool gang_evict(struct core_sched *s, int model, const unsigned char *allowed, int k,
                       uint64_t share, int *gang)
{
    const struct core_spec *sp = s->spec;
    int G = sp->gpu_count;
    /* a node can be chosen only when k of its GPUs could reach the share
     * with every idle instance gone */
    unsigned char reach[G > 0 ? G : 1], node_ok[sp->node_count > 0 ? sp->node_count : 1];
    memset(node_ok, 0, sizeof node_ok);
    bool any = false;
    for (int n = 0; n < sp->node_count; n++) {
        int c = 0;
        const struct core_node_spec *node = &sp->nodes[n];
        for (int i = 0; i < node->gpu_count; i++) {
            int g = node->first_gpu + i;
            reach[g] = allowed[g] && sp->gpus[g].vram_bytes >= share &&
                       core_gpu_free(s, g) + s->gpus[g].idle_bytes >= share;
            c += reach[g];
        }
        node_ok[n] = c >= k;
        any = any || node_ok[n];
    }
    if (!any || !s->eviction->may_evict || !core_evict_reserve(s)) return false;
    struct core_evict_cand *cand = s->ev_cand;
    size_t n = 0;
    for (size_t i = 0; i < s->live_count; i++) {
        const struct core_inst *in = &s->insts[s->live[i]];
        if (!core_inst_idle(in) || in->model == model || !core_gang_any(in, allowed)) continue;
        if (!node_ok[sp->gpus[in->gpu].node] && sp->models[in->model].replicas_min <= 0) continue;
        if (!s->eviction->may_evict(s, in)) continue;
        cand[n++] = (struct core_evict_cand){in->last_used_ns, in->id, s->live[i]};
    }
    qsort(cand, n, sizeof *cand, core_evict_lru_order);
    int chosen = -1;
    size_t upto = 0;
    for (size_t c = 0; c < n && chosen < 0; c++) {
        if (!core_evict_take(s, &cand[c])) continue;
        int node = sp->gpus[s->insts[cand[c].idx].gpu].node;
        if (node_ok[node] && node_room(s, node, allowed, share) >= k) {
            chosen = node;
            upto = c;
        }
    }
    /* the gang: GPUs of the chosen node that reached the share, those that
     * needed no eviction first, then by index */
    int picked = 0;
    if (chosen >= 0) {
        const struct core_node_spec *node = &sp->nodes[chosen];
        for (int pass = 0; pass < 2 && picked < k; pass++)
            for (int i = 0; i < node->gpu_count && picked < k; i++) {
                int g = node->first_gpu + i;
                if (!allowed[g] || sp->gpus[g].vram_bytes < share) continue;
                bool free_now = core_gpu_free(s, g) >= share;
                bool after = core_gpu_free(s, g) + s->ev_freed[g] >= share;
                if (pass == 0 ? free_now : (!free_now && after)) gang[picked++] = g;
            }
    }
    core_evict_reset(s, cand, n);
    if (chosen < 0 || picked < k) return false;
    unsigned char mine[G > 0 ? G : 1];
    memset(mine, 0, sizeof mine);
    for (int i = 0; i < k; i++)
        mine[gang[i]] = 1;
    /* in LRU order, a victim goes only while one of its GPUs in the gang
     * still lacks the share */
    for (size_t c = 0; c <= upto; c++) {
        if (cand[c].id == 0) continue;
        const struct core_inst *in = &s->insts[cand[c].idx];
        bool needed = false;
        for (int i = 0; i < in->tp; i++)
            needed = needed || (mine[in->gang[i]] && core_gpu_free(s, in->gang[i]) < share);
        if (needed) core_inst_evict(s, cand[c].idx);
    }
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && gang[j - 1] > gang[j]; j--) {
            int t = gang[j];
            gang[j] = gang[j - 1];
            gang[j - 1] = t;
        }
    return true;
}

bool core_gang_place(struct core_sched *s, int model, const unsigned char *allowed, int *gang)
{
    const struct core_spec *sp = s->spec;
    int k = core_model_tp(&sp->models[model]), G = sp->gpu_count;
    uint64_t share = core_model_need(s, model);
    unsigned char fits[G > 0 ? G : 1];
    for (int g = 0; g < G; g++)
        fits[g] = allowed[g] && core_gpu_free(s, g) >= share;
    if (s->placement->pick_gang(s, model, fits, k, gang)) return true;
    return gang_evict(s, model, allowed, k, share, gang);
}

uint64_t core_sched_gang_stranded_bytes(const struct core_sched *s)
{
    if (!s) return 0;
    const struct core_spec *sp = s->spec;
    uint64_t stranded = 0;
    bool any_gang = false;
    for (int m = 0; m < sp->model_count && !any_gang; m++)
        any_gang = core_model_tp(&sp->models[m]) > 1;
    if (!any_gang) return 0;
    for (int n = 0; n < sp->node_count; n++) {
        const struct core_node_spec *node = &sp->nodes[n];
        for (int i = 0; i < node->gpu_count; i++) {
            int g = node->first_gpu + i;
            if (!core_gpu_healthy(s, g)) continue;
            uint64_t free_g = core_gpu_free(s, g);
            bool usable = false;
            for (int m = 0; m < sp->model_count && !usable; m++) {
                int k = core_model_tp(&sp->models[m]);
                uint64_t share = core_model_share_bytes(&sp->models[m]);
                if (k <= 1 || free_g < share) continue;
                int c = 0; /* GPUs of the node that could hold the share */
                for (int j = 0; j < node->gpu_count; j++) {
                    int h = node->first_gpu + j;
                    c += core_gpu_healthy(s, h) && core_gpu_free(s, h) >= share;
                }
                usable = c >= k;
            }
            if (!usable) stranded += free_g;
        }
    }
    return stranded;
}

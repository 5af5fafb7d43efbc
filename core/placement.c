/* placement.c - which GPU a load goes to, among those where it fits now
 * (healthy, within the load limits, enough free VRAM). One function per
 * policy; ties always go to the lowest flat GPU index so runs repeat. When
 * nothing fits, evict.c decides instead (see core.h). A tensor-parallel
 * model (tp > 1) takes a gang of k GPUs of one node: each policy has a gang
 * form below. */
#include "core_internal.h"

#include <string.h>

/* GPUs of one node a gang pick looks at: CORE_LD_MAX_GPUS_PER_NODE. */
#define CORE_LD_GANG_SCAN 4096

static int first_fit(const struct core_sched *s, int model, const unsigned char *fits)
{
    (void)model;
    for (int g = 0; g < s->spec->gpu_count; g++)
        if (fits[g]) return g;
    return -1;
}

/* Least VRAM left over after the load. */
static int best_fit_among(const struct core_sched *s, int model, const unsigned char *fits)
{
    uint64_t need = s->spec->models[model].vram_bytes, best_left = 0;
    int best = -1;
    for (int g = 0; g < s->spec->gpu_count; g++) {
        if (!fits[g]) continue;
        uint64_t left = core_gpu_free(s, g) - need;
        if (best < 0 || left < best_left) {
            best = g;
            best_left = left;
        }
    }
    return best;
}

/* Least loaded: the smallest reserved fraction of VRAM before the load. */
static int spread(const struct core_sched *s, int model, const unsigned char *fits)
{
    (void)model;
    int best = -1;
    double best_frac = 0.0;
    for (int g = 0; g < s->spec->gpu_count; g++) {
        if (!fits[g]) continue;
        double total = (double)s->spec->gpus[g].vram_bytes;
        double frac = total > 0.0 ? (double)s->gpus[g].reserved_bytes / total : 1.0;
        if (best < 0 || frac < best_frac) {
            best = g;
            best_frac = frac;
        }
    }
    return best;
}

/* GPUs on nodes whose shm holds the weights first (the copy reads from
 * memory), best fit among them; best fit among all otherwise. */
static int locality(const struct core_sched *s, int model, const unsigned char *fits)
{
    unsigned char local[s->spec->gpu_count > 0 ? s->spec->gpu_count : 1];
    bool any = false;
    for (int g = 0; g < s->spec->gpu_count; g++) {
        local[g] = fits[g] && core_shm_resident(s, s->spec->gpus[g].node, model);
        any = any || local[g];
    }
    return best_fit_among(s, model, any ? local : fits);
}

/* ---- gangs (tp > 1): k GPUs of one node ------------------------------------
 * Per node, the fitting GPUs are ranked by the policy's key (ties: lower
 * index), the k best form the node's gang, and the node whose gang scores
 * lowest (sum of the keys; ties: lower node index) wins. */

enum gang_key { KEY_INDEX, KEY_LEFTOVER, KEY_FRACTION };

static double gang_key(const struct core_sched *s, int model, int g, enum gang_key key)
{
    switch (key) {
    case KEY_INDEX:
        return 0.0; /* first_fit: the node order alone decides */
    case KEY_LEFTOVER:
        return (double)(core_gpu_free(s, g) - core_model_need(s, model));
    case KEY_FRACTION: {
        double total = (double)s->spec->gpus[g].vram_bytes;
        return total > 0.0 ? (double)s->gpus[g].reserved_bytes / total : 1.0;
    }
    }
    return 0.0;
}

static bool gang_by(const struct core_sched *s, int model, const unsigned char *fits, int k,
                    int *gang, enum gang_key key)
{
    const struct core_spec *sp = s->spec;
    bool found = false;
    double best_score = 0.0;
    for (int n = 0; n < sp->node_count; n++) {
        const struct core_node_spec *node = &sp->nodes[n];
        int cand[CORE_LD_GANG_SCAN], c = 0;
        double keys[CORE_LD_GANG_SCAN];
        for (int i = 0; i < node->gpu_count && c < CORE_LD_GANG_SCAN; i++) {
            int g = node->first_gpu + i;
            if (!fits[g]) continue;
            /* insertion by (key, index): the first k are the node's gang */
            double kv = gang_key(s, model, g, key);
            int p = c++;
            while (p > 0 && keys[p - 1] > kv) {
                cand[p] = cand[p - 1];
                keys[p] = keys[p - 1];
                p--;
            }
            cand[p] = g;
            keys[p] = kv;
        }
        if (c < k) continue;
        double score = 0.0;
        for (int i = 0; i < k; i++)
            score += keys[i];
        if (found && score >= best_score) continue;
        found = true;
        best_score = score;
        for (int i = 0; i < k; i++)
            gang[i] = cand[i];
        if (key == KEY_INDEX) break; /* the lowest node with k fitting GPUs */
    }
    if (!found) return false;
    for (int i = 1; i < k; i++) /* ascending indices: gang[0] leads */
        for (int j = i; j > 0 && gang[j - 1] > gang[j]; j--) {
            int t = gang[j];
            gang[j] = gang[j - 1];
            gang[j - 1] = t;
        }
    return true;
}

/* The lowest-index node with k fitting GPUs, its k lowest-index GPUs. */
static bool gang_first_fit(const struct core_sched *s, int model, const unsigned char *fits, int k,
                           int *gang)
{
    return gang_by(s, model, fits, k, gang, KEY_INDEX);
}

/* Least VRAM left over on the gang's GPUs after the load, summed. */
static bool gang_best_fit(const struct core_sched *s, int model, const unsigned char *fits, int k,
                          int *gang)
{
    return gang_by(s, model, fits, k, gang, KEY_LEFTOVER);
}

/* Least loaded: the smallest summed reserved fraction before the load. */
static bool gang_spread(const struct core_sched *s, int model, const unsigned char *fits, int k,
                        int *gang)
{
    return gang_by(s, model, fits, k, gang, KEY_FRACTION);
}

/* Nodes whose shm holds the weights first, best fit among them. */
static bool gang_locality(const struct core_sched *s, int model, const unsigned char *fits, int k,
                          int *gang)
{
    unsigned char local[s->spec->gpu_count > 0 ? s->spec->gpu_count : 1];
    bool any = false;
    for (int g = 0; g < s->spec->gpu_count; g++) {
        local[g] = fits[g] && core_shm_resident(s, s->spec->gpus[g].node, model);
        any = any || local[g];
    }
    if (any && gang_by(s, model, local, k, gang, KEY_LEFTOVER)) return true;
    return gang_by(s, model, fits, k, gang, KEY_LEFTOVER);
}

const struct core_placement_policy core_placement_policies[] = {
    {"first_fit", first_fit, gang_first_fit},
    {"best_fit", best_fit_among, gang_best_fit},
    {"spread", spread, gang_spread},
    {"locality", locality, gang_locality},
    {NULL, NULL, NULL},
};

const struct core_placement_policy *core_placement_policy_find(const char *name)
{
    for (const struct core_placement_policy *p = core_placement_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

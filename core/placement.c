/* placement.c - which GPU a load goes to, among those where it fits now
 * (healthy, within the load limits, enough free VRAM). One function per
 * policy; ties always go to the lowest flat GPU index so runs repeat. When
 * nothing fits, evict.c decides instead (see core.h). */
#include "core_internal.h"

#include <string.h>

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

const struct core_placement_policy core_placement_policies[] = {
    {"first_fit", first_fit},
    {"best_fit", best_fit_among},
    {"spread", spread},
    {"locality", locality},
    {NULL, NULL},
};

const struct core_placement_policy *core_placement_policy_find(const char *name)
{
    for (const struct core_placement_policy *p = core_placement_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

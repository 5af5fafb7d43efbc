/* lone_load.c - the time one load would take with the whole node to itself:
 * the yardstick `thaw check` prints and the sjf queue policy orders by. It uses
 * only distribution means, so it is a pure function of the spec.
 * Returns -1 for a bad model or GPU index and INT64_MAX when a bandwidth the
 * copy needs is zero (the load could never finish). */
#include "spec.h"

#include <math.h>

static double phase_ns(const struct core_phase_spec *p)
{
    /* A cpu phase's work is core-time at one core, so its lone wall time is
     * the work itself; a cache hit draws hit_work instead, with probability p. */
    double hit = p->cache_hit_probability;
    if (!(hit > 0.0)) return (double)p->work.mean_ns;
    if (hit > 1.0) hit = 1.0;
    return hit * (double)p->hit_work.mean_ns + (1.0 - hit) * (double)p->work.mean_ns;
}

int64_t core_spec_lone_load_ns(const struct core_spec *spec, int model, int gpu, bool from_shm)
{
    if (!spec || model < 0 || model >= spec->model_count || gpu < 0 || gpu >= spec->gpu_count)
        return -1;
    const struct core_gpu_spec *g = &spec->gpus[gpu];
    if (g->node < 0 || g->node >= spec->node_count) return -1;
    const struct core_node_spec *n = &spec->nodes[g->node];
    const struct core_model_spec *m = &spec->models[model];

    double total = (double)n->init.mean_ns + (double)n->warmup.mean_ns;
    for (int i = 0; i < m->phase_count && m->phases; i++)
        total += phase_ns(&m->phases[i]);

    if (m->weights_bytes > 0) {
        /* The copy runs at its slowest stage: the source read, the GPU's
         * link, or the node's PCIe switch when there is one. */
        /* A gang of k copies 1/k each over its own GPU's link (this
         * GPU's stands for all), sharing the source and the switch. */
        double k = (double)core_model_tp(m);
        double bw = from_shm ? n->shm_read_bps : n->storage_read_bps;
        /* a model in a remote store reads it through the node's link */
        if (!from_shm && m->store >= 1 && m->store <= spec->store_count) {
            bw = spec->stores[m->store - 1].read_bps;
            if (n->network_bps > 0.0 && n->network_bps < bw) bw = n->network_bps;
        }
        bw /= k;
        if (g->h2d_bps < bw) bw = g->h2d_bps;
        if (n->pcie_switch_bps > 0.0 && n->pcie_switch_bps / k < bw) bw = n->pcie_switch_bps / k;
        if (!(bw > 0.0)) return INT64_MAX;
        total += (double)core_model_shard_bytes(m, 0) * 1e9 / bw;
    }
    if (!(total < 9.2e18)) return INT64_MAX;
    if (total < 0.0) return 0;
    return (int64_t)llround(total);
}

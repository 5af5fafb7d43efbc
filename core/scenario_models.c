/* scenario_models.c - the model keys of deployments as they are run:
 * `tp: K` (one instance over K GPUs of one node) and its check against the
 * cluster. Kept apart from scenario.c so the model entry there only hands
 * the nodes over. */
#include "scenario_internal.h"

#include <libfyaml.h>
#include <stdio.h>

void core_ld_model_tp(struct core_ld *ld, struct fy_node *n, struct fy_node *placement,
                      const char *path, struct core_model_spec *t)
{
    char sub[220];
    snprintf(sub, sizeof sub, "%s.tp", path);
    int64_t v;
    if (!core_ld_int(ld, n, sub, 1, CORE_TP_MAX, &v)) return;
    t->tp = (int)v;
    if (v > 1 && placement) {
        snprintf(sub, sizeof sub, "%s.placement", path);
        core_ld_err(ld, placement, NULL, sub,
                    "a model with tp %d cannot be placed at start (placement is for tp 1); "
                    "use replicas min to have it loaded at start",
                    (int)v);
    }
}

void core_ld_check_tp(struct core_ld *ld, int m)
{
    const struct core_spec *spec = ld->spec;
    const struct core_model_spec *ms = &spec->models[m];
    int k = core_model_tp(ms);
    uint64_t share = core_model_share_bytes(ms);
    int most = 0; /* the most GPUs with room for the share on one node */
    for (int n = 0; n < spec->node_count; n++) {
        int c = 0;
        for (int i = 0; i < spec->nodes[n].gpu_count; i++)
            c += spec->gpus[spec->nodes[n].first_gpu + i].vram_bytes >= share;
        if (c > most) most = c;
    }
    if (most >= k) return;
    char a[32], b[32];
    core_ld_fmt_bytes(ms->vram_bytes, a, sizeof a);
    core_ld_fmt_bytes(share, b, sizeof b);
    char path[160];
    snprintf(path, sizeof path, "models[%d].tp", ld->model_src[m].entry_index);
    struct fy_node *entry = ld->model_src[m].entry;
    struct fy_node *at = entry ? fy_node_mapping_lookup_by_string(entry, "tp", FY_NT) : NULL;
    core_ld_err(ld, at ? at : ld->model_vram_node[m], NULL, path,
                "model '%s' at tp %d needs %d GPUs of one node with %s each (%s in all); "
                "no node has that many (at most %d)",
                ms->name, k, k, b, a, most);
}

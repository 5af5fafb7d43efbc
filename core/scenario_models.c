/* scenario_models.c - the model keys of deployments as they are run:
 * `tp: K` (one instance over K GPUs of one node) and its check against the
 * cluster; `params: 70B` with `dtype: bf16` for the weights' size. Kept apart from scenario.c so
 * the model entry there only hands the nodes over. */
#include "scenario_internal.h"

#include <libfyaml.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* "70B", "8.03B", "560M", "1.2T", "7000000000": a parameter count. */
static bool parse_count(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || !(v > 0)) return false;
    double mul = 1;
    if (*end) {
        switch (*end) {
        case 'K':
            mul = 1e3;
            break;
        case 'M':
            mul = 1e6;
            break;
        case 'B':
            mul = 1e9;
            break;
        case 'T':
            mul = 1e12;
            break;
        default:
            return false;
        }
        if (end[1]) return false;
    }
    *out = v * mul;
    return *out >= 1 && *out < 1e15;
}

bool core_ld_model_params(struct core_ld *ld, struct fy_node *params, struct fy_node *dtype,
                          struct fy_node *owner, const char *path, uint64_t *weights)
{
    char sub[220];
    if (!params || !dtype) {
        core_ld_err(ld, params ? params : dtype, owner, path,
                    params ? "params needs 'dtype' (fp32, fp16, bf16, fp8, int8, int4 or a "
                             "preset of your own)"
                           : "dtype needs 'params' (the parameter count, such as 8B)");
        return false;
    }
    snprintf(sub, sizeof sub, "%s.params", path);
    size_t len = 0;
    const char *s = fy_node_is_scalar(params) ? fy_node_get_scalar(params, &len) : NULL;
    double count = 0;
    if (!s || !parse_count(s, len, &count)) {
        char found[80];
        core_ld_describe(params, found, sizeof found);
        core_ld_err(ld, params, NULL, sub,
                    "expected a parameter count such as 8B, 70B or 560M (K, M, B, T: 10^3, "
                    "10^6, 10^9, 10^12), found %s",
                    found);
        return false;
    }
    snprintf(sub, sizeof sub, "%s.dtype", path);
    double bpp = 0;
    if (!core_ld_preset_dtype(ld, dtype, sub, &bpp)) return false;
    double w = count * bpp;
    if (!(w >= 1 && w < 1.8e19)) {
        core_ld_err(ld, params, NULL, path, "params x dtype is out of range");
        return false;
    }
    *weights = (uint64_t)llround(w);
    char name[CORE_NAME_MAX];
    size_t dl = 0;
    const char *d = fy_node_get_scalar(dtype, &dl);
    snprintf(name, sizeof name, "%.*s", (int)(dl < 60 ? dl : 60), d ? d : "");
    snprintf(sub, sizeof sub, "%s.params", path);
    core_ld_note_weights(ld, sub, count, name, bpp, *weights);
    return true;
}

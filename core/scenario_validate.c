/* scenario_validate.c - checks that need the whole spec: duplicate names
 * (nodes, GPUs, models after count expansion), models that fit no GPU,
 * initial placements that overfill a GPU; and the sorted name indexes that
 * make those checks and reference lookups O(n log n) for 100,000 items. */
#include "scenario_internal.h"

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_ix(const void *a, const void *b)
{
    const struct core_name_ix *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct core_name_ix *core_name_ix_build(const void *base, size_t stride, size_t name_offset, int n)
{
    struct core_name_ix *ix = malloc((size_t)(n > 0 ? n : 1) * sizeof *ix);
    if (!ix) return NULL;
    for (int i = 0; i < n; i++) {
        ix[i].name = (const char *)base + (size_t)i * stride + name_offset;
        ix[i].idx = i;
    }
    qsort(ix, (size_t)n, sizeof *ix, cmp_ix);
    return ix;
}

/* The lowest index with that name, or -1. */
int core_name_ix_find(const struct core_name_ix *ix, int n, const char *name)
{
    if (!ix) return -1;
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(ix[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && !strcmp(ix[lo].name, name) ? ix[lo].idx : -1;
}

/* A GPU by name ("primary/gpu0", or a name given in the file), else by
 * "node/index" ("primary/0"). */
int core_ld_find_gpu(const struct core_spec *spec, const struct core_name_ix *gpu_ix,
                     const struct core_name_ix *node_ix, const char *ref)
{
    int g = core_name_ix_find(gpu_ix, spec->gpu_count, ref);
    if (g >= 0) return g;
    const char *slash = strrchr(ref, '/');
    if (!slash || !slash[1] || slash - ref >= CORE_NAME_MAX) return -1;
    char node[CORE_NAME_MAX];
    memcpy(node, ref, (size_t)(slash - ref));
    node[slash - ref] = '\0';
    long idx = 0;
    for (const char *p = slash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || idx > 1000000) return -1;
        idx = idx * 10 + (*p - '0');
    }
    int ni = core_name_ix_find(node_ix, spec->node_count, node);
    if (ni < 0 || idx >= spec->nodes[ni].gpu_count) return -1;
    return spec->nodes[ni].first_gpu + (int)idx;
}

static void duplicates(struct core_ld *ld, const struct core_name_ix *ix, int n,
                       const struct core_ld_src *src, const char *what, const char *list)
{
    const struct core_spec *spec = ld->spec;
    bool gpus = src == ld->gpu_src;
    if (!ix) return;
    for (int i = 1; i < n && !ld->stopped; i++) {
        if (strcmp(ix[i].name, ix[i - 1].name)) continue;
        const struct core_ld_src *s = &src[ix[i].idx], *first = &src[ix[i - 1].idx];
        char path[160];
        if (gpus && s->entry && fy_node_is_mapping(s->entry))
            snprintf(path, sizeof path, "%s[%d].gpus[%d].name", list, s->entry_index,
                     spec->gpus[ix[i].idx].index_in_node);
        else if (gpus)
            snprintf(path, sizeof path, "%s[%d].gpus[%d]", list, s->entry_index,
                     spec->gpus[ix[i].idx].index_in_node);
        else
            snprintf(path, sizeof path, "%s[%d]%s", list, s->entry_index, s->name ? ".name" : "");
        if (s->entry_index == first->entry_index)
            core_ld_err(ld, s->name ? s->name : s->entry, NULL, path,
                        "duplicate %s name '%s' (this entry names two %ss alike)", what, ix[i].name,
                        what);
        else
            core_ld_err(ld, s->name ? s->name : s->entry, NULL, path,
                        "duplicate %s name '%s' (also %s[%d])", what, ix[i].name, list,
                        first->entry_index);
    }
}

/* What `thaw sim` would refuse about the workloads, said by the loader so
 * `thaw check` says it too: Poisson arrivals that never stop (no
 * arrivals.end, no run.duration), and one model given different
 * `concurrency` values by two workloads (an absent key says nothing). One
 * message per workload entry (a count expands one entry to many models). */
static void check_workloads(struct core_ld *ld)
{
    const struct core_spec *spec = ld->spec;
    if (!ld->wl_src || !ld->models_ok) return;
    int *conc_from =
        malloc((size_t)(spec->model_count > 0 ? spec->model_count : 1) * sizeof *conc_from);
    if (!conc_from) {
        ld->nomem = true;
        return;
    }
    for (int m = 0; m < spec->model_count; m++)
        conc_from[m] = -1; /* the first workload that set it */
    int last_poisson = -1, last_conc = -1;
    char path[200];
    for (int i = 0; i < spec->workload_count && !ld->stopped; i++) {
        const struct core_workload_spec *w = &spec->workloads[i];
        const struct core_ld_wl_src *src = &ld->wl_src[i];
        if (w->model < 0 || w->model >= spec->model_count) continue;
        const char *name = spec->models[w->model].name;
        if (w->arrivals == CORE_ARRIVAL_POISSON && w->rate_per_s > 0 && w->end_ns <= 0 &&
            spec->duration_ns <= 0 && src->entry_index != last_poisson) {
            last_poisson = src->entry_index;
            snprintf(path, sizeof path, "workload[%d].arrivals", src->entry_index);
            core_ld_err(ld, src->arrivals, NULL, path,
                        "Poisson arrivals of model '%s' with no end and no run.duration would "
                        "never stop; set arrivals.end or run.duration",
                        name);
        }
        if (!src->concurrency) continue;
        int first = conc_from[w->model];
        if (first < 0) {
            conc_from[w->model] = i;
        } else if (spec->workloads[first].concurrency != w->concurrency &&
                   src->entry_index != last_conc) {
            last_conc = src->entry_index;
            snprintf(path, sizeof path, "workload[%d].concurrency", src->entry_index);
            core_ld_err(ld, src->concurrency, NULL, path,
                        "model '%s' gets concurrency %d here but %d from workload[%d]; a model "
                        "has one number of slots per instance",
                        name, w->concurrency, spec->workloads[first].concurrency,
                        ld->wl_src[first].entry_index);
        }
    }
    free(conc_from);
}

void core_ld_validate(struct core_ld *ld)
{
    check_workloads(ld);
    struct core_spec *spec = ld->spec;
    /* Duplicates among whatever parsed, even when other entries had errors. */
    duplicates(ld, ld->node_ix, spec->node_count, ld->node_src, "node", "cluster.nodes");
    duplicates(ld, ld->gpu_ix, spec->gpu_count, ld->gpu_src, "GPU", "cluster.nodes");
    duplicates(ld, ld->model_ix, spec->model_count, ld->model_src, "model", "models");
    if (!ld->cluster_ok || !ld->models_ok) return;
    uint64_t largest = 0;
    for (int g = 0; g < spec->gpu_count; g++)
        if (spec->gpus[g].vram_bytes > largest) largest = spec->gpus[g].vram_bytes;
    char a[32], b[32];
    int last_entry = -1;
    for (int m = 0; m < spec->model_count && !ld->stopped; m++) {
        const struct core_model_spec *ms = &spec->models[m];
        /* One message per entry: a count of 100,000 need not say it 100,000 times. */
        if (core_model_tp(ms) > 1) {
            if (ld->model_src[m].entry_index != last_entry) {
                last_entry = ld->model_src[m].entry_index;
                core_ld_check_tp(ld, m);
            }
            continue;
        }
        if (ms->vram_bytes > largest && ld->model_src[m].entry_index != last_entry) {
            last_entry = ld->model_src[m].entry_index;
            core_ld_fmt_bytes(ms->vram_bytes, a, sizeof a);
            core_ld_fmt_bytes(largest, b, sizeof b);
            char path[160];
            snprintf(path, sizeof path, "models[%d]", ld->model_src[m].entry_index);
            core_ld_err(ld, ld->model_vram_node[m], NULL, path,
                        "model '%s' needs %s of VRAM, more than any GPU has (largest: %s)",
                        ms->name, a, b);
        }
    }
    /* Initial placements must fit in each GPU's VRAM together. */
    uint64_t *used = calloc((size_t)spec->gpu_count, sizeof *used);
    if (!used) {
        ld->nomem = true;
        return;
    }
    for (int m = 0; m < spec->model_count && !ld->stopped; m++) {
        const struct core_model_spec *ms = &spec->models[m];
        for (int i = 0; i < ms->initial_gpu_count; i++) {
            int g = ms->initial_gpus[i];
            if (g < 0 || g >= spec->gpu_count) continue;
            bool was_ok = used[g] <= spec->gpus[g].vram_bytes;
            used[g] += ms->vram_bytes;
            if (was_ok && used[g] > spec->gpus[g].vram_bytes) {
                core_ld_fmt_bytes(used[g], a, sizeof a);
                core_ld_fmt_bytes(spec->gpus[g].vram_bytes, b, sizeof b);
                char path[160];
                snprintf(path, sizeof path, "models[%d].placement", ld->model_src[m].entry_index);
                core_ld_err(
                    ld, ld->model_src[m].extra ? ld->model_src[m].extra : ld->model_src[m].entry,
                    NULL, path, "placing '%s' on %s fills it to %s, more than its %s of VRAM",
                    ms->name, spec->gpus[g].name, a, b);
            }
        }
    }
    free(used);
}

/* scenario_internal.h - pieces shared by the scenario loader's files
 * (scenario*.c, diag.c, sha256.c); internal to core/. The public face is
 * core_spec_load() and the diagnostics in spec.h. */
#ifndef THAW_CORE_SCENARIO_INTERNAL_H
#define THAW_CORE_SCENARIO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/* Appends one diagnostic (message printf-formatted). Returns 0 or
 * THAW_ENOMEM. file and path may be NULL (stored empty); line/column 0 when
 * the problem is not tied to a place. */
int core_diag_add(struct core_diags *d, const char *file, int line, int column, const char *path,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* "Did you mean" search: offer every valid name, then ask for the closest
 * one. A candidate counts only when its edit distance (insertions,
 * deletions, substitutions, adjacent transpositions) is small for the
 * word's length, so a wild guess gets no suggestion. */
struct core_suggest {
    const char *word;
    const char *best; /* not owned */
    int best_distance;
};
void core_suggest_init(struct core_suggest *s, const char *word);
void core_suggest_offer(struct core_suggest *s, const char *candidate);
const char *core_suggest_result(const struct core_suggest *s);

/* Edit distance as above (optimal string alignment), capped: returns at most
 * cap + 1 so long unrelated strings cost little. */
int core_edit_distance(const char *a, const char *b, int cap);

/* ---- the loader's working state (scenario*.c) --------------------------- */

struct fy_document;
struct fy_node;

/* Bounds that keep any input from exhausting memory or time. */
#define CORE_LD_MAX_FILE_BYTES (16u << 20)  /* a scenario file */
#define CORE_LD_MAX_TRACE_BYTES (64u << 20) /* a CSV trace */
#define CORE_LD_MAX_DIAGS 100               /* then one "too many errors" line */
#define CORE_LD_MAX_COUNT 100000            /* `count:` of one entry */
#define CORE_LD_MAX_NODES 10000
#define CORE_LD_MAX_GPUS 100000
#define CORE_LD_MAX_GPUS_PER_NODE 4096
#define CORE_LD_MAX_MODELS 100000
#define CORE_LD_MAX_WORKLOADS 200000
#define CORE_LD_MAX_FAULTS 100000
#define CORE_LD_MAX_PHASES 64
#define CORE_LD_MAX_ARRIVALS 20000000 /* times + bursts over all workloads */
#define CORE_LD_MAX_BURST 10000000    /* requests in one burst */

/* Where a spec item came from, for cross-reference diagnostics. */
struct core_ld_src {
    struct fy_node *entry; /* the list entry (mapping) it was expanded from */
    struct fy_node *name;  /* its name node, or NULL */
    int entry_index;       /* index of the entry in its list */
    struct fy_node *extra; /* models: the placement node; GPUs: NULL */
};

/* A node set by an override: diagnostics about it (or anything under it)
 * name the override instead of a line of the file. */
struct core_ld_ovr_node {
    struct fy_node *node;
    int ovr; /* index into the overrides */
};

struct core_ld {
    const char *file; /* the scenario path, for diagnostics */
    char *dir;        /* its folder, for relative paths */
    struct core_diags *diags;
    int first_diag; /* diags->items[first_diag..] belong to this load */
    int errors;
    bool stopped; /* CORE_LD_MAX_DIAGS reached */
    bool reporting_alias;
    bool nomem;
    struct fy_document *fyd;
    const struct core_override *ovr;
    int ovr_count;
    struct core_ld_ovr_node *ovr_nodes;
    int ovr_node_count;
    struct core_spec *spec;
    /* Sections that parsed without error: cross-references into a broken
     * section are skipped, so one mistake does not cascade. */
    bool cluster_ok, models_ok;
    /* Per spec item, where it came from (parallel to spec->nodes, gpus, models). */
    struct core_ld_src *node_src, *gpu_src, *model_src;
    struct fy_node **model_vram_node; /* the node that set the VRAM footprint */
    /* Per spec->workloads item: its entry (and index), its arrivals and
     * concurrency nodes (NULL when absent), for checks over the whole spec. */
    struct core_ld_wl_src {
        struct fy_node *entry, *arrivals, *concurrency;
        int entry_index;
    } * wl_src;
    int wl_src_cap;
    int64_t arrivals_total;
    /* Name indexes, built once a section parsed cleanly (NULL otherwise). */
    struct core_name_ix *node_ix, *gpu_ix, *model_ix;
    struct core_presets *presets; /* scenario_presets.c: built-in + the scenario's file */
};

/* A key of a mapping and its value, filled by core_ld_fields(). */
struct core_ld_field {
    const char *name;
    struct fy_node *key; /* NULL when absent */
    struct fy_node *val; /* NULL when absent or empty */
};

/* Reports an error at `at` (its line:column, or the override that set it).
 * Key nodes have no parent in libfyaml: pass the mapping holding a key as
 * `owner` so an override-created key is still recognised (else NULL). */
void core_ld_err(struct core_ld *ld, struct fy_node *at, struct fy_node *owner, const char *path,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* An error tied to no node (file-level): line 0. */
void core_ld_err_file(struct core_ld *ld, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A size for messages: "14GiB", "143.4GiB". */
void core_ld_fmt_bytes(uint64_t b, char *buf, size_t len);

/* "\"text\"", "a list", "a mapping", "nothing" -- for "found ..." */
void core_ld_describe(struct fy_node *n, char *buf, size_t len);
bool core_ld_is_null(struct fy_node *n);

/* Checks that `map` is a mapping whose keys are all among fields[i].name
 * (unknown keys are errors with a did-you-mean) and fills each field.
 * Returns false (after an error) when `map` is not a mapping. */
bool core_ld_fields(struct core_ld *ld, struct fy_node *map, const char *path,
                    struct core_ld_field *fields, int n, const char *what);

/* Typed values. Each returns true and sets *out, or reports an error (naming
 * path, the expected form and what was found) and returns false. */
bool core_ld_string(struct core_ld *ld, struct fy_node *n, const char *path, char *out, size_t size,
                    const char *expected);
bool core_ld_name(struct core_ld *ld, struct fy_node *n, const char *path, char *out);
bool core_ld_bool(struct core_ld *ld, struct fy_node *n, const char *path, bool *out);
bool core_ld_int(struct core_ld *ld, struct fy_node *n, const char *path, int64_t lo, int64_t hi,
                 int64_t *out);
bool core_ld_number(struct core_ld *ld, struct fy_node *n, const char *path, double lo, double hi,
                    double *out);
/* min_bytes: smallest allowed value (1 where zero is meaningless). */
bool core_ld_size(struct core_ld *ld, struct fy_node *n, const char *path, uint64_t min_bytes,
                  uint64_t *out);
bool core_ld_bandwidth(struct core_ld *ld, struct fy_node *n, const char *path, bool allow_zero,
                       double *out);
bool core_ld_duration(struct core_ld *ld, struct fy_node *n, const char *path, bool allow_zero,
                      int64_t *out);
bool core_ld_rate(struct core_ld *ld, struct fy_node *n, const char *path, bool allow_zero,
                  double *out);
bool core_ld_probability(struct core_ld *ld, struct fy_node *n, const char *path, double *out);
/* A duration or {dist: ..., mean:, cv:, min:, max:}; allow_zero for the mean. */
bool core_ld_dist(struct core_ld *ld, struct fy_node *n, const char *path, bool allow_zero,
                  struct core_dist *out);
/* One of names[] (NULL-terminated); the error lists them. */
bool core_ld_choice(struct core_ld *ld, struct fy_node *n, const char *path,
                    const char *const *names, int *index);

/* scenario_trace.c. `arrivals: {trace: ...}` into w (format, clock, window,
 * file scanned once) and, for each of the `count` models of the entry
 * (models first .. first+count-1), its share of the lines in per_model[k]
 * (per_model[k].id owned by the caller afterwards). */
bool core_ld_trace(struct core_ld *ld, struct fy_node *n, const char *path,
                   struct core_workload_spec *w, int first, int count,
                   struct core_trace_spec *per_model);
/* `arrivals: {rate: [{until, rate}, ...]}` and `{diurnal: {...}}` into w. */
bool core_ld_rate_pieces(struct core_ld *ld, struct fy_node *l, const char *path,
                         struct core_workload_spec *w);
bool core_ld_diurnal(struct core_ld *ld, struct fy_node *n, const char *path,
                     struct core_workload_spec *w);
/* `service: {tokens: {...}}`: is n one, and parse it. */
bool core_ld_is_token_service(struct fy_node *n);
bool core_ld_token_service(struct core_ld *ld, struct fy_node *n, const char *path,
                           struct core_token_service *out);

/* `service: {tokens: {preset: NAME}}` (token_presets.c): the preset's three
 * figures into out from core_token_presets_file(); errors at `at`. */
bool core_ld_token_preset(struct core_ld *ld, struct fy_node *at, const char *path,
                          const char *name, struct core_token_service *out);
/* The presets file: scenarios/presets/tokens.yaml of the source tree. */
const char *core_token_presets_file(void);

/* `service: {durations: FILE}`: each of the count models' service time
 * (out[k]) from its function's row of an Azure Functions durations file. */
bool core_ld_is_durations_service(struct fy_node *n);
bool core_ld_durations_service(struct core_ld *ld, struct fy_node *n, const char *path,
                               const struct core_workload_spec *w, int first,
                               const struct core_trace_spec *per_model, int count,
                               struct core_dist *out);

/* `weights_from: {memory: FILE, scale: S, column: C}` of an azure-functions
 * trace (scenario_memory.c): each of the count models' weights (and VRAM
 * footprint) from its app's row of an app_memory_percentiles file. */
bool core_ld_weights_from(struct core_ld *ld, struct fy_node *n, const char *path,
                          const struct core_workload_spec *w, int first,
                          const struct core_trace_spec *per_model, int count);
/* A path of the scenario resolved against its folder (malloc'ed; NULL and
 * ld->nomem when out of memory). */
char *core_ld_resolve(struct core_ld *ld, const char *p);
/* Splits a CSV line in place at its commas into at most max fields (no
 * quotes in the Azure files); returns the number of fields, which may
 * exceed max. */
int core_ld_split_csv(char *line, char **f, int max);
/* scenario_models.c: `tp: K` of a model into t->tp (1 ..
 * CORE_TP_MAX; not with a placement at start); core_ld_check_tp: whether
 * some node holds k GPUs with the share each (an error at the entry if
 * not), for model m of a clean cluster. */
void core_ld_model_tp(struct core_ld *ld, struct fy_node *n, struct fy_node *placement,
                      const char *path, struct core_model_spec *t);
void core_ld_check_tp(struct core_ld *ld, int m);
/* `params: 70B` and `dtype: bf16` into *weights (scenario_models.c). */
bool core_ld_model_params(struct core_ld *ld, struct fy_node *params, struct fy_node *dtype,
                          struct fy_node *owner, const char *path, uint64_t *weights);

/* scenario_presets.c. core_ld_presets: the built-in presets, then the scenario's
 * `presets:` file (user NULL when absent; user_key its key). The lookups
 * read a preset name at n, fill what it stands for and note the expansion
 * in spec->preset_notes; an unknown name is an error with a did-you-mean;
 * they return false after an error. */
struct core_presets;
void core_ld_presets(struct core_ld *ld, struct fy_node *user, struct fy_node *user_key);
void core_presets_free(struct core_presets *p);
bool core_ld_preset_gpu(struct core_ld *ld, struct fy_node *n, const char *path,
                        uint64_t *vram_bytes, double *h2d_bps);
bool core_ld_preset_dtype(struct core_ld *ld, struct fy_node *n, const char *path,
                          double *bytes_per_param);
bool core_ld_preset_engine(struct core_ld *ld, struct fy_node *n, const char *path,
                           struct core_phase_spec **phases, int *count);
void core_ld_note_weights(struct core_ld *ld, const char *path, double params, const char *dtype,
                          double bytes_per_param, uint64_t weights);
/* scenario.c's phase list reader (for engine presets). */
struct core_phase_spec *core_ld_phases(struct core_ld *ld, struct fy_node *list, const char *path,
                                       int *count);
/* scenario_ladder.c: a node's network, nvlink and disk_cache keys (each
 * NULL when absent) into t; cluster.stores into spec->stores; a model's
 * `store` name into *out (0 local, k > 0 stores[k - 1]; needs the stores). */
void core_ld_node_ladder(struct core_ld *ld, struct fy_node *network, struct fy_node *nvlink,
                         struct fy_node *disk, const char *path, struct core_node_spec *t);
void core_ld_stores(struct core_ld *ld, struct fy_node *list);
void core_ld_model_store(struct core_ld *ld, struct fy_node *v, const char *path, int *out);

/* Applies the overrides to ld->fyd (scenario_override.c). */
void core_ld_apply_overrides(struct core_ld *ld);

/* `include: FILE` (scenario_include.c): the host profile's node keys into
 * every cluster.nodes entry of ld->fyd that lacks them; errors in the
 * profile name its file. After the overrides, before the walk. */
void core_ld_include(struct core_ld *ld);

/* Cross-references and totals over the filled spec (scenario_validate.c). */
void core_ld_validate(struct core_ld *ld);

/* Sorted name index for lookups and duplicate checks over up to 100,000
 * items (scenario_validate.c). */
struct core_name_ix {
    const char *name;
    int idx;
};
struct core_name_ix *core_name_ix_build(const void *base, size_t stride, size_t name_offset, int n);
int core_name_ix_find(const struct core_name_ix *ix, int n, const char *name);
int core_ld_find_gpu(const struct core_spec *spec, const struct core_name_ix *gpu_ix,
                     const struct core_name_ix *node_ix, const char *ref);

/* SHA-256 of len bytes as 64 lowercase hex digits and a NUL. */
void core_sha256_hex(const void *data, size_t len, char out[65]);

#endif

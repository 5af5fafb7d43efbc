/* scenario_presets.c - named figures a scenario may use instead of typing them: GPUs
 * (VRAM and host-to-device bandwidth), dtypes (bytes per parameter) and
 * engines (startup phases). The built-in table is scenarios/presets.yaml,
 * compiled into the library (core_presets_yaml, generated at build time) so
 * thaw needs no data file at run time; a scenario's `presets: FILE` adds
 * its own entries on top (same name: the user's wins). Both are parsed by
 * the scenario loader's own readers, so a bad figure in either is a
 * file:line:col error naming that file. Every lookup records what the
 * preset expanded to (spec->preset_notes) for `thaw check`. */
#include "scenario_internal.h"

#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char core_presets_yaml[]; /* presets_yaml.c, from scenarios/presets.yaml */

#define PRESETS_MAX_BYTES (1u << 20)
#define PRESETS_MAX_ENTRIES 4096

struct core_preset_gpu {
    char name[CORE_NAME_MAX];
    uint64_t vram_bytes;
    double h2d_bps;
};

struct core_preset_dtype {
    char name[CORE_NAME_MAX];
    double bytes_per_param;
};

struct core_preset_engine {
    char name[CORE_NAME_MAX];
    int phase_count;
    struct core_phase_spec *phases;
};

struct core_presets {
    struct core_preset_gpu *gpus;
    struct core_preset_dtype *dtypes;
    struct core_preset_engine *engines;
    int gpu_count, dtype_count, engine_count;
    struct fy_document *docs[2]; /* built-in, user's: kept for error positions */
    char *user_text;             /* the user's file: libfyaml reads it in place */
};

void core_presets_free(struct core_presets *p)
{
    if (!p) return;
    for (int i = 0; i < p->engine_count; i++)
        free(p->engines[i].phases);
    free(p->gpus);
    free(p->dtypes);
    free(p->engines);
    for (int i = 0; i < 2; i++)
        if (p->docs[i]) fy_document_destroy(p->docs[i]);
    free(p->user_text);
    free(p);
}

/* The slot for `name` in an array of entries whose first member is the
 * name: an existing one (replaced) or a new one at the end. */
static void *slot(struct core_ld *ld, void **arr, int *count, size_t elem, const char *name)
{
    for (int i = 0; i < *count; i++) {
        char *e = (char *)*arr + (size_t)i * elem;
        if (!strcmp(e, name)) return e;
    }
    char *g = realloc(*arr, (size_t)(*count + 1) * elem);
    if (!g) {
        ld->nomem = true;
        return NULL;
    }
    *arr = g;
    char *e = g + (size_t)(*count)++ * elem;
    memset(e, 0, elem);
    snprintf(e, CORE_NAME_MAX, "%s", name);
    return e;
}

/* Iterates a section (a mapping of name -> entry); calls fn for each. */
static void section(struct core_ld *ld, struct fy_node *map, const char *sect,
                    void (*fn)(struct core_ld *, const char *name, struct fy_node *v,
                               const char *path))
{
    if (!map) return;
    if (!fy_node_is_mapping(map)) {
        char found[80];
        core_ld_describe(map, found, sizeof found);
        core_ld_err(ld, map, NULL, sect, "expected a mapping of preset names, found %s", found);
        return;
    }
    void *it = NULL;
    struct fy_node_pair *pr;
    int n = 0;
    while ((pr = fy_node_mapping_iterate(map, &it)) && !ld->nomem && !ld->stopped) {
        struct fy_node *k = fy_node_pair_key(pr);
        char name[CORE_NAME_MAX], path[200];
        if (++n > PRESETS_MAX_ENTRIES) {
            core_ld_err(ld, k, NULL, sect, "more than %d presets", PRESETS_MAX_ENTRIES);
            return;
        }
        if (!core_ld_name(ld, k, sect, name)) continue;
        snprintf(path, sizeof path, "%s.%s", sect, name);
        fn(ld, name, fy_node_pair_value(pr), path);
    }
}

static void gpu_entry(struct core_ld *ld, const char *name, struct fy_node *v, const char *path)
{
    struct core_ld_field f[2] = {{.name = "vram"}, {.name = "h2d"}};
    if (!core_ld_fields(ld, v, path, f, 2, "a GPU preset {vram: 80GiB, h2d: 64GB/s}")) return;
    if (!f[0].key || !f[1].key) {
        core_ld_err(ld, v, NULL, path, "missing key '%s'", f[0].key ? "h2d" : "vram");
        return;
    }
    struct core_preset_gpu g = {0};
    char sub[220];
    snprintf(sub, sizeof sub, "%s.vram", path);
    bool ok = core_ld_size(ld, f[0].val, sub, 1, &g.vram_bytes);
    snprintf(sub, sizeof sub, "%s.h2d", path);
    ok = core_ld_bandwidth(ld, f[1].val, sub, false, &g.h2d_bps) && ok;
    if (!ok) return;
    struct core_presets *p = ld->presets;
    struct core_preset_gpu *e = slot(ld, (void **)&p->gpus, &p->gpu_count, sizeof *p->gpus, name);
    if (e) {
        snprintf(g.name, sizeof g.name, "%s", name);
        *e = g;
    }
}

static void dtype_entry(struct core_ld *ld, const char *name, struct fy_node *v, const char *path)
{
    double b;
    if (!core_ld_number(ld, v, path, 0.0625, 64, &b)) return;
    struct core_presets *p = ld->presets;
    struct core_preset_dtype *e =
        slot(ld, (void **)&p->dtypes, &p->dtype_count, sizeof *p->dtypes, name);
    if (e) e->bytes_per_param = b;
}

static void engine_entry(struct core_ld *ld, const char *name, struct fy_node *v, const char *path)
{
    struct core_ld_field f[1] = {{.name = "phases"}};
    if (!core_ld_fields(ld, v, path, f, 1, "an engine preset {phases: [...]}")) return;
    if (!f[0].key) {
        core_ld_err(ld, v, NULL, path, "missing key 'phases'");
        return;
    }
    char sub[220];
    snprintf(sub, sizeof sub, "%s.phases", path);
    int n = 0, before = ld->errors;
    struct core_phase_spec *ph = core_ld_phases(ld, f[0].val, sub, &n);
    if (ld->errors != before) {
        free(ph);
        return;
    }
    struct core_presets *p = ld->presets;
    struct core_preset_engine *e =
        slot(ld, (void **)&p->engines, &p->engine_count, sizeof *p->engines, name);
    if (!e) {
        free(ph);
        return;
    }
    free(e->phases);
    e->phases = ph;
    e->phase_count = n;
}

static void parse_doc(struct core_ld *ld, struct fy_document *doc)
{
    struct fy_node *root = fy_document_root(doc);
    enum { GPUS, DTYPES, ENGINES, NF };
    struct core_ld_field f[NF] = {{.name = "gpus"}, {.name = "dtypes"}, {.name = "engines"}};
    if (!root || !core_ld_fields(ld, root, "", f, NF,
                                 "a presets file (a mapping with gpus, dtypes, engines)"))
        return;
    section(ld, f[GPUS].val, "gpus", gpu_entry);
    section(ld, f[DTYPES].val, "dtypes", dtype_entry);
    section(ld, f[ENGINES].val, "engines", engine_entry);
}

static struct fy_document *build(const char *text, size_t len)
{
    struct fy_parse_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_ALLOW_DUPLICATE_KEYS;
    return fy_document_build_from_string(&cfg, text, len);
}

/* The file's bytes (NUL-terminated), or NULL with *why set. */
static char *slurp(const char *path, size_t *len, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = "cannot open it";
        return NULL;
    }
    char *buf = malloc(PRESETS_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, PRESETS_MAX_BYTES + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf || err || n > PRESETS_MAX_BYTES) {
        *why = !buf ? "out of memory" : err ? "cannot read it" : "larger than 1 MiB";
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

void core_ld_presets(struct core_ld *ld, struct fy_node *user, struct fy_node *user_key)
{
    ld->presets = calloc(1, sizeof *ld->presets);
    if (!ld->presets) {
        ld->nomem = true;
        return;
    }
    const char *file = ld->file;
    ld->file = "presets.yaml (built in)";
    ld->presets->docs[0] = build(core_presets_yaml, strlen(core_presets_yaml));
    if (ld->presets->docs[0])
        parse_doc(ld, ld->presets->docs[0]);
    else
        core_ld_err_file(ld, 0, 0, "the built-in presets do not parse");
    ld->file = file;
    if (!user_key) return;
    char rel[4096], *path = NULL;
    if (!core_ld_string(ld, user, "presets", rel, sizeof rel, "a presets file such as my.yaml"))
        return;
    path = rel[0] == '/' || !ld->dir[0] ? strdup(rel) : NULL;
    if (!path) {
        size_t n = strlen(ld->dir) + strlen(rel) + 2;
        path = malloc(n);
        if (path) snprintf(path, n, "%s/%s", ld->dir, rel);
    }
    if (!path) {
        ld->nomem = true;
        return;
    }
    size_t len = 0;
    const char *why = NULL;
    char *text = slurp(path, &len, &why);
    if (text) {
        ld->presets->docs[1] = build(text, len);
        if (!ld->presets->docs[1]) why = "it is not valid YAML";
    }
    ld->presets->user_text = text; /* the document reads it in place */
    if (!ld->presets->docs[1]) {
        core_ld_err(ld, user, NULL, "presets", "presets file %s: %s", path, why);
        free(path);
        return;
    }
    /* diagnostics about the user's file name it; the path outlives them
     * only through the copies core_diag_add makes */
    ld->file = path;
    parse_doc(ld, ld->presets->docs[1]);
    ld->file = file;
    free(path);
}

/* Records one expansion for `thaw check`. */
static void note(struct core_ld *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct core_ld *ld, const char *fmt, ...)
{
    struct core_spec *spec = ld->spec;
    char buf[CORE_PRESET_NOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (int i = 0; i < spec->preset_note_count; i++)
        if (!strcmp(spec->preset_notes[i], buf)) return; /* count: once per entry */
    char **g = realloc(spec->preset_notes, (size_t)(spec->preset_note_count + 1) * sizeof *g);
    char *s = g ? strdup(buf) : NULL;
    if (g) spec->preset_notes = g;
    if (!s) {
        ld->nomem = true;
        return;
    }
    spec->preset_notes[spec->preset_note_count++] = s;
}

/* Reads the name at n and finds it in the entries (first member: name);
 * an unknown name is an error with a did-you-mean and the known names. */
static const void *lookup(struct core_ld *ld, struct fy_node *n, const char *path, const char *what,
                          const void *arr, int count, size_t elem)
{
    char name[CORE_NAME_MAX];
    if (!ld->presets || !core_ld_name(ld, n, path, name)) return NULL;
    struct core_suggest sg;
    core_suggest_init(&sg, name);
    char known[400] = "";
    size_t used = 0;
    for (int i = 0; i < count; i++) {
        const char *e = (const char *)arr + (size_t)i * elem;
        if (!strcmp(e, name)) return e;
        core_suggest_offer(&sg, e);
        if (used + strlen(e) + 3 < sizeof known)
            used +=
                (size_t)snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", e);
    }
    if (core_suggest_result(&sg))
        core_ld_err(ld, n, NULL, path, "unknown %s preset '%s'; did you mean '%s'?", what, name,
                    core_suggest_result(&sg));
    else
        core_ld_err(ld, n, NULL, path, "unknown %s preset '%s' (known: %s)", what, name, known);
    return NULL;
}

bool core_ld_preset_gpu(struct core_ld *ld, struct fy_node *n, const char *path,
                        uint64_t *vram_bytes, double *h2d_bps)
{
    struct core_presets *p = ld->presets;
    const struct core_preset_gpu *g =
        p ? lookup(ld, n, path, "GPU", p->gpus, p->gpu_count, sizeof *p->gpus) : NULL;
    if (!g) return false;
    *vram_bytes = g->vram_bytes;
    *h2d_bps = g->h2d_bps;
    char v[32];
    core_ld_fmt_bytes(g->vram_bytes, v, sizeof v);
    note(ld, "%s: gpu %s -> vram %s, h2d %.4gGB/s per GPU", path, g->name, v, g->h2d_bps / 1e9);
    return true;
}

bool core_ld_preset_dtype(struct core_ld *ld, struct fy_node *n, const char *path,
                          double *bytes_per_param)
{
    struct core_presets *p = ld->presets;
    const struct core_preset_dtype *d =
        p ? lookup(ld, n, path, "dtype", p->dtypes, p->dtype_count, sizeof *p->dtypes) : NULL;
    if (!d) return false;
    *bytes_per_param = d->bytes_per_param;
    return true;
}

void core_ld_note_weights(struct core_ld *ld, const char *path, double params, const char *dtype,
                          double bytes_per_param, uint64_t weights)
{
    char w[32];
    core_ld_fmt_bytes(weights, w, sizeof w);
    double scale = params >= 1e12 ? 1e12 : params >= 1e9 ? 1e9 : params >= 1e6 ? 1e6 : 1;
    const char *unit = scale == 1e12 ? "T" : scale == 1e9 ? "B" : scale == 1e6 ? "M" : "";
    note(ld, "%s: params %.6g%s x %s (%g B each) -> weights %llu B (%s)", path, params / scale,
         unit, dtype, bytes_per_param, (unsigned long long)weights, w);
}

bool core_ld_preset_engine(struct core_ld *ld, struct fy_node *n, const char *path,
                           struct core_phase_spec **phases, int *count)
{
    struct core_presets *p = ld->presets;
    const struct core_preset_engine *e =
        p ? lookup(ld, n, path, "engine", p->engines, p->engine_count, sizeof *p->engines) : NULL;
    if (!e) return false;
    *phases = NULL;
    *count = 0;
    if (e->phase_count > 0) {
        *phases = malloc((size_t)e->phase_count * sizeof **phases);
        if (!*phases) {
            ld->nomem = true;
            return false;
        }
        memcpy(*phases, e->phases, (size_t)e->phase_count * sizeof **phases);
        *count = e->phase_count;
    }
    char text[CORE_PRESET_NOTE_MAX - 200] = "";
    size_t used = 0;
    for (int i = 0; i < e->phase_count && used + 80 < sizeof text; i++) {
        const struct core_phase_spec *ph = &e->phases[i];
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%s %s %s %.4gs", i ? ", " : "",
                                 ph->name, ph->when == CORE_PHASE_BEFORE_COPY ? "before" : "after",
                                 ph->cpu ? "cpu" : "wait", (double)ph->work.mean_ns / 1e9);
    }
    note(ld, "%s: engine %s -> phases: %s", path, e->name, text);
    return true;
}

/* ---- `thaw check` on a presets file ------------------------------------- */

static void describe_all(const struct core_presets *p, void (*line)(void *ctx, const char *text),
                         void *ctx)
{
    char buf[CORE_PRESET_NOTE_MAX], v[32];
    for (int i = 0; i < p->gpu_count; i++) {
        core_ld_fmt_bytes(p->gpus[i].vram_bytes, v, sizeof v);
        snprintf(buf, sizeof buf, "gpu %s -> vram %s, h2d %.4gGB/s per GPU", p->gpus[i].name, v,
                 p->gpus[i].h2d_bps / 1e9);
        line(ctx, buf);
    }
    for (int i = 0; i < p->dtype_count; i++) {
        snprintf(buf, sizeof buf, "dtype %s -> %g B per parameter (8B params: %.4gGB)",
                 p->dtypes[i].name, p->dtypes[i].bytes_per_param,
                 8.0 * p->dtypes[i].bytes_per_param);
        line(ctx, buf);
    }
    for (int i = 0; i < p->engine_count; i++) {
        const struct core_preset_engine *e = &p->engines[i];
        size_t used = (size_t)snprintf(buf, sizeof buf, "engine %s -> phases:", e->name);
        for (int k = 0; k < e->phase_count && used + 80 < sizeof buf; k++) {
            const struct core_phase_spec *ph = &e->phases[k];
            used +=
                (size_t)snprintf(buf + used, sizeof buf - used, "%s %s %s %s %.4gs", k ? "," : "",
                                 ph->name, ph->when == CORE_PHASE_BEFORE_COPY ? "before" : "after",
                                 ph->cpu ? "cpu" : "wait", (double)ph->work.mean_ns / 1e9);
        }
        line(ctx, buf);
    }
}

int core_presets_describe(const char *path, void (*line)(void *ctx, const char *text), void *ctx,
                          struct core_diags *diags)
{
    if (!line || !diags) return THAW_EINVAL;
    struct core_ld ld;
    memset(&ld, 0, sizeof ld);
    ld.diags = diags;
    ld.first_diag = diags->count;
    ld.presets = calloc(1, sizeof *ld.presets);
    ld.spec = calloc(1, sizeof *ld.spec);
    if (!ld.presets || !ld.spec) {
        free(ld.presets);
        free(ld.spec);
        return THAW_ENOMEM;
    }
    int rc = 0;
    if (!path) {
        ld.file = "presets.yaml (built in)";
        ld.presets->docs[0] = build(core_presets_yaml, strlen(core_presets_yaml));
        if (ld.presets->docs[0]) parse_doc(&ld, ld.presets->docs[0]);
    } else {
        size_t len = 0;
        const char *why = NULL;
        ld.file = path;
        ld.presets->user_text = slurp(path, &len, &why);
        /* unreadable or not YAML: the scenario loader says why */
        if (!ld.presets->user_text || !(ld.presets->docs[1] = build(ld.presets->user_text, len))) {
            rc = 1;
        } else {
            /* a presets file: a mapping with gpus, dtypes or engines and
             * neither cluster nor models; anything else is for the caller */
            struct fy_node *root = fy_document_root(ld.presets->docs[1]);
            bool presets = root && fy_node_is_mapping(root) &&
                           !fy_node_mapping_lookup_by_string(root, "cluster", FY_NT) &&
                           !fy_node_mapping_lookup_by_string(root, "models", FY_NT) &&
                           (fy_node_mapping_lookup_by_string(root, "gpus", FY_NT) ||
                            fy_node_mapping_lookup_by_string(root, "dtypes", FY_NT) ||
                            fy_node_mapping_lookup_by_string(root, "engines", FY_NT));
            if (!presets)
                rc = 1;
            else
                parse_doc(&ld, ld.presets->docs[1]);
        }
    }
    if (rc == 0 && ld.nomem) rc = THAW_ENOMEM;
    if (rc == 0 && ld.errors) rc = THAW_EPARSE;
    if (rc == 0) describe_all(ld.presets, line, ctx);
    core_presets_free(ld.presets);
    core_spec_free(ld.spec);
    return rc;
}

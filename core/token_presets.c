/* token_presets.c - `service: {tokens: {preset: NAME}}`: per-token service
 * times of an engine, model and GPU class, from a data file
 * (scenarios/presets/tokens.yaml) where each preset names the published
 * measurement it is derived from. The figures live in data, not in code,
 * so that a preset is one entry with its source beside it; the file is read
 * when a scenario names a preset (no rebuild after an edit). */
#include "scenario_internal.h"

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

const char *core_token_presets_file(void)
{
    return THAW_SOURCE_DIR "/scenarios/presets/tokens.yaml";
}

/* "line:col" of a node of the presets file (1-based), for messages. */
static void where(struct fy_node *n, char *buf, size_t len)
{
    struct fy_token *t = n && fy_node_is_scalar(n) ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    if (m)
        snprintf(buf, len, "%d:%d", m->line + 1, m->column + 1);
    else
        snprintf(buf, len, "1:1");
}

static bool scalar(struct fy_node *map, const char *key, char *out, size_t len)
{
    struct fy_node *v = map ? fy_node_mapping_lookup_by_string(map, key, FY_NT) : NULL;
    size_t l;
    const char *s = v && fy_node_is_scalar(v) ? fy_node_get_scalar(v, &l) : NULL;
    if (!s || l >= len) return false;
    memcpy(out, s, l);
    out[l] = '\0';
    return true;
}

/* The three durations of one preset entry; false after an error. */
static bool preset_values(struct core_ld *ld, struct fy_node *at, const char *path,
                          const char *file, struct fy_node *entry, struct core_token_service *out)
{
    static const char *const keys[3] = {"prefill_per_token", "decode_per_token", "fixed"};
    int64_t *dst[3] = {&out->prefill_per_token_ns, &out->decode_per_token_ns, &out->fixed_ns};
    for (int i = 0; i < 3; i++) {
        char v[64], pos[32];
        struct fy_node *n = fy_node_mapping_lookup_by_string(entry, keys[i], FY_NT);
        where(n ? n : fy_node_mapping_lookup_by_string(entry, "name", FY_NT), pos, sizeof pos);
        int st = scalar(entry, keys[i], v, sizeof v) ? core_units_duration(v, dst[i]) : -1;
        if (st != CORE_UNIT_OK || *dst[i] < 0) {
            core_ld_err(ld, at, NULL, path, "%s:%s: expected %s, a duration such as 0.2ms%s%s",
                        file, pos, keys[i], st > 0 ? ": " : "",
                        st > 0 ? core_units_status_text(st) : "");
            return false;
        }
    }
    return true;
}

bool core_ld_token_preset(struct core_ld *ld, struct fy_node *at, const char *path,
                          const char *name, struct core_token_service *out)
{
    const char *file = core_token_presets_file();
    struct fy_parse_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2;
    struct fy_document *fyd = fy_document_build_from_file(&cfg, file);
    struct fy_node *root = fyd ? fy_document_root(fyd) : NULL;
    struct fy_node *list = root && fy_node_is_mapping(root)
                               ? fy_node_mapping_lookup_by_string(root, "presets", FY_NT)
                               : NULL;
    if (!list || !fy_node_is_sequence(list)) {
        core_ld_err(ld, at, NULL, path,
                    "cannot read the token presets %s (a YAML file with a list 'presets')", file);
        if (fyd) fy_document_destroy(fyd);
        return false;
    }
    struct core_suggest sg;
    core_suggest_init(&sg, name);
    char names[512] = "", suggestion[CORE_NAME_MAX] = "";
    size_t used = 0;
    bool found = false, ok = false;
    void *it = NULL;
    struct fy_node *e;
    while (!found && (e = fy_node_sequence_iterate(list, &it))) {
        char n[CORE_NAME_MAX];
        if (!fy_node_is_mapping(e) || !scalar(e, "name", n, sizeof n)) continue;
        if (!strcmp(n, name)) {
            found = true;
            ok = preset_values(ld, at, path, file, e, out);
            break;
        }
        core_suggest_offer(&sg,
                           fy_node_get_scalar0(fy_node_mapping_lookup_by_string(e, "name", FY_NT)));
        int w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", n);
        if (w > 0 && used + (size_t)w < sizeof names) used += (size_t)w;
    }
    if (!found) {
        if (core_suggest_result(&sg))
            snprintf(suggestion, sizeof suggestion, "%s", core_suggest_result(&sg));
        if (suggestion[0])
            core_ld_err(ld, at, NULL, path, "unknown token preset '%s'; did you mean '%s'?", name,
                        suggestion);
        else
            core_ld_err(ld, at, NULL, path, "unknown token preset '%s' (%s holds: %s)", name, file,
                        used ? names : "no preset");
    }
    fy_document_destroy(fyd);
    return ok;
}

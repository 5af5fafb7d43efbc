/* scenario_override.c - `--set key.path=value` (and `--policy k=v`, which
 * arrives as policy.k): each override edits the parsed YAML tree before the
 * walk, so an overridden value is validated exactly like one written in the
 * file, and its diagnostics name the override instead of a line. A missing
 * mapping key is created (policy.queue when the file has no queue); a
 * missing list entry is an error naming how many entries the list has. */
#include "scenario_internal.h"

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seg {
    bool is_index;
    char name[CORE_NAME_MAX];
    int index;
};

#define MAX_SEGS 16

/* Splits "cluster.nodes[0].gpus" into segments; false on bad syntax. */
static bool split_key(const char *key, struct seg *segs, int *n)
{
    *n = 0;
    const char *p = key;
    bool need_key = true;
    while (*p) {
        if (*n == MAX_SEGS) return false;
        struct seg *s = &segs[*n];
        memset(s, 0, sizeof *s);
        if (*p == '[') {
            p++;
            long v = 0;
            int digits = 0;
            while (*p >= '0' && *p <= '9' && digits < 7)
                v = v * 10 + (*p++ - '0'), digits++;
            if (!digits || *p != ']') return false;
            p++;
            s->is_index = true;
            s->index = (int)v;
        } else {
            if (!need_key) return false;
            size_t len = strcspn(p, ".[");
            if (len == 0 || len >= sizeof s->name) return false;
            memcpy(s->name, p, len);
            p += len;
        }
        (*n)++;
        need_key = false;
        if (*p == '.') {
            p++;
            need_key = true;
            if (!*p) return false;
        } else if (*p && *p != '[') {
            return false;
        }
    }
    return *n > 0 && !segs[0].is_index;
}

static void remember(struct core_ld *ld, struct fy_node *n, int ovr)
{
    if (!n) return;
    struct core_ld_ovr_node *g =
        realloc(ld->ovr_nodes, (size_t)(ld->ovr_node_count + 1) * sizeof *g);
    if (!g) {
        ld->nomem = true;
        return;
    }
    ld->ovr_nodes = g;
    g[ld->ovr_node_count++] = (struct core_ld_ovr_node){n, ovr};
}

/* The new value: a flow collection ("[a, b]", "{size: 1GiB}") is parsed as
 * YAML; anything else is taken as one plain scalar, as typed. */
static struct fy_node *make_value(struct core_ld *ld, const char *label, const char *value)
{
    struct fy_node *v;
    if (value[0] == '[' || value[0] == '{') {
        v = fy_node_build_from_string(ld->fyd, value, FY_NT);
        if (!v)
            core_ld_err(ld, NULL, NULL, label, "expected a YAML flow value, found \"%.60s\"",
                        value);
        else if (fy_node_is_alias(v))
            core_ld_err(ld, NULL, NULL, label, "YAML aliases are not supported");
        return v;
    }
    v = fy_node_create_scalar_copy(ld->fyd, value, strlen(value));
    if (!v) ld->nomem = true;
    return v;
}

static struct fy_node_pair *find_pair(struct fy_node *map, const char *name)
{
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        size_t len;
        const char *s =
            k && fy_node_is_scalar(k) && !fy_node_is_alias(k) ? fy_node_get_scalar(k, &len) : NULL;
        if (s && len == strlen(name) && !memcmp(s, name, len)) return p;
    }
    return NULL;
}

static void apply_one(struct core_ld *ld, int oi)
{
    const char *key = ld->ovr[oi].key ? ld->ovr[oi].key : "";
    const char *value = ld->ovr[oi].value ? ld->ovr[oi].value : "";
    char label[200];
    snprintf(label, sizeof label, "--set %s", key);
    struct seg segs[MAX_SEGS];
    int n;
    if (!split_key(key, segs, &n)) {
        core_ld_err(ld, NULL, NULL, label,
                    "expected a key path such as models[0].count or policy.queue");
        return;
    }
    struct fy_node *cur = fy_document_root(ld->fyd);
    char so_far[200] = "";
    for (int i = 0; i < n && cur; i++) {
        const struct seg *s = &segs[i];
        bool last = i == n - 1;
        char found[80];
        if (fy_node_is_alias(cur)) {
            core_ld_err(ld, NULL, NULL, label, "%s is a YAML alias", so_far);
            return;
        }
        if (s->is_index) {
            if (!fy_node_is_sequence(cur)) {
                core_ld_describe(cur, found, sizeof found);
                core_ld_err(ld, NULL, NULL, label, "%s is %s, not a list", so_far, found);
                return;
            }
            int count = fy_node_sequence_item_count(cur);
            if (s->index >= count) {
                core_ld_err(ld, NULL, NULL, label, "%s has %d entr%s", so_far, count,
                            count == 1 ? "y" : "ies");
                return;
            }
            struct fy_node *item = fy_node_sequence_get_by_index(cur, s->index);
            size_t used = strlen(so_far);
            snprintf(so_far + used, sizeof so_far - used, "[%d]", s->index);
            if (!last) {
                cur = item;
                continue;
            }
            struct fy_node *v = make_value(ld, label, value);
            if (!v) return;
            if (fy_node_sequence_insert_after(cur, item, v) != 0) {
                fy_node_free(v);
                ld->nomem = true;
                return;
            }
            fy_node_sequence_remove(cur, item);
            fy_node_free(item);
            remember(ld, v, oi);
            return;
        }
        if (!fy_node_is_mapping(cur)) {
            core_ld_describe(cur, found, sizeof found);
            core_ld_err(ld, NULL, NULL, label, "%s is %s, not a mapping",
                        so_far[0] ? so_far : "the document", found);
            return;
        }
        size_t used = strlen(so_far);
        snprintf(so_far + used, sizeof so_far - used, "%s%s", used ? "." : "", s->name);
        struct fy_node_pair *p = find_pair(cur, s->name);
        struct fy_node *val = p ? fy_node_pair_value(p) : NULL;
        bool make_map = !last && !segs[i + 1].is_index && (!p || core_ld_is_null(val));
        if (!last && !make_map) {
            if (!p) {
                core_ld_err(ld, NULL, NULL, label, "%s does not exist", so_far);
                return;
            }
            cur = val;
            continue;
        }
        struct fy_node *v = last ? make_value(ld, label, value) : fy_node_create_mapping(ld->fyd);
        if (!v) {
            if (!last) ld->nomem = true;
            return;
        }
        if (p) {
            if (fy_node_pair_set_value(p, v) != 0) {
                fy_node_free(v);
                ld->nomem = true;
                return;
            }
        } else {
            struct fy_node *k = fy_node_create_scalar_copy(ld->fyd, s->name, strlen(s->name));
            if (!k || fy_node_mapping_append(cur, k, v) != 0) {
                fy_node_free(k);
                fy_node_free(v);
                ld->nomem = true;
                return;
            }
            remember(ld, k, oi);
        }
        remember(ld, v, oi);
        cur = v;
    }
}

void core_ld_apply_overrides(struct core_ld *ld)
{
    for (int i = 0; i < ld->ovr_count && !ld->nomem; i++)
        apply_one(ld, i);
}

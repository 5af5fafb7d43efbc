/* scenario_ladder.c - the storage ladder's keys of a scenario: the shared
 * stores (cluster.stores), each node's network link, NVLink and disk cache
 * (cluster.nodes[].network, .nvlink, .disk_cache) and a model's store. Kept
 * apart from scenario.c so the ladder is one concern in one file; the
 * semantics are in spec.h and scenarios/README.md ("Storage ladder"). */
#include "scenario_internal.h"

#include <libfyaml.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void core_ld_node_ladder(struct core_ld *ld, struct fy_node *network, struct fy_node *nvlink,
                         struct fy_node *disk, const char *path, struct core_node_spec *t)
{
    char sub[220];
    if (network) {
        snprintf(sub, sizeof sub, "%s.network", path);
        core_ld_bandwidth(ld, network, sub, false, &t->network_bps);
    }
    if (nvlink) {
        snprintf(sub, sizeof sub, "%s.nvlink", path);
        core_ld_bandwidth(ld, nvlink, sub, false, &t->nvlink_bps);
    }
    if (!disk) return;
    snprintf(sub, sizeof sub, "%s.disk_cache", path);
    enum { SIZE, READ, WRITE, ADMISSION, SURVIVES, DF };
    struct core_ld_field d[DF] = {{.name = "size"},
                                  {.name = "read"},
                                  {.name = "write"},
                                  {.name = "admission"},
                                  {.name = "survives_restart"}};
    if (!core_ld_fields(ld, disk, sub, d, DF, "a mapping {size: 2TB, read: 3GB/s, write: 1.5GB/s}"))
        return;
    char p2[260];
    for (int i = SIZE; i <= WRITE; i++) {
        snprintf(p2, sizeof p2, "%s.%s", sub, d[i].name);
        if (!d[i].key) {
            core_ld_err(ld, disk, NULL, sub, "missing key '%s'", d[i].name);
            continue;
        }
        if (i == SIZE)
            core_ld_size(ld, d[i].val, p2, 1, &t->disk_bytes);
        else
            core_ld_bandwidth(ld, d[i].val, p2, false,
                              i == READ ? &t->disk_read_bps : &t->disk_write_bps);
    }
    snprintf(t->disk_admission, sizeof t->disk_admission, "lru");
    if (d[ADMISSION].key) {
        snprintf(p2, sizeof p2, "%s.admission", sub);
        const char *const *names = core_policy_names("shm");
        int i;
        if (names && core_ld_choice(ld, d[ADMISSION].val, p2, names, &i))
            snprintf(t->disk_admission, sizeof t->disk_admission, "%s", names[i]);
    }
    t->disk_survives_restart = true;
    if (d[SURVIVES].key) {
        snprintf(p2, sizeof p2, "%s.survives_restart", sub);
        core_ld_bool(ld, d[SURVIVES].val, p2, &t->disk_survives_restart);
    }
}

void core_ld_stores(struct core_ld *ld, struct fy_node *list)
{
    struct core_spec *spec = ld->spec;
    if (!list || !fy_node_is_sequence(list)) {
        char found[80];
        core_ld_describe(list, found, sizeof found);
        core_ld_err(ld, list, NULL, "cluster.stores",
                    "expected a list of stores [{name: s3, read: 10GB/s}], found %s", found);
        return;
    }
    int n = fy_node_sequence_item_count(list);
    if (n <= 0) return;
    if (n > 1000) {
        core_ld_err(ld, list, NULL, "cluster.stores", "expected at most 1000 stores, found %d", n);
        return;
    }
    spec->stores = calloc((size_t)n, sizeof *spec->stores);
    if (!spec->stores) {
        ld->nomem = true;
        return;
    }
    void *it = NULL;
    struct fy_node *e;
    for (int i = 0; (e = fy_node_sequence_iterate(list, &it)); i++) {
        char path[64], sub[96];
        snprintf(path, sizeof path, "cluster.stores[%d]", i);
        struct core_ld_field f[2] = {{.name = "name"}, {.name = "read"}};
        if (!core_ld_fields(ld, e, path, f, 2, "a store {name: s3, read: 10GB/s}")) continue;
        struct core_store_spec st;
        memset(&st, 0, sizeof st);
        bool ok = true;
        if (!f[0].key) {
            core_ld_err(ld, e, NULL, path, "missing key 'name'");
            ok = false;
        } else {
            snprintf(sub, sizeof sub, "%s.name", path);
            ok = core_ld_name(ld, f[0].val, sub, st.name);
            for (int k = 0; ok && k < spec->store_count; k++)
                if (!strcmp(spec->stores[k].name, st.name)) {
                    core_ld_err(ld, f[0].val, NULL, sub, "duplicate store name '%s'", st.name);
                    ok = false;
                }
        }
        if (!f[1].key) {
            core_ld_err(ld, e, NULL, path,
                        "missing key 'read' (the store's total read bandwidth, such as 10GB/s)");
            ok = false;
        } else {
            snprintf(sub, sizeof sub, "%s.read", path);
            ok = core_ld_bandwidth(ld, f[1].val, sub, false, &st.read_bps) && ok;
        }
        if (ok) spec->stores[spec->store_count++] = st;
    }
}

void core_ld_model_store(struct core_ld *ld, struct fy_node *v, const char *path, int *out)
{
    const struct core_spec *spec = ld->spec;
    char name[CORE_NAME_MAX];
    if (!core_ld_name(ld, v, path, name)) return;
    if (!strcmp(name, "local")) {
        *out = 0;
        return;
    }
    struct core_suggest sg;
    core_suggest_init(&sg, name);
    for (int k = 0; k < spec->store_count; k++) {
        if (!strcmp(spec->stores[k].name, name)) {
            *out = k + 1;
            return;
        }
        core_suggest_offer(&sg, spec->stores[k].name);
    }
    if (core_suggest_result(&sg))
        core_ld_err(ld, v, NULL, path, "unknown store '%s'; did you mean '%s'?", name,
                    core_suggest_result(&sg));
    else
        core_ld_err(ld, v, NULL, path,
                    "unknown store '%s' (name one of cluster.stores, or 'local' for the node's "
                    "own storage)",
                    name);
}

/* paths.c - the storage ladder's pipes and the path of each transfer
 * (paths.h). A copy's path is its source's read side, then the target
 * GPU's h2d link and the node's PCIe switch, as before the ladder:
 *   storage : storage_read, h2d, pcie
 *   shm     : shm_read, h2d, pcie
 *   disk    : disk_read, h2d, pcie
 *   store   : store, network (the node's NIC), h2d, pcie
 *   peer    : same node: the peer GPU's and the target's NVLink ports;
 *             another node: the peer node's network, the target node's
 *             network, the target's h2d and pcie.
 * Fills: source side (storage | store + network | disk_read) then the
 * rung's write side (shm_write, disk_write). The core chose each source
 * with the same pipes (core/ladder.c, core/peer.c). */
#include "paths.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int *ints(int n)
{
    int *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (p)
        for (int i = 0; i < n; i++)
            p[i] = -1;
    return p;
}

void sim_paths_init(struct sim_paths *p, const struct core_spec *spec)
{
    memset(p, 0, sizeof *p);
    p->spec = spec;
    p->one_group = spec->store_count > 0 || spec->policy.peer;
}

int sim_paths_group(const struct sim_paths *p, int node)
{
    return p->one_group ? 0 : node;
}

static int add(struct sim_flownet *net, int group, double bps, int *out, struct thaw_err *err)
{
    if (!(bps > 0)) return 0;
    int id = sim_flownet_add_resource(net, group, bps);
    if (id < 0) return thaw_err_set(err, id, "bad capacity %g", bps);
    *out = id;
    return 0;
}

int sim_paths_build(struct sim_paths *p, struct sim_flownet *net, const int *storage,
                    const int *shm_read, const int *shm_write, const int *pcie, const int *h2d,
                    struct thaw_err *err)
{
    const struct core_spec *sp = p->spec;
    p->storage = storage;
    p->shm_read = shm_read;
    p->shm_write = shm_write;
    p->pcie = pcie;
    p->h2d = h2d;
    p->store = ints(sp->store_count);
    p->net = ints(sp->node_count);
    p->disk_read = ints(sp->node_count);
    p->disk_write = ints(sp->node_count);
    p->nvlink = ints(sp->gpu_count);
    if (!p->store || !p->net || !p->disk_read || !p->disk_write || !p->nvlink)
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    int rc;
    for (int k = 0; k < sp->store_count; k++)
        if ((rc = add(net, 0, sp->stores[k].read_bps, &p->store[k], err)) < 0) return rc;
    for (int n = 0; n < sp->node_count; n++) {
        const struct core_node_spec *ns = &sp->nodes[n];
        int g = sim_paths_group(p, n);
        if ((rc = add(net, g, ns->network_bps, &p->net[n], err)) < 0) return rc;
        if (ns->disk_bytes > 0 &&
            ((rc = add(net, g, ns->disk_read_bps, &p->disk_read[n], err)) < 0 ||
             (rc = add(net, g, ns->disk_write_bps, &p->disk_write[n], err)) < 0))
            return rc;
    }
    for (int gi = 0; gi < sp->gpu_count; gi++) {
        int n = sp->gpus[gi].node;
        if ((rc = add(net, sim_paths_group(p, n), sp->nodes[n].nvlink_bps, &p->nvlink[gi], err)) <
            0)
            return rc;
    }
    return 0;
}

void sim_paths_free(struct sim_paths *p)
{
    free(p->store);
    free(p->net);
    free(p->disk_read);
    free(p->disk_write);
    free(p->nvlink);
    free(p->last_used);
    res_ladder_rec_free(p->rec);
    memset(p, 0, sizeof *p);
}

static int push(int *res, int n, int id)
{
    if (id >= 0 && n < SIM_FLOW_MAX_RES) res[n++] = id;
    return n;
}

/* A store read's side: the store, then the node's network link. */
static int store_side(const struct sim_paths *p, int model, int node, int *res, int n, bool *ok)
{
    int st = p->spec->models[model].store;
    if (st < 1 || st > p->spec->store_count || p->store[st - 1] < 0) {
        *ok = false;
        return n;
    }
    n = push(res, n, p->store[st - 1]);
    return push(res, n, p->net[node]);
}

int sim_paths_copy(const struct sim_paths *p, const struct shell_load *l, int *res)
{
    int n = 0, node = l->node;
    bool ok = true;
    switch (l->source) {
    case CORE_SRC_STORAGE:
        n = push(res, n, p->storage[node]);
        break;
    case CORE_SRC_SHM:
        n = push(res, n, p->shm_read[node]);
        break;
    case CORE_SRC_DISK:
        ok = p->disk_read[node] >= 0;
        n = push(res, n, p->disk_read[node]);
        break;
    case CORE_SRC_STORE:
        n = store_side(p, l->model, node, res, n, &ok);
        break;
    case CORE_SRC_PEER: {
        int from = l->peer_gpu;
        if (from < 0 || from >= p->spec->gpu_count) return THAW_EINVAL;
        int pnode = p->spec->gpus[from].node;
        if (pnode == node) {
            if (p->nvlink[from] < 0 || p->nvlink[l->gpu] < 0) return THAW_EINVAL;
            n = push(res, n, p->nvlink[from]);
            return push(res, n, p->nvlink[l->gpu]);
        }
        if (p->net[pnode] < 0 || p->net[node] < 0) return THAW_EINVAL;
        n = push(res, n, p->net[pnode]);
        n = push(res, n, p->net[node]);
        break;
    }
    }
    if (!ok) return THAW_EINVAL;
    n = push(res, n, p->h2d[l->gpu]);
    return push(res, n, p->pcie[node]);
}

int sim_paths_fill(const struct sim_paths *p, const struct core_action *a, int *res)
{
    int n = 0, node = a->node;
    bool ok = true;
    switch (a->source) {
    case CORE_SRC_DISK:
        ok = p->disk_read[node] >= 0;
        n = push(res, n, p->disk_read[node]);
        break;
    case CORE_SRC_STORE:
        n = store_side(p, a->model, node, res, n, &ok);
        break;
    default:
        n = push(res, n, p->storage[node]);
        break;
    }
    if (!ok) return THAW_EINVAL;
    if (a->kind == CORE_ACT_START_DISK_FILL) {
        if (p->disk_write[node] < 0) return THAW_EINVAL;
        return push(res, n, p->disk_write[node]);
    }
    return push(res, n, p->shm_write[node]);
}

double sim_paths_lone_bps(const struct sim_flownet *net, const int *res, int n)
{
    double bw = INFINITY;
    for (int i = 0; i < n; i++)
        if (net->res[res[i]].capacity < bw) bw = net->res[res[i]].capacity;
    return bw;
}

/* ---- recording ---------------------------------------------------------- */

static void on_rates(void *ctx, const struct sim_flownet *net, int group)
{
    struct sim_paths *p = ctx;
    if (p->rec_rc < 0) return;
    const struct sim_flow_group *g = &net->groups[group];
    for (int i = 0; i < g->res_count; i++) {
        int id = g->res[i];
        if (id >= p->last_count || !res_ladder_rec_named(p->rec, id)) continue;
        const struct sim_resource *r = &net->res[id];
        double used = r->capacity - r->left;
        if (used < r->capacity * 1e-12) used = 0;
        if (fabs(used - p->last_used[id]) <= r->capacity * 1e-12) continue;
        p->last_used[id] = used;
        int rc =
            res_ladder_rec_rate(p->rec, net->engine->now_ns, id, used, r->capacity, &p->rec_err);
        if (rc < 0) p->rec_rc = rc;
    }
}

int sim_paths_record(struct sim_paths *p, struct sim_flownet *net, struct res_db *db, int64_t run,
                     struct thaw_err *err)
{
    if (!db) return 0;
    const struct core_spec *sp = p->spec;
    int rc = res_ladder_rec_new(db, run, &p->rec, err);
    if (rc < 0) return rc;
    p->last_count = net->res_count;
    p->last_used = calloc((size_t)(net->res_count > 0 ? net->res_count : 1), sizeof *p->last_used);
    if (!p->last_used) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    for (int k = 0; k < sp->store_count && rc == 0; k++)
        rc = res_ladder_rec_resource(p->rec, p->store[k], "store", sp->stores[k].name, err);
    for (int n = 0; n < sp->node_count && rc == 0; n++) {
        const char *name = sp->nodes[n].name;
        if ((rc = res_ladder_rec_resource(p->rec, p->net[n], "network", name, err)) < 0 ||
            (rc = res_ladder_rec_resource(p->rec, p->storage[n], "storage", name, err)) < 0 ||
            (rc = res_ladder_rec_resource(p->rec, p->disk_read[n], "disk", name, err)) < 0 ||
            (rc = res_ladder_rec_resource(p->rec, p->shm_read[n], "shm", name, err)) < 0 ||
            (rc = res_ladder_rec_resource(p->rec, p->pcie[n], "pcie", name, err)) < 0)
            break;
    }
    for (int g = 0; g < sp->gpu_count && rc == 0; g++) {
        const char *name = sp->gpus[g].name;
        if ((rc = res_ladder_rec_resource(p->rec, p->h2d[g], "h2d", name, err)) < 0) break;
        rc = res_ladder_rec_resource(p->rec, p->nvlink[g], "nvlink", name, err);
    }
    if (rc < 0) return rc;
    net->on_rates = on_rates;
    net->on_rates_ctx = p;
    return 0;
}

void sim_paths_copy_done(struct sim_paths *p, const struct shell_load *l, int64_t started_ns,
                         double lone_bps, int64_t now_ns)
{
    if (!p->rec || p->rec_rc < 0) return;
    struct res_copy_row row = {
        .load_id = l->load,
        .source = l->source,
        .peer_gpu = l->source == CORE_SRC_PEER ? l->peer_gpu : -1,
        .bytes = l->bytes,
        .started_ns = started_ns,
        .finished_ns = now_ns,
        .lone_s = lone_bps > 0 && isfinite(lone_bps) ? (double)l->bytes / lone_bps : 0,
    };
    int rc = res_ladder_rec_copy(p->rec, &row, &p->rec_err);
    if (rc < 0) p->rec_rc = rc;
}

int sim_paths_flush(struct sim_paths *p, struct thaw_err *err)
{
    if (p->rec_rc < 0) return thaw_err_set(err, p->rec_rc, "%s", p->rec_err.msg);
    return p->rec ? res_ladder_rec_flush(p->rec, err) : 0;
}

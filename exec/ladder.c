/* ladder.c - the storage ladder on this host (ladder.h): caps per pipe,
 * the disk-cache folder, and peer copies between emulated GPUs. */
#include "ladder.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct exec_rate *rates(int n, double scale, const double *bps)
{
    struct exec_rate *r = calloc((size_t)(n > 0 ? n : 1), sizeof *r);
    for (int i = 0; r && i < n; i++)
        exec_rate_init(&r[i], bps[i] * scale);
    return r;
}

int exec_ladder_open(struct exec_ladder *l, const struct core_spec *sp, double time_scale,
                     const char *disk_dir, bool keep, struct thaw_err *err)
{
    memset(l, 0, sizeof *l);
    l->spec = sp;
    int S = sp->store_count, N = sp->node_count, G = sp->gpu_count;
    int most = S > N ? S : N;
    if (G > most) most = G;
    double *bps = calloc((size_t)(most > 0 ? most : 1), sizeof *bps);
    if (!bps) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    for (int k = 0; k < S; k++)
        bps[k] = sp->stores[k].read_bps;
    l->store = rates(S, time_scale, bps);
    for (int n = 0; n < N; n++)
        bps[n] = sp->nodes[n].network_bps;
    l->net = rates(N, time_scale, bps);
    for (int n = 0; n < N; n++)
        bps[n] = sp->nodes[n].disk_bytes ? sp->nodes[n].disk_read_bps : 0;
    l->disk_read = rates(N, time_scale, bps);
    for (int n = 0; n < N; n++)
        bps[n] = sp->nodes[n].disk_bytes ? sp->nodes[n].disk_write_bps : 0;
    l->disk_write = rates(N, time_scale, bps);
    for (int g = 0; g < G; g++)
        bps[g] = sp->nodes[sp->gpus[g].node].nvlink_bps;
    l->nvlink = rates(G, time_scale, bps);
    free(bps);
    if (!l->store || !l->net || !l->disk_read || !l->disk_write || !l->nvlink)
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    bool any_disk = false;
    for (int n = 0; n < N; n++)
        any_disk = any_disk || sp->nodes[n].disk_bytes > 0;
    if (!any_disk) return 0;
    struct exec_shm_options so = {.base = disk_dir, .keep = keep};
    return exec_shm_open(&so, &l->disk, err);
}

static void destroy(struct exec_rate *r, int n)
{
    for (int i = 0; r && i < n; i++)
        exec_rate_destroy(&r[i]);
    free(r);
}

void exec_ladder_close(struct exec_ladder *l)
{
    if (!l->spec) return;
    destroy(l->store, l->spec->store_count);
    destroy(l->net, l->spec->node_count);
    destroy(l->disk_read, l->spec->node_count);
    destroy(l->disk_write, l->spec->node_count);
    destroy(l->nvlink, l->spec->gpu_count);
    exec_shm_close(l->disk);
    memset(l, 0, sizeof *l);
}

int exec_ladder_caps(const struct exec_ladder *l, enum core_source src, int model, int node,
                     int gpu, int peer_gpu, bool to_disk, struct exec_rate **out)
{
    const struct core_spec *sp = l->spec;
    int n = 0;
    switch (src) {
    case CORE_SRC_STORE: {
        int st = sp->models[model].store;
        if (st >= 1 && st <= sp->store_count) out[n++] = &l->store[st - 1];
        out[n++] = &l->net[node];
        break;
    }
    case CORE_SRC_DISK:
        out[n++] = &l->disk_read[node];
        break;
    case CORE_SRC_PEER:
        if (peer_gpu < 0 || peer_gpu >= sp->gpu_count) break;
        if (sp->gpus[peer_gpu].node == node) {
            out[n++] = &l->nvlink[peer_gpu];
            out[n++] = &l->nvlink[gpu];
        } else {
            out[n++] = &l->net[sp->gpus[peer_gpu].node];
            out[n++] = &l->net[node];
        }
        break;
    case CORE_SRC_STORAGE:
    case CORE_SRC_SHM:
        break;
    }
    if (to_disk) out[n++] = &l->disk_write[node];
    return n;
}

int exec_ladder_peer_copy(struct exec_backend *be, struct exec_dev_buf *dst,
                          const struct exec_dev_buf *peer, uint64_t bytes, size_t chunk_bytes,
                          struct exec_rate *const *caps, int n, bool have_expected,
                          uint64_t expected, const atomic_bool *cancel,
                          struct exec_load_result *res, struct thaw_err *err)
{
    memset(res, 0, sizeof *res);
    if (chunk_bytes == 0) chunk_bytes = EXEC_LOAD_CHUNK_DEFAULT;
    int64_t t0 = mono();
    for (uint64_t off = 0; off < bytes;) {
        if (cancel && atomic_load(cancel))
            return thaw_err_set(err, THAW_EINTR, "peer copy cancelled");
        size_t len = bytes - off < chunk_bytes ? (size_t)(bytes - off) : chunk_bytes;
        int64_t deadline = exec_rate_reserve(caps, n, len);
        int rc = exec_backend_copy_peer(be, dst, off, peer, off, len, err);
        if (rc < 0) return rc;
        if (exec_rate_wait(deadline, cancel) < 0)
            return thaw_err_set(err, THAW_EINTR, "peer copy cancelled");
        off += len;
        res->bytes = off;
    }
    int64_t t1 = mono();
    res->copy_ns = t1 - t0;
    res->gbps = res->copy_ns > 0 ? (double)bytes / (double)res->copy_ns : 0;
    if (!have_expected) {
        int rc = exec_backend_checksum(be, peer, bytes, &expected, err);
        if (rc < 0) return rc;
    }
    int rc = exec_backend_checksum(be, dst, bytes, &res->checksum, err);
    if (rc < 0) return rc;
    res->expected = expected;
    res->verify_ns = mono() - t1;
    res->total_ns = mono() - t0;
    if (res->checksum != expected)
        return thaw_err_set(err, THAW_EIO, "peer copy: checksum %016llx, the weights have %016llx",
                            (unsigned long long)res->checksum, (unsigned long long)expected);
    res->verified = true;
    return 0;
}

/* backend.c - choosing a backend (auto | cuda | host) and the thin wrappers
 * that check arguments before dispatching through be->methods, so each
 * backend can trust its inputs and a test backend can sit in the same seam.
 * When thaw is built without CUDA, the cuda entry points live here and say
 * so at run time. */
#include "backend.h"

#include <stdio.h>
#include <string.h>

#ifndef THAW_HAVE_CUDA
int exec_backend_cuda_probe(struct thaw_err *err)
{
    return thaw_err_set(err, THAW_EDEVICE, "thaw was built without CUDA");
}

int exec_backend_cuda_open(const struct exec_backend_config *cfg, struct exec_backend **out,
                           struct thaw_err *err)
{
    (void)cfg;
    *out = NULL;
    return exec_backend_cuda_probe(err);
}
#endif

static int check_config(const struct exec_backend_config *cfg, struct thaw_err *err)
{
    if (!cfg || cfg->gpu_count <= 0 || !cfg->vram_cap_bytes)
        return thaw_err_set(err, THAW_EINVAL, "backend: no GPUs to open");
    for (int i = 0; i < cfg->gpu_count; i++)
        if (cfg->vram_cap_bytes[i] == 0)
            return thaw_err_set(err, THAW_EINVAL, "backend: GPU %d has a VRAM cap of 0 bytes", i);
    return 0;
}

int exec_backend_open(const char *kind, const struct exec_backend_config *cfg,
                      struct exec_backend **out, char *why, size_t why_len, struct thaw_err *err)
{
    *out = NULL;
    if (why && why_len) why[0] = '\0';
    int rc = check_config(cfg, err);
    if (rc) return rc;
    if (!kind) kind = "auto";
    if (!strcmp(kind, "host")) {
        rc = exec_backend_host_open(cfg, out, err);
        if (!rc && why) snprintf(why, why_len, "host backend (asked for)");
        return rc;
    }
    if (!strcmp(kind, "cuda")) {
        rc = exec_backend_cuda_open(cfg, out, err);
        if (!rc && why) snprintf(why, why_len, "cuda backend (asked for)");
        return rc;
    }
    if (strcmp(kind, "auto") != 0)
        return thaw_err_set(err, THAW_EINVAL, "unknown backend \"%s\" (auto, cuda or host)", kind);
    struct thaw_err cuda_err = {0, ""};
    rc = exec_backend_cuda_open(cfg, out, &cuda_err);
    if (!rc) {
        if (why) {
            char dev[200];
            exec_backend_describe(*out, 0, dev, sizeof dev);
            int n = exec_backend_cuda_probe(NULL);
            snprintf(why, why_len, "cuda backend: %d CUDA device%s answered (GPU 0: %s)", n,
                     n == 1 ? "" : "s", dev);
        }
        return 0;
    }
    rc = exec_backend_host_open(cfg, out, err);
    if (!rc && why) snprintf(why, why_len, "%s: using host backend", cuda_err.msg);
    return rc;
}

void exec_backend_close(struct exec_backend *be)
{
    if (be) be->methods->close(be);
}

const char *exec_backend_name(const struct exec_backend *be)
{
    return be->methods->name;
}

static int check_gpu(const struct exec_backend *be, int gpu, struct thaw_err *err)
{
    if (gpu < 0 || gpu >= be->gpu_count)
        return thaw_err_set(err, THAW_EINVAL, "%s backend: no GPU %d (it has %d)",
                            be->methods->name, gpu, be->gpu_count);
    return 0;
}

int exec_backend_alloc(struct exec_backend *be, int gpu, uint64_t bytes, struct exec_dev_buf **out,
                       struct thaw_err *err)
{
    *out = NULL;
    int rc = check_gpu(be, gpu, err);
    if (rc) return rc;
    if (bytes == 0) return thaw_err_set(err, THAW_EINVAL, "alloc of 0 bytes on GPU %d", gpu);
    return be->methods->alloc(be, gpu, bytes, out, err);
}

void exec_backend_free(struct exec_backend *be, struct exec_dev_buf *buf)
{
    if (buf) be->methods->free(be, buf);
}

int exec_backend_staging_alloc(struct exec_backend *be, size_t bytes, void **out,
                               struct thaw_err *err)
{
    *out = NULL;
    if (bytes == 0) return thaw_err_set(err, THAW_EINVAL, "staging alloc of 0 bytes");
    return be->methods->staging_alloc(be, bytes, out, err);
}

void exec_backend_staging_free(struct exec_backend *be, void *p)
{
    if (p) be->methods->staging_free(be, p);
}

int exec_backend_xfer_open(struct exec_backend *be, struct exec_dev_buf *buf, int slots,
                           struct exec_xfer **out, struct thaw_err *err)
{
    *out = NULL;
    if (!buf || slots < 1 || slots > 64)
        return thaw_err_set(err, THAW_EINVAL, "xfer: need a buffer and 1..64 slots");
    return be->methods->xfer_open(be, buf, slots, out, err);
}

int exec_backend_xfer_copy(struct exec_backend *be, struct exec_xfer *x, int slot,
                           uint64_t dst_offset, const void *src, size_t bytes, struct thaw_err *err)
{
    if (!x || !src) return thaw_err_set(err, THAW_EINVAL, "xfer copy: no xfer or no source");
    return be->methods->xfer_copy(be, x, slot, dst_offset, src, bytes, err);
}

int exec_backend_xfer_wait(struct exec_backend *be, struct exec_xfer *x, int slot,
                           struct thaw_err *err)
{
    if (!x) return thaw_err_set(err, THAW_EINVAL, "xfer wait: no xfer");
    return be->methods->xfer_wait(be, x, slot, err);
}

void exec_backend_xfer_close(struct exec_backend *be, struct exec_xfer *x)
{
    if (x) be->methods->xfer_close(be, x);
}

int exec_backend_checksum(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                          uint64_t *out, struct thaw_err *err)
{
    if (!buf || bytes > buf->bytes)
        return thaw_err_set(err, THAW_EINVAL, "checksum: %llu bytes asked of a smaller buffer",
                            (unsigned long long)bytes);
    return be->methods->checksum(be, buf, bytes, out, err);
}

int exec_backend_request(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                         uint64_t seed, uint64_t *out, struct thaw_err *err)
{
    if (!buf || bytes > buf->bytes)
        return thaw_err_set(err, THAW_EINVAL, "request: %llu bytes asked of a smaller buffer",
                            (unsigned long long)bytes);
    return be->methods->request(be, buf, bytes, seed, out, err);
}

int exec_backend_mem_info(struct exec_backend *be, int gpu, uint64_t *free_bytes,
                          uint64_t *total_bytes, struct thaw_err *err)
{
    int rc = check_gpu(be, gpu, err);
    if (rc) return rc;
    return be->methods->mem_info(be, gpu, free_bytes, total_bytes, err);
}

void exec_backend_describe(struct exec_backend *be, int gpu, char *buf, size_t len)
{
    if (!len) return;
    if (gpu < 0 || gpu >= be->gpu_count) {
        snprintf(buf, len, "no GPU %d", gpu);
        return;
    }
    be->methods->describe(be, gpu, buf, len);
}

int exec_backend_copy_peer(struct exec_backend *be, struct exec_dev_buf *dst, uint64_t dst_offset,
                           const struct exec_dev_buf *src, uint64_t src_offset, size_t bytes,
                           struct thaw_err *err)
{
    if (!dst || !src || dst_offset > dst->bytes || bytes > dst->bytes - dst_offset ||
        src_offset > src->bytes || bytes > src->bytes - src_offset)
        return thaw_err_set(err, THAW_EINVAL, "peer copy: %llu bytes outside a buffer",
                            (unsigned long long)bytes);
    if (!be->methods->copy_peer)
        return thaw_err_set(err, THAW_EDEVICE, "backend %s cannot copy between GPUs",
                            be->methods->name);
    return be->methods->copy_peer(be, dst, dst_offset, src, src_offset, bytes, err);
}

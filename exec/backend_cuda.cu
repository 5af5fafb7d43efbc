/* backend_cuda.cu - the cuda backend: CUDA Runtime, one cudaMalloc per
 * instance, pinned staging buffers (cudaHostAlloc), chunked cudaMemcpyAsync
 * on two streams per transfer with one event per slot, a checksum kernel and
 * a GEMV-like request kernel that compute exactly what weights.c computes on
 * the host, and real free memory from cudaMemGetInfo capped by the scenario's
 * VRAM. Its face is plain C (extern "C") so exec's C files call it. */
extern "C" {
#include "backend.h"
#include "weights.h"
}
#include "staging_pool.h"

#include <cuda_runtime.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace
{

struct cuda_gpu {
    int device;
    uint64_t cap_bytes;
    uint64_t used_bytes;
};

struct cuda_buf {
    struct exec_dev_buf pub;
    cuda_buf *prev, *next;
};

struct cuda_state {
    pthread_mutex_t lock; /* guards used_bytes and the list */
    int gpu_count;
    int device_count;
    cuda_gpu *gpus;
    cuda_buf *bufs;
    struct exec_staging_pool *staging; /* pinned buffers kept between loads */
};

cuda_state *state(struct exec_backend *be)
{
    return static_cast<cuda_state *>(be->impl);
}

int fail(struct thaw_err *err, const char *what, cudaError_t e)
{
    return thaw_err_set(err, e == cudaErrorMemoryAllocation ? THAW_ENOMEM : THAW_EDEVICE,
                        "cuda: %s: %s", what, cudaGetErrorString(e));
}

/* Device twin of exec_csum_mix (weights.h). */
__device__ __forceinline__ uint64_t mix_dev(uint64_t word, uint64_t index)
{
    uint64_t z = word + (index + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Sums v over the block into *out (one atomicAdd per block). */
__device__ void block_add(uint64_t v, unsigned long long *out)
{
    __shared__ uint64_t part[32];
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int nwarps = (blockDim.x + 31) >> 5;
        v = lane < nwarps ? part[lane] : 0;
        for (int o = 16; o > 0; o >>= 1)
            v += __shfl_down_sync(0xffffffffu, v, o);
        if (lane == 0) atomicAdd(out, (unsigned long long)v);
    }
    __syncthreads();
}

__global__ void checksum_kernel(const uint8_t *data, uint64_t bytes, unsigned long long *out)
{
    const uint64_t *w = reinterpret_cast<const uint64_t *>(data);
    uint64_t words = bytes / 8, sum = 0;
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += stride)
        sum += mix_dev(w[i], i);
    if (blockIdx.x == 0 && threadIdx.x == 0 && bytes % 8) {
        uint64_t last = 0;
        for (unsigned b = 0; b < bytes % 8; b++)
            last |= (uint64_t)data[words * 8 + b] << (8 * b);
        sum += mix_dev(last, words);
    }
    block_add(sum, out);
}

#define WEIGHTS_STREAM_KEY 0xD1B54A32D192ED03ull /* weights.c's */

/* exec_request_ref: int8 rows of EXEC_REQUEST_COLS times a seeded int8
 * vector; one block per row at a time, the row's int32 dot product reduced
 * in the block, each row's mixed value added once. */
__global__ void request_kernel(const int8_t *w, uint64_t bytes, uint64_t seed,
                               unsigned long long *out)
{
    __shared__ int8_t x[EXEC_REQUEST_COLS];
    __shared__ int32_t part[32];
    for (int c = threadIdx.x; c < EXEC_REQUEST_COLS; c += blockDim.x)
        x[c] = (int8_t)mix_dev(seed ^ WEIGHTS_STREAM_KEY, (uint64_t)c);
    __syncthreads();
    uint64_t rows = (bytes + EXEC_REQUEST_COLS - 1) / EXEC_REQUEST_COLS;
    uint64_t acc = 0;
    for (uint64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int8_t *row = w + r * EXEC_REQUEST_COLS;
        uint64_t left = bytes - r * EXEC_REQUEST_COLS;
        int cols = left < EXEC_REQUEST_COLS ? (int)left : EXEC_REQUEST_COLS;
        int32_t y = 0;
        for (int c = threadIdx.x; c < cols; c += blockDim.x)
            y += (int32_t)row[c] * (int32_t)x[c];
        for (int o = 16; o > 0; o >>= 1)
            y += __shfl_down_sync(0xffffffffu, y, o);
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        if (lane == 0) part[warp] = y;
        __syncthreads();
        if (threadIdx.x == 0) {
            int32_t total = 0;
            for (int i = 0; i < (int)((blockDim.x + 31) >> 5); i++)
                total += part[i];
            acc += mix_dev((uint32_t)total, r);
        }
        __syncthreads();
    }
    if (threadIdx.x == 0 && acc) atomicAdd(out, (unsigned long long)acc);
}

void fmt_mib(char *buf, size_t len, uint64_t b)
{
    snprintf(buf, len, "%.1f MiB", (double)b / (1024.0 * 1024.0));
}

int set_device(cuda_state *s, int gpu, struct thaw_err *err)
{
    cudaError_t e = cudaSetDevice(s->gpus[gpu].device);
    return e == cudaSuccess ? 0 : fail(err, "cudaSetDevice", e);
}

void cuda_free_buf(struct exec_backend *be, struct exec_dev_buf *buf);

void cuda_close(struct exec_backend *be)
{
    cuda_state *s = state(be);
    while (s->bufs)
        cuda_free_buf(be, &s->bufs->pub);
    exec_staging_pool_free(s->staging);
    pthread_mutex_destroy(&s->lock);
    free(s->gpus);
    free(s);
    free(be);
}

int cuda_alloc(struct exec_backend *be, int gpu, uint64_t bytes, struct exec_dev_buf **out,
               struct thaw_err *err)
{
    cuda_state *s = state(be);
    cuda_gpu *g = &s->gpus[gpu];
    pthread_mutex_lock(&s->lock);
    uint64_t free_b = g->cap_bytes - g->used_bytes;
    if (bytes > free_b) {
        pthread_mutex_unlock(&s->lock);
        char a[32], f[32], c[32];
        fmt_mib(a, sizeof a, bytes);
        fmt_mib(f, sizeof f, free_b);
        fmt_mib(c, sizeof c, g->cap_bytes);
        return thaw_err_set(err, THAW_ENOMEM, "cuda GPU %d: %s asked, %s free of a %s cap", gpu, a,
                            f, c);
    }
    g->used_bytes += bytes;
    pthread_mutex_unlock(&s->lock);
    int rc = set_device(s, gpu, err);
    void *p = NULL;
    cuda_buf *b = NULL;
    if (!rc) {
        cudaError_t e = cudaMalloc(&p, (size_t)bytes);
        if (e != cudaSuccess) rc = fail(err, "cudaMalloc", e);
    }
    if (!rc) {
        b = static_cast<cuda_buf *>(calloc(1, sizeof *b));
        if (!b) {
            cudaFree(p);
            rc = thaw_err_set(err, THAW_ENOMEM, "cuda: out of host memory");
        }
    }
    if (rc) {
        pthread_mutex_lock(&s->lock);
        g->used_bytes -= bytes;
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    b->pub.gpu = gpu;
    b->pub.bytes = bytes;
    b->pub.ptr = p;
    b->pub.impl = b;
    pthread_mutex_lock(&s->lock);
    b->next = s->bufs;
    if (s->bufs) s->bufs->prev = b;
    s->bufs = b;
    pthread_mutex_unlock(&s->lock);
    *out = &b->pub;
    return 0;
}

void cuda_free_buf(struct exec_backend *be, struct exec_dev_buf *buf)
{
    cuda_state *s = state(be);
    cuda_buf *b = static_cast<cuda_buf *>(buf->impl);
    set_device(s, buf->gpu, NULL);
    cudaFree(buf->ptr);
    pthread_mutex_lock(&s->lock);
    s->gpus[buf->gpu].used_bytes -= buf->bytes;
    if (b->prev)
        b->prev->next = b->next;
    else
        s->bufs = b->next;
    if (b->next) b->next->prev = b->prev;
    pthread_mutex_unlock(&s->lock);
    free(b);
}

int raw_pinned_alloc(size_t bytes, void **out)
{
    return cudaHostAlloc(out, bytes, cudaHostAllocPortable) == cudaSuccess ? 0 : -1;
}

void raw_pinned_free(void *p)
{
    cudaFreeHost(p);
}

int cuda_staging_alloc(struct exec_backend *be, size_t bytes, void **out, struct thaw_err *err)
{
    *out = exec_staging_pool_get(state(be)->staging, bytes);
    if (!*out)
        return thaw_err_set(err, THAW_ENOMEM, "cuda: cudaHostAlloc of %zu pinned bytes failed",
                            bytes);
    return 0;
}

void cuda_staging_free(struct exec_backend *be, void *p)
{
    exec_staging_pool_put(state(be)->staging, p);
}

} /* namespace */

/* Two streams per transfer (slot s uses stream s % 2) and one event per slot,
 * so copies of consecutive chunks overlap and each slot's end is known. */
struct exec_xfer {
    struct exec_dev_buf *buf;
    int slots;
    cudaStream_t streams[2];
    cudaEvent_t *events;
    bool *pending;
};

namespace
{

int cuda_xfer_open(struct exec_backend *be, struct exec_dev_buf *buf, int slots,
                   struct exec_xfer **out, struct thaw_err *err)
{
    cuda_state *s = state(be);
    int rc = set_device(s, buf->gpu, err);
    if (rc) return rc;
    struct exec_xfer *x = static_cast<struct exec_xfer *>(calloc(1, sizeof *x));
    if (!x) return thaw_err_set(err, THAW_ENOMEM, "cuda: out of host memory");
    x->buf = buf;
    x->slots = slots;
    x->events = static_cast<cudaEvent_t *>(calloc((size_t)slots, sizeof *x->events));
    x->pending = static_cast<bool *>(calloc((size_t)slots, sizeof *x->pending));
    if (!x->events || !x->pending) rc = thaw_err_set(err, THAW_ENOMEM, "cuda: out of host memory");
    int made_streams = 0, made_events = 0;
    for (; !rc && made_streams < 2; made_streams++) {
        cudaError_t e = cudaStreamCreateWithFlags(&x->streams[made_streams], cudaStreamNonBlocking);
        if (e != cudaSuccess) {
            rc = fail(err, "cudaStreamCreate", e);
            break;
        }
    }
    for (; !rc && made_events < slots; made_events++) {
        cudaError_t e = cudaEventCreateWithFlags(&x->events[made_events], cudaEventDisableTiming);
        if (e != cudaSuccess) {
            rc = fail(err, "cudaEventCreate", e);
            break;
        }
    }
    if (rc) {
        for (int i = 0; i < made_events; i++)
            cudaEventDestroy(x->events[i]);
        for (int i = 0; i < made_streams; i++)
            cudaStreamDestroy(x->streams[i]);
        free(x->events);
        free(x->pending);
        free(x);
        return rc;
    }
    *out = x;
    return 0;
}

int cuda_xfer_copy(struct exec_backend *be, struct exec_xfer *x, int slot, uint64_t dst_offset,
                   const void *src, size_t bytes, struct thaw_err *err)
{
    if (slot < 0 || slot >= x->slots)
        return thaw_err_set(err, THAW_EINVAL, "xfer: slot %d of %d", slot, x->slots);
    if (dst_offset > x->buf->bytes || bytes > x->buf->bytes - dst_offset)
        return thaw_err_set(err, THAW_EINVAL,
                            "xfer: copy of %zu bytes at %llu past a %llu-byte buffer", bytes,
                            (unsigned long long)dst_offset, (unsigned long long)x->buf->bytes);
    int rc = set_device(state(be), x->buf->gpu, err);
    if (rc) return rc;
    cudaStream_t st = x->streams[slot % 2];
    cudaError_t e = cudaMemcpyAsync(static_cast<uint8_t *>(x->buf->ptr) + dst_offset, src, bytes,
                                    cudaMemcpyHostToDevice, st);
    if (e != cudaSuccess) return fail(err, "cudaMemcpyAsync", e);
    e = cudaEventRecord(x->events[slot], st);
    if (e != cudaSuccess) return fail(err, "cudaEventRecord", e);
    x->pending[slot] = true;
    return 0;
}

int cuda_xfer_wait(struct exec_backend *be, struct exec_xfer *x, int slot, struct thaw_err *err)
{
    (void)be;
    if (slot < 0 || slot >= x->slots)
        return thaw_err_set(err, THAW_EINVAL, "xfer: slot %d of %d", slot, x->slots);
    if (!x->pending[slot]) return 0;
    x->pending[slot] = false;
    cudaError_t e = cudaEventSynchronize(x->events[slot]);
    return e == cudaSuccess ? 0 : fail(err, "copy", e);
}

void cuda_xfer_close(struct exec_backend *be, struct exec_xfer *x)
{
    set_device(state(be), x->buf->gpu, NULL);
    for (int i = 0; i < 2; i++) {
        cudaStreamSynchronize(x->streams[i]);
        cudaStreamDestroy(x->streams[i]);
    }
    for (int i = 0; i < x->slots; i++)
        cudaEventDestroy(x->events[i]);
    free(x->events);
    free(x->pending);
    free(x);
}

/* Runs a reduction kernel into a fresh device word on a private stream. */
template <typename Launch>
int reduce(struct exec_backend *be, const struct exec_dev_buf *buf, const char *what, Launch launch,
           uint64_t *out, struct thaw_err *err)
{
    int rc = set_device(state(be), buf->gpu, err);
    if (rc) return rc;
    unsigned long long *d = NULL, h = 0;
    cudaStream_t st;
    cudaError_t e = cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
    if (e != cudaSuccess) return fail(err, "cudaStreamCreate", e);
    e = cudaMalloc(&d, sizeof *d);
    if (e == cudaSuccess) e = cudaMemsetAsync(d, 0, sizeof *d, st);
    if (e == cudaSuccess) {
        launch(st, d);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaMemcpyAsync(&h, d, sizeof h, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess) e = cudaStreamSynchronize(st);
    if (d) cudaFree(d);
    cudaStreamDestroy(st);
    if (e != cudaSuccess) return fail(err, what, e);
    *out = h;
    return 0;
}

int cuda_checksum(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                  uint64_t *out, struct thaw_err *err)
{
    uint64_t words = bytes / 8 + 1;
    unsigned blocks = (unsigned)((words + 255) / 256);
    if (blocks > 4096) blocks = 4096;
    const uint8_t *p = static_cast<const uint8_t *>(buf->ptr);
    return reduce(
        be, buf, "checksum kernel",
        [&](cudaStream_t st, unsigned long long *d) {
            checksum_kernel<<<blocks, 256, 0, st>>>(p, bytes, d);
        },
        out, err);
}

int cuda_request(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                 uint64_t seed, uint64_t *out, struct thaw_err *err)
{
    uint64_t rows = (bytes + EXEC_REQUEST_COLS - 1) / EXEC_REQUEST_COLS;
    unsigned blocks = rows ? (unsigned)(rows < 4096 ? rows : 4096) : 1;
    const int8_t *p = static_cast<const int8_t *>(buf->ptr);
    return reduce(
        be, buf, "request kernel",
        [&](cudaStream_t st, unsigned long long *d) {
            request_kernel<<<blocks, 256, 0, st>>>(p, bytes, seed, d);
        },
        out, err);
}

int cuda_mem_info(struct exec_backend *be, int gpu, uint64_t *free_bytes, uint64_t *total_bytes,
                  struct thaw_err *err)
{
    cuda_state *s = state(be);
    int rc = set_device(s, gpu, err);
    if (rc) return rc;
    size_t dev_free = 0, dev_total = 0;
    cudaError_t e = cudaMemGetInfo(&dev_free, &dev_total);
    if (e != cudaSuccess) return fail(err, "cudaMemGetInfo", e);
    pthread_mutex_lock(&s->lock);
    uint64_t cap_free = s->gpus[gpu].cap_bytes - s->gpus[gpu].used_bytes;
    uint64_t cap = s->gpus[gpu].cap_bytes;
    pthread_mutex_unlock(&s->lock);
    if (free_bytes) *free_bytes = cap_free < dev_free ? cap_free : (uint64_t)dev_free;
    if (total_bytes) *total_bytes = cap;
    return 0;
}

void cuda_describe(struct exec_backend *be, int gpu, char *buf, size_t len)
{
    cuda_state *s = state(be);
    cudaDeviceProp prop;
    char c[32];
    fmt_mib(c, sizeof c, s->gpus[gpu].cap_bytes);
    if (cudaGetDeviceProperties(&prop, s->gpus[gpu].device) == cudaSuccess)
        snprintf(buf, len, "%s (device %d), cap %s", prop.name, s->gpus[gpu].device, c);
    else
        snprintf(buf, len, "CUDA device %d, cap %s", s->gpus[gpu].device, c);
}

/* Device-to-device on a stream of the target device: cudaMemcpyPeerAsync
 * between the real devices behind the two emulated GPUs (over NVLink or
 * PCIe, as the driver routes it; within one device when both emulated GPUs
 * map to it), then wait for that stream only, so other loads on the device
 * go on. */
int cuda_copy_peer(struct exec_backend *be, struct exec_dev_buf *dst, uint64_t dst_offset,
                   const struct exec_dev_buf *src, uint64_t src_offset, size_t bytes,
                   struct thaw_err *err)
{
    cuda_state *s = state(be);
    int ddev = s->gpus[dst->gpu].device, sdev = s->gpus[src->gpu].device;
    int rc = set_device(s, dst->gpu, err);
    if (rc) return rc;
    cudaStream_t st;
    cudaError_t e = cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
    if (e != cudaSuccess) return fail(err, "cudaStreamCreate", e);
    e = cudaMemcpyPeerAsync(static_cast<char *>(dst->ptr) + dst_offset, ddev,
                            static_cast<const char *>(src->ptr) + src_offset, sdev, bytes, st);
    if (e == cudaSuccess) e = cudaStreamSynchronize(st);
    cudaStreamDestroy(st);
    return e == cudaSuccess ? 0 : fail(err, "cudaMemcpyPeerAsync", e);
}

const struct exec_backend_methods cuda_methods = {
    "cuda",
    0, /* pageable memory copies slowly: stage in pinned buffers */
    cuda_close,
    cuda_alloc,
    cuda_free_buf,
    cuda_staging_alloc,
    cuda_staging_free,
    cuda_xfer_open,
    cuda_xfer_copy,
    NULL, /* xfer_host_ptr: device memory is not the CPU's */
    cuda_xfer_wait,
    cuda_xfer_close,
    cuda_checksum,
    cuda_request,
    cuda_mem_info,
    cuda_describe,
    cuda_copy_peer,
};

} /* namespace */

extern "C" int exec_backend_cuda_probe(struct thaw_err *err)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0))
        return thaw_err_set(err, THAW_EDEVICE, "no CUDA device");
    if (e == cudaErrorInsufficientDriver)
        return thaw_err_set(err, THAW_EDEVICE, "no CUDA driver (or one too old for CUDA %d.%d)",
                            CUDART_VERSION / 1000, (CUDART_VERSION % 1000) / 10);
    if (e != cudaSuccess)
        return thaw_err_set(err, THAW_EDEVICE, "no usable CUDA device (cudaGetDeviceCount: %s)",
                            cudaGetErrorString(e));
    return n;
}

extern "C" int exec_backend_cuda_open(const struct exec_backend_config *cfg,
                                      struct exec_backend **out, struct thaw_err *err)
{
    *out = NULL;
    if (!cfg || cfg->gpu_count <= 0 || !cfg->vram_cap_bytes)
        return thaw_err_set(err, THAW_EINVAL, "cuda backend: no GPUs to open");
    int n = exec_backend_cuda_probe(err);
    if (n < 0) return n;
    struct exec_backend *be = static_cast<struct exec_backend *>(calloc(1, sizeof *be));
    cuda_state *s = static_cast<cuda_state *>(calloc(1, sizeof *s));
    cuda_gpu *g = static_cast<cuda_gpu *>(calloc((size_t)cfg->gpu_count, sizeof *g));
    struct exec_staging_pool *pool = exec_staging_pool_new(raw_pinned_alloc, raw_pinned_free, EXEC_STAGING_KEEP);
    if (!be || !s || !g || !pool) {
        free(be);
        free(s);
        free(g);
        exec_staging_pool_free(pool);
        return thaw_err_set(err, THAW_ENOMEM, "cuda backend: out of memory");
    }
    for (int i = 0; i < cfg->gpu_count; i++) {
        g[i].device = i % n;
        g[i].cap_bytes = cfg->vram_cap_bytes[i];
    }
    /* Touch each device once so a broken one fails here, not mid-load. */
    for (int d = 0; d < n && d < cfg->gpu_count; d++) {
        cudaError_t e = cudaSetDevice(d);
        if (e == cudaSuccess) e = cudaFree(0);
        if (e != cudaSuccess) {
            free(be);
            free(s);
            free(g);
            exec_staging_pool_free(pool);
            return thaw_err_set(err, THAW_EDEVICE, "CUDA device %d does not start: %s", d,
                                cudaGetErrorString(e));
        }
    }
    pthread_mutex_init(&s->lock, NULL);
    s->gpu_count = cfg->gpu_count;
    s->device_count = n;
    s->gpus = g;
    s->staging = pool;
    be->methods = &cuda_methods;
    be->impl = s;
    be->gpu_count = cfg->gpu_count;
    *out = be;
    return 0;
}

/* backend_host.c - the host backend: one capped arena per emulated GPU, so
 * the executor runs (and is tested) where no GPU answers. The cap is an
 * allocation budget of the scenario GPU's VRAM. With an arena (config
 * arena_bytes), the GPU's memory is faulted in once at open and each
 * instance gets chunks of it (arena.h): no page fault, mmap or munmap while
 * the run's clock runs. Without one (or when the arena is spent), an
 * instance gets its own anonymous mapping, populated at alloc time (as
 * cudaMalloc hands back ready memory) so copies measure memcpy, not page
 * faults. Copies are memcpy on the calling thread; checksum and request run
 * the C reference in weights.c, piece by piece over a chunked block. */
#include "arena.h"
#include "backend.h"
#include "staging_pool.h"
#include "weights.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct host_gpu {
    uint64_t cap_bytes;
    uint64_t used_bytes;
    struct exec_arena *arena; /* NULL: every allocation maps its own */
    uint64_t own_maps;        /* allocations that did not fit the arena */
};

/* An allocation: the public part first, then its memory (arena chunks, or
 * one mapping of its own: block.count == 1, block.chunks[0] its address)
 * and the list link that lets close free what the caller did not. */
struct host_buf {
    struct exec_dev_buf pub;
    struct exec_arena_block block;
    bool own_map;
    uint8_t *own_chunk[1];
    struct host_buf *prev, *next;
};

struct host_state {
    pthread_mutex_t lock; /* guards used_bytes, own_maps and the list */
    int gpu_count;
    struct host_gpu *gpus;
    struct host_buf *bufs; /* live allocations */
    struct exec_staging_pool *staging;
};

struct exec_xfer {
    struct exec_dev_buf *buf;
    int slots;
};

static struct host_state *state(struct exec_backend *be)
{
    return be->impl;
}

static void host_free(struct exec_backend *be, struct exec_dev_buf *buf);

static void host_close(struct exec_backend *be)
{
    struct host_state *s = state(be);
    while (s->bufs)
        host_free(be, &s->bufs->pub);
    exec_staging_pool_free(s->staging);
    for (int g = 0; g < s->gpu_count; g++)
        exec_arena_free(s->gpus[g].arena);
    pthread_mutex_destroy(&s->lock);
    free(s->gpus);
    free(s);
    free(be);
}

static void fmt_bytes(char *buf, size_t len, uint64_t b)
{
    snprintf(buf, len, "%.1f MiB", (double)b / (1024.0 * 1024.0));
}

static int host_alloc(struct exec_backend *be, int gpu, uint64_t bytes, struct exec_dev_buf **out,
                      struct thaw_err *err)
{
    struct host_state *s = state(be);
    struct host_gpu *g = &s->gpus[gpu];
    pthread_mutex_lock(&s->lock);
    uint64_t free_b = g->cap_bytes - g->used_bytes;
    if (bytes > free_b) {
        pthread_mutex_unlock(&s->lock);
        char a[32], f[32], c[32];
        fmt_bytes(a, sizeof a, bytes);
        fmt_bytes(f, sizeof f, free_b);
        fmt_bytes(c, sizeof c, g->cap_bytes);
        return thaw_err_set(err, THAW_ENOMEM, "host GPU %d: %s asked, %s free of a %s cap", gpu, a,
                            f, c);
    }
    g->used_bytes += bytes;
    pthread_mutex_unlock(&s->lock);

    struct host_buf *b = calloc(1, sizeof *b);
    if (!b) {
        pthread_mutex_lock(&s->lock);
        g->used_bytes -= bytes;
        pthread_mutex_unlock(&s->lock);
        return thaw_err_set(err, THAW_ENOMEM, "host GPU %d: out of memory", gpu);
    }
    if (!g->arena || exec_arena_take(g->arena, bytes, &b->block, NULL) < 0) {
        void *p = MAP_FAILED;
        if (bytes <= SIZE_MAX)
            p = mmap(NULL, bytes ? (size_t)bytes : 1, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            free(b);
            pthread_mutex_lock(&s->lock);
            g->used_bytes -= bytes;
            pthread_mutex_unlock(&s->lock);
            return thaw_err_set(err, THAW_ENOMEM, "host GPU %d: cannot map %llu bytes: %s", gpu,
                                (unsigned long long)bytes, strerror(e));
        }
        b->own_map = true;
        b->own_chunk[0] = p;
        b->block = (struct exec_arena_block){.bytes = bytes,
                                             .chunk_bytes = bytes ? (size_t)bytes : 1,
                                             .count = 1,
                                             .chunks = b->own_chunk};
        if (g->arena) {
            pthread_mutex_lock(&s->lock);
            g->own_maps++;
            pthread_mutex_unlock(&s->lock);
        }
    }
    b->pub.gpu = gpu;
    b->pub.bytes = bytes;
    b->pub.ptr = b->block.chunks[0];
    b->pub.impl = b;
    pthread_mutex_lock(&s->lock);
    b->next = s->bufs;
    if (s->bufs) s->bufs->prev = b;
    s->bufs = b;
    pthread_mutex_unlock(&s->lock);
    *out = &b->pub;
    return 0;
}

static void host_free(struct exec_backend *be, struct exec_dev_buf *buf)
{
    struct host_state *s = state(be);
    struct host_buf *b = buf->impl;
    if (b->own_map)
        munmap(b->own_chunk[0], (size_t)b->block.chunk_bytes);
    else
        exec_arena_give(s->gpus[buf->gpu].arena, &b->block);
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

static int raw_staging_alloc(size_t bytes, void **out)
{
    if (posix_memalign(out, 4096, bytes) != 0) return -1;
    memset(*out, 0, bytes); /* touch it now, not during a timed copy */
    return 0;
}

static int host_staging_alloc(struct exec_backend *be, size_t bytes, void **out,
                              struct thaw_err *err)
{
    *out = exec_staging_pool_get(state(be)->staging, bytes);
    if (!*out) return thaw_err_set(err, THAW_ENOMEM, "staging: cannot allocate %zu bytes", bytes);
    return 0;
}

static void host_staging_free(struct exec_backend *be, void *p)
{
    exec_staging_pool_put(state(be)->staging, p);
}

static int host_xfer_open(struct exec_backend *be, struct exec_dev_buf *buf, int slots,
                          struct exec_xfer **out, struct thaw_err *err)
{
    (void)be;
    struct exec_xfer *x = calloc(1, sizeof *x);
    if (!x) return thaw_err_set(err, THAW_ENOMEM, "xfer: out of memory");
    x->buf = buf;
    x->slots = slots;
    *out = x;
    return 0;
}

static int host_xfer_copy(struct exec_backend *be, struct exec_xfer *x, int slot,
                          uint64_t dst_offset, const void *src, size_t bytes, struct thaw_err *err)
{
    (void)be;
    if (slot < 0 || slot >= x->slots)
        return thaw_err_set(err, THAW_EINVAL, "xfer: slot %d of %d", slot, x->slots);
    if (dst_offset > x->buf->bytes || bytes > x->buf->bytes - dst_offset)
        return thaw_err_set(err, THAW_EINVAL,
                            "xfer: copy of %zu bytes at %llu past a %llu-byte buffer", bytes,
                            (unsigned long long)dst_offset, (unsigned long long)x->buf->bytes);
    const struct host_buf *b = x->buf->impl;
    const uint8_t *from = src;
    while (bytes > 0) {
        size_t n;
        uint8_t *to = exec_arena_span(&b->block, dst_offset, bytes, &n);
        memcpy(to, from, n);
        from += n;
        dst_offset += n;
        bytes -= n;
    }
    return 0;
}

static void *host_xfer_host_ptr(struct exec_backend *be, struct exec_xfer *x, uint64_t dst_offset,
                                size_t *bytes)
{
    (void)be;
    if (dst_offset >= x->buf->bytes || !*bytes) return NULL;
    const struct host_buf *b = x->buf->impl;
    return exec_arena_span(&b->block, dst_offset, *bytes, bytes);
}

static int host_xfer_wait(struct exec_backend *be, struct exec_xfer *x, int slot,
                          struct thaw_err *err)
{
    (void)be;
    if (slot < 0 || slot >= x->slots)
        return thaw_err_set(err, THAW_EINVAL, "xfer: slot %d of %d", slot, x->slots);
    return 0; /* copies finish inside xfer_copy */
}

static void host_xfer_close(struct exec_backend *be, struct exec_xfer *x)
{
    (void)be;
    free(x);
}

/* Both walk the block piece by piece: the checksum sums words by their
 * index from the start (so pieces add up), the request rows by theirs (a
 * chunk is whole rows: EXEC_ARENA_CHUNK is a multiple of EXEC_REQUEST_COLS). */
static int host_checksum(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                         uint64_t *out, struct thaw_err *err)
{
    (void)be;
    (void)err;
    const struct host_buf *b = buf->impl;
    uint64_t sum = 0;
    for (uint64_t off = 0; off < bytes;) {
        size_t n;
        const uint8_t *p = exec_arena_span(&b->block, off, (size_t)(bytes - off), &n);
        sum += exec_checksum(p, n, off / 8);
        off += n;
    }
    *out = sum;
    return 0;
}

static int host_request(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                        uint64_t seed, uint64_t *out, struct thaw_err *err)
{
    (void)be;
    (void)err;
    const struct host_buf *b = buf->impl;
    if (b->block.count == 1) {
        *out = exec_request_ref(buf->ptr, bytes, seed);
        return 0;
    }
    uint64_t sum = 0;
    for (uint64_t off = 0; off < bytes;) {
        size_t n;
        const uint8_t *p = exec_arena_span(&b->block, off, (size_t)(bytes - off), &n);
        sum += exec_request_ref_rows(p, n, seed, off / EXEC_REQUEST_COLS);
        off += n;
    }
    *out = sum;
    return 0;
}

static int host_mem_info(struct exec_backend *be, int gpu, uint64_t *free_bytes,
                         uint64_t *total_bytes, struct thaw_err *err)
{
    (void)err;
    struct host_state *s = state(be);
    pthread_mutex_lock(&s->lock);
    if (free_bytes) *free_bytes = s->gpus[gpu].cap_bytes - s->gpus[gpu].used_bytes;
    if (total_bytes) *total_bytes = s->gpus[gpu].cap_bytes;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void host_describe(struct exec_backend *be, int gpu, char *buf, size_t len)
{
    struct host_state *s = state(be);
    const struct host_gpu *g = &s->gpus[gpu];
    char c[32], a[32];
    fmt_bytes(c, sizeof c, g->cap_bytes);
    if (!g->arena) {
        snprintf(buf, len, "host arena %d, cap %s", gpu, c);
        return;
    }
    fmt_bytes(a, sizeof a, exec_arena_bytes(g->arena));
    pthread_mutex_lock(&s->lock);
    unsigned long long own = (unsigned long long)g->own_maps;
    pthread_mutex_unlock(&s->lock);
    snprintf(buf, len, "host arena %d, cap %s, %s faulted in at open, %llu allocation%s outside it",
             gpu, c, a, own, own == 1 ? "" : "s");
}

/* Both arenas are host memory: one memcpy is the peer copy. */
static int host_copy_peer(struct exec_backend *be, struct exec_dev_buf *dst, uint64_t dst_offset,
                          const struct exec_dev_buf *src, uint64_t src_offset, size_t bytes,
                          struct thaw_err *err)
{
    (void)be;
    (void)err;
    memcpy((char *)dst->ptr + dst_offset, (const char *)src->ptr + src_offset, bytes);
    return 0;
}

static const struct exec_backend_methods host_methods = {
    .name = "host",
    .flags = EXEC_BACKEND_PAGEABLE_OK,
    .close = host_close,
    .alloc = host_alloc,
    .free = host_free,
    .staging_alloc = host_staging_alloc,
    .staging_free = host_staging_free,
    .xfer_open = host_xfer_open,
    .xfer_copy = host_xfer_copy,
    .xfer_host_ptr = host_xfer_host_ptr,
    .xfer_wait = host_xfer_wait,
    .xfer_close = host_xfer_close,
    .checksum = host_checksum,
    .request = host_request,
    .mem_info = host_mem_info,
    .describe = host_describe,
    .copy_peer = host_copy_peer,
};

int exec_backend_host_open(const struct exec_backend_config *cfg, struct exec_backend **out,
                           struct thaw_err *err)
{
    *out = NULL;
    if (!cfg || cfg->gpu_count <= 0 || !cfg->vram_cap_bytes)
        return thaw_err_set(err, THAW_EINVAL, "host backend: no GPUs to open");
    struct exec_backend *be = calloc(1, sizeof *be);
    struct host_state *s = calloc(1, sizeof *s);
    struct host_gpu *g = calloc((size_t)cfg->gpu_count, sizeof *g);
    struct exec_staging_pool *pool =
        exec_staging_pool_new(raw_staging_alloc, free, EXEC_STAGING_KEEP);
    if (!be || !s || !g || !pool) {
        free(be);
        free(s);
        free(g);
        exec_staging_pool_free(pool);
        return thaw_err_set(err, THAW_ENOMEM, "host backend: out of memory");
    }
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < cfg->gpu_count; i++)
        g[i].cap_bytes = cfg->vram_cap_bytes[i];
    for (int i = 0; cfg->arena_bytes && i < cfg->gpu_count; i++) {
        uint64_t want = cfg->arena_bytes[i];
        if (!want) continue;
        int rc = exec_arena_new(want, EXEC_ARENA_CHUNK, &g[i].arena, err);
        if (rc < 0) {
            for (int k = 0; k < i; k++)
                exec_arena_free(g[k].arena);
            pthread_mutex_destroy(&s->lock);
            exec_staging_pool_free(pool);
            free(be);
            free(s);
            free(g);
            return rc;
        }
    }
    s->gpu_count = cfg->gpu_count;
    s->gpus = g;
    s->staging = pool;
    be->methods = &host_methods;
    be->impl = s;
    be->gpu_count = cfg->gpu_count;
    *out = be;
    return 0;
}

/* arena.c - the host backend's pre-faulted chunk arena (arena.h). The free
 * chunks are a stack of indices, so the chunk freed last is handed out
 * first (still warm in the cache) and take/give cost O(chunks of the
 * block) under one mutex. */
#include "arena.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct exec_arena {
    pthread_mutex_t lock;
    uint8_t *base;
    size_t map_bytes;
    size_t chunk_bytes;
    size_t chunk_count;
    size_t *free_idx; /* stack of free chunk indices */
    size_t free_count;
};

int exec_arena_new(uint64_t bytes, size_t chunk_bytes, struct exec_arena **out,
                   struct thaw_err *err)
{
    *out = NULL;
    if (!chunk_bytes) chunk_bytes = EXEC_ARENA_CHUNK;
    if (chunk_bytes % 4096)
        return thaw_err_set(err, THAW_EINVAL, "arena: chunk of %zu bytes is not 4096-aligned",
                            chunk_bytes);
    uint64_t chunks = (bytes + chunk_bytes - 1) / chunk_bytes;
    if (!chunks) chunks = 1;
    if (chunks > SIZE_MAX / chunk_bytes)
        return thaw_err_set(err, THAW_ENOMEM, "arena: %llu bytes do not fit this address space",
                            (unsigned long long)bytes);
    struct exec_arena *a = calloc(1, sizeof *a);
    size_t *idx = calloc((size_t)chunks, sizeof *idx);
    if (!a || !idx) {
        free(a);
        free(idx);
        return thaw_err_set(err, THAW_ENOMEM, "arena: out of memory");
    }
    a->map_bytes = (size_t)chunks * chunk_bytes;
    /* MAP_POPULATE faults every page in now, before the run's clock. */
    void *p = mmap(NULL, a->map_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        free(a);
        free(idx);
        return thaw_err_set(err, THAW_ENOMEM, "arena: cannot map %llu bytes: %s",
                            (unsigned long long)chunks * chunk_bytes, strerror(e));
    }
    a->base = p;
    a->chunk_bytes = chunk_bytes;
    a->chunk_count = (size_t)chunks;
    a->free_idx = idx;
    /* Pushed high to low, so the first take hands out chunks 0, 1, 2, ... */
    for (size_t i = 0; i < a->chunk_count; i++)
        idx[i] = a->chunk_count - 1 - i;
    a->free_count = a->chunk_count;
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return 0;
}

void exec_arena_free(struct exec_arena *a)
{
    if (!a) return;
    munmap(a->base, a->map_bytes);
    pthread_mutex_destroy(&a->lock);
    free(a->free_idx);
    free(a);
}

uint64_t exec_arena_bytes(const struct exec_arena *a)
{
    return (uint64_t)a->chunk_count * a->chunk_bytes;
}

uint64_t exec_arena_free_bytes(const struct exec_arena *a)
{
    struct exec_arena *m = (struct exec_arena *)a;
    pthread_mutex_lock(&m->lock);
    uint64_t b = (uint64_t)a->free_count * a->chunk_bytes;
    pthread_mutex_unlock(&m->lock);
    return b;
}

int exec_arena_take(struct exec_arena *a, uint64_t bytes, struct exec_arena_block *out,
                    struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    uint64_t need = (bytes + a->chunk_bytes - 1) / a->chunk_bytes;
    if (!need) need = 1;
    uint8_t **chunks =
        need <= SIZE_MAX / sizeof *chunks ? malloc((size_t)need * sizeof *chunks) : NULL;
    if (!chunks) return thaw_err_set(err, THAW_ENOMEM, "arena: out of memory");
    pthread_mutex_lock(&a->lock);
    if (need > a->free_count) {
        size_t have = a->free_count;
        pthread_mutex_unlock(&a->lock);
        free(chunks);
        return thaw_err_set(err, THAW_ENOMEM, "arena: %llu chunks asked, %zu free",
                            (unsigned long long)need, have);
    }
    for (uint64_t i = 0; i < need; i++)
        chunks[i] = a->base + a->free_idx[--a->free_count] * a->chunk_bytes;
    pthread_mutex_unlock(&a->lock);
    out->bytes = bytes;
    out->chunk_bytes = a->chunk_bytes;
    out->count = (size_t)need;
    out->chunks = chunks;
    return 0;
}

void exec_arena_give(struct exec_arena *a, struct exec_arena_block *b)
{
    if (!b->chunks) return;
    pthread_mutex_lock(&a->lock);
    /* Given back last to first, so the next take gets them in the same order. */
    for (size_t i = b->count; i-- > 0;)
        a->free_idx[a->free_count++] = (size_t)(b->chunks[i] - a->base) / a->chunk_bytes;
    pthread_mutex_unlock(&a->lock);
    free(b->chunks);
    memset(b, 0, sizeof *b);
}

uint8_t *exec_arena_span(const struct exec_arena_block *b, uint64_t off, size_t want, size_t *len)
{
    if (off >= b->bytes && !(off == 0 && b->bytes == 0)) {
        *len = 0;
        return NULL;
    }
    size_t i = (size_t)(off / b->chunk_bytes), in = (size_t)(off % b->chunk_bytes);
    size_t room = b->chunk_bytes - in;
    uint64_t left = b->bytes - off;
    if (room > left) room = (size_t)left;
    *len = want < room ? want : room;
    return b->chunks[i] + in;
}

/* staging_pool.c - host staging buffers kept between loads (see the header).
 * A short list, searched linearly: a run holds a few loads' worth of buffers
 * (depth x loads in flight), so nothing smarter pays for itself. */
#include "staging_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct pool_buf {
    struct pool_buf *next;
    void *p;
    size_t bytes;
    bool busy;
};

struct exec_staging_pool {
    pthread_mutex_t lock;
    exec_staging_alloc_fn raw_alloc;
    exec_staging_free_fn raw_free;
    int max_idle;
    int idle;
    struct pool_buf *bufs;
};

struct exec_staging_pool *exec_staging_pool_new(exec_staging_alloc_fn raw_alloc,
                                                exec_staging_free_fn raw_free, int max_idle)
{
    struct exec_staging_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pthread_mutex_init(&pool->lock, NULL);
    pool->raw_alloc = raw_alloc;
    pool->raw_free = raw_free;
    pool->max_idle = max_idle;
    return pool;
}

void exec_staging_pool_free(struct exec_staging_pool *pool)
{
    if (!pool) return;
    struct pool_buf *b = pool->bufs;
    while (b) {
        struct pool_buf *next = b->next;
        pool->raw_free(b->p);
        free(b);
        b = next;
    }
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

void *exec_staging_pool_get(struct exec_staging_pool *pool, size_t bytes)
{
    pthread_mutex_lock(&pool->lock);
    struct pool_buf *best = NULL;
    for (struct pool_buf *b = pool->bufs; b; b = b->next)
        if (!b->busy && b->bytes >= bytes && (!best || b->bytes < best->bytes)) best = b;
    if (best) {
        best->busy = true;
        pool->idle--;
        pthread_mutex_unlock(&pool->lock);
        return best->p;
    }
    pthread_mutex_unlock(&pool->lock);
    struct pool_buf *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (pool->raw_alloc(bytes, &b->p) != 0) {
        free(b);
        return NULL;
    }
    b->bytes = bytes;
    b->busy = true;
    pthread_mutex_lock(&pool->lock);
    b->next = pool->bufs;
    pool->bufs = b;
    pthread_mutex_unlock(&pool->lock);
    return b->p;
}

void exec_staging_pool_put(struct exec_staging_pool *pool, void *p)
{
    struct pool_buf *drop = NULL;
    pthread_mutex_lock(&pool->lock);
    struct pool_buf **pp = &pool->bufs;
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->p == p) break;
    }
    if (*pp) {
        if (pool->idle >= pool->max_idle) {
            drop = *pp; /* enough kept: this one goes back to the system */
            *pp = drop->next;
        } else {
            (*pp)->busy = false;
            pool->idle++;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    if (drop) {
        pool->raw_free(drop->p);
        free(drop);
    }
}

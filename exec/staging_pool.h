/* staging_pool.h - a pool of host staging buffers (internal to exec/), so a
 * load does not pay for pinning (cudaHostAlloc) or first-touching 4 x 64 MiB
 * of memory each time: buffers released by one load are handed to the next.
 * Thread-safe (one mutex). Used by the host and the cuda backends. */
#ifndef THAW_EXEC_STAGING_POOL_H
#define THAW_EXEC_STAGING_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct exec_staging_pool;

/* Released buffers a backend keeps: enough for 4 loads in flight at the
 * default depth of 4 on each of 2 GPUs, twice over (a prefilled run). */
#define EXEC_STAGING_KEEP 32

/* raw_alloc returns 0 and *out, or non-zero; raw_free releases one buffer. */
typedef int (*exec_staging_alloc_fn)(size_t bytes, void **out);
typedef void (*exec_staging_free_fn)(void *p);

/* Keeps at most max_idle released buffers. NULL when out of memory. */
struct exec_staging_pool *exec_staging_pool_new(exec_staging_alloc_fn raw_alloc,
                                                exec_staging_free_fn raw_free, int max_idle);
/* Releases every buffer, in use or not. NULL ok. */
void exec_staging_pool_free(struct exec_staging_pool *pool);
/* A buffer of at least `bytes`: the smallest released one that is large
 * enough, else a new one of exactly `bytes`; NULL when out of memory. */
void *exec_staging_pool_get(struct exec_staging_pool *pool, size_t bytes);
/* Gives a buffer from exec_staging_pool_get back. */
void exec_staging_pool_put(struct exec_staging_pool *pool, void *p);

#ifdef __cplusplus
}
#endif

#endif

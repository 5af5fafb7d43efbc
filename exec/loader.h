/* loader.h - one load: weights from a source (storage files, an open shm
 * file or memory) into a backend buffer, in pipelined chunks, then verified.
 *
 * The pipeline: a reader thread fills `depth` staging buffers of
 * `chunk_bytes` in turn (pread, or O_DIRECT reads where the file system
 * allows them; pread from the descriptor of an EXEC_SOURCE_FD, the shm
 * tier) while the calling thread copies the filled ones into the device
 * (exec_backend_xfer_copy on slot = buffer index; cuda overlaps them on
 * streams), so chunk i+1 is read while chunk i copies. A memory source on
 * a backend with EXEC_BACKEND_PAGEABLE_OK is copied straight from memory,
 * and an fd source on a backend with xfer_host_ptr (host) is read straight
 * into the buffer when the checksum is known in advance; otherwise both are
 * staged the same way. After the last copy the
 * device checksum (exec_backend_checksum) is compared with the expected one
 * (given, or computed on the host while reading); a mismatch is THAW_EIO
 * naming the source and both values. Nothing is READY until that passes.
 *
 * Thread-safety: exec_load blocks and may run in any thread, concurrently
 * with other loads into other buffers. It starts (and joins) one reader
 * thread of its own. */
#ifndef THAW_EXEC_LOADER_H
#define THAW_EXEC_LOADER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "rate.h"
#include "exec.h"
#include "thaw_err.h"
#include "weights.h"

/* EXEC_LOAD_CHUNK_DEFAULT and EXEC_LOAD_DEPTH_DEFAULT are in exec.h. */

struct exec_load_options {
    size_t chunk_bytes; /* 0 = default; rounded up to a multiple of 4096 */
    int depth;          /* staging buffers in flight; 0 = default; at least 2 */
    /* Drop the source files from the page cache first (fdatasync, then
     * posix_fadvise POSIX_FADV_DONTNEED), so a storage figure is a storage
     * figure, not a memory one. Files only. */
    bool drop_cache;
    bool try_direct;    /* try O_DIRECT reads; fall back to buffered */
    bool verify;        /* compare device and expected checksums */
    bool have_expected; /* expected_checksum is given (synthetic) */
    uint64_t expected_checksum;
    const atomic_bool *cancel; /* polled between chunks; NULL = never */
    /* Every read of the source goes through this (NULL = pread): the
     * seam where a test injects short reads and EIO under the loader. */
    ssize_t (*pread_fn)(int fd, void *buf, size_t len, off_t off);
    /* Read-rate caps every read of the source goes through (rate.h): the
     * storage ladder's store, network link or disk cache. NULL: none. */
    struct exec_rate *const *rates;
    int rate_count;
};

/* Defaults: 64 MiB x 4, drop_cache and try_direct off, verify on. */
void exec_load_options_init(struct exec_load_options *o);

struct exec_load_result {
    uint64_t bytes;    /* bytes copied */
    int64_t copy_ns;   /* read + copy pipeline, start to last copy done */
    int64_t verify_ns; /* device checksum */
    int64_t total_ns;  /* everything, drop_cache included */
    double gbps;       /* bytes / copy_ns, in 1e9 bytes per second */
    uint64_t checksum; /* measured on the device */
    uint64_t expected; /* what it had to be (when verified) */
    bool verified;     /* checksum compared and equal */
    bool direct_io;    /* O_DIRECT was used for every file */
};

/* Loads `src` (src->bytes <= dst->bytes) into dst starting at offset 0.
 * Returns 0, or THAW_EIO (short or failed read: the message names the file;
 * checksum mismatch), THAW_EDEVICE (copy failed), THAW_EINTR (cancelled),
 * THAW_EINVAL, THAW_ENOMEM. `res` (may be NULL) is filled as far as the load
 * got. A failed load leaves dst allocated, its contents undefined. */
int exec_load(struct exec_backend *be, struct exec_dev_buf *dst, const struct exec_source *src,
              const struct exec_load_options *o, struct exec_load_result *res,
              struct thaw_err *err);

/* Drops one file from the page cache: fdatasync then posix_fadvise
 * DONTNEED over the whole file. Pages other processes keep mapped or
 * dirty may stay; the bench measures what it gets. */
int exec_drop_page_cache(const char *path, struct thaw_err *err);

/* ---- the host's own limits, for the bench ------------------------------ */

/* Single-thread memcpy bandwidth over `bytes` (two buffers of that size,
 * best of `reps`), in 1e9 bytes per second. */
double exec_bench_memcpy_gbps(size_t bytes, int reps);
/* Plain read() of the whole file into one `chunk_bytes` buffer after
 * dropping it from the page cache, in 1e9 bytes per second; < 0 on error
 * (err filled). */
double exec_bench_read_gbps(const char *path, size_t chunk_bytes, struct thaw_err *err);

#endif

/* backend.h - the device seam of the executor: a struct of function pointers
 * (like SQLite's sqlite3_io_methods) behind which sit the cuda backend (CUDA
 * Runtime, real VRAM) and the host backend (a capped host-memory arena per
 * emulated GPU), so the executor runs, and is tested, on machines with no GPU.
 * A test may build its own struct exec_backend around another's methods to
 * inject faults.
 *
 * Emulated GPUs: the executor opens one emulated GPU per scenario GPU (flat
 * index 0..gpu_count-1) with a VRAM cap (the scenario GPU's vram_bytes).
 * cuda maps emulated GPU i onto local device i % device_count; an allocation
 * fails when it would exceed the cap OR when the real device is out of
 * memory, so a small scenario can emulate contention on a large card.
 *
 * Units: bytes are uint64_t, offsets are bytes from the start of a buffer.
 *
 * Thread-safety: every function may be called from any thread, concurrently,
 * as long as concurrent calls touch different buffers and different xfers
 * (the loader runs in worker threads, one load per buffer). An xfer is used
 * by one thread at a time. exec_backend_free() on a buffer must not race
 * with an open xfer, a checksum or a request on that same buffer: the
 * caller joins those first. VRAM accounting is internally locked. */
#ifndef THAW_EXEC_BACKEND_H
#define THAW_EXEC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thaw_err.h"

/* One allocation on one emulated GPU: an instance's weights. Allocated and
 * owned by the backend (exec_backend_alloc / exec_backend_free). `ptr` is
 * device memory on cuda and host memory on host: only the backend touches
 * it. The fields are read-only to callers. */
struct exec_dev_buf {
    int gpu;        /* emulated GPU index */
    uint64_t bytes; /* usable size, as asked for */
    void *ptr;      /* backend-private address */
    void *impl;     /* backend-private bookkeeping */
};

/* One load's transfer state (streams and events on cuda): opaque, created
 * by exec_backend_xfer_open for one buffer, used by one thread at a time. */
struct exec_xfer;

struct exec_backend;

/* Flags in exec_backend_methods.flags. */
enum {
    /* copies may read any host memory (pageable, an mmap of a file) at full
     * speed; without it the loader stages bytes in exec_backend_staging_alloc
     * buffers first (pinned memory on cuda). */
    EXEC_BACKEND_PAGEABLE_OK = 1u << 0,
};

/* The methods. Every int-returning method returns 0 or a negative THAW_E*
 * code and fills err (which may be NULL). Callers use the exec_backend_*
 * wrappers below, which check arguments and then dispatch here. */
struct exec_backend_methods {
    const char *name; /* "host", "cuda" */
    unsigned flags;
    /* Releases everything the backend holds; buffers not freed yet are freed. */
    void (*close)(struct exec_backend *be);
    /* THAW_ENOMEM when the cap or the device is exhausted; the message names
     * the GPU, the bytes asked and the bytes free. */
    int (*alloc)(struct exec_backend *be, int gpu, uint64_t bytes, struct exec_dev_buf **out,
                 struct thaw_err *err);
    void (*free)(struct exec_backend *be, struct exec_dev_buf *buf);
    /* Host staging memory for copies (pinned on cuda, 4096-aligned so it can
     * serve O_DIRECT reads). Independent of VRAM caps. */
    int (*staging_alloc)(struct exec_backend *be, size_t bytes, void **out, struct thaw_err *err);
    void (*staging_free)(struct exec_backend *be, void *p);
    /* A transfer into `buf` with `slots` independent copy slots (>= 1). */
    int (*xfer_open)(struct exec_backend *be, struct exec_dev_buf *buf, int slots,
                     struct exec_xfer **out, struct thaw_err *err);
    /* Starts copying `bytes` from host `src` to buf+dst_offset on `slot`
     * (0..slots-1). It may return before the copy is done (cuda: async on one
     * of >= 2 streams); `src` must stay untouched until xfer_wait(slot)
     * returns. A slot holds one copy at a time: wait before reusing it. */
    int (*xfer_copy)(struct exec_backend *be, struct exec_xfer *x, int slot, uint64_t dst_offset,
                     const void *src, size_t bytes, struct thaw_err *err);
    /* Optional (NULL on cuda): buf+dst_offset as a CPU address when the
     * device memory is host memory, so the loader can read a file straight
     * into it (one kernel copy, as a memcpy from a mapping would be, but a
     * truncated file is a short read rather than SIGBUS). *bytes is how many
     * bytes are wanted there; it comes back as how many are contiguous at
     * the address (at least 1, at most asked: host memory from the arena is
     * chunks). NULL when dst_offset is outside the buffer. */
    void *(*xfer_host_ptr)(struct exec_backend *be, struct exec_xfer *x, uint64_t dst_offset,
                           size_t *bytes);
    /* Blocks until the copy on `slot` (if any) is complete; reports its error. */
    int (*xfer_wait)(struct exec_backend *be, struct exec_xfer *x, int slot, struct thaw_err *err);
    /* Waits for every slot, then releases the xfer. Never fails. */
    void (*xfer_close)(struct exec_backend *be, struct exec_xfer *x);
    /* exec_checksum (weights.h) of the first `bytes` of buf, computed where
     * the bytes are (a kernel on cuda). */
    int (*checksum)(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                    uint64_t *out, struct thaw_err *err);
    /* One request's work: exec_request_ref() (weights.h) over the first
     * `bytes` of buf with vector seed `seed`, computed where the bytes are
     * (a GEMV-like kernel on cuda); the value keeps the work from being
     * optimised away and is identical on every backend. */
    int (*request)(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                   uint64_t seed, uint64_t *out, struct thaw_err *err);
    /* Free and total bytes of emulated GPU `gpu`: total = its cap; free =
     * cap - allocated, and on cuda also at most cudaMemGetInfo's free. */
    int (*mem_info)(struct exec_backend *be, int gpu, uint64_t *free_bytes, uint64_t *total_bytes,
                    struct thaw_err *err);
    /* A human description of the device behind `gpu` ("host arena 1.0 GiB",
     * "NVIDIA H100 80GB HBM3 (device 0), cap 1.0 GiB"). */
    void (*describe)(struct exec_backend *be, int gpu, char *buf, size_t len);
    /* Copies `bytes` from src+src_offset to dst+dst_offset, two buffers on
     * (possibly) different emulated GPUs: a peer load (cuda:
     * cudaMemcpyPeerAsync between the real devices, or within one; host:
     * memcpy between the arenas). Blocks until the bytes have landed. */
    int (*copy_peer)(struct exec_backend *be, struct exec_dev_buf *dst, uint64_t dst_offset,
                     const struct exec_dev_buf *src, uint64_t src_offset, size_t bytes,
                     struct thaw_err *err);
};

/* An open backend. Created by exec_backend_open (or by a test that fills
 * methods and impl itself); closed by exec_backend_close. */
struct exec_backend {
    const struct exec_backend_methods *methods;
    void *impl;    /* the backend's state */
    int gpu_count; /* emulated GPUs */
};

/* What to open. vram_cap_bytes has gpu_count entries, each > 0. */
struct exec_backend_config {
    int gpu_count;
    const uint64_t *vram_cap_bytes;
    /* Host backend: bytes of each emulated GPU to fault in at open, as one
     * arena (arena.h) that allocations are cut from without a page fault,
     * mmap or munmap during the run; an allocation that does not fit the
     * arena gets a mapping of its own, as without one. NULL (or a 0 entry) =
     * no arena: every allocation maps and populates its own memory. It may
     * exceed the cap by what rounding to whole chunks wastes. Ignored
     * by cuda, where cudaMalloc hands out memory that is already there. */
    const uint64_t *arena_bytes;
};

/* Opens a backend by kind: "host", "cuda" or "auto" (NULL = "auto").
 * auto tries cuda and, when it cannot open (no driver, no device, CUDA not
 * compiled in), opens host and writes the reason to `why`, e.g. "no CUDA
 * driver: using host backend"; when cuda opens, `why` says which devices.
 * `why` may be NULL. "cuda" fails with THAW_EDEVICE and the reason in err.
 * The caller frees *out with exec_backend_close. */
int exec_backend_open(const char *kind, const struct exec_backend_config *cfg,
                      struct exec_backend **out, char *why, size_t why_len, struct thaw_err *err);
void exec_backend_close(struct exec_backend *be);

/* The individual backends (exec_backend_open calls these). cuda returns
 * THAW_EDEVICE with the reason when no device answers or when thaw was
 * built without CUDA. */
int exec_backend_host_open(const struct exec_backend_config *cfg, struct exec_backend **out,
                           struct thaw_err *err);
int exec_backend_cuda_open(const struct exec_backend_config *cfg, struct exec_backend **out,
                           struct thaw_err *err);
/* Number of CUDA devices, or a negative THAW_E* with the reason in err (no
 * driver, no device, not compiled in). Cheap; does not open a backend. */
int exec_backend_cuda_probe(struct thaw_err *err);

/* Wrappers over be->methods (argument checks, then dispatch). */
const char *exec_backend_name(const struct exec_backend *be);
int exec_backend_alloc(struct exec_backend *be, int gpu, uint64_t bytes, struct exec_dev_buf **out,
                       struct thaw_err *err);
void exec_backend_free(struct exec_backend *be, struct exec_dev_buf *buf); /* NULL ok */
int exec_backend_staging_alloc(struct exec_backend *be, size_t bytes, void **out,
                               struct thaw_err *err);
void exec_backend_staging_free(struct exec_backend *be, void *p); /* NULL ok */
int exec_backend_xfer_open(struct exec_backend *be, struct exec_dev_buf *buf, int slots,
                           struct exec_xfer **out, struct thaw_err *err);
int exec_backend_xfer_copy(struct exec_backend *be, struct exec_xfer *x, int slot,
                           uint64_t dst_offset, const void *src, size_t bytes,
                           struct thaw_err *err);
int exec_backend_xfer_wait(struct exec_backend *be, struct exec_xfer *x, int slot,
                           struct thaw_err *err);
void exec_backend_xfer_close(struct exec_backend *be, struct exec_xfer *x); /* NULL ok */
/* THAW_EINVAL for a range outside either buffer; THAW_EDEVICE when the
 * backend has no copy_peer (a test's own). */
int exec_backend_copy_peer(struct exec_backend *be, struct exec_dev_buf *dst, uint64_t dst_offset,
                           const struct exec_dev_buf *src, uint64_t src_offset, size_t bytes,
                           struct thaw_err *err);
int exec_backend_checksum(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                          uint64_t *out, struct thaw_err *err);
int exec_backend_request(struct exec_backend *be, const struct exec_dev_buf *buf, uint64_t bytes,
                         uint64_t seed, uint64_t *out, struct thaw_err *err);
int exec_backend_mem_info(struct exec_backend *be, int gpu, uint64_t *free_bytes,
                          uint64_t *total_bytes, struct thaw_err *err);
void exec_backend_describe(struct exec_backend *be, int gpu, char *buf, size_t len);

#endif

/* loader.c - one load, pipelined: a reader thread fills `depth` staging
 * buffers from the source (pread or O_DIRECT) while the calling thread
 * copies filled ones into the backend buffer, keeping at most two copies in
 * flight (two streams on cuda), then the device checksum is checked against
 * the expected one before the load counts as done. Also: dropping a file
 * from the page cache, a load on its own thread, and the host-limit probes
 * the bench prints beside the loader's figures. */
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIRECT_ALIGN 4096u

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void exec_load_options_init(struct exec_load_options *o)
{
    memset(o, 0, sizeof *o);
    o->chunk_bytes = EXEC_LOAD_CHUNK_DEFAULT;
    o->depth = EXEC_LOAD_DEPTH_DEFAULT;
    o->verify = true;
}

int exec_drop_page_cache(const char *path, struct thaw_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return thaw_err_set(err, THAW_EIO, "%s: cannot open: %s", path, strerror(errno));
    /* Dirty pages cannot be dropped: write them back first. */
    int rc = 0;
    if (fdatasync(fd) != 0 && errno != EINVAL)
        rc = thaw_err_set(err, THAW_EIO, "%s: fdatasync: %s", path, strerror(errno));
    int e = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (!rc && e != 0) rc = thaw_err_set(err, THAW_EIO, "%s: posix_fadvise: %s", path, strerror(e));
    close(fd);
    return rc;
}

/* ---- the pipeline ------------------------------------------------------ */

enum slot_state { SLOT_EMPTY = 0, SLOT_FULL };

struct slot {
    enum slot_state state;
    void *buf;        /* staging memory, chunk bytes */
    const void *data; /* what to copy: buf, or a pointer into a mapping */
    size_t len;
    uint64_t dst_offset;
};

struct pipe {
    struct exec_backend *be;
    const struct exec_source *src;
    size_t chunk;
    int depth;
    bool try_direct;
    bool host_csum; /* compute the expected checksum while reading */
    const atomic_bool *cancel[2];
    ssize_t (*pread_fn)(int fd, void *buf, size_t len, off_t off);
    struct exec_rate *const *rates;
    int rate_count;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct slot *slots;
    bool stop;        /* copier failed: reader exits */
    bool reader_done; /* reader produced every chunk (or failed) */
    int reader_rc;
    struct thaw_err reader_err;
    struct exec_csum csum;
    bool direct_all;
};

static bool cancelled(const struct pipe *p)
{
    for (int i = 0; i < 2; i++)
        if (p->cancel[i] && atomic_load(p->cancel[i])) return true;
    return false;
}

static int read_at(const struct pipe *p, int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
    uint8_t *b = buf;
    *got = 0;
    int64_t deadline = p->rate_count ? exec_rate_reserve(p->rates, p->rate_count, len) : 0;
    while (*got < len) {
        ssize_t n = p->pread_fn(fd, b + *got, len - *got, (off_t)(off + *got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) break;
        *got += (size_t)n;
    }
    /* cancelled: the wait ends early and the caller's cancelled() stops */
    if (p->rate_count) exec_rate_wait(deadline, p->cancel[0]);
    return 0;
}

/* Reads chunk [off, off + n) of src's file into dst, whole: a failed read or
 * a file that ends early (truncated under the load) is THAW_EIO naming it. */
static int read_fd_chunk(const struct pipe *p, const struct exec_source *src, void *dst, size_t n,
                         uint64_t off, struct thaw_err *err)
{
    size_t got = 0;
    int e = read_at(p, src->fd, dst, n, off, &got);
    if (e < 0)
        return thaw_err_set(err, THAW_EIO, "%s: read at %llu failed: %s", src->label,
                            (unsigned long long)off, strerror(-e));
    if (got < n)
        return thaw_err_set(err, THAW_EIO,
                            "%s: truncated while loading: the file ends at %llu, the load needs "
                            "%llu",
                            src->label, (unsigned long long)(off + got),
                            (unsigned long long)src->bytes);
    return 0;
}

/* Opens a segment's file, O_DIRECT when asked and the offset allows it;
 * checks the file holds the whole segment. */
static int open_segment(struct pipe *p, const struct exec_segment *seg, bool *direct,
                        struct thaw_err *err)
{
    *direct = false;
    int fd = -1;
    if (p->try_direct && seg->offset % DIRECT_ALIGN == 0) {
        fd = open(seg->path, O_RDONLY | O_CLOEXEC | O_DIRECT);
        if (fd >= 0) *direct = true;
    }
    if (fd < 0) fd = open(seg->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return thaw_err_set(err, errno == ENOENT ? THAW_ENOENT : THAW_EIO, "%s: cannot open: %s",
                            seg->path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return thaw_err_set(err, THAW_EIO, "%s: not a regular file", seg->path);
    }
    if ((uint64_t)sb.st_size < seg->offset + seg->bytes) {
        close(fd);
        return thaw_err_set(err, THAW_EIO,
                            "%s: truncated: %llu bytes, the load needs bytes %llu..%llu", seg->path,
                            (unsigned long long)sb.st_size, (unsigned long long)seg->offset,
                            (unsigned long long)(seg->offset + seg->bytes));
    }
    return fd;
}

/* Reads len bytes at off into buf, O_DIRECT if *direct (falling back to
 * buffered reads, for good, when the file system refuses). */
static int read_chunk(struct pipe *p, int *fd, bool *direct, const struct exec_segment *seg,
                      uint64_t off, void *buf, size_t len, struct thaw_err *err)
{
    size_t got = 0;
    int e;
    if (*direct) {
        size_t alen = (len + DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN;
        e = read_at(p, *fd, buf, alen, off, &got);
        if (e == -EINVAL) {
            int nfd = open(seg->path, O_RDONLY | O_CLOEXEC);
            if (nfd < 0)
                return thaw_err_set(err, THAW_EIO, "%s: cannot reopen: %s", seg->path,
                                    strerror(errno));
            close(*fd);
            *fd = nfd;
            *direct = false;
            p->direct_all = false;
        } else if (got > len) {
            got = len;
        }
    }
    if (!*direct) e = read_at(p, *fd, buf, len, off, &got);
    if (e < 0)
        return thaw_err_set(err, THAW_EIO, "%s: read at %llu failed: %s", seg->path,
                            (unsigned long long)off, strerror(-e));
    if (got < len)
        return thaw_err_set(err, THAW_EIO,
                            "%s: truncated: the file ends at %llu, the load needs %llu", seg->path,
                            (unsigned long long)(off + got), (unsigned long long)(off + len));
    return 0;
}

/* Hands slot k to the copier, or gives up when the copier stopped. */
static bool wait_empty(struct pipe *p, int s)
{
    pthread_mutex_lock(&p->lock);
    while (p->slots[s].state != SLOT_EMPTY && !p->stop)
        pthread_cond_wait(&p->cond, &p->lock);
    bool ok = !p->stop;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

static void publish(struct pipe *p, int s)
{
    pthread_mutex_lock(&p->lock);
    p->slots[s].state = SLOT_FULL;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* An open file (the shm tier) read with pread: a neighbour truncating it
 * shows as a short read here, where a mapping would raise SIGBUS. */
static int read_fd(struct pipe *p, uint64_t *k, struct thaw_err *err)
{
    const struct exec_source *src = p->src;
    struct stat sb;
    if (fstat(src->fd, &sb) != 0)
        return thaw_err_set(err, THAW_EIO, "%s: fstat: %s", src->label, strerror(errno));
    if ((uint64_t)sb.st_size < src->bytes)
        return thaw_err_set(err, THAW_EIO, "%s: truncated: %llu bytes, the load needs %llu",
                            src->label, (unsigned long long)sb.st_size,
                            (unsigned long long)src->bytes);
    for (uint64_t off = 0; off < src->bytes; off += p->chunk, (*k)++) {
        int s = (int)(*k % (uint64_t)p->depth);
        if (!wait_empty(p, s)) return 1; /* the copier stopped; its error wins */
        if (cancelled(p)) return thaw_err_set(err, THAW_EINTR, "%s: load cancelled", src->label);
        size_t n = src->bytes - off < p->chunk ? (size_t)(src->bytes - off) : p->chunk;
        int e = read_fd_chunk(p, src, p->slots[s].buf, n, off, err);
        if (e < 0) return e;
        if (p->host_csum) exec_csum_feed(&p->csum, p->slots[s].buf, n);
        p->slots[s].data = p->slots[s].buf;
        p->slots[s].len = n;
        p->slots[s].dst_offset = off;
        publish(p, s);
    }
    return 0;
}

static void *reader_main(void *arg)
{
    struct pipe *p = arg;
    const struct exec_source *src = p->src;
    struct thaw_err err = {0, ""};
    int rc = 0;
    uint64_t k = 0, dst = 0;
    if (src->kind == EXEC_SOURCE_MEMORY) {
        for (uint64_t off = 0; off < src->bytes && !rc; off += p->chunk, k++) {
            int s = (int)(k % (uint64_t)p->depth);
            if (!wait_empty(p, s)) break;
            if (cancelled(p)) {
                rc = thaw_err_set(&err, THAW_EINTR, "%s: load cancelled", src->label);
                break;
            }
            size_t n = src->bytes - off < p->chunk ? (size_t)(src->bytes - off) : p->chunk;
            memcpy(p->slots[s].buf, (const uint8_t *)src->data + off, n);
            if (p->host_csum) exec_csum_feed(&p->csum, p->slots[s].buf, n);
            p->slots[s].data = p->slots[s].buf;
            p->slots[s].len = n;
            p->slots[s].dst_offset = off;
            publish(p, s);
        }
    } else if (src->kind == EXEC_SOURCE_FD) {
        rc = read_fd(p, &k, &err);
    } else {
        for (int i = 0; i < src->segment_count && !rc; i++) {
            const struct exec_segment *seg = &src->segments[i];
            if (seg->bytes == 0) continue;
            bool direct;
            int fd = open_segment(p, seg, &direct, &err);
            if (fd < 0) {
                rc = fd;
                break;
            }
            if (!direct) p->direct_all = false;
            for (uint64_t off = 0; off < seg->bytes; off += p->chunk, k++) {
                int s = (int)(k % (uint64_t)p->depth);
                if (!wait_empty(p, s)) {
                    rc = 1; /* the copier stopped; its error wins */
                    break;
                }
                if (cancelled(p)) {
                    rc = thaw_err_set(&err, THAW_EINTR, "%s: load cancelled", src->label);
                    break;
                }
                size_t n = seg->bytes - off < p->chunk ? (size_t)(seg->bytes - off) : p->chunk;
                rc = read_chunk(p, &fd, &direct, seg, seg->offset + off, p->slots[s].buf, n, &err);
                if (rc) break;
                if (p->host_csum) exec_csum_feed(&p->csum, p->slots[s].buf, n);
                p->slots[s].data = p->slots[s].buf;
                p->slots[s].len = n;
                p->slots[s].dst_offset = dst;
                dst += n;
                publish(p, s);
            }
            close(fd);
        }
    }
    pthread_mutex_lock(&p->lock);
    p->reader_done = true;
    p->reader_rc = rc < 0 ? rc : 0;
    if (rc < 0) p->reader_err = err;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Waits until slot s is FULL (returns 1), or the reader finished without
 * filling it (returns 0 at the end, or the reader's error). */
static int wait_full(struct pipe *p, int s)
{
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->slots[s].state == SLOT_FULL) break;
        if (p->reader_done) { /* chunk k will never come: the end, or an error */
            int rc = p->reader_rc;
            pthread_mutex_unlock(&p->lock);
            return rc;
        }
        pthread_cond_wait(&p->cond, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return 1;
}

static void release(struct pipe *p, int s)
{
    pthread_mutex_lock(&p->lock);
    p->slots[s].state = SLOT_EMPTY;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* The copier: runs on the calling thread while the reader reads ahead. */
static int run_staged(struct pipe *p, struct exec_xfer *x, uint64_t *copied, struct thaw_err *err)
{
    pthread_t reader;
    if (pthread_create(&reader, NULL, reader_main, p) != 0)
        return thaw_err_set(err, THAW_ENOMEM, "%s: cannot start the reader thread", p->src->label);
    int rc = 0;
    int64_t prev = -1; /* chunk whose copy is still in flight */
    uint64_t k;
    for (k = 0;; k++) {
        int s = (int)(k % (uint64_t)p->depth);
        int w = wait_full(p, s);
        if (w <= 0) {
            if (w < 0) {
                pthread_mutex_lock(&p->lock);
                *err = p->reader_err;
                pthread_mutex_unlock(&p->lock);
                rc = w;
            }
            break;
        }
        rc = exec_backend_xfer_copy(p->be, x, s, p->slots[s].dst_offset, p->slots[s].data,
                                    p->slots[s].len, err);
        if (rc) break;
        *copied += p->slots[s].len;
        if (prev >= 0) {
            int ps = (int)((uint64_t)prev % (uint64_t)p->depth);
            rc = exec_backend_xfer_wait(p->be, x, ps, err);
            if (rc) break;
            release(p, ps);
        }
        prev = (int64_t)k;
    }
    if (prev >= 0) {
        int ps = (int)((uint64_t)prev % (uint64_t)p->depth);
        int wrc = exec_backend_xfer_wait(p->be, x, ps, rc ? NULL : err);
        if (!rc) rc = wrc;
    }
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(reader, NULL);
    if (!rc && p->reader_rc) {
        *err = p->reader_err;
        rc = p->reader_rc;
    }
    return rc;
}

/* A mapping on a backend that copies from any memory: no staging, no reader;
 * the checksum of what was read is summed chunk by chunk (offsets are
 * 8-aligned, so the pieces add). */
static int run_direct(struct pipe *p, struct exec_xfer *x, uint64_t *copied, uint64_t *sum,
                      struct thaw_err *err)
{
    const uint8_t *data = p->src->data;
    uint64_t k = 0;
    int rc = 0;
    for (uint64_t off = 0; off < p->src->bytes; off += p->chunk, k++) {
        if (cancelled(p)) return thaw_err_set(err, THAW_EINTR, "%s: load cancelled", p->src->label);
        int s = (int)(k % (uint64_t)p->depth);
        size_t n = p->src->bytes - off < p->chunk ? (size_t)(p->src->bytes - off) : p->chunk;
        rc = exec_backend_xfer_wait(p->be, x, s, err);
        if (!rc) rc = exec_backend_xfer_copy(p->be, x, s, off, data + off, n, err);
        if (rc) return rc;
        if (p->host_csum) *sum += exec_checksum(data + off, n, off / 8);
        *copied += n;
    }
    for (int s = 0; s < p->depth && !rc; s++)
        rc = exec_backend_xfer_wait(p->be, x, s, err);
    return rc;
}

/* An open file (the shm tier) into host-addressable device memory: read
 * straight into the buffer, chunk by chunk; no staging, no reader thread. */
static int run_fd_direct(struct pipe *p, struct exec_xfer *x, uint64_t *copied,
                         struct thaw_err *err)
{
    const struct exec_source *src = p->src;
    struct stat sb;
    if (fstat(src->fd, &sb) != 0)
        return thaw_err_set(err, THAW_EIO, "%s: fstat: %s", src->label, strerror(errno));
    if ((uint64_t)sb.st_size < src->bytes)
        return thaw_err_set(err, THAW_EIO, "%s: truncated: %llu bytes, the load needs %llu",
                            src->label, (unsigned long long)sb.st_size,
                            (unsigned long long)src->bytes);
    for (uint64_t off = 0; off < src->bytes; off += p->chunk) {
        if (cancelled(p)) return thaw_err_set(err, THAW_EINTR, "%s: load cancelled", src->label);
        size_t n = src->bytes - off < p->chunk ? (size_t)(src->bytes - off) : p->chunk;
        /* The buffer may be in pieces (the host arena's chunks): one read
         * per contiguous piece of the chunk. */
        for (size_t done = 0; done < n;) {
            size_t piece = n - done;
            void *dst = p->be->methods->xfer_host_ptr(p->be, x, off + done, &piece);
            if (!dst || !piece)
                return thaw_err_set(err, THAW_EINVAL, "%s: chunk past the buffer", src->label);
            int e = read_fd_chunk(p, src, dst, piece, off + done, err);
            if (e < 0) return e;
            done += piece;
        }
        *copied += n;
    }
    return 0;
}

static int load_impl(struct exec_backend *be, struct exec_dev_buf *dst,
                     const struct exec_source *src, const struct exec_load_options *opt,
                     const atomic_bool *extra_cancel, struct exec_load_result *res,
                     struct thaw_err *err)
{
    struct exec_load_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    struct exec_load_options o;
    if (opt)
        o = *opt;
    else
        exec_load_options_init(&o);
    if (!o.chunk_bytes) o.chunk_bytes = EXEC_LOAD_CHUNK_DEFAULT;
    if (!o.depth) o.depth = EXEC_LOAD_DEPTH_DEFAULT;
    if (o.depth < 2) o.depth = 2;
    if (o.depth > 64) o.depth = 64;
    o.chunk_bytes = (o.chunk_bytes + DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN;
    if (!be || !dst || !src) return thaw_err_set(err, THAW_EINVAL, "load: missing argument");
    const char *label = src->label ? src->label : "(source)";
    if (src->bytes > dst->bytes)
        return thaw_err_set(err, THAW_EINVAL, "%s: %llu bytes do not fit a %llu-byte buffer", label,
                            (unsigned long long)src->bytes, (unsigned long long)dst->bytes);
    if (src->kind == EXEC_SOURCE_MEMORY && !src->data && src->bytes)
        return thaw_err_set(err, THAW_EINVAL, "%s: memory source without data", label);
    if (src->kind == EXEC_SOURCE_FD && src->fd < 0 && src->bytes)
        return thaw_err_set(err, THAW_EINVAL, "%s: file source without a descriptor", label);
    if (src->kind == EXEC_SOURCE_FILES) {
        uint64_t total = 0;
        for (int i = 0; i < src->segment_count; i++)
            total += src->segments[i].bytes;
        if (total != src->bytes)
            return thaw_err_set(err, THAW_EINVAL, "%s: segments hold %llu bytes, source says %llu",
                                label, (unsigned long long)total, (unsigned long long)src->bytes);
    }

    int64_t t0 = now_ns();
    if (o.drop_cache && src->kind == EXEC_SOURCE_FILES) {
        for (int i = 0; i < src->segment_count; i++) {
            int rc = exec_drop_page_cache(src->segments[i].path, err);
            if (rc) return rc;
        }
    }

    struct pipe p;
    memset(&p, 0, sizeof p);
    p.be = be;
    p.src = src;
    p.chunk = o.chunk_bytes;
    p.depth = o.depth;
    p.try_direct = o.try_direct;
    p.host_csum = o.verify && !o.have_expected;
    p.cancel[0] = o.cancel;
    p.cancel[1] = extra_cancel;
    p.pread_fn = o.pread_fn ? o.pread_fn : pread;
    p.rates = o.rates;
    p.rate_count = o.rates ? o.rate_count : 0;
    p.direct_all = src->kind == EXEC_SOURCE_FILES && o.try_direct;
    exec_csum_init(&p.csum);
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);

    /* An fd into host memory needs no staging unless the expected checksum
     * must be summed on the way (it would then be summed from the device). */
    bool fd_direct = src->kind == EXEC_SOURCE_FD && be->methods->xfer_host_ptr && !p.host_csum;
    bool staged = !fd_direct && !(src->kind == EXEC_SOURCE_MEMORY &&
                                  (be->methods->flags & EXEC_BACKEND_PAGEABLE_OK));
    int rc = 0;
    struct exec_xfer *x = NULL;
    p.slots = calloc((size_t)p.depth, sizeof *p.slots);
    if (!p.slots) rc = thaw_err_set(err, THAW_ENOMEM, "%s: out of memory", label);
    for (int i = 0; staged && !rc && i < p.depth; i++)
        rc = exec_backend_staging_alloc(be, p.chunk, &p.slots[i].buf, err);
    if (!rc) rc = exec_backend_xfer_open(be, dst, p.depth, &x, err);

    uint64_t copied = 0, direct_sum = 0;
    int64_t t1 = now_ns();
    if (!rc)
        rc = fd_direct ? run_fd_direct(&p, x, &copied, err)
             : staged  ? run_staged(&p, x, &copied, err)
                       : run_direct(&p, x, &copied, &direct_sum, err);
    exec_backend_xfer_close(be, x);
    int64_t t2 = now_ns();
    res->bytes = copied;
    res->copy_ns = t2 - t1;
    res->gbps = res->copy_ns > 0 ? (double)copied / (double)res->copy_ns : 0.0;
    res->direct_io = p.direct_all && !rc;

    if (!rc && copied != src->bytes)
        rc = thaw_err_set(err, THAW_EIO, "%s: copied %llu of %llu bytes", label,
                          (unsigned long long)copied, (unsigned long long)src->bytes);
    if (!rc && o.verify) {
        res->expected = o.have_expected ? o.expected_checksum
                        : staged        ? exec_csum_final(&p.csum)
                                        : direct_sum;
        rc = exec_backend_checksum(be, dst, src->bytes, &res->checksum, err);
        if (!rc && res->checksum != res->expected)
            rc = thaw_err_set(err, THAW_EIO,
                              "%s: checksum mismatch: device has %016llx, expected %016llx "
                              "(the file is corrupt or the copy failed)",
                              label, (unsigned long long)res->checksum,
                              (unsigned long long)res->expected);
        res->verified = !rc;
    }
    int64_t t3 = now_ns();
    res->verify_ns = t3 - t2;
    res->total_ns = t3 - t0;

    for (int i = 0; staged && p.slots && i < p.depth; i++)
        exec_backend_staging_free(be, p.slots[i].buf);
    free(p.slots);
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.lock);
    return rc;
}

int exec_load(struct exec_backend *be, struct exec_dev_buf *dst, const struct exec_source *src,
              const struct exec_load_options *o, struct exec_load_result *res, struct thaw_err *err)
{
    return load_impl(be, dst, src, o, NULL, res, err);
}

/* ---- the host's own limits --------------------------------------------- */

double exec_bench_memcpy_gbps(size_t bytes, int reps)
{
    uint8_t *a = NULL, *b = NULL;
    if (posix_memalign((void **)&a, 4096, bytes) || posix_memalign((void **)&b, 4096, bytes)) {
        free(a);
        return -1.0;
    }
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    int64_t best = INT64_MAX;
    for (int r = 0; r < (reps > 0 ? reps : 1); r++) {
        int64_t t = now_ns();
        memcpy(b, a, bytes);
        t = now_ns() - t;
        if (t < best) best = t;
        a[r % bytes] ^= b[(r * 7) % bytes]; /* keep the copies observable */
    }
    free(a);
    free(b);
    return best > 0 ? (double)bytes / (double)best : 0.0;
}

double exec_bench_read_gbps(const char *path, size_t chunk_bytes, struct thaw_err *err)
{
    if (exec_drop_page_cache(path, err) != 0) return -1.0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        thaw_err_set(err, THAW_EIO, "%s: cannot open: %s", path, strerror(errno));
        return -1.0;
    }
    if (!chunk_bytes) chunk_bytes = EXEC_LOAD_CHUNK_DEFAULT;
    uint8_t *buf = malloc(chunk_bytes);
    if (!buf) {
        close(fd);
        thaw_err_set(err, THAW_ENOMEM, "out of memory");
        return -1.0;
    }
    memset(buf, 0, chunk_bytes);
    uint64_t total = 0;
    int64_t t = now_ns();
    for (;;) {
        ssize_t n = read(fd, buf, chunk_bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            thaw_err_set(err, THAW_EIO, "%s: read: %s", path, strerror(errno));
            total = 0;
            break;
        }
        if (n == 0) break;
        total += (uint64_t)n;
    }
    t = now_ns() - t;
    free(buf);
    close(fd);
    if (!total) return -1.0;
    return t > 0 ? (double)total / (double)t : 0.0;
}

/* bench.c - `thaw exec --bench` and `thaw weights bench`: the loader's
 * throughput from each source beside the host's own limit for that source,
 * measured back to back in one process on one model's weights (or on one
 * bench file), so a slow loader shows as a ratio rather than as a number
 * without a yardstick. */
#include "exec.h"
#include "backend.h"
#include "loader.h"
#include "shm.h"
#include "weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int pick_model(const struct core_spec *spec, int model)
{
    if (model >= 0) return model < spec->model_count ? model : -1;
    int best = -1;
    for (int m = 0; m < spec->model_count; m++)
        if (spec->models[m].weights_kind == CORE_WEIGHTS_SYNTHETIC &&
            (best < 0 || spec->models[m].weights_bytes > spec->models[best].weights_bytes))
            best = m;
    return best;
}

static int load_once(struct exec_backend *be, const struct exec_weights *w,
                     const struct exec_source *src, const struct exec_opts *opts, bool storage,
                     struct exec_load_result *res, struct thaw_err *err)
{
    struct exec_dev_buf *buf = NULL;
    int rc = exec_backend_alloc(be, 0, w->bytes, &buf, err);
    if (rc < 0) return rc;
    struct exec_load_options lo;
    exec_load_options_init(&lo);
    lo.chunk_bytes = (size_t)opts->chunk_bytes;
    lo.depth = opts->depth;
    lo.drop_cache = storage;
    lo.try_direct = storage;
    lo.have_expected = w->checksum_known;
    lo.expected_checksum = w->checksum;
    rc = exec_load(be, buf, src, &lo, res, err);
    exec_backend_free(be, buf);
    return rc;
}

int exec_bench(const struct core_spec *spec, int model, const struct exec_opts *opts,
               struct exec_bench_result *out, struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    int m = pick_model(spec, model);
    if (m < 0) return thaw_err_set(err, THAW_EINVAL, "no model to benchmark");
    struct exec_weights *w = NULL;
    struct exec_backend *be = NULL;
    struct exec_shm *shm = NULL;
    struct exec_shm_map map = {0};
    bool mapped = false;
    const char *dir = opts->weights_dir ? opts->weights_dir : "weights";
    int rc = exec_weights_open(&spec->models[m], dir, false, &w, err);
    if (rc < 0) goto out;
    snprintf(out->model, sizeof out->model, "%s", spec->models[m].name);
    out->bytes = w->bytes;

    /* One emulated GPU big enough for the model, whatever the scenario says. */
    uint64_t cap = w->bytes + (1u << 20);
    struct exec_backend_config cfg = {.gpu_count = 1, .vram_cap_bytes = &cap};
    const char *kind = opts->backend == EXEC_BACKEND_CUDA   ? "cuda"
                       : opts->backend == EXEC_BACKEND_HOST ? "host"
                                                            : "auto";
    if ((rc = exec_backend_open(kind, &cfg, &be, NULL, 0, err)) < 0) goto out;
    snprintf(out->backend, sizeof out->backend, "%s", exec_backend_name(be));

    /* Storage: the loader, then a plain read of the same file, both cold. */
    struct exec_source src;
    exec_weights_source(w, &src);
    struct exec_load_result res;
    if ((rc = load_once(be, w, &src, opts, true, &res, err)) < 0) goto out;
    out->storage_load_gbps = res.gbps;
    out->direct_io = res.direct_io;
    /* The yardstick reads in 64 MiB pieces whatever the loader's chunk, so
     * a small chunk cannot make the limit look low. */
    out->storage_limit_gbps = exec_bench_read_gbps(w->segments[0].path, 64u << 20, err);
    if (out->storage_limit_gbps < 0) {
        rc = err ? err->code : THAW_EIO;
        goto out;
    }

    /* shm: fill, load from the file, beside memcpy of the same size. */
    struct exec_shm_options so = {.base = opts->shm_dir, .keep = false};
    if ((rc = exec_shm_open(&so, &shm, err)) < 0) goto out;
    char name[256];
    exec_shm_name(0, spec->models[m].name, name, sizeof name);
    exec_shm_drop(shm, name);
    struct exec_shm_fill_result fr;
    if ((rc = exec_shm_fill(shm, name, &src, (size_t)opts->chunk_bytes, NULL, &fr, err)) < 0)
        goto out;
    out->shm_fill_gbps = fr.gbps;
    if ((rc = exec_shm_map(shm, name, &map, err)) < 0) goto out;
    mapped = true;
    struct exec_source msrc;
    exec_shm_source(&map, &msrc);
    if ((rc = load_once(be, w, &msrc, opts, false, &res, err)) < 0) goto out;
    out->shm_load_gbps = res.gbps;
    size_t mbytes = w->bytes < (512u << 20) ? (size_t)w->bytes : (512u << 20);
    out->shm_limit_gbps = exec_bench_memcpy_gbps(mbytes, 3);
    exec_shm_drop(shm, name);
out:
    if (mapped) exec_shm_unmap(&map);
    exec_shm_close(shm);
    exec_backend_close(be);
    exec_weights_free(w);
    return rc;
}

/* ---- one bench file (`thaw weights bench`) ----------------------------- */

struct exec_bench_file {
    struct exec_bench_file_config c;
    uint64_t seed, expected; /* the file's synthetic stream and its checksum */
    struct exec_backend *be;
    struct exec_dev_buf *buf;
    struct exec_shm *shm;
    struct exec_shm_map map;
    struct exec_segment seg;
    struct exec_source src, shm_src;
    bool written;
    struct exec_bench_file_result best;
    /* the best load of each kind, whole (its direct_io and verify_ns) */
    struct exec_load_result buffered, direct, fromshm;
};

int exec_bench_file_open(const struct exec_bench_file_config *c, struct exec_bench_file **out,
                         char *why, size_t why_len, struct thaw_err *err)
{
    *out = NULL;
    struct exec_bench_file *b = calloc(1, sizeof *b);
    if (!b) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    b->c = *c;
    b->seed = exec_weights_seed("thaw-bench");
    uint64_t caps[1] = {c->bytes};
    struct exec_backend_config cfg = {1, caps, NULL};
    int rc = exec_backend_open(c->backend, &cfg, &b->be, why, why_len, err);
    if (rc) {
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

const char *exec_bench_file_backend(const struct exec_bench_file *b)
{
    return exec_backend_name(b->be);
}

void exec_bench_file_describe(struct exec_bench_file *b, char *buf, size_t len)
{
    exec_backend_describe(b->be, 0, buf, len);
}

int exec_bench_file_write(struct exec_bench_file *b, struct thaw_err *err)
{
    int rc = exec_weights_gen(b->c.path, b->c.bytes, b->seed, err);
    if (rc) return rc;
    b->written = true;
    b->expected = exec_weights_expected_checksum(b->c.bytes, b->seed);
    return 0;
}

/* Puts "shm: " before err's message (the tier's failures say where). */
static int shm_failed(int rc, struct thaw_err *err)
{
    if (!err) return rc;
    char msg[THAW_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return thaw_err_set(err, rc, "shm: %s", msg);
}

int exec_bench_file_prepare(struct exec_bench_file *b, struct thaw_err *err)
{
    int rc = exec_backend_alloc(b->be, 0, b->c.bytes, &b->buf, err);
    if (rc) return rc;
    struct exec_shm_options so = {b->c.shm_base, false};
    struct exec_shm_fill_result fill;
    b->seg = (struct exec_segment){b->c.path, 0, b->c.bytes};
    b->src = (struct exec_source){EXEC_SOURCE_FILES, 1, &b->seg, NULL, b->c.bytes, b->c.path, -1};
    if ((rc = exec_shm_open(&so, &b->shm, err)) != 0 ||
        (rc = exec_shm_fill(b->shm, "bench.w", &b->src, (size_t)b->c.chunk_bytes, NULL, &fill,
                            err)) != 0 ||
        (rc = exec_shm_map(b->shm, "bench.w", &b->map, err)) != 0)
        return shm_failed(rc, err);
    b->best.shm_fill_gbps = fill.gbps;
    exec_shm_source(&b->map, &b->shm_src);
    return 0;
}

const char *exec_bench_file_shm_note(const struct exec_bench_file *b)
{
    return b->shm ? exec_shm_fallback_reason(b->shm) : NULL;
}

/* One load into the device buffer; keeps the best (fastest) in *best. */
static int load_best(struct exec_bench_file *b, const struct exec_source *src, bool drop,
                     bool direct, struct exec_load_result *best, struct thaw_err *err)
{
    struct exec_load_options o;
    exec_load_options_init(&o);
    o.chunk_bytes = (size_t)b->c.chunk_bytes;
    o.depth = b->c.depth;
    o.drop_cache = drop;
    o.try_direct = direct;
    o.have_expected = true;
    o.expected_checksum = b->expected;
    struct exec_load_result r;
    int rc = exec_load(b->be, b->buf, src, &o, &r, err);
    if (rc) return rc;
    if (r.gbps > best->gbps) *best = r;
    return 0;
}

/* memcpy out of the shm mapping into one warm buffer, no loader: separates
 * what the mapping costs from what the loader adds. GB/s, < 0 on no memory. */
static double mapping_memcpy_gbps(const void *src, uint64_t bytes)
{
    size_t win = bytes < (256u << 20) ? (size_t)bytes : (256u << 20);
    uint8_t *dst = NULL;
    if (!win || posix_memalign((void **)&dst, 4096, win) != 0) return -1.0;
    memset(dst, 0, win);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t off = 0; off < bytes; off += win) {
        size_t n = bytes - off < win ? (size_t)(bytes - off) : win;
        memcpy(dst, (const uint8_t *)src + off, n);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    volatile uint8_t sink = dst[win / 2]; /* the copy is used */
    (void)sink;
    free(dst);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    return ns > 0 ? (double)bytes / ns : 0.0;
}

int exec_bench_file_round(struct exec_bench_file *b, struct exec_bench_file_result *best,
                          struct thaw_err *err)
{
    if (!b->buf || !b->map.data) return thaw_err_set(err, THAW_ESTATE, "bench file not prepared");
    struct exec_bench_file_result *o = &b->best;
    size_t memcpy_bytes = b->c.bytes < (256u << 20) ? (size_t)b->c.bytes : (256u << 20);
    double g = exec_bench_read_gbps(b->c.path, (size_t)b->c.chunk_bytes, err);
    if (g < 0) return err ? err->code : THAW_EIO;
    if (g > o->read_gbps) o->read_gbps = g;
    int rc;
    if ((rc = load_best(b, &b->src, true, false, &b->buffered, err)) != 0 ||
        (rc = load_best(b, &b->src, true, true, &b->direct, err)) != 0)
        return rc;
    g = exec_bench_memcpy_gbps(memcpy_bytes, 1);
    if (g > o->memcpy_gbps) o->memcpy_gbps = g;
    if ((rc = load_best(b, &b->shm_src, false, false, &b->fromshm, err)) != 0) return rc;
    g = mapping_memcpy_gbps(b->map.data, b->map.bytes);
    if (g > o->mapping_gbps) o->mapping_gbps = g;
    o->storage_buffered_gbps = b->buffered.gbps;
    o->storage_direct_gbps = b->direct.gbps;
    o->direct_io = b->direct.direct_io;
    o->shm_load_gbps = b->fromshm.gbps;
    o->shm_verify_ns = b->fromshm.verify_ns;
    if (best) *best = *o;
    return 0;
}

void exec_bench_file_close(struct exec_bench_file *b)
{
    if (!b) return;
    exec_shm_unmap(&b->map);
    exec_shm_close(b->shm);
    exec_backend_free(b->be, b->buf);
    exec_backend_close(b->be);
    if (b->written && !b->c.keep) unlink(b->c.path);
    free(b);
}

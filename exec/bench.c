/* bench.c - `thaw exec --bench`: the loader's throughput from each source
 * beside the host's own limit for that source, measured back to back in one
 * process on one model's weights, so a slow loader shows as a ratio rather
 * than as a number without a yardstick. */
#include "exec.h"
#include "backend.h"
#include "loader.h"
#include "shm.h"
#include "weights.h"

#include <stdio.h>
#include <string.h>

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

    /* shm: fill, load from the mapping, beside memcpy of the same size. */
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

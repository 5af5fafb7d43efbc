/* resources.c - what a scenario needs of this host, checked before any work
 * starts: free disk for the synthetic weight files still to write, and host
 * memory for what the executor will hold there (the host backend's emulated
 * VRAM, the shm tier). A run that cannot fit is refused with the numbers,
 * rather than found out hours and hundreds of GB later. */
#include "exec.h"
#include "weights.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

static double gib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0 * 1024.0);
}

/* Free bytes (for an unprivileged writer) of the file system holding `dir`,
 * or of its parent when dir does not exist yet. */
static int free_bytes_at(const char *dir, uint64_t *out, struct thaw_err *err)
{
    struct statvfs vs;
    if (statvfs(dir, &vs) == 0) {
        *out = (uint64_t)vs.f_bavail * (uint64_t)vs.f_frsize;
        return 0;
    }
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent)
        *slash = '\0';
    else
        snprintf(parent, sizeof parent, "%s", slash ? "/" : ".");
    if (statvfs(parent, &vs) != 0)
        return thaw_err_set(err, THAW_EIO, "%s: statvfs: %s", dir, strerror(errno));
    *out = (uint64_t)vs.f_bavail * (uint64_t)vs.f_frsize;
    return 0;
}

int exec_weights_check_disk(const struct core_spec *spec, const char *dir, bool force,
                            struct thaw_err *err)
{
    uint64_t need = 0, have = 0;
    int files = 0;
    for (int m = 0; m < spec->model_count; m++) {
        const struct core_model_spec *ms = &spec->models[m];
        if (ms->weights_kind != CORE_WEIGHTS_SYNTHETIC) continue;
        char path[4096];
        int rc = exec_weights_synthetic_path(dir, ms->name, path, sizeof path, err);
        if (rc < 0) return rc;
        struct stat st;
        bool right = stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
                     (uint64_t)st.st_size == ms->weights_bytes;
        if (right && !force) continue;
        /* A rewrite goes to a temporary file renamed over the old one, so
         * both exist for a moment: the old one's bytes do not count. */
        need += ms->weights_bytes;
        files++;
    }
    if (!need) return 0;
    int rc = free_bytes_at(dir, &have, err);
    if (rc < 0) return rc;
    if (need <= have) return 0;
    return thaw_err_set(err, THAW_ENOMEM,
                        "%d weight file%s to write need %" PRIu64 " bytes (%.1f GiB), the file "
                        "system of %s has %" PRIu64 " bytes (%.1f GiB) free",
                        files, files == 1 ? "" : "s", need, gib(need), dir, have, gib(have));
}

int exec_meminfo_available(const char *path, uint64_t *out, struct thaw_err *err)
{
    FILE *f = fopen(path ? path : "/proc/meminfo", "r");
    if (!f)
        return thaw_err_set(err, THAW_EIO, "%s: %s", path ? path : "/proc/meminfo",
                            strerror(errno));
    char line[256];
    int rc = THAW_ENOENT;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kib;
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
            *out = (uint64_t)kib * 1024u;
            rc = 0;
            break;
        }
    }
    fclose(f);
    if (rc) thaw_err_set(err, rc, "%s: no MemAvailable line", path ? path : "/proc/meminfo");
    return rc;
}

void exec_host_memory_need(const struct core_spec *spec, bool host_backend, uint64_t *vram_bytes,
                           uint64_t *shm_bytes)
{
    /* Emulated VRAM: the host backend populates every allocation, and a GPU
     * holds at most its cap, and at most one instance of each model (an
     * upper bound the core's placement keeps). */
    uint64_t caps = 0, models = 0;
    for (int g = 0; g < spec->gpu_count; g++)
        caps += spec->gpus[g].vram_bytes;
    for (int m = 0; m < spec->model_count; m++) {
        const struct core_model_spec *ms = &spec->models[m];
        uint64_t one = ms->vram_bytes > ms->weights_bytes ? ms->vram_bytes : ms->weights_bytes;
        models += one * (uint64_t)spec->gpu_count;
    }
    *vram_bytes = host_backend ? (caps < models ? caps : models) : 0;
    /* shm: each node's tier holds at most its capacity and every model once. */
    uint64_t all_weights = 0;
    for (int m = 0; m < spec->model_count; m++)
        all_weights += spec->models[m].weights_bytes;
    uint64_t shm = 0;
    for (int n = 0; n < spec->node_count; n++) {
        uint64_t cap = spec->nodes[n].shm_bytes;
        shm += cap < all_weights ? cap : all_weights;
    }
    *shm_bytes = shm;
}

int exec_check_memory(const struct core_spec *spec, bool host_backend, struct thaw_err *err)
{
    uint64_t vram, shm, avail;
    exec_host_memory_need(spec, host_backend, &vram, &shm);
    if (vram + shm == 0) return 0;
    if (exec_meminfo_available(NULL, &avail, NULL) < 0) return 0; /* no /proc: nothing to check */
    if (vram + shm <= avail) return 0;
    return thaw_err_set(err, THAW_ENOMEM,
                        "host memory: the run may hold %" PRIu64 " bytes (%.1f GiB: emulated VRAM "
                        "%.1f GiB on the host backend, shm tier %.1f GiB), %" PRIu64
                        " bytes (%.1f GiB) available (MemAvailable)",
                        vram + shm, gib(vram + shm), gib(vram), gib(shm), avail, gib(avail));
}

/* scenario.c - core_spec_load(): reads a scenario file, parses it with
 * libfyaml, applies --set overrides to the tree, walks the six sections into
 * a struct core_spec (expanding `count:` entries) and validates it. Every
 * problem becomes a diagnostic with file:line:col and a key path; the walk
 * goes on after an error so one run reports all of them. The typed value
 * readers live in scenario_yaml.c, cross-references in scenario_validate.c. */
#include "scenario_internal.h"
#include "units.h"

#include <errno.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- small helpers -------------------------------------------------------- */

/* Grows *arr (of elem-sized items, *cap of them) to hold need items. */
static bool grow(struct core_ld *ld, void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return true;
    int c = *cap ? *cap : 8;
    while (c < need)
        c = c > INT_MAX / 2 ? need : c * 2;
    void *p = realloc(*arr, (size_t)c * elem);
    if (!p) {
        ld->nomem = true;
        return false;
    }
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(c - *cap) * elem);
    *arr = p;
    *cap = c;
    return true;
}

static char *dup_str(struct core_ld *ld, const char *s)
{
    char *d = strdup(s);
    if (!d) ld->nomem = true;
    return d;
}

/* A path relative to the scenario's folder (absolute paths are kept). */
static char *resolve_path(struct core_ld *ld, const char *p)
{
    if (p[0] == '/' || !ld->dir[0]) return dup_str(ld, p);
    size_t n = strlen(ld->dir) + strlen(p) + 2;
    char *out = malloc(n);
    if (!out) {
        ld->nomem = true;
        return NULL;
    }
    snprintf(out, n, "%s/%s", ld->dir, p);
    return out;
}

/* strerror() is not thread-safe and sweeps load scenarios from threads. */
static const char *errno_text(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* the GNU variant (_GNU_SOURCE) */
}

static int item_count(struct fy_node *seq)
{
    return seq && fy_node_is_sequence(seq) ? fy_node_sequence_item_count(seq) : 0;
}

/* True when list is a non-empty list; else "expected <what>, found ..." at
 * the list (at key when the value is empty) and false. */
static bool nonempty_list(struct core_ld *ld, struct fy_node *list, struct fy_node *key,
                          struct fy_node *owner, const char *path, const char *what)
{
    if (item_count(list) > 0) return true;
    char found[80];
    core_ld_describe(list, found, sizeof found);
    core_ld_err(ld, list ? list : key, owner, path, "expected %s, found %s", what,
                list && fy_node_is_sequence(list) ? "an empty list" : found);
    return false;
}

/* Reads at most max bytes of a file into a NUL-terminated malloc'd buffer.
 * Returns 0, THAW_EIO (errno set), THAW_ERANGE (too big) or THAW_ENOMEM. */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return THAW_EIO;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        errno = EISDIR;
        return THAW_EIO;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return THAW_ENOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) break;
            cap *= 2;
            char *g = realloc(buf, cap + 1);
            if (!g) {
                free(buf);
                fclose(f);
                return THAW_ENOMEM;
            }
            buf = g;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        errno = EIO;
        return THAW_EIO;
    }
    if (n > max) {
        free(buf);
        return THAW_ERANGE;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Finds the first byte that makes the buffer not UTF-8 text (a NUL, a bad
 * sequence); returns its offset or -1. */
static long first_non_text(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (c == 0 || len == 0 || (len == 2 && c < 0xc2) || i + len > n) return (long)i;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80) return (long)i;
        i += len;
    }
    return -1;
}

static void line_col_at(const char *s, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* ---- cluster --------------------------------------------------------------- */

struct gpu_tmpl {
    char name[CORE_NAME_MAX]; /* "" = default "<node>/gpu<i>" */
    uint64_t vram_bytes;
    double h2d_bps;
    struct fy_node *src; /* its list item, or the `gpus:` count */
};

static bool gpu_name_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len >= CORE_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '/'))
            return false;
    }
    return true;
}

/* "unknown GPU" for a placement or fault reference, with a did-you-mean. */
static void unknown_gpu(struct core_ld *ld, struct fy_node *at, const char *path, const char *ref)
{
    const struct core_spec *spec = ld->spec;
    struct core_suggest sg;
    core_suggest_init(&sg, ref);
    for (int gi = 0; gi < spec->gpu_count; gi++)
        core_suggest_offer(&sg, spec->gpus[gi].name);
    if (core_suggest_result(&sg))
        core_ld_err(ld, at, NULL, path, "unknown GPU '%s'; did you mean '%s'?", ref,
                    core_suggest_result(&sg));
    else
        core_ld_err(ld, at, NULL, path,
                    "unknown GPU '%s' (write a GPU name such as %s, or node/index)", ref,
                    spec->gpu_count ? spec->gpus[0].name : "node0/gpu0");
}

/* A GPU name given in the file may hold '/' too (it names the GPU whole). */
static void check_gpu_name(struct core_ld *ld, struct fy_node *at, const char *path,
                           const char *name)
{
    if (!gpu_name_ok(name))
        core_ld_err(ld, at, NULL, path,
                    "expected a GPU name of letters, digits, '-', '_', '.' or '/' (at most 63), "
                    "found \"%s\"",
                    name);
}

static void parse_node_entry(struct core_ld *ld, struct fy_node *e, int idx, int *node_cap,
                             int *gpu_cap)
{
    struct core_spec *spec = ld->spec;
    char path[160], sub[200];
    snprintf(path, sizeof path, "cluster.nodes[%d]", idx);
    enum { NAME, COUNT, GPUS, VRAM, H2D, PCIE, STORAGE, SHM, CORES, INIT, WARMUP, VERIFY, GPU,
           HOSTMEM, NETWORK, NVLINK, DISK, NF };
    struct core_ld_field f[NF] = {
        {.name = "name"},         {.name = "count"},  {.name = "gpus"},
        {.name = "vram"},         {.name = "h2d"},    {.name = "pcie_switch"},
        {.name = "storage_read"}, {.name = "shm"},    {.name = "cpu_cores"},
        {.name = "init"},         {.name = "warmup"}, {.name = "verify"},
        {.name = "gpu"},          {.name = "host_memory"}, {.name = "network"},
        {.name = "nvlink"},       {.name = "disk_cache"}};
    if (!core_ld_fields(ld, e, path, f, NF, "a node (a mapping with name, gpus, vram, ...)"))
        return;
    int before = ld->errors;
    struct core_node_spec t;
    memset(&t, 0, sizeof t);
    bool named = false;
    if (f[NAME].key) {
        snprintf(sub, sizeof sub, "%s.name", path);
        named = core_ld_name(ld, f[NAME].val, sub, t.name);
    }
    /* Node names leave room for "-<count index>" and "/gpu<index>". */
    if (named && strlen(t.name) > 40)
        core_ld_err(ld, f[NAME].val, NULL, sub, "expected a node name of at most 40 characters");
    int64_t count = 1;
    if (f[COUNT].key) {
        snprintf(sub, sizeof sub, "%s.count", path);
        if (!core_ld_int(ld, f[COUNT].val, sub, 1, CORE_LD_MAX_NODES, &count)) count = 0;
    }
    if (!f[STORAGE].key) {
        core_ld_err(ld, e, NULL, path,
                    "missing key 'storage_read' (storage read bandwidth, "
                    "such as 2GB/s)");
    } else {
        snprintf(sub, sizeof sub, "%s.storage_read", path);
        core_ld_bandwidth(ld, f[STORAGE].val, sub, false, &t.storage_read_bps);
    }
    if (f[PCIE].key) {
        snprintf(sub, sizeof sub, "%s.pcie_switch", path);
        core_ld_bandwidth(ld, f[PCIE].val, sub, false, &t.pcie_switch_bps);
    }
    if (f[SHM].key) {
        snprintf(sub, sizeof sub, "%s.shm", path);
        enum { SIZE, READ, WRITE, PER_LOAD, SF };
        struct core_ld_field s[SF] = {
            {.name = "size"}, {.name = "read"}, {.name = "write"}, {.name = "per_load"}};
        if (core_ld_fields(ld, f[SHM].val, sub, s, SF,
                           "a mapping {size: 128GiB, read: 20GB/s, write: 4GB/s}")) {
            for (int i = 0; i < SF; i++) {
                char p2[220];
                snprintf(p2, sizeof p2, "%s.%s", sub, s[i].name);
                if (i == PER_LOAD) { /* optional: a cap on one shm load's rate */
                    if (s[i].key) core_ld_bandwidth(ld, s[i].val, p2, false, &t.shm_per_load_bps);
                    continue;
                }
                if (!s[i].key) {
                    core_ld_err(ld, f[SHM].val, NULL, sub, "missing key '%s'", s[i].name);
                    continue;
                }
                if (i == SIZE)
                    core_ld_size(ld, s[i].val, p2, 1, &t.shm_bytes);
                else
                    core_ld_bandwidth(ld, s[i].val, p2, false,
                                      i == READ ? &t.shm_read_bps : &t.shm_write_bps);
            }
        }
    }
    if (f[CORES].key) {
        int64_t v = 0;
        snprintf(sub, sizeof sub, "%s.cpu_cores", path);
        if (core_ld_int(ld, f[CORES].val, sub, 0, 1000000, &v)) t.cpu_cores = (int)v;
    }
    if (f[VERIFY].key) {
        snprintf(sub, sizeof sub, "%s.verify", path);
        core_ld_bandwidth(ld, f[VERIFY].val, sub, false, &t.verify_bps);
    }
    t.entry = idx;
    if (f[HOSTMEM].key) {
        snprintf(sub, sizeof sub, "%s.host_memory", path);
        core_ld_size(ld, f[HOSTMEM].val, sub, 0, &t.host_memory_bytes);
    }
    t.init.kind = t.warmup.kind = CORE_DIST_FIXED;
    if (f[INIT].key) {
        snprintf(sub, sizeof sub, "%s.init", path);
        core_ld_dist(ld, f[INIT].val, sub, true, &t.init);
    }
    if (f[WARMUP].key) {
        snprintf(sub, sizeof sub, "%s.warmup", path);
        core_ld_dist(ld, f[WARMUP].val, sub, true, &t.warmup);
    }
    core_ld_node_ladder(ld, f[NETWORK].key ? f[NETWORK].val : NULL,
                        f[NVLINK].key ? f[NVLINK].val : NULL, f[DISK].key ? f[DISK].val : NULL,
                        path, &t);
    /* Per-GPU defaults at node level. */
    uint64_t vram = 0;
    double h2d = 0;
    bool have_vram = false, have_h2d = false;
    /* `gpu: PRESET` gives both; a node's own vram or h2d wins (scenario_presets.c) */
    bool preset = false;
    if (f[GPU].key) {
        snprintf(sub, sizeof sub, "%s.gpu", path);
        preset = core_ld_preset_gpu(ld, f[GPU].val, sub, &vram, &h2d);
        have_vram = have_h2d = preset;
    }
    if (f[VRAM].key) {
        snprintf(sub, sizeof sub, "%s.vram", path);
        have_vram = core_ld_size(ld, f[VRAM].val, sub, 1, &vram);
    }
    if (f[H2D].key) {
        snprintf(sub, sizeof sub, "%s.h2d", path);
        have_h2d = core_ld_bandwidth(ld, f[H2D].val, sub, false, &h2d);
    }
    /* The GPUs: a count, or a list of names / {name, vram, h2d}. */
    struct gpu_tmpl *g = NULL;
    int gn = 0;
    snprintf(sub, sizeof sub, "%s.gpus", path);
    struct fy_node *gv = f[GPUS].val;
    if (!f[GPUS].key) {
        core_ld_err(ld, e, NULL, path, "missing key 'gpus' (a count such as 4, or a list)");
    } else if (gv && fy_node_is_sequence(gv)) {
        gn = item_count(gv);
        if (gn == 0 || gn > CORE_LD_MAX_GPUS_PER_NODE) {
            core_ld_err(ld, gv, NULL, sub, "expected 1 to %d GPUs, found %d",
                        CORE_LD_MAX_GPUS_PER_NODE, gn);
            gn = 0;
        }
        g = gn ? calloc((size_t)gn, sizeof *g) : NULL;
        if (gn && !g) {
            ld->nomem = true;
            gn = 0;
        }
        void *gv_it = NULL;
        for (int i = 0; i < gn; i++) {
            char p2[220];
            snprintf(p2, sizeof p2, "%s[%d]", sub, i);
            struct fy_node *it = fy_node_sequence_iterate(gv, &gv_it);
            g[i].src = it;
            g[i].vram_bytes = vram;
            g[i].h2d_bps = h2d;
            bool gvram = have_vram, gh2d = have_h2d;
            if (it && fy_node_is_mapping(it)) {
                enum { GNAME, GVRAM, GH2D, GF };
                struct core_ld_field gf[GF] = {{.name = "name"}, {.name = "vram"}, {.name = "h2d"}};
                core_ld_fields(ld, it, p2, gf, GF, "a GPU");
                char p3[240];
                if (gf[GNAME].key) {
                    snprintf(p3, sizeof p3, "%s.name", p2);
                    if (core_ld_string(ld, gf[GNAME].val, p3, g[i].name, sizeof g[i].name,
                                       "a GPU name"))
                        check_gpu_name(ld, gf[GNAME].val, p3, g[i].name);
                }
                if (gf[GVRAM].key) {
                    snprintf(p3, sizeof p3, "%s.vram", p2);
                    core_ld_size(ld, gf[GVRAM].val, p3, 1, &g[i].vram_bytes);
                    gvram = true; /* an error is reported already */
                }
                if (gf[GH2D].key) {
                    snprintf(p3, sizeof p3, "%s.h2d", p2);
                    core_ld_bandwidth(ld, gf[GH2D].val, p3, false, &g[i].h2d_bps);
                    gh2d = true;
                }
            } else if (core_ld_string(ld, it, p2, g[i].name, sizeof g[i].name,
                                      "a GPU name or {name, vram, h2d}")) {
                check_gpu_name(ld, it, p2, g[i].name);
            }
            if (!gvram && !f[VRAM].key && !f[GPU].key)
                core_ld_err(ld, it, NULL, p2, "missing key 'vram' (here or on the node)");
            if (!gh2d && !f[H2D].key && !f[GPU].key)
                core_ld_err(ld, it, NULL, p2, "missing key 'h2d' (here or on the node)");
        }
    } else {
        int64_t c = 0;
        if (core_ld_int(ld, gv, sub, 1, CORE_LD_MAX_GPUS_PER_NODE, &c)) {
            gn = (int)c;
            g = calloc((size_t)gn, sizeof *g);
            if (!g) {
                ld->nomem = true;
                gn = 0;
            }
            for (int i = 0; i < gn; i++) {
                g[i].vram_bytes = vram;
                g[i].h2d_bps = h2d;
                g[i].src = gv;
            }
            if (!f[VRAM].key && !f[GPU].key)
                core_ld_err(ld, e, NULL, path,
                            "missing key 'vram' (memory per GPU, such as 80GiB)");
            if (!f[H2D].key && !f[GPU].key)
                core_ld_err(ld, e, NULL, path,
                            "missing key 'h2d' (host-to-device bandwidth per GPU, such as 25GB/s)");
        }
    }
    if (ld->errors != before || count == 0 || gn == 0) {
        free(g);
        return;
    }
    if (spec->node_count + count > CORE_LD_MAX_NODES ||
        spec->gpu_count + count * gn > CORE_LD_MAX_GPUS) {
        core_ld_err(ld, f[COUNT].val ? f[COUNT].val : e, NULL, path,
                    "too many nodes or GPUs: at most %d nodes and %d GPUs in a cluster",
                    CORE_LD_MAX_NODES, CORE_LD_MAX_GPUS);
        free(g);
        return;
    }
    if (!grow(ld, (void **)&spec->nodes, node_cap, spec->node_count + (int)count,
              sizeof *spec->nodes)) {
        free(g);
        return;
    }
    /* node_src grows with nodes (same capacity). */
    struct core_ld_src *ns = realloc(ld->node_src, (size_t)*node_cap * sizeof *ns);
    if (!ns) {
        ld->nomem = true;
        free(g);
        return;
    }
    ld->node_src = ns;
    if (!grow(ld, (void **)&spec->gpus, gpu_cap, spec->gpu_count + (int)count * gn,
              sizeof *spec->gpus)) {
        free(g);
        return;
    }
    struct core_ld_src *gs = realloc(ld->gpu_src, (size_t)*gpu_cap * sizeof *gs);
    if (!gs) {
        ld->nomem = true;
        free(g);
        return;
    }
    ld->gpu_src = gs;
    for (int64_t k = 0; k < count; k++) {
        int ni = spec->node_count++;
        struct core_node_spec *nd = &spec->nodes[ni];
        *nd = t;
        if (!named)
            snprintf(nd->name, sizeof nd->name, "node%d", ni);
        else if (f[COUNT].key)
            snprintf(nd->name, sizeof nd->name, "%.40s-%d", t.name, (int)k);
        nd->first_gpu = spec->gpu_count;
        nd->gpu_count = gn;
        ld->node_src[ni] = (struct core_ld_src){e, f[NAME].val, idx, NULL};
        for (int i = 0; i < gn; i++) {
            int gi = spec->gpu_count++;
            struct core_gpu_spec *gp = &spec->gpus[gi];
            memset(gp, 0, sizeof *gp);
            if (g[i].name[0])
                snprintf(gp->name, sizeof gp->name, "%s", g[i].name);
            else
                snprintf(gp->name, sizeof gp->name, "%.48s/gpu%d", nd->name, i);
            gp->node = ni;
            gp->index_in_node = i;
            gp->vram_bytes = g[i].vram_bytes;
            gp->h2d_bps = g[i].h2d_bps;
            ld->gpu_src[gi] = (struct core_ld_src){g[i].src, g[i].src, idx, NULL};
        }
    }
    free(g);
}

static void parse_cluster(struct core_ld *ld, struct fy_node *n)
{
    struct core_ld_field f[2] = {{.name = "nodes"}, {.name = "stores"}};
    if (!core_ld_fields(ld, n, "cluster", f, 2, "a mapping with key nodes")) return;
    if (f[1].key) core_ld_stores(ld, f[1].val);
    if (!f[0].key) {
        core_ld_err(ld, n, NULL, "cluster", "missing key 'nodes' (a list of nodes)");
        return;
    }
    struct fy_node *list = f[0].val;
    if (!nonempty_list(ld, list, f[0].key, NULL, "cluster.nodes", "a list of nodes (at least one)"))
        return;
    int node_cap = 0, gpu_cap = 0;
    void *it = NULL;
    struct fy_node *e;
    for (int i = 0; (e = fy_node_sequence_iterate(list, &it)) && !ld->nomem && !ld->stopped; i++)
        parse_node_entry(ld, e, i, &node_cap, &gpu_cap);
}

/* ---- models ---------------------------------------------------------------- */

static const char *const priority_names[] = {"low", "normal", "high", "critical", NULL};
static const char *const standby_names[] = {"cold", "warm", "hot", "sleep", NULL};
static const char *const when_names[] = {"before", "after", NULL};

static void parse_priority(struct core_ld *ld, struct fy_node *n, const char *path, int *out)
{
    /* A leading digit or minus sign: an integer priority; else a name. */
    if (n && fy_node_is_scalar(n) && !fy_node_is_alias(n)) {
        size_t len;
        const char *s = fy_node_get_scalar(n, &len);
        if (s && len > 0 && ((s[0] >= '0' && s[0] <= '9') || s[0] == '-')) {
            int64_t v;
            if (core_ld_int(ld, n, path, -1000000, 1000000, &v)) *out = (int)v;
            return;
        }
    }
    int idx;
    if (core_ld_choice(ld, n, path, priority_names, &idx)) *out = idx;
}

static struct core_phase_spec *parse_phases(struct core_ld *ld, struct fy_node *list,
                                            const char *path, int *count)
{
    *count = 0;
    if (!list || !fy_node_is_sequence(list)) {
        char found[80];
        core_ld_describe(list, found, sizeof found);
        core_ld_err(ld, list, NULL, path, "expected a list of phases, found %s", found);
        return NULL;
    }
    int n = item_count(list);
    if (n == 0) return NULL;
    if (n > CORE_LD_MAX_PHASES) {
        core_ld_err(ld, list, NULL, path, "expected at most %d phases, found %d",
                    CORE_LD_MAX_PHASES, n);
        return NULL;
    }
    struct core_phase_spec *ph = calloc((size_t)n, sizeof *ph);
    if (!ph) {
        ld->nomem = true;
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        char p[240], sub[280];
        snprintf(p, sizeof p, "%s[%d]", path, i);
        struct fy_node *e = fy_node_sequence_get_by_index(list, i);
        enum { NAME, WHEN, CPU, WAIT, HIT, HIT_CPU, HIT_WAIT, NF };
        struct core_ld_field f[NF] = {
            {.name = "name"},      {.name = "when"},    {.name = "cpu"},     {.name = "wait"},
            {.name = "cache_hit"}, {.name = "hit_cpu"}, {.name = "hit_wait"}};
        if (!core_ld_fields(ld, e, p, f, NF,
                            "a phase {name: compile, when: after, cpu: 20s} or {..., wait: 3s}"))
            continue;
        struct core_phase_spec *x = &ph[i];
        if (!f[NAME].key) {
            core_ld_err(ld, e, NULL, p, "missing key 'name'");
        } else {
            snprintf(sub, sizeof sub, "%s.name", p);
            if (core_ld_name(ld, f[NAME].val, sub, x->name))
                for (int j = 0; j < i; j++)
                    if (!strcmp(ph[j].name, x->name))
                        core_ld_err(ld, f[NAME].val, NULL, sub,
                                    "duplicate phase name '%s' (also %s[%d])", x->name, path, j);
        }
        if (f[WHEN].key) {
            int w;
            snprintf(sub, sizeof sub, "%s.when", p);
            if (core_ld_choice(ld, f[WHEN].val, sub, when_names, &w))
                x->when = w ? CORE_PHASE_AFTER_COPY : CORE_PHASE_BEFORE_COPY;
        }
        if (!!f[CPU].key == !!f[WAIT].key) {
            core_ld_err(ld, e, NULL, p,
                        f[CPU].key ? "give either 'cpu' (core-time) or 'wait' (a fixed wait), "
                                     "not both"
                                   : "missing key 'cpu' (core-time, such as 8s) or 'wait' (a "
                                     "fixed wait)");
        } else {
            x->cpu = f[CPU].key != NULL;
            snprintf(sub, sizeof sub, "%s.%s", p, x->cpu ? "cpu" : "wait");
            core_ld_dist(ld, x->cpu ? f[CPU].val : f[WAIT].val, sub, false, &x->work);
        }
        struct core_ld_field *hit = x->cpu ? &f[HIT_CPU] : &f[HIT_WAIT];
        struct core_ld_field *other = x->cpu ? &f[HIT_WAIT] : &f[HIT_CPU];
        if (other->key && (f[CPU].key || f[WAIT].key)) {
            snprintf(sub, sizeof sub, "%s.%s", p, other->name);
            core_ld_err(ld, other->key, e, sub, "a %s phase takes '%s', not '%s'",
                        x->cpu ? "cpu" : "wait", hit->name, other->name);
        }
        if (f[HIT].key) {
            snprintf(sub, sizeof sub, "%s.cache_hit", p);
            core_ld_probability(ld, f[HIT].val, sub, &x->cache_hit_probability);
            if (!hit->key)
                core_ld_err(ld, f[HIT].key, e, sub,
                            "cache_hit needs '%s' (the work on a cache hit)", hit->name);
        }
        if (hit->key) {
            snprintf(sub, sizeof sub, "%s.%s", p, hit->name);
            if (!f[HIT].key)
                core_ld_err(ld, hit->key, e, sub, "%s needs 'cache_hit' (its probability)",
                            hit->name);
            else
                core_ld_dist(ld, hit->val, sub, true, &x->hit_work);
        }
    }
    *count = n;
    return ph;
}

struct core_phase_spec *core_ld_phases(struct core_ld *ld, struct fy_node *list, const char *path,
                                       int *count)
{
    return parse_phases(ld, list, path, count);
}

/* reserve = weights * pct / 100, to the nearest byte. */
static uint64_t reserve_of(uint64_t weights, double pct)
{
    long double r = (long double)weights * (long double)pct / 100.0L + 0.5L;
    return r >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)r;
}

static void parse_model_entry(struct core_ld *ld, struct fy_node *e, int idx, int *cap)
{
    struct core_spec *spec = ld->spec;
    char path[160], sub[200];
    snprintf(path, sizeof path, "models[%d]", idx);
    enum {
        NAME,
        COUNT,
        WEIGHTS,
        VRAM,
        RESERVE,
        PRIORITY,
        DEADLINE,
        PRELOAD,
        REPLICAS,
        STANDBY,
        PATH,
        PLACEMENT,
        PHASES,
        TP,
        PARAMS,
        DTYPE,
        ENGINE,
        WAKE,
        STORE,
        NF
    };
    struct core_ld_field f[NF] = {{.name = "name"},         {.name = "count"},
                                  {.name = "weights"},      {.name = "vram"},
                                  {.name = "vram_reserve"}, {.name = "priority"},
                                  {.name = "deadline"},     {.name = "preload_to_shm"},
                                  {.name = "replicas"},     {.name = "standby"},
                                  {.name = "path"},         {.name = "placement"},
                                  {.name = "phases"},       {.name = "tp"},
                                  {.name = "params"},       {.name = "dtype"},
                                  {.name = "engine"},       {.name = "wake"},
                                  {.name = "store"}};
    if (!core_ld_fields(ld, e, path, f, NF, "a model (a mapping with name, weights, ...)")) return;
    int before = ld->errors;
    struct core_model_spec t;
    memset(&t, 0, sizeof t);
    t.priority = 1;
    if (!f[NAME].key) {
        core_ld_err(ld, e, NULL, path, "missing key 'name'");
    } else {
        snprintf(sub, sizeof sub, "%s.name", path);
        core_ld_name(ld, f[NAME].val, sub, t.name);
    }
    int64_t count = 1;
    if (f[COUNT].key) {
        snprintf(sub, sizeof sub, "%s.count", path);
        if (!core_ld_int(ld, f[COUNT].val, sub, 1, CORE_LD_MAX_COUNT, &count))
            count = 0;
        else if (strlen(t.name) > 50)
            core_ld_err(ld, f[NAME].val, NULL, path,
                        "name too long to expand with count (at most 50 characters)");
    }
    if (f[PARAMS].key || f[DTYPE].key) {
        /* params x bytes per parameter of the dtype (scenario_models.c) */
        if (f[WEIGHTS].key) {
            snprintf(sub, sizeof sub, "%s.weights", path);
            core_ld_err(ld, f[WEIGHTS].key, e, sub,
                        "give 'weights' (a size) or 'params' with 'dtype', not both");
        } else {
            core_ld_model_params(ld, f[PARAMS].val, f[DTYPE].val, e, path, &t.weights_bytes);
        }
    } else if (!f[WEIGHTS].key) {
        core_ld_err(ld, e, NULL, path,
                    "missing key 'weights' (the weights' size, such as 14GiB); or give "
                    "params: 8B with dtype: bf16");
    } else {
        snprintf(sub, sizeof sub, "%s.weights", path);
        core_ld_size(ld, f[WEIGHTS].val, sub, 1, &t.weights_bytes);
    }
    struct fy_node *vram_node = f[WEIGHTS].val ? f[WEIGHTS].val : f[PARAMS].val;
    if (f[VRAM].key && f[RESERVE].key) {
        snprintf(sub, sizeof sub, "%s.vram_reserve", path);
        core_ld_err(ld, f[RESERVE].key, e, sub,
                    "give 'vram' (the whole footprint) or 'vram_reserve', not both");
    } else if (f[VRAM].key) {
        snprintf(sub, sizeof sub, "%s.vram", path);
        vram_node = f[VRAM].val;
        if (core_ld_size(ld, f[VRAM].val, sub, 1, &t.vram_bytes) && t.weights_bytes &&
            t.vram_bytes < t.weights_bytes) {
            char w[32], v[32];
            core_ld_fmt_bytes(t.weights_bytes, w, sizeof w);
            core_ld_fmt_bytes(t.vram_bytes, v, sizeof v);
            core_ld_err(ld, f[VRAM].val, NULL, sub,
                        "expected a footprint of at least the weights (%s), found %s", w, v);
        }
    } else {
        double pct = 10;
        uint64_t reserve = 0;
        bool is_pct = false;
        if (f[RESERVE].key) {
            snprintf(sub, sizeof sub, "%s.vram_reserve", path);
            vram_node = f[RESERVE].val;
            size_t len = 0;
            const char *s = f[RESERVE].val && fy_node_is_scalar(f[RESERVE].val)
                                ? fy_node_get_scalar(f[RESERVE].val, &len)
                                : NULL;
            if (s && len > 0 && s[len - 1] == '%') {
                is_pct = true;
                char buf[64];
                snprintf(buf, sizeof buf, "%.*s", (int)(len < 60 ? len - 1 : 60), s);
                char *end;
                pct = strtod(buf, &end);
                if (end == buf || *end || !(pct >= 0 && pct <= 1000)) {
                    char found[80];
                    core_ld_describe(f[RESERVE].val, found, sizeof found);
                    core_ld_err(ld, f[RESERVE].val, NULL, sub,
                                "expected a size such as 2GiB or a percentage of the weights "
                                "from 0%% to 1000%%, found %s",
                                found);
                    pct = 0;
                }
            } else {
                core_ld_size(ld, f[RESERVE].val, sub, 0, &reserve);
            }
        } else {
            is_pct = true;
        }
        if (is_pct) reserve = reserve_of(t.weights_bytes, pct);
        if (reserve > UINT64_MAX - t.weights_bytes) {
            core_ld_err(ld, vram_node, NULL, path, "weights plus reserve overflow 64 bits");
        } else {
            t.vram_bytes = t.weights_bytes + reserve;
        }
    }
    if (f[PRIORITY].key) {
        snprintf(sub, sizeof sub, "%s.priority", path);
        parse_priority(ld, f[PRIORITY].val, sub, &t.priority);
    }
    if (f[DEADLINE].key) {
        snprintf(sub, sizeof sub, "%s.deadline", path);
        core_ld_duration(ld, f[DEADLINE].val, sub, false, &t.deadline_ns);
    }
    if (f[PRELOAD].key) {
        snprintf(sub, sizeof sub, "%s.preload_to_shm", path);
        core_ld_bool(ld, f[PRELOAD].val, sub, &t.preload_to_shm);
    }
    if (f[STORE].key) {
        snprintf(sub, sizeof sub, "%s.store", path);
        core_ld_model_store(ld, f[STORE].val, sub, &t.store);
    }
    bool have_min = false, have_max = false;
    struct fy_node *max_node = NULL, *min_node = NULL;
    if (f[REPLICAS].key) {
        snprintf(sub, sizeof sub, "%s.replicas", path);
        struct fy_node *r = f[REPLICAS].val;
        if (r && fy_node_is_mapping(r)) {
            struct core_ld_field rf[2] = {{.name = "min"}, {.name = "max"}};
            core_ld_fields(ld, r, sub, rf, 2, "{min: 1, max: 3}");
            char p2[220];
            int64_t v;
            if (rf[0].key) {
                snprintf(p2, sizeof p2, "%s.min", sub);
                min_node = rf[0].val;
                if (core_ld_int(ld, rf[0].val, p2, 0, 100000, &v)) {
                    t.replicas_min = (int)v;
                    have_min = true;
                }
            }
            if (rf[1].key) {
                snprintf(p2, sizeof p2, "%s.max", sub);
                max_node = rf[1].val;
                if (core_ld_int(ld, rf[1].val, p2, 1, 100000, &v)) {
                    t.replicas_max = (int)v;
                    have_max = true;
                }
            }
            if (have_min && have_max && t.replicas_min > t.replicas_max) {
                snprintf(p2, sizeof p2, "%s.min", sub);
                core_ld_err(ld, min_node, NULL, p2, "min (%d) is greater than max (%d)",
                            t.replicas_min, t.replicas_max);
            }
        } else {
            int64_t v;
            min_node = max_node = r;
            if (core_ld_int(ld, r, sub, 1, 100000, &v)) {
                t.replicas_min = t.replicas_max = (int)v;
                have_min = have_max = true;
            }
        }
    }
    if (f[STANDBY].key) {
        int s;
        snprintf(sub, sizeof sub, "%s.standby", path);
        if (core_ld_choice(ld, f[STANDBY].val, sub, standby_names, &s))
            t.standby = (enum core_standby)s;
        /* sleeping keeps the weights in a node's host memory: with none
         * anywhere the standby would silently behave as cold */
        bool host = false;
        for (int n = 0; n < ld->spec->node_count; n++)
            host = host || ld->spec->nodes[n].host_memory_bytes > 0;
        if (t.standby == CORE_STANDBY_SLEEP && ld->cluster_ok && !host)
            core_ld_err(ld, f[STANDBY].val, NULL, sub,
                        "standby: sleep keeps weights in host memory, but no node sets "
                        "host_memory (e.g. cluster.nodes[0].host_memory: 512GiB)");
    }
    char wpath[4096] = "";
    if (f[PATH].key) {
        snprintf(sub, sizeof sub, "%s.path", path);
        core_ld_string(ld, f[PATH].val, sub, wpath, sizeof wpath,
                       "a path to a .safetensors file or a folder of shards");
    }
    /* Placement: GPU references, resolved now (the cluster is parsed first). */
    int place_n = 0;
    int *place = NULL;
    if (f[PLACEMENT].key) {
        snprintf(sub, sizeof sub, "%s.placement", path);
        struct fy_node *pl = f[PLACEMENT].val;
        bool list = pl && fy_node_is_sequence(pl);
        place_n = list ? item_count(pl) : 1;
        if (list && place_n > 100000) place_n = 0;
        place = place_n ? calloc((size_t)place_n, sizeof *place) : NULL;
        if (place_n && !place) {
            ld->nomem = true;
            place_n = 0;
        }
        void *pl_it = NULL;
        for (int i = 0; i < place_n; i++) {
            char p2[220], ref[CORE_NAME_MAX * 2];
            struct fy_node *it = list ? fy_node_sequence_iterate(pl, &pl_it) : pl;
            if (list)
                snprintf(p2, sizeof p2, "%s[%d]", sub, i);
            else
                snprintf(p2, sizeof p2, "%s", sub);
            place[i] = -1;
            if (!core_ld_string(ld, it, p2, ref, sizeof ref,
                                "a GPU (its name, such as primary/gpu0, or node/index)"))
                continue;
            if (!ld->cluster_ok) continue; /* the GPU may be in a broken node */
            place[i] = core_ld_find_gpu(spec, ld->gpu_ix, ld->node_ix, ref);
            if (place[i] < 0) unknown_gpu(ld, it, p2, ref);
        }
        if (count > 1 && place_n != count && ld->errors == before)
            core_ld_err(ld, pl, NULL, sub,
                        "with count %lld, placement lists one GPU per model (%lld), found %d",
                        (long long)count, (long long)count, place_n);
    }
    int per_model_place = count > 1 ? (place_n ? 1 : 0) : place_n;
    if (!have_max) {
        int m = 1;
        if (have_min && t.replicas_min > m) m = t.replicas_min;
        if (per_model_place > m) m = per_model_place;
        t.replicas_max = m;
    } else if (per_model_place > t.replicas_max) {
        core_ld_err(ld, max_node, NULL, path,
                    "placement starts %d instances but replicas max is %d", per_model_place,
                    t.replicas_max);
    }
    if (f[TP].key) core_ld_model_tp(ld, f[TP].val, f[PLACEMENT].val, path, &t);
    t.wake.kind = CORE_DIST_FIXED;
    if (f[WAKE].key) {
        snprintf(sub, sizeof sub, "%s.wake", path);
        core_ld_dist(ld, f[WAKE].val, sub, true, &t.wake);
    }
    struct core_phase_spec *phases = NULL;
    int phase_n = 0;
    if (f[PHASES].key && f[ENGINE].key) {
        snprintf(sub, sizeof sub, "%s.engine", path);
        core_ld_err(ld, f[ENGINE].key, e, sub,
                    "give 'phases' or 'engine' (a preset of phases), not both");
    } else if (f[PHASES].key) {
        snprintf(sub, sizeof sub, "%s.phases", path);
        phases = parse_phases(ld, f[PHASES].val, sub, &phase_n);
    } else if (f[ENGINE].key) {
        snprintf(sub, sizeof sub, "%s.engine", path);
        core_ld_preset_engine(ld, f[ENGINE].val, sub, &phases, &phase_n);
    }
    if (ld->errors != before || ld->nomem || count == 0) {
        free(place);
        free(phases);
        return;
    }
    if (spec->model_count + count > CORE_LD_MAX_MODELS) {
        core_ld_err(ld, f[COUNT].val ? f[COUNT].val : e, NULL, path,
                    "too many models: at most %d in a scenario (after count expansion)",
                    CORE_LD_MAX_MODELS);
        free(place);
        free(phases);
        return;
    }
    int old_cap = *cap;
    if (!grow(ld, (void **)&spec->models, cap, spec->model_count + (int)count,
              sizeof *spec->models)) {
        free(place);
        free(phases);
        return;
    }
    if (*cap != old_cap) {
        struct core_ld_src *ms = realloc(ld->model_src, (size_t)*cap * sizeof *ms);
        struct fy_node **mv = ms ? realloc(ld->model_vram_node, (size_t)*cap * sizeof *mv) : NULL;
        if (ms) ld->model_src = ms;
        if (mv) ld->model_vram_node = mv;
        if (!ms || !mv) {
            ld->nomem = true;
            free(place);
            free(phases);
            return;
        }
    }
    snprintf(t.group, sizeof t.group, "%s", t.name);
    if (wpath[0]) {
        size_t wl = strlen(wpath);
        t.weights_kind = wl > 12 && !strcmp(wpath + wl - 12, ".safetensors")
                             ? CORE_WEIGHTS_SAFETENSORS
                             : CORE_WEIGHTS_SHARDS;
    }
    for (int64_t k = 0; k < count && !ld->nomem; k++) {
        int mi = spec->model_count++;
        struct core_model_spec *m = &spec->models[mi];
        *m = t;
        if (f[COUNT].key) snprintf(m->name, sizeof m->name, "%.50s-%d", t.group, (int)k);
        m->weights_path = wpath[0] ? resolve_path(ld, wpath) : NULL;
        if (phase_n) {
            m->phases = malloc((size_t)phase_n * sizeof *m->phases);
            if (m->phases) {
                memcpy(m->phases, phases, (size_t)phase_n * sizeof *m->phases);
                m->phase_count = phase_n;
            } else {
                ld->nomem = true;
            }
        }
        int pn = per_model_place;
        if (pn) {
            m->initial_gpus = malloc((size_t)pn * sizeof *m->initial_gpus);
            if (m->initial_gpus) {
                if (count > 1)
                    m->initial_gpus[0] = place[k];
                else
                    memcpy(m->initial_gpus, place, (size_t)pn * sizeof *place);
                m->initial_gpu_count = pn;
            } else {
                ld->nomem = true;
            }
        }
        ld->model_src[mi] = (struct core_ld_src){e, f[NAME].val, idx, f[PLACEMENT].val};
        ld->model_vram_node[mi] = vram_node;
    }
    free(place);
    free(phases);
}

static void parse_models(struct core_ld *ld, struct fy_node *list)
{
    if (!nonempty_list(ld, list, NULL, NULL, "models", "a list of models (at least one)")) return;
    int cap = 0;
    void *it = NULL;
    struct fy_node *e;
    for (int i = 0; (e = fy_node_sequence_iterate(list, &it)) && !ld->nomem && !ld->stopped; i++)
        parse_model_entry(ld, e, i, &cap);
}

/* ---- workload ------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_burst(const void *a, const void *b)
{
    const struct core_burst *x = a, *y = b;
    return x->at_ns < y->at_ns ? -1 : x->at_ns > y->at_ns;
}

/* The length of a `times:` or `bursts:` list, or 0 after an error (not a
 * list, empty, or more arrivals than the scenario may hold). */
static int arrival_list(struct core_ld *ld, struct fy_node *key, struct fy_node *l,
                        struct fy_node *owner, const char *path, const char *what)
{
    if (!nonempty_list(ld, l, key, owner, path, what)) return 0;
    int c = item_count(l);
    if (ld->arrivals_total + c > CORE_LD_MAX_ARRIVALS) {
        core_ld_err(ld, l, NULL, path, "more than %d arrivals in the scenario",
                    CORE_LD_MAX_ARRIVALS);
        return 0;
    }
    return c;
}

/* The arrivals of one workload entry; a trace is shared among its `count`
 * models (first ..) as per_model[] says. */
static bool parse_arrivals(struct core_ld *ld, struct fy_node *n, const char *path,
                           struct core_workload_spec *w, int first, int count,
                           struct core_trace_spec *per_model)
{
    enum { POISSON, START, END, TIMES, BURSTS, TRACE, RATE, DIURNAL, NF };
    struct core_ld_field f[NF] = {{.name = "poisson"}, {.name = "start"},  {.name = "end"},
                                  {.name = "times"},   {.name = "bursts"}, {.name = "trace"},
                                  {.name = "rate"},    {.name = "diurnal"}};
    if (!core_ld_fields(ld, n, path, f, NF,
                        "arrivals: {poisson: 2/s}, {rate: [{until: 6h, rate: 1/s}, ...]}, "
                        "{diurnal: {...}}, {times: [0s, 10s]}, {bursts: [{at: 0s, count: 8}]} or "
                        "{trace: file.csv}"))
        return false;
    int before = ld->errors;
    int kinds = !!f[POISSON].key + !!f[TIMES].key + !!f[BURSTS].key + !!f[TRACE].key +
                !!f[RATE].key + !!f[DIURNAL].key;
    if (kinds != 1) {
        core_ld_err(ld, n, NULL, path,
                    kinds ? "give one of poisson, rate, diurnal, times, bursts or trace, not "
                            "several"
                          : "missing key: one of poisson, rate, diurnal, times, bursts or trace");
        return false;
    }
    char sub[240];
    bool rated = f[POISSON].key || f[RATE].key || f[DIURNAL].key;
    if (!rated)
        for (int i = START; i <= END; i++)
            if (f[i].key) {
                snprintf(sub, sizeof sub, "%s.%s", path, f[i].name);
                core_ld_err(ld, f[i].key, n, sub,
                            "%s applies to poisson, rate and diurnal arrivals only (a trace "
                            "has its own start)",
                            f[i].name);
            }
    if (rated) {
        w->arrivals = CORE_ARRIVAL_POISSON;
        snprintf(sub, sizeof sub, "%s.%s", path,
                 f[POISSON].key ? "poisson"
                 : f[RATE].key  ? "rate"
                                : "diurnal");
        if (f[POISSON].key)
            core_ld_rate(ld, f[POISSON].val, sub, false, &w->rate_per_s);
        else if (f[RATE].key)
            core_ld_rate_pieces(ld, f[RATE].val, sub, w);
        else
            core_ld_diurnal(ld, f[DIURNAL].val, sub, w);
        if (f[START].key) {
            snprintf(sub, sizeof sub, "%s.start", path);
            core_ld_duration(ld, f[START].val, sub, true, &w->start_ns);
        }
        if (f[END].key) {
            snprintf(sub, sizeof sub, "%s.end", path);
            if (core_ld_duration(ld, f[END].val, sub, false, &w->end_ns) &&
                w->end_ns <= w->start_ns)
                core_ld_err(ld, f[END].val, NULL, sub, "expected end after start");
        }
    } else if (f[TIMES].key) {
        w->arrivals = CORE_ARRIVAL_TIMES;
        snprintf(sub, sizeof sub, "%s.times", path);
        struct fy_node *l = f[TIMES].val;
        int c = arrival_list(ld, f[TIMES].key, l, n, sub, "a list of times such as [0s, 10s]");
        if (!c) return false;
        w->times_ns = calloc((size_t)c, sizeof *w->times_ns);
        if (!w->times_ns) {
            ld->nomem = true;
            return false;
        }
        w->time_count = c;
        void *it = NULL;
        struct fy_node *x;
        for (int i = 0; (x = fy_node_sequence_iterate(l, &it)); i++) {
            char p2[260];
            snprintf(p2, sizeof p2, "%s[%d]", sub, i);
            core_ld_duration(ld, x, p2, true, &w->times_ns[i]);
            if (ld->stopped) break;
        }
        qsort(w->times_ns, (size_t)c, sizeof *w->times_ns, cmp_i64);
    } else if (f[BURSTS].key) {
        w->arrivals = CORE_ARRIVAL_BURSTS;
        snprintf(sub, sizeof sub, "%s.bursts", path);
        struct fy_node *l = f[BURSTS].val;
        int c = arrival_list(ld, f[BURSTS].key, l, n, sub,
                             "a list of bursts such as [{at: 0s, count: 8}]");
        if (!c) return false;
        w->bursts = calloc((size_t)c, sizeof *w->bursts);
        if (!w->bursts) {
            ld->nomem = true;
            return false;
        }
        w->burst_count = c;
        void *it = NULL;
        struct fy_node *x;
        for (int i = 0; (x = fy_node_sequence_iterate(l, &it)) && !ld->stopped; i++) {
            char p2[260], p3[280];
            snprintf(p2, sizeof p2, "%s[%d]", sub, i);
            struct core_ld_field bf[2] = {{.name = "at"}, {.name = "count"}};
            if (!core_ld_fields(ld, x, p2, bf, 2, "a burst {at: 0s, count: 8}")) continue;
            if (!bf[0].key || !bf[1].key) {
                core_ld_err(ld, x, NULL, p2, "missing key '%s'", bf[0].key ? "count" : "at");
                continue;
            }
            snprintf(p3, sizeof p3, "%s.at", p2);
            core_ld_duration(ld, bf[0].val, p3, true, &w->bursts[i].at_ns);
            snprintf(p3, sizeof p3, "%s.count", p2);
            int64_t v;
            if (core_ld_int(ld, bf[1].val, p3, 1, CORE_LD_MAX_BURST, &v))
                w->bursts[i].count = (int)v;
        }
        qsort(w->bursts, (size_t)c, sizeof *w->bursts, cmp_burst);
    } else {
        snprintf(sub, sizeof sub, "%s.trace", path);
        core_ld_trace(ld, f[TRACE].val, sub, w, first, count, per_model);
    }
    ld->arrivals_total += w->time_count + w->burst_count;
    return ld->errors == before;
}

static void free_workload(struct core_workload_spec *w)
{
    free(w->times_ns);
    free(w->bursts);
    free(w->trace_path);
    free(w->trace.id);
    free(w->rate_segs);
    w->times_ns = NULL;
    w->bursts = NULL;
    w->trace_path = NULL;
    w->trace.id = NULL;
    w->rate_segs = NULL;
}

/* The models a workload names: a model, or every model of an entry (group).
 * Returns the first index and the count (0 after an error). */
static int resolve_model_ref(struct core_ld *ld, struct fy_node *at, const char *path,
                             const char *ref, int *first)
{
    struct core_spec *spec = ld->spec;
    int mi = core_name_ix_find(ld->model_ix, spec->model_count, ref);
    if (mi >= 0) {
        *first = mi;
        return 1;
    }
    /* Models of one entry are contiguous: find the first and the last. */
    int lo = -1, n = 0;
    for (int i = 0; i < spec->model_count; i++)
        if (!strcmp(spec->models[i].group, ref)) {
            if (lo < 0) lo = i;
            n++;
        } else if (lo >= 0) {
            break;
        }
    if (lo >= 0) {
        *first = lo;
        return n;
    }
    struct core_suggest sg;
    core_suggest_init(&sg, ref);
    const char *last_group = "";
    for (int i = 0; i < spec->model_count; i++) {
        if (strcmp(spec->models[i].group, last_group)) {
            last_group = spec->models[i].group;
            core_suggest_offer(&sg, last_group);
        }
        core_suggest_offer(&sg, spec->models[i].name);
    }
    if (core_suggest_result(&sg))
        core_ld_err(ld, at, NULL, path, "unknown model '%s'; did you mean '%s'?", ref,
                    core_suggest_result(&sg));
    else
        core_ld_err(ld, at, NULL, path, "unknown model '%s' (not a model name nor an entry name)",
                    ref);
    return 0;
}

/* Frees an entry's template, its models' trace shares and services. */
static void drop_entry(struct core_workload_spec *t, struct core_trace_spec *per_model, int n,
                       struct core_dist *svc)
{
    free(svc);
    for (int k = 0; k < n; k++)
        free(per_model[k].id);
    free(per_model);
    free_workload(t);
}

static void parse_workload_entry(struct core_ld *ld, struct fy_node *e, int idx, int *cap)
{
    struct core_spec *spec = ld->spec;
    char path[160], sub[200];
    snprintf(path, sizeof path, "workload[%d]", idx);
    enum { MODEL, ARRIVALS, SERVICE, CONCURRENCY, NF };
    struct core_ld_field f[NF] = {
        {.name = "model"}, {.name = "arrivals"}, {.name = "service"}, {.name = "concurrency"}};
    if (!core_ld_fields(ld, e, path, f, NF, "a workload (a mapping with model, arrivals, ...)"))
        return;
    int before = ld->errors;
    struct core_workload_spec t;
    memset(&t, 0, sizeof t);
    t.concurrency = 1;
    int first = 0, n = 0;
    char ref[CORE_NAME_MAX * 2];
    if (!f[MODEL].key) {
        core_ld_err(ld, e, NULL, path, "missing key 'model' (a model or an entry name)");
    } else {
        snprintf(sub, sizeof sub, "%s.model", path);
        if (core_ld_string(ld, f[MODEL].val, sub, ref, sizeof ref, "a model name") && ld->models_ok)
            n = resolve_model_ref(ld, f[MODEL].val, sub, ref, &first);
    }
    snprintf(sub, sizeof sub, "%s.arrivals", path);
    struct core_dist *svc = NULL; /* per model, from a durations file */
    struct core_trace_spec *per_model = calloc(n > 0 ? (size_t)n : 1, sizeof *per_model);
    if (!per_model) {
        ld->nomem = true;
        return;
    }
    if (!f[ARRIVALS].key)
        core_ld_err(ld, e, NULL, path, "missing key 'arrivals'");
    else
        parse_arrivals(ld, f[ARRIVALS].val, sub, &t, first, n, per_model);
    if (!f[SERVICE].key) {
        core_ld_err(ld, e, NULL, path, "missing key 'service' (service time, such as 200ms)");
    } else if (core_ld_is_durations_service(f[SERVICE].val)) {
        snprintf(sub, sizeof sub, "%s.service", path);
        svc = calloc(n > 0 ? (size_t)n : 1, sizeof *svc);
        if (!svc)
            ld->nomem = true;
        else if (ld->errors == before)
            core_ld_durations_service(ld, f[SERVICE].val, sub, &t, first, per_model, n, svc);
        t.service = (struct core_dist){.kind = CORE_DIST_FIXED, .mean_ns = 1000000};
    } else if (core_ld_is_token_service(f[SERVICE].val)) {
        snprintf(sub, sizeof sub, "%s.service", path);
        if (core_ld_token_service(ld, f[SERVICE].val, sub, &t.tokens)) {
            t.service = (struct core_dist){.kind = CORE_DIST_FIXED, .mean_ns = t.tokens.fixed_ns};
            if (t.arrivals != CORE_ARRIVAL_TRACE || !t.trace.has_tokens)
                core_ld_err(ld, f[SERVICE].val, NULL, sub,
                            "service from tokens needs a trace with token counts (format "
                            "azure-llm or jsonl)");
        }
    } else {
        snprintf(sub, sizeof sub, "%s.service", path);
        core_ld_dist(ld, f[SERVICE].val, sub, false, &t.service);
    }
    if (f[CONCURRENCY].key) {
        int64_t v;
        snprintf(sub, sizeof sub, "%s.concurrency", path);
        if (core_ld_int(ld, f[CONCURRENCY].val, sub, 1, 1000000, &v)) t.concurrency = (int)v;
    }
    if (ld->errors != before || n == 0 || ld->nomem) {
        drop_entry(&t, per_model, n, svc);
        return;
    }
    if (spec->workload_count + n > CORE_LD_MAX_WORKLOADS ||
        ld->arrivals_total + (int64_t)(n - 1) * (t.time_count + t.burst_count) >
            CORE_LD_MAX_ARRIVALS) {
        core_ld_err(ld, f[MODEL].val, NULL, path,
                    "too many workloads or arrivals (at most %d workloads, %d arrivals)",
                    CORE_LD_MAX_WORKLOADS, CORE_LD_MAX_ARRIVALS);
        drop_entry(&t, per_model, n, svc);
        return;
    }
    ld->arrivals_total += (int64_t)(n - 1) * (t.time_count + t.burst_count);
    if (!grow(ld, (void **)&spec->workloads, cap, spec->workload_count + n,
              sizeof *spec->workloads)) {
        drop_entry(&t, per_model, n, svc);
        return;
    }
    if (ld->wl_src_cap < spec->workload_count + n) {
        int c = ld->wl_src_cap ? ld->wl_src_cap : 16;
        while (c < spec->workload_count + n)
            c *= 2;
        struct core_ld_wl_src *g = realloc(ld->wl_src, (size_t)c * sizeof *g);
        if (!g) {
            ld->nomem = true;
            free_workload(&t);
            return;
        }
        ld->wl_src = g;
        ld->wl_src_cap = c;
    }
    for (int k = 0; k < n && !ld->nomem; k++) {
        ld->wl_src[spec->workload_count] = (struct core_ld_wl_src){
            e, f[ARRIVALS].val, f[CONCURRENCY].key ? f[CONCURRENCY].val : NULL, idx};
        struct core_workload_spec *w = &spec->workloads[spec->workload_count++];
        *w = t;
        w->model = first + k;
        w->times_ns = NULL;
        w->bursts = NULL;
        w->trace_path = NULL;
        w->rate_segs = NULL;
        if (t.arrivals == CORE_ARRIVAL_TRACE) {
            w->trace = per_model[k];
            per_model[k].id = NULL;
        }
        if (svc) w->service = svc[k];
        if (t.rate_seg_count) {
            w->rate_segs = malloc((size_t)t.rate_seg_count * sizeof *w->rate_segs);
            if (w->rate_segs)
                memcpy(w->rate_segs, t.rate_segs, (size_t)t.rate_seg_count * sizeof *w->rate_segs);
            else
                ld->nomem = true;
        }
        if (t.time_count) {
            w->times_ns = malloc((size_t)t.time_count * sizeof *w->times_ns);
            if (w->times_ns)
                memcpy(w->times_ns, t.times_ns, (size_t)t.time_count * sizeof *w->times_ns);
        }
        if (t.burst_count) {
            w->bursts = malloc((size_t)t.burst_count * sizeof *w->bursts);
            if (w->bursts) memcpy(w->bursts, t.bursts, (size_t)t.burst_count * sizeof *w->bursts);
        }
        if (t.trace_path) w->trace_path = dup_str(ld, t.trace_path);
        if ((t.time_count && !w->times_ns) || (t.burst_count && !w->bursts)) ld->nomem = true;
    }
    drop_entry(&t, per_model, n, svc);
}

/* ---- faults ---------------------------------------------------------------- */

static void parse_fault_entry(struct core_ld *ld, struct fy_node *e, int idx, int *cap)
{
    struct core_spec *spec = ld->spec;
    char path[160], sub[200];
    snprintf(path, sizeof path, "faults[%d]", idx);
    enum { GPU, NODE, AT, MTBF, RECOVER, NF };
    struct core_ld_field f[NF] = {{.name = "gpu"},
                                  {.name = "node"},
                                  {.name = "at"},
                                  {.name = "mtbf"},
                                  {.name = "recover_after"}};
    if (!core_ld_fields(ld, e, path, f, NF, "a fault (a mapping with gpu or node, and at or mtbf)"))
        return;
    int before = ld->errors;
    struct core_fault_spec t;
    memset(&t, 0, sizeof t);
    t.gpu = -1;
    t.node = -1;
    char ref[CORE_NAME_MAX * 2];
    if (!!f[GPU].key == !!f[NODE].key) {
        core_ld_err(ld, e, NULL, path,
                    f[GPU].key ? "give 'gpu' or 'node', not both"
                               : "missing key 'gpu' (a GPU name or node/index) or 'node'");
    } else if (f[GPU].key) {
        t.target = CORE_FAULT_GPU;
        snprintf(sub, sizeof sub, "%s.gpu", path);
        if (core_ld_string(ld, f[GPU].val, sub, ref, sizeof ref,
                           "a GPU (its name, such as primary/gpu0, or node/index)") &&
            ld->cluster_ok) {
            t.gpu = core_ld_find_gpu(spec, ld->gpu_ix, ld->node_ix, ref);
            if (t.gpu < 0)
                unknown_gpu(ld, f[GPU].val, sub, ref);
            else
                t.node = spec->gpus[t.gpu].node;
        }
    } else {
        t.target = CORE_FAULT_NODE;
        snprintf(sub, sizeof sub, "%s.node", path);
        if (core_ld_string(ld, f[NODE].val, sub, ref, sizeof ref, "a node name or index") &&
            ld->cluster_ok) {
            t.node = core_name_ix_find(ld->node_ix, spec->node_count, ref);
            int64_t v;
            if (t.node < 0 && ref[0] >= '0' && ref[0] <= '9' &&
                core_units_int(ref, 0, spec->node_count - 1, &v) == CORE_UNIT_OK)
                t.node = (int)v;
            if (t.node < 0) {
                struct core_suggest sg;
                core_suggest_init(&sg, ref);
                for (int i = 0; i < spec->node_count; i++)
                    core_suggest_offer(&sg, spec->nodes[i].name);
                if (core_suggest_result(&sg))
                    core_ld_err(ld, f[NODE].val, NULL, sub, "unknown node '%s'; did you mean '%s'?",
                                ref, core_suggest_result(&sg));
                else
                    core_ld_err(ld, f[NODE].val, NULL, sub,
                                "unknown node '%s' (a node name, or an index from 0 to %d)", ref,
                                spec->node_count - 1);
            }
        }
    }
    if (!!f[AT].key == !!f[MTBF].key) {
        core_ld_err(ld, e, NULL, path,
                    f[AT].key ? "give 'at' (one fault) or 'mtbf' (recurring), not both"
                              : "missing key 'at' (a time such as 10s) or 'mtbf'");
    } else if (f[AT].key) {
        snprintf(sub, sizeof sub, "%s.at", path);
        core_ld_duration(ld, f[AT].val, sub, true, &t.at_ns);
    } else {
        t.at_ns = -1;
        snprintf(sub, sizeof sub, "%s.mtbf", path);
        core_ld_duration(ld, f[MTBF].val, sub, false, &t.mtbf_ns);
    }
    if (f[RECOVER].key) {
        snprintf(sub, sizeof sub, "%s.recover_after", path);
        core_ld_duration(ld, f[RECOVER].val, sub, false, &t.recover_after_ns);
    }
    if (ld->errors != before || t.node < 0) return;
    if (spec->fault_count >= CORE_LD_MAX_FAULTS) {
        core_ld_err(ld, e, NULL, path, "too many faults (at most %d)", CORE_LD_MAX_FAULTS);
        return;
    }
    if (!grow(ld, (void **)&spec->faults, cap, spec->fault_count + 1, sizeof *spec->faults)) return;
    spec->faults[spec->fault_count++] = t;
}

static void parse_list(struct core_ld *ld, struct fy_node *list, const char *name,
                       void (*entry)(struct core_ld *, struct fy_node *, int, int *))
{
    if (core_ld_is_null(list)) return; /* an empty section */
    if (!fy_node_is_sequence(list)) {
        char found[80];
        core_ld_describe(list, found, sizeof found);
        core_ld_err(ld, list, NULL, name, "expected a list, found %s", found);
        return;
    }
    int cap = 0;
    void *it = NULL;
    struct fy_node *e;
    for (int i = 0; (e = fy_node_sequence_iterate(list, &it)) && !ld->nomem && !ld->stopped; i++)
        entry(ld, e, i, &cap);
}

/* ---- policy and run ---------------------------------------------------------- */

static void policy_defaults(struct core_policy_spec *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->queue, sizeof p->queue, "fifo");
    snprintf(p->placement, sizeof p->placement, "first_fit");
    snprintf(p->eviction, sizeof p->eviction, "lru");
    p->keep_alive_ns = 5 * 60 * 1000000000LL;
    snprintf(p->shm, sizeof p->shm, "off");
    snprintf(p->balancer, sizeof p->balancer, "lru");
    p->autoscale = false;
    p->autoscale_target = 4;
    p->autoscale_max_step = 2;
    p->autoscale_period_ns = 10 * 1000000000LL;
    p->max_loads_per_node = 0;
    p->max_loads_per_gpu = 1;
}

static void parse_policy_name(struct core_ld *ld, struct core_ld_field *f, const char *kind,
                              char *dst)
{
    if (!f->key) return;
    char sub[64];
    snprintf(sub, sizeof sub, "policy.%s", f->name);
    const char *const *names = core_policy_names(kind);
    int i;
    if (names && core_ld_choice(ld, f->val, sub, names, &i))
        snprintf(dst, CORE_NAME_MAX, "%s", names[i]);
}

static void parse_policy(struct core_ld *ld, struct fy_node *n)
{
    struct core_policy_spec *p = &ld->spec->policy;
    if (core_ld_is_null(n)) return;
    enum {
        QUEUE,
        AGING,
        PLACEMENT,
        EVICTION,
        KEEP,
        SHM,
        BALANCER,
        AUTOSCALER,
        PER_NODE,
        PER_GPU,
        PEER,
        NF
    };
    struct core_ld_field f[NF] = {{.name = "queue"},
                                  {.name = "aging"},
                                  {.name = "placement"},
                                  {.name = "eviction"},
                                  {.name = "keep_alive"},
                                  {.name = "shm"},
                                  {.name = "balancer"},
                                  {.name = "autoscaler"},
                                  {.name = "max_loads_per_node"},
                                  {.name = "max_loads_per_gpu"},
                                  {.name = "peer"}};
    if (!core_ld_fields(ld, n, "policy", f, NF, "a mapping of policy settings")) return;
    parse_policy_name(ld, &f[QUEUE], "queue", p->queue);
    parse_policy_name(ld, &f[PLACEMENT], "placement", p->placement);
    parse_policy_name(ld, &f[EVICTION], "eviction", p->eviction);
    parse_policy_name(ld, &f[SHM], "shm", p->shm);
    parse_policy_name(ld, &f[BALANCER], "balancer", p->balancer);
    if (f[AGING].key) core_ld_rate(ld, f[AGING].val, "policy.aging", true, &p->aging_per_s);
    if (f[KEEP].key)
        core_ld_duration(ld, f[KEEP].val, "policy.keep_alive", true, &p->keep_alive_ns);
    int64_t v;
    if (f[PER_NODE].key &&
        core_ld_int(ld, f[PER_NODE].val, "policy.max_loads_per_node", 0, 1000000, &v))
        p->max_loads_per_node = (int)v;
    if (f[PER_GPU].key &&
        core_ld_int(ld, f[PER_GPU].val, "policy.max_loads_per_gpu", 0, 1000000, &v))
        p->max_loads_per_gpu = (int)v;
    if (f[PEER].key) {
        static const char *const peer_names[] = {"off", "on", "false", "true", NULL};
        int i;
        if (core_ld_choice(ld, f[PEER].val, "policy.peer", peer_names, &i)) p->peer = i % 2 == 1;
    }
    if (f[AUTOSCALER].key) {
        struct fy_node *a = f[AUTOSCALER].val;
        if (a && fy_node_is_mapping(a)) {
            p->autoscale = true;
            struct core_ld_field af[3] = {
                {.name = "target"}, {.name = "max_step"}, {.name = "period"}};
            core_ld_fields(ld, a, "policy.autoscaler", af, 3,
                           "{target: 4, max_step: 2, period: 10s}");
            if (af[0].key)
                core_ld_number(ld, af[0].val, "policy.autoscaler.target", 0.001, 1e9,
                               &p->autoscale_target);
            if (af[1].key &&
                core_ld_int(ld, af[1].val, "policy.autoscaler.max_step", 1, 100000, &v))
                p->autoscale_max_step = (int)v;
            if (af[2].key)
                core_ld_duration(ld, af[2].val, "policy.autoscaler.period", false,
                                 &p->autoscale_period_ns);
        } else {
            static const char *const onoff[] = {"off", "on", "false", "true", NULL};
            int i;
            if (core_ld_choice(ld, a, "policy.autoscaler", onoff, &i)) p->autoscale = i % 2 == 1;
        }
    }
}

static void parse_run(struct core_ld *ld, struct fy_node *n)
{
    if (core_ld_is_null(n)) return;
    struct core_ld_field f[2] = {{.name = "duration"}, {.name = "seed"}};
    if (!core_ld_fields(ld, n, "run", f, 2, "a mapping {duration: 10m, seed: 42}")) return;
    if (f[0].key) core_ld_duration(ld, f[0].val, "run.duration", true, &ld->spec->duration_ns);
    int64_t v;
    if (f[1].key && core_ld_int(ld, f[1].val, "run.seed", 0, INT64_MAX, &v))
        ld->spec->seed = (uint64_t)v;
}

/* ---- the whole file ---------------------------------------------------------- */

static void walk(struct core_ld *ld, struct fy_node *root)
{
    enum { CLUSTER, MODELS, WORKLOAD, FAULTS, POLICY, RUN, PRESETS, INCLUDE, NF };
    struct core_ld_field f[NF] = {{.name = "cluster"}, {.name = "models"}, {.name = "workload"},
                                  {.name = "faults"},  {.name = "policy"}, {.name = "run"},
                                  {.name = "presets"}, {.name = "include"}}; /* include: scenario_include.c */
    if (!core_ld_fields(ld, root, "", f, NF,
                        "a mapping with sections cluster, models, workload, faults, policy, run"))
        return;
    core_ld_presets(ld, f[PRESETS].val, f[PRESETS].key);
    int before = ld->errors;
    if (!f[CLUSTER].key)
        core_ld_err(ld, root, NULL, "", "missing section 'cluster'");
    else
        parse_cluster(ld, f[CLUSTER].val);
    struct core_spec *spec = ld->spec;
    ld->cluster_ok = ld->errors == before && spec->node_count > 0 && !ld->nomem;
    if (spec->node_count > 0 && !ld->nomem) {
        ld->node_ix = core_name_ix_build(spec->nodes, sizeof *spec->nodes,
                                         offsetof(struct core_node_spec, name), spec->node_count);
        ld->gpu_ix = core_name_ix_build(spec->gpus, sizeof *spec->gpus,
                                        offsetof(struct core_gpu_spec, name), spec->gpu_count);
        if (!ld->node_ix || !ld->gpu_ix) ld->nomem = true;
    }
    before = ld->errors;
    if (!f[MODELS].key)
        core_ld_err(ld, root, NULL, "", "missing section 'models'");
    else
        parse_models(ld, f[MODELS].val);
    ld->models_ok = ld->errors == before && spec->model_count > 0 && !ld->nomem;
    if (spec->model_count > 0 && !ld->nomem) {
        ld->model_ix =
            core_name_ix_build(spec->models, sizeof *spec->models,
                               offsetof(struct core_model_spec, name), spec->model_count);
        if (!ld->model_ix) ld->nomem = true;
    }
    if (f[WORKLOAD].key) parse_list(ld, f[WORKLOAD].val, "workload", parse_workload_entry);
    if (f[FAULTS].key) parse_list(ld, f[FAULTS].val, "faults", parse_fault_entry);
    if (f[POLICY].key) parse_policy(ld, f[POLICY].val);
    if (f[RUN].key) parse_run(ld, f[RUN].val);
    if (!ld->nomem && !ld->stopped) core_ld_validate(ld);
}

static void parse_errors(struct core_ld *ld, struct fy_diag *diag)
{
    void *it = NULL;
    struct fy_diag_error *e;
    int n = 0;
    while ((e = fy_diag_errors_iterate(diag, &it))) {
        if (e->type < FYET_ERROR) continue;
        /* libfyaml's collected errors carry 1-based lines and columns. */
        core_ld_err_file(ld, e->line > 0 ? e->line : 0, e->line > 0 ? e->column : 0,
                         "YAML syntax: %s", e->msg ? e->msg : "error");
        n++;
    }
    if (n == 0)
        core_ld_err_file(ld, 0, 0,
                         "expected a YAML document (a mapping with cluster and models), found "
                         "none (the file is empty or holds only comments)");
}

/* Diagnostics in file order (line, column), then in the order found. */
static int cmp_diag(const void *a, const void *b)
{
    const struct core_diag *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->column != y->column) return x->column < y->column ? -1 : 1;
    return 0;
}

static void sort_diags(struct core_ld *ld)
{
    struct core_diags *d = ld->diags;
    int n = d->count - ld->first_diag - (ld->stopped ? 1 : 0);
    if (n < 2) return;
    /* Insertion sort: stable, and n is at most CORE_LD_MAX_DIAGS. */
    struct core_diag *items = d->items + ld->first_diag;
    for (int i = 1; i < n; i++) {
        struct core_diag x = items[i];
        int j = i - 1;
        while (j >= 0 && cmp_diag(&items[j], &x) > 0) {
            items[j + 1] = items[j];
            j--;
        }
        items[j + 1] = x;
    }
}

static void diag_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len; /* errors are collected and read back, never printed */
}

void core_spec_free(struct core_spec *spec)
{
    if (!spec) return;
    free(spec->path);
    free(spec->nodes);
    free(spec->gpus);
    for (int i = 0; i < spec->model_count; i++) {
        free(spec->models[i].weights_path);
        free(spec->models[i].phases);
        free(spec->models[i].initial_gpus);
    }
    free(spec->models);
    for (int i = 0; i < spec->workload_count; i++)
        free_workload(&spec->workloads[i]);
    free(spec->workloads);
    free(spec->faults);
    for (int i = 0; i < spec->preset_note_count; i++)
        free(spec->preset_notes[i]);
    free(spec->preset_notes);
    free(spec->stores);
    free(spec);
}

int core_spec_load(const char *path, const struct core_override *ovr, int ovr_count,
                   struct core_spec **out, struct core_diags *diags)
{
    if (out) *out = NULL;
    if (!path || !out || !diags || ovr_count < 0 || (ovr_count > 0 && !ovr)) return THAW_EINVAL;
    struct core_ld ld;
    memset(&ld, 0, sizeof ld);
    ld.file = path;
    ld.diags = diags;
    ld.first_diag = diags->count;
    ld.ovr = ovr;
    ld.ovr_count = ovr_count;
    int rc = 0;
    char *buf = NULL;
    size_t len = 0;
    struct fy_diag *fdiag = NULL;
    ld.spec = calloc(1, sizeof *ld.spec);
    ld.dir = strdup(path);
    if (!ld.spec || !ld.dir) {
        rc = THAW_ENOMEM;
        goto done;
    }
    char *slash = strrchr(ld.dir, '/');
    if (slash == ld.dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        ld.dir[0] = '\0';
    ld.spec->path = strdup(path);
    if (!ld.spec->path) {
        rc = THAW_ENOMEM;
        goto done;
    }
    ld.spec->seed = 1;
    policy_defaults(&ld.spec->policy);

    rc = read_file(path, CORE_LD_MAX_FILE_BYTES, &buf, &len);
    if (rc == THAW_ERANGE) {
        core_ld_err_file(&ld, 0, 0, "expected a scenario of at most %u MiB, found a larger file",
                         CORE_LD_MAX_FILE_BYTES >> 20);
        rc = THAW_EPARSE;
        goto done;
    }
    if (rc < 0) {
        char ebuf[128];
        if (rc == THAW_EIO)
            core_ld_err_file(&ld, 0, 0, "cannot read: %s", errno_text(errno, ebuf, sizeof ebuf));
        goto done;
    }
    core_sha256_hex(buf, len, ld.spec->sha256_hex);
    long bad = first_non_text((const unsigned char *)buf, len);
    if (bad >= 0) {
        int line, col;
        line_col_at(buf, (size_t)bad, &line, &col);
        core_ld_err_file(&ld, line, col,
                         "expected UTF-8 text, found byte 0x%02x (is this a binary file?)",
                         (unsigned char)buf[bad]);
        rc = THAW_EPARSE;
        goto done;
    }
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_output;
    dcfg.level = FYET_ERROR;
    dcfg.colorize = false;
    fdiag = fy_diag_create(&dcfg);
    if (!fdiag) {
        rc = THAW_ENOMEM;
        goto done;
    }
    fy_diag_set_collect_errors(fdiag, true);
    struct fy_parse_cfg pcfg;
    memset(&pcfg, 0, sizeof pcfg);
    /* libfyaml's own duplicate-key check is quadratic (100,000 keys take
     * minutes); core_ld_fields() reports duplicates of the keys it knows, and
     * any other key is an error anyway. */
    pcfg.flags =
        FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_ALLOW_DUPLICATE_KEYS;
    pcfg.diag = fdiag;
    ld.fyd = fy_document_build_from_string(&pcfg, buf, len);
    if (!ld.fyd) {
        parse_errors(&ld, fdiag);
        rc = THAW_EPARSE;
        goto done;
    }
    struct fy_node *root = fy_document_root(ld.fyd);
    if (!root) {
        parse_errors(&ld, fdiag);
        rc = THAW_EPARSE;
        goto done;
    }
    core_ld_apply_overrides(&ld);
    core_ld_include(&ld);
    walk(&ld, fy_document_root(ld.fyd));
    if (ld.nomem)
        rc = THAW_ENOMEM;
    else if (ld.errors)
        rc = THAW_EPARSE;

done:
    if (rc == 0 && ld.errors) rc = THAW_EPARSE;
    sort_diags(&ld);
    if (ld.fyd) fy_document_destroy(ld.fyd);
    if (fdiag) fy_diag_destroy(fdiag);
    free(buf);
    free(ld.dir);
    free(ld.node_src);
    free(ld.gpu_src);
    free(ld.model_src);
    free(ld.model_vram_node);
    free(ld.wl_src);
    free(ld.ovr_nodes);
    free(ld.node_ix);
    free(ld.gpu_ix);
    free(ld.model_ix);
    core_presets_free(ld.presets);
    if (rc < 0) {
        core_spec_free(ld.spec);
        return rc;
    }
    *out = ld.spec;
    return 0;
}

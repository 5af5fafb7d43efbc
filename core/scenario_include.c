/* scenario_include.c - `include: FILE` at the top of a scenario: a host
 * profile (as `thaw calibrate --probe` writes one) whose node keys apply to
 * every entry of cluster.nodes that does not set them itself.
 *
 * A profile is a mapping with an optional `include: FILE` of its own and a
 * `node:` mapping of storage_read, h2d, pcie_switch, verify and shm {read,
 * write, per_load}. Each value is checked in the profile (errors name the
 * profile's file:line:col), then copied as text into every node entry of
 * the scenario that lacks the key; shm keys only into an entry that has a
 * `shm:` mapping (a profile cannot give a node an shm tier: that needs its
 * size). Precedence: the scenario's own keys (and --set overrides, applied
 * before) over the profile's, a profile's over the ones it includes.
 * Relative paths are relative to the including file's folder; a missing
 * file or a cycle is an error at the include that names it. */
#include "scenario_internal.h"

#include <errno.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INC_MAX_DEPTH 16
#define INC_MAX_BYTES (1u << 20)

/* The keys a profile may give a node: a top-level key, or shm.<sub>. */
static const struct {
    const char *key, *sub;
} inc_keys[] = {{"storage_read", NULL}, {"h2d", NULL},    {"pcie_switch", NULL}, {"verify", NULL},
                {"shm", "read"},        {"shm", "write"}, {"shm", "per_load"}};
#define INC_NKEYS ((int)(sizeof inc_keys / sizeof inc_keys[0]))

struct inc_state {
    char *text[INC_NKEYS];          /* the value as written, from the nearest file */
    char *chain[INC_MAX_DEPTH + 1]; /* real paths of the files being read */
    int depth;
};

static char *dir_of(const char *path)
{
    char *d = strdup(path);
    if (!d) return NULL;
    char *slash = strrchr(d, '/');
    if (slash == d)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        d[0] = '\0';
    return d;
}

static char *join(const char *dir, const char *p)
{
    if (p[0] == '/' || !dir[0]) return strdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", dir, p);
    return out;
}

static void noop_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

/* Reads and parses one profile into a document that points into *bufp
 * (the caller frees it after the document); NULL after an error in `sub`. */
static struct fy_document *parse_profile(struct core_ld *sub, const char *path, char **bufp)
{
    *bufp = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        core_ld_err_file(sub, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(INC_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, INC_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf) {
        sub->nomem = true;
        return NULL;
    }
    if (n > INC_MAX_BYTES) {
        core_ld_err_file(sub, 0, 0,
                         "expected a host profile of at most 1 MiB, found a larger file");
        free(buf);
        return NULL;
    }
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = noop_output;
    dcfg.level = FYET_ERROR;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag) {
        free(buf);
        sub->nomem = true;
        return NULL;
    }
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg;
    memset(&pcfg, 0, sizeof pcfg);
    pcfg.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DEFAULT_VERSION_1_2;
    pcfg.diag = diag;
    struct fy_document *doc = fy_document_build_from_string(&pcfg, buf, n);
    *bufp = buf;
    if (!doc || !fy_document_root(doc)) {
        void *it = NULL;
        struct fy_diag_error *e;
        int errs = 0;
        while ((e = fy_diag_errors_iterate(diag, &it))) {
            if (e->type < FYET_ERROR) continue;
            core_ld_err_file(sub, e->line > 0 ? e->line : 0, e->line > 0 ? e->column : 0,
                             "YAML syntax: %s", e->msg ? e->msg : "error");
            errs++;
        }
        if (!errs)
            core_ld_err_file(sub, 0, 0,
                             "expected a host profile (a mapping with key node), found an "
                             "empty file");
        if (doc) fy_document_destroy(doc);
        doc = NULL;
    }
    fy_diag_destroy(diag);
    return doc;
}

static void read_include(struct core_ld *ld, struct inc_state *st, struct fy_node *at,
                         const char *path);

/* The `include:` value at `n` of the file read by ld: resolved against the
 * file's folder and read, unless missing or already on the chain. */
static void follow(struct core_ld *ld, struct inc_state *st, struct fy_node *n, const char *path)
{
    char rel[PATH_MAX];
    if (!core_ld_string(ld, n, path, rel, sizeof rel, "a file name (a host profile)")) return;
    char *full = join(ld->dir ? ld->dir : "", rel);
    if (!full) {
        ld->nomem = true;
        return;
    }
    read_include(ld, st, n, full);
    free(full);
}

static void read_include(struct core_ld *ld, struct inc_state *st, struct fy_node *at,
                         const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        core_ld_err(ld, at, NULL, "include", "cannot read include file '%s': %s", path,
                    strerror(errno));
        return;
    }
    for (int i = 0; i < st->depth; i++)
        if (!strcmp(st->chain[i], real)) {
            char msg[400] = "";
            for (int j = i; j <= st->depth; j++) {
                strncat(msg, j < st->depth ? st->chain[j] : real, sizeof msg - strlen(msg) - 1);
                if (j < st->depth) strncat(msg, " -> ", sizeof msg - strlen(msg) - 1);
            }
            core_ld_err(ld, at, NULL, "include", "include cycle: %s", msg);
            return;
        }
    if (st->depth >= INC_MAX_DEPTH) {
        core_ld_err(ld, at, NULL, "include", "includes nested more than %d deep", INC_MAX_DEPTH);
        return;
    }

    /* Diagnostics of the profile name the profile; the count and the
     * "too many errors" stop are the scenario's. */
    struct core_ld sub;
    memset(&sub, 0, sizeof sub);
    sub.file = path;
    sub.dir = dir_of(path);
    sub.diags = ld->diags;
    sub.first_diag = ld->first_diag;
    sub.errors = ld->errors;
    sub.stopped = ld->stopped;
    if (!sub.dir) {
        ld->nomem = true;
        return;
    }
    st->chain[st->depth] = strdup(real);
    if (!st->chain[st->depth]) {
        free(sub.dir);
        ld->nomem = true;
        return;
    }
    st->depth++;
    char *buf = NULL;
    struct fy_document *doc = parse_profile(&sub, path, &buf);
    struct fy_node *root = doc ? fy_document_root(doc) : NULL;
    enum { INCLUDE, NODE, NF };
    struct core_ld_field f[NF] = {{.name = "include"}, {.name = "node"}};
    if (root && core_ld_fields(&sub, root, "", f, NF,
                               "a host profile (a mapping with keys node and include)")) {
        if (!f[NODE].key)
            core_ld_err(&sub, root, NULL, "", "missing key 'node' (the node keys to apply)");
        enum { STORAGE, H2D, PCIE, VERIFY, SHM, NN };
        struct core_ld_field nf[NN] = {{.name = "storage_read"},
                                       {.name = "h2d"},
                                       {.name = "pcie_switch"},
                                       {.name = "verify"},
                                       {.name = "shm"}};
        struct core_ld_field sf[3] = {{.name = "read"}, {.name = "write"}, {.name = "per_load"}};
        struct fy_node *vals[INC_NKEYS] = {0};
        if (f[NODE].key &&
            core_ld_fields(
                &sub, f[NODE].val, "node", nf, NN,
                "a mapping of node keys (storage_read, h2d, pcie_switch, verify, shm)")) {
            for (int i = 0; i < SHM; i++)
                vals[i] = nf[i].key ? nf[i].val : NULL;
            if (nf[SHM].key &&
                core_ld_fields(&sub, nf[SHM].val, "node.shm", sf, 3,
                               "a mapping {read: 20GB/s, write: 4GB/s, per_load: 6GB/s}"))
                for (int i = 0; i < 3; i++)
                    vals[SHM + i] = sf[i].key ? sf[i].val : NULL;
        }
        for (int i = 0; i < INC_NKEYS; i++) {
            char p[64];
            double bw;
            if (!vals[i]) continue;
            snprintf(p, sizeof p, "node.%s%s%s", inc_keys[i].key, inc_keys[i].sub ? "." : "",
                     inc_keys[i].sub ? inc_keys[i].sub : "");
            if (!core_ld_bandwidth(&sub, vals[i], p, false, &bw) || st->text[i]) continue;
            size_t len = 0;
            const char *t = fy_node_get_scalar(vals[i], &len);
            st->text[i] = t ? strndup(t, len) : NULL;
            if (t && !st->text[i]) sub.nomem = true;
        }
        if (f[INCLUDE].key) follow(&sub, st, f[INCLUDE].val, "include");
    }
    if (doc) fy_document_destroy(doc);
    free(buf);
    st->depth--;
    free(st->chain[st->depth]);
    st->chain[st->depth] = NULL;
    free(sub.dir);
    ld->errors = sub.errors;
    ld->stopped = sub.stopped;
    if (sub.nomem) ld->nomem = true;
}

/* Appends key: text to mapping m of the scenario when m lacks the key. */
static void put(struct core_ld *ld, struct fy_node *m, const char *key, const char *text)
{
    if (fy_node_mapping_lookup_by_string(m, key, FY_NT)) return;
    struct fy_node *k = fy_node_create_scalar_copy(ld->fyd, key, FY_NT);
    struct fy_node *v = fy_node_create_scalar_copy(ld->fyd, text, FY_NT);
    if (!k || !v || fy_node_mapping_append(m, k, v) != 0) ld->nomem = true;
}

void core_ld_include(struct core_ld *ld)
{
    struct fy_node *root = ld->fyd ? fy_document_root(ld->fyd) : NULL;
    if (!root || !fy_node_is_mapping(root)) return;
    struct fy_node *inc = fy_node_mapping_lookup_by_string(root, "include", FY_NT);
    if (!inc) return;
    struct inc_state st;
    memset(&st, 0, sizeof st);
    char real[PATH_MAX];
    if (realpath(ld->file, real)) {
        st.chain[0] = strdup(real);
        if (!st.chain[0]) {
            ld->nomem = true;
            return;
        }
        st.depth = 1;
    }
    follow(ld, &st, inc, "include");
    free(st.chain[0]);
    struct fy_node *nodes = fy_node_by_path(root, "/cluster/nodes", FY_NT, FYNWF_DONT_FOLLOW);
    if (!ld->nomem && nodes && fy_node_is_sequence(nodes)) {
        void *it = NULL;
        struct fy_node *e;
        while ((e = fy_node_sequence_iterate(nodes, &it)) && !ld->nomem) {
            if (!fy_node_is_mapping(e)) continue; /* the walk reports it */
            for (int i = 0; i < INC_NKEYS; i++) {
                if (!st.text[i]) continue;
                if (!inc_keys[i].sub) {
                    put(ld, e, inc_keys[i].key, st.text[i]);
                    continue;
                }
                struct fy_node *shm = fy_node_mapping_lookup_by_string(e, "shm", FY_NT);
                if (shm && fy_node_is_mapping(shm)) put(ld, shm, inc_keys[i].sub, st.text[i]);
            }
        }
    }
    for (int i = 0; i < INC_NKEYS; i++)
        free(st.text[i]);
}

/* safetensors.c - parse and validate safetensors files (one file or a folder
 * of shards) before any of their bytes is loaded. Every rule in weights.h is
 * checked with overflow-safe arithmetic and reported as "PATH: DEFECT", so a
 * malformed or hostile file is an error message, never a crash or a read
 * outside the file. */
#include "exec.h"
#include "weights.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    unsigned size;
} dtypes[] = {
    {"F64", 8}, {"I64", 8},  {"U64", 8},     {"C64", 8},     {"F32", 4},     {"I32", 4},
    {"U32", 4}, {"F16", 2},  {"BF16", 2},    {"I16", 2},     {"U16", 2},     {"I8", 1},
    {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"F8_E8M0", 1},
};

unsigned exec_st_dtype_size(const char *dtype)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(dtypes[i].name, dtype)) return dtypes[i].size;
    return 0;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Appends a tensor; the array grows geometrically. */
static int push_tensor(struct exec_safetensors *st, int *cap, struct exec_st_tensor *t)
{
    if (st->tensor_count == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        struct exec_st_tensor *n = realloc(st->tensors, (size_t)ncap * sizeof *n);
        if (!n) return -1;
        st->tensors = n;
        *cap = ncap;
    }
    st->tensors[st->tensor_count++] = *t;
    return 0;
}

static int check_metadata(const char *path, json_t *meta, struct thaw_err *err)
{
    if (!json_is_object(meta))
        return thaw_err_set(err, THAW_EPARSE, "%s: __metadata__ is not an object", path);
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v)
    {
        if (!json_is_string(v))
            return thaw_err_set(err, THAW_EPARSE,
                                "%s: __metadata__ value of \"%s\" is not a string", path, k);
    }
    return 0;
}

/* Parses one tensor entry into t (name not yet set). */
static int parse_tensor(const char *path, const char *name, json_t *v, struct exec_st_tensor *t,
                        struct thaw_err *err)
{
    if (!json_is_object(v))
        return thaw_err_set(err, THAW_EPARSE, "%s: tensor \"%s\" is not an object", path, name);
    json_t *dtype = json_object_get(v, "dtype");
    json_t *shape = json_object_get(v, "shape");
    json_t *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dtype))
        return thaw_err_set(err, THAW_EPARSE, "%s: tensor \"%s\": missing or non-string dtype",
                            path, name);
    unsigned esize = exec_st_dtype_size(json_string_value(dtype));
    if (!esize)
        return thaw_err_set(err, THAW_EPARSE, "%s: tensor \"%s\": unknown dtype \"%.16s\"", path,
                            name, json_string_value(dtype));
    snprintf(t->dtype, sizeof t->dtype, "%s", json_string_value(dtype));
    if (!json_is_array(shape))
        return thaw_err_set(err, THAW_EPARSE, "%s: tensor \"%s\": missing or non-array shape", path,
                            name);
    if (json_array_size(shape) > EXEC_ST_MAX_DIMS)
        return thaw_err_set(err, THAW_EPARSE,
                            "%s: tensor \"%s\": shape has %zu dimensions, at most %d", path, name,
                            json_array_size(shape), EXEC_ST_MAX_DIMS);
    t->ndim = (int)json_array_size(shape);
    uint64_t elems = 1;
    bool overflow = false;
    for (int d = 0; d < t->ndim; d++) {
        json_t *e = json_array_get(shape, (size_t)d);
        if (!json_is_integer(e) || json_integer_value(e) < 0)
            return thaw_err_set(err, THAW_EPARSE,
                                "%s: tensor \"%s\": shape[%d] is not a non-negative integer", path,
                                name, d);
        t->shape[d] = (uint64_t)json_integer_value(e);
        if (t->shape[d] && elems > UINT64_MAX / t->shape[d]) overflow = true;
        elems *= t->shape[d];
    }
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1)) ||
        json_integer_value(json_array_get(offs, 0)) < 0 ||
        json_integer_value(json_array_get(offs, 1)) < 0)
        return thaw_err_set(
            err, THAW_EPARSE,
            "%s: tensor \"%s\": data_offsets is not [begin, end] of non-negative integers", path,
            name);
    t->begin = (uint64_t)json_integer_value(json_array_get(offs, 0));
    t->end = (uint64_t)json_integer_value(json_array_get(offs, 1));
    if (t->end < t->begin)
        return thaw_err_set(
            err, THAW_EPARSE,
            "%s: tensor \"%s\": data_offsets [%llu, %llu] not sorted (end before begin)", path,
            name, (unsigned long long)t->begin, (unsigned long long)t->end);
    if (overflow || (elems && esize > UINT64_MAX / elems))
        return thaw_err_set(err, THAW_EPARSE, "%s: tensor \"%s\": shape x dtype size overflows",
                            path, name);
    uint64_t need = elems * esize;
    if (need != t->end - t->begin)
        return thaw_err_set(err, THAW_EPARSE,
                            "%s: tensor \"%s\": shape x dtype size is %llu bytes but data_offsets "
                            "[%llu, %llu] span %llu (size mismatch)",
                            path, name, (unsigned long long)need, (unsigned long long)t->begin,
                            (unsigned long long)t->end, (unsigned long long)(t->end - t->begin));
    return 0;
}

/* Data order: by begin, then end (an empty tensor before a full one that
 * starts at the same byte), then name, so the order never depends on qsort. */
static int cmp_offsets(const void *a, const void *b)
{
    const struct exec_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Parses and validates one file, appending its tensors to st. */
static int parse_file(const char *path, struct exec_safetensors *st, int *tcap,
                      struct thaw_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return thaw_err_set(err, errno == ENOENT ? THAW_ENOENT : THAW_EIO, "%s: cannot open: %s",
                            path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return thaw_err_set(err, THAW_EPARSE, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    int rc = 0;
    char *hdr = NULL;
    json_t *root = NULL;
    if (size < 8) {
        rc = thaw_err_set(err, THAW_EPARSE,
                          "%s: truncated: %llu bytes, shorter than the 8-byte header length", path,
                          (unsigned long long)size);
        goto out;
    }
    uint8_t lenbuf[8];
    if (read_full(fd, lenbuf, 8, 0) != 0) {
        rc = thaw_err_set(err, THAW_EIO, "%s: cannot read the header length", path);
        goto out;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | lenbuf[i];
    if (n > EXEC_ST_HEADER_MAX) {
        rc = thaw_err_set(err, THAW_EPARSE, "%s: header length %llu exceeds the 100 MB limit", path,
                          (unsigned long long)n);
        goto out;
    }
    if (n > size - 8) {
        rc = thaw_err_set(err, THAW_EPARSE,
                          "%s: header length %llu exceeds the file (%llu bytes after the length)",
                          path, (unsigned long long)n, (unsigned long long)(size - 8));
        goto out;
    }
    hdr = malloc(n ? n : 1);
    if (!hdr) {
        rc = thaw_err_set(err, THAW_ENOMEM, "%s: no memory for a %llu-byte header", path,
                          (unsigned long long)n);
        goto out;
    }
    if (read_full(fd, hdr, n, 8) != 0) {
        rc = thaw_err_set(err, THAW_EIO, "%s: cannot read the header", path);
        goto out;
    }
    json_error_t jerr;
    root = json_loadb(hdr, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = thaw_err_set(err, THAW_EPARSE, "%s: header is not valid JSON: %s (column %d)", path,
                          jerr.text, jerr.column);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = thaw_err_set(err, THAW_EPARSE, "%s: header is not a JSON object", path);
        goto out;
    }
    struct exec_st_file *f = &st->files[st->file_count];
    f->path = strdup(path);
    if (!f->path) {
        rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
        goto out;
    }
    st->file_count++;
    f->file_bytes = size;
    f->header_bytes = n;
    f->data_offset = 8 + n;
    f->data_bytes = size - 8 - n;

    uint64_t prev_end = 0;
    const char *prev_name = NULL;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (!strcmp(key, "__metadata__")) {
            rc = check_metadata(path, val, err);
            if (rc) goto out;
            continue;
        }
        struct exec_st_tensor t;
        memset(&t, 0, sizeof t);
        t.file = st->file_count - 1;
        rc = parse_tensor(path, key, val, &t, err);
        if (rc) goto out;
        if (t.end > f->data_bytes) {
            rc = thaw_err_set(err, THAW_EPARSE,
                              "%s: tensor \"%s\": data_offsets [%llu, %llu] outside the data "
                              "section (%llu bytes)",
                              path, key, (unsigned long long)t.begin, (unsigned long long)t.end,
                              (unsigned long long)f->data_bytes);
            goto out;
        }
        t.name = strdup(key);
        if (!t.name || push_tensor(st, tcap, &t) != 0) {
            free(t.name);
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
            goto out;
        }
    }
    /* Contiguity is checked in data_offsets order, not header order: files
     * from older safetensors writers list tensors by name (or in any order),
     * and the reference reader sorts them the same way before checking. */
    int first = st->tensor_count - 1;
    while (first >= 0 && st->tensors[first].file == st->file_count - 1)
        first--;
    first++;
    /* A header of "{}" (no tensors) is valid; st->tensors may then still be
     * NULL, and qsort(NULL, 0, ...) is undefined. */
    if (st->tensor_count > first)
        qsort(st->tensors + first, (size_t)(st->tensor_count - first), sizeof *st->tensors,
              cmp_offsets);
    for (int i = first; i < st->tensor_count; i++) {
        const struct exec_st_tensor *t = &st->tensors[i];
        if (t->begin < prev_end) {
            rc = thaw_err_set(err, THAW_EPARSE,
                              "%s: tensor \"%s\" [%llu, %llu] overlaps \"%s\" (ends at %llu)", path,
                              t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                              prev_name, (unsigned long long)prev_end);
            goto out;
        }
        if (t->begin > prev_end) {
            rc = thaw_err_set(err, THAW_EPARSE,
                              "%s: gap of %llu bytes before tensor \"%s\" (begins at %llu, "
                              "previous data ends at %llu): the data must be contiguous",
                              path, (unsigned long long)(t->begin - prev_end), t->name,
                              (unsigned long long)t->begin, (unsigned long long)prev_end);
            goto out;
        }
        prev_end = t->end;
        prev_name = t->name;
    }
    if (prev_end != f->data_bytes) {
        rc = thaw_err_set(err, THAW_EPARSE,
                          "%s: %llu bytes after the last tensor are not indexed by the header",
                          path, (unsigned long long)(f->data_bytes - prev_end));
        goto out;
    }
    st->data_bytes += f->data_bytes;
out:
    json_decref(root);
    free(hdr);
    close(fd);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && !strcmp(s + n - m, suf);
}

/* The sorted *.safetensors regular files in dir, as full paths. */
static int list_shards(const char *dir, char ***out, int *count, struct thaw_err *err)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return thaw_err_set(err, THAW_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".safetensors")) continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
            break;
        }
        snprintf(p, len, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(p);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                free(p);
                rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        names[n++] = p;
    }
    closedir(d);
    if (rc) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return rc;
    }
    if (n == 0) {
        free(names);
        return thaw_err_set(err, THAW_ENOENT, "%s: no *.safetensors files in the folder", dir);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    *count = n;
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    const struct exec_st_tensor *x = *(const struct exec_st_tensor *const *)a;
    const struct exec_st_tensor *y = *(const struct exec_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

/* A tensor name in two shards is a defect: which one would a model use? */
static int check_unique(struct exec_safetensors *st, struct thaw_err *err)
{
    if (st->file_count < 2 || st->tensor_count < 2) return 0;
    const struct exec_st_tensor **v = malloc((size_t)st->tensor_count * sizeof *v);
    if (!v) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    for (int i = 0; i < st->tensor_count; i++)
        v[i] = &st->tensors[i];
    qsort(v, (size_t)st->tensor_count, sizeof *v, cmp_tensor_name);
    int rc = 0;
    for (int i = 1; i < st->tensor_count; i++) {
        if (!strcmp(v[i - 1]->name, v[i]->name)) {
            rc = thaw_err_set(err, THAW_EPARSE, "%s: tensor \"%s\" is also in %s",
                              st->files[v[i]->file].path, v[i]->name,
                              st->files[v[i - 1]->file].path);
            break;
        }
    }
    free(v);
    return rc;
}

int exec_safetensors_open(const char *path, struct exec_safetensors **out, struct thaw_err *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return thaw_err_set(err, errno == ENOENT ? THAW_ENOENT : THAW_EIO, "%s: %s", path,
                            strerror(errno));
    char **paths = NULL;
    int count = 0, rc = 0;
    char *one[1] = {(char *)path};
    if (S_ISDIR(sb.st_mode)) {
        rc = list_shards(path, &paths, &count, err);
        if (rc) return rc;
    } else {
        count = 1;
    }
    struct exec_safetensors *st = calloc(1, sizeof *st);
    if (st) st->files = calloc((size_t)count, sizeof *st->files);
    if (!st || !st->files) {
        rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
    } else {
        int tcap = 0;
        char **list = paths ? paths : one;
        for (int i = 0; i < count && !rc; i++)
            rc = parse_file(list[i], st, &tcap, err);
        if (!rc) rc = check_unique(st, err);
    }
    if (paths) {
        for (int i = 0; i < count; i++)
            free(paths[i]);
        free(paths);
    }
    if (rc) {
        exec_safetensors_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void exec_safetensors_free(struct exec_safetensors *st)
{
    if (!st) return;
    for (int i = 0; i < st->tensor_count; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    if (st->files)
        for (int i = 0; i < st->file_count; i++)
            free(st->files[i].path);
    free(st->files);
    free(st);
}

int exec_safetensors_check(const char *path, struct exec_safetensors_info *out,
                           struct thaw_err *err)
{
    struct exec_safetensors *st = NULL;
    int rc = exec_safetensors_open(path, &st, err);
    if (rc) return rc;
    out->file_count = st->file_count;
    out->tensor_count = st->tensor_count;
    out->data_bytes = st->data_bytes;
    exec_safetensors_free(st);
    return 0;
}

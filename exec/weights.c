/* weights.c - weight files: the checksum every backend computes, synthetic
 * weight files from a counter-based generator (so any word, and the whole
 * file's checksum, is known without reading the file), the request reference
 * (a GEMV-like pass the backends must match), and a model's weights resolved
 * to the file segments a load or an shm fill reads. Safetensors parsing is
 * in safetensors.c. */
#include "exec.h"
#include "weights.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "thaw's checksum and synthetic weights assume a little-endian host"
#endif

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* A partial final word: its bytes in the low end, zero above. */
static inline uint64_t load_partial(const uint8_t *p, size_t n)
{
    uint64_t w = 0;
    memcpy(&w, p, n);
    return w;
}

uint64_t exec_checksum(const void *data, size_t len, uint64_t first_word)
{
    const uint8_t *p = data;
    size_t words = len / 8;
    uint64_t sum = 0;
    for (size_t i = 0; i < words; i++)
        sum += exec_csum_mix(load_le64(p + 8 * i), first_word + i);
    if (len % 8) sum += exec_csum_mix(load_partial(p + 8 * words, len % 8), first_word + words);
    return sum;
}

void exec_csum_init(struct exec_csum *c)
{
    memset(c, 0, sizeof *c);
}

void exec_csum_feed(struct exec_csum *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (c->tail_len) {
        size_t take = 8 - c->tail_len;
        if (take > len) take = len;
        memcpy(c->tail + c->tail_len, p, take);
        c->tail_len += (unsigned)take;
        p += take;
        len -= take;
        if (c->tail_len < 8) return;
        c->sum += exec_csum_mix(load_le64(c->tail), c->word_index++);
        c->tail_len = 0;
    }
    size_t words = len / 8;
    c->sum += exec_checksum(p, words * 8, c->word_index);
    c->word_index += words;
    c->tail_len = (unsigned)(len % 8);
    memcpy(c->tail, p + words * 8, c->tail_len);
}

uint64_t exec_csum_final(const struct exec_csum *c)
{
    uint64_t sum = c->sum;
    if (c->tail_len) sum += exec_csum_mix(load_partial(c->tail, c->tail_len), c->word_index);
    return sum;
}

/* ---- synthetic weights ------------------------------------------------- */

/* Keeps the data stream distinct from the checksum's use of the same mix. */
#define WEIGHTS_STREAM_KEY 0xD1B54A32D192ED03ull

uint64_t exec_weights_word(uint64_t seed, uint64_t index)
{
    return exec_csum_mix(seed ^ WEIGHTS_STREAM_KEY, index);
}

void exec_weights_fill(void *buf, size_t len, uint64_t offset, uint64_t seed)
{
    uint8_t *p = buf;
    uint64_t first = offset / 8;
    size_t words = len / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = exec_weights_word(seed, first + i);
        memcpy(p + 8 * i, &w, 8);
    }
    if (len % 8) {
        uint64_t w = exec_weights_word(seed, first + words);
        memcpy(p + 8 * words, &w, len % 8);
    }
}

uint64_t exec_weights_seed(const char *model_name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *s = (const unsigned char *)model_name; *s; s++) {
        h ^= *s;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t exec_weights_expected_checksum(uint64_t bytes, uint64_t seed)
{
    uint64_t words = bytes / 8, sum = 0;
    for (uint64_t i = 0; i < words; i++)
        sum += exec_csum_mix(exec_weights_word(seed, i), i);
    unsigned rest = (unsigned)(bytes % 8);
    if (rest) {
        uint64_t w = exec_weights_word(seed, words);
        w &= (1ull << (8 * rest)) - 1; /* the file holds only its low `rest` bytes */
        sum += exec_csum_mix(w, words);
    }
    return sum;
}

#define GEN_BUF_BYTES (8u << 20)

int exec_weights_gen(const char *path, uint64_t bytes, uint64_t seed, struct thaw_err *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    uint8_t *buf = malloc(GEN_BUF_BYTES);
    if (!tmp || !buf) {
        free(tmp);
        free(buf);
        return thaw_err_set(err, THAW_ENOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        free(buf);
        return thaw_err_set(err, e == ENOENT ? THAW_ENOENT : THAW_EIO, "%s: cannot create: %s",
                            path, strerror(e));
    }
    int rc = 0;
    uint64_t off = 0;
    while (off < bytes) {
        size_t n = bytes - off < GEN_BUF_BYTES ? (size_t)(bytes - off) : GEN_BUF_BYTES;
        exec_weights_fill(buf, n, off, seed);
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(fd, buf + done, n - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                rc = thaw_err_set(err, THAW_EIO, "%s: write failed at byte %llu: %s", path,
                                  (unsigned long long)(off + done),
                                  w < 0 ? strerror(errno) : "no progress");
                goto out;
            }
            done += (size_t)w;
        }
        off += n;
    }
    if (fchmod(fd, 0644) != 0 || close(fd) != 0) {
        fd = -1;
        rc = thaw_err_set(err, THAW_EIO, "%s: cannot finish: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        rc = thaw_err_set(err, THAW_EIO, "%s: cannot rename from %s: %s", path, tmp,
                          strerror(errno));
out:
    if (fd >= 0) close(fd);
    if (rc) unlink(tmp);
    free(tmp);
    free(buf);
    return rc;
}

int exec_weights_synthetic_path(const char *dir, const char *model_name, char *buf, size_t len,
                                struct thaw_err *err)
{
    if (!model_name[0] || model_name[0] == '.' || strchr(model_name, '/'))
        return thaw_err_set(err, THAW_EINVAL, "model name \"%s\" cannot name a file", model_name);
    int n = snprintf(buf, len, "%s/%s.bin", dir, model_name);
    if (n < 0 || (size_t)n >= len)
        return thaw_err_set(err, THAW_ERANGE, "path %s/%s.bin is too long", dir, model_name);
    return 0;
}

int exec_weights_write_synthetic(const char *path, const char *model_name, uint64_t bytes,
                                 struct thaw_err *err)
{
    return exec_weights_gen(path, bytes, exec_weights_seed(model_name), err);
}

#define VERIFY_BUF_BYTES (8u << 20)

int exec_weights_verify_synthetic(const char *path, const char *model_name, uint64_t bytes,
                                  uint64_t *checksum, uint64_t *expected, struct thaw_err *err)
{
    *expected = exec_weights_expected_checksum(bytes, exec_weights_seed(model_name));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return thaw_err_set(err, THAW_EIO, "%s: %s", path, strerror(errno));
    uint8_t *buf = malloc(VERIFY_BUF_BYTES);
    if (!buf) {
        close(fd);
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    }
    struct exec_csum c;
    exec_csum_init(&c);
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, VERIFY_BUF_BYTES);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = thaw_err_set(err, THAW_EIO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        exec_csum_feed(&c, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    *checksum = exec_csum_final(&c);
    return rc;
}

/* ---- request reference ------------------------------------------------- */

uint64_t exec_request_ref(const void *data, uint64_t bytes, uint64_t seed)
{
    return exec_request_ref_rows(data, bytes, seed, 0);
}

uint64_t exec_request_ref_rows(const void *data, uint64_t bytes, uint64_t seed, uint64_t first_row)
{
    int8_t x[EXEC_REQUEST_COLS];
    for (int c = 0; c < EXEC_REQUEST_COLS; c++)
        x[c] = (int8_t)exec_weights_word(seed, (uint64_t)c);
    const int8_t *w = data;
    uint64_t rows = (bytes + EXEC_REQUEST_COLS - 1) / EXEC_REQUEST_COLS, out = 0;
    for (uint64_t r = 0; r < rows; r++) {
        const int8_t *row = w + r * EXEC_REQUEST_COLS;
        uint64_t left = bytes - r * EXEC_REQUEST_COLS;
        int cols = left < EXEC_REQUEST_COLS ? (int)left : EXEC_REQUEST_COLS;
        int32_t y = 0;
        for (int c = 0; c < cols; c++)
            y += (int32_t)row[c] * (int32_t)x[c];
        out += exec_csum_mix((uint32_t)y, first_row + r);
    }
    return out;
}

/* ---- a model's weights ------------------------------------------------- */

static int open_synthetic(const struct core_model_spec *m, const char *dir, bool generate,
                          struct exec_weights *w, struct thaw_err *err)
{
    char path[4096];
    int rc = exec_weights_synthetic_path(dir, m->name, path, sizeof path, err);
    if (rc) return rc;
    uint64_t seed = exec_weights_seed(m->name);
    struct stat st;
    bool ok =
        lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == m->weights_bytes;
    if (!ok) {
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return thaw_err_set(err, THAW_EINVAL, "%s: not a regular file", path);
        if (!generate)
            return thaw_err_set(err, THAW_ENOENT,
                                "%s: missing or not %llu bytes (run `thaw weights gen`)", path,
                                (unsigned long long)m->weights_bytes);
        rc = exec_weights_gen(path, m->weights_bytes, seed, err);
        if (rc) return rc;
    }
    w->label = strdup(path);
    w->segments = calloc(1, sizeof *w->segments);
    if (!w->label || !w->segments) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    w->segment_count = 1;
    w->segments[0].path = w->label;
    w->segments[0].offset = 0;
    w->segments[0].bytes = m->weights_bytes;
    w->bytes = m->weights_bytes;
    w->synthetic = true;
    w->checksum_known = true;
    w->checksum = exec_weights_expected_checksum(m->weights_bytes, seed);
    return 0;
}

static int open_safetensors(const struct core_model_spec *m, struct exec_weights *w,
                            struct thaw_err *err)
{
    if (!m->weights_path)
        return thaw_err_set(err, THAW_EINVAL, "model %s: safetensors weights without a path",
                            m->name);
    int rc = exec_safetensors_open(m->weights_path, &w->st, err);
    if (rc) return rc;
    w->label = strdup(m->weights_path);
    w->segments = calloc((size_t)w->st->file_count, sizeof *w->segments);
    if (!w->label || !w->segments) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    w->segment_count = w->st->file_count;
    for (int i = 0; i < w->st->file_count; i++) {
        w->segments[i].path = w->st->files[i].path;
        w->segments[i].offset = w->st->files[i].data_offset;
        w->segments[i].bytes = w->st->files[i].data_bytes;
    }
    w->bytes = w->st->data_bytes;
    return 0;
}

int exec_weights_open(const struct core_model_spec *m, const char *synthetic_dir, bool generate,
                      struct exec_weights **out, struct thaw_err *err)
{
    *out = NULL;
    struct exec_weights *w = calloc(1, sizeof *w);
    if (!w) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    int rc = m->weights_kind == CORE_WEIGHTS_SYNTHETIC
                 ? open_synthetic(m, synthetic_dir ? synthetic_dir : ".", generate, w, err)
                 : open_safetensors(m, w, err);
    if (rc) {
        exec_weights_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void exec_weights_free(struct exec_weights *w)
{
    if (!w) return;
    free(w->label);
    free(w->segments);
    exec_safetensors_free(w->st);
    free(w);
}

void exec_weights_source(const struct exec_weights *w, struct exec_source *out)
{
    memset(out, 0, sizeof *out);
    out->kind = EXEC_SOURCE_FILES;
    out->segment_count = w->segment_count;
    out->segments = w->segments;
    out->bytes = w->bytes;
    out->label = w->label;
    out->fd = -1;
}

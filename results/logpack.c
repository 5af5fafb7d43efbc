/* logpack.c - the packed logs of replay (logpack.h, schema.sql): one JSON
 * text row per batch of 1024 events or actions instead of a row each, so
 * the log costs a few big appends, not a b-tree insert per item. JSON, not
 * a binary layout, so that the schema's views (core_events, core_actions)
 * unpack it with SQLite's own json_each and every SQL reader keeps working.
 * Integers are formatted by hand: snprintf was most of the cost. */
#include "logpack.h"

#include <stdlib.h>
#include <string.h>

/* The stored kind codes (schema.sql's list), index -> the core's kind. */
static const enum core_event_kind code_kind[] = {
    CORE_EV_REQUEST_ARRIVED,   CORE_EV_REQUEST_FINISHED, CORE_EV_LOAD_FINISHED,
    CORE_EV_SHM_FILL_FINISHED, CORE_EV_GPU_FAILED,       CORE_EV_GPU_RECOVERED,
    CORE_EV_NODE_FAILED,       CORE_EV_NODE_RECOVERED,   CORE_EV_TICK,
    CORE_EV_DISK_FILL_FINISHED};
#define KIND_CODES ((int)(sizeof code_kind / sizeof code_kind[0]))

int logpack_kind_code(enum core_event_kind kind)
{
    for (int i = 0; i < KIND_CODES; i++)
        if (code_kind[i] == kind) return i;
    return -1;
}

static int reserve(struct logpack *p, size_t more)
{
    if (p->len + more + 2 <= p->cap) return 0;
    size_t cap = p->cap ? p->cap : 64 * 1024;
    while (cap < p->len + more + 2)
        cap *= 2;
    char *b = realloc(p->buf, cap);
    if (!b) return THAW_ENOMEM;
    p->buf = b;
    p->cap = cap;
    return 0;
}

/* Writes v in decimal at p; returns the bytes written (at most 20). */
static size_t put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static size_t put_i64(char *p, int64_t v)
{
    if (v >= 0) return put_u64(p, (uint64_t)v);
    p[0] = '-';
    return 1 + put_u64(p + 1, (uint64_t)0 - (uint64_t)v);
}

static int close_batch(struct logpack *p)
{
    if (p->count == 0) return 0;
    if (p->done_count == p->done_cap) {
        int cap = p->done_cap ? 2 * p->done_cap : 16;
        struct logpack_batch *d = realloc(p->done, (size_t)cap * sizeof *d);
        if (!d) return THAW_ENOMEM;
        p->done = d;
        p->done_cap = cap;
    }
    p->buf[p->len++] = ']';
    p->buf[p->len] = '\0';
    /* The buffer becomes the batch's; the next batch starts a new one. */
    char *data = realloc(p->buf, p->len + 1);
    p->done[p->done_count++] =
        (struct logpack_batch){p->run, p->first_seq, p->last_seq, data ? data : p->buf, p->len};
    p->buf = NULL;
    p->len = p->cap = 0;
    p->count = 0;
    return 0;
}

/* Opens an item: closes a full batch or one of another run, then writes
 * '[' or ',' (the first item also the array's '['). */
static int item_begin(struct logpack *p, int64_t run, uint64_t seq, size_t most)
{
    int rc;
    if (p->count > 0 && (p->count == LOGPACK_BATCH || p->run != run) && (rc = close_batch(p)) < 0)
        return rc;
    if ((rc = reserve(p, most + 2)) < 0) return rc;
    if (p->count == 0) {
        p->run = run;
        p->first_seq = seq;
        p->buf[p->len++] = '[';
    } else {
        p->buf[p->len++] = ',';
    }
    p->last_seq = seq;
    p->count++;
    return 0;
}

int logpack_event(struct logpack *p, int64_t run, uint64_t seq, int kind,
                  const struct core_event *ev)
{
    int rc = item_begin(p, run, seq, 11 * 21 + 2);
    if (rc < 0) return rc;
    char *o = p->buf + p->len, *start = o;
    *o++ = '[';
    o += put_u64(o, seq);
    *o++ = ',';
    o += put_i64(o, kind);
    *o++ = ',';
    o += put_i64(o, ev->t_ns);
    *o++ = ',';
    o += put_u64(o, ev->request);
    *o++ = ',';
    o += put_u64(o, ev->instance);
    *o++ = ',';
    o += put_u64(o, ev->load);
    *o++ = ',';
    o += put_i64(o, ev->model);
    *o++ = ',';
    o += put_i64(o, ev->node);
    *o++ = ',';
    o += put_i64(o, ev->gpu);
    *o++ = ',';
    *o++ = ev->ok ? '1' : '0';
    *o++ = ']';
    p->len += (size_t)(o - start);
    return 0;
}

int logpack_action(struct logpack *p, int64_t run, uint64_t seq, uint32_t idx, const char *line)
{
    size_t n = strlen(line);
    /* worst case: every byte a \u00XX escape */
    int rc = item_begin(p, run, seq, 2 * 21 + 6 * n + 8);
    if (rc < 0) return rc;
    char *o = p->buf + p->len, *start = o;
    *o++ = '[';
    o += put_u64(o, seq);
    *o++ = ',';
    o += put_u64(o, idx);
    *o++ = ',';
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o++ = ']';
    p->len += (size_t)(o - start);
    return 0;
}

size_t logpack_pending(const struct logpack *p)
{
    return (size_t)p->done_count * LOGPACK_BATCH + (size_t)p->count;
}

static void drop_done(struct logpack *p)
{
    for (int i = 0; i < p->done_count; i++)
        free(p->done[i].data);
    p->done_count = 0;
}

int logpack_write(struct logpack *p, sqlite3 *db, sqlite3_stmt *ins, const char *what,
                  struct thaw_err *err)
{
    int rc = close_batch(p);
    if (rc < 0) {
        drop_done(p);
        return thaw_err_set(err, rc, "%s: out of memory", what);
    }
    for (int i = 0; i < p->done_count && rc == 0; i++) {
        const struct logpack_batch *b = &p->done[i];
        sqlite3_bind_int64(ins, 1, b->run);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)b->first_seq);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)b->last_seq);
        sqlite3_bind_text(ins, 4, b->data, (int)b->len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            int code = sqlite3_errcode(db);
            rc = thaw_err_set(
                err, code == SQLITE_CONSTRAINT || code == SQLITE_MISMATCH ? THAW_EINVAL : THAW_EIO,
                "%s: %s", what, sqlite3_errmsg(db));
        }
        sqlite3_reset(ins);
    }
    drop_done(p);
    return rc;
}

void logpack_free(struct logpack *p)
{
    if (!p) return;
    drop_done(p);
    free(p->done);
    free(p->buf);
    memset(p, 0, sizeof *p);
}

/* ---- reading ------------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

/* An integer (JSON's: no fraction, no exponent) at *s. */
static int parse_int(const char **s, int64_t *out)
{
    const char *p = skip_ws(*s);
    bool neg = *p == '-';
    if (neg) p++;
    if (*p < '0' || *p > '9') return -1;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10) return -1;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (*p == '.' || *p == 'e' || *p == 'E') return -1;
    *out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
    *s = p;
    return 0;
}

static int expect(const char **s, char c)
{
    const char *p = skip_ws(*s);
    if (*p != c) return -1;
    *s = p + 1;
    return 0;
}

int logpack_parse_events(const char *data, struct core_event **ev, uint64_t **seq, size_t *count,
                         size_t *cap, struct thaw_err *err)
{
    const char *s = data ? data : "";
    if (expect(&s, '[') < 0) goto bad;
    if (expect(&s, ']') == 0) return 0;
    for (;;) {
        int64_t f[10];
        if (expect(&s, '[') < 0) goto bad;
        for (int i = 0; i < 10; i++)
            if ((i && expect(&s, ',') < 0) || parse_int(&s, &f[i]) < 0) goto bad;
        if (expect(&s, ']') < 0) goto bad;
        if (f[1] < 0 || f[1] >= KIND_CODES)
            return thaw_err_set(err, THAW_EINVAL, "core event %lld: unknown kind %lld",
                                (long long)f[0], (long long)f[1]);
        if (*count == *cap) {
            size_t nc = *cap ? *cap * 2 : 1024;
            struct core_event *ge = realloc(*ev, nc * sizeof *ge);
            if (ge) *ev = ge;
            uint64_t *gs = ge ? realloc(*seq, nc * sizeof *gs) : NULL;
            if (!gs) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
            *seq = gs;
            *cap = nc;
        }
        (*seq)[*count] = (uint64_t)f[0];
        (*ev)[*count] = (struct core_event){.kind = code_kind[f[1]],
                                            .t_ns = f[2],
                                            .request = (uint64_t)f[3],
                                            .instance = (uint64_t)f[4],
                                            .load = (uint64_t)f[5],
                                            .model = (int)f[6],
                                            .node = (int)f[7],
                                            .gpu = (int)f[8],
                                            .ok = f[9] != 0};
        (*count)++;
        if (expect(&s, ',') == 0) continue;
        if (expect(&s, ']') < 0) goto bad;
        return 0;
    }
bad:
    return thaw_err_set(err, THAW_EINVAL, "core_event_log: bad packed events at byte %td",
                        s - (data ? data : ""));
}

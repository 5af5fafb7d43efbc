/* trace_line.c - one line of a trace file, in each format spec.h names, into
 * a record: pure text to numbers, no I/O, so that the scenario loader (which
 * scans a trace once to report file:line:col) and workload/ (which streams
 * it at run time) read every line the same way. Fields are split on commas
 * (CSV layouts) or scanned as one flat JSON object (JSONL); the column of a
 * problem is the 1-based byte offset of the field at fault. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "units.h"

static const char *const format_names[] = {"csv", "azure-llm", "jsonl", "azure-functions", NULL};

const char *core_trace_format_name(enum core_trace_format f)
{
    return (unsigned)f < 4 ? format_names[f] : "?";
}

int core_trace_format_from_name(const char *name)
{
    for (int i = 0; format_names[i]; i++)
        if (!strcmp(format_names[i], name)) return i;
    return -1;
}

void core_trace_parser_init(struct core_trace_parser *p, const struct core_trace_spec *t,
                            const char *id_name)
{
    p->t = t;
    p->seen_first = false;
    p->id_column = t->id_column;
    p->id_name = id_name;
}

/* A field of a comma-separated line: [start, end) with blanks and one pair
 * of double quotes stripped. */
struct field {
    const char *s;
    size_t len;
    int column;
};

static int split_fields(const char *line, size_t len, struct field *f, int max)
{
    int n = 0;
    size_t i = 0;
    for (;;) {
        size_t b = i;
        while (i < len && line[i] != ',')
            i++;
        if (n < max) {
            size_t s = b, e = i;
            while (s < e && (line[s] == ' ' || line[s] == '\t'))
                s++;
            while (e > s && (line[e - 1] == ' ' || line[e - 1] == '\t'))
                e--;
            if (e - s >= 2 && line[s] == '"' && line[e - 1] == '"') {
                s++;
                e--;
            }
            f[n] = (struct field){line + s, e - s, (int)b + 1};
        }
        n++;
        if (i >= len) break;
        i++; /* the comma */
    }
    return n;
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A non-negative decimal integer of the whole field, at most max. */
static bool field_int(const struct field *f, int64_t max, int64_t *out)
{
    if (f->len == 0 || f->len > 19) return false;
    int64_t v = 0;
    for (size_t i = 0; i < f->len; i++) {
        char c = f->s[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    if (v > max) return false;
    *out = v;
    return true;
}

static int fail(int *column, int col, char *msg, size_t msg_len, const char *fmt, const char *what,
                size_t what_len)
{
    *column = col;
    snprintf(msg, msg_len, fmt, (int)(what_len > 40 ? 40 : what_len), what);
    return -1;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    /* Howard Hinnant's days_from_civil: days since 1970-01-01. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool core_trace_datetime_ns(const char *s, size_t len, int64_t *out)
{
    int y, mo, d, h, mi, se;
    if (len < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != ' ' && s[10] != 'T') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970 ||
        y > 2200)
        return false;
    int64_t frac = 0;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        int nd = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (nd < 9) {
                frac = frac * 10 + (s[i] - '0');
                nd++;
            }
        if (nd == 0) return false;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    if (i != len) return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    *out = secs * 1000000000LL + frac;
    return true;
}

/* A header line names columns: find p->id_name among them. */
static int read_header(struct core_trace_parser *p, const struct field *f, int n, int *column,
                       char *msg, size_t msg_len)
{
    if (!p->id_name) return 0;
    for (int i = 0; i < n && i < 64; i++)
        if (f[i].len == strlen(p->id_name) && !memcmp(f[i].s, p->id_name, f[i].len)) {
            p->id_column = i;
            return 0;
        }
    *column = 1;
    snprintf(msg, msg_len, "no column named \"%s\" in the header", p->id_name);
    return -1;
}

static int csv_timestamp(const struct field *f, int64_t *ns, int *column, char *msg, size_t msg_len)
{
    char buf[128];
    if (f->len == 0 || f->len >= 100)
        return fail(column, f->column, msg, msg_len,
                    "expected a timestamp in seconds (or with a unit, such as 1500ms), found "
                    "\"%.*s\"",
                    f->s, f->len);
    memcpy(buf, f->s, f->len);
    buf[f->len] = '\0';
    int st = core_units_duration(buf, ns);
    if (st == CORE_UNIT_NO_UNIT) {
        buf[f->len] = 's';
        buf[f->len + 1] = '\0';
        st = core_units_duration(buf, ns);
    }
    if (st) {
        *column = f->column;
        snprintf(msg, msg_len,
                 "expected a timestamp in seconds (or with a unit, such as 1500ms), found "
                 "\"%.*s\" (%s)",
                 (int)(f->len > 40 ? 40 : f->len), f->s, core_units_status_text(st));
        return -1;
    }
    return 0;
}

#define FIELDS_MAX (CORE_TRACE_MINUTES + 8)

static int parse_csv_like(struct core_trace_parser *p, const char *line, size_t len,
                          struct core_trace_rec *rec, int *column, char *msg, size_t msg_len)
{
    static const char *const func_cols[4] = {"HashOwner", "HashApp", "HashFunction", "Trigger"};
    enum core_trace_format fmt = p->t->format;
    int max = fmt == CORE_TRACE_AZURE_FUNCTIONS ? FIELDS_MAX : 64;
    struct field fbuf[FIELDS_MAX];
    int n = split_fields(line, len, fbuf, max);
    int have = n < max ? n : max;
    bool first = !p->seen_first;
    p->seen_first = true;
    if (first) {
        bool header = fmt == CORE_TRACE_AZURE_FUNCTIONS
                          ? fbuf[0].len == 9 && !memcmp(fbuf[0].s, func_cols[0], 9)
                          : fbuf[0].len > 0 && is_letter(fbuf[0].s[0]);
        if (header) return read_header(p, fbuf, have, column, msg, msg_len) < 0 ? -1 : 0;
        if (p->id_name && fmt != CORE_TRACE_AZURE_FUNCTIONS) {
            *column = 1;
            snprintf(msg, msg_len, "model column \"%s\" needs a header line naming the columns",
                     p->id_name);
            return -1;
        }
    }
    rec->id = NULL;
    rec->id_len = 0;
    rec->in_tokens = rec->out_tokens = -1;
    rec->t_ns = 0;
    rec->app = NULL;
    rec->app_len = 0;
    if (p->id_column >= 0) {
        if (p->id_column >= have) {
            *column = (int)len + 1;
            snprintf(msg, msg_len, "expected a model id in column %d, found %d column%s",
                     p->id_column + 1, n, n == 1 ? "" : "s");
            return -1;
        }
        rec->id = fbuf[p->id_column].s;
        rec->id_len = fbuf[p->id_column].len;
    }
    switch (fmt) {
    case CORE_TRACE_CSV:
        return csv_timestamp(&fbuf[0], &rec->t_ns, column, msg, msg_len) < 0 ? -1 : 1;
    case CORE_TRACE_AZURE_LLM:
        if (!core_trace_datetime_ns(fbuf[0].s, fbuf[0].len, &rec->t_ns))
            return fail(column, fbuf[0].column, msg, msg_len,
                        "expected a timestamp such as 2023-11-16 18:15:46.6805900, found "
                        "\"%.*s\"",
                        fbuf[0].s, fbuf[0].len);
        if (n < 3) {
            *column = (int)len + 1;
            snprintf(msg, msg_len,
                     "expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found %d", n);
            return -1;
        }
        for (int i = 1; i <= 2; i++)
            if (!field_int(&fbuf[i], 100000000, i == 1 ? &rec->in_tokens : &rec->out_tokens))
                return fail(column, fbuf[i].column, msg, msg_len,
                            "expected a token count (0 to 10^8), found \"%.*s\"", fbuf[i].s,
                            fbuf[i].len);
        return 1;
    case CORE_TRACE_AZURE_FUNCTIONS:
        if (n != 4 + CORE_TRACE_MINUTES) {
            *column = n < 4 + CORE_TRACE_MINUTES ? (int)len + 1 : fbuf[have - 1].column;
            snprintf(msg, msg_len,
                     "expected %d columns (HashOwner,HashApp,HashFunction,Trigger,1..1440), "
                     "found %d",
                     4 + CORE_TRACE_MINUTES, n);
            return -1;
        }
        for (int m = 0; m < CORE_TRACE_MINUTES; m++)
            if (!field_int(&fbuf[4 + m], CORE_TRACE_COUNT_MAX, &rec->minutes[m]))
                return fail(column, fbuf[4 + m].column, msg, msg_len,
                            "expected an invocation count (0 to 10^12), found \"%.*s\"",
                            fbuf[4 + m].s, fbuf[4 + m].len);
        rec->app = fbuf[1].s;
        rec->app_len = fbuf[1].len;
        return 1;
    case CORE_TRACE_JSONL:
        break;
    }
    return 0;
}

/* ---- JSONL: one flat object a line ---------------------------------------- */

static size_t skip_ws(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* A JSON string at s[i] == '"': returns the index after the closing quote,
 * or 0 when it does not close. *b, *e: the content (escapes left as is). */
static size_t json_string(const char *s, size_t i, size_t len, size_t *b, size_t *e)
{
    *b = ++i;
    for (; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"') {
            *e = i;
            return i + 1;
        }
    }
    return 0;
}

/* Any JSON value at s[i]; returns the index after it, or 0. */
static size_t json_value(const char *s, size_t i, size_t len)
{
    if (i >= len) return 0;
    size_t b, e;
    if (s[i] == '"') return json_string(s, i, len, &b, &e);
    if (s[i] == '[' || s[i] == '{') {
        int depth = 0;
        for (; i < len; i++) {
            if (s[i] == '"') {
                i = json_string(s, i, len, &b, &e);
                if (!i) return 0;
                i--;
            } else if (s[i] == '[' || s[i] == '{') {
                depth++;
            } else if (s[i] == ']' || s[i] == '}') {
                if (--depth == 0) return i + 1;
            }
        }
        return 0;
    }
    size_t st = i;
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ' ' && s[i] != '\t')
        i++;
    return i > st ? i : 0;
}

/* A JSON number of milliseconds, exactly into nanoseconds (up to 6
 * fraction digits kept). */
static bool json_ms_ns(const char *s, size_t len, int64_t *ns)
{
    int64_t ip = 0, fp = 0;
    size_t i = 0;
    int nd = 0, fd = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
        if (ip > (INT64_MAX / 1000000 - 9) / 10) return false;
        ip = ip * 10 + (s[i] - '0');
    }
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (fd < 6) {
                fp = fp * 10 + (s[i] - '0');
                fd++;
            }
    if (nd == 0 || i != len) return false;
    for (; fd < 6; fd++)
        fp *= 10;
    *ns = ip * 1000000 + fp;
    return true;
}

static int parse_jsonl(struct core_trace_parser *p, const char *line, size_t len,
                       struct core_trace_rec *rec, int *column, char *msg, size_t msg_len)
{
    const char *idk = p->t->id_key;
    size_t i = skip_ws(line, 0, len);
    rec->id = NULL;
    rec->id_len = 0;
    rec->in_tokens = rec->out_tokens = -1;
    rec->app = NULL;
    rec->app_len = 0;
    if (i >= len || line[i] != '{')
        return fail(column, (int)i + 1, msg, msg_len, "expected a JSON object, found \"%.*s\"",
                    line + i, len - i);
    bool have_ts = false;
    i = skip_ws(line, i + 1, len);
    while (i < len && line[i] != '}') {
        size_t kb, ke, vb;
        if (line[i] != '"' || !(i = json_string(line, i, len, &kb, &ke)))
            return fail(column, (int)(i ? i : kb) + 1, msg, msg_len,
                        "expected a quoted key, found \"%.*s\"", line + (i ? i : kb - 1),
                        len - (i ? i : kb - 1));
        i = skip_ws(line, i, len);
        if (i >= len || line[i] != ':')
            return fail(column, (int)i + 1, msg, msg_len,
                        "expected ':' after a key, found \"%.*s\"", line + i, len - i);
        vb = i = skip_ws(line, i + 1, len);
        size_t ve = json_value(line, i, len);
        if (!ve)
            return fail(column, (int)vb + 1, msg, msg_len, "expected a JSON value, found \"%.*s\"",
                        line + vb, len - vb);
        const char *k = line + kb;
        size_t kl = ke - kb;
        struct field v = {line + vb, ve - vb, (int)vb + 1};
#define KEY(name) (kl == sizeof(name) - 1 && !memcmp(k, name, kl))
        if (KEY("timestamp")) {
            if (!json_ms_ns(v.s, v.len, &rec->t_ns))
                return fail(column, v.column, msg, msg_len,
                            "expected a timestamp in milliseconds, found %.*s", v.s, v.len);
            have_ts = true;
        } else if (KEY("input_length") || KEY("output_length")) {
            int64_t *dst = k[0] == 'i' ? &rec->in_tokens : &rec->out_tokens;
            if (!field_int(&v, 100000000, dst))
                return fail(column, v.column, msg, msg_len,
                            "expected a token count (0 to 10^8), found %.*s", v.s, v.len);
        } else if (idk[0] && kl == strlen(idk) && !memcmp(k, idk, kl)) {
            rec->id = v.s;
            rec->id_len = v.len;
            if (v.len >= 2 && v.s[0] == '"') {
                rec->id++;
                rec->id_len -= 2;
            }
        }
#undef KEY
        i = skip_ws(line, ve, len);
        if (i < len && line[i] == ',') i = skip_ws(line, i + 1, len);
    }
    if (i >= len)
        return fail(column, (int)len + 1, msg, msg_len, "expected '}' to close the object%.*s", "",
                    0);
    if (!have_ts) return fail(column, 1, msg, msg_len, "missing key \"timestamp\"%.*s", "", 0);
    if (idk[0] && !rec->id)
        return fail(column, 1, msg, msg_len, "missing the model key \"%.*s\"", idk, strlen(idk));
    return 1;
}

int core_trace_parse(struct core_trace_parser *p, const char *line, size_t len,
                     struct core_trace_rec *rec, int *column, char *msg, size_t msg_len)
{
    if (len && line[len - 1] == '\r') len--;
    size_t i = skip_ws(line, 0, len);
    if (i == len || line[i] == '#') return 0;
    if (p->t->format == CORE_TRACE_JSONL)
        return parse_jsonl(p, line, len, rec, column, msg, msg_len);
    return parse_csv_like(p, line, len, rec, column, msg, msg_len);
}

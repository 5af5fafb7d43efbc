/* scenario_yaml.c - the loader's view of the YAML tree: where a node sits
 * (line:column, or the --set override that put it there), what it holds in
 * words ("found a list"), keyed mappings checked against their known keys,
 * and typed values (sizes, durations, distributions, ...) that report
 * exactly what was expected when they are wrong. */
#include "scenario_internal.h"
#include "units.h"

#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 256

/* The first mark at or below n, following first children only (a mapping's
 * first key, a sequence's first item); NULL when that chain ends in an empty
 * collection or an empty scalar. Iterative: each node is visited once. */
static const struct fy_mark *first_mark_below(struct fy_node *n)
{
    while (n) {
        if (fy_node_is_scalar(n)) {
            struct fy_token *t = fy_node_get_scalar_token(n);
            return t ? fy_token_start_mark(t) : NULL;
        }
        if (fy_node_is_mapping(n) && fy_node_mapping_item_count(n) > 0) {
            struct fy_node_pair *p = fy_node_mapping_get_by_index(n, 0);
            n = p ? fy_node_pair_key(p) : NULL;
        } else if (fy_node_is_sequence(n) && fy_node_sequence_item_count(n) > 0) {
            n = fy_node_sequence_get_by_index(n, 0);
        } else {
            return NULL;
        }
    }
    return NULL;
}

/* Where n sits: its first mark below, else (an empty collection or an empty
 * scalar) its key, else the nearest ancestor that has one. Climbing skips a
 * parent's first-child chain when it is the one just tried, so the work is
 * linear in the depth; "- - " or "[[[]]]" once took 2^depth steps. */
static const struct fy_mark *node_mark(struct fy_node *n)
{
    const struct fy_mark *m = first_mark_below(n);
    if (m || !n) return m;
    struct fy_node *child = n;
    for (struct fy_node *parent = fy_node_get_parent(n); parent;
         child = parent, parent = fy_node_get_parent(parent)) {
        struct fy_node *first = NULL;
        if (fy_node_is_mapping(parent)) {
            void *it = NULL;
            struct fy_node_pair *p;
            while ((p = fy_node_mapping_iterate(parent, &it)))
                if (fy_node_pair_value(p) == child) {
                    if ((m = first_mark_below(fy_node_pair_key(p)))) return m;
                    break;
                }
            struct fy_node_pair *p0 = fy_node_mapping_get_by_index(parent, 0);
            first = p0 ? fy_node_pair_key(p0) : NULL;
        } else if (fy_node_is_sequence(parent)) {
            first = fy_node_sequence_get_by_index(parent, 0);
        }
        if (first && first != child && (m = first_mark_below(first))) return m;
    }
    return NULL;
}

/* The override that set n (or a node above it), or -1. */
static int override_of(const struct core_ld *ld, struct fy_node *n)
{
    for (int depth = 0; n && depth < 80; depth++, n = fy_node_get_parent(n))
        for (int i = 0; i < ld->ovr_node_count; i++)
            if (ld->ovr_nodes[i].node == n) return ld->ovr_nodes[i].ovr;
    return -1;
}

static void add(struct core_ld *ld, int line, int column, const char *path, const char *msg)
{
    if (ld->stopped) return;

    int rc;
    if (ld->errors >= CORE_LD_MAX_DIAGS) {
        rc = core_diag_add(ld->diags, ld->file, 0, 0, NULL, "too many errors; stopped after %d",
                           CORE_LD_MAX_DIAGS);
        ld->stopped = true;
    } else {
        rc = core_diag_add(ld->diags, ld->file, line, column, path, "%s", msg);
    }
    if (rc < 0) ld->nomem = true;
    ld->errors++;
}

void core_ld_err(struct core_ld *ld, struct fy_node *at, struct fy_node *owner, const char *path,
                 const char *fmt, ...)
{
    if (ld->stopped) return;
    /* An alias is reported once, by refuse_alias(); a reader that looks at
     * it again ("expected a list, found an alias") stays quiet. */
    if (at && fy_node_is_alias(at) && !ld->reporting_alias) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int ovr = override_of(ld, at);
    if (ovr < 0 && owner) ovr = override_of(ld, owner);
    if (ovr >= 0) {
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, " (from override %s=%s)", ld->ovr[ovr].key,
                 ld->ovr[ovr].value);
        add(ld, 0, 0, path, msg);
        return;
    }
    const struct fy_mark *m = node_mark(at);
    if (!m && owner) m = node_mark(owner);
    /* An alias token's mark is just after its '*'. */
    int col = m ? m->column + 1 : 0;
    if (m && at && fy_node_is_alias(at) && col > 1) col--;
    add(ld, m ? m->line + 1 : 0, col, path, msg);
}

void core_ld_err_file(struct core_ld *ld, int line, int column, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    add(ld, line, column, NULL, msg);
}

void core_ld_fmt_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 6)
        v /= 1024, u++;
    snprintf(buf, len, "%.4g%s", v, units[u]);
}

bool core_ld_is_null(struct fy_node *n)
{
    if (!n) return true;
    if (!fy_node_is_scalar(n) || fy_node_is_alias(n)) return false;
    if (fy_node_get_style(n) != FYNS_PLAIN && fy_node_get_style(n) != FYNS_ANY) return false;
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s || len == 0) return true;
    return (len == 1 && s[0] == '~') ||
           (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

void core_ld_describe(struct fy_node *n, char *buf, size_t len)
{
    if (core_ld_is_null(n)) {
        snprintf(buf, len, "nothing");
    } else if (fy_node_is_alias(n)) {
        snprintf(buf, len, "an alias");
    } else if (fy_node_is_mapping(n)) {
        snprintf(buf, len, "a mapping");
    } else if (fy_node_is_sequence(n)) {
        snprintf(buf, len, "a list");
    } else {
        size_t sl;
        const char *s = fy_node_get_scalar(n, &sl);
        char text[48];
        size_t j = 0;
        for (size_t i = 0; s && i < sl && j + 4 < sizeof text; i++)
            text[j++] = (s[i] == '\n' || s[i] == '\t' || s[i] == '\0') ? ' ' : s[i];
        text[j] = '\0';
        snprintf(buf, len, "\"%s%s\"", text, s && j < sl ? "..." : "");
    }
}

/* Aliases are refused everywhere: expanding them is how an "alias bomb"
 * turns a few lines into gigabytes, and a scenario never needs them. */
static bool refuse_alias(struct core_ld *ld, struct fy_node *n, const char *path)
{
    if (!n || !fy_node_is_alias(n)) return false;
    ld->reporting_alias = true;
    core_ld_err(ld, n, NULL, path,
                "YAML aliases (*%s) are not supported; write the value out in full",
                fy_node_get_scalar0(n) ? fy_node_get_scalar0(n) : "");
    ld->reporting_alias = false;
    return true;
}

static void expected_found(struct core_ld *ld, struct fy_node *n, const char *path,
                           const char *expected)
{
    char found[80];
    core_ld_describe(n, found, sizeof found);
    core_ld_err(ld, n, NULL, path, "expected %s, found %s", expected, found);
}

/* The text of a non-empty scalar into buf, or an error. */
static bool scalar_text(struct core_ld *ld, struct fy_node *n, const char *path,
                        const char *expected, char *buf, size_t size)
{
    if (refuse_alias(ld, n, path)) return false;
    if (core_ld_is_null(n) || !fy_node_is_scalar(n)) {
        expected_found(ld, n, path, expected);
        return false;
    }
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s || len >= size || memchr(s, '\0', len)) {
        char found[80];
        core_ld_describe(n, found, sizeof found);
        core_ld_err(ld, n, NULL, path, "expected %s, found %s (longer than %zu characters)",
                    expected, found, size - 1);
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return true;
}

bool core_ld_fields(struct core_ld *ld, struct fy_node *map, const char *path,
                    struct core_ld_field *fields, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        fields[i].key = fields[i].val = NULL;
    if (refuse_alias(ld, map, path)) return false;
    if (!map || !fy_node_is_mapping(map)) {
        expected_found(ld, map, path, what);
        return false;
    }
    struct core_ld_field guess[32];
    memset(guess, 0, sizeof guess);
    if (n > 32) n = 32;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *key = fy_node_pair_key(p);
        size_t len = 0;
        const char *k = key && fy_node_is_scalar(key) && !fy_node_is_alias(key)
                            ? fy_node_get_scalar(key, &len)
                            : NULL;
        if (!k) {
            core_ld_err(ld, key, map, path, "expected a plain key, found %s",
                        key && fy_node_is_alias(key) ? "an alias" : "a complex key");
            continue;
        }
        int found = -1;
        for (int i = 0; i < n; i++)
            if (strlen(fields[i].name) == len && !memcmp(fields[i].name, k, len)) found = i;
        if (found >= 0) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", fields[found].name);
            if (fields[found].key) {
                const struct fy_mark *m = node_mark(fields[found].key);
                core_ld_err(ld, key, map, sub, "duplicate key '%s' (first at line %d)",
                            fields[found].name, m ? m->line + 1 : 0);
                continue;
            }
            fields[found].key = key;
            fields[found].val = fy_node_pair_value(p);
            /* Reported here with its key's path; later errors at the same
             * node stay quiet (see core_ld_err()). */
            refuse_alias(ld, fields[found].val, sub);
            continue;
        }
        if (ld->stopped) continue; /* 100,000 unknown keys: stop spelling them out */
        char word[72];
        snprintf(word, sizeof word, "%.*s", (int)(len < 64 ? len : 64), k);
        struct core_suggest sg;
        core_suggest_init(&sg, word);
        for (int i = 0; i < n; i++)
            core_suggest_offer(&sg, fields[i].name);
        char sub[160];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", word);
        if (core_suggest_result(&sg)) {
            core_ld_err(ld, key, map, sub, "unknown key '%s'; did you mean '%s'?", word,
                        core_suggest_result(&sg));
            /* Read the misspelled key's value as the key it was meant to be
             * (below, unless that key is present too), so its value is still
             * checked and "missing key" is not reported for the same typo. */
            for (int i = 0; i < n; i++)
                if (fields[i].name == core_suggest_result(&sg) && !guess[i].key) {
                    guess[i].key = key;
                    guess[i].val = fy_node_pair_value(p);
                }
        } else {
            char list[400] = "";
            for (int i = 0; i < n; i++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", fields[i].name);
            }
            core_ld_err(ld, key, map, sub, "unknown key '%s'; expected one of: %s", word, list);
        }
    }
    for (int i = 0; i < n; i++)
        if (!fields[i].key && guess[i].key) {
            fields[i].key = guess[i].key;
            fields[i].val = guess[i].val;
        }
    return true;
}

bool core_ld_string(struct core_ld *ld, struct fy_node *n, const char *path, char *out, size_t size,
                    const char *expected)
{
    return scalar_text(ld, n, path, expected, out, size);
}

bool core_ld_name(struct core_ld *ld, struct fy_node *n, const char *path, char *out)
{
    char buf[TEXT_MAX];
    const char *expected = "a name of letters, digits, '-', '_' or '.' (at most 63)";
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    size_t len = strlen(buf);
    bool ok = len > 0 && len < CORE_NAME_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char c = buf[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_' || c == '.';
    }
    if (!ok) {
        expected_found(ld, n, path, expected);
        return false;
    }
    memcpy(out, buf, len + 1);
    return true;
}

bool core_ld_bool(struct core_ld *ld, struct fy_node *n, const char *path, bool *out)
{
    char buf[16];
    const char *expected = "true or false";
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    if (!strcmp(buf, "true")) {
        *out = true;
    } else if (!strcmp(buf, "false")) {
        *out = false;
    } else {
        expected_found(ld, n, path, expected);
        return false;
    }
    return true;
}

/* "expected X, found "v" (a negative value)" with the accepted units when the
 * unit was the problem. */
static void unit_error(struct core_ld *ld, struct fy_node *n, const char *path,
                       const char *expected, const char *kind, int status)
{
    char found[80];
    core_ld_describe(n, found, sizeof found);
    if (status == CORE_UNIT_BAD_UNIT || status == CORE_UNIT_NO_UNIT)
        core_ld_err(ld, n, NULL, path, "expected %s, found %s (%s; units: %s)", expected, found,
                    core_units_status_text(status), core_units_accepted(kind));
    else
        core_ld_err(ld, n, NULL, path, "expected %s, found %s (%s)", expected, found,
                    core_units_status_text(status));
}

bool core_ld_int(struct core_ld *ld, struct fy_node *n, const char *path, int64_t lo, int64_t hi,
                 int64_t *out)
{
    char buf[64], expected[96];
    if (hi == INT64_MAX)
        snprintf(expected, sizeof expected, "an integer >= %lld", (long long)lo);
    else
        snprintf(expected, sizeof expected, "an integer from %lld to %lld", (long long)lo,
                 (long long)hi);
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    int st = core_units_int(buf, lo, hi, out);
    if (st) {
        if (st == CORE_UNIT_SYNTAX)
            expected_found(ld, n, path, expected);
        else
            unit_error(ld, n, path, expected, "", st);
        return false;
    }
    return true;
}

bool core_ld_number(struct core_ld *ld, struct fy_node *n, const char *path, double lo, double hi,
                    double *out)
{
    char buf[64], expected[96];
    snprintf(expected, sizeof expected, "a number from %g to %g", lo, hi);
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || *end || !isfinite(v) || v < lo || v > hi) {
        expected_found(ld, n, path, expected);
        return false;
    }
    *out = v;
    return true;
}

/* The end of every unit reader: the error for status st, or for a zero
 * (or too small) value that is refused; true when the value stands. */
static bool unit_checked(struct core_ld *ld, struct fy_node *n, const char *path,
                         const char *expected, const char *kind, int st, bool too_small)
{
    if (st) {
        unit_error(ld, n, path, expected, kind, st);
        return false;
    }
    if (too_small) {
        char found[80];
        core_ld_describe(n, found, sizeof found);
        core_ld_err(ld, n, NULL, path, "expected %s, found %s (zero)", expected, found);
        return false;
    }
    return true;
}

bool core_ld_size(struct core_ld *ld, struct fy_node *n, const char *path, uint64_t min_bytes,
                  uint64_t *out)
{
    char buf[TEXT_MAX];
    const char *expected = min_bytes ? "a size above zero such as 14GiB" : "a size such as 14GiB";
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    int st = core_units_bytes(buf, out);
    return unit_checked(ld, n, path, expected, "size", st, !st && *out < min_bytes);
}

bool core_ld_bandwidth(struct core_ld *ld, struct fy_node *n, const char *path, bool allow_zero,
                       double *out)
{
    char buf[TEXT_MAX];
    const char *expected =
        allow_zero ? "a bandwidth such as 2GB/s" : "a bandwidth above zero such as 2GB/s";
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    int st = core_units_bandwidth(buf, out);
    return unit_checked(ld, n, path, expected, "bandwidth", st, !st && !allow_zero && *out <= 0);
}

bool core_ld_duration(struct core_ld *ld, struct fy_node *n, const char *path, bool allow_zero,
                      int64_t *out)
{
    char buf[TEXT_MAX];
    const char *expected =
        allow_zero ? "a duration such as 1.5s" : "a duration above zero such as 1.5s";
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    int st = core_units_duration(buf, out);
    return unit_checked(ld, n, path, expected, "duration", st, !st && !allow_zero && *out <= 0);
}

bool core_ld_rate(struct core_ld *ld, struct fy_node *n, const char *path, bool allow_zero,
                  double *out)
{
    char buf[TEXT_MAX];
    const char *expected = allow_zero ? "a rate such as 2/s" : "a rate above zero such as 2/s";
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    int st = core_units_rate(buf, out);
    return unit_checked(ld, n, path, expected, "rate", st, !st && !allow_zero && *out <= 0);
}

bool core_ld_probability(struct core_ld *ld, struct fy_node *n, const char *path, double *out)
{
    char buf[TEXT_MAX];
    const char *expected = "a probability from 0 to 1 (or 0% to 100%)";
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    int st = core_units_probability(buf, out);
    if (st) {
        if (st == CORE_UNIT_SYNTAX)
            expected_found(ld, n, path, expected);
        else
            unit_error(ld, n, path, expected, "", st);
        return false;
    }
    return true;
}

bool core_ld_choice(struct core_ld *ld, struct fy_node *n, const char *path,
                    const char *const *names, int *index)
{
    char list[300] = "";
    for (int i = 0; names[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    }
    char expected[340];
    snprintf(expected, sizeof expected, "one of %s", list);
    char buf[TEXT_MAX];
    if (!scalar_text(ld, n, path, expected, buf, sizeof buf)) return false;
    struct core_suggest sg;
    core_suggest_init(&sg, buf);
    for (int i = 0; names[i]; i++) {
        if (!strcmp(names[i], buf)) {
            *index = i;
            return true;
        }
        core_suggest_offer(&sg, names[i]);
    }
    char found[80];
    core_ld_describe(n, found, sizeof found);
    if (core_suggest_result(&sg))
        core_ld_err(ld, n, NULL, path, "expected %s, found %s; did you mean '%s'?", expected, found,
                    core_suggest_result(&sg));
    else
        core_ld_err(ld, n, NULL, path, "expected %s, found %s", expected, found);
    return false;
}

static const char *const dist_names[] = {"fixed", "exponential", "lognormal",
                                         "gamma", "uniform",     NULL};

bool core_ld_dist(struct core_ld *ld, struct fy_node *n, const char *path, bool allow_zero,
                  struct core_dist *out)
{
    memset(out, 0, sizeof *out);
    if (n && fy_node_is_scalar(n) && !core_ld_is_null(n)) {
        out->kind = CORE_DIST_FIXED;
        if (!core_ld_duration(ld, n, path, allow_zero, &out->mean_ns)) return false;
        out->lo_ns = out->hi_ns = out->mean_ns;
        return true;
    }
    enum { F_DIST, F_MEAN, F_CV, F_MIN, F_MAX, F_N };
    struct core_ld_field f[F_N] = {
        {.name = "dist"}, {.name = "mean"}, {.name = "cv"}, {.name = "min"}, {.name = "max"}};
    if (!core_ld_fields(ld, n, path, f, F_N,
                        "a duration such as 2s or a distribution {dist: lognormal, mean: 1s, "
                        "cv: 0.3}"))
        return false;
    char sub[160];
    snprintf(sub, sizeof sub, "%s.dist", path);
    int kind;
    if (!f[F_DIST].key) {
        core_ld_err(ld, n, NULL, path,
                    "missing key 'dist' (fixed, exponential, lognormal, gamma or uniform)");
        return false;
    }
    if (!core_ld_choice(ld, f[F_DIST].val, sub, dist_names, &kind)) return false;
    out->kind = (enum core_dist_kind)kind;
    bool ok = true;
    bool wants_mean = kind != CORE_DIST_UNIFORM;
    bool wants_cv = kind == CORE_DIST_LOGNORMAL || kind == CORE_DIST_GAMMA;
    bool wants_range = kind == CORE_DIST_UNIFORM;
    const char *kname = dist_names[kind];
    /* A key that the distribution does not use is an error: it would be
     * silently ignored otherwise. */
    if (!wants_cv && f[F_CV].key) {
        snprintf(sub, sizeof sub, "%s.cv", path);
        core_ld_err(ld, f[F_CV].key, n, sub, "cv applies to lognormal and gamma, not %s", kname);
        ok = false;
    }
    if (!wants_mean && f[F_MEAN].key) {
        snprintf(sub, sizeof sub, "%s.mean", path);
        core_ld_err(ld, f[F_MEAN].key, n, sub,
                    "uniform takes min and max, not mean (the mean is their midpoint)");
        ok = false;
    }
    for (int i = F_MIN; i <= F_MAX; i++)
        if (!wants_range && f[i].key) {
            snprintf(sub, sizeof sub, "%s.%s", path, f[i].name);
            core_ld_err(ld, f[i].key, n, sub, "%s applies to uniform, not %s", f[i].name, kname);
            ok = false;
        }
    if (wants_mean) {
        snprintf(sub, sizeof sub, "%s.mean", path);
        if (!f[F_MEAN].key) {
            core_ld_err(ld, n, NULL, path, "missing key 'mean' for %s", kname);
            ok = false;
        } else if (!core_ld_duration(ld, f[F_MEAN].val, sub, allow_zero && kind == CORE_DIST_FIXED,
                                     &out->mean_ns)) {
            ok = false;
        }
        out->lo_ns = out->hi_ns = out->mean_ns;
    }
    if (wants_cv) {
        snprintf(sub, sizeof sub, "%s.cv", path);
        if (!f[F_CV].key) {
            core_ld_err(ld, n, NULL, path, "missing key 'cv' (stddev / mean) for %s", kname);
            ok = false;
        } else if (!core_ld_number(ld, f[F_CV].val, sub, 1e-9, 100, &out->cv)) {
            ok = false;
        }
    }
    if (wants_range) {
        bool have = true;
        for (int i = F_MIN; i <= F_MAX; i++) {
            snprintf(sub, sizeof sub, "%s.%s", path, f[i].name);
            int64_t *dst = i == F_MIN ? &out->lo_ns : &out->hi_ns;
            if (!f[i].key) {
                core_ld_err(ld, n, NULL, path, "missing key '%s' for uniform", f[i].name);
                ok = have = false;
            } else if (!core_ld_duration(ld, f[i].val, sub, true, dst)) {
                ok = have = false;
            }
        }
        if (have && out->lo_ns > out->hi_ns) {
            snprintf(sub, sizeof sub, "%s.max", path);
            core_ld_err(ld, f[F_MAX].val, NULL, sub, "expected max >= min");
            ok = false;
        } else if (have && !allow_zero && out->hi_ns == 0) {
            snprintf(sub, sizeof sub, "%s.max", path);
            core_ld_err(ld, f[F_MAX].val, NULL, sub, "expected max above zero");
            ok = false;
        }
        out->mean_ns = out->lo_ns / 2 + out->hi_ns / 2 + (out->lo_ns % 2 + out->hi_ns % 2) / 2;
    }
    return ok;
}

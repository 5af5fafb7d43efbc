/* units.c - parsers for sizes, bandwidths, durations, rates, probabilities and
 * integers. A number is kept as an exact decimal (mantissa and count of
 * fraction digits) in 128-bit arithmetic and scaled by the unit's integer
 * multiplier before one final rounding division, so 1.5GiB or 0.1s come out
 * exact and an overflow is detected instead of wrapping. */
#include "units.h"
#include "core.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)
/* At most this many fraction digits are kept; more are dropped (truncated),
 * far below any precision a scenario needs (1e-18 of a unit). */
#define FRAC_DIGITS_MAX 18

struct unit {
    const char *name;
    uint64_t mult; /* destination units per one of this unit */
};

static const struct unit byte_units[] = {
    {"B", 1ULL},
    {"KB", 1000ULL},
    {"MB", 1000000ULL},
    {"GB", 1000000000ULL},
    {"TB", 1000000000000ULL},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
    {NULL, 0},
};

/* Bits per second are bytes per second / 8: 1 Gbit/s = 125000000 B/s exactly. */
static const struct unit bw_units[] = {
    {"B/s", 1ULL},
    {"KB/s", 1000ULL},
    {"MB/s", 1000000ULL},
    {"GB/s", 1000000000ULL},
    {"TB/s", 1000000000000ULL},
    {"KiB/s", 1ULL << 10},
    {"MiB/s", 1ULL << 20},
    {"GiB/s", 1ULL << 30},
    {"TiB/s", 1ULL << 40},
    {"Kbit/s", 125ULL},
    {"Mbit/s", 125000ULL},
    {"Gbit/s", 125000000ULL},
    {NULL, 0},
};

static const struct unit dur_units[] = {
    {"ns", 1ULL},       {"us", 1000ULL},      {"\xc2\xb5s", 1000ULL}, /* µs */
    {"ms", 1000000ULL}, {"s", 1000000000ULL}, {"m", 60000000000ULL},  {"h", 3600000000000ULL},
    {NULL, 0},
};

/* Rates: the multiplier is the period in seconds; the value is divided by it. */
static const struct unit rate_units[] = {
    {"/s", 1ULL},
    {"/m", 60ULL},
    {"/h", 3600ULL},
    {NULL, 0},
};

struct decimal {
    u128 mant;       /* all digits read, as an integer */
    int frac;        /* how many of them are after the point */
    const char *end; /* first character after the number */
};

static u128 pow10_u128(int n)
{
    u128 p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads [digits][.digits] from s (after leading blanks). */
static int read_decimal(const char *s, struct decimal *d)
{
    while (is_space(*s))
        s++;
    if (*s == '-') return CORE_UNIT_NEGATIVE;
    if (*s == '+') s++;
    d->mant = 0;
    d->frac = 0;
    int digits = 0;
    bool point = false;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            digits++;
            if (point && d->frac >= FRAC_DIGITS_MAX) continue;
            if (d->mant > (U128_MAX - 9) / 10) return CORE_UNIT_OVERFLOW;
            d->mant = d->mant * 10 + (u128)(*s - '0');
            if (point) d->frac++;
        } else if (*s == '.' && !point) {
            point = true;
        } else {
            break;
        }
    }
    if (digits == 0) return CORE_UNIT_SYNTAX;
    d->end = s;
    return CORE_UNIT_OK;
}

/* True when the rest of s (after blanks) is empty. */
static bool at_end(const char *s)
{
    while (is_space(*s))
        s++;
    return *s == '\0';
}

/* Reads "NUMBER [blanks] UNIT" against a unit table into *d and *unit; a
 * bare zero is accepted with *unit NULL. */
static int read_quantity(const char *s, const struct unit *units, struct decimal *d,
                         const struct unit **unit)
{
    if (!s || at_end(s)) return CORE_UNIT_EMPTY;
    int st = read_decimal(s, d);
    if (st) return st;
    const char *u = d->end;
    while (is_space(*u))
        u++;
    size_t ulen = strlen(u);
    while (ulen > 0 && is_space(u[ulen - 1]))
        ulen--;
    *unit = NULL;
    if (ulen == 0) return d->mant == 0 ? CORE_UNIT_OK : CORE_UNIT_NO_UNIT;
    for (const struct unit *x = units; x->name; x++)
        if (strlen(x->name) == ulen && !memcmp(x->name, u, ulen)) *unit = x;
    return *unit ? CORE_UNIT_OK : CORE_UNIT_BAD_UNIT;
}

/* A quantity in destination units, rounded to nearest, in *out (at most max). */
static int parse_scaled(const char *s, const struct unit *units, u128 max, u128 *out)
{
    struct decimal d;
    const struct unit *found;
    int st = read_quantity(s, units, &d, &found);
    if (st) return st;
    if (!found) {
        *out = 0;
        return CORE_UNIT_OK;
    }
    if (d.mant > U128_MAX / found->mult) return CORE_UNIT_OVERFLOW;
    u128 num = d.mant * found->mult;
    u128 den = pow10_u128(d.frac);
    u128 v = num / den + ((num % den) * 2 >= den ? 1 : 0);
    if (v > max) return CORE_UNIT_OVERFLOW;
    *out = v;
    return CORE_UNIT_OK;
}

int core_units_bytes(const char *s, uint64_t *out)
{
    u128 v;
    int st = parse_scaled(s, byte_units, (u128)UINT64_MAX, &v);
    if (st == CORE_UNIT_OK) *out = (uint64_t)v;
    return st;
}

int core_units_bandwidth(const char *s, double *bps)
{
    u128 v;
    int st = parse_scaled(s, bw_units, (u128)UINT64_MAX, &v);
    if (st == CORE_UNIT_OK) *bps = (double)(uint64_t)v;
    return st;
}

/* One "NUMBER UNIT" part of a compound duration at *s, its unit the longest
 * run of letters (so "1ms" is one part and "1m30s" two); *s moves past it. */
static int duration_part(const char **s, u128 *out)
{
    struct decimal d;
    int st = read_decimal(*s, &d);
    if (st) return st;
    const char *u = d.end;
    while (is_space(*u))
        u++;
    const char *e = u;
    while (*e && !is_space(*e) && !(*e >= '0' && *e <= '9') && *e != '.' && *e != '-' && *e != '+')
        e++;
    size_t ulen = (size_t)(e - u);
    if (ulen == 0) return at_end(u) && d.mant == 0 ? CORE_UNIT_OK : CORE_UNIT_NO_UNIT;
    const struct unit *found = NULL;
    for (const struct unit *x = dur_units; x->name; x++)
        if (strlen(x->name) == ulen && !memcmp(x->name, u, ulen)) found = x;
    if (!found) return CORE_UNIT_BAD_UNIT;
    if (d.mant > U128_MAX / found->mult) return CORE_UNIT_OVERFLOW;
    u128 num = d.mant * found->mult;
    u128 den = pow10_u128(d.frac);
    *out = num / den + ((num % den) * 2 >= den ? 1 : 0);
    *s = e;
    return CORE_UNIT_OK;
}

/* A duration is one part ("1.5s") or several with no sign between them
 * ("1h30m", "2m 30s"), as Go and Kubernetes write them; each part is rounded
 * to the nanosecond, then they are summed. A bare 0 stands alone. */
int core_units_duration(const char *s, int64_t *ns)
{
    if (!s || at_end(s)) return CORE_UNIT_EMPTY;
    u128 total = 0;
    int parts = 0;
    while (!at_end(s)) {
        u128 v = 0;
        const char *before = s;
        int st = duration_part(&s, &v);
        if (st) return parts && st == CORE_UNIT_NEGATIVE ? CORE_UNIT_SYNTAX : st;
        if (s == before) { /* a bare zero: only alone */
            if (parts) return CORE_UNIT_NO_UNIT;
            *ns = 0;
            return CORE_UNIT_OK;
        }
        total += v;
        if (total > (u128)INT64_MAX) return CORE_UNIT_OVERFLOW;
        parts++;
    }
    *ns = (int64_t)total;
    return CORE_UNIT_OK;
}

int core_units_rate(const char *s, double *per_s)
{
    struct decimal d;
    const struct unit *found;
    int st = read_quantity(s, rate_units, &d, &found);
    if (st) return st;
    if (!found) {
        *per_s = 0;
        return CORE_UNIT_OK;
    }
    if (d.mant > (u128)UINT64_MAX * 1000000) return CORE_UNIT_OVERFLOW;
    *per_s = (double)d.mant / (double)pow10_u128(d.frac) / (double)found->mult;
    return CORE_UNIT_OK;
}

int core_units_probability(const char *s, double *p)
{
    if (!s || at_end(s)) return CORE_UNIT_EMPTY;
    struct decimal d;
    int st = read_decimal(s, &d);
    if (st) return st;
    const char *u = d.end;
    while (is_space(*u))
        u++;
    u128 den = pow10_u128(d.frac);
    if (*u == '%') {
        if (!at_end(u + 1)) return CORE_UNIT_SYNTAX;
        den *= 100;
    } else if (*u) {
        return CORE_UNIT_SYNTAX;
    }
    if (d.mant > den) return CORE_UNIT_RANGE;
    *p = (double)d.mant / (double)den;
    return CORE_UNIT_OK;
}

int core_units_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || at_end(s)) return CORE_UNIT_EMPTY;
    while (is_space(*s))
        s++;
    bool neg = false;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (!(*s >= '0' && *s <= '9')) return CORE_UNIT_SYNTAX;
    u128 v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (u128)(*s - '0');
        if (v > (u128)1 << 64) return neg && lo >= 0 ? CORE_UNIT_NEGATIVE : CORE_UNIT_OVERFLOW;
    }
    if (!at_end(s)) return CORE_UNIT_SYNTAX;
    if (neg && v > 0 && lo >= 0) return CORE_UNIT_NEGATIVE;
    if (!neg && v > (u128)INT64_MAX) return CORE_UNIT_OVERFLOW;
    if (neg && v > (u128)INT64_MAX + 1) return CORE_UNIT_RANGE;
    int64_t x = neg ? (int64_t)(0 - (uint64_t)v) : (int64_t)v;
    if (x < lo || x > hi) return CORE_UNIT_RANGE;
    *out = x;
    return CORE_UNIT_OK;
}

int core_parse_u64(const char *s, uint64_t lo, uint64_t hi, const char **end, uint64_t *out)
{
    if (!s || !(*s >= '0' && *s <= '9')) return THAW_EINVAL;
    uint64_t v = 0;
    bool over = false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) over = true;
        v = v * 10 + d;
    }
    if (end)
        *end = s;
    else if (*s)
        return THAW_EINVAL;
    if (over || v < lo || v > hi) return THAW_ERANGE;
    *out = v;
    return 0;
}

int core_parse_i64(const char *s, int64_t lo, int64_t hi, const char **end, int64_t *out)
{
    if (!s) return THAW_EINVAL;
    bool neg = *s == '-';
    uint64_t mag;
    int rc = core_parse_u64(s + neg, 0, UINT64_MAX, end, &mag);
    if (rc == THAW_EINVAL) return rc;
    if (rc == 0 && mag > (uint64_t)INT64_MAX + neg) rc = THAW_ERANGE;
    if (rc) return rc;
    int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    if (v < lo || v > hi) return THAW_ERANGE;
    *out = v;
    return 0;
}

const char *core_units_status_text(int status)
{
    switch (status) {
    case CORE_UNIT_OK:
        return "a valid value";
    case CORE_UNIT_EMPTY:
        return "an empty value";
    case CORE_UNIT_SYNTAX:
        return "not a number";
    case CORE_UNIT_NO_UNIT:
        return "a number without a unit";
    case CORE_UNIT_BAD_UNIT:
        return "an unknown unit";
    case CORE_UNIT_NEGATIVE:
        return "a negative value";
    case CORE_UNIT_OVERFLOW:
        return "a value too large";
    case CORE_UNIT_RANGE:
        return "a value out of range";
    }
    return "an invalid value";
}

const char *core_units_accepted(const char *kind)
{
    if (!strcmp(kind, "size")) return "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB";
    if (!strcmp(kind, "bandwidth"))
        return "B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s, Kbit/s, Mbit/s, Gbit/s";
    if (!strcmp(kind, "duration")) return "ns, us, ms, s, m, h, or several such as 1h30m";
    if (!strcmp(kind, "rate")) return "/s, /m, /h";
    return "";
}

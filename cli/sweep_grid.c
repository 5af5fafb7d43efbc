/* sweep_grid.c - the pure logic of `thaw sweep` and `thaw plan`: parsing
 * --set value lists, policies and seed lists into a grid, numbering its
 * points in one fixed order (mixed radix, seed fastest), shards, and the
 * plan's bisection over a monotone integer range. No I/O, no globals. */
#include "sweep.h"
#include "core.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_sweep_grid_init(struct cli_sweep_grid *g)
{
    memset(g, 0, sizeof *g);
}

void cli_sweep_grid_free(struct cli_sweep_grid *g)
{
    for (int a = 0; a < g->axis_count; a++) {
        for (int v = 0; v < g->axes[a].value_count; v++)
            free(g->axes[a].values[v]);
        free(g->axes[a].values);
        free(g->axes[a].key);
    }
    for (int i = 0; i < g->policy_count; i++)
        free(g->policies[i]);
    free(g->policies);
    free(g->seeds);
    memset(g, 0, sizeof *g);
}

static char *dup_n(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (!c) return NULL;
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

/* Length of the next comma-separated item, skipping commas nested in
 * brackets or braces; -1 when they do not balance. */
static long item_len(const char *s)
{
    int depth = 0;
    long i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        if (c == '[' || c == '{') depth++;
        if (c == ']' || c == '}') {
            if (--depth < 0) return -1;
        }
        if (c == ',' && depth == 0) break;
    }
    return depth == 0 ? i : -1;
}

static int add_value(struct cli_sweep_axis *ax, const char *s, size_t n, struct thaw_err *err)
{
    for (int v = 0; v < ax->value_count; v++)
        if (strlen(ax->values[v]) == n && !memcmp(ax->values[v], s, n))
            return thaw_err_set(err, THAW_EINVAL, "--set %s: value \"%.*s\" is listed twice",
                                ax->key, (int)n, s);
    char **grown = realloc(ax->values, (size_t)(ax->value_count + 1) * sizeof *grown);
    if (!grown) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    ax->values = grown;
    if (!(ax->values[ax->value_count] = dup_n(s, n)))
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    ax->value_count++;
    return 0;
}

int cli_sweep_grid_add_set(struct cli_sweep_grid *g, const char *kv, struct thaw_err *err)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq || eq == kv || !eq[1])
        return thaw_err_set(err, THAW_EINVAL, "--set expects key=v1,v2,..., found \"%s\"",
                            kv ? kv : "");
    size_t key_len = (size_t)(eq - kv);
    for (int a = 0; a < g->axis_count; a++)
        if (strlen(g->axes[a].key) == key_len && !memcmp(g->axes[a].key, kv, key_len))
            return thaw_err_set(err, THAW_EINVAL,
                                "--set %.*s is given twice; list its values "
                                "once, separated by commas",
                                (int)key_len, kv);
    if (g->axis_count == CLI_SWEEP_MAX_AXES)
        return thaw_err_set(err, THAW_ERANGE, "at most %d --set keys", CLI_SWEEP_MAX_AXES);
    struct cli_sweep_axis *ax = &g->axes[g->axis_count];
    memset(ax, 0, sizeof *ax);
    if (!(ax->key = dup_n(kv, key_len))) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    g->axis_count++; /* owned by the grid from here on, freed with it */
    const char *p = eq + 1;
    for (;;) {
        long n = item_len(p);
        if (n < 0)
            return thaw_err_set(err, THAW_EINVAL, "--set %s: unbalanced brackets in \"%s\"",
                                ax->key, eq + 1);
        if (n == 0)
            return thaw_err_set(err, THAW_EINVAL, "--set %s: empty value in \"%s\"", ax->key,
                                eq + 1);
        int rc = add_value(ax, p, (size_t)n, err);
        if (rc < 0) return rc;
        p += n;
        if (!*p) break;
        p++; /* the comma */
    }
    return 0;
}

int cli_sweep_grid_add_policy(struct cli_sweep_grid *g, const char *spec, struct thaw_err *err)
{
    if (!spec || !*spec)
        return thaw_err_set(err, THAW_EINVAL, "--policy expects key=value[,key=value...]");
    /* Each comma-separated item must be k=v with a non-empty key. */
    for (const char *p = spec; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p || eq == p + n - 1)
            return thaw_err_set(err, THAW_EINVAL,
                                "--policy expects key=value[,key=value...], found \"%s\"", spec);
        p += n;
        if (*p == ',' && !*++p)
            return thaw_err_set(err, THAW_EINVAL, "--policy %s: trailing comma", spec);
    }
    for (int i = 0; i < g->policy_count; i++)
        if (!strcmp(g->policies[i], spec))
            return thaw_err_set(err, THAW_EINVAL, "--policy %s is given twice", spec);
    char **grown = realloc(g->policies, (size_t)(g->policy_count + 1) * sizeof *grown);
    if (!grown) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    g->policies = grown;
    if (!(g->policies[g->policy_count] = strdup(spec)))
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    g->policy_count++;
    return 0;
}

static int parse_seed(const char **p, uint64_t *out)
{
    return core_parse_u64(*p, 0, UINT64_MAX, p, out) ? -1 : 0;
}

static int push_seed(struct cli_sweep_grid *g, uint64_t s, struct thaw_err *err)
{
    if (g->seed_count >= CLI_SWEEP_MAX_SEEDS)
        return thaw_err_set(err, THAW_ERANGE, "--seeds: more than %d seeds", CLI_SWEEP_MAX_SEEDS);
    /* Grow by doubling: capacity is the next power of two >= count. */
    size_t n = g->seed_count;
    if ((n & (n - 1)) == 0) {
        size_t cap = n ? 2 * n : 1;
        uint64_t *grown = realloc(g->seeds, cap * sizeof *grown);
        if (!grown) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        g->seeds = grown;
    }
    g->seeds[g->seed_count++] = s;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A seed listed twice is an error: sorting a copy finds it in n log n (a
 * check per seed pushed took n^2: "1-1000000" ran for hours). */
static int check_unique_seeds(const struct cli_sweep_grid *g, const char *list,
                              struct thaw_err *err)
{
    if (g->seed_count < 2) return 0;
    uint64_t *v = malloc(g->seed_count * sizeof *v);
    if (!v) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    memcpy(v, g->seeds, g->seed_count * sizeof *v);
    qsort(v, g->seed_count, sizeof *v, cmp_u64);
    int rc = 0;
    for (size_t i = 1; i < g->seed_count && !rc; i++)
        if (v[i] == v[i - 1])
            rc = thaw_err_set(err, THAW_EINVAL, "--seeds %s: seed %llu is listed twice", list,
                              (unsigned long long)v[i]);
    free(v);
    return rc;
}

static int add_seeds(struct cli_sweep_grid *g, const char *list, struct thaw_err *err);

int cli_sweep_grid_add_seeds(struct cli_sweep_grid *g, const char *list, struct thaw_err *err)
{
    size_t before = g->seed_count;
    int rc = add_seeds(g, list, err);
    if (rc == 0) rc = check_unique_seeds(g, list ? list : "", err);
    if (rc < 0) g->seed_count = before; /* the grid as it was */
    return rc;
}

static int add_seeds(struct cli_sweep_grid *g, const char *list, struct thaw_err *err)
{
    const char *p = list ? list : "";
    if (!*p)
        return thaw_err_set(err, THAW_EINVAL, "--seeds expects a list such as 1-30 or 1,2,5-7");
    for (;;) {
        uint64_t a, b;
        if (parse_seed(&p, &a) < 0) goto bad;
        b = a;
        if (*p == '-') {
            p++;
            if (parse_seed(&p, &b) < 0 || b < a) goto bad;
        }
        if (b - a >= CLI_SWEEP_MAX_SEEDS)
            return thaw_err_set(err, THAW_ERANGE, "--seeds %s: more than %d seeds", list,
                                CLI_SWEEP_MAX_SEEDS);
        for (uint64_t s = a;; s++) {
            int rc = push_seed(g, s, err);
            if (rc < 0) return rc;
            if (s == b) break;
        }
        if (!*p) return 0;
        if (*p != ',') goto bad;
        p++;
    }
bad:
    return thaw_err_set(err, THAW_EINVAL,
                        "--seeds expects non-negative integers and ranges LO-HI (LO <= HI) "
                        "separated by commas, such as 1-30 or 1,2,5-7; found \"%s\"",
                        list);
}

static size_t mul_or_zero(size_t a, size_t b)
{
    if (a && b > SIZE_MAX / a) return 0;
    return a * b;
}

size_t cli_sweep_grid_combos(const struct cli_sweep_grid *g)
{
    size_t n = 1;
    for (int a = 0; a < g->axis_count; a++)
        n = mul_or_zero(n, (size_t)g->axes[a].value_count);
    return mul_or_zero(n, g->policy_count ? (size_t)g->policy_count : 1);
}

size_t cli_sweep_grid_size(const struct cli_sweep_grid *g)
{
    return mul_or_zero(cli_sweep_grid_combos(g), g->seed_count ? g->seed_count : 1);
}

int cli_sweep_point_at(const struct cli_sweep_grid *g, size_t index, struct cli_sweep_point *p)
{
    size_t total = cli_sweep_grid_size(g);
    if (total == 0 || index >= total) return THAW_ERANGE;
    memset(p, 0, sizeof *p);
    p->index = index;
    size_t nseeds = g->seed_count ? g->seed_count : 1;
    size_t rest = index;
    size_t seed_idx = rest % nseeds;
    rest /= nseeds;
    p->combo = rest;
    p->has_seed = g->seed_count > 0;
    p->seed = p->has_seed ? g->seeds[seed_idx] : 0;
    size_t npol = g->policy_count ? (size_t)g->policy_count : 1;
    p->policy = g->policy_count ? (int)(rest % npol) : -1;
    rest /= npol;
    for (int a = g->axis_count - 1; a >= 0; a--) {
        size_t nv = (size_t)g->axes[a].value_count;
        p->value_idx[a] = (int)(rest % nv);
        rest /= nv;
    }
    return 0;
}

int cli_sweep_point_params(const struct cli_sweep_grid *g, const struct cli_sweep_point *p,
                           char *buf, size_t len)
{
    size_t used = 0;
    if (!len) return THAW_ERANGE;
    buf[0] = '\0';
    for (int a = 0; a <= g->axis_count; a++) {
        const char *k, *v;
        if (a < g->axis_count) {
            k = g->axes[a].key;
            v = g->axes[a].values[p->value_idx[a]];
        } else if (p->policy >= 0) {
            k = "policy";
            v = g->policies[p->policy];
        } else {
            break;
        }
        int n = snprintf(buf + used, len - used, "%s%s=%s", used ? ";" : "", k, v);
        if (n < 0 || (size_t)n >= len - used) return THAW_ERANGE;
        used += (size_t)n;
    }
    return 0;
}

int cli_shard_parse(const char *s, struct cli_shard *out, struct thaw_err *err)
{
    const char *end;
    uint64_t k, n;
    if (core_parse_u64(s, 1, ULONG_MAX, &end, &k) || *end != '/' ||
        core_parse_u64(end + 1, 1, ULONG_MAX, NULL, &n) || k > n)
        goto bad;
    out->k = (unsigned long)k;
    out->n = (unsigned long)n;
    return 0;
bad:
    return thaw_err_set(err, THAW_EINVAL, "--shard expects K/N with 1 <= K <= N, found \"%s\"",
                        s ? s : "");
}

bool cli_shard_has(const struct cli_shard *s, size_t index)
{
    return index % s->n == s->k - 1;
}

size_t cli_shard_count(const struct cli_shard *s, size_t total)
{
    /* Indices k-1, k-1+n, ... below total. */
    if (total < s->k) return 0;
    return (total - s->k) / s->n + 1;
}

/* ---- thaw plan ----------------------------------------------------------- */

const char *cli_plan_op_text(enum cli_plan_op op)
{
    switch (op) {
    case CLI_PLAN_LT:
        return "<";
    case CLI_PLAN_LE:
        return "<=";
    case CLI_PLAN_GT:
        return ">";
    case CLI_PLAN_GE:
        return ">=";
    }
    return "?";
}

int cli_plan_target_parse(const char *s, struct cli_plan_target *t, struct thaw_err *err)
{
    const char *p = s ? s : "";
    while (*p == ' ')
        p++;
    size_t n = 0;
    while (p[n] && p[n] != '<' && p[n] != '>' && p[n] != ' ')
        n++;
    if (n == 0 || n >= sizeof t->metric) goto bad;
    memcpy(t->metric, p, n);
    t->metric[n] = '\0';
    p += n;
    while (*p == ' ')
        p++;
    if (*p == '<')
        t->op = p[1] == '=' ? CLI_PLAN_LE : CLI_PLAN_LT;
    else if (*p == '>')
        t->op = p[1] == '=' ? CLI_PLAN_GE : CLI_PLAN_GT;
    else
        goto bad;
    p += (t->op == CLI_PLAN_LE || t->op == CLI_PLAN_GE) ? 2 : 1;
    char *end;
    errno = 0;
    t->value = strtod(p, &end);
    if (end == p || errno || !isfinite(t->value)) goto bad;
    while (*end == ' ')
        end++;
    if (*end) goto bad;
    return 0;
bad:
    return thaw_err_set(err, THAW_EINVAL,
                        "--target expects METRIC<VALUE (or <=, >, >=), such as "
                        "'cold_start_p99_s<15'; found \"%s\"",
                        s ? s : "");
}

int cli_plan_range_parse(const char *s, char *key, size_t key_len, long *lo, long *hi,
                         struct thaw_err *err)
{
    const char *eq = s ? strchr(s, '=') : NULL;
    const char *end;
    int64_t l, h;
    if (!eq || eq == s || (size_t)(eq - s) >= key_len) goto bad;
    if (core_parse_i64(eq + 1, LONG_MIN, LONG_MAX, &end, &l) || strncmp(end, "..", 2) ||
        core_parse_i64(end + 2, LONG_MIN, LONG_MAX, NULL, &h) || l > h)
        goto bad;
    *lo = (long)l;
    *hi = (long)h;
    memcpy(key, s, (size_t)(eq - s));
    key[eq - s] = '\0';
    return 0;
bad:
    return thaw_err_set(err, THAW_EINVAL,
                        "--vary expects KEY=LO..HI with integers LO <= HI, such as "
                        "cluster.nodes[0].gpus=1..16; found \"%s\"",
                        s ? s : "");
}

bool cli_plan_meets(const struct cli_plan_target *t, double v)
{
    if (isnan(v)) return false;
    switch (t->op) {
    case CLI_PLAN_LT:
        return v < t->value;
    case CLI_PLAN_LE:
        return v <= t->value;
    case CLI_PLAN_GT:
        return v > t->value;
    case CLI_PLAN_GE:
        return v >= t->value;
    }
    return false;
}

struct plan_state {
    long lo, hi;
    const struct cli_plan_target *t;
    cli_plan_eval_fn eval;
    void *ctx;
    struct cli_plan_result *r;
};

/* Evaluates x once (cached in the sorted point list); returns its index. */
static int plan_eval(struct plan_state *st, long x)
{
    struct cli_plan_result *r = st->r;
    int i = 0;
    while (i < r->point_count && r->points[i].x < x)
        i++;
    if (i < r->point_count && r->points[i].x == x) return i;
    /* Bisection of a range of longs takes at most 64 steps plus 3 more
     * points, well under CLI_PLAN_MAX_POINTS; the guard keeps it so. */
    if (r->point_count == CLI_PLAN_MAX_POINTS) return -1;
    double v = st->eval(x, st->ctx);
    memmove(&r->points[i + 1], &r->points[i], (size_t)(r->point_count - i) * sizeof r->points[0]);
    r->points[i].x = x;
    r->points[i].value = v;
    r->points[i].meets = cli_plan_meets(st->t, v);
    r->point_count++;
    return i;
}

static bool plan_meets_at(struct plan_state *st, long x)
{
    int i = plan_eval(st, x);
    return i >= 0 && st->r->points[i].meets;
}

static void plan_check(struct cli_plan_result *r)
{
    /* Monotone: the sign of the steps between consecutive points with a
     * value never flips (ties allowed). On a flip, report the start of the
     * last strict step and the two points of the flipping one. */
    r->monotone = true;
    int prev = -1, step_start = -1, dir = 0;
    for (int i = 0; i < r->point_count && r->monotone; i++) {
        if (isnan(r->points[i].value)) continue;
        if (prev >= 0) {
            double d = r->points[i].value - r->points[prev].value;
            int s = d > 0 ? 1 : d < 0 ? -1 : 0;
            if (s && dir && s != dir) {
                r->monotone = false;
                r->bad_x[0] = r->points[step_start].x;
                r->bad_x[1] = r->points[prev].x;
                r->bad_x[2] = r->points[i].x;
            }
            if (s) {
                dir = s;
                step_start = prev;
            }
        }
        prev = i;
    }
    /* Consistent: the truth of the target switches once, at the answer. */
    r->consistent = true;
    for (int i = 0; i < r->point_count; i++) {
        bool expect = r->found && r->points[i].x >= r->answer;
        if (r->points[i].meets != expect) r->consistent = false;
    }
}

/* b - a and the point halfway, for a <= b, without signed overflow even
 * over [LONG_MIN, LONG_MAX]: the width fits an unsigned long and half of
 * it added to a stays within [a, b]. */
static unsigned long width(long a, long b)
{
    return (unsigned long)b - (unsigned long)a;
}

static long midpoint(long a, long b)
{
    return a + (long)(width(a, b) / 2);
}

int cli_plan_search(long lo, long hi, const struct cli_plan_target *t, cli_plan_eval_fn eval,
                    void *ctx, struct cli_plan_result *out)
{
    memset(out, 0, sizeof *out);
    if (lo > hi || !eval || !t) return THAW_EINVAL;
    struct plan_state st = {lo, hi, t, eval, ctx, out};
    bool lo_meets = plan_meets_at(&st, lo);
    bool hi_meets = plan_meets_at(&st, hi);
    long a = lo, b = hi; /* invariant: a fails (or a == lo meets), b meets */
    if (lo_meets) {
        out->found = true;
        out->answer = lo;
    } else if (hi_meets) {
        /* a fails, b meets: halve until adjacent. */
        while (width(a, b) > 1) {
            long m = midpoint(a, b);
            if (plan_meets_at(&st, m))
                b = m;
            else
                a = m;
        }
        out->found = true;
        out->answer = b;
    }
    if (out->found) {
        /* The check: the neighbours of the answer, where a wrong monotonicity
         * assumption would show first. */
        if (out->answer > lo) plan_meets_at(&st, out->answer - 1);
        if (out->answer < hi) plan_meets_at(&st, out->answer + 1);
    } else if (hi > lo) {
        /* Nothing meets at either end: one midpoint, so the table shows the
         * shape of the metric over the range. */
        plan_meets_at(&st, midpoint(lo, hi));
    }
    plan_check(out);
    return 0;
}

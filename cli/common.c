/* common.c - option helpers shared by the subcommands: overrides from --set
 * and --policy, loading a scenario with its diagnostics printed, usage
 * errors. */
#include "cli.h"
#include "core.h"
#include "results.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_overrides_init(struct cli_overrides *o)
{
    memset(o, 0, sizeof *o);
}

void cli_overrides_free(struct cli_overrides *o)
{
    for (int i = 0; i < o->owned_count; i++)
        free(o->owned[i]);
    free(o->owned);
    free(o->items);
    free(o->text);
    memset(o, 0, sizeof *o);
}

static char *own(struct cli_overrides *o, const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    char **grown = realloc(o->owned, (size_t)(o->owned_count + 1) * sizeof *grown);
    if (!copy || !grown) {
        free(copy);
        if (grown) o->owned = grown;
        return NULL;
    }
    o->owned = grown;
    memcpy(copy, s, n);
    copy[n] = '\0';
    o->owned[o->owned_count++] = copy;
    return copy;
}

static int push(struct cli_overrides *o, const char *key, const char *value)
{
    if (o->count == o->capacity) {
        int cap = o->capacity ? o->capacity * 2 : 8;
        struct core_override *grown = realloc(o->items, (size_t)cap * sizeof *grown);
        if (!grown) return -1;
        o->items = grown;
        o->capacity = cap;
    }
    /* ",key=value" and the terminator */
    size_t add = 1 + strlen(key) + 1 + strlen(value) + 1;
    if (o->text_len + add > o->text_cap) {
        size_t cap = o->text_cap ? o->text_cap : 256;
        while (cap < o->text_len + add)
            cap *= 2;
        char *grown = realloc(o->text, cap);
        if (!grown) return -1;
        o->text = grown;
        o->text_cap = cap;
    }
    o->text_len += (size_t)snprintf(o->text + o->text_len, o->text_cap - o->text_len, "%s%s=%s",
                                    o->text_len ? "," : "", key, value);
    o->items[o->count].key = key;
    o->items[o->count].value = value;
    o->count++;
    return 0;
}

int cli_overrides_add_set(struct cli_overrides *o, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        fprintf(stderr, "thaw: --set expects key.path=value, found \"%s\"\n", kv);
        return -1;
    }
    char *key = own(o, kv, (size_t)(eq - kv));
    char *value = own(o, eq + 1, strlen(eq + 1));
    if (!key || !value || push(o, key, value) < 0) {
        fprintf(stderr, "thaw: out of memory\n");
        return -1;
    }
    return 0;
}

int cli_overrides_add_policy(struct cli_overrides *o, const char *spec)
{
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p) {
            fprintf(stderr, "thaw: --policy expects key=value[,key=value...], found \"%.*s\"\n",
                    (int)n, p);
            return -1;
        }
        char buf[256];
        snprintf(buf, sizeof buf, "policy.%.*s", (int)(eq - p), p);
        char *key = own(o, buf, strlen(buf));
        char *value = own(o, eq + 1, (size_t)(p + n - eq - 1));
        if (!key || !value || push(o, key, value) < 0) {
            fprintf(stderr, "thaw: out of memory\n");
            return -1;
        }
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

struct core_spec *cli_load_spec(const char *path, const struct cli_overrides *o)
{
    struct core_diags diags;
    struct core_spec *spec = NULL;
    core_diags_init(&diags);
    int rc = core_spec_load(path, o ? o->items : NULL, o ? o->count : 0, &spec, &diags);
    for (int i = 0; i < diags.count; i++) {
        char line[1200];
        core_diag_format(&diags.items[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    if (rc < 0 && diags.count == 0) fprintf(stderr, "thaw: %s: %s\n", path, thaw_strerror(rc));
    if (rc < 0 && diags.count > 1) fprintf(stderr, "%s: %d errors\n", path, diags.count);
    core_diags_free(&diags);
    return rc < 0 ? NULL : spec;
}

bool cli_is_help(const char *arg)
{
    return arg && (!strcmp(arg, "-h") || !strcmp(arg, "--help"));
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "thaw %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nSee 'thaw %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_parse_range(const char *cmd, const char *opt, const char *s, unsigned long long lo,
                    unsigned long long hi, unsigned long long *out)
{
    uint64_t v;
    int rc = core_parse_u64(s, lo, hi, NULL, &v);
    if (rc == 0) {
        *out = v;
        return 0;
    }
    cli_usage_error(cmd, "%s expects an integer from %llu to %llu, found \"%s\"", opt, lo, hi,
                    s ? s : "");
    return -1;
}

int cli_parse_record(const char *cmd, const char *s, int *level)
{
    enum res_record r;
    if (res_record_parse(s, &r) == 0) {
        *level = (int)r;
        return 0;
    }
    cli_usage_error(cmd, "--record expects summary, loads or all, found \"%s\"", s ? s : "");
    return -1;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long *out)
{
    return cli_parse_range(cmd, opt, s, 0, UINT64_MAX, out);
}

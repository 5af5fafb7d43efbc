/* test_policy_tables.c - a policy is one file and one table entry: every
 * name core_policy_names() lists resolves to the table entry of that name
 * and every entry is listed, and no core source outside the policy files and
 * the loader mentions a policy name or reads a policy's ->name, so the
 * scheduler can only learn about a policy through its table's fields. The
 * source scan runs from the source root (ctest's working directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

/* ---- tables against names ------------------------------------------------- */

/* Every listed name finds the entry carrying it, every entry is listed, in
 * the same order (the loader's "one of ..." text follows the list). */
#define CHECK_TABLE(kind, table, find)                                                             \
    do {                                                                                           \
        const char *const *names = core_policy_names(kind);                                        \
        assert_non_null(names);                                                                    \
        size_t i = 0;                                                                              \
        for (; names[i]; i++) {                                                                    \
            assert_non_null(table[i].name);                                                        \
            assert_ptr_equal(find(names[i]), &table[i]);                                           \
            assert_string_equal(find(names[i])->name, names[i]);                                   \
        }                                                                                          \
        assert_null(table[i].name);                                                                \
        assert_null(find("no_such_policy"));                                                       \
        assert_null(find(NULL));                                                                   \
    } while (0)

static void test_every_name_resolves(void **state)
{
    (void)state;
    CHECK_TABLE("queue", core_queue_policies, core_queue_policy_find);
    CHECK_TABLE("placement", core_placement_policies, core_placement_policy_find);
    CHECK_TABLE("eviction", core_eviction_policies, core_eviction_policy_find);
    CHECK_TABLE("shm", core_shm_policies, core_shm_policy_find);
    CHECK_TABLE("balancer", core_balancer_policies, core_balancer_policy_find);
    CHECK_TABLE("autoscaler", core_autoscale_policies, core_autoscale_policy_find);
    assert_null(core_policy_names("no_such_kind"));
}

/* The fields the scheduler calls without a NULL test are set, and the
 * flags agree with the functions they summarise. */
static void test_entries_are_complete(void **state)
{
    (void)state;
    for (const struct core_queue_policy *p = core_queue_policies; p->name; p++)
        assert_non_null(p->cmp);
    for (const struct core_placement_policy *p = core_placement_policies; p->name; p++)
        assert_non_null(p->pick);
    for (const struct core_balancer_policy *p = core_balancer_policies; p->name; p++)
        assert_non_null(p->pick);
    for (const struct core_eviction_policy *p = core_eviction_policies; p->name; p++) {
        /* any_idle and a wake-up both describe when may_evict holds */
        if (p->any_idle || p->evictable_at_ns) assert_non_null(p->may_evict);
        assert_false(p->any_idle && p->evictable_at_ns);
    }
    /* the spec's switch selects an entry either way, with a step only when on */
    struct core_policy_spec on = {.autoscale = true}, off = {.autoscale = false};
    assert_non_null(core_autoscale_policy_of(&on));
    assert_non_null(core_autoscale_policy_of(&on)->scale);
    assert_non_null(core_autoscale_policy_of(&off));
    assert_null(core_autoscale_policy_of(&off)->scale);
}

/* ---- the source scan ----------------------------------------------------- */

/* Files that may name policies: each policy file holds its own table, the
 * names list is policy_names.c, and the loader (scenario*.c) validates and
 * defaults them. */
static bool may_name_policies(const char *file)
{
    static const char *const allowed[] = {"queue.c",        "placement.c", "evict.c",
                                          "shm_cache.c",    "balancer.c",  "autoscale.c",
                                          "policy_names.c", NULL};
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(file, allowed[i])) return true;
    return !strncmp(file, "scenario", 8);
}

static bool is_policy_name(const char *word)
{
    static const char *const kinds[] = {"queue",    "placement",  "eviction", "shm",
                                        "balancer", "autoscaler", NULL};
    for (int k = 0; kinds[k]; k++) {
        const char *const *names = core_policy_names(kinds[k]);
        for (int i = 0; names && names[i]; i++)
            if (!strcmp(names[i], word)) return true;
    }
    return false;
}

/* Whether the statement around src[at] calls a comparison (strcmp,
 * strncmp, memcmp, strcasecmp): reading a policy's name to print it is fine,
 * comparing it is not. */
static bool in_comparison(const char *src, const char *at)
{
    const char *from = at, *to = at;
    while (from > src && !strchr(";{}", from[-1]))
        from--;
    while (*to && !strchr(";{}", *to))
        to++;
    static const char *const cmps[] = {"strcmp(", "strncmp(", "memcmp(", "strcasecmp(", NULL};
    for (const char *q = from; q < to; q++)
        for (int i = 0; cmps[i]; i++)
            if (!strncmp(q, cmps[i], strlen(cmps[i]))) return true;
    return false;
}

/* Counts the places in C text `src` that test a policy by its name or its
 * entry: a string literal equal to a policy name, a policy's `->name`
 * (s->queue, s->eviction, ...) compared, or a table entry picked by index.
 * Comments are skipped; the first hit is described in `what`. */
static int name_tests(const char *src, char *what, size_t what_len)
{
    static const char *const ptrs[] = {"queue->name", "placement->name", "eviction->name",
                                       "shm->name",   "balancer->name",  "autoscaler->name",
                                       NULL};
    static const char *const tables[] = {"core_queue_policies[",
                                         "core_placement_policies[",
                                         "core_eviction_policies[",
                                         "core_shm_policies[",
                                         "core_balancer_policies[",
                                         "core_autoscale_policies[",
                                         NULL};
    int hits = 0;
    const char *p = src;
    while (*p) {
        if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
        } else if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n')
                p++;
        } else if (*p == '"' || *p == '\'') {
            char quote = *p++;
            char lit[64];
            size_t n = 0;
            bool fits = true;
            for (; *p && *p != quote; p++) {
                if (*p == '\\' && p[1]) p++;
                if (n + 1 < sizeof lit)
                    lit[n++] = *p;
                else
                    fits = false;
            }
            if (*p) p++;
            lit[n] = '\0';
            if (quote == '"' && fits && is_policy_name(lit)) {
                if (!hits++) snprintf(what, what_len, "the literal \"%s\"", lit);
            }
        } else {
            bool word_start = p == src || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
            for (int i = 0; word_start && ptrs[i]; i++) {
                if (!strncmp(p, ptrs[i], strlen(ptrs[i])) && in_comparison(src, p)) {
                    if (!hits++) snprintf(what, what_len, "%s compared", ptrs[i]);
                }
            }
            for (int i = 0; word_start && tables[i]; i++) {
                size_t len = strlen(tables[i]);
                if (!strncmp(p, tables[i], len) && p[len] != ']') {
                    if (!hits++) snprintf(what, what_len, "%s...]", tables[i]);
                }
            }
            p++;
        }
    }
    return hits;
}

/* The scanner itself: what sched.c used to do is caught, comments and
 * other strings are not. */
static void test_scanner_catches_name_tests(void **state)
{
    (void)state;
    char what[128] = "";
    /* what sched.c used to do: both the literal and the compared name */
    assert_int_equal(
        name_tests("j.est_s = !strcmp(s->queue->name, \"sjf\") ? 1 : 0;", what, sizeof what), 2);
    assert_string_equal(what, "queue->name compared");
    assert_int_equal(name_tests("if (!strcmp(p, \"keep_alive\")) x();", what, sizeof what), 1);
    assert_string_equal(what, "the literal \"keep_alive\"");
    assert_int_equal(name_tests("bool e = strncmp(s->eviction->name, x, 2);", what, sizeof what),
                     1);
    assert_int_equal(name_tests("if (s->queue == &core_queue_policies[3]) x();", what, sizeof what),
                     1);
    assert_string_equal(what, "core_queue_policies[...]");
    /* comments, other words, escaped quotes, char literals and printing pass */
    assert_int_equal(name_tests("/* only \"sjf\" */ // \"lru\"\nx = \"sjf_x\";", what, sizeof what),
                     0);
    assert_int_equal(
        name_tests("s = \"say \\\"lru\\\"\"; c = '\"'; t = \"ok\";", what, sizeof what), 0);
    assert_int_equal(name_tests("FAIL(\"out of %s order\", s->queue->name);", what, sizeof what),
                     0);
    assert_int_equal(name_tests("if (!strcmp(ms->name, x)) y();", what, sizeof what), 0);
    assert_int_equal(
        name_tests("if (s->queue->cmp(a, b) > 0) FAIL(\"%s\", s->queue->name);", what, sizeof what),
        0);
    assert_int_equal(
        name_tests("extern const struct core_shm_policy core_shm_policies[];", what, sizeof what),
        0);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

static void test_core_sources_test_no_names(void **state)
{
    (void)state;
    DIR *d = opendir("core");
    assert_non_null(d); /* run from the source root */
    int scanned = 0, bad = 0;
    bool saw_sched = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 3 || (strcmp(e->d_name + len - 2, ".c") && strcmp(e->d_name + len - 2, ".h")))
            continue;
        if (may_name_policies(e->d_name)) continue;
        char path[512];
        snprintf(path, sizeof path, "core/%s", e->d_name);
        char *src = read_all(path);
        assert_non_null(src);
        char what[128] = "";
        int n = name_tests(src, what, sizeof what);
        if (n) {
            print_error("%s: %d policy name test(s), first %s: put what the scheduler needs "
                        "in the policy's table\n",
                        path, n, what);
            bad++;
        }
        scanned++;
        saw_sched = saw_sched || !strcmp(e->d_name, "sched.c");
        free(src);
    }
    closedir(d);
    assert_true(saw_sched);
    assert_true(scanned >= 5);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_name_resolves),
        cmocka_unit_test(test_entries_are_complete),
        cmocka_unit_test(test_scanner_catches_name_tests),
        cmocka_unit_test(test_core_sources_test_no_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_boundaries.c - the module graph holds at link level: no library
 * references a symbol of a module it must not use (core uses no other
 * module; results no driver; workload only core; shell no driver; sim and
 * exec not each other; none uses cli). It reads the undefined symbols of each
 * built archive ($THAW_LIB_<module>, set by ctest) with `nm -A
 * --undefined-only` and checks them against the modules' prefixes, so a call
 * across a forbidden edge fails here even where the headers let it compile.
 * The checker is first run on edges that do exist, to show it would see one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PREFIXES 8

/* One library and the prefixes of the modules it must not reference. */
struct rule {
    const char *module; /* thaw_<module>, path in $THAW_LIB_<module> */
    const char *forbidden[MAX_PREFIXES];
};

/* The allowed graph (README "Layout"): core <- results; core <- workload;
 * core, results, workload <- shell <- sim, exec; everything <- cli. Each
 * row forbids every module that is not below it. */
static const struct rule rules[] = {
    {"core", {"res_", "wl_", "shell_", "sim_", "exec_", "cli_", NULL}},
    {"results", {"wl_", "shell_", "sim_", "exec_", "cli_", NULL}},
    {"workload", {"res_", "shell_", "sim_", "exec_", "cli_", NULL}},
    {"shell", {"sim_", "exec_", "cli_", NULL}},
    {"sim", {"exec_", "cli_", NULL}},
    {"exec", {"sim_", "cli_", NULL}},
};

struct scan {
    int symbols;    /* undefined symbols read from the archive */
    int violations; /* of them, those with a forbidden prefix */
};

static const char *lib_path(const char *module)
{
    char name[64];
    snprintf(name, sizeof name, "THAW_LIB_%s", module);
    const char *p = getenv(name);
    if (!p || !*p) {
        fprintf(stderr, "%s is not set (ctest sets it)\n", name);
        fail();
    }
    return p;
}

static const char *forbidden_prefix(const char *sym, const char *const *forbidden)
{
    for (int i = 0; forbidden[i]; i++)
        if (!strncmp(sym, forbidden[i], strlen(forbidden[i]))) return forbidden[i];
    return NULL;
}

/* Reads `module`'s archive and counts its undefined symbols that start with
 * one of `forbidden`; `report` prints each. */
static struct scan scan_library(const char *module, const char *const *forbidden, bool report)
{
    const char *lib = lib_path(module);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "nm -A --undefined-only '%s' 2>&1", lib);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct scan s = {0, 0};
    char line[1024];
    size_t lib_len = strlen(lib);
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        /* "<archive>:<object>:<spaces>U <symbol>" */
        if (strncmp(line, lib, lib_len) != 0 || line[lib_len] != ':') continue;
        char *obj = line + lib_len + 1;
        char *colon = strchr(obj, ':');
        if (!colon) continue;
        *colon = '\0';
        char *sym = strrchr(colon + 1, ' ');
        sym = sym ? sym + 1 : colon + 1;
        char *at = strchr(sym, '@'); /* versioned names */
        if (at) *at = '\0';
        s.symbols++;
        const char *bad = forbidden_prefix(sym, forbidden);
        if (bad) {
            s.violations++;
            if (report)
                fprintf(stderr, "boundary: libthaw_%s (%s) references %s, a %s symbol\n", module,
                        obj, sym, bad);
        }
    }
    assert_int_equal(pclose(p), 0);
    return s;
}

static void test_prefix_match(void **state)
{
    (void)state;
    const char *const f[] = {"sim_", "exec_", NULL};
    assert_non_null(forbidden_prefix("sim_run", f));
    assert_non_null(forbidden_prefix("exec_load", f));
    assert_null(forbidden_prefix("simulate", f));   /* a prefix, not a substring */
    assert_null(forbidden_prefix("core_exec_", f)); /* only at the start */
    assert_null(forbidden_prefix("memcpy", f));
}

/* Edges that do exist, so a checker that saw nothing would fail here: shell
 * records rows (res_), sim and exec drive the shell (shell_), the shell feeds
 * the core (core_) and takes the world's inputs (wl_). */
static void test_checker_sees_real_edges(void **state)
{
    (void)state;
    static const struct {
        const char *module;
        const char *prefix;
    } edges[] = {
        {"shell", "res_"}, {"shell", "core_"}, {"shell", "wl_"},
        {"sim", "shell_"}, {"exec", "shell_"}, {"results", "core_"},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        const char *const f[] = {edges[i].prefix, NULL};
        struct scan s = scan_library(edges[i].module, f, false);
        if (s.violations == 0)
            fprintf(stderr, "the checker saw no %s symbol in libthaw_%s\n", edges[i].prefix,
                    edges[i].module);
        assert_true(s.violations > 0);
    }
}

static void test_libraries_keep_their_boundaries(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct scan s = scan_library(rules[i].module, rules[i].forbidden, true);
        /* An archive with no undefined symbol at all was not read (a wrong
         * path, an nm that prints another format): that must not pass. */
        if (s.symbols == 0) fprintf(stderr, "no symbols read from libthaw_%s\n", rules[i].module);
        assert_true(s.symbols > 0);
        bad += s.violations;
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_match),
        cmocka_unit_test(test_checker_sees_real_edges),
        cmocka_unit_test(test_libraries_keep_their_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

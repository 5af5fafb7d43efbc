/* test_purity.c - the core stays pure: no object of libthaw_core references
 * SQLite, CUDA, threads, clocks, sleeping or libc's rand, and only the
 * scenario loader's objects (scenario*, units, diag, sha256) may open files.
 * It reads the undefined symbols of the built archive ($THAW_CORE_LIB, set by
 * ctest) with `nm -A --undefined-only`, so a call that creeps in fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_loader_object(const char *obj)
{
    return starts(obj, "scenario") || strstr(obj, "units") || strstr(obj, "diag") ||
           strstr(obj, "sha256");
}

static bool opens_files(const char *sym)
{
    static const char *const names[] = {"fopen",  "fopen64",  "freopen",  "open",       "open64",
                                        "openat", "openat64", "__open_2", "__open64_2", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(sym, names[i])) return true;
    return false;
}

static bool always_forbidden(const char *sym)
{
    static const char *const names[] = {"clock_gettime", "gettimeofday", "time",  "sleep",
                                        "usleep",        "nanosleep",    "rand",  "srand",
                                        "rand_r",        "random",       "clock", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(sym, names[i])) return true;
    if (starts(sym, "sqlite3_") || starts(sym, "pthread_") || starts(sym, "cuda")) return true;
    /* the CUDA driver API: cuInit, cuMemAlloc, ... */
    return sym[0] == 'c' && sym[1] == 'u' && sym[2] >= 'A' && sym[2] <= 'Z';
}

/* Whether object `obj` may reference `sym`. */
static bool allowed(const char *obj, const char *sym)
{
    if (always_forbidden(sym)) return false;
    if (opens_files(sym)) return is_loader_object(obj);
    return true;
}

static void test_classifier(void **state)
{
    (void)state;
    assert_true(allowed("sched.c.o", "memcpy"));
    assert_false(allowed("sched.c.o", "fopen"));
    assert_false(allowed("queue.c.o", "open"));
    assert_true(allowed("scenario_yaml.c.o", "fopen"));
    assert_true(allowed("sha256.c.o", "open"));
    assert_false(allowed("scenario_yaml.c.o", "time"));
    assert_false(allowed("units.c.o", "sqlite3_open"));
    assert_false(allowed("balancer.c.o", "rand"));
    assert_false(allowed("sched.c.o", "pthread_mutex_lock"));
    assert_false(allowed("sched.c.o", "cudaMalloc"));
    assert_false(allowed("sched.c.o", "cuInit"));
    assert_true(allowed("sched.c.o", "cumulative")); /* not the driver API */
    assert_false(allowed("names.c.o", "clock_gettime"));
}

static void test_core_library_is_pure(void **state)
{
    (void)state;
    const char *lib = getenv("THAW_CORE_LIB");
    if (!lib || !*lib) {
        fprintf(stderr, "THAW_CORE_LIB is not set (ctest sets it)\n");
        fail();
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "nm -A --undefined-only '%s' 2>&1", lib);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[1024];
    int bad = 0, lines = 0;
    bool saw_sched = false;
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
        lines++;
        if (!strcmp(obj, "sched.c.o")) saw_sched = true;
        if (!allowed(obj, sym)) {
            fprintf(stderr, "impure: %s references %s\n", obj, sym);
            bad++;
        }
    }
    int status = pclose(p);
    assert_int_equal(status, 0);
    assert_true(lines > 0);
    assert_true(saw_sched); /* the scheduler's own object was inspected */
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classifier),
        cmocka_unit_test(test_core_library_is_pure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

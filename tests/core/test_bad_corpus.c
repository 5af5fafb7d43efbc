/* test_bad_corpus.c - every tests/scenarios/bad/NAME.yaml must fail to load,
 * and its first diagnostic line must contain what the file's first line
 * promises: "# expect: NAME.yaml:LINE:COL: key.path: message". Adding a case
 * is adding a file; the corpus holds one mistake per file, so the first
 * diagnostic is the one that matters. Each file must load within
 * LOAD_LIMIT_S seconds: a loader that hangs ("- - " once took 2^80 steps)
 * fails the test naming the file instead of stalling the suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec.h"

#define CORPUS "tests/scenarios/bad"
#define LOAD_LIMIT_S 5

static char loading[512];

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Async-signal-safe: write(2) and _exit(2) only. */
static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "load did not finish in time: ";
    if (write(2, msg, sizeof msg - 1) > 0 && write(2, loading, strlen(loading)) > 0) {
        if (write(2, "\n", 1)) {
        }
    }
    _exit(1);
}

/* Checks one file; returns 0 or prints why it failed and returns 1. */
static int check_one(const char *name)
{
    char path[512], first[1024] = "";
    snprintf(path, sizeof path, "%s/%s", CORPUS, name);
    FILE *f = fopen(path, "rb");
    if (!f || !fgets(first, sizeof first, f)) {
        print_error("%s: cannot read its first line\n", path);
        if (f) fclose(f);
        return 1;
    }
    fclose(f);
    first[strcspn(first, "\r\n")] = '\0';
    const char *tag = "# expect: ";
    if (strncmp(first, tag, strlen(tag)) || !first[strlen(tag)]) {
        print_error("%s: first line must be \"# expect: <first diagnostic>\"\n", path);
        return 1;
    }
    const char *want = first + strlen(tag);
    /* The promise names the place: "NAME.yaml:" (then line:col, except for a
     * file with no document at all). */
    if (strncmp(want, name, strlen(name)) || want[strlen(name)] != ':') {
        print_error("%s: the expectation must start with \"%s:\"\n", path, name);
        return 1;
    }
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *spec = (struct core_spec *)&d;
    snprintf(loading, sizeof loading, "%s", path);
    alarm(LOAD_LIMIT_S);
    int rc = core_spec_load(path, NULL, 0, &spec, &d);
    alarm(0);
    int bad = 0;
    char line[1200] = "";
    if (d.count > 0) core_diag_format(&d.items[0], line, sizeof line);
    if (rc != THAW_EPARSE || spec != NULL || d.count < 1) {
        print_error("%s: rc %d, %d diagnostics, spec %s (want THAW_EPARSE, >= 1, NULL)\n", path, rc,
                    d.count, spec ? "set" : "NULL");
        bad = 1;
    } else if (!strstr(line, want)) {
        print_error("%s:\n  first: %s\n  want:  %s\n", path, line, want);
        bad = 1;
    }
    for (int i = 0; i < d.count; i++)
        if (!d.items[i].file[0] || d.items[i].line < 0 ||
            (d.items[i].line > 0) != (d.items[i].column > 0)) {
            print_error("%s: diagnostic %d lacks a file or a consistent line:column\n", path, i);
            bad = 1;
        }
    if (spec && spec != (struct core_spec *)&d) core_spec_free(spec);
    core_diags_free(&d);
    return bad;
}

static void test_corpus(void **state)
{
    (void)state;
    assert_int_equal(chdir(THAW_SOURCE_DIR), 0);
    signal(SIGALRM, on_alarm);
    DIR *dir = opendir(CORPUS);
    assert_non_null(dir);
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < 512) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml")) names[n++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)n, sizeof *names, by_name);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        assert_non_null(names[i]);
        failed += check_one(names[i]);
        free(names[i]);
    }
    print_message("%d corpus files, %d failed\n", n, failed);
    assert_true(n >= 25);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

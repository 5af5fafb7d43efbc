/* test_resources.c - exec/resources.c: a scenario far larger than the disk
 * is refused by exec_weights_prepare with both numbers and nothing written;
 * a file of the right size is not counted again; the host-memory need
 * counts emulated VRAM only on the host backend (each GPU at most its cap)
 * and each node's shm tier at most its capacity; MemAvailable is read from
 * a meminfo file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec.h"

#define MIB (1024ull * 1024ull)
#define TIB (1024ull * 1024ull * MIB)

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static struct core_spec *load(const char *dir, const char *yaml)
{
    char path[300];
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(yaml, fp);
    fclose(fp);
    struct core_diags diags;
    core_diags_init(&diags);
    struct core_spec *spec = NULL;
    int rc = core_spec_load(path, NULL, 0, &spec, &diags);
    for (int i = 0; i < diags.count; i++) {
        char line[1200];
        core_diag_format(&diags.items[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    core_diags_free(&diags);
    assert_int_equal(rc, 0);
    return spec;
}

static void test_disk_refused_nothing_written(void **state)
{
    (void)state;
    char dir[] = "/tmp/thaw-res-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* 1024 TiB of weights: more than any disk this test runs on. */
    struct core_spec *spec =
        load(dir, "cluster:\n"
                  "  nodes:\n"
                  "    - {name: h, gpus: 1, vram: 2048TiB, h2d: 12GB/s, storage_read: 1GB/s}\n"
                  "models:\n"
                  "  - {name: small, weights: 1MiB}\n"
                  "  - {name: huge, weights: 1024TiB}\n");
    char w[320];
    snprintf(w, sizeof w, "%s/weights", dir);
    struct thaw_err err = {0, ""};
    int generated = -1;
    uint64_t bytes = 1;
    assert_int_equal(exec_weights_prepare(spec, w, &generated, &bytes, &err), THAW_ENOMEM);
    /* 1024 TiB + 1 MiB = 1125899906842624 + 1048576 bytes, both files. */
    assert_non_null(strstr(err.msg, "2 weight files to write need 1125899907891200 bytes"));
    assert_non_null(strstr(err.msg, "free"));
    assert_int_equal(generated, 0);
    struct stat sb;
    assert_int_not_equal(stat(w, &sb), 0); /* not even the folder */
    core_spec_free(spec);

    /* A small scenario fits; once written, nothing is counted again. */
    spec = load(dir, "cluster:\n"
                     "  nodes:\n"
                     "    - {name: h, gpus: 1, vram: 64MiB, h2d: 12GB/s, storage_read: 1GB/s}\n"
                     "models:\n"
                     "  - {name: small, weights: 1MiB}\n");
    assert_int_equal(exec_weights_prepare(spec, w, &generated, &bytes, &err), 0);
    assert_int_equal(generated, 1);
    assert_int_equal(exec_weights_check_disk(spec, w, false, &err), 0);
    core_spec_free(spec);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_memory_need(void **state)
{
    (void)state;
    char dir[] = "/tmp/thaw-res-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct core_spec *spec =
        load(dir, "cluster:\n"
                  "  nodes:\n"
                  "    - {name: a, gpus: 2, vram: 64MiB, shm: {size: 8MiB, read: 10GB/s, write: "
                  "4GB/s}, h2d: 12GB/s, storage_read: 1GB/s}\n"
                  "    - {name: b, gpus: 1, vram: 32TiB, shm: {size: 1TiB, read: 10GB/s, write: "
                  "4GB/s}, h2d: 12GB/s, storage_read: 1GB/s}\n"
                  "models:\n"
                  "  - {name: m, weights: 3MiB, vram: 4MiB}\n");
    uint64_t vram, shm;
    exec_host_memory_need(spec, true, &vram, &shm);
    /* caps 64+64 MiB + 32 TiB; one 4 MiB instance per GPU: 3 x 4 MiB. */
    assert_int_equal(vram, 12 * MIB);
    /* node a: min(8 MiB, 3 MiB); node b: min(1 TiB, 3 MiB). */
    assert_int_equal(shm, 6 * MIB);
    exec_host_memory_need(spec, false, &vram, &shm);
    assert_int_equal(vram, 0);
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_check_memory(spec, true, &err), 0); /* 18 MiB fits */
    core_spec_free(spec);

    spec = load(dir, "cluster:\n"
                     "  nodes:\n"
                     "    - {name: a, gpus: 1, vram: 64TiB, h2d: 12GB/s, storage_read: 1GB/s}\n"
                     "models:\n"
                     "  - {name: m, weights: 1MiB, vram: 32TiB}\n");
    assert_int_equal(exec_check_memory(spec, true, &err), THAW_ENOMEM);
    assert_non_null(strstr(err.msg, "MemAvailable"));
    assert_non_null(strstr(err.msg, "35184372088832 bytes"));  /* 32 TiB */
    assert_int_equal(exec_check_memory(spec, false, &err), 0); /* on a device: not host memory */
    core_spec_free(spec);

    char mi[320];
    snprintf(mi, sizeof mi, "%s/meminfo", dir);
    FILE *fp = fopen(mi, "w");
    fputs("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    1234 kB\n", fp);
    fclose(fp);
    uint64_t avail = 0;
    assert_int_equal(exec_meminfo_available(mi, &avail, &err), 0);
    assert_int_equal(avail, 1234u * 1024u);
    fp = fopen(mi, "w");
    fputs("MemTotal: 1 kB\n", fp);
    fclose(fp);
    assert_int_equal(exec_meminfo_available(mi, &avail, &err), THAW_ENOENT);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_refused_nothing_written),
        cmocka_unit_test(test_memory_need),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

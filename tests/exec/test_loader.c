/* test_loader.c - exec/loader.c on the host backend: synthetic files land
 * with the right checksum through the pipeline for several chunk sizes and
 * depths (including files that are not a multiple of the chunk, and O_DIRECT
 * reads), multi-file sources with unaligned pieces, memory sources; a
 * corrupted byte is a checksum mismatch, a truncated file an error naming it,
 * a cancel a THAW_EINTR; and the arena's VRAM cap fails cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "loader.h"
#include "weights.h"

#define MIB (1024u * 1024u)

struct fixture {
    char dir[64];
    struct exec_backend *be;
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/thaw-test-loader-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    /* Two emulated GPUs: 64 MiB and 1 MiB. */
    uint64_t caps[2] = {64ull * MIB, 1ull * MIB};
    struct exec_backend_config cfg = {2, caps, NULL};
    struct thaw_err err = {0, ""};
    if (exec_backend_open("host", &cfg, &f->be, NULL, 0, &err) != 0) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    exec_backend_close(f->be);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void gen(struct fixture *f, const char *name, uint64_t bytes, uint64_t seed, char *path,
                size_t len)
{
    snprintf(path, len, "%s/%s", f->dir, name);
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_weights_gen(path, bytes, seed, &err), 0);
}

static void test_pipeline_chunk_sizes(void **state)
{
    struct fixture *f = *state;
    char path[256];
    const uint64_t size = 3ull * MIB + 13; /* not a multiple of any chunk below */
    gen(f, "w.bin", size, 7, path, sizeof path);
    struct exec_segment seg = {path, 0, size};
    struct exec_source src = {EXEC_SOURCE_FILES, 1, &seg, NULL, size, path, -1};
    uint64_t expected = exec_weights_expected_checksum(size, 7);
    struct exec_dev_buf *buf = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_backend_alloc(f->be, 0, size, &buf, &err), 0);
    const size_t chunks[] = {4096, 65536, 1 * MIB, 8 * MIB};
    const int depths[] = {2, 4};
    for (size_t c = 0; c < 4; c++) {
        for (size_t d = 0; d < 2; d++) {
            for (int mode = 0; mode < 3; mode++) {
                memset(buf->ptr, 0, (size_t)size);
                struct exec_load_options o;
                exec_load_options_init(&o);
                o.chunk_bytes = chunks[c];
                o.depth = depths[d];
                /* mode 0: expected given; 1: computed while reading; 2: O_DIRECT
                 * and dropping the page cache first. */
                o.have_expected = mode != 1;
                o.expected_checksum = expected;
                o.try_direct = mode == 2;
                o.drop_cache = mode == 2;
                struct exec_load_result r;
                int rc = exec_load(f->be, buf, &src, &o, &r, &err);
                if (rc)
                    print_error("chunk %zu depth %d mode %d: %s\n", chunks[c], depths[d], mode,
                                err.msg);
                assert_int_equal(rc, 0);
                assert_true(r.verified);
                assert_int_equal(r.bytes, size);
                assert_true(r.checksum == expected);
                assert_true(r.expected == expected);
                assert_true(r.copy_ns > 0 && r.total_ns >= r.copy_ns);
                /* The bytes themselves: the host arena is host memory. */
                assert_true(exec_checksum(buf->ptr, (size_t)size, 0) == expected);
            }
        }
    }
    /* A request reads the loaded weights like the reference does. */
    uint64_t v = 0;
    assert_int_equal(exec_backend_request(f->be, buf, size, 3, &v, &err), 0);
    uint8_t *copy = malloc((size_t)size);
    exec_weights_fill(copy, (size_t)size, 0, 7);
    assert_true(v == exec_request_ref(copy, size, 3));
    free(copy);
    exec_backend_free(f->be, buf);
}

/* Two files whose pieces start at odd offsets and have odd lengths, as the
 * data sections of safetensors shards do: they land back to back and the
 * checksum computed while reading matches the device's. */
static void test_multi_segment(void **state)
{
    struct fixture *f = *state;
    char p1[256], p2[256];
    gen(f, "a.bin", 100003, 1, p1, sizeof p1);
    gen(f, "b.bin", 70001, 2, p2, sizeof p2);
    struct exec_segment segs[2] = {{p1, 77, 100003 - 77}, {p2, 5, 70001 - 5}};
    uint64_t total = segs[0].bytes + segs[1].bytes;
    struct exec_source src = {EXEC_SOURCE_FILES, 2, segs, NULL, total, "two files", -1};
    struct exec_dev_buf *buf = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_backend_alloc(f->be, 0, total + 100, &buf, &err), 0);
    struct exec_load_options o;
    exec_load_options_init(&o);
    o.chunk_bytes = 8192;
    struct exec_load_result r;
    assert_int_equal(exec_load(f->be, buf, &src, &o, &r, &err), 0);
    assert_true(r.verified);
    /* Expected: stream bytes 77.. of seed 1, then 5.. of seed 2. */
    uint8_t *a = malloc(100003), *b = malloc(70001);
    exec_weights_fill(a, 100003, 0, 1);
    exec_weights_fill(b, 70001, 0, 2);
    assert_memory_equal(buf->ptr, a + 77, segs[0].bytes);
    assert_memory_equal((uint8_t *)buf->ptr + segs[0].bytes, b + 5, segs[1].bytes);
    struct exec_csum c;
    exec_csum_init(&c);
    exec_csum_feed(&c, a + 77, segs[0].bytes);
    exec_csum_feed(&c, b + 5, segs[1].bytes);
    assert_true(r.checksum == exec_csum_final(&c));
    free(a);
    free(b);
    exec_backend_free(f->be, buf);
}

static void test_memory_source(void **state)
{
    struct fixture *f = *state;
    const size_t size = 2 * MIB + 3;
    uint8_t *data = malloc(size);
    exec_weights_fill(data, size, 0, 11);
    struct exec_source src = {EXEC_SOURCE_MEMORY, 0, NULL, data, size, "memory", -1};
    struct exec_dev_buf *buf = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_backend_alloc(f->be, 0, size, &buf, &err), 0);
    for (int given = 0; given < 2; given++) {
        struct exec_load_options o;
        exec_load_options_init(&o);
        o.chunk_bytes = 1 * MIB;
        o.have_expected = given;
        o.expected_checksum = exec_weights_expected_checksum(size, 11);
        struct exec_load_result r;
        assert_int_equal(exec_load(f->be, buf, &src, &o, &r, &err), 0);
        assert_true(r.verified);
        assert_true(r.checksum == exec_weights_expected_checksum(size, 11));
    }
    assert_memory_equal(buf->ptr, data, size);
    free(data);
    exec_backend_free(f->be, buf);
}

static void test_corrupt_byte(void **state)
{
    struct fixture *f = *state;
    char path[256];
    const uint64_t size = 1 * MIB + 1;
    gen(f, "c.bin", size, 5, path, sizeof path);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\xff", 1, 123457), 1); /* was a stream byte */
    close(fd);
    uint8_t orig;
    uint8_t tmp[8];
    exec_weights_fill(tmp, 8, 123456, 5); /* bytes 123456..123463 */
    orig = tmp[1];
    if (orig == 0xff) skip(); /* the flip would be a no-op; never for seed 5, but honest */
    struct exec_segment seg = {path, 0, size};
    struct exec_source src = {EXEC_SOURCE_FILES, 1, &seg, NULL, size, path, -1};
    struct exec_dev_buf *buf = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_backend_alloc(f->be, 0, size, &buf, &err), 0);
    struct exec_load_options o;
    exec_load_options_init(&o);
    o.chunk_bytes = 65536;
    o.have_expected = true;
    o.expected_checksum = exec_weights_expected_checksum(size, 5);
    struct exec_load_result r;
    assert_int_equal(exec_load(f->be, buf, &src, &o, &r, &err), THAW_EIO);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    assert_non_null(strstr(err.msg, path));
    assert_false(r.verified);
    assert_int_equal(r.bytes, size); /* everything was copied; the check caught it */
    exec_backend_free(f->be, buf);
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    char path[256];
    gen(f, "t.bin", 500000, 5, path, sizeof path);
    assert_int_equal(truncate(path, 300000), 0);
    struct exec_segment seg = {path, 0, 500000};
    struct exec_source src = {EXEC_SOURCE_FILES, 1, &seg, NULL, 500000, path, -1};
    struct exec_dev_buf *buf = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_backend_alloc(f->be, 0, 500000, &buf, &err), 0);
    struct exec_load_result r;
    assert_int_equal(exec_load(f->be, buf, &src, NULL, &r, &err), THAW_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "truncated"));
    /* A file that vanishes: named too. */
    char gone[300];
    snprintf(gone, sizeof gone, "%s/missing.bin", f->dir);
    seg.path = gone;
    src.label = gone;
    assert_int_equal(exec_load(f->be, buf, &src, NULL, &r, &err), THAW_ENOENT);
    assert_non_null(strstr(err.msg, gone));
    exec_backend_free(f->be, buf);
}

static void test_cancel_then_load(void **state)
{
    struct fixture *f = *state;
    char path[256];
    const uint64_t size = 4 * MIB;
    gen(f, "j.bin", size, 8, path, sizeof path);
    struct exec_segment seg = {path, 0, size};
    struct exec_source src = {EXEC_SOURCE_FILES, 1, &seg, NULL, size, path, -1};
    struct exec_dev_buf *buf = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_backend_alloc(f->be, 0, size, &buf, &err), 0);
    atomic_bool cancel;
    atomic_init(&cancel, true);
    struct exec_load_options o;
    exec_load_options_init(&o);
    o.chunk_bytes = 65536;
    o.cancel = &cancel;
    assert_int_equal(exec_load(f->be, buf, &src, &o, NULL, &err), THAW_EINTR);
    assert_non_null(strstr(err.msg, "cancelled"));
    /* The same load, not cancelled, verifies. */
    atomic_store(&cancel, false);
    o.have_expected = true;
    o.expected_checksum = exec_weights_expected_checksum(size, 8);
    struct exec_load_result r;
    assert_int_equal(exec_load(f->be, buf, &src, &o, &r, &err), 0);
    assert_true(r.verified);
    exec_backend_free(f->be, buf);
}

static void test_vram_cap(void **state)
{
    struct fixture *f = *state;
    struct thaw_err err = {0, ""};
    struct exec_dev_buf *a = NULL, *b = NULL, *c = NULL;
    uint64_t free_b = 0, total = 0;
    /* GPU 1 has a 1 MiB cap: 768 KiB fits, another 512 KiB does not. */
    assert_int_equal(exec_backend_alloc(f->be, 1, 768 * 1024, &a, &err), 0);
    assert_int_equal(exec_backend_alloc(f->be, 1, 512 * 1024, &b, &err), THAW_ENOMEM);
    assert_null(b);
    assert_non_null(strstr(err.msg, "cap"));
    assert_int_equal(exec_backend_mem_info(f->be, 1, &free_b, &total, &err), 0);
    assert_int_equal(free_b, 256 * 1024);
    assert_int_equal(total, 1 * MIB);
    /* GPU 0 is a separate arena. */
    assert_int_equal(exec_backend_alloc(f->be, 0, 512 * 1024, &c, &err), 0);
    exec_backend_free(f->be, a);
    assert_int_equal(exec_backend_alloc(f->be, 1, 512 * 1024, &b, &err), 0);
    exec_backend_free(f->be, b);
    exec_backend_free(f->be, c);
    assert_int_equal(exec_backend_mem_info(f->be, 1, &free_b, NULL, &err), 0);
    assert_int_equal(free_b, 1 * MIB);
    /* No such GPU; a load bigger than its buffer. */
    assert_int_equal(exec_backend_alloc(f->be, 2, 1, &a, &err), THAW_EINVAL);
    assert_int_equal(exec_backend_alloc(f->be, 0, 4096, &a, &err), 0);
    uint8_t data[8192] = {0};
    struct exec_source src = {EXEC_SOURCE_MEMORY, 0, NULL, data, sizeof data, "big", -1};
    assert_int_equal(exec_load(f->be, a, &src, NULL, NULL, &err), THAW_EINVAL);
    exec_backend_free(f->be, a);
    /* An allocation left behind is freed by close (ASan checks the leak). */
    assert_int_equal(exec_backend_alloc(f->be, 0, 4096, &a, &err), 0);
}

static void test_backend_select(void **state)
{
    (void)state;
    uint64_t caps[1] = {MIB};
    struct exec_backend_config cfg = {1, caps, NULL};
    struct exec_backend *be = NULL;
    char why[256];
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_backend_open("tpu", &cfg, &be, why, sizeof why, &err), THAW_EINVAL);
    assert_int_equal(exec_backend_open("auto", &cfg, &be, why, sizeof why, &err), 0);
    /* Here auto gives host with a reason (no CUDA), or cuda where one answers. */
    if (!strcmp(exec_backend_name(be), "host")) {
        assert_non_null(strstr(why, "using host backend"));
        struct exec_backend *c = NULL;
        assert_true(exec_backend_open("cuda", &cfg, &c, NULL, 0, &err) < 0);
        assert_null(c);
    }
    exec_backend_close(be);
    uint64_t zero[1] = {0};
    struct exec_backend_config bad = {1, zero, NULL};
    assert_int_equal(exec_backend_open("host", &bad, &be, NULL, 0, &err), THAW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipeline_chunk_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_then_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vram_cap, setup, teardown),
        cmocka_unit_test(test_backend_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_cuda.c - the cuda backend on a real device: a synthetic file loads
 * through the pipeline (pinned staging, two streams) and the checksum kernel
 * agrees with the host's expected value; the request kernel returns what the
 * C reference computes; a peer copy between two emulated GPUs lands intact;
 * the scenario's VRAM cap binds before the card does.
 * Where no device answers (no driver, no GPU, built without CUDA) it exits
 * 77 (skipped) after printing "no CUDA device: <reason>". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "loader.h"
#include "weights.h"

#define MIB (1024ull * 1024ull)

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void test_cuda_load_and_request(void **state)
{
    (void)state;
    char dir[] = "/tmp/thaw-test-cuda-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/w.bin", dir);
    const uint64_t size = 96 * MIB + 13; /* not a multiple of the chunk or of 8 */
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_weights_gen(path, size, 5, &err), 0);

    /* Two emulated GPUs on however many devices there are; GPU 1 capped at 64 MiB. */
    uint64_t caps[2] = {256 * MIB, 64 * MIB};
    struct exec_backend_config cfg = {2, caps, NULL};
    struct exec_backend *be = NULL;
    assert_int_equal(exec_backend_open("cuda", &cfg, &be, NULL, 0, &err), 0);
    assert_string_equal(exec_backend_name(be), "cuda");
    char desc[256];
    exec_backend_describe(be, 0, desc, sizeof desc);
    print_message("device: %s\n", desc);

    struct exec_dev_buf *buf = NULL;
    assert_int_equal(exec_backend_alloc(be, 0, size, &buf, &err), 0);
    struct exec_segment seg = {path, 0, size};
    struct exec_source src = {EXEC_SOURCE_FILES, 1, &seg, NULL, size, path, -1};
    const size_t chunks[] = {4 * MIB, 64 * MIB};
    for (int i = 0; i < 2; i++) {
        struct exec_load_options o;
        exec_load_options_init(&o);
        o.chunk_bytes = chunks[i];
        o.have_expected = i == 0; /* second: computed on the host while reading */
        o.expected_checksum = exec_weights_expected_checksum(size, 5);
        o.drop_cache = true;
        struct exec_load_result r;
        int rc = exec_load(be, buf, &src, &o, &r, &err);
        if (rc) print_error("%s\n", err.msg);
        assert_int_equal(rc, 0);
        assert_true(r.verified);
        assert_true(r.checksum == exec_weights_expected_checksum(size, 5));
        print_message("chunk %zu MiB: %.2f GB/s copy, verify %.1f ms\n", (size_t)(chunks[i] / MIB),
                      r.gbps, (double)r.verify_ns / 1e6);
    }
    /* The request kernel against the C reference over the same bytes. */
    uint8_t *host = malloc((size_t)size);
    exec_weights_fill(host, (size_t)size, 0, 5);
    uint64_t v = 0;
    assert_int_equal(exec_backend_request(be, buf, size, 77, &v, &err), 0);
    assert_true(v == exec_request_ref(host, size, 77));

    /* A peer copy (the storage ladder): the first 32 MiB of GPU 0's buffer
     * into a buffer on GPU 1 (cudaMemcpyPeerAsync between the devices
     * behind them, or within one), whose checksum must be the host's. */
    struct exec_dev_buf *peer = NULL;
    assert_int_equal(exec_backend_alloc(be, 1, 32 * MIB, &peer, &err), 0);
    int prc = exec_backend_copy_peer(be, peer, 0, buf, 0, 32 * MIB, &err);
    if (prc) print_error("%s\n", err.msg);
    assert_int_equal(prc, 0);
    uint64_t pc = 0;
    assert_int_equal(exec_backend_checksum(be, peer, 32 * MIB, &pc, &err), 0);
    assert_true(pc == exec_checksum(host, 32 * MIB, 0));
    exec_backend_free(be, peer);
    free(host);

    /* The cap binds: 64 MiB on GPU 1 although the card has more. */
    struct exec_dev_buf *b = NULL;
    assert_int_equal(exec_backend_alloc(be, 1, 65 * MIB, &b, &err), THAW_ENOMEM);
    uint64_t free_b = 0, total = 0;
    assert_int_equal(exec_backend_mem_info(be, 1, &free_b, &total, &err), 0);
    assert_int_equal(total, 64 * MIB);
    assert_true(free_b <= 64 * MIB);
    exec_backend_free(be, buf);
    exec_backend_close(be);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    struct thaw_err err = {0, ""};
    if (exec_backend_cuda_probe(&err) < 0) {
        printf("no CUDA device: %s\n", err.msg);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cuda_load_and_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

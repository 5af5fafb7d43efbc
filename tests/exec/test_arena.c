/* test_arena.c - exec/arena.c and the host backend on it: freed chunks
 * serve any later allocation wherever they lie (no fragmentation), a block
 * is walked piece by piece, an allocation the arena cannot hold gets a
 * mapping of its own (and describe says so), and checksum and request over
 * a block in pieces give the values of the same bytes in one piece. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "backend.h"
#include "weights.h"

#define CH 4096u

static void test_no_fragmentation(void **state)
{
    (void)state;
    struct exec_arena *a;
    struct thaw_err err = {0};
    /* 8 chunks of 4 KiB; 8 * 4096 - 100 bytes round up to 8 chunks. */
    assert_int_equal(exec_arena_new(8 * CH - 100, CH, &a, &err), 0);
    assert_int_equal(exec_arena_bytes(a), 8 * CH);
    struct exec_arena_block x, y, z, w;
    /* x: 3 chunks (2.5 rounded up), y: 2, z: 3 -> all 8 taken. */
    assert_int_equal(exec_arena_take(a, 2 * CH + CH / 2, &x, &err), 0);
    assert_int_equal(exec_arena_take(a, 2 * CH, &y, &err), 0);
    assert_int_equal(exec_arena_take(a, 3 * CH, &z, &err), 0);
    assert_int_equal(exec_arena_free_bytes(a), 0);
    assert_int_equal(exec_arena_take(a, 1, &w, &err), THAW_ENOMEM);
    /* Free x and z: 6 chunks free in two runs of 3 split by y. A contiguous
     * allocator could give 3 at most; the arena gives all 6. */
    exec_arena_give(a, &x);
    exec_arena_give(a, &z);
    assert_int_equal(exec_arena_free_bytes(a), 6 * CH);
    assert_int_equal(exec_arena_take(a, 6 * CH, &w, &err), 0);
    assert_int_equal(w.count, 6);
    /* Pieces: byte 5000 of w is chunk 1 at 904; 3192 bytes follow in it. */
    size_t len;
    uint8_t *p = exec_arena_span(&w, 5000, 10000, &len);
    assert_ptr_equal(p, w.chunks[1] + 904);
    assert_int_equal(len, CH - 904);
    /* Asked for less than the chunk holds: exactly that. */
    assert_ptr_equal(exec_arena_span(&w, 0, 10, &len), w.chunks[0]);
    assert_int_equal(len, 10);
    /* Past the end: nothing. */
    assert_null(exec_arena_span(&w, 6 * CH, 1, &len));
    /* Every chunk of w is distinct from y's. */
    for (size_t i = 0; i < w.count; i++)
        for (size_t k = 0; k < y.count; k++)
            assert_true(w.chunks[i] != y.chunks[k]);
    exec_arena_give(a, &w);
    exec_arena_give(a, &y);
    assert_int_equal(exec_arena_free_bytes(a), 8 * CH);
    exec_arena_free(a);
}

/* The host backend with an arena of 8 MiB (4 chunks of 2 MiB) under a cap
 * of 16 MiB: a 5 MiB buffer (3 chunks) comes from the arena, a second one
 * does not fit the one chunk left and gets a mapping of its own. Bytes
 * written through xfer_copy in one call across chunk borders read back
 * through xfer_host_ptr piece by piece, and the checksum and request over
 * the chunked buffer equal exec_checksum / exec_request_ref of the same
 * bytes in one piece. */
static void test_host_backend_on_arena(void **state)
{
    (void)state;
    uint64_t cap = 16u << 20, arena = 8u << 20;
    struct exec_backend_config cfg = {1, &cap, &arena};
    struct exec_backend *be;
    struct thaw_err err = {0};
    assert_int_equal(exec_backend_host_open(&cfg, &be, &err), 0);
    const uint64_t n = (5u << 20) + 12345;
    uint8_t *src = malloc(n);
    assert_non_null(src);
    exec_weights_fill(src, n, 0, 42);
    struct exec_dev_buf *a, *b;
    assert_int_equal(exec_backend_alloc(be, 0, n, &a, &err), 0);
    assert_int_equal(exec_backend_alloc(be, 0, n, &b, &err), 0);
    char d[256];
    exec_backend_describe(be, 0, d, sizeof d);
    assert_non_null(strstr(d, "8.0 MiB faulted in at open, 1 allocation outside it"));
    for (int k = 0; k < 2; k++) {
        struct exec_dev_buf *buf = k ? b : a;
        struct exec_xfer *x;
        assert_int_equal(exec_backend_xfer_open(be, buf, 2, &x, &err), 0);
        assert_int_equal(exec_backend_xfer_copy(be, x, 0, 0, src, (size_t)n, &err), 0);
        assert_int_equal(exec_backend_xfer_wait(be, x, 0, &err), 0);
        /* Read back by pieces: on the arena buffer the first piece ends at
         * the first chunk's end (2 MiB); the own mapping is one piece. */
        size_t piece = (size_t)n;
        uint8_t *p = be->methods->xfer_host_ptr(be, x, 0, &piece);
        assert_non_null(p);
        assert_int_equal(piece, k ? n : (2u << 20));
        for (uint64_t off = 0; off < n; off += piece) {
            piece = (size_t)(n - off);
            p = be->methods->xfer_host_ptr(be, x, off, &piece);
            assert_memory_equal(p, src + off, piece);
        }
        exec_backend_xfer_close(be, x);
        uint64_t sum, req;
        assert_int_equal(exec_backend_checksum(be, buf, n, &sum, &err), 0);
        assert_true(sum == exec_checksum(src, (size_t)n, 0));
        assert_int_equal(exec_backend_request(be, buf, n, 9, &req, &err), 0);
        assert_true(req == exec_request_ref(src, n, 9));
    }
    exec_backend_free(be, a);
    exec_backend_free(be, b);
    free(src);
    exec_backend_close(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_fragmentation),
        cmocka_unit_test(test_host_backend_on_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_staging_pool.c - exec/staging_pool.c: a released buffer is handed to
 * the next request of the same size instead of a new allocation, a request
 * of another size gets its own, at most max_idle released buffers are kept
 * (the rest go back at once), and freeing the pool releases everything. The
 * raw allocator here counts its calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "staging_pool.h"

static int allocs, frees;

static int count_alloc(size_t bytes, void **out)
{
    *out = malloc(bytes);
    if (!*out) return -1;
    allocs++;
    return 0;
}

static void count_free(void *p)
{
    free(p);
    frees++;
}

static int fail_alloc(size_t bytes, void **out)
{
    (void)bytes;
    *out = NULL;
    return -1;
}

static void test_reuse_and_cap(void **state)
{
    (void)state;
    allocs = frees = 0;
    struct exec_staging_pool *pool = exec_staging_pool_new(count_alloc, count_free, 2);
    assert_non_null(pool);
    void *a = exec_staging_pool_get(pool, 4096);
    void *b = exec_staging_pool_get(pool, 4096);
    assert_true(a && b && a != b);
    assert_int_equal(allocs, 2);
    exec_staging_pool_put(pool, a);
    /* Same size: the released one comes back, no allocation. */
    assert_ptr_equal(exec_staging_pool_get(pool, 4096), a);
    assert_int_equal(allocs, 2);
    /* Another size: a new buffer. */
    void *c = exec_staging_pool_get(pool, 8192);
    assert_int_equal(allocs, 3);
    /* Release all three with max_idle 2: the third is freed at once. */
    exec_staging_pool_put(pool, a);
    exec_staging_pool_put(pool, b);
    assert_int_equal(frees, 0);
    exec_staging_pool_put(pool, c);
    assert_int_equal(frees, 1);
    exec_staging_pool_free(pool);
    assert_int_equal(frees, 3); /* every buffer allocated went back */
}

static void test_alloc_failure(void **state)
{
    (void)state;
    struct exec_staging_pool *pool = exec_staging_pool_new(fail_alloc, count_free, 2);
    assert_null(exec_staging_pool_get(pool, 4096));
    exec_staging_pool_free(pool);
    exec_staging_pool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_and_cap),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_sweep_grid.c - cli/sweep_grid.c: parsing --set value lists, policies
 * and seed lists; the fixed order of grid points; and --shard K/N, which
 * must cover every point exactly once across the N shards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "sweep_grid.c"

static void add_set_ok(struct cli_sweep_grid *g, const char *kv)
{
    struct thaw_err err = {0};
    assert_int_equal(cli_sweep_grid_add_set(g, kv, &err), 0);
}

/* a=1,2 x b=x,y,z x 2 policies x seeds 1-2: 2*3*2*2 = 24 points, the seed
 * fastest, then the policy, then b, then a. */
static void build_grid(struct cli_sweep_grid *g)
{
    struct thaw_err err = {0};
    cli_sweep_grid_init(g);
    add_set_ok(g, "a=1,2");
    add_set_ok(g, "b=x,y,z");
    assert_int_equal(cli_sweep_grid_add_policy(g, "queue=fifo", &err), 0);
    assert_int_equal(cli_sweep_grid_add_policy(g, "queue=priority,shm=preload", &err), 0);
    assert_int_equal(cli_sweep_grid_add_seeds(g, "1-2", &err), 0);
}

static void test_expansion_order(void **state)
{
    (void)state;
    struct cli_sweep_grid g;
    struct cli_sweep_point p;
    char params[256];
    build_grid(&g);
    assert_int_equal(cli_sweep_grid_size(&g), 24);
    assert_int_equal(cli_sweep_grid_combos(&g), 12);

    assert_int_equal(cli_sweep_point_at(&g, 0, &p), 0);
    assert_int_equal(p.value_idx[0], 0);
    assert_int_equal(p.value_idx[1], 0);
    assert_int_equal(p.policy, 0);
    assert_true(p.has_seed);
    assert_int_equal(p.seed, 1);
    assert_int_equal(cli_sweep_point_params(&g, &p, params, sizeof params), 0);
    assert_string_equal(params, "a=1;b=x;policy=queue=fifo");

    /* 5 = ((0*3 + 1)*2 + 0)*2 + 1: a=1, b=y, first policy, seed 2. */
    assert_int_equal(cli_sweep_point_at(&g, 5, &p), 0);
    assert_int_equal(p.combo, 2);
    assert_int_equal(p.seed, 2);
    assert_int_equal(cli_sweep_point_params(&g, &p, params, sizeof params), 0);
    assert_string_equal(params, "a=1;b=y;policy=queue=fifo");

    /* 23 = ((1*3 + 2)*2 + 1)*2 + 1: the last of everything. */
    assert_int_equal(cli_sweep_point_at(&g, 23, &p), 0);
    assert_int_equal(p.combo, 11);
    assert_int_equal(cli_sweep_point_params(&g, &p, params, sizeof params), 0);
    assert_string_equal(params, "a=2;b=z;policy=queue=priority,shm=preload");
    assert_int_equal(p.seed, 2);

    assert_int_equal(cli_sweep_point_at(&g, 24, &p), THAW_ERANGE);
    /* A buffer too small for the params is reported, not overrun. */
    assert_int_equal(cli_sweep_point_params(&g, &p, params, 10), THAW_ERANGE);
    cli_sweep_grid_free(&g);
}

/* Every point is a distinct (a, b, policy, seed) tuple: 24 tuples, each
 * seen once. */
static void test_points_distinct(void **state)
{
    (void)state;
    struct cli_sweep_grid g;
    int seen[2][3][2][2] = {{{{0}}}};
    build_grid(&g);
    for (size_t i = 0; i < 24; i++) {
        struct cli_sweep_point p;
        assert_int_equal(cli_sweep_point_at(&g, i, &p), 0);
        assert_int_equal(p.index, i);
        seen[p.value_idx[0]][p.value_idx[1]][p.policy][p.seed - 1]++;
    }
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int q = 0; q < 2; q++)
                for (int s = 0; s < 2; s++)
                    assert_int_equal(seen[a][b][q][s], 1);
    cli_sweep_grid_free(&g);
}

/* No --set, --policy or --seeds: one point, the scenario as it is. */
static void test_empty_grid(void **state)
{
    (void)state;
    struct cli_sweep_grid g;
    struct cli_sweep_point p;
    char params[16];
    cli_sweep_grid_init(&g);
    assert_int_equal(cli_sweep_grid_size(&g), 1);
    assert_int_equal(cli_sweep_point_at(&g, 0, &p), 0);
    assert_false(p.has_seed);
    assert_int_equal(p.policy, -1);
    assert_int_equal(cli_sweep_point_params(&g, &p, params, sizeof params), 0);
    assert_string_equal(params, "");
    cli_sweep_grid_free(&g);
}

/* For N = 1..7 and N = 30 (more shards than the 24 points), every index
 * belongs to exactly one shard, cli_shard_count agrees with a count by
 * hand, and shard sizes differ by at most one (round robin). */
static void test_shards_cover_once(void **state)
{
    (void)state;
    const unsigned long ns[] = {1, 2, 3, 4, 5, 6, 7, 30};
    const size_t total = 24;
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        unsigned long n = ns[t];
        int owners[24] = {0};
        size_t min = SIZE_MAX, max = 0;
        for (unsigned long k = 1; k <= n; k++) {
            struct cli_shard s;
            char text[32];
            struct thaw_err err = {0};
            snprintf(text, sizeof text, "%lu/%lu", k, n);
            assert_int_equal(cli_shard_parse(text, &s, &err), 0);
            size_t count = 0;
            for (size_t i = 0; i < total; i++)
                if (cli_shard_has(&s, i)) {
                    owners[i]++;
                    count++;
                }
            assert_int_equal(cli_shard_count(&s, total), count);
            if (count < min) min = count;
            if (count > max) max = count;
        }
        for (size_t i = 0; i < total; i++)
            assert_int_equal(owners[i], 1);
        assert_true(max - min <= 1);
    }
}

static void test_shard_parse(void **state)
{
    (void)state;
    struct cli_shard s;
    struct thaw_err err = {0};
    assert_int_equal(cli_shard_parse("2/3", &s, &err), 0);
    assert_int_equal(s.k, 2);
    assert_int_equal(s.n, 3);
    const char *bad[] = {"0/3", "4/3",  "1/0",  "1",    "a/b",  "1/2x", "/2", "-1/2",
                         "",    " 1/2", "+1/2", "1/ 2", "1/+2", "1/2 ", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(cli_shard_parse(bad[i], &s, &err), THAW_EINVAL);
    assert_int_equal(cli_shard_parse(NULL, &s, &err), THAW_EINVAL);
}

static void test_seeds(void **state)
{
    (void)state;
    struct cli_sweep_grid g;
    struct thaw_err err = {0};
    cli_sweep_grid_init(&g);
    assert_int_equal(cli_sweep_grid_add_seeds(&g, "1,2,5-7", &err), 0);
    const uint64_t want[] = {1, 2, 5, 6, 7};
    assert_int_equal(g.seed_count, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(g.seeds[i], want[i]);
    /* A second --seeds appends; 9-9 is the one seed 9. */
    assert_int_equal(cli_sweep_grid_add_seeds(&g, "9-9", &err), 0);
    assert_int_equal(g.seed_count, 6);
    assert_int_equal(g.seeds[5], 9);
    cli_sweep_grid_free(&g);

    const char *bad[] = {"",     "3-1",       "a",   "1,,2",  "1-",
                         "-3",   "1,",        "1,1", "1-3,2", "18446744073709551616",
                         "1 2",  "0-1000000", " 1",  "+1",    "1-+2",
                         "1- 2", NULL};
    for (int i = 0; bad[i]; i++) {
        cli_sweep_grid_init(&g);
        assert_true(cli_sweep_grid_add_seeds(&g, bad[i], &err) < 0);
        cli_sweep_grid_free(&g);
    }

    /* The most seeds, 0-999999 (10^6), load in n log n: the duplicate check
     * was once quadratic (fuzzing: "1-30715" took over 10 s). */
    cli_sweep_grid_init(&g);
    clock_t t0 = clock();
    assert_int_equal(cli_sweep_grid_add_seeds(&g, "0-999999", &err), 0);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
    assert_int_equal(g.seed_count, 1000000);
    assert_true(g.seeds[999999] == 999999);
    cli_sweep_grid_free(&g);
    /* A duplicate across two --seeds is found, named, and leaves the grid
     * as it was. */
    cli_sweep_grid_init(&g);
    assert_int_equal(cli_sweep_grid_add_seeds(&g, "1-3", &err), 0);
    assert_int_equal(cli_sweep_grid_add_seeds(&g, "5,3", &err), THAW_EINVAL);
    assert_string_equal(err.msg, "--seeds 5,3: seed 3 is listed twice");
    assert_int_equal(g.seed_count, 3);
    assert_int_equal(cli_sweep_grid_add_seeds(&g, "4", &err), 0);
    assert_int_equal(g.seed_count, 4);
    assert_int_equal(g.seeds[3], 4);
    cli_sweep_grid_free(&g);
}

static void test_set_values(void **state)
{
    (void)state;
    struct cli_sweep_grid g;
    struct thaw_err err = {0};
    cli_sweep_grid_init(&g);
    /* Commas inside [] and {} belong to the value. */
    add_set_ok(&g, "models[0].placement=[n/gpu0,n/gpu1],{a: 1, b: 2},3");
    assert_int_equal(g.axes[0].value_count, 3);
    assert_string_equal(g.axes[0].key, "models[0].placement");
    assert_string_equal(g.axes[0].values[0], "[n/gpu0,n/gpu1]");
    assert_string_equal(g.axes[0].values[1], "{a: 1, b: 2}");
    assert_string_equal(g.axes[0].values[2], "3");
    /* The same key twice would make a meaningless grid. */
    assert_int_equal(cli_sweep_grid_add_set(&g, "models[0].placement=4", &err), THAW_EINVAL);
    cli_sweep_grid_free(&g);

    const char *bad[] = {"k", "=1", "k=", "k=1,,2", "k=[1,2", "k=1]", "k=1,2,1", "k=1,", NULL};
    for (int i = 0; bad[i]; i++) {
        cli_sweep_grid_init(&g);
        assert_true(cli_sweep_grid_add_set(&g, bad[i], &err) < 0);
        cli_sweep_grid_free(&g);
    }
}

static void test_policies(void **state)
{
    (void)state;
    struct cli_sweep_grid g;
    struct thaw_err err = {0};
    cli_sweep_grid_init(&g);
    assert_int_equal(cli_sweep_grid_add_policy(&g, "queue=edf", &err), 0);
    assert_int_equal(cli_sweep_grid_add_policy(&g, "queue=edf", &err), THAW_EINVAL);
    const char *bad[] = {"",  "queue", "queue=", "=fifo", "queue=fifo,", "queue=fifo,,shm=lru",
                         NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(cli_sweep_grid_add_policy(&g, bad[i], &err), THAW_EINVAL);
    assert_int_equal(g.policy_count, 1);
    cli_sweep_grid_free(&g);
}

/* 16 axes of 20 values: 20^16 ~ 6.6e20 points overflow a 64-bit size_t
 * (1.8e19), which must read as 0, not as a wrapped-around small number. */
static void test_size_overflow(void **state)
{
    (void)state;
    struct cli_sweep_grid g;
    char kv[128];
    cli_sweep_grid_init(&g);
    for (int a = 0; a < 16; a++) {
        int n = snprintf(kv, sizeof kv, "k%d=", a);
        for (int v = 0; v < 20; v++)
            n += snprintf(kv + n, sizeof kv - (size_t)n, "%s%d", v ? "," : "", v);
        add_set_ok(&g, kv);
    }
    struct thaw_err err = {0};
    assert_int_equal(cli_sweep_grid_add_set(&g, "k16=1", &err), THAW_ERANGE);
    if (SIZE_MAX <= UINT64_MAX) assert_int_equal(cli_sweep_grid_size(&g), 0);
    cli_sweep_grid_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansion_order), cmocka_unit_test(test_points_distinct),
        cmocka_unit_test(test_empty_grid),      cmocka_unit_test(test_shards_cover_once),
        cmocka_unit_test(test_shard_parse),     cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_set_values),      cmocka_unit_test(test_policies),
        cmocka_unit_test(test_size_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

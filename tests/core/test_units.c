/* test_units.c - the quantity parsers of core/units.c, table-driven: every
 * unit, decimals rounded exactly, bare zero, and each way a text is refused
 * (negative, overflow, unknown unit, missing unit, junk). Expected values are
 * derived by hand in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "units.h"

struct u64_case {
    const char *text;
    int status;
    uint64_t value;
};

static void test_bytes(void **state)
{
    (void)state;
    static const struct u64_case cases[] = {
        {"0", CORE_UNIT_OK, 0},
        {"0B", CORE_UNIT_OK, 0},
        {"1B", CORE_UNIT_OK, 1},
        {"1KB", CORE_UNIT_OK, 1000},
        {"1MB", CORE_UNIT_OK, 1000000},
        {"1GB", CORE_UNIT_OK, 1000000000},
        {"1TB", CORE_UNIT_OK, 1000000000000ULL},
        {"1KiB", CORE_UNIT_OK, 1024},
        {"1MiB", CORE_UNIT_OK, 1048576},
        {"14GiB", CORE_UNIT_OK, 15032385536ULL},  /* 14 * 2^30 */
        {"1.5GiB", CORE_UNIT_OK, 1610612736ULL},  /* 3 * 2^29, exact */
        {"1TiB", CORE_UNIT_OK, 1099511627776ULL}, /* 2^40 */
        {"140GB", CORE_UNIT_OK, 140000000000ULL},
        {"0.1KB", CORE_UNIT_OK, 100},
        {"1.1KiB", CORE_UNIT_OK, 1126},                         /* 1126.4 rounds down */
        {"1.0005KB", CORE_UNIT_OK, 1001},                       /* 1000.5 rounds half up */
        {" 14 GiB ", CORE_UNIT_OK, 15032385536ULL},             /* blanks around and between */
        {"16777215TiB", CORE_UNIT_OK, 18446742974197923840ULL}, /* (2^24-1)*2^40 */
        {"18446744073709551615B", CORE_UNIT_OK, UINT64_MAX},
        {"18446744073709551616B", CORE_UNIT_OVERFLOW, 0}, /* 2^64 */
        {"16777216TiB", CORE_UNIT_OVERFLOW, 0},           /* 2^24 * 2^40 = 2^64 */
        {"99999999999TiB", CORE_UNIT_OVERFLOW, 0},
        {"99999999999999999999999999999999999999999B", CORE_UNIT_OVERFLOW, 0},
        {"-3GB", CORE_UNIT_NEGATIVE, 0},
        {"14", CORE_UNIT_NO_UNIT, 0},
        {"14Gb", CORE_UNIT_BAD_UNIT, 0},    /* bits are not a size */
        {"14gib", CORE_UNIT_BAD_UNIT, 0},   /* units are case-sensitive */
        {"14GiB/s", CORE_UNIT_BAD_UNIT, 0}, /* a bandwidth, not a size */
        {"GiB", CORE_UNIT_SYNTAX, 0},
        {"", CORE_UNIT_EMPTY, 0},
        {"   ", CORE_UNIT_EMPTY, 0},
        {"1.2.3GB", CORE_UNIT_BAD_UNIT, 0}, /* "1.2" then the unit ".3GB" */
        {"0x10B", CORE_UNIT_BAD_UNIT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 12345;
        int st = core_units_bytes(cases[i].text, &v);
        if (st != cases[i].status)
            fail_msg("\"%s\": status %d, want %d", cases[i].text, st, cases[i].status);
        if (st == CORE_UNIT_OK && v != cases[i].value)
            fail_msg("\"%s\": %llu, want %llu", cases[i].text, (unsigned long long)v,
                     (unsigned long long)cases[i].value);
        if (st != CORE_UNIT_OK) assert_true(v == 12345); /* untouched on error */
    }
}

struct dbl_case {
    const char *text;
    int status;
    double value;
};

static void check_dbl(const struct dbl_case *cases, size_t n, int (*fn)(const char *, double *))
{
    for (size_t i = 0; i < n; i++) {
        double v = -1;
        int st = fn(cases[i].text, &v);
        if (st != cases[i].status)
            fail_msg("\"%s\": status %d, want %d", cases[i].text, st, cases[i].status);
        if (st == CORE_UNIT_OK && !(v == cases[i].value))
            fail_msg("\"%s\": %.17g, want %.17g", cases[i].text, v, cases[i].value);
    }
}

static void test_bandwidth(void **state)
{
    (void)state;
    static const struct dbl_case cases[] = {
        {"0", CORE_UNIT_OK, 0},
        {"1B/s", CORE_UNIT_OK, 1},
        {"1KB/s", CORE_UNIT_OK, 1e3},
        {"2MB/s", CORE_UNIT_OK, 2e6},
        {"25GB/s", CORE_UNIT_OK, 25e9},
        {"1TB/s", CORE_UNIT_OK, 1e12},
        {"1KiB/s", CORE_UNIT_OK, 1024},
        {"512MiB/s", CORE_UNIT_OK, 536870912},    /* 2^29 */
        {"64GiB/s", CORE_UNIT_OK, 68719476736.0}, /* 2^36 */
        {"1TiB/s", CORE_UNIT_OK, 1099511627776.0},
        {"100Gbit/s", CORE_UNIT_OK, 12.5e9}, /* 100e9 bits / 8 */
        {"800Mbit/s", CORE_UNIT_OK, 1e8},    /* 800e6 / 8 */
        {"8Kbit/s", CORE_UNIT_OK, 1000},
        {"1.5GB/s", CORE_UNIT_OK, 1.5e9},
        {"99999999999TB/s", CORE_UNIT_OVERFLOW, 0}, /* 1e23 B/s > 2^64 */
        {"-1GB/s", CORE_UNIT_NEGATIVE, 0},
        {"25GB", CORE_UNIT_BAD_UNIT, 0},
        {"25Gb/s", CORE_UNIT_BAD_UNIT, 0},
        {"25", CORE_UNIT_NO_UNIT, 0},
        {"fast", CORE_UNIT_SYNTAX, 0},
    };
    check_dbl(cases, sizeof cases / sizeof cases[0], core_units_bandwidth);
}

struct i64_case {
    const char *text;
    int status;
    int64_t value;
};

static void test_duration(void **state)
{
    (void)state;
    static const struct i64_case cases[] = {
        {"0", CORE_UNIT_OK, 0},
        {"0s", CORE_UNIT_OK, 0},
        {"1ns", CORE_UNIT_OK, 1},
        {"1us", CORE_UNIT_OK, 1000},
        {"1\xc2\xb5s", CORE_UNIT_OK, 1000}, /* µs */
        {"100ms", CORE_UNIT_OK, 100000000},
        {"2s", CORE_UNIT_OK, 2000000000},
        {"1.5s", CORE_UNIT_OK, 1500000000},
        {"0.1s", CORE_UNIT_OK, 100000000}, /* exact: no binary fraction error */
        {"5m", CORE_UNIT_OK, 300000000000LL},
        {"1h", CORE_UNIT_OK, 3600000000000LL},
        {"1.0000000004s", CORE_UNIT_OK, 1000000000},       /* .4 ns rounds down */
        {"1.0000000005s", CORE_UNIT_OK, 1000000001},       /* .5 ns rounds up */
        {"2562047h", CORE_UNIT_OK, 9223369200000000000LL}, /* below INT64_MAX */
        {"2562048h", CORE_UNIT_OVERFLOW, 0},               /* 9.2233728e18 > INT64_MAX */
        {"9223372036854775807ns", CORE_UNIT_OK, INT64_MAX},
        {"9223372036854775808ns", CORE_UNIT_OVERFLOW, 0},
        {"-1s", CORE_UNIT_NEGATIVE, 0},
        {"10", CORE_UNIT_NO_UNIT, 0},
        {"10sec", CORE_UNIT_BAD_UNIT, 0},
        {"10min", CORE_UNIT_BAD_UNIT, 0},
        {"10S", CORE_UNIT_BAD_UNIT, 0},
        {"s", CORE_UNIT_SYNTAX, 0},
        /* Compound durations: the parts' sum. */
        {"1h30m", CORE_UNIT_OK, 5400000000000LL}, /* 3600 s + 1800 s */
        {"2m30s", CORE_UNIT_OK, 150000000000LL},  /* 120 s + 30 s */
        {"1m 0.5s", CORE_UNIT_OK, 60500000000LL}, /* blanks between parts */
        {"1h1ms", CORE_UNIT_OK, 3600001000000LL}, /* "ms" read whole, not m + s */
        {"1s500ms", CORE_UNIT_OK, 1500000000},    /* 1 s + 0.5 s */
        {"1h30", CORE_UNIT_NO_UNIT, 0},           /* last part without its unit */
        {"1h-30m", CORE_UNIT_SYNTAX, 0},          /* no sign inside */
        {"1h30x", CORE_UNIT_BAD_UNIT, 0},
        {"2562047h1h", CORE_UNIT_OVERFLOW, 0}, /* the sum passes INT64_MAX */
        {"0 0s", CORE_UNIT_NO_UNIT, 0},        /* a bare 0 stands alone */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -7;
        int st = core_units_duration(cases[i].text, &v);
        if (st != cases[i].status)
            fail_msg("\"%s\": status %d, want %d", cases[i].text, st, cases[i].status);
        if (st == CORE_UNIT_OK && v != cases[i].value)
            fail_msg("\"%s\": %lld, want %lld", cases[i].text, (long long)v,
                     (long long)cases[i].value);
    }
}

static void test_rate(void **state)
{
    (void)state;
    static const struct dbl_case cases[] = {
        {"0", CORE_UNIT_OK, 0},
        {"2/s", CORE_UNIT_OK, 2},
        {"0.1/s", CORE_UNIT_OK, 0.1},
        {"120/m", CORE_UNIT_OK, 2},  /* 120 per 60 s */
        {"7200/h", CORE_UNIT_OK, 2}, /* 7200 per 3600 s */
        {"1/h", CORE_UNIT_OK, 1.0 / 3600},
        {"-2/s", CORE_UNIT_NEGATIVE, 0},
        {"2", CORE_UNIT_NO_UNIT, 0},
        {"2/d", CORE_UNIT_BAD_UNIT, 0},
        {"2 per s", CORE_UNIT_BAD_UNIT, 0},
        {"/s", CORE_UNIT_SYNTAX, 0},
    };
    check_dbl(cases, sizeof cases / sizeof cases[0], core_units_rate);
}

static void test_probability(void **state)
{
    (void)state;
    static const struct dbl_case cases[] = {
        {"0", CORE_UNIT_OK, 0},        {"1", CORE_UNIT_OK, 1},
        {"0.8", CORE_UNIT_OK, 0.8},    {"80%", CORE_UNIT_OK, 0.8},
        {"100%", CORE_UNIT_OK, 1},     {"1.01", CORE_UNIT_RANGE, 0},
        {"101%", CORE_UNIT_RANGE, 0},  {"-0.1", CORE_UNIT_NEGATIVE, 0},
        {"0.8s", CORE_UNIT_SYNTAX, 0}, {"half", CORE_UNIT_SYNTAX, 0},
    };
    check_dbl(cases, sizeof cases / sizeof cases[0], core_units_probability);
}

static void test_int(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(core_units_int("42", 0, 100, &v), CORE_UNIT_OK);
    assert_int_equal(v, 42);
    assert_int_equal(core_units_int("-5", -10, 10, &v), CORE_UNIT_OK);
    assert_int_equal(v, -5);
    assert_int_equal(core_units_int("-5", 0, 10, &v), CORE_UNIT_NEGATIVE);
    assert_int_equal(core_units_int("11", 0, 10, &v), CORE_UNIT_RANGE);
    assert_int_equal(core_units_int("9223372036854775807", 0, INT64_MAX, &v), CORE_UNIT_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(core_units_int("9223372036854775808", 0, INT64_MAX, &v), CORE_UNIT_OVERFLOW);
    assert_int_equal(core_units_int("99999999999999999999999", 0, INT64_MAX, &v),
                     CORE_UNIT_OVERFLOW);
    assert_int_equal(core_units_int("1.5", 0, 10, &v), CORE_UNIT_SYNTAX);
    assert_int_equal(core_units_int("4x", 0, 10, &v), CORE_UNIT_SYNTAX);
    assert_int_equal(core_units_int("", 0, 10, &v), CORE_UNIT_EMPTY);
}

/* core_parse_u64 / core_parse_i64: the strict integers of the command line.
 * Each case: text, range, expected status, value (when 0) and, for the
 * end-pointer form, how many characters were digits. */
struct strict_case {
    const char *s;
    int64_t lo, hi;
    int rc;
    int64_t value;
};

static void test_strict_ints(void **state)
{
    (void)state;
    static const struct strict_case u[] = {
        {"0", 0, 10, 0, 0},
        {"10", 0, 10, 0, 10},
        {"007", 0, 10, 0, 7},
        {" -5", 0, INT64_MAX, THAW_EINVAL, 0}, /* once read as 2^64 - 5 */
        {"-5", 0, INT64_MAX, THAW_EINVAL, 0},
        {"+5", 0, INT64_MAX, THAW_EINVAL, 0},
        {" 5", 0, INT64_MAX, THAW_EINVAL, 0},
        {"5 ", 0, INT64_MAX, THAW_EINVAL, 0},
        {"5x", 0, INT64_MAX, THAW_EINVAL, 0},
        {"0x10", 0, INT64_MAX, THAW_EINVAL, 0},
        {"", 0, INT64_MAX, THAW_EINVAL, 0},
        {"11", 0, 10, THAW_ERANGE, 0},
        {"0", 1, 10, THAW_ERANGE, 0},
        /* 2^64 = 18446744073709551616: one past the largest */
        {"18446744073709551616", 0, INT64_MAX, THAW_ERANGE, 0},
        {"99999999999999999999999", 0, INT64_MAX, THAW_ERANGE, 0},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        uint64_t v = 12345;
        int rc = core_parse_u64(u[i].s, (uint64_t)u[i].lo, (uint64_t)u[i].hi, NULL, &v);
        if (rc != u[i].rc) print_error("u64 \"%s\": rc %d, want %d\n", u[i].s, rc, u[i].rc);
        assert_int_equal(rc, u[i].rc);
        assert_true(v == (rc ? 12345 : (uint64_t)u[i].value)); /* untouched on error */
    }
    uint64_t v;
    assert_int_equal(core_parse_u64("18446744073709551615", 0, UINT64_MAX, NULL, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(core_parse_u64(NULL, 0, 1, NULL, &v), THAW_EINVAL);
    /* with an end pointer: "12/34" stops at the '/' */
    const char *end = NULL;
    assert_int_equal(core_parse_u64("12/34", 0, 100, &end, &v), 0);
    assert_int_equal(v, 12);
    assert_string_equal(end, "/34");

    static const struct strict_case s[] = {
        {"-5", -10, 10, 0, -5},
        {"5", -10, 10, 0, 5},
        {"-0", -10, 10, 0, 0},
        {"--5", -10, 10, THAW_EINVAL, 0},
        {"- 5", -10, 10, THAW_EINVAL, 0},
        {" -5", -10, 10, THAW_EINVAL, 0},
        {"+5", -10, 10, THAW_EINVAL, 0},
        {"-11", -10, 10, THAW_ERANGE, 0},
        {"-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN},
        {"9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX},
        {"9223372036854775808", INT64_MIN, INT64_MAX, THAW_ERANGE, 0},
        {"-9223372036854775809", INT64_MIN, INT64_MAX, THAW_ERANGE, 0},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        int64_t x = 12345;
        int rc = core_parse_i64(s[i].s, s[i].lo, s[i].hi, NULL, &x);
        if (rc != s[i].rc) print_error("i64 \"%s\": rc %d, want %d\n", s[i].s, rc, s[i].rc);
        assert_int_equal(rc, s[i].rc);
        assert_true(x == (rc ? 12345 : s[i].value));
    }
}

static void test_status_texts(void **state)
{
    (void)state;
    /* Every status has its own phrase; the loader builds messages from them. */
    for (int a = CORE_UNIT_OK; a <= CORE_UNIT_RANGE; a++)
        for (int b = a + 1; b <= CORE_UNIT_RANGE; b++)
            assert_string_not_equal(core_units_status_text(a), core_units_status_text(b));
    assert_non_null(strstr(core_units_accepted("size"), "GiB"));
    assert_non_null(strstr(core_units_accepted("bandwidth"), "Gbit/s"));
    assert_non_null(strstr(core_units_accepted("duration"), "ms"));
    assert_non_null(strstr(core_units_accepted("rate"), "/h"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),        cmocka_unit_test(test_bandwidth),
        cmocka_unit_test(test_duration),     cmocka_unit_test(test_rate),
        cmocka_unit_test(test_probability),  cmocka_unit_test(test_int),
        cmocka_unit_test(test_status_texts), cmocka_unit_test(test_strict_ints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

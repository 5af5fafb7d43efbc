/* test_weights.c - exec/weights.c and exec/safetensors.c: the checksum's
 * algebra (pieces add, a flipped byte or swapped words change it), synthetic
 * files of the exact size whose checksum matches the one computed without
 * reading them, the request reference, and safetensors validation against a
 * corpus of malformed files, each rejected with its named defect. */
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

#include "weights.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup_dir(void **state)
{
    char *dir = strdup("/tmp/thaw-test-weights-XXXXXX");
    if (!dir || !mkdtemp(dir)) return -1;
    *state = dir;
    return 0;
}

static int teardown_dir(void **state)
{
    nftw(*state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ---- checksum ---------------------------------------------------------- */

static void test_mix_is_splitmix64(void **state)
{
    (void)state;
    /* mix(0, 0) finalises 0 + 1 * golden ratio: exactly splitmix64's first
     * output from state 0, published as 0xE220A8397B1DCDAF. */
    assert_true(exec_csum_mix(0, 0) == 0xE220A8397B1DCDAFull);
}

static void test_checksum_pieces_add(void **state)
{
    (void)state;
    uint8_t buf[1003];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 31 + 7);
    uint64_t whole = exec_checksum(buf, sizeof buf, 0);
    /* Split at byte 504 (word 63): the two pieces add up to the whole. */
    uint64_t a = exec_checksum(buf, 504, 0), b = exec_checksum(buf + 504, sizeof buf - 504, 63);
    assert_true(a + b == whole);
    /* The streaming form over pieces of awkward sizes gives the same. */
    struct exec_csum c;
    exec_csum_init(&c);
    size_t cuts[] = {0, 1, 4, 13, 64, 65, 500, 1003};
    for (size_t i = 0; i + 1 < sizeof cuts / sizeof cuts[0]; i++)
        exec_csum_feed(&c, buf + cuts[i], cuts[i + 1] - cuts[i]);
    assert_true(exec_csum_final(&c) == whole);
    /* Three bytes: one zero-padded word, index 0. */
    uint8_t three[3] = {0x01, 0x02, 0x03};
    assert_true(exec_checksum(three, 3, 0) == exec_csum_mix(0x030201, 0));
    assert_true(exec_checksum(three, 0, 0) == 0);
}

static void test_checksum_detects_changes(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i ^ 0x5a);
    uint64_t base = exec_checksum(buf, sizeof buf, 0);
    buf[77] ^= 0x10; /* one bit of one byte */
    assert_true(exec_checksum(buf, sizeof buf, 0) != base);
    buf[77] ^= 0x10;
    uint8_t tmp[8]; /* swap words 2 and 5: the same multiset, other places */
    memcpy(tmp, buf + 16, 8);
    memcpy(buf + 16, buf + 40, 8);
    memcpy(buf + 40, tmp, 8);
    assert_true(exec_checksum(buf, sizeof buf, 0) != base);
}

/* ---- synthetic files --------------------------------------------------- */

static void test_gen_exact_size_and_checksum(void **state)
{
    const char *dir = *state;
    /* 1 MiB + 5: a size that ends in a partial word. */
    const uint64_t sizes[] = {0, 5, 8, (1u << 20) + 5};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/gen-%zu.bin", dir, i);
        struct thaw_err err = {0, ""};
        assert_int_equal(exec_weights_gen(path, sizes[i], 42, &err), 0);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal((uint64_t)sb.st_size, sizes[i]);
        size_t len = 0;
        uint8_t *data = read_all(path, &len);
        assert_non_null(data);
        assert_int_equal(len, sizes[i]);
        assert_true(exec_checksum(data, len, 0) == exec_weights_expected_checksum(sizes[i], 42));
        if (len >= 8) {
            uint64_t w0;
            memcpy(&w0, data, 8); /* little-endian word 0 of the stream */
            assert_true(w0 == exec_weights_word(42, 0));
        }
        free(data);
    }
    /* An empty file sums nothing. */
    assert_true(exec_weights_expected_checksum(0, 42) == 0);
    /* Another seed, another file. */
    assert_true(exec_weights_expected_checksum(4096, 1) != exec_weights_expected_checksum(4096, 2));
}

static void test_gen_bad_folder(void **state)
{
    (void)state;
    struct thaw_err err = {0, ""};
    int rc = exec_weights_gen("/nonexistent-thaw-dir/x.bin", 16, 1, &err);
    assert_true(rc < 0);
    assert_non_null(strstr(err.msg, "/nonexistent-thaw-dir/x.bin"));
}

static void test_weights_open_synthetic(void **state)
{
    const char *dir = *state;
    struct core_model_spec m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "tiny");
    m.weights_bytes = 10000;
    struct exec_weights *w = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_weights_open(&m, dir, false, &w, &err), THAW_ENOENT);
    assert_null(w);
    assert_int_equal(exec_weights_open(&m, dir, true, &w, &err), 0);
    assert_non_null(w);
    assert_true(w->checksum_known);
    assert_int_equal(w->bytes, 10000);
    assert_true(w->checksum == exec_weights_expected_checksum(10000, exec_weights_seed("tiny")));
    struct exec_source src;
    exec_weights_source(w, &src);
    assert_int_equal(src.segment_count, 1);
    assert_int_equal(src.bytes, 10000);
    assert_non_null(strstr(src.segments[0].path, "tiny.bin"));
    exec_weights_free(w);
    /* Found this time without generating. */
    assert_int_equal(exec_weights_open(&m, dir, false, &w, &err), 0);
    exec_weights_free(w);
    /* A name that would escape the folder is refused. */
    snprintf(m.name, sizeof m.name, "../evil");
    assert_int_equal(exec_weights_open(&m, dir, true, &w, &err), THAW_EINVAL);
}

static void test_request_ref(void **state)
{
    (void)state;
    /* Two bytes W = [1, 2]: one short row; y = 1*x0 + 2*x1 with x[c] the
     * low byte of word c of the stream, as int8. */
    int8_t wbytes[2] = {1, 2};
    int8_t x0 = (int8_t)exec_weights_word(9, 0), x1 = (int8_t)exec_weights_word(9, 1);
    int32_t y = 1 * x0 + 2 * x1;
    assert_true(exec_request_ref(wbytes, 2, 9) == exec_csum_mix((uint32_t)y, 0));
    /* Nothing to read, nothing summed. */
    assert_true(exec_request_ref(wbytes, 0, 9) == 0);
}

/* ---- safetensors ------------------------------------------------------- */

/* Writes an 8-byte little-endian length (claimed), the header, then
 * data_bytes bytes of data. */
static void write_st(const char *path, uint64_t claimed, const char *header, size_t data_bytes)
{
    size_t hl = strlen(header);
    size_t total = 8 + hl + data_bytes;
    uint8_t *b = calloc(1, total);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(claimed >> (8 * i));
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < data_bytes; i++)
        b[8 + hl + i] = (uint8_t)i;
    write_bytes(path, b, total);
    free(b);
}

static void write_st_ok(const char *path, const char *header, size_t data_bytes)
{
    write_st(path, strlen(header), header, data_bytes);
}

static void test_st_valid(void **state)
{
    const char *dir = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/ok.safetensors", dir);
    /* a: F32 2x2 = 16 bytes [0,16); b: I8 3 = 3 bytes [16,19); 19 bytes of data. */
    const char *h = "{\"__metadata__\":{\"format\":\"pt\"},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                    "\"b\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[16,19]}}";
    write_st_ok(path, h, 19);
    struct exec_safetensors *st = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_safetensors_open(path, &st, &err), 0);
    assert_int_equal(st->file_count, 1);
    assert_int_equal(st->tensor_count, 2);
    assert_string_equal(st->tensors[0].name, "a");
    assert_string_equal(st->tensors[0].dtype, "F32");
    assert_int_equal(st->tensors[0].ndim, 2);
    assert_int_equal(st->tensors[1].end, 19);
    assert_int_equal(st->data_bytes, 19);
    assert_int_equal(st->files[0].data_offset, 8 + strlen(h));
    exec_safetensors_free(st);
    /* Header order is not data order (older writers listed tensors by
     * name): z [0,4) and a [4,8) are accepted and kept in data order. */
    snprintf(path, sizeof path, "%s/shuffled.safetensors", dir);
    write_st_ok(path,
                "{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                "\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                8);
    assert_int_equal(exec_safetensors_open(path, &st, &err), 0);
    assert_string_equal(st->tensors[0].name, "z");
    assert_string_equal(st->tensors[1].name, "a");
    exec_safetensors_free(st);
    /* A scalar (shape []) of F64 is 8 bytes. */
    snprintf(path, sizeof path, "%s/scalar.safetensors", dir);
    write_st_ok(path, "{\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8);
    assert_int_equal(exec_safetensors_open(path, &st, &err), 0);
    assert_int_equal(st->tensors[0].ndim, 0);
    exec_safetensors_free(st);
    /* No tensors at all: "{}" (and metadata alone) is a valid file with an
     * empty data section (the reference reader accepts it): 0 tensors, 0
     * bytes. It once reached qsort(NULL, 0, ...). */
    static const char *const empty[] = {"{}", "{\"__metadata__\":{\"format\":\"pt\"}}"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/empty%d.safetensors", dir, i);
        write_st_ok(path, empty[i], 0);
        assert_int_equal(exec_safetensors_open(path, &st, &err), 0);
        assert_int_equal(st->file_count, 1);
        assert_int_equal(st->tensor_count, 0);
        assert_int_equal(st->data_bytes, 0);
        assert_int_equal(st->files[0].data_offset, 8 + strlen(empty[i]));
        exec_safetensors_free(st);
    }
    /* "{}" with data after it: those bytes are not indexed. */
    snprintf(path, sizeof path, "%s/empty-trailing.safetensors", dir);
    write_st_ok(path, "{}", 4);
    assert_int_equal(exec_safetensors_open(path, &st, &err), THAW_EPARSE);
    assert_non_null(strstr(err.msg, "4 bytes after the last tensor"));
}

struct bad_case {
    const char *name;
    const char *header; /* NULL: raw bytes below */
    int64_t claimed;    /* -1: the header's real length */
    size_t data_bytes;
    const char *defect; /* a substring of the message */
};

static const struct bad_case bad_cases[] = {
    {"truncated", NULL, 0, 0, "truncated"},
    {"len-past-file", "{}", 1000, 4, "exceeds the file"},
    {"len-100mb", "{}", 200000000, 0, "100 MB limit"},
    {"bad-json", "{\"a\": {\"dtype\": ", -1, 0, "not valid JSON"},
    {"not-object", "[1,2]", -1, 0, "not a JSON object"},
    {"dup-key",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
     "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
     -1, 2, "duplicate"},
    {"unknown-dtype", "{\"a\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,2]}}", -1, 2,
     "unknown dtype"},
    /* F32 2x2 is 16 bytes, the range spans 12. */
    {"size-mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", -1, 12,
     "size mismatch"},
    /* 16 bytes asked of an 8-byte data section. */
    {"range-outside", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", -1, 8,
     "outside the data section"},
    /* b starts at 4, inside a's [0,8). */
    {"overlap",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}",
     -1, 12, "overlaps"},
    /* A range given backwards: begin 8, end 0. */
    {"not-sorted", "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[8,0]}}", -1, 8,
     "not sorted"},
    {"gap",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}",
     -1, 12, "gap"},
    /* 20 bytes of data, 16 indexed. */
    {"trailing", "{\"a\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]}}", -1, 20,
     "not indexed"},
    {"neg-shape", "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", -1, 0,
     "non-negative"},
    {"bad-offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", -1, 1,
     "data_offsets"},
    {"meta-not-string", "{\"__metadata__\":{\"k\":3}}", -1, 0, "__metadata__"},
    /* 2^32 x 2^32 elements overflow 64 bits. */
    {"overflow",
     "{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
     "\"data_offsets\":[0,0]}}",
     -1, 0, "overflows"},
};

static void test_st_malformed(void **state)
{
    const char *dir = *state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        char path[512];
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, c->name);
        if (!c->header)
            write_bytes(path, "\x05\x00\x00\x00\x00", 5);
        else
            write_st(path, c->claimed < 0 ? strlen(c->header) : (uint64_t)c->claimed, c->header,
                     c->data_bytes);
        struct exec_safetensors *st = NULL;
        struct thaw_err err = {0, ""};
        int rc = exec_safetensors_open(path, &st, &err);
        if (rc != THAW_EPARSE || !strstr(err.msg, c->defect) || !strstr(err.msg, path))
            print_error("case %s: rc %d, message \"%s\"\n", c->name, rc, err.msg);
        assert_int_equal(rc, THAW_EPARSE);
        assert_null(st);
        assert_non_null(strstr(err.msg, c->defect));
        assert_non_null(strstr(err.msg, path)); /* the message names the file */
    }
}

/* Mutated copies of a valid file (bytes changed in the length and the
 * header, or the file cut short), parsed 600 times: each is either valid
 * with every range inside its file, or rejected as a parse error; never a
 * crash or a read outside the buffer (the sanitized build checks that).
 * The mutations come from a fixed xorshift stream, so a failure repeats. */
static void test_st_fuzz(void **state)
{
    const char *dir = *state;
    const char *h = "{\"__metadata__\":{\"k\":\"v\"},"
                    "\"a\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                    "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[12,16]},"
                    "\"c\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[16,20]}}";
    size_t hl = strlen(h), total = 8 + hl + 20;
    uint8_t *base = calloc(1, total), *m = malloc(total);
    for (int i = 0; i < 8; i++)
        base[i] = (uint8_t)(hl >> (8 * i));
    memcpy(base + 8, h, hl);
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz.safetensors", dir);
    uint64_t x = 0x2545F4914F6CDD1Dull;
    int valid = 0, rejected = 0;
    for (int it = 0; it < 600; it++) {
        memcpy(m, base, total);
        size_t len = total;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (x % 5 == 0) {
            len = (size_t)((x >> 8) % total); /* cut short */
        } else {
            int flips = 1 + (int)((x >> 8) % 4);
            for (int f = 0; f < flips; f++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                size_t at = (size_t)((x >> 16) % (8 + hl));
                m[at] = (uint8_t)(x >> 40);
            }
        }
        write_bytes(path, m, len);
        struct exec_safetensors *st = NULL;
        struct thaw_err err = {0, ""};
        int rc = exec_safetensors_open(path, &st, &err);
        if (rc == 0) {
            valid++;
            assert_true(st->files[0].data_offset + st->data_bytes == len);
            for (int t = 0; t < st->tensor_count; t++)
                assert_true(st->tensors[t].end <= st->files[0].data_bytes);
            exec_safetensors_free(st);
        } else {
            rejected++;
            assert_int_equal(rc, THAW_EPARSE);
            assert_null(st);
        }
    }
    /* Most mutations break something; a few (a changed metadata value, a
     * renamed tensor) leave a valid file. */
    assert_int_equal(valid + rejected, 600);
    assert_true(rejected > 300);
    free(base);
    free(m);
}

static void test_st_shards(void **state)
{
    const char *dir = *state;
    char sub[512], path[600];
    snprintf(sub, sizeof sub, "%s/shards", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    struct exec_safetensors *st = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_safetensors_open(sub, &st, &err), THAW_ENOENT);
    assert_non_null(strstr(err.msg, "no *.safetensors"));
    /* Written out of order; read sorted by name: 00001 (4 bytes) then 00002 (2). */
    snprintf(path, sizeof path, "%s/model-00002.safetensors", sub);
    write_st_ok(path, "{\"y\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
    snprintf(path, sizeof path, "%s/model-00001.safetensors", sub);
    write_st_ok(path, "{\"x\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    snprintf(path, sizeof path, "%s/README.txt", sub);
    write_bytes(path, "ignored", 7);
    assert_int_equal(exec_safetensors_open(sub, &st, &err), 0);
    assert_int_equal(st->file_count, 2);
    assert_non_null(strstr(st->files[0].path, "model-00001"));
    assert_string_equal(st->tensors[0].name, "x");
    assert_string_equal(st->tensors[1].name, "y");
    assert_int_equal(st->tensors[1].file, 1);
    assert_int_equal(st->data_bytes, 6);
    exec_safetensors_free(st);
    /* The same tensor name in two shards. */
    snprintf(path, sizeof path, "%s/model-00003.safetensors", sub);
    write_st_ok(path, "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    assert_int_equal(exec_safetensors_open(sub, &st, &err), THAW_EPARSE);
    assert_non_null(strstr(err.msg, "\"x\" is also in"));
    /* A bad shard fails the folder, naming that shard. */
    snprintf(path, sizeof path, "%s/model-00003.safetensors", sub);
    write_st_ok(path, "{\"z\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    assert_int_equal(exec_safetensors_open(sub, &st, &err), THAW_EPARSE);
    assert_non_null(strstr(err.msg, "model-00003"));
    assert_non_null(strstr(err.msg, "unknown dtype"));
}

static void test_weights_open_safetensors(void **state)
{
    const char *dir = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    const char *h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[10],\"data_offsets\":[0,10]}}";
    write_st_ok(path, h, 10);
    struct core_model_spec m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "st");
    m.weights_kind = CORE_WEIGHTS_SAFETENSORS;
    m.weights_path = path;
    m.weights_bytes = 999; /* ignored: the file decides */
    struct exec_weights *w = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_weights_open(&m, NULL, false, &w, &err), 0);
    assert_false(w->checksum_known);
    assert_int_equal(w->bytes, 10);
    assert_int_equal(w->segment_count, 1);
    assert_int_equal(w->segments[0].offset, 8 + strlen(h));
    exec_weights_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mix_is_splitmix64),
        cmocka_unit_test(test_checksum_pieces_add),
        cmocka_unit_test(test_checksum_detects_changes),
        cmocka_unit_test_setup_teardown(test_gen_exact_size_and_checksum, setup_dir, teardown_dir),
        cmocka_unit_test(test_gen_bad_folder),
        cmocka_unit_test_setup_teardown(test_weights_open_synthetic, setup_dir, teardown_dir),
        cmocka_unit_test(test_request_ref),
        cmocka_unit_test_setup_teardown(test_st_valid, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_st_malformed, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_st_fuzz, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_st_shards, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_weights_open_safetensors, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* weights.h - weight files: what bytes make up a model's weights, where they
 * are, and how to check they landed intact. Synthetic files are written from
 * a counter-based generator so their checksum is known without reading them
 * back; safetensors files (one file or a folder of shards) are parsed and
 * validated before a byte of them is loaded.
 *
 * The checksum (the same on host and in the CUDA kernel): the bytes are read
 * as little-endian 64-bit words w_0, w_1, ... (the last one zero-padded);
 *     checksum = sum over i of exec_csum_mix(w_i, i)   (mod 2^64)
 * A sum of independent terms, so any 8-aligned piece can be summed on its
 * own and the pieces added, in any order, in parallel; the index in each
 * term catches moved words, and the mix (a bijection in w) catches any
 * changed word.
 *
 * All functions are thread-safe (no shared state). Sizes are bytes. */
#ifndef THAW_EXEC_WEIGHTS_H
#define THAW_EXEC_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"
#include "thaw_err.h"

/* ---- checksum ---------------------------------------------------------- */

/* splitmix64's finaliser of (word + (index + 1) * 0x9E3779B97F4A7C15). */
static inline uint64_t exec_csum_mix(uint64_t word, uint64_t index)
{
    uint64_t z = word + (index + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Checksum of `len` bytes that start at word `first_word` of the whole
 * (byte offset first_word * 8). Only the piece that ends the whole may have
 * a length that is not a multiple of 8. Sum pieces with + (mod 2^64). */
uint64_t exec_checksum(const void *data, size_t len, uint64_t first_word);

/* A streaming checksum for bytes fed in order, in pieces of any length
 * (the loader's reader thread, shards whose sizes are not multiples of 8). */
struct exec_csum {
    uint64_t sum;
    uint64_t word_index; /* index of the next full word */
    uint8_t tail[8];     /* a partial word carried to the next feed */
    unsigned tail_len;
};
void exec_csum_init(struct exec_csum *c);
void exec_csum_feed(struct exec_csum *c, const void *data, size_t len);
uint64_t exec_csum_final(const struct exec_csum *c); /* does not change c */

/* ---- synthetic weights ------------------------------------------------- */

/* Word i of the synthetic stream for `seed` (splitmix64 of seed and i). A
 * file of N bytes holds the first N bytes of the stream, little-endian. */
uint64_t exec_weights_word(uint64_t seed, uint64_t index);
/* Fills buf with bytes [offset, offset + len) of the stream; offset % 8 == 0. */
void exec_weights_fill(void *buf, size_t len, uint64_t offset, uint64_t seed);
/* The seed of a model's synthetic file: FNV-1a 64 of its name, so a file
 * written once serves every run and every scenario seed. */
uint64_t exec_weights_seed(const char *model_name);
/* Writes `bytes` bytes of the stream for `seed` to `path` (created 0644 or
 * truncated; written to a temporary name in the same folder and renamed, so
 * a crash never leaves a short file under the real name). */
int exec_weights_gen(const char *path, uint64_t bytes, uint64_t seed, struct thaw_err *err);
/* The checksum of such a file, computed without reading it. */
uint64_t exec_weights_expected_checksum(uint64_t bytes, uint64_t seed);
/* Where a model's synthetic file lives, and writing or verifying one by
 * model name, are public: exec.h (exec_weights_synthetic_path, ...). */

/* ---- request work (the reference every backend matches) ---------------- */

/* A GEMV-like pass: the bytes are a row-major int8 matrix of rows of
 * EXEC_REQUEST_COLS (the last row may be short); x[c] is an int8 from the
 * seeded stream (x[c] = (int8_t)exec_weights_word(seed, c)); y_r = sum_c
 * W[r][c] * x[c] in int32; the value is sum_r exec_csum_mix((uint32_t)y_r, r)
 * mod 2^64, so it does not depend on the order rows are summed in. */
#define EXEC_REQUEST_COLS 4096
uint64_t exec_request_ref(const void *data, uint64_t bytes, uint64_t seed);
/* The same over rows first_row, first_row+1, ... held at `data` (whole rows
 * but the last): a buffer in pieces of whole rows sums its pieces' values. */
uint64_t exec_request_ref_rows(const void *data, uint64_t bytes, uint64_t seed, uint64_t first_row);

/* ---- safetensors ------------------------------------------------------- */

#define EXEC_ST_MAX_DIMS 8
#define EXEC_ST_HEADER_MAX (100ull * 1000 * 1000) /* bytes of JSON header, at most */

struct exec_st_tensor {
    char *name;
    char dtype[12]; /* "F32", "BF16", ... */
    int ndim;       /* 0 = a scalar */
    uint64_t shape[EXEC_ST_MAX_DIMS];
    int file;            /* index into files */
    uint64_t begin, end; /* data_offsets, relative to the file's data section */
};

struct exec_st_file {
    char *path;
    uint64_t file_bytes;
    uint64_t header_bytes; /* the JSON header's length, N */
    uint64_t data_offset;  /* 8 + N: where the data section starts */
    uint64_t data_bytes;   /* file_bytes - data_offset */
};

/* A validated set of safetensors files. Rules checked (each violation is
 * THAW_EPARSE with "PATH: DEFECT" in err, never a crash):
 *  - the file has at least 8 bytes; the little-endian u64 header length N
 *    is <= EXEC_ST_HEADER_MAX and <= file size - 8;
 *  - the header is a JSON object (duplicate keys rejected); "__metadata__",
 *    if present, is an object of string to string;
 *  - every other key is a tensor: {"dtype": known, "shape": [non-negative
 *    integers], "data_offsets": [begin, end]} with begin <= end;
 *  - (product of shape) * (dtype size) == end - begin (overflow-checked;
 *    sub-byte dtypes are not accepted);
 *  - taken in data_offsets order (the header may list them in any order,
 *    as older safetensors writers did; the reference reader sorts too),
 *    the ranges are contiguous: the first begins at 0, each begins where
 *    the previous ended (a gap or an overlap is a defect), and the last
 *    ends exactly at the end of the file (no trailing bytes) - the
 *    safetensors rule that the buffer be fully indexed. A range with
 *    begin > end is "not sorted";
 *  - a folder: its *.safetensors files (sorted by name, at least one),
 *    each valid, and no tensor name in two of them.
 * Known dtypes and sizes: F64 I64 U64 C64 8; F32 I32 U32 4; F16 BF16 I16 U16 2;
 * I8 U8 BOOL F8_E4M3 F8_E5M2 F8_E8M0 1. */
struct exec_safetensors {
    int file_count;
    struct exec_st_file *files;
    int tensor_count;
    struct exec_st_tensor *tensors; /* files in order, each file's in offset order */
    uint64_t data_bytes;            /* sum of the data sections: bytes that land in VRAM */
};

/* `path` is a .safetensors file or a folder of them. Free with
 * exec_safetensors_free. */
int exec_safetensors_open(const char *path, struct exec_safetensors **out, struct thaw_err *err);
void exec_safetensors_free(struct exec_safetensors *st); /* NULL ok */
/* Size of a dtype in bytes, 0 when unknown. */
unsigned exec_st_dtype_size(const char *dtype);

/* ---- sources: where a load or a fill reads from ------------------------ */

/* A byte range of a file. */
struct exec_segment {
    const char *path;
    uint64_t offset;
    uint64_t bytes;
};

enum exec_source_kind {
    EXEC_SOURCE_FILES = 0, /* segments, read in order, land back to back */
    EXEC_SOURCE_MEMORY,    /* memory: data, bytes */
    /* an open file read with pread from offset 0 (the shm tier): fd, bytes.
     * Not a mapping, so a file truncated under a load is a short read (the
     * load fails with a reason), never a SIGBUS. */
    EXEC_SOURCE_FD,
};

/* The caller owns everything a source points to and keeps it alive for the
 * whole load or fill. */
struct exec_source {
    enum exec_source_kind kind;
    int segment_count;
    const struct exec_segment *segments;
    const void *data;
    uint64_t bytes;    /* total bytes (both kinds) */
    const char *label; /* for messages: the file, the folder, the shm file */
    int fd;            /* EXEC_SOURCE_FD only; the caller keeps it open */
};

/* A model's weights on storage, resolved: synthetic (one file of
 * weights_bytes in synthetic_dir, checksum known in advance) or safetensors
 * (the data sections of its files; the checksum is computed while reading). */
struct exec_weights {
    char *label;    /* path of the file or folder */
    uint64_t bytes; /* bytes that land in VRAM */
    bool checksum_known;
    uint64_t checksum; /* when checksum_known */
    bool synthetic;
    int segment_count;
    struct exec_segment *segments; /* owned */
    struct exec_safetensors *st;   /* safetensors only, owned */
};

/* Resolves model `m`. Synthetic: the file is
 * exec_weights_synthetic_path(synthetic_dir, m->name); when it is missing
 * or its size differs from m->weights_bytes it is generated if `generate`
 * is true, else THAW_ENOENT. Safetensors: parsed and validated (above);
 * m->weights_bytes is not used (the files decide). Computing the expected
 * checksum of a synthetic file costs about a pass over memory of its size. */
int exec_weights_open(const struct core_model_spec *m, const char *synthetic_dir, bool generate,
                      struct exec_weights **out, struct thaw_err *err);
void exec_weights_free(struct exec_weights *w); /* NULL ok */
/* A FILES source over w's segments (valid while w lives). */
void exec_weights_source(const struct exec_weights *w, struct exec_source *out);

#endif

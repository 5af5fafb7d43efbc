/* exec.h - the real executor: a driver of the driver shell (shell/shell.h),
 * which feeds the same core as the simulator, on the wall clock, with real weight files, a real
 * /dev/shm tier and a device backend (cuda or host), and records to the same schema with mode=exec.
 * This is the module's public face (the only exec header other modules see:
 * the build exports nothing else); backend.h, weights.h, shm.h, loader.h and
 * staging_pool.h are its internals. `thaw weights` reaches weight files and
 * the loader through the functions at the end. */
#ifndef THAW_EXEC_H
#define THAW_EXEC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "results.h"
#include "thaw_err.h"

/* 8 MiB: at 4 in flight, 32 MiB of staging per load keeps the pipeline
 * full at several GB/s without a large per-load allocation. */
#define EXEC_DEFAULT_CHUNK (8u << 20)

#define EXEC_HOST_REQUEST_FRACTION (1.0 / 64)

enum exec_backend_choice {
    EXEC_BACKEND_AUTO = 0, /* cuda when a device answers, host otherwise */
    EXEC_BACKEND_CUDA,     /* cuda or fail */
    EXEC_BACKEND_HOST,
};

/* Progress, reported from the driver's main thread a few times a second
 * (the library never prints; the CLI draws it on a TTY). */
struct exec_progress {
    int64_t now_ns;      /* scenario time (wall time x time_scale) */
    int loads_in_flight; /* models loading now */
    int fills_in_flight; /* shm fills running now */
    uint64_t loads_done; /* finished, ok or failed */
    uint64_t requests_done;
    uint64_t bytes_moved; /* weight bytes copied to devices and into shm so far */
    double wall_s;        /* wall seconds since the run started */
};

struct exec_backend; /* exec's internal device seam (backend.h) */

struct exec_opts {
    enum exec_backend_choice backend;
    /* virtual t = wall t x time_scale: 2 replays the scenario's schedule
     * (arrivals, faults, drawn waits and service floors) twice as fast.
     * Recorded times are virtual. <= 0 means 1. */
    double time_scale;
    const char *weights_dir; /* synthetic weight files (weights.h names); NULL = "weights" */
    const char *shm_dir;     /* NULL = the shm tier's default (/dev/shm/thaw-$UID) */
    bool keep_shm;           /* leave shm files in place at the end */
    /* Loader chunk (0 = EXEC_DEFAULT_CHUNK), capped per load at its bytes /
     * depth: a load stages depth chunks, more than its bytes is waste. */
    uint64_t chunk_bytes;
    int depth;           /* loader chunks in flight; 0 = 4 */
    int request_threads; /* request workers; 0 = online CPUs (>= 2) */
    /* Share of an instance's weights one request's work reads (a GEMV-like
     * pass, exec_backend_request). 0 = the backend's default: 1 on cuda;
     * EXEC_HOST_REQUEST_FRACTION on host, where a CPU core passes ~0.5-2 GB/s
     * against a GPU's 1-3 TB/s, so a whole pass per request would make the
     * emulation measure the CPU instead of the scheduling. */
    double request_fraction;
    bool check_invariants;        /* core_sched_check after every event */
    bool drop_page_cache;         /* posix_fadvise DONTNEED on weight files before the run */
    struct res_db *db;            /* NULL: do not record */
    struct res_run_info run_info; /* mode and backend are filled in by exec_run */
    /* Stops the run cleanly when it becomes non-zero (NULL: only the
     * library's own flag, exec_signal_flag, is watched). */
    volatile sig_atomic_t *stop;
    void (*progress)(void *ctx, const struct exec_progress *p); /* NULL: none */
    void *progress_ctx;
    /* The fault-injection seam (NULL: none): called once with the open
     * backend, before any work, so a test can wrap be->methods (backend.h,
     * internal to exec) with ones that fail. The methods must outlive the run. */
    void (*backend_hook)(void *ctx, struct exec_backend *be);
    void *backend_hook_ctx;
    /* The disk-cache folder's base (the storage ladder, exec/ladder.h):
     * files go in DISK_DIR/thaw-$UID/run-.../; NULL = weights_dir. */
    const char *disk_dir;
};

/* Zero-initialised opts with the defaults above spelled out. */
void exec_opts_init(struct exec_opts *o);

struct exec_result {
    int64_t run_id;        /* 0 when not recorded */
    char backend[16];      /* "cuda" | "host" */
    char backend_why[256]; /* why auto chose it ("no CUDA device: ...") */
    const char *status;    /* "complete" | "interrupted" | "failed" (static) */
    uint64_t events;       /* core input events fed */
    uint64_t actions;      /* core actions carried out */
    uint64_t loads_ok, loads_failed, loads_cancelled;
    uint64_t shm_fills_ok, shm_fills_failed;
    uint64_t requests_arrived, requests_served;
    uint64_t bytes_loaded; /* weight bytes copied to devices by ok loads */
    double load_copy_s;    /* wall seconds spent in ok loads' copies (sum) */
    /* The same split by source (index enum core_source): bytes and copy
     * seconds of ok loads, so bytes / seconds is a load's mean copy rate. */
    uint64_t source_bytes[2];
    double source_copy_s[2];
    uint64_t source_loads[2];
    int64_t end_ns; /* virtual time at the end */
    double wall_s;
    /* Tensor-parallel gangs started (tp > 1), their shards, and the
     * distinct devices under each gang's GPUs, summed: gang_devices ==
     * gang_shards when every shard had a device of its own (host: each
     * emulated GPU is its own arena; cuda: GPU i is device i mod count),
     * fewer when shards shared a device as regions of it. Recorded as the
     * metrics exec_gang_shards and exec_gang_devices. */
    uint64_t gang_loads, gang_shards, gang_device_slots;
};

/* The one global of the project: set (to 1) by the handler that
 * exec_signals_install() installs for SIGINT and SIGTERM. exec_run watches
 * it and stops cleanly: workers joined, run marked 'interrupted', shm files
 * removed. */
extern volatile sig_atomic_t exec_signal_flag;
/* Installs the SIGINT/SIGTERM handler (no SA_RESTART). 0 or THAW_EIO. */
int exec_signals_install(struct thaw_err *err);

/* Picks the backend for `choice`: "cuda" when it answers, else "host" with
 * the reason in why (len bytes). THAW_EDEVICE when cuda was demanded and
 * does not answer. Does not keep the device open. */
int exec_backend_pick(enum exec_backend_choice choice, char *name, size_t name_len, char *why,
                      size_t why_len, struct thaw_err *err);

/* Runs the scenario for real. The weight files of synthetic models must be
 * in opts->weights_dir (exec_weights_prepare makes them); a model whose
 * weights do not open (missing, truncated, corrupt) does not stop the run:
 * each of its loads fails and its instance goes FAILED.
 * What is real and what is drawn: weight copies, checksums and request work
 * take what they take on the backend; arrivals, faults, init/warm-up/phase
 * waits (cpu phases burn that much CPU) follow the scenario clock. A
 * request's service ends at the later of its real work's end and dispatch +
 * its drawn service time (the scenario's service time is a floor).
 * Instances placed READY at t=0 are loaded before the clock starts. Returns 0 when
 * the run was recorded (complete or interrupted: see out->status), or a
 * negative code (setup failure; a recorded run is then marked 'failed'). */
int exec_run(const struct core_spec *spec, const struct exec_opts *opts, struct exec_result *out,
             struct thaw_err *err);

/* Writes any missing synthetic weight file of spec's models into dir, and
 * rewrites one whose size is wrong; a file of the right size is kept.
 * *generated counts the files written, *generated_bytes their bytes. */
int exec_weights_prepare(const struct core_spec *spec, const char *dir, int *generated,
                         uint64_t *generated_bytes, struct thaw_err *err);

/* ---- resources: refused before any work when the host cannot hold it ------ */

/* THAW_ENOMEM, the message giving both numbers, when the synthetic weight
 * files still to write in `dir` (missing or of the wrong size; every one
 * with `force`) need more bytes than the file system of dir (of its parent
 * when dir does not exist yet) has free. exec_weights_prepare calls it
 * before writing anything. */
int exec_weights_check_disk(const struct core_spec *spec, const char *dir, bool force,
                            struct thaw_err *err);
/* What a run may hold in host memory, in bytes: the emulated VRAM (host
 * backend only: every GPU at most its cap and one instance of each model)
 * and the shm tier (each node at most its capacity and every model once). */
void exec_host_memory_need(const struct core_spec *spec, bool host_backend, uint64_t *vram_bytes,
                           uint64_t *shm_bytes);
/* MemAvailable of `path` (NULL = /proc/meminfo) in bytes; THAW_ENOENT when
 * the file has no such line, THAW_EIO when it cannot be read. */
int exec_meminfo_available(const char *path, uint64_t *out, struct thaw_err *err);
/* THAW_ENOMEM with the numbers when exec_host_memory_need exceeds
 * MemAvailable; 0 when it fits or there is nothing to measure against. */
int exec_check_memory(const struct core_spec *spec, bool host_backend, struct thaw_err *err);

/* ---- bench ------------------------------------------------------------------ */

/* The loader against this host's own limits, per source, measured in one
 * call on one model's weights (each load alone, nothing else running):
 * storage = exec_load from the weight file with a cold page cache, beside a
 * plain read() of the same file with a cold cache; shm = exec_load from the
 * shm tier's mapping, beside single-thread memcpy. Rates in 1e9 B/s. */
struct exec_bench_result {
    char model[CORE_NAME_MAX];
    uint64_t bytes;
    char backend[16];
    double storage_load_gbps, storage_limit_gbps;
    double shm_fill_gbps;
    double shm_load_gbps, shm_limit_gbps;
    bool direct_io; /* the storage load read with O_DIRECT */
};

/* Benchmarks `model` (-1: the largest synthetic model of spec) with opts'
 * backend, weights dir, shm dir, chunk and depth. The shm file is removed. */
int exec_bench(const struct core_spec *spec, int model, const struct exec_opts *opts,
               struct exec_bench_result *out, struct thaw_err *err);

/* ---- weight files (`thaw weights gen|check`) ---------------------------- */

/* "<dir>/<model_name>.bin" into buf: where a synthetic model's file lives.
 * THAW_ERANGE if it does not fit, THAW_EINVAL if the name has a '/' or
 * starts with '.'. */
int exec_weights_synthetic_path(const char *dir, const char *model_name, char *buf, size_t len,
                                struct thaw_err *err);
/* Writes the synthetic file of model `model_name`, `bytes` long, at `path`:
 * the generator seeded by the name (so the checksum is known without reading
 * it), written to a temporary name and renamed, so a crash never leaves a
 * short file under the real name. */
int exec_weights_write_synthetic(const char *path, const char *model_name, uint64_t bytes,
                                 struct thaw_err *err);
/* Reads `path` back and checksums it: *checksum is what the file holds,
 * *expected what the synthetic file of (model_name, bytes) must hold. 0 when
 * the file was read, whether or not they match (the caller compares);
 * THAW_EIO when it cannot be read. */
int exec_weights_verify_synthetic(const char *path, const char *model_name, uint64_t bytes,
                                  uint64_t *checksum, uint64_t *expected, struct thaw_err *err);

/* What a valid safetensors file or folder of shards holds. */
struct exec_safetensors_info {
    int file_count;
    int tensor_count;
    uint64_t data_bytes; /* the bytes that land in VRAM */
};
/* Parses and validates `path` (a .safetensors file or a folder of them; the
 * rules are in weights.h). THAW_EPARSE with "PATH: DEFECT" when invalid. */
int exec_safetensors_check(const char *path, struct exec_safetensors_info *out,
                           struct thaw_err *err);

/* ---- the loader on one file (`thaw weights bench`) ----------------------- */

/* The loader's pipeline defaults (a load's chunk and chunks in flight). */
#define EXEC_LOAD_CHUNK_DEFAULT (64u << 20) /* bytes */
#define EXEC_LOAD_DEPTH_DEFAULT 4

/* The loader per source on one synthetic file, each beside this host's own
 * limit measured in the same round: storage (exec_load with a cold page
 * cache, buffered and O_DIRECT) against a plain read() of the file with a
 * cold cache; shm (exec_load from the shm tier's mapping) against
 * single-thread memcpy, and a plain memcpy out of the mapping itself. A
 * session, so the caller can report each step as it starts: open, write,
 * prepare, one call per round, close. */
struct exec_bench_file;

struct exec_bench_file_config {
    const char *path;     /* the bench file, written by exec_bench_file_write */
    uint64_t bytes;       /* its size, > 0 */
    uint64_t chunk_bytes; /* loader chunk and shm fill piece, > 0 */
    int depth;            /* loader chunks in flight, >= 2 */
    const char *backend;  /* "auto", "host" or "cuda" */
    const char *shm_base; /* folder holding the shm tier; NULL = /dev/shm */
    bool keep;            /* leave the bench file in place at close */
};

/* The best (fastest) of each figure over the rounds so far. GB/s = 1e9 B/s. */
struct exec_bench_file_result {
    double storage_buffered_gbps;
    double storage_direct_gbps;
    bool direct_io;        /* the fastest O_DIRECT load really read O_DIRECT */
    double read_gbps;      /* plain read(), cold page cache */
    double shm_load_gbps;  /* loader from the shm mapping */
    int64_t shm_verify_ns; /* device checksum of that fastest shm load */
    double memcpy_gbps;    /* single-thread memcpy of anonymous memory */
    double mapping_gbps;   /* memcpy out of the shm mapping, no loader */
    double shm_fill_gbps;  /* storage -> shm, page cache as it was */
};

/* Opens the backend (one emulated GPU of c->bytes; `why` as
 * exec_backend_open says, may be NULL). Nothing is written yet. The caller
 * closes *out with exec_bench_file_close, whatever happens after. */
int exec_bench_file_open(const struct exec_bench_file_config *c, struct exec_bench_file **out,
                         char *why, size_t why_len, struct thaw_err *err);
const char *exec_bench_file_backend(const struct exec_bench_file *b); /* "host" | "cuda" */
/* The device behind the bench ("host arena 1.0 GiB", "NVIDIA ..."). */
void exec_bench_file_describe(struct exec_bench_file *b, char *buf, size_t len);
/* Writes the bench file (the synthetic stream seeded by "thaw-bench"). */
int exec_bench_file_write(struct exec_bench_file *b, struct thaw_err *err);
/* Allocates the device buffer, then fills the shm tier from the file and
 * maps it; a failure of the shm tier has "shm: " before its message. */
int exec_bench_file_prepare(struct exec_bench_file *b, struct thaw_err *err);
/* NULL when the shm tier is where it was asked to be, else why not. */
const char *exec_bench_file_shm_note(const struct exec_bench_file *b);
/* One round: read(), buffered load, O_DIRECT load, memcpy, shm load, memcpy
 * out of the mapping, back to back on the same bytes; *best (may be NULL)
 * gets the best of every round so far. */
int exec_bench_file_round(struct exec_bench_file *b, struct exec_bench_file_result *best,
                          struct thaw_err *err);
/* Unmaps and removes the shm copy, frees the device, closes the backend and
 * removes the bench file once written (unless keep). NULL ok. */
void exec_bench_file_close(struct exec_bench_file *b);

#endif

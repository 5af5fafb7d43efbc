/* driver.c - the exec driver: the executor's side of the driver shell
 * (shell/). The shell's loop, on the main thread, owns the core, the world's
 * inputs and the records; this file carries out the core's actions with real
 * work on the scenario clock (virtual t = wall t x time_scale): worker threads
 * (one per load or shm fill, a small pool for request work) only do blocking
 * work and hand their result back through one mutex+condvar queue, which
 * `collect` moves into the shell's heap at the time the work ended. The main
 * thread owns every table here (jobs, instances). */
#include "exec.h"
#include "arena.h"
#include "backend.h"
#include "loader.h"
#include "shell.h"
#include "ladder.h"
#include "shm.h"
#include "staging_pool.h"
#include "weights.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t exec_signal_flag;

static void on_signal(int sig)
{
    (void)sig;
    exec_signal_flag = 1;
}

int exec_signals_install(struct thaw_err *err)
{
    exec_signal_flag = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return thaw_err_set(err, THAW_EIO, "sigaction: %s", strerror(errno));
    return 0;
}

void exec_opts_init(struct exec_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backend = EXEC_BACKEND_AUTO;
    o->time_scale = 1.0;
    o->weights_dir = "weights";
    o->chunk_bytes = EXEC_DEFAULT_CHUNK;
    o->depth = EXEC_LOAD_DEPTH_DEFAULT;
    o->drop_page_cache = true;
    o->run_info.mode = "exec";
    o->run_info.overrides = "";
    o->run_info.params = "";
}

int exec_backend_pick(enum exec_backend_choice choice, char *name, size_t name_len, char *why,
                      size_t why_len, struct thaw_err *err)
{
    if (choice == EXEC_BACKEND_HOST) {
        snprintf(name, name_len, "host");
        snprintf(why, why_len, "host backend requested");
        return 0;
    }
    struct thaw_err probe = {0};
    int n = exec_backend_cuda_probe(&probe);
    if (n > 0) {
        snprintf(name, name_len, "cuda");
        snprintf(why, why_len, "%d CUDA device%s answered", n, n == 1 ? "" : "s");
        return 0;
    }
    if (choice == EXEC_BACKEND_CUDA)
        return thaw_err_set(err, THAW_EDEVICE, "cuda backend requested but %s",
                            n == 0 ? "no CUDA device answered" : probe.msg);
    snprintf(name, name_len, "host");
    snprintf(why, why_len, "%s: using host backend",
             n == 0 ? "no CUDA device" : (probe.msg[0] ? probe.msg : "no CUDA"));
    return 0;
}

int exec_weights_prepare(const struct core_spec *spec, const char *dir, int *generated,
                         uint64_t *generated_bytes, struct thaw_err *err)
{
    *generated = 0;
    *generated_bytes = 0;
    int disk = exec_weights_check_disk(spec, dir, false, err);
    if (disk < 0) return disk;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return thaw_err_set(err, THAW_EIO, "cannot create %s: %s", dir, strerror(errno));
    for (int m = 0; m < spec->model_count; m++) {
        const struct core_model_spec *ms = &spec->models[m];
        if (ms->weights_kind != CORE_WEIGHTS_SYNTHETIC) continue;
        char path[4096];
        int rc = exec_weights_synthetic_path(dir, ms->name, path, sizeof path, err);
        if (rc < 0) return rc;
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            (uint64_t)st.st_size == ms->weights_bytes)
            continue;
        rc = exec_weights_gen(path, ms->weights_bytes, exec_weights_seed(ms->name), err);
        if (rc < 0) return rc;
        (*generated)++;
        *generated_bytes += ms->weights_bytes;
    }
    return 0;
}

/* ---- jobs and the completion queue --------------------------------------- */

struct exec_ctx;

enum job_kind { JOB_LOAD, JOB_FILL, JOB_REQUEST };

/* What every job carries back through the queue (intrusive link), and its
 * event in the shell's heap once collected. */
struct job {
    enum job_kind kind;
    struct job *next;
    int64_t done_ns; /* scenario time when the work ended (set by the worker) */
    int status;      /* 0 or THAW_E* */
    char why[THAW_ERR_MSG_MAX];
    struct shell_ev ev; /* pending in the shell's heap after collect */
};

enum { EV_LOAD_DONE = SHELL_EV_DRIVER, EV_FILL_DONE };

struct load_job {
    struct job base; /* first: a struct job * is a struct load_job * */
    struct exec_ctx *x;
    pthread_t thread;
    atomic_bool cancel;
    bool cancelled; /* the core cancelled it (main thread only) */
    uint64_t load_id, instance;
    int model, gpu, node;
    enum core_source source;
    uint64_t bytes, vram_bytes;
    int64_t init_ns, warmup_ns; /* drawn, scenario time */
    int64_t *phase_ns;          /* drawn, per startup phase of the model (a copy) */
    int64_t enqueued_ns, started_ns;
    struct exec_dev_buf *buf; /* the instance's memory when status == 0 */
    struct exec_load_result res;
    /* What the load thread went through, for load_phases (written by the
     * main thread when the load comes back): at most init, every startup
     * phase, alloc, copy, verify and warm-up. */
    struct res_load_phase *ph;
    int ph_count;
    /* A tensor-parallel gang (tp > 1): shard i of the weights into its own
     * buffer on emulated GPU gang[i] (shard[0] is buf), copied by tp
     * threads at once; res sums the bytes and takes the slowest copy. */
    int tp;
    int gang[CORE_TP_MAX];
    struct exec_dev_buf *shard[CORE_TP_MAX];
    /* A WAKE: the weights come back from host memory (host, host_bytes,
     * owned by the instance until the wake is back), then wake_ns passes;
     * no init, phases or warm-up. */
    bool wake;
    const void *host;
    uint64_t host_bytes;
    int64_t wake_ns;
    /* CORE_SRC_PEER: the serving instance copied from (its memory is kept
     * alive meanwhile: its inst.running counts this load) */
    int peer_gpu;
    uint64_t peer_instance;
    const struct exec_dev_buf *peer_buf;
    /* a tp > 1 peer copy: shard i from the peer gang's GPU peer_gang[i],
     * its buffer peer_shard[i] (peer_shard[0] is peer_buf) */
    int peer_gang[CORE_TP_MAX];
    const struct exec_dev_buf *peer_shard[CORE_TP_MAX];
    int64_t copy_started_ns, copy_finished_ns; /* scenario time */
    atomic_bool unwound; /* the thread is done with its memory (freed it on failure) */
};

struct fill_job {
    struct job base;
    struct exec_ctx *x;
    pthread_t thread;
    bool has_thread;
    atomic_bool cancel;
    bool dropped; /* the core dropped the entry mid-fill: feed nothing back */
    int node, model;
    char name[256];
    struct exec_shm_fill_result res;
    bool disk;                 /* a disk-cache fill (else shm) */
    enum core_source source;   /* where it reads: storage, store or disk */
};

struct req_job {
    struct job base;
    uint64_t request, instance;
    uint32_t gen;
    const struct exec_dev_buf *buf;
    uint64_t bytes;
};

struct inst {
    bool known;
    int model, gpu;
    struct exec_dev_buf *buf;
    struct exec_dev_buf *shard[CORE_TP_MAX]; /* a gang's other shards (1..tp-1) */
    void *host; /* standby sleep: the weights kept in host memory while asleep */
    uint64_t host_bytes;
    int running;       /* request jobs using buf */
    bool free_pending; /* free buf when running drops to 0 */
};

struct exec_ctx {
    const struct core_spec *spec;
    const struct exec_opts *opts;
    struct exec_result *out;
    struct shell *sh;
    double scale;
    struct timespec t0;
    bool clock_started;

    struct exec_backend *be;
    struct exec_shm *shm;
    struct exec_weights **weights; /* per model; NULL when it did not open */
    char **weights_why;            /* per model: why it did not open */

    pthread_mutex_t mu;
    pthread_cond_t done_cv; /* main thread: something finished */
    pthread_cond_t work_cv; /* request workers: work queued or stopping */
    struct job *done_head, *done_tail;
    struct job *work_head, *work_tail;
    bool stopping;
    pthread_t *req_threads;
    int req_thread_count;

    struct load_job **loads; /* by load id, from start until freed */
    size_t load_cap;
    int loads_in_flight;     /* load threads not yet collected */
    struct fill_job **fills; /* started and not yet fed back, unordered */
    int fill_count, fill_cap;
    int fills_in_flight; /* fill threads not yet collected */
    struct inst *insts;  /* by instance id */
    size_t inst_cap;
    int requests_running;

    atomic_uint_least64_t bytes_moved;
    struct thaw_err err;       /* the first fatal error */
    struct res_phases *phases; /* load_phases writer (recording runs only) */
    int *close_fds;            /* descriptors for a request worker to close (under mu) */
    int close_count, close_cap;
    int device_count;           /* devices under the emulated GPUs (cuda), else gpu_count */
    struct exec_ladder ladder;  /* stores, links, disk caches, NVLink (ladder.h) */
    struct res_ladder_rec *rec; /* load_copies rows; NULL when not recording */
};

/* The device emulated GPU g lives on (backend.h: cuda maps i onto i %
 * device count; each host arena is its own). */
static int device_of(const struct exec_ctx *x, int g)
{
    return x->device_count > 0 ? g % x->device_count : g;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t t0_ns(const struct exec_ctx *x)
{
    return (int64_t)x->t0.tv_sec * 1000000000 + x->t0.tv_nsec;
}

/* Scenario time now. */
static int64_t vnow(const struct exec_ctx *x)
{
    if (!x->clock_started) return 0;
    return (int64_t)((double)(mono_ns() - t0_ns(x)) * x->scale);
}

/* Wall-clock (CLOCK_MONOTONIC) time at which scenario time v falls. */
static int64_t wall_of(const struct exec_ctx *x, int64_t v)
{
    return t0_ns(x) + (int64_t)((double)v / x->scale);
}

static bool stop_requested(const struct exec_ctx *x)
{
    return exec_signal_flag || (x->opts->stop && *x->opts->stop);
}

static void push_done(struct exec_ctx *x, struct job *j)
{
    pthread_mutex_lock(&x->mu);
    j->next = NULL;
    if (x->done_tail)
        x->done_tail->next = j;
    else
        x->done_head = j;
    x->done_tail = j;
    pthread_cond_signal(&x->done_cv);
    pthread_mutex_unlock(&x->mu);
}

static void job_fail(struct job *j, int status, const struct thaw_err *e)
{
    j->status = status;
    snprintf(j->why, sizeof j->why, "%s", e && e->msg[0] ? e->msg : thaw_strerror(status));
}

/* Sleeps `v_ns` of scenario time in short slices, watching the cancel flag. */
static int wait_scenario(const struct exec_ctx *x, int64_t v_ns, const atomic_bool *cancel)
{
    int64_t end = mono_ns() + (int64_t)((double)v_ns / x->scale);
    for (;;) {
        if (atomic_load(cancel)) return THAW_EINTR;
        int64_t left = end - mono_ns();
        if (left <= 0) return 0;
        if (left > 20000000) left = 20000000;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = left};
        nanosleep(&ts, NULL);
    }
}

/* Burns `v_ns` of scenario core-time on this thread (one core at most), so
 * CPU-bound startup phases compete for the host's real cores as they
 * compete for the node's cores in the simulator. */
static int burn_cpu(const struct exec_ctx *x, int64_t v_ns, const atomic_bool *cancel)
{
    if (v_ns <= 0) return 0;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    int64_t start = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int64_t need = (int64_t)((double)v_ns / x->scale);
    volatile uint64_t sink = 0;
    for (;;) {
        if (atomic_load(cancel)) return THAW_EINTR;
        for (int i = 0; i < 100000; i++)
            sink = sink * 6364136223846793005ull + 1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        if ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - start >= need) return 0;
    }
}

/* The loader allocates (and touches) depth staging chunks per load; a chunk
 * larger than a load's share of its bytes only costs memory and time, so
 * it is capped at bytes / depth (rounded up to 1 MiB). */
static size_t load_chunk(const struct exec_opts *o, uint64_t bytes)
{
    uint64_t chunk = o->chunk_bytes ? o->chunk_bytes : EXEC_DEFAULT_CHUNK;
    int depth = o->depth > 0 ? o->depth : EXEC_LOAD_DEPTH_DEFAULT;
    uint64_t share = (bytes / (uint64_t)depth + (1u << 20) - 1) / (1u << 20) * (1u << 20);
    if (share < (1u << 20)) share = 1u << 20;
    return (size_t)(chunk < share ? chunk : share);
}

/* Notes phase `ph` of the load, from start_ns to now (scenario time). */
static void ph_mark(struct load_job *j, enum res_phase ph, const char *name, bool cpu,
                    int64_t start_ns)
{
    j->ph[j->ph_count++] = (struct res_load_phase){.load_id = j->load_id,
                                                   .phase = ph,
                                                   .name = name,
                                                   .cpu = cpu,
                                                   .start_ns = start_ns,
                                                   .end_ns = vnow(j->x)};
}

/* The model's startup phases of one side of the copy, in the scenario's
 * order, as the simulator runs them: a wait sleeps, a CPU phase burns. */
static int run_phases(struct load_job *j, enum core_phase_when when)
{
    const struct core_model_spec *ms = &j->x->spec->models[j->model];
    for (int p = 0; p < ms->phase_count && !j->wake; p++) {
        const struct core_phase_spec *ph = &ms->phases[p];
        if (ph->when != when) continue;
        int64_t t = vnow(j->x);
        int rc = ph->cpu ? burn_cpu(j->x, j->phase_ns[p], &j->cancel)
                         : wait_scenario(j->x, j->phase_ns[p], &j->cancel);
        ph_mark(j, RES_PHASE_STARTUP, ph->name, ph->cpu, t);
        if (rc < 0) return rc;
    }
    return 0;
}

/* The loader options of one copy of load j (the whole load, or one shard of
 * a gang): chunks, depth, the ladder's read-rate caps on its path, and the
 * page cache: storage and store reads go around it, so a storage load costs
 * what storage costs even when an earlier load read the same file. */
static void load_options(const struct exec_ctx *x, struct load_job *j, uint64_t bytes,
                         struct exec_rate *const *caps, int ncaps, struct exec_load_options *lo)
{
    exec_load_options_init(lo);
    lo->rates = caps;
    lo->rate_count = ncaps;
    lo->chunk_bytes = load_chunk(x->opts, bytes);
    lo->depth = x->opts->depth;
    bool cold = !j->wake && (j->source == CORE_SRC_STORAGE || j->source == CORE_SRC_STORE);
    lo->drop_cache = cold && x->opts->drop_page_cache;
    lo->try_direct = cold;
    lo->verify = true;
    lo->cancel = &j->cancel;
}

/* ---- tensor-parallel gangs ------------------------------------------------- */

struct shard_work {
    struct exec_backend *be;
    struct exec_dev_buf *buf;
    struct exec_source src;
    struct exec_segment *segs; /* owned: the shard's part of the source */
    struct exec_rate *caps[EXEC_LADDER_MAX_CAPS]; /* the ladder's caps on its path */
    struct exec_load_options lo;
    struct exec_load_result res;
    int rc;
    struct thaw_err err;
};

/* The bytes [lo, lo+n) of a files or fd source, as a files source. An fd
 * source (shm) is read again through its path, by pread like the fd. */
static int shard_source(const struct exec_source *src, uint64_t lo, uint64_t n,
                        struct shard_work *sw, struct thaw_err *err)
{
    memset(&sw->src, 0, sizeof sw->src);
    if (src->kind == EXEC_SOURCE_MEMORY) { /* a wake: the shard's part of the host copy */
        sw->src.kind = EXEC_SOURCE_MEMORY;
        sw->src.data = (const char *)src->data + lo;
        sw->src.bytes = n;
        sw->src.label = src->label;
        sw->src.fd = -1;
        return 0;
    }
    struct exec_segment whole = {.path = src->label, .offset = 0, .bytes = src->bytes};
    const struct exec_segment *in = src->kind == EXEC_SOURCE_FD ? &whole : src->segments;
    int in_n = src->kind == EXEC_SOURCE_FD ? 1 : src->segment_count;
    if (src->kind != EXEC_SOURCE_FD && src->kind != EXEC_SOURCE_FILES)
        return thaw_err_set(err, THAW_EINVAL, "a gang shard needs a file source");
    sw->segs = calloc((size_t)(in_n > 0 ? in_n : 1), sizeof *sw->segs);
    if (!sw->segs) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    int k = 0;
    uint64_t at = 0, hi = lo + n;
    for (int i = 0; i < in_n; i++) {
        uint64_t a = at, b = at + in[i].bytes;
        at = b;
        if (b <= lo || a >= hi) continue;
        uint64_t from = a < lo ? lo : a, to = b > hi ? hi : b;
        sw->segs[k++] = (struct exec_segment){
            .path = in[i].path, .offset = in[i].offset + (from - a), .bytes = to - from};
    }
    sw->src.kind = EXEC_SOURCE_FILES;
    sw->src.segments = sw->segs;
    sw->src.segment_count = k;
    sw->src.bytes = n;
    sw->src.label = src->label;
    sw->src.fd = -1;
    return 0;
}

static void *shard_main(void *arg)
{
    struct shard_work *sw = arg;
    sw->rc = exec_load(sw->be, sw->buf, &sw->src, &sw->lo, &sw->res, &sw->err);
    return NULL;
}

/* Allocates the share on each GPU of the gang (all or none), then copies
 * the shards in parallel, one thread each; each shard is verified against
 * the checksum computed while reading it (the whole file's checksum says
 * nothing about a part). */
static int load_gang(struct exec_ctx *x, struct load_job *j, const struct exec_weights *w,
                     const struct exec_source *src, struct thaw_err *e)
{
    const struct core_model_spec *ms = &x->spec->models[j->model];
    int k = j->tp, rc = 0;
    struct shard_work sw[CORE_TP_MAX];
    memset(sw, 0, sizeof sw);
    uint64_t share = core_model_share_bytes(ms), lo = 0;
    for (int i = 0; i < k && rc == 0; i++) {
        uint64_t n = core_model_shard_bytes(ms, i);
        rc = exec_backend_alloc(x->be, j->gang[i], share > n ? share : n, &j->shard[i], e);
        if (rc == 0) rc = shard_source(src, lo, n, &sw[i], e);
        lo += n;
    }
    j->buf = j->shard[0];
    pthread_t th[CORE_TP_MAX];
    bool started[CORE_TP_MAX] = {false};
    for (int i = 0; i < k && rc == 0; i++) {
        sw[i].be = x->be;
        sw[i].buf = j->shard[i];
        /* a wake reads host memory: no cap of the ladder */
        int ncaps = j->wake ? 0
                            : exec_ladder_caps(&x->ladder, j->source, j->model, j->node,
                                               j->gang[i], j->peer_gpu, false, sw[i].caps);
        load_options(x, j, sw[i].src.bytes, sw[i].caps, ncaps, &sw[i].lo);
        int prc = pthread_create(&th[i], NULL, shard_main, &sw[i]);
        if (prc != 0)
            rc = thaw_err_set(e, THAW_ENOMEM, "cannot start a shard thread: %s", strerror(prc));
        else
            started[i] = true;
    }
    if (rc != 0) atomic_store(&j->cancel, true); /* the started ones stop */
    memset(&j->res, 0, sizeof j->res);
    j->res.verified = true;
    j->res.direct_io = true;
    for (int i = 0; i < k; i++) {
        if (started[i]) {
            pthread_join(th[i], NULL);
            if (sw[i].rc < 0 && rc == 0) {
                rc = sw[i].rc;
                *e = sw[i].err;
            }
            j->res.bytes += sw[i].res.bytes;
            if (sw[i].res.copy_ns > j->res.copy_ns) j->res.copy_ns = sw[i].res.copy_ns;
            if (sw[i].res.total_ns > j->res.total_ns) j->res.total_ns = sw[i].res.total_ns;
            j->res.verified = j->res.verified && sw[i].res.verified;
            j->res.direct_io = j->res.direct_io && sw[i].res.direct_io;
        }
        free(sw[i].segs);
    }
    (void)w;
    if (j->res.copy_ns > 0) j->res.gbps = (double)j->res.bytes / (double)j->res.copy_ns;
    return rc;
}

struct peer_shard_work {
    struct exec_backend *be;
    struct exec_dev_buf *dst;
    const struct exec_dev_buf *src;
    uint64_t bytes;
    size_t chunk;
    struct exec_rate *caps[EXEC_LADDER_MAX_CAPS];
    int ncaps;
    const atomic_bool *cancel;
    struct exec_load_result res;
    int rc;
    struct thaw_err err;
};

static void *peer_shard_main(void *arg)
{
    struct peer_shard_work *pw = arg;
    /* no checksum of a part is known: the peer shard's own is compared */
    pw->rc = exec_ladder_peer_copy(pw->be, pw->dst, pw->src, pw->bytes, pw->chunk, pw->caps,
                                   pw->ncaps, false, 0, pw->cancel, &pw->res, &pw->err);
    return NULL;
}

/* A tp > 1 copy from a peer gang: the share allocated on each GPU of the
 * gang (all or none), then shard i copied from the peer's shard i through
 * the caps of its own path (peer_gang[i] -> gang[i]), one thread each,
 * each verified against the peer shard's checksum. */
static int load_gang_peer(struct exec_ctx *x, struct load_job *j, struct thaw_err *e)
{
    const struct core_model_spec *ms = &x->spec->models[j->model];
    int k = j->tp, rc = 0;
    struct peer_shard_work pw[CORE_TP_MAX];
    memset(pw, 0, sizeof pw);
    uint64_t share = core_model_share_bytes(ms);
    for (int i = 0; i < k && rc == 0; i++) {
        uint64_t n = core_model_shard_bytes(ms, i);
        rc = exec_backend_alloc(x->be, j->gang[i], share > n ? share : n, &j->shard[i], e);
        pw[i].be = x->be;
        pw[i].dst = j->shard[i];
        pw[i].src = j->peer_shard[i];
        pw[i].bytes = n;
        pw[i].chunk = load_chunk(x->opts, n);
        pw[i].ncaps = exec_ladder_caps(&x->ladder, CORE_SRC_PEER, j->model, j->node, j->gang[i],
                                       j->peer_gang[i], false, pw[i].caps);
        pw[i].cancel = &j->cancel;
    }
    j->buf = j->shard[0];
    pthread_t th[CORE_TP_MAX];
    bool started[CORE_TP_MAX] = {false};
    for (int i = 0; i < k && rc == 0; i++) {
        int prc = pthread_create(&th[i], NULL, peer_shard_main, &pw[i]);
        if (prc != 0)
            rc = thaw_err_set(e, THAW_ENOMEM, "cannot start a shard thread: %s", strerror(prc));
        else
            started[i] = true;
    }
    if (rc != 0) atomic_store(&j->cancel, true); /* the started ones stop */
    memset(&j->res, 0, sizeof j->res);
    j->res.verified = true;
    for (int i = 0; i < k; i++) {
        if (!started[i]) continue;
        pthread_join(th[i], NULL);
        if (pw[i].rc < 0 && rc == 0) {
            rc = pw[i].rc;
            *e = pw[i].err;
        }
        j->res.bytes += pw[i].res.bytes;
        if (pw[i].res.copy_ns > j->res.copy_ns) j->res.copy_ns = pw[i].res.copy_ns;
        if (pw[i].res.total_ns > j->res.total_ns) j->res.total_ns = pw[i].res.total_ns;
        j->res.verified = j->res.verified && pw[i].res.verified;
    }
    if (j->res.copy_ns > 0) j->res.gbps = (double)j->res.bytes / (double)j->res.copy_ns;
    return rc;
}

static void *load_main(void *arg)
{
    struct load_job *j = arg;
    struct exec_ctx *x = j->x;
    struct thaw_err e = {0};
    const struct exec_weights *w = x->weights[j->model];
    struct exec_shm_hold *hold = NULL;
    int64_t t = vnow(x);
    int rc = wait_scenario(x, j->init_ns, &j->cancel);
    ph_mark(j, RES_PHASE_INIT, NULL, false, t);
    if (rc == 0) rc = run_phases(j, CORE_PHASE_BEFORE_COPY);
    if (rc == 0 && !w) rc = thaw_err_set(&e, THAW_EIO, "%s", x->weights_why[j->model]);
    struct exec_source src;
    struct exec_rate *caps[EXEC_LADDER_MAX_CAPS];
    int ncaps = exec_ladder_caps(&x->ladder, j->source, j->model, j->node, j->gpu, j->peer_gpu,
                                 false, caps);
    struct exec_shm *hold_tier = NULL; /* the tier `hold` is of (shm or disk) */
    if (rc == 0 && j->wake) {
        memset(&src, 0, sizeof src);
        src.kind = EXEC_SOURCE_MEMORY;
        src.data = j->host;
        src.bytes = j->host_bytes;
        src.label = "host memory (asleep)";
        src.fd = -1;
        ncaps = 0; /* host memory: no store, disk or link cap of the ladder */
        if (!j->host) rc = thaw_err_set(&e, THAW_EINVARIANT, "a wake without a host copy");
    } else if (rc == 0 && j->source == CORE_SRC_DISK) {
        /* the disk cache is a folder held like the shm tier: one
         * descriptor per file per run */
        char name[256];
        exec_shm_name(j->node, x->spec->models[j->model].name, name, sizeof name);
        hold_tier = x->ladder.disk;
        if (!hold_tier)
            rc = thaw_err_set(&e, THAW_ENOENT, "no disk cache for a load from disk");
        else
            rc = exec_shm_hold(hold_tier, name, &src, &hold, &e);
    } else if (rc == 0 && j->source == CORE_SRC_PEER) {
        if (!j->peer_buf)
            rc = thaw_err_set(&e, THAW_EIO, "peer instance %llu holds no weights",
                              (unsigned long long)j->peer_instance);
        for (int i = 1; rc == 0 && i < j->tp; i++)
            if (!j->peer_shard[i])
                rc = thaw_err_set(&e, THAW_EIO, "peer instance %llu holds no shard %d",
                                  (unsigned long long)j->peer_instance, i);
    } else if (rc == 0 && j->source == CORE_SRC_SHM) {
        /* The run's one descriptor of the file, shared by its loads: no
         * open, mapping or unmapping per load. */
        hold_tier = x->shm;
        char name[256];
        exec_shm_name(j->node, x->spec->models[j->model].name, name, sizeof name);
        if (!x->shm)
            rc = thaw_err_set(&e, THAW_ENOENT, "no shm tier for a load from shm");
        else
            rc = exec_shm_hold(x->shm, name, &src, &hold, &e);
    } else if (rc == 0) {
        exec_weights_source(w, &src);
    }
    bool gang = false; /* its load_copies row spans the gang's copy phase */
    if (rc == 0 && j->tp > 1) {
        /* one copy phase for the gang: the shards' allocations, parallel
         * copies and checksums, to the slowest shard */
        t = vnow(x);
        gang = true;
        if (j->source == CORE_SRC_PEER && !j->wake)
            rc = load_gang_peer(x, j, &e);
        else
            rc = load_gang(x, j, w, &src, &e);
        ph_mark(j, RES_PHASE_COPY, NULL, false, t);
    } else if (rc == 0) {
        uint64_t need = j->vram_bytes > w->bytes ? j->vram_bytes : w->bytes;
        t = vnow(x);
        rc = exec_backend_alloc(x->be, j->gpu, need, &j->buf, &e);
        ph_mark(j, RES_PHASE_ALLOC, NULL, false, t);
    }
    j->copy_started_ns = gang ? t : vnow(x);
    if (rc == 0 && j->tp <= 1 && j->source == CORE_SRC_PEER && !j->wake) {
        t = vnow(x);
        rc = exec_ladder_peer_copy(x->be, j->buf, j->peer_buf, w->bytes, load_chunk(x->opts, w->bytes),
                                   caps, ncaps, w->checksum_known, w->checksum, &j->cancel,
                                   &j->res, &e);
        ph_mark(j, RES_PHASE_COPY, NULL, false, t);
    } else if (rc == 0 && j->tp <= 1) {
        struct exec_load_options lo;
        load_options(x, j, w->bytes, caps, ncaps, &lo);
        lo.have_expected = w->checksum_known;
        lo.expected_checksum = w->checksum;
        t = vnow(x);
        rc = exec_load(x->be, j->buf, &src, &lo, &j->res, &e);
        /* The loader's own clock splits its span: the read-and-copy
         * pipeline (with its set-up), then the checksum. */
        int64_t end = vnow(x);
        int64_t verify_v = (int64_t)((double)j->res.verify_ns * x->scale);
        int64_t split = end - verify_v > t ? end - verify_v : t;
        j->ph[j->ph_count++] = (struct res_load_phase){
            .load_id = j->load_id, .phase = RES_PHASE_COPY, .start_ns = t, .end_ns = split};
        if (j->res.verify_ns > 0 || j->res.verified)
            j->ph[j->ph_count++] = (struct res_load_phase){
                .load_id = j->load_id, .phase = RES_PHASE_VERIFY, .start_ns = split, .end_ns = end};
    }
    j->copy_finished_ns = vnow(x);
    exec_shm_release(hold_tier, hold);
    if (rc == 0) rc = run_phases(j, CORE_PHASE_AFTER_COPY);
    if (rc == 0) {
        t = vnow(x);
        rc = wait_scenario(x, j->warmup_ns, &j->cancel);
        ph_mark(j, RES_PHASE_WARMUP, NULL, false, t);
    }
    if (rc == 0 && j->wake_ns > 0) rc = wait_scenario(x, j->wake_ns, &j->cancel);
    if (rc == 0) atomic_fetch_add(&x->bytes_moved, j->res.bytes);
    if (rc < 0) {
        exec_backend_free(x->be, j->buf);
        j->buf = NULL;
        for (int i = 1; i < j->tp; i++) {
            exec_backend_free(x->be, j->shard[i]);
            j->shard[i] = NULL;
        }
        job_fail(&j->base, rc, &e);
    }
    j->base.done_ns = vnow(x);
    atomic_store(&j->unwound, true);
    push_done(x, &j->base);
    return NULL;
}

static void *fill_main(void *arg)
{
    struct fill_job *j = arg;
    struct exec_ctx *x = j->x;
    struct thaw_err e = {0};
    const struct exec_weights *w = x->weights[j->model];
    int rc;
    struct exec_shm *tier = j->disk ? x->ladder.disk : x->shm;
    struct exec_shm_map map = {0};
    bool mapped = false;
    if (!w) {
        rc = thaw_err_set(&e, THAW_EIO, "%s", x->weights_why[j->model]);
    } else {
        struct exec_source src;
        exec_weights_source(w, &src);
        rc = 0;
        if (j->source == CORE_SRC_DISK) {
            /* an shm fill from the disk cache: the disk file's bytes */
            char name[256];
            exec_shm_name(j->node, x->spec->models[j->model].name, name, sizeof name);
            if (!x->ladder.disk)
                rc = thaw_err_set(&e, THAW_ENOENT, "no disk cache to fill shm from");
            else if ((rc = exec_shm_map(x->ladder.disk, name, &map, &e)) == 0)
                mapped = true;
            if (mapped)
                src = (struct exec_source){.kind = EXEC_SOURCE_MEMORY,
                                           .data = map.data,
                                           .bytes = map.bytes,
                                           .label = map.path,
                                           .fd = -1};
        }
        /* the fill's pipes are capped as a whole (rate.h): reserved first,
         * waited out after the copy */
        struct exec_rate *caps[EXEC_LADDER_MAX_CAPS];
        int ncaps = exec_ladder_caps(&x->ladder, j->source, j->model, j->node, -1, -1, j->disk,
                                     caps);
        int64_t deadline = ncaps ? exec_rate_reserve(caps, ncaps, w->bytes) : 0;
        if (rc == 0)
            rc = exec_shm_fill(tier, j->name, &src, load_chunk(x->opts, w->bytes), &j->cancel,
                               &j->res, &e);
        if (rc == 0 && ncaps && exec_rate_wait(deadline, &j->cancel) < 0)
            rc = thaw_err_set(&e, THAW_EINTR, "fill cancelled");
        if (mapped) exec_shm_unmap(&map);
        if (rc == 0) atomic_fetch_add(&x->bytes_moved, j->res.bytes);
    }
    if (rc < 0) job_fail(&j->base, rc, &e);
    j->base.done_ns = vnow(x);
    push_done(x, &j->base);
    return NULL;
}

/* Request workers: take a job, run the request's real work on the
 * instance's weights, hand it back. */
static void *req_worker_main(void *arg)
{
    struct exec_ctx *x = arg;
    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (!x->work_head && !x->close_count && !x->stopping)
            pthread_cond_wait(&x->work_cv, &x->mu);
        if (x->close_count > 0) {
            int fd = x->close_fds[--x->close_count];
            pthread_mutex_unlock(&x->mu);
            close(fd);
            pthread_mutex_lock(&x->mu);
            continue;
        }
        if (x->stopping && !x->work_head) break;
        struct req_job *j = (struct req_job *)x->work_head;
        x->work_head = j->base.next;
        if (!x->work_head) x->work_tail = NULL;
        bool skip = x->stopping;
        pthread_mutex_unlock(&x->mu);
        if (j->buf && !skip) {
            struct thaw_err e = {0};
            uint64_t value;
            int rc = exec_backend_request(x->be, j->buf, j->bytes, j->request, &value, &e);
            if (rc < 0) job_fail(&j->base, rc, &e);
        }
        j->base.done_ns = vnow(x);
        push_done(x, &j->base);
        pthread_mutex_lock(&x->mu);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

/* ---- tables by id ------------------------------------------------------------ */

static int grow(void **arr, size_t *cap, size_t need, size_t elem, struct thaw_err *err)
{
    if (need < *cap) return 0;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 <= need)
        cap2 *= 2;
    char *g = realloc(*arr, cap2 * elem);
    if (!g) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    memset(g + *cap * elem, 0, (cap2 - *cap) * elem);
    *arr = g;
    *cap = cap2;
    return 0;
}

static struct inst *inst_get(struct exec_ctx *x, uint64_t id)
{
    if (grow((void **)&x->insts, &x->inst_cap, (size_t)id, sizeof *x->insts, &x->err) < 0)
        return NULL;
    return &x->insts[id];
}

/* Frees an instance's memory now, or when its last request job returns. */
static void inst_release(struct exec_ctx *x, struct inst *in)
{
    if (!in->buf) return;
    if (in->running > 0) {
        in->free_pending = true;
        return;
    }
    exec_backend_free(x->be, in->buf);
    in->buf = NULL;
    for (int i = 1; i < CORE_TP_MAX; i++) {
        exec_backend_free(x->be, in->shard[i]);
        in->shard[i] = NULL;
    }
    in->free_pending = false;
}

/* ---- loads ------------------------------------------------------------------ */

static int m_start_load(void *drv, struct shell *sh, struct shell_load *l)
{
    (void)sh;
    struct exec_ctx *x = drv;
    if (grow((void **)&x->loads, &x->load_cap, (size_t)l->load, sizeof *x->loads, &x->err) < 0)
        return x->err.code;
    struct load_job *j = calloc(1, sizeof *j);
    if (!j) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    j->base.kind = JOB_LOAD;
    shell_ev_init(&j->base.ev, EV_LOAD_DONE);
    j->x = x;
    atomic_init(&j->cancel, false);
    atomic_init(&j->unwound, false);
    j->load_id = l->load;
    j->instance = l->instance;
    j->model = l->model;
    j->gpu = l->gpu;
    j->node = l->node;
    j->source = l->source;
    j->bytes = l->bytes;
    j->vram_bytes = l->vram_bytes;
    j->tp = l->tp > 1 ? l->tp : 1;
    for (int i = 0; i < j->tp; i++)
        j->gang[i] = l->gang[i];
    struct inst *prev = l->wake ? inst_get(x, l->instance) : NULL;
    if (l->wake) { /* the host copy SLEEP kept, then the wake cost alone */
        if (!prev) {
            free(j);
            return x->err.code;
        }
        j->wake = true;
        j->host = prev->host;
        j->host_bytes = prev->host_bytes;
        j->wake_ns = l->wake_ns;
    }
    if (j->tp > 1) x->out->gang_loads++;
    for (int i = 0; i < j->tp; i++) {
        bool seen = false; /* distinct devices under the gang's GPUs */
        for (int k = 0; k < i; k++)
            seen = seen || device_of(x, j->gang[k]) == device_of(x, j->gang[i]);
        if (j->tp > 1 && !seen) x->out->gang_device_slots++;
    }
    if (j->tp > 1) x->out->gang_shards += (uint64_t)j->tp;
    /* The costs the shell drew: waits sleep, CPU phases burn a core. */
    const struct core_model_spec *ms = &x->spec->models[l->model];
    /* A wake has no init, startup phases or warm-up: the copy back from
     * host memory, then the wake cost. */
    j->init_ns = l->wake ? 0 : l->costs.init_ns;
    j->warmup_ns = l->wake ? 0 : l->costs.warmup_ns;
    j->enqueued_ns = l->enqueued_ns;
    j->started_ns = l->started_ns;
    j->phase_ns = calloc((size_t)ms->phase_count + 1, sizeof *j->phase_ns);
    j->ph = calloc((size_t)ms->phase_count + 6, sizeof *j->ph);
    if (!j->phase_ns || !j->ph) {
        free(j->phase_ns);
        free(j->ph);
        free(j);
        return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    }
    for (int p = 0; p < ms->phase_count; p++)
        j->phase_ns[p] = l->costs.phase_ns[p];
    if (l->source == CORE_SRC_PEER) {
        /* the peer's memory must outlive the copy: it counts as running */
        struct inst *peer = inst_get(x, l->peer_instance);
        if (!peer) {
            free(j);
            return x->err.code;
        }
        j->peer_gpu = l->peer_gpu;
        j->peer_instance = l->peer_instance;
        j->peer_buf = peer->buf;
        for (int i = 0; i < l->tp && i < CORE_TP_MAX; i++) {
            j->peer_gang[i] = i == 0 ? l->peer_gpu : l->peer_gang[i];
            j->peer_shard[i] = i == 0 ? peer->buf : peer->shard[i];
        }
        if (peer->buf) peer->running++;
    }
    struct inst *in = inst_get(x, l->instance);
    if (!in) {
        free(j->phase_ns);
        free(j->ph);
        free(j);
        return x->err.code;
    }
    void *host = in->host;
    uint64_t host_bytes = in->host_bytes;
    *in = (struct inst){.known = true, .model = l->model, .gpu = l->gpu};
    if (l->wake) { /* kept until the wake is back */
        in->host = host;
        in->host_bytes = host_bytes;
    }
    int rc = pthread_create(&j->thread, NULL, load_main, j);
    if (rc != 0) {
        free(j->phase_ns);
        free(j->ph);
        free(j);
        return thaw_err_set(&x->err, THAW_ENOMEM, "cannot start a load thread: %s", strerror(rc));
    }
    x->loads[l->load] = j;
    x->loads_in_flight++;
    l->drv = j;
    return 0;
}

static void load_free(struct exec_ctx *x, struct load_job *j)
{
    for (int i = 1; i < j->tp; i++)
        exec_backend_free(x->be, j->shard[i]);
    if (j->peer_buf) {
        struct inst *peer = inst_get(x, j->peer_instance);
        if (peer && peer->running > 0 && --peer->running == 0 && peer->free_pending)
            inst_release(x, peer);
        j->peer_buf = NULL;
    }
    exec_backend_free(x->be, j->buf);
    x->loads[j->load_id] = NULL;
    free(j->phase_ns);
    free(j->ph);
    free(j);
}

/* The load's phases as load_phases rows: its time queued, then what the
 * load thread went through. */
static int record_phases(struct exec_ctx *x, const struct load_job *j)
{
    if (!x->phases || j->wake) return 0; /* a wake is not a load: no loads row */
    struct res_load_phase q = {.load_id = j->load_id,
                               .phase = RES_PHASE_QUEUED,
                               .start_ns = j->enqueued_ns,
                               .end_ns = j->started_ns};
    int rc = res_phases_add(x->phases, &q, &x->err);
    for (int i = 0; rc == 0 && i < j->ph_count; i++) {
        struct res_load_phase p = j->ph[i];
        p.seq = i + 1;
        rc = res_phases_add(x->phases, &p, &x->err);
    }
    return rc;
}

/* The shell records the load (cancelled, or failed with its GPU); here the
 * work stops. A job already back (pending in the heap) is freed now; one
 * still running is told to stop and freed when it comes back. */
static void m_cancel_load(void *drv, struct shell *sh, struct shell_load *l)
{
    struct exec_ctx *x = drv;
    struct load_job *j = l->drv;
    l->drv = NULL;
    if (!j) return;
    if (shell_ev_pending(&j->base.ev)) {
        shell_cancel(sh, &j->base.ev);
        load_free(x, j);
        return;
    }
    j->cancelled = true;
    atomic_store(&j->cancel, true);
    /* A peer load is cancelled on a live GPU (its peer was lost) and the
     * core may place the fallback there at once: wait until the thread has
     * let go of its memory (it frees it when cancelled; it stops within a
     * chunk), so the GPU's room is real when the next load asks. */
    if (j->source == CORE_SRC_PEER)
        while (!atomic_load(&j->unwound)) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
}

static int load_back(struct exec_ctx *x, struct load_job *j)
{
    struct shell_load *l = shell_load(x->sh, j->load_id);
    if (!l) { /* cancelled meanwhile: m_cancel_load freed it */
        load_free(x, j);
        return 0;
    }
    bool ok = j->base.status == 0;
    struct inst *in = inst_get(x, j->instance);
    if (!in) {
        load_free(x, j);
        return x->err.code;
    }
    in->buf = j->buf; /* NULL when it failed */
    j->buf = NULL;
    if (j->wake) { /* back in device memory (or failed): the host copy goes */
        free(in->host);
        in->host = NULL;
        in->host_bytes = 0;
    }
    for (int i = 1; i < j->tp; i++) {
        in->shard[i] = j->shard[i];
        j->shard[i] = NULL;
    }
    if (ok && !j->wake) { /* a wake is no load: the sleep metrics count it */
        x->out->bytes_loaded += j->res.bytes;
        x->out->load_copy_s += (double)j->res.copy_ns / 1e9;
        x->out->source_bytes[j->source == CORE_SRC_SHM] += j->res.bytes;
        x->out->source_copy_s[j->source == CORE_SRC_SHM] += (double)j->res.copy_ns / 1e9;
        x->out->source_loads[j->source == CORE_SRC_SHM]++;
        if (x->rec) {
            struct exec_rate *caps[EXEC_LADDER_MAX_CAPS];
            int n = exec_ladder_caps(&x->ladder, j->source, j->model, j->node, j->gpu,
                                     j->peer_gpu, false, caps);
            double lone = 0; /* the narrowest cap, in scenario bytes per second */
            for (int i = 0; i < n; i++)
                if (caps[i]->bytes_per_s > 0 && (lone == 0 || caps[i]->bytes_per_s < lone))
                    lone = caps[i]->bytes_per_s;
            lone /= x->scale;
            struct res_copy_row row = {
                .load_id = j->load_id,
                .source = j->source,
                .peer_gpu = j->source == CORE_SRC_PEER ? j->peer_gpu : -1,
                .bytes = j->res.bytes,
                .started_ns = j->copy_started_ns,
                .finished_ns = j->copy_finished_ns,
                .lone_s = lone > 0 ? (double)j->res.bytes / lone : 0,
            };
            int rc = res_ladder_rec_copy(x->rec, &row, &x->err);
            if (rc < 0) {
                load_free(x, j);
                return rc;
            }
        }
    }
    char why[THAW_ERR_MSG_MAX];
    snprintf(why, sizeof why, "%s", j->base.why);
    int prc = record_phases(x, j);
    load_free(x, j);
    if (prc < 0) return prc;
    l->drv = NULL;
    return shell_load_done(x->sh, l, ok, ok ? NULL : why, &x->err);
}

/* ---- shm fills ---------------------------------------------------------------- */

static int add_fill(struct exec_ctx *x, struct fill_job *j)
{
    if (x->fill_count == x->fill_cap) {
        int cap = x->fill_cap ? x->fill_cap * 2 : 16;
        struct fill_job **g = realloc(x->fills, (size_t)cap * sizeof *g);
        if (!g) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
        x->fills = g;
        x->fill_cap = cap;
    }
    x->fills[x->fill_count++] = j;
    return 0;
}

/* Out of the table and, when it had one, its thread joined. */
static void remove_fill(struct exec_ctx *x, struct fill_job *j)
{
    for (int i = 0; i < x->fill_count; i++)
        if (x->fills[i] == j) {
            x->fills[i] = x->fills[--x->fill_count];
            break;
        }
    if (j->has_thread) {
        pthread_join(j->thread, NULL);
        j->has_thread = false;
    }
}

static int m_start_fill(void *drv, struct shell *sh, const struct core_action *a)
{
    struct exec_ctx *x = drv;
    struct fill_job *j = calloc(1, sizeof *j);
    if (!j) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    j->base.kind = JOB_FILL;
    shell_ev_init(&j->base.ev, EV_FILL_DONE);
    j->x = x;
    atomic_init(&j->cancel, false);
    j->node = a->node;
    j->model = a->model;
    j->disk = a->kind == CORE_ACT_START_DISK_FILL;
    j->source = a->source;
    exec_shm_name(a->node, x->spec->models[a->model].name, j->name, sizeof j->name);
    if (add_fill(x, j) < 0) {
        free(j);
        return x->err.code;
    }
    /* Already there (adopted from a --keep-shm run, or filled before a drop
     * was undone): done now, through the heap like any other fill. */
    struct thaw_err e = {0};
    struct exec_shm *tier = j->disk ? x->ladder.disk : x->shm;
    if (!tier) {
        job_fail(&j->base, thaw_err_set(&e, THAW_ENOENT, "no %s tier", j->disk ? "disk" : "shm"),
                 &e);
    } else if (exec_shm_has(tier, j->name)) {
        j->base.status = 0;
    } else if (x->opts->keep_shm && x->weights[a->model] &&
               exec_shm_adopt(tier, j->name, x->weights[a->model]->bytes, &e) == 0) {
        j->base.status = 0;
    } else {
        int rc = pthread_create(&j->thread, NULL, fill_main, j);
        if (rc != 0) {
            remove_fill(x, j);
            free(j);
            return thaw_err_set(&x->err, THAW_ENOMEM, "cannot start a fill thread: %s",
                                strerror(rc));
        }
        j->has_thread = true;
        x->fills_in_flight++;
        return 0;
    }
    return shell_schedule(sh, &j->base.ev, shell_now(sh));
}

/* Queues fd for a request worker to close (the close that frees a dropped
 * shm file's pages); closed here when the queue cannot grow. */
static void close_later(struct exec_ctx *x, int fd)
{
    pthread_mutex_lock(&x->mu);
    if (x->close_count == x->close_cap) {
        int cap = x->close_cap ? 2 * x->close_cap : 16;
        int *g = realloc(x->close_fds, (size_t)cap * sizeof *g);
        if (!g) {
            pthread_mutex_unlock(&x->mu);
            close(fd);
            return;
        }
        x->close_fds = g;
        x->close_cap = cap;
    }
    x->close_fds[x->close_count++] = fd;
    pthread_cond_signal(&x->work_cv);
    pthread_mutex_unlock(&x->mu);
}
static void drop_tier(struct exec_ctx *x, struct shell *sh, bool disk, int node, int model);

static void m_drop_shm(void *drv, struct shell *sh, int node, int model)
{
    drop_tier(drv, sh, false, node, model);
}

static void m_drop_disk(void *drv, struct shell *sh, int node, int model)
{
    drop_tier(drv, sh, true, node, model);
}

static void drop_tier(struct exec_ctx *x, struct shell *sh, bool disk, int node, int model)
{
    /* A fill in flight for the entry is aborted and its end not fed back
     * (core.h); it removes its partial file itself. */
    for (int k = 0; k < x->fill_count; k++) {
        struct fill_job *j = x->fills[k];
        if (j->node != node || j->model != model || j->disk != disk) continue;
        if (shell_ev_pending(&j->base.ev)) {
            shell_cancel(sh, &j->base.ev);
            remove_fill(x, j);
            free(j);
            k--;
            continue;
        }
        j->dropped = true;
        atomic_store(&j->cancel, true);
    }
    struct exec_shm *tier = disk ? x->ladder.disk : x->shm;
    if (tier) {
        char name[256];
        exec_shm_name(node, x->spec->models[model].name, name, sizeof name);
        /* Freeing the file's pages (a close) is left to a request worker,
         * so the main thread does not stall on it. */
        int fd = exec_shm_drop_later(tier, name);
        if (fd >= 0) close_later(x, fd);
    }
}

static int fill_back(struct exec_ctx *x, struct fill_job *j)
{
    remove_fill(x, j);
    bool ok = j->base.status == 0;
    int node = j->node, model = j->model;
    bool disk = j->disk;
    free(j);
    if (disk) return shell_disk_fill_done(x->sh, node, model, ok, &x->err);
    if (ok)
        x->out->shm_fills_ok++;
    else
        x->out->shm_fills_failed++;
    return shell_fill_done(x->sh, node, model, ok, &x->err);
}

/* ---- requests ------------------------------------------------------------------- */

/* Bytes one request's work reads: a share of the weights (exec.h's
 * request_fraction), whole rows of EXEC_REQUEST_COLS, at least one row. */
static uint64_t request_bytes(const struct exec_ctx *x, uint64_t weights_bytes)
{
    double f = x->opts->request_fraction;
    if (!(f > 0)) f = strcmp(x->out->backend, "cuda") ? EXEC_HOST_REQUEST_FRACTION : 1.0;
    if (f >= 1) return weights_bytes;
    uint64_t b = (uint64_t)((double)weights_bytes * f);
    b = (b + EXEC_REQUEST_COLS - 1) / EXEC_REQUEST_COLS * EXEC_REQUEST_COLS;
    if (b < EXEC_REQUEST_COLS) b = EXEC_REQUEST_COLS;
    return b < weights_bytes ? b : weights_bytes;
}

static int m_dispatch(void *drv, struct shell *sh, struct shell_req *r)
{
    (void)sh;
    struct exec_ctx *x = drv;
    struct inst *in = inst_get(x, r->instance);
    if (!in) return x->err.code;
    struct req_job *j = calloc(1, sizeof *j);
    if (!j) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    j->base.kind = JOB_REQUEST;
    j->request = r->id;
    j->instance = r->instance;
    j->gen = r->gen;
    j->buf = in->buf;
    j->bytes = request_bytes(x, x->weights[in->model] ? x->weights[in->model]->bytes : 0);
    if (in->buf && j->bytes > in->buf->bytes) j->bytes = in->buf->bytes;
    in->running++;
    x->requests_running++;
    pthread_mutex_lock(&x->mu);
    j->base.next = NULL;
    if (x->work_tail)
        x->work_tail->next = &j->base;
    else
        x->work_head = &j->base;
    x->work_tail = &j->base;
    pthread_cond_signal(&x->work_cv);
    pthread_mutex_unlock(&x->mu);
    return 0;
}

/* A request's work came back. Its service ends at the later of the work's
 * end and dispatch + the drawn service time (the floor), so a request costs
 * at least what the scenario says and more when the real work is slower. */
static int request_back(struct exec_ctx *x, struct req_job *j)
{
    struct inst *in = inst_get(x, j->instance);
    if (!in) return x->err.code;
    in->running--;
    x->requests_running--;
    if (in->running == 0 && in->free_pending) inst_release(x, in);
    struct shell_req *r = shell_request(x->sh, j->request);
    int64_t done = j->base.done_ns;
    uint32_t gen = j->gen;
    free(j);
    if (!r || r->gen != gen) return 0; /* requeued meanwhile */
    int64_t floor = r->dispatched_ns + r->service_ns;
    return shell_schedule(x->sh, &r->done, done > floor ? done : floor);
}

static int m_instance(void *drv, struct shell *sh, const struct core_action *a)
{
    (void)sh;
    struct exec_ctx *x = drv;
    struct inst *in = inst_get(x, a->instance);
    if (!in) return x->err.code;
    if (a->kind == CORE_ACT_EVICT) {
        inst_release(x, in);
        return 0;
    }
    if (!in->known) *in = (struct inst){.known = true, .model = a->model, .gpu = a->gpu};
    /* a sleeper's host copy is freed when its wake is back, or at the end:
     * a cancelled wake's thread may still be reading it */
    if (a->state == CORE_INST_FAILED || a->state == CORE_INST_EVICTED) inst_release(x, in);
    return 0;
}

/* ---- the clock and the completion queue ---------------------------------------- */

static int64_t m_clock(void *drv)
{
    return vnow(drv);
}

/* Moves every finished job into the shell's heap at the time its work ended
 * (the shell moves a time already past forward to its now). */
static int m_collect(void *drv, struct shell *sh)
{
    struct exec_ctx *x = drv;
    pthread_mutex_lock(&x->mu);
    struct job *j = x->done_head;
    x->done_head = x->done_tail = NULL;
    pthread_mutex_unlock(&x->mu);
    int rc = 0;
    while (j) {
        struct job *next = j->next;
        switch (j->kind) {
        case JOB_LOAD: {
            struct load_job *lj = (struct load_job *)j;
            pthread_join(lj->thread, NULL);
            x->loads_in_flight--;
            if (lj->cancelled)
                load_free(x, lj);
            else if (rc == 0)
                rc = shell_schedule(sh, &j->ev, j->done_ns);
            break;
        }
        case JOB_FILL: {
            struct fill_job *fj = (struct fill_job *)j;
            x->fills_in_flight--;
            if (fj->dropped) {
                remove_fill(x, fj);
                free(fj);
            } else if (rc == 0) {
                rc = shell_schedule(sh, &j->ev, j->done_ns);
            }
            break;
        }
        case JOB_REQUEST:
            if (rc == 0) rc = request_back(x, (struct req_job *)j);
            break;
        }
        j = next;
    }
    return rc;
}

static bool m_busy(void *drv)
{
    const struct exec_ctx *x = drv;
    return x->loads_in_flight > 0 || x->fills_in_flight > 0 || x->requests_running > 0;
}

static void report_progress(struct exec_ctx *x)
{
    if (!x->opts->progress) return;
    struct shell_counts c;
    shell_counts(x->sh, &c);
    struct exec_progress p = {
        .now_ns = vnow(x),
        .loads_in_flight = x->loads_in_flight,
        .fills_in_flight = x->fills_in_flight,
        .loads_done = c.loads_ok + c.loads_failed,
        .requests_done = c.requests_served,
        .bytes_moved = atomic_load(&x->bytes_moved),
        .wall_s = (double)(mono_ns() - t0_ns(x)) / 1e9,
    };
    x->opts->progress(x->opts->progress_ctx, &p);
}

/* Sleeps until scenario time t_ns, a finished job, a stop, or 100 ms. */
static int m_wait(void *drv, struct shell *sh, int64_t t_ns)
{
    (void)sh;
    struct exec_ctx *x = drv;
    static const int64_t slice = 100000000;
    int64_t wall = mono_ns();
    report_progress(x);
    int64_t wake_wall = t_ns == INT64_MAX ? INT64_MAX : wall_of(x, t_ns);
    if (wake_wall > wall + slice) wake_wall = wall + slice;
    if (wake_wall <= wall) return 0;
    struct timespec ts = {.tv_sec = wake_wall / 1000000000, .tv_nsec = wake_wall % 1000000000};
    pthread_mutex_lock(&x->mu);
    while (!x->done_head && !stop_requested(x) &&
           pthread_cond_timedwait(&x->done_cv, &x->mu, &ts) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&x->mu);
    return 0;
}

static int m_fire(void *drv, struct shell *sh, struct shell_ev *ev)
{
    (void)sh;
    struct exec_ctx *x = drv;
    struct job *j = SHELL_CONTAINER_OF(ev, struct job, ev);
    switch (ev->kind) {
    case EV_LOAD_DONE:
        return load_back(x, (struct load_job *)j);
    case EV_FILL_DONE:
        return fill_back(x, (struct fill_job *)j);
    }
    return thaw_err_set(&x->err, THAW_EINVARIANT, "unknown exec event kind %d", ev->kind);
}

/* Instances READY at t=0 ("placement:") get their weights before the clock
 * starts: the core already counts them as serving. Then the clock starts. */
static int m_begin(void *drv, struct shell *sh, const struct core_action *acts, size_t n)
{
    (void)sh;
    struct exec_ctx *x = drv;
    for (size_t i = 0; i < n; i++) {
        const struct core_action *a = &acts[i];
        if (a->kind != CORE_ACT_INSTANCE_STATE || a->state != CORE_INST_READY) continue;
        struct inst *in = inst_get(x, a->instance);
        if (!in) return x->err.code;
        if (in->known) continue;
        *in = (struct inst){.known = true, .model = a->model, .gpu = a->gpu};
        const struct exec_weights *w = x->weights[a->model];
        if (!w)
            return thaw_err_set(&x->err, THAW_EIO, "instance %llu of %s placed at start: %s",
                                (unsigned long long)a->instance, x->spec->models[a->model].name,
                                x->weights_why[a->model]);
        uint64_t vram = x->spec->models[a->model].vram_bytes;
        int rc =
            exec_backend_alloc(x->be, a->gpu, vram > w->bytes ? vram : w->bytes, &in->buf, &x->err);
        if (rc < 0) return rc;
        struct exec_source src;
        exec_weights_source(w, &src);
        struct exec_load_options lo;
        exec_load_options_init(&lo);
        lo.chunk_bytes = load_chunk(x->opts, w->bytes);
        lo.depth = x->opts->depth;
        lo.have_expected = w->checksum_known;
        lo.expected_checksum = w->checksum;
        struct exec_load_result res;
        if ((rc = exec_load(x->be, in->buf, &src, &lo, &res, &x->err)) < 0) return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &x->t0);
    x->clock_started = true;
    return 0;
}

/* SLEEP: the weights are kept in a host buffer (read from the model's
 * weight files: the same bytes the device holds, verified when they land)
 * and the device memory is freed; WAKE copies them back (load_main). */
static int m_sleep(void *drv, struct shell *sh, const struct core_action *a)
{
    (void)sh;
    struct exec_ctx *x = drv;
    struct inst *in = inst_get(x, a->instance);
    if (!in) return x->err.code;
    const struct exec_weights *w = x->weights[a->model];
    if (!w) return thaw_err_set(&x->err, THAW_EIO, "%s", x->weights_why[a->model]);
    free(in->host);
    in->host = malloc(w->bytes ? w->bytes : 1);
    in->host_bytes = w->bytes;
    if (!in->host) return thaw_err_set(&x->err, THAW_ENOMEM, "no host memory to sleep in");
    uint64_t at = 0;
    for (int i = 0; i < w->segment_count; i++) {
        const struct exec_segment *sg = &w->segments[i];
        FILE *f = fopen(sg->path, "rb");
        bool ok = f && fseeko(f, (off_t)sg->offset, SEEK_SET) == 0 &&
                  fread((char *)in->host + at, 1, sg->bytes, f) == sg->bytes;
        if (f) fclose(f);
        if (!ok) return thaw_err_set(&x->err, THAW_EIO, "cannot keep %s in host memory", sg->path);
        at += sg->bytes;
    }
    inst_release(x, in);
    return 0;
}

static const struct shell_methods exec_methods = {
    .sleep = m_sleep,
    .name = "exec",
    .start_load = m_start_load,
    .cancel_load = m_cancel_load,
    .start_fill = m_start_fill,
    .drop_shm = m_drop_shm,
    .drop_disk = m_drop_disk,
    .dispatch = m_dispatch,
    .instance = m_instance,
    .begin = m_begin,
    .fire = m_fire,
    .clock = m_clock,
    .wait = m_wait,
    .collect = m_collect,
    .busy = m_busy,
};

/* ---- setup and teardown --------------------------------------------------------- */

static int open_weights(struct exec_ctx *x)
{
    const struct core_spec *spec = x->spec;
    x->weights = calloc((size_t)spec->model_count, sizeof *x->weights);
    x->weights_why = calloc((size_t)spec->model_count, sizeof *x->weights_why);
    if (!x->weights || !x->weights_why) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    const char *dir = x->opts->weights_dir ? x->opts->weights_dir : "weights";
    for (int m = 0; m < spec->model_count; m++) {
        struct thaw_err e = {0};
        /* A model whose weights do not open (missing, truncated, malformed)
         * does not stop the run: each of its loads fails with the reason. */
        if (exec_weights_open(&spec->models[m], dir, false, &x->weights[m], &e) < 0) {
            x->weights[m] = NULL;
            x->weights_why[m] = strdup(e.msg[0] ? e.msg : "weights did not open");
            if (!x->weights_why[m]) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
            continue;
        }
        if (!x->opts->drop_page_cache) continue;
        for (int s = 0; s < x->weights[m]->segment_count; s++)
            exec_drop_page_cache(x->weights[m]->segments[s].path, NULL);
    }
    return 0;
}

/* Fills the backend's staging pool before the clock starts: depth buffers
 * of the largest load chunk for a load on every GPU at once (at most what
 * the pool keeps), so no load allocates or first-touches staging memory
 * during the run (a smaller chunk is served by a larger buffer). */
static int prefill_staging(struct exec_ctx *x)
{
    const struct core_spec *spec = x->spec;
    size_t chunk = 0;
    for (int m = 0; m < spec->model_count; m++) {
        size_t c = load_chunk(x->opts, spec->models[m].weights_bytes);
        if (c > chunk) chunk = c;
    }
    int depth = x->opts->depth > 0 ? x->opts->depth : EXEC_LOAD_DEPTH_DEFAULT;
    int n = depth * spec->gpu_count;
    if (n > EXEC_STAGING_KEEP) n = EXEC_STAGING_KEEP;
    void *bufs[EXEC_STAGING_KEEP];
    int got = 0, rc = 0;
    chunk = (chunk + 4095) / 4096 * 4096;
    for (; got < n && rc == 0; got++)
        rc = exec_backend_staging_alloc(x->be, chunk, &bufs[got], &x->err);
    if (rc < 0) got--;
    for (int i = 0; i < got; i++)
        exec_backend_staging_free(x->be, bufs[i]);
    return rc;
}

static int open_backend(struct exec_ctx *x)
{
    const struct core_spec *spec = x->spec;
    uint64_t *caps = calloc((size_t)spec->gpu_count, sizeof *caps);
    if (!caps) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    for (int g = 0; g < spec->gpu_count; g++)
        caps[g] = spec->gpus[g].vram_bytes;
    /* Host backend: each GPU's memory is faulted in here, before the clock
     * starts, as much as it can hold at once (at most one instance of each
     * model, each rounded up to whole arena chunks, and its cap), so
     * no load pays for page faults, mmap or munmap during the run. */
    uint64_t arena_need = 0;
    for (int m = 0; m < spec->model_count; m++) {
        const struct core_model_spec *ms = &spec->models[m];
        uint64_t b = ms->vram_bytes > ms->weights_bytes ? ms->vram_bytes : ms->weights_bytes;
        arena_need += (b + EXEC_ARENA_CHUNK - 1) / EXEC_ARENA_CHUNK * EXEC_ARENA_CHUNK;
    }
    uint64_t *arena = calloc((size_t)spec->gpu_count, sizeof *arena);
    if (!arena) {
        free(caps);
        return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    }
    /* The cap in whole chunks, plus one chunk per model for the rounding
     * of each instance that can sit there at once. */
    for (int g = 0; g < spec->gpu_count; g++) {
        uint64_t c = (caps[g] + EXEC_ARENA_CHUNK - 1) / EXEC_ARENA_CHUNK * EXEC_ARENA_CHUNK +
                     (uint64_t)spec->model_count * EXEC_ARENA_CHUNK;
        arena[g] = arena_need < c ? arena_need : c;
    }
    struct exec_backend_config cfg = {
        .gpu_count = spec->gpu_count, .vram_cap_bytes = caps, .arena_bytes = arena};
    const char *kind = x->opts->backend == EXEC_BACKEND_CUDA   ? "cuda"
                       : x->opts->backend == EXEC_BACKEND_HOST ? "host"
                                                               : "auto";
    char why[256] = "";
    int rc = exec_backend_open(kind, &cfg, &x->be, why, sizeof why, &x->err);
    free(caps);
    free(arena);
    if (rc < 0) return rc;
    if (x->opts->backend_hook) x->opts->backend_hook(x->opts->backend_hook_ctx, x->be);
    if ((rc = prefill_staging(x)) < 0) return rc;
    snprintf(x->out->backend, sizeof x->out->backend, "%s", exec_backend_name(x->be));
    if (!why[0]) snprintf(why, sizeof why, "%s backend requested", x->out->backend);
    snprintf(x->out->backend_why, sizeof x->out->backend_why, "%s", why);
    x->device_count = spec->gpu_count;
    if (!strcmp(x->out->backend, "cuda")) {
        struct thaw_err perr = {0};
        int n = exec_backend_cuda_probe(&perr);
        if (n > 0) x->device_count = n;
    }
    return 0;
}

static bool spec_has_shm(const struct core_spec *spec)
{
    for (int n = 0; n < spec->node_count; n++)
        if (spec->nodes[n].shm_bytes > 0) return true;
    return false;
}

static int setup(struct exec_ctx *x)
{
    const struct core_spec *spec = x->spec;
    int rc;
    if (spec->gpu_count <= 0 || spec->node_count <= 0)
        return thaw_err_set(&x->err, THAW_EINVAL, "the scenario has no GPU");
    if ((rc = pthread_mutex_init(&x->mu, NULL)) != 0)
        return thaw_err_set(&x->err, THAW_ENOMEM, "mutex: %s", strerror(rc));
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&x->done_cv, &ca);
    pthread_cond_init(&x->work_cv, NULL);
    pthread_condattr_destroy(&ca);
    atomic_init(&x->bytes_moved, 0);

    if ((rc = open_backend(x)) < 0) return rc;
    if ((rc = open_weights(x)) < 0) return rc;
    if (spec_has_shm(spec)) {
        struct exec_shm_options so = {.base = x->opts->shm_dir, .keep = x->opts->keep_shm};
        if ((rc = exec_shm_open(&so, &x->shm, &x->err)) < 0) return rc;
    }
    const char *disk_dir = x->opts->disk_dir     ? x->opts->disk_dir
                           : x->opts->weights_dir ? x->opts->weights_dir
                                                  : "weights";
    if ((rc = exec_ladder_open(&x->ladder, spec, x->scale, disk_dir, x->opts->keep_shm, &x->err)) <
        0)
        return rc;
    int threads = x->opts->request_threads;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 2 ? (int)n : 2;
    }
    x->req_threads = calloc((size_t)threads, sizeof *x->req_threads);
    if (!x->req_threads) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    for (int i = 0; i < threads; i++) {
        if ((rc = pthread_create(&x->req_threads[i], NULL, req_worker_main, x)) != 0)
            return thaw_err_set(&x->err, THAW_ENOMEM, "cannot start a request thread: %s",
                                strerror(rc));
        x->req_thread_count++;
    }
    return 0;
}

/* Stops every worker and joins it, and frees every job still held. Loads the
 * shell still held were cancelled through m_cancel_load before this. */
static void teardown_work(struct exec_ctx *x)
{
    for (size_t id = 0; id < x->load_cap; id++)
        if (x->loads && x->loads[id]) atomic_store(&x->loads[id]->cancel, true);
    for (int k = 0; k < x->fill_count; k++)
        atomic_store(&x->fills[k]->cancel, true);
    pthread_mutex_lock(&x->mu);
    x->stopping = true;
    pthread_cond_broadcast(&x->work_cv);
    pthread_mutex_unlock(&x->mu);
    for (int i = 0; i < x->req_thread_count; i++)
        pthread_join(x->req_threads[i], NULL);
    x->req_thread_count = 0;
    /* Request jobs never started are still in the work queue. */
    while (x->work_head) {
        struct job *j = x->work_head;
        x->work_head = j->next;
        push_done(x, j);
    }
    x->work_tail = NULL;
    /* Every load and fill thread pushes exactly one completion; wait for them. */
    for (;;) {
        pthread_mutex_lock(&x->mu);
        while (!x->done_head && (x->loads_in_flight > 0 || x->fills_in_flight > 0))
            pthread_cond_wait(&x->done_cv, &x->mu);
        struct job *j = x->done_head;
        if (j) {
            x->done_head = j->next;
            if (!x->done_head) x->done_tail = NULL;
        }
        pthread_mutex_unlock(&x->mu);
        if (!j) break;
        if (j->kind == JOB_LOAD) {
            struct load_job *lj = (struct load_job *)j;
            pthread_join(lj->thread, NULL);
            x->loads_in_flight--;
            load_free(x, lj);
        } else if (j->kind == JOB_FILL) {
            x->fills_in_flight--;
            remove_fill(x, (struct fill_job *)j);
            free(j);
        } else {
            struct req_job *rj = (struct req_job *)j;
            struct inst *in = inst_get(x, rj->instance);
            if (in) in->running--;
            x->requests_running--;
            free(rj);
        }
    }
    /* Jobs that came back and were waiting in the shell's heap. */
    for (size_t id = 0; id < x->load_cap; id++)
        if (x->loads && x->loads[id]) load_free(x, x->loads[id]);
    while (x->fill_count > 0) {
        struct fill_job *fj = x->fills[0];
        remove_fill(x, fj);
        free(fj);
    }
    for (size_t id = 0; id < x->inst_cap; id++) {
        x->insts[id].running = 0;
        inst_release(x, &x->insts[id]);
    }
}

static int record_metrics(struct exec_ctx *x)
{
    struct res_db *db = shell_db(x->sh);
    int64_t run = shell_run_id(x->sh);
    if (!db || run <= 0) return 0;
    int rc = res_set_metric(db, run, "exec_bytes_loaded", (double)x->out->bytes_loaded, &x->err);
    /* `thaw validate` reads it: copies take wall time, recorded scaled */
    if (rc == 0) rc = res_set_metric(db, run, "exec_time_scale", x->scale, &x->err);
    if (rc == 0 && x->out->gang_loads > 0)
        rc = res_set_metric(db, run, "exec_gang_shards", (double)x->out->gang_shards, &x->err);
    if (rc == 0 && x->out->gang_loads > 0)
        rc = res_set_metric(db, run, "exec_gang_devices", (double)x->out->gang_device_slots,
                            &x->err);
    if (rc == 0 && x->out->load_copy_s > 0)
        rc = res_set_metric(db, run, "exec_load_gbps",
                            (double)x->out->bytes_loaded / x->out->load_copy_s / 1e9, &x->err);
    return rc;
}

static void free_ctx(struct exec_ctx *x)
{
    if (x->req_thread_count > 0) {
        pthread_mutex_lock(&x->mu);
        x->stopping = true;
        pthread_cond_broadcast(&x->work_cv);
        pthread_mutex_unlock(&x->mu);
        for (int i = 0; i < x->req_thread_count; i++)
            pthread_join(x->req_threads[i], NULL);
    }
    free(x->req_threads);
    for (int i = 0; i < x->close_count; i++)
        close(x->close_fds[i]);
    free(x->close_fds);
    res_phases_free(x->phases);
    shell_free(x->sh);
    exec_shm_close(x->shm);
    exec_ladder_close(&x->ladder);
    res_ladder_rec_free(x->rec);
    for (int m = 0; x->weights && m < x->spec->model_count; m++) {
        exec_weights_free(x->weights[m]);
        free(x->weights_why[m]);
    }
    free(x->weights);
    free(x->weights_why);
    exec_backend_close(x->be);
    free(x->loads);
    free(x->fills);
    for (size_t i = 0; x->insts && i < x->inst_cap; i++)
        free(x->insts[i].host);
    free(x->insts);
    pthread_cond_destroy(&x->done_cv);
    pthread_cond_destroy(&x->work_cv);
    pthread_mutex_destroy(&x->mu);
}

int exec_run(const struct core_spec *spec, const struct exec_opts *opts, struct exec_result *out,
             struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    out->status = "failed";
    if (!spec || !opts) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    struct exec_ctx *x = calloc(1, sizeof *x);
    if (!x) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    x->spec = spec;
    x->opts = opts;
    x->out = out;
    x->scale = opts->time_scale > 0 ? opts->time_scale : 1.0;

    int rc = setup(x);
    if (rc == 0) {
        struct shell_opts so = {
            .check_invariants = opts->check_invariants,
            .db = opts->db,
            .run_info = opts->run_info,
            .log_actions = opts->db != NULL,
            .stop = opts->stop ? opts->stop : &exec_signal_flag,
        };
        so.run_info.mode = "exec";
        so.run_info.backend = out->backend;
        rc = shell_new(spec, &so, &exec_methods, x, &x->sh, &x->err);
    }
    if (rc == 0) {
        rc = shell_begin_run(x->sh, &x->err);
        out->run_id = x->sh ? shell_run_id(x->sh) : 0;
    }
    /* load_phases are per-load rows: written at --record loads and all */
    if (rc == 0 && opts->db && out->run_id > 0 && res_record_level(opts->db) != RES_RECORD_SUMMARY)
        rc = res_phases_new(opts->db, out->run_id, &x->phases, &x->err);
    if (rc == 0 && opts->db && res_record_level(opts->db) != RES_RECORD_SUMMARY)
        rc = res_ladder_rec_new(opts->db, out->run_id, &x->rec, &x->err);
    int status = rc;
    if (rc == 0) status = shell_run(x->sh, &x->err);
    if (x->sh && shell_run_id(x->sh) > 0) {
        out->wall_s = x->clock_started ? (double)(mono_ns() - t0_ns(x)) / 1e9 : 0;
        if (status >= 0 && (rc = record_metrics(x)) < 0) status = rc;
        if (status >= 0 && (rc = res_phases_flush(x->phases, &x->err)) < 0) status = rc;
        if (status >= 0 && (rc = res_ladder_rec_flush(x->rec, &x->err)) < 0) status = rc;
        /* Leftover loads are cancelled through m_cancel_load, then the run
         * is marked complete, interrupted or failed. */
        rc = shell_finish_run(x->sh, status, &x->err);
    } else if (x->sh) {
        rc = status < 0 ? status : shell_finish_run(x->sh, status, &x->err);
    }
    out->wall_s = x->clock_started ? (double)(mono_ns() - t0_ns(x)) / 1e9 : 0;
    teardown_work(x);
    if (x->sh) {
        struct shell_counts c;
        shell_counts(x->sh, &c);
        out->events = c.events;
        out->actions = c.actions;
        out->loads_ok = c.loads_ok;
        out->loads_failed = c.loads_failed;
        out->loads_cancelled = c.loads_cancelled;
        out->requests_arrived = c.requests_arrived;
        out->requests_served = c.requests_served;
        out->end_ns = c.end_ns;
    }
    out->status = rc < 0 ? "failed" : status == 1 ? "interrupted" : "complete";
    if (rc < 0) thaw_err_set(err, rc, "%s", x->err.msg[0] ? x->err.msg : thaw_strerror(rc));
    free_ctx(x);
    free(x);
    return rc;
}

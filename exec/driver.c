/* driver.c - the exec driver: one main thread owns the core, the records
 * and every table of loads, instances and requests; worker threads (one per
 * load or shm fill, a small pool for request work) only do blocking work and
 * hand their result back through one mutex+condvar queue. The main loop
 * merges four time-ordered sources (finished work, the drawn timetable of
 * arrivals and faults, the core's WAKE_AT timers and request service floors)
 * and feeds them to the core in time order, on the scenario clock
 * (virtual t = wall t x time_scale), then carries out the core's actions. */
#include "exec.h"
#include "actionlog.h"
#include "backend.h"
#include "loader.h"
#include "rng.h"
#include "schedule.h"
#include "shm.h"
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

/* What every job carries back through the queue (intrusive link). */
struct job {
    enum job_kind kind;
    struct job *next;
    int64_t done_ns; /* scenario time when the work ended (set by the worker) */
    int status;      /* 0 or THAW_E* */
    char why[THAW_ERR_MSG_MAX];
};

struct load_job {
    struct job base; /* first: a struct job * is a struct load_job * */
    struct exec_ctx *x;
    pthread_t thread;
    atomic_bool cancel;
    bool cancelled; /* the core cancelled it (main thread only) */
    bool gpu_lost;  /* ... because its GPU or node failed: recorded 'failed', as in sim */
    uint64_t load_id, instance;
    int model, gpu, node;
    enum core_source source;
    enum core_reason reason;
    int64_t enqueued_ns, started_ns;
    uint64_t bytes, vram_bytes;
    int64_t pre_wait_ns, pre_cpu_ns, post_wait_ns, post_cpu_ns; /* drawn, scenario time */
    struct exec_dev_buf *buf; /* the instance's memory when status == 0 */
    struct exec_load_result res;
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
    int running;       /* request jobs using buf */
    bool free_pending; /* free buf when running drops to 0 */
};

struct req {
    bool arrived;
    int model;
    int64_t arrived_ns, dispatched_ns, finished_ns, service_ns;
    uint64_t instance;
    bool cold;
    uint32_t gen; /* bumped on dispatch and requeue: stale work is ignored */
};

enum timer_kind { TIMER_WAKE, TIMER_REQ_DONE };

struct timer {
    int64_t t_ns;
    uint64_t seq; /* ties fire in the order set */
    enum timer_kind kind;
    uint64_t request;
    uint32_t gen;
};

struct exec_ctx {
    bool in_fault; /* feeding a GPU/node failure: its CANCEL_LOADs lost their GPU */
    const struct core_spec *spec;
    const struct exec_opts *opts;
    struct exec_result *out;
    double scale;
    struct timespec t0;
    bool clock_started;

    struct exec_backend *be;
    struct exec_shm *shm;
    struct exec_weights **weights; /* per model; NULL when it did not open */
    char **weights_why;            /* per model: why it did not open */
    gsl_rng **node_rng;            /* per node: init, warm-up, phase draws (sim's streams) */
    struct exec_schedule sched;
    int next_arrival, next_fault;
    int64_t *fault_recovered_ns; /* per schedule fault event (fail ones) */

    struct core_sched *core;
    struct res_db *db;
    int64_t run;
    struct exec_action_log *alog;
    uint64_t seq; /* core events fed */
    int64_t last_t;
    int64_t last_tick;

    pthread_mutex_t mu;
    pthread_cond_t done_cv; /* main thread: something finished */
    pthread_cond_t work_cv; /* request workers: work queued or stopping */
    struct job *done_head, *done_tail;
    struct job *work_head, *work_tail;
    bool stopping;
    pthread_t *req_threads;
    int req_thread_count;

    struct load_job **loads; /* by load id; NULL when none in flight */
    size_t load_cap;
    int loads_in_flight;
    struct fill_job **fills; /* in flight, unordered */
    int fill_count, fill_cap;
    struct inst *insts; /* by instance id */
    size_t inst_cap;
    struct req *reqs; /* by request id (1..arrival_count) */
    int requests_running;
    int req_done_timers;

    struct timer *timers; /* binary min-heap on (t_ns, seq) */
    int timer_count, timer_cap;
    uint64_t timer_seq;

    atomic_uint_least64_t bytes_moved;
    struct thaw_err err; /* the first fatal error */
};

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

static void *load_main(void *arg)
{
    struct load_job *j = arg;
    struct exec_ctx *x = j->x;
    struct thaw_err e = {0};
    const struct exec_weights *w = x->weights[j->model];
    struct exec_shm_map map = {0};
    bool mapped = false;
    int rc = wait_scenario(x, j->pre_wait_ns, &j->cancel);
    if (rc == 0) rc = burn_cpu(x, j->pre_cpu_ns, &j->cancel);
    if (rc == 0 && !w) rc = thaw_err_set(&e, THAW_EIO, "%s", x->weights_why[j->model]);
    struct exec_source src;
    if (rc == 0 && j->source == CORE_SRC_SHM) {
        char name[256];
        exec_shm_name(j->node, x->spec->models[j->model].name, name, sizeof name);
        if (!x->shm)
            rc = thaw_err_set(&e, THAW_ENOENT, "no shm tier for a load from shm");
        else if ((rc = exec_shm_map(x->shm, name, &map, &e)) == 0)
            mapped = true;
        if (mapped) exec_shm_source(&map, &src);
    } else if (rc == 0) {
        exec_weights_source(w, &src);
    }
    if (rc == 0) {
        uint64_t need = j->vram_bytes > w->bytes ? j->vram_bytes : w->bytes;
        rc = exec_backend_alloc(x->be, j->gpu, need, &j->buf, &e);
    }
    if (rc == 0) {
        struct exec_load_options lo;
        exec_load_options_init(&lo);
        lo.chunk_bytes = load_chunk(x->opts, w->bytes);
        lo.depth = x->opts->depth;
        /* Storage reads go around the page cache, so a storage load costs
         * what storage costs even when an earlier load read the same file. */
        lo.drop_cache = j->source == CORE_SRC_STORAGE && x->opts->drop_page_cache;
        lo.try_direct = j->source == CORE_SRC_STORAGE;
        lo.verify = true;
        lo.have_expected = w->checksum_known;
        lo.expected_checksum = w->checksum;
        lo.cancel = &j->cancel;
        rc = exec_load(x->be, j->buf, &src, &lo, &j->res, &e);
    }
    if (mapped) exec_shm_unmap(&map);
    if (rc == 0) rc = burn_cpu(x, j->post_cpu_ns, &j->cancel);
    if (rc == 0) rc = wait_scenario(x, j->post_wait_ns, &j->cancel);
    if (rc == 0) atomic_fetch_add(&x->bytes_moved, j->res.bytes);
    if (rc < 0) {
        exec_backend_free(x->be, j->buf);
        j->buf = NULL;
        job_fail(&j->base, rc, &e);
    }
    j->base.done_ns = vnow(x);
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
    if (!w) {
        rc = thaw_err_set(&e, THAW_EIO, "%s", x->weights_why[j->model]);
    } else {
        struct exec_source src;
        exec_weights_source(w, &src);
        rc = exec_shm_fill(x->shm, j->name, &src, load_chunk(x->opts, w->bytes), &j->cancel,
                           &j->res, &e);
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
        while (!x->work_head && !x->stopping)
            pthread_cond_wait(&x->work_cv, &x->mu);
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

/* ---- timers ---------------------------------------------------------------- */

static bool timer_less(const struct timer *a, const struct timer *b)
{
    return a->t_ns != b->t_ns ? a->t_ns < b->t_ns : a->seq < b->seq;
}

static int timer_push(struct exec_ctx *x, struct timer t)
{
    if (x->timer_count == x->timer_cap) {
        int cap = x->timer_cap ? x->timer_cap * 2 : 64;
        struct timer *g = realloc(x->timers, (size_t)cap * sizeof *g);
        if (!g) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
        x->timers = g;
        x->timer_cap = cap;
    }
    t.seq = ++x->timer_seq;
    int i = x->timer_count++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!timer_less(&t, &x->timers[p])) break;
        x->timers[i] = x->timers[p];
        i = p;
    }
    x->timers[i] = t;
    if (t.kind == TIMER_REQ_DONE) x->req_done_timers++;
    return 0;
}

static struct timer timer_pop(struct exec_ctx *x)
{
    struct timer top = x->timers[0];
    struct timer last = x->timers[--x->timer_count];
    int i = 0, n = x->timer_count;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && timer_less(&x->timers[c + 1], &x->timers[c])) c++;
        if (!timer_less(&x->timers[c], &last)) break;
        x->timers[i] = x->timers[c];
        i = c;
    }
    if (n > 0) x->timers[i] = last;
    if (top.kind == TIMER_REQ_DONE) x->req_done_timers--;
    return top;
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
    in->free_pending = false;
}

/* ---- recording ------------------------------------------------------------ */

static int record_load(struct exec_ctx *x, const struct load_job *j, const char *outcome,
                       int64_t finished_ns)
{
    if (!x->db) return 0;
    struct res_load_row row = {
        .load_id = j->load_id,
        .instance = j->instance,
        .model = j->model,
        .gpu = j->gpu,
        .source = j->source,
        .reason = j->reason,
        .enqueued_ns = j->enqueued_ns,
        .started_ns = j->started_ns,
        .finished_ns = finished_ns,
        .bytes = j->bytes,
        .vram_bytes = j->vram_bytes,
        .outcome = outcome,
    };
    return res_add_load(x->db, x->run, x->spec, &row, &x->err);
}

/* ---- feeding the core and carrying out its actions ---------------------------- */

static int carry_out(struct exec_ctx *x, const struct core_action *a);

static int take_actions(struct exec_ctx *x, uint64_t seq)
{
    const struct core_action *acts;
    size_t n = core_sched_actions(x->core, &acts);
    /* Copied first: carrying an action out never calls the core, but the
     * array is only valid until the next feed. */
    for (size_t i = 0; i < n; i++) {
        if (x->alog) {
            char line[512];
            core_action_format(&acts[i], line, sizeof line);
            int rc = exec_action_log_add(x->alog, seq, (uint32_t)i, line, &x->err);
            if (rc < 0) return rc;
        }
        int rc = carry_out(x, &acts[i]);
        if (rc < 0) return rc;
        x->out->actions++;
    }
    return 0;
}

static int feed(struct exec_ctx *x, struct core_event *ev)
{
    if (ev->t_ns < x->last_t) ev->t_ns = x->last_t; /* workers stamp slightly out of order */
    x->last_t = ev->t_ns;
    int rc = core_sched_feed(x->core, ev, &x->err);
    if (rc < 0) return rc;
    uint64_t seq = ++x->seq;
    x->out->events++;
    if (x->db && (rc = res_add_core_event(x->db, x->run, seq, ev, &x->err)) < 0) return rc;
    if (x->opts->check_invariants && (rc = core_sched_check(x->core, &x->err)) < 0) return rc;
    return take_actions(x, seq);
}

static int start_load(struct exec_ctx *x, const struct core_action *a)
{
    if (grow((void **)&x->loads, &x->load_cap, (size_t)a->load, sizeof *x->loads, &x->err) < 0)
        return x->err.code;
    struct load_job *j = calloc(1, sizeof *j);
    if (!j) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    j->base.kind = JOB_LOAD;
    j->x = x;
    atomic_init(&j->cancel, false);
    j->load_id = a->load;
    j->instance = a->instance;
    j->model = a->model;
    j->gpu = a->gpu;
    j->node = a->node;
    j->source = a->source;
    j->reason = a->reason;
    j->enqueued_ns = a->enqueued_ns;
    j->started_ns = x->last_t;
    j->bytes = a->bytes;
    j->vram_bytes = a->vram_bytes;
    /* Drawn here, on the main thread, in the order loads start. */
    int node = a->node >= 0 && a->node < x->spec->node_count ? a->node : 0;
    const struct core_node_spec *ns = &x->spec->nodes[node];
    const struct core_model_spec *ms = &x->spec->models[a->model];
    /* The simulator's draw, in the same order from the same stream. */
    struct sim_load_costs costs = {
        .phase_ns = calloc((size_t)(ms->phase_count > 0 ? ms->phase_count : 1), sizeof(int64_t))};
    if (!costs.phase_ns) {
        free(j);
        return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    }
    sim_rng_draw_load(x->node_rng[node], ns, ms, &costs);
    j->pre_wait_ns = costs.init_ns;
    j->post_wait_ns = costs.warmup_ns;
    for (int p = 0; p < ms->phase_count; p++) {
        const struct core_phase_spec *ph = &ms->phases[p];
        int64_t v = costs.phase_ns[p];
        bool before = ph->when == CORE_PHASE_BEFORE_COPY;
        if (ph->cpu)
            *(before ? &j->pre_cpu_ns : &j->post_cpu_ns) += v;
        else
            *(before ? &j->pre_wait_ns : &j->post_wait_ns) += v;
    }
    free(costs.phase_ns);
    struct inst *in = inst_get(x, a->instance);
    if (!in) {
        free(j);
        return x->err.code;
    }
    *in = (struct inst){.known = true, .model = a->model, .gpu = a->gpu};
    int rc = pthread_create(&j->thread, NULL, load_main, j);
    if (rc != 0) {
        free(j);
        return thaw_err_set(&x->err, THAW_ENOMEM, "cannot start a load thread: %s", strerror(rc));
    }
    x->loads[a->load] = j;
    x->loads_in_flight++;
    return 0;
}

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

static void remove_fill(struct exec_ctx *x, struct fill_job *j);

static int start_fill(struct exec_ctx *x, const struct core_action *a)
{
    struct fill_job *j = calloc(1, sizeof *j);
    if (!j) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    j->base.kind = JOB_FILL;
    j->x = x;
    atomic_init(&j->cancel, false);
    j->node = a->node;
    j->model = a->model;
    exec_shm_name(a->node, x->spec->models[a->model].name, j->name, sizeof j->name);
    if (add_fill(x, j) < 0) {
        free(j);
        return x->err.code;
    }
    /* Already there (adopted from a --keep-shm run, or filled before a drop
     * was undone): done at once, through the queue like any other fill. */
    struct thaw_err e = {0};
    if (!x->shm) {
        job_fail(&j->base, thaw_err_set(&e, THAW_ENOENT, "no shm tier"), &e);
    } else if (exec_shm_has(x->shm, j->name)) {
        j->base.status = 0;
    } else if (x->opts->keep_shm && x->weights[a->model] &&
               exec_shm_adopt(x->shm, j->name, x->weights[a->model]->bytes, &e) == 0) {
        j->base.status = 0;
    } else {
        int rc = pthread_create(&j->thread, NULL, fill_main, j);
        if (rc != 0) {
            /* No thread will push its completion: out of the table, or
             * teardown would wait for it forever. */
            remove_fill(x, j);
            free(j);
            return thaw_err_set(&x->err, THAW_ENOMEM, "cannot start a fill thread: %s",
                                strerror(rc));
        }
        j->has_thread = true;
        return 0;
    }
    j->base.done_ns = x->last_t;
    push_done(x, &j->base);
    return 0;
}

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

static int dispatch(struct exec_ctx *x, const struct core_action *a)
{
    if (a->request < 1 || a->request > (uint64_t)x->sched.arrival_count)
        return thaw_err_set(&x->err, THAW_EINVARIANT, "dispatch of unknown request %llu",
                            (unsigned long long)a->request);
    struct req *rq = &x->reqs[a->request];
    struct inst *in = inst_get(x, a->instance);
    if (!in) return x->err.code;
    struct req_job *j = calloc(1, sizeof *j);
    if (!j) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    rq->dispatched_ns = x->last_t;
    rq->instance = a->instance;
    rq->cold = a->cold;
    rq->gen++;
    j->base.kind = JOB_REQUEST;
    j->request = a->request;
    j->instance = a->instance;
    j->gen = rq->gen;
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

static int carry_out(struct exec_ctx *x, const struct core_action *a)
{
    switch (a->kind) {
    case CORE_ACT_START_LOAD:
        return start_load(x, a);
    case CORE_ACT_START_SHM_FILL:
        return start_fill(x, a);
    case CORE_ACT_SHM_DROP:
        /* A fill in flight for the entry is aborted and its end not fed
         * back (core.h); it removes its partial file itself. */
        for (int k = 0; k < x->fill_count; k++)
            if (x->fills[k]->node == a->node && x->fills[k]->model == a->model) {
                x->fills[k]->dropped = true;
                atomic_store(&x->fills[k]->cancel, true);
            }
        if (x->shm) {
            char name[256];
            exec_shm_name(a->node, x->spec->models[a->model].name, name, sizeof name);
            exec_shm_drop(x->shm, name);
        }
        return 0;
    case CORE_ACT_EVICT: {
        struct inst *in = inst_get(x, a->instance);
        if (!in) return x->err.code;
        inst_release(x, in);
        return 0;
    }
    case CORE_ACT_CANCEL_LOAD:
        if (a->load < x->load_cap && x->loads[a->load]) {
            x->loads[a->load]->cancelled = true;
            x->loads[a->load]->gpu_lost = x->in_fault;
            atomic_store(&x->loads[a->load]->cancel, true);
        }
        return 0;
    case CORE_ACT_DISPATCH:
        return dispatch(x, a);
    case CORE_ACT_REQUEST_REQUEUED:
        if (a->request >= 1 && a->request <= (uint64_t)x->sched.arrival_count) {
            struct req *rq = &x->reqs[a->request];
            rq->gen++; /* its work in flight, if any, is now stale */
            rq->dispatched_ns = -1;
            rq->instance = 0;
        }
        return 0;
    case CORE_ACT_WAKE_AT:
        return timer_push(x, (struct timer){.t_ns = a->wake_ns, .kind = TIMER_WAKE});
    case CORE_ACT_INSTANCE_STATE: {
        struct inst *in = inst_get(x, a->instance);
        if (!in) return x->err.code;
        if (!in->known) *in = (struct inst){.known = true, .model = a->model, .gpu = a->gpu};
        if (a->state == CORE_INST_FAILED || a->state == CORE_INST_EVICTED) inst_release(x, in);
        if (x->db)
            return res_add_instance_event(x->db, x->run, x->spec, a->instance, a->model, a->gpu,
                                          a->state, x->last_t, &x->err);
        return 0;
    }
    }
    return 0;
}

/* ---- completions ------------------------------------------------------------- */

static void join_load(struct exec_ctx *x, struct load_job *j)
{
    pthread_join(j->thread, NULL);
    x->loads[j->load_id] = NULL;
    x->loads_in_flight--;
}

static int load_done(struct exec_ctx *x, struct load_job *j)
{
    join_load(x, j);
    int rc = 0;
    if (j->cancelled) {
        exec_backend_free(x->be, j->buf);
        if (j->gpu_lost)
            x->out->loads_failed++;
        else
            x->out->loads_cancelled++;
        rc = record_load(x, j, j->gpu_lost ? "failed" : "cancelled", -1);
        free(j);
        return rc;
    }
    bool ok = j->base.status == 0;
    struct core_event ev = {.kind = CORE_EV_LOAD_FINISHED,
                            .t_ns = j->base.done_ns,
                            .load = j->load_id,
                            .instance = j->instance,
                            .model = j->model,
                            .node = j->node,
                            .gpu = j->gpu,
                            .ok = ok};
    struct inst *in = inst_get(x, j->instance);
    if (!in) {
        exec_backend_free(x->be, j->buf);
        free(j);
        return x->err.code;
    }
    in->buf = j->buf; /* NULL when it failed */
    if (ok) {
        x->out->loads_ok++;
        x->out->bytes_loaded += j->res.bytes;
        x->out->load_copy_s += (double)j->res.copy_ns / 1e9;
        x->out->source_bytes[j->source == CORE_SRC_SHM] += j->res.bytes;
        x->out->source_copy_s[j->source == CORE_SRC_SHM] += (double)j->res.copy_ns / 1e9;
        x->out->source_loads[j->source == CORE_SRC_SHM]++;
    } else {
        x->out->loads_failed++;
    }
    rc = feed(x, &ev);
    if (rc == 0) rc = record_load(x, j, ok ? "ok" : "failed", ev.t_ns);
    free(j);
    return rc;
}

static void remove_fill(struct exec_ctx *x, struct fill_job *j)
{
    for (int i = 0; i < x->fill_count; i++)
        if (x->fills[i] == j) {
            x->fills[i] = x->fills[--x->fill_count];
            break;
        }
    if (j->has_thread) pthread_join(j->thread, NULL);
}

static int fill_done(struct exec_ctx *x, struct fill_job *j)
{
    remove_fill(x, j);
    if (j->dropped) {
        free(j);
        return 0;
    }
    bool ok = j->base.status == 0;
    if (ok)
        x->out->shm_fills_ok++;
    else
        x->out->shm_fills_failed++;
    struct core_event ev = {.kind = CORE_EV_SHM_FILL_FINISHED,
                            .t_ns = j->base.done_ns,
                            .model = j->model,
                            .node = j->node,
                            .gpu = -1,
                            .ok = ok};
    free(j);
    return feed(x, &ev);
}

static int finish_request(struct exec_ctx *x, uint64_t request, int64_t t_ns)
{
    struct req *rq = &x->reqs[request];
    struct core_event ev = {.kind = CORE_EV_REQUEST_FINISHED,
                            .t_ns = t_ns,
                            .request = request,
                            .instance = rq->instance,
                            .model = rq->model,
                            .node = -1,
                            .gpu = -1,
                            .ok = true};
    int rc = feed(x, &ev);
    rq->finished_ns = ev.t_ns;
    x->out->requests_served++;
    return rc;
}

/* A request's work came back. Its service ends at the later of the work's
 * end and dispatch + the drawn service time (the floor), so a request costs
 * at least what the scenario says and more when the real work is slower. */
static int request_done(struct exec_ctx *x, struct req_job *j, int64_t now)
{
    struct inst *in = inst_get(x, j->instance);
    if (!in) return x->err.code;
    in->running--;
    x->requests_running--;
    if (in->running == 0 && in->free_pending) inst_release(x, in);
    uint64_t request = j->request;
    struct req *rq = &x->reqs[request];
    int64_t done = j->base.done_ns;
    uint32_t gen = j->gen;
    free(j);
    if (gen != rq->gen) return 0; /* requeued meanwhile */
    int64_t floor = rq->dispatched_ns + rq->service_ns;
    int64_t end = done > floor ? done : floor;
    if (end > now)
        return timer_push(
            x, (struct timer){.t_ns = end, .kind = TIMER_REQ_DONE, .request = request, .gen = gen});
    return finish_request(x, request, end);
}

static int process_job(struct exec_ctx *x, struct job *j, int64_t now)
{
    switch (j->kind) {
    case JOB_LOAD:
        return load_done(x, (struct load_job *)j);
    case JOB_FILL:
        return fill_done(x, (struct fill_job *)j);
    case JOB_REQUEST:
        return request_done(x, (struct req_job *)j, now);
    }
    return 0;
}

/* ---- scheduled inputs --------------------------------------------------------- */

static int arrive(struct exec_ctx *x)
{
    const struct exec_arrival *a = &x->sched.arrivals[x->next_arrival++];
    uint64_t id = (uint64_t)x->next_arrival; /* 1-based, in arrival order */
    struct req *rq = &x->reqs[id];
    rq->arrived = true;
    rq->model = a->model;
    rq->service_ns = a->service_ns;
    rq->dispatched_ns = rq->finished_ns = -1;
    x->out->requests_arrived++;
    struct core_event ev = {.kind = CORE_EV_REQUEST_ARRIVED,
                            .t_ns = a->t_ns,
                            .request = id,
                            .model = a->model,
                            .node = -1,
                            .gpu = -1,
                            .ok = true};
    int rc = feed(x, &ev);
    rq->arrived_ns = ev.t_ns;
    return rc;
}

static int inject_fault(struct exec_ctx *x)
{
    int i = x->next_fault++;
    const struct exec_fault_ev *f = &x->sched.faults[i];
    struct core_event ev = {.t_ns = f->t_ns, .node = -1, .gpu = -1, .model = -1, .ok = true};
    if (f->node) {
        ev.kind = f->recover ? CORE_EV_NODE_RECOVERED : CORE_EV_NODE_FAILED;
        ev.node = f->target;
    } else {
        ev.kind = f->recover ? CORE_EV_GPU_RECOVERED : CORE_EV_GPU_FAILED;
        ev.gpu = f->target;
        ev.node = x->spec->gpus[f->target].node;
    }
    /* A failed node's shm entries and fills go with the SHM_DROP actions the
     * core emits for them. */
    x->in_fault = !f->recover;
    int rc = feed(x, &ev);
    x->in_fault = false;
    if (!f->recover) {
        x->fault_recovered_ns[i] = -1;
    } else {
        /* Pair the recovery with the latest failure of the same target. */
        for (int k = i - 1; k >= 0; k--) {
            const struct exec_fault_ev *g = &x->sched.faults[k];
            if (!g->recover && g->node == f->node && g->target == f->target) {
                x->fault_recovered_ns[k] = ev.t_ns;
                break;
            }
        }
    }
    return rc;
}

static int fire_timer(struct exec_ctx *x)
{
    struct timer t = timer_pop(x);
    if (t.kind == TIMER_REQ_DONE) {
        if (t.gen != x->reqs[t.request].gen) return 0;
        return finish_request(x, t.request, t.t_ns);
    }
    if (t.t_ns <= x->last_tick) return 0; /* one tick per instant is enough */
    x->last_tick = t.t_ns;
    struct core_event ev = {
        .kind = CORE_EV_TICK, .t_ns = t.t_ns, .node = -1, .gpu = -1, .model = -1, .ok = true};
    return feed(x, &ev);
}

/* ---- the main loop -------------------------------------------------------------- */

static int64_t next_scheduled(const struct exec_ctx *x)
{
    int64_t t = INT64_MAX;
    if (x->next_arrival < x->sched.arrival_count) t = x->sched.arrivals[x->next_arrival].t_ns;
    if (x->next_fault < x->sched.fault_count && x->sched.faults[x->next_fault].t_ns < t)
        t = x->sched.faults[x->next_fault].t_ns;
    if (x->timer_count > 0 && x->timers[0].t_ns < t) t = x->timers[0].t_ns;
    return t;
}

/* True when nothing can happen any more except the core's own timers. */
static bool idle(const struct exec_ctx *x)
{
    return x->next_arrival >= x->sched.arrival_count && x->next_fault >= x->sched.fault_count &&
           x->loads_in_flight == 0 && x->fill_count == 0 && x->requests_running == 0 &&
           x->req_done_timers == 0;
}

static void report_progress(struct exec_ctx *x, int64_t now)
{
    if (!x->opts->progress) return;
    struct exec_progress p = {
        .now_ns = now,
        .loads_in_flight = x->loads_in_flight,
        .fills_in_flight = x->fill_count,
        .loads_done = x->out->loads_ok + x->out->loads_failed,
        .requests_done = x->out->requests_served,
        .bytes_moved = atomic_load(&x->bytes_moved),
        .wall_s = (double)(mono_ns() - t0_ns(x)) / 1e9,
    };
    x->opts->progress(x->opts->progress_ctx, &p);
}

/* Runs until the end; returns 0 (complete), 1 (interrupted) or < 0. */
static int main_loop(struct exec_ctx *x)
{
    const int64_t duration = x->spec->duration_ns;
    int64_t next_progress = 0;
    struct job *ready = NULL, *ready_tail = NULL;
    int result = 0;
    for (;;) {
        if (stop_requested(x)) {
            result = 1;
            break;
        }
        pthread_mutex_lock(&x->mu);
        if (x->done_head) {
            if (ready_tail)
                ready_tail->next = x->done_head;
            else
                ready = x->done_head;
            ready_tail = x->done_tail;
            x->done_head = x->done_tail = NULL;
        }
        pthread_mutex_unlock(&x->mu);
        int64_t now = vnow(x);
        if (duration > 0 && now >= duration) break;
        /* Everything due, oldest first. */
        for (;;) {
            int64_t t_sched = next_scheduled(x);
            if (ready && ready->done_ns <= t_sched) {
                struct job *j = ready;
                ready = j->next;
                if (!ready) ready_tail = NULL;
                int rc = process_job(x, j, now);
                if (rc < 0) {
                    result = rc;
                    goto out;
                }
                continue;
            }
            if (t_sched > now || (duration > 0 && t_sched >= duration)) break;
            int rc;
            if (x->next_fault < x->sched.fault_count &&
                x->sched.faults[x->next_fault].t_ns == t_sched)
                rc = inject_fault(x);
            else if (x->timer_count > 0 && x->timers[0].t_ns == t_sched)
                rc = fire_timer(x);
            else
                rc = arrive(x);
            if (rc < 0) {
                result = rc;
                goto out;
            }
        }
        if (duration <= 0 && idle(x)) break;
        int64_t wall = mono_ns();
        if (wall >= next_progress) {
            report_progress(x, now);
            next_progress = wall + 250000000;
        }
        /* Sleep until the next scheduled input, a finished job, the end, or
         * 100 ms (to notice a signal). */
        int64_t wake = next_scheduled(x);
        if (duration > 0 && duration < wake) wake = duration;
        int64_t wake_wall = wake == INT64_MAX ? INT64_MAX : wall_of(x, wake);
        if (wake_wall > wall + 100000000) wake_wall = wall + 100000000;
        if (wake_wall > wall) {
            struct timespec ts = {.tv_sec = wake_wall / 1000000000,
                                  .tv_nsec = wake_wall % 1000000000};
            pthread_mutex_lock(&x->mu);
            while (!x->done_head && !stop_requested(x) &&
                   pthread_cond_timedwait(&x->done_cv, &x->mu, &ts) != ETIMEDOUT) {
            }
            pthread_mutex_unlock(&x->mu);
        }
    }
out:
    /* Leftover completions (none are fed after the end, an interrupt or an
     * error) go back to the queue so teardown finds every job in one place:
     * a load left here would keep teardown waiting for it forever. */
    while (ready) {
        struct job *j = ready;
        ready = j->next;
        push_done(x, j);
    }
    return result;
}

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

static int open_backend(struct exec_ctx *x)
{
    const struct core_spec *spec = x->spec;
    uint64_t *caps = calloc((size_t)spec->gpu_count, sizeof *caps);
    if (!caps) return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    for (int g = 0; g < spec->gpu_count; g++)
        caps[g] = spec->gpus[g].vram_bytes;
    struct exec_backend_config cfg = {.gpu_count = spec->gpu_count, .vram_cap_bytes = caps};
    const char *kind = x->opts->backend == EXEC_BACKEND_CUDA   ? "cuda"
                       : x->opts->backend == EXEC_BACKEND_HOST ? "host"
                                                               : "auto";
    char why[256] = "";
    int rc = exec_backend_open(kind, &cfg, &x->be, why, sizeof why, &x->err);
    free(caps);
    if (rc < 0) return rc;
    snprintf(x->out->backend, sizeof x->out->backend, "%s", exec_backend_name(x->be));
    if (!why[0]) snprintf(why, sizeof why, "%s backend requested", x->out->backend);
    snprintf(x->out->backend_why, sizeof x->out->backend_why, "%s", why);
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

    if ((rc = exec_schedule_build(spec, spec->seed, 0, &x->sched, &x->err)) < 0) return rc;
    x->reqs = calloc((size_t)x->sched.arrival_count + 1, sizeof *x->reqs);
    x->fault_recovered_ns = calloc((size_t)x->sched.fault_count + 1, sizeof(int64_t));
    x->node_rng = calloc((size_t)spec->node_count, sizeof *x->node_rng);
    if (!x->reqs || !x->fault_recovered_ns || !x->node_rng)
        return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");
    for (int n = 0; n < spec->node_count; n++)
        if (!(x->node_rng[n] = sim_rng_for_node(spec, spec->seed, n)))
            return thaw_err_set(&x->err, THAW_ENOMEM, "out of memory");

    if ((rc = open_backend(x)) < 0) return rc;
    if ((rc = open_weights(x)) < 0) return rc;
    if (spec_has_shm(spec)) {
        struct exec_shm_options so = {.base = x->opts->shm_dir, .keep = x->opts->keep_shm};
        if ((rc = exec_shm_open(&so, &x->shm, &x->err)) < 0) return rc;
    }
    if ((rc = core_sched_new(spec, &x->core, &x->err)) < 0) return rc;

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

    if (x->db) {
        struct res_run_info info = x->opts->run_info;
        info.mode = "exec";
        info.backend = x->out->backend;
        if (!info.overrides) info.overrides = "";
        if (!info.params) info.params = "";
        info.seed = spec->seed;
        /* The action table is created before the run row, so its schema
         * change never lands in the middle of the recorder's bursts. */
        if ((rc = exec_action_log_ensure(x->db, &x->err)) < 0) return rc;
        if ((rc = res_run_begin(x->db, spec, &info, &x->run, &x->err)) < 0) return rc;
        x->out->run_id = x->run;
        if ((rc = exec_action_log_open(x->db, x->run, &x->alog, &x->err)) < 0) return rc;
    }
    return 0;
}

/* Instances READY at t=0 ("placement:") get their weights before the clock
 * starts: the core already counts them as serving. */
static int preload_initial(struct exec_ctx *x)
{
    const struct core_action *acts;
    size_t n = core_sched_actions(x->core, &acts);
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
    return 0;
}

/* Stops every worker and joins it; records what was in flight at the end. */
static int teardown_work(struct exec_ctx *x)
{
    int rc = 0;
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
        while (!x->done_head && (x->loads_in_flight > 0 || x->fill_count > 0))
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
            join_load(x, lj);
            exec_backend_free(x->be, lj->buf);
            x->out->loads_cancelled++;
            int r = record_load(x, lj, "cancelled", -1);
            if (r < 0 && rc == 0) rc = r;
            free(lj);
        } else if (j->kind == JOB_FILL) {
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
    for (size_t id = 0; id < x->inst_cap; id++) {
        x->insts[id].running = 0;
        inst_release(x, &x->insts[id]);
    }
    return rc;
}

static int record_rows(struct exec_ctx *x)
{
    if (!x->db) return 0;
    int rc;
    for (int i = 1; i <= x->sched.arrival_count; i++) {
        const struct req *rq = &x->reqs[i];
        if (!rq->arrived) break;
        struct res_request_row row = {
            .request_id = (uint64_t)i,
            .model = rq->model,
            .arrived_ns = rq->arrived_ns,
            .dispatched_ns = rq->dispatched_ns,
            .finished_ns = rq->finished_ns,
            .instance = rq->instance,
            .cold = rq->cold,
        };
        if ((rc = res_add_request(x->db, x->run, x->spec, &row, &x->err)) < 0) return rc;
    }
    for (int i = 0; i < x->next_fault; i++) {
        const struct exec_fault_ev *f = &x->sched.faults[i];
        if (f->recover) continue;
        if ((rc = res_add_fault(x->db, x->run, x->spec, f->node, f->target, f->t_ns,
                                x->fault_recovered_ns[i], &x->err)) < 0)
            return rc;
    }
    if ((rc = exec_action_log_flush(x->alog, &x->err)) < 0) return rc;
    res_set_metric(x->db, x->run, "exec_bytes_loaded", (double)x->out->bytes_loaded, NULL);
    /* `thaw validate` reads it: copies take wall time, recorded scaled */
    res_set_metric(x->db, x->run, "exec_time_scale", x->scale, NULL);
    if (x->out->load_copy_s > 0)
        res_set_metric(x->db, x->run, "exec_load_gbps",
                       (double)x->out->bytes_loaded / x->out->load_copy_s / 1e9, NULL);
    return 0;
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
    exec_action_log_close(x->alog);
    core_sched_free(x->core);
    exec_shm_close(x->shm);
    for (int m = 0; x->weights && m < x->spec->model_count; m++) {
        exec_weights_free(x->weights[m]);
        free(x->weights_why[m]);
    }
    free(x->weights);
    free(x->weights_why);
    exec_backend_close(x->be);
    for (int n = 0; x->node_rng && n < x->spec->node_count; n++)
        gsl_rng_free(x->node_rng[n]);
    free(x->node_rng);
    exec_schedule_free(&x->sched);
    free(x->reqs);
    free(x->fault_recovered_ns);
    free(x->loads);
    free(x->fills);
    free(x->insts);
    free(x->timers);
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
    x->db = opts->db;
    x->scale = opts->time_scale > 0 ? opts->time_scale : 1.0;
    x->last_tick = -1;

    int rc = setup(x);
    int status = -1; /* 0 complete, 1 interrupted */
    if (rc == 0) rc = core_sched_start(x->core, 0, &x->err);
    if (rc == 0) rc = preload_initial(x);
    if (rc == 0) {
        clock_gettime(CLOCK_MONOTONIC, &x->t0);
        x->clock_started = true;
        rc = take_actions(x, 0);
    }
    if (rc == 0) rc = main_loop(x);
    if (rc >= 0) {
        status = rc;
        rc = 0;
    }
    int64_t end = x->clock_started ? vnow(x) : 0;
    if (spec->duration_ns > 0 && status == 0 && end > spec->duration_ns) end = spec->duration_ns;
    if (end < x->last_t) end = x->last_t;
    out->end_ns = end;
    out->wall_s = x->clock_started ? (double)(mono_ns() - t0_ns(x)) / 1e9 : 0;
    if (x->req_thread_count > 0 || x->loads_in_flight > 0 || x->fill_count > 0) {
        int r = teardown_work(x);
        if (r < 0 && rc == 0) rc = r;
    }
    if (rc == 0) rc = record_rows(x);
    out->status = rc < 0 ? "failed" : status == 1 ? "interrupted" : "complete";
    if (x->db && x->run > 0) {
        struct thaw_err fe = {0};
        int r = res_run_finish(x->db, x->run, out->status, end, &fe);
        if (r < 0 && rc == 0) {
            rc = r;
            x->err = fe;
        }
    }
    if (rc < 0) thaw_err_set(err, rc, "%s", x->err.msg[0] ? x->err.msg : thaw_strerror(rc));
    free_ctx(x);
    free(x);
    return rc;
}

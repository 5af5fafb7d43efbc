/* sched.c - the scheduler's event handling: every event updates the state,
 * then one pass ("pump") dispatches waiting requests, runs the autoscaler,
 * queues demand loads, starts the queued loads that can start, starts shm
 * fills and asks for the next wake-up. Every loop runs over arrays in index
 * or id order, never over addresses, so the same events give the same
 * actions. The semantics are written down in core.h. Per-event work is kept
 * proportional to what changed: per-model instance lists and job counts,
 * per-model counts and free sets and a per-GPU room tree (books.c), bitmaps
 * of waiting and changed models (see core_internal.h);
 * core_sched_check_books recounts them for the tests, and debug builds
 * check the counts and the room tree at each read. */
#include "core_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- containers ---------------------------------------------------------------- */

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

/* The next action slot, appended (not initialised); NULL with s->oom set
 * on failure. */
static struct core_action *emit_slot(struct core_sched *s)
{
    if (!grow((void **)&s->acts, &s->act_cap, s->act_count + 1, sizeof *s->acts)) {
        s->oom = true;
        return NULL;
    }
    return &s->acts[s->act_count++];
}

/* A zeroed action of that kind stamped s->now, appended: filled in place
 * (the per-request path skips a copy); NULL with s->oom set on failure. */
static struct core_action *emit_new(struct core_sched *s, enum core_action_kind kind)
{
    struct core_action *a = emit_slot(s);
    if (!a) return NULL;
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->t_ns = s->now;
    return a;
}

void core_emit(struct core_sched *s, const struct core_action *a)
{
    struct core_action *slot = emit_slot(s);
    if (!slot) return;
    *slot = *a;
    slot->t_ns = s->now;
}

static bool waitq_reserve(struct core_sched *s, struct core_waitq *q)
{
    if (q->len < q->cap) return true;
    size_t cap = q->cap ? q->cap * 2 : 16;
    struct core_wait *items = malloc(cap * sizeof *items);
    if (!items) {
        s->oom = true;
        return false;
    }
    for (size_t i = 0; i < q->len; i++)
        items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
    return true;
}

static void waitq_push_back(struct core_sched *s, int m, struct core_wait w)
{
    struct core_waitq *q = &s->models[m].wait;
    if (!waitq_reserve(s, q)) return;
    q->items[(q->head + q->len) % q->cap] = w;
    q->len++;
    s->waiting[m / 64] |= 1ULL << (m % 64);
    core_model_touch(s, m);
}

static void waitq_push_front(struct core_sched *s, int m, struct core_wait w)
{
    struct core_waitq *q = &s->models[m].wait;
    if (!waitq_reserve(s, q)) return;
    q->head = (q->head + q->cap - 1) % q->cap;
    q->items[q->head] = w;
    q->len++;
    s->waiting[m / 64] |= 1ULL << (m % 64);
    core_model_touch(s, m);
}

static struct core_wait waitq_pop(struct core_sched *s, int m)
{
    struct core_waitq *q = &s->models[m].wait;
    struct core_wait w = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    if (q->len == 0) s->waiting[m / 64] &= ~(1ULL << (m % 64));
    core_model_touch(s, m);
    return w;
}

/* The next model >= m with requests waiting and its bit set in `dirty`, in
 * index order; -1 when none. Reads the bits afresh, so models that start or
 * stop waiting meanwhile are seen as a scan of every model would see them. */
static inline int next_waiting(const struct core_sched *s, const uint64_t *dirty,
                               const uint64_t *sum, int m)
{
    int M = s->spec->model_count;
    if (s->model_words == 1) { /* up to 64 models: the word itself */
        uint64_t word = m < 64 ? (s->waiting[0] & dirty[0]) >> m : 0;
        if (!word) return -1;
        m += __builtin_ctzll(word);
        return m < M ? m : -1;
    }
    while (m < M) {
        size_t w = (size_t)m / 64;
        uint64_t flagged = sum[w / 64] >> (w % 64); /* dirty words from w on */
        if (!flagged) {
            m = (int)((w / 64 + 1) * 4096);
            continue;
        }
        size_t w2 = w + (size_t)__builtin_ctzll(flagged);
        if (w2 != w) m = (int)(w2 * 64);
        uint64_t word = (s->waiting[w2] & dirty[w2]) >> (m % 64);
        if (word) {
            m += __builtin_ctzll(word);
            return m < M ? m : -1;
        }
        m = (int)((w2 + 1) * 64);
    }
    return -1;
}

int core_next_due(struct core_sched *s, uint64_t *due, int node)
{
    int N = s->spec->node_count;
    while (node < N) {
        uint64_t word = due[node / 64] >> (node % 64);
        if (word) {
            node += __builtin_ctzll(word);
            if (node >= N) return -1;
            due[node / 64] &= ~(1ULL << (node % 64));
            return node;
        }
        node = (node / 64 + 1) * 64;
    }
    return -1;
}

/* Clears a dirty bitmap: the words its summary flags, then the summary. */
static void dirty_clear(struct core_sched *s, uint64_t *dirty, uint64_t *sum)
{
    if (s->model_words == 1) {
        dirty[0] = 0;
        return;
    }
    for (size_t i = 0; i < s->sum_words; i++) {
        for (uint64_t f = sum[i]; f; f &= f - 1)
            dirty[i * 64 + (size_t)__builtin_ctzll(f)] = 0;
        sum[i] = 0;
    }
}

static struct core_wait *waitq_at(struct core_waitq *q, size_t i)
{
    return &q->items[(q->head + i) % q->cap];
}

/* ---- instances ------------------------------------------------------------------- */

static void emit_state(struct core_sched *s, size_t idx)
{
    const struct core_inst *in = &s->insts[idx];
    struct core_action a = {.kind = CORE_ACT_INSTANCE_STATE};
    a.instance = in->id;
    a.load = in->load;
    a.model = in->model;
    a.gpu = in->gpu;
    a.node = s->spec->gpus[in->gpu].node;
    a.state = in->state;
    a.reason = in->reason;
    a.vram_bytes = s->spec->models[in->model].vram_bytes;
    core_gang_act(&a, in);
    core_emit(s, &a);
}

/* A new LOADING or READY instance reserving its VRAM on gpu, or on each of
 * gang[0..tp-1] (gang NULL: gpu alone); SIZE_MAX on ENOMEM. */
static size_t inst_new(struct core_sched *s, int model, int gpu, const int *gang,
                       enum core_inst_state state, enum core_reason reason, bool hot)
{
    struct core_model_state *mst = &s->models[model];
    if (!grow((void **)&s->insts, &s->inst_cap, s->inst_count + 1, sizeof *s->insts) ||
        !grow((void **)&s->live, &s->live_cap, s->live_count + 1, sizeof *s->live) ||
        !grow((void **)&mst->live, &mst->live_cap, mst->live_count + 1, sizeof *mst->live)) {
        s->oom = true;
        return SIZE_MAX;
    }
    uint64_t *reqs = NULL;
    if (s->models[model].concurrency > CORE_INLINE_REQS &&
        !(reqs = calloc((size_t)s->models[model].concurrency, sizeof *reqs))) {
        s->oom = true;
        return SIZE_MAX;
    }
    size_t idx = s->inst_count++;
    struct core_inst *in = &s->insts[idx];
    memset(in, 0, sizeof *in);
    in->id = idx + 1;
    in->model = model;
    in->gpu = gpu;
    in->state = state;
    in->reason = reason;
    in->hot = hot;
    in->loaded_ns = s->now;
    in->last_used_ns = s->now;
    in->vram_bytes = core_model_need(s, model);
    in->reqs = reqs;
    in->tp = gang ? core_model_tp(&s->spec->models[model]) : 1;
    in->gang[0] = gpu;
    for (int i = 1; i < in->tp; i++)
        in->gang[i] = gang[i];
    for (int i = 0; i < in->tp; i++) {
        s->gpus[in->gang[i]].reserved_bytes += in->vram_bytes;
        core_gpu_touch(s, in->gang[i]);
    }
    in->c_left = in->c_right = SIZE_MAX;
    s->live[s->live_count++] = idx;
    mst->live[mst->live_count++] = idx; /* the newest id: the order holds */
    core_books_in(s, in);               /* marks the model changed too */
    return idx;
}

/* Removes idx from an ascending array of instance indices. */
static void sorted_remove(size_t *arr, size_t *count, size_t idx)
{
    size_t lo = 0, hi = *count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (arr[mid] < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == *count || arr[lo] != idx) return;
    memmove(&arr[lo], &arr[lo + 1], (*count - lo - 1) * sizeof *arr);
    (*count)--;
}

/* Inserts idx into an ascending array with room for one more. */
static void sorted_insert(size_t *arr, size_t *count, size_t idx)
{
    size_t at = *count;
    while (at > 0 && arr[at - 1] > idx) {
        arr[at] = arr[at - 1];
        at--;
    }
    arr[at] = idx;
    (*count)++;
}

void core_inst_live_add(struct core_sched *s, size_t idx)
{
    struct core_model_state *ms = &s->models[s->insts[idx].model];
    if (!grow((void **)&s->live, &s->live_cap, s->live_count + 1, sizeof *s->live) ||
        !grow((void **)&ms->live, &ms->live_cap, ms->live_count + 1, sizeof *ms->live)) {
        s->oom = true;
        return;
    }
    core_model_touch(s, s->insts[idx].model);
    sorted_insert(s->live, &s->live_count, idx);
    sorted_insert(ms->live, &ms->live_count, idx);
}

bool core_load_register(struct core_sched *s, size_t idx)
{
    if (!grow((void **)&s->load_inst, &s->load_cap, s->load_count + 1, sizeof *s->load_inst)) {
        s->oom = true;
        return false;
    }
    s->load_inst[s->load_count++] = idx;
    s->insts[idx].load = s->load_count;
    return true;
}

static void live_remove(struct core_sched *s, size_t idx)
{
    struct core_model_state *ms = &s->models[s->insts[idx].model];
    core_model_touch(s, s->insts[idx].model);
    sorted_remove(s->live, &s->live_count, idx);
    sorted_remove(ms->live, &ms->live_count, idx);
}

static void release(struct core_sched *s, struct core_inst *in)
{
    for (int i = 0; i < in->tp; i++) {
        s->gpus[in->gang[i]].reserved_bytes -= in->vram_bytes;
        core_gpu_touch(s, in->gang[i]);
    }
    in->vram_bytes = 0;
}

void core_inst_release(struct core_sched *s, struct core_inst *in)
{
    release(s, in);
}

void core_inst_live_remove(struct core_sched *s, size_t idx)
{
    live_remove(s, idx);
}

void core_inst_emit_state(struct core_sched *s, size_t idx)
{
    emit_state(s, idx);
}

void core_inst_evict(struct core_sched *s, size_t idx)
{
    if (core_sleep_instead(s, idx)) return; /* standby sleep (sleep.c) */
    struct core_inst *in = &s->insts[idx];
    struct core_action a = {.kind = CORE_ACT_EVICT};
    a.instance = in->id;
    a.load = in->load;
    a.model = in->model;
    a.gpu = in->gpu;
    a.node = s->spec->gpus[in->gpu].node;
    a.reason = in->reason;
    a.vram_bytes = s->spec->models[in->model].vram_bytes;
    core_gang_act(&a, in);
    core_books_out(s, in);
    release(s, in);
    in->state = CORE_INST_EVICTED;
    live_remove(s, idx);
    s->stats.evictions++;
    core_emit(s, &a);
    emit_state(s, idx);
}

void core_inst_cancel_load(struct core_sched *s, size_t idx)
{
    struct core_inst *in = &s->insts[idx];
    int node = s->spec->gpus[in->gpu].node;
    struct core_action a = {.kind = CORE_ACT_CANCEL_LOAD};
    a.instance = in->id;
    a.load = in->load;
    a.model = in->model;
    a.gpu = in->gpu;
    a.node = node;
    a.reason = in->reason;
    a.vram_bytes = in->vram_bytes;
    if (in->tp > 1) {
        /* a gang: every GPU's shard is cancelled; vram_bytes the whole
         * instance's, as on START_LOAD */
        core_gang_act(&a, in);
        a.vram_bytes = s->spec->models[in->model].vram_bytes;
    }
    core_emit(s, &a);
    for (int i = 0; i < in->tp; i++)
        s->gpus[in->gang[i]].loads--;
    s->nodes[node].loads--;
    core_node_touch(s, node);
    core_books_out(s, in);
    release(s, in);
    in->state = CORE_INST_FAILED;
    live_remove(s, idx);
    emit_state(s, idx);
}

void core_model_count(const struct core_sched *s, int model, struct core_model_count *c)
{
    const struct core_model_state *ms = &s->models[model];
#ifndef NDEBUG
    struct thaw_err e;
    if (core_books_check_model(s, model, &e) != 0) {
        fprintf(stderr, "thaw core: books differ: %s\n", e.msg);
        abort();
    }
#endif
    *c = ms->live_counts;
    c->ready_free = (int)core_free_count(s, model);
    c->hot += ms->jobs_hot;
    c->queued = ms->jobs - ms->jobs_hot;
}

int core_model_max(const struct core_sched *s, int model)
{
    const struct core_model_spec *m = &s->spec->models[model];
    return m->replicas_max > m->replicas_min ? m->replicas_max : m->replicas_min;
}

/* ---- the cold-start queue ------------------------------------------------------- */

void core_job_queue(struct core_sched *s, int model, enum core_reason reason, bool hot)
{
    const struct core_model_spec *ms = &s->spec->models[model];
    struct core_job j = {0};
    j.seq = ++s->next_job_seq;
    j.model = model;
    j.reason = reason;
    j.hot = hot;
    j.priority = ms->priority;
    j.enqueued_ns = s->now;
    j.deadline_ns = ms->deadline_ns > 0 ? core_time_add(s->now, ms->deadline_ns) : CORE_NO_TIME;
    if (s->queue->prepare) s->queue->prepare(s, &j);
    if (core_queue_insert(s, &j) != 0) return;
    if (hot) return;
    /* Every request waiting now waits for (or alongside) this load: cold. */
    struct core_waitq *q = &s->models[model].wait;
    for (size_t i = 0; i < q->len; i++)
        waitq_at(q, i)->cold = true;
}

static void start_load(struct core_sched *s, const struct core_job *job, int gpu, const int *gang)
{
    size_t idx = inst_new(s, job->model, gpu, gang, CORE_INST_LOADING, job->reason, job->hot);
    if (idx == SIZE_MAX) return;
    if (!grow((void **)&s->load_inst, &s->load_cap, s->load_count + 1, sizeof *s->load_inst)) {
        s->oom = true;
        return;
    }
    int node = s->spec->gpus[gpu].node;
    struct core_inst *in = &s->insts[idx];
    s->load_inst[s->load_count++] = idx;
    in->load = s->load_count;
    in->job_seq = job->seq;
    for (int i = 0; i < in->tp; i++)
        s->gpus[in->gang[i]].loads++;
    s->nodes[node].loads++;
    core_node_touch(s, node);
    s->stats.loads_started++;

    struct core_pick pk;
    core_ladder_pick_gang(s, job->model, in->tp, in->gang, &pk);
    bool shm = pk.source == CORE_SRC_SHM;
    if (shm) {
        s->stats.shm_hits++;
        core_shm_touch(s, node, job->model);
    } else {
        s->stats.shm_misses++;
    }
    struct core_action a = {.kind = CORE_ACT_START_LOAD};
    a.load = in->load;
    a.instance = in->id;
    a.model = job->model;
    a.node = node;
    a.gpu = gpu;
    a.source = pk.source;
    if (pk.source == CORE_SRC_PEER) {
        a.peer_gpu = s->insts[pk.peer].gpu;
        a.peer_instance = s->insts[pk.peer].id;
        for (int i = 0; i < s->insts[pk.peer].tp && i < CORE_TP_MAX; i++)
            a.peer_gang[i] = s->insts[pk.peer].gang[i];
    }
    a.reason = job->reason;
    a.state = CORE_INST_LOADING;
    a.bytes = s->spec->models[job->model].weights_bytes;
    a.vram_bytes = s->spec->models[job->model].vram_bytes;
    a.enqueued_ns = job->enqueued_ns;
    core_gang_act(&a, in);
    core_emit(s, &a);
    emit_state(s, idx);
    core_ladder_on_load(s, idx, job, &pk);
    if (!shm) core_shm_on_storage_load(s, node, job->model);
}

static bool serving_on(const struct core_sched *s, int model, int gpu, int node)
{
    const struct core_model_state *ms = &s->models[model];
    for (size_t i = 0; i < ms->live_count; i++) {
        const struct core_inst *in = &s->insts[ms->live[i]];
        if (in->hot) continue;
        if (gpu >= 0 ? core_inst_on(in, gpu) : s->spec->gpus[in->gpu].node == node) return true;
    }
    return false;
}

/* Starts queued job `pos` if it can start now; true when it did. */
static bool try_start(struct core_sched *s, size_t pos)
{
    const struct core_spec *sp = s->spec;
    const struct core_job job = s->jobs[pos];
    uint64_t need = core_model_need(s, job.model);
    int G = sp->gpu_count;
    unsigned char allowed[G > 0 ? G : 1], fits[G > 0 ? G : 1], pref[G > 0 ? G : 1];
    bool any_pref = false;
    for (int g = 0; g < G; g++) {
        int node = sp->gpus[g].node;
        allowed[g] = core_gpu_allowed(s, g) && (!job.hot || !serving_on(s, job.model, g, -1));
        fits[g] = allowed[g] && core_gpu_free(s, g) >= need;
        /* a hot standby prefers a node with no serving instance of its model */
        pref[g] = job.hot && fits[g] && !serving_on(s, job.model, -1, node);
        any_pref = any_pref || pref[g];
    }
    /* a sleeper of the model wakes before any cold load (sleep.c) */
    if (!job.hot && s->models[job.model].sleeper_count > 0 &&
        (core_sleep_wake(s, pos, allowed, false) || core_sleep_wake(s, pos, allowed, true)))
        return true;
    if (core_model_tp(&sp->models[job.model]) > 1) {
        /* a gang: k GPUs of one node at once or not at all (gang.c) */
        int gang[CORE_TP_MAX];
        if (!core_gang_place(s, job.model, allowed, gang)) return false;
        core_queue_remove(s, pos);
        start_load(s, &job, gang[0], gang);
        return true;
    }
    int gpu = -1;
    if (any_pref) gpu = s->placement->pick(s, job.model, pref);
    if (gpu < 0) gpu = s->placement->pick(s, job.model, fits);
    if (gpu < 0) gpu = core_evict_for(s, job.model, allowed, need);
    if (gpu < 0) return false;
    core_queue_remove(s, pos);
    start_load(s, &job, gpu, NULL);
    return true;
}

/* The most room a load could find on one allowed GPU: its free VRAM plus
 * every idle instance on it that the eviction policy lets go now. A job that
 * needs more cannot start (no fit, and eviction can free at most that much),
 * so start_jobs passes it by without try_start's scans; the outcome is the
 * same. Hot standbys also avoid GPUs of their model, which only lowers the
 * bound, so it holds for them too. */
static uint64_t room_bound(struct core_sched *s)
{
    const struct core_spec *sp = s->spec;
    int G = sp->gpu_count;
    bool any_idle = s->eviction->any_idle;
    if (any_idle || !s->eviction->may_evict) {
        /* no time-dependent eviction: the room tree's root (books.c) */
#ifndef NDEBUG
        struct thaw_err e;
        if (core_books_check_room(s, &e) != 0) {
            fprintf(stderr, "thaw core: books differ: %s\n", e.msg);
            abort();
        }
#endif
        return core_room_max(s);
    }
    {
        memset(s->room, 0, (size_t)(G > 0 ? G : 1) * sizeof *s->room);
        for (size_t i = 0; s->eviction->may_evict && i < s->live_count; i++) {
            const struct core_inst *in = &s->insts[s->live[i]];
            if (core_inst_idle(in) && s->eviction->may_evict(s, in))
                for (int k = 0; k < in->tp; k++)
                    s->room[in->gang[k]] += in->vram_bytes;
        }
    }
    /* Stop once the bound reaches the largest model: every comparison
     * against it then comes out as against the exact maximum. This loop
     * runs after every event while jobs wait, so the load limits (the
     * usual reason a GPU is out) are tested first. */
    uint64_t enough = s->class_count ? s->class_need[s->class_count - 1] : 0, best = 0;
    int per_gpu = sp->policy.max_loads_per_gpu;
    for (int g = 0; g < G && best < enough; g++) {
        const struct core_gpu_state *gs = &s->gpus[g];
        if (per_gpu > 0 && gs->loads >= per_gpu) continue;
        if (!core_gpu_allowed(s, g)) continue;
        uint64_t room = core_gpu_free(s, g) + (any_idle ? gs->idle_bytes : s->room[g]);
        if (room > best) best = room;
    }
    return best;
}

static void start_jobs(struct core_sched *s)
{
    /* Head-of-line: jobs are tried in queue order and one that cannot start
     * does not block the ones behind it. After any start the pass repeats,
     * since an eviction may have left room for a job skipped earlier. */
    bool progress = true;
    while (progress && !s->oom && s->job_count > 0) {
        progress = false;
        uint64_t bound = room_bound(s), least = UINT64_MAX;
        for (size_t k = 0; k < s->class_count && least == UINT64_MAX; k++)
            if (s->class_jobs[k]) least = s->class_need[k];
        if (least > bound) break; /* no job can start: each would be passed by */
        size_t i = 0;
        while (i < s->job_count && !s->oom) {
            if (core_model_need(s, s->jobs[i].model) > bound) {
                i++;
            } else if (try_start(s, i)) {
                progress = true;
                bound = room_bound(s);
            } else {
                i++;
            }
        }
    }
}

/* ---- requests --------------------------------------------------------------------- */

static void dispatch_model(struct core_sched *s, int m)
{
    struct core_model_state *ms = &s->models[m];
    struct core_waitq *q = &ms->wait;
    while (q->len > 0) {
        if (ms->cand_root == SIZE_MAX) return;
        size_t idx = s->balancer->pick(s, m);
        struct core_wait w = waitq_pop(s, m);
        struct core_inst *in = &s->insts[idx];
        core_books_out(s, in);
        core_inst_reqs(in)[in->outstanding++] = w.request;
        in->last_used_ns = s->now;
        core_books_in(s, in);
        struct core_action *a = emit_new(s, CORE_ACT_DISPATCH);
        if (!a) return;
        a->request = w.request;
        a->instance = in->id;
        a->load = in->load;
        a->model = m;
        a->gpu = in->gpu;
        a->node = s->spec->gpus[in->gpu].node;
        a->cold = w.cold;
        core_gang_act(a, in);
    }
}

/* Cold when it cannot be served now and a serving load of its model is
 * queued or in flight (core_job_queue marks the rest when one is queued). */
static bool cold_now(const struct core_sched *s, int m)
{
    struct core_model_count c;
    core_model_count(s, m, &c);
    return c.ready_free == 0 && c.loading + c.queued > 0;
}

static void demand(struct core_sched *s)
{
    for (int m = next_waiting(s, s->dirty_demand, s->dirty_demand_sum, 0); m >= 0;
         m = next_waiting(s, s->dirty_demand, s->dirty_demand_sum, m + 1)) {
        if (s->models[m].broken) continue;
        struct core_model_count c;
        core_model_count(s, m, &c);
        if (c.loading + c.queued == 0 && c.ready + c.loading + c.queued < core_model_max(s, m))
            core_job_queue(s, m, CORE_REASON_DEMAND, false);
    }
}

/* ---- wake-ups ------------------------------------------------------------------------ */

static void schedule_wake(struct core_sched *s)
{
    int64_t next = s->next_autoscale_ns;
    /* A queued load may fit once the eviction policy lets an idle instance
     * go (keep_alive: idle long enough), which no event announces. */
    if (s->job_count > 0 && s->eviction->evictable_at_ns) {
        for (size_t i = 0; i < s->live_count; i++) {
            const struct core_inst *in = &s->insts[s->live[i]];
            if (!core_inst_idle(in)) continue;
            int64_t t = s->eviction->evictable_at_ns(s, in);
            if (t > s->now && t < next) next = t;
        }
    }
    if (next == CORE_NO_TIME) return;
    if (s->wake_pending_ns > s->now && s->wake_pending_ns <= next) return;
    s->wake_pending_ns = next;
    struct core_action a = {.kind = CORE_ACT_WAKE_AT, .gpu = -1, .node = -1, .model = -1};
    a.wake_ns = next;
    core_emit(s, &a);
}

static void pump(struct core_sched *s)
{
    for (int m = next_waiting(s, s->dirty_dispatch, s->dirty_dispatch_sum, 0); m >= 0;
         m = next_waiting(s, s->dirty_dispatch, s->dirty_dispatch_sum, m + 1))
        dispatch_model(s, m);
    /* every model is now dispatched as far as it goes */
    dirty_clear(s, s->dirty_dispatch, s->dirty_dispatch_sum);
    core_autoscale_run(s);
    demand(s);
    dirty_clear(s, s->dirty_demand, s->dirty_demand_sum);
    start_jobs(s);
    core_shm_start_fills(s);
    core_disk_start_fills(s);
    schedule_wake(s);
}

/* ---- faults ---------------------------------------------------------------------------- */

/* Fails every live instance on a GPU with dead[g] set, then promotes hot
 * standbys, queues replacements and requeues the lost requests. */
static void fail_gpus(struct core_sched *s, const unsigned char *dead)
{
    const struct core_spec *sp = s->spec;
    size_t M = (size_t)(sp->model_count > 0 ? sp->model_count : 1);
    int *lost = calloc(M, sizeof *lost);
    size_t *victims = malloc((s->live_count ? s->live_count : 1) * sizeof *victims);
    if (!lost || !victims) {
        s->oom = true;
        free(lost);
        free(victims);
        return;
    }
    size_t nv = 0;
    for (size_t i = 0; i < s->live_count; i++)
        if (core_gang_any(&s->insts[s->live[i]], dead)) victims[nv++] = s->live[i];

    for (size_t v = 0; v < nv; v++) {
        struct core_inst *in = &s->insts[victims[v]];
        int node = sp->gpus[in->gpu].node;
        struct core_action a = {.instance = in->id, .load = in->load, .model = in->model};
        a.gpu = in->gpu;
        a.node = node;
        a.reason = in->reason;
        core_gang_act(&a, in);
        if (in->state == CORE_INST_LOADING && in->waking) core_sleep_load_done(s, in);
        if (in->state == CORE_INST_LOADING) {
            a.kind = CORE_ACT_CANCEL_LOAD;
            a.vram_bytes = sp->models[in->model].vram_bytes;
            core_emit(s, &a);
            for (int k = 0; k < in->tp; k++)
                s->gpus[in->gang[k]].loads--;
            s->nodes[node].loads--;
            core_node_touch(s, node);
        } else {
            a.kind = CORE_ACT_REQUEST_REQUEUED;
            for (int r = 0; r < in->outstanding; r++) {
                a.request = core_inst_reqs(in)[r];
                core_emit(s, &a);
            }
        }
        if (!in->hot) lost[in->model]++;
        core_books_out(s, in);
        release(s, in);
        in->state = CORE_INST_FAILED;
        live_remove(s, victims[v]);
        emit_state(s, victims[v]);
    }
    if (s->peer_copy_count) core_peer_after_fault(s);

    for (int m = 0; m < sp->model_count; m++) {
        const struct core_model_spec *ms = &sp->models[m];
        if (lost[m] > 0 && ms->standby == CORE_STANDBY_HOT) {
            /* promote the surviving hot standby (READY first, else LOADING) */
            size_t pick = SIZE_MAX;
            const struct core_model_state *mst = &s->models[m];
            for (size_t i = 0; i < mst->live_count; i++) {
                const struct core_inst *in = &s->insts[mst->live[i]];
                if (!in->hot) continue;
                if (pick == SIZE_MAX ||
                    (in->state == CORE_INST_READY && s->insts[pick].state != CORE_INST_READY))
                    pick = mst->live[i];
            }
            if (pick != SIZE_MAX) {
                core_books_out(s, &s->insts[pick]);
                s->insts[pick].hot = false;
                core_books_in(s, &s->insts[pick]);
                s->insts[pick].reason = CORE_REASON_FAILOVER;
                emit_state(s, pick);
                lost[m]--;
            }
        }
        if (s->models[m].broken) continue;
        struct core_model_count c;
        core_model_count(s, m, &c);
        while (lost[m] > 0 && c.ready + c.loading + c.queued < ms->replicas_min) {
            core_job_queue(s, m, CORE_REASON_FAILOVER, false);
            c.queued++;
            lost[m]--;
        }
        if (ms->standby == CORE_STANDBY_HOT && c.hot == 0)
            core_job_queue(s, m, CORE_REASON_STANDBY, true);
    }

    /* requeue to the head of each model's wait queue, keeping their order:
     * walk the victims backwards and push each at the front */
    for (size_t v = nv; v-- > 0;) {
        const struct core_inst *in = &s->insts[victims[v]];
        if (in->outstanding == 0) continue;
        bool cold = cold_now(s, in->model);
        for (int r = in->outstanding; r-- > 0;) {
            struct core_wait w = {core_inst_reqs_c(in)[r], cold};
            waitq_push_front(s, in->model, w);
        }
    }
    for (size_t v = 0; v < nv; v++)
        s->insts[victims[v]].outstanding = 0;
    free(lost);
    free(victims);
}

/* ---- life cycle ----------------------------------------------------------------------- */

int core_sched_new(const struct core_spec *spec, struct core_sched **out, struct thaw_err *err)
{
    if (!out) return thaw_err_set(err, THAW_EINVAL, "core_sched_new: out is NULL");
    *out = NULL;
    if (!spec) return thaw_err_set(err, THAW_EINVAL, "core_sched_new: spec is NULL");
    if (spec->node_count < 0 || spec->gpu_count < 0 || spec->model_count < 0 ||
        spec->workload_count < 0 || (spec->node_count && !spec->nodes) ||
        (spec->gpu_count && !spec->gpus) || (spec->model_count && !spec->models) ||
        (spec->workload_count && !spec->workloads))
        return thaw_err_set(err, THAW_EINVAL, "core_sched_new: inconsistent spec counts");
    for (int g = 0; g < spec->gpu_count; g++)
        if (spec->gpus[g].node < 0 || spec->gpus[g].node >= spec->node_count)
            return thaw_err_set(err, THAW_EINVAL, "gpu %d names node %d of %d", g,
                                spec->gpus[g].node, spec->node_count);
    for (int w = 0; w < spec->workload_count; w++)
        if (spec->workloads[w].model < 0 || spec->workloads[w].model >= spec->model_count)
            return thaw_err_set(err, THAW_EINVAL, "workload %d names model %d of %d", w,
                                spec->workloads[w].model, spec->model_count);
    const struct core_policy_spec *p = &spec->policy;
    const struct core_autoscale_policy *autoscaler = core_autoscale_policy_of(p);
    assert(autoscaler); /* a bool selects: both entries exist */
    if (autoscaler->scale && p->autoscale_period_ns <= 0)
        return thaw_err_set(err, THAW_EINVAL, "autoscaler period must be > 0");

    struct core_sched *s = calloc(1, sizeof *s);
    if (!s) return thaw_err_set(err, THAW_ENOMEM, "core_sched_new: out of memory");
    s->spec = spec;
    s->queue = core_queue_policy_find(p->queue);
    s->placement = core_placement_policy_find(p->placement);
    s->eviction = core_eviction_policy_find(p->eviction);
    s->shm = core_shm_policy_find(p->shm);
    s->balancer = core_balancer_policy_find(p->balancer);
    s->autoscaler = autoscaler;
    const char *bad_kind = !s->queue       ? "queue"
                           : !s->placement ? "placement"
                           : !s->eviction  ? "eviction"
                           : !s->shm       ? "shm"
                           : !s->balancer  ? "balancer"
                                           : NULL;
    if (bad_kind) {
        const char *name = !s->queue       ? p->queue
                           : !s->placement ? p->placement
                           : !s->eviction  ? p->eviction
                           : !s->shm       ? p->shm
                                           : p->balancer;
        free(s);
        return thaw_err_set(err, THAW_EINVAL, "unknown %s policy \"%.*s\"", bad_kind, CORE_NAME_MAX,
                            name);
    }
    size_t G = (size_t)spec->gpu_count, N = (size_t)spec->node_count, M = (size_t)spec->model_count;
    s->gpus = calloc(G ? G : 1, sizeof *s->gpus);
    s->nodes = calloc(N ? N : 1, sizeof *s->nodes);
    s->models = calloc(M ? M : 1, sizeof *s->models);
    s->model_words = M / 64 + 1;
    s->waiting = calloc(s->model_words, sizeof *s->waiting);
    s->dirty_dispatch = calloc(s->model_words, sizeof *s->dirty_dispatch);
    s->dirty_demand = calloc(s->model_words, sizeof *s->dirty_demand);
    s->sum_words = s->model_words / 64 + 1;
    s->node_words = N / 64 + 1;
    s->shm_due = calloc(s->node_words, sizeof *s->shm_due);
    s->disk_due = calloc(s->node_words, sizeof *s->disk_due);
    s->dirty_dispatch_sum = calloc(s->sum_words, sizeof *s->dirty_dispatch_sum);
    s->dirty_demand_sum = calloc(s->sum_words, sizeof *s->dirty_demand_sum);
    s->class_need = calloc(M ? M : 1, sizeof *s->class_need);
    s->class_jobs = calloc(M ? M : 1, sizeof *s->class_jobs);
    s->need_class = calloc(M ? M : 1, sizeof *s->need_class);
    s->ev_cand = malloc(sizeof *s->ev_cand); /* grown by evict.c */
    s->ev_cand_cap = 1;
    s->ev_freed = calloc(G ? G : 1, sizeof *s->ev_freed);
    s->room = calloc(G ? G : 1, sizeof *s->room);
    s->ev_taken = calloc(M ? M : 1, sizeof *s->ev_taken);
    bool ok = s->gpus && s->nodes && s->models && s->waiting && s->dirty_dispatch &&
              s->dirty_dispatch_sum && s->dirty_demand_sum && s->shm_due && s->disk_due &&
              s->dirty_demand && s->class_need && s->class_jobs && s->need_class && s->ev_cand &&
              s->ev_freed && s->ev_taken && s->room;
    for (size_t n = 0; ok && n < N; n++) {
        s->nodes[n].shm = calloc(M ? M : 1, sizeof *s->nodes[n].shm);
        ok = s->nodes[n].shm != NULL;
    }
    ok = ok && core_room_init(s) == 0;
    int lrc = ok ? core_ladder_init(s) : 0;
    if (lrc == THAW_EINVAL) {
        core_sched_free(s);
        return thaw_err_set(err, THAW_EINVAL, "unknown disk_cache admission policy");
    }
    ok = ok && lrc == 0;
    if (!ok) {
        core_sched_free(s);
        return thaw_err_set(err, THAW_ENOMEM, "core_sched_new: out of memory");
    }
    for (size_t m = 0; m < M; m++) {
        s->models[m].concurrency = 1;
        s->models[m].cand_root = SIZE_MAX;
    }
    /* the distinct vram sizes, ascending (insertion: few models per size) */
    for (size_t m = 0; m < M; m++) {
        uint64_t v = core_model_share_bytes(&spec->models[m]);
        size_t k = 0;
        while (k < s->class_count && s->class_need[k] < v)
            k++;
        if (k == s->class_count || s->class_need[k] != v) {
            memmove(&s->class_need[k + 1], &s->class_need[k],
                    (s->class_count - k) * sizeof *s->class_need);
            s->class_need[k] = v;
            s->class_count++;
        }
    }
    for (size_t m = 0; m < M; m++) {
        size_t lo = 0, hi = s->class_count;
        while (lo + 1 < hi) {
            size_t mid = (lo + hi) / 2;
            if (s->class_need[mid] <= core_model_share_bytes(&spec->models[m]))
                lo = mid;
            else
                hi = mid;
        }
        s->need_class[m] = (int)lo;
    }
    for (int w = 0; w < spec->workload_count; w++) {
        struct core_model_state *ms = &s->models[spec->workloads[w].model];
        if (spec->workloads[w].concurrency > ms->concurrency)
            ms->concurrency = spec->workloads[w].concurrency;
    }
    s->rng = spec->seed;
    s->next_autoscale_ns = CORE_NO_TIME;
    s->wake_pending_ns = INT64_MIN;
    *out = s;
    return 0;
}

void core_sched_free(struct core_sched *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->inst_count; i++)
        free(s->insts[i].reqs);
    if (s->nodes)
        for (int n = 0; n < s->spec->node_count; n++)
            free(s->nodes[n].shm);
    core_ladder_free(s);
    if (s->models)
        for (int m = 0; m < s->spec->model_count; m++) {
            free(s->models[m].wait.items);
            free(s->models[m].live);
            free(s->models[m].sleepers);
        }
    free(s->waiting);
    free(s->dirty_dispatch);
    free(s->dirty_demand);
    free(s->dirty_dispatch_sum);
    free(s->shm_due);
    free(s->disk_due);
    free(s->dirty_demand_sum);
    free(s->class_need);
    free(s->class_jobs);
    free(s->need_class);
    free(s->ev_cand);
    free(s->ev_freed);
    free(s->room);
    free(s->ev_taken);
    free(s->insts);
    free(s->live);
    free(s->load_inst);
    free(s->jobs);
    free(s->acts);
    core_room_free(s);
    free(s->gpus);
    free(s->nodes);
    free(s->models);
    free(s);
}

int core_sched_start(struct core_sched *s, int64_t t_ns, struct thaw_err *err)
{
    if (!s) return thaw_err_set(err, THAW_EINVAL, "core_sched_start: NULL scheduler");
    if (s->started) return thaw_err_set(err, THAW_ESTATE, "core_sched_start called twice");
    const struct core_spec *sp = s->spec;
    /* Check the initial placements fit before changing anything. */
    uint64_t *want = calloc((size_t)(sp->gpu_count > 0 ? sp->gpu_count : 1), sizeof *want);
    if (!want) return thaw_err_set(err, THAW_ENOMEM, "core_sched_start: out of memory");
    for (int m = 0; m < sp->model_count; m++) {
        const struct core_model_spec *ms = &sp->models[m];
        if (ms->initial_gpu_count > 0 && core_model_tp(ms) > 1) {
            free(want);
            return thaw_err_set(err, THAW_EINVAL,
                                "model %s: a tp %d model cannot be placed at start", ms->name,
                                ms->tp);
        }
        for (int i = 0; i < ms->initial_gpu_count; i++) {
            int g = ms->initial_gpus ? ms->initial_gpus[i] : -1;
            if (g < 0 || g >= sp->gpu_count) {
                free(want);
                return thaw_err_set(err, THAW_EINVAL, "model %s: initial GPU %d out of range",
                                    ms->name, g);
            }
            want[g] += ms->vram_bytes;
            if (want[g] > sp->gpus[g].vram_bytes) {
                free(want);
                return thaw_err_set(err, THAW_EINVAL,
                                    "initial placements over-commit GPU %s's VRAM",
                                    sp->gpus[g].name);
            }
        }
    }
    free(want);

    s->started = true;
    s->now = t_ns;
    s->act_count = 0;
    for (int m = 0; m < sp->model_count; m++) {
        const struct core_model_spec *ms = &sp->models[m];
        for (int i = 0; i < ms->initial_gpu_count; i++) {
            size_t idx = inst_new(s, m, ms->initial_gpus[i], NULL, CORE_INST_READY,
                                  CORE_REASON_PREWARM, false);
            if (idx != SIZE_MAX) emit_state(s, idx);
        }
    }
    for (int n = 0; n < sp->node_count; n++)
        core_shm_preload(s, n);
    for (int n = 0; n < sp->node_count; n++)
        core_disk_preload(s, n);
    for (int m = 0; m < sp->model_count; m++) {
        struct core_model_count c;
        core_model_count(s, m, &c);
        for (int i = c.ready; i < sp->models[m].replicas_min; i++)
            core_job_queue(s, m, CORE_REASON_STANDBY, false);
    }
    for (int m = 0; m < sp->model_count; m++)
        if (sp->models[m].standby == CORE_STANDBY_HOT)
            core_job_queue(s, m, CORE_REASON_STANDBY, true);
    if (s->autoscaler->scale)
        s->next_autoscale_ns = core_time_add(t_ns, sp->policy.autoscale_period_ns);
    pump(s);
    if (s->oom) return thaw_err_set(err, THAW_ENOMEM, "scheduler out of memory");
    return 0;
}

static int validate(const struct core_sched *s, const struct core_event *ev, struct thaw_err *err)
{
    const struct core_spec *sp = s->spec;
    if (ev->t_ns < s->now)
        return thaw_err_set(err, THAW_EINVAL, "event at %lld ns goes back in time (now %lld)",
                            (long long)ev->t_ns, (long long)s->now);
    switch (ev->kind) {
    case CORE_EV_REQUEST_ARRIVED:
        if (ev->model < 0 || ev->model >= sp->model_count) break;
        return 0;
    case CORE_EV_REQUEST_FINISHED:
        if (ev->instance == 0 || ev->instance > s->inst_count) break;
        return 0;
    case CORE_EV_LOAD_FINISHED:
        if (ev->load == 0 || ev->load > s->load_count) break;
        return 0;
    case CORE_EV_SHM_FILL_FINISHED:
        if (ev->node < 0 || ev->node >= sp->node_count || ev->model < 0 ||
            ev->model >= sp->model_count)
            break;
        return 0;
    case CORE_EV_GPU_FAILED:
    case CORE_EV_GPU_RECOVERED:
        if (ev->gpu < 0 || ev->gpu >= sp->gpu_count) break;
        return 0;
    case CORE_EV_NODE_FAILED:
    case CORE_EV_NODE_RECOVERED:
        if (ev->node < 0 || ev->node >= sp->node_count) break;
        return 0;
    case CORE_EV_TICK:
        return 0;
    case CORE_EV_DISK_FILL_FINISHED:
        if (ev->node < 0 || ev->node >= sp->node_count || ev->model < 0 ||
            ev->model >= sp->model_count)
            break;
        return 0;
    default:
        return thaw_err_set(err, THAW_EINVAL, "unknown event kind %d", (int)ev->kind);
    }
    return thaw_err_set(err, THAW_EINVAL,
                        "%s names an unknown model, GPU, node, load or instance "
                        "(model=%d gpu=%d node=%d load=%llu instance=%llu)",
                        core_event_kind_name(ev->kind), ev->model, ev->gpu, ev->node,
                        (unsigned long long)ev->load, (unsigned long long)ev->instance);
}

static void on_request_finished(struct core_sched *s, const struct core_event *ev)
{
    struct core_inst *in = &s->insts[ev->instance - 1];
    for (int r = 0; r < in->outstanding; r++) {
        uint64_t *reqs = core_inst_reqs(in);
        if (reqs[r] != ev->request) continue;
        core_books_out(s, in);
        memmove(&reqs[r], &reqs[r + 1], (size_t)(in->outstanding - r - 1) * sizeof *reqs);
        in->outstanding--;
        in->last_used_ns = s->now;
        core_books_in(s, in);
        return;
    }
}

static void on_load_finished(struct core_sched *s, const struct core_event *ev)
{
    size_t idx = s->load_inst[ev->load - 1];
    struct core_inst *in = &s->insts[idx];
    /* cancelled, or an earlier load of an instance since woken: ignored */
    if (in->state != CORE_INST_LOADING || in->load != ev->load) return;
    if (in->waking) core_sleep_load_done(s, in); /* its host copy is freed */
    if (s->peer_copy_count) core_peer_load_end(s, ev->load);
    for (int k = 0; k < in->tp; k++)
        s->gpus[in->gang[k]].loads--;
    s->nodes[s->spec->gpus[in->gpu].node].loads--;
    core_node_touch(s, s->spec->gpus[in->gpu].node);
    core_books_out(s, in);
    if (ev->ok) {
        in->state = CORE_INST_READY;
        in->loaded_ns = s->now;
        in->last_used_ns = s->now;
        core_books_in(s, in);
    } else {
        /* Not retried: a corrupt file would fail forever. See core.h. */
        release(s, in);
        in->state = CORE_INST_FAILED;
        live_remove(s, idx);
        s->models[in->model].broken = true;
    }
    emit_state(s, idx);
}

int core_sched_feed(struct core_sched *s, const struct core_event *ev, struct thaw_err *err)
{
    if (!s || !ev) return thaw_err_set(err, THAW_EINVAL, "core_sched_feed: NULL argument");
    if (!s->started) return thaw_err_set(err, THAW_ESTATE, "core_sched_feed before start");
    int rc = validate(s, ev, err);
    if (rc) return rc;
    const struct core_spec *sp = s->spec;
    s->act_count = 0;
    s->now = ev->t_ns;
    switch (ev->kind) {
    case CORE_EV_REQUEST_ARRIVED: {
        struct core_wait w = {ev->request, cold_now(s, ev->model)};
        waitq_push_back(s, ev->model, w);
        break;
    }
    case CORE_EV_REQUEST_FINISHED:
        on_request_finished(s, ev);
        break;
    case CORE_EV_LOAD_FINISHED:
        on_load_finished(s, ev);
        break;
    case CORE_EV_SHM_FILL_FINISHED:
        core_shm_fill_done(s, ev->node, ev->model, ev->ok);
        break;
    case CORE_EV_GPU_FAILED:
        if (!s->gpus[ev->gpu].failed) {
            unsigned char dead[sp->gpu_count];
            memset(dead, 0, sizeof dead);
            dead[ev->gpu] = 1;
            s->gpus[ev->gpu].failed = true;
            core_gpu_touch(s, ev->gpu);
            fail_gpus(s, dead);
        }
        break;
    case CORE_EV_NODE_FAILED:
        if (!s->nodes[ev->node].failed) {
            unsigned char dead[sp->gpu_count > 0 ? sp->gpu_count : 1];
            memset(dead, 0, sizeof dead);
            for (int g = 0; g < sp->gpu_count; g++)
                dead[g] = sp->gpus[g].node == ev->node;
            s->nodes[ev->node].failed = true;
            core_node_touch(s, ev->node);
            core_shm_node_failed(s, ev->node);
            core_sleep_node_failed(s, ev->node);
            core_disk_node_failed(s, ev->node);
            fail_gpus(s, dead);
        }
        break;
    case CORE_EV_GPU_RECOVERED:
        s->gpus[ev->gpu].failed = false;
        core_gpu_touch(s, ev->gpu);
        break;
    case CORE_EV_NODE_RECOVERED:
        if (s->nodes[ev->node].failed) {
            s->nodes[ev->node].failed = false;
            core_node_touch(s, ev->node);
            core_fill_due(s->shm_due, ev->node);
            core_fill_due(s->disk_due, ev->node);
            core_shm_preload(s, ev->node);
            core_disk_preload(s, ev->node);
        }
        break;
    case CORE_EV_TICK:
        break;
    case CORE_EV_DISK_FILL_FINISHED:
        core_disk_fill_done(s, ev->node, ev->model, ev->ok);
        break;
    }
    pump(s);
    if (s->oom) return thaw_err_set(err, THAW_ENOMEM, "scheduler out of memory");
    return 0;
}

size_t core_sched_actions(const struct core_sched *s, const struct core_action **out)
{
    if (out) *out = s ? s->acts : NULL;
    return s ? s->act_count : 0;
}

void core_sched_stats(const struct core_sched *s, struct core_stats *out)
{
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!s) return;
    *out = s->stats;
    out->requests_waiting = 0;
    for (int m = 0; m < s->spec->model_count; m++)
        out->requests_waiting += s->models[m].wait.len;
}

size_t core_sched_queued_count(const struct core_sched *s)
{
    return s ? s->job_count : 0;
}

void core_sched_queued(const struct core_sched *s, size_t i, struct core_queued_job *out)
{
    assert(s && i < s->job_count && out);
    const struct core_job *j = &s->jobs[i];
    *out = (struct core_queued_job){.model = j->model,
                                    .reason = j->reason,
                                    .hot = j->hot,
                                    .priority = j->priority,
                                    .enqueued_ns = j->enqueued_ns,
                                    .deadline_ns = j->deadline_ns};
}

void core_sched_waiting(const struct core_sched *s,
                        void (*fn)(uint64_t request, int model, bool cold, void *ctx), void *ctx)
{
    if (!s || !fn) return;
    for (int m = 0; m < s->spec->model_count; m++) {
        const struct core_waitq *q = &s->models[m].wait;
        for (size_t i = 0; i < q->len; i++) {
            const struct core_wait *w = &q->items[(q->head + i) % q->cap];
            fn(w->request, m, w->cold, ctx);
        }
    }
}

/* ---- the incremental bookkeeping, recounted ----------------------------------------- */

int core_sched_check_books(const struct core_sched *s, struct thaw_err *err)
{
    const struct core_spec *sp = s->spec;
    for (int m = 0; m < sp->model_count; m++) {
        const struct core_model_state *ms = &s->models[m];
        size_t k = 0;
        for (size_t i = 0; i < s->live_count; i++) {
            if (s->insts[s->live[i]].model != m) continue;
            if (k >= ms->live_count || ms->live[k] != s->live[i])
                return thaw_err_set(err, THAW_EINVARIANT, "model '%s': live list differs",
                                    s->spec->models[m].name);
            k++;
        }
        if (k != ms->live_count)
            return thaw_err_set(err, THAW_EINVARIANT, "model '%s': live list too long",
                                s->spec->models[m].name);
        int jobs = 0, hot = 0;
        for (size_t j = 0; j < s->job_count; j++) {
            if (s->jobs[j].model != m) continue;
            jobs++;
            hot += s->jobs[j].hot;
        }
        if (jobs != ms->jobs || hot != ms->jobs_hot)
            return thaw_err_set(err, THAW_EINVARIANT,
                                "model '%s': %d jobs (%d hot), counted %d (%d)",
                                s->spec->models[m].name, jobs, hot, ms->jobs, ms->jobs_hot);
        bool bit = (s->waiting[m / 64] >> (m % 64)) & 1;
        if (bit != (ms->wait.len > 0))
            return thaw_err_set(err, THAW_EINVARIANT, "model '%s': waiting bit %d, %zu waiting",
                                s->spec->models[m].name, bit, ms->wait.len);
        int brc = core_books_check_model(s, m, err);
        if (brc) return brc;
        /* a waiting model the passes will skip must be one they would leave */
        struct core_model_count c;
        core_model_count(s, m, &c);
        if (ms->wait.len > 0 && !((s->dirty_dispatch[m / 64] >> (m % 64)) & 1) && c.ready_free > 0)
            return thaw_err_set(err, THAW_EINVARIANT,
                                "model '%s': requests wait by a free instance, not marked",
                                s->spec->models[m].name);
        if (ms->wait.len > 0 && !ms->broken && !((s->dirty_demand[m / 64] >> (m % 64)) & 1) &&
            c.loading + c.queued == 0 && c.ready + c.loading + c.queued < core_model_max(s, m))
            return thaw_err_set(err, THAW_EINVARIANT, "model '%s': needs a demand load, not marked",
                                s->spec->models[m].name);
    }
    for (int g = 0; g < sp->gpu_count; g++) {
        uint64_t idle = 0;
        for (size_t i = 0; i < s->live_count; i++) {
            const struct core_inst *in = &s->insts[s->live[i]];
            if (core_inst_on(in, g) && core_inst_idle(in)) idle += in->vram_bytes;
        }
        if (idle != s->gpus[g].idle_bytes)
            return thaw_err_set(err, THAW_EINVARIANT, "gpu %d: idle bytes %llu, counted %llu", g,
                                (unsigned long long)idle,
                                (unsigned long long)s->gpus[g].idle_bytes);
    }
    int rrc = core_books_check_room(s, err);
    if (rrc) return rrc;
    /* a node the fill passes will skip must be one they would leave */
    for (int n = 0; n < sp->node_count; n++) {
        const struct core_node_state *ns = &s->nodes[n];
        bool shm_due = (s->shm_due[n / 64] >> (n % 64)) & 1;
        bool disk_due = (s->disk_due[n / 64] >> (n % 64)) & 1;
        if (!shm_due && !ns->failed && ns->shm_filling == 0 && ns->shm_queued > 0)
            return thaw_err_set(err, THAW_EINVARIANT, "node %d: an shm fill can start, not due", n);
        if (!disk_due && ns->disk && !ns->failed && ns->disk_filling == 0 && ns->disk_queued > 0)
            return thaw_err_set(err, THAW_EINVARIANT, "node %d: a disk fill can start, not due", n);
    }
    for (int n = 0; n < sp->node_count; n++) {
        int queued = 0, filling = 0;
        for (int m = 0; m < sp->model_count; m++) {
            queued += s->nodes[n].shm[m].state == CORE_SHM_QUEUED;
            filling += s->nodes[n].shm[m].state == CORE_SHM_FILLING;
        }
        if (queued != s->nodes[n].shm_queued || filling != s->nodes[n].shm_filling)
            return thaw_err_set(err, THAW_EINVARIANT,
                                "node %d: shm %d queued %d filling, counted %d %d", n, queued,
                                filling, s->nodes[n].shm_queued, s->nodes[n].shm_filling);
    }
    return 0;
}

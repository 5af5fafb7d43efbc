/* queue.c - the cold-start queue and its orderings (fifo, priority, edf, sjf).
 * Aging lowers a job's score by aging_per_s for every second it waits. All
 * jobs age at the same rate, so score(now) = base + aging * enqueued_s - aging
 * * now: the order between queued jobs never changes with time, only where a
 * new job lands. The queue is therefore a sorted array (binary insertion,
 * deterministic ties on seq) and aging needs no timer. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_d(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static double aged(double base, const struct core_job *j, double aging_per_s)
{
    if (aging_per_s == 0.0) return base;
    return base + aging_per_s * ((double)j->enqueued_ns / 1e9);
}

static double deadline_s(const struct core_job *j)
{
    return j->deadline_ns == CORE_NO_TIME ? 1e300 : (double)j->deadline_ns / 1e9;
}

static int tail(const struct core_job *a, const struct core_job *b)
{
    int c = cmp_i64(a->enqueued_ns, b->enqueued_ns);
    if (c) return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

/* fifo: order of queueing (aging changes nothing: every job ages alike). */
static int fifo_cmp(const struct core_job *a, const struct core_job *b, double aging)
{
    (void)aging;
    return tail(a, b);
}

/* priority: higher priority, then earlier deadline, then earlier arrival. */
static int priority_cmp(const struct core_job *a, const struct core_job *b, double aging)
{
    int c = cmp_d(aged(-(double)a->priority, a, aging), aged(-(double)b->priority, b, aging));
    if (c) return c;
    c = cmp_i64(a->deadline_ns, b->deadline_ns);
    if (c) return c;
    return tail(a, b);
}

/* edf: earliest absolute deadline (enqueued + the model's deadline); jobs
 * without one go last; then higher priority, then arrival. */
static int edf_cmp(const struct core_job *a, const struct core_job *b, double aging)
{
    int c = cmp_d(aged(deadline_s(a), a, aging), aged(deadline_s(b), b, aging));
    if (c) return c;
    if (a->priority != b->priority) return a->priority > b->priority ? -1 : 1;
    return tail(a, b);
}

/* sjf's key, set when a job is queued (it costs a pass over every GPU): the
 * expected lone load time from the best source the model has now, healthy
 * GPUs first, any GPU when none is. */
static void sjf_prepare(const struct core_sched *s, struct core_job *job)
{
    int64_t best = -1;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (int g = 0; g < s->spec->gpu_count; g++) {
            if (pass == 0 && !core_gpu_healthy(s, g)) continue;
            bool shm = core_shm_resident(s, s->spec->gpus[g].node, job->model);
            int64_t t = core_spec_lone_load_ns(s->spec, job->model, g, shm);
            if (t >= 0 && (best < 0 || t < best)) best = t;
        }
    }
    job->est_s = best < 0 ? 1e300 : (double)best / 1e9;
}

/* sjf: shortest expected lone load time (from the best source the model has
 * when queued), then higher priority, then arrival. */
static int sjf_cmp(const struct core_job *a, const struct core_job *b, double aging)
{
    int c = cmp_d(aged(a->est_s, a, aging), aged(b->est_s, b, aging));
    if (c) return c;
    if (a->priority != b->priority) return a->priority > b->priority ? -1 : 1;
    return tail(a, b);
}

const struct core_queue_policy core_queue_policies[] = {
    {.name = "fifo", .cmp = fifo_cmp},
    {.name = "priority", .cmp = priority_cmp},
    {.name = "edf", .cmp = edf_cmp},
    {.name = "sjf", .cmp = sjf_cmp, .prepare = sjf_prepare},
    {.name = NULL},
};

const struct core_queue_policy *core_queue_policy_find(const char *name)
{
    for (const struct core_queue_policy *p = core_queue_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

int core_queue_insert(struct core_sched *s, const struct core_job *job)
{
    if (s->job_count == s->job_cap) {
        size_t cap = s->job_cap ? s->job_cap * 2 : 16;
        struct core_job *grown = realloc(s->jobs, cap * sizeof *grown);
        if (!grown) {
            s->oom = true;
            return THAW_ENOMEM;
        }
        s->jobs = grown;
        s->job_cap = cap;
    }
    double aging = s->spec->policy.aging_per_s;
    size_t lo = 0, hi = s->job_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->queue->cmp(&s->jobs[mid], job, aging) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&s->jobs[lo + 1], &s->jobs[lo], (s->job_count - lo) * sizeof *s->jobs);
    s->jobs[lo] = *job;
    s->job_count++;
    s->models[job->model].jobs++;
    if (job->hot) s->models[job->model].jobs_hot++;
    s->class_jobs[s->need_class[job->model]]++;
    core_model_touch(s, job->model);
    return 0;
}

void core_queue_remove(struct core_sched *s, size_t pos)
{
    int m = s->jobs[pos].model;
    s->models[m].jobs--;
    if (s->jobs[pos].hot) s->models[m].jobs_hot--;
    s->class_jobs[s->need_class[m]]--;
    core_model_touch(s, m);
    memmove(&s->jobs[pos], &s->jobs[pos + 1], (s->job_count - pos - 1) * sizeof *s->jobs);
    s->job_count--;
}

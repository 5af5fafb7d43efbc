/* schedule.c - draws the exec driver's timetable (arrivals with service
 * times, fault injections) from GSL generators, one per source, seeded by
 * splitmix64 of (run seed, stream kind, index), so the timetable is a pure
 * function of the spec and the seed. */
#include "schedule.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct exec_rng {
    gsl_rng *r;
};

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t exec_stream_seed(uint64_t seed, int kind, int index)
{
    return splitmix64(splitmix64(seed ^ splitmix64((uint64_t)kind)) + (uint64_t)(int64_t)index);
}

int exec_rng_new(uint64_t seed, uint64_t stream, struct exec_rng **out)
{
    struct exec_rng *r = calloc(1, sizeof *r);
    if (!r) return THAW_ENOMEM;
    r->r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r->r) {
        free(r);
        return THAW_ENOMEM;
    }
    /* mt19937 treats seed 0 as its default seed 4357; mixing first keeps
     * streams apart even for seed 0. */
    gsl_rng_set(r->r, (unsigned long)splitmix64(seed ^ stream));
    *out = r;
    return 0;
}

void exec_rng_free(struct exec_rng *r)
{
    if (!r) return;
    gsl_rng_free(r->r);
    free(r);
}

double exec_rng_uniform(struct exec_rng *r)
{
    return gsl_rng_uniform(r->r);
}

static int64_t to_ns(double ns)
{
    if (!(ns > 0)) return 0; /* also NaN */
    if (ns > 9.0e18) return INT64_MAX / 2;
    return (int64_t)llround(ns);
}

int64_t exec_rng_draw(struct exec_rng *r, const struct core_dist *d)
{
    double mean = (double)d->mean_ns;
    switch (d->kind) {
    case CORE_DIST_FIXED:
        return d->mean_ns > 0 ? d->mean_ns : 0;
    case CORE_DIST_EXP:
        return to_ns(gsl_ran_exponential(r->r, mean));
    case CORE_DIST_LOGNORMAL: {
        /* mean m and cv: sigma^2 = ln(1 + cv^2), mu = ln m - sigma^2 / 2 */
        if (d->cv <= 0 || mean <= 0) return d->mean_ns > 0 ? d->mean_ns : 0;
        double s2 = log1p(d->cv * d->cv);
        return to_ns(gsl_ran_lognormal(r->r, log(mean) - s2 / 2, sqrt(s2)));
    }
    case CORE_DIST_GAMMA: {
        /* shape k = 1 / cv^2, scale theta = m cv^2 (mean k theta = m) */
        if (d->cv <= 0 || mean <= 0) return d->mean_ns > 0 ? d->mean_ns : 0;
        double k = 1.0 / (d->cv * d->cv);
        return to_ns(gsl_ran_gamma(r->r, k, mean / k));
    }
    case CORE_DIST_UNIFORM:
        if (d->hi_ns <= d->lo_ns) return d->lo_ns > 0 ? d->lo_ns : 0;
        return to_ns(gsl_ran_flat(r->r, (double)d->lo_ns, (double)d->hi_ns));
    }
    return d->mean_ns > 0 ? d->mean_ns : 0;
}

struct builder {
    struct exec_schedule *s;
    int arrival_cap, fault_cap, max_arrivals;
};

static int push_arrival(struct builder *b, int64_t t, int model, int workload)
{
    struct exec_schedule *s = b->s;
    if (s->arrival_count >= b->max_arrivals) return THAW_ERANGE;
    if (s->arrival_count == b->arrival_cap) {
        int cap = b->arrival_cap ? b->arrival_cap * 2 : 64;
        struct exec_arrival *g = realloc(s->arrivals, (size_t)cap * sizeof *g);
        if (!g) return THAW_ENOMEM;
        s->arrivals = g;
        b->arrival_cap = cap;
    }
    s->arrivals[s->arrival_count++] =
        (struct exec_arrival){.t_ns = t, .model = model, .workload = workload};
    return 0;
}

static int push_fault(struct builder *b, const struct exec_fault_ev *ev)
{
    struct exec_schedule *s = b->s;
    if (s->fault_count == b->fault_cap) {
        int cap = b->fault_cap ? b->fault_cap * 2 : 16;
        struct exec_fault_ev *g = realloc(s->faults, (size_t)cap * sizeof *g);
        if (!g) return THAW_ENOMEM;
        s->faults = g;
        b->fault_cap = cap;
    }
    s->faults[s->fault_count++] = *ev;
    return 0;
}

/* Stable order: time, then workload, then the order drawn (kept by
 * comparing the index stashed in service_ns before services are drawn). */
static int arrival_cmp(const void *pa, const void *pb)
{
    const struct exec_arrival *a = pa, *b = pb;
    if (a->t_ns != b->t_ns) return a->t_ns < b->t_ns ? -1 : 1;
    if (a->workload != b->workload) return a->workload < b->workload ? -1 : 1;
    return (a->service_ns > b->service_ns) - (a->service_ns < b->service_ns);
}

static int fault_cmp(const void *pa, const void *pb)
{
    const struct exec_fault_ev *a = pa, *b = pb;
    if (a->t_ns != b->t_ns) return a->t_ns < b->t_ns ? -1 : 1;
    if (a->fault != b->fault) return a->fault < b->fault ? -1 : 1;
    return (int)a->recover - (int)b->recover;
}

static int workload_arrivals(struct builder *b, const struct core_spec *spec, int w, uint64_t seed,
                             struct thaw_err *err)
{
    const struct core_workload_spec *wl = &spec->workloads[w];
    int rc = 0;
    switch (wl->arrivals) {
    case CORE_ARRIVAL_NONE:
        break;
    case CORE_ARRIVAL_TIMES:
    case CORE_ARRIVAL_TRACE:
        for (int i = 0; i < wl->time_count && rc == 0; i++)
            if (spec->duration_ns <= 0 || wl->times_ns[i] < spec->duration_ns)
                rc = push_arrival(b, wl->times_ns[i], wl->model, w);
        break;
    case CORE_ARRIVAL_BURSTS:
        for (int i = 0; i < wl->burst_count && rc == 0; i++)
            for (int k = 0; k < wl->bursts[i].count && rc == 0; k++)
                if (spec->duration_ns <= 0 || wl->bursts[i].at_ns < spec->duration_ns)
                    rc = push_arrival(b, wl->bursts[i].at_ns, wl->model, w);
        break;
    case CORE_ARRIVAL_POISSON: {
        int64_t end = wl->end_ns > 0 ? wl->end_ns : spec->duration_ns;
        if (spec->duration_ns > 0 && end > spec->duration_ns) end = spec->duration_ns;
        if (end <= 0)
            return thaw_err_set(err, THAW_EINVAL,
                                "workload %d: poisson arrivals need an end or run.duration", w);
        if (!(wl->rate_per_s > 0)) break;
        struct exec_rng *r;
        if (exec_rng_new(seed, exec_stream_seed(seed, EXEC_STREAM_ARRIVALS, w), &r) < 0)
            return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        double mean_gap_ns = 1e9 / wl->rate_per_s;
        double t = (double)wl->start_ns;
        for (;;) {
            t += gsl_ran_exponential(r->r, mean_gap_ns);
            if (t >= (double)end) break;
            rc = push_arrival(b, (int64_t)t, wl->model, w);
            if (rc < 0) break;
        }
        exec_rng_free(r);
        break;
    }
    }
    if (rc == THAW_ERANGE)
        return thaw_err_set(err, rc, "more than %d arrivals: shorten the run or lower the rate",
                            b->max_arrivals);
    if (rc < 0) return thaw_err_set(err, rc, "out of memory");
    return 0;
}

static int fault_events(struct builder *b, const struct core_spec *spec, int f, uint64_t seed,
                        int64_t horizon, struct thaw_err *err)
{
    const struct core_fault_spec *fs = &spec->faults[f];
    struct exec_fault_ev ev = {.node = fs->target == CORE_FAULT_NODE, .fault = f};
    ev.target = ev.node ? fs->node : fs->gpu;
    if (fs->at_ns >= 0) {
        if (spec->duration_ns > 0 && fs->at_ns >= spec->duration_ns) return 0;
        ev.t_ns = fs->at_ns;
        if (push_fault(b, &ev) < 0) goto oom;
        if (fs->recover_after_ns > 0) {
            ev.recover = true;
            ev.t_ns = fs->at_ns + fs->recover_after_ns;
            if (push_fault(b, &ev) < 0) goto oom;
        }
        return 0;
    }
    if (fs->mtbf_ns <= 0 || horizon <= 0) return 0;
    struct exec_rng *r;
    if (exec_rng_new(seed, exec_stream_seed(seed, EXEC_STREAM_FAULTS, f), &r) < 0) goto oom;
    double t = 0;
    int rc = 0;
    for (int n = 0; n < 100000 && rc == 0; n++) {
        t += gsl_ran_exponential(r->r, (double)fs->mtbf_ns);
        if (t >= (double)horizon) break;
        ev.recover = false;
        ev.t_ns = (int64_t)t;
        rc = push_fault(b, &ev);
        if (fs->recover_after_ns <= 0) break; /* dead for good */
        t += (double)fs->recover_after_ns;
        ev.recover = true;
        ev.t_ns = (int64_t)t;
        if (rc == 0) rc = push_fault(b, &ev);
    }
    exec_rng_free(r);
    if (rc < 0) goto oom;
    return 0;
oom:
    return thaw_err_set(err, THAW_ENOMEM, "out of memory");
}

int exec_schedule_build(const struct core_spec *spec, uint64_t seed, int max_arrivals,
                        struct exec_schedule *out, struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    struct builder b = {.s = out, .max_arrivals = max_arrivals > 0 ? max_arrivals : 1 << 24};
    int rc = 0;
    for (int w = 0; w < spec->workload_count && rc == 0; w++) {
        int before = out->arrival_count;
        rc = workload_arrivals(&b, spec, w, seed, err);
        /* Stash the draw order so the sort below is stable. */
        for (int i = before; i < out->arrival_count; i++)
            out->arrivals[i].service_ns = i - before;
    }
    if (rc < 0) goto fail;
    if (out->arrival_count > 1)
        qsort(out->arrivals, (size_t)out->arrival_count, sizeof *out->arrivals, arrival_cmp);

    /* Service times: each workload's stream, drawn in arrival order. */
    for (int w = 0; w < spec->workload_count; w++) {
        struct exec_rng *r;
        if (exec_rng_new(seed, exec_stream_seed(seed, EXEC_STREAM_SERVICE, w), &r) < 0) {
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
            goto fail;
        }
        for (int i = 0; i < out->arrival_count; i++)
            if (out->arrivals[i].workload == w)
                out->arrivals[i].service_ns = exec_rng_draw(r, &spec->workloads[w].service);
        exec_rng_free(r);
    }

    int64_t horizon = spec->duration_ns;
    if (horizon <= 0 && out->arrival_count > 0)
        horizon = out->arrivals[out->arrival_count - 1].t_ns;
    for (int f = 0; f < spec->fault_count && rc == 0; f++)
        rc = fault_events(&b, spec, f, seed, horizon, err);
    if (rc < 0) goto fail;
    if (out->fault_count > 1)
        qsort(out->faults, (size_t)out->fault_count, sizeof *out->faults, fault_cmp);
    return 0;
fail:
    exec_schedule_free(out);
    return rc;
}

void exec_schedule_free(struct exec_schedule *s)
{
    free(s->arrivals);
    free(s->faults);
    memset(s, 0, sizeof *s);
}

/* arrivals.c - the arrival generators of workload.h. Poisson inter-arrival
 * times are exponential with mean 1/rate, starting from the entry's start;
 * time-varying rates (piecewise, diurnal) by thinning (Lewis and Shedler
 * 1979); fixed times are replayed as given, traces streamed (trace.c); a
 * burst is `count` arrivals at the same instant (the shell heap's sequence
 * numbers order them). */
#include "workload.h"

#include <gsl/gsl_randist.h>
#include <math.h>

int wl_arrivals_init(struct wl_arrivals *a, const struct core_workload_spec *w, gsl_rng *rng,
                     int64_t run_end_ns, struct thaw_err *err)
{
    a->w = w;
    a->rng = rng;
    a->index = 0;
    a->burst_left = 0;
    a->done = false;
    a->last_ns = 0;
    a->t_ns = 0;
    a->trace = NULL;
    a->in_tokens = a->out_tokens = -1;
    a->end_ns = run_end_ns > 0 ? run_end_ns : -1;
    switch (w->arrivals) {
    case CORE_ARRIVAL_NONE:
        a->done = true;
        return 0;
    case CORE_ARRIVAL_POISSON:
        if (!(w->rate_per_s >= 0) || !isfinite(w->rate_per_s))
            return thaw_err_set(err, THAW_EINVAL, "bad Poisson rate %g", w->rate_per_s);
        if (w->end_ns > 0 && (a->end_ns < 0 || w->end_ns < a->end_ns)) a->end_ns = w->end_ns;
        if (a->end_ns < 0 && w->rate_per_s > 0)
            return thaw_err_set(err, THAW_EINVAL,
                                "Poisson arrivals with no end and no run duration would never "
                                "stop; set arrivals.end or run.duration");
        if (!rng && w->rate_per_s > 0)
            return thaw_err_set(err, THAW_EINVAL, "Poisson arrivals need a generator");
        a->last_ns = w->start_ns > 0 ? w->start_ns : 0;
        a->done = w->rate_per_s == 0;
        return 0;
    case CORE_ARRIVAL_PIECEWISE:
    case CORE_ARRIVAL_DIURNAL: {
        if (w->end_ns > 0 && (a->end_ns < 0 || w->end_ns < a->end_ns)) a->end_ns = w->end_ns;
        bool forever;
        if (w->arrivals == CORE_ARRIVAL_PIECEWISE) {
            if (w->rate_seg_count <= 0 || !w->rate_segs)
                return thaw_err_set(err, THAW_EINVAL, "workload of model %d: no rate pieces",
                                    w->model);
            for (int i = 0; i < w->rate_seg_count; i++)
                if (!(w->rate_segs[i].rate_per_s >= 0) || !isfinite(w->rate_segs[i].rate_per_s) ||
                    (i > 0 && w->rate_segs[i].until_ns <= w->rate_segs[i - 1].until_ns))
                    return thaw_err_set(err, THAW_EINVAL,
                                        "workload of model %d: rate pieces must have rates >= 0 "
                                        "and ascending ends (piece %d)",
                                        w->model, i);
            const struct core_rate_seg *last = &w->rate_segs[w->rate_seg_count - 1];
            forever = last->until_ns == INT64_MAX && last->rate_per_s > 0;
        } else {
            const struct core_diurnal *d = &w->diurnal;
            if (!(d->base_per_s >= 0) || !(d->peak_per_s >= d->base_per_s) ||
                !isfinite(d->peak_per_s) || d->period_ns <= 0)
                return thaw_err_set(err, THAW_EINVAL,
                                    "workload of model %d: diurnal needs 0 <= base <= peak and a "
                                    "period above zero",
                                    w->model);
            forever = d->peak_per_s > 0;
        }
        if (forever && a->end_ns < 0)
            return thaw_err_set(err, THAW_EINVAL,
                                "workload of model %d: time-varying arrivals with no end and no "
                                "run duration would never stop; set arrivals.end or run.duration",
                                w->model);
        if (!rng) return thaw_err_set(err, THAW_EINVAL, "time-varying arrivals need a generator");
        a->t_ns = (double)(w->start_ns > 0 ? w->start_ns : 0);
        a->last_ns = (int64_t)a->t_ns;
        return 0;
    }
    case CORE_ARRIVAL_TRACE: {
        int rc = wl_trace_open(&a->trace, w, rng, err);
        if (rc < 0) return rc;
        return 0;
    }
    case CORE_ARRIVAL_TIMES:
        for (int i = 0; i < w->time_count; i++)
            if (w->times_ns[i] < 0 || (i > 0 && w->times_ns[i] < w->times_ns[i - 1]))
                return thaw_err_set(err, THAW_EINVAL,
                                    "arrival times must be >= 0 and ascending (entry %d)", i);
        a->done = w->time_count == 0;
        return 0;
    case CORE_ARRIVAL_BURSTS:
        for (int i = 0; i < w->burst_count; i++)
            if (w->bursts[i].at_ns < 0 || w->bursts[i].count < 0 ||
                (i > 0 && w->bursts[i].at_ns < w->bursts[i - 1].at_ns))
                return thaw_err_set(err, THAW_EINVAL,
                                    "bursts must be at times >= 0, in ascending order, with "
                                    "counts >= 0 (entry %d)",
                                    i);
        a->done = w->burst_count == 0;
        return 0;
    }
    return thaw_err_set(err, THAW_EINVAL, "unknown arrival kind %d", (int)w->arrivals);
}

static bool before_end(const struct wl_arrivals *a, int64_t t)
{
    return a->end_ns < 0 || t < a->end_ns;
}

static const double two_pi = 6.283185307179586476925286766559;

double wl_arrivals_rate_at(const struct core_workload_spec *w, int64_t t_ns)
{
    if (t_ns < w->start_ns) return 0;
    if (w->arrivals == CORE_ARRIVAL_PIECEWISE) {
        for (int i = 0; i < w->rate_seg_count; i++)
            if (t_ns < w->rate_segs[i].until_ns) return w->rate_segs[i].rate_per_s;
        return 0;
    }
    if (w->arrivals == CORE_ARRIVAL_DIURNAL) {
        const struct core_diurnal *d = &w->diurnal;
        double phase = (double)((t_ns - d->peak_at_ns) % d->period_ns) / (double)d->period_ns;
        return d->base_per_s + (d->peak_per_s - d->base_per_s) * (1 + cos(two_pi * phase)) / 2;
    }
    if (w->arrivals == CORE_ARRIVAL_POISSON) return w->rate_per_s;
    return 0;
}

/* Thinning (Lewis and Shedler): candidates from a homogeneous process of a
 * rate `bound` >= rate(t) on [t, bound_end), each kept with probability
 * rate(t) / bound. The bound is the current piece's rate (piecewise, so every
 * candidate is kept) or the peak (diurnal). At bound_end the candidate
 * process restarts from bound_end with the next bound, which memorylessness
 * makes exact. Every draw comes from the entry's own arrivals stream. */
static bool next_thinned(struct wl_arrivals *a, int64_t *t_ns)
{
    const struct core_workload_spec *w = a->w;
    double t = a->t_ns;
    for (;;) {
        if (a->end_ns >= 0 && t >= (double)a->end_ns) return false;
        double bound, bound_end;
        if (w->arrivals == CORE_ARRIVAL_PIECEWISE) {
            while (a->index < w->rate_seg_count && (double)w->rate_segs[a->index].until_ns <= t)
                a->index++;
            if (a->index >= w->rate_seg_count) return false;
            bound = w->rate_segs[a->index].rate_per_s;
            bound_end = (double)w->rate_segs[a->index].until_ns;
        } else {
            bound = w->diurnal.peak_per_s;
            bound_end = INFINITY;
        }
        if (bound <= 0) {
            if (!isfinite(bound_end)) return false;
            t = bound_end;
            continue;
        }
        t += gsl_ran_exponential(a->rng, 1e9 / bound);
        if (t >= bound_end) {
            t = bound_end;
            continue;
        }
        if (a->end_ns >= 0 && t >= (double)a->end_ns) return false;
        int64_t ti = (int64_t)llround(t);
        double lambda = wl_arrivals_rate_at(w, ti);
        if (gsl_rng_uniform(a->rng) * bound < lambda) {
            a->t_ns = t;
            if (ti < a->last_ns) ti = a->last_ns;
            a->last_ns = *t_ns = ti;
            return true;
        }
    }
}

void wl_arrivals_free(struct wl_arrivals *a)
{
    wl_trace_close(a->trace);
    a->trace = NULL;
}

bool wl_arrivals_next(struct wl_arrivals *a, int64_t *t_ns)
{
    const struct core_workload_spec *w = a->w;
    if (a->done) return false;
    switch (w->arrivals) {
    case CORE_ARRIVAL_POISSON: {
        double gap_ns = gsl_ran_exponential(a->rng, 1e9 / w->rate_per_s);
        int64_t t = a->last_ns + (int64_t)llround(gap_ns);
        if (!before_end(a, t) || t < a->last_ns) break;
        a->last_ns = *t_ns = t;
        return true;
    }
    case CORE_ARRIVAL_PIECEWISE:
    case CORE_ARRIVAL_DIURNAL:
        if (next_thinned(a, t_ns)) return true;
        break;
    case CORE_ARRIVAL_TRACE: {
        int64_t t;
        if (!a->trace || !wl_trace_next(a->trace, &t, &a->in_tokens, &a->out_tokens) ||
            !before_end(a, t))
            break;
        *t_ns = t;
        return true;
    }
    case CORE_ARRIVAL_TIMES:
        if (a->index >= w->time_count || !before_end(a, w->times_ns[a->index])) break;
        *t_ns = w->times_ns[a->index++];
        return true;
    case CORE_ARRIVAL_BURSTS:
        while (a->burst_left == 0 && a->index < w->burst_count)
            a->burst_left = w->bursts[a->index++].count;
        if (a->burst_left == 0) break;
        if (!before_end(a, w->bursts[a->index - 1].at_ns)) break;
        a->burst_left--;
        *t_ns = w->bursts[a->index - 1].at_ns;
        return true;
    case CORE_ARRIVAL_NONE:
        break;
    }
    a->done = true;
    return false;
}

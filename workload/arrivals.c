/* arrivals.c - the arrival generators of workload.h. Poisson inter-arrival
 * times are exponential with mean 1/rate, starting from the entry's start;
 * fixed times and traces are replayed as given; a burst is `count` arrivals
 * at the same instant (the shell heap's sequence numbers order them). */
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
    case CORE_ARRIVAL_TIMES:
    case CORE_ARRIVAL_TRACE:
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
    case CORE_ARRIVAL_TIMES:
    case CORE_ARRIVAL_TRACE:
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

/* schedule.c - draws the exec driver's timetable with the simulator's
 * generators (sim/workload.h) and streams (sim/rng.h's sim_rng_for_*), and
 * replays the sim's event order: sources merged by (time, order scheduled),
 * as its event heap does, and fault processes stepped the way sim/driver.c
 * steps them. The timetable is a pure function of the spec and the seed. */
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "rng.h"
#include "workload.h"

/* Appends el (sz bytes) to a growable array. */
static int push(void **arr, int *count, int *cap, const void *el, size_t sz)
{
    if (*count == *cap) {
        int c = *cap ? *cap * 2 : 64;
        void *g = realloc(*arr, (size_t)c * sz);
        if (!g) return THAW_ENOMEM;
        *arr = g;
        *cap = c;
    }
    memcpy((char *)*arr + (size_t)*count * sz, el, sz);
    (*count)++;
    return 0;
}

/* One pending event of a source, ordered like sim/engine.c: time, then the
 * sequence number it got when scheduled. */
struct pending {
    int64_t t_ns;
    uint64_t seq;
    bool live;
};

static bool before(const struct pending *a, const struct pending *b)
{
    return a->t_ns != b->t_ns ? a->t_ns < b->t_ns : a->seq < b->seq;
}

struct src {
    struct sim_arrivals gen;
    gsl_rng *arr, *svc;
    struct pending next;
};

static int build_arrivals(const struct core_spec *spec, uint64_t seed, int max_arrivals,
                          struct exec_schedule *out, struct thaw_err *err)
{
    int n = spec->workload_count, cap = 0, rc = 0;
    struct src *src = calloc((size_t)(n > 0 ? n : 1), sizeof *src);
    if (!src) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    uint64_t seq = 0;
    /* As sim/driver.c's build_sources and schedule_sources: each entry's
     * streams, then its first arrival, in entry order. */
    for (int w = 0; w < n && rc == 0; w++) {
        const struct core_workload_spec *wl = &spec->workloads[w];
        if (wl->model < 0 || wl->model >= spec->model_count) {
            rc = thaw_err_set(err, THAW_EINVAL, "workload %d names no model", w);
            break;
        }
        src[w].arr = sim_rng_for_workload(spec, seed, w, SIM_STREAM_ARRIVALS);
        src[w].svc = sim_rng_for_workload(spec, seed, w, SIM_STREAM_SERVICE);
        if (!src[w].arr || !src[w].svc) {
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
            break;
        }
        rc = sim_arrivals_init(&src[w].gen, wl, src[w].arr, spec->duration_ns, err);
    }
    for (int w = 0; w < n && rc == 0; w++)
        if (sim_arrivals_next(&src[w].gen, &src[w].next.t_ns))
            src[w].next = (struct pending){src[w].next.t_ns, seq++, true};
    while (rc == 0) {
        int w = -1;
        for (int k = 0; k < n; k++)
            if (src[k].next.live && (w < 0 || before(&src[k].next, &src[w].next))) w = k;
        if (w < 0) break;
        if (out->arrival_count >= max_arrivals) {
            rc = thaw_err_set(err, THAW_ERANGE,
                              "more than %d arrivals: shorten the run or lower the rate",
                              max_arrivals);
            break;
        }
        /* The service time is drawn at arrival, from the entry's stream, as
         * the sim does (sim/driver.c's on_arrival). */
        struct exec_arrival a = {.t_ns = src[w].next.t_ns,
                                 .model = spec->workloads[w].model,
                                 .workload = w,
                                 .service_ns =
                                     sim_rng_draw_ns(src[w].svc, &spec->workloads[w].service)};
        if (push((void **)&out->arrivals, &out->arrival_count, &cap, &a, sizeof a) < 0) {
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
            break;
        }
        src[w].next.live = sim_arrivals_next(&src[w].gen, &src[w].next.t_ns);
        src[w].next.seq = seq++;
    }
    for (int w = 0; w < n; w++) {
        gsl_rng_free(src[w].arr);
        gsl_rng_free(src[w].svc);
    }
    free(src);
    return rc;
}

struct fproc {
    gsl_rng *rng;
    int node; /* the target's node */
    bool recover_next;
    struct pending next;
};

/* The fault processes of sim/driver.c (fault_fire, fault_recover), stepped
 * on their own: whether a target is down depends on faults only. */
static int build_faults(const struct core_spec *spec, uint64_t seed, struct exec_schedule *out,
                        struct thaw_err *err)
{
    int n = spec->fault_count, cap = 0, rc = 0;
    if (n <= 0) return 0;
    struct fproc *fp = calloc((size_t)n, sizeof *fp);
    bool *gpu_down = calloc((size_t)(spec->gpu_count > 0 ? spec->gpu_count : 1), sizeof(bool));
    bool *node_down = calloc((size_t)(spec->node_count > 0 ? spec->node_count : 1), sizeof(bool));
    if (!fp || !gpu_down || !node_down) {
        rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
        goto done;
    }
    uint64_t seq = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const struct core_fault_spec *f = &spec->faults[i];
        bool node = f->target == CORE_FAULT_NODE;
        if (node ? (f->node < 0 || f->node >= spec->node_count)
                 : (f->gpu < 0 || f->gpu >= spec->gpu_count)) {
            rc = thaw_err_set(err, THAW_EINVAL, "fault %d names no node or GPU", i);
            break;
        }
        fp[i].node = node ? f->node : spec->gpus[f->gpu].node;
        if (fp[i].node < 0 || fp[i].node >= spec->node_count) {
            rc = thaw_err_set(err, THAW_EINVAL, "fault %d: its GPU is on no node", i);
            break;
        }
        if (f->at_ns < 0 && f->mtbf_ns <= 0) {
            rc = thaw_err_set(err, THAW_EINVAL, "fault %d has neither a time nor an MTBF", i);
            break;
        }
        if (f->at_ns < 0 && spec->duration_ns <= 0) {
            rc = thaw_err_set(err, THAW_EINVAL,
                              "fault %d recurs (MTBF) and the run has no duration: it would "
                              "never end; set run.duration",
                              i);
            break;
        }
        fp[i].rng = sim_rng_for_fault(spec, seed, i);
        if (!fp[i].rng) rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
    }
    /* First failures in fault order, as sim/driver.c's schedule_sources. */
    for (int i = 0; i < n && rc == 0; i++) {
        const struct core_fault_spec *f = &spec->faults[i];
        int64_t t = f->at_ns >= 0 ? f->at_ns : sim_rng_fault_gap_ns(fp[i].rng, f);
        fp[i].next = (struct pending){t, seq++, true};
    }
    while (rc == 0) {
        int i = -1;
        for (int k = 0; k < n; k++)
            if (fp[k].next.live && (i < 0 || before(&fp[k].next, &fp[i].next))) i = k;
        if (i < 0) break;
        int64_t now = fp[i].next.t_ns;
        /* The sim's run loop stops at the first event past the duration. */
        if (spec->duration_ns > 0 && now > spec->duration_ns) break;
        const struct core_fault_spec *f = &spec->faults[i];
        bool node = f->target == CORE_FAULT_NODE;
        int first = node ? spec->nodes[fp[i].node].first_gpu : f->gpu;
        int count = node ? spec->nodes[fp[i].node].gpu_count : 1;
        if (first < 0 || count < 0 || first + count > spec->gpu_count) {
            first = 0;
            count = 0;
        }
        fp[i].next.live = false;
        struct exec_fault_ev ev = {.t_ns = now,
                                   .recover = fp[i].recover_next,
                                   .node = node,
                                   .target = node ? f->node : f->gpu,
                                   .fault = i};
        if (!fp[i].recover_next) {
            bool already =
                node ? node_down[fp[i].node] : (gpu_down[f->gpu] || node_down[fp[i].node]);
            if (already) {
                /* Nothing to break; a recurring process draws again. */
                if (f->at_ns < 0)
                    fp[i].next =
                        (struct pending){now + sim_rng_fault_gap_ns(fp[i].rng, f), seq++, true};
                continue;
            }
            if (node) node_down[fp[i].node] = true;
            for (int g = first; g < first + count; g++)
                gpu_down[g] = true;
            if (f->recover_after_ns > 0) {
                fp[i].recover_next = true;
                fp[i].next = (struct pending){now + f->recover_after_ns, seq++, true};
            }
        } else {
            if (node) node_down[fp[i].node] = false;
            for (int g = first; g < first + count; g++)
                gpu_down[g] = false;
            fp[i].recover_next = false;
            if (f->at_ns < 0)
                fp[i].next =
                    (struct pending){now + sim_rng_fault_gap_ns(fp[i].rng, f), seq++, true};
        }
        if (out->fault_count >= 1000000) {
            rc = thaw_err_set(err, THAW_ERANGE,
                              "more than 1000000 fault events: raise the MTBF or shorten the run");
            break;
        }
        if (push((void **)&out->faults, &out->fault_count, &cap, &ev, sizeof ev) < 0)
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
    }
done:
    for (int i = 0; fp && i < n; i++)
        gsl_rng_free(fp[i].rng);
    free(fp);
    free(gpu_down);
    free(node_down);
    return rc;
}

int exec_schedule_build(const struct core_spec *spec, uint64_t seed, int max_arrivals,
                        struct exec_schedule *out, struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = build_arrivals(spec, seed, max_arrivals > 0 ? max_arrivals : 1 << 24, out, err);
    if (rc == 0) rc = build_faults(spec, seed, out, err);
    if (rc < 0) exec_schedule_free(out);
    return rc;
}

void exec_schedule_free(struct exec_schedule *s)
{
    free(s->arrivals);
    free(s->faults);
    memset(s, 0, sizeof *s);
}

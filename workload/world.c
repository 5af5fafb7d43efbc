/* world.c - the world of workload.h: one source per workload entry (its
 * arrival process and service stream) and per fault entry (its failure and
 * recovery process), each holding one pending input. Fault processes keep
 * their own view of which targets are down: only faults bring a target
 * down, so the world needs nothing from the drivers to step them, and both
 * drivers step them identically. */
#include "workload.h"

#include <stdlib.h>
#include <string.h>

struct arrival_src {
    struct wl_arrivals gen;
    gsl_rng *arrivals_rng, *service_rng;
    bool live;
    int64_t next_ns;
};

struct fault_proc {
    const struct core_fault_spec *f;
    gsl_rng *rng; /* MTBF draws */
    int node;     /* the target's node */
    bool recover_next;
    bool live;
    int64_t next_ns;
};

struct wl_world {
    const struct core_spec *spec;
    struct arrival_src *arrivals;
    struct fault_proc *faults;
    gsl_rng **node_rng;
    bool *gpu_down, *node_down;
};

static size_t at_least_1(int n)
{
    return (size_t)(n > 0 ? n : 1);
}

static int build_arrivals(struct wl_world *w, uint64_t seed, struct thaw_err *err)
{
    const struct core_spec *sp = w->spec;
    for (int i = 0; i < sp->workload_count; i++) {
        const struct core_workload_spec *ws = &sp->workloads[i];
        struct arrival_src *src = &w->arrivals[i];
        if (ws->model < 0 || ws->model >= sp->model_count)
            return thaw_err_set(err, THAW_EINVAL, "workload %d names no model", i);
        /* Keyed by the model's name, independent of every other model. */
        src->arrivals_rng = wl_rng_for_workload(sp, seed, i, WL_STREAM_ARRIVALS);
        src->service_rng = wl_rng_for_workload(sp, seed, i, WL_STREAM_SERVICE);
        if (!src->arrivals_rng || !src->service_rng)
            return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        struct thaw_err why = {0};
        int rc = wl_arrivals_init(&src->gen, ws, src->arrivals_rng, sp->duration_ns, &why);
        if (rc < 0)
            return thaw_err_set(err, rc, "workload %d (model '%s'): %s", i,
                                sp->models[ws->model].name, why.msg);
    }
    return 0;
}

static int build_faults(struct wl_world *w, uint64_t seed, struct thaw_err *err)
{
    const struct core_spec *sp = w->spec;
    for (int i = 0; i < sp->fault_count; i++) {
        const struct core_fault_spec *f = &sp->faults[i];
        struct fault_proc *fp = &w->faults[i];
        fp->f = f;
        bool node = f->target == CORE_FAULT_NODE;
        if (node ? (f->node < 0 || f->node >= sp->node_count)
                 : (f->gpu < 0 || f->gpu >= sp->gpu_count))
            return thaw_err_set(err, THAW_EINVAL, "fault %d names no node or GPU", i);
        fp->node = node ? f->node : sp->gpus[f->gpu].node;
        if (fp->node < 0 || fp->node >= sp->node_count)
            return thaw_err_set(err, THAW_EINVAL, "fault %d: its GPU is on no node", i);
        if (f->at_ns < 0 && f->mtbf_ns <= 0)
            return thaw_err_set(err, THAW_EINVAL, "fault %d has neither a time nor an MTBF", i);
        if (f->at_ns < 0 && sp->duration_ns <= 0)
            return thaw_err_set(err, THAW_EINVAL,
                                "fault %d recurs (MTBF) and the run has no duration: it would "
                                "never end; set run.duration",
                                i);
        fp->rng = wl_rng_for_fault(sp, seed, i);
        if (!fp->rng) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    }
    return 0;
}

/* First inputs: each workload's first arrival, then each fault's first
 * failure (its fixed time, or a first MTBF gap). */
static void arm_all(struct wl_world *w)
{
    const struct core_spec *sp = w->spec;
    for (int i = 0; i < sp->workload_count; i++) {
        struct arrival_src *src = &w->arrivals[i];
        src->live = wl_arrivals_next(&src->gen, &src->next_ns);
    }
    for (int i = 0; i < sp->fault_count; i++) {
        struct fault_proc *fp = &w->faults[i];
        fp->next_ns = fp->f->at_ns >= 0 ? fp->f->at_ns : wl_fault_gap_ns(fp->rng, fp->f);
        fp->live = true;
    }
}

int wl_world_new(const struct core_spec *spec, uint64_t seed, struct wl_world **out,
                 struct thaw_err *err)
{
    *out = NULL;
    struct wl_world *w = calloc(1, sizeof *w);
    if (!w) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    w->spec = spec;
    w->arrivals = calloc(at_least_1(spec->workload_count), sizeof *w->arrivals);
    w->faults = calloc(at_least_1(spec->fault_count), sizeof *w->faults);
    w->node_rng = calloc(at_least_1(spec->node_count), sizeof *w->node_rng);
    w->gpu_down = calloc(at_least_1(spec->gpu_count), sizeof *w->gpu_down);
    w->node_down = calloc(at_least_1(spec->node_count), sizeof *w->node_down);
    int rc = 0;
    if (!w->arrivals || !w->faults || !w->node_rng || !w->gpu_down || !w->node_down)
        rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
    for (int n = 0; rc == 0 && n < spec->node_count; n++)
        if (!(w->node_rng[n] = wl_rng_for_node(spec, seed, n)))
            rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
    if (rc == 0) rc = build_arrivals(w, seed, err);
    if (rc == 0) rc = build_faults(w, seed, err);
    if (rc < 0) {
        wl_world_free(w);
        return rc;
    }
    arm_all(w);
    *out = w;
    return 0;
}

void wl_world_free(struct wl_world *w)
{
    if (!w) return;
    const struct core_spec *sp = w->spec;
    for (int i = 0; w->arrivals && i < sp->workload_count; i++) {
        wl_arrivals_free(&w->arrivals[i].gen);
        gsl_rng_free(w->arrivals[i].arrivals_rng);
        gsl_rng_free(w->arrivals[i].service_rng);
    }
    for (int i = 0; w->faults && i < sp->fault_count; i++)
        gsl_rng_free(w->faults[i].rng);
    for (int n = 0; w->node_rng && n < sp->node_count; n++)
        gsl_rng_free(w->node_rng[n]);
    free(w->arrivals);
    free(w->faults);
    free(w->node_rng);
    free(w->gpu_down);
    free(w->node_down);
    free(w);
}

int wl_world_source_count(const struct wl_world *w)
{
    return w->spec->workload_count + w->spec->fault_count;
}

bool wl_world_peek(const struct wl_world *w, int source, int64_t *t_ns)
{
    int nw = w->spec->workload_count;
    if (source < 0 || source >= wl_world_source_count(w)) return false;
    if (source < nw) {
        if (!w->arrivals[source].live) return false;
        *t_ns = w->arrivals[source].next_ns;
        return true;
    }
    const struct fault_proc *fp = &w->faults[source - nw];
    if (!fp->live) return false;
    *t_ns = fp->next_ns;
    return true;
}

static void take_arrival(struct wl_world *w, int i, struct wl_input *out)
{
    struct arrival_src *src = &w->arrivals[i];
    const struct core_workload_spec *ws = &w->spec->workloads[i];
    *out = (struct wl_input){.kind = WL_INPUT_ARRIVAL,
                             .t_ns = src->next_ns,
                             .workload = i,
                             .model = ws->model,
                             .fault = -1,
                             .target = -1,
                             .target_node = -1};
    /* Drawn at arrival, in each workload's arrival order; from the trace's
     * token counts when the entry says so (no draw then). */
    const struct core_token_service *tk = &ws->tokens;
    if (tk->on && src->gen.in_tokens >= 0 && src->gen.out_tokens >= 0)
        out->service_ns = tk->fixed_ns + tk->prefill_per_token_ns * src->gen.in_tokens +
                          tk->decode_per_token_ns * src->gen.out_tokens;
    else
        out->service_ns = wl_draw_ns(src->service_rng, &ws->service);
    src->live = wl_arrivals_next(&src->gen, &src->next_ns);
}

/* A fault process: fail -> (recover_after later) recover -> (MTBF gap later)
 * fail ... A failure that finds its target down (held by another fault)
 * breaks nothing; a recurring process then draws its next failure. */
static void take_fault(struct wl_world *w, int i, struct wl_input *out)
{
    const struct core_spec *sp = w->spec;
    struct fault_proc *fp = &w->faults[i];
    const struct core_fault_spec *f = fp->f;
    int64_t now = fp->next_ns;
    bool node = f->target == CORE_FAULT_NODE;
    int first = node ? sp->nodes[fp->node].first_gpu : f->gpu;
    int count = node ? sp->nodes[fp->node].gpu_count : 1;
    if (first < 0 || count < 0 || first + count > sp->gpu_count) first = count = 0;
    *out = (struct wl_input){.t_ns = now,
                             .workload = -1,
                             .model = -1,
                             .fault = i,
                             .node = node,
                             .target = node ? f->node : f->gpu,
                             .target_node = fp->node};
    fp->live = false;
    if (fp->recover_next) {
        out->kind = WL_INPUT_RECOVER;
        if (node) w->node_down[fp->node] = false;
        for (int g = first; g < first + count; g++)
            w->gpu_down[g] = false;
        fp->recover_next = false;
        if (f->at_ns < 0) {
            fp->next_ns = now + wl_fault_gap_ns(fp->rng, f);
            fp->live = true;
        }
        return;
    }
    bool already = node ? w->node_down[fp->node] : (w->gpu_down[f->gpu] || w->node_down[fp->node]);
    if (already) {
        out->kind = WL_INPUT_NONE;
        if (f->at_ns < 0) {
            fp->next_ns = now + wl_fault_gap_ns(fp->rng, f);
            fp->live = true;
        }
        return;
    }
    out->kind = WL_INPUT_FAIL;
    if (node) w->node_down[fp->node] = true;
    for (int g = first; g < first + count; g++)
        w->gpu_down[g] = true;
    if (f->recover_after_ns > 0) {
        fp->recover_next = true;
        fp->next_ns = now + f->recover_after_ns;
        fp->live = true;
    }
}

bool wl_world_take(struct wl_world *w, int source, struct wl_input *out)
{
    int64_t t;
    if (!wl_world_peek(w, source, &t)) return false;
    int nw = w->spec->workload_count;
    if (source < nw)
        take_arrival(w, source, out);
    else
        take_fault(w, source - nw, out);
    return true;
}

void wl_world_load_costs(struct wl_world *w, int node, int model, struct wl_load_costs *out)
{
    wl_draw_load(w->node_rng[node], &w->spec->nodes[node], &w->spec->models[model], out);
}

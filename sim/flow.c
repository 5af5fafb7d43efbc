/* flow.c - max-min fair sharing by progressive filling (flow.h). All
 * unfrozen flows of a group rise together; at each step the tightest
 * constraint (a resource's capacity split over its rising flows, or a flow's
 * own cap) fixes the increment, and the flows it binds freeze. Each step
 * freezes at least one flow, so a group of F flows takes at most F steps. */
#include "flow.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "thaw_err.h"

int sim_flownet_init(struct sim_flownet *net, struct shell_heap *engine, int group_count)
{
    net->engine = engine;
    net->res = NULL;
    net->res_count = net->res_capacity = 0;
    net->group_count = 0;
    net->groups = NULL;
    net->on_rates = NULL;
    net->on_rates_ctx = NULL;
    if (group_count < 0) return THAW_EINVAL;
    if (group_count > 0) {
        net->groups = calloc((size_t)group_count, sizeof *net->groups);
        if (!net->groups) return THAW_ENOMEM;
    }
    net->group_count = group_count;
    return 0;
}

void sim_flownet_free(struct sim_flownet *net)
{
    for (int g = 0; g < net->group_count; g++)
        free(net->groups[g].res);
    free(net->groups);
    free(net->res);
    net->groups = NULL;
    net->res = NULL;
    net->group_count = net->res_count = net->res_capacity = 0;
}

int sim_flownet_add_resource(struct sim_flownet *net, int group, double capacity_per_s)
{
    if (group < 0 || group >= net->group_count || !(capacity_per_s > 0) ||
        !isfinite(capacity_per_s))
        return THAW_EINVAL;
    struct sim_flow_group *g = &net->groups[group];
    if (net->res_count == net->res_capacity) {
        int cap = net->res_capacity ? net->res_capacity * 2 : 16;
        struct sim_resource *grown = realloc(net->res, (size_t)cap * sizeof *grown);
        if (!grown) return THAW_ENOMEM;
        net->res = grown;
        net->res_capacity = cap;
    }
    if (g->res_count == g->res_capacity) {
        int cap = g->res_capacity ? g->res_capacity * 2 : 8;
        int *grown = realloc(g->res, (size_t)cap * sizeof *grown);
        if (!grown) return THAW_ENOMEM;
        g->res = grown;
        g->res_capacity = cap;
    }
    int id = net->res_count++;
    net->res[id] = (struct sim_resource){.capacity = capacity_per_s, .group = group};
    g->res[g->res_count++] = id;
    return id;
}

void sim_flow_init(struct sim_flow *f, int kind)
{
    shell_ev_init(&f->done, kind);
    f->remaining = 0;
    f->rate = 0;
    f->rate_cap = 0;
    f->updated_ns = 0;
    f->res_count = 0;
    f->group = -1;
    f->active = false;
    f->frozen = false;
    f->prev = f->next = NULL;
}

/* Nanoseconds to finish `remaining` at `rate`. Values within rounding noise
 * of a whole nanosecond round to it, so hand-computable cases (14 GiB at
 * 512 MiB/s) land exactly; others round up, so a flow is never reported done
 * before its last byte. */
static int64_t ns_to_finish(double remaining, double rate)
{
    if (remaining <= 0) return 0;
    double x = remaining / rate * 1e9;
    if (!(x < 4e18)) return INT64_MAX / 4;
    double r = nearbyint(x);
    if (fabs(x - r) <= 1e-3 + 1e-12 * x) return (int64_t)r;
    return (int64_t)ceil(x);
}

static void advance(struct sim_flow *f, int64_t now)
{
    if (now > f->updated_ns) {
        f->remaining -= f->rate * (double)(now - f->updated_ns) * 1e-9;
        if (f->remaining < 0) f->remaining = 0;
    }
    f->updated_ns = now;
}

static void freeze(struct sim_flownet *net, struct sim_flow *f, int *unfrozen)
{
    f->frozen = true;
    (*unfrozen)--;
    for (int i = 0; i < f->res_count; i++)
        net->res[f->res[i]].unfrozen--;
}

static void recompute(struct sim_flownet *net, int group)
{
    struct sim_flow_group *g = &net->groups[group];
    struct shell_heap *e = net->engine;
    int64_t now = e->now_ns;
    for (int i = 0; i < g->res_count; i++) {
        struct sim_resource *r = &net->res[g->res[i]];
        r->left = r->capacity;
        r->unfrozen = 0;
    }
    int unfrozen = 0;
    for (struct sim_flow *f = g->head; f; f = f->next) {
        advance(f, now);
        f->rate = 0;
        f->frozen = false;
        unfrozen++;
        for (int i = 0; i < f->res_count; i++)
            net->res[f->res[i]].unfrozen++;
    }
    while (unfrozen > 0) {
        double delta = INFINITY;
        for (int i = 0; i < g->res_count; i++) {
            struct sim_resource *r = &net->res[g->res[i]];
            if (r->unfrozen > 0 && r->left / r->unfrozen < delta) delta = r->left / r->unfrozen;
        }
        for (struct sim_flow *f = g->head; f; f = f->next)
            if (!f->frozen && f->rate_cap > 0 && f->rate_cap - f->rate < delta)
                delta = f->rate_cap - f->rate;
        assert(isfinite(delta)); /* every flow crosses a resource or has a cap */
        if (delta < 0) delta = 0;
        for (struct sim_flow *f = g->head; f; f = f->next)
            if (!f->frozen) f->rate += delta;
        for (int i = 0; i < g->res_count; i++) {
            struct sim_resource *r = &net->res[g->res[i]];
            r->left -= delta * r->unfrozen;
        }
        /* Freeze what the step saturated: a resource with (within rounding)
         * nothing left freezes every flow through it; a flow at its cap. */
        int before = unfrozen;
        for (struct sim_flow *f = g->head; f; f = f->next) {
            if (f->frozen) continue;
            bool stop = f->rate_cap > 0 && f->rate >= f->rate_cap * (1 - 1e-12);
            for (int i = 0; i < f->res_count && !stop; i++) {
                struct sim_resource *r = &net->res[f->res[i]];
                if (r->left <= r->capacity * 1e-12) stop = true;
            }
            if (stop) {
                if (f->rate_cap > 0 && f->rate > f->rate_cap) f->rate = f->rate_cap;
                freeze(net, f, &unfrozen);
            }
        }
        assert(unfrozen < before);
        if (unfrozen == before) break; /* cannot happen; never loop forever */
    }
    for (struct sim_flow *f = g->head; f; f = f->next) {
        if (f->rate <= 0) {
            shell_heap_cancel(e, &f->done); /* starved: no completion in sight */
            continue;
        }
        int64_t t = now + ns_to_finish(f->remaining, f->rate);
        if (shell_ev_pending(&f->done) && f->done.t_ns == t) continue;
        /* Cannot fail: capacities and caps are > 0, so every flow has a rate
         * and its event is pending here; rescheduling frees its slot first. */
        int rc = shell_heap_reschedule(e, &f->done, t);
        assert(rc == 0);
        (void)rc;
    }
    if (net->on_rates) net->on_rates(net->on_rates_ctx, net, group);
}

int sim_flow_start_in(struct sim_flownet *net, struct sim_flow *f, int group, double work,
                      const int *res, int n, double rate_cap)
{
    if (f->active || shell_ev_pending(&f->done) || n < 0 || n > SIM_FLOW_MAX_RES || group < 0 ||
        group >= net->group_count || !(rate_cap >= 0) || isnan(work))
        return THAW_EINVAL;
    if (n == 0 && !(rate_cap > 0)) return THAW_EINVAL;
    for (int i = 0; i < n; i++)
        if (res[i] < 0 || res[i] >= net->res_count || net->res[res[i]].group != group)
            return THAW_EINVAL;
    /* Schedule first: it is the only step that can fail (heap growth), and
     * recompute then only moves an event that is already in the heap. */
    int rc = shell_heap_schedule(net->engine, &f->done, net->engine->now_ns);
    if (rc < 0) return rc;
    struct sim_flow_group *g = &net->groups[group];
    for (int i = 0; i < n; i++)
        f->res[i] = res[i];
    f->res_count = n;
    f->group = group;
    f->remaining = work > 0 ? work : 0;
    f->rate = 0;
    f->rate_cap = rate_cap;
    f->updated_ns = net->engine->now_ns;
    f->active = true;
    f->next = NULL;
    f->prev = g->tail;
    if (g->tail)
        g->tail->next = f;
    else
        g->head = f;
    g->tail = f;
    g->flow_count++;
    recompute(net, group);
    return 0;
}

int sim_flow_start(struct sim_flownet *net, struct sim_flow *f, double work, const int *res, int n,
                   double rate_cap)
{
    if (n < 1 || !res || res[0] < 0 || res[0] >= net->res_count) return THAW_EINVAL;
    return sim_flow_start_in(net, f, net->res[res[0]].group, work, res, n, rate_cap);
}

void sim_flow_remove(struct sim_flownet *net, struct sim_flow *f)
{
    if (!f->active) return;
    shell_heap_cancel(net->engine, &f->done);
    struct sim_flow_group *g = &net->groups[f->group];
    if (f->prev)
        f->prev->next = f->next;
    else
        g->head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        g->tail = f->prev;
    f->prev = f->next = NULL;
    f->active = false;
    g->flow_count--;
    advance(f, net->engine->now_ns);
    recompute(net, f->group);
}

double sim_flow_remaining(const struct sim_flownet *net, const struct sim_flow *f)
{
    if (!f->active) return f->remaining;
    double left = f->remaining - f->rate * (double)(net->engine->now_ns - f->updated_ns) * 1e-9;
    return left > 0 ? left : 0;
}

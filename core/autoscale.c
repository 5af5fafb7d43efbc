/* autoscale.c - the autoscalers and the period they run at: each runs once
 * per autoscale_period_ns from the start (the scheduler asks for a WAKE_AT
 * at each period), one model at a time in index order.
 * "on" is Kubernetes-HPA-like. Scale up: when waiting requests per READY
 * instance exceed the target, queue enough scale_up loads to bring the ratio
 * to the target, at most max_step per period and never past replicas_max.
 * Scale down: evict READY instances idle for at least keep_alive_ns, least
 * recently used first, never below replicas_min. Hot standbys are outside
 * both. "off" has no step: no period, no wake-ups. */
#include "core_internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

static void hpa_scale(struct core_sched *s, int m)
{
    const struct core_policy_spec *p = &s->spec->policy;
    const struct core_model_spec *ms = &s->spec->models[m];
    struct core_model_count c;
    core_model_count(s, m, &c);
    size_t waiting = s->models[m].wait.len;
    int ready = c.ready;

    if (waiting > 0 && !s->models[m].broken) {
        double ratio = (double)waiting / (double)(ready > 1 ? ready : 1);
        if (ratio > p->autoscale_target) {
            /* instances needed for waiting/instances <= target */
            double desired = p->autoscale_target > 0.0 ? ceil((double)waiting / p->autoscale_target)
                                                       : (double)waiting + ready;
            double needed = desired - (double)(c.ready + c.loading + c.queued);
            int room = core_model_max(s, m) - (c.ready + c.loading + c.queued);
            int n = needed > (double)room ? room : (int)needed;
            if (p->autoscale_max_step > 0 && n > p->autoscale_max_step) n = p->autoscale_max_step;
            for (int i = 0; i < n; i++)
                core_job_queue(s, m, CORE_REASON_SCALE_UP, false);
        }
        return;
    }
    while (waiting == 0 && ready > ms->replicas_min) {
        size_t victim = SIZE_MAX;
        const struct core_model_state *mst = &s->models[m];
        for (size_t i = 0; i < mst->live_count; i++) {
            const struct core_inst *in = &s->insts[mst->live[i]];
            if (!core_inst_idle(in)) continue;
            if (s->now < core_time_add(in->last_used_ns, p->keep_alive_ns)) continue;
            if (victim == SIZE_MAX || in->last_used_ns < s->insts[victim].last_used_ns)
                victim = mst->live[i];
        }
        if (victim == SIZE_MAX) break;
        core_inst_evict(s, victim);
        ready--;
    }
}

const struct core_autoscale_policy core_autoscale_policies[] = {
    {.name = "off"},
    {.name = "on", .scale = hpa_scale},
    {.name = NULL},
};

const struct core_autoscale_policy *core_autoscale_policy_find(const char *name)
{
    for (const struct core_autoscale_policy *p = core_autoscale_policies; name && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

/* The spec carries a switch, not a name (the scenario's policy.autoscaler
 * is off, on or the on settings), so it selects by the words it is written
 * in. */
const struct core_autoscale_policy *core_autoscale_policy_of(const struct core_policy_spec *p)
{
    return core_autoscale_policy_find(p->autoscale ? "on" : "off");
}

void core_autoscale_run(struct core_sched *s)
{
    if (s->next_autoscale_ns == CORE_NO_TIME || s->now < s->next_autoscale_ns) return;
    assert(s->autoscaler->scale); /* next_autoscale_ns is set only then */
    int64_t period = s->spec->policy.autoscale_period_ns;
    /* one run even when several periods passed without an event */
    int64_t periods = (s->now - s->next_autoscale_ns) / period + 1;
    s->next_autoscale_ns = periods > (INT64_MAX - s->next_autoscale_ns) / period
                               ? CORE_NO_TIME
                               : s->next_autoscale_ns + period * periods;
    for (int m = 0; m < s->spec->model_count; m++)
        s->autoscaler->scale(s, m);
}

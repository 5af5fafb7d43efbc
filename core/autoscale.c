/* autoscale.c - the autoscalers and the period they run at: each runs once
 * per autoscale_period_ns from the start (the scheduler asks for a WAKE_AT
 * at each period), one model at a time in index order.
 * "on" is Kubernetes-HPA-like, deciding on the state the loads already
 * asked for will bring (core.h): LOADING and queued instances count as
 * supply and will take `concurrency` waiting requests each, so a backlog
 * that grows while loads are in flight does not ask again for the same
 * requests; queued scale-ups those loads make unneeded are dropped. Each
 * decision is an AUTOSCALE action, so a run says why it scaled.
 * Scale down: evict READY instances idle for at least keep_alive_ns, least
 * recently used first, never below replicas_min. Hot standbys are outside
 * all of it. "off" has no step: no period, no wake-ups. */
#include "core_internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* The most recently queued scale_up job of model m (not a hot standby), or
 * SIZE_MAX. */
static size_t last_scale_up(const struct core_sched *s, int m)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < s->job_count; i++) {
        const struct core_job *j = &s->jobs[i];
        if (j->model != m || j->hot || j->reason != CORE_REASON_SCALE_UP) continue;
        if (best == SIZE_MAX || j->seq > s->jobs[best].seq) best = i;
    }
    return best;
}

static void drop_job(struct core_sched *s, size_t pos)
{
    struct core_action a = {.kind = CORE_ACT_DROP_JOB, .gpu = -1, .node = -1};
    a.model = s->jobs[pos].model;
    a.reason = s->jobs[pos].reason;
    a.enqueued_ns = s->jobs[pos].enqueued_ns;
    core_queue_remove(s, pos);
    core_emit(s, &a);
}

static void hpa_scale(struct core_sched *s, int m)
{
    const struct core_policy_spec *p = &s->spec->policy;
    const struct core_model_spec *ms = &s->spec->models[m];
    struct core_model_count c;
    core_model_count(s, m, &c);
    struct core_scale_decision d = {0};
    d.waiting = s->models[m].wait.len;
    d.ready = c.ready;
    d.loading = c.loading;
    d.queued = c.queued;
    int supply = c.ready + c.loading + c.queued;
    uint64_t conc = (uint64_t)s->models[m].concurrency;
    uint64_t incoming = (uint64_t)(c.loading + c.queued) * conc;
    d.excess = d.waiting > incoming ? d.waiting - incoming : 0;

    double ratio = (double)d.excess / (double)(supply > 1 ? supply : 1);
    if (d.excess > 0 && !s->models[m].broken && ratio > p->autoscale_target) {
        /* instances needed for excess/instances <= target */
        double wanted = p->autoscale_target > 0.0
                            ? ceil((double)d.excess / p->autoscale_target) - (double)supply
                            : (double)d.excess;
        int room = core_model_max(s, m) - supply;
        d.wanted = wanted > (double)INT32_MAX ? INT32_MAX : (int)wanted;
        int n = d.wanted > room ? room : d.wanted;
        if (p->autoscale_max_step > 0 && n > p->autoscale_max_step) n = p->autoscale_max_step;
        for (int i = 0; i < n; i++)
            core_job_queue(s, m, CORE_REASON_SCALE_UP, false);
        d.asked = n > 0 ? n : 0;
    } else {
        /* a queued scale-up is unneeded while the other incoming instances
         * have a slot for every waiting request */
        while (incoming >= d.waiting + conc) {
            size_t pos = last_scale_up(s, m);
            if (pos == SIZE_MAX) break;
            drop_job(s, pos);
            incoming -= conc;
            d.dropped++;
        }
    }
    int ready = c.ready;
    while (d.waiting == 0 && ready > ms->replicas_min) {
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
        d.evicted++;
    }
    if (d.waiting == 0 && d.dropped == 0 && d.evicted == 0) return;
    struct core_action a = {.kind = CORE_ACT_AUTOSCALE, .gpu = -1, .node = -1, .model = m};
    a.scale = d;
    core_emit(s, &a);
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

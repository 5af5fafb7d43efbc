/* names.c - text names of the core's enums and the one-line action format.
 * These strings land in SQLite rows and replay logs, so they never change
 * once published; the format prints only the fields an action kind uses. */
#include "core.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *core_source_name(enum core_source s)
{
    switch (s) {
    case CORE_SRC_STORAGE:
        return "storage";
    case CORE_SRC_SHM:
        return "shm";
    case CORE_SRC_DISK:
        return "disk";
    case CORE_SRC_PEER:
        return "peer";
    case CORE_SRC_STORE:
        return "store";
    }
    return "?";
}

const char *core_reason_name(enum core_reason r)
{
    switch (r) {
    case CORE_REASON_DEMAND:
        return "demand";
    case CORE_REASON_STANDBY:
        return "standby";
    case CORE_REASON_FAILOVER:
        return "failover";
    case CORE_REASON_SCALE_UP:
        return "scale_up";
    case CORE_REASON_PREWARM:
        return "prewarm";
    }
    return "?";
}

const char *core_inst_state_name(enum core_inst_state s)
{
    switch (s) {
    case CORE_INST_LOADING:
        return "loading";
    case CORE_INST_READY:
        return "ready";
    case CORE_INST_DRAINING:
        return "draining";
    case CORE_INST_EVICTED:
        return "evicted";
    case CORE_INST_FAILED:
        return "failed";
    case CORE_INST_SLEEPING:
        return "sleeping";
    }
    return "?";
}

const char *core_event_kind_name(enum core_event_kind k)
{
    switch (k) {
    case CORE_EV_REQUEST_ARRIVED:
        return "REQUEST_ARRIVED";
    case CORE_EV_REQUEST_FINISHED:
        return "REQUEST_FINISHED";
    case CORE_EV_LOAD_FINISHED:
        return "LOAD_FINISHED";
    case CORE_EV_SHM_FILL_FINISHED:
        return "SHM_FILL_FINISHED";
    case CORE_EV_GPU_FAILED:
        return "GPU_FAILED";
    case CORE_EV_GPU_RECOVERED:
        return "GPU_RECOVERED";
    case CORE_EV_NODE_FAILED:
        return "NODE_FAILED";
    case CORE_EV_NODE_RECOVERED:
        return "NODE_RECOVERED";
    case CORE_EV_TICK:
        return "TICK";
    case CORE_EV_DISK_FILL_FINISHED:
        return "DISK_FILL_FINISHED";
    }
    return "?";
}

const char *core_action_kind_name(enum core_action_kind k)
{
    switch (k) {
    case CORE_ACT_START_LOAD:
        return "START_LOAD";
    case CORE_ACT_START_SHM_FILL:
        return "START_SHM_FILL";
    case CORE_ACT_SHM_DROP:
        return "SHM_DROP";
    case CORE_ACT_EVICT:
        return "EVICT";
    case CORE_ACT_CANCEL_LOAD:
        return "CANCEL_LOAD";
    case CORE_ACT_DISPATCH:
        return "DISPATCH";
    case CORE_ACT_REQUEST_REQUEUED:
        return "REQUEST_REQUEUED";
    case CORE_ACT_WAKE_AT:
        return "WAKE_AT";
    case CORE_ACT_INSTANCE_STATE:
        return "INSTANCE_STATE";
    case CORE_ACT_DROP_JOB:
        return "DROP_JOB";
    case CORE_ACT_AUTOSCALE:
        return "AUTOSCALE";
    case CORE_ACT_SLEEP:
        return "SLEEP";
    case CORE_ACT_WAKE:
        return "WAKE";
    case CORE_ACT_START_DISK_FILL:
        return "START_DISK_FILL";
    case CORE_ACT_DISK_DROP:
        return "DISK_DROP";
    }
    return "?";
}

/* What the storage ladder adds to a line, only where it differs from the
 * lines of before the ladder (so those stay byte for byte): a fill's
 * source other than local storage, a peer load's peer. */
static void ladder_suffix(const struct core_action *a, char *buf, size_t len)
{
    size_t used = strlen(buf);
    if (used + 1 >= len) return;
    bool fill = a->kind == CORE_ACT_START_SHM_FILL || a->kind == CORE_ACT_START_DISK_FILL;
    if (fill && a->source != CORE_SRC_STORAGE)
        snprintf(buf + used, len - used, " src=%s", core_source_name(a->source));
    else if (a->kind == CORE_ACT_START_LOAD && a->source == CORE_SRC_PEER)
        snprintf(buf + used, len - used, " peer_gpu=%d peer_inst=%" PRIu64, a->peer_gpu,
                 a->peer_instance);
    else
        return;
    /* a tp > 1 peer copy adds the peer gang; tp 1 lines are unchanged */
    for (int i = 0; a->tp > 1 && i < a->tp && i < CORE_TP_MAX; i++) {
        used = strlen(buf);
        if (used + 1 >= len) return;
        snprintf(buf + used, len - used, i == 0 ? " peer_gang=%d" : ",%d", a->peer_gang[i]);
    }
}

void core_action_format(const struct core_action *a, char *buf, size_t len)
{
    if (!buf || len == 0) return;
    if (!a) {
        snprintf(buf, len, "(null)");
        return;
    }
    const char *k = core_action_kind_name(a->kind);
    long long t = (long long)a->t_ns;
    switch (a->kind) {
    case CORE_ACT_START_LOAD:
        snprintf(buf, len,
                 "t=%lld %s load=%" PRIu64 " inst=%" PRIu64 " model=%d node=%d gpu=%d src=%s "
                 "reason=%s bytes=%" PRIu64 " vram=%" PRIu64 " enqueued=%lld",
                 t, k, a->load, a->instance, a->model, a->node, a->gpu, core_source_name(a->source),
                 core_reason_name(a->reason), a->bytes, a->vram_bytes, (long long)a->enqueued_ns);
        ladder_suffix(a, buf, len);
        break;
    case CORE_ACT_START_SHM_FILL:
    case CORE_ACT_SHM_DROP:
    case CORE_ACT_START_DISK_FILL:
    case CORE_ACT_DISK_DROP:
        snprintf(buf, len, "t=%lld %s node=%d model=%d bytes=%" PRIu64, t, k, a->node, a->model,
                 a->bytes);
        ladder_suffix(a, buf, len);
        break;
    case CORE_ACT_EVICT:
    case CORE_ACT_CANCEL_LOAD:
        snprintf(buf, len,
                 "t=%lld %s load=%" PRIu64 " inst=%" PRIu64 " model=%d node=%d gpu=%d "
                 "vram=%" PRIu64,
                 t, k, a->load, a->instance, a->model, a->node, a->gpu, a->vram_bytes);
        break;
    case CORE_ACT_DISPATCH:
        snprintf(buf, len,
                 "t=%lld %s req=%" PRIu64 " inst=%" PRIu64 " model=%d node=%d gpu=%d "
                 "cold=%d",
                 t, k, a->request, a->instance, a->model, a->node, a->gpu, a->cold);
        break;
    case CORE_ACT_REQUEST_REQUEUED:
        snprintf(buf, len, "t=%lld %s req=%" PRIu64 " inst=%" PRIu64 " model=%d gpu=%d", t, k,
                 a->request, a->instance, a->model, a->gpu);
        break;
    case CORE_ACT_WAKE_AT:
        snprintf(buf, len, "t=%lld %s wake=%lld", t, k, (long long)a->wake_ns);
        break;
    case CORE_ACT_INSTANCE_STATE:
        snprintf(buf, len,
                 "t=%lld %s inst=%" PRIu64 " load=%" PRIu64 " model=%d node=%d gpu=%d "
                 "state=%s reason=%s",
                 t, k, a->instance, a->load, a->model, a->node, a->gpu,
                 core_inst_state_name(a->state), core_reason_name(a->reason));
        break;
    case CORE_ACT_DROP_JOB:
        snprintf(buf, len, "t=%lld %s model=%d reason=%s enqueued=%lld", t, k, a->model,
                 core_reason_name(a->reason), (long long)a->enqueued_ns);
        break;
    case CORE_ACT_AUTOSCALE: {
        const struct core_scale_decision *d = &a->scale;
        snprintf(buf, len,
                 "t=%lld %s model=%d waiting=%" PRIu64 " ready=%d loading=%d queued=%d "
                 "excess=%" PRIu64 " wanted=%d asked=%d dropped=%d evicted=%d",
                 t, k, a->model, d->waiting, d->ready, d->loading, d->queued, d->excess, d->wanted,
                 d->asked, d->dropped, d->evicted);
        break;
    }
    case CORE_ACT_SLEEP:
    case CORE_ACT_WAKE:
        snprintf(buf, len,
                 "t=%lld %s load=%" PRIu64 " inst=%" PRIu64 " model=%d node=%d gpu=%d "
                 "bytes=%" PRIu64 " vram=%" PRIu64,
                 t, k, a->load, a->instance, a->model, a->node, a->gpu, a->bytes, a->vram_bytes);
        break;
    default:
        snprintf(buf, len, "t=%lld %s", t, k);
        break;
    }
    /* A gang (tp > 1) adds its GPUs; tp 1 lines are unchanged. */
    if (a->tp > 1) {
        size_t used = strlen(buf);
        for (int i = 0; i < a->tp && i < CORE_TP_MAX && used + 1 < len; i++) {
            int n = i == 0 ? snprintf(buf + used, len - used, " tp=%d gang=%d", a->tp, a->gang[0])
                           : snprintf(buf + used, len - used, ",%d", a->gang[i]);
            if (n < 0) break;
            used += (size_t)n;
        }
    }
}

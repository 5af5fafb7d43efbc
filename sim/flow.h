/* flow.h - the flow-level bandwidth model (internal to sim/). A resource is a
 * capacity shared by the flows crossing it (bytes/s of a storage device, a
 * link, a PCIe switch, or cores of a node's CPU: core-seconds per second, so
 * CPU-bound startup phases use the same machinery). A flow is an amount of
 * work crossing a set of resources, optionally capped (one core per phase).
 * Rates are max-min fair by progressive filling, recomputed whenever a flow
 * starts or stops, as in SimGrid's fluid models; each flow's completion event
 * is rescheduled on the driver shell's heap accordingly.
 *
 * Resources belong to a group (a node) and a flow's resources all lie in one
 * group, so a change recomputes only that group: nodes do not share links. */
#ifndef THAW_SIM_FLOW_H
#define THAW_SIM_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "shell.h"

#define SIM_FLOW_MAX_RES 4

struct sim_flow {
    struct shell_ev done; /* fires when the work is done; done.kind is the owner's */
    double remaining;   /* work left at updated_ns (bytes, or core-seconds) */
    double rate;        /* work per second now */
    double rate_cap;    /* 0: no cap */
    int64_t updated_ns;
    int res[SIM_FLOW_MAX_RES];
    int res_count;
    int group;
    bool active;
    bool frozen;                  /* scratch of the progressive filling */
    struct sim_flow *prev, *next; /* the group's active flows, in start order */
};

struct sim_resource {
    double capacity; /* work per second, > 0 */
    int group;
    double left;  /* scratch: capacity not yet handed out */
    int unfrozen; /* scratch: flows still rising through it */
};

struct sim_flow_group {
    struct sim_flow *head, *tail;
    int *res; /* the group's resources */
    int res_count, res_capacity;
    int flow_count;
};

struct sim_flownet {
    struct shell_heap *engine;
    struct sim_resource *res;
    int res_count, res_capacity;
    struct sim_flow_group *groups;
    int group_count;
    /* Optional (NULL after init): called after every recompute of a group,
     * when each of its resources' `left` is its capacity not in use, so
     * the owner can record bandwidth in use over time (paths.c). */
    void (*on_rates)(void *ctx, const struct sim_flownet *net, int group);
    void *on_rates_ctx;
};

/* Sets up a network of group_count groups (nodes) over the engine. */
int sim_flownet_init(struct sim_flownet *net, struct shell_heap *engine, int group_count);
/* Flows still active are left alone (their owner frees them). */
void sim_flownet_free(struct sim_flownet *net);
/* Adds a resource to a group; returns its id (>= 0) or THAW_EINVAL (bad
 * group, capacity not > 0) / THAW_ENOMEM. */
int sim_flownet_add_resource(struct sim_flownet *net, int group, double capacity_per_s);

void sim_flow_init(struct sim_flow *f, int kind);
/* Starts an idle flow of `work` units over res[0..n-1] (1 <= n <=
 * SIM_FLOW_MAX_RES, all in one group) at the engine's current time, at most
 * rate_cap units/s (0 = uncapped). Its done event is scheduled (at now when
 * work <= 0) and the rates of the group's flows are recomputed. Returns 0,
 * THAW_EINVAL (bad resource, mixed groups, flow already active), THAW_ENOMEM. */
int sim_flow_start(struct sim_flownet *net, struct sim_flow *f, double work, const int *res, int n,
                   double rate_cap);
/* Like sim_flow_start, naming the group, for a flow that may cross no
 * resource (n = 0, then rate_cap must be > 0: a one-core phase on a node
 * whose CPU is not modelled). */
int sim_flow_start_in(struct sim_flownet *net, struct sim_flow *f, int group, double work,
                      const int *res, int n, double rate_cap);
/* Removes an active flow (finished: its done event fired; or aborted: its
 * event is cancelled) and recomputes its group. No-op for an idle flow. */
void sim_flow_remove(struct sim_flownet *net, struct sim_flow *f);
/* Work left at the engine's current time. */
double sim_flow_remaining(const struct sim_flownet *net, const struct sim_flow *f);

#endif

/* policy_names.c - the names of every policy, by kind. The scenario loader
 * validates against these lists; the scheduler's policy tables must carry
 * exactly these names (a core test checks that they agree). */
#include "spec.h"

#include <string.h>

static const char *const queue_names[] = {"fifo", "priority", "edf", "sjf", NULL};
static const char *const placement_names[] = {"first_fit", "best_fit", "spread", "locality", NULL};
static const char *const eviction_names[] = {"lru", "keep_alive", "none", NULL};
static const char *const shm_names[] = {"off", "preload", "lru", NULL};
static const char *const balancer_names[] = {"lru", "round_robin", "least_outstanding", "p2c",
                                             NULL};
/* policy.autoscaler is a switch (spec.autoscale): its two words */
static const char *const autoscaler_names[] = {"off", "on", NULL};

const char *const *core_policy_names(const char *kind)
{
    if (!kind) return NULL;
    if (!strcmp(kind, "queue")) return queue_names;
    if (!strcmp(kind, "placement")) return placement_names;
    if (!strcmp(kind, "eviction")) return eviction_names;
    if (!strcmp(kind, "shm")) return shm_names;
    if (!strcmp(kind, "balancer")) return balancer_names;
    if (!strcmp(kind, "autoscaler")) return autoscaler_names;
    return NULL;
}

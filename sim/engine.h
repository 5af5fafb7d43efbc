/* engine.h - the simulator's event engine (internal to sim/): virtual time and
 * an intrusive binary min-heap of pending events ordered by (time, sequence
 * number), so two events due at the same instant fire in the order they were
 * scheduled, on every run (libuv's timer order). The event lives inside its
 * owner (a load, a flow, a request); the heap only holds pointers to it. */
#ifndef THAW_SIM_ENGINE_H
#define THAW_SIM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* offsetof-based owner lookup for intrusive members. */
#define SIM_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define SIM_EV_IDLE SIZE_MAX

/* An event. `kind` is the owner's tag (the engine never reads it). Initialise
 * with sim_ev_init before first use; an idle event may be freed by its owner,
 * a pending one must be cancelled first. */
struct sim_ev {
    int64_t t_ns;
    uint64_t seq;    /* order among events due at the same t_ns */
    size_t heap_idx; /* position in the heap, SIM_EV_IDLE when not pending */
    int kind;
};

struct sim_engine {
    struct sim_ev **heap;
    size_t count, capacity;
    uint64_t next_seq;
    int64_t now_ns;     /* time of the last event popped; never decreases */
    uint64_t processed; /* events popped */
};

void sim_ev_init(struct sim_ev *ev, int kind);
static inline bool sim_ev_pending(const struct sim_ev *ev)
{
    return ev->heap_idx != SIM_EV_IDLE;
}

void sim_engine_init(struct sim_engine *e);
void sim_engine_free(struct sim_engine *e);

/* Schedules an idle event at t_ns (>= now_ns). Returns 0, THAW_EINVAL for a
 * time in the past or an event already pending, THAW_ENOMEM. */
int sim_engine_schedule(struct sim_engine *e, struct sim_ev *ev, int64_t t_ns);
/* Removes a pending event; no-op for an idle one. */
void sim_engine_cancel(struct sim_engine *e, struct sim_ev *ev);
/* Moves an event (pending or idle) to t_ns with a fresh sequence number, as
 * if cancelled and scheduled again. Same errors as schedule. */
int sim_engine_reschedule(struct sim_engine *e, struct sim_ev *ev, int64_t t_ns);
/* The next event without removing it, or NULL. */
struct sim_ev *sim_engine_peek(const struct sim_engine *e);
/* Removes the next event, advances now_ns to its time; NULL when empty. */
struct sim_ev *sim_engine_pop(struct sim_engine *e);

#endif

/* heap.h - the driver shell's event heap: virtual time and
 * an intrusive binary min-heap of pending events ordered by (time, sequence
 * number), so two events due at the same instant fire in the order they were
 * scheduled, on every run (libuv's timer order). The event lives inside its
 * owner (a load, a flow, a request); the heap holds pointers to it beside a
 * copy of its (time, seq) key. */
#ifndef THAW_SHELL_HEAP_H
#define THAW_SHELL_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* offsetof-based owner lookup for intrusive members. */
#define SHELL_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define SHELL_EV_IDLE SIZE_MAX

/* An event. `kind` is the owner's tag (the engine never reads it). Initialise
 * with shell_ev_init before first use; an idle event may be freed by its owner,
 * a pending one must be cancelled first. */
struct shell_ev {
    int64_t t_ns;
    uint64_t seq;    /* order among events due at the same t_ns */
    size_t heap_idx; /* position in the heap, SHELL_EV_IDLE when not pending */
    int kind;
};

/* A heap entry: the event's key inline, so sifting compares without
 * following the pointer (the event keeps its own copy of t_ns and seq). */
struct shell_heap_slot {
    int64_t t_ns;
    uint64_t seq;
    struct shell_ev *ev;
};

struct shell_heap {
    struct shell_heap_slot *heap;
    size_t count, capacity;
    uint64_t next_seq;
    int64_t now_ns;     /* time of the last event popped; never decreases */
    uint64_t processed; /* events popped */
};

void shell_ev_init(struct shell_ev *ev, int kind);
static inline bool shell_ev_pending(const struct shell_ev *ev)
{
    return ev->heap_idx != SHELL_EV_IDLE;
}

void shell_heap_init(struct shell_heap *e);
void shell_heap_free(struct shell_heap *e);

/* Schedules an idle event at t_ns (>= now_ns). Returns 0, THAW_EINVAL for a
 * time in the past or an event already pending, THAW_ENOMEM. */
int shell_heap_schedule(struct shell_heap *e, struct shell_ev *ev, int64_t t_ns);
/* Removes a pending event; no-op for an idle one. */
void shell_heap_cancel(struct shell_heap *e, struct shell_ev *ev);
/* Moves an event (pending or idle) to t_ns with a fresh sequence number, as
 * if cancelled and scheduled again. Same errors as schedule. */
int shell_heap_reschedule(struct shell_heap *e, struct shell_ev *ev, int64_t t_ns);
/* The next event without removing it, or NULL. */
struct shell_ev *shell_heap_peek(const struct shell_heap *e);
/* Removes the next event, advances now_ns to its time; NULL when empty. */
struct shell_ev *shell_heap_pop(struct shell_heap *e);

#endif

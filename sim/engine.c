/* engine.c - the event heap behind engine.h: an array-backed binary min-heap
 * of pointers whose index is kept inside each event (the intrusive part), so
 * cancel and reschedule are O(log n) without a search. Order is (t_ns, seq);
 * seq is unique, so the order is total and runs are reproducible. */
#include "engine.h"

#include <assert.h>
#include <stdlib.h>

#include "thaw_err.h"

void sim_ev_init(struct sim_ev *ev, int kind)
{
    ev->t_ns = 0;
    ev->seq = 0;
    ev->heap_idx = SIM_EV_IDLE;
    ev->kind = kind;
}

void sim_engine_init(struct sim_engine *e)
{
    e->heap = NULL;
    e->count = e->capacity = 0;
    e->next_seq = 0;
    e->now_ns = 0;
    e->processed = 0;
}

void sim_engine_free(struct sim_engine *e)
{
    for (size_t i = 0; i < e->count; i++)
        e->heap[i]->heap_idx = SIM_EV_IDLE;
    free(e->heap);
    sim_engine_init(e);
}

static bool less(const struct sim_ev *a, const struct sim_ev *b)
{
    if (a->t_ns != b->t_ns) return a->t_ns < b->t_ns;
    return a->seq < b->seq;
}

static void place(struct sim_engine *e, size_t i, struct sim_ev *ev)
{
    e->heap[i] = ev;
    ev->heap_idx = i;
}

static void sift_up(struct sim_engine *e, size_t i)
{
    struct sim_ev *ev = e->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!less(ev, e->heap[parent])) break;
        place(e, i, e->heap[parent]);
        i = parent;
    }
    place(e, i, ev);
}

static void sift_down(struct sim_engine *e, size_t i)
{
    struct sim_ev *ev = e->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= e->count) break;
        if (child + 1 < e->count && less(e->heap[child + 1], e->heap[child])) child++;
        if (!less(e->heap[child], ev)) break;
        place(e, i, e->heap[child]);
        i = child;
    }
    place(e, i, ev);
}

int sim_engine_schedule(struct sim_engine *e, struct sim_ev *ev, int64_t t_ns)
{
    if (sim_ev_pending(ev) || t_ns < e->now_ns) return THAW_EINVAL;
    if (e->count == e->capacity) {
        size_t cap = e->capacity ? e->capacity * 2 : 64;
        struct sim_ev **grown = realloc(e->heap, cap * sizeof *grown);
        if (!grown) return THAW_ENOMEM;
        e->heap = grown;
        e->capacity = cap;
    }
    ev->t_ns = t_ns;
    ev->seq = e->next_seq++;
    place(e, e->count++, ev);
    sift_up(e, ev->heap_idx);
    return 0;
}

void sim_engine_cancel(struct sim_engine *e, struct sim_ev *ev)
{
    if (!sim_ev_pending(ev)) return;
    size_t i = ev->heap_idx;
    assert(i < e->count && e->heap[i] == ev);
    ev->heap_idx = SIM_EV_IDLE;
    struct sim_ev *last = e->heap[--e->count];
    if (last == ev) return;
    place(e, i, last);
    /* The moved element may belong above or below its new place. */
    if (i > 0 && less(last, e->heap[(i - 1) / 2]))
        sift_up(e, i);
    else
        sift_down(e, i);
}

int sim_engine_reschedule(struct sim_engine *e, struct sim_ev *ev, int64_t t_ns)
{
    if (t_ns < e->now_ns) return THAW_EINVAL;
    sim_engine_cancel(e, ev);
    return sim_engine_schedule(e, ev, t_ns);
}

struct sim_ev *sim_engine_peek(const struct sim_engine *e)
{
    return e->count ? e->heap[0] : NULL;
}

struct sim_ev *sim_engine_pop(struct sim_engine *e)
{
    if (!e->count) return NULL;
    struct sim_ev *top = e->heap[0];
    sim_engine_cancel(e, top);
    assert(top->t_ns >= e->now_ns);
    e->now_ns = top->t_ns;
    e->processed++;
    return top;
}

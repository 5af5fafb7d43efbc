/* heap.c - the event heap behind heap.h: an array-backed 4-ary min-heap
 * of (t_ns, seq, pointer) entries, the key inline so a sift compares
 * within the array, whose index is kept inside each event (the intrusive
 * part), so cancel and reschedule are O(log n) without a search. Four
 * children a node halve the levels of a binary heap, and with them the
 * index writes into the events (one per level moved, each a cache miss in
 * a large heap); the children sit side by side in the array. Order is
 * (t_ns, seq); seq is unique, so the order is total, the pop order that of
 * any correct heap, and runs are reproducible. */
#include "heap.h"

#include <assert.h>
#include <stdlib.h>

#include "thaw_err.h"

#define HEAP_D 4 /* children per node */

void shell_ev_init(struct shell_ev *ev, int kind)
{
    ev->t_ns = 0;
    ev->seq = 0;
    ev->heap_idx = SHELL_EV_IDLE;
    ev->kind = kind;
}

void shell_heap_init(struct shell_heap *e)
{
    e->heap = NULL;
    e->count = e->capacity = 0;
    e->next_seq = 0;
    e->now_ns = 0;
    e->processed = 0;
}

void shell_heap_free(struct shell_heap *e)
{
    for (size_t i = 0; i < e->count; i++)
        e->heap[i].ev->heap_idx = SHELL_EV_IDLE;
    free(e->heap);
    shell_heap_init(e);
}

static bool less(const struct shell_heap_slot *a, const struct shell_heap_slot *b)
{
    if (a->t_ns != b->t_ns) return a->t_ns < b->t_ns;
    return a->seq < b->seq;
}

static void place(struct shell_heap *e, size_t i, struct shell_heap_slot s)
{
    e->heap[i] = s;
    s.ev->heap_idx = i;
}

static void sift_up(struct shell_heap *e, size_t i)
{
    struct shell_heap_slot s = e->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / HEAP_D;
        if (!less(&s, &e->heap[parent])) break;
        place(e, i, e->heap[parent]);
        i = parent;
    }
    place(e, i, s);
}

static void sift_down(struct shell_heap *e, size_t i)
{
    struct shell_heap_slot s = e->heap[i];
    for (;;) {
        size_t first = HEAP_D * i + 1;
        if (first >= e->count) break;
        size_t child = first, end = first + HEAP_D < e->count ? first + HEAP_D : e->count;
        for (size_t k = first + 1; k < end; k++)
            if (less(&e->heap[k], &e->heap[child])) child = k;
        if (!less(&e->heap[child], &s)) break;
        place(e, i, e->heap[child]);
        i = child;
    }
    place(e, i, s);
}

int shell_heap_schedule(struct shell_heap *e, struct shell_ev *ev, int64_t t_ns)
{
    if (shell_ev_pending(ev) || t_ns < e->now_ns) return THAW_EINVAL;
    if (e->count == e->capacity) {
        size_t cap = e->capacity ? e->capacity * 2 : 64;
        struct shell_heap_slot *grown = realloc(e->heap, cap * sizeof *grown);
        if (!grown) return THAW_ENOMEM;
        e->heap = grown;
        e->capacity = cap;
    }
    ev->t_ns = t_ns;
    ev->seq = e->next_seq++;
    place(e, e->count++, (struct shell_heap_slot){t_ns, ev->seq, ev});
    sift_up(e, ev->heap_idx);
    return 0;
}

void shell_heap_cancel(struct shell_heap *e, struct shell_ev *ev)
{
    if (!shell_ev_pending(ev)) return;
    size_t i = ev->heap_idx;
    assert(i < e->count && e->heap[i].ev == ev);
    ev->heap_idx = SHELL_EV_IDLE;
    struct shell_heap_slot last = e->heap[--e->count];
    if (last.ev == ev) return;
    place(e, i, last);
    /* The moved element may belong above or below its new place. */
    if (i > 0 && less(&last, &e->heap[(i - 1) / HEAP_D]))
        sift_up(e, i);
    else
        sift_down(e, i);
}

int shell_heap_reschedule(struct shell_heap *e, struct shell_ev *ev, int64_t t_ns)
{
    if (t_ns < e->now_ns) return THAW_EINVAL;
    shell_heap_cancel(e, ev);
    return shell_heap_schedule(e, ev, t_ns);
}

struct shell_ev *shell_heap_peek(const struct shell_heap *e)
{
    return e->count ? e->heap[0].ev : NULL;
}

struct shell_ev *shell_heap_pop(struct shell_heap *e)
{
    if (!e->count) return NULL;
    struct shell_ev *top = e->heap[0].ev;
    /* shell_heap_cancel of the root: the last entry sifts down from it */
    top->heap_idx = SHELL_EV_IDLE;
    if (--e->count > 0) {
        e->heap[0] = e->heap[e->count];
        sift_down(e, 0);
    }
    assert(top->t_ns >= e->now_ns);
    e->now_ns = top->t_ns;
    e->processed++;
    return top;
}

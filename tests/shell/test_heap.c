/* test_engine.c - the event heap (sim/engine.c): (time, sequence) order,
 * cancel, reschedule, virtual time, and a randomized check of the heap
 * against the order it must produce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "heap.h"
#include "thaw_err.h"

static void ties_fire_in_schedule_order(void **state)
{
    (void)state;
    struct shell_heap e;
    shell_heap_init(&e);
    struct shell_ev ev[4];
    for (int i = 0; i < 4; i++)
        shell_ev_init(&ev[i], i);
    /* ev0@5 ev1@3 ev2@5 ev3@3: by time then by scheduling order the pops
     * are ev1 (3, seq 1), ev3 (3, seq 3), ev0 (5, seq 0), ev2 (5, seq 2). */
    assert_int_equal(shell_heap_schedule(&e, &ev[0], 5), 0);
    assert_int_equal(shell_heap_schedule(&e, &ev[1], 3), 0);
    assert_int_equal(shell_heap_schedule(&e, &ev[2], 5), 0);
    assert_int_equal(shell_heap_schedule(&e, &ev[3], 3), 0);
    int want[4] = {1, 3, 0, 2};
    int64_t want_t[4] = {3, 3, 5, 5};
    for (int i = 0; i < 4; i++) {
        struct shell_ev *p = shell_heap_pop(&e);
        assert_non_null(p);
        assert_int_equal(p->kind, want[i]);
        assert_int_equal(e.now_ns, want_t[i]);
        assert_false(shell_ev_pending(p));
    }
    assert_null(shell_heap_pop(&e));
    assert_int_equal(e.processed, 4);
    shell_heap_free(&e);
}

static void cancel_and_reschedule(void **state)
{
    (void)state;
    struct shell_heap e;
    shell_heap_init(&e);
    struct shell_ev a, b, c;
    shell_ev_init(&a, 'a');
    shell_ev_init(&b, 'b');
    shell_ev_init(&c, 'c');
    assert_int_equal(shell_heap_schedule(&e, &a, 10), 0);
    assert_int_equal(shell_heap_schedule(&e, &b, 20), 0);
    assert_int_equal(shell_heap_schedule(&e, &c, 30), 0);
    /* Pending twice is refused. */
    assert_int_equal(shell_heap_schedule(&e, &a, 40), THAW_EINVAL);
    shell_heap_cancel(&e, &b);
    assert_false(shell_ev_pending(&b));
    shell_heap_cancel(&e, &b); /* idle: no-op */
    /* a moves to 30: it ties with c but is rescheduled later, so c first. */
    assert_int_equal(shell_heap_reschedule(&e, &a, 30), 0);
    assert_int_equal(shell_heap_peek(&e)->kind, 'c');
    assert_int_equal(shell_heap_pop(&e)->kind, 'c');
    assert_int_equal(shell_heap_pop(&e)->kind, 'a');
    assert_int_equal(e.now_ns, 30);
    /* Time never goes back: scheduling before now is refused. */
    assert_int_equal(shell_heap_schedule(&e, &b, 29), THAW_EINVAL);
    assert_int_equal(shell_heap_reschedule(&e, &b, 29), THAW_EINVAL);
    assert_int_equal(shell_heap_schedule(&e, &b, 30), 0);
    assert_int_equal(shell_heap_pop(&e)->kind, 'b');
    assert_null(shell_heap_peek(&e));
    shell_heap_free(&e);
}

/* 2000 events at pseudo-random times with many ties, a third cancelled and
 * a third rescheduled: the pops must come out sorted by (t, seq), each
 * surviving event exactly once. */
static void randomized_order(void **state)
{
    (void)state;
    enum { N = 2000 };
    static struct shell_ev ev[N];
    static int seen[N];
    struct shell_heap e;
    shell_heap_init(&e);
    uint64_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        shell_ev_init(&ev[i], i);
        seen[i] = 0;
        assert_int_equal(shell_heap_schedule(&e, &ev[i], (int64_t)((x >> 33) % 100)), 0);
    }
    int alive = N;
    for (int i = 0; i < N; i += 3) {
        shell_heap_cancel(&e, &ev[i]);
        alive--;
    }
    for (int i = 1; i < N; i += 3) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        assert_int_equal(shell_heap_reschedule(&e, &ev[i], (int64_t)((x >> 33) % 100)), 0);
    }
    assert_int_equal((int)e.count, alive);
    int64_t last_t = -1;
    uint64_t last_seq = 0;
    int popped = 0;
    struct shell_ev *p;
    while ((p = shell_heap_pop(&e))) {
        assert_true(p->t_ns > last_t || (p->t_ns == last_t && p->seq > last_seq));
        last_t = p->t_ns;
        last_seq = p->seq;
        assert_int_not_equal(p->kind % 3, 0);
        seen[p->kind]++;
        popped++;
    }
    assert_int_equal(popped, alive);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], i % 3 == 0 ? 0 : 1);
    shell_heap_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ties_fire_in_schedule_order),
        cmocka_unit_test(cancel_and_reschedule),
        cmocka_unit_test(randomized_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

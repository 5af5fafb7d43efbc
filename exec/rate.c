/* rate.c - shared read-rate caps (rate.h): a virtual time line per pipe. */
#include "rate.h"

#include <errno.h>
#include <time.h>

#include "thaw_err.h"

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void exec_rate_init(struct exec_rate *r, double bytes_per_s)
{
    pthread_mutex_init(&r->lock, NULL);
    r->bytes_per_s = bytes_per_s;
    r->free_ns = 0;
}

void exec_rate_destroy(struct exec_rate *r)
{
    pthread_mutex_destroy(&r->lock);
}

int64_t exec_rate_reserve(struct exec_rate *const *rates, int n, uint64_t bytes)
{
    int64_t now = mono(), end = now;
    for (int i = 0; i < n; i++) {
        struct exec_rate *r = rates[i];
        if (!r || !(r->bytes_per_s > 0)) continue;
        pthread_mutex_lock(&r->lock);
        int64_t start = r->free_ns > now ? r->free_ns : now;
        r->free_ns = start + (int64_t)((double)bytes / r->bytes_per_s * 1e9);
        if (r->free_ns > end) end = r->free_ns;
        pthread_mutex_unlock(&r->lock);
    }
    return end;
}

int exec_rate_wait(int64_t deadline_ns, const atomic_bool *cancel)
{
    for (;;) {
        if (cancel && atomic_load(cancel)) return THAW_EINTR;
        int64_t left = deadline_ns - mono();
        if (left <= 0) return 0;
        if (left > 10000000) left = 10000000;
        struct timespec ts = {left / 1000000000LL, left % 1000000000LL};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

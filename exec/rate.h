/* rate.h - a read-rate cap shared by every transfer through one pipe on
 * this host (internal to exec/): a scenario's remote store, a node's
 * network link, its disk cache, a GPU's NVLink port. The real device under
 * a store or a disk-cache directory is often faster than the scenario
 * says (a local NVMe standing in for S3); the cap brings it down to the
 * scenario's bandwidth. It never speeds anything up: where the device is
 * slower, the measured time says so.
 *
 * How: the pipe is a virtual time line. A transfer reserves its bytes
 * before it moves them: the reservation starts when the pipe is free (or
 * now) and lasts bytes / rate; the transfer then moves its bytes and waits
 * until the reservation's end. Transfers reserve chunk by chunk (loads) so
 * concurrent ones interleave and share the pipe about evenly, as the
 * simulator's max-min split does; a transfer through several caps waits for
 * the latest of its reservations (about the narrowest pipe). rate is bytes
 * per wall second (the scenario's bandwidth times exec's time scale).
 *
 * Thread-safety: every function may be called from any thread. */
#ifndef THAW_EXEC_RATE_H
#define THAW_EXEC_RATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct exec_rate {
    pthread_mutex_t lock;
    double bytes_per_s; /* > 0 */
    int64_t free_ns;    /* CLOCK_MONOTONIC time the pipe is next free */
};

void exec_rate_init(struct exec_rate *r, double bytes_per_s);
void exec_rate_destroy(struct exec_rate *r);
/* Reserves `bytes` on each of rates[0..n-1] (NULL entries skipped) and
 * returns the monotonic time the last reservation ends. */
int64_t exec_rate_reserve(struct exec_rate *const *rates, int n, uint64_t bytes);
/* Sleeps until monotonic time deadline_ns, polling `cancel` (may be NULL)
 * every 10 ms: 0, or THAW_EINTR when cancelled. */
int exec_rate_wait(int64_t deadline_ns, const atomic_bool *cancel);

#endif

/* mmc_bare.c - the floor `make bench` measures thaw's M/M/c against: the
 * same queue (Poisson arrivals at rate rho c, c servers, exponential service
 * of mean 1 s, one FIFO queue) as a bare C event loop with a binary heap of
 * (t, seq) inline in its array and nothing else: no scheduler, no recorder.
 * Draws as thaw draws (workload/rng.c): xoshiro256** seeded with splitmix64,
 * 53-bit uniforms, exponentials by GSL's gsl_ran_exponential formula
 * (-mean log1p(-u)), so the comparison is like with like; the queue is a
 * ring that grows with the requests waiting (memory O(live), as thaw's).
 * Prints requests/s, ns per event and the mean wait (a check against Erlang
 * C). usage: mmc_bare C RHO REQUESTS SEED */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct ev {
    double t;
    uint64_t seq;
    int kind; /* 0 arrival, 1 departure */
};

struct heap {
    struct ev *a;
    size_t n;
};

static int less(const struct ev *a, const struct ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(struct heap *h, struct ev e)
{
    size_t i = h->n++;
    while (i > 0 && less(&e, &h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = e;
}

static struct ev pop(struct heap *h)
{
    struct ev top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && less(&h->a[c + 1], &h->a[c])) c++;
        if (!less(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    h->a[i] = last;
    return top;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t *s)
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* gsl_ran_exponential: -mu log1p(-u), u in [0, 1) with 53 random bits */
static double expo(uint64_t *s, double mean)
{
    double u = (double)(xoshiro_next(s) >> 11) * 0x1.0p-53;
    return -mean * log1p(-u);
}

/* FIFO of arrival times, a ring doubled when full */
struct ring {
    double *a;
    size_t head, n, cap;
};

static int ring_push(struct ring *q, double t)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        double *g = malloc(cap * sizeof *g);
        if (!g) return -1;
        for (size_t i = 0; i < q->n; i++)
            g[i] = q->a[(q->head + i) % q->cap];
        free(q->a);
        q->a = g;
        q->head = 0;
        q->cap = cap;
    }
    q->a[(q->head + q->n++) & (q->cap - 1)] = t;
    return 0;
}

static double ring_pop(struct ring *q)
{
    double t = q->a[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->n--;
    return t;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mmc_bare C RHO REQUESTS SEED\n");
        return 2;
    }
    long c = atol(argv[1]);
    double rho = atof(argv[2]);
    long n = atol(argv[3]);
    uint64_t rng[4], sm = (uint64_t)atoll(argv[4]);
    for (int i = 0; i < 4; i++)
        rng[i] = splitmix64(&sm);
    double lambda = rho * (double)c;
    struct heap h = {malloc((size_t)(c + 2) * sizeof *h.a), 0};
    struct ring queue = {0};
    if (!h.a || c < 1 || n < 1) return 1;
    long busy = 0, arrived = 0, done = 0;
    uint64_t seq = 0, events = 0;
    double wait_sum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    push(&h, (struct ev){expo(rng, 1 / lambda), seq++, 0});
    while (done < n && h.n > 0) {
        struct ev e = pop(&h);
        events++;
        if (e.kind == 0) {
            arrived++;
            if (arrived < n) push(&h, (struct ev){e.t + expo(rng, 1 / lambda), seq++, 0});
            if (busy < c) {
                busy++;
                push(&h, (struct ev){e.t + expo(rng, 1), seq++, 1});
            } else if (ring_push(&queue, e.t) < 0) {
                return 1;
            }
        } else {
            done++;
            if (queue.n > 0) {
                wait_sum += e.t - ring_pop(&queue);
                push(&h, (struct ev){e.t + expo(rng, 1), seq++, 1});
            } else {
                busy--;
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("bare c=%ld requests=%ld events=%llu wall_s=%.4f req_per_s=%.0f ns_per_event=%.1f "
           "mean_wait_s=%.4f\n",
           c, done, (unsigned long long)events, wall, (double)done / wall,
           wall * 1e9 / (double)events, wait_sum / (double)done);
    free(h.a);
    free(queue.a);
    return 0;
}

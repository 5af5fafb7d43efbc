/* mmc_bare.c - the floor `make bench` measures thaw's M/M/c against: the
 * same queue (Poisson arrivals at rate rho c, c servers, exponential service
 * of mean 1 s, one FIFO queue) as a bare C event loop with a binary heap of
 * (t, seq) inline in its array and nothing else: no scheduler, no recorder.
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

/* xorshift64, then -mean ln u */
static double expo(uint64_t *s, double mean)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    double u = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    return -mean * log(u);
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
    uint64_t rng = (uint64_t)atoll(argv[4]) * 0x9E3779B97F4A7C15ull + 1;
    double lambda = rho * (double)c;
    struct heap h = {malloc((size_t)(c + 2) * sizeof *h.a), 0};
    double *queue = malloc((size_t)(n > 0 ? n : 1) * sizeof *queue); /* arrival times, FIFO */
    if (!h.a || !queue || c < 1 || n < 1) return 1;
    size_t qhead = 0, qtail = 0;
    long busy = 0, arrived = 0, done = 0;
    uint64_t seq = 0, events = 0;
    double wait_sum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    push(&h, (struct ev){expo(&rng, 1 / lambda), seq++, 0});
    while (done < n && h.n > 0) {
        struct ev e = pop(&h);
        events++;
        if (e.kind == 0) {
            arrived++;
            if (arrived < n) push(&h, (struct ev){e.t + expo(&rng, 1 / lambda), seq++, 0});
            if (busy < c) {
                busy++;
                push(&h, (struct ev){e.t + expo(&rng, 1), seq++, 1});
            } else {
                queue[qtail++] = e.t;
            }
        } else {
            done++;
            if (qhead < qtail) {
                wait_sum += e.t - queue[qhead++];
                push(&h, (struct ev){e.t + expo(&rng, 1), seq++, 1});
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
    free(queue);
    return 0;
}

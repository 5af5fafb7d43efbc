/* rng.c - stream seeding and distribution draws of workload.h, for both
 * drivers. The generator is xoshiro256** exposed as a gsl_rng_type, seeded by filling
 * its state with splitmix64 outputs (the seeding its authors recommend);
 * distributions are GSL's. */
#include "workload.h"

#include <math.h>
#include <stdbool.h>

#include <gsl/gsl_randist.h>

struct xoshiro_state {
    uint64_t s[4];
};

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(struct xoshiro_state *st)
{
    uint64_t *s = st->s;
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

static void xoshiro_seed64(struct xoshiro_state *st, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        st->s[i] = wl_rng_splitmix64(&sm);
    /* An all-zero state is the one fixed point; splitmix64 never gives four
     * zeros in a row, but be explicit. */
    if (!(st->s[0] | st->s[1] | st->s[2] | st->s[3])) st->s[0] = 1;
}

static void xoshiro_set(void *state, unsigned long int seed)
{
    xoshiro_seed64(state, (uint64_t)seed);
}

/* 32-bit outputs (the top bits, the strongest), like mt19937, so GSL
 * routines that take bits from gsl_rng_get see the range they expect. */
static unsigned long int xoshiro_get(void *state)
{
    return (unsigned long int)(xoshiro_next(state) >> 32);
}

/* 53 random bits in [0, 1). */
static double xoshiro_get_double(void *state)
{
    return (double)(xoshiro_next(state) >> 11) * 0x1.0p-53;
}

static const gsl_rng_type xoshiro_type = {
    "xoshiro256**", 0xffffffffUL,       0, sizeof(struct xoshiro_state), xoshiro_set,
    xoshiro_get,    xoshiro_get_double,
};

const gsl_rng_type *const wl_rng_xoshiro256ss = &xoshiro_type;

uint64_t wl_rng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t wl_rng_key(const char *name, int ordinal)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    uint64_t st = h ^ ((uint64_t)(uint32_t)ordinal << 32);
    return wl_rng_splitmix64(&st);
}

uint64_t wl_rng_stream_seed(uint64_t run_seed, int kind, uint64_t key)
{
    /* Chained splitmix64 steps: each input is absorbed, then mixed, so
     * (seed, kind, key) triples that differ anywhere give unrelated seeds. */
    uint64_t st = run_seed;
    uint64_t a = wl_rng_splitmix64(&st);
    st = a ^ (uint64_t)(uint32_t)kind;
    uint64_t b = wl_rng_splitmix64(&st);
    st = b ^ key;
    return wl_rng_splitmix64(&st);
}

gsl_rng *wl_rng_new(uint64_t run_seed, int kind, uint64_t key)
{
    gsl_rng *r = gsl_rng_alloc(wl_rng_xoshiro256ss);
    if (!r) return NULL;
    /* Write the state directly: gsl_rng_set takes an unsigned long, which
     * is 32 bits on some platforms. */
    xoshiro_seed64(gsl_rng_state(r), wl_rng_stream_seed(run_seed, kind, key));
    return r;
}

static int64_t to_ns(double x)
{
    if (!(x > 0)) return 0; /* also NaN */
    if (x >= 4e18) return (int64_t)4e18;
    return (int64_t)llround(x);
}

int64_t wl_draw_ns(gsl_rng *r, const struct core_dist *d)
{
    double mean = (double)d->mean_ns;
    switch (d->kind) {
    case CORE_DIST_FIXED:
        return to_ns(mean);
    case CORE_DIST_EXP:
        return to_ns(gsl_ran_exponential(r, mean));
    case CORE_DIST_LOGNORMAL: {
        if (!(d->cv > 0) || !(mean > 0)) return to_ns(mean);
        /* mean m, cv c: sigma^2 = ln(1 + c^2), mu = ln m - sigma^2 / 2. */
        double s2 = log1p(d->cv * d->cv);
        return to_ns(gsl_ran_lognormal(r, log(mean) - s2 / 2, sqrt(s2)));
    }
    case CORE_DIST_GAMMA: {
        if (!(d->cv > 0) || !(mean > 0)) return to_ns(mean);
        /* shape k = 1 / c^2, scale theta = m c^2 (mean k theta = m). */
        double c2 = d->cv * d->cv;
        return to_ns(gsl_ran_gamma(r, 1 / c2, mean * c2));
    }
    case CORE_DIST_UNIFORM:
        if (d->hi_ns <= d->lo_ns) return to_ns((double)d->lo_ns);
        return to_ns(gsl_ran_flat(r, (double)d->lo_ns, (double)d->hi_ns));
    }
    return to_ns(mean);
}

gsl_rng *wl_rng_for_workload(const struct core_spec *sp, uint64_t run_seed, int w, int kind)
{
    if (!sp || w < 0 || w >= sp->workload_count) return NULL;
    int model = sp->workloads[w].model;
    if (model < 0 || model >= sp->model_count) return NULL;
    int ordinal = 0;
    for (int k = 0; k < w; k++)
        ordinal += sp->workloads[k].model == model;
    return wl_rng_new(run_seed, kind, wl_rng_key(sp->models[model].name, ordinal));
}

gsl_rng *wl_rng_for_fault(const struct core_spec *sp, uint64_t run_seed, int f)
{
    if (!sp || f < 0 || f >= sp->fault_count) return NULL;
    const struct core_fault_spec *fs = &sp->faults[f];
    bool node = fs->target == CORE_FAULT_NODE;
    if (node ? (fs->node < 0 || fs->node >= sp->node_count)
             : (fs->gpu < 0 || fs->gpu >= sp->gpu_count))
        return NULL;
    const char *name = node ? sp->nodes[fs->node].name : sp->gpus[fs->gpu].name;
    int ordinal = 0;
    for (int k = 0; k < f; k++)
        ordinal += sp->faults[k].target == fs->target &&
                   (node ? sp->faults[k].node == fs->node : sp->faults[k].gpu == fs->gpu);
    return wl_rng_new(run_seed, WL_STREAM_FAULT, wl_rng_key(name, ordinal));
}

gsl_rng *wl_rng_for_node(const struct core_spec *sp, uint64_t run_seed, int n)
{
    if (!sp || n < 0 || n >= sp->node_count) return NULL;
    return wl_rng_new(run_seed, WL_STREAM_NODE, wl_rng_key(sp->nodes[n].name, 0));
}

int64_t wl_fault_gap_ns(gsl_rng *r, const struct core_fault_spec *f)
{
    return wl_draw_ns(r, &(struct core_dist){.kind = CORE_DIST_EXP, .mean_ns = f->mtbf_ns});
}

void wl_draw_load(gsl_rng *r, const struct core_node_spec *n, const struct core_model_spec *m,
                  struct wl_load_costs *out)
{
    out->init_ns = wl_draw_ns(r, &n->init);
    for (int p = 0; p < m->phase_count; p++) {
        const struct core_phase_spec *ph = &m->phases[p];
        const struct core_dist *d = &ph->work;
        /* The cache lottery is drawn only when it can matter, so a scenario
         * without caches consumes no extra numbers from the node's stream. */
        if (ph->cache_hit_probability > 0 && gsl_rng_uniform(r) < ph->cache_hit_probability)
            d = &ph->hit_work;
        out->phase_ns[p] = wl_draw_ns(r, d);
    }
    out->warmup_ns = wl_draw_ns(r, &n->warmup);
}

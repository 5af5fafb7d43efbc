/* books.c - what the scheduler keeps incrementally so that an event costs
 * O(log N), not a scan of a model's instances or of the GPUs:
 *   - per model: READY, LOADING and hot counts of its live instances
 *     (core_model_count reads them);
 *   - per model: its free set, the READY serving instances with a free
 *     slot, as a treap ordered by the balancer's key, then id (the
 *     balancers pick from it: least key, the next id, the k-th by id);
 *   - per GPU: idle bytes, and a max tree of the room a load could find
 *     there (room_bound reads its root), refreshed lazily for the GPUs
 *     touched since it was last read.
 * An instance's share of the books is a function of its state, hot flag,
 * outstanding count, last use and peer copies. Every change to those goes
 * between core_books_out (takes the share away) and core_books_in (adds the
 * new one); states outside LOADING/READY have no share, so an instance
 * leaving the live set needs no core_books_in. core_books_check recounts
 * everything for the tests; debug builds also check each read. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

#define NIL SIZE_MAX

/* ---- the free set: a treap keyed (c_key, id), nodes in the instances ------------ */

/* A fixed pseudo-random priority per instance (splitmix64 of its index):
 * never drawn from s->rng, so the actions do not change. */
static uint64_t prio(size_t i)
{
    uint64_t z = (uint64_t)i + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t tsize(const struct core_sched *s, size_t t)
{
    return t == NIL ? 0 : s->insts[t].c_size;
}

static void fix(struct core_sched *s, size_t t)
{
    struct core_inst *n = &s->insts[t];
    n->c_size = 1 + tsize(s, n->c_left) + tsize(s, n->c_right);
}

static bool before(const struct core_inst *a, int64_t key, uint64_t id)
{
    return a->c_key < key || (a->c_key == key && a->id < id);
}

/* t split into the nodes before (key, id) and the rest. */
static void split(struct core_sched *s, size_t t, int64_t key, uint64_t id, size_t *l, size_t *r)
{
    if (t == NIL) {
        *l = *r = NIL;
        return;
    }
    struct core_inst *n = &s->insts[t];
    if (before(n, key, id)) {
        split(s, n->c_right, key, id, &n->c_right, r);
        *l = t;
    } else {
        split(s, n->c_left, key, id, l, &n->c_left);
        *r = t;
    }
    fix(s, t);
}

/* Every node of a before every node of b. */
static size_t merge(struct core_sched *s, size_t a, size_t b)
{
    if (a == NIL) return b;
    if (b == NIL) return a;
    if (prio(a) > prio(b)) {
        s->insts[a].c_right = merge(s, s->insts[a].c_right, b);
        fix(s, a);
        return a;
    }
    s->insts[b].c_left = merge(s, a, s->insts[b].c_left);
    fix(s, b);
    return b;
}

/* Descends to where idx's priority puts it, counting it into the sizes on
 * the way, and splits the subtree found there around it. */
static void cand_insert(struct core_sched *s, size_t idx)
{
    struct core_inst *in = &s->insts[idx];
    in->c_key = s->balancer->key(in);
    in->c_in = true;
    uint64_t p = prio(idx);
    size_t *at = &s->models[in->model].cand_root;
    while (*at != NIL && prio(*at) > p) {
        struct core_inst *n = &s->insts[*at];
        n->c_size++;
        at = before(n, in->c_key, in->id) ? &n->c_right : &n->c_left;
    }
    split(s, *at, in->c_key, in->id, &in->c_left, &in->c_right);
    fix(s, idx);
    *at = idx;
}

/* Descends to idx, counting it out of the sizes on the way, and puts its
 * children, merged, in its place. */
static void cand_erase(struct core_sched *s, size_t idx)
{
    struct core_inst *in = &s->insts[idx];
    size_t *at = &s->models[in->model].cand_root;
    while (*at != idx) {
        struct core_inst *n = &s->insts[*at];
        n->c_size--;
        at = before(n, in->c_key, in->id) ? &n->c_right : &n->c_left;
    }
    *at = merge(s, in->c_left, in->c_right);
    in->c_in = false;
}

static bool cand_wanted(const struct core_sched *s, const struct core_inst *in)
{
    return in->state == CORE_INST_READY && !in->hot &&
           in->outstanding < s->models[in->model].concurrency;
}

size_t core_free_count(const struct core_sched *s, int model)
{
    return tsize(s, s->models[model].cand_root);
}

size_t core_free_first(const struct core_sched *s, int model)
{
    size_t t = s->models[model].cand_root;
    while (t != NIL && s->insts[t].c_left != NIL)
        t = s->insts[t].c_left;
    return t;
}

size_t core_free_after_id(const struct core_sched *s, int model, uint64_t id)
{
    size_t t = s->models[model].cand_root, best = NIL;
    while (t != NIL) {
        if (s->insts[t].id > id) {
            best = t;
            t = s->insts[t].c_left;
        } else {
            t = s->insts[t].c_right;
        }
    }
    return best;
}

size_t core_free_nth(const struct core_sched *s, int model, size_t k)
{
    size_t t = s->models[model].cand_root;
    while (t != NIL) {
        size_t left = tsize(s, s->insts[t].c_left);
        if (k < left) {
            t = s->insts[t].c_left;
        } else if (k == left) {
            return t;
        } else {
            k -= left + 1;
            t = s->insts[t].c_right;
        }
    }
    return NIL;
}

/* ---- an instance's share -------------------------------------------------------- */

static void count(struct core_sched *s, const struct core_inst *in, int d)
{
    struct core_model_count *c = &s->models[in->model].live_counts;
    if (in->state != CORE_INST_READY && in->state != CORE_INST_LOADING) return;
    if (in->hot)
        c->hot += d;
    else if (in->state == CORE_INST_READY)
        c->ready += d;
    else
        c->loading += d;
}

void core_books_out(struct core_sched *s, const struct core_inst *in)
{
    core_model_touch(s, in->model);
    if (core_inst_idle(in))
        for (int i = 0; i < in->tp; i++) {
            s->gpus[in->gang[i]].idle_bytes -= in->vram_bytes;
            core_gpu_touch(s, in->gang[i]);
        }
    count(s, in, -1);
    if (in->c_in) cand_erase(s, (size_t)(in->id - 1));
}

void core_books_in(struct core_sched *s, const struct core_inst *in)
{
    core_model_touch(s, in->model);
    if (core_inst_idle(in))
        for (int i = 0; i < in->tp; i++) {
            s->gpus[in->gang[i]].idle_bytes += in->vram_bytes;
            core_gpu_touch(s, in->gang[i]);
        }
    count(s, in, 1);
    if (!in->c_in && cand_wanted(s, in)) cand_insert(s, (size_t)(in->id - 1));
}

/* ---- per-GPU room: a max tree over the GPUs ---------------------------------------- */

int core_room_init(struct core_sched *s)
{
    size_t G = (size_t)(s->spec->gpu_count > 0 ? s->spec->gpu_count : 1), P = 1;
    while (P < G)
        P *= 2;
    s->room_leaves = P;
    s->room_tree = calloc(2 * P, sizeof *s->room_tree);
    s->room_dirty = calloc(G, sizeof *s->room_dirty);
    s->room_dirty_list = malloc(G * sizeof *s->room_dirty_list);
    if (!s->room_tree || !s->room_dirty || !s->room_dirty_list) return THAW_ENOMEM;
    /* every GPU starts touched: the first read fills the tree */
    for (int g = 0; g < s->spec->gpu_count; g++)
        core_gpu_touch(s, g);
    return 0;
}

void core_room_free(struct core_sched *s)
{
    free(s->room_tree);
    free(s->room_dirty);
    free(s->room_dirty_list);
}

void core_gpu_touch_slow(struct core_sched *s, int g)
{
    s->room_dirty[g] = 1;
    s->room_dirty_list[s->room_dirty_n++] = g;
}

void core_node_touch(struct core_sched *s, int node)
{
    const struct core_node_spec *n = &s->spec->nodes[node];
    for (int g = n->first_gpu; g < n->first_gpu + n->gpu_count; g++)
        core_gpu_touch(s, g);
}

uint64_t core_gpu_room(const struct core_sched *s, int g)
{
    if (!core_gpu_allowed(s, g)) return 0;
    return core_gpu_free(s, g) + (s->eviction->any_idle ? s->gpus[g].idle_bytes : 0);
}

uint64_t core_room_max(struct core_sched *s)
{
    uint64_t *t = s->room_tree;
    for (size_t i = 0; i < s->room_dirty_n; i++) {
        int g = s->room_dirty_list[i];
        s->room_dirty[g] = 0;
        size_t at = s->room_leaves + (size_t)g;
        t[at] = core_gpu_room(s, g);
        for (at /= 2; at >= 1; at /= 2) {
            uint64_t m = t[2 * at] > t[2 * at + 1] ? t[2 * at] : t[2 * at + 1];
            if (t[at] == m) break; /* unchanged: so is every node above */
            t[at] = m;
        }
    }
    s->room_dirty_n = 0;
    return t[1];
}

/* ---- recounted ---------------------------------------------------------------------- */

static int check_tree(const struct core_sched *s, size_t t, size_t *n,
                      const struct core_inst **prev, struct thaw_err *err)
{
    if (t == NIL) return 0;
    const struct core_inst *in = &s->insts[t];
    int rc = check_tree(s, in->c_left, n, prev, err);
    if (rc) return rc;
    if (!in->c_in || !cand_wanted(s, in) || in->c_key != s->balancer->key(in))
        return thaw_err_set(err, THAW_EINVARIANT,
                            "instance %llu: in a free set it should not be in, or out of order",
                            (unsigned long long)in->id);
    if (*prev && !before(*prev, in->c_key, in->id))
        return thaw_err_set(err, THAW_EINVARIANT, "free set of model %d out of order", in->model);
    if (in->c_size != 1 + tsize(s, in->c_left) + tsize(s, in->c_right))
        return thaw_err_set(err, THAW_EINVARIANT, "instance %llu: free-set size wrong",
                            (unsigned long long)in->id);
    *prev = in;
    (*n)++;
    return check_tree(s, in->c_right, n, prev, err);
}

int core_books_check_model(const struct core_sched *s, int m, struct thaw_err *err)
{
    const struct core_model_state *ms = &s->models[m];
    struct core_model_count c = {0};
    size_t free_n = 0;
    for (size_t i = 0; i < ms->live_count; i++) {
        const struct core_inst *in = &s->insts[ms->live[i]];
        if (in->hot) {
            c.hot++;
        } else if (in->state == CORE_INST_READY) {
            c.ready++;
            if (in->outstanding < ms->concurrency) free_n++;
        } else if (in->state == CORE_INST_LOADING) {
            c.loading++;
        }
        if (in->c_in != cand_wanted(s, in))
            return thaw_err_set(err, THAW_EINVARIANT, "instance %llu: free set membership wrong",
                                (unsigned long long)in->id);
    }
    const struct core_model_count *k = &ms->live_counts;
    if (c.hot != k->hot || c.ready != k->ready || c.loading != k->loading)
        return thaw_err_set(
            err, THAW_EINVARIANT, "model '%s': %d ready %d loading %d hot, counted %d %d %d",
            s->spec->models[m].name, c.ready, c.loading, c.hot, k->ready, k->loading, k->hot);
    size_t n = 0;
    const struct core_inst *prev = NULL;
    int rc = check_tree(s, ms->cand_root, &n, &prev, err);
    if (rc) return rc;
    if (n != free_n)
        return thaw_err_set(err, THAW_EINVARIANT, "model '%s': %zu free instances, set holds %zu",
                            s->spec->models[m].name, free_n, n);
    return 0;
}

int core_books_check_room(const struct core_sched *s, struct thaw_err *err)
{
    for (int g = 0; g < s->spec->gpu_count; g++) {
        uint64_t r = core_gpu_room(s, g);
        if (!s->room_dirty[g] && s->room_tree[s->room_leaves + (size_t)g] != r)
            return thaw_err_set(err, THAW_EINVARIANT, "gpu %d: room %llu, tree holds %llu", g,
                                (unsigned long long)r,
                                (unsigned long long)s->room_tree[s->room_leaves + (size_t)g]);
    }
    return 0;
}

/* id_count.c - distinct ids and their counts (spec.h): the table a trace's
 * ids are counted in by the scenario loader (ranking, durations and memory
 * rows) and by `thaw trace stats`. Open addressing on FNV-1a, the same hash
 * that assigns ids to models (CORE_TRACE_HASH), so one function serves
 * both; rankings break ties on first appearance, never on the table's
 * layout, so they do not depend on the hash. */
#include <stdlib.h>
#include <string.h>

#include "spec.h"

uint64_t core_id_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static bool grow(struct core_id_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    struct core_id_count *s = calloc(cap, sizeof *s);
    if (!s) return false;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].id) {
            size_t j = core_id_hash(t->slots[i].id, t->slots[i].len) & (cap - 1);
            while (s[j].id)
                j = (j + 1) & (cap - 1);
            s[j] = t->slots[i];
        }
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return true;
}

struct core_id_count *core_ids_find(const struct core_id_table *t, const char *id, size_t len)
{
    if (!t->cap) return NULL;
    for (size_t j = core_id_hash(id, len) & (t->cap - 1); t->slots[j].id;
         j = (j + 1) & (t->cap - 1))
        if (t->slots[j].len == len && !memcmp(t->slots[j].id, id, len)) return &t->slots[j];
    return NULL;
}

struct core_id_count *core_ids_add(struct core_id_table *t, const char *id, size_t len,
                                   int64_t count, int64_t order)
{
    struct core_id_count *e = core_ids_find(t, id, len);
    if (e) {
        e->count += count;
        return e;
    }
    if ((t->used + 1) * 2 > t->cap && !grow(t)) return NULL;
    char *d = malloc(len + 1);
    if (!d) return NULL;
    memcpy(d, id, len);
    d[len] = '\0';
    size_t j = core_id_hash(id, len) & (t->cap - 1);
    while (t->slots[j].id)
        j = (j + 1) & (t->cap - 1);
    t->slots[j] = (struct core_id_count){.id = d, .len = len, .count = count, .first = order};
    t->used++;
    return &t->slots[j];
}

/* Busiest first; ties by first appearance. */
static int cmp_busiest(const void *a, const void *b)
{
    const struct core_id_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

struct core_id_count *core_ids_ranked(const struct core_id_table *t)
{
    struct core_id_count *r = malloc((t->used ? t->used : 1) * sizeof *r);
    if (!r) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].id) r[n++] = t->slots[i];
    qsort(r, n, sizeof *r, cmp_busiest);
    return r;
}

void core_ids_free(struct core_id_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].id);
    free(t->slots);
    t->slots = NULL;
    t->cap = t->used = 0;
}

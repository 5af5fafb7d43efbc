/* diag.c - scenario diagnostics: the growable list every loader error goes
 * into, its one-line format ("file:line:col: path: message"), and the edit
 * distance behind "did you mean 'x'?" hints for unknown keys and names. */
#include "scenario_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void core_diags_init(struct core_diags *d)
{
    memset(d, 0, sizeof *d);
}

void core_diags_free(struct core_diags *d)
{
    free(d->items);
    memset(d, 0, sizeof *d);
}

int core_diag_add(struct core_diags *d, const char *file, int line, int column, const char *path,
                  const char *fmt, ...)
{
    if (d->count == d->capacity) {
        int cap = d->capacity ? d->capacity * 2 : 16;
        struct core_diag *grown = realloc(d->items, (size_t)cap * sizeof *grown);
        if (!grown) return THAW_ENOMEM;
        d->items = grown;
        d->capacity = cap;
    }
    struct core_diag *x = &d->items[d->count++];
    memset(x, 0, sizeof *x);
    snprintf(x->file, sizeof x->file, "%s", file ? file : "");
    x->line = line;
    x->column = column;
    snprintf(x->path, sizeof x->path, "%s", path ? path : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->message, sizeof x->message, fmt, ap);
    va_end(ap);
    return 0;
}

void core_diag_format(const struct core_diag *d, char *buf, size_t len)
{
    char where[300];
    if (d->line > 0)
        snprintf(where, sizeof where, "%s:%d:%d", d->file, d->line, d->column);
    else
        snprintf(where, sizeof where, "%s", d->file);
    if (d->path[0])
        snprintf(buf, len, "%s: %s: %s", where, d->path, d->message);
    else
        snprintf(buf, len, "%s: %s", where, d->message);
}

int core_edit_distance(const char *a, const char *b, int cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return cap + 1;
    int diff = (int)(la > lb ? la - lb : lb - la);
    if (diff > cap) return cap + 1;
    /* Three rolling rows of the optimal-string-alignment table. */
    int rows[3][65];
    int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v) v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < row_min) row_min = v;
        }
        if (row_min > cap) return cap + 1;
        int *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] > cap ? cap + 1 : prev[lb];
}

void core_suggest_init(struct core_suggest *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->best_distance = 0;
}

/* A suggestion must be within a third of the word's length (at least 1), so
 * "wieghts" finds "weights" but "zzz" finds nothing. */
static int threshold(const char *word)
{
    int t = (int)strlen(word) / 3;
    return t < 1 ? 1 : t;
}

void core_suggest_offer(struct core_suggest *s, const char *candidate)
{
    if (!s->word || !candidate || !strcmp(s->word, candidate)) return;
    int cap = threshold(s->word);
    if (s->best && s->best_distance - 1 < cap) cap = s->best_distance - 1;
    if (cap < 0) return;
    int d = core_edit_distance(s->word, candidate, cap);
    /* A prefix ("prio" for "priority") is as good as the weakest match. */
    size_t wl = strlen(s->word);
    if (d > cap && wl >= 3 && !strncmp(candidate, s->word, wl) && !s->best) d = threshold(s->word);
    if (d <= cap) {
        s->best = candidate;
        s->best_distance = d;
    }
}

const char *core_suggest_result(const struct core_suggest *s)
{
    return s->best;
}

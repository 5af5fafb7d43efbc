/* trace.c - a trace file streamed as arrivals (workload.h): one line read
 * at a time with the loader's own line parser (core_trace_parse), so a
 * trace of any length runs in memory bounded by its longest line. Each
 * model's workload opens the file for itself and keeps the lines its rule
 * selects (all, every slots-th, one id, or a hash bucket of ids). An Azure
 * Functions day is one line per function: the selected rows are summed
 * into 1440 minute counts at open, and each minute's count is spread over
 * the minute, uniformly (sorted uniforms drawn one at a time) or as a
 * Poisson process of that rate, from the workload's arrivals stream. */
#include "workload.h"

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_NS 60000000000LL

struct wl_trace {
    const struct core_workload_spec *w;
    const struct core_trace_spec *t;
    gsl_rng *rng;
    FILE *f;
    char *line;
    size_t cap;
    int64_t lineno, data_index, prev_ns;
    struct core_trace_parser p;
    struct core_trace_rec *rec;
    /* AZURE_FUNCTIONS: the summed minutes and where the spread is. */
    int64_t *minutes;
    int minute;      /* current minute */
    int64_t left;    /* UNIFORM: arrivals left in the current minute */
    double pos;      /* position in the current minute, 0..1 */
    bool in_minute;  /* a minute has been started */
    int64_t last_ns; /* last arrival given, for monotonicity */
    bool done;
    char error[320];
};

uint64_t wl_trace_id_hash(const char *id, size_t len)
{
    return core_id_hash(id, len);
}

/* Does this data line (its id, its index among data lines) belong to us? */
static bool selected(const struct wl_trace *tr, const struct core_trace_rec *r)
{
    const struct core_trace_spec *t = tr->t;
    switch (t->assign) {
    case CORE_TRACE_ALL:
        return true;
    case CORE_TRACE_SPLIT:
        return tr->data_index % t->slots == t->slot;
    case CORE_TRACE_ID:
        return r->id && t->id && strlen(t->id) == r->id_len && !memcmp(t->id, r->id, r->id_len);
    case CORE_TRACE_HASH:
        return r->id &&
               (int64_t)(wl_trace_id_hash(r->id, r->id_len) % (uint64_t)t->slots) == t->slot;
    }
    return false;
}

/* The next data line into tr->rec (1), the end (0), or a bad line (-1). */
static int read_line(struct wl_trace *tr)
{
    ssize_t len;
    while ((len = getline(&tr->line, &tr->cap, tr->f)) >= 0) {
        tr->lineno++;
        if (len && tr->line[len - 1] == '\n') len--;
        int col = 0;
        char msg[200];
        int r = core_trace_parse(&tr->p, tr->line, (size_t)len, tr->rec, &col, msg, sizeof msg);
        if (r < 0) {
            snprintf(tr->error, sizeof tr->error, "%s:%lld:%d: %s", tr->w->trace_path,
                     (long long)tr->lineno, col, msg);
            return -1;
        }
        if (r > 0) return 1;
    }
    return 0;
}

/* A trace time (ns in the trace's clock) in run time, or -1 outside the
 * window. */
static int64_t run_time(const struct core_trace_spec *t, int64_t trace_ns)
{
    /* In integers first: epoch nanoseconds (azure-llm) exceed a double's
     * 53 bits, their differences do not. */
    if (trace_ns < t->origin_ns) return -1;
    int64_t rel = trace_ns - t->origin_ns;
    if (rel < t->window_from_ns || rel >= t->window_to_ns) return -1;
    rel -= t->window_from_ns;
    return t->speed == 1 ? rel : (int64_t)llround((double)rel / t->speed);
}

/* Past the window's end (so nothing later in a sorted trace is kept)? */
static bool past_window(const struct core_trace_spec *t, int64_t trace_ns)
{
    return trace_ns >= t->origin_ns && trace_ns - t->origin_ns >= t->window_to_ns;
}

static int sum_minutes(struct wl_trace *tr, struct thaw_err *err)
{
    tr->minutes = calloc(CORE_TRACE_MINUTES, sizeof *tr->minutes);
    if (!tr->minutes) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    int r;
    while ((r = read_line(tr)) > 0) {
        if (selected(tr, tr->rec))
            for (int m = 0; m < CORE_TRACE_MINUTES; m++) {
                int64_t c = tr->rec->minutes[m];
                /* Each cell is at most 10^12 (the parser's bound): the sum
                 * saturates long before int64 could wrap. */
                tr->minutes[m] = tr->minutes[m] > INT64_MAX - c ? INT64_MAX : tr->minutes[m] + c;
            }
        tr->data_index++;
    }
    if (r < 0) return thaw_err_set(err, THAW_EINVAL, "%s", tr->error);
    fclose(tr->f);
    tr->f = NULL;
    return 0;
}

int wl_trace_open(struct wl_trace **out, const struct core_workload_spec *w, gsl_rng *rng,
                  struct thaw_err *err)
{
    *out = NULL;
    if (!w->trace_path) return thaw_err_set(err, THAW_EINVAL, "a trace workload needs a file");
    const struct core_trace_spec *t = &w->trace;
    if ((t->assign == CORE_TRACE_SPLIT || t->assign == CORE_TRACE_HASH) &&
        (t->slots <= 0 || t->slot < 0 || t->slot >= t->slots))
        return thaw_err_set(err, THAW_EINVAL, "trace %s: bad slot %d of %d", w->trace_path, t->slot,
                            t->slots);
    if (!(t->speed > 0)) return thaw_err_set(err, THAW_EINVAL, "trace speed must be above zero");
    if (t->format == CORE_TRACE_AZURE_FUNCTIONS && !rng)
        return thaw_err_set(err, THAW_EINVAL, "per-minute counts need a generator to spread");
    struct wl_trace *tr = calloc(1, sizeof *tr);
    if (!tr) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    tr->w = w;
    tr->t = t;
    tr->rng = rng;
    tr->rec = malloc(sizeof *tr->rec);
    core_trace_parser_init(&tr->p, t, NULL);
    tr->f = fopen(w->trace_path, "rb");
    int rc = 0;
    char eb[128];
    if (!tr->rec)
        rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
    else if (!tr->f) /* strerror_r (GNU): sweeps build worlds from threads */
        rc = thaw_err_set(err, THAW_EIO, "cannot open trace %s: %s", w->trace_path,
                          strerror_r(errno, eb, sizeof eb));
    else if (t->format == CORE_TRACE_AZURE_FUNCTIONS)
        rc = sum_minutes(tr, err);
    if (rc < 0) {
        wl_trace_close(tr);
        return rc;
    }
    *out = tr;
    return 0;
}

/* The next arrival of the spread minutes, in trace time (ns from the day's
 * start); false after the last minute. */
static bool next_spread(struct wl_trace *tr, double *trace_ns)
{
    for (;;) {
        if (tr->minute >= CORE_TRACE_MINUTES) return false;
        int64_t c = tr->minutes[tr->minute];
        if (!tr->in_minute) {
            tr->in_minute = true;
            tr->left = c;
            tr->pos = 0;
        }
        if (c > 0 && tr->t->spread == CORE_SPREAD_UNIFORM && tr->left > 0) {
            /* The next of `left` sorted uniforms on [pos, 1): the minimum
             * of n uniforms is 1 - V^(1/n), scaled to what is left. */
            double v = gsl_rng_uniform_pos(tr->rng);
            tr->pos += (1 - tr->pos) * -expm1(log(v) / (double)tr->left);
            tr->left--;
            *trace_ns = ((double)tr->minute + tr->pos) * (double)MINUTE_NS;
            return true;
        }
        if (c > 0 && tr->t->spread == CORE_SPREAD_POISSON) {
            /* A Poisson process of rate c per minute over the minute. */
            tr->pos += gsl_ran_exponential(tr->rng, 1.0 / (double)c);
            if (tr->pos < 1) {
                *trace_ns = ((double)tr->minute + tr->pos) * (double)MINUTE_NS;
                return true;
            }
        }
        tr->minute++;
        tr->in_minute = false;
    }
}

bool wl_trace_next(struct wl_trace *tr, int64_t *t_ns, int64_t *in_tokens, int64_t *out_tokens)
{
    if (tr->done) return false;
    const struct core_trace_spec *t = tr->t;
    *in_tokens = *out_tokens = -1;
    if (t->format == CORE_TRACE_AZURE_FUNCTIONS) {
        double tt;
        while (next_spread(tr, &tt)) {
            int64_t ti = (int64_t)llround(tt);
            int64_t rt = run_time(t, ti);
            if (rt < 0) {
                if (past_window(t, ti)) break;
                continue;
            }
            if (rt < tr->last_ns) rt = tr->last_ns;
            tr->last_ns = *t_ns = rt;
            return true;
        }
        tr->done = true;
        return false;
    }
    int r;
    while ((r = read_line(tr)) > 0) {
        const struct core_trace_rec *rec = tr->rec;
        if (tr->data_index > 0 && rec->t_ns < tr->prev_ns) {
            snprintf(tr->error, sizeof tr->error,
                     "%s:%lld:1: timestamps must not decrease (the file changed since it was "
                     "checked?)",
                     tr->w->trace_path, (long long)tr->lineno);
            r = -1;
            break;
        }
        tr->prev_ns = rec->t_ns;
        bool mine = selected(tr, rec);
        tr->data_index++;
        if (!mine) continue;
        int64_t rt = run_time(t, rec->t_ns);
        if (rt < 0) {
            if (past_window(t, rec->t_ns)) break;
            continue;
        }
        if (rt < tr->last_ns) rt = tr->last_ns;
        tr->last_ns = *t_ns = rt;
        *in_tokens = rec->in_tokens;
        *out_tokens = rec->out_tokens;
        return true;
    }
    tr->done = true;
    return false;
}

const char *wl_trace_error(const struct wl_trace *t)
{
    return t && t->error[0] ? t->error : NULL;
}

void wl_trace_close(struct wl_trace *t)
{
    if (!t) return;
    if (t->f) fclose(t->f);
    free(t->line);
    free(t->rec);
    free(t->minutes);
    free(t);
}

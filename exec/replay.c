/* replay.c - `thaw replay`: re-runs the decisions of a recorded run. The
 * core is a pure function of the spec and its input events, so feeding a
 * fresh core the run's core_events (seq order) must give, action for action,
 * the lines the exec driver logged in core_actions. A run with no action log
 * (a sim run) is checked against itself: two fresh cores must agree. */
#include "exec.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct event_list {
    struct core_event *ev;
    uint64_t *seq;
    size_t count, cap;
};

static int event_kind_of(const char *name, enum core_event_kind *out)
{
    for (int k = CORE_EV_REQUEST_ARRIVED; k <= CORE_EV_TICK; k++)
        if (!strcmp(core_event_kind_name((enum core_event_kind)k), name)) {
            *out = (enum core_event_kind)k;
            return 0;
        }
    return -1;
}

static int read_events(sqlite3 *h, int64_t run, struct event_list *l, struct thaw_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           "SELECT seq, kind, t_ns, request, instance, load_id, model, node, gpu, "
                           "ok FROM core_events WHERE run = ? ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "read core_events: %s", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, run);
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (l->count == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 1024;
            struct core_event *ge = realloc(l->ev, cap * sizeof *ge);
            if (ge) l->ev = ge;
            uint64_t *gs = ge ? realloc(l->seq, cap * sizeof *gs) : NULL;
            if (!gs) {
                rc = thaw_err_set(err, THAW_ENOMEM, "out of memory");
                break;
            }
            l->seq = gs;
            l->cap = cap;
        }
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        struct core_event *e = &l->ev[l->count];
        memset(e, 0, sizeof *e);
        if (!kind || event_kind_of(kind, &e->kind) < 0) {
            rc = thaw_err_set(err, THAW_EINVAL, "core event %lld: unknown kind \"%s\"",
                              (long long)sqlite3_column_int64(st, 0), kind ? kind : "");
            break;
        }
        l->seq[l->count] = (uint64_t)sqlite3_column_int64(st, 0);
        e->t_ns = sqlite3_column_int64(st, 2);
        e->request = (uint64_t)sqlite3_column_int64(st, 3);
        e->instance = (uint64_t)sqlite3_column_int64(st, 4);
        e->load = (uint64_t)sqlite3_column_int64(st, 5);
        e->model = sqlite3_column_int(st, 6);
        e->node = sqlite3_column_int(st, 7);
        e->gpu = sqlite3_column_int(st, 8);
        e->ok = sqlite3_column_int(st, 9) != 0;
        l->count++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "read core_events: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return rc;
}

/* The recorded action lines, walked in (seq, idx) order alongside the
 * replay. */
struct recorded {
    sqlite3_stmt *st;
    bool row; /* st holds a row */
    uint64_t count;
};

static void recorded_next(struct recorded *r)
{
    r->row = r->st && sqlite3_step(r->st) == SQLITE_ROW;
    if (r->row) r->count++;
}

static bool table_exists(sqlite3 *h, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

static void note_diff(struct exec_replay_report *rep, uint64_t seq, uint64_t idx,
                      const char *expected, const char *got)
{
    if (!rep->identical) return;
    rep->identical = false;
    rep->diff_seq = seq;
    rep->diff_index = idx;
    snprintf(rep->expected, sizeof rep->expected, "%s", expected);
    snprintf(rep->got, sizeof rep->got, "%s", got);
}

/* Compares the actions of one start/feed of `a` with the recorded lines of
 * seq (or, without a log, with core `b` fed the same event). */
static void compare_step(struct core_sched *a, struct core_sched *b, struct recorded *r,
                         uint64_t seq, struct exec_replay_report *rep)
{
    const struct core_action *acts, *other = NULL;
    size_t n = core_sched_actions(a, &acts), m = 0;
    if (b) m = core_sched_actions(b, &other);
    rep->actions += n;
    char line[512], line2[512];
    for (size_t i = 0; i < n || (b ? i < m : false); i++) {
        line[0] = line2[0] = '\0';
        if (i < n) core_action_format(&acts[i], line, sizeof line);
        if (b) {
            if (i < m) core_action_format(&other[i], line2, sizeof line2);
            if (strcmp(line, line2)) note_diff(rep, seq, i, line2, line);
            continue;
        }
        bool here = r->row && (uint64_t)sqlite3_column_int64(r->st, 0) == seq &&
                    (uint64_t)sqlite3_column_int64(r->st, 1) == i;
        if (!here) {
            note_diff(rep, seq, i, "", line);
            continue;
        }
        const char *rec = (const char *)sqlite3_column_text(r->st, 2);
        if (strcmp(rec ? rec : "", line)) note_diff(rep, seq, i, rec ? rec : "", line);
        recorded_next(r);
    }
    /* Recorded lines of this step that the replay did not produce. */
    while (!b && r->row && (uint64_t)sqlite3_column_int64(r->st, 0) <= seq) {
        const char *rec = (const char *)sqlite3_column_text(r->st, 2);
        note_diff(rep, (uint64_t)sqlite3_column_int64(r->st, 0),
                  (uint64_t)sqlite3_column_int64(r->st, 1), rec ? rec : "", "");
        recorded_next(r);
    }
}

int exec_replay(struct res_db *db, int64_t run, const struct core_spec *spec,
                struct exec_replay_report *report, struct thaw_err *err)
{
    memset(report, 0, sizeof *report);
    report->identical = true;
    if (!db || !spec) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    sqlite3 *h = res_handle(db);
    struct event_list events = {0};
    struct recorded rec = {0};
    struct core_sched *a = NULL, *b = NULL;
    int rc = read_events(h, run, &events, err);
    if (rc < 0) goto out;
    if (events.count == 0) {
        rc = thaw_err_set(err, THAW_ENOENT, "run %lld has no recorded core events", (long long)run);
        goto out;
    }
    report->events = events.count;
    if (table_exists(h, "core_actions")) {
        if (sqlite3_prepare_v2(h,
                               "SELECT seq, idx, line FROM core_actions WHERE run = ? "
                               "ORDER BY seq, idx",
                               -1, &rec.st, NULL) != SQLITE_OK) {
            rc = thaw_err_set(err, THAW_EIO, "read core_actions: %s", sqlite3_errmsg(h));
            goto out;
        }
        sqlite3_bind_int64(rec.st, 1, run);
        recorded_next(&rec);
    }
    report->had_log = rec.row;
    if ((rc = core_sched_new(spec, &a, err)) < 0) goto out;
    if (!report->had_log && (rc = core_sched_new(spec, &b, err)) < 0) goto out;
    if ((rc = core_sched_start(a, 0, err)) < 0 || (b && (rc = core_sched_start(b, 0, err)) < 0))
        goto out;
    compare_step(a, b, &rec, 0, report);
    for (size_t i = 0; i < events.count; i++) {
        struct core_event ev = events.ev[i];
        struct thaw_err fe = {0};
        if ((rc = core_sched_feed(a, &ev, &fe)) < 0) {
            thaw_err_set(err, rc, "event %llu (%s at %lld ns) rejected: %s",
                         (unsigned long long)events.seq[i], core_event_kind_name(ev.kind),
                         (long long)ev.t_ns, fe.msg);
            goto out;
        }
        if (b && (rc = core_sched_feed(b, &ev, err)) < 0) goto out;
        compare_step(a, b, &rec, events.seq[i], report);
    }
    /* Recorded lines past the last event. */
    while (rec.row) {
        const char *line = (const char *)sqlite3_column_text(rec.st, 2);
        note_diff(report, (uint64_t)sqlite3_column_int64(rec.st, 0),
                  (uint64_t)sqlite3_column_int64(rec.st, 1), line ? line : "", "");
        recorded_next(&rec);
    }
    report->recorded_actions = rec.count;
out:
    sqlite3_finalize(rec.st);
    core_sched_free(a);
    core_sched_free(b);
    free(events.ev);
    free(events.seq);
    return rc;
}

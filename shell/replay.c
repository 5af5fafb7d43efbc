/* replay.c - `thaw replay`: re-runs the decisions of a recorded run. The
 * core is a pure function of the spec and its input events, so feeding a
 * fresh core the run's core_events (seq order) must give, action for action,
 * the lines the driver shell logged in core_actions. A run with no action log
 * (recorded before sim runs logged actions) is checked against itself: two
 * fresh cores must agree. */
#include "shell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The recorded action lines, walked in (seq, idx) order alongside the
 * replay. */
struct recorded {
    struct res_action_reader *r;
    bool row; /* the fields below hold a row */
    uint64_t seq, idx;
    const char *line;
    uint64_t count;
};

static void recorded_next(struct recorded *r)
{
    r->row = r->r && res_action_reader_next(r->r, &r->seq, &r->idx, &r->line);
    if (r->row) r->count++;
}

static void note_diff(struct shell_replay_report *rep, uint64_t seq, uint64_t idx,
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
                         uint64_t seq, struct shell_replay_report *rep)
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
        if (!r->row || r->seq != seq || r->idx != i) {
            note_diff(rep, seq, i, "", line);
            continue;
        }
        if (strcmp(r->line, line)) note_diff(rep, seq, i, r->line, line);
        recorded_next(r);
    }
    /* Recorded lines of this step that the replay did not produce. */
    while (!b && r->row && r->seq <= seq) {
        note_diff(rep, r->seq, r->idx, r->line, "");
        recorded_next(r);
    }
}

int shell_replay(struct res_db *db, int64_t run, const struct core_spec *spec,
                 struct shell_replay_report *report, struct thaw_err *err)
{
    memset(report, 0, sizeof *report);
    report->identical = true;
    if (!db || !spec) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    struct res_core_events events = {0};
    struct recorded rec = {0};
    struct core_sched *a = NULL, *b = NULL;
    int rc = res_core_events_load(db, run, &events, err);
    if (rc < 0) goto out;
    if (events.count == 0) {
        rc = thaw_err_set(err, THAW_ENOENT, "run %lld has no recorded core events", (long long)run);
        goto out;
    }
    report->events = events.count;
    if ((rc = res_action_reader_open(db, run, &rec.r, err)) < 0) goto out;
    recorded_next(&rec);
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
        note_diff(report, rec.seq, rec.idx, rec.line, "");
        recorded_next(&rec);
    }
    report->recorded_actions = rec.count;
out:
    res_action_reader_close(rec.r);
    core_sched_free(a);
    core_sched_free(b);
    res_core_events_free(&events);
    return rc;
}

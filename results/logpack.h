/* logpack.h - the packed core-event and core-action logs (schema.sql,
 * core_event_log and core_action_log): items appended as JSON text to a
 * batch, a batch closed at LOGPACK_BATCH items, closed batches kept until
 * the owner writes them (one row each) in its own transaction. Internal to
 * results/ (recorder.c writes events, actionlog.c actions). */
#ifndef THAW_RESULTS_LOGPACK_H
#define THAW_RESULTS_LOGPACK_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "core.h"
#include "thaw_err.h"

/* Items per batch row: 1024 events make a ~45 KB row. */
#define LOGPACK_BATCH 1024

struct logpack_batch {
    int64_t run;
    uint64_t first_seq, last_seq;
    char *data; /* "[[...],[...]]", NUL-terminated, len bytes */
    size_t len;
};

struct logpack {
    struct logpack_batch *done; /* closed batches, in order */
    int done_count, done_cap;
    /* the open batch: count items so far in buf (without the closing ']') */
    int64_t run;
    uint64_t first_seq, last_seq;
    int count;
    char *buf;
    size_t len, cap;
};

/* The stored code of an event kind (schema.sql's list), -1 if none. */
int logpack_kind_code(enum core_event_kind kind);

/* Appends one event (seq, kind index of schema.sql's list) / one action;
 * a batch of another run closes the open one first. THAW_ENOMEM. */
int logpack_event(struct logpack *p, int64_t run, uint64_t seq, int kind,
                  const struct core_event *ev);
int logpack_action(struct logpack *p, int64_t run, uint64_t seq, uint32_t idx, const char *line);
/* Items not yet written (open and closed batches). */
size_t logpack_pending(const struct logpack *p);
/* Closes the open batch, then writes every closed batch with ins (run,
 * first_seq, last_seq, data bound as ?1..?4) and forgets them, written or
 * not. The caller holds the transaction. */
int logpack_write(struct logpack *p, sqlite3 *db, sqlite3_stmt *ins, const char *what,
                  struct thaw_err *err);
void logpack_free(struct logpack *p);

/* Parses one core_event_log.data text into events (appended to *ev, *seq
 * growing *count within *cap). THAW_EINVAL names the first bad byte. */
int logpack_parse_events(const char *data, struct core_event **ev, uint64_t **seq, size_t *count,
                         size_t *cap, struct thaw_err *err);

#endif

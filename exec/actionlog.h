/* actionlog.h - the exec-side table of the core's actions, core_actions
 * (run, seq, idx, line): every action the core returned during an exec run,
 * one core_action_format line each, keyed by the input event that caused it
 * (seq of core_events; 0 = core_sched_start). `thaw replay` compares a fresh
 * core's actions with these. The table is exec's own (schema.sql belongs to
 * results/), created with CREATE TABLE IF NOT EXISTS on the recorder's
 * connection. Lines are buffered and written in bursts, one transaction each.
 * Internal to exec/. */
#ifndef THAW_EXEC_ACTIONLOG_H
#define THAW_EXEC_ACTIONLOG_H

#include <stdint.h>

#include "results.h"
#include "thaw_err.h"

struct exec_action_log;

/* Creates the table if needed; NULL db is an error. */
int exec_action_log_open(struct res_db *db, int64_t run, struct exec_action_log **out,
                         struct thaw_err *err);
/* Buffers one line (copied); writes a burst when the buffer is full. */
int exec_action_log_add(struct exec_action_log *l, uint64_t seq, uint32_t idx, const char *line,
                        struct thaw_err *err);
/* Writes what is buffered (one transaction). */
int exec_action_log_flush(struct exec_action_log *l, struct thaw_err *err);
/* Flushes (errors ignored: call flush first to see them) and frees. NULL ok. */
void exec_action_log_close(struct exec_action_log *l);

#endif

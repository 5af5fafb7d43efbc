/* cli.h - the `thaw` command: one cmd_*.c per subcommand, registered in the
 * table in main.c, plus the option helpers they share (common.c); `thaw
 * plot` keeps its charts in plot_*.c (plot_data.h), the sweep grid in
 * sweep_grid.c (sweep.h). cli holds no SQL: it reads the database through
 * the res_* functions of results.h.
 * Exit codes: 0 success, 1 failure (bad input, failed run), 2 usage error. */
#ifndef THAW_CLI_H
#define THAW_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "spec.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

struct cli_command {
    const char *name;
    const char *summary;               /* one line for `thaw --help` */
    const char *usage;                 /* full text for `thaw help NAME` / `thaw NAME --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Overrides gathered from --set k=v (repeatable) and --policy k=v,k=v
 * (each k becomes policy.k). The strings point into argv or into storage
 * owned by the struct. */
struct cli_overrides {
    int count;
    int capacity;
    struct core_override *items;
    char **owned;
    int owned_count;
    /* all of them as given, "k=v,k=v", for the runs table: malloc'ed, any
     * length; NULL while there are none */
    char *text;
    size_t text_len, text_cap;
};

void cli_overrides_init(struct cli_overrides *o);
void cli_overrides_free(struct cli_overrides *o);
/* Returns 0, or -1 after printing a usage error for a malformed value. */
int cli_overrides_add_set(struct cli_overrides *o, const char *kv);
int cli_overrides_add_policy(struct cli_overrides *o, const char *spec);

/* Loads a scenario with overrides; on failure prints every diagnostic to
 * stderr and returns NULL. */
struct core_spec *cli_load_spec(const char *path, const struct cli_overrides *o);

/* True when `arg` is -h or --help. */
bool cli_is_help(const char *arg);
/* Prints "thaw NAME: MSG\n" and the usage hint to stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses an unsigned integer option value strictly (core_parse_u64: digits
 * only, no sign or space, in range); -1 after a usage error naming the
 * option and the range. cli_parse_u64 is the range 0..2^64-1. */
int cli_parse_range(const char *cmd, const char *opt, const char *s, unsigned long long lo,
                    unsigned long long hi, unsigned long long *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long *out);
/* --record summary|loads|all into *level (an enum res_record, results.h);
 * -1 with the usage error printed otherwise. */
int cli_parse_record(const char *cmd, const char *s, int *level);

/* Rows as a table, CSV (RFC 4180, CRLF) or JSON (an array of objects), in
 * format.c: cli_writer_columns once, cli_writer_row per row, then
 * cli_writer_end (which prints a table) and cli_writer_free. Returns 0 or
 * -1 (out of memory, or the stream failed). */
enum cli_format { CLI_FMT_TABLE = 0, CLI_FMT_CSV, CLI_FMT_JSON };
/* -1 after a usage message for anything but table, csv, json. */
int cli_format_parse(const char *cmd, const char *s, enum cli_format *out);
/* A number as the writer prints it; table: 6 significant digits, "-" for
 * NaN; else the shortest exact form, "" for NaN. Integral values print as
 * integers. */
void cli_format_number(char *buf, size_t len, double v, bool table);
struct res_value;
struct cli_writer {
    enum cli_format fmt;
    FILE *out;
    int ncols;
    char **names;
    size_t rows, cap;
    char ***cells; /* table only */
};
void cli_writer_init(struct cli_writer *w, enum cli_format fmt, FILE *out);
int cli_writer_columns(struct cli_writer *w, int n, const char *const *names);
int cli_writer_row(struct cli_writer *w, int n, const struct res_value *v);
int cli_writer_end(struct cli_writer *w);
void cli_writer_free(struct cli_writer *w);

/* The runs named by words ("RUN|SELECTOR...", runs_arg.c) into a malloc'ed
 * *ids (caller frees), in the order given, each once; no words: the last
 * run. A word with '=', ',', ';', a space or an inner '-' is a selector. */
struct res_db;
struct thaw_err;
int cli_runs_resolve(struct res_db *db, const char *const *words, int n_words, int64_t **ids,
                     int *n, struct thaw_err *err);

/* The spec stored run m was recorded from, with overrides o (run_spec.c):
 * its scenario file when it still hashes to m->sha, else the copy of the
 * file stored with the run (*stored = true; a line on stderr says so).
 * NULL after a message naming cmd. Free with core_spec_free. */
struct res_run_meta;
struct core_spec *cli_run_spec_load(struct res_db *db, const struct res_run_meta *m,
                                    const struct cli_overrides *o, const char *cmd, bool *stored);

/* Default results database. */
#define CLI_DEFAULT_DB "results/thaw.db"

/* The commands (each in cmd_NAME.c). */
extern const struct cli_command cli_cmd_check;
extern const struct cli_command cli_cmd_exec;
extern const struct cli_command cli_cmd_replay;
extern const struct cli_command cli_cmd_sim;
extern const struct cli_command cli_cmd_report;
extern const struct cli_command cli_cmd_compare;
extern const struct cli_command cli_cmd_merge;
extern const struct cli_command cli_cmd_plot;
extern const struct cli_command cli_cmd_sweep;
extern const struct cli_command cli_cmd_plan;
extern const struct cli_command cli_cmd_weights;
extern const struct cli_command cli_cmd_validate;
extern const struct cli_command cli_cmd_calibrate;
/* `thaw calibrate --probe ...` (calibrate_probe.c); argv as the command's. */
int cli_calibrate_probe(int argc, char **argv);
/* The runs.overrides text ("k=v,k=v") back into --set items of o
 * (cmd_calibrate.c); 0, or -1 (out of memory, a malformed item). */
int cli_overrides_from_text(const char *text, struct cli_overrides *o);
/* `thaw validate --repeat N` (validate_repeat.c): runs exec run ex's
 * scenario again n times (its seed, overrides, backend, time scale) into
 * db, so its noise floor can be measured. 0, or -1 after a message. */
struct res_db;
int cli_validate_repeat(struct res_db *db, const struct res_run_meta *ex, int n,
                        const char *weights_dir, const char *shm_dir);
extern const struct cli_command cli_cmd_prune;
extern const struct cli_command cli_cmd_trace;
extern const struct cli_command cli_cmd_export;

#endif

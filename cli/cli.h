/* cli.h - the `thaw` command: one cmd_*.c per subcommand, registered in the
 * table in main.c, plus the option helpers they share (common.c); `thaw
 * plot` keeps its charts in plot_*.c (plot_data.h), the sweep grid in
 * sweep_grid.c (sweep.h). cli holds no SQL: it reads the database through
 * the res_* functions of results.h.
 * Exit codes: 0 success, 1 failure (bad input, failed run), 2 usage error. */
#ifndef THAW_CLI_H
#define THAW_CLI_H

#include <stdbool.h>
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
extern const struct cli_command cli_cmd_prune;
extern const struct cli_command cli_cmd_trace;

#endif

/* main.c - `thaw`, in the style of git: `thaw COMMAND [ARGS]`, `thaw help
 * COMMAND`, `thaw COMMAND --help`, `thaw --version`. Each command lives in
 * its own cmd_*.c and is registered in the table below. */
#include "cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

static const struct cli_command *const commands[] = {
    &cli_cmd_check,     &cli_cmd_exec,    &cli_cmd_replay, &cli_cmd_sim,
    &cli_cmd_report,    &cli_cmd_compare, &cli_cmd_merge,  &cli_cmd_plot,
    &cli_cmd_validate,  &cli_cmd_sweep,   &cli_cmd_plan,   &cli_cmd_weights,
    &cli_cmd_calibrate, &cli_cmd_prune,   &cli_cmd_trace,  &cli_cmd_export,
    NULL,
};

static void print_help(FILE *out)
{
    fprintf(out, "usage: thaw [--version] [--help] COMMAND [ARGS]\n\n"
                 "When several models must cold-start at once, how long until each serves,\n"
                 "and which policy makes that shortest?\n\ncommands:\n");
    for (int i = 0; commands[i]; i++)
        fprintf(out, "   %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'thaw help COMMAND' or 'thaw COMMAND --help' shows a command's options.\n");
}

static const struct cli_command *find(const char *name)
{
    for (int i = 0; commands[i]; i++)
        if (!strcmp(commands[i]->name, name)) return commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    res_library_init();
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (cli_is_help(name)) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("thaw version %s\n", THAW_VERSION);
        return CLI_EXIT_OK;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            print_help(stdout);
            return CLI_EXIT_OK;
        }
        const struct cli_command *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "thaw: '%s' is not a thaw command. See 'thaw --help'.\n", argv[2]);
            return CLI_EXIT_USAGE;
        }
        fputs(c->usage, stdout);
        return CLI_EXIT_OK;
    }
    const struct cli_command *c = find(name);
    if (!c) {
        fprintf(stderr, "thaw: '%s' is not a thaw command. See 'thaw --help'.\n", name);
        return CLI_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (cli_is_help(argv[i])) {
            fputs(c->usage, stdout);
            return CLI_EXIT_OK;
        }
    }
    /* Every command takes `--opt value` and `--opt=value` alike: the second
     * form is split here, once, so no command parses it on its own. */
    char **args = calloc((size_t)argc * 2, sizeof *args);
    char **owned = calloc((size_t)argc, sizeof *owned);
    if (!args || !owned) {
        free(args);
        free(owned);
        fprintf(stderr, "thaw: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    int n = 0, n_owned = 0;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *eq = options ? strchr(argv[i], '=') : NULL;
        if (options && !strcmp(argv[i], "--")) options = false;
        if (eq && !strncmp(argv[i], "--", 2) && eq > argv[i] + 2) {
            char *name = strndup(argv[i], (size_t)(eq - argv[i]));
            if (!name) {
                fprintf(stderr, "thaw: out of memory\n");
                n = -1;
                break;
            }
            owned[n_owned++] = name;
            args[n++] = name;
            args[n++] = (char *)eq + 1;
        } else {
            args[n++] = argv[i];
        }
    }
    int rc = n < 0 ? CLI_EXIT_FAIL : c->run(n, args);
    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
    free(owned);
    free(args);
    return rc;
}

/* cmd_replay.c - `thaw replay RUN`: feeds a recorded run's core events into a
 * fresh core and checks that it decides exactly what the run decided. The
 * scenario is reloaded from the path and overrides the run recorded, and
 * must still hash to the recorded sha256; when it changed or is gone, the
 * copy stored with the run is used. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "shell.h"
#include "results.h"

static const char replay_usage[] =
    "usage: thaw replay [--db PATH] [--scenario FILE] RUN\n"
    "\n"
    "Re-runs the decisions of a recorded run: reads its core input events in\n"
    "order, feeds them to a fresh scheduling core built from the run's scenario\n"
    "(with the run's --set/--policy overrides and seed) and compares every action\n"
    "with the actions the run logged. The core is deterministic, so an exec run\n"
    "and its replay must agree line for line. A run without an action log (a sim\n"
    "run) is checked by two fresh cores against each other. When the scenario\n"
    "file changed since the run or is gone, the copy of it stored with the run\n"
    "is used (and a line on stderr says so).\n"
    "\n"
    "Prints \"replay: N events, M actions, identical\" and exits 0, or prints the\n"
    "first difference and exits 1.\n"
    "\n"
    "options:\n"
    "  --db PATH         results database (default " CLI_DEFAULT_DB ")\n"
    "  --scenario FILE   the scenario, when it moved since the run (it must hash\n"
    "                    to the same sha256)\n"
    "  RUN               a run id or a uuid prefix (4+ hex digits)\n"
    "\n"
    "example:\n"
    "  thaw exec scenarios/exec-small.yaml --quiet   # prints the run id, e.g. 7\n"
    "  thaw replay 7\n";

/* The run's scenario, its hash, overrides and seed; -1 after a message. */
static int read_meta(struct res_db *db, int64_t run, struct res_run_meta *m)
{
    struct thaw_err err = {0};
    int rc = res_run_meta_load(db, run, m, &err);
    if (rc == THAW_ENOENT)
        fprintf(stderr, "thaw replay: run %lld does not exist\n", (long long)run);
    else if (rc < 0)
        fprintf(stderr, "thaw replay: %s\n", err.msg);
    return rc < 0 ? -1 : 0;
}

/* The runs table keeps the overrides as "k=v,k=v" (cli_overrides.text); a
 * piece without '=' belonged to the previous value (a value with a comma). */
static int parse_overrides(const char *text, struct cli_overrides *o)
{
    char *copy = strdup(text);
    if (!copy) return -1;
    /* at most one piece per comma, plus one: no limit on their number */
    size_t max = 1;
    for (const char *c = copy; *c; c++)
        max += *c == ',';
    char **pieces = malloc(max * sizeof *pieces);
    if (!pieces) {
        free(copy);
        return -1;
    }
    size_t n = 0;
    for (char *p = copy; *p;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (strchr(p, '=') || n == 0)
            pieces[n++] = p;
        else
            pieces[n - 1][strlen(pieces[n - 1])] = ','; /* glue back */
        if (!comma) break;
        p = comma + 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cli_overrides_add_set(o, pieces[i]);
    free(pieces);
    free(copy);
    return rc;
}

static int replay_run(int argc, char **argv)
{
    const char *db_path = CLI_DEFAULT_DB, *run_text = NULL, *scenario = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") || !strcmp(argv[i], "--scenario")) {
            if (i + 1 >= argc) return cli_usage_error("replay", "%s needs a value", argv[i]);
            if (!strcmp(argv[i], "--db"))
                db_path = argv[++i];
            else
                scenario = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("replay", "unknown option %s", argv[i]);
        } else if (!run_text) {
            run_text = argv[i];
        } else {
            return cli_usage_error("replay", "one run at a time");
        }
    }
    if (!run_text) return cli_usage_error("replay", "missing RUN");
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "thaw replay: no results database at %s\n", db_path);
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_FAIL;
    struct res_db *db = NULL;
    struct core_spec *spec = NULL;
    struct res_run_meta meta = {0};
    struct cli_overrides ovr;
    cli_overrides_init(&ovr);
    struct thaw_err err = {0};
    int64_t run;
    if (res_open(db_path, &db, &err) < 0 || res_resolve_run(db, run_text, &run, &err) < 0) {
        fprintf(stderr, "thaw replay: %s\n", err.msg);
        goto out;
    }
    if (read_meta(db, run, &meta) < 0) goto out;
    char *full = NULL;
    struct thaw_err oerr = {0};
    if (res_run_overrides(db, run, &full, &oerr) < 0) {
        fprintf(stderr, "thaw replay: %s\n", oerr.msg);
        goto out;
    }
    int prc = parse_overrides(full, &ovr);
    free(full);
    if (prc < 0) goto out;
    bool stored = false;
    if (!scenario) {
        if (!(spec = cli_run_spec_load(db, &meta, &ovr, "replay", &stored))) goto out;
    } else if (!(spec = cli_load_spec(scenario, &ovr))) {
        goto out;
    }
    if (strcmp(spec->sha256_hex, meta.sha)) {
        fprintf(stderr,
                "thaw replay: %s changed since run %lld (sha256 %.12s..., recorded %.12s...)\n",
                scenario ? scenario : meta.scenario, (long long)run, spec->sha256_hex, meta.sha);
        goto out;
    }
    spec->seed = (uint64_t)meta.seed;
    struct shell_replay_report rep;
    if (shell_replay(db, run, spec, &rep, &err) < 0) {
        fprintf(stderr, "thaw replay: %s\n", err.msg);
        goto out;
    }
    if (rep.identical) {
        printf("replay: %llu events, %llu actions, identical%s\n", (unsigned long long)rep.events,
               (unsigned long long)rep.actions,
               rep.had_log ? "" : " (no action log: two fresh cores compared)");
        rc = CLI_EXIT_OK;
    } else {
        printf("replay: %llu events, %llu actions, DIFFERENT\n", (unsigned long long)rep.events,
               (unsigned long long)rep.actions);
        printf("  first difference at event %llu, action %llu:\n", (unsigned long long)rep.diff_seq,
               (unsigned long long)rep.diff_index);
        printf("    run:    %s\n", rep.expected[0] ? rep.expected : "(no action)");
        printf("    replay: %s\n", rep.got[0] ? rep.got : "(no action)");
    }
out:
    core_spec_free(spec);
    cli_overrides_free(&ovr);
    res_close(db);
    return rc;
}

const struct cli_command cli_cmd_replay = {
    "replay",
    "re-run a recorded run's decisions and check they are identical",
    replay_usage,
    replay_run,
};

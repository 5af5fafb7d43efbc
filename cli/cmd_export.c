/* cmd_export.c - `thaw export`: a stored table or analysis view of some
 * runs as CSV or JSON on stdout (or a file), row by row, for pandas, R or a
 * spreadsheet. The rows come typed from res_export; format.c prints them. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

static const char export_usage[] =
    "usage: thaw export [--db PATH] [--table T] [--format csv|json|table] [--out FILE]\n"
    "                   [RUN|SELECTOR...]\n"
    "\n"
    "Writes the rows of one table or view for the given runs: CSV (RFC 4180,\n"
    "one header line) or JSON (an array of objects). Integers print as integers,\n"
    "reals in the shortest form that reads back exactly; NULL is an empty CSV\n"
    "field or JSON null. Rows stream: a million requests take no memory.\n"
    "\n"
    "tables: runs loads requests metrics instance_events faults gpus core_events\n"
    "        run_params models nodes, and the views\n"
    "        run_summary        one row per run, one column per metric\n"
    "        load_breakdown     loads with queued_s, service_s, total_s\n"
    "        core_events_named  core_events with model, node, GPU names\n"
    "        model_summary      per run and model: loads, cold starts, requests\n"
    "\n"
    "options:\n"
    "  --db PATH      results database (default " CLI_DEFAULT_DB ")\n"
    "  --table T      what to export (default loads)\n"
    "  --format F     csv (default), json, or table (aligned, for a terminal)\n"
    "  --out FILE     write there instead of stdout\n"
    "  RUN            a run id or uuid prefix; default: the last run\n"
    "  SELECTOR       runs as in 'thaw compare' (sweep=ID, 3-7, policy=k=v,\n"
    "                 param:k=v, ...); a word with '=', ',', '-' or a space is\n"
    "                 read as one (or give --select S)\n"
    "\n"
    "examples:\n"
    "  thaw export --table loads > loads.csv\n"
    "  thaw export sweep=4f1e --table run_summary --format json\n"
    "  python3 -c 'import pandas; print(pandas.read_csv(\"loads.csv\").describe())'\n";

struct export_sink {
    struct cli_writer w;
};

static int sink_columns(void *ctx, int n, const char *const *names)
{
    struct export_sink *s = ctx;
    return cli_writer_columns(&s->w, n, names) < 0 ? THAW_EIO : 0;
}

static int sink_row(void *ctx, int n, const struct res_value *v)
{
    struct export_sink *s = ctx;
    return cli_writer_row(&s->w, n, v) < 0 ? THAW_EIO : 0;
}

static int export_run(int argc, char **argv)
{
    const char *db_path = CLI_DEFAULT_DB, *table = "loads", *out_path = NULL;
    enum cli_format fmt = CLI_FMT_CSV;
    const char **sel = calloc((size_t)argc + 1, sizeof *sel);
    if (!sel) return CLI_EXIT_FAIL;
    int nsel = 0, rc = CLI_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        bool takes = !strcmp(opt, "--db") || !strcmp(opt, "--table") || !strcmp(opt, "--format") ||
                     !strcmp(opt, "--out") || !strcmp(opt, "--select");
        if (takes && i + 1 >= argc) {
            cli_usage_error("export", "%s needs a value", opt);
            goto out;
        }
        if (!strcmp(opt, "--db"))
            db_path = argv[++i];
        else if (!strcmp(opt, "--table"))
            table = argv[++i];
        else if (!strcmp(opt, "--out"))
            out_path = argv[++i];
        else if (!strcmp(opt, "--select"))
            sel[nsel++] = argv[++i];
        else if (!strcmp(opt, "--format")) {
            if (cli_format_parse("export", argv[++i], &fmt) < 0) goto out;
        } else if (opt[0] == '-' && opt[1] && !(opt[1] >= '0' && opt[1] <= '9')) {
            cli_usage_error("export", "unknown option %s", opt);
            goto out;
        } else
            sel[nsel++] = opt;
    }
    rc = CLI_EXIT_FAIL;
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "thaw export: no results database at %s\n", db_path);
        goto out;
    }
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    int64_t *runs = NULL;
    int n = 0;
    FILE *out = stdout;
    if (res_open(db_path, &db, &err) < 0 || cli_runs_resolve(db, sel, nsel, &runs, &n, &err) < 0) {
        fprintf(stderr, "thaw export: %s\n", err.msg);
        goto close;
    }
    if (out_path && !(out = fopen(out_path, "w"))) {
        fprintf(stderr, "thaw export: cannot write %s\n", out_path);
        out = stdout;
        goto close;
    }
    struct export_sink s;
    cli_writer_init(&s.w, fmt, out);
    struct res_export_sink sink = {sink_columns, sink_row};
    int e = res_export(db, table, runs, n, &sink, &s, &err);
    if (e == THAW_EIO && !err.msg[0]) snprintf(err.msg, sizeof err.msg, "write failed");
    if (e == 0 && cli_writer_end(&s.w) < 0) {
        e = THAW_EIO;
        snprintf(err.msg, sizeof err.msg, "write failed");
    }
    cli_writer_free(&s.w);
    if (e < 0) {
        fprintf(stderr, "thaw export: %s\n", err.msg);
        if (e == THAW_EINVAL) rc = CLI_EXIT_USAGE;
        goto close;
    }
    rc = CLI_EXIT_OK;
close:
    if (out != stdout && fclose(out) != 0 && rc == CLI_EXIT_OK) {
        fprintf(stderr, "thaw export: cannot write %s\n", out_path);
        rc = CLI_EXIT_FAIL;
    }
    free(runs);
    res_close(db);
out:
    free(sel);
    return rc;
}

const struct cli_command cli_cmd_export = {
    "export",
    "write a table or view of stored runs as CSV or JSON",
    export_usage,
    export_run,
};

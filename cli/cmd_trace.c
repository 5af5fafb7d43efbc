/* cmd_trace.c - `thaw trace stats FILE --format F`: what a trace holds before
 * a scenario uses it: requests, span, rate over time, distinct ids and the
 * busiest ones, inter-arrival CV. The file is streamed once with the same
 * line parser as the loader and the run (core_trace_parse); memory grows
 * with the distinct ids and the bins, not with the lines. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char trace_usage[] =
    "usage: thaw trace stats FILE [--format F] [--model-column C] [--bin DURATION] [--top N]\n"
    "\n"
    "Reads a trace once and prints what it holds: data lines, requests, the\n"
    "span of its timestamps, the request rate per bin (default 1h), the number\n"
    "of distinct ids in the model column and the busiest ones (default 10),\n"
    "and the coefficient of variation of the inter-arrival gaps (1 for a\n"
    "Poisson process; for azure-functions, whose lines are per-minute counts,\n"
    "the CV of the counts per minute instead).\n"
    "\n"
    "  --format F         csv (default), azure-llm, jsonl, azure-functions\n"
    "  --model-column C   the id column: a header name or number (csv,\n"
    "                     azure-llm), a key (jsonl), HashOwner, HashApp,\n"
    "                     HashFunction (the default) or Trigger (azure-functions)\n"
    "  --bin DURATION     width of a rate bin, such as 10m or 1h (default 1h)\n"
    "  --top N            busiest ids to list (default 10)\n";

/* Welford's running mean and variance. */
struct moments {
    int64_t n;
    double mean, m2;
};

static void moments_add(struct moments *m, double x)
{
    m->n++;
    double d = x - m->mean;
    m->mean += d / (double)m->n;
    m->m2 += d * (x - m->mean);
}

static double moments_cv(const struct moments *m)
{
    if (m->n < 2 || m->mean <= 0) return NAN;
    return sqrt(m->m2 / (double)(m->n - 1)) / m->mean;
}

#define BINS_MAX 100000

struct stats {
    int64_t lines, requests, first_ns, last_ns;
    int64_t *bins;
    int bin_count;
    struct moments gaps;
    struct core_id_table ids;
};

static bool bin_add(struct stats *st, int64_t rel_ns, int64_t bin_ns, int64_t count)
{
    int64_t b = rel_ns / bin_ns;
    if (b >= BINS_MAX) return false;
    if (b >= st->bin_count) {
        int64_t *p = realloc(st->bins, (size_t)(b + 1) * sizeof *p);
        if (!p) return false;
        memset(p + st->bin_count, 0, (size_t)(b + 1 - st->bin_count) * sizeof *p);
        st->bins = p;
        st->bin_count = (int)b + 1;
    }
    st->bins[b] += count;
    return true;
}

static int trace_stats(const char *file, struct core_trace_spec *t, const char *id_name,
                       int64_t bin_ns, int top)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        fprintf(stderr, "thaw trace: cannot read %s: %s\n", file, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    struct core_trace_parser p;
    core_trace_parser_init(&p, t, id_name);
    struct core_trace_rec *rec = malloc(sizeof *rec);
    struct stats st = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t lineno = 0;
    int rc = rec ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    bool funcs = t->format == CORE_TRACE_AZURE_FUNCTIONS;
    struct moments minute_counts = {0};
    int64_t *minutes = funcs ? calloc(CORE_TRACE_MINUTES, sizeof *minutes) : NULL;
    if (funcs && !minutes) rc = CLI_EXIT_FAIL;
    while (rc == CLI_EXIT_OK && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len && line[len - 1] == '\n') len--;
        int col;
        char msg[200];
        int r = core_trace_parse(&p, line, (size_t)len, rec, &col, msg, sizeof msg);
        if (r < 0) {
            fprintf(stderr, "thaw trace: %s:%lld:%d: %s\n", file, (long long)lineno, col, msg);
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (r == 0) continue;
        int64_t count = 1;
        if (funcs) {
            count = 0;
            for (int m = 0; m < CORE_TRACE_MINUTES; m++) {
                count += rec->minutes[m];
                minutes[m] += rec->minutes[m];
            }
        } else {
            if (st.lines == 0) st.first_ns = rec->t_ns;
            if (st.lines > 0 && rec->t_ns < st.last_ns) {
                fprintf(stderr,
                        "thaw trace: %s:%lld:1: timestamps must not decrease (sort the trace)\n",
                        file, (long long)lineno);
                rc = CLI_EXIT_FAIL;
                break;
            }
            if (st.lines > 0) moments_add(&st.gaps, (double)(rec->t_ns - st.last_ns));
            st.last_ns = rec->t_ns;
            if (!bin_add(&st, rec->t_ns - st.first_ns, bin_ns, 1)) {
                fprintf(stderr, "thaw trace: more than %d bins; give a wider --bin\n", BINS_MAX);
                rc = CLI_EXIT_FAIL;
                break;
            }
        }
        st.lines++;
        st.requests += count;
        if (rec->id && !core_ids_add(&st.ids, rec->id, rec->id_len, count, lineno)) {
            rc = CLI_EXIT_FAIL;
            break;
        }
    }
    fclose(f);
    free(line);
    free(rec);
    if (rc == CLI_EXIT_OK && funcs) {
        st.first_ns = 0;
        st.last_ns = (int64_t)CORE_TRACE_MINUTES * 60000000000LL;
        for (int m = 0; m < CORE_TRACE_MINUTES; m++) {
            moments_add(&minute_counts, (double)minutes[m]);
            if (minutes[m] && !bin_add(&st, (int64_t)m * 60000000000LL, bin_ns, minutes[m])) {
                fprintf(stderr, "thaw trace: more than %d bins; give a wider --bin\n", BINS_MAX);
                rc = CLI_EXIT_FAIL;
                break;
            }
        }
    }
    free(minutes);
    if (rc == CLI_EXIT_OK) {
        double span_s = (double)(st.last_ns - st.first_ns) / 1e9;
        printf("trace: %s (%s)\n", file, core_trace_format_name(t->format));
        printf("data lines: %lld, requests: %lld\n", (long long)st.lines, (long long)st.requests);
        printf("span: %.3f s", span_s);
        if (span_s > 0) printf(", mean rate %.4g/s", (double)st.requests / span_s);
        printf("\n");
        if (funcs)
            printf("per-minute count CV: %.4g (of the %d minutes' totals)\n",
                   moments_cv(&minute_counts), CORE_TRACE_MINUTES);
        else
            printf("inter-arrival CV: %.4g (1 for Poisson arrivals; %lld gaps)\n",
                   moments_cv(&st.gaps), (long long)st.gaps.n);
        if (st.ids.used) {
            printf("distinct ids: %zu\n", st.ids.used);
            struct core_id_count *r = core_ids_ranked(&st.ids);
            size_t n = st.ids.used;
            if (r) {
                printf("busiest ids (rank: requests, share):\n");
                for (size_t i = 0; i < n && (int)i < top; i++)
                    printf("  %3zu  %-40s %12lld  %5.1f%%\n", i + 1, r[i].id, (long long)r[i].count,
                           st.requests ? 100.0 * (double)r[i].count / (double)st.requests : 0.0);
                free(r);
            }
        } else {
            printf("distinct ids: none (no model column)\n");
        }
        printf("rate over time (bin %.0f s, from the first timestamp):\n", (double)bin_ns / 1e9);
        for (int b = 0; b < st.bin_count; b++)
            printf("  %10.0f s  %10lld  %10.4g/s\n", (double)b * (double)bin_ns / 1e9,
                   (long long)st.bins[b], (double)st.bins[b] / ((double)bin_ns / 1e9));
    }
    core_ids_free(&st.ids);
    free(st.bins);
    return rc;
}

/* A bin width: a number and one of ms, s, m, h ("10m", "1.5h"). */
static bool parse_bin(const char *s, int64_t *ns)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0) return false;
    double mult = 0;
    if (!strcmp(end, "s"))
        mult = 1e9;
    else if (!strcmp(end, "m"))
        mult = 60e9;
    else if (!strcmp(end, "h"))
        mult = 3600e9;
    else if (!strcmp(end, "ms"))
        mult = 1e6;
    if (mult == 0) return false;
    *ns = (int64_t)(v * mult);
    return *ns > 0;
}

static int trace_run(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "stats"))
        return cli_usage_error("trace", "expected 'stats FILE'");
    const char *file = NULL, *format = "csv", *column = NULL;
    int64_t bin_ns = 3600000000000LL;
    unsigned long long top = 10;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--format") && has_value) {
            format = argv[++i];
        } else if (!strcmp(a, "--model-column") && has_value) {
            column = argv[++i];
        } else if (!strcmp(a, "--bin") && has_value) {
            if (!parse_bin(argv[++i], &bin_ns))
                return cli_usage_error("trace", "--bin expects a duration such as 10m or 1h");
        } else if (!strcmp(a, "--top") && has_value) {
            if (cli_parse_u64("trace", "--top", argv[++i], &top)) return CLI_EXIT_USAGE;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("trace", "unknown option %s", a);
        } else if (!file) {
            file = a;
        } else {
            return cli_usage_error("trace", "one FILE only");
        }
    }
    if (!file) return cli_usage_error("trace", "expected a trace FILE");
    int fmt = core_trace_format_from_name(format);
    if (fmt < 0)
        return cli_usage_error("trace",
                               "--format is one of csv, azure-llm, jsonl, azure-functions");
    struct core_trace_spec t = {.format = fmt, .id_column = -1, .speed = 1};
    const char *id_name = NULL;
    if (fmt == CORE_TRACE_AZURE_FUNCTIONS) {
        static const char *const cols[] = {"HashOwner", "HashApp", "HashFunction", "Trigger"};
        t.id_column = 2;
        if (column) {
            t.id_column = -1;
            for (int k = 0; k < 4; k++)
                if (!strcmp(column, cols[k])) t.id_column = k;
            if (t.id_column < 0)
                return cli_usage_error(
                    "trace", "--model-column is HashOwner, HashApp, HashFunction or Trigger");
        }
    } else if (column && fmt == CORE_TRACE_JSONL) {
        snprintf(t.id_key, sizeof t.id_key, "%s", column);
    } else if (column) {
        char *end;
        long n = strtol(column, &end, 10);
        if (*end == '\0' && n >= 2 && n <= 64) {
            t.id_column = (int)n - 1;
        } else {
            id_name = column;
            t.id_column = 64;
        }
    }
    return trace_stats(file, &t, id_name, bin_ns, (int)(top > 100000 ? 100000 : top));
}

const struct cli_command cli_cmd_trace = {
    "trace",
    "what a trace file holds: rate over time, distinct and busiest ids, CV",
    trace_usage,
    trace_run,
};

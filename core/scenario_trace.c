/* scenario_trace.c - the loader's part of traces and time-varying rates:
 * `arrivals: {trace: {file, format, ...}}`, `arrivals: {rate: [...]}`,
 * `arrivals: {diurnal: {...}}` and `service: {tokens: {...}}`. A trace is
 * scanned here once, line by line and without keeping it, so that `thaw
 * check` reports a malformed line as trace-file:line:col inside the
 * scenario diagnostic; the scan also ranks the ids (busiest first) that a
 * `count:` entry's models take. workload/ streams the file again at run
 * time with the same line parser (trace_line.c). */
#include "scenario_internal.h"
#include "units.h"

#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the scan ---------------------------------------------------------------- */

struct scan {
    int64_t lines;    /* data lines */
    int64_t first_ns; /* first data line's timestamp */
    struct core_id_table ids;
};

/* Reads the whole file once: every line parsed, timestamps in file order
 * must not decrease, ids counted (within the window) when the trace has an
 * id column. Up to 5 bad lines are reported; returns false after any. */
static bool scan_file(struct core_ld *ld, struct fy_node *at, const char *path,
                      struct core_workload_spec *w, const char *id_name, bool start_first,
                      struct scan *sc)
{
    struct core_trace_spec *t = &w->trace;
    const char *file = w->trace_path;
    char ebuf[128];
    FILE *f = fopen(file, "rb");
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        f = NULL;
        errno = EISDIR;
    }
    if (!f) {
        core_ld_err(ld, at, NULL, path, "cannot read trace %s: %s", file,
                    strerror_r(errno, ebuf, sizeof ebuf));
        return false;
    }
    struct core_trace_parser p;
    core_trace_parser_init(&p, t, id_name);
    struct core_trace_rec *rec = malloc(sizeof *rec);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t lineno = 0, prev_ns = 0;
    int bad = 0;
    bool ok = rec != NULL;
    if (!rec) ld->nomem = true;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len && line[len - 1] == '\n') len--;
        int col = 0;
        char msg[200];
        int r = core_trace_parse(&p, line, (size_t)len, rec, &col, msg, sizeof msg);
        if (r < 0) {
            if (bad++ < 5)
                core_ld_err(ld, at, NULL, path, "%s:%lld:%d: %s", file, (long long)lineno, col,
                            msg);
            if (bad >= 5) break;
            continue;
        }
        if (r == 0) continue;
        bool timed = t->format != CORE_TRACE_AZURE_FUNCTIONS;
        if (timed && sc->lines > 0 && rec->t_ns < prev_ns) {
            if (bad++ < 5)
                core_ld_err(ld, at, NULL, path,
                            "%s:%lld:1: timestamps must not decrease (this line is before the one "
                            "above); sort the trace first",
                            file, (long long)lineno);
            continue;
        }
        if (sc->lines == 0 && timed) {
            sc->first_ns = rec->t_ns;
            if (start_first) t->origin_ns = rec->t_ns;
        }
        prev_ns = rec->t_ns;
        sc->lines++;
        if (!rec->id) continue;
        int64_t count = 1;
        if (!timed) {
            count = 0;
            for (int m = 0; m < CORE_TRACE_MINUTES; m++) {
                int64_t at_ns = (int64_t)m * 60000000000LL - t->origin_ns;
                if (at_ns >= t->window_from_ns && at_ns < t->window_to_ns) count += rec->minutes[m];
            }
        } else {
            int64_t rel = rec->t_ns - t->origin_ns;
            if (rel < t->window_from_ns || rel >= t->window_to_ns) count = 0;
        }
        if (!core_ids_add(&sc->ids, rec->id, rec->id_len, count, lineno)) {
            ld->nomem = true;
            ok = false;
        }
    }
    free(line);
    free(rec);
    fclose(f);
    t->id_column = p.id_column; /* found in the header when named */
    if (bad || !ok) return false;
    if (sc->lines == 0) {
        core_ld_err(ld, at, NULL, path,
                    "trace %s holds no data lines (only a header, comments or "
                    "blank lines)",
                    file);
        return false;
    }
    t->lines = sc->lines;
    return true;
}

/* ---- arrivals: {trace: ...} ------------------------------------------------ */

static const char *const assign_names[] = {"rank", "hash", "split", NULL};
static const char *const spread_names[] = {"uniform", "poisson", NULL};
static const char *const func_columns[] = {"HashOwner", "HashApp", "HashFunction", "Trigger", NULL};

char *core_ld_resolve(struct core_ld *ld, const char *p)
{
    size_t n = strlen(ld->dir) + strlen(p) + 2;
    char *out = malloc(n);
    if (!out) {
        ld->nomem = true;
        return NULL;
    }
    if (p[0] == '/' || !ld->dir[0])
        snprintf(out, n, "%s", p);
    else
        snprintf(out, n, "%s/%s", ld->dir, p);
    return out;
}

bool core_ld_trace(struct core_ld *ld, struct fy_node *n, const char *path,
                   struct core_workload_spec *w, int first, int count,
                   struct core_trace_spec *per_model)
{
    enum {
        FILE_,
        FORMAT,
        START,
        SPEED,
        WINDOW,
        MODEL_COLUMN,
        ASSIGN,
        MAPPING,
        SPREAD,
        WEIGHTS_FROM,
        NF
    };
    struct core_ld_field f[NF] = {
        {.name = "file"},   {.name = "format"},       {.name = "start"},  {.name = "speed"},
        {.name = "window"}, {.name = "model_column"}, {.name = "assign"}, {.name = "mapping"},
        {.name = "spread"}, {.name = "weights_from"}};
    struct core_trace_spec *t = &w->trace;
    memset(t, 0, sizeof *t);
    t->id_column = -1;
    t->speed = 1;
    t->window_to_ns = INT64_MAX;
    w->arrivals = CORE_ARRIVAL_TRACE;
    char rel[4096], sub[300], buf[256];
    struct fy_node *file_node = n;
    if (n && fy_node_is_scalar(n)) {
        if (!core_ld_string(ld, n, path, rel, sizeof rel, "a trace file")) return false;
    } else {
        if (!core_ld_fields(ld, n, path, f, NF,
                            "a trace: a file name, or {file: F, format: csv | azure-llm | jsonl | "
                            "azure-functions, ...}"))
            return false;
        if (!f[FILE_].key) {
            core_ld_err(ld, n, NULL, path, "missing key 'file' (the trace file)");
            return false;
        }
        file_node = f[FILE_].val;
        snprintf(sub, sizeof sub, "%s.file", path);
        if (!core_ld_string(ld, f[FILE_].val, sub, rel, sizeof rel, "a trace file")) return false;
    }
    int before = ld->errors;
    if (f[FORMAT].key) {
        static const char *const names[] = {"csv", "azure-llm", "jsonl", "azure-functions", NULL};
        int k;
        snprintf(sub, sizeof sub, "%s.format", path);
        if (core_ld_choice(ld, f[FORMAT].val, sub, names, &k)) t->format = k;
    }
    t->has_tokens = t->format == CORE_TRACE_AZURE_LLM || t->format == CORE_TRACE_JSONL;
    /* start: where run time 0 is in the trace's clock. Default: the first
     * timestamp for clocks that do not start at the run's start (azure-llm:
     * dates; jsonl: often epoch ms), 0 for csv and azure-functions. */
    bool start_first = t->format == CORE_TRACE_AZURE_LLM || t->format == CORE_TRACE_JSONL;
    if (f[START].key) {
        snprintf(sub, sizeof sub, "%s.start", path);
        if (core_ld_string(ld, f[START].val, sub, buf, sizeof buf, "a timestamp or 'first'")) {
            if (!strcmp(buf, "first")) {
                start_first = true;
            } else if (t->format == CORE_TRACE_AZURE_LLM) {
                start_first = false;
                if (!core_trace_datetime_ns(buf, strlen(buf), &t->origin_ns))
                    core_ld_err(ld, f[START].val, NULL, sub,
                                "expected 'first' or a timestamp such as 2023-11-16 18:00:00, "
                                "found \"%s\"",
                                buf);
            } else if (t->format == CORE_TRACE_JSONL) {
                start_first = false;
                int64_t ms;
                if (core_units_int(buf, 0, INT64_MAX / 1000000, &ms) == CORE_UNIT_OK)
                    t->origin_ns = ms * 1000000;
                else
                    core_ld_duration(ld, f[START].val, sub, true, &t->origin_ns);
            } else {
                start_first = false;
                core_ld_duration(ld, f[START].val, sub, true, &t->origin_ns);
            }
        }
    }
    if (f[SPEED].key) {
        snprintf(sub, sizeof sub, "%s.speed", path);
        if (core_ld_number(ld, f[SPEED].val, sub, 1e-6, 1e9, &t->speed) && !(t->speed > 0))
            core_ld_err(ld, f[SPEED].val, NULL, sub, "expected a speed above zero");
    }
    if (f[WINDOW].key) {
        snprintf(sub, sizeof sub, "%s.window", path);
        struct core_ld_field wf[2] = {{.name = "from"}, {.name = "to"}};
        if (core_ld_fields(ld, f[WINDOW].val, sub, wf, 2, "a window {from: 1h, to: 2h}")) {
            char s2[340];
            if (wf[0].key) {
                snprintf(s2, sizeof s2, "%s.from", sub);
                core_ld_duration(ld, wf[0].val, s2, true, &t->window_from_ns);
            }
            if (wf[1].key) {
                snprintf(s2, sizeof s2, "%s.to", sub);
                if (core_ld_duration(ld, wf[1].val, s2, false, &t->window_to_ns) &&
                    t->window_to_ns <= t->window_from_ns)
                    core_ld_err(ld, wf[1].val, NULL, s2, "expected window.to after window.from");
            }
        }
    }
    if (f[SPREAD].key) {
        int k;
        snprintf(sub, sizeof sub, "%s.spread", path);
        if (t->format != CORE_TRACE_AZURE_FUNCTIONS)
            core_ld_err(ld, f[SPREAD].key, n, sub,
                        "spread applies to per-minute counts (format azure-functions) only");
        else if (core_ld_choice(ld, f[SPREAD].val, sub, spread_names, &k))
            t->spread = k;
    }
    /* The model column: a column name in the header (csv, azure-llm), a
     * 1-based column number (csv), a key (jsonl), or one of the four id
     * columns of azure-functions (HashFunction unless said otherwise). */
    const char *id_name = NULL;
    char colname[CORE_NAME_MAX] = "";
    if (t->format == CORE_TRACE_AZURE_FUNCTIONS) t->id_column = 2;
    if (f[MODEL_COLUMN].key) {
        snprintf(sub, sizeof sub, "%s.model_column", path);
        if (core_ld_string(ld, f[MODEL_COLUMN].val, sub, colname, sizeof colname,
                           "a column name or number")) {
            int64_t v;
            if (t->format == CORE_TRACE_JSONL) {
                snprintf(t->id_key, sizeof t->id_key, "%s", colname);
            } else if (t->format == CORE_TRACE_AZURE_FUNCTIONS) {
                int k;
                if (core_ld_choice(ld, f[MODEL_COLUMN].val, sub, func_columns, &k))
                    t->id_column = k;
            } else if (core_units_int(colname, 2, 64, &v) == CORE_UNIT_OK) {
                t->id_column = (int)v - 1;
            } else {
                id_name = colname;
                t->id_column = 64; /* resolved from the header by the parser */
            }
        }
    }
    bool has_ids = t->id_column >= 0 || t->id_key[0];
    int assign = has_ids ? 0 : (count > 1 ? 2 : -1);
    if (f[ASSIGN].key) {
        snprintf(sub, sizeof sub, "%s.assign", path);
        int k;
        if (core_ld_choice(ld, f[ASSIGN].val, sub, assign_names, &k)) {
            if (k != 2 && !has_ids)
                core_ld_err(ld, f[ASSIGN].val, NULL, sub,
                            "assign: %s needs ids: give model_column (this format has no id "
                            "column of its own)",
                            assign_names[k]);
            else
                assign = k;
        }
    }
    if (f[MAPPING].key && !has_ids) {
        snprintf(sub, sizeof sub, "%s.mapping", path);
        core_ld_err(ld, f[MAPPING].key, n, sub, "mapping needs ids: give model_column");
    }
    if (ld->errors != before) return false;
    w->trace_path = core_ld_resolve(ld, rel);
    if (!w->trace_path) return false;
    struct scan sc = {0};
    char tpath[300];
    snprintf(tpath, sizeof tpath, "%s", path);
    bool ok = scan_file(ld, file_node, tpath, w, id_name, start_first, &sc);
    /* Each model of the entry: its share of the lines. */
    for (int k = 0; ok && k < count; k++) {
        struct core_trace_spec *m = &per_model[k];
        *m = *t;
        m->id = NULL;
        m->slot = k;
        m->slots = count;
        if (assign < 0)
            m->assign = CORE_TRACE_ALL;
        else if (assign == 2)
            m->assign = CORE_TRACE_SPLIT;
        else if (assign == 1)
            m->assign = CORE_TRACE_HASH;
        else
            m->assign = CORE_TRACE_ID;
    }
    if (ok && count > 0 && assign == 0) {
        struct core_id_count *ranked = core_ids_ranked(&sc.ids);
        if (!ranked) {
            ld->nomem = true;
            ok = false;
        }
        snprintf(sub, sizeof sub, "%s.mapping", path);
        for (int k = 0; ok && k < count; k++) {
            const char *id = NULL;
            struct fy_node *mapped = NULL;
            if (f[MAPPING].key) {
                const char *model = ld->spec->models[first + k].name;
                mapped = fy_node_mapping_lookup_value_by_simple_key(f[MAPPING].val, model,
                                                                    strlen(model));
                if (!mapped || !fy_node_is_scalar(mapped)) {
                    core_ld_err(ld, f[MAPPING].val ? f[MAPPING].val : f[MAPPING].key, n, sub,
                                "model '%s' of this workload has no id in the mapping", model);
                    ok = false;
                    break;
                }
                size_t l;
                const char *s = fy_node_get_scalar(mapped, &l);
                snprintf(buf, sizeof buf, "%.*s", (int)l, s);
                if (!core_ids_find(&sc.ids, buf, strlen(buf))) {
                    core_ld_err(ld, mapped, NULL, sub, "id \"%s\" does not occur in trace %s", buf,
                                w->trace_path);
                    ok = false;
                    break;
                }
                for (int j = 0; j < k; j++)
                    if (per_model[j].id && !strcmp(per_model[j].id, buf)) {
                        /* Two models on one id would get identical arrivals. */
                        core_ld_err(ld, mapped, NULL, sub,
                                    "id \"%s\" is already mapped to model '%s'; each model "
                                    "needs an id of its own",
                                    buf, ld->spec->models[first + j].name);
                        ok = false;
                    }
                if (!ok) break;
                id = buf;
            } else if ((size_t)k < sc.ids.used) {
                id = ranked[k].id;
            } else {
                core_ld_err(ld, file_node, NULL, path,
                            "trace %s holds %zu distinct id%s for the %d models of this workload "
                            "(rank gives each model its own id); use assign: hash, or fewer "
                            "models",
                            w->trace_path, sc.ids.used, sc.ids.used == 1 ? "" : "s", count);
                ok = false;
                break;
            }
            per_model[k].id = strdup(id);
            if (!per_model[k].id) {
                ld->nomem = true;
                ok = false;
            }
        }
        free(ranked);
    }
    core_ids_free(&sc.ids);
    if (ok && count > 0 && f[WEIGHTS_FROM].key) {
        snprintf(sub, sizeof sub, "%s.weights_from", path);
        ok = core_ld_weights_from(ld, f[WEIGHTS_FROM].val, sub, w, first, per_model, count);
    }
    return ok && ld->errors == before;
}

/* ---- arrivals: {rate: [...]} and {diurnal: {...}} ----------------------------- */

bool core_ld_rate_pieces(struct core_ld *ld, struct fy_node *l, const char *path,
                         struct core_workload_spec *w)
{
    w->arrivals = CORE_ARRIVAL_PIECEWISE;
    int c = l && fy_node_is_sequence(l) ? fy_node_sequence_item_count(l) : 0;
    if (c <= 0 || c > 100000) {
        char found[80];
        core_ld_describe(l, found, sizeof found);
        core_ld_err(ld, l, NULL, path,
                    "expected a list of pieces such as [{until: 6h, rate: 1/s}, {until: 18h, "
                    "rate: 5/s}], found %s",
                    found);
        return false;
    }
    w->rate_segs = calloc((size_t)c, sizeof *w->rate_segs);
    if (!w->rate_segs) {
        ld->nomem = true;
        return false;
    }
    w->rate_seg_count = c;
    int before = ld->errors;
    void *it = NULL;
    struct fy_node *x;
    for (int i = 0; (x = fy_node_sequence_iterate(l, &it)) && !ld->stopped; i++) {
        char p2[300], p3[320];
        snprintf(p2, sizeof p2, "%s[%d]", path, i);
        struct core_ld_field f[2] = {{.name = "until"}, {.name = "rate"}};
        w->rate_segs[i].until_ns = INT64_MAX;
        if (!core_ld_fields(ld, x, p2, f, 2, "a piece {until: 6h, rate: 1/s}")) continue;
        if (!f[1].key) {
            core_ld_err(ld, x, NULL, p2, "missing key 'rate'");
            continue;
        }
        snprintf(p3, sizeof p3, "%s.rate", p2);
        core_ld_rate(ld, f[1].val, p3, true, &w->rate_segs[i].rate_per_s);
        if (!f[0].key) {
            if (i != c - 1)
                core_ld_err(ld, x, NULL, p2,
                            "missing key 'until' (only the last piece "
                            "may go on until the run's end)");
            continue;
        }
        snprintf(p3, sizeof p3, "%s.until", p2);
        if (core_ld_duration(ld, f[0].val, p3, false, &w->rate_segs[i].until_ns) && i > 0 &&
            w->rate_segs[i].until_ns <= w->rate_segs[i - 1].until_ns)
            core_ld_err(ld, f[0].val, NULL, p3, "expected until after the previous piece's");
    }
    return ld->errors == before;
}

bool core_ld_diurnal(struct core_ld *ld, struct fy_node *n, const char *path,
                     struct core_workload_spec *w)
{
    w->arrivals = CORE_ARRIVAL_DIURNAL;
    enum { BASE, PEAK, PEAK_AT, PERIOD, NF };
    struct core_ld_field f[NF] = {
        {.name = "base"}, {.name = "peak"}, {.name = "peak_at"}, {.name = "period"}};
    if (!core_ld_fields(ld, n, path, f, NF,
                        "a daily pattern {base: 1/s, peak: 10/s, peak_at: 14h, period: 24h}"))
        return false;
    int before = ld->errors;
    char sub[300];
    struct core_diurnal *d = &w->diurnal;
    d->period_ns = 86400000000000LL;
    for (int i = BASE; i <= PEAK; i++) {
        snprintf(sub, sizeof sub, "%s.%s", path, f[i].name);
        if (!f[i].key)
            core_ld_err(ld, n, NULL, path, "missing key '%s'", f[i].name);
        else
            core_ld_rate(ld, f[i].val, sub, i == BASE, i == BASE ? &d->base_per_s : &d->peak_per_s);
    }
    if (f[PEAK_AT].key) {
        snprintf(sub, sizeof sub, "%s.peak_at", path);
        core_ld_duration(ld, f[PEAK_AT].val, sub, true, &d->peak_at_ns);
    }
    if (f[PERIOD].key) {
        snprintf(sub, sizeof sub, "%s.period", path);
        core_ld_duration(ld, f[PERIOD].val, sub, false, &d->period_ns);
    }
    if (ld->errors == before && d->peak_per_s < d->base_per_s)
        core_ld_err(ld, f[PEAK].val, NULL, path, "expected peak at least base");
    return ld->errors == before;
}

/* ---- service: {tokens: {...}} ------------------------------------------------ */

bool core_ld_is_token_service(struct fy_node *n)
{
    return n && fy_node_is_mapping(n) && fy_node_mapping_lookup_by_string(n, "tokens", 6) != NULL;
}

bool core_ld_token_service(struct core_ld *ld, struct fy_node *n, const char *path,
                           struct core_token_service *out)
{
    struct core_ld_field top[1] = {{.name = "tokens"}};
    if (!core_ld_fields(ld, n, path, top, 1, "service: {tokens: {prefill_per_token: 0.2ms, ...}}"))
        return false;
    char sub[300], s2[340];
    snprintf(sub, sizeof sub, "%s.tokens", path);
    enum { PREFILL, DECODE, FIXED, PRESET, NF };
    struct core_ld_field f[NF] = {{.name = "prefill_per_token"},
                                  {.name = "decode_per_token"},
                                  {.name = "fixed"},
                                  {.name = "preset"}};
    if (!core_ld_fields(ld, top[0].val, sub, f, NF,
                        "{prefill_per_token: 0.2ms, decode_per_token: 20ms, fixed: 30ms} or "
                        "{preset: NAME}"))
        return false;
    int before = ld->errors;
    memset(out, 0, sizeof *out);
    /* A preset first; keys given beside it replace its figures. */
    if (f[PRESET].key) {
        char name[CORE_NAME_MAX];
        snprintf(s2, sizeof s2, "%s.preset", sub);
        if (core_ld_string(ld, f[PRESET].val, s2, name, sizeof name, "a preset name"))
            core_ld_token_preset(ld, f[PRESET].val, s2, name, out);
    }
    out->on = true;
    int64_t *dst[PRESET] = {&out->prefill_per_token_ns, &out->decode_per_token_ns, &out->fixed_ns};
    for (int i = 0; i < PRESET; i++)
        if (f[i].key) {
            snprintf(s2, sizeof s2, "%s.%s", sub, f[i].name);
            core_ld_duration(ld, f[i].val, s2, true, dst[i]);
        }
    return ld->errors == before;
}

/* ---- service: {durations: FILE} (Azure Functions) ------------------------------ */

bool core_ld_is_durations_service(struct fy_node *n)
{
    return n && fy_node_is_mapping(n) &&
           fy_node_mapping_lookup_by_string(n, "durations", 9) != NULL;
}

int core_ld_split_csv(char *line, char **f, int max)
{
    int n = 0;
    for (char *s = line;;) {
        char *c = strchr(s, ',');
        if (n < max) f[n] = s;
        n++;
        if (!c) break;
        *c = '\0';
        s = c + 1;
    }
    return n;
}

/* The columns of function_durations_percentiles.anon.dNN.csv this reads. */
enum { DUR_FUNCTION, DUR_AVERAGE, DUR_P50, DUR_P99, DUR_COLS };
static const char *const dur_names[DUR_COLS] = {"HashFunction", "Average", "percentile_Average_50",
                                                "percentile_Average_99"};

/* Each model's service time from its function's row: a lognormal of mean
 * Average (ms; at least 1 ms) whose sigma puts p99 where the file says it is
 * relative to p50: sigma = ln(p99 / p50) / z(0.99), z(0.99) = 2.3263479, and
 * cv = sqrt(exp(sigma^2) - 1); a fixed time when p99 <= p50. */
bool core_ld_durations_service(struct core_ld *ld, struct fy_node *n, const char *path,
                               const struct core_workload_spec *w, int first,
                               const struct core_trace_spec *per_model, int count,
                               struct core_dist *out)
{
    struct core_ld_field f[1] = {{.name = "durations"}};
    if (!core_ld_fields(ld, n, path, f, 1, "service: {durations: FILE}")) return false;
    char sub[300], rel[4096];
    snprintf(sub, sizeof sub, "%s.durations", path);
    if (!core_ld_string(ld, f[0].val, sub, rel, sizeof rel, "a durations file")) return false;
    if (w->arrivals != CORE_ARRIVAL_TRACE || w->trace.format != CORE_TRACE_AZURE_FUNCTIONS ||
        w->trace.id_column != 2) {
        core_ld_err(ld, f[0].val, NULL, sub,
                    "durations need an azure-functions trace with model_column HashFunction");
        return false;
    }
    for (int k = 0; k < count; k++)
        if (per_model[k].assign != CORE_TRACE_ID) {
            core_ld_err(ld, f[0].val, NULL, sub,
                        "durations need one function per model (assign: rank or a mapping)");
            return false;
        }
    char *file = core_ld_resolve(ld, rel);
    if (!file) return false;
    FILE *fp = fopen(file, "rb");
    if (!fp) {
        char eb[128];
        core_ld_err(ld, f[0].val, NULL, sub, "cannot read durations %s: %s", file,
                    strerror_r(errno, eb, sizeof eb));
        free(file);
        return false;
    }
    /* Which model wants which function: id -> model index (+1, in count). */
    struct core_id_table want = {0};
    bool ok = true;
    for (int k = 0; k < count && ok; k++)
        ok = core_ids_add(&want, per_model[k].id, strlen(per_model[k].id), 0, k) != NULL;
    bool *found = calloc(count > 0 ? (size_t)count : 1, sizeof *found);
    if (!ok || !found) ld->nomem = true;
    int col[DUR_COLS] = {-1, -1, -1, -1};
    char *line = NULL, *fields[64];
    size_t cap = 0;
    ssize_t len;
    long long lineno = 0;
    while (ok && found && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len) continue;
        int nf = core_ld_split_csv(line, fields, 64);
        if (nf > 64) nf = 64;
        if (col[0] < 0) {
            for (int i = 0; i < nf; i++)
                for (int c = 0; c < DUR_COLS; c++)
                    if (!strcmp(fields[i], dur_names[c])) col[c] = i;
            for (int c = 0; c < DUR_COLS && ok; c++)
                if (col[c] < 0) {
                    core_ld_err(ld, f[0].val, NULL, sub, "%s:%lld:1: no column named %s", file,
                                lineno, dur_names[c]);
                    ok = false;
                }
            continue;
        }
        int maxcol = 0;
        for (int c = 0; c < DUR_COLS; c++)
            if (col[c] > maxcol) maxcol = col[c];
        if (nf <= maxcol) {
            core_ld_err(ld, f[0].val, NULL, sub, "%s:%lld:1: expected at least %d columns", file,
                        lineno, maxcol + 1);
            ok = false;
            break;
        }
        const char *id = fields[col[DUR_FUNCTION]];
        const struct core_id_count *e = core_ids_find(&want, id, strlen(id));
        int k = e ? (int)e->first : -1;
        if (k < 0 || found[k]) continue;
        double v[3];
        for (int c = 1; c < DUR_COLS; c++) {
            char *end;
            v[c - 1] = strtod(fields[col[c]], &end);
            if (end == fields[col[c]] || *end || !(v[c - 1] >= 0)) {
                core_ld_err(ld, f[0].val, NULL, sub,
                            "%s:%lld:%ld: expected a duration in ms for %s, found \"%.40s\"", file,
                            lineno, (long)(fields[col[c]] - line) + 1, dur_names[c],
                            fields[col[c]]);
                ok = false;
            }
        }
        if (!ok) break;
        double mean_ms = v[0] > 1 ? v[0] : 1;
        struct core_dist *d = &out[k];
        memset(d, 0, sizeof *d);
        d->mean_ns = (int64_t)llround(mean_ms * 1e6);
        if (v[2] > v[1] && v[1] > 0) {
            double sigma = log(v[2] / v[1]) / 2.3263478740408408;
            d->kind = CORE_DIST_LOGNORMAL;
            d->cv = sqrt(expm1(sigma * sigma));
        } else {
            d->kind = CORE_DIST_FIXED;
        }
        found[k] = true;
    }
    for (int k = 0; ok && found && k < count; k++)
        if (!found[k]) {
            core_ld_err(ld, f[0].val, NULL, sub, "function %s (model '%s') is not in %s",
                        per_model[k].id, ld->spec->models[first + k].name, file);
            ok = false;
        }
    free(line);
    fclose(fp);
    free(found);
    core_ids_free(&want);
    free(file);
    return ok;
}

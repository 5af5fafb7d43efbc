/* scenario_memory.c - `weights_from: {memory: FILE, scale: S, column: C}`
 * on an azure-functions trace: each model's weights from its app's row of
 * an app_memory_percentiles.anon.dNN.csv file (HashOwner, HashApp,
 * SampleCount, AverageAllocatedMb, AverageAllocatedMb_pct1 .. _pct100).
 * Azure measures memory per app, not per function, so a model that stands
 * for a function takes the row of its app (the HashApp on the function's
 * line of the invocations file); models of one app get one size. The whole
 * file is checked (file:line:col), only the rows of the models' apps kept. */
#include "scenario_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mem_columns[] = {"AverageAllocatedMb",        "AverageAllocatedMb_pct1",
                                          "AverageAllocatedMb_pct5",   "AverageAllocatedMb_pct25",
                                          "AverageAllocatedMb_pct50",  "AverageAllocatedMb_pct75",
                                          "AverageAllocatedMb_pct95",  "AverageAllocatedMb_pct99",
                                          "AverageAllocatedMb_pct100", NULL};

#define MEM_FIELDS_MAX 64
#define MEM_BAD_MAX 5

/* The row of an app the models need. */
struct app_row {
    double mb;
    long long line;
    int column;
    bool seen;
};

/* app[k]: the HashApp of model k's function (its first line in the
 * invocations file), malloc'ed; NULL when not found. */
static bool apps_of_functions(struct core_ld *ld, const struct core_workload_spec *w,
                              const struct core_trace_spec *per_model, int count, char **app)
{
    struct core_id_table funcs = {0};
    for (int k = 0; k < count; k++)
        if (!core_ids_add(&funcs, per_model[k].id, strlen(per_model[k].id), 0, k)) {
            core_ids_free(&funcs);
            ld->nomem = true;
            return false;
        }
    FILE *f = fopen(w->trace_path, "rb");
    struct core_trace_rec *rec = malloc(sizeof *rec);
    bool ok = f && rec;
    if (!rec) ld->nomem = true;
    if (!f) {
        char eb[128];
        core_ld_err_file(ld, 0, 0, "cannot read trace %s: %s", w->trace_path,
                         strerror_r(errno, eb, sizeof eb));
    }
    struct core_trace_parser p;
    core_trace_parser_init(&p, &w->trace, NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int col;
    char msg[200];
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        if (len && line[len - 1] == '\n') len--;
        /* The loader's scan accepted every line: parse errors cannot occur. */
        if (core_trace_parse(&p, line, (size_t)len, rec, &col, msg, sizeof msg) <= 0 || !rec->id)
            continue;
        const struct core_id_count *e = core_ids_find(&funcs, rec->id, rec->id_len);
        if (!e || app[e->first]) continue;
        app[e->first] = strndup(rec->app, rec->app_len);
        if (!app[e->first]) {
            ld->nomem = true;
            ok = false;
        }
    }
    free(line);
    free(rec);
    if (f) fclose(f);
    core_ids_free(&funcs);
    return ok;
}

/* A whole field as a finite number >= 0. */
static bool field_mb(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0) return false;
    *out = v;
    return true;
}

/* Reads the memory file: every line checked, the rows of the apps in
 * `apps` (first = index into rows) kept. */
static bool read_memory(struct core_ld *ld, struct fy_node *at, const char *path, const char *file,
                        const char *column, const struct core_id_table *apps, struct app_row *rows)
{
    FILE *fp = fopen(file, "rb");
    if (!fp) {
        char eb[128];
        core_ld_err(ld, at, NULL, path, "cannot read memory file %s: %s", file,
                    strerror_r(errno, eb, sizeof eb));
        return false;
    }
    char *line = NULL, *fields[MEM_FIELDS_MAX];
    size_t cap = 0;
    ssize_t len;
    long long lineno = 0;
    int header_fields = 0, app_col = -1, value_col = -1, bad = 0;
    const char *numeric[MEM_FIELDS_MAX] = {NULL}; /* a number column's name, else NULL */
    while (bad < MEM_BAD_MAX && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        size_t lead = strspn(line, " \t");
        if (line[lead] == '\0' || line[lead] == '#') continue;
        int nf = core_ld_split_csv(line, fields, MEM_FIELDS_MAX);
        if (!header_fields) {
            header_fields = nf;
            for (int i = 0; i < nf && i < MEM_FIELDS_MAX; i++) {
                if (!strcmp(fields[i], "HashApp")) app_col = i;
                if (!strcmp(fields[i], column)) value_col = i;
                if (!strcmp(fields[i], "SampleCount")) numeric[i] = "SampleCount";
                for (int c = 0; mem_columns[c]; c++)
                    if (!strcmp(fields[i], mem_columns[c])) numeric[i] = mem_columns[c];
            }
            const char *missing = app_col < 0 ? "HashApp" : value_col < 0 ? column : NULL;
            if (missing || nf > MEM_FIELDS_MAX) {
                core_ld_err(ld, at, NULL, path,
                            "%s:%lld:1: %s%s (the header of an app_memory_percentiles file: "
                            "HashOwner,HashApp,SampleCount,AverageAllocatedMb,"
                            "AverageAllocatedMb_pct1,...,AverageAllocatedMb_pct100)",
                            file, lineno, missing ? "no column named " : "more than 64 columns",
                            missing ? missing : "");
                bad = MEM_BAD_MAX;
            }
            continue;
        }
        if (nf != header_fields) {
            int col = nf < header_fields || header_fields >= MEM_FIELDS_MAX
                          ? (int)len + 1
                          : (int)(fields[header_fields] - line) + 1;
            core_ld_err(ld, at, NULL, path,
                        "%s:%lld:%d: expected %d columns (as the header), found %d", file, lineno,
                        col, header_fields, nf);
            bad++;
            continue;
        }
        bool row_ok = true;
        double value = 0;
        for (int i = 0; i < nf && row_ok; i++) {
            double v;
            if (!numeric[i]) continue;
            if (!field_mb(fields[i], &v)) {
                /* fields[i] - line: the field's byte offset, as the line
                 * was before the commas were cut. */
                core_ld_err(ld, at, NULL, path,
                            "%s:%lld:%ld: expected a number (0 or more) for %s, found \"%.40s\"",
                            file, lineno, (long)(fields[i] - line) + 1, numeric[i], fields[i]);
                bad++;
                row_ok = false;
            } else if (i == value_col) {
                value = v;
            }
        }
        if (!row_ok) continue;
        const char *app = fields[app_col];
        const struct core_id_count *e = core_ids_find(apps, app, strlen(app));
        if (!e || rows[e->first].seen) continue; /* the first row of an app counts */
        rows[e->first] = (struct app_row){value, lineno, (int)(fields[value_col] - line) + 1, true};
    }
    free(line);
    fclose(fp);
    if (!bad && !header_fields) {
        core_ld_err(ld, at, NULL, path, "memory file %s holds no header line", file);
        bad = 1;
    }
    return bad == 0;
}

bool core_ld_weights_from(struct core_ld *ld, struct fy_node *n, const char *path,
                          const struct core_workload_spec *w, int first,
                          const struct core_trace_spec *per_model, int count)
{
    enum { MEMORY, SCALE, COLUMN, NF };
    struct core_ld_field f[NF] = {{.name = "memory"}, {.name = "scale"}, {.name = "column"}};
    if (!core_ld_fields(ld, n, path, f, NF,
                        "weights_from: {memory: FILE, scale: 64MiB, column: AverageAllocatedMb}"))
        return false;
    int before = ld->errors;
    char sub[340], rel[4096];
    if (!f[MEMORY].key) {
        core_ld_err(ld, n, NULL, path,
                    "missing key 'memory' (an app_memory_percentiles file of the Azure "
                    "Functions trace)");
        return false;
    }
    snprintf(sub, sizeof sub, "%s.memory", path);
    core_ld_string(ld, f[MEMORY].val, sub, rel, sizeof rel, "a memory file");
    uint64_t scale = 1ULL << 20; /* 1 MiB of weights per MB of app memory */
    if (f[SCALE].key) {
        snprintf(sub, sizeof sub, "%s.scale", path);
        core_ld_size(ld, f[SCALE].val, sub, 1, &scale);
    }
    int column = 0;
    if (f[COLUMN].key) {
        snprintf(sub, sizeof sub, "%s.column", path);
        core_ld_choice(ld, f[COLUMN].val, sub, mem_columns, &column);
    }
    if (ld->errors != before) return false;
    snprintf(sub, sizeof sub, "%s.memory", path);
    if (w->trace.format != CORE_TRACE_AZURE_FUNCTIONS ||
        (w->trace.id_column != 1 && w->trace.id_column != 2)) {
        core_ld_err(ld, f[MEMORY].key, n, sub,
                    "weights from memory need an azure-functions trace with model_column "
                    "HashFunction or HashApp");
        return false;
    }
    for (int k = 0; k < count; k++) {
        const struct core_model_spec *m = &ld->spec->models[first + k];
        if (per_model[k].assign != CORE_TRACE_ID) {
            core_ld_err(ld, f[MEMORY].key, n, sub,
                        "weights from memory need one function or app per model (assign: rank "
                        "or a mapping)");
            return false;
        }
        if (m->weights_kind != CORE_WEIGHTS_SYNTHETIC) {
            core_ld_err(ld, f[MEMORY].key, n, sub,
                        "model '%s' reads its weights from a path; weights from memory size "
                        "synthetic weights only",
                        m->name);
            return false;
        }
    }
    char *file = core_ld_resolve(ld, rel);
    char **app = calloc((size_t)count, sizeof *app);
    struct core_id_table apps = {0};
    struct app_row *rows = NULL;
    bool ok = file && app;
    if (!app) ld->nomem = true;
    if (ok && w->trace.id_column == 2) {
        ok = apps_of_functions(ld, w, per_model, count, app);
    } else {
        for (int k = 0; ok && k < count; k++)
            if (!(app[k] = strdup(per_model[k].id))) ok = false;
    }
    for (int k = 0; ok && k < count; k++)
        if (app[k] && !core_ids_add(&apps, app[k], strlen(app[k]), 0, (int64_t)apps.used))
            ok = false;
    if (ok && !(rows = calloc(apps.used ? apps.used : 1, sizeof *rows))) ok = false;
    if (!ok && ld->errors == before) ld->nomem = true;
    if (ok) ok = read_memory(ld, f[MEMORY].val, sub, file, mem_columns[column], &apps, rows);
    /* weights = MB x scale, to the nearest byte; the footprint keeps the
     * entry's ratio of VRAM to weights (1.1 with the default 10% reserve). */
    for (int k = 0; ok && k < count; k++) {
        const struct core_id_count *e =
            app[k] ? core_ids_find(&apps, app[k], strlen(app[k])) : NULL;
        if (!e || !rows[e->first].seen) continue; /* no row: the entry's weights stay */
        const struct app_row *r = &rows[e->first];
        struct core_model_spec *m = &ld->spec->models[first + k];
        long double bytes = (long double)r->mb * (long double)scale + 0.5L;
        if (bytes < 1.0L || bytes > 0x1p62L) {
            core_ld_err(ld, f[MEMORY].val, NULL, sub,
                        "%s:%lld:%d: app %s: %g MB x %llu bytes gives %s weights for model '%s'",
                        file, r->line, r->column, app[k], r->mb, (unsigned long long)scale,
                        bytes < 1.0L ? "no" : "more than 2^62 bytes of", m->name);
            ok = false;
            break;
        }
        uint64_t weights = (uint64_t)bytes;
        long double ratio = (long double)m->vram_bytes / (long double)m->weights_bytes;
        m->weights_bytes = weights;
        m->vram_bytes = (uint64_t)((long double)weights * ratio + 0.5L);
        if (m->vram_bytes < weights) m->vram_bytes = weights;
    }
    for (int k = 0; app && k < count; k++)
        free(app[k]);
    free(app);
    free(rows);
    core_ids_free(&apps);
    free(file);
    return ok && ld->errors == before;
}

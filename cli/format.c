/* format.c - rows out of the command line as a table, RFC 4180 CSV or
 * JSON (an array of objects, one per line), shared by report, compare,
 * export and plan. CSV and JSON stream row by row; the table keeps its
 * cells to size the columns. Numbers: integers as integers, reals in the
 * shortest form that reads back to the same double (a real with no
 * fraction prints as an integer), NaN and infinities as empty / null. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

int cli_format_parse(const char *cmd, const char *s, enum cli_format *out)
{
    if (!strcmp(s, "table"))
        *out = CLI_FMT_TABLE;
    else if (!strcmp(s, "csv"))
        *out = CLI_FMT_CSV;
    else if (!strcmp(s, "json"))
        *out = CLI_FMT_JSON;
    else {
        cli_usage_error(cmd, "--format expects table, csv or json, found \"%s\"", s);
        return -1;
    }
    return 0;
}

void cli_format_number(char *buf, size_t len, double v, bool table)
{
    if (!isfinite(v)) {
        snprintf(buf, len, "%s", table ? "-" : "");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(buf, len, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
        return;
    }
    if (table) {
        snprintf(buf, len, "%.6g", v);
        return;
    }
    snprintf(buf, len, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, len, "%.17g", v);
}

/* A cell as text: NULL is "" (CSV), "-" (table); text as it is. */
static const char *cell_text(const struct res_value *v, char *buf, size_t len, bool table)
{
    switch (v->type) {
    case RES_VAL_INT:
        snprintf(buf, len, "%lld", (long long)v->i);
        return buf;
    case RES_VAL_REAL:
        cli_format_number(buf, len, v->r, table);
        return buf;
    case RES_VAL_TEXT:
        return v->text ? v->text : "";
    case RES_VAL_NULL:
        break;
    }
    return table ? "-" : "";
}

static void csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void cli_writer_init(struct cli_writer *w, enum cli_format fmt, FILE *out)
{
    memset(w, 0, sizeof *w);
    w->fmt = fmt;
    w->out = out;
}

static char *dup_text(const char *s)
{
    char *d = strdup(s ? s : "");
    return d;
}

int cli_writer_columns(struct cli_writer *w, int n, const char *const *names)
{
    w->ncols = n;
    w->names = calloc((size_t)(n ? n : 1), sizeof *w->names);
    if (!w->names) return -1;
    for (int c = 0; c < n; c++)
        if (!(w->names[c] = dup_text(names[c]))) return -1;
    if (w->fmt == CLI_FMT_CSV) {
        for (int c = 0; c < n; c++) {
            if (c) fputc(',', w->out);
            csv_field(w->out, names[c]);
        }
        fputs("\r\n", w->out);
    } else if (w->fmt == CLI_FMT_JSON) {
        fputc('[', w->out);
    }
    return 0;
}

int cli_writer_row(struct cli_writer *w, int n, const struct res_value *v)
{
    char buf[64];
    if (n > w->ncols) n = w->ncols;
    if (w->fmt == CLI_FMT_CSV) {
        for (int c = 0; c < n; c++) {
            if (c) fputc(',', w->out);
            csv_field(w->out, cell_text(&v[c], buf, sizeof buf, false));
        }
        fputs("\r\n", w->out);
    } else if (w->fmt == CLI_FMT_JSON) {
        fputs(w->rows ? ",\n{" : "\n{", w->out);
        for (int c = 0; c < n; c++) {
            if (c) fputc(',', w->out);
            json_string(w->out, w->names[c]);
            fputc(':', w->out);
            bool number =
                v[c].type == RES_VAL_INT || (v[c].type == RES_VAL_REAL && isfinite(v[c].r));
            if (number)
                fputs(cell_text(&v[c], buf, sizeof buf, false), w->out);
            else if (v[c].type == RES_VAL_TEXT)
                json_string(w->out, v[c].text ? v[c].text : "");
            else
                fputs("null", w->out);
        }
        fputc('}', w->out);
    } else {
        if (w->rows == w->cap) {
            size_t cap = w->cap ? 2 * w->cap : 64;
            char ***nb = realloc(w->cells, cap * sizeof *nb);
            if (!nb) return -1;
            w->cells = nb;
            w->cap = cap;
        }
        char **row = calloc((size_t)(w->ncols ? w->ncols : 1), sizeof *row);
        if (!row) return -1;
        w->cells[w->rows] = row;
        for (int c = 0; c < w->ncols; c++) {
            row[c] = dup_text(c < n ? cell_text(&v[c], buf, sizeof buf, true) : "-");
            if (!row[c]) {
                w->rows++;
                return -1;
            }
        }
    }
    w->rows++;
    return ferror(w->out) ? -1 : 0;
}

/* Text columns are left-aligned, the rest right-aligned: a column is text
 * when a cell of it does not read as a number. */
static bool is_number(const char *s)
{
    if (!strcmp(s, "-")) return true;
    char *end;
    strtod(s, &end);
    return *s && !*end;
}

int cli_writer_end(struct cli_writer *w)
{
    int rc = 0;
    if (w->fmt == CLI_FMT_JSON) {
        fputs(w->rows ? "\n]\n" : "]\n", w->out);
    } else if (w->fmt == CLI_FMT_TABLE && w->ncols > 0) {
        int *width = calloc((size_t)w->ncols, sizeof *width);
        bool *left = calloc((size_t)w->ncols, sizeof *left);
        if (!width || !left) {
            rc = -1;
        } else {
            for (int c = 0; c < w->ncols; c++) {
                width[c] = (int)strlen(w->names[c]);
                for (size_t r = 0; r < w->rows; r++) {
                    int len = (int)strlen(w->cells[r][c]);
                    if (len > width[c]) width[c] = len;
                    if (!is_number(w->cells[r][c])) left[c] = true;
                }
            }
            for (int c = 0; c < w->ncols; c++)
                fprintf(w->out, "%s%*s", c ? "  " : "", left[c] ? -width[c] : width[c],
                        w->names[c]);
            fputc('\n', w->out);
            for (size_t r = 0; r < w->rows; r++) {
                for (int c = 0; c < w->ncols; c++)
                    fprintf(w->out, "%s%*s", c ? "  " : "", left[c] ? -width[c] : width[c],
                            w->cells[r][c]);
                fputc('\n', w->out);
            }
        }
        free(width);
        free(left);
    }
    if (fflush(w->out) != 0 || ferror(w->out)) rc = -1;
    return rc;
}

void cli_writer_free(struct cli_writer *w)
{
    for (size_t r = 0; r < w->rows && w->cells; r++) {
        for (int c = 0; c < w->ncols; c++)
            free(w->cells[r][c]);
        free(w->cells[r]);
    }
    free(w->cells);
    for (int c = 0; c < w->ncols && w->names; c++)
        free(w->names[c]);
    free(w->names);
    memset(w, 0, sizeof *w);
}

/* fuzz_trace_line.c - the trace line parser (core/trace_line.c) of every
 * format, called directly, which fuzz_trace (the csv format through the
 * scenario loader) does not reach. The first byte picks the format (bits
 * 0-1) and whether and how a model column is named (bits 2-4); the rest is
 * a file whose lines go to one parser, each in a buffer of its exact length
 * so that ASan sees a read past the line. Contract checks abort: the
 * result is -1, 0 or 1; an error's column is within the line (1 .. len+1)
 * and its message is a string; a record's id and app lie inside the line. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "spec.h"

static void check_line(struct core_trace_parser *p, const char *line, size_t len,
                       struct core_trace_rec *rec)
{
    int col = -7;
    char msg[200];
    msg[0] = 'x';
    int r = core_trace_parse(p, line, len, rec, &col, msg, sizeof msg);
    if (r < -1 || r > 1) abort();
    if (r < 0 && (col < 1 || (size_t)col > len + 1 || !memchr(msg, '\0', sizeof msg))) abort();
    if (r == 1) {
        if (rec->id && (rec->id < line || rec->id + rec->id_len > line + len)) abort();
        if (rec->app && (rec->app < line || rec->app + rec->app_len > line + len)) abort();
        if (rec->in_tokens < -1 || rec->out_tokens < -1) abort();
        if (p->t->format == CORE_TRACE_AZURE_FUNCTIONS)
            for (int m = 0; m < CORE_TRACE_MINUTES; m++)
                if (rec->minutes[m] < 0 || rec->minutes[m] > CORE_TRACE_COUNT_MAX) abort();
    }
    int64_t ns;
    (void)core_trace_datetime_ns(line, len, &ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned sel = data[0];
    struct core_trace_spec t = {.format = (enum core_trace_format)(sel & 3),
                                .id_column = -1,
                                .speed = 1,
                                .window_to_ns = INT64_MAX};
    const char *id_name = NULL;
    unsigned id = (sel >> 2) & 7;
    switch (t.format) {
    case CORE_TRACE_CSV:
    case CORE_TRACE_AZURE_LLM:
        if (id == 1) {
            id_name = "model";
            t.id_column = 64;
        } else if (id > 1) {
            t.id_column = (int)id - 1;
        }
        break;
    case CORE_TRACE_JSONL:
        if (id) strcpy(t.id_key, id == 1 ? "model" : "timestamp");
        break;
    case CORE_TRACE_AZURE_FUNCTIONS:
        t.id_column = (int)(id & 3);
        break;
    }
    struct core_trace_parser p;
    core_trace_parser_init(&p, &t, id_name);
    struct core_trace_rec *rec = malloc(sizeof *rec);
    if (!rec) return 0;
    const uint8_t *s = data + 1, *end = data + size;
    while (s < end) {
        const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = (size_t)((nl ? nl : end) - s);
        char *line = malloc(len ? len : 1);
        if (!line) break;
        memcpy(line, s, len);
        check_line(&p, line, len, rec);
        free(line);
        s += len + 1;
    }
    free(rec);
    return 0;
}

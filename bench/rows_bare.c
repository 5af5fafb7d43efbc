/* rows_bare.c - the peer of thaw's full recorder in `make bench`: the rows
 * that thaw wrote for one run of the tables of `--record all` that hold
 * most of them (requests, core_event_log, core_action_log), read into
 * memory, then inserted into a fresh file holding the same tables and
 * indexes (their CREATE statements copied from the thaw database), in
 * thaw's own write order (rowid), one transaction, one prepared statement
 * reused per table: what plain SQLite does with the same rows. Prints the
 * rows (a packed row counts its items, as thaw counts them) per second.
 * usage: rows_bare THAW_DB RUN OUT_DB */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const tables[] = {"requests", "core_event_log", "core_action_log"};
#define TABLES 3

struct table_rows {
    int cols;
    size_t n, cap;
    sqlite3_value **v; /* n * cols values, sqlite3_value_dup'ed */
    int64_t items;     /* rows, or the packed rows' items */
};

static int die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "rows_bare: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: rows_bare THAW_DB RUN OUT_DB\n");
        return 2;
    }
    sqlite3 *in, *out;
    if (sqlite3_open_v2(argv[1], &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return die(in, argv[1]);
    struct table_rows rows[TABLES] = {{0}};
    char *ddl = sqlite3_mprintf("%s", "");
    for (int t = 0; t < TABLES && ddl; t++) {
        sqlite3_stmt *q;
        /* the table's and its indexes' own CREATE statements */
        if (sqlite3_prepare_v2(in,
                               "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT "
                               "NULL ORDER BY type = 'index'",
                               -1, &q, NULL) != SQLITE_OK)
            return die(in, "schema");
        sqlite3_bind_text(q, 1, tables[t], -1, SQLITE_STATIC);
        while (ddl && sqlite3_step(q) == SQLITE_ROW) {
            char *next = sqlite3_mprintf("%s%s;\n", ddl, sqlite3_column_text(q, 0));
            sqlite3_free(ddl);
            ddl = next;
        }
        sqlite3_finalize(q);
        char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" WHERE run = ? ORDER BY rowid", tables[t]);
        if (!sql || sqlite3_prepare_v2(in, sql, -1, &q, NULL) != SQLITE_OK)
            return die(in, tables[t]);
        sqlite3_free(sql);
        sqlite3_bind_int64(q, 1, atoll(argv[2]));
        struct table_rows *r = &rows[t];
        r->cols = sqlite3_column_count(q);
        int data = -1;
        for (int c = 0; c < r->cols; c++)
            if (!strcmp(sqlite3_column_name(q, c), "data")) data = c;
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (r->n == r->cap) {
                r->cap = r->cap ? 2 * r->cap : 1024;
                r->v = realloc(r->v, r->cap * (size_t)r->cols * sizeof *r->v);
                if (!r->v) return die(NULL, "rows");
            }
            for (int c = 0; c < r->cols; c++)
                r->v[r->n * (size_t)r->cols + (size_t)c] =
                    sqlite3_value_dup(sqlite3_column_value(q, c));
            if (data < 0) {
                r->items++;
            } else {
                /* a packed row's items: its array's top-level commas + 1 */
                const unsigned char *s = sqlite3_column_text(q, data);
                int depth = 0;
                int64_t items = 1;
                bool in_str = false;
                for (; s && *s; s++) {
                    if (in_str) {
                        if (*s == '\\' && s[1])
                            s++;
                        else if (*s == '"')
                            in_str = false;
                    } else if (*s == '"')
                        in_str = true;
                    else if (*s == '[')
                        depth++;
                    else if (*s == ']')
                        depth--;
                    else if (*s == ',' && depth == 1)
                        items++;
                }
                r->items += items;
            }
            r->n++;
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(in);
    if (!ddl) return die(NULL, "schema");

    remove(argv[3]);
    if (sqlite3_open(argv[3], &out) != SQLITE_OK ||
        sqlite3_exec(out, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(out, ddl, NULL, NULL, NULL) != SQLITE_OK)
        return die(out, argv[3]);
    sqlite3_free(ddl);
    sqlite3_stmt *ins[TABLES];
    for (int t = 0; t < TABLES; t++) {
        char *sql = sqlite3_mprintf("INSERT INTO \"%w\" VALUES (?", tables[t]);
        for (int c = 1; sql && c < rows[t].cols; c++) {
            char *next = sqlite3_mprintf("%s, ?", sql);
            sqlite3_free(sql);
            sql = next;
        }
        char *full = sql ? sqlite3_mprintf("%s)", sql) : NULL;
        sqlite3_free(sql);
        if (!full || sqlite3_prepare_v2(out, full, -1, &ins[t], NULL) != SQLITE_OK)
            return die(out, tables[t]);
        sqlite3_free(full);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sqlite3_exec(out, "BEGIN", NULL, NULL, NULL);
    for (int t = 0; t < TABLES; t++)
        for (size_t i = 0; i < rows[t].n; i++) {
            for (int c = 0; c < rows[t].cols; c++)
                sqlite3_bind_value(ins[t], c + 1, rows[t].v[i * (size_t)rows[t].cols + (size_t)c]);
            if (sqlite3_step(ins[t]) != SQLITE_DONE) return die(out, "insert");
            sqlite3_reset(ins[t]);
        }
    sqlite3_exec(out, "COMMIT", NULL, NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    int64_t items = 0;
    for (int t = 0; t < TABLES; t++)
        items += rows[t].items;
    printf("plain sqlite, same tables and rows: %lld rows (%lld requests, %lld core events, %lld "
           "actions in %zu + %zu packed rows) in %.3f s: %.0f rows/s\n",
           (long long)items, (long long)rows[0].items, (long long)rows[1].items,
           (long long)rows[2].items, rows[1].n, rows[2].n, wall,
           wall > 0 ? (double)items / wall : 0.0);
    for (int t = 0; t < TABLES; t++) {
        sqlite3_finalize(ins[t]);
        for (size_t i = 0; i < rows[t].n * (size_t)rows[t].cols; i++)
            sqlite3_value_free(rows[t].v[i]);
        free(rows[t].v);
    }
    sqlite3_close(out);
    return 0;
}

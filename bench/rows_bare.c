/* rows_bare.c - the peer of thaw's full recorder in `make bench`: the
 * request rows of one run of a thaw database, read into memory, then
 * inserted into a fresh file with the same requests table (same primary
 * key), in thaw's own write order (rowid), one transaction, one prepared
 * statement reused: what plain SQLite does with the same rows. Prints
 * rows/s. usage: rows_bare THAW_DB RUN OUT_DB */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct req {
    int64_t id, instance;
    char model[64];
    double arrived, dispatched, finished;
    int has_d, has_f, has_i, cold;
};

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: rows_bare THAW_DB RUN OUT_DB\n");
        return 2;
    }
    sqlite3 *in, *out;
    sqlite3_stmt *q, *ins;
    if (sqlite3_open_v2(argv[1], &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(in,
                           "SELECT request_id, model, arrived, dispatched, finished, instance, "
                           "cold FROM requests WHERE run = ? ORDER BY rowid",
                           -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "rows_bare: %s: %s\n", argv[1], sqlite3_errmsg(in));
        return 1;
    }
    sqlite3_bind_int64(q, 1, atoll(argv[2]));
    size_t n = 0, cap = 1024;
    struct req *r = malloc(cap * sizeof *r);
    while (r && sqlite3_step(q) == SQLITE_ROW) {
        if (n == cap && !(r = realloc(r, (cap *= 2) * sizeof *r))) break;
        struct req *x = &r[n++];
        x->id = sqlite3_column_int64(q, 0);
        snprintf(x->model, sizeof x->model, "%s", (const char *)sqlite3_column_text(q, 1));
        x->arrived = sqlite3_column_double(q, 2);
        x->has_d = sqlite3_column_type(q, 3) != SQLITE_NULL;
        x->dispatched = sqlite3_column_double(q, 3);
        x->has_f = sqlite3_column_type(q, 4) != SQLITE_NULL;
        x->finished = sqlite3_column_double(q, 4);
        x->has_i = sqlite3_column_type(q, 5) != SQLITE_NULL;
        x->instance = sqlite3_column_int64(q, 5);
        x->cold = sqlite3_column_int(q, 6);
    }
    sqlite3_finalize(q);
    sqlite3_close(in);
    if (!r) return 1;
    remove(argv[3]);
    if (sqlite3_open(argv[3], &out) != SQLITE_OK ||
        sqlite3_exec(out,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     "CREATE TABLE requests (run INTEGER NOT NULL, request_id INTEGER NOT NULL,"
                     " model TEXT NOT NULL, arrived REAL NOT NULL, dispatched REAL, finished REAL,"
                     " instance INTEGER, cold INTEGER NOT NULL DEFAULT 0,"
                     " PRIMARY KEY (run, request_id));",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(out, "INSERT INTO requests VALUES (1, ?, ?, ?, ?, ?, ?, ?)", -1, &ins,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "rows_bare: %s: %s\n", argv[3], sqlite3_errmsg(out));
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sqlite3_exec(out, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(ins, 1, r[i].id);
        sqlite3_bind_text(ins, 2, r[i].model, (int)strlen(r[i].model), SQLITE_STATIC);
        sqlite3_bind_double(ins, 3, r[i].arrived);
        if (r[i].has_d)
            sqlite3_bind_double(ins, 4, r[i].dispatched);
        else
            sqlite3_bind_null(ins, 4);
        if (r[i].has_f)
            sqlite3_bind_double(ins, 5, r[i].finished);
        else
            sqlite3_bind_null(ins, 5);
        if (r[i].has_i)
            sqlite3_bind_int64(ins, 6, r[i].instance);
        else
            sqlite3_bind_null(ins, 6);
        sqlite3_bind_int(ins, 7, r[i].cold);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "rows_bare: insert: %s\n", sqlite3_errmsg(out));
            return 1;
        }
        sqlite3_reset(ins);
    }
    sqlite3_exec(out, "COMMIT", NULL, NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("plain sqlite: %zu request rows in %.3f s: %.0f rows/s\n", n, wall,
           wall > 0 ? (double)n / wall : 0.0);
    sqlite3_finalize(ins);
    sqlite3_close(out);
    free(r);
    return 0;
}

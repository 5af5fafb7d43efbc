/* prune.c - runs that will never finish: who wrote a run (runs.owner, so a
 * run left 'running' by a dead process can be told from a live one), the
 * orphaned runs, and deleting failed, interrupted and orphaned runs with
 * all their rows. runs.owner is optional (older databases lack it): a run
 * without one is never called orphaned. */
#include "results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

/* Field 22 (starttime) of /proc/PID/stat; 0 when unreadable. The command
 * name (field 2) may hold spaces and parentheses, so count from the last ')'. */
static unsigned long long start_ticks(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (!p) return 0;
    /* after ')': field 3 (state) is the first; starttime is the 20th */
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p) return 0;
    unsigned long long v = 0;
    for (p++; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (unsigned)(*p - '0');
    return v;
}

static int boot_id(char *buf, size_t len)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f) return -1;
    bool ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (!ok) return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return buf[0] ? 0 : -1;
}

int res_owner_text(char *buf, size_t len)
{
    char boot[64];
    long pid = (long)getpid();
    unsigned long long start = start_ticks(pid);
    if (!start || boot_id(boot, sizeof boot) < 0) return THAW_EIO;
    snprintf(buf, len, "%ld %llu %s", pid, start, boot);
    return 0;
}

enum res_liveness res_owner_liveness(const char *host, const char *owner)
{
    char me[256] = "", boot[64], their_boot[64];
    long pid;
    unsigned long long start;
    if (!host || !owner || gethostname(me, sizeof me - 1) != 0 || strcmp(me, host))
        return RES_UNKNOWN;
    if (sscanf(owner, "%ld %llu %63s", &pid, &start, their_boot) != 3 || pid <= 0 ||
        boot_id(boot, sizeof boot) < 0)
        return RES_UNKNOWN;
    if (strcmp(boot, their_boot)) return RES_GONE; /* written before a reboot */
    return start_ticks(pid) == start ? RES_ALIVE : RES_GONE;
}

static bool has_owner_column(sqlite3 *h)
{
    sqlite3_stmt *st = NULL;
    bool yes = sqlite3_prepare_v2(h, "SELECT 1 FROM pragma_table_info('runs') WHERE name = 'owner'",
                                  -1, &st, NULL) == SQLITE_OK &&
               sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

static int push(int64_t **ids, int *count, int *cap, int64_t id, struct thaw_err *err)
{
    if (*count == *cap) {
        int c = *cap ? *cap * 2 : 16;
        int64_t *g = realloc(*ids, (size_t)c * sizeof *g);
        if (!g) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        *ids = g;
        *cap = c;
    }
    (*ids)[(*count)++] = id;
    return 0;
}

/* Runs in id order that are orphaned, and with dead_too also failed or
 * interrupted. */
static int list_runs(struct res_db *db, bool dead_too, int64_t **ids, int *count,
                     struct thaw_err *err)
{
    *ids = NULL;
    *count = 0;
    sqlite3 *h = res_handle(db);
    const char *sql = has_owner_column(h) ? "SELECT id, status, host, owner FROM runs ORDER BY id"
                                          : "SELECT id, status, host, NULL FROM runs ORDER BY id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "list runs: %s", sqlite3_errmsg(h));
    int rc = 0, cap = 0, s;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 1);
        bool pick = false;
        if (status && !strcmp(status, "running"))
            pick = res_owner_liveness((const char *)sqlite3_column_text(st, 2),
                                      (const char *)sqlite3_column_text(st, 3)) == RES_GONE;
        else if (dead_too && status)
            pick = !strcmp(status, "failed") || !strcmp(status, "interrupted");
        if (pick) rc = push(ids, count, &cap, sqlite3_column_int64(st, 0), err);
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = thaw_err_set(err, THAW_EIO, "list runs: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (rc < 0) {
        free(*ids);
        *ids = NULL;
        *count = 0;
    }
    return rc;
}

int res_runs_orphaned(struct res_db *db, int64_t **ids, int *count, struct thaw_err *err)
{
    return list_runs(db, false, ids, count, err);
}

int res_prune_list(struct res_db *db, int64_t **ids, int *count, struct thaw_err *err)
{
    return list_runs(db, true, ids, count, err);
}

/* The tables whose rows belong to a run (schema.sql), counted before the
 * cascade removes them. */
static const char *const run_tables[] = {
    "loads",       "requests", "instance_events",     "faults",     "gpus",
    "core_events", "metrics",  "autoscale_decisions", "load_phases", "cold_starts"};

int res_runs_delete(struct res_db *db, const int64_t *runs, int n, int64_t *rows,
                    struct thaw_err *err)
{
    sqlite3 *h = res_handle(db);
    int64_t total = 0;
    int rc = res_flush(db, err);
    if (rc < 0) return rc;
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return thaw_err_set(err, THAW_EIO, "prune: %s", sqlite3_errmsg(h));
    sqlite3_stmt *count[sizeof run_tables / sizeof run_tables[0]] = {0}, *del = NULL;
    size_t nt = sizeof run_tables / sizeof run_tables[0];
    for (size_t t = 0; t < nt && rc == 0; t++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run = ?", run_tables[t]);
        if (sqlite3_prepare_v2(h, sql, -1, &count[t], NULL) != SQLITE_OK)
            rc = thaw_err_set(err, THAW_EIO, "prune: %s", sqlite3_errmsg(h));
    }
    if (rc == 0 &&
        sqlite3_prepare_v2(h, "DELETE FROM runs WHERE id = ?", -1, &del, NULL) != SQLITE_OK)
        rc = thaw_err_set(err, THAW_EIO, "prune: %s", sqlite3_errmsg(h));
    for (int i = 0; i < n && rc == 0; i++) {
        for (size_t t = 0; t < nt && rc == 0; t++) {
            sqlite3_reset(count[t]);
            sqlite3_bind_int64(count[t], 1, runs[i]);
            if (sqlite3_step(count[t]) == SQLITE_ROW)
                total += sqlite3_column_int64(count[t], 0);
            else
                rc = thaw_err_set(err, THAW_EIO, "prune: %s", sqlite3_errmsg(h));
        }
        if (rc) break;
        sqlite3_reset(del);
        sqlite3_bind_int64(del, 1, runs[i]);
        if (sqlite3_step(del) != SQLITE_DONE)
            rc = thaw_err_set(err, THAW_EIO, "prune run %lld: %s", (long long)runs[i],
                              sqlite3_errmsg(h));
        else
            total += sqlite3_changes(h);
    }
    for (size_t t = 0; t < nt; t++)
        sqlite3_finalize(count[t]);
    sqlite3_finalize(del);
    if (rc == 0 && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = thaw_err_set(err, THAW_EIO, "prune: %s", sqlite3_errmsg(h));
    if (rc < 0) sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    if (rc == 0 && rows) *rows = total;
    return rc;
}

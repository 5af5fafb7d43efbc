/* recorder.c - writes runs and their rows into the SQLite schema (schema.sql).
 * Rows are buffered in memory and written in bursts (one transaction, one
 * prepared statement per table, reused) so that the write lock is held only
 * while a burst is written: several sweep threads can share one file. A run
 * is inserted 'running' and becomes complete/failed/interrupted only in the
 * transaction that also holds its last rows' metrics. */
#include "results.h"
#include "results_internal.h"
#include "logpack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

extern const char res_schema_sql[];

/* Rows buffered before a burst is written: large enough that a million
 * request rows make ~50 transactions, small enough (a few MB) to stay cheap. */
#define RES_BURST_ROWS 20000
#define RES_BUSY_TIMEOUT_MS 60000

/* The schema's vocabulary (CHECK constraints in schema.sql). */
static const char *const source_names[] = {"storage", "shm", "disk", "peer", "store"};
static const char *const reason_names[] = {"demand", "standby", "failover", "scale_up", "prewarm"};
static const char *const state_names[] = {"LOADING", "READY", "DRAINING", "EVICTED", "FAILED"};
/* The core event kinds the log takes: codes 0 (REQUEST_ARRIVED) to 9
 * (DISK_FILL_FINISHED), as schema.sql, logpack.c and migrate.c list them. */
enum { EVENT_KINDS = 10 };
#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

enum row_kind { ROW_LOAD, ROW_REQUEST, ROW_IEVENT, ROW_FAULT, ROW_SCALE };

/* One buffered row; names are copied so the caller's spec may go away. */
struct row {
    enum row_kind kind;
    int64_t run;
    union {
        struct {
            struct res_load_row r;
            char model[CORE_NAME_MAX], gpu_name[CORE_NAME_MAX], node[CORE_NAME_MAX];
            int64_t deadline_ns; /* 0: none */
            int outcome;         /* index into outcome_names */
            char *error;         /* owned (strdup), NULL when none */
            int priority;        /* the model's */
        } load;
        struct {
            struct res_request_row r;
            char model[CORE_NAME_MAX];
            int model_len;
        } req;
        struct {
            uint64_t instance;
            char model[CORE_NAME_MAX];
            int gpu, state;
            int64_t t_ns;
            uint64_t vram;
        } iev;
        struct {
            bool node;
            char target[CORE_NAME_MAX];
            int64_t t_ns, recovered_ns;
        } fault;
        struct {
            char model[CORE_NAME_MAX];
            int64_t t_ns;
            struct core_scale_decision d;
        } scale;
    } u;
};

static const char *const outcome_names[] = {"ok", "failed", "cancelled", "in_flight", "queued"};

/* A buffered request row's place in res_flush's id order. */
struct req_key {
    int64_t run;
    uint64_t id;
    int index;
};

struct res_db {
    sqlite3 *db;
    sqlite3_stmt *ins_load, *ins_request, *ins_ievent, *ins_fault, *ins_cevent, *ins_scale;
    struct row *rows;
    int row_count;
    struct req_key *order; /* res_flush: the request rows, sorted by id */
    /* The run being recorded below `all` (res_run_begin), or 0: its request
     * side goes to the stream, and at `summary` its loads and instance
     * events to the in-memory scratch database (scratch_run there), where
     * the metrics are computed, and copied from, at res_run_finish. */
    int64_t level_run;
    enum res_record level;
    struct res_stream *stream;
    struct res_db *scratch;
    int64_t scratch_run;
    enum res_record next_level; /* res_set_record */
    bool memory;                /* opened as ":memory:" */
    struct logpack events;      /* core events not yet written (core_event_log) */
    sqlite3_stmt *run_exists;   /* res_flush's own foreign-key check */
    int64_t known_run;          /* the last run it found, 0: none */
};

static const char *const record_names[] = {"all", "loads", "summary"};

int res_record_parse(const char *text, enum res_record *out)
{
    for (int i = 0; i < 3; i++)
        if (text && !strcmp(text, record_names[i])) {
            *out = (enum res_record)i;
            return 0;
        }
    return THAW_EINVAL;
}

const char *res_record_name(enum res_record level)
{
    return (unsigned)level < 3 ? record_names[level] : "?";
}

void res_set_record(struct res_db *db, enum res_record level)
{
    if (db) db->next_level = level;
}

enum res_record res_record_level(const struct res_db *db)
{
    return db ? db->next_level : RES_RECORD_ALL;
}

static bool streamed(const struct res_db *db, int64_t run)
{
    return db->stream && run == db->level_run;
}

static int exec_sql_bound(struct res_db *db, const char *sql, int64_t run, struct thaw_err *err);

static void level_end(struct res_db *db)
{
    res_stream_free(db->stream);
    db->stream = NULL;
    /* The scratch database outlives its run, so a sweep's next run on this
     * handle reuses its schema (8 ms to build): the run's rows go, every
     * table cascading from runs; on any error the scratch goes too. */
    if (db->scratch && db->scratch_run > 0 &&
        (res_flush(db->scratch, NULL) < 0 ||
         exec_sql_bound(db->scratch, "DELETE FROM runs WHERE id = ?1", db->scratch_run, NULL) <
             0)) {
        res_close(db->scratch);
        db->scratch = NULL;
    }
    db->scratch_run = 0;
    db->level_run = 0;
    db->level = RES_RECORD_ALL;
}

static int db_error(struct res_db *db, struct thaw_err *err, const char *what)
{
    int code = sqlite3_errcode(db->db);
    int rc = (code == SQLITE_CONSTRAINT || code == SQLITE_MISMATCH) ? THAW_EINVAL : THAW_EIO;
    return thaw_err_set(err, rc, "%s: %s", what, sqlite3_errmsg(db->db));
}

static int exec_sql(struct res_db *db, const char *sql, struct thaw_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = thaw_err_set(err, THAW_EIO, "%s: %s", sql, msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* exec_sql for the statements of res_open, retried while another process
 * holds the lock: switching a new database to WAL takes an exclusive lock
 * and two processes opening one new db at once can get "database is
 * locked" at once, without the busy handler (seen intermittently in
 * tests/results' concurrent writers). Idempotent statements only. */
/* One statement with the run bound as ?1. */
static int exec_sql_bound(struct res_db *db, const char *sql, int64_t run, struct thaw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_error(db, err, sql);
    sqlite3_bind_int64(st, 1, run);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(db, err, sql);
    sqlite3_finalize(st);
    return rc;
}

static int exec_sql_retry(struct res_db *db, const char *sql, struct thaw_err *err)
{
    for (int waited_ms = 0;; waited_ms += 20) {
        if (sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK) return 0;
        int code = sqlite3_errcode(db->db) & 0xff;
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || waited_ms >= RES_BUSY_TIMEOUT_MS)
            return exec_sql(db, sql, err);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* mkdir -p of the folder holding path (nothing when path has no folder). */
static int make_parent(const char *path, struct thaw_err *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir) return thaw_err_set(err, THAW_ERANGE, "%s: path too long", path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0777) != 0 && errno != EEXIST)
                return thaw_err_set(err, THAW_EIO, "cannot create folder %s: %s", dir,
                                    strerror(errno));
            *p = c;
            if (c == '\0') break;
        }
    }
    return 0;
}

/* Columns a thaw database may lack because an older thaw made it; every
 * reader and writer of them checks first (res_has_column). */
/* Columns added after the first schema: an older thaw database lacks them
 * (res_open rebuilds loads with priority and adds loads.error; runs.owner
 * stays absent there). */
static const char *const optional_columns[][2] = {
    {"runs", "owner"}, {"loads", "error"}, {"loads", "priority"}};

static bool optional_column(const char *table, const char *column)
{
    for (size_t i = 0; i < sizeof optional_columns / sizeof optional_columns[0]; i++)
        if (!strcmp(optional_columns[i][0], table) && !strcmp(optional_columns[i][1], column))
            return true;
    return false;
}

static bool has_column(sqlite3 *db, const char *table, const char *column)
{
    sqlite3_stmt *st = NULL;
    bool yes = sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?", -1, &st,
                                  NULL) == SQLITE_OK;
    if (yes) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        yes = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return yes;
}

static bool has_table(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st = NULL;
    bool yes =
        sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1,
                           &st, NULL) == SQLITE_OK;
    if (yes) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        yes = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return yes;
}

/* Is the file at `db` empty or thaw's? It is thaw's when it has a runs
 * table and every table of schema.sql that it has holds that table's
 * columns (other tables of its own are allowed). The reference is
 * schema.sql itself, applied to a scratch in-memory database, so the rule
 * never drifts from the schema. Nothing is written to `db`. */
static int check_ours(sqlite3 *db, const char *path, struct thaw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*), coalesce(sum(name = 'runs'), 0) FROM sqlite_master "
                           "WHERE type = 'table'",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        int rc = thaw_err_set(err, THAW_EIO, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return rc;
    }
    int tables = sqlite3_column_int(st, 0), runs = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    if (tables == 0) return 0;
    if (!runs)
        return thaw_err_set(err, THAW_EINVAL,
                            "%s: not a thaw results database (it holds other tables and no runs "
                            "table); give another --db",
                            path);
    sqlite3 *ref = NULL;
    int rc = 0;
    if (sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(ref, res_schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(
            ref,
            "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c "
            "WHERE m.type = 'table' ORDER BY m.name, c.cid",
            -1, &st, NULL) != SQLITE_OK) {
        rc = thaw_err_set(err, THAW_ENOMEM, "%s: cannot build the reference schema: %s", path,
                          ref ? sqlite3_errmsg(ref) : "out of memory");
        sqlite3_finalize(st);
        sqlite3_close(ref);
        return rc;
    }
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const char *table = (const char *)sqlite3_column_text(st, 0);
        const char *column = (const char *)sqlite3_column_text(st, 1);
        if (!has_table(db, table)) continue;
        if (!has_column(db, table, column) && !optional_column(table, column))
            rc = thaw_err_set(err, THAW_EINVAL,
                              "%s: not a thaw results database (its table %s has no column %s); "
                              "give another --db",
                              path, table, column);
    }
    sqlite3_finalize(st);
    sqlite3_close(ref);
    return rc;
}

static int prepare(struct res_db *db, const char *sql, sqlite3_stmt **st, struct thaw_err *err)
{
    if (sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_error(db, err, "prepare");
    return 0;
}

/* A database written before loads could be unstarted has started NOT NULL
 * and no priority column: SQLite cannot change a column's constraint in
 * place, so the table is rebuilt to schema.sql's shape (rows kept, priority
 * NULL) in one transaction. A current database costs one pragma read. */
static int migrate_loads(struct res_db *db, struct thaw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT coalesce(sum(name = 'started' AND \"notnull\"), 0), "
                           "coalesce(sum(name = 'priority'), 0) FROM pragma_table_info('loads')",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_error(db, err, "reading the loads table");
    }
    bool old = sqlite3_column_int(st, 0) > 0 || sqlite3_column_int(st, 1) == 0;
    sqlite3_finalize(st);
    if (!old) return 0;
    /* Rows are copied as they are: foreign keys are not checked meanwhile
     * (the pragma is a no-op inside a transaction, so it goes first). */
    static const char sql[] =
        "PRAGMA foreign_keys = OFF;"
        "BEGIN IMMEDIATE;"
        "ALTER TABLE loads RENAME TO loads_before_unstarted;"
        "CREATE TABLE loads ("
        " run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
        " load_id INTEGER NOT NULL, model TEXT NOT NULL, instance INTEGER NOT NULL,"
        " gpu INTEGER NOT NULL, gpu_name TEXT NOT NULL, node TEXT NOT NULL,"
        " source TEXT CHECK (source IN ('storage', 'shm', 'disk', 'peer', 'store')),"
        " reason TEXT NOT NULL,"
        " enqueued REAL NOT NULL, started REAL, finished REAL, bytes INTEGER NOT NULL,"
        " vram INTEGER NOT NULL, deadline REAL,"
        " outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'cancelled', 'in_flight',"
        " 'queued')), priority INTEGER, PRIMARY KEY (run, load_id));"
        "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, source, reason,"
        " enqueued, started, finished, bytes, vram, deadline, outcome) SELECT run, load_id,"
        " model, instance, gpu, gpu_name, node, source, reason, enqueued, started, finished,"
        " bytes, vram, deadline, outcome FROM loads_before_unstarted ORDER BY rowid;"
        "DROP TABLE loads_before_unstarted;"
        "COMMIT;";
    int rc = exec_sql(db, sql, err);
    if (rc < 0) sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(db->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    return rc;
}

void res_library_init(void)
{
    /* SQLITE_MISUSE once initialised: the defaults stay, nothing breaks */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int res_open(const char *path, struct res_db **out, struct thaw_err *err)
{
    *out = NULL;
    if (!path || !*path) return thaw_err_set(err, THAW_EINVAL, "empty database path");
    bool memory = !strcmp(path, ":memory:");
    if (!memory) {
        int rc = make_parent(path, err);
        if (rc < 0) return rc;
    }
    struct res_db *db = calloc(1, sizeof *db);
    if (!db) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    db->memory = memory;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
        int rc = thaw_err_set(err, THAW_EIO, "%s: %s", path,
                              db->db ? sqlite3_errmsg(db->db) : "cannot open");
        res_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db->db, RES_BUSY_TIMEOUT_MS);
    int rc;
    if ((rc = check_ours(db->db, path, err)) < 0) {
        res_close(db);
        return rc;
    }
    /* WAL: readers (report, plot) never block the writer. NORMAL sync is
     * durable across application crashes, which is what a run needs. */
    if ((rc = exec_sql_retry(db, "PRAGMA journal_mode = WAL", err)) < 0 ||
        (rc = exec_sql(db, "PRAGMA synchronous = NORMAL", err)) < 0 ||
        /* Page cache up to 32 MiB (taken as used; the default is 2 MiB): a
         * run of 1,000 models appends to 1,000 places of requests_model,
         * and with fewer pages cached than that each insert read a page
         * back from the file. Durability is not touched. */
        (rc = exec_sql(db, "PRAGMA cache_size = -32768", err)) < 0 ||
        /* Checkpoint the WAL at 64 MiB, not 4: a page rewritten by many
         * bursts is copied back once per checkpoint (WAL stays as durable). */
        (rc = exec_sql(db, "PRAGMA wal_autocheckpoint = 16384", err)) < 0 ||
        (rc = exec_sql(db, "PRAGMA foreign_keys = ON", err)) < 0 ||
        (rc = exec_sql_retry(db, res_schema_sql, err)) < 0) {
        /* err names the statement; the schema's text is no reason to print. */
        rc = thaw_err_set(err, rc, "%s: cannot apply thaw's schema: %s", path,
                          sqlite3_errmsg(db->db));
        res_close(db);
        return rc;
    }
    if ((rc = migrate_loads(db, err)) < 0 || (rc = res_ladder_migrate(db->db, err)) < 0 ||
        (rc = res_migrate(db->db, err)) < 0) {
        if (err) {
            char msg[THAW_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            thaw_err_set(err, rc, "%s: %s", path, msg);
        }
        res_close(db);
        return rc;
    }
    /* priority_inversion joins loads to the loads of a lower priority: a
     * range of this index (nothing when every model has one priority). */
    if ((rc = exec_sql_retry(
             db, "CREATE INDEX IF NOT EXISTS loads_priority ON loads (run, priority)", err)) < 0) {
        res_close(db);
        return rc;
    }
    /* A database from before loads.error: add the column (NULL for old rows). */
    sqlite3_stmt *probe_err = NULL;
    if (sqlite3_prepare_v2(db->db, "SELECT error FROM loads LIMIT 0", -1, &probe_err, NULL) !=
        SQLITE_OK) {
        sqlite3_finalize(probe_err);
        probe_err = NULL;
        if ((rc = exec_sql(db, "ALTER TABLE loads ADD COLUMN error TEXT", err)) < 0) {
            res_close(db);
            return rc;
        }
    }
    sqlite3_finalize(probe_err);
    if ((rc = prepare(db,
                      "INSERT INTO loads (run, load_id, model, instance, gpu, gpu_name, node, "
                      "source, reason, enqueued, started, finished, bytes, vram, deadline, "
                      "outcome, error, priority) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      &db->ins_load, err)) < 0 ||
        (rc = prepare(db,
                      "INSERT INTO requests (run, request_id, model, arrived, dispatched, "
                      "finished, instance, cold) VALUES (?,?,?,?,?,?,?,?)",
                      &db->ins_request, err)) < 0 ||
        (rc = prepare(db,
                      "INSERT INTO instance_events (run, instance, model, gpu, state, t, vram) "
                      "VALUES (?,?,?,?,?,?,?)",
                      &db->ins_ievent, err)) < 0 ||
        (rc = prepare(db, "INSERT INTO faults (run, kind, target, t, recovered) VALUES (?,?,?,?,?)",
                      &db->ins_fault, err)) < 0 ||
        (rc = prepare(db,
                      "INSERT INTO core_event_log (run, first_seq, last_seq, data) "
                      "VALUES (?,?,?,?)",
                      &db->ins_cevent, err)) < 0 ||
        (rc = prepare(db,
                      "INSERT INTO autoscale_decisions (run, t, model, waiting, ready, loading, "
                      "queued, excess, wanted, asked, dropped, evicted) "
                      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                      &db->ins_scale, err)) < 0 ||
        (rc = prepare(db, "SELECT 1 FROM runs WHERE id = ?", &db->run_exists, err)) < 0) {
        res_close(db);
        return rc;
    }
    db->rows = malloc(RES_BURST_ROWS * sizeof *db->rows);
    db->order = malloc(RES_BURST_ROWS * sizeof *db->order);
    if (!db->rows || !db->order) {
        res_close(db);
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    }
    *out = db;
    return 0;
}

void res_close(struct res_db *db)
{
    if (!db) return;
    /* Rows still buffered belong to a run that never finished: it stays
     * 'running'. Writing them would not make it look complete, so do. */
    if (db->row_count > 0 || logpack_pending(&db->events) > 0) res_flush(db, NULL);
    level_end(db);
    res_close(db->scratch);
    sqlite3_finalize(db->ins_load);
    sqlite3_finalize(db->ins_request);
    sqlite3_finalize(db->ins_ievent);
    sqlite3_finalize(db->ins_fault);
    sqlite3_finalize(db->ins_scale);
    sqlite3_finalize(db->ins_cevent);
    sqlite3_finalize(db->run_exists);
    logpack_free(&db->events);
    if (db->db) sqlite3_close(db->db);
    free(db->rows);
    free(db->order);
    free(db);
}

void *res_handle(struct res_db *db)
{
    return db ? db->db : NULL;
}

static double ns_to_s(int64_t ns)
{
    return (double)ns / 1e9;
}

static void iso_now(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int make_uuid(char out[33], struct thaw_err *err)
{
    unsigned char bytes[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return thaw_err_set(err, THAW_EIO, "/dev/urandom: %s", strerror(errno));
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = read(fd, bytes + got, sizeof bytes - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            close(fd);
            return thaw_err_set(err, THAW_EIO, "/dev/urandom: short read");
        }
        got += (size_t)n;
    }
    close(fd);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}

static void policy_string(const struct core_policy_spec *p, char *buf, size_t len)
{
    snprintf(buf, len, "queue=%s,placement=%s,eviction=%s,shm=%s,balancer=%s,autoscale=%s",
             p->queue, p->placement, p->eviction, p->shm, p->balancer, p->autoscale ? "on" : "off");
}

static int step_done(struct res_db *db, sqlite3_stmt *st, struct thaw_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : db_error(db, err, what);
    sqlite3_reset(st);
    return out;
}

int res_run_begin(struct res_db *db, const struct core_spec *spec, const struct res_run_info *info,
                  int64_t *run_id, struct thaw_err *err)
{
    if (!db || !spec || !info || !run_id) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    const char *mode = info->mode ? info->mode : "";
    if (strcmp(mode, "sim") && strcmp(mode, "exec"))
        return thaw_err_set(err, THAW_EINVAL, "run mode must be sim or exec, found \"%s\"", mode);
    char uuid[33], started[32], host[256] = "", policy[512];
    int rc = make_uuid(uuid, err);
    if (rc < 0) return rc;
    iso_now(started, sizeof started);
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
    policy_string(&spec->policy, policy, sizeof policy);

    if ((rc = res_flush(db, err)) < 0) return rc;
    if ((rc = exec_sql(db, "BEGIN IMMEDIATE", err)) < 0) return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO runs (uuid, mode, scenario, scenario_sha256, policy, "
                           "overrides, seed, host, version, backend, sweep_id, params, "
                           "started_at, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'running')",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(db, err, "insert run");
        goto fail;
    }
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, mode, -1, SQLITE_STATIC);
    /* The scenario's absolute path, so replay, validate and calibrate find
     * it (and the files it names relative to itself, `include:` among
     * them) from any working directory; as given when it cannot be
     * resolved (a scenario from memory, a file since removed). */
    char abs_path[PATH_MAX];
    const char *where = spec->path ? spec->path : "";
    if (*where && realpath(where, abs_path)) where = abs_path;
    sqlite3_bind_text(st, 3, where, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, spec->sha256_hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, policy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, info->overrides ? info->overrides : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)info->seed);
    sqlite3_bind_text(st, 8, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, THAW_VERSION, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, info->backend ? info->backend : "", -1, SQLITE_STATIC);
    if (info->sweep_id)
        sqlite3_bind_text(st, 11, info->sweep_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 11);
    sqlite3_bind_text(st, 12, info->params ? info->params : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, started, -1, SQLITE_STATIC);
    if ((rc = step_done(db, st, err, "insert run")) < 0) goto fail;
    sqlite3_finalize(st);
    st = NULL;
    int64_t id = sqlite3_last_insert_rowid(db->db);
    char owner[160];
    if (has_column(db->db, "runs", "owner") && res_owner_text(owner, sizeof owner) == 0) {
        if (sqlite3_prepare_v2(db->db, "UPDATE runs SET owner = ? WHERE id = ?", -1, &st, NULL) !=
            SQLITE_OK) {
            rc = db_error(db, err, "record run owner");
            goto fail;
        }
        sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        if ((rc = step_done(db, st, err, "record run owner")) < 0) goto fail;
        sqlite3_finalize(st);
        st = NULL;
    }

    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO gpus (run, gpu, name, node, vram) VALUES (?,?,?,?,?)", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = db_error(db, err, "insert gpu");
        goto fail;
    }
    for (int g = 0; g < spec->gpu_count; g++) {
        const struct core_gpu_spec *gs = &spec->gpus[g];
        const char *node =
            gs->node >= 0 && gs->node < spec->node_count ? spec->nodes[gs->node].name : "";
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, g);
        sqlite3_bind_text(st, 3, gs->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, node, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)gs->vram_bytes);
        if ((rc = step_done(db, st, err, "insert gpu")) < 0) goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = res_runextra_insert(db->db, id, spec, info, err)) < 0) goto fail;
    if ((rc = exec_sql(db, "COMMIT", err)) < 0) goto fail;
    *run_id = id;
    level_end(db);
    if (db->next_level != RES_RECORD_ALL) {
        /* The run stays in the database either way; only its rows thin out. */
        db->level = db->next_level;
        db->level_run = id;
        /* `summary` into an in-memory database (sim --no-record): the
         * database is itself a scratch one, gone with the process, so the
         * loads and instance events go there, as at `loads` (the same
         * metrics: test_record_levels), not into a second one to copy the
         * metrics back from (a second schema to build, 8 ms a run). The
         * level the drivers read (res_record_level) stays `summary`. */
        if (db->level == RES_RECORD_SUMMARY && db->memory) db->level = RES_RECORD_LOADS;
        if (res_stream_new(spec, &db->stream) < 0) {
            level_end(db);
            return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        }
        if (db->level == RES_RECORD_SUMMARY) {
            if ((!db->scratch && (rc = res_open(":memory:", &db->scratch, err)) < 0) ||
                (rc = res_run_begin(db->scratch, spec, info, &db->scratch_run, err)) < 0) {
                level_end(db);
                return rc;
            }
        }
    }
    return 0;
fail:
    sqlite3_finalize(st);
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- buffered rows -------------------------------------------------------- */

/* Copies a name (cut to CORE_NAME_MAX - 1 bytes); returns its length. */
static int copy_name(char *dst, const char *src)
{
    size_t n = src ? strnlen(src, CORE_NAME_MAX - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    return (int)n;
}

static int bind_opt_time(sqlite3_stmt *st, int i, int64_t ns)
{
    return ns < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, ns_to_s(ns));
}

/* res_flush writes with foreign keys off (their check was a quarter of an
 * insert's cost) and checks the one key itself, once per run and burst:
 * 0 when run exists, THAW_EINVAL as the constraint would have said. */
static int check_run(struct res_db *db, int64_t run, const char *what, struct thaw_err *err)
{
    if (run == db->known_run) return 0;
    sqlite3_bind_int64(db->run_exists, 1, run);
    int s = sqlite3_step(db->run_exists);
    sqlite3_reset(db->run_exists);
    if (s == SQLITE_ROW) {
        db->known_run = run;
        return 0;
    }
    if (s != SQLITE_DONE) return db_error(db, err, what);
    return thaw_err_set(err, THAW_EINVAL, "%s: FOREIGN KEY constraint failed (no run %lld)", what,
                        (long long)run);
}

static int write_row(struct res_db *db, const struct row *w, struct thaw_err *err)
{
    sqlite3_stmt *st;
    int rc = check_run(db, w->run, "insert row", err);
    if (rc < 0) return rc;
    switch (w->kind) {
    case ROW_LOAD: {
        const struct res_load_row *r = &w->u.load.r;
        st = db->ins_load;
        sqlite3_bind_int64(st, 1, w->run);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)r->load_id);
        sqlite3_bind_text(st, 3, w->u.load.model, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)r->instance);
        sqlite3_bind_int(st, 5, r->gpu);
        sqlite3_bind_text(st, 6, w->u.load.gpu_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, w->u.load.node, -1, SQLITE_STATIC);
        if (r->started_ns < 0)
            sqlite3_bind_null(st, 8); /* never started: no source yet */
        else
            sqlite3_bind_text(st, 8, source_names[r->source], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, reason_names[r->reason], -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 10, ns_to_s(r->enqueued_ns));
        bind_opt_time(st, 11, r->started_ns);
        bind_opt_time(st, 12, r->finished_ns);
        sqlite3_bind_int64(st, 13, (sqlite3_int64)r->bytes);
        sqlite3_bind_int64(st, 14, (sqlite3_int64)r->vram_bytes);
        if (w->u.load.deadline_ns > 0)
            sqlite3_bind_double(st, 15, ns_to_s(w->u.load.deadline_ns));
        else
            sqlite3_bind_null(st, 15);
        sqlite3_bind_text(st, 16, outcome_names[w->u.load.outcome], -1, SQLITE_STATIC);
        if (w->u.load.error)
            sqlite3_bind_text(st, 17, w->u.load.error, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 17);
        sqlite3_bind_int(st, 18, w->u.load.priority);
        return step_done(db, st, err, "insert load");
    }
    case ROW_REQUEST: {
        const struct res_request_row *r = &w->u.req.r;
        st = db->ins_request;
        sqlite3_bind_int64(st, 1, w->run);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)r->request_id);
        sqlite3_bind_text(st, 3, w->u.req.model, w->u.req.model_len, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, ns_to_s(r->arrived_ns));
        bind_opt_time(st, 5, r->dispatched_ns);
        bind_opt_time(st, 6, r->finished_ns);
        if (r->instance)
            sqlite3_bind_int64(st, 7, (sqlite3_int64)r->instance);
        else
            sqlite3_bind_null(st, 7);
        sqlite3_bind_int(st, 8, r->cold ? 1 : 0);
        return step_done(db, st, err, "insert request");
    }
    case ROW_IEVENT:
        st = db->ins_ievent;
        sqlite3_bind_int64(st, 1, w->run);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)w->u.iev.instance);
        sqlite3_bind_text(st, 3, w->u.iev.model, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, w->u.iev.gpu);
        sqlite3_bind_text(st, 5, state_names[w->u.iev.state], -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 6, ns_to_s(w->u.iev.t_ns));
        sqlite3_bind_int64(st, 7, (sqlite3_int64)w->u.iev.vram);
        return step_done(db, st, err, "insert instance event");
    case ROW_FAULT:
        st = db->ins_fault;
        sqlite3_bind_int64(st, 1, w->run);
        sqlite3_bind_text(st, 2, w->u.fault.node ? "node" : "gpu", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, w->u.fault.target, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, ns_to_s(w->u.fault.t_ns));
        bind_opt_time(st, 5, w->u.fault.recovered_ns);
        return step_done(db, st, err, "insert fault");
    case ROW_SCALE: {
        const struct core_scale_decision *d = &w->u.scale.d;
        st = db->ins_scale;
        sqlite3_bind_int64(st, 1, w->run);
        sqlite3_bind_double(st, 2, ns_to_s(w->u.scale.t_ns));
        sqlite3_bind_text(st, 3, w->u.scale.model, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)d->waiting);
        sqlite3_bind_int(st, 5, d->ready);
        sqlite3_bind_int(st, 6, d->loading);
        sqlite3_bind_int(st, 7, d->queued);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)d->excess);
        sqlite3_bind_int(st, 9, d->wanted);
        sqlite3_bind_int(st, 10, d->asked);
        sqlite3_bind_int(st, 11, d->dropped);
        sqlite3_bind_int(st, 12, d->evicted);
        return step_done(db, st, err, "insert autoscale decision");
    }
    }
    return thaw_err_set(err, THAW_EINVARIANT, "unknown row kind");
}

static int cmp_req_key(const void *a, const void *b)
{
    const struct req_key *x = a, *y = b;
    if (x->run != y->run) return x->run < y->run ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Empties the buffer, freeing what rows own. */
static void drop_rows(struct res_db *db)
{
    for (int i = 0; i < db->row_count; i++)
        if (db->rows[i].kind == ROW_LOAD) free(db->rows[i].u.load.error);
    db->row_count = 0;
}

int res_flush(struct res_db *db, struct thaw_err *err)
{
    if (!db) return thaw_err_set(err, THAW_EINVAL, "NULL database");
    if (db->row_count == 0 && logpack_pending(&db->events) == 0) return 0;
    /* Foreign keys off for the burst (a no-op inside a transaction, so
     * first): check_run checks the only key these rows have. */
    sqlite3_exec(db->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
    db->known_run = 0;
    int rc = exec_sql(db, "BEGIN IMMEDIATE", err);
    if (rc < 0) {
        sqlite3_exec(db->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
        return rc;
    }
    /* The core events first: a few packed rows (logpack.c). */
    if (logpack_pending(&db->events) > 0) {
        for (int i = 0; i < db->events.done_count && rc == 0; i++)
            rc = check_run(db, db->events.done[i].run, "insert core events", err);
        if (rc == 0 && db->events.count > 0)
            rc = check_run(db, db->events.run, "insert core events", err);
        if (rc == 0)
            rc = logpack_write(&db->events, db->db, db->ins_cevent, "insert core events", err);
        else
            logpack_free(&db->events);
        if (rc == THAW_EIO) {
            drop_rows(db);
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
            sqlite3_exec(db->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
            return rc;
        }
    }
    /* Request rows come in finishing order, far from request_id order, and
     * each one inserted as it comes is a random write into the (run,
     * request_id) index; written sorted they extend it nearly in order. The
     * other tables keep their arrival order (instance_events' rowid order
     * is part of what metrics read). So: every other row first, in order,
     * then the requests by id. */
    size_t nreq = 0;
    bool io = false; /* an I/O error: stop writing */
    for (int i = 0; i < db->row_count && !io; i++) {
        const struct row *w = &db->rows[i];
        if (w->kind == ROW_REQUEST) {
            db->order[nreq++] = (struct req_key){w->run, w->u.req.r.request_id, i};
            continue;
        }
        /* A bad row (a duplicate id) is reported and skipped; the others are
         * still written, so one driver bug does not lose a whole burst. */
        int r = write_row(db, w, rc < 0 ? NULL : err);
        if (r < 0 && rc == 0) rc = r;
        io = r == THAW_EIO;
    }
    if (nreq > 1) qsort(db->order, nreq, sizeof *db->order, cmp_req_key);
    for (size_t k = 0; k < nreq && !io; k++) {
        int r = write_row(db, &db->rows[db->order[k].index], rc < 0 ? NULL : err);
        if (r < 0 && rc == 0) rc = r;
        io = r == THAW_EIO;
    }
    drop_rows(db);
    if (rc == THAW_EIO) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_exec(db->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
        return rc;
    }
    int crc = exec_sql(db, "COMMIT", rc < 0 ? NULL : err);
    if (crc < 0) sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(db->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    return crc < 0 ? crc : rc;
}

/* Reserves the next buffer slot, writing a burst first when full. */
static struct row *next_row(struct res_db *db, int64_t run, enum row_kind kind,
                            struct thaw_err *err, int *rc)
{
    *rc = 0;
    if (db->row_count == RES_BURST_ROWS && (*rc = res_flush(db, err)) < 0 && *rc == THAW_EIO)
        return NULL;
    struct row *w = &db->rows[db->row_count++];
    w->kind = kind;
    w->run = run;
    return w;
}

static bool model_ok(const struct core_spec *spec, int model)
{
    return spec && model >= 0 && model < spec->model_count;
}

static bool gpu_ok(const struct core_spec *spec, int gpu)
{
    return spec && gpu >= 0 && gpu < spec->gpu_count;
}

int res_add_load(struct res_db *db, int64_t run, const struct core_spec *spec,
                 const struct res_load_row *row, struct thaw_err *err)
{
    if (!db || !row) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    /* A load never started (outcome queued) has no GPU: gpu < 0. */
    bool unstarted = row->started_ns < 0;
    if (!model_ok(spec, row->model) || (!unstarted && !gpu_ok(spec, row->gpu)))
        return thaw_err_set(err, THAW_EINVAL, "load %llu: model %d or gpu %d out of range",
                            (unsigned long long)row->load_id, row->model, row->gpu);
    if ((unsigned)row->source >= (unsigned)COUNT_OF(source_names) ||
        (unsigned)row->reason >= (unsigned)COUNT_OF(reason_names))
        return thaw_err_set(err, THAW_EINVAL, "load %llu: bad source or reason",
                            (unsigned long long)row->load_id);
    int outcome = -1;
    for (int i = 0; i < COUNT_OF(outcome_names); i++)
        if (row->outcome && !strcmp(row->outcome, outcome_names[i])) outcome = i;
    if (outcome < 0)
        return thaw_err_set(err, THAW_EINVAL,
                            "load %llu: outcome must be ok|failed|cancelled|in_flight|queued",
                            (unsigned long long)row->load_id);
    int rc;
    if (streamed(db, run)) {
        if ((rc = res_stream_load(db->stream, row, outcome_names[outcome])) < 0)
            return thaw_err_set(err, rc, "out of memory");
        if (db->level == RES_RECORD_SUMMARY)
            return res_add_load(db->scratch, db->scratch_run, spec, row, err);
    }
    struct row *w = next_row(db, run, ROW_LOAD, err, &rc);
    if (!w) return rc;
    w->u.load.r = *row;
    w->u.load.r.outcome = NULL;
    w->u.load.r.error = NULL;
    w->u.load.error = row->error && row->error[0] ? strdup(row->error) : NULL;
    copy_name(w->u.load.model, spec->models[row->model].name);
    if (unstarted) {
        w->u.load.r.gpu = -1;
        copy_name(w->u.load.gpu_name, "");
        copy_name(w->u.load.node, "");
    } else {
        const struct core_gpu_spec *g = &spec->gpus[row->gpu];
        copy_name(w->u.load.gpu_name, g->name);
        copy_name(w->u.load.node,
                  g->node >= 0 && g->node < spec->node_count ? spec->nodes[g->node].name : "");
    }
    w->u.load.deadline_ns = spec->models[row->model].deadline_ns;
    w->u.load.priority = spec->models[row->model].priority;
    w->u.load.outcome = outcome;
    return rc;
}

int res_add_request(struct res_db *db, int64_t run, const struct core_spec *spec,
                    const struct res_request_row *row, struct thaw_err *err)
{
    if (!db || !row) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    if (!model_ok(spec, row->model))
        return thaw_err_set(err, THAW_EINVAL, "request %llu: model %d out of range",
                            (unsigned long long)row->request_id, row->model);
    int rc;
    if (streamed(db, run)) {
        rc = res_stream_request(db->stream, row);
        return rc < 0 ? thaw_err_set(err, rc, "out of memory") : 0;
    }
    struct row *w = next_row(db, run, ROW_REQUEST, err, &rc);
    if (!w) return rc;
    w->u.req.r = *row;
    w->u.req.model_len = copy_name(w->u.req.model, spec->models[row->model].name);
    return rc;
}

int res_add_instance_event(struct res_db *db, int64_t run, const struct core_spec *spec,
                           uint64_t instance, int model, int gpu, enum core_inst_state state,
                           int64_t t_ns, struct thaw_err *err)
{
    if (!db) return thaw_err_set(err, THAW_EINVAL, "NULL database");
    if (!model_ok(spec, model) || !gpu_ok(spec, gpu) ||
        (unsigned)state >= (unsigned)COUNT_OF(state_names))
        return thaw_err_set(err, THAW_EINVAL,
                            "instance %llu: model %d, gpu %d or state out of range",
                            (unsigned long long)instance, model, gpu);
    int rc;
    if (streamed(db, run) && db->level == RES_RECORD_SUMMARY)
        return res_add_instance_event(db->scratch, db->scratch_run, spec, instance, model, gpu,
                                      state, t_ns, err);
    struct row *w = next_row(db, run, ROW_IEVENT, err, &rc);
    if (!w) return rc;
    w->u.iev.instance = instance;
    copy_name(w->u.iev.model, spec->models[model].name);
    w->u.iev.gpu = gpu;
    w->u.iev.state = (int)state;
    w->u.iev.t_ns = t_ns;
    /* The footprint the instance reserves while LOADING or READY; stored on
     * every event so VRAM over time needs no join. */
    w->u.iev.vram = spec->models[model].vram_bytes;
    return rc;
}

int res_add_fault(struct res_db *db, int64_t run, const struct core_spec *spec, bool node,
                  int target, int64_t t_ns, int64_t recovered_ns, struct thaw_err *err)
{
    if (!db || !spec) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    if (node ? (target < 0 || target >= spec->node_count) : !gpu_ok(spec, target))
        return thaw_err_set(err, THAW_EINVAL, "fault target %d out of range", target);
    int rc;
    /* At `summary` also into the scratch database: recovery is computed there. */
    if (streamed(db, run) && db->level == RES_RECORD_SUMMARY &&
        (rc = res_add_fault(db->scratch, db->scratch_run, spec, node, target, t_ns, recovered_ns,
                            err)) < 0)
        return rc;
    struct row *w = next_row(db, run, ROW_FAULT, err, &rc);
    if (!w) return rc;
    w->u.fault.node = node;
    copy_name(w->u.fault.target, node ? spec->nodes[target].name : spec->gpus[target].name);
    w->u.fault.t_ns = t_ns;
    w->u.fault.recovered_ns = recovered_ns;
    return rc;
}

int res_add_autoscale_decision(struct res_db *db, int64_t run, const struct core_spec *spec,
                               int64_t t_ns, int model, const struct core_scale_decision *d,
                               struct thaw_err *err)
{
    if (!db || !d) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    if (!model_ok(spec, model))
        return thaw_err_set(err, THAW_EINVAL, "autoscale decision: model %d out of range", model);
    int rc;
    if (streamed(db, run) && db->level == RES_RECORD_SUMMARY)
        return res_add_autoscale_decision(db->scratch, db->scratch_run, spec, t_ns, model, d, err);
    struct row *w = next_row(db, run, ROW_SCALE, err, &rc);
    if (!w) return rc;
    copy_name(w->u.scale.model, spec->models[model].name);
    w->u.scale.t_ns = t_ns;
    w->u.scale.d = *d;
    return rc;
}

int res_add_core_event(struct res_db *db, int64_t run, uint64_t seq, const struct core_event *ev,
                       struct thaw_err *err)
{
    if (!db || !ev) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    if ((unsigned)ev->kind >= (unsigned)EVENT_KINDS)
        return thaw_err_set(err, THAW_EINVAL, "core event %llu: unknown kind %d",
                            (unsigned long long)seq, (int)ev->kind);
    if (streamed(db, run)) return 0; /* core events are kept at `all` only */
    int code = logpack_kind_code(ev->kind);
    if (code < 0)
        return thaw_err_set(err, THAW_EINVAL, "core event %llu: unknown kind %d",
                            (unsigned long long)seq, (int)ev->kind);
    if (logpack_event(&db->events, run, seq, code, ev) < 0)
        return thaw_err_set(err, THAW_ENOMEM, "out of memory");
    /* Bounded memory in a run of events and few rows. */
    if (logpack_pending(&db->events) >= 2 * RES_BURST_ROWS) {
        int rc = res_flush(db, err);
        if (rc < 0) return rc;
    }
    return 0;
}

int res_set_metric(struct res_db *db, int64_t run, const char *name, double value,
                   struct thaw_err *err)
{
    if (!db || !name) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT OR REPLACE INTO metrics (run, name, value) VALUES (?,?,?)", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(db, err, "set metric");
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, value);
    int rc = step_done(db, st, err, "set metric");
    sqlite3_finalize(st);
    return rc;
}

/* Copies run `from`'s rows of `sql_select` (run bound as ?1) from src into
 * dst with `sql_insert`, the run column (first) rebound to `to`. */
static int copy_rows(struct res_db *src, int64_t from, struct res_db *dst, int64_t to,
                     const char *sql_select, const char *sql_insert, struct thaw_err *err)
{
    sqlite3_stmt *q = NULL, *ins = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(src->db, sql_select, -1, &q, NULL) != SQLITE_OK)
        return db_error(src, err, "read metrics");
    if (sqlite3_prepare_v2(dst->db, sql_insert, -1, &ins, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return db_error(dst, err, "copy metrics");
    }
    sqlite3_bind_int64(q, 1, from);
    int s, cols = sqlite3_column_count(q);
    while (rc == 0 && (s = sqlite3_step(q)) == SQLITE_ROW) {
        sqlite3_bind_int64(ins, 1, to);
        for (int i = 0; i < cols; i++)
            sqlite3_bind_value(ins, i + 2, sqlite3_column_value(q, i));
        rc = step_done(dst, ins, err, "copy metrics");
    }
    if (rc == 0 && s != SQLITE_DONE) rc = db_error(src, err, "read metrics");
    sqlite3_finalize(q);
    sqlite3_finalize(ins);
    return rc;
}

/* res_run_finish's metrics for a run recorded below `all`, inside its
 * transaction: computed with the stream where the loads rows are (the
 * scratch database at `summary`), copied at `summary`, and the cold-start
 * latencies kept in cold_starts (res_cold_starts reads them). */
static int finish_streamed(struct res_db *db, int64_t run, int64_t duration_ns,
                           struct thaw_err *err)
{
    struct res_db *at = db;
    int64_t at_run = run;
    int rc = 0;
    if (db->level == RES_RECORD_SUMMARY) {
        at = db->scratch;
        at_run = db->scratch_run;
        sqlite3_stmt *st = NULL;
        if ((rc = res_flush(at, err)) < 0) return rc;
        if (sqlite3_prepare_v2(at->db, "UPDATE runs SET duration_s = ? WHERE id = ?", -1, &st,
                               NULL) != SQLITE_OK)
            return db_error(at, err, "finish run");
        sqlite3_bind_double(st, 1, ns_to_s(duration_ns));
        sqlite3_bind_int64(st, 2, at_run);
        rc = step_done(at, st, err, "finish run");
        sqlite3_finalize(st);
        if (rc < 0) return rc;
    }
    double end_s = 0;
    if ((rc = res_metrics_compute_stream(at, at_run, db->stream, &end_s, err)) < 0 ||
        (rc = res_anomalies_compute_stream(at, at_run, db->stream, err)) < 0)
        return rc;
    if (at != db &&
        ((rc = copy_rows(at, at_run, db, run, "SELECT name, value FROM metrics WHERE run = ?1",
                         "INSERT OR REPLACE INTO metrics (run, name, value) VALUES (?1, ?2, ?3)",
                         err)) < 0 ||
         (rc = copy_rows(at, at_run, db, run,
                         "SELECT model, name, value FROM metrics_by_model WHERE run = ?1",
                         "INSERT OR REPLACE INTO metrics_by_model (run, model, name, value) "
                         "VALUES (?1, ?2, ?3, ?4)",
                         err)) < 0 ||
         (rc = exec_sql_bound(db, "DELETE FROM anomalies WHERE run = ?1", run, err)) < 0 ||
         (rc = copy_rows(at, at_run, db, run,
                         "SELECT seq, kind, model, t, detail FROM anomalies WHERE run = ?1 "
                         "ORDER BY seq",
                         "INSERT INTO anomalies (run, seq, kind, model, t, detail) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         err)) < 0))
        return rc;
    if ((rc = exec_sql_bound(db, "DELETE FROM cold_starts WHERE run = ?1", run, err)) < 0)
        return rc;
    sqlite3_stmt *ins = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO cold_starts (run, model, latency_s) VALUES (?, ?, ?)", -1,
                           &ins, NULL) != SQLITE_OK)
        return db_error(db, err, "insert cold start");
    int models = res_stream_model_count(db->stream);
    for (int m = 0; m < models && rc == 0; m++) {
        bool has;
        const char *name = res_stream_model_name(db->stream, m, &has);
        double *v = NULL;
        size_t n = 0, unfinished = 0;
        if ((rc = res_stream_cold_starts(db->stream, name, end_s, &v, &n, &unfinished)) < 0) {
            rc = thaw_err_set(err, rc, "out of memory");
            break;
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            sqlite3_bind_int64(ins, 1, run);
            sqlite3_bind_text(ins, 2, name, -1, SQLITE_STATIC);
            sqlite3_bind_double(ins, 3, v[i]);
            rc = step_done(db, ins, err, "insert cold start");
        }
        free(v);
    }
    sqlite3_finalize(ins);
    return rc;
}

int res_run_finish(struct res_db *db, int64_t run, const char *status, int64_t duration_ns,
                   struct thaw_err *err)
{
    if (!db || !status) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    if (strcmp(status, "complete") && strcmp(status, "failed") && strcmp(status, "interrupted"))
        return thaw_err_set(err, THAW_EINVAL,
                            "run status must be complete, failed or interrupted, found \"%s\"",
                            status);
    int rc = res_flush(db, err);
    if (rc < 0) return rc;
    /* One transaction: duration (the metrics read it), metrics, then the
     * status. A crash anywhere before COMMIT leaves the run 'running'. */
    if ((rc = exec_sql(db, "BEGIN IMMEDIATE", err)) < 0) return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, "UPDATE runs SET duration_s = ? WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = db_error(db, err, "finish run");
        goto fail;
    }
    sqlite3_bind_double(st, 1, ns_to_s(duration_ns));
    sqlite3_bind_int64(st, 2, run);
    if ((rc = step_done(db, st, err, "finish run")) < 0) goto fail;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_changes(db->db) != 1) {
        rc = thaw_err_set(err, THAW_ENOENT, "run %lld does not exist", (long long)run);
        goto fail;
    }
    if (streamed(db, run)) {
        if ((rc = finish_streamed(db, run, duration_ns, err)) < 0) goto fail;
    } else if ((rc = res_metrics_compute(db, run, err)) < 0 ||
               (rc = res_anomalies_compute(db, run, err)) < 0) {
        goto fail;
    }
    char finished[32];
    iso_now(finished, sizeof finished);
    if (sqlite3_prepare_v2(db->db, "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = db_error(db, err, "finish run");
        goto fail;
    }
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, finished, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, run);
    if ((rc = step_done(db, st, err, "finish run")) < 0) goto fail;
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = exec_sql(db, "COMMIT", err)) < 0) goto fail;
    if (streamed(db, run)) level_end(db);
    return 0;
fail:
    sqlite3_finalize(st);
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    if (streamed(db, run)) level_end(db);
    return rc;
}

int res_last_run(struct res_db *db, int64_t *run, struct thaw_err *err)
{
    if (!db || !run) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT coalesce(max(id), 0) FROM runs", -1, &st, NULL) !=
        SQLITE_OK)
        return db_error(db, err, "last run");
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *run = sqlite3_column_int64(st, 0);
    else
        rc = db_error(db, err, "last run");
    sqlite3_finalize(st);
    return rc;
}

int res_resolve_run(struct res_db *db, const char *text, int64_t *run, struct thaw_err *err)
{
    if (!db || !text || !run) return thaw_err_set(err, THAW_EINVAL, "NULL argument");
    size_t len = strlen(text);
    if (len == 0) return thaw_err_set(err, THAW_EINVAL, "empty run selector");
    bool digits = strspn(text, "0123456789") == len;
    bool hex = strspn(text, "0123456789abcdefABCDEF") == len;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (digits && len <= 18) {
        if (sqlite3_prepare_v2(db->db, "SELECT id FROM runs WHERE id = ?", -1, &st, NULL) !=
            SQLITE_OK)
            return db_error(db, err, "find run");
        sqlite3_bind_int64(st, 1, strtoll(text, NULL, 10));
        if (sqlite3_step(st) == SQLITE_ROW) {
            *run = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
            return 0;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (!hex || len < 4 || len > 32)
        return thaw_err_set(err, THAW_ENOENT, "no run \"%s\" (give a run id or a uuid prefix)",
                            text);
    char lower[33];
    for (size_t i = 0; i <= len; i++)
        lower[i] = (char)(text[i] >= 'A' && text[i] <= 'F' ? text[i] - 'A' + 'a' : text[i]);
    if (sqlite3_prepare_v2(db->db, "SELECT id FROM runs WHERE substr(uuid, 1, ?) = ? LIMIT 2", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(db, err, "find run");
    sqlite3_bind_int(st, 1, (int)len);
    sqlite3_bind_text(st, 2, lower, -1, SQLITE_STATIC);
    int found = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (found++ == 0) *run = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (found == 0) rc = thaw_err_set(err, THAW_ENOENT, "no run \"%s\"", text);
    if (found > 1) rc = thaw_err_set(err, THAW_EINVAL, "\"%s\" matches several runs", text);
    return rc;
}

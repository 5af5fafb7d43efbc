-- schema.sql - the one schema that `thaw sim` and `thaw exec` both write.
-- Times are seconds (REAL) from the run's start; bytes are INTEGER bytes.
-- A run is `running` until its last rows commit; only then `complete`.
PRAGMA foreign_keys = ON;

CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,      -- stable across `thaw merge`
    mode          TEXT NOT NULL CHECK (mode IN ('sim', 'exec')),
    scenario      TEXT NOT NULL,             -- path as given
    scenario_sha256 TEXT NOT NULL,
    policy        TEXT NOT NULL,             -- "queue=priority,placement=locality,..."
    overrides     TEXT NOT NULL DEFAULT '',  -- the --set/--policy strings
    seed          INTEGER NOT NULL,
    host          TEXT NOT NULL,
    version       TEXT NOT NULL,
    backend       TEXT NOT NULL DEFAULT '',  -- exec: cuda | host; sim: ''
    sweep_id      TEXT,                      -- set by `thaw sweep`
    params        TEXT NOT NULL DEFAULT '',  -- sweep point, "k=v;k=v"
    started_at    TEXT NOT NULL,             -- wall clock, ISO 8601 UTC
    finished_at   TEXT,
    duration_s    REAL,                      -- simulated / executed span
    status        TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
    owner         TEXT                       -- writer "PID START BOOT_ID"; see below
);
-- runs.owner (res_owner_text) tells a run left 'running' by a dead process
-- from a live one. It came after the first release: an older database
-- lacks it, and everything that reads or writes it checks first.

-- Every load the core queued has a row, also those still queued or in
-- flight when the run ended: outcome 'queued' (never started: started,
-- source NULL, gpu -1, gpu_name and node '', instance 0, load_id after every
-- started load's, in queue order) or 'in_flight' (started, not finished).
-- Databases from before (started NOT NULL, no priority) are rebuilt to
-- this shape when opened (recorder.c, migrate_loads).
CREATE TABLE IF NOT EXISTS loads (
    run       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    load_id   INTEGER NOT NULL,
    model     TEXT NOT NULL,
    instance  INTEGER NOT NULL,              -- 0: never started
    gpu       INTEGER NOT NULL,              -- flat index; -1: never started
    gpu_name  TEXT NOT NULL,
    node      TEXT NOT NULL,
    source    TEXT CHECK (source IN ('storage', 'shm')), -- NULL: never started
    reason    TEXT NOT NULL,                 -- demand | standby | failover | scale_up | prewarm
    enqueued  REAL NOT NULL,
    started   REAL,                          -- NULL: still queued at the end
    finished  REAL,                          -- NULL when not finished ok/failed
    bytes     INTEGER NOT NULL,
    vram      INTEGER NOT NULL,
    deadline  REAL,                          -- seconds after enqueued; NULL = none
    outcome   TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'cancelled', 'in_flight', 'queued')),
    error     TEXT,                          -- why a failed load failed, when known
    priority  INTEGER,                       -- the model's; NULL in older runs
    PRIMARY KEY (run, load_id)
);

CREATE TABLE IF NOT EXISTS requests (
    run        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    request_id INTEGER NOT NULL,
    model      TEXT NOT NULL,
    arrived    REAL NOT NULL,
    dispatched REAL,                         -- NULL: never served before the end
    finished   REAL,
    instance   INTEGER,
    cold       INTEGER NOT NULL DEFAULT 0,   -- 1: waited for a cold start
    PRIMARY KEY (run, request_id)
);

CREATE TABLE IF NOT EXISTS instance_events (
    run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    instance INTEGER NOT NULL,
    model    TEXT NOT NULL,
    gpu      INTEGER NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('LOADING', 'READY', 'DRAINING', 'EVICTED', 'FAILED')),
    t        REAL NOT NULL,
    vram     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS faults (
    run       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('gpu', 'node')),
    target    TEXT NOT NULL,                 -- GPU or node name
    t         REAL NOT NULL,
    recovered REAL                           -- NULL: not recovered in the run
);

CREATE TABLE IF NOT EXISTS gpus (
    run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    gpu   INTEGER NOT NULL,
    name  TEXT NOT NULL,
    node  TEXT NOT NULL,
    vram  INTEGER NOT NULL,
    PRIMARY KEY (run, gpu)
);

-- The core's actions, one core_action_format line each, keyed by the input
-- event that caused them (core_events.seq; 0 = core_sched_start), written by
-- both drivers through the driver shell, so `thaw replay` can check a fresh
-- core against them.
CREATE TABLE IF NOT EXISTS core_actions (
    run  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq  INTEGER NOT NULL,
    idx  INTEGER NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (run, seq, idx)
);

-- The core's input events, in order, so `thaw replay` can re-run decisions.
CREATE TABLE IF NOT EXISTS core_events (
    run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    t_ns     INTEGER NOT NULL,
    request  INTEGER NOT NULL DEFAULT 0,
    instance INTEGER NOT NULL DEFAULT 0,
    load_id  INTEGER NOT NULL DEFAULT 0,
    model    INTEGER NOT NULL DEFAULT -1,
    node     INTEGER NOT NULL DEFAULT -1,
    gpu      INTEGER NOT NULL DEFAULT -1,
    ok       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (run, seq)
);

CREATE TABLE IF NOT EXISTS metrics (
    run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name  TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run, name)
);

-- The summary metrics per model (the same names and definitions as
-- metrics, each computed over one model's rows; results.h).
CREATE TABLE IF NOT EXISTS metrics_by_model (
    run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    name  TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run, model, name)
);

-- What went wrong without failing the run (results/anomalies.c): computed
-- from the rows when the run finishes, printed by sim, exec and report.
CREATE TABLE IF NOT EXISTS anomalies (
    run    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    kind   TEXT NOT NULL,   -- never_served | queued_at_end | priority_inversion |
                            -- head_of_line | deadline_miss | stale_scale_up
    model  TEXT NOT NULL,
    t      REAL NOT NULL,   -- seconds from the run's start
    detail TEXT NOT NULL,   -- one sentence, names the model
    PRIMARY KEY (run, seq)
);

-- Each autoscaler decision (core_scale_decision, core.h), in the order
-- taken: what it saw (waiting requests; READY, LOADING, queued instances;
-- excess = waiting beyond the slots the LOADING and queued ones bring) and
-- did (wanted beyond supply, asked = scale_up loads queued, dropped =
-- queued scale-ups cancelled, evicted = idle instances scaled down).
-- Only runs with the autoscaler on have rows; `thaw report --autoscaler`.
CREATE TABLE IF NOT EXISTS autoscale_decisions (
    run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t        REAL NOT NULL,
    model    TEXT NOT NULL,
    waiting  INTEGER NOT NULL,
    ready    INTEGER NOT NULL,
    loading  INTEGER NOT NULL,
    queued   INTEGER NOT NULL,
    excess   INTEGER NOT NULL,
    wanted   INTEGER NOT NULL,
    asked    INTEGER NOT NULL,
    dropped  INTEGER NOT NULL,
    evicted  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS autoscale_run ON autoscale_decisions(run);

-- loads and requests need no index on run: their primary keys (run, ...)
-- serve every "WHERE run = ?" (a second index cost 30% of insert speed).
CREATE INDEX IF NOT EXISTS ievents_run ON instance_events(run);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep_id);

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
    source    TEXT CHECK (source IN ('storage', 'shm', 'disk', 'peer', 'store')), -- NULL: never started
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

-- The core's actions and input events, so `thaw replay` can re-run the
-- decisions and check a fresh core against them: written only at `--record
-- all`, packed (schema version 2): one row per batch of up to 1024, whose
-- data is a JSON array of arrays, one per item, in seq order (logpack.c):
--   core_event_log.data:  [[seq, kind, t_ns, request, instance, load_id,
--                           model, node, gpu, ok], ...]
--     kind: 0 REQUEST_ARRIVED, 1 REQUEST_FINISHED, 2 LOAD_FINISHED,
--           3 SHM_FILL_FINISHED, 4 GPU_FAILED, 5 GPU_RECOVERED,
--           6 NODE_FAILED, 7 NODE_RECOVERED, 8 TICK, 9 DISK_FILL_FINISHED
--   core_action_log.data: [[seq, idx, "core_action_format line"], ...]
-- Actions are keyed by the input event that caused them (seq; 0 =
-- core_sched_start). first_seq/last_seq bound the batch's seqs. The views
-- core_events and core_actions give one row per item, as the tables of
-- version 1 did (migrate.c packs those).
CREATE TABLE IF NOT EXISTS core_event_log (
    run       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (run, first_seq)
);
CREATE TABLE IF NOT EXISTS core_action_log (
    run       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (run, first_seq)
);
CREATE VIEW IF NOT EXISTS core_events AS
SELECT b.run AS run, json_extract(j.value, '$[0]') AS seq,
       CASE json_extract(j.value, '$[1]')
            WHEN 0 THEN 'REQUEST_ARRIVED' WHEN 1 THEN 'REQUEST_FINISHED'
            WHEN 2 THEN 'LOAD_FINISHED' WHEN 3 THEN 'SHM_FILL_FINISHED'
            WHEN 4 THEN 'GPU_FAILED' WHEN 5 THEN 'GPU_RECOVERED'
            WHEN 6 THEN 'NODE_FAILED' WHEN 7 THEN 'NODE_RECOVERED'
            WHEN 8 THEN 'TICK' WHEN 9 THEN 'DISK_FILL_FINISHED' END AS kind,
       json_extract(j.value, '$[2]') AS t_ns, json_extract(j.value, '$[3]') AS request,
       json_extract(j.value, '$[4]') AS instance, json_extract(j.value, '$[5]') AS load_id,
       json_extract(j.value, '$[6]') AS model, json_extract(j.value, '$[7]') AS node,
       json_extract(j.value, '$[8]') AS gpu, json_extract(j.value, '$[9]') AS ok
FROM core_event_log b, json_each(b.data) j;
CREATE VIEW IF NOT EXISTS core_actions AS
SELECT b.run AS run, json_extract(j.value, '$[0]') AS seq, json_extract(j.value, '$[1]') AS idx,
       json_extract(j.value, '$[2]') AS line
FROM core_action_log b, json_each(b.data) j;

CREATE TABLE IF NOT EXISTS metrics (
    run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name  TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run, name)
);

-- The summary metrics per model (the same names and definitions as
-- metrics, each computed over one model's rows; results.h). WITHOUT ROWID:
-- the rows live in their key's b-tree, not in a table and a copy in its
-- index (half the bytes of a sweep's database; older databases keep the
-- rowid table, read the same).
CREATE TABLE IF NOT EXISTS metrics_by_model (
    run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    name  TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run, model, name)
) WITHOUT ROWID;

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

-- ---- for analysis (schema version 1: PRAGMA user_version, migrate.c) -----

-- A sweep point as rows: runs.params "k=v;k=v" split at res_run_begin (and
-- for older runs by the migration), so pandas or SQL can group by a key.
CREATE TABLE IF NOT EXISTS run_params (
    run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run, key)
);

-- The scenario file's bytes, keyed by their sha256 (runs.scenario_sha256),
-- stored once however many runs share them; with runs.overrides they give
-- the run's spec again when the file changed or is gone (replay, validate,
-- calibrate).
CREATE TABLE IF NOT EXISTS scenario_texts (
    sha256 TEXT PRIMARY KEY,
    text   TEXT NOT NULL
);

-- Names of the indices core_events uses (models[i], nodes[i] of the spec).
CREATE TABLE IF NOT EXISTS models (
    run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model INTEGER NOT NULL,
    name  TEXT NOT NULL,
    PRIMARY KEY (run, model)
);
CREATE TABLE IF NOT EXISTS nodes (
    run  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    node INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (run, node)
);

-- Where each load's time went: waiting in the cold-start queue, then being
-- served (init, phases, copy and warm-up together: the rows hold no finer
-- split). NULL service/total for a load that never finished.
CREATE VIEW IF NOT EXISTS load_breakdown AS
SELECT run, load_id, model, instance, gpu, gpu_name, node, source, reason, outcome,
       bytes, vram, enqueued, started, finished,
       started - enqueued AS queued_s,
       finished - started AS service_s,
       finished - enqueued AS total_s,
       deadline,
       CASE WHEN deadline IS NULL THEN NULL
            WHEN outcome = 'ok' AND finished <= enqueued + deadline THEN 1 ELSE 0 END AS deadline_met
FROM loads;

-- core_events with names instead of indices (NULL where the event has none).
CREATE VIEW IF NOT EXISTS core_events_named AS
SELECT e.run, e.seq, e.kind, e.t_ns, e.t_ns / 1e9 AS t, e.request, e.instance, e.load_id,
       m.name AS model, n.name AS node, g.name AS gpu, e.ok
FROM core_events e
LEFT JOIN models m ON m.run = e.run AND m.model = e.model
LEFT JOIN nodes n ON n.run = e.run AND n.node = e.node
LEFT JOIN gpus g ON g.run = e.run AND g.gpu = e.gpu;

-- Per model and run, from the rows: loads, cold starts (ok demand/failover
-- loads, finished - enqueued, as in the metrics) and requests.
CREATE VIEW IF NOT EXISTS model_summary AS
SELECT l.run, l.model,
       count(*) AS loads,
       sum(l.outcome = 'ok') AS loads_ok,
       sum(l.outcome = 'failed') AS loads_failed,
       sum(l.source = 'shm') AS loads_from_shm,
       sum(l.outcome = 'ok' AND l.reason IN ('demand', 'failover')) AS cold_starts,
       avg(CASE WHEN l.outcome = 'ok' AND l.reason IN ('demand', 'failover')
                THEN l.finished - l.enqueued END) AS cold_start_mean_s,
       max(CASE WHEN l.outcome = 'ok' AND l.reason IN ('demand', 'failover')
                THEN l.finished - l.enqueued END) AS cold_start_max_s,
       avg(l.started - l.enqueued) AS queued_mean_s,
       (SELECT count(*) FROM requests r WHERE r.run = l.run AND r.model = l.model) AS requests,
       (SELECT count(*) FROM requests r WHERE r.run = l.run AND r.model = l.model
                                          AND r.finished IS NULL) AS requests_lost
FROM loads l
GROUP BY l.run, l.model;

-- ---- where a cold start went (load_phases: results/phases.c) --------------

-- Every load's time, phase by phase, in both modes: queued (enqueued ->
-- started), init, each startup phase (name = the scenario's phase name, cpu
-- = burns a core), alloc (exec: the instance's memory), copy (storage or
-- shm -> device: the read and copy pipeline), verify (the checksum), warmup.
-- seq orders a load's phases; started/finished are seconds from the run's
-- start. A load cancelled or failed midway has the phases it got through.
CREATE TABLE IF NOT EXISTS load_phases (
    run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    load_id  INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    phase    TEXT NOT NULL CHECK (phase IN ('queued', 'init', 'startup', 'alloc', 'copy',
                                            'verify', 'warmup')),
    name     TEXT,
    cpu      INTEGER NOT NULL DEFAULT 0,
    started  REAL NOT NULL,
    finished REAL NOT NULL,
    PRIMARY KEY (run, load_id, seq)
);

-- Per run and phase: how many loads went through it, their mean and total
-- seconds (`thaw calibrate` fits from the rows; this is for a reader).
CREATE VIEW IF NOT EXISTS load_phase_summary AS
SELECT run, phase, name, count(*) AS loads, avg(finished - started) AS mean_s,
       sum(finished - started) AS total_s, max(finished - started) AS max_s
FROM load_phases
GROUP BY run, phase, name;

-- The cold-start latencies of a run recorded below `all` (--record summary
-- or loads), which keeps no request rows to classify its loads from: the
-- values of cold_start_* (metrics.c's definition, computed while the run
-- ran), one row each, so plan's pooled percentiles and the cdf chart need
-- no rows. A run recorded with every row has none here (res_cold_starts
-- computes them from its rows).
CREATE TABLE IF NOT EXISTS cold_starts (
    run       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model     TEXT NOT NULL,
    latency_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cold_starts_run ON cold_starts (run);

-- Per-model metrics (metrics_by_model) read one model's rows at a time:
-- without these, each of 1,000 models scans every row of the run.
CREATE INDEX IF NOT EXISTS loads_model ON loads (run, model);
CREATE INDEX IF NOT EXISTS instance_events_model ON instance_events (run, model);
CREATE INDEX IF NOT EXISTS requests_model ON requests (run, model);
-- anomalies.c's priority_inversion: the loads that started during a wait.
CREATE INDEX IF NOT EXISTS loads_started ON loads (run, started);
-- (loads (run, priority), for anomalies.c's priority_inversion, is made by
-- res_open after an older loads table has gained its priority column.)
-- The storage ladder (scenarios/README.md "Storage ladder").
-- bandwidth_samples: bandwidth in use per resource over time, a row each
-- time a resource's rate in use changes (sim: from the flow model, at every
-- recompute; exec: none yet). resource names the pipe ("store:s3",
-- "network:node3", "storage:node0", "disk:node0", "shm:node0",
-- "nvlink:node0/gpu1", "h2d:node0/gpu1", "pcie:node0"); kind is its first
-- word. The rate holds until the resource's next row. `thaw plot bandwidth`.
CREATE TABLE IF NOT EXISTS bandwidth_samples (
    run          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t            REAL NOT NULL,
    resource     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    used_bps     REAL NOT NULL,
    capacity_bps REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bandwidth_run ON bandwidth_samples(run, resource);

-- load_copies: the weight copy of each load that finished its copy: where
-- it read (source as loads.source; peer_gpu the GPU copied from, -1
-- otherwise), when the copy ran, and lone_s = bytes / the lone path
-- bandwidth (what the copy takes with every pipe to itself), so
-- copy time - lone_s is the time it waited on shared pipes (for a load from
-- a store: the time it waited on the shared store and the links to it).
CREATE TABLE IF NOT EXISTS load_copies (
    run           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    load_id       INTEGER NOT NULL,
    source        TEXT NOT NULL,
    peer_gpu      INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    copy_started  REAL NOT NULL,
    copy_finished REAL NOT NULL,
    lone_s        REAL NOT NULL,
    PRIMARY KEY (run, load_id)
);

/* spec.h - the scenario model: what a YAML scenario file becomes once loaded.
 * Plain data, read-only after core_spec_load() returns it; the scheduler, both
 * drivers and the CLI read it directly. Units are in the names: *_ns is int64
 * nanoseconds, *_bytes is uint64 bytes, *_bps is double bytes per second.
 * Everything is owned by the struct core_spec and freed by core_spec_free(). */
#ifndef THAW_CORE_SPEC_H
#define THAW_CORE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thaw_err.h"

#define CORE_NAME_MAX 64

/* A duration (or core-time) distribution. FIXED uses mean_ns only. EXP: mean.
 * LOGNORMAL and GAMMA: mean and cv (stddev / mean). UNIFORM: [lo_ns, hi_ns].
 * Drivers draw from it (sim with GSL); the core only ever uses mean_ns. */
enum core_dist_kind {
    CORE_DIST_FIXED = 0,
    CORE_DIST_EXP,
    CORE_DIST_LOGNORMAL,
    CORE_DIST_GAMMA,
    CORE_DIST_UNIFORM,
};

struct core_dist {
    enum core_dist_kind kind;
    int64_t mean_ns;
    double cv;
    int64_t lo_ns, hi_ns;
};

struct core_gpu_spec {
    char name[CORE_NAME_MAX]; /* "node0/gpu1" unless named in the file */
    int node;                 /* index into spec->nodes */
    int index_in_node;        /* 0..node.gpu_count-1 */
    uint64_t vram_bytes;
    double h2d_bps; /* host-to-device link bandwidth of this GPU */
};

struct core_node_spec {
    char name[CORE_NAME_MAX];
    int first_gpu; /* this node's GPUs are spec->gpus[first_gpu .. first_gpu+gpu_count-1] */
    int gpu_count;
    double storage_read_bps; /* shared by all reads from storage on the node */
    double pcie_switch_bps;  /* shared by all h2d copies on the node; 0 = no switch */
    uint64_t shm_bytes;      /* /dev/shm cache capacity; 0 = no shm tier */
    double shm_read_bps;
    double shm_write_bps;
    int cpu_cores;
    struct core_dist init;   /* runtime init, before the weight copy, per load */
    struct core_dist warmup; /* warm-up, after the weight copy, per load */
    /* What the executor pays beyond the copy (0 = nothing, the default, so
     * every figure without these keys stays as it was): `verify`, the
     * checksum after the copy as CPU work of bytes / verify_bps core-seconds
     * on the node's cores (one core per load at most); `shm.per_load`, a
     * cap on one shm load's copy rate (one core's memcpy), beside the
     * shared shm.read. */
    double verify_bps;
    double shm_per_load_bps;
    int entry; /* index of the cluster.nodes entry this node came from (count: N) */
    /* for sleeping instances' weights (standby sleep); 0 = none */
    uint64_t host_memory_bytes;
    /* The storage ladder (core/ladder.c, scenarios/README.md "Storage
     * ladder"). network_bps: the node's NIC, shared by every flow that
     * crosses it (store reads, peer copies to or from the node); 0 = none
     * (a store is then read at the store's own rate). nvlink_bps: each
     * GPU's NVLink port on this node (a same-node peer copy crosses the
     * source's and the target's); 0 = no NVLink. disk_*: the node-local
     * disk cache rung (0 bytes = none), admission named like policy.shm
     * (off | preload | lru); disk_survives_restart: a node fault keeps
     * its resident entries (a GPU fault never touches them). */
    double network_bps;
    double nvlink_bps;
    uint64_t disk_bytes;
    double disk_read_bps;
    double disk_write_bps;
    char disk_admission[CORE_NAME_MAX];
    bool disk_survives_restart;
};

/* A remote store every node may read (NFS, S3, a model registry): read_bps
 * is its total read bandwidth, shared max-min by every flow reading it. */
struct core_store_spec {
    char name[CORE_NAME_MAX];
    double read_bps;
};

/* SLEEP: an idle instance chosen for eviction is put to sleep instead when
 * its node's host memory has room (core/sleep.c, core.h). */
enum core_standby {
    CORE_STANDBY_COLD = 0,
    CORE_STANDBY_WARM,
    CORE_STANDBY_HOT,
    CORE_STANDBY_SLEEP
};

enum core_phase_when { CORE_PHASE_BEFORE_COPY = 0, CORE_PHASE_AFTER_COPY };

/* A startup phase. cpu=true: `work` is core-time (at most one core each,
 * sharing the node's cores with other phases); cpu=false: a fixed wait.
 * With cache_hit_probability > 0 the phase draws `hit_work` with that
 * probability instead of `work` (e.g. a compile cache). */
struct core_phase_spec {
    char name[CORE_NAME_MAX];
    enum core_phase_when when;
    bool cpu;
    struct core_dist work;
    double cache_hit_probability;
    struct core_dist hit_work;
};

enum core_weights_kind {
    CORE_WEIGHTS_SYNTHETIC = 0, /* no path: synthetic file of weights_bytes */
    CORE_WEIGHTS_SAFETENSORS,   /* path is one .safetensors file */
    CORE_WEIGHTS_SHARDS,        /* path is a folder of .safetensors shards */
};

/* One model. An entry with `count: N` in the file is expanded by the loader
 * into N models named name-0 .. name-(N-1); `group` keeps the entry's name. */
struct core_model_spec {
    char name[CORE_NAME_MAX];
    char group[CORE_NAME_MAX];
    uint64_t weights_bytes;
    uint64_t vram_bytes; /* footprint in VRAM; default weights_bytes + reserve */
    int priority;        /* larger is more urgent: critical=3 high=2 normal=1 low=0 */
    int64_t deadline_ns; /* cold-start deadline (enqueued -> ready); 0 = none */
    bool preload_to_shm;
    int replicas_min;
    int replicas_max;
    enum core_standby standby;
    enum core_weights_kind weights_kind;
    char *weights_path; /* NULL for synthetic; resolved relative to the scenario file */
    int phase_count;
    struct core_phase_spec *phases;
    int initial_gpu_count; /* instances already READY at t=0 ("placement: [..]") */
    int *initial_gpus;     /* flat GPU indices */
    /* Tensor parallelism: one instance spans `tp` GPUs of one node (0 or 1:
     * one GPU). Each GPU of the gang holds core_model_share_bytes() of VRAM
     * and copies weights_bytes / tp of the weights (core_model_shard_bytes). */
    int tp;
    /* standby sleep: the cost of waking, after the host-to-device copy
     * (the process, CUDA graphs and compiled kernels were kept) */
    struct core_dist wake;
    /* Where the weights come from: 0 = each node's local storage (as
     * before stores existed), k > 0 = spec->stores[k - 1]. */
    int store;
};

#define CORE_TP_MAX 16 /* GPUs one instance may span */

static inline int core_model_tp(const struct core_model_spec *m)
{
    return m->tp > 1 ? m->tp : 1;
}

/* VRAM each GPU of a gang reserves: vram_bytes / tp, rounded up. */
static inline uint64_t core_model_share_bytes(const struct core_model_spec *m)
{
    uint64_t k = (uint64_t)core_model_tp(m);
    return m->vram_bytes / k + (m->vram_bytes % k != 0);
}

/* Weights shard `i` of a gang copies: the bytes [i*w/tp, (i+1)*w/tp). */
static inline uint64_t core_model_shard_bytes(const struct core_model_spec *m, int i)
{
    /* floor(w j / k) = q j + floor(r j / k) with w = q k + r: no overflow */
    uint64_t k = (uint64_t)core_model_tp(m), q = m->weights_bytes / k, r = m->weights_bytes % k;
    uint64_t j = (uint64_t)i;
    return q + (r * (j + 1)) / k - (r * j) / k;
}

enum core_arrival_kind {
    CORE_ARRIVAL_NONE = 0,
    CORE_ARRIVAL_POISSON,   /* rate_per_s from start_ns until end_ns (0 = run end) */
    CORE_ARRIVAL_TIMES,     /* fixed times */
    CORE_ARRIVAL_BURSTS,    /* bursts[i].count requests at bursts[i].at_ns */
    CORE_ARRIVAL_TRACE,     /* streamed from trace_path by workload/ at run time */
    CORE_ARRIVAL_PIECEWISE, /* non-homogeneous Poisson: rate_segs, from start_ns */
    CORE_ARRIVAL_DIURNAL,   /* non-homogeneous Poisson: diurnal, from start_ns */
};

struct core_burst {
    int64_t at_ns;
    int count;
};

/* One piece of a piecewise rate: rate_per_s until until_ns (run time); the
 * pieces are in ascending order of until_ns; the last one's until_ns may be
 * INT64_MAX (until the run's end). */
struct core_rate_seg {
    int64_t until_ns;
    double rate_per_s;
};

/* A daily pattern: rate(t) = base + (peak - base) (1 + cos(2 pi (t -
 * peak_at) / period)) / 2, so the rate is `peak` at peak_at (+ k period) and
 * `base` half a period away. */
struct core_diurnal {
    double base_per_s, peak_per_s;
    int64_t peak_at_ns, period_ns;
};

/* Trace formats (the columns of each are documented in scenarios/README.md):
 * CSV: a timestamp (seconds, or with a unit) in column 1;
 * AZURE_LLM: TIMESTAMP (YYYY-MM-DD HH:MM:SS.fffffff), ContextTokens,
 *   GeneratedTokens;
 * JSONL: one object a line with timestamp (ms), input_length, output_length;
 * AZURE_FUNCTIONS: HashOwner, HashApp, HashFunction, Trigger and 1440
 *   per-minute invocation counts of one day, one function a line. */
enum core_trace_format {
    CORE_TRACE_CSV = 0,
    CORE_TRACE_AZURE_LLM,
    CORE_TRACE_JSONL,
    CORE_TRACE_AZURE_FUNCTIONS,
};

/* How the lines of a trace are shared among the models of one workload
 * entry (each model's workload takes the lines its rule selects):
 * ALL: every line (one model, no id column);
 * SPLIT: data line i goes to the model of slot i mod slots (no id column);
 * ID: the lines whose id (model column) equals `id` (rank or mapping);
 * HASH: the lines whose id's FNV-1a hash mod slots equals slot. */
enum core_trace_assign {
    CORE_TRACE_ALL = 0,
    CORE_TRACE_SPLIT,
    CORE_TRACE_ID,
    CORE_TRACE_HASH,
};

enum core_trace_spread { CORE_SPREAD_UNIFORM = 0, CORE_SPREAD_POISSON };

#define CORE_TRACE_MINUTES 1440 /* per-minute columns of an Azure Functions day */

/* A trace as the loader validated it (its lines are read at run time). Run
 * time of a line with timestamp ts: (ts - origin_ns - window_from_ns) /
 * speed; lines before origin + window_from or at/after origin + window_to
 * are skipped. Timestamps are in the trace's own clock: nanoseconds for CSV
 * and JSONL, since the Unix epoch for AZURE_LLM, from the day's start for
 * AZURE_FUNCTIONS. */
struct core_trace_spec {
    enum core_trace_format format;
    int id_column;              /* 0-based column of the model id (CSV, AZURE_*); -1 = none */
    char id_key[CORE_NAME_MAX]; /* JSONL: the key of the model id; "" = none */
    int64_t origin_ns;
    int64_t window_from_ns, window_to_ns; /* window_to_ns INT64_MAX = no end */
    double speed;                         /* > 0; 2 = twice as fast */
    enum core_trace_spread spread;        /* AZURE_FUNCTIONS */
    enum core_trace_assign assign;
    char *id; /* ID: owned */
    int slot, slots;
    int64_t lines;   /* data lines the loader counted */
    bool has_tokens; /* AZURE_LLM, JSONL */
};

/* Service time from token counts: fixed + prefill_per_token * input tokens
 * + decode_per_token * output tokens (traces with token counts only). */
struct core_token_service {
    bool on;
    int64_t prefill_per_token_ns, decode_per_token_ns, fixed_ns;
};

/* One data line of a trace, parsed (core_trace_parse). id points into the
 * line (not NUL-terminated, id_len bytes; NULL when the trace has no id
 * column); tokens are -1 where the format has none; minutes[] holds the 1440
 * counts of an AZURE_FUNCTIONS line. */
struct core_trace_rec {
    int64_t t_ns;
    const char *id;
    size_t id_len;
    int64_t in_tokens, out_tokens;
    int64_t minutes[CORE_TRACE_MINUTES];
    const char *app; /* AZURE_FUNCTIONS: the HashApp field (app_len bytes), else NULL */
    size_t app_len;
};

/* The parser's state over one file: whether the first line was seen (it may
 * be a header) and the columns the header named. */
struct core_trace_parser {
    const struct core_trace_spec *t;
    bool seen_first;
    int id_column;       /* resolved: the spec's, or found by name in the header */
    const char *id_name; /* CSV/AZURE_*: a column to find in the header, or NULL */
};

/* Largest per-minute count accepted (10^12): 2^31 and beyond are counts,
 * not an int overflow; above this a line is refused as implausible. */
#define CORE_TRACE_COUNT_MAX 1000000000000LL

void core_trace_parser_init(struct core_trace_parser *p, const struct core_trace_spec *t,
                            const char *id_name);
/* Parses one line (no newline; a trailing CR is ignored; the line is not
 * modified). Returns 1 for a data line (*rec filled), 0 for a line to skip
 * (blank, '#' comment, header), or -1 with *column (1-based) and msg set.
 * Pure: no I/O. */
int core_trace_parse(struct core_trace_parser *p, const char *line, size_t len,
                     struct core_trace_rec *rec, int *column, char *msg, size_t msg_len);
/* Nanoseconds since the Unix epoch of "YYYY-MM-DD HH:MM:SS[.fffffffff]"
 * (len bytes); false when it is not one. */
bool core_trace_datetime_ns(const char *s, size_t len, int64_t *out);
/* The format's name ("csv", "azure-llm", "jsonl", "azure-functions") and
 * back (-1 for an unknown name). */
const char *core_trace_format_name(enum core_trace_format f);
int core_trace_format_from_name(const char *name);

/* Distinct ids (of a trace's model column) with a count and the order of
 * first appearance each (id_count.c). Zero-initialise the table; ids are
 * copied (NUL-terminated, len bytes) and owned by it. */
struct core_id_count {
    char *id;
    size_t len;
    int64_t count;
    int64_t first; /* the order given when the id was first added */
};
struct core_id_table {
    struct core_id_count *slots;
    size_t cap, used;
};
/* FNV-1a of n bytes: the table's hash and CORE_TRACE_HASH's. */
uint64_t core_id_hash(const char *s, size_t n);
/* Adds count to id's entry (a new entry takes `order` as its first); the
 * entry, or NULL when out of memory. Entries move when the table grows. */
struct core_id_count *core_ids_add(struct core_id_table *t, const char *id, size_t len,
                                   int64_t count, int64_t order);
/* id's entry, or NULL. */
struct core_id_count *core_ids_find(const struct core_id_table *t, const char *id, size_t len);
/* A malloc'ed array of the t->used entries, busiest first, ties by first
 * (the ids stay the table's); NULL when out of memory. */
struct core_id_count *core_ids_ranked(const struct core_id_table *t);
void core_ids_free(struct core_id_table *t);

struct core_workload_spec {
    int model; /* index into spec->models */
    enum core_arrival_kind arrivals;
    double rate_per_s;
    int64_t start_ns, end_ns;
    int time_count;
    int64_t *times_ns; /* sorted ascending (TIMES and TRACE) */
    int burst_count;
    struct core_burst *bursts;
    char *trace_path;             /* TRACE: the file, resolved against the scenario's folder */
    struct core_trace_spec trace; /* TRACE */
    int rate_seg_count;           /* PIECEWISE */
    struct core_rate_seg *rate_segs;
    struct core_diurnal diurnal;      /* DIURNAL */
    struct core_dist service;         /* service time of one request */
    struct core_token_service tokens; /* when on, replaces `service` */
    int concurrency;                  /* requests one instance serves at once (>= 1) */
};

enum core_fault_target { CORE_FAULT_GPU = 0, CORE_FAULT_NODE };

/* A fault: at at_ns (>= 0), or, when at_ns < 0, recurring with exponential
 * inter-failure times of mean mtbf_ns (drawn by the driver). recover_after_ns
 * 0 = never recovers. */
struct core_fault_spec {
    enum core_fault_target target;
    int node; /* node index (both kinds) */
    int gpu;  /* flat GPU index for CORE_FAULT_GPU, -1 for a node */
    int64_t at_ns;
    int64_t mtbf_ns;
    int64_t recover_after_ns;
};

/* Policy names are validated against core_policy_names() (policy_names.c). */
struct core_policy_spec {
    char queue[CORE_NAME_MAX];     /* fifo | priority | edf | sjf */
    double aging_per_s;            /* priority points gained per second waiting; 0 = none */
    char placement[CORE_NAME_MAX]; /* first_fit | best_fit | spread | locality */
    char eviction[CORE_NAME_MAX];  /* lru | keep_alive | none */
    int64_t keep_alive_ns;         /* idle time before an instance may be evicted / scaled down */
    char shm[CORE_NAME_MAX];       /* off | preload | lru */
    char balancer[CORE_NAME_MAX];  /* lru | round_robin | least_outstanding | p2c */
    bool autoscale;                /* autoscaler "on" (else "off") */
    double autoscale_target;       /* waiting requests per READY instance that triggers scale-up */
    int autoscale_max_step;        /* at most this many new instances per period */
    int64_t autoscale_period_ns;
    int max_loads_per_node; /* concurrent loads; 0 = unlimited, 1 = serial */
    int max_loads_per_gpu;
    /* policy.peer: on: a load may copy from a READY instance of its model
     * on another GPU when that path is faster than the best rung. */
    bool peer;
};

struct core_spec {
    char *path;          /* the scenario file as given */
    char sha256_hex[65]; /* of the file's bytes */
    int node_count;
    struct core_node_spec *nodes;
    int gpu_count;
    struct core_gpu_spec *gpus; /* flat, node-major */
    int model_count;
    struct core_model_spec *models;
    int workload_count;
    struct core_workload_spec *workloads;
    int fault_count;
    struct core_fault_spec *faults;
    struct core_policy_spec policy;
    int64_t duration_ns; /* run length; 0 = until no event is left */
    uint64_t seed;
    /* What each preset the scenario used expanded to, one line each
     * ("cluster.nodes[0].gpu: gpu H100-SXM-80GB -> vram 80GiB, ..."), in
     * the order used; for `thaw check`. */
    int preset_note_count;
    char **preset_notes;
    int store_count; /* cluster.stores */
    struct core_store_spec *stores;
};

#define CORE_PRESET_NOTE_MAX 512

/* One diagnostic of a scenario file. */
struct core_diag {
    char file[256];
    int line, column;  /* 1-based; 0 when not tied to a place */
    char path[128];    /* key path, e.g. "models[2].weights" */
    char message[512]; /* "expected a size such as 14GiB, found \"-3GB\"" */
};

struct core_diags {
    int count;
    int capacity;
    struct core_diag *items;
};

void core_diags_init(struct core_diags *d);
void core_diags_free(struct core_diags *d);
/* "file:line:col: path: message" into buf. */
void core_diag_format(const struct core_diag *d, char *buf, size_t len);

/* A "key.path=value" override applied to the YAML before validation. */
struct core_override {
    const char *key; /* "cluster.nodes[0].gpus", "policy.queue", ... */
    const char *value;
};

/* Loads and validates a scenario. On success returns 0 and *out (free with
 * core_spec_free). On failure returns THAW_EPARSE (or THAW_EIO, THAW_ENOMEM),
 * *out is NULL, and every problem found is appended to diags. */
int core_spec_load(const char *path, const struct core_override *ovr, int ovr_count,
                   struct core_spec **out, struct core_diags *diags);
void core_spec_free(struct core_spec *spec);

/* Lone load time of a model on the given GPU, from storage (its remote
 * store through the node's network link when it has one; or from the
 * node's shm when from_shm), ignoring every other load: init + phases
 * (means; cpu phases at one core, cache hits weighted in) + copy at
 * min(source read, link, switch) + warm-up. -1 for a bad model or GPU index,
 * INT64_MAX when a bandwidth the copy needs is zero. Used by `thaw check` and
 * by sjf. */
int64_t core_spec_lone_load_ns(const struct core_spec *spec, int model, int gpu, bool from_shm);

/* Presets (scenarios/presets.yaml, built in; see scenarios/README.md).
 * Describes every preset of the presets file at path (NULL: the built-in
 * ones), one line each through line(): "gpu H100-SXM-80GB -> vram 80GiB,
 * h2d 64GB/s per GPU". Returns 0, 1 when path is not a presets file (it has
 * cluster or models, or none of gpus, dtypes, engines, or cannot be read
 * or parsed as YAML: nothing described; load it as a scenario), or
 * THAW_EPARSE / THAW_ENOMEM with diagnostics appended. */
int core_presets_describe(const char *path, void (*line)(void *ctx, const char *text), void *ctx,
                          struct core_diags *diags);

/* Policy names by kind: "queue", "placement", "eviction", "shm", "balancer",
 * "autoscaler" (off, on: policy.autoscale says which).
 * Returns a NULL-terminated list, or NULL for an unknown kind. */
const char *const *core_policy_names(const char *kind);

#endif

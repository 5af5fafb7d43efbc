/* sweep.h - `thaw sweep` and `thaw plan`. Most of it needs no database and
 * no simulator (sweep_grid.c, driven directly by the tests): a grid of --set
 * values x policies x seeds numbered in a fixed order, its slicing into
 * shards, and the plan's search for the smallest integer meeting a target
 * over a monotone range. The parallel runner at the end (cmd_sweep.c) runs
 * simulation points on threads for both commands. */
#ifndef THAW_CLI_SWEEP_H
#define THAW_CLI_SWEEP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"
#include "thaw_err.h"

#define CLI_SWEEP_MAX_AXES 16
#define CLI_SWEEP_MAX_SEEDS 1000000

/* One --set key with its values, in the order given. */
struct cli_sweep_axis {
    char *key;
    int value_count;
    char **values;
};

/* The grid. Every string is owned by the grid. A grid with no policies
 * runs the scenario's own policy; one with no seeds, the scenario's seed. */
struct cli_sweep_grid {
    int axis_count;
    struct cli_sweep_axis axes[CLI_SWEEP_MAX_AXES];
    int policy_count;
    char **policies; /* each a --policy SPEC, "k=v,k=v" */
    size_t seed_count;
    uint64_t *seeds;
};

void cli_sweep_grid_init(struct cli_sweep_grid *g);
void cli_sweep_grid_free(struct cli_sweep_grid *g);
/* "key=v1,v2,...": commas inside [] or {} do not split, so a value may be
 * a YAML flow list or map. A key given twice or a value listed twice in one
 * axis is an error (it would run the same point twice). */
int cli_sweep_grid_add_set(struct cli_sweep_grid *g, const char *kv, struct thaw_err *err);
/* One policy point, "queue=priority,shm=preload"; checked for k=v form. */
int cli_sweep_grid_add_policy(struct cli_sweep_grid *g, const char *spec, struct thaw_err *err);
/* Seeds "1-30", "7", "1,2,10-12"; appended; a seed listed twice is an error. */
int cli_sweep_grid_add_seeds(struct cli_sweep_grid *g, const char *list, struct thaw_err *err);
/* Number of points; 0 when the product overflows size_t. */
size_t cli_sweep_grid_size(const struct cli_sweep_grid *g);
/* Number of distinct (set values, policy) combinations: points that share
 * one loaded scenario and differ only by seed. */
size_t cli_sweep_grid_combos(const struct cli_sweep_grid *g);

/* A point. Order: the first axis varies slowest, then the next axes, then
 * the policy, then the seed fastest, so
 *   index = ((v0 * n1 + v1) * ... * npolicies + policy) * nseeds + seed
 * and combo = index / nseeds. */
struct cli_sweep_point {
    size_t index;
    size_t combo;
    int value_idx[CLI_SWEEP_MAX_AXES];
    int policy; /* -1: the scenario's own */
    bool has_seed;
    uint64_t seed;
};

int cli_sweep_point_at(const struct cli_sweep_grid *g, size_t index, struct cli_sweep_point *p);
/* The point's parameter values as "k=v;k=v" (runs.params), axes in order,
 * then "policy=SPEC" when the grid has policies. THAW_ERANGE when truncated. */
int cli_sweep_point_params(const struct cli_sweep_grid *g, const struct cli_sweep_point *p,
                           char *buf, size_t len);

/* --shard K/N: point i belongs to shard K when i % N == K - 1 (round robin,
 * so shards of a grid ordered by parameter get similar work). */
struct cli_shard {
    unsigned long k, n;
};

int cli_shard_parse(const char *s, struct cli_shard *out, struct thaw_err *err);
bool cli_shard_has(const struct cli_shard *s, size_t index);
/* Points of a grid of `total` points in the shard. */
size_t cli_shard_count(const struct cli_shard *s, size_t total);

/* ---- thaw plan ----------------------------------------------------------- */

enum cli_plan_op { CLI_PLAN_LT = 0, CLI_PLAN_LE, CLI_PLAN_GT, CLI_PLAN_GE };

struct cli_plan_target {
    char metric[64];
    enum cli_plan_op op;
    double value;
};

/* "cold_start_p99_s<15", "<=", ">", ">=" (spaces allowed around the op). */
int cli_plan_target_parse(const char *s, struct cli_plan_target *t, struct thaw_err *err);
/* "KEY=LO..HI" with integers LO <= HI. */
int cli_plan_range_parse(const char *s, char *key, size_t key_len, long *lo, long *hi,
                         struct thaw_err *err);
/* NaN (no value) never meets a target. */
bool cli_plan_meets(const struct cli_plan_target *t, double value);
const char *cli_plan_op_text(enum cli_plan_op op);

#define CLI_PLAN_MAX_POINTS 160

struct cli_plan_point {
    long x;
    double value; /* NaN: the evaluation gave no value */
    bool meets;
};

struct cli_plan_result {
    bool found;  /* some evaluated x meets the target */
    long answer; /* the smallest x meeting it, when found */
    int point_count;
    struct cli_plan_point points[CLI_PLAN_MAX_POINTS]; /* sorted by x */
    /* Monotone: the values, in x order, never both rise and fall. When not,
     * bad_x[0..2] are three consecutive evaluated x where the direction
     * turns. */
    bool monotone;
    long bad_x[3];
    /* Consistent: every evaluated x below the answer fails the target and
     * every one at or above it meets it; when none meets, trivially true. */
    bool consistent;
};

/* The callback evaluates the metric at x (the mean over seeds, say); it
 * returns NaN when it has no value. It is never called twice for one x. */
typedef double (*cli_plan_eval_fn)(long x, void *ctx);

/* Smallest x in [lo, hi] meeting the target, assuming the target's truth
 * is monotone in x (false below some x*, true from x* on): evaluates lo and
 * hi, bisects between, then evaluates the neighbours of the answer not yet
 * seen (answer - 1 must fail, answer + 1 must meet) as a check.
 * THAW_EINVAL when lo > hi. */
int cli_plan_search(long lo, long hi, const struct cli_plan_target *t, cli_plan_eval_fn eval,
                    void *ctx, struct cli_plan_result *out);

/* ---- the runner (cmd_sweep.c) --------------------------------------------- */

/* One simulation to run. The spec is shared read-only between jobs. */
struct cli_sweep_job {
    const struct core_spec *spec;
    const char *overrides; /* runs.overrides: the --set/--policy text */
    char params[1024];     /* runs.params: "k=v;k=v" */
    bool has_seed;
    uint64_t seed;
    int64_t run_id; /* out: 0 when the run was not recorded */
    int rc;         /* out: 0 or the THAW_E* code of sim_run */
    char err[256];  /* out: sim_run's message when rc < 0 */
};

struct cli_sweep_exec_opts {
    const char *db_path;  /* each thread opens its own connection (WAL) */
    const char *sweep_id; /* runs.sweep_id */
    int threads;          /* >= 1 */
    bool check_invariants;
    bool progress;    /* progress on stderr: a bar on a TTY, lines otherwise */
    const char *what; /* progress label: "sweep", "plan" */
    /* When it becomes non-zero (SIGINT, SIGTERM): runs in flight stop and
     * are recorded 'interrupted', no new point starts, and execute returns
     * THAW_EINTR (NULL: never). */
    volatile sig_atomic_t *stop;
    int record; /* enum res_record (results.h) of every run; 0 = all */
};

/* Runs every job; returns the number that failed (their rc and err say
 * why), or a negative THAW_E* when the runner itself could not start (err
 * filled; THAW_EINTR when o->stop ended it). Jobs are taken in array order, so results do not
 * depend on thread timing except for run ids. */
long cli_sweep_execute(struct cli_sweep_job *jobs, size_t n, const struct cli_sweep_exec_opts *o,
                       struct thaw_err *err);

/* A random sweep id, 12 hex digits, from the kernel's generator. */
int cli_sweep_new_id(char *buf, size_t len, struct thaw_err *err);

#endif

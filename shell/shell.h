/* shell.h - the driver shell: the one loop both drivers run (prefix shell_).
 *
 * The shell owns what the simulator and the executor used to build twice:
 * the intrusive (time, seq) event heap (heap.h), the world's inputs
 * (workload/workload.h: arrivals, faults), the core's wake-ups, the table of
 * loads and requests in flight, the one `feed` (record the event, number it,
 * feed it, check the invariants, log the actions, carry them out), the rows
 * of loads, requests, faults and instance events, the end-of-run rule and
 * the tie order. A driver supplies a struct of function pointers that
 * carries out actions (SQLite's sqlite3_io_methods): sim/ moves bytes as
 * flows on a virtual clock, exec/ runs threads on devices on the wall clock.
 * A driver decides nothing and never feeds the core itself.
 *
 * The loop. Every input reaches the core through the heap, in (t_ns, seq)
 * order; seq is the order in which an event was scheduled, so two events due
 * at the same instant are fed in the order they were armed, on every run and
 * in both drivers. World sources are armed at start in source order
 * (workloads, then faults), and each source's next input is armed right
 * after its previous one is taken, before the core hears of it. Work that a
 * driver finishes outside the heap (exec's threads) is put into the heap by
 * the driver's `collect` at max(its end, the shell's now): a late completion
 * is moved forward, never an arrival.
 *
 * Numbering: core_sched_start is event 0 of the action log; fed events are
 * numbered 1, 2, ... in feeding order and recorded (core_events) before they
 * are fed. The invariant checker runs after every event when asked, and
 * always in builds without NDEBUG.
 *
 * End of run. With run.duration D: every event due at t <= D is fed (a fault
 * or wake-up at exactly D included), then the run ends at D; on a wall clock
 * the shell waits until D. Without a duration: the run ends when nothing is
 * left to happen: the heap is empty and the driver has no work in flight, or
 * the only event left is the core's wake-up and the last one delivered
 * changed nothing (a periodic autoscaler alone would tick forever; a
 * keep-alive expiry that lets a queued load in still fires). The run then
 * ends at the time of the last event fed.
 *
 * Loads on a failed GPU. The shell feeds the fault; the core answers with a
 * CANCEL_LOAD for every load lost there, and the shell records those loads
 * 'failed' (not 'cancelled') and asks the driver to stop them. Both drivers
 * learn of the loss the same way, from the core.
 *
 * This header and heap.h (which it includes) are the module's public face,
 * the only shell/ headers the build exports. The shell uses core, results
 * and workload and knows no driver: it calls sim/ or exec/ only through the
 * struct shell_methods a driver hands it. */
#ifndef THAW_SHELL_H
#define THAW_SHELL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "heap.h"
#include "results.h"
#include "thaw_err.h"
#include "workload.h"

struct shell;

/* Event kinds the shell handles itself; a driver's own kinds start at
 * SHELL_EV_DRIVER and come back to it through methods->fire. */
enum {
    SHELL_EV_SOURCE = 1, /* a world source's pending input (struct shell_source) */
    SHELL_EV_TICK,       /* the core's wake-up */
    SHELL_EV_REQ_DONE,   /* a request's service ended (struct shell_req.done) */
    SHELL_EV_DRIVER = 16,
};

/* A load the core started, from START_LOAD until it finishes or is
 * cancelled. Owned by the shell; `drv` is the driver's. */
struct shell_load {
    uint64_t load, instance;
    int model, gpu, node;
    enum core_source source;
    enum core_reason reason;
    int64_t enqueued_ns, started_ns;
    uint64_t bytes, vram_bytes;
    /* Drawn by the shell from the node's stream when the load starts, in
     * the order loads start (workload.h's wl_draw_load). */
    struct wl_load_costs costs;
    void *drv;
    /* A tensor-parallel gang (tp > 1): shard i of the weights
     * (core_model_shard_bytes) goes to GPU gang[i]; gang[0] == gpu. tp 1:
     * gpu alone, all `bytes`. */
    int tp;
    int gang[CORE_TP_MAX];
    /* A WAKE (standby sleep), not a load: copy `bytes` back from host
     * memory, then wait wake_ns (the model's wake mean); no init, phases or
     * warm-up, no costs drawn, no loads row (counted in the sleep metrics). */
    bool wake;
    int64_t wake_ns;
    /* source CORE_SRC_PEER: the GPU (flat) and instance copied from */
    int peer_gpu;
    uint64_t peer_instance;
    /* source CORE_SRC_PEER of a tp > 1 gang: shard i copies from GPU
     * peer_gang[i] (the action's peer_gang; peer_gang[0] == peer_gpu) */
    int peer_gang[CORE_TP_MAX];
};

/* A request, from its arrival until it finishes (or the run ends). Owned by
 * the shell. */
struct shell_req {
    uint64_t id; /* 1, 2, ... in arrival order */
    int model, workload;
    int64_t arrived_ns;
    int64_t dispatched_ns; /* -1 while waiting */
    int64_t service_ns;    /* drawn at arrival; kept when requeued */
    uint64_t instance;     /* 0 while waiting */
    bool cold;
    uint32_t gen; /* bumped at every dispatch and requeue: stale work is ignored */
    /* REQUEST_FINISHED is due: the driver schedules it (shell_schedule) at
     * the end of the service it carried out; the shell feeds it. */
    struct shell_ev done;
};

/* What a driver does. Every method gets the driver's context `drv` first.
 * Methods run while the shell carries out one event's actions: they must
 * not feed the core (shell_load_done and shell_fill_done are for a driver
 * event's `fire`, or exec's collected work). Methods marked optional may be
 * NULL. */
struct shell_methods {
    const char *name;
    /* Carry out load l (init, phases, copy, warm-up); when it has finished,
     * call shell_load_done from an event of the driver's own. */
    int (*start_load)(void *drv, struct shell *sh, struct shell_load *l);
    /* Stop l's work; nothing is fed for it afterwards. l is freed by the
     * shell when this returns. */
    void (*cancel_load)(void *drv, struct shell *sh, struct shell_load *l);
    /* Copy model a->model's a->bytes into node a->node's shm cache, then
     * call shell_fill_done from an event of the driver's own. */
    int (*start_fill)(void *drv, struct shell *sh, const struct core_action *a);
    /* SHM_DROP: drop the entry, aborting its fill if one is in flight (no
     * shell_fill_done for it then). */
    void (*drop_shm)(void *drv, struct shell *sh, int node, int model);
    /* Serve r on r->instance: schedule r->done (shell_schedule) at the end
     * of the service. */
    int (*dispatch)(void *drv, struct shell *sh, struct shell_req *r);
    /* Optional. r's service was lost with its instance (r->done is already
     * cancelled and r->gen bumped). */
    void (*requeue)(void *drv, struct shell *sh, struct shell_req *r);
    /* Optional. EVICT and INSTANCE_STATE actions (after the shell recorded
     * the latter): free an instance's memory, note its state. */
    int (*instance)(void *drv, struct shell *sh, const struct core_action *a);
    /* Optional. Called once after core_sched_start with its actions, before
     * they are carried out (exec loads the instances placed READY at t=0
     * and starts its clock here). */
    int (*begin)(void *drv, struct shell *sh, const struct core_action *acts, size_t n);
    /* A driver event (kind >= SHELL_EV_DRIVER) came due. */
    int (*fire)(void *drv, struct shell *sh, struct shell_ev *ev);
    /* Optional: a wall clock. Scenario time now (NULL: a virtual clock,
     * which is always wherever the next event is). */
    int64_t (*clock)(void *drv);
    /* Optional (with clock): block until scenario time t_ns, until work
     * comes back, or a short while (to notice a stop), whichever is first. */
    int (*wait)(void *drv, struct shell *sh, int64_t t_ns);
    /* Optional: move work finished outside the heap into it. */
    int (*collect)(void *drv, struct shell *sh);
    /* Optional: work in flight outside the heap (threads) that will come
     * back through collect. */
    bool (*busy)(void *drv);
    /* Optional. SLEEP (standby sleep): keep a->instance's weights in host
     * memory and free its device memory. No event back. A WAKE comes to
     * start_load with l->wake set. */
    int (*sleep)(void *drv, struct shell *sh, const struct core_action *a);
    /* The disk-cache rung (required when a node has a disk_cache):
     * START_DISK_FILL goes to start_fill (a->kind tells the rung; call
     * shell_disk_fill_done at its end); DISK_DROP comes here, aborting a
     * fill in flight (nothing fed for it then). */
    void (*drop_disk)(void *drv, struct shell *sh, int node, int model);
};

struct shell_opts {
    uint64_t seed; /* overrides spec->seed when has_seed (the core's too) */
    bool has_seed;
    bool check_invariants;        /* core_sched_check after every event (always without NDEBUG) */
    bool time_core;               /* measure wall time inside the core */
    struct res_db *db;            /* NULL: record nothing */
    struct res_run_info run_info; /* mode and backend set by the driver */
    bool log_actions;             /* core_actions rows (with db) */
    volatile sig_atomic_t *stop;  /* stop cleanly when it becomes non-zero (NULL: none) */
};

struct shell_counts {
    uint64_t events;  /* core input events fed */
    uint64_t actions; /* actions carried out */
    uint64_t popped;  /* heap events processed */
    uint64_t rows;    /* rows written */
    uint64_t loads_ok, loads_failed, loads_cancelled;
    uint64_t requests_arrived, requests_served;
    int64_t end_ns;     /* scenario time at the end */
    double core_wall_s; /* wall seconds inside the core (time_core) */
};

/* Creates the shell for spec: the core, the world (seeded), the heap. The
 * spec must outlive it. THAW_EINVAL for what the world refuses. */
int shell_new(const struct core_spec *spec, const struct shell_opts *opts,
              const struct shell_methods *m, void *drv, struct shell **out, struct thaw_err *err);
/* Frees everything; loads and requests still held are freed without
 * calling the driver. NULL ok. */
void shell_free(struct shell *sh);

/* Inserts the runs row (when recording). Call after the driver's own set-up
 * (so a set-up failure leaves no run) and before shell_run. */
int shell_begin_run(struct shell *sh, struct thaw_err *err);
/* The loop: core_sched_start, then every event until the end of the run
 * (header comment). Returns 0 complete, 1 interrupted (opts.stop), or a
 * negative THAW_E* with err filled. */
int shell_run(struct shell *sh, struct thaw_err *err);
/* Asks the driver to stop every load still in flight (recorded
 * 'cancelled'), records the requests and faults the end cut short, and marks
 * the run complete / interrupted / failed per status (0, 1, < 0). Call after
 * the driver has stopped its own work. */
int shell_finish_run(struct shell *sh, int status, struct thaw_err *err);

/* ---- for drivers ------------------------------------------------------ */

const struct core_spec *shell_spec(const struct shell *sh);
/* The run's seed (after the override). */
uint64_t shell_seed(const struct shell *sh);
/* The run id (0 when not recorded). */
int64_t shell_run_id(const struct shell *sh);
struct res_db *shell_db(const struct shell *sh);
/* Scenario time of the event being processed (never decreases). */
int64_t shell_now(const struct shell *sh);
/* The heap, for a driver's own events (sim's flow model schedules there). */
struct shell_heap *shell_heap(struct shell *sh);
/* Schedules a driver event at max(t_ns, now). */
int shell_schedule(struct shell *sh, struct shell_ev *ev, int64_t t_ns);
void shell_cancel(struct shell *sh, struct shell_ev *ev);
/* The request with id, or NULL when it is not in flight. */
struct shell_req *shell_request(struct shell *sh, uint64_t id);
/* The load with id, or NULL when not in flight. */
struct shell_load *shell_load(struct shell *sh, uint64_t id);

/* Load l finished now: ok (READY) or failed with `why` (NULL: none known).
 * Records its row, feeds LOAD_FINISHED, frees l. From a driver event only. */
int shell_load_done(struct shell *sh, struct shell_load *l, bool ok, const char *why,
                    struct thaw_err *err);
/* The shm fill of model on node finished now (ok or not). Feeds
 * SHM_FILL_FINISHED. From a driver event only. */
int shell_fill_done(struct shell *sh, int node, int model, bool ok, struct thaw_err *err);

/* The disk-cache fill of model on node finished now. Feeds
 * DISK_FILL_FINISHED. From a driver event only. */
int shell_disk_fill_done(struct shell *sh, int node, int model, bool ok, struct thaw_err *err);

void shell_counts(const struct shell *sh, struct shell_counts *out);

/* ---- replay ----------------------------------------------------------- */

struct shell_replay_report {
    uint64_t events;           /* core events read from the run */
    uint64_t actions;          /* actions the fresh core produced */
    uint64_t recorded_actions; /* actions the run logged (core_actions); 0 if none */
    bool had_log;              /* false: the run logged no actions, so two fresh
                                  cores were compared with each other */
    bool identical;
    /* First difference when !identical: the event sequence number (0 =
     * core_sched_start), the action index within it, and both lines ("" =
     * no action there). */
    uint64_t diff_seq;
    uint64_t diff_index;
    char expected[512];
    char got[512];
};

/* Feeds the core events of `run` (seq order) to a fresh core built from
 * spec and compares its actions with the ones the run logged. Returns 0
 * whether or not they match (see report->identical); THAW_ENOENT when the
 * run has no core events; THAW_EINVAL when an event is rejected. */
int shell_replay(struct res_db *db, int64_t run, const struct core_spec *spec,
                 struct shell_replay_report *report, struct thaw_err *err);

#endif

/* paths.h - the storage ladder's pipes in the flow model (internal to sim/):
 * a remote store shared by every node, each node's network link and disk
 * cache, each GPU's NVLink port; and the path of every transfer across
 * them and today's pipes (storage, shm, h2d, PCIe switch), as the resource
 * list of one flow shared max-min (flow.h). Flow groups: without a store
 * and without peer loading every node is its own group as before; with
 * either, transfers cross nodes, so the whole cluster is one group. Also
 * records bandwidth in use per resource over time (results/ ladder rows). */
#ifndef THAW_SIM_PATHS_H
#define THAW_SIM_PATHS_H

#include <stdbool.h>

#include "core.h"
#include "flow.h"
#include "results.h"
#include "shell.h"

struct sim_paths {
    const struct core_spec *spec;
    bool one_group;
    /* today's resources, owned by driver.c (-1 where absent) */
    const int *storage, *shm_read, *shm_write, *pcie, *h2d;
    /* the ladder's, owned here (-1 where absent) */
    int *store, *net, *disk_read, *disk_write, *nvlink;
    struct res_ladder_rec *rec; /* NULL: record nothing */
    double *last_used;          /* per resource id, for the rate rows */
    int last_count;
    int rec_rc; /* first recording error, reported at flush */
    struct thaw_err rec_err;
};

/* The flow group of node's resources. */
int sim_paths_group(const struct sim_paths *p, int node);
/* Sets p up for spec (one_group); call before any resource is added. */
void sim_paths_init(struct sim_paths *p, const struct core_spec *spec);
/* Adds the ladder's resources, once today's exist (the arrays given). */
int sim_paths_build(struct sim_paths *p, struct sim_flownet *net, const int *storage,
                    const int *shm_read, const int *shm_write, const int *pcie, const int *h2d,
                    struct thaw_err *err);
void sim_paths_free(struct sim_paths *p);

/* The resources of a load's weight copy (res has SIM_FLOW_MAX_RES room);
 * returns how many, or THAW_EINVAL when the source's path lacks a pipe. */
int sim_paths_copy(const struct sim_paths *p, const struct shell_load *l, int *res);
/* The resources of a fill (START_SHM_FILL or START_DISK_FILL action). */
int sim_paths_fill(const struct sim_paths *p, const struct core_action *a, int *res);
/* Lone bandwidth of the copy's path (min of its capacities), for the
 * load_copies rows. */
double sim_paths_lone_bps(const struct sim_flownet *net, const int *res, int n);

/* Starts recording into db's run (db NULL: nothing): names every resource
 * and hooks the flow network's rate changes. */
int sim_paths_record(struct sim_paths *p, struct sim_flownet *net, struct res_db *db, int64_t run,
                     struct thaw_err *err);
/* A finished copy's row. */
void sim_paths_copy_done(struct sim_paths *p, const struct shell_load *l, int64_t started_ns,
                         double lone_bps, int64_t now_ns);
/* Writes the buffered rows; returns the first error recording met. */
int sim_paths_flush(struct sim_paths *p, struct thaw_err *err);

#endif

/* ladder.h - the storage ladder carried out on this host (internal to
 * exec/). A remote store is the weights folder (--weights-dir: every
 * model's files are there) read through a cap at the store's `read`
 * bandwidth, shared by every load and fill that reads it; a node's network
 * link is a cap too (at `network`), crossed by store reads and peer copies
 * to or from the node. A node's disk cache is a real folder (--disk-dir,
 * default the weights folder), one file per (node, model) kept by the same
 * file tier as shm (shm.h) and read and written through caps at the disk's
 * `read` and `write`. A peer load copies the serving instance's memory
 * into the new one (exec_backend_copy_peer: cudaMemcpyPeer on cuda, a
 * memcpy between emulated GPUs on host) in chunks through the caps of its
 * path (both GPUs' NVLink ports on one node, both nodes' network links
 * across nodes), then checks the checksum. Caps run at the scenario's
 * bandwidth times exec's time scale (rate.h): the real device is only ever
 * slowed down to the scenario, never sped up. */
#ifndef THAW_EXEC_LADDER_H
#define THAW_EXEC_LADDER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "backend.h"
#include "core.h"
#include "loader.h"
#include "rate.h"
#include "shm.h"

#define EXEC_LADDER_MAX_CAPS 4

struct exec_ladder {
    const struct core_spec *spec;
    struct exec_rate *store;                  /* per store */
    struct exec_rate *net;                    /* per node (rate 0: no cap) */
    struct exec_rate *disk_read, *disk_write; /* per node */
    struct exec_rate *nvlink;                 /* per GPU */
    struct exec_shm *disk;                    /* the disk-cache folder; NULL: no node has one */
};

/* Caps at the spec's bandwidths x time_scale; the disk tier under disk_dir
 * when a node has a disk cache. */
int exec_ladder_open(struct exec_ladder *l, const struct core_spec *spec, double time_scale,
                     const char *disk_dir, bool keep, struct thaw_err *err);
void exec_ladder_close(struct exec_ladder *l);

/* The caps a transfer goes through: a load of model onto gpu (node) from
 * src (peer_gpu for CORE_SRC_PEER), or with to_disk a fill into the disk
 * cache (its write cap added). Returns how many (<= EXEC_LADDER_MAX_CAPS). */
int exec_ladder_caps(const struct exec_ladder *l, enum core_source src, int model, int node,
                     int gpu, int peer_gpu, bool to_disk, struct exec_rate **out);

/* Copies `bytes` of the peer's buffer into dst in chunk_bytes pieces
 * through the caps, polling cancel between chunks, then compares the
 * device checksum with expected (when have_expected) or the peer's.
 * res gets bytes, copy_ns, verified. THAW_EINTR when cancelled. */
int exec_ladder_peer_copy(struct exec_backend *be, struct exec_dev_buf *dst,
                          const struct exec_dev_buf *peer, uint64_t bytes, size_t chunk_bytes,
                          struct exec_rate *const *caps, int n, bool have_expected,
                          uint64_t expected, const atomic_bool *cancel,
                          struct exec_load_result *res, struct thaw_err *err);

#endif

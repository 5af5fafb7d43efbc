/* shm.h - the host-memory weight cache as real files: one file per (node,
 * model) under /dev/shm/thaw-$UID/run-<pid>-<n>/, a folder of this run's own
 * (so concurrent runs of one user never touch each other's files; with
 * --keep-shm the files go in /dev/shm/thaw-$UID/ itself, where a later
 * --keep-shm run adopts them), filled from storage by a worker thread
 * when the core says CORE_ACT_START_SHM_FILL, read by loads through a descriptor (pread, so a
 * truncated file is a failed load, not a SIGBUS),
 * unlinked on CORE_ACT_SHM_DROP and when the tier is closed (unless keep).
 *
 * Safety: the directory is created 0700 and must be a real directory (not a
 * symlink, checked with lstat and opened O_NOFOLLOW|O_DIRECTORY) owned by
 * this uid with mode 0700, else the open fails. Files are created 0600 with
 * O_NOFOLLOW|O_CREAT|O_EXCL relative to that directory's fd, so a planted
 * file or symlink is never followed or reused: a name that already exists
 * and is not ours is unlinked if it is a regular file we own, else refused.
 * When /dev/shm is missing the tier falls back to $TMPDIR (or /tmp)/thaw-$UID
 * and says so (exec_shm_fallback_reason).
 *
 * Thread-safety: every function may be called from any thread; the table of
 * files is locked. Fills of different names run concurrently. A mapping
 * stays valid after its file is dropped (POSIX unlink semantics) until it
 * is unmapped, so a drop never breaks a load in flight. */
#ifndef THAW_EXEC_SHM_H
#define THAW_EXEC_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thaw_err.h"
#include "weights.h"

struct exec_shm;

struct exec_shm_options {
    const char *base; /* folder that holds thaw-$UID; NULL = "/dev/shm" */
    bool keep;        /* leave the files behind at close (--keep-shm) */
};

/* Opens (creating if needed) BASE/thaw-$UID and, unless keep, creates this
 * run's own folder in it (exec_shm_dir names it). When base is NULL and /dev/shm
 * does not exist, falls back to $TMPDIR or /tmp. Free with exec_shm_close. */
int exec_shm_open(const struct exec_shm_options *o, struct exec_shm **out, struct thaw_err *err);
/* Unlinks every file this tier created or adopted (unless keep), removes this
 * run's own folder, frees. Mappings handed out stay valid until
 * unmapped. Fill jobs must be joined first. NULL ok. */
void exec_shm_close(struct exec_shm *s);
const char *exec_shm_dir(const struct exec_shm *s);
/* NULL when the tier is in /dev/shm (or the base asked for), else why not. */
const char *exec_shm_fallback_reason(const struct exec_shm *s);

/* The file name of (node, model) in the tier: "n<node>-<model>.w", with any
 * character outside [A-Za-z0-9._-] replaced by '_'. */
void exec_shm_name(int node, const char *model_name, char *buf, size_t len);

struct exec_shm_fill_result {
    uint64_t bytes;
    int64_t elapsed_ns; /* wall time of the whole fill */
    double gbps;        /* bytes / elapsed, 1e9 bytes per second */
};

/* Copies `src` (a FILES source, normally exec_weights_source) into a new
 * file `name` of src->bytes: reserves the space first (posix_fallocate;
 * THAW_ENOMEM naming the bytes when the tier is full), then copies in
 * `chunk_bytes` pieces (0 = 64 MiB) inside the kernel (sendfile), or reads
 * into a mapping of the file where sendfile is refused; a MEMORY source is
 * copied with memcpy. The source stays in the page cache afterwards: a load
 * that must read cold storage sets drop_cache (loader.h). Blocks: the
 * driver calls it in a worker thread. Polls
 * `cancel` (may be NULL) between chunks: THAW_EINTR. On any failure the
 * partial file is removed. THAW_ESTATE when `name` is already filled or
 * filling. `res` may be NULL. */
int exec_shm_fill(struct exec_shm *s, const char *name, const struct exec_source *src,
                  size_t chunk_bytes, const atomic_bool *cancel, struct exec_shm_fill_result *res,
                  struct thaw_err *err);

/* True when `name` is completely filled (or adopted) and not dropped. */
bool exec_shm_has(struct exec_shm *s, const char *name);

/* A read-only view of a filled file: a mapping and an open descriptor.
 * Whoever reads `data` must know that a neighbour truncating the file turns
 * those reads into SIGBUS; loads read through `fd` instead (exec_shm_source),
 * where truncation is a short read. */
struct exec_shm_map {
    const void *data;
    uint64_t bytes;
    int fd; /* -1 when not mapped */
    char path[512];
};
/* Maps and opens a filled file; THAW_ENOENT when not filled. Unmap with
 * exec_shm_unmap (closes the fd too). exec_shm_source makes an
 * EXEC_SOURCE_FD source of the view's fd, bytes and path. */
int exec_shm_map(struct exec_shm *s, const char *name, struct exec_shm_map *out,
                 struct thaw_err *err);
void exec_shm_unmap(struct exec_shm_map *m);
void exec_shm_source(const struct exec_shm_map *m, struct exec_source *out);

/* A load's hold on a filled file (what a driver's loads use): the run's one
 * descriptor of it, opened by the first hold and shared by every load after,
 * so a load from shm costs no open, mmap, page-table population or munmap.
 * *src becomes an EXEC_SOURCE_FD source of it (valid until the release).
 * THAW_ENOENT when not filled. A drop while held unlinks the name at once;
 * the descriptor stays readable until the last hold is released. Release
 * every hold before exec_shm_close. */
struct exec_shm_hold;
int exec_shm_hold(struct exec_shm *s, const char *name, struct exec_source *src,
                  struct exec_shm_hold **out, struct thaw_err *err);
void exec_shm_release(struct exec_shm *s, struct exec_shm_hold *h); /* NULL ok */

/* exec_shm_drop, leaving the freeing of the file's pages to the caller:
 * returns a descriptor of the unlinked file (whose close frees them), or -1
 * when there is none to close (absent, filling, held by a load, whose last
 * release closes it, or it could not be opened: then unlinked at once). */
int exec_shm_drop_later(struct exec_shm *s, const char *name);

/* Unlinks `name` (a no-op when absent). Existing mappings and holds stay valid. */
void exec_shm_drop(struct exec_shm *s, const char *name);

/* Takes over a file left by an earlier run with keep (same checks as
 * creation: regular file, not a symlink, our uid, mode 0600) whose size is
 * `bytes`; THAW_ENOENT when absent, THAW_EINVAL when it fails a check. */
int exec_shm_adopt(struct exec_shm *s, const char *name, uint64_t bytes, struct thaw_err *err);

#endif

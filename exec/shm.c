/* shm.c - the shm tier as real files under /dev/shm/thaw-$UID (or a
 * fallback). Every path operation goes through the directory's fd (openat,
 * fstatat, unlinkat) after the directory itself was checked, and files are
 * created O_EXCL|O_NOFOLLOW, so nothing another user planted is followed.
 * A small locked table records which names this tier filled, so a load only
 * maps a file whose fill finished. */
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define NAME_MAX_LEN 200

enum entry_state { ENTRY_FILLING = 0, ENTRY_READY };

struct entry {
    struct entry *next;
    char name[NAME_MAX_LEN + 1];
    uint64_t bytes;
    enum entry_state state;
    atomic_bool dropped; /* drop asked while filling: the fill gives up */
    /* The run's one descriptor of the file (-1 until the first hold), the
     * loads holding it, and whether the entry left the table (dropped) while
     * held: the last release then closes and frees it. Under the lock. */
    int fd;
    int holds;
    bool gone;
    char path[512];
};

struct exec_shm {
    char dir[512];
    int dirfd;
    int parentfd; /* thaw-$UID when dir is this run's own folder in it, else -1 */
    char own[64]; /* the name of that folder */
    bool keep;
    char fallback[256]; /* empty when not a fallback */
    pthread_mutex_t lock;
    struct entry *entries;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool dir_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The directory must be ours alone: a real directory, our uid, mode 0700. */
static int check_dir(const char *dir, const struct stat *sb, struct thaw_err *err)
{
    if (S_ISLNK(sb->st_mode))
        return thaw_err_set(err, THAW_EINVAL, "%s: is a symlink; refusing to use it", dir);
    if (!S_ISDIR(sb->st_mode))
        return thaw_err_set(err, THAW_EINVAL, "%s: exists and is not a directory", dir);
    if (sb->st_uid != getuid())
        return thaw_err_set(err, THAW_EINVAL, "%s: owned by uid %u, not by us (uid %u)", dir,
                            (unsigned)sb->st_uid, (unsigned)getuid());
    if ((sb->st_mode & 07777) != 0700)
        return thaw_err_set(err, THAW_EINVAL, "%s: mode %04o, expected 0700", dir,
                            (unsigned)(sb->st_mode & 07777));
    return 0;
}

/* This run's own folder inside thaw-$UID (run-<pid>-<n>, 0700, created
 * exclusively), so two runs of one user never see, adopt or remove each
 * other's files. The checked thaw-$UID stays open as the parent. */
static int open_own(struct exec_shm *s, struct thaw_err *err)
{
    for (unsigned n = 0; n < 1000; n++) {
        snprintf(s->own, sizeof s->own, "run-%ld-%u", (long)getpid(), n);
        if (mkdirat(s->dirfd, s->own, 0700) == 0) break;
        if (errno != EEXIST)
            return thaw_err_set(err, THAW_EIO, "%s/%s: cannot create: %s", s->dir, s->own,
                                strerror(errno));
        if (n == 999) return thaw_err_set(err, THAW_EIO, "%s: no free run folder name", s->dir);
    }
    int fd = openat(s->dirfd, s->own, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int rc =
            thaw_err_set(err, THAW_EIO, "%s/%s: cannot open: %s", s->dir, s->own, strerror(errno));
        unlinkat(s->dirfd, s->own, AT_REMOVEDIR);
        return rc;
    }
    s->parentfd = s->dirfd;
    s->dirfd = fd;
    size_t len = strlen(s->dir);
    snprintf(s->dir + len, sizeof s->dir - len, "/%s", s->own);
    return 0;
}

int exec_shm_open(const struct exec_shm_options *o, struct exec_shm **out, struct thaw_err *err)
{
    *out = NULL;
    struct exec_shm *s = calloc(1, sizeof *s);
    if (!s) return thaw_err_set(err, THAW_ENOMEM, "shm: out of memory");
    s->dirfd = -1;
    s->parentfd = -1;
    s->keep = o && o->keep;
    const char *base = o && o->base ? o->base : NULL;
    if (!base) {
        base = "/dev/shm";
        if (!dir_exists(base)) {
            const char *tmp = getenv("TMPDIR");
            base = tmp && tmp[0] && dir_exists(tmp) ? tmp : "/tmp";
            snprintf(s->fallback, sizeof s->fallback,
                     "no /dev/shm on this host: the shm tier is in %s (not memory-backed)", base);
        }
    }
    int n = snprintf(s->dir, sizeof s->dir, "%s/thaw-%u", base, (unsigned)getuid());
    if (n < 0 || (size_t)n >= sizeof s->dir) {
        free(s);
        return thaw_err_set(err, THAW_ERANGE, "shm: base folder name too long");
    }
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        thaw_err_set(err, THAW_EIO, "%s: cannot create: %s", s->dir, strerror(e));
        free(s);
        return THAW_EIO;
    }
    struct stat before, after;
    int rc = 0;
    if (lstat(s->dir, &before) != 0)
        rc = thaw_err_set(err, THAW_EIO, "%s: %s", s->dir, strerror(errno));
    if (!rc) rc = check_dir(s->dir, &before, err);
    if (!rc) {
        s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s->dirfd < 0)
            rc = thaw_err_set(err, THAW_EIO, "%s: cannot open: %s", s->dir, strerror(errno));
    }
    /* What we opened must be what we checked (no swap in between). */
    if (!rc && (fstat(s->dirfd, &after) != 0 || after.st_dev != before.st_dev ||
                after.st_ino != before.st_ino))
        rc = thaw_err_set(err, THAW_EIO, "%s: changed while being opened", s->dir);
    if (!rc) rc = check_dir(s->dir, &after, err);
    if (rc) {
        if (s->dirfd >= 0) close(s->dirfd);
        free(s);
        return rc;
    }
    if (!s->keep && (rc = open_own(s, err)) < 0) {
        close(s->dirfd);
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return 0;
}

void exec_shm_close(struct exec_shm *s)
{
    if (!s) return;
    struct entry *e = s->entries;
    while (e) {
        struct entry *next = e->next;
        if (!s->keep) unlinkat(s->dirfd, e->name, 0);
        if (e->fd >= 0) close(e->fd);
        free(e);
        e = next;
    }
    close(s->dirfd);
    if (s->parentfd >= 0) {
        /* Only this run's folder (empty now), never another run's files. */
        unlinkat(s->parentfd, s->own, AT_REMOVEDIR);
        close(s->parentfd);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *exec_shm_dir(const struct exec_shm *s)
{
    return s->dir;
}

const char *exec_shm_fallback_reason(const struct exec_shm *s)
{
    return s->fallback[0] ? s->fallback : NULL;
}

void exec_shm_name(int node, const char *model_name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "n%d-%s.w", node, model_name);
    if (n < 0 || !len) return;
    for (char *p = buf; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) *p = '_';
    }
}

static int check_name(const char *name, struct thaw_err *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
        return thaw_err_set(err, THAW_EINVAL, "shm: bad file name \"%.40s\"", name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return thaw_err_set(err, THAW_EINVAL, "shm: bad file name \"%.40s\"", name);
    }
    return 0;
}

/* Caller holds the lock. */
static struct entry *find(struct exec_shm *s, const char *name)
{
    for (struct entry *e = s->entries; e; e = e->next)
        if (!strcmp(e->name, name)) return e;
    return NULL;
}

/* Caller holds the lock. */
static void unlink_entry(struct exec_shm *s, struct entry *victim)
{
    for (struct entry **pp = &s->entries; *pp; pp = &(*pp)->next) {
        if (*pp == victim) {
            *pp = victim->next;
            return;
        }
    }
}

/* Creates the file 0600, exclusively, never through a symlink. A stale
 * regular file of ours (from a run that did not clean up) is replaced; any
 * other thing in the way is refused. */
static int create_file(struct exec_shm *s, const char *name, struct thaw_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            if (fchmod(fd, 0600) != 0) {
                int e = errno;
                close(fd);
                unlinkat(s->dirfd, name, 0);
                return thaw_err_set(err, THAW_EIO, "%s/%s: chmod: %s", s->dir, name, strerror(e));
            }
            return fd;
        }
        if (errno != EEXIST)
            return thaw_err_set(err, THAW_EIO, "%s/%s: cannot create: %s", s->dir, name,
                                strerror(errno));
        struct stat sb;
        if (fstatat(s->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISLNK(sb.st_mode))
            return thaw_err_set(err, THAW_EINVAL, "%s/%s: a symlink is in the way; refused", s->dir,
                                name);
        if (!S_ISREG(sb.st_mode) || sb.st_uid != getuid())
            return thaw_err_set(err, THAW_EINVAL,
                                "%s/%s: exists and is not our regular file; refused", s->dir, name);
        if (attempt == 0 && unlinkat(s->dirfd, name, 0) != 0)
            return thaw_err_set(err, THAW_EIO, "%s/%s: cannot remove a stale file: %s", s->dir,
                                name, strerror(errno));
    }
    return thaw_err_set(err, THAW_EIO, "%s/%s: cannot create exclusively", s->dir, name);
}

/* Storage to shm inside the kernel (sendfile: one copy, no page faults on
 * a mapping), in `chunk` pieces so cancel is polled. *unsupported is set,
 * with nothing written, when the kernel refuses sendfile between these
 * files; the caller then reads into a mapping instead. */
static int fill_by_sendfile(const struct exec_source *src, int out, size_t chunk,
                            const atomic_bool *cancel, const atomic_bool *dropped,
                            bool *unsupported, struct thaw_err *err)
{
    *unsupported = false;
    bool first = true;
    if (chunk > 0x7ffff000u) chunk = 0x7ffff000u; /* sendfile's per-call limit */
    for (int i = 0; i < src->segment_count; i++) {
        const struct exec_segment *seg = &src->segments[i];
        if (!seg->bytes) continue;
        int in = open(seg->path, O_RDONLY | O_CLOEXEC);
        if (in < 0)
            return thaw_err_set(err, errno == ENOENT ? THAW_ENOENT : THAW_EIO,
                                "%s: cannot open: %s", seg->path, strerror(errno));
        int rc = 0;
        off_t off = (off_t)seg->offset;
        uint64_t left = seg->bytes;
        while (left && !rc) {
            if ((cancel && atomic_load(cancel)) || atomic_load(dropped)) {
                rc = thaw_err_set(err, THAW_EINTR, "%s: shm fill cancelled", seg->path);
                break;
            }
            size_t want = left < chunk ? (size_t)left : chunk;
            ssize_t n = sendfile(out, in, &off, want);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && first && (errno == EINVAL || errno == ENOSYS)) {
                *unsupported = true;
                break;
            }
            if (n < 0)
                rc = thaw_err_set(err, THAW_EIO, "%s: copy to shm: %s", seg->path, strerror(errno));
            else if (n == 0)
                rc = thaw_err_set(err, THAW_EIO, "%s: truncated: ends at %llu, needed %llu",
                                  seg->path, (unsigned long long)off,
                                  (unsigned long long)(seg->offset + seg->bytes));
            else
                left -= (uint64_t)n;
            first = false;
        }
        close(in);
        if (rc || *unsupported) return rc;
    }
    return 0;
}

static int fill_from_files(const struct exec_source *src, uint8_t *map, size_t chunk,
                           const atomic_bool *cancel, const atomic_bool *dropped,
                           struct thaw_err *err)
{
    uint64_t dst = 0;
    for (int i = 0; i < src->segment_count; i++) {
        const struct exec_segment *seg = &src->segments[i];
        if (!seg->bytes) continue;
        int fd = open(seg->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return thaw_err_set(err, errno == ENOENT ? THAW_ENOENT : THAW_EIO,
                                "%s: cannot open: %s", seg->path, strerror(errno));
        int rc = 0;
        uint64_t off = 0;
        while (off < seg->bytes && !rc) {
            if ((cancel && atomic_load(cancel)) || atomic_load(dropped)) {
                rc = thaw_err_set(err, THAW_EINTR, "%s: shm fill cancelled", seg->path);
                break;
            }
            size_t want = seg->bytes - off < chunk ? (size_t)(seg->bytes - off) : chunk;
            ssize_t n = pread(fd, map + dst, want, (off_t)(seg->offset + off));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0)
                rc = thaw_err_set(err, THAW_EIO, "%s: read: %s", seg->path, strerror(errno));
            else if (n == 0)
                rc = thaw_err_set(err, THAW_EIO, "%s: truncated: ends at %llu, needed %llu",
                                  seg->path, (unsigned long long)(seg->offset + off),
                                  (unsigned long long)(seg->offset + seg->bytes));
            else {
                off += (uint64_t)n;
                dst += (uint64_t)n;
            }
        }
        close(fd);
        if (rc) return rc;
    }
    return 0;
}

int exec_shm_fill(struct exec_shm *s, const char *name, const struct exec_source *src,
                  size_t chunk_bytes, const atomic_bool *cancel, struct exec_shm_fill_result *res,
                  struct thaw_err *err)
{
    int64_t t0 = now_ns();
    if (res) memset(res, 0, sizeof *res);
    int rc = check_name(name, err);
    if (rc) return rc;
    if (!src || src->kind == EXEC_SOURCE_FD ||
        (src->kind == EXEC_SOURCE_MEMORY && src->bytes && !src->data) || src->bytes > SIZE_MAX)
        return thaw_err_set(err, THAW_EINVAL, "shm fill %s: bad source", name);
    if (!chunk_bytes) chunk_bytes = 64u << 20;

    struct entry *e = calloc(1, sizeof *e);
    if (!e) return thaw_err_set(err, THAW_ENOMEM, "shm: out of memory");
    snprintf(e->name, sizeof e->name, "%s", name);
    e->bytes = src->bytes;
    e->fd = -1;
    atomic_init(&e->dropped, false);
    pthread_mutex_lock(&s->lock);
    if (find(s, name)) {
        pthread_mutex_unlock(&s->lock);
        free(e);
        return thaw_err_set(err, THAW_ESTATE, "%s/%s: already filled or filling", s->dir, name);
    }
    e->next = s->entries;
    s->entries = e;
    pthread_mutex_unlock(&s->lock);

    struct statvfs vfs;
    int fd = -1;
    void *map = MAP_FAILED;
    if (fstatvfs(s->dirfd, &vfs) == 0 &&
        (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize < src->bytes) {
        rc = thaw_err_set(err, THAW_ENOMEM, "%s: %llu bytes do not fit (%llu free)", s->dir,
                          (unsigned long long)src->bytes,
                          (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize);
        goto out;
    }
    fd = create_file(s, name, err);
    if (fd < 0) {
        rc = fd;
        fd = -1;
        goto out;
    }
    if (src->bytes) {
        int e2;
        do /* SIGINT's handler is installed without SA_RESTART */
            e2 = posix_fallocate(fd, 0, (off_t)src->bytes);
        while (e2 == EINTR);
        if (e2) {
            rc = thaw_err_set(err, e2 == ENOSPC ? THAW_ENOMEM : THAW_EIO,
                              "%s/%s: cannot reserve %llu bytes: %s", s->dir, name,
                              (unsigned long long)src->bytes, strerror(e2));
            goto out;
        }
        bool unsupported = true;
        if (src->kind == EXEC_SOURCE_FILES) {
            rc = fill_by_sendfile(src, fd, chunk_bytes, cancel, &e->dropped, &unsupported, err);
            if (rc || !unsupported) goto out;
        }
        map = mmap(NULL, (size_t)src->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            rc = thaw_err_set(err, THAW_EIO, "%s/%s: mmap: %s", s->dir, name, strerror(errno));
            goto out;
        }
        if (src->kind == EXEC_SOURCE_FILES) {
            rc = fill_from_files(src, map, chunk_bytes, cancel, &e->dropped, err);
        } else {
            for (uint64_t off = 0; off < src->bytes && !rc; off += chunk_bytes) {
                if ((cancel && atomic_load(cancel)) || atomic_load(&e->dropped)) {
                    rc = thaw_err_set(err, THAW_EINTR, "%s/%s: shm fill cancelled", s->dir, name);
                    break;
                }
                size_t n =
                    src->bytes - off < chunk_bytes ? (size_t)(src->bytes - off) : chunk_bytes;
                memcpy((uint8_t *)map + off, (const uint8_t *)src->data + off, n);
            }
        }
    }
out:
    if (map != MAP_FAILED) munmap(map, (size_t)src->bytes);
    if (fd >= 0) close(fd);
    pthread_mutex_lock(&s->lock);
    if (!rc && atomic_load(&e->dropped))
        rc = thaw_err_set(err, THAW_EINTR, "%s/%s: dropped while filling", s->dir, name);
    if (rc) {
        if (fd >= 0 || map != MAP_FAILED) unlinkat(s->dirfd, name, 0);
        unlink_entry(s, e);
        free(e);
    } else {
        e->state = ENTRY_READY;
    }
    pthread_mutex_unlock(&s->lock);
    if (!rc && res) {
        res->bytes = src->bytes;
        res->elapsed_ns = now_ns() - t0;
        res->gbps = res->elapsed_ns > 0 ? (double)src->bytes / (double)res->elapsed_ns : 0.0;
    }
    return rc;
}

bool exec_shm_has(struct exec_shm *s, const char *name)
{
    pthread_mutex_lock(&s->lock);
    struct entry *e = find(s, name);
    bool ok = e && e->state == ENTRY_READY;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

int exec_shm_map(struct exec_shm *s, const char *name, struct exec_shm_map *out,
                 struct thaw_err *err)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    int rc = check_name(name, err);
    if (rc) return rc;
    int n = snprintf(out->path, sizeof out->path, "%s/%s", s->dir, name);
    if (n < 0 || (size_t)n >= sizeof out->path)
        return thaw_err_set(err, THAW_ERANGE, "shm: path of %s too long", name);
    pthread_mutex_lock(&s->lock);
    struct entry *e = find(s, name);
    uint64_t bytes = e ? e->bytes : 0;
    bool ready = e && e->state == ENTRY_READY;
    /* Open under the lock so a concurrent drop cannot slip in between. */
    int fd = ready ? openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    int open_errno = errno;
    pthread_mutex_unlock(&s->lock);
    if (!ready) return thaw_err_set(err, THAW_ENOENT, "%s: not in the shm tier", out->path);
    if (fd < 0)
        return thaw_err_set(err, THAW_EIO, "%s: cannot open: %s", out->path, strerror(open_errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != bytes) {
        close(fd);
        return thaw_err_set(err, THAW_EIO, "%s: not a regular file of %llu bytes", out->path,
                            (unsigned long long)bytes);
    }
    if (bytes) {
        void *p = mmap(NULL, (size_t)bytes, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            int e2 = errno;
            close(fd);
            return thaw_err_set(err, THAW_EIO, "%s: mmap: %s", out->path, strerror(e2));
        }
        out->data = p;
    }
    out->fd = fd;
    out->bytes = bytes;
    return 0;
}

void exec_shm_unmap(struct exec_shm_map *m)
{
    if (!m) return;
    if (m->data) munmap((void *)m->data, (size_t)m->bytes);
    /* A zeroed view (never mapped) has no path: fd 0 there is not ours. */
    if (m->path[0] && m->fd >= 0) close(m->fd);
    m->data = NULL;
    m->bytes = 0;
    m->fd = -1;
}

void exec_shm_source(const struct exec_shm_map *m, struct exec_source *out)
{
    memset(out, 0, sizeof *out);
    out->kind = EXEC_SOURCE_FD;
    out->fd = m->fd;
    out->bytes = m->bytes;
    out->label = m->path;
}

void exec_shm_drop(struct exec_shm *s, const char *name)
{
    pthread_mutex_lock(&s->lock);
    struct entry *e = find(s, name);
    if (e && e->state == ENTRY_FILLING) {
        atomic_store(&e->dropped, true); /* the fill removes it */
    } else if (e) {
        unlinkat(s->dirfd, name, 0);
        unlink_entry(s, e);
        if (e->holds > 0) {
            e->gone = true; /* the last release closes it */
        } else {
            if (e->fd >= 0) close(e->fd);
            free(e);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

int exec_shm_drop_later(struct exec_shm *s, const char *name)
{
    int fd = -1;
    pthread_mutex_lock(&s->lock);
    struct entry *e = find(s, name);
    if (e && e->state == ENTRY_FILLING) {
        atomic_store(&e->dropped, true); /* the fill removes it */
    } else if (e) {
        /* With a descriptor open, unlinking only removes the name: the
         * pages go when the descriptor is closed, which the caller does
         * where it costs nothing (a worker thread). */
        if (e->fd < 0) e->fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        unlinkat(s->dirfd, name, 0);
        unlink_entry(s, e);
        if (e->holds > 0) {
            e->gone = true; /* the last release (a load thread) closes it */
        } else {
            fd = e->fd;
            free(e);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return fd;
}

int exec_shm_hold(struct exec_shm *s, const char *name, struct exec_source *src,
                  struct exec_shm_hold **out, struct thaw_err *err)
{
    *out = NULL;
    memset(src, 0, sizeof *src);
    int rc = check_name(name, err);
    if (rc) return rc;
    pthread_mutex_lock(&s->lock);
    struct entry *e = find(s, name);
    if (!e || e->state != ENTRY_READY) {
        pthread_mutex_unlock(&s->lock);
        return thaw_err_set(err, THAW_ENOENT, "%s/%s: not in the shm tier", s->dir, name);
    }
    if (e->fd < 0) {
        /* The first load of this file in the run opens it, under the lock so
         * a concurrent drop cannot slip in between; every later one shares it. */
        int n = snprintf(e->path, sizeof e->path, "%s/%s", s->dir, name);
        if (n < 0 || (size_t)n >= sizeof e->path) {
            pthread_mutex_unlock(&s->lock);
            return thaw_err_set(err, THAW_ERANGE, "shm: path of %s too long", name);
        }
        int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            int en = errno;
            pthread_mutex_unlock(&s->lock);
            return thaw_err_set(err, THAW_EIO, "%s: cannot open: %s", e->path, strerror(en));
        }
        struct stat sb;
        if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != e->bytes) {
            close(fd);
            pthread_mutex_unlock(&s->lock);
            return thaw_err_set(err, THAW_EIO, "%s: not a regular file of %llu bytes", e->path,
                                (unsigned long long)e->bytes);
        }
        e->fd = fd;
    }
    e->holds++;
    src->kind = EXEC_SOURCE_FD;
    src->fd = e->fd;
    src->bytes = e->bytes;
    src->label = e->path;
    pthread_mutex_unlock(&s->lock);
    *out = (struct exec_shm_hold *)e;
    return 0;
}

void exec_shm_release(struct exec_shm *s, struct exec_shm_hold *h)
{
    if (!h) return;
    struct entry *e = (struct entry *)h;
    pthread_mutex_lock(&s->lock);
    bool last = --e->holds == 0 && e->gone;
    pthread_mutex_unlock(&s->lock);
    if (last) {
        if (e->fd >= 0) close(e->fd);
        free(e);
    }
}

int exec_shm_adopt(struct exec_shm *s, const char *name, uint64_t bytes, struct thaw_err *err)
{
    int rc = check_name(name, err);
    if (rc) return rc;
    struct stat sb;
    if (fstatat(s->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return thaw_err_set(err, THAW_ENOENT, "%s/%s: absent", s->dir, name);
    if (!S_ISREG(sb.st_mode) || sb.st_uid != getuid() || (sb.st_mode & 07777) != 0600)
        return thaw_err_set(err, THAW_EINVAL,
                            "%s/%s: not our 0600 regular file (a symlink or planted); refused",
                            s->dir, name);
    if ((uint64_t)sb.st_size != bytes)
        return thaw_err_set(err, THAW_EINVAL, "%s/%s: %llu bytes, expected %llu", s->dir, name,
                            (unsigned long long)sb.st_size, (unsigned long long)bytes);
    struct entry *e = calloc(1, sizeof *e);
    if (!e) return thaw_err_set(err, THAW_ENOMEM, "shm: out of memory");
    snprintf(e->name, sizeof e->name, "%s", name);
    e->bytes = bytes;
    e->state = ENTRY_READY;
    e->fd = -1;
    atomic_init(&e->dropped, false);
    pthread_mutex_lock(&s->lock);
    if (find(s, name)) {
        pthread_mutex_unlock(&s->lock);
        free(e);
        return thaw_err_set(err, THAW_ESTATE, "%s/%s: already in the tier", s->dir, name);
    }
    e->next = s->entries;
    s->entries = e;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

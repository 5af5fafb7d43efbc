/* test_shm.c - exec/shm.c: the tier's directory is 0700 and ours, its files
 * 0600; a symlink (or a wrong mode) in place of the directory or a file is
 * refused and never followed; a fill reads back equal through the mapping,
 * survives as a mapping after a drop, is removed on drop and at close unless
 * keep (and can then be adopted); and a load from the mapping lands with the
 * right checksum, and a file truncated under a load fails the load (no
 * SIGBUS). Each test works under its own mkdtemp base, plus one check
 * of the real /dev/shm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "loader.h"
#include "shm.h"
#include "weights.h"

struct fixture {
    char base[64];
    char weights[128]; /* a synthetic file on "storage" */
    uint64_t bytes;
    struct exec_segment seg;
    struct exec_source src;
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->base, sizeof f->base, "/tmp/thaw-test-shm-XXXXXX");
    if (!mkdtemp(f->base)) return -1;
    snprintf(f->weights, sizeof f->weights, "%s/model.bin", f->base);
    f->bytes = 3 * 65536 + 11;
    struct thaw_err err = {0, ""};
    if (exec_weights_gen(f->weights, f->bytes, 21, &err) != 0) return -1;
    f->seg = (struct exec_segment){f->weights, 0, f->bytes};
    f->src = (struct exec_source){EXEC_SOURCE_FILES, 1, &f->seg, NULL, f->bytes, f->weights, -1};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void tier_dir(const struct fixture *f, char *buf, size_t len)
{
    snprintf(buf, len, "%s/thaw-%u", f->base, (unsigned)getuid());
}

static void test_modes_and_fill(void **state)
{
    struct fixture *f = *state;
    struct exec_shm_options o = {f->base, false};
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    /* This run's own folder inside thaw-$UID: run-<pid>-0 (the first). */
    char dir[160], top[128];
    tier_dir(f, top, sizeof top);
    snprintf(dir, sizeof dir, "%s/run-%ld-0", top, (long)getpid());
    assert_string_equal(exec_shm_dir(s), dir);
    assert_null(exec_shm_fallback_reason(s));
    struct stat sb;
    assert_int_equal(lstat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(sb.st_uid, getuid());

    char name[64];
    exec_shm_name(0, "llama/70b", name, sizeof name);
    assert_string_equal(name, "n0-llama_70b.w"); /* '/' cannot reach the path */
    assert_false(exec_shm_has(s, name));
    struct exec_shm_fill_result r;
    assert_int_equal(exec_shm_fill(s, name, &f->src, 65536, NULL, &r, &err), 0);
    assert_int_equal(r.bytes, f->bytes);
    assert_true(exec_shm_has(s, name));
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal((uint64_t)sb.st_size, f->bytes);
    /* A second fill of the same name is a state error. */
    assert_int_equal(exec_shm_fill(s, name, &f->src, 0, NULL, NULL, &err), THAW_ESTATE);

    struct exec_shm_map m;
    assert_int_equal(exec_shm_map(s, name, &m, &err), 0);
    assert_int_equal(m.bytes, f->bytes);
    assert_true(exec_checksum(m.data, m.bytes, 0) == exec_weights_expected_checksum(f->bytes, 21));

    /* Drop: the file goes, the mapping stays readable. */
    exec_shm_drop(s, name);
    assert_false(exec_shm_has(s, name));
    assert_int_equal(lstat(path, &sb), -1);
    assert_true(exec_checksum(m.data, m.bytes, 0) == exec_weights_expected_checksum(f->bytes, 21));
    exec_shm_unmap(&m);
    assert_int_equal(exec_shm_map(s, name, &m, &err), THAW_ENOENT);

    /* Close removes what is left, and the run's folder; thaw-$UID stays. */
    assert_int_equal(exec_shm_fill(s, "n1-x.w", &f->src, 0, NULL, NULL, &err), 0);
    exec_shm_close(s);
    assert_int_equal(lstat(dir, &sb), -1);
    assert_int_equal(lstat(top, &sb), 0);
}

/* Holds and deferred drops: two holds share one descriptor (the run's one
 * open of the file); a drop while held unlinks the name at once and leaves
 * nothing to close (the last release closes); a drop of an unheld file
 * hands back a descriptor of the unlinked file, still whole (3 * 65536 +
 * 11 bytes), whose close is the caller's. */
static void test_hold_and_drop_later(void **state)
{
    struct fixture *f = *state;
    struct exec_shm_options o = {f->base, false};
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    assert_int_equal(exec_shm_fill(s, "n0-a.w", &f->src, 0, NULL, NULL, &err), 0);
    assert_int_equal(exec_shm_fill(s, "n0-b.w", &f->src, 0, NULL, NULL, &err), 0);
    struct exec_source s1, s2;
    struct exec_shm_hold *h1, *h2;
    assert_int_equal(exec_shm_hold(s, "n0-a.w", &s1, &h1, &err), 0);
    assert_int_equal(exec_shm_hold(s, "n0-a.w", &s2, &h2, &err), 0);
    assert_int_equal(s1.fd, s2.fd);
    assert_int_equal(s1.kind, EXEC_SOURCE_FD);
    assert_true(s1.bytes == f->bytes);
    assert_int_equal(exec_shm_drop_later(s, "n0-a.w"), -1);
    assert_false(exec_shm_has(s, "n0-a.w"));
    char path[600];
    snprintf(path, sizeof path, "%s/n0-a.w", exec_shm_dir(s));
    assert_int_equal(access(path, F_OK), -1);
    struct exec_source s3;
    struct exec_shm_hold *h3;
    assert_int_equal(exec_shm_hold(s, "n0-a.w", &s3, &h3, &err), THAW_ENOENT);
    assert_null(h3);
    struct stat sb;
    assert_int_equal(fstat(s2.fd, &sb), 0);
    assert_true((uint64_t)sb.st_size == f->bytes);
    exec_shm_release(s, h2);
    exec_shm_release(s, h1); /* the last: closes and frees the dropped entry */
    int fd = exec_shm_drop_later(s, "n0-b.w");
    assert_true(fd >= 0);
    assert_false(exec_shm_has(s, "n0-b.w"));
    assert_int_equal(fstat(fd, &sb), 0);
    assert_true((uint64_t)sb.st_size == f->bytes);
    assert_int_equal(sb.st_nlink, 0);
    close(fd);
    assert_int_equal(exec_shm_drop_later(s, "n0-b.w"), -1); /* gone: nothing */
    exec_shm_close(s);
}

static void test_keep_and_adopt(void **state)
{
    struct fixture *f = *state;
    struct exec_shm_options o = {f->base, true};
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    assert_int_equal(exec_shm_fill(s, "n0-m.w", &f->src, 0, NULL, NULL, &err), 0);
    exec_shm_close(s);
    char path[256];
    tier_dir(f, path, sizeof path);
    strcat(path, "/n0-m.w");
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0); /* kept */
    /* A run without keep works in a folder of its own: it never sees (or
     * removes) what another run left or is using. */
    o.keep = false;
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    assert_int_equal(exec_shm_adopt(s, "n0-m.w", f->bytes, &err), THAW_ENOENT);
    exec_shm_close(s);
    assert_int_equal(lstat(path, &sb), 0);
    /* A later --keep-shm run adopts it (size checked) and keeps it. */
    o.keep = true;
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    assert_int_equal(exec_shm_adopt(s, "n0-m.w", f->bytes + 1, &err), THAW_EINVAL);
    assert_int_equal(exec_shm_adopt(s, "n0-absent.w", 1, &err), THAW_ENOENT);
    assert_int_equal(exec_shm_adopt(s, "n0-m.w", f->bytes, &err), 0);
    assert_true(exec_shm_has(s, "n0-m.w"));
    exec_shm_close(s);
    assert_int_equal(lstat(path, &sb), 0);
    unlink(path);
}

static void test_symlink_dir_refused(void **state)
{
    struct fixture *f = *state;
    char dir[128], target[128];
    tier_dir(f, dir, sizeof dir);
    snprintf(target, sizeof target, "%s/elsewhere", f->base);
    assert_int_equal(mkdir(target, 0700), 0);
    assert_int_equal(symlink(target, dir), 0);
    struct exec_shm_options o = {f->base, false};
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(&o, &s, &err), THAW_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "symlink"));
    /* A real directory with a loose mode is refused too, and left alone. */
    assert_int_equal(unlink(dir), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(exec_shm_open(&o, &s, &err), THAW_EINVAL);
    assert_non_null(strstr(err.msg, "mode 0755"));
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0755);
}

static void test_symlink_file_refused(void **state)
{
    struct fixture *f = *state;
    struct exec_shm_options o = {f->base, false};
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    char link[256], victim[128];
    snprintf(victim, sizeof victim, "%s/victim", f->base);
    FILE *v = fopen(victim, "w");
    fputs("precious", v);
    fclose(v);
    snprintf(link, sizeof link, "%s/n0-m.w", exec_shm_dir(s));
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(exec_shm_fill(s, "n0-m.w", &f->src, 0, NULL, NULL, &err), THAW_EINVAL);
    assert_non_null(strstr(err.msg, "symlink"));
    assert_false(exec_shm_has(s, "n0-m.w"));
    struct stat sb;
    assert_int_equal(stat(victim, &sb), 0);
    assert_int_equal(sb.st_size, 8); /* not followed, not truncated */
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode)); /* and not removed: not ours */
    assert_int_equal(exec_shm_adopt(s, "n0-m.w", 8, &err), THAW_EINVAL);
    /* A bad name never reaches the file system. */
    assert_int_equal(exec_shm_fill(s, "../escape", &f->src, 0, NULL, NULL, &err), THAW_EINVAL);
    unlink(link);
    exec_shm_close(s);
}

static void test_fill_errors(void **state)
{
    struct fixture *f = *state;
    struct exec_shm_options o = {f->base, false};
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    /* Truncated storage file: the fill fails naming it; no partial file. */
    assert_int_equal(truncate(f->weights, 1000), 0);
    assert_int_equal(exec_shm_fill(s, "n0-t.w", &f->src, 4096, NULL, NULL, &err), THAW_EIO);
    assert_non_null(strstr(err.msg, f->weights));
    char path[256];
    snprintf(path, sizeof path, "%s/n0-t.w", exec_shm_dir(s));
    struct stat sb;
    assert_int_equal(lstat(path, &sb), -1);
    assert_false(exec_shm_has(s, "n0-t.w"));
    /* Cancelled before it starts. */
    atomic_bool cancel;
    atomic_init(&cancel, true);
    struct exec_segment seg = {f->weights, 0, 1000};
    struct exec_source src = {EXEC_SOURCE_FILES, 1, &seg, NULL, 1000, f->weights, -1};
    assert_int_equal(exec_shm_fill(s, "n0-c.w", &src, 4096, &cancel, NULL, &err), THAW_EINTR);
    assert_int_equal(lstat(path, &sb), -1);
    exec_shm_close(s);
}

/* A fill, then a load from the mapping on the host backend. */
static void test_fill_then_load(void **state)
{
    struct fixture *f = *state;
    struct exec_shm_options o = {f->base, false};
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    struct exec_shm_fill_result r;
    assert_int_equal(exec_shm_fill(s, "n0-a.w", &f->src, 65536, NULL, &r, &err), 0);
    assert_int_equal(r.bytes, f->bytes);

    uint64_t caps[1] = {1 << 20};
    struct exec_backend_config cfg = {1, caps, NULL};
    struct exec_backend *be = NULL;
    assert_int_equal(exec_backend_open("host", &cfg, &be, NULL, 0, &err), 0);
    struct exec_dev_buf *buf = NULL;
    assert_int_equal(exec_backend_alloc(be, 0, f->bytes, &buf, &err), 0);
    struct exec_shm_map m;
    assert_int_equal(exec_shm_map(s, "n0-a.w", &m, &err), 0);
    struct exec_source src;
    exec_shm_source(&m, &src);
    struct exec_load_options lo;
    exec_load_options_init(&lo);
    lo.have_expected = true;
    lo.expected_checksum = exec_weights_expected_checksum(f->bytes, 21);
    struct exec_load_result lr;
    assert_int_equal(exec_load(be, buf, &src, &lo, &lr, &err), 0);
    assert_true(lr.verified);
    exec_shm_unmap(&m);
    exec_backend_close(be);
    exec_shm_close(s);
}

/* A neighbour truncating the shm file while a load reads it (issue 16: a
 * mapping raised SIGBUS and killed thaw exec): the host backend wrapped so
 * that its first copy truncates the file, as if between two chunks. The
 * load must fail with THAW_EIO naming the truncation; the process lives. */
static struct exec_backend_methods trunc_methods;
static const struct exec_backend_methods *trunc_inner;
static char trunc_path[600];
static int trunc_copies;

static void *trunc_host_ptr(struct exec_backend *be, struct exec_xfer *x, uint64_t dst_offset,
                            size_t *bytes)
{
    if (trunc_copies++ == 1) assert_int_equal(truncate(trunc_path, 65536), 0);
    return trunc_inner->xfer_host_ptr(be, x, dst_offset, bytes);
}

static int trunc_copy(struct exec_backend *be, struct exec_xfer *x, int slot, uint64_t dst_offset,
                      const void *src, size_t bytes, struct thaw_err *err)
{
    if (trunc_copies++ == 0) assert_int_equal(truncate(trunc_path, 65536), 0);
    return trunc_inner->xfer_copy(be, x, slot, dst_offset, src, bytes, err);
}

static void test_truncated_under_load(void **state)
{
    struct fixture *f = *state;
    struct exec_shm_options o = {f->base, false};
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(&o, &s, &err), 0);
    assert_int_equal(exec_shm_fill(s, "n0-a.w", &f->src, 65536, NULL, NULL, &err), 0);

    uint64_t caps[1] = {1 << 20};
    struct exec_backend_config cfg = {1, caps, NULL};
    struct exec_backend *be = NULL;
    assert_int_equal(exec_backend_open("host", &cfg, &be, NULL, 0, &err), 0);
    trunc_inner = be->methods;
    trunc_methods = *be->methods;
    trunc_methods.xfer_copy = trunc_copy;
    trunc_methods.xfer_host_ptr = NULL; /* staged: through the reader thread */
    be->methods = &trunc_methods;
    struct exec_dev_buf *buf = NULL;
    assert_int_equal(exec_backend_alloc(be, 0, f->bytes, &buf, &err), 0);

    struct exec_shm_map m;
    assert_int_equal(exec_shm_map(s, "n0-a.w", &m, &err), 0);
    snprintf(trunc_path, sizeof trunc_path, "%s", m.path);
    trunc_copies = 0;
    struct exec_source src;
    exec_shm_source(&m, &src);
    struct exec_load_options lo;
    exec_load_options_init(&lo);
    lo.chunk_bytes = 65536; /* 4 chunks, 2 in flight: the file is cut after the first, */
    lo.depth = 2;           /* before the reader reaches the third */
    lo.have_expected = true;
    lo.expected_checksum = exec_weights_expected_checksum(f->bytes, 21);
    struct exec_load_result lr;
    assert_int_equal(exec_load(be, buf, &src, &lo, &lr, &err), THAW_EIO);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_false(lr.verified);

    /* Read straight into host memory (the host backend's own path): cut
     * before the second chunk's read. */
    exec_shm_unmap(&m);
    exec_shm_drop(s, "n0-a.w");
    assert_int_equal(exec_shm_fill(s, "n0-a.w", &f->src, 65536, NULL, NULL, &err), 0);
    assert_int_equal(exec_shm_map(s, "n0-a.w", &m, &err), 0);
    exec_shm_source(&m, &src);
    trunc_methods.xfer_host_ptr = trunc_host_ptr;
    trunc_copies = 0;
    assert_int_equal(exec_load(be, buf, &src, &lo, &lr, &err), THAW_EIO);
    assert_non_null(strstr(err.msg, "truncated while loading"));
    assert_int_equal(trunc_copies, 2);

    /* Cut before the load starts: refused up front, with the sizes. */
    exec_shm_unmap(&m);
    assert_int_equal(exec_shm_map(s, "n0-a.w", &m, &err), THAW_EIO); /* size changed */
    exec_shm_unmap(&m);

    be->methods = trunc_inner;
    exec_backend_close(be);
    exec_shm_close(s);
}

static void test_real_dev_shm(void **state)
{
    (void)state;
    struct stat sb;
    if (stat("/dev/shm", &sb) != 0) skip();
    struct exec_shm *s = NULL;
    struct thaw_err err = {0, ""};
    assert_int_equal(exec_shm_open(NULL, &s, &err), 0);
    char dir[96];
    snprintf(dir, sizeof dir, "/dev/shm/thaw-%u/run-%ld-", (unsigned)getuid(), (long)getpid());
    assert_memory_equal(exec_shm_dir(s), dir, strlen(dir));
    assert_int_equal(lstat(exec_shm_dir(s), &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    exec_shm_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modes_and_fill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_and_drop_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_and_adopt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_dir_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_then_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_under_load, setup, teardown),
        cmocka_unit_test(test_real_dev_shm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

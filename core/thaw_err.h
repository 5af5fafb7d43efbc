/* thaw_err.h - the error convention shared by every module.
 * Functions return 0 or a negative THAW_E* code and, on failure, fill a
 * caller-provided struct thaw_err with human text. Library code never prints. */
#ifndef THAW_ERR_H
#define THAW_ERR_H

#include <stdarg.h>

enum {
    THAW_OK = 0,
    THAW_EINVAL = -1,      /* bad argument or bad input data */
    THAW_ENOMEM = -2,      /* allocation failed */
    THAW_EIO = -3,         /* file, database or device I/O failed */
    THAW_ENOENT = -4,      /* named thing does not exist */
    THAW_ERANGE = -5,      /* value out of range or overflow */
    THAW_EPARSE = -6,      /* a file did not parse; see the diagnostics */
    THAW_ESTATE = -7,      /* call not valid in the object's current state */
    THAW_EDEVICE = -8,     /* device (CUDA or host backend) failure */
    THAW_EINTR = -9,       /* interrupted by a signal */
    THAW_EINVARIANT = -10, /* an internal invariant does not hold */
};

#define THAW_ERR_MSG_MAX 1024

struct thaw_err {
    int code;
    char msg[THAW_ERR_MSG_MAX];
};

/* Sets err (if not NULL) to code and a printf-formatted message; returns code
 * so callers can write `return thaw_err_set(err, THAW_EINVAL, "...")`. */
int thaw_err_set(struct thaw_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short name of a code ("invalid argument", ...). Never NULL. */
const char *thaw_strerror(int code);

#endif

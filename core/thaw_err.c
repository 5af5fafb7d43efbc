/* thaw_err.c - filling struct thaw_err and naming error codes. */
#include "thaw_err.h"

#include <stdio.h>
#include <string.h>

int thaw_err_set(struct thaw_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *thaw_strerror(int code)
{
    switch (code) {
    case THAW_OK:
        return "ok";
    case THAW_EINVAL:
        return "invalid argument";
    case THAW_ENOMEM:
        return "out of memory";
    case THAW_EIO:
        return "I/O error";
    case THAW_ENOENT:
        return "not found";
    case THAW_ERANGE:
        return "out of range";
    case THAW_EPARSE:
        return "parse error";
    case THAW_ESTATE:
        return "invalid state";
    case THAW_EDEVICE:
        return "device error";
    case THAW_EINTR:
        return "interrupted";
    case THAW_EINVARIANT:
        return "invariant violated";
    }
    return "unknown error";
}

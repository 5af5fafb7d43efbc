/* units.h - parsing of the scenario language's quantities (internal to core/).
 * Sizes, bandwidths, durations and rates are written with units ("14GiB",
 * "512MiB/s", "1.5s", "2/s"); the parsers turn them into spec.h's units with
 * exact integer arithmetic (1.5GiB is exactly 1610612736 bytes) and report
 * why a text is not a quantity, so the loader can say what it expected. */
#ifndef THAW_CORE_UNITS_H
#define THAW_CORE_UNITS_H

#include <stdint.h>

/* Result of a parse: CORE_UNIT_OK (0) or why the text was refused. */
enum core_unit_status {
    CORE_UNIT_OK = 0,
    CORE_UNIT_EMPTY,    /* empty text */
    CORE_UNIT_SYNTAX,   /* not a number (optionally followed by a unit) */
    CORE_UNIT_NO_UNIT,  /* a non-zero number without its unit */
    CORE_UNIT_BAD_UNIT, /* a number followed by an unknown unit */
    CORE_UNIT_NEGATIVE, /* a leading minus sign */
    CORE_UNIT_OVERFLOW, /* too large for the destination type */
    CORE_UNIT_RANGE,    /* outside the allowed range (integers, probabilities) */
};

/* Bytes: B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of
 * 1024); decimals allowed and rounded to the nearest byte. Bare 0 is allowed. */
int core_units_bytes(const char *s, uint64_t *out);

/* Bytes per second: B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s,
 * Kbit/s, Mbit/s, Gbit/s. At most 2^64-1 B/s. Bare 0 is allowed. */
int core_units_bandwidth(const char *s, double *bps);

/* Nanoseconds: ns, us (or µs), ms, s, m, h; decimals rounded to the nearest
 * nanosecond; at most INT64_MAX ns (about 292 years). Bare 0 is allowed.
 * Compound durations sum their parts: "1h30m", "2m30s", "1m 0.5s". */
int core_units_duration(const char *s, int64_t *ns);

/* Events per second: N/s, N/m, N/h. Bare 0 is allowed. */
int core_units_rate(const char *s, double *per_s);

/* A probability: 0..1 ("0.8") or a percentage ("80%"). */
int core_units_probability(const char *s, double *p);

/* A decimal integer in [lo, hi] (no unit, no fraction). */
int core_units_int(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* A short phrase for a status: "a negative value", "an unknown unit", ... */
const char *core_units_status_text(int status);

/* The units a kind accepts, for messages: kind is "size", "bandwidth",
 * "duration" or "rate". */
const char *core_units_accepted(const char *kind);

#endif

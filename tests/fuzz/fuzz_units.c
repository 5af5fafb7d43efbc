/* fuzz_units.c - the quantity parsers (sizes, bandwidths, durations, rates,
 * probabilities, integers) and the strict integers of the command line,
 * each on the whole input as a string. */
#include "fuzz.h"

#include <stdlib.h>

#include "core.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    if (!s) return 0;
    uint64_t u;
    int64_t i;
    double d;
    const char *end;
    core_units_bytes(s, &u);
    core_units_bandwidth(s, &d);
    core_units_duration(s, &i);
    core_units_rate(s, &d);
    core_units_probability(s, &d);
    core_units_int(s, INT64_MIN, INT64_MAX, &i);
    core_units_int(s, 0, 100, &i);
    core_parse_u64(s, 0, UINT64_MAX, NULL, &u);
    core_parse_u64(s, 1, 1024, &end, &u);
    core_parse_i64(s, INT64_MIN, INT64_MAX, NULL, &i);
    core_parse_i64(s, -5, 5, &end, &i);
    free(s);
    return 0;
}

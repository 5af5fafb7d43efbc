/* fuzz_trace.c - a csv trace through the scenario loader (the scan of
 * core/scenario_trace.c over core/trace_line.c): the input is the trace file
 * of a fixed scenario whose workload replays it. fuzz_trace_line calls the
 * line parser of every format directly. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "spec.h"

static const char scenario[] = "cluster:\n"
                               "  nodes:\n"
                               "    - {name: n, gpus: 1, vram: 80GiB, h2d: 25GB/s, "
                               "storage_read: 2GB/s}\n"
                               "models:\n"
                               "  - {name: chat, weights: 14GiB}\n"
                               "workload:\n"
                               "  - model: chat\n"
                               "    arrivals: {trace: trace.csv}\n"
                               "    service: 100ms\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[512];
    if (!path[0]) {
        const char *p = fuzz_write_file("scenario.yaml", scenario, strlen(scenario));
        if (!p) return 0;
        strcpy(path, p);
    }
    if (!fuzz_write_file("trace.csv", data, size)) return 0;
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *spec = NULL;
    if (core_spec_load(path, NULL, 0, &spec, &d) == 0) core_spec_free(spec);
    core_diags_free(&d);
    return 0;
}

/* fuzz_scenario.c - the scenario loader with overrides. The input is a
 * scenario; its leading lines "#set KEY=VALUE" (YAML comments, so every
 * scenario is a valid seed as it is) are also passed as --set overrides,
 * the way `thaw check --set` passes them. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "spec.h"

#define MAX_SETS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("scenario.yaml", data, size);
    char *text = fuzz_cstr(data, size);
    if (!path || !text) {
        free(text);
        return 0;
    }
    struct core_override sets[MAX_SETS];
    int n = 0;
    for (char *line = text; n < MAX_SETS && !strncmp(line, "#set ", 5);) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char *eq = strchr(line + 5, '=');
        if (eq) {
            *eq = '\0';
            sets[n].key = line + 5;
            sets[n].value = eq + 1;
            n++;
        }
        if (!nl) break;
        line = nl + 1;
    }
    struct core_diags d;
    core_diags_init(&d);
    struct core_spec *spec = NULL;
    int rc = core_spec_load(path, sets, n, &spec, &d);
    char line[1200];
    for (int i = 0; i < d.count; i++)
        core_diag_format(&d.items[i], line, sizeof line);
    if (rc == 0) core_spec_free(spec);
    core_diags_free(&d);
    free(text);
    return 0;
}

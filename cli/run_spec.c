/* run_spec.c - the spec a stored run was recorded from, for replay and
 * calibrate: its scenario file when that still hashes to the recorded
 * sha256, else the file's text stored with the run (scenario_texts),
 * written to a temporary file beside where the file was, so that weight and
 * trace paths relative to it resolve as they did, and loaded from there. */
#include "cli.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

/* Loads path without printing; NULL when it does not load. */
static struct core_spec *load_quiet(const char *path, const struct cli_overrides *o)
{
    struct core_diags diags;
    struct core_spec *spec = NULL;
    core_diags_init(&diags);
    int rc = core_spec_load(path, o ? o->items : NULL, o ? o->count : 0, &spec, &diags);
    core_diags_free(&diags);
    return rc < 0 ? NULL : spec;
}

/* Writes text to a new file "DIR/.thaw-run-N-XXXXXX.yaml" in the scenario's
 * folder when it is writable, else in $TMPDIR or /tmp; 0 and the path in
 * out, or -1. */
static int write_temp(const char *scenario, int64_t run, const char *text, size_t len, char *out,
                      size_t out_len)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", scenario);
    const char *dirs[3] = {dirname(copy), getenv("TMPDIR"), "/tmp"};
    for (int d = 0; d < 3; d++) {
        if (!dirs[d] || !*dirs[d] || access(dirs[d], W_OK) != 0) continue;
        int n = snprintf(out, out_len, "%s/.thaw-run-%lld-XXXXXX.yaml", dirs[d], (long long)run);
        if (n < 0 || (size_t)n >= out_len) continue;
        int fd = mkstemps(out, 5);
        if (fd < 0) continue;
        size_t done = 0;
        while (done < len) {
            ssize_t w = write(fd, text + done, len - done);
            if (w <= 0) break;
            done += (size_t)w;
        }
        if (close(fd) == 0 && done == len) return 0;
        unlink(out);
    }
    return -1;
}

struct core_spec *cli_run_spec_load(struct res_db *db, const struct res_run_meta *m,
                                    const struct cli_overrides *o, const char *cmd, bool *stored)
{
    *stored = false;
    struct core_spec *spec = load_quiet(m->scenario, o);
    if (spec && !strcmp(spec->sha256_hex, m->sha)) return spec;
    const char *why = spec ? "changed since the run" : "does not load";
    if (!spec && access(m->scenario, F_OK) != 0) why = "is gone";
    core_spec_free(spec);
    spec = NULL;

    char *text = NULL;
    size_t len = 0;
    struct thaw_err err = {0};
    if (res_scenario_text(db, m->id, &text, &len, &err) < 0) {
        fprintf(stderr,
                "thaw %s: %s %s, and run %lld has no stored copy (recorded by an older "
                "thaw); give --scenario\n",
                cmd, m->scenario, why, (long long)m->id);
        return NULL;
    }
    char path[1200];
    if (write_temp(m->scenario, m->id, text, len, path, sizeof path) < 0) {
        fprintf(stderr, "thaw %s: cannot write a temporary copy of the stored scenario\n", cmd);
        free(text);
        return NULL;
    }
    free(text);
    fprintf(stderr, "thaw %s: %s %s: using the copy stored with run %lld\n", cmd, m->scenario, why,
            (long long)m->id);
    spec = cli_load_spec(path, o);
    unlink(path);
    if (spec && strcmp(spec->sha256_hex, m->sha)) {
        fprintf(stderr, "thaw %s: the stored copy of %s does not hash to the recorded sha256\n",
                cmd, m->scenario);
        core_spec_free(spec);
        return NULL;
    }
    *stored = spec != NULL;
    return spec;
}

/* runs_arg.c - "RUN|SELECTOR..." on a command line as a list of run ids,
 * for export and report --html: a word that holds '=', ',', ';', a space or
 * an inner '-' is a selector (res_select_runs), any other word a run id or
 * uuid prefix (res_resolve_run); nothing means the last run. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "results.h"

static bool is_selector(const char *s)
{
    return strpbrk(s, "=,; ") || (s[0] && strchr(s + 1, '-'));
}

static int append(int64_t **ids, int *n, int *cap, int64_t id, struct thaw_err *err)
{
    for (int i = 0; i < *n; i++)
        if ((*ids)[i] == id) return 0;
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        int64_t *nb = realloc(*ids, (size_t)nc * sizeof *nb);
        if (!nb) return thaw_err_set(err, THAW_ENOMEM, "out of memory");
        *ids = nb;
        *cap = nc;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

int cli_runs_resolve(struct res_db *db, const char *const *words, int n_words, int64_t **ids,
                     int *n, struct thaw_err *err)
{
    *ids = NULL;
    *n = 0;
    int cap = 0, rc = 0;
    if (n_words == 0) {
        int64_t last = 0;
        if ((rc = res_last_run(db, &last, err)) < 0) return rc;
        if (last == 0) return thaw_err_set(err, THAW_ENOENT, "the database holds no runs");
        return append(ids, n, &cap, last, err);
    }
    for (int w = 0; w < n_words && rc == 0; w++) {
        if (is_selector(words[w])) {
            int64_t *sel = NULL;
            int count = 0;
            rc = res_select_runs(db, words[w], &sel, &count, err);
            if (rc == 0 && count == 0)
                rc = thaw_err_set(err, THAW_ENOENT, "no complete run matches '%s'", words[w]);
            for (int i = 0; i < count && rc == 0; i++)
                rc = append(ids, n, &cap, sel[i], err);
            free(sel);
        } else {
            int64_t id;
            rc = res_resolve_run(db, words[w], &id, err);
            if (rc == 0) rc = append(ids, n, &cap, id, err);
        }
    }
    if (rc < 0) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

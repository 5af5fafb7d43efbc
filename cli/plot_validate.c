/* plot_validate.c - the validate chart (plots/validate.gp): simulated
 * against measured load time, a point per load pair (results/validate.c,
 * the same pairs as `thaw validate`) and the y = x line. Picks the exec and
 * the sim run the way `thaw validate` does when fewer than two are given. */
#include "plot_common.h"

#include <math.h>

/* The pairs (results/validate.c) as they stream in: one data row each. */
struct validate_rows {
    FILE *f;
    struct names models;
    double tmax, abs_rel;
    size_t n, rel_n;
};

static int validate_row(const struct res_load_pair *p, void *ctx)
{
    struct validate_rows *v = ctx;
    long m = names_intern(&v->models, p->model);
    if (m < 0) return 0;
    fprintf(v->f, "%.9g %.9g %ld ", p->simulated_s, p->measured_s, m);
    cli_plot_fput_name(v->f, v->models.v[m]);
    fputc('\n', v->f);
    v->n++;
    if (p->simulated_s > v->tmax) v->tmax = p->simulated_s;
    if (p->measured_s > v->tmax) v->tmax = p->measured_s;
    if (p->simulated_s > 0) {
        v->abs_rel += fabs(p->measured_s - p->simulated_s) / p->simulated_s;
        v->rel_n++;
    }
    return 0;
}

int cli_plot_validate(struct res_db *db, const struct cli_plot_request *req,
                      struct cli_plot_job *job, struct cli_plot_sbuf *sb, struct thaw_err *err)
{
    struct res_run_meta a, b, *ex = NULL, *sm = NULL;
    int64_t id;
    int rc;
    if (req->sel_count > 2)
        return thaw_err_set(err, THAW_EINVAL, "plot validate: give at most two runs");
    if (req->sel_count == 0) {
        if ((rc = res_latest_run_of_mode(db, "exec", NULL, &id, err)) < 0) return rc;
    } else if ((rc = res_resolve_run(db, req->sel[0], &id, err)) < 0) {
        return rc;
    }
    if ((rc = res_run_meta_load(db, id, &a, err)) < 0) return rc;
    if (req->sel_count == 2) {
        if ((rc = res_resolve_run(db, req->sel[1], &id, err)) < 0) return rc;
    } else if ((rc = res_latest_run_of_mode(db, strcmp(a.mode, "exec") ? "exec" : "sim", a.sha, &id,
                                            err)) < 0) {
        return rc;
    }
    if ((rc = res_run_meta_load(db, id, &b, err)) < 0) return rc;
    ex = !strcmp(a.mode, "exec") ? &a : !strcmp(b.mode, "exec") ? &b : NULL;
    sm = !strcmp(a.mode, "sim") ? &a : !strcmp(b.mode, "sim") ? &b : NULL;
    if (!ex || !sm || ex == sm)
        return thaw_err_set(err, THAW_EINVAL,
                            "plot validate: needs one exec run and one sim run (runs %lld and "
                            "%lld are %s and %s)",
                            (long long)a.id, (long long)b.id, a.mode, b.mode);
    snprintf(job->label, sizeof job->label, "%lld-%lld", (long long)ex->id, (long long)sm->id);

    struct validate_rows v = {0};
    v.f = cli_plot_open_data(job, "validate.dat", err);
    if (!v.f) return err->code;
    fprintf(v.f, "# simulated_s measured_s model_index model\n");
    rc = res_load_pairs(db, ex->id, sm->id, validate_row, &v, err);
    job->rows[0] = v.n;
    struct thaw_err close_err = {0}; /* the pairs' error, if any, is the one to report */
    int crc = cli_plot_close_data(v.f, job->files[0], rc ? &close_err : err);
    if (rc == 0) rc = crc;
    if (rc == 0 && v.n == 0)
        rc = thaw_err_set(err, THAW_ENOENT,
                          "plot validate: exec run %lld and sim run %lld have no finished loads "
                          "of the same model to pair",
                          (long long)ex->id, (long long)sm->id);
    if (rc == 0) {
        char title[1400];
        snprintf(title, sizeof title,
                 "Simulated vs measured load time: exec run %lld (%s) vs sim run %lld\n%s%s; "
                 "%zu pairs, mean |measured - simulated| / simulated = %.1f%%",
                 (long long)ex->id, ex->scenario, (long long)sm->id,
                 strcmp(ex->sha, sm->sha) ? "warning: different scenario files" : "same scenario",
                 "", v.n, v.rel_n ? 100.0 * v.abs_rel / (double)v.rel_n : 0.0);
        cli_plot_gp_str(sb, "datafile", job->files[0]);
        cli_plot_gp_words(sb, "models", v.models.v, v.models.n);
        cli_plot_gp_num(sb, "tmax", v.tmax > 0 ? v.tmax * 1.08 : 1);
        cli_plot_gp_title(sb, title);
        job->series = v.models.n;
    }
    names_free(&v.models);
    return rc;
}

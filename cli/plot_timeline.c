/* plot_timeline.c - the timeline chart (plots/timeline.gp): a Gantt chart
 * of one run, a row per GPU, each instance's wait in the queue, its load and
 * its time READY as spans, faults as marks across the rows. Instances whose
 * lives overlap on a GPU get lanes of their own; with many models, colours
 * go by scenario entry so the legend stays readable. Above
 * PLOT_TIMELINE_MAX_GPUS GPUs a row per GPU is a barcode: the chart keeps
 * the PLOT_TIMELINE_BUSIEST GPUs with the most time loading and adds a row
 * per node (loads in flight per GPU of the node, in time bins), and its
 * title says how many GPUs were left out. */
#include "plot_common.h"

#include <math.h>

#define PLOT_TIMELINE_MAX_GPUS 32
#define PLOT_TIMELINE_BUSIEST 24
#define PLOT_TIMELINE_BINS 240

/* The scenario entry a model comes from: its name less a "-DIGITS" suffix. */
static void entry_name(const char *model, char *name, size_t len)
{
    snprintf(name, len, "%s", model);
    size_t n = strlen(name), d = n;
    while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
        d--;
    if (d > 1 && d < n && name[d - 1] == '-') name[d - 1] = '\0';
}

/* Colours for many models: a scenario entry with `count: N` becomes models
 * NAME-0 .. NAME-(N-1). With more than twelve models (more than there are
 * colours) and fewer entries than models, colour by entry - the name
 * without its "-DIGITS" suffix - so the legend names groups that can be
 * told apart. colour[i] is model i's index into legend. */
static int colour_groups(const struct names *models, struct names *legend, long *colour)
{
    bool group = false;
    if (models->n > 12) {
        struct names g = {0};
        for (size_t i = 0; i < models->n; i++) {
            char name[256];
            entry_name(models->v[i], name, sizeof name);
            if (names_intern(&g, name) < 0) {
                names_free(&g);
                return THAW_ENOMEM;
            }
        }
        group = g.n < models->n;
        names_free(&g);
    }
    for (size_t i = 0; i < models->n; i++) {
        char name[256];
        if (group)
            entry_name(models->v[i], name, sizeof name);
        else
            snprintf(name, sizeof name, "%s", models->v[i]);
        colour[i] = names_intern(legend, name);
        if (colour[i] < 0) return THAW_ENOMEM;
    }
    return 0;
}

struct inst {
    int64_t id;
    long model;
    long row;        /* GPU row */
    double from, to; /* the instance's life on the chart, for lanes */
    int lane;
};

struct span {
    size_t inst; /* index into tl.in */
    double t0, t1;
    int kind; /* 0 queued, 1 loading, 2 ready */
};

/* Instances in order of first appearance, found by id through an
 * open-addressing table (a large run has tens of thousands); the table only
 * finds, it never decides an order. */
struct tl {
    struct inst *in;
    size_t nin, cap_in;
    size_t *slot; /* index + 1 into in, 0 = empty; size mask + 1 */
    size_t mask;
    struct span *sp;
    size_t nsp, cap_sp;
    bool oom;
};

static size_t tl_hash(int64_t id, size_t mask)
{
    return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 17) & mask;
}

static bool tl_grow_table(struct tl *t)
{
    size_t size = t->slot ? 2 * (t->mask + 1) : 1024;
    size_t *slot = calloc(size, sizeof *slot);
    if (!slot) return false;
    for (size_t i = 0; i < t->nin; i++) {
        size_t h = tl_hash(t->in[i].id, size - 1);
        while (slot[h])
            h = (h + 1) & (size - 1);
        slot[h] = i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->mask = size - 1;
    return true;
}

/* Index of the instance with this id, added when new; -1 on OOM. */
static long tl_inst(struct tl *t, int64_t id, long model, long row)
{
    if ((!t->slot || 2 * (t->nin + 1) > t->mask + 1) && !tl_grow_table(t)) {
        t->oom = true;
        return -1;
    }
    size_t h = tl_hash(id, t->mask);
    for (; t->slot[h]; h = (h + 1) & t->mask)
        if (t->in[t->slot[h] - 1].id == id) return (long)(t->slot[h] - 1);
    if (t->nin == t->cap_in) {
        size_t cap = t->cap_in ? 2 * t->cap_in : 256;
        struct inst *grown = realloc(t->in, cap * sizeof *grown);
        if (!grown) {
            t->oom = true;
            return -1;
        }
        t->in = grown;
        t->cap_in = cap;
    }
    t->in[t->nin] = (struct inst){id, model, row, INFINITY, -INFINITY, 0};
    t->slot[h] = ++t->nin;
    return (long)(t->nin - 1);
}

static void tl_span(struct tl *t, long inst, double t0, double t1, int kind)
{
    if (inst < 0) return;
    if (!(t1 >= t0)) t1 = t0;
    if (t->nsp == t->cap_sp) {
        size_t cap = t->cap_sp ? 2 * t->cap_sp : 256;
        struct span *grown = realloc(t->sp, cap * sizeof *grown);
        if (!grown) {
            t->oom = true;
            return;
        }
        t->sp = grown;
        t->cap_sp = cap;
    }
    t->sp[t->nsp++] = (struct span){(size_t)inst, t0, t1, kind};
    struct inst *in = &t->in[inst];
    if (t0 < in->from) in->from = t0;
    if (t1 > in->to) in->to = t1;
}

/* Lane order: by GPU row, then start, then id (qsort_r over indices). */
static int cmp_inst_lane(const void *pa, const void *pb, void *ctx)
{
    const struct inst *in = ctx;
    const struct inst *x = &in[*(const size_t *)pa], *y = &in[*(const size_t *)pb];
    if (x->row != y->row) return x->row < y->row ? -1 : 1;
    if (x->from != y->from) return x->from < y->from ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* What the walks over loads and instance events build. */
struct tl_walk {
    struct tl t;
    const struct cli_plot_gpus *gpus;
    struct names models;
    double last_done; /* the latest ok finish: the "last load done" mark */
    /* the instance-event walk: the instance seen last, its READY time */
    int64_t cur;
    long cur_idx;
    double ready_from;
    bool have_cur;
};

/* Loads: a queued span (enqueued -> started) and a loading span (started
 * -> finished; a load that never finished ends when its instance left, or
 * at the end of the run). */
static int tl_load(const struct res_stored_load *l, void *ctx)
{
    struct tl_walk *w = ctx;
    long model = names_intern(&w->models, l->model);
    long row = cli_plot_gpus_row(w->gpus, l->gpu);
    if (model < 0) w->t.oom = true;
    if (row < 0 || model < 0) return 0;
    double fin = l->finished_s;
    if (!isnan(fin) && !strcmp(l->outcome, "ok") && fin > w->last_done) w->last_done = fin;
    if (isnan(fin)) fin = l->left_s;
    if (isnan(fin)) fin = w->gpus->end_s;
    long idx = tl_inst(&w->t, l->instance, model, row);
    if (idx < 0) return THAW_ENOMEM;
    if (l->started_s > l->enqueued_s) tl_span(&w->t, idx, l->enqueued_s, l->started_s, 0);
    tl_span(&w->t, idx, l->started_s, fin, 1);
    return 0;
}

/* Ready spans: READY -> the next EVICTED or FAILED, or the end (events
 * arrive by instance, then time). */
static void tl_ready_close(struct tl_walk *w)
{
    if (w->have_cur && !isnan(w->ready_from)) {
        tl_span(&w->t, w->cur_idx, w->ready_from, w->gpus->end_s, 2);
        w->ready_from = NAN;
    }
}

static int tl_ievent(const struct res_stored_ievent *e, void *ctx)
{
    struct tl_walk *w = ctx;
    if (e->instance != w->cur) tl_ready_close(w);
    long model = names_intern(&w->models, e->model);
    long row = cli_plot_gpus_row(w->gpus, e->gpu);
    w->cur = e->instance;
    w->have_cur = true;
    w->cur_idx = row < 0 || model < 0 ? -1 : tl_inst(&w->t, e->instance, model, row);
    if (w->cur_idx < 0) return 0;
    if (!strcmp(e->state, "READY") && isnan(w->ready_from)) {
        w->ready_from = e->t_s;
    } else if ((!strcmp(e->state, "EVICTED") || !strcmp(e->state, "FAILED")) &&
               !isnan(w->ready_from)) {
        tl_span(&w->t, w->cur_idx, w->ready_from, e->t_s, 2);
        w->ready_from = NAN;
    }
    return 0;
}

/* Faults: a mark across each affected row (a node fault marks every shown
 * GPU of the node); a recovery as a second, dashed mark. With the node
 * summary, a fault of a GPU left out marks its node's row, and a node fault
 * its node's row too. */
struct tl_faults {
    FILE *f;
    const struct cli_plot_gpus *gpus;
    const long *row_of;  /* GPU row -> chart row, -1: left out */
    const long *node_of; /* GPU row -> index of its node */
    const struct names *nodes;
    size_t node_base; /* chart row of node 0; 0: no node rows */
    size_t *rows;
    size_t nfaults, nrecovered;
};

static void tl_fault_mark(struct tl_faults *w, const struct res_stored_fault *ft, size_t y)
{
    double when[2] = {ft->t_s, ft->recovered_s};
    for (int k = 0; k < 2; k++) {
        if (isnan(when[k])) continue;
        fprintf(w->f, "%.9g %zu %zu %d ", when[k], y, y + 1, k);
        cli_plot_fput_name(w->f, ft->target);
        fputc('\n', w->f);
        (*w->rows)++;
        if (k)
            w->nrecovered++;
        else
            w->nfaults++;
    }
}

static int tl_fault(const struct res_stored_fault *ft, void *ctx)
{
    struct tl_faults *w = ctx;
    bool node = !strcmp(ft->kind, "node");
    for (size_t r = 0; r < w->gpus->names.n; r++) {
        if (node ? strcmp(w->gpus->nodes.v[r], ft->target)
                 : strcmp(w->gpus->names.v[r], ft->target))
            continue;
        if (w->row_of[r] >= 0)
            tl_fault_mark(w, ft, (size_t)w->row_of[r]);
        else if (w->node_base && !node)
            tl_fault_mark(w, ft, w->node_base + (size_t)w->node_of[r]);
    }
    if (node && w->node_base) {
        long k = names_find(w->nodes, ft->target);
        if (k >= 0) tl_fault_mark(w, ft, w->node_base + (size_t)k);
    }
    return 0;
}

/* Busiest first: more time loading, then cluster order. */
static int cmp_busy(const void *pa, const void *pb, void *ctx)
{
    const double *busy = ctx;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    if (busy[a] != busy[b]) return busy[a] > busy[b] ? -1 : 1;
    return (a > b) - (a < b);
}

/* The chart's rows: every GPU up to PLOT_TIMELINE_MAX_GPUS; above, the
 * PLOT_TIMELINE_BUSIEST with the most time loading (sum of their loading
 * spans), in cluster order. row_of[r] is GPU row r's chart row or -1;
 * returns how many are shown, 0 when out of memory. */
static size_t tl_pick_rows(const struct tl *t, size_t ngpu, long *row_of, double *busy)
{
    for (size_t r = 0; r < ngpu; r++) {
        busy[r] = 0;
        row_of[r] = (long)r;
    }
    if (ngpu <= PLOT_TIMELINE_MAX_GPUS) return ngpu;
    for (size_t s = 0; s < t->nsp; s++)
        if (t->sp[s].kind == 1) busy[t->in[t->sp[s].inst].row] += t->sp[s].t1 - t->sp[s].t0;
    size_t *order = malloc(ngpu * sizeof *order);
    if (!order) return 0;
    for (size_t r = 0; r < ngpu; r++) {
        order[r] = r;
        row_of[r] = -1;
    }
    qsort_r(order, ngpu, sizeof *order, cmp_busy, busy);
    for (size_t i = 0; i < PLOT_TIMELINE_BUSIEST; i++)
        row_of[order[i]] = 0;
    free(order);
    size_t shown = 0;
    for (size_t r = 0; r < ngpu; r++)
        if (row_of[r] == 0) row_of[r] = (long)shown++;
    return shown;
}

/* The node rows: per node and time bin, the loads in flight per GPU of the
 * node (loading GPU-seconds in the bin / (bin width x the node's GPUs)),
 * over every GPU, shown or not. Rows "y t_mid half_width half_height
 * value node", bins with no load left out. */
static int tl_write_nodes(FILE *f, const struct tl *t, const struct cli_plot_gpus *gpus,
                          const long *node_of, const struct names *nodes, size_t base, size_t *rows)
{
    size_t nn = nodes->n;
    double binw = gpus->end_s / PLOT_TIMELINE_BINS;
    double *acc = calloc(nn * PLOT_TIMELINE_BINS, sizeof *acc);
    size_t *count = calloc(nn, sizeof *count);
    if (!acc || !count) {
        free(acc);
        free(count);
        return THAW_ENOMEM;
    }
    for (size_t r = 0; r < gpus->names.n; r++)
        count[node_of[r]]++;
    for (size_t s = 0; s < t->nsp; s++) {
        if (t->sp[s].kind != 1) continue;
        double *row = acc + (size_t)node_of[t->in[t->sp[s].inst].row] * PLOT_TIMELINE_BINS;
        double t0 = t->sp[s].t0, t1 = t->sp[s].t1;
        long b0 = (long)floor(t0 / binw), b1 = (long)floor(t1 / binw);
        for (long b = b0 < 0 ? 0 : b0; b <= b1 && b < PLOT_TIMELINE_BINS; b++) {
            double lo = fmax(t0, (double)b * binw), hi = fmin(t1, (double)(b + 1) * binw);
            if (hi > lo) row[b] += hi - lo;
        }
    }
    fprintf(f, "# y_center t_mid_s half_width_s half_height loads_in_flight_per_gpu node\n");
    for (size_t k = 0; k < nn; k++)
        for (size_t b = 0; b < PLOT_TIMELINE_BINS; b++) {
            double v = acc[k * PLOT_TIMELINE_BINS + b] / (binw * (double)count[k]);
            if (!(v > 1e-9)) continue;
            fprintf(f, "%.1f %.9g %.9g 0.4 %.6f ", (double)(base + k) + 0.5,
                    ((double)b + 0.5) * binw, 0.5 * binw, v);
            cli_plot_fput_name(f, nodes->v[k]);
            fputc('\n', f);
            (*rows)++;
        }
    free(acc);
    free(count);
    return 0;
}

int cli_plot_timeline(struct res_db *db, const struct res_run_meta *m, struct cli_plot_job *job,
                      struct cli_plot_sbuf *sb, struct thaw_err *err)
{
    struct cli_plot_gpus gpus;
    struct names legend = {0}, rows = {0}, nodes = {0};
    long *colour = NULL, *row_of = NULL, *node_of = NULL;
    double *busy = NULL;
    FILE *f = NULL;
    int rc = cli_plot_gpus_load(db, m, &gpus, err);
    if (rc < 0) return rc;
    struct tl_walk w = {
        .gpus = &gpus, .last_done = -1, .cur = -1, .cur_idx = -1, .ready_from = NAN};
    struct tl *t = &w.t;
    rc = res_rows_loads(db, m->id, RES_LOADS_BY_ENQUEUE, tl_load, &w, err);
    if (rc == 0) rc = res_rows_ievents(db, m->id, RES_IEVENTS_BY_INSTANCE, tl_ievent, &w, err);
    if (rc == 0) tl_ready_close(&w);
    if (t->oom || rc == THAW_ENOMEM) {
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    if (rc < 0) goto out;
    if (t->nsp == 0) {
        rc = thaw_err_set(err, THAW_ENOENT, "plot: run %lld has no loads or instances to draw",
                          (long long)m->id);
        goto out;
    }
    /* Lanes: within a GPU row, instances whose lives overlap get separate
     * lanes (greedy interval colouring in order of start). */
    size_t *order = malloc((t->nin + 1) * sizeof *order);
    int *lanes_of_row = calloc(gpus.names.n, sizeof *lanes_of_row);
    double *lane_end = calloc(t->nin + 1, sizeof *lane_end);
    if (!order || !lanes_of_row || !lane_end) {
        free(order);
        free(lanes_of_row);
        free(lane_end);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    for (size_t i = 0; i < t->nin; i++)
        order[i] = i;
    qsort_r(order, t->nin, sizeof *order, cmp_inst_lane, t->in);
    for (size_t i = 0; i < t->nin;) {
        size_t j = i;
        int used = 0;
        for (; j < t->nin && t->in[order[j]].row == t->in[order[i]].row; j++) {
            struct inst *in = &t->in[order[j]];
            int lane = 0;
            while (lane < used && lane_end[lane] > in->from + 1e-9)
                lane++;
            if (lane == used) used++;
            lane_end[lane] = in->to;
            in->lane = lane;
        }
        lanes_of_row[t->in[order[i]].row] = used;
        i = j;
    }
    free(lane_end);
    free(order);

    /* Rows: the GPUs shown, then (with the summary) a row per node. */
    size_t ngpu = gpus.names.n;
    row_of = malloc(ngpu * sizeof *row_of);
    node_of = malloc(ngpu * sizeof *node_of);
    busy = malloc(ngpu * sizeof *busy);
    size_t nshown = row_of && node_of && busy ? tl_pick_rows(t, ngpu, row_of, busy) : 0;
    for (size_t r = 0; nshown && r < ngpu; r++)
        if ((node_of[r] = names_intern(&nodes, gpus.nodes.v[r])) < 0) nshown = 0;
    if (!nshown) {
        free(lanes_of_row);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    bool summary = nshown < ngpu;
    for (size_t r = 0; r < ngpu; r++)
        if (row_of[r] >= 0 && names_push(&rows, gpus.names.v[r]) < 0) t->oom = true;
    if (t->oom) {
        free(lanes_of_row);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }

    f = cli_plot_open_data(job, "spans.dat", err);
    if (!f) {
        free(lanes_of_row);
        rc = err->code;
        goto out;
    }
    fprintf(f, "# y_center t_start_s t_end_s y_half colour_index kind(0 queued,1 loading,2 ready)"
               " model\n");
    colour = calloc(w.models.n ? w.models.n : 1, sizeof *colour);
    if (!colour || colour_groups(&w.models, &legend, colour) < 0) {
        free(lanes_of_row);
        rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
        goto out;
    }
    for (size_t s = 0; s < t->nsp; s++) {
        const struct inst *in = &t->in[t->sp[s].inst];
        if (row_of[in->row] < 0) continue;
        int nl = lanes_of_row[in->row] ? lanes_of_row[in->row] : 1;
        double pad = 0.08, lane_h = (1 - 2 * pad) / nl;
        double yc = (double)row_of[in->row] + pad + (in->lane + 0.5) * lane_h;
        fprintf(f, "%.6f %.9g %.9g %.6f %ld %d ", yc, t->sp[s].t0, t->sp[s].t1, 0.45 * lane_h,
                colour[in->model], t->sp[s].kind);
        cli_plot_fput_name(f, w.models.v[in->model]);
        fputc('\n', f);
        job->rows[job->file_count - 1]++;
    }
    free(lanes_of_row);
    rc = cli_plot_close_data(f, job->files[job->file_count - 1], err);
    f = NULL;
    if (rc < 0) goto out;

    f = cli_plot_open_data(job, "faults.dat", err);
    if (!f) {
        rc = err->code;
        goto out;
    }
    fprintf(f, "# t_s y_top y_bottom kind(0 fault,1 recovered) target\n");
    struct tl_faults fw = {
        f, &gpus, row_of, node_of, &nodes, summary ? nshown : 0, &job->rows[job->file_count - 1],
        0, 0};
    if ((rc = res_rows_faults(db, m->id, tl_fault, &fw, err)) < 0) goto out;
    rc = cli_plot_close_data(f, job->files[job->file_count - 1], err);
    f = NULL;
    if (rc < 0) goto out;

    if (summary) {
        f = cli_plot_open_data(job, "nodes.dat", err);
        if (!f) {
            rc = err->code;
            goto out;
        }
        rc = tl_write_nodes(f, t, &gpus, node_of, &nodes, nshown, &job->rows[job->file_count - 1]);
        if (rc < 0) {
            rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
            goto out;
        }
        rc = cli_plot_close_data(f, job->files[job->file_count - 1], err);
        f = NULL;
        if (rc < 0) goto out;
        for (size_t k = 0; k < nodes.n; k++) {
            size_t in_node = 0;
            for (size_t r = 0; r < ngpu; r++)
                in_node += node_of[r] == (long)k;
            char label[160];
            snprintf(label, sizeof label, "%s (%zu GPUs)", nodes.v[k], in_node);
            if (names_push(&rows, label) < 0) t->oom = true;
        }
        if (t->oom) {
            rc = thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
            goto out;
        }
    }

    char note[400] = "";
    if (summary)
        snprintf(note, sizeof note,
                 "\nshowing the %zu busiest of %zu GPUs (most time loading); the other %zu are "
                 "left out, the %zu node rows below count loads in flight per GPU of every GPU",
                 nshown, ngpu, ngpu - nshown, nodes.n);

    char title[3400];
    snprintf(title, sizeof title,
             "Cold-start timeline: run %lld (%s, %s, seed %lld)\npolicy: %s%s%s%s",
             (long long)m->id, m->mode, m->scenario, (long long)m->seed, m->policy,
             m->params[0] ? "   point: " : "", m->params, note);
    cli_plot_gp_str(sb, "spans", job->files[0]);
    cli_plot_gp_str(sb, "faults", job->files[1]);
    cli_plot_gp_num(sb, "nfaults", (double)fw.nfaults);
    cli_plot_gp_num(sb, "nrecovered", (double)fw.nrecovered);
    cli_plot_gp_words(sb, "gpus", rows.v, rows.n);
    cli_plot_gp_num(sb, "nshown", (double)nshown);
    if (summary) cli_plot_gp_str(sb, "nodesfile", job->files[2]);
    cli_plot_gp_words(sb, "models", legend.v, legend.n);
    cli_plot_gp_num(sb, "tmax", gpus.end_s);
    cli_plot_gp_num(sb, "tdone", w.last_done);
    cli_plot_gp_title(sb, title);
    job->series = legend.n;
    rc = 0;
out:
    if (f) fclose(f);
    free(t->in);
    free(t->slot);
    free(t->sp);
    free(colour);
    free(row_of);
    free(node_of);
    free(busy);
    names_free(&rows);
    names_free(&nodes);
    names_free(&legend);
    names_free(&w.models);
    cli_plot_gpus_free(&gpus);
    return rc;
}

/* cmd_calibrate.c - `thaw calibrate`: tunes the simulator to the host. Fits
 * init and the source bandwidths of each node to a run's measured lone
 * loads (results/calibrate.c does the fit), sets them beside the scenario's
 * current values, and prints the --set lines that would apply them. This
 * file picks the run, loads the scenario and maps the fit onto its keys. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

static const char calibrate_usage[] =
    "usage: thaw calibrate [--db PATH] [RUN...]\n"
    "       thaw calibrate --probe [--backend B] [--out FILE] [--size S] [--runs N]\n"
    "                      [--db PATH] [--weights-dir D] [--shm-dir D]\n"
    "\n"
    "Fits the simulator's per-load parameters to a real run, so `thaw sim`\n"
    "can be tuned to the host. In the simulator a load with the node to\n"
    "itself takes init + phases + bytes / min(source read, h2d, pcie switch)\n"
    "+ warmup: a line in bytes. For each node and each source (storage, shm)\n"
    "the loads that finished ok and ran alone on their node (no other load of\n"
    "the node, nor for storage a shm fill, overlapped them: a shared node\n"
    "would read as a slower bandwidth) are fitted by least squares to\n"
    "    t = a + bytes / B        (t = finished - started)\n"
    "giving the fixed cost a (s), the bandwidth B and R^2. With fewer than 2\n"
    "distinct sizes there is no line: B is then fitted through the\n"
    "scenario's fixed cost (init + phases + warmup), and with no scenario\n"
    "file it is \"not enough data\".\n"
    "\n"
    "RUN: a run id or 4+ hex digits of its uuid; default the latest exec run.\n"
    "A sim run may be given too: its fit returns the scenario's own values.\n"
    "\n"
    "Prints per node the fit beside the scenario's current values (the file\n"
    "in runs.scenario with the run's --set/--policy overrides, when it still\n"
    "exists) and the suggested overrides, ready to paste:\n"
    "  storage_read (source storage) and shm.read (source shm) = B;\n"
    "  init = a - (warmup + mean phases of the models), from the line fits\n"
    "  weighted by their loads (init = a when warmup and phases are 0).\n"
    "When a GPU's h2d link (or the PCIe switch) is below B, the simulator's\n"
    "copy is bound by the link, and the output says so.\n"
    "\n"
    "From load phases (the load_phases rows both modes write), pooled over\n"
    "every RUN given (one run: after the fit above; several: alone): per node\n"
    "and source, every ok load's copy seconds against its bytes,\n"
    "concurrent loads included, fitted twice: shared (t = a + k bytes / B,\n"
    "k = mean copies in flight during the load's copy, shm fills counted\n"
    "beside storage loads: one pipe, as the\n"
    "simulator models it) and per load (t = a + bytes / B: a pipe each); B's\n"
    "spread (sd of the per-load rates), R^2 of both lines, a warning below\n"
    "R^2 0.9, init (+ alloc) and warmup as the means of those phases\n"
    "(suggested only when they differ from the scenario's by over 5 ms and\n"
    "2%: the executor sleeps the scenario's own), the\n"
    "checksum as verify = bytes / verify seconds (the node's `verify` key),\n"
    "and the --set lines of the shared fit, by the key path of the node's\n"
    "entry in the file (for the nodes of a `count:` entry, that entry).\n"
    "\n"
    "--probe: runs a workload of its own through the executor (loads of S, 2S,\n"
    "3S from storage and from shm, alone and 2-4 at once; --runs times), pools\n"
    "the runs' load phases as above and writes a host profile: storage_read,\n"
    "verify, shm.read (and shm.per_load) for a scenario's `include: FILE`\n"
    "(README.md, scenarios/README.md). Its files go to .thaw-probe-* in the\n"
    "current directory (that disk is the storage measured), removed after.\n"
    "\n"
    "options:\n"
    "  --db PATH        results database (default " CLI_DEFAULT_DB "); --probe:\n"
    "                   records its runs there (default: a temporary one)\n"
    "  --probe          write a host profile (options below are --probe's)\n"
    "  --backend B      auto | cuda | host (default auto)\n"
    "  --out FILE       the profile (default host-profile.yaml)\n"
    "  --size S         base size, 1MiB-1GiB (default 64MiB or less: about\n"
    "                   25 S of memory and 12 S of disk are needed)\n"
    "  --runs N         runs pooled, 1-16 (default 2)\n"
    "  --weights-dir D  keep the weight files in D\n"
    "  --shm-dir D      as `thaw exec --shm-dir`\n"
    "\n"
    "exit status: 0 a fit; 1 no database, no exec run, or no usable loads;\n"
    "2 usage error.\n"
    "\n"
    "examples:\n"
    "  thaw exec scenarios/exec-small.yaml --time-scale 1\n"
    "  thaw calibrate\n"
    "  thaw sim scenarios/exec-small.yaml $(thaw calibrate | grep -o -- \"--set '[^']*'\")\n"
    "  thaw calibrate --probe --out host.yaml\n";

/* The node's index in the run's cluster, for the --set keys when the
 * scenario file is gone; -1 unknown. */
static int node_index_of_run(struct res_db *db, int64_t run, const char *node)
{
    struct thaw_err err = {0};
    int idx;
    return res_rows_node_index(db, run, node, &idx, &err) < 0 ? -1 : idx;
}

/* Splits the runs.overrides text ("k=v,k=v", as cli/common.c joins them)
 * back into --set items. A piece that does not start with "key=" belongs to
 * the value before it (a value holding a comma, e.g. a list). */
int cli_overrides_from_text(const char *text, struct cli_overrides *o)
{
    char *copy = strdup(text);
    if (!copy) return -1;
    char *items[128];
    int n = 0;
    for (char *p = strtok(copy, ","); p; p = strtok(NULL, ",")) {
        size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]");
        if (k > 0 && p[k] == '=' && n < 128) {
            items[n++] = p;
        } else if (n > 0) {
            p[-1] = ','; /* rejoin with the item before */
        }
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = cli_overrides_add_set(o, items[i]);
    free(copy);
    return rc;
}

/* Mean lone time of a phase, as core/lone_load.c counts it (cpu phases at
 * one core; a cache hit draws hit_work with its probability). */
static double phase_s(const struct core_phase_spec *p)
{
    double hit = p->cache_hit_probability;
    if (!(hit > 0.0)) return p->work.mean_ns / 1e9;
    if (hit > 1.0) hit = 1.0;
    return (hit * p->hit_work.mean_ns + (1.0 - hit) * p->work.mean_ns) / 1e9;
}

static double mean_phases_s(const struct core_spec *spec)
{
    if (spec->model_count == 0) return 0;
    double sum = 0;
    for (int m = 0; m < spec->model_count; m++)
        for (int i = 0; i < spec->models[m].phase_count; i++)
            sum += phase_s(&spec->models[m].phases[i]);
    return sum / spec->model_count;
}

/* The slowest link below the source on the node: min h2d of its GPUs and
 * the PCIe switch when there is one; INFINITY when none. */
static double link_bps(const struct core_spec *spec, int node)
{
    const struct core_node_spec *n = &spec->nodes[node];
    double bw = INFINITY;
    for (int g = n->first_gpu; g < n->first_gpu + n->gpu_count && g < spec->gpu_count; g++)
        if (spec->gpus[g].h2d_bps < bw) bw = spec->gpus[g].h2d_bps;
    if (n->pcie_switch_bps > 0 && n->pcie_switch_bps < bw) bw = n->pcie_switch_bps;
    return bw;
}

static void fmt(char *buf, size_t len, double v, const char *f)
{
    if (isnan(v) || isinf(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, f, v);
}

/* Prints one node's fits and suggestions; true when any B was fitted. */
static bool report_node(struct res_db *db, int64_t run, const struct core_spec *spec,
                        struct res_calibration *cal, int count)
{
    const char *name = cal[0].node;
    int node = -1;
    if (spec)
        for (int i = 0; i < spec->node_count; i++)
            if (!strcmp(spec->nodes[i].name, name)) node = i;
    /* The key path of the node's entry in the file: for the nodes of a
     * `count: N` entry that is the entry, which --set accepts. */
    int key_index = node >= 0 ? spec->nodes[node].entry : node_index_of_run(db, run, name);
    const struct core_node_spec *ns = node >= 0 ? &spec->nodes[node] : NULL;
    double fixed_cur = NAN, link = INFINITY, phases = 0, warmup = 0;
    if (ns) {
        phases = mean_phases_s(spec);
        warmup = ns->warmup.mean_ns / 1e9;
        fixed_cur = ns->init.mean_ns / 1e9 + warmup + phases;
        link = link_bps(spec, node);
    }

    printf("\nnode %s", name);
    if (key_index >= 0) printf(" (cluster.nodes[%d])", key_index);
    if (spec && !ns) printf(", not in the scenario file: fit only");
    printf("\n  %-8s %5s %5s %5s %10s %9s %9s %6s   %10s %9s\n", "source", "used", "left", "sizes",
           "a (s)", "B GB/s", "B GiB/s", "R^2", "scen. a", "scen. GB/s");

    bool any = false;
    double a_sum = 0;
    int a_n = 0;
    char sets[1024] = "";
    char notes[2048] = "";
    for (int i = 0; i < count; i++) {
        struct res_calibration *c = &cal[i];
        bool shm = c->source == CORE_SRC_SHM;
        double b = c->bandwidth_bps, a = c->a_s;
        const char *mark = "";
        size_t nl = strlen(notes);
        if (!c->ok && c->n_used > 0 && ns) {
            /* Fewer than 2 sizes: no line, but a ratio through the
             * scenario's fixed cost still measures the bandwidth. */
            struct thaw_err err = {0};
            a = fixed_cur;
            if (res_calibration_through(c, a, &b, &err) < 0) b = NAN;
            mark = "*";
            snprintf(notes + nl, sizeof notes - nl,
                     "  * %s: %s: no line; B fitted through the scenario's fixed cost %.3f s\n",
                     shm ? "shm" : "storage", c->n_sizes == 1 ? "one load size only" : "no sizes",
                     a);
        } else if (!c->ok) {
            b = NAN;
            a = NAN;
            snprintf(notes + nl, sizeof notes - nl, "  %s: not enough data (%s)\n",
                     shm ? "shm" : "storage",
                     c->n_used == 0 ? "no load ran alone on the node"
                                    : "one load size only and no scenario to fix a");
        } else if (!(b > 0)) {
            snprintf(notes + nl, sizeof notes - nl,
                     "  %s: the loads did not take longer with size (slope <= 0): no bandwidth\n",
                     shm ? "shm" : "storage");
        }
        double src_cur = ns ? (shm ? ns->shm_read_bps : ns->storage_read_bps) : NAN;
        char sa[32], sb[32], sg[32], sr[32], ca[32], cb[32];
        fmt(sa, sizeof sa, a, "%.3f");
        if (*mark && sa[0] != '-') strcat(sa, mark);
        fmt(sb, sizeof sb, b / 1e9, "%.3f");
        fmt(sg, sizeof sg, b / 1073741824.0, "%.3f");
        fmt(sr, sizeof sr, c->ok ? c->r2 : NAN, "%.4f");
        fmt(ca, sizeof ca, fixed_cur, "%.3f");
        fmt(cb, sizeof cb, src_cur / 1e9, "%.3f");
        printf("  %-8s %5d %5d %5d %10s %9s %9s %6s   %10s %9s\n", shm ? "shm" : "storage",
               c->n_used, c->n_left_out, c->n_sizes, sa, sb, sg, sr, ca, cb);
        if (!(b > 0) || isinf(b)) continue;
        any = true;
        if (c->ok) {
            a_sum += a * c->n_used;
            a_n += c->n_used;
        }
        if (key_index >= 0) {
            size_t used = strlen(sets);
            snprintf(sets + used, sizeof sets - used, "%s--set 'cluster.nodes[%d].%s=%.3fGB/s'",
                     used ? " " : "", key_index, shm ? "shm.read" : "storage_read", b / 1e9);
        }
        nl = strlen(notes);
        if (ns && link < b)
            snprintf(notes + nl, sizeof notes - nl,
                     "  %s: the link (min h2d / pcie switch %.3f GB/s) is below the fitted B: the "
                     "simulator's copy is bound by it; raise h2d too to reach B\n",
                     shm ? "shm" : "storage", link / 1e9);
    }
    fputs(notes, stdout);
    if (a_n > 0 && key_index >= 0) {
        double a = a_sum / a_n;
        double init = a;
        if (ns && (warmup > 0 || phases > 0)) {
            init = a - warmup - phases;
            printf("  init = a - (warmup %.3f s + mean phases %.3f s) = %.3f s\n", warmup, phases,
                   init);
        } else if (!ns) {
            printf("  init = a (no scenario: assuming warmup and phases are 0)\n");
        }
        if (init < 0) {
            printf("  (a is below warmup + phases: init clamped to 0)\n");
            init = 0;
        }
        size_t used = strlen(sets);
        snprintf(sets + used, sizeof sets - used, "%s--set 'cluster.nodes[%d].init=%.3fs'",
                 used ? " " : "", key_index, init);
    }
    if (*sets) printf("  suggested: %s\n", sets);
    return any;
}

static int calibrate(struct res_db *db, int64_t run)
{
    struct res_run_meta r;
    if (res_run_meta_load(db, run, &r, NULL) < 0) {
        fprintf(stderr, "thaw calibrate: no run %lld\n", (long long)run);
        return CLI_EXIT_FAIL;
    }
    printf("%s run %lld: %s, seed %lld, backend %s, %s\n", r.mode, (long long)run, r.scenario,
           r.seed, *r.backend ? r.backend : "-", r.status);
    if (strcmp(r.mode, "exec"))
        printf("note: a %s run: its loads are the simulator's own, so the fit returns the "
               "scenario's values\n",
               r.mode);
    double scale = res_metric_value(db, run, "exec_time_scale");
    if (!isnan(scale) && scale != 1.0)
        printf("warning: the run ran at --time-scale %g: its copies are recorded %gx long, so "
               "the fitted bandwidths read %gx low; calibrate with --time-scale 1\n",
               scale, scale, scale);

    struct core_spec *spec = NULL;
    {
        struct cli_overrides o;
        bool stored = false;
        cli_overrides_init(&o);
        char *full = NULL;
        if (res_run_overrides(db, run, &full, NULL) == 0 && cli_overrides_from_text(full, &o) == 0)
            spec = cli_run_spec_load(db, &r, &o, "calibrate", &stored);
        free(full);
        cli_overrides_free(&o);
        if (!spec)
            printf("scenario %s is not here or does not load, and no copy is stored: printing "
                   "the fit only\n",
                   r.scenario);
        if (spec && *r.overrides)
            printf("scenario values with the run's overrides: %s\n", r.overrides);
    }

    struct res_calibration *cal = NULL;
    int count = 0;
    struct thaw_err err = {0};
    if (res_calibrate(db, run, &cal, &count, &err) < 0) {
        fprintf(stderr, "thaw calibrate: %s\n", err.msg);
        core_spec_free(spec);
        return CLI_EXIT_FAIL;
    }
    int used = 0, left = 0;
    for (int i = 0; i < count; i++) {
        used += cal[i].n_used;
        left += cal[i].n_left_out;
    }
    printf("loads: %d that finished ok ran alone on their node and were used; %d overlapped "
           "another load and were left out\n",
           used, left);
    bool any = false;
    for (int i = 0; i < count;) {
        int j = i;
        while (j < count && !strcmp(cal[j].node, cal[i].node))
            j++;
        if (report_node(db, run, spec, cal + i, j - i)) any = true;
        i = j;
    }
    res_calibration_free(cal, count);
    core_spec_free(spec);
    if (!any) {
        fprintf(stderr, "thaw calibrate: run %lld has no usable loads: %s\n", (long long)run,
                count == 0 ? "no load finished ok"
                           : "no (node, source) had loads alone on the node spanning a fit");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static void fmt_gbps(char *buf, size_t len, double bps)
{
    if (isnan(bps) || isinf(bps))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.3f", bps / 1e9);
}

/* Whether a measured mean is off the scenario's value by more than noise:
 * 5 ms and 2%. */
static bool differs(double measured, double scenario)
{
    double d = fabs(measured - scenario);
    return d > 0.005 && d > 0.02 * fabs(scenario);
}

/* The run's scenario with its overrides, or NULL (nothing printed). */
static struct core_spec *run_spec_quiet(struct res_db *db, int64_t run)
{
    struct res_run_meta r;
    if (res_run_meta_load(db, run, &r, NULL) < 0) return NULL;
    struct core_spec *spec = NULL;
    struct cli_overrides o;
    bool stored = false;
    cli_overrides_init(&o);
    char *full = NULL;
    if (res_run_overrides(db, run, &full, NULL) == 0 && cli_overrides_from_text(full, &o) == 0)
        spec = cli_run_spec_load(db, &r, &o, "calibrate", &stored);
    free(full);
    cli_overrides_free(&o);
    return spec;
}

/* The pooled fit from load_phases over runs[0..n-1] (results/calibrate.c
 * res_calibrate_phases): per node and source, each component with its
 * spread and R^2, a warning on a poor fit, and the overrides by the
 * node's key path in the first run's scenario. */
static int calibrate_phases(struct res_db *db, const int64_t *runs, int n)
{
    struct res_phase_fit *f = NULL;
    int count = 0;
    struct thaw_err err = {0};
    if (res_calibrate_phases(db, runs, n, &f, &count, &err) < 0) {
        printf("load phases: %s\n", err.msg);
        return 0;
    }
    struct core_spec *spec = run_spec_quiet(db, runs[0]);
    printf("\nfrom load_phases, pooled over %d run%s (ok loads, concurrent ones included):\n", n,
           n == 1 ? "" : "s");
    printf("  %-10s %-7s %5s %5s %5s %7s %8s %8s %7s %6s %9s %6s\n", "node", "source", "loads",
           "sizes", "runs", "overlap", "a_s", "B_GB/s", "+-sd", "R^2", "per-load", "R^2");
    char sets[2048] = "";
    bool poor = false;
    for (int i = 0; i < count; i++) {
        const struct res_phase_fit *p = &f[i];
        bool shm = p->source == CORE_SRC_SHM;
        /* The simulator shares a source among its loads (flows): the shared
         * line is what it can take; the per-load one is shown beside it. */
        double b_shared = p->shared ? p->bandwidth_bps : p->other_bandwidth_bps;
        double r_shared = p->shared ? p->r2 : p->other_r2;
        double b_own = p->shared ? p->other_bandwidth_bps : p->bandwidth_bps;
        double r_own = p->shared ? p->other_r2 : p->r2;
        char bs[32], sd[32], bo[32], rs[32], ro[32];
        fmt_gbps(bs, sizeof bs, b_shared);
        fmt_gbps(sd, sizeof sd, p->bw_sd_bps);
        fmt_gbps(bo, sizeof bo, b_own);
        fmt(rs, sizeof rs, r_shared, "%.3f");
        fmt(ro, sizeof ro, r_own, "%.3f");
        printf("  %-10s %-7s %5d %5d %5d %7.2f %8.3f %8s %7s %6s %9s %6s\n", p->node,
               shm ? "shm" : "storage", p->loads, p->sizes, p->runs, p->mean_overlap, p->a_s, bs,
               sd, rs, bo, ro);
        if (p->sizes < 2)
            printf("  %-10s   one load size: B through the origin, no R^2 (loads of other sizes "
                   "fit a line)\n",
                   "");
        char vb[32];
        fmt_gbps(vb, sizeof vb, p->verify_bps);
        printf("  %-10s   init %.3f s (sd %.3f), warmup %.3f s (sd %.3f), alloc %.4f s, verify "
               "%.4f s per load = %s GB/s of checksum\n",
               "", p->init_s, p->init_sd_s, p->warmup_s, p->warmup_sd_s, p->alloc_s, p->verify_s,
               vb);
        if (!isnan(r_shared) && r_shared < 0.9) {
            printf("  warning: %s/%s: R^2 %.3f below 0.9, a poor fit%s\n", p->node,
                   shm ? "shm" : "storage", r_shared,
                   !isnan(r_own) && r_own > r_shared
                       ? "; each load has its own pipe here (per-load line fits "
                         "better), which the simulator does not model"
                       : "");
            poor = true;
        }
        int key = -1;
        const struct core_node_spec *ns = NULL;
        for (int k = 0; spec && k < spec->node_count; k++)
            if (!strcmp(spec->nodes[k].name, p->node)) {
                key = spec->nodes[k].entry;
                ns = &spec->nodes[k];
            }
        if (key < 0) key = node_index_of_run(db, runs[0], p->node);
        if (key >= 0 && p->verify_bps > 0 && !strstr(sets, "].verify=")) {
            size_t u = strlen(sets);
            snprintf(sets + u, sizeof sets - u, "%s--set 'cluster.nodes[%d].verify=%.3fGB/s'",
                     u ? " " : "", key, p->verify_bps / 1e9);
        }
        if (key < 0 || !(b_shared > 0) || isinf(b_shared)) continue;
        size_t used = strlen(sets);
        snprintf(sets + used, sizeof sets - used, "%s--set 'cluster.nodes[%d].%s=%.3fGB/s'",
                 used ? " " : "", key, shm ? "shm.read" : "storage_read", b_shared / 1e9);
        /* Shm loads that overlapped and kept their own rate: one core each
         * (the host backend), which shm.per_load models. */
        if (shm && p->mean_overlap > 1.05 && !isnan(r_own) && r_own > r_shared && b_own > 0 &&
            !isinf(b_own)) {
            used = strlen(sets);
            snprintf(sets + used, sizeof sets - used,
                     " --set 'cluster.nodes[%d].shm.per_load=%.3fGB/s'", key, b_own / 1e9);
        }
        /* The executor sleeps the scenario's own init and warm-up: they are
         * suggested only where the run paid clearly more (or less) than the
         * scenario says (or where there is no scenario to compare with). */
        double init = p->init_s + (isnan(p->alloc_s) ? 0 : p->alloc_s);
        if (!isnan(init) && !strstr(sets, "].init=") &&
            (!ns || differs(init, ns->init.mean_ns / 1e9))) {
            used = strlen(sets);
            snprintf(sets + used, sizeof sets - used, " --set 'cluster.nodes[%d].init=%.3fs'", key,
                     init);
        }
        if (!isnan(p->warmup_s) && !strstr(sets, "].warmup=") &&
            (!ns || differs(p->warmup_s, ns->warmup.mean_ns / 1e9))) {
            used = strlen(sets);
            snprintf(sets + used, sizeof sets - used, " --set 'cluster.nodes[%d].warmup=%.3fs'",
                     key, p->warmup_s);
        }
    }
    if (*sets) printf("  suggested: %s\n", sets);
    if (poor) printf("  (a poor fit: more runs, or loads of more sizes, narrow it)\n");
    core_spec_free(spec);
    free(f);
    return count;
}

static int calibrate_run(int argc, char **argv)
{
    const char *db_path = CLI_DEFAULT_DB;
    const char *sels[64];
    int n_sel = 0;
    const char *sel = NULL;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--probe")) return cli_calibrate_probe(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--db")) {
            if (i + 1 >= argc) return cli_usage_error("calibrate", "--db needs a value");
            db_path = argv[++i];
        } else if (opt[0] == '-' && opt[1]) {
            return cli_usage_error("calibrate", "unknown option %s", opt);
        } else if (n_sel == 64) {
            return cli_usage_error("calibrate", "at most 64 runs");
        } else {
            sels[n_sel++] = opt;
        }
    }
    if (n_sel > 0) sel = sels[0];
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "thaw calibrate: no results database at %s\n", db_path);
        return CLI_EXIT_FAIL;
    }
    struct res_db *db = NULL;
    struct thaw_err err = {0};
    if (res_open(db_path, &db, &err) < 0) {
        fprintf(stderr, "thaw calibrate: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    int64_t run;
    int rc = sel ? res_resolve_run(db, sel, &run, &err)
                 : res_latest_run_of_mode(db, "exec", NULL, &run, &err);
    if (rc < 0) {
        fprintf(stderr, "thaw calibrate: %s\n", err.msg);
        res_close(db);
        return CLI_EXIT_FAIL;
    }
    int64_t runs[64];
    runs[0] = run;
    for (int i = 1; i < n_sel; i++) {
        if (res_resolve_run(db, sels[i], &runs[i], &err) < 0) {
            fprintf(stderr, "thaw calibrate: %s\n", err.msg);
            res_close(db);
            return CLI_EXIT_FAIL;
        }
    }
    int n_runs = n_sel > 0 ? n_sel : 1;
    if (n_runs == 1) {
        rc = calibrate(db, run);
        calibrate_phases(db, runs, 1);
    } else {
        for (int i = 0; i < n_runs; i++) {
            struct res_run_meta r;
            if (res_run_meta_load(db, runs[i], &r, NULL) == 0)
                printf("%s run %lld: %s, seed %lld, backend %s, %s\n", r.mode, (long long)runs[i],
                       r.scenario, r.seed, *r.backend ? r.backend : "-", r.status);
        }
        rc = calibrate_phases(db, runs, n_runs) > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        if (rc != CLI_EXIT_OK)
            fprintf(stderr, "thaw calibrate: none of the %d runs has load phases of an ok load\n",
                    n_runs);
    }
    res_close(db);
    return rc;
}

const struct cli_command cli_cmd_calibrate = {
    "calibrate",
    "fit init and bandwidths to an exec run's loads; prints --set lines",
    calibrate_usage,
    calibrate_run,
};

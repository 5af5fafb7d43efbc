/* cmd_check.c - `thaw check SCENARIO...`: loads each scenario (with --set and
 * --policy overrides) and prints a normalized summary: cluster totals, each
 * model entry with its sizes and expected lone load time, the policy in
 * effect with every default filled in. Values are printed in the scenario
 * language's own units, so any line can be pasted back into a file. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "14GiB", "140GB", "1.5GiB": exact binary or decimal units when they
 * divide the value, else three significant decimals in binary units. */
static void fmt_bytes(uint64_t b, const char *suffix, char *buf, size_t len)
{
    static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    static const char *const dec[] = {"B", "KB", "MB", "GB", "TB"};
    if (b == 0) {
        snprintf(buf, len, "0%s%s", "B", suffix);
        return;
    }
    for (int u = 4; u >= 1; u--) {
        uint64_t p2 = 1ULL << (10 * u), p10 = 1;
        for (int i = 0; i < u; i++)
            p10 *= 1000;
        if (b % p2 == 0 && b / p2 < 100000) {
            snprintf(buf, len, "%" PRIu64 "%s%s", b / p2, bin[u], suffix);
            return;
        }
        if (b % p10 == 0 && b / p10 < 100000) {
            snprintf(buf, len, "%" PRIu64 "%s%s", b / p10, dec[u], suffix);
            return;
        }
    }
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    snprintf(buf, len, "%.3g%s%s", v, bin[u], suffix);
}

static void fmt_bw(double bps, char *buf, size_t len)
{
    if (bps >= 0 && bps < 1.8e19 && bps == (double)(uint64_t)bps)
        fmt_bytes((uint64_t)bps, "/s", buf, len);
    else
        snprintf(buf, len, "%.3gB/s", bps);
}

/* "30s", "1.5s", "100ms", "5m", "2h". */
static void fmt_ns(int64_t ns, char *buf, size_t len)
{
    const int64_t s = 1000000000;
    if (ns == 0)
        snprintf(buf, len, "0s");
    else if (ns % (3600 * s) == 0)
        snprintf(buf, len, "%" PRId64 "h", ns / (3600 * s));
    else if (ns % (60 * s) == 0)
        snprintf(buf, len, "%" PRId64 "m", ns / (60 * s));
    else if (ns >= s)
        snprintf(buf, len, "%.4gs", (double)ns / 1e9);
    else if (ns >= 1000000)
        snprintf(buf, len, "%.4gms", (double)ns / 1e6);
    else if (ns >= 1000)
        snprintf(buf, len, "%.4gus", (double)ns / 1e3);
    else
        snprintf(buf, len, "%" PRId64 "ns", ns);
}

static void fmt_dist(const struct core_dist *d, char *buf, size_t len)
{
    char a[32], b[32];
    fmt_ns(d->mean_ns, a, sizeof a);
    switch (d->kind) {
    case CORE_DIST_FIXED:
        snprintf(buf, len, "%s", a);
        break;
    case CORE_DIST_EXP:
        snprintf(buf, len, "{dist: exponential, mean: %s}", a);
        break;
    case CORE_DIST_LOGNORMAL:
        snprintf(buf, len, "{dist: lognormal, mean: %s, cv: %g}", a, d->cv);
        break;
    case CORE_DIST_GAMMA:
        snprintf(buf, len, "{dist: gamma, mean: %s, cv: %g}", a, d->cv);
        break;
    case CORE_DIST_UNIFORM:
        fmt_ns(d->lo_ns, a, sizeof a);
        fmt_ns(d->hi_ns, b, sizeof b);
        snprintf(buf, len, "{dist: uniform, min: %s, max: %s}", a, b);
        break;
    }
}

static const char *priority_name(int p)
{
    switch (p) {
    case 3:
        return "critical";
    case 2:
        return "high";
    case 1:
        return "normal";
    case 0:
        return "low";
    }
    return NULL;
}

static const char *standby_name(enum core_standby s)
{
    return s == CORE_STANDBY_SLEEP  ? "sleep"
           : s == CORE_STANDBY_HOT  ? "hot"
           : s == CORE_STANDBY_WARM ? "warm"
                                    : "cold";
}

static void print_cluster(const struct core_spec *spec)
{
    uint64_t vram = 0, shm = 0;
    double storage = 0;
    for (int g = 0; g < spec->gpu_count; g++)
        vram += spec->gpus[g].vram_bytes;
    for (int n = 0; n < spec->node_count; n++) {
        storage += spec->nodes[n].storage_read_bps;
        shm += spec->nodes[n].shm_bytes;
    }
    char a[48], b[48], c[48];
    fmt_bytes(vram, "", a, sizeof a);
    fmt_bw(storage, b, sizeof b);
    fmt_bytes(shm, "", c, sizeof c);
    printf("cluster: %d node%s, %d GPU%s, %s VRAM, storage %s in all, shm %s\n", spec->node_count,
           spec->node_count == 1 ? "" : "s", spec->gpu_count, spec->gpu_count == 1 ? "" : "s", a, b,
           c);
    for (int k = 0; k < spec->store_count; k++) {
        fmt_bw(spec->stores[k].read_bps, a, sizeof a);
        printf("  store %s: read %s, shared by every node\n", spec->stores[k].name, a);
    }
    /* One line per node, except that a run of identical nodes (a count:
     * entry) is printed once with its range. */
    for (int n = 0; n < spec->node_count;) {
        const struct core_node_spec *nd = &spec->nodes[n];
        const struct core_gpu_spec *g0 = &spec->gpus[nd->first_gpu];
        int same = 1;
        while (n + same < spec->node_count && spec->nodes[n + same].gpu_count == nd->gpu_count &&
               spec->gpus[spec->nodes[n + same].first_gpu].vram_bytes == g0->vram_bytes &&
               spec->nodes[n + same].storage_read_bps == nd->storage_read_bps &&
               spec->nodes[n + same].shm_bytes == nd->shm_bytes && same < 1000000)
            same++;
        bool uniform = true;
        for (int g = 1; g < nd->gpu_count; g++)
            if (spec->gpus[nd->first_gpu + g].vram_bytes != g0->vram_bytes ||
                spec->gpus[nd->first_gpu + g].h2d_bps != g0->h2d_bps)
                uniform = false;
        char name[160];
        if (same > 1)
            snprintf(name, sizeof name, "%s .. %s (%d nodes)", nd->name,
                     spec->nodes[n + same - 1].name, same);
        else
            snprintf(name, sizeof name, "%s", nd->name);
        fmt_bytes(g0->vram_bytes, "", a, sizeof a);
        fmt_bw(g0->h2d_bps, b, sizeof b);
        printf("  node %s: %d GPU%s x %s%s, h2d %s", name, nd->gpu_count,
               nd->gpu_count == 1 ? "" : "s", a, uniform ? "" : " (first; GPUs differ)", b);
        fmt_bw(nd->storage_read_bps, a, sizeof a);
        printf(", storage_read %s", a);
        if (nd->pcie_switch_bps > 0) {
            fmt_bw(nd->pcie_switch_bps, a, sizeof a);
            printf(", pcie_switch %s", a);
        }
        if (nd->shm_bytes) {
            fmt_bytes(nd->shm_bytes, "", a, sizeof a);
            fmt_bw(nd->shm_read_bps, b, sizeof b);
            fmt_bw(nd->shm_write_bps, c, sizeof c);
            printf(", shm {size: %s, read: %s, write: %s}", a, b, c);
        }
        if (nd->network_bps > 0) {
            fmt_bw(nd->network_bps, a, sizeof a);
            printf(", network %s", a);
        }
        if (nd->nvlink_bps > 0) {
            fmt_bw(nd->nvlink_bps, a, sizeof a);
            printf(", nvlink %s", a);
        }
        if (nd->disk_bytes) {
            fmt_bytes(nd->disk_bytes, "", a, sizeof a);
            fmt_bw(nd->disk_read_bps, b, sizeof b);
            fmt_bw(nd->disk_write_bps, c, sizeof c);
            printf(", disk_cache {size: %s, read: %s, write: %s, admission: %s%s}", a, b, c,
                   nd->disk_admission[0] ? nd->disk_admission : "lru",
                   nd->disk_survives_restart ? ", survives_restart" : "");
        }
        if (nd->cpu_cores) printf(", cpu_cores %d", nd->cpu_cores);
        char d1[96], d2[96];
        fmt_dist(&nd->init, d1, sizeof d1);
        fmt_dist(&nd->warmup, d2, sizeof d2);
        printf(", init %s, warmup %s\n", d1, d2);
        n += same;
    }
}

/* The fastest and slowest lone load from storage over the GPUs the model fits. */
static void lone_loads(const struct core_spec *spec, int m, char *buf, size_t len)
{
    int64_t best = -1, worst = -1;
    int best_gpu = -1, worst_gpu = -1;
    for (int g = 0; g < spec->gpu_count; g++) {
        /* a tp K model: its 1/K share on each GPU of a gang on this node */
        if (spec->gpus[g].vram_bytes < core_model_share_bytes(&spec->models[m])) continue;
        if (core_model_tp(&spec->models[m]) > 1 &&
            spec->nodes[spec->gpus[g].node].gpu_count < core_model_tp(&spec->models[m]))
            continue;
        int64_t t = core_spec_lone_load_ns(spec, m, g, false);
        if (t < 0) continue;
        if (best < 0 || t < best) best = t, best_gpu = g;
        if (worst < 0 || t > worst) worst = t, worst_gpu = g;
    }
    if (best_gpu < 0) {
        snprintf(buf, len, "no GPU fits");
        return;
    }
    char a[32], b[32];
    fmt_ns(best, a, sizeof a);
    if (worst == best) {
        snprintf(buf, len, "%s on %s", a, spec->gpus[best_gpu].name);
    } else {
        fmt_ns(worst, b, sizeof b);
        snprintf(buf, len, "%s on %s .. %s on %s", a, spec->gpus[best_gpu].name, b,
                 spec->gpus[worst_gpu].name);
    }
}

static void print_models(const struct core_spec *spec)
{
    printf("models: %d\n", spec->model_count);
    /* Models of one `count:` entry are identical but for their names (and
     * placement): one line per entry. Lone loads cost models x GPUs calls;
     * past 10 million they are skipped. */
    int groups = 0;
    for (int m = 0; m < spec->model_count; m++)
        if (m == 0 || strcmp(spec->models[m].group, spec->models[m - 1].group)) groups++;
    bool with_loads = (double)groups * spec->gpu_count <= 1e7;
    for (int m = 0; m < spec->model_count;) {
        const struct core_model_spec *ms = &spec->models[m];
        int same = 1;
        while (m + same < spec->model_count && !strcmp(spec->models[m + same].group, ms->group) &&
               strcmp(spec->models[m + same].name, spec->models[m + same].group))
            same++;
        char name[200], w[48], v[48], pr[32], load[256], dl[32];
        if (same > 1)
            snprintf(name, sizeof name, "%s .. %s (%d models)", ms->name,
                     spec->models[m + same - 1].name, same);
        else
            snprintf(name, sizeof name, "%s", ms->name);
        fmt_bytes(ms->weights_bytes, "", w, sizeof w);
        fmt_bytes(ms->vram_bytes, "", v, sizeof v);
        if (priority_name(ms->priority))
            snprintf(pr, sizeof pr, "%s", priority_name(ms->priority));
        else
            snprintf(pr, sizeof pr, "%d", ms->priority);
        printf("  %s: weights %s, vram %s, priority %s, replicas %d..%d, standby %s", name, w, v,
               pr, ms->replicas_min, ms->replicas_max, standby_name(ms->standby));
        if (ms->deadline_ns) {
            fmt_ns(ms->deadline_ns, dl, sizeof dl);
            printf(", deadline %s", dl);
        }
        if (ms->preload_to_shm) printf(", preload_to_shm");
        if (core_model_tp(ms) > 1) {
            char sh[48];
            fmt_bytes(core_model_share_bytes(ms), "", sh, sizeof sh);
            printf(", tp %d (%s VRAM per GPU)", ms->tp, sh);
        }
        if (ms->store >= 1 && ms->store <= spec->store_count)
            printf(", store %s", spec->stores[ms->store - 1].name);
        if (ms->phase_count)
            printf(", %d phase%s", ms->phase_count, ms->phase_count == 1 ? "" : "s");
        if (ms->initial_gpu_count) {
            printf(", placed on");
            int shown = 0;
            for (int k = 0; k < same && shown < 8; k++)
                for (int i = 0; i < spec->models[m + k].initial_gpu_count && shown < 8;
                     i++, shown++)
                    printf("%s %s", shown ? "," : "",
                           spec->gpus[spec->models[m + k].initial_gpus[i]].name);
            if (shown == 8) printf(", ...");
        }
        if (ms->weights_path) printf(", path %s", ms->weights_path);
        if (with_loads) {
            lone_loads(spec, m, load, sizeof load);
            printf("\n    lone load from storage: %s", load);
        }
        printf("\n");
        m += same;
    }
}

struct preset_out {
    const char *path;
    int index;
    bool header;
};

static void preset_line(void *ctx, const char *text)
{
    struct preset_out *o = ctx;
    if (!o->header) printf("%s%s (presets)\n", o->index ? "\n" : "", o->path);
    o->header = true;
    printf("  %s\n", text);
}

/* A presets file (scenarios/presets.yaml or a user's): every preset it
 * holds, expanded. 1: not a presets file (check it as a scenario). */
static int check_presets_file(const char *path, int i)
{
    struct core_diags diags;
    core_diags_init(&diags);
    struct preset_out o = {path, i, false};
    int rc = core_presets_describe(path, preset_line, &o, &diags);
    for (int k = 0; k < diags.count; k++) {
        char line[1200];
        core_diag_format(&diags.items[k], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    core_diags_free(&diags);
    return rc;
}

/* What each preset (gpu:, params + dtype, engine:) expanded to. */
static void print_presets(const struct core_spec *spec)
{
    if (spec->preset_note_count == 0) return;
    printf("presets: %d used\n", spec->preset_note_count);
    for (int i = 0; i < spec->preset_note_count; i++)
        printf("  %s\n", spec->preset_notes[i]);
}

static void print_policy(const struct core_policy_spec *p)
{
    char a[32], b[32];
    fmt_ns(p->keep_alive_ns, a, sizeof a);
    printf("policy: queue %s, aging %g/s, placement %s, eviction %s, keep_alive %s, shm %s, "
           "balancer %s,\n",
           p->queue, p->aging_per_s, p->placement, p->eviction, a, p->shm, p->balancer);
    if (p->autoscale) {
        fmt_ns(p->autoscale_period_ns, b, sizeof b);
        printf("        autoscaler {target: %g, max_step: %d, period: %s},", p->autoscale_target,
               p->autoscale_max_step, b);
    } else {
        printf("        autoscaler off,");
    }
    printf(" max_loads_per_node %d%s, max_loads_per_gpu %d%s\n", p->max_loads_per_node,
           p->max_loads_per_node ? "" : " (unlimited)", p->max_loads_per_gpu,
           p->max_loads_per_gpu ? "" : " (unlimited)");
    if (p->peer) printf("        peer on (loads may copy from a READY peer)\n");
}

static void print_rest(const struct core_spec *spec)
{
    int64_t requests = 0;
    int poisson = 0;
    for (int i = 0; i < spec->workload_count; i++) {
        const struct core_workload_spec *w = &spec->workloads[i];
        if (w->arrivals == CORE_ARRIVAL_POISSON) poisson++;
        requests += w->time_count;
        for (int b = 0; b < w->burst_count; b++)
            requests += w->bursts[b].count;
    }
    if (spec->workload_count == 0)
        printf("workload: none");
    else
        printf("workload: %d model workload%s", spec->workload_count,
               spec->workload_count == 1 ? "" : "s");
    if (requests) printf(", %" PRId64 " scheduled request%s", requests, requests == 1 ? "" : "s");
    if (poisson) printf(", %d poisson", poisson);
    printf("\nfaults: %d", spec->fault_count);
    for (int i = 0; i < spec->fault_count && i < 8; i++) {
        const struct core_fault_spec *f = &spec->faults[i];
        char t[32];
        fmt_ns(f->at_ns >= 0 ? f->at_ns : f->mtbf_ns, t, sizeof t);
        printf("%s %s %s %s %s", i ? "," : ":", f->target == CORE_FAULT_GPU ? "gpu" : "node",
               f->target == CORE_FAULT_GPU ? spec->gpus[f->gpu].name : spec->nodes[f->node].name,
               f->at_ns >= 0 ? "at" : "mtbf", t);
        if (f->recover_after_ns) {
            fmt_ns(f->recover_after_ns, t, sizeof t);
            printf(" recover_after %s", t);
        }
    }
    if (spec->fault_count > 8) printf(", ...");
    char d[32];
    fmt_ns(spec->duration_ns, d, sizeof d);
    printf("\nrun: duration %s, seed %" PRIu64 "\n",
           spec->duration_ns ? d : "0 (until no event is left)", spec->seed);
}

static int run(int argc, char **argv)
{
    struct cli_overrides ovr;
    cli_overrides_init(&ovr);
    const char **files = calloc((size_t)argc, sizeof *files);
    int nfiles = 0, rc = CLI_EXIT_OK;
    if (!files) {
        fprintf(stderr, "thaw check: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && !strcmp(a, "--")) {
            opts_done = true;
        } else if (!opts_done && (!strcmp(a, "--set") || !strcmp(a, "--policy"))) {
            if (i + 1 >= argc) {
                rc = cli_usage_error("check", "%s needs a value", a);
                goto out;
            }
            int r = a[2] == 's' ? cli_overrides_add_set(&ovr, argv[++i])
                                : cli_overrides_add_policy(&ovr, argv[++i]);
            if (r < 0) {
                rc = CLI_EXIT_USAGE;
                goto out;
            }
        } else if (!opts_done && (!strncmp(a, "--set=", 6) || !strncmp(a, "--policy=", 9))) {
            int r = a[2] == 's' ? cli_overrides_add_set(&ovr, a + 6)
                                : cli_overrides_add_policy(&ovr, a + 9);
            if (r < 0) {
                rc = CLI_EXIT_USAGE;
                goto out;
            }
        } else if (!opts_done && a[0] == '-' && a[1]) {
            rc = cli_usage_error("check", "unknown option '%s'", a);
            goto out;
        } else {
            files[nfiles++] = a;
        }
    }
    if (nfiles == 0) {
        rc = cli_usage_error("check", "no scenario given");
        goto out;
    }
    for (int i = 0; i < nfiles; i++) {
        int prc = check_presets_file(files[i], i);
        if (prc == 0) continue;
        if (prc < 0) {
            rc = CLI_EXIT_FAIL;
            continue;
        }
        struct core_spec *spec = cli_load_spec(files[i], &ovr);
        if (!spec) {
            rc = CLI_EXIT_FAIL;
            continue;
        }
        printf("%s%s (sha256 %.16s)\n", i ? "\n" : "", spec->path, spec->sha256_hex);
        if (ovr.count) printf("overrides: %s\n", ovr.text);
        print_cluster(spec);
        print_models(spec);
        print_policy(&spec->policy);
        print_rest(spec);
        print_presets(spec);
        core_spec_free(spec);
    }
out:
    free(files);
    cli_overrides_free(&ovr);
    return rc;
}

const struct cli_command cli_cmd_check = {
    "check",
    "validate scenarios and print what they describe",
    "usage: thaw check [--set KEY=VALUE]... [--policy K=V[,K=V...]]... SCENARIO...\n"
    "\n"
    "Loads and validates each scenario file. A valid one prints a normalized\n"
    "summary: cluster totals and nodes, each model entry with its weights, VRAM\n"
    "footprint, priority, replicas and expected lone load time from storage\n"
    "(fastest .. slowest GPU it fits; init + phases + copy + warm-up, nothing\n"
    "else loading), the policy in effect with defaults filled in, workloads,\n"
    "faults and run settings. An invalid one prints every error as\n"
    "FILE:LINE:COLUMN: KEY.PATH: what was expected, what was found.\n"
    "\n"
    "options:\n"
    "  --set KEY=VALUE      change one value before validation, e.g.\n"
    "                       --set models[0].count=2 --set cluster.nodes[0].gpus=4\n"
    "                       (repeatable; VALUE is a YAML scalar or flow value)\n"
    "  --policy K=V,...     shorthand for --set policy.K=V, e.g.\n"
    "                       --policy queue=priority,shm=preload\n"
    "  -h, --help           show this help\n"
    "\n"
    "exit status: 0 every scenario is valid, 1 at least one is not, 2 usage error.\n"
    "The scenario language is described in scenarios/README.md.\n",
    run,
};

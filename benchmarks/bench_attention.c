/* bench_attention.c - the attention variants of tfm_attention.h on random Q, K, V.

   tfm-bench attention --variant V --seq N [--heads 8 --kv-heads 2 --head-dim 64 --causal --threads T --csv]
       V in dense flash window:W bigbird:B,G,W,R linformer:K linear. One full prefill pass (n queries
       against n keys): ms (best of reps), peak_mb, and where the work is a pair of matrix products
       (dense, flash, window, bigbird, linformer) GFLOP/s and its share of the FMA peak.
   tfm-bench attention --scaling [--max-seq 16384]
       n = 256 .. max-seq (d 64, 8 heads, 2 kv heads, causal; linformer bidirectional, k = 256): each
       variant's time and memory, and the least-squares exponent of time vs n on log-log axes. Dense is
       skipped above n = 4096, where its n x n scores per thread pass 64 MiB and a run takes seconds.
   tfm-bench attention --decode --seq 16384
       one decode step (flash) over a cache of seq f32 tokens: bytes of K and V read per second vs the
       measured read bandwidth. Cold: the step rotates over enough caches (>= 1 GiB in all) that each
       one comes from memory, not from the 260 MiB-class L3 of a server part: median and best step;
       warm: the same cache again (best step).

   FLOPs counted: 4 * head_dim * heads per visible (query, key) pair (2 d for the score, 2 d for P V):
   only the unmasked pairs, so a causal pass counts n (n + 1) / 2 pairs. Linformer adds its two
   projections (2 * 2 k n kv_heads d); linear attention counts its state updates and reads (per token:
   2 d^2 per kv head, 2 d^2 + 3 d per query head). peak_mb is measured, not computed: the workspace is
   filled with a pattern before the pass and peak_mb counts the 64-byte lines the pass wrote (the
   library allocates nothing else when given a workspace); MB = 10^6 bytes. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t att_rng = 0x2545F4914F6CDD1Dull;

static void att_fill(float *x, size_t n, float scale)
{
    size_t i;
    for (i = 0; i < n; i++) {
        att_rng ^= att_rng << 13;
        att_rng ^= att_rng >> 7;
        att_rng ^= att_rng << 17;
        x[i] = scale * (float)((double)(att_rng >> 40) / 8388608.0 - 1.0);
    }
}

static float *att_array(size_t n, float scale)
{
    float *x = (float *)malloc(n * sizeof(float));
    if (x) att_fill(x, n, scale);
    return x;
}

/* visible (query, key) pairs of a full prefill of n tokens */
static double att_pairs(const tfm_attn_config *cfg, int n)
{
    double pairs = 0;
    int i;
    if (cfg->kind == TFM_ATTN_WINDOW) {
        for (i = 0; i < n; i++) {
            int lo = i - cfg->window + 1, hi = cfg->causal ? i + 1 : i + cfg->window;
            if (lo < 0) lo = 0;
            if (hi > n) hi = n;
            pairs += hi - lo;
        }
        return pairs;
    }
    if (cfg->kind == TFM_ATTN_BIGBIRD) {
        int nb = tfm_attn_bigbird_blocks(cfg, n), b = cfg->bigbird.block, I, J;
        unsigned char *mask = (unsigned char *)malloc((size_t)nb * nb);
        if (!mask || tfm_attn_bigbird_mask(cfg, n, mask, (size_t)nb * nb) != TFM_OK) {
            free(mask);
            return NAN;
        }
        for (I = 0; I < nb; I++)
            for (J = 0; J < nb; J++) {
                int q0 = I * b, q1 = q0 + b < n ? q0 + b : n, k0 = J * b, k1 = k0 + b < n ? k0 + b : n, q;
                if (!mask[(size_t)I * nb + J]) continue;
                for (q = q0; q < q1; q++) {
                    int hi = cfg->causal && q + 1 < k1 ? q + 1 : k1;
                    if (hi > k0) pairs += hi - k0;
                }
            }
        free(mask);
        return pairs;
    }
    if (cfg->kind == TFM_ATTN_LINFORMER) return (double)n * cfg->linformer.k;
    return cfg->causal ? 0.5 * (double)n * (n + 1) : (double)n * n;
}

static double att_flops(const tfm_attn_config *cfg, int n)
{
    double d = cfg->head_dim;
    if (cfg->kind == TFM_ATTN_LINEAR)
        return (double)n * (cfg->n_kv_heads * 2 * d * d + cfg->n_heads * (2 * d * d + 3 * d));
    if (cfg->kind == TFM_ATTN_LINFORMER)
        return 4 * d * cfg->n_heads * att_pairs(cfg, n) + 4.0 * cfg->linformer.k * n * cfg->n_kv_heads * d;
    return 4 * d * cfg->n_heads * att_pairs(cfg, n);
}

typedef struct att_case {
    tfm_attn_config cfg;
    int n;
    float *q, *k, *v, *out, *e, *f;
    unsigned char *ws;
    size_t ws_bytes;
    tfm_status status;
} att_case;

static void att_pass(void *ctx)
{
    att_case *c = (att_case *)ctx;
    c->status = tfm_attn_prefill(&c->cfg, c->out, c->q, c->k, c->v, 1, c->n, c->n, 0, NULL, c->ws, c->ws_bytes);
}

static void att_case_free(att_case *c)
{
    free(c->q);
    free(c->k);
    free(c->v);
    free(c->out);
    free(c->e);
    free(c->f);
    free(c->ws);
    memset(c, 0, sizeof *c);
}

/* Sets up a prefill of n tokens; 0 (after a message) if the variant or the memory is refused. */
static int att_case_init(att_case *c, const char *variant, int n, int heads, int kv_heads, int head_dim, int causal,
                         int threads)
{
    tfm_error err;
    size_t nq = (size_t)n * heads * head_dim, nk = (size_t)n * kv_heads * head_dim;
    memset(c, 0, sizeof *c);
    tfm_attn_config_init(&c->cfg, TFM_ATTN_FLASH, heads, kv_heads, head_dim);
    c->cfg.causal = causal;
    c->cfg.n_threads = threads;
    c->n = n;
    if (tfm_attn_config_parse(&c->cfg, variant, &err) != TFM_OK) {
        fprintf(stderr, "tfm-bench attention: %s\n", err.message);
        return 0;
    }
    if (c->cfg.kind == TFM_ATTN_LINFORMER) {
        c->cfg.linformer.n = n;
        c->e = att_array((size_t)c->cfg.linformer.k * n, 1.0f / sqrtf((float)n));
        c->f = att_array((size_t)c->cfg.linformer.k * n, 1.0f / sqrtf((float)n));
        c->cfg.linformer.e = c->e;
        c->cfg.linformer.f = c->f;
    }
    if (tfm_attn_config_check(&c->cfg, &err) != TFM_OK) {
        fprintf(stderr, "tfm-bench attention: %s\n", err.message);
        att_case_free(c);
        return 0;
    }
    if (tfm_attn_workspace_size(&c->cfg, n, n, &c->ws_bytes) != TFM_OK) {
        fprintf(stderr, "tfm-bench attention: no workspace size for %s at n=%d\n", variant, n);
        att_case_free(c);
        return 0;
    }
    c->q = att_array(nq, 1.0f);
    c->k = att_array(nk, 1.0f);
    c->v = att_array(nk, 1.0f);
    c->out = (float *)malloc(nq * sizeof(float));
    c->ws = (unsigned char *)malloc(c->ws_bytes);
    if (!c->q || !c->k || !c->v || !c->out || !c->ws) {
        fprintf(stderr, "tfm-bench attention: out of memory for %s at n=%d\n", variant, n);
        att_case_free(c);
        return 0;
    }
    return 1;
}

/* One pass on a patterned workspace: MB of the 64-byte lines it wrote. */
static double att_touched_mb(att_case *c)
{
    static const unsigned char pattern = 0xA5;
    size_t i, j, lines = 0;
    memset(c->ws, pattern, c->ws_bytes);
    att_pass(c);
    for (i = 0; i < c->ws_bytes; i += 64) {
        size_t end = i + 64 < c->ws_bytes ? i + 64 : c->ws_bytes;
        for (j = i; j < end; j++)
            if (c->ws[j] != pattern) {
                lines++;
                break;
            }
    }
    return (double)lines * 64 * 1e-6;
}

typedef struct att_result {
    double seconds, peak_mb, gflops;
    int ok;
} att_result;

static att_result att_measure(const char *variant, int n, int heads, int kv_heads, int head_dim, int causal, int threads,
                              int min_reps, double min_seconds)
{
    att_case c;
    att_result r;
    memset(&r, 0, sizeof r);
    r.seconds = r.peak_mb = r.gflops = NAN;
    if (!att_case_init(&c, variant, n, heads, kv_heads, head_dim, causal, threads)) return r;
    r.peak_mb = att_touched_mb(&c);
    if (c.status == TFM_OK) r.seconds = bench_best(att_pass, &c, min_reps, min_seconds);
    if (c.status != TFM_OK) {
        fprintf(stderr, "tfm-bench attention: %s at n=%d: %s\n", variant, n, tfm_status_string(c.status));
    } else {
        r.ok = 1;
        r.gflops = att_flops(&c.cfg, n) / r.seconds * 1e-9;
    }
    att_case_free(&c);
    return r;
}

static int att_is_matmul(const char *variant) { return strcmp(variant, "linear") != 0; }

/* ---------------------------------------------------------------- one variant */

/* header: print the column names before the first row */
static int att_variant(int argc, char **argv, const int *threads, int n_threads, int csv, int header)
{
    const char *variant = bench_arg_str(argc, argv, "--variant", "flash");
    int n = (int)bench_arg_int(argc, argv, "--seq", 4096), heads = (int)bench_arg_int(argc, argv, "--heads", 8);
    int kv_heads = (int)bench_arg_int(argc, argv, "--kv-heads", 2), head_dim = (int)bench_arg_int(argc, argv, "--head-dim", 64);
    int causal = bench_flag(argc, argv, "--causal"), i;
    double seconds = bench_arg_num(argc, argv, "--seconds", 0.5);
    if (n <= 0 || heads <= 0 || kv_heads <= 0 || head_dim <= 0) {
        fprintf(stderr, "tfm-bench attention: --seq, --heads, --kv-heads and --head-dim must be positive\n");
        return 2;
    }
    for (i = 0; i < n_threads; i++) {
        bench_row row;
        att_result r = att_measure(variant, n, heads, kv_heads, head_dim, causal, threads[i], 3, seconds);
        const bench_ceiling *ceil = bench_ceiling_get(threads[i]);
        if (!r.ok) return 1;
        bench_row_init(&row);
        bench_row_str(&row, "variant", variant);
        bench_row_int(&row, "seq", n);
        bench_row_int(&row, "heads", heads);
        bench_row_int(&row, "kv_heads", kv_heads);
        bench_row_int(&row, "head_dim", head_dim);
        bench_row_int(&row, "causal", causal);
        bench_row_int(&row, "threads", threads[i]);
        bench_row_num(&row, "ms", r.seconds * 1e3, 3);
        bench_row_num(&row, "peak_mb", r.peak_mb, 3);
        bench_row_num(&row, "gflops", att_is_matmul(variant) ? r.gflops : NAN, 1);
        bench_row_num(&row, "peak_gflops", ceil->fma_gflops, 1);
        bench_row_num(&row, "pct_peak", att_is_matmul(variant) ? bench_pct(r.gflops, ceil->fma_gflops) : NAN, 1);
        bench_row_print(&row, csv, header && i == 0);
    }
    return 0;
}

/* ---------------------------------------------------------------- scaling */

/* least-squares slope of log y on log x over the points with y > 0 */
static double att_slope(const double *x, const double *y, int n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int i, m = 0;
    for (i = 0; i < n; i++) {
        double lx, ly;
        if (!(y[i] > 0)) continue;
        lx = log(x[i]);
        ly = log(y[i]);
        sx += lx;
        sy += ly;
        sxx += lx * lx;
        sxy += lx * ly;
        m++;
    }
    if (m < 2) return NAN;
    return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

#define ATT_MAX_POINTS 16

static int att_scaling(int argc, char **argv, const int *threads, int n_threads, int csv)
{
    static const char *variants[] = {"dense", "flash", "window:256", "bigbird:64,1,3,2", "linear", "linformer:256"};
    const int n_variants = (int)(sizeof variants / sizeof variants[0]);
    int max_seq = (int)bench_arg_int(argc, argv, "--max-seq", 16384), t, v, i;
    double seconds = bench_arg_num(argc, argv, "--seconds", 0.3);
    for (t = 0; t < n_threads; t++) {
        double xs[ATT_MAX_POINTS], times[ATT_MAX_POINTS], mems[ATT_MAX_POINTS];
        double flash4k = NAN, dense4k = NAN;
        bench_row row;
        int header = 1;
        for (v = 0; v < n_variants; v++) {
            int points = 0, n;
            int causal = strncmp(variants[v], "linformer", 9) != 0;
            for (n = 256; n <= max_seq && points < ATT_MAX_POINTS; n *= 2) {
                att_result r;
                if (!strcmp(variants[v], "dense") && n > 4096) break;
                r = att_measure(variants[v], n, 8, 2, 64, causal, threads[t], 1, seconds);
                if (!r.ok) return 1;
                xs[points] = n;
                times[points] = r.seconds;
                mems[points] = r.peak_mb;
                points++;
                if (n == 4096 && !strcmp(variants[v], "flash")) flash4k = r.seconds;
                if (n == 4096 && !strcmp(variants[v], "dense")) dense4k = r.seconds;
                bench_row_init(&row);
                bench_row_str(&row, "variant", variants[v]);
                bench_row_int(&row, "causal", causal);
                bench_row_int(&row, "threads", threads[t]);
                bench_row_int(&row, "seq", n);
                bench_row_num(&row, "ms", r.seconds * 1e3, 3);
                bench_row_num(&row, "peak_mb", r.peak_mb, 3);
                bench_row_num(&row, "gflops", att_is_matmul(variants[v]) ? r.gflops : NAN, 1);
                bench_row_print(&row, csv, header);
                header = 0;
                fflush(stdout);
            }
            /* the fits: all points, and n >= 2048 where fixed costs no longer dominate */
            for (i = 0; i < points && xs[i] < 2048; i++) {
            }
            printf("%sfit %s: time exponent %.2f (n >= 2048: %.2f), memory exponent %.2f (n >= 2048: %.2f)%s\n",
                   csv ? "# " : "", variants[v], att_slope(xs, times, points), att_slope(xs + i, times + i, points - i),
                   att_slope(xs, mems, points), att_slope(xs + i, mems + i, points - i),
                   !strcmp(variants[v], "dense") ? " [dense stops at n = 4096: n^2 scores per thread]" : "");
        }
        if (flash4k == flash4k && dense4k == dense4k)
            printf("%sflash vs dense at n = 4096, causal, %d thread(s): %.2fx faster\n", csv ? "# " : "", threads[t],
                   dense4k / flash4k);
    }
    return 0;
}

/* ---------------------------------------------------------------- decode */

static int att_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int att_decode(int argc, char **argv, const int *threads, int n_threads, int csv)
{
    int n = (int)bench_arg_int(argc, argv, "--seq", 16384), heads = (int)bench_arg_int(argc, argv, "--heads", 8);
    int kv_heads = (int)bench_arg_int(argc, argv, "--kv-heads", 2), head_dim = (int)bench_arg_int(argc, argv, "--head-dim", 64);
    size_t row = (size_t)kv_heads * head_dim, cache_bytes = 2 * row * (size_t)n * sizeof(float);
    int n_caches = (int)((((size_t)1 << 30) + cache_bytes - 1) / cache_bytes), c, t, pass;
    tfm_attn_config cfg;
    tfm_kv_cache *caches = NULL;
    float *template_kv = NULL, *q = NULL, *knew = NULL, *vnew = NULL, *out = NULL;
    void *ws = NULL;
    size_t ws_bytes = 0;
    double *steps;
    int failed = 0;
    if (n <= 0 || heads <= 0 || kv_heads <= 0 || head_dim <= 0) {
        fprintf(stderr, "tfm-bench attention: --seq, --heads, --kv-heads and --head-dim must be positive\n");
        return 2;
    }
    if (n_caches < 2) n_caches = 2;
    steps = (double *)malloc(2 * (size_t)n_caches * sizeof *steps);
    tfm_attn_config_init(&cfg, TFM_ATTN_FLASH, heads, kv_heads, head_dim);
    caches = (tfm_kv_cache *)calloc((size_t)n_caches, sizeof *caches);
    template_kv = att_array(row * (size_t)n, 1.0f);
    q = att_array((size_t)heads * head_dim, 1.0f);
    knew = att_array(row, 1.0f);
    vnew = att_array(row, 1.0f);
    out = (float *)malloc((size_t)heads * head_dim * sizeof(float));
    if (!caches || !template_kv || !q || !knew || !vnew || !out || !steps) failed = 1;
    for (c = 0; c < n_caches && !failed; c++) {
        if (tfm_kv_cache_init(&caches[c], &cfg, n + 1) != TFM_OK) {
            failed = 1;
            break;
        }
        memcpy(caches[c].k, template_kv, row * (size_t)n * sizeof(float));
        memcpy(caches[c].v, template_kv, row * (size_t)n * sizeof(float));
    }
    for (t = 0; t < n_threads && !failed; t++) {
        const bench_ceiling *ceil = bench_ceiling_get(threads[t]);
        double cold, cold_best, warm = INFINITY, bytes = (double)cache_bytes;
        bench_row r;
        cfg.n_threads = threads[t];
        free(ws);
        if (tfm_attn_workspace_size(&cfg, 1, n + 1, &ws_bytes) != TFM_OK || !(ws = malloc(ws_bytes))) {
            failed = 1;
            break;
        }
        /* cold: each step on a cache last touched >= 1 GiB of other caches ago. The median step, so a
           step whose thread was preempted (2 cores shared with other work) does not set the figure,
           and the best cold step (each one still reads its cache from memory) */
        for (pass = 0; pass < 3; pass++)
            for (c = 0; c < n_caches; c++) {
                double t0;
                caches[c].length = n;
                t0 = bench_now();
                if (tfm_attn_decode(&cfg, &caches[c], out, q, knew, vnew, 1, ws, ws_bytes) != TFM_OK) failed = 1;
                if (pass > 0) steps[(pass - 1) * n_caches + c] = bench_now() - t0;
            }
        qsort(steps, 2 * (size_t)n_caches, sizeof *steps, att_cmp);
        cold = steps[n_caches];
        cold_best = steps[0];
        for (pass = 0; pass < 20; pass++) {
            double t0, dt;
            caches[0].length = n;
            t0 = bench_now();
            if (tfm_attn_decode(&cfg, &caches[0], out, q, knew, vnew, 1, ws, ws_bytes) != TFM_OK) failed = 1;
            dt = bench_now() - t0;
            if (dt < warm) warm = dt;
        }
        bench_row_init(&r);
        bench_row_int(&r, "seq", n);
        bench_row_int(&r, "heads", heads);
        bench_row_int(&r, "kv_heads", kv_heads);
        bench_row_int(&r, "head_dim", head_dim);
        bench_row_int(&r, "threads", threads[t]);
        bench_row_num(&r, "kv_mb", bytes * 1e-6, 2);
        bench_row_num(&r, "cold_us_median", cold * 1e6, 1);
        bench_row_num(&r, "cold_gbps", bytes / cold * 1e-9, 2);
        bench_row_num(&r, "read_gbps", ceil->read_gbps, 2);
        bench_row_num(&r, "pct_read", bench_pct(bytes / cold * 1e-9, ceil->read_gbps), 1);
        bench_row_num(&r, "cold_best_gbps", bytes / cold_best * 1e-9, 2);
        bench_row_num(&r, "pct_read_best", bench_pct(bytes / cold_best * 1e-9, ceil->read_gbps), 1);
        bench_row_num(&r, "warm_us", warm * 1e6, 1);
        bench_row_num(&r, "warm_gbps", bytes / warm * 1e-9, 2);
        bench_row_print(&r, csv, t == 0);
    }
    if (failed) fprintf(stderr, "tfm-bench attention: decode benchmark failed (memory or status)\n");
    for (c = 0; caches && c < n_caches; c++) tfm_kv_cache_free(&caches[c]);
    free(caches);
    free(template_kv);
    free(q);
    free(knew);
    free(vnew);
    free(out);
    free(ws);
    free(steps);
    return failed;
}

/* ---------------------------------------------------------------- entry */

int bench_attention(int argc, char **argv)
{
    int threads[8], n_threads, csv = bench_flag(argc, argv, "--csv");
    if (!bench_check_args(argc, argv, "--variant --seq --heads --kv-heads --head-dim --threads --seconds --max-seq",
                          "--causal --csv --scaling --decode --suite"))
        return 2;
    n_threads = bench_threads(argc, argv, threads, 8);
    if (!n_threads) return 2;
    if (bench_flag(argc, argv, "--scaling")) return att_scaling(argc, argv, threads, n_threads, csv);
    if (bench_flag(argc, argv, "--decode")) return att_decode(argc, argv, threads, n_threads, csv);
    if (bench_flag(argc, argv, "--suite")) {
        /* the short suite of `tfm-bench all`: each variant once at n = 2048, then a 16k decode step */
        static const char *variants[] = {"dense", "flash", "window:256", "bigbird:64,1,3,2", "linformer:256", "linear"};
        size_t v;
        int failed = 0;
        for (v = 0; v < sizeof variants / sizeof variants[0]; v++) {
            char *args[16];
            int n = 0;
            args[n++] = argv[0];
            args[n++] = (char *)"--variant";
            args[n++] = (char *)variants[v];
            args[n++] = (char *)"--seq";
            args[n++] = (char *)"2048";
            args[n++] = (char *)"--seconds";
            args[n++] = (char *)"0.1";
            if (strncmp(variants[v], "linformer", 9)) args[n++] = (char *)"--causal";
            if (csv) args[n++] = (char *)"--csv";
            args[n] = NULL;
            failed |= att_variant(n, args, threads, n_threads, csv, v == 0);
        }
        return failed | att_decode(argc, argv, threads, n_threads, csv);
    }
    return att_variant(argc, argv, threads, n_threads, csv, 1);
}

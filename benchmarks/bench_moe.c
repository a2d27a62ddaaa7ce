/* bench_moe.c - the mixture-of-experts block of tfm_moe.h on a Mixtral-shaped layer (random weights).

   (a) prefill: one batched tfm_moe_forward over --tokens tokens (grouped by expert, one gemm per expert)
       vs the same tokens routed one by one (n_tokens = 1 calls, gemv per expert): the speedup (target
       >= 3x) and the GFLOP/s of the active expert work beside the FMA peak.
   (b) decode: one token through the block vs a dense SwiGLU FFN with the same active parameters
       (hidden = k * expert hidden, three plain gemvs): the ratio (target <= 1.15x), and the weight
       bytes read per second beside the streaming read bandwidth. Both are timed with their weights
       first evicted from the caches (a 512 MiB read before each run), as in a many-layer model;
       warm_ratio is the same ratio with the weights left cache-resident.
   (c) routing alone (router matmul, top-k and gates: tfm_moe_route) as a share of (a) and (b).
   --dtype takes a list (default f32,q8_0,q4_0: every weight of the layer in that type, the router f32
   as GGUF files have it). pct_peak is of the f32 FMA peak, which the int8 kernels may exceed.
   All ratios come from one run on the same data. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t moe_rng = 0x9E3779B97F4A7C15ull;

static void moe_fill(float *x, size_t n, float scale)
{
    size_t i;
    for (i = 0; i < n; i++) {
        moe_rng ^= moe_rng << 13;
        moe_rng ^= moe_rng >> 7;
        moe_rng ^= moe_rng << 17;
        x[i] = scale * (float)((double)(moe_rng >> 40) / 8388608.0 - 1.0);
    }
}

/* A weight tensor of random values in [-scale, scale], stored as dtype t (quantized row by row). */
static int moe_weight(tfm_tensor *w, tfm_dtype t, int64_t ne0, int64_t ne1, int64_t ne2, float scale)
{
    int64_t ne[3];
    size_t rows, r;
    float *row = (float *)malloc((size_t)ne0 * sizeof(float));
    ne[0] = ne0;
    ne[1] = ne1;
    ne[2] = ne2;
    if (!row || tfm_tensor_init(w, t, ne2 > 1 ? 3 : 2, ne, NULL) != TFM_OK) {
        free(row);
        return 0;
    }
    w->data = tfm_aligned_alloc(tfm_tensor_nbytes(w));
    rows = (size_t)(ne1 * ne2);
    for (r = 0; w->data && r < rows; r++) {
        moe_fill(row, (size_t)ne0, scale);
        if (tfm_quantize_row(t, row, (unsigned char *)w->data + r * w->nb[1], (size_t)ne0) != TFM_OK) break;
    }
    free(row);
    return w->data && r == rows;
}

static void moe_weight_free(tfm_tensor *w)
{
    tfm_aligned_free(w->data);
    w->data = NULL;
}

typedef struct moe_case {
    tfm_moe_config cfg;
    tfm_moe_weights w;
    tfm_tensor dense_gate, dense_up, dense_down;
    const float *x;
    float *out, *hidden_a, *hidden_b, *probs, *gates;
    int32_t *experts;
    void *work;
    size_t work_bytes;
    int n_tokens, threads;
    tfm_status status;
} moe_case;

static void keep(moe_case *c, tfm_status s)
{
    if (s != TFM_OK) c->status = s;
}

static void run_batched(void *ctx)
{
    moe_case *c = (moe_case *)ctx;
    keep(c, tfm_moe_forward(&c->cfg, &c->w, c->out, c->x, c->n_tokens, c->work, c->work_bytes, NULL, NULL, c->threads));
}

static void run_token_by_token(void *ctx)
{
    moe_case *c = (moe_case *)ctx;
    size_t d = (size_t)c->cfg.dim;
    int t;
    for (t = 0; t < c->n_tokens; t++)
        keep(c, tfm_moe_forward(&c->cfg, &c->w, c->out + t * d, c->x + t * d, 1, c->work, c->work_bytes, NULL, NULL,
                                c->threads));
}

static void run_decode(void *ctx)
{
    moe_case *c = (moe_case *)ctx;
    keep(c, tfm_moe_forward(&c->cfg, &c->w, c->out, c->x, 1, c->work, c->work_bytes, NULL, NULL, c->threads));
}

/* The dense FFN a model without experts runs per token: gate and up gemv, SwiGLU, down gemv. */
static void run_dense(void *ctx)
{
    moe_case *c = (moe_case *)ctx;
    int h = (int)c->dense_gate.ne[1], d = c->cfg.dim;
    keep(c, tfm_quant_gemv(c->hidden_a, c->dense_gate.dtype, c->dense_gate.data, c->x, h, d, c->threads));
    keep(c, tfm_quant_gemv(c->hidden_b, c->dense_up.dtype, c->dense_up.data, c->x, h, d, c->threads));
    tfm_swiglu(c->hidden_a, c->hidden_a, c->hidden_b, (size_t)h);
    keep(c, tfm_quant_gemv(c->out, c->dense_down.dtype, c->dense_down.data, c->hidden_a, d, h, c->threads));
}

static void run_route_prefill(void *ctx)
{
    moe_case *c = (moe_case *)ctx;
    keep(c, tfm_moe_route(&c->cfg, c->w.router, c->x, c->n_tokens, c->experts, c->gates, c->probs, c->threads));
}

static void run_route_decode(void *ctx)
{
    moe_case *c = (moe_case *)ctx;
    keep(c, tfm_moe_route(&c->cfg, c->w.router, c->x, 1, c->experts, c->gates, c->probs, c->threads));
}

/* Best time of fn over reps runs, each after reading `evict` (untimed): weights start in DRAM, as
   in a model whose other layers have pushed them out of even a large L3. */
static double moe_best_cold(bench_fn fn, void *ctx, const float *evict, size_t n, int reps)
{
    double best = INFINITY;
    volatile float sink = 0.0f;
    int r;
    for (r = 0; r < reps; r++) {
        double t0;
        size_t i;
        float sum = 0.0f;
        for (i = 0; i < n; i += 16) sum += evict[i];
        sink += sum;
        t0 = bench_now();
        fn(ctx);
        t0 = bench_now() - t0;
        if (t0 < best) best = t0;
    }
    (void)sink;
    return best;
}

/* Comma-separated dtype names that tfm_moe.h multiplies; how many, 0 on a bad name. */
static int moe_parse_dtypes(const char *s, tfm_dtype *list, int max)
{
    int n = 0;
    while (*s && n < max) {
        size_t len = strcspn(s, ",");
        int t, found = 0;
        for (t = 0; t < TFM_DTYPE_COUNT && !found; t++) {
            const char *name = tfm_dtype_name((tfm_dtype)t);
            if (name && strlen(name) == len && !strncmp(s, name, len) && tfm_quant_vec_dot_type((tfm_dtype)t) != TFM_DTYPE_COUNT) {
                list[n++] = (tfm_dtype)t;
                found = 1;
            }
        }
        if (!found) return 0;
        s += len + (s[len] == ',');
    }
    return n;
}

/* The routing of the batch as the stats see it: aux loss and the busiest expert's share. */
static void moe_routing_summary(moe_case *c, double *aux_loss, double *max_share)
{
    tfm_moe_stats st;
    int e;
    *aux_loss = *max_share = NAN;
    if (tfm_moe_stats_init(&st, c->cfg.n_experts) != TFM_OK) return;
    if (tfm_moe_forward(&c->cfg, &c->w, c->out, c->x, c->n_tokens, c->work, c->work_bytes, &st, NULL, 1) == TFM_OK) {
        *aux_loss = tfm_moe_stats_aux_loss(&st);
        *max_share = 0;
        for (e = 0; e < c->cfg.n_experts; e++)
            if (tfm_moe_stats_fraction(&st, e) > *max_share) *max_share = tfm_moe_stats_fraction(&st, e);
    }
    tfm_moe_stats_free(&st);
}

/* Weights of one dtype into c (the router stays f32); 0 when they cannot be made. */
static int moe_make_weights(moe_case *c, tfm_tensor *router, tfm_tensor *gate, tfm_tensor *up, tfm_tensor *down,
                            tfm_dtype dtype)
{
    int d = c->cfg.dim, h = c->cfg.hidden, e = c->cfg.n_experts, k = c->cfg.n_used;
    /* router logits of spread ~1 whatever dim, so routing is neither uniform nor one-hot; the dense
       FFN has the active parameters of k experts */
    return moe_weight(router, TFM_F32, d, e, 1, 3.0f / (float)sqrt((double)d)) && moe_weight(gate, dtype, d, h, e, 0.05f) &&
           moe_weight(up, dtype, d, h, e, 0.05f) && moe_weight(down, dtype, h, d, e, 0.05f) &&
           moe_weight(&c->dense_gate, dtype, d, (int64_t)k * h, 1, 0.05f) &&
           moe_weight(&c->dense_up, dtype, d, (int64_t)k * h, 1, 0.05f) &&
           moe_weight(&c->dense_down, dtype, (int64_t)k * h, d, 1, 0.05f);
}

static void moe_free_weights(moe_case *c, tfm_tensor *router, tfm_tensor *gate, tfm_tensor *up, tfm_tensor *down)
{
    moe_weight_free(router);
    moe_weight_free(gate);
    moe_weight_free(up);
    moe_weight_free(down);
    moe_weight_free(&c->dense_gate);
    moe_weight_free(&c->dense_up);
    moe_weight_free(&c->dense_down);
}

static void moe_free_buffers(moe_case *c)
{
    tfm_aligned_free((void *)(uintptr_t)c->x);
    tfm_aligned_free(c->out);
    tfm_aligned_free(c->hidden_a);
    tfm_aligned_free(c->hidden_b);
    tfm_aligned_free(c->probs);
    tfm_aligned_free(c->gates);
    tfm_aligned_free(c->experts);
    tfm_aligned_free(c->work);
}

/* One row per thread count for the weights in c; nonzero on a failed call. */
static int moe_measure(moe_case *c, const int *threads, int n_threads, double seconds, const float *evict,
                       size_t evict_floats, int csv, int *header)
{
    int i, d = c->cfg.dim, h = c->cfg.hidden, k = c->cfg.n_used, n_tokens = c->n_tokens;
    double bytes = (double)k * (double)(c->w.gate_exps->nb[2] + c->w.up_exps->nb[2] + c->w.down_exps->nb[2]);
    for (i = 0; i < n_threads; i++) {
        const bench_ceiling *ceil = bench_ceiling_get(threads[i]);
        double t_batch, t_tokens, t_decode, t_dense, t_decode_warm, t_dense_warm, t_route_p, t_route_d, gflops, gbps;
        bench_row row;
        c->threads = threads[i];
        c->status = TFM_OK;
        t_batch = bench_best(run_batched, c, 3, seconds);
        t_tokens = bench_best(run_token_by_token, c, 1, 0.0);
        t_decode_warm = bench_best(run_decode, c, 5, seconds);
        t_dense_warm = bench_best(run_dense, c, 5, seconds);
        t_decode = moe_best_cold(run_decode, c, evict, evict_floats, 10);
        t_dense = moe_best_cold(run_dense, c, evict, evict_floats, 10);
        t_route_p = bench_best(run_route_prefill, c, 5, seconds / 3);
        t_route_d = bench_best(run_route_decode, c, 5, seconds / 3);
        if (c->status != TFM_OK) {
            fprintf(stderr, "moe: %s\n", tfm_status_string(c->status));
            return 1;
        }
        gflops = 2.0 * 3.0 * n_tokens * k * (double)d * h / t_batch * 1e-9;
        gbps = bytes / t_decode * 1e-9;
        bench_row_init(&row);
        bench_row_str(&row, "dtype", tfm_dtype_name(c->w.gate_exps->dtype));
        bench_row_int(&row, "threads", threads[i]);
        bench_row_int(&row, "tokens", n_tokens);
        bench_row_num(&row, "batched_ms", t_batch * 1e3, 2);
        bench_row_num(&row, "per_token_ms", t_tokens * 1e3, 1);
        bench_row_num(&row, "speedup", t_tokens / t_batch, 2);
        bench_row_num(&row, "gflops", gflops, 1);
        bench_row_num(&row, "pct_peak", bench_pct(gflops, ceil->fma_gflops), 1);
        bench_row_num(&row, "decode_ms", t_decode * 1e3, 3);
        bench_row_num(&row, "dense_ms", t_dense * 1e3, 3);
        bench_row_num(&row, "decode/dense", t_decode / t_dense, 3);
        bench_row_num(&row, "warm_ratio", t_decode_warm / t_dense_warm, 3);
        bench_row_num(&row, "decode_gbps", gbps, 1);
        bench_row_num(&row, "pct_read", bench_pct(gbps, ceil->read_gbps), 1);
        bench_row_num(&row, "route_pf_us", t_route_p * 1e6, 1);
        bench_row_num(&row, "route_pf_pct", 100.0 * t_route_p / t_batch, 2);
        bench_row_num(&row, "route_dec_us", t_route_d * 1e6, 2);
        bench_row_num(&row, "route_dec_pct", 100.0 * t_route_d / t_decode, 2);
        bench_row_print(&row, csv, *header);
        *header = 0;
    }
    return 0;
}

int bench_moe(int argc, char **argv)
{
    tfm_tensor router, gate, up, down;
    tfm_dtype dtypes[8];
    int threads[8], n_threads, n_dtypes, i, csv, failed = 0, header = 1;
    double seconds;
    moe_case c;
    size_t evict_floats = (size_t)128 << 20; /* 512 MiB, twice a large server L3 */
    float *evict;
    if (!bench_check_args(argc, argv, "--dim --hidden --experts --k --tokens --dtype --threads --seconds", "--csv"))
        return 2;
    memset(&c, 0, sizeof c);
    c.cfg = tfm_moe_config_make((int)bench_arg_int(argc, argv, "--dim", 1024), (int)bench_arg_int(argc, argv, "--hidden", 3584),
                                (int)bench_arg_int(argc, argv, "--experts", 8), (int)bench_arg_int(argc, argv, "--k", 2));
    c.n_tokens = (int)bench_arg_int(argc, argv, "--tokens", 128);
    seconds = bench_arg_num(argc, argv, "--seconds", 0.3);
    n_dtypes = moe_parse_dtypes(bench_arg_str(argc, argv, "--dtype", "f32,q8_0,q4_0"), dtypes, 8);
    csv = bench_flag(argc, argv, "--csv");
    n_threads = bench_threads(argc, argv, threads, 8);
    if (!n_threads) return 2;
    if (c.n_tokens <= 1 || !n_dtypes || tfm_moe_workspace_size(&c.cfg, c.n_tokens, &c.work_bytes) != TFM_OK) {
        fprintf(stderr, "moe: need --dim, --hidden, --experts > 0, 0 < --k <= --experts, --tokens > 1, and --dtype a list "
                        "of f32 f16 bf16 q8_0 q4_0 q4_1 q4_k q6_k\n");
        return 2;
    }
    c.x = (const float *)tfm_aligned_alloc((size_t)c.n_tokens * c.cfg.dim * sizeof(float));
    c.out = (float *)tfm_aligned_alloc((size_t)c.n_tokens * c.cfg.dim * sizeof(float));
    c.hidden_a = (float *)tfm_aligned_alloc((size_t)c.cfg.n_used * c.cfg.hidden * sizeof(float));
    c.hidden_b = (float *)tfm_aligned_alloc((size_t)c.cfg.n_used * c.cfg.hidden * sizeof(float));
    c.probs = (float *)tfm_aligned_alloc((size_t)c.n_tokens * c.cfg.n_experts * sizeof(float));
    c.gates = (float *)tfm_aligned_alloc((size_t)c.n_tokens * c.cfg.n_used * sizeof(float));
    c.experts = (int32_t *)tfm_aligned_alloc((size_t)c.n_tokens * c.cfg.n_used * sizeof(int32_t));
    c.work = tfm_aligned_alloc(c.work_bytes);
    evict = (float *)tfm_aligned_alloc(evict_floats * sizeof(float));
    if (!c.x || !c.out || !c.hidden_a || !c.hidden_b || !c.probs || !c.gates || !c.experts || !c.work || !evict) {
        fprintf(stderr, "moe: out of memory\n");
        moe_free_buffers(&c);
        tfm_aligned_free(evict);
        return 1;
    }
    memset(evict, 0, evict_floats * sizeof(float));
    moe_fill((float *)(uintptr_t)c.x, (size_t)c.n_tokens * c.cfg.dim, 1.0f);
    memset(&router, 0, sizeof router);
    gate = up = down = router;
    c.w.router = &router;
    c.w.gate_exps = &gate;
    c.w.up_exps = &up;
    c.w.down_exps = &down;
    for (i = 0; i < n_dtypes && !failed; i++) {
        tfm_error err;
        double aux_loss, max_share;
        if (!moe_make_weights(&c, &router, &gate, &up, &down, dtypes[i])) {
            fprintf(stderr, "moe: cannot make %s weights of this shape (block size, memory)\n", tfm_dtype_name(dtypes[i]));
            failed = 1;
        } else if (tfm_moe_validate(&c.cfg, &c.w, &err) != TFM_OK) {
            fprintf(stderr, "%s\n", err.message);
            failed = 1;
        } else {
            moe_routing_summary(&c, &aux_loss, &max_share);
            if (!csv && i == 0)
                printf("moe: dim %d, hidden %d, %d experts, top-%d, f32 router; %d-token prefill: aux loss %.3f, busiest "
                       "expert %.1f%% of assignments\n",
                       c.cfg.dim, c.cfg.hidden, c.cfg.n_experts, c.cfg.n_used, c.n_tokens, aux_loss, 100.0 * max_share);
            failed = moe_measure(&c, threads, n_threads, seconds, evict, evict_floats, csv, &header);
        }
        moe_free_weights(&c, &router, &gate, &up, &down);
    }
    if (!csv && !failed)
        printf("targets: speedup (batched vs token by token) >= 3; decode/dense (same active parameters) <= 1.15\n");
    moe_free_buffers(&c);
    tfm_aligned_free(evict);
    return failed;
}

/* Tests of tfm_moe.h: routing, dispatch/combine, capacity, statistics and the expert FFN, each against
   a float64 loop written plainly here (per token, no grouping); and of tfm_model.h's mixture-of-experts
   layers, through the real GGUF loader: stories260K "upcycled" (every expert a copy of its dense FFN,
   a random router) must give llama2.c's golden logits. */
#include "tfm_test.h"
#include "tfm_gguf.h"
#include "tfm_model.h"
#include "tfm_moe.h"
#include "tfm_quant.h"

/* ---------------------------------------------------------------- weights */

/* A weight tensor and the exact float values it holds (rounded through its dtype). */
typedef struct test_mat {
    tfm_tensor t;
    void *storage;
    float *values; /* [ne2][ne1][ne0] */
} test_mat;

static float round_to(tfm_dtype dt, float v)
{
    if (dt == TFM_F16) return tfm_f16_to_f32(tfm_f32_to_f16(v));
    if (dt == TFM_BF16) return tfm_bf16_to_f32(tfm_f32_to_bf16(v));
    return v;
}

static void mat_store(test_mat *m)
{
    size_t i, n = (size_t)tfm_tensor_nelements(&m->t);
    for (i = 0; i < n; i++) {
        if (m->t.dtype == TFM_F16) ((uint16_t *)m->storage)[i] = tfm_f32_to_f16(m->values[i]);
        else if (m->t.dtype == TFM_BF16) ((uint16_t *)m->storage)[i] = tfm_f32_to_bf16(m->values[i]);
        else ((float *)m->storage)[i] = m->values[i];
    }
}

/* Blocks of a quantized dtype, quantized once per dtype and scale from values uniform in [-scale, scale]:
   a quantized matrix is random picks of them, block by block (no two rows alike). Quantizing every matrix
   afresh was most of the quantized tests' time (the k-quants' and iq4's searches), far more under the
   sanitizers and qemu. */
#define POOL_BLOCKS 256
static struct {
    tfm_dtype dt;
    float scale;
    unsigned char *blocks;
} block_pools[64];
static int n_block_pools;

static const unsigned char *block_pool(tfm_dtype dt, float scale)
{
    size_t bs = tfm_dtype_block_size(dt), j;
    float *x;
    int i;
    for (i = 0; i < n_block_pools; i++)
        if (block_pools[i].dt == dt && block_pools[i].scale == scale) return block_pools[i].blocks;
    if (n_block_pools == (int)(sizeof block_pools / sizeof block_pools[0])) return NULL;
    x = (float *)tt_alloc(POOL_BLOCKS * bs * sizeof(float));
    for (j = 0; j < POOL_BLOCKS * bs; j++) x[j] = tt_uniform(-scale, scale);
    block_pools[i].blocks = (unsigned char *)tt_alloc(POOL_BLOCKS * tfm_dtype_block_bytes(dt));
    if (tfm_quantize_row(dt, x, block_pools[i].blocks, POOL_BLOCKS * bs) != TFM_OK) abort();
    free(x);
    block_pools[i].dt = dt, block_pools[i].scale = scale;
    n_block_pools++;
    return block_pools[i].blocks;
}

/* values uniform in [-scale, scale], n_dims 2 when ne2 == 0. Quantized dtypes: blocks of block_pool,
   the values what they hold (tfm_quant.h's codecs, tested in test_quant). */
static void mat_make(test_mat *m, tfm_dtype dt, int64_t ne0, int64_t ne1, int64_t ne2, float scale)
{
    int64_t ne[3];
    size_t i, n, rows;
    const unsigned char *pool = NULL;
    ne[0] = ne0;
    ne[1] = ne1;
    ne[2] = ne2 ? ne2 : 1;
    n = (size_t)(ne[0] * ne[1] * ne[2]);
    rows = n / (size_t)ne0;
    m->values = (float *)tt_alloc(n * sizeof(float));
    m->storage = tt_alloc(n * 4);
    if (tfm_tensor_init(&m->t, dt, ne2 ? 3 : 2, ne, m->storage) != TFM_OK) abort();
    if (tfm_dtype_block_size(dt) == 1 || !(pool = block_pool(dt, scale))) {
        for (i = 0; i < n; i++) m->values[i] = round_to(dt, tt_uniform(-scale, scale));
        if (tfm_dtype_block_size(dt) == 1) {
            mat_store(m);
            return;
        }
    }
    for (i = 0; i < rows; i++) {
        unsigned char *row = (unsigned char *)m->storage + i * m->t.nb[1];
        size_t bb = tfm_dtype_block_bytes(dt), b, nb = (size_t)ne0 / tfm_dtype_block_size(dt);
        if (pool)
            for (b = 0; b < nb; b++) memcpy(row + b * bb, pool + tt_next() % POOL_BLOCKS * bb, bb);
        else if (tfm_quantize_row(dt, m->values + i * ne0, row, (size_t)ne0) != TFM_OK)
            abort();
        if (tfm_dequantize_row(dt, row, m->values + i * ne0, (size_t)ne0) != TFM_OK) abort();
    }
}

static void mat_free(test_mat *m)
{
    free(m->values);
    free(m->storage);
}

/* A whole MoE layer with its float values. */
typedef struct test_layer {
    tfm_moe_config cfg;
    test_mat router, gate, up, down, sgate, sup, sdown;
    tfm_moe_weights w;
} test_layer;

/* expert_dt for gate and up, down_dt for down (and the same for the shared expert) */
static void layer_make2(test_layer *L, int dim, int hidden, int n_experts, int k, int shared_hidden, tfm_dtype router_dt,
                        tfm_dtype expert_dt, tfm_dtype down_dt)
{
    memset(L, 0, sizeof *L);
    L->cfg = tfm_moe_config_make(dim, hidden, n_experts, k);
    L->cfg.shared_hidden = shared_hidden;
    mat_make(&L->router, router_dt, dim, n_experts, 0, 1.0f);
    mat_make(&L->gate, expert_dt, dim, hidden, n_experts, 0.5f);
    mat_make(&L->up, expert_dt, dim, hidden, n_experts, 0.5f);
    mat_make(&L->down, down_dt, hidden, dim, n_experts, 0.5f);
    L->w.router = &L->router.t;
    L->w.gate_exps = &L->gate.t;
    L->w.up_exps = &L->up.t;
    L->w.down_exps = &L->down.t;
    if (shared_hidden) {
        mat_make(&L->sgate, expert_dt, dim, shared_hidden, 0, 0.5f);
        mat_make(&L->sup, expert_dt, dim, shared_hidden, 0, 0.5f);
        mat_make(&L->sdown, down_dt, shared_hidden, dim, 0, 0.5f);
        L->w.gate_shexp = &L->sgate.t;
        L->w.up_shexp = &L->sup.t;
        L->w.down_shexp = &L->sdown.t;
    }
}

static void layer_make(test_layer *L, int dim, int hidden, int n_experts, int k, int shared_hidden, tfm_dtype router_dt,
                       tfm_dtype expert_dt)
{
    layer_make2(L, dim, hidden, n_experts, k, shared_hidden, router_dt, expert_dt, expert_dt);
}

static void layer_free(test_layer *L)
{
    mat_free(&L->router);
    mat_free(&L->gate);
    mat_free(&L->up);
    mat_free(&L->down);
    if (L->cfg.shared_hidden) {
        mat_free(&L->sgate);
        mat_free(&L->sup);
        mat_free(&L->sdown);
    }
}

/* ---------------------------------------------------------------- float64 references */

/* The activations a matmul with weights of wtype multiplies: x itself for float weights, else x
   quantized to the weights' activation format and decoded (tfm_quant.h's codecs, tested in test_quant). */
static void ref_activations(float *out, const float *x, int n, tfm_dtype wtype)
{
    tfm_dtype at = tfm_quant_vec_dot_type(wtype);
    void *blocks;
    if (at == TFM_F32) {
        memcpy(out, x, sizeof(float) * (size_t)n);
        return;
    }
    blocks = tt_alloc(sizeof(float) * (size_t)n + 64);
    if (tfm_quantize_row(at, x, blocks, (size_t)n) != TFM_OK || tfm_dequantize_row(at, blocks, out, (size_t)n) != TFM_OK)
        abort();
    free(blocks);
}

/* y = down(silu(gate x) * up x) for one token; gate/up [hidden][dim] of dtype in_t, down [dim][hidden]
   of dtype down_t (their values given as floats) */
static void ref_ffn(double *y, const float *x, const float *gate, const float *up, const float *down, int dim, int hidden,
                    tfm_dtype in_t, tfm_dtype down_t)
{
    float *xa = (float *)tt_alloc(sizeof(float) * (size_t)dim), *hf = (float *)tt_alloc(sizeof(float) * (size_t)hidden);
    float *ha = (float *)tt_alloc(sizeof(float) * (size_t)hidden);
    int i, j;
    ref_activations(xa, x, dim, in_t);
    for (j = 0; j < hidden; j++) {
        double g = 0, u = 0;
        for (i = 0; i < dim; i++) {
            g += (double)gate[(size_t)j * dim + i] * xa[i];
            u += (double)up[(size_t)j * dim + i] * xa[i];
        }
        hf[j] = (float)(g / (1.0 + exp(-g)) * u);
    }
    ref_activations(ha, hf, hidden, down_t);
    for (i = 0; i < dim; i++) {
        double s = 0;
        for (j = 0; j < hidden; j++) s += (double)down[(size_t)i * hidden + j] * ha[j];
        y[i] = s;
    }
    free(xa);
    free(hf);
    free(ha);
}

static void ref_expert(double *y, const float *x, const test_layer *L, int e)
{
    size_t m = (size_t)L->cfg.dim * (size_t)L->cfg.hidden;
    ref_ffn(y, x, L->gate.values + e * m, L->up.values + e * m, L->down.values + e * m, L->cfg.dim, L->cfg.hidden,
            L->gate.t.dtype, L->down.t.dtype);
}

static void ref_logits(double *logits, const float *x, const test_layer *L)
{
    int e, i;
    for (e = 0; e < L->cfg.n_experts; e++) {
        double s = 0;
        for (i = 0; i < L->cfg.dim; i++) s += (double)L->router.values[(size_t)e * L->cfg.dim + i] * x[i];
        logits[e] = s;
    }
}

/* Ranking by repeated selection of the maximum, lower index on ties (written differently from the
   library's insertion on purpose). */
static void ref_rank(int *order, const double *logits, int n)
{
    int used[256] = {0}, r, i;
    for (r = 0; r < n; r++) {
        int best = -1;
        for (i = 0; i < n; i++)
            if (!used[i] && (best < 0 || logits[i] > logits[best])) best = i;
        used[best] = 1;
        order[r] = best;
    }
}

/* experts[k] and gates[k] of one token from its logits; probs[E] = softmax over all */
static void ref_gate(const tfm_moe_config *cfg, const double *logits, int *experts, double *gates, double *probs)
{
    int order[256], r, e, k = cfg->n_used, n = cfg->n_experts;
    double max = -INFINITY, sum = 0;
    ref_rank(order, logits, n);
    for (e = 0; e < n; e++)
        if (logits[e] > max) max = logits[e];
    for (e = 0; e < n; e++) sum += probs[e] = exp(logits[e] - max);
    for (e = 0; e < n; e++) probs[e] /= sum;
    for (r = 0; r < k; r++) experts[r] = order[r];
    if (cfg->gating == TFM_MOE_GATE_TOPK_SOFTMAX) {
        double s = 0;
        for (r = 0; r < k; r++) s += gates[r] = exp(logits[experts[r]] - logits[experts[0]]);
        for (r = 0; r < k; r++) gates[r] /= s;
    } else {
        double s = 0;
        for (r = 0; r < k; r++) s += gates[r] = probs[experts[r]];
        if (cfg->renormalize)
            for (r = 0; r < k; r++) gates[r] /= s;
    }
}

/* Smallest gap between neighbours in the ranking of the top min(k + 1, E) logits. */
static double ref_margin(const double *logits, int n, int k)
{
    int order[256], r;
    double gap = INFINITY;
    ref_rank(order, logits, n);
    for (r = 0; r + 1 < n && r < k; r++)
        if (logits[order[r]] - logits[order[r + 1]] < gap) gap = logits[order[r]] - logits[order[r + 1]];
    return gap;
}

/* Random tokens whose routing is clear: the float32 router cannot rank them differently from float64. */
static float *clear_tokens(const test_layer *L, int n_tokens)
{
    float *x = (float *)tt_alloc(sizeof(float) * (size_t)n_tokens * L->cfg.dim);
    double logits[256];
    int t;
    for (t = 0; t < n_tokens; t++) {
        float *xt = x + (size_t)t * L->cfg.dim;
        do {
            tt_fill(xt, (size_t)L->cfg.dim, -1.0f, 1.0f);
            ref_logits(logits, xt, L);
        } while (ref_margin(logits, L->cfg.n_experts, L->cfg.n_used) < 1e-3);
    }
    return x;
}

/* out[n_tokens][dim] by the definition: per token, the kept experts in rank order; kept[t*k+r] says
   which assignments survived (NULL: all). */
static void ref_forward(double *out, const float *x, int n_tokens, const test_layer *L, const int *kept)
{
    const tfm_moe_config *cfg = &L->cfg;
    int dim = cfg->dim, k = cfg->n_used, t, r, i;
    double logits[256], probs[256], gates[256], *y = (double *)tt_alloc(sizeof(double) * (size_t)dim);
    int experts[256];
    for (t = 0; t < n_tokens; t++) {
        const float *xt = x + (size_t)t * dim;
        double *ot = out + (size_t)t * dim;
        for (i = 0; i < dim; i++) ot[i] = 0;
        if (cfg->shared_hidden) {
            ref_ffn(y, xt, L->sgate.values, L->sup.values, L->sdown.values, dim, cfg->shared_hidden, L->sgate.t.dtype,
                    L->sdown.t.dtype);
            for (i = 0; i < dim; i++) ot[i] = cfg->shared_weight * y[i];
        }
        ref_logits(logits, xt, L);
        ref_gate(cfg, logits, experts, gates, probs);
        for (r = 0; r < k; r++) {
            if (kept && !kept[t * k + r]) continue;
            ref_expert(y, xt, L, experts[r]);
            for (i = 0; i < dim; i++) ot[i] += gates[r] * y[i];
        }
    }
    free(y);
}

/* max |got - want| / (1 + max |want|) */
static double rel_err(const float *got, const double *want, size_t n)
{
    double err = 0, scale = 1;
    size_t i;
    for (i = 0; i < n; i++)
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    for (i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= err)) err = fabs(got[i] - want[i]);
    return err / scale;
}

static void *work_for(const tfm_moe_config *cfg, int n_tokens, size_t *bytes)
{
    if (tfm_moe_workspace_size(cfg, n_tokens, bytes) != TFM_OK) abort();
    return tt_alloc(*bytes);
}

/* ---------------------------------------------------------------- router */

static void test_select_ties(void)
{
    /* expert:         0     1     2     3     4     5          6     7 */
    const float l[8] = {1.0f, 3.0f, 3.0f, 2.0f, 3.0f, -INFINITY, 0.5f, 2.0f};
    const int want[8] = {1, 2, 4, 3, 7, 0, 6, 5}; /* equal logits: lower index first */
    double dl[8];
    int k, e, mode;
    for (e = 0; e < 8; e++) dl[e] = l[e];
    for (mode = 0; mode < 3; mode++)
        for (k = 1; k <= 8; k++) {
            tfm_moe_config cfg = tfm_moe_config_make(4, 4, 8, k);
            int32_t experts[8];
            float gates[8], probs[8];
            double rg[8], rp[8];
            int re[8];
            cfg.gating = mode == 0 ? TFM_MOE_GATE_TOPK_SOFTMAX : TFM_MOE_GATE_SOFTMAX_TOPK;
            cfg.renormalize = mode == 1;
            TT_ASSERT(tfm_moe_select(&cfg, l, 1, experts, gates, probs) == TFM_OK, "select");
            ref_gate(&cfg, dl, re, rg, rp);
            for (e = 0; e < k; e++) {
                TT_ASSERT(experts[e] == want[e] && re[e] == want[e], "mode %d k %d rank %d: expert %d, want %d", mode, k, e,
                          experts[e], want[e]);
                TT_ASSERT(tt_close(gates[e], rg[e], 1e-7, 1e-6), "mode %d k %d gate %d: %g want %g", mode, k, e, gates[e], rg[e]);
            }
            for (e = 0; e < 8; e++) TT_ASSERT(tt_close(probs[e], rp[e], 1e-7, 1e-6), "prob %d: %g want %g", e, probs[e], rp[e]);
            TT_CHECK(probs[5] == 0.0f);
        }
    {
        /* all equal: the first k experts, equal gates; probs computed in place over the logits */
        float z[5] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
        tfm_moe_config cfg = tfm_moe_config_make(4, 4, 5, 3);
        int32_t experts[3];
        float gates[3];
        TT_CHECK(tfm_moe_select(&cfg, z, 1, experts, gates, z) == TFM_OK);
        TT_CHECK(experts[0] == 0 && experts[1] == 1 && experts[2] == 2);
        for (e = 0; e < 3; e++) TT_ASSERT(tt_close(gates[e], 1.0 / 3.0, 1e-7, 1e-6), "gate %g", gates[e]);
        for (e = 0; e < 5; e++) TT_ASSERT(tt_close(z[e], 0.2, 1e-7, 1e-6), "in-place probs %g", z[e]);
    }
    {
        /* a NaN logit ranks below every number, -Inf included; two NaNs by index */
        const float n[5] = {NAN, -INFINITY, NAN, 2.0f, -1.0f};
        const int want_n[5] = {3, 4, 1, 0, 2};
        tfm_moe_config cfg = tfm_moe_config_make(4, 4, 5, 5);
        int32_t experts[5];
        float gates[5], probs[5];
        TT_CHECK(tfm_moe_select(&cfg, n, 1, experts, gates, probs) == TFM_OK);
        for (e = 0; e < 5; e++) TT_ASSERT(experts[e] == want_n[e], "NaN ranking %d: %d want %d", e, experts[e], want_n[e]);
    }
    {
        /* several tokens at once select independently */
        const float two[2][3] = {{0.0f, 1.0f, 1.0f}, {5.0f, -1.0f, 5.0f}};
        tfm_moe_config cfg = tfm_moe_config_make(4, 4, 3, 1);
        int32_t experts[2];
        float gates[2], probs[6];
        TT_CHECK(tfm_moe_select(&cfg, &two[0][0], 2, experts, gates, probs) == TFM_OK);
        TT_CHECK(experts[0] == 1 && experts[1] == 0 && gates[0] == 1.0f && gates[1] == 1.0f);
    }
}

/* Router on random tokens (f32, f16, bf16 router weights) against float64, both gating modes. */
static void test_route_matches_reference(void)
{
    static const int shapes[][2] = {{8, 2}, {4, 4}, {1, 1}, {8, 1}, {6, 3}};
    static const tfm_dtype dts[] = {TFM_F32, TFM_F16, TFM_BF16};
    static const int token_counts[] = {1, 7, 128};
    size_t si, di, ti;
    tt_seed(11);
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (di = 0; di < 3; di++)
            for (ti = 0; ti < 3; ti++) {
                int E = shapes[si][0], k = shapes[si][1], T = token_counts[ti], mode, t, r, e;
                test_layer L;
                float *x, *probs = (float *)tt_alloc(sizeof(float) * (size_t)T * E), *gates = (float *)tt_alloc(sizeof(float) * (size_t)T * k);
                int32_t *experts = (int32_t *)tt_alloc(sizeof(int32_t) * (size_t)T * k);
                layer_make(&L, 33, 8, E, k, 0, dts[di], TFM_F32);
                x = clear_tokens(&L, T);
                for (mode = 0; mode < 3; mode++) {
                    L.cfg.gating = mode == 0 ? TFM_MOE_GATE_TOPK_SOFTMAX : TFM_MOE_GATE_SOFTMAX_TOPK;
                    L.cfg.renormalize = mode == 1;
                    TT_ASSERT(tfm_moe_route(&L.cfg, &L.router.t, x, T, experts, gates, probs, 0) == TFM_OK, "route");
                    for (t = 0; t < T; t++) {
                        double logits[256], rp[256], rg[256];
                        int re[256];
                        ref_logits(logits, x + (size_t)t * 33, &L);
                        ref_gate(&L.cfg, logits, re, rg, rp);
                        for (r = 0; r < k; r++) {
                            TT_ASSERT(experts[t * k + r] == re[r], "E%d k%d T%d %s token %d rank %d: %d want %d", E, k, T,
                                      tfm_dtype_name(dts[di]), t, r, experts[t * k + r], re[r]);
                            TT_ASSERT(tt_close(gates[t * k + r], rg[r], 1e-6, 1e-5), "gate %g want %g", gates[t * k + r], rg[r]);
                        }
                        for (e = 0; e < E; e++)
                            TT_ASSERT(tt_close(probs[t * E + e], rp[e], 1e-6, 1e-5), "prob %g want %g", probs[t * E + e], rp[e]);
                    }
                }
                free(x);
                free(probs);
                free(gates);
                free(experts);
                layer_free(&L);
            }
}

/* ---------------------------------------------------------------- the block */

/* Batched dispatch/combine and the one-token path against the per-token float64 loop, odd sizes. */
static void test_forward_matches_reference(void)
{
    static const int shapes[][3] = {{8, 2, 0}, {4, 4, 0}, {1, 1, 0}, {8, 2, 19}, {5, 3, 0}};
    static const int token_counts[] = {1, 7, 128};
    size_t si, ti;
    int mode;
    tt_seed(21);
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (ti = 0; ti < 3; ti++)
            for (mode = 0; mode < 3; mode++) {
                int E = shapes[si][0], k = shapes[si][1], T = token_counts[ti], dim = 33, hidden = 71, t, dropped = -1;
                test_layer L;
                float *x, *out = (float *)tt_alloc(sizeof(float) * (size_t)T * dim), *one = (float *)tt_alloc(sizeof(float) * dim);
                double *want = (double *)tt_alloc(sizeof(double) * (size_t)T * dim), err;
                size_t bytes;
                void *work;
                layer_make(&L, dim, hidden, E, k, shapes[si][2], TFM_F32, TFM_F32);
                L.cfg.gating = mode == 0 ? TFM_MOE_GATE_TOPK_SOFTMAX : TFM_MOE_GATE_SOFTMAX_TOPK;
                L.cfg.renormalize = mode == 1;
                L.cfg.shared_weight = 0.75f;
                x = clear_tokens(&L, T);
                work = work_for(&L.cfg, T, &bytes);
                TT_ASSERT(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, NULL, &dropped, 0) == TFM_OK, "forward");
                TT_CHECK(dropped == 0);
                ref_forward(want, x, T, &L, NULL);
                err = rel_err(out, want, (size_t)T * dim);
                TT_ASSERT(err < 2e-5, "E%d k%d shared %d T%d mode %d: relative error %g", E, k, shapes[si][2], T, mode, err);
                /* token by token through the library's one-token (gemv) path */
                for (t = 0; t < T; t++) {
                    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, one, x + (size_t)t * dim, 1, work, bytes, NULL, NULL, 1) == TFM_OK);
                    err = rel_err(one, want + (size_t)t * dim, (size_t)dim);
                    TT_ASSERT(err < 2e-5, "one token %d: relative error %g", t, err);
                }
                free(x);
                free(out);
                free(one);
                free(want);
                free(work);
                layer_free(&L);
            }
}

/* Every expert a copy of one dense FFN: the block is that FFN for any k when the gates sum to 1, and
   (sum of gates) times it otherwise. */
static void test_copies_of_dense_ffn(void)
{
    enum { dim = 33, hidden = 71, E = 6, T = 7 };
    int k, mode, t, e, i;
    tt_seed(31);
    for (k = 1; k <= E; k++)
        for (mode = 0; mode < 3; mode++) {
            test_layer L;
            float *x = (float *)tt_alloc(sizeof(float) * T * dim), *out = (float *)tt_alloc(sizeof(float) * T * dim);
            float probs[T * E], gates[T * E];
            int32_t experts[T * E];
            double want[dim];
            size_t bytes, m = (size_t)dim * hidden;
            void *work;
            layer_make(&L, dim, hidden, E, k, 0, TFM_F32, TFM_F32);
            for (e = 1; e < E; e++) {
                memcpy(L.gate.values + e * m, L.gate.values, m * sizeof(float));
                memcpy(L.up.values + e * m, L.up.values, m * sizeof(float));
                memcpy(L.down.values + e * m, L.down.values, m * sizeof(float));
            }
            mat_store(&L.gate);
            mat_store(&L.up);
            mat_store(&L.down);
            L.cfg.gating = mode == 0 ? TFM_MOE_GATE_TOPK_SOFTMAX : TFM_MOE_GATE_SOFTMAX_TOPK;
            L.cfg.renormalize = mode == 1;
            tt_fill(x, (size_t)T * dim, -1.0f, 1.0f);
            work = work_for(&L.cfg, T, &bytes);
            TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, NULL, NULL, 0) == TFM_OK);
            TT_CHECK(tfm_moe_route(&L.cfg, &L.router.t, x, T, experts, gates, probs, 0) == TFM_OK);
            for (t = 0; t < T; t++) {
                double gsum = 1.0, err;
                if (mode == 2) { /* not renormalised: the gates sum to the top-k probability mass */
                    double logits[256], rp[256], rg[256];
                    int re[256];
                    ref_logits(logits, x + t * dim, &L);
                    ref_gate(&L.cfg, logits, re, rg, rp);
                    for (gsum = 0, i = 0; i < k; i++) gsum += rg[i];
                }
                ref_ffn(want, x + t * dim, L.gate.values, L.up.values, L.down.values, dim, hidden, TFM_F32, TFM_F32);
                for (i = 0; i < dim; i++) want[i] *= gsum;
                err = rel_err(out + t * dim, want, (size_t)dim);
                TT_ASSERT(err < 2e-5, "k %d mode %d token %d: relative error %g", k, mode, t, err);
            }
            free(x);
            free(out);
            free(work);
            layer_free(&L);
        }
}

/* Router weights that make logits = the first E entries of x exactly (identity rows), so the routing
   of every token is chosen by the test. */
static void identity_router(test_layer *L)
{
    int e, i;
    for (e = 0; e < L->cfg.n_experts; e++)
        for (i = 0; i < L->cfg.dim; i++) L->router.values[e * L->cfg.dim + i] = i == e ? 1.0f : 0.0f;
    mat_store(&L->router);
}

/* Capacity: the documented (rank, token) order decides which assignments drop. */
static void test_capacity_drops(void)
{
    enum { dim = 33, hidden = 71, E = 4, k = 2, T = 7 };
    /* tokens 0-2 choose (0, 1), tokens 3-6 choose (1, 0): with capacity ceil(1.0 * 7 * 2 / 4) = 4,
       expert 0 takes the first choices of tokens 0-2 then token 3's second choice; expert 1 takes the
       first choices of tokens 3-6 and none of the second choices of tokens 0-2. */
    const int kept[T * 2] = {1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0};
    test_layer L;
    float x[T * 33], out[T * 33];
    double want[T * 33], err;
    int t, i, dropped = -1;
    size_t bytes;
    void *work;
    tfm_moe_stats st;
    tt_seed(41);
    layer_make(&L, dim, hidden, E, k, 0, TFM_F32, TFM_F32);
    identity_router(&L);
    tt_fill(x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    for (t = 0; t < T; t++) {
        float *xt = x + t * dim;
        xt[0] = t < 3 ? 2.0f : 1.0f;
        xt[1] = t < 3 ? 1.0f : 2.0f;
        xt[2] = -1.0f;
        xt[3] = -2.0f;
    }
    L.cfg.capacity_factor = 1.0f;
    work = work_for(&L.cfg, T, &bytes);
    TT_CHECK(tfm_moe_stats_init(&st, E) == TFM_OK);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, &st, &dropped, 0) == TFM_OK);
    TT_ASSERT(dropped == 6, "dropped %d, want 6", dropped);
    TT_CHECK(st.n_dropped == 6 && st.dropped[0] == 3 && st.dropped[1] == 3 && st.dropped[2] == 0);
    TT_CHECK(st.selected[0] == 7 && st.selected[1] == 7 && st.n_assigned == 14);
    ref_forward(want, x, T, &L, kept);
    err = rel_err(out, want, sizeof out / sizeof out[0]);
    TT_ASSERT(err < 2e-5, "relative error %g against the kept set", err);

    /* capacity 1.5 -> ceil(5.25) = 6: expert 0 keeps rank 0 of 0-2 and rank 1 of 3-5; expert 1 all
       4 first choices and the second choices of tokens 0-1 */
    {
        const int kept2[T * 2] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0};
        L.cfg.capacity_factor = 1.5f;
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, NULL, &dropped, 0) == TFM_OK);
        TT_ASSERT(dropped == 2, "dropped %d, want 2", dropped);
        ref_forward(want, x, T, &L, kept2);
        err = rel_err(out, want, sizeof out / sizeof out[0]);
        TT_ASSERT(err < 2e-5, "relative error %g against the kept set", err);
    }
    /* the rule as a plain loop, on random routing and capacities; checked through the stats */
    {
        int trial;
        for (trial = 0; trial < 20; trial++) {
            int count[4] = {0, 0, 0, 0}, want_drop[4] = {0, 0, 0, 0}, r, e, cap, total = 0;
            int order[4];
            double logits[4];
            float cf = 0.25f + 0.125f * (float)(trial % 10);
            for (t = 0; t < T; t++)
                for (i = 0; i < 4; i++) x[t * dim + i] = (float)(tt_next() % 64) / 4.0f;
            L.cfg.capacity_factor = cf;
            cap = (int)ceil((double)cf * T * k / E);
            for (r = 0; r < k; r++)
                for (t = 0; t < T; t++) {
                    for (i = 0; i < 4; i++) logits[i] = x[t * dim + i];
                    ref_rank(order, logits, 4);
                    e = order[r];
                    if (count[e] < cap) count[e]++;
                    else want_drop[e]++, total++;
                }
            tfm_moe_stats_reset(&st);
            TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, &st, &dropped, 0) == TFM_OK);
            TT_ASSERT(dropped == total, "trial %d: dropped %d want %d", trial, dropped, total);
            for (e = 0; e < 4; e++) TT_ASSERT(st.dropped[e] == want_drop[e], "trial %d expert %d", trial, e);
        }
    }
    /* one token never drops, however small the factor */
    L.cfg.capacity_factor = 0.001f;
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 1, work, bytes, NULL, &dropped, 0) == TFM_OK);
    TT_CHECK(dropped == 0);
    /* a token with both assignments dropped and no shared expert gives zeros */
    for (t = 0; t < T; t++) {
        x[t * dim + 0] = 2.0f;
        x[t * dim + 1] = 1.0f;
        x[t * dim + 2] = -1.0f;
        x[t * dim + 3] = -2.0f;
    }
    L.cfg.capacity_factor = 0.5f; /* ceil(1.75) = 2: tokens 0, 1 keep expert 0; 0, 1 keep expert 1 */
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, NULL, &dropped, 0) == TFM_OK);
    TT_ASSERT(dropped == 10, "dropped %d", dropped);
    for (i = 2 * dim; i < T * dim; i++) TT_ASSERT(out[i] == 0.0f, "dropped token output %g", out[i]);
    tfm_moe_stats_free(&st);
    free(work);
    layer_free(&L);
}

/* ---------------------------------------------------------------- statistics */

static void test_stats(void)
{
    enum { dim = 33, hidden = 16, E = 8, k = 2 };
    static const int batches[] = {7, 1, 128, 3};
    test_layer L;
    tfm_moe_stats st, st2;
    double ref_sel[8] = {0}, ref_prob[8] = {0}, f, P, loss = 0;
    int b, t, r, e, n_tokens = 0;
    size_t bytes;
    void *work;
    float *out = (float *)tt_alloc(sizeof(float) * 128 * 33);
    tt_seed(51);
    layer_make(&L, dim, hidden, E, k, 0, TFM_F32, TFM_F32);
    work = work_for(&L.cfg, 128, &bytes);
    TT_CHECK(tfm_moe_stats_init(&st, E) == TFM_OK);
    TT_CHECK(tfm_moe_stats_init(&st2, E) == TFM_OK);
    TT_CHECK(tfm_moe_stats_aux_loss(&st) == 0.0 && tfm_moe_stats_mean_prob(&st, 0) == 0.0);
    for (b = 0; b < 4; b++) {
        int T = batches[b];
        float *x = clear_tokens(&L, T);
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, &st, NULL, 0) == TFM_OK);
        for (t = 0; t < T; t++) {
            double logits[256], rp[256], rg[256];
            int re[256];
            ref_logits(logits, x + t * dim, &L);
            ref_gate(&L.cfg, logits, re, rg, rp);
            for (r = 0; r < k; r++) ref_sel[re[r]] += 1;
            for (e = 0; e < E; e++) ref_prob[e] += rp[e];
        }
        n_tokens += T;
        free(x);
    }
    TT_CHECK(st.n_tokens == n_tokens && st.n_assigned == (int64_t)n_tokens * k && st.n_dropped == 0);
    for (e = 0; e < E; e++) {
        TT_ASSERT(st.selected[e] == (int64_t)ref_sel[e], "expert %d selected %lld want %g", e, (long long)st.selected[e], ref_sel[e]);
        f = ref_sel[e] / (n_tokens * k);
        P = ref_prob[e] / n_tokens;
        TT_ASSERT(tt_close(tfm_moe_stats_fraction(&st, e), f, 1e-12, 1e-12), "fraction");
        TT_ASSERT(tt_close(tfm_moe_stats_mean_prob(&st, e), P, 1e-6, 1e-5), "mean prob %g want %g", tfm_moe_stats_mean_prob(&st, e), P);
        loss += f * P;
    }
    loss *= E;
    TT_ASSERT(tt_close(tfm_moe_stats_aux_loss(&st), loss, 1e-6, 1e-5), "aux loss %g want %g", tfm_moe_stats_aux_loss(&st), loss);
    /* add: twice the counts, the same ratios */
    TT_CHECK(tfm_moe_stats_add(&st2, &st) == TFM_OK && tfm_moe_stats_add(&st2, &st) == TFM_OK);
    TT_CHECK(st2.n_tokens == 2 * st.n_tokens && st2.selected[3] == 2 * st.selected[3]);
    TT_ASSERT(tt_close(tfm_moe_stats_aux_loss(&st2), loss, 1e-6, 1e-5), "aux loss after add");
    if (getenv("TFM_TEST_VERBOSE")) tfm_moe_stats_print(&st, "moe", stdout);
    tfm_moe_stats_free(&st2);
    TT_CHECK(tfm_moe_stats_init(&st2, E - 1) == TFM_OK);
    TT_CHECK(tfm_moe_stats_add(&st2, &st) == TFM_ERR_INVALID_ARGUMENT);
    /* a stats struct of another expert count is refused and left alone */
    {
        float *x = clear_tokens(&L, 2);
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 2, work, bytes, &st2, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(st2.n_tokens == 0);
        free(x);
    }
    tfm_moe_stats_free(&st2);
    /* collapse (k = 1, one expert always far ahead): loss -> E; balanced: exactly 1 */
    {
        tfm_moe_config c1 = L.cfg;
        float x[4 * 33];
        c1.n_used = 1;
        identity_router(&L);
        for (t = 0; t < 4; t++)
            for (e = 0; e < dim; e++) x[t * dim + e] = e == 5 ? 30.0f : 0.0f;
        tfm_moe_stats_reset(&st);
        TT_CHECK(tfm_moe_forward(&c1, &L.w, out, x, 4, work, bytes, &st, NULL, 0) == TFM_OK);
        TT_ASSERT(tt_close(tfm_moe_stats_aux_loss(&st), E, 1e-6, 1e-6), "collapsed loss %g", tfm_moe_stats_aux_loss(&st));
        for (t = 0; t < 4; t++)
            for (e = 0; e < dim; e++) x[t * dim + e] = 0.0f; /* all logits 0: uniform p, ties to expert 0 */
        tfm_moe_stats_reset(&st);
        TT_CHECK(tfm_moe_forward(&c1, &L.w, out, x, 4, work, bytes, &st, NULL, 0) == TFM_OK);
        TT_ASSERT(st.selected[0] == 4, "ties route to expert 0");
        TT_ASSERT(tt_close(tfm_moe_stats_aux_loss(&st), 1.0, 1e-6, 1e-6), "uniform-p loss %g", tfm_moe_stats_aux_loss(&st));
    }
    tfm_moe_stats_free(&st);
    free(out);
    free(work);
    layer_free(&L);
}

/* ---------------------------------------------------------------- expert FFN, dtypes, threads */

static void test_expert_ffn(void)
{
    static const tfm_dtype dts[] = {TFM_F32, TFM_F16, TFM_BF16};
    static const int rows[] = {1, 5, 40};
    size_t di, ri;
    tt_seed(61);
    for (di = 0; di < 3; di++)
        for (ri = 0; ri < 3; ri++) {
            test_layer L;
            int n = rows[ri], e, i;
            float *x = (float *)tt_alloc(sizeof(float) * n * 33), *y = (float *)tt_alloc(sizeof(float) * n * 33);
            void *scratch;
            size_t sb = 0;
            double want[33], err;
            layer_make(&L, 33, 71, 3, 1, 0, TFM_F32, dts[di]);
            TT_CHECK(tfm_moe_expert_scratch_size(n, &L.gate.t, &L.up.t, &L.down.t, &sb) == TFM_OK && sb >= sizeof(float) * 2 * n * 71);
            scratch = tt_alloc(sb);
            tt_fill(x, (size_t)n * 33, -1.0f, 1.0f);
            for (e = 0; e < 3; e++) {
                TT_CHECK(tfm_moe_expert_ffn(y, x, n, &L.gate.t, &L.up.t, &L.down.t, e, scratch, sb, 0) == TFM_OK);
                for (i = 0; i < n; i++) {
                    ref_expert(want, x + i * 33, &L, e);
                    err = rel_err(y + i * 33, want, 33);
                    TT_ASSERT(err < 2e-5, "%s rows %d expert %d row %d: %g", tfm_dtype_name(dts[di]), n, e, i, err);
                }
            }
            /* in place (y == x) */
            memcpy(y, x, sizeof(float) * n * 33);
            TT_CHECK(tfm_moe_expert_ffn(y, y, n, &L.gate.t, &L.up.t, &L.down.t, 2, scratch, sb, 0) == TFM_OK);
            ref_expert(want, x + (n - 1) * 33, &L, 2);
            TT_ASSERT(rel_err(y + (n - 1) * 33, want, 33) < 2e-5, "in place");
            TT_CHECK(tfm_moe_expert_ffn(y, x, n, &L.gate.t, &L.up.t, &L.down.t, 3, scratch, sb, 0) == TFM_ERR_OUT_OF_RANGE);
            TT_CHECK(tfm_moe_expert_ffn(y, x, n, &L.gate.t, &L.up.t, &L.down.t, -1, scratch, sb, 0) == TFM_ERR_OUT_OF_RANGE);
            TT_CHECK(tfm_moe_expert_ffn(y, x, n, &L.gate.t, &L.down.t, &L.down.t, 0, scratch, sb, 0) == TFM_ERR_SHAPE);
            TT_CHECK(tfm_moe_expert_ffn(y, x, n, &L.gate.t, &L.up.t, &L.down.t, 0, scratch, sb - 1, 0) == TFM_ERR_INVALID_ARGUMENT);
            TT_CHECK(tfm_moe_expert_scratch_size(0, &L.gate.t, &L.up.t, &L.down.t, &sb) == TFM_ERR_INVALID_ARGUMENT);
            free(x);
            free(y);
            free(scratch);
            layer_free(&L);
        }
}

/* f16 and bf16 expert, shared and router weights through the whole block. */
static void test_half_weights(void)
{
    static const tfm_dtype dts[] = {TFM_F16, TFM_BF16};
    size_t di;
    tt_seed(71);
    for (di = 0; di < 2; di++) {
        enum { T = 128, dim = 33 };
        test_layer L;
        float *x, *out = (float *)tt_alloc(sizeof(float) * T * dim);
        double *want = (double *)tt_alloc(sizeof(double) * T * dim), err;
        size_t bytes;
        void *work;
        layer_make(&L, dim, 71, 8, 2, 24, dts[di], dts[di]);
        x = clear_tokens(&L, T);
        work = work_for(&L.cfg, T, &bytes);
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, NULL, NULL, 0) == TFM_OK);
        ref_forward(want, x, T, &L, NULL);
        err = rel_err(out, want, (size_t)T * dim);
        TT_ASSERT(err < 2e-5, "%s: relative error %g", tfm_dtype_name(dts[di]), err);
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 1, work, bytes, NULL, NULL, 0) == TFM_OK);
        TT_ASSERT(rel_err(out, want, (size_t)dim) < 2e-5, "%s one token", tfm_dtype_name(dts[di]));
        free(x);
        free(out);
        free(want);
        free(work);
        layer_free(&L);
    }
}

/* Quantized weights of every type the int8 kernels take, a Q4_K_M-style mix and a shared expert,
   against float64 on the dequantized weights and the activations quantized as the kernels do. What
   remains is float rounding, except for q4_1, whose minimum term multiplies q8_1's block sum s, stored
   as fp16 (GGML's format) where the decoded activations carry the exact sum. The router is f32, so
   routing is exact. */
static void test_quantized_weights(void)
{
    static const tfm_dtype gate_dts[] = {TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K, TFM_Q6_K, TFM_Q4_K,
                                         TFM_Q5_0, TFM_Q5_1, TFM_IQ4_NL, TFM_Q2_K, TFM_Q3_K, TFM_Q5_K, TFM_IQ4_XS};
    static const tfm_dtype down_dts[] = {TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K, TFM_Q6_K, TFM_Q6_K,
                                         TFM_Q5_0, TFM_Q5_1, TFM_IQ4_NL, TFM_Q3_K, TFM_Q2_K, TFM_Q5_K, TFM_IQ4_XS};
    size_t i;
    tt_seed(75);
    for (i = 0; i < sizeof gate_dts / sizeof gate_dts[0]; i++) {
        int kquant = tfm_dtype_block_size(gate_dts[i]) == 256, T = 9;
        double tol = gate_dts[i] == TFM_Q4_1 || gate_dts[i] == TFM_Q5_1 ? 1e-2 : 1e-5;
        int dim = kquant ? 256 : 96, hidden = kquant ? (tt_quick() ? 256 : 512) : 160; /* (quantizing is the cost) */
        test_layer L;
        float *x, *out = (float *)tt_alloc(sizeof(float) * T * dim);
        double *want = (double *)tt_alloc(sizeof(double) * T * dim), err;
        size_t bytes;
        void *work;
        layer_make2(&L, dim, hidden, 4, 2, i == 5 ? 2 * hidden : 0, TFM_F32, gate_dts[i], down_dts[i]);
        x = clear_tokens(&L, T);
        work = work_for(&L.cfg, T, &bytes);
        TT_CHECK(tfm_moe_validate(&L.cfg, &L.w, NULL) == TFM_OK);
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, NULL, NULL, 0) == TFM_OK);
        ref_forward(want, x, T, &L, NULL);
        err = rel_err(out, want, (size_t)T * dim);
        TT_ASSERT(err < tol, "%s/%s: relative error %g", tfm_dtype_name(gate_dts[i]), tfm_dtype_name(down_dts[i]), err);
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 1, work, bytes, NULL, NULL, 0) == TFM_OK);
        err = rel_err(out, want, (size_t)dim);
        TT_ASSERT(err < tol, "%s one token: relative error %g", tfm_dtype_name(gate_dts[i]), err);
        free(x);
        free(out);
        free(want);
        free(work);
        layer_free(&L);
    }
}

/* Everything quantized, the router too: a quantized gemm row equals the gemv of that row, so the
   batched dispatch must give each token exactly what the one-token path gives it, bit for bit,
   whatever the grouping; and a batch allocates nothing. */
static void test_quantized_batch_equals_tokens(void)
{
    enum { T = 37, dim = 128, hidden = 96 };
    test_layer L;
    float *x = (float *)tt_alloc(sizeof(float) * T * dim), *out = (float *)tt_alloc(sizeof(float) * T * dim);
    float one[dim];
    size_t bytes;
    void *work;
    long calls;
    int t, dropped = -1;
    tt_seed(77);
    layer_make2(&L, dim, hidden, 8, 2, 64, TFM_Q8_0, TFM_Q4_0, TFM_Q8_0);
    tt_fill(x, (size_t)T * dim, -1.0f, 1.0f);
    work = work_for(&L.cfg, T, &bytes);
    calls = hook_calls;
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, T, work, bytes, NULL, &dropped, 1) == TFM_OK && dropped == 0);
    TT_ASSERT(hook_calls == calls, "a quantized batch made %ld allocations", hook_calls - calls);
    for (t = 0; t < T; t++) {
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, one, x + t * dim, 1, work, bytes, NULL, NULL, 1) == TFM_OK);
        TT_ASSERT(memcmp(one, out + t * dim, sizeof one) == 0, "token %d differs between batch and one-token path", t);
    }
    free(x);
    free(out);
    free(work);
    layer_free(&L);
}

/* 1 vs 2 threads, bit for bit, on shapes large enough that the matmuls really split. */
static void test_threads_bit_exact(void)
{
    static const int token_counts[] = {1, 7, 128};
    enum { dim = 160, hidden = 288 };
    size_t ti;
    test_layer L;
    size_t bytes;
    void *work;
    tt_seed(81);
    layer_make(&L, dim, hidden, 4, 2, 96, TFM_F32, TFM_F32);
    L.cfg.capacity_factor = 1.25f;
    work = work_for(&L.cfg, 128, &bytes);
    for (ti = 0; ti < 3; ti++) {
        int T = token_counts[ti], d1 = -1, d2 = -2;
        float *x = (float *)tt_alloc(sizeof(float) * T * dim);
        float *a = (float *)tt_alloc(sizeof(float) * T * dim), *b = (float *)tt_alloc(sizeof(float) * T * dim);
        tt_fill(x, (size_t)T * dim, -1.0f, 1.0f);
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, a, x, T, work, bytes, NULL, &d1, 1) == TFM_OK);
        TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, b, x, T, work, bytes, NULL, &d2, 2) == TFM_OK);
        TT_ASSERT(d1 == d2, "dropped %d vs %d", d1, d2);
        TT_ASSERT(memcmp(a, b, sizeof(float) * T * dim) == 0, "T %d: 1 and 2 threads differ", T);
        free(x);
        free(a);
        free(b);
    }
    free(work);
    layer_free(&L);
}

/* ---------------------------------------------------------------- workspace and bad input */

static void test_workspace(void)
{
    test_layer L;
    size_t small, big, bytes;
    unsigned char *buffer;
    float x[7 * 33], out[7 * 33], ref[7 * 33];
    tt_seed(91);
    layer_make(&L, 33, 71, 8, 2, 0, TFM_F32, TFM_F32);
    TT_CHECK(tfm_moe_workspace_size(&L.cfg, 1, &small) == TFM_OK);
    TT_CHECK(tfm_moe_workspace_size(&L.cfg, 7, &big) == TFM_OK);
    TT_CHECK(small > 0 && big > small);
    tt_fill(x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    buffer = (unsigned char *)tt_alloc(big + 3);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, ref, x, 7, buffer, big, NULL, NULL, 0) == TFM_OK);
    /* any alignment of the buffer works and gives the same result */
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 7, buffer + 3, big, NULL, NULL, 0) == TFM_OK);
    TT_CHECK(memcmp(out, ref, sizeof out) == 0);
    /* a workspace sized for 1 token runs one token, not seven */
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 1, buffer, small, NULL, NULL, 0) == TFM_OK);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 7, buffer, small, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 7, buffer, big - 1, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_workspace_size(&L.cfg, 0, &bytes) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_workspace_size(&L.cfg, 7, NULL) == TFM_ERR_INVALID_ARGUMENT);
    L.cfg.dim = 1 << 30;
    L.cfg.n_used = 8;
    TT_CHECK(tfm_moe_workspace_size(&L.cfg, 1 << 30, &bytes) == TFM_ERR_OUT_OF_RANGE);
    free(buffer);
    layer_free(&L);
}

/* Decode allocates nothing; nothing leaks; a failed allocation inside the block is a status. */
static void test_allocations(void)
{
    test_layer L;
    tfm_moe_stats st;
    float x[16 * 48], out[16 * 48];
    size_t bytes;
    void *work;
    long calls;
    tt_seed(111);
    layer_make(&L, 48, 64, 4, 2, 32, TFM_F32, TFM_F32);
    work = work_for(&L.cfg, 16, &bytes);
    tt_fill(x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    TT_CHECK(tfm_moe_stats_init(&st, 4) == TFM_OK);
    calls = hook_calls;
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 1, work, bytes, &st, NULL, 1) == TFM_OK);
    TT_ASSERT(hook_calls == calls, "one-token forward made %ld allocations", hook_calls - calls);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 16, work, bytes, &st, NULL, 1) == TFM_OK);
    TT_ASSERT(hook_live == 1, "%ld blocks live after a batch (want the stats' one)", hook_live);
    tfm_moe_stats_free(&st);
    TT_CHECK(hook_live == 0);
    hook_fail = 1;
    TT_CHECK(tfm_moe_stats_init(&st, 4) == TFM_ERR_OUT_OF_MEMORY);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 1, work, bytes, NULL, NULL, 1) == TFM_OK);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 16, work, bytes, NULL, NULL, 1) == TFM_ERR_OUT_OF_MEMORY);
    hook_fail = 0;
    TT_CHECK(hook_live == 0);
    tfm_moe_stats_free(&st);
    free(work);
    layer_free(&L);
}

static void test_bad_input(void)
{
    test_layer L;
    tfm_moe_config c;
    tfm_moe_weights w;
    tfm_error err;
    tfm_tensor bad;
    float x[33], out[33];
    size_t bytes;
    void *work;
    int64_t ne[3];
    tt_seed(101);
    layer_make(&L, 33, 71, 8, 2, 0, TFM_F32, TFM_F32);
    work = work_for(&L.cfg, 1, &bytes);
    tt_fill(x, 33, -1.0f, 1.0f);
    TT_CHECK(tfm_moe_validate(&L.cfg, &L.w, &err) == TFM_OK);

#define EXPECT_CFG(field, value, status)                                                                         \
    do {                                                                                                         \
        c = L.cfg;                                                                                               \
        c.field = value;                                                                                         \
        TT_ASSERT(tfm_moe_validate(&c, &L.w, &err) == (status) && err.message[0], #field " = " #value ": %s",   \
                  err.message);                                                                                  \
        TT_CHECK(tfm_moe_forward(&c, &L.w, out, x, 1, work, bytes, NULL, NULL, 0) == (status));               \
    } while (0)
    EXPECT_CFG(n_used, 9, TFM_ERR_INVALID_ARGUMENT);
    TT_ASSERT(strstr(err.message, "exceeds") != NULL, "message: %s", err.message);
    EXPECT_CFG(n_used, 0, TFM_ERR_INVALID_ARGUMENT);
    EXPECT_CFG(n_experts, 0, TFM_ERR_INVALID_ARGUMENT);
    EXPECT_CFG(n_experts, -3, TFM_ERR_INVALID_ARGUMENT);
    EXPECT_CFG(dim, 0, TFM_ERR_INVALID_ARGUMENT);
    EXPECT_CFG(hidden, -1, TFM_ERR_INVALID_ARGUMENT);
    EXPECT_CFG(capacity_factor, -1.0f, TFM_ERR_INVALID_ARGUMENT);
    EXPECT_CFG(capacity_factor, NAN, TFM_ERR_INVALID_ARGUMENT);
#ifndef TFM_TEST_IMPL_CXX /* C++ gives a two-value enum no other value: there, passing one is the caller's UB */
    EXPECT_CFG(gating, (tfm_moe_gating)7, TFM_ERR_INVALID_ARGUMENT);
#endif
    EXPECT_CFG(shared_hidden, 5, TFM_ERR_INVALID_ARGUMENT); /* no shared tensors given */
    EXPECT_CFG(n_experts, 7, TFM_ERR_SHAPE);                /* tensors have 8 */
    EXPECT_CFG(hidden, 70, TFM_ERR_SHAPE);
    EXPECT_CFG(dim, 32, TFM_ERR_SHAPE);
#undef EXPECT_CFG

#define EXPECT_W(field, value, status)                                                                           \
    do {                                                                                                         \
        w = L.w;                                                                                                 \
        w.field = value;                                                                                         \
        TT_ASSERT(tfm_moe_validate(&L.cfg, &w, &err) == (status) && err.message[0], #field ": %s", err.message); \
        TT_CHECK(tfm_moe_forward(&L.cfg, &w, out, x, 1, work, bytes, NULL, NULL, 0) == (status));             \
    } while (0)
    EXPECT_W(router, NULL, TFM_ERR_INVALID_ARGUMENT);
    EXPECT_W(down_exps, NULL, TFM_ERR_INVALID_ARGUMENT);
    EXPECT_W(down_exps, &L.gate.t, TFM_ERR_SHAPE); /* {dim, hidden, E} where {hidden, dim, E} is due */
    TT_ASSERT(strstr(err.message, "down_exps") != NULL, "message names the tensor: %s", err.message);
    EXPECT_W(gate_exps, &L.down.t, TFM_ERR_SHAPE);
    EXPECT_W(router, &L.gate.t, TFM_ERR_SHAPE);
    EXPECT_W(gate_shexp, &L.gate.t, TFM_ERR_INVALID_ARGUMENT); /* shared tensor without shared_hidden */
    /* experts stacked in ne[3] instead of ne[2] */
    bad = L.up.t;
    bad.ne[2] = 1;
    bad.ne[3] = 8;
    bad.nb[3] = bad.nb[2];
    EXPECT_W(up_exps, &bad, TFM_ERR_SHAPE);
    /* rows not contiguous */
    bad = L.up.t;
    bad.nb[1] += 4;
    EXPECT_W(up_exps, &bad, TFM_ERR_SHAPE);
    /* experts overlapping */
    bad = L.up.t;
    bad.nb[2] = bad.nb[1];
    EXPECT_W(up_exps, &bad, TFM_ERR_SHAPE);
    /* a dtype the matmuls do not take */
    ne[0] = 33;
    ne[1] = 71;
    ne[2] = 8;
    TT_CHECK(tfm_tensor_init(&bad, TFM_I32, 3, ne, L.up.storage) == TFM_OK);
    EXPECT_W(up_exps, &bad, TFM_ERR_UNSUPPORTED);
    bad.dtype = TFM_DTYPE_COUNT; /* no dtype, inside the enum's range */
    EXPECT_W(up_exps, &bad, TFM_ERR_UNSUPPORTED);
    bad = L.up.t;
    bad.dtype = TFM_Q8_K; /* a known dtype without int8 kernels (an activation format) */
    EXPECT_W(up_exps, &bad, TFM_ERR_UNSUPPORTED);
    bad.dtype = TFM_Q8_0; /* rows of 33 elements cannot be q8_0 blocks */
    EXPECT_W(up_exps, &bad, TFM_ERR_SHAPE);
    bad = L.up.t;
    bad.data = NULL;
    EXPECT_W(up_exps, &bad, TFM_ERR_INVALID_ARGUMENT);
#undef EXPECT_W

    TT_CHECK(tfm_moe_validate(NULL, &L.w, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_validate(&L.cfg, NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_validate(&L.cfg, &L.w, NULL) == TFM_OK);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, NULL, x, 1, work, bytes, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, NULL, 1, work, bytes, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 1, NULL, bytes, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, 0, work, bytes, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_moe_forward(&L.cfg, &L.w, out, x, -1, work, bytes, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    {
        int32_t experts[2];
        float gates[2], probs[8];
        c = L.cfg;
        c.n_used = 9;
        TT_CHECK(tfm_moe_select(&c, probs, 1, experts, gates, probs) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(tfm_moe_select(&L.cfg, NULL, 1, experts, gates, probs) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(tfm_moe_select(&L.cfg, probs, 0, experts, gates, probs) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(tfm_moe_route(&L.cfg, &L.gate.t, x, 1, experts, gates, probs, 0) == TFM_ERR_SHAPE);
        TT_CHECK(tfm_moe_route(&L.cfg, NULL, x, 1, experts, gates, probs, 0) == TFM_ERR_INVALID_ARGUMENT);
    }
    {
        tfm_moe_stats st;
        TT_CHECK(tfm_moe_stats_init(&st, 0) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(tfm_moe_stats_init(NULL, 4) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(tfm_moe_stats_aux_loss(&st) == 0.0 && tfm_moe_stats_fraction(&st, 0) == 0.0);
        tfm_moe_stats_free(&st);
        tfm_moe_stats_free(NULL);
    }
    free(work);
    layer_free(&L);
}

/* ---------------------------------------------------------------- the model's MoE layers */

/* How to upcycle stories260K.gguf into a mixture of experts, and what to spoil for the bad-file tests. */
typedef struct upcycle {
    int n_experts, n_used;
    tfm_dtype expert_type;   /* gate_exps and up_exps (down_exps, 172 columns, stays f32 or f16) */
    int64_t used_key;        /* > 0: llama.expert_used_count written as this instead of n_used; -1: absent */
    int64_t count_key;       /* >= 0 and != n_experts: llama.expert_count written as this */
    const char *drop_tensor; /* a tensor left out */
    const char *short_tensor; /* a tensor written with one expert too few */
    int split_layout;        /* 1: layer 0's experts as separate tensors blk.0.ffn_gate.E (old Mixtral) */
} upcycle;

/* The bytes a tensor holds: n_rows rows of cols f32 values converted to dtype, repeated `copies` times. */
static void *convert_rows(const float *src, int64_t cols, int64_t n_rows, int64_t copies, tfm_dtype dtype)
{
    size_t row_bytes = 0, one;
    unsigned char *out;
    int64_t c, r;
    if (tfm_dtype_row_bytes(dtype, (uint64_t)cols, &row_bytes) != TFM_OK) return NULL;
    one = row_bytes * (size_t)n_rows;
    out = (unsigned char *)tt_alloc(one * (size_t)copies);
    for (r = 0; r < n_rows; r++)
        if (tfm_quantize_row(dtype, src + r * cols, out + (size_t)r * row_bytes, (size_t)cols) != TFM_OK) {
            free(out);
            return NULL;
        }
    for (c = 1; c < copies; c++) memcpy(out + (size_t)c * one, out, one);
    return out;
}

/* stories260K.gguf with every layer's ffn_{gate,up,down} replaced by ffn_gate_inp (uniform +-1 router,
   seeded) and n_experts copies of them stacked in ffn_{gate,up,down}_exps: a GGUF file in memory, as
   llama.cpp's converter lays a Mixtral out. NULL if the shared model is missing. */
static void *write_upcycled(const upcycle *u, size_t *size)
{
    const char *path = tt_shared("models/stories260K.gguf");
    tfm_gguf *g = NULL;
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    void *keep[64], *buf = NULL;
    int n_keep = 0, ok, e;
    int64_t i;
    if (!path || tfm_gguf_open(&g, path, 0, &err) != TFM_OK) return NULL;
    ok = tfm_gguf_writer_create(&w, &err) == TFM_OK;
    for (i = 0; ok && i < tfm_gguf_n_kv(g); i++) ok = tfm_gguf_writer_copy_kv(w, g, i, &err) == TFM_OK;
    ok = ok && tfm_gguf_writer_add_u32(w, "llama.expert_count",
                                       (uint32_t)(u->count_key >= 0 ? u->count_key : u->n_experts), &err) == TFM_OK;
    if (ok && u->used_key >= 0)
        ok = tfm_gguf_writer_add_u32(w, "llama.expert_used_count", (uint32_t)(u->used_key > 0 ? u->used_key : u->n_used),
                                     &err) == TFM_OK;
    tt_seed(260);
    for (i = 0; ok && i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, i);
        const char *ffn = strstr(t->name, ".ffn_");
        tfm_tensor view;
        ok = tfm_gguf_tensor_view(g, i, &view) == TFM_OK;
        if (ok && ffn && strcmp(ffn, ".ffn_norm.weight") != 0) {
            /* blk.N.ffn_{gate,up,down}.weight -> blk.N.ffn_{gate,up,down}_exps.weight */
            char name[96], base[16];
            int64_t ne[3];
            int layer = atoi(t->name + 4);
            int down = strcmp(ffn, ".ffn_down.weight") == 0;
            tfm_dtype dtype = down && u->expert_type != TFM_F32 ? TFM_F16 : u->expert_type;
            size_t len = (size_t)(strstr(ffn, ".weight") - ffn) - 1;
            memcpy(base, ffn + 1, len);
            base[len] = '\0';
            ne[0] = t->ne[0], ne[1] = t->ne[1], ne[2] = u->n_experts;
            snprintf(name, sizeof name, "blk.%d.%s_exps.weight", layer, base);
            if (u->short_tensor && strcmp(name, u->short_tensor) == 0) ne[2]--;
            if (u->drop_tensor && strcmp(name, u->drop_tensor) == 0) continue;
            ok = n_keep < 62 && (keep[n_keep] = convert_rows((const float *)view.data, ne[0], ne[1], ne[2], dtype)) != NULL;
            if (ok && u->split_layout && layer == 0) {
                for (e = 0; ok && e < u->n_experts; e++) {
                    snprintf(name, sizeof name, "blk.0.%s.%d.weight", base, e);
                    ok = tfm_gguf_writer_add_tensor(w, name, dtype, 2, ne, keep[n_keep], &err) == TFM_OK;
                }
            } else if (ok)
                ok = tfm_gguf_writer_add_tensor(w, name, dtype, 3, ne, keep[n_keep], &err) == TFM_OK;
            n_keep++;
            if (ok && !down) continue;
            /* one router per layer, beside its down_exps */
            snprintf(name, sizeof name, "blk.%d.ffn_gate_inp.weight", layer);
            if (u->drop_tensor && strcmp(name, u->drop_tensor) == 0) continue;
            ne[0] = t->ne[1], ne[1] = u->n_experts; /* {dim, E}; down's ne is {hidden, dim} */
            keep[n_keep] = tt_alloc(sizeof(float) * (size_t)(ne[0] * ne[1]));
            tt_fill((float *)keep[n_keep], (size_t)(ne[0] * ne[1]), -1.0f, 1.0f);
            ok = ok && tfm_gguf_writer_add_tensor(w, name, TFM_F32, 2, ne, keep[n_keep++], &err) == TFM_OK;
            continue;
        }
        if (ok) ok = tfm_gguf_writer_add_tensor(w, t->name, t->dtype, t->n_dims, t->ne, view.data, &err) == TFM_OK;
    }
    if (ok) {
        *size = (size_t)tfm_gguf_writer_size(w);
        buf = tt_alloc(*size);
        ok = tfm_gguf_writer_write_buffer(w, buf, *size, &err) == TFM_OK;
    }
    if (!ok) {
        fprintf(stderr, "  writing the upcycled model: %s\n", err.message);
        free(buf);
        buf = NULL;
    }
    while (n_keep > 0) free(keep[--n_keep]);
    tfm_gguf_writer_free(w);
    tfm_gguf_close(g);
    return buf;
}

static tfm_model *load_upcycled(const upcycle *u, void **buf)
{
    size_t size = 0;
    tfm_model *m = NULL;
    tfm_error err;
    *buf = write_upcycled(u, &size);
    if (!*buf) return NULL;
    if (tfm_model_load_memory(*buf, size, &m, &err) != TFM_OK) fprintf(stderr, "  upcycled: %s\n", err.message);
    return m;
}

static upcycle upcycle_make(int n_experts, int n_used, tfm_dtype expert_type)
{
    upcycle u;
    memset(&u, 0, sizeof u);
    u.n_experts = n_experts;
    u.n_used = n_used;
    u.expert_type = expert_type;
    u.count_key = -1;
    return u;
}

static tfm_context *moe_context(const tfm_model *m, int n_threads, int stats)
{
    tfm_context_params p;
    tfm_context *ctx = NULL;
    tfm_error err;
    memset(&p, 0, sizeof p);
    p.context_length = 128;
    p.n_threads = n_threads;
    p.moe_stats = stats;
    if (tfm_context_create(m, &p, &ctx, &err) != TFM_OK) fprintf(stderr, "  context: %s\n", err.message);
    return ctx;
}

/* llama2.c's teacher-forced tokens and logits for "Once upon a time" (128 positions x 512). */
static int golden_once(int *tokens, float **logits)
{
    const char *found;
    char *text, *p;
    size_t size = 0;
    int n = 0;
    if (!(found = tt_shared("golden/stories260K.once_upon_a_time.logits.f32.tokens")) || !(text = tt_read_file(found, NULL)))
        return 0;
    for (p = text; *p && n < 128;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        tokens[n++] = (int)v;
        p = end;
    }
    free(text);
    if (!(found = tt_shared("golden/stories260K.once_upon_a_time.logits.f32")) ||
        !(*logits = (float *)(void *)tt_read_file(found, &size)))
        return 0;
    if (size != (size_t)n * 512 * sizeof(float)) {
        free(*logits);
        return 0;
    }
    return n;
}

/* Experts that are all the dense FFN give the dense model whatever the router picks (the k gates sum to
   1): llama2.c's logits within 1e-4, for top-1 and top-2 of 4 experts; every token routed in every layer. */
static void test_model_upcycled_golden(void)
{
    int tokens[128], n, k, l;
    float *gold = NULL, *got;
    if (!tt_shared("models/stories260K.gguf")) TT_SKIP("stories260K.gguf is missing");
    if (!(n = golden_once(tokens, &gold))) TT_SKIP("golden logits are missing");
    got = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
    for (k = 1; k <= 2; k++) {
        upcycle u = upcycle_make(4, k, TFM_F32);
        void *buf;
        tfm_model *m = load_upcycled(&u, &buf);
        tfm_context *ctx;
        tfm_error err;
        size_t i;
        double worst = 0;
        int64_t used = 0;
        TT_ASSERT(m, "the upcycled model does not load");
        TT_ASSERT(m->config.n_experts == 4 && m->config.n_experts_used == k && m->layers[2].ffn_gate_exps.tensor.ne[2] == 4,
                  "config: %d experts, %d used", m->config.n_experts, m->config.n_experts_used);
        ctx = moe_context(m, 1, 1);
        TT_ASSERT(ctx, "context");
        TT_ASSERT(tfm_forward(ctx, tokens, n, got, TFM_LOGITS_ALL, &err) == TFM_OK, "%s", err.message);
        for (i = 0; i < (size_t)n * 512; i++) {
            double d = fabs((double)got[i] - gold[i]);
            if (d > worst) worst = d;
            TT_ASSERT(d <= 1e-4, "k=%d position %zu logit %zu: %.7g, llama2.c %.7g", k, i / 512, i % 512, got[i], gold[i]);
        }
        for (l = 0; l < m->config.n_layers; l++) {
            const tfm_moe_stats *st = tfm_context_moe_stats(ctx, l);
            int e;
            TT_ASSERT(st && st->n_tokens == n && st->n_assigned == (int64_t)n * k && st->n_dropped == 0,
                      "layer %d stats", l);
            for (e = 0, used = 0; e < 4; e++) used += st->selected[e];
            TT_ASSERT(used == (int64_t)n * k, "layer %d: %lld selections", l, (long long)used);
        }
        TT_ASSERT(!tfm_context_moe_stats(ctx, -1) && !tfm_context_moe_stats(ctx, m->config.n_layers), "layer range");
        tfm_context_moe_stats_reset(ctx);
        TT_ASSERT(tfm_context_moe_stats(ctx, 0)->n_tokens == 0, "reset");
        tfm_context_free(ctx);
        tfm_model_free(m);
        free(buf);
    }
    free(gold), free(got);
}

/* A router that matters (random experts would be better still, but the copies keep a reference): the
   same model through prefill and decode, 1 and 2 threads; quantized experts decode without allocating. */
static void check_prefill_decode(tfm_dtype expert_type, double tol)
{
    upcycle u = upcycle_make(4, 2, expert_type);
    void *buf = NULL;
    tfm_model *m = tt_shared("models/stories260K.gguf") ? load_upcycled(&u, &buf) : NULL;
    tfm_context *c1, *c2, *cd;
    tfm_error err;
    int tokens[40], n = 40, i, t;
    float *pre1, *pre2, *dec1, *dec2;
    long calls;
    double scale = 0, worst = 0;
    if (!tt_shared("models/stories260K.gguf")) TT_SKIP("stories260K.gguf is missing");
    TT_ASSERT(m, "the upcycled model does not load");
    tt_seed(7);
    for (i = 0; i < n; i++) tokens[i] = i == 0 ? 1 : (int)(tt_next() % 512);
    pre1 = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
    pre2 = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
    dec1 = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
    dec2 = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
    c1 = moe_context(m, 1, 1), c2 = moe_context(m, 2, 1), cd = moe_context(m, 2, 0);
    TT_ASSERT(c1 && c2 && cd, "contexts");
    TT_ASSERT(tfm_forward(c1, tokens, n, pre1, TFM_LOGITS_ALL, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_forward(c2, tokens, n, pre2, TFM_LOGITS_ALL, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(memcmp(pre1, pre2, sizeof(float) * (size_t)n * 512) == 0, "%s prefill: 1 and 2 threads differ",
              tfm_dtype_name(expert_type));
    tfm_context_reset(c1), tfm_context_reset(c2);
    /* the first token warms nothing up: the context allocated everything */
    calls = hook_calls;
    for (t = 0; t < n; t++) {
        TT_ASSERT(tfm_forward(c1, tokens + t, 1, dec1 + (size_t)t * 512, TFM_LOGITS_LAST, &err) == TFM_OK, "%s", err.message);
        TT_ASSERT(tfm_forward(c2, tokens + t, 1, dec2 + (size_t)t * 512, TFM_LOGITS_LAST, &err) == TFM_OK, "%s", err.message);
        TT_ASSERT(tfm_forward(cd, tokens + t, 1, NULL, TFM_LOGITS_LAST, &err) == TFM_OK, "%s", err.message);
    }
    if (expert_type != TFM_F32)
        TT_ASSERT(hook_calls == calls, "%s decode allocated %ld times", tfm_dtype_name(expert_type), hook_calls - calls);
    TT_ASSERT(memcmp(dec1, dec2, sizeof(float) * (size_t)n * 512) == 0, "%s decode: 1 and 2 threads differ",
              tfm_dtype_name(expert_type));
    for (i = 0; i < n * 512; i++) scale = fabs(pre1[i]) > scale ? fabs(pre1[i]) : scale;
    for (i = 0; i < n * 512; i++) {
        double d = fabs((double)pre1[i] - dec1[i]);
        worst = d > worst ? d : worst;
    }
    TT_ASSERT(worst <= tol * scale, "%s: prefill and decode differ by %.3g (logit scale %.3g)",
              tfm_dtype_name(expert_type), worst, scale);
    /* statistics count every routed token, prefill and decode alike; off costs nothing */
    TT_ASSERT(tfm_context_moe_stats(c1, 4)->n_tokens == 2 * n && !tfm_context_moe_stats(cd, 0), "stats");
    tfm_context_free(c1), tfm_context_free(c2), tfm_context_free(cd);
    tfm_model_free(m);
    free(buf), free(pre1), free(pre2), free(dec1), free(dec2);
}

static void test_model_prefill_decode_f32(void) { check_prefill_decode(TFM_F32, 1e-5); }
/* q8_0 activations of prefill and decode may round one value apart (tests/test_model.c: 0.5%) */
static void test_model_prefill_decode_q8_0(void) { check_prefill_decode(TFM_Q8_0, 5e-3); }

/* The loader repacks the q8_0 experts where the build has packed kernels (AVX-512 VNNI); the packed and
   the stored layouts give the same logits bit for bit, in prefill (one gemm per expert) and decode. */
static void test_model_packed_experts(void)
{
    upcycle u = upcycle_make(4, 2, TFM_Q8_0);
    void *buf = NULL;
    tfm_model *m = tt_shared("models/stories260K.gguf") ? load_upcycled(&u, &buf) : NULL;
    tfm_error err;
    int tokens[24], n = 24, i, t, v;
    float *got[2][2];
    if (!tt_shared("models/stories260K.gguf")) TT_SKIP("stories260K.gguf is missing");
    TT_ASSERT(m, "the upcycled model does not load");
    TT_ASSERT((m->layers[0].ffn_gate_exps.packed != NULL) == tfm_quant_packable(TFM_Q8_0),
              "the experts are packed iff the build packs q8_0");
    tt_seed(8);
    for (i = 0; i < n; i++) tokens[i] = i == 0 ? 1 : (int)(tt_next() % 512);
    for (v = 0; v < 2; v++) {
        tfm_context *prefill, *decode;
        if (v == 1) tfm_model_unpack(m); /* the same weights as stored: the plain kernels */
        prefill = moe_context(m, 2, 0), decode = moe_context(m, 1, 0);
        got[v][0] = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
        got[v][1] = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
        TT_ASSERT(prefill && decode, "contexts");
        TT_ASSERT(tfm_forward(prefill, tokens, n, got[v][0], TFM_LOGITS_ALL, &err) == TFM_OK, "%s", err.message);
        for (t = 0; t < n; t++)
            TT_ASSERT(tfm_forward(decode, tokens + t, 1, got[v][1] + (size_t)t * 512, TFM_LOGITS_LAST, &err) == TFM_OK, "%s",
                      err.message);
        tfm_context_free(prefill), tfm_context_free(decode);
    }
    TT_ASSERT(memcmp(got[0][0], got[1][0], sizeof(float) * (size_t)n * 512) == 0, "prefill: packed and stored experts differ");
    TT_ASSERT(memcmp(got[0][1], got[1][1], sizeof(float) * (size_t)n * 512) == 0, "decode: packed and stored experts differ");
    for (v = 0; v < 2; v++) free(got[v][0]), free(got[v][1]);
    tfm_model_free(m);
    free(buf);
}

/* A MoE model's context holds no dense feed-forward buffers: its memory is the dense model's (the same
   KV caches, attention and activations; f32 matrices: no quantization workspace) without the two
   [max_batch][hidden] SwiGLU buffers, plus the MoE block's output [max_batch][dim] and workspace; up to
   64 bytes of alignment per buffer either way. The upcycled model still gives the dense model's logits. */
static void test_model_context_memory(void)
{
    upcycle u = upcycle_make(4, 2, TFM_F32);
    void *buf = NULL;
    const char *path = tt_shared("models/stories260K.gguf");
    tfm_model *moe = path ? load_upcycled(&u, &buf) : NULL, *dense = NULL;
    tfm_context *cm, *cd;
    tfm_error err;
    int tokens[48], n = 48, i;
    float *lm, *ld;
    double batch, want, got, worst = 0;
    size_t moe_ws = 0;
    tfm_moe_config moe_cfg;
    if (!path) TT_SKIP("stories260K.gguf is missing");
    TT_ASSERT(moe && tfm_model_load(path, NULL, &dense, &err) == TFM_OK, "models");
    cm = moe_context(moe, 1, 0), cd = moe_context(dense, 1, 0);
    TT_ASSERT(cm && cd && tfm_context_max_batch(cm) == tfm_context_max_batch(cd), "contexts");
    batch = tfm_context_max_batch(cm);
    moe_cfg = tfm_moe_config_make(moe->config.dim, moe->config.hidden_dim, 4, 2);
    TT_ASSERT(tfm_moe_workspace_size(&moe_cfg, (int)batch, &moe_ws) == TFM_OK, "MoE workspace");
    want = (double)tfm_context_memory_bytes(cd) - 2 * batch * dense->config.hidden_dim * sizeof(float) +
           batch * moe->config.dim * sizeof(float) + (double)moe_ws;
    got = (double)tfm_context_memory_bytes(cm);
    TT_ASSERT(fabs(got - want) <= 3 * 64, "MoE context %.0f bytes, want %.0f (dense %zu, max_batch %.0f, hidden %d)", got,
              want, tfm_context_memory_bytes(cd), batch, dense->config.hidden_dim);
    tt_seed(11);
    for (i = 0; i < n; i++) tokens[i] = i == 0 ? 1 : (int)(tt_next() % 512);
    lm = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
    ld = (float *)tt_alloc(sizeof(float) * (size_t)n * 512);
    TT_ASSERT(tfm_forward(cm, tokens, n, lm, TFM_LOGITS_ALL, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_forward(cd, tokens, n, ld, TFM_LOGITS_ALL, &err) == TFM_OK, "%s", err.message);
    for (i = 0; i < n * 512; i++) worst = fabs((double)lm[i] - ld[i]) > worst ? fabs((double)lm[i] - ld[i]) : worst;
    TT_ASSERT(worst <= 1e-4, "upcycled and dense logits differ by %.3g", worst);
    tfm_context_free(cm), tfm_context_free(cd);
    tfm_model_free(moe), tfm_model_free(dense);
    free(buf), free(lm), free(ld);
}

/* A bad upcycled file fails to load with `want` and a one-line message holding `says`. */
static void expect_bad_upcycled(const upcycle *u, tfm_status want, const char *says)
{
    size_t size = 0;
    void *buf = write_upcycled(u, &size);
    tfm_model *m = NULL;
    tfm_error err;
    tfm_status s;
    TT_ASSERT(buf, "writing the upcycled file");
    s = tfm_model_load_memory(buf, size, &m, &err);
    TT_ASSERT(s == want && !m && strstr(err.message, says) && !strchr(err.message, '\n'),
              "status %d (want %d), message '%s' (want '%s')", (int)s, (int)want, err.message, says);
    free(buf);
}

static void test_model_bad_files(void)
{
    upcycle u;
    tfm_model *m;
    tfm_context *ctx;
    tfm_error err;
    void *buf;
    FILE *f;
    char text[256];
    if (!tt_shared("models/stories260K.gguf")) TT_SKIP("stories260K.gguf is missing");
    u = upcycle_make(4, 2, TFM_F32), u.used_key = 5;
    expect_bad_upcycled(&u, TFM_ERR_FORMAT, "llama.expert_used_count 5 must be 1..llama.expert_count (4)");
    u = upcycle_make(4, 2, TFM_F32), u.used_key = -1;
    expect_bad_upcycled(&u, TFM_ERR_FORMAT, "llama.expert_used_count 0");
    u = upcycle_make(4, 2, TFM_F32), u.count_key = 0;
    expect_bad_upcycled(&u, TFM_ERR_FORMAT, "no experts");
    u = upcycle_make(4, 2, TFM_F32), u.count_key = 3;
    expect_bad_upcycled(&u, TFM_ERR_FORMAT, "tensor 'blk.0.ffn_gate_inp.weight' has shape {64, 4, 1, 1}");
    u = upcycle_make(4, 2, TFM_F32), u.short_tensor = "blk.3.ffn_up_exps.weight";
    expect_bad_upcycled(&u, TFM_ERR_FORMAT, "tensor 'blk.3.ffn_up_exps.weight' has shape {64, 172, 3, 1}");
    u = upcycle_make(4, 2, TFM_F32), u.drop_tensor = "blk.2.ffn_gate_inp.weight";
    expect_bad_upcycled(&u, TFM_ERR_FORMAT, "blk.2.ffn_gate_inp.weight");
    u = upcycle_make(4, 2, TFM_F32), u.split_layout = 1;
    expect_bad_upcycled(&u, TFM_ERR_UNSUPPORTED, "early Mixtral layout");

    /* tfm_model_check names the layer and the tensor of a model changed after load */
    u = upcycle_make(4, 2, TFM_F32);
    m = load_upcycled(&u, &buf);
    TT_ASSERT(m, "upcycled model");
    m->layers[1].ffn_down_exps.tensor.ne[1] = 63;
    TT_ASSERT(tfm_model_check(m, &err) == TFM_ERR_SHAPE && strstr(err.message, "layer 1") &&
                  strstr(err.message, "down_exps"), "check: %s", err.message);
    m->layers[1].ffn_down_exps.tensor.ne[1] = 64;
    m->config.n_experts_used = 5;
    TT_ASSERT(tfm_model_check(m, &err) == TFM_ERR_FORMAT && strstr(err.message, "expert_used_count 5"), "check: %s",
              err.message);
    m->config.n_experts_used = 2;
    TT_ASSERT(tfm_model_check(m, &err) == TFM_OK, "restored: %s", err.message);

    /* statistics that are off say so */
    ctx = moe_context(m, 1, 0);
    f = tmpfile();
    TT_ASSERT(ctx && f, "context");
    tfm_context_moe_stats_print(ctx, f);
    rewind(f);
    TT_ASSERT(fgets(text, sizeof text, f) && strstr(text, "not enabled"), "print without stats: %s", text);
    fclose(f);
    tfm_context_free(ctx);
    tfm_model_free(m);
    free(buf);
}

/* The printout: one block per layer and the total, the fractions and the aux loss as tfm_moe_stats has them. */
static void test_model_stats_print(void)
{
    upcycle u = upcycle_make(4, 2, TFM_F32);
    void *buf = NULL;
    tfm_model *m = tt_shared("models/stories260K.gguf") ? load_upcycled(&u, &buf) : NULL;
    tfm_context *ctx;
    tfm_error err;
    int tokens[8] = {1, 403, 407, 261, 378, 410, 8, 30};
    char *text;
    long size;
    FILE *f;
    if (!tt_shared("models/stories260K.gguf")) TT_SKIP("stories260K.gguf is missing");
    TT_ASSERT(m, "the upcycled model does not load");
    ctx = moe_context(m, 1, 1);
    f = tmpfile();
    TT_ASSERT(ctx && f && tfm_forward(ctx, tokens, 8, NULL, TFM_LOGITS_LAST, &err) == TFM_OK, "forward");
    tfm_context_moe_stats_print(ctx, f);
    size = ftell(f);
    rewind(f);
    text = (char *)tt_alloc((size_t)size + 1);
    TT_ASSERT(fread(text, 1, (size_t)size, f) == (size_t)size, "read back");
    text[size] = '\0';
    TT_ASSERT(strstr(text, "blk.0") && strstr(text, "blk.4") && strstr(text, "total"), "printout:\n%s", text);
    fclose(f);
    free(text);
    tfm_context_free(ctx);
    tfm_model_free(m);
    free(buf);
}

int main(void)
{
    TT_RUN(test_select_ties);
    TT_RUN(test_route_matches_reference);
    TT_RUN(test_forward_matches_reference);
    TT_RUN(test_copies_of_dense_ffn);
    TT_RUN(test_capacity_drops);
    TT_RUN(test_stats);
    TT_RUN(test_expert_ffn);
    TT_RUN(test_half_weights);
    TT_RUN(test_quantized_weights);
    TT_RUN(test_quantized_batch_equals_tokens);
    TT_RUN(test_threads_bit_exact);
    TT_RUN(test_workspace);
    TT_RUN(test_allocations);
    TT_RUN(test_bad_input);
    TT_RUN(test_model_upcycled_golden);
    TT_RUN(test_model_prefill_decode_f32);
    TT_RUN(test_model_prefill_decode_q8_0);
    TT_RUN(test_model_packed_experts);
    TT_RUN(test_model_context_memory);
    TT_RUN(test_model_bad_files);
    TT_RUN(test_model_stats_print);
    while (n_block_pools > 0) free(block_pools[--n_block_pools].blocks);
    return tt_summary("moe");
}

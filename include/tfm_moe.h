/* tfm_moe.h - mixture-of-experts FFN blocks for tfm: router, dispatch/combine, capacity, load statistics.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     The FFN block of a mixture-of-experts transformer (Mixtral, Switch, DeepSeek, Qwen-MoE): a router
     picks k of E expert SwiGLU FFNs for every token, and the block's output is the gate-weighted sum of
     the chosen experts' outputs, plus an optional shared expert that every token goes through.

     router    logits = W_router x (W_router [E][dim], any weight dtype); the k largest logits win.
               Tie-break: experts are ranked by logit, higher first; equal logits rank the lower expert
               index first; a NaN logit ranks below every number. The ranking is on logits, never on
               rounded probabilities, so it is exact and independent of the gating mode.
     gating    TFM_MOE_GATE_TOPK_SOFTMAX (Mixtral): gates = softmax over the k selected logits.
               TFM_MOE_GATE_SOFTMAX_TOPK (Switch, DeepSeek): p = softmax over all E logits, gates = the k
               selected p, divided by their sum when cfg.renormalize is set.
     shared    cfg.shared_hidden > 0: a dense SwiGLU FFN every token also goes through, weighted by
               cfg.shared_weight.
     combine   out[t] = shared_weight * shared(x[t]) + g[t][0] * E_{e0}(x[t]) + g[t][1] * E_{e1}(x[t]) + ...
               accumulated in exactly that order (shared first, then the experts in rank order), so the
               result does not depend on the thread count; with quantized weights (whose gemm rows equal
               their gemv) it does not depend on the batch either: a token gets bit for bit what the
               one-token path gives it. Float weights differ there only by gemm vs gemv rounding.
     dispatch  A batch (prefill) is grouped by expert with a counting sort: each expert's rows are
               gathered into one contiguous buffer and the expert runs as ONE gemm over them (gate and
               up, SwiGLU, down); the outputs are scattered back with the combine above. One token
               (decode) runs its k experts with gemv and no gather.
     capacity  cfg.capacity_factor > 0 (Switch): each expert takes at most
                   capacity = ceil(capacity_factor * n_tokens * k / E)
               assignments per call. Assignments claim places in (rank, token) order: every token's
               first choice before any token's second choice, and within one rank the earlier token
               first; an assignment that finds its expert full is dropped and contributes nothing (the
               other gates are NOT renormalised, as in Switch; a token with every assignment dropped
               gets only the shared expert, or zero, and the model's residual carries it). One token
               alone never drops (capacity >= 1 and its k experts are distinct). 0 = no capacity limit.
     stats     tfm_moe_stats, owned by the caller and accumulated over calls: per expert, how many
               assignments selected it (before dropping), how many were dropped, and the sum of its
               router probability p_i = softmax over all E logits (whatever the gating mode). From those:
                   f_i = selected_i / (all assignments)     (fraction of the n_tokens*k top-k choices)
                   P_i = (sum of p_i) / n_tokens             (mean router probability)
                   aux loss = E * sum_i f_i * P_i            (Switch load-balancing loss: 1 when balanced,
                                                              up to E when one expert takes everything)
               With k = 1 this is exactly Switch's top-1 definition.

   EXPERT WEIGHTS
     As GGUF stores them: 3-D tensors with the experts stacked and each expert's matrix contiguous,
         gate_exps, up_exps   ne = {dim, hidden, E}    (ffn_gate_exps, ffn_up_exps)
         down_exps            ne = {hidden, dim, E}    (ffn_down_exps)
         router               ne = {dim, E}            (ffn_gate_inp)
     Expert e's matrix starts at data + e * nb[2], so the GGUF views are passed straight through.
     Rows must be contiguous (nb[0] = block bytes, nb[1] = row bytes). Weight dtypes: every one
     tfm_quant.h multiplies (f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k), mixed freely between the
     tensors (a Q4_K_M file keeps down_exps in q6_k); the router may be any of them too. A model may
     repack each expert's matrices once at load (tfm_quant_pack) and pass the copies in
     tfm_moe_weights.{gate,up,down}_packed: the expert products then run the packed int8 kernels (the
     same results bit for bit; a Mixtral-shaped q4_0 model: decode 1.1-1.2x, prefill 1.4x).

   USAGE (what a model does, per MoE layer)
       tfm_moe_config cfg = tfm_moe_config_make(dim, hidden, n_expert, n_expert_used);
       tfm_moe_weights w;  memset(&w, 0, sizeof w);
       w.router = &router, w.gate_exps = &gate_exps, w.up_exps = &up_exps, w.down_exps = &down_exps;
       tfm_moe_validate(&cfg, &w, &err);                  once, at load: a message naming the bad tensor
       tfm_moe_workspace_size(&cfg, max_batch, &bytes);   once: allocate `bytes` of scratch
       tfm_moe_forward(&cfg, &w, out, x, n_tokens, work, bytes, stats_or_NULL, NULL, n_threads);
     and for routing statistics (--moe-stats), per layer or summed with tfm_moe_stats_add:
       tfm_moe_stats_init(&stats, n_expert);  ...forward calls...  tfm_moe_stats_print(&stats, "blk.3", stdout);
     x and out are [n_tokens][dim] f32, contiguous, and must not overlap; out is overwritten (the
     caller adds its residual). All scratch, including the quantized activations of the int8 matmuls,
     comes from the workspace: with quantized weights nothing is allocated per call, and with float
     weights only tfm_gemm's own packing buffers are (batches of more than one token).

   OPTIONS
     As tfm_tensor.h (TFM_STATIC, allocator hooks, TFM_NO_SIMD). Threads: results do not depend on
     the thread count.
*/
#ifndef TFM_MOE_H
#define TFM_MOE_H

#include <stdio.h>

#include "tfm_tensor.h"
#include "tfm_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tfm_moe_gating {
    TFM_MOE_GATE_TOPK_SOFTMAX = 0, /* top-k logits, then softmax over those k (Mixtral) */
    TFM_MOE_GATE_SOFTMAX_TOPK = 1  /* softmax over all E, then the top-k probabilities (Switch, DeepSeek) */
} tfm_moe_gating;

typedef struct tfm_moe_config {
    int dim;               /* model width: the length of x */
    int hidden;            /* each expert's FFN hidden size */
    int n_experts;         /* E (GGUF llama.expert_count) */
    int n_used;            /* k, experts per token (GGUF llama.expert_used_count) */
    tfm_moe_gating gating;
    int renormalize;       /* TFM_MOE_GATE_SOFTMAX_TOPK: divide the k gates by their sum */
    float capacity_factor; /* > 0: Switch capacity per expert (see the top); 0: unlimited */
    int shared_hidden;     /* hidden size of the shared expert; 0: no shared expert */
    float shared_weight;   /* the shared expert's weight in the sum */
} tfm_moe_config;

/* The Mixtral defaults: TOPK_SOFTMAX gating, renormalize 1, no capacity limit, no shared expert,
   shared_weight 1. Set the other fields after. */
TFM_API tfm_moe_config tfm_moe_config_make(int dim, int hidden, int n_experts, int n_used);

/* The weights of one MoE layer (views it does not own; shapes at the top). The shared expert's three
   tensors are NULL when cfg.shared_hidden is 0, else 2-D: {dim, shared_hidden}, {dim, shared_hidden},
   {shared_hidden, dim}. */
typedef struct tfm_moe_weights {
    const tfm_tensor *router;
    const tfm_tensor *gate_exps;
    const tfm_tensor *up_exps;
    const tfm_tensor *down_exps;
    const tfm_tensor *gate_shexp;
    const tfm_tensor *up_shexp;
    const tfm_tensor *down_shexp;
    /* Optional load-time repacks of the experts (NULL: the stored rows): each points to n_experts
       tfm_quant_pack copies, entry e made from expert e's matrix of gate_exps / up_exps / down_exps;
       the expert products then run the packed kernels (the same results bit for bit, faster). */
    const tfm_quant_packed *gate_packed;
    const tfm_quant_packed *up_packed;
    const tfm_quant_packed *down_packed;
} tfm_moe_weights;

/* Checks cfg and every tensor's presence, dtype, shape and row layout. On failure err (may be NULL)
   names the problem: TFM_ERR_INVALID_ARGUMENT (NULL, E == 0, k == 0, k > E, bad field values),
   TFM_ERR_SHAPE (a tensor's ne or row strides do not match cfg), TFM_ERR_UNSUPPORTED (a weight dtype
   the expert matmuls do not take). */
TFM_API tfm_status tfm_moe_validate(const tfm_moe_config *cfg, const tfm_moe_weights *w, tfm_error *err);

/* Bytes of scratch tfm_moe_forward needs for batches of up to max_tokens tokens (any alignment;
   the forward aligns inside it). TFM_ERR_OUT_OF_RANGE if the size overflows. */
TFM_API tfm_status tfm_moe_workspace_size(const tfm_moe_config *cfg, int max_tokens, size_t *bytes);

/* Load statistics accumulated over forward calls (definitions at the top). */
typedef struct tfm_moe_stats {
    int n_experts;
    int64_t n_tokens;    /* tokens routed */
    int64_t n_assigned;  /* token-expert assignments selected (n_tokens * k) */
    int64_t n_dropped;   /* of those, dropped for capacity */
    int64_t *selected;   /* [E] assignments that selected expert i, before dropping */
    int64_t *dropped;    /* [E] of those, dropped */
    double *prob_sum;    /* [E] sum over tokens of softmax(all logits)[i] */
} tfm_moe_stats;

/* Allocates the arrays (once) and zeroes everything. */
TFM_API tfm_status tfm_moe_stats_init(tfm_moe_stats *stats, int n_experts);
TFM_API void tfm_moe_stats_free(tfm_moe_stats *stats);
TFM_API void tfm_moe_stats_reset(tfm_moe_stats *stats);
/* dst += src (e.g. summing the layers of a model); both must have the same n_experts. */
TFM_API tfm_status tfm_moe_stats_add(tfm_moe_stats *dst, const tfm_moe_stats *src);
/* f_i: fraction of all assignments that selected expert i (0 before any token). */
TFM_API double tfm_moe_stats_fraction(const tfm_moe_stats *stats, int expert);
/* P_i: mean router probability of expert i (0 before any token). */
TFM_API double tfm_moe_stats_mean_prob(const tfm_moe_stats *stats, int expert);
/* E * sum_i f_i P_i (0 before any token). */
TFM_API double tfm_moe_stats_aux_loss(const tfm_moe_stats *stats);
/* A summary line (tokens, dropped, aux loss) and one line per expert, each prefixed by title. */
TFM_API void tfm_moe_stats_print(const tfm_moe_stats *stats, const char *title, FILE *f);

/* Router selection from logits [n_tokens][E]: experts[n_tokens][k] in rank order (tie-break at the top),
   gates[n_tokens][k], probs[n_tokens][E] = softmax over all E. probs may equal logits (in place). */
TFM_API tfm_status tfm_moe_select(const tfm_moe_config *cfg, const float *logits, int n_tokens, int32_t *experts,
                                  float *gates, float *probs);

/* The router: logits = x W_router^T for x[n_tokens][dim] into probs, then tfm_moe_select in place.
   Standalone form: a quantized router allocates its quantized activations as tfm_quant_gemm does
   (tfm_moe_forward takes them from its workspace). */
TFM_API tfm_status tfm_moe_route(const tfm_moe_config *cfg, const tfm_tensor *router, const float *x, int n_tokens,
                                 int32_t *experts, float *gates, float *probs, int n_threads);

/* Bytes of scratch tfm_moe_expert_ffn needs for n_rows rows of these weights (checked as there). */
TFM_API tfm_status tfm_moe_expert_scratch_size(int n_rows, const tfm_tensor *gate_exps, const tfm_tensor *up_exps,
                                               const tfm_tensor *down_exps, size_t *bytes);

/* One expert's SwiGLU FFN on n_rows rows: y[r] = down_e(silu(gate_e x[r]) * up_e x[r]), with the
   3-D stacked tensors above and expert index e (a 2-D tensor is expert 0 of one). One matmul per
   weight matrix over all rows (gemv when n_rows == 1). x, y: [n_rows][dim] f32; y may equal x (x is
   consumed before y is written). scratch: tfm_moe_expert_scratch_size bytes, any alignment. */
TFM_API tfm_status tfm_moe_expert_ffn(float *y, const float *x, int n_rows, const tfm_tensor *gate_exps,
                                      const tfm_tensor *up_exps, const tfm_tensor *down_exps, int expert,
                                      void *scratch, size_t scratch_bytes, int n_threads);

/* The MoE block on x[n_tokens][dim] into out[n_tokens][dim] (see the top for routing, combine order
   and capacity). work: at least tfm_moe_workspace_size(cfg, n_tokens) bytes, else
   TFM_ERR_INVALID_ARGUMENT. stats (may be NULL) accumulates this call's routing, only on success;
   *n_dropped (may be NULL) receives this call's dropped assignments. */
TFM_API tfm_status tfm_moe_forward(const tfm_moe_config *cfg, const tfm_moe_weights *w, float *out, const float *x,
                                   int n_tokens, void *work, size_t work_bytes, tfm_moe_stats *stats, int *n_dropped,
                                   int n_threads);

#ifdef __cplusplus
}
#endif

#endif /* TFM_MOE_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_MOE_IMPLEMENTATION_DONE)
#define TFM_MOE_IMPLEMENTATION_DONE

#include <math.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- the expert matmul
   Every router and expert matmul goes through these functions, so the weight types the block accepts
   are decided here and nowhere else: those tfm_quant.h multiplies. */

static int tfm__moe_dtype_ok(tfm_dtype t)
{
    return tfm_quant_vec_dot_type(t) != (tfm_dtype)-1;
}

/* Scratch for the quantized activations of a matmul of rows x k, for k each of k1, k2, k3 (0: none)
   and whatever the weight dtype. */
static size_t tfm__moe_qbytes(int rows, int k1, int k2, int k3)
{
    size_t most = 0;
    int t, i, r;
    int ks[3];
    ks[0] = k1;
    ks[1] = k2;
    ks[2] = k3;
    /* an expert takes any number of the rows, and a few rows may need more than their share of many
       (tfm_quant_workspace_size is not monotone in m: the kernels for under 4 rows lay their
       activations out apart) */
    for (t = 0; t < TFM_DTYPE_COUNT; t++)
        for (i = 0; i < 3; i++)
            for (r = 1; r <= rows; r = r < 8 ? r + 1 : r == rows ? rows + 1 : rows) {
                size_t b = tfm__moe_dtype_ok((tfm_dtype)t) && ks[i] > 0 ? tfm_quant_workspace_size((tfm_dtype)t, r, ks[i]) : 0;
                if (b > most) most = b;
            }
    return most;
}

/* y[rows][n] = x[rows][k] W_e^T, W_e = matrix `expert` of w (n = ne[1], k = ne[0]), or its packed copy
   (packed: NULL, or w's n_experts copies). Quantized weights quantize the activations into q (q_bytes >=
   tfm__moe_qbytes(rows, k)); q == NULL lets tfm_quant.h find the room itself. One row of float weights
   is a plain gemv. */
static tfm_status tfm__moe_matmul(float *y, const float *x, int rows, const tfm_tensor *w, const tfm_quant_packed *packed,
                                  int expert, void *q, size_t q_bytes, int n_threads)
{
    const void *we = (const unsigned char *)w->data + (size_t)expert * w->nb[2];
    int n = (int)w->ne[1], k = (int)w->ne[0];
    if (packed) {
        if (rows == 1) return tfm_quant_packed_gemv(y, &packed[expert], x, 0, n, n_threads);
        return tfm_quant_packed_gemm(y, (size_t)n, x, (size_t)k, &packed[expert], rows, n_threads, q, q ? q_bytes : 0);
    }
    if (!q || (rows == 1 && tfm_quant_vec_dot_type(w->dtype) == TFM_F32)) {
        if (rows == 1) return tfm_quant_gemv(y, w->dtype, we, x, n, k, n_threads);
        return tfm_quant_gemm(y, (size_t)n, x, (size_t)k, w->dtype, we, rows, n, k, n_threads);
    }
    return tfm_quant_gemm_ws(y, (size_t)n, x, (size_t)k, w->dtype, we, rows, n, k, n_threads, q, q_bytes);
}

/* ---------------------------------------------------------------- configuration and checks */

tfm_moe_config tfm_moe_config_make(int dim, int hidden, int n_experts, int n_used)
{
    tfm_moe_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.dim = dim;
    cfg.hidden = hidden;
    cfg.n_experts = n_experts;
    cfg.n_used = n_used;
    cfg.gating = TFM_MOE_GATE_TOPK_SOFTMAX;
    cfg.renormalize = 1;
    cfg.capacity_factor = 0.0f;
    cfg.shared_hidden = 0;
    cfg.shared_weight = 1.0f;
    return cfg;
}

static tfm_status tfm__moe_check_config(const tfm_moe_config *cfg, tfm_error *err)
{
    if (!cfg) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: no config");
    if (cfg->n_experts <= 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: expert count is %d, need at least 1", cfg->n_experts);
    if (cfg->n_used <= 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: experts used per token is %d, need at least 1",
                             cfg->n_used);
    if (cfg->n_used > cfg->n_experts)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: experts used per token (%d) exceeds the expert count (%d)",
                             cfg->n_used, cfg->n_experts);
    if (cfg->dim <= 0 || cfg->hidden <= 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: dim %d and hidden %d must be positive", cfg->dim,
                             cfg->hidden);
    if (cfg->gating != TFM_MOE_GATE_TOPK_SOFTMAX && cfg->gating != TFM_MOE_GATE_SOFTMAX_TOPK)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: unknown gating mode %d", (int)cfg->gating);
    if (!(cfg->capacity_factor >= 0.0f) || cfg->capacity_factor > 1e30f)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: capacity factor %g (want >= 0, 0 = unlimited)",
                             (double)cfg->capacity_factor);
    if (cfg->shared_hidden < 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: shared expert hidden size %d", cfg->shared_hidden);
    if (!(fabsf(cfg->shared_weight) <= 3.0e38f))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: shared expert weight is not finite");
    return TFM_OK;
}

/* A weight tensor of ne {ne0, ne1, ne2} (ne2 = 1 for a matrix) with contiguous rows. */
static tfm_status tfm__moe_check_tensor(const tfm_tensor *t, const char *name, int64_t ne0, int64_t ne1, int64_t ne2,
                                        tfm_error *err)
{
    size_t row_bytes = 0;
    const char *dname;
    if (!t || !t->data) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: %s is missing", name);
    dname = tfm_dtype_name(t->dtype);
    if (!tfm__moe_dtype_ok(t->dtype))
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "moe: %s has dtype %s, which the expert matmuls do not take", name,
                             dname ? dname : "(unknown)");
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != ne2 || t->ne[3] != 1)
        return tfm_error_set(err, TFM_ERR_SHAPE, "moe: %s has ne [%lld, %lld, %lld, %lld], want [%lld, %lld, %lld]", name,
                             (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                             (long long)ne0, (long long)ne1, (long long)ne2);
    if (tfm_dtype_row_bytes(t->dtype, (uint64_t)ne0, &row_bytes) != TFM_OK || t->nb[0] != tfm_dtype_block_bytes(t->dtype) ||
        t->nb[1] != row_bytes || (ne2 > 1 && t->nb[2] / row_bytes < (size_t)ne1))
        return tfm_error_set(err, TFM_ERR_SHAPE, "moe: %s rows are not contiguous (nb [%zu, %zu, %zu])", name, t->nb[0],
                             t->nb[1], t->nb[2]);
    return TFM_OK;
}

/* packed: NULL, or one copy per expert of t's dtype and matrix shape */
static tfm_status tfm__moe_check_packed(const tfm_quant_packed *packed, const tfm_tensor *t, const char *name, tfm_error *err)
{
    int64_t e;
    if (!packed) return TFM_OK;
    for (e = 0; e < t->ne[2]; e++)
        if (!packed[e].data || packed[e].dtype != t->dtype || packed[e].rows != t->ne[1] || packed[e].cols != t->ne[0])
            return tfm_error_set(err, TFM_ERR_SHAPE, "moe: packed copy %lld of %s does not match it", (long long)e, name);
    return TFM_OK;
}

static tfm_status tfm__moe_check(const tfm_moe_config *cfg, const tfm_moe_weights *w, tfm_error *err)
{
    tfm_status s = tfm__moe_check_config(cfg, err);
    int64_t d, h, e;
    if (s != TFM_OK) return s;
    if (!w) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: no weights");
    d = cfg->dim;
    h = cfg->hidden;
    e = cfg->n_experts;
    if ((s = tfm__moe_check_tensor(w->router, "router (ffn_gate_inp)", d, e, 1, err)) != TFM_OK) return s;
    if ((s = tfm__moe_check_tensor(w->gate_exps, "gate_exps", d, h, e, err)) != TFM_OK) return s;
    if ((s = tfm__moe_check_tensor(w->up_exps, "up_exps", d, h, e, err)) != TFM_OK) return s;
    if ((s = tfm__moe_check_tensor(w->down_exps, "down_exps", h, d, e, err)) != TFM_OK) return s;
    if ((s = tfm__moe_check_packed(w->gate_packed, w->gate_exps, "gate_exps", err)) != TFM_OK) return s;
    if ((s = tfm__moe_check_packed(w->up_packed, w->up_exps, "up_exps", err)) != TFM_OK) return s;
    if ((s = tfm__moe_check_packed(w->down_packed, w->down_exps, "down_exps", err)) != TFM_OK) return s;
    if (cfg->shared_hidden == 0) {
        if (w->gate_shexp || w->up_shexp || w->down_shexp)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "moe: shared expert tensors given but shared_hidden is 0");
        return TFM_OK;
    }
    h = cfg->shared_hidden;
    if ((s = tfm__moe_check_tensor(w->gate_shexp, "gate_shexp", d, h, 1, err)) != TFM_OK) return s;
    if ((s = tfm__moe_check_tensor(w->up_shexp, "up_shexp", d, h, 1, err)) != TFM_OK) return s;
    return tfm__moe_check_tensor(w->down_shexp, "down_shexp", h, d, 1, err);
}

tfm_status tfm_moe_validate(const tfm_moe_config *cfg, const tfm_moe_weights *w, tfm_error *err)
{
    return tfm__moe_check(cfg, w, err);
}

/* ---------------------------------------------------------------- workspace */

typedef struct tfm__moe_work {
    float *probs;     /* [T][E] logits, then softmax over all E */
    int32_t *experts; /* [T][k] */
    float *gates;     /* [T][k] */
    int32_t *pos;     /* [T][k] row of the assignment in rows, -1 if dropped */
    int32_t *token;   /* [T*k] token of each grouped row */
    int32_t *offsets; /* [E + 1] first grouped row of each expert */
    int32_t *cursor;  /* [E] */
    float *rows;      /* [T*k][dim] gathered inputs, then each expert's outputs in place */
    float *hidden;    /* [2][T][max(hidden, shared_hidden)] */
    void *q;          /* quantized activations of one matmul */
    size_t q_bytes;
} tfm__moe_work;

static size_t tfm__moe_mul(size_t a, size_t b, int *ok)
{
    if (b && a > SIZE_MAX / b) {
        *ok = 0;
        return 0;
    }
    return a * b;
}

/* Reserves count elements at the next 64-byte boundary; base NULL only measures. */
static void *tfm__moe_take(unsigned char *base, size_t *used, size_t count, size_t elem, int *ok)
{
    size_t bytes = tfm__moe_mul(count, elem, ok), start = (*used + 63) & ~(size_t)63;
    if (start < *used || bytes > SIZE_MAX / 2 - start) {
        *ok = 0;
        return NULL;
    }
    *used = start + bytes;
    return base && *ok ? base + start : NULL;
}

/* Lays out the workspace for n_tokens from base (NULL: measure only); bytes needed, 0 on overflow. */
static size_t tfm__moe_layout(const tfm_moe_config *cfg, int n_tokens, void *base, tfm__moe_work *w)
{
    int ok = 1;
    size_t used = 0, t = (size_t)n_tokens, e = (size_t)cfg->n_experts;
    size_t tk = tfm__moe_mul(t, (size_t)cfg->n_used, &ok);
    size_t hmax = (size_t)(cfg->hidden > cfg->shared_hidden ? cfg->hidden : cfg->shared_hidden);
    unsigned char *p = base ? (unsigned char *)(((uintptr_t)base + 63) & ~(uintptr_t)63) : NULL;
    if (tk > (size_t)INT32_MAX) ok = 0;
    w->probs = (float *)tfm__moe_take(p, &used, tfm__moe_mul(t, e, &ok), sizeof(float), &ok);
    w->experts = (int32_t *)tfm__moe_take(p, &used, tk, sizeof(int32_t), &ok);
    w->gates = (float *)tfm__moe_take(p, &used, tk, sizeof(float), &ok);
    w->pos = (int32_t *)tfm__moe_take(p, &used, tk, sizeof(int32_t), &ok);
    w->token = (int32_t *)tfm__moe_take(p, &used, tk, sizeof(int32_t), &ok);
    w->offsets = (int32_t *)tfm__moe_take(p, &used, e + 1, sizeof(int32_t), &ok);
    w->cursor = (int32_t *)tfm__moe_take(p, &used, e, sizeof(int32_t), &ok);
    w->rows = (float *)tfm__moe_take(p, &used, tfm__moe_mul(tk, (size_t)cfg->dim, &ok), sizeof(float), &ok);
    w->hidden = (float *)tfm__moe_take(p, &used, tfm__moe_mul(tfm__moe_mul(2, t, &ok), hmax, &ok), sizeof(float), &ok);
    w->q_bytes = tfm__moe_qbytes(n_tokens, cfg->dim, cfg->hidden, cfg->shared_hidden);
    w->q = tfm__moe_take(p, &used, w->q_bytes, 1, &ok);
    return ok ? used + 63 : 0; /* + 63: room to align an unaligned base */
}

tfm_status tfm_moe_workspace_size(const tfm_moe_config *cfg, int max_tokens, size_t *bytes)
{
    tfm__moe_work w;
    tfm_status s = tfm__moe_check_config(cfg, NULL);
    if (s != TFM_OK) return s;
    if (!bytes || max_tokens <= 0) return TFM_ERR_INVALID_ARGUMENT;
    *bytes = tfm__moe_layout(cfg, max_tokens, NULL, &w);
    return *bytes ? TFM_OK : TFM_ERR_OUT_OF_RANGE;
}

/* ---------------------------------------------------------------- router */

/* Strictly ahead in the ranking: a larger logit, or a number against a NaN. */
static int tfm__moe_ahead(float a, float b)
{
    return a > b || (b != b && a == a);
}

/* One token: the k best experts by an insertion into a sorted list. Experts arrive in index order
   and only a strictly better logit moves ahead, so equal logits keep the lower index first. */
static void tfm__moe_select_token(const tfm_moe_config *cfg, const float *logits, int32_t *experts, float *gates,
                                  float *probs)
{
    int k = cfg->n_used, n = 0, i, j, r;
    for (i = 0; i < cfg->n_experts; i++) {
        float v = logits[i];
        if (n == k && !tfm__moe_ahead(v, logits[experts[k - 1]])) continue;
        j = n < k ? n++ : k - 1;
        for (; j > 0 && tfm__moe_ahead(v, logits[experts[j - 1]]); j--) experts[j] = experts[j - 1];
        experts[j] = i;
    }
    if (cfg->gating == TFM_MOE_GATE_TOPK_SOFTMAX) {
        for (r = 0; r < k; r++) gates[r] = logits[experts[r]];
        tfm_softmax(gates, (size_t)k);
    }
    /* logits are read for the last time above: probs may overwrite them now */
    if (probs != logits) memcpy(probs, logits, sizeof(float) * (size_t)cfg->n_experts);
    tfm_softmax(probs, (size_t)cfg->n_experts);
    if (cfg->gating == TFM_MOE_GATE_SOFTMAX_TOPK) {
        float sum = 0.0f;
        for (r = 0; r < k; r++) sum += gates[r] = probs[experts[r]];
        if (cfg->renormalize && sum > 0.0f)
            for (r = 0; r < k; r++) gates[r] /= sum;
    }
}

/* Selection for every token; threads split the tokens (each token is one thread's). */
static void tfm__moe_select_all(const tfm_moe_config *cfg, const float *logits, int n_tokens, int32_t *experts,
                                float *gates, float *probs, int n_threads)
{
    int t;
    size_t e = (size_t)cfg->n_experts, k = (size_t)cfg->n_used;
    if ((size_t)n_tokens * e < 4096) n_threads = 1;
    (void)n_threads; /* read only by the OpenMP pragma */
    TFM__PARALLEL_FOR(n_threads)
    for (t = 0; t < n_tokens; t++)
        tfm__moe_select_token(cfg, logits + (size_t)t * e, experts + (size_t)t * k, gates + (size_t)t * k,
                              probs + (size_t)t * e);
}

tfm_status tfm_moe_select(const tfm_moe_config *cfg, const float *logits, int n_tokens, int32_t *experts, float *gates,
                          float *probs)
{
    tfm_status s = tfm__moe_check_config(cfg, NULL);
    if (s != TFM_OK) return s;
    if (!logits || !experts || !gates || !probs || n_tokens <= 0) return TFM_ERR_INVALID_ARGUMENT;
    tfm__moe_select_all(cfg, logits, n_tokens, experts, gates, probs, 1);
    return TFM_OK;
}

tfm_status tfm_moe_route(const tfm_moe_config *cfg, const tfm_tensor *router, const float *x, int n_tokens,
                         int32_t *experts, float *gates, float *probs, int n_threads)
{
    tfm_status s = tfm__moe_check_config(cfg, NULL);
    if (s != TFM_OK) return s;
    if (!x || !experts || !gates || !probs || n_tokens <= 0) return TFM_ERR_INVALID_ARGUMENT;
    s = tfm__moe_check_tensor(router, "router", cfg->dim, cfg->n_experts, 1, NULL);
    if (s != TFM_OK) return s;
    n_threads = tfm__threads(n_threads);
    s = tfm__moe_matmul(probs, x, n_tokens, router, NULL, 0, NULL, 0, n_threads);
    if (s != TFM_OK) return s;
    tfm__moe_select_all(cfg, probs, n_tokens, experts, gates, probs, n_threads);
    return TFM_OK;
}

/* ---------------------------------------------------------------- expert FFN */

/* The packed copies of the three expert tensors (each NULL or n_experts copies). */
typedef struct tfm__moe_packs {
    const tfm_quant_packed *gate, *up, *down;
} tfm__moe_packs;

/* hidden: 2 * rows * (the FFN's hidden size) floats; q: as tfm__moe_matmul; y may equal x. */
static tfm_status tfm__moe_ffn(float *y, const float *x, int rows, const tfm_tensor *gate, const tfm_tensor *up,
                               const tfm_tensor *down, const tfm__moe_packs *packs, int expert, float *hidden, void *q,
                               size_t q_bytes, int n_threads)
{
    size_t n = (size_t)rows * (size_t)gate->ne[1];
    float *g = hidden, *u = hidden + n;
    tfm_status s = tfm__moe_matmul(g, x, rows, gate, packs ? packs->gate : NULL, expert, q, q_bytes, n_threads);
    if (s == TFM_OK) s = tfm__moe_matmul(u, x, rows, up, packs ? packs->up : NULL, expert, q, q_bytes, n_threads);
    if (s != TFM_OK) return s;
    tfm_swiglu(g, g, u, n);
    return tfm__moe_matmul(y, g, rows, down, packs ? packs->down : NULL, expert, q, q_bytes, n_threads);
}

static tfm__moe_packs tfm__moe_packs_of(const tfm_moe_weights *w)
{
    tfm__moe_packs p;
    p.gate = w->gate_packed, p.up = w->up_packed, p.down = w->down_packed;
    return p;
}

/* The three stacked tensors fit together; their dim and hidden. */
static tfm_status tfm__moe_check_experts(const tfm_tensor *gate, const tfm_tensor *up, const tfm_tensor *down, int *dim,
                                         int *hidden)
{
    int64_t d, h, e;
    tfm_status s;
    if (!gate) return TFM_ERR_INVALID_ARGUMENT;
    d = gate->ne[0];
    h = gate->ne[1];
    e = gate->ne[2];
    if (d > INT32_MAX || h > INT32_MAX || e > INT32_MAX) return TFM_ERR_OUT_OF_RANGE;
    if ((s = tfm__moe_check_tensor(gate, "gate_exps", d, h, e, NULL)) != TFM_OK) return s;
    if ((s = tfm__moe_check_tensor(up, "up_exps", d, h, e, NULL)) != TFM_OK) return s;
    if ((s = tfm__moe_check_tensor(down, "down_exps", h, d, e, NULL)) != TFM_OK) return s;
    *dim = (int)d;
    *hidden = (int)h;
    return TFM_OK;
}

/* Scratch of the public expert FFN: the hidden rows, then the quantized activations. */
static size_t tfm__moe_expert_layout(int n_rows, int dim, int hidden, void *base, float **h, void **q, size_t *q_bytes)
{
    int ok = 1;
    size_t used = 0;
    unsigned char *p = base ? (unsigned char *)(((uintptr_t)base + 63) & ~(uintptr_t)63) : NULL;
    *h = (float *)tfm__moe_take(p, &used, tfm__moe_mul(2 * (size_t)n_rows, (size_t)hidden, &ok), sizeof(float), &ok);
    *q_bytes = tfm__moe_qbytes(n_rows, dim, hidden, 0);
    *q = tfm__moe_take(p, &used, *q_bytes, 1, &ok);
    return ok ? used + 63 : 0;
}

tfm_status tfm_moe_expert_scratch_size(int n_rows, const tfm_tensor *gate_exps, const tfm_tensor *up_exps,
                                       const tfm_tensor *down_exps, size_t *bytes)
{
    int dim = 0, hidden = 0;
    float *h;
    void *q;
    size_t q_bytes;
    tfm_status s = tfm__moe_check_experts(gate_exps, up_exps, down_exps, &dim, &hidden);
    if (s != TFM_OK) return s;
    if (!bytes || n_rows <= 0) return TFM_ERR_INVALID_ARGUMENT;
    *bytes = tfm__moe_expert_layout(n_rows, dim, hidden, NULL, &h, &q, &q_bytes);
    return *bytes ? TFM_OK : TFM_ERR_OUT_OF_RANGE;
}

tfm_status tfm_moe_expert_ffn(float *y, const float *x, int n_rows, const tfm_tensor *gate_exps,
                              const tfm_tensor *up_exps, const tfm_tensor *down_exps, int expert, void *scratch,
                              size_t scratch_bytes, int n_threads)
{
    int dim = 0, hidden = 0;
    float *h;
    void *q;
    size_t q_bytes, need;
    tfm_status s = tfm__moe_check_experts(gate_exps, up_exps, down_exps, &dim, &hidden);
    if (s != TFM_OK) return s;
    if (!y || !x || !scratch || n_rows <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (expert < 0 || expert >= gate_exps->ne[2]) return TFM_ERR_OUT_OF_RANGE;
    need = tfm__moe_expert_layout(n_rows, dim, hidden, NULL, &h, &q, &q_bytes);
    if (need == 0) return TFM_ERR_OUT_OF_RANGE;
    if (scratch_bytes < need) return TFM_ERR_INVALID_ARGUMENT;
    tfm__moe_expert_layout(n_rows, dim, hidden, scratch, &h, &q, &q_bytes);
    return tfm__moe_ffn(y, x, n_rows, gate_exps, up_exps, down_exps, NULL, expert, h, q, q_bytes, tfm__threads(n_threads));
}

/* ---------------------------------------------------------------- dispatch and combine */

/* Capacity and grouping: a counting sort of the assignments by expert, taken in (rank, token) order so
   that capacity drops follow the rule at the top. Fills pos, token, offsets; returns the dropped count. */
static int tfm__moe_assign(const tfm_moe_config *cfg, int n_tokens, tfm__moe_work *w)
{
    int k = cfg->n_used, n_experts = cfg->n_experts, t, r, e, dropped = 0;
    int64_t capacity = INT32_MAX;
    if (cfg->capacity_factor > 0.0f) {
        double c = ceil((double)cfg->capacity_factor * (double)n_tokens * (double)k / (double)n_experts);
        capacity = c < (double)n_tokens ? (int64_t)c : n_tokens;
    }
    for (e = 0; e < n_experts; e++) w->cursor[e] = 0;
    for (r = 0; r < k; r++)
        for (t = 0; t < n_tokens; t++) {
            size_t a = (size_t)t * (size_t)k + (size_t)r;
            e = w->experts[a];
            if (w->cursor[e] < capacity) {
                w->cursor[e]++;
                w->pos[a] = 0;
            } else {
                w->pos[a] = -1;
                dropped++;
            }
        }
    w->offsets[0] = 0;
    for (e = 0; e < n_experts; e++) {
        w->offsets[e + 1] = w->offsets[e] + w->cursor[e];
        w->cursor[e] = w->offsets[e];
    }
    for (r = 0; r < k; r++)
        for (t = 0; t < n_tokens; t++) {
            size_t a = (size_t)t * (size_t)k + (size_t)r;
            if (w->pos[a] < 0) continue;
            e = w->experts[a];
            w->pos[a] = w->cursor[e]++;
            w->token[w->pos[a]] = t;
        }
    return dropped;
}

/* The shared expert's part of out (written), or zeros. */
static tfm_status tfm__moe_shared(const tfm_moe_config *cfg, const tfm_moe_weights *w, float *out, const float *x,
                                  int n_tokens, const tfm__moe_work *ws, int n_threads)
{
    size_t n = (size_t)n_tokens * (size_t)cfg->dim;
    tfm_status s;
    if (cfg->shared_hidden == 0) {
        memset(out, 0, n * sizeof(float));
        return TFM_OK;
    }
    s = tfm__moe_ffn(out, x, n_tokens, w->gate_shexp, w->up_shexp, w->down_shexp, NULL, 0, ws->hidden, ws->q, ws->q_bytes,
                     n_threads);
    if (s == TFM_OK && cfg->shared_weight != 1.0f) tfm_scale(out, cfg->shared_weight, n);
    return s;
}

/* One token: each kept expert runs with gemv straight from x. */
static tfm_status tfm__moe_decode(const tfm_moe_config *cfg, const tfm_moe_weights *w, float *out, const float *x,
                                  tfm__moe_work *ws, int n_threads)
{
    tfm__moe_packs packs = tfm__moe_packs_of(w);
    int r;
    for (r = 0; r < cfg->n_used; r++) {
        tfm_status s;
        if (ws->pos[r] < 0) continue;
        s = tfm__moe_ffn(ws->rows, x, 1, w->gate_exps, w->up_exps, w->down_exps, &packs, ws->experts[r], ws->hidden, ws->q,
                         ws->q_bytes, n_threads);
        if (s != TFM_OK) return s;
        tfm_axpy(out, ws->gates[r], ws->rows, (size_t)cfg->dim);
    }
    return TFM_OK;
}

/* A batch: gather each expert's rows, one gemm-based FFN per expert, then every token adds its
   experts' rows in rank order (threads split tokens, so each output row has one writer). */
static tfm_status tfm__moe_batch(const tfm_moe_config *cfg, const tfm_moe_weights *w, float *out, const float *x,
                                 int n_tokens, tfm__moe_work *ws, int n_threads)
{
    size_t dim = (size_t)cfg->dim, k = (size_t)cfg->n_used;
    tfm__moe_packs packs = tfm__moe_packs_of(w);
    int n_rows = ws->offsets[cfg->n_experts], i, e, t;
    int copy_threads = (size_t)n_rows * dim < 65536 ? 1 : n_threads;
    (void)copy_threads; /* read only by the OpenMP pragmas */
    TFM__PARALLEL_FOR(copy_threads)
    for (i = 0; i < n_rows; i++) memcpy(ws->rows + (size_t)i * dim, x + (size_t)ws->token[i] * dim, dim * sizeof(float));
    for (e = 0; e < cfg->n_experts; e++) {
        int begin = ws->offsets[e], count = ws->offsets[e + 1] - begin;
        float *rows = ws->rows + (size_t)begin * dim;
        tfm_status s;
        if (count == 0) continue;
        s = tfm__moe_ffn(rows, rows, count, w->gate_exps, w->up_exps, w->down_exps, &packs, e, ws->hidden, ws->q, ws->q_bytes,
                         n_threads);
        if (s != TFM_OK) return s;
    }
    TFM__PARALLEL_FOR(copy_threads)
    for (t = 0; t < n_tokens; t++) {
        size_t r;
        for (r = 0; r < k; r++) {
            int32_t p = ws->pos[(size_t)t * k + r];
            if (p >= 0) tfm_axpy(out + (size_t)t * dim, ws->gates[(size_t)t * k + r], ws->rows + (size_t)p * dim, dim);
        }
    }
    return TFM_OK;
}

static void tfm__moe_record(const tfm_moe_config *cfg, tfm_moe_stats *st, int n_tokens, const tfm__moe_work *ws,
                            int dropped)
{
    size_t e = (size_t)cfg->n_experts, tk = (size_t)n_tokens * (size_t)cfg->n_used, i;
    int t;
    for (t = 0; t < n_tokens; t++)
        for (i = 0; i < e; i++) st->prob_sum[i] += ws->probs[(size_t)t * e + i];
    for (i = 0; i < tk; i++) {
        st->selected[ws->experts[i]]++;
        if (ws->pos[i] < 0) st->dropped[ws->experts[i]]++;
    }
    st->n_tokens += n_tokens;
    st->n_assigned += (int64_t)tk;
    st->n_dropped += dropped;
}

tfm_status tfm_moe_forward(const tfm_moe_config *cfg, const tfm_moe_weights *w, float *out, const float *x, int n_tokens,
                           void *work, size_t work_bytes, tfm_moe_stats *stats, int *n_dropped, int n_threads)
{
    tfm__moe_work ws;
    size_t need;
    int dropped;
    tfm_status s = tfm__moe_check(cfg, w, NULL);
    if (s != TFM_OK) return s;
    if (!out || !x || !work || n_tokens <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (stats && (stats->n_experts != cfg->n_experts || !stats->selected)) return TFM_ERR_INVALID_ARGUMENT;
    need = tfm__moe_layout(cfg, n_tokens, NULL, &ws);
    if (need == 0) return TFM_ERR_OUT_OF_RANGE;
    if (work_bytes < need) return TFM_ERR_INVALID_ARGUMENT;
    tfm__moe_layout(cfg, n_tokens, work, &ws);
    n_threads = tfm__threads(n_threads);

    s = tfm__moe_matmul(ws.probs, x, n_tokens, w->router, NULL, 0, ws.q, ws.q_bytes, n_threads);
    if (s != TFM_OK) return s;
    tfm__moe_select_all(cfg, ws.probs, n_tokens, ws.experts, ws.gates, ws.probs, n_threads);
    dropped = tfm__moe_assign(cfg, n_tokens, &ws);

    s = tfm__moe_shared(cfg, w, out, x, n_tokens, &ws, n_threads);
    if (s != TFM_OK) return s;
    s = n_tokens == 1 ? tfm__moe_decode(cfg, w, out, x, &ws, n_threads)
                      : tfm__moe_batch(cfg, w, out, x, n_tokens, &ws, n_threads);
    if (s != TFM_OK) return s;
    if (stats) tfm__moe_record(cfg, stats, n_tokens, &ws, dropped);
    if (n_dropped) *n_dropped = dropped;
    return TFM_OK;
}

/* ---------------------------------------------------------------- statistics */

tfm_status tfm_moe_stats_init(tfm_moe_stats *stats, int n_experts)
{
    size_t e = (size_t)n_experts;
    unsigned char *block;
    if (!stats) return TFM_ERR_INVALID_ARGUMENT;
    memset(stats, 0, sizeof *stats);
    if (n_experts <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (e > SIZE_MAX / 32) return TFM_ERR_OUT_OF_RANGE;
    /* one block: selected, dropped, prob_sum (all 8-byte elements) */
    block = (unsigned char *)TFM_MALLOC(e * 3 * 8);
    if (!block) return TFM_ERR_OUT_OF_MEMORY;
    stats->n_experts = n_experts;
    stats->selected = (int64_t *)(void *)block;
    stats->dropped = (int64_t *)(void *)(block + e * 8);
    stats->prob_sum = (double *)(void *)(block + e * 16);
    tfm_moe_stats_reset(stats);
    return TFM_OK;
}

void tfm_moe_stats_free(tfm_moe_stats *stats)
{
    if (!stats) return;
    TFM_FREE(stats->selected);
    memset(stats, 0, sizeof *stats);
}

void tfm_moe_stats_reset(tfm_moe_stats *stats)
{
    int i;
    if (!stats || !stats->selected) return;
    stats->n_tokens = stats->n_assigned = stats->n_dropped = 0;
    for (i = 0; i < stats->n_experts; i++) {
        stats->selected[i] = stats->dropped[i] = 0;
        stats->prob_sum[i] = 0.0;
    }
}

tfm_status tfm_moe_stats_add(tfm_moe_stats *dst, const tfm_moe_stats *src)
{
    int i;
    if (!dst || !src || !dst->selected || !src->selected || dst->n_experts != src->n_experts)
        return TFM_ERR_INVALID_ARGUMENT;
    dst->n_tokens += src->n_tokens;
    dst->n_assigned += src->n_assigned;
    dst->n_dropped += src->n_dropped;
    for (i = 0; i < dst->n_experts; i++) {
        dst->selected[i] += src->selected[i];
        dst->dropped[i] += src->dropped[i];
        dst->prob_sum[i] += src->prob_sum[i];
    }
    return TFM_OK;
}

double tfm_moe_stats_fraction(const tfm_moe_stats *stats, int expert)
{
    if (!stats || !stats->selected || expert < 0 || expert >= stats->n_experts || stats->n_assigned == 0) return 0.0;
    return (double)stats->selected[expert] / (double)stats->n_assigned;
}

double tfm_moe_stats_mean_prob(const tfm_moe_stats *stats, int expert)
{
    if (!stats || !stats->selected || expert < 0 || expert >= stats->n_experts || stats->n_tokens == 0) return 0.0;
    return stats->prob_sum[expert] / (double)stats->n_tokens;
}

double tfm_moe_stats_aux_loss(const tfm_moe_stats *stats)
{
    double sum = 0.0;
    int i;
    if (!stats || !stats->selected) return 0.0;
    for (i = 0; i < stats->n_experts; i++) sum += tfm_moe_stats_fraction(stats, i) * tfm_moe_stats_mean_prob(stats, i);
    return sum * (double)stats->n_experts;
}

void tfm_moe_stats_print(const tfm_moe_stats *stats, const char *title, FILE *f)
{
    int i;
    if (!stats || !stats->selected || !f) return;
    if (!title) title = "moe";
    fprintf(f, "%s: %lld tokens, %lld assignments, %lld dropped (%.2f%%), aux loss %.4f (1 = balanced, %d = one expert)\n",
            title, (long long)stats->n_tokens, (long long)stats->n_assigned, (long long)stats->n_dropped,
            stats->n_assigned ? 100.0 * (double)stats->n_dropped / (double)stats->n_assigned : 0.0,
            tfm_moe_stats_aux_loss(stats), stats->n_experts);
    fprintf(f, "%s: %6s %10s %8s %8s %10s\n", title, "expert", "selected", "share", "mean p", "dropped");
    for (i = 0; i < stats->n_experts; i++)
        fprintf(f, "%s: %6d %10lld %7.2f%% %8.4f %10lld\n", title, i, (long long)stats->selected[i],
                100.0 * tfm_moe_stats_fraction(stats, i), tfm_moe_stats_mean_prob(stats, i),
                (long long)stats->dropped[i]);
}

#ifdef __cplusplus
}
#endif

#endif /* TFM_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
ALTERNATIVE A - MIT License. Copyright (c) 2026 the tfm authors. Permission is hereby granted, free
of charge, to any person obtaining a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following conditions: The
above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
ALTERNATIVE B - Public Domain (www.unlicense.org). Anyone is free to copy, modify, publish, use,
compile, sell, or distribute this software, for any purpose, commercial or non-commercial.
------------------------------------------------------------------------------
*/

/* Tests of the decoder families (tfm_model.h's family table and its one forward pass) against
   independent references:
     - each family's forward pass against a float64 one written here from the family's definition
       (random weights, odd sizes, every norm, bias, soft-cap, window and RoPE variant the family has on),
       on GGUF files written here with the keys and tensor names llama.cpp's converter writes;
     - prefill vs decode, 1 vs 2 threads and packed vs stored layouts (bit for bit), every weight type
       within its bound of the float64 logits;
     - llama.cpp's logits and greedy tokens on the ../shared/archs files (written by an independent tool;
       the commands are in their README): the prompt through each file's vocab, the logits after it, the
       greedy tokens, and the perplexity of a TinyStories text;
     - bad files: each names the key or tensor at fault. */
#include "tfm_test.h"
#include "tfm_gguf.h"
#include "tfm_model.h"
#include "tfm_tokenizer.h"

/* ---------------------------------------------------------------- a family's test model */

enum { SWIGLU, GEGLU, GELU };
enum { NO_FACTORS, ROPE_FREQS, SHORT_LONG };

/* What the reference computes: the family's definition, one flag per difference. */
typedef struct family {
    const char *arch;
    int layers, head_dim;     /* head_dim 0: dim / heads */
    int layer_norm, ffn, rope; /* rope: -1 learned positions, 0 adjacent pairs, 1 halves (NeoX) */
    int qkv_bias, out_bias, ffn_bias, qk_norm, post_norms, fused_qkv, fused_up, embd_scale, tied;
    float attn_softcap, logit_softcap;
    int window, swa_period;   /* window 0: none; period 0: every layer slides, P: layer l unless (l+1) % P == 0 */
    float rope_base, rope_base_swa, rope_factor, attn_factor; /* rope_factor: linear scaling (0: none) */
    int rope_factors;         /* NO_FACTORS, ROPE_FREQS (Llama 3) or SHORT_LONG (Phi-3, orig context 16) */
    int experts, experts_used; /* Qwen 3 MoE: softmax over all, top k, renormalised */
} family;

/* name           layers hd  LN  ffn     rope qkvb outb ffnb qkn post fqkv fup  emb  tied acap  lcap  win per base    swa    lin  attn  factors */
static const family families[] = {
    {"llama", 2, 0, 0, SWIGLU, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0f, 0.0f, 0, 0, 500000.0f, 0.0f, 2.0f, 0.0f, ROPE_FREQS, 0, 0},
    {"qwen2", 2, 0, 0, SWIGLU, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0.0f, 0.0f, 0, 0, 1e6f, 0.0f, 0.0f, 0.0f, NO_FACTORS, 0, 0},
    {"qwen3", 2, 16, 0, SWIGLU, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0.0f, 0.0f, 0, 0, 1e6f, 0.0f, 0.0f, 0.0f, NO_FACTORS, 0, 0},
    {"qwen3moe", 2, 16, 0, SWIGLU, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0.0f, 0.0f, 0, 0, 1e6f, 0.0f, 0.0f, 0.0f, NO_FACTORS, 4, 2},
    {"gemma2", 2, 16, 0, GEGLU, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0.8f, 1.0f, 4, 2, 10000.0f, 0.0f, 0.0f, 0.0f, NO_FACTORS, 0, 0},
    {"gemma3", 6, 16, 0, GEGLU, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0.0f, 0.0f, 4, 6, 1e6f, 10000.0f, 8.0f, 0.0f, NO_FACTORS, 0, 0},
    {"phi3", 2, 0, 0, SWIGLU, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0.0f, 0.0f, 5, 0, 10000.0f, 0.0f, 0.0f, 1.19f, SHORT_LONG, 0, 0},
    {"gpt2", 2, 0, 1, GELU, -1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0.0f, 0.0f, 0, 0, 0.0f, 0.0f, 0.0f, 0.0f, NO_FACTORS, 0, 0},
};
#define N_FAMILIES (int)(sizeof families / sizeof families[0])

/* A tensor of the test model, by its GGUF name: f32 values, shape ne (1-D: ne[1] = 0). */
typedef struct src_tensor {
    char name[64];
    int64_t ne[3];
    float *v;
} src_tensor;

typedef struct model_src {
    family f;
    int dim, hidden, heads, kv_heads, head_dim, vocab, context;
    src_tensor t[200];
    int n;
} model_src;

enum { MATRIX, EMBEDDING, NORM, BIAS, FACTOR };

static void src_add(model_src *m, const char *name, int64_t cols, int64_t rows, int64_t depth, int kind)
{
    src_tensor *t = &m->t[m->n++];
    size_t count = (size_t)cols * (size_t)(rows ? rows : 1) * (size_t)depth, i;
    float a = 1.5f / sqrtf((float)cols);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ne[0] = cols, t->ne[1] = rows, t->ne[2] = depth;
    t->v = (float *)tt_alloc(sizeof(float) * count);
    for (i = 0; i < count; i++)
        t->v[i] = kind == MATRIX ? tt_uniform(-a, a) : kind == EMBEDDING ? tt_uniform(-1.0f, 1.0f)
                  : kind == NORM ? tt_uniform(0.6f, 1.4f) : kind == BIAS ? tt_uniform(-0.2f, 0.2f) : tt_uniform(1.0f, 4.0f);
}

/* The values of tensor `name` (blk.l. in front when l >= 0), or NULL when the model has none. */
static const float *src_get(const model_src *m, int l, const char *name)
{
    char full[64];
    int i;
    if (l >= 0) snprintf(full, sizeof full, "blk.%d.%s", l, name);
    else snprintf(full, sizeof full, "%s", name);
    for (i = 0; i < m->n; i++)
        if (!strcmp(m->t[i].name, full)) return m->t[i].v;
    return NULL;
}

static void src_free(model_src *m)
{
    int i;
    for (i = 0; i < m->n; i++) free(m->t[i].v);
    m->n = 0;
}

/* The tensors of family f at width dim, inner width hidden, 4 heads and 2 kv heads. */
static void src_make(model_src *m, const family *f, int dim, int hidden, int vocab, uint64_t seed)
{
    int l, q, kv;
    char name[64];
    memset(m, 0, sizeof *m);
    m->f = *f;
    m->dim = dim, m->hidden = hidden, m->heads = 4, m->kv_heads = 2, m->vocab = vocab, m->context = 32;
    m->head_dim = f->head_dim ? f->head_dim : dim / 4;
    q = m->heads * m->head_dim, kv = m->kv_heads * m->head_dim;
    tt_seed(seed);
    src_add(m, "token_embd.weight", dim, vocab, 1, EMBEDDING);
    if (f->rope < 0) src_add(m, "position_embd.weight", dim, m->context, 1, EMBEDDING);
    if (f->rope_factors == ROPE_FREQS) src_add(m, "rope_freqs.weight", m->head_dim / 2, 0, 1, FACTOR);
    if (f->rope_factors == SHORT_LONG) {
        src_add(m, "rope_factors_short.weight", m->head_dim / 2, 0, 1, FACTOR);
        src_add(m, "rope_factors_long.weight", m->head_dim / 2, 0, 1, FACTOR);
    }
    src_add(m, "output_norm.weight", dim, 0, 1, NORM);
    if (f->layer_norm) src_add(m, "output_norm.bias", dim, 0, 1, BIAS);
    if (!f->tied) src_add(m, "output.weight", dim, vocab, 1, MATRIX);
    for (l = 0; l < f->layers; l++) {
#define ADD(suffix, cols, rows, depth, kind) \
    (snprintf(name, sizeof name, "blk.%d.%s", l, suffix), src_add(m, name, cols, rows, depth, kind))
        ADD("attn_norm.weight", dim, 0, 1, NORM);
        if (f->layer_norm) ADD("attn_norm.bias", dim, 0, 1, BIAS);
        ADD("attn_q.weight", dim, q, 1, MATRIX);
        ADD("attn_k.weight", dim, kv, 1, MATRIX);
        ADD("attn_v.weight", dim, kv, 1, MATRIX);
        if (f->qkv_bias) {
            ADD("attn_q.bias", q, 0, 1, BIAS);
            ADD("attn_k.bias", kv, 0, 1, BIAS);
            ADD("attn_v.bias", kv, 0, 1, BIAS);
        }
        if (f->qk_norm) {
            ADD("attn_q_norm.weight", m->head_dim, 0, 1, NORM);
            ADD("attn_k_norm.weight", m->head_dim, 0, 1, NORM);
        }
        ADD("attn_output.weight", q, dim, 1, MATRIX);
        if (f->out_bias) ADD("attn_output.bias", dim, 0, 1, BIAS);
        if (f->post_norms) ADD("post_attention_norm.weight", dim, 0, 1, NORM);
        ADD("ffn_norm.weight", dim, 0, 1, NORM);
        if (f->layer_norm) ADD("ffn_norm.bias", dim, 0, 1, BIAS);
        if (f->experts) {
            ADD("ffn_gate_inp.weight", dim, f->experts, 1, MATRIX);
            ADD("ffn_gate_exps.weight", dim, hidden, f->experts, MATRIX);
            ADD("ffn_up_exps.weight", dim, hidden, f->experts, MATRIX);
            ADD("ffn_down_exps.weight", hidden, dim, f->experts, MATRIX);
        } else {
            if (f->ffn != GELU) ADD("ffn_gate.weight", dim, hidden, 1, MATRIX);
            ADD("ffn_up.weight", dim, hidden, 1, MATRIX);
            ADD("ffn_down.weight", hidden, dim, 1, MATRIX);
            if (f->ffn_bias) {
                ADD("ffn_up.bias", hidden, 0, 1, BIAS);
                ADD("ffn_down.bias", dim, 0, 1, BIAS);
            }
        }
        if (f->post_norms) ADD("post_ffw_norm.weight", dim, 0, 1, NORM);
#undef ADD
    }
}

/* ---------------------------------------------------------------- writing it as GGUF */

/* One change to a written file (bad files): a key left out or set (u32, f32 or string), a tensor left
   out or given another first dimension. */
typedef struct variant {
    const char *drop_key, *set_key, *set_str;
    uint32_t set_u32;
    float set_f32;
    int set_is_f32;
    const char *drop_tensor, *tensor;
    int64_t tensor_cols;
} variant;

static int key_dropped(const variant *v, const char *key)
{
    return v && ((v->drop_key && !strcmp(v->drop_key, key)) || (v->set_key && !strcmp(v->set_key, key)));
}

#define KEY(fn, name, value)                                                                         \
    do {                                                                                             \
        snprintf(key, sizeof key, "%s.%s", a, name);                                                 \
        if (ok && !key_dropped(v, key)) ok = fn(w, key, value, &err) == TFM_OK;                      \
    } while (0)

/* The {arch}.* keys llama.cpp's converter writes for this model (none of tfm_model.h's writers). */
static int write_keys(tfm_gguf_writer *w, const model_src *m, const variant *v)
{
    const family *f = &m->f;
    const char *a = f->arch;
    char key[96];
    tfm_error err;
    int ok = 1;
    if (!key_dropped(v, "general.architecture")) ok = tfm_gguf_writer_add_string(w, "general.architecture", a, &err) == TFM_OK;
    KEY(tfm_gguf_writer_add_u32, "context_length", (uint32_t)m->context);
    KEY(tfm_gguf_writer_add_u32, "embedding_length", (uint32_t)m->dim);
    KEY(tfm_gguf_writer_add_u32, "feed_forward_length", (uint32_t)(f->experts ? 3 * m->hidden : m->hidden));
    KEY(tfm_gguf_writer_add_u32, "block_count", (uint32_t)f->layers);
    KEY(tfm_gguf_writer_add_u32, "attention.head_count", (uint32_t)m->heads);
    KEY(tfm_gguf_writer_add_u32, "attention.head_count_kv", (uint32_t)m->kv_heads);
    if (m->head_dim != m->dim / m->heads) {
        KEY(tfm_gguf_writer_add_u32, "attention.key_length", (uint32_t)m->head_dim);
        KEY(tfm_gguf_writer_add_u32, "attention.value_length", (uint32_t)m->head_dim);
    }
    if (f->layer_norm) KEY(tfm_gguf_writer_add_f32, "attention.layer_norm_epsilon", 1e-5f);
    else KEY(tfm_gguf_writer_add_f32, "attention.layer_norm_rms_epsilon", 1e-6f);
    if (f->rope >= 0) {
        KEY(tfm_gguf_writer_add_u32, "rope.dimension_count", (uint32_t)m->head_dim);
        KEY(tfm_gguf_writer_add_f32, "rope.freq_base", f->rope_base);
    }
    if (f->rope_factor > 0) {
        KEY(tfm_gguf_writer_add_string, "rope.scaling.type", "linear");
        KEY(tfm_gguf_writer_add_f32, "rope.scaling.factor", f->rope_factor);
    }
    if (f->attn_factor > 0) KEY(tfm_gguf_writer_add_f32, "rope.scaling.attn_factor", f->attn_factor);
    if (f->rope_factors == SHORT_LONG) KEY(tfm_gguf_writer_add_u32, "rope.scaling.original_context_length", 16);
    if (f->attn_softcap > 0) KEY(tfm_gguf_writer_add_f32, "attn_logit_softcapping", f->attn_softcap);
    if (f->logit_softcap > 0) KEY(tfm_gguf_writer_add_f32, "final_logit_softcapping", f->logit_softcap);
    if (f->window) KEY(tfm_gguf_writer_add_u32, "attention.sliding_window", (uint32_t)f->window);
    if (f->experts) {
        KEY(tfm_gguf_writer_add_u32, "expert_count", (uint32_t)f->experts);
        KEY(tfm_gguf_writer_add_u32, "expert_used_count", (uint32_t)f->experts_used);
        KEY(tfm_gguf_writer_add_u32, "expert_feed_forward_length", (uint32_t)m->hidden);
    }
    if (ok && v && v->set_key) {
        if (v->set_str) ok = tfm_gguf_writer_add_string(w, v->set_key, v->set_str, &err) == TFM_OK;
        else if (v->set_is_f32) ok = tfm_gguf_writer_add_f32(w, v->set_key, v->set_f32, &err) == TFM_OK;
        else ok = tfm_gguf_writer_add_u32(w, v->set_key, v->set_u32, &err) == TFM_OK;
    }
    return ok;
}
#undef KEY

/* Bytes the writer keeps until it writes (tensor data is not copied). */
typedef struct written {
    void *data[200];
    int n;
} written;

/* Tensor `name` of rows x cols (x depth) f32 values into the file: matrices and embeddings in `type`
   (rows of tfm_quantize), vectors f32. */
static int put(tfm_gguf_writer *w, written *keep, const char *name, const float *values, const int64_t *ne, tfm_dtype type,
               const variant *v)
{
    int64_t shape[3];
    size_t row_bytes = 0, rows = (size_t)(ne[1] ? ne[1] : 1) * (size_t)ne[2];
    tfm_dtype dt = ne[1] ? type : TFM_F32;
    tfm_error err;
    void *bytes;
    if (v && v->drop_tensor && !strcmp(v->drop_tensor, name)) return 1;
    shape[0] = ne[0], shape[1] = ne[1], shape[2] = ne[2];
    if (tfm_dtype_row_bytes(dt, (uint64_t)ne[0], &row_bytes) != TFM_OK) return 0;
    bytes = tt_alloc(row_bytes * rows);
    keep->data[keep->n++] = bytes;
    if (tfm_quantize(dt, values, bytes, rows, (size_t)ne[0], 1) != TFM_OK) return 0;
    if (v && v->tensor && !strcmp(v->tensor, name)) shape[0] = v->tensor_cols; /* fewer elements: stays inside */
    return tfm_gguf_writer_add_tensor(w, name, dt, ne[2] > 1 ? 3 : ne[1] ? 2 : 1, shape, bytes, &err) == TFM_OK;
}

/* rows of a then rows of b (and c) as one matrix or vector, as a converter fuses them */
static float *concat3(const float *a, size_t na, const float *b, size_t nb, const float *c, size_t nc)
{
    float *out = (float *)tt_alloc(sizeof(float) * (na + nb + nc));
    memcpy(out, a, sizeof(float) * na);
    memcpy(out + na, b, sizeof(float) * nb);
    if (c) memcpy(out + na + nb, c, sizeof(float) * nc);
    return out;
}

/* The model as a GGUF file in memory (*size bytes; NULL if writing failed), matrices in `type`, the
   family's fused tensors fused. */
static void *src_write(const model_src *m, tfm_dtype type, const variant *v, size_t *size)
{
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    written keep;
    void *buf = NULL;
    int i, ok;
    size_t dim = (size_t)m->dim, q = (size_t)(m->heads * m->head_dim), kv = (size_t)(m->kv_heads * m->head_dim);
    keep.n = 0;
    ok = tfm_gguf_writer_create(&w, &err) == TFM_OK && write_keys(w, m, v);
    for (i = 0; ok && i < m->n; i++) {
        const src_tensor *t = &m->t[i];
        const char *dot = strchr(t->name, '.'), *sfx = dot ? strchr(dot + 1, '.') : NULL;
        int l = -1;
        char fused[64];
        int64_t ne[3];
        if (!strncmp(t->name, "blk.", 4)) l = atoi(t->name + 4);
        sfx = l >= 0 ? sfx + 1 : t->name; /* the name after blk.N. */
        if (m->f.fused_qkv && (!strncmp(sfx, "attn_k.", 7) || !strncmp(sfx, "attn_v.", 7))) continue;
        if (m->f.fused_up && !strcmp(sfx, "ffn_up.weight")) continue;
        if (m->f.fused_qkv && !strncmp(sfx, "attn_q.", 7)) {
            int bias = !strcmp(sfx, "attn_q.bias");
            float *all = concat3(t->v, q * (bias ? 1 : dim), src_get(m, l, bias ? "attn_k.bias" : "attn_k.weight"),
                                 kv * (bias ? 1 : dim), src_get(m, l, bias ? "attn_v.bias" : "attn_v.weight"), kv * (bias ? 1 : dim));
            snprintf(fused, sizeof fused, "blk.%d.attn_qkv.%s", l, bias ? "bias" : "weight");
            ne[0] = bias ? (int64_t)(q + 2 * kv) : (int64_t)dim, ne[1] = bias ? 0 : (int64_t)(q + 2 * kv), ne[2] = 1;
            keep.data[keep.n++] = all;
            ok = put(w, &keep, fused, all, ne, type, v);
            continue;
        }
        if (m->f.fused_up && !strcmp(sfx, "ffn_gate.weight")) {
            size_t cells = (size_t)m->hidden * dim;
            float *all = concat3(t->v, cells, src_get(m, l, "ffn_up.weight"), cells, NULL, 0);
            snprintf(fused, sizeof fused, "blk.%d.ffn_up.weight", l);
            ne[0] = (int64_t)dim, ne[1] = 2 * m->hidden, ne[2] = 1;
            keep.data[keep.n++] = all;
            ok = put(w, &keep, fused, all, ne, type, v);
            continue;
        }
        ok = put(w, &keep, t->name, t->v, t->ne, type, v);
    }
    if (ok) {
        *size = (size_t)tfm_gguf_writer_size(w);
        buf = tt_alloc(*size);
        if (tfm_gguf_writer_write_buffer(w, buf, *size, &err) != TFM_OK) free(buf), buf = NULL;
    }
    tfm_gguf_writer_free(w);
    for (i = 0; i < keep.n; i++) free(keep.data[i]);
    return buf;
}

/* ---------------------------------------------------------------- the float64 reference */

static void ref_norm(const model_src *m, double *out, const double *x, int n, const float *w, const float *b)
{
    double mean = 0, var = 0;
    int i;
    if (m->f.layer_norm) {
        for (i = 0; i < n; i++) mean += x[i];
        mean /= n;
        for (i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= n;
        for (i = 0; i < n; i++) out[i] = (x[i] - mean) / sqrt(var + 1e-5) * w[i] + (b ? b[i] : 0.0);
    } else {
        for (i = 0; i < n; i++) var += x[i] * x[i];
        var /= n;
        for (i = 0; i < n; i++) out[i] = x[i] / sqrt(var + 1e-6) * w[i];
    }
}

/* y[rows] = W x (+ b) */
static void ref_matvec(double *y, const float *w, const double *x, int rows, int cols, const float *b)
{
    int r, c;
    for (r = 0; r < rows; r++) {
        double s = b ? b[r] : 0.0;
        for (c = 0; c < cols; c++) s += (double)w[(size_t)r * (size_t)cols + (size_t)c] * x[c];
        y[r] = s;
    }
}

static double ref_gelu(double x) { return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
static double ref_silu(double x) { return x / (1.0 + exp(-x)); }

/* Whether layer l slides, by the family's pattern. */
static int ref_slides(const family *f, int l) { return f->window > 0 && (f->swa_period == 0 || (l + 1) % f->swa_period != 0); }

/* RoPE of n_heads heads of v at position pos, for layer l: pair i (adjacent, or i and i + d/2) turns by
   pos * base^(-2i/d) / factor_i / linear factor (the sliding layers of a family with their own base:
   that base, unscaled), cos and sin times the attention factor. */
static void ref_rope(const model_src *m, double *v, int n_heads, int pos, int l, int context)
{
    const family *f = &m->f;
    int d = m->head_dim, own = f->rope_base_swa > 0 && ref_slides(f, l), h, i;
    const float *factors = own ? NULL
                           : f->rope_factors == ROPE_FREQS ? src_get(m, -1, "rope_freqs.weight")
                           : f->rope_factors == SHORT_LONG ? src_get(m, -1, context > 16 ? "rope_factors_long.weight"
                                                                                          : "rope_factors_short.weight")
                                                           : NULL;
    double base = own ? f->rope_base_swa : f->rope_base, mscale = f->attn_factor > 0 ? f->attn_factor : 1.0;
    for (i = 0; i < d / 2; i++) {
        double theta = pos * pow(base, -2.0 * i / d);
        if (!own && f->rope_factor > 0) theta /= f->rope_factor;
        if (factors) theta /= factors[i];
        for (h = 0; h < n_heads; h++) {
            double *x = v + (size_t)h * (size_t)d;
            int a = f->rope == 0 ? 2 * i : i, b = f->rope == 0 ? 2 * i + 1 : i + d / 2;
            double xa = x[a], xb = x[b];
            x[a] = (xa * cos(theta) - xb * sin(theta)) * mscale;
            x[b] = (xa * sin(theta) + xb * cos(theta)) * mscale;
        }
    }
}

/* The feed-forward block of layer l on h into out. */
static void ref_ffn(const model_src *m, int l, const double *h, double *out)
{
    const family *f = &m->f;
    int dim = m->dim, hid = m->hidden, i, e, k;
    double *g = (double *)tt_alloc(sizeof(double) * (size_t)hid), *u = (double *)tt_alloc(sizeof(double) * (size_t)hid);
    if (f->experts) {
        /* softmax over every expert's router logit, the k most probable, their weights renormalised */
        double p[16], sum = 0, chosen = 0, *y = (double *)tt_alloc(sizeof(double) * (size_t)dim);
        int pick[16];
        ref_matvec(p, src_get(m, l, "ffn_gate_inp.weight"), h, f->experts, dim, NULL);
        for (e = 0; e < f->experts; e++) sum += p[e] = exp(p[e]);
        for (e = 0; e < f->experts; e++) p[e] /= sum;
        for (k = 0; k < f->experts_used; k++) {
            int best = -1;
            for (e = 0; e < f->experts; e++) {
                int taken = 0, j;
                for (j = 0; j < k; j++) taken |= pick[j] == e;
                if (!taken && (best < 0 || p[e] > p[best])) best = e;
            }
            pick[k] = best;
            chosen += p[best];
        }
        for (i = 0; i < dim; i++) out[i] = 0;
        for (k = 0; k < f->experts_used; k++) {
            size_t up = (size_t)pick[k] * (size_t)hid * (size_t)dim;
            ref_matvec(g, src_get(m, l, "ffn_gate_exps.weight") + up, h, hid, dim, NULL);
            ref_matvec(u, src_get(m, l, "ffn_up_exps.weight") + up, h, hid, dim, NULL);
            for (i = 0; i < hid; i++) g[i] = ref_silu(g[i]) * u[i];
            ref_matvec(y, src_get(m, l, "ffn_down_exps.weight") + up, g, dim, hid, NULL);
            for (i = 0; i < dim; i++) out[i] += p[pick[k]] / chosen * y[i];
        }
        free(y);
    } else if (f->ffn == GELU) {
        ref_matvec(u, src_get(m, l, "ffn_up.weight"), h, hid, dim, src_get(m, l, "ffn_up.bias"));
        for (i = 0; i < hid; i++) u[i] = ref_gelu(u[i]);
        ref_matvec(out, src_get(m, l, "ffn_down.weight"), u, dim, hid, src_get(m, l, "ffn_down.bias"));
    } else {
        ref_matvec(g, src_get(m, l, "ffn_gate.weight"), h, hid, dim, NULL);
        ref_matvec(u, src_get(m, l, "ffn_up.weight"), h, hid, dim, NULL);
        for (i = 0; i < hid; i++) g[i] = (f->ffn == GEGLU ? ref_gelu(g[i]) : ref_silu(g[i])) * u[i];
        ref_matvec(out, src_get(m, l, "ffn_down.weight"), g, dim, hid, NULL);
    }
    free(g), free(u);
}

/* logits[T][vocab] of tokens[0..T) at positions 0.., by the family's definition, in double; the
   context length picks Phi-3's long or short RoPE factors. */
static void ref_forward(const model_src *m, const int *tokens, int T, int context, double *logits)
{
    const family *f = &m->f;
    int dim = m->dim, hd = m->head_dim, H = m->heads, KV = m->kv_heads, qd = H * hd, kvd = KV * hd;
    double *x = (double *)tt_alloc(sizeof(double) * (size_t)T * (size_t)dim);
    double *h = (double *)tt_alloc(sizeof(double) * (size_t)dim), *o = (double *)tt_alloc(sizeof(double) * (size_t)dim);
    double *q = (double *)tt_alloc(sizeof(double) * (size_t)T * (size_t)qd);
    double *k = (double *)tt_alloc(sizeof(double) * (size_t)T * (size_t)kvd);
    double *v = (double *)tt_alloc(sizeof(double) * (size_t)T * (size_t)kvd);
    double *att = (double *)tt_alloc(sizeof(double) * (size_t)qd), *p = (double *)tt_alloc(sizeof(double) * (size_t)T);
    double scale = 1.0 / sqrt((double)hd);
    const float *out_w = src_get(m, -1, f->tied ? "token_embd.weight" : "output.weight");
    int t, l, i, j, hh;
    for (t = 0; t < T; t++)
        for (i = 0; i < dim; i++) {
            double e = src_get(m, -1, "token_embd.weight")[(size_t)tokens[t] * (size_t)dim + (size_t)i];
            if (f->embd_scale) e *= sqrt((double)dim);
            if (f->rope < 0) e += src_get(m, -1, "position_embd.weight")[(size_t)t * (size_t)dim + (size_t)i];
            x[(size_t)t * dim + i] = e;
        }
    for (l = 0; l < f->layers; l++) {
        for (t = 0; t < T; t++) {
            double *qt = q + (size_t)t * qd, *kt = k + (size_t)t * kvd, *vt = v + (size_t)t * kvd;
            ref_norm(m, h, x + (size_t)t * dim, dim, src_get(m, l, "attn_norm.weight"), src_get(m, l, "attn_norm.bias"));
            ref_matvec(qt, src_get(m, l, "attn_q.weight"), h, qd, dim, src_get(m, l, "attn_q.bias"));
            ref_matvec(kt, src_get(m, l, "attn_k.weight"), h, kvd, dim, src_get(m, l, "attn_k.bias"));
            ref_matvec(vt, src_get(m, l, "attn_v.weight"), h, kvd, dim, src_get(m, l, "attn_v.bias"));
            if (f->qk_norm) {
                for (hh = 0; hh < H; hh++) ref_norm(m, qt + hh * hd, qt + hh * hd, hd, src_get(m, l, "attn_q_norm.weight"), NULL);
                for (hh = 0; hh < KV; hh++) ref_norm(m, kt + hh * hd, kt + hh * hd, hd, src_get(m, l, "attn_k_norm.weight"), NULL);
            }
            if (f->rope >= 0) {
                ref_rope(m, qt, H, t, l, context);
                ref_rope(m, kt, KV, t, l, context);
            }
        }
        for (t = 0; t < T; t++) {
            for (hh = 0; hh < H; hh++) {
                const double *qh = q + (size_t)t * qd + (size_t)hh * hd;
                int kh = hh / (H / KV), first = ref_slides(f, l) && t - f->window + 1 > 0 ? t - f->window + 1 : 0;
                double max = -1e300, sum = 0;
                for (j = first; j <= t; j++) {
                    double s = 0;
                    for (i = 0; i < hd; i++) s += qh[i] * k[(size_t)j * kvd + (size_t)kh * hd + i];
                    s *= scale;
                    if (f->attn_softcap > 0) s = f->attn_softcap * tanh(s / f->attn_softcap);
                    p[j] = s;
                    max = s > max ? s : max;
                }
                for (j = first; j <= t; j++) sum += p[j] = exp(p[j] - max);
                for (i = 0; i < hd; i++) {
                    double a = 0;
                    for (j = first; j <= t; j++) a += p[j] / sum * v[(size_t)j * kvd + (size_t)kh * hd + i];
                    att[hh * hd + i] = a;
                }
            }
            ref_matvec(o, src_get(m, l, "attn_output.weight"), att, dim, qd, src_get(m, l, "attn_output.bias"));
            if (f->post_norms) ref_norm(m, o, o, dim, src_get(m, l, "post_attention_norm.weight"), NULL);
            for (i = 0; i < dim; i++) x[(size_t)t * dim + i] += o[i];
        }
        for (t = 0; t < T; t++) {
            ref_norm(m, h, x + (size_t)t * dim, dim, src_get(m, l, "ffn_norm.weight"), src_get(m, l, "ffn_norm.bias"));
            ref_ffn(m, l, h, o);
            if (f->post_norms) ref_norm(m, o, o, dim, src_get(m, l, "post_ffw_norm.weight"), NULL);
            for (i = 0; i < dim; i++) x[(size_t)t * dim + i] += o[i];
        }
    }
    for (t = 0; t < T; t++) {
        double *lt = logits + (size_t)t * (size_t)m->vocab;
        ref_norm(m, h, x + (size_t)t * dim, dim, src_get(m, -1, "output_norm.weight"), src_get(m, -1, "output_norm.bias"));
        ref_matvec(lt, out_w, h, m->vocab, dim, NULL);
        if (f->logit_softcap > 0)
            for (i = 0; i < m->vocab; i++) lt[i] = f->logit_softcap * tanh(lt[i] / f->logit_softcap);
    }
    free(x), free(h), free(o), free(q), free(k), free(v), free(att), free(p);
}

/* ---------------------------------------------------------------- running tfm on it */

static tfm_context *new_context(const tfm_model *m, int context, int max_batch, int n_threads)
{
    tfm_context_params p;
    tfm_context *ctx = NULL;
    tfm_error err;
    memset(&p, 0, sizeof p);
    p.context_length = context;
    p.max_batch = max_batch;
    p.n_threads = n_threads;
    if (tfm_context_create(m, &p, &ctx, &err) != TFM_OK) fprintf(stderr, "  context: %s\n", err.message);
    return ctx;
}

/* logits[T][vocab] of the prompt in one call (decode 0) or token by token (decode 1); 0 on failure. */
static int run(const tfm_model *m, const int *tokens, int T, int n_threads, int decode, float *logits)
{
    tfm_context *ctx = new_context(m, 32, decode ? 0 : 7, n_threads); /* prefill: chunks of 7 */
    tfm_error err;
    int i, ok = ctx != NULL;
    if (ok && !decode) ok = tfm_forward(ctx, tokens, T, logits, TFM_LOGITS_ALL, &err) == TFM_OK;
    for (i = 0; ok && decode && i < T; i++)
        ok = tfm_forward(ctx, tokens + i, 1, logits + (size_t)i * (size_t)m->config.vocab_size, TFM_LOGITS_LAST, &err) == TFM_OK;
    if (!ok && ctx) fprintf(stderr, "  forward: %s\n", err.message);
    tfm_context_free(ctx);
    return ok;
}

static double max_abs(const double *x, size_t n)
{
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

/* Every family in f32 with odd sizes (width 48, inner 80, vocab 97, head dim 12 or 16), 13 tokens:
   prefill (chunks of 7) and decode both within 1e-4 of the largest float64 logit (measured: ~1e-6; a
   wrong sign, position, window edge or norm placement: 1e-2 and more), and each other within 1e-5. */
static void test_families_match_float64(void)
{
    enum { T = 13 };
    int tokens[T], fi, i;
    for (fi = 0; fi < N_FAMILIES; fi++) {
        model_src m;
        tfm_model *model = NULL;
        tfm_error err;
        size_t size, n;
        void *file;
        double *want, scale, worst = 0, gap = 0;
        float *pre, *dec;
        src_make(&m, &families[fi], 48, 80, 97, 100 + (uint64_t)fi);
        for (i = 0; i < T; i++) tokens[i] = (int)(tt_next() % 97);
        n = (size_t)T * 97;
        want = (double *)tt_alloc(sizeof(double) * n);
        pre = (float *)tt_alloc(sizeof(float) * n), dec = (float *)tt_alloc(sizeof(float) * n);
        ref_forward(&m, tokens, T, 32, want);
        scale = max_abs(want, n);
        file = src_write(&m, TFM_F32, NULL, &size);
        TT_ASSERT(file, "%s: writing the file", m.f.arch);
        TT_ASSERT(tfm_model_load_memory(file, size, &model, &err) == TFM_OK, "%s: %s", m.f.arch, err.message);
        TT_ASSERT(!strcmp(model->config.arch, m.f.arch), "%s: loaded as %s", m.f.arch, model->config.arch);
        TT_ASSERT(run(model, tokens, T, 1, 0, pre) && run(model, tokens, T, 1, 1, dec), "%s: forward", m.f.arch);
        for (i = 0; i < (int)n; i++) {
            if (fabs(pre[i] - want[i]) > worst) worst = fabs(pre[i] - want[i]);
            if (fabs(dec[i] - want[i]) > worst) worst = fabs(dec[i] - want[i]);
            if (fabs(dec[i] - pre[i]) > gap) gap = fabs(dec[i] - pre[i]);
        }
        if (getenv("TFM_TEST_VERBOSE"))
            fprintf(stderr, "  %s: off float64 by %.2g, prefill vs decode %.2g of the largest logit %.3g\n", m.f.arch,
                    worst / scale, gap / scale, scale);
        TT_ASSERT(worst <= 1e-4 * scale, "%s: logits off the float64 reference by %g (largest %g)", m.f.arch, worst, scale);
        TT_ASSERT(gap <= 1e-5 * scale, "%s: prefill and decode differ by %g (largest %g)", m.f.arch, gap, scale);
        tfm_model_free(model);
        free(file), free(want), free(pre), free(dec);
        src_free(&m);
    }
}

/* Every family with every matrix (embedding included) in each weight type tfm-quantize writes, at sizes
   every block fits (width 256, inner 512, head dim 64, vocab 300), 13 tokens: within the type's bound of
   the float64 logits of the f32 weights; 1 and 2 threads bit for bit, prefill (chunks of 7) and decode;
   the packed layouts (tfm_model_pack, AVX-512 VNNI builds) and the stored ones bit for bit, the fused
   matrices' row views included. */
static void test_families_quantized(void)
{
    static const tfm_dtype types[] = {TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K, TFM_Q6_K, TFM_F16,   TFM_BF16,
                                      TFM_Q5_0, TFM_Q5_1, TFM_IQ4_NL, TFM_Q3_K, TFM_Q5_K, TFM_IQ4_XS, TFM_Q2_K};
    /* of the largest logit (before a soft-cap); measured, worst family: q8_0 1.5%, q4_0 30%, q4_1 27%,
       q4_k 29%, q6_k 4.6%, f16 0.06%, bf16 0.54%, q5_0 8.6%, q5_1 7.7%, iq4_nl 26%, q3_k 34%, q5_k 8.9%,
       iq4_xs 20%, q2_k 69%; a misread block, stride or view: ~100% (q2_k's bound tells little here:
       test_model checks it against the float64 forward of its dequantized weights). */
    static const double limits[] = {0.05, 0.45, 0.35, 0.3, 0.1, 0.003, 0.015, 0.15, 0.13, 0.4, 0.5, 0.15, 0.35, 1.0};
    enum { T = 13, V = 300 };
    int tokens[T], fi, ti, i, v;
    /* the slow configurations: one type a family, q8_0 and q4_0 in turn (q4_k's quantizer takes longer) */
    int n_types = tt_quick() ? 1 : (int)(sizeof types / sizeof types[0]);
    for (fi = 0; fi < N_FAMILIES; fi++) {
        family f = families[fi];
        model_src m;
        double *want = (double *)tt_alloc(sizeof(double) * T * V), scale;
        float *got[4];
        f.head_dim = 0;
        src_make(&m, &f, 256, f.experts ? 256 : 512, V, 200 + (uint64_t)fi);
        for (i = 0; i < T; i++) tokens[i] = (int)(tt_next() % V);
        /* the scale of the logits before a soft-cap, whose slope is at most 1: a capped model's logits
           are no larger than the cap, their errors no larger than before it */
        m.f.logit_softcap = 0;
        ref_forward(&m, tokens, T, 32, want);
        scale = max_abs(want, (size_t)T * V);
        m.f.logit_softcap = f.logit_softcap;
        ref_forward(&m, tokens, T, 32, want);
        for (v = 0; v < 4; v++) got[v] = (float *)tt_alloc(sizeof(float) * T * V);
        for (ti = tt_quick() ? fi % 2 : 0; ti < (tt_quick() ? fi % 2 + 1 : n_types); ti++) {
            tfm_model *model = NULL;
            tfm_error err;
            size_t size;
            void *file = src_write(&m, types[ti], NULL, &size);
            double worst = 0;
            const char *tn = tfm_dtype_name(types[ti]);
            TT_ASSERT(file, "%s %s: writing the file", f.arch, tn);
            TT_ASSERT(tfm_model_load_memory(file, size, &model, &err) == TFM_OK, "%s %s: %s", f.arch, tn, err.message);
            TT_ASSERT((model->layers[0].wk.packed != NULL) == tfm_quant_packable(types[ti]),
                      "%s %s: packed iff the build packs the type", f.arch, tn);
            for (v = 0; v < 2; v++) { /* prefill, then decode: 1 thread, 2 threads, the stored layout */
                TT_ASSERT(run(model, tokens, T, 1, v, got[0]) && run(model, tokens, T, 2, v, got[1]), "%s %s: forward",
                          f.arch, tn);
                TT_ASSERT(memcmp(got[0], got[1], sizeof(float) * T * V) == 0, "%s %s %s: 1 and 2 threads differ", f.arch,
                          tn, v ? "decode" : "prefill");
                for (i = 0; i < T * V; i++) worst = fabs(got[0][i] - want[i]) > worst ? fabs(got[0][i] - want[i]) : worst;
                memcpy(got[2 + v], got[0], sizeof(float) * T * V);
            }
            tfm_model_unpack(model);
            for (v = 0; v < 2; v++) {
                TT_ASSERT(run(model, tokens, T, 1, v, got[0]), "%s %s: forward", f.arch, tn);
                TT_ASSERT(memcmp(got[0], got[2 + v], sizeof(float) * T * V) == 0, "%s %s %s: packed and stored layouts differ",
                          f.arch, tn, v ? "decode" : "prefill");
            }
            if (getenv("TFM_TEST_VERBOSE"))
                fprintf(stderr, "  %s %s: logits off by %.4f of the largest\n", f.arch, tn, worst / scale);
            TT_ASSERT(worst <= limits[ti] * scale, "%s %s: logits off by %g (largest %g)", f.arch, tn, worst, scale);
            tfm_model_free(model);
            free(file);
        }
        for (v = 0; v < 4; v++) free(got[v]);
        free(want);
        src_free(&m);
    }
}

/* ---------------------------------------------------------------- llama.cpp on ../shared/archs */

/* The integers after `key` in a text (up to max), or 0 when the key is absent. */
static int read_ids(const char *text, const char *key, int *ids, int max)
{
    const char *p = strstr(text, key);
    int n = 0;
    if (!p) return 0;
    p += strlen(key);
    while (n < max) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        ids[n++] = (int)v;
        p = end;
    }
    return n;
}

/* A shared file by name, vocab unread (the byte-level BPE vocabs are another header's business: these
   tests start from llama.cpp's token ids). NULL: skip. */
static tfm_model *load_shared_arch(const char *name, int with_vocab)
{
    char rel[128];
    const char *path;
    tfm_model_options o;
    tfm_model *m = NULL;
    tfm_error err;
    snprintf(rel, sizeof rel, "archs/%s-shared.gguf", name);
    if (!(path = tt_shared(rel))) return NULL;
    memset(&o, 0, sizeof o);
    o.no_vocab = !with_vocab;
    if (tfm_model_load(path, &o, &m, &err) != TFM_OK) fprintf(stderr, "  %s: %s\n", rel, err.message);
    return m;
}

static const char *const shared_archs[] = {"llama3", "qwen2", "qwen3", "gemma2", "phi3", "gpt2"};

/* llama.cpp's prompt ids of "Once upon a time" through each file: the logits after the prompt within 2e-3
   of llama.cpp's (its F16 KV cache and the F16 rounding of activations before F16 matrices move them
   by up to 7e-4: the README there), then its 32 greedy tokens, one decode step each, every one. The
   reference files come from llama.cpp's C API (greedy_ids, ../shared/archs/README.md: prompt decoded as
   one batch, llama.cpp's greedy sampler, one llama_decode per token, n_ctx 256, 1 thread). The slow
   configurations follow the first 8 tokens. */
static void test_shared_archs_greedy(void)
{
    int a;
    if (!tt_shared("archs/README.md")) TT_SKIP("../shared/archs is missing");
    for (a = 0; a < (int)(sizeof shared_archs / sizeof shared_archs[0]); a++) {
        char rel[128], *text;
        const char *path;
        int prompt[16], gold[64], n_prompt, n_gold, i;
        float *logits, *ref;
        size_t size;
        double worst = 0;
        tfm_model *m = load_shared_arch(shared_archs[a], 0);
        tfm_context *ctx;
        tfm_error err;
        TT_ASSERT(m, "%s does not load", shared_archs[a]);
        snprintf(rel, sizeof rel, "archs/%s-shared.greedy.txt", shared_archs[a]);
        TT_ASSERT((path = tt_shared(rel)) && (text = tt_read_file(path, NULL)), "%s is missing", rel);
        n_prompt = read_ids(text, "prompt_ids:", prompt, 16);
        n_gold = read_ids(text, "generated_ids:", gold, 64);
        free(text);
        TT_ASSERT(n_prompt > 0 && n_gold == 32, "%s: %d prompt ids, %d generated", rel, n_prompt, n_gold);
        {   /* the file's own vocab gives llama.cpp's prompt ids (BOS as the vocab says) */
            tfm_model *with_vocab = load_shared_arch(shared_archs[a], 1);
            int mine[16], n_mine = 0;
            TT_ASSERT(with_vocab && tfm_model_tokenizer(with_vocab), "%s does not load with its vocab", shared_archs[a]);
            TT_ASSERT(tfm_tokenize(tfm_model_tokenizer(with_vocab), "Once upon a time", 16, TFM_TOKENIZE_ADD_SPECIAL, mine, 16,
                                   &n_mine, &err) == TFM_OK, "%s", err.message);
            TT_ASSERT(n_mine == n_prompt && !memcmp(mine, prompt, sizeof(int) * (size_t)n_prompt),
                      "%s: the prompt tokenizes to %d ids, not llama.cpp's", shared_archs[a], n_mine);
            tfm_model_free(with_vocab);
        }
        snprintf(rel, sizeof rel, "archs/%s-shared.logits0.f32", shared_archs[a]);
        TT_ASSERT((path = tt_shared(rel)) && (ref = (float *)(void *)tt_read_file(path, &size)), "%s is missing", rel);
        TT_ASSERT(size == sizeof(float) * (size_t)m->config.vocab_size, "%s: %zu bytes", rel, size);
        ctx = new_context(m, 256, 0, 2);
        logits = (float *)tt_alloc(sizeof(float) * (size_t)m->config.vocab_size);
        TT_ASSERT(ctx && tfm_forward(ctx, prompt, n_prompt, logits, TFM_LOGITS_LAST, &err) == TFM_OK, "%s", err.message);
        for (i = 0; i < m->config.vocab_size; i++) worst = fabs(logits[i] - ref[i]) > worst ? fabs(logits[i] - ref[i]) : worst;
        if (getenv("TFM_TEST_VERBOSE")) fprintf(stderr, "  %s: logits after the prompt off llama.cpp's by %.2g\n", shared_archs[a], worst);
        TT_ASSERT(worst <= 2e-3, "%s: logits after the prompt off llama.cpp's by %g", shared_archs[a], worst);
        for (i = 0; i < (tt_quick() ? 8 : n_gold); i++) {
            int next = (int)tfm_argmax(logits, (size_t)m->config.vocab_size);
            TT_ASSERT(next == gold[i], "%s: greedy token %d is %d, llama.cpp's %d", shared_archs[a], i, next, gold[i]);
            TT_ASSERT(tfm_forward(ctx, &next, 1, logits, TFM_LOGITS_LAST, &err) == TFM_OK, "%s", err.message);
        }
        free(logits), free(ref);
        tfm_context_free(ctx);
        tfm_model_free(m);
    }
}

/* llama.cpp's perplexity of the first 30000 bytes of tinystories.valid.first500.txt (llama-perplexity -c
   128 -b 128 -t 1, its default F16 KV cache: the `running:` values in NAME-shared.ppl.txt) within 0.1%,
   every file through its own vocab: tokenized as llama-perplexity does (BOS where the vocab adds it, then
   each chunk starts with it), tfm_perplexity at 128. The slow
   configurations score the first chunk against llama.cpp's value after 1, for the files whose vocab is
   under 64k tokens (gemma2, phi3, gpt2: the 128-152k-wide output layer of the others was 3/4 of the time
   under qemu; their logits are checked against llama.cpp's by test_shared_archs_greedy there too). */
static void check_shared_ppl(const char *name)
{
    char rel[128], *text, *ppl, key[16];
    const char *path;
    int *ids, n = 0, chunks = tt_quick() ? 1 : 0;
    size_t size;
    double want = 0;
    tfm_model *m;
    tfm_context *ctx;
    tfm_perplexity_result r;
    tfm_error err;
    if (chunks && (!strcmp(name, "llama3") || !strncmp(name, "qwen", 4))) return; /* the vocabs over 64k */
    if (!(path = tt_shared("golden/tinystories.valid.first500.txt")) || !(text = tt_read_file(path, &size)))
        TT_SKIP("the TinyStories text is missing");
    snprintf(rel, sizeof rel, "archs/%s-shared.ppl.txt", name);
    if (!(path = tt_shared(rel)) || !(ppl = tt_read_file(path, NULL))) TT_SKIP("../shared/archs is missing");
    if (chunks) {
        snprintf(key, sizeof key, "[%d]", chunks);
        want = strstr(ppl, key) ? atof(strstr(ppl, key) + strlen(key)) : 0;
    } else {
        want = strstr(ppl, "PPL = ") ? atof(strstr(ppl, "PPL = ") + 6) : 0;
    }
    free(ppl);
    TT_ASSERT(want > 0, "%s: no perplexity", rel);
    m = load_shared_arch(name, 1);
    TT_ASSERT(m && tfm_model_tokenizer(m), "%s does not load with its vocab", name);
    ids = (int *)tt_alloc(sizeof(int) * 40000);
    TT_ASSERT(tfm_tokenize(tfm_model_tokenizer(m), text, size < 30000 ? size : 30000, TFM_TOKENIZE_ADD_SPECIAL, ids, 40000,
                           &n, &err) == TFM_OK, "tokenizing: %s", err.message);
    ctx = new_context(m, 128, 0, 2);
    TT_ASSERT(ctx && tfm_perplexity(ctx, ids, n, 128,
                                    tfm_tokenizer_add_bos(tfm_model_tokenizer(m)) ? tfm_tokenizer_bos(tfm_model_tokenizer(m)) : -1,
                                    chunks, NULL, NULL, &r, &err) == TFM_OK, "%s", err.message);
    if (getenv("TFM_TEST_VERBOSE")) fprintf(stderr, "  %s: PPL %.4f, llama.cpp %.4f\n", name, r.ppl, want);
    TT_ASSERT(fabs(r.ppl - want) <= 1e-3 * want, "%s: perplexity %.4f, llama.cpp's %.4f (%d chunks)", name, r.ppl, want, r.n_chunks);
    tfm_context_free(ctx);
    tfm_model_free(m);
    free(ids), free(text);
}

static void test_shared_ppl(void)
{
    int a;
    for (a = 0; a < (int)(sizeof shared_archs / sizeof shared_archs[0]); a++) check_shared_ppl(shared_archs[a]);
}

/* ---------------------------------------------------------------- bad files */

static const family *family_named(const char *arch)
{
    int i;
    for (i = 0; i < N_FAMILIES; i++)
        if (!strcmp(families[i].arch, arch)) return &families[i];
    return NULL;
}

/* Family `arch`'s small f32 file with one change fails to load with `want` and one line naming `says`. */
static int expect_bad(const char *arch, const variant *v, tfm_status want, const char *says)
{
    model_src m;
    tfm_model *model = NULL;
    tfm_error err;
    size_t size;
    void *file;
    tfm_status s;
    int ok;
    src_make(&m, family_named(arch), 48, 80, 97, 7);
    file = src_write(&m, TFM_F32, v, &size);
    s = file ? tfm_model_load_memory(file, size, &model, &err) : TFM_ERR_IO;
    ok = s == want && !model && strstr(err.message, says) && !strchr(err.message, '\n');
    if (!ok) tt_fail(__FILE__, __LINE__, "%s: status %d (want %d), message '%s' (want '%s')", arch, (int)s, (int)want,
                     file ? err.message : "(not written)", says);
    tfm_model_free(model);
    free(file);
    src_free(&m);
    return ok;
}

static void test_bad_family_files(void)
{
    variant v;
#define BAD(arch, status, says, ...)                    \
    do {                                                \
        memset(&v, 0, sizeof v);                        \
        __VA_ARGS__;                                    \
        if (!expect_bad(arch, &v, status, says)) return; \
    } while (0)
    BAD("qwen2", TFM_ERR_FORMAT, "tensor 'blk.1.attn_k.bias' is missing", v.drop_tensor = "blk.1.attn_k.bias");
    BAD("qwen3", TFM_ERR_FORMAT, "tensor 'blk.0.attn_q_norm.weight' has shape {8, 1, 1, 1}, the hyperparameters want {16, 1}",
        v.tensor = "blk.0.attn_q_norm.weight", v.tensor_cols = 8);
    BAD("qwen3", TFM_ERR_FORMAT, "tensor 'blk.1.attn_k_norm.weight' is missing", v.drop_tensor = "blk.1.attn_k_norm.weight");
    BAD("gemma2", TFM_ERR_FORMAT, "gemma2.attn_logit_softcapping = 0 must be a positive number",
        v.set_key = "gemma2.attn_logit_softcapping", v.set_is_f32 = 1, v.set_f32 = 0.0f);
    BAD("gemma2", TFM_ERR_FORMAT, "gemma2.final_logit_softcapping = -1 must be a positive number",
        v.set_key = "gemma2.final_logit_softcapping", v.set_is_f32 = 1, v.set_f32 = -1.0f);
    BAD("gemma2", TFM_ERR_FORMAT, "tensor 'blk.0.post_ffw_norm.weight' is missing", v.drop_tensor = "blk.0.post_ffw_norm.weight");
    BAD("llama", TFM_ERR_UNSUPPORTED, "RoPE scaling 'yarn' (llama.rope.scaling.type) is not supported",
        v.set_key = "llama.rope.scaling.type", v.set_str = "yarn");
    BAD("llama", TFM_ERR_FORMAT, "tensor 'rope_freqs.weight' has shape {5, 1, 1, 1}", v.tensor = "rope_freqs.weight",
        v.tensor_cols = 5);
    BAD("gemma3", TFM_ERR_FORMAT, "gemma3.attention.sliding_window", v.drop_key = "gemma3.attention.sliding_window");
    BAD("gpt2", TFM_ERR_FORMAT, "tensor 'blk.0.attn_qkv.weight' is missing", v.drop_tensor = "blk.0.attn_qkv.weight");
    BAD("gpt2", TFM_ERR_FORMAT, "tensor 'blk.1.attn_qkv.bias' is missing", v.drop_tensor = "blk.1.attn_qkv.bias");
    BAD("gpt2", TFM_ERR_FORMAT, "tensor 'position_embd.weight' is missing", v.drop_tensor = "position_embd.weight");
    BAD("gpt2", TFM_ERR_FORMAT, "gpt2.attention.layer_norm_epsilon", v.drop_key = "gpt2.attention.layer_norm_epsilon");
    BAD("phi3", TFM_ERR_FORMAT, "tensor 'blk.1.ffn_up.weight' has shape {40, 160, 1, 1}, the hyperparameters want {48, 160}",
        v.tensor = "blk.1.ffn_up.weight", v.tensor_cols = 40);
    BAD("qwen3moe", TFM_ERR_FORMAT, "qwen3moe needs experts", v.drop_key = "qwen3moe.expert_count");
#undef BAD
}

/* A GPT-2 context can hold no more positions than the model learned. */
static void test_learned_positions_bound_the_context(void)
{
    model_src m;
    tfm_model *model = NULL;
    tfm_context *ctx = NULL;
    tfm_context_params p;
    tfm_error err;
    size_t size;
    void *file;
    int tokens[1] = {5}, i;
    float logits[97];
    src_make(&m, family_named("gpt2"), 48, 80, 97, 9);
    file = src_write(&m, TFM_F32, NULL, &size);
    TT_ASSERT(file && tfm_model_load_memory(file, size, &model, &err) == TFM_OK, "loading");
    memset(&p, 0, sizeof p);
    p.context_length = 33;
    TT_ASSERT(tfm_context_create(model, &p, &ctx, &err) == TFM_ERR_INVALID_ARGUMENT && !ctx &&
                  strstr(err.message, "context_length 33 exceeds the model's 32 learned positions"),
              "%s", err.message);
    ctx = new_context(model, 0, 0, 1); /* the model's own context: its 32 positions */
    TT_ASSERT(ctx && tfm_context_length(ctx) == 32, "default context");
    for (i = 0; i < 32; i++) /* every learned position, the last one included, then none more */
        TT_ASSERT(tfm_forward(ctx, tokens, 1, NULL, TFM_LOGITS_LAST, &err) == TFM_OK, "position %d: %s", i, err.message);
    TT_ASSERT(tfm_forward(ctx, tokens, 1, logits, TFM_LOGITS_LAST, &err) == TFM_ERR_CONTEXT_FULL, "%s", err.message);
    tfm_context_free(ctx);
    tfm_model_free(model);
    free(file);
    src_free(&m);
}

/* Prompts of every length 1..7 through q8_0 and q4_0 matrices of short rows (96 columns, 3 blocks), a
   dense family and a mixture of experts, in contexts whose chunks hold 5 tokens: every product gets the
   workspace it needs (a regression: products of 2 or 3 rows need more than a 4-row chunk's share, and a
   MoE prefill's experts get any number of its rows), and the logits are decode's. */
static void test_short_prompts_quantized(void)
{
    static const char *const archs[] = {"llama", "qwen3moe"};
    static const tfm_dtype types[] = {TFM_Q8_0, TFM_Q4_0};
    int a, ti, n, i, tokens[7];
    for (a = 0; a < 2; a++)
        for (ti = 0; ti < 2; ti++) {
            model_src m;
            tfm_model *model = NULL;
            tfm_error err;
            size_t size;
            void *file;
            float whole[97], step[97];
            family f = *family_named(archs[a]);
            f.head_dim = 0;
            src_make(&m, &f, 96, 96, 97, 11);
            for (i = 0; i < 7; i++) tokens[i] = (int)(tt_next() % 97);
            file = src_write(&m, types[ti], NULL, &size);
            TT_ASSERT(file && tfm_model_load_memory(file, size, &model, &err) == TFM_OK, "%s: loading", f.arch);
            for (n = 1; n <= 7; n++) {
                tfm_context *prompt = new_context(model, 32, 5, 1), *one = new_context(model, 32, 1, 1);
                double worst = 0;
                TT_ASSERT(prompt && one, "contexts");
                TT_ASSERT(tfm_forward(prompt, tokens, n, whole, TFM_LOGITS_LAST, &err) == TFM_OK, "%s %s, %d tokens: %s",
                          f.arch, tfm_dtype_name(types[ti]), n, err.message);
                TT_ASSERT(tfm_forward(one, tokens, n, step, TFM_LOGITS_LAST, &err) == TFM_OK, "%s", err.message);
                for (i = 0; i < 97; i++) worst = fabs(whole[i] - step[i]) > worst ? fabs(whole[i] - step[i]) : worst;
                /* quantized activations: a last-bit difference may round one value a step the other way */
                TT_ASSERT(worst <= 0.05, "%s %s, %d tokens: prompt and token-by-token logits differ by %g", f.arch,
                          tfm_dtype_name(types[ti]), n, worst);
                tfm_context_free(prompt), tfm_context_free(one);
            }
            tfm_model_free(model);
            free(file);
            src_free(&m);
        }
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    TT_RUN(test_families_match_float64);
    TT_RUN(test_families_quantized);
    TT_RUN(test_short_prompts_quantized);
    TT_RUN(test_shared_archs_greedy);
    TT_RUN(test_shared_ppl);
    TT_RUN(test_bad_family_files);
    TT_RUN(test_learned_positions_bound_the_context);
    return tt_summary("archs");
}

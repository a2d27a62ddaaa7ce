/* tfm-quantize: a model file -> GGUF in one of llama-quantize's presets, by llama.cpp's rules.

     tfm-quantize [-z tokenizer.bin] [--pure] [--threads N] IN.{gguf,bin} OUT.gguf PRESET

   PRESET, as llama-quantize names them (any case): Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL IQ4_XS Q2_K Q3_K_S
   Q3_K_M (Q3_K) Q3_K_L Q4_K_S Q4_K_M (Q4_K) Q5_K_S Q5_K_M (Q5_K) Q6_K F16 BF16. Which tensor gets which
   type is llama.cpp's llama-quant.cpp (llama_model_quantize_impl, llama_tensor_get_type), without an
   importance matrix:
     - tensors named *weight with 2 or more dims are quantized; norms (*_norm.weight), MoE routers
       (ffn_gate_inp), position and token-type embeddings and other 1-D tensors are copied as they are;
     - the preset's type, then for the block types: the classifier (output.weight, or token_embd.weight
       when the classifier is tied to it) q6_k, or q8_0 when its rows are no multiple of the preset's
       block; attn_v, attn_output, ffn_down, attn_qkv and, in 8-expert models, attn_k a larger type in
       the layers llama.cpp picks for that preset (the _M mixes: use_more_bits, the first layers ...);
     - a matrix whose rows are no multiple of its type's block falls back as llama.cpp does (q2_k, q3_k,
       iq4_xs -> iq4_nl; q4_k -> q5_0; q5_k -> q5_1; q6_k -> q8_0; then f16); where llama-quantize
       gives up ("Unsupported tensor size": q4_0 .. q8_0, iq4_nl) tfm keeps f16 and says so;
     - --pure: every matrix the preset's type (rows that do not fit: f16);
     - a tensor already of its target type is copied byte for byte; any other is dequantized to f32 and
       quantized again (llama-quantize refuses that without --allow-requantize).
   The output is laid out as llama-quantize writes it: the input's keys in order but for
   general.quantization_version (2) and general.file_type (the preset's llama_ftype), which end the list;
   the tensors sorted by layer and name. On an f32 GGUF the file is llama-quantize's byte for byte. A
   llama2.c .bin gets the keys llama.cpp reads from its header (its general.file_type that of the
   preset's type) and the vocab of -z tokenizer.bin (required for .bin, whose files carry none).
   Matrices are converted while the file is written, a chunk of rows at a time. Options follow
   tfm_args.h's conventions. */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_model.h"

#include "model_sources.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp's llama_ftype numbers (general.file_type) of the presets */
enum { FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9, FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12,
       FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15, FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_IQ4_NL = 25,
       FT_IQ4_XS = 30, FT_BF16 = 32 };

typedef struct preset {
    const char *name;
    int ftype;
    tfm_dtype type; /* the type of every matrix the rules do not single out */
} preset;

static const preset presets[] = {
    {"Q4_0", FT_Q4_0, TFM_Q4_0},     {"Q4_1", FT_Q4_1, TFM_Q4_1},     {"Q5_0", FT_Q5_0, TFM_Q5_0},
    {"Q5_1", FT_Q5_1, TFM_Q5_1},     {"Q8_0", FT_Q8_0, TFM_Q8_0},     {"IQ4_NL", FT_IQ4_NL, TFM_IQ4_NL},
    {"IQ4_XS", FT_IQ4_XS, TFM_IQ4_XS}, {"Q2_K", FT_Q2_K, TFM_Q2_K},   {"Q3_K_S", FT_Q3_K_S, TFM_Q3_K},
    {"Q3_K_M", FT_Q3_K_M, TFM_Q3_K}, {"Q3_K", FT_Q3_K_M, TFM_Q3_K},   {"Q3_K_L", FT_Q3_K_L, TFM_Q3_K},
    {"Q4_K_S", FT_Q4_K_S, TFM_Q4_K}, {"Q4_K_M", FT_Q4_K_M, TFM_Q4_K}, {"Q4_K", FT_Q4_K_M, TFM_Q4_K},
    {"Q5_K_S", FT_Q5_K_S, TFM_Q5_K}, {"Q5_K_M", FT_Q5_K_M, TFM_Q5_K}, {"Q5_K", FT_Q5_K_M, TFM_Q5_K},
    {"Q6_K", FT_Q6_K, TFM_Q6_K},     {"F16", FT_F16, TFM_F16},        {"BF16", FT_BF16, TFM_BF16},
};

/* What llama.cpp's rules read of the model, and their running counts (in the order tensors are written). */
typedef struct model_info {
    char arch[64];
    int n_layer, n_head, n_head_kv, n_expert, has_output, falcon, type_70b;
    int n_attention_wv, i_attention_wv, i_ffn_down;
} model_info;

/* One tensor of the output: a view of the input's data and the type it is written in. */
typedef struct job_tensor {
    const char *name;
    tfm_tensor in;
    tfm_dtype out;
    int n_threads;
    float **scratch; /* f32 rows of one chunk, shared by every tensor (grown as needed) */
    size_t *scratch_cap;
    tfm_error *row_err; /* why a chunk of rows was refused (the writer's message only says which row) */
} job_tensor;

typedef struct options {
    const char *in, *out, *tokenizer;
    const preset *preset;
    int pure, n_threads;
} options;

static int is_block_type(tfm_dtype t) { return t != TFM_F32 && t != TFM_F16 && t != TFM_BF16; }

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int fits(tfm_dtype t, int64_t cols) { return cols % (int64_t)tfm_dtype_block_size(t) == 0; }

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third between */
static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* llama_tensor_get_type for the presets above: the type of matrix `name` (rows of ne0) in preset p */
static tfm_dtype mixed_type(const preset *p, model_info *m, const char *name, int64_t ne0, int *bad_layer)
{
    const int ft = p->ftype, gqa = m->n_head_kv > 0 ? m->n_head / m->n_head_kv : 0;
    tfm_dtype t = p->type;
    if (!strcmp(name, "output.weight") || (!m->has_output && !strcmp(name, "token_embd.weight"))) {
        if (m->falcon || !fits(t, ne0)) t = TFM_Q8_0;
        else if (t != TFM_Q8_0) t = TFM_Q6_K;
    } else if (!strcmp(name, "token_embd.weight")) {
        /* the preset's type */
    } else if (strstr(name, "attn_v.weight")) {
        if (ft == FT_Q2_K) t = gqa >= 4 ? TFM_Q4_K : TFM_Q3_K;
        else if (ft == FT_Q3_K_M) t = m->i_attention_wv < 2 ? TFM_Q5_K : TFM_Q4_K;
        else if (ft == FT_Q3_K_L) t = TFM_Q5_K;
        else if ((ft == FT_IQ4_NL || ft == FT_IQ4_XS) && gqa >= 4) t = TFM_Q5_K;
        else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(m->i_attention_wv, m->n_attention_wv)) t = TFM_Q6_K;
        else if (ft == FT_Q4_K_S && m->i_attention_wv < 4) t = TFM_Q5_K;
        if (m->type_70b && (t == TFM_Q3_K || t == TFM_Q4_K)) t = TFM_Q5_K;
        if (m->n_expert == 8) t = TFM_Q8_0;
        m->i_attention_wv++;
    } else if (strstr(name, "attn_k.weight")) {
        if (m->n_expert == 8) t = TFM_Q8_0;
    } else if (strstr(name, "ffn_down")) {
        /* the layer: in MoE files from the name (llama.cpp: experts are not consecutive), else the count */
        int i = m->i_ffn_down, n = m->n_layer;
        if (m->n_expert > 1 && (sscanf(name, "blk.%d.", &i) != 1 || i < 0 || i >= n)) *bad_layer = 1;
        if (ft == FT_Q2_K) t = TFM_Q3_K;
        else if (ft == FT_Q3_K_M) t = i < n / 16 ? TFM_Q5_K : !m->falcon || use_more_bits(i, n) ? TFM_Q4_K : TFM_Q3_K;
        else if (ft == FT_Q3_K_L) t = m->falcon ? TFM_Q4_K : TFM_Q5_K;
        else if (ft == FT_Q4_K_M) {
            if (m->falcon) t = i < n / 16 ? TFM_Q6_K : use_more_bits(i, n) ? TFM_Q5_K : TFM_Q4_K;
            else if (use_more_bits(i, n)) t = TFM_Q6_K;
        } else if (i < n / 8 && (ft == FT_IQ4_NL || ft == FT_IQ4_XS)) t = TFM_Q5_K;
        else if (ft == FT_Q5_K_M && use_more_bits(i, n)) t = TFM_Q6_K;
        else if (ft == FT_Q4_K_S && !m->falcon && i < n / 8) t = TFM_Q5_K;
        m->i_ffn_down++;
    } else if (strstr(name, "attn_output.weight")) {
        if (!m->falcon && m->n_expert == 8) {
            if (ft == FT_Q2_K || ft == FT_Q3_K_S || ft == FT_Q3_K_M || ft == FT_IQ4_NL || ft == FT_Q4_K_S || ft == FT_Q4_K_M ||
                ft == FT_IQ4_XS)
                t = TFM_Q5_K;
        } else if (!m->falcon) {
            if (ft == FT_Q2_K) t = TFM_Q3_K;
            else if (ft == FT_Q3_K_M) t = TFM_Q4_K;
            else if (ft == FT_Q3_K_L) t = TFM_Q5_K;
        } else if (ft == FT_Q3_K_L) t = TFM_Q4_K;
    } else if (strstr(name, "attn_qkv.weight")) {
        if (ft == FT_Q3_K_M || ft == FT_Q3_K_L) t = TFM_Q4_K;
        else if (ft == FT_Q4_K_M) t = TFM_Q5_K;
        else if (ft == FT_Q5_K_M) t = TFM_Q6_K;
    }
    return t;
}

/* llama.cpp's fallback for rows that are no multiple of t's block (q2_k, q3_k, iq4_xs -> iq4_nl, q4_k ->
   q5_0, q5_k -> q5_1, q6_k -> q8_0, then f16); t itself if they fit. *refused: llama-quantize has no
   fallback for t and stops ("Unsupported tensor size"); tfm takes f16. */
static tfm_dtype fallback(tfm_dtype t, int64_t cols, int *refused)
{
    tfm_dtype f = t == TFM_Q2_K || t == TFM_Q3_K || t == TFM_IQ4_XS ? TFM_IQ4_NL : t == TFM_Q4_K ? TFM_Q5_0 : t == TFM_Q5_K ? TFM_Q5_1
                  : t == TFM_Q6_K ? TFM_Q8_0 : TFM_F16;
    *refused = 0;
    if (fits(t, cols)) return t;
    *refused = f == TFM_F16;
    return fits(f, cols) ? f : TFM_F16;
}

/* Whether llama-quantize quantizes tensor `name` at all (llama_model_quantize_impl's list). */
static int quantized(const char *name, const tfm_tensor *t)
{
    return ends_with(name, "weight") && t->n_dims >= 2 && !strstr(name, "_norm.weight") && !strstr(name, "ffn_gate_inp.weight") &&
           strcmp(name, "position_embd.weight") && strcmp(name, "token_types.weight") && !strstr(name, "ssm_conv1d.weight") &&
           !strstr(name, "time_mix_") && !strstr(name, "attn_rel_b.weight");
}

/* The type tensor `name` is written in; *why gets a line when it fell back; (tfm_dtype)-1 with *why the
   reason when llama.cpp's rules cannot place it. */
static tfm_dtype target_type(const options *o, model_info *m, const char *name, const tfm_tensor *t, char *why, size_t why_cap)
{
    const int64_t cols = t->ne[0];
    tfm_dtype want = o->preset->type, got;
    int bad_layer = 0, refused = 0;
    why[0] = 0;
    if (!quantized(name, t)) return t->dtype;
    if (!o->pure && is_block_type(want)) want = mixed_type(o->preset, m, name, cols, &bad_layer);
    if (bad_layer) {
        snprintf(why, why_cap, "tensor %s: no layer number in its name (blk.N.)", name);
        return (tfm_dtype)-1;
    }
    got = fallback(want, cols, &refused);
    if (got != want)
        snprintf(why, why_cap, "%s: rows of %lld are no multiple of %s's %zu-element block: %s%s", name, (long long)cols,
                 tfm_dtype_name(want), tfm_dtype_block_size(want), tfm_dtype_name(got),
                 refused || o->pure ? " (llama-quantize stops here)" : "");
    return got;
}

/* A NaN or an infinity would be quantized into garbage (or a scale of inf) without a word: refused,
   naming the tensor and the row. */
static tfm_status check_finite(job_tensor *j, const float *rows, int64_t first_row, int64_t n_rows, size_t cols)
{
    size_t i, n = (size_t)n_rows * cols;
    for (i = 0; i < n; i++)
        if (!isfinite(rows[i]))
            return tfm_error_set(j->row_err, TFM_ERR_FORMAT, "tensor %s: row %lld holds %s at column %zu: not converted",
                                 j->name, (long long)first_row + (long long)(i / cols),
                                 rows[i] != rows[i] ? "NaN" : rows[i] > 0 ? "inf" : "-inf", i % cols);
    return TFM_OK;
}

/* Rows first_row.. of a tensor in its output type: copied when the type is unchanged, else through f32. */
static tfm_status make_rows(void *user, int64_t first_row, int64_t n_rows, void *dst)
{
    job_tensor *j = (job_tensor *)user;
    const size_t cols = (size_t)j->in.ne[0], in_row = j->in.nb[1];
    const unsigned char *src = (const unsigned char *)j->in.data + (size_t)first_row * in_row;
    size_t need = (size_t)n_rows * cols, out_row;
    tfm_status s = tfm_dtype_row_bytes(j->out, cols, &out_row);
    int64_t i;
    if (s != TFM_OK) return s;
    if (j->out == j->in.dtype) {
        memcpy(dst, src, (size_t)n_rows * out_row);
        return TFM_OK;
    }
    if (need > *j->scratch_cap) {
        float *grown = (float *)realloc(*j->scratch, need * sizeof(float));
        if (!grown) return TFM_ERR_OUT_OF_MEMORY;
        *j->scratch = grown;
        *j->scratch_cap = need;
    }
    for (i = 0; i < n_rows && s == TFM_OK; i++)
        s = tfm_dequantize_row(j->in.dtype, src + (size_t)i * in_row, *j->scratch + (size_t)i * cols, cols);
    if (s == TFM_OK) s = check_finite(j, *j->scratch, first_row, n_rows, cols);
    if (s == TFM_OK) s = tfm_quantize(j->out, *j->scratch, dst, (size_t)n_rows, cols, j->n_threads);
    return s;
}

/* The tensors to write, gathered from the input (an array sized once: the writer points into it). */
typedef struct job {
    const options *o;
    job_tensor *tensors;
    int n, cap;
    float *scratch;
    size_t scratch_cap;
    int fallbacks, converted;
    tfm_gguf_writer *w;
    tfm_error err, row_err;
} job;

static int add(job *j, model_info *m, const char *name, const tfm_tensor *t)
{
    job_tensor *jt;
    char why[256];
    int64_t ne[TFM_MAX_DIMS];
    int d;
    if (j->n == j->cap) return tfm_error_set(&j->err, TFM_ERR_FORMAT, "more tensors than counted"), 0;
    jt = &j->tensors[j->n++];
    jt->name = name;
    jt->in = *t;
    jt->out = target_type(j->o, m, name, t, why, sizeof why);
    jt->n_threads = j->o->n_threads;
    jt->scratch = &j->scratch;
    jt->scratch_cap = &j->scratch_cap;
    if (jt->out == (tfm_dtype)-1) return tfm_error_set(&j->err, TFM_ERR_FORMAT, "%s", why), 0;
    jt->row_err = &j->row_err;
    if (why[0]) fprintf(stderr, "tfm-quantize: fallback: %s\n", why), j->fallbacks++;
    if (jt->out != t->dtype && !tfm_quant_supported(t->dtype)) {
        tfm_error_set(&j->err, TFM_ERR_UNSUPPORTED, "tensor %s is %s, which tfm cannot convert", name,
                      tfm_dtype_name(t->dtype) ? tfm_dtype_name(t->dtype) : "?");
        return 0;
    }
    if (jt->out != t->dtype) j->converted++;
    for (d = 0; d < TFM_MAX_DIMS; d++) ne[d] = t->ne[d];
    return tfm_gguf_writer_add_tensor_rows(j->w, name, jt->out, t->n_dims, ne, make_rows, jt, &j->err) == TFM_OK;
}

/* One input tensor; llama-quantize writes (and counts layers) in the order of its loader's map: by the
   layer number of blk.N. names (others first), then by name. */
typedef struct item {
    const char *name;
    tfm_tensor t;
} item;

static int item_layer(const char *name)
{
    int l = -1;
    sscanf(name, "blk.%d.", &l);
    return l;
}

static int item_order(const void *a, const void *b)
{
    const item *x = (const item *)a, *y = (const item *)b;
    int lx = item_layer(x->name), ly = item_layer(y->name);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->name, y->name);
}

/* every tensor in llama-quantize's order */
static int add_all(job *j, model_info *m, item *items, int n)
{
    int i;
    qsort(items, (size_t)n, sizeof *items, item_order);
    for (i = 0; i < n; i++) {
        if (strstr(items[i].name, "attn_v.weight") || strstr(items[i].name, "attn_qkv.weight") || strstr(items[i].name, "attn_kv_b.weight"))
            m->n_attention_wv++;
        if (!strcmp(items[i].name, "output.weight")) m->has_output = 1;
    }
    /* reserved whole: the writer keeps pointers to its entries */
    j->tensors = (job_tensor *)malloc(sizeof(job_tensor) * (size_t)(n > 0 ? n : 1));
    if (!j->tensors) return tfm_error_set(&j->err, TFM_ERR_OUT_OF_MEMORY, "out of memory"), 0;
    j->cap = n > 0 ? n : 1;
    for (i = 0; i < n; i++)
        if (!add(j, m, items[i].name, &items[i].t)) return 0;
    return 1;
}

/* the 70B rule of llama.cpp's attn_v choice: its model types of 80 layers */
static void model_finish(model_info *m)
{
    m->falcon = !strcmp(m->arch, "falcon");
    m->type_70b = m->n_layer == 80 && ((!strcmp(m->arch, "llama") && m->n_expert != 8 && m->n_head != m->n_head_kv) ||
                                       !strcmp(m->arch, "qwen2") || !strcmp(m->arch, "qwen2vl") || !strcmp(m->arch, "deci") ||
                                       !strcmp(m->arch, "olmo"));
}

static int gguf_u32(const tfm_gguf *g, const char *arch, const char *suffix, int fallback_value)
{
    char key[128];
    uint32_t v;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return tfm_gguf_find_key(g, key) >= 0 && tfm_gguf_get_u32(g, key, &v, NULL) == TFM_OK ? (int)v : fallback_value;
}

/* GGUF in: every key kept in order but the quantization version and file type, which come last. */
static int from_gguf(job *j, const tfm_gguf *g, model_info *m)
{
    int64_t i, n = tfm_gguf_n_tensors(g);
    item *items;
    int ok;
    for (i = 0; i < tfm_gguf_n_kv(g); i++) {
        const char *key = tfm_gguf_key(g, i);
        if (!strcmp(key, "general.file_type") || !strcmp(key, "general.quantization_version")) continue;
        if (tfm_gguf_writer_copy_kv(j->w, g, i, &j->err) != TFM_OK) return 0;
    }
    if (tfm_gguf_writer_add_u32(j->w, "general.quantization_version", 2, &j->err) != TFM_OK ||
        tfm_gguf_writer_add_u32(j->w, "general.file_type", (uint32_t)j->o->preset->ftype, &j->err) != TFM_OK)
        return 0;
    if (tfm_gguf_find_key(g, "general.architecture") < 0 ||
        tfm_gguf_get_string_buf(g, "general.architecture", m->arch, sizeof m->arch, NULL) != TFM_OK)
        strcpy(m->arch, "llama");
    m->n_layer = gguf_u32(g, m->arch, "block_count", 0);
    m->n_head = gguf_u32(g, m->arch, "attention.head_count", 0);
    m->n_head_kv = gguf_u32(g, m->arch, "attention.head_count_kv", m->n_head);
    m->n_expert = gguf_u32(g, m->arch, "expert_count", 0);
    model_finish(m);
    items = (item *)malloc(sizeof(item) * (size_t)(n > 0 ? n : 1));
    if (!items) return tfm_error_set(&j->err, TFM_ERR_OUT_OF_MEMORY, "out of memory"), 0;
    for (i = 0; i < n; i++) {
        items[i].name = tfm_gguf_tensor_info_at(g, i)->name;
        if (tfm_gguf_tensor_view(g, i, &items[i].t) != TFM_OK) {
            free(items);
            return tfm_error_set(&j->err, TFM_ERR_FORMAT, "tensor %s: no view of its data", tfm_gguf_tensor_info_at(g, i)->name), 0;
        }
    }
    ok = add_all(j, m, items, (int)n);
    free(items);
    return ok;
}

/* llama2.c .bin in: its header as llama.* keys, tokenizer.bin's vocab, the weights in GGUF's names. */
static int from_llama2c(job *j, const tfm_model *mod, char (*names)[64], model_info *m)
{
    const tfm_model_config *c = &mod->config;
    int tied = mod->output.tensor.data == mod->token_embd.data, l, k = 0, i, n = 0, ok;
    tfm_tokenizer *tok = NULL;
    item *items;
    static const char *const layer_names[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                              "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
    ok = tfm_model_gguf_add_config(j->w, c, "llama2.c", j->o->preset->type, &j->err) == TFM_OK &&
         tfm_tokenizer_load_llama2c(&tok, j->o->tokenizer, c->vocab_size, &j->err) == TFM_OK &&
         tfm_model_gguf_add_vocab(j->w, tok, c->vocab_size, &j->err) == TFM_OK;
    tfm_tokenizer_free(tok);
    strcpy(m->arch, "llama");
    m->n_layer = c->n_layers, m->n_head = c->n_heads, m->n_head_kv = c->n_kv_heads;
    model_finish(m);
    items = (item *)malloc(sizeof(item) * (size_t)(c->n_layers * 9 + 3));
    if (ok && !items) ok = 0, tfm_error_set(&j->err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    if (!ok) return free(items), 0;
    items[n].name = "token_embd.weight", items[n++].t = mod->token_embd;
    items[n].name = "output_norm.weight", items[n++].t = mod->output_norm;
    if (!tied) items[n].name = "output.weight", items[n++].t = mod->output.tensor;
    for (l = 0; l < c->n_layers; l++) {
        const tfm_layer *L = &mod->layers[l];
        const tfm_tensor *t[9];
        t[0] = &L->attn_norm, t[1] = &L->wq.tensor, t[2] = &L->wk.tensor, t[3] = &L->wv.tensor, t[4] = &L->wo.tensor;
        t[5] = &L->ffn_norm, t[6] = &L->ffn_gate.tensor, t[7] = &L->ffn_up.tensor, t[8] = &L->ffn_down.tensor;
        for (i = 0; i < 9; i++, k++) {
            snprintf(names[k], 64, "blk.%d.%s.weight", l, layer_names[i]);
            items[n].name = names[k], items[n++].t = *t[i];
        }
    }
    ok = add_all(j, m, items, n);
    free(items);
    return ok;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tfm-quantize [-z tokenizer.bin] [--pure] [-t N] IN.{gguf,bin} OUT.gguf PRESET\n"
               "  PRESET           llama-quantize's (any case): Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL IQ4_XS Q2_K Q3_K_S\n"
               "                   Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K F16 BF16 (Q3_K, Q4_K, Q5_K: the _M\n"
               "                   ones); each tensor's type as llama.cpp picks it (norms stay f32)\n"
               "  -z PATH          the vocab of a llama2.c .bin input (its tokenizer.bin; required for .bin)\n"
               "  --pure           every matrix in the preset's type (no mix, no q6_k classifier)\n"
               "  -t, --threads N  threads quantizing (default: all, at most %d)\n"
               "  -h, --help       this help\n"
               "  --version        the version\n"
               "Rows that are no multiple of a type's block fall back as llama.cpp's do (q4_k -> q5_0, q5_k ->\n"
               "q5_1, q6_k -> q8_0, q2_k/q3_k/iq4_xs -> iq4_nl, then f16); each fallback is printed.\n",
            tfm_max_threads());
}

/* 0 to go on, else the exit status (0 after --help or --version, 2 after a usage error). */
static int parse_args(int argc, char **argv, options *o)
{
    const char *name = NULL, *names[sizeof presets / sizeof presets[0]];
    tfm_args a;
    int k;
    memset(o, 0, sizeof *o);
    tfm_args_init(&a, "tfm-quantize", argc, argv, usage);
    while (tfm_args_next(&a)) {
        if (tfm_args_string(&a, "-z", NULL, &o->tokenizer) || tfm_args_flag(&a, NULL, "--pure", &o->pure) ||
            tfm_args_int(&a, "-t", "--threads", 1, 1 << 20, &o->n_threads) || tfm_args_positional(&a, &o->in) ||
            tfm_args_positional(&a, &o->out) || tfm_args_positional(&a, &name))
            continue;
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status;
    if (!name) return tfm_args_fail(&a, "want IN OUT PRESET");
    for (k = 0; k < (int)(sizeof presets / sizeof presets[0]); k++) names[k] = presets[k].name;
    if ((k = tfm_args_parse_choice(a.prog, "PRESET", name, names, k)) < 0) return 2;
    o->preset = &presets[k];
    if (!o->n_threads || o->n_threads > tfm_max_threads()) o->n_threads = tfm_max_threads();
    return 0;
}

/* 1 if the file starts with GGUF's magic; -1 if it cannot be read. */
static int is_gguf(const char *path)
{
    char magic[4];
    FILE *f = fopen(path, "rb");
    size_t got;
    if (!f) return -1;
    got = fread(magic, 1, 4, f);
    fclose(f);
    return got == 4 && memcmp(magic, "GGUF", 4) == 0;
}

int main(int argc, char **argv)
{
    options o;
    job j;
    tfm_gguf *g = NULL;
    tfm_model *m = NULL;
    model_info info;
    char (*names)[64] = NULL;
    int gguf, ok;
    if ((ok = parse_args(argc, argv, &o)) != 0 || !o.in) return ok;
    if (!model_source_check("tfm-quantize", o.in) || !model_source_check("tfm-quantize", o.tokenizer)) return 1;
    /* the writer refuses to replace an input too, but only after the fallbacks are printed */
    {
        tfm_file_id out = tfm_file_identify(o.out), in = tfm_file_identify(o.in);
        tfm_file_id tok = o.tokenizer ? tfm_file_identify(o.tokenizer) : tfm_file_identify(NULL);
        int is_in = out.known && in.known && in.device == out.device && in.inode == out.inode;
        int is_tok = out.known && tok.known && tok.device == out.device && tok.inode == out.inode;
        if (is_in || is_tok) {
            fprintf(stderr, "tfm-quantize: '%s' is an input (%s): writing it would destroy it; write elsewhere\n",
                    tfm_args_quote(o.out), tfm_args_quote(is_in ? o.in : o.tokenizer));
            return 1;
        }
    }
    gguf = is_gguf(o.in);
    if (gguf < 0) {
        fprintf(stderr, "tfm-quantize: cannot open '%s': %s\n", tfm_args_quote(o.in), strerror(errno));
        return 1;
    }
    if (!gguf && !o.tokenizer) {
        fprintf(stderr, "tfm-quantize: %s is a llama2.c file, which has no vocab: give its tokenizer.bin with -z\n",
                tfm_args_quote(o.in));
        return 1;
    }
    memset(&j, 0, sizeof j);
    memset(&info, 0, sizeof info);
    j.o = &o; /* j.row_err.message stays "" unless a row is refused */
    ok = tfm_gguf_writer_create(&j.w, &j.err) == TFM_OK;
    if (ok && gguf) ok = tfm_gguf_open(&g, o.in, 0, &j.err) == TFM_OK && from_gguf(&j, g, &info);
    else if (ok) {
        tfm_model_options mo;
        memset(&mo, 0, sizeof mo);
        mo.no_pack = 1;
        ok = tfm_model_load(o.in, &mo, &m, &j.err) == TFM_OK &&
             tfm_gguf_writer_add_input(j.w, m->file.id, &j.err) == TFM_OK; /* the weights are read from it */
        names = ok ? (char(*)[64])malloc(64 * (size_t)m->config.n_layers * 9) : NULL;
        if (ok && !names) ok = 0, tfm_error_set(&j.err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
        ok = ok && from_llama2c(&j, m, names, &info);
    }
    if (ok && o.tokenizer) ok = tfm_gguf_writer_add_input(j.w, tfm_file_identify(o.tokenizer), &j.err) == TFM_OK;
    ok = ok && tfm_gguf_writer_write_file(j.w, o.out, &j.err) == TFM_OK;
    if (!ok) fprintf(stderr, "tfm-quantize: %s\n", j.row_err.message[0] ? j.row_err.message : j.err.message[0] ? j.err.message : "failed");
    else
        fprintf(stderr, "tfm-quantize: wrote %s (%s, %.1f MB): %d tensors, %d converted, %d copied, %d fallbacks\n",
                tfm_args_quote(o.out), o.preset->name, (double)tfm_gguf_writer_size(j.w) / 1e6, j.n, j.converted, j.n - j.converted,
                j.fallbacks);
    tfm_gguf_writer_free(j.w);
    tfm_gguf_close(g);
    tfm_model_free(m);
    free(names), free(j.tensors), free(j.scratch);
    return ok ? 0 : 1;
}

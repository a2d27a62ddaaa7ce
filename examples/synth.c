/* tfm-synth: writes a model with random weights in the shape of a real one, for benchmarks and tests
   where the values do not matter but the sizes do (speed does not depend on what the weights are).

     tfm-synth --shape stories110M -o build/synth110M.bin
     tfm-synth --shape TinyLlama-1.1B --format gguf --type q4_0 -z tokenizer.bin -o build/tinyllama-q4_0.gguf
     tfm-synth --shape qwen2.5-0.5b --format gguf --type q8_0 -z ../shared/vocab/ggml-vocab-qwen3.gguf -o q.gguf
     tfm-synth --shape gemma2-2b --format gguf --type q4_0 -o gemma2-2b-q4_0.gguf
     tfm-synth --arch gpt2 --dim 256 --hidden 1024 --layers 4 --heads 4 --vocab 50257 --seq-len 512 ...
     tfm-synth --dim 512 --hidden 1376 --layers 8 --heads 8 --vocab 32000 --seq-len 1024 -o m.bin
     tfm-synth --shape mixtral-small --format gguf --type q4_0 -o /tmp/mixtral-small-q4_0.gguf

   Weights are uniform in [-0.05, 0.05) from a seeded generator, norm weights are 1 (biases random like
   the weights; Llama 3's RoPE frequency divisors as llama.cpp's converter computes them from the HF
   rope_scaling), so activations stay finite. Each tensor draws from its own stream (seed, tensor,
   layer), so the same seed gives the same weights in every format and on every machine: a GGUF f32
   file and the llama2.c file compute the same logits. Formats, one entry each in `writers` below:
     llama2c  llama2.c's legacy .bin (f32; the llama family only)
     gguf     GGUF v3 in the layout llama.cpp's converters write for the family (--arch, or the shape's:
              llama, qwen2, qwen3, qwen3moe, gemma2, gemma3, phi3, gpt2, bert, nomic-bert; its {arch}.* keys and tensors as
              tfm_model.h lists them), matrices of --type (f32 f16 bf16 and every weight type of tfm_quant.h,
              quantized with tfm_quantize_row); a matrix whose rows are no multiple of the type's block stays f16, as
              llama.cpp's quantizer leaves it; norms and biases f32. Rows are produced while the file is
              written, so a multi-GB model never sits in memory. The vocab: -z's (a llama2.c tokenizer.bin
              of --vocab tokens, or any GGUF's tokenizer.* keys copied as they are, e.g. a ../shared/vocab
              file, whose token count then sets the vocab), else a stand-in SentencePiece vocab: <unk> <s>
              </s>, the 256 byte tokens, then placeholder pieces. With --experts E (and --experts-used K)
              the feed-forward blocks are a mixture of experts, as llama.cpp's converter writes it: a
              router blk.N.ffn_gate_inp and the experts stacked in blk.N.ffn_{gate,up,down}_exps (3-D). */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_model.h" /* the GGUF metadata and vocab writers */
#include "tfm_sampler.h" /* tfm_rng: a seeded stream, the same on every platform */
#include "tfm_tokenizer.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    const char *name, *arch;       /* arch NULL: llama */
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    int n_experts, n_experts_used; /* 0: a dense feed-forward block */
    int head_dim;                  /* 0: dim / n_heads */
    float rope_base;               /* 0: 10000 */
    int window;                    /* the family's sliding window (gemma, phi3) */
    float llama3_factor;           /* > 0: Llama 3's rope_freqs for this factor (low 1, high 4, original context
                                      8192) */
} shape;

/* Karpathy's tinyllamas (huggingface.co/karpathy/tinyllamas), TinyLlama-1.1B, two layers of
   Llama-2-7B (all its matrix shapes, a fraction of its depth), a small Mixtral (8 experts, top-2, GQA
   32/8) and the dense model with its active parameters (one FFN as wide as two experts); then the
   small models of the other families, in their Hugging Face configs' shapes */
static const shape shapes[] = {
    {"stories260K", 0, 64, 172, 5, 8, 4, 512, 512, 0, 0, 0, 0, 0, 0},
    {"stories15M", 0, 288, 768, 6, 6, 6, 32000, 256, 0, 0, 0, 0, 0, 0},
    {"stories42M", 0, 512, 1376, 8, 8, 8, 32000, 1024, 0, 0, 0, 0, 0, 0},
    {"stories110M", 0, 768, 2048, 12, 12, 12, 32000, 1024, 0, 0, 0, 0, 0, 0},
    {"TinyLlama-1.1B", 0, 2048, 5632, 22, 32, 4, 32000, 2048, 0, 0, 0, 0, 0, 0},
    {"llama2-7B-2layers", 0, 4096, 11008, 2, 32, 32, 32000, 4096, 0, 0, 0, 0, 0, 0},
    {"mixtral-small", 0, 1024, 3584, 8, 32, 8, 32000, 4096, 8, 2, 0, 0, 0, 0},
    {"mixtral-small-dense", 0, 1024, 7168, 8, 32, 8, 32000, 4096, 0, 0, 0, 0, 0, 0},
    {"llama3.2-1b", 0, 2048, 8192, 16, 32, 8, 128256, 131072, 0, 0, 64, 500000, 0, 32},
    {"llama3.2-3b", 0, 3072, 8192, 28, 24, 8, 128256, 131072, 0, 0, 128, 500000, 0, 32},
    {"smollm2-135m", 0, 576, 1536, 30, 9, 3, 49152, 8192, 0, 0, 64, 100000, 0, 0},
    {"smollm2-360m", 0, 960, 2560, 32, 15, 5, 49152, 8192, 0, 0, 64, 100000, 0, 0},
    {"qwen2.5-0.5b", "qwen2", 896, 4864, 24, 14, 2, 151936, 32768, 0, 0, 64, 1e6f, 0, 0},
    {"qwen2.5-1.5b", "qwen2", 1536, 8960, 28, 12, 2, 151936, 32768, 0, 0, 128, 1e6f, 0, 0},
    {"qwen3-0.6b", "qwen3", 1024, 3072, 28, 16, 8, 151936, 40960, 0, 0, 128, 1e6f, 0, 0},
    {"qwen3-1.7b", "qwen3", 2048, 6144, 28, 16, 8, 151936, 40960, 0, 0, 128, 1e6f, 0, 0},
    {"gemma2-2b", "gemma2", 2304, 9216, 26, 8, 4, 256000, 8192, 0, 0, 256, 10000, 4096, 0},
    {"gemma3-1b", "gemma3", 1152, 6912, 26, 4, 1, 262144, 32768, 0, 0, 256, 1e6f, 512, 0},
    {"phi3-mini", "phi3", 3072, 8192, 32, 32, 32, 32064, 4096, 0, 0, 96, 10000, 2047, 0},
    {"gpt2", "gpt2", 768, 3072, 12, 12, 12, 50257, 1024, 0, 0, 64, 0, 0, 0},
    {"bge-small", "bert", 384, 1536, 12, 12, 12, 30522, 512, 0, 0, 32, 0, 0, 0},
    {"minilm-l6", "bert", 384, 1536, 6, 12, 12, 30522, 512, 0, 0, 32, 0, 0, 0},
    {"bge-base", "bert", 768, 3072, 12, 12, 12, 30522, 512, 0, 0, 64, 0, 0, 0},
    {"nomic-embed-text-v1.5", "nomic-bert", 768, 3072, 12, 12, 12, 30522, 2048, 0, 0, 64, 1000, 0, 0},
    {"nomic-small", "nomic-bert", 64, 160, 2, 4, 4, 30522, 256, 0, 0, 16, 1000, 0, 0},
};

typedef struct options {
    shape s;
    const char *arch;   /* --arch: the family (NULL: the shape's) */
    int own_classifier; /* 1: a classifier stored apart from the embedding */
    uint64_t seed;
    const char *format;
    const char *out;
    tfm_dtype type;        /* gguf: the matrices' dtype */
    const char *tokenizer; /* gguf: tokenizer.bin, or a GGUF whose tokenizer.* keys go in the file */
} options;

/* ---------------------------------------------------------------- values */

typedef enum fill { RANDOM, ONES, ZEROS } fill;

/* The tensors of a model; each has its own stream of values. */
typedef enum kind {
    EMBEDDING, ATTN_NORM, WQ, WK, WV, WO, FFN_NORM, FFN_GATE, FFN_DOWN, FFN_UP, FINAL_NORM, CLASSIFIER, ROUTER
} kind;

/* The stream of tensor `k` of `layer` (splitmix64's finalizer over the three: nearby seeds, tensors and
   layers give unrelated streams). */
static void tensor_stream(tfm_rng *rng, uint64_t seed, int k, int layer)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (1 + (uint64_t)k * 4099 + (uint64_t)layer * 65537 * 4099);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    tfm_rng_seed(rng, z ^ (z >> 31));
}

static void fill_values(float *x, size_t n, fill f, tfm_rng *rng)
{
    size_t i;
    for (i = 0; i < n; i++) x[i] = f == RANDOM ? (tfm_rng_float(rng) - 0.5f) * 0.1f : f == ONES ? 1.0f : 0.0f;
}

/* ---------------------------------------------------------------- llama2.c .bin */

/* Writes count f32 values of one tensor's stream (little-endian, as llama2.c stores them). */
static int write_floats(FILE *f, uint64_t count, fill kind, tfm_rng *rng)
{
    float buf[4096];
    unsigned char bytes[sizeof buf];
    while (count > 0) {
        size_t n = count < 4096 ? (size_t)count : 4096, i;
        fill_values(buf, n, kind, rng);
        for (i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &buf[i], 4);
            bytes[4 * i] = (unsigned char)u, bytes[4 * i + 1] = (unsigned char)(u >> 8);
            bytes[4 * i + 2] = (unsigned char)(u >> 16), bytes[4 * i + 3] = (unsigned char)(u >> 24);
        }
        if (fwrite(bytes, 4, n, f) != n) return 0;
        count -= n;
    }
    return 1;
}

/* One kind of tensor for every layer, in layer order (run.c's layout). */
static int write_layers(FILE *f, const options *o, kind k, uint64_t per_layer, fill what)
{
    tfm_rng rng;
    int l;
    for (l = 0; l < o->s.n_layers; l++) {
        tensor_stream(&rng, o->seed, k, l);
        if (!write_floats(f, per_layer, what, &rng)) return 0;
    }
    return 1;
}

static int write_tensor(FILE *f, const options *o, kind k, uint64_t count, fill what)
{
    tfm_rng rng;
    tensor_stream(&rng, o->seed, k, 0);
    return write_floats(f, count, what, &rng);
}

/* llama2.c legacy (export.py --version 0): 7 int32, then every array of a kind for all layers, in
   run.c's order, the unused RoPE tables, and the classifier if it is not the embedding. */
static int write_llama2c(FILE *f, const options *o)
{
    const shape *s = &o->s;
    uint64_t dim = (uint64_t)s->dim, hidden = (uint64_t)s->hidden_dim;
    uint64_t head_dim = dim / (uint64_t)s->n_heads, kv_dim = head_dim * (uint64_t)s->n_kv_heads;
    uint64_t vocab = (uint64_t)s->vocab_size;
    int32_t header[7];
    unsigned char bytes[28];
    int i;
    header[0] = s->dim, header[1] = s->hidden_dim, header[2] = s->n_layers, header[3] = s->n_heads;
    header[4] = s->n_kv_heads, header[5] = o->own_classifier ? -s->vocab_size : s->vocab_size, header[6] = s->seq_len;
    for (i = 0; i < 7; i++) {
        uint32_t u = (uint32_t)header[i];
        bytes[4 * i] = (unsigned char)u, bytes[4 * i + 1] = (unsigned char)(u >> 8);
        bytes[4 * i + 2] = (unsigned char)(u >> 16), bytes[4 * i + 3] = (unsigned char)(u >> 24);
    }
    return fwrite(bytes, 1, 28, f) == 28 && write_tensor(f, o, EMBEDDING, vocab * dim, RANDOM) &&
           write_layers(f, o, ATTN_NORM, dim, ONES) && write_layers(f, o, WQ, dim * dim, RANDOM) &&
           write_layers(f, o, WK, kv_dim * dim, RANDOM) && write_layers(f, o, WV, kv_dim * dim, RANDOM) &&
           write_layers(f, o, WO, dim * dim, RANDOM) && write_layers(f, o, FFN_NORM, dim, ONES) &&
           write_layers(f, o, FFN_GATE, hidden * dim, RANDOM) && write_layers(f, o, FFN_DOWN, dim * hidden, RANDOM) &&
           write_layers(f, o, FFN_UP, hidden * dim, RANDOM) && write_tensor(f, o, FINAL_NORM, dim, ONES) &&
           write_floats(f, (uint64_t)s->seq_len * head_dim, ZEROS, NULL) && /* legacy freq_cis_real, _imag */
           (!o->own_classifier || write_tensor(f, o, CLASSIFIER, vocab * dim, RANDOM));
}

/* ---------------------------------------------------------------- GGUF */

/* A tensor whose rows are made while the writer streams the file: from its stream, or given values. */
typedef struct row_source {
    tfm_rng rng;
    fill what;
    const float *values; /* non-NULL: the rows are these (a vector) */
    tfm_dtype dtype;
    int64_t cols, next_row;
    float *scratch; /* one row of f32 values, shared by every tensor */
} row_source;

static tfm_status make_rows(void *user, int64_t first_row, int64_t n_rows, void *dst)
{
    row_source *r = (row_source *)user;
    size_t row_bytes;
    int64_t i;
    tfm_status s = tfm_dtype_row_bytes(r->dtype, (uint64_t)r->cols, &row_bytes);
    if (s != TFM_OK) return s;
    if (first_row != r->next_row) return TFM_ERR_INVALID_ARGUMENT; /* the stream only goes forward */
    for (i = 0; i < n_rows && s == TFM_OK; i++) {
        if (r->values) memcpy(r->scratch, r->values + (first_row + i) * r->cols, sizeof(float) * (size_t)r->cols);
        else fill_values(r->scratch, (size_t)r->cols, r->what, &r->rng);
        s = tfm_quantize_row(r->dtype, r->scratch, (unsigned char *)dst + (size_t)i * row_bytes, (size_t)r->cols);
    }
    r->next_row += n_rows;
    return s;
}

/* The GGUF writing job: the writer, one row_source per tensor, what fell back to f16. */
typedef struct gguf_job {
    const options *o;
    tfm_model_config c;
    tfm_gguf_writer *w;
    tfm_gguf *vocab;   /* -z's GGUF, whose tokenizer.* keys are copied */
    row_source *sources;
    int n_sources;
    float *scratch;
    float *rope_freqs; /* Llama 3's frequency divisors, or NULL */
    int fallbacks;     /* matrices stored f16 because their rows are no multiple of the block */
    int64_t fallback_cols;
    tfm_error err;
} gguf_job;

/* The stream of a tensor: the llama2.c array's it shares a name with (a llama GGUF of the same seed has
   the .bin's weights; the experts take the dense matrices'), else one of its name's own. */
static int stream_of(const char *suffix)
{
    static const char *const names[] = {"token_embd.weight", "attn_norm.weight", "attn_q.weight", "attn_k.weight",
                                        "attn_v.weight", "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight",
                                        "ffn_down.weight", "ffn_up.weight", "output_norm.weight", "output.weight",
                                        "ffn_gate_inp.weight"};
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;
    if (!strcmp(suffix, "ffn_gate_exps.weight")) return FFN_GATE;
    if (!strcmp(suffix, "ffn_up_exps.weight")) return FFN_UP;
    if (!strcmp(suffix, "ffn_down_exps.weight")) return FFN_DOWN;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(suffix, names[i])) return (int)i;
    for (i = 0; suffix[i]; i++) h = (h ^ (unsigned char)suffix[i]) * 16777619u;
    return 64 + (int)(h % 65536u);
}

/* Adds tensor `name` of shape ne (ne[1] 0: a vector; ne[2] stacked matrices) with values of its stream:
   norms 1, the rest random (or `values`). Matrices get the file's type where their rows fit its blocks,
   else f16. */
static int add_tensor(gguf_job *j, const char *name, const int64_t *ne, const float *values)
{
    row_source *r = &j->sources[j->n_sources++];
    const char *suffix = name;
    int layer = 0;
    size_t bytes, len = strlen(name);
    int64_t shape[3];
    if (!strncmp(name, "blk.", 4)) layer = atoi(name + 4), suffix = strchr(name + 4, '.') + 1;
    shape[0] = ne[0], shape[1] = ne[1], shape[2] = ne[2];
    r->dtype = TFM_F32;
    /* token_types stays f32: llama.cpp adds its row 0 as a view, which a block type cannot be */
    if (ne[1] > 0 && strcmp(name, "token_types.weight") != 0) {
        r->dtype = j->o->type;
        if (tfm_dtype_row_bytes(r->dtype, (uint64_t)ne[0], &bytes) != TFM_OK) {
            r->dtype = TFM_F16;
            j->fallbacks++;
            j->fallback_cols = ne[0];
        }
    }
    tensor_stream(&r->rng, j->o->seed, stream_of(suffix), layer);
    r->what = len > 11 && !strcmp(name + len - 11, "norm.weight") ? ONES : RANDOM;
    r->values = values;
    r->cols = ne[0];
    r->next_row = 0;
    r->scratch = j->scratch;
    return tfm_gguf_writer_add_tensor_rows(j->w, name, r->dtype, ne[2] > 1 ? 3 : ne[1] > 0 ? 2 : 1, shape, make_rows, r,
                                           &j->err) == TFM_OK;
}

/* The config of the file: the shape, its family (--arch, else the shape's), the family's constants. */
static tfm_model_config file_config(const options *o)
{
    const shape *s = &o->s;
    tfm_model_config c;
    int encoder;
    memset(&c, 0, sizeof c);
    c.arch = o->arch ? o->arch : s->arch ? s->arch : "llama";
    c.dim = s->dim, c.hidden_dim = s->hidden_dim, c.n_layers = s->n_layers, c.n_heads = s->n_heads;
    c.n_kv_heads = s->n_kv_heads, c.head_dim = s->head_dim ? s->head_dim : s->dim / s->n_heads;
    c.vocab_size = s->vocab_size, c.context_length = s->seq_len;
    c.rope_base = s->rope_base > 0 ? s->rope_base : 10000.0f;
    c.rope_dim = strcmp(c.arch, "gpt2") && strcmp(c.arch, "bert") ? c.head_dim : 0;
    encoder = !strcmp(c.arch, "bert") || !strcmp(c.arch, "nomic-bert");
    c.norm_eps = !strncmp(c.arch, "qwen", 4) || !strncmp(c.arch, "gemma", 5) ? 1e-6f : encoder ? 1e-12f : 1e-5f;
    /* an encoder: BGE pools the [CLS] vector, MiniLM (sentence-transformers) and nomic-embed the mean */
    if (encoder) c.bidirectional = 1, c.pooling = s->name && !strncmp(s->name, "bge", 3) ? 2 : 1;
    c.n_experts = s->n_experts, c.n_experts_used = s->n_experts_used;
    c.sliding_window = s->window;
    if (!strcmp(c.arch, "gemma2")) c.attn_softcap = 50.0f, c.logit_softcap = 30.0f; /* Gemma 2's config */
    return c;
}

/* Whether the file stores a classifier apart from the embedding: as llama.cpp loads the family (Phi-3
   needs output.weight, Gemma's classifier is always its embedding, GPT-2's converter writes a copy), else
   --own-classifier. */
static int own_classifier(const options *o, const tfm_model_config *c)
{
    if (!strcmp(c->arch, "phi3") || !strcmp(c->arch, "gpt2")) return 1;
    if (!strncmp(c->arch, "gemma", 5) || c->bidirectional) return 0;
    return o->own_classifier;
}

/* Llama 3's RoPE frequency divisors for `factor` (low_freq_factor 1, high_freq_factor 4, original
   context 8192: Llama 3.2's rope_scaling), as llama.cpp's converter derives rope_freqs from them: pairs
   of short wavelength keep their frequency, long ones are divided by factor, those between blend. */
static float *llama3_freqs(const tfm_model_config *c, float factor)
{
    const double low = 1.0, high = 4.0, orig = 8192.0, pi = 3.14159265358979323846;
    int half = c->rope_dim / 2, i;
    float *f = (float *)malloc(sizeof(float) * (size_t)(half > 0 ? half : 1));
    for (i = 0; f && i < half; i++) {
        double wavelen = 2 * pi * pow((double)c->rope_base, 2.0 * i / c->rope_dim);
        if (wavelen < orig / high) f[i] = 1.0f;
        else if (wavelen > orig / low) f[i] = factor;
        else {
            double smooth = (orig / wavelen - low) / (high - low);
            f[i] = (float)(1.0 / ((1 - smooth) / factor + smooth));
        }
    }
    return f;
}

/* The vocab and the hyperparameters: -z's GGUF's tokenizer.* keys copied (its tokens set the vocab
   size), its tokenizer.bin, or a stand-in; the keys written as tfm_model.h writes them. */
static int add_metadata(gguf_job *j)
{
    tfm_tokenizer *tok = NULL;
    int ok = tfm_model_gguf_add_config(j->w, &j->c, j->o->s.name ? j->o->s.name : "synthetic", j->o->type, &j->err) == TFM_OK;
    if (ok && j->vocab) {
        int64_t i;
        for (i = 0; ok && i < tfm_gguf_n_kv(j->vocab); i++)
            if (!strncmp(tfm_gguf_key(j->vocab, i), "tokenizer.", 10))
                ok = tfm_gguf_writer_copy_kv(j->w, j->vocab, i, &j->err) == TFM_OK;
    } else {
        if (ok && j->o->tokenizer) ok = tfm_tokenizer_load_llama2c(&tok, j->o->tokenizer, j->c.vocab_size, &j->err) == TFM_OK;
        ok = ok && tfm_model_gguf_add_vocab(j->w, tok, j->c.vocab_size, &j->err) == TFM_OK;
        tfm_tokenizer_free(tok);
    }
    /* an encoder's token_types rows (a BERT vocab declares them; llama.cpp requires the key) */
    if (ok && j->c.bidirectional && (!j->vocab || tfm_gguf_find_key(j->vocab, "tokenizer.ggml.token_type_count") < 0))
        ok = tfm_gguf_writer_add_u32(j->w, "tokenizer.ggml.token_type_count", 2, &j->err) == TFM_OK;
    return ok;
}

/* 1 if path is a GGUF file (-z: a vocab to copy), 0 if not (a tokenizer.bin), -1 if it cannot be read. */
static int is_gguf(const char *path)
{
    char magic[4];
    FILE *f = fopen(path, "rb");
    int gguf;
    if (!f) return -1;
    gguf = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GGUF", 4);
    fclose(f);
    return gguf;
}

/* The tokens of a GGUF vocab, or -1 with a message. */
static int gguf_vocab_size(const char *path)
{
    tfm_gguf *g = NULL;
    tfm_gguf_type t;
    tfm_error err;
    uint64_t n = 0;
    int ok = tfm_gguf_open(&g, path, 0, &err) == TFM_OK && tfm_gguf_get_array(g, "tokenizer.ggml.tokens", &t, &n, &err) == TFM_OK;
    tfm_gguf_close(g);
    if (ok && (n == 0 || n > (1u << 24))) ok = 0, tfm_error_set(&err, TFM_ERR_FORMAT, "%llu tokens", (unsigned long long)n);
    if (!ok) fprintf(stderr, "tfm-synth: -z %s: %s\n", path, err.message);
    return ok ? (int)n : -1;
}

static int write_gguf(FILE *f, const options *o)
{
    gguf_job j;
    char name[64];
    int64_t ne[3], dim, widest;
    int ok, i, n = 0;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.c = file_config(o);
    dim = widest = j.c.dim;
    ok = !o->tokenizer || is_gguf(o->tokenizer) != 1 || tfm_gguf_open(&j.vocab, o->tokenizer, 0, &j.err) == TFM_OK;
    for (; ok && tfm_model_gguf_tensor(&j.c, n, name, sizeof name, ne); n++) widest = ne[0] > widest ? ne[0] : widest;
    if (ok && n == 0) ok = 0, tfm_error_set(&j.err, TFM_ERR_UNSUPPORTED, "no tensors for architecture '%s'", j.c.arch);
    if (ok && o->s.llama3_factor > 0 && j.c.rope_dim > 0) j.rope_freqs = llama3_freqs(&j.c, o->s.llama3_factor);
    j.sources = (row_source *)calloc((size_t)n + 2, sizeof(row_source));
    j.scratch = (float *)malloc(sizeof(float) * (size_t)widest);
    ok = ok && j.sources && j.scratch && tfm_gguf_writer_create(&j.w, &j.err) == TFM_OK && add_metadata(&j);
    /* the model's tensors, the classifier after the final norm (as the converters order them), then
       the layers' */
    for (i = 0; ok && i < n; i++) {
        tfm_model_gguf_tensor(&j.c, i, name, sizeof name, ne);
        if (!strncmp(name, "blk.", 4) && j.n_sources == i) {
            int64_t extra[3];
            extra[0] = dim, extra[1] = j.c.vocab_size, extra[2] = 1;
            if (own_classifier(o, &j.c)) ok = add_tensor(&j, "output.weight", extra, NULL);
            extra[0] = j.c.rope_dim / 2, extra[1] = 0;
            if (ok && j.rope_freqs) ok = add_tensor(&j, "rope_freqs.weight", extra, j.rope_freqs);
        }
        ok = ok && add_tensor(&j, name, ne, NULL);
    }
    ok = ok && tfm_gguf_writer_write(j.w, f, &j.err) == TFM_OK;
    if (!ok && j.err.message[0]) fprintf(stderr, "tfm-synth: %s\n", j.err.message);
    if (ok && j.fallbacks)
        fprintf(stderr, "tfm-synth: %d matrices stay f16: rows of %lld are no multiple of %s's %zu-element block\n",
                j.fallbacks, (long long)j.fallback_cols, tfm_dtype_name(o->type), tfm_dtype_block_size(o->type));
    tfm_gguf_writer_free(j.w);
    tfm_gguf_close(j.vocab);
    free(j.sources), free(j.scratch), free(j.rope_freqs);
    return ok;
}

typedef struct writer {
    const char *format;
    int (*write)(FILE *f, const options *o);
} writer;

static const writer writers[] = {
    {"llama2c", write_llama2c},
    {"gguf", write_gguf},
};

/* ---------------------------------------------------------------- command line */

static const tfm_dtype gguf_types[] = {TFM_F32,  TFM_F16,  TFM_BF16, TFM_Q8_0, TFM_Q4_0, TFM_Q4_1,   TFM_Q5_0, TFM_Q5_1,
                                       TFM_IQ4_NL, TFM_Q2_K, TFM_Q3_K, TFM_Q4_K, TFM_Q5_K, TFM_Q6_K, TFM_IQ4_XS};

static void usage(FILE *out)
{
    size_t i;
    fprintf(out,
            "usage: tfm-synth (--shape NAME | --dim D --hidden H --layers L --heads N [--kv-heads K] --vocab V\n"
            "                  --seq-len S) -o OUT [--arch A] [--seed S] [--own-classifier] [--format F] [--type T]\n"
            "                  [-z VOCAB]\n"
            "Writes a model with random weights (uniform +-0.05, norms 1) in a real model's shape.\n"
            "  --shape NAME       start from a named shape (flags after it override its dimensions):");
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) fprintf(out, " %s", shapes[i].name);
    fprintf(out,
            "\n  --arch A           gguf: the family (default: the shape's, else llama): llama qwen2 qwen3 qwen3moe\n"
            "                     gemma2 gemma3 phi3 gpt2 bert (an encoder: --shape bge-small, minilm-l6, bge-base)\n"
            "                     nomic-bert (an encoder: --shape nomic-embed-text-v1.5, nomic-small)\n"
            "  --kv-heads K       key/value heads (default: --heads)\n"
            "  --head-dim D       dims per head (default: the shape's, else dim / heads)\n"
            "  --window W         the family's sliding window (gemma2, gemma3, phi3; default the shape's)\n"
            "  --experts E        gguf: a mixture of E experts in every layer (0: dense; default the shape's)\n"
            "  --experts-used K   gguf: experts per token (default 2, at most E)\n"
            "  --own-classifier   store a classifier apart from the embedding (phi3 and gpt2 always do, gemma\n"
            "                     never: as llama.cpp loads them)\n"
            "  -s, --seed S       random seed (default 1); same seed, same weights in every format\n"
            "  --format F         output format:");
    for (i = 0; i < sizeof writers / sizeof writers[0]; i++) fprintf(out, " %s", writers[i].format);
    fprintf(out, " (default llama2c)\n  --type T           gguf: dtype of the matrices:");
    for (i = 0; i < sizeof gguf_types / sizeof gguf_types[0]; i++) fprintf(out, " %s", tfm_dtype_name(gguf_types[i]));
    fprintf(out, " (default f32; any case)\n"
                 "  -z VOCAB           gguf: the vocab of a llama2.c tokenizer.bin, or a GGUF's tokenizer.* keys (e.g.\n"
                 "                     ../shared/vocab/ggml-vocab-qwen3.gguf; its tokens set --vocab) (default: a\n"
                 "                     stand-in SentencePiece vocab)\n"
                 "  -h, --help         this help\n"
                 "  --version          the version\n");
}

/* 0 to go on, else the exit status (0 after --help or --version, 2 after a usage error). */
static int parse_args(int argc, char **argv, options *o)
{
    const char *shape_names[sizeof shapes / sizeof shapes[0]], *formats[sizeof writers / sizeof writers[0]];
    const int n_shapes = (int)(sizeof shapes / sizeof shapes[0]), n_formats = (int)(sizeof writers / sizeof writers[0]);
    int i, shape = -1, format = 0;
    tfm_args a;
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->type = TFM_F32;
    for (i = 0; i < n_shapes; i++) shape_names[i] = shapes[i].name;
    for (i = 0; i < n_formats; i++) formats[i] = writers[i].format;
    tfm_args_init(&a, "tfm-synth", argc, argv, usage);
    while (tfm_args_next(&a)) {
        /* a shape sets every dimension; the flags after it override some */
        if (tfm_args_choice(&a, NULL, "--shape", shape_names, n_shapes, &shape)) {
            if (a.status < 0) o->s = shapes[shape];
            continue;
        }
        if (tfm_args_string(&a, "-o", NULL, &o->out) || tfm_args_choice(&a, NULL, "--format", formats, n_formats, &format) ||
            tfm_args_dtype(&a, NULL, "--type", gguf_types, (int)(sizeof gguf_types / sizeof gguf_types[0]), &o->type) ||
            tfm_args_string(&a, "-z", NULL, &o->tokenizer) || tfm_args_u64(&a, "-s", "--seed", &o->seed) ||
            tfm_args_flag(&a, NULL, "--own-classifier", &o->own_classifier) ||
            tfm_args_int(&a, NULL, "--dim", 1, 1 << 24, &o->s.dim) ||
            tfm_args_int(&a, NULL, "--hidden", 1, 1 << 24, &o->s.hidden_dim) ||
            tfm_args_int(&a, NULL, "--layers", 1, 1 << 24, &o->s.n_layers) ||
            tfm_args_int(&a, NULL, "--heads", 1, 1 << 24, &o->s.n_heads) ||
            tfm_args_int(&a, NULL, "--kv-heads", 1, 1 << 24, &o->s.n_kv_heads) ||
            tfm_args_int(&a, NULL, "--vocab", 1, 1 << 24, &o->s.vocab_size) ||
            tfm_args_int(&a, NULL, "--seq-len", 1, 1 << 24, &o->s.seq_len) ||
            tfm_args_int(&a, NULL, "--head-dim", 1, 1 << 24, &o->s.head_dim) ||
            tfm_args_int(&a, NULL, "--window", 0, 1 << 24, &o->s.window) || tfm_args_string(&a, NULL, "--arch", &o->arch) ||
            tfm_args_int(&a, NULL, "--experts", 0, 256, &o->s.n_experts) ||
            tfm_args_int(&a, NULL, "--experts-used", 1, 256, &o->s.n_experts_used))
            continue;
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status;
    o->format = writers[format].format;
    if (!o->s.n_kv_heads) o->s.n_kv_heads = o->s.n_heads;
    if (o->s.n_experts && !o->s.n_experts_used) o->s.n_experts_used = o->s.n_experts < 2 ? o->s.n_experts : 2;
    if (!o->s.n_experts) o->s.n_experts_used = 0;
    if (o->s.n_experts_used > o->s.n_experts) {
        tfm_args_error(a.prog, "--experts-used %d exceeds --experts %d", o->s.n_experts_used, o->s.n_experts);
        return 2;
    }
    if (!o->out) {
        return tfm_args_fail(&a, "no output file (-o OUT)");
    }
    if (!o->s.dim || !o->s.hidden_dim || !o->s.n_layers || !o->s.n_heads || !o->s.vocab_size || !o->s.seq_len) {
        return tfm_args_fail(&a, "give --shape or every one of --dim --hidden --layers --heads --vocab --seq-len");
    }
    if (!o->s.head_dim && o->s.dim % o->s.n_heads) return tfm_args_fail(&a, "--heads must divide --dim (or give --head-dim)");
    if ((o->s.head_dim ? o->s.head_dim : o->s.dim / o->s.n_heads) % 2 || o->s.n_heads % o->s.n_kv_heads)
        return tfm_args_fail(&a, "heads must be of an even size and --kv-heads divide --heads");
    if (strcmp(o->format, "gguf") != 0 &&
        (o->type != TFM_F32 || o->tokenizer || o->s.n_experts || (o->arch && strcmp(o->arch, "llama")) ||
         (o->s.arch && !o->arch) || o->s.head_dim || o->s.llama3_factor > 0))
        return tfm_args_fail(&a, "--type, -z, --experts, --head-dim and families but llama 2's are for --format gguf");
    if (!strcmp(o->format, "gguf")) {
        tfm_model_config c = file_config(o);
        char name[64];
        int64_t ne[3];
        if (!tfm_model_gguf_tensor(&c, 0, name, sizeof name, ne))
            return tfm_args_error(a.prog, "unknown --arch '%s' (see --help)", tfm_args_quote(c.arch));
        if (c.n_experts && strcmp(c.arch, "llama") && strcmp(c.arch, "qwen3moe"))
            return tfm_args_fail(&a, "--experts is for the llama (Mixtral) and qwen3moe families");
        if (!strcmp(c.arch, "qwen3moe") && !c.n_experts) return tfm_args_fail(&a, "qwen3moe needs --experts");
    }
    if (o->tokenizer && is_gguf(o->tokenizer) == 1 && (o->s.vocab_size = gguf_vocab_size(o->tokenizer)) < 0) return 2;
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    const writer *w = NULL;
    tfm_file_writer out;
    tfm_file_id tokenizer;
    tfm_error err;
    size_t i;
    int ok;
    if ((ok = parse_args(argc, argv, &o)) != 0 || !o.out) return ok;
    for (i = 0; i < sizeof writers / sizeof writers[0]; i++)
        if (!strcmp(writers[i].format, o.format)) w = &writers[i];
    if (!w) {
        fprintf(stderr, "tfm-synth: unknown format '%s' (see --help)\n", tfm_args_quote(o.format));
        return 2;
    }
    /* a temporary file renamed into place when complete: a failed run leaves no half-written model */
    tokenizer = o.tokenizer ? tfm_file_identify(o.tokenizer) : tfm_file_identify(NULL);
    if (tfm_file_writer_open(&out, o.out, &tokenizer, 1, &err) != TFM_OK) {
        fprintf(stderr, "tfm-synth: %s\n", err.message);
        return 1;
    }
    if (!w->write(out.f, &o)) {
        tfm_file_writer_abort(&out);
        fprintf(stderr, "tfm-synth: error writing '%s'\n", tfm_args_quote(o.out));
        return 1;
    }
    if (tfm_file_writer_commit(&out, &err) != TFM_OK) {
        fprintf(stderr, "tfm-synth: %s\n", err.message);
        return 1;
    }
    fprintf(stderr,
            "tfm-synth: wrote %s (%s%s%s%s%s: dim %d, hidden %d, %d layers, %d heads, %d kv heads, vocab %d, seq_len %d",
            tfm_args_quote(o.out), o.format, strcmp(o.format, "gguf") ? "" : " ", strcmp(o.format, "gguf") ? "" : tfm_dtype_name(o.type),
            strcmp(o.format, "gguf") ? "" : " ", strcmp(o.format, "gguf") ? "" : file_config(&o).arch,
            o.s.dim, o.s.hidden_dim, o.s.n_layers, o.s.n_heads, o.s.n_kv_heads, o.s.vocab_size, o.s.seq_len);
    if (o.s.n_experts) fprintf(stderr, ", %d experts, %d per token", o.s.n_experts, o.s.n_experts_used);
    fprintf(stderr, ")\n");
    return 0;
}

/* tfm-synth: writes a model with random weights in the shape of a real one, for benchmarks and tests
   where the values do not matter but the sizes do (speed does not depend on what the weights are).

     tfm-synth --shape stories110M -o build/synth110M.bin
     tfm-synth --shape TinyLlama-1.1B --format gguf --type q4_0 -z tokenizer.bin -o build/tinyllama-q4_0.gguf
     tfm-synth --dim 512 --hidden 1376 --layers 8 --heads 8 --vocab 32000 --seq-len 1024 -o m.bin
     tfm-synth --shape mixtral-small --format gguf --type q4_0 -o /tmp/mixtral-small-q4_0.gguf

   Weights are uniform in [-0.05, 0.05) from a seeded generator, norm weights are 1, so activations stay
   finite. Each tensor draws from its own stream (seed, tensor, layer), so the same seed gives the same
   weights in every format and on every machine: a GGUF f32 file and the llama2.c file compute the same
   logits. Formats, one entry each in `writers` below:
     llama2c  llama2.c's legacy .bin (f32)
     gguf     GGUF v3 in the layout llama.cpp's converters write (u32 hyperparameters, a SentencePiece
              "llama" vocab), matrices of --type (f32 f16 bf16 q8_0 q4_0 q4_1 q4_k q6_k, quantized with
              tfm_quantize_row); a matrix whose rows are no multiple of the type's block stays f16, as
              llama.cpp's quantizer leaves it; norms f32. Rows are produced while the file is written, so
              a multi-GB model never sits in memory. The vocab is tokenizer.bin's (-z, its size must be
              --vocab) or a stand-in: <unk> <s> </s>, the 256 byte tokens, then placeholder pieces.
              With --experts E (and --experts-used K) the feed-forward blocks are Mixtral's mixture of
              experts, as llama.cpp's converter writes it: llama.expert_count/expert_used_count, a router
              blk.N.ffn_gate_inp and the experts stacked in blk.N.ffn_{gate,up,down}_exps (3-D). */
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
    const char *name;
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    int n_experts, n_experts_used; /* 0: a dense feed-forward block */
} shape;

/* Karpathy's tinyllamas (huggingface.co/karpathy/tinyllamas), TinyLlama-1.1B, two layers of
   Llama-2-7B (all its matrix shapes, a fraction of its depth), a small Mixtral (8 experts, top-2, GQA
   32/8) and the dense model with its active parameters (one FFN as wide as two experts) */
static const shape shapes[] = {
    {"stories260K", 64, 172, 5, 8, 4, 512, 512, 0, 0},
    {"stories15M", 288, 768, 6, 6, 6, 32000, 256, 0, 0},
    {"stories42M", 512, 1376, 8, 8, 8, 32000, 1024, 0, 0},
    {"stories110M", 768, 2048, 12, 12, 12, 32000, 1024, 0, 0},
    {"TinyLlama-1.1B", 2048, 5632, 22, 32, 4, 32000, 2048, 0, 0},
    {"llama2-7B-2layers", 4096, 11008, 2, 32, 32, 32000, 4096, 0, 0},
    {"mixtral-small", 1024, 3584, 8, 32, 8, 32000, 4096, 8, 2},
    {"mixtral-small-dense", 1024, 7168, 8, 32, 8, 32000, 4096, 0, 0},
};

typedef struct options {
    shape s;
    int own_classifier; /* 1: a classifier stored apart from the embedding */
    uint64_t seed;
    const char *format;
    const char *out;
    tfm_dtype type;        /* gguf: the matrices' dtype */
    const char *tokenizer; /* gguf: tokenizer.bin whose vocab goes in the file */
} options;

/* ---------------------------------------------------------------- values */

typedef enum fill { RANDOM, ONES, ZEROS } fill;

/* The tensors of a model; each has its own stream of values. */
typedef enum kind {
    EMBEDDING, ATTN_NORM, WQ, WK, WV, WO, FFN_NORM, FFN_GATE, FFN_DOWN, FFN_UP, FINAL_NORM, CLASSIFIER, ROUTER
} kind;

/* The stream of tensor `k` of `layer` (splitmix64's finalizer over the three: nearby seeds, tensors and
   layers give unrelated streams). */
static void tensor_stream(tfm_rng *rng, uint64_t seed, kind k, int layer)
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

/* A tensor whose rows are made while the writer streams the file. */
typedef struct row_source {
    tfm_rng rng;
    fill what;
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
        fill_values(r->scratch, (size_t)r->cols, r->what, &r->rng);
        s = tfm_quantize_row(r->dtype, r->scratch, (unsigned char *)dst + (size_t)i * row_bytes, (size_t)r->cols);
    }
    r->next_row += n_rows;
    return s;
}

/* The GGUF writing job: the writer, one row_source per tensor, what fell back to f16. */
typedef struct gguf_job {
    const options *o;
    tfm_gguf_writer *w;
    row_source *sources;
    int n_sources;
    float *scratch;
    int fallbacks;     /* matrices stored f16 because their rows are no multiple of the block */
    int64_t fallback_cols;
    tfm_error err;
} gguf_job;

/* Adds tensor `name` of rows x cols (rows 0: a vector), `depth` of them stacked (experts; 1: a matrix),
   values of stream (k, layer). Matrices get the file's type where their rows fit its blocks, else f16. */
static int add_tensor3(gguf_job *j, const char *name, kind k, int layer, int64_t cols, int64_t rows, int64_t depth,
                       fill what)
{
    row_source *r = &j->sources[j->n_sources++];
    int64_t ne[3];
    size_t bytes;
    ne[0] = cols;
    ne[1] = rows;
    ne[2] = depth;
    r->dtype = TFM_F32;
    if (rows > 0) {
        r->dtype = j->o->type;
        if (tfm_dtype_row_bytes(r->dtype, (uint64_t)cols, &bytes) != TFM_OK) {
            r->dtype = TFM_F16;
            j->fallbacks++;
            j->fallback_cols = cols;
        }
    }
    tensor_stream(&r->rng, j->o->seed, k, layer);
    r->what = what;
    r->cols = cols;
    r->next_row = 0;
    r->scratch = j->scratch;
    return tfm_gguf_writer_add_tensor_rows(j->w, name, r->dtype, depth > 1 ? 3 : rows > 0 ? 2 : 1, ne, make_rows, r,
                                           &j->err) == TFM_OK;
}

static int add_tensor(gguf_job *j, const char *name, kind k, int layer, int64_t cols, int64_t rows, fill what)
{
    return add_tensor3(j, name, k, layer, cols, rows, 1, what);
}

/* The vocab (tokenizer.bin's or the stand-in) and the hyperparameters, written as tfm_model.h writes them. */
static int add_metadata(gguf_job *j)
{
    const shape *s = &j->o->s;
    tfm_tokenizer *tok = NULL;
    tfm_model_config c;
    int ok;
    memset(&c, 0, sizeof c);
    c.dim = s->dim, c.hidden_dim = s->hidden_dim, c.n_layers = s->n_layers, c.n_heads = s->n_heads;
    c.n_kv_heads = s->n_kv_heads, c.head_dim = s->dim / s->n_heads, c.vocab_size = s->vocab_size;
    c.context_length = s->seq_len, c.rope_base = 10000.0f, c.rope_dim = c.head_dim, c.norm_eps = 1e-5f;
    c.n_experts = s->n_experts, c.n_experts_used = s->n_experts_used;
    ok = tfm_model_gguf_add_config(j->w, &c, s->name ? s->name : "synthetic", j->o->type, &j->err) == TFM_OK;
    if (ok && j->o->tokenizer) ok = tfm_tokenizer_load_llama2c(&tok, j->o->tokenizer, s->vocab_size, &j->err) == TFM_OK;
    ok = ok && tfm_model_gguf_add_vocab(j->w, tok, s->vocab_size, &j->err) == TFM_OK;
    tfm_tokenizer_free(tok);
    return ok;
}

static int write_gguf(FILE *f, const options *o)
{
    const shape *s = &o->s;
    int64_t dim = s->dim, hidden = s->hidden_dim, kv_dim = (int64_t)(s->dim / s->n_heads) * s->n_kv_heads;
    int64_t experts = s->n_experts;
    gguf_job j;
    char name[64];
    int ok, l;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.sources = (row_source *)calloc((size_t)s->n_layers * 10 + 3, sizeof(row_source));
    j.scratch = (float *)malloc(sizeof(float) * (size_t)(dim > hidden ? dim : hidden));
    ok = j.sources && j.scratch && tfm_gguf_writer_create(&j.w, &j.err) == TFM_OK && add_metadata(&j);
    ok = ok && add_tensor(&j, "token_embd.weight", EMBEDDING, 0, dim, s->vocab_size, RANDOM) &&
         add_tensor(&j, "output_norm.weight", FINAL_NORM, 0, dim, 0, ONES) &&
         (!o->own_classifier || add_tensor(&j, "output.weight", CLASSIFIER, 0, dim, s->vocab_size, RANDOM));
    for (l = 0; ok && l < s->n_layers; l++) {
#define LAYER_TENSOR(suffix, k, cols, rows, what) \
    (snprintf(name, sizeof name, "blk.%d.%s.weight", l, suffix), add_tensor(&j, name, k, l, cols, rows, what))
#define EXPERTS_TENSOR(suffix, k, cols, rows) \
    (snprintf(name, sizeof name, "blk.%d.%s.weight", l, suffix), add_tensor3(&j, name, k, l, cols, rows, experts, RANDOM))
        ok = LAYER_TENSOR("attn_norm", ATTN_NORM, dim, 0, ONES) && LAYER_TENSOR("attn_q", WQ, dim, dim, RANDOM) &&
             LAYER_TENSOR("attn_k", WK, dim, kv_dim, RANDOM) && LAYER_TENSOR("attn_v", WV, dim, kv_dim, RANDOM) &&
             LAYER_TENSOR("attn_output", WO, dim, dim, RANDOM) && LAYER_TENSOR("ffn_norm", FFN_NORM, dim, 0, ONES);
        if (experts == 0)
            ok = ok && LAYER_TENSOR("ffn_gate", FFN_GATE, dim, hidden, RANDOM) &&
                 LAYER_TENSOR("ffn_up", FFN_UP, dim, hidden, RANDOM) &&
                 LAYER_TENSOR("ffn_down", FFN_DOWN, hidden, dim, RANDOM);
        else
            ok = ok && LAYER_TENSOR("ffn_gate_inp", ROUTER, dim, experts, RANDOM) &&
                 EXPERTS_TENSOR("ffn_gate_exps", FFN_GATE, dim, hidden) &&
                 EXPERTS_TENSOR("ffn_up_exps", FFN_UP, dim, hidden) &&
                 EXPERTS_TENSOR("ffn_down_exps", FFN_DOWN, hidden, dim);
#undef LAYER_TENSOR
#undef EXPERTS_TENSOR
    }
    ok = ok && tfm_gguf_writer_write(j.w, f, &j.err) == TFM_OK;
    if (!ok && j.err.message[0]) fprintf(stderr, "tfm-synth: %s\n", j.err.message);
    if (ok && j.fallbacks)
        fprintf(stderr, "tfm-synth: %d matrices stay f16: rows of %lld are no multiple of %s's %zu-element block\n",
                j.fallbacks, (long long)j.fallback_cols, tfm_dtype_name(o->type), tfm_dtype_block_size(o->type));
    tfm_gguf_writer_free(j.w);
    free(j.sources), free(j.scratch);
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

static const tfm_dtype gguf_types[] = {TFM_F32, TFM_F16, TFM_BF16, TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K, TFM_Q6_K};

static void usage(FILE *out)
{
    size_t i;
    fprintf(out,
            "usage: tfm-synth (--shape NAME | --dim D --hidden H --layers L --heads N [--kv-heads K] --vocab V\n"
            "                  --seq-len S) -o OUT [--seed S] [--own-classifier] [--format F] [--type T] [-z TOK]\n"
            "Writes a model with random weights (uniform +-0.05, norms 1) in a real model's shape.\n"
            "  --shape NAME       start from a named shape (flags after it override its dimensions):");
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) fprintf(out, " %s", shapes[i].name);
    fprintf(out,
            "\n  --kv-heads K       key/value heads (default: --heads)\n"
            "  --experts E        gguf: a mixture of E experts in every layer (0: dense; default the shape's)\n"
            "  --experts-used K   gguf: experts per token (default 2, at most E)\n"
            "  --own-classifier   store a classifier apart from the embedding\n"
            "  -s, --seed S       random seed (default 1); same seed, same weights in every format\n"
            "  --format F         output format:");
    for (i = 0; i < sizeof writers / sizeof writers[0]; i++) fprintf(out, " %s", writers[i].format);
    fprintf(out, " (default llama2c)\n  --type T           gguf: dtype of the matrices:");
    for (i = 0; i < sizeof gguf_types / sizeof gguf_types[0]; i++) fprintf(out, " %s", tfm_dtype_name(gguf_types[i]));
    fprintf(out, " (default f32; any case)\n"
                 "  -z TOKENIZER       gguf: the vocab of this llama2.c tokenizer.bin (default: a stand-in vocab)\n"
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
    if (o->s.dim % o->s.n_heads || (o->s.dim / o->s.n_heads) % 2 || o->s.n_heads % o->s.n_kv_heads) {
        return tfm_args_fail(&a, "--heads must divide --dim into even head sizes and --kv-heads divide --heads");
    }
    if (strcmp(o->format, "gguf") != 0 && (o->type != TFM_F32 || o->tokenizer || o->s.n_experts)) {
        return tfm_args_fail(&a, "--type, -z and --experts are for --format gguf");
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    const writer *w = NULL;
    size_t i;
    FILE *f;
    int ok;
    if ((ok = parse_args(argc, argv, &o)) != 0 || !o.out) return ok;
    for (i = 0; i < sizeof writers / sizeof writers[0]; i++)
        if (!strcmp(writers[i].format, o.format)) w = &writers[i];
    if (!w) {
        fprintf(stderr, "tfm-synth: unknown format '%s' (see --help)\n", tfm_args_quote(o.format));
        return 2;
    }
    f = fopen(o.out, "wb");
    if (!f) {
        fprintf(stderr, "tfm-synth: cannot create '%s': %s\n", tfm_args_quote(o.out), strerror(errno));
        return 1;
    }
    ok = w->write(f, &o);
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "tfm-synth: error writing '%s'\n", tfm_args_quote(o.out));
        remove(o.out);
        return 1;
    }
    fprintf(stderr,
            "tfm-synth: wrote %s (%s%s%s: dim %d, hidden %d, %d layers, %d heads, %d kv heads, vocab %d, seq_len %d",
            tfm_args_quote(o.out), o.format, strcmp(o.format, "gguf") ? "" : " ", strcmp(o.format, "gguf") ? "" : tfm_dtype_name(o.type),
            o.s.dim, o.s.hidden_dim, o.s.n_layers, o.s.n_heads, o.s.n_kv_heads, o.s.vocab_size, o.s.seq_len);
    if (o.s.n_experts) fprintf(stderr, ", %d experts, %d per token", o.s.n_experts, o.s.n_experts_used);
    fprintf(stderr, ")\n");
    return 0;
}

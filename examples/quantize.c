/* tfm-quantize: a model file -> GGUF with its matrices in one type, by llama.cpp's rules (llama-quantize).

     tfm-quantize [-z tokenizer.bin] [--pure] [--threads N] IN.{gguf,bin} OUT.gguf TYPE

   TYPE: q8_0 q4_0 q4_1 q4_k q6_k f16 bf16. Which tensor gets which type (llama.cpp's llama-quant.cpp):
     - tensors named *weight with 2 or more dims get TYPE; norms (*_norm.weight) and other 1-D tensors
       are copied as they are (f32);
     - the classifier (output.weight, or token_embd.weight when the classifier is tied to it) gets q6_k
       when TYPE is a block type other than q8_0, or q8_0 when its rows are no multiple of TYPE's block;
       --pure gives it TYPE like every other matrix;
     - a matrix whose rows are no multiple of its type's block falls back: q4_k and q6_k to q8_0
       (llama.cpp: q6_k -> q8_0, q4_k -> q5_0, a type tfm does not have), then to f16; every fallback
       is printed with its reason;
     - a tensor already of its target type is copied byte for byte; any other is dequantized to f32 and
       quantized again with GGML's rounding (tfm_quantize).
   Metadata: a GGUF input's keys are all kept (general.file_type becomes TYPE's); a llama2.c .bin gets
   the keys llama.cpp reads from its header and the vocab of -z tokenizer.bin (required for .bin, whose
   files carry none). Matrices are converted while the file is written, a chunk of rows at a time. The
   k-quant mixes of llama-quantize (Q4_K_M: some matrices q5_k or q6_k) are not reproduced: q4_k here is
   its Q4_K_S with every matrix q4_k. Options follow tfm_args.h's conventions; TYPE in any case (Q4_0). */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tfm_dtype types[] = {TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K, TFM_Q6_K, TFM_F16, TFM_BF16};

/* One tensor of the output: a view of the input's data and the type it is written in. */
typedef struct job_tensor {
    const char *name;
    tfm_tensor in;
    tfm_dtype out;
    int n_threads;
    float **scratch; /* f32 rows of one chunk, shared by every tensor (grown as needed) */
    size_t *scratch_cap;
} job_tensor;

typedef struct options {
    const char *in, *out, *tokenizer;
    tfm_dtype type;
    int pure, n_threads;
} options;

static int is_block_type(tfm_dtype t) { return t != TFM_F32 && t != TFM_F16 && t != TFM_BF16; }

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int fits(tfm_dtype t, int64_t cols) { return cols % (int64_t)tfm_dtype_block_size(t) == 0; }

/* The type tensor `name` is written in; *why gets a line when it fell back. */
static tfm_dtype target_type(const options *o, const char *name, const tfm_tensor *t, int classifier, char *why,
                             size_t why_cap)
{
    tfm_dtype want = o->type, got;
    int64_t cols = t->ne[0];
    why[0] = 0;
    if (!ends_with(name, "weight") || t->n_dims < 2 || strstr(name, "_norm.weight")) return t->dtype;
    if (classifier && !o->pure && is_block_type(want))
        want = !fits(want, cols) || want == TFM_Q8_0 ? TFM_Q8_0 : TFM_Q6_K;
    got = want;
    if (!fits(got, cols) && (got == TFM_Q4_K || got == TFM_Q6_K)) got = TFM_Q8_0;
    if (!fits(got, cols)) got = TFM_F16;
    if (got != want)
        snprintf(why, why_cap, "%s: rows of %lld are no multiple of %s's %zu-element block: %s", name,
                 (long long)cols, tfm_dtype_name(want), tfm_dtype_block_size(want), tfm_dtype_name(got));
    return got;
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
    tfm_error err;
} job;

static int add(job *j, const char *name, const tfm_tensor *t, int classifier)
{
    job_tensor *jt;
    char why[256];
    int64_t ne[TFM_MAX_DIMS];
    int d;
    if (j->n == j->cap) return tfm_error_set(&j->err, TFM_ERR_FORMAT, "more tensors than counted"), 0;
    jt = &j->tensors[j->n++];
    jt->name = name;
    jt->in = *t;
    jt->out = target_type(j->o, name, t, classifier, why, sizeof why);
    jt->n_threads = j->o->n_threads;
    jt->scratch = &j->scratch;
    jt->scratch_cap = &j->scratch_cap;
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

/* GGUF in: every key but the file type kept, every tensor in its order. */
static int from_gguf(job *j, const tfm_gguf *g)
{
    int64_t i, n = tfm_gguf_n_tensors(g);
    int has_output = tfm_gguf_find_tensor(g, "output.weight") >= 0;
    for (i = 0; i < tfm_gguf_n_kv(g); i++) {
        const char *key = tfm_gguf_key(g, i);
        if (!strcmp(key, "general.file_type")) continue;
        if (tfm_gguf_writer_copy_kv(j->w, g, i, &j->err) != TFM_OK) return 0;
    }
    if (tfm_gguf_writer_add_u32(j->w, "general.file_type", tfm_model_gguf_file_type(j->o->type), &j->err) != TFM_OK)
        return 0;
    /* reserved whole: the writer keeps pointers to its entries */
    j->tensors = (job_tensor *)malloc(sizeof(job_tensor) * (size_t)(n > 0 ? n : 1));
    if (!j->tensors) return tfm_error_set(&j->err, TFM_ERR_OUT_OF_MEMORY, "out of memory"), 0;
    j->cap = (int)(n > 0 ? n : 1);
    for (i = 0; i < n; i++) {
        const tfm_gguf_tensor_info *info = tfm_gguf_tensor_info_at(g, i);
        tfm_tensor t;
        if (tfm_gguf_tensor_view(g, i, &t) != TFM_OK)
            return tfm_error_set(&j->err, TFM_ERR_FORMAT, "tensor %s: no view of its data", info->name), 0;
        if (!add(j, info->name, &t, !strcmp(info->name, "output.weight") ||
                                        (!has_output && !strcmp(info->name, "token_embd.weight"))))
            return 0;
    }
    return 1;
}

/* llama2.c .bin in: its header as llama.* keys, tokenizer.bin's vocab, the weights in GGUF's names. */
static int from_llama2c(job *j, const tfm_model *m, char (*names)[64])
{
    const tfm_model_config *c = &m->config;
    int tied = m->output.tensor.data == m->token_embd.data, l, k = 0, i, ok;
    tfm_tokenizer *tok = NULL;
    static const char *const layer_names[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                              "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
    ok = tfm_model_gguf_add_config(j->w, c, "llama2.c", j->o->type, &j->err) == TFM_OK &&
         tfm_tokenizer_load_llama2c(&tok, j->o->tokenizer, c->vocab_size, &j->err) == TFM_OK &&
         tfm_model_gguf_add_vocab(j->w, tok, c->vocab_size, &j->err) == TFM_OK;
    tfm_tokenizer_free(tok);
    j->tensors = (job_tensor *)malloc(sizeof(job_tensor) * (size_t)(c->n_layers * 9 + 3));
    if (ok && !j->tensors) ok = 0, tfm_error_set(&j->err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    j->cap = c->n_layers * 9 + 3;
    ok = ok && add(j, "token_embd.weight", &m->token_embd, tied) && add(j, "output_norm.weight", &m->output_norm, 0) &&
         (tied || add(j, "output.weight", &m->output.tensor, 1));
    for (l = 0; ok && l < c->n_layers; l++) {
        const tfm_layer *L = &m->layers[l];
        const tfm_tensor *t[9];
        t[0] = &L->attn_norm, t[1] = &L->wq.tensor, t[2] = &L->wk.tensor, t[3] = &L->wv.tensor, t[4] = &L->wo.tensor;
        t[5] = &L->ffn_norm, t[6] = &L->ffn_gate.tensor, t[7] = &L->ffn_up.tensor, t[8] = &L->ffn_down.tensor;
        for (i = 0; ok && i < 9; i++, k++) {
            snprintf(names[k], 64, "blk.%d.%s.weight", l, layer_names[i]);
            ok = add(j, names[k], t[i], 0);
        }
    }
    return ok;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tfm-quantize [-z tokenizer.bin] [--pure] [-t N] IN.{gguf,bin} OUT.gguf TYPE\n"
               "  TYPE             q8_0 q4_0 q4_1 q4_k q6_k f16 bf16 (any case): the matrices' type (norms stay f32)\n"
               "  -z PATH          the vocab of a llama2.c .bin input (its tokenizer.bin; required for .bin)\n"
               "  --pure           the classifier in TYPE too (default: q6_k, as llama.cpp, or q8_0 when its rows\n"
               "                   are no multiple of TYPE's block)\n"
               "  -t, --threads N  threads quantizing (default: all, at most %d)\n"
               "  -h, --help       this help\n"
               "  --version        the version\n"
               "Rows that are no multiple of a type's block fall back (q4_k, q6_k -> q8_0 -> f16); each\n"
               "fallback is printed.\n",
            tfm_max_threads());
}

/* 0 to go on, else the exit status (0 after --help or --version, 2 after a usage error). */
static int parse_args(int argc, char **argv, options *o)
{
    const char *type = NULL;
    tfm_args a;
    memset(o, 0, sizeof *o);
    tfm_args_init(&a, "tfm-quantize", argc, argv, usage);
    while (tfm_args_next(&a)) {
        if (tfm_args_string(&a, "-z", NULL, &o->tokenizer) || tfm_args_flag(&a, NULL, "--pure", &o->pure) ||
            tfm_args_int(&a, "-t", "--threads", 1, 1 << 20, &o->n_threads) || tfm_args_positional(&a, &o->in) ||
            tfm_args_positional(&a, &o->out) || tfm_args_positional(&a, &type))
            continue;
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status;
    if (!type) return tfm_args_fail(&a, "want IN OUT TYPE");
    if (!tfm_args_parse_dtype(a.prog, "TYPE", type, types, (int)(sizeof types / sizeof types[0]), &o->type)) return 2;
    if (!o->n_threads || o->n_threads > tfm_max_threads()) o->n_threads = tfm_max_threads();
    if (!strcmp(o->in, o->out)) {
        tfm_args_error(a.prog, "the output would overwrite the input %s", tfm_args_quote(o->in));
        return 1;
    }
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
    char (*names)[64] = NULL;
    int gguf, ok;
    if ((ok = parse_args(argc, argv, &o)) != 0 || !o.in) return ok;
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
    j.o = &o;
    ok = tfm_gguf_writer_create(&j.w, &j.err) == TFM_OK;
    if (ok && gguf) ok = tfm_gguf_open(&g, o.in, 0, &j.err) == TFM_OK && from_gguf(&j, g);
    else if (ok) {
        tfm_model_options mo;
        memset(&mo, 0, sizeof mo);
        mo.no_pack = 1;
        ok = tfm_model_load(o.in, &mo, &m, &j.err) == TFM_OK;
        names = ok ? (char(*)[64])malloc(64 * (size_t)m->config.n_layers * 9) : NULL;
        if (ok && !names) ok = 0, tfm_error_set(&j.err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
        ok = ok && from_llama2c(&j, m, names);
    }
    ok = ok && tfm_gguf_writer_write_file(j.w, o.out, &j.err) == TFM_OK;
    if (!ok) fprintf(stderr, "tfm-quantize: %s\n", j.err.message[0] ? j.err.message : "failed");
    else
        fprintf(stderr, "tfm-quantize: wrote %s (%s, %.1f MB): %d tensors, %d converted, %d copied, %d fallbacks\n",
                tfm_args_quote(o.out),
                tfm_dtype_name(o.type), (double)tfm_gguf_writer_size(j.w) / 1e6, j.n, j.converted, j.n - j.converted,
                j.fallbacks);
    tfm_gguf_writer_free(j.w);
    tfm_gguf_close(g);
    tfm_model_free(m);
    free(names), free(j.tensors), free(j.scratch);
    return ok ? 0 : 1;
}

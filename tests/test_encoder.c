/* Tests of the encoders (GGUF "bert" and "nomic-bert": the family table's rows through the one forward
   pass, by tfm_encode) and of tfm_encode on decoders, against independent references:
     - llama.cpp's embeddings of ../shared/archs/bert-shared.gguf (mean and cls pooling, normalised; the
       commands are in ../shared/archs/README.md: llama-embedding's vectors written exactly by a small
       program on llama.cpp's C API, embed_f32, all sentences in one batch);
     - llama.cpp's embeddings of a nomic-bert written here (with the bge vocab), recorded below with the
       commands that made them;
     - a float64 BERT written here from its definition (token + position + token-type embeddings, their
       LayerNorm, post-norm blocks with biases, GELU, bidirectional attention; nomic-bert's RoPE, SwiGLU
       and no biases) on files written here with the keys and tensor names llama.cpp's converters write,
       in every weight type;
     - a batch of sentences of different lengths gives each the vectors it gets alone, bit for bit, with 1
       and 2 threads and batches split by max_batch (padding never attended);
     - a decoder's last hidden state times its classifier is tfm_forward's logits;
     - bad files and inputs: each a clear error. */
#include "tfm_test.h"
#include "tfm_embed.h"
#include "tfm_gguf.h"
#include "tfm_model.h"
#include "tfm_tokenizer.h"

/* ---------------------------------------------------------------- a BERT written here */

/* A BERT, or with nomic set a nomic-bert: no learned positions but RoPE (NeoX halves, base rope_base),
   q|k|v stored as one attn_qkv, a SwiGLU feed-forward block (ffn_gate), no biases in the blocks. */
typedef struct bert_src {
    int dim, hidden, heads, layers, vocab, context, types, nomic;
    float eps, rope_base;
    float *tok, *pos, *type, *embd_norm, *embd_norm_b;
    float *w[4][13]; /* per layer: q, q_b, k, k_b, v, v_b, o, o_b, up, up_b, down, down_b, gate (NULL: absent) */
    float *norm[4][4]; /* per layer: attn_output_norm w, b; layer_output_norm w, b */
} bert_src;

enum { WQ, BQ, WK, BK, WV, BV, WO, BO, WUP, BUP, WDOWN, BDOWN, WGATE };

static float *rnd(size_t n, float lo, float hi)
{
    float *v = (float *)tt_alloc(sizeof(float) * n);
    tt_fill(v, n, lo, hi);
    return v;
}

static void bert_make(bert_src *b, int dim, int hidden, int heads, int layers, int vocab, int nomic, uint64_t seed)
{
    int l;
    float a = 1.5f / sqrtf((float)dim), ah = 1.5f / sqrtf((float)hidden);
    memset(b, 0, sizeof *b);
    b->dim = dim, b->hidden = hidden, b->heads = heads, b->layers = layers, b->vocab = vocab, b->context = 32;
    b->types = 2, b->eps = 1e-12f, b->nomic = nomic, b->rope_base = 1000.0f;
    tt_seed(seed);
    b->tok = rnd((size_t)vocab * dim, -1, 1);
    if (!nomic) b->pos = rnd((size_t)b->context * dim, -1, 1);
    b->type = rnd((size_t)(b->types + 2) * dim, -1, 1); /* room for a file that declares more types */
    b->embd_norm = rnd((size_t)dim, 0.6f, 1.4f), b->embd_norm_b = rnd((size_t)dim, -0.2f, 0.2f);
    for (l = 0; l < layers; l++) {
        int i;
        for (i = 0; i < 8; i += 2) {
            b->w[l][i] = rnd((size_t)dim * dim, -a, a);
            if (!nomic) b->w[l][i + 1] = rnd((size_t)dim, -0.2f, 0.2f);
        }
        b->w[l][WUP] = rnd((size_t)hidden * dim, -a, a), b->w[l][WDOWN] = rnd((size_t)dim * hidden, -ah, ah);
        if (!nomic) b->w[l][BUP] = rnd((size_t)hidden, -0.2f, 0.2f), b->w[l][BDOWN] = rnd((size_t)dim, -0.2f, 0.2f);
        else b->w[l][WGATE] = rnd((size_t)hidden * dim, -2 * a, 2 * a);
        for (i = 0; i < 4; i++) b->norm[l][i] = i % 2 ? rnd((size_t)dim, -0.2f, 0.2f) : rnd((size_t)dim, 0.6f, 1.4f);
    }
}

static void bert_free(bert_src *b)
{
    int l, i;
    free(b->tok), free(b->pos), free(b->type), free(b->embd_norm), free(b->embd_norm_b);
    for (l = 0; l < b->layers; l++) {
        for (i = 0; i < 13; i++) free(b->w[l][i]);
        for (i = 0; i < 4; i++) free(b->norm[l][i]);
    }
}

/* What a bad file changes: a tensor or key left out, token_types with another row count than declared. */
typedef struct bert_bad {
    const char *drop;
    int type_rows;
} bert_bad;

typedef struct blobs {
    void *p[128];
    int n;
} blobs;

static int put(tfm_gguf_writer *w, blobs *keep, const char *name, const float *v, int64_t cols, int64_t rows,
               tfm_dtype type, const bert_bad *bad)
{
    int64_t ne[2];
    size_t row_bytes;
    tfm_dtype dt = rows ? type : TFM_F32;
    tfm_error err;
    void *bytes;
    if (bad && bad->drop && !strcmp(bad->drop, name)) return 1;
    ne[0] = cols, ne[1] = rows;
    if (tfm_dtype_row_bytes(dt, (uint64_t)cols, &row_bytes) != TFM_OK) return 0;
    bytes = keep->p[keep->n++] = tt_alloc(row_bytes * (size_t)(rows ? rows : 1));
    if (tfm_quantize(dt, v, bytes, (size_t)(rows ? rows : 1), (size_t)cols, 1) != TFM_OK) return 0;
    return tfm_gguf_writer_add_tensor(w, name, dt, rows ? 2 : 1, ne, bytes, &err) == TFM_OK;
}

/* A key `<arch>.<name>` unless the bad file leaves it out: u32, or f32 when is_float. */
static int put_key(tfm_gguf_writer *w, const bert_src *b, const char *name, double v, int is_float, const bert_bad *bad)
{
    char key[96];
    tfm_error err;
    snprintf(key, sizeof key, "%s.%s", b->nomic ? "nomic-bert" : "bert", name);
    if (bad && bad->drop && !strcmp(bad->drop, key)) return 1;
    return (is_float ? tfm_gguf_writer_add_f32(w, key, (float)v, &err) : tfm_gguf_writer_add_u32(w, key, (uint32_t)v, &err)) ==
           TFM_OK;
}

/* The model as llama.cpp's converter writes a BERT or a nomic-bert, matrices and embeddings in `type`;
   the vocab's tokenizer.* keys copied (NULL: none, the tests give token ids). *size bytes; NULL on
   failure. */
static void *bert_write(const bert_src *b, tfm_dtype type, const bert_bad *bad, const tfm_gguf *vocab, size_t *size)
{
    static const char *const names[13] = {"attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias",
                                          "attn_v.weight", "attn_v.bias", "attn_output.weight", "attn_output.bias",
                                          "ffn_up.weight", "ffn_up.bias", "ffn_down.weight", "ffn_down.bias",
                                          "ffn_gate.weight"};
    static const char *const norms[4] = {"attn_output_norm.weight", "attn_output_norm.bias", "layer_output_norm.weight",
                                         "layer_output_norm.bias"};
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    blobs keep;
    void *buf = NULL;
    char name[64];
    int ok, l, i;
    int64_t k;
    keep.n = 0;
    ok = tfm_gguf_writer_create(&w, &err) == TFM_OK;
    ok = ok && tfm_gguf_writer_add_string(w, "general.architecture", b->nomic ? "nomic-bert" : "bert", &err) == TFM_OK;
    ok = ok && put_key(w, b, "context_length", b->context, 0, bad) && put_key(w, b, "embedding_length", b->dim, 0, bad);
    ok = ok && put_key(w, b, "feed_forward_length", b->hidden, 0, bad) && put_key(w, b, "block_count", b->layers, 0, bad);
    ok = ok && put_key(w, b, "attention.head_count", b->heads, 0, bad);
    ok = ok && put_key(w, b, "attention.layer_norm_epsilon", b->eps, 1, bad);
    ok = ok && tfm_gguf_writer_add_bool(w, b->nomic ? "nomic-bert.attention.causal" : "bert.attention.causal", 0, &err) == TFM_OK;
    ok = ok && put_key(w, b, "pooling_type", 1, 0, bad);
    if (b->nomic) ok = ok && put_key(w, b, "rope.freq_base", b->rope_base, 1, bad);
    for (k = 0; ok && vocab && k < tfm_gguf_n_kv(vocab); k++)
        if (!strncmp(tfm_gguf_key(vocab, k), "tokenizer.", 10) && strcmp(tfm_gguf_key(vocab, k), "tokenizer.ggml.token_type_count"))
            ok = tfm_gguf_writer_copy_kv(w, vocab, k, &err) == TFM_OK;
    ok = ok && tfm_gguf_writer_add_u32(w, "tokenizer.ggml.token_type_count", (uint32_t)b->types, &err) == TFM_OK;
    ok = ok && put(w, &keep, "token_embd.weight", b->tok, b->dim, b->vocab, type, bad);
    ok = ok && put(w, &keep, "token_types.weight", b->type, b->dim, bad && bad->type_rows ? bad->type_rows : b->types,
                   TFM_F32, bad);
    if (!b->nomic) ok = ok && put(w, &keep, "position_embd.weight", b->pos, b->dim, b->context, type, bad);
    ok = ok && put(w, &keep, "token_embd_norm.weight", b->embd_norm, b->dim, 0, type, bad);
    ok = ok && put(w, &keep, "token_embd_norm.bias", b->embd_norm_b, b->dim, 0, type, bad);
    for (l = 0; ok && l < b->layers; l++) {
        if (b->nomic) { /* q | k | v as one matrix */
            float *qkv = (float *)tt_alloc(sizeof(float) * 3 * (size_t)b->dim * (size_t)b->dim);
            for (i = 0; i < 3; i++)
                memcpy(qkv + (size_t)i * b->dim * b->dim, b->w[l][WQ + 2 * i], sizeof(float) * (size_t)b->dim * b->dim);
            snprintf(name, sizeof name, "blk.%d.attn_qkv.weight", l);
            ok = put(w, &keep, name, qkv, b->dim, 3 * b->dim, type, bad);
            free(qkv);
        }
        for (i = b->nomic ? WO : 0; ok && i < 13; i++) {
            int64_t cols = i == WDOWN ? b->hidden : i % 2 ? (i == BUP ? b->hidden : b->dim) : b->dim;
            int64_t rows = i % 2 ? 0 : i == WUP || i == WGATE ? b->hidden : b->dim;
            if (!b->w[l][i]) continue;
            snprintf(name, sizeof name, "blk.%d.%s", l, names[i]);
            ok = put(w, &keep, name, b->w[l][i], cols, rows, type, bad);
        }
        for (i = 0; ok && i < 4; i++) {
            snprintf(name, sizeof name, "blk.%d.%s", l, norms[i]);
            ok = put(w, &keep, name, b->norm[l][i], b->dim, 0, type, bad);
        }
    }
    if (ok) {
        *size = (size_t)tfm_gguf_writer_size(w);
        buf = tt_alloc(*size);
        if (tfm_gguf_writer_write_buffer(w, buf, *size, &err) != TFM_OK) free(buf), buf = NULL;
    }
    tfm_gguf_writer_free(w);
    for (i = 0; i < keep.n; i++) free(keep.p[i]);
    return buf;
}

/* ---------------------------------------------------------------- the float64 reference */

static void ref_layernorm(double *x, int n, const float *w, const float *b, double eps)
{
    double mean = 0, var = 0;
    int i;
    for (i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    for (i = 0; i < n; i++) x[i] = (x[i] - mean) / sqrt(var + eps) * w[i] + b[i];
}

static void ref_matvec(double *y, const float *w, const double *x, int rows, int cols, const float *b)
{
    int r, c;
    for (r = 0; r < rows; r++) {
        double s = b ? b[r] : 0;
        for (c = 0; c < cols; c++) s += (double)w[(size_t)r * (size_t)cols + (size_t)c] * x[c];
        y[r] = s;
    }
}

/* Each head of row x (dim values) turned by position pos: RoPE in NeoX's layout, value i paired with
   value i + hd/2, angle pos * base^(-2i / hd). */
static void ref_rope_neox(double *x, int dim, int hd, int pos, double base)
{
    int h, i;
    for (h = 0; h < dim; h += hd)
        for (i = 0; i < hd / 2; i++) {
            double angle = pos * pow(base, -2.0 * i / hd), a = x[h + i], b = x[h + i + hd / 2];
            x[h + i] = a * cos(angle) - b * sin(angle);
            x[h + i + hd / 2] = a * sin(angle) + b * cos(angle);
        }
}

/* hidden[T][dim] of one sentence by BERT's definition (GELU in llama.cpp's tanh form), or nomic-bert's
   (rotated q and k instead of learned positions, SwiGLU, no biases). */
static void ref_bert(const bert_src *b, const int *tokens, int T, double *x)
{
    int dim = b->dim, hd = dim / b->heads, l, t, j, i, h;
    double *q = (double *)tt_alloc(sizeof(double) * (size_t)T * dim), *k = (double *)tt_alloc(sizeof(double) * (size_t)T * dim);
    double *v = (double *)tt_alloc(sizeof(double) * (size_t)T * dim), *att = (double *)tt_alloc(sizeof(double) * dim);
    double *o = (double *)tt_alloc(sizeof(double) * dim), *u = (double *)tt_alloc(sizeof(double) * (size_t)b->hidden);
    double *g = (double *)tt_alloc(sizeof(double) * (size_t)b->hidden), *p = (double *)tt_alloc(sizeof(double) * (size_t)T);
    for (t = 0; t < T; t++) {
        for (i = 0; i < dim; i++)
            x[(size_t)t * dim + i] =
                (double)b->tok[(size_t)tokens[t] * dim + i] + (b->pos ? b->pos[(size_t)t * dim + i] : 0) + b->type[i];
        ref_layernorm(x + (size_t)t * dim, dim, b->embd_norm, b->embd_norm_b, b->eps);
    }
    for (l = 0; l < b->layers; l++) {
        float *const *w = b->w[l];
        for (t = 0; t < T; t++) {
            ref_matvec(q + (size_t)t * dim, w[WQ], x + (size_t)t * dim, dim, dim, w[BQ]);
            ref_matvec(k + (size_t)t * dim, w[WK], x + (size_t)t * dim, dim, dim, w[BK]);
            ref_matvec(v + (size_t)t * dim, w[WV], x + (size_t)t * dim, dim, dim, w[BV]);
            if (b->nomic) {
                ref_rope_neox(q + (size_t)t * dim, dim, hd, t, b->rope_base);
                ref_rope_neox(k + (size_t)t * dim, dim, hd, t, b->rope_base);
            }
        }
        for (t = 0; t < T; t++) {
            for (h = 0; h < b->heads; h++) {
                double max = -1e300, sum = 0;
                for (j = 0; j < T; j++) { /* every token sees every token */
                    double s = 0;
                    for (i = 0; i < hd; i++) s += q[(size_t)t * dim + h * hd + i] * k[(size_t)j * dim + h * hd + i];
                    p[j] = s / sqrt((double)hd);
                    max = p[j] > max ? p[j] : max;
                }
                for (j = 0; j < T; j++) sum += p[j] = exp(p[j] - max);
                for (i = 0; i < hd; i++) {
                    double a = 0;
                    for (j = 0; j < T; j++) a += p[j] / sum * v[(size_t)j * dim + h * hd + i];
                    att[h * hd + i] = a;
                }
            }
            ref_matvec(o, w[WO], att, dim, dim, w[BO]);
            for (i = 0; i < dim; i++) x[(size_t)t * dim + i] += o[i];
            ref_layernorm(x + (size_t)t * dim, dim, b->norm[l][0], b->norm[l][1], b->eps);
        }
        for (t = 0; t < T; t++) {
            double *xt = x + (size_t)t * dim;
            ref_matvec(u, w[WUP], xt, b->hidden, dim, w[BUP]);
            if (b->nomic) {
                ref_matvec(g, w[WGATE], xt, b->hidden, dim, NULL);
                for (i = 0; i < b->hidden; i++) u[i] *= g[i] / (1.0 + exp(-g[i])); /* silu(gate) * up */
            } else {
                for (i = 0; i < b->hidden; i++)
                    u[i] = 0.5 * u[i] * (1.0 + tanh(0.7978845608028654 * (u[i] + 0.044715 * u[i] * u[i] * u[i])));
            }
            ref_matvec(o, w[WDOWN], u, dim, b->hidden, w[BDOWN]);
            for (i = 0; i < dim; i++) xt[i] += o[i];
            ref_layernorm(xt, dim, b->norm[l][2], b->norm[l][3], b->eps);
        }
    }
    free(q), free(k), free(v), free(att), free(o), free(u), free(g), free(p);
}

/* ---------------------------------------------------------------- helpers */

static tfm_context *new_context(const tfm_model *m, int max_batch, int n_threads)
{
    tfm_context_params p;
    tfm_context *ctx = NULL;
    tfm_error err;
    memset(&p, 0, sizeof p);
    p.max_batch = max_batch;
    p.n_threads = n_threads;
    if (tfm_context_create(m, &p, &ctx, &err) != TFM_OK) fprintf(stderr, "  context: %s\n", err.message);
    return ctx;
}

/* tfm_encode of the n sequences in a fresh context; 0 on failure. */
static int encode(const tfm_model *m, const int *const *seqs, const int *lens, int n, int max_batch, int n_threads,
                  float *hidden)
{
    tfm_context *ctx = new_context(m, max_batch, n_threads);
    tfm_error err;
    int ok = ctx && tfm_encode(ctx, seqs, lens, n, hidden, &err) == TFM_OK;
    if (ctx && !ok) fprintf(stderr, "  encode: %s\n", err.message);
    tfm_context_free(ctx);
    return ok;
}

/* Random sentences: lens[i] tokens each, [CLS]-like id 1 first. */
static void make_sentences(int *store, const int **seqs, const int *lens, int n, int vocab)
{
    int i, j, at = 0;
    for (i = 0; i < n; i++) {
        seqs[i] = store + at;
        for (j = 0; j < lens[i]; j++) store[at++] = j == 0 ? 1 : (int)(tt_next() % (uint64_t)vocab);
    }
}

/* Each sentence alone and all in batches (the context's default max_batch: one batch; 16 rows: several),
   1 and 2 threads: the same hidden states bit for bit. */
static void check_batch_equals_alone(const tfm_model *m, const int *const *seqs, const int *lens, int n, const char *what)
{
    size_t dim = (size_t)m->config.dim, total = 0, at = 0;
    float *alone, *batch;
    int i, threads, mb;
    static const int max_batches[] = {0, 16}; /* 16: the sentences split over several batches */
    for (i = 0; i < n; i++) total += (size_t)lens[i];
    alone = (float *)tt_alloc(sizeof(float) * total * dim), batch = (float *)tt_alloc(sizeof(float) * total * dim);
    for (i = 0; i < n; i++) {
        TT_ASSERT(encode(m, seqs + i, lens + i, 1, 0, 1, alone + at * dim), "%s: sentence %d alone", what, i);
        at += (size_t)lens[i];
    }
    for (threads = 1; threads <= 2; threads++)
        for (mb = 0; mb < 2; mb++) {
            TT_ASSERT(encode(m, seqs, lens, n, max_batches[mb], threads, batch), "%s: batch", what);
            TT_ASSERT(!memcmp(alone, batch, sizeof(float) * total * dim),
                      "%s: %d sentences in batches (max_batch %d, %d threads) differ from each alone", what, n,
                      max_batches[mb], threads);
        }
    free(alone), free(batch);
}

static float *read_f32(const char *rel, size_t count)
{
    const char *path = tt_shared(rel);
    size_t size = 0;
    char *bytes = path ? tt_read_file(path, &size) : NULL;
    if (bytes && size != count * sizeof(float)) free(bytes), bytes = NULL;
    return (float *)(void *)bytes;
}

/* ---------------------------------------------------------------- tests */

/* ../shared/archs/bert-shared.gguf on its three sentences through its own WordPiece vocab: llama.cpp's
   ids, and its mean and cls embeddings (L2-normalised) within 1e-4 per component (measured ~1e-5:
   ggml's GELU looks its result up in an F16 table; everything else is f32 in both). */
static void test_shared_bert_matches_llamacpp(void)
{
    static const char *const kinds[2] = {"mean", "cls"};
    char path[1024];
    const char *found = tt_shared("archs/bert-shared.gguf");
    static const int want_lens[3] = {9, 12, 13};
    char *text, *line, *next;
    tfm_model *m = NULL;
    tfm_error err;
    int ids[3][64], lens[3], n = 0, k, i, d;
    const int *seqs[3];
    float *hidden, vec[64];
    double worst[2] = {0, 0};
    if (found) snprintf(path, sizeof path, "%s", found);
    if (!found || !tt_shared("archs/bert.sentences.txt")) TT_SKIP("../shared/archs/bert-shared.gguf or bert.sentences.txt missing");
    TT_ASSERT(tfm_model_load(path, NULL, &m, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(!strcmp(m->config.arch, "bert") && m->config.bidirectional && m->config.pooling == 2 && m->config.dim == 64,
              "config: %s bidirectional %d pooling %d", m->config.arch, m->config.bidirectional, m->config.pooling);
    text = tt_read_file(tt_shared("archs/bert.sentences.txt"), NULL);
    for (line = text; line && *line && n < 3; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        TT_ASSERT(tfm_tokenize(tfm_model_tokenizer(m), line, strlen(line), TFM_TOKENIZE_ADD_SPECIAL, ids[n], 64, &lens[n],
                               &err) == TFM_OK, "%s", err.message);
        TT_ASSERT(lens[n] == want_lens[n] && ids[n][0] == 101 && ids[n][lens[n] - 1] == 102,
                  "sentence %d: %d tokens, want [CLS] .. [SEP] of %d", n, lens[n], want_lens[n]);
        seqs[n] = ids[n];
        n++;
    }
    free(text);
    TT_ASSERT(n == 3, "3 sentences");
    hidden = (float *)tt_alloc(sizeof(float) * 34 * 64);
    TT_ASSERT(encode(m, seqs, lens, 3, 0, 2, hidden), "encode");
    for (k = 0; k < 2; k++) {
        char rel[64];
        float *want;
        size_t at = 0;
        snprintf(rel, sizeof rel, "archs/bert-shared.emb.%s.f32", kinds[k]);
        want = read_f32(rel, 3 * 64);
        TT_ASSERT(want, "%s missing or not 3 x 64 floats", rel);
        for (i = 0; i < 3; i++) {
            TT_CHECK(tfm_embed_pool(vec, hidden + at * 64, lens[i], 64, k ? TFM_POOLING_CLS : TFM_POOLING_MEAN) == TFM_OK);
            tfm_embed_normalize(vec, 64);
            for (d = 0; d < 64; d++)
                if (fabs(vec[d] - want[i * 64 + d]) > worst[k]) worst[k] = fabs(vec[d] - want[i * 64 + d]);
            at += (size_t)lens[i];
        }
        free(want);
    }
    if (getenv("TFM_TEST_VERBOSE")) fprintf(stderr, "  bert-shared: mean off llama.cpp by %.2g, cls by %.2g\n", worst[0], worst[1]);
    TT_ASSERT(worst[0] <= 1e-4 && worst[1] <= 1e-4, "off llama.cpp's embeddings by %g (mean), %g (cls)", worst[0], worst[1]);
    check_batch_equals_alone(m, seqs, lens, 3, "bert-shared");
    free(hidden);
    tfm_model_free(m);
}

/* llama.cpp's nomic-bert embeddings of the three sentences of ../shared/archs/bert.sentences.txt (ids
   as llama.cpp tokenizes them, [CLS] .. [SEP]) on the nomic-bert this test writes: bert_make(64, 160, 4
   heads, 2 layers, vocab 30522, nomic, seed 2027), context 128, RoPE base 1000, f32, the vocab of
   ../shared/vocab/ggml-vocab-bert-bge.gguf. Made by (llama.cpp b4747):
     TFM_TEST_NOMIC_FILE=/tmp/nomic-test.gguf build/test_encoder     (writes the file it tests)
     printf 'The cat sat on the mat.\nA quick brown fox jumps over the lazy dog.\nLlamas are domesticated South American camelids.\n' > s.txt
     llama-embedding -m /tmp/nomic-test.gguf -f s.txt --pooling mean --embd-normalize 2 -t 1 -c 128 -b 128 --embd-output-format json
   (and --pooling cls; and --embd-normalize -1 for the norms before normalisation): the first 16 of the 64
   components of each normalised vector (json's 7 decimals), and the norms. */
static const int nomic_ids[3][13] = {{101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102},
                                     {101, 1037, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102},
                                     {101, 2222, 8067, 2015, 2024, 4968, 4383, 2148, 2137, 19130, 9821, 1012, 102}};
static const float nomic_want[2][3][16] = {
    {{-0.0702625f, 0.2290138f, 0.0861497f, 0.1720379f, 0.0421937f, -0.1691030f, 0.0335475f, 0.1779371f,
      0.0372599f, 0.0314237f, -0.1255907f, -0.1476125f, -0.0428337f, -0.1893424f, -0.0575838f, -0.0389868f},
     {-0.0367518f, 0.2446097f, 0.1315871f, 0.1756217f, 0.0582340f, -0.2298629f, 0.0606811f, 0.1379865f,
      0.0329322f, 0.0449518f, -0.1252910f, -0.1046633f, -0.0625728f, -0.1828510f, -0.1158647f, -0.0259883f},
     {-0.0381696f, 0.3022084f, 0.1156736f, 0.2570456f, 0.0142947f, -0.2111897f, 0.0545102f, 0.1314972f,
      0.0208282f, 0.0029674f, -0.1125157f, -0.0771754f, -0.0170817f, -0.1783035f, -0.1059081f, 0.0120936f}},
    {{-0.1822646f, 0.2164170f, 0.1536349f, 0.0683824f, 0.0327595f, -0.2140177f, -0.0106572f, 0.1230209f,
      0.0146687f, 0.1335403f, -0.1049296f, -0.0996836f, 0.0291749f, -0.2235105f, -0.1015384f, -0.0423358f},
     {-0.1268744f, 0.1933040f, 0.1417115f, 0.0884103f, 0.0517517f, -0.2631627f, -0.0163313f, 0.1098411f,
      -0.0017080f, 0.1231769f, -0.0778067f, -0.0934232f, 0.0459353f, -0.1862208f, -0.1540239f, -0.0266367f},
     {-0.1477299f, 0.2013803f, 0.1474539f, 0.0954460f, 0.0460957f, -0.2582657f, -0.0238292f, 0.0928522f,
      0.0022078f, 0.1279534f, -0.0545963f, -0.1027648f, 0.0827583f, -0.1850127f, -0.1543438f, -0.0037679f}}};
static const double nomic_norms[2][3] = {{7.157333, 7.02477, 6.86074}, {8.168626, 8.163822, 8.224341}};

/* nomic-bert against llama.cpp within 1e-4 per component, the norms within 1e-4 relative (measured: 1e-7,
   all 64 components 2e-7 through tfm-embed); the batch equals each sentence alone, bit for bit. */
static void test_nomic_matches_llamacpp(void)
{
    static const char *const sentences[3] = {"The cat sat on the mat.", "A quick brown fox jumps over the lazy dog.",
                                             "Llamas are domesticated South American camelids."};
    static const int want_lens[3] = {9, 12, 13};
    const char *vocab_path = tt_shared("vocab/ggml-vocab-bert-bge.gguf"), *out = getenv("TFM_TEST_NOMIC_FILE");
    tfm_gguf *vocab = NULL;
    tfm_model *m = NULL;
    tfm_error err;
    bert_src b;
    size_t size;
    void *file;
    int ids[3][64], lens[3], i, k, d, at;
    const int *seqs[3];
    float hidden[34 * 64], vec[64];
    double worst = 0, worst_norm = 0;
    if (!vocab_path) TT_SKIP("../shared/vocab/ggml-vocab-bert-bge.gguf missing");
    TT_ASSERT(tfm_gguf_open(&vocab, vocab_path, 0, &err) == TFM_OK, "%s", err.message);
    bert_make(&b, 64, 160, 4, 2, 30522, 1, 2027);
    b.context = 128;
    file = bert_write(&b, TFM_F32, NULL, vocab, &size);
    tfm_gguf_close(vocab);
    TT_ASSERT(file, "writing the file");
    if (out && *out) {
        FILE *f = fopen(out, "wb");
        TT_ASSERT(f && fwrite(file, 1, size, f) == size && fclose(f) == 0, "writing %s", out);
    }
    TT_ASSERT(tfm_model_load_memory(file, size, &m, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(!strcmp(m->config.arch, "nomic-bert") && m->config.bidirectional && m->config.rope_dim == 16 &&
                  m->config.rope_mode == TFM_ROPE_NEOX && m->config.rope_base == 1000.0f && !m->pos_embd.data,
              "config: %s rope_dim %d base %g", m->config.arch, m->config.rope_dim, (double)m->config.rope_base);
    for (i = 0; i < 3; i++) {
        TT_ASSERT(tfm_tokenize(tfm_model_tokenizer(m), sentences[i], strlen(sentences[i]), TFM_TOKENIZE_ADD_SPECIAL, ids[i],
                               64, &lens[i], &err) == TFM_OK, "%s", err.message);
        TT_ASSERT(lens[i] == want_lens[i] && !memcmp(ids[i], nomic_ids[i], sizeof(int) * (size_t)lens[i]),
                  "sentence %d: not llama.cpp's %d ids", i, want_lens[i]);
        seqs[i] = ids[i];
    }
    TT_ASSERT(encode(m, seqs, lens, 3, 0, 2, hidden), "encode");
    for (k = 0; k < 2; k++)
        for (i = 0, at = 0; i < 3; at += lens[i], i++) {
            double norm = 0;
            TT_CHECK(tfm_embed_pool(vec, hidden + at * 64, lens[i], 64, k ? TFM_POOLING_CLS : TFM_POOLING_MEAN) == TFM_OK);
            for (d = 0; d < 64; d++) norm += (double)vec[d] * vec[d];
            norm = sqrt(norm);
            if (fabs(norm - nomic_norms[k][i]) / nomic_norms[k][i] > worst_norm)
                worst_norm = fabs(norm - nomic_norms[k][i]) / nomic_norms[k][i];
            tfm_embed_normalize(vec, 64);
            if (getenv("TFM_TEST_VERBOSE")) {
                fprintf(stderr, "  nomic %s %d: norm %.7g:", k ? "cls" : "mean", i, norm);
                for (d = 0; d < 16; d++) fprintf(stderr, " %.7f", (double)vec[d]);
                fprintf(stderr, "\n");
            }
            for (d = 0; d < 16; d++)
                if (fabs(vec[d] - nomic_want[k][i][d]) > worst) worst = fabs(vec[d] - nomic_want[k][i][d]);
        }
    if (getenv("TFM_TEST_VERBOSE")) fprintf(stderr, "  nomic: off llama.cpp by %.2g, norms by %.2g\n", worst, worst_norm);
    TT_ASSERT(worst <= 1e-4 && worst_norm <= 1e-4, "off llama.cpp's embeddings by %g, norms by %g (relative)", worst,
              worst_norm);
    check_batch_equals_alone(m, seqs, lens, 3, "nomic-bert");
    tfm_model_free(m);
    free(file);
    bert_free(&b);
}

/* A BERT with odd sizes (width 48, 4 heads of 12, inner 80, vocab 97, 2 layers), f32: three sentences of
   13, 5 and 9 tokens in one batch within 1e-5 of the largest float64 hidden value (measured ~1e-6; a
   causal mask, a padded key attended, a norm before instead of after the sum: 1e-1 and more); then
   every weight type at block-sized widths (256, inner 512) within its bound, and in each the batch
   equal to each sentence alone, bit for bit. Each also as a nomic-bert (RoPE, fused attn_qkv, SwiGLU, no
   block biases; measured: f32 3e-7 of the largest value, q8_0 0.015, q4_k 0.16, bf16 0.004). */
static void test_encoder_matches_float64(void)
{
    static const tfm_dtype types[] = {TFM_F32, TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K, TFM_Q6_K, TFM_F16, TFM_BF16};
    /* of the largest hidden value; measured: f32 3e-7, q8_0 0.01, q4_0 0.085, q4_1 0.073, q4_k 0.08,
       q6_k 0.025, f16 3.5e-4, bf16 2.5e-3 */
    static const double limits[] = {1e-5, 0.03, 0.25, 0.25, 0.25, 0.08, 0.002, 0.01};
    int lens[3] = {13, 5, 9}, store[27], ti, i, run;
    const int *seqs[3];
    for (run = 0; run < 2 * (int)(sizeof types / sizeof types[0]); run++) {
        const int nomic = run % 2;
        const char *what;
        char label[48];
        bert_src b;
        tfm_model *m = NULL;
        tfm_error err;
        size_t size, total = 27, at = 0;
        void *file;
        double *want, worst = 0, scale = 0;
        float *got;
        int wide;
        ti = run / 2, wide = ti > 0;
        if (tt_quick() && ti > 1 && ti != 4) continue; /* slow configurations: f32, q8_0, q4_k */
        snprintf(label, sizeof label, "%s %s", nomic ? "nomic-bert" : "bert", tfm_dtype_name(types[ti]));
        what = label;
        bert_make(&b, wide ? 256 : 48, wide ? 512 : 80, 4, 2, 97, nomic, 7 + (uint64_t)ti);
        make_sentences(store, seqs, lens, 3, 97);
        file = bert_write(&b, types[ti], NULL, NULL, &size);
        TT_ASSERT(file, "writing the file");
        TT_ASSERT(tfm_model_load_memory(file, size, &m, &err) == TFM_OK, "%s: %s", what, err.message);
        TT_ASSERT(m->config.rope_dim == (nomic ? 12 + wide * 52 : 0) && m->config.ffn == (nomic ? TFM_FFN_SWIGLU : TFM_FFN_GELU),
                  "%s: rope_dim %d, ffn %d", what, m->config.rope_dim, (int)m->config.ffn);
        want = (double *)tt_alloc(sizeof(double) * total * (size_t)b.dim);
        got = (float *)tt_alloc(sizeof(float) * total * (size_t)b.dim);
        for (i = 0; i < 3; i++) {
            ref_bert(&b, seqs[i], lens[i], want + at * (size_t)b.dim);
            at += (size_t)lens[i];
        }
        TT_ASSERT(encode(m, seqs, lens, 3, 0, 2, got), "encode");
        for (i = 0; i < (int)(total * (size_t)b.dim); i++) {
            if (fabs(want[i]) > scale) scale = fabs(want[i]);
            if (fabs(got[i] - want[i]) > worst) worst = fabs(got[i] - want[i]);
        }
        if (getenv("TFM_TEST_VERBOSE"))
            fprintf(stderr, "  %s: off float64 by %.2g of %.3g\n", what, worst / scale, scale);
        TT_ASSERT(worst <= limits[ti] * scale, "%s: off the float64 reference by %g (largest %g)", what, worst, scale);
        check_batch_equals_alone(m, seqs, lens, 3, what);
        free(want), free(got), free(file);
        tfm_model_free(m);
        bert_free(&b);
    }
}

/* A decoder through tfm_encode: the last token's hidden state (after the final norm) times the
   classifier, in double, is tfm_forward's logits (gpt2-shared: f16 classifier); a batch of prompts
   equals each alone, bit for bit. */
static void test_decoder_hidden_states(void)
{
    const char *path = tt_shared("archs/gpt2-shared.gguf");
    tfm_model_options o;
    tfm_model *m = NULL;
    tfm_context *ctx;
    tfm_error err;
    int lens[4] = {7, 3, 11, 6}, store[27], v, d;
    const int *seqs[4];
    float *hidden, *logits, row[64];
    double worst = 0, scale = 0;
    if (!path) TT_SKIP("../shared/archs/gpt2-shared.gguf missing");
    memset(&o, 0, sizeof o);
    o.no_vocab = 1;
    TT_ASSERT(tfm_model_load(path, &o, &m, &err) == TFM_OK, "%s", err.message);
    tt_seed(3);
    make_sentences(store, seqs, lens, 4, m->config.vocab_size);
    hidden = (float *)tt_alloc(sizeof(float) * 27 * 64);
    logits = (float *)tt_alloc(sizeof(float) * (size_t)m->config.vocab_size);
    TT_ASSERT(encode(m, seqs, lens, 4, 0, 1, hidden), "encode");
    ctx = new_context(m, 0, 1);
    TT_ASSERT(ctx && tfm_forward(ctx, seqs[2], lens[2], logits, TFM_LOGITS_LAST, &err) == TFM_OK, "forward");
    for (v = 0; v < m->config.vocab_size; v++) {
        const float *h = hidden + (size_t)(7 + 3 + 10) * 64;
        double s = 0;
        TT_CHECK(tfm_dequantize_row(m->output.tensor.dtype, tfm_tensor_row(&m->output.tensor, v, 0, 0), row, 64) == TFM_OK);
        for (d = 0; d < 64; d++) s += (double)row[d] * h[d];
        if (fabs(s) > scale) scale = fabs(s);
        if (fabs(s - logits[v]) > worst) worst = fabs(s - logits[v]);
    }
    TT_ASSERT(worst <= 1e-4 * scale + 1e-6, "classifier of the last hidden state off tfm_forward's logits by %g (largest %g)",
              worst, scale);
    check_batch_equals_alone(m, seqs, lens, 4, "gpt2-shared");
    tfm_context_free(ctx);
    free(hidden), free(logits);
    tfm_model_free(m);
}

/* Bad files and inputs, each a clear error: position embeddings missing, token_types rows against
   tokenizer.ggml.token_type_count, a nomic-bert without its attn_qkv, ffn_gate, token types or norm
   epsilon, a sentence longer than the context, a token outside the vocab, tfm_forward on an encoder. */
static void test_bad_encoder_input(void)
{
    static const struct {
        int nomic;
        const char *drop;
        int type_rows;
        const char *says;
    } files[] = {{0, "position_embd.weight", 0, "position_embd"},
                 {0, NULL, 3, "token_type_count"},
                 {0, "token_embd_norm.bias", 0, "token_embd_norm.bias"},
                 {0, "blk.0.layer_output_norm.weight", 0, "layer_output_norm"},
                 {1, "blk.0.attn_qkv.weight", 0, "blk.0.attn_qkv.weight"},
                 {1, "blk.0.ffn_gate.weight", 0, "blk.0.ffn_gate.weight"},
                 {1, "token_types.weight", 0, "token_types.weight"},
                 {1, "nomic-bert.attention.layer_norm_epsilon", 0, "nomic-bert.attention.layer_norm_epsilon"}};
    bert_src b, bn;
    bert_bad bad;
    tfm_model *m = NULL;
    tfm_context *ctx;
    tfm_error err;
    size_t size;
    void *file;
    int long_seq[40], i, n = 40, bad_token[3] = {1, 97, 2}, n3 = 3;
    const int *seq = long_seq, *bad_seq = bad_token;
    float *hidden = (float *)tt_alloc(sizeof(float) * 40 * 48), logits[97];
    bert_make(&bn, 48, 80, 4, 1, 97, 1, 6);
    bert_make(&b, 48, 80, 4, 1, 97, 0, 5);
    for (i = 0; i < (int)(sizeof files / sizeof files[0]); i++) {
        memset(&bad, 0, sizeof bad);
        bad.drop = files[i].drop, bad.type_rows = files[i].type_rows;
        file = bert_write(files[i].nomic ? &bn : &b, TFM_F32, &bad, NULL, &size);
        TT_ASSERT(file, "writing");
        TT_ASSERT(tfm_model_load_memory(file, size, &m, &err) != TFM_OK && !m, "bad file %d loaded", i);
        TT_ASSERT(strstr(err.message, files[i].says), "bad file %d: '%s' does not name %s", i, err.message, files[i].says);
        free(file);
    }
    file = bert_write(&b, TFM_F32, NULL, NULL, &size);
    TT_ASSERT(file && tfm_model_load_memory(file, size, &m, &err) == TFM_OK, "%s", err.message);
    ctx = new_context(m, 0, 1);
    TT_ASSERT(ctx, "context");
    for (i = 0; i < 40; i++) long_seq[i] = i % 97;
    /* 40 tokens, 32 positions: an error naming the lengths, nothing cut */
    TT_ASSERT(tfm_encode(ctx, &seq, &n, 1, hidden, &err) == TFM_ERR_CONTEXT_FULL && strstr(err.message, "40 tokens"),
              "over-long sentence: %s", err.message);
    n = 32;
    TT_ASSERT(tfm_encode(ctx, &seq, &n, 1, hidden, &err) == TFM_OK, "32 tokens: %s", err.message);
    TT_ASSERT(tfm_encode(ctx, &bad_seq, &n3, 1, hidden, &err) == TFM_ERR_OUT_OF_RANGE, "token 97 of 97: %s", err.message);
    TT_ASSERT(tfm_forward(ctx, long_seq, 4, logits, TFM_LOGITS_LAST, &err) == TFM_ERR_UNSUPPORTED &&
                  strstr(err.message, "encoder"), "tfm_forward on an encoder: %s", err.message);
    tfm_context_free(ctx);
    tfm_model_free(m);
    free(file), free(hidden);
    bert_free(&b), bert_free(&bn);
}

/* tfm_embed_texts and tfm_embed_tokens on bert-shared against plain loops over tfm_encode's hidden states:
   the file's pooling (cls) by default, mean and last, none (each token's vector normalised); texts through
   the model's vocab equal their token ids; a decoder defaults to last; a text over the context is an
   error naming it. */
static void test_embed_api(void)
{
    static const char *const texts[3] = {"The cat sat on the mat.", "", "A quick brown fox jumps over the lazy dog."};
    char path[1024];
    const char *found = tt_shared("archs/bert-shared.gguf");
    tfm_model *m = NULL;
    tfm_context *ctx;
    tfm_error err;
    int ids[3][32], lens[3], i, d, p, t, at;
    const int *seqs[3];
    float hidden[40 * 64], got[40 * 64], from_text[3 * 64];
    double worst = 0;
    char *long_text = (char *)tt_alloc(4000);
    const char *long_texts[1];
    if (!found) TT_SKIP("../shared/archs/bert-shared.gguf missing");
    snprintf(path, sizeof path, "%s", found);
    TT_ASSERT(tfm_model_load(path, NULL, &m, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_embed_default_pooling(m) == TFM_POOLING_CLS);
    ctx = new_context(m, 0, 2);
    TT_ASSERT(ctx, "context");
    for (i = 0; i < 3; i++) {
        TT_CHECK(tfm_tokenize(tfm_model_tokenizer(m), texts[i], strlen(texts[i]), TFM_TOKENIZE_ADD_SPECIAL, ids[i], 32,
                              &lens[i], &err) == TFM_OK);
        seqs[i] = ids[i];
    }
    TT_CHECK(lens[1] == 2); /* an empty text: [CLS] [SEP] */
    TT_ASSERT(tfm_encode(ctx, seqs, lens, 3, hidden, &err) == TFM_OK, "%s", err.message);
    for (p = TFM_POOLING_NONE; p <= TFM_POOLING_LAST; p++) {
        TT_ASSERT(tfm_embed_tokens(ctx, seqs, lens, 3, (tfm_pooling)p, 1, got, &err) == TFM_OK, "%s", err.message);
        for (i = 0, at = 0; i < 3; at += lens[i], i++) {
            int rows = p == TFM_POOLING_NONE ? lens[i] : 1;
            for (t = 0; t < rows; t++) {
                double want[64], norm = 0;
                const float *out = got + (size_t)(p == TFM_POOLING_NONE ? at + t : i) * 64;
                for (d = 0; d < 64; d++) {
                    int j;
                    want[d] = 0;
                    if (p == TFM_POOLING_MEAN)
                        for (j = 0; j < lens[i]; j++) want[d] += hidden[(at + j) * 64 + d] / (double)lens[i];
                    else want[d] = hidden[(at + (p == TFM_POOLING_NONE ? t : p == TFM_POOLING_CLS ? 0 : lens[i] - 1)) * 64 + d];
                    norm += want[d] * want[d];
                }
                for (d = 0; d < 64; d++)
                    if (fabs(out[d] - want[d] / sqrt(norm)) > worst) worst = fabs(out[d] - want[d] / sqrt(norm));
            }
        }
    }
    TT_ASSERT(worst <= 1e-6, "pooled vectors off plain loops by %g", worst);
    /* the file's pooling (cls) from the texts themselves */
    TT_ASSERT(tfm_embed_texts(ctx, texts, NULL, 3, TFM_POOLING_DEFAULT, 1, from_text, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_embed_tokens(ctx, seqs, lens, 3, TFM_POOLING_CLS, 1, got, &err) == TFM_OK);
    TT_CHECK(!memcmp(from_text, got, sizeof from_text));
    TT_CHECK(tfm_embed_texts(ctx, texts, NULL, 3, TFM_POOLING_NONE, 1, from_text, &err) == TFM_ERR_INVALID_ARGUMENT);
    for (i = 0; i < 3999; i++) long_text[i] = i % 2 ? ' ' : 'a';
    long_text[3999] = '\0';
    long_texts[0] = long_text;
    TT_ASSERT(tfm_embed_texts(ctx, long_texts, NULL, 1, TFM_POOLING_MEAN, 1, from_text, &err) == TFM_ERR_CONTEXT_FULL &&
                  strstr(err.message, "text 0 has 2002 tokens"), "an over-long text: %s", err.message);
    tfm_context_free(ctx);
    tfm_model_free(m);
    free(long_text);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    TT_RUN(test_shared_bert_matches_llamacpp);
    TT_RUN(test_nomic_matches_llamacpp);
    TT_RUN(test_encoder_matches_float64);
    TT_RUN(test_decoder_hidden_states);
    TT_RUN(test_bad_encoder_input);
    TT_RUN(test_embed_api);
    return tt_summary("encoder");
}

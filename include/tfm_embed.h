/* tfm_embed.h - sentence embeddings and exact retrieval over them (the retrieval half of RAG).
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     Pooling of a model's final hidden states into one vector a text (mean, first token = [CLS], last
     token, or none: one vector a token), L2 normalisation and cosine similarity; exact top-k search of a
     query against a matrix of vectors (one gemv, then a heap); a small index file holding the vectors of
     a document's passages with their byte spans in the document and the fingerprint of the model that
     embedded them. Sits above tfm_model.h and calls down into it; the model knows nothing of pooling.

   USAGE
        float scores[N];  tfm_embed_hit hits[5];  int n_hits;
        tfm_embed_pool(vec, hidden, n_tokens, dim, TFM_POOLING_MEAN);      hidden: [n_tokens][dim]
        tfm_embed_normalize(vec, dim);
        tfm_embed_search(matrix, N, dim, vec, 5, scores, hits, &n_hits, 0);   best 5 rows of matrix
        tfm_embed_texts(ctx, texts, NULL, n, TFM_POOLING_DEFAULT, 1, vectors, &err);  n texts -> [n][dim]
        tfm_embed_index_load(&index, "doc.idx", &err);  ...  tfm_embed_index_free(&index);

   NUMBERS
     Pooling sums in double (mean: the sum over the tokens divided by their count, then rounded once);
     normalisation divides by the Euclidean norm summed in double, as llama.cpp's --embd-normalize 2
     does; an all-zero vector stays zero. Search scores are f32 dot products through tfm_gemv (with unit
     vectors, cosines); the same scores and hits for any thread count; ties go to the lower row.

   INDEX FILE (little-endian; every field checked at load, every byte covered by a checksum)
     offset  size
        0      8   magic "TFMINDEX"
        8      4   version (1)
       12      4   dim: floats a vector
       16      8   count: passages (at most 2^31 - 1)
       24      8   model fingerprint (tfm_model_fingerprint of the model that embedded them)
       32      4   pooling (tfm_pooling value: mean, cls or last)
       36      4   flags: bit 0 = the vectors are L2-normalised
       40      8   document bytes
       48      8   document hash (tfm_hash64 of its bytes, seed 0)
       56      4   model path length, 60: document path length (bytes, at most 4096 each)
       64      8   vectors offset (a multiple of 64)
       72      8   spans offset (a multiple of 8)
       80      8   payload hash: tfm_hash64 of the paths, then of the vectors, then of the spans, each
                   seeded with the one before (seed 0 first)
       88      8   header hash: tfm_hash64 of bytes 0..87 (seed 0)
       96          model path, document path, zeros up to the vectors; vectors f32 [count][dim]; zeros up
                   to the spans; spans u64 [count][2]: passage i is document bytes [start, end). The file
                   ends there.
     The writer writes a temporary file beside the target and renames it into place, so a failed write
     leaves an existing index untouched (tfm_file_writer); it refuses to write over the model or the
     document the index names.

   THREADS AND MEMORY
     tfm_embed_search spreads the gemv over n_threads (<= 0: tfm_default_threads()); scores may be a
     caller's buffer of count floats (else it is allocated per call). The index is mapped (or read) once;
     its vectors are searched in place.
*/
#ifndef TFM_EMBED_H
#define TFM_EMBED_H

#include "tfm_model.h"
#include "tfm_tensor.h"
#include "tfm_tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a text's token vectors become one vector. Values are GGUF's {arch}.pooling_type (llama.cpp's). */
typedef enum tfm_pooling {
    TFM_POOLING_DEFAULT = -1, /* what the model file says; else mean for an encoder, last for a decoder */
    TFM_POOLING_NONE = 0,     /* no pooling: one vector a token */
    TFM_POOLING_MEAN = 1,     /* the mean over the tokens ([CLS] and [SEP] included, as llama.cpp) */
    TFM_POOLING_CLS = 2,      /* the first token's vector */
    TFM_POOLING_LAST = 3      /* the last token's vector */
} tfm_pooling;

/* "default", "none", "mean", "cls", "last"; NULL for a value outside the enum. */
TFM_API const char *tfm_pooling_name(tfm_pooling pooling);
/* The pooling a name above names; TFM_ERR_INVALID_ARGUMENT (and *out unchanged) for anything else. */
TFM_API tfm_status tfm_pooling_parse(const char *name, tfm_pooling *out);

/* out[dim] = the pooling of hidden[n_tokens][dim] (rows dim floats apart): MEAN, CLS or LAST (NONE and
   DEFAULT are not a pooling of rows: TFM_ERR_INVALID_ARGUMENT). */
TFM_API tfm_status tfm_embed_pool(float *out, const float *hidden, int n_tokens, int dim, tfm_pooling pooling);
/* x /= |x| (the sum of squares in double); an all-zero vector stays zero. */
TFM_API void tfm_embed_normalize(float *x, size_t n);
/* a.b / (|a| |b|) in double; 0 when either vector is zero. */
TFM_API float tfm_embed_cosine(const float *a, const float *b, size_t n);

/* ---------------------------------------------------------------- embedding with a model */

/* The pooling a model's embeddings use when the caller leaves it to the file: the file's
   {arch}.pooling_type when it names one (mean, cls or last), else mean for an encoder, last for a decoder
   (the final hidden state of the last token has seen the whole text). */
TFM_API tfm_pooling tfm_embed_default_pooling(const tfm_model *model);
/* Embeds n token sequences (each with its special tokens: tfm_tokenize's TFM_TOKENIZE_ADD_SPECIAL) through
   tfm_encode and pools each one's final hidden states: out receives one vector of dim floats a sequence
   (MEAN, CLS, LAST; DEFAULT: tfm_embed_default_pooling), or with NONE one a token (n_tokens[0] + ... rows),
   each L2-normalised when normalize. The same vector for a sequence alone or in any batch, with any thread
   count (tfm_encode). Allocates the hidden states of the n sequences for the call. */
TFM_API tfm_status tfm_embed_tokens(tfm_context *ctx, const int *const *tokens, const int *n_tokens, int n,
                                    tfm_pooling pooling, int normalize, float *out, tfm_error *err);
/* The same for n texts through the model's own vocab (tfm_model_tokenizer), special tokens added as the
   vocab says ([CLS] ... [SEP], BOS): out[n][dim], one vector a text (pooling NONE is refused: use
   tfm_embed_tokens). lens may be NULL (NUL-terminated texts). A text longer than the context is
   TFM_ERR_CONTEXT_FULL naming it and its length: nothing is cut. */
TFM_API tfm_status tfm_embed_texts(tfm_context *ctx, const char *const *texts, const size_t *lens, int n,
                                   tfm_pooling pooling, int normalize, float *out, tfm_error *err);

/* ---------------------------------------------------------------- search */

typedef struct tfm_embed_hit {
    int index;   /* row of the matrix */
    float score; /* its dot product with the query */
} tfm_embed_hit;

/* The min(k, count) rows of vectors[count][dim] with the largest dot products with query[dim], best
   first (ties: the lower row; NaN scores last), into hits. scores: count floats of scratch, or NULL to
   allocate them here; they hold every row's score afterwards. *n_hits = min(k, count). */
TFM_API tfm_status tfm_embed_search(const float *vectors, int count, int dim, const float *query, int k, float *scores,
                                    tfm_embed_hit *hits, int *n_hits, int n_threads);

/* ---------------------------------------------------------------- passages */

/* Cuts a document into passages for retrieval: its paragraphs (runs of lines between blank lines),
   and each paragraph of more than max_tokens tokens (tok's count of the text alone, no special tokens)
   cut into consecutive pieces of at most max_tokens tokens: at sentence ends (., ! or ? before a space,
   or a line end), a sentence too long at spaces, a word too long between characters. Every piece is as
   long as the budget allows. *spans (allocated here; free it with tfm_embed_free) gets 2 * *count
   offsets: passage i is text bytes [spans[2i], spans[2i+1]), without leading or trailing whitespace; a
   text of only whitespace has no passages (*spans NULL). max_tokens >= 8 (a character may take 4 byte
   tokens). */
TFM_API tfm_status tfm_embed_passages(const tfm_tokenizer *tok, const char *text, size_t len, int max_tokens,
                                      uint64_t **spans, int *count, tfm_error *err);
/* Frees what tfm_embed_passages allocated (TFM_FREE). */
TFM_API void tfm_embed_free(void *p);

/* ---------------------------------------------------------------- index file */

#define TFM_EMBED_INDEX_MAX_PATH 4096

/* An index: what the writer takes and the loader gives. Loaded, every pointer points into the mapped
   file (paths NUL-terminated copies) and lives until tfm_embed_index_free. */
typedef struct tfm_embed_index {
    int dim;
    int count;                  /* passages */
    tfm_pooling pooling;        /* how the vectors were pooled */
    int normalized;             /* 1: unit vectors (scores are cosines) */
    uint64_t model_fingerprint; /* tfm_model_fingerprint of the model that embedded them */
    const char *model_path;     /* the model file as the writer named it (may be "" ) */
    const char *document_path;  /* the document the spans point into (may be "") */
    uint64_t document_bytes;    /* its size and tfm_hash64 (seed 0), to tell a changed document */
    uint64_t document_hash;
    const float *vectors;       /* [count][dim] */
    const uint64_t *spans;      /* [count][2]: passage i is document bytes [spans[2i], spans[2i+1]) */
    /* owned by a loaded index */
    tfm_file_map file;
    char *paths;
} tfm_embed_index;

/* Writes index (dim, count >= 1, pooling, normalized, fingerprint, paths (NULL: ""), document bytes and
   hash, vectors, spans each within the document) to path, through a temporary file renamed into place
   (tfm_file_writer): never over the model or the document it names. */
TFM_API tfm_status tfm_embed_index_write(const char *path, const tfm_embed_index *index, tfm_error *err);
/* Loads and checks an index file: a file that is not an index, of another version, truncated, with
   inconsistent fields or a checksum that does not match is TFM_ERR_FORMAT with the reason in err. */
TFM_API tfm_status tfm_embed_index_load(tfm_embed_index *index, const char *path, tfm_error *err);
TFM_API void tfm_embed_index_free(tfm_embed_index *index);

#ifdef __cplusplus
}
#endif

#endif /* TFM_EMBED_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_EMBED_IMPLEMENTATION_DONE)
#define TFM_EMBED_IMPLEMENTATION_DONE

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- pooling and similarity */

const char *tfm_pooling_name(tfm_pooling pooling)
{
    switch (pooling) {
    case TFM_POOLING_DEFAULT: return "default";
    case TFM_POOLING_NONE: return "none";
    case TFM_POOLING_MEAN: return "mean";
    case TFM_POOLING_CLS: return "cls";
    case TFM_POOLING_LAST: return "last";
    }
    return NULL;
}

tfm_status tfm_pooling_parse(const char *name, tfm_pooling *out)
{
    int p;
    if (!name || !out) return TFM_ERR_INVALID_ARGUMENT;
    for (p = TFM_POOLING_DEFAULT; p <= TFM_POOLING_LAST; p++)
        if (strcmp(name, tfm_pooling_name((tfm_pooling)p)) == 0) {
            *out = (tfm_pooling)p;
            return TFM_OK;
        }
    return TFM_ERR_INVALID_ARGUMENT;
}

tfm_status tfm_embed_pool(float *out, const float *hidden, int n_tokens, int dim, tfm_pooling pooling)
{
    enum { COLUMNS = 64 };
    double sum[COLUMNS];
    int c0, c, t;
    if (!out || !hidden || n_tokens <= 0 || dim <= 0) return TFM_ERR_INVALID_ARGUMENT;
    switch (pooling) {
    case TFM_POOLING_CLS: memmove(out, hidden, sizeof(float) * (size_t)dim); return TFM_OK;
    case TFM_POOLING_LAST:
        memmove(out, hidden + (size_t)(n_tokens - 1) * (size_t)dim, sizeof(float) * (size_t)dim);
        return TFM_OK;
    case TFM_POOLING_MEAN: break;
    default: return TFM_ERR_INVALID_ARGUMENT;
    }
    /* a band of columns at a time, summed token by token down the rows */
    for (c0 = 0; c0 < dim; c0 += COLUMNS) {
        int width = dim - c0 < COLUMNS ? dim - c0 : COLUMNS;
        for (c = 0; c < width; c++) sum[c] = 0;
        for (t = 0; t < n_tokens; t++) {
            const float *row = hidden + (size_t)t * (size_t)dim + c0;
            for (c = 0; c < width; c++) sum[c] += (double)row[c];
        }
        for (c = 0; c < width; c++) out[c0 + c] = (float)(sum[c] / (double)n_tokens);
    }
    return TFM_OK;
}

void tfm_embed_normalize(float *x, size_t n)
{
    double sum = 0, scale;
    size_t i;
    if (!x) return;
    for (i = 0; i < n; i++) sum += (double)x[i] * (double)x[i];
    scale = sum > 0 ? 1.0 / sqrt(sum) : 0.0;
    for (i = 0; i < n; i++) x[i] = (float)((double)x[i] * scale);
}

float tfm_embed_cosine(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    size_t i;
    if (!a || !b) return 0.0f;
    for (i = 0; i < n; i++) {
        ab += (double)a[i] * (double)b[i];
        aa += (double)a[i] * (double)a[i];
        bb += (double)b[i] * (double)b[i];
    }
    return aa > 0 && bb > 0 ? (float)(ab / (sqrt(aa) * sqrt(bb))) : 0.0f;
}

/* ---------------------------------------------------------------- embedding with a model */

tfm_pooling tfm_embed_default_pooling(const tfm_model *model)
{
    if (!model) return TFM_POOLING_MEAN;
    if (model->config.pooling >= TFM_POOLING_MEAN && model->config.pooling <= TFM_POOLING_LAST)
        return (tfm_pooling)model->config.pooling;
    return model->config.bidirectional ? TFM_POOLING_MEAN : TFM_POOLING_LAST;
}

tfm_status tfm_embed_tokens(tfm_context *ctx, const int *const *tokens, const int *n_tokens, int n, tfm_pooling pooling,
                            int normalize, float *out, tfm_error *err)
{
    size_t dim, rows = 0, at = 0;
    float *hidden;
    tfm_status s;
    int i;
    tfm_error_clear(err);
    if (!ctx || !tokens || !n_tokens || n <= 0 || !out)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_embed_tokens: no context, no sequences or no output");
    if (pooling == TFM_POOLING_DEFAULT) pooling = tfm_embed_default_pooling(tfm_context_model(ctx));
    if (!tfm_pooling_name(pooling))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_embed_tokens: unknown pooling %d", (int)pooling);
    for (i = 0; i < n; i++) {
        if (n_tokens[i] <= 0) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_embed_tokens: sequence %d is empty", i);
        rows += (size_t)n_tokens[i];
    }
    dim = (size_t)tfm_context_model(ctx)->config.dim;
    if (pooling == TFM_POOLING_NONE) {
        s = tfm_encode(ctx, tokens, n_tokens, n, out, err);
        for (i = 0; s == TFM_OK && normalize && (size_t)i < rows; i++) tfm_embed_normalize(out + (size_t)i * dim, dim);
        return s;
    }
    if (rows > SIZE_MAX / sizeof(float) / dim || !(hidden = (float *)TFM_MALLOC(sizeof(float) * rows * dim)))
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for the hidden states of %zu tokens", rows);
    s = tfm_encode(ctx, tokens, n_tokens, n, hidden, err);
    for (i = 0; s == TFM_OK && i < n; i++) {
        float *vec = out + (size_t)i * dim;
        s = tfm_embed_pool(vec, hidden + at * dim, n_tokens[i], (int)dim, pooling);
        if (normalize) tfm_embed_normalize(vec, dim);
        at += (size_t)n_tokens[i];
    }
    TFM_FREE(hidden);
    return s;
}

tfm_status tfm_embed_texts(tfm_context *ctx, const char *const *texts, const size_t *lens, int n, tfm_pooling pooling,
                           int normalize, float *out, tfm_error *err)
{
    const tfm_tokenizer *tok = ctx ? tfm_model_tokenizer(tfm_context_model(ctx)) : NULL;
    int **ids = NULL, *counts = NULL, i;
    tfm_status s = TFM_OK;
    tfm_error_clear(err);
    if (!ctx || !texts || n <= 0 || !out)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_embed_texts: no context, no texts or no output");
    if (!tok) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_embed_texts: the model has no vocab");
    if (pooling == TFM_POOLING_NONE)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_embed_texts: pooling none gives one vector a token: "
                                                            "use tfm_embed_tokens");
    ids = (int **)TFM_MALLOC(sizeof(int *) * (size_t)n);
    counts = (int *)TFM_MALLOC(sizeof(int) * (size_t)n);
    if (!ids || !counts) s = tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for %d texts", n);
    if (ids) memset(ids, 0, sizeof(int *) * (size_t)n);
    for (i = 0; i < n && s == TFM_OK; i++) {
        size_t len = lens ? lens[i] : texts[i] ? strlen(texts[i]) : 0;
        int got = 0;
        if (!texts[i]) {
            s = tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "text %d is NULL", i);
            break;
        }
        s = tfm_tokenize(tok, texts[i], len, TFM_TOKENIZE_ADD_SPECIAL, NULL, 0, &got, err);
        if (s == TFM_OK && got == 0) s = tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "text %d has no tokens", i);
        if (s == TFM_OK && got > tfm_context_length(ctx))
            s = tfm_error_set(err, TFM_ERR_CONTEXT_FULL, "text %d has %d tokens, more than the context's %d", i, got,
                              tfm_context_length(ctx));
        if (s == TFM_OK && !(ids[i] = (int *)TFM_MALLOC(sizeof(int) * (size_t)got)))
            s = tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
        if (s == TFM_OK) s = tfm_tokenize(tok, texts[i], len, TFM_TOKENIZE_ADD_SPECIAL, ids[i], got, &counts[i], err);
    }
    if (s == TFM_OK) s = tfm_embed_tokens(ctx, (const int *const *)ids, counts, n, pooling, normalize, out, err);
    for (i = 0; ids && i < n; i++) TFM_FREE(ids[i]);
    TFM_FREE(ids);
    TFM_FREE(counts);
    return s;
}

/* ---------------------------------------------------------------- checksums */

static uint64_t tfm__embed_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
           (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* ---------------------------------------------------------------- search */

/* a worse than b: a lower score, or the same score at a later row; NaN is worse than anything */
static int tfm__embed_worse(const tfm_embed_hit *a, const tfm_embed_hit *b)
{
    int a_nan = a->score != a->score, b_nan = b->score != b->score;
    if (a_nan || b_nan) return a_nan && (!b_nan || a->index > b->index);
    if (a->score != b->score) return a->score < b->score;
    return a->index > b->index;
}

/* restores the min-heap (the worst hit at the root) below slot i */
static void tfm__embed_sift_down(tfm_embed_hit *heap, int n, int i)
{
    for (;;) {
        int worst = i, l = 2 * i + 1, r = 2 * i + 2;
        tfm_embed_hit tmp;
        if (l < n && tfm__embed_worse(&heap[l], &heap[worst])) worst = l;
        if (r < n && tfm__embed_worse(&heap[r], &heap[worst])) worst = r;
        if (worst == i) return;
        tmp = heap[i], heap[i] = heap[worst], heap[worst] = tmp;
        i = worst;
    }
}

tfm_status tfm_embed_search(const float *vectors, int count, int dim, const float *query, int k, float *scores,
                            tfm_embed_hit *hits, int *n_hits, int n_threads)
{
    float *own = NULL;
    tfm_status s;
    int i, n;
    if (n_hits) *n_hits = 0;
    if (!vectors || !query || !hits || !n_hits || count <= 0 || dim <= 0 || k <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!scores) {
        own = (float *)TFM_MALLOC(sizeof(float) * (size_t)count);
        if (!own) return TFM_ERR_OUT_OF_MEMORY;
        scores = own;
    }
    s = tfm_gemv(scores, TFM_F32, vectors, query, count, dim, n_threads);
    if (s == TFM_OK) {
        /* the best k so far in a min-heap of k: a row enters when it beats the worst of them */
        n = k < count ? k : count;
        for (i = 0; i < count; i++) {
            tfm_embed_hit h;
            h.index = i;
            h.score = scores[i];
            if (i < n) {
                int j = i;
                hits[j] = h;
                while (j > 0 && tfm__embed_worse(&hits[j], &hits[(j - 1) / 2])) {
                    tfm_embed_hit tmp = hits[j];
                    hits[j] = hits[(j - 1) / 2], hits[(j - 1) / 2] = tmp;
                    j = (j - 1) / 2;
                }
            } else if (tfm__embed_worse(&hits[0], &h)) {
                hits[0] = h;
                tfm__embed_sift_down(hits, n, 0);
            }
        }
        /* heap order to best first: take the worst out to the end, n times */
        for (i = n - 1; i > 0; i--) {
            tfm_embed_hit tmp = hits[0];
            hits[0] = hits[i], hits[i] = tmp;
            tfm__embed_sift_down(hits, i, 0);
        }
        *n_hits = n;
    }
    TFM_FREE(own);
    return s;
}

/* ---------------------------------------------------------------- passages */

enum { TFM__SPLIT_SENTENCE, TFM__SPLIT_WORD, TFM__SPLIT_CHAR };

/* The passages found so far, and the one being gathered: from `start`, its atoms (sentences, or the
   words or characters of one too long), their ends and token counts. */
typedef struct tfm__split {
    const tfm_tokenizer *tok;
    const char *text;
    int budget;
    uint64_t *spans;
    int count, cap;
    size_t start;
    size_t *atom_end;
    int *atom_tokens;
    int n_atoms, atoms_cap;
    long sum; /* the atoms' counts summed */
    tfm_status status;
} tfm__split;

static int tfm__embed_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static void tfm__embed_trim(const char *text, size_t *a, size_t *b)
{
    while (*a < *b && tfm__embed_space(text[*a])) (*a)++;
    while (*b > *a && tfm__embed_space(text[*b - 1])) (*b)--;
}

/* tokens of text [a, b) without its surrounding whitespace; INT_MAX after an error */
static int tfm__split_tokens(tfm__split *sp, size_t a, size_t b)
{
    int n = 0;
    tfm_status s;
    tfm__embed_trim(sp->text, &a, &b);
    if (a == b || sp->status != TFM_OK) return sp->status == TFM_OK ? 0 : INT_MAX;
    s = tfm_tokenizer_encode(sp->tok, sp->text + a, b - a, 0, 0, NULL, 0, &n);
    if (s != TFM_OK) {
        sp->status = s;
        return INT_MAX;
    }
    return n;
}

static void tfm__split_emit(tfm__split *sp, size_t a, size_t b)
{
    tfm__embed_trim(sp->text, &a, &b);
    if (a == b || sp->status != TFM_OK) return;
    if (sp->count == sp->cap) {
        int cap = sp->cap ? 2 * sp->cap : 64;
        uint64_t *grown = cap > sp->cap ? (uint64_t *)TFM_REALLOC(sp->spans, sizeof(uint64_t) * 2 * (size_t)cap) : NULL;
        if (!grown) {
            sp->status = TFM_ERR_OUT_OF_MEMORY;
            return;
        }
        sp->spans = grown;
        sp->cap = cap;
    }
    sp->spans[2 * sp->count] = a;
    sp->spans[2 * sp->count + 1] = b;
    sp->count++;
}

/* the end of the unit of `level` that starts at a (its trailing whitespace included), at most b: a
   sentence ends at a line end or at . ! ? (and closing quotes or brackets) before whitespace */
static size_t tfm__split_unit(const char *text, size_t a, size_t b, int level)
{
    size_t i = a;
    if (level == TFM__SPLIT_CHAR) {
        i++;
        while (i < b && ((unsigned char)text[i] & 0xC0) == 0x80) i++;
    } else if (level == TFM__SPLIT_WORD) {
        while (i < b && tfm__embed_space(text[i])) i++;
        while (i < b && !tfm__embed_space(text[i])) i++;
    } else {
        for (; i < b; i++) {
            char c = text[i];
            size_t j = i + 1;
            if (c == '\n') break;
            if (c != '.' && c != '!' && c != '?') continue;
            while (j < b && (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == ']')) j++;
            if (j == b || tfm__embed_space(text[j])) {
                i = j;
                break;
            }
        }
    }
    while (i < b && tfm__embed_space(text[i])) i++;
    return i;
}

/* Emits a passage of the atoms gathered: all of them when their exact count fits (the atoms' counts
   summed may differ from the whole's by a merge across them), else the longest run from the first that
   fits (one atom fits alone); the atoms after it stay gathered. */
static void tfm__split_close(tfm__split *sp)
{
    int keep = sp->n_atoms, i;
    if (keep == 0 || sp->status != TFM_OK) return;
    while (keep > 1 && tfm__split_tokens(sp, sp->start, sp->atom_end[keep - 1]) > sp->budget) keep--;
    tfm__split_emit(sp, sp->start, sp->atom_end[keep - 1]);
    sp->start = sp->atom_end[keep - 1];
    for (i = 0; i < keep; i++) sp->sum -= sp->atom_tokens[i];
    sp->n_atoms -= keep;
    memmove(sp->atom_end, sp->atom_end + keep, sizeof(size_t) * (size_t)sp->n_atoms);
    memmove(sp->atom_tokens, sp->atom_tokens + keep, sizeof(int) * (size_t)sp->n_atoms);
}

/* the atom [start of the next, end) of n tokens joins the passage, which is emitted first if full */
static void tfm__split_feed(tfm__split *sp, size_t begin, size_t end, int n)
{
    while (sp->n_atoms > 0 && sp->sum + n > sp->budget && sp->status == TFM_OK) tfm__split_close(sp);
    if (sp->n_atoms == 0) sp->start = begin, sp->sum = 0;
    if (sp->n_atoms == sp->atoms_cap) {
        int cap = sp->atoms_cap ? 2 * sp->atoms_cap : 64;
        size_t *ends = (size_t *)TFM_REALLOC(sp->atom_end, sizeof(size_t) * (size_t)cap);
        int *tokens = ends ? (int *)TFM_REALLOC(sp->atom_tokens, sizeof(int) * (size_t)cap) : NULL;
        if (ends) sp->atom_end = ends;
        if (!tokens) {
            sp->status = TFM_ERR_OUT_OF_MEMORY;
            return;
        }
        sp->atom_tokens = tokens;
        sp->atoms_cap = cap;
    }
    sp->atom_end[sp->n_atoms] = end;
    sp->atom_tokens[sp->n_atoms++] = n;
    sp->sum += n;
}

/* [a, b) as atoms of `level`; an atom over the budget alone is cut at the next level */
static void tfm__split_atoms(tfm__split *sp, size_t a, size_t b, int level)
{
    size_t u0 = a;
    while (u0 < b && sp->status == TFM_OK) {
        size_t u1 = tfm__split_unit(sp->text, u0, b, level);
        int n = tfm__split_tokens(sp, u0, u1);
        if (n <= sp->budget) tfm__split_feed(sp, u0, u1, n);
        else if (level < TFM__SPLIT_CHAR) tfm__split_atoms(sp, u0, u1, level + 1);
        else sp->status = TFM_ERR_OUT_OF_RANGE; /* a budget of 8 holds any one character */
        u0 = u1;
    }
}

tfm_status tfm_embed_passages(const tfm_tokenizer *tok, const char *text, size_t len, int max_tokens, uint64_t **spans,
                              int *count, tfm_error *err)
{
    tfm__split sp;
    size_t i = 0;
    tfm_error_clear(err);
    if (spans) *spans = NULL;
    if (count) *count = 0;
    if (!tok || (!text && len) || !spans || !count || max_tokens < 8)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "passages: no tokenizer, text or output, or a budget "
                                                            "under 8 tokens (%d)", max_tokens);
    memset(&sp, 0, sizeof sp);
    sp.tok = tok;
    sp.text = text;
    sp.budget = max_tokens;
    while (i < len && sp.status == TFM_OK) {
        /* a paragraph: lines up to the next line of only whitespace */
        size_t start = i, end = i;
        for (;;) {
            size_t line = i;
            int blank = 1;
            while (i < len && text[i] != '\n') blank &= tfm__embed_space(text[i++]);
            if (i < len) i++;
            if (blank && line > start) break;
            if (blank) start = i; /* blank lines before the paragraph */
            else end = i;
            if (i >= len) break;
        }
        if (end > start && tfm__split_tokens(&sp, start, end) <= sp.budget) tfm__split_emit(&sp, start, end);
        else if (end > start) {
            tfm__split_atoms(&sp, start, end, TFM__SPLIT_SENTENCE);
            while (sp.n_atoms > 0 && sp.status == TFM_OK) tfm__split_close(&sp);
        }
    }
    TFM_FREE(sp.atom_end);
    TFM_FREE(sp.atom_tokens);
    if (sp.status != TFM_OK) {
        TFM_FREE(sp.spans);
        return tfm_error_set(err, sp.status, "passages: %s", tfm_status_string(sp.status));
    }
    *spans = sp.spans;
    *count = sp.count;
    return TFM_OK;
}

void tfm_embed_free(void *p) { TFM_FREE(p); }

/* ---------------------------------------------------------------- index file */

#define TFM__EMBED_INDEX_HEADER 96
#define TFM__EMBED_INDEX_VERSION 1

static void tfm__embed_put32(unsigned char *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void tfm__embed_put64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t tfm__embed_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* an index holds one vector a passage: pooled */
/* an int, not a tfm_pooling: a file's value outside the enum's range must not become one (undefined in C++) */
static int tfm__embed_index_pooling(int32_t p)
{
    return p == TFM_POOLING_MEAN || p == TFM_POOLING_CLS || p == TFM_POOLING_LAST;
}

static int tfm__embed_little_endian(void)
{
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 1;
}

/* Where the parts of an index of this shape go; 0 when the sizes overflow. */
typedef struct tfm__embed_layout {
    uint64_t paths, vectors, vector_bytes, spans, end;
} tfm__embed_layout;

static int tfm__embed_layout_of(tfm__embed_layout *l, uint64_t dim, uint64_t count, uint64_t model_len, uint64_t doc_len)
{
    if (dim == 0 || count == 0 || dim > (1u << 24) || count > 0x7FFFFFFFu) return 0;
    l->paths = TFM__EMBED_INDEX_HEADER;
    l->vectors = (l->paths + model_len + doc_len + 63) / 64 * 64;
    l->vector_bytes = dim * count * 4; /* below 2^57: no overflow */
    l->spans = (l->vectors + l->vector_bytes + 7) / 8 * 8;
    l->end = l->spans + count * 16;
    return 1;
}

static tfm_status tfm__embed_write_zeros(FILE *f, uint64_t n)
{
    static const unsigned char zeros[64] = {0};
    while (n > 0) {
        size_t part = n < sizeof zeros ? (size_t)n : sizeof zeros;
        if (fwrite(zeros, 1, part, f) != part) return TFM_ERR_IO;
        n -= part;
    }
    return TFM_OK;
}

tfm_status tfm_embed_index_write(const char *path, const tfm_embed_index *index, tfm_error *err)
{
    unsigned char header[TFM__EMBED_INDEX_HEADER];
    const char *model_path, *doc_path;
    size_t model_len, doc_len;
    tfm__embed_layout l;
    uint64_t payload, i;
    tfm_file_writer out;
    tfm_file_id inputs[2];
    FILE *f;
    tfm_status s = TFM_OK;
    tfm_error_clear(err);
    if (!path || !index || !index->vectors || !index->spans)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "index write: no path, index, vectors or spans");
    if (!tfm__embed_little_endian())
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "index files are little-endian; this machine is not");
    model_path = index->model_path ? index->model_path : "";
    doc_path = index->document_path ? index->document_path : "";
    model_len = strlen(model_path);
    doc_len = strlen(doc_path);
    if (model_len > TFM_EMBED_INDEX_MAX_PATH || doc_len > TFM_EMBED_INDEX_MAX_PATH)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "index write: a path longer than %d bytes",
                             TFM_EMBED_INDEX_MAX_PATH);
    if (index->dim <= 0 || index->count <= 0 ||
        !tfm__embed_layout_of(&l, (uint64_t)index->dim, (uint64_t)index->count, model_len, doc_len))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "index write: dim %d and count %d must be positive "
                             "(dim at most 2^24)", index->dim, index->count);
    if (!tfm__embed_index_pooling((int32_t)index->pooling))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "index write: pooling %d is not mean, cls or last",
                             (int)index->pooling);
    for (i = 0; i < (uint64_t)index->count; i++)
        if (index->spans[2 * i] > index->spans[2 * i + 1] || index->spans[2 * i + 1] > index->document_bytes)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                                 "index write: passage %llu spans bytes %llu..%llu of a %llu-byte document",
                                 (unsigned long long)i, (unsigned long long)index->spans[2 * i],
                                 (unsigned long long)index->spans[2 * i + 1], (unsigned long long)index->document_bytes);

    payload = tfm_hash64(model_path, model_len, 0);
    payload = tfm_hash64(doc_path, doc_len, payload);
    payload = tfm_hash64(index->vectors, (size_t)l.vector_bytes, payload);
    payload = tfm_hash64(index->spans, (size_t)index->count * 16, payload);
    memset(header, 0, sizeof header);
    memcpy(header, "TFMINDEX", 8);
    tfm__embed_put32(header + 8, TFM__EMBED_INDEX_VERSION);
    tfm__embed_put32(header + 12, (uint32_t)index->dim);
    tfm__embed_put64(header + 16, (uint64_t)index->count);
    tfm__embed_put64(header + 24, index->model_fingerprint);
    tfm__embed_put32(header + 32, (uint32_t)(int32_t)index->pooling);
    tfm__embed_put32(header + 36, index->normalized ? 1u : 0u);
    tfm__embed_put64(header + 40, index->document_bytes);
    tfm__embed_put64(header + 48, index->document_hash);
    tfm__embed_put32(header + 56, (uint32_t)model_len);
    tfm__embed_put32(header + 60, (uint32_t)doc_len);
    tfm__embed_put64(header + 64, l.vectors);
    tfm__embed_put64(header + 72, l.spans);
    tfm__embed_put64(header + 80, payload);
    tfm__embed_put64(header + 88, tfm_hash64(header, 88, 0));

    /* through a temporary file renamed into place; never over the model or the document it indexes */
    inputs[0] = tfm_file_identify(index->model_path);
    inputs[1] = tfm_file_identify(index->document_path);
    if ((s = tfm_file_writer_open(&out, path, inputs, 2, err)) != TFM_OK) return s;
    f = out.f;
    if (fwrite(header, 1, sizeof header, f) != sizeof header || fwrite(model_path, 1, model_len, f) != model_len ||
        fwrite(doc_path, 1, doc_len, f) != doc_len)
        s = TFM_ERR_IO;
    if (s == TFM_OK) s = tfm__embed_write_zeros(f, l.vectors - (TFM__EMBED_INDEX_HEADER + model_len + doc_len));
    if (s == TFM_OK && fwrite(index->vectors, 1, (size_t)l.vector_bytes, f) != (size_t)l.vector_bytes) s = TFM_ERR_IO;
    if (s == TFM_OK) s = tfm__embed_write_zeros(f, l.spans - (l.vectors + l.vector_bytes));
    if (s == TFM_OK && fwrite(index->spans, 16, (size_t)index->count, f) != (size_t)index->count) s = TFM_ERR_IO;
    if (s != TFM_OK) {
        tfm_file_writer_abort(&out);
        return tfm_error_set(err, s, "writing '%s' failed (disk full?)", path);
    }
    return tfm_file_writer_commit(&out, err);
}

/* the checks of a mapped index, in the order a reader needs them */
static tfm_status tfm__embed_index_parse(tfm_embed_index *index, const unsigned char *p, size_t size, tfm_error *err)
{
    uint64_t count, model_len, doc_len, vectors, spans, payload, i;
    uint32_t version, dim, pooling, flags;
    tfm__embed_layout l;
    if (size < 8 || memcmp(p, "TFMINDEX", 8) != 0) return tfm_error_set(err, TFM_ERR_FORMAT, "not a tfm index file");
    if (size < TFM__EMBED_INDEX_HEADER)
        return tfm_error_set(err, TFM_ERR_FORMAT, "truncated index: %zu bytes, the header alone is %d", size,
                             TFM__EMBED_INDEX_HEADER);
    version = tfm__embed_le32(p + 8);
    if (version != TFM__EMBED_INDEX_VERSION)
        return tfm_error_set(err, TFM_ERR_FORMAT, "index version %lu, this tfm reads version %d", (unsigned long)version,
                             TFM__EMBED_INDEX_VERSION);
    if (tfm_hash64(p, 88, 0) != tfm__embed_le64(p + 88))
        return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted index: the header's checksum does not match");
    dim = tfm__embed_le32(p + 12);
    count = tfm__embed_le64(p + 16);
    pooling = tfm__embed_le32(p + 32);
    flags = tfm__embed_le32(p + 36);
    model_len = tfm__embed_le32(p + 56);
    doc_len = tfm__embed_le32(p + 60);
    vectors = tfm__embed_le64(p + 64);
    spans = tfm__embed_le64(p + 72);
    payload = tfm__embed_le64(p + 80);
    if (model_len > TFM_EMBED_INDEX_MAX_PATH || doc_len > TFM_EMBED_INDEX_MAX_PATH ||
        !tfm__embed_layout_of(&l, dim, count, model_len, doc_len) || vectors != l.vectors || spans != l.spans ||
        !tfm__embed_index_pooling((int32_t)pooling) || flags > 1)
        return tfm_error_set(err, TFM_ERR_FORMAT, "bad index header (dim %lu, count %llu, pooling %ld, flags %lu)",
                             (unsigned long)dim, (unsigned long long)count, (long)(int32_t)pooling,
                             (unsigned long)flags);
    if (l.end != size)
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s index: %llu passages of %lu floats make %llu bytes, the file has %zu",
                             l.end > size ? "truncated" : "trailing bytes in the", (unsigned long long)count,
                             (unsigned long)dim, (unsigned long long)l.end, size);
    for (i = l.paths + model_len + doc_len; i < l.vectors; i++)
        if (p[i]) return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted index: nonzero padding at byte %llu", (unsigned long long)i);
    for (i = l.vectors + l.vector_bytes; i < l.spans; i++)
        if (p[i]) return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted index: nonzero padding at byte %llu", (unsigned long long)i);
    {
        uint64_t h = tfm_hash64(p + l.paths, (size_t)model_len, 0);
        h = tfm_hash64(p + l.paths + model_len, (size_t)doc_len, h);
        h = tfm_hash64(p + l.vectors, (size_t)l.vector_bytes, h);
        h = tfm_hash64(p + l.spans, (size_t)count * 16, h);
        if (h != payload)
            return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted index: the checksum of its vectors and spans does not match");
    }
    index->dim = (int)dim;
    index->count = (int)count;
    index->pooling = (tfm_pooling)(int32_t)pooling;
    index->normalized = (int)(flags & 1);
    index->model_fingerprint = tfm__embed_le64(p + 24);
    index->document_bytes = tfm__embed_le64(p + 40);
    index->document_hash = tfm__embed_le64(p + 48);
    index->vectors = (const float *)(const void *)(p + l.vectors);
    index->spans = (const uint64_t *)(const void *)(p + l.spans);
    for (i = 0; i < count; i++)
        if (index->spans[2 * i] > index->spans[2 * i + 1] || index->spans[2 * i + 1] > index->document_bytes)
            return tfm_error_set(err, TFM_ERR_FORMAT, "bad index: passage %llu spans bytes %llu..%llu of a %llu-byte document",
                                 (unsigned long long)i, (unsigned long long)index->spans[2 * i],
                                 (unsigned long long)index->spans[2 * i + 1], (unsigned long long)index->document_bytes);
    index->paths = (char *)TFM_MALLOC((size_t)(model_len + doc_len + 2));
    if (!index->paths) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(index->paths, p + l.paths, (size_t)model_len);
    index->paths[model_len] = 0;
    memcpy(index->paths + model_len + 1, p + l.paths + model_len, (size_t)doc_len);
    index->paths[model_len + 1 + doc_len] = 0;
    index->model_path = index->paths;
    index->document_path = index->paths + model_len + 1;
    return TFM_OK;
}

tfm_status tfm_embed_index_load(tfm_embed_index *index, const char *path, tfm_error *err)
{
    tfm_status s;
    tfm_error_clear(err);
    if (!index || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "index load: no index or no path");
    memset(index, 0, sizeof *index);
    if (!tfm__embed_little_endian())
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "index files are little-endian; this machine is not");
    s = tfm_file_map_open(&index->file, path, TFM_FILE_MAP_DEFAULT, err);
    if (s == TFM_OK) {
        s = tfm__embed_index_parse(index, index->file.data, index->file.size, err);
        if (s != TFM_OK && err) {
            char message[sizeof err->message];
            memcpy(message, err->message, sizeof message);
            tfm_error_set(err, s, "%s: %s", path, message);
        }
    }
    if (s != TFM_OK) tfm_embed_index_free(index);
    return s;
}

void tfm_embed_index_free(tfm_embed_index *index)
{
    if (!index) return;
    tfm_file_map_close(&index->file);
    TFM_FREE(index->paths);
    memset(index, 0, sizeof *index);
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

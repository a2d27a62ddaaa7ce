/* Tests of tfm_embed.h: pooling, normalisation and cosine against float64 loops written here; search
   against a plain sort of every score; the index file written, read back and refused when corrupted,
   truncated or foreign; the model fingerprint. */
#include "tfm_test.h"
#include "tfm_embed.h"
#include "tfm_model.h"
#include "tfm_tokenizer.h"

static char tmp_path[1024]; /* beside the test binary, so concurrent configurations do not collide */

/* ---------------------------------------------------------------- pooling and similarity */

static void test_pooling_names(void)
{
    int p;
    tfm_pooling got = TFM_POOLING_NONE;
    for (p = TFM_POOLING_DEFAULT; p <= TFM_POOLING_LAST; p++) {
        TT_CHECK(tfm_pooling_name((tfm_pooling)p) != NULL);
        TT_CHECK(tfm_pooling_parse(tfm_pooling_name((tfm_pooling)p), &got) == TFM_OK && got == (tfm_pooling)p);
    }
    /* no pooling, but inside the enum's range of values (-4..3 for -1..3): 4 would be undefined in C++ */
    TT_CHECK(tfm_pooling_name((tfm_pooling)-4) == NULL && tfm_pooling_name((tfm_pooling)-2) == NULL);
    got = TFM_POOLING_CLS;
    TT_CHECK(tfm_pooling_parse("Mean", &got) == TFM_ERR_INVALID_ARGUMENT && got == TFM_POOLING_CLS);
    TT_CHECK(tfm_pooling_parse("", &got) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_pooling_parse(NULL, &got) == TFM_ERR_INVALID_ARGUMENT);
}

static void test_pooling(void)
{
    static const int tokens[] = {1, 2, 7, 33, 130};
    static const int dims[] = {1, 5, 64, 70, 387};
    size_t a, b;
    tt_seed(11);
    for (a = 0; a < sizeof tokens / sizeof tokens[0]; a++)
        for (b = 0; b < sizeof dims / sizeof dims[0]; b++) {
            int n = tokens[a], dim = dims[b], t, c;
            float *h = (float *)tt_alloc(sizeof(float) * (size_t)n * (size_t)dim);
            float *out = (float *)tt_alloc(sizeof(float) * (size_t)dim);
            tt_fill(h, (size_t)n * (size_t)dim, -3.0f, 3.0f);
            TT_CHECK(tfm_embed_pool(out, h, n, dim, TFM_POOLING_MEAN) == TFM_OK);
            for (c = 0; c < dim; c++) {
                double sum = 0;
                for (t = 0; t < n; t++) sum += h[(size_t)t * dim + c];
                TT_ASSERT(tt_close(out[c], sum / n, 1e-7, 1e-6), "mean n %d dim %d col %d: %g vs %g", n, dim, c,
                          out[c], sum / n);
            }
            TT_CHECK(tfm_embed_pool(out, h, n, dim, TFM_POOLING_CLS) == TFM_OK);
            TT_CHECK(memcmp(out, h, sizeof(float) * (size_t)dim) == 0);
            TT_CHECK(tfm_embed_pool(out, h, n, dim, TFM_POOLING_LAST) == TFM_OK);
            TT_CHECK(memcmp(out, h + (size_t)(n - 1) * dim, sizeof(float) * (size_t)dim) == 0);
            TT_CHECK(tfm_embed_pool(out, h, n, dim, TFM_POOLING_NONE) == TFM_ERR_INVALID_ARGUMENT);
            TT_CHECK(tfm_embed_pool(out, h, n, dim, TFM_POOLING_DEFAULT) == TFM_ERR_INVALID_ARGUMENT);
            TT_CHECK(tfm_embed_pool(out, h, 0, dim, TFM_POOLING_MEAN) == TFM_ERR_INVALID_ARGUMENT);
            TT_CHECK(tfm_embed_pool(NULL, h, n, dim, TFM_POOLING_MEAN) == TFM_ERR_INVALID_ARGUMENT);
            free(h);
            free(out);
        }
}

static void test_normalize_and_cosine(void)
{
    static const int sizes[] = {1, 3, 16, 17, 384, 1001};
    size_t s;
    tt_seed(12);
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s], i;
        float *x = (float *)tt_alloc(sizeof(float) * (size_t)n), *y = (float *)tt_alloc(sizeof(float) * (size_t)n);
        double xx = 0, yy = 0, xy = 0, norm;
        tt_fill(x, (size_t)n, -2.0f, 1.0f);
        tt_fill(y, (size_t)n, -1.0f, 2.0f);
        for (i = 0; i < n; i++) xx += (double)x[i] * x[i], yy += (double)y[i] * y[i], xy += (double)x[i] * y[i];
        TT_CHECK(tt_close(tfm_embed_cosine(x, y, (size_t)n), xy / sqrt(xx * yy), 1e-7, 1e-6));
        TT_CHECK(tt_close(tfm_embed_cosine(x, x, (size_t)n), 1.0, 1e-7, 0));
        norm = sqrt(xx);
        {
            float *want = (float *)tt_alloc(sizeof(float) * (size_t)n);
            double sum = 0;
            for (i = 0; i < n; i++) want[i] = (float)(x[i] / norm);
            tfm_embed_normalize(x, (size_t)n);
            for (i = 0; i < n; i++) {
                TT_ASSERT(tt_close(x[i], want[i], 1e-8, 1e-6), "n %d: x[%d] %g vs %g", n, i, x[i], want[i]);
                sum += (double)x[i] * x[i];
            }
            TT_CHECK(tt_close(sum, 1.0, 1e-6, 0));
            free(want);
        }
        for (i = 0; i < n; i++) x[i] = 0.0f;
        tfm_embed_normalize(x, (size_t)n);
        for (i = 0; i < n; i++) TT_CHECK(x[i] == 0.0f);
        TT_CHECK(tfm_embed_cosine(x, y, (size_t)n) == 0.0f);
        free(x);
        free(y);
    }
    tfm_embed_normalize(NULL, 3); /* no crash */
    TT_CHECK(tfm_embed_cosine(NULL, NULL, 3) == 0.0f);
}

/* ---------------------------------------------------------------- checksums */

static void test_hash(void)
{
    unsigned char buf[300];
    uint64_t seen[301];
    int n, m, i;
    for (i = 0; i < (int)sizeof buf; i++) buf[i] = (unsigned char)(i * 7 + 3);
    /* every length gives its own value (a zero byte appended changes the checksum: the length counts) */
    for (n = 0; n <= (int)sizeof buf; n++) {
        seen[n] = tfm_hash64(buf, (size_t)n, 0);
        for (m = 0; m < n; m++) TT_ASSERT(seen[m] != seen[n], "lengths %d and %d collide", m, n);
    }
    memset(buf, 0, sizeof buf);
    TT_CHECK(tfm_hash64(buf, 40, 0) != tfm_hash64(buf, 41, 0));
    TT_CHECK(tfm_hash64(buf, 40, 0) != tfm_hash64(buf, 40, 1));
    /* any one flipped bit changes it, wherever it is */
    {
        uint64_t base = tfm_hash64(buf, 100, 5);
        for (i = 0; i < 100 * 8; i++) {
            buf[i / 8] ^= (unsigned char)(1u << (i % 8));
            TT_ASSERT(tfm_hash64(buf, 100, 5) != base, "bit %d", i);
            buf[i / 8] ^= (unsigned char)(1u << (i % 8));
        }
    }
    /* index files hold these checksums: the values are part of the format, the same on every platform
       and build (first computed by this implementation; a change here is a new index version) */
    TT_CHECK(tfm_hash64("", 0, 0) == tfm_hash64(NULL, 0, 0));
    TT_CHECK(tfm_hash64("", 0, 0) == 0xf105456fc5fc5d74ull);
    TT_CHECK(tfm_hash64("TFMINDEX", 8, 0) == 0x4d8d035070c25ecdull);
    for (i = 0; i < 100; i++) buf[i] = (unsigned char)i;
    TT_CHECK(tfm_hash64(buf, 100, 0) == 0xd966d7e52f126e1eull);
    TT_CHECK(tfm_hash64(buf, 31, 7) == 0xfebba3b76b02e988ull);
}

/* ---------------------------------------------------------------- search */

static const float *ref_scores; /* qsort has no context argument */

static int ref_order(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    float sa = ref_scores[a], sb = ref_scores[b];
    int na = sa != sa, nb = sb != sb;
    if (na != nb) return na - nb;
    if (!na && sa != sb) return sa > sb ? -1 : 1;
    return a - b;
}

static void test_search(void)
{
    static const int counts[] = {1, 5, 64, 1000, 3001};
    static const int dims[] = {1, 7, 64, 99};
    static const int ks[] = {1, 3, 10, 5000};
    size_t a, b, c;
    tt_seed(13);
    for (a = 0; a < sizeof counts / sizeof counts[0]; a++)
        for (b = 0; b < sizeof dims / sizeof dims[0]; b++) {
            int count = counts[a], dim = dims[b], i, j;
            float *m = (float *)tt_alloc(sizeof(float) * (size_t)count * (size_t)dim);
            float *q = (float *)tt_alloc(sizeof(float) * (size_t)dim);
            float *scores = (float *)tt_alloc(sizeof(float) * (size_t)count);
            float *scores2 = (float *)tt_alloc(sizeof(float) * (size_t)count);
            int *order = (int *)tt_alloc(sizeof(int) * (size_t)count);
            tfm_embed_hit *hits = (tfm_embed_hit *)tt_alloc(sizeof(tfm_embed_hit) * 5000);
            tfm_embed_hit *hits2 = (tfm_embed_hit *)tt_alloc(sizeof(tfm_embed_hit) * 5000);
            tt_fill(m, (size_t)count * dim, -1.0f, 1.0f);
            tt_fill(q, (size_t)dim, -1.0f, 1.0f);
            /* ties (copies of earlier rows) and a NaN row */
            if (count > 10) {
                memcpy(m + (size_t)7 * dim, m + (size_t)2 * dim, sizeof(float) * dim);
                memcpy(m + (size_t)(count - 1) * dim, m + (size_t)2 * dim, sizeof(float) * dim);
                m[(size_t)5 * dim] = NAN;
            }
            for (c = 0; c < sizeof ks / sizeof ks[0]; c++) {
                int k = ks[c], n_hits = -1, n_hits2 = -1, want = k < count ? k : count;
                TT_CHECK(tfm_embed_search(m, count, dim, q, k, scores, hits, &n_hits, 1) == TFM_OK);
                TT_ASSERT(n_hits == want, "count %d k %d: %d hits", count, k, n_hits);
                /* the scores are the dot products */
                for (i = 0; i < count; i++) {
                    double dot = 0;
                    for (j = 0; j < dim; j++) dot += (double)m[(size_t)i * dim + j] * q[j];
                    if (dot == dot) TT_ASSERT(tt_close(scores[i], dot, 1e-5, 1e-5), "row %d: %g vs %g", i, scores[i], dot);
                    else TT_CHECK(scores[i] != scores[i]);
                }
                /* the hits are the first of the scores sorted best first, ties to the lower row, NaN last */
                for (i = 0; i < count; i++) order[i] = i;
                ref_scores = scores;
                qsort(order, (size_t)count, sizeof(int), ref_order);
                for (i = 0; i < n_hits; i++)
                    TT_ASSERT(hits[i].index == order[i] && (hits[i].score == scores[order[i]] ||
                                                            hits[i].score != hits[i].score),
                              "count %d dim %d k %d: hit %d is row %d, want %d", count, dim, k, i, hits[i].index, order[i]);
                /* 2 threads and a scratch allocated inside: the same */
                TT_CHECK(tfm_embed_search(m, count, dim, q, k, NULL, hits2, &n_hits2, 2) == TFM_OK);
                TT_CHECK(n_hits2 == n_hits && memcmp(hits, hits2, sizeof(tfm_embed_hit) * (size_t)n_hits) == 0);
                TT_CHECK(tfm_embed_search(m, count, dim, q, k, scores2, hits2, &n_hits2, 2) == TFM_OK);
                TT_CHECK(memcmp(scores, scores2, sizeof(float) * (size_t)count) == 0);
            }
            if (count > 10) { /* ties: the copies follow their original in row order */
                int pos2 = -1, pos7 = -1;
                TT_CHECK(tfm_embed_search(m, count, dim, q, count, scores, hits, &i, 1) == TFM_OK);
                for (i = 0; i < count; i++) {
                    if (hits[i].index == 2) pos2 = i;
                    if (hits[i].index == 7) pos7 = i;
                }
                TT_CHECK(pos7 == pos2 + 1 && hits[pos2 + 2].index == count - 1);
                TT_CHECK(hits[count - 1].index == 5); /* the NaN row */
            }
            TT_CHECK(tfm_embed_search(m, count, dim, q, 0, scores, hits, &i, 1) == TFM_ERR_INVALID_ARGUMENT && i == 0);
            TT_CHECK(tfm_embed_search(m, 0, dim, q, 1, scores, hits, &i, 1) == TFM_ERR_INVALID_ARGUMENT);
            TT_CHECK(tfm_embed_search(NULL, count, dim, q, 1, scores, hits, &i, 1) == TFM_ERR_INVALID_ARGUMENT);
            TT_CHECK(tfm_embed_search(m, count, dim, q, 1, scores, hits, NULL, 1) == TFM_ERR_INVALID_ARGUMENT);
            free(m), free(q), free(scores), free(scores2), free(order), free(hits), free(hits2);
        }
}

/* ---------------------------------------------------------------- passages */

static int count_tokens(const tfm_tokenizer *tok, const char *text, uint64_t a, uint64_t b)
{
    int n = -1;
    if (tfm_tokenizer_encode(tok, text + a, (size_t)(b - a), 0, 0, NULL, 0, &n) != TFM_OK) return -1;
    return n;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* spans in order, trimmed, within the text, each within the budget, and together every non-space byte */
static int check_passages(const tfm_tokenizer *tok, const char *text, size_t len, const uint64_t *spans, int count,
                          int budget)
{
    uint64_t covered = 0, expect = 0, prev_end = 0;
    size_t i;
    int p;
    for (i = 0; i < len; i++) expect += !is_space(text[i]);
    for (p = 0; p < count; p++) {
        uint64_t a = spans[2 * p], b = spans[2 * p + 1], j;
        if (a < prev_end || a >= b || b > len) return 0;
        if (is_space(text[a]) || is_space(text[b - 1])) return 0;
        if (((unsigned char)text[a] & 0xC0) == 0x80 || (b < len && ((unsigned char)text[b] & 0xC0) == 0x80)) return 0;
        if (count_tokens(tok, text, a, b) > budget) return 0;
        for (j = a; j < b; j++) covered += !is_space(text[j]);
        prev_end = b;
    }
    return covered == expect;
}

static void test_passages(void)
{
    const char *path = tt_shared("models/tok512.bin");
    tfm_tokenizer *tok;
    tfm_error err;
    uint64_t *spans = NULL;
    int count = -1, p, budget;
    char *text;
    size_t len;
    static const char paragraphs[] =
        "  \n\nOnce upon a time there was a little girl. She liked to play outside!\n"
        "Her name was Lily.\n"
        "\n \t\n"
        "One day she saw a big dog? The dog was brown and happy. It ran to her.\n"
        "\r\n"
        "The end.";
    if (!path) TT_SKIP("../shared/models/tok512.bin not found");
    TT_ASSERT(tfm_tokenizer_load_llama2c(&tok, path, 0, &err) == TFM_OK, "%s", err.message);
    len = strlen(paragraphs);
    /* a large budget: the paragraphs, whitespace trimmed */
    TT_ASSERT(tfm_embed_passages(tok, paragraphs, len, 1000, &spans, &count, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(count == 3, "%d passages", count);
    TT_CHECK(strncmp(paragraphs + spans[0], "Once upon", 9) == 0 && paragraphs[spans[1] - 1] == '.' &&
             strncmp(paragraphs + spans[1] - 5, "Lily.", 5) == 0);
    TT_CHECK(strncmp(paragraphs + spans[2], "One day", 7) == 0 && strncmp(paragraphs + spans[3] - 7, "to her.", 7) == 0);
    TT_CHECK(strncmp(paragraphs + spans[4], "The end.", 8) == 0 && spans[5] == len);
    TT_CHECK(check_passages(tok, paragraphs, len, spans, count, 1000));
    tfm_embed_free(spans);
    /* budgets that cut the paragraphs: at sentence ends while sentences fit */
    for (budget = 8; budget <= 40; budget += 3) {
        TT_ASSERT(tfm_embed_passages(tok, paragraphs, len, budget, &spans, &count, &err) == TFM_OK, "%s", err.message);
        TT_ASSERT(check_passages(tok, paragraphs, len, spans, count, budget), "budget %d", budget);
        if (budget >= 20) /* every sentence fits: each passage ends a sentence */
            for (p = 0; p < count; p++) {
                char last = paragraphs[spans[2 * p + 1] - 1];
                TT_ASSERT(last == '.' || last == '!' || last == '?', "budget %d: passage %d ends with '%c'", budget, p, last);
            }
        tfm_embed_free(spans);
    }
    /* greedy: with a budget of two sentences' worth, passages are longer than one sentence */
    TT_ASSERT(tfm_embed_passages(tok, paragraphs, len, 30, &spans, &count, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(count < 6);
    tfm_embed_free(spans);

    /* a long text: words, sentences too long for the budget, a word longer than it, UTF-8 */
    len = 20000;
    text = (char *)tt_alloc(len + 1);
    tt_seed(17);
    for (p = 0; p < (int)len;) {
        int r = (int)(tt_next() % 100);
        const char *piece = r < 60 ? "word " : r < 70 ? "f\xC3\xBCr " : r < 78 ? "ends. " : r < 82 ? "\n" : r < 84 ? "\n\n"
                          : r < 85 ? "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" : "sun ";
        size_t n = strlen(piece);
        if (p + (int)n > (int)len) break;
        memcpy(text + p, piece, n);
        p += (int)n;
    }
    len = (size_t)p;
    text[len] = 0;
    for (budget = 8; budget <= 200; budget = budget * 2 + 1) {
        TT_ASSERT(tfm_embed_passages(tok, text, len, budget, &spans, &count, &err) == TFM_OK, "%s", err.message);
        TT_ASSERT(count > 0 && check_passages(tok, text, len, spans, count, budget), "long text, budget %d", budget);
        tfm_embed_free(spans);
    }
    /* nothing but whitespace; bad arguments */
    TT_CHECK(tfm_embed_passages(tok, " \n\t\n ", 5, 100, &spans, &count, &err) == TFM_OK && count == 0 && !spans);
    TT_CHECK(tfm_embed_passages(tok, "", 0, 100, &spans, &count, &err) == TFM_OK && count == 0 && !spans);
    TT_CHECK(tfm_embed_passages(tok, text, len, 7, &spans, &count, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_embed_passages(NULL, text, len, 100, &spans, &count, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_embed_passages(tok, text, len, 100, NULL, &count, &err) == TFM_ERR_INVALID_ARGUMENT);
    free(text);
    tfm_tokenizer_free(tok);
}

/* ---------------------------------------------------------------- index file */

/* A small index over a made-up document: count passages of dim floats. */
static void make_index(tfm_embed_index *x, float *vectors, uint64_t *spans, int count, int dim)
{
    int i;
    memset(x, 0, sizeof *x);
    x->dim = dim;
    x->count = count;
    x->pooling = TFM_POOLING_CLS;
    x->normalized = 1;
    x->model_fingerprint = 0x0123456789ABCDEFull;
    x->model_path = "models/bge-small.gguf";
    x->document_path = "docs/manual.txt";
    x->document_bytes = 1000;
    x->document_hash = 42;
    tt_fill(vectors, (size_t)count * dim, -1.0f, 1.0f);
    for (i = 0; i < count; i++) tfm_embed_normalize(vectors + (size_t)i * dim, (size_t)dim);
    for (i = 0; i < count; i++) spans[2 * i] = (uint64_t)i * 10, spans[2 * i + 1] = (uint64_t)i * 10 + 7;
    x->vectors = vectors;
    x->spans = spans;
}

static int write_bytes(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return 0;
    ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static void test_index_round_trip(void)
{
    enum { COUNT = 37, DIM = 13 };
    static float vectors[COUNT * DIM];
    static uint64_t spans[COUNT * 2];
    tfm_embed_index x, back;
    tfm_error err;
    tt_seed(14);
    make_index(&x, vectors, spans, COUNT, DIM);
    TT_ASSERT(tfm_embed_index_write(tmp_path, &x, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_embed_index_load(&back, tmp_path, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(back.dim == DIM && back.count == COUNT && back.pooling == TFM_POOLING_CLS && back.normalized == 1);
    TT_CHECK(back.model_fingerprint == x.model_fingerprint && back.document_bytes == 1000 && back.document_hash == 42);
    TT_CHECK(strcmp(back.model_path, x.model_path) == 0 && strcmp(back.document_path, x.document_path) == 0);
    TT_CHECK(memcmp(back.vectors, vectors, sizeof vectors) == 0 && memcmp(back.spans, spans, sizeof spans) == 0);
    TT_CHECK(((uintptr_t)back.vectors & 63) == 0 || !back.file.is_mapped);
    tfm_embed_index_free(&back);
    tfm_embed_index_free(&back); /* twice is fine */
    /* NULL paths are empty ones; a one-passage index */
    x.model_path = x.document_path = NULL;
    x.count = 1;
    x.pooling = TFM_POOLING_MEAN;
    x.normalized = 0;
    TT_ASSERT(tfm_embed_index_write(tmp_path, &x, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_embed_index_load(&back, tmp_path, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(back.count == 1 && back.pooling == TFM_POOLING_MEAN && back.normalized == 0);
    TT_CHECK(strcmp(back.model_path, "") == 0 && strcmp(back.document_path, "") == 0);
    TT_CHECK(memcmp(back.vectors, vectors, sizeof(float) * DIM) == 0);
    tfm_embed_index_free(&back);
    remove(tmp_path);
}

static void test_index_bad_writes(void)
{
    enum { COUNT = 4, DIM = 3 };
    float vectors[COUNT * DIM];
    uint64_t spans[COUNT * 2];
    tfm_embed_index x, back;
    tfm_error err;
    char bad[1100];
    tt_seed(15);
    make_index(&x, vectors, spans, COUNT, DIM);
    TT_ASSERT(tfm_embed_index_write(tmp_path, &x, &err) == TFM_OK, "%s", err.message);
    spans[5] = 1001; /* past the document */
    TT_CHECK(tfm_embed_index_write(tmp_path, &x, &err) == TFM_ERR_INVALID_ARGUMENT && strstr(err.message, "passage 2"));
    spans[5] = 20;
    spans[4] = 21; /* start after end */
    TT_CHECK(tfm_embed_index_write(tmp_path, &x, &err) == TFM_ERR_INVALID_ARGUMENT);
    spans[4] = 20;
    x.pooling = TFM_POOLING_NONE;
    TT_CHECK(tfm_embed_index_write(tmp_path, &x, &err) == TFM_ERR_INVALID_ARGUMENT && strstr(err.message, "pooling"));
    x.pooling = TFM_POOLING_LAST;
    x.dim = 0;
    TT_CHECK(tfm_embed_index_write(tmp_path, &x, &err) == TFM_ERR_INVALID_ARGUMENT);
    x.dim = DIM;
    x.count = -1;
    TT_CHECK(tfm_embed_index_write(tmp_path, &x, &err) == TFM_ERR_INVALID_ARGUMENT);
    x.count = COUNT;
    TT_CHECK(tfm_embed_index_write(NULL, &x, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_embed_index_write(tmp_path, NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
    /* a write that cannot happen leaves nothing behind, and the index already there intact */
    snprintf(bad, sizeof bad, "%s.no/such/dir/x.idx", tmp_path);
    TT_CHECK(tfm_embed_index_write(bad, &x, &err) == TFM_ERR_IO && strstr(err.message, "cannot create"));
    TT_ASSERT(tfm_embed_index_load(&back, tmp_path, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(back.pooling == TFM_POOLING_CLS);
    tfm_embed_index_free(&back);
    remove(tmp_path);
}

static void test_index_bad_files(void)
{
    enum { COUNT = 9, DIM = 5 };
    float vectors[COUNT * DIM];
    uint64_t spans[COUNT * 2];
    tfm_embed_index x, back;
    tfm_error err;
    unsigned char *good, *copy;
    size_t size, i, n_flips = 0;
    tt_seed(16);
    make_index(&x, vectors, spans, COUNT, DIM);
    TT_ASSERT(tfm_embed_index_write(tmp_path, &x, &err) == TFM_OK, "%s", err.message);
    good = (unsigned char *)tt_read_file(tmp_path, &size);
    TT_ASSERT(good != NULL, "cannot read back %s", tmp_path);
    copy = (unsigned char *)tt_alloc(size + 1);

    /* every byte flipped, one at a time: refused as corrupted (a flipped version as another version) */
    for (i = 0; i < size; i += (tt_quick() ? 7 : 1)) {
        memcpy(copy, good, size);
        copy[i] ^= 0x20;
        TT_ASSERT(write_bytes(tmp_path, copy, size), "write");
        TT_ASSERT(tfm_embed_index_load(&back, tmp_path, &err) == TFM_ERR_FORMAT, "byte %zu flipped was accepted", i);
        TT_ASSERT(strstr(err.message, tmp_path) != NULL && back.vectors == NULL && back.paths == NULL, "byte %zu", i);
        n_flips++;
    }
    TT_CHECK(n_flips > 0);
    /* truncated at every length, and one byte too many */
    for (i = 0; i < size; i += (tt_quick() ? 13 : 1)) {
        TT_ASSERT(write_bytes(tmp_path, good, i), "write");
        TT_ASSERT(tfm_embed_index_load(&back, tmp_path, &err) != TFM_OK, "truncated at %zu was accepted", i);
        if (i >= 96) TT_ASSERT(strstr(err.message, "truncated") != NULL, "at %zu: %s", i, err.message);
    }
    memcpy(copy, good, size);
    copy[size] = 0;
    TT_ASSERT(write_bytes(tmp_path, copy, size + 1), "write");
    TT_CHECK(tfm_embed_index_load(&back, tmp_path, &err) == TFM_ERR_FORMAT && strstr(err.message, "trailing"));
    /* not an index at all */
    TT_ASSERT(write_bytes(tmp_path, (const unsigned char *)"GGUF\3\0\0\0 and more bytes", 20), "write");
    TT_CHECK(tfm_embed_index_load(&back, tmp_path, &err) == TFM_ERR_FORMAT && strstr(err.message, "not a tfm index"));
    /* a missing file */
    remove(tmp_path);
    TT_CHECK(tfm_embed_index_load(&back, tmp_path, &err) == TFM_ERR_IO);
    TT_CHECK(tfm_embed_index_load(NULL, tmp_path, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_embed_index_load(&back, NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
    free(good);
    free(copy);
}

/* ---------------------------------------------------------------- fingerprint */

static void test_fingerprint(void)
{
    const char *path = tt_shared("models/stories260K.gguf");
    char first[1024];
    tfm_model *a = NULL, *b = NULL, *c = NULL;
    tfm_model_options no_mmap;
    tfm_error err;
    if (!path) TT_SKIP("../shared/models/stories260K.gguf not found");
    snprintf(first, sizeof first, "%s", path);
    memset(&no_mmap, 0, sizeof no_mmap);
    no_mmap.no_mmap = 1;
    TT_ASSERT(tfm_model_load(first, NULL, &a, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_model_load(first, &no_mmap, &b, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_model_fingerprint(a) == tfm_model_fingerprint(b));
    TT_CHECK(tfm_model_fingerprint(a) != 0 && tfm_model_fingerprint(NULL) == 0);
    path = tt_shared("models/stories260K.bin");
    if (path) {
        TT_ASSERT(tfm_model_load(path, NULL, &c, &err) == TFM_OK, "%s", err.message);
        TT_CHECK(tfm_model_fingerprint(c) != tfm_model_fingerprint(a));
        tfm_model_free(c);
    }
    tfm_model_free(a);
    tfm_model_free(b);
}

int main(int argc, char **argv)
{
    (void)argc;
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp.idx", argv[0]);
    TT_RUN(test_pooling_names);
    TT_RUN(test_pooling);
    TT_RUN(test_normalize_and_cosine);
    TT_RUN(test_hash);
    TT_RUN(test_search);
    TT_RUN(test_passages);
    TT_RUN(test_index_round_trip);
    TT_RUN(test_index_bad_writes);
    TT_RUN(test_index_bad_files);
    TT_RUN(test_fingerprint);
    return tt_summary("embed");
}

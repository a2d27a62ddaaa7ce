/* Tests of models loaded from GGUF (tfm_model.h's GGUF loader, tokenizer and tfm_perplexity) against
   independent references: llama2.c's logits and text for stories260K, llama.cpp's text and perplexity
   (../shared/golden), the tokenizer cases, a plain implementation of llama.cpp's perplexity protocol
   written here, and hand-made bad files (variants of stories260K.gguf written with tfm_gguf's writer).

   The full llama.cpp perplexity runs (775 chunks of 256 tokens, three times, and two 15M-parameter
   models) take a few seconds natively. With TFM_TEST_QUICK set to anything but "" or "0" (tests/run.sh
   sets it for the asan, scalar and neon configurations, which run them 10-50x slower) those runs are skipped;
   everything else, including the protocol against the plain implementation, still runs. */
#include "tfm_test.h"
#include "tfm_gguf.h"
#include "tfm_model.h"
#include "tfm_tokenizer.h"

/* A shared model by relative path, or NULL (the caller skips). */
static tfm_model *load_shared(const char *rel)
{
    const char *path = tt_shared(rel);
    tfm_model *m = NULL;
    tfm_error err;
    if (!path) return NULL;
    if (tfm_model_load(path, NULL, &m, &err) != TFM_OK) {
        fprintf(stderr, "  %s: %s\n", rel, err.message);
        return NULL;
    }
    return m;
}

static tfm_context *new_context(const tfm_model *m, int context_length, int n_threads)
{
    tfm_context_params p;
    tfm_context *ctx = NULL;
    tfm_error err;
    memset(&p, 0, sizeof p);
    p.context_length = context_length;
    p.n_threads = n_threads;
    if (tfm_context_create(m, &p, &ctx, &err) != TFM_OK) fprintf(stderr, "  context: %s\n", err.message);
    return ctx;
}

/* ---------------------------------------------------------------- the same model as stories260K.bin */

static void test_config_from_keys(void)
{
    tfm_model *m = load_shared("models/stories260K.gguf"), *q;
    const tfm_model_config *c;
    if (!m) TT_SKIP("stories260K.gguf is missing");
    c = &m->config;
    TT_ASSERT(c->dim == 64 && c->hidden_dim == 172 && c->n_layers == 5 && c->n_heads == 8 && c->n_kv_heads == 4 &&
                  c->head_dim == 8 && c->vocab_size == 512 && c->context_length == 2048 && c->rope_dim == 8,
              "config: dim %d hidden %d layers %d heads %d/%d head_dim %d vocab %d context %d rope_dim %d", c->dim,
              c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size, c->context_length,
              c->rope_dim);
    /* the file has no rope.freq_base: llama.cpp's default */
    TT_ASSERT(c->rope_base == 10000.0f && c->norm_eps == 1e-5f && c->rope_mode == TFM_ROPE_NORMAL, "rope/eps");
    TT_ASSERT(c->n_experts == 0, "experts");
    TT_ASSERT(tfm_model_tokenizer(m) && tfm_tokenizer_vocab_size(tfm_model_tokenizer(m)) == 512, "tokenizer");
    TT_ASSERT(tfm_tokenizer_bos(tfm_model_tokenizer(m)) == 1 && tfm_tokenizer_eos(tfm_model_tokenizer(m)) == 2, "bos/eos");
    tfm_model_free(m);

    q = load_shared("models/stories260K-q8_0-mixed.gguf");
    if (!q) TT_SKIP("stories260K-q8_0-mixed.gguf is missing");
    TT_ASSERT(q->layers[0].wq.tensor.dtype == TFM_Q8_0 && q->layers[4].ffn_down.tensor.dtype == TFM_F16 &&
                  q->layers[2].attn_norm.dtype == TFM_F32 && q->token_embd.dtype == TFM_Q8_0 &&
                  q->output.tensor.dtype == TFM_Q8_0,
              "dtypes of the mixed file");
    tfm_model_free(q);
}

/* Teacher-forced on llama2.c's golden tokens: the GGUF model's logits equal the .bin model's (1e-5, the
   same weights in another file) at every position, and llama2.c's own logits (1e-4). */
static void check_logits(const char *name)
{
    char rel[256], *tok_text, *p;
    const char *found;
    tfm_model *gguf, *bin;
    tfm_context *cg, *cb;
    tfm_error err;
    int tokens[256], n = 0, i, j;
    float *lg, *lb, *gold;
    size_t size;
    snprintf(rel, sizeof rel, "golden/stories260K.%s.logits.f32.tokens", name);
    if (!(found = tt_shared(rel)) || !(tok_text = tt_read_file(found, NULL))) TT_SKIP("golden tokens are missing");
    for (p = tok_text; n < 256;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        tokens[n++] = (int)v;
        p = end;
    }
    free(tok_text);
    snprintf(rel, sizeof rel, "golden/stories260K.%s.logits.f32", name);
    if (!(found = tt_shared(rel)) || !(gold = (float *)(void *)tt_read_file(found, &size))) TT_SKIP("golden logits");
    TT_ASSERT(size == (size_t)n * 512 * sizeof(float), "%s: %zu bytes for %d positions", rel, size, n);
    gguf = load_shared("models/stories260K.gguf");
    bin = load_shared("models/stories260K.bin");
    if (!gguf || !bin) {
        tfm_model_free(gguf), tfm_model_free(bin), free(gold);
        TT_SKIP("stories260K.gguf or .bin is missing");
    }
    cg = new_context(gguf, 0, 2);
    cb = new_context(bin, 0, 2);
    lg = (float *)tt_alloc(sizeof(float) * 512 * (size_t)n);
    lb = (float *)tt_alloc(sizeof(float) * 512 * (size_t)n);
    TT_ASSERT(cg && cb, "contexts");
    TT_ASSERT(tfm_forward(cg, tokens, n, lg, TFM_LOGITS_ALL, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_forward(cb, tokens, n, lb, TFM_LOGITS_ALL, &err) == TFM_OK, "%s", err.message);
    for (i = 0; i < n; i++)
        for (j = 0; j < 512; j++) {
            size_t at = (size_t)i * 512 + (size_t)j;
            TT_ASSERT(fabs((double)lg[at] - lb[at]) <= 1e-5, "%s position %d logit %d: gguf %.7g, bin %.7g", name, i, j,
                      lg[at], lb[at]);
            TT_ASSERT(fabs((double)lg[at] - gold[at]) <= 1e-4, "%s position %d logit %d: gguf %.7g, llama2.c %.7g", name,
                      i, j, lg[at], gold[at]);
        }
    free(lg), free(lb), free(gold);
    tfm_context_free(cg), tfm_context_free(cb);
    tfm_model_free(gguf), tfm_model_free(bin);
}

static void test_logits_equal_llama2c(void)
{
    check_logits("once_upon_a_time");
    if (!tt_current_failed && !tt_current_skipped) check_logits("lily_ball");
}

/* ---------------------------------------------------------------- the vocab through the model loader */

/* "\t", "\n", "\\" in the cases file stand for a tab, a newline, a backslash. */
static size_t unescape(char *s)
{
    size_t r = 0, w = 0;
    while (s[r]) {
        if (s[r] == '\\' && s[r + 1]) {
            char c = s[r + 1];
            s[w++] = c == 't' ? '\t' : c == 'n' ? '\n' : c;
            r += 2;
        } else s[w++] = s[r++];
    }
    s[w] = '\0';
    return w;
}

/* Every case of tokenizer.cases.tsv for `tokenizer_file`, encoded with the vocab `model_rel` carries. */
static void check_cases(const char *model_rel, const char *tokenizer_file, int *n_checked)
{
    const char *found = tt_shared("golden/tokenizer.cases.tsv");
    char *cases, *line, *next;
    tfm_model *m;
    int ids[1024];
    if (!found || !(cases = tt_read_file(found, NULL))) TT_SKIP("tokenizer.cases.tsv is missing");
    if (!(m = load_shared(model_rel))) {
        free(cases);
        TT_SKIP("model file is missing");
    }
    for (line = cases; line && *line; line = next) {
        char *text, *want, *p;
        size_t len;
        int n = 0, k = 0;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (line[0] == '#' || strncmp(line, tokenizer_file, strlen(tokenizer_file)) != 0 ||
            line[strlen(tokenizer_file)] != '\t')
            continue;
        text = line + strlen(tokenizer_file) + 1;
        want = strchr(text, '\t');
        TT_ASSERT(want, "malformed case line");
        *want++ = '\0';
        len = unescape(text);
        TT_ASSERT(tfm_tokenizer_encode(tfm_model_tokenizer(m), text, len, 1, 0, ids, 1024, &n) == TFM_OK, "encode");
        for (p = want;; k++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            TT_ASSERT(k < n && ids[k] == v, "%s, '%s': id %d is %d, llama2.c %ld", model_rel, text, k,
                      k < n ? ids[k] : -1, v);
            p = end;
        }
        TT_ASSERT(k == n, "%s, '%s': %d ids, llama2.c %d", model_rel, text, n, k);
        (*n_checked)++;
    }
    free(cases);
    tfm_model_free(m);
}

static void test_tokenizer_cases(void)
{
    int tok512 = 0, llama = 0;
    check_cases("models/stories260K.gguf", "tok512.bin", &tok512);
    if (tt_current_failed || tt_current_skipped) return;
    TT_ASSERT(tok512 >= 10, "only %d tok512 cases", tok512);
    /* synth15M's vocab is the 32000-token Llama 2 one (tokenizer.bin's pieces, "<s>" for "\n<s>\n") */
    check_cases("models/synth15M-q8_0.gguf", "tokenizer.bin", &llama);
    if (tt_current_failed || tt_current_skipped) return;
    TT_ASSERT(llama >= 10, "only %d tokenizer.bin cases", llama);
}

/* ---------------------------------------------------------------- greedy text */

/* "Once upon a time" + n greedy tokens (prompt as one prefill, then one token at a time), decoded; the
   continuation stops early at EOS, as llama-cli does. */
static char *greedy_text(tfm_model *m, const char *prompt, int n)
{
    const tfm_tokenizer *tok = tfm_model_tokenizer(m);
    tfm_context *ctx = new_context(m, 0, 2);
    float *logits = (float *)tt_alloc(sizeof(float) * (size_t)m->config.vocab_size);
    int *ids = (int *)tt_alloc(sizeof(int) * (size_t)(n + 256)), n_ids = 0, g;
    char *text = (char *)tt_alloc(65536);
    size_t len = 0;
    tfm_error err;
    if (!ctx || tfm_tokenizer_encode(tok, prompt, strlen(prompt), 1, 0, ids, 256, &n_ids) != TFM_OK ||
        tfm_forward(ctx, ids, n_ids, logits, TFM_LOGITS_LAST, &err) != TFM_OK)
        n = -1;
    for (g = 0; g < n; g++) {
        int next = (int)tfm_argmax(logits, (size_t)m->config.vocab_size);
        if (next == tfm_tokenizer_eos(tok)) break;
        ids[n_ids++] = next;
        if (g + 1 < n && tfm_forward(ctx, &next, 1, logits, TFM_LOGITS_LAST, &err) != TFM_OK) {
            n = -1;
            break;
        }
    }
    if (n < 0 || tfm_tokenizer_decode_ids(tok, ids, n_ids, text, 65536, &len) != TFM_OK) {
        free(text);
        text = NULL;
    }
    free(ids), free(logits);
    tfm_context_free(ctx);
    return text;
}

/* llama-cli prints the text and then newlines of its own: compare without trailing newlines. */
static void chop_newlines(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '\n') s[--n] = '\0';
}

/* The golden text and the model's greedy text agree on their first `chars` characters; `chars` < 0: whole. */
static void check_greedy(const char *model_rel, const char *golden_rel, int n, int chars)
{
    const char *found = tt_shared(golden_rel);
    char *want, *got;
    tfm_model *m;
    size_t same = 0;
    if (!found || !(want = tt_read_file(found, NULL))) TT_SKIP("golden text is missing");
    if (!(m = load_shared(model_rel))) {
        free(want);
        TT_SKIP("model file is missing");
    }
    got = greedy_text(m, "Once upon a time", n);
    TT_ASSERT(got, "generation failed");
    chop_newlines(want), chop_newlines(got);
    while (want[same] && want[same] == got[same]) same++;
    if (chars < 0) TT_ASSERT(strcmp(want, got) == 0, "%s departs at character %zu:\n--- got\n%s\n--- golden\n%s", model_rel, same, got, want);
    else TT_ASSERT(same >= (size_t)chars, "%s departs at character %zu (want %d):\n--- got\n%s\n--- golden\n%s", model_rel,
                   same, chars, got, want);
    free(want), free(got);
    tfm_model_free(m);
}

static void test_greedy_f16_equals_llamacpp(void)
{
    check_greedy("models/stories260K-f16.gguf", "golden/stories260K.llamacpp.greedy.once_upon_a_time.n150.txt", 150, -1);
}

/* llama2.c's -n 200 counts BOS and the 4 prompt tokens: 196 new tokens */
static void test_greedy_f32_equals_llama2c(void)
{
    check_greedy("models/stories260K.gguf", "golden/stories260K.greedy.once_upon_a_time.n200.txt", 196, -1);
}

/* The Q8_0 file's text departs from llama.cpp's where llama.cpp's own top two logits are 0.015 apart
   (character 196, "Lily, let's" / "Let's"): there Q8_0-quantized activations turn differences of single
   roundings (llama.cpp keeps its KV cache and the inputs of F16 matrices in f16, and fuses multiply-adds
   in RoPE) into int8 steps. The text before it must agree. */
static void test_greedy_q8_0_mixed_prefix(void)
{
    check_greedy("models/stories260K-q8_0-mixed.gguf",
                 "golden/stories260K-q8_0-mixed.llamacpp.greedy.once_upon_a_time.n150.txt", 150, 195);
}

/* ---------------------------------------------------------------- perplexity */

/* llama.cpp's protocol written plainly: every chunk in one call with all logits, log-softmax in double. */
static double reference_ppl(tfm_context *ctx, const int *tokens, int n_ctx, int n_chunks, int bos, double *err_out)
{
    int vocab = tfm_context_model(ctx)->config.vocab_size, c, i, j, first = n_ctx / 2;
    int *chunk = (int *)tt_alloc(sizeof(int) * (size_t)n_ctx);
    float *logits = (float *)tt_alloc(sizeof(float) * (size_t)n_ctx * (size_t)vocab);
    double sum = 0, sum2 = 0, mean, var;
    long count = 0;
    tfm_error err;
    for (c = 0; c < n_chunks; c++) {
        memcpy(chunk, tokens + (size_t)c * n_ctx, sizeof(int) * (size_t)n_ctx);
        chunk[0] = bos;
        tfm_context_reset(ctx);
        if (tfm_forward(ctx, chunk, n_ctx, logits, TFM_LOGITS_ALL, &err) != TFM_OK) return -1;
        for (i = first; i < n_ctx - 1; i++) {
            const float *l = logits + (size_t)i * vocab;
            double max = l[0], s = 0, nll;
            for (j = 1; j < vocab; j++)
                if (l[j] > max) max = l[j];
            for (j = 0; j < vocab; j++) s += exp((double)l[j] - max);
            nll = log(s) - ((double)l[chunk[i + 1]] - max);
            sum += nll, sum2 += nll * nll, count++;
        }
    }
    mean = sum / count;
    var = sum2 / count - mean * mean;
    *err_out = exp(mean) * sqrt(var / (count - 1));
    free(chunk), free(logits);
    return exp(mean);
}

/* The whole of a text file tokenized with a leading BOS (at most max_bytes of it; 0: all). */
static int *tokenize_file(const tfm_model *m, const char *rel, size_t max_bytes, int *n_ids)
{
    const char *found = tt_shared(rel);
    char *text;
    size_t size;
    int *ids;
    if (!found || !(text = tt_read_file(found, &size))) return NULL;
    if (max_bytes && size > max_bytes) size = max_bytes;
    ids = (int *)tt_alloc(sizeof(int) * (size + 3));
    if (tfm_tokenizer_encode(tfm_model_tokenizer(m), text, size, 1, 0, ids, (int)size + 3, n_ids) != TFM_OK) {
        free(ids);
        ids = NULL;
    }
    free(text);
    return ids;
}

typedef struct progress_log {
    int calls, last_chunks, total;
    int in_order;
} progress_log;

static void log_progress(void *user, const tfm_perplexity_result *r, int total)
{
    progress_log *p = (progress_log *)user;
    p->in_order &= r->n_chunks == p->last_chunks + 1;
    p->last_chunks = r->n_chunks;
    p->total = total;
    p->calls++;
}

/* tfm_perplexity equals the plain protocol above (which needs no half-and-half split or batching), for
   any thread count and batch size; max_chunks, progress and the errors. */
static void test_perplexity_protocol(void)
{
    tfm_model *m = load_shared("models/stories260K.gguf");
    tfm_context *ctx1, *ctx2, *small;
    tfm_context_params p;
    tfm_perplexity_result r1, r2, r3;
    progress_log calls;
    tfm_error err;
    double want, want_err;
    int n_ids = 0, *ids, saved;
    const int K = tt_quick() ? 3 : 9, all = tt_quick() ? 400 : 1000; /* chunks; tokens of the whole-text run */
    if (!m) TT_SKIP("stories260K.gguf is missing");
    ids = tokenize_file(m, "golden/tinystories.valid.first500.txt", 20000, &n_ids);
    TT_ASSERT(ids && n_ids > 4000, "tokenize");
    ctx1 = new_context(m, 100, 1);
    ctx2 = new_context(m, 100, 2);
    memset(&p, 0, sizeof p);
    p.context_length = 100, p.max_batch = 7, p.n_threads = 2; /* scored half in batches of 7 */
    TT_ASSERT(tfm_context_create(m, &p, &small, &err) == TFM_OK, "%s", err.message);
    want = reference_ppl(ctx1, ids, 99, K, 1, &want_err);
    TT_ASSERT(want > 1, "reference");
    memset(&calls, 0, sizeof calls);
    calls.in_order = 1;
    TT_ASSERT(tfm_perplexity(ctx1, ids, n_ids, 99, 1, K, log_progress, &calls, &r1, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(r1.n_chunks == K && r1.n_scored == K * (99 - 49 - 1), "%d chunks, %ld scored", r1.n_chunks, r1.n_scored);
    TT_ASSERT(tt_close(r1.ppl, want, 0, 1e-6) && tt_close(r1.ppl_error, want_err, 0, 1e-4), "ppl %.9g +/- %.9g, plain %.9g +/- %.9g",
              r1.ppl, r1.ppl_error, want, want_err);
    TT_ASSERT(tt_close(r1.mean_nll, log(want), 1e-9, 1e-6), "mean nll");
    TT_ASSERT(calls.calls == K && calls.in_order && calls.total == K, "progress: %d calls, total %d", calls.calls, calls.total);
    TT_ASSERT(tfm_perplexity(ctx2, ids, n_ids, 99, 1, K, NULL, NULL, &r2, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(r2.ppl == r1.ppl && r2.ppl_error == r1.ppl_error, "2 threads %.17g, 1 thread %.17g", r2.ppl, r1.ppl);
    TT_ASSERT(tfm_perplexity(small, ids, n_ids, 99, 1, K, NULL, NULL, &r3, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tt_close(r3.ppl, want, 0, 1e-6), "batches of 7: %.9g, plain %.9g", r3.ppl, want);

    /* every chunk of the text when max_chunks is 0 */
    TT_ASSERT(tfm_perplexity(ctx2, ids, all, 99, 1, 0, NULL, NULL, &r2, &err) == TFM_OK && r2.n_chunks == all / 99, "all chunks");
    /* errors: too short a text, a chunk longer than the context, a token outside the vocab, no result */
    TT_ASSERT(tfm_perplexity(ctx1, ids, 197, 99, 1, 0, NULL, NULL, &r2, &err) == TFM_ERR_INVALID_ARGUMENT, "197 tokens");
    TT_ASSERT(strstr(err.message, "198") != NULL, "message: %s", err.message);
    TT_ASSERT(tfm_perplexity(ctx1, ids, n_ids, 101, 1, 0, NULL, NULL, &r2, &err) == TFM_ERR_INVALID_ARGUMENT, "ctx 101");
    TT_ASSERT(tfm_perplexity(ctx1, ids, n_ids, 2, 1, 0, NULL, NULL, &r2, &err) == TFM_ERR_INVALID_ARGUMENT, "ctx 2");
    TT_ASSERT(tfm_perplexity(ctx1, ids, n_ids, 99, 512, 0, NULL, NULL, &r2, &err) == TFM_ERR_OUT_OF_RANGE, "bos 512");
    saved = ids[149];
    ids[149] = 512; /* the last token of chunk 1 (75..149): a target only, never fed */
    TT_ASSERT(tfm_perplexity(ctx1, ids, n_ids, 75, 1, 0, NULL, NULL, &r2, &err) == TFM_ERR_OUT_OF_RANGE, "token 512");
    ids[149] = saved;
    TT_ASSERT(tfm_perplexity(ctx1, ids, n_ids, 99, 1, 0, NULL, NULL, NULL, &err) == TFM_ERR_INVALID_ARGUMENT, "NULL");
    free(ids);
    tfm_context_free(ctx1), tfm_context_free(ctx2), tfm_context_free(small);
    tfm_model_free(m);
}

/* llama-perplexity -c 256 -b 256 on the shared text (max_bytes 0: all of it); values from the golden README */
static void check_llamacpp_ppl(const char *model_rel, size_t max_bytes, int n_threads, int want_chunks, double want,
                               double tolerance, double want_error)
{
    tfm_model *m;
    tfm_context *ctx;
    tfm_perplexity_result r;
    tfm_error err;
    int n_ids = 0, *ids;
    if (tt_quick()) TT_SKIP("TFM_TEST_QUICK: full llama.cpp perplexity runs skipped");
    if (!(m = load_shared(model_rel))) TT_SKIP("model file is missing");
    ids = tokenize_file(m, "golden/tinystories.valid.first500.txt", max_bytes, &n_ids);
    if (!ids) {
        tfm_model_free(m);
        TT_SKIP("tinystories.valid.first500.txt is missing");
    }
    ctx = new_context(m, 256, n_threads);
    TT_ASSERT(ctx, "context");
    TT_ASSERT(tfm_perplexity(ctx, ids, n_ids, 256, 1, 0, NULL, NULL, &r, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(r.n_chunks == want_chunks, "%s: %d chunks, llama.cpp %d", model_rel, r.n_chunks, want_chunks);
    TT_ASSERT(fabs(r.ppl - want) <= tolerance, "%s: PPL %.4f, llama.cpp %.4f", model_rel, r.ppl, want);
    if (want_error > 0)
        TT_ASSERT(fabs(r.ppl_error - want_error) <= 2e-5, "%s: +/- %.5f, llama.cpp %.5f", model_rel, r.ppl_error,
                  want_error);
    fprintf(stderr, "  %s: PPL = %.4f +/- %.5f (llama.cpp %.4f)\n", model_rel, r.ppl, r.ppl_error, want);
    free(ids);
    tfm_context_free(ctx);
    tfm_model_free(m);
}

/* stories260K on one thread: a second saves little on so small a model and costs much on a busy machine */
static void test_perplexity_f32_llamacpp(void)
{
    check_llamacpp_ppl("models/stories260K.gguf", 0, 1, 775, 4.2728, 0.001, 0.02569);
}

static void test_perplexity_f16_llamacpp(void)
{
    check_llamacpp_ppl("models/stories260K-f16.gguf", 0, 1, 775, 4.2726, 0.001, 0.02569);
}

static void test_perplexity_q8_0_mixed_llamacpp(void)
{
    check_llamacpp_ppl("models/stories260K-q8_0-mixed.gguf", 0, 1, 775, 4.2787, 0.002, 0.02575);
}

/* random-weight models on the first 60000 bytes: within 0.05% */
static void test_perplexity_synth15M_q8_0_llamacpp(void)
{
    check_llamacpp_ppl("models/synth15M-q8_0.gguf", 60000, 2, 63, 32008.54, 32008.54 * 5e-4, 0);
}

static void test_perplexity_synth15M_q4_0_llamacpp(void)
{
    check_llamacpp_ppl("models/synth15M-q4_0.gguf", 60000, 2, 63, 32225.42, 32225.42 * 5e-4, 0);
}

/* ---------------------------------------------------------------- hand-made variants of stories260K.gguf */

/* One change to the file. */
typedef struct variant {
    const char *drop_key;    /* a kv left out */
    const char *set_key;     /* a kv replaced (or added): u32 set_u32, or the string set_str */
    uint32_t set_u32;
    const char *set_str;
    const char *drop_tensor; /* a tensor left out */
    const char *tensor;      /* a tensor given ne[0] = tensor_cols (when > 0) and ne[1] = tensor_rows (when > 0): */
    int64_t tensor_cols;     /* fewer elements than it has, so its data stays inside the file */
    int64_t tensor_rows;
    int drop_last_token;     /* the vocab arrays one shorter than token_embd */
} variant;

/* Copies stories260K.gguf with one change into a buffer the caller frees. */
static void *write_variant(const tfm_gguf *g, const variant *v, size_t *size)
{
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    void *buf = NULL;
    int64_t i, n;
    int ok = tfm_gguf_writer_create(&w, &err) == TFM_OK;
    const char **pieces = NULL;
    size_t *lens = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    uint64_t n_vocab = 0;
    for (i = 0; ok && i < tfm_gguf_n_kv(g); i++) {
        const char *key = tfm_gguf_key(g, i);
        if (v->drop_key && strcmp(key, v->drop_key) == 0) continue;
        if (v->set_key && strcmp(key, v->set_key) == 0) continue; /* added below */
        if (v->drop_last_token && strncmp(key, "tokenizer.ggml.", 15) == 0 &&
            (!strcmp(key + 15, "tokens") || !strcmp(key + 15, "scores") || !strcmp(key + 15, "token_type")))
            continue;
        ok = tfm_gguf_writer_copy_kv(w, g, i, &err) == TFM_OK;
    }
    if (ok && v->set_key) {
        ok = (v->set_str ? tfm_gguf_writer_add_string(w, v->set_key, v->set_str, &err)
                         : tfm_gguf_writer_add_u32(w, v->set_key, v->set_u32, &err)) == TFM_OK;
    }
    if (ok && v->drop_last_token) {
        tfm_gguf_type t;
        uint64_t k;
        ok = tfm_gguf_get_array(g, "tokenizer.ggml.tokens", &t, &n_vocab, &err) == TFM_OK;
        pieces = (const char **)tt_alloc(sizeof(char *) * n_vocab);
        lens = (size_t *)tt_alloc(sizeof(size_t) * n_vocab);
        scores = (float *)tt_alloc(sizeof(float) * n_vocab);
        types = (int32_t *)tt_alloc(sizeof(int32_t) * n_vocab);
        for (k = 0; ok && k < n_vocab; k++)
            ok = tfm_gguf_get_array_string(g, "tokenizer.ggml.tokens", k, &pieces[k], &lens[k], &err) == TFM_OK;
        ok = ok && tfm_gguf_get_array_f32(g, "tokenizer.ggml.scores", scores, n_vocab, &err) == TFM_OK &&
             tfm_gguf_get_array_i32(g, "tokenizer.ggml.token_type", types, n_vocab, &err) == TFM_OK &&
             tfm_gguf_writer_add_array_string(w, "tokenizer.ggml.tokens", pieces, lens, n_vocab - 1, &err) == TFM_OK &&
             tfm_gguf_writer_add_array(w, "tokenizer.ggml.scores", TFM_GGUF_F32, scores, n_vocab - 1, &err) == TFM_OK &&
             tfm_gguf_writer_add_array(w, "tokenizer.ggml.token_type", TFM_GGUF_I32, types, n_vocab - 1, &err) == TFM_OK;
    }
    n = tfm_gguf_n_tensors(g);
    for (i = 0; ok && i < n; i++) {
        const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, i);
        tfm_tensor view;
        int64_t ne[TFM_MAX_DIMS];
        if (v->drop_tensor && strcmp(t->name, v->drop_tensor) == 0) continue;
        memcpy(ne, t->ne, sizeof ne);
        if (v->tensor && strcmp(t->name, v->tensor) == 0) {
            if (v->tensor_cols > 0) ne[0] = v->tensor_cols;
            if (v->tensor_rows > 0) ne[1] = v->tensor_rows;
        }
        ok = tfm_gguf_tensor_view(g, i, &view) == TFM_OK &&
             tfm_gguf_writer_add_tensor(w, t->name, t->dtype, t->n_dims, ne, view.data, &err) == TFM_OK;
    }
    if (ok) {
        *size = (size_t)tfm_gguf_writer_size(w);
        buf = tt_alloc(*size);
        ok = tfm_gguf_writer_write_buffer(w, buf, *size, &err) == TFM_OK;
    }
    if (!ok) {
        fprintf(stderr, "  writing a variant: %s\n", err.message);
        free(buf);
        buf = NULL;
    }
    free((void *)pieces), free(lens), free(scores), free(types);
    tfm_gguf_writer_free(w);
    return buf;
}

/* Loads a variant: its status, the message in err, and the model if it loaded (else NULL). */
static tfm_status load_variant(const variant *v, tfm_model **out, void **buf, tfm_error *err)
{
    const char *path = tt_shared("models/stories260K.gguf");
    tfm_gguf *g;
    size_t size = 0;
    tfm_status s;
    *out = NULL;
    *buf = NULL;
    if (!path || tfm_gguf_open(&g, path, 0, err) != TFM_OK) return TFM_ERR_IO;
    *buf = write_variant(g, v, &size);
    tfm_gguf_close(g);
    if (!*buf) return TFM_ERR_IO;
    s = tfm_model_load_memory(*buf, size, out, err);
    return s;
}

/* A bad variant fails with `want` and a message holding `says`. */
static int expect_bad(const variant *v, tfm_status want, const char *says, const char *what)
{
    tfm_model *m;
    tfm_error err;
    void *buf;
    tfm_status s = load_variant(v, &m, &buf, &err);
    int ok = s == want && !m && strstr(err.message, says) != NULL && strchr(err.message, '\n') == NULL;
    if (!ok)
        tt_fail(__FILE__, __LINE__, "%s: status %d (want %d), message '%s' (want '%s')", what, (int)s, (int)want,
                err.message, says);
    tfm_model_free(m);
    free(buf);
    return ok;
}

static void test_bad_models(void)
{
    variant v;
    if (!tt_shared("models/stories260K.gguf")) TT_SKIP("stories260K.gguf is missing");
#define BAD(what, status, says, ...)                                 \
    do {                                                             \
        memset(&v, 0, sizeof v);                                     \
        __VA_ARGS__;                                                 \
        if (!expect_bad(&v, status, says, what)) return;             \
    } while (0)
    BAD("missing tensor", TFM_ERR_FORMAT, "blk.2.ffn_up.weight", v.drop_tensor = "blk.2.ffn_up.weight");
    BAD("missing output_norm", TFM_ERR_FORMAT, "output_norm.weight", v.drop_tensor = "output_norm.weight");
    BAD("missing embedding", TFM_ERR_FORMAT, "token_embd.weight", v.drop_tensor = "token_embd.weight");
    BAD("wrong shape", TFM_ERR_FORMAT, "blk.1.attn_k.weight", v.tensor = "blk.1.attn_k.weight", v.tensor_rows = 16);
    BAD("wrong shape of a norm", TFM_ERR_FORMAT, "blk.3.ffn_norm.weight", v.tensor = "blk.3.ffn_norm.weight",
        v.tensor_cols = 32);
    BAD("embedding too narrow", TFM_ERR_FORMAT, "token_embd.weight", v.tensor = "token_embd.weight", v.tensor_cols = 32);
    BAD("unknown architecture", TFM_ERR_UNSUPPORTED, "architecture 'mamba' is not supported (llama, qwen2",
        v.set_key = "general.architecture", v.set_str = "mamba");
    BAD("no architecture", TFM_ERR_FORMAT, "general.architecture", v.drop_key = "general.architecture");
    BAD("zero heads", TFM_ERR_FORMAT, "n_heads 0", v.set_key = "llama.attention.head_count", v.set_u32 = 0);
    BAD("kv heads not dividing", TFM_ERR_FORMAT, "does not divide", v.set_key = "llama.attention.head_count_kv",
        v.set_u32 = 3);
    BAD("heads not dividing dim", TFM_ERR_FORMAT, "does not divide", v.set_key = "llama.attention.head_count",
        v.set_u32 = 7);
    BAD("zero layers", TFM_ERR_FORMAT, "n_layers 0", v.set_key = "llama.block_count", v.set_u32 = 0);
    BAD("more layers than tensors", TFM_ERR_FORMAT, "block_count", v.set_key = "llama.block_count", v.set_u32 = 1000000);
    BAD("one layer too many", TFM_ERR_FORMAT, "block_count 6", v.set_key = "llama.block_count", v.set_u32 = 6);
    BAD("absurd width", TFM_ERR_FORMAT, "absurd", v.set_key = "llama.embedding_length", v.set_u32 = 0x80000000u);
    BAD("missing width", TFM_ERR_FORMAT, "llama.embedding_length", v.drop_key = "llama.embedding_length");
    BAD("missing epsilon", TFM_ERR_FORMAT, "layer_norm_rms_epsilon", v.drop_key = "llama.attention.layer_norm_rms_epsilon");
    BAD("width of a string", TFM_ERR_FORMAT, "llama.embedding_length", v.set_key = "llama.embedding_length",
        v.set_str = "64");
    BAD("hidden width off", TFM_ERR_FORMAT, "blk.0.ffn_gate.weight", v.set_key = "llama.feed_forward_length",
        v.set_u32 = 171);
    BAD("rope dims odd", TFM_ERR_FORMAT, "rope_dim", v.set_key = "llama.rope.dimension_count", v.set_u32 = 7);
    BAD("unknown tokenizer model", TFM_ERR_UNSUPPORTED, "'rwkv'", v.set_key = "tokenizer.ggml.model", v.set_str = "rwkv");
    BAD("gpt2 vocab without merges", TFM_ERR_FORMAT, "tokenizer.ggml.merges", v.set_key = "tokenizer.ggml.model",
        v.set_str = "gpt2");
    BAD("vocab one short", TFM_ERR_FORMAT, "511", v.drop_last_token = 1);
    BAD("BOS outside the vocab", TFM_ERR_FORMAT, "bos_token_id", v.set_key = "tokenizer.ggml.bos_token_id",
        v.set_u32 = 512);
    BAD("experts without expert_used_count", TFM_ERR_FORMAT, "llama.expert_used_count 0",
        v.set_key = "llama.expert_count", v.set_u32 = 8);
    BAD("expert_used_count without experts", TFM_ERR_FORMAT, "llama.expert_used_count 2",
        v.set_key = "llama.expert_used_count", v.set_u32 = 2);
    BAD("rope scaling", TFM_ERR_UNSUPPORTED, "RoPE scaling 'yarn' (llama.rope.scaling.type) is not supported",
        v.set_key = "llama.rope.scaling.type", v.set_str = "yarn");
#undef BAD
}

/* Variants that load: no classifier (tied to the embedding, which stories260K's classifier equals), no
   vocab, "none" as an id, explicit defaults. */
static void test_good_variants(void)
{
    tfm_model *base = load_shared("models/stories260K.gguf"), *m;
    tfm_context *cb, *cm;
    tfm_error err;
    variant v;
    void *buf;
    float lb[3 * 512], lm[3 * 512];
    int tokens[3] = {1, 403, 407};
    if (!base) TT_SKIP("stories260K.gguf is missing");
    cb = new_context(base, 16, 1);
    TT_ASSERT(cb && tfm_forward(cb, tokens, 3, lb, TFM_LOGITS_ALL, &err) == TFM_OK, "base forward");

    memset(&v, 0, sizeof v);
    v.drop_tensor = "output.weight";
    TT_ASSERT(load_variant(&v, &m, &buf, &err) == TFM_OK, "tied: %s", err.message);
    TT_ASSERT(m->output.tensor.data == m->token_embd.data, "the classifier is the embedding");
    cm = new_context(m, 16, 1);
    TT_ASSERT(cm && tfm_forward(cm, tokens, 3, lm, TFM_LOGITS_ALL, &err) == TFM_OK, "tied forward");
    TT_ASSERT(memcmp(lb, lm, sizeof lb) == 0, "tied logits differ");
    tfm_context_free(cm), tfm_model_free(m), free(buf);

    memset(&v, 0, sizeof v);
    v.drop_key = "tokenizer.ggml.tokens";
    TT_ASSERT(load_variant(&v, &m, &buf, &err) == TFM_OK, "no vocab: %s", err.message);
    TT_ASSERT(!tfm_model_tokenizer(m) && m->config.vocab_size == 512, "no tokenizer, vocab from token_embd");
    tfm_model_free(m), free(buf);

    memset(&v, 0, sizeof v);
    v.set_key = "tokenizer.ggml.eos_token_id", v.set_u32 = 0xFFFFFFFFu;
    TT_ASSERT(load_variant(&v, &m, &buf, &err) == TFM_OK, "eos none: %s", err.message);
    TT_ASSERT(tfm_tokenizer_eos(tfm_model_tokenizer(m)) == -1, "eos none");
    tfm_model_free(m), free(buf);

    memset(&v, 0, sizeof v);
    v.set_key = "llama.attention.head_count_kv", v.set_u32 = 4;
    TT_ASSERT(load_variant(&v, &m, &buf, &err) == TFM_OK, "explicit kv heads: %s", err.message);
    tfm_model_free(m), free(buf);

    tfm_context_free(cb);
    tfm_model_free(base);
}

/* Files cut short anywhere fail with a message (the reader checks every offset; the loader never reads a
   tensor the reader has not bounded). */
static void test_truncated_files(void)
{
    const char *path = tt_shared("models/stories260K-q8_0-mixed.gguf");
    unsigned char *data, *copy;
    size_t size, cut;
    if (!path || !(data = (unsigned char *)tt_read_file(path, &size))) TT_SKIP("stories260K-q8_0-mixed.gguf is missing");
    for (cut = 0; cut < size; cut += cut < 20000 ? 997 : 9973) {
        tfm_model *m = NULL;
        tfm_error err;
        copy = (unsigned char *)tt_alloc(cut + 1);
        memcpy(copy, data, cut);
        TT_ASSERT(tfm_model_load_memory(copy, cut, &m, &err) != TFM_OK && !m, "a file cut at %zu loaded", cut);
        TT_ASSERT(err.message[0] != '\0' || cut == 0, "no message at %zu", cut);
        free(copy);
    }
    free(data);
}

int main(void)
{
    TT_RUN(test_config_from_keys);
    TT_RUN(test_logits_equal_llama2c);
    TT_RUN(test_tokenizer_cases);
    TT_RUN(test_greedy_f32_equals_llama2c);
    TT_RUN(test_greedy_f16_equals_llamacpp);
    TT_RUN(test_greedy_q8_0_mixed_prefix);
    TT_RUN(test_perplexity_protocol);
    TT_RUN(test_bad_models);
    TT_RUN(test_good_variants);
    TT_RUN(test_truncated_files);
    TT_RUN(test_perplexity_f32_llamacpp);
    TT_RUN(test_perplexity_f16_llamacpp);
    TT_RUN(test_perplexity_q8_0_mixed_llamacpp);
    TT_RUN(test_perplexity_synth15M_q8_0_llamacpp);
    TT_RUN(test_perplexity_synth15M_q4_0_llamacpp);
    return tt_summary("gguf_model");
}

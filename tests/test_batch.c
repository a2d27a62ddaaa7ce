/* test_batch.c - tfm_forward_batch: n sequences decoded in one step, each weight matrix multiplied once
   for all of them. The reference is each context decoding alone with tfm_forward: the logits of every
   step and the contexts afterwards (tokens, and the next step's logits) must be equal bit for bit, for
   1..8 sequences at different positions, with 1 and 2 threads, on full and sliding-window caches; the
   quantized models of ../shared (Q4_0 with a Q6_K classifier, Q8_0; skipped when absent) share the
   weights, a model with f16 matrices takes the one-by-one path. Bad calls change nothing. */
#include "tfm_test.h"

#include "tfm_model.h"

enum { MAX_SEQ = 8, STEPS = 2 };

static tfm_model *load_shared(const char *rel)
{
    const char *path = tt_shared(rel);
    tfm_model *m = NULL;
    tfm_model_options o;
    tfm_error err;
    memset(&o, 0, sizeof o);
    o.no_vocab = 1; /* token ids only */
    if (path && tfm_model_load(path, &o, &m, &err) != TFM_OK) fprintf(stderr, "  %s: %s\n", rel, err.message);
    return m;
}

static tfm_context *new_context(const tfm_model *m, const char *attn, int threads)
{
    tfm_context_params p;
    tfm_context *ctx = NULL;
    tfm_error err;
    memset(&p, 0, sizeof p);
    p.context_length = 64;
    p.n_threads = threads;
    p.max_batch = MAX_SEQ;
    p.attn = attn;
    if (tfm_context_create(m, &p, &ctx, &err) != TFM_OK) fprintf(stderr, "  context: %s\n", err.message);
    return ctx;
}

/* Sequence i's prompt: 1 + 2 i tokens (so the sequences sit at different positions; a window of 8 has
   wrapped for the longer ones by the end). */
static int prompt_of(int i, int vocab, int *t)
{
    int n = 1 + 2 * i, j;
    for (j = 0; j < n; j++) t[j] = (int)((7919u * (unsigned)(i * 31 + j) + 17u) % (unsigned)vocab);
    return n;
}

/* n sequences: decoded alone and batched, STEPS steps; 1 when every logit and token agree. */
static int compare(const tfm_model *m, const char *attn, int n, int threads)
{
    const int vocab = m->config.vocab_size;
    tfm_context *alone[MAX_SEQ], *batched[MAX_SEQ];
    float *want = (float *)tt_alloc(sizeof(float) * (size_t)vocab * MAX_SEQ);
    float *got = (float *)tt_alloc(sizeof(float) * (size_t)vocab * MAX_SEQ);
    int tokens[MAX_SEQ], prompt[64], i, step, ok = 1;
    tfm_error err;
    for (i = 0; i < n; i++) {
        int len = prompt_of(i, vocab, prompt);
        alone[i] = new_context(m, attn, threads), batched[i] = new_context(m, attn, threads);
        if (!alone[i] || !batched[i] || tfm_forward(alone[i], prompt, len, want, TFM_LOGITS_LAST, &err) != TFM_OK ||
            tfm_forward(batched[i], prompt, len, got, TFM_LOGITS_LAST, &err) != TFM_OK)
            ok = 0;
        tokens[i] = (int)tfm_argmax(want, (size_t)vocab);
    }
    for (step = 0; step < STEPS && ok; step++) {
        for (i = 0; i < n && ok; i++)
            ok = tfm_forward(alone[i], &tokens[i], 1, want + (size_t)i * (size_t)vocab, TFM_LOGITS_LAST, &err) == TFM_OK;
        ok = ok && tfm_forward_batch(batched, tokens, n, got, &err) == TFM_OK;
        if (!ok) fprintf(stderr, "  step %d: %s\n", step, err.message);
        for (i = 0; i < n && ok; i++) {
            const float *row = want + (size_t)i * (size_t)vocab;
            ok = !memcmp(row, got + (size_t)i * (size_t)vocab, sizeof(float) * (size_t)vocab) &&
                 !memcmp(row, tfm_context_logits(batched[i]), sizeof(float) * (size_t)vocab) &&
                 tfm_context_pos(batched[i]) == tfm_context_pos(alone[i]) &&
                 !memcmp(tfm_context_tokens(batched[i]), tfm_context_tokens(alone[i]),
                         sizeof(int) * (size_t)tfm_context_pos(alone[i]));
            if (!ok) fprintf(stderr, "  %s, %d sequences, %d threads: sequence %d differs at step %d\n", attn, n, threads, i, step);
            tokens[i] = (int)tfm_argmax(row, (size_t)vocab);
        }
    }
    for (i = 0; i < n; i++) tfm_context_free(alone[i]), tfm_context_free(batched[i]);
    free(want), free(got);
    return ok;
}

/* Sequence counts, attention kinds and thread counts: the fast configurations the range 1..8 at 1 and
   2 threads on full and window caches; the slow ones (sanitizers, scalar, emulation) a corner of it. */
static void run_model(const char *rel, int wide)
{
    static const int counts[] = {1, 2, 3, 5, 8}, quick_counts[] = {2, 5};
    static const char *const attns[2] = {"flash", "window:8"};
    tfm_model *m = load_shared(rel);
    int quick = tt_quick() || !wide, n_counts = quick ? 2 : 5, k, threads, a;
    if (!m) TT_SKIP("the model of ../shared is missing");
    for (a = 0; a < (quick ? 1 : 2); a++)
        for (threads = quick ? 2 : 1; threads <= 2; threads++)
            for (k = 0; k < n_counts; k++) {
                const char *attn = attns[quick ? 1 - a : a];
                int n = quick ? quick_counts[k] : counts[k], ok = compare(m, attn, n, threads);
                TT_ASSERT(ok, "%s: %s, %d sequences, %d threads", rel, attn, n, threads);
            }
    tfm_model_free(m);
}

static void test_q4_0(void) { run_model("models/synth15M-q4_0.gguf", 1); }
static void test_q8_0(void)
{
    if (tt_quick()) TT_SKIP("left to the fast configurations (q4_0 covers each path)");
    run_model("models/synth15M-q8_0.gguf", 0);
}

/* f16 ffn_down: the one-by-one path, the same results */
static void test_mixed_f16(void)
{
    tfm_model *m = load_shared("models/stories260K-q8_0-mixed.gguf");
    if (!m) TT_SKIP("stories260K-q8_0-mixed.gguf is missing");
    TT_CHECK(compare(m, "flash", 5, 2));
    tfm_model_free(m);
}

static void test_bad_calls(void)
{
    tfm_model *m = load_shared("models/synth15M-q8_0.gguf");
    tfm_context *c[3], *same[2], *small;
    tfm_context_params p;
    tfm_error err;
    int tokens[3] = {1, 2, 3}, bad[3] = {1, -1, 3};
    float *logits;
    if (!m) TT_SKIP("synth15M-q8_0.gguf is missing");
    logits = (float *)tt_alloc(sizeof(float) * (size_t)m->config.vocab_size * 3);
    c[0] = new_context(m, "flash", 1), c[1] = new_context(m, "flash", 1), c[2] = new_context(m, "flash", 1);
    memset(&p, 0, sizeof p);
    p.context_length = 1, p.max_batch = 2;
    TT_ASSERT(tfm_context_create(m, &p, &small, &err) == TFM_OK, "%s", err.message);
    same[0] = c[0], same[1] = c[0];
    TT_CHECK(tfm_forward_batch(c, bad, 3, logits, &err) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_forward_batch(same, tokens, 2, logits, &err) == TFM_ERR_INVALID_ARGUMENT && strstr(err.message, "same"));
    TT_CHECK(tfm_forward_batch(NULL, tokens, 2, logits, &err) == TFM_ERR_INVALID_ARGUMENT);
    /* more sequences than the first context's max_batch; then a full context */
    {
        tfm_context *over[3];
        over[0] = small, over[1] = c[1], over[2] = c[2];
        TT_CHECK(tfm_forward_batch(over, tokens, 3, logits, &err) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(tfm_forward(small, tokens, 1, NULL, TFM_LOGITS_LAST, &err) == TFM_OK);
        over[0] = c[0], over[1] = small;
        TT_CHECK(tfm_forward_batch(over, tokens, 2, logits, &err) == TFM_ERR_CONTEXT_FULL);
    }
    TT_CHECK(tfm_context_pos(c[0]) == 0 && tfm_context_pos(c[1]) == 0 && tfm_context_pos(c[2]) == 0);
    /* no logits: the step runs, the contexts hold no logits */
    TT_CHECK(tfm_forward_batch(c, tokens, 3, NULL, &err) == TFM_OK);
    TT_CHECK(tfm_context_pos(c[2]) == 1 && tfm_context_tokens(c[2])[0] == 3 && !tfm_context_logits(c[2]));
    tfm_context_free(c[0]), tfm_context_free(c[1]), tfm_context_free(c[2]), tfm_context_free(small);
    free(logits);
    tfm_model_free(m);
}

int main(void)
{
    TT_RUN(test_q4_0);
    TT_RUN(test_q8_0);
    TT_RUN(test_mixed_f16);
    TT_RUN(test_bad_calls);
    return tt_summary("batch");
}

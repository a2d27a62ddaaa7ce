/* test_generate.c - tfm_generate.h: generation, stops, streaming, conversations, continuations.

   Two models. A "chain" model built here, whose next token is a fixed function of the current one
   (embeddings one-hot, every block's output matrix zero, the classifier pointing each token at its
   successor), with a vocab written here: generation follows a known path through known pieces, so the
   stops, split stop strings and UTF-8 characters split over byte tokens are checked exactly. And
   ../shared/models/stories260K.gguf (skipped when absent), against a hand-written loop of tfm_forward
   and the sampler (the reference is that loop, not tfm_generate), for the continuations (fork,
   save/load, rewind) and a conversation's prefill counts. */
#include "tfm_test.h"

#include "tfm_generate.h"

/* ---------------------------------------------------------------- the chain model */

enum { CV = 16, CD = 16 };

/* BOS -> Hello -> ▁wor -> ld -> <0xE2> <0x82> <0xAC> (the euro sign) -> ▁end -> EOS */
static const char *const chain_pieces[CV] = {"<unk>", "<s>", "</s>", "Hello", "\xe2\x96\x81wor", "ld", "<0xE2>", "<0x82>",
                                             "<0xAC>", "\xe2\x96\x81\x65nd", "x", "y", "z", "w", "v", "u"};
static const int chain_next[CV] = {0, 3, 2, 4, 5, 6, 7, 8, 9, 2, 10, 11, 12, 13, 14, 15};
static const char chain_text[] = "Hello world\xe2\x82\xac end";

typedef struct chain {
    float *file, *embd, *cls;
    tfm_model *model;
    tfm_tokenizer *tok;
} chain;

static void chain_free(chain *c)
{
    tfm_tokenizer_free(c->tok);
    tfm_model_free(c->model);
    free(c->file), free(c->embd), free(c->cls);
}

static int chain_make(chain *c)
{
    size_t size;
    tfm_error err;
    int t, l, i;
    memset(c, 0, sizeof *c);
    c->file = tt_llama2c_model(CD, 24, 2, 4, 2, CV, 32, 7, &size);
    if (tfm_model_load_memory(c->file, size, &c->model, &err) != TFM_OK ||
        tfm_tokenizer_from_vocab(&c->tok, CV, chain_pieces, NULL, NULL, NULL, 1, 2, &err) != TFM_OK) {
        fprintf(stderr, "  chain: %s\n", err.message);
        return 0;
    }
    /* the residual stream stays the token's one-hot embedding: no block adds anything */
    for (l = 0; l < c->model->config.n_layers; l++) {
        tfm_layer *L = &c->model->layers[l];
        memset(L->wo.tensor.data, 0, sizeof(float) * (size_t)CD * CD);
        memset(L->ffn_down.tensor.data, 0, sizeof(float) * (size_t)CD * (size_t)c->model->config.hidden_dim);
    }
    c->embd = (float *)tt_alloc(sizeof(float) * CV * CD);
    c->cls = (float *)tt_alloc(sizeof(float) * CV * CD);
    memset(c->embd, 0, sizeof(float) * CV * CD);
    memset(c->cls, 0, sizeof(float) * CV * CD);
    for (t = 0; t < CV; t++) {
        c->embd[t * CD + t] = 1.0f;
        c->cls[chain_next[t] * CD + t] = 10.0f; /* logit of next(t) = 10 x norm(e_t)[t], every other 0 */
    }
    c->model->token_embd.data = c->embd;
    c->model->output.tensor = c->model->token_embd;
    c->model->output.tensor.data = c->cls;
    for (i = 0; i < CD; i++) ((float *)c->model->output_norm.data)[i] = 1.0f;
    if (tfm_model_check(c->model, &err) != TFM_OK) {
        fprintf(stderr, "  chain: %s\n", err.message);
        return 0;
    }
    return 1;
}

static tfm_context *new_context(const tfm_model *m, int length, int threads)
{
    tfm_context_params p;
    tfm_context *ctx = NULL;
    tfm_error err;
    memset(&p, 0, sizeof p);
    p.context_length = length;
    p.n_threads = threads;
    p.max_batch = 8; /* longer prompts run in chunks */
    if (tfm_context_create(m, &p, &ctx, &err) != TFM_OK) fprintf(stderr, "  context: %s\n", err.message);
    return ctx;
}

/* What the callback received: the text, the number of pieces, whether each was whole UTF-8. */
typedef struct received {
    char text[4096];
    size_t len;
    int pieces, broken;
    int stop_at;               /* return nonzero at this piece (1-based), 0: never */
    int abort_at;              /* set *abort_flag at this piece */
    volatile int *abort_flag;
} received;

/* 1 when s[0..n) is whole UTF-8 characters. */
static int whole_utf8(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0, k;
        if (!len || i + len > n) return 0;
        for (k = 1; k < len; k++)
            if (((unsigned char)s[i + k] >> 6) != 2) return 0;
        i += len;
    }
    return 1;
}

static int on_piece(void *user, const char *text, size_t len)
{
    received *r = (received *)user;
    if (len == 0 || r->len + len >= sizeof r->text) r->broken = 1;
    else {
        memcpy(r->text + r->len, text, len);
        r->len += len;
        r->text[r->len] = '\0';
    }
    if (!whole_utf8(text, len)) r->broken = 1;
    r->pieces++;
    if (r->abort_at && r->pieces == r->abort_at) *r->abort_flag = 1;
    return r->stop_at && r->pieces == r->stop_at;
}

/* Generates on the chain from BOS alone with the given stops, budget, context length. */
static tfm_status chain_run(chain *c, const char *const *stop, int n_stop, int budget, int length, received *r,
                            tfm_generate_stats *st)
{
    static const int bos = 1;
    tfm_generate_params p;
    tfm_context *ctx = new_context(c->model, length, 1);
    tfm_error err;
    tfm_status s;
    if (!ctx) return TFM_ERR_OUT_OF_MEMORY;
    memset(&p, 0, sizeof p);
    p.stop = stop, p.n_stop = n_stop, p.max_tokens = budget, p.on_piece = on_piece, p.user = r;
    p.abort = r->abort_flag;
    s = tfm_generate_prompt_tokens(ctx, NULL, &bos, 1, &p, st, &err);
    if (s == TFM_OK) s = tfm_generate_continue(ctx, c->tok, NULL, &p, st, &err);
    if (s != TFM_OK) fprintf(stderr, "  generate: %s\n", err.message);
    else if (tfm_context_pos(ctx) != 1 + st->n_generated) s = TFM_ERR_INVALID_ARGUMENT; /* every token fed back */
    tfm_context_free(ctx);
    return s;
}

static void test_chain_stops(void)
{
    static const char *const orld[1] = {"orld"}, *const euro[2] = {"zz", "\xe2\x82\xac"}, *const endx[1] = {"endx"};
    chain c;
    received r;
    tfm_generate_stats st;
    volatile int flag = 0;
    TT_ASSERT(chain_make(&c), "the chain model");

    /* to the end of generation: the whole text, the euro sign (three byte tokens) in one piece */
    memset(&r, 0, sizeof r);
    TT_CHECK(chain_run(&c, NULL, 0, 0, 32, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_EOG && st.n_generated == 7 && !strcmp(r.text, chain_text) && !r.broken,
              "stop %s after %d tokens, text '%s'", tfm_stop_reason_name(st.stop), st.n_generated, r.text);
    TT_CHECK(st.n_prompt == 1 && st.n_prefilled == 1 && st.n_reused == 0 && st.stop_string == -1);

    /* a stop string split over two pieces ("▁wor" + "ld"): the text ends before it */
    memset(&r, 0, sizeof r);
    TT_CHECK(chain_run(&c, orld, 1, 0, 32, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_STRING && st.stop_string == 0 && !strcmp(r.text, "Hello w") && st.n_generated == 3,
              "stop %s, text '%s'", tfm_stop_reason_name(st.stop), r.text);
    /* a stop string that is one character over three tokens; the other never appears */
    memset(&r, 0, sizeof r);
    TT_CHECK(chain_run(&c, euro, 2, 0, 32, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_STRING && st.stop_string == 1 && !strcmp(r.text, "Hello world") && !r.broken,
              "stop %s, text '%s'", tfm_stop_reason_name(st.stop), r.text);
    /* the beginning of a stop string at the end is text after all */
    memset(&r, 0, sizeof r);
    TT_CHECK(chain_run(&c, endx, 1, 0, 32, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_EOG && !strcmp(r.text, chain_text), "text '%s'", r.text);

    /* budgets: two tokens; four (the euro sign's first byte left over, passed on as it is at the end) */
    memset(&r, 0, sizeof r);
    TT_CHECK(chain_run(&c, NULL, 0, 2, 32, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_BUDGET && st.n_generated == 2 && !strcmp(r.text, "Hello wor"), "text '%s'", r.text);
    memset(&r, 0, sizeof r);
    TT_CHECK(chain_run(&c, NULL, 0, 4, 32, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_BUDGET && st.n_generated == 4 && !strcmp(r.text, "Hello world\xe2"), "text '%s'",
              r.text);

    /* the callback stops it; an abort flag set during generation; set before the call */
    memset(&r, 0, sizeof r);
    r.stop_at = 2;
    TT_CHECK(chain_run(&c, NULL, 0, 0, 32, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_CALLBACK && st.n_generated == 2 && !strcmp(r.text, "Hello wor"), "text '%s'", r.text);
    memset(&r, 0, sizeof r);
    r.abort_at = 1, r.abort_flag = &flag;
    TT_CHECK(chain_run(&c, NULL, 0, 0, 32, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_ABORT && st.n_generated == 1 && !strcmp(r.text, "Hello"), "abort: %s '%s'",
              tfm_stop_reason_name(st.stop), r.text);
    memset(&r, 0, sizeof r);
    flag = 1, r.abort_flag = &flag;
    {
        static const int bos = 1;
        tfm_generate_params p;
        tfm_context *ctx = new_context(c.model, 32, 1);
        tfm_error err;
        memset(&p, 0, sizeof p);
        p.abort = &flag;
        TT_ASSERT(ctx, "context");
        TT_CHECK(tfm_generate_prompt_tokens(ctx, NULL, &bos, 1, &p, &st, &err) == TFM_OK);
        TT_CHECK(st.stop == TFM_STOP_ABORT && st.n_prefilled == 0 && tfm_context_pos(ctx) == 0);
        tfm_context_free(ctx);
    }
    /* a full context: BOS and four tokens in five positions */
    memset(&r, 0, sizeof r);
    TT_CHECK(chain_run(&c, NULL, 0, 0, 5, &r, &st) == TFM_OK);
    TT_ASSERT(st.stop == TFM_STOP_CONTEXT_FULL && st.n_generated == 4, "stop %s after %d", tfm_stop_reason_name(st.stop),
              st.n_generated);
    chain_free(&c);
}

static void test_bad_arguments(void)
{
    static const char *const empty[1] = {""};
    static const int bos = 1, bad = CV;
    chain c;
    tfm_context *ctx;
    tfm_generate_params p;
    tfm_generate_stats st;
    tfm_error err;
    TT_ASSERT(chain_make(&c), "the chain model");
    ctx = new_context(c.model, 4, 1);
    TT_ASSERT(ctx, "context");
    memset(&p, 0, sizeof p);
    /* no logits yet; an out-of-vocab token; a prompt longer than the context; an empty stop string */
    TT_CHECK(tfm_generate_continue(ctx, c.tok, NULL, &p, &st, &err) == TFM_ERR_INVALID_ARGUMENT && err.message[0]);
    TT_CHECK(tfm_generate_prompt_tokens(ctx, NULL, &bad, 1, &p, &st, &err) == TFM_ERR_OUT_OF_RANGE);
    {
        int five[5] = {1, 3, 4, 5, 6};
        TT_CHECK(tfm_generate_prompt_tokens(ctx, NULL, five, 5, &p, &st, &err) == TFM_ERR_CONTEXT_FULL);
    }
    TT_CHECK(tfm_generate_prompt_tokens(ctx, NULL, &bos, 1, &p, &st, &err) == TFM_OK);
    p.stop = empty, p.n_stop = 1;
    TT_CHECK(tfm_generate_continue(ctx, c.tok, NULL, &p, &st, &err) == TFM_ERR_INVALID_ARGUMENT);
    p.n_stop = 0, p.max_tokens = -1;
    TT_CHECK(tfm_generate_continue(ctx, c.tok, NULL, &p, &st, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_generate(NULL, c.tok, NULL, "x", 1, NULL, NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
    tfm_context_free(ctx);
    chain_free(&c);
}

/* ---------------------------------------------------------------- stories260K */

static tfm_model *stories(void)
{
    const char *path = tt_shared("models/stories260K.gguf");
    tfm_model *m = NULL;
    tfm_error err;
    if (path && tfm_model_load(path, NULL, &m, &err) != TFM_OK) fprintf(stderr, "  %s: %s\n", path, err.message);
    return m;
}

static tfm_sampler *sampler_of(const tfm_model *m, float temperature, uint64_t seed)
{
    tfm_sampler_params sp;
    tfm_sampler *s = NULL;
    tfm_error err;
    tfm_sampler_params_default(&sp);
    sp.temperature = temperature, sp.seed = seed;
    if (tfm_sampler_create(&s, m->config.vocab_size, &sp, &err) != TFM_OK) fprintf(stderr, "  sampler: %s\n", err.message);
    return s;
}

/* The loop a program wrote before tfm_generate: tokenize (BOS, special tokens), prefill, then sample,
   stop at an end-of-generation token, feed back. The tokens after the prompt into out; their count. */
static int hand_loop(const tfm_model *m, const char *prompt, float temperature, uint64_t seed, int budget, int threads,
                     int *out)
{
    const tfm_tokenizer *tok = tfm_model_tokenizer(m);
    tfm_context *ctx = new_context(m, 256, threads);
    tfm_sampler *s = sampler_of(m, temperature, seed);
    float *logits = (float *)tt_alloc(sizeof(float) * (size_t)m->config.vocab_size);
    int ids[256], n = 0, i, done = 0;
    tfm_error err;
    if (ctx && s &&
        tfm_tokenize(tok, prompt, strlen(prompt), TFM_TOKENIZE_ADD_SPECIAL | TFM_TOKENIZE_PARSE_SPECIAL, ids, 256, &n,
                     &err) == TFM_OK &&
        tfm_forward(ctx, ids, n, logits, TFM_LOGITS_LAST, &err) == TFM_OK) {
        for (i = 0; i < n; i++) tfm_sampler_accept(s, ids[i]);
        while (done < budget) {
            int next;
            if (tfm_sampler_sample(s, logits, &next, NULL) != TFM_OK || tfm_tokenizer_is_eog(tok, next)) break;
            out[done++] = next;
            if (tfm_forward(ctx, &next, 1, logits, TFM_LOGITS_LAST, &err) != TFM_OK) break;
        }
    }
    free(logits);
    tfm_sampler_free(s);
    tfm_context_free(ctx);
    return done;
}

static void test_equals_hand_loop(void)
{
    static const struct {
        float temperature;
        uint64_t seed;
        int threads;
    } runs[] = {{0.0f, 0, 1}, {0.8f, 42, 1}, {1.0f, 7, 2}};
    const char *prompt = "Once upon a time, there was a little";
    tfm_model *m = stories();
    size_t r;
    if (!m) TT_SKIP("stories260K.gguf is missing");
    for (r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        int want[64], n_want = hand_loop(m, prompt, runs[r].temperature, runs[r].seed, 48, 1, want);
        tfm_context *ctx = new_context(m, 256, runs[r].threads);
        tfm_sampler *s = sampler_of(m, runs[r].temperature, runs[r].seed);
        tfm_generate_params p;
        tfm_generate_stats st;
        tfm_error err;
        int ok;
        memset(&p, 0, sizeof p);
        p.max_tokens = 48;
        TT_ASSERT(ctx && s && n_want > 0, "setup");
        ok = tfm_generate(ctx, tfm_model_tokenizer(m), s, prompt, strlen(prompt), &p, &st, &err) == TFM_OK;
        TT_ASSERT(ok, "tfm_generate: %s", err.message);
        TT_ASSERT(st.n_generated == n_want && st.n_prompt + st.n_generated == tfm_context_pos(ctx) &&
                      !memcmp(tfm_context_tokens(ctx) + st.n_prompt, want, sizeof(int) * (size_t)n_want),
                  "run %d (temperature %.1f, %d threads): %d tokens, the loop %d", (int)r, runs[r].temperature,
                  runs[r].threads, st.n_generated, n_want);
        tfm_sampler_free(s);
        tfm_context_free(ctx);
    }
    tfm_model_free(m);
}

/* Continues ctx with a fresh seeded sampler; the tokens into out, their count. */
static int continue_from(tfm_context *ctx, const tfm_tokenizer *tok, const tfm_model *m, int budget, int *out)
{
    tfm_sampler *s = sampler_of(m, 0.9f, 1234);
    tfm_generate_params p;
    tfm_generate_stats st;
    tfm_error err;
    int start = tfm_context_pos(ctx), n = -1;
    memset(&p, 0, sizeof p);
    p.max_tokens = budget;
    if (s && tfm_generate_continue(ctx, tok, s, &p, &st, &err) == TFM_OK) {
        n = st.n_generated;
        memcpy(out, tfm_context_tokens(ctx) + start, sizeof(int) * (size_t)n);
    }
    tfm_sampler_free(s);
    return n;
}

static void test_continuations(void)
{
    const char *prompt = "Lily and Ben went to the park.";
    tfm_model *m = stories();
    const tfm_tokenizer *tok;
    tfm_context *a, *fork, *loaded;
    tfm_generate_params p;
    tfm_generate_stats st;
    tfm_error err;
    void *state;
    size_t size, written;
    int first[40], other[40], n_first, n, n_prompt;
    if (!m) TT_SKIP("stories260K.gguf is missing");
    tok = tfm_model_tokenizer(m);
    a = new_context(m, 128, 1), fork = new_context(m, 128, 2), loaded = new_context(m, 128, 1);
    TT_ASSERT(a && fork && loaded, "contexts");
    memset(&p, 0, sizeof p);
    TT_CHECK(tfm_generate_prompt(a, tok, NULL, prompt, strlen(prompt), &p, &st, &err) == TFM_OK);
    n_prompt = st.n_prompt;
    /* fork and save before continuing: all three continue alike */
    TT_CHECK(tfm_context_copy(fork, a, &err) == TFM_OK);
    size = tfm_context_state_size(a);
    state = tt_alloc(size);
    TT_CHECK(tfm_context_state_save(a, state, size, &written, &err) == TFM_OK && written == size);
    TT_CHECK(tfm_context_state_load(loaded, state, size, &err) == TFM_OK);
    free(state);
    n_first = continue_from(a, tok, m, 40, first);
    TT_ASSERT(n_first > 0, "a continuation");
    n = continue_from(fork, tok, m, 40, other);
    TT_CHECK(n == n_first && !memcmp(first, other, sizeof(int) * (size_t)n));
    n = continue_from(loaded, tok, m, 40, other);
    TT_CHECK(n == n_first && !memcmp(first, other, sizeof(int) * (size_t)n));
    /* the same prompt again on a context that went on: rewound to it, its last token run again */
    TT_CHECK(tfm_generate_prompt(a, tok, NULL, prompt, strlen(prompt), &p, &st, &err) == TFM_OK);
    TT_ASSERT(st.n_prompt == n_prompt && st.n_reused == n_prompt - 1 && st.n_prefilled == 1 &&
                  tfm_context_pos(a) == n_prompt,
              "again: %d reused, %d prefilled of %d", st.n_reused, st.n_prefilled, st.n_prompt);
    n = continue_from(a, tok, m, 40, other);
    TT_CHECK(n == n_first && !memcmp(first, other, sizeof(int) * (size_t)n));
    /* a loaded state holding the whole prompt with its logits prefills nothing (the prompt cache) */
    TT_CHECK(tfm_context_rewind(loaded, n_prompt, &err) == TFM_OK);
    TT_CHECK(tfm_generate_prompt(fork, tok, NULL, prompt, strlen(prompt), &p, &st, &err) == TFM_OK);
    TT_CHECK(st.n_prefilled == 1); /* fork went on too: its last prompt token runs again for the logits */
    TT_CHECK(tfm_generate_prompt(fork, tok, NULL, prompt, strlen(prompt), &p, &st, &err) == TFM_OK);
    TT_ASSERT(st.n_prefilled == 0 && st.n_reused == n_prompt, "held: %d prefilled", st.n_prefilled);
    tfm_context_free(a), tfm_context_free(fork), tfm_context_free(loaded);
    tfm_model_free(m);
}

/* Tokens of text without BOS, special tokens parsed (what tfm_generate_chat appends). */
static int count_tokens(const tfm_tokenizer *tok, const char *text, size_t len)
{
    int n = -1;
    tfm_error err;
    if (tfm_tokenize(tok, text, len, TFM_TOKENIZE_PARSE_SPECIAL, NULL, 0, &n, &err) != TFM_OK) return -1;
    return n;
}

static size_t render(const tfm_chat_template *t, const tfm_chat_message *m, int n, char *out, size_t cap)
{
    size_t len = 0;
    tfm_error err;
    if (tfm_chat_render(t, m, n, TFM_CHAT_ADD_ASSISTANT, out, cap, &len, &err) != TFM_OK) return 0;
    return len;
}

/* An answer as a template that trims answers renders it: without leading and trailing ASCII whitespace
   (the stories vocab's answers have no other). */
static void ascii_trim(const char *s, const char **b, size_t *len)
{
    const char *e = s + strlen(s);
    while (*s && strchr(" \t\n\r\v\f", *s)) s++;
    while (e > s && strchr(" \t\n\r\v\f", e[-1])) e--;
    *b = s, *len = (size_t)(e - s);
}

/* A conversation of ten turns: turn k prefills exactly the tokens of its own text (what follows the
   previous answer), the turns before are all reused; the whole conversation prefills no more than its
   turns alone would (the 1.1x target: here it is 1.0x by construction of the count). With
   ChatML, which keeps answers as they are, and Llama 3, which trims them: an answer generated with a
   leading space (as the stories model's are) is rendered without it, and still not prefilled again.
   Quick runs take three turns: the third reuses a context that was itself reused (each turn's f32
   forward is seconds of emulated FMA under qemu). */
static void conversation_prefix(tfm_model *m, const char *template_name)
{
    static const char *const questions[10] = {"Tell me a story.", "What happened next?", "Who was there?",
                                              "Was it fun?", "Why?", "And then?", "Where did they go?",
                                              "Was the dog happy?", "What did mom say?", "The end?"};
    const tfm_tokenizer *tok = tfm_model_tokenizer(m);
    const tfm_chat_template *t;
    tfm_chat_message msgs[21];
    static char answers[10][2048], before[16384], now[16384];
    tfm_context *ctx;
    tfm_generate_params p;
    received r;
    tfm_error err;
    int turn, n_msgs = 0, prefilled = 0, alone = 0, turns = tt_quick() ? 3 : 10, trims = 0;
    int trimming = strcmp(template_name, "chatml") != 0;
    ctx = new_context(m, 2048, 1);
    TT_ASSERT(ctx && tfm_chat_template_find(template_name, &t, &err) == TFM_OK, "setup %s", template_name);
    msgs[n_msgs].role = "system", msgs[n_msgs++].content = "You tell stories.";
    memset(&p, 0, sizeof p);
    p.max_tokens = 24, p.on_piece = on_piece, p.user = &r;
    for (turn = 0; turn < turns; turn++) {
        tfm_generate_stats st;
        size_t before_len = n_msgs > 1 ? render(t, msgs, n_msgs - 1, before, sizeof before) : 0, now_len;
        int pos = tfm_context_pos(ctx), want;
        msgs[n_msgs].role = "user", msgs[n_msgs++].content = questions[turn];
        now_len = render(t, msgs, n_msgs, now, sizeof now);
        TT_ASSERT(now_len > 0, "render");
        /* the new text: after the previous generation prompt and its answer (all of it on the first turn) */
        if (turn == 0) {
            want = 0;
            TT_CHECK(tfm_tokenize(tok, now, now_len, TFM_TOKENIZE_ADD_SPECIAL | TFM_TOKENIZE_PARSE_SPECIAL, NULL, 0,
                                  &want, &err) == TFM_OK);
        } else {
            const char *answer = msgs[n_msgs - 2].content;
            size_t answer_len = strlen(answer), skip;
            if (trimming) {
                const char *b;
                ascii_trim(answer, &b, &answer_len);
                trims += answer_len != strlen(answer);
                answer = b;
            }
            TT_ASSERT(memcmp(now + before_len, answer, answer_len) == 0, "%s turn %d: the answer is not where it was",
                      template_name, turn);
            skip = before_len + answer_len;
            want = count_tokens(tok, now + skip, now_len - skip);
        }
        memset(&r, 0, sizeof r);
        TT_ASSERT(tfm_generate_chat(ctx, tok, NULL, t, msgs, n_msgs, &p, &st, &err) == TFM_OK, "turn %d: %s", turn,
                  err.message);
        TT_ASSERT(st.n_prefilled == want && st.n_reused == pos && st.n_generated > 0,
                  "%s turn %d: prefilled %d (want %d), reused %d of the %d held", template_name, turn, st.n_prefilled,
                  want, st.n_reused, pos);
        prefilled += st.n_prefilled;
        alone += want;
        memcpy(answers[turn], r.text, r.len + 1);
        msgs[n_msgs].role = "assistant", msgs[n_msgs++].content = answers[turn];
    }
    TT_CHECK(prefilled == alone);
    if (trimming && !tt_quick()) TT_ASSERT(trims > 0, "%s: no answer was trimmed: the case is not tested", template_name);
    /* an edited history (the first answer changed) prefills from where the texts part, not from zero */
    {
        tfm_generate_stats st;
        int pos = tfm_context_pos(ctx);
        msgs[2].content = "Something else.";
        TT_CHECK(tfm_generate_chat(ctx, tok, NULL, t, msgs, n_msgs - 1, &p, &st, &err) == TFM_OK);
        TT_ASSERT(st.n_reused > 10 && st.n_reused < pos && st.n_prefilled > 0, "edited: reused %d", st.n_reused);
    }
    tfm_context_free(ctx);
}

static void test_conversation_prefix(void)
{
    tfm_model *m = stories();
    if (!m) TT_SKIP("stories260K.gguf is missing");
    conversation_prefix(m, "chatml");
    conversation_prefix(m, "llama3");
    tfm_model_free(m);
}

/* An answer made on purpose that the template does not render as it is (the generated ones above are the
   model's choice): the context holds the answer's tokens; the next turn reuses every position and
   prefills only the text after the rendered answer. */
static void trimmed_answer(tfm_model *m, const char *template_name, const int *answer, int n_answer, const char *content)
{
    const tfm_tokenizer *tok = tfm_model_tokenizer(m);
    const tfm_chat_template *t;
    tfm_chat_message msgs[3];
    static char before[4096], now[4096];
    size_t before_len, now_len;
    tfm_context *ctx = new_context(m, 512, 1);
    tfm_generate_params p;
    tfm_generate_stats st;
    tfm_error err;
    int pos, want;
    TT_ASSERT(ctx && tfm_chat_template_find(template_name, &t, &err) == TFM_OK, "setup %s", template_name);
    msgs[0].role = "user", msgs[0].content = "Tell me a story.";
    msgs[1].role = "assistant", msgs[1].content = content;
    msgs[2].role = "user", msgs[2].content = "What happened next?";
    before_len = render(t, msgs, 1, before, sizeof before);
    now_len = render(t, msgs, 3, now, sizeof now);
    TT_ASSERT(before_len > 0 && now_len > before_len + strlen(content) && memcmp(now, before, before_len) == 0 &&
                  memcmp(now + before_len, content, strlen(content)) != 0,
              "%s: the template renders the answer as it is: the case is not tested", template_name);
    memset(&p, 0, sizeof p);
    TT_CHECK(tfm_generate_prompt(ctx, tok, NULL, before, before_len, &p, &st, &err) == TFM_OK);
    p.append = 1;
    TT_CHECK(tfm_generate_prompt_tokens(ctx, NULL, answer, n_answer, &p, &st, &err) == TFM_OK);
    pos = tfm_context_pos(ctx);
    /* what follows the answer as rendered: the trimmed content, after the spaces in front of it */
    {
        const char *b = content, *e = content + strlen(content);
        size_t skip = 0;
        while (*b && strchr(" \t\n", *b)) b++;
        while (e > b && strchr(" \t\n", e[-1])) e--;
        while (memcmp(now + before_len + skip, b, (size_t)(e - b)) != 0 && skip < 4) skip++;
        want = count_tokens(tok, now + before_len + skip + (size_t)(e - b), now_len - before_len - skip - (size_t)(e - b));
    }
    p.append = 0, p.max_tokens = 2;
    TT_ASSERT(tfm_generate_chat(ctx, tok, NULL, t, msgs, 3, &p, &st, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(st.n_reused == pos && st.n_prefilled == want, "%s: reused %d of %d, prefilled %d (want %d)", template_name,
              st.n_reused, pos, st.n_prefilled, want);
    tfm_context_free(ctx);
}

/* Llama 3 trims an answer of three newlines to nothing; Llama 2 writes "[/INST] " before an answer the
   generation prompt ends without the space, and strips it: "\n WORD" is rendered " WORD </s>". */
static void test_conversation_trimmed_answer(void)
{
    tfm_model *m = stories();
    const tfm_tokenizer *tok;
    static char content[64];
    int nl = -1, word = -1, id, answer[3];
    if (!m) TT_SKIP("stories260K.gguf is missing");
    tok = tfm_model_tokenizer(m);
    for (id = 0; id < tfm_tokenizer_vocab_size(tok); id++) {
        const char *piece;
        size_t len;
        if (tfm_tokenizer_token(tok, id, &piece, &len, NULL, NULL) != TFM_OK) continue;
        if (nl < 0 && ((len == 1 && piece[0] == '\n') || (len == 6 && memcmp(piece, "<0x0A>", 6) == 0))) nl = id;
        if (word < 0 && len >= 4 && len < 32 && piece[0] == ' ' && piece[1] >= 'a' && piece[1] <= 'z') {
            word = id;
            content[0] = '\n';
            memcpy(content + 1, piece, len);
            content[len + 1] = '\0';
        }
    }
    TT_ASSERT(nl >= 0 && word >= 0, "no newline (%d) or word (%d) token", nl, word);
    answer[0] = answer[1] = answer[2] = nl;
    trimmed_answer(m, "llama3", answer, 3, "\n\n\n");
    answer[1] = word;
    trimmed_answer(m, "llama2", answer, 2, content);
    tfm_model_free(m);
}

static void test_sliding_family_state(void)
{
    const char *path = tt_shared("archs/gemma2-shared.gguf");
    const char *prompt = "The quick brown fox";
    tfm_model *m = NULL;
    tfm_context *a, *b;
    tfm_generate_params p;
    tfm_generate_stats st;
    tfm_error err;
    void *state;
    size_t size, written;
    int first[16], other[16], n_first, n;
    if (tt_quick()) TT_SKIP("left to the fast configurations");
    if (!path) TT_SKIP("archs/gemma2-shared.gguf is missing");
    TT_ASSERT(tfm_model_load(path, NULL, &m, &err) == TFM_OK, "%s", err.message);
    a = new_context(m, 64, 1), b = new_context(m, 64, 2);
    TT_ASSERT(a && b, "contexts");
    memset(&p, 0, sizeof p);
    TT_CHECK(tfm_generate_prompt(a, tfm_model_tokenizer(m), NULL, prompt, strlen(prompt), &p, &st, &err) == TFM_OK);
    size = tfm_context_state_size(a);
    state = tt_alloc(size);
    TT_CHECK(tfm_context_state_save(a, state, size, &written, &err) == TFM_OK);
    TT_CHECK(tfm_context_state_load(b, state, size, &err) == TFM_OK);
    free(state);
    n_first = continue_from(a, tfm_model_tokenizer(m), m, 12, first);
    n = continue_from(b, tfm_model_tokenizer(m), m, 12, other);
    TT_ASSERT(n_first > 0 && n == n_first && !memcmp(first, other, sizeof(int) * (size_t)n), "loaded: %d vs %d", n,
              n_first);
    TT_CHECK(tfm_context_copy(b, a, &err) == TFM_OK);
    TT_CHECK(tfm_generate_prompt(b, tfm_model_tokenizer(m), NULL, prompt, strlen(prompt), &p, &st, &err) == TFM_OK);
    TT_CHECK(st.n_prefilled == 1);
    n = continue_from(b, tfm_model_tokenizer(m), m, 12, other);
    TT_ASSERT(n == n_first && !memcmp(first, other, sizeof(int) * (size_t)n), "rewound: %d vs %d", n, n_first);
    tfm_context_free(a), tfm_context_free(b);
    tfm_model_free(m);
}

int main(void)
{
    TT_RUN(test_chain_stops);
    TT_RUN(test_bad_arguments);
    TT_RUN(test_equals_hand_loop);
    TT_RUN(test_continuations);
    TT_RUN(test_conversation_prefix);
    TT_RUN(test_conversation_trimmed_answer);
    TT_RUN(test_sliding_family_state);
    return tt_summary("generate");
}

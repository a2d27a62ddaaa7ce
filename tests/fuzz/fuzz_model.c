/* fuzz_model.c - model file bytes (GGUF or llama2.c: the loader tells them apart) into
   tfm_model_load_memory; a model that loads gets a context of 8 positions (chunks of 2 tokens, one
   thread, an attention variant and KV cache type picked by the input's size) and runs two prompt tokens
   and one generated token through the forward pass; its vocab, if it carries one, encodes and decodes a
   short text; a context of the default parameters is made too. Built twice with different seed corpora: fuzz_model_gguf and fuzz_model_llama2c.
   Properties (besides the sanitizers'): failures give a printable one-line message and no model, a
   loaded model passes tfm_model_check, token ids out of the vocab are refused. */
#define TFM_IMPLEMENTATION
#include "tfm_model.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static void run_tokenizer(const tfm_tokenizer *tok)
{
    static const char text[] = "Once upon a time, \xe2\x96\x81\xff<s>";
    int ids[64], n = 0, i, prev = -1;
    char out[256];
    size_t len;
    int bos = tfm_tokenizer_bos(tok) >= 0, eos = tfm_tokenizer_eos(tok) >= 0;
    tfm_status s = tfm_tokenizer_encode(tok, text, sizeof text - 1, bos, eos, ids, 64, &n);
    FUZZ_CHECK(s == TFM_OK || s == TFM_ERR_CONTEXT_FULL);
    if (n > 64) n = 64;
    for (i = 0; i < n; i++) {
        const char *piece;
        FUZZ_CHECK(ids[i] >= 0 && ids[i] < tfm_tokenizer_vocab_size(tok));
        FUZZ_CHECK(tfm_tokenizer_decode(tok, prev, ids[i], &piece, &len) == TFM_OK);
        prev = ids[i];
    }
    s = tfm_tokenizer_decode_ids(tok, ids, n, out, sizeof out, &len);
    FUZZ_CHECK(s == TFM_OK || s == TFM_ERR_CONTEXT_FULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const attn[] = {"flash", "dense", "window:2", "bigbird:2,1,1,1"};
    tfm_model *m = NULL;
    tfm_context *ctx = NULL;
    tfm_context_params p;
    tfm_error err;
    tfm_status s = tfm_model_load_memory(data, size, &m, &err);
    float *logits;
    int tokens[3], vocab, i;
    fuzz_check_message(&err, s);
    if (s != TFM_OK) {
        FUZZ_CHECK(m == NULL);
        return 0;
    }
    FUZZ_CHECK(tfm_model_check(m, &err) == TFM_OK);
    if (tfm_model_tokenizer(m)) run_tokenizer(tfm_model_tokenizer(m));
    memset(&p, 0, sizeof p);
    p.context_length = 8;
    p.max_batch = 2;
    p.n_threads = 1;
    p.attn = attn[size % 4];
    p.kv_type = size / 4 % 2 ? TFM_I8 : TFM_F32;
    p.moe_stats = 1;
    s = tfm_context_create(m, &p, &ctx, &err);
    fuzz_check_message(&err, s);
    vocab = m->config.vocab_size;
    logits = (float *)malloc(sizeof(float) * (size_t)vocab * 3);
    if (s == TFM_OK && logits) {
        tokens[0] = 0, tokens[1] = vocab - 1, tokens[2] = vocab / 2;
        s = tfm_forward(ctx, tokens, 2, logits, TFM_LOGITS_ALL, &err);
        fuzz_check_message(&err, s);
        if (s == TFM_OK) {
            s = tfm_forward(ctx, &tokens[2], 1, logits, TFM_LOGITS_LAST, &err);
            fuzz_check_message(&err, s);
        }
        tokens[0] = vocab;
        FUZZ_CHECK(tfm_forward(ctx, tokens, 1, logits, TFM_LOGITS_LAST, &err) == TFM_ERR_OUT_OF_RANGE);
        for (i = 0; i < m->config.n_layers; i++) FUZZ_CHECK(m->config.n_experts == 0 || tfm_context_moe_stats(ctx, i));
    }
    free(logits);
    tfm_context_free(ctx);
    /* the defaults: a context of the file's length up to TFM_DEFAULT_CONTEXT (a file may claim 2^24) */
    ctx = NULL;
    s = tfm_context_create(m, NULL, &ctx, &err);
    fuzz_check_message(&err, s);
    FUZZ_CHECK(s != TFM_OK || tfm_context_length(ctx) <= TFM_DEFAULT_CONTEXT);
    tfm_context_free(ctx);
    tfm_model_free(m);
    return 0;
}

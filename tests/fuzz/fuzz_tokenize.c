/* fuzz_tokenize.c - arbitrary bytes as text through a vocab of each tokenizer kind, with and without
   BOS/EOS and special tokens parsed (the text's length picks), then cut into passages. Vocabs: the
   SentencePiece tok512.bin of ../shared/models (or $TFM_SHARED/models; absent: a small one built here:
   <unk> <s> </s>, the 256 byte tokens, merges of letters), and of ../shared/vocab the byte-level BPE
   qwen3 vocab (the qwen2 pre-tokenizer, control and user-defined tokens) and the WordPiece bert-bge one
   (each left out when absent). Properties (besides the sanitizers'): tokenizer_checks.h's for every vocab
   (ids in the vocab, counts, streaming equal to whole decoding, byte-level text back); the SentencePiece
   text back byte for byte, decode(encode(text with BOS and EOS)) == text, as every byte has a byte token; the
   passages (tfm_embed_passages, a budget of 8 to 39 tokens from the text's length) in order, inside the
   text, none empty. */
#define TFM_IMPLEMENTATION
#include "tfm_embed.h" /* tfm_embed_passages cuts a text by the tokenizer's counts */
#include "tfm_model.h" /* tfm_model_load_vocab */
#include "tfm_tokenizer.h"

#include "fuzz.h"
#include "tokenizer_checks.h"

static tfm_tokenizer *spm, *bpe, *wpm;
static char bpe_spelled[256];

/* A SentencePiece vocab of its own: controls, byte tokens, single letters with a space before, pairs. */
static tfm_tokenizer *built_in_vocab(void)
{
    static char storage[600][8];
    const char *pieces[600];
    float scores[600];
    int32_t types[600];
    int n = 0, i, j;
    tfm_tokenizer *tok = NULL;
    tfm_error err;
    const char *controls[] = {"<unk>", "<s>", "</s>"};
    for (i = 0; i < 3; i++, n++) strcpy(storage[n], controls[i]), types[n] = i ? 3 : 2, scores[n] = 0;
    for (i = 0; i < 256; i++, n++) snprintf(storage[n], 8, "<0x%02X>", i), types[n] = 6, scores[n] = 0;
    for (i = 0; i < 26; i++, n++) snprintf(storage[n], 8, "\xe2\x96\x81%c", 'a' + i), types[n] = 1, scores[n] = -(float)n;
    for (i = 0; i < 10; i++)
        for (j = 0; j < 10; j++, n++) snprintf(storage[n], 8, "%c%c", 'a' + i, 'e' + j), types[n] = 1, scores[n] = -(float)n;
    strcpy(storage[n], "\xe2\x96\x81"), types[n] = 1, scores[n] = -1, n++;
    for (i = 0; i < n; i++) pieces[i] = storage[i];
    if (tfm_tokenizer_from_vocab(&tok, n, pieces, NULL, scores, types, 1, 2, &err) != TFM_OK) {
        fprintf(stderr, "fuzz_tokenize: built-in vocab: %s\n", err.message);
        abort();
    }
    return tok;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *root = getenv("TFM_SHARED");
    char path[1024];
    tfm_error err;
    (void)argc, (void)argv;
    if (!root || !*root) root = "../shared";
    snprintf(path, sizeof path, "%s/models/tok512.bin", root);
    if (tfm_tokenizer_load_llama2c(&spm, path, 0, &err) != TFM_OK) spm = built_in_vocab();
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-qwen3.gguf", root);
    if (tfm_model_load_vocab(path, &bpe, &err) == TFM_OK) fuzz_spelled_bytes(bpe, bpe_spelled);
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-bert-bge.gguf", root);
    tfm_model_load_vocab(path, &wpm, &err);
    return 0;
}

/* SentencePiece with BOS gives the text back: decode(encode(text)) == text, with EOS after it too (a
   control token, decoded as nothing). */
static void check_spm_round_trip(const tfm_tokenizer *tok, const char *text, size_t len)
{
    int n = 0, *ids = (int *)malloc(sizeof(int) * (len + 3));
    size_t out_len;
    char *out = (char *)malloc(len * 4 + 16);
    if (ids && out) {
        FUZZ_CHECK(tfm_tokenizer_encode(tok, text, len, 1, 1, ids, (int)len + 3, &n) == TFM_OK);
        FUZZ_CHECK(n >= 2 && (size_t)n <= len + 3 && ids[0] == tfm_tokenizer_bos(tok) && ids[n - 1] == tfm_tokenizer_eos(tok));
        FUZZ_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, out, len * 4 + 16, &out_len) == TFM_OK);
        FUZZ_CHECK(out_len == len && memcmp(out, text, len) == 0);
    }
    free(ids), free(out);
}

static void check_passages(const tfm_tokenizer *tok, const char *text, size_t len)
{
    uint64_t *spans = NULL;
    int count = 0, i;
    tfm_error err;
    tfm_status s = tfm_embed_passages(tok, text, len, 8 + (int)(len % 32), &spans, &count, &err);
    fuzz_check_message(&err, s);
    if (s != TFM_OK) return;
    FUZZ_CHECK(count >= 0 && (count == 0) == (spans == NULL));
    for (i = 0; i < count; i++) {
        FUZZ_CHECK(spans[2 * i] < spans[2 * i + 1] && spans[2 * i + 1] <= len);
        FUZZ_CHECK(i == 0 || spans[2 * i - 1] <= spans[2 * i]);
    }
    tfm_embed_free(spans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    int flags = (int)(size % 4); /* TFM_TOKENIZE_ADD_SPECIAL, TFM_TOKENIZE_PARSE_SPECIAL */
    check_spm_round_trip(spm, text, size);
    fuzz_check_text(spm, text, size, flags, NULL);
    check_passages(spm, text, size);
    if (bpe) fuzz_check_text(bpe, text, size, flags, bpe_spelled);
    if (wpm) fuzz_check_text(wpm, text, size, flags, NULL);
    return 0;
}

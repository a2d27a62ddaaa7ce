/* fuzz_tokenize.c - arbitrary bytes as text through each tokenizer kind: encode with and without BOS/EOS,
   decode token by token and as a whole. Vocabs: the SentencePiece tok512.bin of ../shared/models (or
   $TFM_SHARED/models; absent: a small one built here: <unk> <s> </s>, the 256 byte tokens, merges of
   letters). Properties (besides the sanitizers'): ids lie in the vocab, the counting call agrees with the
   writing one, and text comes back byte for byte: decode(encode(text with BOS)) == text, as every byte
   has a byte token. The same text cut into passages (tfm_embed_passages, a budget of 8 to 39 tokens
   from the text's length): spans in order, inside the text, none empty. */
#define TFM_IMPLEMENTATION
#include "tfm_embed.h" /* tfm_embed_passages cuts a text by the tokenizer's counts */
#include "tfm_tokenizer.h"

#include "fuzz.h"

static tfm_tokenizer *spm;

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
    snprintf(path, sizeof path, "%s/models/tok512.bin", root && *root ? root : "../shared");
    if (tfm_tokenizer_load_llama2c(&spm, path, 0, &err) != TFM_OK) spm = built_in_vocab();
    return 0;
}

static void check_kind(const tfm_tokenizer *tok, const char *text, size_t len)
{
    int n = 0, n_count = 0, i, *ids = (int *)malloc(sizeof(int) * (len + 3));
    size_t out_len, piece_len, at = 0;
    char *out = (char *)malloc(len * 4 + 16), *pieces = (char *)malloc(len * 4 + 16);
    const char *piece;
    if (!ids || !out || !pieces) goto done;
    FUZZ_CHECK(tfm_tokenizer_encode(tok, text, len, 1, 0, NULL, 0, &n_count) == TFM_OK);
    FUZZ_CHECK(tfm_tokenizer_encode(tok, text, len, 1, 0, ids, (int)len + 3, &n) == TFM_OK && n == n_count);
    FUZZ_CHECK(n >= 1 && (size_t)n <= len + 3 && ids[0] == tfm_tokenizer_bos(tok));
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(ids[i] >= 0 && ids[i] < tfm_tokenizer_vocab_size(tok));
        FUZZ_CHECK(tfm_tokenizer_decode(tok, i ? ids[i - 1] : -1, ids[i], &piece, &piece_len) == TFM_OK);
        FUZZ_CHECK(at + piece_len <= len * 4 + 16);
        memcpy(pieces + at, piece, piece_len);
        at += piece_len;
    }
    FUZZ_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, out, len * 4 + 16, &out_len) == TFM_OK);
    FUZZ_CHECK(out_len == at && memcmp(out, pieces, at) == 0); /* streaming and whole decoding agree */
    FUZZ_CHECK(out_len == len && memcmp(out, text, len) == 0);  /* the text comes back */
    FUZZ_CHECK(tfm_tokenizer_encode(tok, text, len, 0, 1, ids, (int)len + 3, &n) == TFM_OK);
    FUZZ_CHECK(n >= 1 && ids[n - 1] == tfm_tokenizer_eos(tok));
done:
    free(ids), free(out), free(pieces);
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
    check_kind(spm, (const char *)data, size);
    check_passages(spm, (const char *)data, size);
    return 0;
}

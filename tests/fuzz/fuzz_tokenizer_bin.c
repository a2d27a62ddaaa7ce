/* fuzz_tokenizer_bin.c - llama2.c tokenizer.bin bytes into tfm_tokenizer_load_llama2c_memory, then a text
   through encode and decode. The input: one byte for the vocab size the caller asks for (below 128: 0,
   as many as the file holds; 128..191: 1..64; 192..255: 256..319), two for the text's length L (little-endian), the
   file, then the text (the last L bytes); the file is copied to a block of its own size, freed once
   loaded (the loader keeps nothing of it). Properties (besides the sanitizers'):
   failures give a printable one-line message and no tokenizer, ids lie in the vocab, the counting call
   agrees with the writing one, decode_ids measures what it writes. */
#define TFM_IMPLEMENTATION
#include "tfm_tokenizer.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tfm_tokenizer *tok = NULL;
    tfm_error err;
    tfm_status s;
    const char *text;
    size_t text_len, file_len, len, len2;
    unsigned char *file;
    int asked, n = 0, n_count = 0, *ids, i, bos, eos;
    char *out;
    if (size < 3) return 0;
    asked = data[0] < 128 ? 0 : data[0] < 192 ? data[0] - 127 : 256 + (data[0] - 192);
    text_len = (size_t)data[1] | (size_t)data[2] << 8;
    if (text_len > size - 3) text_len = size - 3;
    text = (const char *)data + size - text_len;
    /* the file in a block of its own size: a read past its end is a sanitizer's finding at once, not a
       read of the text behind it */
    file_len = size - 3 - text_len;
    file = (unsigned char *)malloc(file_len ? file_len : 1);
    if (!file) return 0;
    memcpy(file, data + 3, file_len);
    s = tfm_tokenizer_load_llama2c_memory(&tok, file, file_len, asked, &err);
    free(file); /* the tokenizer keeps nothing of the file */
    fuzz_check_message(&err, s);
    if (s != TFM_OK) {
        FUZZ_CHECK(tok == NULL);
        return 0;
    }
    FUZZ_CHECK(asked == 0 || tfm_tokenizer_vocab_size(tok) == asked);
    /* BOS and EOS when the vocab has them (a vocab of fewer than 3 tokens has not) */
    bos = tfm_tokenizer_bos(tok) >= 0, eos = tfm_tokenizer_eos(tok) >= 0;
    FUZZ_CHECK(bos || tfm_tokenizer_encode(tok, "a", 1, 1, 0, NULL, 0, &n) == TFM_ERR_UNSUPPORTED);
    FUZZ_CHECK(tfm_tokenizer_encode(tok, text, text_len, bos, eos, NULL, 0, &n_count) == TFM_OK);
    FUZZ_CHECK(n_count >= 0 && (size_t)n_count <= text_len + 3);
    ids = (int *)malloc(sizeof(int) * ((size_t)n_count + 1));
    if (ids) {
        FUZZ_CHECK(tfm_tokenizer_encode(tok, text, text_len, bos, eos, ids, n_count, &n) == TFM_OK && n == n_count);
        for (i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < tfm_tokenizer_vocab_size(tok));
        if (n > 1) FUZZ_CHECK(tfm_tokenizer_encode(tok, text, text_len, bos, eos, ids, n - 1, &i) == TFM_ERR_CONTEXT_FULL);
        FUZZ_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, NULL, 0, &len) == TFM_OK);
        out = (char *)malloc(len + 1);
        if (out) {
            FUZZ_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, out, len + 1, &len2) == TFM_OK && len2 == len);
            free(out);
        }
        for (i = 0; i < n; i++) {
            const char *piece;
            FUZZ_CHECK(tfm_tokenizer_decode(tok, i ? ids[i - 1] : -1, ids[i], &piece, &len) == TFM_OK);
            fuzz_touch(piece, len);
        }
        free(ids);
    }
    FUZZ_CHECK(tfm_tokenizer_decode(tok, -1, tfm_tokenizer_vocab_size(tok), &text, &len) != TFM_OK);
    tfm_tokenizer_free(tok);
    return 0;
}

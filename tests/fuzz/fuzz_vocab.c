/* fuzz_vocab.c - a GGUF vocab (tokenizer.ggml.* keys: "llama", "gpt2" with its merges and pre-tokenizer
   name, "bert") from fuzzed bytes through the reader tfm_model_load_vocab and tfm_model_load use, then a
   text through encode and the text's bytes as arbitrary ids through decode. The input: one byte of flags
   (bit 0: TFM_TOKENIZE_ADD_SPECIAL, bit 1: TFM_TOKENIZE_PARSE_SPECIAL), two for the text's length L
   (little-endian), the GGUF file, then the text (the last L bytes). Properties (besides the
   sanitizers'): a failure gives a printable one-line message and no tokenizer; a tokenizer has tokens
   and passes tokenizer_checks.h (BOS/EOS asked of a vocab without them is TFM_ERR_UNSUPPORTED). */
#define TFM_IMPLEMENTATION
#include "tfm_model.h" /* tfm__model_gguf_tokenizer: the GGUF keys into a tfm_vocab */

#include "fuzz.h"
#include "tokenizer_checks.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tfm_tokenizer *tok = NULL;
    tfm_gguf *g = NULL;
    tfm_error err;
    tfm_status s;
    size_t text_len, file_len;
    unsigned char *file;
    int flags;
    if (size < 3) return 0;
    flags = data[0] & 3;
    text_len = (size_t)data[1] | (size_t)data[2] << 8;
    if (text_len > size - 3) text_len = size - 3;
    file_len = size - 3 - text_len;
    file = (unsigned char *)malloc(file_len ? file_len : 1); /* malloc's alignment, as a GGUF buffer needs */
    if (!file) return 0;
    memcpy(file, data + 3, file_len);
    s = tfm_gguf_open_memory(&g, file, file_len, &err);
    fuzz_check_message(&err, s);
    if (s == TFM_OK) {
        s = tfm__model_gguf_tokenizer(g, &tok, &err);
        fuzz_check_message(&err, s);
        FUZZ_CHECK(s == TFM_OK || tok == NULL);
        tfm_gguf_close(g);
    }
    free(file); /* the tokenizer keeps nothing of the file */
    if (tok) {
        const char *text = (const char *)data + size - text_len;
        char spelled[256];
        FUZZ_CHECK(tfm_tokenizer_vocab_size(tok) > 0);
        if (tfm_tokenizer_kind_of(tok) == TFM_TOKENIZER_BPE) fuzz_spelled_bytes(tok, spelled);
        fuzz_check_text(tok, text, text_len, flags, spelled);
        fuzz_check_ids(tok, (const unsigned char *)text, text_len);
        tfm_tokenizer_free(tok);
    }
    return 0;
}

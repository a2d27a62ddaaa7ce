/* tokenizer_checks.h - the properties of a tokenizer on a text and on arbitrary ids, shared by
   fuzz_vocab (vocabs from fuzzed GGUF bytes) and fuzz_tokenize (fuzzed text through llama.cpp's vocabs).
   Include after tfm_tokenizer.h and fuzz.h.
     fuzz_check_text  encode (counting and writing calls agree, ids in the vocab and within 3 len + 2, a
                      buffer one id short is TFM_ERR_CONTEXT_FULL with the same first ids), decode (whole
                      and streamed agree), and for byte-level BPE the text back where the vocab can spell
                      it (valid UTF-8, every byte some token's whole piece, no special tokens parsed)
     fuzz_check_ids   bytes read as ids (pairs, little-endian, -2..65533): those in the vocab decode, the
                      others are refused */
#ifndef TFM_FUZZ_TOKENIZER_CHECKS_H
#define TFM_FUZZ_TOKENIZER_CHECKS_H

/* 1 when s is UTF-8 as the byte-level reader gives it back: shortest forms, no surrogates, <= U+10FFFF. */
static int strict_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, k, len;
    uint32_t cp;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
        if (len == 0 || c > 0xf4 || i + len > n) return 0;
        cp = c & (0x7f >> len);
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* decode_ids of ids (measured, then written) equals the pushes of a token stream and its flush. */
static void decode_both_ways(const tfm_tokenizer *tok, const int *ids, int n)
{
    tfm_token_stream stream;
    size_t len = 0, got = 0, at = 0, piece_len, piece_cap = tfm_tokenizer_max_piece(tok) + 4;
    char *out, *piece;
    int i;
    FUZZ_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, NULL, 0, &len) == TFM_OK);
    out = (char *)malloc(len + 1), piece = (char *)malloc(piece_cap);
    if (out && piece) {
        FUZZ_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, out, len + 1, &got) == TFM_OK && got == len && out[len] == 0);
        tfm_token_stream_init(&stream);
        for (i = 0; i < n; i++) {
            FUZZ_CHECK(tfm_token_stream_push(&stream, tok, ids[i], piece, piece_cap, &piece_len) == TFM_OK);
            FUZZ_CHECK(at + piece_len <= len && memcmp(out + at, piece, piece_len) == 0);
            at += piece_len;
        }
        FUZZ_CHECK(tfm_token_stream_flush(&stream, piece, 4, &piece_len) == TFM_OK);
        FUZZ_CHECK(at + piece_len == len && memcmp(out + at, piece, piece_len) == 0);
    }
    free(out), free(piece);
}

/* spelled[b] = 1 when some token decodes to the single byte b. */
static void fuzz_spelled_bytes(const tfm_tokenizer *tok, char spelled[256])
{
    const char *piece;
    size_t m;
    int i;
    memset(spelled, 0, 256);
    for (i = 0; i < tfm_tokenizer_vocab_size(tok); i++)
        if (tfm_tokenizer_decode(tok, -1, i, &piece, &m) == TFM_OK && m == 1) spelled[(unsigned char)piece[0]] = 1;
}

/* The text back from a byte-level vocab where it can be: every byte of text is some token's whole piece.
   encoded[0, n_encoded): the text's ids with flags, reused when they are its plain encoding (no BOS or
   EOS added), else the text is encoded again without them. */
static void check_round_trip(const tfm_tokenizer *tok, const char *text, size_t len, int flags, const char *spelled,
                             const int *encoded, int n_encoded)
{
    int n = n_encoded, *own = NULL, i;
    const int *ids = encoded;
    size_t k, got = 0;
    char *out;
    tfm_token_type type;
    if (tfm_tokenizer_kind_of(tok) != TFM_TOKENIZER_BPE || (flags & TFM_TOKENIZE_PARSE_SPECIAL) ||
        !strict_utf8((const unsigned char *)text, len))
        return;
    for (k = 0; k < len; k++)
        if (!spelled[(unsigned char)text[k]]) return;
    if ((flags & TFM_TOKENIZE_ADD_SPECIAL) && (tfm_tokenizer_add_bos(tok) || tfm_tokenizer_add_eos(tok))) {
        ids = own = (int *)malloc(sizeof(int) * (3 * len + 2));
        if (!own || tfm_tokenize(tok, text, len, 0, own, (int)(3 * len + 2), &n, NULL) != TFM_OK) goto done;
    }
    /* a merge may end in a control, unknown, unused or user-defined token (a hostile vocab's): llama.cpp
       produces it too (a merge's text is looked up among all tokens), and decode renders a control,
       unknown or unused token as nothing (llama.cpp's token_to_piece for a BPE vocab too) and a
       user-defined one verbatim (its text is not byte-level mapped), so such a text cannot come back */
    for (i = 0; i < n; i++)
        if (tfm_tokenizer_token(tok, ids[i], NULL, NULL, NULL, &type) == TFM_OK &&
            (type == TFM_TOKEN_CONTROL || type == TFM_TOKEN_UNKNOWN || type == TFM_TOKEN_UNUSED ||
             type == TFM_TOKEN_USER_DEFINED))
            goto done;
    out = (char *)malloc(len * 4 + 16);
    if (out) {
        FUZZ_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, out, len * 4 + 16, &got) == TFM_OK);
        FUZZ_CHECK(got == len && memcmp(out, text, len) == 0);
    }
    free(out);
done:
    free(own);
}

/* spelled: fuzz_spelled_bytes of tok (read by byte-level vocabs only) */
static void fuzz_check_text(const tfm_tokenizer *tok, const char *text, size_t len, int flags, const char *spelled)
{
    int n_count = 0, n = 0, n_short = 0, i, max = (int)(3 * len + 2), vocab = tfm_tokenizer_vocab_size(tok);
    int *ids = (int *)malloc(sizeof(int) * (size_t)(max + 1)), *short_ids = (int *)malloc(sizeof(int) * (size_t)(max + 1));
    tfm_error err;
    tfm_status s;
    if (!ids || !short_ids) goto done;
    s = tfm_tokenize(tok, text, len, flags, NULL, 0, &n_count, &err);
    fuzz_check_message(&err, s);
    if (s == TFM_ERR_UNSUPPORTED && (flags & TFM_TOKENIZE_ADD_SPECIAL)) goto done; /* BOS/EOS asked, the vocab has none */
    FUZZ_CHECK(s == TFM_OK && n_count >= 0 && n_count <= max);
    FUZZ_CHECK(tfm_tokenize(tok, text, len, flags, ids, max + 1, &n, &err) == TFM_OK && n == n_count);
    for (i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < vocab);
    if (n > 0) {
        FUZZ_CHECK(tfm_tokenize(tok, text, len, flags, short_ids, n - 1, &n_short, &err) == TFM_ERR_CONTEXT_FULL);
        FUZZ_CHECK(n_short == n && memcmp(short_ids, ids, sizeof(int) * (size_t)(n - 1)) == 0);
    }
    decode_both_ways(tok, ids, n);
    check_round_trip(tok, text, len, flags, spelled, ids, n);
done:
    free(ids), free(short_ids);
}

/* The text's bytes as ids, any values: those in the vocab decode, the others are refused. */
static inline void fuzz_check_ids(const tfm_tokenizer *tok, const unsigned char *bytes, size_t len)
{
    int ids[64], n = 0, vocab = tfm_tokenizer_vocab_size(tok), all_in = 1;
    size_t k, out_len;
    const char *piece;
    for (k = 0; k + 1 < len && n < 64; k += 2) {
        int id = (int)(bytes[k] | bytes[k + 1] << 8) - 2; /* -2..65533 */
        ids[n++] = id;
        if (id < 0 || id >= vocab) all_in = 0;
        FUZZ_CHECK((tfm_tokenizer_decode(tok, -1, id, &piece, &out_len) == TFM_OK) == (id >= 0 && id < vocab));
        FUZZ_CHECK(tfm_tokenizer_is_eog(tok, id) == 0 || (id >= 0 && id < vocab));
    }
    if (!all_in) {
        FUZZ_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, NULL, 0, &out_len) != TFM_OK);
        return;
    }
    decode_both_ways(tok, ids, n);
}

#endif

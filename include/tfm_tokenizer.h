/* tfm_tokenizer.h - SentencePiece-style BPE tokenizer of tfm (llama2.c tokenizer.bin, GGUF vocab).
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     The tokenizer of Llama-family models as llama2.c's run.c implements it: a dummy-prefix space,
     each UTF-8 character looked up in the vocab (byte fallback to the <0xNN> tokens for characters
     that are not pieces), then greedy merges of the adjacent pair whose concatenation is the piece
     with the highest score (ties: the leftmost pair), optional BOS/EOS. It gives exactly llama2.c's
     ids, but in O(n log n): a heap of candidate merges over a linked list of symbols, and a hash
     table from piece to id (llama2.c rescans every pair after every merge, which is O(n^2)). When no
     piece has a space after a non-space byte (SentencePiece vocabs), no merge can cross the start of
     a word, so each word is merged on its own: same ids, a small heap, scratch memory the size of the
     longest word, ~5x faster on long text.
     Decoding turns byte tokens back into bytes and drops the dummy-prefix space after BOS.
     Loaders: llama2.c's tokenizer.bin (file or memory) and plain arrays (a GGUF tokenizer.ggml.* vocab).
     The tokenizer knows no tensors; it uses tfm_tensor.h only for tfm_status/tfm_error and the
     allocator hooks.

   USAGE
       tfm_tokenizer *tok;
       tfm_error err;
       int ids[64], n;
       if (tfm_tokenizer_load_llama2c(&tok, "tok512.bin", 0, &err) != TFM_OK) { puts(err.message); ... }
       tfm_tokenizer_encode(tok, "Once upon a time", 16, 1, 0, ids, 64, &n);   -> 1 403 407 261 378
       for (i = 0; i < n; i++) {
           const char *piece; size_t len;
           tfm_tokenizer_decode(tok, i ? ids[i - 1] : -1, ids[i], &piece, &len);
           if (tfm_tokenizer_piece_printable(piece, len)) fwrite(piece, 1, len, stdout);
       }
       tfm_tokenizer_free(tok);
     In exactly one file #define TFM_IMPLEMENTATION before the include (see tfm_tensor.h).

   RULES (where this differs from, or pins down, llama2.c)
     - Text is bytes with a length, not a C string: a NUL byte is encoded like any byte (<0x00>).
     - Pieces are byte strings with lengths; the first of several equal pieces is the one found.
     - Control, unknown and unused tokens (<s>, </s>, <unk>) are never produced from text and BOS
       never merges with the text after it; llama2.c could in principle merge them, but no split of
       those pieces into two pieces exists in the Llama vocabs, so the ids are the same. This is what
       makes a GGUF vocab (where BOS is "<s>") and the llama2.c file (where it is "\n<s>\n") agree.
     - Byte fallback uses the tokens whose piece is <0xNN> (ids b + 3 in Llama vocabs, as llama2.c
       assumes); a vocab without the byte token for b falls back to the unknown token.
     - A pair merges only if its piece's score is > -1e10 (llama2.c's starting best score); a NaN score
       never merges.
     - Decode gives "" for control tokens (BOS, EOS), the raw byte for a byte token, else the piece,
       without its leading space when the previous token is BOS (llama2.c's rule; it is not applied to
       a byte token).
     - tfm_tokenizer_piece_printable drops single bytes that are ASCII control characters other than
       whitespace. Unlike llama2.c (which drops every unprintable single byte), it keeps bytes >= 0x80:
       those are parts of UTF-8 characters split over byte tokens, and a terminal reassembles them.
*/
#ifndef TFM_TOKENIZER_H
#define TFM_TOKENIZER_H

#include "tfm_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tfm_tokenizer tfm_tokenizer;

/* Token types, with GGUF's tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
typedef enum tfm_token_type {
    TFM_TOKEN_NORMAL = 1,
    TFM_TOKEN_UNKNOWN = 2,
    TFM_TOKEN_CONTROL = 3,
    TFM_TOKEN_USER_DEFINED = 4,
    TFM_TOKEN_UNUSED = 5,
    TFM_TOKEN_BYTE = 6
} tfm_token_type;

/* Largest vocab the loaders accept. */
#define TFM_TOKENIZER_MAX_VOCAB (1 << 24)

/* Loads a llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length,
   length bytes (little-endian). vocab_size > 0: the file must hold exactly that many tokens (pass the
   model's vocab size); 0: as many as the file holds. BOS is id 1, EOS id 2 (llama2.c's convention);
   types are inferred: BOS/EOS control, <0xNN> byte, "<unk>" at id 0 unknown, the rest normal.
   Truncated or inconsistent files fail with TFM_ERR_FORMAT and a message in err. */
TFM_API tfm_status tfm_tokenizer_load_llama2c(tfm_tokenizer **out, const char *path, int vocab_size, tfm_error *err);
/* The same from a tokenizer.bin already in memory (not retained after the call). */
TFM_API tfm_status tfm_tokenizer_load_llama2c_memory(tfm_tokenizer **out, const void *data, size_t size,
                                                     int vocab_size, tfm_error *err);

/* Builds a tokenizer from arrays, as a GGUF file holds them (tokenizer.ggml.tokens/scores/token_type/
   bos_token_id/eos_token_id). pieces[i] has lengths[i] bytes (lengths NULL: NUL-terminated); the
   SentencePiece space U+2581 in a piece stands for ' '. scores NULL: all 0. types NULL: inferred as
   for tokenizer.bin; else GGUF values 1..6 (0 counts as normal), a BYTE token's piece must be <0xNN>.
   bos_id/eos_id: -1 when the vocab has none. Nothing is retained after the call. */
TFM_API tfm_status tfm_tokenizer_from_vocab(tfm_tokenizer **out, int n_vocab, const char *const *pieces,
                                            const size_t *lengths, const float *scores, const int32_t *types,
                                            int bos_id, int eos_id, tfm_error *err);
TFM_API void tfm_tokenizer_free(tfm_tokenizer *tok);

TFM_API int tfm_tokenizer_vocab_size(const tfm_tokenizer *tok);
/* BOS / EOS ids, -1 when the vocab has none. */
TFM_API int tfm_tokenizer_bos(const tfm_tokenizer *tok);
TFM_API int tfm_tokenizer_eos(const tfm_tokenizer *tok);
/* The stored piece, score and type of token id (any output may be NULL). The piece is followed by a
   NUL but may contain NULs (use *len); it lives as long as the tokenizer. */
TFM_API tfm_status tfm_tokenizer_token(const tfm_tokenizer *tok, int id, const char **piece, size_t *len,
                                       float *score, tfm_token_type *type);

/* Encodes len bytes of text (bos/eos nonzero: add BOS/EOS). Writes at most max_ids ids and the full
   count to *n_ids. ids NULL: only counts. More ids than max_ids: the first max_ids are written and
   TFM_ERR_CONTEXT_FULL is returned. The count is at most len + 3. Thread-safe (allocates its scratch
   per call: the size of the longest word, at most linear in len). */
TFM_API tfm_status tfm_tokenizer_encode(const tfm_tokenizer *tok, const char *text, size_t len, int bos, int eos,
                                        int *ids, int max_ids, int *n_ids);

/* The text of token id when it follows prev_id (-1: none), for streaming: *piece points into the
   tokenizer (valid while it lives), *len bytes, not NUL-terminated. See RULES above. */
TFM_API tfm_status tfm_tokenizer_decode(const tfm_tokenizer *tok, int prev_id, int id, const char **piece,
                                        size_t *len);
/* Decodes n ids into out (cap bytes), NUL-terminated when it fits; *len = the text's length.
   out NULL: only measures. Too small: writes what fits and returns TFM_ERR_CONTEXT_FULL. */
TFM_API tfm_status tfm_tokenizer_decode_ids(const tfm_tokenizer *tok, const int *ids, int n, char *out, size_t cap,
                                            size_t *len);
/* 0 for a piece not worth printing: empty, or one byte that is an ASCII control character other than
   whitespace; 1 otherwise (bytes >= 0x80 print; see RULES). */
TFM_API int tfm_tokenizer_piece_printable(const char *piece, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* TFM_TOKENIZER_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_TOKENIZER_IMPLEMENTATION_DONE)
#define TFM_TOKENIZER_IMPLEMENTATION_DONE

#include <limits.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A hash slot: a piece's id (-1: empty) and its full hash, compared before the piece itself. */
typedef struct tfm__tok_slot {
    int id;
    uint32_t hash;
} tfm__tok_slot;

struct tfm_tokenizer {
    int n_vocab;
    int bos_id, eos_id, unk_id;
    int space_id;           /* the piece " " (-1: none) */
    int word_split;         /* no piece holds a non-space byte followed by a space (see tfm__tok_word_start) */
    char *text;             /* every piece, each followed by a NUL */
    size_t *offset;         /* piece i starts at text + offset[i] */
    int *length;
    float *score;
    unsigned char *type;    /* tfm_token_type */
    tfm__tok_slot *slot;    /* open-addressing hash of the pieces text can produce */
    uint32_t slot_mask;
    int byte_id[256];       /* byte fallback: the <0xNN> token of each byte */
    char byte_text[256][2]; /* decode of a byte token: the byte and a NUL */
};

/* ---------------------------------------------------------------- pieces */

/* Byte value of a "<0xNN>" piece (hex digits of either case), or -1. */
static int tfm__tok_byte_value(const char *p, size_t len)
{
    int v = 0, i;
    if (len != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>') return -1;
    for (i = 3; i < 5; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* FNV-1a over two byte strings as if they were one, so a pair is hashed without concatenating it. */
static uint32_t tfm__tok_hash(const char *a, size_t na, const char *b, size_t nb)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < na; i++) h = (h ^ (unsigned char)a[i]) * 16777619u;
    for (i = 0; i < nb; i++) h = (h ^ (unsigned char)b[i]) * 16777619u;
    return h;
}

/* Id of the piece a||b among the pieces text can produce, or -1. */
static int tfm__tok_find2(const tfm_tokenizer *t, const char *a, size_t na, const char *b, size_t nb)
{
    uint32_t h = tfm__tok_hash(a, na, b, nb), i = h & t->slot_mask;
    for (;; i = (i + 1) & t->slot_mask) {
        int id = t->slot[i].id;
        const char *p;
        if (id < 0) return -1;
        if (t->slot[i].hash != h) continue;
        p = t->text + t->offset[id];
        if ((size_t)t->length[id] == na + nb && memcmp(p, a, na) == 0 && memcmp(p + na, b, nb) == 0) return id;
    }
}

static int tfm__tok_findable(int type)
{
    return type == TFM_TOKEN_NORMAL || type == TFM_TOKEN_USER_DEFINED || type == TFM_TOKEN_BYTE;
}

/* ---------------------------------------------------------------- construction */

void tfm_tokenizer_free(tfm_tokenizer *tok)
{
    if (!tok) return;
    TFM_FREE(tok->text);
    TFM_FREE(tok->offset);
    TFM_FREE(tok->length);
    TFM_FREE(tok->score);
    TFM_FREE(tok->type);
    TFM_FREE(tok->slot);
    TFM_FREE(tok);
}

/* Bytes of piece p once every U+2581 (e2 96 81) is replaced by ' ', written to out when out is not NULL. */
static size_t tfm__tok_unescape(const char *p, size_t len, char *out)
{
    size_t i = 0, n = 0;
    while (i < len) {
        if (i + 3 <= len && (unsigned char)p[i] == 0xe2 && (unsigned char)p[i + 1] == 0x96 &&
            (unsigned char)p[i + 2] == 0x81) {
            if (out) out[n] = ' ';
            i += 3;
        } else {
            if (out) out[n] = p[i];
            i++;
        }
        n++;
    }
    return n;
}

static tfm_status tfm__tok_alloc_arrays(tfm_tokenizer *t, int n, size_t text_bytes, tfm_error *err)
{
    size_t slots = 16;
    while (slots < 2 * (size_t)n) slots *= 2;
    t->text = (char *)TFM_MALLOC(text_bytes);
    t->offset = (size_t *)TFM_MALLOC((size_t)n * sizeof *t->offset);
    t->length = (int *)TFM_MALLOC((size_t)n * sizeof *t->length);
    t->score = (float *)TFM_MALLOC((size_t)n * sizeof *t->score);
    t->type = (unsigned char *)TFM_MALLOC((size_t)n);
    t->slot = (tfm__tok_slot *)TFM_MALLOC(slots * sizeof *t->slot);
    if (!t->text || !t->offset || !t->length || !t->score || !t->type || !t->slot)
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for a vocab of %d tokens", n);
    memset(t->slot, 0xff, slots * sizeof *t->slot);
    t->slot_mask = (uint32_t)(slots - 1);
    return TFM_OK;
}

/* Types, the byte table, the unknown token and the hash, once pieces/scores are stored.
   given_types NULL: inferred (see tfm_tokenizer_load_llama2c). */
static tfm_status tfm__tok_index(tfm_tokenizer *t, const int32_t *given_types, tfm_error *err)
{
    int i, b;
    for (b = 0; b < 256; b++) {
        t->byte_id[b] = -1;
        t->byte_text[b][0] = (char)b;
        t->byte_text[b][1] = '\0';
    }
    t->unk_id = -1;
    for (i = 0; i < t->n_vocab; i++) {
        const char *p = t->text + t->offset[i];
        size_t len = (size_t)t->length[i];
        int byte = tfm__tok_byte_value(p, len), type;
        if (given_types) {
            type = given_types[i] == 0 ? TFM_TOKEN_NORMAL : given_types[i];
            if (type < TFM_TOKEN_NORMAL || type > TFM_TOKEN_BYTE)
                return tfm_error_set(err, TFM_ERR_FORMAT, "token %d has type %ld (want 0..6)", i, (long)given_types[i]);
            if (type == TFM_TOKEN_BYTE && byte < 0)
                return tfm_error_set(err, TFM_ERR_FORMAT, "token %d is a byte token but its piece is not <0xNN>", i);
        } else if (i == t->bos_id || i == t->eos_id) {
            type = TFM_TOKEN_CONTROL;
        } else if (byte >= 0) {
            type = TFM_TOKEN_BYTE;
        } else if (i == 0 && len == 5 && memcmp(p, "<unk>", 5) == 0) {
            type = TFM_TOKEN_UNKNOWN;
        } else {
            type = TFM_TOKEN_NORMAL;
        }
        t->type[i] = (unsigned char)type;
        if (type == TFM_TOKEN_BYTE && t->byte_id[byte] < 0) t->byte_id[byte] = i;
        if (type == TFM_TOKEN_UNKNOWN && t->unk_id < 0) t->unk_id = i;
        if (tfm__tok_findable(type) && tfm__tok_find2(t, p, len, "", 0) < 0) {
            uint32_t h = tfm__tok_hash(p, len, "", 0), s = h & t->slot_mask;
            while (t->slot[s].id >= 0) s = (s + 1) & t->slot_mask;
            t->slot[s].id = i;
            t->slot[s].hash = h;
        }
    }
    if (t->unk_id < 0) t->unk_id = 0; /* the Llama convention, for vocabs without byte tokens */
    t->space_id = tfm__tok_find2(t, " ", 1, "", 0);
    t->word_split = 1;
    for (i = 0; i < t->n_vocab && t->word_split; i++) {
        const char *p = t->text + t->offset[i];
        int j;
        if (!tfm__tok_findable(t->type[i])) continue;
        for (j = 1; j < t->length[i]; j++)
            if (p[j] == ' ' && p[j - 1] != ' ') t->word_split = 0;
    }
    for (b = 0; b < 256; b++)
        if (t->byte_id[b] < 0) t->byte_id[b] = t->unk_id;
    return TFM_OK;
}

static tfm_status tfm__tok_check_specials(int n, int bos_id, int eos_id, tfm_error *err)
{
    if (bos_id < -1 || bos_id >= n || eos_id < -1 || eos_id >= n)
        return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "BOS %d / EOS %d outside a vocab of %d tokens", bos_id, eos_id, n);
    return TFM_OK;
}

tfm_status tfm_tokenizer_from_vocab(tfm_tokenizer **out, int n_vocab, const char *const *pieces,
                                    const size_t *lengths, const float *scores, const int32_t *types,
                                    int bos_id, int eos_id, tfm_error *err)
{
    tfm_tokenizer *t;
    size_t text_bytes = 0, pos = 0;
    tfm_status s;
    int i;
    tfm_error_clear(err);
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output tokenizer");
    *out = NULL;
    if (n_vocab <= 0 || n_vocab > TFM_TOKENIZER_MAX_VOCAB)
        return tfm_error_set(err, TFM_ERR_FORMAT, "vocab size %d outside 1..%d", n_vocab, TFM_TOKENIZER_MAX_VOCAB);
    if (!pieces) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no pieces");
    if ((s = tfm__tok_check_specials(n_vocab, bos_id, eos_id, err)) != TFM_OK) return s;
    for (i = 0; i < n_vocab; i++) {
        size_t len;
        if (!pieces[i]) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "piece %d is NULL", i);
        len = lengths ? lengths[i] : strlen(pieces[i]);
        if (len > (size_t)INT_MAX / 2) return tfm_error_set(err, TFM_ERR_FORMAT, "piece %d is %zu bytes long", i, len);
        len = tfm__tok_unescape(pieces[i], len, NULL);
        if (text_bytes + len + 1 < text_bytes) return tfm_error_set(err, TFM_ERR_FORMAT, "pieces too large");
        text_bytes += len + 1;
    }
    t = (tfm_tokenizer *)TFM_MALLOC(sizeof *t);
    if (!t) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(t, 0, sizeof *t);
    t->n_vocab = n_vocab;
    t->bos_id = bos_id;
    t->eos_id = eos_id;
    if ((s = tfm__tok_alloc_arrays(t, n_vocab, text_bytes, err)) != TFM_OK) {
        tfm_tokenizer_free(t);
        return s;
    }
    for (i = 0; i < n_vocab; i++) {
        size_t len = tfm__tok_unescape(pieces[i], lengths ? lengths[i] : strlen(pieces[i]), t->text + pos);
        t->offset[i] = pos;
        t->length[i] = (int)len;
        t->text[pos + len] = '\0';
        t->score[i] = scores ? scores[i] : 0.0f;
        pos += len + 1;
    }
    if ((s = tfm__tok_index(t, types, err)) != TFM_OK) {
        tfm_tokenizer_free(t);
        return s;
    }
    *out = t;
    return TFM_OK;
}

static int32_t tfm__tok_i32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

/* Walks the tokens of a tokenizer.bin image: counts them (and checks every length) when t is NULL,
   else copies them into t. */
static tfm_status tfm__tok_walk_bin(const unsigned char *data, size_t size, int want, tfm_tokenizer *t, int *count,
                                    size_t *text_bytes, tfm_error *err)
{
    size_t pos = 4, text_pos = 0;
    int32_t max_len = tfm__tok_i32(data);
    int n = 0;
    if (max_len < 1 || max_len > (1 << 16))
        return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer max_token_length %ld outside 1..65536", (long)max_len);
    while (want > 0 ? n < want : pos < size) {
        int32_t len;
        uint32_t bits;
        if (size - pos < 8)
            return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer truncated in the header of token %d (%zu bytes left)", n,
                                 size - pos);
        len = tfm__tok_i32(data + pos + 4);
        if (len < 0 || len > max_len)
            return tfm_error_set(err, TFM_ERR_FORMAT, "token %d has length %ld (max_token_length %ld)", n, (long)len,
                                 (long)max_len);
        if (size - pos - 8 < (size_t)len)
            return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer truncated in token %d (%ld bytes, %zu left)", n,
                                 (long)len, size - pos - 8);
        if (n >= TFM_TOKENIZER_MAX_VOCAB)
            return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer has more than %d tokens", TFM_TOKENIZER_MAX_VOCAB);
        if (t) {
            bits = (uint32_t)tfm__tok_i32(data + pos);
            memcpy(&t->score[n], &bits, 4);
            t->offset[n] = text_pos;
            t->length[n] = len;
            memcpy(t->text + text_pos, data + pos + 8, (size_t)len);
            t->text[text_pos + (size_t)len] = '\0';
        }
        text_pos += (size_t)len + 1;
        pos += 8 + (size_t)len;
        n++;
    }
    if (pos != size)
        return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer has more than the %d tokens expected (%zu bytes left)", want,
                             size - pos);
    *count = n;
    *text_bytes = text_pos;
    return TFM_OK;
}

tfm_status tfm_tokenizer_load_llama2c_memory(tfm_tokenizer **out, const void *data, size_t size, int vocab_size,
                                             tfm_error *err)
{
    const unsigned char *bytes = (const unsigned char *)data;
    tfm_tokenizer *t;
    size_t text_bytes;
    tfm_status s;
    int n;
    tfm_error_clear(err);
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output tokenizer");
    *out = NULL;
    if (!data && size) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no data");
    if (vocab_size < 0 || vocab_size > TFM_TOKENIZER_MAX_VOCAB)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "vocab size %d outside 0..%d", vocab_size,
                             TFM_TOKENIZER_MAX_VOCAB);
    if (size < 4) return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer too short (%zu bytes)", size);
    if ((s = tfm__tok_walk_bin(bytes, size, vocab_size, NULL, &n, &text_bytes, err)) != TFM_OK) return s;
    if (n == 0) return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer has no tokens");
    t = (tfm_tokenizer *)TFM_MALLOC(sizeof *t);
    if (!t) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(t, 0, sizeof *t);
    t->n_vocab = n;
    t->bos_id = n > 1 ? 1 : -1;
    t->eos_id = n > 2 ? 2 : -1;
    if ((s = tfm__tok_alloc_arrays(t, n, text_bytes, err)) != TFM_OK ||
        (s = tfm__tok_walk_bin(bytes, size, n, t, &n, &text_bytes, err)) != TFM_OK ||
        (s = tfm__tok_index(t, NULL, err)) != TFM_OK) {
        tfm_tokenizer_free(t);
        return s;
    }
    *out = t;
    return TFM_OK;
}

tfm_status tfm_tokenizer_load_llama2c(tfm_tokenizer **out, const char *path, int vocab_size, tfm_error *err)
{
    tfm_file_map map;
    tfm_status s;
    tfm_error_clear(err);
    if (!out || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no tokenizer path or output");
    *out = NULL;
    if ((s = tfm_file_map_open(&map, path, TFM_FILE_MAP_DEFAULT, err)) != TFM_OK) return s;
    s = tfm_tokenizer_load_llama2c_memory(out, map.data, map.size, vocab_size, err);
    tfm_file_map_close(&map);
    if (s != TFM_OK && err) {
        char why[sizeof err->message];
        memcpy(why, err->message, sizeof why);
        tfm_error_set(err, s, "%.60s: %.190s", path, why);
    }
    return s;
}

/* ---------------------------------------------------------------- queries */

int tfm_tokenizer_vocab_size(const tfm_tokenizer *tok) { return tok ? tok->n_vocab : 0; }
int tfm_tokenizer_bos(const tfm_tokenizer *tok) { return tok ? tok->bos_id : -1; }
int tfm_tokenizer_eos(const tfm_tokenizer *tok) { return tok ? tok->eos_id : -1; }

tfm_status tfm_tokenizer_token(const tfm_tokenizer *tok, int id, const char **piece, size_t *len, float *score,
                               tfm_token_type *type)
{
    if (!tok) return TFM_ERR_INVALID_ARGUMENT;
    if (id < 0 || id >= tok->n_vocab) return TFM_ERR_OUT_OF_RANGE;
    if (piece) *piece = tok->text + tok->offset[id];
    if (len) *len = (size_t)tok->length[id];
    if (score) *score = tok->score[id];
    if (type) *type = (tfm_token_type)tok->type[id];
    return TFM_OK;
}

/* ---------------------------------------------------------------- encode */

/* A symbol of the text being merged, in a doubly linked list; id < 0 once merged into its left neighbour. */
typedef struct tfm__tok_sym {
    int id, prev, next;
} tfm__tok_sym;

/* A candidate merge of symbols left and right (then holding left_id and right_id) into merged. */
typedef struct tfm__tok_cand {
    float score;
    int left, right, left_id, right_id, merged;
} tfm__tok_cand;

typedef struct tfm__tok_heap {
    tfm__tok_cand *a;
    size_t n, cap;
} tfm__tok_heap;

/* llama2.c's order: the highest score first, then the leftmost pair. */
static int tfm__tok_before(const tfm__tok_cand *x, const tfm__tok_cand *y)
{
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static int tfm__tok_push(tfm__tok_heap *h, const tfm__tok_cand *c)
{
    size_t i;
    if (h->n == h->cap) {
        size_t cap = h->cap * 2;
        tfm__tok_cand *a;
        if (cap / 2 != h->cap || cap > SIZE_MAX / sizeof *a) return 0;
        a = (tfm__tok_cand *)TFM_REALLOC(h->a, cap * sizeof *a);
        if (!a) return 0;
        h->a = a;
        h->cap = cap;
    }
    for (i = h->n++; i > 0 && tfm__tok_before(c, &h->a[(i - 1) / 2]); i = (i - 1) / 2) h->a[i] = h->a[(i - 1) / 2];
    h->a[i] = *c;
    return 1;
}

static tfm__tok_cand tfm__tok_pop(tfm__tok_heap *h)
{
    tfm__tok_cand top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && tfm__tok_before(&h->a[c + 1], &h->a[c])) c++;
        if (!tfm__tok_before(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n > 0) h->a[i] = last;
    return top;
}

/* Queues the merge of symbols left and right if their pieces concatenate to a mergeable piece. */
static int tfm__tok_try_pair(const tfm_tokenizer *t, const tfm__tok_sym *sym, tfm__tok_heap *h, int left, int right)
{
    tfm__tok_cand c;
    int a, b;
    if (left < 0 || right < 0) return 1;
    a = sym[left].id;
    b = sym[right].id;
    c.merged = tfm__tok_find2(t, t->text + t->offset[a], (size_t)t->length[a], t->text + t->offset[b],
                              (size_t)t->length[b]);
    if (c.merged < 0 || !(t->score[c.merged] > -1e10f)) return 1;
    c.score = t->score[c.merged];
    c.left = left;
    c.right = right;
    c.left_id = a;
    c.right_id = b;
    return tfm__tok_push(h, &c);
}

/* Merges symbols [0, n) as llama2.c does: always the best-scoring adjacent pair, the leftmost of equals;
   merged-away symbols get id -1. Returns 0 when out of memory. */
static int tfm__tok_merge(const tfm_tokenizer *t, tfm__tok_sym *sym, int n, tfm__tok_heap *heap)
{
    int k, ok = 1;
    for (k = 0; k < n; k++) {
        sym[k].prev = k - 1;
        sym[k].next = k + 1 < n ? k + 1 : -1;
    }
    heap->n = 0;
    for (k = 0; k + 1 < n && ok; k++) ok = tfm__tok_try_pair(t, sym, heap, k, k + 1);
    while (ok && heap->n > 0) {
        tfm__tok_cand c = tfm__tok_pop(heap);
        tfm__tok_sym *l = &sym[c.left], *r = &sym[c.right];
        /* stale: one side merged since the candidate was queued */
        if (l->id != c.left_id || r->id != c.right_id || l->next != c.right) continue;
        l->id = c.merged;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = c.left;
        r->id = -1;
        ok = tfm__tok_try_pair(t, sym, heap, l->prev, c.left) && tfm__tok_try_pair(t, sym, heap, c.left, l->next);
    }
    return ok;
}

/* No merge can join a symbol prev to a following space symbol id when no piece holds a non-space byte
   followed by a space (t->word_split) and the piece of prev ends in a non-space byte: the merged piece
   would hold both. So each word merges on its own, with a small heap and few symbols in memory. */
static int tfm__tok_word_start(const tfm_tokenizer *t, int prev, int id)
{
    int len = t->length[prev];
    return t->word_split && id == t->space_id && len > 0 && t->text[t->offset[prev] + (size_t)len - 1] != ' ';
}

/* One encode: the symbols of the word being built, the merge heap, the ids written so far. */
typedef struct tfm__tok_enc {
    const tfm_tokenizer *t;
    tfm__tok_sym *sym;
    int n, cap;
    tfm__tok_heap heap;
    int *ids, max_ids, count;
} tfm__tok_enc;

static void tfm__tok_emit(tfm__tok_enc *e, int id)
{
    if (e->ids && e->count < e->max_ids) e->ids[e->count] = id;
    e->count++;
}

/* Merges the pending word and emits its tokens. */
static int tfm__tok_flush(tfm__tok_enc *e)
{
    int k;
    if (!tfm__tok_merge(e->t, e->sym, e->n, &e->heap)) return 0;
    for (k = 0; k < e->n; k++)
        if (e->sym[k].id >= 0) tfm__tok_emit(e, e->sym[k].id);
    e->n = 0;
    return 1;
}

/* Appends a symbol, after flushing the pending word when the symbol starts a new one. */
static int tfm__tok_add_sym(tfm__tok_enc *e, int id)
{
    if (e->n > 0 && tfm__tok_word_start(e->t, e->sym[e->n - 1].id, id) && !tfm__tok_flush(e)) return 0;
    if (e->n == e->cap) {
        tfm__tok_sym *grown;
        if (e->cap > INT_MAX / 2) return 0;
        grown = (tfm__tok_sym *)TFM_REALLOC(e->sym, (size_t)e->cap * 2 * sizeof *grown);
        if (!grown) return 0;
        e->sym = grown;
        e->cap *= 2;
    }
    e->sym[e->n++].id = id;
    return 1;
}

/* One UTF-8 character (a lead byte and at most 3 continuation bytes, as llama2.c groups them):
   its token, or its bytes' fallback tokens. */
static int tfm__tok_add_char(tfm__tok_enc *e, const char *c, size_t len)
{
    int id = tfm__tok_find2(e->t, c, len, "", 0);
    size_t i;
    if (id >= 0) return tfm__tok_add_sym(e, id);
    for (i = 0; i < len; i++)
        if (!tfm__tok_add_sym(e, e->t->byte_id[(unsigned char)c[i]])) return 0;
    return 1;
}

tfm_status tfm_tokenizer_encode(const tfm_tokenizer *tok, const char *text, size_t len, int bos, int eos, int *ids,
                                int max_ids, int *n_ids)
{
    tfm__tok_enc e;
    size_t i = 0;
    int ok = 1;
    if (n_ids) *n_ids = 0;
    if (!tok || !n_ids || (!text && len) || (ids && max_ids < 0)) return TFM_ERR_INVALID_ARGUMENT;
    if (len > (size_t)INT_MAX - 3) return TFM_ERR_OUT_OF_RANGE;
    if ((bos && tok->bos_id < 0) || (eos && tok->eos_id < 0)) return TFM_ERR_UNSUPPORTED;
    memset(&e, 0, sizeof e);
    e.t = tok;
    e.ids = ids;
    e.max_ids = max_ids;
    e.cap = 64;
    e.heap.cap = 64;
    e.sym = (tfm__tok_sym *)TFM_MALLOC((size_t)e.cap * sizeof *e.sym);
    e.heap.a = (tfm__tok_cand *)TFM_MALLOC(e.heap.cap * sizeof *e.heap.a);
    ok = e.sym && e.heap.a;
    if (ok && bos) tfm__tok_emit(&e, tok->bos_id);
    if (ok && len > 0) {
        ok = tfm__tok_add_char(&e, " ", 1); /* the dummy prefix */
        while (ok && i < len) {
            size_t j = i + 1;
            while (j < len && j - i < 4 && ((unsigned char)text[j] & 0xc0) == 0x80) j++;
            ok = tfm__tok_add_char(&e, text + i, j - i);
            i = j;
        }
        ok = ok && tfm__tok_flush(&e);
    }
    if (ok && eos) tfm__tok_emit(&e, tok->eos_id);
    TFM_FREE(e.sym);
    TFM_FREE(e.heap.a);
    if (!ok) return TFM_ERR_OUT_OF_MEMORY;
    *n_ids = e.count;
    return ids && e.count > max_ids ? TFM_ERR_CONTEXT_FULL : TFM_OK;
}

/* ---------------------------------------------------------------- decode */

tfm_status tfm_tokenizer_decode(const tfm_tokenizer *tok, int prev_id, int id, const char **piece, size_t *len)
{
    const char *p;
    size_t n;
    if (piece) *piece = "";
    if (len) *len = 0;
    if (!tok || !piece || !len) return TFM_ERR_INVALID_ARGUMENT;
    if (id < 0 || id >= tok->n_vocab) return TFM_ERR_OUT_OF_RANGE;
    p = tok->text + tok->offset[id];
    n = (size_t)tok->length[id];
    switch (tok->type[id]) {
    case TFM_TOKEN_CONTROL: return TFM_OK;
    case TFM_TOKEN_BYTE:
        *piece = tok->byte_text[tfm__tok_byte_value(p, n)];
        *len = 1;
        return TFM_OK;
    default: break;
    }
    if (prev_id >= 0 && prev_id == tok->bos_id && n > 0 && p[0] == ' ') {
        p++;
        n--;
    }
    *piece = p;
    *len = n;
    return TFM_OK;
}

tfm_status tfm_tokenizer_decode_ids(const tfm_tokenizer *tok, const int *ids, int n, char *out, size_t cap, size_t *len)
{
    size_t total = 0;
    int i;
    if (len) *len = 0;
    if (!tok || !len || (!ids && n) || n < 0) return TFM_ERR_INVALID_ARGUMENT;
    for (i = 0; i < n; i++) {
        const char *piece;
        size_t m;
        tfm_status s = tfm_tokenizer_decode(tok, i > 0 ? ids[i - 1] : -1, ids[i], &piece, &m);
        if (s != TFM_OK) return s;
        if (out && total < cap) memcpy(out + total, piece, m < cap - total ? m : cap - total);
        total += m;
    }
    *len = total;
    if (!out) return TFM_OK;
    if (total < cap) {
        out[total] = '\0';
        return TFM_OK;
    }
    if (cap > 0) out[cap - 1] = '\0';
    return TFM_ERR_CONTEXT_FULL;
}

int tfm_tokenizer_piece_printable(const char *piece, size_t len)
{
    unsigned char c;
    if (!piece || len == 0) return 0;
    if (len > 1) return 1;
    c = (unsigned char)piece[0];
    return c >= 0x20 ? c != 0x7f : (c >= '\t' && c <= '\r');
}

#ifdef __cplusplus
}
#endif

#endif /* TFM_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
ALTERNATIVE A - MIT License. Copyright (c) 2026 the tfm authors. Permission is hereby granted, free
of charge, to any person obtaining a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following conditions: The
above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
ALTERNATIVE B - Public Domain (www.unlicense.org). Anyone is free to copy, modify, publish, use,
compile, sell, or distribute this software, for any purpose, commercial or non-commercial.
------------------------------------------------------------------------------
*/

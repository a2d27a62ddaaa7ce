/* seeds.c - writes the seed files of the fuzz targets that tfm-synth cannot make (tests/fuzz/seeds.sh
   runs it, then tfm-synth for the models):
     OUT/gguf/       small GGUF files holding every metadata type (each integer and float type, bool,
                     string, arrays of each, general.alignment 1, 8, 64) and tensors of every dtype tfm
                     reads (f32 f16 bf16 q8_0 q4_0 q4_1 q4_k q6_k i8 i16 i32 i64 f64), 1 to 4 dims
     OUT/tokenizer_bin/  llama2.c tokenizer.bin files (a vocab byte first: tokens the caller asks for;
                     fuzz_tokenizer_bin reads it), with byte tokens, merges and text after byte 64
     OUT/tokenize/   texts: ASCII, UTF-8, bytes that are no UTF-8, spaces, NULs
     OUT/embed_index/  retrieval indexes (tfm_embed_index_write): with and without paths, several dims
     OUT/vocab/      fuzz_vocab's frame (flags, text length, GGUF, text): small vocabs made here (byte-level
                     BPE with merges under each pre-tokenizer family, WordPiece, SentencePiece) and, when
                     SHARED/vocab holds llama.cpp's vocab files, their first tokens with the merges among
                     them and the special tokens
     OUT/state/      context states of tiny_model.h's model in each of its contexts: empty, a few tokens,
                     a window's ring gone round, a full context
     OUT/chat/       fuzz_chat's frame: each family by its row, template texts with each family's markers
                     and the chat templates of SHARED/vocab's files
       seeds OUT [SHARED] */
#define TFM_IMPLEMENTATION
#include "tfm_chat.h"
#include "tfm_embed.h"
#include "tfm_gguf.h"
#include "tfm_model.h"

#include "tiny_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *out_dir;
static int failures;

static void write_file(const char *kind, const char *name, const void *data, size_t size)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, kind, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        fprintf(stderr, "seeds: cannot write %s\n", path);
        failures++;
    }
    if (f) fclose(f);
}

static void write_gguf(const char *name, tfm_gguf_writer *w)
{
    uint64_t size = tfm_gguf_writer_size(w);
    unsigned char *buf = (unsigned char *)malloc((size_t)size);
    tfm_error err;
    if (!buf || tfm_gguf_writer_write_buffer(w, buf, (size_t)size, &err) != TFM_OK) {
        fprintf(stderr, "seeds: %s: %s\n", name, buf ? err.message : "out of memory");
        failures++;
    } else
        write_file("gguf", name, buf, (size_t)size);
    free(buf);
    tfm_gguf_writer_free(w);
}

/* Every metadata type, scalars and arrays. */
static void metadata_seed(void)
{
    static const uint8_t u8s[] = {0, 1, 255};
    static const int16_t i16s[] = {-32768, 7};
    static const int32_t i32s[] = {-1, 0, 2147483647};
    static const uint64_t u64s[] = {0, 18446744073709551615ull};
    static const float f32s[] = {0.5f, -3e38f};
    static const double f64s[] = {1e300, -0.0};
    static const uint8_t bools[] = {0, 1, 1};
    static const char *strs[] = {"llama", "", "\xe2\x96\x81the"};
    tfm_gguf_writer *w;
    tfm_error err;
    tfm_gguf_writer_create(&w, &err);
    tfm_gguf_writer_add_u8(w, "t.u8", 200, &err);
    tfm_gguf_writer_add_i8(w, "t.i8", -100, &err);
    tfm_gguf_writer_add_u16(w, "t.u16", 65535, &err);
    tfm_gguf_writer_add_i16(w, "t.i16", -2, &err);
    tfm_gguf_writer_add_u32(w, "t.u32", 4000000000u, &err);
    tfm_gguf_writer_add_i32(w, "t.i32", -7, &err);
    tfm_gguf_writer_add_u64(w, "t.u64", 1ull << 40, &err);
    tfm_gguf_writer_add_i64(w, "t.i64", -(1ll << 40), &err);
    tfm_gguf_writer_add_f32(w, "t.f32", 1e-5f, &err);
    tfm_gguf_writer_add_f64(w, "t.f64", 10000.0, &err);
    tfm_gguf_writer_add_bool(w, "t.bool", 1, &err);
    tfm_gguf_writer_add_string(w, "general.architecture", "llama", &err);
    tfm_gguf_writer_add_array(w, "a.u8", TFM_GGUF_U8, u8s, 3, &err);
    tfm_gguf_writer_add_array(w, "a.i16", TFM_GGUF_I16, i16s, 2, &err);
    tfm_gguf_writer_add_array(w, "a.i32", TFM_GGUF_I32, i32s, 3, &err);
    tfm_gguf_writer_add_array(w, "a.u64", TFM_GGUF_U64, u64s, 2, &err);
    tfm_gguf_writer_add_array(w, "a.f32", TFM_GGUF_F32, f32s, 2, &err);
    tfm_gguf_writer_add_array(w, "a.f64", TFM_GGUF_F64, f64s, 2, &err);
    tfm_gguf_writer_add_array(w, "a.bool", TFM_GGUF_BOOL, bools, 3, &err);
    tfm_gguf_writer_add_array_string(w, "tokenizer.ggml.tokens", strs, NULL, 3, &err);
    write_gguf("metadata.gguf", w);
}

/* One tensor of each dtype (rows of one block), with an alignment. */
static void tensor_seed(const char *name, uint32_t alignment, int n_dims)
{
    static const tfm_dtype types[] = {TFM_F32, TFM_F16, TFM_BF16, TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K,
                                      TFM_Q6_K, TFM_I8, TFM_I16, TFM_I32, TFM_I64, TFM_F64};
    static unsigned char data[1 << 14];
    tfm_gguf_writer *w;
    tfm_error err;
    size_t i;
    for (i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 37 % 61); /* f16 scales stay finite */
    tfm_gguf_writer_create(&w, &err);
    if (alignment) tfm_gguf_writer_add_u32(w, "general.alignment", alignment, &err);
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        int64_t ne[4] = {1, 2, 1, 1};
        char tname[32];
        ne[0] = (int64_t)tfm_dtype_block_size(types[i]);
        if (ne[0] == 1) ne[0] = 3;
        if (n_dims > 2) ne[2] = 2;
        snprintf(tname, sizeof tname, "blk.0.%s.weight", tfm_dtype_name(types[i]));
        if (tfm_gguf_writer_add_tensor(w, tname, types[i], n_dims, ne, data, &err) != TFM_OK) {
            fprintf(stderr, "seeds: %s: %s\n", tname, err.message);
            failures++;
        }
    }
    write_gguf(name, w);
}

/* A llama2.c tokenizer.bin: <unk> <s> </s>, the byte tokens (with_bytes), then words; in fuzz_tokenizer_bin's
   frame: a byte asking for a vocab size (0: whatever the file holds), two for the text's length, the file,
   the text. The small files (no byte tokens) put the fields a mutation must hit among fewer bytes. */
static void tokenizer_seed(const char *name, int ask, int with_bytes, int n_words, const char *text)
{
    static unsigned char buf[1 << 15];
    size_t n = 0;
    int i, count = 3 + (with_bytes ? 256 : 0) + n_words;
    char piece[16];
#define PUT(p, k) (memcpy(buf + n, (p), (k)), n += (k))
    /* fuzz_tokenizer_bin: below 128 asks for none, 128..191 for 1..64 tokens, 192.. for 256.. */
    buf[n++] = (unsigned char)(!ask ? 0 : count <= 64 ? 127 + count : 192 + (count - 256));
    buf[n++] = (unsigned char)(strlen(text) & 255);
    buf[n++] = (unsigned char)(strlen(text) >> 8);
    {
        int32_t max_len = 8;
        PUT(&max_len, 4);
    }
    for (i = 0; i < count; i++) {
        float score = i < count - n_words ? 0.0f : -(float)i;
        int32_t len;
        if (i < 3) snprintf(piece, sizeof piece, "%s", i == 0 ? "<unk>" : i == 1 ? "\n<s>\n" : "\n</s>\n");
        else if (with_bytes && i < 259) snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
        else snprintf(piece, sizeof piece, "%s%c%c", i % 2 ? " " : "", 'a' + i % 26, 'a' + i / 26 % 26);
        len = (int32_t)strlen(piece);
        PUT(&score, 4);
        PUT(&len, 4);
        PUT(piece, (size_t)len);
    }
    PUT(text, strlen(text));
#undef PUT
    write_file("tokenizer_bin", name, buf, n);
}

/* An index of count vectors of dim floats over a document of doc_bytes bytes. */
static void index_seed(const char *name, int dim, int count, const char *model_path, const char *doc_path)
{
    static float vectors[64];
    static uint64_t spans[16];
    tfm_embed_index index;
    tfm_error err;
    char path[1024];
    int i;
    memset(&index, 0, sizeof index);
    for (i = 0; i < dim * count; i++) vectors[i] = (float)(i % 5) - 2.0f;
    for (i = 0; i < count; i++) spans[2 * i] = (uint64_t)(10 * i), spans[2 * i + 1] = (uint64_t)(10 * i + 7);
    index.dim = dim, index.count = count, index.pooling = TFM_POOLING_MEAN, index.normalized = 1;
    index.model_fingerprint = 0x1234, index.model_path = model_path, index.document_path = doc_path;
    index.document_bytes = (uint64_t)(10 * count), index.document_hash = 42;
    index.vectors = vectors, index.spans = spans;
    snprintf(path, sizeof path, "%s/embed_index/%s", out_dir, name);
    if (tfm_embed_index_write(path, &index, &err) != TFM_OK) {
        fprintf(stderr, "seeds: %s: %s\n", name, err.message);
        failures++;
    }
}


/* ---- vocabs */

static const char vocab_text[] = "Hello world, the quick brown fox's 123 4567 <|endoftext|> caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 "
                                 "[CLS] un##able\n\n  x\t<think>ok</think>";

/* fuzz_vocab's frame around a GGUF vocab. */
static void write_vocab(const char *name, tfm_gguf_writer *w, int flags)
{
    uint64_t size = tfm_gguf_writer_size(w);
    size_t text_len = strlen(vocab_text);
    unsigned char *buf = (unsigned char *)malloc((size_t)size + 3 + text_len);
    tfm_error err;
    if (!buf || tfm_gguf_writer_write_buffer(w, buf + 3, (size_t)size, &err) != TFM_OK) {
        fprintf(stderr, "seeds: %s: %s\n", name, buf ? err.message : "out of memory");
        failures++;
    } else {
        buf[0] = (unsigned char)flags, buf[1] = (unsigned char)(text_len & 255), buf[2] = (unsigned char)(text_len >> 8);
        memcpy(buf + 3 + size, vocab_text, text_len);
        write_file("vocab", name, buf, (size_t)size + 3 + text_len);
    }
    free(buf);
    tfm_gguf_writer_free(w);
}

/* GPT-2's spelling of byte b (its byte-to-unicode table): printable Latin-1 as itself, the others as
   U+0100 + their rank among the others; UTF-8 into out, returns its length. */
static size_t gpt2_byte(int b, char *out)
{
    int cp = b, k, rank = 0;
    if (!((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff))) {
        for (k = 0; k < b; k++) rank += !((k >= '!' && k <= '~') || (k >= 0xa1 && k <= 0xac) || (k >= 0xae && k <= 0xff));
        cp = 256 + rank;
    }
    if (cp < 0x80) return out[0] = (char)cp, 1;
    out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

/* A byte-level BPE vocab: the 256 byte tokens, merges spelling a few words (a space is U+0120), an
   end-of-text control token and a user-defined <think>. */
static void bpe_vocab_seed(const char *pre)
{
    static const char *const merges[] = {"\xc4\xa0 t", "h e", "\xc4\xa0t he", "i n", "\xc4\xa0 a", "e r", "o n",
                                         "\xc4\xa0 w", "o r", "\xc4\xa0w or", "l d", "\xc4\xa0wor ld", "1 2"};
    static char storage[256][4];
    const char *tokens[256 + 16];
    char joined[16][16];
    int32_t types[256 + 16];
    int n = 0, i, eos;
    uint32_t n_merges = sizeof merges / sizeof merges[0];
    tfm_gguf_writer *w;
    tfm_error err;
    char name[64];
    for (i = 0; i < 256; i++, n++) storage[i][gpt2_byte(i, storage[i])] = '\0', tokens[n] = storage[i], types[n] = 1;
    for (i = 0; i < (int)n_merges; i++, n++) { /* "a b" -> "ab" */
        const char *space = strchr(merges[i], ' ');
        snprintf(joined[i], sizeof joined[i], "%.*s%s", (int)(space - merges[i]), merges[i], space + 1);
        tokens[n] = joined[i], types[n] = 1;
    }
    eos = n;
    tokens[n] = "<|endoftext|>", types[n++] = 3;
    tokens[n] = "<think>", types[n++] = 4;
    tfm_gguf_writer_create(&w, &err);
    tfm_gguf_writer_add_string(w, "tokenizer.ggml.model", "gpt2", &err);
    tfm_gguf_writer_add_string(w, "tokenizer.ggml.pre", pre, &err);
    tfm_gguf_writer_add_array_string(w, "tokenizer.ggml.tokens", tokens, NULL, (uint64_t)n, &err);
    tfm_gguf_writer_add_array(w, "tokenizer.ggml.token_type", TFM_GGUF_I32, types, (uint64_t)n, &err);
    tfm_gguf_writer_add_array_string(w, "tokenizer.ggml.merges", merges, NULL, n_merges, &err);
    tfm_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)eos, &err);
    tfm_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos, &err);
    tfm_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", 1, &err);
    snprintf(name, sizeof name, "bpe-%s.vocab", pre);
    write_vocab(name, w, strcmp(pre, "gpt-2") == 0 ? 2 : 1);
}

/* A WordPiece vocab: the specials, letters, digits and punctuation, ## continuations, a few words. */
static void wpm_vocab_seed(void)
{
    static const char *const words[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "un", "##able",
                                        "##ing", "hello", "world", ",", ".", "'", "!", "\xe4\xb8\xad"};
    static char storage[2][36][4];
    const char *tokens[100];
    int32_t types[100];
    int n = 0, i;
    tfm_gguf_writer *w;
    tfm_error err;
    for (i = 0; i < (int)(sizeof words / sizeof words[0]); i++, n++) tokens[n] = words[i], types[n] = i < 5 ? 3 : 1;
    for (i = 0; i < 36; i++) {
        char c = (char)(i < 26 ? 'a' + i : '0' + i - 26);
        snprintf(storage[0][i], 4, "%c", c), snprintf(storage[1][i], 4, "##%c", c);
        tokens[n] = storage[0][i], types[n++] = 1;
        tokens[n] = storage[1][i], types[n++] = 1;
    }
    tfm_gguf_writer_create(&w, &err);
    tfm_gguf_writer_add_string(w, "tokenizer.ggml.model", "bert", &err);
    tfm_gguf_writer_add_string(w, "tokenizer.ggml.pre", "bert-bge", &err);
    tfm_gguf_writer_add_array_string(w, "tokenizer.ggml.tokens", tokens, NULL, (uint64_t)n, &err);
    tfm_gguf_writer_add_array(w, "tokenizer.ggml.token_type", TFM_GGUF_I32, types, (uint64_t)n, &err);
    tfm_gguf_writer_add_u32(w, "tokenizer.ggml.padding_token_id", 0, &err);
    tfm_gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 1, &err);
    tfm_gguf_writer_add_u32(w, "tokenizer.ggml.cls_token_id", 2, &err);
    tfm_gguf_writer_add_u32(w, "tokenizer.ggml.seperator_token_id", 3, &err);
    tfm_gguf_writer_add_u32(w, "tokenizer.ggml.mask_token_id", 4, &err);
    write_vocab("wpm.vocab", w, 1);
}

/* A SentencePiece vocab: tfm_model.h's stand-in (<unk> <s> </s>, the byte tokens, placeholder words). */
static void spm_vocab_seed(void)
{
    tfm_gguf_writer *w;
    tfm_error err;
    tfm_gguf_writer_create(&w, &err);
    if (tfm_model_gguf_add_vocab(w, NULL, 300, &err) != TFM_OK) fprintf(stderr, "seeds: spm vocab: %s\n", err.message), failures++;
    write_vocab("spm.vocab", w, 3);
}

/* ---- vocabs cut from SHARED/vocab: the first `keep` tokens, the special tokens after them moved behind
   them, the merges whose halves and result are all kept */

typedef struct {
    const char *s;
    size_t n;
    int id;
} piece_ref;

static int piece_cmp(const void *a, const void *b)
{
    const piece_ref *x = (const piece_ref *)a, *y = (const piece_ref *)b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int kept(const piece_ref *sorted, int n, const char *s, size_t len)
{
    piece_ref key;
    key.s = s, key.n = len, key.id = 0;
    return bsearch(&key, sorted, (size_t)n, sizeof key, piece_cmp) != NULL;
}

static void cut_vocab_seed(const char *shared, const char *file, int keep)
{
    static const char *const id_keys[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                          "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
                                          "tokenizer.ggml.padding_token_id", "tokenizer.ggml.mask_token_id",
                                          "tokenizer.ggml.eot_token_id"};
    static const char *const copied[] = {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.add_bos_token",
                                         "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix"};
    char path[1024], name[128];
    tfm_gguf *g = NULL;
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    tfm_gguf_type elem;
    uint64_t n_tokens = 0, n_merges = 0, i;
    const char **pieces = NULL, **merges = NULL;
    size_t *lengths = NULL, *merge_lengths = NULL;
    float *scores = NULL, *all_scores = NULL;
    int32_t *types = NULL, *all_types = NULL;
    piece_ref *sorted = NULL;
    uint32_t ids[sizeof id_keys / sizeof id_keys[0]];
    int n = 0, m = 0, k;
    snprintf(path, sizeof path, "%s/vocab/%s", shared, file);
    if (tfm_gguf_open(&g, path, 0, &err) != TFM_OK) return; /* absent: the generated vocabs only */
    if (tfm_gguf_get_array(g, "tokenizer.ggml.tokens", &elem, &n_tokens, &err) != TFM_OK || n_tokens < (uint64_t)keep) goto done;
    tfm_gguf_get_array(g, "tokenizer.ggml.merges", &elem, &n_merges, &err);
    pieces = (const char **)calloc((size_t)keep + 8, sizeof *pieces);
    lengths = (size_t *)calloc((size_t)keep + 8, sizeof *lengths);
    scores = (float *)calloc((size_t)keep + 8, sizeof *scores);
    types = (int32_t *)calloc((size_t)keep + 8, sizeof *types);
    all_scores = (float *)calloc((size_t)n_tokens, sizeof *all_scores);
    all_types = (int32_t *)calloc((size_t)n_tokens, sizeof *all_types);
    sorted = (piece_ref *)calloc((size_t)keep + 8, sizeof *sorted);
    merges = (const char **)calloc((size_t)n_merges + 1, sizeof *merges);
    merge_lengths = (size_t *)calloc((size_t)n_merges + 1, sizeof *merge_lengths);
    if (!pieces || !lengths || !scores || !types || !all_scores || !all_types || !sorted || !merges || !merge_lengths) goto done;
    if (tfm_gguf_find_key(g, "tokenizer.ggml.scores") >= 0) tfm_gguf_get_array_f32(g, "tokenizer.ggml.scores", all_scores, n_tokens, &err);
    if (tfm_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0)
        tfm_gguf_get_array_i32(g, "tokenizer.ggml.token_type", all_types, n_tokens, &err);
    for (n = 0; n < keep; n++) {
        tfm_gguf_get_array_string(g, "tokenizer.ggml.tokens", (uint64_t)n, &pieces[n], &lengths[n], &err);
        scores[n] = all_scores[n], types[n] = all_types[n];
    }
    for (k = 0; k < (int)(sizeof id_keys / sizeof id_keys[0]); k++) {
        ids[k] = UINT32_MAX;
        if (tfm_gguf_find_key(g, id_keys[k]) < 0 || tfm_gguf_get_u32(g, id_keys[k], &ids[k], &err) != TFM_OK) continue;
        if (ids[k] >= n_tokens) {
            ids[k] = UINT32_MAX;
            continue;
        }
        if (ids[k] >= (uint32_t)keep) { /* behind the kept ones (once, if two keys name it) */
            int j, found = -1;
            tfm_gguf_get_array_string(g, "tokenizer.ggml.tokens", ids[k], &pieces[n], &lengths[n], &err);
            for (j = keep; j < n; j++)
                if (lengths[j] == lengths[n] && memcmp(pieces[j], pieces[n], lengths[n]) == 0) found = j;
            if (found < 0) scores[n] = all_scores[ids[k]], types[n] = all_types[ids[k]], found = n++;
            ids[k] = (uint32_t)found;
        }
    }
    for (k = 0; k < n; k++) sorted[k].s = pieces[k], sorted[k].n = lengths[k], sorted[k].id = k;
    qsort(sorted, (size_t)n, sizeof *sorted, piece_cmp);
    for (i = 0; i < n_merges; i++) {
        const char *s, *space;
        size_t len;
        char joined[256];
        if (tfm_gguf_get_array_string(g, "tokenizer.ggml.merges", i, &s, &len, &err) != TFM_OK) continue;
        space = (const char *)memchr(s, ' ', len);
        if (!space || len > sizeof joined) continue;
        memcpy(joined, s, (size_t)(space - s));
        memcpy(joined + (space - s), space + 1, len - (size_t)(space - s) - 1);
        if (kept(sorted, n, s, (size_t)(space - s)) && kept(sorted, n, space + 1, len - (size_t)(space - s) - 1) &&
            kept(sorted, n, joined, len - 1))
            merges[m] = s, merge_lengths[m++] = len;
    }
    tfm_gguf_writer_create(&w, &err);
    for (k = 0; k < (int)(sizeof copied / sizeof copied[0]); k++)
        if (tfm_gguf_find_key(g, copied[k]) >= 0) tfm_gguf_writer_copy_kv(w, g, tfm_gguf_find_key(g, copied[k]), &err);
    tfm_gguf_writer_add_array_string(w, "tokenizer.ggml.tokens", pieces, lengths, (uint64_t)n, &err);
    tfm_gguf_writer_add_array(w, "tokenizer.ggml.token_type", TFM_GGUF_I32, types, (uint64_t)n, &err);
    if (tfm_gguf_find_key(g, "tokenizer.ggml.scores") >= 0)
        tfm_gguf_writer_add_array(w, "tokenizer.ggml.scores", TFM_GGUF_F32, scores, (uint64_t)n, &err);
    if (n_merges) tfm_gguf_writer_add_array_string(w, "tokenizer.ggml.merges", merges, merge_lengths, (uint64_t)m, &err);
    for (k = 0; k < (int)(sizeof id_keys / sizeof id_keys[0]); k++)
        if (ids[k] != UINT32_MAX) tfm_gguf_writer_add_u32(w, id_keys[k], ids[k], &err);
    snprintf(name, sizeof name, "cut-%s.vocab", file);
    write_vocab(name, w, 1);
    w = NULL;
done:
    tfm_gguf_writer_free(w);
    tfm_gguf_close(g);
    free((void *)pieces), free(lengths), free(scores), free(types), free(all_scores), free(all_types), free(sorted);
    free((void *)merges), free(merge_lengths);
}

/* ---- states */

static void state_seeds(void)
{
    static const int lengths[] = {0, 1, 3, 5, 8};
    tfm_model *m = fuzz_tiny_model();
    tfm_context *ctx = NULL;
    tfm_error err;
    int c, i, tokens[12];
    for (i = 0; i < 12; i++) tokens[i] = (i * 7 + 3) % 16;
    if (!m) {
        failures++;
        return;
    }
    for (c = 0; c < FUZZ_N_CONTEXTS; c++) {
        tfm_context_params p = fuzz_state_params(c);
        if (tfm_context_create(m, &p, &ctx, &err) != TFM_OK) {
            fprintf(stderr, "seeds: state context %d: %s\n", c, err.message);
            failures++;
            continue;
        }
        for (i = 0; i < (int)(sizeof lengths / sizeof lengths[0]); i++) {
            float logits[16];
            size_t size = 0;
            unsigned char *buf;
            char name[64];
            tfm_context_reset(ctx);
            if (lengths[i] && tfm_forward(ctx, tokens, lengths[i], logits, TFM_LOGITS_LAST, &err) != TFM_OK) {
                fprintf(stderr, "seeds: state %d/%d: %s\n", c, lengths[i], err.message);
                failures++;
                continue;
            }
            /* the last one rewound a position: a state without logits */
            if (i + 1 == (int)(sizeof lengths / sizeof lengths[0])) tfm_context_rewind(ctx, lengths[i] - 1, &err);
            tfm_context_state_save(ctx, NULL, 0, &size, &err);
            buf = (unsigned char *)malloc(size);
            if (buf && tfm_context_state_save(ctx, buf, size, &size, &err) == TFM_OK) {
                snprintf(name, sizeof name, "ctx%d-%d.state", c, lengths[i]);
                write_file("state", name, buf, size);
            } else
                failures++;
            free(buf);
        }
        tfm_context_free(ctx);
        ctx = NULL;
    }
    tfm_model_free(m);
}

/* ---- chat: flags, a row byte, then NUL-separated template text, role, content, ... */

static void chat_seed(const char *name, int flags, int row, const char *template_text, size_t template_len)
{
    static const char conversation[] = "system\0You are terse.\0user\0Hi! \xe2\x80\x83\0assistant\0 Hello \0user\0again";
    unsigned char *buf = (unsigned char *)malloc(2 + template_len + 1 + sizeof conversation);
    size_t n = 0;
    if (!buf) return;
    buf[n++] = (unsigned char)flags, buf[n++] = (unsigned char)row;
    memcpy(buf + n, template_text, template_len), n += template_len;
    buf[n++] = '\0';
    memcpy(buf + n, conversation, sizeof conversation - 1), n += sizeof conversation - 1;
    write_file("chat", name, buf, n);
    free(buf);
}

static void chat_seeds(const char *shared)
{
    static const char *const markers[] = {"<|im_start|>", "[INST] [SYSTEM_PROMPT]", "[INST] ' [INST] ' + system_message",
                                          "[INST] \"[INST]\" [AVAILABLE_TOOLS]", "[INST] [AVAILABLE_TOOLS]",
                                          "[INST] <<SYS>> bos_token + '[INST]", "[INST]", "<|assistant|> <|end|>",
                                          "<start_of_turn>", "<|start_header_id|> <|end_header_id|>", "<|im_sep|>",
                                          "chatml"};
    static const char *const files[] = {"ggml-vocab-llama3.gguf", "ggml-vocab-qwen3.gguf"};
    char name[64];
    int i;
    for (i = 0; tfm_chat_template_at(i); i++) {
        snprintf(name, sizeof name, "row-%s.chat", tfm_chat_template_name(tfm_chat_template_at(i)));
        chat_seed(name, 0x80 | (i % 2 ? 1 : 3), i, "", 0);
    }
    for (i = 0; i < (int)(sizeof markers / sizeof markers[0]); i++) {
        snprintf(name, sizeof name, "markers-%d.chat", i);
        chat_seed(name, i % 4, 0, markers[i], strlen(markers[i]));
    }
    for (i = 0; i < (int)(sizeof files / sizeof files[0]); i++) {
        char path[1024];
        const char *text;
        size_t len;
        tfm_gguf *g = NULL;
        tfm_error err;
        snprintf(path, sizeof path, "%s/vocab/%s", shared, files[i]);
        if (tfm_gguf_open(&g, path, 0, &err) == TFM_OK &&
            tfm_gguf_get_string(g, "tokenizer.chat_template", &text, &len, &err) == TFM_OK) {
            snprintf(name, sizeof name, "template-%s.chat", files[i]);
            chat_seed(name, 1, 0, text, len);
        }
        tfm_gguf_close(g);
    }
}

int main(int argc, char **argv)
{
    static const char *texts[][2] = {
        {"ascii.txt", "Once upon a time, there was a little girl named Lily."},
        {"utf8.txt", "caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80 na\xc3\xafve"},
        {"bytes.txt", "\xff\xfe\x80\x01 \xc3 \xe2\x96"},
        {"spaces.txt", "   two  spaces\n\n\ttab  "},
    };
    size_t i;
    static const char *const pres[] = {"gpt-2", "llama-bpe", "qwen2", "starcoder", "falcon", "default", "deepseek-llm"};
    static const struct {
        const char *file;
        int keep;
    } cuts[] = {{"ggml-vocab-gpt-2.gguf", 400}, {"ggml-vocab-llama3.gguf", 400}, {"ggml-vocab-qwen3.gguf", 400},
                {"ggml-vocab-deepseek-llm.gguf", 400}, {"ggml-vocab-mpt.gguf", 400}, {"ggml-vocab-bert-bge.gguf", 1100},
                {"ggml-vocab-phi-3.gguf", 400}};
    const char *shared = argc > 2 ? argv[2] : "../shared";
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: seeds OUT_DIR [SHARED] (with OUT_DIR/gguf, tokenizer_bin, ... existing)\n");
        return 2;
    }
    out_dir = argv[1];
    metadata_seed();
    tensor_seed("tensors.gguf", 0, 2);
    tensor_seed("tensors-align1.gguf", 1, 1);
    tensor_seed("tensors-align8-3d.gguf", 8, 3);
    tensor_seed("tensors-align64-4d.gguf", 64, 4);
    tokenizer_seed("vocab-all.bin", 0, 1, 40, "Once upon a time");
    tokenizer_seed("vocab-asked.bin", 1, 1, 20, "caf\xc3\xa9 abab ba");
    tokenizer_seed("small-all.bin", 0, 0, 6, "abba ab");
    tokenizer_seed("small-asked.bin", 1, 0, 12, " ba ca");
    tokenizer_seed("small-asked-text.bin", 1, 0, 5, "the text after the file: moving its start cuts the file");
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) write_file("tokenize", texts[i][0], texts[i][1], strlen(texts[i][1]));
    write_file("tokenize", "nul.txt", "a\0b\0", 4);
    index_seed("paths.idx", 3, 2, "models/m.gguf", "doc.txt");
    index_seed("bare.idx", 8, 1, NULL, NULL);
    index_seed("wide.idx", 16, 3, "m", "");
    for (i = 0; i < sizeof pres / sizeof pres[0]; i++) bpe_vocab_seed(pres[i]);
    wpm_vocab_seed();
    spm_vocab_seed();
    for (i = 0; i < sizeof cuts / sizeof cuts[0]; i++) cut_vocab_seed(shared, cuts[i].file, cuts[i].keep);
    state_seeds();
    chat_seeds(shared);
    return failures ? 1 : 0;
}

/* seeds.c - writes the seed files of the fuzz targets that tfm-synth cannot make (tests/fuzz/seeds.sh
   runs it, then tfm-synth for the models):
     OUT/gguf/       small GGUF files holding every metadata type (each integer and float type, bool,
                     string, arrays of each, general.alignment 1, 8, 64) and tensors of every dtype tfm
                     reads (f32 f16 bf16 q8_0 q4_0 q4_1 q4_k q6_k i8 i16 i32 i64 f64), 1 to 4 dims
     OUT/tokenizer_bin/  llama2.c tokenizer.bin files (a vocab byte first: tokens the caller asks for;
                     fuzz_tokenizer_bin reads it), with byte tokens, merges and text after byte 64
     OUT/tokenize/   texts: ASCII, UTF-8, bytes that are no UTF-8, spaces, NULs
     OUT/embed_index/  retrieval indexes (tfm_embed_index_write): with and without paths, several dims
       seeds OUT */
#define TFM_IMPLEMENTATION
#include "tfm_embed.h"
#include "tfm_gguf.h"

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

/* A llama2.c tokenizer.bin: <unk> <s> </s>, the byte tokens, then words; in fuzz_tokenizer_bin's frame:
   a byte asking for a vocab size (0: whatever the file holds), two for the text's length, the file, the text. */
static void tokenizer_seed(const char *name, int ask, int n_words, const char *text)
{
    static unsigned char buf[1 << 15];
    size_t n = 0;
    int i, count = 3 + 256 + n_words;
    char piece[16];
#define PUT(p, k) (memcpy(buf + n, (p), (k)), n += (k))
    buf[n++] = (unsigned char)(ask ? 128 + (count - 256) : 0); /* fuzz_tokenizer_bin: >= 128 asks for 256 + byte - 128 */
    buf[n++] = (unsigned char)(strlen(text) & 255);
    buf[n++] = (unsigned char)(strlen(text) >> 8);
    {
        int32_t max_len = 8;
        PUT(&max_len, 4);
    }
    for (i = 0; i < count; i++) {
        float score = i < 259 ? 0.0f : -(float)i;
        int32_t len;
        if (i < 3) snprintf(piece, sizeof piece, "%s", i == 0 ? "<unk>" : i == 1 ? "\n<s>\n" : "\n</s>\n");
        else if (i < 259) snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
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

int main(int argc, char **argv)
{
    static const char *texts[][2] = {
        {"ascii.txt", "Once upon a time, there was a little girl named Lily."},
        {"utf8.txt", "caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80 na\xc3\xafve"},
        {"bytes.txt", "\xff\xfe\x80\x01 \xc3 \xe2\x96"},
        {"spaces.txt", "   two  spaces\n\n\ttab  "},
    };
    size_t i;
    if (argc != 2) {
        fprintf(stderr, "usage: seeds OUT_DIR (with OUT_DIR/gguf, tokenizer_bin, tokenize existing)\n");
        return 2;
    }
    out_dir = argv[1];
    metadata_seed();
    tensor_seed("tensors.gguf", 0, 2);
    tensor_seed("tensors-align1.gguf", 1, 1);
    tensor_seed("tensors-align8-3d.gguf", 8, 3);
    tensor_seed("tensors-align64-4d.gguf", 64, 4);
    tokenizer_seed("vocab-all.bin", 0, 40, "Once upon a time");
    tokenizer_seed("vocab-asked.bin", 1, 20, "caf\xc3\xa9 abab ba");
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) write_file("tokenize", texts[i][0], texts[i][1], strlen(texts[i][1]));
    write_file("tokenize", "nul.txt", "a\0b\0", 4);
    index_seed("paths.idx", 3, 2, "models/m.gguf", "doc.txt");
    index_seed("bare.idx", 8, 1, NULL, NULL);
    index_seed("wide.idx", 16, 3, "m", "");
    return failures ? 1 : 0;
}

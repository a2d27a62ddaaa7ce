/* fuzz_gguf.c - GGUF bytes into tfm_gguf_open_memory, then every getter on every key and every tensor,
   then the writer: a file opened is copied key by key and tensor by tensor into a writer, written to a
   buffer, and that buffer must open again with the same keys, values and tensor bytes. Properties
   (besides the sanitizers'): failures give a printable one-line message, views stay inside the input,
   a tensor's data is aligned for its type, and the round trip is exact. */
#define TFM_IMPLEMENTATION
#include "tfm_gguf.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static volatile unsigned fuzz_sink;

/* Every getter on one key: only the ones of its type may succeed, and what they return lies in the input. */
static void every_getter(const tfm_gguf *g, const char *key, const uint8_t *data, size_t size)
{
    uint32_t u32;
    int32_t i32;
    uint64_t u64, count = 0, i;
    int64_t i64;
    float f32;
    double f64;
    int b;
    const char *str;
    size_t len;
    char buf[48];
    const void *raw;
    tfm_gguf_type elem;
    tfm_error err;
    tfm_status s;
#define GETTER(call) (s = (call), fuzz_check_message(&err, s), s)
    (void)GETTER(tfm_gguf_get_u32(g, key, &u32, &err));
    (void)GETTER(tfm_gguf_get_i32(g, key, &i32, &err));
    (void)GETTER(tfm_gguf_get_u64(g, key, &u64, &err));
    (void)GETTER(tfm_gguf_get_i64(g, key, &i64, &err));
    (void)GETTER(tfm_gguf_get_f32(g, key, &f32, &err));
    (void)GETTER(tfm_gguf_get_f64(g, key, &f64, &err));
    if (GETTER(tfm_gguf_get_bool(g, key, &b, &err)) == TFM_OK) FUZZ_CHECK(b == 0 || b == 1);
    if (GETTER(tfm_gguf_get_string(g, key, &str, &len, &err)) == TFM_OK) {
        FUZZ_CHECK((const uint8_t *)str >= data && len <= size && (const uint8_t *)str - data <= (ptrdiff_t)(size - len));
        fuzz_sink += fuzz_touch(str, len);
    }
    if (GETTER(tfm_gguf_get_string_buf(g, key, buf, sizeof buf, &err)) == TFM_OK) FUZZ_CHECK(strlen(buf) < sizeof buf);
    if (GETTER(tfm_gguf_get_array(g, key, &elem, &count, &err)) != TFM_OK) return;
    FUZZ_CHECK(count <= size); /* every element takes at least a byte of the file */
    if (elem == TFM_GGUF_STRING) {
        for (i = 0; i < count; i++) {
            if (i == 16 && count > 32) i = count - 16; /* the first and the last ones */
            FUZZ_CHECK(GETTER(tfm_gguf_get_array_string(g, key, i, &str, &len, &err)) == TFM_OK);
            FUZZ_CHECK((const uint8_t *)str >= data && len <= size && (const uint8_t *)str - data <= (ptrdiff_t)(size - len));
            fuzz_sink += fuzz_touch(str, len);
        }
        FUZZ_CHECK(GETTER(tfm_gguf_get_array_string(g, key, count, &str, &len, &err)) == TFM_ERR_OUT_OF_RANGE);
        (void)GETTER(tfm_gguf_get_array_i32(g, key, NULL, count, &err));
        return;
    }
    if (GETTER(tfm_gguf_get_array_data(g, key, &raw, &err)) == TFM_OK) {
        size_t bytes = (size_t)count * (elem == TFM_GGUF_U8 || elem == TFM_GGUF_I8 || elem == TFM_GGUF_BOOL ? 1
                                        : elem == TFM_GGUF_U16 || elem == TFM_GGUF_I16                       ? 2
                                        : elem == TFM_GGUF_U64 || elem == TFM_GGUF_I64 || elem == TFM_GGUF_F64 ? 8
                                                                                                              : 4);
        FUZZ_CHECK((const uint8_t *)raw >= data && bytes <= size && (const uint8_t *)raw - data <= (ptrdiff_t)(size - bytes));
        fuzz_sink += fuzz_touch(raw, bytes);
    }
    {
        int32_t *ints = (int32_t *)malloc(sizeof(int32_t) * (size_t)(count + 1));
        float *floats = (float *)malloc(sizeof(float) * (size_t)(count + 1));
        if (ints && floats) {
            (void)GETTER(tfm_gguf_get_array_i32(g, key, ints, count, &err));
            (void)GETTER(tfm_gguf_get_array_f32(g, key, floats, count, &err));
            if (count > 0) FUZZ_CHECK(GETTER(tfm_gguf_get_array_f32(g, key, floats, count - 1, &err)) != TFM_OK);
        }
        free(ints);
        free(floats);
    }
#undef GETTER
}

/* The element alignment a tensor's data needs in memory: its dtype's widest load. */
static size_t element_alignment(tfm_dtype t)
{
    switch (t) {
    case TFM_F32: case TFM_I32: return 4;
    case TFM_F64: case TFM_I64: return 8;
    case TFM_I8: return 1;
    default: return 2; /* f16, bf16, i16 and the block types (an f16 scale first) */
    }
}

/* The file again, through the writer: same keys in order, same values, same tensors and bytes. */
static void round_trip(const tfm_gguf *g, size_t size)
{
    tfm_gguf_writer *w = NULL;
    tfm_gguf *again = NULL;
    unsigned char *buf;
    uint64_t bytes;
    tfm_error err;
    int64_t i;
    int written = 0;
    FUZZ_CHECK(tfm_gguf_writer_create(&w, &err) == TFM_OK);
    for (i = 0; i < tfm_gguf_n_kv(g); i++) FUZZ_CHECK(tfm_gguf_writer_copy_kv(w, g, i, &err) == TFM_OK);
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *info = tfm_gguf_tensor_info_at(g, i);
        tfm_tensor t;
        FUZZ_CHECK(tfm_gguf_tensor_view(g, i, &t) == TFM_OK);
        if (strlen(info->name) > TFM_GGUF_WRITER_MAX_NAME) goto done; /* the writer keeps llama.cpp's limit */
        FUZZ_CHECK(tfm_gguf_writer_add_tensor(w, info->name, info->dtype, info->n_dims, info->ne, t.data, &err) == TFM_OK);
    }
    bytes = tfm_gguf_writer_size(w);
    if (bytes > 4 * (uint64_t)size + (1u << 20)) goto done; /* an alignment of 2^30 pads each tensor to it */
    buf = (unsigned char *)malloc((size_t)bytes + 1);
    if (!buf) goto done;
    FUZZ_CHECK(tfm_gguf_writer_write_buffer(w, buf, (size_t)bytes, &err) == TFM_OK);
    written = 1;
    FUZZ_CHECK(tfm_gguf_open_memory(&again, buf, (size_t)bytes, &err) == TFM_OK);
    FUZZ_CHECK(tfm_gguf_n_kv(again) == tfm_gguf_n_kv(g) && tfm_gguf_n_tensors(again) == tfm_gguf_n_tensors(g));
    for (i = 0; i < tfm_gguf_n_kv(g); i++) {
        FUZZ_CHECK(strcmp(tfm_gguf_key(g, i), tfm_gguf_key(again, i)) == 0);
        FUZZ_CHECK(tfm_gguf_kv_type(g, i) == tfm_gguf_kv_type(again, i));
    }
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *a = tfm_gguf_tensor_info_at(g, i), *b = tfm_gguf_tensor_info_at(again, i);
        tfm_tensor ta, tb;
        FUZZ_CHECK(strcmp(a->name, b->name) == 0 && a->dtype == b->dtype && a->n_dims == b->n_dims && a->size == b->size);
        FUZZ_CHECK(memcmp(a->ne, b->ne, sizeof a->ne) == 0);
        FUZZ_CHECK(tfm_gguf_tensor_view(g, i, &ta) == TFM_OK && tfm_gguf_tensor_view(again, i, &tb) == TFM_OK);
        FUZZ_CHECK(memcmp(ta.data, tb.data, (size_t)a->size) == 0);
    }
    tfm_gguf_close(again);
    free(buf);
done:
    (void)written;
    tfm_gguf_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tfm_gguf *g = NULL;
    tfm_error err;
    tfm_status s = tfm_gguf_open_memory(&g, data, size, &err);
    int64_t i;
    fuzz_check_message(&err, s);
    if (s != TFM_OK) {
        FUZZ_CHECK(g == NULL);
        return 0;
    }
    FUZZ_CHECK(tfm_gguf_version(g) == 2 || tfm_gguf_version(g) == 3);
    FUZZ_CHECK(tfm_gguf_data_offset(g) <= size);
    for (i = 0; i < tfm_gguf_n_kv(g); i++) {
        const char *key = tfm_gguf_key(g, i);
        FUZZ_CHECK(key && tfm_gguf_find_key(g, key) == i);
        FUZZ_CHECK(tfm_gguf_kv_type(g, i) < TFM_GGUF_TYPE_COUNT);
        every_getter(g, key, data, size);
    }
    FUZZ_CHECK(tfm_gguf_key(g, tfm_gguf_n_kv(g)) == NULL && tfm_gguf_find_key(g, "no such key\x01") == -1);
    every_getter(g, "no such key\x01", data, size);
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *info = tfm_gguf_tensor_info_at(g, i);
        tfm_tensor t;
        FUZZ_CHECK(info && tfm_gguf_find_tensor(g, info->name) == i);
        FUZZ_CHECK(tfm_gguf_tensor_view(g, i, &t) == TFM_OK && tfm_tensor_nbytes(&t) == info->size);
        FUZZ_CHECK((const uint8_t *)t.data >= data && info->size <= size &&
                   (const uint8_t *)t.data - data <= (ptrdiff_t)(size - info->size));
        FUZZ_CHECK(info->offset % element_alignment(info->dtype) == 0);
        fuzz_sink += fuzz_touch(t.data, 1) + fuzz_touch((const uint8_t *)t.data + info->size - 1, 1);
        FUZZ_CHECK(tfm_gguf_get_tensor(g, info->name, &t, &err) == TFM_OK);
    }
    FUZZ_CHECK(tfm_gguf_tensor_info_at(g, -1) == NULL && tfm_gguf_tensor_info_at(g, tfm_gguf_n_tensors(g)) == NULL);
    s = tfm_gguf_get_tensor(g, "no such tensor", NULL, &err);
    FUZZ_CHECK(s != TFM_OK);
    round_trip(g, size);
    tfm_gguf_close(g);
    return 0;
}

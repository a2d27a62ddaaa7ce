/* tfm_gguf.h - GGUF reader and writer of tfm, a header-only transformer inference library.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     A reader for GGUF v2 and v3 files (the format llama.cpp and ggml use for models) and a writer of
     GGUF v3 files that llama.cpp loads. The reader treats its input as hostile: every count, length,
     type, dimension and offset is checked against the file and against sane limits before it is used,
     so a corrupt or malicious file gives an error with a one-line message, never a crash, a read out of
     bounds or a huge allocation. Memory the reader allocates is proportional to the bytes of the file it
     has checked (and capped by the limits below), never to a count it has not.

   USAGE
     In exactly one C or C++ file:
        #define TFM_IMPLEMENTATION
        #include "tfm_gguf.h"
     Reading:
        tfm_gguf *g; tfm_error err; uint32_t dim; tfm_tensor emb;
        if (tfm_gguf_open(&g, "model.gguf", 0, &err) != TFM_OK) { puts(err.message); return 1; }
        if (tfm_gguf_get_u32(g, "llama.embedding_length", &dim, &err) != TFM_OK ||
            tfm_gguf_get_tensor(g, "token_embd.weight", &emb, &err) != TFM_OK) { ... }
        ... emb.data points into the mapped file, read-only; valid until tfm_gguf_close(g) ...
        tfm_gguf_close(g);
     Writing:
        tfm_gguf_writer *w;
        tfm_gguf_writer_create(&w, &err);
        tfm_gguf_writer_add_string(w, "general.architecture", "llama", &err);
        tfm_gguf_writer_add_u32(w, "llama.embedding_length", 64, &err);
        tfm_gguf_writer_add_tensor(w, "token_embd.weight", TFM_F32, 2, ne, data, &err);
        tfm_gguf_writer_write_file(w, "out.gguf", &err);
        tfm_gguf_writer_free(w);
     Every call returns a tfm_status; the first failure leaves a message in err.

   DECISIONS (what the reader accepts)
     - GGUF v2 and v3 (same layout, little-endian). v1 and byte-swapped (big-endian) files are refused.
     - Nested arrays (an array of arrays) are refused, as llama.cpp does.
     - Keys: 1..65535 bytes, no NUL, unique. Tensor names: 1..64 bytes, no NUL, unique.
     - bool values must be 0 or 1. `general.alignment`, when present, must be a u32 power of two
       (default 32).
     - Tensors: 1..4 dims, each >= 1 (stricter than llama.cpp, which also takes 0 dims and empty ones), element count and byte size without overflow, a type tfm knows
       (tfm_dtype, GGML's ids), ne[0] a multiple of the type's block size, offset a multiple of the
       alignment and the data's absolute offset of its element type's (4 for f32: a file of alignment 1
       may not put f32 data at an odd offset), data inside the file, and no two tensors' data overlapping
       (llama.cpp requires them to be packed in order; tfm only requires them to be disjoint).
     - Limits (macros, overridable before the implementation): TFM_GGUF_MAX_KV and TFM_GGUF_MAX_TENSORS
       (2^20 each), TFM_GGUF_MAX_ARRAY (2^27 elements).
     - Typed getters convert only when nothing is lost: tfm_gguf_get_u32/i32/u64/i64 accept a key of any
       integer type whose value fits the requested type (a u64 holding 7 reads as u32 7; an i32 holding -1
       does not), get_f32/get_f64 accept f32 or f64, get_bool only bool, get_string only string.
       Anything else is TFM_ERR_FORMAT with a message naming the key. A missing key is TFM_ERR_FORMAT
       too ("key 'x' is missing"); use tfm_gguf_find_key() first for optional keys.
     - Strings are not NUL-terminated in a GGUF file: string values come back as pointer + length into
       the file. Keys and tensor names, which are short, come back NUL-terminated (the reader keeps a copy).
     - Tensor views point into the file's memory and are read-only (the mapping is PROT_READ).
       Views are only as aligned as the memory holding the file: mapped files and files read by
       tfm_gguf_open are, a caller's buffer given to tfm_gguf_open_memory must be aligned to the file's
       alignment for typed access to the data.

   WRITER NOTES
     The writer follows gguf.cpp's layout so llama.cpp loads its files: header, kv pairs in the order
     added, tensor infos in the order added, zero padding to the alignment, then each tensor's data
     padded to the alignment. Use u32 for llama.cpp's hyperparameter keys (llama.cpp checks key types
     strictly) and keep tensor names under 64 bytes (the writer refuses longer ones). Tensor data is
     either a pointer (borrowed until the write) or a callback that produces rows on demand, so multi-GB
     files stream to a FILE* without being held in memory.
*/
#ifndef TFM_GGUF_H
#define TFM_GGUF_H

#include <stdio.h>
#include "tfm_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Metadata value types; ids are the file's. */
typedef enum tfm_gguf_type {
    TFM_GGUF_U8 = 0,
    TFM_GGUF_I8 = 1,
    TFM_GGUF_U16 = 2,
    TFM_GGUF_I16 = 3,
    TFM_GGUF_U32 = 4,
    TFM_GGUF_I32 = 5,
    TFM_GGUF_F32 = 6,
    TFM_GGUF_BOOL = 7,
    TFM_GGUF_STRING = 8,
    TFM_GGUF_ARRAY = 9,
    TFM_GGUF_U64 = 10,
    TFM_GGUF_I64 = 11,
    TFM_GGUF_F64 = 12,
    TFM_GGUF_TYPE_COUNT = 13
} tfm_gguf_type;

#define TFM_GGUF_DEFAULT_ALIGNMENT 32
/* Longest tensor name the reader accepts (the spec's limit) and the writer produces (llama.cpp's). */
#define TFM_GGUF_MAX_NAME 64
#define TFM_GGUF_WRITER_MAX_NAME 63
#define TFM_GGUF_MAX_KEY 65535

/* "u8", "i8", ..., "string", "array", "f64"; NULL for an unknown id. */
TFM_API const char *tfm_gguf_type_name(tfm_gguf_type t);

/* ---------------------------------------------------------------- reader */

typedef struct tfm_gguf tfm_gguf;

typedef struct tfm_gguf_tensor_info {
    const char *name;         /* NUL-terminated */
    tfm_dtype dtype;
    int n_dims;               /* 1..4 */
    int64_t ne[TFM_MAX_DIMS]; /* ne[0] is contiguous (GGML order); unused dims are 1 */
    uint64_t offset;          /* absolute offset of the data in the file */
    uint64_t size;            /* bytes of data */
} tfm_gguf_tensor_info;

/* Opens and validates a GGUF file. flags: TFM_FILE_MAP_DEFAULT (mmap where available, else read the
   whole file) or TFM_FILE_MAP_NO_MMAP (always read into memory). *out is NULL on failure. */
TFM_API tfm_status tfm_gguf_open(tfm_gguf **out, const char *path, int flags, tfm_error *err);
/* The same from a caller's buffer, which must stay valid and unchanged until tfm_gguf_close(). */
TFM_API tfm_status tfm_gguf_open_memory(tfm_gguf **out, const void *data, size_t size, tfm_error *err);
/* Frees everything (and unmaps the file); g may be NULL. */
TFM_API void tfm_gguf_close(tfm_gguf *g);

TFM_API uint32_t tfm_gguf_version(const tfm_gguf *g);
TFM_API size_t tfm_gguf_alignment(const tfm_gguf *g);
/* Offset of the tensor data section in the file. */
TFM_API uint64_t tfm_gguf_data_offset(const tfm_gguf *g);

/* Metadata, by index (0..n_kv-1, in file order) and by key. */
TFM_API int64_t tfm_gguf_n_kv(const tfm_gguf *g);
/* Index of key, or -1 if absent. */
TFM_API int64_t tfm_gguf_find_key(const tfm_gguf *g, const char *key);
/* NUL-terminated key of kv i; NULL if i is out of range. */
TFM_API const char *tfm_gguf_key(const tfm_gguf *g, int64_t i);
/* Type of kv i (TFM_GGUF_ARRAY for arrays); TFM_GGUF_TYPE_COUNT if i is out of range. */
TFM_API tfm_gguf_type tfm_gguf_kv_type(const tfm_gguf *g, int64_t i);

/* Typed getters (see DECISIONS for the conversions they allow). */
TFM_API tfm_status tfm_gguf_get_u32(const tfm_gguf *g, const char *key, uint32_t *out, tfm_error *err);
TFM_API tfm_status tfm_gguf_get_i32(const tfm_gguf *g, const char *key, int32_t *out, tfm_error *err);
TFM_API tfm_status tfm_gguf_get_u64(const tfm_gguf *g, const char *key, uint64_t *out, tfm_error *err);
TFM_API tfm_status tfm_gguf_get_i64(const tfm_gguf *g, const char *key, int64_t *out, tfm_error *err);
TFM_API tfm_status tfm_gguf_get_f32(const tfm_gguf *g, const char *key, float *out, tfm_error *err);
TFM_API tfm_status tfm_gguf_get_f64(const tfm_gguf *g, const char *key, double *out, tfm_error *err);
/* *out is 0 or 1. */
TFM_API tfm_status tfm_gguf_get_bool(const tfm_gguf *g, const char *key, int *out, tfm_error *err);
/* Pointer into the file and length in bytes; not NUL-terminated. */
TFM_API tfm_status tfm_gguf_get_string(const tfm_gguf *g, const char *key, const char **str, size_t *len,
                                       tfm_error *err);
/* Copies a string value into buf with a terminating NUL; TFM_ERR_OUT_OF_RANGE if it needs more than cap. */
TFM_API tfm_status tfm_gguf_get_string_buf(const tfm_gguf *g, const char *key, char *buf, size_t cap,
                                           tfm_error *err);

/* Element type and length of an array. */
TFM_API tfm_status tfm_gguf_get_array(const tfm_gguf *g, const char *key, tfm_gguf_type *elem_type,
                                      uint64_t *count, tfm_error *err);
/* Element i of an array of strings: pointer into the file and length; not NUL-terminated. */
TFM_API tfm_status tfm_gguf_get_array_string(const tfm_gguf *g, const char *key, uint64_t i, const char **str,
                                             size_t *len, tfm_error *err);
/* All count elements (count must equal the array's length) of an integer array whose values all fit
   in int32_t, or of an f32/f64 array, converted. */
TFM_API tfm_status tfm_gguf_get_array_i32(const tfm_gguf *g, const char *key, int32_t *out, uint64_t count,
                                          tfm_error *err);
TFM_API tfm_status tfm_gguf_get_array_f32(const tfm_gguf *g, const char *key, float *out, uint64_t count,
                                          tfm_error *err);
/* The elements of a numeric or bool array as stored: little-endian, packed, possibly unaligned. */
TFM_API tfm_status tfm_gguf_get_array_data(const tfm_gguf *g, const char *key, const void **data,
                                           tfm_error *err);

/* Tensors, by index (0..n_tensors-1, in file order) and by name. */
TFM_API int64_t tfm_gguf_n_tensors(const tfm_gguf *g);
/* Index of the tensor, or -1 if absent. */
TFM_API int64_t tfm_gguf_find_tensor(const tfm_gguf *g, const char *name);
/* NULL if i is out of range. */
TFM_API const tfm_gguf_tensor_info *tfm_gguf_tensor_info_at(const tfm_gguf *g, int64_t i);
/* A contiguous view of tensor i's data in the file (read-only memory). */
TFM_API tfm_status tfm_gguf_tensor_view(const tfm_gguf *g, int64_t i, tfm_tensor *out);
/* The view of a tensor by name; a missing tensor is TFM_ERR_FORMAT ("tensor 'x' is missing"). */
TFM_API tfm_status tfm_gguf_get_tensor(const tfm_gguf *g, const char *name, tfm_tensor *out, tfm_error *err);

/* ---------------------------------------------------------------- writer */

typedef struct tfm_gguf_writer tfm_gguf_writer;

/* Produces n_rows rows (a row is ne[0] elements, tfm_dtype_row_bytes of them) starting at row
   first_row (rows counted over ne[1]*ne[2]*ne[3]) into dst. Called in increasing row order. */
typedef tfm_status (*tfm_gguf_rows_fn)(void *user, int64_t first_row, int64_t n_rows, void *dst);

TFM_API tfm_status tfm_gguf_writer_create(tfm_gguf_writer **out, tfm_error *err);
TFM_API void tfm_gguf_writer_free(tfm_gguf_writer *w);

/* Metadata. Keys must be new, 1..65535 bytes without NUL. Adding `general.alignment` (u32, a power of
   two) sets the alignment of the file (default 32). */
TFM_API tfm_status tfm_gguf_writer_add_u8(tfm_gguf_writer *w, const char *key, uint8_t v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_i8(tfm_gguf_writer *w, const char *key, int8_t v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_u16(tfm_gguf_writer *w, const char *key, uint16_t v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_i16(tfm_gguf_writer *w, const char *key, int16_t v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_u32(tfm_gguf_writer *w, const char *key, uint32_t v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_i32(tfm_gguf_writer *w, const char *key, int32_t v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_u64(tfm_gguf_writer *w, const char *key, uint64_t v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_i64(tfm_gguf_writer *w, const char *key, int64_t v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_f32(tfm_gguf_writer *w, const char *key, float v, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_f64(tfm_gguf_writer *w, const char *key, double v, tfm_error *err);
/* v is stored as 1 when non-zero. */
TFM_API tfm_status tfm_gguf_writer_add_bool(tfm_gguf_writer *w, const char *key, int v, tfm_error *err);
/* A NUL-terminated string, or len bytes of str. */
TFM_API tfm_status tfm_gguf_writer_add_string(tfm_gguf_writer *w, const char *key, const char *str, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_string_n(tfm_gguf_writer *w, const char *key, const char *str, size_t len,
                                                tfm_error *err);
/* An array of count numeric or bool elements, given as a C array of the matching type (uint8_t, int8_t,
   uint16_t, int16_t, uint32_t, int32_t, float, uint64_t, int64_t, double; bool as uint8_t 0 or 1). */
TFM_API tfm_status tfm_gguf_writer_add_array(tfm_gguf_writer *w, const char *key, tfm_gguf_type elem_type,
                                             const void *values, uint64_t count, tfm_error *err);
/* An array of count strings; lens may be NULL when every string is NUL-terminated. */
TFM_API tfm_status tfm_gguf_writer_add_array_string(tfm_gguf_writer *w, const char *key, const char *const *strs,
                                                    const size_t *lens, uint64_t count, tfm_error *err);
/* Copies kv i of a reader, whatever its type (the writer keeps its own copy). */
TFM_API tfm_status tfm_gguf_writer_copy_kv(tfm_gguf_writer *w, const tfm_gguf *g, int64_t i, tfm_error *err);

/* Tensors, written in the order added. data is borrowed until the write; rows_fn/user produce the data
   during the write instead. Names must be new, 1..63 bytes without NUL. */
TFM_API tfm_status tfm_gguf_writer_add_tensor(tfm_gguf_writer *w, const char *name, tfm_dtype dtype, int n_dims,
                                              const int64_t *ne, const void *data, tfm_error *err);
TFM_API tfm_status tfm_gguf_writer_add_tensor_rows(tfm_gguf_writer *w, const char *name, tfm_dtype dtype,
                                                   int n_dims, const int64_t *ne, tfm_gguf_rows_fn rows_fn,
                                                   void *user, tfm_error *err);

/* A file the written data comes from (a model's tfm_file_map id, a tokenizer's tfm_file_identify):
   tfm_gguf_writer_write_file refuses to replace it. The files of the readers whose keys were copied
   (tfm_gguf_writer_copy_kv) count already. */
TFM_API tfm_status tfm_gguf_writer_add_input(tfm_gguf_writer *w, tfm_file_id id, tfm_error *err);

/* Size in bytes of the file the writer would write now. */
TFM_API uint64_t tfm_gguf_writer_size(const tfm_gguf_writer *w);
/* Streams the file to f (from its current position; f is not closed). */
TFM_API tfm_status tfm_gguf_writer_write(const tfm_gguf_writer *w, FILE *f, tfm_error *err);
/* Writes path safely (tfm_file_writer: a temporary file renamed over path once complete, so a failure
   leaves an existing path as it was), refusing a path that is one of the writer's inputs. */
TFM_API tfm_status tfm_gguf_writer_write_file(const tfm_gguf_writer *w, const char *path, tfm_error *err);
/* Writes into buf, which needs tfm_gguf_writer_size() bytes (else TFM_ERR_OUT_OF_RANGE). */
TFM_API tfm_status tfm_gguf_writer_write_buffer(const tfm_gguf_writer *w, void *buf, size_t cap, tfm_error *err);

#ifdef __cplusplus
}
#endif

#endif /* TFM_GGUF_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_GGUF_IMPLEMENTATION_DONE)
#define TFM_GGUF_IMPLEMENTATION_DONE

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef TFM_GGUF_MAX_KV
#define TFM_GGUF_MAX_KV (1 << 20)
#endif
#ifndef TFM_GGUF_MAX_TENSORS
#define TFM_GGUF_MAX_TENSORS (1 << 20)
#endif
#ifndef TFM_GGUF_MAX_ARRAY
#define TFM_GGUF_MAX_ARRAY (1 << 27)
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define TFM__GGUF_MAGIC "GGUF"
#define TFM__GGUF_HEADER_BYTES 24
/* The least a kv can take in the file: key length, a 1-byte key, the type, a 1-byte value. */
#define TFM__GGUF_MIN_KV_BYTES 14
/* The least a tensor info can take: name length, 1-byte name, n_dims, one dim, type, offset. */
#define TFM__GGUF_MIN_TENSOR_BYTES 33

static const char *const tfm__gguf_type_names[TFM_GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};

/* Bytes of one value of a fixed-size type; 0 for string, array and unknown ids. */
static size_t tfm__gguf_type_size(uint32_t t)
{
    static const unsigned char sizes[TFM_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < TFM_GGUF_TYPE_COUNT ? sizes[t] : 0;
}

const char *tfm_gguf_type_name(tfm_gguf_type t)
{
    return (unsigned)t < TFM_GGUF_TYPE_COUNT ? tfm__gguf_type_names[t] : NULL;
}

/* Little-endian loads and stores, byte by byte: file data is unaligned and the host may not be LE. */
static uint64_t tfm__gguf_load(const unsigned char *p, size_t bytes)
{
    uint64_t v = 0;
    size_t i;
    for (i = bytes; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

static void tfm__gguf_store(unsigned char *p, uint64_t v, size_t bytes)
{
    size_t i;
    for (i = 0; i < bytes; i++, v >>= 8) p[i] = (unsigned char)(v & 0xff);
}

static uint64_t tfm__gguf_align(uint64_t x, uint64_t alignment)
{
    return x + (alignment - x % alignment) % alignment;
}

/* An integer value as sign and magnitude, so every GGUF integer type converts to every other exactly. */
typedef struct tfm__gguf_int {
    int negative;
    uint64_t magnitude;
} tfm__gguf_int;

static int tfm__gguf_is_int_type(uint32_t t)
{
    return t <= TFM_GGUF_I32 || t == TFM_GGUF_U64 || t == TFM_GGUF_I64;
}

static tfm__gguf_int tfm__gguf_int_at(const unsigned char *p, uint32_t t)
{
    tfm__gguf_int v;
    size_t bytes = tfm__gguf_type_size(t);
    uint64_t raw = tfm__gguf_load(p, bytes);
    int is_signed = t == TFM_GGUF_I8 || t == TFM_GGUF_I16 || t == TFM_GGUF_I32 || t == TFM_GGUF_I64;
    uint64_t sign_bit = (uint64_t)1 << (bytes * 8 - 1);
    v.negative = is_signed && (raw & sign_bit);
    /* two's complement within the value's width: the magnitude of a negative is (2^width - raw) */
    v.magnitude = v.negative ? (uint64_t)0 - (raw | ~((sign_bit << 1) - 1)) : raw;
    return v;
}

/* Whether v lies in [-neg_limit, pos_limit]. */
static int tfm__gguf_int_fits(tfm__gguf_int v, uint64_t neg_limit, uint64_t pos_limit)
{
    return v.negative ? v.magnitude <= neg_limit : v.magnitude <= pos_limit;
}

static int64_t tfm__gguf_int_to_i64(tfm__gguf_int v)
{
    if (!v.negative) return (int64_t)v.magnitude;
    if (v.magnitude == (uint64_t)1 << 63) return INT64_MIN;
    return -(int64_t)v.magnitude;
}

static double tfm__gguf_float_at(const unsigned char *p, uint32_t t)
{
    if (t == TFM_GGUF_F32) {
        uint32_t bits = (uint32_t)tfm__gguf_load(p, 4);
        float f;
        memcpy(&f, &bits, 4);
        return f;
    } else {
        uint64_t bits = tfm__gguf_load(p, 8);
        double d;
        memcpy(&d, &bits, 8);
        return d;
    }
}

/* ================================================================ reader */

typedef struct tfm__gguf_kv {
    const char *key;         /* NUL-terminated, in the name pool */
    size_t key_at;           /* the key's place in the pool while it can still move */
    uint32_t type;           /* a tfm_gguf_type */
    uint32_t elem_type;      /* arrays */
    uint64_t count;          /* arrays: elements; strings: bytes */
    size_t start, value, end; /* the kv in the file is [start, end); its value starts at value */
    size_t first_string;     /* string arrays: index of element 0 in string_at */
} tfm__gguf_kv;

typedef struct tfm__gguf_tensor {
    tfm_gguf_tensor_info info;
    size_t name_at;
} tfm__gguf_tensor;

/* A name with its index, sorted for binary search and duplicate detection. */
typedef struct tfm__gguf_name {
    const char *name;
    int64_t index;
} tfm__gguf_name;

struct tfm_gguf {
    tfm_file_map map; /* the file, when opened from a path */
    const unsigned char *data;
    size_t size;
    uint32_t version;
    size_t alignment;
    size_t data_offset;
    int64_t n_kv, n_tensors;
    tfm__gguf_kv *kv;
    tfm__gguf_tensor *tensors;
    tfm__gguf_name *kv_sorted, *tensors_sorted;
    char *pool; /* keys and tensor names, NUL-terminated */
    size_t pool_len, pool_cap;
    size_t *string_at; /* file offset of every element of every string array */
    size_t n_strings;
};

/* A cursor over the file with the context for error messages. */
typedef struct tfm__gguf_rd {
    tfm_gguf *g;
    size_t pos;
    const char *label; /* the path, "<memory>", or NULL when the caller names the file itself */
    tfm_error *err;
} tfm__gguf_rd;

static tfm_status tfm__gguf_fail(tfm__gguf_rd *r, tfm_status status, const char *fmt, ...) TFM__PRINTF(3, 4);
static tfm_status tfm__gguf_fail(tfm__gguf_rd *r, tfm_status status, const char *fmt, ...)
{
    char message[200];
    va_list ap;
    va_start(ap, fmt);
    TFM__VSNPRINTF(message, sizeof message, fmt, ap);
    va_end(ap);
    if (!r->label) return tfm_error_set(r->err, status, "%s", message);
    return tfm_error_set(r->err, status, "%s: %s", r->label, message);
}

static size_t tfm__gguf_left(const tfm__gguf_rd *r) { return r->g->size - r->pos; }

/* Fails unless n more bytes (a count read from the file, so possibly huge) are in the file. */
static tfm_status tfm__gguf_need(tfm__gguf_rd *r, uint64_t n, const char *what)
{
    if (n > tfm__gguf_left(r))
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "truncated: %s needs %llu bytes at offset %llu, the file has %llu left",
                              what, (unsigned long long)n, (unsigned long long)r->pos,
                              (unsigned long long)tfm__gguf_left(r));
    return TFM_OK;
}

static tfm_status tfm__gguf_read_uint(tfm__gguf_rd *r, size_t bytes, uint64_t *v, const char *what)
{
    tfm_status s = tfm__gguf_need(r, bytes, what);
    if (s != TFM_OK) return s;
    *v = tfm__gguf_load(r->g->data + r->pos, bytes);
    r->pos += bytes;
    return TFM_OK;
}

/* A length-prefixed string: its bytes start at *at, *len of them. */
static tfm_status tfm__gguf_read_string(tfm__gguf_rd *r, size_t *at, size_t *len, const char *what)
{
    uint64_t n;
    tfm_status s = tfm__gguf_read_uint(r, 8, &n, what);
    if (s == TFM_OK) s = tfm__gguf_need(r, n, what);
    if (s != TFM_OK) return s;
    *at = r->pos;
    *len = (size_t)n;
    r->pos += (size_t)n;
    return TFM_OK;
}

/* Copies a key or tensor name into the pool, NUL-terminated; *at is its place there. */
static tfm_status tfm__gguf_pool_add(tfm__gguf_rd *r, size_t file_at, size_t len, size_t *at)
{
    tfm_gguf *g = r->g;
    if (len + 1 > g->pool_cap - g->pool_len) {
        size_t cap = g->pool_cap ? g->pool_cap : 1024;
        char *grown;
        while (len + 1 > cap - g->pool_len) cap *= 2; /* len is a few KiB at most: no overflow */
        grown = (char *)TFM_REALLOC(g->pool, cap);
        if (!grown) return tfm__gguf_fail(r, TFM_ERR_OUT_OF_MEMORY, "out of memory for names");
        g->pool = grown;
        g->pool_cap = cap;
    }
    memcpy(g->pool + g->pool_len, g->data + file_at, len);
    g->pool[g->pool_len + len] = '\0';
    *at = g->pool_len;
    g->pool_len += len + 1;
    return TFM_OK;
}

/* A key or tensor name: 1..max_len bytes without NUL, copied into the pool. */
static tfm_status tfm__gguf_read_name(tfm__gguf_rd *r, size_t max_len, size_t *pool_at, const char *what)
{
    size_t at, len;
    tfm_status s = tfm__gguf_read_string(r, &at, &len, what);
    if (s != TFM_OK) return s;
    if (len == 0 || len > max_len)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "%s at offset %llu has length %llu (must be 1..%llu)", what,
                              (unsigned long long)(at - 8), (unsigned long long)len, (unsigned long long)max_len);
    if (memchr(r->g->data + at, 0, len))
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "%s at offset %llu contains a NUL byte", what,
                              (unsigned long long)(at - 8));
    return tfm__gguf_pool_add(r, at, len, pool_at);
}

static tfm_status tfm__gguf_check_bools(tfm__gguf_rd *r, const tfm__gguf_kv *kv, size_t at, uint64_t n)
{
    uint64_t i;
    for (i = 0; i < n; i++)
        if (r->g->data[at + i] > 1)
            return tfm__gguf_fail(r, TFM_ERR_FORMAT, "key '%s': bool value %u at offset %llu is not 0 or 1",
                                  r->g->pool + kv->key_at, r->g->data[at + i], (unsigned long long)(at + i));
    return TFM_OK;
}

static tfm_status tfm__gguf_read_array(tfm__gguf_rd *r, tfm__gguf_kv *kv)
{
    tfm_gguf *g = r->g;
    const char *key = g->pool + kv->key_at;
    uint64_t elem_type, count, i;
    size_t elem_size;
    tfm_status s = tfm__gguf_read_uint(r, 4, &elem_type, "array element type");
    if (s == TFM_OK) s = tfm__gguf_read_uint(r, 8, &count, "array length");
    if (s != TFM_OK) return s;
    if (elem_type == TFM_GGUF_ARRAY)
        return tfm__gguf_fail(r, TFM_ERR_UNSUPPORTED, "key '%s': nested arrays are not supported", key);
    if (elem_type >= TFM_GGUF_TYPE_COUNT)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "key '%s': unknown array element type %llu", key,
                              (unsigned long long)elem_type);
    if (count > TFM_GGUF_MAX_ARRAY)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "key '%s': array length %llu exceeds the limit %llu", key,
                              (unsigned long long)count, (unsigned long long)TFM_GGUF_MAX_ARRAY);
    kv->elem_type = (uint32_t)elem_type;
    kv->count = count;
    kv->value = r->pos;
    elem_size = tfm__gguf_type_size((uint32_t)elem_type);
    if (elem_type != TFM_GGUF_STRING) {
        s = tfm__gguf_need(r, count * elem_size, "array"); /* count <= 2^27: no overflow */
        if (s == TFM_OK && elem_type == TFM_GGUF_BOOL) s = tfm__gguf_check_bools(r, kv, r->pos, count);
        if (s == TFM_OK) r->pos += (size_t)(count * elem_size);
        return s;
    }
    /* every string takes at least its 8-byte length: check before growing the offset table */
    s = tfm__gguf_need(r, count * 8, "array of strings");
    if (s != TFM_OK) return s;
    {
        size_t *grown = (size_t *)TFM_REALLOC(g->string_at, (g->n_strings + (size_t)count + 1) * sizeof(size_t));
        if (!grown) return tfm__gguf_fail(r, TFM_ERR_OUT_OF_MEMORY, "key '%s': out of memory", key);
        g->string_at = grown;
    }
    kv->first_string = g->n_strings;
    for (i = 0; i < count; i++) {
        size_t at, len;
        s = tfm__gguf_read_string(r, &at, &len, "array string");
        if (s != TFM_OK) return s;
        g->string_at[g->n_strings++] = at - 8;
    }
    return TFM_OK;
}

static tfm_status tfm__gguf_read_kv(tfm__gguf_rd *r, tfm__gguf_kv *kv)
{
    uint64_t type;
    tfm_status s;
    kv->start = r->pos;
    s = tfm__gguf_read_name(r, TFM_GGUF_MAX_KEY, &kv->key_at, "key");
    if (s == TFM_OK) s = tfm__gguf_read_uint(r, 4, &type, "value type");
    if (s != TFM_OK) return s;
    if (type >= TFM_GGUF_TYPE_COUNT)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "key '%s' has unknown value type %llu", r->g->pool + kv->key_at,
                              (unsigned long long)type);
    kv->type = (uint32_t)type;
    if (type == TFM_GGUF_ARRAY) {
        s = tfm__gguf_read_array(r, kv);
    } else if (type == TFM_GGUF_STRING) {
        size_t at, len;
        s = tfm__gguf_read_string(r, &at, &len, "string value");
        kv->value = at;
        kv->count = len;
    } else {
        size_t bytes = tfm__gguf_type_size((uint32_t)type);
        kv->value = r->pos;
        s = tfm__gguf_need(r, bytes, "value");
        if (s == TFM_OK && type == TFM_GGUF_BOOL) s = tfm__gguf_check_bools(r, kv, r->pos, 1);
        if (s == TFM_OK) r->pos += bytes;
    }
    kv->end = r->pos;
    return s;
}

/* One tensor info: name, dims (element count must stay within int64), type, aligned offset. */
static tfm_status tfm__gguf_read_tensor_info(tfm__gguf_rd *r, tfm__gguf_tensor *t)
{
    tfm_gguf *g = r->g;
    tfm_gguf_tensor_info *info = &t->info;
    const char *name;
    uint64_t n_dims, type, offset, rows = 1;
    size_t row_bytes;
    int d;
    tfm_status s = tfm__gguf_read_name(r, TFM_GGUF_MAX_NAME, &t->name_at, "tensor name");
    if (s != TFM_OK) return s;
    name = g->pool + t->name_at;
    if ((s = tfm__gguf_read_uint(r, 4, &n_dims, "tensor dimension count")) != TFM_OK) return s;
    if (n_dims < 1 || n_dims > TFM_MAX_DIMS)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "tensor '%s' has %llu dimensions (must be 1..%d)", name,
                              (unsigned long long)n_dims, TFM_MAX_DIMS);
    info->n_dims = (int)n_dims;
    for (d = 0; d < TFM_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if (d < info->n_dims && (s = tfm__gguf_read_uint(r, 8, &ne, "tensor dimension")) != TFM_OK) return s;
        if (ne == 0 || ne > (uint64_t)INT64_MAX)
            return tfm__gguf_fail(r, TFM_ERR_FORMAT, "tensor '%s' has dimension %d of %llu elements", name, d,
                                  (unsigned long long)ne);
        info->ne[d] = (int64_t)ne;
    }
    for (d = 1; d < TFM_MAX_DIMS; d++) {
        if ((uint64_t)info->ne[d] > (uint64_t)INT64_MAX / rows / (uint64_t)info->ne[0])
            return tfm__gguf_fail(r, TFM_ERR_FORMAT, "tensor '%s': element count overflows", name);
        rows *= (uint64_t)info->ne[d];
    }
    if ((s = tfm__gguf_read_uint(r, 4, &type, "tensor type")) != TFM_OK) return s;
    if (type >= TFM_DTYPE_COUNT || tfm_dtype_block_size((tfm_dtype)type) == 0)
        return tfm__gguf_fail(r, TFM_ERR_UNSUPPORTED, "tensor '%s' has type %llu, which tfm does not support", name,
                              (unsigned long long)type);
    info->dtype = (tfm_dtype)type;
    if (tfm_dtype_row_bytes(info->dtype, (uint64_t)info->ne[0], &row_bytes) != TFM_OK)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "tensor '%s': %lld elements per row is not a multiple of %s's block of %llu",
                              name, (long long)info->ne[0], tfm_dtype_name(info->dtype),
                              (unsigned long long)tfm_dtype_block_size(info->dtype));
    if (rows > (uint64_t)SIZE_MAX / row_bytes)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "tensor '%s': byte size overflows", name);
    info->size = rows * row_bytes;
    if ((s = tfm__gguf_read_uint(r, 8, &offset, "tensor offset")) != TFM_OK) return s;
    if (offset % g->alignment)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "tensor '%s': offset %llu is not a multiple of the alignment %llu",
                              name, (unsigned long long)offset, (unsigned long long)g->alignment);
    info->offset = offset; /* relative to the data section until that is known */
    return TFM_OK;
}

static int tfm__gguf_name_cmp(const void *a, const void *b)
{
    return strcmp(((const tfm__gguf_name *)a)->name, ((const tfm__gguf_name *)b)->name);
}

/* Sorts names for lookup; fails (naming it) on the first duplicate. */
static tfm_status tfm__gguf_sort_names(tfm__gguf_rd *r, tfm__gguf_name *names, int64_t n, const char *what)
{
    int64_t i;
    if (n > 1) qsort(names, (size_t)n, sizeof *names, tfm__gguf_name_cmp);
    for (i = 1; i < n; i++)
        if (strcmp(names[i - 1].name, names[i].name) == 0)
            return tfm__gguf_fail(r, TFM_ERR_FORMAT, "duplicate %s '%s'", what, names[i].name);
    return TFM_OK;
}

static int64_t tfm__gguf_lookup(const tfm__gguf_name *names, int64_t n, const char *name)
{
    tfm__gguf_name probe;
    const tfm__gguf_name *hit;
    if (!name || n == 0) return -1;
    probe.name = name;
    probe.index = 0;
    hit = (const tfm__gguf_name *)bsearch(&probe, names, (size_t)n, sizeof *names, tfm__gguf_name_cmp);
    return hit ? hit->index : -1;
}

static int tfm__gguf_extent_cmp(const void *a, const void *b)
{
    const tfm__gguf_tensor *x = *(const tfm__gguf_tensor *const *)a, *y = *(const tfm__gguf_tensor *const *)b;
    return x->info.offset < y->info.offset ? -1 : x->info.offset > y->info.offset;
}

/* No two tensors' data overlap (offsets still relative, sizes checked to be in the file). */
static tfm_status tfm__gguf_check_overlap(tfm__gguf_rd *r)
{
    tfm_gguf *g = r->g;
    tfm__gguf_tensor **order = (tfm__gguf_tensor **)TFM_MALLOC((size_t)g->n_tensors * sizeof *order);
    int64_t i;
    tfm_status s = TFM_OK;
    if (!order) return tfm__gguf_fail(r, TFM_ERR_OUT_OF_MEMORY, "out of memory checking tensor data");
    for (i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, tfm__gguf_extent_cmp);
    for (i = 1; i < g->n_tensors && s == TFM_OK; i++)
        if (order[i - 1]->info.offset + order[i - 1]->info.size > order[i]->info.offset)
            s = tfm__gguf_fail(r, TFM_ERR_FORMAT, "tensors '%s' and '%s' overlap", order[i - 1]->info.name,
                               order[i]->info.name);
    TFM_FREE(order);
    return s;
}

/* The alignment a dtype's data needs in memory: its widest element (an f16 scale leads every block). */
static size_t tfm__gguf_dtype_alignment(tfm_dtype t)
{
    switch (t) {
    case TFM_I8: return 1;
    case TFM_F32: case TFM_I32: return 4;
    case TFM_F64: case TFM_I64: return 8;
    default: return 2;
    }
}

/* Every tensor's data inside the file, no two overlapping, each aligned for its type; then offsets
   become absolute. */
static tfm_status tfm__gguf_check_data(tfm__gguf_rd *r)
{
    tfm_gguf *g = r->g;
    uint64_t room = g->size - g->data_offset;
    int64_t i;
    tfm_status s;
    for (i = 0; i < g->n_tensors; i++) {
        const tfm_gguf_tensor_info *t = &g->tensors[i].info;
        if (t->offset > room || t->size > room - t->offset)
            return tfm__gguf_fail(r, TFM_ERR_FORMAT,
                                  "tensor '%s': %llu bytes at data offset %llu run past the end of the file (%llu bytes of data)",
                                  t->name, (unsigned long long)t->size, (unsigned long long)t->offset,
                                  (unsigned long long)room);
    }
    if (g->n_tensors > 1 && (s = tfm__gguf_check_overlap(r)) != TFM_OK) return s;
    for (i = 0; i < g->n_tensors; i++) {
        tfm_gguf_tensor_info *t = &g->tensors[i].info;
        size_t need = tfm__gguf_dtype_alignment(t->dtype);
        t->offset += g->data_offset;
        /* a file of general.alignment 1 may place a tensor where its elements cannot be loaded */
        if (t->offset % need)
            return tfm__gguf_fail(r, TFM_ERR_FORMAT, "tensor '%s': data at offset %llu is not aligned for %s (%llu bytes)",
                                  t->name, (unsigned long long)t->offset, tfm_dtype_name(t->dtype),
                                  (unsigned long long)need);
    }
    return TFM_OK;
}

static tfm_status tfm__gguf_read_header(tfm__gguf_rd *r, uint64_t *n_tensors, uint64_t *n_kv)
{
    tfm_gguf *g = r->g;
    uint64_t version;
    tfm_status s = tfm__gguf_need(r, 4, "magic");
    if (s != TFM_OK) return s;
    if (memcmp(g->data, TFM__GGUF_MAGIC, 4) != 0) return tfm__gguf_fail(r, TFM_ERR_FORMAT, "not a GGUF file (bad magic)");
    r->pos = 4;
    if ((s = tfm__gguf_read_uint(r, 4, &version, "version")) != TFM_OK) return s;
    if (version != 2 && version != 3) {
        if (version == 1)
            return tfm__gguf_fail(r, TFM_ERR_UNSUPPORTED, "GGUF v1 is not supported (v2 and v3 are)");
        if (version > 0xffff && (version & 0xffff) == 0)
            return tfm__gguf_fail(r, TFM_ERR_UNSUPPORTED, "version 0x%08llx: a big-endian GGUF file is not supported",
                                  (unsigned long long)version);
        return tfm__gguf_fail(r, TFM_ERR_UNSUPPORTED, "unsupported GGUF version %llu", (unsigned long long)version);
    }
    g->version = (uint32_t)version;
    if ((s = tfm__gguf_read_uint(r, 8, n_tensors, "tensor count")) != TFM_OK) return s;
    if ((s = tfm__gguf_read_uint(r, 8, n_kv, "kv count")) != TFM_OK) return s;
    /* counts are checked against the bytes they need before anything is allocated for them */
    if (*n_kv > TFM_GGUF_MAX_KV || *n_tensors > TFM_GGUF_MAX_TENSORS)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "%llu kv pairs and %llu tensors exceed the limits (%llu and %llu)",
                              (unsigned long long)*n_kv, (unsigned long long)*n_tensors,
                              (unsigned long long)TFM_GGUF_MAX_KV, (unsigned long long)TFM_GGUF_MAX_TENSORS);
    if (*n_kv * TFM__GGUF_MIN_KV_BYTES + *n_tensors * TFM__GGUF_MIN_TENSOR_BYTES > tfm__gguf_left(r))
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "%llu kv pairs and %llu tensors cannot fit in a file of %llu bytes",
                              (unsigned long long)*n_kv, (unsigned long long)*n_tensors,
                              (unsigned long long)g->size);
    return TFM_OK;
}

static tfm_status tfm__gguf_read_alignment(tfm__gguf_rd *r)
{
    tfm_gguf *g = r->g;
    int64_t i = tfm__gguf_lookup(g->kv_sorted, g->n_kv, "general.alignment");
    uint64_t a;
    g->alignment = TFM_GGUF_DEFAULT_ALIGNMENT;
    if (i < 0) return TFM_OK;
    if (g->kv[i].type != TFM_GGUF_U32)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "general.alignment has type %s (must be u32)",
                              tfm__gguf_type_names[g->kv[i].type]);
    a = tfm__gguf_load(g->data + g->kv[i].value, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return tfm__gguf_fail(r, TFM_ERR_FORMAT, "general.alignment %llu is not a power of two", (unsigned long long)a);
    g->alignment = (size_t)a;
    return TFM_OK;
}

static tfm_status tfm__gguf_parse(tfm__gguf_rd *r)
{
    tfm_gguf *g = r->g;
    uint64_t n_tensors, n_kv;
    int64_t i;
    tfm_status s = tfm__gguf_read_header(r, &n_tensors, &n_kv);
    if (s != TFM_OK) return s;
    g->kv = (tfm__gguf_kv *)TFM_MALLOC(((size_t)n_kv + 1) * sizeof *g->kv);
    g->kv_sorted = (tfm__gguf_name *)TFM_MALLOC(((size_t)n_kv + 1) * sizeof *g->kv_sorted);
    g->tensors = (tfm__gguf_tensor *)TFM_MALLOC(((size_t)n_tensors + 1) * sizeof *g->tensors);
    g->tensors_sorted = (tfm__gguf_name *)TFM_MALLOC(((size_t)n_tensors + 1) * sizeof *g->tensors_sorted);
    if (!g->kv || !g->kv_sorted || !g->tensors || !g->tensors_sorted)
        return tfm__gguf_fail(r, TFM_ERR_OUT_OF_MEMORY, "out of memory for %llu kv pairs and %llu tensors",
                              (unsigned long long)n_kv, (unsigned long long)n_tensors);
    for (i = 0; i < (int64_t)n_kv; i++) {
        memset(&g->kv[i], 0, sizeof g->kv[i]);
        if ((s = tfm__gguf_read_kv(r, &g->kv[i])) != TFM_OK) return s;
        g->n_kv = i + 1;
    }
    /* the pool has stopped growing for keys; tensor names are added after the alignment is known,
       so the key pointers are fixed up now and the tensor names at the end */
    for (i = 0; i < g->n_kv; i++) {
        g->kv[i].key = g->pool + g->kv[i].key_at;
        g->kv_sorted[i].name = g->kv[i].key;
        g->kv_sorted[i].index = i;
    }
    if ((s = tfm__gguf_sort_names(r, g->kv_sorted, g->n_kv, "key")) != TFM_OK) return s;
    if ((s = tfm__gguf_read_alignment(r)) != TFM_OK) return s;
    for (i = 0; i < (int64_t)n_tensors; i++) {
        memset(&g->tensors[i], 0, sizeof g->tensors[i]);
        if ((s = tfm__gguf_read_tensor_info(r, &g->tensors[i])) != TFM_OK) return s;
        g->n_tensors = i + 1;
    }
    /* the pool may have moved while tensor names were added */
    for (i = 0; i < g->n_kv; i++) {
        g->kv[i].key = g->pool + g->kv[i].key_at;
        g->kv_sorted[i].name = g->pool + g->kv[g->kv_sorted[i].index].key_at; /* sorted: index != i */
    }
    for (i = 0; i < g->n_tensors; i++) {
        g->tensors[i].info.name = g->pool + g->tensors[i].name_at;
        g->tensors_sorted[i].name = g->tensors[i].info.name;
        g->tensors_sorted[i].index = i;
    }
    if ((s = tfm__gguf_sort_names(r, g->tensors_sorted, g->n_tensors, "tensor name")) != TFM_OK) return s;
    if (g->n_tensors == 0) {
        g->data_offset = r->pos;
        return TFM_OK;
    }
    {
        uint64_t data_offset = tfm__gguf_align(r->pos, g->alignment);
        if (data_offset > g->size)
            return tfm__gguf_fail(r, TFM_ERR_FORMAT, "the file ends (%llu bytes) before its tensor data (offset %llu)",
                                  (unsigned long long)g->size, (unsigned long long)data_offset);
        g->data_offset = (size_t)data_offset;
    }
    return tfm__gguf_check_data(r);
}

static tfm_status tfm__gguf_open(tfm_gguf **out, tfm_gguf *g, const char *label, tfm_error *err)
{
    tfm__gguf_rd r;
    tfm_status s;
    r.g = g;
    r.pos = 0;
    r.label = label;
    r.err = err;
    s = tfm__gguf_parse(&r);
    if (s != TFM_OK) {
        tfm_gguf_close(g);
        return s;
    }
    *out = g;
    tfm_error_clear(err);
    return TFM_OK;
}

static tfm_gguf *tfm__gguf_new(void)
{
    tfm_gguf *g = (tfm_gguf *)TFM_MALLOC(sizeof *g);
    if (g) memset(g, 0, sizeof *g);
    return g;
}

/* tfm_gguf_open_memory with the label its messages start with (NULL: none; tfm_model_load adds the path). */
static tfm_status tfm__gguf_open_memory_labelled(tfm_gguf **out, const void *data, size_t size, const char *label,
                                                 tfm_error *err)
{
    tfm_gguf *g;
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_open_memory: data is NULL");
    if (!(g = tfm__gguf_new())) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    g->data = (const unsigned char *)data;
    g->size = size;
    return tfm__gguf_open(out, g, label, err);
}

tfm_status tfm_gguf_open_memory(tfm_gguf **out, const void *data, size_t size, tfm_error *err)
{
    return tfm__gguf_open_memory_labelled(out, data, size, "<memory>", err);
}

tfm_status tfm_gguf_open(tfm_gguf **out, const char *path, int flags, tfm_error *err)
{
    tfm_gguf *g;
    tfm_status s;
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_open: out is NULL");
    *out = NULL;
    if (!path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_open: path is NULL");
    if (!(g = tfm__gguf_new())) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    if ((s = tfm_file_map_open(&g->map, path, flags, err)) != TFM_OK) {
        TFM_FREE(g);
        return s;
    }
    g->data = g->map.data;
    g->size = g->map.size;
    return tfm__gguf_open(out, g, path, err);
}

void tfm_gguf_close(tfm_gguf *g)
{
    if (!g) return;
    tfm_file_map_close(&g->map);
    TFM_FREE(g->kv);
    TFM_FREE(g->kv_sorted);
    TFM_FREE(g->tensors);
    TFM_FREE(g->tensors_sorted);
    TFM_FREE(g->pool);
    TFM_FREE(g->string_at);
    TFM_FREE(g);
}

uint32_t tfm_gguf_version(const tfm_gguf *g) { return g ? g->version : 0; }
size_t tfm_gguf_alignment(const tfm_gguf *g) { return g ? g->alignment : 0; }
uint64_t tfm_gguf_data_offset(const tfm_gguf *g) { return g ? g->data_offset : 0; }
int64_t tfm_gguf_n_kv(const tfm_gguf *g) { return g ? g->n_kv : 0; }
int64_t tfm_gguf_n_tensors(const tfm_gguf *g) { return g ? g->n_tensors : 0; }

int64_t tfm_gguf_find_key(const tfm_gguf *g, const char *key)
{
    return g ? tfm__gguf_lookup(g->kv_sorted, g->n_kv, key) : -1;
}

const char *tfm_gguf_key(const tfm_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

tfm_gguf_type tfm_gguf_kv_type(const tfm_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_kv ? (tfm_gguf_type)g->kv[i].type : TFM_GGUF_TYPE_COUNT;
}

/* The kv of key in *kv. */
static tfm_status tfm__gguf_kv_of(const tfm_gguf *g, const char *key, const tfm__gguf_kv **kv, tfm_error *err)
{
    int64_t i;
    if (!g || !key) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf: NULL file or key");
    i = tfm__gguf_lookup(g->kv_sorted, g->n_kv, key);
    if (i < 0) return tfm_error_set(err, TFM_ERR_FORMAT, "key '%s' is missing", key);
    *kv = &g->kv[i];
    return TFM_OK;
}

static tfm_status tfm__gguf_wrong_type(const tfm__gguf_kv *kv, const char *wanted, tfm_error *err)
{
    if (kv->type == TFM_GGUF_ARRAY)
        return tfm_error_set(err, TFM_ERR_FORMAT, "key '%s' is an array of %s, not %s", kv->key,
                             tfm__gguf_type_names[kv->elem_type], wanted);
    return tfm_error_set(err, TFM_ERR_FORMAT, "key '%s' has type %s, not %s", kv->key,
                         tfm__gguf_type_names[kv->type], wanted);
}

/* An integer key whose value lies in [-neg_limit, pos_limit]. */
static tfm_status tfm__gguf_get_int(const tfm_gguf *g, const char *key, uint64_t neg_limit, uint64_t pos_limit,
                                    const char *wanted, tfm__gguf_int *out, tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    tfm_status s = tfm__gguf_kv_of(g, key, &kv, err);
    if (s != TFM_OK) return s;
    if (!tfm__gguf_is_int_type(kv->type)) return tfm__gguf_wrong_type(kv, "an integer", err);
    *out = tfm__gguf_int_at(g->data + kv->value, kv->type);
    if (!tfm__gguf_int_fits(*out, neg_limit, pos_limit))
        return tfm_error_set(err, TFM_ERR_FORMAT, "key '%s' = %s%llu does not fit in %s", key, out->negative ? "-" : "",
                             (unsigned long long)out->magnitude, wanted);
    return TFM_OK;
}

tfm_status tfm_gguf_get_u32(const tfm_gguf *g, const char *key, uint32_t *out, tfm_error *err)
{
    tfm__gguf_int v;
    tfm_status s = tfm__gguf_get_int(g, key, 0, UINT32_MAX, "u32", &v, err);
    if (s == TFM_OK && out) *out = (uint32_t)v.magnitude;
    return s;
}

tfm_status tfm_gguf_get_i32(const tfm_gguf *g, const char *key, int32_t *out, tfm_error *err)
{
    tfm__gguf_int v;
    tfm_status s = tfm__gguf_get_int(g, key, (uint64_t)1 << 31, INT32_MAX, "i32", &v, err);
    if (s == TFM_OK && out) *out = (int32_t)tfm__gguf_int_to_i64(v);
    return s;
}

tfm_status tfm_gguf_get_u64(const tfm_gguf *g, const char *key, uint64_t *out, tfm_error *err)
{
    tfm__gguf_int v;
    tfm_status s = tfm__gguf_get_int(g, key, 0, UINT64_MAX, "u64", &v, err);
    if (s == TFM_OK && out) *out = v.magnitude;
    return s;
}

tfm_status tfm_gguf_get_i64(const tfm_gguf *g, const char *key, int64_t *out, tfm_error *err)
{
    tfm__gguf_int v;
    tfm_status s = tfm__gguf_get_int(g, key, (uint64_t)1 << 63, INT64_MAX, "i64", &v, err);
    if (s == TFM_OK && out) *out = tfm__gguf_int_to_i64(v);
    return s;
}

tfm_status tfm_gguf_get_f64(const tfm_gguf *g, const char *key, double *out, tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    tfm_status s = tfm__gguf_kv_of(g, key, &kv, err);
    if (s != TFM_OK) return s;
    if (kv->type != TFM_GGUF_F32 && kv->type != TFM_GGUF_F64) return tfm__gguf_wrong_type(kv, "a float", err);
    if (out) *out = tfm__gguf_float_at(g->data + kv->value, kv->type);
    return TFM_OK;
}

/* A finite double outside float's range has no float value (converting it is undefined behaviour). */
static int tfm__gguf_fits_f32(double d)
{
    return d != d || fabs(d) <= FLT_MAX || fabs(d) == HUGE_VAL;
}

tfm_status tfm_gguf_get_f32(const tfm_gguf *g, const char *key, float *out, tfm_error *err)
{
    double d;
    tfm_status s = tfm_gguf_get_f64(g, key, &d, err);
    if (s == TFM_OK && !tfm__gguf_fits_f32(d))
        return tfm_error_set(err, TFM_ERR_FORMAT, "key '%s' = %g does not fit in f32", key, d);
    if (s == TFM_OK && out) *out = (float)d;
    return s;
}

tfm_status tfm_gguf_get_bool(const tfm_gguf *g, const char *key, int *out, tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    tfm_status s = tfm__gguf_kv_of(g, key, &kv, err);
    if (s != TFM_OK) return s;
    if (kv->type != TFM_GGUF_BOOL) return tfm__gguf_wrong_type(kv, "bool", err);
    if (out) *out = g->data[kv->value];
    return TFM_OK;
}

tfm_status tfm_gguf_get_string(const tfm_gguf *g, const char *key, const char **str, size_t *len, tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    tfm_status s = tfm__gguf_kv_of(g, key, &kv, err);
    if (s != TFM_OK) return s;
    if (kv->type != TFM_GGUF_STRING) return tfm__gguf_wrong_type(kv, "string", err);
    if (str) *str = (const char *)g->data + kv->value;
    if (len) *len = (size_t)kv->count;
    return TFM_OK;
}

tfm_status tfm_gguf_get_string_buf(const tfm_gguf *g, const char *key, char *buf, size_t cap, tfm_error *err)
{
    const char *s = NULL;
    size_t len = 0;
    tfm_status status = tfm_gguf_get_string(g, key, &s, &len, err);
    if (status != TFM_OK) return status;
    if (!buf || len >= cap)
        return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "key '%s': a string of %llu bytes does not fit in %llu", key,
                             (unsigned long long)len, (unsigned long long)cap);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return TFM_OK;
}

/* The array kv of key in *kv. */
static tfm_status tfm__gguf_array_of(const tfm_gguf *g, const char *key, const tfm__gguf_kv **kv, tfm_error *err)
{
    tfm_status s = tfm__gguf_kv_of(g, key, kv, err);
    if (s == TFM_OK && (*kv)->type != TFM_GGUF_ARRAY) return tfm__gguf_wrong_type(*kv, "an array", err);
    return s;
}

tfm_status tfm_gguf_get_array(const tfm_gguf *g, const char *key, tfm_gguf_type *elem_type, uint64_t *count,
                              tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    tfm_status s = tfm__gguf_array_of(g, key, &kv, err);
    if (s != TFM_OK) return s;
    if (elem_type) *elem_type = (tfm_gguf_type)kv->elem_type;
    if (count) *count = kv->count;
    return TFM_OK;
}

tfm_status tfm_gguf_get_array_string(const tfm_gguf *g, const char *key, uint64_t i, const char **str, size_t *len,
                                     tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    size_t at;
    tfm_status s = tfm__gguf_array_of(g, key, &kv, err);
    if (s != TFM_OK) return s;
    if (kv->elem_type != TFM_GGUF_STRING) return tfm__gguf_wrong_type(kv, "an array of strings", err);
    if (i >= kv->count)
        return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "key '%s': index %llu is past the %llu strings", key,
                             (unsigned long long)i, (unsigned long long)kv->count);
    at = g->string_at[kv->first_string + (size_t)i];
    if (str) *str = (const char *)g->data + at + 8;
    if (len) *len = (size_t)tfm__gguf_load(g->data + at, 8);
    return TFM_OK;
}

/* The array kv of key in *kv, holding exactly count elements for out. */
static tfm_status tfm__gguf_numbers_of(const tfm_gguf *g, const char *key, uint64_t count, const void *out,
                                       const tfm__gguf_kv **kv, tfm_error *err)
{
    tfm_status s = tfm__gguf_array_of(g, key, kv, err);
    if (s != TFM_OK) return s;
    if (!out && count) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': NULL output", key);
    if ((*kv)->count != count)
        return tfm_error_set(err, TFM_ERR_SHAPE, "key '%s' has %llu elements, not %llu", key,
                             (unsigned long long)(*kv)->count, (unsigned long long)count);
    return TFM_OK;
}

tfm_status tfm_gguf_get_array_i32(const tfm_gguf *g, const char *key, int32_t *out, uint64_t count, tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    size_t size;
    uint64_t i;
    tfm_status s = tfm__gguf_numbers_of(g, key, count, out, &kv, err);
    if (s != TFM_OK) return s;
    if (!tfm__gguf_is_int_type(kv->elem_type)) return tfm__gguf_wrong_type(kv, "an array of integers", err);
    size = tfm__gguf_type_size(kv->elem_type);
    for (i = 0; i < count; i++) {
        tfm__gguf_int v = tfm__gguf_int_at(g->data + kv->value + i * size, kv->elem_type);
        if (!tfm__gguf_int_fits(v, (uint64_t)1 << 31, INT32_MAX))
            return tfm_error_set(err, TFM_ERR_FORMAT, "key '%s': element %llu = %s%llu does not fit in i32", key,
                                 (unsigned long long)i, v.negative ? "-" : "", (unsigned long long)v.magnitude);
        out[i] = (int32_t)tfm__gguf_int_to_i64(v);
    }
    return TFM_OK;
}

tfm_status tfm_gguf_get_array_f32(const tfm_gguf *g, const char *key, float *out, uint64_t count, tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    size_t size;
    uint64_t i;
    tfm_status s = tfm__gguf_numbers_of(g, key, count, out, &kv, err);
    if (s != TFM_OK) return s;
    if (kv->elem_type != TFM_GGUF_F32 && kv->elem_type != TFM_GGUF_F64)
        return tfm__gguf_wrong_type(kv, "an array of floats", err);
    size = tfm__gguf_type_size(kv->elem_type);
    for (i = 0; i < count; i++) {
        double d = tfm__gguf_float_at(g->data + kv->value + i * size, kv->elem_type);
        if (!tfm__gguf_fits_f32(d))
            return tfm_error_set(err, TFM_ERR_FORMAT, "key '%s': element %llu = %g does not fit in f32", key,
                                 (unsigned long long)i, d);
        out[i] = (float)d;
    }
    return TFM_OK;
}

tfm_status tfm_gguf_get_array_data(const tfm_gguf *g, const char *key, const void **data, tfm_error *err)
{
    const tfm__gguf_kv *kv = NULL;
    tfm_status s = tfm__gguf_array_of(g, key, &kv, err);
    if (s != TFM_OK) return s;
    if (kv->elem_type == TFM_GGUF_STRING) return tfm__gguf_wrong_type(kv, "an array of numbers", err);
    if (data) *data = g->data + kv->value;
    return TFM_OK;
}

int64_t tfm_gguf_find_tensor(const tfm_gguf *g, const char *name)
{
    return g ? tfm__gguf_lookup(g->tensors_sorted, g->n_tensors, name) : -1;
}

const tfm_gguf_tensor_info *tfm_gguf_tensor_info_at(const tfm_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_tensors ? &g->tensors[i].info : NULL;
}

tfm_status tfm_gguf_tensor_view(const tfm_gguf *g, int64_t i, tfm_tensor *out)
{
    const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, i);
    if (!t || !out) return TFM_ERR_INVALID_ARGUMENT;
    /* the mapping is read-only; tfm_tensor has no const flavour, so constness is the caller's promise */
    return tfm_tensor_init(out, t->dtype, t->n_dims, t->ne, (void *)(uintptr_t)(g->data + t->offset));
}

tfm_status tfm_gguf_get_tensor(const tfm_gguf *g, const char *name, tfm_tensor *out, tfm_error *err)
{
    int64_t i;
    tfm_status s;
    if (!g || !name || !out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_get_tensor: NULL argument");
    i = tfm_gguf_find_tensor(g, name);
    if (i < 0) return tfm_error_set(err, TFM_ERR_FORMAT, "tensor '%s' is missing", name);
    s = tfm_gguf_tensor_view(g, i, out);
    if (s != TFM_OK) return tfm_error_set(err, s, "tensor '%s': %s", name, tfm_status_string(s));
    return TFM_OK;
}

/* ================================================================ writer */

typedef struct tfm__gguf_wtensor {
    char name[TFM_GGUF_WRITER_MAX_NAME + 1];
    tfm_dtype dtype;
    int n_dims;
    int64_t ne[TFM_MAX_DIMS];
    uint64_t rows;      /* ne[1] * ne[2] * ne[3] */
    size_t row_bytes;
    uint64_t size;
    const void *data;   /* or rows_fn */
    tfm_gguf_rows_fn rows_fn;
    void *user;
} tfm__gguf_wtensor;

struct tfm_gguf_writer {
    unsigned char *kv;  /* the serialized kv section */
    size_t kv_len, kv_cap;
    size_t *key_at;     /* offset in kv of each key's length field */
    int64_t n_kv;
    size_t key_cap;
    tfm__gguf_wtensor *tensors;
    int64_t n_tensors, tensor_cap;
    size_t alignment;
    tfm_file_id *inputs; /* files the data comes from: write_file does not replace them */
    int n_inputs, inputs_cap;
};

tfm_status tfm_gguf_writer_create(tfm_gguf_writer **out, tfm_error *err)
{
    tfm_gguf_writer *w;
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_writer_create: out is NULL");
    w = (tfm_gguf_writer *)TFM_MALLOC(sizeof *w);
    *out = w;
    if (!w) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(w, 0, sizeof *w);
    w->alignment = TFM_GGUF_DEFAULT_ALIGNMENT;
    return TFM_OK;
}

void tfm_gguf_writer_free(tfm_gguf_writer *w)
{
    if (!w) return;
    TFM_FREE(w->kv);
    TFM_FREE(w->key_at);
    TFM_FREE(w->tensors);
    TFM_FREE(w->inputs);
    TFM_FREE(w);
}

/* Room for n more bytes in the kv section. */
static tfm_status tfm__gguf_kv_reserve(tfm_gguf_writer *w, uint64_t n, tfm_error *err)
{
    size_t cap;
    unsigned char *grown;
    if (n <= w->kv_cap - w->kv_len) return TFM_OK;
    if (n > (uint64_t)(SIZE_MAX / 2 - w->kv_len)) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "metadata too large");
    cap = w->kv_cap ? w->kv_cap : 4096;
    while (cap - w->kv_len < n) cap *= 2;
    grown = (unsigned char *)TFM_REALLOC(w->kv, cap);
    if (!grown) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for metadata");
    w->kv = grown;
    w->kv_cap = cap;
    return TFM_OK;
}

/* Appenders into reserved room. */
static void tfm__gguf_put_uint(tfm_gguf_writer *w, uint64_t v, size_t bytes)
{
    tfm__gguf_store(w->kv + w->kv_len, v, bytes);
    w->kv_len += bytes;
}

static void tfm__gguf_put_string(tfm_gguf_writer *w, const char *s, size_t len)
{
    tfm__gguf_put_uint(w, len, 8);
    if (len) memcpy(w->kv + w->kv_len, s, len);
    w->kv_len += len;
}

/* Checks key and reserves room for it plus value_bytes; the kv is committed by tfm__gguf_kv_commit. */
static tfm_status tfm__gguf_kv_begin(tfm_gguf_writer *w, const char *key, uint64_t value_bytes, tfm_error *err)
{
    size_t len;
    int64_t i;
    if (!w || !key) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_writer: NULL writer or key");
    len = strlen(key);
    if (len == 0 || len > TFM_GGUF_MAX_KEY)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key of length %llu (must be 1..%d)",
                             (unsigned long long)len, TFM_GGUF_MAX_KEY);
    for (i = 0; i < w->n_kv; i++) {
        const unsigned char *k = w->kv + w->key_at[i];
        if (tfm__gguf_load(k, 8) == len && memcmp(k + 8, key, len) == 0)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "duplicate key '%s'", key);
    }
    if ((size_t)w->n_kv == w->key_cap) {
        size_t cap = w->key_cap ? w->key_cap * 2 : 64;
        size_t *grown = (size_t *)TFM_REALLOC(w->key_at, cap * sizeof *grown);
        if (!grown) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for metadata");
        w->key_at = grown;
        w->key_cap = cap;
    }
    if (value_bytes > UINT64_MAX - 8 - len - 4)
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "key '%s': value too large", key);
    return tfm__gguf_kv_reserve(w, 8 + len + 4 + value_bytes, err);
}

/* Records the kv that starts at offset start (its bytes already appended); handles general.alignment. */
static tfm_status tfm__gguf_kv_commit(tfm_gguf_writer *w, size_t start, tfm_error *err)
{
    const unsigned char *k = w->kv + start;
    size_t len = (size_t)tfm__gguf_load(k, 8);
    static const char alignment_key[] = "general.alignment";
    if (len == sizeof alignment_key - 1 && memcmp(k + 8, alignment_key, len) == 0) {
        uint32_t type = (uint32_t)tfm__gguf_load(k + 8 + len, 4);
        uint64_t a = type == TFM_GGUF_U32 ? tfm__gguf_load(k + 8 + len + 4, 4) : 0;
        if (type != TFM_GGUF_U32 || a == 0 || (a & (a - 1)) != 0) {
            w->kv_len = start;
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "general.alignment must be a u32 power of two");
        }
        w->alignment = (size_t)a;
    }
    w->key_at[w->n_kv++] = start;
    return TFM_OK;
}

static tfm_status tfm__gguf_add_scalar(tfm_gguf_writer *w, const char *key, tfm_gguf_type type, uint64_t bits,
                                       tfm_error *err)
{
    size_t start, bytes = tfm__gguf_type_size(type);
    tfm_status s = tfm__gguf_kv_begin(w, key, bytes, err);
    if (s != TFM_OK) return s;
    start = w->kv_len;
    tfm__gguf_put_string(w, key, strlen(key));
    tfm__gguf_put_uint(w, (uint64_t)type, 4);
    tfm__gguf_put_uint(w, bits, bytes);
    return tfm__gguf_kv_commit(w, start, err);
}

tfm_status tfm_gguf_writer_add_u8(tfm_gguf_writer *w, const char *key, uint8_t v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_U8, v, err);
}
tfm_status tfm_gguf_writer_add_i8(tfm_gguf_writer *w, const char *key, int8_t v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_I8, (uint8_t)v, err);
}
tfm_status tfm_gguf_writer_add_u16(tfm_gguf_writer *w, const char *key, uint16_t v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_U16, v, err);
}
tfm_status tfm_gguf_writer_add_i16(tfm_gguf_writer *w, const char *key, int16_t v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_I16, (uint16_t)v, err);
}
tfm_status tfm_gguf_writer_add_u32(tfm_gguf_writer *w, const char *key, uint32_t v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_U32, v, err);
}
tfm_status tfm_gguf_writer_add_i32(tfm_gguf_writer *w, const char *key, int32_t v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_I32, (uint32_t)v, err);
}
tfm_status tfm_gguf_writer_add_u64(tfm_gguf_writer *w, const char *key, uint64_t v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_U64, v, err);
}
tfm_status tfm_gguf_writer_add_i64(tfm_gguf_writer *w, const char *key, int64_t v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_I64, (uint64_t)v, err);
}
tfm_status tfm_gguf_writer_add_f32(tfm_gguf_writer *w, const char *key, float v, tfm_error *err)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_F32, bits, err);
}
tfm_status tfm_gguf_writer_add_f64(tfm_gguf_writer *w, const char *key, double v, tfm_error *err)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_F64, bits, err);
}
tfm_status tfm_gguf_writer_add_bool(tfm_gguf_writer *w, const char *key, int v, tfm_error *err)
{
    return tfm__gguf_add_scalar(w, key, TFM_GGUF_BOOL, v != 0, err);
}

tfm_status tfm_gguf_writer_add_string_n(tfm_gguf_writer *w, const char *key, const char *str, size_t len,
                                        tfm_error *err)
{
    size_t start;
    tfm_status s;
    if (!str && len) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': NULL string", key ? key : "");
    if ((s = tfm__gguf_kv_begin(w, key, (uint64_t)8 + len, err)) != TFM_OK) return s;
    start = w->kv_len;
    tfm__gguf_put_string(w, key, strlen(key));
    tfm__gguf_put_uint(w, TFM_GGUF_STRING, 4);
    tfm__gguf_put_string(w, str, len);
    return tfm__gguf_kv_commit(w, start, err);
}

tfm_status tfm_gguf_writer_add_string(tfm_gguf_writer *w, const char *key, const char *str, tfm_error *err)
{
    if (!str) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': NULL string", key ? key : "");
    return tfm_gguf_writer_add_string_n(w, key, str, strlen(str), err);
}

tfm_status tfm_gguf_writer_add_array(tfm_gguf_writer *w, const char *key, tfm_gguf_type elem_type, const void *values,
                                     uint64_t count, tfm_error *err)
{
    size_t size = tfm__gguf_type_size((uint32_t)elem_type), start;
    const unsigned char *bytes = (const unsigned char *)values;
    uint64_t i;
    tfm_status s;
    if (size == 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': arrays of type %d are added another way",
                             key ? key : "", (int)elem_type);
    if (count > TFM_GGUF_MAX_ARRAY || (!values && count))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': bad array (%llu elements)", key ? key : "",
                             (unsigned long long)count);
    for (i = 0; elem_type == TFM_GGUF_BOOL && i < count; i++)
        if (bytes[i] > 1) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': bool element %llu is not 0 or 1",
                                               key ? key : "", (unsigned long long)i);
    if ((s = tfm__gguf_kv_begin(w, key, 4 + 8 + count * size, err)) != TFM_OK) return s;
    start = w->kv_len;
    tfm__gguf_put_string(w, key, strlen(key));
    tfm__gguf_put_uint(w, TFM_GGUF_ARRAY, 4);
    tfm__gguf_put_uint(w, (uint64_t)elem_type, 4);
    tfm__gguf_put_uint(w, count, 8);
    for (i = 0; i < count; i++) {
        /* the caller's elements are host-endian; the file is little-endian */
        uint64_t v = 0;
        if (size == 1) v = bytes[i];
        else if (size == 2) { uint16_t x; memcpy(&x, bytes + i * 2, 2); v = x; }
        else if (size == 4) { uint32_t x; memcpy(&x, bytes + i * 4, 4); v = x; }
        else memcpy(&v, bytes + i * 8, 8);
        tfm__gguf_put_uint(w, v, size);
    }
    return tfm__gguf_kv_commit(w, start, err);
}

tfm_status tfm_gguf_writer_add_array_string(tfm_gguf_writer *w, const char *key, const char *const *strs,
                                            const size_t *lens, uint64_t count, tfm_error *err)
{
    uint64_t i, bytes = 4 + 8;
    size_t start;
    tfm_status s;
    if (count > TFM_GGUF_MAX_ARRAY || (!strs && count))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': bad array (%llu strings)", key ? key : "",
                             (unsigned long long)count);
    for (i = 0; i < count; i++) {
        if (!strs[i] && (!lens || lens[i]))
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': string %llu is NULL", key ? key : "",
                                 (unsigned long long)i);
        {
            size_t len = lens ? lens[i] : strlen(strs[i]);
            if (len > UINT64_MAX - 8 - bytes)
                return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "key '%s': strings too long", key ? key : "");
            bytes += 8 + len;
        }
    }
    if ((s = tfm__gguf_kv_begin(w, key, bytes, err)) != TFM_OK) return s;
    start = w->kv_len;
    tfm__gguf_put_string(w, key, strlen(key));
    tfm__gguf_put_uint(w, TFM_GGUF_ARRAY, 4);
    tfm__gguf_put_uint(w, TFM_GGUF_STRING, 4);
    tfm__gguf_put_uint(w, count, 8);
    for (i = 0; i < count; i++) tfm__gguf_put_string(w, strs[i], lens ? lens[i] : strlen(strs[i]));
    return tfm__gguf_kv_commit(w, start, err);
}

tfm_status tfm_gguf_writer_add_input(tfm_gguf_writer *w, tfm_file_id id, tfm_error *err)
{
    int i;
    if (!w) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_writer_add_input: no writer");
    if (!id.known) return TFM_OK;
    for (i = 0; i < w->n_inputs; i++)
        if (w->inputs[i].device == id.device && w->inputs[i].inode == id.inode) return TFM_OK;
    if (w->n_inputs == w->inputs_cap) {
        int cap = w->inputs_cap ? 2 * w->inputs_cap : 4;
        tfm_file_id *grown = (tfm_file_id *)TFM_REALLOC(w->inputs, (size_t)cap * sizeof *grown);
        if (!grown) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
        w->inputs = grown;
        w->inputs_cap = cap;
    }
    w->inputs[w->n_inputs++] = id;
    return TFM_OK;
}

tfm_status tfm_gguf_writer_copy_kv(tfm_gguf_writer *w, const tfm_gguf *g, int64_t i, tfm_error *err)
{
    const tfm__gguf_kv *kv;
    size_t start, bytes;
    tfm_status s;
    if (!g || i < 0 || i >= g->n_kv) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_writer_copy_kv: no kv %lld", (long long)i);
    if ((s = tfm_gguf_writer_add_input(w, g->map.id, err)) != TFM_OK) return s;
    kv = &g->kv[i];
    bytes = kv->end - kv->start;
    if ((s = tfm__gguf_kv_begin(w, kv->key, bytes - (8 + strlen(kv->key) + 4), err)) != TFM_OK) return s;
    start = w->kv_len;
    memcpy(w->kv + start, g->data + kv->start, bytes); /* the reader validated these bytes */
    w->kv_len += bytes;
    return tfm__gguf_kv_commit(w, start, err);
}

static tfm_status tfm__gguf_add_tensor(tfm_gguf_writer *w, const char *name, tfm_dtype dtype, int n_dims,
                                       const int64_t *ne, const void *data, tfm_gguf_rows_fn rows_fn, void *user,
                                       tfm_error *err)
{
    tfm__gguf_wtensor t;
    tfm_tensor shape;
    size_t len;
    int64_t i;
    tfm_status s;
    if (!w || !name || !ne) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_writer_add_tensor: NULL argument");
    len = strlen(name);
    if (len == 0 || len > TFM_GGUF_WRITER_MAX_NAME)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tensor name '%s' has %llu bytes (must be 1..%d)", name,
                             (unsigned long long)len, TFM_GGUF_WRITER_MAX_NAME);
    for (i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "duplicate tensor name '%s'", name);
    /* tfm_tensor_init checks dims, dtype, block multiple and size overflow */
    if ((s = tfm_tensor_init(&shape, dtype, n_dims, ne, NULL)) != TFM_OK)
        return tfm_error_set(err, s, "tensor '%s': bad dtype or shape (%s)", name, tfm_status_string(s));
    if (w->n_tensors == w->tensor_cap) {
        int64_t cap = w->tensor_cap ? w->tensor_cap * 2 : 64;
        tfm__gguf_wtensor *grown = (tfm__gguf_wtensor *)TFM_REALLOC(w->tensors, (size_t)cap * sizeof *grown);
        if (!grown) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for tensors");
        w->tensors = grown;
        w->tensor_cap = cap;
    }
    memset(&t, 0, sizeof t);
    memcpy(t.name, name, len + 1);
    t.dtype = dtype;
    t.n_dims = n_dims;
    for (i = 0; i < TFM_MAX_DIMS; i++) t.ne[i] = shape.ne[i];
    t.rows = (uint64_t)(shape.ne[1] * shape.ne[2] * shape.ne[3]);
    t.row_bytes = shape.nb[1];
    t.size = tfm_tensor_nbytes(&shape);
    t.data = data;
    t.rows_fn = rows_fn;
    t.user = user;
    w->tensors[w->n_tensors++] = t;
    return TFM_OK;
}

tfm_status tfm_gguf_writer_add_tensor(tfm_gguf_writer *w, const char *name, tfm_dtype dtype, int n_dims,
                                      const int64_t *ne, const void *data, tfm_error *err)
{
    if (!data) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tensor '%s': NULL data", name ? name : "");
    return tfm__gguf_add_tensor(w, name, dtype, n_dims, ne, data, NULL, NULL, err);
}

tfm_status tfm_gguf_writer_add_tensor_rows(tfm_gguf_writer *w, const char *name, tfm_dtype dtype, int n_dims,
                                           const int64_t *ne, tfm_gguf_rows_fn rows_fn, void *user, tfm_error *err)
{
    if (!rows_fn) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tensor '%s': NULL rows function", name ? name : "");
    return tfm__gguf_add_tensor(w, name, dtype, n_dims, ne, NULL, rows_fn, user, err);
}

static uint64_t tfm__gguf_infos_bytes(const tfm_gguf_writer *w)
{
    uint64_t bytes = 0;
    int64_t i;
    for (i = 0; i < w->n_tensors; i++)
        bytes += 8 + strlen(w->tensors[i].name) + 4 + 8 * (uint64_t)w->tensors[i].n_dims + 4 + 8;
    return bytes;
}

/* Where the data section starts: after the header, the kv pairs and the tensor infos, aligned. */
static uint64_t tfm__gguf_data_start(const tfm_gguf_writer *w)
{
    return tfm__gguf_align(TFM__GGUF_HEADER_BYTES + w->kv_len + tfm__gguf_infos_bytes(w), w->alignment);
}

/* The offset (in the data section) of a tensor of dtype placed at or after `end`: a multiple of the
   alignment whose absolute offset is also one of its elements' (a file aligned to 1 byte still puts f32
   data at a multiple of 4, so that it loads; the reader requires it). */
static uint64_t tfm__gguf_place(const tfm_gguf_writer *w, uint64_t data_start, uint64_t end, tfm_dtype dtype)
{
    uint64_t elem = tfm__gguf_dtype_alignment(dtype), at = tfm__gguf_align(end, w->alignment);
    if (elem > w->alignment) at = tfm__gguf_align(data_start + at, elem) - data_start;
    return at;
}

uint64_t tfm_gguf_writer_size(const tfm_gguf_writer *w)
{
    uint64_t start, end = 0;
    int64_t i;
    if (!w) return 0;
    start = tfm__gguf_data_start(w);
    for (i = 0; i < w->n_tensors; i++) end = tfm__gguf_place(w, start, end, w->tensors[i].dtype) + w->tensors[i].size;
    return start + tfm__gguf_align(end, w->alignment);
}

/* Where the bytes go: a FILE* or a memory buffer. */
typedef struct tfm__gguf_sink {
    FILE *f;
    unsigned char *buf;
    size_t cap;
    uint64_t pos;
    tfm_error *err;
} tfm__gguf_sink;

static tfm_status tfm__gguf_emit(tfm__gguf_sink *s, const void *p, size_t n)
{
    if (n == 0) return TFM_OK;
    if (s->f) {
        if (fwrite(p, 1, n, s->f) != n)
            return tfm_error_set(s->err, TFM_ERR_IO, "write failed at byte %llu", (unsigned long long)s->pos);
    } else {
        if (n > s->cap - s->pos)
            return tfm_error_set(s->err, TFM_ERR_OUT_OF_RANGE, "the buffer of %llu bytes is too small",
                                 (unsigned long long)s->cap);
        memcpy(s->buf + s->pos, p, n);
    }
    s->pos += n;
    return TFM_OK;
}

static tfm_status tfm__gguf_emit_uint(tfm__gguf_sink *s, uint64_t v, size_t bytes)
{
    unsigned char b[8];
    tfm__gguf_store(b, v, bytes);
    return tfm__gguf_emit(s, b, bytes);
}

static tfm_status tfm__gguf_emit_padding(tfm__gguf_sink *s, size_t alignment)
{
    static const unsigned char zeros[256] = {0};
    uint64_t n = tfm__gguf_align(s->pos, alignment) - s->pos;
    tfm_status st = TFM_OK;
    while (n > 0 && st == TFM_OK) {
        size_t chunk = n < sizeof zeros ? (size_t)n : sizeof zeros;
        st = tfm__gguf_emit(s, zeros, chunk);
        n -= chunk;
    }
    return st;
}

/* One tensor's data from its rows function, in chunks of about 1 MiB; *buf grows as needed. */
static tfm_status tfm__gguf_emit_rows(tfm__gguf_sink *s, const tfm__gguf_wtensor *t, void **buf, size_t *buf_cap)
{
    uint64_t per_chunk = t->row_bytes >= ((size_t)1 << 20) ? 1 : ((size_t)1 << 20) / t->row_bytes, row;
    if (per_chunk > t->rows) per_chunk = t->rows;
    if (per_chunk * t->row_bytes > *buf_cap) {
        tfm_aligned_free(*buf);
        *buf_cap = (size_t)(per_chunk * t->row_bytes);
        *buf = tfm_aligned_alloc(*buf_cap);
        if (!*buf) {
            *buf_cap = 0;
            return tfm_error_set(s->err, TFM_ERR_OUT_OF_MEMORY, "tensor '%s': out of memory for a chunk", t->name);
        }
    }
    for (row = 0; row < t->rows; row += per_chunk) {
        uint64_t n = t->rows - row < per_chunk ? t->rows - row : per_chunk;
        tfm_status st = t->rows_fn(t->user, (int64_t)row, (int64_t)n, *buf);
        if (st != TFM_OK)
            return tfm_error_set(s->err, st, "tensor '%s': the rows function failed at row %llu (%s)", t->name,
                                 (unsigned long long)row, tfm_status_string(st));
        if ((st = tfm__gguf_emit(s, *buf, (size_t)(n * t->row_bytes))) != TFM_OK) return st;
    }
    return TFM_OK;
}

/* Zero bytes up to absolute offset `to`. */
static tfm_status tfm__gguf_emit_zeros_to(tfm__gguf_sink *s, uint64_t to)
{
    static const unsigned char zeros[256] = {0};
    tfm_status st = TFM_OK;
    while (s->pos < to && st == TFM_OK) {
        size_t chunk = to - s->pos < sizeof zeros ? (size_t)(to - s->pos) : sizeof zeros;
        st = tfm__gguf_emit(s, zeros, chunk);
    }
    return st;
}

static tfm_status tfm__gguf_write(const tfm_gguf_writer *w, tfm__gguf_sink *s)
{
    uint64_t end = 0, start = tfm__gguf_data_start(w);
    void *buf = NULL;
    size_t buf_cap = 0;
    int64_t i;
    int d;
    tfm_status st = tfm__gguf_emit(s, TFM__GGUF_MAGIC, 4);
    if (st == TFM_OK) st = tfm__gguf_emit_uint(s, 3, 4);
    if (st == TFM_OK) st = tfm__gguf_emit_uint(s, (uint64_t)w->n_tensors, 8);
    if (st == TFM_OK) st = tfm__gguf_emit_uint(s, (uint64_t)w->n_kv, 8);
    if (st == TFM_OK) st = tfm__gguf_emit(s, w->kv, w->kv_len);
    for (i = 0; i < w->n_tensors && st == TFM_OK; i++) {
        const tfm__gguf_wtensor *t = &w->tensors[i];
        size_t len = strlen(t->name);
        st = tfm__gguf_emit_uint(s, len, 8);
        if (st == TFM_OK) st = tfm__gguf_emit(s, t->name, len);
        if (st == TFM_OK) st = tfm__gguf_emit_uint(s, (uint64_t)t->n_dims, 4);
        for (d = 0; d < t->n_dims && st == TFM_OK; d++) st = tfm__gguf_emit_uint(s, (uint64_t)t->ne[d], 8);
        end = tfm__gguf_place(w, start, end, t->dtype);
        if (st == TFM_OK) st = tfm__gguf_emit_uint(s, (uint64_t)t->dtype, 4);
        if (st == TFM_OK) st = tfm__gguf_emit_uint(s, end, 8);
        end += t->size;
    }
    if (st == TFM_OK) st = tfm__gguf_emit_padding(s, w->alignment);
    for (i = 0, end = 0; i < w->n_tensors && st == TFM_OK; i++) {
        const tfm__gguf_wtensor *t = &w->tensors[i];
        end = tfm__gguf_place(w, start, end, t->dtype);
        st = tfm__gguf_emit_zeros_to(s, start + end);
        if (st == TFM_OK)
            st = t->data ? tfm__gguf_emit(s, t->data, (size_t)t->size) : tfm__gguf_emit_rows(s, t, &buf, &buf_cap);
        end += t->size;
    }
    if (st == TFM_OK) st = tfm__gguf_emit_padding(s, w->alignment);
    tfm_aligned_free(buf);
    return st;
}

tfm_status tfm_gguf_writer_write(const tfm_gguf_writer *w, FILE *f, tfm_error *err)
{
    tfm__gguf_sink s;
    if (!w || !f) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_writer_write: NULL argument");
    memset(&s, 0, sizeof s);
    s.f = f;
    s.err = err;
    return tfm__gguf_write(w, &s);
}

tfm_status tfm_gguf_writer_write_buffer(const tfm_gguf_writer *w, void *buf, size_t cap, tfm_error *err)
{
    tfm__gguf_sink s;
    if (!w || (!buf && cap)) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_writer_write_buffer: NULL argument");
    if (tfm_gguf_writer_size(w) > cap)
        return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "the file needs %llu bytes, the buffer has %llu",
                             (unsigned long long)tfm_gguf_writer_size(w), (unsigned long long)cap);
    memset(&s, 0, sizeof s);
    s.buf = (unsigned char *)buf;
    s.cap = cap;
    s.err = err;
    return tfm__gguf_write(w, &s);
}

tfm_status tfm_gguf_writer_write_file(const tfm_gguf_writer *w, const char *path, tfm_error *err)
{
    tfm_file_writer out;
    tfm_status s;
    if (!w || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_gguf_writer_write_file: NULL argument");
    s = tfm_file_writer_open(&out, path, w->inputs, w->n_inputs, err);
    if (s != TFM_OK) return s;
    s = tfm_gguf_writer_write(w, out.f, err);
    if (s != TFM_OK) {
        tfm_file_writer_abort(&out);
        return s;
    }
    return tfm_file_writer_commit(&out, err);
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

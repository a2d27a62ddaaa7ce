/* tfm_tensor.h - the foundation of tfm, a header-only transformer inference library.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     config hooks, status codes and error messages, dtypes (f32 f16 bf16 and the ids of the quantized
     types, equal to GGML's), f16/bf16 conversions, tensor views, an arena, file mapping, the SIMD vector layer
     (AVX-512, AVX2+FMA+F16C, NEON, scalar), OpenMP threading, and the f32 kernels every model needs:
     dot axpy scale add mul argmax silu gelu swiglu softmax rmsnorm layernorm rope gemv gemm.

   USAGE
     In one C or C++ file:
        #define TFM_IMPLEMENTATION
        #include "tfm_tensor.h"
     Everywhere else just #include "tfm_tensor.h". A file that defines TFM_IMPLEMENTATION before its first
     tfm include implements every tfm header it includes (tfm_model.h brings tensor, quant, attention, ...).
     Several files may do so, for different headers or the same ones, as long as they agree on the
     options below: with gcc and clang on ELF and Mach-O systems their public functions are weak symbols
     and the linker keeps one copy of each. Elsewhere (Windows, other compilers, a TFM_API of yours)
     implement every header in one file only.

   OPTIONS (define before including)
     TFM_STATIC                  every function static (private to one translation unit)
     TFM_IMPLEMENTATION_ELSEWHERE  a file that defines TFM_IMPLEMENTATION gets the declarations only: its
                                 program links the implementation compiled once in another file (so
                                 `make` compiles it once for all the tools: -DTFM_IMPLEMENTATION_ELSEWHERE)
     TFM_MALLOC(sz) TFM_FREE(p) TFM_REALLOC(p,sz)   allocator hooks (all three or none)
     TFM_ASSERT(x)               defaults to assert(x); used only for internal invariants
     TFM_NO_SIMD                 force the scalar path (and no run-time dispatch)
     TFM_NO_DISPATCH             a portable x86-64 build keeps to the scalar path (no run-time dispatch)
     TFM_MAX_THREADS             the most threads tfm runs (default: the processors, tfm_max_threads)

   RUN-TIME DISPATCH
     The vector layer is chosen when compiling: -march=native (or -mavx512f..., -mavx2 -mfma -mf16c,
     aarch64) picks AVX-512, AVX2 or NEON with no run-time cost. A portable x86-64 build (gcc or clang
     without such flags, e.g. a plain `cc -O2`) compiles the scalar layer and, on top, the kernels for
     AVX2+FMA+F16C and for AVX-512 (F BW VL DQ VNNI): the f32 kernels of this file (dot and the other
     elementwise kernels, softmax, the norms, f16/bf16 rows, gemv, gemm) and the int8 kernels of
     tfm_quant.h (quantized gemv and gemm, every weight type); at first use it picks the best the CPU
     has (__builtin_cpu_supports), or the one the environment variable TFM_SIMD names (avx512, avx2,
     scalar; tfm_simd_select() does the same from code). tfm_simd_name() says which path runs. The int8
     paths give the same bits; the f32 paths round as their vector widths do (as the -march builds).
     One kernel source, compiled once per instruction set: the vector layers live in tfm_simd.h (the
     f32 tfm__vf) and tfm_quant_kernels.h (the int8 tfm__vi), the kernels in files without include
     guards (tfm_tensor_kernels.h, tfm_quant_kernels.h) that their header includes once per instruction
     set between inclusions of tfm_simd_pass.h, which defines TFM__SIMD_<set>, switches the set's target
     on for the functions (#pragma GCC target / clang's attribute pragma) and suffixes every name by the
     set. Each set's kernels form one table; a public kernel calls its path's entry (one indirect call,
     none in a build without dispatch) and a matrix product looks its weight type up in the table of
     the chosen path (one indirect call per 16-row tile, as without dispatch).
     aarch64: NEON is the base; a build without the dot product extension (-march=armv8-a, no
     +dotprod) compiles the int8 kernels once more with it (tfm_simd_pass.h's one aarch64 pass) and
     runs them where Linux reports the extension (getauxval's HWCAP_ASIMDDP): the paths "neon" and
     "neon_dotprod" (TFM_SIMD picks either), the same bits on both. The f32 kernels are the same NEON
     code on both paths.
   CONVENTIONS
     - Row-major. A weight matrix is W[rows][cols] with cols contiguous; gemv computes y = W x,
       gemm computes Y[m][n] = X[m][k] * W[n][k]^T (a batch of activation rows, the prefill shape).
     - tfm_tensor dims follow GGML: ne[0] is the contiguous (innermost) dimension.
     - Errors are values: functions that can fail return tfm_status; nothing calls exit().
     - Results do not depend on the thread count: each output element is reduced by one thread
       in a fixed order.
     - Elementwise kernels take n == 0 as a no-op; kernels that return tfm_status reject NULL
       pointers and zero sizes with TFM_ERR_INVALID_ARGUMENT.
*/
/* Whether the declarations that follow are implemented in this translation unit, in which case they
   are weak (see USAGE). Outside the include guard: every tfm header includes this file right before its
   own declarations, so each header's declarations are weak exactly when the file implements it (never
   with TFM_IMPLEMENTATION_ELSEWHERE, which takes TFM_IMPLEMENTATION back before any header sees it). */
#if defined(TFM_IMPLEMENTATION_ELSEWHERE) && defined(TFM_IMPLEMENTATION)
#undef TFM_IMPLEMENTATION
#endif
#undef TFM__IMPLEMENTED_HERE
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_STATIC) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(_WIN32) && !defined(__CYGWIN__)
#define TFM__IMPLEMENTED_HERE __attribute__((weak))
#else
#define TFM__IMPLEMENTED_HERE
#endif

#ifndef TFM_TENSOR_H
#define TFM_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------- version */

#define TFM_VERSION_MAJOR 0
#define TFM_VERSION_MINOR 1
#define TFM_VERSION_PATCH 0
/* "MAJOR.MINOR.PATCH" */
#define TFM_VERSION_STRING TFM__VERSION_JOIN(TFM_VERSION_MAJOR, TFM_VERSION_MINOR, TFM_VERSION_PATCH)
#define TFM__VERSION_JOIN(major, minor, patch) TFM__VERSION_QUOTE(major, minor, patch)
#define TFM__VERSION_QUOTE(major, minor, patch) #major "." #minor "." #patch

#if defined(__MINGW32__)
/* MinGW's "printf" format is msvcrt's, without %zu; tfm formats its messages with MinGW's C99 printf */
#define TFM__UNUSED __attribute__((unused))
#define TFM__PRINTF(fmt_index, first_arg) __attribute__((format(gnu_printf, fmt_index, first_arg)))
#elif defined(__GNUC__) || defined(__clang__)
#define TFM__UNUSED __attribute__((unused))
#define TFM__PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define TFM__UNUSED
#define TFM__PRINTF(fmt_index, first_arg)
#endif

#ifndef TFM_API
#ifdef TFM_STATIC
#define TFM_API static TFM__UNUSED
#else
#define TFM_API extern TFM__IMPLEMENTED_HERE
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status and errors */

typedef enum tfm_status {
    TFM_OK = 0,
    TFM_ERR_INVALID_ARGUMENT = -1, /* NULL pointer, zero size, bad option value */
    TFM_ERR_SHAPE = -2,            /* tensor shapes do not fit together */
    TFM_ERR_OUT_OF_MEMORY = -3,
    TFM_ERR_IO = -4,               /* file missing, unreadable, short read */
    TFM_ERR_FORMAT = -5,           /* file contents malformed or inconsistent */
    TFM_ERR_UNSUPPORTED = -6,      /* valid but not implemented (a dtype, an architecture) */
    TFM_ERR_OUT_OF_RANGE = -7,     /* index/token/position outside its valid range */
    TFM_ERR_CONTEXT_FULL = -8      /* no room left in a KV cache or arena */
} tfm_status;

/* A short, static, human-readable description of a status ("invalid argument", ...). */
TFM_API const char *tfm_status_string(tfm_status status);

/* Detailed error: functions that can fail for many reasons (loaders) fill one of these. */
typedef struct tfm_error {
    tfm_status status;
    char message[256];
} tfm_error;

/* Records status and a printf-formatted message in err (err may be NULL) and returns status,
   so that `return tfm_error_set(err, TFM_ERR_FORMAT, "bad magic %x", m);` reads naturally. The message
   is one line of printable text whatever the arguments hold (a name read from a file, a path): it goes
   through tfm_escape. */
TFM_API tfm_status tfm_error_set(tfm_error *err, tfm_status status, const char *fmt, ...) TFM__PRINTF(3, 4);
/* Clears err to TFM_OK with an empty message (err may be NULL). */
TFM_API void tfm_error_clear(tfm_error *err);
/* text[0..len) as one line of printable ASCII into out (cap >= 1 bytes, NUL-terminated): every byte
   outside 0x20..0x7e is written \xNN, so that text from a file cannot move a terminal's cursor or
   change its title. A text that does not fit is cut, ending with "...". Returns out. */
TFM_API char *tfm_escape(char *out, size_t cap, const char *text, size_t len);

/* A 64-bit checksum of n bytes (not cryptographic: it tells a corrupted or different file, not a
   forged one); seed chains pieces: tfm_hash64(b, nb, tfm_hash64(a, na, 0)). The same value on every
   platform and build; several gigabytes a second (four independent multiply chains). */
TFM_API uint64_t tfm_hash64(const void *data, size_t n, uint64_t seed);

/* ---------------------------------------------------------------- dtypes */

/* Ids are GGML's ggml_type values, so GGUF tensor types map one to one. */
typedef enum tfm_dtype {
    TFM_F32 = 0,
    TFM_F16 = 1,
    TFM_Q4_0 = 2,
    TFM_Q4_1 = 3,
    TFM_Q5_0 = 6,
    TFM_Q5_1 = 7,
    TFM_Q8_0 = 8,
    TFM_Q8_1 = 9,
    TFM_Q2_K = 10,
    TFM_Q3_K = 11,
    TFM_Q4_K = 12,
    TFM_Q5_K = 13,
    TFM_Q6_K = 14,
    TFM_Q8_K = 15,
    TFM_IQ4_NL = 20,
    TFM_IQ4_XS = 23,
    TFM_I8 = 24,
    TFM_I16 = 25,
    TFM_I32 = 26,
    TFM_I64 = 27,
    TFM_F64 = 28,
    TFM_BF16 = 30,
    TFM_DTYPE_COUNT = 31
} tfm_dtype;

/* Name ("f32", "q4_k", ...) or NULL for an id that is not a known dtype. */
TFM_API const char *tfm_dtype_name(tfm_dtype t);
/* Elements per block (1 for plain types, 32 or 256 for quantized ones); 0 if unknown. */
TFM_API size_t tfm_dtype_block_size(tfm_dtype t);
/* Bytes per block; 0 if unknown. */
TFM_API size_t tfm_dtype_block_bytes(tfm_dtype t);
/* Bytes of a row of n elements in *bytes. Fails if the type is unknown, n is not a multiple of
   the block size, or the size overflows. */
TFM_API tfm_status tfm_dtype_row_bytes(tfm_dtype t, uint64_t n, size_t *bytes);

/* ---------------------------------------------------------------- f16 / bf16 */

/* IEEE binary16 <-> binary32, round to nearest even; subnormals exact; NaN stays NaN (quieted),
   Inf stays Inf, overflow rounds to Inf. */
TFM_API float tfm_f16_to_f32(uint16_t h);
TFM_API uint16_t tfm_f32_to_f16(float f);
/* bfloat16 <-> binary32, round to nearest even; subnormals kept (no flush); NaN quieted. */
TFM_API float tfm_bf16_to_f32(uint16_t h);
TFM_API uint16_t tfm_f32_to_bf16(float f);
/* Row conversions, SIMD where available (F16C / NEON; bf16 with integer SIMD so subnormals are
   exact, which AVX512-BF16's vcvtneps2bf16 is not). Results equal the scalar functions bit for bit. */
TFM_API void tfm_f16_to_f32_row(float *out, const uint16_t *in, size_t n);
TFM_API void tfm_f32_to_f16_row(uint16_t *out, const float *in, size_t n);
TFM_API void tfm_bf16_to_f32_row(float *out, const uint16_t *in, size_t n);
TFM_API void tfm_f32_to_bf16_row(uint16_t *out, const float *in, size_t n);

/* ---------------------------------------------------------------- tensor views */

#define TFM_MAX_DIMS 4

/* A view of memory it does not own. ne[0] is the contiguous dimension; nb[] are byte strides
   (nb[0] = bytes of one block, nb[1] = bytes of one row, ...). Unused dims have ne = 1. */
typedef struct tfm_tensor {
    tfm_dtype dtype;
    int n_dims;
    int64_t ne[TFM_MAX_DIMS];
    size_t nb[TFM_MAX_DIMS];
    void *data;
} tfm_tensor;

/* Initialises a contiguous view of n_dims (1..4) dims. Fails on bad dims, an unknown dtype,
   ne[0] not a multiple of the block size, or a size that overflows. data may be NULL (shape only). */
TFM_API tfm_status tfm_tensor_init(tfm_tensor *t, tfm_dtype dtype, int n_dims, const int64_t *ne, void *data);
TFM_API int64_t tfm_tensor_nelements(const tfm_tensor *t);
/* Bytes spanned by a contiguous tensor. */
TFM_API size_t tfm_tensor_nbytes(const tfm_tensor *t);
TFM_API int tfm_tensor_is_contiguous(const tfm_tensor *t);
/* Pointer to row (i1, i2, i3); no bounds check beyond TFM_ASSERT. */
TFM_API void *tfm_tensor_row(const tfm_tensor *t, int64_t i1, int64_t i2, int64_t i3);

/* ---------------------------------------------------------------- arena */

/* A bump allocator for activations: allocate once up front, hand out 64-byte aligned pieces,
   reset to a mark. Nothing is freed individually. */
typedef struct tfm_arena {
    unsigned char *base;
    size_t size;
    size_t used;
    size_t peak;
    void *owned; /* the allocation behind base when the arena allocated it itself */
} tfm_arena;

TFM_API tfm_status tfm_arena_init(tfm_arena *arena, size_t size);
/* Uses caller memory; the arena never frees it. */
TFM_API void tfm_arena_init_buffer(tfm_arena *arena, void *buffer, size_t size);
/* 64-byte aligned, NULL when the arena is full. */
TFM_API void *tfm_arena_alloc(tfm_arena *arena, size_t bytes);
TFM_API size_t tfm_arena_mark(const tfm_arena *arena);
TFM_API void tfm_arena_reset(tfm_arena *arena, size_t mark);
TFM_API void tfm_arena_free(tfm_arena *arena);

/* 64-byte aligned allocation through the TFM_MALLOC hook; free with tfm_aligned_free. */
TFM_API void *tfm_aligned_alloc(size_t bytes);
TFM_API void tfm_aligned_free(void *p);

/* ---------------------------------------------------------------- files */

/* Which file a path names, whatever the path: its device and inode (POSIX). known 0: the platform
   cannot tell, or the data did not come from a file. */
typedef struct tfm_file_id {
    uint64_t device, inode;
    int known;
} tfm_file_id;

/* The identity of the file path names now; known 0 when it does not exist or cannot be told. */
TFM_API tfm_file_id tfm_file_identify(const char *path);

/* A whole file, read-only: memory-mapped (POSIX mmap, Windows CreateFileMapping), else read into memory.
   Model weights point into it, so it lives as long as the model. Only regular files: a device or a
   pipe (/dev/zero) has no end to read to. On Windows the path goes to CreateFileA and fopen as it is
   (the process code page), and the implementation includes <windows.h> with WIN32_LEAN_AND_MEAN and
   NOMINMAX: include it before tfm if that file needs all of it. */
typedef struct tfm_file_map {
    const unsigned char *data;
    size_t size;
    int is_mapped; /* 1: mapped, 0: read into owned memory */
    void *owned;
    tfm_file_id id; /* the file it holds (a writer refuses to replace it: tfm_file_writer_open) */
} tfm_file_map;

enum { TFM_FILE_MAP_DEFAULT = 0, TFM_FILE_MAP_NO_MMAP = 1 };

/* Opens path; on failure map is zeroed and err says why (missing file, unreadable, empty). */
TFM_API tfm_status tfm_file_map_open(tfm_file_map *map, const char *path, int flags, tfm_error *err);
TFM_API void tfm_file_map_close(tfm_file_map *map);

/* Writing a file without ever leaving it half-written: the bytes go to a new temporary file beside it
   (path.tmpN, created exclusively), which replaces path by a rename only once everything was written
   and closed; a failure removes it and leaves an existing path as it was (its permissions carry over
   to the new file). Writing over one of the files the data comes from (inputs: mapped models, a
   tokenizer; the same device and inode, through whatever path) is refused: replacing a file that is
   still being read loses it, or truncating it under a mapping kills the program with SIGBUS.
       tfm_file_writer w;
       if (tfm_file_writer_open(&w, "out.gguf", &model->file.id, 1, &err) != TFM_OK) ...
       ... fwrite(..., w.f) ...
       if (!ok) tfm_file_writer_abort(&w); else if (tfm_file_writer_commit(&w, &err) != TFM_OK) ... */
typedef struct tfm_file_writer {
    FILE *f;      /* write here */
    char *path;   /* the file it becomes */
    char *tmp;    /* the temporary file until then */
} tfm_file_writer;

TFM_API tfm_status tfm_file_writer_open(tfm_file_writer *w, const char *path, const tfm_file_id *inputs, int n_inputs,
                                        tfm_error *err);
/* Flushes and closes the temporary file and renames it over path; on any failure it is removed and
   path stays as it was. w is finished either way. */
TFM_API tfm_status tfm_file_writer_commit(tfm_file_writer *w, tfm_error *err);
/* Closes and removes the temporary file; path stays as it was. */
TFM_API void tfm_file_writer_abort(tfm_file_writer *w);

/* ---------------------------------------------------------------- build facts */

/* "avx512", "avx2", "neon_dotprod", "neon" or "scalar": the path the kernels run (RUN-TIME DISPATCH in
   a portable build: the best the CPU has, or the one TFM_SIMD / tfm_simd_select named; otherwise the
   vector layer compiled in). */
TFM_API const char *tfm_simd_name(void);
/* Runs the dispatched kernels on the path `name` ("avx512", "avx2", "scalar" in a portable x86-64
   build, "neon_dotprod", "neon" in a portable aarch64 one; NULL, "" or "auto": the best the CPU has)
   from now on. TFM_ERR_UNSUPPORTED when this build cannot run that path on this CPU (a build without
   dispatch runs only its own). For tests and benchmarks: not while kernels run. */
TFM_API tfm_status tfm_simd_select(const char *name);
/* internal: the dispatched path's index (0 the build's own vector layer; x86-64: 1 avx2, 2 avx512;
   aarch64: 1 neon_dotprod) */
TFM_API int tfm__simd_path(void);
/* Threads used when a kernel or a context is given n_threads <= 0: OpenMP's maximum (OMP_NUM_THREADS,
   else the processors), at most tfm_max_threads(); 1 without OpenMP. */
TFM_API int tfm_default_threads(void);
/* The most threads tfm runs at once, which a context's n_threads is clamped to (more only slow it down:
   the work is split in equal shares, so every extra thread waits for a processor): the processors this
   process may run on (omp_get_num_procs), or TFM_MAX_THREADS when the program defines it before the
   implementation; 1 without OpenMP. A kernel given more threads than TFM_MAX_THREADS (default 1024)
   runs that many. Workspaces are sized for the threads that will run, never for the number asked. */
TFM_API int tfm_max_threads(void);

/* ---------------------------------------------------------------- f32 kernels */

TFM_API float tfm_dot(const float *a, const float *b, size_t n);
/* y += alpha * x */
TFM_API void tfm_axpy(float *y, float alpha, const float *x, size_t n);
/* y *= alpha */
TFM_API void tfm_scale(float *y, float alpha, size_t n);
/* out = a + b, out = a * b (out may alias a or b) */
TFM_API void tfm_add(float *out, const float *a, const float *b, size_t n);
TFM_API void tfm_mul(float *out, const float *a, const float *b, size_t n);
/* Index of the first maximum, NaNs ignored; 0 when n == 0 or all are NaN. */
TFM_API size_t tfm_argmax(const float *x, size_t n);
/* Activations, out may alias x. silu(x) = x / (1 + e^-x). */
TFM_API void tfm_silu(float *out, const float *x, size_t n);
/* gelu with the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
TFM_API void tfm_gelu_tanh(float *out, const float *x, size_t n);
/* exact gelu: 0.5 x (1 + erf(x / sqrt 2)), erf to ~2e-7 absolute */
TFM_API void tfm_gelu_erf(float *out, const float *x, size_t n);
/* out = silu(gate) * up (out may alias gate or up) */
TFM_API void tfm_swiglu(float *out, const float *gate, const float *up, size_t n);

/* Numerically stable softmax in place (subtracts the max). -Inf entries give exactly 0. */
TFM_API tfm_status tfm_softmax(float *x, size_t n);
/* out = x / sqrt(mean(x^2) + eps) * weight; weight may be NULL (all ones); out may alias x. */
TFM_API tfm_status tfm_rmsnorm(float *out, const float *x, const float *weight, size_t n, float eps);
/* out = (x - mean) / sqrt(var + eps) * weight + bias; weight/bias may be NULL; out may alias x. */
TFM_API tfm_status tfm_layernorm(float *out, const float *x, const float *weight, const float *bias,
                                 size_t n, float eps);

typedef enum tfm_rope_mode {
    TFM_ROPE_NORMAL = 0, /* rotate adjacent pairs (x[2i], x[2i+1]): Llama/GGUF, llama2.c */
    TFM_ROPE_NEOX = 1    /* rotate halves (x[i], x[i + rot_dim/2]): GPT-NeoX */
} tfm_rope_mode;

/* Rotary embedding in place on one token's x[n_heads][head_dim] at position pos. The first rot_dim
   (even, <= head_dim) dims of each head rotate, by angle pos * base^(-2i/rot_dim) for pair i. */
TFM_API tfm_status tfm_rope(float *x, int n_heads, int head_dim, int rot_dim, int pos, float base,
                            tfm_rope_mode mode);
/* The same rotation by angles computed elsewhere (scaled RoPE, or one table for many layers):
   cs[2i] and cs[2i + 1] are the cosine and sine pair i turns by. */
TFM_API tfm_status tfm_rope_rotate(float *x, int n_heads, int head_dim, int rot_dim, const float *cs,
                                   tfm_rope_mode mode);
/* Soft-capping in place: x[i] = cap * tanh(x[i] / cap) (Gemma 2's logits and attention scores), cap > 0. */
TFM_API void tfm_softcap(float *x, size_t n, float cap);

/* y[rows] = W[rows][cols] x[cols]; W of dtype f32, f16 or bf16 (others: TFM_ERR_UNSUPPORTED).
   Memory-bound; rows are split across threads. */
TFM_API tfm_status tfm_gemv(float *y, tfm_dtype wtype, const void *w, const float *x, int rows, int cols,
                            int n_threads);
/* Y[m][n] = X[m][k] W[n][k]^T, X rows ldx floats apart, Y rows ldy floats apart; W contiguous, dtype
   f32, f16 or bf16 (converted to f32 while packing). m <= 4 reads W once, as a gemv does; larger m
   runs the packed, register-blocked kernel. Threads split the n outputs; each allocates its packing
   buffers per call through TFM_MALLOC (at most about 2.5 MiB: an X block of up to 1024 x 400 floats
   and a W block of up to 528 x 384), which allocators recycle, so repeated calls stay cheap. */
TFM_API tfm_status tfm_gemm(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype, const void *w,
                            int m, int n, int k, int n_threads);
/* Checked tensor form: y[m][n] = x[m][k] w[n][k]^T with y, x f32 and contiguous rows; m == 1 is a gemv. */
TFM_API tfm_status tfm_matmul(tfm_tensor *y, const tfm_tensor *w, const tfm_tensor *x, int n_threads);

#ifdef __cplusplus
}
#endif

#endif /* TFM_TENSOR_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_TENSOR_IMPLEMENTATION_DONE)
#define TFM_TENSOR_IMPLEMENTATION_DONE

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h> /* getenv; malloc unless the allocator hooks name others */
#include <string.h>

#if defined(TFM_MALLOC) && defined(TFM_FREE) && defined(TFM_REALLOC)
#elif !defined(TFM_MALLOC) && !defined(TFM_FREE) && !defined(TFM_REALLOC)
#define TFM_MALLOC(sz) malloc(sz)
#define TFM_FREE(p) free(p)
#define TFM_REALLOC(p, sz) realloc(p, sz)
#else
#error "tfm: define all of TFM_MALLOC, TFM_FREE and TFM_REALLOC, or none"
#endif

#ifndef TFM_ASSERT
#include <assert.h>
#define TFM_ASSERT(x) assert(x)
#endif

/* ---------------------------------------------------------------- SIMD layer selection */
#if defined(TFM_NO_SIMD)
#define TFM__SIMD_SCALAR 1
#elif defined(__AVX512F__)
#define TFM__SIMD_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define TFM__SIMD_AVX2 1
#elif defined(__ARM_NEON) && defined(__aarch64__)
#define TFM__SIMD_NEON 1
#else
#define TFM__SIMD_SCALAR 1
#endif

/* RUN-TIME DISPATCH: a portable x86-64 build (the scalar layer: no -mavx2 / -march; gcc or clang)
   also compiles the int8 kernels for AVX2 and AVX-512 and picks a path at first use (tfm__simd_path) */
#if defined(TFM__SIMD_SCALAR) && !defined(TFM_NO_SIMD) && !defined(TFM_NO_DISPATCH) && defined(__x86_64__) && \
    (defined(__GNUC__) || defined(__clang__))
#define TFM__DISPATCH 1
#endif
/* A portable aarch64 build (NEON without the dot product extension: -march=armv8-a, a distribution's
   default) also compiles the int8 kernels with the dot product instructions (SDOT) and runs them where
   the CPU has them (Linux: the kernel's hwcaps); only the int8 kernels differ between the two. */
#if defined(TFM__SIMD_NEON) && !defined(__ARM_FEATURE_DOTPROD) && !defined(TFM_NO_DISPATCH) && defined(__linux__) && \
    (defined(__GNUC__) || defined(__clang__))
#define TFM__DISPATCH_DOTPROD 1
#endif
/* the extensions the vector layers may use beyond their base set (a dispatched pass sets its own) */
#if defined(__AVX512BW__) && defined(__AVX512VL__)
#define TFM__HAS_AVX512BW 1
#endif
#if defined(__AVX512VNNI__)
#define TFM__HAS_AVX512VNNI 1
#endif
#if defined(__AVXVNNI__)
#define TFM__HAS_AVXVNNI 1
#endif

#if defined(TFM__SIMD_AVX512) || defined(TFM__SIMD_AVX2) || defined(TFM__DISPATCH)
/* g++ 12 warns "__Y may be used uninitialized" inside its own AVX-512 intrinsics (GCC PR105593);
   the warning is located in immintrin.h, so it is silenced there, for g++ only. */
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif
#if defined(TFM__SIMD_NEON)
#include <arm_neon.h>
#endif
#if defined(TFM__DISPATCH_DOTPROD)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20) /* Linux's bit for the dot product instructions */
#endif
#endif

#if defined(_OPENMP)
#include <omp.h>
#define TFM__PRAGMA(x) _Pragma(#x)
/* A static-schedule parallel loop; one thread when n_threads is 1, so small work pays nothing. */
#define TFM__PARALLEL_FOR(n_threads) TFM__PRAGMA(omp parallel for schedule(static) num_threads(n_threads) if((n_threads) > 1))
#else
#define TFM__PARALLEL_FOR(n_threads)
#endif

#define TFM__INLINE static inline

/* tfm's messages use C99 formats (%zu, %lld): on MinGW, its own C99 vsnprintf, whatever
   __USE_MINGW_ANSI_STDIO makes of the plain one (msvcrt's knows no %zu) */
#if defined(__MINGW32__)
#define TFM__VSNPRINTF __mingw_vsnprintf
#else
#define TFM__VSNPRINTF vsnprintf
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

const char *tfm_status_string(tfm_status status)
{
    switch (status) {
    case TFM_OK: return "ok";
    case TFM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case TFM_ERR_SHAPE: return "shape mismatch";
    case TFM_ERR_OUT_OF_MEMORY: return "out of memory";
    case TFM_ERR_IO: return "i/o error";
    case TFM_ERR_FORMAT: return "malformed data";
    case TFM_ERR_UNSUPPORTED: return "unsupported";
    case TFM_ERR_OUT_OF_RANGE: return "out of range";
    case TFM_ERR_CONTEXT_FULL: return "context full";
    }
    return "unknown status";
}

tfm_status tfm_error_set(tfm_error *err, tfm_status status, const char *fmt, ...)
{
    if (err) {
        char raw[sizeof err->message];
        va_list ap;
        err->status = status;
        va_start(ap, fmt);
        TFM__VSNPRINTF(raw, sizeof raw, fmt, ap);
        va_end(ap);
        tfm_escape(err->message, sizeof err->message, raw, strlen(raw));
    }
    return status;
}

char *tfm_escape(char *out, size_t cap, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, k, n = 0, total = 0, room;
    if (!out || cap == 0) return out;
    if (!text) len = 0;
    for (i = 0; i < len; i++) total += (unsigned char)text[i] >= 0x20 && (unsigned char)text[i] <= 0x7e ? 1 : 4;
    room = total < cap ? cap - 1 : (cap > 4 ? cap - 4 : 0); /* a cut text keeps 3 bytes for "..." */
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c <= 0x7e) {
            if (n + 1 > room) break;
            out[n++] = (char)c;
        } else {
            if (n + 4 > room) break;
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    for (k = 0; i < len && k < 3 && n + 1 < cap; k++) out[n++] = '.';
    out[n] = '\0';
    return out;
}

void tfm_error_clear(tfm_error *err)
{
    if (err) {
        err->status = TFM_OK;
        err->message[0] = '\0';
    }
}

#if defined(__GNUC__) || defined(__clang__)
#define TFM__PREFETCH(p, locality) __builtin_prefetch((p), 0, locality)
#else
#define TFM__PREFETCH(p, locality) ((void)(p))
#endif

/* ---------------------------------------------------------------- checksums */

#define TFM__HASH_P1 0x9E3779B185EBCA87ull
#define TFM__HASH_P2 0xC2B2AE3D27D4EB4Full

static uint64_t tfm__hash_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* the usual 64-bit avalanche: every input bit reaches every output bit */
static uint64_t tfm__hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t tfm__hash_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
           (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static uint64_t tfm__hash_lane(uint64_t lane, uint64_t word)
{
    return tfm__hash_rotl(lane + word * TFM__HASH_P2, 31) * TFM__HASH_P1;
}

/* tfm_hash64 of bytes that arrive in parts: begin, add the parts in order, end gives tfm_hash64 of
   their concatenation (a state file hashes a large piece a cache-sized part at a time, beside its copy) */
typedef struct tfm__hasher {
    uint64_t lane[4], n;
    unsigned char tail[32]; /* a stripe's first `held` bytes, waiting for the rest */
    size_t held;
} tfm__hasher;

static void tfm__hasher_begin(tfm__hasher *h, uint64_t seed)
{
    int j;
    for (j = 0; j < 4; j++) h->lane[j] = seed + (uint64_t)(j + 1) * TFM__HASH_P1;
    h->n = 0;
    h->held = 0;
}

/* Bytes ahead of a checksum's reads that each line is prefetched: on its own the hardware prefetcher
   kept too few lines in flight, and hashing a piece in memory ran well below a plain read's speed. */
#define TFM__HASH_PREFETCH_BYTES 1024

/* four independent multiply chains: the checksum runs at several bytes a cycle */
static void tfm__hasher_stripes(uint64_t *lane, const unsigned char *p, size_t stripes)
{
    const size_t ahead = TFM__HASH_PREFETCH_BYTES / 32;
    size_t i;
    int j;
    for (i = 0; i < stripes; i++, p += 32) {
        if (i % 2 == 0 && i + ahead < stripes) TFM__PREFETCH(p + TFM__HASH_PREFETCH_BYTES, 3);
        for (j = 0; j < 4; j++) lane[j] = tfm__hash_lane(lane[j], tfm__hash_le64(p + 8 * j));
    }
}

static void tfm__hasher_add(tfm__hasher *h, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    h->n += n;
    if (h->held) {
        size_t take = n < 32 - h->held ? n : 32 - h->held;
        memcpy(h->tail + h->held, p, take);
        h->held += take, p += take, n -= take;
        if (h->held < 32) return;
        tfm__hasher_stripes(h->lane, h->tail, 1);
        h->held = 0;
    }
    tfm__hasher_stripes(h->lane, p, n / 32);
    h->held = n % 32;
    if (h->held) memcpy(h->tail, p + n - h->held, h->held);
}

static uint64_t tfm__hasher_end(tfm__hasher *h)
{
    uint64_t out;
    int j;
    if (h->held) { /* the last stripe, zero-padded */
        memset(h->tail + h->held, 0, 32 - h->held);
        tfm__hasher_stripes(h->lane, h->tail, 1);
    }
    out = h->n * TFM__HASH_P2;
    for (j = 0; j < 4; j++) out = tfm__hash_rotl(out ^ tfm__hash_mix(h->lane[j]), 27) * TFM__HASH_P1;
    return tfm__hash_mix(out);
}

uint64_t tfm_hash64(const void *data, size_t n, uint64_t seed)
{
    tfm__hasher h;
    tfm__hasher_begin(&h, seed);
    if (data) tfm__hasher_add(&h, data, n);
    return tfm__hasher_end(&h);
}

/* ---------------------------------------------------------------- dtypes */

typedef struct tfm__dtype_traits {
    const char *name;
    size_t block_size;
    size_t block_bytes;
} tfm__dtype_traits;

static const tfm__dtype_traits tfm__dtype_table[TFM_DTYPE_COUNT] = {
    /* 0 */ {"f32", 1, 4},
    /* 1 */ {"f16", 1, 2},
    /* 2 */ {"q4_0", 32, 18},
    /* 3 */ {"q4_1", 32, 20},
    /* 4 */ {NULL, 0, 0},
    /* 5 */ {NULL, 0, 0},
    /* 6 */ {"q5_0", 32, 22},
    /* 7 */ {"q5_1", 32, 24},
    /* 8 */ {"q8_0", 32, 34},
    /* 9 */ {"q8_1", 32, 36},
    /* 10 */ {"q2_k", 256, 84},
    /* 11 */ {"q3_k", 256, 110},
    /* 12 */ {"q4_k", 256, 144},
    /* 13 */ {"q5_k", 256, 176},
    /* 14 */ {"q6_k", 256, 210},
    /* 15 */ {"q8_k", 256, 292},
    /* 16..19: GGML's iq2/iq3/iq1 types, not supported */
    {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0},
    /* 20 */ {"iq4_nl", 32, 18},
    /* 21, 22: iq3_s, iq2_s, not supported */
    {NULL, 0, 0}, {NULL, 0, 0},
    /* 23 */ {"iq4_xs", 256, 136},
    /* 24 */ {"i8", 1, 1},
    /* 25 */ {"i16", 1, 2},
    /* 26 */ {"i32", 1, 4},
    /* 27 */ {"i64", 1, 8},
    /* 28 */ {"f64", 1, 8},
    /* 29 */ {NULL, 0, 0},
    /* 30 */ {"bf16", 1, 2},
};

static const tfm__dtype_traits *tfm__traits(tfm_dtype t)
{
    if ((int)t < 0 || (int)t >= TFM_DTYPE_COUNT || !tfm__dtype_table[t].name) return NULL;
    return &tfm__dtype_table[t];
}

const char *tfm_dtype_name(tfm_dtype t)
{
    const tfm__dtype_traits *tr = tfm__traits(t);
    return tr ? tr->name : NULL;
}

size_t tfm_dtype_block_size(tfm_dtype t)
{
    const tfm__dtype_traits *tr = tfm__traits(t);
    return tr ? tr->block_size : 0;
}

size_t tfm_dtype_block_bytes(tfm_dtype t)
{
    const tfm__dtype_traits *tr = tfm__traits(t);
    return tr ? tr->block_bytes : 0;
}

tfm_status tfm_dtype_row_bytes(tfm_dtype t, uint64_t n, size_t *bytes)
{
    const tfm__dtype_traits *tr = tfm__traits(t);
    uint64_t blocks;
    if (!tr || !bytes) return TFM_ERR_INVALID_ARGUMENT;
    if (n % tr->block_size) return TFM_ERR_SHAPE;
    blocks = n / tr->block_size;
    if (blocks > (uint64_t)SIZE_MAX / tr->block_bytes) return TFM_ERR_OUT_OF_RANGE;
    *bytes = (size_t)(blocks * tr->block_bytes);
    return TFM_OK;
}

/* ---------------------------------------------------------------- f16 / bf16, scalar */

static uint32_t tfm__f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float tfm__bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float tfm_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    if (exponent == 0) {
        /* zero or subnormal: mantissa * 2^-24 is exact in f32 */
        float magnitude = (float)mantissa * (1.0f / 16777216.0f);
        return tfm__bits_f32(sign | tfm__f32_bits(magnitude));
    }
    if (exponent == 31) {
        /* Inf, or NaN with its payload kept and the quiet bit set (as F16C and IEEE conversion do) */
        uint32_t quiet = mantissa ? 0x00400000u : 0u;
        return tfm__bits_f32(sign | 0x7f800000u | quiet | (mantissa << 13));
    }
    return tfm__bits_f32(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t tfm_f32_to_f16(float f)
{
    uint32_t x = tfm__f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t magnitude = x & 0x7fffffffu;
    uint32_t exponent = magnitude >> 23;
    if (magnitude >= 0x7f800000u) {
        if (magnitude > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | ((magnitude >> 13) & 0x3ff));
        return (uint16_t)(sign | 0x7c00);
    }
    /* 65520 (0x477ff000) is halfway between 65504 (the largest f16) and 65536: it and above round to Inf */
    if (magnitude >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);
    if (exponent < 113) {
        /* result is an f16 subnormal (or rounds up to the smallest normal, encoded the same way) */
        uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - exponent; /* >= 14 */
        uint32_t q, rem, half;
        if (exponent == 0) return sign; /* f32 zero or subnormal: far below half the smallest f16 */
        if (shift > 24) return sign;
        q = significand >> shift;
        rem = significand & ((1u << shift) - 1);
        half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    {
        uint32_t h = ((exponent - 112) << 10) | ((magnitude >> 13) & 0x3ff);
        uint32_t rem = magnitude & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* a carry into the exponent is right */
        return (uint16_t)(sign | h);
    }
}

float tfm_bf16_to_f32(uint16_t h)
{
    return tfm__bits_f32((uint32_t)h << 16);
}

uint16_t tfm_f32_to_bf16(float f)
{
    uint32_t x = tfm__f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

/* The SIMD vector layer, for the instruction set the build targets (tfm_simd.h; see RUN-TIME DISPATCH). */
#define TFM__SIMD_PASS 1
#define TFM__PN(name) name
#include "tfm_simd.h"
#undef TFM__PN

TFM__INLINE float tfm__load_any_scalar(tfm_dtype t, const void *row, size_t i)
{
    if (t == TFM_F16) return tfm_f16_to_f32(((const uint16_t *)row)[i]);
    if (t == TFM_BF16) return tfm_bf16_to_f32(((const uint16_t *)row)[i]);
    return ((const float *)row)[i];
}

/* ---------------------------------------------------------------- conversions, rows */

/* ---------------------------------------------------------------- tensors */

tfm_status tfm_tensor_init(tfm_tensor *t, tfm_dtype dtype, int n_dims, const int64_t *ne, void *data)
{
    size_t row_bytes, total;
    int i;
    if (!t || !ne || n_dims < 1 || n_dims > TFM_MAX_DIMS) return TFM_ERR_INVALID_ARGUMENT;
    if (!tfm__traits(dtype)) return TFM_ERR_UNSUPPORTED;
    for (i = 0; i < n_dims; i++)
        if (ne[i] <= 0) return TFM_ERR_SHAPE;
    {
        tfm_status s = tfm_dtype_row_bytes(dtype, (uint64_t)ne[0], &row_bytes);
        if (s != TFM_OK) return s;
    }
    t->dtype = dtype;
    t->n_dims = n_dims;
    t->data = data;
    t->nb[0] = tfm_dtype_block_bytes(dtype);
    t->ne[0] = ne[0];
    total = row_bytes;
    for (i = 1; i < TFM_MAX_DIMS; i++) {
        int64_t d = i < n_dims ? ne[i] : 1;
        t->ne[i] = d;
        t->nb[i] = total;
        if ((uint64_t)d > (uint64_t)SIZE_MAX / total) return TFM_ERR_OUT_OF_RANGE;
        total *= (size_t)d;
    }
    return TFM_OK;
}

int64_t tfm_tensor_nelements(const tfm_tensor *t)
{
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

size_t tfm_tensor_nbytes(const tfm_tensor *t)
{
    return t->nb[3] * (size_t)t->ne[3];
}

int tfm_tensor_is_contiguous(const tfm_tensor *t)
{
    size_t row_bytes = 0;
    int i;
    if (tfm_dtype_row_bytes(t->dtype, (uint64_t)t->ne[0], &row_bytes) != TFM_OK) return 0;
    if (t->nb[0] != tfm_dtype_block_bytes(t->dtype) || t->nb[1] != row_bytes) return 0;
    for (i = 2; i < TFM_MAX_DIMS; i++)
        if (t->nb[i] != t->nb[i - 1] * (size_t)t->ne[i - 1]) return 0;
    return 1;
}

void *tfm_tensor_row(const tfm_tensor *t, int64_t i1, int64_t i2, int64_t i3)
{
    TFM_ASSERT(i1 >= 0 && i1 < t->ne[1] && i2 >= 0 && i2 < t->ne[2] && i3 >= 0 && i3 < t->ne[3]);
    return (unsigned char *)t->data + (size_t)i1 * t->nb[1] + (size_t)i2 * t->nb[2] + (size_t)i3 * t->nb[3];
}

/* ---------------------------------------------------------------- memory */

void *tfm_aligned_alloc(size_t bytes)
{
    /* over-allocate, align, and keep the original pointer just before the aligned block */
    unsigned char *raw, *aligned;
    if (bytes > SIZE_MAX - 64 - sizeof(void *)) return NULL;
    raw = (unsigned char *)TFM_MALLOC(bytes + 64 + sizeof(void *));
    if (!raw) return NULL;
    aligned = (unsigned char *)(((uintptr_t)(raw + sizeof(void *)) + 63) & ~(uintptr_t)63);
    memcpy(aligned - sizeof(void *), &raw, sizeof(void *));
    return aligned;
}

void tfm_aligned_free(void *p)
{
    void *raw;
    if (!p) return;
    memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof(void *));
    TFM_FREE(raw);
}

tfm_status tfm_arena_init(tfm_arena *arena, size_t size)
{
    if (!arena || size == 0) return TFM_ERR_INVALID_ARGUMENT;
    memset(arena, 0, sizeof *arena);
    arena->owned = tfm_aligned_alloc(size);
    if (!arena->owned) return TFM_ERR_OUT_OF_MEMORY;
    arena->base = (unsigned char *)arena->owned;
    arena->size = size;
    return TFM_OK;
}

void tfm_arena_init_buffer(tfm_arena *arena, void *buffer, size_t size)
{
    memset(arena, 0, sizeof *arena);
    arena->base = (unsigned char *)buffer;
    arena->size = buffer ? size : 0;
}

void *tfm_arena_alloc(tfm_arena *arena, size_t bytes)
{
    uintptr_t start = ((uintptr_t)(arena->base + arena->used) + 63) & ~(uintptr_t)63;
    size_t offset = (size_t)(start - (uintptr_t)arena->base);
    if (offset > arena->size || bytes > arena->size - offset) return NULL;
    arena->used = offset + bytes;
    if (arena->used > arena->peak) arena->peak = arena->used;
    return arena->base + offset;
}

size_t tfm_arena_mark(const tfm_arena *arena) { return arena->used; }

void tfm_arena_reset(tfm_arena *arena, size_t mark)
{
    if (mark <= arena->used) arena->used = mark;
}

void tfm_arena_free(tfm_arena *arena)
{
    if (!arena) return;
    tfm_aligned_free(arena->owned);
    memset(arena, 0, sizeof *arena);
}

/* ---------------------------------------------------------------- files */

#if defined(__unix__) || defined(__APPLE__)
#define TFM__HAVE_MMAP 1
#elif defined(_WIN32)
#define TFM__HAVE_WIN32_MAP 1
#endif
#ifdef __cplusplus
}
#endif
#if defined(TFM__HAVE_MMAP)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#elif defined(TFM__HAVE_WIN32_MAP)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif
#include <errno.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Large read-mostly blocks that every decode step streams from memory (packed weights): aligned to
   2 MiB, and each whole 2 MiB of them advised to the kernel as huge-page memory (Linux transparent huge
   pages in "madvise" mode, the common default, back only advised memory). 4 KiB pages cost such a stream
   a TLB miss (a page walk, two-dimensional under a hypervisor) every 64 lines and stop the hardware
   prefetcher at each page's end. Blocks under 2 MiB, other systems and refused advice: plain 64-byte
   aligned memory. Through TFM_MALLOC; freed with tfm_aligned_free. */
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__) || defined(__i386__))
#if defined(MADV_HUGEPAGE)
#define TFM__MADV_HUGEPAGE MADV_HUGEPAGE
#elif !defined(__cplusplus)
/* strict ISO C leaves madvise undeclared (it is not POSIX); the value is Linux's on these architectures.
   C++ compilers define _GNU_SOURCE, which declares both. */
int madvise(void *addr, size_t length, int advice);
#define TFM__MADV_HUGEPAGE 14
#endif
#endif
#define TFM__HUGE_PAGE ((size_t)2 << 20)

static TFM__UNUSED void *tfm__alloc_streamed(size_t bytes)
{
#if defined(TFM__MADV_HUGEPAGE)
    unsigned char *raw, *aligned;
    if (bytes < TFM__HUGE_PAGE || bytes > SIZE_MAX - TFM__HUGE_PAGE - sizeof(void *)) return tfm_aligned_alloc(bytes);
    raw = (unsigned char *)TFM_MALLOC(bytes + TFM__HUGE_PAGE + sizeof(void *));
    if (!raw) return NULL;
    aligned = (unsigned char *)(((uintptr_t)(raw + sizeof(void *)) + TFM__HUGE_PAGE - 1) & ~(uintptr_t)(TFM__HUGE_PAGE - 1));
    memcpy(aligned - sizeof(void *), &raw, sizeof(void *)); /* as tfm_aligned_alloc: tfm_aligned_free frees it */
    (void)madvise(aligned, bytes / TFM__HUGE_PAGE * TFM__HUGE_PAGE, TFM__MADV_HUGEPAGE); /* advice: failure is harmless */
    return aligned;
#else
    return tfm_aligned_alloc(bytes);
#endif
}

/* rename() that replaces an existing target on Windows too (msvcrt's refuses to); 0 on success. */
static TFM__UNUSED int tfm__file_replace(const char *from, const char *to)
{
#if defined(TFM__HAVE_WIN32_MAP)
    return MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING) ? 0 : -1;
#else
    return rename(from, to);
#endif
}

#if defined(TFM__HAVE_WIN32_MAP)
/* Windows' device and inode: the volume's serial number and the file's index on it (stat's st_ino is 0) */
static void tfm__file_id_of_handle(HANDLE file, tfm_file_id *id)
{
    BY_HANDLE_FILE_INFORMATION info;
    if (GetFileInformationByHandle(file, &info)) {
        id->device = (uint64_t)info.dwVolumeSerialNumber;
        id->inode = ((uint64_t)info.nFileIndexHigh << 32) | (uint64_t)info.nFileIndexLow;
        id->known = 1;
    }
}
#endif

tfm_file_id tfm_file_identify(const char *path)
{
    tfm_file_id id;
    memset(&id, 0, sizeof id);
#if defined(TFM__HAVE_MMAP)
    {
        struct stat st;
        if (path && stat(path, &st) == 0) {
            id.device = (uint64_t)st.st_dev;
            id.inode = (uint64_t)st.st_ino;
            id.known = 1;
        }
    }
#elif defined(TFM__HAVE_WIN32_MAP)
    if (path) {
        HANDLE file = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                                  FILE_FLAG_BACKUP_SEMANTICS, NULL);
        if (file != INVALID_HANDLE_VALUE) {
            tfm__file_id_of_handle(file, &id);
            CloseHandle(file);
        }
    }
#else
    (void)path;
#endif
    return id;
}

/* Fails unless path names a regular file; records its identity in map. */
static tfm_status tfm__file_check_regular(tfm_file_map *map, const char *path, tfm_error *err)
{
#if defined(TFM__HAVE_MMAP)
    struct stat st;
    if (stat(path, &st) != 0) return tfm_error_set(err, TFM_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return tfm_error_set(err, TFM_ERR_IO, "'%s' is not a regular file", path);
    map->id = tfm_file_identify(path);
#else
    (void)err;
    map->id = tfm_file_identify(path); /* known on Windows, not elsewhere */
#endif
    return TFM_OK;
}

static tfm_status tfm__file_read_all(tfm_file_map *map, const char *path, tfm_error *err)
{
    FILE *f;
    tfm_status s = tfm__file_check_regular(map, path, err);
    if (s != TFM_OK) return s;
    f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t size = 0, capacity = 0;
    if (!f) return tfm_error_set(err, TFM_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    /* grow while reading rather than trusting ftell, which is a long and may not fit */
    for (;;) {
        size_t got;
        if (size == capacity) {
            size_t next = capacity ? capacity * 2 : (size_t)1 << 20;
            unsigned char *grown;
            if (next < capacity) break;
            grown = (unsigned char *)TFM_REALLOC(buf, next);
            if (!grown) {
                TFM_FREE(buf);
                fclose(f);
                return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory reading '%s'", path);
            }
            buf = grown;
            capacity = next;
        }
        got = fread(buf + size, 1, capacity - size, f);
        size += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        TFM_FREE(buf);
        fclose(f);
        return tfm_error_set(err, TFM_ERR_IO, "error reading '%s'", path);
    }
    fclose(f);
    map->data = buf;
    map->owned = buf;
    map->size = size;
    map->is_mapped = 0;
    return TFM_OK;
}

tfm_status tfm_file_map_open(tfm_file_map *map, const char *path, int flags, tfm_error *err)
{
    if (!map || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no file given");
    memset(map, 0, sizeof *map);
#if defined(TFM__HAVE_MMAP)
    if (!(flags & TFM_FILE_MAP_NO_MMAP)) {
        struct stat st;
        void *p;
        int fd = open(path, O_RDONLY);
        if (fd < 0) return tfm_error_set(err, TFM_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return tfm_error_set(err, TFM_ERR_IO, "'%s' is not a regular file", path);
        }
        if (st.st_size == 0) {
            close(fd);
            return tfm_error_set(err, TFM_ERR_FORMAT, "'%s' is empty", path);
        }
        if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
            close(fd);
            return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "'%s' does not fit in the address space", path);
        }
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p != MAP_FAILED) {
            map->data = (const unsigned char *)p;
            map->size = (size_t)st.st_size;
            map->is_mapped = 1;
            map->id.device = (uint64_t)st.st_dev;
            map->id.inode = (uint64_t)st.st_ino;
            map->id.known = 1;
            return TFM_OK;
        }
        /* mmap can fail on special filesystems: fall through to reading */
    }
#elif defined(TFM__HAVE_WIN32_MAP)
    /* Anything but a mappable disk file (missing, a directory, a pipe) falls through to reading, which
       says what is wrong in the C library's words, as on POSIX. The view keeps the mapping alive. */
    if (!(flags & TFM_FILE_MAP_NO_MMAP)) {
        HANDLE file = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        if (file != INVALID_HANDLE_VALUE) {
            LARGE_INTEGER size;
            HANDLE mapping = NULL;
            void *p = NULL;
            if (GetFileType(file) == FILE_TYPE_DISK && GetFileSizeEx(file, &size)) {
                if (size.QuadPart == 0) {
                    CloseHandle(file);
                    return tfm_error_set(err, TFM_ERR_FORMAT, "'%s' is empty", path);
                }
                if ((uint64_t)size.QuadPart > (uint64_t)SIZE_MAX) {
                    CloseHandle(file);
                    return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "'%s' does not fit in the address space", path);
                }
                mapping = CreateFileMappingA(file, NULL, PAGE_READONLY, 0, 0, NULL);
                if (mapping) p = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
                if (p) tfm__file_id_of_handle(file, &map->id);
            }
            if (mapping) CloseHandle(mapping);
            CloseHandle(file);
            if (p) {
                map->data = (const unsigned char *)p;
                map->size = (size_t)size.QuadPart;
                map->is_mapped = 1;
                return TFM_OK;
            }
        }
    }
#else
    (void)flags;
#endif
    {
        tfm_status s = tfm__file_read_all(map, path, err);
        if (s == TFM_OK && map->size == 0) {
            tfm_file_map_close(map);
            return tfm_error_set(err, TFM_ERR_FORMAT, "'%s' is empty", path);
        }
        return s;
    }
}

tfm_status tfm_file_writer_open(tfm_file_writer *w, const char *path, const tfm_file_id *inputs, int n_inputs,
                                tfm_error *err)
{
    tfm_file_id target;
    size_t len;
    int i;
    if (!w) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no file writer");
    memset(w, 0, sizeof *w);
    if (!path || !*path || n_inputs < 0 || (n_inputs > 0 && !inputs))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no file to write");
    target = tfm_file_identify(path);
    for (i = 0; i < n_inputs && target.known; i++)
        if (inputs[i].known && inputs[i].device == target.device && inputs[i].inode == target.inode)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                                 "'%s' is a file being read (an input): writing it would destroy it; write elsewhere",
                                 path);
    len = strlen(path);
    w->path = (char *)TFM_MALLOC(len + 1);
    w->tmp = (char *)TFM_MALLOC(len + 16);
    if (!w->path || !w->tmp) {
        tfm_file_writer_abort(w);
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(w->path, path, len + 1);
    /* beside path, so the rename stays in one directory and one file system; created exclusively ("x"),
       so a file that is there already (a stale temporary, someone else's) is never overwritten */
    for (i = 0; i < 1000 && !w->f; i++) {
        snprintf(w->tmp, len + 16, "%s.tmp%d", path, i);
        w->f = fopen(w->tmp, "wbx");
        if (!w->f && errno != EEXIST) break;
    }
    if (!w->f) {
        tfm_status s = tfm_error_set(err, TFM_ERR_IO, "cannot create '%s': %s", w->tmp, strerror(errno));
        TFM_FREE(w->path);
        TFM_FREE(w->tmp);
        memset(w, 0, sizeof *w);
        return s;
    }
    return TFM_OK;
}

void tfm_file_writer_abort(tfm_file_writer *w)
{
    if (!w) return;
    if (w->f) {
        fclose(w->f);
        remove(w->tmp);
    }
    TFM_FREE(w->path);
    TFM_FREE(w->tmp);
    memset(w, 0, sizeof *w);
}

tfm_status tfm_file_writer_commit(tfm_file_writer *w, tfm_error *err)
{
    tfm_status s = TFM_OK;
    int closed;
    if (!w || !w->f) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no file being written");
    closed = fflush(w->f) == 0 && !ferror(w->f);
    closed = fclose(w->f) == 0 && closed;
    w->f = NULL;
    if (!closed) s = tfm_error_set(err, TFM_ERR_IO, "error writing '%s': %s", w->tmp, strerror(errno));
#if defined(TFM__HAVE_MMAP)
    if (s == TFM_OK) { /* the new file keeps the permissions of the one it replaces */
        struct stat st;
        if (stat(w->path, &st) == 0) (void)chmod(w->tmp, st.st_mode & 07777); /* else the default: no error */
    }
#endif
    if (s == TFM_OK && tfm__file_replace(w->tmp, w->path) != 0)
        s = tfm_error_set(err, TFM_ERR_IO, "cannot rename '%s' to '%s': %s", w->tmp, w->path, strerror(errno));
    if (s != TFM_OK) remove(w->tmp);
    TFM_FREE(w->path);
    TFM_FREE(w->tmp);
    memset(w, 0, sizeof *w);
    return s;
}

void tfm_file_map_close(tfm_file_map *map)
{
    if (!map) return;
#if defined(TFM__HAVE_MMAP)
    if (map->is_mapped && map->data) munmap((void *)(uintptr_t)map->data, map->size);
#elif defined(TFM__HAVE_WIN32_MAP)
    if (map->is_mapped && map->data) UnmapViewOfFile(map->data);
#endif
    TFM_FREE(map->owned);
    memset(map, 0, sizeof *map);
}

/* ---------------------------------------------------------------- build facts */

static const char *const tfm__simd_paths[] = {
#if defined(TFM__SIMD_AVX512)
    "avx512",
#elif defined(TFM__SIMD_AVX2)
    "avx2",
#elif defined(TFM__SIMD_NEON) && defined(__ARM_FEATURE_DOTPROD)
    "neon_dotprod",
#elif defined(TFM__SIMD_NEON)
    "neon",
#else
    "scalar",
#endif
#if defined(TFM__DISPATCH)
    "avx2", "avx512"
#elif defined(TFM__DISPATCH_DOTPROD)
    "neon_dotprod"
#endif
};
#define TFM__SIMD_NPATHS ((int)(sizeof tfm__simd_paths / sizeof tfm__simd_paths[0]))

/* whether the CPU runs path p (the build's own: yes) */
static int tfm__simd_runs(int p)
{
#if defined(TFM__DISPATCH)
    if (p == 1) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (p == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
#elif defined(TFM__DISPATCH_DOTPROD)
    if (p == 1) return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    return p == 0;
}

/* the path a name selects; -1 for an unknown or unusable one, the best usable for NULL, "" or "auto" */
static int tfm__simd_find(const char *name)
{
    int p;
    if (!name || !*name || !strcmp(name, "auto")) {
        for (p = TFM__SIMD_NPATHS - 1; p > 0 && !tfm__simd_runs(p); p--) continue;
        return p;
    }
    for (p = 0; p < TFM__SIMD_NPATHS; p++)
        if (!strcmp(name, tfm__simd_paths[p])) return tfm__simd_runs(p) ? p : -1;
    return -1;
}

/* The dispatched path, chosen once at first use: TFM_SIMD if it names a usable path, else the best
   (threads that race here all compute and store the same value). */
static int tfm__simd_chosen = -1;

int tfm__simd_path(void)
{
#if defined(TFM__DISPATCH) || defined(TFM__DISPATCH_DOTPROD)
    if (tfm__simd_chosen < 0) {
        int p = tfm__simd_find(getenv("TFM_SIMD"));
        tfm__simd_chosen = p >= 0 ? p : tfm__simd_find(NULL);
    }
    return tfm__simd_chosen;
#else
    return 0;
#endif
}

tfm_status tfm_simd_select(const char *name)
{
    const int p = tfm__simd_find(name);
    if (p < 0) return TFM_ERR_UNSUPPORTED;
    tfm__simd_chosen = p;
    return TFM_OK;
}

const char *tfm_simd_name(void) { return tfm__simd_paths[tfm__simd_path()]; }

/* The hard cap of a kernel's thread count; tfm_max_threads() is the cap of a context's. */
#if defined(TFM_MAX_THREADS)
#define TFM__THREAD_CAP TFM_MAX_THREADS
#else
#define TFM__THREAD_CAP 1024
#endif

int tfm_max_threads(void)
{
#if defined(_OPENMP) && defined(TFM_MAX_THREADS)
    return TFM_MAX_THREADS > 0 ? TFM_MAX_THREADS : 1;
#elif defined(_OPENMP)
    int procs = omp_get_num_procs(), limit = omp_get_thread_limit();
    if (procs > limit) procs = limit;
    return procs < 1 ? 1 : procs > TFM__THREAD_CAP ? TFM__THREAD_CAP : procs;
#else
    return 1;
#endif
}

int tfm_default_threads(void)
{
#if defined(_OPENMP)
    int n = omp_get_max_threads(), most = tfm_max_threads();
    return n < 1 ? 1 : n > most ? most : n;
#else
    return 1;
#endif
}

/* A kernel's thread count: n_threads <= 0 is the default, anything above TFM__THREAD_CAP that cap. */
static int tfm__threads(int n_threads)
{
    if (n_threads <= 0) return tfm_default_threads();
    return n_threads > TFM__THREAD_CAP ? TFM__THREAD_CAP : n_threads;
}

/* ---------------------------------------------------------------- the f32 kernels
   Written once in tfm_tensor_kernels.h against the vector layer, compiled for the build's instruction set
   and, in a portable x86-64 build, for each one it dispatches to (RUN-TIME DISPATCH); the public
   functions below check their arguments and call the kernel of the path that runs through TFM__F32K: a
   direct call in a build without dispatch, one indirect call through the chosen path's table in one with. */

/* Weight rows streamed from memory: the hardware prefetcher alone keeps too few lines in flight
   when a step consumes half a line per row (f16, bf16), so each row is also prefetched this far
   ahead, once per cache line, while that stays inside the row. */
#define TFM__ROW_PREFETCH_BYTES 1024

/* A macro: gcc 12 drops these prefetches when they sit in an inline function. */
#define TFM__PREFETCH_ROWS4(w0, w1, w2, w3, elem, i, n)                                                      \
    do {                                                                                                       \
        size_t at_ = (i) * (elem) + TFM__ROW_PREFETCH_BYTES;                                                   \
        if ((((i) * (elem)) & 63) == 0 && at_ < (n) * (elem)) {                                                \
            TFM__PREFETCH((const unsigned char *)(w0) + at_, 3);                                               \
            TFM__PREFETCH((const unsigned char *)(w1) + at_, 3);                                               \
            TFM__PREFETCH((const unsigned char *)(w2) + at_, 3);                                               \
            TFM__PREFETCH((const unsigned char *)(w3) + at_, 3);                                               \
        }                                                                                                      \
    } while (0)

/* gemm:
   Y[m][n] = X[m][k] W[n][k]^T, BLIS-style. The output is computed in MR x NR register tiles
   (MR rows of X, NR = NV vectors of W rows): each step p of the k loop broadcasts MR values of X,
   loads NV vectors of packed W and does MR * NV independent FMAs (AVX-512: 8 x 48, 24 of the 32
   registers accumulate, 24 FMAs against 11 loads a step).
   - X is packed in micro-panels of MR rows, each row a plain copy of KC values (rows TFM__GEMM_KCP
     apart, so the kernel addresses row i at a constant offset).
   - W is packed (and converted to f32) in micro-panels of NR rows transposed to [KC][NR], so a step
     loads NR consecutive outputs' weights; the transpose goes through registers in blocks.
   - Loops: X block (MB rows) > k block (KC) > W block > X micro-panel > W micro-panel. When X is
     small (the prefill shape) its packed block stays in L2 and W blocks are two micro-panels (in
     L1); when X is large, W blocks are wide (~800 KiB, in L2) and each X micro-panel sits in L1.
   - While a W block computes, the micro-kernel prefetches the raw rows of the next one, a line every
     fourth k step, so packing reads cache and the weights' memory traffic overlaps arithmetic.
   Each output element is one FMA chain per k block, added to Y in k-block order, so results do not
   depend on the thread count: threads split the output columns (W rows) in NR-aligned ranges. */

#define TFM__GEMM_KC 384                      /* an X micro-panel (8 x 384 floats, 12 KiB) stays in L1 */
#define TFM__GEMM_KCP (TFM__GEMM_KC + 16)     /* X row stride in a micro-panel: not a multiple of 4 KiB */
#define TFM__GEMM_X_IN_L2 512 /* up to this many X rows the packed X block stays in L2 */
#define TFM__GEMM_SMALL_M 4   /* up to this many X rows, tfm__k_gemm_small */

/* Walks the rows of the W block packed next, one cache line per step, so that the micro-kernel can
   spread prefetches of it over its k loop: the block then comes from cache when it is packed,
   while its memory traffic overlaps this block's arithmetic. */
typedef struct tfm__gemm_prefetch {
    const unsigned char *base; /* the block's first byte in its first row */
    size_t row_bytes, span;    /* row stride, bytes of each row in the block */
    size_t offset;
    int rows, row;
    int per_call, budget;      /* lines for each micro-kernel call, and left for the current one */
} tfm__gemm_prefetch;

static int tfm__min_int(int a, int b) { return a < b ? a : b; }

static int tfm__round_up(int a, int b) { return (a + b - 1) / b * b; }

/* Aims the prefetcher at the W block [w0, w0 + rows) x [p0, p0 + KC) (none when p0 >= k), to be
   spread over `calls` micro-kernel calls. */
static void tfm__gemm_prefetch_init(tfm__gemm_prefetch *pf, const unsigned char *w, size_t row_bytes, int k, int w0,
                                    int rows, int p0, int calls)
{
    size_t elem = row_bytes / (size_t)k, lines;
    memset(pf, 0, sizeof *pf);
    if (p0 >= k || rows <= 0) return;
    pf->base = w + (size_t)w0 * row_bytes + (size_t)p0 * elem;
    pf->row_bytes = row_bytes;
    pf->span = (size_t)tfm__min_int(k - p0, TFM__GEMM_KC) * elem;
    pf->rows = rows;
    lines = (size_t)rows * ((pf->span + 63) / 64);
    pf->per_call = (int)((lines + (size_t)calls - 1) / (size_t)calls);
}

/* The f32 kernels of one instruction set */
typedef struct tfm__f32k {
    int gemm_nr; /* the width of gemm's register tile: threads split the output columns in multiples of it */
    float (*dot)(const float *a, const float *b, size_t n);
    void (*axpy)(float *y, float alpha, const float *x, size_t n);
    void (*scale)(float *y, float alpha, size_t n);
    void (*add)(float *out, const float *a, const float *b, size_t n);
    void (*mul)(float *out, const float *a, const float *b, size_t n);
    void (*silu)(float *out, const float *x, size_t n);
    void (*gelu_tanh)(float *out, const float *x, size_t n);
    void (*gelu_erf)(float *out, const float *x, size_t n);
    void (*swiglu)(float *out, const float *gate, const float *up, size_t n);
    void (*softcap)(float *x, size_t n, float cap);
    void (*softmax)(float *x, size_t n);
    void (*rmsnorm)(float *out, const float *x, const float *weight, size_t n, float eps);
    void (*layernorm)(float *out, const float *x, const float *weight, const float *bias, size_t n, float eps);
    void (*f16_to_f32_row)(float *out, const uint16_t *in, size_t n);
    void (*f32_to_f16_row)(uint16_t *out, const float *in, size_t n);
    void (*bf16_to_f32_row)(float *out, const uint16_t *in, size_t n);
    void (*f32_to_bf16_row)(uint16_t *out, const float *in, size_t n);
    void (*gemv_rows)(float *y, tfm_dtype wtype, const unsigned char *w, size_t row_bytes, const float *x, int row_begin,
                      int row_end, int cols);
    void (*gemm_small)(float *y, size_t ldy, const float *x, size_t ldx, int m, tfm_dtype wtype, const unsigned char *w,
                       size_t row_bytes, int row_begin, int row_end, int k);
    tfm_status (*gemm_columns)(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype, const unsigned char *w,
                               size_t row_bytes, int m, int n_begin, int n_end, int k);
} tfm__f32k;

#define TFM__PN(name) name
#include "tfm_tensor_kernels.h"
#undef TFM__PN
#if defined(TFM__DISPATCH)
#include "tfm_simd_pass.h"
#include "tfm_simd.h"
#include "tfm_tensor_kernels.h"
#include "tfm_simd_pass.h"
#include "tfm_simd.h"
#include "tfm_tensor_kernels.h"
#include "tfm_simd_pass.h"
static const tfm__f32k *const tfm__f32k_paths[] = {&tfm__f32k_table, &tfm__f32k_table_avx2, &tfm__f32k_table_avx512};
/* the kernel of the path that runs: the path read from where tfm__simd_path keeps it once chosen */
#define TFM__F32K(name) (tfm__f32k_paths[tfm__simd_chosen >= 0 ? tfm__simd_chosen : tfm__simd_path()]->name)
#else
#define TFM__F32K(name) (tfm__f32k_table.name)
#endif

/* ---------------------------------------------------------------- elementwise kernels */

float tfm_dot(const float *a, const float *b, size_t n) { return TFM__F32K(dot)(a, b, n); }
void tfm_axpy(float *y, float alpha, const float *x, size_t n) { TFM__F32K(axpy)(y, alpha, x, n); }
void tfm_scale(float *y, float alpha, size_t n) { TFM__F32K(scale)(y, alpha, n); }
void tfm_add(float *out, const float *a, const float *b, size_t n) { TFM__F32K(add)(out, a, b, n); }
void tfm_mul(float *out, const float *a, const float *b, size_t n) { TFM__F32K(mul)(out, a, b, n); }
void tfm_silu(float *out, const float *x, size_t n) { TFM__F32K(silu)(out, x, n); }
void tfm_gelu_tanh(float *out, const float *x, size_t n) { TFM__F32K(gelu_tanh)(out, x, n); }
void tfm_gelu_erf(float *out, const float *x, size_t n) { TFM__F32K(gelu_erf)(out, x, n); }
void tfm_swiglu(float *out, const float *gate, const float *up, size_t n) { TFM__F32K(swiglu)(out, gate, up, n); }
void tfm_softcap(float *x, size_t n, float cap) { TFM__F32K(softcap)(x, n, cap); }
void tfm_f16_to_f32_row(float *out, const uint16_t *in, size_t n) { TFM__F32K(f16_to_f32_row)(out, in, n); }
void tfm_f32_to_f16_row(uint16_t *out, const float *in, size_t n) { TFM__F32K(f32_to_f16_row)(out, in, n); }
void tfm_bf16_to_f32_row(float *out, const uint16_t *in, size_t n) { TFM__F32K(bf16_to_f32_row)(out, in, n); }
void tfm_f32_to_bf16_row(uint16_t *out, const float *in, size_t n) { TFM__F32K(f32_to_bf16_row)(out, in, n); }

/* tfm_softmax for callers that know x is there and n >= 1 (nothing to report, so no status to drop). */
static void tfm__softmax(float *x, size_t n) { TFM__F32K(softmax)(x, n); }

tfm_status tfm_softmax(float *x, size_t n)
{
    if (!x || n == 0) return TFM_ERR_INVALID_ARGUMENT;
    tfm__softmax(x, n);
    return TFM_OK;
}

tfm_status tfm_rmsnorm(float *out, const float *x, const float *weight, size_t n, float eps)
{
    if (!out || !x || n == 0) return TFM_ERR_INVALID_ARGUMENT;
    TFM__F32K(rmsnorm)(out, x, weight, n, eps);
    return TFM_OK;
}

tfm_status tfm_layernorm(float *out, const float *x, const float *weight, const float *bias, size_t n, float eps)
{
    if (!out || !x || n == 0) return TFM_ERR_INVALID_ARGUMENT;
    TFM__F32K(layernorm)(out, x, weight, bias, n, eps);
    return TFM_OK;
}

/* Two passes without a branch on the values: the largest (eight running maxima, NaN never greater),
   then the first index holding it (== makes -0 and +0 one value, as > did) */
size_t tfm_argmax(const float *x, size_t n)
{
    float m[8], best;
    size_t i, k;
    for (k = 0; k < 8; k++) m[k] = -INFINITY;
    for (i = 0; i + 8 <= n; i += 8)
        for (k = 0; k < 8; k++) m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    best = m[0];
    for (k = 1; k < 8; k++) best = m[k] > best ? m[k] : best;
    for (i = 0; i < n; i++)
        if (x[i] == best) return i;
    return 0; /* empty, or all NaN */
}

/* Pair (first, second) of each head turned by the angle whose cosine and sine are c, s. */
static void tfm__rope_pair(float *x, int n_heads, int head_dim, int first, int second, float c, float s)
{
    int h;
    for (h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * (size_t)head_dim;
        float a = v[first], b = v[second];
        v[first] = a * c - b * s;
        v[second] = a * s + b * c;
    }
}

static int tfm__rope_args_ok(const float *x, int n_heads, int head_dim, int rot_dim, tfm_rope_mode mode)
{
    return x && n_heads > 0 && head_dim > 0 && rot_dim > 0 && rot_dim <= head_dim && !(rot_dim & 1) &&
           (mode == TFM_ROPE_NORMAL || mode == TFM_ROPE_NEOX);
}

tfm_status tfm_rope(float *x, int n_heads, int head_dim, int rot_dim, int pos, float base, tfm_rope_mode mode)
{
    int i;
    if (!tfm__rope_args_ok(x, n_heads, head_dim, rot_dim, mode) || pos < 0 || !(base > 0.0f))
        return TFM_ERR_INVALID_ARGUMENT;
    for (i = 0; i < rot_dim / 2; i++) {
        /* the angle in double: positions reach 1e5 and more, where a float angle loses digits */
        double theta = (double)pos * pow((double)base, -2.0 * i / (double)rot_dim);
        tfm__rope_pair(x, n_heads, head_dim, mode == TFM_ROPE_NORMAL ? 2 * i : i,
                       mode == TFM_ROPE_NORMAL ? 2 * i + 1 : i + rot_dim / 2, (float)cos(theta), (float)sin(theta));
    }
    return TFM_OK;
}

tfm_status tfm_rope_rotate(float *x, int n_heads, int head_dim, int rot_dim, const float *cs, tfm_rope_mode mode)
{
    int i;
    if (!tfm__rope_args_ok(x, n_heads, head_dim, rot_dim, mode) || !cs) return TFM_ERR_INVALID_ARGUMENT;
    for (i = 0; i < rot_dim / 2; i++)
        tfm__rope_pair(x, n_heads, head_dim, mode == TFM_ROPE_NORMAL ? 2 * i : i,
                       mode == TFM_ROPE_NORMAL ? 2 * i + 1 : i + rot_dim / 2, cs[2 * i], cs[2 * i + 1]);
    return TFM_OK;
}

/* ---------------------------------------------------------------- gemv, gemm */

static int tfm__is_float_weight(tfm_dtype t)
{
    return t == TFM_F32 || t == TFM_F16 || t == TFM_BF16;
}

tfm_status tfm_gemv(float *y, tfm_dtype wtype, const void *w, const float *x, int rows, int cols, int n_threads)
{
    size_t elem = tfm_dtype_block_bytes(wtype);
    size_t row_bytes = elem * (size_t)cols;
    int chunks, c;
    const int rows_per_chunk = 64;
    if (!y || !w || !x || rows <= 0 || cols <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!tfm__is_float_weight(wtype)) return TFM_ERR_UNSUPPORTED;
    n_threads = tfm__threads(n_threads);
    /* below ~1 MiB of f32 weights a second thread saves a few microseconds, and on a busy machine
       waiting for it to be scheduled can cost milliseconds */
    if ((size_t)rows * (size_t)cols < ((size_t)1 << 18)) n_threads = 1;
    chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
    TFM__PARALLEL_FOR(n_threads)
    for (c = 0; c < chunks; c++) {
        int begin = c * rows_per_chunk;
        int end = begin + rows_per_chunk < rows ? begin + rows_per_chunk : rows;
        TFM__F32K(gemv_rows)(y, wtype, (const unsigned char *)w, row_bytes, x, begin, end, cols);
    }
    return TFM_OK;
}

tfm_status tfm_gemm(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype, const void *w, int m, int n,
                    int k, int n_threads)
{
    size_t row_bytes;
    int t, panels, chunks, nr;
    tfm_status status = TFM_OK;
    if (!y || !x || !w || m <= 0 || n <= 0 || k <= 0 || ldx < (size_t)k || ldy < (size_t)n)
        return TFM_ERR_INVALID_ARGUMENT;
    if (!tfm__is_float_weight(wtype)) return TFM_ERR_UNSUPPORTED;
    row_bytes = tfm_dtype_block_bytes(wtype) * (size_t)k;
    n_threads = tfm__threads(n_threads);
    nr = TFM__F32K(gemm_nr);
    panels = (n + nr - 1) / nr;
    chunks = n_threads < panels ? n_threads : panels;
    if ((double)m * n * k < 4e6) chunks = 1; /* under ~50 us of work: see tfm_gemv */
    /* threads take NR-aligned ranges of output columns and share nothing but X, read-only */
    TFM__PARALLEL_FOR(chunks)
    for (t = 0; t < chunks; t++) {
        int begin = (int)((long long)panels * t / chunks) * nr;
        int end = tfm__min_int((int)((long long)panels * (t + 1) / chunks) * nr, n);
        const unsigned char *wb = (const unsigned char *)w;
        tfm_status s = TFM_OK;
        if (m == 1) TFM__F32K(gemv_rows)(y, wtype, wb, row_bytes, x, begin, end, k);
        else if (m <= TFM__GEMM_SMALL_M) TFM__F32K(gemm_small)(y, ldy, x, ldx, m, wtype, wb, row_bytes, begin, end, k);
        else s = TFM__F32K(gemm_columns)(y, ldy, x, ldx, wtype, wb, row_bytes, m, begin, end, k);
        if (s != TFM_OK) {
#if defined(_OPENMP)
#pragma omp critical(tfm_gemm_status)
#endif
            status = s;
        }
    }
    return status;
}

tfm_status tfm_matmul(tfm_tensor *y, const tfm_tensor *w, const tfm_tensor *x, int n_threads)
{
    int64_t m, n, k;
    if (!y || !w || !x || !y->data || !w->data || !x->data) return TFM_ERR_INVALID_ARGUMENT;
    if (y->dtype != TFM_F32 || x->dtype != TFM_F32) return TFM_ERR_UNSUPPORTED;
    if (w->n_dims > 2 || x->n_dims > 2 || y->n_dims > 2) return TFM_ERR_SHAPE;
    k = w->ne[0];
    n = w->ne[1];
    m = x->ne[1];
    if (x->ne[0] != k || y->ne[0] != n || y->ne[1] != m) return TFM_ERR_SHAPE;
    if (!tfm_tensor_is_contiguous(w) || x->nb[0] != sizeof(float) || y->nb[0] != sizeof(float))
        return TFM_ERR_SHAPE;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return TFM_ERR_OUT_OF_RANGE;
    if (m == 1) return tfm_gemv((float *)y->data, w->dtype, w->data, (const float *)x->data, (int)n, (int)k, n_threads);
    return tfm_gemm((float *)y->data, y->nb[1] / sizeof(float), (const float *)x->data, x->nb[1] / sizeof(float),
                    w->dtype, w->data, (int)m, (int)n, (int)k, n_threads);
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

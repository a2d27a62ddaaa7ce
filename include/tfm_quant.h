/* tfm_quant.h - GGML-compatible block quantization and int8 kernels for tfm.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     Block formats with GGML's exact byte layouts (so GGUF tensors load unchanged and ours load in
     llama.cpp): Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, the k-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
     IQ4_XS, and the activation formats Q8_1 and Q8_K they pair with. Quantize (f32 -> blocks, rounding
     as llama.cpp's quantizers do, byte for byte), dequantize, whole-matrix quantization; quantized dot
     products, gemv and gemm whose activations are quantized on the fly and whose products run in int8
     (AVX-512 VNNI, AVX-VNNI, AVX2, NEON dot product, scalar). (The int8 KV-cache rows live with the KV
     cache, in tfm_attention.h.)

   USAGE
     #define TFM_IMPLEMENTATION in one file before including (it implements tfm_tensor.h too).
     tfm_quant_gemv / tfm_quant_gemm take the same arguments as tfm_gemv / tfm_gemm and accept every
     supported weight dtype (f32, f16, bf16 are forwarded to tfm_gemv / tfm_gemm), so a model calls them
     for every weight matrix whatever its type.

   THE FORMATS (little-endian; "fp16" is IEEE binary16, elements numbered 0..block-1; the structs below)
     q8_0  34 B / 32: fp16 d, int8 q[32]; x = d*q.
     q8_1  36 B / 32: fp16 d, fp16 s = d*sum(q), int8 q[32]; x = d*q. (activations of q4_1, q5_1)
     q4_0  18 B / 32: fp16 d, 16 bytes; element j is the low nibble of byte j, element j+16 the high
           nibble; x = d*(q-8).
     q4_1  20 B / 32: fp16 d, fp16 m, nibbles as q4_0; x = d*q + m.
     q5_0  22 B / 32: fp16 d, 32-bit qh (bit j: the fifth bit of element j), nibbles as q4_0; x = d*(q-16).
     q5_1  24 B / 32: fp16 d, fp16 m, qh, nibbles as q5_0; x = d*q + m.
     iq4_nl 18 B / 32: fp16 d, nibbles as q4_0; x = d*K[q], K = -127 -104 -83 -65 -49 -35 -22 -10 1 13 25
           38 53 69 89 113.
     q2_k  84 B / 256: scales[16] (low nibble sc, high nibble mn, per 16 elements), qs[64], fp16 d, dmin.
           Element 128h+32s+l (l < 32) is bits 2s..2s+1 of qs[32h+l]; x = d*sc*q - dmin*mn.
     q3_k 110 B / 256: hmask[32], qs[64], 12 bytes of sixteen 6-bit scales (+32), fp16 d. Low 2 bits as
           q2_k, the third is bit e/32 of hmask[e%32]; scale j: low 4 bits in byte j%8 (high nibble for
           j >= 8), top 2 at bits 2(j/4) of byte 8+j%4; x = d*(sc-32)*(q-4).
     q4_k 144 B / 256: fp16 d, fp16 dmin, 12 bytes of eight 6-bit scales sc and mins mn, 128 bytes of
           nibbles. Sub-block j (32 elements): for j < 4, sc = b[j] & 63, mn = b[j+4] & 63; for j >= 4,
           sc = (b[j+4] & 15) | (b[j-4] >> 6) << 4, mn = (b[j+4] >> 4) | (b[j] >> 6) << 4. Bytes 32c..32c+31
           hold elements 64c+l in their low nibbles and 64c+32+l in their high nibbles; x = d*sc*q - dmin*mn.
     q5_k 176 B / 256: fp16 d, dmin, scales as q4_k, qh[32], nibbles as q4_k; element 32j+l's fifth bit
           is bit j of qh[l]; x = d*sc*q - dmin*mn.
     q6_k 210 B / 256: ql[128], qh[64], int8 scales[16], fp16 d. In each half h (128 elements, ql+64h,
           qh+32h), for l < 32: element l = ql[l] low | (qh[l] bits 0-1) << 4, element l+32 = ql[l+32] low
           | bits 2-3, element l+64 = ql[l] high | bits 4-5, element l+96 = ql[l+32] high | bits 6-7;
           x = d * scales[e/16] * (q-32).
     iq4_xs 136 B / 256: fp16 d, uint16 scales_h, scales_l[4], qs[128]; sub-block j (32 elements, qs+16j,
           nibbles as q4_0) has ls = (scales_l[j/2] >> 4(j%2)) & 15 | ((scales_h >> 2j) & 3) << 4;
           x = d*(ls-32)*K[q].
     q8_k 292 B / 256: float d, int8 q[256], int16 bsums[16] (sums of each 16 q's); x = d*q.

   ROUNDING (llama.cpp's quantizers as llama-quantize runs them, with no importance matrix)
     q8_0, q8_1: d = amax/127, q = roundf(x/d) (ties away from zero), with x/d computed as x*(1/d).
     q4_0, q5_0: d = v/-8 (v/-16) where v is the first element of largest magnitude (sign kept), q =
           min(15 (31), trunc(x*(1/d) + 8.5 (16.5))). q4_1, q5_1: d = (max-min)/15 (31), m = min,
           q = trunc((x-min)*(1/d) + 0.5), at most 15 (31).
     q4_k, q5_k: per sub-block, make_qkx2_quants (weights sqrt(mean x^2) + |x|; 21 or 16 candidate
           scales) finds scale and min; they are quantized to 6 bits against their maxima, then every
           element is re-quantized with the stored scales. q2_k: the same per 16 elements with weights
           |x|, absolute error, 4-bit scales and mins.
     q3_k: per 16 elements make_q3_quants (a scale refined by moving single levels), 6-bit scales
           against the largest in magnitude, every element re-quantized.
     q6_k: per 16 elements, make_qx_quants (rmse_type 1, 19 candidate scales); the scales are
           quantized to int8 against the largest, then every element is re-quantized.
     iq4_nl, iq4_xs: quantize_row_iq4_nl_impl with 15 candidate scales per 32 elements (weights x^2);
           iq4_xs quantizes those to 6 bits against the largest.
     q8_k: q = min(127, nearest(x * -127/v)) with v as in q4_0, d = 1/(-127/v).
     Every weight type equals llama.cpp's bytes (tests/test_quant.c hashes llama.cpp's blocks) when
     a * b + c rounds twice, as llama.cpp builds these functions: this file keeps it so under gcc and
     g++ (optimize pragma) and clang (STDC FP_CONTRACT). Non-finite inputs give unspecified but safe
     output (no undefined behaviour).

   KERNELS
     Activations are quantized per row to tfm_quant_vec_dot_type(wtype): q8_0 for q8_0, q4_0, q5_0,
     iq4_nl weights, q8_1 for q4_1, q5_1 (its sum term carries the minimum), q8_k for the k-quants and
     iq4_xs, as GGML does. Each block's (or super-block's) integer dot product is computed exactly in
     int32 (with sub-block scales: sum of sc_j times sub-block j's dot); the row result is then
     accumulated in one fixed order: acc = fma((float)isum_b, dw_b*dx_b, acc) over the blocks b (plus
     acc = fma(m_b, s_b, acc) for q4_1, q5_1 and acc = fma(-(float)msum_b, dmin_b*dx_b, acc) for q2_k,
     q4_k, q5_k, msum the sum of mn_j times sub-block j's activation sum). Every path (scalar, AVX2, AVX-512, NEON) and every kernel shape (gemv, gemm, vec_dot)
     follows that order, so results are identical bit for bit across paths, thread counts and batch
     sizes: a row of a gemm equals the gemv of that row.
     One design serves every type and path: 16 weight rows at a time, 4 bytes of each row per 32-bit
     lane, so that one byte-dot instruction (vpdpbusd, maddubs + madd, sdot) against 4 broadcast
     activation bytes advances all 16 rows, and each lane ends a block holding its row's exact isum: no
     shuffles, no reductions. The 16 rows come from the packed layout (below; aligned loads) or straight
     from GGML rows (gathered). Per type there is only a row of a table (block shape, activation type,
     zero point, which fp16 field does what) and a decoder that turns the block's bytes into unsigned
     levels, one byte per element, and its integer sub-block scales, as GGML's own code reads them but
     16 rows at once. A gemv decodes as it goes; so does a gemm of 2 to 8 rows (a decode step of a few
     sequences), each decoded block dotted with 4 activation rows at once; a gemm of more rows decodes
     each 16-row tile once per 1024 columns and runs 4 activation rows at a time over it. Either way
     the weights are read once per call. The lanes are TFM__VF_N wide (16 AVX-512, 8 AVX2, 4 NEON, 1
     scalar): a 16-row tile is 1 to 16 lane groups.

   PACKED WEIGHTS (tfm_quant_pack: every weight type, every build)
     A row-tile of 16 rows holds first the fp16 fields of its blocks (16 rows x 2 bytes each), then the
     rest of each block, its body, word by word: a 64-byte vector whose lane r is row r's 4 bytes. It is
     as long as the 16 rows it came from (plus at most 63 bytes). A model that calls tfm_quant_pack
     once per weight matrix at load and then tfm_quant_packed_gemv / tfm_quant_packed_gemm gets the
     same results bit for bit as tfm_quant_gemv / tfm_quant_gemm on the GGML rows, faster (aligned
     loads instead of gathers, the next tile prefetched as one stream); the cost is one more copy of
     each packed matrix, and the original can be dropped unless its rows are read elsewhere.

   SPEED
     A decode step reads every weight once, so a gemv is memory-bound only if its in-cache rate is
     well above the read bandwidth (one core does not fully overlap compute and its reads): the
     kernels prefetch the next tile into L2 a block's share at a time. tfm_quant_pack's copies are
     aligned to 2 MiB and advised as huge pages (Linux), so that the stream does not miss the TLB every
     4 KiB. README has the measurements.

   THREADS
     n_threads splits a gemv's (or gemm's) 16-row tiles in equal shares, but only above 512K
     multiply-adds (TFM__GEMV_MIN_WEIGHTS): below, one thread's work is shorter than waking a second
     one. A caller running its own thread team (a model, one team per step) passes 1 and gives each
     thread a row range (tfm_quant_packed_gemv takes r0, r1; for plain rows, offset the pointer);
     ranges on multiples of 16 rows waste nothing.

   SCRATCH
     tfm_quant_gemv quantizes x into a buffer on the stack (about 24 KB) when cols <=
     TFM_QUANT_STACK_COLS (16384), and allocates it otherwise (so do tfm_quant_packed_gemv and
     tfm_quant_vec_dot). tfm_quant_gemm allocates its workspace per call; a model that must not
     allocate uses tfm_quant_gemm_ws (or tfm_quant_packed_gemm) with a buffer of
     tfm_quant_workspace_size(wtype, m, k) bytes (m = 1 is a gemv), e.g. carved once from its arena.
     A gemm decodes its tiles into 28 KB of stack per thread; tfm_dequantize_row uses the same.

   OPTIONS: those of tfm_tensor.h.
*/
#ifndef TFM_QUANT_H
#define TFM_QUANT_H

#include "tfm_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TFM_QK 32    /* elements per block of the legacy formats */
#define TFM_QK_K 256 /* elements per super-block of the k-quants */
#define TFM_QUANT_STACK_COLS 16384

/* The blocks, byte for byte GGML's. fp16 fields hold raw bits. */
typedef struct tfm_block_q8_0 { uint16_t d; int8_t qs[TFM_QK]; } tfm_block_q8_0;
typedef struct tfm_block_q8_1 { uint16_t d, s; int8_t qs[TFM_QK]; } tfm_block_q8_1;
typedef struct tfm_block_q4_0 { uint16_t d; uint8_t qs[TFM_QK / 2]; } tfm_block_q4_0;
typedef struct tfm_block_q4_1 { uint16_t d, m; uint8_t qs[TFM_QK / 2]; } tfm_block_q4_1;
typedef struct tfm_block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[TFM_QK / 2]; } tfm_block_q5_0;
typedef struct tfm_block_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[TFM_QK / 2]; } tfm_block_q5_1;
typedef struct tfm_block_iq4_nl { uint16_t d; uint8_t qs[TFM_QK / 2]; } tfm_block_iq4_nl;
typedef struct tfm_block_q2_K { uint8_t scales[TFM_QK_K / 16]; uint8_t qs[TFM_QK_K / 4]; uint16_t d, dmin; } tfm_block_q2_K;
typedef struct tfm_block_q3_K { uint8_t hmask[TFM_QK_K / 8]; uint8_t qs[TFM_QK_K / 4]; uint8_t scales[12]; uint16_t d; } tfm_block_q3_K;
typedef struct tfm_block_q4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[TFM_QK_K / 2]; } tfm_block_q4_K;
typedef struct tfm_block_q5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[TFM_QK_K / 8]; uint8_t qs[TFM_QK_K / 2]; } tfm_block_q5_K;
typedef struct tfm_block_q6_K { uint8_t ql[TFM_QK_K / 2]; uint8_t qh[TFM_QK_K / 4]; int8_t scales[TFM_QK_K / 16]; uint16_t d; } tfm_block_q6_K;
typedef struct tfm_block_iq4_xs { uint16_t d, scales_h; uint8_t scales_l[TFM_QK_K / 64]; uint8_t qs[TFM_QK_K / 2]; } tfm_block_iq4_xs;
typedef struct tfm_block_q8_K { float d; int8_t qs[TFM_QK_K]; int16_t bsums[TFM_QK_K / 16]; } tfm_block_q8_K;

/* 1 if tfm_quantize_row / tfm_dequantize_row handle the dtype: f32 f16 bf16, every weight type (q8_0
   q4_0 q4_1 q5_0 q5_1 iq4_nl q2_k q3_k q4_k q5_k q6_k iq4_xs) and the activation types q8_1 q8_k. */
TFM_API int tfm_quant_supported(tfm_dtype type);
/* f32 -> n elements of `type` in dst (tfm_dtype_row_bytes(type, n) bytes). TFM_ERR_SHAPE if n is not a
   multiple of the block size, TFM_ERR_UNSUPPORTED for other dtypes, TFM_ERR_INVALID_ARGUMENT on NULL
   or n == 0. */
TFM_API tfm_status tfm_quantize_row(tfm_dtype type, const float *src, void *dst, size_t n);
/* n elements of `type` -> f32; same errors. */
TFM_API tfm_status tfm_dequantize_row(tfm_dtype type, const void *src, float *dst, size_t n);
/* A rows x cols f32 matrix -> rows rows of `type`, rows split across threads. */
TFM_API tfm_status tfm_quantize(tfm_dtype type, const float *src, void *dst, size_t rows, size_t cols, int n_threads);

/* The activation dtype a weight dtype's dot product pairs with (q8_0, q8_1 or q8_k); TFM_F32 for
   f32/f16/bf16; TFM_DTYPE_COUNT (no dtype) for dtypes without kernels. */
TFM_API tfm_dtype tfm_quant_vec_dot_type(tfm_dtype wtype);
/* *out = the dot of n weights (a row of wtype) with n activations already quantized to
   tfm_quant_vec_dot_type(wtype) (their int8 values must lie in [-127, 127], as the quantizers make). */
TFM_API tfm_status tfm_quant_vec_dot(tfm_dtype wtype, const void *w, const void *xq, size_t n, float *out);

/* y[rows] = W[rows][cols] x[cols] for any supported weight dtype; cols must be a multiple of the
   block size (TFM_ERR_SHAPE). Rows are split across threads. */
TFM_API tfm_status tfm_quant_gemv(float *y, tfm_dtype wtype, const void *w, const float *x, int rows, int cols,
                                  int n_threads);
/* Y[m][n] = X[m][k] W[n][k]^T (X rows ldx floats apart, Y rows ldy apart) for any supported weight
   dtype. The X rows are quantized once; each weight tile is then reused across all m rows, so the
   weights are read once per call. Allocates its workspace per call. */
TFM_API tfm_status tfm_quant_gemm(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype, const void *w,
                                  int m, int n, int k, int n_threads);
/* Bytes of workspace tfm_quant_gemm_ws needs for m rows of k activations against wtype weights
   (0 for float dtypes, which need none; 0 also for an unsupported dtype or bad sizes). */
TFM_API size_t tfm_quant_workspace_size(tfm_dtype wtype, int m, int k);
/* tfm_quant_gemm with caller-provided workspace (64-byte alignment not required): never allocates
   for quantized dtypes. TFM_ERR_INVALID_ARGUMENT if ws_bytes < tfm_quant_workspace_size(wtype, m, k). */
TFM_API tfm_status tfm_quant_gemm_ws(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype,
                                     const void *w, int m, int n, int k, int n_threads, void *ws, size_t ws_bytes);

/* ---- packed weights: a load-time repack for the int8 kernels
   A matrix of any weight type's rows, repacked once into a tfm-private layout (16 rows interleaved per
   block, see PACKED WEIGHTS above) that the kernels read with aligned loads; the results equal
   tfm_quant_gemv / tfm_quant_gemm on the original rows bit for bit. Memory: one more copy of the matrix
   (the original's size, plus at most 63 bytes per 16 rows), owned by the caller; the original may be
   freed or unmapped afterwards unless something else reads its rows (an embedding table, a tied
   classifier's lookups). */
typedef struct tfm_quant_packed {
    tfm_dtype dtype; /* of the original rows */
    int rows, cols;
    size_t bytes;    /* of data */
    void *data;      /* the layout, 64-byte aligned (huge pages where the system has them; tfm_quant_packed_free) */
} tfm_quant_packed;

/* 1 if wtype is a weight type with int8 kernels (every build packs all of them), else 0. */
TFM_API int tfm_quant_packable(tfm_dtype wtype);
/* *out = the rows x cols matrix w (GGML rows of wtype) packed. TFM_ERR_UNSUPPORTED where
   !tfm_quant_packable(wtype), TFM_ERR_INVALID_ARGUMENT on NULL or sizes <= 0, TFM_ERR_SHAPE if cols is
   not a multiple of the block size, TFM_ERR_OUT_OF_MEMORY; *out is zeroed on failure. */
TFM_API tfm_status tfm_quant_pack(tfm_quant_packed *out, tfm_dtype wtype, const void *w, int rows, int cols, int n_threads);
TFM_API void tfm_quant_packed_free(tfm_quant_packed *p);
/* y[0 .. r1 - r0) = rows r0 .. r1 - 1 of W times x (0 <= r0 < r1 <= rows): tfm_quant_gemv of those
   rows, bit for bit. Threads of a caller's own team can each take a row range; ranges that start and
   end on multiples of 16 rows waste nothing (a cut 16-row tile is computed whole by each side). */
TFM_API tfm_status tfm_quant_packed_gemv(float *y, const tfm_quant_packed *w, const float *x, int r0, int r1, int n_threads);
/* Y[m][w->rows] = X[m][w->cols] W^T (X rows ldx floats apart, Y rows ldy apart): tfm_quant_gemm bit for
   bit. ws: tfm_quant_workspace_size(w->dtype, m, w->cols) bytes, or NULL to allocate per call. */
TFM_API tfm_status tfm_quant_packed_gemm(float *y, size_t ldy, const float *x, size_t ldx, const tfm_quant_packed *w, int m,
                                         int n_threads, void *ws, size_t ws_bytes);


#ifdef __cplusplus
}
#endif

#endif /* TFM_QUANT_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_QUANT_IMPLEMENTATION_DONE)
#define TFM_QUANT_IMPLEMENTATION_DONE

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#if defined(__clang__)
/* The reference quantizers must round every product on its own, as GGML's source reads (gcc: below). */
#pragma STDC FP_CONTRACT OFF
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The reference quantizers below must round every product on its own, as GGML's source reads (and
   llama.cpp builds them: ggml-base without -march, so no fused multiply-adds). gcc contracts a * b + c
   into one fma in GNU and C++ modes: switched off for these functions; clang keeps to the pragma
   above. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

/* ---------------------------------------------------------------- rounding helpers */

/* min(hi, (int)trunc(v)) for v >= 0; 0 for negative or NaN v (GGML's (int8_t)(v) then MIN). */
static int tfm__trunc_clamp(float v, int hi)
{
    if (!(v > 0.0f)) return 0;
    if (v >= (float)hi) return hi;
    return (int)v;
}

/* GGML's nearest_int: round half to even through the 1.5 * 2^23 trick (|v| < 2^22); out-of-range
   and NaN values are clamped first so nothing overflows. */
static int tfm__nearest_int(float v)
{
    float t;
    int32_t i;
    if (v != v) return 0;
    if (v > 4194303.0f) v = 4194303.0f;
    if (v < -4194303.0f) v = -4194303.0f;
    t = v + 12582912.0f;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static int tfm__imin(int a, int b) { return a < b ? a : b; }
static int tfm__imax(int a, int b) { return a > b ? a : b; }

/* ---------------------------------------------------------------- legacy formats */

/* The activation quantizers (tfm_quant_act_kernels.h) for the build's instruction set, then (a portable
   x86-64 build) for each one it dispatches to; tfm__qact_quantizer picks the path that runs. */
typedef void (*tfm__quantize_fn)(const float *x, void *y, size_t nb);
#define TFM__PN(name) name
#include "tfm_quant_act_kernels.h"
#undef TFM__PN
#if defined(TFM__DISPATCH)
#include "tfm_simd_pass.h"
#include "tfm_quant_act_kernels.h"
#include "tfm_simd_pass.h"
#include "tfm_quant_act_kernels.h"
#include "tfm_simd_pass.h"
#endif

/* GGML's q4_0 / q5_0 rounding of one block of 32: d = v / -nmax for the first element v of largest
   magnitude, level = min(2 nmax - 1, trunc(x / d + nmax + 0.5)); returns d */
static float tfm__levels_sym(const float *x, int nmax, uint8_t *L)
{
    float amax = 0.0f, max = 0.0f, d, id;
    int j;
    for (j = 0; j < TFM_QK; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    d = max / (float)-nmax;
    id = d != 0.0f ? 1.0f / d : 0.0f;
    for (j = 0; j < TFM_QK; j++) L[j] = (uint8_t)tfm__trunc_clamp(x[j] * id + ((float)nmax + 0.5f), 2 * nmax - 1);
    return d;
}

/* GGML's q4_1 / q5_1 rounding: d = (max - min) / levels, level = trunc((x - min) / d + 0.5) (at most
   `levels`); returns d, *min the block's minimum */
static float tfm__levels_min(const float *x, int levels, uint8_t *L, float *mn)
{
    float min = FLT_MAX, max = -FLT_MAX, d, id;
    int j;
    for (j = 0; j < TFM_QK; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    d = (max - min) / (float)levels;
    id = d != 0.0f ? 1.0f / d : 0.0f;
    for (j = 0; j < TFM_QK; j++) L[j] = (uint8_t)tfm__trunc_clamp((x[j] - min) * id + 0.5f, levels);
    *mn = min;
    return d;
}

/* levels 0..15 or 0..31 of a block of 32 into qs (element j low nibble of byte j, j + 16 high) and, for
   5 bits, the fifth bits into qh (bit j of the little-endian word = element j) */
static void tfm__store_nibbles(const uint8_t *L, uint8_t *qs, uint8_t *qh)
{
    uint32_t h = 0;
    int j;
    for (j = 0; j < TFM_QK / 2; j++) {
        qs[j] = (uint8_t)((L[j] & 15) | (L[j + TFM_QK / 2] & 15) << 4);
        h |= (uint32_t)(L[j] >> 4) << j | (uint32_t)(L[j + TFM_QK / 2] >> 4) << (j + TFM_QK / 2);
    }
    if (qh) memcpy(qh, &h, 4);
}

static void tfm__quantize_q4_0(const float *x, void *vy, size_t nb)
{
    tfm_block_q4_0 *y = (tfm_block_q4_0 *)vy;
    uint8_t L[TFM_QK];
    size_t i;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        y[i].d = tfm_f32_to_f16(tfm__levels_sym(x, 8, L));
        tfm__store_nibbles(L, y[i].qs, NULL);
    }
}

static void tfm__quantize_q5_0(const float *x, void *vy, size_t nb)
{
    tfm_block_q5_0 *y = (tfm_block_q5_0 *)vy;
    uint8_t L[TFM_QK];
    size_t i;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        y[i].d = tfm_f32_to_f16(tfm__levels_sym(x, 16, L));
        tfm__store_nibbles(L, y[i].qs, y[i].qh);
    }
}

static void tfm__quantize_q4_1(const float *x, void *vy, size_t nb)
{
    tfm_block_q4_1 *y = (tfm_block_q4_1 *)vy;
    uint8_t L[TFM_QK];
    float min;
    size_t i;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        y[i].d = tfm_f32_to_f16(tfm__levels_min(x, 15, L, &min));
        y[i].m = tfm_f32_to_f16(min);
        tfm__store_nibbles(L, y[i].qs, NULL);
    }
}

static void tfm__quantize_q5_1(const float *x, void *vy, size_t nb)
{
    tfm_block_q5_1 *y = (tfm_block_q5_1 *)vy;
    uint8_t L[TFM_QK];
    float min;
    size_t i;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        y[i].d = tfm_f32_to_f16(tfm__levels_min(x, 31, L, &min));
        y[i].m = tfm_f32_to_f16(min);
        tfm__store_nibbles(L, y[i].qs, y[i].qh);
    }
}

static void tfm__dequantize_q8_1(const void *vx, float *y, size_t nb)
{
    const tfm_block_q8_1 *x = (const tfm_block_q8_1 *)vx;
    size_t i;
    int j;
    for (i = 0; i < nb; i++, y += TFM_QK) {
        float d = tfm_f16_to_f32(x[i].d);
        for (j = 0; j < TFM_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

/* ---------------------------------------------------------------- k-quants */

/* GGML's make_qx_quants with rmse_type 1 and no importance weights: a signed scale for n values on
   the grid [-nmax, nmax-1], refined over 19 candidate scales by weighted least squares (weights x^2).
   L receives the levels offset by nmax. */
static float tfm__make_qx_quants(int n, int nmax, const float *x, int8_t *L)
{
    float max = 0.0f, amax = 0.0f, iscale, sumlx = 0.0f, suml2 = 0.0f, scale, best;
    int i, is;
    for (i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < 1e-15f) {
        for (i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    iscale = -(float)nmax / max;
    for (i = 0; i < n; i++) {
        int l = tfm__imax(-nmax, tfm__imin(nmax - 1, tfm__nearest_int(iscale * x[i])));
        float w = x[i] * x[i], wx = w * x[i], wl = w * (float)l;
        L[i] = (int8_t)(l + nmax);
        sumlx += wx * (float)l;
        suml2 += wl * (float)l;
    }
    scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    best = scale * sumlx;
    for (is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0.0f;
        for (i = 0; i < n; i++) {
            int l = tfm__imax(-nmax, tfm__imin(nmax - 1, tfm__nearest_int(iscale * x[i])));
            float w = x[i] * x[i], wx = w * x[i], wl = w * (float)l;
            sumlx += wx * (float)l;
            suml2 += wl * (float)l;
        }
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            for (i = 0; i < n; i++) {
                int l = tfm__imax(-nmax, tfm__imin(nmax - 1, tfm__nearest_int(iscale * x[i])));
                L[i] = (int8_t)(l + nmax);
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* GGML's make_qkx2_quants: scale and (non-positive) min for n values on [0, nmax], weighted least
   squares over nstep+1 candidate scales, judged by the weighted squared error (use_mad: absolute). Returns the scale and
   stores -min in *the_min. n <= 32. */
static float tfm__make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                                   float rmin, float rdelta, int nstep, int use_mad)
{
    uint8_t Laux[32];
    float min = x[0], max = x[0], sum_w = weights[0], sum_x = sum_w * x[0], iscale, scale, best_error = 0.0f;
    int i, is;
    for (i = 1; i < n; i++) {
        float wx;
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += weights[i];
        wx = weights[i] * x[i];
        sum_x += wx;
    }
    if (min > 0.0f) min = 0.0f;
    if (max == min) {
        for (i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    iscale = (float)nmax / (max - min);
    scale = 1.0f / iscale;
    for (i = 0; i < n; i++) {
        int l = tfm__nearest_int(iscale * (x[i] - min));
        float diff, sl;
        L[i] = (uint8_t)tfm__imax(0, tfm__imin(nmax, l));
        sl = scale * (float)L[i];
        diff = sl + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    for (is = 0; is <= nstep; is++) {
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f, D, rs = rdelta * (float)is;
        iscale = (rmin + rs + (float)nmax) / (max - min);
        for (i = 0; i < n; i++) {
            int l = tfm__imax(0, tfm__imin(nmax, tfm__nearest_int(iscale * (x[i] - min))));
            float w = weights[i], wl = w * (float)l, wll = wl * (float)l, wlx = wl * x[i];
            Laux[i] = (uint8_t)l;
            sum_l += wl;
            sum_l2 += wll;
            sum_xl += wlx;
        }
        {
            float p1 = sum_w * sum_l2, p2 = sum_l * sum_l;
            D = p1 - p2;
        }
        if (D > 0.0f) {
            float a1 = sum_w * sum_xl, a2 = sum_x * sum_l, b1 = sum_l2 * sum_x, b2 = sum_l * sum_xl;
            float this_scale = (a1 - a2) / D, this_min = (b1 - b2) / D, cur_error = 0.0f;
            if (this_min > 0.0f) {
                this_min = 0.0f;
                this_scale = sum_xl / sum_l2;
            }
            for (i = 0; i < n; i++) {
                float sl = this_scale * (float)Laux[i], diff = sl + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                for (i = 0; i < n; i++) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* the eight 6-bit scales and mins of a q4_K block from its 12 packed bytes */
static void tfm__q4k_unpack(const uint8_t *b, int *sc, int *mn)
{
    int j;
    for (j = 0; j < 4; j++) {
        sc[j] = b[j] & 63;
        mn[j] = b[j + 4] & 63;
        sc[j + 4] = (b[j + 8] & 15) | ((b[j] >> 6) << 4);
        mn[j + 4] = (b[j + 8] >> 4) | ((b[j + 4] >> 6) << 4);
    }
}

/* GGML's q4_K / q5_K rounding of a super-block: per sub-block of 32, make_qkx2_quants (weights
   sqrt(mean x^2) + |x|; nmax 15: rmin -1 and 20 steps, nmax 31: rmin -0.5 and 15 steps) finds scale and
   min; both are quantized to 6 bits against their maxima into sc12 (GGML's packing) and *dh, *dminh,
   then every element is re-quantized with the stored ones into L */
static void tfm__quantize_k_sub32(const float *x, int nmax, float rmin, int nstep, uint8_t *L, uint8_t *sc12, uint16_t *dh,
                                  uint16_t *dminh)
{
    float weights[32], mins[8], scales[8], max_scale = 0.0f, max_min = 0.0f, inv_scale, inv_min, d, dmin;
    int j, l, sc[8], mn[8];
    for (j = 0; j < 8; j++) {
        float sum_x2 = 0.0f, av_x;
        for (l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        av_x = sqrtf(sum_x2 / 32.0f);
        for (l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = tfm__make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, 0);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    for (j = 0; j < 8; j++) {
        /* GGML stores nearest_int into a uint8_t before MIN(63): keep that wrap-around */
        int ls = tfm__imin(63, (uint8_t)tfm__nearest_int(inv_scale * scales[j]));
        int lm = tfm__imin(63, (uint8_t)tfm__nearest_int(inv_min * mins[j]));
        if (j < 4) {
            sc12[j] = (uint8_t)ls;
            sc12[j + 4] = (uint8_t)lm;
        } else {
            sc12[j + 4] = (uint8_t)((ls & 15) | ((lm & 15) << 4));
            sc12[j - 4] |= (uint8_t)((ls >> 4) << 6);
            sc12[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *dh = tfm_f32_to_f16(max_scale / 63.0f);
    *dminh = tfm_f32_to_f16(max_min / 63.0f);
    d = tfm_f16_to_f32(*dh);
    dmin = tfm_f16_to_f32(*dminh);
    tfm__q4k_unpack(sc12, sc, mn);
    for (j = 0; j < 8; j++) {
        float ds = d * (float)sc[j], dm;
        if (ds == 0.0f) continue;
        dm = dmin * (float)mn[j];
        for (l = 0; l < 32; l++) L[32 * j + l] = (uint8_t)tfm__imax(0, tfm__imin(nmax, tfm__nearest_int((x[32 * j + l] + dm) / ds)));
    }
}

static void tfm__quantize_q4_K(const float *x, void *vy, size_t nb)
{
    tfm_block_q4_K *y = (tfm_block_q4_K *)vy;
    uint8_t L[TFM_QK_K];
    size_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += TFM_QK_K) {
        tfm__quantize_k_sub32(x, 15, -1.0f, 20, L, y[i].scales, &y[i].d, &y[i].dmin);
        for (j = 0; j < 4; j++)
            for (l = 0; l < 32; l++) y[i].qs[32 * j + l] = (uint8_t)(L[64 * j + l] | (L[64 * j + 32 + l] << 4));
    }
}

/* q5_K: q4_K's rounding with 5-bit levels; bit 4 of element 64c + l goes to qh[l] bit 2c, of element
   64c + 32 + l to bit 2c + 1 */
static void tfm__quantize_q5_K(const float *x, void *vy, size_t nb)
{
    tfm_block_q5_K *y = (tfm_block_q5_K *)vy;
    uint8_t L[TFM_QK_K];
    size_t i;
    int c, l;
    for (i = 0; i < nb; i++, x += TFM_QK_K) {
        tfm__quantize_k_sub32(x, 31, -0.5f, 15, L, y[i].scales, &y[i].d, &y[i].dmin);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (c = 0; c < 4; c++)
            for (l = 0; l < 32; l++) {
                int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                y[i].qh[l] |= (uint8_t)((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
                y[i].qs[32 * c + l] = (uint8_t)((lo & 15) | (hi & 15) << 4);
            }
    }
}

/* 2-bit levels of a super-block as q2_K and q3_K pack them: element 128h + 32s + l in bits 2s of byte
   32h + l */
static void tfm__store_crumbs(const uint8_t *L, uint8_t *qs)
{
    int h, l;
    for (h = 0; h < 2; h++)
        for (l = 0; l < 32; l++)
            qs[32 * h + l] = (uint8_t)(L[128 * h + l] | L[128 * h + l + 32] << 2 | L[128 * h + l + 64] << 4 | L[128 * h + l + 96] << 6);
}

/* GGML's q2_K rounding: per 16 elements make_qkx2_quants (nmax 3, weights |x|, rmin -0.5, 15 steps,
   absolute error); scales and mins quantized to 4 bits against their maxima, then every element
   re-quantized with the stored ones */
static void tfm__quantize_q2_K(const float *x, void *vy, size_t nb)
{
    tfm_block_q2_K *y = (tfm_block_q2_K *)vy;
    uint8_t L[TFM_QK_K];
    float weights[16], mins[16], scales[16];
    size_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += TFM_QK_K) {
        float max_scale = 0.0f, max_min = 0.0f, d, dmin;
        for (j = 0; j < 16; j++) {
            for (l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = tfm__make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, 1);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        memset(y[i].scales, 0, sizeof y[i].scales);
        y[i].d = y[i].dmin = tfm_f32_to_f16(0.0f);
        if (max_scale > 0.0f) {
            float iscale = 15.0f / max_scale;
            for (j = 0; j < 16; j++) y[i].scales[j] = (uint8_t)tfm__nearest_int(iscale * scales[j]);
            y[i].d = tfm_f32_to_f16(max_scale / 15.0f);
        }
        if (max_min > 0.0f) {
            float iscale = 15.0f / max_min;
            for (j = 0; j < 16; j++) y[i].scales[j] |= (uint8_t)(tfm__nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = tfm_f32_to_f16(max_min / 15.0f);
        }
        d = tfm_f16_to_f32(y[i].d);
        dmin = tfm_f16_to_f32(y[i].dmin);
        for (j = 0; j < 16; j++) {
            float ds = d * (float)(y[i].scales[j] & 15), dm;
            if (ds == 0.0f) continue;
            dm = dmin * (float)(y[i].scales[j] >> 4);
            for (l = 0; l < 16; l++) L[16 * j + l] = (uint8_t)tfm__imax(0, tfm__imin(3, tfm__nearest_int((x[16 * j + l] + dm) / ds)));
        }
        tfm__store_crumbs(L, y[i].qs);
    }
}

/* GGML's make_q3_quants with do_rmse: a signed scale for n values on [-nmax, nmax - 1], then up to 5
   rounds of moving single levels while that improves the weighted (x^2) fit; L gets level + nmax */
static float tfm__make_q3_quants(int n, int nmax, const float *x, int8_t *L)
{
    float max = 0.0f, amax = 0.0f, iscale, sumlx = 0.0f, suml2 = 0.0f;
    int i, itry;
    for (i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < 1e-15f) {
        for (i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    iscale = (float)-nmax / max;
    for (i = 0; i < n; i++) {
        int l = tfm__imax(-nmax, tfm__imin(nmax - 1, tfm__nearest_int(iscale * x[i])));
        float w = x[i] * x[i], wx = w * x[i], wl = w * (float)l;
        L[i] = (int8_t)l;
        sumlx += wx * (float)l;
        suml2 += wl * (float)l;
    }
    for (itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (i = 0; i < n; i++) {
            float w = x[i] * x[i], wx = w * x[i], slx = sumlx - wx * (float)L[i];
            if (slx > 0.0f) {
                float wl = w * (float)L[i], sl2 = suml2 - wl * (float)L[i], t = x[i] * sl2;
                int new_l = tfm__imax(-nmax, tfm__imin(nmax - 1, tfm__nearest_int(t / slx)));
                if (new_l != L[i]) {
                    float wn = w * (float)new_l, a, b;
                    slx += wx * (float)new_l;
                    sl2 += wn * (float)new_l;
                    a = slx * slx;
                    b = sumlx * sumlx;
                    if (sl2 > 0.0f && a * suml2 > b * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return sumlx / suml2;
}

/* q3_K's 6-bit scale j (stored + 32): low 4 bits in byte j % 8 (its high nibble for j >= 8), top 2 in
   byte 8 + j % 4, bits 2 (j / 4) */
static int tfm__q3k_scale(const uint8_t *b, int j)
{
    int lo = j < 8 ? b[j] & 15 : b[j - 8] >> 4;
    return (lo | ((b[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32;
}

/* GGML's q3_K rounding: per 16 elements make_q3_quants (nmax 4); the scales quantized to 6 bits
   against the largest in magnitude (which gets -32), then every element re-quantized; levels 4..7 set
   their bit in hmask (element e: byte e % 32, bit e / 32) and keep level - 4 */
static void tfm__quantize_q3_K(const float *x, void *vy, size_t nb)
{
    tfm_block_q3_K *y = (tfm_block_q3_K *)vy;
    int8_t L[TFM_QK_K];
    float scales[16];
    size_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += TFM_QK_K) {
        float max_scale = 0.0f, amax = 0.0f, d;
        for (j = 0; j < 16; j++) {
            scales[j] = tfm__make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(y[i].scales, 0, sizeof y[i].scales);
        y[i].d = tfm_f32_to_f16(0.0f);
        if (max_scale != 0.0f) {
            float iscale = -32.0f / max_scale;
            for (j = 0; j < 16; j++) {
                int v = tfm__imax(-32, tfm__imin(31, (int8_t)tfm__nearest_int(iscale * scales[j]))) + 32;
                if (j < 8) y[i].scales[j] = (uint8_t)(v & 15);
                else y[i].scales[j - 8] |= (uint8_t)((v & 15) << 4);
                y[i].scales[j % 4 + 8] |= (uint8_t)((v >> 4) << (2 * (j / 4)));
            }
            y[i].d = tfm_f32_to_f16(1.0f / iscale);
        }
        d = tfm_f16_to_f32(y[i].d);
        for (j = 0; j < 16; j++) {
            float ds = d * (float)tfm__q3k_scale(y[i].scales, j);
            if (ds == 0.0f) continue;
            for (l = 0; l < 16; l++) L[16 * j + l] = (int8_t)(tfm__imax(-4, tfm__imin(3, tfm__nearest_int(x[16 * j + l] / ds))) + 4);
        }
        memset(y[i].hmask, 0, sizeof y[i].hmask);
        for (j = 0; j < TFM_QK_K; j++)
            if (L[j] > 3) {
                y[i].hmask[j % 32] |= (uint8_t)(1 << (j / 32));
                L[j] = (int8_t)(L[j] - 4);
            }
        tfm__store_crumbs((const uint8_t *)L, y[i].qs);
    }
}

/* IQ4_NL's 16 levels (GGML's kvalues_iq4nl), and the same + 128 as unsigned bytes for the kernels */
static const int8_t tfm__iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
static const uint8_t tfm__iq4_levels[16] = {1, 24, 45, 63, 79, 93, 106, 118, 129, 141, 153, 166, 181, 197, 217, 241};

/* GGML's best_index_int8: the index of the value nearest x (ties to the lower) */
static int tfm__iq4_index(float x)
{
    const int8_t *v = tfm__iq4_values;
    int lo = 0, hi = 15;
    if (x <= v[0]) return 0;
    if (x >= v[15]) return 15;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x < v[mid]) hi = mid;
        else lo = mid;
    }
    return x - v[hi - 1] < v[hi] - x ? hi - 1 : hi;
}

/* the weighted (x^2) sums of a block of 32 on the levels 1/id picks (into L unless NULL); returns the
   least-squares scale sumqx / sumq2 */
static float tfm__iq4_fit(const float *xb, float id, uint8_t *L, float *sumqx_out, float *sumq2_out)
{
    float sumqx = 0.0f, sumq2 = 0.0f;
    int j;
    for (j = 0; j < 32; j++) {
        int l = tfm__iq4_index(id * xb[j]);
        float q = tfm__iq4_values[l], w = xb[j] * xb[j], wq = w * q;
        if (L) L[j] = (uint8_t)l;
        sumqx += wq * xb[j];
        sumq2 += wq * q;
    }
    *sumqx_out = sumqx;
    *sumq2_out = sumq2;
    return sumqx / sumq2;
}

/* GGML's quantize_row_iq4_nl_impl without importance weights and with ntry 7, as llama-quantize runs it
   (quantize_iq4_nl / quantize_iq4_xs): per block of 32 a scale from the first element of largest
   magnitude, refit by weighted least squares (weights x^2) over 15 candidates. IQ4_NL (n = 32) stores
   that scale as its fp16 d; IQ4_XS (n = 256) stores d = -max / 32 and 6-bit block scales (ls - 32) d,
   low nibbles in sl, top 2 bits in sh. Both then re-pick every level. */
static void tfm__iq4_super(const float *x, int n, uint16_t *dh, uint8_t *qs, uint16_t *sh, uint8_t *sl)
{
    uint8_t L[TFM_QK_K];
    float scales[TFM_QK_K / 32], max_scale = 0.0f, amax_scale = 0.0f;
    int ib, j, itry;
    memset(qs, 0, (size_t)n / 2);
    *dh = tfm_f32_to_f16(0.0f);
    for (ib = 0; ib < n / 32; ib++) {
        const float *xb = x + 32 * ib;
        float amax = 0.0f, max = 0.0f, d, best, sumqx, sumq2;
        for (j = 0; j < 32; j++)
            if (fabsf(xb[j]) > amax) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        if (amax < 1e-15f) {
            scales[ib] = 0.0f;
            continue;
        }
        d = tfm__iq4_fit(xb, 1.0f / (-max / (float)tfm__iq4_values[0]), L + 32 * ib, &sumqx, &sumq2);
        best = d * sumqx;
        for (itry = -7; itry <= 7; itry++) {
            float dt = tfm__iq4_fit(xb, (float)(itry + tfm__iq4_values[0]) / max, NULL, &sumqx, &sumq2);
            if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
                d = dt;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        if (fabsf(d) > amax_scale) {
            amax_scale = fabsf(d);
            max_scale = d;
        }
    }
    if (n > 32) {
        float d = -max_scale / 32.0f, id;
        *dh = tfm_f32_to_f16(d);
        id = d != 0.0f ? 1.0f / d : 0.0f;
        *sh = 0;
        for (ib = 0; ib < n / 32; ib++) {
            int l = tfm__imax(-32, tfm__imin(31, tfm__nearest_int(id * scales[ib])));
            float dl = d * (float)l, idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            for (j = 0; j < 32; j++) L[32 * ib + j] = (uint8_t)tfm__iq4_index(idl * x[32 * ib + j]);
            l += 32;
            if (ib % 2 == 0) sl[ib / 2] = (uint8_t)(l & 15);
            else sl[ib / 2] |= (uint8_t)((l & 15) << 4);
            *sh = (uint16_t)(*sh | (l >> 4) << (2 * (ib % 8)));
        }
    } else {
        float id = scales[0] != 0.0f ? 1.0f / scales[0] : 0.0f;
        *dh = tfm_f32_to_f16(scales[0]);
        for (j = 0; j < 32; j++) L[j] = (uint8_t)tfm__iq4_index(id * x[j]);
    }
    for (ib = 0; ib < n / 32; ib++)
        for (j = 0; j < 16; j++) qs[16 * ib + j] = (uint8_t)(L[32 * ib + j] | L[32 * ib + 16 + j] << 4);
}

static void tfm__quantize_iq4_nl(const float *x, void *vy, size_t nb)
{
    tfm_block_iq4_nl *y = (tfm_block_iq4_nl *)vy;
    size_t i;
    for (i = 0; i < nb; i++) tfm__iq4_super(x + TFM_QK * i, TFM_QK, &y[i].d, y[i].qs, NULL, NULL);
}

static void tfm__quantize_iq4_xs(const float *x, void *vy, size_t nb)
{
    tfm_block_iq4_xs *y = (tfm_block_iq4_xs *)vy;
    size_t i;
    for (i = 0; i < nb; i++) tfm__iq4_super(x + TFM_QK_K * i, TFM_QK_K, &y[i].d, y[i].qs, &y[i].scales_h, y[i].scales_l);
}

static void tfm__quantize_q6_K(const float *x, void *vy, size_t nb)
{
    tfm_block_q6_K *y = (tfm_block_q6_K *)vy;
    int8_t L[TFM_QK_K];
    float scales[16];
    size_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += TFM_QK_K) {
        float max_scale = 0.0f, max_abs_scale = 0.0f, iscale, d;
        for (j = 0; j < 16; j++) {
            scales[j] = tfm__make_qx_quants(16, 32, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_abs_scale < 1e-15f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        iscale = -128.0f / max_scale;
        y[i].d = tfm_f32_to_f16(1.0f / iscale);
        for (j = 0; j < 16; j++) y[i].scales[j] = (int8_t)tfm__imax(-128, tfm__imin(127, tfm__nearest_int(iscale * scales[j])));
        d = tfm_f16_to_f32(y[i].d);
        for (j = 0; j < 16; j++) {
            float ds = d * (float)y[i].scales[j];
            if (ds == 0.0f) continue;
            for (l = 0; l < 16; l++) L[16 * j + l] = (int8_t)(tfm__imax(-32, tfm__imin(31, tfm__nearest_int(x[16 * j + l] / ds))) + 32);
        }
        for (j = 0; j < 2; j++) {
            uint8_t *ql = y[i].ql + 64 * j, *qh = y[i].qh + 32 * j;
            const int8_t *Lh = L + 128 * j;
            for (l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((Lh[l] & 15) | ((Lh[l + 64] & 15) << 4));
                ql[l + 32] = (uint8_t)((Lh[l + 32] & 15) | ((Lh[l + 96] & 15) << 4));
                qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
            }
        }
    }
}

static void tfm__dequantize_q8_K(const void *vx, float *y, size_t nb)
{
    const tfm_block_q8_K *x = (const tfm_block_q8_K *)vx;
    size_t i;
    int j;
    for (i = 0; i < nb; i++)
        for (j = 0; j < TFM_QK_K; j++) *y++ = x[i].d * (float)x[i].qs[j];
}


#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* ================================================================ the int8 kernels
   Every weight type runs through one design (see PACKED WEIGHTS and KERNELS in the header comment):
   16 rows at a time, 4 bytes of each row per 32-bit lane, so that one byte-dot instruction against 4
   broadcast activation bytes advances all 16 rows. The rows come from the packed layout (aligned
   loads) or straight from GGML rows (gathered); a type's decoder turns those bytes into unsigned
   levels, one byte per element, and its integer sub-block scales; the code around it is shared. */

#if defined(__GNUC__) || defined(__clang__)
#define TFM__Q_FORCE_INLINE static inline __attribute__((always_inline))
#define TFM__Q_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 2)
#else
#define TFM__Q_FORCE_INLINE static inline
#define TFM__Q_PREFETCH(p) ((void)(p))
#endif

#if defined(__GNUC__)
#define TFM__Q_UNROLL _Pragma("GCC unroll 16")
#else
#define TFM__Q_UNROLL
#endif

/* ---------------------------------------------------------------- the traits table's row
   One row per dtype: the block's shape, the float arithmetic its dot product ends with, and the
   functions that read and write it. Nothing else in this file looks at a dtype's id. */
enum { TFM__QMIN_NONE, TFM__QMIN_ADD, TFM__QMIN_SUB }; /* x = d sc (q - z), + m, or - dmin mn */

typedef struct tfm__qsrc tfm__qsrc;
typedef struct tfm__qact tfm__qact;
typedef struct tfm__qtile tfm__qtile;

typedef struct tfm__qtype {
    tfm_dtype type, act;      /* the dtype, and the activation dtype its dot products take */
    unsigned short block;     /* elements per block */
    unsigned char n_halves;   /* fp16 fields: d first, then m (q4_1, q5_1), dmin (k-quants) or scales_h (iq4_xs) */
    unsigned char half_at[2]; /* their byte offsets in the block */
    unsigned char body_at;    /* the rest of the block, its body: where it starts */
    unsigned char body_words; /* and its length in 4-byte words */
    unsigned short group;     /* elements per integer sub-block scale (the block when it has none) */
    unsigned char zero;       /* the level of value 0: an element is d * sc * (level - zero) [+ m | - dmin * mn] */
    unsigned char wide;       /* levels up to 255 (a signed value + 128): the dot goes through tfm__vi_dot_wide */
    unsigned char min;        /* TFM__QMIN_*: the second fp16 field's part in the float update */
    void (*quantize)(const float *x, void *y, size_t nb);
    void (*dequantize)(const void *x, float *y, size_t nb); /* formats without a decoder (activations, floats) */
    signed char kernels;      /* TFM__QK_*: its kernels' index in the kernel tables; TFM__QK_NONE if it has none */
    unsigned char chain16;    /* a group's dot chains fit in 16 bits and its scales are non-negative (zero 0, levels
                                 up to 15 in 16-element chains): the scales multiply 16-bit (tfm__qscaled) */
} tfm__qtype;

/* A weight type's kernels: 16 rows dotted with one activation row; a chunk of blocks decoded to one
   byte per level; m activation rows against a decoded chunk */
typedef struct tfm__qkern {
    /* the row-tiles of a pass (GGML rows: w[0]; packed: w[0..packed_tiles)) dotted with one activation
       row: y[16 k + r]; the nn (0..2) tiles next[0..nn) are prefetched along the way */
    void (*dot)(const tfm__qsrc *w, const tfm__qact *a, size_t nb, float *y, const tfm__qsrc *next, int nn);
    void (*decode)(const tfm__qsrc *w, size_t b0, size_t nbk, tfm__qtile *t);
    /* nt (1 or 2) consecutive decoded row-tiles t[0..nt) times m activation rows; nr: rows of the last tile */
    void (*mm)(float *y, size_t ldy, const tfm__qtile *t, int nt, size_t nbk, const tfm__qact *a, size_t b0, int m, int nr,
               int first);
    /* the row-tiles of a pass dotted with m (1..4) activation rows at once: y[(4 k + i) * 16 + r], 4 x 16
       floats written per tile; next[0..nn) prefetched */
    void (*dotm)(const tfm__qsrc *w, const tfm__qact *a, int m, size_t nb, float *y, const tfm__qsrc *next, int nn);
    int packed_tiles; /* row-tiles of a pass of dot and dotm on packed weights: TFM__QPACKED_TILES */
} tfm__qkern;

/* ---------------------------------------------------------------- the packed layout
   A row-tile is TFM__QROWS rows (a matrix's last tile repeats its last row). It holds first the fp16
   fields of all its blocks, block by block and field by field, each field as TFM__QHALF_BYTES (16 rows
   x 2 bytes), padded to 64 bytes; then the bodies, block by block, body word w (bytes 4w..4w+3) as one
   TFM__QVEC_BYTES vector whose 4-byte lane r is row r's word. So a tile is as long as its 16 rows
   (plus at most 63 bytes), and lane group c of the kernels (TFM__VF_N rows) reads bytes
   c * TFM__VI_BYTES.. of every vector. */
#define TFM__QROWS 16
#define TFM__QSUBS (TFM__QROWS / TFM__VF_N)
#define TFM__QVEC_BYTES (4 * TFM__QROWS)
#define TFM__QHALF_BYTES (2 * TFM__QROWS)
#define TFM__QTILE_ELEMS 1024 /* elements of a row-tile decoded at a time for a gemm (16 KB of levels) */

static size_t tfm__qblock_bytes(const tfm__qtype *T) { return 2u * T->n_halves + 4u * T->body_words; }
static size_t tfm__qhalves_bytes(const tfm__qtype *T, size_t nb) { return (nb * T->n_halves * TFM__QHALF_BYTES + 63) / 64 * 64; }
static size_t tfm__qtile_bytes(const tfm__qtype *T, size_t nb) { return tfm__qhalves_bytes(T, nb) + nb * T->body_words * TFM__QVEC_BYTES; }

/* A row-tile as the kernels read it: packed (row_bytes 0) or GGML rows row_bytes apart. */
struct tfm__qsrc {
    const unsigned char *p; /* packed: the row-tile; GGML rows: its first row */
    size_t row_bytes;
    size_t halves_bytes;    /* packed: where the bodies start */
    int nr;                 /* rows present, 1..16 */
};

/* ---------------------------------------------------------------- activations
   An activation row quantized to the weight type's activation dtype, laid out for the kernels: the
   int8 values in a row, the sum of every 16 of them (the zero-point and min terms), each block's scale
   (and q8_1's s) as f32. Rows are cols, cols / 16 and nb entries apart. */
struct tfm__qact {
    const int8_t *q;
    const int32_t *s16;
    const float *d, *s;
    size_t cols, nb;
};

/* A chunk of a row-tile decoded for the gemm: a vector per 4 elements (lane r = row r's 4 levels),
   each group's scale and min, each block's d and second field, as int32 / f32 lanes. */
struct tfm__qtile {
    uint8_t lv[TFM__QTILE_ELEMS / 4][TFM__QVEC_BYTES];
    int32_t sc[TFM__QTILE_ELEMS / 16][TFM__QROWS], mn[TFM__QTILE_ELEMS / 16][TFM__QROWS];
    float d[TFM__QTILE_ELEMS / 32][TFM__QROWS], dm[TFM__QTILE_ELEMS / 32][TFM__QROWS];
};

/* The kernels of one weight type: the bodies with its row of the table and its decoder, named for the
   instruction set of the pass (TFM__PN). Each calls a body once per layout and never inside a loop
   (gcc's loop optimisations take far longer over a body inlined in a loop). A pass of the dot kernels
   takes one row-tile of GGML rows, TFM__QPACKED_TILES packed ones (tfm__qdot_pass). */
#define TFM__QKERNEL_TYPES(X)                                                                                         \
    X(q8_0, tfm__qdec_q8_0) X(q4_0, tfm__qdec_q4_0) X(q4_1, tfm__qdec_q4_0) X(q4_K, tfm__qdec_q4_K) X(q6_K, tfm__qdec_q6_K) \
    X(q5_0, tfm__qdec_q5_0) X(q5_1, tfm__qdec_q5_0) X(iq4_nl, tfm__qdec_iq4_nl) X(q2_K, tfm__qdec_q2_K)                  \
    X(q3_K, tfm__qdec_q3_K) X(q5_K, tfm__qdec_q5_K) X(iq4_xs, tfm__qdec_iq4_xs)
#define TFM__QK_ENUM(name, dec) TFM__QK_##name,
enum { TFM__QK_NONE = -1, TFM__QKERNEL_TYPES(TFM__QK_ENUM) TFM__QK_COUNT };
#define TFM__QKERNELS_ENTRY(name, dec) \
    {TFM__PN(tfm__qdot_##name), TFM__PN(tfm__qdecode_##name), TFM__PN(tfm__qmm_##name), TFM__PN(tfm__qdotm_##name), TFM__QPACKED_TILES},
/* tfm__qdotm_body for the tiles of a pass (NT) and M = 2 or 4 activation rows, the fewer that hold m */
#define TFM__QDOTM_BODY(name, dec, packed, NT)                                                                         \
    if (m <= 2) tfm__qdotm_body(&tfm__q_##name, dec, packed, NT, w, a, 2, m, nb, y, next, nn);                          \
    else tfm__qdotm_body(&tfm__q_##name, dec, packed, NT, w, a, 4, m, nb, y, next, nn)
#define TFM__QKERNELS_DEFINE(name, dec)                                                                                \
    static void TFM__PN(tfm__qdot_##name)(const tfm__qsrc *w, const tfm__qact *a, size_t nb, float *y,                 \
                                          const tfm__qsrc *next, int nn)                                                \
    {                                                                                                                   \
        if (w->row_bytes) tfm__qdot_body(&tfm__q_##name, dec, 0, 1, w, a, nb, y, next, nn);                              \
        else tfm__qdot_body(&tfm__q_##name, dec, 1, TFM__QPACKED_TILES, w, a, nb, y, next, nn);                          \
    }                                                                                                                   \
    static void TFM__PN(tfm__qdecode_##name)(const tfm__qsrc *w, size_t b0, size_t nbk, tfm__qtile *t)                  \
    {                                                                                                                   \
        if (w->row_bytes) tfm__qdecode_body(&tfm__q_##name, dec, 0, w, b0, nbk, t);                                      \
        else tfm__qdecode_body(&tfm__q_##name, dec, 1, w, b0, nbk, t);                                                   \
    }                                                                                                                   \
    static void TFM__PN(tfm__qmm_##name)(float *y, size_t ldy, const tfm__qtile *t, int nt, size_t nbk, const tfm__qact *a,  \
                                         size_t b0, int m, int nr, int first)                                           \
    {                                                                                                                   \
        if (nt == 2) tfm__qmm_body(&tfm__q_##name, 2, y, ldy, t, nbk, a, b0, m, nr, first);                              \
        else tfm__qmm_body(&tfm__q_##name, 1, y, ldy, t, nbk, a, b0, m, nr, first);                                      \
    }                                                                                                                   \
    static void TFM__PN(tfm__qdotm_##name)(const tfm__qsrc *w, const tfm__qact *a, int m, size_t nb, float *y,          \
                                           const tfm__qsrc *next, int nn)                                               \
    {                                                                                                                   \
        if (w->row_bytes) {                                                                                             \
            TFM__QDOTM_BODY(name, dec, 0, 1);                                                                           \
        } else {                                                                                                        \
            TFM__QDOTM_BODY(name, dec, 1, TFM__QPACKED_TILES);                                                          \
        }                                                                                                               \
    }

/* ---------------------------------------------------------------- the table */

static void tfm__quantize_f32(const float *x, void *y, size_t n) { memmove(y, x, n * sizeof(float)); }
static void tfm__quantize_f16(const float *x, void *y, size_t n) { tfm_f32_to_f16_row((uint16_t *)y, x, n); }
static void tfm__quantize_bf16(const float *x, void *y, size_t n) { tfm_f32_to_bf16_row((uint16_t *)y, x, n); }
static void tfm__dequantize_f32(const void *x, float *y, size_t n) { memmove(y, x, n * sizeof(float)); }
static void tfm__dequantize_f16(const void *x, float *y, size_t n) { tfm_f16_to_f32_row(y, (const uint16_t *)x, n); }
static void tfm__dequantize_bf16(const void *x, float *y, size_t n) { tfm_bf16_to_f32_row(y, (const uint16_t *)x, n); }

/*                                              type      act       block halves  at      body wrds group zero wide min */
static const tfm__qtype tfm__q_f32 =  {TFM_F32,  TFM_F32,  1,   0, {0, 0},     0, 0,  1,   0,   0, TFM__QMIN_NONE, tfm__quantize_f32, tfm__dequantize_f32, TFM__QK_NONE, 0};
static const tfm__qtype tfm__q_f16 =  {TFM_F16,  TFM_F32,  1,   0, {0, 0},     0, 0,  1,   0,   0, TFM__QMIN_NONE, tfm__quantize_f16, tfm__dequantize_f16, TFM__QK_NONE, 0};
static const tfm__qtype tfm__q_bf16 = {TFM_BF16, TFM_F32,  1,   0, {0, 0},     0, 0,  1,   0,   0, TFM__QMIN_NONE, tfm__quantize_bf16, tfm__dequantize_bf16, TFM__QK_NONE, 0};
static const tfm__qtype tfm__q_q8_1 = {TFM_Q8_1, TFM_Q8_1, 32,  2, {0, 2},     4, 8,  32,  0,   0, TFM__QMIN_NONE, tfm__quantize_q8_1, tfm__dequantize_q8_1, TFM__QK_NONE, 0};
static const tfm__qtype tfm__q_q8_K = {TFM_Q8_K, TFM_Q8_K, 256, 0, {0, 0},     4, 72, 256, 0,   0, TFM__QMIN_NONE, tfm__quantize_q8_K, tfm__dequantize_q8_K, TFM__QK_NONE, 0};
static const tfm__qtype tfm__q_q8_0 = {TFM_Q8_0, TFM_Q8_0, 32,  1, {0, 0},     2, 8,  32,  128, 1, TFM__QMIN_NONE, tfm__quantize_q8_0, NULL, TFM__QK_q8_0, 0};
static const tfm__qtype tfm__q_q4_0 = {TFM_Q4_0, TFM_Q8_0, 32,  1, {0, 0},     2, 4,  32,  8,   0, TFM__QMIN_NONE, tfm__quantize_q4_0, NULL, TFM__QK_q4_0, 0};
static const tfm__qtype tfm__q_q4_1 = {TFM_Q4_1, TFM_Q8_1, 32,  2, {0, 2},     4, 4,  32,  0,   0, TFM__QMIN_ADD,  tfm__quantize_q4_1, NULL, TFM__QK_q4_1, 0};
static const tfm__qtype tfm__q_q4_K = {TFM_Q4_K, TFM_Q8_K, 256, 2, {0, 2},     4, 35, 32,  0,   0, TFM__QMIN_SUB,  tfm__quantize_q4_K, NULL, TFM__QK_q4_K, 1};
static const tfm__qtype tfm__q_q6_K = {TFM_Q6_K, TFM_Q8_K, 256, 1, {208, 0},   0, 52, 16,  32,  0, TFM__QMIN_NONE, tfm__quantize_q6_K, NULL, TFM__QK_q6_K, 0};
static const tfm__qtype tfm__q_q5_0 = {TFM_Q5_0, TFM_Q8_0, 32,  1, {0, 0},     2, 5,  32,  16,  0, TFM__QMIN_NONE, tfm__quantize_q5_0, NULL, TFM__QK_q5_0, 0};
static const tfm__qtype tfm__q_q5_1 = {TFM_Q5_1, TFM_Q8_1, 32,  2, {0, 2},     4, 5,  32,  0,   0, TFM__QMIN_ADD,  tfm__quantize_q5_1, NULL, TFM__QK_q5_1, 0};
static const tfm__qtype tfm__q_iq4_nl = {TFM_IQ4_NL, TFM_Q8_0, 32, 1, {0, 0}, 2, 4,  32,  128, 1, TFM__QMIN_NONE, tfm__quantize_iq4_nl, NULL, TFM__QK_iq4_nl, 0};
static const tfm__qtype tfm__q_q2_K = {TFM_Q2_K, TFM_Q8_K, 256, 2, {80, 82},   0, 20, 16,  0,   0, TFM__QMIN_SUB,  tfm__quantize_q2_K, NULL, TFM__QK_q2_K, 1};
static const tfm__qtype tfm__q_q3_K = {TFM_Q3_K, TFM_Q8_K, 256, 1, {108, 0},   0, 27, 16,  4,   0, TFM__QMIN_NONE, tfm__quantize_q3_K, NULL, TFM__QK_q3_K, 0};
static const tfm__qtype tfm__q_q5_K = {TFM_Q5_K, TFM_Q8_K, 256, 2, {0, 2},     4, 43, 32,  0,   0, TFM__QMIN_SUB,  tfm__quantize_q5_K, NULL, TFM__QK_q5_K, 0};
static const tfm__qtype tfm__q_iq4_xs = {TFM_IQ4_XS, TFM_Q8_K, 256, 2, {0, 2}, 4, 33, 32,  128, 1, TFM__QMIN_NONE, tfm__quantize_iq4_xs, NULL, TFM__QK_iq4_xs, 0};

static const tfm__qtype *const tfm__qtypes[] = {&tfm__q_f32, &tfm__q_f16, &tfm__q_bf16, &tfm__q_q8_1, &tfm__q_q8_K,
                                                &tfm__q_q8_0, &tfm__q_q4_0, &tfm__q_q4_1, &tfm__q_q5_0, &tfm__q_q5_1, &tfm__q_iq4_nl,
                                                &tfm__q_q2_K, &tfm__q_q3_K, &tfm__q_q4_K, &tfm__q_q5_K, &tfm__q_q6_K, &tfm__q_iq4_xs};

/* The kernels for the build's instruction set, then (a portable build) for each one it can dispatch
   to at run time; tfm__qkernels picks the table of the path tfm__simd_path() names. */
#define TFM__PN(name) name
#include "tfm_quant_kernels.h"
#undef TFM__PN
#if defined(TFM__DISPATCH)
#include "tfm_simd_pass.h"
#include "tfm_quant_kernels.h"
#include "tfm_simd_pass.h"
#include "tfm_quant_kernels.h"
#include "tfm_simd_pass.h"
/* back to the build's own layer for the code that follows */
#undef TFM__WIDE_BIAS
#define TFM__WIDE_BIAS 0
static const tfm__qkern *const tfm__qkern_paths[] = {tfm__qkern_table, tfm__qkern_table_avx2, tfm__qkern_table_avx512};
#elif defined(TFM__DISPATCH_DOTPROD)
#include "tfm_simd_pass.h"
#include "tfm_simd.h"
#include "tfm_quant_kernels.h"
#include "tfm_simd_pass.h"
static const tfm__qkern *const tfm__qkern_paths[] = {tfm__qkern_table, tfm__qkern_table_dotprod};
#else
static const tfm__qkern *const tfm__qkern_paths[] = {tfm__qkern_table};
#endif

/* a weight type's kernels on the path the kernels run (a constant path in a build without dispatch) */
static const tfm__qkern *tfm__qkernels(const tfm__qtype *T) { return &tfm__qkern_paths[tfm__simd_path()][T->kernels]; }
/* the build's own kernels (results are the same on every path; these need no path lookup) */
static const tfm__qkern *tfm__qkernels_base(const tfm__qtype *T) { return &tfm__qkern_table[T->kernels]; }

/* the row of a dtype; NULL for dtypes this file does not handle */
static const tfm__qtype *tfm__qfind(tfm_dtype t)
{
    size_t i;
    for (i = 0; i < sizeof tfm__qtypes / sizeof tfm__qtypes[0]; i++)
        if (tfm__qtypes[i]->type == t) return tfm__qtypes[i];
    return NULL;
}

/* the row of a weight dtype with int8 kernels; NULL otherwise (floats included) */
static const tfm__qtype *tfm__qweight(tfm_dtype t)
{
    const tfm__qtype *T = tfm__qfind(t);
    return T && T->kernels != TFM__QK_NONE ? T : NULL;
}

/* ---------------------------------------------------------------- activation rows */

static size_t tfm__align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* bytes of m activation rows of cols values in nb blocks, with the slack to align them */
static size_t tfm__qact_bytes(size_t m, size_t cols, size_t nb)
{
    return tfm__align64(m * cols) + tfm__align64(m * (cols / 16) * 4) + 2 * tfm__align64(m * nb * 4) + 64;
}

typedef struct tfm__qact_rows {
    tfm__qact a;
    int8_t *q;
    int32_t *s16;
    float *d, *s;
} tfm__qact_rows;

static void tfm__qact_init(tfm__qact_rows *r, void *ws, size_t m, size_t cols, size_t nb)
{
    unsigned char *p = (unsigned char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    r->q = (int8_t *)(void *)p;
    p += tfm__align64(m * cols);
    r->s16 = (int32_t *)(void *)p;
    p += tfm__align64(m * (cols / 16) * 4);
    r->d = (float *)(void *)p;
    r->s = (float *)(void *)(p + tfm__align64(m * nb * 4));
    r->a.q = r->q, r->a.s16 = r->s16, r->a.d = r->d, r->a.s = r->s;
    r->a.cols = cols, r->a.nb = nb;
}

/* row c, block b from a GGML block of the activation dtype A (q8_0, q8_1: fp16 d [and s]; q8_k: f32 d) */
static void tfm__qact_block(tfm__qact_rows *r, size_t c, size_t b, const tfm__qtype *A, const unsigned char *blk)
{
    const size_t i = c * r->a.nb + b;
    uint16_t h;
    memcpy(r->q + c * r->a.cols + b * A->block, blk + A->body_at, A->block);
    if (A->n_halves) {
        memcpy(&h, blk + A->half_at[0], 2);
        r->d[i] = tfm_f16_to_f32(h);
    } else {
        memcpy(&r->d[i], blk, 4);
    }
    if (A->n_halves > 1) {
        memcpy(&h, blk + A->half_at[1], 2);
        r->s[i] = tfm_f16_to_f32(h);
    }
}

static void tfm__qact_sums(tfm__qact_rows *r, size_t c)
{
    const int8_t *q = r->q + c * r->a.cols;
    size_t e, k;
    for (e = 0; e < r->a.cols / 16; e++) {
        int32_t s = 0;
        for (k = 0; k < 16; k++) s += q[16 * e + k];
        r->s16[c * (r->a.cols / 16) + e] = s;
    }
}

/* the quantizer of an activation type (q8_0, q8_1, q8_K) on the path that runs */
static tfm__quantize_fn tfm__qact_quantizer(const tfm__qtype *A)
{
#if defined(TFM__DISPATCH)
    static const tfm__quantize_fn *const paths[] = {tfm__qact_quantizers, tfm__qact_quantizers_avx2, tfm__qact_quantizers_avx512};
    const tfm__quantize_fn *q = paths[tfm__simd_path()];
#else
    const tfm__quantize_fn *q = tfm__qact_quantizers;
#endif
    return q[A->type == TFM_Q8_0 ? 0 : A->type == TFM_Q8_1 ? 1 : 2];
}

/* q8_0's row quantizer on the path that runs: the layout written directly, no GGML block between */
typedef void (*tfm__qact_row_fn)(const float *x, size_t nb, int8_t *q, int32_t *s16, float *d);
static tfm__qact_row_fn tfm__qact_q8_0_rows(void)
{
#if defined(TFM__DISPATCH)
    static const tfm__qact_row_fn paths[] = {tfm__qact_q8_0_row, tfm__qact_q8_0_row_avx2, tfm__qact_q8_0_row_avx512};
    return paths[tfm__simd_path()];
#else
    return tfm__qact_q8_0_row;
#endif
}

/* m rows of x (ldx apart) quantized to A */
static void tfm__qact_quantize(tfm__qact_rows *r, const tfm__qtype *A, const float *x, size_t ldx, int m, int n_threads)
{
    const tfm__quantize_fn quantize = tfm__qact_quantizer(A);
    const tfm__qact_row_fn q8_0_row = A->type == TFM_Q8_0 ? tfm__qact_q8_0_rows() : NULL;
    int c;
    /* ~1 ns per value: a team only for a few tens of microseconds of work */
    TFM__PARALLEL_FOR((double)m * (double)r->a.cols >= 65536.0 ? n_threads : 1)
    for (c = 0; c < m; c++) {
        union { tfm_block_q8_0 z; tfm_block_q8_1 o; tfm_block_q8_K k; } blk;
        size_t b;
        if (q8_0_row) {
            q8_0_row(x + (size_t)c * ldx, r->a.nb, r->q + (size_t)c * r->a.cols, r->s16 + (size_t)c * (r->a.cols / 16),
                     r->d + (size_t)c * r->a.nb);
            continue;
        }
        for (b = 0; b < r->a.nb; b++) {
            quantize(x + (size_t)c * ldx + b * A->block, &blk, 1);
            tfm__qact_block(r, (size_t)c, b, A, (const unsigned char *)&blk);
        }
        tfm__qact_sums(r, (size_t)c);
    }
    (void)n_threads;
}

static tfm__qact tfm__qact_row(const tfm__qact *a, int i)
{
    tfm__qact r = *a;
    r.q += (size_t)i * a->cols;
    r.s16 += (size_t)i * (a->cols / 16);
    r.d += (size_t)i * a->nb;
    r.s += (size_t)i * a->nb;
    return r;
}

/* ---------------------------------------------------------------- matrices */

/* A weight matrix as the kernels walk it: packed row-tiles, or GGML rows (row_bytes apart). */
typedef struct tfm__qmat {
    const tfm__qtype *T;
    const unsigned char *data;
    size_t row_bytes, tile_bytes, halves_bytes, nb;
    int rows;
} tfm__qmat;

static tfm__qsrc tfm__qmat_tile(const tfm__qmat *w, int t)
{
    tfm__qsrc s;
    const int r0 = t * TFM__QROWS;
    s.p = w->row_bytes ? w->data + (size_t)r0 * w->row_bytes : w->data + (size_t)t * w->tile_bytes;
    s.row_bytes = w->row_bytes;
    s.halves_bytes = w->halves_bytes;
    s.nr = w->rows - r0 < TFM__QROWS ? w->rows - r0 : TFM__QROWS;
    return s;
}

/* row-tile t's 16 outputs `out`, the rows of them in [r0, r1), into y[r - r0] */
static void tfm__qtile_out(float *y, const float *out, int t, int r0, int r1)
{
    const int first = t * TFM__QROWS, lo = first > r0 ? first : r0, hi = first + TFM__QROWS < r1 ? first + TFM__QROWS : r1;
    memcpy(y + (lo - r0), out + (lo - first), (size_t)(hi - lo) * sizeof(float));
}

/* the row-tiles [t, t + n) of w that lie below t1, into s; returns how many */
static int tfm__qmat_tiles(const tfm__qmat *w, int t, int n, int t1, tfm__qsrc *s)
{
    int k;
    for (k = 0; k < n && t + k < t1; k++) s[k] = tfm__qmat_tile(w, t + k);
    return k;
}

/* the row-tiles of a pass of K's dot kernels from tile t on (below t1) into s, those of the next pass
   into next (*nn of them); returns how many s holds. A pass takes one tile of GGML rows, K->packed_tiles
   packed ones: a lone last tile of two goes twice (its second outputs unused), so the packed kernels
   have one body, for a whole pass. */
static int tfm__qdot_pass(const tfm__qkern *K, const tfm__qmat *w, int t, int t1, tfm__qsrc *s, tfm__qsrc *next, int *nn)
{
    const int per_pass = w->row_bytes ? 1 : K->packed_tiles, nt = tfm__qmat_tiles(w, t, per_pass, t1, s);
    if (nt < per_pass) s[1] = s[0];
    *nn = tfm__qmat_tiles(w, t + nt, per_pass, t1, next);
    return nt;
}

/* Y[i][r - r0] for rows r in [r0, r1) inside row-tiles [t0, t1) and the m activation rows, a pass of
   tiles at a time through the dot kernel (which stay in cache while the m rows pass over them; the
   first row prefetches the next pass's) */
static void tfm__qdot_tiles(const tfm__qmat *w, const tfm__qact *a, int m, float *y, size_t ldy, int r0, int r1, int t0, int t1)
{
    const tfm__qkern *K = tfm__qkernels(w->T);
    int t, i, k, nt;
    for (t = t0; t < t1; t += nt) {
        tfm__qsrc s[2], next[2];
        int nn;
        nt = tfm__qdot_pass(K, w, t, t1, s, next, &nn);
        for (i = 0; i < m; i++) {
            float out[2 * TFM__QROWS];
            const tfm__qact ai = tfm__qact_row(a, i);
            K->dot(s, &ai, w->nb, out, next, i == 0 ? nn : 0);
            for (k = 0; k < nt; k++) tfm__qtile_out(y + (size_t)i * ldy, out + k * TFM__QROWS, t + k, r0, r1);
        }
    }
}

/* tfm__qdot_tiles for a few activation rows: a pass of tiles and 4 rows at a time through the
   many-rows dot kernel, which decodes each block once for all of them (the first 4 prefetch the next
   pass's tiles; the next 4 find these in cache) */
static void tfm__qdotm_tiles(const tfm__qmat *w, const tfm__qact *a, int m, float *y, size_t ldy, int r0, int r1, int t0, int t1)
{
    const tfm__qkern *K = tfm__qkernels(w->T);
    int t, i0, k, j, nt;
    for (t = t0; t < t1; t += nt) {
        tfm__qsrc s[2], next[2];
        int nn;
        nt = tfm__qdot_pass(K, w, t, t1, s, next, &nn);
        for (i0 = 0; i0 < m; i0 += 4) {
            float out[2 * 4 * TFM__QROWS];
            const tfm__qact ai = tfm__qact_row(a, i0);
            const int mi = m - i0 < 4 ? m - i0 : 4;
            K->dotm(s, &ai, mi, w->nb, out, next, i0 == 0 ? nn : 0);
            for (j = 0; j < nt; j++)
                for (k = 0; k < mi; k++) tfm__qtile_out(y + (size_t)(i0 + k) * ldy, out + (4 * j + k) * TFM__QROWS, t + j, r0, r1);
        }
    }
}

/* Y[i][16 t ..] for row-tiles [t0, t1) and m >= 4 activation rows: two tiles at a time (one where the
   second would be the matrix's cut last tile, or past t1) decoded a chunk of K at a time, which all m
   rows then pass over (the weights are read once per call) */
static void tfm__qmm_tiles(const tfm__qmat *w, const tfm__qact *a, int m, float *y, size_t ldy, int t0, int t1)
{
    tfm__qtile tile[2];
    const tfm__qkern *K = tfm__qkernels(w->T);
    const size_t kc = TFM__QTILE_ELEMS / w->T->block;
    size_t b0;
    int t, nt;
    for (t = t0; t < t1; t += nt) {
        tfm__qsrc s[2];
        s[0] = tfm__qmat_tile(w, t);
        nt = 1;
        if (t + 1 < t1) {
            s[1] = tfm__qmat_tile(w, t + 1);
            if (s[1].nr == TFM__QROWS) nt = 2;
        }
        for (b0 = 0; b0 < w->nb; b0 += kc) {
            size_t nbk = w->nb - b0 < kc ? w->nb - b0 : kc;
            int k;
            for (k = 0; k < nt; k++) K->decode(&s[k], b0, nbk, &tile[k]);
            K->mm(y + (size_t)t * TFM__QROWS, ldy, tile, nt, nbk, a, b0, m, s[nt - 1].nr, b0 == 0);
        }
    }
}

/* Threads for `weights` multiply-adds of a gemv (or a few-rows gemm): one below TFM__GEMV_MIN_WEIGHTS,
   where waking a second thread and waiting for it costs more than it saves. Measured on one core: a
   288 x 288 q8_0 gemv takes ~4.5 us in the GGML layout and ~1.8 us packed, 768 x 288 ~11 / ~3.7 us; a
   fork/join of an OpenMP team costs ~2-3 us on an idle machine (far more on a busy one). 512K weights
   (2048 x 256) is ~15-25 us plain, ~7-9 us packed. */
#define TFM__GEMV_MIN_WEIGHTS 524288.0
static int tfm__gemv_threads(int n_threads, double weights)
{
    n_threads = tfm__threads(n_threads);
    return weights < TFM__GEMV_MIN_WEIGHTS ? 1 : n_threads;
}

/* activation rows from which a gemm decodes its tiles once into a buffer for all rows; below, the
   many-rows dot kernel decodes each block in registers for 4 rows at a time */
#define TFM__QMM_MIN_ROWS 9

/* Y[i][r - r0] = rows [r0, r1) of W times the m activation rows; the row-tiles split in equal shares
   over the threads (each output computed by one thread, in the one order: no result depends on the
   thread count) */
static void tfm__qmatmul(const tfm__qmat *w, const tfm__qact *a, int m, float *y, size_t ldy, int r0, int r1, int n_threads)
{
    const int t0 = r0 / TFM__QROWS, t1 = (r1 + TFM__QROWS - 1) / TFM__QROWS;
    int th;
    n_threads = tfm__gemv_threads(n_threads, (double)(r1 - r0) * (double)a->cols * (double)m);
    TFM__PARALLEL_FOR(n_threads)
    for (th = 0; th < n_threads; th++) {
        const int a0 = t0 + (t1 - t0) * th / n_threads, a1 = t0 + (t1 - t0) * (th + 1) / n_threads;
        if (a0 >= a1) continue;
        if (m == 1) tfm__qdot_tiles(w, a, m, y, ldy, r0, r1, a0, a1);
        else if (m < TFM__QMM_MIN_ROWS || r0 % TFM__QROWS || r1 != w->rows) tfm__qdotm_tiles(w, a, m, y, ldy, r0, r1, a0, a1);
        else tfm__qmm_tiles(w, a, m, y - r0, ldy, a0, a1);
    }
}

/* ---------------------------------------------------------------- rows, dispatch */

int tfm_quant_supported(tfm_dtype type) { return tfm__qfind(type) != NULL; }

/* the alignment the block structs of a dtype need */
static size_t tfm__dtype_align(tfm_dtype t)
{
    return t == TFM_F32 || t == TFM_Q8_K ? 4 : t == TFM_F16 || t == TFM_BF16 || tfm_dtype_block_size(t) > 1 ? 2 : 1;
}

static int tfm__aligned(const void *p, tfm_dtype t) { return (uintptr_t)p % tfm__dtype_align(t) == 0; }

/* common argument checks of the row functions; *T the dtype's row */
static tfm_status tfm__row_check(tfm_dtype type, const void *a, const void *b, size_t n, const tfm__qtype **T)
{
    if (!a || !b || n == 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!(*T = tfm__qfind(type))) return TFM_ERR_UNSUPPORTED;
    if (n % (*T)->block) return TFM_ERR_SHAPE;
    return TFM_OK;
}

/* n elements of a weight type through its decoder: the levels, scales and fields of each block in the
   float arithmetic GGML's dequantize_row_* does (every product before the last is exact) */
static void tfm__qdequantize(const tfm__qtype *T, const void *x, float *y, size_t n)
{
    tfm__qtile tl;
    tfm__qsrc s;
    const size_t nb = n / T->block, kc = TFM__QTILE_ELEMS / T->block, groups = T->block / T->group;
    size_t b0, b, e;
    s.p = (const unsigned char *)x;
    s.row_bytes = nb * tfm__qblock_bytes(T);
    s.halves_bytes = 0;
    s.nr = 1;
    for (b0 = 0; b0 < nb; b0 += kc) {
        const size_t nbk = nb - b0 < kc ? nb - b0 : kc;
        tfm__qkernels_base(T)->decode(&s, b0, nbk, &tl);
        for (b = 0; b < nbk; b++)
            for (e = 0; e < T->block; e++) {
                const size_t j = b * groups + e / T->group;
                float v = tl.d[b][0] * (float)(groups > 1 ? tl.sc[j][0] : 1);
                v = v * (float)((int)tl.lv[(b * T->block + e) / 4][e % 4] - T->zero);
                if (T->min == TFM__QMIN_ADD) v = v + tl.dm[b][0];
                if (T->min == TFM__QMIN_SUB) v = v - tl.dm[b][0] * (float)tl.mn[j][0];
                y[(b0 + b) * T->block + e] = v;
            }
    }
}

tfm_status tfm_quantize_row(tfm_dtype type, const float *src, void *dst, size_t n)
{
    const tfm__qtype *T = NULL;
    tfm_status s = tfm__row_check(type, src, dst, n, &T);
    if (s != TFM_OK) return s;
    if (!tfm__aligned(dst, type)) return TFM_ERR_INVALID_ARGUMENT;
    T->quantize(src, dst, n / T->block);
    return TFM_OK;
}

tfm_status tfm_dequantize_row(tfm_dtype type, const void *src, float *dst, size_t n)
{
    const tfm__qtype *T = NULL;
    tfm_status s = tfm__row_check(type, src, dst, n, &T);
    if (s != TFM_OK) return s;
    if (!tfm__aligned(src, type)) return TFM_ERR_INVALID_ARGUMENT;
    if (T->dequantize) T->dequantize(src, dst, n / T->block);
    else tfm__qdequantize(T, src, dst, n);
    return TFM_OK;
}

tfm_status tfm_quantize(tfm_dtype type, const float *src, void *dst, size_t rows, size_t cols, int n_threads)
{
    const tfm__qtype *T = tfm__qfind(type);
    size_t row_bytes = 0;
    long long r;
    tfm_status s;
    if (!src || !dst || rows == 0 || cols == 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!T) return TFM_ERR_UNSUPPORTED;
    s = tfm_dtype_row_bytes(type, cols, &row_bytes);
    if (s != TFM_OK) return s;
    if (rows > (size_t)LLONG_MAX || rows > SIZE_MAX / row_bytes || rows > SIZE_MAX / cols) return TFM_ERR_OUT_OF_RANGE;
    /* every row starts aligned when the first does: row_bytes is a whole number of blocks */
    if (!tfm__aligned(dst, type)) return TFM_ERR_INVALID_ARGUMENT;
    n_threads = tfm__threads(n_threads);
    TFM__PARALLEL_FOR((double)rows * (double)cols >= 65536.0 ? n_threads : 1)
    for (r = 0; r < (long long)rows; r++) /* rows checked above: nothing to report per row */
        T->quantize(src + (size_t)r * cols, (unsigned char *)dst + (size_t)r * row_bytes, cols / T->block);
    return TFM_OK;
}

tfm_dtype tfm_quant_vec_dot_type(tfm_dtype wtype)
{
    const tfm__qtype *T = tfm__qfind(wtype);
    return T && (T->kernels != TFM__QK_NONE || T->block == 1) ? T->act : TFM_DTYPE_COUNT; /* an enumerator: -1 is outside the enum's values in C++ */
}

/* checks shared by the kernels on GGML rows: a weight type, k a multiple of its block, rows addressable
   by the gathers (16 rows within 2^31 bytes) */
static tfm_status tfm__qcheck(tfm_dtype wtype, const void *w, int n, int k, tfm__qmat *m)
{
    memset(m, 0, sizeof *m);
    if (!(m->T = tfm__qweight(wtype))) return TFM_ERR_UNSUPPORTED;
    if ((size_t)k % m->T->block) return TFM_ERR_SHAPE;
    if (!tfm__aligned(w, wtype)) return TFM_ERR_INVALID_ARGUMENT;
    m->nb = (size_t)k / m->T->block;
    m->row_bytes = m->nb * tfm__qblock_bytes(m->T);
    if (m->row_bytes > INT32_MAX / TFM__QROWS || (size_t)n > SIZE_MAX / m->row_bytes) return TFM_ERR_OUT_OF_RANGE;
    m->data = (const unsigned char *)w;
    m->rows = n;
    return TFM_OK;
}

tfm_status tfm_quant_vec_dot(tfm_dtype wtype, const void *w, const void *xq, size_t n, float *out)
{
    unsigned char stack[TFM_QUANT_STACK_COLS + TFM_QUANT_STACK_COLS / 2 + 256], *ws;
    const tfm__qtype *A;
    tfm__qact_rows r;
    tfm__qmat m;
    tfm__qsrc s;
    float y16[TFM__QROWS];
    size_t b, bytes;
    tfm_status st;
    if (!w || !xq || !out || n == 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!tfm__qweight(wtype)) return TFM_ERR_UNSUPPORTED;
    if (n > INT32_MAX) return TFM_ERR_OUT_OF_RANGE;
    if ((st = tfm__qcheck(wtype, w, 1, (int)n, &m)) != TFM_OK) return st;
    A = tfm__qfind(m.T->act);
    if (!tfm__aligned(xq, A->type)) return TFM_ERR_INVALID_ARGUMENT;
    bytes = tfm__qact_bytes(1, n, m.nb);
    ws = bytes <= sizeof stack ? stack : (unsigned char *)TFM_MALLOC(bytes);
    if (!ws) return TFM_ERR_OUT_OF_MEMORY;
    tfm__qact_init(&r, ws, 1, n, m.nb);
    for (b = 0; b < m.nb; b++) tfm__qact_block(&r, 0, b, A, (const unsigned char *)xq + b * tfm_dtype_block_bytes(A->type));
    tfm__qact_sums(&r, 0);
    s = tfm__qmat_tile(&m, 0);
    tfm__qkernels(m.T)->dot(&s, &r.a, m.nb, y16, NULL, 0);
    *out = y16[0];
    if (ws != stack) TFM_FREE(ws);
    return TFM_OK;
}

/* ---------------------------------------------------------------- gemv / gemm */

tfm_status tfm_quant_gemv(float *y, tfm_dtype wtype, const void *w, const float *x, int rows, int cols, int n_threads)
{
    unsigned char stack[TFM_QUANT_STACK_COLS + TFM_QUANT_STACK_COLS / 2 + 256], *ws;
    tfm__qact_rows r;
    tfm__qmat m;
    size_t bytes;
    tfm_status s;
    if (!y || !w || !x || rows <= 0 || cols <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (wtype == TFM_F32 || wtype == TFM_F16 || wtype == TFM_BF16) return tfm_gemv(y, wtype, w, x, rows, cols, n_threads);
    if ((s = tfm__qcheck(wtype, w, rows, cols, &m)) != TFM_OK) return s;
    bytes = tfm__qact_bytes(1, (size_t)cols, m.nb);
    ws = bytes <= sizeof stack ? stack : (unsigned char *)TFM_MALLOC(bytes);
    if (!ws) return TFM_ERR_OUT_OF_MEMORY;
    tfm__qact_init(&r, ws, 1, (size_t)cols, m.nb);
    tfm__qact_quantize(&r, tfm__qfind(m.T->act), x, (size_t)cols, 1, 1);
    tfm__qmatmul(&m, &r.a, 1, y, 0, 0, rows, n_threads);
    if (ws != stack) TFM_FREE(ws);
    return TFM_OK;
}

size_t tfm_quant_workspace_size(tfm_dtype wtype, int m, int k)
{
    const tfm__qtype *T = tfm__qweight(wtype);
    if (!T || m <= 0 || k <= 0 || (size_t)k % T->block) return 0;
    if ((size_t)m > (SIZE_MAX / 4 - 1024) / ((size_t)k + 64)) return 0;
    return tfm__qact_bytes((size_t)m, (size_t)k, (size_t)k / T->block);
}

tfm_status tfm_quant_gemm_ws(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype, const void *w, int m, int n, int k,
                             int n_threads, void *ws, size_t ws_bytes)
{
    tfm__qact_rows r;
    tfm__qmat mat;
    tfm_status s;
    if (!y || !x || !w || m <= 0 || n <= 0 || k <= 0 || ldx < (size_t)k || ldy < (size_t)n) return TFM_ERR_INVALID_ARGUMENT;
    if (wtype == TFM_F32 || wtype == TFM_F16 || wtype == TFM_BF16) return tfm_gemm(y, ldy, x, ldx, wtype, w, m, n, k, n_threads);
    if ((s = tfm__qcheck(wtype, w, n, k, &mat)) != TFM_OK) return s;
    if (!ws || ws_bytes < tfm_quant_workspace_size(wtype, m, k)) return TFM_ERR_INVALID_ARGUMENT;
    n_threads = tfm__threads(n_threads);
    tfm__qact_init(&r, ws, (size_t)m, (size_t)k, mat.nb);
    tfm__qact_quantize(&r, tfm__qfind(mat.T->act), x, ldx, m, n_threads);
    tfm__qmatmul(&mat, &r.a, m, y, ldy, 0, n, n_threads);
    return TFM_OK;
}

tfm_status tfm_quant_gemm(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype, const void *w, int m, int n, int k,
                          int n_threads)
{
    size_t bytes;
    void *ws;
    tfm_status s;
    if (wtype == TFM_F32 || wtype == TFM_F16 || wtype == TFM_BF16) return tfm_gemm(y, ldy, x, ldx, wtype, w, m, n, k, n_threads);
    bytes = tfm_quant_workspace_size(wtype, m, k);
    if (bytes == 0) return tfm_quant_gemm_ws(y, ldy, x, ldx, wtype, w, m, n, k, n_threads, NULL, 0);
    ws = TFM_MALLOC(bytes);
    if (!ws) return TFM_ERR_OUT_OF_MEMORY;
    s = tfm_quant_gemm_ws(y, ldy, x, ldx, wtype, w, m, n, k, n_threads, ws, bytes);
    TFM_FREE(ws);
    return s;
}

/* ---------------------------------------------------------------- packed weights */

int tfm_quant_packable(tfm_dtype wtype) { return tfm__qweight(wtype) != NULL; }

/* rows [0, nr) of GGML rows at w (row_bytes apart) -> one row-tile at dst (rows past nr repeat the last) */
static void tfm__qpack_tile(unsigned char *dst, const tfm__qtype *T, const unsigned char *w, size_t row_bytes, int nr, size_t nb)
{
    const size_t bb = tfm__qblock_bytes(T), hb = tfm__qhalves_bytes(T, nb);
    size_t b;
    int r, f, v;
    memset(dst, 0, hb);
    for (r = 0; r < TFM__QROWS; r++) {
        const unsigned char *row = w + (size_t)(r < nr ? r : nr - 1) * row_bytes;
        for (b = 0; b < nb; b++) {
            const unsigned char *blk = row + b * bb;
            for (f = 0; f < T->n_halves; f++) memcpy(dst + (b * T->n_halves + (size_t)f) * TFM__QHALF_BYTES + 2 * r, blk + T->half_at[f], 2);
            for (v = 0; v < T->body_words; v++)
                memcpy(dst + hb + (b * T->body_words + (size_t)v) * TFM__QVEC_BYTES + 4 * r, blk + T->body_at + 4 * v, 4);
        }
    }
}

/* The bytes of the packed copy of rows x cols of wtype (0: the arguments are refused; the reason in *status) */
static size_t tfm__qpack_bytes(tfm_dtype wtype, const void *w, int rows, int cols, tfm_status *status)
{
    const tfm__qtype *T;
    size_t tile_bytes, tiles;
    *status = TFM_ERR_INVALID_ARGUMENT;
    if (!w || rows <= 0 || cols <= 0) return 0;
    if (!(T = tfm__qweight(wtype))) return *status = TFM_ERR_UNSUPPORTED, 0;
    if ((size_t)cols % T->block) return *status = TFM_ERR_SHAPE, 0;
    if (!tfm__aligned(w, wtype)) return 0;
    tile_bytes = tfm__qtile_bytes(T, (size_t)cols / T->block);
    tiles = ((size_t)rows + TFM__QROWS - 1) / TFM__QROWS;
    if (tiles > SIZE_MAX / tile_bytes) return *status = TFM_ERR_OUT_OF_RANGE, 0;
    *status = TFM_OK;
    return tiles * tile_bytes;
}

/* tfm_quant_pack into data (64-byte aligned, tfm__qpack_bytes long): out does not own it */
static void tfm__qpack_into(tfm_quant_packed *out, tfm_dtype wtype, const void *w, int rows, int cols, int n_threads,
                            unsigned char *data)
{
    const tfm__qtype *T = tfm__qweight(wtype);
    const size_t nb = (size_t)cols / T->block, row_bytes = nb * tfm__qblock_bytes(T), tile_bytes = tfm__qtile_bytes(T, nb);
    const int tiles = (rows + TFM__QROWS - 1) / TFM__QROWS;
    int t;
    n_threads = tfm__threads(n_threads);
    TFM__PARALLEL_FOR((double)rows * (double)cols >= 65536.0 ? n_threads : 1)
    for (t = 0; t < tiles; t++) {
        const int r0 = t * TFM__QROWS;
        tfm__qpack_tile(data + (size_t)t * tile_bytes, T, (const unsigned char *)w + (size_t)r0 * row_bytes, row_bytes,
                        rows - r0 < TFM__QROWS ? rows - r0 : TFM__QROWS, nb);
    }
    out->dtype = wtype;
    out->rows = rows;
    out->cols = cols;
    out->bytes = (size_t)tiles * tile_bytes;
    out->data = data;
}

tfm_status tfm_quant_pack(tfm_quant_packed *out, tfm_dtype wtype, const void *w, int rows, int cols, int n_threads)
{
    tfm_status status;
    size_t bytes;
    unsigned char *data;
    if (!out) return TFM_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (!(bytes = tfm__qpack_bytes(wtype, w, rows, cols, &status))) return status;
    if (!(data = (unsigned char *)tfm__alloc_streamed(bytes))) return TFM_ERR_OUT_OF_MEMORY;
    tfm__qpack_into(out, wtype, w, rows, cols, n_threads, data);
    return TFM_OK;
}

void tfm_quant_packed_free(tfm_quant_packed *p)
{
    if (!p) return;
    tfm_aligned_free(p->data);
    memset(p, 0, sizeof *p);
}

/* the packed matrix as the kernels walk it; 0 if it is not one */
static int tfm__qpacked_mat(const tfm_quant_packed *w, tfm__qmat *m)
{
    memset(m, 0, sizeof *m);
    if (!w || !w->data || w->rows <= 0 || w->cols <= 0 || !(m->T = tfm__qweight(w->dtype)) || (size_t)w->cols % m->T->block) return 0;
    m->data = (const unsigned char *)w->data;
    m->nb = (size_t)w->cols / m->T->block;
    m->tile_bytes = tfm__qtile_bytes(m->T, m->nb);
    m->halves_bytes = tfm__qhalves_bytes(m->T, m->nb);
    m->rows = w->rows;
    return 1;
}

tfm_status tfm_quant_packed_gemv(float *y, const tfm_quant_packed *w, const float *x, int r0, int r1, int n_threads)
{
    unsigned char stack[TFM_QUANT_STACK_COLS + TFM_QUANT_STACK_COLS / 2 + 256], *ws;
    tfm__qact_rows r;
    tfm__qmat m;
    size_t bytes;
    if (!y || !x || !tfm__qpacked_mat(w, &m) || r0 < 0 || r1 > w->rows || r0 >= r1) return TFM_ERR_INVALID_ARGUMENT;
    bytes = tfm__qact_bytes(1, (size_t)w->cols, m.nb);
    ws = bytes <= sizeof stack ? stack : (unsigned char *)TFM_MALLOC(bytes);
    if (!ws) return TFM_ERR_OUT_OF_MEMORY;
    tfm__qact_init(&r, ws, 1, (size_t)w->cols, m.nb);
    tfm__qact_quantize(&r, tfm__qfind(m.T->act), x, (size_t)w->cols, 1, 1);
    tfm__qmatmul(&m, &r.a, 1, y, 0, r0, r1, n_threads);
    if (ws != stack) TFM_FREE(ws);
    return TFM_OK;
}

tfm_status tfm_quant_packed_gemm(float *y, size_t ldy, const float *x, size_t ldx, const tfm_quant_packed *w, int m, int n_threads,
                                 void *ws, size_t ws_bytes)
{
    tfm__qact_rows r;
    tfm__qmat mat;
    size_t bytes;
    void *own = NULL;
    if (!y || !x || !tfm__qpacked_mat(w, &mat) || m <= 0 || ldx < (size_t)w->cols || ldy < (size_t)w->rows) return TFM_ERR_INVALID_ARGUMENT;
    bytes = tfm_quant_workspace_size(w->dtype, m, w->cols);
    if (bytes == 0) return TFM_ERR_OUT_OF_RANGE;
    if (ws && ws_bytes < bytes) return TFM_ERR_INVALID_ARGUMENT;
    if (!ws && !(own = ws = TFM_MALLOC(bytes))) return TFM_ERR_OUT_OF_MEMORY;
    n_threads = tfm__threads(n_threads);
    tfm__qact_init(&r, ws, (size_t)m, (size_t)w->cols, mat.nb);
    tfm__qact_quantize(&r, tfm__qfind(mat.T->act), x, ldx, m, n_threads);
    tfm__qmatmul(&mat, &r.a, m, y, ldy, 0, w->rows, n_threads);
    TFM_FREE(own);
    return TFM_OK;
}

#ifdef __cplusplus
}
#endif

#if defined(__clang__)
#pragma STDC FP_CONTRACT DEFAULT
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

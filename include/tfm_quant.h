/* tfm_quant.h - GGML-compatible block quantization and int8 kernels for tfm.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     Block formats with GGML's exact byte layouts (so GGUF tensors load unchanged and ours load in
     llama.cpp): Q8_0, Q4_0, Q4_1, the k-quants Q4_K and Q6_K, and the activation formats Q8_1 and Q8_K
     they pair with. Quantize (f32 -> blocks, GGML's reference rounding), dequantize, whole-matrix
     quantization; quantized dot products, gemv and gemm whose activations are quantized on the fly and
     whose products run in int8 (AVX-512 VNNI, AVX-VNNI, AVX2, NEON dot product, scalar). (The int8
     KV-cache rows live with the KV cache, in tfm_attention.h.)

   USAGE
     #define TFM_IMPLEMENTATION in one file before including (it implements tfm_tensor.h too).
     tfm_quant_gemv / tfm_quant_gemm take the same arguments as tfm_gemv / tfm_gemm and accept every
     supported weight dtype (f32, f16, bf16 are forwarded to tfm_gemv / tfm_gemm), so a model calls them
     for every weight matrix whatever its type.

   THE FORMATS (little-endian; "fp16" is IEEE binary16, elements numbered 0..block-1)
     q8_0  34 B / 32: fp16 d, int8 q[32]; x = d*q.
     q8_1  36 B / 32: fp16 d, fp16 s = d*sum(q), int8 q[32]; x = d*q. (activations of q4_1)
     q4_0  18 B / 32: fp16 d, 16 bytes; element j is the low nibble of byte j, element j+16 the high
           nibble; x = d*(q-8).
     q4_1  20 B / 32: fp16 d, fp16 m, nibbles as q4_0; x = d*q + m.
     q4_k 144 B / 256: fp16 d, fp16 dmin, 12 bytes of eight 6-bit scales sc and mins mn, 128 bytes of
           nibbles. Sub-block j (32 elements): for j < 4, sc = b[j] & 63, mn = b[j+4] & 63; for j >= 4,
           sc = (b[j+4] & 15) | (b[j-4] >> 6) << 4, mn = (b[j+4] >> 4) | (b[j] >> 6) << 4. Bytes 32c..32c+31
           hold elements 64c+l in their low nibbles and 64c+32+l in their high nibbles; x = d*sc*q - dmin*mn.
     q6_k 210 B / 256: ql[128], qh[64], int8 scales[16], fp16 d. In each half h (128 elements, ql+64h,
           qh+32h), for l < 32: element l = ql[l] low | (qh[l] bits 0-1) << 4, element l+32 = ql[l+32] low
           | bits 2-3, element l+64 = ql[l] high | bits 4-5, element l+96 = ql[l+32] high | bits 6-7;
           x = d * scales[e/16] * (q-32).
     q8_k 292 B / 256: float d, int8 q[256], int16 bsums[16] (sums of each 16 q's); x = d*q.

   ROUNDING (GGML's quantize_row_*_ref, reproduced operation for operation)
     q8_0, q8_1: d = amax/127, q = roundf(x/d) (ties away from zero), with x/d computed as x*(1/d).
     q4_0: d = v/-8 where v is the first element of largest magnitude (sign kept), q = min(15,
           trunc(x*(1/d) + 8.5)). q4_1: d = (max-min)/15, m = min, q = min(15, trunc((x-min)*(1/d) + 0.5)).
     q4_k: per sub-block, make_qkx2_quants (weights sqrt(mean x^2) + |x|, 21 candidate scales) finds
           scale and min; they are quantized to 6 bits against their maxima, then every element is
           re-quantized with the stored scales.
     q6_k: per 16 elements, make_qx_quants (rmse_type 1, 19 candidate scales); the scales are
           quantized to int8 against the largest, then every element is re-quantized.
     q8_k: q = min(127, nearest(x * -127/v)) with v as in q4_0, d = 1/(-127/v).
     Q8_0, Q8_1, Q4_0, Q4_1 results equal llama.cpp's byte for byte (tested against a llama.cpp-made
     GGUF for Q8_0). Q4_K and Q6_K follow the reference code exactly when floating-point contraction
     is off (gcc and g++ in ISO modes, and clang, which this file asks with #pragma STDC FP_CONTRACT);
     llama.cpp itself builds them in GNU mode where the compiler may fuse multiply-adds, so a rare
     element may differ from a particular llama.cpp binary. Non-finite inputs give unspecified but
     safe output (no undefined behaviour).

   KERNELS
     Activations are quantized per row to tfm_quant_vec_dot_type(wtype): q8_0 for q8_0/q4_0 weights,
     q8_1 for q4_1 (its sum term carries the minimum), q8_k for q4_k/q6_k, as GGML does. Each block's
     (or super-block's) integer dot product is computed exactly in int32; the row result is then
     accumulated in one fixed order: acc = fma((float)isum_b, dw_b*dx_b, acc) over the blocks b
     (plus acc = fma(m_b, s_b, acc) for q4_1 and acc = fma(-(float)msum_b, dmin_b*dx_b, acc) for
     q4_k). Every path (scalar, AVX2, AVX-512, NEON) and every kernel shape (vec_dot, gemv, gemm
     tiles) follows that order, so results are identical bit for bit across paths, thread counts and
     batch sizes: a row of a gemm equals the gemv of that row.

   SPEED
     A decode step reads every weight once: bytes per weight are 1.0625 (q8_0), 0.5625 (q4_0, q4_k),
     0.625 (q4_1), 0.8203 (q6_k), so one core reading ~16.5 GB/s must multiply-add ~29 G q4_0 weights
     a second (10 per cycle at 2.9 GHz). A gemv is memory-bound only if its in-cache rate is well above
     that, since one core does not fully overlap compute and its reads; the 4-row kernel below (~14
     micro-ops per q4_0 block and row) ran at about the memory rate in cache and half of it cold.
     On AVX-512 (VBMI, VNNI) the gemv of q8_0, q4_0 and q4_1 takes 16 rows x 4 blocks per step in the
     GGML layout: a byte permute (q4_0: a funnel shift) puts each row's blocks in front of prepared
     activation vectors, vpdpbusd, a reduction to one isum per (row, block), the scales gathered by
     dword permutes; it prefetches the next 16 rows into L2 as it goes (~2x in cache, 85-95% of the
     read bandwidth cold on one core). The other builds and dtypes walk 4 rows at a time, each block's
     4 isums reduced together. gemm with m >= 4 on AVX-512 VNNI repacks 16 weight rows per block into
     vpdpbusd order (lane r = row r) and runs 4 activation rows per pass, K in chunks that stay in
     cache, so weight bytes are read once per call and every block costs 8 vpdpbusd per 16 rows x 4
     tokens. Fastest of all: packed weights (below), repacked once at load into that vpdpbusd order
     (3-4x the 4-row kernel in cache, 90-100% of the read bandwidth cold, on 1 and 2 threads).

   PACKED WEIGHTS (tfm_quant_pack; AVX-512 VNNI builds, q8_0 q4_0 q4_1 q4_k q6_k)
     A model that calls tfm_quant_pack once per weight matrix at load, and then tfm_quant_packed_gemv /
     tfm_quant_packed_gemm instead of tfm_quant_gemv / tfm_quant_gemm, gets the same results bit for bit
     at 2-4 times the in-cache speed (no shuffles: each block of 16 rows is a few aligned loads and
     vpdpbusd against broadcast activations). The cost is one more copy of each packed matrix (the
     original's size; 2.8% more for q4_k, 1% for q6_k); the original can be dropped unless its rows are
     read elsewhere.

   THREADS
     n_threads splits a gemv's rows in equal shares of 16-row blocks (or 64-row chunks), but only above
     512K multiply-adds (TFM__GEMV_MIN_WEIGHTS): below, one thread's work is shorter than waking a
     second one. A caller running its own thread team (a model, one team per step) passes 1 and gives
     each thread a row range (tfm_quant_packed_gemv takes r0, r1; for plain rows, offset the pointer);
     ranges on multiples of 16 rows waste nothing.

   SCRATCH
     tfm_quant_gemv quantizes x into a buffer on the stack (at most 32 KB) when cols <=
     TFM_QUANT_STACK_COLS (16384), and allocates it otherwise (so does tfm_quant_packed_gemv). tfm_quant_gemm allocates its workspace
     per call; a model that must not allocate uses tfm_quant_gemm_ws (or tfm_quant_packed_gemm) with a
     buffer of tfm_quant_workspace_size(wtype, m, k) bytes (m = 1 is a gemv), e.g. carved once from its
     arena. The gemm tiles repack into about 44 KB of stack per thread.

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

/* The blocks, byte for byte GGML's (sizes 34, 36, 18, 20, 144, 210, 292). fp16 fields hold raw bits. */
typedef struct tfm_block_q8_0 { uint16_t d; int8_t qs[TFM_QK]; } tfm_block_q8_0;
typedef struct tfm_block_q8_1 { uint16_t d, s; int8_t qs[TFM_QK]; } tfm_block_q8_1;
typedef struct tfm_block_q4_0 { uint16_t d; uint8_t qs[TFM_QK / 2]; } tfm_block_q4_0;
typedef struct tfm_block_q4_1 { uint16_t d, m; uint8_t qs[TFM_QK / 2]; } tfm_block_q4_1;
typedef struct tfm_block_q4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[TFM_QK_K / 2]; } tfm_block_q4_K;
typedef struct tfm_block_q6_K { uint8_t ql[TFM_QK_K / 2]; uint8_t qh[TFM_QK_K / 4]; int8_t scales[TFM_QK_K / 16]; uint16_t d; } tfm_block_q6_K;
typedef struct tfm_block_q8_K { float d; int8_t qs[TFM_QK_K]; int16_t bsums[TFM_QK_K / 16]; } tfm_block_q8_K;

/* 1 if tfm_quantize_row / tfm_dequantize_row handle the dtype: f32 f16 bf16 q8_0 q8_1 q4_0 q4_1
   q4_k q6_k q8_k. */
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
   f32/f16/bf16; -1 cast to tfm_dtype for dtypes without kernels. */
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
   A matrix of q8_0, q4_0, q4_1, q4_k or q6_k rows, repacked once into a tfm-private layout (16 rows
   interleaved per block) that the AVX-512 VNNI kernels read with no shuffles; the results equal tfm_quant_gemv /
   tfm_quant_gemm on the original rows bit for bit. Memory: one more copy of the matrix (the original's
   size, plus at most 64 bytes per 16 rows, 2.8% for q4_k, 1% for q6_k), owned by the caller; the original may be freed or unmapped afterwards
   unless something else reads its rows (an embedding table, a tied classifier's lookups). */
typedef struct tfm_quant_packed {
    tfm_dtype dtype; /* of the original rows */
    int rows, cols;
    size_t bytes;    /* of data */
    void *data;      /* the layout, 64-byte aligned (tfm_aligned_alloc; tfm_quant_packed_free) */
} tfm_quant_packed;

/* 1 if this build has packed kernels for weights of wtype (x86 with AVX-512 VNNI: q8_0, q4_0, q4_1,
   q4_k, q6_k), else 0 (a model then keeps the plain rows). */
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
#include <string.h>

#if defined(__clang__)
/* The reference quantizers must round every product on its own, as GGML's source reads. */
#pragma STDC FP_CONTRACT OFF
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* the int8 kernels' path: x86 (AVX2 or AVX-512 builds, both with FMA and F16C), NEON, or scalar */
#if (defined(TFM__SIMD_AVX512) || defined(TFM__SIMD_AVX2)) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define TFM__Q_X86 1
#elif defined(TFM__SIMD_NEON)
#define TFM__Q_NEON 1
#else
#define TFM__Q_SCALAR 1
#endif

/* ---------------------------------------------------------------- rounding helpers */

/* (int)roundf(v) clamped to [lo, hi] (|lo|, |hi| < 2^23); NaN gives 0. Equals GGML's roundf + int8
   conversion on the values its quantizers produce, without undefined behaviour on others. Rounded
   here rather than by libm's roundf: the fraction v - trunc(v) is exact, and a call into libm from
   AVX-512 code can cost a state transition per element. (x86 rounds 8 lanes at a time the same way:
   tfm__x86_round32.) */
#if !defined(TFM__Q_X86)
static int tfm__round_clamp(float v, int lo, int hi)
{
    int i;
    float frac;
    /* selects rather than branches: the inputs are data, the branches would mispredict */
    v = v == v ? v : 0.0f;
    v = v < (float)lo ? (float)lo : v;
    v = v > (float)hi ? (float)hi : v;
    i = (int)v;
    frac = v - (float)i;
    return i + (frac >= 0.5f) - (frac <= -0.5f);
}
#endif

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

#if defined(TFM__Q_X86)
/* max |x| over 32 values, as the scalar loop's amax > a ? amax : a (for finite x the order of the
   comparisons does not matter) */
static float tfm__x86_amax32(const float *x)
{
    __m256 sign = _mm256_set1_ps(-0.0f), m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
    __m128 h;
    int i;
    for (i = 8; i < 32; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* q[i] = tfm__round_clamp(x[i] * id, -127, 127) for 32 values, 8 lanes at a time */
static void tfm__x86_round32(const float *x, float id, int8_t *q)
{
    const __m256 vid = _mm256_set1_ps(id), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    const __m256 half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f);
    __m256i r[4], p;
    int i;
    for (i = 0; i < 4; i++) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), vid), f;
        __m256i t;
        v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
        v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        t = _mm256_cvttps_epi32(v);
        f = _mm256_sub_ps(v, _mm256_cvtepi32_ps(t)); /* exact */
        t = _mm256_sub_epi32(t, _mm256_castps_si256(_mm256_cmp_ps(f, half, _CMP_GE_OQ)));
        r[i] = _mm256_add_epi32(t, _mm256_castps_si256(_mm256_cmp_ps(f, mhalf, _CMP_LE_OQ)));
    }
    /* the packs interleave 128-bit lanes: 4-byte groups come out as 0 2 4 6 1 3 5 7 */
    p = _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]), _mm256_packs_epi32(r[2], r[3]));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)(void *)q, p);
}

/* q[i] = clamp(nearest_int(x[i] * iscale), -128, 127) for 32 finite values (vcvtps2dq rounds half
   to even like nearest_int) */
static void tfm__x86_nearest32(const float *x, float iscale, int8_t *q)
{
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i lo = _mm256_set1_epi32(-128), hi = _mm256_set1_epi32(127);
    __m256i r[4], p;
    int i;
    for (i = 0; i < 4; i++)
        r[i] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), vs)), lo), hi);
    p = _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]), _mm256_packs_epi32(r[2], r[3]));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)(void *)q, p);
}
#endif

static void tfm__quantize_q8_0(const float *x, tfm_block_q8_0 *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        float amax = 0.0f, d, id;
#if defined(TFM__Q_X86)
        amax = tfm__x86_amax32(x);
#else
        for (j = 0; j < TFM_QK; j++) {
            float a = fabsf(x[j]);
            amax = amax > a ? amax : a;
        }
#endif
        d = amax / 127.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = tfm_f32_to_f16(d);
#if defined(TFM__Q_X86)
        tfm__x86_round32(x, id, y[i].qs);
        (void)j;
#else
        for (j = 0; j < TFM_QK; j++) y[i].qs[j] = (int8_t)tfm__round_clamp(x[j] * id, -127, 127);
#endif
    }
}

static void tfm__quantize_q8_1(const float *x, tfm_block_q8_1 *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        float amax = 0.0f, d, id;
        int sum = 0;
#if defined(TFM__Q_X86)
        amax = tfm__x86_amax32(x);
#else
        for (j = 0; j < TFM_QK; j++) {
            float a = fabsf(x[j]);
            amax = amax > a ? amax : a;
        }
#endif
        d = amax / 127.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = tfm_f32_to_f16(d);
#if defined(TFM__Q_X86)
        tfm__x86_round32(x, id, y[i].qs);
#else
        for (j = 0; j < TFM_QK; j++) y[i].qs[j] = (int8_t)tfm__round_clamp(x[j] * id, -127, 127);
#endif
        for (j = 0; j < TFM_QK; j++) sum += y[i].qs[j];
        y[i].s = tfm_f32_to_f16((float)sum * d);
    }
}

static void tfm__quantize_q4_0(const float *x, tfm_block_q4_0 *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        float amax = 0.0f, max = 0.0f, d, id;
        for (j = 0; j < TFM_QK; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        d = max / -8.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = tfm_f32_to_f16(d);
        for (j = 0; j < TFM_QK / 2; j++) {
            int lo = tfm__trunc_clamp(x[j] * id + 8.5f, 15);
            int hi = tfm__trunc_clamp(x[j + TFM_QK / 2] * id + 8.5f, 15);
            y[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

static void tfm__quantize_q4_1(const float *x, tfm_block_q4_1 *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        float min = FLT_MAX, max = -FLT_MAX, d, id;
        for (j = 0; j < TFM_QK; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        d = (max - min) / 15.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = tfm_f32_to_f16(d);
        y[i].m = tfm_f32_to_f16(min);
        for (j = 0; j < TFM_QK / 2; j++) {
            int lo = tfm__trunc_clamp((x[j] - min) * id + 0.5f, 15);
            int hi = tfm__trunc_clamp((x[j + TFM_QK / 2] - min) * id + 0.5f, 15);
            y[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

static void tfm__dequantize_q8_0(const tfm_block_q8_0 *x, float *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++, y += TFM_QK) {
        float d = tfm_f16_to_f32(x[i].d);
        for (j = 0; j < TFM_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

static void tfm__dequantize_q8_1(const tfm_block_q8_1 *x, float *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++, y += TFM_QK) {
        float d = tfm_f16_to_f32(x[i].d);
        for (j = 0; j < TFM_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

static void tfm__dequantize_q4_0(const tfm_block_q4_0 *x, float *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++, y += TFM_QK) {
        float d = tfm_f16_to_f32(x[i].d);
        for (j = 0; j < TFM_QK / 2; j++) {
            y[j] = (float)((x[i].qs[j] & 15) - 8) * d;
            y[j + TFM_QK / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void tfm__dequantize_q4_1(const tfm_block_q4_1 *x, float *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++, y += TFM_QK) {
        float d = tfm_f16_to_f32(x[i].d), m = tfm_f16_to_f32(x[i].m);
        for (j = 0; j < TFM_QK / 2; j++) {
            float lo = (float)(x[i].qs[j] & 15) * d, hi = (float)(x[i].qs[j] >> 4) * d;
            y[j] = lo + m;
            y[j + TFM_QK / 2] = hi + m;
        }
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
   squares over nstep+1 candidate scales (use_mad false: squared error). Returns the scale and
   stores -min in *the_min. n <= 32. */
static float tfm__make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                                   float rmin, float rdelta, int nstep)
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
        diff = diff * diff;
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
                diff = diff * diff;
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

static void tfm__quantize_q4_K(const float *x, tfm_block_q4_K *y, size_t nb)
{
    uint8_t L[TFM_QK_K];
    float weights[32], mins[8], scales[8];
    size_t i;
    int j, l, sc[8], mn[8];
    for (i = 0; i < nb; i++, x += TFM_QK_K) {
        float max_scale = 0.0f, max_min = 0.0f, inv_scale, inv_min, d, dmin;
        for (j = 0; j < 8; j++) {
            float sum_x2 = 0.0f, av_x;
            for (l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
            av_x = sqrtf(sum_x2 / 32.0f);
            for (l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
            scales[j] = tfm__make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], -1.0f, 0.1f, 20);
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
                y[i].scales[j] = (uint8_t)ls;
                y[i].scales[j + 4] = (uint8_t)lm;
            } else {
                y[i].scales[j + 4] = (uint8_t)((ls & 15) | ((lm & 15) << 4));
                y[i].scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
                y[i].scales[j] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        y[i].d = tfm_f32_to_f16(max_scale / 63.0f);
        y[i].dmin = tfm_f32_to_f16(max_min / 63.0f);
        d = tfm_f16_to_f32(y[i].d);
        dmin = tfm_f16_to_f32(y[i].dmin);
        tfm__q4k_unpack(y[i].scales, sc, mn);
        for (j = 0; j < 8; j++) {
            float ds = d * (float)sc[j], dm;
            if (ds == 0.0f) continue;
            dm = dmin * (float)mn[j];
            for (l = 0; l < 32; l++) L[32 * j + l] = (uint8_t)tfm__imax(0, tfm__imin(15, tfm__nearest_int((x[32 * j + l] + dm) / ds)));
        }
        for (j = 0; j < 4; j++)
            for (l = 0; l < 32; l++) y[i].qs[32 * j + l] = (uint8_t)(L[64 * j + l] | (L[64 * j + 32 + l] << 4));
    }
}

static void tfm__dequantize_q4_K(const tfm_block_q4_K *x, float *y, size_t nb)
{
    size_t i;
    int j, l, sc[8], mn[8];
    for (i = 0; i < nb; i++) {
        float d = tfm_f16_to_f32(x[i].d), dmin = tfm_f16_to_f32(x[i].dmin);
        tfm__q4k_unpack(x[i].scales, sc, mn);
        for (j = 0; j < 4; j++) {
            const uint8_t *q = x[i].qs + 32 * j;
            float d1 = d * (float)sc[2 * j], m1 = dmin * (float)mn[2 * j];
            float d2 = d * (float)sc[2 * j + 1], m2 = dmin * (float)mn[2 * j + 1];
            for (l = 0; l < 32; l++) {
                float v = d1 * (float)(q[l] & 15);
                *y++ = v - m1;
            }
            for (l = 0; l < 32; l++) {
                float v = d2 * (float)(q[l] >> 4);
                *y++ = v - m2;
            }
        }
    }
}

static void tfm__quantize_q6_K(const float *x, tfm_block_q6_K *y, size_t nb)
{
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

/* the 6-bit level (0..63) of element e (0..255) of a q6_K block */
static int tfm__q6k_level(const tfm_block_q6_K *b, int e)
{
    int h = e / 128, r = e % 128, l = r % 32, quarter = r / 32;
    const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
    int low = quarter & 1 ? ql[l + 32] : ql[l];
    low = quarter & 2 ? low >> 4 : low & 15;
    return low | (((qh[l] >> (2 * quarter)) & 3) << 4);
}

static void tfm__dequantize_q6_K(const tfm_block_q6_K *x, float *y, size_t nb)
{
    size_t i;
    int e;
    for (i = 0; i < nb; i++) {
        float d = tfm_f16_to_f32(x[i].d);
        for (e = 0; e < TFM_QK_K; e++) {
            float ds = d * (float)x[i].scales[e / 16];
            *y++ = ds * (float)(tfm__q6k_level(&x[i], e) - 32);
        }
    }
}

static void tfm__quantize_q8_K(const float *x, tfm_block_q8_K *y, size_t nb)
{
    size_t i;
    int j, l;
    for (i = 0; i < nb; i++, x += TFM_QK_K) {
        float max = 0.0f, amax = 0.0f, iscale;
        int finite = 0;
#if defined(TFM__Q_X86)
        /* the largest magnitude by vector, then its first element (the scalar loop's choice) */
        for (j = 0; j < TFM_QK_K; j += 32) {
            float a = tfm__x86_amax32(x + j);
            amax = amax > a ? amax : a;
        }
        finite = amax - amax == 0.0f;
        if (finite) {
            for (j = 0; fabsf(x[j]) != amax; j++) continue;
            max = x[j];
        } else
#endif
        {
            amax = 0.0f;
            for (j = 0; j < TFM_QK_K; j++) {
                if (fabsf(x[j]) > amax) {
                    amax = fabsf(x[j]);
                    max = x[j];
                }
            }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        iscale = -127.0f / max;
#if defined(TFM__Q_X86)
        if (finite)
            for (j = 0; j < TFM_QK_K; j += 32) tfm__x86_nearest32(x + j, iscale, y[i].qs + j);
        else
#endif
            for (j = 0; j < TFM_QK_K; j++) y[i].qs[j] = (int8_t)tfm__imax(-128, tfm__imin(127, tfm__nearest_int(iscale * x[j])));
        (void)finite;
        for (j = 0; j < 16; j++) {
            int sum = 0;
            for (l = 0; l < 16; l++) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

static void tfm__dequantize_q8_K(const tfm_block_q8_K *x, float *y, size_t nb)
{
    size_t i;
    int j;
    for (i = 0; i < nb; i++)
        for (j = 0; j < TFM_QK_K; j++) *y++ = x[i].d * (float)x[i].qs[j];
}

/* ---------------------------------------------------------------- dispatch */

int tfm_quant_supported(tfm_dtype type)
{
    switch (type) {
    case TFM_F32: case TFM_F16: case TFM_BF16: case TFM_Q8_0: case TFM_Q8_1: case TFM_Q4_0: case TFM_Q4_1:
    case TFM_Q4_K: case TFM_Q6_K: case TFM_Q8_K:
        return 1;
    default:
        return 0;
    }
}

/* the alignment the block structs of a dtype need */
static size_t tfm__dtype_align(tfm_dtype t)
{
    return t == TFM_F32 || t == TFM_Q8_K ? 4 : t == TFM_F16 || t == TFM_BF16 || tfm_dtype_block_size(t) > 1 ? 2 : 1;
}

static int tfm__aligned(const void *p, tfm_dtype t) { return (uintptr_t)p % tfm__dtype_align(t) == 0; }

/* common argument checks of the row functions; *nb = blocks */
static tfm_status tfm__row_check(tfm_dtype type, const void *a, const void *b, size_t n, size_t *nb)
{
    size_t bs;
    if (!a || !b || n == 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!tfm_quant_supported(type)) return TFM_ERR_UNSUPPORTED;
    bs = tfm_dtype_block_size(type);
    if (n % bs) return TFM_ERR_SHAPE;
    *nb = n / bs;
    return TFM_OK;
}

tfm_status tfm_quantize_row(tfm_dtype type, const float *src, void *dst, size_t n)
{
    size_t nb = 0;
    tfm_status s = tfm__row_check(type, src, dst, n, &nb);
    if (s != TFM_OK) return s;
    if (!tfm__aligned(dst, type)) return TFM_ERR_INVALID_ARGUMENT;
    switch (type) {
    case TFM_F32: memmove(dst, src, n * sizeof(float)); break;
    case TFM_F16: tfm_f32_to_f16_row((uint16_t *)dst, src, n); break;
    case TFM_BF16: tfm_f32_to_bf16_row((uint16_t *)dst, src, n); break;
    case TFM_Q8_0: tfm__quantize_q8_0(src, (tfm_block_q8_0 *)dst, nb); break;
    case TFM_Q8_1: tfm__quantize_q8_1(src, (tfm_block_q8_1 *)dst, nb); break;
    case TFM_Q4_0: tfm__quantize_q4_0(src, (tfm_block_q4_0 *)dst, nb); break;
    case TFM_Q4_1: tfm__quantize_q4_1(src, (tfm_block_q4_1 *)dst, nb); break;
    case TFM_Q4_K: tfm__quantize_q4_K(src, (tfm_block_q4_K *)dst, nb); break;
    case TFM_Q6_K: tfm__quantize_q6_K(src, (tfm_block_q6_K *)dst, nb); break;
    case TFM_Q8_K: tfm__quantize_q8_K(src, (tfm_block_q8_K *)dst, nb); break;
    default: return TFM_ERR_UNSUPPORTED;
    }
    return TFM_OK;
}

tfm_status tfm_dequantize_row(tfm_dtype type, const void *src, float *dst, size_t n)
{
    size_t nb = 0;
    tfm_status s = tfm__row_check(type, src, dst, n, &nb);
    if (s != TFM_OK) return s;
    if (!tfm__aligned(src, type)) return TFM_ERR_INVALID_ARGUMENT;
    switch (type) {
    case TFM_F32: memmove(dst, src, n * sizeof(float)); break;
    case TFM_F16: tfm_f16_to_f32_row(dst, (const uint16_t *)src, n); break;
    case TFM_BF16: tfm_bf16_to_f32_row(dst, (const uint16_t *)src, n); break;
    case TFM_Q8_0: tfm__dequantize_q8_0((const tfm_block_q8_0 *)src, dst, nb); break;
    case TFM_Q8_1: tfm__dequantize_q8_1((const tfm_block_q8_1 *)src, dst, nb); break;
    case TFM_Q4_0: tfm__dequantize_q4_0((const tfm_block_q4_0 *)src, dst, nb); break;
    case TFM_Q4_1: tfm__dequantize_q4_1((const tfm_block_q4_1 *)src, dst, nb); break;
    case TFM_Q4_K: tfm__dequantize_q4_K((const tfm_block_q4_K *)src, dst, nb); break;
    case TFM_Q6_K: tfm__dequantize_q6_K((const tfm_block_q6_K *)src, dst, nb); break;
    case TFM_Q8_K: tfm__dequantize_q8_K((const tfm_block_q8_K *)src, dst, nb); break;
    default: return TFM_ERR_UNSUPPORTED;
    }
    return TFM_OK;
}

tfm_status tfm_quantize(tfm_dtype type, const float *src, void *dst, size_t rows, size_t cols, int n_threads)
{
    size_t row_bytes = 0;
    long long r;
    tfm_status s;
    if (!src || !dst || rows == 0 || cols == 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!tfm_quant_supported(type)) return TFM_ERR_UNSUPPORTED;
    s = tfm_dtype_row_bytes(type, cols, &row_bytes);
    if (s != TFM_OK) return s;
    if (rows > (size_t)LLONG_MAX || rows > SIZE_MAX / row_bytes || rows > SIZE_MAX / cols) return TFM_ERR_OUT_OF_RANGE;
    n_threads = tfm__threads(n_threads);
    TFM__PARALLEL_FOR((double)rows * (double)cols >= 65536.0 ? n_threads : 1)
    for (r = 0; r < (long long)rows; r++)
        tfm_quantize_row(type, src + (size_t)r * cols, (unsigned char *)dst + (size_t)r * row_bytes, cols);
    return TFM_OK;
}

/* ================================================================ kernels
   Every dot product below follows one order (see KERNELS in the header comment): per block, the
   integer dot isum is exact in int32; then acc = fma((float)isum, dw*dx, acc). The ISA-specific part
   is only "the exact isum of one block for 4 weight rows", returned as 4 int32 lanes; the float
   update runs on 4 lanes (one per weight row), which every path does alike. */


#if defined(TFM__Q_X86)
#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)
#define TFM__Q_VNNI 1
#endif
typedef __m128 tfm__f4;   /* one float lane per weight row */
typedef __m128i tfm__i4;  /* one int32 lane per weight row */
typedef __m256i tfm__iv;  /* one row's partial integer sums of a block, lanes summed by tfm__reduce4 */
TFM__INLINE tfm__f4 tfm__f4_zero(void) { return _mm_setzero_ps(); }
TFM__INLINE tfm__f4 tfm__f4_set1(float v) { return _mm_set1_ps(v); }
TFM__INLINE tfm__f4 tfm__f4_mul(tfm__f4 a, tfm__f4 b) { return _mm_mul_ps(a, b); }
TFM__INLINE tfm__f4 tfm__f4_fma(tfm__f4 a, tfm__f4 b, tfm__f4 c) { return _mm_fmadd_ps(a, b, c); }
TFM__INLINE tfm__f4 tfm__f4_fnma(tfm__f4 a, tfm__f4 b, tfm__f4 c) { return _mm_fnmadd_ps(a, b, c); }
TFM__INLINE tfm__f4 tfm__f4_cvt(tfm__i4 v) { return _mm_cvtepi32_ps(v); }
TFM__INLINE void tfm__f4_store(float *p, tfm__f4 v) { _mm_storeu_ps(p, v); }
TFM__INLINE tfm__i4 tfm__i4_set(int a, int b, int c, int d) { return _mm_setr_epi32(a, b, c, d); }
TFM__INLINE float tfm__h2f(uint16_t h) { return _cvtsh_ss(h); }
TFM__INLINE tfm__f4 tfm__h2f4(uint16_t a, uint16_t b, uint16_t c, uint16_t d)
{
    return _mm_cvtph_ps(_mm_setr_epi16((short)a, (short)b, (short)c, (short)d, 0, 0, 0, 0));
}
TFM__INLINE tfm__i4 tfm__reduce4(tfm__iv p0, tfm__iv p1, tfm__iv p2, tfm__iv p3)
{
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}
/* int32 lane i += sum of u8 u[4i..4i+3] times s8 s[4i..4i+3]; the pair sums must fit int16 when
   there is no VNNI (u <= 128 with |s| <= 127, as every caller ensures) */
TFM__INLINE __m256i tfm__x86_dp(__m256i acc, __m256i u, __m256i s)
{
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(acc, u, s);
#elif defined(__AVXVNNI__)
    return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}
/* -z * (sum of each lane's 4 activations): the correction for weights stored as q + z */
TFM__INLINE __m256i tfm__x86_offset(__m256i a, int z)
{
    return _mm256_sub_epi32(_mm256_setzero_si256(), tfm__x86_dp(_mm256_setzero_si256(), _mm256_set1_epi8((char)z), a));
}
/* signed x signed through |w| and sign(w) * a (a in [-127, 127]) */
TFM__INLINE __m256i tfm__x86_dp_ss(__m256i w, __m256i a)
{
    return tfm__x86_dp(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}
/* acc += int16 pairs of maddubs(u, s) times int16 scales */
TFM__INLINE __m256i tfm__x86_dp_scaled(__m256i acc, __m256i u, __m256i s, __m256i scales16)
{
    __m256i p16 = _mm256_maddubs_epi16(u, s);
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpwssd_epi32(acc, p16, scales16);
#elif defined(__AVXVNNI__)
    return _mm256_dpwssd_avx_epi32(acc, p16, scales16);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p16, scales16));
#endif
}
/* the 32 nibbles of 16 bytes: low nibbles first (elements 0..15), then high (16..31) */
TFM__INLINE __m256i tfm__x86_nibbles16(const uint8_t *q)
{
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)q), m = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}
TFM__INLINE __m256i tfm__x86_load32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
/* The exact isums of 4 rows of a nibble format (q4_0: z = 8, q4_1: z = 0) against one activation
   block. Two rows share a vector: [row r's 16 bytes | row r+1's], whose low nibbles meet activations
   0..15 and high nibbles 16..31 (both halves broadcast), so lanes 0-3 hold row r's partial sums and
   lanes 4-7 row r+1's; the accumulators start at -z * sum(a) per half. */
TFM__INLINE tfm__i4 tfm__x86_isum4_nibbles(const uint8_t *q0, const uint8_t *q1, const uint8_t *q2, const uint8_t *q3,
                                          const int8_t *a, int z)
{
    const __m256i m = _mm256_set1_epi8(15);
    __m256i alo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)a));
    __m256i ahi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(a + 16)));
    __m256i off = _mm256_setzero_si256(), v01, v23, p01, p23, h;
    if (z) off = _mm256_sub_epi32(off, tfm__x86_dp(tfm__x86_dp(off, _mm256_set1_epi8((char)z), alo), _mm256_set1_epi8((char)z), ahi));
    v01 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)q0)),
                                  _mm_loadu_si128((const __m128i *)(const void *)q1), 1);
    v23 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)q2)),
                                  _mm_loadu_si128((const __m128i *)(const void *)q3), 1);
    p01 = tfm__x86_dp(tfm__x86_dp(off, _mm256_and_si256(v01, m), alo), _mm256_and_si256(_mm256_srli_epi16(v01, 4), m), ahi);
    p23 = tfm__x86_dp(tfm__x86_dp(off, _mm256_and_si256(v23, m), alo), _mm256_and_si256(_mm256_srli_epi16(v23, 4), m), ahi);
    h = _mm256_hadd_epi32(p01, p23); /* low half: r0 r0 r2 r2, high half: r1 r1 r3 r3 */
    h = _mm256_hadd_epi32(h, h);     /* low: r0 r2 r0 r2, high: r1 r3 r1 r3 */
    return _mm_unpacklo_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

#elif defined(TFM__Q_NEON)
typedef float32x4_t tfm__f4;
typedef int32x4_t tfm__i4;
typedef int32x4_t tfm__iv;
TFM__INLINE tfm__f4 tfm__f4_zero(void) { return vdupq_n_f32(0.0f); }
TFM__INLINE tfm__f4 tfm__f4_set1(float v) { return vdupq_n_f32(v); }
TFM__INLINE tfm__f4 tfm__f4_mul(tfm__f4 a, tfm__f4 b) { return vmulq_f32(a, b); }
TFM__INLINE tfm__f4 tfm__f4_fma(tfm__f4 a, tfm__f4 b, tfm__f4 c) { return vfmaq_f32(c, a, b); }
TFM__INLINE tfm__f4 tfm__f4_fnma(tfm__f4 a, tfm__f4 b, tfm__f4 c) { return vfmsq_f32(c, a, b); }
TFM__INLINE tfm__f4 tfm__f4_cvt(tfm__i4 v) { return vcvtq_f32_s32(v); }
TFM__INLINE void tfm__f4_store(float *p, tfm__f4 v) { vst1q_f32(p, v); }
TFM__INLINE tfm__i4 tfm__i4_set(int a, int b, int c, int d)
{
    int32_t v[4];
    v[0] = a; v[1] = b; v[2] = c; v[3] = d;
    return vld1q_s32(v);
}
TFM__INLINE tfm__f4 tfm__h2f4(uint16_t a, uint16_t b, uint16_t c, uint16_t d)
{
    uint16_t v[4];
    v[0] = a; v[1] = b; v[2] = c; v[3] = d;
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(v)));
}
TFM__INLINE float tfm__h2f(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }
TFM__INLINE tfm__i4 tfm__reduce4(tfm__iv p0, tfm__iv p1, tfm__iv p2, tfm__iv p3)
{
    return vpaddq_s32(vpaddq_s32(p0, p1), vpaddq_s32(p2, p3));
}
/* acc += int8 dot products in groups of 4 (sdot), or widening multiplies without the extension */
TFM__INLINE int32x4_t tfm__neon_dot16(int32x4_t acc, int8x16_t a, int8x16_t b)
{
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    int16x8_t hi = vmull_s8(vget_high_s8(a), vget_high_s8(b));
    return vpadalq_s16(vpadalq_s16(acc, lo), hi);
#endif
}
TFM__INLINE int32x4_t tfm__neon_dot32(int8x16_t w0, int8x16_t w1, const int8_t *a)
{
    return tfm__neon_dot16(tfm__neon_dot16(vdupq_n_s32(0), w0, vld1q_s8(a)), w1, vld1q_s8(a + 16));
}

#else
typedef struct tfm__f4 { float v[4]; } tfm__f4;
typedef struct tfm__i4 { int32_t v[4]; } tfm__i4;
typedef int32_t tfm__iv;
TFM__INLINE tfm__f4 tfm__f4_zero(void)
{
    tfm__f4 r;
    r.v[0] = r.v[1] = r.v[2] = r.v[3] = 0.0f;
    return r;
}
TFM__INLINE tfm__f4 tfm__f4_set1(float v)
{
    tfm__f4 r;
    r.v[0] = r.v[1] = r.v[2] = r.v[3] = v;
    return r;
}
TFM__INLINE tfm__f4 tfm__f4_mul(tfm__f4 a, tfm__f4 b)
{
    int i;
    for (i = 0; i < 4; i++) a.v[i] *= b.v[i];
    return a;
}
TFM__INLINE tfm__f4 tfm__f4_fma(tfm__f4 a, tfm__f4 b, tfm__f4 c)
{
    int i;
    for (i = 0; i < 4; i++) c.v[i] = fmaf(a.v[i], b.v[i], c.v[i]);
    return c;
}
TFM__INLINE tfm__f4 tfm__f4_fnma(tfm__f4 a, tfm__f4 b, tfm__f4 c)
{
    int i;
    for (i = 0; i < 4; i++) c.v[i] = fmaf(-a.v[i], b.v[i], c.v[i]);
    return c;
}
TFM__INLINE tfm__f4 tfm__f4_cvt(tfm__i4 v)
{
    tfm__f4 r;
    int i;
    for (i = 0; i < 4; i++) r.v[i] = (float)v.v[i];
    return r;
}
TFM__INLINE void tfm__f4_store(float *p, tfm__f4 v) { memcpy(p, v.v, sizeof v.v); }
TFM__INLINE tfm__i4 tfm__i4_set(int a, int b, int c, int d)
{
    tfm__i4 r;
    r.v[0] = a; r.v[1] = b; r.v[2] = c; r.v[3] = d;
    return r;
}
TFM__INLINE float tfm__h2f(uint16_t h) { return tfm_f16_to_f32(h); }
TFM__INLINE tfm__f4 tfm__h2f4(uint16_t a, uint16_t b, uint16_t c, uint16_t d)
{
    tfm__f4 r;
    r.v[0] = tfm_f16_to_f32(a); r.v[1] = tfm_f16_to_f32(b); r.v[2] = tfm_f16_to_f32(c); r.v[3] = tfm_f16_to_f32(d);
    return r;
}
TFM__INLINE tfm__i4 tfm__reduce4(tfm__iv p0, tfm__iv p1, tfm__iv p2, tfm__iv p3) { return tfm__i4_set(p0, p1, p2, p3); }
#endif

/* ---------------------------------------------------------------- one block, one weight row
   tfm__row_<w>: the partial integer sums (lanes add up to the exact block isum) of one weight block
   against one activation block. */

static tfm__iv tfm__row_q8_0(const tfm_block_q8_0 *w, const tfm_block_q8_0 *a)
{
#if defined(TFM__Q_X86) && defined(TFM__Q_VNNI)
    /* unsigned q + 128 against a, corrected by -128 * sum(a) (one vpdpbusd, no sign games) */
    __m256i av = tfm__x86_load32(a->qs);
    return tfm__x86_dp(tfm__x86_offset(av, 128), _mm256_xor_si256(tfm__x86_load32(w->qs), _mm256_set1_epi8((char)0x80)), av);
#elif defined(TFM__Q_X86)
    return tfm__x86_dp_ss(tfm__x86_load32(w->qs), tfm__x86_load32(a->qs));
#elif defined(TFM__Q_NEON)
    return tfm__neon_dot32(vld1q_s8(w->qs), vld1q_s8(w->qs + 16), a->qs);
#else
    int j, s = 0;
    for (j = 0; j < TFM_QK; j++) s += w->qs[j] * a->qs[j];
    return s;
#endif
}

#if !defined(TFM__Q_X86) /* x86 handles the nibble formats two rows at a time: tfm__x86_isum4_nibbles */
static tfm__iv tfm__row_q4_0(const tfm_block_q4_0 *w, const tfm_block_q8_0 *a)
{
#if defined(TFM__Q_NEON)
    uint8x16_t b = vld1q_u8(w->qs);
    int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(15))), vdupq_n_s8(8));
    int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), vdupq_n_s8(8));
    return tfm__neon_dot32(lo, hi, a->qs);
#else
    int j, s = 0;
    for (j = 0; j < TFM_QK / 2; j++)
        s += ((w->qs[j] & 15) - 8) * a->qs[j] + ((w->qs[j] >> 4) - 8) * a->qs[j + TFM_QK / 2];
    return s;
#endif
}

static tfm__iv tfm__row_q4_1(const tfm_block_q4_1 *w, const tfm_block_q8_1 *a)
{
#if defined(TFM__Q_NEON)
    uint8x16_t b = vld1q_u8(w->qs);
    return tfm__neon_dot32(vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(15))), vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), a->qs);
#else
    int j, s = 0;
    for (j = 0; j < TFM_QK / 2; j++) s += (w->qs[j] & 15) * a->qs[j] + (w->qs[j] >> 4) * a->qs[j + TFM_QK / 2];
    return s;
#endif
}
#endif

#if defined(TFM__Q_X86)
/* q4_K on x86: one row's lanes for a super-block, *isum summing to sum_j sc_j (nibbles . a) and *msum
   to sum_j mn_j * (the sum of sub-block j's activations, from bsums). The 12 scale bytes unpack as
   little-endian words (x86 is): scales 0-3 = b[0..3] & 63, mins 0-3 = b[4..7] & 63, scales 4-7 =
   b[8..11] low nibbles | (b[0..3] >> 6) << 4, mins 4-7 = high nibbles | (b[4..7] >> 6) << 4. */
TFM__INLINE void tfm__x86_q4k_row(const tfm_block_q4_K *w, const tfm_block_q8_K *a, __m256i *isum, __m256i *msum)
{
    uint32_t b[3], sc[2], mn[2];
    __m128i sc8, mn8;
    __m256i scw, acc = _mm256_setzero_si256(), m4 = _mm256_set1_epi8(15), q;
    memcpy(b, w->scales, 12);
    sc[0] = b[0] & 0x3f3f3f3fu;
    mn[0] = b[1] & 0x3f3f3f3fu;
    sc[1] = (b[2] & 0x0f0f0f0fu) | (((b[0] >> 6) & 0x03030303u) << 4);
    mn[1] = ((b[2] >> 4) & 0x0f0f0f0fu) | (((b[1] >> 6) & 0x03030303u) << 4);
    sc8 = _mm_setr_epi32((int)sc[0], (int)sc[1], 0, 0);
    mn8 = _mm_setr_epi32((int)mn[0], (int)mn[1], 0, 0);
    /* mins doubled (mn0 mn0 mn1 mn1 ...) against the 16 bsums */
    *msum = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8)), tfm__x86_load32(a->bsums));
    scw = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc8)); /* int16 scales 0..7 in each half */
#define TFM__Q4K_CHUNK(j)                                                                                          \
    q = tfm__x86_load32(w->qs + 32 * (j));                                                                         \
    acc = tfm__x86_dp_scaled(acc, _mm256_and_si256(q, m4), tfm__x86_load32(a->qs + 64 * (j)),                       \
                             _mm256_shuffle_epi8(scw, _mm256_set1_epi16((short)(((4 * (j) + 1) << 8) | (4 * (j))))));   \
    acc = tfm__x86_dp_scaled(acc, _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), tfm__x86_load32(a->qs + 64 * (j) + 32), \
                             _mm256_shuffle_epi8(scw, _mm256_set1_epi16((short)(((4 * (j) + 3) << 8) | (4 * (j) + 2)))))
    TFM__Q4K_CHUNK(0);
    TFM__Q4K_CHUNK(1);
    TFM__Q4K_CHUNK(2);
    TFM__Q4K_CHUNK(3);
#undef TFM__Q4K_CHUNK
    *isum = acc;
}
#else
/* q4_K: sum over sub-blocks j of sc_j * (nibbles . activations) */
static tfm__iv tfm__row_q4_K(const tfm_block_q4_K *w, const tfm_block_q8_K *a)
{
    int sc[8], mn[8], j;
    tfm__q4k_unpack(w->scales, sc, mn);
    {
#if defined(TFM__Q_NEON)
        int32x4_t acc = vdupq_n_s32(0);
        for (j = 0; j < 4; j++) {
            uint8x16_t b0 = vld1q_u8(w->qs + 32 * j), b1 = vld1q_u8(w->qs + 32 * j + 16), m = vdupq_n_u8(15);
            const int8_t *q8 = a->qs + 64 * j;
            int32x4_t lo = tfm__neon_dot32(vreinterpretq_s8_u8(vandq_u8(b0, m)), vreinterpretq_s8_u8(vandq_u8(b1, m)), q8);
            int32x4_t hi = tfm__neon_dot32(vreinterpretq_s8_u8(vshrq_n_u8(b0, 4)), vreinterpretq_s8_u8(vshrq_n_u8(b1, 4)), q8 + 32);
            acc = vmlaq_n_s32(acc, lo, sc[2 * j]);
            acc = vmlaq_n_s32(acc, hi, sc[2 * j + 1]);
        }
        return acc;
#else
        int s = 0, l;
        for (j = 0; j < 4; j++) {
            int lo = 0, hi = 0;
            for (l = 0; l < 32; l++) {
                lo += (w->qs[32 * j + l] & 15) * a->qs[64 * j + l];
                hi += (w->qs[32 * j + l] >> 4) * a->qs[64 * j + 32 + l];
            }
            s += sc[2 * j] * lo + sc[2 * j + 1] * hi;
        }
        return s;
#endif
    }
}

/* q4_K's min term: sum over sub-blocks of mn_j times the sum of its 32 activations */
static int tfm__msum_q4_K(const tfm_block_q4_K *w, const tfm_block_q8_K *a)
{
    int j, sc[8], mn[8], s = 0;
    tfm__q4k_unpack(w->scales, sc, mn);
    for (j = 0; j < 8; j++) s += mn[j] * (a->bsums[2 * j] + a->bsums[2 * j + 1]);
    return s;
}
#endif

/* q6_K: sum over 16-groups g of sc_g * (levels . activations), minus 32 * sum of sc_g * bsums_g
   (the levels are q+32, so this is the exact sum of sc_g * q . a whenever bsums are the sums) */
static tfm__iv tfm__row_q6_K(const tfm_block_q6_K *w, const tfm_block_q8_K *a)
{
#if defined(TFM__Q_X86)
    /* scales as int16: low half 0..7, high half 8..15; the bias -32 * sum sc_g bsums_g as lanes */
    __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)w->scales));
    __m256i acc = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_madd_epi16(s16, tfm__x86_load32(a->bsums))), 5);
    __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3), sh, l0, l1, hb;
    /* the int16 scale vector of quarter k of a half: sc[2k] in the low 128 bits, sc[2k+1] in the high */
#define TFM__Q6K_SCALES(k) _mm256_shuffle_epi8(sh, _mm256_inserti128_si256(_mm256_castsi128_si256(                     \
        _mm_set1_epi16((short)(((4 * (k) + 1) << 8) | (4 * (k))))), _mm_set1_epi16((short)(((4 * (k) + 3) << 8) | (4 * (k) + 2))), 1))
#define TFM__Q6K_QUARTER(h, k, low)                                                                                   \
    acc = tfm__x86_dp_scaled(acc, _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * (k)), m2), 4)), \
                             tfm__x86_load32(a->qs + 128 * (h) + 32 * (k)), TFM__Q6K_SCALES(k))
#define TFM__Q6K_HALF(h)                                                                                              \
    sh = _mm256_permute4x64_epi64(s16, (h) ? 0xEE : 0x44);                                                            \
    l0 = tfm__x86_load32(w->ql + 64 * (h));                                                                            \
    l1 = tfm__x86_load32(w->ql + 64 * (h) + 32);                                                                       \
    hb = tfm__x86_load32(w->qh + 32 * (h));                                                                            \
    TFM__Q6K_QUARTER(h, 0, _mm256_and_si256(l0, m4));                                                                  \
    TFM__Q6K_QUARTER(h, 1, _mm256_and_si256(l1, m4));                                                                  \
    TFM__Q6K_QUARTER(h, 2, _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4));                                            \
    TFM__Q6K_QUARTER(h, 3, _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4))
    TFM__Q6K_HALF(0);
    TFM__Q6K_HALF(1);
#undef TFM__Q6K_HALF
#undef TFM__Q6K_QUARTER
#undef TFM__Q6K_SCALES
    return acc;
#else
    int g, bias = 0;
    for (g = 0; g < 16; g++) bias += w->scales[g] * a->bsums[g];
    bias *= 32;
    {
#if defined(TFM__Q_NEON)
        int32x4_t acc = vsetq_lane_s32(-bias, vdupq_n_s32(0), 0);
        int h, k, half;
        for (h = 0; h < 2; h++) {
            const uint8_t *ql = w->ql + 64 * h, *qh = w->qh + 32 * h;
            const int8_t *sc = w->scales + 8 * h, *q8 = a->qs + 128 * h;
            for (k = 0; k < 4; k++)
                for (half = 0; half < 2; half++) {
                    uint8x16_t lb = vld1q_u8(ql + (k & 1) * 32 + 16 * half), hb = vld1q_u8(qh + 16 * half);
                    uint8x16_t low = k & 2 ? vshrq_n_u8(lb, 4) : vandq_u8(lb, vdupq_n_u8(15));
                    uint8x16_t high = vshlq_n_u8(vandq_u8(vshlq_u8(hb, vdupq_n_s8((int8_t)(-2 * k))), vdupq_n_u8(3)), 4);
                    int8x16_t q = vreinterpretq_s8_u8(vorrq_u8(low, high));
                    int32x4_t d = tfm__neon_dot16(vdupq_n_s32(0), q, vld1q_s8(q8 + 32 * k + 16 * half));
                    acc = vmlaq_n_s32(acc, d, sc[2 * k + half]);
                }
        }
        return acc;
#else
        int s = -bias, e;
        for (g = 0; g < 16; g++) {
            int d = 0;
            for (e = 16 * g; e < 16 * g + 16; e++) d += tfm__q6k_level(w, e) * a->qs[e];
            s += w->scales[g] * d;
        }
        return s;
#endif
    }
#endif
}

/* ---------------------------------------------------------------- 4 weight rows, one activation row */

typedef void (*tfm__dot4_fn)(const unsigned char *const *w, const void *xq, size_t nb, float *out);

#define TFM__ISUM4(fn, w, a, b) tfm__reduce4(fn(w[0] + (b), a + (b)), fn(w[1] + (b), a + (b)), fn(w[2] + (b), a + (b)), fn(w[3] + (b), a + (b)))
#define TFM__DW4(w, b, field) tfm__h2f4(w[0][b].field, w[1][b].field, w[2][b].field, w[3][b].field)

static void tfm__dot4_q8_0(const unsigned char *const *wr, const void *xq, size_t nb, float *out)
{
    const tfm_block_q8_0 *w[4], *a = (const tfm_block_q8_0 *)xq;
    tfm__f4 acc = tfm__f4_zero();
    size_t b;
    int r;
    for (r = 0; r < 4; r++) w[r] = (const tfm_block_q8_0 *)(const void *)wr[r];
    for (b = 0; b < nb; b++) {
        tfm__f4 s = tfm__f4_mul(TFM__DW4(w, b, d), tfm__f4_set1(tfm__h2f(a[b].d)));
        acc = tfm__f4_fma(tfm__f4_cvt(TFM__ISUM4(tfm__row_q8_0, w, a, b)), s, acc);
    }
    tfm__f4_store(out, acc);
}

static void tfm__dot4_q4_0(const unsigned char *const *wr, const void *xq, size_t nb, float *out)
{
    const tfm_block_q4_0 *w[4];
    const tfm_block_q8_0 *a = (const tfm_block_q8_0 *)xq;
    tfm__f4 acc = tfm__f4_zero();
    size_t b;
    int r;
    for (r = 0; r < 4; r++) w[r] = (const tfm_block_q4_0 *)(const void *)wr[r];
    for (b = 0; b < nb; b++) {
        tfm__f4 s = tfm__f4_mul(TFM__DW4(w, b, d), tfm__f4_set1(tfm__h2f(a[b].d)));
#if defined(TFM__Q_X86)
        tfm__i4 isum = tfm__x86_isum4_nibbles(w[0][b].qs, w[1][b].qs, w[2][b].qs, w[3][b].qs, a[b].qs, 8);
#else
        tfm__i4 isum = TFM__ISUM4(tfm__row_q4_0, w, a, b);
#endif
        acc = tfm__f4_fma(tfm__f4_cvt(isum), s, acc);
    }
    tfm__f4_store(out, acc);
}

static void tfm__dot4_q4_1(const unsigned char *const *wr, const void *xq, size_t nb, float *out)
{
    const tfm_block_q4_1 *w[4];
    const tfm_block_q8_1 *a = (const tfm_block_q8_1 *)xq;
    tfm__f4 acc = tfm__f4_zero();
    size_t b;
    int r;
    for (r = 0; r < 4; r++) w[r] = (const tfm_block_q4_1 *)(const void *)wr[r];
    for (b = 0; b < nb; b++) {
        tfm__f4 s = tfm__f4_mul(TFM__DW4(w, b, d), tfm__f4_set1(tfm__h2f(a[b].d)));
#if defined(TFM__Q_X86)
        tfm__i4 isum = tfm__x86_isum4_nibbles(w[0][b].qs, w[1][b].qs, w[2][b].qs, w[3][b].qs, a[b].qs, 0);
#else
        tfm__i4 isum = TFM__ISUM4(tfm__row_q4_1, w, a, b);
#endif
        acc = tfm__f4_fma(tfm__f4_cvt(isum), s, acc);
        acc = tfm__f4_fma(TFM__DW4(w, b, m), tfm__f4_set1(tfm__h2f(a[b].s)), acc);
    }
    tfm__f4_store(out, acc);
}

static void tfm__dot4_q4_K(const unsigned char *const *wr, const void *xq, size_t nb, float *out)
{
    const tfm_block_q4_K *w[4];
    const tfm_block_q8_K *a = (const tfm_block_q8_K *)xq;
    tfm__f4 acc = tfm__f4_zero();
    size_t b;
    int r;
    for (r = 0; r < 4; r++) w[r] = (const tfm_block_q4_K *)(const void *)wr[r];
    for (b = 0; b < nb; b++) {
        tfm__f4 da = tfm__f4_set1(a[b].d);
#if defined(TFM__Q_X86)
        __m256i i[4], mv[4];
        tfm__i4 isum, msum;
        for (r = 0; r < 4; r++) tfm__x86_q4k_row(w[r] + b, a + b, &i[r], &mv[r]);
        isum = tfm__reduce4(i[0], i[1], i[2], i[3]);
        msum = tfm__reduce4(mv[0], mv[1], mv[2], mv[3]);
#else
        tfm__i4 isum = TFM__ISUM4(tfm__row_q4_K, w, a, b);
        tfm__i4 msum = tfm__i4_set(tfm__msum_q4_K(w[0] + b, a + b), tfm__msum_q4_K(w[1] + b, a + b),
                                   tfm__msum_q4_K(w[2] + b, a + b), tfm__msum_q4_K(w[3] + b, a + b));
#endif
        acc = tfm__f4_fma(tfm__f4_cvt(isum), tfm__f4_mul(TFM__DW4(w, b, d), da), acc);
        acc = tfm__f4_fnma(tfm__f4_cvt(msum), tfm__f4_mul(TFM__DW4(w, b, dmin), da), acc);
    }
    tfm__f4_store(out, acc);
}

static void tfm__dot4_q6_K(const unsigned char *const *wr, const void *xq, size_t nb, float *out)
{
    const tfm_block_q6_K *w[4];
    const tfm_block_q8_K *a = (const tfm_block_q8_K *)xq;
    tfm__f4 acc = tfm__f4_zero();
    size_t b;
    int r;
    for (r = 0; r < 4; r++) w[r] = (const tfm_block_q6_K *)(const void *)wr[r];
    for (b = 0; b < nb; b++) {
        tfm__f4 s = tfm__f4_mul(TFM__DW4(w, b, d), tfm__f4_set1(a[b].d));
        acc = tfm__f4_fma(tfm__f4_cvt(TFM__ISUM4(tfm__row_q6_K, w, a, b)), s, acc);
    }
    tfm__f4_store(out, acc);
}

static tfm__dot4_fn tfm__dot4_for(tfm_dtype wtype)
{
    switch (wtype) {
    case TFM_Q8_0: return tfm__dot4_q8_0;
    case TFM_Q4_0: return tfm__dot4_q4_0;
    case TFM_Q4_1: return tfm__dot4_q4_1;
    case TFM_Q4_K: return tfm__dot4_q4_K;
    case TFM_Q6_K: return tfm__dot4_q6_K;
    default: return NULL;
    }
}

tfm_dtype tfm_quant_vec_dot_type(tfm_dtype wtype)
{
    switch (wtype) {
    case TFM_F32: case TFM_F16: case TFM_BF16: return TFM_F32;
    case TFM_Q8_0: case TFM_Q4_0: return TFM_Q8_0;
    case TFM_Q4_1: return TFM_Q8_1;
    case TFM_Q4_K: case TFM_Q6_K: return TFM_Q8_K;
    default: return (tfm_dtype)-1;
    }
}

tfm_status tfm_quant_vec_dot(tfm_dtype wtype, const void *w, const void *xq, size_t n, float *out)
{
    tfm__dot4_fn dot4 = tfm__dot4_for(wtype);
    const unsigned char *wr[4];
    float res[4];
    size_t bs;
    if (!w || !xq || !out || n == 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!dot4) return TFM_ERR_UNSUPPORTED;
    bs = tfm_dtype_block_size(wtype);
    if (n % bs) return TFM_ERR_SHAPE;
    if (!tfm__aligned(w, wtype) || !tfm__aligned(xq, tfm_quant_vec_dot_type(wtype))) return TFM_ERR_INVALID_ARGUMENT;
    wr[0] = wr[1] = wr[2] = wr[3] = (const unsigned char *)w;
    dot4(wr, xq, n / bs, res);
    *out = res[0];
    return TFM_OK;
}

/* ---------------------------------------------------------------- gemv on AVX-512 VBMI: 16 rows x 4 blocks
   q8_0, q4_0 and q4_1 weights in their GGML layout. For each of 16 weight rows, the bytes of 4
   consecutive blocks (overlapping 64-byte loads) are put in place by a two-source byte permute
   (vpermt2b; for q4_0 a qword funnel shift, vpshrdvq, which runs off the shuffle port), so that the
   first 16 elements of block j face bytes 16j.. of one prepared activation vector (lo) and the last
   16 those of another (hi); two vpdpbusd then leave lanes 4j..4j+3 summing to block j's isum (the
   accumulator starts at -z * sum(a) in lane 4j, the correction for weights stored as q + z). Four
   rows' vectors reduce to one whose 128-bit lane j holds their 4 isums of block j; a 4x4 transpose of
   lanes gives, per block, a vector of the 16 rows' isums. The rows' fp16 scales go through a tree of
   dword then word permutes. The float update is then the documented one, lane r = row r, block after
   block. The shuffle port bounds it: per 16 rows x 4 blocks (2048 weights) ~24 shuffles to reduce,
   ~20 for the scales, plus 32 (q8_0) or 16 (q4_1) byte permutes at 2 cycles each. */
#if defined(TFM__Q_X86) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#define TFM__Q_ZMM 1 /* 16-lane int8 kernels: the gemm tiles and packed weights (and, with VBMI, this gemv) */
#if defined(__AVX512VBMI__) && defined(__AVX512VBMI2__)
#define TFM__Q_Z16 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TFM__Q_FORCE_INLINE static inline __attribute__((always_inline))
#else
#define TFM__Q_FORCE_INLINE static inline
#endif

/* One group of 4 activation blocks, prepared once per gemv. */
typedef struct tfm__zx {
    int8_t lo[64], hi[64]; /* block j's elements 0-15 at lo[16j..], 16-31 at hi[16j..] */
    int32_t off[16];       /* lane 4j: -z * (sum of block j's 32 values); the other lanes 0 */
    float d[4], s[4];      /* block j's scale (and q8_1's s = d * sum) as floats */
    int32_t pad[8];        /* 256 bytes: the groups stay 64-byte aligned */
} tfm__zx;

/* the 32-element formats of the 16-lane kernels (activations prepared as tfm__zx) */
static int tfm__zx_type(tfm_dtype t) { return t == TFM_Q8_0 || t == TFM_Q4_0 || t == TFM_Q4_1; }

/* x (nb blocks of 32) quantized to the activation dtype of wtype and laid out in groups; missing
   blocks of the last group are zero (their isums are 0 and their updates are skipped) */
static void tfm__zx_quantize(tfm__zx *g, const float *x, size_t nb, tfm_dtype wtype)
{
    const int z = wtype == TFM_Q8_0 ? 128 : wtype == TFM_Q4_0 ? 8 : 0;
    size_t b;
    memset(g, 0, (nb + 3) / 4 * sizeof *g);
    for (b = 0; b < nb; b++) {
        tfm__zx *gg = g + b / 4;
        int j = (int)(b % 4), e, sum = 0;
        int8_t qs[TFM_QK];
        if (wtype == TFM_Q4_1) {
            tfm_block_q8_1 blk;
            tfm__quantize_q8_1(x + b * TFM_QK, &blk, 1);
            memcpy(qs, blk.qs, TFM_QK);
            gg->d[j] = tfm__h2f(blk.d);
            gg->s[j] = tfm__h2f(blk.s);
        } else {
            tfm_block_q8_0 blk;
            tfm__quantize_q8_0(x + b * TFM_QK, &blk, 1);
            memcpy(qs, blk.qs, TFM_QK);
            gg->d[j] = tfm__h2f(blk.d);
        }
        memcpy(gg->lo + 16 * j, qs, 16);
        memcpy(gg->hi + 16 * j, qs + 16, 16);
        for (e = 0; e < TFM_QK; e++) sum += qs[e];
        gg->off[4 * j] = -z * sum;
    }
}

#endif /* TFM__Q_ZMM */

#if defined(TFM__Q_Z16)
/* Byte permutes, output byte 16j + k (block j, element k or 16 + k) from the sources (first, second):
   q4_1 (p, p + 16): byte 20j + 4 + k; q8_0 lo (p, p + 64):
   byte 34j + 2 + k; q8_0 hi (p + 8, p + 72): byte 34j + 18 + k. An index >= 64 reads the second. */
static const uint8_t tfm__z_perm_q4_1[64] = {
    4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39,
    44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127};
static const uint8_t tfm__z_perm_q8_lo[64] = {
    2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
    70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119};
static const uint8_t tfm__z_perm_q8_hi[64] = {
    10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
    78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127};
/* The scale tree. Dword permutes (one cycle each, where word permutes take two) first gather, for 4
   rows, the dwords holding their 4 block scales at dword 4t + j (row t, block j): rows (a, b) -> 8
   dwords, two such -> 16. The scale is the dword's low word or its high one: q4_0 (from the load at
   p) dwords 0 lo, 4 hi, 9 lo, 13 hi; q4_1 dwords 0, 5, 10, 15 with d low and m high; q8_0 from the
   loads at p (dwords 0 lo, 8 hi) and p + 64 (dwords 1 lo, 9 hi). Word permutes then pick the scale
   words of two such vectors (rows 0-7 or 8-15) into word 16u + 4t + j (u = which input), and the last
   level picks block j of the 16 rows: output word 16j' + r = word 4r + j of the pair, j = j' (first
   output) or j' + 2 (second). */
static const uint32_t tfm__z_sc_q4_0[16] = {0, 4, 9, 13, 16, 20, 25, 29};
static const uint32_t tfm__z_sc_q4_1[16] = {0, 5, 10, 15, 16, 21, 26, 31};
static const uint32_t tfm__z_sc_q8_0a[16] = {0, 8, 16, 24};
static const uint32_t tfm__z_sc_q8_0b[16] = {1, 9, 17, 25};
static const uint32_t tfm__z_sc_q8_0ab[16] = {0, 1, 16, 17, 2, 3, 18, 19};
static const uint32_t tfm__z_sc_cat8[16] = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
static const uint16_t tfm__z_sc_alt[32] = {0, 3, 4, 7, 8, 11, 12, 15, 16, 19, 20, 23, 24, 27, 28, 31, 32, 35, 36, 39, 40, 43, 44, 47, 48, 51, 52, 55, 56, 59, 60, 63};
static const uint16_t tfm__z_sc_lo[32] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62};
static const uint16_t tfm__z_sc_hi[32] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
static const uint16_t tfm__z_sc_blocks01[32] = {0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60,
                                                1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 61};
static const uint16_t tfm__z_sc_blocks23[32] = {2, 6, 10, 14, 18, 22, 26, 30, 34, 38, 42, 46, 50, 54, 58, 62,
                                                3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47, 51, 55, 59, 63};

TFM__INLINE __m512i tfm__z_load(const void *p) { return _mm512_loadu_si512(p); }

/* 4 rows' lanes (4 per block) -> 128-bit lane j = their 4 isums of block j */
TFM__INLINE __m512i tfm__z_reduce4(__m512i a, __m512i b, __m512i c, __m512i d)
{
    __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
}

/* The first `bytes` bytes from p, as a 64-byte load (full) or a masked one that reads nothing past
   them. */
TFM__Q_FORCE_INLINE __m512i tfm__z_part(const unsigned char *p, int full, long bytes)
{
    if (full) return tfm__z_load(p);
    if (bytes <= 0) return _mm512_setzero_si512();
    return _mm512_maskz_loadu_epi8(bytes >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << bytes) - 1), p);
}

/* One row's group at r (`bytes` bytes of blocks, 4 blocks when full): lanes 4j..4j+3 sum to block j's
   isum; *sc (and *sc2 for q8_0) = the loads holding the scales. */
TFM__Q_FORCE_INLINE __m512i tfm__z16_row(const unsigned char *r, tfm_dtype wtype, int full, long bytes, __m512i lo,
                                        __m512i hi, __m512i off, __m512i *sc, __m512i *sc2)
{
    if (wtype == TFM_Q8_0) {
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        __m512i v0 = tfm__z_part(r, full, bytes), v1 = tfm__z_part(r + 64, full, bytes - 64);
        __m512i v2 = tfm__z_part(r + 8, full, bytes - 8), v3 = tfm__z_part(r + 72, full, bytes - 72);
        __m512i wl = _mm512_xor_si512(_mm512_permutex2var_epi8(v0, tfm__z_load(tfm__z_perm_q8_lo), v1), flip);
        __m512i wh = _mm512_xor_si512(_mm512_permutex2var_epi8(v2, tfm__z_load(tfm__z_perm_q8_hi), v3), flip);
        *sc = v0;
        *sc2 = v1;
        return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(off, wl, lo), wh, hi);
    } else if (wtype == TFM_Q4_0) {
        /* block j's nibbles (bytes 18j + 2 ..) = qword pairs of the load at r + 1 shifted right by 2j + 1
           bytes, funnelled from the next qwords (the load at r + 9): one vpshrdvq, off the shuffle port */
        const __m512i m4 = _mm512_set1_epi8(15), shift = _mm512_setr_epi64(8, 8, 24, 24, 40, 40, 56, 56);
        __m512i nib = _mm512_shrdv_epi64(tfm__z_part(r + 1, full, bytes - 1), tfm__z_part(r + 9, full, bytes - 9), shift);
        *sc = tfm__z_part(r, full, bytes);
        return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(off, _mm512_and_si512(nib, m4), lo),
                                   _mm512_and_si512(_mm512_srli_epi16(nib, 4), m4), hi);
    } else {
        const long second = 16;
        const __m512i m4 = _mm512_set1_epi8(15);
        __m512i v0 = tfm__z_part(r, full, bytes), v1 = tfm__z_part(r + second, full, bytes - second);
        __m512i nib = _mm512_permutex2var_epi8(v0, tfm__z_load(tfm__z_perm_q4_1), v1);
        *sc = v0;
        return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(off, _mm512_and_si512(nib, m4), lo),
                                   _mm512_and_si512(_mm512_srli_epi16(nib, 4), m4), hi);
    }
}

TFM__INLINE __m512i tfm__z_pt2d(__m512i a, const uint32_t *idx, __m512i b)
{
    return _mm512_permutex2var_epi32(a, tfm__z_load(idx), b);
}

/* the last two levels of the scale tree: the dwords of rows 0-3, 4-7, 8-11, 12-15 -> f32 d[j], lane r
   = row r's scale of block j, taking the words `pick` says */
TFM__INLINE void tfm__z_sc16(__m512i q0, __m512i q1, __m512i q2, __m512i q3, const uint16_t *pick, __m512 *d)
{
    const __m512i w = tfm__z_load(pick);
    __m512i p01 = _mm512_permutex2var_epi16(q0, w, q1), p23 = _mm512_permutex2var_epi16(q2, w, q3);
    __m512i z0 = _mm512_permutex2var_epi16(p01, tfm__z_load(tfm__z_sc_blocks01), p23);
    __m512i z1 = _mm512_permutex2var_epi16(p01, tfm__z_load(tfm__z_sc_blocks23), p23);
    d[0] = _mm512_cvtph_ps(_mm512_castsi512_si256(z0));
    d[1] = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(z0, 1));
    d[2] = _mm512_cvtph_ps(_mm512_castsi512_si256(z1));
    d[3] = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(z1, 1));
}

/* 4 rows (p[0..3]) of a group: *isum's 128-bit lane j = their isums of block j; *sc the dwords holding
   their scales at dword 4t + j */
TFM__Q_FORCE_INLINE void tfm__z16_rows4(const unsigned char *const *p, size_t o, tfm_dtype wtype, int full, long bytes,
                                       __m512i lo, __m512i hi, __m512i off, __m512i *isum, __m512i *sc)
{
    __m512i s0, s1, s2, s3, u0, u1, u2, u3;
    __m512i a0 = tfm__z16_row(p[0] + o, wtype, full, bytes, lo, hi, off, &s0, &u0);
    __m512i a1 = tfm__z16_row(p[1] + o, wtype, full, bytes, lo, hi, off, &s1, &u1);
    __m512i a2 = tfm__z16_row(p[2] + o, wtype, full, bytes, lo, hi, off, &s2, &u2);
    __m512i a3 = tfm__z16_row(p[3] + o, wtype, full, bytes, lo, hi, off, &s3, &u3);
    *isum = tfm__z_reduce4(a0, a1, a2, a3);
    if (wtype == TFM_Q8_0) {
        __m512i r01 = tfm__z_pt2d(tfm__z_pt2d(s0, tfm__z_sc_q8_0a, s1), tfm__z_sc_q8_0ab, tfm__z_pt2d(u0, tfm__z_sc_q8_0b, u1));
        __m512i r23 = tfm__z_pt2d(tfm__z_pt2d(s2, tfm__z_sc_q8_0a, s3), tfm__z_sc_q8_0ab, tfm__z_pt2d(u2, tfm__z_sc_q8_0b, u3));
        *sc = tfm__z_pt2d(r01, tfm__z_sc_cat8, r23);
    } else {
        const uint32_t *first = wtype == TFM_Q4_0 ? tfm__z_sc_q4_0 : tfm__z_sc_q4_1;
        *sc = tfm__z_pt2d(tfm__z_pt2d(s0, first, s1), tfm__z_sc_cat8, tfm__z_pt2d(s2, first, s3));
    }
}

/* One group of 16 rows at byte offset o of each row, nblk blocks (full: 4, known at compile time;
   otherwise the 1-3 at the end of a row): acc updated block by block in the documented order. */
TFM__Q_FORCE_INLINE __m512 tfm__z16_group(__m512 acc, const unsigned char *const *p, size_t o, const tfm__zx *x,
                                          tfm_dtype wtype, int full, int nblk)
{
    const long bytes = (long)nblk * (wtype == TFM_Q8_0 ? 34 : wtype == TFM_Q4_0 ? 18 : 20);
    const __m512i lo = tfm__z_load(x->lo), hi = tfm__z_load(x->hi), off = tfm__z_load(x->off);
    __m512i g0, g1, g2, g3, s0, s1, s2, s3, t0, t1, t2, t3;
    __m512i v[4];
    __m512 d[4], m[4];
    tfm__z16_rows4(p, o, wtype, full, bytes, lo, hi, off, &g0, &s0);
    tfm__z16_rows4(p + 4, o, wtype, full, bytes, lo, hi, off, &g1, &s1);
    tfm__z16_rows4(p + 8, o, wtype, full, bytes, lo, hi, off, &g2, &s2);
    tfm__z16_rows4(p + 12, o, wtype, full, bytes, lo, hi, off, &g3, &s3);
    /* 4x4 transpose of 128-bit lanes: v[j] = block j's isums of rows 0-3, 4-7, 8-11, 12-15 */
    t0 = _mm512_shuffle_i64x2(g0, g1, _MM_SHUFFLE(1, 0, 1, 0));
    t1 = _mm512_shuffle_i64x2(g2, g3, _MM_SHUFFLE(1, 0, 1, 0));
    t2 = _mm512_shuffle_i64x2(g0, g1, _MM_SHUFFLE(3, 2, 3, 2));
    t3 = _mm512_shuffle_i64x2(g2, g3, _MM_SHUFFLE(3, 2, 3, 2));
    v[0] = _mm512_shuffle_i64x2(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
    v[1] = _mm512_shuffle_i64x2(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
    v[2] = _mm512_shuffle_i64x2(t2, t3, _MM_SHUFFLE(2, 0, 2, 0));
    v[3] = _mm512_shuffle_i64x2(t2, t3, _MM_SHUFFLE(3, 1, 3, 1));
    tfm__z_sc16(s0, s1, s2, s3, wtype == TFM_Q4_1 ? tfm__z_sc_lo : tfm__z_sc_alt, d);
    if (wtype == TFM_Q4_1) tfm__z_sc16(s0, s1, s2, s3, tfm__z_sc_hi, m);
    /* written out (not a loop) so that v and d stay in registers */
#define TFM__Z_UPDATE(j)                                                                                             \
    if (nblk > (j)) {                                                                                                \
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v[j]), _mm512_mul_ps(d[j], _mm512_set1_ps(x->d[j])), acc);           \
        if (wtype == TFM_Q4_1) acc = _mm512_fmadd_ps(m[j], _mm512_set1_ps(x->s[j]), acc);                            \
    }
    TFM__Z_UPDATE(0)
    TFM__Z_UPDATE(1)
    TFM__Z_UPDATE(2)
    TFM__Z_UPDATE(3)
#undef TFM__Z_UPDATE
    return acc;
}

/* y[0 .. nr) (nr <= 16) of the rows at w (row_bytes apart) against the prepared activations xg of
   nb blocks; rows past nr repeat the last one and are not stored. next: the following 16 rows (read
   next), or NULL. */
TFM__Q_FORCE_INLINE void tfm__z16_kernel(float *y, tfm_dtype wtype, const unsigned char *w, size_t row_bytes, int nr,
                                         const tfm__zx *xg, size_t nb, const unsigned char *next)
{
    /* q4_0's loads reach one byte past the group: its last full group of a row is read masked */
    const size_t gb = 4 * tfm_dtype_block_bytes(wtype), ng = nb / 4, fast = wtype == TFM_Q4_0 && nb % 4 == 0 && ng > 0 ? ng - 1 : ng;
    const unsigned char *p[16];
    __m512 acc = _mm512_setzero_ps();
    size_t g;
    int i;
    for (i = 0; i < 16; i++) p[i] = w + (size_t)(i < nr ? i : nr - 1) * row_bytes;
    for (g = 0; g < fast; g++) {
        if (next) { /* the next 16 rows (contiguous), a group's share per group, into L2 */
            size_t o;
            for (o = 16 * g * gb; o < 16 * (g + 1) * gb; o += 64) _mm_prefetch((const char *)(next + o), _MM_HINT_T1);
        }
        acc = tfm__z16_group(acc, p, g * gb, xg + g, wtype, 1, 4);
    }
    if (fast < ng) acc = tfm__z16_group(acc, p, fast * gb, xg + fast, wtype, 0, 4);
    if (nb % 4) acc = tfm__z16_group(acc, p, ng * gb, xg + ng, wtype, 0, (int)(nb % 4));
    _mm512_mask_storeu_ps(y, (__mmask16)((1u << nr) - 1u), acc);
}

static void tfm__z16_q8_0(float *y, const unsigned char *w, size_t row_bytes, int nr, const tfm__zx *xg, size_t nb,
                         const unsigned char *next)
{
    tfm__z16_kernel(y, TFM_Q8_0, w, row_bytes, nr, xg, nb, next);
}
static void tfm__z16_q4_0(float *y, const unsigned char *w, size_t row_bytes, int nr, const tfm__zx *xg, size_t nb,
                         const unsigned char *next)
{
    tfm__z16_kernel(y, TFM_Q4_0, w, row_bytes, nr, xg, nb, next);
}
static void tfm__z16_q4_1(float *y, const unsigned char *w, size_t row_bytes, int nr, const tfm__zx *xg, size_t nb,
                         const unsigned char *next)
{
    tfm__z16_kernel(y, TFM_Q4_1, w, row_bytes, nr, xg, nb, next);
}

/* Y[c][r0 .. r1) for the m activation rows prepared in xg (groups apart), 16 weight rows at a time:
   each block of 16 rows stays in cache while the activation rows pass over it */
static void tfm__z16_rows(float *y, size_t ldy, const tfm__zx *xg, size_t groups, int m, tfm_dtype wtype, const unsigned char *w,
                          size_t row_bytes, size_t nb, int r0, int r1)
{
    void (*kernel)(float *, const unsigned char *, size_t, int, const tfm__zx *, size_t, const unsigned char *) =
        wtype == TFM_Q8_0 ? tfm__z16_q8_0 : wtype == TFM_Q4_0 ? tfm__z16_q4_0 : tfm__z16_q4_1;
    int r, c;
    for (r = r0; r < r1; r += 16)
        for (c = 0; c < m; c++)
            kernel(y + (size_t)c * ldy + (size_t)r, w + (size_t)r * row_bytes, row_bytes, r1 - r < 16 ? r1 - r : 16,
                   xg + (size_t)c * groups, nb, c == 0 && r1 - r > 32 ? w + (size_t)(r + 16) * row_bytes : NULL);
}
#endif

/* ---------------------------------------------------------------- gemv / gemm */

/* Y[c][r] for weight rows [r0, r1) and every activation row c: each group of 4 weight rows stays
   in L1 while all m activation rows pass over it. A tail group repeats its last row (lanes are
   independent, so that changes nothing) and stores only the real rows. */
static void tfm__qgemm_rows(float *y, size_t ldy, const unsigned char *xq, size_t xq_row_bytes, int m,
                            tfm__dot4_fn dot4, const unsigned char *w, size_t row_bytes, size_t nb, int r0, int r1)
{
    int r, c, i;
    for (r = r0; r < r1; r += 4) {
        const unsigned char *wr[4];
        int nr = r1 - r < 4 ? r1 - r : 4;
        for (i = 0; i < 4; i++) wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * row_bytes;
#if defined(__GNUC__) || defined(__clang__)
        /* a gemv streams the weights once: ask for the next group's rows (into L2) while this one computes
           (one core alone does not keep enough reads in flight to reach the read bandwidth) */
        if (m == 1 && r + 4 < r1) {
            const unsigned char *next = w + (size_t)(r + 4) * row_bytes;
            size_t off, bytes = (size_t)(r1 - r - 4 < 4 ? r1 - r - 4 : 4) * row_bytes;
            for (off = 0; off < bytes; off += 64) __builtin_prefetch(next + off, 0, 1);
        }
#endif
        for (c = 0; c < m; c++) {
            float out[4];
            dot4(wr, xq + (size_t)c * xq_row_bytes, nb, out);
            for (i = 0; i < nr; i++) y[(size_t)c * ldy + (size_t)(r + i)] = out[i];
        }
    }
}

/* checks shared by gemv and gemm; *nb blocks per row, *row_bytes of a weight row, *xq_row_bytes of
   a quantized activation row */
static tfm_status tfm__qcheck(tfm_dtype wtype, const void *w, int n, int k, size_t *nb, size_t *row_bytes,
                              size_t *xq_row_bytes)
{
    tfm_status s;
    if (!tfm__dot4_for(wtype)) return TFM_ERR_UNSUPPORTED;
    if ((size_t)k % tfm_dtype_block_size(wtype)) return TFM_ERR_SHAPE;
    if (!tfm__aligned(w, wtype)) return TFM_ERR_INVALID_ARGUMENT;
    s = tfm_dtype_row_bytes(wtype, (uint64_t)k, row_bytes);
    if (s == TFM_OK) s = tfm_dtype_row_bytes(tfm_quant_vec_dot_type(wtype), (uint64_t)k, xq_row_bytes);
    if (s == TFM_OK && (size_t)n > SIZE_MAX / *row_bytes) s = TFM_ERR_OUT_OF_RANGE;
    *nb = (size_t)k / tfm_dtype_block_size(wtype);
    return s;
}

/* Per activation block, prepared once per gemm for the tile kernels: the offset correction -z * sum(q)
   for weights stored as q + z (z = 128 for q8_0, 8 for q4_0, 0 for q4_1), and d and s as floats. */
typedef struct tfm__act_info {
    int32_t off;
    float d, s;
} tfm__act_info;

static int tfm__weight_offset(tfm_dtype t) { return t == TFM_Q8_0 ? 128 : t == TFM_Q4_0 ? 8 : 0; }

/* ---------------------------------------------------------------- gemm tiles for AVX-512 VNNI
   For the 32-element formats (q8_0, q4_0, q4_1) with m >= TFM__TILE_MIN_M activation rows, 16 weight
   rows are repacked per block into 8 vectors of 16 lanes x 4 bytes (lane r holds 4 consecutive weights
   of row r as unsigned bytes: q8_0 as q + 128, q4_0/q4_1 as the nibble), so that one vpdpbusd against
   4 broadcast activation bytes advances 16 rows at once and lane r ends each block holding row r's
   exact isum (after the offset correction -128 * sum(a) or -8 * sum(a)). The float update is then
   the documented one, lane by lane, so the results equal every other path bit for bit. K is walked
   in chunks of TFM__TILE_KC blocks (the repacked chunk stays in L1/L2 while all m activation rows pass
   over it), the accumulators resting in Y between chunks. */

#if defined(TFM__Q_ZMM)
#define TFM__Q_TILE16 1
#define TFM__TILE_KC 32
#define TFM__TILE_MIN_M 4

typedef struct tfm__tile_block {
    __m512i q[8];   /* q[t] lane r: elements 4t..4t+3 of row r */
    float d[16], m[16];
} tfm__tile_block;

static int tfm__tile_type(tfm_dtype t) { return t == TFM_Q8_0 || t == TFM_Q4_0 || t == TFM_Q4_1 || t == TFM_Q4_K || t == TFM_Q6_K; }

/* repack blocks [b0, b0 + nbk) of rows r0 .. r0 + nr - 1 (rows past nr repeat the last one) */
static void tfm__tile_pack(tfm__tile_block *tb, tfm_dtype wtype, const unsigned char *w, size_t row_bytes, int r0, int nr,
                           size_t b0, size_t nbk)
{
    uint8_t rows[16][32];
    const __m512i idx = _mm512_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120);
    size_t bb = tfm_dtype_block_bytes(wtype), b;
    int r, t;
    for (b = 0; b < nbk; b++) {
        for (r = 0; r < 16; r++) {
            const unsigned char *blk = w + (size_t)(r0 + (r < nr ? r : nr - 1)) * row_bytes + (b0 + b) * bb;
            __m256i u;
            if (wtype == TFM_Q8_0) {
                const tfm_block_q8_0 *q = (const tfm_block_q8_0 *)(const void *)blk;
                u = _mm256_xor_si256(tfm__x86_load32(q->qs), _mm256_set1_epi8((char)0x80));
                tb[b].d[r] = tfm__h2f(q->d);
                tb[b].m[r] = 0.0f;
            } else if (wtype == TFM_Q4_0) {
                const tfm_block_q4_0 *q = (const tfm_block_q4_0 *)(const void *)blk;
                u = tfm__x86_nibbles16(q->qs);
                tb[b].d[r] = tfm__h2f(q->d);
                tb[b].m[r] = 0.0f;
            } else {
                const tfm_block_q4_1 *q = (const tfm_block_q4_1 *)(const void *)blk;
                u = tfm__x86_nibbles16(q->qs);
                tb[b].d[r] = tfm__h2f(q->d);
                tb[b].m[r] = tfm__h2f(q->m);
            }
            _mm256_storeu_si256((__m256i *)(void *)rows[r], u);
        }
        /* rows is a 16 x 8 matrix of 4-byte groups: vector t is its column t */
        for (t = 0; t < 8; t++) tb[b].q[t] = _mm512_i32gather_epi32(idx, (const void *)&rows[0][4 * t], 4);
    }
}

/* the int8 values of activation block b of row xc */
static const int8_t *tfm__tile_act(tfm_dtype wtype, const unsigned char *xc, size_t b)
{
    if (wtype == TFM_Q4_1) return ((const tfm_block_q8_1 *)(const void *)xc + b)->qs;
    return ((const tfm_block_q8_0 *)(const void *)xc + b)->qs;
}

#define TFM__TILE_BCAST(qs, t) _mm512_set1_epi32(tfm__load_i32((qs) + 4 * (t)))
TFM__INLINE int32_t tfm__load_i32(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Y[c][r0 .. r0+nr) over blocks [b0, b0 + nbk), continuing the accumulation in Y unless first. Four
   activation rows run together so that four independent vpdpbusd chains hide its latency; a tail of
   fewer rows repeats the last one and stores only the real ones. */
static void tfm__tile_compute(float *y, size_t ldy, int r0, int nr, const tfm__tile_block *tb, size_t b0, size_t nbk,
                              tfm_dtype wtype, const unsigned char *xq, size_t xq_row_bytes, const tfm__act_info *xinfo,
                              size_t nb, int m, int first)
{
    const __mmask16 lanes = (__mmask16)((1u << nr) - 1u);
    int c, t, i;
    size_t b;
    for (c = 0; c < m; c += 4) {
        int nc = m - c < 4 ? m - c : 4;
        float *yc[4];
        const unsigned char *xc[4];
        const tfm__act_info *in[4];
        __m512 acc0, acc1, acc2, acc3;
        for (i = 0; i < 4; i++) {
            int ci = c + (i < nc ? i : nc - 1);
            yc[i] = y + (size_t)ci * ldy + (size_t)r0;
            xc[i] = xq + (size_t)ci * xq_row_bytes;
            in[i] = xinfo + (size_t)ci * nb + b0;
        }
        acc0 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, yc[0]);
        acc1 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, yc[1]);
        acc2 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, yc[2]);
        acc3 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, yc[3]);
        for (b = 0; b < nbk; b++) {
            const tfm__tile_block *tw = tb + b;
            const int8_t *q0 = tfm__tile_act(wtype, xc[0], b0 + b), *q1 = tfm__tile_act(wtype, xc[1], b0 + b);
            const int8_t *q2 = tfm__tile_act(wtype, xc[2], b0 + b), *q3 = tfm__tile_act(wtype, xc[3], b0 + b);
            __m512i i0 = _mm512_set1_epi32(in[0][b].off), i1 = _mm512_set1_epi32(in[1][b].off);
            __m512i i2 = _mm512_set1_epi32(in[2][b].off), i3 = _mm512_set1_epi32(in[3][b].off);
            __m512 dw = _mm512_loadu_ps(tw->d);
            /* two chains per row (t < 4 and t >= 4) halve the vpdpbusd latency chain; the integer
               sum is the same */
            {
                __m512i j0 = _mm512_setzero_si512(), j1 = j0, j2 = j0, j3 = j0;
                for (t = 0; t < 4; t++) {
                    __m512i wa = tw->q[t], wb = tw->q[t + 4];
                    i0 = _mm512_dpbusd_epi32(i0, wa, TFM__TILE_BCAST(q0, t));
                    j0 = _mm512_dpbusd_epi32(j0, wb, TFM__TILE_BCAST(q0, t + 4));
                    i1 = _mm512_dpbusd_epi32(i1, wa, TFM__TILE_BCAST(q1, t));
                    j1 = _mm512_dpbusd_epi32(j1, wb, TFM__TILE_BCAST(q1, t + 4));
                    i2 = _mm512_dpbusd_epi32(i2, wa, TFM__TILE_BCAST(q2, t));
                    j2 = _mm512_dpbusd_epi32(j2, wb, TFM__TILE_BCAST(q2, t + 4));
                    i3 = _mm512_dpbusd_epi32(i3, wa, TFM__TILE_BCAST(q3, t));
                    j3 = _mm512_dpbusd_epi32(j3, wb, TFM__TILE_BCAST(q3, t + 4));
                }
                i0 = _mm512_add_epi32(i0, j0);
                i1 = _mm512_add_epi32(i1, j1);
                i2 = _mm512_add_epi32(i2, j2);
                i3 = _mm512_add_epi32(i3, j3);
            }
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(dw, _mm512_set1_ps(in[0][b].d)), acc0);
            acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(dw, _mm512_set1_ps(in[1][b].d)), acc1);
            acc2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i2), _mm512_mul_ps(dw, _mm512_set1_ps(in[2][b].d)), acc2);
            acc3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i3), _mm512_mul_ps(dw, _mm512_set1_ps(in[3][b].d)), acc3);
            if (wtype == TFM_Q4_1) {
                __m512 mw = _mm512_loadu_ps(tw->m);
                acc0 = _mm512_fmadd_ps(mw, _mm512_set1_ps(in[0][b].s), acc0);
                acc1 = _mm512_fmadd_ps(mw, _mm512_set1_ps(in[1][b].s), acc1);
                acc2 = _mm512_fmadd_ps(mw, _mm512_set1_ps(in[2][b].s), acc2);
                acc3 = _mm512_fmadd_ps(mw, _mm512_set1_ps(in[3][b].s), acc3);
            }
        }
        /* a tail group's repeated rows are stored last, so the real row's store wins */
        _mm512_mask_storeu_ps(yc[3], lanes, acc3);
        _mm512_mask_storeu_ps(yc[2], lanes, acc2);
        _mm512_mask_storeu_ps(yc[1], lanes, acc1);
        _mm512_mask_storeu_ps(yc[0], lanes, acc0);
    }
}

/* The k-quants in the same scheme: a super-block of 16 rows becomes 64 vectors of 16 lanes x 4 bytes
   (q4_k: nibbles; q6_k: the 6-bit levels), one vpdpbusd chain per sub-block (32 elements for q4_k, 16
   for q6_k, whose chain starts at -32 * bsum so that it sums (level - 32) * a), multiplied lane by lane
   by the rows' integer sub-block scales into the super-block's exact isum. */
#define TFM__KTILE_KC 4 /* super-blocks per repacked chunk */

typedef struct tfm__ktile_block {
    __m512i q[64];
    int32_t sc[16][16]; /* sc[g][r]: scale of sub-block g of row r (q4_k uses g < 8) */
    int32_t mn[8][16];  /* q4_k mins */
    float d[16], dmin[16];
} tfm__ktile_block;

static void tfm__ktile_pack(tfm__ktile_block *tb, tfm_dtype wtype, const unsigned char *w, size_t row_bytes, int r0, int nr,
                            size_t b0, size_t nbk)
{
    uint8_t rows[16][256];
    const __m512i idx = _mm512_setr_epi32(0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960);
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    size_t bb = tfm_dtype_block_bytes(wtype), b;
    int r, t, j, k, h, sc[8], mn[8];
    for (b = 0; b < nbk; b++) {
        for (r = 0; r < 16; r++) {
            const unsigned char *blk = w + (size_t)(r0 + (r < nr ? r : nr - 1)) * row_bytes + (b0 + b) * bb;
            if (wtype == TFM_Q4_K) {
                const tfm_block_q4_K *q = (const tfm_block_q4_K *)(const void *)blk;
                for (j = 0; j < 4; j++) {
                    __m256i v = tfm__x86_load32(q->qs + 32 * j);
                    _mm256_storeu_si256((__m256i *)(void *)&rows[r][64 * j], _mm256_and_si256(v, m4));
                    _mm256_storeu_si256((__m256i *)(void *)&rows[r][64 * j + 32], _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
                }
                tfm__q4k_unpack(q->scales, sc, mn);
                for (j = 0; j < 8; j++) {
                    tb[b].sc[j][r] = sc[j];
                    tb[b].mn[j][r] = mn[j];
                }
                tb[b].d[r] = tfm__h2f(q->d);
                tb[b].dmin[r] = tfm__h2f(q->dmin);
            } else {
                const tfm_block_q6_K *q = (const tfm_block_q6_K *)(const void *)blk;
                for (h = 0; h < 2; h++) {
                    __m256i l0 = tfm__x86_load32(q->ql + 64 * h), l1 = tfm__x86_load32(q->ql + 64 * h + 32);
                    __m256i hb = tfm__x86_load32(q->qh + 32 * h), low[4];
                    low[0] = _mm256_and_si256(l0, m4);
                    low[1] = _mm256_and_si256(l1, m4);
                    low[2] = _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4);
                    low[3] = _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4);
                    for (k = 0; k < 4; k++) {
                        __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * k), m2), 4);
                        _mm256_storeu_si256((__m256i *)(void *)&rows[r][128 * h + 32 * k], _mm256_or_si256(low[k], high));
                    }
                }
                for (j = 0; j < 16; j++) tb[b].sc[j][r] = q->scales[j];
                tb[b].d[r] = tfm__h2f(q->d);
                tb[b].dmin[r] = 0.0f;
            }
        }
        for (t = 0; t < 64; t++) tb[b].q[t] = _mm512_i32gather_epi32(idx, (const void *)&rows[0][4 * t], 4);
    }
}

static void tfm__ktile_compute(float *y, size_t ldy, int r0, int nr, const tfm__ktile_block *tb, size_t b0, size_t nbk,
                               tfm_dtype wtype, const unsigned char *xq, size_t xq_row_bytes, int m, int first)
{
    const __mmask16 lanes = (__mmask16)((1u << nr) - 1u);
    const int groups = wtype == TFM_Q4_K ? 8 : 16, per_group = 64 / groups;
    int c, t, g, i;
    size_t b;
    for (c = 0; c < m; c += 4) {
        int nc = m - c < 4 ? m - c : 4;
        float *yc[4];
        const tfm_block_q8_K *xc[4];
        __m512 acc0, acc1, acc2, acc3;
        for (i = 0; i < 4; i++) {
            int ci = c + (i < nc ? i : nc - 1);
            yc[i] = y + (size_t)ci * ldy + (size_t)r0;
            xc[i] = (const tfm_block_q8_K *)(const void *)(xq + (size_t)ci * xq_row_bytes) + b0;
        }
        acc0 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, yc[0]);
        acc1 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, yc[1]);
        acc2 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, yc[2]);
        acc3 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, yc[3]);
        for (b = 0; b < nbk; b++) {
            const tfm__ktile_block *tw = tb + b;
            const tfm_block_q8_K *a0 = xc[0] + b, *a1 = xc[1] + b, *a2 = xc[2] + b, *a3 = xc[3] + b;
            __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, m0 = s0, m1 = s0, m2 = s0, m3 = s0;
            __m512 d = _mm512_loadu_ps(tw->d), dmin = _mm512_loadu_ps(tw->dmin);
            for (g = 0; g < groups; g++) {
                __m512i i0, i1, i2, i3, scv = _mm512_loadu_si512((const void *)tw->sc[g]);
                if (wtype == TFM_Q6_K) {
                    i0 = _mm512_set1_epi32(-32 * a0->bsums[g]);
                    i1 = _mm512_set1_epi32(-32 * a1->bsums[g]);
                    i2 = _mm512_set1_epi32(-32 * a2->bsums[g]);
                    i3 = _mm512_set1_epi32(-32 * a3->bsums[g]);
                } else {
                    __m512i mnv = _mm512_loadu_si512((const void *)tw->mn[g]);
                    i0 = i1 = i2 = i3 = _mm512_setzero_si512();
                    m0 = _mm512_add_epi32(m0, _mm512_mullo_epi32(mnv, _mm512_set1_epi32(a0->bsums[2 * g] + a0->bsums[2 * g + 1])));
                    m1 = _mm512_add_epi32(m1, _mm512_mullo_epi32(mnv, _mm512_set1_epi32(a1->bsums[2 * g] + a1->bsums[2 * g + 1])));
                    m2 = _mm512_add_epi32(m2, _mm512_mullo_epi32(mnv, _mm512_set1_epi32(a2->bsums[2 * g] + a2->bsums[2 * g + 1])));
                    m3 = _mm512_add_epi32(m3, _mm512_mullo_epi32(mnv, _mm512_set1_epi32(a3->bsums[2 * g] + a3->bsums[2 * g + 1])));
                }
                {
                    /* two vpdpbusd chains per row, as in the legacy tiles */
                    __m512i j0 = _mm512_setzero_si512(), j1 = j0, j2 = j0, j3 = j0;
                    int half = per_group / 2, t0 = g * per_group;
                    for (t = t0; t < t0 + half; t++) {
                        __m512i wa = tw->q[t], wb = tw->q[t + half];
                        i0 = _mm512_dpbusd_epi32(i0, wa, TFM__TILE_BCAST(a0->qs, t));
                        j0 = _mm512_dpbusd_epi32(j0, wb, TFM__TILE_BCAST(a0->qs, t + half));
                        i1 = _mm512_dpbusd_epi32(i1, wa, TFM__TILE_BCAST(a1->qs, t));
                        j1 = _mm512_dpbusd_epi32(j1, wb, TFM__TILE_BCAST(a1->qs, t + half));
                        i2 = _mm512_dpbusd_epi32(i2, wa, TFM__TILE_BCAST(a2->qs, t));
                        j2 = _mm512_dpbusd_epi32(j2, wb, TFM__TILE_BCAST(a2->qs, t + half));
                        i3 = _mm512_dpbusd_epi32(i3, wa, TFM__TILE_BCAST(a3->qs, t));
                        j3 = _mm512_dpbusd_epi32(j3, wb, TFM__TILE_BCAST(a3->qs, t + half));
                    }
                    i0 = _mm512_add_epi32(i0, j0);
                    i1 = _mm512_add_epi32(i1, j1);
                    i2 = _mm512_add_epi32(i2, j2);
                    i3 = _mm512_add_epi32(i3, j3);
                }
                s0 = _mm512_add_epi32(s0, _mm512_mullo_epi32(i0, scv));
                s1 = _mm512_add_epi32(s1, _mm512_mullo_epi32(i1, scv));
                s2 = _mm512_add_epi32(s2, _mm512_mullo_epi32(i2, scv));
                s3 = _mm512_add_epi32(s3, _mm512_mullo_epi32(i3, scv));
            }
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0), _mm512_mul_ps(d, _mm512_set1_ps(a0->d)), acc0);
            acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), _mm512_mul_ps(d, _mm512_set1_ps(a1->d)), acc1);
            acc2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s2), _mm512_mul_ps(d, _mm512_set1_ps(a2->d)), acc2);
            acc3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s3), _mm512_mul_ps(d, _mm512_set1_ps(a3->d)), acc3);
            if (wtype == TFM_Q4_K) {
                acc0 = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m0), _mm512_mul_ps(dmin, _mm512_set1_ps(a0->d)), acc0);
                acc1 = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m1), _mm512_mul_ps(dmin, _mm512_set1_ps(a1->d)), acc1);
                acc2 = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m2), _mm512_mul_ps(dmin, _mm512_set1_ps(a2->d)), acc2);
                acc3 = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m3), _mm512_mul_ps(dmin, _mm512_set1_ps(a3->d)), acc3);
            }
        }
        _mm512_mask_storeu_ps(yc[3], lanes, acc3);
        _mm512_mask_storeu_ps(yc[2], lanes, acc2);
        _mm512_mask_storeu_ps(yc[1], lanes, acc1);
        _mm512_mask_storeu_ps(yc[0], lanes, acc0);
    }
}

/* one thread's weight rows [r0, r1), 16 at a time */
static void tfm__tile_rows(float *y, size_t ldy, const unsigned char *xq, size_t xq_row_bytes, const tfm__act_info *xinfo, int m,
                           tfm_dtype wtype, const unsigned char *w, size_t row_bytes, size_t nb, int r0, int r1)
{
    tfm__tile_block tb[TFM__TILE_KC];
    int r;
    size_t b0;
    if (wtype == TFM_Q4_K || wtype == TFM_Q6_K) {
        tfm__ktile_block kb[TFM__KTILE_KC];
        for (r = r0; r < r1; r += 16) {
            int nr = r1 - r < 16 ? r1 - r : 16;
            for (b0 = 0; b0 < nb; b0 += TFM__KTILE_KC) {
                size_t nbk = nb - b0 < TFM__KTILE_KC ? nb - b0 : TFM__KTILE_KC;
                tfm__ktile_pack(kb, wtype, w, row_bytes, r, nr, b0, nbk);
                tfm__ktile_compute(y, ldy, r, nr, kb, b0, nbk, wtype, xq, xq_row_bytes, m, b0 == 0);
            }
        }
        return;
    }
    for (r = r0; r < r1; r += 16) {
        int nr = r1 - r < 16 ? r1 - r : 16;
        for (b0 = 0; b0 < nb; b0 += TFM__TILE_KC) {
            size_t nbk = nb - b0 < TFM__TILE_KC ? nb - b0 : TFM__TILE_KC;
            tfm__tile_pack(tb, wtype, w, row_bytes, r, nr, b0, nbk);
            tfm__tile_compute(y, ldy, r, nr, tb, b0, nbk, wtype, xq, xq_row_bytes, xinfo, nb, m, b0 == 0);
        }
    }
}
#endif

/* ---------------------------------------------------------------- packed weights (AVX-512 VNNI)
   The tfm-private layout tfm_quant_pack makes: row-tiles of 16 rows (the last one padded with zero
   rows), one after the other, each tfm__pack_tile_bytes long, in which 64-byte vectors hold 4 bytes of
   each of the 16 rows (lane r = row r). Then a block of 16 rows is a few aligned loads, one vpdpbusd
   against 4 broadcast activation bytes advances all 16 rows, and the lanes end the block holding the
   rows' exact isums: no shuffles, no reductions. The float update is the documented one, lane by lane.
     q8_0, q4_0, q4_1: a row-tile holds first the scales of its blocks, per block 16 fp16 d (q4_1: then
       16 fp16 m), padded to a multiple of 64 bytes, then their quants, per block 8 vectors (q8_0:
       vector t = elements 4t..4t+3, stored as q + 128) or 4 (q4_0, q4_1: vector t = the GGML bytes
       4t..4t+3, i.e. elements 4t.. in the low nibbles and 16 + 4t.. in the high ones).
     q4_k, per super-block (2368 bytes): 32 vectors, (c, t) = GGML bytes 32c + 4t.. (elements 64c + 4t..
       low, 64c + 32 + 4t.. high); 16 fp16 d; 16 fp16 dmin; the 6-bit scales as bytes [8][16]; the
       mins as byte pairs [4][16][2] (sub-blocks 2i, 2i + 1: one vpdpwssd against the activation sums).
     q6_k, per super-block (3392 bytes): ql as 32 vectors (h, p, t) = GGML ql bytes 64h + 32p + 4t..; qh
       as 16 vectors (h, t) = qh bytes 32h + 4t..; the int8 scales [16][16]; 16 fp16 d; 32 bytes pad.
   High nibbles enter vpdpbusd as 16 q (masked, not shifted) in their own accumulator, shifted back
   (exactly) once per block. */

#if defined(TFM__Q_ZMM)
#define TFM__PACK_ROWS 16
#define TFM__PACK_Q4K_BYTES 2368
#define TFM__PACK_Q6K_BYTES 3392

static int tfm__pack_kquant(tfm_dtype t) { return t == TFM_Q4_K || t == TFM_Q6_K; }
int tfm_quant_packable(tfm_dtype wtype) { return tfm__zx_type(wtype) || tfm__pack_kquant(wtype); }

static size_t tfm__pack_scale_bytes(tfm_dtype t) { return t == TFM_Q4_1 ? 64 : 32; }
static size_t tfm__pack_quant_bytes(tfm_dtype t) { return t == TFM_Q8_0 ? 512 : 256; }
static size_t tfm__pack_scales_area(tfm_dtype t, size_t nb) { return (nb * tfm__pack_scale_bytes(t) + 63) / 64 * 64; }
/* bytes of one row-tile of nb blocks (super-blocks for the k-quants) */
static size_t tfm__pack_tile_bytes(tfm_dtype t, size_t nb)
{
    if (t == TFM_Q4_K) return nb * TFM__PACK_Q4K_BYTES;
    if (t == TFM_Q6_K) return nb * TFM__PACK_Q6K_BYTES;
    return tfm__pack_scales_area(t, nb) + nb * tfm__pack_quant_bytes(t);
}

/* byte k of the 4-byte lane of row r in vector v of a block's vectors at o */
#define TFM__PACK_AT(o, v, r, k) ((o)[64 * (v) + 4 * (r) + (k)])

/* rows [0, nr) of GGML rows at w (row_bytes apart) -> one row-tile at dst */
static void tfm__pack_tile(unsigned char *dst, tfm_dtype t, const unsigned char *w, size_t row_bytes, int nr, size_t nb)
{
    const size_t bb = tfm_dtype_block_bytes(t);
    size_t b;
    int r, k, v, j;
    memset(dst, 0, tfm__pack_tile_bytes(t, nb));
    for (r = 0; r < nr; r++)
        for (b = 0; b < nb; b++) {
            const unsigned char *blk = w + (size_t)r * row_bytes + b * bb;
            if (t == TFM_Q4_K) {
                const tfm_block_q4_K *q = (const tfm_block_q4_K *)(const void *)blk;
                unsigned char *o = dst + b * TFM__PACK_Q4K_BYTES;
                int sc[8], mn[8];
                for (v = 0; v < 32; v++)
                    for (k = 0; k < 4; k++) TFM__PACK_AT(o, v, r, k) = q->qs[4 * v + k];
                memcpy(o + 2048 + 2 * r, &q->d, 2);
                memcpy(o + 2080 + 2 * r, &q->dmin, 2);
                tfm__q4k_unpack(q->scales, sc, mn);
                for (j = 0; j < 8; j++) {
                    o[2112 + 16 * j + r] = (unsigned char)sc[j];
                    o[2240 + 32 * (j / 2) + 2 * r + j % 2] = (unsigned char)mn[j];
                }
            } else if (t == TFM_Q6_K) {
                const tfm_block_q6_K *q = (const tfm_block_q6_K *)(const void *)blk;
                unsigned char *o = dst + b * TFM__PACK_Q6K_BYTES;
                for (v = 0; v < 32; v++)
                    for (k = 0; k < 4; k++) TFM__PACK_AT(o, v, r, k) = q->ql[4 * v + k];
                for (v = 0; v < 16; v++)
                    for (k = 0; k < 4; k++) TFM__PACK_AT(o + 2048, v, r, k) = q->qh[4 * v + k];
                for (j = 0; j < 16; j++) o[3072 + 16 * j + r] = (unsigned char)q->scales[j];
                memcpy(o + 3328 + 2 * r, &q->d, 2);
            } else {
                const size_t sb = tfm__pack_scale_bytes(t), qb = tfm__pack_quant_bytes(t);
                unsigned char *s = dst + b * sb, *o = dst + tfm__pack_scales_area(t, nb) + b * qb;
                memcpy(s + 2 * r, blk, 2);
                if (t == TFM_Q4_1) memcpy(s + 32 + 2 * r, blk + 2, 2);
                if (t == TFM_Q8_0)
                    for (k = 0; k < TFM_QK; k++) TFM__PACK_AT(o, k / 4, r, k % 4) = (unsigned char)(blk[2 + k] ^ 0x80);
                else
                    for (k = 0; k < TFM_QK / 2; k++) TFM__PACK_AT(o, k / 4, r, k % 4) = blk[(t == TFM_Q4_1 ? 4 : 2) + k];
            }
        }
}

TFM__INLINE __m512i tfm__pack_bcast(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}
TFM__INLINE __m512i tfm__pack_vec(const unsigned char *o, int v) { return _mm512_load_si512((const void *)(o + 64 * v)); }
TFM__INLINE __m512 tfm__pack_h16(const unsigned char *p) { return _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)p)); }

/* the next row-tile into L2 while this one computes, block b's share of it: the lines holding bytes
   [b * bytes, (b + 1) * bytes) (one core alone keeps too few reads in flight to reach the read
   bandwidth). Whole lines per block left the last ninth of every q4_0 tile (288 bytes a block) and the
   last seventeenth of q8_0's to the hardware: cold q4_0 gemv 93% of the read bandwidth. Forced inline:
   gcc's IPA mod/ref analysis finds a separate prefetching function free of side effects and deletes
   its calls. */
TFM__Q_FORCE_INLINE void tfm__pack_prefetch(const unsigned char *next, size_t b, size_t bytes)
{
    size_t l, last = ((b + 1) * bytes - 1) / 64;
    if (next)
        for (l = b * bytes / 64; l <= last; l++) _mm_prefetch((const char *)(next + 64 * l), _MM_HINT_T1);
}

/* The 16 rows of a q8_0 / q4_0 / q4_1 row-tile against the prepared activations: lane r = row r's dot. */
TFM__Q_FORCE_INLINE __m512 tfm__pack_dot(const unsigned char *tile, tfm_dtype t, const tfm__zx *xg, size_t nb,
                                         const unsigned char *next)
{
    const size_t sb = tfm__pack_scale_bytes(t), qb = tfm__pack_quant_bytes(t);
    const unsigned char *sc = tile, *qs = tile + tfm__pack_scales_area(t, nb);
    const __m512i lo4 = _mm512_set1_epi8(0x0f), hi4 = _mm512_set1_epi8((char)0xf0);
    __m512 acc = _mm512_setzero_ps();
    size_t b;
    for (b = 0; b < nb; b++, sc += sb, qs += qb) {
        const tfm__zx *x = xg + b / 4;
        const int j = (int)(b % 4);
        const int8_t *al = x->lo + 16 * j, *ah = x->hi + 16 * j;
        __m512i i0 = _mm512_set1_epi32(x->off[4 * j]), i1 = _mm512_setzero_si512(), isum;
        tfm__pack_prefetch(next, b, sb + qb);
        if (t == TFM_Q8_0) {
#define TFM__PACK_Q8(k)                                                                                              \
    i0 = _mm512_dpbusd_epi32(i0, tfm__pack_vec(qs, k), tfm__pack_bcast(al + 4 * (k)));                                \
    i1 = _mm512_dpbusd_epi32(i1, tfm__pack_vec(qs, (k) + 4), tfm__pack_bcast(ah + 4 * (k)))
            TFM__PACK_Q8(0);
            TFM__PACK_Q8(1);
            TFM__PACK_Q8(2);
            TFM__PACK_Q8(3);
#undef TFM__PACK_Q8
            isum = _mm512_add_epi32(i0, i1);
        } else {
#define TFM__PACK_Q4(k)                                                                                              \
    {                                                                                                                \
        __m512i v = tfm__pack_vec(qs, k);                                                                            \
        i0 = _mm512_dpbusd_epi32(i0, _mm512_and_si512(v, lo4), tfm__pack_bcast(al + 4 * (k)));                       \
        i1 = _mm512_dpbusd_epi32(i1, _mm512_and_si512(v, hi4), tfm__pack_bcast(ah + 4 * (k)));                       \
    }
            TFM__PACK_Q4(0)
            TFM__PACK_Q4(1)
            TFM__PACK_Q4(2)
            TFM__PACK_Q4(3)
#undef TFM__PACK_Q4
            isum = _mm512_add_epi32(i0, _mm512_srai_epi32(i1, 4));
        }
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(tfm__pack_h16(sc), _mm512_set1_ps(x->d[j])), acc);
        if (t == TFM_Q4_1) acc = _mm512_fmadd_ps(tfm__pack_h16(sc + 32), _mm512_set1_ps(x->s[j]), acc);
    }
    return acc;
}

/* q4_k: per sub-block pair c, the low nibbles (sub-block 2c) and the high ones (2c + 1, as 16 q) each
   in their own vpdpbusd chain, times the rows' 6-bit scales; the minima through vpdpwssd of the
   (mn_2i, mn_2i+1) pairs against the activations' (sum_2i, sum_2i+1) */
static __m512 tfm__pack_dot_q4_K(const unsigned char *tile, const void *xa, size_t nb, const unsigned char *next)
{
    const tfm_block_q8_K *a = (const tfm_block_q8_K *)xa;
    const __m512i lo4 = _mm512_set1_epi8(0x0f), hi4 = _mm512_set1_epi8((char)0xf0);
    __m512 acc = _mm512_setzero_ps();
    size_t b;
    int c, i;
    for (b = 0; b < nb; b++, a++) {
        const unsigned char *o = tile + b * TFM__PACK_Q4K_BYTES;
        __m512i isum = _mm512_setzero_si512(), msum = isum;
        __m512 da = _mm512_set1_ps(a->d);
        tfm__pack_prefetch(next, b, TFM__PACK_Q4K_BYTES);
        for (c = 0; c < 4; c++) {
            const int8_t *q8 = a->qs + 64 * c;
            __m512i lo = _mm512_setzero_si512(), hi = lo;
#define TFM__PACK_K4(t)                                                                                              \
    {                                                                                                                \
        __m512i v = tfm__pack_vec(o, 8 * c + (t));                                                                   \
        lo = _mm512_dpbusd_epi32(lo, _mm512_and_si512(v, lo4), tfm__pack_bcast(q8 + 4 * (t)));                       \
        hi = _mm512_dpbusd_epi32(hi, _mm512_and_si512(v, hi4), tfm__pack_bcast(q8 + 32 + 4 * (t)));                  \
    }
            TFM__PACK_K4(0) TFM__PACK_K4(1) TFM__PACK_K4(2) TFM__PACK_K4(3)
            TFM__PACK_K4(4) TFM__PACK_K4(5) TFM__PACK_K4(6) TFM__PACK_K4(7)
#undef TFM__PACK_K4
            isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(lo, _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(const void *)(o + 2112 + 32 * c)))));
            isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(_mm512_srai_epi32(hi, 4),
                                                             _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(const void *)(o + 2128 + 32 * c)))));
        }
        for (i = 0; i < 4; i++) {
            int s0 = a->bsums[4 * i] + a->bsums[4 * i + 1], s1 = a->bsums[4 * i + 2] + a->bsums[4 * i + 3];
            msum = _mm512_dpwssd_epi32(msum, _mm512_cvtepu8_epi16(_mm256_load_si256((const __m256i *)(const void *)(o + 2240 + 32 * i))),
                                       _mm512_set1_epi32((int32_t)(((uint32_t)s1 << 16) | ((uint32_t)s0 & 0xffffu))));
        }
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(tfm__pack_h16(o + 2048), da), acc);
        acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(tfm__pack_h16(o + 2080), da), acc);
    }
    return acc;
}

/* the 6-bit levels of q6_k's 4 element sets (e, e + 32, e + 64, e + 96; e = 128h + 4t..) from the ql
   vectors l0 (h, 0, t), l1 (h, 1, t) and the qh vector: low nibble | 2 qh bits << 4, the bits picked
   by one ternary select (imm 0xE4: c ? a : b) against 0x0F */
#define TFM__Q6_SEL(a, b) _mm512_ternarylogic_epi32((a), (b), m4, 0xE4)

/* q6_k: one vpdpbusd chain per 16-element group (starting at -32 * its activation sum), times the
   rows' int8 scales */
static __m512 tfm__pack_dot_q6_K(const unsigned char *tile, const void *xa, size_t nb, const unsigned char *next)
{
    const tfm_block_q8_K *a = (const tfm_block_q8_K *)xa;
    const __m512i m4 = _mm512_set1_epi8(0x0f), m6 = _mm512_set1_epi8(0x3f);
    __m512 acc = _mm512_setzero_ps();
    size_t b;
    int i;
    for (b = 0; b < nb; b++, a++) {
        const unsigned char *o = tile + b * TFM__PACK_Q6K_BYTES;
        __m512i g[16], isum = _mm512_setzero_si512();
        tfm__pack_prefetch(next, b, TFM__PACK_Q6K_BYTES);
        for (i = 0; i < 16; i++) g[i] = _mm512_set1_epi32(-32 * a->bsums[i]);
        /* written out for constant h and t, so that g stays in registers */
#define TFM__PACK_K6(h, t)                                                                                           \
    {                                                                                                                \
        const int8_t *q8 = a->qs + 128 * (h);                                                                        \
        __m512i l0 = tfm__pack_vec(o, 16 * (h) + (t)), l1 = tfm__pack_vec(o, 16 * (h) + 8 + (t));                    \
        __m512i qh = tfm__pack_vec(o + 2048, 8 * (h) + (t));                                                         \
        const int gi = 8 * (h) + (t) / 4;                                                                            \
        g[gi] = _mm512_dpbusd_epi32(g[gi], TFM__Q6_SEL(l0, _mm512_and_si512(_mm512_slli_epi16(qh, 4), m6)), tfm__pack_bcast(q8 + 4 * (t))); \
        g[gi + 2] = _mm512_dpbusd_epi32(g[gi + 2], TFM__Q6_SEL(l1, _mm512_and_si512(_mm512_slli_epi16(qh, 2), m6)), tfm__pack_bcast(q8 + 32 + 4 * (t))); \
        g[gi + 4] = _mm512_dpbusd_epi32(g[gi + 4], TFM__Q6_SEL(_mm512_srli_epi16(l0, 4), _mm512_and_si512(qh, m6)), tfm__pack_bcast(q8 + 64 + 4 * (t))); \
        g[gi + 6] = _mm512_dpbusd_epi32(g[gi + 6], TFM__Q6_SEL(_mm512_srli_epi16(l1, 4), _mm512_and_si512(_mm512_srli_epi16(qh, 2), m6)), \
                                        tfm__pack_bcast(q8 + 96 + 4 * (t)));                                         \
    }
        TFM__PACK_K6(0, 0) TFM__PACK_K6(0, 1) TFM__PACK_K6(0, 2) TFM__PACK_K6(0, 3)
        TFM__PACK_K6(0, 4) TFM__PACK_K6(0, 5) TFM__PACK_K6(0, 6) TFM__PACK_K6(0, 7)
        TFM__PACK_K6(1, 0) TFM__PACK_K6(1, 1) TFM__PACK_K6(1, 2) TFM__PACK_K6(1, 3)
        TFM__PACK_K6(1, 4) TFM__PACK_K6(1, 5) TFM__PACK_K6(1, 6) TFM__PACK_K6(1, 7)
#undef TFM__PACK_K6
#define TFM__PACK_K6S(i)                                                                                             \
    isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(g[i], _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(const void *)(o + 3072 + 16 * (i))))))
        TFM__PACK_K6S(0); TFM__PACK_K6S(1); TFM__PACK_K6S(2); TFM__PACK_K6S(3);
        TFM__PACK_K6S(4); TFM__PACK_K6S(5); TFM__PACK_K6S(6); TFM__PACK_K6S(7);
        TFM__PACK_K6S(8); TFM__PACK_K6S(9); TFM__PACK_K6S(10); TFM__PACK_K6S(11);
        TFM__PACK_K6S(12); TFM__PACK_K6S(13); TFM__PACK_K6S(14); TFM__PACK_K6S(15);
#undef TFM__PACK_K6S
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(tfm__pack_h16(o + 3328), _mm512_set1_ps(a->d)), acc);
    }
    return acc;
}
#undef TFM__Q6_SEL

static __m512 tfm__pack_dot_q8_0(const unsigned char *tile, const void *xa, size_t nb, const unsigned char *next)
{
    return tfm__pack_dot(tile, TFM_Q8_0, (const tfm__zx *)xa, nb, next);
}
static __m512 tfm__pack_dot_q4_0(const unsigned char *tile, const void *xa, size_t nb, const unsigned char *next)
{
    return tfm__pack_dot(tile, TFM_Q4_0, (const tfm__zx *)xa, nb, next);
}
static __m512 tfm__pack_dot_q4_1(const unsigned char *tile, const void *xa, size_t nb, const unsigned char *next)
{
    return tfm__pack_dot(tile, TFM_Q4_1, (const tfm__zx *)xa, nb, next);
}

/* Y[c][r - r0] for rows r in [r0, r1) (inside row-tiles [t0, t1)) and the m activation rows at xa
   (xa_bytes apart): prepared groups for the 32-element formats, q8_k rows for the k-quants */
static void tfm__pack_rows(float *y, size_t ldy, const unsigned char *xa, size_t xa_bytes, int m, const tfm_quant_packed *w,
                           int r0, int r1, int t0, int t1)
{
    const tfm_dtype dt = w->dtype;
    __m512 (*dot)(const unsigned char *, const void *, size_t, const unsigned char *) =
        dt == TFM_Q8_0 ? tfm__pack_dot_q8_0 : dt == TFM_Q4_0 ? tfm__pack_dot_q4_0 : dt == TFM_Q4_1 ? tfm__pack_dot_q4_1
        : dt == TFM_Q4_K ? tfm__pack_dot_q4_K : tfm__pack_dot_q6_K;
    const size_t nb = (size_t)w->cols / tfm_dtype_block_size(dt), tile_bytes = tfm__pack_tile_bytes(dt, nb);
    int t, c;
    for (t = t0; t < t1; t++) {
        const unsigned char *tile = (const unsigned char *)w->data + (size_t)t * tile_bytes;
        int first = t * TFM__PACK_ROWS, lo = first > r0 ? first : r0, hi = first + TFM__PACK_ROWS < r1 ? first + TFM__PACK_ROWS : r1;
        for (c = 0; c < m; c++) {
            __m512 acc = dot(tile, xa + (size_t)c * xa_bytes, nb, c == 0 && t + 1 < t1 ? tile + tile_bytes : NULL);
            float *yc = y + (size_t)c * ldy;
            if (lo == first && hi - lo == TFM__PACK_ROWS) {
                _mm512_storeu_ps(yc + (lo - r0), acc);
            } else { /* a row-tile cut by r0 or r1 */
                float out[TFM__PACK_ROWS];
                _mm512_storeu_ps(out, acc);
                memcpy(yc + (lo - r0), out + (lo - first), (size_t)(hi - lo) * sizeof(float));
            }
        }
    }
}

/* the gemm tiles' block layout from a packed q8_0 / q4_0 / q4_1 row-tile (blocks [b0, b0 + nbk)) */
static void tfm__pack_to_tile(tfm__tile_block *tb, tfm_dtype t, const unsigned char *tile, size_t nb, size_t b0, size_t nbk)
{
    const size_t sb = tfm__pack_scale_bytes(t), qb = tfm__pack_quant_bytes(t);
    const __m512i lo4 = _mm512_set1_epi8(0x0f);
    size_t b;
    int k;
    for (b = 0; b < nbk; b++) {
        const unsigned char *sc = tile + (b0 + b) * sb, *qs = tile + tfm__pack_scales_area(t, nb) + (b0 + b) * qb;
        _mm512_storeu_ps(tb[b].d, tfm__pack_h16(sc));
        _mm512_storeu_ps(tb[b].m, t == TFM_Q4_1 ? tfm__pack_h16(sc + 32) : _mm512_setzero_ps());
        for (k = 0; k < 4; k++) {
            __m512i v = tfm__pack_vec(qs, k);
            if (t == TFM_Q8_0) {
                tb[b].q[k] = v;
                tb[b].q[k + 4] = tfm__pack_vec(qs, k + 4);
            } else {
                tb[b].q[k] = _mm512_and_si512(v, lo4);
                tb[b].q[k + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
            }
        }
    }
}

/* the k-quant gemm tiles' layout (one byte per element, int32 scales) from packed super-blocks */
static void tfm__pack_to_ktile(tfm__ktile_block *tb, tfm_dtype t, const unsigned char *tile, size_t b0, size_t nbk)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), m6 = _mm512_set1_epi8(0x3f);
    size_t b;
    int v, j, r;
    for (b = 0; b < nbk; b++) {
        tfm__ktile_block *kb = tb + b;
        if (t == TFM_Q4_K) {
            const unsigned char *o = tile + (b0 + b) * TFM__PACK_Q4K_BYTES;
            for (v = 0; v < 32; v++) { /* vector (c, t): elements 64c + 4t.. low, 64c + 32 + 4t.. high */
                __m512i q = tfm__pack_vec(o, v);
                kb->q[16 * (v / 8) + v % 8] = _mm512_and_si512(q, m4);
                kb->q[16 * (v / 8) + 8 + v % 8] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
            }
            for (j = 0; j < 8; j++)
                for (r = 0; r < 16; r++) {
                    kb->sc[j][r] = o[2112 + 16 * j + r];
                    kb->mn[j][r] = o[2240 + 32 * (j / 2) + 2 * r + j % 2];
                }
            _mm512_storeu_ps(kb->d, tfm__pack_h16(o + 2048));
            _mm512_storeu_ps(kb->dmin, tfm__pack_h16(o + 2080));
        } else {
            const unsigned char *o = tile + (b0 + b) * TFM__PACK_Q6K_BYTES;
            for (v = 0; v < 16; v++) { /* (h, t): elements 128h + 4t.. + 32k from level set k */
                int h = v / 8, tt = v % 8;
                __m512i l0 = tfm__pack_vec(o, 16 * h + tt), l1 = tfm__pack_vec(o, 16 * h + 8 + tt), qh = tfm__pack_vec(o + 2048, v);
                kb->q[32 * h + tt] = _mm512_ternarylogic_epi32(l0, _mm512_and_si512(_mm512_slli_epi16(qh, 4), m6), m4, 0xE4);
                kb->q[32 * h + 8 + tt] = _mm512_ternarylogic_epi32(l1, _mm512_and_si512(_mm512_slli_epi16(qh, 2), m6), m4, 0xE4);
                kb->q[32 * h + 16 + tt] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l0, 4), _mm512_and_si512(qh, m6), m4, 0xE4);
                kb->q[32 * h + 24 + tt] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l1, 4), _mm512_and_si512(_mm512_srli_epi16(qh, 2), m6), m4, 0xE4);
            }
            for (j = 0; j < 16; j++)
                for (r = 0; r < 16; r++) kb->sc[j][r] = (int8_t)o[3072 + 16 * j + r];
            _mm512_storeu_ps(kb->d, tfm__pack_h16(o + 3328));
            _mm512_storeu_ps(kb->dmin, _mm512_setzero_ps());
        }
    }
}
#endif

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

/* rows split across threads in chunks of 64 rows (a multiple of the 4- and 16-row groups, so the
   grouping, which anyway changes no result, does not depend on the thread count either) */
static void tfm__qgemm_parallel(float *y, size_t ldy, const unsigned char *xq, size_t xq_row_bytes, const tfm__act_info *xinfo,
                                int m, tfm_dtype wtype, const unsigned char *w, size_t row_bytes, size_t nb, int n,
                                int n_threads)
{
    const int chunk_rows = 64;
    tfm__dot4_fn dot4 = tfm__dot4_for(wtype);
    int chunks = (n + chunk_rows - 1) / chunk_rows, c, tiles = 0;
#if defined(TFM__Q_TILE16)
    tiles = xinfo && m >= TFM__TILE_MIN_M && tfm__tile_type(wtype);
#endif
    n_threads = tfm__gemv_threads(n_threads, (double)n * (double)nb * (double)tfm_dtype_block_size(wtype) * (double)m);
    TFM__PARALLEL_FOR(n_threads)
    for (c = 0; c < chunks; c++) {
        int r0 = c * chunk_rows, r1 = r0 + chunk_rows < n ? r0 + chunk_rows : n;
#if defined(TFM__Q_TILE16)
        if (tiles) {
            tfm__tile_rows(y, ldy, xq, xq_row_bytes, xinfo, m, wtype, w, row_bytes, nb, r0, r1);
            continue;
        }
#endif
        tfm__qgemm_rows(y, ldy, xq, xq_row_bytes, m, dot4, w, row_bytes, nb, r0, r1);
    }
    (void)n_threads; /* unused without OpenMP */
    (void)xinfo;
    (void)tiles;
}

#if defined(TFM__Q_Z16)
/* the 16-row kernels over all n rows for m (<= 3) activation rows prepared in xg: each thread takes an
   equal share of the 16-row blocks (even on a few hundred rows) */
static void tfm__z16_parallel(float *y, size_t ldy, const tfm__zx *xg, size_t groups, int m, tfm_dtype wtype,
                              const unsigned char *w, size_t row_bytes, size_t nb, int n, int n_threads)
{
    const int blocks = (n + 15) / 16;
    int t;
    n_threads = tfm__gemv_threads(n_threads, (double)n * (double)nb * TFM_QK * (double)m);
    TFM__PARALLEL_FOR(n_threads)
    for (t = 0; t < n_threads; t++) {
        int r0 = 16 * (blocks * t / n_threads), r1 = 16 * (blocks * (t + 1) / n_threads);
        if (r0 < r1) tfm__z16_rows(y, ldy, xg, groups, m, wtype, w, row_bytes, nb, r0, r1 < n ? r1 : n);
    }
}
#endif

#if defined(TFM__Q_Z16)
/* the 16-row gemv; the prepared activations (256 bytes per 128 columns) on the stack up to
   TFM_QUANT_STACK_COLS columns */
static tfm_status tfm__z16_gemv(float *y, tfm_dtype wtype, const unsigned char *w, size_t row_bytes, const float *x, int rows,
                                size_t nb, int n_threads)
{
    tfm__zx stack[TFM_QUANT_STACK_COLS / 128];
    size_t groups = (nb + 3) / 4;
    tfm__zx *xg = groups <= sizeof stack / sizeof stack[0] ? stack : (tfm__zx *)tfm_aligned_alloc(groups * sizeof(tfm__zx));
    if (!xg) return TFM_ERR_OUT_OF_MEMORY;
    tfm__zx_quantize(xg, x, nb, wtype);
    tfm__z16_parallel(y, 0, xg, groups, 1, wtype, w, row_bytes, nb, rows, n_threads);
    if (xg != stack) tfm_aligned_free(xg);
    return TFM_OK;
}
#endif

tfm_status tfm_quant_gemv(float *y, tfm_dtype wtype, const void *w, const float *x, int rows, int cols, int n_threads)
{
    tfm_block_q8_K stack[TFM_QUANT_STACK_COLS / TFM_QK_K];
    size_t nb = 0, row_bytes = 0, xq_row_bytes = 0;
    unsigned char *xq;
    tfm_status s;
    if (!y || !w || !x || rows <= 0 || cols <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (wtype == TFM_F32 || wtype == TFM_F16 || wtype == TFM_BF16) return tfm_gemv(y, wtype, w, x, rows, cols, n_threads);
    s = tfm__qcheck(wtype, w, rows, cols, &nb, &row_bytes, &xq_row_bytes);
    if (s != TFM_OK) return s;
#if defined(TFM__Q_Z16)
    if (tfm__zx_type(wtype)) return tfm__z16_gemv(y, wtype, (const unsigned char *)w, row_bytes, x, rows, nb, n_threads);
#endif
    xq = xq_row_bytes <= sizeof stack ? (unsigned char *)stack : (unsigned char *)tfm_aligned_alloc(xq_row_bytes);
    if (!xq) return TFM_ERR_OUT_OF_MEMORY;
    tfm_quantize_row(tfm_quant_vec_dot_type(wtype), x, xq, (size_t)cols);
    tfm__qgemm_parallel(y, 0, xq, xq_row_bytes, NULL, 1, wtype, (const unsigned char *)w, row_bytes, nb, rows, n_threads);
    if (xq != (unsigned char *)stack) tfm_aligned_free(xq);
    return TFM_OK;
}

/* Workspace of a gemm of m activation rows: the quantized rows, then a tfm__act_info per 32-block
   (for the tile kernels), then room to align the caller's pointer; with fewer than
   TFM__GEMM_ROWS_AS_GEMV rows of a 32-element format, at least the rows prepared for the 16-lane gemv
   kernels (256 bytes per 128 columns each), which those builds use instead. */
#define TFM__GEMM_ROWS_AS_GEMV 4
#define TFM__ZX_BYTES 256

size_t tfm_quant_workspace_size(tfm_dtype wtype, int m, int k)
{
    size_t xq_row_bytes = 0, per_row, bytes, zx_row;
    if (m <= 0 || k <= 0 || !tfm__dot4_for(wtype)) return 0;
    if (tfm_dtype_row_bytes(tfm_quant_vec_dot_type(wtype), (uint64_t)k, &xq_row_bytes) != TFM_OK) return 0;
    per_row = xq_row_bytes + (size_t)k / TFM_QK * sizeof(tfm__act_info);
    if ((size_t)m > (SIZE_MAX - 128) / per_row) return 0;
    bytes = (size_t)m * per_row + 128;
    zx_row = ((size_t)k / TFM_QK + 3) / 4 * TFM__ZX_BYTES;
    if (m < TFM__GEMM_ROWS_AS_GEMV && tfm_dtype_block_size(wtype) == TFM_QK && (size_t)m * zx_row + 64 > bytes)
        bytes = (size_t)m * zx_row + 64;
    return bytes;
}

/* The m activation rows (ldx apart) quantized for the kernels of wtype into xq (xq_row_bytes apart),
   with the tiles' per-block info in xinfo for the 32-element formats. */
static void tfm__gemm_prepare(unsigned char *xq, size_t xq_row_bytes, tfm__act_info *xinfo, const float *x, size_t ldx, int m,
                              tfm_dtype wtype, int k, size_t nb, int n_threads)
{
    int c;
    /* ~1 ns per value: a team only for a few tens of microseconds of work */
    TFM__PARALLEL_FOR((double)m * (double)k >= 65536.0 ? n_threads : 1)
    for (c = 0; c < m; c++) {
        tfm_dtype at = tfm_quant_vec_dot_type(wtype);
        unsigned char *row = xq + (size_t)c * xq_row_bytes;
        tfm_quantize_row(at, x + (size_t)c * ldx, row, (size_t)k);
        if (at == TFM_Q8_0 || at == TFM_Q8_1) {
            size_t b, j, ab = tfm_dtype_block_bytes(at), qs_at = at == TFM_Q8_0 ? 2 : 4;
            for (b = 0; b < nb; b++) {
                const unsigned char *blk = row + b * ab;
                const int8_t *qs = (const int8_t *)(blk + qs_at);
                tfm__act_info *in = xinfo + (size_t)c * nb + b;
                int32_t sum = 0;
                uint16_t h;
                for (j = 0; j < TFM_QK; j++) sum += qs[j];
                in->off = -tfm__weight_offset(wtype) * sum;
                memcpy(&h, blk, 2);
                in->d = tfm_f16_to_f32(h);
                memcpy(&h, blk + 2, 2);
                in->s = at == TFM_Q8_1 ? tfm_f16_to_f32(h) : 0.0f;
            }
        }
    }
    (void)n_threads;
}

static void *tfm__align64(void *p) { return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

tfm_status tfm_quant_gemm_ws(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype, const void *w, int m,
                             int n, int k, int n_threads, void *ws, size_t ws_bytes)
{
    size_t nb = 0, row_bytes = 0, xq_row_bytes = 0;
    unsigned char *xq;
    tfm__act_info *xinfo;
    tfm_status s;
    if (!y || !x || !w || m <= 0 || n <= 0 || k <= 0 || ldx < (size_t)k || ldy < (size_t)n)
        return TFM_ERR_INVALID_ARGUMENT;
    if (wtype == TFM_F32 || wtype == TFM_F16 || wtype == TFM_BF16) return tfm_gemm(y, ldy, x, ldx, wtype, w, m, n, k, n_threads);
    s = tfm__qcheck(wtype, w, n, k, &nb, &row_bytes, &xq_row_bytes);
    if (s != TFM_OK) return s;
    if (!ws || ws_bytes < tfm_quant_workspace_size(wtype, m, k)) return TFM_ERR_INVALID_ARGUMENT;
    n_threads = tfm__threads(n_threads);
#if defined(TFM__Q_Z16)
    if (m < TFM__GEMM_ROWS_AS_GEMV && tfm__zx_type(wtype)) {
        size_t groups = (nb + 3) / 4;
        tfm__zx *xg = (tfm__zx *)tfm__align64(ws);
        int c;
        for (c = 0; c < m; c++) tfm__zx_quantize(xg + (size_t)c * groups, x + (size_t)c * ldx, nb, wtype);
        tfm__z16_parallel(y, ldy, xg, groups, m, wtype, (const unsigned char *)w, row_bytes, nb, n, n_threads);
        return TFM_OK;
    }
#endif
    xq = (unsigned char *)tfm__align64(ws);
    xinfo = (tfm__act_info *)(void *)(xq + (((size_t)m * xq_row_bytes + 63) & ~(size_t)63));
    tfm__gemm_prepare(xq, xq_row_bytes, xinfo, x, ldx, m, wtype, k, nb, n_threads);
    tfm__qgemm_parallel(y, ldy, xq, xq_row_bytes, xinfo, m, wtype, (const unsigned char *)w, row_bytes, nb, n, n_threads);
    return TFM_OK;
}

tfm_status tfm_quant_gemm(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype, const void *w, int m, int n,
                          int k, int n_threads)
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

/* ---------------------------------------------------------------- packed weights: the API */

#if !defined(TFM__Q_ZMM)
int tfm_quant_packable(tfm_dtype wtype)
{
    (void)wtype;
    return 0;
}
#endif

tfm_status tfm_quant_pack(tfm_quant_packed *out, tfm_dtype wtype, const void *w, int rows, int cols, int n_threads)
{
    size_t nb, row_bytes = 0, tile_bytes, tiles;
    unsigned char *data;
    int t;
    if (!out) return TFM_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (!w || rows <= 0 || cols <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (!tfm_quant_packable(wtype)) return TFM_ERR_UNSUPPORTED;
    if ((size_t)cols % tfm_dtype_block_size(wtype)) return TFM_ERR_SHAPE;
    if (!tfm__aligned(w, wtype) || tfm_dtype_row_bytes(wtype, (uint64_t)cols, &row_bytes) != TFM_OK) return TFM_ERR_INVALID_ARGUMENT;
#if defined(TFM__Q_ZMM)
    nb = (size_t)cols / tfm_dtype_block_size(wtype);
    tile_bytes = tfm__pack_tile_bytes(wtype, nb);
    tiles = ((size_t)rows + TFM__PACK_ROWS - 1) / TFM__PACK_ROWS;
    if (tiles > SIZE_MAX / tile_bytes) return TFM_ERR_OUT_OF_RANGE;
    data = (unsigned char *)tfm_aligned_alloc(tiles * tile_bytes);
    if (!data) return TFM_ERR_OUT_OF_MEMORY;
    n_threads = tfm__threads(n_threads);
    TFM__PARALLEL_FOR((double)rows * (double)cols >= 65536.0 ? n_threads : 1)
    for (t = 0; t < (int)tiles; t++) {
        int r0 = t * TFM__PACK_ROWS, nr = rows - r0 < TFM__PACK_ROWS ? rows - r0 : TFM__PACK_ROWS;
        tfm__pack_tile(data + (size_t)t * tile_bytes, wtype, (const unsigned char *)w + (size_t)r0 * row_bytes, row_bytes, nr, nb);
    }
    out->dtype = wtype;
    out->rows = rows;
    out->cols = cols;
    out->bytes = tiles * tile_bytes;
    out->data = data;
    return TFM_OK;
#else
    (void)n_threads, (void)nb, (void)tile_bytes, (void)tiles, (void)data, (void)t;
    return TFM_ERR_UNSUPPORTED;
#endif
}

void tfm_quant_packed_free(tfm_quant_packed *p)
{
    if (!p) return;
    tfm_aligned_free(p->data);
    memset(p, 0, sizeof *p);
}

static int tfm__packed_ok(const tfm_quant_packed *w)
{
    return w && w->data && w->rows > 0 && w->cols > 0 && tfm_quant_packable(w->dtype) &&
           (size_t)w->cols % tfm_dtype_block_size(w->dtype) == 0;
}

#if defined(TFM__Q_ZMM)
/* activation row x prepared for the packed kernels of wtype at xa: groups (tfm__zx) for the 32-element
   formats, a q8_k row for the k-quants; bytes it takes in *bytes */
static size_t tfm__pack_act_bytes(tfm_dtype wtype, size_t cols)
{
    return tfm__pack_kquant(wtype) ? cols / TFM_QK_K * sizeof(tfm_block_q8_K) : (cols / TFM_QK + 3) / 4 * sizeof(tfm__zx);
}
static void tfm__pack_act(unsigned char *xa, const float *x, tfm_dtype wtype, size_t cols)
{
    if (tfm__pack_kquant(wtype)) tfm_quantize_row(TFM_Q8_K, x, xa, cols);
    else tfm__zx_quantize((tfm__zx *)(void *)xa, x, cols / TFM_QK, wtype);
}
#endif

tfm_status tfm_quant_packed_gemv(float *y, const tfm_quant_packed *w, const float *x, int r0, int r1, int n_threads)
{
#if defined(TFM__Q_ZMM)
    tfm__zx stack[TFM_QUANT_STACK_COLS / 128];
    unsigned char *xa;
    size_t bytes;
    int t0, t1, t;
#endif
    if (!y || !x || !tfm__packed_ok(w) || r0 < 0 || r1 > w->rows || r0 >= r1) return TFM_ERR_INVALID_ARGUMENT;
#if defined(TFM__Q_ZMM)
    bytes = tfm__pack_act_bytes(w->dtype, (size_t)w->cols);
    xa = bytes <= sizeof stack ? (unsigned char *)stack : (unsigned char *)tfm_aligned_alloc(bytes);
    if (!xa) return TFM_ERR_OUT_OF_MEMORY;
    tfm__pack_act(xa, x, w->dtype, (size_t)w->cols);
    t0 = r0 / TFM__PACK_ROWS;
    t1 = (r1 + TFM__PACK_ROWS - 1) / TFM__PACK_ROWS;
    n_threads = tfm__gemv_threads(n_threads, (double)(r1 - r0) * (double)w->cols);
    TFM__PARALLEL_FOR(n_threads)
    for (t = 0; t < n_threads; t++) {
        int a = t0 + (t1 - t0) * t / n_threads, b = t0 + (t1 - t0) * (t + 1) / n_threads;
        if (a < b) tfm__pack_rows(y, 0, xa, 0, 1, w, r0, r1, a, b);
    }
    if (xa != (unsigned char *)stack) tfm_aligned_free(xa);
    return TFM_OK;
#else
    (void)n_threads;
    return TFM_ERR_UNSUPPORTED;
#endif
}

#if defined(TFM__Q_ZMM)
/* row-tile t of a packed matrix through the gemm tiles, K in chunks */
static void tfm__pack_gemm_tile(float *y, size_t ldy, const unsigned char *xq, size_t xq_row_bytes, const tfm__act_info *xinfo,
                                int m, const tfm_quant_packed *w, int t)
{
    const tfm_dtype dt = w->dtype;
    const size_t nb = (size_t)w->cols / tfm_dtype_block_size(dt);
    const unsigned char *tile = (const unsigned char *)w->data + (size_t)t * tfm__pack_tile_bytes(dt, nb);
    const int r0 = t * TFM__PACK_ROWS, nr = w->rows - r0 < TFM__PACK_ROWS ? w->rows - r0 : TFM__PACK_ROWS;
    size_t b0;
    if (tfm__pack_kquant(dt)) {
        tfm__ktile_block kb[TFM__KTILE_KC];
        for (b0 = 0; b0 < nb; b0 += TFM__KTILE_KC) {
            size_t nbk = nb - b0 < TFM__KTILE_KC ? nb - b0 : TFM__KTILE_KC;
            tfm__pack_to_ktile(kb, dt, tile, b0, nbk);
            tfm__ktile_compute(y, ldy, r0, nr, kb, b0, nbk, dt, xq, xq_row_bytes, m, b0 == 0);
        }
    } else {
        tfm__tile_block tb[TFM__TILE_KC];
        for (b0 = 0; b0 < nb; b0 += TFM__TILE_KC) {
            size_t nbk = nb - b0 < TFM__TILE_KC ? nb - b0 : TFM__TILE_KC;
            tfm__pack_to_tile(tb, dt, tile, nb, b0, nbk);
            tfm__tile_compute(y, ldy, r0, nr, tb, b0, nbk, dt, xq, xq_row_bytes, xinfo, nb, m, b0 == 0);
        }
    }
}
#endif

tfm_status tfm_quant_packed_gemm(float *y, size_t ldy, const float *x, size_t ldx, const tfm_quant_packed *w, int m,
                                 int n_threads, void *ws, size_t ws_bytes)
{
#if defined(TFM__Q_ZMM)
    size_t bytes, nb;
    void *own = NULL;
    int tiles, t, c;
#endif
    if (!y || !x || !tfm__packed_ok(w) || m <= 0 || ldx < (size_t)w->cols || ldy < (size_t)w->rows) return TFM_ERR_INVALID_ARGUMENT;
#if defined(TFM__Q_ZMM)
    bytes = tfm_quant_workspace_size(w->dtype, m, w->cols);
    if (bytes == 0) return TFM_ERR_OUT_OF_RANGE;
    if (ws && ws_bytes < bytes) return TFM_ERR_INVALID_ARGUMENT;
    if (!ws) {
        own = ws = TFM_MALLOC(bytes);
        if (!own) return TFM_ERR_OUT_OF_MEMORY;
    }
    nb = (size_t)w->cols / tfm_dtype_block_size(w->dtype);
    tiles = (w->rows + TFM__PACK_ROWS - 1) / TFM__PACK_ROWS;
    n_threads = tfm__threads(n_threads);
    if (m < TFM__GEMM_ROWS_AS_GEMV) { /* the gemv kernels, activation rows prepared as they need */
        unsigned char *xa = (unsigned char *)tfm__align64(ws);
        size_t xa_bytes = tfm__pack_act_bytes(w->dtype, (size_t)w->cols);
        for (c = 0; c < m; c++) tfm__pack_act(xa + (size_t)c * xa_bytes, x + (size_t)c * ldx, w->dtype, (size_t)w->cols);
        n_threads = tfm__gemv_threads(n_threads, (double)w->rows * (double)w->cols * (double)m);
        TFM__PARALLEL_FOR(n_threads)
        for (t = 0; t < n_threads; t++) {
            int a = tiles * t / n_threads, b = tiles * (t + 1) / n_threads;
            if (a < b) tfm__pack_rows(y, ldy, xa, xa_bytes, m, w, 0, w->rows, a, b);
        }
    } else {
        unsigned char *xq = (unsigned char *)tfm__align64(ws);
        size_t xq_row_bytes = 0;
        tfm__act_info *xinfo;
        tfm_dtype_row_bytes(tfm_quant_vec_dot_type(w->dtype), (uint64_t)w->cols, &xq_row_bytes);
        xinfo = (tfm__act_info *)(void *)(xq + (((size_t)m * xq_row_bytes + 63) & ~(size_t)63));
        tfm__gemm_prepare(xq, xq_row_bytes, xinfo, x, ldx, m, w->dtype, w->cols, nb, n_threads);
        n_threads = tfm__gemv_threads(n_threads, (double)w->rows * (double)w->cols * (double)m);
        TFM__PARALLEL_FOR(n_threads)
        for (t = 0; t < tiles; t++) tfm__pack_gemm_tile(y, ldy, xq, xq_row_bytes, xinfo, m, w, t);
    }
    TFM_FREE(own);
    return TFM_OK;
#else
    (void)ldx, (void)ldy, (void)m, (void)n_threads, (void)ws, (void)ws_bytes;
    return TFM_ERR_UNSUPPORTED;
#endif
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

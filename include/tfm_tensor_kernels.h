/* tfm_tensor_kernels.h - tfm_tensor.h's f32 kernels (dot, axpy and the other elementwise kernels,
   softmax, the norms, f16/bf16 rows, gemv, gemm), one instruction set per inclusion, and their table.
   Internal: not a header to include yourself (alone it declares nothing). tfm_tensor.h includes it
   after tfm_simd.h, once for the instruction set the build targets and, in a portable x86-64 build,
   once more per instruction set it dispatches to (tfm_simd_pass.h; RUN-TIME DISPATCH in
   tfm_tensor.h): hence no include guard, and the macros that depend on the set are defined afresh. */
#if !defined(TFM__SIMD_PASS)
typedef int tfm__tensor_kernels_h_alone; /* an ISO C translation unit must declare something */
#else
#undef TFM__GEMM_MR
#undef TFM__GEMM_NV
#undef TFM__GEMM_NR
#undef TFM__GEMM_MB
#undef TFM__GEMM_NB_WIDE
#undef TFM__GEMM_NB_NARROW
#undef TFM__GEMM_BLOCK
#undef TFM__GEMM_DECL
#undef TFM__GEMM_LOAD_W
#undef TFM__GEMM_FMA
#undef TFM__GEMM_ADD_C
#undef TFM__GEMM_STORE

/* ---------------------------------------------------------------- f16 and bf16 rows */

static void tfm__k_f16_to_f32_row(float *out, const uint16_t *in, size_t n)
{
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store(out + i, tfm__vf_load_f16(in + i));
    for (; i < n; i++) out[i] = tfm_f16_to_f32(in[i]);
}

static void tfm__k_f32_to_f16_row(uint16_t *out, const float *in, size_t n)
{
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store_f16(out + i, tfm__vf_load(in + i));
    for (; i < n; i++) out[i] = tfm_f32_to_f16(in[i]);
}

static void tfm__k_bf16_to_f32_row(float *out, const uint16_t *in, size_t n)
{
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store(out + i, tfm__vf_load_bf16(in + i));
    for (; i < n; i++) out[i] = tfm_bf16_to_f32(in[i]);
}

static void tfm__k_f32_to_bf16_row(uint16_t *out, const float *in, size_t n)
{
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store_bf16(out + i, tfm__vf_load(in + i));
    for (; i < n; i++) out[i] = tfm_f32_to_bf16(in[i]);
}

/* ---------------------------------------------------------------- elementwise kernels */

static float tfm__k_dot(const float *a, const float *b, size_t n)
{
    tfm__vf acc0 = tfm__vf_zero(), acc1 = tfm__vf_zero(), acc2 = tfm__vf_zero(), acc3 = tfm__vf_zero();
    size_t i = 0;
    for (; i + 4 * TFM__VF_N <= n; i += 4 * TFM__VF_N) {
        acc0 = tfm__vf_fma(tfm__vf_load(a + i), tfm__vf_load(b + i), acc0);
        acc1 = tfm__vf_fma(tfm__vf_load(a + i + TFM__VF_N), tfm__vf_load(b + i + TFM__VF_N), acc1);
        acc2 = tfm__vf_fma(tfm__vf_load(a + i + 2 * TFM__VF_N), tfm__vf_load(b + i + 2 * TFM__VF_N), acc2);
        acc3 = tfm__vf_fma(tfm__vf_load(a + i + 3 * TFM__VF_N), tfm__vf_load(b + i + 3 * TFM__VF_N), acc3);
    }
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) acc0 = tfm__vf_fma(tfm__vf_load(a + i), tfm__vf_load(b + i), acc0);
    if (i < n) acc1 = tfm__vf_fma(tfm__vf_load_n(a + i, n - i), tfm__vf_load_n(b + i, n - i), acc1);
    return tfm__vf_sum(tfm__vf_add(tfm__vf_add(acc0, acc1), tfm__vf_add(acc2, acc3)));
}

static void tfm__k_axpy(float *y, float alpha, const float *x, size_t n)
{
    tfm__vf va = tfm__vf_set1(alpha);
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N)
        tfm__vf_store(y + i, tfm__vf_fma(va, tfm__vf_load(x + i), tfm__vf_load(y + i)));
    if (i < n) tfm__vf_store_n(y + i, tfm__vf_fma(va, tfm__vf_load_n(x + i, n - i), tfm__vf_load_n(y + i, n - i)), n - i);
}

static void tfm__k_scale(float *y, float alpha, size_t n)
{
    tfm__vf va = tfm__vf_set1(alpha);
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store(y + i, tfm__vf_mul(va, tfm__vf_load(y + i)));
    if (i < n) tfm__vf_store_n(y + i, tfm__vf_mul(va, tfm__vf_load_n(y + i, n - i)), n - i);
}

static void tfm__k_add(float *out, const float *a, const float *b, size_t n)
{
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store(out + i, tfm__vf_add(tfm__vf_load(a + i), tfm__vf_load(b + i)));
    if (i < n) tfm__vf_store_n(out + i, tfm__vf_add(tfm__vf_load_n(a + i, n - i), tfm__vf_load_n(b + i, n - i)), n - i);
}

static void tfm__k_mul(float *out, const float *a, const float *b, size_t n)
{
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store(out + i, tfm__vf_mul(tfm__vf_load(a + i), tfm__vf_load(b + i)));
    if (i < n) tfm__vf_store_n(out + i, tfm__vf_mul(tfm__vf_load_n(a + i, n - i), tfm__vf_load_n(b + i, n - i)), n - i);
}

TFM__INLINE tfm__vf tfm__vf_silu(tfm__vf x)
{
    tfm__vf one = tfm__vf_set1(1.0f);
    return tfm__vf_div(x, tfm__vf_add(one, tfm__vf_exp(tfm__vf_sub(tfm__vf_zero(), x))));
}

/* tanh(y) = 1 - 2 / (e^(2y) + 1): saturates cleanly to +-1 as e^(2y) goes to Inf or 0 */
TFM__INLINE tfm__vf tfm__vf_tanh(tfm__vf y)
{
    tfm__vf one = tfm__vf_set1(1.0f);
    tfm__vf e = tfm__vf_exp(tfm__vf_add(y, y));
    return tfm__vf_sub(one, tfm__vf_div(tfm__vf_set1(2.0f), tfm__vf_add(e, one)));
}

TFM__INLINE tfm__vf tfm__vf_gelu_tanh(tfm__vf x)
{
    tfm__vf x3 = tfm__vf_mul(tfm__vf_mul(x, x), x);
    tfm__vf inner = tfm__vf_mul(tfm__vf_set1(0.7978845608028654f), tfm__vf_fma(tfm__vf_set1(0.044715f), x3, x));
    tfm__vf half_x = tfm__vf_mul(tfm__vf_set1(0.5f), x);
    return tfm__vf_fma(half_x, tfm__vf_tanh(inner), half_x);
}

/* erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), odd symmetry for negative inputs */
TFM__INLINE tfm__vf tfm__vf_erf(tfm__vf x)
{
    tfm__vf ax = tfm__vf_max(x, tfm__vf_sub(tfm__vf_zero(), x));
    tfm__vf one = tfm__vf_set1(1.0f);
    tfm__vf t = tfm__vf_div(one, tfm__vf_fma(tfm__vf_set1(0.3275911f), ax, one));
    tfm__vf poly = tfm__vf_set1(1.061405429f);
    tfm__vf y, sign;
    poly = tfm__vf_fma(poly, t, tfm__vf_set1(-1.453152027f));
    poly = tfm__vf_fma(poly, t, tfm__vf_set1(1.421413741f));
    poly = tfm__vf_fma(poly, t, tfm__vf_set1(-0.284496736f));
    poly = tfm__vf_fma(poly, t, tfm__vf_set1(0.254829592f));
    poly = tfm__vf_mul(poly, t);
    y = tfm__vf_sub(one, tfm__vf_mul(poly, tfm__vf_exp(tfm__vf_sub(tfm__vf_zero(), tfm__vf_mul(ax, ax)))));
    /* copy the sign of x: y * x / |x|, with 0 kept as 0 */
    sign = tfm__vf_div(x, tfm__vf_max(ax, tfm__vf_set1(1e-30f)));
    return tfm__vf_mul(y, sign);
}

TFM__INLINE tfm__vf tfm__vf_gelu_erf(tfm__vf x)
{
    tfm__vf half_x = tfm__vf_mul(tfm__vf_set1(0.5f), x);
    return tfm__vf_fma(half_x, tfm__vf_erf(tfm__vf_mul(x, tfm__vf_set1(0.70710678118654752f))), half_x);
}

#define TFM__UNARY_KERNEL(name, vector_fn)                                                      \
    static void name(float *out, const float *x, size_t n)                                             \
    {                                                                                           \
        size_t i = 0;                                                                           \
        for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store(out + i, vector_fn(tfm__vf_load(x + i))); \
        if (i < n) tfm__vf_store_n(out + i, vector_fn(tfm__vf_load_n(x + i, n - i)), n - i);   \
    }

TFM__UNARY_KERNEL(tfm__k_silu, tfm__vf_silu)
TFM__UNARY_KERNEL(tfm__k_gelu_tanh, tfm__vf_gelu_tanh)
TFM__UNARY_KERNEL(tfm__k_gelu_erf, tfm__vf_gelu_erf)

static void tfm__k_swiglu(float *out, const float *gate, const float *up, size_t n)
{
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N)
        tfm__vf_store(out + i, tfm__vf_mul(tfm__vf_silu(tfm__vf_load(gate + i)), tfm__vf_load(up + i)));
    if (i < n)
        tfm__vf_store_n(out + i, tfm__vf_mul(tfm__vf_silu(tfm__vf_load_n(gate + i, n - i)), tfm__vf_load_n(up + i, n - i)), n - i);
}

/* ---------------------------------------------------------------- normalisation, softmax */

/* x[i] = e^(x[i] - max_value); returns their sum. */
#if TFM__VF_N == 1
/* One lane would be one float running sum, whose error grows with n (up to 4e-5 relative at 32000
   logits, 1e-4 at 100003): the scalar path keeps the sum in double. */
static float tfm__softmax_exp_sum(float *x, size_t n, float max_value)
{
    double sum = 0;
    size_t i;
    for (i = 0; i < n; i++) sum += x[i] = tfm__vf_exp(x[i] - max_value);
    return (float)sum;
}
#else
static float tfm__softmax_exp_sum(float *x, size_t n, float max_value)
{
    tfm__vf vmax = tfm__vf_set1(max_value), vsum = tfm__vf_zero();
    float sum = 0.0f;
    size_t i;
    for (i = 0; i + TFM__VF_N <= n; i += TFM__VF_N) {
        tfm__vf e = tfm__vf_exp(tfm__vf_sub(tfm__vf_load(x + i), vmax));
        tfm__vf_store(x + i, e);
        vsum = tfm__vf_add(vsum, e);
    }
    if (i < n) {
        tfm__vf e = tfm__vf_exp(tfm__vf_sub(tfm__vf_load_n(x + i, n - i), vmax));
        tfm__vf_store_n(x + i, e, n - i);
        for (; i < n; i++) sum += x[i];
    }
    return sum + tfm__vf_sum(vsum);
}
#endif

/* tfm_softmax of x, n >= 1 */
static void tfm__k_softmax(float *x, size_t n)
{
    size_t i;
    float max_value, sum;
    tfm__vf vmax;
    vmax = tfm__vf_set1(x[0]);
    for (i = 0; i + TFM__VF_N <= n; i += TFM__VF_N) vmax = tfm__vf_max(vmax, tfm__vf_load(x + i));
    max_value = tfm__vf_hmax(vmax);
    for (; i < n; i++)
        if (x[i] > max_value) max_value = x[i];
    if (max_value == -INFINITY) max_value = 0.0f; /* all masked: every e^x is 0, handled below */
    sum = tfm__softmax_exp_sum(x, n, max_value);
    if (sum > 0.0f || sum != sum) tfm__k_scale(x, 1.0f / sum, n); /* a NaN among x makes every output NaN */
}

/* tfm_rmsnorm of n >= 1 values */
static void tfm__k_rmsnorm(float *out, const float *x, const float *weight, size_t n, float eps)
{
    size_t i;
    float inv_rms;
    tfm__vf vscale;
    inv_rms = 1.0f / sqrtf(tfm__k_dot(x, x, n) / (float)n + eps);
    vscale = tfm__vf_set1(inv_rms);
    for (i = 0; i + TFM__VF_N <= n; i += TFM__VF_N) {
        tfm__vf v = tfm__vf_mul(tfm__vf_load(x + i), vscale);
        if (weight) v = tfm__vf_mul(v, tfm__vf_load(weight + i));
        tfm__vf_store(out + i, v);
    }
    for (; i < n; i++) out[i] = x[i] * inv_rms * (weight ? weight[i] : 1.0f);
}

/* tfm_layernorm of n >= 1 values */
static void tfm__k_layernorm(float *out, const float *x, const float *weight, const float *bias, size_t n, float eps)
{
    size_t i;
    float mean = 0.0f, var = 0.0f, inv_std;
    tfm__vf acc = tfm__vf_zero(), vmean, vinv;
    for (i = 0; i + TFM__VF_N <= n; i += TFM__VF_N) acc = tfm__vf_add(acc, tfm__vf_load(x + i));
    for (; i < n; i++) mean += x[i];
    mean = (mean + tfm__vf_sum(acc)) / (float)n;
    vmean = tfm__vf_set1(mean);
    acc = tfm__vf_zero();
    for (i = 0; i + TFM__VF_N <= n; i += TFM__VF_N) {
        tfm__vf d = tfm__vf_sub(tfm__vf_load(x + i), vmean);
        acc = tfm__vf_fma(d, d, acc);
    }
    for (; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var = (var + tfm__vf_sum(acc)) / (float)n;
    inv_std = 1.0f / sqrtf(var + eps);
    vinv = tfm__vf_set1(inv_std);
    for (i = 0; i + TFM__VF_N <= n; i += TFM__VF_N) {
        tfm__vf v = tfm__vf_mul(tfm__vf_sub(tfm__vf_load(x + i), vmean), vinv);
        if (weight) v = tfm__vf_mul(v, tfm__vf_load(weight + i));
        if (bias) v = tfm__vf_add(v, tfm__vf_load(bias + i));
        tfm__vf_store(out + i, v);
    }
    for (; i < n; i++) out[i] = (x[i] - mean) * inv_std * (weight ? weight[i] : 1.0f) + (bias ? bias[i] : 0.0f);
}

TFM__INLINE tfm__vf tfm__vf_softcap(tfm__vf x, tfm__vf cap, tfm__vf inv_cap)
{
    return tfm__vf_mul(cap, tfm__vf_tanh(tfm__vf_mul(x, inv_cap)));
}

static void tfm__k_softcap(float *x, size_t n, float cap)
{
    tfm__vf vc = tfm__vf_set1(cap), vi = tfm__vf_set1(1.0f / cap);
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store(x + i, tfm__vf_softcap(tfm__vf_load(x + i), vc, vi));
    if (i < n) tfm__vf_store_n(x + i, tfm__vf_softcap(tfm__vf_load_n(x + i, n - i), vc, vi), n - i);
}

/* ---------------------------------------------------------------- gemv */

/* Four rows at a time share each load of x; every row keeps one accumulator chain so its sum
   does not depend on which rows it was grouped with. */
static void tfm__k_gemv_rows(float *y, tfm_dtype wtype, const unsigned char *w, size_t row_bytes, const float *x,
                             int row_begin, int row_end, int cols)
{
    int r = row_begin;
    size_t n = (size_t)cols, elem = row_bytes / n;
    for (; r + 4 <= row_end; r += 4) {
        const void *w0 = w + (size_t)r * row_bytes, *w1 = w + (size_t)(r + 1) * row_bytes;
        const void *w2 = w + (size_t)(r + 2) * row_bytes, *w3 = w + (size_t)(r + 3) * row_bytes;
        tfm__vf a0 = tfm__vf_zero(), a1 = tfm__vf_zero(), a2 = tfm__vf_zero(), a3 = tfm__vf_zero();
        float s0, s1, s2, s3;
        size_t i = 0;
        for (; i + TFM__VF_N <= n; i += TFM__VF_N) {
            tfm__vf xv = tfm__vf_load(x + i);
            TFM__PREFETCH_ROWS4(w0, w1, w2, w3, elem, i, n);
            a0 = tfm__vf_fma(tfm__vf_load_any(wtype, w0, i), xv, a0);
            a1 = tfm__vf_fma(tfm__vf_load_any(wtype, w1, i), xv, a1);
            a2 = tfm__vf_fma(tfm__vf_load_any(wtype, w2, i), xv, a2);
            a3 = tfm__vf_fma(tfm__vf_load_any(wtype, w3, i), xv, a3);
        }
        s0 = tfm__vf_sum(a0);
        s1 = tfm__vf_sum(a1);
        s2 = tfm__vf_sum(a2);
        s3 = tfm__vf_sum(a3);
        for (; i < n; i++) {
            s0 += tfm__load_any_scalar(wtype, w0, i) * x[i];
            s1 += tfm__load_any_scalar(wtype, w1, i) * x[i];
            s2 += tfm__load_any_scalar(wtype, w2, i) * x[i];
            s3 += tfm__load_any_scalar(wtype, w3, i) * x[i];
        }
        y[r] = s0;
        y[r + 1] = s1;
        y[r + 2] = s2;
        y[r + 3] = s3;
    }
    for (; r < row_end; r++) {
        const void *w0 = w + (size_t)r * row_bytes;
        tfm__vf a0 = tfm__vf_zero();
        float s0;
        size_t i = 0;
        for (; i + TFM__VF_N <= n; i += TFM__VF_N) a0 = tfm__vf_fma(tfm__vf_load_any(wtype, w0, i), tfm__vf_load(x + i), a0);
        s0 = tfm__vf_sum(a0);
        for (; i < n; i++) s0 += tfm__load_any_scalar(wtype, w0, i) * x[i];
        y[r] = s0;
    }
}

/* ---------------------------------------------------------------- gemm (see tfm_tensor.h) */

#if defined(TFM__SIMD_AVX512) || defined(TFM__SIMD_NEON)
#define TFM__GEMM_MR 8 /* 8 x 3 vectors = 24 accumulators of 32 registers */
#define TFM__GEMM_NV 3
#elif defined(TFM__SIMD_AVX2)
#define TFM__GEMM_MR 4 /* 4 x 3 = 12 accumulators of 16 registers */
#define TFM__GEMM_NV 3
#else
#define TFM__GEMM_MR 4
#define TFM__GEMM_NV 2
#endif
#define TFM__GEMM_NR (TFM__GEMM_NV * TFM__VF_N)
#define TFM__GEMM_MB (TFM__GEMM_MR * 128)     /* X rows per block: 1024, 1.6 MiB packed */
#define TFM__GEMM_NB_WIDE (TFM__GEMM_NR * 11) /* W rows per block when X is large: ~800 KiB packed, in L2 */
#define TFM__GEMM_NB_NARROW (TFM__GEMM_NR * 2)

/* The transposing copy of packing W, VF_N rows x VF_N columns at a time in registers; written out
   per ISA because a transpose is shuffles, which the vector layer does not have. */
#if defined(TFM__SIMD_AVX512)
#define TFM__GEMM_BLOCK 16
#define TFM__T_LO(a, b) _mm512_unpacklo_ps(a, b)
#define TFM__T_HI(a, b) _mm512_unpackhi_ps(a, b)
#define TFM__T_LO64(a, b) _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)))
#define TFM__T_HI64(a, b) _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)))
/* dst[c * ld + r] = W row r, column p + c, for r, c < 16 */
static void tfm__gemm_pack_block(float *dst, size_t ld, tfm_dtype t, const unsigned char *w, size_t row_bytes, size_t p)
{
    __m512 r0 = tfm__vf_load_any(t, w, p), r1 = tfm__vf_load_any(t, w + row_bytes, p);
    __m512 r2 = tfm__vf_load_any(t, w + 2 * row_bytes, p), r3 = tfm__vf_load_any(t, w + 3 * row_bytes, p);
    __m512 r4 = tfm__vf_load_any(t, w + 4 * row_bytes, p), r5 = tfm__vf_load_any(t, w + 5 * row_bytes, p);
    __m512 r6 = tfm__vf_load_any(t, w + 6 * row_bytes, p), r7 = tfm__vf_load_any(t, w + 7 * row_bytes, p);
    __m512 r8 = tfm__vf_load_any(t, w + 8 * row_bytes, p), r9 = tfm__vf_load_any(t, w + 9 * row_bytes, p);
    __m512 r10 = tfm__vf_load_any(t, w + 10 * row_bytes, p), r11 = tfm__vf_load_any(t, w + 11 * row_bytes, p);
    __m512 r12 = tfm__vf_load_any(t, w + 12 * row_bytes, p), r13 = tfm__vf_load_any(t, w + 13 * row_bytes, p);
    __m512 r14 = tfm__vf_load_any(t, w + 14 * row_bytes, p), r15 = tfm__vf_load_any(t, w + 15 * row_bytes, p);
    /* pairs of rows interleaved: within each 128-bit lane (a0 b0 a1 b1), (a2 b2 a3 b3) */
    __m512 t0 = TFM__T_LO(r0, r1), t1 = TFM__T_HI(r0, r1), t2 = TFM__T_LO(r2, r3), t3 = TFM__T_HI(r2, r3);
    __m512 t4 = TFM__T_LO(r4, r5), t5 = TFM__T_HI(r4, r5), t6 = TFM__T_LO(r6, r7), t7 = TFM__T_HI(r6, r7);
    __m512 t8 = TFM__T_LO(r8, r9), t9 = TFM__T_HI(r8, r9), t10 = TFM__T_LO(r10, r11), t11 = TFM__T_HI(r10, r11);
    __m512 t12 = TFM__T_LO(r12, r13), t13 = TFM__T_HI(r12, r13), t14 = TFM__T_LO(r14, r15), t15 = TFM__T_HI(r14, r15);
    /* quads: q[4g + j], lane l = column 4l + j of rows 4g..4g+3 */
    __m512 q0 = TFM__T_LO64(t0, t2), q1 = TFM__T_HI64(t0, t2), q2 = TFM__T_LO64(t1, t3), q3 = TFM__T_HI64(t1, t3);
    __m512 q4 = TFM__T_LO64(t4, t6), q5 = TFM__T_HI64(t4, t6), q6 = TFM__T_LO64(t5, t7), q7 = TFM__T_HI64(t5, t7);
    __m512 q8 = TFM__T_LO64(t8, t10), q9 = TFM__T_HI64(t8, t10), q10 = TFM__T_LO64(t9, t11), q11 = TFM__T_HI64(t9, t11);
    __m512 q12 = TFM__T_LO64(t12, t14), q13 = TFM__T_HI64(t12, t14), q14 = TFM__T_LO64(t13, t15), q15 = TFM__T_HI64(t13, t15);
    /* lane l of q[j], q[4 + j], q[8 + j], q[12 + j] make column 4l + j */
#define TFM__T_COLUMNS(j, a, b, c, d)                                                                          \
    {                                                                                                          \
        __m512 u0 = _mm512_shuffle_f32x4(a, b, 0x88), u1 = _mm512_shuffle_f32x4(a, b, 0xDD);                    \
        __m512 u2 = _mm512_shuffle_f32x4(c, d, 0x88), u3 = _mm512_shuffle_f32x4(c, d, 0xDD);                    \
        _mm512_storeu_ps(dst + (j) * ld, _mm512_shuffle_f32x4(u0, u2, 0x88));                                   \
        _mm512_storeu_ps(dst + ((j) + 4) * ld, _mm512_shuffle_f32x4(u1, u3, 0x88));                             \
        _mm512_storeu_ps(dst + ((j) + 8) * ld, _mm512_shuffle_f32x4(u0, u2, 0xDD));                             \
        _mm512_storeu_ps(dst + ((j) + 12) * ld, _mm512_shuffle_f32x4(u1, u3, 0xDD));                            \
    }
    TFM__T_COLUMNS(0, q0, q4, q8, q12)
    TFM__T_COLUMNS(1, q1, q5, q9, q13)
    TFM__T_COLUMNS(2, q2, q6, q10, q14)
    TFM__T_COLUMNS(3, q3, q7, q11, q15)
#undef TFM__T_COLUMNS
}
#undef TFM__T_LO
#undef TFM__T_HI
#undef TFM__T_LO64
#undef TFM__T_HI64
#elif defined(TFM__SIMD_AVX2)
#define TFM__GEMM_BLOCK 8
static void tfm__gemm_pack_block(float *dst, size_t ld, tfm_dtype t, const unsigned char *w, size_t row_bytes, size_t p)
{
    __m256 r0 = tfm__vf_load_any(t, w, p), r1 = tfm__vf_load_any(t, w + row_bytes, p);
    __m256 r2 = tfm__vf_load_any(t, w + 2 * row_bytes, p), r3 = tfm__vf_load_any(t, w + 3 * row_bytes, p);
    __m256 r4 = tfm__vf_load_any(t, w + 4 * row_bytes, p), r5 = tfm__vf_load_any(t, w + 5 * row_bytes, p);
    __m256 r6 = tfm__vf_load_any(t, w + 6 * row_bytes, p), r7 = tfm__vf_load_any(t, w + 7 * row_bytes, p);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    /* s[4h + j], 128-bit lane l: column 4l + j of rows 4h..4h+3 */
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(dst + ld, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(dst + 2 * ld, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(dst + 3 * ld, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(dst + 4 * ld, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(dst + 5 * ld, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(dst + 6 * ld, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(dst + 7 * ld, _mm256_permute2f128_ps(s3, s7, 0x31));
}
#endif

/* One W micro-panel: packed[p][j] = W[j0 + j][k0 + p], j < NR, zero past row nr. Whole blocks go
   through registers; the k tail and the rows past the edge element by element. */
static void tfm__gemm_pack_w(float *packed, tfm_dtype wtype, const unsigned char *w, size_t row_bytes, int j0, int nr,
                             int k0, int kc)
{
    int jb, j, p;
    for (jb = 0; jb < TFM__GEMM_NR; jb += TFM__VF_N) {
        int p_done = 0;
#if defined(TFM__GEMM_BLOCK)
        if (jb + TFM__VF_N <= nr)
            for (; p_done + TFM__GEMM_BLOCK <= kc; p_done += TFM__GEMM_BLOCK)
                tfm__gemm_pack_block(packed + (size_t)p_done * TFM__GEMM_NR + jb, TFM__GEMM_NR, wtype,
                                     w + (size_t)(j0 + jb) * row_bytes, row_bytes, (size_t)(k0 + p_done));
#endif
        for (j = jb; j < jb + TFM__VF_N; j++) {
            if (j < nr) {
                const unsigned char *row = w + (size_t)(j0 + j) * row_bytes;
                for (p = p_done; p < kc; p++) packed[(size_t)p * TFM__GEMM_NR + j] = tfm__load_any_scalar(wtype, row, (size_t)(k0 + p));
            } else {
                for (p = p_done; p < kc; p++) packed[(size_t)p * TFM__GEMM_NR + j] = 0.0f;
            }
        }
    }
}

/* One X micro-panel: packed[i][p] = X[i0 + i][k0 + p], rows KCP apart, zero rows past mr. */
static void tfm__gemm_pack_x(float *packed, const float *x, size_t ldx, int i0, int mr, int k0, int kc)
{
    int i;
    for (i = 0; i < TFM__GEMM_MR; i++) {
        float *dst = packed + (size_t)i * TFM__GEMM_KCP;
        if (i < mr) memcpy(dst, x + (size_t)(i0 + i) * ldx + (size_t)k0, (size_t)kc * sizeof(float));
        else memset(dst, 0, (size_t)kc * sizeof(float));
    }
}

/* TFM__GEMM_ROWS(X) expands X(i) for every row i of the register tile */
#define TFM__GEMM_ROWS_4(X) X(0) X(1) X(2) X(3)
#define TFM__GEMM_ROWS_8(X) TFM__GEMM_ROWS_4(X) X(4) X(5) X(6) X(7)
#define TFM__GEMM_CAT(a, b) a##b
#define TFM__GEMM_XCAT(a, b) TFM__GEMM_CAT(a, b)
#define TFM__GEMM_ROWS TFM__GEMM_XCAT(TFM__GEMM_ROWS_, TFM__GEMM_MR)

/* Per row i of the tile: declare, update (one broadcast of X times NV vectors of W), and write. */
#if TFM__GEMM_NV == 3
#define TFM__GEMM_DECL(i) tfm__vf c##i##a = tfm__vf_zero(), c##i##b = tfm__vf_zero(), c##i##c = tfm__vf_zero();
#define TFM__GEMM_LOAD_W tfm__vf b0 = tfm__vf_load(wp), b1 = tfm__vf_load(wp + TFM__VF_N), b2 = tfm__vf_load(wp + 2 * TFM__VF_N);
#define TFM__GEMM_FMA(i)                                                                                       \
    {                                                                                                          \
        tfm__vf a_ = tfm__vf_set1(xp[(i) * TFM__GEMM_KCP + p]);                                                \
        c##i##a = tfm__vf_fma(a_, b0, c##i##a);                                                                \
        c##i##b = tfm__vf_fma(a_, b1, c##i##b);                                                                \
        c##i##c = tfm__vf_fma(a_, b2, c##i##c);                                                                \
    }
#define TFM__GEMM_ADD_C(i)                                                                                     \
    {                                                                                                          \
        const float *c_ = c + (size_t)(i) * ldc;                                                               \
        c##i##a = tfm__vf_add(tfm__vf_load(c_), c##i##a);                                                      \
        c##i##b = tfm__vf_add(tfm__vf_load(c_ + TFM__VF_N), c##i##b);                                          \
        c##i##c = tfm__vf_add(tfm__vf_load(c_ + 2 * TFM__VF_N), c##i##c);                                      \
    }
#define TFM__GEMM_STORE(i, dst, ld)                                                                            \
    {                                                                                                          \
        tfm__vf_store((dst) + (size_t)(i) * (ld), c##i##a);                                                    \
        tfm__vf_store((dst) + (size_t)(i) * (ld) + TFM__VF_N, c##i##b);                                        \
        tfm__vf_store((dst) + (size_t)(i) * (ld) + 2 * TFM__VF_N, c##i##c);                                    \
    }
#else
#define TFM__GEMM_DECL(i) tfm__vf c##i##a = tfm__vf_zero(), c##i##b = tfm__vf_zero();
#define TFM__GEMM_LOAD_W tfm__vf b0 = tfm__vf_load(wp), b1 = tfm__vf_load(wp + TFM__VF_N);
#define TFM__GEMM_FMA(i)                                                                                       \
    {                                                                                                          \
        tfm__vf a_ = tfm__vf_set1(xp[(i) * TFM__GEMM_KCP + p]);                                                \
        c##i##a = tfm__vf_fma(a_, b0, c##i##a);                                                                \
        c##i##b = tfm__vf_fma(a_, b1, c##i##b);                                                                \
    }
#define TFM__GEMM_ADD_C(i)                                                                                     \
    {                                                                                                          \
        const float *c_ = c + (size_t)(i) * ldc;                                                               \
        c##i##a = tfm__vf_add(tfm__vf_load(c_), c##i##a);                                                      \
        c##i##b = tfm__vf_add(tfm__vf_load(c_ + TFM__VF_N), c##i##b);                                          \
    }
#define TFM__GEMM_STORE(i, dst, ld)                                                                            \
    {                                                                                                          \
        tfm__vf_store((dst) + (size_t)(i) * (ld), c##i##a);                                                    \
        tfm__vf_store((dst) + (size_t)(i) * (ld) + TFM__VF_N, c##i##b);                                        \
    }
#endif
#define TFM__GEMM_STORE_C(i) TFM__GEMM_STORE(i, c, ldc)
#define TFM__GEMM_STORE_TILE(i) TFM__GEMM_STORE(i, tile, TFM__GEMM_NR)


TFM__INLINE void tfm__gemm_prefetch_step(tfm__gemm_prefetch *pf)
{
    if (pf->budget <= 0 || pf->row >= pf->rows) return;
    pf->budget--;
    TFM__PREFETCH(pf->base + (size_t)pf->row * pf->row_bytes + pf->offset, 2); /* into L2 */
    pf->offset += 64;
    if (pf->offset >= pf->span) {
        pf->offset = 0;
        pf->row++;
    }
}

/* C[mr][nr] = (accumulate ? C : 0) + X micro-panel . W micro-panel over kc */
static void tfm__gemm_micro(int kc, const float *xp, const float *wp, float *c, size_t ldc, int mr, int nr, int accumulate,
                            tfm__gemm_prefetch *pf)
{
    int p;
    TFM__GEMM_ROWS(TFM__GEMM_DECL)
    for (p = 0; p < kc; p++) {
        if ((p & 3) == 0) tfm__gemm_prefetch_step(pf); /* one line every fourth step: no burst */
        TFM__GEMM_LOAD_W
        TFM__GEMM_ROWS(TFM__GEMM_FMA)
        wp += TFM__GEMM_NR;
    }
    if (mr == TFM__GEMM_MR && nr == TFM__GEMM_NR) {
        if (accumulate) {
            TFM__GEMM_ROWS(TFM__GEMM_ADD_C)
        }
        TFM__GEMM_ROWS(TFM__GEMM_STORE_C)
    } else {
        float tile[TFM__GEMM_MR * TFM__GEMM_NR];
        int i, j;
        TFM__GEMM_ROWS(TFM__GEMM_STORE_TILE)
        for (i = 0; i < mr; i++) {
            float *crow = c + (size_t)i * ldc;
            const float *trow = tile + i * TFM__GEMM_NR;
            if (accumulate)
                for (j = 0; j < nr; j++) crow[j] += trow[j];
            else
                for (j = 0; j < nr; j++) crow[j] = trow[j];
        }
    }
}

/* A few X rows (m <= TFM__GEMM_SMALL_M): W is read once, as a gemv reads it, for all of them.
   Four W rows at a time (four memory streams, as in a gemv) against four X rows (missing rows
   repeat row 0; their sums are dropped); each output element is one vector FMA chain over k,
   summed, then a scalar tail, whatever rows it was grouped with. */

#define TFM__SMALL_ROW(h)                                                                                      \
    {                                                                                                          \
        tfm__vf v_ = tfm__vf_load_any(wtype, wr[h], i);                                                        \
        a##h##0 = tfm__vf_fma(v_, b0, a##h##0);                                                                \
        a##h##1 = tfm__vf_fma(v_, b1, a##h##1);                                                                \
        a##h##2 = tfm__vf_fma(v_, b2, a##h##2);                                                                \
        a##h##3 = tfm__vf_fma(v_, b3, a##h##3);                                                                \
    }
#define TFM__SMALL_SUM(h)                                                                                      \
    sums[h][0] = tfm__vf_sum(a##h##0), sums[h][1] = tfm__vf_sum(a##h##1), sums[h][2] = tfm__vf_sum(a##h##2),    \
    sums[h][3] = tfm__vf_sum(a##h##3);

static void tfm__k_gemm_small(float *y, size_t ldy, const float *x, size_t ldx, int m, tfm_dtype wtype,
                              const unsigned char *w, size_t row_bytes, int row_begin, int row_end, int k)
{
    const float *xs[4];
    size_t n = (size_t)k, elem = row_bytes / n;
    int r, h, j;
    for (j = 0; j < 4; j++) xs[j] = x + (j < m ? (size_t)j * ldx : 0);
    for (r = row_begin; r < row_end; r += 4) {
        int rows = tfm__min_int(row_end - r, 4);
        const unsigned char *wr[4];
        tfm__vf a00 = tfm__vf_zero(), a01 = tfm__vf_zero(), a02 = tfm__vf_zero(), a03 = tfm__vf_zero();
        tfm__vf a10 = tfm__vf_zero(), a11 = tfm__vf_zero(), a12 = tfm__vf_zero(), a13 = tfm__vf_zero();
        tfm__vf a20 = tfm__vf_zero(), a21 = tfm__vf_zero(), a22 = tfm__vf_zero(), a23 = tfm__vf_zero();
        tfm__vf a30 = tfm__vf_zero(), a31 = tfm__vf_zero(), a32 = tfm__vf_zero(), a33 = tfm__vf_zero();
        float sums[4][4];
        size_t i = 0;
        for (h = 0; h < 4; h++) wr[h] = w + (size_t)(r + tfm__min_int(h, rows - 1)) * row_bytes;
        for (; i + TFM__VF_N <= n; i += TFM__VF_N) {
            tfm__vf b0 = tfm__vf_load(xs[0] + i), b1 = tfm__vf_load(xs[1] + i);
            TFM__PREFETCH_ROWS4(wr[0], wr[1], wr[2], wr[3], elem, i, n);
            tfm__vf b2 = tfm__vf_load(xs[2] + i), b3 = tfm__vf_load(xs[3] + i);
            TFM__SMALL_ROW(0)
            TFM__SMALL_ROW(1)
            TFM__SMALL_ROW(2)
            TFM__SMALL_ROW(3)
        }
        TFM__SMALL_SUM(0)
        TFM__SMALL_SUM(1)
        TFM__SMALL_SUM(2)
        TFM__SMALL_SUM(3)
        for (; i < n; i++)
            for (h = 0; h < 4; h++) {
                float v = tfm__load_any_scalar(wtype, wr[h], i);
                for (j = 0; j < 4; j++) sums[h][j] += v * xs[j][i];
            }
        for (h = 0; h < rows; h++)
            for (j = 0; j < m; j++) y[(size_t)j * ldy + (size_t)(r + h)] = sums[h][j];
    }
}

/* One thread's share: output columns [n_begin, n_end), m > TFM__GEMM_SMALL_M. */
static tfm_status tfm__k_gemm_columns(float *y, size_t ldy, const float *x, size_t ldx, tfm_dtype wtype,
                                    const unsigned char *w, size_t row_bytes, int m, int n_begin, int n_end, int k)
{
    /* a small X block stays in L2 and streams past W micro-panels held in L1; a large one is the
       other way round (an X micro-panel in L1, a wide W block in L2) */
    int nb_block = m <= TFM__GEMM_X_IN_L2 ? TFM__GEMM_NB_NARROW : TFM__GEMM_NB_WIDE;
    int mb_max = tfm__round_up(tfm__min_int(m, TFM__GEMM_MB), TFM__GEMM_MR);
    int nb_max = tfm__round_up(tfm__min_int(n_end - n_begin, nb_block), TFM__GEMM_NR);
    float *packed_x = (float *)tfm_aligned_alloc(sizeof(float) * (size_t)mb_max * TFM__GEMM_KCP);
    float *packed_w = (float *)tfm_aligned_alloc(sizeof(float) * (size_t)nb_max * (size_t)tfm__min_int(k, TFM__GEMM_KC));
    int xc, pc, wc, ir, jr;
    if (!packed_w || !packed_x) {
        tfm_aligned_free(packed_w);
        tfm_aligned_free(packed_x);
        return TFM_ERR_OUT_OF_MEMORY;
    }
    for (xc = 0; xc < m; xc += TFM__GEMM_MB) {
        int mb = tfm__min_int(m - xc, TFM__GEMM_MB);
        for (pc = 0; pc < k; pc += TFM__GEMM_KC) {
            int kc = tfm__min_int(k - pc, TFM__GEMM_KC);
            for (ir = 0; ir < mb; ir += TFM__GEMM_MR)
                tfm__gemm_pack_x(packed_x + (size_t)ir * TFM__GEMM_KCP, x, ldx, xc + ir, tfm__min_int(mb - ir, TFM__GEMM_MR),
                                 pc, kc);
            for (wc = n_begin; wc < n_end; wc += nb_block) {
                int nb = tfm__min_int(n_end - wc, nb_block);
                int calls = ((mb + TFM__GEMM_MR - 1) / TFM__GEMM_MR) * ((nb + TFM__GEMM_NR - 1) / TFM__GEMM_NR);
                tfm__gemm_prefetch pf;
                /* the block packed next: the next W rows at this k, else the first ones at the next k */
                if (wc + nb_block < n_end)
                    tfm__gemm_prefetch_init(&pf, w, row_bytes, k, wc + nb_block, tfm__min_int(n_end - wc - nb_block, nb_block),
                                            pc, calls);
                else
                    tfm__gemm_prefetch_init(&pf, w, row_bytes, k, n_begin, tfm__min_int(n_end - n_begin, nb_block),
                                            pc + TFM__GEMM_KC, calls);
                for (jr = 0; jr < nb; jr += TFM__GEMM_NR)
                    tfm__gemm_pack_w(packed_w + (size_t)jr * kc, wtype, w, row_bytes, wc + jr,
                                     tfm__min_int(nb - jr, TFM__GEMM_NR), pc, kc);
                for (ir = 0; ir < mb; ir += TFM__GEMM_MR)
                    for (jr = 0; jr < nb; jr += TFM__GEMM_NR) {
                        pf.budget = pf.per_call;
                        tfm__gemm_micro(kc, packed_x + (size_t)ir * TFM__GEMM_KCP, packed_w + (size_t)jr * kc,
                                        y + (size_t)(xc + ir) * ldy + (size_t)(wc + jr), ldy, tfm__min_int(mb - ir, TFM__GEMM_MR),
                                        tfm__min_int(nb - jr, TFM__GEMM_NR), pc > 0, &pf);
                    }
            }
        }
    }
    tfm_aligned_free(packed_w);
    tfm_aligned_free(packed_x);
    return TFM_OK;
}

/* The kernels of this instruction set (tfm__f32k in tfm_tensor.h) */
static const tfm__f32k TFM__PN(tfm__f32k_table) = {
    TFM__GEMM_NR, tfm__k_dot, tfm__k_axpy, tfm__k_scale, tfm__k_add, tfm__k_mul, tfm__k_silu, tfm__k_gelu_tanh,
    tfm__k_gelu_erf, tfm__k_swiglu, tfm__k_softcap, tfm__k_softmax, tfm__k_rmsnorm, tfm__k_layernorm,
    tfm__k_f16_to_f32_row, tfm__k_f32_to_f16_row, tfm__k_bf16_to_f32_row, tfm__k_f32_to_bf16_row, tfm__k_gemv_rows,
    tfm__k_gemm_small, tfm__k_gemm_columns};
#endif /* TFM__SIMD_PASS */

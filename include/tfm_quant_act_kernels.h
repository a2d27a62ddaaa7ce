/* tfm_quant_act_kernels.h - tfm_quant.h's quantizers of the activation types (q8_0, q8_1, q8_K: the
   rows multiplied by quantized weights, and tfm_quantize's weights of those types), one instruction set
   per inclusion. Internal: not a header to include yourself (alone it declares nothing). tfm_quant.h
   includes it once for the instruction set the build targets and, in a portable x86-64 build, once
   more per instruction set it dispatches to (tfm_simd_pass.h; RUN-TIME DISPATCH in tfm_tensor.h):
   hence no include guard. Every path gives the same bits (the x86 helpers round as the scalar loops). */
#if !defined(TFM__SIMD_PASS)
typedef int tfm__quant_act_kernels_h_alone; /* an ISO C translation unit must declare something */
#else
/* the 8-lane x86 helpers: AVX2 and AVX-512 both bring FMA and F16C */
#undef TFM__Q_X86
#if defined(TFM__SIMD_AVX512) || defined(TFM__SIMD_AVX2)
#define TFM__Q_X86 1
#endif

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

/* one block of 32 as q8_0 and q8_1 quantize it: d = max |x| / 127, qs = round(x / d); returns d */
static float tfm__quantize_q8_block(const float *x, int8_t *qs)
{
    float amax = 0.0f, d, id;
    int j;
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
#if defined(TFM__Q_X86)
    tfm__x86_round32(x, id, qs);
    (void)j;
#else
    for (j = 0; j < TFM_QK; j++) qs[j] = (int8_t)tfm__round_clamp(x[j] * id, -127, 127);
#endif
    return d;
}

static void tfm__quantize_q8_0(const float *x, void *vy, size_t nb)
{
    tfm_block_q8_0 *y = (tfm_block_q8_0 *)vy;
    size_t i;
    for (i = 0; i < nb; i++, x += TFM_QK) y[i].d = tfm_f32_to_f16(tfm__quantize_q8_block(x, y[i].qs));
}

/* q8_0's block and s = d * sum(qs) */
static void tfm__quantize_q8_1(const float *x, void *vy, size_t nb)
{
    tfm_block_q8_1 *y = (tfm_block_q8_1 *)vy;
    size_t i;
    int j;
    for (i = 0; i < nb; i++, x += TFM_QK) {
        const float d = tfm__quantize_q8_block(x, y[i].qs);
        int sum = 0;
        for (j = 0; j < TFM_QK; j++) sum += y[i].qs[j];
        y[i].d = tfm_f32_to_f16(d);
        y[i].s = tfm_f32_to_f16((float)sum * d);
    }
}

static void tfm__quantize_q8_K(const float *x, void *vy, size_t nb)
{
    tfm_block_q8_K *y = (tfm_block_q8_K *)vy;
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

/* One activation row of nb q8_0 blocks straight into the gemm's layout (tfm_quant.h's tfm__qact): the
   levels in q, the sum of every 16 of them in s16, each block's fp16-rounded scale in d, the bits
   tfm__quantize_q8_0 and the copy out of its blocks give. AVX-512 rounds a block in two 16-lane vectors
   and sums its levels before they are narrowed; a block with a NaN or infinity goes the scalar way (the
   lanes' maximum would not be the scalar loop's). */
static void TFM__PN(tfm__qact_q8_0_row)(const float *x, size_t nb, int8_t *q, int32_t *s16, float *d)
{
    size_t b;
    int j;
    for (b = 0; b < nb; b++, x += TFM_QK, q += TFM_QK, s16 += 2) {
        float db;
#if defined(TFM__SIMD_AVX512)
        const __m512 sign = _mm512_set1_ps(-0.0f), big = _mm512_set1_ps(FLT_MAX);
        const __m512 a0 = _mm512_andnot_ps(sign, _mm512_loadu_ps(x)), a1 = _mm512_andnot_ps(sign, _mm512_loadu_ps(x + 16));
        if (!(_mm512_cmp_ps_mask(a0, big, _CMP_NLE_UQ) | _mm512_cmp_ps_mask(a1, big, _CMP_NLE_UQ))) {
            const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
            const __m512 half = _mm512_set1_ps(0.5f), mhalf = _mm512_set1_ps(-0.5f);
            const __m512i one = _mm512_set1_epi32(1);
            __m512 vid;
            db = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1)) / 127.0f;
            vid = _mm512_set1_ps(db != 0.0f ? 1.0f / db : 0.0f);
            for (j = 0; j < 2; j++) {
                __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + 16 * j), vid), f;
                __m512i t;
                v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); /* 0 * inf: NaN -> 0 */
                v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
                t = _mm512_cvttps_epi32(v);
                f = _mm512_sub_ps(v, _mm512_cvtepi32_ps(t)); /* exact */
                t = _mm512_mask_add_epi32(t, _mm512_cmp_ps_mask(f, half, _CMP_GE_OQ), t, one);
                t = _mm512_mask_sub_epi32(t, _mm512_cmp_ps_mask(f, mhalf, _CMP_LE_OQ), t, one);
                s16[j] = _mm512_reduce_add_epi32(t);
                _mm_storeu_si128((__m128i *)(void *)(q + 16 * j), _mm512_cvtsepi32_epi8(t));
            }
            /* the fp16 rounding by F16C: the scalar functions' bits for a finite scale, no call */
            *d++ = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(db), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
            continue;
        }
#endif
        db = tfm__quantize_q8_block(x, q);
        *d++ = tfm_f16_to_f32(tfm_f32_to_f16(db));
        s16[0] = s16[1] = 0;
        for (j = 0; j < TFM_QK; j++) s16[j / 16] += q[j];
    }
}

/* the quantizers of the activation types, in the order tfm__qact_quantizer reads */
static const tfm__quantize_fn TFM__PN(tfm__qact_quantizers)[] = {tfm__quantize_q8_0, tfm__quantize_q8_1, tfm__quantize_q8_K};
#undef TFM__Q_X86
#endif /* TFM__SIMD_PASS */

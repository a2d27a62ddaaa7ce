/* tfm_simd.h - tfm's f32 vector layer (tfm__vf), one instruction set per inclusion. Internal: not a
   header to include yourself (alone it declares nothing).

   tfm_tensor.h includes it once for the instruction set the build targets. A portable x86-64 build
   (no -mavx2/-march) includes it again for each instruction set it dispatches to at run time, with
   TFM__SIMD_* naming the set, the set's target switched on for the functions (#pragma GCC target,
   or clang's attribute pragma) and every name renamed (tfm_simd_pass.h): see RUN-TIME DISPATCH in
   tfm_tensor.h. Hence no include guard, and nothing here may be defined outside a function body
   but the layer's own names. */
#if !defined(TFM__SIMD_PASS)
typedef int tfm__simd_h_alone; /* an ISO C translation unit must declare something */
#else
/* ================================================================ the SIMD vector layer
   tfm__vf is a native-width f32 vector of TFM__VF_N lanes. Kernels (here and in the other headers'
   implementations) are written once against these functions. */

#undef TFM__VF_N
#if defined(TFM__SIMD_AVX512)
typedef __m512 tfm__vf;
#define TFM__VF_N 16
TFM__INLINE tfm__vf tfm__vf_zero(void) { return _mm512_setzero_ps(); }
TFM__INLINE tfm__vf tfm__vf_set1(float x) { return _mm512_set1_ps(x); }
TFM__INLINE tfm__vf tfm__vf_load(const float *p) { return _mm512_loadu_ps(p); }
TFM__INLINE void tfm__vf_store(float *p, tfm__vf v) { _mm512_storeu_ps(p, v); }
TFM__INLINE tfm__vf tfm__vf_load_n(const float *p, size_t n)
{
    return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
}
TFM__INLINE void tfm__vf_store_n(float *p, tfm__vf v, size_t n)
{
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v);
}
TFM__INLINE tfm__vf tfm__vf_add(tfm__vf a, tfm__vf b) { return _mm512_add_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_sub(tfm__vf a, tfm__vf b) { return _mm512_sub_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_mul(tfm__vf a, tfm__vf b) { return _mm512_mul_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_div(tfm__vf a, tfm__vf b) { return _mm512_div_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_max(tfm__vf a, tfm__vf b) { return _mm512_max_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_min(tfm__vf a, tfm__vf b) { return _mm512_min_ps(a, b); }
/* a * b + c */
TFM__INLINE tfm__vf tfm__vf_fma(tfm__vf a, tfm__vf b, tfm__vf c) { return _mm512_fmadd_ps(a, b, c); }
TFM__INLINE float tfm__vf_sum(tfm__vf v) { return _mm512_reduce_add_ps(v); }
TFM__INLINE float tfm__vf_hmax(tfm__vf v) { return _mm512_reduce_max_ps(v); }
/* out[0..3] = the sums of a, b, c, d: one shuffle tree for the four (2 shuffles a sum, not 4) */
TFM__INLINE void tfm__vf_sum4(float *out, tfm__vf a, tfm__vf b, tfm__vf c, tfm__vf d)
{
    __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b)); /* per 128 bits: a b a b */
    __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    __m512 abcd = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
                                _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))));
    __m256 half = _mm256_add_ps(_mm512_castps512_ps256(abcd),
                                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(abcd), 1)));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1)));
}
TFM__INLINE tfm__vf tfm__vf_round(tfm__vf v)
{
    return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/* 2^n for integral n in [-150, 129]; gives 0 or Inf beyond the float range as exp needs */
TFM__INLINE tfm__vf tfm__vf_mul_pow2(tfm__vf x, tfm__vf n) { return _mm512_scalef_ps(x, n); }
TFM__INLINE tfm__vf tfm__vf_load_f16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
}
TFM__INLINE void tfm__vf_store_f16(uint16_t *p, tfm__vf v)
{
    _mm256_storeu_si256((__m256i *)(void *)p, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
TFM__INLINE tfm__vf tfm__vf_load_bf16(const uint16_t *p)
{
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
TFM__INLINE void tfm__vf_store_bf16(uint16_t *p, tfm__vf v)
{
    __m512i x = _mm512_castps_si512(v);
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
    __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(0x40));
    rounded = _mm512_mask_mov_epi32(rounded, nan, quiet);
    _mm256_storeu_si256((__m256i *)(void *)p, _mm512_cvtepi32_epi16(rounded));
}
TFM__INLINE tfm__vf tfm__vf_load_i8(const int8_t *p)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p)));
}

#elif defined(TFM__SIMD_AVX2)
typedef __m256 tfm__vf;
#define TFM__VF_N 8
TFM__INLINE tfm__vf tfm__vf_zero(void) { return _mm256_setzero_ps(); }
TFM__INLINE tfm__vf tfm__vf_set1(float x) { return _mm256_set1_ps(x); }
TFM__INLINE tfm__vf tfm__vf_load(const float *p) { return _mm256_loadu_ps(p); }
TFM__INLINE void tfm__vf_store(float *p, tfm__vf v) { _mm256_storeu_ps(p, v); }
TFM__INLINE __m256i tfm__avx2_mask(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
TFM__INLINE tfm__vf tfm__vf_load_n(const float *p, size_t n) { return _mm256_maskload_ps(p, tfm__avx2_mask(n)); }
TFM__INLINE void tfm__vf_store_n(float *p, tfm__vf v, size_t n) { _mm256_maskstore_ps(p, tfm__avx2_mask(n), v); }
TFM__INLINE tfm__vf tfm__vf_add(tfm__vf a, tfm__vf b) { return _mm256_add_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_sub(tfm__vf a, tfm__vf b) { return _mm256_sub_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_mul(tfm__vf a, tfm__vf b) { return _mm256_mul_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_div(tfm__vf a, tfm__vf b) { return _mm256_div_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_max(tfm__vf a, tfm__vf b) { return _mm256_max_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_min(tfm__vf a, tfm__vf b) { return _mm256_min_ps(a, b); }
TFM__INLINE tfm__vf tfm__vf_fma(tfm__vf a, tfm__vf b, tfm__vf c) { return _mm256_fmadd_ps(a, b, c); }
TFM__INLINE float tfm__vf_sum(tfm__vf v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
TFM__INLINE float tfm__vf_hmax(tfm__vf v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
TFM__INLINE void tfm__vf_sum4(float *out, tfm__vf a, tfm__vf b, tfm__vf c, tfm__vf d)
{
    __m256 ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b)); /* per 128 bits: a b a b */
    __m256 cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
    __m256 abcd = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(ab), _mm256_castps_pd(cd))),
                                _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(ab), _mm256_castps_pd(cd))));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
}
TFM__INLINE tfm__vf tfm__vf_round(tfm__vf v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
TFM__INLINE tfm__vf tfm__vf_mul_pow2(tfm__vf x, tfm__vf n)
{
    /* two factors so that each stays a normal float over n in [-150, 129] */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i a = _mm256_srai_epi32(ni, 1);
    __m256i b = _mm256_sub_epi32(ni, a);
    __m256 pa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, _mm256_set1_epi32(127)), 23));
    __m256 pb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(x, pa), pb);
}
TFM__INLINE tfm__vf tfm__vf_load_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}
TFM__INLINE void tfm__vf_store_f16(uint16_t *p, tfm__vf v)
{
    _mm_storeu_si128((__m128i *)(void *)p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
TFM__INLINE tfm__vf tfm__vf_load_bf16(const uint16_t *p)
{
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
TFM__INLINE void tfm__vf_store_bf16(uint16_t *p, tfm__vf v)
{
    __m256i x = _mm256_castps_si256(v);
    __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
    __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
    __m256i packed;
    rounded = _mm256_blendv_epi8(rounded, quiet, nan);
    packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(rounded, rounded), 0xD8);
    _mm_storeu_si128((__m128i *)(void *)p, _mm256_castsi256_si128(packed));
}
TFM__INLINE tfm__vf tfm__vf_load_i8(const int8_t *p)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
}

#elif defined(TFM__SIMD_NEON)
typedef float32x4_t tfm__vf;
#define TFM__VF_N 4
TFM__INLINE tfm__vf tfm__vf_zero(void) { return vdupq_n_f32(0.0f); }
TFM__INLINE tfm__vf tfm__vf_set1(float x) { return vdupq_n_f32(x); }
TFM__INLINE tfm__vf tfm__vf_load(const float *p) { return vld1q_f32(p); }
TFM__INLINE void tfm__vf_store(float *p, tfm__vf v) { vst1q_f32(p, v); }
TFM__INLINE tfm__vf tfm__vf_load_n(const float *p, size_t n)
{
    float buf[4] = {0, 0, 0, 0};
    memcpy(buf, p, n * sizeof(float));
    return vld1q_f32(buf);
}
TFM__INLINE void tfm__vf_store_n(float *p, tfm__vf v, size_t n)
{
    float buf[4];
    vst1q_f32(buf, v);
    memcpy(p, buf, n * sizeof(float));
}
TFM__INLINE tfm__vf tfm__vf_add(tfm__vf a, tfm__vf b) { return vaddq_f32(a, b); }
TFM__INLINE tfm__vf tfm__vf_sub(tfm__vf a, tfm__vf b) { return vsubq_f32(a, b); }
TFM__INLINE tfm__vf tfm__vf_mul(tfm__vf a, tfm__vf b) { return vmulq_f32(a, b); }
TFM__INLINE tfm__vf tfm__vf_div(tfm__vf a, tfm__vf b) { return vdivq_f32(a, b); }
TFM__INLINE tfm__vf tfm__vf_max(tfm__vf a, tfm__vf b) { return vmaxq_f32(a, b); }
TFM__INLINE tfm__vf tfm__vf_min(tfm__vf a, tfm__vf b) { return vminq_f32(a, b); }
TFM__INLINE tfm__vf tfm__vf_fma(tfm__vf a, tfm__vf b, tfm__vf c) { return vfmaq_f32(c, a, b); }
TFM__INLINE float tfm__vf_sum(tfm__vf v) { return vaddvq_f32(v); }
TFM__INLINE float tfm__vf_hmax(tfm__vf v) { return vmaxvq_f32(v); }
TFM__INLINE void tfm__vf_sum4(float *out, tfm__vf a, tfm__vf b, tfm__vf c, tfm__vf d)
{
    vst1q_f32(out, vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)));
}
TFM__INLINE tfm__vf tfm__vf_round(tfm__vf v) { return vrndnq_f32(v); }
TFM__INLINE tfm__vf tfm__vf_mul_pow2(tfm__vf x, tfm__vf n)
{
    int32x4_t ni = vcvtq_s32_f32(n);
    int32x4_t a = vshrq_n_s32(ni, 1);
    int32x4_t b = vsubq_s32(ni, a);
    float32x4_t pa = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(a, vdupq_n_s32(127)), 23));
    float32x4_t pb = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(b, vdupq_n_s32(127)), 23));
    return vmulq_f32(vmulq_f32(x, pa), pb);
}
TFM__INLINE tfm__vf tfm__vf_load_f16(const uint16_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
TFM__INLINE void tfm__vf_store_f16(uint16_t *p, tfm__vf v) { vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(v))); }
TFM__INLINE tfm__vf tfm__vf_load_bf16(const uint16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
TFM__INLINE void tfm__vf_store_bf16(uint16_t *p, tfm__vf v)
{
    uint32x4_t x = vreinterpretq_u32_f32(v);
    uint32x4_t nan = vmvnq_u32(vceqq_f32(v, v));
    uint32x4_t lsb = vandq_u32(vshrq_n_u32(x, 16), vdupq_n_u32(1));
    uint32x4_t rounded = vshrq_n_u32(vaddq_u32(x, vaddq_u32(lsb, vdupq_n_u32(0x7fff))), 16);
    uint32x4_t quiet = vorrq_u32(vshrq_n_u32(x, 16), vdupq_n_u32(0x40));
    vst1_u16(p, vmovn_u32(vbslq_u32(nan, quiet, rounded)));
}
TFM__INLINE tfm__vf tfm__vf_load_i8(const int8_t *p)
{
    int32_t four;
    memcpy(&four, p, 4);
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(four))))));
}

#else /* scalar: a "vector" of one lane, so the same kernels run everywhere */
typedef float tfm__vf;
#define TFM__VF_N 1
TFM__INLINE tfm__vf tfm__vf_zero(void) { return 0.0f; }
TFM__INLINE tfm__vf tfm__vf_set1(float x) { return x; }
TFM__INLINE tfm__vf tfm__vf_load(const float *p) { return *p; }
TFM__INLINE void tfm__vf_store(float *p, tfm__vf v) { *p = v; }
TFM__INLINE tfm__vf tfm__vf_load_n(const float *p, size_t n) { return n ? *p : 0.0f; }
TFM__INLINE void tfm__vf_store_n(float *p, tfm__vf v, size_t n)
{
    if (n) *p = v;
}
TFM__INLINE tfm__vf tfm__vf_add(tfm__vf a, tfm__vf b) { return a + b; }
TFM__INLINE tfm__vf tfm__vf_sub(tfm__vf a, tfm__vf b) { return a - b; }
TFM__INLINE tfm__vf tfm__vf_mul(tfm__vf a, tfm__vf b) { return a * b; }
TFM__INLINE tfm__vf tfm__vf_div(tfm__vf a, tfm__vf b) { return a / b; }
TFM__INLINE tfm__vf tfm__vf_max(tfm__vf a, tfm__vf b) { return a > b ? a : b; }
TFM__INLINE tfm__vf tfm__vf_min(tfm__vf a, tfm__vf b) { return a < b ? a : b; }
TFM__INLINE tfm__vf tfm__vf_fma(tfm__vf a, tfm__vf b, tfm__vf c) { return a * b + c; }
TFM__INLINE float tfm__vf_sum(tfm__vf v) { return v; }
TFM__INLINE float tfm__vf_hmax(tfm__vf v) { return v; }
TFM__INLINE void tfm__vf_sum4(float *out, tfm__vf a, tfm__vf b, tfm__vf c, tfm__vf d)
{
    out[0] = a;
    out[1] = b;
    out[2] = c;
    out[3] = d;
}
TFM__INLINE tfm__vf tfm__vf_round(tfm__vf v) { return nearbyintf(v); }
TFM__INLINE tfm__vf tfm__vf_mul_pow2(tfm__vf x, tfm__vf n) { return n == n ? ldexpf(x, (int)n) : n; }
TFM__INLINE tfm__vf tfm__vf_load_f16(const uint16_t *p) { return tfm_f16_to_f32(*p); }
TFM__INLINE void tfm__vf_store_f16(uint16_t *p, tfm__vf v) { *p = tfm_f32_to_f16(v); }
TFM__INLINE tfm__vf tfm__vf_load_bf16(const uint16_t *p) { return tfm_bf16_to_f32(*p); }
TFM__INLINE void tfm__vf_store_bf16(uint16_t *p, tfm__vf v) { *p = tfm_f32_to_bf16(v); }
TFM__INLINE tfm__vf tfm__vf_load_i8(const int8_t *p) { return (float)*p; }
#endif

/* TFM__VF_N int8 values as f32 lanes (tfm__vf_load_i8), or only the first n < TFM__VF_N of them, the
   other lanes 0 (reads just those n bytes). */
#if defined(TFM__SIMD_AVX512) && defined(TFM__HAS_AVX512BW)
TFM__INLINE tfm__vf tfm__vf_load_i8_n(const int8_t *p, size_t n)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1u), p)));
}
#else
TFM__INLINE tfm__vf tfm__vf_load_i8_n(const int8_t *p, size_t n)
{
    int8_t buf[16] = {0}; /* TFM__VF_N <= 16 */
    memcpy(buf, p, n);
    return tfm__vf_load_i8(buf);
}
#endif

/* e^x for every lane: range reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial for e^r
   (about 1 ulp), then scaling by 2^n. Lanes below -104 give 0 (so -Inf gives 0), above 89 give Inf. */
TFM__INLINE tfm__vf tfm__vf_exp(tfm__vf x)
{
    tfm__vf n, r, p;
    /* the clamps take x as their second operand, which x86's max/min return when either is NaN: a NaN
       comes out NaN on every path (as NEON's did), not e^-104 (a NaN attention score or logit vanished) */
    x = tfm__vf_max(tfm__vf_set1(-104.0f), x);
    x = tfm__vf_min(tfm__vf_set1(89.0f), x);
    n = tfm__vf_round(tfm__vf_mul(x, tfm__vf_set1(1.44269504088896341f)));
    r = tfm__vf_fma(n, tfm__vf_set1(-0.693359375f), x); /* ln2 split in two for an exact product */
    r = tfm__vf_fma(n, tfm__vf_set1(2.12194440e-4f), r);
    p = tfm__vf_set1(1.9875691500e-4f);
    p = tfm__vf_fma(p, r, tfm__vf_set1(1.3981999507e-3f));
    p = tfm__vf_fma(p, r, tfm__vf_set1(8.3334519073e-3f));
    p = tfm__vf_fma(p, r, tfm__vf_set1(4.1665795894e-2f));
    p = tfm__vf_fma(p, r, tfm__vf_set1(1.6666665459e-1f));
    p = tfm__vf_fma(p, r, tfm__vf_set1(5.0000001201e-1f));
    p = tfm__vf_fma(p, tfm__vf_mul(r, r), tfm__vf_add(r, tfm__vf_set1(1.0f)));
    return tfm__vf_mul_pow2(p, n);
}

/* f32 loads from a row of any float dtype; the scalar backend's loads convert one element. */
TFM__INLINE tfm__vf tfm__vf_load_any(tfm_dtype t, const void *row, size_t i)
{
    if (t == TFM_F16) return tfm__vf_load_f16((const uint16_t *)row + i);
    if (t == TFM_BF16) return tfm__vf_load_bf16((const uint16_t *)row + i);
    return tfm__vf_load((const float *)row + i);
}
#endif /* TFM__SIMD_PASS */

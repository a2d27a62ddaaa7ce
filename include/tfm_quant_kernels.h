/* tfm_quant_kernels.h - tfm_quant.h's int8 kernels (the lane layer tfm__vi, the decoders, the kernel
   bodies and their table), one instruction set per inclusion. Internal: not a header to include
   yourself (alone it declares nothing). tfm_quant.h includes it after tfm_simd.h, once for the
   instruction set the build targets and, in a portable x86-64 build, once more per instruction set
   it dispatches to (see RUN-TIME DISPATCH in tfm_tensor.h): hence no include guard. */
#if !defined(TFM__SIMD_PASS)
typedef int tfm__quant_kernels_h_alone; /* an ISO C translation unit must declare something */
#else

/* ---------------------------------------------------------------- the lane layer
   tfm__vi: TFM__VF_N int32 lanes, the integer twin of tfm_tensor.h's tfm__vf (AVX-512 16, AVX2 8, NEON
   4, scalar 1). Shifts are logical, on 32-bit lanes; the decoders mask bytes after every shift, so no
   bit crosses a byte boundary unmasked. The hand-specialised part is tfm__vi_dot (vpdpbusd, maddubs,
   sdot), the byte lookup (its indexes 0..15) and the gather. tfm__vi_dot is exact for levels up to 127; levels up to 255
   ("wide", a signed value + 128) go through tfm__vi_dot_wide, which returns the dot of (level -
   TFM__WIDE_BIAS): 0 where the instruction multiplies unsigned bytes whole (VNNI, scalar), 128 where
   the signed value is multiplied instead (maddubs would saturate, NEON multiplies signed bytes). */
#define TFM__VI_BYTES (4 * TFM__VF_N)
#undef TFM__WIDE_BIAS

#if defined(TFM__SIMD_AVX512)
#if !defined(TFM__HAS_AVX512BW)
#error "tfm_quant.h: an AVX-512 build needs AVX-512BW and VL (or define TFM_NO_SIMD)"
#endif
typedef __m512i tfm__vi;
TFM__INLINE tfm__vi tfm__vi_load(const void *p) { return _mm512_loadu_si512(p); }
TFM__INLINE void tfm__vi_store(void *p, tfm__vi v) { _mm512_storeu_si512(p, v); }
TFM__INLINE tfm__vi tfm__vi_set1(int32_t x) { return _mm512_set1_epi32(x); }
TFM__INLINE tfm__vi tfm__vi_and(tfm__vi a, tfm__vi b) { return _mm512_and_si512(a, b); }
TFM__INLINE tfm__vi tfm__vi_or(tfm__vi a, tfm__vi b) { return _mm512_or_si512(a, b); }
TFM__INLINE tfm__vi tfm__vi_xor(tfm__vi a, tfm__vi b) { return _mm512_xor_si512(a, b); }
TFM__INLINE tfm__vi tfm__vi_add(tfm__vi a, tfm__vi b) { return _mm512_add_epi32(a, b); }
TFM__INLINE tfm__vi tfm__vi_sub(tfm__vi a, tfm__vi b) { return _mm512_sub_epi32(a, b); }
TFM__INLINE tfm__vi tfm__vi_mul(tfm__vi a, tfm__vi b) { return _mm512_mullo_epi32(a, b); }
TFM__INLINE tfm__vi tfm__vi_shr(tfm__vi a, int n) { return _mm512_srli_epi32(a, (unsigned)n); }
TFM__INLINE tfm__vi tfm__vi_shl(tfm__vi a, int n) { return _mm512_slli_epi32(a, (unsigned)n); }
TFM__INLINE tfm__vi tfm__vi_lookup(const uint8_t *table16, tfm__vi idx)
{
    return _mm512_shuffle_epi8(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)table16)), idx);
}
TFM__INLINE tfm__vi tfm__vi_u16(const uint16_t *p) { return _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)p)); }
TFM__INLINE tfm__vi tfm__vi_gather(const unsigned char *base, tfm__vi off, const size_t *off_s)
{
    (void)off_s;
    return _mm512_i32gather_epi32(off, (const void *)base, 1);
}
TFM__INLINE tfm__vf tfm__vi_float(tfm__vi v) { return _mm512_cvtepi32_ps(v); }
/* the fp16 in each lane's low (or high) half as f32 */
TFM__INLINE tfm__vf tfm__vi_half_f32(tfm__vi v, int high)
{
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(high ? _mm512_srli_epi32(v, 16) : v));
}
#if defined(TFM__HAS_AVX512VNNI)
#define TFM__WIDE_BIAS 0
TFM__INLINE tfm__vi tfm__vi_dot(tfm__vi acc, tfm__vi u, tfm__vi s) { return _mm512_dpbusd_epi32(acc, u, s); }
TFM__INLINE tfm__vi tfm__vi_dot_wide(tfm__vi acc, tfm__vi u, tfm__vi s) { return _mm512_dpbusd_epi32(acc, u, s); }
#else
#define TFM__WIDE_BIAS 128
TFM__INLINE tfm__vi tfm__vi_dot(tfm__vi acc, tfm__vi u, tfm__vi s)
{
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
}
TFM__INLINE tfm__vi tfm__vi_dot_wide(tfm__vi acc, tfm__vi u, tfm__vi s)
{
    __m512i w = _mm512_xor_si512(u, _mm512_set1_epi8((char)0x80));
    __m512i sw = _mm512_mask_sub_epi8(s, _mm512_movepi8_mask(w), _mm512_setzero_si512(), s);
    return tfm__vi_dot(acc, _mm512_abs_epi8(w), sw);
}
#endif

#elif defined(TFM__SIMD_AVX2)
typedef __m256i tfm__vi;
TFM__INLINE tfm__vi tfm__vi_load(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
TFM__INLINE void tfm__vi_store(void *p, tfm__vi v) { _mm256_storeu_si256((__m256i *)p, v); }
TFM__INLINE tfm__vi tfm__vi_set1(int32_t x) { return _mm256_set1_epi32(x); }
TFM__INLINE tfm__vi tfm__vi_and(tfm__vi a, tfm__vi b) { return _mm256_and_si256(a, b); }
TFM__INLINE tfm__vi tfm__vi_or(tfm__vi a, tfm__vi b) { return _mm256_or_si256(a, b); }
TFM__INLINE tfm__vi tfm__vi_xor(tfm__vi a, tfm__vi b) { return _mm256_xor_si256(a, b); }
TFM__INLINE tfm__vi tfm__vi_add(tfm__vi a, tfm__vi b) { return _mm256_add_epi32(a, b); }
TFM__INLINE tfm__vi tfm__vi_sub(tfm__vi a, tfm__vi b) { return _mm256_sub_epi32(a, b); }
TFM__INLINE tfm__vi tfm__vi_mul(tfm__vi a, tfm__vi b) { return _mm256_mullo_epi32(a, b); }
TFM__INLINE tfm__vi tfm__vi_shr(tfm__vi a, int n) { return _mm256_srli_epi32(a, n); }
TFM__INLINE tfm__vi tfm__vi_shl(tfm__vi a, int n) { return _mm256_slli_epi32(a, n); }
TFM__INLINE tfm__vi tfm__vi_lookup(const uint8_t *table16, tfm__vi idx)
{
    return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)table16)), idx);
}
TFM__INLINE tfm__vi tfm__vi_u16(const uint16_t *p) { return _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p)); }
TFM__INLINE tfm__vi tfm__vi_gather(const unsigned char *base, tfm__vi off, const size_t *off_s)
{
    (void)off_s;
    return _mm256_i32gather_epi32((const int *)(const void *)base, off, 1);
}
TFM__INLINE tfm__vf tfm__vi_float(tfm__vi v) { return _mm256_cvtepi32_ps(v); }
TFM__INLINE tfm__vf tfm__vi_half_f32(tfm__vi v, int high)
{
    __m256i h = high ? _mm256_srli_epi32(v, 16) : _mm256_and_si256(v, _mm256_set1_epi32(0xffff));
    return _mm256_cvtph_ps(_mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(h, h), 0x08)));
}
#if defined(TFM__HAS_AVXVNNI)
#define TFM__WIDE_BIAS 0
TFM__INLINE tfm__vi tfm__vi_dot(tfm__vi acc, tfm__vi u, tfm__vi s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
TFM__INLINE tfm__vi tfm__vi_dot_wide(tfm__vi acc, tfm__vi u, tfm__vi s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
#else
#define TFM__WIDE_BIAS 128
TFM__INLINE tfm__vi tfm__vi_dot(tfm__vi acc, tfm__vi u, tfm__vi s)
{
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}
TFM__INLINE tfm__vi tfm__vi_dot_wide(tfm__vi acc, tfm__vi u, tfm__vi s)
{
    __m256i w = _mm256_xor_si256(u, _mm256_set1_epi8((char)0x80));
    return tfm__vi_dot(acc, _mm256_sign_epi8(w, w), _mm256_sign_epi8(s, w));
}
#endif

#elif defined(TFM__SIMD_NEON)
typedef int32x4_t tfm__vi;
#define TFM__WIDE_BIAS 128
TFM__INLINE tfm__vi tfm__vi_load(const void *p) { return vreinterpretq_s32_u8(vld1q_u8((const uint8_t *)p)); }
TFM__INLINE void tfm__vi_store(void *p, tfm__vi v) { vst1q_u8((uint8_t *)p, vreinterpretq_u8_s32(v)); }
TFM__INLINE tfm__vi tfm__vi_set1(int32_t x) { return vdupq_n_s32(x); }
TFM__INLINE tfm__vi tfm__vi_and(tfm__vi a, tfm__vi b) { return vandq_s32(a, b); }
TFM__INLINE tfm__vi tfm__vi_or(tfm__vi a, tfm__vi b) { return vorrq_s32(a, b); }
TFM__INLINE tfm__vi tfm__vi_xor(tfm__vi a, tfm__vi b) { return veorq_s32(a, b); }
TFM__INLINE tfm__vi tfm__vi_add(tfm__vi a, tfm__vi b) { return vaddq_s32(a, b); }
TFM__INLINE tfm__vi tfm__vi_sub(tfm__vi a, tfm__vi b) { return vsubq_s32(a, b); }
TFM__INLINE tfm__vi tfm__vi_mul(tfm__vi a, tfm__vi b) { return vmulq_s32(a, b); }
TFM__INLINE tfm__vi tfm__vi_shr(tfm__vi a, int n)
{
    return vreinterpretq_s32_u32(vshlq_u32(vreinterpretq_u32_s32(a), vdupq_n_s32(-n)));
}
TFM__INLINE tfm__vi tfm__vi_shl(tfm__vi a, int n) { return vreinterpretq_s32_u32(vshlq_u32(vreinterpretq_u32_s32(a), vdupq_n_s32(n))); }
TFM__INLINE tfm__vi tfm__vi_lookup(const uint8_t *table16, tfm__vi idx)
{
    return vreinterpretq_s32_u8(vqtbl1q_u8(vld1q_u8(table16), vreinterpretq_u8_s32(idx)));
}
TFM__INLINE tfm__vi tfm__vi_u16(const uint16_t *p) { return vreinterpretq_s32_u32(vmovl_u16(vld1_u16(p))); }
TFM__INLINE tfm__vi tfm__vi_gather(const unsigned char *base, tfm__vi off, const size_t *off_s)
{
    int32_t v[4];
    int i;
    for (i = 0; i < 4; i++) memcpy(&v[i], base + off_s[i], 4);
    (void)off;
    return vld1q_s32(v);
}
TFM__INLINE tfm__vf tfm__vi_float(tfm__vi v) { return vcvtq_f32_s32(v); }
TFM__INLINE tfm__vf tfm__vi_half_f32(tfm__vi v, int high)
{
    uint32x4_t u = vreinterpretq_u32_s32(v);
    return vcvt_f32_f16(vreinterpret_f16_u16(vmovn_u32(high ? vshrq_n_u32(u, 16) : u)));
}
TFM__INLINE tfm__vi tfm__vi_dot(tfm__vi acc, tfm__vi u, tfm__vi s)
{
    int8x16_t a = vreinterpretq_s8_s32(u), b = vreinterpretq_s8_s32(s);
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#elif defined(TFM__HAS_DOTPROD) /* clang's dispatched pass: the extension is on, vdotq_s32 undeclared */
    __asm__("sdot %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(a), "w"(b));
    return acc;
#else /* lane i: bytes 4i..4i+3, through 16-bit products and two pairwise sums */
    int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    int32x4_t hi = vpaddlq_s16(vmull_s8(vget_high_s8(a), vget_high_s8(b)));
    return vaddq_s32(acc, vpaddq_s32(lo, hi));
#endif
}
TFM__INLINE tfm__vi tfm__vi_dot_wide(tfm__vi acc, tfm__vi u, tfm__vi s) { return tfm__vi_dot(acc, veorq_s32(u, vdupq_n_s32((int32_t)0x80808080u)), s); }

#else /* scalar: one lane of 4 bytes */
typedef uint32_t tfm__vi;
#define TFM__WIDE_BIAS 0
TFM__INLINE tfm__vi tfm__vi_load(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
TFM__INLINE void tfm__vi_store(void *p, tfm__vi v) { memcpy(p, &v, 4); }
TFM__INLINE tfm__vi tfm__vi_set1(int32_t x) { return (uint32_t)x; }
TFM__INLINE tfm__vi tfm__vi_and(tfm__vi a, tfm__vi b) { return a & b; }
TFM__INLINE tfm__vi tfm__vi_or(tfm__vi a, tfm__vi b) { return a | b; }
TFM__INLINE tfm__vi tfm__vi_xor(tfm__vi a, tfm__vi b) { return a ^ b; }
TFM__INLINE tfm__vi tfm__vi_add(tfm__vi a, tfm__vi b) { return a + b; }
TFM__INLINE tfm__vi tfm__vi_sub(tfm__vi a, tfm__vi b) { return a - b; }
TFM__INLINE tfm__vi tfm__vi_mul(tfm__vi a, tfm__vi b) { return a * b; }
TFM__INLINE tfm__vi tfm__vi_shr(tfm__vi a, int n) { return a >> n; }
TFM__INLINE tfm__vi tfm__vi_shl(tfm__vi a, int n) { return a << n; }
TFM__INLINE tfm__vi tfm__vi_lookup(const uint8_t *table16, tfm__vi idx)
{
    return (uint32_t)table16[idx & 15] | (uint32_t)table16[(idx >> 8) & 15] << 8 | (uint32_t)table16[(idx >> 16) & 15] << 16 |
           (uint32_t)table16[idx >> 24 & 15] << 24;
}
TFM__INLINE tfm__vi tfm__vi_u16(const uint16_t *p) { return *p; }
TFM__INLINE tfm__vi tfm__vi_gather(const unsigned char *base, tfm__vi off, const size_t *off_s)
{
    (void)off;
    return tfm__vi_load(base + off_s[0]);
}
/* the two's complement value, without an implementation-defined conversion */
TFM__INLINE tfm__vf tfm__vi_float(tfm__vi v) { return v >> 31 ? -(float)(~v + 1u) : (float)v; }
TFM__INLINE tfm__vf tfm__vi_half_f32(tfm__vi v, int high) { return tfm_f16_to_f32((uint16_t)(high ? v >> 16 : v & 0xffffu)); }
TFM__INLINE tfm__vi tfm__vi_dot(tfm__vi acc, tfm__vi u, tfm__vi s)
{
    int k;
    for (k = 0; k < 32; k += 8) acc += ((u >> k) & 255u) * (uint32_t)(int32_t)(int8_t)(unsigned char)(s >> k);
    return acc;
}
TFM__INLINE tfm__vi tfm__vi_dot_wide(tfm__vi acc, tfm__vi u, tfm__vi s) { return tfm__vi_dot(acc, u, s); }
#endif

TFM__INLINE tfm__vi tfm__vi_zero(void) { return tfm__vi_set1(0); }
/* the bits of a where mask is set, of b elsewhere */
#if defined(TFM__SIMD_AVX512)
TFM__INLINE tfm__vi tfm__vi_select(tfm__vi mask, tfm__vi a, tfm__vi b) { return _mm512_ternarylogic_epi32(mask, a, b, 0xCA); }
#elif defined(TFM__SIMD_NEON)
TFM__INLINE tfm__vi tfm__vi_select(tfm__vi mask, tfm__vi a, tfm__vi b) { return vbslq_s32(vreinterpretq_u32_s32(mask), a, b); }
#else
TFM__INLINE tfm__vi tfm__vi_select(tfm__vi mask, tfm__vi a, tfm__vi b) { return tfm__vi_or(tfm__vi_and(mask, a), tfm__vi_xor(tfm__vi_or(mask, b), mask)); }
#endif
/* a * b + c rounded once, on every path (the scalar tfm__vf_fma rounds twice) */
#if defined(TFM__SIMD_SCALAR)
TFM__INLINE tfm__vf tfm__vf_fma1(tfm__vf a, tfm__vf b, tfm__vf c) { return fmaf(a, b, c); }
#else
TFM__INLINE tfm__vf tfm__vf_fma1(tfm__vf a, tfm__vf b, tfm__vf c) { return tfm__vf_fma(a, b, c); }
#endif
/* a * b for lanes a in 0..32767 and b in -32768..32767, or the other way round (a min times an activation
   group sum): on x86 one
   16-bit multiply-add, whose high halves' product is 0, instead of the 32-bit multiply's two uops */
#if defined(TFM__SIMD_AVX512)
TFM__INLINE tfm__vi tfm__vi_mul16(tfm__vi a, tfm__vi b) { return _mm512_madd_epi16(a, b); }
#elif defined(TFM__SIMD_AVX2)
TFM__INLINE tfm__vi tfm__vi_mul16(tfm__vi a, tfm__vi b) { return _mm256_madd_epi16(a, b); }
#else
TFM__INLINE tfm__vi tfm__vi_mul16(tfm__vi a, tfm__vi b) { return tfm__vi_mul(a, b); }
#endif
/* acc + a * b for lanes a in -32768..32767 and b in 0..32767: a 16-bit multiply-add (VNNI: accumulating,
   vpdpwssd), whose high halves' product is 0 */
#if defined(TFM__SIMD_AVX512) && defined(TFM__HAS_AVX512VNNI)
TFM__INLINE tfm__vi tfm__vi_dot16(tfm__vi acc, tfm__vi a, tfm__vi b) { return _mm512_dpwssd_epi32(acc, a, b); }
#elif defined(TFM__SIMD_AVX2) && defined(TFM__HAS_AVXVNNI)
TFM__INLINE tfm__vi tfm__vi_dot16(tfm__vi acc, tfm__vi a, tfm__vi b) { return _mm256_dpwssd_avx_epi32(acc, a, b); }
#else
TFM__INLINE tfm__vi tfm__vi_dot16(tfm__vi acc, tfm__vi a, tfm__vi b) { return tfm__vi_add(acc, tfm__vi_mul16(a, b)); }
#endif
TFM__INLINE tfm__vi tfm__vi_bytes(unsigned b) { return tfm__vi_set1((int32_t)(0x01010101u * (b & 255u))); }
/* the 4 bytes at p in every lane */
TFM__INLINE tfm__vi tfm__vi_bcast4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return tfm__vi_set1(v);
}
/* byte k (0..3) of every lane as an int32, zero- or sign-extended (x86: one byte shuffle, off the
   shift port) */
#if defined(TFM__SIMD_AVX512) || defined(TFM__SIMD_AVX2)
/* the bytes `pattern` names (0..3, or 0x80: zero) of every lane */
TFM__INLINE tfm__vi tfm__vi_pick(tfm__vi v, uint32_t pattern)
{
    const __m128i idx = _mm_add_epi32(_mm_set1_epi32((int32_t)pattern), _mm_setr_epi32(0, 0x04040404, 0x08080808, 0x0c0c0c0c));
#if defined(TFM__SIMD_AVX512)
    return _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(idx));
#else
    return _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(idx));
#endif
}
TFM__INLINE tfm__vi tfm__vi_byte(tfm__vi v, int k) { return tfm__vi_pick(v, 0x80808000u | (uint32_t)k); }
#if defined(TFM__SIMD_AVX512)
TFM__INLINE tfm__vi tfm__vi_sbyte(tfm__vi v, int k) { return _mm512_srai_epi32(tfm__vi_pick(v, 0x00808080u | (uint32_t)k << 24), 24); }
#else
TFM__INLINE tfm__vi tfm__vi_sbyte(tfm__vi v, int k) { return _mm256_srai_epi32(tfm__vi_pick(v, 0x00808080u | (uint32_t)k << 24), 24); }
#endif
#else
TFM__INLINE tfm__vi tfm__vi_byte(tfm__vi v, int k) { return tfm__vi_and(tfm__vi_shr(v, 8 * k), tfm__vi_set1(255)); }
TFM__INLINE tfm__vi tfm__vi_sbyte(tfm__vi v, int k) { return tfm__vi_sub(tfm__vi_xor(tfm__vi_byte(v, k), tfm__vi_set1(128)), tfm__vi_set1(128)); }
#endif

/* bits from..from + width - 1 of every byte moved to bits to.., the byte's other bits zero (a field of
   a byte, never crossing into the next). With GFNI one GF(2) affine transform per byte does it (row i
   of the bit matrix, its byte 7 - i, picks output bit i's source); elsewhere a shift and a mask. */
#if defined(__GFNI__) && (defined(TFM__SIMD_AVX512) || defined(TFM__SIMD_AVX2))
TFM__INLINE long long tfm__gf_move(int from, int width, int to)
{
    uint64_t m = 0;
    int i;
    for (i = to; i < to + width; i++) m |= (uint64_t)1 << (i - to + from) << 8 * (7 - i);
    return (long long)m;
}
TFM__INLINE tfm__vi tfm__vi_field(tfm__vi v, int from, int width, int to)
{
    if (from == to) return tfm__vi_and(v, tfm__vi_bytes(((1u << width) - 1u) << to));
#if defined(TFM__SIMD_AVX512)
    return _mm512_gf2p8affine_epi64_epi8(v, _mm512_set1_epi64(tfm__gf_move(from, width, to)), 0);
#else
    return _mm256_gf2p8affine_epi64_epi8(v, _mm256_set1_epi64x(tfm__gf_move(from, width, to)), 0);
#endif
}
#else
TFM__INLINE tfm__vi tfm__vi_field(tfm__vi v, int from, int width, int to)
{
    const tfm__vi mask = tfm__vi_bytes(((1u << width) - 1u) << to);
    return tfm__vi_and(from > to ? tfm__vi_shr(v, from - to) : from < to ? tfm__vi_shl(v, to - from) : v, mask);
}
#endif

/* lane group c of a row-tile (rows 16c/TFM__QSUBS..): where block b's halves and body words are */
typedef struct tfm__qsub {
    const unsigned char *halves, *body;
    size_t half_stride, body_stride; /* bytes from one block to the next */
    tfm__vi off;                     /* GGML rows: each lane's row offset (rows past nr repeat the last) */
    size_t off_s[TFM__VF_N];
} tfm__qsub;

TFM__Q_FORCE_INLINE void tfm__qsub_init(tfm__qsub *s, const tfm__qtype *T, const tfm__qsrc *w, int c, int packed)
{
    int32_t o[TFM__VF_N];
    int r;
    if (packed) {
        s->halves = w->p + (size_t)c * 2 * TFM__VF_N;
        s->body = w->p + w->halves_bytes + (size_t)c * TFM__VI_BYTES;
        s->half_stride = T->n_halves * (size_t)TFM__QHALF_BYTES;
        s->body_stride = T->body_words * (size_t)TFM__QVEC_BYTES;
        return;
    }
    for (r = 0; r < TFM__VF_N; r++) {
        int row = c * TFM__VF_N + r < w->nr ? c * TFM__VF_N + r : w->nr - 1;
        s->off_s[r] = (size_t)row * w->row_bytes;
        o[r] = (int32_t)s->off_s[r];
    }
    s->off = tfm__vi_load(o);
    s->halves = w->p;
    s->body = w->p + T->body_at;
    s->half_stride = s->body_stride = tfm__qblock_bytes(T);
}

/* body word v of block b, one 4-byte lane per row */
TFM__Q_FORCE_INLINE tfm__vi tfm__qword(const tfm__qsub *s, int packed, size_t b, int v)
{
    const unsigned char *p = s->body + b * s->body_stride;
    return packed ? tfm__vi_load(p + TFM__QVEC_BYTES * v) : tfm__vi_gather(p + 4 * v, s->off, s->off_s);
}

/* the 4-byte word of a block that holds its fp16 field at `at` (the word the field starts, unless that
   runs past the block: then the one it ends), and whether the field is its high half */
static int tfm__qhalf_word(int at, size_t block_bytes, int *high)
{
    const int w = (size_t)(at & ~3) + 4 <= block_bytes ? at & ~3 : at - 2;
    *high = at - w == 2;
    return w;
}

/* fp16 field f (at byte `at` of the block) of block b of every row, as f32 lanes (packed: in place;
   GGML rows: gathered) */
TFM__Q_FORCE_INLINE tfm__vf tfm__qhalf_f32(const tfm__qsub *s, int packed, size_t b, int f, int at)
{
    int high, w;
    if (packed) return tfm__vf_load_f16((const uint16_t *)(const void *)(s->halves + b * s->half_stride + (size_t)f * TFM__QHALF_BYTES));
    w = tfm__qhalf_word(at, s->half_stride, &high);
    return tfm__vi_half_f32(tfm__vi_gather(s->halves + b * s->half_stride + w, s->off, s->off_s), high);
}

/* the same field as zero-extended int32 lanes (iq4_xs's scales_h) */
TFM__Q_FORCE_INLINE tfm__vi tfm__qhalf_u16(const tfm__qsub *s, int packed, size_t b, int f, int at)
{
    int high, w;
    tfm__vi v;
    if (packed) return tfm__vi_u16((const uint16_t *)(const void *)(s->halves + b * s->half_stride + (size_t)f * TFM__QHALF_BYTES));
    w = tfm__qhalf_word(at, s->half_stride, &high);
    v = tfm__vi_gather(s->halves + b * s->half_stride + w, s->off, s->off_s);
    return high ? tfm__vi_shr(v, 16) : tfm__vi_and(v, tfm__vi_set1(0xffff));
}

/* The decoders: the i-th group a decoder visits in block b (T->group elements: the returned group g, in
   an order that keeps the words groups share close together) as T->group / 4 level vectors, vector t's
   byte k the level of element g * T->group + 4t + k; for types with sub-block scales also the group's
   integer scale (and min). Each reads the GGML block's bytes as GGML's own code does, 16 rows at once. */
typedef int tfm__qdecoder(const tfm__qsub *s, int packed, size_t b, int i, tfm__vi *L, tfm__vi *sc, tfm__vi *mn);

/* body word of a struct field (GGML's byte layout: the block structs are GGML's) */
#define TFM__QW(block_type, field, body_at) ((int)(offsetof(block_type, field) - (body_at)) / 4)

/* the nibbles of 4 words from w0: low nibbles are elements 4t.., high ones 16 + 4t.. (q4_0's order) */
TFM__Q_FORCE_INLINE void tfm__qnibbles(const tfm__qsub *s, int packed, size_t b, int w0, tfm__vi *L)
{
    int t;
    TFM__Q_UNROLL
    for (t = 0; t < 4; t++) {
        tfm__vi q = tfm__qword(s, packed, b, w0 + t);
        L[t] = tfm__vi_field(q, 0, 4, 0);
        L[t + 4] = tfm__vi_field(q, 4, 4, 0);
    }
}

TFM__Q_FORCE_INLINE int tfm__qdec_q8_0(const tfm__qsub *s, int packed, size_t b, int g, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    int t;
    TFM__Q_UNROLL
    for (t = 0; t < 8; t++) L[t] = tfm__vi_xor(tfm__qword(s, packed, b, t), tfm__vi_bytes(0x80));
    (void)sc, (void)mn;
    return g;
}

TFM__Q_FORCE_INLINE int tfm__qdec_q4_0(const tfm__qsub *s, int packed, size_t b, int g, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    tfm__qnibbles(s, packed, b, 0, L);
    (void)sc, (void)mn;
    return g;
}

/* k-quant 6-bit scales and mins of sub-block g (GGML's get_scale_min_k4) from the 12 bytes at body
   words 0-2 (b0, b1, b2), worked out as bytes for four sub-blocks at once: scales 0-3 = b0 & 63, mins 0-3
   = b1 & 63, scales 4-7 = b2's low nibbles | (b0 >> 6) << 4, mins 4-7 = b2's high nibbles | (b1 >> 6) << 4 */
TFM__Q_FORCE_INLINE void tfm__qscales_k4(const tfm__qsub *s, int packed, size_t b, int g, tfm__vi *sc, tfm__vi *mn)
{
    const tfm__vi b0 = tfm__qword(s, packed, b, 0), b1 = tfm__qword(s, packed, b, 1), m6 = tfm__vi_bytes(63);
    if (g < 4) {
        *sc = tfm__vi_byte(tfm__vi_and(b0, m6), g);
        *mn = tfm__vi_byte(tfm__vi_and(b1, m6), g);
    } else {
        const tfm__vi b2 = tfm__qword(s, packed, b, 2), m4 = tfm__vi_bytes(15), top = tfm__vi_bytes(48);
        *sc = tfm__vi_byte(tfm__vi_or(tfm__vi_and(b2, m4), tfm__vi_and(tfm__vi_shr(b0, 2), top)), g - 4);
        *mn = tfm__vi_byte(tfm__vi_or(tfm__vi_and(tfm__vi_shr(b2, 4), m4), tfm__vi_and(tfm__vi_shr(b1, 2), top)), g - 4);
    }
}

/* q4_k sub-block g: qs bytes 32 (g / 2).., low nibbles for even g, high for odd */
TFM__Q_FORCE_INLINE int tfm__qdec_q4_K(const tfm__qsub *s, int packed, size_t b, int g, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    const int w0 = TFM__QW(tfm_block_q4_K, qs, 4) + 8 * (g / 2);
    int t;
    TFM__Q_UNROLL
    for (t = 0; t < 8; t++) L[t] = tfm__vi_field(tfm__qword(s, packed, b, w0 + t), 4 * (g % 2), 4, 0);
    tfm__qscales_k4(s, packed, b, g, sc, mn);
    return g;
}

/* q6_k group g (16 elements 16g..): half h = g / 8, quarter q = (g % 8) / 2, offset o = 16 (g % 2); low
   4 bits from ql bytes 64h + 32 (q & 1) + o.. (high nibbles for q >= 2), top 2 from qh bytes 32h + o..
   (bits 2q, 2q + 1); the scale is the int8 scales[g]. Visited by (h, o, q): the 4 groups of one qh
   word in a row. */
TFM__Q_FORCE_INLINE int tfm__qdec_q6_K(const tfm__qsub *s, int packed, size_t b, int i, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    const int h = i / 8, o = 16 * (i % 8 / 4), q = i % 4, g = 8 * h + 2 * q + o / 16;
    const int wl = TFM__QW(tfm_block_q6_K, ql, 0) + (64 * h + 32 * (q & 1) + o) / 4, wh = TFM__QW(tfm_block_q6_K, qh, 0) + (32 * h + o) / 4;
    int t;
    TFM__Q_UNROLL
    for (t = 0; t < 4; t++) {
        const tfm__vi hi = tfm__vi_field(tfm__qword(s, packed, b, wh + t), 2 * q, 2, 4);
        L[t] = tfm__vi_select(tfm__vi_bytes(0x0f), tfm__vi_shr(tfm__qword(s, packed, b, wl + t), 4 * (q / 2)), hi);
    }
    *sc = tfm__vi_sbyte(tfm__qword(s, packed, b, TFM__QW(tfm_block_q6_K, scales, 0) + g / 4), g % 4);
    (void)mn;
    return g;
}

/* the fifth bits of q5_0 / q5_1 (qh bit j: element j) of elements shift..shift + 3 at bit 4 of bytes
   0..3: one multiply by 0x00204081 moves bit k to bit 8k */
TFM__Q_FORCE_INLINE tfm__vi tfm__qbit4(tfm__vi h, int shift)
{
    const tfm__vi spread = tfm__vi_mul(tfm__vi_and(tfm__vi_shr(h, shift), tfm__vi_set1(15)), tfm__vi_set1(0x00204081));
    return tfm__vi_shl(tfm__vi_and(spread, tfm__vi_bytes(1)), 4);
}

/* q5_0 / q5_1: q4_0's nibbles (body words 1-4) with the fifth bits of qh (body word 0) */
TFM__Q_FORCE_INLINE int tfm__qdec_q5_0(const tfm__qsub *s, int packed, size_t b, int g, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    const tfm__vi h = tfm__qword(s, packed, b, 0);
    int t;
    tfm__qnibbles(s, packed, b, 1, L);
    TFM__Q_UNROLL
    for (t = 0; t < 4; t++) {
        L[t] = tfm__vi_or(L[t], tfm__qbit4(h, 4 * t));
        L[t + 4] = tfm__vi_or(L[t + 4], tfm__qbit4(h, 16 + 4 * t));
    }
    (void)sc, (void)mn;
    return g;
}

/* iq4_nl: q4_0's nibbles, looked up in the 16 levels */
TFM__Q_FORCE_INLINE int tfm__qdec_iq4_nl(const tfm__qsub *s, int packed, size_t b, int g, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    int t;
    tfm__qnibbles(s, packed, b, 0, L);
    TFM__Q_UNROLL
    for (t = 0; t < 8; t++) L[t] = tfm__vi_lookup(tfm__iq4_levels, L[t]);
    (void)sc, (void)mn;
    return g;
}

/* iq4_xs sub-block g: the nibbles of qs bytes 16g.. (body words 1 + 4g..) looked up; scale ((scales_l
   >> 4g) & 15 | ((scales_h >> 2g) & 3) << 4) - 32 */
TFM__Q_FORCE_INLINE int tfm__qdec_iq4_xs(const tfm__qsub *s, int packed, size_t b, int g, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    const tfm__vi hi = tfm__qhalf_u16(s, packed, b, 1, (int)offsetof(tfm_block_iq4_xs, scales_h));
    const tfm__vi lo = tfm__qword(s, packed, b, TFM__QW(tfm_block_iq4_xs, scales_l, 4));
    int t;
    tfm__qnibbles(s, packed, b, TFM__QW(tfm_block_iq4_xs, qs, 4) + 4 * g, L);
    TFM__Q_UNROLL
    for (t = 0; t < 8; t++) L[t] = tfm__vi_lookup(tfm__iq4_levels, L[t]);
    *sc = tfm__vi_sub(tfm__vi_or(tfm__vi_and(tfm__vi_shr(lo, 4 * g), tfm__vi_set1(15)), tfm__vi_shl(tfm__vi_and(tfm__vi_shr(hi, 2 * g), tfm__vi_set1(3)), 4)),
                      tfm__vi_set1(32));
    (void)mn;
    return g;
}

/* q5_K sub-block g: q4_k's nibbles (qs at body word 11) with bit g of qh bytes 0..31 (body words 3..10)
   as bit 4 */
TFM__Q_FORCE_INLINE int tfm__qdec_q5_K(const tfm__qsub *s, int packed, size_t b, int g, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    const int wq = TFM__QW(tfm_block_q5_K, qs, 4) + 8 * (g / 2), wh = TFM__QW(tfm_block_q5_K, qh, 4);
    int t;
    TFM__Q_UNROLL
    for (t = 0; t < 8; t++) { /* qh by a shift, which reads its word from memory: all 8 groups share those 8 words */
        const tfm__vi h = tfm__qword(s, packed, b, wh + t);
        L[t] = tfm__vi_or(tfm__vi_field(tfm__qword(s, packed, b, wq + t), 4 * (g % 2), 4, 0),
                          tfm__vi_and(g <= 4 ? tfm__vi_shl(h, 4 - g) : tfm__vi_shr(h, g - 4), tfm__vi_bytes(0x10)));
    }
    tfm__qscales_k4(s, packed, b, g, sc, mn);
    return g;
}

/* q2_K / q3_K visit their 16 groups by (half h, offset o, shift s): group g = 8h + 2s + o holds
   elements 128h + 32s + 16o + 4t + k, whose 2 low bits are bits 2s of qs byte 32h + 16o + 4t + k */
#define TFM__QCRUMB_GROUP(i, h, o, sh) const int h = (i) / 8, o = (i) % 8 / 4, sh = (i) % 4

/* q2_K: levels 0..3; scales byte g: low nibble the scale, high the min */
TFM__Q_FORCE_INLINE int tfm__qdec_q2_K(const tfm__qsub *s, int packed, size_t b, int i, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    TFM__QCRUMB_GROUP(i, h, o, sh);
    const int g = 8 * h + 2 * sh + o, wq = TFM__QW(tfm_block_q2_K, qs, 0) + 8 * h + 4 * o;
    const tfm__vi w = tfm__qword(s, packed, b, TFM__QW(tfm_block_q2_K, scales, 0) + g / 4), m4 = tfm__vi_bytes(0x0f);
    int t;
    TFM__Q_UNROLL
    for (t = 0; t < 4; t++) L[t] = tfm__vi_field(tfm__qword(s, packed, b, wq + t), 2 * sh, 2, 0);
    *sc = tfm__vi_byte(tfm__vi_and(w, m4), g % 4);
    *mn = tfm__vi_byte(tfm__vi_and(tfm__vi_shr(w, 4), m4), g % 4);
    return g;
}

/* q3_K: 2 low bits as q2_K's, the third from hmask byte 16o + 4t + k, bit 4h + s; zero 4. Scales (6
   bits, + 32) as bytes for four groups at once from scale words A, B, C (bytes 0-3, 4-7, 8-11): groups
   0-3 A & 15 | C bits 0-1, 4-7 B & 15 | C bits 2-3, 8-11 A >> 4 | C bits 4-5, 12-15 B >> 4 | C bits 6-7 */
TFM__Q_FORCE_INLINE int tfm__qdec_q3_K(const tfm__qsub *s, int packed, size_t b, int i, tfm__vi *L, tfm__vi *sc, tfm__vi *mn)
{
    TFM__QCRUMB_GROUP(i, h, o, sh);
    const int g = 8 * h + 2 * sh + o, wq = TFM__QW(tfm_block_q3_K, qs, 0) + 8 * h + 4 * o, wm = TFM__QW(tfm_block_q3_K, hmask, 0) + 4 * o;
    const int ws = TFM__QW(tfm_block_q3_K, scales, 0), q = g / 4;
    const tfm__vi ab = tfm__qword(s, packed, b, ws + q % 2), c = tfm__qword(s, packed, b, ws + 2);
    const tfm__vi lo = tfm__vi_and(q < 2 ? ab : tfm__vi_shr(ab, 4), tfm__vi_bytes(0x0f));
    const tfm__vi top = tfm__vi_and(q < 2 ? tfm__vi_shl(c, 4 - 2 * q) : tfm__vi_shr(c, 2 * q - 4), tfm__vi_bytes(0x30));
    int t;
    TFM__Q_UNROLL
    for (t = 0; t < 4; t++) { /* hmask by a shift, which reads its word from memory: 8 groups share each word */
        const tfm__vi hm = tfm__qword(s, packed, b, wm + t);
        L[t] = tfm__vi_or(tfm__vi_field(tfm__qword(s, packed, b, wq + t), 2 * sh, 2, 0),
                          tfm__vi_and(4 * h + sh >= 2 ? tfm__vi_shr(hm, 4 * h + sh - 2) : tfm__vi_shl(hm, 2 - 4 * h - sh), tfm__vi_bytes(4)));
    }
    *sc = tfm__vi_sub(tfm__vi_byte(tfm__vi_or(lo, top), g % 4), tfm__vi_set1(32));
    (void)mn;
    return g;
}

/* row-tiles a pass of the packed dot kernels takes: two share each activation broadcast between twice
   the independent dot chains on x86's vectors (measured); the scalar path would only compile longer, and
   on NEON, where no ARM core has measured what two tiles gain, they would more than double the compile */
#undef TFM__QPACKED_TILES
#if defined(TFM__SIMD_SCALAR) || defined(TFM__SIMD_NEON)
#define TFM__QPACKED_TILES 1
#else
#define TFM__QPACKED_TILES 2
#endif

/* ---------------------------------------------------------------- the kernel bodies
   Per block: for each group, a chain of byte dots starting at -(zero - bias) * (the group's activation
   sum) (two chains for latency, summed), times the group's scale when the type has them; the min term
   (- dmin sum(mn * group sums)) accumulated the same way; then the float update, lane by lane, in the
   documented order. */

/* the lines holding bytes [from, from + bytes) of p into L2 */
TFM__Q_FORCE_INLINE void tfm__qprefetch(const unsigned char *p, size_t from, size_t bytes)
{
    size_t l;
    for (l = from / 64; l <= (from + bytes - 1) / 64; l++) TFM__Q_PREFETCH(p + 64 * l);
}

/* the bytes of a next packed row-tile each block prefetches (a 1/nb slice of it), worked out once per
   call (gcc does not hoist the division out of the block loop) */
TFM__Q_FORCE_INLINE size_t tfm__qprefetch_share(const tfm__qtype *T, int packed, size_t nb)
{
    return packed && nb ? (tfm__qtile_bytes(T, nb) + nb - 1) / nb : 0;
}

/* block b's share of the nn next row-tiles next[0..nn) (one core keeps too few reads in flight alone to
   reach the read bandwidth): packed, `share` bytes of each (tfm__qprefetch_share); rows, block b of
   each row */
TFM__Q_FORCE_INLINE void tfm__qprefetch_next(const tfm__qtype *T, int packed, const tfm__qsrc *next, int nn, size_t share, size_t b)
{
    int k, r;
    if (packed) {
        for (k = 0; k < nn; k++) tfm__qprefetch(next[k].p, b * share, share);
    } else { /* the lines block b reaches into that earlier blocks did not */
        const size_t bb = tfm__qblock_bytes(T), from = b ? (b * bb - 1) / 64 + 1 : 0, to = ((b + 1) * bb - 1) / 64;
        if (from <= to)
            for (k = 0; k < nn; k++)
                for (r = 0; r < next[k].nr; r++) tfm__qprefetch(next[k].p + (size_t)r * next[k].row_bytes, 64 * from, 64 * (to - from) + 1);
    }
}

/* acc + the dot of level vector L with bc (4 activation bytes in every lane) */
TFM__Q_FORCE_INLINE tfm__vi tfm__qdotv(const tfm__qtype *T, tfm__vi acc, tfm__vi L, tfm__vi bc)
{
    return T->wide ? tfm__vi_dot_wide(acc, L, bc) : tfm__vi_dot(acc, L, bc);
}

TFM__Q_FORCE_INLINE tfm__vi tfm__qdot4(const tfm__qtype *T, tfm__vi acc, tfm__vi L, const int8_t *a) { return tfm__qdotv(T, acc, L, tfm__vi_bcast4(a)); }

TFM__Q_FORCE_INLINE int32_t tfm__qgroup_sum(const tfm__qtype *T, const int32_t *s16, int g)
{
    return T->group == 16 ? s16[g] : s16[2 * g] + s16[2 * g + 1];
}

/* isum + (r0 + r1) * sc: a group's dot chains (two when `two`, else r0 alone) times its scale. Where the
   type's chains fit in 16 bits and its scales are non-negative (T->chain16), one 16-bit multiply-add per
   chain instead of the 32-bit multiply (two uops on x86) and two adds. */
TFM__Q_FORCE_INLINE tfm__vi tfm__qscaled(const tfm__qtype *T, tfm__vi isum, tfm__vi r0, tfm__vi r1, int two, tfm__vi sc)
{
    if (T->chain16) return two ? tfm__vi_dot16(tfm__vi_dot16(isum, r0, sc), r1, sc) : tfm__vi_dot16(isum, r0, sc);
    return tfm__vi_add(isum, tfm__vi_mul(two ? tfm__vi_add(r0, r1) : r0, sc));
}

TFM__Q_FORCE_INLINE int32_t tfm__qzero(const tfm__qtype *T) { return T->zero - (T->wide ? TFM__WIDE_BIAS : 0); }

/* y[16 k + r] = row r of tile w[k] (k < NT, a constant where it is inlined: 1 for GGML rows,
   TFM__QPACKED_TILES packed) dotted with the activation row a (nb blocks), prefetching the nn tiles
   next[0..nn) along the way. Two tiles share each activation broadcast and give twice the independent
   dot chains; each output's sums are the one-tile kernel's (the integer sums are exact, the float
   update is the same chain in block order), so an output does not depend on the tile it was paired
   with. */
TFM__Q_FORCE_INLINE void tfm__qdot_body(const tfm__qtype *T, tfm__qdecoder *dec, int packed, int NT, const tfm__qsrc *w, const tfm__qact *a,
                                       size_t nb, float *y, const tfm__qsrc *next, int nn)
{
    const int groups = T->block / T->group, n = T->group / 4;
    const size_t share = tfm__qprefetch_share(T, packed, nb);
    tfm__qsub sub[2][TFM__QSUBS];
    tfm__vf acc[2][TFM__QSUBS];
    size_t b;
    int c, i, t, k;
    TFM__Q_UNROLL
    for (k = 0; k < NT; k++)
        for (c = 0; c < TFM__QSUBS; c++) {
            tfm__qsub_init(&sub[k][c], T, &w[k], c, packed);
            acc[k][c] = tfm__vf_zero();
        }
    for (b = 0; b < nb; b++) {
        const int8_t *q = a->q + b * T->block;
        const int32_t *s16 = a->s16 + b * (T->block / 16);
        const tfm__vf da = tfm__vf_set1(a->d[b]);
        tfm__qprefetch_next(T, packed, next, nn, share, b);
        for (c = 0; c < TFM__QSUBS; c++) {
            tfm__vi isum[2], msum[2];
            TFM__Q_UNROLL
            for (k = 0; k < NT; k++) isum[k] = msum[k] = tfm__vi_zero();
            TFM__Q_UNROLL
            for (i = 0; i < groups; i++) {
                tfm__vi L[2][8], sc[2], mn[2], r0[2], r1[2], z;
                int g = 0;
                int32_t gsum;
                TFM__Q_UNROLL
                for (k = 0; k < NT; k++) {
                    sc[k] = mn[k] = tfm__vi_zero();
                    g = dec(&sub[k][c], packed, b, i, L[k], &sc[k], &mn[k]);
                }
                gsum = tfm__qgroup_sum(T, s16, g);
                z = tfm__vi_set1(-tfm__qzero(T) * gsum);
                TFM__Q_UNROLL
                for (k = 0; k < NT; k++) r0[k] = z, r1[k] = tfm__vi_zero();
                TFM__Q_UNROLL
                for (t = 0; t < n; t++) { /* two chains per tile in a group of 8 vectors (latency), one in 4 */
                    const tfm__vi bc = tfm__vi_bcast4(q + g * T->group + 4 * t);
                    TFM__Q_UNROLL
                    for (k = 0; k < NT; k++) {
                        if (n == 8 && t % 2) r1[k] = tfm__qdotv(T, r1[k], L[k][t], bc);
                        else r0[k] = tfm__qdotv(T, r0[k], L[k][t], bc);
                    }
                }
                TFM__Q_UNROLL
                for (k = 0; k < NT; k++) {
                    isum[k] = groups == 1 ? tfm__vi_add(r0[k], r1[k]) : tfm__qscaled(T, isum[k], r0[k], r1[k], n == 8, sc[k]);
                    if (T->min == TFM__QMIN_SUB) msum[k] = tfm__vi_add(msum[k], tfm__vi_mul16(mn[k], tfm__vi_set1(gsum)));
                }
            }
            TFM__Q_UNROLL
            for (k = 0; k < NT; k++) {
                const tfm__qsub *sk = &sub[k][c];
                acc[k][c] = tfm__vf_fma1(tfm__vi_float(isum[k]), tfm__vf_mul(tfm__qhalf_f32(sk, packed, b, 0, T->half_at[0]), da), acc[k][c]);
                if (T->min == TFM__QMIN_ADD) acc[k][c] = tfm__vf_fma1(tfm__qhalf_f32(sk, packed, b, 1, T->half_at[1]), tfm__vf_set1(a->s[b]), acc[k][c]);
                if (T->min == TFM__QMIN_SUB)
                    acc[k][c] = tfm__vf_fma1(tfm__vi_float(tfm__vi_sub(tfm__vi_zero(), msum[k])),
                                             tfm__vf_mul(tfm__qhalf_f32(sk, packed, b, 1, T->half_at[1]), da), acc[k][c]);
            }
        }
    }
    TFM__Q_UNROLL
    for (k = 0; k < NT; k++)
        for (c = 0; c < TFM__QSUBS; c++) tfm__vf_store(y + k * TFM__QROWS + c * TFM__VF_N, acc[k][c]);
}


/* y[(4 k + i) * 16 + r] = row r of tile w[k] (k < NT: 1 or 2, as tfm__qdot_body's) dotted with
   activation row i, for M (2 or 4) activation rows sharing each decoded block (NT, M constants where it
   is inlined): a decode step of M sequences reads and decodes each weight once for all of them, and
   two tiles share each activation broadcast. Rows i >= m repeat row m - 1 (their outputs are written,
   the caller ignores them). Each row's sums follow tfm__qdot_body's order exactly (the integer sums are
   exact, the float update is the same chain), so row i equals the gemv of that row bit for bit. */
TFM__Q_FORCE_INLINE void tfm__qdotm_body(const tfm__qtype *T, tfm__qdecoder *dec, int packed, int NT, const tfm__qsrc *w, const tfm__qact *a,
                                        int M, int m, size_t nb, float *y, const tfm__qsrc *next, int nn)
{
    const int groups = T->block / T->group, n = T->group / 4;
    const size_t share = tfm__qprefetch_share(T, packed, nb);
    tfm__qsub sub[2][TFM__QSUBS];
    tfm__vf acc[2][TFM__QSUBS][4];
    const int8_t *q[4];
    const int32_t *s16[4];
    const float *d[4], *s[4];
    size_t b;
    int c, i, k, t, j;
    for (k = 0; k < M; k++) {
        const size_t row = (size_t)(k < m ? k : m - 1);
        q[k] = a->q + row * a->cols;
        s16[k] = a->s16 + row * (a->cols / 16);
        d[k] = a->d + row * a->nb;
        s[k] = a->s ? a->s + row * a->nb : NULL;
    }
    TFM__Q_UNROLL
    for (j = 0; j < NT; j++)
        for (c = 0; c < TFM__QSUBS; c++) {
            tfm__qsub_init(&sub[j][c], T, &w[j], c, packed);
            for (k = 0; k < M; k++) acc[j][c][k] = tfm__vf_zero();
        }
    for (b = 0; b < nb; b++) {
        tfm__qprefetch_next(T, packed, next, nn, share, b);
        for (c = 0; c < TFM__QSUBS; c++) {
            tfm__vi isum[2][4], msum[2][4];
            TFM__Q_UNROLL
            for (j = 0; j < NT; j++)
                for (k = 0; k < M; k++) isum[j][k] = msum[j][k] = tfm__vi_zero();
            TFM__Q_UNROLL
            for (i = 0; i < groups; i++) {
                tfm__vi L[2][8], sc[2], mn[2];
                int g = 0;
                TFM__Q_UNROLL
                for (j = 0; j < NT; j++) {
                    sc[j] = mn[j] = tfm__vi_zero();
                    g = dec(&sub[j][c], packed, b, i, L[j], &sc[j], &mn[j]);
                }
                TFM__Q_UNROLL
                for (k = 0; k < M; k++) {
                    const int8_t *qk = q[k] + b * T->block + (size_t)g * T->group;
                    const int32_t gsum = tfm__qgroup_sum(T, s16[k] + b * (T->block / 16), g);
                    const tfm__vi z = tfm__vi_set1(-tfm__qzero(T) * gsum);
                    tfm__vi r0[2], r1[2];
                    TFM__Q_UNROLL
                    for (j = 0; j < NT; j++) r0[j] = z, r1[j] = tfm__vi_zero();
                    TFM__Q_UNROLL
                    for (t = 0; t < n; t++) { /* two chains of a group of 8 vectors for two rows of one tile (latency) */
                        const tfm__vi bc = tfm__vi_bcast4(qk + 4 * t);
                        TFM__Q_UNROLL
                        for (j = 0; j < NT; j++) {
                            if (NT == 1 && M == 2 && n == 8 && t % 2) r1[j] = tfm__qdotv(T, r1[j], L[j][t], bc);
                            else r0[j] = tfm__qdotv(T, r0[j], L[j][t], bc);
                        }
                    }
                    TFM__Q_UNROLL
                    for (j = 0; j < NT; j++) {
                        isum[j][k] = groups == 1 ? tfm__vi_add(r0[j], r1[j])
                                                 : tfm__qscaled(T, isum[j][k], r0[j], r1[j], NT == 1 && M == 2 && n == 8, sc[j]);
                        if (T->min == TFM__QMIN_SUB) msum[j][k] = tfm__vi_add(msum[j][k], tfm__vi_mul16(mn[j], tfm__vi_set1(gsum)));
                    }
                }
            }
            TFM__Q_UNROLL
            for (j = 0; j < NT; j++) {
                const tfm__vf dw = tfm__qhalf_f32(&sub[j][c], packed, b, 0, T->half_at[0]);
                const tfm__vf dm = T->min != TFM__QMIN_NONE ? tfm__qhalf_f32(&sub[j][c], packed, b, 1, T->half_at[1]) : tfm__vf_zero();
                TFM__Q_UNROLL
                for (k = 0; k < M; k++) {
                    const tfm__vf da = tfm__vf_set1(d[k][b]);
                    acc[j][c][k] = tfm__vf_fma1(tfm__vi_float(isum[j][k]), tfm__vf_mul(dw, da), acc[j][c][k]);
                    if (T->min == TFM__QMIN_ADD) acc[j][c][k] = tfm__vf_fma1(dm, tfm__vf_set1(s[k][b]), acc[j][c][k]);
                    if (T->min == TFM__QMIN_SUB)
                        acc[j][c][k] = tfm__vf_fma1(tfm__vi_float(tfm__vi_sub(tfm__vi_zero(), msum[j][k])), tfm__vf_mul(dm, da), acc[j][c][k]);
                }
            }
        }
    }
    TFM__Q_UNROLL
    for (j = 0; j < NT; j++)
        for (c = 0; c < TFM__QSUBS; c++)
            for (k = 0; k < M; k++) tfm__vf_store(y + (4 * j + k) * TFM__QROWS + c * TFM__VF_N, acc[j][c][k]);
}


TFM__Q_FORCE_INLINE void tfm__qdecode_body(const tfm__qtype *T, tfm__qdecoder *dec, int packed, const tfm__qsrc *w, size_t b0,
                                          size_t nbk, tfm__qtile *tl)
{
    const int groups = T->block / T->group, n = T->group / 4;
    tfm__qsub sub[TFM__QSUBS];
    size_t b;
    int c, i, t;
    for (c = 0; c < TFM__QSUBS; c++) tfm__qsub_init(&sub[c], T, w, c, packed);
    for (b = 0; b < nbk; b++)
        for (c = 0; c < TFM__QSUBS; c++) {
            TFM__Q_UNROLL
            for (i = 0; i < groups; i++) {
                tfm__vi L[8], sc = tfm__vi_zero(), mn = tfm__vi_zero();
                const size_t j = b * (size_t)groups + (size_t)dec(&sub[c], packed, b0 + b, i, L, &sc, &mn);
                TFM__Q_UNROLL /* else L lives on the stack, copied out in halves that wait for its stores */
                for (t = 0; t < n; t++) tfm__vi_store(&tl->lv[j * (size_t)n + (size_t)t][c * TFM__VI_BYTES], L[t]);
                if (groups > 1) tfm__vi_store(&tl->sc[j][c * TFM__VF_N], sc); /* what tfm__qmm_body reads */
                if (T->min == TFM__QMIN_SUB) tfm__vi_store(&tl->mn[j][c * TFM__VF_N], mn);
            }
            tfm__vf_store(&tl->d[b][c * TFM__VF_N], tfm__qhalf_f32(&sub[c], packed, b0 + b, 0, T->half_at[0]));
            if (T->min != TFM__QMIN_NONE) tfm__vf_store(&tl->dm[b][c * TFM__VF_N], tfm__qhalf_f32(&sub[c], packed, b0 + b, 1, T->half_at[1]));
        }
}

/* Y[i][16 k + r] (tile k < NT, r < nr in the last tile, 16 in the others) over blocks [b0, b0 + nbk) of
   NT (1 or 2, a constant where it is inlined) decoded chunks of consecutive row-tiles, for the m
   activation rows, continuing the sums in Y unless first. Four activation rows run together against
   every tile: each activation broadcast serves NT level vectors, and 4 NT independent dot chains (with
   one tile, two each for groups of 8 vectors) hide the latency; a tail of fewer rows repeats the last one. The
   integer sums are exact and the float update of each output is the one chain, in block order, so an
   output does not depend on the tiles it was computed with. */
TFM__Q_FORCE_INLINE void tfm__qmm_body(const tfm__qtype *T, int NT, float *y, size_t ldy, const tfm__qtile *tl, size_t nbk,
                                      const tfm__qact *a, size_t b0, int m, int nr, int first)
{
    /* two tiles give 8 chains, enough for the latency: a second chain each only adds a sum and spills */
    const int groups = T->block / T->group, n = T->group / 4, two = NT == 1 && n == 8;
    int c, i, i0, g, t, k;
    size_t b;
    for (c = 0; c < TFM__QSUBS && c * TFM__VF_N < nr; c++) {
        const size_t lanes = (size_t)(nr - c * TFM__VF_N < TFM__VF_N ? nr - c * TFM__VF_N : TFM__VF_N);
        for (i0 = 0; i0 < m; i0 += 4) {
            float *yc[4];
            const int8_t *q[4];
            const int32_t *s16[4];
            const float *d[4], *s[4];
            tfm__vf acc[2][4];
            TFM__Q_UNROLL
            for (i = 0; i < 4; i++) {
                size_t ci = (size_t)(i0 + i < m ? i0 + i : m - 1);
                yc[i] = y + ci * ldy + (size_t)c * TFM__VF_N;
                q[i] = a->q + ci * a->cols + b0 * T->block;
                s16[i] = a->s16 + ci * (a->cols / 16) + b0 * (T->block / 16);
                d[i] = a->d + ci * a->nb + b0;
                s[i] = a->s ? a->s + ci * a->nb + b0 : NULL;
                TFM__Q_UNROLL
                for (k = 0; k < NT; k++)
                    acc[k][i] = first ? tfm__vf_zero() : tfm__vf_load_n(yc[i] + k * TFM__QROWS, k == NT - 1 ? lanes : TFM__VF_N);
            }
            for (b = 0; b < nbk; b++) {
                tfm__vi isum[2][4], msum[2][4];
                tfm__vf dw[2];
                TFM__Q_UNROLL
                for (k = 0; k < NT; k++) {
                    dw[k] = tfm__vf_load(&tl[k].d[b][c * TFM__VF_N]);
                    TFM__Q_UNROLL
                    for (i = 0; i < 4; i++) isum[k][i] = msum[k][i] = tfm__vi_zero();
                }
                for (g = 0; g < groups; g++) {
                    const size_t j = b * (size_t)groups + (size_t)g;
                    tfm__vi r0[2][4], r1[2][4];
                    int32_t gsum[4];
                    TFM__Q_UNROLL
                    for (i = 0; i < 4; i++) {
                        const tfm__vi z = tfm__vi_set1(-tfm__qzero(T) * (gsum[i] = tfm__qgroup_sum(T, s16[i] + b * (T->block / 16), g)));
                        TFM__Q_UNROLL
                        for (k = 0; k < NT; k++) r0[k][i] = z, r1[k][i] = tfm__vi_zero();
                    }
                    TFM__Q_UNROLL
                    for (t = 0; t < n; t++) {
                        const size_t e = b * T->block + (size_t)g * T->group + 4 * (size_t)t;
                        tfm__vi L[2];
                        TFM__Q_UNROLL
                        for (k = 0; k < NT; k++) L[k] = tfm__vi_load(&tl[k].lv[j * (size_t)n + (size_t)t][c * TFM__VI_BYTES]);
                        TFM__Q_UNROLL
                        for (i = 0; i < 4; i++)
                            TFM__Q_UNROLL
                            for (k = 0; k < NT; k++) {
                                if (two && t % 2) r1[k][i] = tfm__qdot4(T, r1[k][i], L[k], q[i] + e);
                                else r0[k][i] = tfm__qdot4(T, r0[k][i], L[k], q[i] + e);
                            }
                    }
                    TFM__Q_UNROLL
                    for (k = 0; k < NT; k++) {
                        const tfm__vi sc = groups > 1 ? tfm__vi_load(&tl[k].sc[j][c * TFM__VF_N]) : tfm__vi_zero();
                        TFM__Q_UNROLL
                        for (i = 0; i < 4; i++) {
                            isum[k][i] = groups == 1 ? (two ? tfm__vi_add(r0[k][i], r1[k][i]) : r0[k][i])
                                                     : tfm__qscaled(T, isum[k][i], r0[k][i], r1[k][i], two, sc);
                            if (T->min == TFM__QMIN_SUB)
                                msum[k][i] = tfm__vi_add(msum[k][i], tfm__vi_mul16(tfm__vi_load(&tl[k].mn[j][c * TFM__VF_N]), tfm__vi_set1(gsum[i])));
                        }
                    }
                }
                TFM__Q_UNROLL
                for (i = 0; i < 4; i++) {
                    const tfm__vf da = tfm__vf_set1(d[i][b]);
                    TFM__Q_UNROLL
                    for (k = 0; k < NT; k++) {
                        acc[k][i] = tfm__vf_fma1(tfm__vi_float(isum[k][i]), tfm__vf_mul(dw[k], da), acc[k][i]);
                        if (T->min == TFM__QMIN_ADD) acc[k][i] = tfm__vf_fma1(tfm__vf_load(&tl[k].dm[b][c * TFM__VF_N]), tfm__vf_set1(s[i][b]), acc[k][i]);
                        if (T->min == TFM__QMIN_SUB)
                            acc[k][i] = tfm__vf_fma1(tfm__vi_float(tfm__vi_sub(tfm__vi_zero(), msum[k][i])),
                                                     tfm__vf_mul(tfm__vf_load(&tl[k].dm[b][c * TFM__VF_N]), da), acc[k][i]);
                    }
                }
            }
            for (i = 3; i >= 0; i--)
                TFM__Q_UNROLL
                for (k = 0; k < NT; k++) tfm__vf_store_n(yc[i] + k * TFM__QROWS, acc[k][i], k == NT - 1 ? lanes : TFM__VF_N);
        }
    }
}

/* The kernels of every weight type, and their table (the order of TFM__QKERNEL_TYPES) */
TFM__QKERNEL_TYPES(TFM__QKERNELS_DEFINE)
static const tfm__qkern TFM__PN(tfm__qkern_table)[] = {TFM__QKERNEL_TYPES(TFM__QKERNELS_ENTRY)};
#endif /* TFM__SIMD_PASS */

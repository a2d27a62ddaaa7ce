/* bench_ceiling_kernels.h - the inner loops of `tfm-bench ceilings`, written once on the library's vector
   layer. No include guard: bench.c includes this file once for the build's own layer and, in a portable
   build, once more per instruction set the kernels dispatch to (between inclusions of tfm_simd_pass.h,
   as the library's kernel files are), so that the peak and the read bandwidth are those of the path the
   kernels run, not of the scalar layer a portable build compiles as its own. */

#define BENCH_FMA_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define BENCH_FMA_DECL(i) tfm__vf a##i = tfm__vf_set1(1.0f + 0.01f * (float)(i));
#define BENCH_FMA_STEP(i) a##i = tfm__vf_fma(a##i, b, c);
#define BENCH_FMA_SUM(i) s = tfm__vf_add(s, a##i);

/* 12 independent FMA chains: enough to fill two pipes of latency 4 to 6. a*b+c stays near 1. Returns the
   FLOPs done; *sink keeps the result alive. */
static double TFM__PN(bench_fma_loop)(long iters, float *sink)
{
    tfm__vf b = tfm__vf_set1(0.999999f), c = tfm__vf_set1(1e-6f), s = tfm__vf_zero();
    long it;
    BENCH_FMA_CHAINS(BENCH_FMA_DECL)
    for (it = 0; it < iters; it++) {
        BENCH_FMA_CHAINS(BENCH_FMA_STEP)
    }
    BENCH_FMA_CHAINS(BENCH_FMA_SUM)
    *sink = tfm__vf_sum(s);
    return 2.0 * 12 * TFM__VF_N * (double)iters;
}

#undef BENCH_FMA_CHAINS
#undef BENCH_FMA_DECL
#undef BENCH_FMA_STEP
#undef BENCH_FMA_SUM

/* Eight accumulators of loads: the core's read ceiling, not an add-latency bound. */
static float TFM__PN(bench_read_sum)(const float *p, size_t n)
{
    tfm__vf s0 = tfm__vf_zero(), s1 = tfm__vf_zero(), s2 = tfm__vf_zero(), s3 = tfm__vf_zero();
    tfm__vf s4 = tfm__vf_zero(), s5 = tfm__vf_zero(), s6 = tfm__vf_zero(), s7 = tfm__vf_zero();
    size_t i;
    for (i = 0; i + 8 * TFM__VF_N <= n; i += 8 * TFM__VF_N) {
        s0 = tfm__vf_add(s0, tfm__vf_load(p + i));
        s1 = tfm__vf_add(s1, tfm__vf_load(p + i + TFM__VF_N));
        s2 = tfm__vf_add(s2, tfm__vf_load(p + i + 2 * TFM__VF_N));
        s3 = tfm__vf_add(s3, tfm__vf_load(p + i + 3 * TFM__VF_N));
        s4 = tfm__vf_add(s4, tfm__vf_load(p + i + 4 * TFM__VF_N));
        s5 = tfm__vf_add(s5, tfm__vf_load(p + i + 5 * TFM__VF_N));
        s6 = tfm__vf_add(s6, tfm__vf_load(p + i + 6 * TFM__VF_N));
        s7 = tfm__vf_add(s7, tfm__vf_load(p + i + 7 * TFM__VF_N));
    }
    s0 = tfm__vf_add(tfm__vf_add(tfm__vf_add(s0, s1), tfm__vf_add(s2, s3)),
                     tfm__vf_add(tfm__vf_add(s4, s5), tfm__vf_add(s6, s7)));
    return tfm__vf_sum(s0);
}

/* 12 chains of AVX-512 VNNI dot products (vpdpbusd: 64 byte products and sums each); returns the int8
   operations done, 0 where the set has no such instruction (the peak is then not measured). */
static double TFM__PN(bench_int8_loop)(long iters, int *sink)
{
#if defined(TFM__SIMD_AVX512) && defined(TFM__HAS_AVX512VNNI)
    __m512i a0 = _mm512_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m512i a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m512i u = _mm512_set1_epi8(1), w = _mm512_set1_epi8(1);
    long it;
    for (it = 0; it < iters; it++) {
        a0 = _mm512_dpbusd_epi32(a0, u, w), a1 = _mm512_dpbusd_epi32(a1, u, w), a2 = _mm512_dpbusd_epi32(a2, u, w);
        a3 = _mm512_dpbusd_epi32(a3, u, w), a4 = _mm512_dpbusd_epi32(a4, u, w), a5 = _mm512_dpbusd_epi32(a5, u, w);
        a6 = _mm512_dpbusd_epi32(a6, u, w), a7 = _mm512_dpbusd_epi32(a7, u, w), a8 = _mm512_dpbusd_epi32(a8, u, w);
        a9 = _mm512_dpbusd_epi32(a9, u, w), a10 = _mm512_dpbusd_epi32(a10, u, w), a11 = _mm512_dpbusd_epi32(a11, u, w);
    }
    *sink = _mm512_reduce_add_epi32(
        _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                         _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)),
                                          _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11)))));
    return 2.0 * 64.0 * 12.0 * (double)iters;
#else
    (void)iters;
    *sink = 0;
    return 0;
#endif
}

static const bench_ceiling_kernels TFM__PN(bench_ceiling_table) = {TFM__PN(bench_fma_loop), TFM__PN(bench_read_sum),
                                                                   TFM__PN(bench_int8_loop)};

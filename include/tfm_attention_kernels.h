/* tfm_attention_kernels.h - tfm_attention.h's kernels of a tile of queries against a range of keys
   (Q K^T, the online softmax, P V; the flash tile of a prefill, the decode step; f32 and int8 rows), one
   instruction set per inclusion, and their table. Internal: not a header to include yourself (alone it
   declares nothing). tfm_attention.h includes it once for the instruction set the build targets and, in
   a portable x86-64 build, once more per instruction set it dispatches to (tfm_simd_pass.h; RUN-TIME
   DISPATCH in tfm_tensor.h): hence no include guard, and the macros that depend on the set are defined
   afresh. The layouts (tfm__attn_dims, tfm__attn_layout) pad to TFM__ATTN_LANES, which covers every
   path's vectors. */
#if !defined(TFM__SIMD_PASS)
typedef int tfm__attention_kernels_h_alone; /* an ISO C translation unit must declare something */
#else
#undef TFM__ATTN_JR
#undef TFM__ATTN_PV_NV
#undef TFM__ATTN_QW
#undef TFM__ATTN_PV_W
#undef TFM__ATTN_DQK_ROWS
#undef TFM__PV_ROW_LOAD
#undef TFM__PV_ROW_STORE
#undef TFM__PV_ROW_FMA
#undef TFM__PV_LOAD_V
/* Q K^T micro-tile: JR key rows x QW query columns. AVX2 has 16 registers, the others 32. */
#if defined(TFM__SIMD_AVX2)
#define TFM__ATTN_JR 4
#define TFM__ATTN_PV_NV 2
#else
#define TFM__ATTN_JR 8
#define TFM__ATTN_PV_NV 4
#endif
#define TFM__ATTN_QW (2 * TFM__VF_N)
#define TFM__ATTN_PV_W (TFM__ATTN_PV_NV * TFM__VF_N)

#define TFM__QK_DECL(i) tfm__vf s##i##0 = tfm__vf_zero(), s##i##1 = tfm__vf_zero()
#define TFM__QK_FMA(i)                                   \
    do {                                                 \
        tfm__vf b_ = tfm__vf_set1(kc[(i) * ld]);         \
        s##i##0 = tfm__vf_fma(b_, a0, s##i##0);          \
        s##i##1 = tfm__vf_fma(b_, a1, s##i##1);          \
    } while (0)
#define TFM__QK_STORE(i)                                                 \
    do {                                                                 \
        tfm__vf_store(s + (size_t)(i) * lds, s##i##0);                   \
        tfm__vf_store(s + (size_t)(i) * lds + TFM__VF_N, s##i##1);       \
    } while (0)

/* s[i][0..QW) = sum_c k[i * ld + c] * qt[c][0..QW) for JR key rows: one pointer walks all the rows
   (fixed offsets), so the loop carries a single increment. */
static void tfm__attn_qk_micro(float *s, size_t lds, const float *qt, size_t ldq, const float *k, size_t ld, int d)
{
    int c;
    TFM__QK_DECL(0);
    TFM__QK_DECL(1);
    TFM__QK_DECL(2);
    TFM__QK_DECL(3);
#if TFM__ATTN_JR == 8
    TFM__QK_DECL(4);
    TFM__QK_DECL(5);
    TFM__QK_DECL(6);
    TFM__QK_DECL(7);
#endif
    for (c = 0; c < d; c++) {
        const float *kc = k + c;
        tfm__vf a0 = tfm__vf_load(qt + (size_t)c * ldq), a1 = tfm__vf_load(qt + (size_t)c * ldq + TFM__VF_N);
        TFM__QK_FMA(0);
        TFM__QK_FMA(1);
        TFM__QK_FMA(2);
        TFM__QK_FMA(3);
#if TFM__ATTN_JR == 8
        TFM__QK_FMA(4);
        TFM__QK_FMA(5);
        TFM__QK_FMA(6);
        TFM__QK_FMA(7);
#endif
    }
    TFM__QK_STORE(0);
    TFM__QK_STORE(1);
    TFM__QK_STORE(2);
    TFM__QK_STORE(3);
#if TFM__ATTN_JR == 8
    TFM__QK_STORE(4);
    TFM__QK_STORE(5);
    TFM__QK_STORE(6);
    TFM__QK_STORE(7);
#endif
}

/* one key row (the last rows of a chunk that do not fill a micro-tile) */
static void tfm__attn_qk_row(float *s, const float *qt, size_t ldq, const float *k, int d)
{
    tfm__vf s0 = tfm__vf_zero(), s1 = tfm__vf_zero();
    int c;
    for (c = 0; c < d; c++) {
        tfm__vf b = tfm__vf_set1(k[c]);
        s0 = tfm__vf_fma(b, tfm__vf_load(qt + (size_t)c * ldq), s0);
        s1 = tfm__vf_fma(b, tfm__vf_load(qt + (size_t)c * ldq + TFM__VF_N), s1);
    }
    tfm__vf_store(s, s0);
    tfm__vf_store(s + TFM__VF_N, s1);
}

/* S^T[r][m] for bk keys from k (rows ld floats apart) against the packed Q^T of the tile */
static void tfm__attn_qk_tile(const tfm__attn_tile *t, const float *k, size_t ld, int bk)
{
    size_t mpad = (size_t)t->mpad;
    int r0 = 0, c0;
    for (; r0 + TFM__ATTN_JR <= bk; r0 += TFM__ATTN_JR)
        for (c0 = 0; c0 < t->mpad; c0 += TFM__ATTN_QW)
            tfm__attn_qk_micro(t->s + (size_t)r0 * mpad + (size_t)c0, mpad, t->qt + c0, mpad, k + (size_t)r0 * ld, ld, t->D);
    for (; r0 < bk; r0++)
        for (c0 = 0; c0 < t->mpad; c0 += TFM__ATTN_QW)
            tfm__attn_qk_row(t->s + (size_t)r0 * mpad + (size_t)c0, t->qt + c0, mpad, k + (size_t)r0 * ld, t->D);
}


/* elements c .. c + TFM__VF_N - 1 of a row */
TFM__ATTN_SPECIALISE tfm__vf tfm__attn_ld(const void *row, size_t c, int i8)
{
    return i8 ? tfm__vf_load_i8((const int8_t *)row + c) : tfm__vf_load((const float *)row + c);
}

/* elements c .. c + n - 1 (n < TFM__VF_N), the other lanes 0 */
TFM__ATTN_SPECIALISE tfm__vf tfm__attn_ld_n(const void *row, size_t c, size_t n, int i8)
{
    return i8 ? tfm__vf_load_i8_n((const int8_t *)row + c, n) : tfm__vf_load_n((const float *)row + c, n);
}


/* ---------------------------------------------------------------- P V */

/* o[i][c0..) += sum_r p(r, i) v[r][c0..) with p(r, i) = p[r * ldp + i * ldi] (the flash tile keeps its
   weights key-major, a decode step row-major) and v rows ldv elements apart. */
#define TFM__PV_LOAD_O(i, x) tfm__vf o##i##x = tfm__vf_load(o + (size_t)(i) * ldo + (x) * TFM__VF_N)
#define TFM__PV_STORE_O(i, x) tfm__vf_store(o + (size_t)(i) * ldo + (x) * TFM__VF_N, o##i##x)

#if TFM__ATTN_PV_NV == 4
#define TFM__PV_ROW_LOAD(i) TFM__PV_LOAD_O(i, 0); TFM__PV_LOAD_O(i, 1); TFM__PV_LOAD_O(i, 2); TFM__PV_LOAD_O(i, 3)
#define TFM__PV_ROW_STORE(i) TFM__PV_STORE_O(i, 0); TFM__PV_STORE_O(i, 1); TFM__PV_STORE_O(i, 2); TFM__PV_STORE_O(i, 3)
#define TFM__PV_ROW_FMA(i)                                  \
    do {                                                    \
        tfm__vf p_ = tfm__vf_set1(pr[(size_t)(i) * ldi]);   \
        o##i##0 = tfm__vf_fma(p_, v0, o##i##0);             \
        o##i##1 = tfm__vf_fma(p_, v1, o##i##1);             \
        o##i##2 = tfm__vf_fma(p_, v2, o##i##2);             \
        o##i##3 = tfm__vf_fma(p_, v3, o##i##3);             \
    } while (0)
#define TFM__PV_LOAD_V                                                                                   \
    tfm__vf v0 = tfm__attn_ld(vr, 0, i8), v1 = tfm__attn_ld(vr, TFM__VF_N, i8),                          \
            v2 = tfm__attn_ld(vr, 2 * TFM__VF_N, i8), v3 = tfm__attn_ld(vr, 3 * TFM__VF_N, i8)
#else
#define TFM__PV_ROW_LOAD(i) TFM__PV_LOAD_O(i, 0); TFM__PV_LOAD_O(i, 1)
#define TFM__PV_ROW_STORE(i) TFM__PV_STORE_O(i, 0); TFM__PV_STORE_O(i, 1)
#define TFM__PV_ROW_FMA(i)                                  \
    do {                                                    \
        tfm__vf p_ = tfm__vf_set1(pr[(size_t)(i) * ldi]);   \
        o##i##0 = tfm__vf_fma(p_, v0, o##i##0);             \
        o##i##1 = tfm__vf_fma(p_, v1, o##i##1);             \
    } while (0)
#define TFM__PV_LOAD_V tfm__vf v0 = tfm__attn_ld(vr, 0, i8), v1 = tfm__attn_ld(vr, TFM__VF_N, i8)
#endif

/* A decode step's P V (pf nonzero: the row group that reads them first) fetches the value rows ahead
   of it, the `width` columns it is summing, as its Q K^T did the key rows: they stream from memory once. */
#define TFM__PV_PREFETCH(r, width) TFM__ATTN_PREFETCH_ROW(v, (r) + TFM__ATTN_PREFETCH_ROWS, ldv, width, i8)

/* four rows x TFM__ATTN_PV_W columns; pf: prefetch value rows ahead */
TFM__ATTN_SPECIALISE void tfm__attn_pv_4w(float *o, size_t ldo, const float *p, size_t ldp, size_t ldi, const void *v,
                                          size_t ldv, int bk, int pf, int i8)
{
    int r;
    TFM__PV_ROW_LOAD(0);
    TFM__PV_ROW_LOAD(1);
    TFM__PV_ROW_LOAD(2);
    TFM__PV_ROW_LOAD(3);
    for (r = 0; r < bk; r++) {
        const float *pr = p + (size_t)r * ldp;
        const void *vr = tfm__attn_at(v, (size_t)r * ldv, i8);
        if (pf) TFM__PV_PREFETCH(r, (size_t)TFM__ATTN_PV_W);
        TFM__PV_LOAD_V;
        TFM__PV_ROW_FMA(0);
        TFM__PV_ROW_FMA(1);
        TFM__PV_ROW_FMA(2);
        TFM__PV_ROW_FMA(3);
    }
    TFM__PV_ROW_STORE(0);
    TFM__PV_ROW_STORE(1);
    TFM__PV_ROW_STORE(2);
    TFM__PV_ROW_STORE(3);
}

/* one row x TFM__ATTN_PV_W columns */
TFM__ATTN_SPECIALISE void tfm__attn_pv_1w(float *o, size_t ldo, const float *p, size_t ldp, size_t ldi, const void *v,
                                          size_t ldv, int bk, int pf, int i8)
{
    int r;
    TFM__PV_ROW_LOAD(0);
    for (r = 0; r < bk; r++) {
        const float *pr = p + (size_t)r * ldp;
        const void *vr = tfm__attn_at(v, (size_t)r * ldv, i8);
        if (pf) TFM__PV_PREFETCH(r, (size_t)TFM__ATTN_PV_W);
        TFM__PV_LOAD_V;
        TFM__PV_ROW_FMA(0);
    }
    (void)ldi;
    TFM__PV_ROW_STORE(0);
}

/* the first `lanes` columns of row r of v (all TFM__VF_N of them, or fewer: v is read only there) */
TFM__ATTN_SPECIALISE tfm__vf tfm__attn_pv_row(const void *v, size_t ldv, int r, size_t lanes, int i8)
{
    const void *vr = tfm__attn_at(v, (size_t)r * ldv, i8);
    return lanes == TFM__VF_N ? tfm__attn_ld(vr, 0, i8) : tfm__attn_ld_n(vr, 0, lanes, i8);
}

/* `rows` (1..4) rows x one vector of which `lanes` are real columns. Four rows share each load of v;
   fewer take one row at a time with four accumulators over interleaved keys, so that they do not wait
   on one chain of dependent FMAs. */
TFM__ATTN_SPECIALISE void tfm__attn_pv_narrow(float *o, size_t ldo, int rows, const float *p, size_t ldp, size_t ldi,
                                              const void *v, size_t ldv, int bk, size_t lanes, int pf, int i8)
{
    int r, i;
    if (rows == 4) {
        tfm__vf a0 = tfm__vf_load(o), a1 = tfm__vf_load(o + ldo), a2 = tfm__vf_load(o + 2 * ldo), a3 = tfm__vf_load(o + 3 * ldo);
        for (r = 0; r < bk; r++) {
            const float *pr = p + (size_t)r * ldp;
            if (pf) TFM__PV_PREFETCH(r, lanes);
            tfm__vf vv = tfm__attn_pv_row(v, ldv, r, lanes, i8);
            a0 = tfm__vf_fma(tfm__vf_set1(pr[0]), vv, a0);
            a1 = tfm__vf_fma(tfm__vf_set1(pr[ldi]), vv, a1);
            a2 = tfm__vf_fma(tfm__vf_set1(pr[2 * ldi]), vv, a2);
            a3 = tfm__vf_fma(tfm__vf_set1(pr[3 * ldi]), vv, a3);
        }
        tfm__vf_store(o, a0);
        tfm__vf_store(o + ldo, a1);
        tfm__vf_store(o + 2 * ldo, a2);
        tfm__vf_store(o + 3 * ldo, a3);
        return;
    }
    for (i = 0; i < rows; i++) {
        const float *pi = p + (size_t)i * ldi;
        tfm__vf a0 = tfm__vf_load(o + (size_t)i * ldo), a1 = tfm__vf_zero(), a2 = tfm__vf_zero(), a3 = tfm__vf_zero();
        for (r = 0; r + 4 <= bk; r += 4) {
            if (pf && i == 0) {
                TFM__PV_PREFETCH(r, lanes);
                TFM__PV_PREFETCH(r + 1, lanes);
                TFM__PV_PREFETCH(r + 2, lanes);
                TFM__PV_PREFETCH(r + 3, lanes);
            }
            a0 = tfm__vf_fma(tfm__vf_set1(pi[(size_t)r * ldp]), tfm__attn_pv_row(v, ldv, r, lanes, i8), a0);
            a1 = tfm__vf_fma(tfm__vf_set1(pi[(size_t)(r + 1) * ldp]), tfm__attn_pv_row(v, ldv, r + 1, lanes, i8), a1);
            a2 = tfm__vf_fma(tfm__vf_set1(pi[(size_t)(r + 2) * ldp]), tfm__attn_pv_row(v, ldv, r + 2, lanes, i8), a2);
            a3 = tfm__vf_fma(tfm__vf_set1(pi[(size_t)(r + 3) * ldp]), tfm__attn_pv_row(v, ldv, r + 3, lanes, i8), a3);
        }
        for (; r < bk; r++) a0 = tfm__vf_fma(tfm__vf_set1(pi[(size_t)r * ldp]), tfm__attn_pv_row(v, ldv, r, lanes, i8), a0);
        tfm__vf_store(o + (size_t)i * ldo, tfm__vf_add(tfm__vf_add(a0, a1), tfm__vf_add(a2, a3)));
    }
}

/* O[M][ldo] += P^T V for bk keys of D columns; pf: prefetch value rows ahead (a decode step) */
TFM__ATTN_SPECIALISE void tfm__attn_pv(float *o, size_t ldo, int M, int D, const float *p, size_t ldp, size_t ldi,
                                       const void *v, size_t ldv, int bk, int pf, int i8)
{
    int c0 = 0, m;
    for (; c0 + TFM__ATTN_PV_W <= D; c0 += TFM__ATTN_PV_W) {
        const void *vc = tfm__attn_at(v, (size_t)c0, i8);
        for (m = 0; m + 4 <= M; m += 4)
            tfm__attn_pv_4w(o + (size_t)m * ldo + (size_t)c0, ldo, p + (size_t)m * ldi, ldp, ldi, vc, ldv, bk,
                            pf && m == 0, i8);
        for (; m < M; m++)
            tfm__attn_pv_1w(o + (size_t)m * ldo + (size_t)c0, ldo, p + (size_t)m * ldi, ldp, ldi, vc, ldv, bk,
                            pf && m == 0, i8);
    }
    for (; c0 < D; c0 += TFM__VF_N) {
        size_t lanes = (size_t)(D - c0) < (size_t)TFM__VF_N ? (size_t)(D - c0) : (size_t)TFM__VF_N;
        const void *vc = tfm__attn_at(v, (size_t)c0, i8);
        for (m = 0; m < M; m += 4) {
            int rows = M - m < 4 ? M - m : 4;
            tfm__attn_pv_narrow(o + (size_t)m * ldo + (size_t)c0, ldo, rows, p + (size_t)m * ldi, ldp, ldi, vc, ldv, bk,
                                lanes, pf && m == 0, i8);
        }
    }
}

/* ---------------------------------------------------------------- flash tile: online softmax */

/* e^x for the weights of a softmax (x <= 0), exactly 0 from x = -87 down (e^-87 is near FLT_MIN): the
   exponential is only taken of arguments with a normal result, because an underflow to 0 (e^-Inf of
   every masked score) costs a microcode assist per vector on x86. A NaN score stays NaN (x is the
   operand x86's max returns for a NaN; the product with keep 0 is NaN), so it cannot vanish. */
TFM__INLINE tfm__vf tfm__attn_exp(tfm__vf x)
{
    tfm__vf keep = tfm__vf_mul(tfm__vf_add(x, tfm__vf_set1(87.0f)), tfm__vf_set1(1e30f));
    keep = tfm__vf_min(tfm__vf_max(keep, tfm__vf_zero()), tfm__vf_set1(1.0f));
    return tfm__vf_mul(tfm__vf_exp(tfm__vf_max(tfm__vf_set1(-87.0f), x)), keep);
}

/* Online softmax over one chunk of bk scores per row: new running max, P = e^(S - max) in place,
   running sums and the output rescaled by e^(old max - new max). */
static void tfm__attn_softmax_step(const tfm__attn_tile *t, int bk)
{
    size_t ld = (size_t)t->mpad;
    int mv, r, m;
    for (mv = 0; mv < t->mpad; mv += TFM__VF_N) {
        tfm__vf mx = tfm__vf_load(t->s + mv), old, nw, c, sum = tfm__vf_zero();
        for (r = 1; r < bk; r++) mx = tfm__vf_max(mx, tfm__vf_load(t->s + (size_t)r * ld + (size_t)mv));
        old = tfm__vf_load(t->rmax + mv);
        nw = tfm__vf_max(old, mx);
        tfm__vf_store(t->rmax + mv, nw);
        c = tfm__attn_exp(tfm__vf_sub(old, nw));
        tfm__vf_store(t->corr + mv, c);
        for (r = 0; r < bk; r++) {
            float *sp = t->s + (size_t)r * ld + (size_t)mv;
            tfm__vf e = tfm__attn_exp(tfm__vf_sub(tfm__vf_load(sp), nw));
            tfm__vf_store(sp, e);
            sum = tfm__vf_add(sum, e);
        }
        tfm__vf_store(t->rsum + mv, tfm__vf_fma(tfm__vf_load(t->rsum + mv), c, sum));
    }
    for (m = 0; m < t->M; m++)
        if (t->corr[m] != 1.0f) tfm__k_scale(t->o + (size_t)m * (size_t)t->Dpad, t->corr[m], (size_t)t->Dpad);
}

/* One chunk of bk keys at positions j0.. (k, v: f32 rows of this kv head, ld floats apart). */
static void tfm__attn_chunk(const tfm__attn_tile *t, const tfm_attn_config *cfg, const float *k, const float *v, size_t ld,
                            int j0, int bk)
{
    int r, m;
    tfm__attn_qk_tile(t, k, ld, bk);
    if (t->softcap > 0.0f) tfm__k_softcap(t->s, (size_t)bk * (size_t)t->mpad, t->softcap);
    for (r = 0; r < bk; r++) {
        int lo, hi;
        float *srow = t->s + (size_t)r * (size_t)t->mpad;
        tfm__attn_row_span(cfg, t->p0, t->T, j0 + r, &lo, &hi);
        if (lo == 0 && hi == t->T) continue;
        for (m = 0; m < lo * t->G; m++) srow[m] = -INFINITY;
        for (m = hi > lo ? hi * t->G : 0; m < t->M; m++) srow[m] = -INFINITY;
    }
    tfm__attn_softmax_step(t, bk);
    tfm__attn_pv(t->o, (size_t)t->Dpad, t->M, t->D, t->s, (size_t)t->mpad, 1, v, ld, bk, 0, 0);
}

/* bk int8 rows of one kv head (ld elements apart, their scales ld_scale apart) as f32 rows ldd apart:
   a tile reads each row many times, so it reads them once dequantized. */
static void tfm__attn_dequant(float *dst, size_t ldd, const int8_t *src, const float *scales, size_t ld, size_t ld_scale,
                              int bk, int D)
{
    int r, c;
    for (r = 0; r < bk; r++) {
        const int8_t *row = src + (size_t)r * ld;
        float *out = dst + (size_t)r * ldd;
        tfm__vf sc = tfm__vf_set1(scales[(size_t)r * ld_scale]);
        for (c = 0; c + TFM__VF_N <= D; c += TFM__VF_N) tfm__vf_store(out + c, tfm__vf_mul(tfm__vf_load_i8(row + c), sc));
        if (c < D) tfm__vf_store_n(out + c, tfm__vf_mul(tfm__vf_load_i8_n(row + c, (size_t)(D - c)), sc), (size_t)(D - c));
    }
}

/* ---------------------------------------------------------------- decode: one query token */

/* Dot products of a decode step: s[i * lds + j] = q_i . k_j for query rows q0.. (ROWS of them, D apart)
   and the four key rows k0..k3: each key vector is loaded once for every row, and the four sums of a
   row come out of one shuffle tree (tfm__vf_sum4). */
#define TFM__DQK_DECL(i) tfm__vf a##i##0 = tfm__vf_zero(), a##i##1 = tfm__vf_zero(), a##i##2 = tfm__vf_zero(), a##i##3 = tfm__vf_zero()
#define TFM__DQK_FMA(i, LOADQ)                 \
    do {                                       \
        tfm__vf q_ = LOADQ;                    \
        a##i##0 = tfm__vf_fma(q_, k0v, a##i##0); \
        a##i##1 = tfm__vf_fma(q_, k1v, a##i##1); \
        a##i##2 = tfm__vf_fma(q_, k2v, a##i##2); \
        a##i##3 = tfm__vf_fma(q_, k3v, a##i##3); \
    } while (0)
#define TFM__DQK_SUM(i) tfm__vf_sum4(s + (size_t)(i) * lds, a##i##0, a##i##1, a##i##2, a##i##3)
#define TFM__DQK_KEYS(LOAD)                                        \
    tfm__vf k0v = LOAD(k0), k1v = LOAD(k1), k2v = LOAD(k2), k3v = LOAD(k3)

#define TFM__DQK_LD(row) tfm__attn_ld(row, (size_t)c, i8)
#define TFM__DQK_LD_N(row) tfm__attn_ld_n(row, (size_t)c, n, i8)

/* rows (1..4, a constant where it is called) query rows */
TFM__ATTN_SPECIALISE void tfm__attn_dqk(float *s, size_t lds, const float *q, int rows, int D, const void *k0,
                                        const void *k1, const void *k2, const void *k3, int i8)
{
    const float *q1 = rows > 1 ? q + D : q, *q2 = rows > 2 ? q1 + D : q, *q3 = rows > 3 ? q2 + D : q;
    int c;
    TFM__DQK_DECL(0);
    TFM__DQK_DECL(1);
    TFM__DQK_DECL(2);
    TFM__DQK_DECL(3);
    for (c = 0; c + TFM__VF_N <= D; c += TFM__VF_N) {
        TFM__DQK_KEYS(TFM__DQK_LD);
        TFM__DQK_FMA(0, tfm__vf_load(q + c));
        if (rows > 1) TFM__DQK_FMA(1, tfm__vf_load(q1 + c));
        if (rows > 2) TFM__DQK_FMA(2, tfm__vf_load(q2 + c));
        if (rows > 3) TFM__DQK_FMA(3, tfm__vf_load(q3 + c));
    }
    if (c < D) {
        size_t n = (size_t)(D - c);
        TFM__DQK_KEYS(TFM__DQK_LD_N);
        TFM__DQK_FMA(0, tfm__vf_load_n(q + c, n));
        if (rows > 1) TFM__DQK_FMA(1, tfm__vf_load_n(q1 + c, n));
        if (rows > 2) TFM__DQK_FMA(2, tfm__vf_load_n(q2 + c, n));
        if (rows > 3) TFM__DQK_FMA(3, tfm__vf_load_n(q3 + c, n));
    }
    TFM__DQK_SUM(0);
    if (rows > 1) TFM__DQK_SUM(1);
    if (rows > 2) TFM__DQK_SUM(2);
    if (rows > 3) TFM__DQK_SUM(3);
}

/* the `width` elements this call reads of the key row r rows ahead */
#define TFM__DQK_PREFETCH_ROW(r) TFM__ATTN_PREFETCH_ROW(k, (r) + TFM__ATTN_PREFETCH_ROWS, ld, width, i8)

/* the query rows a block of four keys takes at once: 4 x 4 accumulators, or 2 x 4 with 16 registers */
#if defined(TFM__SIMD_AVX2)
#define TFM__ATTN_DQK_ROWS 2
#else
#define TFM__ATTN_DQK_ROWS 4
#endif

/* Scores of a decode step, row-major: s[m * lds + r] = q_m . k_r (times the key row's scale for
   int8; q is scaled already) for the query rows of `heads` consecutive kv heads (G rows each; q: heads
   * G rows of D) and bk key rows ld elements apart, kv head h at element h * D of a row (its scale at
   ks[r * ld_scale + h]). Blocks of four key rows with every head of those rows at once: the rows
   stream from memory once and in order, and rows ahead are prefetched (the P V that follows fetches
   its value rows likewise): this path is bound by memory. */
TFM__ATTN_SPECIALISE void tfm__attn_decode_qk(float *s, size_t lds, const float *q, int heads, int G, int D, const void *k,
                                              const float *ks, size_t ld, size_t ld_scale, int bk, int i8)
{
    int r, h, m, j, width = heads * D; /* elements of a row this call reads */
    /* several row groups a head: the rows ahead are prefetched a share before each group, not at once */
    int groups = (G + TFM__ATTN_DQK_ROWS - 1) / TFM__ATTN_DQK_ROWS, spread = groups > 1, calls = heads * groups;
    for (r = 0; r < bk; r += 4) {
        int keys = bk - r < 4 ? bk - r : 4, next = 0, call = 0;
        for (j = 0; j < keys && !spread; j++) TFM__DQK_PREFETCH_ROW(r + j);
        for (h = 0; h < heads; h++) {
            const float *qh = q + (size_t)h * (size_t)G * (size_t)D;
            float *sh = s + (size_t)h * (size_t)G * lds + (size_t)r;
            const void *k0 = tfm__attn_at(k, (size_t)r * ld + (size_t)h * (size_t)D, i8), *k1 = k0, *k2 = k0, *k3 = k0;
            float tail[4 * TFM__ATTN_DQK_ROWS];
            float *dst = keys == 4 ? sh : tail;
            size_t ldd = keys == 4 ? lds : 4;
            /* a last block of fewer keys repeats its first row and keeps only the real sums */
            if (keys > 1) k1 = tfm__attn_at(k0, ld, i8);
            if (keys > 2) k2 = tfm__attn_at(k0, 2 * ld, i8);
            if (keys > 3) k3 = tfm__attn_at(k0, 3 * ld, i8);
            for (m = 0; m < G; m += TFM__ATTN_DQK_ROWS) {
                int rows = G - m < TFM__ATTN_DQK_ROWS ? G - m : TFM__ATTN_DQK_ROWS, i;
                float *out = keys == 4 ? dst + (size_t)m * lds : dst;
                const float *qm = qh + (size_t)m * (size_t)D;
                for (call++; spread && next < (call * keys + calls - 1) / calls; next++) TFM__DQK_PREFETCH_ROW(r + next);
                switch (rows) { /* a constant count for each instance */
#if TFM__ATTN_DQK_ROWS == 4
                case 4: tfm__attn_dqk(out, ldd, qm, 4, D, k0, k1, k2, k3, i8); break;
                case 3: tfm__attn_dqk(out, ldd, qm, 3, D, k0, k1, k2, k3, i8); break;
#endif
                case 2: tfm__attn_dqk(out, ldd, qm, 2, D, k0, k1, k2, k3, i8); break;
                default: tfm__attn_dqk(out, ldd, qm, 1, D, k0, k1, k2, k3, i8); break;
                }
                if (keys < 4)
                    for (i = 0; i < rows; i++)
                        for (j = 0; j < keys; j++) sh[(size_t)(m + i) * lds + (size_t)j] = tail[i * 4 + j];
            }
        }
    }
    if (i8) /* each key row's scale joins its scores */
        for (h = 0; h < heads; h++)
            for (m = 0; m < G; m++) {
                float *row = s + (size_t)(h * G + m) * lds;
                for (r = 0; r < bk; r++) row[r] *= ks[(size_t)r * ld_scale + (size_t)h];
            }
}


/* Online softmax of a decode chunk: each of the M rows of bk scores (lds apart) runs along its keys
   with full vectors; running max and sum, P = e^(S - max) in place, the output rescaled. */
static void tfm__attn_decode_softmax(const tfm__attn_tile *t, size_t lds, int bk)
{
    int m, r, full = bk - bk % TFM__VF_N;
    size_t n = (size_t)(bk - full);
    tfm__vf first = tfm__vf_load(tfm__attn_first + 16 - n), rest = tfm__vf_sub(tfm__vf_set1(1.0f), first);
    tfm__vf last = tfm__vf_zero();
    for (m = 0; m < t->M; m++) {
        float *row = t->s + (size_t)m * lds, nw, c;
        tfm__vf vmax = tfm__vf_set1(row[0]), vsum = tfm__vf_zero(), e;
        for (r = 0; r < full; r += TFM__VF_N) vmax = tfm__vf_max(vmax, tfm__vf_load(row + r));
        if (n) { /* padding lanes hold row[0]: they do not change the max */
            last = tfm__vf_fma(tfm__vf_load_n(row + full, n), first, tfm__vf_mul(tfm__vf_set1(row[0]), rest));
            vmax = tfm__vf_max(vmax, last);
        }
        nw = tfm__vf_hmax(vmax);
        nw = t->rmax[m] > nw ? t->rmax[m] : nw;
        c = t->rmax[m] == TFM__ATTN_NONE ? 0.0f : expf(t->rmax[m] - nw);
        vmax = tfm__vf_set1(nw);
        for (r = 0; r < full; r += TFM__VF_N) {
            e = tfm__attn_exp(tfm__vf_sub(tfm__vf_load(row + r), vmax));
            tfm__vf_store(row + r, e);
            vsum = tfm__vf_add(vsum, e);
        }
        if (n) {
            e = tfm__vf_mul(tfm__attn_exp(tfm__vf_mul(tfm__vf_sub(last, vmax), first)), first);
            tfm__vf_store_n(row + full, e, n);
            vsum = tfm__vf_add(vsum, e);
        }
        t->rsum[m] = t->rsum[m] * c + tfm__vf_sum(vsum);
        t->rmax[m] = nw;
        if (c != 1.0f) tfm__k_scale(t->o + (size_t)m * (size_t)t->Dpad, c, (size_t)t->Dpad);
    }
}


/* One chunk of bk keys of a decode step for `heads` consecutive kv heads (tiles as
   tfm__attn_decode_head lays them out; rows ld elements apart, the first head's at k and v; int8 rows
   with their scales ld_scale apart). The key ranges of a single position are exact (tfm__attn_ranges),
   so every key here is visible: no mask. */
TFM__ATTN_SPECIALISE void tfm__attn_decode_chunk(const tfm__attn_tile *t0, int heads, size_t slot_floats, size_t lds,
                                                 const void *k, const void *v, const float *ks, const float *vs, size_t ld,
                                                 size_t ld_scale, int bk, int i8)
{
    int h, m, r;
    tfm__attn_decode_qk(t0->s, lds, t0->q, heads, t0->M, t0->D, k, ks, ld, ld_scale, bk, i8);
    if (t0->softcap > 0.0f)
        for (m = 0; m < heads * t0->M; m++) tfm__k_softcap(t0->s + (size_t)m * lds, (size_t)bk, t0->softcap);
    for (h = 0; h < heads; h++) {
        tfm__attn_tile t = tfm__attn_decode_head(t0, h, lds, slot_floats);
        tfm__attn_decode_softmax(&t, lds, bk);
        if (i8) /* each value row's scale joins its weights */
            for (m = 0; m < t.M; m++)
                for (r = 0; r < bk; r++) t.s[(size_t)m * lds + (size_t)r] *= vs[(size_t)r * ld_scale + (size_t)h];
        tfm__attn_pv(t.o, (size_t)t.Dpad, t.M, t.D, t.s, 1, lds, tfm__attn_at(v, (size_t)h * (size_t)t.D, i8), ld, bk, 1, i8);
    }
}

static void tfm__attn_decode_chunk_f32(const tfm__attn_tile *t0, int heads, size_t slot_floats, size_t lds, const float *k,
                                       const float *v, size_t ld, int bk)
{
    tfm__attn_decode_chunk(t0, heads, slot_floats, lds, k, v, NULL, NULL, ld, 0, bk, 0);
}

static void tfm__attn_decode_chunk_i8(const tfm__attn_tile *t0, int heads, size_t slot_floats, size_t lds, const int8_t *k,
                                      const int8_t *v, const float *ks, const float *vs, size_t ld, size_t ld_scale, int bk)
{
    tfm__attn_decode_chunk(t0, heads, slot_floats, lds, k, v, ks, vs, ld, ld_scale, bk, 1);
}

/* ---------------------------------------------------------------- tiles over key ranges */

/* Runs the chunks of every key range (clipped to [clip_lo, clip_hi)) through the tile of kv head kh: a
   decode step (no Q^T) chunk by chunk from the rows as stored, for kv heads kh .. kh + heads - 1 at once
   (tiles as tfm__attn_decode_head lays them out), a flash tile (heads = 1) from f32 rows (int8 rows
   dequantized into deq first: 2 * d->bk * d->Dpad floats). */
static void tfm__attn_tile_keys(const tfm__attn_tile *t, const tfm_attn_config *cfg, const tfm__attn_dims *d,
                                const tfm__attn_src *src, int kh, int heads, size_t slot_floats, const int *ranges,
                                int n_ranges, int clip_lo, int clip_hi, float *deq)
{
    int i, s, j0;
    size_t Dpad = (size_t)d->Dpad, ns = (size_t)src->n_kv;
    for (i = 0; i < n_ranges; i++) {
        int a = ranges[2 * i] > clip_lo ? ranges[2 * i] : clip_lo;
        int b = ranges[2 * i + 1] < clip_hi ? ranges[2 * i + 1] : clip_hi;
        for (s = 0; s < src->n_seg; s++) {
            const tfm__attn_seg *g = &src->seg[s];
            int sa = a > g->begin ? a : g->begin, sb = b < g->end ? b : g->end;
            for (j0 = sa; j0 < sb; j0 += d->bk) {
                int bk = sb - j0 < d->bk ? sb - j0 : d->bk;
                size_t row = (size_t)(j0 - g->begin), off = row * src->stride + (size_t)kh * (size_t)d->D;
                const float *ks = g->ks ? g->ks + row * ns + (size_t)kh : NULL, *vs = g->vs ? g->vs + row * ns + (size_t)kh : NULL;
                if (!t->qt && ks) {
                    tfm__attn_decode_chunk_i8(t, heads, slot_floats, (size_t)d->bk, (const int8_t *)g->k + off,
                                              (const int8_t *)g->v + off, ks, vs, src->stride, ns, bk);
                } else if (!t->qt) {
                    tfm__attn_decode_chunk_f32(t, heads, slot_floats, (size_t)d->bk, (const float *)g->k + off,
                                               (const float *)g->v + off, src->stride, bk);
                } else if (ks) {
                    float *kd = deq, *vd = deq + (size_t)d->bk * Dpad;
                    tfm__attn_dequant(kd, Dpad, (const int8_t *)g->k + off, ks, src->stride, ns, bk, d->D);
                    tfm__attn_dequant(vd, Dpad, (const int8_t *)g->v + off, vs, src->stride, ns, bk, d->D);
                    tfm__attn_chunk(t, cfg, kd, vd, Dpad, j0, bk);
                } else {
                    tfm__attn_chunk(t, cfg, (const float *)g->k + off, (const float *)g->v + off, src->stride, j0, bk);
                }
            }
        }
    }
}

/* out rows of the tile = O / rowsum (0 for a row that saw no key) */
static void tfm__attn_tile_finish(const tfm__attn_tile *t, float *out, size_t out_stride)
{
    int m;
    for (m = 0; m < t->M; m++) {
        float inv = t->rsum[m] > 0.0f ? 1.0f / t->rsum[m] : 0.0f;
        float *dst = out + (size_t)(m / t->G) * out_stride + (size_t)(m % t->G) * (size_t)t->D;
        const float *src = t->o + (size_t)m * (size_t)t->Dpad;
        tfm__vf vi = tfm__vf_set1(inv);
        int c = 0;
        for (; c + TFM__VF_N <= t->D; c += TFM__VF_N) tfm__vf_store(dst + c, tfm__vf_mul(tfm__vf_load(src + c), vi));
        if (c < t->D) tfm__vf_store_n(dst + c, tfm__vf_mul(tfm__vf_load(src + c), vi), (size_t)(t->D - c));
    }
}

static const tfm__attn_kernels TFM__PN(tfm__attn_kernel_table) = {tfm__attn_tile_keys, tfm__attn_tile_finish};
#endif /* TFM__SIMD_PASS */

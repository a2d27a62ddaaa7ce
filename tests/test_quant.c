/* Tests of tfm_quant.h. Blocks are decoded here bit by bit from the layouts in GGML's documentation
   (never through the library's structs), dot products are recomputed in the documented order from
   those decodings, and quantization is checked against error bounds derived per format and against
   a GGUF file llama.cpp quantized. */
#include "tfm_test.h"
#include "tfm_quant.h"

/* ---------------------------------------------------------------- independent decoding */

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static float rdf32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* binary16 decoded field by field */
static double f16v(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) return m ? NAN : (sign ? -INFINITY : INFINITY);
    v = e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, e - 25);
    return sign ? -v : v;
}

static int s8(unsigned char b) { return b < 128 ? b : b - 256; }

/* GGML's kvalues_iq4nl */
static const int iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* Integer levels and scales of one block as GGML documents them. For every format an element is
   x = D * (sc[e] * q[e]) - M * mn[e] (+ m for q4_1), with the integer q and scales read from bytes. */
typedef struct decoded {
    int n;           /* elements */
    int q[256];      /* signed value: q8: int8, q4_0: nibble-8, q5_0: 5 bits-16, q4_1/q5_1/q*_k: the level
                        (q6_k: - 32, q3_k: - 4), iq4: the table's value */
    int sc[256];     /* integer scale of the element's sub-block (1 for legacy formats) */
    int mn[256];     /* integer min of the element's sub-block (q4_k, q5_k, q2_k), else 0 */
    double D, M;     /* block scale (d) and min scale (dmin for q2_k/q4_k/q5_k, m for q4_1/q5_1) */
    double s;        /* q8_1: the stored s */
    int bsums[16];   /* q8_k */
} decoded;

static void decode_block(tfm_dtype t, const unsigned char *b, decoded *o)
{
    int e, j;
    memset(o, 0, sizeof *o);
    for (e = 0; e < 256; e++) o->sc[e] = 1;
    switch (t) {
    case TFM_Q8_0:
        o->n = 32;
        o->D = f16v(rd16(b));
        for (e = 0; e < 32; e++) o->q[e] = s8(b[2 + e]);
        break;
    case TFM_Q8_1:
        o->n = 32;
        o->D = f16v(rd16(b));
        o->s = f16v(rd16(b + 2));
        for (e = 0; e < 32; e++) o->q[e] = s8(b[4 + e]);
        break;
    case TFM_Q4_0:
        o->n = 32;
        o->D = f16v(rd16(b));
        for (j = 0; j < 16; j++) {
            o->q[j] = (b[2 + j] & 15) - 8;
            o->q[j + 16] = (b[2 + j] >> 4) - 8;
        }
        break;
    case TFM_Q4_1:
        o->n = 32;
        o->D = f16v(rd16(b));
        o->M = f16v(rd16(b + 2));
        for (j = 0; j < 16; j++) {
            o->q[j] = b[4 + j] & 15;
            o->q[j + 16] = b[4 + j] >> 4;
        }
        break;
    case TFM_Q4_K: {
        const unsigned char *sc = b + 4, *qs = b + 16;
        o->n = 256;
        o->D = f16v(rd16(b));
        o->M = f16v(rd16(b + 2));
        for (e = 0; e < 256; e++) {
            int sub = e / 32, chunk = e / 64, l = e % 32, high = (e % 64) >= 32, s, m;
            if (sub < 4) {
                s = sc[sub] & 63;
                m = sc[sub + 4] & 63;
            } else {
                s = (sc[sub + 4] & 15) | ((sc[sub - 4] >> 6) << 4);
                m = (sc[sub + 4] >> 4) | ((sc[sub] >> 6) << 4);
            }
            o->sc[e] = s;
            o->mn[e] = m;
            o->q[e] = high ? qs[32 * chunk + l] >> 4 : qs[32 * chunk + l] & 15;
        }
        break;
    }
    case TFM_Q6_K: {
        const unsigned char *ql = b, *qh = b + 128, *scales = b + 192;
        o->n = 256;
        o->D = f16v(rd16(b + 208));
        for (e = 0; e < 256; e++) {
            int half = e / 128, r = e % 128, l = r % 32, which = r / 32, low, high;
            int lbyte = ql[64 * half + l + (which == 1 || which == 3 ? 32 : 0)];
            low = which >= 2 ? lbyte >> 4 : lbyte & 15;
            high = (qh[32 * half + l] >> (2 * which)) & 3;
            o->q[e] = (low | (high << 4)) - 32;
            o->sc[e] = s8(scales[e / 16]);
        }
        break;
    }
    case TFM_Q5_0: case TFM_Q5_1: {
        const int off = t == TFM_Q5_1 ? 4 : 2;
        uint32_t qh = (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 | (uint32_t)b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;
        o->n = 32;
        o->D = f16v(rd16(b));
        if (t == TFM_Q5_1) o->M = f16v(rd16(b + 2));
        for (j = 0; j < 16; j++) {
            o->q[j] = ((b[off + 4 + j] & 15) | ((qh >> j) & 1) << 4) - (t == TFM_Q5_0 ? 16 : 0);
            o->q[j + 16] = ((b[off + 4 + j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - (t == TFM_Q5_0 ? 16 : 0);
        }
        break;
    }
    case TFM_IQ4_NL:
        o->n = 32;
        o->D = f16v(rd16(b));
        for (j = 0; j < 16; j++) {
            o->q[j] = iq4_values[b[2 + j] & 15];
            o->q[j + 16] = iq4_values[b[2 + j] >> 4];
        }
        break;
    case TFM_IQ4_XS: {
        int sh = rd16(b + 2);
        o->n = 256;
        o->D = f16v(rd16(b));
        for (e = 0; e < 256; e++) {
            int ib = e / 32, l = e % 32, byte = b[8 + 16 * ib + l % 16];
            o->q[e] = iq4_values[l < 16 ? byte & 15 : byte >> 4];
            o->sc[e] = (((b[4 + ib / 2] >> (4 * (ib % 2))) & 15) | ((sh >> (2 * ib)) & 3) << 4) - 32;
        }
        break;
    }
    case TFM_Q2_K: case TFM_Q3_K: {
        /* element e = 128h + 32s + l: 2 low bits at bits 2s of qs[32h + l] */
        const unsigned char *qs = b + (t == TFM_Q2_K ? 16 : 32);
        o->n = 256;
        o->D = f16v(rd16(b + (t == TFM_Q2_K ? 80 : 108)));
        if (t == TFM_Q2_K) o->M = f16v(rd16(b + 82));
        for (e = 0; e < 256; e++) {
            int h = e / 128, s = e % 128 / 32, l = e % 32, g = e / 16, low = (qs[32 * h + l] >> (2 * s)) & 3;
            if (t == TFM_Q2_K) {
                o->q[e] = low;
                o->sc[e] = b[g] & 15;
                o->mn[e] = b[g] >> 4;
            } else { /* hmask[e % 32] bit e / 32 set: level + 4; scales 6 bits, + 32 */
                const unsigned char *sc = b + 96;
                int lo4 = g < 8 ? sc[g] & 15 : sc[g - 8] >> 4;
                o->q[e] = low + 4 * ((b[e % 32] >> (e / 32)) & 1) - 4;
                o->sc[e] = (lo4 | ((sc[8 + g % 4] >> (2 * (g / 4))) & 3) << 4) - 32;
            }
        }
        break;
    }
    case TFM_Q5_K: {
        const unsigned char *sc = b + 4, *qh = b + 16, *qs = b + 48;
        o->n = 256;
        o->D = f16v(rd16(b));
        o->M = f16v(rd16(b + 2));
        for (e = 0; e < 256; e++) {
            int sub = e / 32, chunk = e / 64, l = e % 32, high = (e % 64) >= 32;
            if (sub < 4) {
                o->sc[e] = sc[sub] & 63;
                o->mn[e] = sc[sub + 4] & 63;
            } else {
                o->sc[e] = (sc[sub + 4] & 15) | ((sc[sub - 4] >> 6) << 4);
                o->mn[e] = (sc[sub + 4] >> 4) | ((sc[sub] >> 6) << 4);
            }
            o->q[e] = (high ? qs[32 * chunk + l] >> 4 : qs[32 * chunk + l] & 15) | ((qh[l] >> sub) & 1) << 4;
        }
        break;
    }
    case TFM_Q8_K:
        o->n = 256;
        o->D = rdf32(b);
        for (e = 0; e < 256; e++) o->q[e] = s8(b[4 + e]);
        for (j = 0; j < 16; j++) o->bsums[j] = (int16_t)rd16(b + 260 + 2 * j);
        break;
    default:
        break;
    }
}

/* the value of element e, computed in double (exact for every format here) and rounded once */
static float decoded_value(tfm_dtype t, const decoded *o, int e)
{
    double v = o->D * o->sc[e] * o->q[e];
    if (t == TFM_Q4_1 || t == TFM_Q5_1) v += o->M;
    if (t == TFM_Q4_K || t == TFM_Q5_K || t == TFM_Q2_K) v -= o->M * o->mn[e];
    return (float)v;
}

static const tfm_dtype formats[] = {TFM_Q8_0, TFM_Q8_1, TFM_Q4_0, TFM_Q4_1, TFM_Q5_0, TFM_Q5_1, TFM_IQ4_NL, TFM_Q2_K,
                                    TFM_Q3_K, TFM_Q4_K, TFM_Q5_K, TFM_Q6_K, TFM_IQ4_XS, TFM_Q8_K};
#define N_FORMATS (sizeof formats / sizeof formats[0])
static const tfm_dtype weight_types[] = {TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q5_0, TFM_Q5_1, TFM_IQ4_NL,
                                         TFM_Q2_K, TFM_Q3_K, TFM_Q4_K, TFM_Q5_K, TFM_Q6_K, TFM_IQ4_XS};

/* byte offsets of a format's fp16 scale d and of its second fp16 field (m or dmin; -1: none) */
static int d_at(tfm_dtype t) { return t == TFM_Q6_K ? 208 : t == TFM_Q2_K ? 80 : t == TFM_Q3_K ? 108 : 0; }
static int m_at(tfm_dtype t)
{
    return t == TFM_Q4_1 || t == TFM_Q5_1 || t == TFM_Q4_K || t == TFM_Q5_K ? 2 : t == TFM_Q2_K ? 82 : -1;
}
#define N_WEIGHT_TYPES (sizeof weight_types / sizeof weight_types[0])

static size_t bsize(tfm_dtype t) { return tfm_dtype_block_size(t); }
static size_t bbytes(tfm_dtype t) { return tfm_dtype_block_bytes(t); }

/* The kernel tests' weights (test_gemv_gemm, test_gemv_row_blocks, test_packed): every block a random pick
   from POOL_BLOCKS blocks of the type, quantized once from random floats (2 threads) by the quantizer under
   test. Quantizing every test matrix afresh was most of these tests' time (the k-quants' and iq4's searches;
   10-80x slower under the sanitizers and qemu); picked block by block, no two rows are alike, so a row or
   tile read from the wrong place still shows. */
#define POOL_BLOCKS 512
static unsigned char *block_pool[N_WEIGHT_TYPES];

static int pool_matrix(size_t wi, unsigned char *w, int n, int k)
{
    tfm_dtype wt = weight_types[wi];
    size_t i, bb = bbytes(wt), nb = (size_t)n * (size_t)k / bsize(wt);
    if (!block_pool[wi]) {
        size_t cols = 8 * bsize(wt), rows = POOL_BLOCKS / 8;
        float *wf = (float *)tt_alloc(rows * cols * sizeof(float));
        tfm_status st;
        block_pool[wi] = (unsigned char *)tt_alloc(POOL_BLOCKS * bb);
        tt_fill(wf, rows * cols, -1.0f, 1.0f);
        st = tfm_quantize(wt, wf, block_pool[wi], rows, cols, 2);
        free(wf);
        if (st != TFM_OK) return 0;
    }
    for (i = 0; i < nb; i++) memcpy(w + i * bb, block_pool[wi] + tt_next() % POOL_BLOCKS * bb, bb);
    return 1;
}

/* ---------------------------------------------------------------- layouts */

static void test_block_sizes(void)
{
    TT_CHECK(sizeof(tfm_block_q8_0) == 34 && bbytes(TFM_Q8_0) == 34);
    TT_CHECK(sizeof(tfm_block_q8_1) == 36 && bbytes(TFM_Q8_1) == 36);
    TT_CHECK(sizeof(tfm_block_q4_0) == 18 && bbytes(TFM_Q4_0) == 18);
    TT_CHECK(sizeof(tfm_block_q4_1) == 20 && bbytes(TFM_Q4_1) == 20);
    TT_CHECK(sizeof(tfm_block_q5_0) == 22 && bbytes(TFM_Q5_0) == 22);
    TT_CHECK(sizeof(tfm_block_q5_1) == 24 && bbytes(TFM_Q5_1) == 24);
    TT_CHECK(sizeof(tfm_block_iq4_nl) == 18 && bbytes(TFM_IQ4_NL) == 18);
    TT_CHECK(sizeof(tfm_block_q2_K) == 84 && bbytes(TFM_Q2_K) == 84);
    TT_CHECK(sizeof(tfm_block_q3_K) == 110 && bbytes(TFM_Q3_K) == 110);
    TT_CHECK(sizeof(tfm_block_q4_K) == 144 && bbytes(TFM_Q4_K) == 144);
    TT_CHECK(sizeof(tfm_block_q5_K) == 176 && bbytes(TFM_Q5_K) == 176);
    TT_CHECK(sizeof(tfm_block_iq4_xs) == 136 && bbytes(TFM_IQ4_XS) == 136);
    TT_CHECK(sizeof(tfm_block_q6_K) == 210 && bbytes(TFM_Q6_K) == 210);
    TT_CHECK(sizeof(tfm_block_q8_K) == 292 && bbytes(TFM_Q8_K) == 292);
}

/* random bytes with finite, moderate fp16 scales */
static void random_blocks(tfm_dtype t, unsigned char *buf, size_t nblocks)
{
    size_t i, j, bb = bbytes(t);
    for (i = 0; i < nblocks * bb; i++) buf[i] = (unsigned char)(tt_next() >> 56);
    for (i = 0; i < nblocks; i++) {
        unsigned char *b = buf + i * bb;
        uint16_t h1 = tfm_f32_to_f16(tt_uniform(-2.0f, 2.0f)), h2 = tfm_f32_to_f16(tt_uniform(-2.0f, 2.0f));
        if (t == TFM_Q8_0 || t == TFM_Q8_1)
            for (j = 0; j < 32; j++)
                if (b[bb - 32 + j] == 128) b[bb - 32 + j] = 129; /* keep [-127, 127] for activations */
        switch (t) {
        case TFM_Q8_1: memcpy(b, &h1, 2), memcpy(b + 2, &h2, 2); break;
        case TFM_Q8_K: {
            float d = tt_uniform(-0.1f, 0.1f);
            int g, l;
            memcpy(b, &d, 4);
            for (j = 0; j < 256; j++)
                if (b[4 + j] == 128) b[4 + j] = 129;
            for (g = 0; g < 16; g++) {
                int16_t s = 0;
                for (l = 0; l < 16; l++) s = (int16_t)(s + s8(b[4 + 16 * g + l]));
                memcpy(b + 260 + 2 * g, &s, 2);
            }
            break;
        }
        default:
            memcpy(b + d_at(t), &h1, 2);
            if (m_at(t) >= 0) memcpy(b + m_at(t), &h2, 2);
            break;
        }
    }
}

static void test_dequantize_matches_hand_decoding(void)
{
    size_t f;
    tt_seed(11);
    for (f = 0; f < N_FORMATS; f++) {
        tfm_dtype t = formats[f];
        const size_t nblocks = 5;
        unsigned char *buf = (unsigned char *)tt_alloc(nblocks * bbytes(t));
        float *out = (float *)tt_alloc(nblocks * bsize(t) * sizeof(float));
        size_t i;
        int e;
        random_blocks(t, buf, nblocks);
        TT_ASSERT(tfm_dequantize_row(t, buf, out, nblocks * bsize(t)) == TFM_OK, "%s", tfm_dtype_name(t));
        for (i = 0; i < nblocks; i++) {
            decoded d;
            decode_block(t, buf + i * bbytes(t), &d);
            for (e = 0; e < d.n; e++) {
                float want = decoded_value(t, &d, e), got = out[i * bsize(t) + (size_t)e];
                TT_ASSERT(got == want, "%s block %zu element %d: %.9g, hand-decoded %.9g", tfm_dtype_name(t), i, e, got, want);
            }
        }
        free(buf);
        free(out);
    }
}

/* ---------------------------------------------------------------- quantization error bounds */

/* Rows that stress the quantizers: random, all zero, constant, huge, tiny, one outlier, alternating sign. */
static void fill_row(int kind, float *x, size_t n)
{
    size_t i;
    switch (kind) {
    case 0: tt_fill(x, n, -1.0f, 1.0f); break;
    case 1: for (i = 0; i < n; i++) x[i] = 0.0f; break;
    case 2: for (i = 0; i < n; i++) x[i] = -0.75f; break;
    case 3: tt_fill(x, n, -3e4f, 3e4f); break;
    case 4: tt_fill(x, n, -1e-3f, 1e-3f); break;
    case 5: tt_fill(x, n, -0.01f, 0.01f); x[n / 3] = 5.0f; break;
    default: for (i = 0; i < n; i++) x[i] = (i & 1 ? -1.0f : 1.0f) * tt_uniform(0.5f, 2.0f); break;
    }
}
#define N_KINDS 7

/* the largest rounding error of a value stored as fp16 near v (half a step; subnormals step 2^-24) */
static double f16_error(double v) { return fabs(v) / 2048 > ldexp(1.0, -25) ? fabs(v) / 2048 : ldexp(1.0, -25); }

/* Largest allowed |x - x^| for element e of a block of the given format, derived from how the format
   quantizes (xb: the block's inputs; o: the decoded block). fp16 rounding of the stored scales is
   added as |q| * |d - d16| terms, and 1e-6 relative slack covers the float arithmetic. */
static double error_bound(tfm_dtype t, const float *xb, const decoded *o, int e)
{
    int j, n = o->n;
    double amax = 0, mx = 0, mn = 1e300, sub_lo = 1e300, sub_hi = -1e300, slack;
    for (j = 0; j < n; j++) {
        if (fabs(xb[j]) > amax) amax = fabs(xb[j]);
        if (xb[j] > mx || j == 0) mx = xb[j];
        if (xb[j] < mn) mn = xb[j];
    }
    slack = 1e-6 * amax + 1e-30;
    switch (t) {
    case TFM_Q8_0: case TFM_Q8_1: {
        double d = amax / 127; /* q = round(x/d): half a step, plus the fp16 error of d */
        return d / 2 + 127 * fabs(d - o->D) + slack;
    }
    case TFM_Q8_K: return amax / 127 / 2 + slack;
    case TFM_Q4_0: case TFM_Q5_0: {
        /* d = v/-nmax (8 or 16) for the extreme v: x/d spans [-nmax, nmax]; the top level is nmax - 1, so
           values past nmax - 0.5 steps clamp (error up to one step) and the rest round to the nearest step */
        double nmax = t == TFM_Q4_0 ? 8 : 16, d = fabs(o->D), ratio = d > 0 ? fabs(xb[e] / d) : 0;
        double steps = (xb[e] * (double)o->D > 0 && ratio > nmax - 0.5) ? ratio - (nmax - 1) : 0.5;
        return d * steps + nmax * fabs(amax / nmax - d) + slack;
    }
    case TFM_Q4_1: case TFM_Q5_1: {
        double levels = t == TFM_Q4_1 ? 15 : 31, d = (mx - mn) / levels; /* levels cover [min, max] */
        return d / 2 + levels * fabs(d - o->D) + fabs(mn - o->M) + slack;
    }
    case TFM_IQ4_NL: case TFM_IQ4_XS: {
        /* every element on the level of the table nearest x / (d sc), found with d before its fp16
           rounding: the distance to that level, plus what rounding d moves a level (|value| <= 127). A
           sub-block scale of iq4_xs that rounds to 0 (its fit below d/2) zeroes the sub-block: its values
           are within 127 d/2 */
        double ds = o->D * o->sc[e], v = ds != 0 ? xb[e] / ds : 0, best = 1e300;
        int l;
        for (l = 0; l < 16; l++) best = fabs(v - iq4_values[l]) < best ? fabs(v - iq4_values[l]) : best;
        if (ds == 0 && t == TFM_IQ4_XS) return 127 * fabs(o->D) / 2 + slack;
        return best * fabs(ds) + 2 * 127 * abs(o->sc[e]) * f16_error(o->D) + slack;
    }
    case TFM_Q2_K: case TFM_Q4_K: case TFM_Q5_K: case TFM_Q3_K: case TFM_Q6_K: {
        /* fitted scales: one step of the sub-block's own grid (with a min: its range over the levels,
           q2_k: over 2, its 4 levels fitted to the absolute error can leave an outlier a step beyond;
           signed: its amax over nmax - 0.5), plus what quantizing the scales costs: a sub-block scale is
           off by up to D/2 (D the super-block's step of scales), which moves the top level by that much
           times the level, and a min is off by up to M/2 */
        int sub = t == TFM_Q4_K || t == TFM_Q5_K ? 32 : 16, s0 = e / sub * sub, top, scale_max;
        for (j = s0; j < s0 + sub; j++) {
            if (xb[j] < sub_lo) sub_lo = xb[j];
            if (xb[j] > sub_hi) sub_hi = xb[j];
        }
        if (t == TFM_Q3_K || t == TFM_Q6_K) {
            double nmax = t == TFM_Q3_K ? 4 : 32;
            scale_max = t == TFM_Q3_K ? 32 : 128;
            return (fabs(sub_hi) > fabs(sub_lo) ? fabs(sub_hi) : fabs(sub_lo)) / (nmax - 0.5) + nmax * fabs(o->D) / 2 +
                   scale_max * nmax * f16_error(o->D) + slack;
        }
        top = t == TFM_Q2_K ? 3 : t == TFM_Q4_K ? 15 : 31;
        scale_max = t == TFM_Q2_K ? 15 : 63;
        return ((sub_hi > 0 ? sub_hi : 0) - (sub_lo < 0 ? sub_lo : 0)) / (t == TFM_Q2_K ? 2 : top) + top * fabs(o->D) / 2 +
               fabs(o->M) / 2 + scale_max * top * f16_error(o->D) + scale_max * f16_error(o->M) + slack;
    }
    default: return 0;
    }
}

static void test_quantize_error_bounds(void)
{
    size_t f;
    tt_seed(21);
    for (f = 0; f < N_FORMATS; f++) {
        tfm_dtype t = formats[f];
        size_t block_counts[3], ci;
        int kind;
        block_counts[0] = 1;
        block_counts[1] = 3;
        block_counts[2] = bsize(t) == 32 ? 7 : 2;
        for (ci = 0; ci < 3; ci++)
            for (kind = 0; kind < N_KINDS; kind++) {
                size_t nb = block_counts[ci], n = nb * bsize(t), b;
                float *x = (float *)tt_alloc(n * sizeof(float)), *back = (float *)tt_alloc(n * sizeof(float));
                unsigned char *q = (unsigned char *)tt_alloc(nb * bbytes(t));
                fill_row(kind, x, n);
                TT_ASSERT(tfm_quantize_row(t, x, q, n) == TFM_OK, "quantize %s", tfm_dtype_name(t));
                TT_ASSERT(tfm_dequantize_row(t, q, back, n) == TFM_OK, "dequantize %s", tfm_dtype_name(t));
                for (b = 0; b < nb; b++) {
                    decoded o;
                    int e;
                    decode_block(t, q + b * bbytes(t), &o);
                    if (t == TFM_Q8_1) { /* s = d * sum(q) rounded to fp16, d = amax/127 unrounded */
                        double sum = 0, amax = 0, want;
                        for (e = 0; e < 32; e++) {
                            sum += o.q[e];
                            amax = fabs(x[b * 32 + (size_t)e]) > amax ? fabs(x[b * 32 + (size_t)e]) : amax;
                        }
                        want = sum * (amax / 127);
                        if (fabs(want) > 65504) /* past the fp16 range: the format overflows, as GGML's does */
                            TT_ASSERT(isinf(o.s) || fabs(o.s) == 65504, "q8_1 s %g, want inf", o.s);
                        else
                            TT_ASSERT(fabs(o.s - want) <= fabs(want) * (1.0 / 2048 + 1e-6) + ldexp(1.0, -25), "q8_1 s %g, want %g", o.s, want);
                    }
                    if (t == TFM_Q8_K)
                        for (e = 0; e < 16; e++) {
                            int s = 0, l;
                            for (l = 0; l < 16; l++) s += o.q[16 * e + l];
                            TT_ASSERT(s == o.bsums[e], "q8_k bsums[%d] %d, want %d", e, o.bsums[e], s);
                        }
                    for (e = 0; e < o.n; e++) {
                        size_t i = b * bsize(t) + (size_t)e;
                        double err = fabs((double)x[i] - back[i]), bound = error_bound(t, x + b * bsize(t), &o, e);
                        TT_ASSERT(err <= bound, "%s kind %d, %zu blocks, element %zu: x %.8g back %.8g err %.3g > bound %.3g",
                                  tfm_dtype_name(t), kind, nb, i, x[i], back[i], err, bound);
                        if (kind == 1) TT_ASSERT(back[i] == 0.0f, "%s: zero row gives %g", tfm_dtype_name(t), back[i]);
                    }
                }
                free(x);
                free(back);
                free(q);
            }
    }
}

/* the k-quants re-quantize each element with the stored scales: every element must sit on the
   level of its grid nearest to it (the clamp aside) */
static void test_kquant_nearest_level(void)
{
    static const tfm_dtype ts[] = {TFM_Q2_K, TFM_Q3_K, TFM_Q4_K, TFM_Q5_K, TFM_Q6_K};
    size_t ti;
    tt_seed(31);
    for (ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
        tfm_dtype t = ts[ti];
        const int with_min = t != TFM_Q3_K && t != TFM_Q6_K, lo = with_min ? 0 : t == TFM_Q3_K ? -4 : -32;
        const int hi = t == TFM_Q2_K ? 3 : t == TFM_Q3_K ? 3 : t == TFM_Q4_K ? 15 : 31;
        float x[768];
        unsigned char q[3 * 210];
        int kind, b, e;
        for (kind = 0; kind < N_KINDS; kind++) {
            fill_row(kind, x, 768);
            TT_ASSERT(tfm_quantize_row(t, x, q, 768) == TFM_OK, "quantize");
            for (b = 0; b < 3; b++) {
                decoded o;
                decode_block(t, q + (size_t)b * bbytes(t), &o);
                for (e = 0; e < 256; e++) {
                    double step = o.D * (double)(float)o.sc[e], xv = x[256 * b + e];
                    double best = 1e300, got;
                    int l;
                    if ((float)step == 0.0f) continue; /* GGML keeps the first pass's levels there */
                    for (l = lo; l <= hi; l++) {
                        double v = step * l - (with_min ? o.M * o.mn[e] : 0);
                        if (fabs(v - xv) < best) best = fabs(v - xv);
                    }
                    got = fabs(decoded_value(t, &o, e) - xv);
                    TT_ASSERT(got <= best + 1e-6 * fabs(xv) + fabs(step) * 1e-5, "%s kind %d element %d: error %g, nearest level %g",
                              tfm_dtype_name(t), kind, 256 * b + e, got, best);
                }
            }
        }
    }
}

static void test_float_types_round_trip(void)
{
    float x[40], back[40];
    uint16_t h[40];
    int i;
    tt_seed(5);
    tt_fill(x, 40, -100.0f, 100.0f);
    TT_CHECK(tfm_quantize_row(TFM_F16, x, h, 40) == TFM_OK);
    TT_CHECK(tfm_dequantize_row(TFM_F16, h, back, 40) == TFM_OK);
    for (i = 0; i < 40; i++) TT_ASSERT(back[i] == tfm_f16_to_f32(tfm_f32_to_f16(x[i])), "f16 %d", i);
    TT_CHECK(tfm_quantize_row(TFM_BF16, x, h, 40) == TFM_OK);
    TT_CHECK(tfm_dequantize_row(TFM_BF16, h, back, 40) == TFM_OK);
    for (i = 0; i < 40; i++) TT_ASSERT(back[i] == tfm_bf16_to_f32(tfm_f32_to_bf16(x[i])), "bf16 %d", i);
    TT_CHECK(tfm_quantize_row(TFM_F32, x, back, 40) == TFM_OK);
    TT_CHECK(memcmp(x, back, sizeof x) == 0);
}

/* Known blocks written out by hand from the GGML layouts. */
static void test_known_blocks(void)
{
    float x[32], y[32];
    unsigned char q[36];
    int j;
    /* q4_0: the largest magnitude is -4 (element 3): d = -4 / -8 = 0.5, q = x/0.5 + 8 */
    for (j = 0; j < 32; j++) x[j] = (float)((j % 8) - 4) * 0.5f;
    x[3] = -4.0f;
    TT_CHECK(tfm_quantize_row(TFM_Q4_0, x, q, 32) == TFM_OK);
    TT_CHECK(rd16(q) == 0x3800); /* 0.5 */
    for (j = 0; j < 16; j++) {
        int lo = (int)(x[j] / 0.5f) + 8, hi = (int)(x[j + 16] / 0.5f) + 8;
        TT_ASSERT(q[2 + j] == (unsigned char)(lo | (hi << 4)), "q4_0 byte %d = %02x", j, q[2 + j]);
    }
    /* q8_0: amax 127 gives d = 1 (0x3c00) and q = x exactly; 2.5 rounds away from zero to 3 */
    for (j = 0; j < 32; j++) x[j] = (float)(j * 8 - 127);
    x[5] = 2.5f;
    x[6] = -2.5f;
    TT_CHECK(tfm_quantize_row(TFM_Q8_0, x, q, 32) == TFM_OK);
    TT_CHECK(rd16(q) == 0x3c00);
    TT_CHECK(s8(q[2 + 5]) == 3 && s8(q[2 + 6]) == -3 && s8(q[2 + 0]) == -127);
    TT_CHECK(tfm_dequantize_row(TFM_Q8_0, q, y, 32) == TFM_OK);
    TT_CHECK(y[31] == 121.0f);
    /* every tie rounds away from zero, in every lane of the vector paths */
    for (j = 0; j < 32; j++) x[j] = (float)(j % 2 ? -1 : 1) * ((float)(j * 3) + 0.5f);
    x[7] = 127.0f;
    TT_CHECK(tfm_quantize_row(TFM_Q8_0, x, q, 32) == TFM_OK);
    for (j = 0; j < 32; j++)
        if (j != 7) TT_ASSERT(s8(q[2 + j]) == (j % 2 ? -1 : 1) * (j * 3 + 1), "tie %d: %d", j, s8(q[2 + j]));
    /* q4_1: min -1, max 14: d = 1, m = -1, q = x + 1 */
    for (j = 0; j < 32; j++) x[j] = (float)(j % 16) - 1.0f;
    TT_CHECK(tfm_quantize_row(TFM_Q4_1, x, q, 32) == TFM_OK);
    TT_CHECK(rd16(q) == 0x3c00 && rd16(q + 2) == 0xbc00);
    for (j = 0; j < 16; j++) TT_ASSERT(q[4 + j] == (unsigned char)(j | (j << 4)), "q4_1 byte %d", j);
}

/* ---------------------------------------------------------------- llama.cpp's own Q8_0 file */

/* Minimal GGUF v3 reading, enough to find tensors: name, dims, type, data offset. */
typedef struct gg_tensor { char name[96]; int n_dims; uint64_t ne[4]; int type; uint64_t offset; } gg_tensor;
typedef struct gg_file { unsigned char *data; size_t size, pos, data_start; uint64_t n_tensors; gg_tensor *t; int ok; } gg_file;

static uint64_t gg_u(gg_file *g, int bytes)
{
    uint64_t v = 0;
    int i;
    if (g->pos + (size_t)bytes > g->size) {
        g->ok = 0;
        return 0;
    }
    for (i = 0; i < bytes; i++) v |= (uint64_t)g->data[g->pos + (size_t)i] << (8 * i);
    g->pos += (size_t)bytes;
    return v;
}

static void gg_skip_value(gg_file *g, uint32_t type)
{
    static const int sizes[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
        uint64_t len = gg_u(g, 8);
        if (len > g->size - g->pos) g->ok = 0;
        else g->pos += (size_t)len;
    } else if (type == 9) {
        uint32_t et = (uint32_t)gg_u(g, 4);
        uint64_t n = gg_u(g, 8), i;
        for (i = 0; i < n && g->ok; i++) gg_skip_value(g, et);
    } else if (type < 13) {
        g->pos += (size_t)sizes[type];
        if (g->pos > g->size) g->ok = 0;
    } else {
        g->ok = 0;
    }
}

static int gg_open(gg_file *g, const char *path)
{
    uint64_t n_kv, i;
    memset(g, 0, sizeof *g);
    g->data = (unsigned char *)tt_read_file(path, &g->size);
    g->ok = g->data && g->size > 24 && memcmp(g->data, "GGUF", 4) == 0;
    if (!g->ok) return 0;
    g->pos = 4;
    gg_u(g, 4);
    g->n_tensors = gg_u(g, 8);
    n_kv = gg_u(g, 8);
    for (i = 0; i < n_kv && g->ok; i++) {
        uint64_t len = gg_u(g, 8);
        g->pos += (size_t)len;
        gg_skip_value(g, (uint32_t)gg_u(g, 4));
    }
    if (!g->ok || g->n_tensors > 10000) return g->ok = 0;
    g->t = (gg_tensor *)tt_alloc(sizeof(gg_tensor) * (size_t)g->n_tensors);
    for (i = 0; i < g->n_tensors && g->ok; i++) {
        gg_tensor *t = &g->t[i];
        uint64_t len = gg_u(g, 8), d;
        memset(t, 0, sizeof *t);
        if (len >= sizeof t->name || g->pos + len > g->size) return g->ok = 0;
        memcpy(t->name, g->data + g->pos, (size_t)len);
        g->pos += (size_t)len;
        t->n_dims = (int)gg_u(g, 4);
        if (t->n_dims < 1 || t->n_dims > 4) return g->ok = 0;
        for (d = 0; d < 4; d++) t->ne[d] = d < (uint64_t)t->n_dims ? gg_u(g, 8) : 1;
        t->type = (int)gg_u(g, 4);
        t->offset = gg_u(g, 8);
    }
    g->data_start = (g->pos + 31) / 32 * 32; /* general.alignment is the default 32 in these files */
    return g->ok;
}

static const gg_tensor *gg_find(const gg_file *g, const char *name)
{
    uint64_t i;
    for (i = 0; i < g->n_tensors; i++)
        if (strcmp(g->t[i].name, name) == 0) return &g->t[i];
    return NULL;
}

static void gg_close(gg_file *g)
{
    free(g->data);
    free(g->t);
}

static void test_q8_0_equals_llama_cpp(void)
{
    const char *p32 = tt_shared("models/stories260K.gguf");
    gg_file f32, q8;
    uint64_t i;
    int compared = 0;
    if (!p32) TT_SKIP("stories260K.gguf not found");
    TT_ASSERT(gg_open(&f32, p32), "cannot parse stories260K.gguf");
    {
        const char *pq = tt_shared("models/stories260K-q8_0-mixed.gguf");
        if (!pq) {
            gg_close(&f32);
            TT_SKIP("stories260K-q8_0-mixed.gguf not found");
        }
        TT_ASSERT(gg_open(&q8, pq), "cannot parse the q8_0 file");
    }
    for (i = 0; i < q8.n_tensors; i++) {
        const gg_tensor *tq = &q8.t[i], *tf = gg_find(&f32, tq->name);
        size_t rows, cols, row_bytes, r;
        unsigned char *mine;
        if (tq->type != TFM_Q8_0) continue;
        TT_ASSERT(tf && tf->type == TFM_F32, "%s: no f32 original", tq->name);
        cols = (size_t)tq->ne[0];
        rows = (size_t)(tq->ne[1] * tq->ne[2] * tq->ne[3]);
        row_bytes = cols / 32 * 34;
        TT_ASSERT(f32.data_start + tf->offset + rows * cols * 4 <= f32.size && q8.data_start + tq->offset + rows * row_bytes <= q8.size,
                  "%s out of the file", tq->name);
        mine = (unsigned char *)tt_alloc(rows * row_bytes);
        for (r = 0; r < rows; r++) {
            float *src = (float *)tt_alloc(cols * 4);
            memcpy(src, f32.data + f32.data_start + tf->offset + r * cols * 4, cols * 4);
            TT_ASSERT(tfm_quantize_row(TFM_Q8_0, src, mine + r * row_bytes, cols) == TFM_OK, "quantize");
            free(src);
        }
        TT_ASSERT(memcmp(mine, q8.data + q8.data_start + tq->offset, rows * row_bytes) == 0,
                  "%s: our Q8_0 bytes differ from llama.cpp's", tq->name);
        free(mine);
        compared++;
    }
    TT_ASSERT(compared >= 20, "only %d Q8_0 tensors compared", compared);
    gg_close(&f32);
    gg_close(&q8);
}

/* fill_row's stress kinds in values tt_uniform makes exactly (ranges of a power of two, from 0 or
   symmetric about it), so that no compiler's contraction of a * b + c can change them */
static void exact_row(int kind, float *x, size_t n)
{
    size_t i;
    switch (kind) {
    case 0: tt_fill(x, n, -1.0f, 1.0f); break;
    case 1: for (i = 0; i < n; i++) x[i] = 0.0f; break;
    case 2: for (i = 0; i < n; i++) x[i] = -0.75f; break;
    case 3: tt_fill(x, n, -32768.0f, 32768.0f); break;
    case 4: tt_fill(x, n, -1.0f / 1024, 1.0f / 1024); break;
    case 5: tt_fill(x, n, -1.0f / 128, 1.0f / 128); x[n / 3] = 5.0f; break;
    default: for (i = 0; i < n; i++) x[i] = (i & 1 ? -1.0f : 1.0f) * tt_uniform(0.0f, 2.0f); break;
    }
}

/* Every weight type's quantizer against llama.cpp's, byte for byte, on the rows below (each kind of
   exact_row in 7 blocks of 32 or 3 of 256, then 8192 values of kind 0; seed 1000 + the type's id): FNV-1a
   64 of the concatenated blocks. The hashes were made once from llama.cpp b4747's own quantizers
   (ggml_quantize_chunk with no importance matrix, as llama-quantize calls them; libggml-base built
   without -march, so no fused multiply-adds) by a 40-line C program that includes this directory's
   tfm_test.h and a copy of exact_row and links /work/peers/llama.cpp/build/bin/libggml-base.so: ggml_init
   (it fills the fp16 table the k-quants read back), then for each type: tt_seed(1000 + type); for kind
   0..7: n = kind < 7 ? (7 or 3) blocks : 8192; exact_row(kind < 7 ? kind : 0, x, n);
   ggml_quantize_chunk(type, x, q, 0, 1, n, NULL); hash the bytes. */
static void test_quantizers_equal_llama_cpp(void)
{
    static const struct { tfm_dtype t; uint64_t hash; } want[] = {
        {TFM_Q4_0, 0x02cf8d23d30e7422ull},  {TFM_Q4_1, 0x7c9f0b4849cb1005ull}, {TFM_Q5_0, 0x3de3694d71a4efb8ull},
        {TFM_Q5_1, 0x4a3b90c2bbabd018ull},  {TFM_Q8_0, 0x5a9a06debe5c07e8ull}, {TFM_IQ4_NL, 0xa9970146beaf7113ull},
        {TFM_Q2_K, 0x142952f6c0325a82ull},  {TFM_Q3_K, 0x07dcda96fdc970b1ull}, {TFM_Q4_K, 0xe6296957474db300ull},
        {TFM_Q5_K, 0x347920af5bf01563ull},  {TFM_Q6_K, 0xde282c28a3985daeull}, {TFM_IQ4_XS, 0xe0349428162bd9d8ull},
    };
    float *x = (float *)tt_alloc(8192 * sizeof(float));
    unsigned char *q = (unsigned char *)tt_alloc(8192 * 2);
    size_t ti, i;
    for (ti = 0; ti < sizeof want / sizeof want[0]; ti++) {
        tfm_dtype t = want[ti].t;
        uint64_t h = 0xcbf29ce484222325ull;
        int kind;
        tt_seed(1000 + (uint64_t)t);
        for (kind = 0; kind <= 7; kind++) {
            size_t n = kind < 7 ? (bsize(t) == 32 ? 7 : 3) * bsize(t) : 8192, bytes = n / bsize(t) * bbytes(t);
            exact_row(kind < 7 ? kind : 0, x, n);
            TT_ASSERT(tfm_quantize_row(t, x, q, n) == TFM_OK, "quantize %s", tfm_dtype_name(t));
            for (i = 0; i < bytes; i++) h = (h ^ q[i]) * 0x100000001b3ull;
        }
        if (h != want[ti].hash)
            tt_fail(__FILE__, __LINE__, "%s: our blocks hash to 0x%016llx, llama.cpp's to 0x%016llx", tfm_dtype_name(t), (unsigned long long)h,
                    (unsigned long long)want[ti].hash);
    }
    free(x);
    free(q);
}

/* ---------------------------------------------------------------- dot products in the documented order */

/* The documented accumulation, from hand-decoded blocks: per block the exact integer dot, then
   acc = fma((float)isum, dw*dx, acc), with the extra terms of q4_1 / q5_1 (+ m s) and of the k-quants
   with mins (- msum dmin dx; msum the sum of the mins times the activations). */
/* acc + one block's term of reference_dot, from the decoded weight and activation blocks */
static float reference_block(tfm_dtype wt, const decoded *dw, const decoded *da, float acc)
{
    long long isum = 0, msum = 0;
    int e;
    for (e = 0; e < dw->n; e++) {
        isum += (long long)dw->sc[e] * dw->q[e] * da->q[e];
        msum += (long long)dw->mn[e] * da->q[e];
    }
    acc = fmaf((float)isum, (float)dw->D * (float)da->D, acc);
    if (wt == TFM_Q4_1 || wt == TFM_Q5_1) acc = fmaf((float)dw->M, (float)da->s, acc);
    if (wt == TFM_Q4_K || wt == TFM_Q5_K || wt == TFM_Q2_K) acc = fmaf(-(float)msum, (float)dw->M * (float)da->D, acc);
    return acc;
}

static float reference_dot(tfm_dtype wt, const unsigned char *w, const unsigned char *xq, size_t n)
{
    tfm_dtype at = tfm_quant_vec_dot_type(wt);
    size_t nb = n / bsize(wt), b;
    float acc = 0.0f;
    for (b = 0; b < nb; b++) {
        decoded dw, da;
        decode_block(wt, w + b * bbytes(wt), &dw);
        decode_block(at, xq + b * bbytes(at), &da);
        acc = reference_block(wt, &dw, &da, acc);
    }
    return acc;
}

/* float64 dot of the dequantized weights and dequantized activations */
static double dequantized_dot(tfm_dtype wt, const unsigned char *w, const unsigned char *xq, size_t n)
{
    float *a = (float *)tt_alloc(n * 4), *b = (float *)tt_alloc(n * 4);
    double s = 0;
    size_t i;
    tfm_dequantize_row(wt, w, a, n);
    tfm_dequantize_row(tfm_quant_vec_dot_type(wt), xq, b, n);
    for (i = 0; i < n; i++) s += (double)a[i] * b[i];
    free(a);
    free(b);
    return s;
}

/* With unit scales every float step is exact, so the result is the integer dot itself: checks the
   integer part of the compiled SIMD path against plain integer arithmetic. */
static void test_integer_part_exact(void)
{
    size_t wi;
    tt_seed(41);
    for (wi = 0; wi < N_WEIGHT_TYPES; wi++) {
        tfm_dtype wt = weight_types[wi], at = tfm_quant_vec_dot_type(wt);
        size_t nb = bsize(wt) == 32 ? 9 : 2, n = nb * bsize(wt), b;
        unsigned char *w = (unsigned char *)tt_alloc(nb * bbytes(wt)), *xq = (unsigned char *)tt_alloc(nb * bbytes(at));
        long long want = 0, absum = 0;
        float got = -1.0f;
        int trial;
        for (trial = 0; trial < 20; trial++) {
            want = absum = 0;
            random_blocks(wt, w, nb);
            random_blocks(at, xq, nb);
            for (b = 0; b < nb; b++) {
                unsigned char *wb = w + b * bbytes(wt), *ab = xq + b * bbytes(at);
                decoded dw, da;
                int e;
                float one = 1.0f;
                /* unit scales; zero q4_1 / q5_1 minimum (it adds m * s, not an integer), unit k-quant
                   minimum; sub-block scales kept small where the sums could leave float's exact range */
                wb[d_at(wt)] = 0x00, wb[d_at(wt) + 1] = 0x3c;
                if (m_at(wt) >= 0) wb[m_at(wt)] = 0x00, wb[m_at(wt) + 1] = wt == TFM_Q4_1 || wt == TFM_Q5_1 ? 0x00 : 0x3c;
                if (wt == TFM_Q6_K)
                    for (e = 0; e < 16; e++) wb[192 + e] = (unsigned char)(wb[192 + e] % 7);
                if (wt == TFM_Q5_K)
                    for (e = 0; e < 12; e++) wb[4 + e] &= 0x33;
                if (wt == TFM_IQ4_XS) {
                    wb[2] = wb[3] = 0xaa; /* top bits 2: scale = low nibble */
                    for (e = 0; e < 4; e++) wb[4 + e] &= 0x33;
                }
                if (at == TFM_Q8_K) memcpy(ab, &one, 4);
                else ab[0] = 0x00, ab[1] = 0x3c;
                decode_block(wt, wb, &dw);
                decode_block(at, ab, &da);
                for (e = 0; e < dw.n; e++) {
                    long long term = (long long)dw.sc[e] * dw.q[e] * da.q[e];
                    want += term;
                    absum += term < 0 ? -term : term;
                }
                for (e = 0; e < dw.n; e++) { /* the k-quants' mins (0 elsewhere) */
                    want -= (long long)dw.mn[e] * da.q[e];
                    absum += (long long)dw.mn[e] * (da.q[e] < 0 ? -da.q[e] : da.q[e]);
                }
            }
            TT_ASSERT(absum < (1LL << 24), "test precondition: partial sums must stay exact in float");
            TT_ASSERT(tfm_quant_vec_dot(wt, w, xq, n, &got) == TFM_OK, "vec_dot %s", tfm_dtype_name(wt));
            TT_ASSERT((double)got == (double)want, "%s: integer dot %lld, got %.1f", tfm_dtype_name(wt), want, got);
        }
        free(w);
        free(xq);
    }
}

static void test_vec_dot(void)
{
    size_t wi;
    tt_seed(51);
    for (wi = 0; wi < N_WEIGHT_TYPES; wi++) {
        tfm_dtype wt = weight_types[wi], at = tfm_quant_vec_dot_type(wt);
        size_t counts[3], ci;
        counts[0] = 1;
        counts[1] = 3;
        counts[2] = bsize(wt) == 32 ? 37 : 5;
        for (ci = 0; ci < 3; ci++) {
            size_t nb = counts[ci], n = nb * bsize(wt), i;
            float *wf = (float *)tt_alloc(n * 4), *xf = (float *)tt_alloc(n * 4), got;
            unsigned char *w = (unsigned char *)tt_alloc(nb * bbytes(wt)), *xq = (unsigned char *)tt_alloc(nb * bbytes(at));
            double exact = 0, mag = 0, deq;
            tt_fill(wf, n, -1.0f, 1.0f);
            tt_fill(xf, n, -2.0f, 2.0f);
            TT_ASSERT(tfm_quantize_row(wt, wf, w, n) == TFM_OK && tfm_quantize_row(at, xf, xq, n) == TFM_OK, "quantize");
            TT_ASSERT(tfm_quant_vec_dot(wt, w, xq, n, &got) == TFM_OK, "vec_dot");
            TT_ASSERT(got == reference_dot(wt, w, xq, n), "%s n=%zu: %.9g, documented order gives %.9g", tfm_dtype_name(wt), n, got,
                      reference_dot(wt, w, xq, n));
            deq = dequantized_dot(wt, w, xq, n);
            TT_ASSERT(fabs(got - deq) <= 1e-5 * (fabs(deq) + 1) + (wt == TFM_Q4_1 || wt == TFM_Q5_1 ? 2e-3 * nb : 0),
                      "%s: %.9g vs dequantized %.9g", tfm_dtype_name(wt), got, deq);
            for (i = 0; i < n; i++) {
                exact += (double)wf[i] * xf[i];
                mag += fabs((double)wf[i] * xf[i]);
            }
            /* weights within ~1/15 of their range (2 and 3 bits: 1/3, 1/7), activations within 1/254: a few %
               of sum |w x| */
            TT_ASSERT(fabs(got - exact) <= (wt == TFM_Q2_K ? 0.15 : wt == TFM_Q3_K ? 0.1 : 0.06) * mag, "%s: %.6g vs unquantized %.6g (sum |wx| %.3g)", tfm_dtype_name(wt), got, exact, mag);
            free(wf);
            free(xf);
            free(w);
            free(xq);
        }
    }
}

/* real llama.cpp Q4_0 blocks through gemv against the documented order */
static void test_gemv_on_synth15m_blocks(void)
{
    const char *path = tt_shared("models/synth15M-q4_0.gguf");
    gg_file g;
    const gg_tensor *t;
    size_t rows, cols, row_bytes, r;
    float *x, *y;
    unsigned char *xq, *w;
    if (!path) TT_SKIP("synth15M-q4_0.gguf not found");
    TT_ASSERT(gg_open(&g, path), "cannot parse synth15M-q4_0.gguf");
    t = gg_find(&g, "blk.0.ffn_gate.weight");
    TT_ASSERT(t && t->type == TFM_Q4_0, "blk.0.ffn_gate.weight is not Q4_0");
    cols = (size_t)t->ne[0];
    rows = (size_t)t->ne[1];
    row_bytes = cols / 32 * 18;
    TT_ASSERT(g.data_start + t->offset + rows * row_bytes <= g.size, "tensor out of file");
    w = (unsigned char *)tt_alloc(rows * row_bytes);
    memcpy(w, g.data + g.data_start + t->offset, rows * row_bytes);
    x = (float *)tt_alloc(cols * 4);
    y = (float *)tt_alloc(rows * 4);
    xq = (unsigned char *)tt_alloc(cols / 32 * 34);
    tt_seed(61);
    tt_fill(x, cols, -1.0f, 1.0f);
    TT_ASSERT(tfm_quant_gemv(y, TFM_Q4_0, w, x, (int)rows, (int)cols, 2) == TFM_OK, "gemv");
    tfm_quantize_row(TFM_Q8_0, x, xq, cols);
    for (r = 0; r < rows; r++) {
        float want = reference_dot(TFM_Q4_0, w + r * row_bytes, xq, cols);
        TT_ASSERT(y[r] == want, "row %zu: %.9g, documented order %.9g", r, y[r], want);
    }
    free(w);
    free(x);
    free(y);
    free(xq);
    gg_close(&g);
}

/* gemv and gemm against the documented order, every shape, 1 vs 2 threads bit for bit. 13 rows (the
   decoded-tiles kernel) by 49 and 67 outputs: row-tiles in pairs, a full one alone, a cut last one alone,
   split differently by 1 and 2 threads. */
static void test_gemv_gemm(void)
{
    static const int ms[] = {1, 2, 7, 13, 128};
    static const int ns[] = {1, 3, 4, 5, 49, 67};
    size_t wi;
    tt_seed(71);
    for (wi = 0; wi < N_WEIGHT_TYPES; wi++) {
        tfm_dtype wt = weight_types[wi], at = tfm_quant_vec_dot_type(wt);
        size_t ks[3], ki, mi, ni;
        ks[0] = bsize(wt);
        ks[1] = bsize(wt) * (bsize(wt) == 32 ? 11 : 3);
        ks[2] = bsize(wt) * (bsize(wt) == 32 ? 37 : 5); /* past one K chunk of the gemm tiles */
        for (ki = 0; ki < 3; ki++)
            for (ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
                for (mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                    int k = (int)ks[ki], n = ns[ni], m = ms[mi], r, c;
                    size_t row_bytes = (size_t)k / bsize(wt) * bbytes(wt), xq_bytes = (size_t)k / bsize(at) * bbytes(at);
                    size_t ldx = (size_t)k + 3, ldy = (size_t)n + 2;
                    float *x = (float *)tt_alloc((size_t)m * ldx * 4);
                    float *y1 = (float *)tt_alloc((size_t)m * ldy * 4), *y2 = (float *)tt_alloc((size_t)m * ldy * 4);
                    unsigned char *w = (unsigned char *)tt_alloc((size_t)n * row_bytes), *xq = (unsigned char *)tt_alloc(xq_bytes);
                    size_t nb = (size_t)k / bsize(wt), b;
                    decoded *dw, *da;
                    if ((m == 128 && (n > 5 || ki == 0)) || (m == 13 && n < 49)) { /* keep the runtime small */
                        free(x); free(y1); free(y2); free(w); free(xq);
                        continue;
                    }
                    dw = (decoded *)tt_alloc(sizeof(decoded) * (size_t)n * nb), da = (decoded *)tt_alloc(sizeof(decoded) * nb);
                    tt_fill(x, (size_t)m * ldx, -3.0f, 3.0f);
                    TT_ASSERT(pool_matrix(wi, w, n, k), "quantize matrix");
                    memset(y1, 0x7f, (size_t)m * ldy * 4);
                    memcpy(y2, y1, (size_t)m * ldy * 4);
                    if (m == 1) {
                        TT_ASSERT(tfm_quant_gemv(y1, wt, w, x, n, k, 1) == TFM_OK, "gemv");
                        TT_ASSERT(tfm_quant_gemv(y2, wt, w, x, n, k, 2) == TFM_OK, "gemv 2 threads");
                    } else {
                        TT_ASSERT(tfm_quant_gemm(y1, ldy, x, ldx, wt, w, m, n, k, 1) == TFM_OK, "gemm");
                        TT_ASSERT(tfm_quant_gemm(y2, ldy, x, ldx, wt, w, m, n, k, 2) == TFM_OK, "gemm 2 threads");
                    }
                    TT_ASSERT(memcmp(y1, y2, (size_t)m * ldy * 4) == 0, "%s m=%d n=%d k=%d: 1 vs 2 threads differ", tfm_dtype_name(wt), m, n, k);
                    /* reference_dot's order, each block decoded once (decoding it for every output was most of
                       the test's time where the test is not optimised) */
                    for (r = 0; r < n; r++)
                        for (b = 0; b < nb; b++) decode_block(wt, w + (size_t)r * row_bytes + b * bbytes(wt), &dw[(size_t)r * nb + b]);
                    for (c = 0; c < m; c++) {
                        tfm_quantize_row(at, x + (size_t)c * ldx, xq, (size_t)k);
                        for (b = 0; b < nb; b++) decode_block(at, xq + b * bbytes(at), &da[b]);
                        for (r = 0; r < n; r++) {
                            float want = 0.0f;
                            for (b = 0; b < nb; b++) want = reference_block(wt, &dw[(size_t)r * nb + b], &da[b], want);
                            TT_ASSERT(y1[(size_t)c * ldy + (size_t)r] == want, "%s m=%d n=%d k=%d y[%d][%d] = %.9g, want %.9g", tfm_dtype_name(wt),
                                      m, n, k, c, r, y1[(size_t)c * ldy + (size_t)r], want);
                        }
                    }
                    free(x); free(y1); free(y2); free(w); free(xq); free(dw); free(da);
                }
    }
}

/* gemv against the documented order around the 16-row blocks of the AVX-512 kernels and the 4-block
   groups of their activations, 1 vs 2 threads bit for bit, on both sides of the threading threshold
   (512K multiply-adds: 1041 rows x 512 columns is above it) */
static void test_gemv_row_blocks(void)
{
    static const int rows[] = {1, 15, 16, 17, 31, 33, 47, 300, 1041};
    static const int blocks[] = {1, 2, 3, 4, 5, 8, 9, 16};
    size_t wi, ri, bi;
    tt_seed(73);
    for (wi = 0; wi < N_WEIGHT_TYPES; wi++) {
        tfm_dtype wt = weight_types[wi], at = tfm_quant_vec_dot_type(wt);
        for (ri = 0; ri < sizeof rows / sizeof rows[0]; ri++)
            for (bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
                int n = rows[ri], k = blocks[bi] * (int)bsize(wt), r;
                size_t row_bytes = (size_t)k / bsize(wt) * bbytes(wt);
                float *x, *y1, *y2;
                unsigned char *w, *xq;
                /* runtime: the k-quants (slow to quantize) have no 4-block groups to cover; 1041 rows only
                   with 512 columns */
                if (bsize(wt) == 256 && (blocks[bi] > 2 || (n > 33 && n != 1041))) continue;
                if (n > 300 && blocks[bi] * (int)bsize(wt) != 512) continue;
                x = (float *)tt_alloc((size_t)k * 4);
                y1 = (float *)tt_alloc((size_t)n * 4), y2 = (float *)tt_alloc((size_t)n * 4);
                w = (unsigned char *)tt_alloc((size_t)n * row_bytes), xq = (unsigned char *)tt_alloc((size_t)k / bsize(at) * bbytes(at));
                tt_fill(x, (size_t)k, -2.0f, 2.0f);
                TT_ASSERT(pool_matrix(wi, w, n, k), "quantize");
                TT_ASSERT(tfm_quant_gemv(y1, wt, w, x, n, k, 1) == TFM_OK, "gemv");
                TT_ASSERT(tfm_quant_gemv(y2, wt, w, x, n, k, 2) == TFM_OK, "gemv 2 threads");
                TT_ASSERT(memcmp(y1, y2, (size_t)n * 4) == 0, "%s %dx%d: 1 vs 2 threads differ", tfm_dtype_name(wt), n, k);
                tfm_quantize_row(at, x, xq, (size_t)k);
                for (r = 0; r < n; r++) {
                    float want = reference_dot(wt, w + (size_t)r * row_bytes, xq, (size_t)k);
                    TT_ASSERT(y1[r] == want, "%s %dx%d row %d: %.9g, want %.9g", tfm_dtype_name(wt), n, k, r, y1[r], want);
                }
                free(x); free(y1); free(y2); free(w); free(xq);
            }
    }
}

/* the load-time repack: packed gemv (whole, row ranges, 1 and 2 threads) and gemm equal the plain
   layout's bit for bit, which the tests above tie to the documented order */
static void test_packed(void)
{
    static const int rows[] = {1, 15, 16, 17, 33, 300, 1041}; /* the last (x 512 columns) above the threading threshold */
    static const int blocks[] = {1, 3, 4, 9, 37, 16};
    static const int ms[] = {1, 2, 3, 4, 7};
    size_t wi, ri, bi, mi;
    tt_seed(79);
    for (wi = 0; wi < N_WEIGHT_TYPES; wi++) {
        tfm_dtype wt = weight_types[wi];
        if (!tfm_quant_packable(wt)) {
            tfm_quant_packed p;
            unsigned char w[210 * 2];
            memset(w, 0, sizeof w);
            TT_CHECK(tfm_quant_pack(&p, wt, w, 2, (int)bsize(wt), 1) == TFM_ERR_UNSUPPORTED && p.data == NULL);
            continue;
        }
        for (ri = 0; ri < sizeof rows / sizeof rows[0]; ri++)
            for (bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
                /* 1041 rows only with 512 columns; the k-quants (slow to quantize) on fewer shapes */
                int kq = bsize(wt) == 256, nbk = kq ? 1 + blocks[bi] % 4 : blocks[bi];
                int n = rows[ri], k = nbk * (int)bsize(wt), m = 7, r0, i;
                size_t row_bytes = (size_t)nbk * bbytes(wt), ldy = (size_t)n + 3;
                float *x = (float *)tt_alloc((size_t)m * k * 4);
                float *y1 = (float *)tt_alloc((size_t)m * ldy * 4), *y2 = (float *)tt_alloc((size_t)m * ldy * 4);
                unsigned char *w = (unsigned char *)tt_alloc((size_t)n * row_bytes);
                tfm_quant_packed p;
                int keep = n > 300 ? k == 512 && (!kq || bi == 0) : k != 512 && (!kq || bi == 1 || bi == 2);
                if (!keep) {
                    free(x); free(y1); free(y2); free(w);
                    continue;
                }
                tt_fill(x, (size_t)m * k, -2.0f, 2.0f);
                TT_ASSERT(pool_matrix(wi, w, n, k), "quantize");
                TT_ASSERT(tfm_quant_pack(&p, wt, w, n, k, 1 + (int)(ri % 2)) == TFM_OK, "pack %s %dx%d", tfm_dtype_name(wt), n, k);
                /* the original's size, padded to 16 rows, plus at most 64 bytes per block of 16 rows (2.8% for q4_k) */
                TT_ASSERT(p.bytes <= (size_t)(n + 15) / 16 * (16 * row_bytes + (kq ? (size_t)nbk * 64 : 64)), "packed %zu bytes", p.bytes);
                TT_ASSERT(tfm_quant_gemv(y1, wt, w, x, n, k, 1) == TFM_OK, "gemv");
                for (i = 1; i <= 2; i++) {
                    memset(y2, 0, (size_t)n * 4);
                    TT_ASSERT(tfm_quant_packed_gemv(y2, &p, x, 0, n, i) == TFM_OK, "packed gemv");
                    TT_ASSERT(memcmp(y1, y2, (size_t)n * 4) == 0, "%s %dx%d, %d threads: packed gemv differs", tfm_dtype_name(wt), n, k, i);
                }
                for (r0 = 0; r0 < n; r0 += 7) { /* ranges cutting the 16-row tiles anywhere */
                    int r1 = r0 + 1 + (r0 * 5) % 23 < n ? r0 + 1 + (r0 * 5) % 23 : n;
                    float sentinel = -7.0f;
                    y2[r1 - r0] = sentinel;
                    TT_ASSERT(tfm_quant_packed_gemv(y2, &p, x, r0, r1, 1) == TFM_OK, "packed gemv range");
                    TT_ASSERT(memcmp(y1 + r0, y2, (size_t)(r1 - r0) * 4) == 0 && y2[r1 - r0] == sentinel,
                              "%s %dx%d rows %d..%d: packed gemv range differs", tfm_dtype_name(wt), n, k, r0, r1);
                }
                for (mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                    int mm = ms[mi];
                    TT_ASSERT(tfm_quant_gemm(y1, ldy, x, (size_t)k, wt, w, mm, n, k, 1) == TFM_OK, "gemm");
                    memset(y2, 0, (size_t)m * ldy * 4);
                    TT_ASSERT(tfm_quant_packed_gemm(y2, ldy, x, (size_t)k, &p, mm, 1 + (int)(mi % 2), NULL, 0) == TFM_OK, "packed gemm");
                    for (i = 0; i < mm; i++)
                        TT_ASSERT(memcmp(y1 + (size_t)i * ldy, y2 + (size_t)i * ldy, (size_t)n * 4) == 0,
                                  "%s %dx%d m=%d: packed gemm row %d differs", tfm_dtype_name(wt), n, k, mm, i);
                }
                tfm_quant_packed_free(&p);
                TT_CHECK(p.data == NULL);
                free(x); free(y1); free(y2); free(w);
            }
    }
}

/* How far the documented order may lie from the float64 dot of the dequantized operands: the float
   rounding of the sum, plus for q4_1 and q5_1 the activations' s = d * sum(q) stored in fp16 (the
   format's, as GGML's: the kernel's m * s term carries s's rounding, at most 2^-11 of it). */
static double few_rows_tolerance(tfm_dtype wt, const unsigned char *w, const unsigned char *xq, size_t n, double want)
{
    tfm_dtype at = tfm_quant_vec_dot_type(wt);
    double tol = 1e-5 * (1.0 + fabs(want)) + 1e-6 * (double)n;
    size_t b;
    if (wt == TFM_Q4_1 || wt == TFM_Q5_1)
        for (b = 0; b < n / bsize(wt); b++) {
            decoded dw, da;
            decode_block(wt, w + b * bbytes(wt), &dw);
            decode_block(at, xq + b * bbytes(at), &da);
            tol += fabs(dw.M) * fabs(da.s) * ldexp(1.0, -10);
        }
    return tol;
}

/* A decode step of a few sequences (tfm_forward_batch): 2 to 9 activation rows through the kernel that
   decodes each block once for 4 of them (9: the decode-once-then-mm path), GGML rows and packed, 1 and
   2 threads, on 37 rows (a partial 16-row tile) and an odd number of blocks: every row equals the
   documented order (reference_dot) bit for bit, and the float64 dot of the dequantized operands within
   few_rows_tolerance. */
static void test_gemm_few_rows(void)
{
    const int n = 37, m_max = 9;
    size_t wi;
    tt_seed(83);
    for (wi = 0; wi < N_WEIGHT_TYPES; wi++) {
        tfm_dtype wt = weight_types[wi], at = tfm_quant_vec_dot_type(wt);
        const int k = (int)bsize(wt) * (bsize(wt) == 32 ? 13 : 3);
        const size_t row_bytes = (size_t)k / bsize(wt) * bbytes(wt), xq_bytes = (size_t)k / bsize(at) * bbytes(at);
        const size_t ldx = (size_t)k + 5, ldy = (size_t)n + 3;
        float *wf = (float *)tt_alloc((size_t)n * k * 4), *x = (float *)tt_alloc((size_t)m_max * ldx * 4);
        float *y = (float *)tt_alloc((size_t)m_max * ldy * 4);
        unsigned char *w = (unsigned char *)tt_alloc((size_t)n * row_bytes), *xq = (unsigned char *)tt_alloc((size_t)m_max * xq_bytes);
        tfm_quant_packed p;
        int m, r, c, packed, threads;
        tt_fill(wf, (size_t)n * k, -1.0f, 1.0f);
        tt_fill(x, (size_t)m_max * ldx, -3.0f, 3.0f);
        TT_ASSERT(tfm_quantize(wt, wf, w, (size_t)n, (size_t)k, 1) == TFM_OK, "quantize");
        TT_ASSERT(tfm_quant_pack(&p, wt, w, n, k, 1) == TFM_OK, "pack");
        for (c = 0; c < m_max; c++) tfm_quantize_row(at, x + (size_t)c * ldx, xq + (size_t)c * xq_bytes, (size_t)k);
        for (m = 2; m <= m_max; m++) {
            if (tt_quick() && m != 2 && m != 5 && m != 8) continue;
            for (packed = 0; packed < 2; packed++)
                for (threads = 1; threads <= 2; threads++) {
                    const float sentinel = -7.0f;
                    for (c = 0; c < m_max * (int)ldy; c++) y[c] = sentinel;
                    TT_ASSERT((packed ? tfm_quant_packed_gemm(y, ldy, x, ldx, &p, m, threads, NULL, 0)
                                      : tfm_quant_gemm(y, ldy, x, ldx, wt, w, m, n, k, threads)) == TFM_OK, "gemm");
                    for (c = 0; c < m_max; c++)
                        for (r = 0; r < (int)ldy; r++) {
                            const float got = y[(size_t)c * ldy + (size_t)r];
                            const unsigned char *wr = w + (size_t)r * row_bytes, *xr = xq + (size_t)c * xq_bytes;
                            if (c >= m || r >= n) {
                                TT_ASSERT(got == sentinel, "%s m=%d: y[%d][%d] written outside the output", tfm_dtype_name(wt), m, c, r);
                                continue;
                            }
                            TT_ASSERT(got == reference_dot(wt, wr, xr, (size_t)k), "%s m=%d %s %d threads: y[%d][%d] = %.9g, documented order %.9g",
                                      tfm_dtype_name(wt), m, packed ? "packed" : "rows", threads, c, r, got, reference_dot(wt, wr, xr, (size_t)k));
                            if (!packed && threads == 1) {
                                double want = dequantized_dot(wt, wr, xr, (size_t)k);
                                TT_ASSERT(fabs(got - want) <= few_rows_tolerance(wt, wr, xr, (size_t)k, want),
                                          "%s m=%d: y[%d][%d] = %.9g, float64 %.9g", tfm_dtype_name(wt), m, c, r, got, want);
                            }
                        }
                }
        }
        tfm_quant_packed_free(&p);
        free(wf); free(x); free(y); free(w); free(xq);
    }
}

static void test_packed_bad_input(void)
{
    unsigned char w[2 * 34];
    float x[64], y[2];
    tfm_quant_packed p;
    memset(w, 0, sizeof w);
    memset(x, 0, sizeof x);
    TT_CHECK(tfm_quant_pack(NULL, TFM_Q8_0, w, 2, 32, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_pack(&p, TFM_Q8_0, NULL, 2, 32, 1) == TFM_ERR_INVALID_ARGUMENT && p.data == NULL);
    TT_CHECK(tfm_quant_pack(&p, TFM_Q8_0, w, 0, 32, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_pack(&p, TFM_Q8_K, w, 1, 256, 1) == TFM_ERR_UNSUPPORTED); /* an activation format */
    TT_CHECK(tfm_quant_packed_gemv(y, NULL, x, 0, 1, 1) == TFM_ERR_INVALID_ARGUMENT);
    if (!tfm_quant_packable(TFM_Q8_0)) return;
    TT_CHECK(tfm_quant_pack(&p, TFM_Q8_0, w, 1, 48, 1) == TFM_ERR_SHAPE);
    TT_ASSERT(tfm_quant_pack(&p, TFM_Q8_0, w, 2, 32, 1) == TFM_OK, "pack");
    TT_CHECK(tfm_quant_packed_gemv(y, &p, x, 1, 1, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_packed_gemv(y, &p, x, 0, 3, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_packed_gemv(y, &p, x, -1, 1, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_packed_gemv(NULL, &p, x, 0, 1, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_packed_gemm(y, 1, x, 32, &p, 1, 1, NULL, 0) == TFM_ERR_INVALID_ARGUMENT); /* ldy < rows */
    TT_CHECK(tfm_quant_packed_gemm(y, 2, x, 32, &p, 1, 1, x, 1) == TFM_ERR_INVALID_ARGUMENT);    /* workspace too small */
    TT_CHECK(tfm_quant_packed_gemv(y, &p, x, 0, 2, 1) == TFM_OK && y[0] == 0.0f && y[1] == 0.0f);
    tfm_quant_packed_free(&p);
    tfm_quant_packed_free(NULL);
}

static void test_float_weights_forwarded(void)
{
    float w[6 * 40], x[2 * 40], y1[12], y2[12];
    tt_seed(81);
    tt_fill(w, 240, -1.0f, 1.0f);
    tt_fill(x, 80, -1.0f, 1.0f);
    TT_CHECK(tfm_quant_gemv(y1, TFM_F32, w, x, 6, 40, 1) == TFM_OK);
    TT_CHECK(tfm_gemv(y2, TFM_F32, w, x, 6, 40, 1) == TFM_OK);
    TT_CHECK(memcmp(y1, y2, 6 * 4) == 0);
    TT_CHECK(tfm_quant_gemm(y1, 6, x, 40, TFM_F32, w, 2, 6, 40, 1) == TFM_OK);
    TT_CHECK(tfm_gemm(y2, 6, x, 40, TFM_F32, w, 2, 6, 40, 1) == TFM_OK);
    TT_CHECK(memcmp(y1, y2, 12 * 4) == 0);
    TT_CHECK(tfm_quant_workspace_size(TFM_F32, 2, 40) == 0);
}

static void test_workspace(void)
{
    float wf[8 * 64], x[3 * 64], y1[24], y2[24];
    unsigned char w[8 * 2 * 34], *ws;
    size_t bytes = tfm_quant_workspace_size(TFM_Q8_0, 3, 64);
    tt_seed(91);
    tt_fill(wf, 512, -1.0f, 1.0f);
    tt_fill(x, 192, -1.0f, 1.0f);
    TT_ASSERT(bytes >= 3 * 2 * 34, "workspace size %zu", bytes);
    TT_CHECK(tfm_quantize(TFM_Q8_0, wf, w, 8, 64, 1) == TFM_OK);
    ws = (unsigned char *)tt_alloc(bytes + 1);
    TT_CHECK(tfm_quant_gemm_ws(y1, 8, x, 64, TFM_Q8_0, w, 3, 8, 64, 1, ws + 1, bytes) == TFM_OK); /* unaligned is fine */
    TT_CHECK(tfm_quant_gemm(y2, 8, x, 64, TFM_Q8_0, w, 3, 8, 64, 1) == TFM_OK);
    TT_CHECK(memcmp(y1, y2, sizeof y1) == 0);
    TT_CHECK(tfm_quant_gemm_ws(y1, 8, x, 64, TFM_Q8_0, w, 3, 8, 64, 1, ws, bytes - 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_gemm_ws(y1, 8, x, 64, TFM_Q8_0, w, 3, 8, 64, 1, NULL, bytes) == TFM_ERR_INVALID_ARGUMENT);
    free(ws);
}

/* at the stack buffer's size and past it (the activation row is then allocated), plain and packed */
static void test_large_cols_gemv(void)
{
    static const tfm_dtype types[] = {TFM_Q6_K, TFM_Q8_0, TFM_Q4_0};
    size_t ti, ci;
    tt_seed(95);
    for (ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (ci = 0; ci < 2; ci++) {
            tfm_dtype wt = types[ti], at = tfm_quant_vec_dot_type(wt);
            int cols = TFM_QUANT_STACK_COLS + (ci ? 256 : 0), rows = 3, r;
            size_t row_bytes = (size_t)cols / bsize(wt) * bbytes(wt);
            float *wf = (float *)tt_alloc((size_t)rows * cols * 4), *x = (float *)tt_alloc((size_t)cols * 4), y[3], yp[3];
            unsigned char *w = (unsigned char *)tt_alloc((size_t)rows * row_bytes);
            unsigned char *xq = (unsigned char *)tt_alloc((size_t)cols / bsize(at) * bbytes(at));
            tfm_quant_packed p;
            tt_fill(wf, (size_t)rows * cols, -1.0f, 1.0f);
            tt_fill(x, (size_t)cols, -1.0f, 1.0f);
            TT_CHECK(tfm_quantize(wt, wf, w, (size_t)rows, (size_t)cols, 1) == TFM_OK);
            TT_CHECK(tfm_quant_gemv(y, wt, w, x, rows, cols, 1) == TFM_OK);
            tfm_quantize_row(at, x, xq, (size_t)cols);
            for (r = 0; r < rows; r++)
                TT_ASSERT(y[r] == reference_dot(wt, w + (size_t)r * row_bytes, xq, (size_t)cols), "%s %d cols row %d", tfm_dtype_name(wt), cols, r);
            if (tfm_quant_pack(&p, wt, w, rows, cols, 1) == TFM_OK) {
                TT_CHECK(tfm_quant_packed_gemv(yp, &p, x, 0, rows, 1) == TFM_OK);
                TT_ASSERT(memcmp(y, yp, sizeof y) == 0, "%s %d cols: packed differs", tfm_dtype_name(wt), cols);
                tfm_quant_packed_free(&p);
            }
            free(wf); free(x); free(w); free(xq);
        }
}

static void test_bad_input(void)
{
    float x[64], y[4];
    unsigned char q[2 * 34 + 4];
    memset(x, 0, sizeof x);
    memset(q, 0, sizeof q);
    TT_CHECK(tfm_quantize_row(TFM_Q8_0, x, q, 48) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_quantize_row(TFM_Q8_0, NULL, q, 32) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quantize_row(TFM_Q8_0, x, NULL, 32) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quantize_row(TFM_Q8_0, x, q, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quantize_row((tfm_dtype)16, x, q, 32) == TFM_ERR_UNSUPPORTED); /* iq2_xxs */
    TT_CHECK(tfm_quantize_row(TFM_I8, x, q, 32) == TFM_ERR_UNSUPPORTED);
    TT_CHECK(tfm_quantize_row(TFM_DTYPE_COUNT, x, q, 32) == TFM_ERR_UNSUPPORTED);
    TT_CHECK(tfm_dequantize_row(TFM_Q4_K, q, x, 64) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_dequantize_row(TFM_Q8_0, q + 1, x, 32) == TFM_ERR_INVALID_ARGUMENT); /* misaligned */
    TT_CHECK(tfm_quant_gemv(y, TFM_Q8_0, q, x, 1, 48, 1) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_quant_gemv(y, TFM_Q4_K, q, x, 1, 64, 1) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_quant_gemv(NULL, TFM_Q8_0, q, x, 1, 32, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_gemv(y, TFM_Q8_0, NULL, x, 1, 32, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_gemv(y, TFM_Q8_0, q, x, 0, 32, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_gemv(y, TFM_I8, q, x, 1, 32, 1) == TFM_ERR_UNSUPPORTED);
    TT_CHECK(tfm_quant_gemv(y, TFM_Q8_K, q, x, 1, 256, 1) == TFM_ERR_UNSUPPORTED); /* an activation format */
    TT_CHECK(tfm_quant_gemv(y, TFM_Q8_0, q + 1, x, 1, 32, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_gemm(y, 1, x, 48, TFM_Q8_0, q, 1, 1, 48, 1) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_quant_gemm(y, 1, x, 16, TFM_Q8_0, q, 2, 1, 32, 1) == TFM_ERR_INVALID_ARGUMENT); /* ldx < k */
    TT_CHECK(tfm_quant_gemm(y, 1, x, 32, (tfm_dtype)16, q, 2, 1, 32, 1) == TFM_ERR_UNSUPPORTED);
    TT_CHECK(tfm_quant_vec_dot(TFM_Q8_0, q, q, 33, y) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_quant_vec_dot(TFM_Q8_0, q, q, 32, NULL) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_quant_vec_dot(TFM_F16, q, q, 32, y) == TFM_ERR_UNSUPPORTED);
    TT_CHECK(tfm_quantize(TFM_Q8_0, x, q, 1, 33, 1) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_quant_workspace_size(TFM_Q8_0, 1, 33) == 0);
    TT_CHECK(tfm_quant_vec_dot_type(TFM_Q4_1) == TFM_Q8_1 && tfm_quant_vec_dot_type(TFM_Q6_K) == TFM_Q8_K);
    TT_CHECK(tfm_quant_vec_dot_type(TFM_Q4_0) == TFM_Q8_0 && tfm_quant_vec_dot_type(TFM_BF16) == TFM_F32);
}

/* non-finite inputs: no crash and no undefined behaviour (the asan configuration checks) */
static void test_non_finite_inputs(void)
{
    size_t f;
    float x[512], back[512];
    unsigned char q[2 * 292];
    int i;
    for (i = 0; i < 512; i++) x[i] = (float)i;
    x[3] = NAN;
    x[40] = INFINITY;
    x[300] = -INFINITY;
    for (f = 0; f < N_FORMATS; f++) {
        TT_CHECK(tfm_quantize_row(formats[f], x, q, 512) == TFM_OK);
        TT_CHECK(tfm_dequantize_row(formats[f], q, back, 512) == TFM_OK);
    }
}

/* Every path this build can run on this CPU (a portable x86-64 build: scalar, avx2, avx512 by
   tfm_simd_select; any other build: its own) gives the same bits as the first of them (scalar) for every weight
   type, GGML rows and packed, gemv and gemm (a few rows: the dot kernel; more: decode + mm), rows and
   columns that leave partial tiles. */
static void test_paths_agree(void)
{
    static const char *const paths[] = {"scalar", "avx2", "avx512", "neon", "neon_dotprod"};
    const char *was = tfm_simd_name();
    const int rows = 37, cols = 512, m = 6;
    float *w = (float *)tt_alloc(sizeof(float) * (size_t)rows * cols), *x = (float *)tt_alloc(sizeof(float) * (size_t)m * cols);
    float *ref = (float *)tt_alloc(sizeof(float) * 2 * (size_t)m * rows), *y = (float *)tt_alloc(sizeof(float) * 2 * (size_t)m * rows);
    void *q = tt_alloc((size_t)cols / 32 * 34 * (size_t)rows); /* q8_0 is the largest weight type */
    size_t t;
    int p, ran = 0;
    tt_fill(w, (size_t)rows * cols, -1.0f, 1.0f);
    tt_fill(x, (size_t)m * cols, -1.0f, 1.0f);
    for (t = 0; t < sizeof weight_types / sizeof weight_types[0]; t++) {
        const tfm_dtype type = weight_types[t];
        tfm_quant_packed packed;
        TT_CHECK(tfm_quantize(type, w, q, (size_t)rows, (size_t)cols, 1) == TFM_OK);
        TT_CHECK(tfm_quant_pack(&packed, type, q, rows, cols, 1) == TFM_OK);
        int have_ref = 0;
        for (p = 0; p < (int)(sizeof paths / sizeof paths[0]); p++) {
            float *out = have_ref ? y : ref;
            int i;
            if (tfm_simd_select(paths[p]) != TFM_OK) continue; /* not this build's, or not this CPU's */
            TT_CHECK(strcmp(tfm_simd_name(), paths[p]) == 0);
            for (i = 0; i < 2; i++) TT_CHECK(tfm_quant_gemv(out + (size_t)i * rows, type, q, x + (size_t)i * cols, rows, cols, 1) == TFM_OK);
            TT_CHECK(tfm_quant_gemm(out + 2 * (size_t)rows, (size_t)rows, x, (size_t)cols, type, q, m - 2, rows, cols, 1) == TFM_OK);
            TT_CHECK(tfm_quant_packed_gemm(out + (size_t)m * rows, (size_t)rows, x, (size_t)cols, &packed, m, 1, NULL, 0) == TFM_OK);
            if (have_ref) {
                TT_ASSERT(memcmp(out, ref, sizeof(float) * 2 * (size_t)m * rows) == 0, "%s on %s differs from the first path",
                          tfm_dtype_name(type), paths[p]);
                ran++;
            }
            have_ref = 1;
        }
        tfm_quant_packed_free(&packed);
    }
    TT_CHECK(tfm_simd_select(was) == TFM_OK);
    if (!ran) printf("  (one path in this build: nothing to compare)\n");
    free(w), free(x), free(ref), free(y), free(q);
}

int main(void)
{
    size_t i;
    printf("simd: %s, threads: %d\n", tfm_simd_name(), tfm_default_threads());
    TT_RUN(test_block_sizes);
    TT_RUN(test_dequantize_matches_hand_decoding);
    TT_RUN(test_known_blocks);
    TT_RUN(test_quantize_error_bounds);
    TT_RUN(test_kquant_nearest_level);
    TT_RUN(test_float_types_round_trip);
    TT_RUN(test_q8_0_equals_llama_cpp);
    TT_RUN(test_quantizers_equal_llama_cpp);
    TT_RUN(test_integer_part_exact);
    TT_RUN(test_vec_dot);
    TT_RUN(test_gemv_on_synth15m_blocks);
    TT_RUN(test_gemv_gemm);
    TT_RUN(test_gemm_few_rows);
    TT_RUN(test_gemv_row_blocks);
    TT_RUN(test_packed);
    TT_RUN(test_packed_bad_input);
    TT_RUN(test_float_weights_forwarded);
    TT_RUN(test_workspace);
    TT_RUN(test_large_cols_gemv);
    TT_RUN(test_bad_input);
    TT_RUN(test_non_finite_inputs);
    TT_RUN(test_paths_agree);
    for (i = 0; i < N_WEIGHT_TYPES; i++) free(block_pool[i]);
    return tt_summary("quant");
}

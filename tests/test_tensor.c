/* Tests of tfm_tensor.h: every kernel against a float64 loop written plainly here. */
#include "tfm_test.h"
#include "tfm_tensor.h"

static const size_t sizes[] = {1, 7, 31, 33, 127, 1000, 4097};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* ---------------------------------------------------------------- independent references */

/* binary16 bits -> value, decoded field by field in double */
static double ref_f16(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) return m ? NAN : (sign ? -INFINITY : INFINITY);
    v = e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, e - 25);
    return sign ? -v : v;
}

static double ref_bf16(uint16_t h)
{
    int sign = h >> 15, e = (h >> 7) & 255, m = h & 127;
    double v;
    if (e == 255) return m ? NAN : (sign ? -INFINITY : INFINITY);
    v = e == 0 ? ldexp((double)m, -133) : ldexp(128.0 + m, e - 134);
    return sign ? -v : v;
}

/* nearest value on a binary grid with `mant_bits` fraction bits and minimum exponent `emin`,
   ties to even, overflow at `overflow` (the halfway point past the largest finite value) */
static double ref_round(double x, int mant_bits, int emin, double overflow)
{
    double a = fabs(x), ulp, q, r;
    int e;
    if (a >= overflow) return x < 0 ? -INFINITY : INFINITY;
    if (a == 0) return x;
    e = ilogb(a);
    if (e < emin) e = emin;
    ulp = ldexp(1.0, e - mant_bits);
    q = a / ulp;
    r = floor(q);
    if (q - r > 0.5 || (q - r == 0.5 && fmod(r, 2.0) == 1.0)) r += 1.0;
    r *= ulp;
    return x < 0 ? -r : r;
}

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void random_floats(float *x, size_t n) { tt_fill(x, n, -1.0f, 1.0f); }

/* ---------------------------------------------------------------- conversions */

static void test_f16_to_f32_all_patterns(void)
{
    static float row[65536];
    static uint16_t in[65536];
    uint32_t h;
    for (h = 0; h < 65536; h++) in[h] = (uint16_t)h;
    tfm_f16_to_f32_row(row, in, 65536);
    for (h = 0; h < 65536; h++) {
        float got = tfm_f16_to_f32((uint16_t)h);
        double want = ref_f16((uint16_t)h);
        TT_ASSERT(tt_close(got, want, 0, 0), "f16 %04x -> %g, want %g", (unsigned)h, got, want);
        if (want == 0) TT_ASSERT(!signbit(got) == !signbit(want), "sign of zero %04x", (unsigned)h);
        TT_ASSERT(memcmp(&row[h], &got, 4) == 0 || (got != got && row[h] != row[h]),
                  "row conversion differs from scalar at %04x", (unsigned)h);
    }
}

static void test_f32_to_f16_roundtrip_all_patterns(void)
{
    static uint16_t back[65536];
    static float values[65536];
    uint32_t h;
    for (h = 0; h < 65536; h++) values[h] = (float)ref_f16((uint16_t)h);
    tfm_f32_to_f16_row(back, values, 65536);
    for (h = 0; h < 65536; h++) {
        uint16_t got = tfm_f32_to_f16(values[h]);
        int is_nan = ((h >> 10) & 31) == 31 && (h & 1023);
        if (is_nan) {
            TT_ASSERT((got & 0x7c00) == 0x7c00 && (got & 0x3ff), "NaN %04x -> %04x", (unsigned)h, got);
            TT_ASSERT((back[h] & 0x7c00) == 0x7c00 && (back[h] & 0x3ff), "row NaN %04x", (unsigned)h);
        } else {
            TT_ASSERT(got == h, "f16 %04x round trip gives %04x", (unsigned)h, got);
            TT_ASSERT(back[h] == h, "row round trip %04x gives %04x", (unsigned)h, back[h]);
        }
    }
}

static void check_f32_to_f16(float f, const char **failure)
{
    uint16_t got = tfm_f32_to_f16(f), row;
    double want = ref_round((double)f, 10, -14, 65520.0);
    tfm_f32_to_f16_row(&row, &f, 1);
    if (f != f) {
        if (!((got & 0x7c00) == 0x7c00 && (got & 0x3ff))) *failure = "NaN did not stay NaN";
        return;
    }
    if (got != row) *failure = "row and scalar conversions differ";
    else if (!tt_close(ref_f16(got), want, 0, 0)) *failure = "wrong rounding";
    else if (!signbit(ref_f16(got)) != !signbit(f)) *failure = "wrong sign";
}

static void test_f32_to_f16_rounding(void)
{
    const char *failure = NULL;
    uint32_t h, i;
    float batch[64], expect_buf[64];
    uint16_t out[64];
    /* every midpoint between adjacent f16 values, and one f32 ulp either side of it */
    for (h = 0; h < 0x7bff && !failure; h++) {
        double lo = ref_f16((uint16_t)h), hi = ref_f16((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2); /* exact: f16 midpoints are representable in f32 */
        uint32_t mb;
        memcpy(&mb, &mid, 4);
        check_f32_to_f16(mid, &failure);
        check_f32_to_f16(-mid, &failure);
        if (mb > 0) check_f32_to_f16(bits_to_f32(mb - 1), &failure);
        check_f32_to_f16(bits_to_f32(mb + 1), &failure);
        if (failure) TT_ASSERT(0, "%s near f16 %04x (mid %.10g)", failure, (unsigned)h, mid);
    }
    /* random bit patterns: every exponent, NaN, Inf, subnormal f32 */
    tt_seed(1);
    for (i = 0; i < 400000 && !failure; i++) {
        float f = bits_to_f32((uint32_t)tt_next());
        check_f32_to_f16(f, &failure);
        if (failure) TT_ASSERT(0, "%s for %.10g", failure, f);
    }
    /* overflow threshold and beyond */
    check_f32_to_f16(65504.0f, &failure);
    check_f32_to_f16(65519.99f, &failure);
    check_f32_to_f16(65520.0f, &failure);
    check_f32_to_f16(1e30f, &failure);
    check_f32_to_f16(INFINITY, &failure);
    check_f32_to_f16(-INFINITY, &failure);
    TT_ASSERT(!failure, "%s at the overflow threshold", failure);
    /* the vector path on full vectors of mixed values */
    for (i = 0; i < 64; i++) batch[i] = bits_to_f32((uint32_t)tt_next() & 0x47ffffffu);
    tfm_f32_to_f16_row(out, batch, 64);
    for (i = 0; i < 64; i++) {
        expect_buf[i] = (float)ref_round(batch[i], 10, -14, 65520.0);
        TT_ASSERT(tt_close(ref_f16(out[i]), expect_buf[i], 0, 0) || batch[i] != batch[i], "vector lane %u", (unsigned)i);
    }
}

static void test_bf16_all_patterns(void)
{
    static float row[65536];
    static uint16_t in[65536], back[65536];
    uint32_t h;
    for (h = 0; h < 65536; h++) in[h] = (uint16_t)h;
    tfm_bf16_to_f32_row(row, in, 65536);
    tfm_f32_to_bf16_row(back, row, 65536);
    for (h = 0; h < 65536; h++) {
        float got = tfm_bf16_to_f32((uint16_t)h);
        double want = ref_bf16((uint16_t)h);
        int is_nan = ((h >> 7) & 255) == 255 && (h & 127);
        TT_ASSERT(tt_close(got, want, 0, 0), "bf16 %04x -> %g, want %g", (unsigned)h, got, want);
        TT_ASSERT(memcmp(&row[h], &got, 4) == 0, "row bf16 conversion differs at %04x", (unsigned)h);
        if (is_nan) {
            uint16_t s = tfm_f32_to_bf16(got);
            TT_ASSERT((s & 0x7f80) == 0x7f80 && (s & 0x7f) && (back[h] & 0x7f), "bf16 NaN %04x", (unsigned)h);
        } else {
            TT_ASSERT(tfm_f32_to_bf16(got) == h && back[h] == h, "bf16 round trip %04x", (unsigned)h);
        }
    }
}

static void test_f32_to_bf16_rounding(void)
{
    uint32_t i;
    float batch[48];
    uint16_t out[48];
    tt_seed(2);
    for (i = 0; i < 400000; i++) {
        uint32_t bits = (uint32_t)tt_next();
        float f;
        uint16_t got, row;
        double want;
        if (i % 4 == 0) bits = (bits & 0xffff0000u) | 0x8000u; /* exact ties */
        f = bits_to_f32(bits);
        got = tfm_f32_to_bf16(f);
        tfm_f32_to_bf16_row(&row, &f, 1);
        TT_ASSERT(got == row, "row/scalar differ for %08x", (unsigned)bits);
        if (f != f) {
            TT_ASSERT((got & 0x7f80) == 0x7f80 && (got & 0x7f), "NaN %08x", (unsigned)bits);
            continue;
        }
        /* bf16 overflows at the midpoint between its largest value and 2^128 */
        want = ref_round(f, 7, -126, ldexp(255.5, 120));
        TT_ASSERT(tt_close(ref_bf16(got), want, 0, 0), "bf16 of %08x = %04x (%g), want %g", (unsigned)bits, got,
                  ref_bf16(got), want);
    }
    for (i = 0; i < 48; i++) batch[i] = bits_to_f32((uint32_t)tt_next());
    tfm_f32_to_bf16_row(out, batch, 48);
    for (i = 0; i < 48; i++) TT_ASSERT(out[i] == tfm_f32_to_bf16(batch[i]), "vector lane %u", (unsigned)i);
}

/* ---------------------------------------------------------------- elementwise kernels */

static void test_dot_axpy_scale_add_mul(void)
{
    size_t si, i;
    tt_seed(3);
    for (si = 0; si < N_SIZES; si++) {
        size_t n = sizes[si];
        float *a = (float *)tt_alloc(n * 4), *b = (float *)tt_alloc(n * 4), *y = (float *)tt_alloc(n * 4);
        float *out = (float *)tt_alloc(n * 4);
        double want = 0, mag = 0;
        float got;
        random_floats(a, n);
        random_floats(b, n);
        for (i = 0; i < n; i++) {
            want += (double)a[i] * b[i];
            mag += fabs((double)a[i] * b[i]);
        }
        got = tfm_dot(a, b, n);
        TT_ASSERT(tt_close(got, want, 1e-6 * mag + 1e-7, 0), "dot n=%zu: %g vs %g", n, got, want);
        memcpy(y, b, n * 4);
        tfm_axpy(y, 0.37f, a, n);
        for (i = 0; i < n; i++)
            TT_ASSERT(tt_close(y[i], 0.37 * a[i] + b[i], 1e-6, 1e-6), "axpy n=%zu i=%zu", n, i);
        memcpy(y, a, n * 4);
        tfm_scale(y, -2.5f, n);
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(y[i], -2.5 * a[i], 0, 1e-7), "scale n=%zu i=%zu", n, i);
        tfm_add(out, a, b, n);
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(out[i], (double)a[i] + b[i], 1e-7, 1e-7), "add n=%zu", n);
        tfm_mul(out, a, b, n);
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(out[i], (double)a[i] * b[i], 1e-7, 1e-7), "mul n=%zu", n);
        /* the tail must not write past n */
        y[n - 1] = 5.0f;
        tfm_scale(y, 1.0f, n - 1);
        TT_ASSERT(y[n - 1] == 5.0f, "scale wrote past its end");
        free(a);
        free(b);
        free(y);
        free(out);
    }
}

static void test_argmax(void)
{
    float x[9] = {1, 3, NAN, 3, -INFINITY, 2, 0, 3, 1};
    float all_nan[3] = {NAN, NAN, NAN};
    float *big;
    size_t si, i;
    TT_CHECK(tfm_argmax(x, 9) == 1); /* first of the ties, NaN ignored */
    TT_CHECK(tfm_argmax(all_nan, 3) == 0);
    TT_CHECK(tfm_argmax(x, 0) == 0);
    {
        /* past the eight running maxima: a maximum in the tail, ties, -0 beside +0, only -inf and NaN */
        float y[19] = {NAN, -0.0f, 0.0f, -1, -2, -3, -4, -5, -6, -7, -8, -9, NAN, 1, 1, -1, 2, 5, 5};
        float z[5] = {NAN, -INFINITY, NAN, -INFINITY, NAN};
        TT_CHECK(tfm_argmax(y, 19) == 17);
        TT_CHECK(tfm_argmax(y, 15) == 13);
        TT_CHECK(tfm_argmax(y, 12) == 1);
        TT_CHECK(tfm_argmax(z, 5) == 1);
    }
    tt_seed(4);
    for (si = 0; si < N_SIZES; si++) {
        size_t n = sizes[si], want = 0;
        big = (float *)tt_alloc(n * 4);
        random_floats(big, n);
        for (i = 1; i < n; i++)
            if (big[i] > big[want]) want = i;
        TT_ASSERT(tfm_argmax(big, n) == want, "argmax n=%zu", n);
        free(big);
    }
}

static double ref_gelu_tanh(double x) { return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
static double ref_gelu_erf(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double ref_silu(double x) { return x / (1 + exp(-x)); }

static void test_activations(void)
{
    size_t si, i;
    tt_seed(5);
    for (si = 0; si < N_SIZES; si++) {
        size_t n = sizes[si];
        float *x = (float *)tt_alloc(n * 4), *up = (float *)tt_alloc(n * 4), *out = (float *)tt_alloc(n * 4);
        tt_fill(x, n, -12.0f, 12.0f);
        tt_fill(up, n, -2.0f, 2.0f);
        if (n > 4) {
            x[0] = 0.0f;
            x[1] = -100.0f;
            x[2] = 100.0f;
            x[3] = 1e-4f;
        }
        tfm_silu(out, x, n);
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(out[i], ref_silu(x[i]), 1e-6, 1e-5), "silu(%g)=%g", x[i], out[i]);
        tfm_gelu_tanh(out, x, n);
        for (i = 0; i < n; i++)
            TT_ASSERT(tt_close(out[i], ref_gelu_tanh(x[i]), 1e-6, 1e-5), "gelu_tanh(%g)=%g want %g", x[i], out[i],
                      ref_gelu_tanh(x[i]));
        tfm_gelu_erf(out, x, n);
        for (i = 0; i < n; i++)
            TT_ASSERT(tt_close(out[i], ref_gelu_erf(x[i]), 2e-6, 1e-5), "gelu_erf(%g)=%g want %g", x[i], out[i],
                      ref_gelu_erf(x[i]));
        tfm_swiglu(out, x, up, n);
        for (i = 0; i < n; i++)
            TT_ASSERT(tt_close(out[i], ref_silu(x[i]) * up[i], 1e-6, 1e-5), "swiglu i=%zu", i);
        memcpy(out, x, n * 4);
        tfm_silu(out, out, n); /* in place */
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(out[i], ref_silu(x[i]), 1e-6, 1e-5), "silu in place");
        free(x);
        free(up);
        free(out);
    }
}

static void test_softmax(void)
{
    size_t si, i;
    float masked[5] = {-INFINITY, 1.0f, -INFINITY, 3.0f, -INFINITY};
    float all_masked[3] = {-INFINITY, -INFINITY, -INFINITY};
    tt_seed(6);
    for (si = 0; si < N_SIZES; si++) {
        size_t n = sizes[si];
        float *x = (float *)tt_alloc(n * 4), *orig = (float *)tt_alloc(n * 4);
        double max = -INFINITY, sum = 0;
        tt_fill(orig, n, -30.0f, 30.0f);
        orig[n / 2] = 1000.0f; /* would overflow without the max subtraction */
        memcpy(x, orig, n * 4);
        TT_ASSERT(tfm_softmax(x, n) == TFM_OK, "status");
        for (i = 0; i < n; i++)
            if (orig[i] > max) max = orig[i];
        for (i = 0; i < n; i++) sum += exp((double)orig[i] - max);
        for (i = 0; i < n; i++)
            TT_ASSERT(tt_close(x[i], exp((double)orig[i] - max) / sum, 1e-7, 1e-5), "softmax n=%zu i=%zu", n, i);
        free(x);
        free(orig);
    }
    TT_CHECK(tfm_softmax(masked, 5) == TFM_OK);
    TT_CHECK(masked[0] == 0.0f && masked[2] == 0.0f && masked[4] == 0.0f);
    TT_CHECK(tt_close(masked[3], 1.0 / (1.0 + exp(-2.0)), 1e-7, 1e-6));
    TT_CHECK(tfm_softmax(all_masked, 3) == TFM_OK);
    TT_CHECK(all_masked[0] == 0.0f && all_masked[1] == 0.0f);
}

/* A vocabulary-sized row (32000, and an odd 100003): every probability within 2e-6 relative of the
   float64 softmax and their sum within 1e-6 of 1. One float running sum of n terms would drift past
   that (the scalar path's did: 5e-6 at 32000, 1.2e-5 at 100003). Logits spread over +-3: past about
   +-16 the float x - max alone is off by up to 1e-6 relative; past about +-5 the SIMD paths' float
   sums, one per lane (25000 terms each on NEON at 100003), drift past 2e-6 too. */
static void test_softmax_large(void)
{
    static const size_t ns[2] = {32000, 100003};
    size_t si, i;
    tt_seed(61);
    for (si = 0; si < 2; si++) {
        size_t n = ns[si];
        float *x = (float *)tt_alloc(n * 4), *orig = (float *)tt_alloc(n * 4);
        double max = -INFINITY, sum = 0, total = 0, worst = 0;
        tt_fill(orig, n, -3.0f, 3.0f);
        memcpy(x, orig, n * 4);
        TT_ASSERT(tfm_softmax(x, n) == TFM_OK, "status");
        for (i = 0; i < n; i++)
            if (orig[i] > max) max = orig[i];
        for (i = 0; i < n; i++) sum += exp((double)orig[i] - max);
        for (i = 0; i < n; i++) {
            double want = exp((double)orig[i] - max) / sum, rel = fabs(x[i] - want) / want;
            if (rel > worst) worst = rel;
            total += x[i];
        }
        TT_ASSERT(worst <= 2e-6, "softmax n=%zu: a probability off by %.3g relative", n, worst);
        TT_ASSERT(fabs(total - 1.0) <= 1e-6, "softmax n=%zu: probabilities sum to 1 %+.3g", n, total - 1.0);
        free(x);
        free(orig);
    }
}

static void test_norms(void)
{
    size_t si, i;
    tt_seed(7);
    for (si = 0; si < N_SIZES; si++) {
        size_t n = sizes[si];
        float *x = (float *)tt_alloc(n * 4), *w = (float *)tt_alloc(n * 4), *b = (float *)tt_alloc(n * 4);
        float *out = (float *)tt_alloc(n * 4);
        double ss = 0, mean = 0, var = 0, rms, sd;
        tt_fill(x, n, -3.0f, 5.0f);
        random_floats(w, n);
        random_floats(b, n);
        for (i = 0; i < n; i++) ss += (double)x[i] * x[i];
        rms = sqrt(ss / n + 1e-5);
        TT_CHECK(tfm_rmsnorm(out, x, w, n, 1e-5f) == TFM_OK);
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(out[i], x[i] / rms * w[i], 1e-6, 1e-5), "rmsnorm n=%zu i=%zu", n, i);
        TT_CHECK(tfm_rmsnorm(out, x, NULL, n, 1e-5f) == TFM_OK);
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(out[i], x[i] / rms, 1e-6, 1e-5), "rmsnorm without weight");
        for (i = 0; i < n; i++) mean += x[i];
        mean /= n;
        for (i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= n;
        sd = sqrt(var + 1e-5);
        TT_CHECK(tfm_layernorm(out, x, w, b, n, 1e-5f) == TFM_OK);
        for (i = 0; i < n; i++)
            TT_ASSERT(tt_close(out[i], (x[i] - mean) / sd * w[i] + b[i], 1e-5, 1e-4), "layernorm n=%zu i=%zu", n, i);
        memcpy(out, x, n * 4);
        TT_CHECK(tfm_layernorm(out, out, NULL, NULL, n, 1e-5f) == TFM_OK);
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(out[i], (x[i] - mean) / sd, 1e-5, 1e-4), "layernorm in place");
        free(x);
        free(w);
        free(b);
        free(out);
    }
}

static void ref_rope(double *v, int n_heads, int head_dim, int rot_dim, int pos, double base, int neox)
{
    int h, i;
    for (h = 0; h < n_heads; h++) {
        double *x = v + h * head_dim;
        for (i = 0; i < rot_dim / 2; i++) {
            double theta = pos / pow(base, 2.0 * i / rot_dim);
            int a = neox ? i : 2 * i, b = neox ? i + rot_dim / 2 : 2 * i + 1;
            double xa = x[a], xb = x[b];
            x[a] = xa * cos(theta) - xb * sin(theta);
            x[b] = xa * sin(theta) + xb * cos(theta);
        }
    }
}

static void test_rope(void)
{
    static const int cases[][5] = {/* heads, head_dim, rot_dim, pos, neox */
                                   {1, 2, 2, 0, 0},     {8, 64, 64, 17, 0},  {8, 64, 64, 17, 1},
                                   {3, 80, 32, 511, 0}, {3, 80, 32, 511, 1}, {4, 128, 128, 100000, 0},
                                   {2, 6, 4, 3, 1}};
    static const float bases[] = {10000.0f, 500000.0f, 10.0f};
    size_t c, bi;
    int i;
    tt_seed(8);
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (bi = 0; bi < 3; bi++) {
            int heads = cases[c][0], hd = cases[c][1], rd = cases[c][2], pos = cases[c][3], neox = cases[c][4];
            int n = heads * hd;
            float *x = (float *)tt_alloc((size_t)n * 4);
            double *ref = (double *)tt_alloc((size_t)n * 8);
            random_floats(x, (size_t)n);
            for (i = 0; i < n; i++) ref[i] = x[i];
            ref_rope(ref, heads, hd, rd, pos, bases[bi], neox);
            TT_CHECK(tfm_rope(x, heads, hd, rd, pos, bases[bi], neox ? TFM_ROPE_NEOX : TFM_ROPE_NORMAL) == TFM_OK);
            for (i = 0; i < n; i++)
                TT_ASSERT(tt_close(x[i], ref[i], 2e-6, 1e-5), "rope case %zu base %g i=%d: %g vs %g", c, bases[bi], i,
                          x[i], ref[i]);
            free(x);
            free(ref);
        }
}

/* tfm_rope_rotate turns each pair by the angle whose cosine and sine it is given (any angles: random
   here, as scaled RoPE makes them), in both pair layouts and with rot_dim < head_dim; and given
   tfm_rope's own angles it gives tfm_rope's result bit for bit. */
static void test_rope_rotate(void)
{
    static const int cases[][4] = {{1, 2, 2, 0}, {8, 64, 64, 0}, {8, 64, 64, 1}, {3, 80, 32, 0}, {3, 80, 32, 1}, {2, 6, 4, 1}};
    size_t c;
    int i, h;
    tt_seed(9);
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int heads = cases[c][0], hd = cases[c][1], rd = cases[c][2], neox = cases[c][3], n = heads * hd;
        tfm_rope_mode mode = neox ? TFM_ROPE_NEOX : TFM_ROPE_NORMAL;
        float *x = (float *)tt_alloc((size_t)n * 4), *y = (float *)tt_alloc((size_t)n * 4), cs[128];
        double *ref = (double *)tt_alloc((size_t)n * 8);
        random_floats(x, (size_t)n);
        for (i = 0; i < n; i++) ref[i] = x[i];
        for (i = 0; i < rd / 2; i++) {
            double theta = tt_uniform(-10.0f, 10.0f), mscale = 1.25;
            cs[2 * i] = (float)(cos(theta) * mscale), cs[2 * i + 1] = (float)(sin(theta) * mscale);
            for (h = 0; h < heads; h++) {
                double *v = ref + h * hd;
                int a = neox ? i : 2 * i, b = neox ? i + rd / 2 : 2 * i + 1;
                double xa = v[a], xb = v[b];
                v[a] = (double)cs[2 * i] * xa - (double)cs[2 * i + 1] * xb;
                v[b] = (double)cs[2 * i + 1] * xa + (double)cs[2 * i] * xb;
            }
        }
        memcpy(y, x, (size_t)n * 4);
        TT_CHECK(tfm_rope_rotate(y, heads, hd, rd, cs, mode) == TFM_OK);
        for (i = 0; i < n; i++)
            TT_ASSERT(tt_close(y[i], ref[i], 1e-6, 1e-6), "rotate case %zu i=%d: %g vs %g", c, i, y[i], ref[i]);
        for (i = 0; i < rd / 2; i++) {
            double theta = 37.0 * pow(10000.0, -2.0 * i / rd);
            cs[2 * i] = (float)cos(theta), cs[2 * i + 1] = (float)sin(theta);
        }
        memcpy(y, x, (size_t)n * 4);
        TT_CHECK(tfm_rope_rotate(y, heads, hd, rd, cs, mode) == TFM_OK);
        TT_CHECK(tfm_rope(x, heads, hd, rd, 37, 10000.0f, mode) == TFM_OK);
        TT_ASSERT(memcmp(x, y, (size_t)n * 4) == 0, "rotate case %zu: not tfm_rope's result with its angles", c);
        free(x), free(y), free(ref);
    }
    {
        float x[4] = {1, 2, 3, 4}, cs[4] = {1, 0, 1, 0};
        TT_CHECK(tfm_rope_rotate(NULL, 1, 4, 4, cs, TFM_ROPE_NORMAL) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(tfm_rope_rotate(x, 1, 4, 4, NULL, TFM_ROPE_NORMAL) == TFM_ERR_INVALID_ARGUMENT);
        TT_CHECK(tfm_rope_rotate(x, 1, 4, 3, cs, TFM_ROPE_NORMAL) == TFM_ERR_INVALID_ARGUMENT); /* odd rot_dim */
    }
}

/* tfm_softcap: cap tanh(x / cap) within 4e-7 of cap (a few float steps) (the tanh is 1 - 2 / (e^2y + 1)), odd lengths (the
   vector tails), saturating cleanly at +-cap for large |x| and keeping small ones (slope 1 at 0). */
static void test_softcap(void)
{
    static const size_t ns[] = {1, 15, 16, 33, 1000};
    static const float caps[] = {0.1f, 1.0f, 30.0f};
    size_t ni, ci, i;
    tt_seed(10);
    for (ni = 0; ni < 5; ni++)
        for (ci = 0; ci < 3; ci++) {
            size_t n = ns[ni];
            float cap = caps[ci], *x = (float *)tt_alloc(n * 4), *y = (float *)tt_alloc(n * 4);
            tt_fill(x, n, -8 * cap, 8 * cap);
            if (n > 3) x[0] = 1e30f, x[1] = -1e30f, x[2] = 0.0f;
            memcpy(y, x, n * 4);
            tfm_softcap(y, n, cap);
            for (i = 0; i < n; i++) {
                double want = cap * tanh((double)x[i] / cap);
                TT_ASSERT(fabs(y[i] - want) <= 4e-7 * cap, "softcap %g n=%zu x=%g: %.9g vs %.9g", cap, n, x[i], y[i], want);
            }
            free(x), free(y);
        }
}

/* ---------------------------------------------------------------- gemv / gemm */

/* random weights of the given dtype plus their exact values in double */
static void *make_weights(tfm_dtype t, size_t count, double *exact)
{
    size_t i;
    void *w = tt_alloc(count * (t == TFM_F32 ? 4 : 2));
    for (i = 0; i < count; i++) {
        float v = tt_uniform(-1.0f, 1.0f);
        if (t == TFM_F32) {
            ((float *)w)[i] = v;
            exact[i] = v;
        } else {
            /* take the bit pattern of a representable value directly, decoded by the test's reference */
            uint16_t bits = t == TFM_F16 ? (uint16_t)((uint32_t)tt_next() & 0xbbff) /* |x| < 2 */
                                         : (uint16_t)(((uint32_t)tt_next() & 0x807f) | (0x3c00 + (tt_next() % 0x300)));
            ((uint16_t *)w)[i] = bits;
            exact[i] = t == TFM_F16 ? ref_f16(bits) : ref_bf16(bits);
        }
    }
    return w;
}

static const tfm_dtype float_types[] = {TFM_F32, TFM_F16, TFM_BF16};

static void test_gemv(void)
{
    static const int shapes[][2] = {{1, 1}, {7, 31}, {33, 127}, {127, 33}, {64, 1000}, {3, 4097}, {300, 257}, {515, 600}};
    size_t s, ti;
    int r, c;
    tt_seed(9);
    for (ti = 0; ti < 3; ti++)
        for (s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int rows = shapes[s][0], cols = shapes[s][1];
            double *exact = (double *)tt_alloc((size_t)rows * cols * 8);
            void *w = make_weights(float_types[ti], (size_t)rows * cols, exact);
            float *x = (float *)tt_alloc((size_t)cols * 4), *y = (float *)tt_alloc((size_t)rows * 4);
            float *y2 = (float *)tt_alloc((size_t)rows * 4);
            random_floats(x, (size_t)cols);
            TT_CHECK(tfm_gemv(y, float_types[ti], w, x, rows, cols, 1) == TFM_OK);
            for (r = 0; r < rows; r++) {
                double want = 0, mag = 0;
                for (c = 0; c < cols; c++) {
                    want += exact[(size_t)r * cols + c] * x[c];
                    mag += fabs(exact[(size_t)r * cols + c] * x[c]);
                }
                TT_ASSERT(tt_close(y[r], want, 2e-6 * mag + 1e-7, 0), "gemv %s %dx%d row %d: %g vs %g",
                          tfm_dtype_name(float_types[ti]), rows, cols, r, y[r], want);
            }
            TT_CHECK(tfm_gemv(y2, float_types[ti], w, x, rows, cols, 2) == TFM_OK);
            TT_ASSERT(memcmp(y, y2, (size_t)rows * 4) == 0, "gemv 1 vs 2 threads differ");
            free(exact);
            free(w);
            free(x);
            free(y);
            free(y2);
        }
}

static void test_gemm(void)
{
    /* m, n, k: odd shapes, then the edges of the blocking: the few-rows path (m <= 4), register
       tiles of MR = 4 or 8 rows and NR = 2, 12, 24 or 48 columns (by SIMD width), k blocks of 384,
       W blocks of 2 NR rows (m <= 512) or about 528 rows, X blocks of 1024 rows */
    static const int shapes[][3] = {{1, 1, 1},      {7, 33, 31},   {33, 7, 127},   {127, 65, 1000}, {2, 4097, 7},
                                    {200, 300, 513}, {9, 31, 300},  {128, 96, 64},  {3, 100, 777},   {4, 47, 16},
                                    {5, 49, 385},    {9, 97, 383},  {8, 48, 384},   {7, 96, 1153},   {17, 529, 450},
                                    {1030, 50, 80},  {16, 1061, 33},  {520, 530, 400}, {3, 1001, 1401}};
    size_t s, ti;
    int i, j, p;
    tt_seed(10);
    for (ti = 0; ti < 3; ti++)
        for (s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            size_t ldx = (size_t)k + 3, ldy = (size_t)n + 5; /* strided rows */
            double *exact = (double *)tt_alloc((size_t)n * k * 8);
            void *w = make_weights(float_types[ti], (size_t)n * k, exact);
            float *x = (float *)tt_alloc((size_t)m * ldx * 4);
            float *y = (float *)tt_alloc((size_t)m * ldy * 4), *y2 = (float *)tt_alloc((size_t)m * ldy * 4);
            random_floats(x, (size_t)m * ldx);
            for (i = 0; i < m * (int)ldy; i++) y[i] = y2[i] = 42.0f;
            TT_CHECK(tfm_gemm(y, ldy, x, ldx, float_types[ti], w, m, n, k, 1) == TFM_OK);
            for (i = 0; i < m; i++) {
                /* quick runs: the float64 reference of the large products for every third row and the last
                   9 (every tile position, the tails) */
                int sampled = !tt_quick() || (double)m * n * k <= 4e6 || i % 3 == 0 || i >= m - 9;
                for (j = 0; sampled && j < n; j++) {
                    double want = 0, mag = 0;
                    for (p = 0; p < k; p++) {
                        want += (double)x[(size_t)i * ldx + p] * exact[(size_t)j * k + p];
                        mag += fabs((double)x[(size_t)i * ldx + p] * exact[(size_t)j * k + p]);
                    }
                    TT_ASSERT(tt_close(y[(size_t)i * ldy + j], want, 2e-6 * mag + 1e-7, 0), "gemm %s %dx%dx%d (%d,%d): %g vs %g",
                              tfm_dtype_name(float_types[ti]), m, n, k, i, j, y[(size_t)i * ldy + j], want);
                }
                for (j = n; j < (int)ldy; j++) TT_ASSERT(y[(size_t)i * ldy + j] == 42.0f, "gemm wrote outside y");
            }
            TT_CHECK(tfm_gemm(y2, ldy, x, ldx, float_types[ti], w, m, n, k, 2) == TFM_OK);
            TT_ASSERT(memcmp(y, y2, (size_t)m * ldy * 4) == 0, "gemm 1 vs 2 threads differ (%dx%dx%d)", m, n, k);
            free(exact);
            free(w);
            free(x);
            free(y);
            free(y2);
        }
}

static void test_matmul_tensor(void)
{
    float w[6] = {1, 2, 3, 4, 5, 6}; /* 2 rows of 3 */
    float x[6] = {1, 0, -1, 2, 1, 0}; /* 2 tokens of 3 */
    float y[4] = {0, 0, 0, 0};
    tfm_tensor tw, tx, ty, bad;
    int64_t wne[2] = {3, 2}, xne[2] = {3, 2}, yne[2] = {2, 2}, badne[2] = {4, 2};
    TT_CHECK(tfm_tensor_init(&tw, TFM_F32, 2, wne, w) == TFM_OK);
    TT_CHECK(tfm_tensor_init(&tx, TFM_F32, 2, xne, x) == TFM_OK);
    TT_CHECK(tfm_tensor_init(&ty, TFM_F32, 2, yne, y) == TFM_OK);
    TT_CHECK(tfm_matmul(&ty, &tw, &tx, 1) == TFM_OK);
    TT_CHECK(y[0] == -2 && y[1] == -2 && y[2] == 4 && y[3] == 13);
    TT_CHECK(tfm_tensor_init(&bad, TFM_F32, 2, badne, x) == TFM_OK);
    TT_CHECK(tfm_matmul(&ty, &tw, &bad, 1) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_matmul(&bad, &tw, &tx, 1) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_matmul(NULL, &tw, &tx, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tensor_nelements(&tw) == 6 && tfm_tensor_nbytes(&tw) == 24 && tfm_tensor_is_contiguous(&tw));
    TT_CHECK(tfm_tensor_row(&tw, 1, 0, 0) == (void *)(w + 3));
}

static void test_invalid_arguments(void)
{
    float a[8] = {0}, b[8] = {0};
    int64_t ne[2] = {33, 2}, zero[2] = {0, 2}, huge[4] = {INT64_C(1) << 40, INT64_C(1) << 40, INT64_C(1) << 40, 1};
    size_t bytes = 0;
    tfm_tensor t;
    tfm_error err;
    TT_CHECK(tfm_gemv(NULL, TFM_F32, a, b, 2, 2, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gemv(a, TFM_F32, NULL, b, 2, 2, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gemv(a, TFM_F32, a, b, 0, 2, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gemv(a, TFM_F32, a, b, 2, 0, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gemv(a, TFM_Q4_0, a, b, 1, 32, 1) == TFM_ERR_UNSUPPORTED);
    TT_CHECK(tfm_gemm(a, 2, b, 2, TFM_F32, a, 0, 2, 2, 1) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gemm(a, 2, b, 1, TFM_F32, a, 2, 2, 2, 1) == TFM_ERR_INVALID_ARGUMENT); /* ldx < k */
    TT_CHECK(tfm_gemm(a, 1, b, 2, TFM_F32, a, 2, 2, 2, 1) == TFM_ERR_INVALID_ARGUMENT); /* ldy < n */
    TT_CHECK(tfm_softmax(NULL, 3) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_softmax(a, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_rmsnorm(a, a, NULL, 0, 1e-5f) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_layernorm(NULL, a, NULL, NULL, 4, 1e-5f) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_rope(a, 1, 8, 7, 0, 10000.0f, TFM_ROPE_NORMAL) == TFM_ERR_INVALID_ARGUMENT); /* odd rot_dim */
    TT_CHECK(tfm_rope(a, 1, 4, 8, 0, 10000.0f, TFM_ROPE_NORMAL) == TFM_ERR_INVALID_ARGUMENT); /* rot > head */
    TT_CHECK(tfm_rope(a, 1, 4, 4, -1, 10000.0f, TFM_ROPE_NORMAL) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_rope(a, 1, 4, 4, 0, 0.0f, TFM_ROPE_NORMAL) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tensor_init(&t, TFM_F32, 2, zero, NULL) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_tensor_init(&t, TFM_F32, 5, ne, NULL) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tensor_init(&t, TFM_Q4_0, 2, ne, NULL) == TFM_ERR_SHAPE); /* 33 not a multiple of 32 */
    TT_CHECK(tfm_tensor_init(&t, (tfm_dtype)4, 2, ne, NULL) == TFM_ERR_UNSUPPORTED);
    TT_CHECK(tfm_tensor_init(&t, TFM_F32, 3, huge, NULL) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_dtype_row_bytes(TFM_Q4_0, 64, &bytes) == TFM_OK && bytes == 36);
    TT_CHECK(tfm_dtype_row_bytes(TFM_Q4_K, 256, &bytes) == TFM_OK && bytes == 144);
    TT_CHECK(tfm_dtype_row_bytes(TFM_Q8_0, 31, &bytes) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_dtype_row_bytes(TFM_F64, UINT64_MAX / 4, &bytes) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_dtype_name((tfm_dtype)17) == NULL && tfm_dtype_name(TFM_BF16) != NULL);
    TT_CHECK(tfm_error_set(&err, TFM_ERR_FORMAT, "bad %s %d", "magic", 7) == TFM_ERR_FORMAT);
    TT_CHECK(err.status == TFM_ERR_FORMAT && strcmp(err.message, "bad magic 7") == 0);
    TT_CHECK(tfm_error_set(NULL, TFM_ERR_IO, "x") == TFM_ERR_IO);
    TT_CHECK(strcmp(tfm_status_string(TFM_ERR_OUT_OF_MEMORY), "out of memory") == 0);
}

static void test_arena(void)
{
    tfm_arena arena;
    void *p, *q;
    size_t mark;
    TT_CHECK(tfm_arena_init(&arena, 1000) == TFM_OK);
    p = tfm_arena_alloc(&arena, 10);
    q = tfm_arena_alloc(&arena, 100);
    TT_CHECK(p && q && ((uintptr_t)p % 64) == 0 && ((uintptr_t)q % 64) == 0 && (char *)q >= (char *)p + 10);
    mark = tfm_arena_mark(&arena);
    TT_CHECK(tfm_arena_alloc(&arena, 2000) == NULL); /* does not fit */
    TT_CHECK(tfm_arena_alloc(&arena, (size_t)-1) == NULL);
    TT_CHECK(tfm_arena_alloc(&arena, 500) != NULL);
    tfm_arena_reset(&arena, mark);
    TT_CHECK(tfm_arena_mark(&arena) == mark && arena.peak >= mark + 500);
    memset(q, 1, 100);
    tfm_arena_free(&arena);
    TT_CHECK(arena.base == NULL);
    TT_CHECK(tfm_arena_init(&arena, 0) == TFM_ERR_INVALID_ARGUMENT);
}

static void test_file_map(void)
{
    const char *path = "build/test_file_map.tmp";
    FILE *f = fopen(path, "wb");
    static const char content[] = "tfm file map \0 with a NUL";
    tfm_file_map map;
    tfm_error err;
    int flags;
    TT_ASSERT(f != NULL, "cannot create %s", path);
    fwrite(content, 1, sizeof content, f);
    fclose(f);
    for (flags = 0; flags < 2; flags++) {
        TT_CHECK(tfm_file_map_open(&map, path, flags ? TFM_FILE_MAP_NO_MMAP : TFM_FILE_MAP_DEFAULT, &err) == TFM_OK);
        TT_CHECK(map.size == sizeof content && memcmp(map.data, content, sizeof content) == 0);
        TT_CHECK(map.is_mapped == !flags); /* POSIX mmap, Windows CreateFileMapping */
        tfm_file_map_close(&map);
        TT_CHECK(map.data == NULL);
    }
    TT_CHECK(tfm_file_map_open(&map, "build/no/such/file", 0, &err) == TFM_ERR_IO);
    TT_CHECK(strstr(err.message, "build/no/such/file") != NULL && map.data == NULL);
    f = fopen(path, "wb");
    fclose(f);
    TT_CHECK(tfm_file_map_open(&map, path, 0, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_file_map_open(&map, path, TFM_FILE_MAP_NO_MMAP, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_file_map_open(&map, "build", 0, &err) != TFM_OK); /* a directory */
    remove(path);
#if defined(__unix__) || defined(__APPLE__)
    /* a device has no end: refused on both paths before anything is read (reading it grew without bound) */
    for (flags = 0; flags < 2; flags++) {
        TT_CHECK(tfm_file_map_open(&map, "/dev/zero", flags ? TFM_FILE_MAP_NO_MMAP : 0, &err) == TFM_ERR_IO);
        TT_CHECK(strstr(err.message, "not a regular file") != NULL && map.data == NULL);
    }
    /* the identity of the file a map holds is the path's, through any spelling */
    f = fopen(path, "wb");
    fwrite(content, 1, sizeof content, f);
    fclose(f);
    for (flags = 0; flags < 2; flags++) {
        tfm_file_id id = tfm_file_identify("build/./test_file_map.tmp");
        TT_CHECK(tfm_file_map_open(&map, path, flags ? TFM_FILE_MAP_NO_MMAP : 0, &err) == TFM_OK);
        TT_CHECK(map.id.known && id.known && map.id.device == id.device && map.id.inode == id.inode);
        tfm_file_map_close(&map);
    }
    TT_CHECK(!tfm_file_identify("build/no/such/file").known && !tfm_file_identify(NULL).known);
    remove(path);
#endif
}

/* A NaN goes through e^x as a NaN on every SIMD path: a softmax over a NaN score is NaN everywhere (not
   the NaN's weight silently 0, as x86's clamps once made it while NEON kept it), silu of NaN is NaN. */
static void test_nan_propagates(void)
{
    static const size_t sizes[] = {1, 5, 16, 37, 100};
    size_t si, i, at;
    for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        float *x = (float *)tt_alloc(sizeof(float) * n), *y = (float *)tt_alloc(sizeof(float) * n);
        for (at = 0; at < n; at += n > 8 ? n / 3 : 1) {
            for (i = 0; i < n; i++) x[i] = (float)i * 0.25f - 3.0f;
            x[at] = (float)NAN;
            tfm_silu(y, x, n);
            for (i = 0; i < n; i++) TT_ASSERT((i == at) == (y[i] != y[i]), "silu n=%zu NaN at %zu: y[%zu] = %g", n, at, i, y[i]);
            TT_CHECK(tfm_softmax(x, n) == TFM_OK);
            for (i = 0; i < n; i++) TT_ASSERT(x[i] != x[i], "softmax n=%zu NaN at %zu: x[%zu] = %g", n, at, i, x[i]);
        }
        free(x), free(y);
    }
}

/* ---------------------------------------------------------------- messages */

/* Bytes outside printable ASCII come out as \xNN, long texts are cut with "...", and every error
   message is one printable line whatever its arguments hold. */
static void test_escape_and_error_messages(void)
{
    char out[64], text[300];
    const char cases[][2][40] = {
        {"plain text", "plain text"},
        {"a\x1b[2J\nb", "a\\x1b[2J\\x0ab"},
        {"\x1b]0;title\x07", "\\x1b]0;title\\x07"},
        {"caf\xc3\xa9 \x7f\x80\xff", "caf\\xc3\\xa9 \\x7f\\x80\\xff"},
        {"back\\slash 'quote'", "back\\slash 'quote'"},
    };
    tfm_error err;
    size_t i, cap;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tfm_escape(out, sizeof out, cases[i][0], strlen(cases[i][0]));
        TT_ASSERT(strcmp(out, cases[i][1]) == 0, "case %d: '%s', want '%s'", (int)i, out, cases[i][1]);
    }
    /* a NUL inside the length is a byte like any other */
    tfm_escape(out, sizeof out, "a\0b", 3);
    TT_ASSERT(strcmp(out, "a\\x00b") == 0, "NUL: '%s'", out);
    /* cut to the room: a text that fits exactly is whole, one byte more ends with "..." */
    tfm_escape(out, 11, "0123456789", 10);
    TT_ASSERT(strcmp(out, "0123456789") == 0, "exact fit: '%s'", out);
    tfm_escape(out, 11, "0123456789A", 11);
    TT_ASSERT(strcmp(out, "0123456...") == 0, "cut: '%s'", out);
    tfm_escape(out, 11, "012345\x01\x02", 8);
    TT_ASSERT(strcmp(out, "012345...") == 0, "an escape is never cut in half: '%s'", out);
    for (cap = 1; cap < 12; cap++) {
        memset(out, 'z', sizeof out);
        tfm_escape(out, cap, "\x01\x02\x03 long text", 14);
        TT_ASSERT(strlen(out) < cap && out[cap] == 'z', "cap %d: '%s' overruns", (int)cap, out);
    }
    /* tfm_error_set: the message of a hostile name is printable, one line, within the buffer */
    for (i = 0; i < sizeof text - 1; i++) text[i] = (char)(i % 255 + 1);
    text[sizeof text - 1] = '\0';
    TT_ASSERT(tfm_error_set(&err, TFM_ERR_FORMAT, "key '%s' is bad", text) == TFM_ERR_FORMAT, "status");
    TT_ASSERT(err.status == TFM_ERR_FORMAT && strncmp(err.message, "key '\\x01\\x02", 13) == 0, "'%s'", err.message);
    for (i = 0; err.message[i]; i++)
        TT_ASSERT(err.message[i] >= 0x20 && err.message[i] <= 0x7e, "byte %d of the message is 0x%02x", (int)i,
                  (unsigned char)err.message[i]);
    TT_ASSERT(i < sizeof err.message && i > 200, "message of %d bytes", (int)i);
    TT_ASSERT(strcmp(err.message + i - 3, "...") == 0, "a cut message ends with ...: '%s'", err.message + i - 10);
}

/* The path the kernels run: the one TFM_SIMD forces (tests/run.sh's dispatch configuration runs the
   tests once per path the CPU has), otherwise the best the CPU has, which run.sh works out from
   /proc/cpuinfo's flags (TFM_TEST_EXPECT_SIMD). tfm_simd_select takes the path it runs and "auto",
   refuses unknown names, and "auto" is the best path again. */
static void test_simd_path(void)
{
    const char *forced = getenv("TFM_SIMD"), *expect = getenv("TFM_TEST_EXPECT_SIMD");
    char was[16];
    snprintf(was, sizeof was, "%s", tfm_simd_name());
    if (forced && *forced) TT_ASSERT(strcmp(was, forced) == 0, "TFM_SIMD=%s but the kernels run %s", forced, was);
    else if (expect && *expect) TT_ASSERT(strcmp(was, expect) == 0, "the CPU's best path is %s but the kernels run %s", expect, was);
    TT_CHECK(tfm_simd_select("no-such-path") == TFM_ERR_UNSUPPORTED);
    TT_CHECK(strcmp(tfm_simd_name(), was) == 0);
    TT_CHECK(tfm_simd_select("auto") == TFM_OK);
    if (expect && *expect) TT_CHECK(strcmp(tfm_simd_name(), expect) == 0);
    TT_CHECK(tfm_simd_select(was) == TFM_OK);
    TT_CHECK(strcmp(tfm_simd_name(), was) == 0);
}

int main(void)
{
    printf("simd: %s, threads: %d\n", tfm_simd_name(), tfm_default_threads());
    TT_RUN(test_f16_to_f32_all_patterns);
    TT_RUN(test_f32_to_f16_roundtrip_all_patterns);
    TT_RUN(test_f32_to_f16_rounding);
    TT_RUN(test_bf16_all_patterns);
    TT_RUN(test_f32_to_bf16_rounding);
    TT_RUN(test_dot_axpy_scale_add_mul);
    TT_RUN(test_argmax);
    TT_RUN(test_activations);
    TT_RUN(test_softmax);
    TT_RUN(test_softmax_large);
    TT_RUN(test_norms);
    TT_RUN(test_rope);
    TT_RUN(test_rope_rotate);
    TT_RUN(test_softcap);
    TT_RUN(test_gemv);
    TT_RUN(test_gemm);
    TT_RUN(test_matmul_tensor);
    TT_RUN(test_invalid_arguments);
    TT_RUN(test_arena);
    TT_RUN(test_file_map);
    TT_RUN(test_escape_and_error_messages);
    TT_RUN(test_nan_propagates);
    TT_RUN(test_simd_path);
    return tt_summary("tensor");
}

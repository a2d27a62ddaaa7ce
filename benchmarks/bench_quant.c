/* bench_quant.c - quantized kernels of tfm_quant.h.
     qgemv: y = W x with W quantized: weight GB/s against the measured read bandwidth. The weights are
            copied until they span 768 MiB and the copies are used in turn, so every call reads cold
            memory as a decode step of a large model does. --hot uses one copy (in cache when it fits):
            the kernel's own rate, which must be well above the read bandwidth for the cold rate to
            reach it. --packed runs tfm_quant_packed_gemv on tfm_quant_pack'ed copies (the load-time
            repack), where the build has it.
     qgemm: Y = X W^T with W quantized (a prefill of m tokens): GFLOP/s-equivalent (2mnk / time) and
            tokens/s, beside tfm_gemm with the same weights in f32 in the same run, and (where the build
            packs the type) tfm_quant_packed_gemm on the packed weights (nan otherwise). */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tfm_dtype bench_qtypes[] = {TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K, TFM_Q6_K, TFM_F32, TFM_F16, TFM_BF16};

static tfm_dtype parse_qtype(int argc, char **argv)
{
    return bench_arg_dtype(argc, argv, "--type", TFM_Q4_0, bench_qtypes, (int)(sizeof bench_qtypes / sizeof bench_qtypes[0]));
}

static void fill_random(float *x, size_t n, unsigned seed)
{
    uint64_t state = 0x9E3779B97F4A7C15ull * (seed + 1);
    size_t i;
    for (i = 0; i < n; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        x[i] = (float)((double)(state >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
    }
}

/* rows x cols of `type` quantized from random f32; NULL when out of memory */
static void *make_quantized(tfm_dtype type, int rows, int cols, size_t *bytes)
{
    float *f = (float *)tfm_aligned_alloc((size_t)rows * cols * sizeof(float));
    void *q;
    size_t row_bytes = 0;
    if (!f || tfm_dtype_row_bytes(type, (uint64_t)cols, &row_bytes) != TFM_OK) {
        tfm_aligned_free(f);
        return NULL;
    }
    *bytes = row_bytes * (size_t)rows;
    q = tfm_aligned_alloc(*bytes);
    fill_random(f, (size_t)rows * cols, 7);
    if (q && tfm_quantize(type, f, q, (size_t)rows, (size_t)cols, 0) != TFM_OK) {
        tfm_aligned_free(q);
        q = NULL;
    }
    tfm_aligned_free(f);
    return q;
}

/* ---------------------------------------------------------------- qgemv */

#define QGEMV_FOOTPRINT ((size_t)768 << 20)
#define QGEMV_MAX_COPIES 512

typedef struct qgemv_case {
    tfm_dtype type;
    int rows, cols, threads, n_copies, next, packed;
    void *w[QGEMV_MAX_COPIES];
    tfm_quant_packed p[QGEMV_MAX_COPIES];
    float *x, *y;
    tfm_status status;
} qgemv_case;

static void run_qgemv(void *ctx)
{
    qgemv_case *c = (qgemv_case *)ctx;
    tfm_status s = c->packed ? tfm_quant_packed_gemv(c->y, &c->p[c->next], c->x, 0, c->rows, c->threads)
                             : tfm_quant_gemv(c->y, c->type, c->w[c->next], c->x, c->rows, c->cols, c->threads);
    if (s != TFM_OK) c->status = s;
    c->next = (c->next + 1) % c->n_copies;
}

static int qgemv_one(tfm_dtype type, int rows, int cols, int threads, double seconds, int hot, int packed, int csv, int header)
{
    qgemv_case c;
    const bench_ceiling *ceil = bench_ceiling_get(threads);
    size_t bytes = 0;
    double t, gbps;
    bench_row row;
    int i, failed = 0;
    memset(&c, 0, sizeof c);
    c.w[0] = make_quantized(type, rows, cols, &bytes);
    if (!c.w[0]) {
        fprintf(stderr, "qgemv: cannot make %s weights %dx%d\n", tfm_dtype_name(type), rows, cols);
        return 1;
    }
    c.n_copies = hot ? 1 : (int)((QGEMV_FOOTPRINT + bytes - 1) / bytes);
    if (c.n_copies > QGEMV_MAX_COPIES) c.n_copies = QGEMV_MAX_COPIES;
    for (i = 1; i < c.n_copies; i++) {
        c.w[i] = tfm_aligned_alloc(bytes);
        if (!c.w[i]) break;
        memcpy(c.w[i], c.w[0], bytes);
    }
    c.n_copies = i;
    c.packed = packed && tfm_quant_packable(type);
    for (i = 0; c.packed && i < c.n_copies; i++) {
        /* the packed copy replaces the plain one (one copy of the weights per slot, as a model keeps) */
        if (tfm_quant_pack(&c.p[i], type, c.w[i], rows, cols, 0) != TFM_OK) failed = 1;
        if (i > 0) {
            tfm_aligned_free(c.w[i]);
            c.w[i] = NULL;
        }
    }
    c.x = (float *)tfm_aligned_alloc((size_t)cols * sizeof(float));
    c.y = (float *)tfm_aligned_alloc((size_t)rows * sizeof(float));
    if (!c.x || !c.y) failed = 1;
    if (!failed) {
        fill_random(c.x, (size_t)cols, 3);
        c.type = type, c.rows = rows, c.cols = cols, c.threads = threads;
        t = bench_best(run_qgemv, &c, 3 * c.n_copies, seconds);
        if (c.status != TFM_OK) {
            fprintf(stderr, "qgemv: %s\n", tfm_status_string(c.status));
            failed = 1;
        } else {
            gbps = (double)bytes / t * 1e-9;
            bench_row_init(&row);
            bench_row_str(&row, "type", tfm_dtype_name(type));
            bench_row_int(&row, "rows", rows);
            bench_row_int(&row, "cols", cols);
            bench_row_int(&row, "threads", threads);
            bench_row_str(&row, "weights", hot ? "hot" : "cold");
            bench_row_str(&row, "layout", c.packed ? "packed" : "ggml");
            bench_row_num(&row, "us", t * 1e6, 1);
            bench_row_num(&row, "weight_gbps", gbps, 2);
            bench_row_num(&row, "read_bw", ceil->read_gbps, 2);
            bench_row_num(&row, "pct_read_bw", bench_pct(gbps, ceil->read_gbps), 1);
            bench_row_print(&row, csv, header);
        }
    }
    for (i = 0; i < c.n_copies; i++) {
        tfm_aligned_free(c.w[i]);
        tfm_quant_packed_free(&c.p[i]);
    }
    tfm_aligned_free(c.x);
    tfm_aligned_free(c.y);
    return failed;
}

int bench_qgemv(int argc, char **argv)
{
    static const struct { tfm_dtype type; int rows, cols; } suite[] = {
        {TFM_Q4_0, 5632, 2048}, {TFM_Q8_0, 5632, 2048}, {TFM_Q4_1, 5632, 2048},
        {TFM_Q4_K, 5632, 2048}, {TFM_Q6_K, 5632, 2048}, {TFM_Q4_0, 2048, 5632},
    };
    int threads[8], n_threads, csv = bench_flag(argc, argv, "--csv"), hot = bench_flag(argc, argv, "--hot"), header = 1, i, s;
    int packed = bench_flag(argc, argv, "--packed"), failed = 0;
    double seconds;
    if (!bench_check_args(argc, argv, "--type --rows --cols --threads --seconds", "--csv --hot --packed")) return 2;
    n_threads = bench_threads(argc, argv, threads, 8);
    seconds = bench_arg_num(argc, argv, "--seconds", 0.3);
    if (!n_threads) return 2;
    if (bench_arg_str(argc, argv, "--type", NULL) || bench_arg_str(argc, argv, "--rows", NULL) || bench_arg_str(argc, argv, "--cols", NULL)) {
        tfm_dtype type = parse_qtype(argc, argv);
        long rows = bench_arg_int(argc, argv, "--rows", 5632), cols = bench_arg_int(argc, argv, "--cols", 2048);
        if (type == TFM_DTYPE_COUNT || rows < 1 || cols < 1 || rows > 1 << 20 || cols > 1 << 20) {
            fprintf(stderr, "qgemv: --type q8_0|q4_0|q4_1|q4_k|q6_k|f32|f16|bf16, --rows --cols in 1..%d\n", 1 << 20);
            return 2;
        }
        for (i = 0; i < n_threads; i++, header = 0) failed |= qgemv_one(type, (int)rows, (int)cols, threads[i], seconds, hot, packed, csv, header);
        return failed;
    }
    for (s = 0; s < (int)(sizeof suite / sizeof suite[0]); s++)
        for (i = 0; i < n_threads; i++, header = 0)
            failed |= qgemv_one(suite[s].type, suite[s].rows, suite[s].cols, threads[i], seconds, hot, packed, csv, header);
    return failed;
}

/* ---------------------------------------------------------------- qgemm */

typedef struct qgemm_case {
    tfm_dtype type;
    int m, n, k, threads;
    const void *w;
    const tfm_quant_packed *packed; /* when set, tfm_quant_packed_gemm on it */
    const float *x;
    float *y;
    tfm_status status;
} qgemm_case;

static void run_qgemm(void *ctx)
{
    qgemm_case *c = (qgemm_case *)ctx;
    tfm_status s = c->packed ? tfm_quant_packed_gemm(c->y, (size_t)c->n, c->x, (size_t)c->k, c->packed, c->m, c->threads, NULL, 0)
                             : tfm_quant_gemm(c->y, (size_t)c->n, c->x, (size_t)c->k, c->type, c->w, c->m, c->n, c->k, c->threads);
    if (s != TFM_OK) c->status = s;
}

static int qgemm_one(tfm_dtype type, int m, int n, int k, int threads, double seconds, int csv, int header)
{
    qgemm_case q, f, pk;
    tfm_quant_packed packed;
    const bench_ceiling *ceil = bench_ceiling_get(threads);
    size_t bytes = 0, f32_bytes = 0;
    void *w = make_quantized(type, n, k, &bytes), *wf = make_quantized(TFM_F32, n, k, &f32_bytes);
    float *x = (float *)tfm_aligned_alloc((size_t)m * k * sizeof(float)), *y = (float *)tfm_aligned_alloc((size_t)m * n * sizeof(float));
    double tq, tf, tp = NAN, flop = 2.0 * m * n * k;
    bench_row row;
    int failed = 0;
    if (!w || !wf || !x || !y) {
        fprintf(stderr, "qgemm: out of memory\n");
        failed = 1;
    } else {
        fill_random(x, (size_t)m * k, 5);
        memset(&q, 0, sizeof q);
        q.type = type, q.m = m, q.n = n, q.k = k, q.threads = threads, q.w = w, q.x = x, q.y = y;
        f = q;
        f.type = TFM_F32;
        f.w = wf;
        pk = q;
        memset(&packed, 0, sizeof packed);
        if (tfm_quant_packable(type) && tfm_quant_pack(&packed, type, w, n, k, threads) == TFM_OK) {
            pk.packed = &packed;
            tp = bench_best(run_qgemm, &pk, 3, seconds);
        }
        tq = bench_best(run_qgemm, &q, 3, seconds);
        tf = bench_best(run_qgemm, &f, 3, seconds);
        tfm_quant_packed_free(&packed);
        if (q.status != TFM_OK || f.status != TFM_OK || pk.status != TFM_OK) {
            fprintf(stderr, "qgemm: %s\n", tfm_status_string(q.status != TFM_OK ? q.status : f.status));
            failed = 1;
        } else {
            bench_row_init(&row);
            bench_row_str(&row, "type", tfm_dtype_name(type));
            bench_row_int(&row, "m", m);
            bench_row_int(&row, "n", n);
            bench_row_int(&row, "k", k);
            bench_row_int(&row, "threads", threads);
            bench_row_num(&row, "ms", tq * 1e3, 3);
            bench_row_num(&row, "gflops", flop / tq * 1e-9, 1);
            bench_row_num(&row, "tok_s", m / tq, 0);
            bench_row_num(&row, "f32_gflops", flop / tf * 1e-9, 1);
            bench_row_num(&row, "f32_tok_s", m / tf, 0);
            bench_row_num(&row, "speedup_vs_f32", tf / tq, 2);
            bench_row_num(&row, "packed_gflops", flop / tp * 1e-9, 1);
            bench_row_num(&row, "packed_vs_plain", tq / tp, 2);
            bench_row_num(&row, "f32_fma_peak", ceil->fma_gflops, 1);
            bench_row_print(&row, csv, header);
        }
    }
    tfm_aligned_free(w);
    tfm_aligned_free(wf);
    tfm_aligned_free(x);
    tfm_aligned_free(y);
    return failed;
}

int bench_qgemm(int argc, char **argv)
{
    static const tfm_dtype suite[] = {TFM_Q8_0, TFM_Q4_0, TFM_Q4_1, TFM_Q4_K, TFM_Q6_K};
    int threads[8], n_threads, csv = bench_flag(argc, argv, "--csv"), header = 1, i, s, failed = 0;
    long m, n, k;
    double seconds;
    if (!bench_check_args(argc, argv, "--type --m --n --k --threads --seconds", "--csv")) return 2;
    n_threads = bench_threads(argc, argv, threads, 8);
    seconds = bench_arg_num(argc, argv, "--seconds", 0.3);
    m = bench_arg_int(argc, argv, "--m", 128);
    n = bench_arg_int(argc, argv, "--n", 2048);
    k = bench_arg_int(argc, argv, "--k", 2048);
    if (!n_threads) return 2;
    if (m < 1 || n < 1 || k < 1 || m > 1 << 16 || n > 1 << 16 || k > 1 << 16) {
        fprintf(stderr, "qgemm: --m --n --k in 1..%d\n", 1 << 16);
        return 2;
    }
    if (bench_arg_str(argc, argv, "--type", NULL)) {
        tfm_dtype type = parse_qtype(argc, argv);
        if (type == TFM_DTYPE_COUNT) {
            fprintf(stderr, "qgemm: --type q8_0|q4_0|q4_1|q4_k|q6_k|f32|f16|bf16\n");
            return 2;
        }
        for (i = 0; i < n_threads; i++, header = 0) failed |= qgemm_one(type, (int)m, (int)n, (int)k, threads[i], seconds, csv, header);
        return failed;
    }
    for (s = 0; s < (int)(sizeof suite / sizeof suite[0]); s++)
        for (i = 0; i < n_threads; i++, header = 0)
            failed |= qgemm_one(suite[s], (int)m, (int)n, (int)k, threads[i], seconds, csv, header);
    return failed;
}

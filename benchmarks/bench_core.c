/* bench_core.c - benchmarks of tfm_tensor.h: gemm, gemv and the one-token kernels.

   gemm: GFLOP/s = 2 m n k / time (best of repetitions), beside the FMA peak and, when the machine
   has it, OpenBLAS's cblas_sgemm on the same f32 problem (loaded at run time with dlopen, so
   OpenBLAS is never a dependency). gemv: GB/s of weight bytes beside the streaming read bandwidth
   and cblas_sgemv. `ratio` is always OpenBLAS's time over ours (> 1: tfm is faster); for f16/bf16
   weights OpenBLAS runs the same product in f32. */
#include "bench.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- OpenBLAS, if present */

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*cblas_sgemm_fn)(int order, int transa, int transb, int m, int n, int k, float alpha, const float *a,
                               int lda, const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*cblas_sgemv_fn)(int order, int trans, int m, int n, float alpha, const float *a, int lda,
                               const float *x, int incx, float beta, float *y, int incy);
typedef void (*openblas_threads_fn)(int n);
typedef char *(*openblas_config_fn)(void);

typedef struct openblas {
    int tried;
    cblas_sgemm_fn sgemm;
    cblas_sgemv_fn sgemv;
    openblas_threads_fn set_threads;
    const char *config, *core;
} openblas;

static openblas bench_openblas;

/* ISO C has no object-to-function pointer conversion; POSIX guarantees the representation. */
static void *openblas_symbol(void *lib, const char *name, void *fn_out, size_t fn_size)
{
    void *sym = dlsym(lib, name);
    if (sym) memcpy(fn_out, &sym, fn_size);
    return sym;
}

/* The baseline is OpenBLAS at its best on this CPU. OpenBLAS 0.3.21 does not know recent Xeons
   (it falls back to its Prescott SSE kernels) and a machine may pin OPENBLAS_CORETYPE to Haswell,
   so the core is chosen here, before the library loads and reads it: `core` ("--openblas-core",
   default SkylakeX, its AVX-512 kernels, when tfm itself runs AVX-512; "auto" leaves it alone). */
static const openblas *openblas_get(const char *core)
{
    openblas *ob = &bench_openblas;
    void *lib;
    openblas_config_fn config = NULL;
    if (ob->tried) return ob->sgemm ? ob : NULL;
    ob->tried = 1;
    if (!core) core = strcmp(tfm_simd_name(), "avx512") == 0 ? "SkylakeX" : "auto";
    if (strcmp(core, "auto") != 0) setenv("OPENBLAS_CORETYPE", core, 1);
    lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return NULL;
    openblas_symbol(lib, "cblas_sgemm", &ob->sgemm, sizeof ob->sgemm);
    openblas_symbol(lib, "cblas_sgemv", &ob->sgemv, sizeof ob->sgemv);
    openblas_symbol(lib, "openblas_set_num_threads", &ob->set_threads, sizeof ob->set_threads);
    openblas_symbol(lib, "openblas_get_config", &config, sizeof config);
    ob->config = config ? config() : "OpenBLAS";
    openblas_symbol(lib, "openblas_get_corename", &config, sizeof config);
    ob->core = config ? config() : "?";
    if (!ob->sgemm || !ob->set_threads) ob->sgemm = NULL;
    return ob->sgemm ? ob : NULL;
}

/* ---------------------------------------------------------------- data */

static const tfm_dtype float_types[] = {TFM_F32, TFM_F16, TFM_BF16};

static uint64_t bench_rng = 0x2545F4914F6CDD1Dull;

static void fill_uniform(float *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        bench_rng ^= bench_rng << 13;
        bench_rng ^= bench_rng >> 7;
        bench_rng ^= bench_rng << 17;
        x[i] = (float)((double)(bench_rng >> 40) / 8388608.0 - 1.0);
    }
}

/* Weights of dtype t (returned) and their f32 values (*exact, for the f32 baseline). */
static void *make_weights(tfm_dtype t, size_t count, float **exact)
{
    float *f = (float *)tfm_aligned_alloc(count * sizeof(float));
    uint16_t *h;
    if (!f) return NULL;
    fill_uniform(f, count);
    *exact = f;
    if (t == TFM_F32) return f;
    h = (uint16_t *)tfm_aligned_alloc(count * sizeof(uint16_t));
    if (!h) return NULL;
    if (t == TFM_F16) {
        tfm_f32_to_f16_row(h, f, count);
        tfm_f16_to_f32_row(f, h, count);
    } else {
        tfm_f32_to_bf16_row(h, f, count);
        tfm_bf16_to_f32_row(f, h, count);
    }
    return h;
}

static void free_weights(void *w, float *exact)
{
    if (w != exact) tfm_aligned_free(w);
    tfm_aligned_free(exact);
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 0;
    size_t i;
    for (i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    return scale > 0 ? worst / scale : worst;
}

/* ---------------------------------------------------------------- gemm */

typedef struct gemm_case {
    tfm_dtype dtype;
    int m, n, k, threads;
    const void *w;
    const float *w_f32;
    const float *x;
    float *y;
    const openblas *ob;
    tfm_status status;
} gemm_case;

static void run_gemm(void *ctx)
{
    gemm_case *c = (gemm_case *)ctx;
    c->status = tfm_gemm(c->y, (size_t)c->n, c->x, (size_t)c->k, c->dtype, c->w, c->m, c->n, c->k, c->threads);
}

/* the same work as m separate gemv calls, the decode path's way */
static void run_gemm_as_gemvs(void *ctx)
{
    gemm_case *c = (gemm_case *)ctx;
    int i;
    for (i = 0; i < c->m; i++)
        tfm_gemv(c->y + (size_t)i * c->n, c->dtype, c->w, c->x + (size_t)i * c->k, c->n, c->k, c->threads);
}

static void run_openblas_gemm(void *ctx)
{
    gemm_case *c = (gemm_case *)ctx;
    c->ob->sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, c->m, c->n, c->k, 1.0f, c->x, c->k, c->w_f32, c->k, 0.0f,
                 c->y, c->n);
}

static int gemm_one(tfm_dtype dtype, int m, int n, int k, int threads, const openblas *ob, double seconds, int csv,
                    int header)
{
    gemm_case c;
    float *w_f32 = NULL, *x, *y, *y_ref;
    const bench_ceiling *ceil = bench_ceiling_get(threads);
    double flops = 2.0 * m * n * k, t, gflops;
    bench_row row;
    void *w = make_weights(dtype, (size_t)n * k, &w_f32);
    x = (float *)tfm_aligned_alloc((size_t)m * k * sizeof(float));
    y = (float *)tfm_aligned_alloc((size_t)m * n * sizeof(float));
    y_ref = (float *)tfm_aligned_alloc((size_t)m * n * sizeof(float));
    if (!w || !x || !y || !y_ref) {
        fprintf(stderr, "gemm: out of memory\n");
        return 1;
    }
    fill_uniform(x, (size_t)m * k);
    memset(&c, 0, sizeof c);
    c.dtype = dtype;
    c.m = m, c.n = n, c.k = k, c.threads = threads;
    c.w = w, c.w_f32 = w_f32, c.x = x, c.y = y, c.ob = ob;

    t = bench_best(run_gemm, &c, 3, seconds);
    if (c.status != TFM_OK) {
        fprintf(stderr, "gemm: %s\n", tfm_status_string(c.status));
        return 1;
    }
    gflops = flops / t * 1e-9;
    bench_row_init(&row);
    bench_row_str(&row, "dtype", tfm_dtype_name(dtype));
    bench_row_int(&row, "m", m);
    bench_row_int(&row, "n", n);
    bench_row_int(&row, "k", k);
    bench_row_int(&row, "threads", threads);
    bench_row_num(&row, "ms", t * 1e3, 3);
    bench_row_num(&row, "gflops", gflops, 1);
    bench_row_num(&row, "peak", ceil->fma_gflops, 1);
    bench_row_num(&row, "pct_peak", bench_pct(gflops, ceil->fma_gflops), 1);
    if (m <= 16) {
        double tg = bench_best(run_gemm_as_gemvs, &c, 3, seconds);
        bench_row_num(&row, "gemv_gflops", flops / tg * 1e-9, 1);
    } else {
        bench_row_num(&row, "gemv_gflops", NAN, 1);
    }
    if (ob) {
        double tb, diff;
        memcpy(y_ref, y, (size_t)m * n * sizeof(float));
        c.y = y;
        ob->set_threads(threads);
        tb = bench_best(run_openblas_gemm, &c, 3, seconds);
        diff = max_rel_diff(y_ref, y, (size_t)m * n);
        if (diff > 1e-4) fprintf(stderr, "gemm: tfm and OpenBLAS differ by %.2g (relative to max |y|)\n", diff);
        bench_row_num(&row, "openblas_gflops", flops / tb * 1e-9, 1);
        bench_row_num(&row, "ratio", tb / t, 3);
        if (threads > 1) bench_sleep(0.2); /* OpenBLAS's workers spin a while after a call */
    }
    bench_row_print(&row, csv, header);
    free_weights(w, w_f32);
    tfm_aligned_free(x);
    tfm_aligned_free(y);
    tfm_aligned_free(y_ref);
    return 0;
}

static void print_baseline(const openblas *ob, int csv)
{
    if (csv) return;
    if (ob) printf("baseline: %s, core %s\n", ob->config, ob->core);
    else printf("baseline: libopenblas.so.0 not found, no OpenBLAS columns\n");
}

int bench_gemm(int argc, char **argv)
{
    /* the default suite: square, the prefill shape (m = 128 tokens) in each weight dtype, a small
       model's shapes, and small m against m gemv calls */
    static const struct { tfm_dtype dtype; int m, n, k; } suite[] = {
        {TFM_F32, 1024, 1024, 1024}, {TFM_F32, 128, 4096, 4096}, {TFM_F16, 128, 4096, 4096},
        {TFM_BF16, 128, 4096, 4096}, {TFM_F32, 128, 288, 288},   {TFM_F32, 128, 768, 288},
        {TFM_F32, 128, 288, 768},    {TFM_F32, 16, 4096, 4096},  {TFM_F32, 4, 4096, 4096},
        {TFM_F32, 1, 4096, 4096},
    };
    int threads[8], n_threads, csv = bench_flag(argc, argv, "--csv"), header = 1, i, s, failed = 0;
    const openblas *ob;
    double seconds;
    tfm_dtype dtype;
    if (!bench_check_args(argc, argv, "--m --n --k --dtype --threads --seconds --openblas-core", "--csv --no-openblas")) return 2;
    n_threads = bench_threads(argc, argv, threads, 8);
    dtype = bench_arg_dtype(argc, argv, "--dtype", TFM_F32, float_types, 3);
    seconds = bench_arg_num(argc, argv, "--seconds", 0.3);
    if (!n_threads || dtype == TFM_DTYPE_COUNT) {
        fprintf(stderr, "gemm: --dtype is f32, f16 or bf16\n");
        return 2;
    }
    ob = bench_flag(argc, argv, "--no-openblas") ? NULL : openblas_get(bench_arg_str(argc, argv, "--openblas-core", NULL));
    print_baseline(ob, csv);
    if (bench_arg_str(argc, argv, "--m", NULL) || bench_arg_str(argc, argv, "--n", NULL) ||
        bench_arg_str(argc, argv, "--k", NULL)) {
        long m = bench_arg_int(argc, argv, "--m", 1024), n = bench_arg_int(argc, argv, "--n", 1024);
        long k = bench_arg_int(argc, argv, "--k", 1024);
        if (m < 1 || n < 1 || k < 1 || m > 1 << 20 || n > 1 << 20 || k > 1 << 20) {
            fprintf(stderr, "gemm: --m --n --k in 1..%d\n", 1 << 20);
            return 2;
        }
        for (i = 0; i < n_threads; i++, header = 0)
            failed |= gemm_one(dtype, (int)m, (int)n, (int)k, threads[i], ob, seconds, csv, header);
        return failed;
    }
    for (s = 0; s < (int)(sizeof suite / sizeof suite[0]); s++)
        for (i = 0; i < n_threads; i++, header = 0)
            failed |= gemm_one(suite[s].dtype, suite[s].m, suite[s].n, suite[s].k, threads[i], ob, seconds, csv, header);
    return failed;
}

/* ---------------------------------------------------------------- gemv */

/* Enough copies of W that together they exceed the caches (the last level here can be hundreds of
   MiB): each timed call reads a copy that is not in cache, as decoding a real model does. A matrix
   too small for that (768 x 288) is timed from cache, and says so by beating the read bandwidth. */
#define GEMV_MIN_FOOTPRINT ((size_t)512 << 20)
#define GEMV_MAX_COPIES 64

typedef struct gemv_case {
    tfm_dtype dtype;
    int rows, cols, threads, n_copies, next;
    void *w[GEMV_MAX_COPIES];
    float *w_f32[GEMV_MAX_COPIES];
    const float *x;
    float *y;
    const openblas *ob;
    tfm_status status;
} gemv_case;

static void run_gemv(void *ctx)
{
    gemv_case *c = (gemv_case *)ctx;
    c->status = tfm_gemv(c->y, c->dtype, c->w[c->next], c->x, c->rows, c->cols, c->threads);
    c->next = (c->next + 1) % c->n_copies;
}

static void run_openblas_gemv(void *ctx)
{
    gemv_case *c = (gemv_case *)ctx;
    c->ob->sgemv(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, c->rows, c->cols, 1.0f, c->w_f32[c->next], c->cols, c->x, 1, 0.0f,
                 c->y, 1);
    c->next = (c->next + 1) % c->n_copies;
}

static void gemv_free(gemv_case *c)
{
    int i;
    for (i = 0; i < c->n_copies; i++)
        if (c->w_f32[i]) free_weights(c->w[i], c->w_f32[i]);
}

/* One shape at every thread count; the copies of W are made once. */
static int gemv_shape(tfm_dtype dtype, int rows, int cols, const int *threads, int n_threads, const openblas *ob,
                      double seconds, int csv, int *header)
{
    gemv_case c;
    size_t bytes = (size_t)rows * cols * tfm_dtype_block_bytes(dtype);
    size_t f32_bytes = (size_t)rows * cols * sizeof(float);
    float *x = (float *)tfm_aligned_alloc((size_t)cols * sizeof(float));
    float *y = (float *)tfm_aligned_alloc((size_t)rows * sizeof(float));
    int i, ti, failed = !x || !y;
    memset(&c, 0, sizeof c);
    c.n_copies = (int)((GEMV_MIN_FOOTPRINT + f32_bytes - 1) / f32_bytes);
    if (c.n_copies > GEMV_MAX_COPIES) c.n_copies = GEMV_MAX_COPIES;
    c.w[0] = make_weights(dtype, (size_t)rows * cols, &c.w_f32[0]);
    for (i = 1; i < c.n_copies && c.w[0]; i++) {
        c.w_f32[i] = (float *)tfm_aligned_alloc(f32_bytes);
        c.w[i] = dtype == TFM_F32 ? (void *)c.w_f32[i] : tfm_aligned_alloc(bytes);
        if (!c.w[i] || !c.w_f32[i]) break;
        memcpy(c.w_f32[i], c.w_f32[0], f32_bytes);
        if (dtype != TFM_F32) memcpy(c.w[i], c.w[0], bytes);
    }
    for (i = 0; i < c.n_copies; i++) failed |= !c.w[i];
    if (failed) fprintf(stderr, "gemv: out of memory\n");
    fill_uniform(x, (size_t)cols);
    c.dtype = dtype;
    c.rows = rows, c.cols = cols, c.x = x, c.y = y, c.ob = ob;
    for (ti = 0; ti < n_threads && !failed; ti++) {
        const bench_ceiling *ceil = bench_ceiling_get(threads[ti]);
        double t, gbps;
        bench_row row;
        c.threads = threads[ti];
        t = bench_best(run_gemv, &c, 3 * c.n_copies, seconds);
        if (c.status != TFM_OK) {
            fprintf(stderr, "gemv: %s\n", tfm_status_string(c.status));
            failed = 1;
            break;
        }
        gbps = (double)bytes / t * 1e-9;
        bench_row_init(&row);
        bench_row_str(&row, "dtype", tfm_dtype_name(dtype));
        bench_row_int(&row, "rows", rows);
        bench_row_int(&row, "cols", cols);
        bench_row_int(&row, "threads", c.threads);
        bench_row_num(&row, "us", t * 1e6, 1);
        bench_row_num(&row, "gbps", gbps, 1);
        bench_row_num(&row, "read_bw", ceil->read_gbps, 1);
        bench_row_num(&row, "pct_read_bw", bench_pct(gbps, ceil->read_gbps), 1);
        bench_row_num(&row, "gflops", 2.0 * rows * cols / t * 1e-9, 1);
        if (ob && ob->sgemv) {
            double tb;
            ob->set_threads(c.threads);
            tb = bench_best(run_openblas_gemv, &c, 3 * c.n_copies, seconds);
            bench_row_num(&row, "openblas_gbps", (double)f32_bytes / tb * 1e-9, 1);
            bench_row_num(&row, "ratio", tb / t, 3); /* as for gemm: OpenBLAS time / ours, > 1 is faster */
            if (c.threads > 1) bench_sleep(0.2);
        }
        bench_row_print(&row, csv, *header);
        *header = 0;
    }
    gemv_free(&c);
    tfm_aligned_free(x);
    tfm_aligned_free(y);
    return failed;
}

int bench_gemv(int argc, char **argv)
{
    static const struct { tfm_dtype dtype; int rows, cols; } suite[] = {
        {TFM_F32, 4096, 4096}, {TFM_F16, 4096, 4096}, {TFM_BF16, 4096, 4096},
        {TFM_F32, 11008, 4096}, {TFM_F32, 768, 288},
    };
    int threads[8], n_threads, csv = bench_flag(argc, argv, "--csv"), header = 1, s, failed = 0;
    const openblas *ob;
    double seconds;
    tfm_dtype dtype;
    if (!bench_check_args(argc, argv, "--rows --cols --dtype --threads --seconds --openblas-core", "--csv --no-openblas")) return 2;
    n_threads = bench_threads(argc, argv, threads, 8);
    dtype = bench_arg_dtype(argc, argv, "--dtype", TFM_F32, float_types, 3);
    seconds = bench_arg_num(argc, argv, "--seconds", 0.3);
    if (!n_threads || dtype == TFM_DTYPE_COUNT) {
        fprintf(stderr, "gemv: --dtype is f32, f16 or bf16\n");
        return 2;
    }
    ob = bench_flag(argc, argv, "--no-openblas") ? NULL : openblas_get(bench_arg_str(argc, argv, "--openblas-core", NULL));
    print_baseline(ob, csv);
    if (bench_arg_str(argc, argv, "--rows", NULL) || bench_arg_str(argc, argv, "--cols", NULL)) {
        long rows = bench_arg_int(argc, argv, "--rows", 4096), cols = bench_arg_int(argc, argv, "--cols", 4096);
        if (rows < 1 || cols < 1 || rows > 1 << 20 || cols > 1 << 20) {
            fprintf(stderr, "gemv: --rows --cols in 1..%d\n", 1 << 20);
            return 2;
        }
        return gemv_shape(dtype, (int)rows, (int)cols, threads, n_threads, ob, seconds, csv, &header);
    }
    for (s = 0; s < (int)(sizeof suite / sizeof suite[0]); s++)
        failed |= gemv_shape(suite[s].dtype, suite[s].rows, suite[s].cols, threads, n_threads, ob, seconds, csv, &header);
    return failed;
}

/* ---------------------------------------------------------------- one-token kernels */

typedef struct kernel_case {
    int which, n;
    float *a, *b, *out;
    float sink;
} kernel_case;

enum { K_RMSNORM, K_SOFTMAX, K_ROPE, K_SILU, K_DOT, K_COUNT };
static const char *const kernel_names[K_COUNT] = {"rmsnorm", "softmax", "rope", "silu", "dot"};
static const int kernel_sizes[K_COUNT] = {4096, 32000, 4096, 11008, 4096};
/* bytes moved per element: rmsnorm reads x and w, writes out; rope reads and writes x in place */
static const int kernel_bytes[K_COUNT] = {12, 8, 8, 8, 8};

static void run_kernel(void *ctx)
{
    kernel_case *c = (kernel_case *)ctx;
    switch (c->which) {
    case K_RMSNORM: tfm_rmsnorm(c->out, c->a, c->b, (size_t)c->n, 1e-5f); break;
    case K_SOFTMAX:
        memcpy(c->out, c->a, (size_t)c->n * sizeof(float));
        tfm_softmax(c->out, (size_t)c->n);
        break;
    case K_ROPE: tfm_rope(c->out, c->n / 128, 128, 128, 1000, 10000.0f, TFM_ROPE_NORMAL); break;
    case K_SILU: tfm_silu(c->out, c->a, (size_t)c->n); break;
    default: c->sink += tfm_dot(c->a, c->b, (size_t)c->n); break;
    }
}

int bench_kernels(int argc, char **argv)
{
    int csv = bench_flag(argc, argv, "--csv"), i;
    double seconds;
    if (!bench_check_args(argc, argv, "--threads --seconds", "--csv")) return 2;
    seconds = bench_arg_num(argc, argv, "--seconds", 0.1);
    for (i = 0; i < K_COUNT; i++) {
        kernel_case c;
        double t;
        bench_row row;
        memset(&c, 0, sizeof c);
        c.which = i;
        c.n = kernel_sizes[i];
        c.a = (float *)tfm_aligned_alloc((size_t)c.n * sizeof(float));
        c.b = (float *)tfm_aligned_alloc((size_t)c.n * sizeof(float));
        c.out = (float *)tfm_aligned_alloc((size_t)c.n * sizeof(float));
        if (!c.a || !c.b || !c.out) return 1;
        fill_uniform(c.a, (size_t)c.n);
        fill_uniform(c.b, (size_t)c.n);
        fill_uniform(c.out, (size_t)c.n);
        t = bench_best(run_kernel, &c, 10, seconds);
        bench_row_init(&row);
        bench_row_str(&row, "kernel", kernel_names[i]);
        bench_row_int(&row, "n", c.n);
        bench_row_num(&row, "ns", t * 1e9, 0);
        bench_row_num(&row, "ns_per_elem", t * 1e9 / c.n, 3);
        bench_row_num(&row, "gbps_in_cache", (double)kernel_bytes[i] * c.n / t * 1e-9, 1);
        bench_row_print(&row, csv, i == 0);
        tfm_aligned_free(c.a);
        tfm_aligned_free(c.b);
        tfm_aligned_free(c.out);
    }
    return 0;
}

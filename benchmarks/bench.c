/* bench.c - main of build/tfm-bench: the command table, the shared helpers of bench.h, and the
   machine ceilings (measured with the library's own SIMD layer, so they match the kernels' width).

   tfm-bench <command> [options]     tfm-bench --help lists the commands. */
#define TFM_IMPLEMENTATION
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(_WIN32)
#include <windows.h> /* the implementation included it already (tfm_file_map) */
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

static int bench_all(int argc, char **argv);

typedef struct bench_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
    const char *all_args; /* options `all` runs it with; NULL: not part of `all` */
} bench_command;

/* One line per subcommand; `all` runs those with all_args, in this order, after the ceilings. */
static const bench_command bench_commands[] = {
    {"ceilings", bench_ceilings_cmd, "machine ceilings: FMA peak GFLOP/s, read and copy GB/s, int8 (VNNI) peak GOP/s per thread count", NULL},
    {"gemm", bench_gemm, "Y = X W^T: --m --n --k --dtype f32|f16|bf16, GFLOP/s vs peak and OpenBLAS", ""},
    {"gemv", bench_gemv, "y = W x: --rows --cols --dtype, GB/s of weights vs read bandwidth", ""},
    {"kernels", bench_kernels, "rmsnorm, softmax, rope, silu, dot on one token: ns and GB/s", ""},
    {"moe", bench_moe, "MoE block, Mixtral-shaped: batched prefill vs token by token, decode vs dense FFN, routing share", "--dtype q4_0 --seconds 0.1"},
    {"attention", bench_attention, "attention variants: --variant V --seq N (ms, peak_mb, GFLOP/s vs peak), --scaling, --decode (GB/s vs read)", "--suite"},
    {"qgemv", bench_qgemv, "y = W x, W quantized: --type q8_0|q4_0|q4_1|q4_k|q6_k --rows --cols [--hot] [--packed], weight GB/s vs read bandwidth", "--type q4_0 --rows 5632 --cols 2048 --seconds 0.2"},
    {"qgemm", bench_qgemm, "Y = X W^T, W quantized: --type --m --n --k, GFLOP/s-equivalent and tokens/s vs f32 gemm", "--type q4_0 --m 128 --n 1024 --k 2048 --seconds 0.2"},
    {"kv", bench_kv, "a model at a long context per attention and KV cache type: -m MODEL --depth 896 -n 64 --kv f32,i8 --attn \"flash;window:128\", prefill and decode tok/s side by side, KV bytes read per token vs read bandwidth", NULL},
    {"model", bench_model, "model tok/s: -m MODEL -p 128 -n 128, prefill and decode vs read bandwidth (--llama2c RUN -z TOK: vs llama2.c; --llama-bench PATH: vs llama.cpp on a GGUF file; --parallel N: N sequences by tfm_forward_batch, --batched-bench PATH: vs llama-batched-bench)", "-p 128 -n 128 --reps 2"},
    {"embed", bench_embed, "retrieval: --search --count 100000 --dim 384, query ms vs one pass over the index at the read bandwidth (cold and warm)", "--search --count 20000 --seconds 0.2"},
    {"tokenizer", bench_tokenizer, "encode MB/s and tokens/s of tok512/tokenizer.bin on 400 KB of text, vs a llama2.c-style O(n^2) encode", "--ref-max 2048 --seconds 0.3"},
    {"state", bench_state, "a context's state: -m MODEL --tokens 2048, save and load GB/s to memory and to a file (--dir), beside memcpy", NULL},
    {"all", bench_all, "ceilings, then every benchmark's default suite (about a minute)", NULL},
};
#define BENCH_N_COMMANDS (sizeof bench_commands / sizeof bench_commands[0])

static void bench_usage(FILE *out)
{
    size_t i;
    fprintf(out,
            "usage: tfm-bench <command> [options]\n"
            "common options: --threads 1,2 (list; default 1 and %d), --csv (CSV instead of a table)\n"
            "simd: %s; tfm-bench --version, tfm-bench <command> --help\n\ncommands:\n",
            tfm_default_threads(), tfm_simd_name());
    for (i = 0; i < BENCH_N_COMMANDS; i++) fprintf(out, "  %-10s %s\n", bench_commands[i].name, bench_commands[i].help);
}

/* Splits all_args on spaces and appends the options given to `all` (they win: last occurrence). */
static int bench_run_with(const bench_command *cmd, int argc, char **argv)
{
    char buffer[256];
    char *args[64];
    int n = 0, i;
    char *token;
    args[n++] = (char *)cmd->name;
    snprintf(buffer, sizeof buffer, "%s", cmd->all_args);
    for (token = strtok(buffer, " "); token && n < 48; token = strtok(NULL, " ")) args[n++] = token;
    for (i = 1; i < argc && n < 63; i++) args[n++] = argv[i];
    args[n] = NULL;
    return cmd->fn(n, args);
}

static int bench_all(int argc, char **argv)
{
    size_t i;
    int failed = 0;
    double start = bench_now();
    if (!bench_check_args(argc, argv, "--threads", "--csv")) return 2;
    failed |= bench_ceilings_cmd(argc, argv);
    for (i = 0; i < BENCH_N_COMMANDS; i++) {
        bench_command cmd = bench_commands[i];
        char args[256];
        if (!cmd.all_args) continue;
        printf("\n== %s\n", cmd.name);
        fflush(stdout);
        if (cmd.fn == bench_model) { /* `model` wants -m: `all` gives it stories260K when it is there */
            const char *model = bench_default_model();
            if (!model) {
                printf("model: models/stories260K.gguf not found: skipped\n");
                continue;
            }
            snprintf(args, sizeof args, "-m %s %s", model, cmd.all_args);
            cmd.all_args = args;
        }
        failed |= bench_run_with(&cmd, argc, argv) != 0;
    }
    printf("\nall: %.1f s\n", bench_now() - start);
    return failed;
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2) return tfm_args_error("tfm-bench", "give a command (see --help)");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        bench_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        tfm_args_version("tfm-bench");
        return 0;
    }
    for (i = 0; i < BENCH_N_COMMANDS; i++)
        if (!strcmp(argv[1], bench_commands[i].name)) {
            if (bench_flag(argc - 1, argv + 1, "--help") || bench_flag(argc - 1, argv + 1, "-h")) {
                printf("%s: %s\n", bench_commands[i].name, bench_commands[i].help);
                return 0;
            }
            int status = bench_commands[i].fn(argc - 1, argv + 1);
            return status == 2 ? 2 : status ? 1 : 0; /* 2: a usage error; any other failure 1 */
        }
    return tfm_args_error("tfm-bench", "unknown command '%s' (see --help)", tfm_args_quote(argv[1]));
}

/* ================================================================ time */

#if defined(_WIN32)
double bench_now(void)
{
    LARGE_INTEGER count, frequency;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&frequency);
    return (double)count.QuadPart / (double)frequency.QuadPart;
}

void bench_sleep(double seconds) { Sleep((DWORD)(seconds * 1e3)); }
#else
double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bench_sleep(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
#endif

double bench_best(bench_fn fn, void *ctx, int min_reps, double min_seconds)
{
    double best = INFINITY, start;
    int reps;
    fn(ctx);
    start = bench_now();
    for (reps = 0; reps < 1000 && (reps < min_reps || bench_now() - start < min_seconds); reps++) {
        double t0 = bench_now(), dt;
        fn(ctx);
        dt = bench_now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

/* ================================================================ arguments */

const char *bench_arg_str(int argc, char **argv, const char *name, const char *fallback)
{
    int i;
    const char *value = fallback;
    for (i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) value = argv[++i];
    return value;
}

/* "tfm-bench gemm": the prefix of a subcommand's messages */
static const char *bench_prog(char **argv)
{
    static char prog[64];
    snprintf(prog, sizeof prog, "tfm-bench %s", argv[0]);
    return prog;
}

long bench_arg_int(int argc, char **argv, const char *name, long fallback)
{
    const char *s = bench_arg_str(argc, argv, name, NULL);
    long v;
    if (!s) return fallback;
    if (!tfm_args_parse_long(bench_prog(argv), name, s, 0, INT_MAX, &v)) exit(2);
    return v;
}

double bench_arg_num(int argc, char **argv, const char *name, double fallback)
{
    const char *s = bench_arg_str(argc, argv, name, NULL);
    double v;
    if (!s) return fallback;
    if (!tfm_args_parse_double(bench_prog(argv), name, s, 0, 0, 1e30, &v)) exit(2);
    return v;
}

tfm_dtype bench_arg_dtype(int argc, char **argv, const char *name, tfm_dtype fallback, const tfm_dtype *types, int n)
{
    const char *s = bench_arg_str(argc, argv, name, NULL);
    tfm_dtype t;
    if (!s) return fallback;
    if (!tfm_args_parse_dtype(bench_prog(argv), name, s, types, n, &t)) exit(2);
    return t;
}

int bench_flag(int argc, char **argv, const char *name)
{
    int i;
    for (i = 1; i < argc; i++)
        if (!strcmp(argv[i], name)) return 1;
    return 0;
}

int bench_threads(int argc, char **argv, int *list, int max)
{
    const char *s = bench_arg_str(argc, argv, "--threads", NULL);
    int n = 0;
    if (!s) {
        list[n++] = 1;
        if (tfm_default_threads() > 1 && max > 1) list[n++] = tfm_default_threads();
        return n;
    }
    while (*s && n < max) {
        char *end;
        long t = strtol(s, &end, 10);
        if (end == s || t < 1 || t > 1024 || (*end && *end != ',')) {
            fprintf(stderr, "tfm-bench: --threads wants a list like 1,2\n");
            return 0;
        }
#if !defined(_OPENMP)
        if (t > 1) {
            fprintf(stderr, "tfm-bench: built without OpenMP, running 1 thread instead of %ld\n", t);
            t = 1;
        }
#endif
        list[n++] = (int)t;
        s = *end ? end + 1 : end;
    }
    return n;
}

static int bench_word_in(const char *word, const char *list)
{
    size_t len = strlen(word);
    const char *p = list;
    while (list && (p = strstr(p, word)) != NULL) {
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) return 1;
        p += len;
    }
    return 0;
}

int bench_check_args(int argc, char **argv, const char *options, const char *flags)
{
    int i;
    for (i = 1; i < argc; i++) {
        if (bench_word_in(argv[i], options)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tfm-bench %s: %s needs a value\n", argv[0], argv[i]);
                return 0;
            }
            i++;
        } else if (!bench_word_in(argv[i], flags)) {
            fprintf(stderr, "tfm-bench %s: unknown option '%s' (options: %s; flags: %s)\n", argv[0], argv[i], options,
                    flags);
            return 0;
        }
    }
    return 1;
}

/* ================================================================ rows */

void bench_row_init(bench_row *row) { memset(row, 0, sizeof *row); }

void bench_row_str(bench_row *row, const char *name, const char *value)
{
    if (row->n >= BENCH_MAX_COLS) return;
    snprintf(row->name[row->n], sizeof row->name[0], "%s", name);
    snprintf(row->value[row->n], sizeof row->value[0], "%s", value);
    row->n++;
}

void bench_row_int(bench_row *row, const char *name, long long value)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", value);
    bench_row_str(row, name, s);
}

void bench_row_num(bench_row *row, const char *name, double value, int decimals)
{
    char s[32] = "";
    if (value == value) snprintf(s, sizeof s, "%.*f", decimals, value);
    bench_row_str(row, name, s);
}

void bench_row_print(const bench_row *row, int csv, int header)
{
    int i;
    if (header) {
        for (i = 0; i < row->n; i++) {
            int w = (int)strlen(row->name[i]) > 9 ? (int)strlen(row->name[i]) : 9;
            if (csv) printf("%s%s", i ? "," : "", row->name[i]);
            else printf("%s%*s", i ? " " : "", w, row->name[i]);
        }
        printf("\n");
    }
    for (i = 0; i < row->n; i++) {
        int w = (int)strlen(row->name[i]) > 9 ? (int)strlen(row->name[i]) : 9;
        if (csv) printf("%s%s", i ? "," : "", row->value[i]);
        else printf("%s%*s", i ? " " : "", w, row->value[i]);
    }
    printf("\n");
    fflush(stdout);
}

/* ================================================================ ceilings */

#if defined(_OPENMP)
#define BENCH_PRAGMA(x) _Pragma(#x)
#define BENCH_PARALLEL(t) BENCH_PRAGMA(omp parallel num_threads(t))
#define BENCH_BARRIER BENCH_PRAGMA(omp barrier)
#define BENCH_THREAD_ID omp_get_thread_num()
#else
#define BENCH_PARALLEL(t)
#define BENCH_BARRIER
#define BENCH_THREAD_ID 0
#endif

#define BENCH_MAX_THREADS 1024

/* the ceilings' inner loops on the path the kernels run (bench_ceiling_kernels.h) */
typedef struct bench_ceiling_kernels {
    double (*fma_loop)(long iters, float *sink);
    float (*read_sum)(const float *p, size_t n);
    double (*int8_loop)(long iters, int *sink);
} bench_ceiling_kernels;
#define TFM__PN(name) name
#include "bench_ceiling_kernels.h"
#undef TFM__PN
#if defined(TFM__DISPATCH)
#include "tfm_simd_pass.h"
#include "bench_ceiling_kernels.h"
#include "tfm_simd_pass.h"
#include "bench_ceiling_kernels.h"
#include "tfm_simd_pass.h"
static const bench_ceiling_kernels *const bench_ceiling_paths[] = {&bench_ceiling_table, &bench_ceiling_table_avx2,
                                                                   &bench_ceiling_table_avx512};
#define BENCH_CEILING(name) (bench_ceiling_paths[tfm__simd_path()]->name)
#else
#define BENCH_CEILING(name) (bench_ceiling_table.name)
#endif

static double bench_measure_fma(int threads)
{
    float sinks[BENCH_MAX_THREADS] = {0};
    volatile float sink = 0.0f;
    long iters = 2000000;
    double best = INFINITY, dt, flops = 0;
    int rep;
    double t0 = bench_now();
    BENCH_CEILING(fma_loop)(iters, &sinks[0]);
    dt = bench_now() - t0;
    if (dt > 0) iters = (long)((double)iters * 0.02 / dt) + 1; /* about 20 ms a run */
    /* many short runs: on a shared machine the best one is the one nobody else interrupted */
    for (rep = 0; rep < 10; rep++) {
        double start = 0, end = 0;
        BENCH_PARALLEL(threads)
        {
            float s;
            double f;
            BENCH_BARRIER
            if (BENCH_THREAD_ID == 0) start = bench_now();
            f = BENCH_CEILING(fma_loop)(iters, &s);
            BENCH_BARRIER
            if (BENCH_THREAD_ID == 0) end = bench_now(), flops = f;
            sinks[BENCH_THREAD_ID % BENCH_MAX_THREADS] = s;
        }
        if (end - start < best) best = end - start;
    }
    sink = sinks[0];
    (void)sink;
    return flops * threads / best * 1e-9;
}

#define BENCH_BW_BYTES ((size_t)512 << 20)

/* Best of 3 read passes and 2 copies; each thread reads (or copies) its contiguous share. The buffer
   comes from the allocator of the packed weights (tfm__alloc_streamed: huge pages where the system has
   them), so that a model's decode is measured against what the same memory can deliver. */
static void bench_measure_bandwidth(int threads, double *read_gbps, double *copy_gbps)
{
    size_t n = BENCH_BW_BYTES / sizeof(float), i;
    float *buf = (float *)tfm__alloc_streamed(BENCH_BW_BYTES);
    float sinks[BENCH_MAX_THREADS] = {0};
    volatile float sink;
    double best_read = INFINITY, best_copy = INFINITY;
    int rep;
    *read_gbps = *copy_gbps = NAN;
    if (!buf) return;
    for (i = 0; i < n; i++) buf[i] = (float)(i & 1023);
    for (rep = 0; rep < 5; rep++) {
        int copy = rep == 1 || rep == 3;
        double start = 0, end = 0;
        BENCH_PARALLEL(threads)
        {
            int t = BENCH_THREAD_ID;
            size_t half = n / 2, share = (copy ? half : n) / (size_t)threads;
            share -= share % 1024;
            BENCH_BARRIER
            if (t == 0) start = bench_now();
            if (copy) memcpy(buf + half + share * (size_t)t, buf + share * (size_t)t, share * sizeof(float));
            else sinks[t % BENCH_MAX_THREADS] = BENCH_CEILING(read_sum)(buf + share * (size_t)t, share);
            BENCH_BARRIER
            if (t == 0) end = bench_now();
        }
        if (copy) {
            if (end - start < best_copy) best_copy = end - start;
        } else if (end - start < best_read) {
            best_read = end - start;
        }
    }
    sink = sinks[0];
    (void)sink;
    tfm_aligned_free(buf);
    *read_gbps = (double)BENCH_BW_BYTES / best_read * 1e-9;
    *copy_gbps = (double)BENCH_BW_BYTES / best_copy * 1e-9; /* half read + half written */
}

/* The int8 dot product peak (AVX-512 VNNI), 0 where the path that runs has none */
double bench_int8_peak_gops(int threads)
{
    double best = INFINITY, ops = 0;
    long iters = 4000000;
    int rep, sinks[BENCH_MAX_THREADS] = {0};
    volatile int sink = 0;
    if (BENCH_CEILING(int8_loop)(1, &sinks[0]) == 0) return 0;
    for (rep = 0; rep < 5; rep++) {
        double start = 0, end = 0;
        BENCH_PARALLEL(threads)
        {
            double o;
            BENCH_BARRIER
            if (BENCH_THREAD_ID == 0) start = bench_now();
            o = BENCH_CEILING(int8_loop)(iters, &sinks[BENCH_THREAD_ID % BENCH_MAX_THREADS]);
            BENCH_BARRIER
            if (BENCH_THREAD_ID == 0) end = bench_now(), ops = o;
        }
        sink += sinks[0];
        if (end - start < best) best = end - start;
    }
    (void)sink;
    return ops * threads / best * 1e-9;
}

double bench_token_macs(const tfm_model *m)
{
    double macs = 0;
    int l;
    for (l = 0; l < m->config.n_layers; l++) {
        const tfm_layer *L = &m->layers[l];
        const tfm_weight *w[7];
        int i;
        w[0] = &L->wq, w[1] = &L->wk, w[2] = &L->wv, w[3] = &L->wo, w[4] = &L->ffn_gate, w[5] = &L->ffn_up;
        w[6] = &L->ffn_down;
        for (i = 0; i < 7; i++)
            if (w[i]->tensor.data) macs += (double)w[i]->tensor.ne[0] * (double)w[i]->tensor.ne[1];
    }
    return macs;
}

#define BENCH_MAX_CEILINGS 16

static bench_ceiling bench_ceiling_cache[BENCH_MAX_CEILINGS];
static int bench_ceiling_count;

const bench_ceiling *bench_ceiling_get(int threads)
{
    int i;
    bench_ceiling *c;
    for (i = 0; i < bench_ceiling_count; i++)
        if (bench_ceiling_cache[i].threads == threads) return &bench_ceiling_cache[i];
    c = &bench_ceiling_cache[bench_ceiling_count < BENCH_MAX_CEILINGS ? bench_ceiling_count++ : BENCH_MAX_CEILINGS - 1];
    c->threads = threads;
    c->fma_gflops = bench_measure_fma(threads);
    bench_measure_bandwidth(threads, &c->read_gbps, &c->copy_gbps);
    return c;
}

double bench_pct(double value, double ceiling)
{
    return ceiling > 0 ? 100.0 * value / ceiling : NAN;
}

int bench_ceilings_cmd(int argc, char **argv)
{
    int threads[8], n, i, csv = bench_flag(argc, argv, "--csv");
    if (!bench_check_args(argc, argv, "--threads", "--csv")) return 2;
    n = bench_threads(argc, argv, threads, 8);
    if (!n) return 2;
    if (!csv) printf("simd %s (%d floats a vector), %d thread(s) available\n", tfm_simd_name(), TFM__VF_N, tfm_default_threads());
    for (i = 0; i < n; i++) {
        const bench_ceiling *c = bench_ceiling_get(threads[i]);
        bench_row row;
        double int8;
        bench_row_init(&row);
        bench_row_int(&row, "threads", c->threads);
        bench_row_num(&row, "fma_gflops", c->fma_gflops, 1);
        bench_row_num(&row, "read_gbps", c->read_gbps, 1);
        bench_row_num(&row, "copy_gbps", c->copy_gbps, 1);
        int8 = bench_int8_peak_gops(threads[i]);
        bench_row_num(&row, "int8_gops", int8 > 0 ? int8 : NAN, 1); /* nan: no VNNI on the path that runs */
        bench_row_print(&row, csv, i == 0);
    }
    return 0;
}

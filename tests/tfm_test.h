/* tfm_test.h - the tiny test runner every tests/test_*.c uses.

   A test is a void function; TT_ASSERT fails it (and returns), TT_SKIP skips it. main() calls
   TT_RUN for each and ends with `return tt_summary("name");`, which prints one line
   `name: N passed, M failed, S skipped` that tests/run.sh sums up.
   Float comparisons go through tt_close(), against references computed in double in the test. */
#ifndef TFM_TEST_H
#define TFM_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) || defined(__clang__)
#define TT_FN static __attribute__((unused))
#else
#define TT_FN static
#endif

static int tt_passed, tt_failed, tt_skipped;
static int tt_current_failed, tt_current_skipped;
static const char *tt_current_name = "";

TT_FN void tt_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tt_current_failed = 1;
    fprintf(stderr, "  FAIL %s (%s:%d): ", tt_current_name, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#define TT_ASSERT(cond, ...)                                   \
    do {                                                       \
        if (!(cond)) {                                         \
            tt_fail(__FILE__, __LINE__, __VA_ARGS__);          \
            return;                                            \
        }                                                      \
    } while (0)

#define TT_CHECK(cond) TT_ASSERT(cond, "%s", #cond)

#define TT_SKIP(reason)                                                      \
    do {                                                                     \
        tt_current_skipped = 1;                                              \
        fprintf(stderr, "  SKIP %s: %s\n", tt_current_name, reason);         \
        return;                                                              \
    } while (0)

/* TT_TIMES=1 in the environment prints each test's processor time on stderr (finding slow tests);
   TT_ONLY=NAME runs only the test of that name (the others are not counted). */
#define TT_RUN(fn)                                                           \
    do {                                                                     \
        clock_t tt_started_ = clock();                                       \
        if (getenv("TT_ONLY") && strcmp(getenv("TT_ONLY"), #fn) != 0) break; \
        tt_current_name = #fn;                                               \
        tt_current_failed = tt_current_skipped = 0;                          \
        fn();                                                                \
        if (tt_current_failed) tt_failed++;                                  \
        else if (tt_current_skipped) tt_skipped++;                           \
        else tt_passed++;                                                    \
        if (getenv("TT_TIMES"))                                              \
            fprintf(stderr, "  TIME %s %.2f s\n", #fn,                       \
                    (double)(clock() - tt_started_) / CLOCKS_PER_SEC);       \
    } while (0)

TT_FN int tt_summary(const char *suite)
{
    printf("%s: %d passed, %d failed, %d skipped\n", suite, tt_passed, tt_failed, tt_skipped);
    fflush(stdout);
    return tt_failed ? 1 : 0;
}

/* |got - want| <= atol + rtol * |want|, NaN equal to NaN, infinities equal when identical */
TT_FN int tt_close(double got, double want, double atol, double rtol)
{
    if (want != want) return got != got;
    if (isinf(want)) return got == want;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

/* Deterministic test RNG (splitmix64), independent of the library's. */
static uint64_t tt_rng_state = 0x9E3779B97F4A7C15ull;
TT_FN void tt_seed(uint64_t s) { tt_rng_state = s; }
TT_FN uint64_t tt_next(void)
{
    uint64_t z = (tt_rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in [lo, hi) */
TT_FN float tt_uniform(float lo, float hi) { return lo + (hi - lo) * (float)((tt_next() >> 40) * (1.0 / 16777216.0)); }
TT_FN void tt_fill(float *x, size_t n, float lo, float hi)
{
    size_t i;
    for (i = 0; i < n; i++) x[i] = tt_uniform(lo, hi);
}

TT_FN void *tt_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "test: out of memory\n");
        abort();
    }
    return p;
}

/* TFM_TEST_QUICK set to anything but "" or "0": tests/run.sh sets it for the configurations that run
   10-50x slower (sanitizers, emulated aarch64). A test may then shrink or skip its longest runs, never
   what the fast configurations leave out. */
TT_FN int tt_quick(void)
{
    const char *v = getenv("TFM_TEST_QUICK");
    return v && *v && strcmp(v, "0") != 0;
}

/* Path of a file under ../shared (or $TFM_SHARED); NULL if it does not exist, so the caller skips. */
TT_FN const char *tt_shared(const char *relative)
{
    static char path[1024];
    const char *root = getenv("TFM_SHARED");
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : "../shared", relative);
    f = fopen(path, "rb");
    if (!f) return NULL;
    fclose(f);
    return path;
}

/* Whole file into memory (NUL-terminated); NULL if missing. */
TT_FN char *tt_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (char *)tt_alloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    if (size) *size = (size_t)n;
    return buf;
}

/* A llama2.c model file in memory (run.c's layout, shared classifier): a header of 7 int32 then random
   f32 weights of the given shape (head_dim = dim / heads), the norms near 1; *size = its bytes. Load it
   with tfm_model_load_memory; free() it after the model. For tests that need some model, not a reference
   (test_model.c builds its own to compare against float64). */
TT_FN float *tt_llama2c_model(int dim, int hidden, int layers, int heads, int kv_heads, int vocab, int seq_len,
                              uint64_t seed, size_t *size)
{
    size_t L = (size_t)layers, D = (size_t)dim, H = (size_t)hidden, kv = D / (size_t)heads * (size_t)kv_heads;
    size_t norms[3], n_norms = 3, i, k, at = 7;
    size_t n = 7 + (size_t)vocab * D + L * (D + D * D + 2 * D * kv + D * D + D + 3 * D * H) + D +
               (size_t)seq_len * (D / (size_t)heads);
    int32_t header[7];
    float *f = (float *)tt_alloc(n * sizeof(float));
    tt_seed(seed);
    for (i = 7; i < n; i++) f[i] = tt_uniform(-1.0f, 1.0f) / sqrtf((float)dim);
    /* attn_norm, ffn_norm and the final norm, at their offsets in the file */
    at += (size_t)vocab * D;
    norms[0] = at;
    at += L * D + L * D * D + 2 * L * D * kv + L * D * D;
    norms[1] = at;
    at += L * D + 3 * L * D * H;
    norms[2] = at;
    for (k = 0; k < n_norms; k++)
        for (i = 0; i < (k < 2 ? L * D : D); i++) f[norms[k] + i] = tt_uniform(0.5f, 1.5f);
    header[0] = dim, header[1] = hidden, header[2] = layers, header[3] = heads, header[4] = kv_heads;
    header[5] = vocab, header[6] = seq_len;
    memcpy(f, header, sizeof header);
    *size = n * sizeof(float);
    return f;
}

/* The library's allocation hooks (tests/run.sh compiles the implementation every test links with
   TFM_MALLOC, TFM_FREE and TFM_REALLOC routed to test_malloc, test_free and test_realloc): counting
   allocators, unless the test defines TT_OWN_ALLOCATION_HOOKS before this include and its own
   functions of those names. hook_calls counts allocations, hook_live the blocks not yet freed,
   hook_fail = 1 makes every allocation fail, hook_fail_kth(k) makes only the k-th allocation from now
   fail (k = 0: the next one; hook_kth_reached() tells whether the run got that far). */
#ifndef TT_OWN_ALLOCATION_HOOKS
static long hook_calls, hook_live; /* allocations made, blocks not yet freed */
static int hook_fail;              /* nonzero: every allocation fails */
static long hook_fail_at = -1, hook_seen; /* the allocation to fail, allocations since hook_fail_kth */

/* tfm_gemm allocates inside its parallel region: the counters change atomically */
static void hook_count(long *counter, long delta)
{
#if defined(_OPENMP)
#pragma omp atomic
#endif
    *counter += delta;
}

TT_FN void hook_fail_kth(long k)
{
    hook_seen = 0;
    hook_fail_at = k;
}

TT_FN int hook_kth_reached(void) { return hook_fail_at >= 0 && hook_seen > hook_fail_at; }

/* Whether this allocation is the one hook_fail_kth chose. */
static int hook_kth_now(void)
{
    long seen;
    if (hook_fail_at < 0) return 0;
#if defined(_OPENMP)
#pragma omp atomic capture
#endif
    seen = hook_seen++;
    return seen == hook_fail_at;
}

void *test_malloc(size_t bytes)
{
    if (hook_fail || hook_kth_now()) return NULL;
    hook_count(&hook_calls, 1);
    hook_count(&hook_live, 1);
    return malloc(bytes ? bytes : 1);
}

void test_free(void *p)
{
    if (p) hook_count(&hook_live, -1);
    free(p);
}

void *test_realloc(void *p, size_t bytes)
{
    if (!p) return test_malloc(bytes);
    if (hook_fail || hook_kth_now()) return NULL;
    return realloc(p, bytes ? bytes : 1);
}
#endif /* TT_OWN_ALLOCATION_HOOKS */

#endif

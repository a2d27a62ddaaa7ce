/* tfm_attention.h - attention for tfm: dense, flash-tiled, sliding window, BigBird block-sparse,
   Linformer and kernelised linear attention behind one config struct, plus the per-layer KV cache.
   MIT or public domain, your choice: see the end of tfm_tensor.h (and LICENSE).

   USAGE
     In exactly one C or C++ file:
        #define TFM_IMPLEMENTATION
        #include "tfm_attention.h"        (includes tfm_tensor.h itself)

        tfm_attn_config cfg;
        tfm_attn_config_init(&cfg, TFM_ATTN_FLASH, 8, 2, 64);        8 query heads, 2 kv heads, d = 64
        tfm_attn_prefill(&cfg, out, q, k, v, 1, n, n, 0, NULL, NULL, 0);   workspace allocated per call

     A model keeps one tfm_kv_cache per layer and one workspace sized once, and calls tfm_attn_decode
     for the prompt (n_new = prompt length) and for every generated token (n_new = 1):
        tfm_kv_cache_init(&cache[l], &cfg, max_tokens);
        tfm_attn_workspace_size(&cfg, max_chunk, max_tokens, &bytes);  ws = tfm_aligned_alloc(bytes);
        tfm_attn_decode(&cfg, &cache[l], out, q, k, v, n_new, ws, bytes);   appends k, v and attends

   LAYOUT (token-major, as a model produces them; a KV cache stores K and V the same way)
     q, out  [n_q][n_heads][head_dim]           k, v  [n_kv][n_kv_heads][head_dim]
     Query i sits at position pos0 + i; key j at position j. Query head h reads kv head
     h / (n_heads / n_kv_heads): MHA (equal counts), GQA (any divisor), MQA (one kv head). K and V are
     never copied per query head: the query heads of one kv group are processed together, so each K/V
     tile is loaded once for the whole group.

   VARIANTS (each is the dense attention softmax(scale Q K^T + mask) V it equals; tests check that)
     DENSE      materialises the n_q x n_kv scores of a head, then softmax, then P V. A reference.
     FLASH      the same result in query tiles x key chunks with an online softmax (running max and sum):
                workspace O(tile x (head_dim + tile)) per thread, never n x n. Fully masked key chunks
                are skipped. SIMD register-blocked Q K^T and P V products through the tfm__vf layer.
     WINDOW     key j visible from position p when p - w < j <= p (causal), |p - j| < w (bidirectional).
                O(n w) time; its KV cache is a ring buffer of w rows, so decode memory is O(w).
     BIGBIRD    blocks of b tokens (the last block may be shorter: n need not be a multiple of b).
                Query block I attends key block J when: I < g or J < g (g global blocks attend to all
                and are attended by all); J is in the window of w blocks (causal: I-w+1..I;
                bidirectional: I-(w-1)/2 .. I-(w-1)/2+w-1); or J is one of r random blocks drawn for I
                from the blocks not already attended (seeded splitmix64, identical on every platform;
                fewer when fewer remain). Causal BigBird masks the future: block J > I is never
                attended (global and random blocks included), random blocks are drawn among J < I only,
                and inside the diagonal block the token-level causal mask applies. A causal row depends
                only on (I, seed), so decode agrees with prefill as the cache grows.
                tfm_attn_bigbird_mask() exposes the block mask. Time O(n b (g + w + r)).
     LINFORMER  attends over k projected keys/values K' = E K, V' = F V with E, F of shape k x n
                (n == n_kv; padded keys are left out of the projections). Defined bidirectionally:
                a causal config is refused (TFM_ERR_UNSUPPORTED) and it has no decode.
     LINEAR     Katharopoulos et al. 2020: out_i = phi(q_i)^T S / phi(q_i)^T z with phi(x) = elu(x) + 1,
                S = sum_j phi(k_j) v_j^T and z = sum_j phi(k_j) over the visible keys. O(n d^2), causal by
                prefix sums; its "KV cache" is the state (S, z) per kv head, so a decode step costs O(d^2)
                whatever the context length. It uses no softmax and ignores cfg.scale.
     Soft-cap: cfg.softcap > 0 caps every scaled score s at softcap * tanh(s / softcap) before the
     softmax (Gemma 2), in every variant with scores (linear attention has none: refused).
     Masks: causal or bidirectional (cfg.causal); per-sequence valid length kv_len (key padding: keys
     j >= kv_len[s] are invisible). A query that sees no key gets a zero output row.

   KV CACHE
     tfm_kv_cache_init makes the cache a config needs: all K/V rows, a ring of the last w rows for a
     window, or linear attention's state. cfg.kv_type TFM_I8 stores each (token, kv head) row of head_dim
     values as int8 with one f32 scale (tfm_kv_quantize_row: scale = max|x| / 127, so an element moves by
     at most scale / 2): (head_dim + 4) / (4 head_dim) of the f32 bytes, 27% at head_dim 64. The new
     tokens of a tfm_attn_decode call are quantized first and attended like the cached ones. A decode
     step reads int8 rows directly (converted in registers: it is bound by the bytes it reads); a prompt
     chunk's tiles dequantize each chunk of keys once, then run the f32 kernels.
     A decode step (one query) keeps its scores row-major, so the online softmax runs along the keys
     with full vectors; it reads each cached row once, every kv head of it together, four rows at a
     time (their sums out of one shuffle tree), with rows ahead prefetched: it is bound by memory.

   WORKSPACE AND THREADS
     Scratch memory is a workspace the caller owns: tfm_attn_workspace_size() tells its size for at
     most n_q queries per sequence against at most n_kv keys (for tfm_attn_decode: n_q = the largest
     n_new, n_kv = the cache's max_tokens). Pass NULL to have the call allocate and free it itself.
     Nothing else is allocated by prefill/decode. Threads (cfg.n_threads, <= 0: tfm_default_threads())
     split query tiles and heads; a decode step splits the keys in fixed chunks of 512 positions (each
     thread a contiguous run of them) and merges the partial softmaxes in a fixed order, so results
     never depend on the thread count (a step of under ~4K multiply-adds runs on one thread: a team
     would cost more than it saves).

   ERRORS
     Every function returning tfm_status rejects NULL, bad counts (n_heads % n_kv_heads != 0,
     head_dim 0, window 0, BigBird block or window 0, causal Linformer, ...) and a workspace that is
     too small; tfm_attn_config_check() explains a bad config in a tfm_error. A full cache returns
     TFM_ERR_CONTEXT_FULL and is left unchanged.
*/
#ifndef TFM_ATTENTION_H
#define TFM_ATTENTION_H

#include "tfm_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tfm_attn_kind {
    TFM_ATTN_DENSE = 0,
    TFM_ATTN_FLASH = 1,
    TFM_ATTN_WINDOW = 2,
    TFM_ATTN_BIGBIRD = 3,
    TFM_ATTN_LINFORMER = 4,
    TFM_ATTN_LINEAR = 5
} tfm_attn_kind;

typedef struct tfm_attn_bigbird {
    int block;     /* b: tokens per block (>= 1) */
    int n_global;  /* g: the first g blocks are global (>= 0) */
    int n_window;  /* w: window of w blocks around (causal: ending at) the query block (>= 1) */
    int n_random;  /* r: random key blocks per query block (>= 0) */
    uint64_t seed; /* seed of the random blocks */
} tfm_attn_bigbird;

typedef struct tfm_attn_linformer {
    int k;          /* projected length */
    int n;          /* sequence length the projections expect: n_kv must equal it */
    const float *e; /* [k][n], projects the keys */
    const float *f; /* [k][n], projects the values */
} tfm_attn_linformer;

typedef struct tfm_attn_config {
    tfm_attn_kind kind;
    int n_heads;    /* query heads */
    int n_kv_heads; /* key/value heads, a divisor of n_heads */
    int head_dim;
    float scale;    /* score scale; 0 means 1/sqrt(head_dim) */
    float softcap;  /* > 0: each scaled score s becomes softcap * tanh(s / softcap) before the softmax
                       (Gemma 2); 0: none */
    int causal;     /* 1: query at position p sees keys j <= p; 0: bidirectional */
    int window;     /* TFM_ATTN_WINDOW: w */
    tfm_attn_bigbird bigbird;
    tfm_attn_linformer linformer;
    int tile_rows;  /* flash: query rows per tile (tokens x heads of a group); 0: 64 */
    int tile_keys;  /* flash: keys per chunk; 0: 64 */
    int n_threads;  /* <= 0: tfm_default_threads() */
    tfm_dtype kv_type; /* storage of a KV cache made for this config: TFM_F32 (0) or TFM_I8 */
} tfm_attn_config;

/* Fills cfg with a valid default: the given kind and shape, causal, scale 1/sqrt(head_dim),
   window 256, BigBird (block 64, 1 global, 3 window, 2 random, seed 0), default tiles and threads. */
TFM_API void tfm_attn_config_init(tfm_attn_config *cfg, tfm_attn_kind kind, int n_heads, int n_kv_heads, int head_dim);
/* Sets the kind and its parameters from a spec: "dense", "flash", "linear", "window:W",
   "bigbird:B,G,W,R" (optionally ",SEED"), "linformer:K" (the caller still provides E, F and n).
   Other fields are kept. On error cfg is unchanged and err (may be NULL) says why. */
TFM_API tfm_status tfm_attn_config_parse(tfm_attn_config *cfg, const char *spec, tfm_error *err);
/* TFM_OK, or why the config is unusable (status and a one-line message in err, which may be NULL). */
TFM_API tfm_status tfm_attn_config_check(const tfm_attn_config *cfg, tfm_error *err);
/* "dense", "flash", "window", "bigbird", "linformer", "linear", or NULL for an unknown kind. */
TFM_API const char *tfm_attn_kind_name(tfm_attn_kind kind);

/* Bytes of workspace tfm_attn_prefill needs for up to n_q queries per sequence against up to n_kv keys
   (and tfm_attn_decode for n_new <= n_q with a cache of max_tokens <= n_kv). Includes 64 bytes of
   alignment slack. For FLASH/WINDOW/BIGBIRD it grows with n_kv only through small per-512-key and
   per-block terms (O(n_kv d / 512 + n_kv / b)); DENSE needs n_q x n_kv floats per thread. */
TFM_API tfm_status tfm_attn_workspace_size(const tfm_attn_config *cfg, int n_q, int n_kv, size_t *bytes);

/* Attention of n_seq independent sequences laid out one after the other: q and out are
   [n_seq][n_q][n_heads][head_dim], k and v [n_seq][n_kv][n_kv_heads][head_dim]. Queries are at
   positions pos0 .. pos0+n_q-1 (for the causal mask; a prefill of tokens p0.. against a cache holding
   0..p0+n_q-1 passes pos0 = p0, n_kv = p0+n_q), keys at 0 .. n_kv-1. kv_len (may be NULL: all n_kv) gives
   each sequence's valid length: keys from kv_len[s] on are padding. workspace may be NULL (allocated
   here) or hold workspace_bytes >= tfm_attn_workspace_size(cfg, n_q, n_kv). */
TFM_API tfm_status tfm_attn_prefill(const tfm_attn_config *cfg, float *out, const float *q, const float *k,
                                    const float *v, int n_seq, int n_q, int n_kv, int pos0, const int *kv_len,
                                    void *workspace, size_t workspace_bytes);

/* BigBird blocks of a sequence of n_tokens: ceil(n_tokens / block); 0 if cfg or n_tokens is invalid. */
TFM_API int tfm_attn_bigbird_blocks(const tfm_attn_config *cfg, int n_tokens);
/* The block mask of cfg.bigbird (and cfg.causal) for n_tokens: mask[I * nb + J] = 1 when query block I
   attends key block J, else 0, with nb = tfm_attn_bigbird_blocks(). mask_bytes must be >= nb * nb. */
TFM_API tfm_status tfm_attn_bigbird_mask(const tfm_attn_config *cfg, int n_tokens, unsigned char *mask,
                                         size_t mask_bytes);

/* ---------------------------------------------------------------- KV cache (one per layer) */

typedef struct tfm_kv_cache {
    tfm_dtype dtype;    /* storage of k and v: TFM_F32, or TFM_I8 (tfm_kv_quantize_row rows) */
    int n_kv_heads;
    int head_dim;
    int max_tokens;     /* positions 0..max_tokens-1 can be appended; beyond: TFM_ERR_CONTEXT_FULL */
    int capacity;       /* rows of k and v: max_tokens, the window for a ring, 0 for linear attention */
    int ring;           /* nonzero: position p lives in row p % capacity (sliding window) */
    int length;         /* tokens appended so far (the next token's position) */
    void *k;            /* [capacity][n_kv_heads][head_dim] of dtype */
    void *v;
    float *k_scale;     /* TFM_I8: [capacity][n_kv_heads], the scale of each row of k */
    float *v_scale;
    float *state;       /* linear attention: per kv head S[head_dim][head_dim] then z[head_dim] */
} tfm_kv_cache;

/* Allocates a cache suited to cfg: full K/V rows (DENSE, FLASH, BIGBIRD), a ring of min(window,
   max_tokens) rows (WINDOW), or the recurrent state (LINEAR), with rows of cfg->kv_type: TFM_F32, or
   TFM_I8 (head_dim int8 values and one f32 scale per token and kv head: (head_dim + 4) / (4 head_dim)
   of the f32 bytes; not for LINEAR, whose state is no rows). LINFORMER has no cache
   (TFM_ERR_UNSUPPORTED). On failure the cache is left empty (safe to free). */
TFM_API tfm_status tfm_kv_cache_init(tfm_kv_cache *cache, const tfm_attn_config *cfg, int max_tokens);
TFM_API void tfm_kv_cache_free(tfm_kv_cache *cache);
/* Forgets every token (length 0, linear state zeroed); keeps the memory. */
TFM_API void tfm_kv_cache_reset(tfm_kv_cache *cache);
/* Bytes the cache holds (K and V rows with their scales, or the state). */
TFM_API size_t tfm_kv_cache_bytes(const tfm_kv_cache *cache);

/* int8 KV-cache rows: one float scale per row, scale = max|x| / 127, q[i] = x[i] / scale rounded half
   away from zero (all zero, scale 0, for an all-zero row). Any length. Returns the scale. */
TFM_API float tfm_kv_quantize_row(int8_t *q, const float *x, size_t n);
/* sum_i x[i] * scale * q[i] (an f32 query against an int8 key row) */
TFM_API float tfm_kv_dot(const float *x, const int8_t *q, float scale, size_t n);
/* y[i] += alpha * scale * q[i] (accumulating an int8 value row into an f32 output) */
TFM_API void tfm_kv_axpy(float *y, float alpha, const int8_t *q, float scale, size_t n);

/* Appends n_new tokens' k_new, v_new ([n_new][n_kv_heads][head_dim]) to the cache and writes the
   attention of their queries q ([n_new][n_heads][head_dim], positions cache->length ..) over every
   token in the cache to out. n_new = 1 is a decode step (keys split across threads in fixed chunks);
   n_new > 1 a prompt chunk (tiled like prefill). Row i equals row cache->length + i of a prefill over
   the whole sequence. TFM_ERR_CONTEXT_FULL (cache unchanged) if the tokens do not fit. An int8 cache
   quantizes the new rows first and attends over the stored (dequantized) values only, the new tokens'
   own included, so a row does not depend on how the tokens were split into calls. cfg->kv_type must
   be the cache's dtype. */
TFM_API tfm_status tfm_attn_decode(const tfm_attn_config *cfg, tfm_kv_cache *cache, float *out, const float *q,
                                   const float *k_new, const float *v_new, int n_new, void *workspace,
                                   size_t workspace_bytes);

#ifdef __cplusplus
}
#endif

#endif /* TFM_ATTENTION_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_ATTENTION_IMPLEMENTATION_DONE)
#define TFM_ATTENTION_IMPLEMENTATION_DONE

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TFM__ATTN_TILE_ROWS 64
#define TFM__ATTN_TILE_KEYS 64
#define TFM__ATTN_MAX_TILE 4096
#define TFM__ATTN_MAX_COUNT (1 << 24) /* the most blocks, tokens or positions a BigBird setting may name */
#define TFM__ATTN_SPLIT 512        /* keys per decode split: fixed, so results ignore the thread count */
#define TFM__ATTN_NONE (-1e30f)    /* running max before any key: finite, so e^(none - none) = 1 */

/* The lanes the layouts pad to (rows of the output Dpad, query rows of a tile mpad): the vector width
   of every path the kernels may run (tfm_attention_kernels.h): a portable x86-64 build's widest, 16. */
#if defined(TFM__DISPATCH)
#define TFM__ATTN_LANES 16
#else
#define TFM__ATTN_LANES TFM__VF_N
#endif

/* a decode step streams its K/V rows once: fetch them ahead so the misses overlap */
#if defined(__GNUC__) || defined(__clang__)
#define TFM__ATTN_PREFETCH(p) __builtin_prefetch((p), 0, 1)
#else
#define TFM__ATTN_PREFETCH(p) ((void)(p))
#endif
#define TFM__ATTN_PREFETCH_ROWS 16
/* elements [0, width) of row r of base (rows ld elements apart, f32 or int8), a line at a time (a macro:
   gcc 12 drops prefetches from an inline function) */
#define TFM__ATTN_PREFETCH_ROW(base, r, ld, width, i8)                                     \
    do {                                                                                   \
        const char *row_ = (const char *)tfm__attn_at(base, (size_t)(r) * (ld), i8);       \
        size_t b_, bytes_ = (size_t)(width) * ((i8) ? 1 : 4);                              \
        for (b_ = 0; b_ < bytes_; b_ += 64) TFM__ATTN_PREFETCH(row_ + b_);                 \
    } while (0)

#if defined(_OPENMP)
/* dynamic: causal tiles differ in cost; each task is still computed whole by one thread */
#define TFM__ATTN_PARALLEL_FOR(n_threads) \
    TFM__PRAGMA(omp parallel for schedule(dynamic, 1) num_threads(n_threads) if ((n_threads) > 1))
#define TFM__ATTN_PARALLEL(n_threads) TFM__PRAGMA(omp parallel num_threads(n_threads) if ((n_threads) > 1))
static int tfm__attn_thread(void) { return omp_get_thread_num(); }
static int tfm__attn_team(void) { return omp_get_num_threads(); }
#else
#define TFM__ATTN_PARALLEL_FOR(n_threads)
#define TFM__ATTN_PARALLEL(n_threads)
static int tfm__attn_thread(void) { return 0; }
static int tfm__attn_team(void) { return 1; }
#endif

/* ---------------------------------------------------------------- config */

const char *tfm_attn_kind_name(tfm_attn_kind kind)
{
    switch (kind) {
    case TFM_ATTN_DENSE: return "dense";
    case TFM_ATTN_FLASH: return "flash";
    case TFM_ATTN_WINDOW: return "window";
    case TFM_ATTN_BIGBIRD: return "bigbird";
    case TFM_ATTN_LINFORMER: return "linformer";
    case TFM_ATTN_LINEAR: return "linear";
    }
    return NULL;
}

void tfm_attn_config_init(tfm_attn_config *cfg, tfm_attn_kind kind, int n_heads, int n_kv_heads, int head_dim)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->n_heads = n_heads;
    cfg->n_kv_heads = n_kv_heads;
    cfg->head_dim = head_dim;
    cfg->causal = 1;
    cfg->window = 256;
    cfg->bigbird.block = 64;
    cfg->bigbird.n_global = 1;
    cfg->bigbird.n_window = 3;
    cfg->bigbird.n_random = 2;
}

tfm_status tfm_attn_config_check(const tfm_attn_config *cfg, tfm_error *err)
{
    if (!cfg) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: NULL config");
    if (!tfm_attn_kind_name(cfg->kind))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: unknown kind %d", (int)cfg->kind);
    if (cfg->n_heads <= 0 || cfg->n_kv_heads <= 0 || cfg->head_dim <= 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: n_heads %d, n_kv_heads %d, head_dim %d must be positive",
                             cfg->n_heads, cfg->n_kv_heads, cfg->head_dim);
    if (cfg->n_heads % cfg->n_kv_heads)
        return tfm_error_set(err, TFM_ERR_SHAPE, "attention: n_heads %d is not a multiple of n_kv_heads %d", cfg->n_heads,
                             cfg->n_kv_heads);
    if (cfg->head_dim > 65536 || cfg->n_heads > 65536)
        return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "attention: head_dim %d or n_heads %d too large", cfg->head_dim,
                             cfg->n_heads);
    if (!(cfg->scale == cfg->scale) || cfg->scale == INFINITY || cfg->scale == -INFINITY)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: scale must be finite (0 for 1/sqrt(head_dim))");
    if (!(cfg->softcap >= 0.0f) || cfg->softcap == INFINITY)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: softcap must be finite and >= 0 (0: none)");
    if (cfg->softcap > 0.0f && cfg->kind == TFM_ATTN_LINEAR)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "attention: linear attention has no scores to soft-cap");
    if (cfg->tile_rows < 0 || cfg->tile_keys < 0 || cfg->tile_rows > TFM__ATTN_MAX_TILE || cfg->tile_keys > TFM__ATTN_MAX_TILE)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: tile sizes must be in 0..%d", TFM__ATTN_MAX_TILE);
    if (cfg->kind == TFM_ATTN_WINDOW && cfg->window <= 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: window must be >= 1 (got %d)", cfg->window);
    if (cfg->kind == TFM_ATTN_BIGBIRD) {
        const tfm_attn_bigbird *bb = &cfg->bigbird;
        if (bb->block <= 0 || bb->n_window <= 0 || bb->n_global < 0 || bb->n_random < 0)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                                 "attention: bigbird needs block >= 1, window >= 1 blocks, global >= 0, random >= 0 "
                                 "(got %d,%d,%d,%d)", bb->block, bb->n_global, bb->n_window, bb->n_random);
        /* sums of these (a block's last position, a window's last block) must stay ints */
        if (bb->block > TFM__ATTN_MAX_COUNT || bb->n_window > TFM__ATTN_MAX_COUNT ||
            bb->n_global > TFM__ATTN_MAX_COUNT || bb->n_random > TFM__ATTN_MAX_COUNT)
            return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE,
                                 "attention: bigbird block, global, window and random counts must be at most %d "
                                 "(got %d,%d,%d,%d)", TFM__ATTN_MAX_COUNT, bb->block, bb->n_global, bb->n_window,
                                 bb->n_random);
    }
    if (cfg->kind == TFM_ATTN_LINFORMER) {
        const tfm_attn_linformer *lf = &cfg->linformer;
        if (cfg->causal)
            return tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                                 "attention: linformer is defined bidirectionally (its projections mix all positions); "
                                 "a causal linformer is refused");
        if (lf->k <= 0 || lf->n <= 0 || !lf->e || !lf->f)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: linformer needs k >= 1, n >= 1 and projections E, F");
    }
    return TFM_OK;
}

/* strtol over the whole of [s, end) with a range check */
static int tfm__attn_parse_int(const char *s, const char **next, long lo, long hi, long *value)
{
    char *end;
    long v;
    if (*s < '0' || *s > '9') return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    /* errno: where long is 32 bits, an overflow's LONG_MAX is also INT_MAX, inside the range */
    if (end == s || errno == ERANGE || v < lo || v > hi) return 0;
    *value = v;
    *next = end;
    return 1;
}

tfm_status tfm_attn_config_parse(tfm_attn_config *cfg, const char *spec, tfm_error *err)
{
    tfm_attn_config c;
    const char *p;
    long v[5];
    int n = 0;
    if (!cfg || !spec) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: NULL spec");
    c = *cfg;
    if (!strcmp(spec, "dense")) c.kind = TFM_ATTN_DENSE;
    else if (!strcmp(spec, "flash")) c.kind = TFM_ATTN_FLASH;
    else if (!strcmp(spec, "linear")) c.kind = TFM_ATTN_LINEAR;
    else if (!strncmp(spec, "window:", 7) || !strncmp(spec, "bigbird:", 8) || !strncmp(spec, "linformer:", 10)) {
        int want = spec[0] == 'b' ? 4 : 1;
        p = strchr(spec, ':') + 1;
        for (;;) {
            if (n == 5 || !tfm__attn_parse_int(p, &p, 0, INT_MAX, &v[n])) break;
            n++;
            if (*p != ',') break;
            p++;
        }
        if (*p != '\0' || !(n == want || (want == 4 && n == 5)))
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                                 "attention: bad spec '%s' (want window:W, bigbird:B,G,W,R[,SEED] or linformer:K)", spec);
        if (spec[0] == 'w') {
            c.kind = TFM_ATTN_WINDOW;
            c.window = (int)v[0];
        } else if (spec[0] == 'b') {
            c.kind = TFM_ATTN_BIGBIRD;
            c.bigbird.block = (int)v[0];
            c.bigbird.n_global = (int)v[1];
            c.bigbird.n_window = (int)v[2];
            c.bigbird.n_random = (int)v[3];
            if (n == 5) c.bigbird.seed = (uint64_t)v[4];
        } else {
            c.kind = TFM_ATTN_LINFORMER;
            c.linformer.k = (int)v[0];
        }
    } else {
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                             "attention: unknown variant '%s' (dense, flash, window:W, bigbird:B,G,W,R, linformer:K, linear)",
                             spec);
    }
    if ((c.kind == TFM_ATTN_WINDOW && c.window <= 0) ||
        (c.kind == TFM_ATTN_BIGBIRD && (c.bigbird.block <= 0 || c.bigbird.n_window <= 0)) ||
        (c.kind == TFM_ATTN_LINFORMER && c.linformer.k <= 0))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "attention: '%s': window, block and k must be >= 1", spec);
    *cfg = c;
    return TFM_OK;
}

/* ---------------------------------------------------------------- BigBird block structure */

static uint64_t tfm__attn_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [0, n), n < 2^32: the high 32 bits scaled (no division, same result everywhere) */
static int tfm__attn_below(uint64_t *state, int n)
{
    return (int)(((tfm__attn_splitmix(state) >> 32) * (uint64_t)n) >> 32);
}

static void tfm__attn_sort(int *a, int n)
{
    int i, j;
    for (i = 1; i < n; i++) {
        int x = a[i];
        for (j = i; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

/* The key blocks query block qb attends among nb key blocks, ascending, into blocks[] (room for
   nb + 1 entries); returns the count. */
static int tfm__attn_bigbird_row(const tfm_attn_bigbird *bb, int causal, int nb, int qb, int *blocks)
{
    int n = 0, j, lo, hi, reach, pool, a0, a1, b0, b1, count_a, count, r;
    int g = bb->n_global, w = bb->n_window;
    reach = causal ? (qb + 1 < nb ? qb + 1 : nb) : nb; /* blocks [0, reach) may be attended */
    if (qb < g) {
        for (j = 0; j < reach; j++) blocks[n++] = j;
        return n;
    }
    lo = causal ? qb - w + 1 : qb - (w - 1) / 2;
    hi = lo + w - 1;
    for (j = 0; j < g && j < reach; j++) blocks[n++] = j;
    for (j = lo > g ? lo : g; j <= hi && j < reach; j++) blocks[n++] = j; /* window blocks not already global */
    /* random candidates: [g, pool) minus the window, as two intervals [a0, a1) and [b0, b1) */
    pool = causal && qb < nb ? qb : nb;
    a0 = g;
    a1 = lo < pool ? lo : pool;
    if (a1 < a0) a1 = a0;
    b0 = hi + 1 > g ? hi + 1 : g;
    b1 = pool;
    if (b1 < b0) b1 = b0;
    count_a = a1 - a0;
    count = count_a + (b1 - b0);
    r = bb->n_random < count ? bb->n_random : count;
    if (r > 0) {
        /* Floyd's sampling of r distinct indices of [0, count): O(r^2), no rejection loop */
        uint64_t state = bb->seed ^ ((uint64_t)(unsigned)qb * 0xD1B54A32D192ED03ull);
        int first = n, t;
        for (t = count - r; t < count; t++) {
            int pick = tfm__attn_below(&state, t + 1), i, seen = 0, idx, block;
            for (i = first; i < n; i++) {
                idx = blocks[i] < a1 ? blocks[i] - a0 : blocks[i] - b0 + count_a;
                if (idx == pick) seen = 1;
            }
            idx = seen ? t : pick;
            block = idx < count_a ? a0 + idx : b0 + (idx - count_a);
            blocks[n++] = block;
        }
        /* a causal draw looks at J < qb only; keys beyond the sequence (nb) are dropped */
        for (t = first, j = first; t < n; t++)
            if (blocks[t] < reach) blocks[j++] = blocks[t];
        n = j;
    }
    tfm__attn_sort(blocks, n);
    return n;
}

int tfm_attn_bigbird_blocks(const tfm_attn_config *cfg, int n_tokens)
{
    if (!cfg || cfg->bigbird.block <= 0 || n_tokens <= 0) return 0;
    return (int)(((long long)n_tokens + cfg->bigbird.block - 1) / cfg->bigbird.block);
}

tfm_status tfm_attn_bigbird_mask(const tfm_attn_config *cfg, int n_tokens, unsigned char *mask, size_t mask_bytes)
{
    int nb, i, j, n, *blocks;
    tfm_status s;
    if (!cfg || !mask || n_tokens <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (cfg->kind != TFM_ATTN_BIGBIRD) return TFM_ERR_INVALID_ARGUMENT;
    s = tfm_attn_config_check(cfg, NULL);
    if (s != TFM_OK) return s;
    nb = tfm_attn_bigbird_blocks(cfg, n_tokens);
    if ((size_t)nb > mask_bytes / (size_t)nb) return TFM_ERR_INVALID_ARGUMENT;
    blocks = (int *)TFM_MALLOC(sizeof(int) * ((size_t)nb + 1));
    if (!blocks) return TFM_ERR_OUT_OF_MEMORY;
    memset(mask, 0, (size_t)nb * (size_t)nb);
    for (i = 0; i < nb; i++) {
        n = tfm__attn_bigbird_row(&cfg->bigbird, cfg->causal, nb, i, blocks);
        for (j = 0; j < n; j++) mask[(size_t)i * (size_t)nb + (size_t)blocks[j]] = 1;
    }
    TFM_FREE(blocks);
    return TFM_OK;
}

/* ---------------------------------------------------------------- shapes and workspace */

typedef struct tfm__attn_dims {
    int H, KV, G, D, Dpad;
    float scale;
    int bq;       /* query tokens per tile */
    int bk;       /* keys per chunk */
    int unit;     /* tiles never straddle a unit of positions (a BigBird block, else bq) */
    int per_unit; /* tiles per unit */
    int threads;
} tfm__attn_dims;

static size_t tfm__attn_round(size_t x, size_t m) { return (x + m - 1) / m * m; }

static void tfm__attn_dims_init(tfm__attn_dims *d, const tfm_attn_config *cfg)
{
    int rows = cfg->tile_rows > 0 ? cfg->tile_rows : TFM__ATTN_TILE_ROWS;
    d->H = cfg->n_heads;
    d->KV = cfg->n_kv_heads;
    d->G = d->H / d->KV;
    d->D = cfg->head_dim;
    d->Dpad = (int)tfm__attn_round((size_t)d->D, TFM__ATTN_LANES);
    d->scale = cfg->scale != 0.0f ? cfg->scale : (float)(1.0 / sqrt((double)d->D));
    d->bq = (rows + d->G - 1) / d->G;
    d->bk = cfg->tile_keys > 0 ? cfg->tile_keys : TFM__ATTN_TILE_KEYS;
    d->unit = d->bq;
    d->per_unit = 1;
    if (cfg->kind == TFM_ATTN_BIGBIRD) {
        d->unit = cfg->bigbird.block;
        if (d->bq > d->unit) d->bq = d->unit;
        d->per_unit = (d->unit + d->bq - 1) / d->bq;
    }
    d->threads = tfm__threads(cfg->n_threads);
}

/* Offsets (bytes, 64-aligned) of the workspace regions for a call with up to n_q queries per
   sequence and n_kv keys. Per-thread regions are repeated `threads` times. */
typedef struct tfm__attn_layout {
    size_t thread_bytes;  /* per thread: the flash tile (or dense scores, or linear state) + block lists */
    size_t tile_floats;   /* flash tile scratch within a thread's region */
    size_t split_bytes;   /* decode partials: KV * max_splits slots */
    size_t slot_floats;   /* one decode partial: rmax, rsum, corr [mpad] + o [G][Dpad] */
    size_t ranges_bytes;  /* block list + ranges for a decode step, shared */
    size_t proj_bytes;    /* linformer projections K', V' */
    size_t deq_floats;    /* int8 rows: one chunk of K and V dequantized for a tile, per thread */
    size_t stage_bytes;   /* int8 rows: the new tokens' quantized K, V and scales, shared */
    int max_splits;
    int max_blocks;       /* entries of one block list */
    size_t total;
} tfm__attn_layout;

#define TFM__ATTN_OVER (SIZE_MAX / 8)

/* a * b with saturation at TFM__ATTN_OVER, so an absurd size reads as "too large", never wraps */
static size_t tfm__attn_mul(size_t a, size_t b)
{
    if (a && b > TFM__ATTN_OVER / a) return TFM__ATTN_OVER;
    return a * b;
}

static size_t tfm__attn_add(size_t a, size_t b) { return a > TFM__ATTN_OVER - b ? TFM__ATTN_OVER : a + b; }

static size_t tfm__attn_bytes(size_t floats) { return tfm__attn_round(tfm__attn_mul(floats, sizeof(float)), 64); }

/* a tile's query rows: a multiple of the Q K^T micro-tile's width (TFM__ATTN_QW, two vectors) */
static size_t tfm__attn_mpad_tile(const tfm__attn_dims *d, int tokens) { return tfm__attn_round((size_t)d->G * (size_t)tokens, 2 * TFM__ATTN_LANES); }
static size_t tfm__attn_mpad_decode(const tfm__attn_dims *d) { return tfm__attn_round((size_t)d->G, TFM__ATTN_LANES); }

static tfm_status tfm__attn_layout_init(tfm__attn_layout *L, const tfm_attn_config *cfg, const tfm__attn_dims *d, int n_q,
                                        int n_kv)
{
    size_t D = (size_t)d->D, Dpad = (size_t)d->Dpad, T = (size_t)d->threads;
    int keys = n_kv;
    memset(L, 0, sizeof *L);
    if (cfg->kind == TFM_ATTN_LINFORMER) keys = cfg->linformer.k;
    L->max_blocks = 2;
    if (cfg->kind == TFM_ATTN_BIGBIRD) L->max_blocks = tfm_attn_bigbird_blocks(cfg, n_kv) + 2;
    if (cfg->kind == TFM_ATTN_DENSE) {
        L->thread_bytes = tfm__attn_bytes(tfm__attn_mul((size_t)n_q, (size_t)n_kv));
    } else if (cfg->kind == TFM_ATTN_LINEAR) {
        L->thread_bytes = tfm__attn_bytes(D * D + 4 * Dpad);
    } else {
        int tokens = n_q < d->bq ? n_q : d->bq;
        size_t mpad = tfm__attn_mpad_tile(d, tokens), mpad_d = tfm__attn_mpad_decode(d);
        size_t ints = 3 * (size_t)L->max_blocks;
        L->tile_floats = tfm__attn_round(D * mpad + (size_t)d->bk * mpad + mpad * Dpad + 3 * mpad, 16);
        /* a decode task's scores (bk per query row of all heads), then its scaled query rows */
        if (L->tile_floats < (size_t)d->bk * mpad_d) L->tile_floats = (size_t)d->bk * mpad_d;
        if (L->tile_floats < (size_t)d->H * ((size_t)d->bk + D)) L->tile_floats = (size_t)d->H * ((size_t)d->bk + D);
        if (cfg->kv_type == TFM_I8) L->deq_floats = 2 * (size_t)d->bk * Dpad;
        L->thread_bytes = tfm__attn_add(tfm__attn_bytes(L->tile_floats), tfm__attn_bytes(L->deq_floats));
        L->thread_bytes = tfm__attn_add(L->thread_bytes, tfm__attn_round(tfm__attn_mul(ints, sizeof(int)), 64));
        L->max_splits = keys / TFM__ATTN_SPLIT + 2;
        L->slot_floats = tfm__attn_round(3 * mpad_d + (size_t)d->G * Dpad, 16);
        L->split_bytes = tfm__attn_bytes(tfm__attn_mul(tfm__attn_mul((size_t)d->KV, (size_t)L->max_splits), L->slot_floats));
        L->ranges_bytes = tfm__attn_round(tfm__attn_mul(ints, sizeof(int)), 64);
        if (cfg->kind == TFM_ATTN_LINFORMER)
            L->proj_bytes = tfm__attn_bytes(tfm__attn_mul(2 * (size_t)cfg->linformer.k, (size_t)d->KV * D));
    }
    if (cfg->kv_type == TFM_I8 && cfg->kind != TFM_ATTN_LINEAR && cfg->kind != TFM_ATTN_LINFORMER) {
        size_t rows = tfm__attn_mul((size_t)n_q, (size_t)d->KV); /* the new tokens' rows, quantized */
        L->stage_bytes = tfm__attn_add(2 * tfm__attn_round(tfm__attn_mul(rows, D), 64), 2 * tfm__attn_bytes(rows));
    }
    L->total = tfm__attn_add(tfm__attn_mul(L->thread_bytes, T), 64);
    L->total = tfm__attn_add(L->total, L->split_bytes);
    L->total = tfm__attn_add(L->total, L->ranges_bytes);
    L->total = tfm__attn_add(L->total, L->proj_bytes);
    L->total = tfm__attn_add(L->total, L->stage_bytes);
    return L->total >= TFM__ATTN_OVER ? TFM_ERR_OUT_OF_RANGE : TFM_OK;
}

tfm_status tfm_attn_workspace_size(const tfm_attn_config *cfg, int n_q, int n_kv, size_t *bytes)
{
    tfm__attn_dims d;
    tfm__attn_layout L;
    tfm_status s;
    if (!bytes) return TFM_ERR_INVALID_ARGUMENT;
    *bytes = 0;
    s = tfm_attn_config_check(cfg, NULL);
    if (s != TFM_OK) return s;
    if (n_q <= 0 || n_kv <= 0) return TFM_ERR_INVALID_ARGUMENT;
    tfm__attn_dims_init(&d, cfg);
    s = tfm__attn_layout_init(&L, cfg, &d, n_q, n_kv);
    if (s == TFM_OK) *bytes = L.total;
    return s;
}

/* ---------------------------------------------------------------- key sources */

/* Keys at positions [begin, end) stored contiguously: the row of position p (all kv heads) at
   k + (p - begin) * stride elements: f32, or int8 with the scale of kv head h at ks[(p - begin) * n_kv + h]. */
typedef struct tfm__attn_seg {
    const void *k, *v;
    const float *ks, *vs; /* int8 rows: their scales; NULL for f32 rows */
    int begin, end;
} tfm__attn_seg;

/* At most: two pieces of a ring buffer plus the new tokens of a decode call. Every segment holds the
   same element type. */
typedef struct tfm__attn_src {
    tfm__attn_seg seg[3];
    int n_seg;
    size_t stride; /* elements between consecutive positions: n_kv_heads * head_dim */
    int n_kv;      /* scales per position */
} tfm__attn_src;

/* One sequence of a call. */
typedef struct tfm__attn_seq {
    const float *q; /* [n_q][H][D] */
    float *out;
    int n_q, pos0;
    int n_kv;   /* key positions that exist: [0, n_kv) */
    int kv_end; /* visible keys: [0, kv_end) (key padding) */
    tfm__attn_src src;
} tfm__attn_seq;

static const tfm__attn_seg *tfm__attn_src_seg(const tfm__attn_src *src, int pos)
{
    int s;
    for (s = 0; s < src->n_seg; s++)
        if (pos >= src->seg[s].begin && pos < src->seg[s].end) return &src->seg[s];
    return NULL;
}

/* An f32 row (of K or V) of kv head 0 at position pos: only for f32 sources (prefill's). */
static const float *tfm__attn_src_row(const tfm__attn_src *src, int pos, int values)
{
    const tfm__attn_seg *g = tfm__attn_src_seg(src, pos);
    return (const float *)(values ? g->v : g->k) + (size_t)(pos - g->begin) * src->stride;
}

/* q . k (kv head kh at position pos), whatever the rows' type */
static float tfm__attn_src_dot(const tfm__attn_src *src, int pos, int kh, const float *q, int D)
{
    const tfm__attn_seg *g = tfm__attn_src_seg(src, pos);
    size_t row = (size_t)(pos - g->begin), off = row * src->stride + (size_t)kh * (size_t)D;
    if (g->ks) return tfm_kv_dot(q, (const int8_t *)g->k + off, g->ks[row * (size_t)src->n_kv + (size_t)kh], (size_t)D);
    return tfm_dot(q, (const float *)g->k + off, (size_t)D);
}

/* o += a v (kv head kh at position pos), whatever the rows' type */
static void tfm__attn_src_axpy(const tfm__attn_src *src, int pos, int kh, float a, float *o, int D)
{
    const tfm__attn_seg *g = tfm__attn_src_seg(src, pos);
    size_t row = (size_t)(pos - g->begin), off = row * src->stride + (size_t)kh * (size_t)D;
    if (g->vs) tfm_kv_axpy(o, a, (const int8_t *)g->v + off, g->vs[row * (size_t)src->n_kv + (size_t)kh], (size_t)D);
    else tfm_axpy(o, a, (const float *)g->v + off, (size_t)D);
}

/* Position ranges [r[2i], r[2i+1]) of the keys that queries at positions [p_first, p_last] may see
   (a superset; the per-element mask trims the edges), ascending. blocks: scratch for BigBird. */
static int tfm__attn_ranges(const tfm_attn_config *cfg, const tfm__attn_seq *sq, int p_first, int p_last, int *blocks,
                            int *r)
{
    long long lo = 0, hi = sq->kv_end;
    int n = 0;
    if (cfg->kind == TFM_ATTN_BIGBIRD) {
        int b = cfg->bigbird.block, nb = tfm_attn_bigbird_blocks(cfg, sq->n_kv), i, count;
        long long cap = hi;
        if (cfg->causal && (long long)p_last + 1 < cap) cap = (long long)p_last + 1;
        count = tfm__attn_bigbird_row(&cfg->bigbird, cfg->causal, nb, p_first / b, blocks);
        for (i = 0; i < count; i++) {
            long long a = (long long)blocks[i] * b, e = a + b;
            if (e > cap) e = cap;
            if (a >= e) continue;
            if (n > 0 && r[2 * n - 1] == a) r[2 * n - 1] = (int)e;
            else {
                r[2 * n] = (int)a;
                r[2 * n + 1] = (int)e;
                n++;
            }
        }
        return n;
    }
    if (cfg->kind == TFM_ATTN_WINDOW) {
        lo = (long long)p_first - cfg->window + 1;
        if (!cfg->causal && (long long)p_last + cfg->window < hi) hi = (long long)p_last + cfg->window;
    }
    if (cfg->causal && (long long)p_last + 1 < hi) hi = (long long)p_last + 1;
    if (lo < 0) lo = 0;
    if (lo < hi) {
        r[0] = (int)lo;
        r[1] = (int)hi;
        n = 1;
    }
    return n;
}

/* The tokens [*lo, *hi) of a tile (T tokens from position p0) that may see the key at position j:
   the causal and window masks, as one interval. */
static void tfm__attn_row_span(const tfm_attn_config *cfg, int p0, int T, int j, int *lo, int *hi)
{
    long long a = 0, b = T, rel = (long long)j - p0;
    if (cfg->causal && rel > a) a = rel;
    if (cfg->kind == TFM_ATTN_WINDOW) {
        if (rel + cfg->window < b) b = rel + cfg->window;
        if (!cfg->causal && rel - cfg->window + 1 > a) a = rel - cfg->window + 1;
    }
    if (b < a) b = a;
    *lo = (int)(a > T ? T : a);
    *hi = (int)(b > T ? T : b);
}

/* ---------------------------------------------------------------- flash tile kernels */

/* A tile of queries of one kv group: M = G * T rows (token-major: row t * G + g), their scores kept
   transposed as S^T[key][row] so the online softmax runs down columns with full vectors. */
typedef struct tfm__attn_tile {
    int G, T, M, mpad, D, Dpad, p0;
    const float *qt; /* [D][mpad] scaled Q^T, or NULL: scores by dot products with the rows of q */
    const float *q;  /* rows of the group for T == 1 (heads of a group are contiguous) */
    float scale;
    float softcap;   /* > 0: scores soft-capped (tfm_softcap) */
    float *s;        /* [bk][mpad] */
    float *o;        /* [M][Dpad] unnormalised output */
    float *rmax, *rsum, *corr; /* [mpad] */
} tfm__attn_tile;

/* ---------------------------------------------------------------- rows of f32 or int8
   The kernels that stream K and V rows are written once for both row types: always inlined with a
   constant i8, each instance keeps only its own loads. */
#if defined(__GNUC__) || defined(__clang__)
#define TFM__ATTN_SPECIALISE static inline __attribute__((always_inline))
#else
#define TFM__ATTN_SPECIALISE static inline
#endif

/* element i of an array of rows: the start of row i when i = r * ld */
TFM__ATTN_SPECIALISE const void *tfm__attn_at(const void *base, size_t i, int i8)
{
    return i8 ? (const void *)((const int8_t *)base + i) : (const void *)((const float *)base + i);
}

/* Lanes 0..n-1 of tfm__vf_load(tfm__attn_first + 16 - n) are 1, the others 0 (TFM__VF_N <= 16): the
   last, partial vector of a row of scores is handled whole with it (reading back a masked store lane by
   lane would stall on every lane) and without e^x of a padding -Inf (an underflow: microcode assists). */
static const float tfm__attn_first[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

/* The tile of the h-th kv head of a decode task whose first head's tile is t0: its query rows, its
   rows of scores (lds apart) and its partial (slot_floats after the previous head's). */
TFM__ATTN_SPECIALISE tfm__attn_tile tfm__attn_decode_head(const tfm__attn_tile *t0, int h, size_t lds, size_t slot_floats)
{
    tfm__attn_tile t = *t0;
    size_t slot = (size_t)h * slot_floats;
    t.q += (size_t)h * (size_t)t.M * (size_t)t.D;
    t.s += (size_t)h * (size_t)t.M * lds;
    t.rmax += slot;
    t.rsum += slot;
    t.corr += slot;
    t.o += slot;
    return t;
}

static void tfm__attn_tile_reset(const tfm__attn_tile *t)
{
    int m;
    memset(t->o, 0, sizeof(float) * (size_t)t->M * (size_t)t->Dpad);
    for (m = 0; m < t->mpad; m++) {
        t->rmax[m] = TFM__ATTN_NONE;
        t->rsum[m] = 0.0f;
    }
}

/* The kernels of a tile (tfm_attention_kernels.h) for the build's instruction set, then (a portable
   x86-64 build) for each one it dispatches to; TFM__ATTN_K calls the path that runs (RUN-TIME DISPATCH in
   tfm_tensor.h). */
typedef struct tfm__attn_kernels {
    void (*tile_keys)(const tfm__attn_tile *t, const tfm_attn_config *cfg, const tfm__attn_dims *d, const tfm__attn_src *src,
                      int kh, int heads, size_t slot_floats, const int *ranges, int n_ranges, int clip_lo, int clip_hi,
                      float *deq);
    void (*tile_finish)(const tfm__attn_tile *t, float *out, size_t out_stride);
} tfm__attn_kernels;
#define TFM__PN(name) name
#include "tfm_attention_kernels.h"
#undef TFM__PN
#if defined(TFM__DISPATCH)
#include "tfm_simd_pass.h"
#include "tfm_attention_kernels.h"
#include "tfm_simd_pass.h"
#include "tfm_attention_kernels.h"
#include "tfm_simd_pass.h"
static const tfm__attn_kernels *const tfm__attn_kernel_paths[] = {&tfm__attn_kernel_table, &tfm__attn_kernel_table_avx2,
                                                                   &tfm__attn_kernel_table_avx512};
#define TFM__ATTN_K(name) (tfm__attn_kernel_paths[tfm__simd_path()]->name)
#else
#define TFM__ATTN_K(name) (tfm__attn_kernel_table.name)
#endif

/* Query tokens [*i0, *i1) of tile slot `slot`: slots follow units of positions (BigBird blocks, else
   tiles), per_unit slots each, so a tile never spans two BigBird blocks. Returns 0 for an empty slot. */
static int tfm__attn_slot(const tfm__attn_dims *d, const tfm__attn_seq *sq, int slot, int *i0, int *i1)
{
    long long first = sq->pos0 / d->unit, u = first + slot / d->per_unit, sub = slot % d->per_unit;
    long long lo = u * d->unit + sub * d->bq, hi = lo + d->bq;
    if (hi > (u + 1) * d->unit) hi = (u + 1) * d->unit;
    if (lo < sq->pos0) lo = sq->pos0;
    if (hi > (long long)sq->pos0 + sq->n_q) hi = (long long)sq->pos0 + sq->n_q;
    *i0 = (int)(lo - sq->pos0);
    *i1 = (int)(hi - sq->pos0);
    return lo < hi;
}

/* Prefill of one sequence: tasks (kv head, tile) in parallel, each with its thread's scratch. */
static void tfm__attn_flash_seq(const tfm_attn_config *cfg, const tfm__attn_dims *d, const tfm__attn_layout *L,
                                const tfm__attn_seq *sq, unsigned char *ws)
{
    long long last_unit = ((long long)sq->pos0 + sq->n_q - 1) / d->unit, first_unit = sq->pos0 / d->unit;
    int n_slots = (int)((last_unit - first_unit + 1) * d->per_unit);
    int n_tasks = n_slots * d->KV, task;
    size_t q_stride = (size_t)d->H * (size_t)d->D;
    TFM__ATTN_PARALLEL_FOR(d->threads)
    for (task = 0; task < n_tasks; task++) {
        unsigned char *mine = ws + (size_t)tfm__attn_thread() * L->thread_bytes;
        float *deq = (float *)(void *)(mine + tfm__attn_bytes(L->tile_floats));
        int *blocks = (int *)(void *)((unsigned char *)deq + tfm__attn_bytes(L->deq_floats)), *ranges = blocks + L->max_blocks;
        int kh = task % d->KV, i0, i1, tok, g, c, n_ranges;
        tfm__attn_tile t;
        float *qt;
        if (!tfm__attn_slot(d, sq, task / d->KV, &i0, &i1)) continue;
        t.G = d->G;
        t.T = i1 - i0;
        t.M = t.G * t.T;
        t.mpad = (int)tfm__attn_mpad_tile(d, t.T);
        t.D = d->D;
        t.Dpad = d->Dpad;
        t.p0 = sq->pos0 + i0;
        t.scale = d->scale;
        t.softcap = cfg->softcap;
        t.q = NULL;
        qt = (float *)(void *)mine;
        t.s = qt + (size_t)t.D * (size_t)t.mpad;
        t.o = t.s + (size_t)d->bk * (size_t)t.mpad;
        t.rmax = t.o + (size_t)t.mpad * (size_t)t.Dpad;
        t.rsum = t.rmax + t.mpad;
        t.corr = t.rsum + t.mpad;
        /* Q^T of the group, scaled once here rather than every score */
        for (tok = 0; tok < t.T; tok++)
            for (g = 0; g < t.G; g++) {
                const float *qrow = sq->q + (size_t)(i0 + tok) * q_stride + (size_t)(kh * t.G + g) * (size_t)t.D;
                int m = tok * t.G + g;
                for (c = 0; c < t.D; c++) qt[(size_t)c * (size_t)t.mpad + (size_t)m] = qrow[c] * t.scale;
            }
        for (c = 0; c < t.D; c++) memset(qt + (size_t)c * (size_t)t.mpad + (size_t)t.M, 0, sizeof(float) * (size_t)(t.mpad - t.M));
        t.qt = qt;
        tfm__attn_tile_reset(&t);
        n_ranges = tfm__attn_ranges(cfg, sq, t.p0, t.p0 + t.T - 1, blocks, ranges);
        TFM__ATTN_K(tile_keys)(&t, cfg, d, &sq->src, kh, 1, 0, ranges, n_ranges, 0, INT_MAX, deq);
        TFM__ATTN_K(tile_finish)(&t, sq->out + (size_t)i0 * q_stride + (size_t)(kh * t.G) * (size_t)t.D, q_stride);
    }
}

/* One task of a decode step: split `split` (of those from `first`) for kv heads h0 .. h0 + heads - 1,
   its partials in their slots, or the output itself when the step is a single split. */
static void tfm__attn_decode_task(const tfm_attn_config *cfg, const tfm__attn_dims *d, const tfm__attn_layout *L,
                                  const tfm__attn_seq *sq, unsigned char *ws, const int *ranges, int n_ranges,
                                  long long first, long long split, int n_splits, int h0, int heads)
{
    size_t mpad = tfm__attn_mpad_decode(d), q_stride = (size_t)d->G * (size_t)d->D, i;
    long long clip_hi = (split + 1) * TFM__ATTN_SPLIT;
    float *slot = (float *)(void *)(ws + tfm__attn_mul(L->thread_bytes, (size_t)d->threads)) +
                  (size_t)((split - first) * d->KV + h0) * L->slot_floats;
    float *qs, scale = d->scale;
    const float *q_heads = sq->q + (size_t)h0 * q_stride;
    tfm__attn_tile t, th;
    int h;
    t.G = d->G;
    t.T = 1;
    t.M = d->G;
    t.mpad = (int)mpad;
    t.D = d->D;
    t.Dpad = d->Dpad;
    t.p0 = sq->pos0;
    t.scale = d->scale;
    t.softcap = cfg->softcap;
    t.qt = NULL;
    t.s = (float *)(void *)(ws + (size_t)tfm__attn_thread() * L->thread_bytes);
    t.q = qs = t.s + (size_t)d->bk * (size_t)d->H;
    for (i = 0; i < (size_t)heads * q_stride; i++) qs[i] = q_heads[i] * scale; /* once, as a tile's Q^T */
    t.rmax = slot;
    t.rsum = slot + mpad;
    t.corr = slot + 2 * mpad;
    t.o = slot + 3 * mpad;
    for (h = 0; h < heads; h++) {
        th = tfm__attn_decode_head(&t, h, (size_t)d->bk, L->slot_floats);
        tfm__attn_tile_reset(&th);
    }
    TFM__ATTN_K(tile_keys)(&t, cfg, d, &sq->src, h0, heads, L->slot_floats, ranges, n_ranges, (int)(split * TFM__ATTN_SPLIT),
                        clip_hi > INT_MAX ? INT_MAX : (int)clip_hi, NULL);
    if (n_splits == 1)
        for (h = 0; h < heads; h++) {
            th = tfm__attn_decode_head(&t, h, (size_t)d->bk, L->slot_floats);
            TFM__ATTN_K(tile_finish)(&th, sq->out + (size_t)(h0 + h) * q_stride, q_stride);
        }
}

/* One query token: its keys split in fixed chunks of TFM__ATTN_SPLIT positions, one task per
   (kv head, chunk), partial softmaxes merged in chunk order (a single chunk is its own result). Below
   ~4K multiply-adds (a microsecond) one thread does it all: a team costs more than it saves. */
static void tfm__attn_decode_seq(const tfm_attn_config *cfg, const tfm__attn_dims *d, const tfm__attn_layout *L,
                                 const tfm__attn_seq *sq, unsigned char *ws)
{
    unsigned char *shared = ws + tfm__attn_mul(L->thread_bytes, (size_t)d->threads);
    float *slots = (float *)(void *)shared;
    int *blocks = (int *)(void *)(shared + L->split_bytes), *ranges = blocks + L->max_blocks;
    int n_ranges = tfm__attn_ranges(cfg, sq, sq->pos0, sq->pos0, blocks, ranges);
    int first, n_splits, n_tasks, kh, m, sp, threads, heads, keys = 0;
    size_t mpad = tfm__attn_mpad_decode(d), q_stride = (size_t)d->G * (size_t)d->D;
    if (n_ranges == 0) {
        memset(sq->out, 0, sizeof(float) * (size_t)d->H * (size_t)d->D);
        return;
    }
    first = ranges[0] / TFM__ATTN_SPLIT;
    n_splits = (ranges[2 * n_ranges - 1] - 1) / TFM__ATTN_SPLIT - first + 1;
    TFM_ASSERT(n_splits <= L->max_splits);
    for (m = 0; m < n_ranges; m++) keys += ranges[2 * m + 1] - ranges[2 * m];
    threads = (double)keys * d->H * d->D < 4096.0 ? 1 : d->threads;
    /* The kv heads' rows are interleaved in the cache: a task takes every head of its split when there
       are splits enough for the threads, so that one thread reads each row once with all its heads
       (one thread over a 16K cache: 57% of the read bandwidth head by head, 76% so); with fewer splits
       the heads are tasks of their own. Each (split, head) is computed alike either way. */
    heads = n_splits >= 2 * threads ? d->KV : 1;
    n_tasks = n_splits * (d->KV / heads);
    (void)threads; /* only the OpenMP pragma reads it */
    /* Each thread takes one contiguous run of tasks, so that it streams one range of the cache (the rows
       it prefetches past the end of a split are its own next ones). The runs split the tasks evenly,
       rounding down, so the last thread's run ends with the short split of the newest keys. */
    TFM__ATTN_PARALLEL(threads)
    {
        int team = tfm__attn_team(), me = tfm__attn_thread(), task;
        int end = (int)((long long)n_tasks * (me + 1) / team);
        for (task = (int)((long long)n_tasks * me / team); task < end; task++)
            tfm__attn_decode_task(cfg, d, L, sq, ws, ranges, n_ranges, first, first + task / (d->KV / heads), n_splits,
                                  task % (d->KV / heads) * heads, heads);
    }
    if (n_splits == 1) return;
    for (kh = 0; kh < d->KV; kh++)
        for (m = 0; m < d->G; m++) {
            float best = TFM__ATTN_NONE, total = 0.0f, inv;
            float *dst = sq->out + (size_t)kh * q_stride + (size_t)m * (size_t)d->D;
            for (sp = 0; sp < n_splits; sp++) {
                const float *slot = slots + (size_t)(sp * d->KV + kh) * L->slot_floats;
                if (slot[m] > best) best = slot[m];
            }
            memset(dst, 0, sizeof(float) * (size_t)d->D);
            for (sp = 0; sp < n_splits; sp++) {
                const float *slot = slots + (size_t)(sp * d->KV + kh) * L->slot_floats;
                float w = expf(slot[m] - best);
                total += w * slot[mpad + (size_t)m];
                tfm_axpy(dst, w, slot + 3 * mpad + (size_t)m * (size_t)d->Dpad, (size_t)d->D);
            }
            inv = total > 0.0f ? 1.0f / total : 0.0f;
            tfm_scale(dst, inv, (size_t)d->D);
        }
}

/* ---------------------------------------------------------------- dense reference */

static void tfm__attn_dense_seq(const tfm_attn_config *cfg, const tfm__attn_dims *d, const tfm__attn_layout *L,
                                const tfm__attn_seq *sq, unsigned char *ws)
{
    int h;
    size_t q_stride = (size_t)d->H * (size_t)d->D;
    TFM__ATTN_PARALLEL_FOR(d->threads)
    for (h = 0; h < d->H; h++) {
        float *scores = (float *)(void *)(ws + (size_t)tfm__attn_thread() * L->thread_bytes);
        int kh = h / d->G, i, j;
        /* all the scores of the head first: the materialised n_q x n_kv matrix */
        for (i = 0; i < sq->n_q; i++) {
            const float *qi = sq->q + (size_t)i * q_stride + (size_t)h * (size_t)d->D;
            float *row = scores + (size_t)i * (size_t)sq->n_kv;
            long long hi = cfg->causal && (long long)sq->pos0 + i + 1 < sq->kv_end ? (long long)sq->pos0 + i + 1 : sq->kv_end;
            for (j = 0; j < (int)hi; j++) row[j] = d->scale * tfm__attn_src_dot(&sq->src, j, kh, qi, d->D);
            if (cfg->softcap > 0.0f && hi > 0) tfm_softcap(row, (size_t)hi, cfg->softcap);
            for (; j < sq->n_kv; j++) row[j] = -INFINITY;
        }
        for (i = 0; i < sq->n_q; i++) {
            float *row = scores + (size_t)i * (size_t)sq->n_kv;
            float *oi = sq->out + (size_t)i * q_stride + (size_t)h * (size_t)d->D;
            if (sq->n_kv > 0) tfm__softmax(row, (size_t)sq->n_kv);
            memset(oi, 0, sizeof(float) * (size_t)d->D);
            for (j = 0; j < sq->kv_end; j++)
                if (row[j] != 0.0f) tfm__attn_src_axpy(&sq->src, j, kh, row[j], oi, d->D);
        }
    }
}

/* ---------------------------------------------------------------- linear attention */

/* phi(x) = elu(x) + 1 = max(x, 0) + e^min(x, 0) */
static void tfm__attn_phi(float *out, const float *x, int n)
{
    int i = 0;
    tfm__vf zero = tfm__vf_zero();
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) {
        tfm__vf v = tfm__vf_load(x + i);
        tfm__vf_store(out + i, tfm__vf_add(tfm__vf_max(v, zero), tfm__vf_exp(tfm__vf_min(v, zero))));
    }
    for (; i < n; i++) out[i] = x[i] > 0.0f ? x[i] + 1.0f : expf(x[i]);
}

/* state (S [D][D], z [D]) += (phi(k) v^T, phi(k)); tmp holds D floats */
static void tfm__attn_linear_add(float *S, float *z, const float *k, const float *v, int D, float *tmp)
{
    int c;
    tfm__attn_phi(tmp, k, D);
    tfm_add(z, z, tmp, (size_t)D);
    for (c = 0; c < D; c++) tfm_axpy(S + (size_t)c * (size_t)D, tmp[c], v, (size_t)D);
}

/* out = phi(q)^T S / phi(q)^T z, zero when no key was added */
static void tfm__attn_linear_query(float *out, const float *S, const float *z, const float *q, int D, float *tmp)
{
    int c;
    float den;
    tfm__attn_phi(tmp, q, D);
    den = tfm_dot(tmp, z, (size_t)D);
    memset(out, 0, sizeof(float) * (size_t)D);
    if (!(den > 0.0f)) return;
    for (c = 0; c < D; c++) tfm_axpy(out, tmp[c], S + (size_t)c * (size_t)D, (size_t)D);
    tfm_scale(out, 1.0f / den, (size_t)D);
}

static void tfm__attn_linear_seq(const tfm_attn_config *cfg, const tfm__attn_dims *d, const tfm__attn_layout *L,
                                 const tfm__attn_seq *sq, unsigned char *ws)
{
    int kh;
    size_t q_stride = (size_t)d->H * (size_t)d->D;
    TFM__ATTN_PARALLEL_FOR(d->threads)
    for (kh = 0; kh < d->KV; kh++) {
        float *S = (float *)(void *)(ws + (size_t)tfm__attn_thread() * L->thread_bytes);
        float *z = S + (size_t)d->D * (size_t)d->D, *tmp = z + d->Dpad;
        size_t kv_off = (size_t)kh * (size_t)d->D;
        long long p, end = cfg->causal ? (long long)sq->pos0 + sq->n_q : sq->kv_end;
        int g;
        memset(S, 0, sizeof(float) * ((size_t)d->D * (size_t)d->D + (size_t)d->Dpad));
        /* causal: keys join the state in position order, each query reads it right after its own key */
        for (p = 0; p < end; p++) {
            if (p < sq->kv_end)
                tfm__attn_linear_add(S, z, tfm__attn_src_row(&sq->src, (int)p, 0) + kv_off,
                                     tfm__attn_src_row(&sq->src, (int)p, 1) + kv_off, d->D, tmp);
            if (cfg->causal && p >= sq->pos0 && p < (long long)sq->pos0 + sq->n_q)
                for (g = 0; g < d->G; g++) {
                    size_t off = (size_t)(p - sq->pos0) * q_stride + (size_t)(kh * d->G + g) * (size_t)d->D;
                    tfm__attn_linear_query(sq->out + off, S, z, sq->q + off, d->D, tmp);
                }
        }
        if (!cfg->causal) {
            int i;
            for (i = 0; i < sq->n_q; i++)
                for (g = 0; g < d->G; g++) {
                    size_t off = (size_t)i * q_stride + (size_t)(kh * d->G + g) * (size_t)d->D;
                    tfm__attn_linear_query(sq->out + off, S, z, sq->q + off, d->D, tmp);
                }
        }
    }
}

/* ---------------------------------------------------------------- Linformer */

/* dst[r][:] = sum_{j < kv_end} P[r][j] * rows[j][:] for the k rows of the projection P */
static void tfm__attn_project(float *dst, const float *P, int k, int n, const float *rows, int kv_end, size_t row_floats,
                              int threads)
{
    int r;
    (void)threads; /* only the OpenMP pragma reads it */
    TFM__PARALLEL_FOR(threads)
    for (r = 0; r < k; r++) {
        float *out = dst + (size_t)r * row_floats;
        int j;
        memset(out, 0, sizeof(float) * row_floats);
        for (j = 0; j < kv_end; j++) tfm_axpy(out, P[(size_t)r * (size_t)n + (size_t)j], rows + (size_t)j * row_floats, row_floats);
    }
}

/* ---------------------------------------------------------------- entry points */

static void tfm__attn_run_seq(const tfm_attn_config *cfg, const tfm__attn_dims *d, const tfm__attn_layout *L,
                              const tfm__attn_seq *sq, unsigned char *ws)
{
    if (cfg->kind == TFM_ATTN_DENSE) tfm__attn_dense_seq(cfg, d, L, sq, ws);
    else if (cfg->kind == TFM_ATTN_LINEAR) tfm__attn_linear_seq(cfg, d, L, sq, ws);
    else if (sq->n_q == 1) tfm__attn_decode_seq(cfg, d, L, sq, ws);
    else tfm__attn_flash_seq(cfg, d, L, sq, ws);
}

/* The caller's workspace (checked) or one allocated here; *owned is what to free. */
static tfm_status tfm__attn_workspace(const tfm__attn_layout *L, void *workspace, size_t workspace_bytes,
                                      unsigned char **ws, void **owned)
{
    uintptr_t base;
    *owned = NULL;
    if (!workspace) {
        workspace = TFM_MALLOC(L->total);
        if (!workspace) return TFM_ERR_OUT_OF_MEMORY;
        *owned = workspace;
        workspace_bytes = L->total;
    }
    if (workspace_bytes < L->total) return TFM_ERR_INVALID_ARGUMENT;
    base = ((uintptr_t)workspace + 63) & ~(uintptr_t)63;
    *ws = (unsigned char *)base;
    return TFM_OK;
}

tfm_status tfm_attn_prefill(const tfm_attn_config *cfg, float *out, const float *q, const float *k, const float *v,
                            int n_seq, int n_q, int n_kv, int pos0, const int *kv_len, void *workspace,
                            size_t workspace_bytes)
{
    tfm__attn_dims d;
    tfm__attn_layout L;
    unsigned char *ws;
    void *owned;
    size_t q_floats, kv_floats;
    tfm_status s;
    int i;
    s = tfm_attn_config_check(cfg, NULL);
    if (s != TFM_OK) return s;
    if (!out || !q || !k || !v || n_seq <= 0 || n_q <= 0 || n_kv <= 0 || pos0 < 0 || pos0 > INT_MAX - n_q)
        return TFM_ERR_INVALID_ARGUMENT;
    if (cfg->kind == TFM_ATTN_LINFORMER && n_kv != cfg->linformer.n) return TFM_ERR_SHAPE;
    /* a causal BigBird row draws its random blocks among the earlier ones: every query needs its block */
    if (cfg->kind == TFM_ATTN_BIGBIRD && cfg->causal && pos0 + n_q > n_kv) return TFM_ERR_SHAPE;
    if (kv_len)
        for (i = 0; i < n_seq; i++)
            if (kv_len[i] < 0 || kv_len[i] > n_kv) return TFM_ERR_OUT_OF_RANGE;
    tfm__attn_dims_init(&d, cfg);
    s = tfm__attn_layout_init(&L, cfg, &d, n_q, n_kv);
    if (s != TFM_OK) return s;
    s = tfm__attn_workspace(&L, workspace, workspace_bytes, &ws, &owned);
    if (s != TFM_OK) return s;
    q_floats = (size_t)n_q * (size_t)d.H * (size_t)d.D;
    kv_floats = (size_t)n_kv * (size_t)d.KV * (size_t)d.D;
    for (i = 0; i < n_seq; i++) {
        tfm__attn_seq sq;
        sq.q = q + (size_t)i * q_floats;
        sq.out = out + (size_t)i * q_floats;
        sq.n_q = n_q;
        sq.pos0 = pos0;
        sq.n_kv = n_kv;
        sq.kv_end = kv_len ? kv_len[i] : n_kv;
        sq.src.n_seg = 1;
        sq.src.stride = (size_t)d.KV * (size_t)d.D;
        sq.src.n_kv = d.KV;
        sq.src.seg[0].k = k + (size_t)i * kv_floats;
        sq.src.seg[0].v = v + (size_t)i * kv_floats;
        sq.src.seg[0].ks = sq.src.seg[0].vs = NULL;
        sq.src.seg[0].begin = 0;
        sq.src.seg[0].end = n_kv;
        if (cfg->kind == TFM_ATTN_LINFORMER) {
            /* attend over the k projected rows: a bidirectional flash over K' = E K, V' = F V */
            int kp = cfg->linformer.k;
            float *kproj = (float *)(void *)(ws + tfm__attn_mul(L.thread_bytes, (size_t)d.threads) + L.split_bytes + L.ranges_bytes);
            float *vproj = kproj + (size_t)kp * sq.src.stride;
            tfm__attn_project(kproj, cfg->linformer.e, kp, n_kv, k + (size_t)i * kv_floats, sq.kv_end, sq.src.stride, d.threads);
            tfm__attn_project(vproj, cfg->linformer.f, kp, n_kv, v + (size_t)i * kv_floats, sq.kv_end, sq.src.stride, d.threads);
            sq.src.seg[0].k = kproj;
            sq.src.seg[0].v = vproj;
            sq.src.seg[0].end = kp;
            sq.n_kv = sq.kv_end = kp;
        }
        tfm__attn_run_seq(cfg, &d, &L, &sq, ws);
    }
    TFM_FREE(owned);
    return TFM_OK;
}

/* ---------------------------------------------------------------- int8 KV-cache rows */

/* x rounded half away from zero, clamped to [-127, 127]; NaN gives 0 */
static int8_t tfm__attn_round_i8(float x)
{
    float a = x == x ? x : 0.0f;
    int i;
    a = a < -127.0f ? -127.0f : (a > 127.0f ? 127.0f : a);
    i = (int)a;
    a -= (float)i;
    return (int8_t)(i + (a >= 0.5f) - (a <= -0.5f));
}

float tfm_kv_quantize_row(int8_t *q, const float *x, size_t n)
{
    float amax = 0.0f, scale, id;
    size_t i;
    for (i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        amax = a > amax ? a : amax;
    }
    scale = amax / 127.0f;
    id = scale != 0.0f ? 1.0f / scale : 0.0f;
    for (i = 0; i < n; i++) q[i] = tfm__attn_round_i8(x[i] * id);
    return scale;
}

float tfm_kv_dot(const float *x, const int8_t *q, float scale, size_t n)
{
    tfm__vf acc = tfm__vf_zero();
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) acc = tfm__vf_fma(tfm__vf_load(x + i), tfm__vf_load_i8(q + i), acc);
    if (i < n) acc = tfm__vf_fma(tfm__vf_load_n(x + i, n - i), tfm__vf_load_i8_n(q + i, n - i), acc);
    return tfm__vf_sum(acc) * scale;
}

void tfm_kv_axpy(float *y, float alpha, const int8_t *q, float scale, size_t n)
{
    tfm__vf a = tfm__vf_set1(alpha * scale);
    size_t i = 0;
    for (; i + TFM__VF_N <= n; i += TFM__VF_N) tfm__vf_store(y + i, tfm__vf_fma(a, tfm__vf_load_i8(q + i), tfm__vf_load(y + i)));
    if (i < n) tfm__vf_store_n(y + i, tfm__vf_fma(a, tfm__vf_load_i8_n(q + i, n - i), tfm__vf_load_n(y + i, n - i)), n - i);
}

/* ---------------------------------------------------------------- KV cache */

tfm_status tfm_kv_cache_init(tfm_kv_cache *cache, const tfm_attn_config *cfg, int max_tokens)
{
    size_t row, bytes, elem;
    tfm_status s;
    if (!cache) return TFM_ERR_INVALID_ARGUMENT;
    memset(cache, 0, sizeof *cache);
    s = tfm_attn_config_check(cfg, NULL);
    if (s != TFM_OK) return s;
    if (max_tokens <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if (cfg->kind == TFM_ATTN_LINFORMER) return TFM_ERR_UNSUPPORTED;
    if (cfg->kv_type != TFM_F32 && (cfg->kv_type != TFM_I8 || cfg->kind == TFM_ATTN_LINEAR)) return TFM_ERR_UNSUPPORTED;
    cache->dtype = cfg->kv_type;
    cache->n_kv_heads = cfg->n_kv_heads;
    cache->head_dim = cfg->head_dim;
    cache->max_tokens = max_tokens;
    row = (size_t)cfg->n_kv_heads * (size_t)cfg->head_dim;
    if (cfg->kind == TFM_ATTN_LINEAR) {
        bytes = tfm__attn_mul(tfm__attn_mul(row, (size_t)cfg->head_dim + 1), sizeof(float));
        if (bytes >= TFM__ATTN_OVER) return TFM_ERR_OUT_OF_RANGE;
        cache->state = (float *)tfm_aligned_alloc(bytes);
        if (!cache->state) return TFM_ERR_OUT_OF_MEMORY;
        memset(cache->state, 0, bytes);
        return TFM_OK;
    }
    cache->capacity = max_tokens;
    if (cfg->kind == TFM_ATTN_WINDOW && cfg->window < max_tokens) {
        cache->capacity = cfg->window;
        cache->ring = 1;
    }
    elem = cache->dtype == TFM_I8 ? 1 : sizeof(float);
    bytes = tfm__attn_mul(tfm__attn_mul(row, (size_t)cache->capacity), elem);
    if (bytes >= TFM__ATTN_OVER) return TFM_ERR_OUT_OF_RANGE;
    cache->k = tfm_aligned_alloc(bytes);
    cache->v = tfm_aligned_alloc(bytes);
    if (cache->dtype == TFM_I8) {
        bytes = (size_t)cfg->n_kv_heads * (size_t)cache->capacity * sizeof(float);
        cache->k_scale = (float *)tfm_aligned_alloc(bytes);
        cache->v_scale = (float *)tfm_aligned_alloc(bytes);
    }
    if (!cache->k || !cache->v || (cache->dtype == TFM_I8 && (!cache->k_scale || !cache->v_scale))) {
        tfm_kv_cache_free(cache);
        return TFM_ERR_OUT_OF_MEMORY;
    }
    return TFM_OK;
}

void tfm_kv_cache_free(tfm_kv_cache *cache)
{
    if (!cache) return;
    tfm_aligned_free(cache->k);
    tfm_aligned_free(cache->v);
    tfm_aligned_free(cache->k_scale);
    tfm_aligned_free(cache->v_scale);
    tfm_aligned_free(cache->state);
    memset(cache, 0, sizeof *cache);
}

size_t tfm_kv_cache_bytes(const tfm_kv_cache *cache)
{
    size_t row;
    if (!cache) return 0;
    row = (size_t)cache->n_kv_heads * (size_t)cache->head_dim;
    if (cache->state) return row * ((size_t)cache->head_dim + 1) * sizeof(float);
    if (cache->dtype == TFM_I8) return 2 * (row + (size_t)cache->n_kv_heads * sizeof(float)) * (size_t)cache->capacity;
    return 2 * row * sizeof(float) * (size_t)cache->capacity;
}

void tfm_kv_cache_reset(tfm_kv_cache *cache)
{
    if (!cache) return;
    cache->length = 0;
    if (cache->state) memset(cache->state, 0, tfm_kv_cache_bytes(cache));
}

/* Keys the cache holds before this call (as up to two segments of its rows), then the new ones (fresh:
   the caller's f32 rows, or int8 rows quantized into the workspace). */
static void tfm__attn_cache_src(const tfm_kv_cache *c, const tfm__attn_seg *fresh, tfm__attn_src *src)
{
    int i8 = c->dtype == TFM_I8;
    int first = c->ring && c->length > c->capacity ? c->length - c->capacity : 0;
    src->n_seg = 0;
    src->stride = (size_t)c->n_kv_heads * (size_t)c->head_dim;
    src->n_kv = c->n_kv_heads;
    while (first < c->length) {
        int row = c->ring ? first % c->capacity : first;
        int count = c->length - first;
        tfm__attn_seg *g = &src->seg[src->n_seg++];
        if (row + count > c->capacity) count = c->capacity - row;
        g->k = tfm__attn_at(c->k, (size_t)row * src->stride, i8);
        g->v = tfm__attn_at(c->v, (size_t)row * src->stride, i8);
        g->ks = i8 ? c->k_scale + (size_t)row * (size_t)c->n_kv_heads : NULL;
        g->vs = i8 ? c->v_scale + (size_t)row * (size_t)c->n_kv_heads : NULL;
        g->begin = first;
        g->end = first + count;
        first += count;
    }
    src->seg[src->n_seg++] = *fresh;
}

/* The n_new tokens' f32 K and V as int8 rows with their scales, in the workspace's staging area
   (laid out as tfm__attn_layout_init sized it): fresh's rows and scales. */
static void tfm__attn_quantize_new(const tfm__attn_dims *d, unsigned char *stage, const float *k_new, const float *v_new,
                                   int n_new, tfm__attn_seg *fresh)
{
    size_t D = (size_t)d->D, rows = (size_t)n_new * (size_t)d->KV, i;
    int8_t *kq = (int8_t *)stage, *vq = kq + tfm__attn_round(rows * D, 64);
    float *ks = (float *)(void *)(vq + tfm__attn_round(rows * D, 64)), *vs = ks + tfm__attn_round(rows, 16);
    for (i = 0; i < rows; i++) {
        ks[i] = tfm_kv_quantize_row(kq + i * D, k_new + i * D, D);
        vs[i] = tfm_kv_quantize_row(vq + i * D, v_new + i * D, D);
    }
    fresh->k = kq;
    fresh->v = vq;
    fresh->ks = ks;
    fresh->vs = vs;
}

/* Copies the new tokens' rows (fresh's, of the cache's type) into the cache. */
static void tfm__attn_cache_store(tfm_kv_cache *c, const tfm__attn_seg *fresh, int n_new)
{
    size_t nk = (size_t)c->n_kv_heads, row_bytes = nk * (size_t)c->head_dim * (c->dtype == TFM_I8 ? 1 : sizeof(float));
    int i = c->ring && n_new > c->capacity ? n_new - c->capacity : 0; /* older ones would be overwritten */
    for (; i < n_new; i++) {
        int pos = c->length + i, row = c->ring ? pos % c->capacity : pos;
        memcpy((unsigned char *)c->k + (size_t)row * row_bytes, (const unsigned char *)fresh->k + (size_t)i * row_bytes, row_bytes);
        memcpy((unsigned char *)c->v + (size_t)row * row_bytes, (const unsigned char *)fresh->v + (size_t)i * row_bytes, row_bytes);
        if (c->dtype == TFM_I8) {
            memcpy(c->k_scale + (size_t)row * nk, fresh->ks + (size_t)i * nk, nk * sizeof(float));
            memcpy(c->v_scale + (size_t)row * nk, fresh->vs + (size_t)i * nk, nk * sizeof(float));
        }
    }
    c->length += n_new;
}

/* Linear attention through its recurrent state: per kv head, each new key joins the state, then the
   queries of that token read it. */
static void tfm__attn_linear_decode(const tfm__attn_dims *d, const tfm__attn_layout *L, tfm_kv_cache *c, float *out,
                                    const float *q, const float *k_new, const float *v_new, int n_new, unsigned char *ws)
{
    int kh;
    size_t q_stride = (size_t)d->H * (size_t)d->D, kv_stride = (size_t)d->KV * (size_t)d->D;
    TFM__ATTN_PARALLEL_FOR(d->threads)
    for (kh = 0; kh < d->KV; kh++) {
        float *tmp = (float *)(void *)(ws + (size_t)tfm__attn_thread() * L->thread_bytes);
        float *S = c->state + (size_t)kh * (size_t)d->D * ((size_t)d->D + 1), *z = S + (size_t)d->D * (size_t)d->D;
        int i, g;
        for (i = 0; i < n_new; i++) {
            size_t kv_off = (size_t)i * kv_stride + (size_t)kh * (size_t)d->D;
            tfm__attn_linear_add(S, z, k_new + kv_off, v_new + kv_off, d->D, tmp);
            for (g = 0; g < d->G; g++) {
                size_t off = (size_t)i * q_stride + (size_t)(kh * d->G + g) * (size_t)d->D;
                tfm__attn_linear_query(out + off, S, z, q + off, d->D, tmp);
            }
        }
    }
    c->length += n_new;
}

/* tfm_attn_decode once its config and cache are known good: cfg passed tfm_attn_config_check and is not
   linformer, the cache was made for it by tfm_kv_cache_init (and changed since only by these functions),
   the pointers are set and n_new >= 1. What depends on the call is still checked: the room left in the
   cache and the workspace's size. A model's context calls it directly: it made its configs and caches
   and nothing outside it can change them (tfm_context is opaque), so checking them again on every
   layer of every step would prove nothing new. */
static tfm_status tfm__attn_decode_trusted(const tfm_attn_config *cfg, tfm_kv_cache *cache, float *out, const float *q,
                                           const float *k_new, const float *v_new, int n_new, void *workspace,
                                           size_t workspace_bytes)
{
    tfm__attn_dims d;
    tfm__attn_layout L;
    unsigned char *ws;
    void *owned;
    tfm__attn_seq sq;
    tfm__attn_seg fresh;
    tfm_status s;
    if (cache->length < 0 || n_new > cache->max_tokens - cache->length) return TFM_ERR_CONTEXT_FULL;
    tfm__attn_dims_init(&d, cfg);
    s = tfm__attn_layout_init(&L, cfg, &d, n_new, cache->length + n_new);
    if (s != TFM_OK) return s;
    s = tfm__attn_workspace(&L, workspace, workspace_bytes, &ws, &owned);
    if (s != TFM_OK) return s;
    if (cfg->kind == TFM_ATTN_LINEAR) {
        tfm__attn_linear_decode(&d, &L, cache, out, q, k_new, v_new, n_new, ws);
        TFM_FREE(owned);
        return TFM_OK;
    }
    sq.q = q;
    sq.out = out;
    sq.n_q = n_new;
    sq.pos0 = cache->length;
    sq.n_kv = sq.kv_end = cache->length + n_new;
    fresh.k = k_new;
    fresh.v = v_new;
    fresh.ks = fresh.vs = NULL;
    fresh.begin = cache->length;
    fresh.end = cache->length + n_new;
    if (cache->dtype == TFM_I8) {
        unsigned char *stage = ws + tfm__attn_mul(L.thread_bytes, (size_t)d.threads) + L.split_bytes + L.ranges_bytes + L.proj_bytes;
        tfm__attn_quantize_new(&d, stage, k_new, v_new, n_new, &fresh);
    }
    tfm__attn_cache_src(cache, &fresh, &sq.src);
    tfm__attn_run_seq(cfg, &d, &L, &sq, ws);
    tfm__attn_cache_store(cache, &fresh, n_new);
    TFM_FREE(owned);
    return TFM_OK;
}

tfm_status tfm_attn_decode(const tfm_attn_config *cfg, tfm_kv_cache *cache, float *out, const float *q,
                           const float *k_new, const float *v_new, int n_new, void *workspace, size_t workspace_bytes)
{
    tfm_status s = tfm_attn_config_check(cfg, NULL);
    if (s != TFM_OK) return s;
    if (cfg->kind == TFM_ATTN_LINFORMER) return TFM_ERR_UNSUPPORTED;
    if (!cache || !out || !q || !k_new || !v_new || n_new <= 0) return TFM_ERR_INVALID_ARGUMENT;
    if ((cache->dtype != TFM_F32 && cache->dtype != TFM_I8) || cache->dtype != cfg->kv_type) return TFM_ERR_UNSUPPORTED;
    if (cache->n_kv_heads != cfg->n_kv_heads || cache->head_dim != cfg->head_dim) return TFM_ERR_SHAPE;
    /* the cache must be the kind made for this config: the state for linear, K/V rows otherwise, and
       a ring only for a window it covers */
    if ((cfg->kind == TFM_ATTN_LINEAR) != (cache->state != NULL) ||
        (cfg->kind != TFM_ATTN_LINEAR && (!cache->k || !cache->v)) ||
        (cache->dtype == TFM_I8 && (!cache->k_scale || !cache->v_scale)) ||
        (cache->ring && (cfg->kind != TFM_ATTN_WINDOW || cache->capacity < cfg->window)))
        return TFM_ERR_INVALID_ARGUMENT;
    return tfm__attn_decode_trusted(cfg, cache, out, q, k_new, v_new, n_new, workspace, workspace_bytes);
}

#ifdef __cplusplus
}
#endif

#endif /* TFM_IMPLEMENTATION */

/* Tests of tfm_attention.h: every variant against its definition computed here in float64 with plain
   loops (softmax(scale Q K^T + mask) V under a mask built from the variant's definition), decode against
   prefill, 1 vs 2 threads bit for bit, and the memory promises through the allocation hooks below. */
#define TT_OWN_ALLOCATION_HOOKS /* below: they also count bytes */
#include "tfm_test.h"
#include "tfm_attention.h"

/* ---------------------------------------------------------------- allocation hooks of the library */

static size_t hook_calls, hook_live, hook_peak;

/* 16 bytes in front of each block remember its size, keeping malloc's alignment */
void *test_malloc(size_t bytes)
{
    unsigned char *p = (unsigned char *)malloc(bytes + 16);
    if (!p) return NULL;
    memcpy(p, &bytes, sizeof bytes);
    hook_calls++;
    hook_live += bytes;
    if (hook_live > hook_peak) hook_peak = hook_live;
    return p + 16;
}

void test_free(void *ptr)
{
    size_t bytes;
    unsigned char *p = (unsigned char *)ptr;
    if (!p) return;
    memcpy(&bytes, p - 16, sizeof bytes);
    hook_live -= bytes;
    free(p - 16);
}

void *test_realloc(void *ptr, size_t bytes)
{
    void *fresh = test_malloc(bytes);
    size_t old;
    if (!fresh || !ptr) return fresh;
    memcpy(&old, (unsigned char *)ptr - 16, sizeof old);
    memcpy(fresh, ptr, old < bytes ? old : bytes);
    test_free(ptr);
    return fresh;
}

static void hook_reset(void)
{
    hook_calls = 0;
    hook_peak = hook_live;
}

/* ---------------------------------------------------------------- float64 references */

static double *to_double(const float *x, size_t n)
{
    double *d = (double *)tt_alloc(n * sizeof(double));
    size_t i;
    for (i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static float *random_array(size_t n, float lo, float hi)
{
    float *x = (float *)tt_alloc(n * sizeof(float));
    tt_fill(x, n, lo, hi);
    return x;
}

/* out[i][h][:] = softmax_j(cap(scale q_i.k_j) over mask[i][j]) v_j for one sequence, cap(s) = softcap
   tanh(s / softcap) (softcap 0: cap(s) = s); a row with no visible key is 0. Query head h reads kv head
   h / (H / KV). */
static void ref_masked_capped(double *out, const float *q, const double *k, const double *v, int n_q, int n_kv, int H,
                              int KV, int D, double scale, double softcap, const unsigned char *mask)
{
    double *s = (double *)tt_alloc((size_t)n_kv * sizeof(double));
    int i, h, j, c, G = H / KV;
    for (i = 0; i < n_q; i++)
        for (h = 0; h < H; h++) {
            const float *qi = q + ((size_t)i * H + h) * D;
            double *o = out + ((size_t)i * H + h) * D, mx = -INFINITY, sum = 0;
            int kh = h / G;
            for (c = 0; c < D; c++) o[c] = 0;
            for (j = 0; j < n_kv; j++) {
                const double *kj = k + ((size_t)j * KV + kh) * D;
                double dot = 0;
                if (!mask[(size_t)i * n_kv + j]) continue;
                for (c = 0; c < D; c++) dot += qi[c] * kj[c];
                s[j] = softcap > 0 ? softcap * tanh(scale * dot / softcap) : scale * dot;
                if (s[j] > mx) mx = s[j];
            }
            if (mx == -INFINITY) continue;
            for (j = 0; j < n_kv; j++) {
                const double *vj = v + ((size_t)j * KV + kh) * D;
                double p;
                if (!mask[(size_t)i * n_kv + j]) continue;
                p = exp(s[j] - mx);
                sum += p;
                for (c = 0; c < D; c++) o[c] += p * vj[c];
            }
            for (c = 0; c < D; c++) o[c] /= sum;
        }
    free(s);
}

static void ref_masked(double *out, const float *q, const double *k, const double *v, int n_q, int n_kv, int H, int KV,
                       int D, double scale, const unsigned char *mask)
{
    ref_masked_capped(out, q, k, v, n_q, n_kv, H, KV, D, scale, 0.0, mask);
}

/* index of the worst element, or -1 when every |got - want| <= atol + rtol |want| */
static long worst(const float *got, const double *want, size_t n, double atol, double rtol, double *err)
{
    size_t i;
    long bad = -1;
    double worst_err = 0;
    for (i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= atol + rtol * fabs(want[i])) && (bad < 0 || e > worst_err)) {
            bad = (long)i;
            worst_err = e;
        }
    }
    *err = worst_err;
    return bad;
}

#define ATOL 3e-5
#define RTOL 3e-4

/* visibility of key j from a query at position p, by the definitions in tfm_attention.h */
static int visible_plain(int causal, int p, int j) { return !causal || j <= p; }
static int visible_window(int causal, int w, int p, int j)
{
    if (causal) return j <= p && p - j < w;
    return abs(p - j) < w;
}

typedef struct problem {
    int H, KV, D, n_q, n_kv, pos0, n_seq;
    float *q, *k, *v, *out;
} problem;

static void problem_init(problem *p, int H, int KV, int D, int n_q, int n_kv, int pos0, int n_seq, float range)
{
    size_t nq = (size_t)n_seq * n_q * H * D, nk = (size_t)n_seq * n_kv * KV * D;
    p->H = H;
    p->KV = KV;
    p->D = D;
    p->n_q = n_q;
    p->n_kv = n_kv;
    p->pos0 = pos0;
    p->n_seq = n_seq;
    p->q = random_array(nq, -range, range);
    p->k = random_array(nk, -range, range);
    p->v = random_array(nk, -1.0f, 1.0f);
    p->out = (float *)tt_alloc(nq * sizeof(float));
    memset(p->out, 0x7f, nq * sizeof(float)); /* garbage the call must overwrite */
}

static void problem_free(problem *p)
{
    free(p->q);
    free(p->k);
    free(p->v);
    free(p->out);
}

/* the mask of sequence s of a problem: kind-specific visibility, key padding kv_len */
static unsigned char *build_mask(const tfm_attn_config *cfg, const problem *p, int len, const unsigned char *blocks, int nb)
{
    unsigned char *m = (unsigned char *)tt_alloc((size_t)p->n_q * p->n_kv);
    int i, j;
    for (i = 0; i < p->n_q; i++)
        for (j = 0; j < p->n_kv; j++) {
            int pos = p->pos0 + i, vis;
            if (cfg->kind == TFM_ATTN_WINDOW) vis = visible_window(cfg->causal, cfg->window, pos, j);
            else vis = visible_plain(cfg->causal, pos, j);
            if (blocks) {
                int b = cfg->bigbird.block;
                vis = vis && blocks[(size_t)(pos / b) * nb + j / b];
            }
            m[(size_t)i * p->n_kv + j] = (unsigned char)(vis && j < len);
        }
    return m;
}

/* Runs cfg on p (with kv_len) and compares every sequence with the float64 reference. */
static int check_against_reference(const tfm_attn_config *cfg, problem *p, const int *kv_len, const char *what)
{
    size_t nq = (size_t)p->n_q * p->H * p->D, nk = (size_t)p->n_kv * p->KV * p->D;
    double *want = (double *)tt_alloc(nq * sizeof(double)), err;
    unsigned char *blocks = NULL;
    int s, nb = 0, ok = 1;
    tfm_status st = tfm_attn_prefill(cfg, p->out, p->q, p->k, p->v, p->n_seq, p->n_q, p->n_kv, p->pos0, kv_len, NULL, 0);
    if (st != TFM_OK) {
        fprintf(stderr, "    %s: status %s\n", what, tfm_status_string(st));
        free(want);
        return 0;
    }
    if (cfg->kind == TFM_ATTN_BIGBIRD) {
        nb = tfm_attn_bigbird_blocks(cfg, p->n_kv);
        blocks = (unsigned char *)tt_alloc((size_t)nb * nb);
        if (tfm_attn_bigbird_mask(cfg, p->n_kv, blocks, (size_t)nb * nb) != TFM_OK) ok = 0;
    }
    for (s = 0; s < p->n_seq && ok; s++) {
        unsigned char *mask = build_mask(cfg, p, kv_len ? kv_len[s] : p->n_kv, blocks, nb);
        double *k = to_double(p->k + s * nk, nk), *v = to_double(p->v + s * nk, nk);
        double scale = cfg->scale != 0 ? cfg->scale : 1.0 / sqrt((double)p->D);
        long bad;
        ref_masked_capped(want, p->q + s * nq, k, v, p->n_q, p->n_kv, p->H, p->KV, p->D, scale, cfg->softcap, mask);
        bad = worst(p->out + s * nq, want, nq, ATOL, RTOL, &err);
        if (bad >= 0) {
            fprintf(stderr, "    %s: seq %d element %ld (token %ld head %ld): got %.7g want %.7g\n", what, s, bad,
                    bad / (p->H * p->D), (bad / p->D) % p->H, p->out[s * nq + bad], want[bad]);
            ok = 0;
        }
        free(mask);
        free(k);
        free(v);
    }
    free(blocks);
    free(want);
    return ok;
}

static void config(tfm_attn_config *cfg, tfm_attn_kind kind, int H, int KV, int D, int causal)
{
    tfm_attn_config_init(cfg, kind, H, KV, D);
    cfg->causal = causal;
}

/* ---------------------------------------------------------------- dense and flash */

static const int head_pairs[][2] = {{8, 8}, {8, 2}, {8, 1}, {6, 3}};
static const int head_dims[] = {16, 64, 80, 128};

static void test_dense_and_flash_equal_reference(void)
{
    static const int ns[] = {1, 2, 63, 64, 65, 130};
    int a, b, causal, kind, case_id = 0;
    tt_seed(11);
    for (a = 0; a < 6; a++)
        for (b = 0; b < 4; b++)
            for (causal = 0; causal < 2; causal++)
                for (kind = 0; kind < 2; kind++) {
                    tfm_attn_config cfg;
                    problem p;
                    char what[128];
                    int D = head_dims[(a + b) % 4], n = ns[a];
                    config(&cfg, kind ? TFM_ATTN_FLASH : TFM_ATTN_DENSE, head_pairs[b][0], head_pairs[b][1], D, causal);
                    if (case_id % 3 == 1) {
                        cfg.tile_rows = 16;
                        cfg.tile_keys = 16;
                    } else if (case_id % 3 == 2) {
                        cfg.tile_rows = 8;
                        cfg.tile_keys = 24;
                    }
                    case_id++;
                    problem_init(&p, cfg.n_heads, cfg.n_kv_heads, D, n, n, 0, 1, 1.0f);
                    snprintf(what, sizeof what, "%s n=%d H=%d/%d D=%d causal=%d tiles %d,%d", tfm_attn_kind_name(cfg.kind), n,
                             cfg.n_heads, cfg.n_kv_heads, D, causal, cfg.tile_rows, cfg.tile_keys);
                    if (!check_against_reference(&cfg, &p, NULL, what)) {
                        problem_free(&p);
                        TT_ASSERT(0, "%s differs from the float64 reference", what);
                    }
                    problem_free(&p);
                }
}

static void test_long_and_odd_shapes(void)
{
    /* n = 1000, odd head dims (masked vector tails), a chunk at pos0 > 0, big scores (online rescaling) */
    static const struct {
        tfm_attn_kind kind;
        int H, KV, D, n_q, n_kv, pos0, causal;
        float range, scale;
    } cases[] = {
        {TFM_ATTN_FLASH, 4, 2, 64, 1000, 1000, 0, 1, 1.0f, 0},
        {TFM_ATTN_FLASH, 6, 3, 80, 1000, 1000, 0, 0, 1.0f, 0},
        {TFM_ATTN_DENSE, 4, 1, 64, 1000, 1000, 0, 1, 1.0f, 0},
        {TFM_ATTN_FLASH, 3, 1, 20, 65, 65, 0, 1, 1.0f, 0},
        {TFM_ATTN_FLASH, 2, 2, 36, 63, 70, 0, 0, 1.0f, 0},
        {TFM_ATTN_FLASH, 8, 2, 64, 40, 65, 25, 1, 1.0f, 0},
        {TFM_ATTN_DENSE, 8, 2, 64, 40, 65, 25, 1, 1.0f, 0},
        {TFM_ATTN_FLASH, 8, 2, 64, 3, 600, 597, 1, 1.0f, 0},
        {TFM_ATTN_FLASH, 4, 2, 32, 200, 200, 0, 1, 3.0f, 1.0f},
        {TFM_ATTN_FLASH, 4, 4, 17, 150, 150, 0, 0, 3.0f, 1.0f},
    };
    size_t i;
    tt_seed(12);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tfm_attn_config cfg;
        problem p;
        char what[128];
        /* the quick configurations keep n = 300: still many tiles, but a tenth of the float64 reference */
        int n_q = cases[i].n_q == 1000 && tt_quick() ? 300 : cases[i].n_q;
        int n_kv = cases[i].n_kv == 1000 && tt_quick() ? 300 : cases[i].n_kv;
        config(&cfg, cases[i].kind, cases[i].H, cases[i].KV, cases[i].D, cases[i].causal);
        cfg.scale = cases[i].scale;
        problem_init(&p, cases[i].H, cases[i].KV, cases[i].D, n_q, n_kv, cases[i].pos0, 1, cases[i].range);
        snprintf(what, sizeof what, "case %d (%s n_q=%d n_kv=%d pos0=%d D=%d)", (int)i, tfm_attn_kind_name(cfg.kind),
                 n_q, n_kv, cases[i].pos0, cases[i].D);
        if (!check_against_reference(&cfg, &p, NULL, what)) {
            problem_free(&p);
            TT_ASSERT(0, "%s differs from the float64 reference", what);
        }
        problem_free(&p);
    }
}

/* ---------------------------------------------------------------- masks: window, padding */

static void test_window_equals_masked_dense(void)
{
    static const int windows[] = {1, 5, 64, 100};
    static const int ns[] = {63, 65, 300};
    int wi, ni, causal;
    tt_seed(13);
    for (wi = 0; wi < 4; wi++)
        for (ni = 0; ni < 3; ni++)
            for (causal = 0; causal < 2; causal++) {
                tfm_attn_config cfg;
                problem p;
                char what[96];
                config(&cfg, TFM_ATTN_WINDOW, 8, 2, head_dims[(wi + ni) % 4], causal);
                cfg.window = windows[wi];
                if (ni == 1) cfg.tile_keys = 16;
                problem_init(&p, 8, 2, cfg.head_dim, ns[ni], ns[ni], 0, 1, 1.0f);
                snprintf(what, sizeof what, "window %d n=%d D=%d causal=%d", cfg.window, ns[ni], cfg.head_dim, causal);
                if (!check_against_reference(&cfg, &p, NULL, what)) {
                    problem_free(&p);
                    TT_ASSERT(0, "%s differs from dense attention under the window mask", what);
                }
                problem_free(&p);
            }
    {
        tfm_attn_config cfg;
        problem p;
        config(&cfg, TFM_ATTN_WINDOW, 4, 2, 64, 1);
        cfg.window = 128;
        problem_init(&p, 4, 2, 64, 1000, 1000, 0, 1, 1.0f);
        TT_ASSERT(check_against_reference(&cfg, &p, NULL, "window 128 n=1000"), "window 128 n=1000 differs");
        problem_free(&p);
    }
}

static void test_key_padding(void)
{
    static const tfm_attn_kind kinds[] = {TFM_ATTN_DENSE, TFM_ATTN_FLASH, TFM_ATTN_WINDOW, TFM_ATTN_BIGBIRD};
    int ki, causal, n;
    tt_seed(14);
    for (ki = 0; ki < 4; ki++)
        for (causal = 0; causal < 2; causal++)
            for (n = 1; n <= 70; n += 69) {
                int lens[4];
                tfm_attn_config cfg;
                problem p;
                char what[96];
                lens[0] = n;
                lens[1] = n > 7 ? n - 7 : 1;
                lens[2] = 0;
                lens[3] = n / 2;
                config(&cfg, kinds[ki], 6, 3, 16, causal);
                cfg.window = 9;
                cfg.bigbird.block = 8;
                problem_init(&p, 6, 3, 16, n, n, 0, 4, 1.0f);
                snprintf(what, sizeof what, "padding %s causal=%d n=%d", tfm_attn_kind_name(kinds[ki]), causal, n);
                if (!check_against_reference(&cfg, &p, lens, what)) {
                    problem_free(&p);
                    TT_ASSERT(0, "%s differs from the reference with keys >= kv_len masked", what);
                }
                problem_free(&p);
            }
}

/* ---------------------------------------------------------------- BigBird */

/* Checks a block mask against the definition; returns a message or NULL. */
static const char *bigbird_mask_defect(const tfm_attn_config *cfg, int nb, const unsigned char *m)
{
    int I, J, g = cfg->bigbird.n_global, w = cfg->bigbird.n_window, r = cfg->bigbird.n_random;
    for (I = 0; I < nb; I++) {
        int reach = cfg->causal ? I + 1 : nb, lo, hi, pool, candidates = 0, extras = 0;
        lo = cfg->causal ? I - w + 1 : I - (w - 1) / 2;
        hi = lo + w - 1;
        pool = cfg->causal ? I : nb;
        for (J = 0; J < nb; J++) {
            int set = m[(size_t)I * nb + J];
            int must = J < reach && (I < g || J < g || (J >= lo && J <= hi));
            int candidate = J < pool && J >= g && !(J >= lo && J <= hi) && I >= g;
            if (J >= reach && set) return "a block beyond the causal limit is attended";
            if (must && !set) return "a global or window block is missing";
            if (!must && set && !candidate) return "a block that is neither global, window nor a candidate";
            if (!must && set) extras++;
            candidates += candidate;
        }
        if (I >= g && extras != (r < candidates ? r : candidates)) return "wrong number of random blocks in a row";
    }
    return NULL;
}

static void test_bigbird_mask_definition(void)
{
    static const int params[][5] = {
        /* n_tokens, block, global, window, random */
        {1000, 16, 1, 3, 2}, {1000, 64, 2, 3, 3}, {977, 50, 0, 1, 4}, {300, 16, 1, 4, 1}, {2048, 32, 1, 3, 30}, {64, 64, 1, 3, 2},
    };
    size_t i;
    int causal;
    for (i = 0; i < sizeof params / sizeof params[0]; i++)
        for (causal = 0; causal < 2; causal++) {
            tfm_attn_config cfg;
            int nb, J, distinct = 0;
            unsigned char *m, *again;
            const char *defect;
            config(&cfg, TFM_ATTN_BIGBIRD, 4, 2, 16, causal);
            cfg.bigbird.block = params[i][1];
            cfg.bigbird.n_global = params[i][2];
            cfg.bigbird.n_window = params[i][3];
            cfg.bigbird.n_random = params[i][4];
            cfg.bigbird.seed = 1234 + i;
            nb = tfm_attn_bigbird_blocks(&cfg, params[i][0]);
            TT_ASSERT(nb == (params[i][0] + params[i][1] - 1) / params[i][1], "block count");
            m = (unsigned char *)tt_alloc((size_t)nb * nb);
            again = (unsigned char *)tt_alloc((size_t)nb * nb);
            TT_CHECK(tfm_attn_bigbird_mask(&cfg, params[i][0], m, (size_t)nb * nb) == TFM_OK);
            TT_CHECK(tfm_attn_bigbird_mask(&cfg, params[i][0], m, (size_t)nb * nb - 1) == TFM_ERR_INVALID_ARGUMENT);
            defect = bigbird_mask_defect(&cfg, nb, m);
            if (defect) {
                free(m);
                free(again);
                TT_ASSERT(0, "params %d causal %d: %s", (int)i, causal, defect);
            }
            /* same seed, same mask; another seed moves random blocks when there is room */
            TT_CHECK(tfm_attn_bigbird_mask(&cfg, params[i][0], again, (size_t)nb * nb) == TFM_OK);
            TT_ASSERT(memcmp(m, again, (size_t)nb * nb) == 0, "the mask is not reproducible");
            cfg.bigbird.seed++;
            TT_CHECK(tfm_attn_bigbird_mask(&cfg, params[i][0], again, (size_t)nb * nb) == TFM_OK);
            if (nb >= 16 && cfg.bigbird.n_random > 0 && cfg.bigbird.n_random < nb / 2)
                TT_ASSERT(memcmp(m, again, (size_t)nb * nb) != 0, "another seed gives the same random blocks");
            /* random blocks spread over the candidates (the RNG is not stuck) */
            for (J = 0; J < nb; J++) {
                int I, hit = 0;
                for (I = 0; I < nb; I++) hit |= m[(size_t)I * nb + J];
                distinct += hit;
            }
            if (nb >= 32) TT_ASSERT(distinct > nb / 2, "random blocks cover only %d of %d blocks", distinct, nb);
            /* causal rows depend on the block index only: a longer sequence keeps the same prefix */
            if (causal) {
                int nb2 = tfm_attn_bigbird_blocks(&cfg, params[i][0] * 2), I;
                unsigned char *big = (unsigned char *)tt_alloc((size_t)nb2 * nb2);
                cfg.bigbird.seed--;
                TT_CHECK(tfm_attn_bigbird_mask(&cfg, params[i][0] * 2, big, (size_t)nb2 * nb2) == TFM_OK);
                for (I = 0; I < nb; I++)
                    for (J = 0; J < nb; J++)
                        if (I < nb - 1 || params[i][0] % params[i][1] == 0)
                            TT_ASSERT(big[(size_t)I * nb2 + J] == m[(size_t)I * nb + J], "causal row %d changed with n", I);
                free(big);
            }
            free(m);
            free(again);
        }
}

static void test_bigbird_equals_masked_dense(void)
{
    static const int params[][6] = {
        /* n, block, global, window, random, head_dim */
        {63, 16, 1, 3, 1, 16}, {65, 16, 1, 1, 2, 64}, {300, 16, 1, 3, 2, 80}, {300, 50, 1, 3, 1, 64},
        {1000, 64, 1, 3, 2, 64}, {257, 8, 2, 5, 3, 16}, {130, 32, 0, 2, 0, 128},
    };
    size_t i;
    int causal;
    tt_seed(15);
    for (i = 0; i < sizeof params / sizeof params[0]; i++)
        for (causal = 0; causal < 2; causal++) {
            tfm_attn_config cfg;
            problem p;
            char what[96];
            int H = params[i][0] >= 1000 ? 4 : 8, n = params[i][0] >= 1000 && tt_quick() ? 520 : params[i][0];
            config(&cfg, TFM_ATTN_BIGBIRD, H, 2, params[i][5], causal);
            cfg.bigbird.block = params[i][1];
            cfg.bigbird.n_global = params[i][2];
            cfg.bigbird.n_window = params[i][3];
            cfg.bigbird.n_random = params[i][4];
            cfg.bigbird.seed = 99 + i;
            if (i % 2) cfg.tile_rows = 12;
            problem_init(&p, H, 2, params[i][5], n, n, 0, 1, 1.0f);
            snprintf(what, sizeof what, "bigbird n=%d b=%d g=%d w=%d r=%d causal=%d", n, params[i][1],
                     params[i][2], params[i][3], params[i][4], causal);
            if (!check_against_reference(&cfg, &p, NULL, what)) {
                problem_free(&p);
                TT_ASSERT(0, "%s differs from dense attention under its block mask", what);
            }
            problem_free(&p);
        }
}

/* ---------------------------------------------------------------- GQA / MQA */

static void test_gqa_equals_mha_with_repeated_kv(void)
{
    static const tfm_attn_kind kinds[] = {TFM_ATTN_DENSE, TFM_ATTN_FLASH, TFM_ATTN_WINDOW, TFM_ATTN_BIGBIRD, TFM_ATTN_LINEAR};
    int ki, b;
    tt_seed(16);
    for (ki = 0; ki < 5; ki++)
        for (b = 1; b < 4; b++) {
            int H = head_pairs[b][0], KV = head_pairs[b][1], G = H / KV, D = 64, n = 97, i, h;
            size_t nq = (size_t)n * H * D;
            tfm_attn_config gqa, mha;
            problem p;
            float *k_rep = (float *)tt_alloc(nq * sizeof(float)), *v_rep = (float *)tt_alloc(nq * sizeof(float));
            float *out_rep = (float *)tt_alloc(nq * sizeof(float));
            double err = 0;
            size_t j;
            config(&gqa, kinds[ki], H, KV, D, 1);
            gqa.window = 20;
            gqa.bigbird.block = 16;
            mha = gqa;
            mha.n_kv_heads = H;
            problem_init(&p, H, KV, D, n, n, 0, 1, 1.0f);
            for (i = 0; i < n; i++)
                for (h = 0; h < H; h++) {
                    memcpy(k_rep + ((size_t)i * H + h) * D, p.k + ((size_t)i * KV + h / G) * D, D * sizeof(float));
                    memcpy(v_rep + ((size_t)i * H + h) * D, p.v + ((size_t)i * KV + h / G) * D, D * sizeof(float));
                }
            TT_CHECK(tfm_attn_prefill(&gqa, p.out, p.q, p.k, p.v, 1, n, n, 0, NULL, NULL, 0) == TFM_OK);
            TT_CHECK(tfm_attn_prefill(&mha, out_rep, p.q, k_rep, v_rep, 1, n, n, 0, NULL, NULL, 0) == TFM_OK);
            for (j = 0; j < nq; j++)
                if (fabs((double)p.out[j] - out_rep[j]) > err) err = fabs((double)p.out[j] - out_rep[j]);
            problem_free(&p);
            free(k_rep);
            free(v_rep);
            free(out_rep);
            TT_ASSERT(err <= 1e-6, "%s %d/%d differs from MHA on repeated K/V by %g", tfm_attn_kind_name(kinds[ki]), H, KV, err);
        }
}

/* ---------------------------------------------------------------- Linformer */

static void test_linformer(void)
{
    static const int params[][4] = {{63, 16, 64, 0}, {200, 50, 80, 1}, {130, 130, 16, 0}, {65, 1, 64, 1}};
    size_t i;
    tt_seed(17);
    for (i = 0; i < sizeof params / sizeof params[0]; i++) {
        int n = params[i][0], kp = params[i][1], D = params[i][2], H = 8, KV = 2, s, r, j, c;
        int lens[2];
        size_t nq = (size_t)n * H * D, nk = (size_t)n * KV * D, np = (size_t)kp * KV * D;
        tfm_attn_config cfg;
        problem p;
        float *E = random_array((size_t)kp * n, -0.2f, 0.2f), *F = random_array((size_t)kp * n, -0.2f, 0.2f);
        double *kproj = (double *)tt_alloc(np * sizeof(double)), *vproj = (double *)tt_alloc(np * sizeof(double));
        double *want = (double *)tt_alloc(nq * sizeof(double)), err;
        unsigned char *all = (unsigned char *)tt_alloc((size_t)n * kp);
        long bad;
        lens[0] = n;
        lens[1] = params[i][3] ? n / 3 : n;
        config(&cfg, TFM_ATTN_LINFORMER, H, KV, D, 0);
        cfg.linformer.k = kp;
        cfg.linformer.n = n;
        cfg.linformer.e = E;
        cfg.linformer.f = F;
        problem_init(&p, H, KV, D, n, n, 0, 2, 1.0f);
        TT_CHECK(tfm_attn_prefill(&cfg, p.out, p.q, p.k, p.v, 2, n, n, 0, lens, NULL, 0) == TFM_OK);
        memset(all, 1, (size_t)n * kp);
        for (s = 0; s < 2; s++) {
            /* K' = E K and V' = F V over the valid keys, then plain dense attention over the k rows */
            for (r = 0; r < kp; r++)
                for (c = 0; c < KV * D; c++) {
                    double a = 0, b = 0;
                    for (j = 0; j < lens[s]; j++) {
                        a += (double)E[(size_t)r * n + j] * p.k[s * nk + (size_t)j * KV * D + c];
                        b += (double)F[(size_t)r * n + j] * p.v[s * nk + (size_t)j * KV * D + c];
                    }
                    kproj[(size_t)r * KV * D + c] = a;
                    vproj[(size_t)r * KV * D + c] = b;
                }
            ref_masked(want, p.q + s * nq, kproj, vproj, n, kp, H, KV, D, 1.0 / sqrt((double)D), all);
            bad = worst(p.out + s * nq, want, nq, ATOL, RTOL, &err);
            if (bad >= 0) break;
        }
        problem_free(&p);
        free(E);
        free(F);
        free(kproj);
        free(vproj);
        free(want);
        free(all);
        TT_ASSERT(bad < 0, "linformer n=%d k=%d D=%d: error %g at %ld", n, kp, D, err, bad);
    }
}

/* ---------------------------------------------------------------- linear attention */

static double phi(double x) { return x > 0 ? x + 1 : exp(x); }

static void test_linear_attention(void)
{
    static const int params[][5] = {{1, 8, 8, 16, 0}, {2, 8, 2, 64, 0}, {65, 8, 1, 80, 0}, {300, 6, 3, 64, 0}, {130, 4, 2, 128, 1}};
    size_t t;
    int causal;
    tt_seed(18);
    for (t = 0; t < sizeof params / sizeof params[0]; t++)
        for (causal = 0; causal < 2; causal++) {
            int n = params[t][0], H = params[t][1], KV = params[t][2], D = params[t][3], G = H / KV;
            int i, h, j, c, e, len = params[t][4] ? n - 5 : n;
            size_t nq = (size_t)n * H * D;
            tfm_attn_config cfg;
            problem p;
            double *want = (double *)tt_alloc(nq * sizeof(double)), err;
            double *kv = (double *)tt_alloc((size_t)D * D * sizeof(double)), *z = (double *)tt_alloc((size_t)D * sizeof(double));
            long bad;
            config(&cfg, TFM_ATTN_LINEAR, H, KV, D, causal);
            problem_init(&p, H, KV, D, n, n, 0, 1, 1.0f);
            TT_CHECK(tfm_attn_prefill(&cfg, p.out, p.q, p.k, p.v, 1, n, n, 0, &len, NULL, 0) == TFM_OK);
            for (h = 0; h < H; h++) {
                int kh = h / G;
                if (!causal) {
                    /* phi(K)^T V and sum phi(K) first, then each query: phi(q)^T (phi(K)^T V) / phi(q).z */
                    for (c = 0; c < D * D; c++) kv[c] = 0;
                    for (c = 0; c < D; c++) z[c] = 0;
                    for (j = 0; j < len; j++)
                        for (c = 0; c < D; c++) {
                            double fk = phi(p.k[((size_t)j * KV + kh) * D + c]);
                            z[c] += fk;
                            for (e = 0; e < D; e++) kv[(size_t)c * D + e] += fk * p.v[((size_t)j * KV + kh) * D + e];
                        }
                    for (i = 0; i < n; i++) {
                        double den = 0;
                        double *o = want + ((size_t)i * H + h) * D;
                        for (e = 0; e < D; e++) o[e] = 0;
                        for (c = 0; c < D; c++) {
                            double fq = phi(p.q[((size_t)i * H + h) * D + c]);
                            den += fq * z[c];
                            for (e = 0; e < D; e++) o[e] += fq * kv[(size_t)c * D + e];
                        }
                        for (e = 0; e < D; e++) o[e] = len ? o[e] / den : 0;
                    }
                } else {
                    /* causal form: out_i = sum_{j <= i} (phi(q_i).phi(k_j)) v_j / sum_{j <= i} phi(q_i).phi(k_j) */
                    for (i = 0; i < n; i++) {
                        double den = 0;
                        double *o = want + ((size_t)i * H + h) * D;
                        for (e = 0; e < D; e++) o[e] = 0;
                        for (j = 0; j <= i && j < len; j++) {
                            double a = 0;
                            for (c = 0; c < D; c++) a += phi(p.q[((size_t)i * H + h) * D + c]) * phi(p.k[((size_t)j * KV + kh) * D + c]);
                            den += a;
                            for (e = 0; e < D; e++) o[e] += a * p.v[((size_t)j * KV + kh) * D + e];
                        }
                        for (e = 0; e < D; e++) o[e] = den > 0 ? o[e] / den : 0;
                    }
                }
            }
            bad = worst(p.out, want, nq, ATOL, RTOL, &err);
            problem_free(&p);
            free(want);
            free(kv);
            free(z);
            TT_ASSERT(bad < 0, "linear n=%d H=%d/%d D=%d causal=%d: error %g at %ld", n, H, KV, D, causal, err, bad);
        }
}

/* ---------------------------------------------------------------- decode through the KV cache */

/* Prefill the whole sequence, then feed it through a cache in chunks of the given sizes (cycled);
   every row must match the prefill row. */
static int decode_matches_prefill(const tfm_attn_config *cfg, int n, const int *chunks, int n_chunks, int use_workspace,
                                  double *max_err)
{
    int H = cfg->n_heads, KV = cfg->n_kv_heads, D = cfg->head_dim, pos = 0, ci = 0, ok = 1;
    size_t qrow = (size_t)H * D, krow = (size_t)KV * D, j;
    problem p;
    float *dec;
    tfm_kv_cache cache;
    size_t bytes = 0;
    void *ws = NULL;
    problem_init(&p, H, KV, D, n, n, 0, 1, 1.0f);
    dec = (float *)tt_alloc((size_t)n * qrow * sizeof(float));
    if (tfm_attn_prefill(cfg, p.out, p.q, p.k, p.v, 1, n, n, 0, NULL, NULL, 0) != TFM_OK) ok = 0;
    if (ok && tfm_kv_cache_init(&cache, cfg, n) != TFM_OK) ok = 0;
    if (ok && use_workspace) {
        int largest = 0, i;
        for (i = 0; i < n_chunks; i++) largest = chunks[i] > largest ? chunks[i] : largest;
        if (tfm_attn_workspace_size(cfg, largest, n, &bytes) != TFM_OK) ok = 0;
        ws = tt_alloc(bytes);
    }
    while (ok && pos < n) {
        int step = chunks[ci++ % n_chunks];
        if (step > n - pos) step = n - pos;
        if (tfm_attn_decode(cfg, &cache, dec + pos * qrow, p.q + pos * qrow, p.k + pos * krow, p.v + pos * krow, step, ws,
                            bytes) != TFM_OK || cache.length != pos + step)
            ok = 0;
        pos += step;
    }
    *max_err = 0;
    for (j = 0; ok && j < (size_t)n * qrow; j++) {
        double e = fabs((double)dec[j] - p.out[j]);
        if (e > *max_err) *max_err = e;
    }
    if (ok && *max_err > 2e-5) ok = 0;
    if (ok && tfm_attn_decode(cfg, &cache, dec, p.q, p.k, p.v, 1, ws, bytes) != TFM_ERR_CONTEXT_FULL) ok = 0;
    if (ok && cache.length != n) ok = 0;
    tfm_kv_cache_free(&cache);
    free(ws);
    free(dec);
    problem_free(&p);
    return ok;
}

static void test_decode_matches_prefill(void)
{
    static const int ones[] = {1};
    static const int mixed[] = {7, 1, 1, 30, 1, 2, 64, 1};
    static const tfm_attn_kind kinds[] = {TFM_ATTN_DENSE, TFM_ATTN_FLASH, TFM_ATTN_WINDOW, TFM_ATTN_BIGBIRD, TFM_ATTN_LINEAR};
    int ki, b, mode;
    tt_seed(19);
    for (ki = 0; ki < 5; ki++)
        for (b = 0; b < 4; b++)
            for (mode = 0; mode < 2; mode++) {
                tfm_attn_config cfg;
                double err;
                int n = mode ? 150 : 100;
                config(&cfg, kinds[ki], head_pairs[b][0], head_pairs[b][1], head_dims[(ki + b) % 4], 1);
                cfg.window = 16; /* the ring wraps many times */
                cfg.bigbird.block = 12;
                cfg.bigbird.n_random = 3;
                TT_ASSERT(decode_matches_prefill(&cfg, n, mode ? mixed : ones, mode ? 8 : 1, mode, &err),
                          "%s %d/%d %s: decode differs from prefill (max error %g)", tfm_attn_kind_name(cfg.kind), cfg.n_heads,
                          cfg.n_kv_heads, mode ? "chunks" : "one token at a time", err);
            }
    {
        /* a long cache: decode steps split the keys into several 512-key chunks (two, and 4 query heads
           instead of 8, in quick runs) */
        int chunk[] = {1200, 1, 1, 1, 1};
        tfm_attn_config cfg;
        double err;
        if (tt_quick()) chunk[0] = 600;
        config(&cfg, TFM_ATTN_FLASH, tt_quick() ? 4 : 8, 2, 64, 1);
        TT_ASSERT(decode_matches_prefill(&cfg, chunk[0] + 4, chunk, 5, 1, &err), "long decode differs (max error %g)", err);
        cfg.kind = TFM_ATTN_BIGBIRD;
        cfg.bigbird.block = 32;
        TT_ASSERT(decode_matches_prefill(&cfg, chunk[0] + 4, chunk, 5, 1, &err), "long bigbird decode differs (max error %g)", err);
    }
}

/* A decode step over a cache of four or more 512-key splits, where a task takes every kv head of its
   split and four key rows at a time (the path a long context takes): odd head dims (vector tails),
   groups of 1..4 query heads, f32 and int8 rows, equal to the float64 attention over the rows the
   cache holds, and 1 and 2 threads bit-identical. The rows are written straight into the cache (its
   layout is public), so the test costs O(n) per step, not a prefill. */
static void test_decode_all_heads_of_a_split(void)
{
    static const int shapes[][3] = {{6, 3, 20}, {8, 8, 80}, {8, 2, 72}, {12, 4, 16}, {4, 2, 128}};
    int si, i8, t, step, n = 1600; /* >= 4 splits: grouped with 2 threads as with 1 */
    tt_seed(29);
    for (si = 0; si < 5; si++)
        for (i8 = 0; i8 < 2; i8++) {
            int H = shapes[si][0], KV = shapes[si][1], D = shapes[si][2], G = H / KV, j, h, c;
            size_t row = (size_t)KV * D, rows_n = (size_t)(n + 4) * row;
            float *k = random_array(rows_n, -1, 1), *v = random_array(rows_n, -1, 1);
            float *q = random_array((size_t)4 * H * D, -2, 2), *out[2];
            double *want = (double *)tt_alloc((size_t)H * D * sizeof(double)), *sc = (double *)tt_alloc((size_t)(n + 4) * sizeof(double));
            tfm_attn_config cfg;
            tfm_kv_cache cache[2];
            out[0] = (float *)tt_alloc((size_t)H * D * sizeof(float));
            out[1] = (float *)tt_alloc((size_t)H * D * sizeof(float));
            config(&cfg, TFM_ATTN_FLASH, H, KV, D, 1);
            cfg.kv_type = i8 ? TFM_I8 : TFM_F32;
            for (t = 0; t < 2; t++) {
                TT_CHECK(tfm_kv_cache_init(&cache[t], &cfg, n + 4) == TFM_OK);
                for (j = 0; j < n; j++)
                    for (h = 0; h < KV; h++) {
                        size_t at = (size_t)j * row + (size_t)h * D;
                        if (i8) {
                            cache[t].k_scale[(size_t)j * KV + h] = tfm_kv_quantize_row((int8_t *)cache[t].k + at, k + at, (size_t)D);
                            cache[t].v_scale[(size_t)j * KV + h] = tfm_kv_quantize_row((int8_t *)cache[t].v + at, v + at, (size_t)D);
                        } else {
                            memcpy((float *)cache[t].k + at, k + at, (size_t)D * sizeof(float));
                            memcpy((float *)cache[t].v + at, v + at, (size_t)D * sizeof(float));
                        }
                    }
                cache[t].length = n;
            }
            for (step = 0; step < 4; step++) {
                const float *qs = q + (size_t)step * H * D, *kn = k + (size_t)(n + step) * row, *vn = v + (size_t)(n + step) * row;
                int keys = n + step + 1;
                double err;
                long bad;
                for (t = 0; t < 2; t++) {
                    cfg.n_threads = t + 1;
                    TT_CHECK(tfm_attn_decode(&cfg, &cache[t], out[t], qs, kn, vn, 1, NULL, 0) == TFM_OK);
                }
                /* float64 over the rows as the cache holds them (the new one included) */
                for (h = 0; h < H; h++) {
                    int kh = h / G;
                    double best = -1e300, sum = 0;
                    for (j = 0; j < keys; j++) {
                        size_t at = (size_t)j * row + (size_t)kh * D;
                        double dot = 0;
                        for (c = 0; c < D; c++)
                            dot += (double)qs[(size_t)h * D + c] *
                                   (i8 ? (double)((int8_t *)cache[0].k)[at + c] * cache[0].k_scale[(size_t)j * KV + kh]
                                       : (double)((float *)cache[0].k)[at + c]);
                        sc[j] = dot / sqrt((double)D);
                        best = sc[j] > best ? sc[j] : best;
                    }
                    for (c = 0; c < D; c++) want[(size_t)h * D + c] = 0;
                    for (j = 0; j < keys; j++) {
                        size_t at = (size_t)j * row + (size_t)kh * D;
                        double w = exp(sc[j] - best);
                        sum += w;
                        for (c = 0; c < D; c++)
                            want[(size_t)h * D + c] += w * (i8 ? (double)((int8_t *)cache[0].v)[at + c] * cache[0].v_scale[(size_t)j * KV + kh]
                                                               : (double)((float *)cache[0].v)[at + c]);
                    }
                    for (c = 0; c < D; c++) want[(size_t)h * D + c] /= sum;
                }
                bad = worst(out[0], want, (size_t)H * D, ATOL, RTOL, &err);
                TT_ASSERT(bad < 0, "H=%d/%d D=%d %s, %d keys: %.7g, float64 %.7g (element %ld)", H, KV, D, i8 ? "int8" : "f32", keys,
                          out[0][bad > 0 ? bad : 0], want[bad > 0 ? bad : 0], bad);
                TT_ASSERT(memcmp(out[0], out[1], (size_t)H * D * sizeof(float)) == 0, "H=%d/%d D=%d %s: 1 and 2 threads differ", H,
                          KV, D, i8 ? "int8" : "f32");
            }
            tfm_kv_cache_free(&cache[0]);
            tfm_kv_cache_free(&cache[1]);
            free(k), free(v), free(q), free(want), free(sc), free(out[0]), free(out[1]);
        }
}

static void test_cache(void)
{
    tfm_attn_config cfg;
    tfm_kv_cache cache;
    float q[4 * 16], k[2 * 16], v[2 * 16], out[4 * 16];
    int i;
    tt_fill(q, 64, -1, 1);
    tt_fill(k, 32, -1, 1);
    tt_fill(v, 32, -1, 1);
    /* the window cache holds w rows whatever max_tokens is; linear holds its state only */
    config(&cfg, TFM_ATTN_WINDOW, 4, 2, 16, 1);
    cfg.window = 8;
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 1000000) == TFM_OK);
    TT_CHECK(cache.ring && cache.capacity == 8 && tfm_kv_cache_bytes(&cache) == 2 * 8 * 2 * 16 * sizeof(float));
    tfm_kv_cache_free(&cache);
    cfg.kind = TFM_ATTN_LINEAR;
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 1000000) == TFM_OK);
    TT_CHECK(tfm_kv_cache_bytes(&cache) == 2 * 16 * 17 * sizeof(float));
    tfm_kv_cache_free(&cache);
    cfg.kind = TFM_ATTN_FLASH;
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 5) == TFM_OK);
    for (i = 0; i < 5; i++) TT_CHECK(tfm_attn_decode(&cfg, &cache, out, q, k, v, 1, NULL, 0) == TFM_OK);
    TT_CHECK(tfm_attn_decode(&cfg, &cache, out, q, k, v, 1, NULL, 0) == TFM_ERR_CONTEXT_FULL && cache.length == 5);
    tfm_kv_cache_reset(&cache);
    TT_CHECK(cache.length == 0 && tfm_attn_decode(&cfg, &cache, out, q, k, v, 1, NULL, 0) == TFM_OK);
    /* a cache made for another shape or kind is refused */
    cfg.n_kv_heads = 4;
    TT_CHECK(tfm_attn_decode(&cfg, &cache, out, q, k, v, 1, NULL, 0) == TFM_ERR_SHAPE);
    cfg.n_kv_heads = 2;
    cfg.kind = TFM_ATTN_LINEAR;
    TT_CHECK(tfm_attn_decode(&cfg, &cache, out, q, k, v, 1, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    tfm_kv_cache_free(&cache);
    TT_CHECK(cache.k == NULL && cache.length == 0);
    cfg.kind = TFM_ATTN_LINFORMER;
    cfg.causal = 0;
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 10) != TFM_OK);
    tfm_kv_cache_free(&cache);
}

/* ---------------------------------------------------------------- threads, memory, errors */

static void test_threads_bit_identical(void)
{
    static const tfm_attn_kind kinds[] = {TFM_ATTN_DENSE, TFM_ATTN_FLASH, TFM_ATTN_WINDOW, TFM_ATTN_BIGBIRD,
                                          TFM_ATTN_LINFORMER, TFM_ATTN_LINEAR};
    int ki, n_q;
    tt_seed(20);
    for (ki = 0; ki < 6; ki++)
        for (n_q = 1; n_q <= 300; n_q += 299) {
            /* n_q = 1 over 2000 keys takes the split-key decode path */
            int n_kv = n_q == 1 ? 2000 : 300, pos0 = n_q == 1 ? 1999 : 0, same;
            size_t nq = (size_t)n_q * 8 * 64;
            tfm_attn_config cfg;
            problem p;
            float *E = random_array((size_t)32 * n_kv, -0.1f, 0.1f), *two = (float *)tt_alloc(nq * sizeof(float));
            config(&cfg, kinds[ki], 8, 2, 64, kinds[ki] != TFM_ATTN_LINFORMER);
            cfg.window = 100;
            cfg.bigbird.block = 32;
            cfg.linformer.k = 32;
            cfg.linformer.n = n_kv;
            cfg.linformer.e = cfg.linformer.f = E;
            problem_init(&p, 8, 2, 64, n_q, n_kv, pos0, 1, 1.0f);
            cfg.n_threads = 1;
            TT_CHECK(tfm_attn_prefill(&cfg, p.out, p.q, p.k, p.v, 1, n_q, n_kv, pos0, NULL, NULL, 0) == TFM_OK);
            cfg.n_threads = 2;
            TT_CHECK(tfm_attn_prefill(&cfg, two, p.q, p.k, p.v, 1, n_q, n_kv, pos0, NULL, NULL, 0) == TFM_OK);
            same = memcmp(p.out, two, nq * sizeof(float)) == 0;
            problem_free(&p);
            free(E);
            free(two);
            TT_ASSERT(same, "%s n_q=%d: 1 and 2 threads differ", tfm_attn_kind_name(kinds[ki]), n_q);
        }
}

static void test_flash_memory(void)
{
    tfm_attn_config cfg;
    size_t ws4k, ws8k, ws_dense, n2 = (size_t)4096 * 4096 * sizeof(float);
    int n;
    problem p;
    void *ws;
    /* the workspace grows linearly (a few bytes per key), far below n^2 floats */
    config(&cfg, TFM_ATTN_FLASH, 8, 2, 64, 1);
    cfg.n_threads = 2;
    TT_CHECK(tfm_attn_workspace_size(&cfg, 4096, 4096, &ws4k) == TFM_OK);
    TT_CHECK(tfm_attn_workspace_size(&cfg, 8192, 8192, &ws8k) == TFM_OK);
    TT_ASSERT(ws4k < n2 / 100, "flash workspace %zu bytes for n=4096 (n^2 floats: %zu)", ws4k, n2);
    TT_ASSERT(ws8k - ws4k < 4096 * 64, "flash workspace grows by %zu bytes from n=4096 to 8192", ws8k - ws4k);
    cfg.kind = TFM_ATTN_DENSE;
    TT_CHECK(tfm_attn_workspace_size(&cfg, 4096, 4096, &ws_dense) == TFM_OK);
    TT_CHECK(ws_dense >= n2);
    /* counted through the allocation hooks: a flash prefill at n = 4096 (1024 in quick runs: n^2 floats
       are still 80x its workspace) allocates exactly its workspace, nothing with a caller workspace;
       dense allocates its n x n scores */
    tt_seed(21);
    config(&cfg, TFM_ATTN_FLASH, 2, 1, 16, 1);
    n = tt_quick() ? 1024 : 4096;
    n2 = (size_t)n * n * sizeof(float);
    problem_init(&p, 2, 1, 16, n, n, 0, 1, 1.0f);
    TT_CHECK(tfm_attn_workspace_size(&cfg, n, n, &ws4k) == TFM_OK);
    hook_reset();
    TT_CHECK(tfm_attn_prefill(&cfg, p.out, p.q, p.k, p.v, 1, n, n, 0, NULL, NULL, 0) == TFM_OK);
    TT_ASSERT(hook_calls == 1 && hook_peak - hook_live == ws4k, "flash allocated %zu blocks, peak %zu bytes (workspace %zu)",
              hook_calls, hook_peak - hook_live, ws4k);
    TT_ASSERT(ws4k < n2 / (n == 4096 ? 1000 : 50), "flash workspace %zu bytes at n = %d", ws4k, n);
    ws = tt_alloc(ws4k);
    hook_reset();
    TT_CHECK(tfm_attn_prefill(&cfg, p.out, p.q, p.k, p.v, 1, n, n, 0, NULL, ws, ws4k) == TFM_OK);
    TT_ASSERT(hook_calls == 0, "flash with a workspace allocated %zu times", hook_calls);
    TT_CHECK(tfm_attn_prefill(&cfg, p.out, p.q, p.k, p.v, 1, n, n, 0, NULL, ws, ws4k - 1) == TFM_ERR_INVALID_ARGUMENT);
    free(ws);
    problem_free(&p);
    config(&cfg, TFM_ATTN_DENSE, 2, 1, 16, 1);
    cfg.n_threads = 1;
    problem_init(&p, 2, 1, 16, 512, 512, 0, 1, 1.0f);
    hook_reset();
    TT_CHECK(tfm_attn_prefill(&cfg, p.out, p.q, p.k, p.v, 1, 512, 512, 0, NULL, NULL, 0) == TFM_OK);
    TT_ASSERT(hook_peak - hook_live >= (size_t)512 * 512 * sizeof(float), "dense peak %zu bytes", hook_peak - hook_live);
    problem_free(&p);
}

static void test_errors(void)
{
    tfm_attn_config cfg, before;
    tfm_error err;
    float x[64] = {0};
    int len = 3;
    size_t bytes;
    tfm_kv_cache cache;
    config(&cfg, TFM_ATTN_FLASH, 8, 3, 16, 1);
    TT_CHECK(tfm_attn_config_check(&cfg, &err) == TFM_ERR_SHAPE && strstr(err.message, "multiple"));
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 1, 1, 0, NULL, NULL, 0) == TFM_ERR_SHAPE);
    config(&cfg, TFM_ATTN_FLASH, 8, 2, 0, 1);
    TT_CHECK(tfm_attn_config_check(&cfg, &err) == TFM_ERR_INVALID_ARGUMENT);
    config(&cfg, TFM_ATTN_FLASH, 0, 0, 16, 1);
    TT_CHECK(tfm_attn_config_check(&cfg, NULL) == TFM_ERR_INVALID_ARGUMENT);
    config(&cfg, TFM_ATTN_WINDOW, 2, 1, 16, 1);
    cfg.window = 0;
    TT_CHECK(tfm_attn_config_check(&cfg, &err) == TFM_ERR_INVALID_ARGUMENT && strstr(err.message, "window"));
    config(&cfg, TFM_ATTN_BIGBIRD, 2, 1, 16, 1);
    cfg.bigbird.block = 0;
    TT_CHECK(tfm_attn_config_check(&cfg, NULL) == TFM_ERR_INVALID_ARGUMENT);
    cfg.bigbird.block = 4;
    cfg.bigbird.n_window = 0;
    TT_CHECK(tfm_attn_config_check(&cfg, NULL) == TFM_ERR_INVALID_ARGUMENT);
    config(&cfg, TFM_ATTN_LINFORMER, 2, 1, 16, 1);
    cfg.linformer.k = 2;
    cfg.linformer.n = 4;
    cfg.linformer.e = cfg.linformer.f = x;
    TT_CHECK(tfm_attn_config_check(&cfg, &err) == TFM_ERR_UNSUPPORTED && strstr(err.message, "bidirectional"));
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 1, 4, 0, NULL, NULL, 0) == TFM_ERR_UNSUPPORTED);
    cfg.causal = 0;
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 1, 3, 0, NULL, NULL, 0) == TFM_ERR_SHAPE); /* n_kv != n */
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 1, 4, 0, NULL, NULL, 0) == TFM_OK);
    config(&cfg, TFM_ATTN_FLASH, 2, 1, 16, 1);
    TT_CHECK(tfm_attn_prefill(NULL, x, x, x, x, 1, 1, 1, 0, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_prefill(&cfg, NULL, x, x, x, 1, 1, 1, 0, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, NULL, x, 1, 1, 1, 0, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 0, 1, 0, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 1, 1, -1, NULL, NULL, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 1, 2, 0, &len, NULL, 0) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_attn_workspace_size(&cfg, 1, 1, NULL) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_workspace_size(&cfg, 0, 1, &bytes) == TFM_ERR_INVALID_ARGUMENT);
    config(&cfg, TFM_ATTN_DENSE, 2, 1, 16, 1);
    TT_CHECK(tfm_attn_workspace_size(&cfg, 2000000000, 2000000000, &bytes) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 2000000000, 2000000000, 0, NULL, NULL, 0) == TFM_ERR_OUT_OF_RANGE);
    config(&cfg, TFM_ATTN_BIGBIRD, 2, 1, 16, 1);
    TT_CHECK(tfm_attn_prefill(&cfg, x, x, x, x, 1, 2, 1, 0, NULL, NULL, 0) == TFM_ERR_SHAPE); /* future queries */
    TT_CHECK(tfm_attn_bigbird_mask(&cfg, 0, (unsigned char *)x, sizeof x) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 0) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_kv_cache_init(NULL, &cfg, 1) == TFM_ERR_INVALID_ARGUMENT);
    /* specs */
    config(&cfg, TFM_ATTN_FLASH, 2, 1, 16, 1);
    before = cfg;
    TT_CHECK(tfm_attn_config_parse(&cfg, "window:0", &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_config_parse(&cfg, "bigbird:64,1,3", &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_config_parse(&cfg, "window:12x", &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_attn_config_parse(&cfg, "sparse", &err) == TFM_ERR_INVALID_ARGUMENT && strstr(err.message, "sparse"));
    TT_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    TT_CHECK(tfm_attn_config_parse(&cfg, "bigbird:32,2,3,4", NULL) == TFM_OK && cfg.kind == TFM_ATTN_BIGBIRD &&
             cfg.bigbird.block == 32 && cfg.bigbird.n_global == 2 && cfg.bigbird.n_window == 3 && cfg.bigbird.n_random == 4);
    TT_CHECK(tfm_attn_config_parse(&cfg, "bigbird:32,2,3,4,77", NULL) == TFM_OK && cfg.bigbird.seed == 77);
    TT_CHECK(tfm_attn_config_parse(&cfg, "window:256", NULL) == TFM_OK && cfg.kind == TFM_ATTN_WINDOW && cfg.window == 256);
    TT_CHECK(tfm_attn_config_parse(&cfg, "linformer:128", NULL) == TFM_OK && cfg.linformer.k == 128);
    TT_CHECK(tfm_attn_config_parse(&cfg, "dense", NULL) == TFM_OK && cfg.kind == TFM_ATTN_DENSE && cfg.n_heads == 2);
    /* 7: no kind, but inside the enum's range of values (0..7 for 0..5): 42 is undefined in C++ */
    TT_CHECK(!strcmp(tfm_attn_kind_name(TFM_ATTN_LINEAR), "linear") && tfm_attn_kind_name((tfm_attn_kind)7) == NULL);
}

/* ---------------------------------------------------------------- int8 KV-cache rows */

static void test_kv_rows(void)
{
    static const size_t lens[] = {1, 8, 17, 64, 131};
    size_t li;
    tt_seed(99);
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li], i;
        float x[131], qv[131], y[131], yref[131], scale;
        int8_t q[131];
        double amax = 0, want = 0;
        tt_fill(x, n, -4.0f, 4.0f);
        tt_fill(qv, n, -1.0f, 1.0f);
        tt_fill(y, n, -1.0f, 1.0f);
        for (i = 0; i < n; i++) amax = fabs(x[i]) > amax ? fabs(x[i]) : amax;
        scale = tfm_kv_quantize_row(q, x, n);
        TT_ASSERT(fabs(scale - amax / 127) <= 1e-6 * amax, "scale");
        for (i = 0; i < n; i++) {
            TT_ASSERT(fabs(x[i] - (double)scale * q[i]) <= amax / 127 / 2 * (1 + 1e-5), "kv element %zu", i);
            want += (double)qv[i] * scale * q[i];
            yref[i] = (float)(y[i] + 0.3 * (double)scale * q[i]);
        }
        TT_ASSERT(tt_close(tfm_kv_dot(qv, q, scale, n), want, 1e-5, 1e-5), "kv dot n=%zu", n);
        tfm_kv_axpy(y, 0.3f, q, scale, n);
        for (i = 0; i < n; i++) TT_ASSERT(tt_close(y[i], yref[i], 1e-6, 1e-6), "kv axpy %zu", i);
    }
    {
        float z[5] = {0, 0, 0, 0, 0};
        int8_t q[5];
        TT_CHECK(tfm_kv_quantize_row(q, z, 5) == 0.0f && q[0] == 0 && q[4] == 0);
    }
}

/* ---------------------------------------------------------------- int8 KV cache */

/* Feeds p (one sequence) through a cache made for cfg in chunks of the given sizes (cycled); out gets
   every row. hook_calls must not move while the workspace is the caller's. */
static int feed_cache(const tfm_attn_config *cfg, tfm_kv_cache *cache, const problem *p, const int *chunks, int n_chunks,
                      float *out)
{
    size_t qrow = (size_t)p->H * p->D, krow = (size_t)p->KV * p->D, bytes = 0, calls;
    int pos = 0, ci = 0, ok = 1, largest = 0, i;
    void *ws;
    for (i = 0; i < n_chunks; i++) largest = chunks[i] > largest ? chunks[i] : largest;
    if (tfm_kv_cache_init(cache, cfg, p->n_kv) != TFM_OK || tfm_attn_workspace_size(cfg, largest, p->n_kv, &bytes) != TFM_OK)
        return 0;
    ws = tt_alloc(bytes);
    calls = hook_calls;
    while (ok && pos < p->n_kv) {
        int step = chunks[ci++ % n_chunks];
        if (step > p->n_kv - pos) step = p->n_kv - pos;
        ok = tfm_attn_decode(cfg, cache, out + pos * qrow, p->q + pos * qrow, p->k + pos * krow, p->v + pos * krow, step, ws,
                             bytes) == TFM_OK;
        pos += step;
    }
    free(ws);
    return ok && hook_calls == calls;
}

/* K or V rows [n][KV][D] as an int8 cache holds them, dequantized in double; *half_step gets the
   largest scale / 2 (the most an element moves). The rows come from tfm_kv_quantize_row, checked
   against its definition by test_kv_rows. */
static double *int8_rows(const float *x, int n, int KV, int D, double *half_step)
{
    double *out = (double *)tt_alloc((size_t)n * KV * D * sizeof(double));
    int8_t *q = (int8_t *)tt_alloc((size_t)D);
    int r, c;
    *half_step = 0;
    for (r = 0; r < n * KV; r++) {
        float scale = tfm_kv_quantize_row(q, x + (size_t)r * D, (size_t)D);
        for (c = 0; c < D; c++) out[(size_t)r * D + c] = (double)scale * q[c];
        if (scale / 2.0 > *half_step) *half_step = scale / 2.0;
    }
    free(q);
    return out;
}

/* An int8 cache attends over the dequantized rows: equal to the float64 attention over them (every
   variant, GQA, head dims with vector tails), and within the error the quantization allows of the f32
   attention. That bound: each score moves by at most eps = scale * sum|q| * (K's largest half step),
   so each weight by a factor within e^(+-2 eps), and the output by at most
   (e^(2 eps) - 1) max|v| + (V's largest half step). */
static void test_int8_cache_attention(void)
{
    static const tfm_attn_kind kinds[] = {TFM_ATTN_DENSE, TFM_ATTN_FLASH, TFM_ATTN_WINDOW, TFM_ATTN_BIGBIRD};
    static const int dims[] = {16, 64, 80, 20};
    static const int chunks[] = {7, 1, 1, 30, 1, 2, 64, 1};
    int ki, b, moved = 0;
    tt_seed(23);
    for (ki = 0; ki < 4; ki++)
        for (b = 0; b < 4; b++) {
            int H = head_pairs[b][0], KV = head_pairs[b][1], D = dims[(ki + b) % 4], n = 150, i, h, c;
            size_t nq = (size_t)n * H * D, nk = (size_t)n * KV * D;
            double *want = (double *)tt_alloc(nq * sizeof(double)), *exact = (double *)tt_alloc(nq * sizeof(double));
            double kstep, vstep, scale = 1.0 / sqrt((double)D), err, vmax = 0;
            double *kq, *vq, *k64, *v64;
            unsigned char *mask, *blocks = NULL;
            tfm_attn_config cfg;
            tfm_kv_cache cache;
            problem p;
            int nb = 0, fed;
            long bad;
            config(&cfg, kinds[ki], H, KV, D, 1);
            cfg.kv_type = TFM_I8;
            cfg.window = 16;
            cfg.bigbird.block = 12;
            problem_init(&p, H, KV, D, n, n, 0, 1, 1.0f);
            fed = feed_cache(&cfg, &cache, &p, chunks, 8, p.out);
            TT_ASSERT(fed && cache.dtype == TFM_I8, "%s: int8 cache run failed or allocated", tfm_attn_kind_name(cfg.kind));
            tfm_kv_cache_free(&cache);
            if (cfg.kind == TFM_ATTN_BIGBIRD) {
                nb = tfm_attn_bigbird_blocks(&cfg, n);
                blocks = (unsigned char *)tt_alloc((size_t)nb * nb);
                TT_CHECK(tfm_attn_bigbird_mask(&cfg, n, blocks, (size_t)nb * nb) == TFM_OK);
            }
            mask = build_mask(&cfg, &p, n, blocks, nb);
            kq = int8_rows(p.k, n, KV, D, &kstep);
            vq = int8_rows(p.v, n, KV, D, &vstep);
            k64 = to_double(p.k, nk);
            v64 = to_double(p.v, nk);
            ref_masked(want, p.q, kq, vq, n, n, H, KV, D, scale, mask);
            ref_masked(exact, p.q, k64, v64, n, n, H, KV, D, scale, mask);
            bad = worst(p.out, want, nq, ATOL, RTOL, &err);
            TT_ASSERT(bad < 0, "%s H=%d/%d D=%d: int8 attention %.7g, float64 over the dequantized rows %.7g (element %ld)",
                      tfm_attn_kind_name(cfg.kind), H, KV, D, p.out[bad > 0 ? bad : 0], want[bad > 0 ? bad : 0], bad);
            for (i = 0; i < (int)nk; i++) vmax = fabs(v64[i]) > vmax ? fabs(v64[i]) : vmax;
            for (i = 0; i < n; i++)
                for (h = 0; h < H; h++) {
                    const float *qi = p.q + ((size_t)i * H + h) * D;
                    double sum_q = 0, eps, bound;
                    for (c = 0; c < D; c++) sum_q += fabs(qi[c]);
                    eps = scale * sum_q * kstep;
                    bound = (exp(2 * eps) - 1) * vmax + vstep + ATOL;
                    TT_ASSERT(bound < 0.2 * vmax, "the bound %g says nothing (max |v| %g)", bound, vmax);
                    for (c = 0; c < D; c++) {
                        size_t e = ((size_t)i * H + h) * D + c;
                        double d = fabs(p.out[e] - exact[e]);
                        TT_ASSERT(d <= bound, "%s H=%d/%d D=%d token %d head %d: off the f32 attention by %g, bound %g",
                                  tfm_attn_kind_name(cfg.kind), H, KV, D, i, h, d, bound);
                        moved |= d > 1e-4;
                    }
                }
            free(want), free(exact), free(kq), free(vq), free(k64), free(v64), free(mask), free(blocks);
            problem_free(&p);
        }
    TT_ASSERT(moved, "int8 outputs never left the f32 ones: the cache did not quantize");
}

/* Decode with an int8 cache gives prefill's rows: one chunk, token by token and mixed chunks agree
   (the new tokens are quantized before they are attended), and the caches hold the same bytes; the
   long cache takes the split-key decode path. 1 and 2 threads are bit-identical. */
static void test_int8_cache_decode_and_threads(void)
{
    /* 1300 tokens (600 in quick runs): past the 512-key decode split, and the window's ring wraps; 8 query
       heads on 2 KV heads (4 in quick runs); each plan with 1 and 2 threads (in quick runs, one token at a
       time with 1, the mixed plan with 2: its single steps past 512 keys split them across the threads) */
    int n = tt_quick() ? 600 : 1300, half = (n - 50) / 2, H = tt_quick() ? 4 : 8;
    int whole[1], ones[] = {1}, mixed[6];
    const int *plans[3];
    int n_plans[3], plan, t, ki;
    whole[0] = n;
    mixed[0] = half, mixed[1] = 1, mixed[2] = n - 50 - half, mixed[3] = 1, mixed[4] = 1, mixed[5] = 47;
    plans[0] = whole, plans[1] = ones, plans[2] = mixed;
    n_plans[0] = 1, n_plans[1] = 1, n_plans[2] = 6;
    tt_seed(29);
    for (ki = 0; ki < 2; ki++) {
        tfm_attn_config cfg;
        tfm_kv_cache first, cache;
        problem p;
        size_t nq = (size_t)n * H * 64;
        float *rows = (float *)tt_alloc(nq * sizeof(float));
        config(&cfg, ki ? TFM_ATTN_WINDOW : TFM_ATTN_FLASH, H, 2, 64, 1);
        cfg.kv_type = TFM_I8;
        cfg.window = n / 2 + 50;
        problem_init(&p, H, 2, 64, n, n, 0, 1, 1.0f);
        cfg.n_threads = 2;
        TT_CHECK(feed_cache(&cfg, &first, &p, whole, 1, rows));
        for (plan = 1; plan < 3; plan++)
            for (t = 1; t <= 2; t++) {
                size_t j, cells = (size_t)first.capacity * 2 * 64;
                double e = 0;
                if (tt_quick() && t != plan) continue;
                cfg.n_threads = t;
                TT_CHECK(feed_cache(&cfg, &cache, &p, plans[plan], n_plans[plan], p.out));
                for (j = 0; j < nq; j++) e = fabs(p.out[j] - rows[j]) > e ? fabs(p.out[j] - rows[j]) : e;
                TT_ASSERT(e <= 2e-5, "%s plan %d, %d threads: rows differ from one prefill by %g", tfm_attn_kind_name(cfg.kind),
                          plan, t, e);
                TT_ASSERT(memcmp(cache.k, first.k, cells) == 0 && memcmp(cache.v, first.v, cells) == 0 &&
                              memcmp(cache.k_scale, first.k_scale, (size_t)first.capacity * 2 * sizeof(float)) == 0,
                          "%s plan %d: the cache holds other bytes", tfm_attn_kind_name(cfg.kind), plan);
                tfm_kv_cache_free(&cache);
            }
        {
            /* 1 vs 2 threads, bit for bit: a long prompt chunk (tiles) then split-key decode steps */
            float *one = (float *)tt_alloc(nq * sizeof(float));
            cfg.n_threads = 1;
            TT_CHECK(feed_cache(&cfg, &cache, &p, mixed, 6, one));
            tfm_kv_cache_free(&cache);
            cfg.n_threads = 2;
            TT_CHECK(feed_cache(&cfg, &cache, &p, mixed, 6, p.out));
            tfm_kv_cache_free(&cache);
            TT_ASSERT(memcmp(one, p.out, nq * sizeof(float)) == 0, "%s: int8 cache, 1 and 2 threads differ",
                      tfm_attn_kind_name(cfg.kind));
            free(one);
        }
        tfm_kv_cache_free(&first);
        free(rows);
        problem_free(&p);
    }
}

/* int8 cache memory and the requests it refuses. */
static void test_int8_cache_memory_and_errors(void)
{
    tfm_attn_config cfg;
    tfm_kv_cache cache;
    float q[4 * 64], k[2 * 64], v[2 * 64], out[4 * 64];
    size_t f32_bytes;
    tt_fill(q, 256, -1, 1);
    tt_fill(k, 128, -1, 1);
    tt_fill(v, 128, -1, 1);
    config(&cfg, TFM_ATTN_FLASH, 4, 2, 64, 1);
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 1000) == TFM_OK);
    f32_bytes = tfm_kv_cache_bytes(&cache);
    tfm_kv_cache_free(&cache);
    cfg.kv_type = TFM_I8;
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 1000) == TFM_OK);
    /* per token and kv head: 64 int8 values and one f32 scale, for K and for V */
    TT_CHECK(tfm_kv_cache_bytes(&cache) == (size_t)1000 * 2 * 2 * (64 + 4) && f32_bytes == (size_t)1000 * 2 * 2 * 64 * 4);
    /* a cache of one type is refused under a config of the other */
    cfg.kv_type = TFM_F32;
    TT_CHECK(tfm_attn_decode(&cfg, &cache, out, q, k, v, 1, NULL, 0) == TFM_ERR_UNSUPPORTED && cache.length == 0);
    cfg.kv_type = TFM_I8;
    TT_CHECK(tfm_attn_decode(&cfg, &cache, out, q, k, v, 1, NULL, 0) == TFM_OK && cache.length == 1);
    tfm_kv_cache_free(&cache);
    /* a window's ring of int8 rows */
    cfg.kind = TFM_ATTN_WINDOW;
    cfg.window = 8;
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 1000000) == TFM_OK);
    TT_CHECK(cache.ring && tfm_kv_cache_bytes(&cache) == (size_t)8 * 2 * 2 * (64 + 4));
    tfm_kv_cache_free(&cache);
    /* linear attention keeps a state, not rows; other storage types do not exist */
    cfg.kind = TFM_ATTN_LINEAR;
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 100) == TFM_ERR_UNSUPPORTED && cache.k == NULL && cache.state == NULL);
    cfg.kind = TFM_ATTN_FLASH;
    cfg.kv_type = TFM_F16;
    TT_CHECK(tfm_kv_cache_init(&cache, &cfg, 100) == TFM_ERR_UNSUPPORTED);
    tfm_kv_cache_free(&cache);
}

/* Gemma 2's soft-capped scores, cap(s) = c tanh(s / c) before the softmax, on every variant with
   scores (dense, flash, window, BigBird; GQA, head dims with vector tails): equal to the float64
   attention of the capped scores in one prefill, and through a cache fed token by token (the decode
   kernel) and in mixed chunks (the tiles), f32 and int8 rows (against the float64 attention over the
   rows the cache holds). The cap binds: scores reach ~3, the cap is 0.5, and without it the outputs are
   off by far more than the tolerance. */
static void test_softcap(void)
{
    static const tfm_attn_kind kinds[] = {TFM_ATTN_DENSE, TFM_ATTN_FLASH, TFM_ATTN_WINDOW, TFM_ATTN_BIGBIRD};
    static const int ones[] = {1}, mixed[] = {7, 1, 1, 30, 1, 2};
    int ki, i8, mode, n = 70;
    tt_seed(31);
    for (ki = 0; ki < 4; ki++) {
        tfm_attn_config cfg;
        problem p;
        char what[64];
        int D = ki % 2 ? 72 : 20;
        size_t nq = (size_t)n * 8 * D;
        config(&cfg, kinds[ki], 8, 2, D, 1);
        cfg.softcap = 0.5f;
        cfg.window = 9;
        cfg.bigbird.block = 8;
        problem_init(&p, 8, 2, D, n, n, 0, 1, 1.5f);
        snprintf(what, sizeof what, "%s soft-capped", tfm_attn_kind_name(cfg.kind));
        TT_ASSERT(check_against_reference(&cfg, &p, NULL, what), "%s differs from the float64 reference", what);
        for (i8 = 0; i8 < 2; i8++)
            for (mode = 0; mode < 2; mode++) {
                double *want = (double *)tt_alloc(nq * sizeof(double)), *kq, *vq, step, err;
                unsigned char *mask, *blocks = NULL;
                tfm_kv_cache cache;
                int nb = 0, fed;
                long bad;
                cfg.kv_type = i8 ? TFM_I8 : TFM_F32;
                fed = feed_cache(&cfg, &cache, &p, mode ? mixed : ones, mode ? 6 : 1, p.out);
                tfm_kv_cache_free(&cache);
                TT_ASSERT(fed, "%s: feeding the cache failed", what);
                if (cfg.kind == TFM_ATTN_BIGBIRD) {
                    nb = tfm_attn_bigbird_blocks(&cfg, n);
                    blocks = (unsigned char *)tt_alloc((size_t)nb * nb);
                    TT_CHECK(tfm_attn_bigbird_mask(&cfg, n, blocks, (size_t)nb * nb) == TFM_OK);
                }
                mask = build_mask(&cfg, &p, n, blocks, nb);
                kq = i8 ? int8_rows(p.k, n, 2, D, &step) : to_double(p.k, (size_t)n * 2 * D);
                vq = i8 ? int8_rows(p.v, n, 2, D, &step) : to_double(p.v, (size_t)n * 2 * D);
                ref_masked_capped(want, p.q, kq, vq, n, n, 8, 2, D, 1.0 / sqrt((double)D), 0.5, mask);
                bad = worst(p.out, want, nq, ATOL, RTOL, &err);
                free(want), free(kq), free(vq), free(mask), free(blocks);
                TT_ASSERT(bad < 0, "%s, %s rows, %s: off the float64 reference by %g", what, i8 ? "int8" : "f32",
                          mode ? "chunks" : "one token at a time", err);
            }
        problem_free(&p);
    }
    {
        tfm_attn_config cfg;
        tfm_error e;
        config(&cfg, TFM_ATTN_FLASH, 4, 2, 16, 1);
        cfg.softcap = -1.0f;
        TT_ASSERT(tfm_attn_config_check(&cfg, &e) == TFM_ERR_INVALID_ARGUMENT && strstr(e.message, "softcap"), "%s", e.message);
        cfg.softcap = NAN;
        TT_ASSERT(tfm_attn_config_check(&cfg, &e) == TFM_ERR_INVALID_ARGUMENT, "a NaN cap passes");
        cfg.softcap = 1.0f;
        cfg.kind = TFM_ATTN_LINEAR;
        TT_ASSERT(tfm_attn_config_check(&cfg, &e) == TFM_ERR_UNSUPPORTED && strstr(e.message, "soft-cap"), "%s", e.message);
    }
}

int main(void)
{
    printf("simd: %s, threads: %d\n", tfm_simd_name(), tfm_default_threads());
    TT_RUN(test_errors);
    TT_RUN(test_dense_and_flash_equal_reference);
    TT_RUN(test_softcap);
    TT_RUN(test_long_and_odd_shapes);
    TT_RUN(test_window_equals_masked_dense);
    TT_RUN(test_key_padding);
    TT_RUN(test_bigbird_mask_definition);
    TT_RUN(test_bigbird_equals_masked_dense);
    TT_RUN(test_gqa_equals_mha_with_repeated_kv);
    TT_RUN(test_linformer);
    TT_RUN(test_linear_attention);
    TT_RUN(test_decode_matches_prefill);
    TT_RUN(test_decode_all_heads_of_a_split);
    TT_RUN(test_cache);
    TT_RUN(test_threads_bit_identical);
    TT_RUN(test_flash_memory);
    TT_RUN(test_kv_rows);
    TT_RUN(test_int8_cache_attention);
    TT_RUN(test_int8_cache_decode_and_threads);
    TT_RUN(test_int8_cache_memory_and_errors);
    return tt_summary("attention");
}

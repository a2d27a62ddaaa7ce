/* Tests of tfm_sampler.h: every stage against a brute-force float64 distribution written here,
   empirical frequencies against it, the RNG stream, greedy == argmax, and invalid parameters. */
#include "tfm_test.h"
#include "tfm_sampler.h"

/* ---------------------------------------------------------------- reference distribution */

static const double *ref_sort_logits; /* qsort has no context argument */

static int ref_rank(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    double la = ref_sort_logits[a], lb = ref_sort_logits[b];
    if (la != lb) return la > lb ? -1 : 1;
    return a - b;
}

/* The distribution the documented stages give, by brute force: sort the whole vocab, cut, softmax in
   double. ids/probs get *n entries. *margin: how far the top-p and min-p decisions were from their
   thresholds (a float implementation may decide either way when it is tiny). */
static int ref_dist(const float *logits, int n_vocab, const tfm_sampler_params *p, const int *hist, int n_hist,
                    int *ids, double *probs, double *margin)
{
    double *l = (double *)tt_alloc((size_t)n_vocab * sizeof *l), z = 0.0, cum = 0.0, max;
    int *order = (int *)tt_alloc((size_t)n_vocab * sizeof *order), i, j, n = 0, k;
    *margin = 1.0;
    for (i = 0; i < n_vocab; i++) l[i] = logits[i];
    if (p->repeat_penalty != 1.0f && p->repeat_last_n > 0) {
        int from = n_hist > p->repeat_last_n ? n_hist - p->repeat_last_n : 0;
        for (i = from; i < n_hist; i++) {
            int t = hist[i], dup = 0;
            for (j = from; j < i; j++) dup |= hist[j] == t;
            if (!dup) l[t] = logits[t] > 0 ? (double)(logits[t] / p->repeat_penalty) : (double)(logits[t] * p->repeat_penalty);
        }
    }
    for (i = 0; i < n_vocab; i++)
        if (l[i] > -INFINITY) order[n++] = i;
    ref_sort_logits = l;
    qsort(order, (size_t)n, sizeof *order, ref_rank);
    max = l[order[0]];
    if (p->temperature == 0.0f) {
        ids[0] = order[0];
        probs[0] = 1.0;
        free(l);
        free(order);
        return 1;
    }
    if (p->top_k > 0 && p->top_k < n) n = p->top_k;
    for (i = 0; i < n; i++) z += exp(l[order[i]] - max);
    if (p->top_p < 1.0f) {
        for (i = 0; i < n; i++) {
            cum += exp(l[order[i]] - max) / z;
            if (fabs(cum - p->top_p) < *margin) *margin = fabs(cum - p->top_p);
            if (cum >= p->top_p) break;
        }
        if (i < n) n = i + 1;
    }
    if (p->min_p > 0.0f) {
        for (i = 0, k = 0; i < n; i++) {
            double r = exp(l[order[i]] - max);
            if (fabs(r - p->min_p) < *margin) *margin = fabs(r - p->min_p);
            if (r >= p->min_p) order[k++] = order[i];
        }
        n = k;
    }
    for (i = 0, z = 0.0; i < n; i++) z += exp((l[order[i]] - max) / p->temperature);
    for (i = 0; i < n; i++) {
        ids[i] = order[i];
        probs[i] = exp((l[order[i]] - max) / p->temperature) / z;
    }
    free(l);
    free(order);
    return n;
}

/* ---------------------------------------------------------------- helpers */

static tfm_sampler_params params_off(void)
{
    tfm_sampler_params p;
    tfm_sampler_params_default(&p);
    p.temperature = 1.0f;
    p.top_p = 1.0f;
    p.repeat_last_n = 0;
    return p;
}

static void random_logits(float *x, int n, int kind)
{
    int i;
    for (i = 0; i < n; i++) {
        if (kind == 0) x[i] = tt_uniform(-8.0f, 8.0f);
        else if (kind == 1) x[i] = (float)(int)(tt_next() % 7) - 3.0f; /* many ties */
        else if (kind == 2) x[i] = tt_uniform(-2.0f, 2.0f) + (tt_next() % 50 == 0 ? 12.0f : 0.0f); /* peaked */
        else x[i] = tt_next() % 4 == 0 ? -INFINITY : tt_uniform(-4.0f, 4.0f); /* masked */
    }
    if (kind == 3) x[tt_next() % (uint64_t)n] = 0.5f; /* at least one finite */
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* The sampler's candidates equal the reference: same set, probabilities within 2e-5 (+1e-4 relative).
   Returns 1 when they agree, 0 with a message in why, -1 when the case is too close to call. */
static int check_case(const float *logits, int n, const tfm_sampler_params *p, const int *hist, int n_hist, char *why,
                      size_t why_size)
{
    tfm_sampler *s;
    tfm_error err;
    const int *ids;
    const float *probs;
    int m, want_n, i, *want_ids = (int *)tt_alloc((size_t)n * sizeof(int)), *got = (int *)tt_alloc((size_t)n * sizeof(int));
    double *want_probs = (double *)tt_alloc((size_t)n * sizeof(double)), margin, *by_id = (double *)tt_alloc((size_t)n * sizeof(double));
    int result = 1;
    want_n = ref_dist(logits, n, p, hist, n_hist, want_ids, want_probs, &margin);
    if (margin < 1e-4) result = -1;
    if (tfm_sampler_create(&s, n, p, &err) != TFM_OK) {
        snprintf(why, why_size, "create: %.150s", err.message);
        result = 0;
    }
    for (i = 0; result == 1 && i < n_hist; i++) tfm_sampler_accept(s, hist[i]);
    if (result == 1 && tfm_sampler_candidates(s, logits, &ids, &probs, &m, NULL) != TFM_OK) {
        snprintf(why, why_size, "candidates failed");
        result = 0;
    }
    if (result == 1 && m != want_n) {
        snprintf(why, why_size, "%d candidates, want %d", m, want_n);
        result = 0;
    }
    if (result == 1) {
        double sum = 0.0;
        for (i = 0; i < n; i++) by_id[i] = -1.0;
        for (i = 0; i < want_n; i++) by_id[want_ids[i]] = want_probs[i];
        for (i = 0; i < m && result == 1; i++) {
            got[i] = ids[i];
            sum += probs[i];
            if (ids[i] < 0 || ids[i] >= n || by_id[ids[i]] < 0) {
                snprintf(why, why_size, "token %d should not be a candidate", ids[i]);
                result = 0;
            } else if (!tt_close(probs[i], by_id[ids[i]], 2e-5, 1e-4)) {
                snprintf(why, why_size, "token %d: p %.7g, want %.7g", ids[i], probs[i], by_id[ids[i]]);
                result = 0;
            }
        }
        qsort(got, (size_t)m, sizeof *got, cmp_int);
        for (i = 1; i < m && result == 1; i++)
            if (got[i] == got[i - 1]) {
                snprintf(why, why_size, "token %d twice", got[i]);
                result = 0;
            }
        if (result == 1 && fabs(sum - 1.0) > 1e-4) {
            snprintf(why, why_size, "probabilities sum to %.7g", sum);
            result = 0;
        }
    }
    tfm_sampler_free(s);
    free(want_ids);
    free(got);
    free(want_probs);
    free(by_id);
    return result;
}

/* Runs n_cases random cases through check_case with params made by make(); cases too close to call
   are drawn again. */
static void run_cases(int n_cases, void (*make)(tfm_sampler_params *p, int n), const char *stage)
{
    static const int sizes[] = {1, 2, 3, 10, 37, 100, 1000, 32000};
    int c, tried = 0, hist[80];
    char why[300];
    for (c = 0; c < n_cases; tried++) {
        int n = sizes[tt_next() % (tried % 16 == 0 ? 8 : 7)], kind = (int)(tt_next() % 4), n_hist = 0, i, r;
        float *logits = (float *)tt_alloc((size_t)n * sizeof *logits);
        tfm_sampler_params p = params_off();
        random_logits(logits, n, kind);
        make(&p, n);
        if (p.repeat_last_n > 0) {
            n_hist = (int)(tt_next() % 80);
            for (i = 0; i < n_hist; i++) hist[i] = (int)(tt_next() % (uint64_t)n);
        }
        r = check_case(logits, n, &p, hist, n_hist, why, sizeof why);
        free(logits);
        TT_ASSERT(r != 0, "%s, case %d (vocab %d, logits kind %d, T %g k %d p %g min_p %g penalty %g/%d): %s", stage, c, n,
                  kind, p.temperature, p.top_k, p.top_p, p.min_p, p.repeat_penalty, p.repeat_last_n, why);
        if (r == 1) c++;
        TT_ASSERT(tried < 4 * n_cases + 100, "%s: too many cases too close to call", stage);
    }
}

static void make_temperature(tfm_sampler_params *p, int n)
{
    static const float t[] = {0.0f, 0.25f, 1.0f, 1.7f, 5.0f};
    (void)n;
    p->temperature = t[tt_next() % 5];
}

static void make_top_k(tfm_sampler_params *p, int n)
{
    int choices[5];
    choices[0] = 1;
    choices[1] = 3;
    choices[2] = n / 2 + 1;
    choices[3] = n;
    choices[4] = n + 5;
    p->top_k = choices[tt_next() % 5];
}

static void make_top_p(tfm_sampler_params *p, int n)
{
    static const float v[] = {0.9f, 0.5f, 0.05f, 0.999f, 0.3f};
    (void)n;
    p->top_p = v[tt_next() % 5];
}

static void make_min_p(tfm_sampler_params *p, int n)
{
    static const float v[] = {0.05f, 0.5f, 1.0f, 0.001f, 0.2f};
    (void)n;
    p->min_p = v[tt_next() % 5];
}

static void make_penalty(tfm_sampler_params *p, int n)
{
    static const float v[] = {1.3f, 0.8f, 2.0f};
    static const int last[] = {1, 4, 64};
    (void)n;
    p->repeat_penalty = v[tt_next() % 3];
    p->repeat_last_n = last[tt_next() % 3];
}

static void make_all(tfm_sampler_params *p, int n)
{
    if (tt_next() % 2) make_temperature(p, n);
    if (p->temperature == 0.0f) p->temperature = 0.7f;
    if (tt_next() % 2) make_top_k(p, n);
    if (tt_next() % 2) make_top_p(p, n);
    if (tt_next() % 2) make_min_p(p, n);
    if (tt_next() % 2) make_penalty(p, n);
}

/* ---------------------------------------------------------------- stages */

static void test_temperature(void)
{
    tt_seed(21);
    run_cases(300, make_temperature, "temperature");
}

static void test_top_k(void)
{
    tt_seed(22);
    run_cases(300, make_top_k, "top-k");
}

static void test_top_p(void)
{
    tt_seed(23);
    run_cases(400, make_top_p, "top-p");
}

static void test_min_p(void)
{
    tt_seed(24);
    run_cases(300, make_min_p, "min-p");
}

static void test_repetition_penalty(void)
{
    tt_seed(25);
    run_cases(300, make_penalty, "penalty");
}

static void test_all_stages(void)
{
    tt_seed(26);
    run_cases(600, make_all, "all stages");
}

/* The window: only the last repeat_last_n accepted tokens count, each once, and sample records its token. */
static void test_penalty_window(void)
{
    float logits[6] = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f, 0.0f};
    tfm_sampler_params p = params_off();
    tfm_sampler *s;
    const int *ids;
    const float *probs;
    int n, token, i;
    double want[6], z = 0.0;
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 3;
    TT_ASSERT(tfm_sampler_create(&s, 6, &p, NULL) == TFM_OK, "create");
    /* accepted 1 1 2 2 2 3: the window holds 2 2 3 */
    tfm_sampler_accept(s, 1);
    tfm_sampler_accept(s, 1);
    tfm_sampler_accept(s, 2);
    tfm_sampler_accept(s, 2);
    tfm_sampler_accept(s, 2);
    tfm_sampler_accept(s, 3);
    TT_CHECK(tfm_sampler_candidates(s, logits, &ids, &probs, &n, NULL) == TFM_OK && n == 6);
    want[0] = 1.0;
    want[1] = 2.0;
    want[2] = -2.0; /* negative: multiplied, once although 2 is there twice */
    want[3] = 0.25; /* positive: divided */
    want[4] = 3.0;
    want[5] = 0.0;
    for (i = 0; i < 6; i++) z += exp(want[i]);
    for (i = 0; i < 6; i++) TT_ASSERT(ids[i] == i && tt_close(probs[i], exp(want[i]) / z, 1e-6, 1e-5), "token %d", i);
    /* greedy sampling records 4, then 4 (3.0 -> 1.5) loses to 1 (2.0), then 1 (2.0 -> 1.0) loses to 4 */
    tfm_sampler_free(s);
    p.temperature = 0.0f;
    TT_ASSERT(tfm_sampler_create(&s, 6, &p, NULL) == TFM_OK, "create");
    TT_CHECK(tfm_sampler_sample(s, logits, &token, NULL) == TFM_OK && token == 4);
    TT_CHECK(tfm_sampler_sample(s, logits, &token, NULL) == TFM_OK && token == 1);
    TT_CHECK(tfm_sampler_sample(s, logits, &token, NULL) == TFM_OK && token == 4);
    tfm_sampler_reset(s);
    TT_CHECK(tfm_sampler_sample(s, logits, &token, NULL) == TFM_OK && token == 4);
    TT_CHECK(tfm_sampler_accept(s, 6) == TFM_ERR_OUT_OF_RANGE && tfm_sampler_accept(s, -1) == TFM_ERR_OUT_OF_RANGE);
    tfm_sampler_free(s);
}

static void test_greedy_is_argmax(void)
{
    int c;
    tt_seed(27);
    for (c = 0; c < 300; c++) {
        int n = 1 + (int)(tt_next() % 500), i, want = 0, token, kind = (int)(tt_next() % 4);
        float *logits = (float *)tt_alloc((size_t)n * sizeof *logits);
        tfm_sampler_params p;
        tfm_sampler *s;
        tfm_sampler_params_default(&p);
        p.temperature = 0.0f;
        p.top_k = (int)(tt_next() % 5);
        p.seed = tt_next();
        random_logits(logits, n, kind);
        for (i = 1; i < n; i++)
            if (logits[i] > logits[want]) want = i;
        TT_ASSERT(tfm_sampler_create(&s, n, &p, NULL) == TFM_OK, "create");
        TT_CHECK(tfm_sampler_sample(s, logits, &token, NULL) == TFM_OK);
        TT_ASSERT(token == want, "case %d: greedy %d, argmax %d", c, token, want);
        tfm_sampler_free(s);
        free(logits);
    }
}

/* ---------------------------------------------------------------- random numbers */

static void test_rng_stream(void)
{
    /* known answers of xorshift64* (computed with Python's integers, independent of C) */
    static const uint32_t seed42[6] = {0x56ce4ab7u, 0xc841eb53u, 0xca466be0u, 0xf1acc733u, 0xc3af4dd7u, 0xd5f30c22u};
    static const uint32_t seed0[3] = {0x0d83b3e2u, 0x54c44c79u, 0xa845f342u};
    tfm_rng a, b;
    int i, differ = 0;
    double sum = 0.0;
    tfm_rng_seed(&a, 42);
    for (i = 0; i < 6; i++) TT_ASSERT(tfm_rng_u32(&a) == seed42[i], "seed 42, value %d", i);
    tfm_rng_seed(&a, 42);
    for (i = 0; i < 6; i++) TT_CHECK(tfm_rng_float(&a) == (float)(seed42[i] >> 8) / 16777216.0f);
    tfm_rng_seed(&a, 0);
    for (i = 0; i < 3; i++) TT_ASSERT(tfm_rng_u32(&a) == seed0[i], "seed 0, value %d", i);
    tfm_rng_seed(&a, 7);
    tfm_rng_seed(&b, 8);
    for (i = 0; i < 100000; i++) {
        float f = tfm_rng_float(&a);
        TT_ASSERT(f >= 0.0f && f < 1.0f, "float %g out of [0, 1)", f);
        sum += f;
        differ += tfm_rng_u32(&b) != tfm_rng_u32(&a);
    }
    TT_ASSERT(fabs(sum / 100000 - 0.5) < 0.01, "mean %g", sum / 100000);
    TT_CHECK(differ > 99000);
}

/* Same seed, same tokens; another seed, other tokens; reset replays. */
static void test_same_seed_same_stream(void)
{
    float logits[200];
    tfm_sampler_params p;
    tfm_sampler *a, *b, *c;
    int i, t1[300], t2, t3, differ = 0;
    tfm_sampler_params_default(&p);
    tt_seed(28);
    random_logits(logits, 200, 0);
    for (i = 0; i < 200; i++) logits[i] *= 0.3f;
    p.seed = 1234;
    p.top_k = 50;
    TT_ASSERT(tfm_sampler_create(&a, 200, &p, NULL) == TFM_OK && tfm_sampler_create(&b, 200, &p, NULL) == TFM_OK, "create");
    p.seed = 1235;
    TT_ASSERT(tfm_sampler_create(&c, 200, &p, NULL) == TFM_OK, "create");
    for (i = 0; i < 300; i++) {
        TT_CHECK(tfm_sampler_sample(a, logits, &t1[i], NULL) == TFM_OK);
        TT_CHECK(tfm_sampler_sample(b, logits, &t2, NULL) == TFM_OK && tfm_sampler_sample(c, logits, &t3, NULL) == TFM_OK);
        TT_ASSERT(t1[i] == t2, "draw %d differs between equal seeds", i);
        differ += t3 != t2;
    }
    TT_ASSERT(differ > 150, "another seed gave %d different tokens of 300", differ);
    tfm_sampler_reset(a);
    for (i = 0; i < 300; i++) {
        TT_CHECK(tfm_sampler_sample(a, logits, &t2, NULL) == TFM_OK);
        TT_ASSERT(t2 == t1[i], "reset: draw %d differs", i);
    }
    tfm_sampler_free(a);
    tfm_sampler_free(b);
    tfm_sampler_free(c);
}

/* Counts of many draws against the reference probabilities (chi-square with a generous bound). */
static void frequencies(int n, const tfm_sampler_params *p, int draws, uint64_t seed)
{
    float *logits = (float *)tt_alloc((size_t)n * sizeof *logits);
    int *ids = (int *)tt_alloc((size_t)n * sizeof *ids), *count = (int *)tt_alloc((size_t)n * sizeof *count);
    double *probs = (double *)tt_alloc((size_t)n * sizeof *probs), *expect = (double *)tt_alloc((size_t)n * sizeof *expect);
    double margin, chi2 = 0.0;
    tfm_sampler *s;
    int m, i, token, df;
    tt_seed(seed);
    random_logits(logits, n, 0);
    for (i = 0; i < n; i++) logits[i] *= 0.4f;
    m = ref_dist(logits, n, p, NULL, 0, ids, probs, &margin);
    for (i = 0; i < n; i++) count[i] = 0, expect[i] = 0.0;
    for (i = 0; i < m; i++) expect[ids[i]] = probs[i] * draws;
    TT_ASSERT(tfm_sampler_create(&s, n, p, NULL) == TFM_OK, "create");
    for (i = 0; i < draws; i++) {
        TT_CHECK(tfm_sampler_sample(s, logits, &token, NULL) == TFM_OK);
        count[token]++;
    }
    for (i = 0, df = -1; i < n; i++) {
        if (expect[i] == 0.0) {
            TT_ASSERT(count[i] == 0, "token %d drawn %d times outside the support", i, count[i]);
            continue;
        }
        chi2 += (count[i] - expect[i]) * (count[i] - expect[i]) / expect[i];
        df++;
    }
    /* for df degrees of freedom, chi2 > df + 8 sqrt(2 df) + 10 has a probability far below 1e-6 */
    TT_ASSERT(chi2 < df + 8.0 * sqrt(2.0 * df) + 10.0, "chi-square %.1f with %d degrees of freedom (support %d)", chi2, df, m);
    TT_ASSERT(m > 2, "support of only %d tokens", m);
    tfm_sampler_free(s);
    free(logits);
    free(ids);
    free(count);
    free(probs);
    free(expect);
}

static void test_frequencies(void)
{
    tfm_sampler_params p = params_off();
    int draws = tt_quick() ? 20000 : 200000; /* every expected count stays well above 5 either way */
    p.seed = 99;
    frequencies(16, &p, draws, 31); /* plain softmax */
    p.temperature = 0.8f;
    p.top_k = 10;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    frequencies(16, &p, draws, 32); /* every truncation, ranked order */
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 0.6f;
    p.min_p = 0.0f;
    frequencies(300, &p, draws, 33); /* top-p without top-k: the cutoff path */
}

/* ---------------------------------------------------------------- bad input */

static void test_invalid_parameters(void)
{
    tfm_sampler_params p;
    tfm_sampler *s = (tfm_sampler *)&s;
    tfm_error err;
    float logits[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    const int *ids;
    const float *probs;
    int token, n, i;
    struct {
        int which;
        float value;
    } bad[] = {{0, -1.0f}, {0, (float)NAN}, {0, (float)INFINITY}, {1, -1.0f}, {2, 0.0f}, {2, 1.5f}, {2, -0.1f},
               {2, (float)NAN}, {3, -0.1f}, {3, 1.1f}, {3, (float)NAN}, {4, 0.0f}, {4, -1.0f}, {4, (float)NAN},
               {4, (float)INFINITY}, {5, -1.0f}, {5, 1e6f}};
    for (i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
        tfm_sampler_params_default(&p);
        if (bad[i].which == 0) p.temperature = bad[i].value;
        if (bad[i].which == 1) p.top_k = (int)bad[i].value;
        if (bad[i].which == 2) p.top_p = bad[i].value;
        if (bad[i].which == 3) p.min_p = bad[i].value;
        if (bad[i].which == 4) p.repeat_penalty = bad[i].value;
        if (bad[i].which == 5) p.repeat_last_n = (int)bad[i].value;
        TT_ASSERT(tfm_sampler_create(&s, 4, &p, &err) == TFM_ERR_INVALID_ARGUMENT && s == NULL && err.message[0],
                  "bad parameter %d accepted", i);
    }
    tfm_sampler_params_default(&p);
    TT_CHECK(tfm_sampler_create(&s, 0, &p, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_sampler_create(&s, -3, &p, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_sampler_create(NULL, 4, &p, &err) == TFM_ERR_INVALID_ARGUMENT);
    /* edges that are valid: top_p 1, min_p 0 and 1, top_k above the vocab, params NULL */
    p.top_p = 1.0f;
    p.min_p = 1.0f;
    p.top_k = 100;
    TT_CHECK(tfm_sampler_create(&s, 4, &p, &err) == TFM_OK);
    TT_CHECK(tfm_sampler_sample(s, logits, &token, NULL) == TFM_OK && token == 3); /* min_p 1: only the max */
    /* NaN / +inf logits, all -inf, NULL */
    logits[1] = (float)NAN;
    TT_CHECK(tfm_sampler_sample(s, logits, &token, &err) == TFM_ERR_INVALID_ARGUMENT && token == -1);
    TT_ASSERT(err.status == TFM_ERR_INVALID_ARGUMENT && strstr(err.message, "logit 1 is NaN"), "'%s'", err.message);
    logits[1] = (float)INFINITY;
    TT_CHECK(tfm_sampler_candidates(s, logits, &ids, &probs, &n, &err) == TFM_ERR_INVALID_ARGUMENT && n == 0);
    TT_ASSERT(strstr(err.message, "logit 1 is +inf"), "'%s'", err.message);
    for (i = 0; i < 4; i++) logits[i] = -(float)INFINITY;
    TT_CHECK(tfm_sampler_sample(s, logits, &token, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_ASSERT(strstr(err.message, "every logit is -inf"), "'%s'", err.message);
    TT_CHECK(tfm_sampler_sample(s, NULL, &token, &err) == TFM_ERR_INVALID_ARGUMENT && err.message[0]);
    TT_CHECK(tfm_sampler_sample(s, logits, NULL, NULL) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_sampler_sample(NULL, logits, &token, NULL) == TFM_ERR_INVALID_ARGUMENT);
    tfm_sampler_free(s);
    p.temperature = 0.0f;
    TT_CHECK(tfm_sampler_create(&s, 4, &p, &err) == TFM_OK);
    TT_CHECK(tfm_sampler_sample(s, logits, &token, &err) == TFM_ERR_INVALID_ARGUMENT); /* greedy on all -inf */
    TT_ASSERT(strstr(err.message, "every logit is -inf"), "'%s'", err.message);
    logits[0] = 1.0f;
    TT_CHECK(tfm_sampler_sample(s, logits, &token, &err) == TFM_OK && token == 0 && err.status == TFM_OK && !err.message[0]);
    tfm_sampler_free(s);
    TT_CHECK(tfm_sampler_create(&s, 4, NULL, &err) == TFM_OK);
    tfm_sampler_free(s);
    tfm_sampler_free(NULL);
}

int main(void)
{
    TT_RUN(test_rng_stream);
    TT_RUN(test_greedy_is_argmax);
    TT_RUN(test_temperature);
    TT_RUN(test_top_k);
    TT_RUN(test_top_p);
    TT_RUN(test_min_p);
    TT_RUN(test_repetition_penalty);
    TT_RUN(test_all_stages);
    TT_RUN(test_penalty_window);
    TT_RUN(test_same_seed_same_stream);
    TT_RUN(test_frequencies);
    TT_RUN(test_invalid_parameters);
    return tt_summary("sampler");
}

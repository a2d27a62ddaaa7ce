/* tfm_sampler.h - next-token sampling of tfm: greedy, temperature, top-k, top-p, min-p, repetition penalty.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     A sampler turns one row of logits into a token id. It owns all its scratch (sized to the vocab
     when it is created), so sampling never allocates. Its random numbers come from a seeded
     xorshift64* generator with integer-only state updates: a seed gives the same stream on every
     platform (it is llama2.c's generator: for a nonzero seed the stream equals llama2.c's `-s seed`).

   USAGE
       tfm_sampler_params p;
       tfm_sampler *s;
       tfm_error err;
       tfm_sampler_params_default(&p);
       p.temperature = 0.8f; p.top_p = 0.95f; p.seed = 42;
       if (tfm_sampler_create(&s, vocab_size, &p, &err) != TFM_OK) { puts(err.message); ... }
       for (each prompt token t) tfm_sampler_accept(s, t);     (only matters for the repetition penalty)
       tfm_sampler_sample(s, logits, &token, &err);             (records token for the penalty itself)
       tfm_sampler_free(s);
     In exactly one file #define TFM_IMPLEMENTATION before the include (see tfm_tensor.h).

   ORDER OF THE STAGES (llama.cpp's default order)
     1. repetition penalty: every distinct token among the last repeat_last_n accepted tokens has its
        logit divided by repeat_penalty when positive, multiplied when negative (CTRL / llama.cpp).
     2. temperature 0: the token with the highest penalized logit (the lowest id among equals); no
        random number is drawn. Otherwise:
     3. top-k: the k highest logits (ties: lower id first).
     4. top-p: with the softmax of those logits (temperature 1), the shortest prefix of them in
        decreasing order whose probability sums to at least top_p.
     5. min-p: of those, the tokens whose probability is at least min_p times the largest.
     6. temperature: softmax of the remaining logits divided by the temperature; one uniform draw
        in [0, 1) picks the token by cumulative probability.
     The truncations come before the temperature, so a high temperature spreads probability only
     over tokens that were plausible to begin with. Logits may be -inf (masked); NaN or +inf logits
     are an error.
     top-p does not sort the vocab: without top-k it drops the tokens below llama2.c's cutoff (a token
     of the nucleus has probability >= (1 - top_p) / (n - 1)), then finds the nucleus among the rest
     by repeated partition around a pivot (quickselect on probability mass), expected O(n), falling
     back to a sort of what is left if the pivots are unlucky.
*/
#ifndef TFM_SAMPLER_H
#define TFM_SAMPLER_H

#include "tfm_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* xorshift64* (Vigna), llama2.c's random_u32/random_f32. */
typedef struct tfm_rng {
    uint64_t state;
} tfm_rng;

/* Seeds the generator; seed 0 (which would stay 0 forever) is replaced by a fixed nonzero constant. */
TFM_API void tfm_rng_seed(tfm_rng *rng, uint64_t seed);
TFM_API uint32_t tfm_rng_u32(tfm_rng *rng);
/* Uniform in [0, 1): the top 24 bits of tfm_rng_u32 over 2^24. */
TFM_API float tfm_rng_float(tfm_rng *rng);

typedef struct tfm_sampler_params {
    float temperature;    /* >= 0; 0: greedy */
    int top_k;            /* >= 0; 0: off */
    float top_p;          /* in (0, 1]; 1: off */
    float min_p;          /* in [0, 1]; 0: off */
    float repeat_penalty; /* > 0; 1: off */
    int repeat_last_n;    /* tokens the penalty looks back on, 0..65536; 0: off */
    uint64_t seed;
} tfm_sampler_params;

/* Fills p with the defaults: temperature 1, top_p 0.9 (llama2.c's defaults), top_k 0, min_p 0,
   repeat_penalty 1, repeat_last_n 64, seed 0. */
TFM_API void tfm_sampler_params_default(tfm_sampler_params *p);

typedef struct tfm_sampler tfm_sampler;

/* A sampler for vocab_size (1 .. 2^24) logits. Invalid parameters: TFM_ERR_INVALID_ARGUMENT and the
   reason in err. params NULL: the defaults. */
TFM_API tfm_status tfm_sampler_create(tfm_sampler **out, int vocab_size, const tfm_sampler_params *params,
                                      tfm_error *err);
TFM_API void tfm_sampler_free(tfm_sampler *s);
/* Forgets the accepted tokens and reseeds with params.seed: the same stream starts again. */
TFM_API void tfm_sampler_reset(tfm_sampler *s);

/* Records token in the repetition-penalty window (call it for prompt tokens; sample does it for the
   tokens it returns). Fails with TFM_ERR_OUT_OF_RANGE for an id outside the vocab. */
TFM_API tfm_status tfm_sampler_accept(tfm_sampler *s, int token);
/* Samples a token from logits[vocab_size] (not modified) and records it. A NaN or +inf logit, or every
   logit -inf, is TFM_ERR_INVALID_ARGUMENT with the reason in err (may be NULL); *token is then -1. */
TFM_API tfm_status tfm_sampler_sample(tfm_sampler *s, const float *logits, int *token, tfm_error *err);
/* The distribution sample would draw from: *n tokens, their ids and probabilities (summing to 1),
   in decreasing probability with top-k, else in an unspecified (but deterministic) order. The arrays
   belong to the sampler and stay valid until its next call. Draws no random number, records nothing.
   Fails as tfm_sampler_sample does. */
TFM_API tfm_status tfm_sampler_candidates(tfm_sampler *s, const float *logits, const int **ids, const float **probs,
                                          int *n, tfm_error *err);

#ifdef __cplusplus
}
#endif

#endif /* TFM_SAMPLER_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_SAMPLER_IMPLEMENTATION_DONE)
#define TFM_SAMPLER_IMPLEMENTATION_DONE

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- rng */

void tfm_rng_seed(tfm_rng *rng, uint64_t seed) { rng->state = seed ? seed : 0x9E3779B97F4A7C15ull; }

uint32_t tfm_rng_u32(tfm_rng *rng)
{
    rng->state ^= rng->state >> 12;
    rng->state ^= rng->state << 25;
    rng->state ^= rng->state >> 27;
    return (uint32_t)((rng->state * 0x2545F4914F6CDD1Dull) >> 32);
}

float tfm_rng_float(tfm_rng *rng) { return (float)(tfm_rng_u32(rng) >> 8) / 16777216.0f; }

/* ---------------------------------------------------------------- sampler */

typedef struct tfm__samp_cand {
    float value; /* a logit, then a probability */
    int id;
} tfm__samp_cand;

struct tfm_sampler {
    tfm_sampler_params params;
    int n_vocab;
    tfm_rng rng;
    float *logits;         /* the penalized copy */
    float *weight;         /* e^(logit - max logit) of each candidate id, for top-p */
    tfm__samp_cand *cand;  /* the candidates of the stages */
    int *out_ids;          /* tfm_sampler_candidates' arrays; out_probs is also the stages' scratch */
    float *out_probs;
    unsigned char *seen;   /* marks the tokens already penalized in this call */
    int *history;          /* ring of the last repeat_last_n accepted tokens */
    int history_pos, history_count;
};

void tfm_sampler_params_default(tfm_sampler_params *p)
{
    if (!p) return;
    p->temperature = 1.0f;
    p->top_k = 0;
    p->top_p = 0.9f;
    p->min_p = 0.0f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->seed = 0;
}

static tfm_status tfm__samp_check(const tfm_sampler_params *p, tfm_error *err)
{
    if (!(p->temperature >= 0.0f && p->temperature <= 3.0e38f))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "temperature %g must be finite and >= 0", p->temperature);
    if (p->top_k < 0) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "top_k %d must be >= 0", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "top_p %g must be in (0, 1]", p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "min_p %g must be in [0, 1]", p->min_p);
    if (!(p->repeat_penalty > 0.0f && p->repeat_penalty <= 3.0e38f))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "repeat_penalty %g must be finite and > 0",
                             p->repeat_penalty);
    if (p->repeat_last_n < 0 || p->repeat_last_n > 65536)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "repeat_last_n %d must be in 0..65536", p->repeat_last_n);
    return TFM_OK;
}

void tfm_sampler_free(tfm_sampler *s)
{
    if (!s) return;
    TFM_FREE(s->logits);
    TFM_FREE(s->weight);
    TFM_FREE(s->cand);
    TFM_FREE(s->out_ids);
    TFM_FREE(s->out_probs);
    TFM_FREE(s->seen);
    TFM_FREE(s->history);
    TFM_FREE(s);
}

tfm_status tfm_sampler_create(tfm_sampler **out, int vocab_size, const tfm_sampler_params *params, tfm_error *err)
{
    tfm_sampler *s;
    tfm_sampler_params p;
    tfm_status st;
    size_t n = (size_t)vocab_size;
    tfm_error_clear(err);
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output sampler");
    *out = NULL;
    if (params) p = *params;
    else tfm_sampler_params_default(&p);
    if (vocab_size <= 0 || vocab_size > (1 << 24))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "vocab size %d must be in 1..%d", vocab_size, 1 << 24);
    if ((st = tfm__samp_check(&p, err)) != TFM_OK) return st;
    s = (tfm_sampler *)TFM_MALLOC(sizeof *s);
    if (!s) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(s, 0, sizeof *s);
    s->params = p;
    s->n_vocab = vocab_size;
    s->logits = (float *)TFM_MALLOC(n * sizeof *s->logits);
    s->weight = (float *)TFM_MALLOC(n * sizeof *s->weight);
    s->cand = (tfm__samp_cand *)TFM_MALLOC(n * sizeof *s->cand);
    s->out_ids = (int *)TFM_MALLOC(n * sizeof *s->out_ids);
    s->out_probs = (float *)TFM_MALLOC(n * sizeof *s->out_probs);
    s->seen = (unsigned char *)TFM_MALLOC(n);
    s->history = (int *)TFM_MALLOC((size_t)(p.repeat_last_n > 0 ? p.repeat_last_n : 1) * sizeof *s->history);
    if (!s->logits || !s->weight || !s->cand || !s->out_ids || !s->out_probs || !s->seen || !s->history) {
        tfm_sampler_free(s);
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for a vocab of %d", vocab_size);
    }
    memset(s->seen, 0, n);
    tfm_sampler_reset(s);
    *out = s;
    return TFM_OK;
}

void tfm_sampler_reset(tfm_sampler *s)
{
    if (!s) return;
    s->history_pos = s->history_count = 0;
    tfm_rng_seed(&s->rng, s->params.seed);
}

tfm_status tfm_sampler_accept(tfm_sampler *s, int token)
{
    if (!s) return TFM_ERR_INVALID_ARGUMENT;
    if (token < 0 || token >= s->n_vocab) return TFM_ERR_OUT_OF_RANGE;
    if (s->params.repeat_last_n == 0) return TFM_OK;
    s->history[s->history_pos] = token;
    s->history_pos = (s->history_pos + 1) % s->params.repeat_last_n;
    if (s->history_count < s->params.repeat_last_n) s->history_count++;
    return TFM_OK;
}

/* Copies logits into s->logits with the repetition penalty applied once per distinct recent token. */
static tfm_status tfm__samp_penalize(tfm_sampler *s, const float *logits, tfm_error *err)
{
    float pen = s->params.repeat_penalty;
    int i;
    int bad = 0;
    for (i = 0; i < s->n_vocab; i++) { /* branch-free, so it vectorizes */
        bad |= !(logits[i] < INFINITY); /* NaN or +inf */
        s->logits[i] = logits[i];
    }
    if (bad) {
        for (i = 0; i < s->n_vocab && logits[i] < INFINITY; i++) {
        }
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "logit %d is %s: the logits are not finite", i,
                             logits[i] != logits[i] ? "NaN" : "+inf");
    }
    if (pen == 1.0f) return TFM_OK;
    for (i = 0; i < s->history_count; i++) {
        int t = s->history[i];
        if (s->seen[t]) continue;
        s->seen[t] = 1;
        s->logits[t] = s->logits[t] > 0.0f ? s->logits[t] / pen : s->logits[t] * pen;
    }
    for (i = 0; i < s->history_count; i++) s->seen[s->history[i]] = 0;
    return TFM_OK;
}

/* a ranks before b: higher logit, then lower id */
static int tfm__samp_before(const tfm__samp_cand *a, const tfm__samp_cand *b)
{
    return a->value > b->value || (a->value == b->value && a->id < b->id);
}

static int tfm__samp_cmp(const void *x, const void *y)
{
    const tfm__samp_cand *a = (const tfm__samp_cand *)x, *b = (const tfm__samp_cand *)y;
    return tfm__samp_before(a, b) ? -1 : tfm__samp_before(b, a) ? 1 : 0;
}

/* The k best of the logits into cand[0..k), best first: a heap whose root is the worst kept. */
static void tfm__samp_top_k(tfm_sampler *s, int k)
{
    tfm__samp_cand *h = s->cand;
    int i, n = 0;
    for (i = 0; i < s->n_vocab; i++) {
        tfm__samp_cand c;
        int j = 0;
        c.value = s->logits[i];
        c.id = i;
        if (n < k) { /* sift up */
            for (j = n++; j > 0 && tfm__samp_before(&h[(j - 1) / 2], &c); j = (j - 1) / 2) h[j] = h[(j - 1) / 2];
            h[j] = c;
            continue;
        }
        if (!tfm__samp_before(&c, &h[0])) continue;
        for (;;) { /* replace the root, sift down */
            int child = 2 * j + 1;
            if (child >= k) break;
            if (child + 1 < k && tfm__samp_before(&h[child], &h[child + 1])) child++;
            if (!tfm__samp_before(&c, &h[child])) break;
            h[j] = h[child];
            j = child;
        }
        h[j] = c;
    }
    qsort(h, (size_t)k, sizeof *h, tfm__samp_cmp);
}

/* Reorders cand[lo, hi) around the pivot cand[piv]: the entries ranking before it first, then it, then
   the rest. Returns the pivot's new index; *mass = the weight of the entries before it. */
static int tfm__samp_partition(tfm__samp_cand *cand, const float *weight, int lo, int hi, int piv, double *mass)
{
    tfm__samp_cand pivot = cand[piv], tmp;
    double m = 0.0;
    int i, store = lo;
    cand[piv] = cand[hi - 1];
    for (i = lo; i < hi - 1; i++)
        if (tfm__samp_before(&cand[i], &pivot)) {
            m += weight[cand[i].id];
            tmp = cand[i];
            cand[i] = cand[store];
            cand[store++] = tmp;
        }
    cand[hi - 1] = cand[store];
    cand[store] = pivot;
    *mass = m;
    return store;
}

/* The median of cand[a], cand[b], cand[c] in rank order. */
static int tfm__samp_median3(const tfm__samp_cand *cand, int a, int b, int c)
{
    if (tfm__samp_before(&cand[b], &cand[a])) {
        int t = a;
        a = b;
        b = t;
    }
    if (tfm__samp_before(&cand[c], &cand[b])) b = tfm__samp_before(&cand[c], &cand[a]) ? a : c;
    return b;
}

/* The size of the nucleus of cand[0, n) with weight[] summing to z: the shortest prefix in rank order
   whose probability reaches top_p, gathered at the front of cand (ranked when sorted, else in no
   particular order). */
static int tfm__samp_top_p(tfm__samp_cand *cand, int n, int sorted, const float *weight, double z, float top_p)
{
    double need = top_p * z, cum = 0.0;
    int lo = 0, hi = n, rounds = 0, i;
    if (!sorted && n > 1) {
        /* llama2.c's cutoff: a token of the nucleus has probability >= (1 - top_p) / (n - 1), else the
           tokens from it on would hold more than 1 - top_p; half of it leaves a margin for rounding */
        float cutoff = (float)(0.5 * (1.0 - top_p) / (double)(n - 1) * z);
        for (i = 0, hi = 0; i < n; i++)
            if (weight[cand[i].id] >= cutoff) cand[hi++] = cand[i];
    }
    while (!sorted && hi - lo > 32) {
        double mass;
        int piv = tfm__samp_partition(cand, weight, lo, hi, tfm__samp_median3(cand, lo, lo + (hi - lo) / 2, hi - 1),
                                      &mass);
        if (cum + mass >= need) {
            hi = piv; /* the nucleus ends before the pivot */
        } else {
            cum += mass + weight[cand[piv].id];
            if (cum >= need) return piv + 1;
            lo = piv + 1;
        }
        if (++rounds > 64) break; /* unlucky pivots: sort the rest */
    }
    if (!sorted) qsort(cand + lo, (size_t)(hi - lo), sizeof *cand, tfm__samp_cmp);
    for (i = lo; i < hi; i++) {
        cum += weight[cand[i].id];
        if (cum >= need) return i + 1;
    }
    return hi;
}

/* The stages up to the final distribution: s->cand[0..*n) with weights proportional to their
   probabilities, summing to *total (softmax's own normalisation is only as good as a float sum). */
static tfm_status tfm__samp_prepare(tfm_sampler *s, const float *logits, int *n_out, double *total, tfm_error *err)
{
    double part[4] = {0.0, 0.0, 0.0, 0.0};
    const tfm_sampler_params *p = &s->params;
    int i, n = 0, sorted = 0;
    tfm_status st;
    if ((st = tfm__samp_penalize(s, logits, err)) != TFM_OK) return st;
    if (p->temperature == 0.0f) {
        size_t best = tfm_argmax(s->logits, (size_t)s->n_vocab); /* the first maximum */
        if (s->logits[best] == -INFINITY)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "every logit is -inf: no token to pick");
        s->cand[0].id = (int)best;
        s->cand[0].value = 1.0f;
        *n_out = 1;
        *total = 1.0;
        return TFM_OK;
    }
    if (p->top_k > 0 && p->top_k < s->n_vocab) {
        tfm__samp_top_k(s, p->top_k);
        for (n = p->top_k; n > 0 && s->cand[n - 1].value == -INFINITY; n--) {
        }
        sorted = 1;
    } else {
        for (i = 0; i < s->n_vocab; i++)
            if (s->logits[i] > -INFINITY) {
                s->cand[n].value = s->logits[i];
                s->cand[n++].id = i;
            }
    }
    if (n == 0) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "every logit is -inf: no token to pick");
    if (p->top_p < 1.0f) {
        double z = 0.0;
        for (i = 0; i < n; i++) s->out_probs[i] = s->cand[i].value;
        tfm__softmax(s->out_probs, (size_t)n);
        for (i = 0; i < n; i++) {
            s->weight[s->cand[i].id] = s->out_probs[i];
            z += s->out_probs[i];
        }
        n = tfm__samp_top_p(s->cand, n, sorted, s->weight, z, p->top_p);
    }
    if (p->min_p > 0.0f) {
        float max = s->cand[0].value, floor_logit;
        int m = 0;
        for (i = 1; i < n; i++)
            if (s->cand[i].value > max) max = s->cand[i].value;
        floor_logit = max + logf(p->min_p);
        for (i = 0; i < n; i++)
            if (s->cand[i].value >= floor_logit) s->cand[m++] = s->cand[i];
        n = m;
    }
    TFM_ASSERT(n > 0); /* the largest logit survives every stage */
    for (i = 0; i < n; i++) s->out_probs[i] = s->cand[i].value * (1.0f / p->temperature);
    tfm__softmax(s->out_probs, (size_t)n);
    for (i = 0; i < n; i++) { /* four partial sums: no chain of dependent additions */
        s->cand[i].value = s->out_probs[i];
        part[i & 3] += s->out_probs[i];
    }
    *n_out = n;
    *total = (part[0] + part[1]) + (part[2] + part[3]);
    return TFM_OK;
}

tfm_status tfm_sampler_candidates(tfm_sampler *s, const float *logits, const int **ids, const float **probs, int *n,
                                  tfm_error *err)
{
    int i, m;
    double total;
    tfm_status st;
    tfm_error_clear(err);
    if (n) *n = 0;
    if (!s || !logits || !ids || !probs || !n)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_sampler_candidates: no sampler, logits or output");
    if ((st = tfm__samp_prepare(s, logits, &m, &total, err)) != TFM_OK) return st;
    for (i = 0; i < m; i++) {
        s->out_ids[i] = s->cand[i].id;
        s->out_probs[i] = (float)(s->cand[i].value / total);
    }
    *ids = s->out_ids;
    *probs = s->out_probs;
    *n = m;
    return TFM_OK;
}

tfm_status tfm_sampler_sample(tfm_sampler *s, const float *logits, int *token, tfm_error *err)
{
    int m, pick = 0;
    double total;
    tfm_status st;
    tfm_error_clear(err);
    if (token) *token = -1;
    if (!s || !logits || !token)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_sampler_sample: no sampler, logits or token");
    if ((st = tfm__samp_prepare(s, logits, &m, &total, err)) != TFM_OK) return st;
    if (s->params.temperature > 0.0f) {
        double target = tfm_rng_float(&s->rng) * total, cdf = 0.0;
        for (pick = 0; pick < m - 1; pick++) {
            cdf += s->cand[pick].value;
            if (target < cdf) break;
        }
        while (pick > 0 && s->cand[pick].value == 0.0f) pick--; /* rounding never picks a token of weight 0 */
    }
    *token = s->cand[pick].id;
    st = tfm_sampler_accept(s, *token);
    return st == TFM_OK ? TFM_OK : tfm_error_set(err, st, "token %d: %s", *token, tfm_status_string(st));
}

#ifdef __cplusplus
}
#endif

#endif /* TFM_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
ALTERNATIVE A - MIT License. Copyright (c) 2026 the tfm authors. Permission is hereby granted, free
of charge, to any person obtaining a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following conditions: The
above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
ALTERNATIVE B - Public Domain (www.unlicense.org). Anyone is free to copy, modify, publish, use,
compile, sell, or distribute this software, for any purpose, commercial or non-commercial.
------------------------------------------------------------------------------
*/

/* bench_kv.c - a model's prefill and decode at a long context, per attention variant and KV cache
   type (tfm-bench kv).

     tfm-bench kv -m MODEL --depth 896 -n 64 --kv f32,i8 [--attn "flash;window:128"] [--threads 1,2]
                  [--reps 3] [--csv]

   Every attention spec of --attn (separated by ';': BigBird's take commas) with every KV type of --kv.
   pp_tok_s  a prompt of --depth tokens in one tfm_forward call, from an empty cache
   tg_tok_s  then -n tokens decoded one at a time: positions depth .. depth + n - 1
   Every rep runs each combination in turn (best of --reps after one warm-up round), so the ratios
   (tg_ratio, pp_ratio: over the first combination) are measured side by side on the same machine.
   kv_mb is the memory of the caches; kv_mb_tok what one decode step reads of them on average (every
   visible K and V row of every layer, MB = 1e6 bytes); weight_gb what it reads of the weights. gbps = (weights + KV
   read) x tg_tok_s, beside the machine's streaming read bandwidth: decode is memory-bound, so the int8
   cache helps in proportion to the share of the KV bytes in what a step reads. */
#include "bench.h"

#include "../examples/model_sources.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_MAX_TYPES 2
#define KV_MAX_ATTN 8
#define KV_MAX_RUNS (KV_MAX_TYPES * KV_MAX_ATTN)

typedef struct kv_run {
    tfm_context *ctx;
    const int *tokens;
    int depth, n, vocab;
    float *logits;
    tfm_status status;
    tfm_error err;
} kv_run;

static void kv_prefill(kv_run *r)
{
    tfm_context_reset(r->ctx);
    r->status = tfm_forward(r->ctx, r->tokens, r->depth, r->logits, TFM_LOGITS_LAST, &r->err);
}

/* greedy, from the prefilled cache */
static void kv_decode(kv_run *r)
{
    int token = (int)tfm_argmax(r->logits, (size_t)r->vocab), i;
    for (i = 0; i < r->n && r->status == TFM_OK; i++) {
        r->status = tfm_forward(r->ctx, &token, 1, r->logits, TFM_LOGITS_LAST, &r->err);
        token = (int)tfm_argmax(r->logits, (size_t)r->vocab);
    }
}

/* Keys a query at position pos sees in a layer of this config. */
static double kv_visible(const tfm_attn_config *cfg, int pos)
{
    double keys = pos + 1;
    if (cfg->kind == TFM_ATTN_WINDOW && cfg->window < keys) keys = cfg->window;
    if (cfg->kind == TFM_ATTN_BIGBIRD) {
        int nb = tfm_attn_bigbird_blocks(cfg, pos + 1), j, last = pos / cfg->bigbird.block;
        unsigned char *mask = (unsigned char *)malloc((size_t)nb * (size_t)nb);
        keys = 0;
        if (mask && tfm_attn_bigbird_mask(cfg, pos + 1, mask, (size_t)nb * (size_t)nb) == TFM_OK)
            for (j = 0; j < nb; j++)
                if (mask[(size_t)last * (size_t)nb + (size_t)j])
                    keys += j == last ? pos - (double)j * cfg->bigbird.block + 1 : cfg->bigbird.block;
        free(mask);
    }
    return keys;
}

/* Average KV bytes one decode step reads over positions depth .. depth + n - 1. */
static double kv_bytes_per_token(const tfm_context *ctx, int depth, int n)
{
    double bytes = 0;
    int l, pos;
    for (l = 0; l < tfm_context_model(ctx)->config.n_layers; l++) {
        const tfm_kv_cache *kv = tfm_context_layer_cache(ctx, l);
        double row = kv->capacity ? (double)tfm_kv_cache_bytes(kv) / kv->capacity : 0;
        for (pos = depth; pos < depth + n; pos++) bytes += row * kv_visible(tfm_context_layer_attn(ctx, l), pos) / n;
    }
    return bytes;
}

static int kv_parse_types(const char *list, tfm_dtype *types)
{
    int n = 0;
    const char *p = list;
    while (*p && n < KV_MAX_TYPES) {
        size_t len = strcspn(p, ",");
        if (len == 3 && !strncmp(p, "f32", 3)) types[n++] = TFM_F32;
        else if (len == 2 && !strncmp(p, "i8", 2)) types[n++] = TFM_I8;
        else return 0;
        p += len;
        if (*p == ',') p++;
    }
    return *p ? 0 : n;
}

/* Splits a ';'-separated list into at most KV_MAX_ATTN specs of buf; returns how many (0: too many). */
static int kv_parse_attn(const char *list, char *buf, size_t cap, const char **specs)
{
    int n = 0;
    char *p;
    if (strlen(list) >= cap) return 0;
    strcpy(buf, list);
    for (p = buf; n < KV_MAX_ATTN;) {
        specs[n++] = p;
        p = strchr(p, ';');
        if (!p) return n;
        *p++ = '\0';
    }
    return 0;
}

int bench_kv(int argc, char **argv)
{
    const char *path = bench_arg_str(argc, argv, "-m", NULL), *attn_list = bench_arg_str(argc, argv, "--attn", "flash");
    const char *kv_list = bench_arg_str(argc, argv, "--kv", "f32,i8");
    long depth = bench_arg_int(argc, argv, "--depth", 896), n = bench_arg_int(argc, argv, "-n", 64);
    long reps = bench_arg_int(argc, argv, "--reps", 3);
    int csv = bench_flag(argc, argv, "--csv"), threads[8], n_threads, n_types, n_attn, n_runs, i, k, rep, failed = 0;
    int *prompt;
    tfm_dtype types[KV_MAX_TYPES];
    const char *specs[KV_MAX_ATTN];
    char spec_buf[512];
    const char *name;
    tfm_model *model;
    tfm_error err;
    float *logits;
    if (!bench_check_args(argc, argv, "-m -n --depth --kv --attn --threads --reps", "--csv")) return 2;
    n_threads = bench_threads(argc, argv, threads, 8);
    n_types = kv_parse_types(kv_list, types);
    n_attn = kv_parse_attn(attn_list, spec_buf, sizeof spec_buf, specs);
    n_runs = n_types * n_attn;
    if (!n_threads) return 2;
    if (!n_types || !n_attn) {
        fprintf(stderr, "kv: --kv wants a list of f32 and i8, --attn at most %d specs separated by ';'\n", KV_MAX_ATTN);
        return 2;
    }
    if (!path) {
        printf("kv: no model (-m MODEL, e.g. one written by tfm-synth --shape stories110M): skipped\n");
        return 0;
    }
    if (depth < 1 || n < 1 || reps < 1 || depth + n > (1L << 24)) {
        fprintf(stderr, "kv: --depth and -n positive, --reps positive\n");
        return 2;
    }
    if (!model_source_check("tfm-bench kv", path)) return 1;
    if (tfm_model_load(path, NULL, &model, &err) != TFM_OK) {
        fprintf(stderr, "kv: %s\n", err.message);
        return 1;
    }
    name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    prompt = (int *)malloc(sizeof(int) * (size_t)depth);
    logits = (float *)malloc(sizeof(float) * (size_t)model->config.vocab_size);
    if (!prompt || !logits) {
        fprintf(stderr, "kv: out of memory\n");
        free(prompt), free(logits);
        tfm_model_free(model);
        return 1;
    }
    prompt[0] = 1; /* BOS, then a fixed pseudo-random text: the work does not depend on the tokens */
    for (i = 1; i < depth; i++) prompt[i] = (int)((1103515245u * (unsigned)i + 12345u) % (unsigned)model->config.vocab_size);

    for (i = 0; i < n_threads && !failed; i++) {
        const bench_ceiling *ceil = bench_ceiling_get(threads[i]);
        kv_run r[KV_MAX_RUNS];
        double pp[KV_MAX_RUNS], tg[KV_MAX_RUNS], weight_gb = (double)tfm_model_weight_bytes(model) * 1e-9;
        memset(r, 0, sizeof r);
        for (k = 0; k < n_runs && !failed; k++) {
            tfm_context_params params;
            memset(&params, 0, sizeof params);
            params.context_length = (int)(depth + n);
            params.max_batch = (int)depth;
            params.n_threads = threads[i];
            params.attn = specs[k / n_types];
            params.kv_type = types[k % n_types];
            if (tfm_context_create(model, &params, &r[k].ctx, &err) != TFM_OK) {
                fprintf(stderr, "kv: %s\n", err.message);
                failed = 1;
            }
            r[k].tokens = prompt;
            r[k].depth = (int)depth;
            r[k].n = (int)n;
            r[k].vocab = model->config.vocab_size;
            r[k].logits = logits;
            pp[k] = tg[k] = 0;
        }
        for (rep = -1; rep < reps && !failed; rep++)
            for (k = 0; k < n_runs && !failed; k++) {
                double t = bench_now();
                kv_prefill(&r[k]);
                t = bench_now() - t;
                if (rep >= 0 && (double)depth / t > pp[k]) pp[k] = (double)depth / t; /* round -1 warms up */
                t = bench_now();
                kv_decode(&r[k]);
                t = bench_now() - t;
                if (rep >= 0 && (double)n / t > tg[k]) tg[k] = (double)n / t;
                if (r[k].status != TFM_OK) {
                    fprintf(stderr, "kv: %s\n", r[k].err.message);
                    failed = 1;
                }
            }
        for (k = 0; k < n_runs && !failed; k++) {
            double kv_mb = 0, kv_gb = kv_bytes_per_token(r[k].ctx, (int)depth, (int)n) * 1e-9;
            bench_row row;
            int l;
            for (l = 0; l < model->config.n_layers; l++) kv_mb += (double)tfm_kv_cache_bytes(tfm_context_layer_cache(r[k].ctx, l)) / (1 << 20);
            bench_row_init(&row);
            bench_row_str(&row, "model", name);
            bench_row_int(&row, "threads", threads[i]);
            bench_row_str(&row, "attn", specs[k / n_types]);
            bench_row_str(&row, "kv", types[k % n_types] == TFM_I8 ? "i8" : "f32");
            bench_row_int(&row, "depth", depth);
            bench_row_int(&row, "tg", n);
            bench_row_num(&row, "pp_tok_s", pp[k], 1);
            bench_row_num(&row, "tg_tok_s", tg[k], 1);
            bench_row_num(&row, "pp_ratio", pp[k] / pp[0], 3);
            bench_row_num(&row, "tg_ratio", tg[k] / tg[0], 3);
            bench_row_num(&row, "kv_mb", kv_mb, 1);
            bench_row_num(&row, "kv_mb_tok", kv_gb * 1e3, 3);
            bench_row_num(&row, "weight_gb", weight_gb, 3);
            bench_row_num(&row, "gbps", (weight_gb + kv_gb) * tg[k], 1);
            bench_row_num(&row, "read_bw", ceil->read_gbps, 1);
            bench_row_num(&row, "pct_read_bw", bench_pct((weight_gb + kv_gb) * tg[k], ceil->read_gbps), 1);
            bench_row_print(&row, csv, i == 0 && k == 0);
        }
        for (k = 0; k < n_runs; k++) tfm_context_free(r[k].ctx);
    }
    free(prompt), free(logits);
    tfm_model_free(model);
    return failed;
}

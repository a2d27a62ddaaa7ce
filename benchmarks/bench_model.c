/* bench_model.c - end-to-end tokens/s of a model file (tfm-bench model).

     tfm-bench model -m MODEL -p 128 -n 128 --threads 1,2 [--reps 3] [--csv] [--no-mmap] [--no-pack]
                     [--llama2c PATH/TO/run -z TOKENIZER | --llama-bench PATH/TO/llama-bench]
     tfm-bench model -m MODEL -n 128 --parallel N [--batched-bench PATH/TO/llama-batched-bench]

   pp_tok_s  a p-token prompt in one tfm_forward call (one gemm per weight matrix) on an empty cache
   tg_tok_s  n tokens decoded one at a time (one gemv per matrix) from an empty cache, greedy
   These are the two tests of llama.cpp's `llama-bench -p 128 -n 128`. Best of --reps runs (after one
   warm-up).
   weight_gb is what one decode step reads (tfm_model_weight_bytes); tg_gbps = weight_gb x tg_tok_s,
   beside the machine's streaming read bandwidth (read_bw): decoding is memory-bound, so pct_read_bw
   near 100 is the ceiling. A model smaller than the last-level cache can exceed it.
   A mixture-of-experts model counts the router and k of E experts per layer (what a token reads), and
   its routing statistics over the first thread count's runs go to stderr after that row.

   --llama2c runs karpathy/llama2.c's `run` binary on the same file as the baseline, right after ours
   with the same thread count (OMP_NUM_THREADS): its decode rate (`-n n+1`, BOS only as prompt) and its
   prompt rate (a prompt of p tokens, which run.c feeds one token at a time), parsed from its
   "achieved tok/s" line. Each rep runs ours then the baseline, so both see the same machine; best of
   --reps; pp_ratio and tg_ratio are ours over its.
   --parallel N decodes N sequences side by side (tfm_forward_batch: each weight matrix read once a
   step for all N): tg_tok_s is then the total over the N, tg1_tok_s one sequence alone, speedup their
   ratio; --batched-bench runs llama.cpp's llama-batched-bench -npp 1 -ntg n -npl N after ours in each
   rep (its S_TG: lcpp_tg_tok_s, tg_ratio ours over it). The step's limits beside them, in tok/s: mem_limit
   = N x read_bw / weight_gb (each weight read once a step for the N), int8_limit = int8_gops / (2 x the
   multiply-adds of a token through every matrix, the classifier's included; int8_gops: vpdpbusd's peak,
   measured), and pct_limit, tg_tok_s over the lower of the two.
   --llama-bench does the same with llama.cpp's llama-bench on a GGUF file (`-p P -n N -t T -r 1`, its own
   warm-up included): the same two tests, its avg_ts of each; columns lcpp_pp_tok_s and lcpp_tg_tok_s. */
#include "bench.h"

#include "../examples/model_sources.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct model_run {
    tfm_context *ctx;
    const int *tokens;
    int n;
    float *logits;
    int vocab;
    tfm_status status;
    tfm_error err;
} model_run;

static void run_prefill(void *p)
{
    model_run *r = (model_run *)p;
    tfm_context_reset(r->ctx);
    r->status = tfm_forward(r->ctx, r->tokens, r->n, r->logits, TFM_LOGITS_LAST, &r->err);
}

/* --parallel N: N sequences decoded side by side, one tfm_forward_batch step a token of each */
typedef struct parallel_run {
    tfm_context **ctxs;
    int n_seq, n;
    float *logits; /* [n_seq][vocab] */
    int vocab;
    tfm_status status;
    tfm_error err;
} parallel_run;

static void run_parallel_decode(void *p)
{
    parallel_run *r = (parallel_run *)p;
    int tokens[64], i, step;
    for (i = 0; i < r->n_seq; i++) {
        tfm_context_reset(r->ctxs[i]);
        tokens[i] = 1 + i; /* different sequences */
    }
    for (step = 0; step < r->n && r->status == TFM_OK; step++) {
        r->status = tfm_forward_batch(r->ctxs, tokens, r->n_seq, r->logits, &r->err);
        for (i = 0; i < r->n_seq; i++) tokens[i] = (int)tfm_argmax(r->logits + (size_t)i * (size_t)r->vocab, (size_t)r->vocab);
    }
}

/* llama.cpp's llama-batched-bench on the same file, -npp 1 -ntg n -npl n_seq: its text-generation
   speed S_TG (total tok/s over the sequences), 0 when it fails. */
static double batched_bench_rate(const char *bin, const char *model, int threads, int n_seq, int n)
{
    char cmd[2048], line[512];
    double rate = 0;
    FILE *f;
    if (strchr(bin, '\'') || strchr(model, '\'')) return 0;
    snprintf(cmd, sizeof cmd, "'%s' -m '%s' -c %d -b 2048 -ub 512 -npp 1 -ntg %d -npl %d -t %d -tb %d --no-mmap 2>/dev/null",
             bin, model, n_seq * (n + 8), n, n_seq, threads, threads);
    bench_sleep(0.2);
    f = popen(cmd, "r");
    /* |    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s | */
    while (f && fgets(line, sizeof line, f)) {
        double v[10];
        if (sscanf(line, " | %lf | %lf | %lf | %lf | %lf | %lf | %lf | %lf | %lf | %lf |", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7], &v[8], &v[9]) == 10 && (int)v[2] == n_seq)
            rate = v[7];
    }
    if (!f || pclose(f) != 0) {
        fprintf(stderr, "model: '%s' failed\n", bin);
        rate = 0;
    }
    return rate;
}

static void run_decode(void *p)
{
    model_run *r = (model_run *)p;
    int token = 1, i;
    tfm_context_reset(r->ctx);
    for (i = 0; i < r->n && r->status == TFM_OK; i++) {
        r->status = tfm_forward(r->ctx, &token, 1, r->logits, TFM_LOGITS_LAST, &r->err);
        token = (int)tfm_argmax(r->logits, (size_t)r->vocab);
    }
}

/* llama2.c's run on the same file: its "achieved tok/s" (0 when it fails). prompt_tokens > 1: a prompt of
   that many tokens (BOS + " the" repeated, one token each in the Llama vocab) and steps = its length, so
   every timed step is a prompt token; else no prompt and steps = 1 + n (run.c does not time step 1). */
static double llama2c_rate(const char *run, const char *model, const char *tokenizer, int threads, int prompt_tokens,
                           int n)
{
    char *cmd, *prompt, line[256];
    size_t cmd_size;
    double rate = 0;
    FILE *p;
    int i;
    if (strchr(run, '\'') || strchr(model, '\'') || strchr(tokenizer, '\'')) {
        fprintf(stderr, "model: paths with a quote are not supported for --llama2c\n");
        return 0;
    }
    prompt = (char *)malloc((size_t)prompt_tokens * 4 + 1);
    cmd_size = strlen(run) + strlen(model) + strlen(tokenizer) + (size_t)prompt_tokens * 4 + 128;
    cmd = (char *)malloc(cmd_size);
    if (!prompt || !cmd) {
        free(prompt), free(cmd);
        return 0;
    }
    prompt[0] = '\0';
    for (i = 1; i < prompt_tokens; i++) strcat(prompt, i > 1 ? " the" : "the");
    snprintf(cmd, cmd_size, "OMP_NUM_THREADS=%d '%s' '%s' -z '%s' -t 0 -n %d -i '%s' 2>&1 >/dev/null", threads, run,
             model, tokenizer, prompt_tokens > 1 ? prompt_tokens : n + 1, prompt);
    bench_sleep(0.2); /* our OpenMP workers stop spinning before the baseline starts */
    p = popen(cmd, "r");
    if (p) {
        while (fgets(line, sizeof line, p)) {
            double v;
            if (sscanf(line, "achieved tok/s: %lf", &v) == 1) rate = v;
        }
        if (pclose(p) != 0) {
            fprintf(stderr, "model: '%s' failed\n", run);
            rate = 0;
        }
    }
    free(prompt), free(cmd);
    return rate;
}

/* Field `want` of a CSV line whose fields may be quoted (no quotes inside them); NULL if absent. */
static const char *csv_field(const char *line, int want, char *buf, size_t cap)
{
    int field = 0;
    size_t n = 0;
    int quoted = 0;
    for (; *line && *line != '\n' && *line != '\r'; line++) {
        if (*line == '"') quoted = !quoted;
        else if (*line == ',' && !quoted) {
            if (field++ == want) break;
            n = 0;
        } else if (field == want && n + 1 < cap) buf[n++] = *line;
    }
    buf[n] = '\0';
    return field >= want ? buf : NULL;
}

/* llama.cpp's llama-bench on the same file: its prompt and generation rates (0 when it fails). */
static void llama_bench_rates(const char *bin, const char *model, int threads, int p, int n, double *pp, double *tg)
{
    char *cmd, line[4096], field[256];
    size_t cmd_size = strlen(bin) + strlen(model) + 128;
    int col_prompt = -1, col_gen = -1, col_ts = -1, header = 1;
    FILE *f;
    *pp = *tg = 0;
    if (strchr(bin, '\'') || strchr(model, '\'')) {
        fprintf(stderr, "model: paths with a quote are not supported for --llama-bench\n");
        return;
    }
    cmd = (char *)malloc(cmd_size);
    if (!cmd) return;
    snprintf(cmd, cmd_size, "'%s' -m '%s' -p %d -n %d -t %d -r 1 -o csv 2>/dev/null", bin, model, p, n, threads);
    bench_sleep(0.2); /* our OpenMP workers stop spinning before the baseline starts */
    f = popen(cmd, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (header) {
            int i;
            for (i = 0; csv_field(line, i, field, sizeof field); i++) {
                if (!strcmp(field, "n_prompt")) col_prompt = i;
                if (!strcmp(field, "n_gen")) col_gen = i;
                if (!strcmp(field, "avg_ts")) col_ts = i;
            }
            header = 0;
        } else if (col_prompt >= 0 && col_gen >= 0 && col_ts >= 0) {
            double rate = atof(csv_field(line, col_ts, field, sizeof field) ? field : "0");
            int prompt = atoi(csv_field(line, col_prompt, field, sizeof field) ? field : "0");
            int gen = atoi(csv_field(line, col_gen, field, sizeof field) ? field : "0");
            if (prompt > 0 && gen == 0) *pp = rate;
            if (gen > 0 && prompt == 0) *tg = rate;
        }
    }
    if (!f || pclose(f) != 0) {
        fprintf(stderr, "model: '%s' failed\n", bin);
        *pp = *tg = 0;
    }
    free(cmd);
}

/* the model of `make run`, so that `tfm-bench all` has one without options */
const char *bench_default_model(void)
{
    static const char *path = "models/stories260K.gguf";
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fclose(f);
    return path;
}

/* --parallel N: total decode tok/s of N sequences stepped together (tg_tok_s), beside one sequence
   decoded alone (tg1_tok_s, the same as the usual tg) and their ratio; --batched-bench adds llama.cpp's
   S_TG at the same N, run right after ours in each rep. */
static int bench_model_parallel(tfm_model *model, const char *path, int n_seq, int n, int reps, const int *threads,
                                int n_threads, const char *batched, int csv)
{
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int i, j, rep, failed = 0;
    for (i = 0; i < n_threads && !failed; i++) {
        tfm_context *ctxs[64];
        tfm_context_params params;
        parallel_run pr;
        model_run one;
        double tg = 0, tg1 = 0, lcpp = 0;
        bench_row row;
        memset(&params, 0, sizeof params);
        params.context_length = n + 1;
        params.n_threads = threads[i];
        params.max_batch = n_seq;
        memset(&pr, 0, sizeof pr);
        memset(&one, 0, sizeof one);
        pr.ctxs = ctxs, pr.n_seq = n_seq, pr.n = n, pr.vocab = model->config.vocab_size;
        pr.logits = (float *)malloc(sizeof(float) * (size_t)pr.vocab * (size_t)n_seq);
        for (j = 0; j < n_seq; j++) ctxs[j] = NULL;
        for (j = 0; j < n_seq && pr.status == TFM_OK; j++) pr.status = tfm_context_create(model, &params, &ctxs[j], &pr.err);
        if (!pr.logits || pr.status != TFM_OK) {
            fprintf(stderr, "model: %s\n", pr.logits ? pr.err.message : "out of memory");
            failed = 1;
        }
        one.ctx = ctxs[0], one.logits = pr.logits, one.vocab = pr.vocab, one.n = n;
        for (rep = -1; rep < reps && !failed; rep++) {
            double t = bench_now();
            run_decode(&one);
            t = bench_now() - t;
            if (rep >= 0 && (double)n / t > tg1) tg1 = (double)n / t;
            t = bench_now();
            run_parallel_decode(&pr);
            t = bench_now() - t;
            if (rep >= 0 && (double)n * n_seq / t > tg) tg = (double)n * n_seq / t;
            if (batched && rep >= 0) {
                double v = batched_bench_rate(batched, path, threads[i], n_seq, n);
                if (v > lcpp) lcpp = v;
            }
            if (pr.status != TFM_OK || one.status != TFM_OK) {
                fprintf(stderr, "model: %s\n", pr.status != TFM_OK ? pr.err.message : one.err.message);
                failed = 1;
            }
        }
        for (j = 0; j < n_seq; j++) tfm_context_free(ctxs[j]);
        free(pr.logits);
        if (failed) break;
        bench_row_init(&row);
        bench_row_str(&row, "model", name);
        bench_row_int(&row, "threads", threads[i]);
        bench_row_int(&row, "parallel", n_seq);
        bench_row_int(&row, "tg", n);
        bench_row_num(&row, "tg_tok_s", tg, 1);
        bench_row_num(&row, "tg1_tok_s", tg1, 1);
        bench_row_num(&row, "speedup", tg1 > 0 ? tg / tg1 : NAN, 2);
        {
            /* the step's limits: every weight read once (N tokens a step) at the read bandwidth, or N
               tokens' multiply-adds at the int8 peak, whichever is slower */
            const bench_ceiling *ceil = bench_ceiling_get(threads[i]);
            const double weight_gb = (double)tfm_model_weight_bytes(model) * 1e-9, int8 = bench_int8_peak_gops(threads[i]);
            const tfm_tensor *out = &model->output.tensor;
            const double macs = bench_token_macs(model) + (out->data ? (double)out->ne[0] * (double)out->ne[1] : 0);
            const double mem_limit = n_seq * ceil->read_gbps / weight_gb, int8_limit = int8 > 0 ? int8 * 1e9 / (2 * macs) : NAN;
            const double limit = int8_limit < mem_limit ? int8_limit : mem_limit;
            bench_row_num(&row, "weight_gb", weight_gb, 3);
            bench_row_num(&row, "read_bw", ceil->read_gbps, 1);
            bench_row_num(&row, "int8_gops", int8 > 0 ? int8 : NAN, 0);
            bench_row_num(&row, "mem_limit", mem_limit, 1);
            bench_row_num(&row, "int8_limit", int8_limit, 1);
            bench_row_num(&row, "pct_limit", bench_pct(tg, limit), 1);
        }
        if (batched) {
            bench_row_num(&row, "lcpp_tg_tok_s", lcpp > 0 ? lcpp : NAN, 1);
            bench_row_num(&row, "tg_ratio", lcpp > 0 ? tg / lcpp : NAN, 2);
            failed |= !(lcpp > 0);
        }
        bench_row_print(&row, csv, i == 0);
    }
    return failed;
}

int bench_model(int argc, char **argv)
{
    const char *path = bench_arg_str(argc, argv, "-m", NULL);
    const char *l2c = bench_arg_str(argc, argv, "--llama2c", NULL), *tok = bench_arg_str(argc, argv, "-z", NULL);
    const char *lcpp = bench_arg_str(argc, argv, "--llama-bench", NULL);
    const char *batched = bench_arg_str(argc, argv, "--batched-bench", NULL);
    long parallel = bench_arg_int(argc, argv, "--parallel", 0);
    long p = bench_arg_int(argc, argv, "-p", 128), n = bench_arg_int(argc, argv, "-n", 128);
    long reps = bench_arg_int(argc, argv, "--reps", 3);
    int csv = bench_flag(argc, argv, "--csv"), threads[8], n_threads, i, rep, failed = 0;
    const char *name;
    tfm_model *model;
    tfm_error err;
    int *prompt;
    float *logits;
    tfm_model_options options;
    if (!bench_check_args(argc, argv, "-m -p -n -z --threads --reps --llama2c --llama-bench --parallel --batched-bench",
                          "--csv --no-mmap --no-pack"))
        return 2;
    if (parallel < 0 || parallel > 64) return tfm_args_error("tfm-bench model", "--parallel wants 1..64 sequences");
    if (batched && parallel < 1) return tfm_args_error("tfm-bench model", "--batched-bench goes with --parallel N");
    options.no_mmap = bench_flag(argc, argv, "--no-mmap");
    options.no_pack = bench_flag(argc, argv, "--no-pack"); /* the weights as stored (tfm_model_pack skipped) */
    n_threads = bench_threads(argc, argv, threads, 8);
    if (!n_threads) return 2;
    if (!path) return tfm_args_error("tfm-bench model", "give a model: -m MODEL (see --help)");
    if (l2c && !tok) {
        fprintf(stderr, "model: --llama2c needs the tokenizer too (-z TOKENIZER)\n");
        return 2;
    }
    if (l2c && lcpp) {
        fprintf(stderr, "model: one baseline at a time: --llama2c or --llama-bench\n");
        return 2;
    }
    if (!model_source_check("tfm-bench model", path) || !model_source_check("tfm-bench model", tok)) return 1;
    if (tfm_model_load(path, &options, &model, &err) != TFM_OK) {
        fprintf(stderr, "model: %s\n", err.message);
        return 1;
    }
    if (parallel > 0) {
        int status = bench_model_parallel(model, path, (int)parallel, (int)n, (int)reps, threads, n_threads, batched, csv);
        tfm_model_free(model);
        return status;
    }
    if (p < 1 || n < 1 || reps < 1 || p > model->config.context_length || n > model->config.context_length) {
        fprintf(stderr, "model: -p and -n in 1..%d (the model's context), --reps positive\n",
                model->config.context_length);
        tfm_model_free(model);
        return 2;
    }
    name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    prompt = (int *)malloc(sizeof(int) * (size_t)p);
    logits = (float *)malloc(sizeof(float) * (size_t)model->config.vocab_size);
    if (!prompt || !logits) {
        fprintf(stderr, "model: out of memory\n");
        free(prompt), free(logits);
        tfm_model_free(model);
        return 1;
    }
    /* a fixed pseudo-random prompt after BOS: the work does not depend on which tokens they are */
    prompt[0] = 1;
    for (i = 1; i < p; i++) prompt[i] = (int)((1103515245u * (unsigned)i + 12345u) % (unsigned)model->config.vocab_size);

    for (i = 0; i < n_threads && !failed; i++) {
        const bench_ceiling *ceil = bench_ceiling_get(threads[i]);
        tfm_context_params params;
        model_run r;
        double pp = 0, tg = 0, l2c_pp = 0, l2c_tg = 0, lcpp_pp = 0, lcpp_tg = 0, weight_gb = (double)tfm_model_weight_bytes(model) * 1e-9;
        bench_row row;
        memset(&params, 0, sizeof params);
        params.context_length = (int)(p > n ? p : n);
        params.n_threads = threads[i];
        params.moe_stats = i == 0 && model->config.n_experts > 0;
        memset(&r, 0, sizeof r);
        if (tfm_context_create(model, &params, &r.ctx, &r.err) != TFM_OK) {
            fprintf(stderr, "model: %s\n", r.err.message);
            failed = 1;
            break;
        }
        r.logits = logits;
        r.vocab = model->config.vocab_size;
        r.tokens = prompt;
        /* rounds of ours then the baseline's, best of each: on a shared machine a slow spell hits both */
        for (rep = -1; rep < reps && r.status == TFM_OK; rep++) {
            double t;
            r.n = (int)p;
            t = bench_now();
            run_prefill(&r);
            t = bench_now() - t;
            if (rep >= 0 && (double)p / t > pp) pp = (double)p / t; /* round -1 warms up */
            r.n = (int)n;
            t = bench_now();
            run_decode(&r);
            t = bench_now() - t;
            if (rep >= 0 && (double)n / t > tg) tg = (double)n / t;
            if (l2c && rep >= 0) {
                double v = llama2c_rate(l2c, path, tok, threads[i], 0, (int)n);
                if (v > l2c_tg) l2c_tg = v;
                v = llama2c_rate(l2c, path, tok, threads[i], (int)p, 0);
                if (v > l2c_pp) l2c_pp = v;
            }
            if (lcpp && rep >= 0) {
                double vp, vt;
                llama_bench_rates(lcpp, path, threads[i], (int)p, (int)n, &vp, &vt);
                if (vp > lcpp_pp) lcpp_pp = vp;
                if (vt > lcpp_tg) lcpp_tg = vt;
            }
        }
        if (params.moe_stats && r.status == TFM_OK) {
            fflush(stdout);
            tfm_context_moe_stats_print(r.ctx, stderr);
        }
        tfm_context_free(r.ctx);
        if (r.status != TFM_OK) {
            fprintf(stderr, "model: %s\n", r.err.message);
            failed = 1;
            break;
        }
        bench_row_init(&row);
        bench_row_str(&row, "model", name);
        bench_row_int(&row, "threads", threads[i]);
        bench_row_int(&row, "pp", p);
        bench_row_int(&row, "tg", n);
        bench_row_num(&row, "pp_tok_s", pp, 1);
        bench_row_num(&row, "tg_tok_s", tg, 1);
        bench_row_num(&row, "weight_gb", weight_gb, 3);
        bench_row_num(&row, "tg_gbps", weight_gb * tg, 1);
        bench_row_num(&row, "read_bw", ceil->read_gbps, 1);
        bench_row_num(&row, "pct_read_bw", bench_pct(weight_gb * tg, ceil->read_gbps), 1);
        if (l2c) {
            bench_row_num(&row, "l2c_pp_tok_s", l2c_pp > 0 ? l2c_pp : NAN, 1);
            bench_row_num(&row, "l2c_tg_tok_s", l2c_tg > 0 ? l2c_tg : NAN, 1);
            bench_row_num(&row, "pp_ratio", l2c_pp > 0 ? pp / l2c_pp : NAN, 2);
            bench_row_num(&row, "tg_ratio", l2c_tg > 0 ? tg / l2c_tg : NAN, 2);
            failed |= !(l2c_pp > 0 && l2c_tg > 0);
        }
        if (lcpp) {
            bench_row_num(&row, "lcpp_pp_tok_s", lcpp_pp > 0 ? lcpp_pp : NAN, 1);
            bench_row_num(&row, "lcpp_tg_tok_s", lcpp_tg > 0 ? lcpp_tg : NAN, 1);
            bench_row_num(&row, "pp_ratio", lcpp_pp > 0 ? pp / lcpp_pp : NAN, 2);
            bench_row_num(&row, "tg_ratio", lcpp_tg > 0 ? tg / lcpp_tg : NAN, 2);
            failed |= !(lcpp_pp > 0 && lcpp_tg > 0);
        }
        bench_row_print(&row, csv, i == 0);
    }
    free(prompt), free(logits);
    tfm_model_free(model);
    return failed;
}

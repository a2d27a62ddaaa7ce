/* tfm-perplexity: perplexity of a model on a text, by llama.cpp's protocol (llama-perplexity).

     tfm-perplexity -m stories260K.gguf -f tinystories.valid.first500.txt --ctx 256

   The text is tokenized once (with a leading BOS when the vocab adds one: llama2.c's and SentencePiece
   vocabs do, Qwen's does not) and cut into chunks of --ctx tokens; each chunk starts (with BOS, when
   the vocab adds one) from an empty cache and its second half is scored (tfm_perplexity in tfm_model.h says
   exactly how). stderr shows the progress; stdout's last line is
   "Final estimate: PPL = <value> +/- <error>", with llama.cpp's error estimate. */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_model.h"
#include "tfm_tokenizer.h"

#include "model_sources.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest text -f reads: its tokens take 4 bytes each, up to one per byte. */
#define TEXT_MAX ((size_t)256 << 20)

typedef struct options {
    const char *model, *text, *tokenizer, *attn;
    long n_ctx, n_chunks;
    int n_threads;
    tfm_dtype kv_type;
    int moe_stats, check_finite;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tfm-perplexity -m MODEL -f TEXT [options]\n"
            "Perplexity of MODEL on the text file TEXT, by llama.cpp's llama-perplexity protocol.\n"
            "  -m, --model MODEL     model file (GGUF, or llama2.c .bin with -z)\n"
            "  -f, --file TEXT       the text to score (at most %zu MiB)\n"
            "  -z TOKENIZER          llama2.c tokenizer.bin (default: the GGUF file's vocab)\n"
            "  -c, --ctx-size N      tokens per chunk (default 512; also --ctx); the text needs at least 2N tokens\n"
            "  --chunks K            score at most K chunks (default: all)\n"
            "  -t, --threads T       threads (default: all cores, %d here; at most %d)\n"
            "  --attn SPEC           attention of every layer: flash (default), dense (the same function), window:W\n"
            "                        or bigbird:B,G,W,R[,SEED] (sparse: they change the model's function)\n"
            "  --kv-type T           KV cache storage: f32 (default) or i8 (int8 rows, one scale per token and head)\n"
            "  --moe-stats           mixture-of-experts models: print each layer's routing statistics on stderr\n"
            "  --check-finite        check every layer's output: a NaN or an infinity names the layer that made it\n"
            "  -h, --help            this help\n"
            "  --version             the version\n",
            TEXT_MAX >> 20, tfm_default_threads(), tfm_max_threads());
}

/* 0 to go on, else the exit status (0 after --help or --version, 2 after a usage error). */
static int parse_args(int argc, char **argv, options *o)
{
    static const char *const kv_types[] = {"f32", "i8"};
    int kv = 0;
    tfm_args a;
    memset(o, 0, sizeof *o);
    o->n_ctx = 512;
    tfm_args_init(&a, "tfm-perplexity", argc, argv, usage);
    while (tfm_args_next(&a)) {
        if (tfm_args_string(&a, "-m", "--model", &o->model) || tfm_args_string(&a, "-f", "--file", &o->text) ||
            tfm_args_string(&a, "-z", NULL, &o->tokenizer) ||
            tfm_args_long(&a, "-c", "--ctx-size", 3, 1L << 24, &o->n_ctx) ||
            tfm_args_long(&a, NULL, "--ctx", 3, 1L << 24, &o->n_ctx) ||
            tfm_args_long(&a, NULL, "--chunks", 1, 1L << 30, &o->n_chunks) ||
            tfm_args_int(&a, "-t", "--threads", 1, 1 << 20, &o->n_threads) ||
            tfm_args_string(&a, NULL, "--attn", &o->attn) || tfm_args_choice(&a, NULL, "--kv-type", kv_types, 2, &kv) ||
            tfm_args_flag(&a, NULL, "--moe-stats", &o->moe_stats) ||
            tfm_args_flag(&a, NULL, "--check-finite", &o->check_finite))
            continue;
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status;
    o->kv_type = kv == 1 ? TFM_I8 : TFM_F32;
    if (!o->model || !o->text) return tfm_args_fail(&a, "give a model and a text: -m MODEL -f TEXT");
    return 0;
}

typedef struct progress_state {
    tfm_progress line;
    double t0;
    int n_tokens, n_ctx, n_threads, trained; /* trained: the model's context_length */
} progress_state;

/* The chunks done so far on stderr (the arguments were checked by then, so an error stays the only line). */
static void show_progress(void *user, const tfm_perplexity_result *r, int total)
{
    progress_state *p = (progress_state *)user;
    double elapsed = tfm_args_seconds() - p->t0;
    if (r->n_chunks == 1) {
        fprintf(stderr, "tfm-perplexity: %d tokens, %d chunks of %d, %d threads\n", p->n_tokens, total, p->n_ctx,
                p->n_threads);
        if (p->n_ctx > p->trained)
            fprintf(stderr, "tfm-perplexity: warning: --ctx-size %d is above the %d positions the model was trained for\n",
                    p->n_ctx, p->trained);
    }
    tfm_progress_show(&p->line, r->n_chunks == total, "chunk %d/%d  PPL %.4f  %.1f s, ~%.0f s left", r->n_chunks, total,
                      r->ppl, elapsed, elapsed / r->n_chunks * (total - r->n_chunks));
}

int main(int argc, char **argv)
{
    options o;
    tfm_model *model = NULL;
    tfm_tokenizer *own_tok = NULL;
    const tfm_tokenizer *tok;
    tfm_context *ctx = NULL;
    tfm_context_params params;
    tfm_perplexity_result r;
    tfm_error err;
    progress_state progress;
    char *text = NULL;
    int *ids = NULL, n_ids = 0, status = 1;
    size_t len = 0;

    if ((status = parse_args(argc, argv, &o)) != 0 || !o.model) return status;
    status = 1;
    if (!model_source_check("tfm-perplexity", o.model) || !model_source_check("tfm-perplexity", o.tokenizer)) return 1;
    if (tfm_model_load(o.model, NULL, &model, &err) != TFM_OK ||
        (o.tokenizer && tfm_tokenizer_load_llama2c(&own_tok, o.tokenizer, model->config.vocab_size, &err) != TFM_OK)) {
        fprintf(stderr, "tfm-perplexity: %s\n", err.message);
        goto done;
    }
    tok = own_tok ? own_tok : tfm_model_tokenizer(model);
    if (!tok) {
        fprintf(stderr, "tfm-perplexity: %s has no vocab: give its tokenizer with -z\n", tfm_args_quote(o.model));
        goto done;
    }
    text = tfm_args_read_file("tfm-perplexity", o.text, TEXT_MAX, &len);
    if (!text) goto done;
    /* llama-perplexity's tokenization: BOS (and EOS) as the vocab says, special tokens written in the
       text are text */
    if (len > (size_t)INT_MAX / 4) { /* the ids counted in an int */
        fprintf(stderr, "tfm-perplexity: '%s' is too long\n", tfm_args_quote(o.text));
        goto done;
    }
    ids = (int *)malloc(sizeof(int) * (len + 3)); /* enough but for odd text: then counted, and again */
    if (ids && tfm_tokenize(tok, text, len, TFM_TOKENIZE_ADD_SPECIAL, ids, (int)len + 3, &n_ids, &err) == TFM_ERR_CONTEXT_FULL) {
        free(ids);
        ids = (int *)malloc(sizeof(int) * (size_t)n_ids);
    }
    if (!ids || tfm_tokenize(tok, text, len, TFM_TOKENIZE_ADD_SPECIAL, ids, n_ids > (int)len + 3 ? n_ids : (int)len + 3,
                             &n_ids, &err) != TFM_OK) {
        fprintf(stderr, "tfm-perplexity: cannot tokenize '%s': %s\n", tfm_args_quote(o.text),
                ids ? err.message : "out of memory");
        goto done;
    }
    memset(&params, 0, sizeof params);
    params.context_length = (int)o.n_ctx;
    params.max_batch = (int)o.n_ctx;
    params.n_threads = o.n_threads;
    params.attn = o.attn;
    params.kv_type = o.kv_type;
    params.moe_stats = o.moe_stats;
    params.check_finite = o.check_finite;
    if (tfm_context_create(model, &params, &ctx, &err) != TFM_OK) {
        fprintf(stderr, "tfm-perplexity: %s\n", err.message);
        goto done;
    }
    tfm_progress_init(&progress.line);
    progress.t0 = tfm_args_seconds();
    progress.n_tokens = n_ids;
    progress.n_ctx = (int)o.n_ctx;
    progress.n_threads = tfm_context_threads(ctx);
    progress.trained = model->config.context_length;
    if (tfm_perplexity(ctx, ids, n_ids, (int)o.n_ctx, tfm_tokenizer_add_bos(tok) ? tfm_tokenizer_bos(tok) : -1,
                       (int)o.n_chunks, show_progress,
                       &progress, &r, &err) != TFM_OK) {
        int nonfinite = err.status == TFM_ERR_FORMAT && strstr(err.message, "not finite") && !o.check_finite;
        fprintf(stderr, "tfm-perplexity: %s%s\n", err.message, nonfinite ? "; --check-finite finds the layer" : "");
        goto done;
    }
    printf("chunks: %d, tokens scored: %ld, mean NLL: %.6f\n", r.n_chunks, r.n_scored, r.mean_nll);
    printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_error);
    status = fflush(stdout) == 0 ? 0 : 1;
    if (o.moe_stats) tfm_context_moe_stats_print(ctx, stderr);
done:
    tfm_context_free(ctx);
    tfm_tokenizer_free(own_tok);
    tfm_model_free(model);
    free(ids);
    free(text);
    return status;
}

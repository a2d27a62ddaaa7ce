/* tfm-perplexity: perplexity of a model on a text, by llama.cpp's protocol (llama-perplexity).

     tfm-perplexity -m stories260K.gguf -f tinystories.valid.first500.txt --ctx 256

   The text is tokenized once with a leading BOS and cut into chunks of --ctx tokens; each chunk starts
   with BOS from an empty cache and its second half is scored (tfm_perplexity in tfm_model.h says
   exactly how). stderr shows the progress; stdout's last line is
   "Final estimate: PPL = <value> +/- <error>", with llama.cpp's error estimate. */
#if !defined(_WIN32) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700 /* clock_gettime */
#endif

#define TFM_IMPLEMENTATION
#include "tfm_model.h"
#include "tfm_tokenizer.h"

#include "model_sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct options {
    const char *model, *text, *tokenizer, *attn;
    long n_ctx, n_chunks;
    int n_threads;
    tfm_dtype kv_type;
    int moe_stats;
} options;

static void usage(void)
{
    printf("usage: tfm-perplexity -m MODEL -f TEXT [options]\n"
           "Perplexity of MODEL on the text file TEXT, by llama.cpp's llama-perplexity protocol.\n"
           "  -m MODEL        model file (GGUF, or llama2.c .bin with -z)\n"
           "  -f TEXT         the text to score\n"
           "  -z TOKENIZER    llama2.c tokenizer.bin (default: the GGUF file's vocab)\n"
           "  --ctx N         tokens per chunk (default 512); the text needs at least 2N tokens\n"
           "  --chunks K      score at most K chunks (default: all)\n"
           "  --threads T     threads (default: all cores, %d here)\n"
           "  --attn SPEC     attention of every layer: flash (default), dense (the same function), window:W\n"
           "                  or bigbird:B,G,W,R[,SEED] (sparse: they change the model's function)\n"
           "  --kv-type T     KV cache storage: f32 (default) or i8 (int8 rows, one scale per token and head)\n"
           "  --moe-stats     mixture-of-experts models: print each layer's routing statistics on stderr\n"
           "  -h, --help      this help\n",
           tfm_default_threads());
}

static int parse_long(const char *flag, const char *text, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "tfm-perplexity: %s wants an integer in %ld..%ld, got '%s'\n", flag, lo, hi, text);
        return 0;
    }
    *out = v;
    return 1;
}

static int parse_args(int argc, char **argv, options *o)
{
    int i;
    long v;
    memset(o, 0, sizeof *o);
    o->n_ctx = 512;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        }
        if (!strcmp(a, "--moe-stats")) {
            o->moe_stats = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tfm-perplexity: %s\n", a[0] == '-' ? "an option without its value (see --help)"
                                                               : "unexpected argument (see --help)");
            return 0;
        }
        val = argv[++i];
        if (!strcmp(a, "-m")) o->model = val;
        else if (!strcmp(a, "-f")) o->text = val;
        else if (!strcmp(a, "-z")) o->tokenizer = val;
        else if (!strcmp(a, "--ctx")) {
            if (!parse_long(a, val, 3, 1L << 24, &o->n_ctx)) return 0;
        } else if (!strcmp(a, "--chunks")) {
            if (!parse_long(a, val, 1, 1L << 30, &o->n_chunks)) return 0;
        } else if (!strcmp(a, "--threads")) {
            if (!parse_long(a, val, 1, 1024, &v)) return 0;
            o->n_threads = (int)v;
        } else if (!strcmp(a, "--attn")) {
            o->attn = val;
        } else if (!strcmp(a, "--kv-type")) {
            if (strcmp(val, "f32") && strcmp(val, "i8")) {
                fprintf(stderr, "tfm-perplexity: --kv-type wants f32 or i8, got '%s'\n", val);
                return 0;
            }
            o->kv_type = strcmp(val, "i8") ? TFM_F32 : TFM_I8;
        } else {
            fprintf(stderr, "tfm-perplexity: unknown option '%s' (see --help)\n", a);
            return 0;
        }
    }
    if (!o->model || !o->text) {
        fprintf(stderr, "tfm-perplexity: give a model and a text: -m MODEL -f TEXT (see --help)\n");
        return 0;
    }
    return 1;
}

static double now_seconds(void)
{
#if defined(__unix__) || defined(__APPLE__)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

/* The whole file in memory; NULL (and a message) on failure. */
static char *read_text(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t cap = 0, n = 0, got;
    int ok = 1;
    if (!f) {
        fprintf(stderr, "tfm-perplexity: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    do {
        if (n == cap) {
            size_t bigger_cap = cap ? 2 * cap : (size_t)1 << 16;
            char *bigger = (char *)realloc(text, bigger_cap);
            if (!bigger) {
                fprintf(stderr, "tfm-perplexity: out of memory reading '%s'\n", path);
                ok = 0;
                break;
            }
            text = bigger;
            cap = bigger_cap;
        }
        got = fread(text + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ok && ferror(f)) {
        fprintf(stderr, "tfm-perplexity: cannot read '%s'\n", path);
        ok = 0;
    }
    fclose(f);
    if (!ok) {
        free(text);
        return NULL;
    }
    *size = n;
    return text;
}

typedef struct progress_state {
    double t0, shown; /* start, last time shown */
    int n_tokens, n_ctx, n_threads, trained; /* trained: the model's context_length */
} progress_state;

/* One line on stderr, rewritten in place a few times a second (the arguments were checked by then, so
   an error stays the only line). */
static void show_progress(void *user, const tfm_perplexity_result *r, int total)
{
    progress_state *p = (progress_state *)user;
    double now = now_seconds(), elapsed = now - p->t0;
    if (r->n_chunks == 1) {
        fprintf(stderr, "tfm-perplexity: %d tokens, %d chunks of %d, %d threads\n", p->n_tokens, total, p->n_ctx,
                p->n_threads);
        if (p->n_ctx > p->trained)
            fprintf(stderr, "tfm-perplexity: warning: --ctx %d is above the %d positions the model was trained for\n",
                    p->n_ctx, p->trained);
    }
    if (r->n_chunks == 1 || r->n_chunks == total || now - p->shown >= 0.25) {
        fprintf(stderr, "\rchunk %d/%d  PPL %.4f  %.1f s, ~%.0f s left   ", r->n_chunks, total, r->ppl, elapsed,
                elapsed / r->n_chunks * (total - r->n_chunks));
        if (r->n_chunks == total) fputc('\n', stderr);
        fflush(stderr);
        p->shown = now;
    }
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

    if (!parse_args(argc, argv, &o)) return 2;
    if (!model_source_check("tfm-perplexity", o.model) || !model_source_check("tfm-perplexity", o.tokenizer)) return 1;
    if (tfm_model_load(o.model, NULL, &model, &err) != TFM_OK ||
        (o.tokenizer && tfm_tokenizer_load_llama2c(&own_tok, o.tokenizer, model->config.vocab_size, &err) != TFM_OK)) {
        fprintf(stderr, "tfm-perplexity: %s\n", err.message);
        goto done;
    }
    tok = own_tok ? own_tok : tfm_model_tokenizer(model);
    if (!tok) {
        fprintf(stderr, "tfm-perplexity: %s has no vocab: give its tokenizer with -z\n", o.model);
        goto done;
    }
    text = read_text(o.text, &len);
    if (!text) goto done;
    if (len > (size_t)1 << 30) {
        fprintf(stderr, "tfm-perplexity: '%s' is over 1 GiB\n", o.text);
        goto done;
    }
    ids = (int *)malloc(sizeof(int) * (len + 3));
    if (!ids || tfm_tokenizer_encode(tok, text, len, 1, 0, ids, (int)len + 3, &n_ids) != TFM_OK) {
        fprintf(stderr, "tfm-perplexity: cannot tokenize '%s'\n", o.text);
        goto done;
    }
    memset(&params, 0, sizeof params);
    params.context_length = (int)o.n_ctx;
    params.max_batch = (int)o.n_ctx;
    params.n_threads = o.n_threads;
    params.attn = o.attn;
    params.kv_type = o.kv_type;
    params.moe_stats = o.moe_stats;
    if (tfm_context_create(model, &params, &ctx, &err) != TFM_OK) {
        fprintf(stderr, "tfm-perplexity: %s\n", err.message);
        goto done;
    }
    progress.t0 = progress.shown = now_seconds();
    progress.n_tokens = n_ids;
    progress.n_ctx = (int)o.n_ctx;
    progress.n_threads = ctx->n_threads;
    progress.trained = model->config.context_length;
    if (tfm_perplexity(ctx, ids, n_ids, (int)o.n_ctx, tfm_tokenizer_bos(tok), (int)o.n_chunks, show_progress,
                       &progress, &r, &err) != TFM_OK) {
        fprintf(stderr, "tfm-perplexity: %s\n", err.message);
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

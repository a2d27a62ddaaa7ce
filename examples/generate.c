/* tfm-generate: text generation with a Llama-family model, printed as it is produced.

     tfm-generate -m stories15M.bin -z tokenizer.bin -p "Once upon a time" -n 200
     tfm-generate -m stories260K.gguf -p "Once upon a time" -n 200      (a GGUF file carries its vocab)

   The prompt goes through the model in one batch (prefill), then each new token is sampled, printed and
   fed back (decode). stdout gets the text only: the prompt, then the continuation, then a newline.
   stderr's last line is the timing: prefill: N tok, X tok/s | decode: M tok, Y tok/s | peak RSS: Z MiB
   (--moe-stats prints a mixture of experts' routing statistics on stderr just before it). */
#if !defined(_WIN32) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700 /* clock_gettime, getrusage */
#endif

#define TFM_IMPLEMENTATION
#include "tfm_model.h"
#include "tfm_sampler.h"
#include "tfm_tokenizer.h"

#include "model_sources.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#include <unistd.h>
#define HAVE_POSIX 1
#endif

typedef struct options {
    const char *model, *tokenizer, *prompt, *attn;
    long n_generate;
    int n_threads, context;
    tfm_dtype kv_type;
    int moe_stats;
    tfm_sampler_params sampling;
} options;

static void usage(void)
{
    printf("usage: tfm-generate -m MODEL [-z TOKENIZER] [options]\n"
           "Generates text with a Llama-family model, printing it as it is produced.\n"
           "  -m MODEL              model file: GGUF, or llama2.c .bin (e.g. stories15M.bin)\n"
           "  -z TOKENIZER          llama2.c tokenizer.bin (tok512.bin for stories260K); needed for a .bin,\n"
           "                        optional for a GGUF file (default: the vocab it carries)\n"
           "  -p PROMPT             text to continue (default: none, the story starts from BOS)\n"
           "  -n N                  tokens to generate (default 256); stops earlier at EOS or BOS, or when\n"
           "                        the context is full. A prompt longer than the context is an error.\n"
           "  --temp T              temperature, 0 = greedy (default 1.0)\n"
           "  --top-p P             nucleus sampling: smallest set of tokens with probability >= P\n"
           "                        (default 0.9; 1 = off)\n"
           "  --top-k K             sample among the K most likely tokens (default 0 = off)\n"
           "  --min-p P             drop tokens less likely than P x the most likely (default 0 = off)\n"
           "  --repeat-penalty R    penalise tokens already in the text (default 1 = off)\n"
           "  --seed S              random seed (default: the time, so each run differs)\n"
           "  --threads T           threads (default: all cores, %d here)\n"
           "  --context N           positions to keep (default and maximum: the model's context length)\n"
           "  --attn SPEC           attention of every layer: flash (default), dense (the same function),\n"
           "                        window:W or bigbird:B,G,W,R[,SEED] (sparse: they change the model's\n"
           "                        function; a window keeps only W positions in memory)\n"
           "  --kv-type T           KV cache storage: f32 (default) or i8 (int8 rows, one scale per token\n"
           "                        and head: about a quarter of the memory)\n"
           "  --moe-stats           mixture-of-experts models: print each layer's routing statistics\n"
           "                        (tokens per expert, mean gate probability, aux loss) on stderr\n"
           "  -h, --help            this help\n",
           tfm_default_threads());
}

/* ---------------------------------------------------------------- arguments */

static int fail_arg(const char *flag, const char *value, const char *want)
{
    fprintf(stderr, "tfm-generate: %s wants %s, got '%s' (see --help)\n", flag, want, value);
    return 0;
}

static int parse_long(const char *flag, const char *text, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        char want[64];
        sprintf(want, "an integer in %ld..%ld", lo, hi);
        return fail_arg(flag, text, want);
    }
    *out = v;
    return 1;
}

/* A number in [lo, hi] (lo excluded when open_lo), else a message naming the range `want`. */
static int parse_float(const char *flag, const char *text, double lo, int open_lo, double hi, const char *want,
                       float *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi) || (open_lo && v == lo)) return fail_arg(flag, text, want);
    *out = (float)v;
    return 1;
}

static int parse_args(int argc, char **argv, options *o)
{
    int i;
    long v;
    memset(o, 0, sizeof *o);
    o->n_generate = 256;
    o->prompt = "";
    tfm_sampler_params_default(&o->sampling); /* temperature 1, top-p 0.9: llama2.c's defaults */
    o->sampling.seed = (uint64_t)time(NULL);
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
            fprintf(stderr, "tfm-generate: %s\n", a[0] == '-' ? "an option without its value (see --help)"
                                                             : "unexpected argument (see --help)");
            return 0;
        }
        val = argv[++i];
        if (!strcmp(a, "-m")) o->model = val;
        else if (!strcmp(a, "-z")) o->tokenizer = val;
        else if (!strcmp(a, "-p")) o->prompt = val;
        else if (!strcmp(a, "-n")) {
            if (!parse_long(a, val, 0, 1L << 30, &o->n_generate)) return 0;
        } else if (!strcmp(a, "--temp")) {
            if (!parse_float(a, val, 0, 0, 1e6, "a number >= 0", &o->sampling.temperature)) return 0;
        } else if (!strcmp(a, "--top-p")) {
            if (!parse_float(a, val, 0, 1, 1, "a number in (0, 1]", &o->sampling.top_p)) return 0;
        } else if (!strcmp(a, "--top-k")) {
            if (!parse_long(a, val, 0, 1L << 30, &v)) return 0;
            o->sampling.top_k = (int)v;
        } else if (!strcmp(a, "--min-p")) {
            if (!parse_float(a, val, 0, 0, 1, "a number in [0, 1]", &o->sampling.min_p)) return 0;
        } else if (!strcmp(a, "--repeat-penalty")) {
            if (!parse_float(a, val, 0, 1, 1e6, "a number > 0", &o->sampling.repeat_penalty)) return 0;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o->sampling.seed = strtoull(val, &end, 10);
            if (errno || end == val || *end || val[0] == '-') return fail_arg(a, val, "a non-negative integer");
        } else if (!strcmp(a, "--threads")) {
            if (!parse_long(a, val, 1, 1024, &v)) return 0;
            o->n_threads = (int)v;
        } else if (!strcmp(a, "--context")) {
            if (!parse_long(a, val, 1, 1L << 24, &v)) return 0;
            o->context = (int)v;
        } else if (!strcmp(a, "--attn")) {
            o->attn = val;
        } else if (!strcmp(a, "--kv-type")) {
            if (strcmp(val, "f32") && strcmp(val, "i8")) return fail_arg(a, val, "f32 or i8");
            o->kv_type = strcmp(val, "i8") ? TFM_F32 : TFM_I8;
        } else {
            fprintf(stderr, "tfm-generate: unknown option '%s' (see --help)\n", a);
            return 0;
        }
    }
    if (!o->model) {
        fprintf(stderr, "tfm-generate: give a model: -m MODEL [-z TOKENIZER] (see --help)\n");
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- output and timing */

static double now_seconds(void)
{
#if defined(HAVE_POSIX)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static double peak_rss_mib(void)
{
#if defined(HAVE_POSIX)
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
#if defined(__APPLE__)
    return (double)ru.ru_maxrss / (1024.0 * 1024.0); /* bytes on macOS */
#else
    return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux and the BSDs */
#endif
#else
    return 0;
#endif
}

/* Prints token id as it reads after prev; 0 when stdout is gone. */
static int print_token(const tfm_tokenizer *tok, int prev, int id)
{
    const char *piece;
    size_t len;
    if (tfm_tokenizer_decode(tok, prev, id, &piece, &len) != TFM_OK) return 1;
    if (!tfm_tokenizer_piece_printable(piece, len)) return 1;
    return fwrite(piece, 1, len, stdout) == len && fflush(stdout) == 0;
}

/* ---------------------------------------------------------------- main */

typedef struct session {
    tfm_model *model;
    tfm_tokenizer *own_tok;   /* loaded from -z */
    const tfm_tokenizer *tok; /* own_tok, else the model's */
    tfm_context *ctx;
    tfm_sampler *sampler;
    int *ids;
    float *logits;
} session;

static int finish(session *s, int status)
{
    tfm_sampler_free(s->sampler);
    tfm_context_free(s->ctx);
    tfm_tokenizer_free(s->own_tok);
    tfm_model_free(s->model);
    free(s->ids);
    free(s->logits);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    session s;
    tfm_context_params params;
    tfm_error err;
    int n_prompt = 0, n_done = 0, prev, bos, eos, i;
    long room;
    double t0, t_prefill, t_decode;

#if defined(HAVE_POSIX)
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is a write error to report, not a signal to die of */
#endif
    if (!parse_args(argc, argv, &o)) return 2;
    memset(&s, 0, sizeof s);
    if (!model_source_check("tfm-generate", o.model) || !model_source_check("tfm-generate", o.tokenizer)) return 1;

    if (tfm_model_load(o.model, NULL, &s.model, &err) != TFM_OK ||
        (o.tokenizer &&
         tfm_tokenizer_load_llama2c(&s.own_tok, o.tokenizer, s.model->config.vocab_size, &err) != TFM_OK)) {
        fprintf(stderr, "tfm-generate: %s\n", err.message);
        return finish(&s, 1);
    }
    s.tok = s.own_tok ? s.own_tok : tfm_model_tokenizer(s.model);
    if (!s.tok) {
        fprintf(stderr, "tfm-generate: %s carries no vocab: give its tokenizer with -z TOKENIZER\n", o.model);
        return finish(&s, 1);
    }
    /* the library runs past the trained length (perplexity does); generating there makes no sense */
    if (o.context > s.model->config.context_length) {
        fprintf(stderr, "tfm-generate: --context %d is above the %d positions the model was trained for\n", o.context,
                s.model->config.context_length);
        return finish(&s, 1);
    }
    memset(&params, 0, sizeof params);
    params.context_length = o.context;
    params.n_threads = o.n_threads;
    params.attn = o.attn;
    params.kv_type = o.kv_type;
    params.moe_stats = o.moe_stats;
    if (tfm_context_create(s.model, &params, &s.ctx, &err) != TFM_OK ||
        tfm_sampler_create(&s.sampler, s.model->config.vocab_size, &o.sampling, &err) != TFM_OK) {
        fprintf(stderr, "tfm-generate: %s\n", err.message);
        return finish(&s, 1);
    }
    bos = tfm_tokenizer_bos(s.tok);
    eos = tfm_tokenizer_eos(s.tok);

    /* the prompt: BOS, then its tokens */
    s.ids = (int *)malloc(sizeof(int) * (strlen(o.prompt) + 3));
    s.logits = (float *)malloc(sizeof(float) * (size_t)s.model->config.vocab_size);
    if (!s.ids || !s.logits) {
        fprintf(stderr, "tfm-generate: out of memory\n");
        return finish(&s, 1);
    }
    if (tfm_tokenizer_encode(s.tok, o.prompt, strlen(o.prompt), 1, 0, s.ids, (int)strlen(o.prompt) + 3, &n_prompt) !=
        TFM_OK) {
        fprintf(stderr, "tfm-generate: cannot encode the prompt\n");
        return finish(&s, 1);
    }
    if (n_prompt > s.ctx->context_length) {
        fprintf(stderr, "tfm-generate: the prompt is %d tokens, the context holds %d\n", n_prompt,
                s.ctx->context_length);
        return finish(&s, 1);
    }
    for (i = 1; i < n_prompt; i++)
        if (!print_token(s.tok, s.ids[i - 1], s.ids[i])) {
            fprintf(stderr, "tfm-generate: cannot write to stdout\n");
            return finish(&s, 1);
        }

    /* prefill: the whole prompt in one call; its last logits give the first new token */
    t0 = now_seconds();
    if (tfm_forward(s.ctx, s.ids, n_prompt, s.logits, TFM_LOGITS_LAST, &err) != TFM_OK) {
        fprintf(stderr, "tfm-generate: %s\n", err.message);
        return finish(&s, 1);
    }
    for (i = 0; i < n_prompt; i++) tfm_sampler_accept(s.sampler, s.ids[i]);
    t_prefill = now_seconds() - t0;

    /* decode: sample, print, feed back; each new token takes one position */
    room = s.ctx->context_length - n_prompt;
    if (o.n_generate > room) {
        fprintf(stderr, "tfm-generate: the context holds %ld more tokens: generating %ld, not %ld\n", room, room,
                o.n_generate);
        o.n_generate = room;
    }
    prev = s.ids[n_prompt - 1];
    t0 = now_seconds();
    for (n_done = 0; n_done < o.n_generate; n_done++) {
        int next;
        if (tfm_sampler_sample(s.sampler, s.logits, &next) != TFM_OK) {
            fprintf(stderr, "tfm-generate: sampling failed\n");
            return finish(&s, 1);
        }
        if (next == eos || next == bos) break;
        if (!print_token(s.tok, prev, next)) {
            fprintf(stderr, "tfm-generate: cannot write to stdout\n");
            return finish(&s, 1);
        }
        if (tfm_forward(s.ctx, &next, 1, s.logits, TFM_LOGITS_LAST, &err) != TFM_OK) {
            fprintf(stderr, "\ntfm-generate: %s\n", err.message);
            return finish(&s, 1);
        }
        prev = next;
    }
    t_decode = now_seconds() - t0;
    if (fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "tfm-generate: cannot write to stdout\n");
        return finish(&s, 1);
    }
    if (o.moe_stats) tfm_context_moe_stats_print(s.ctx, stderr);
    fprintf(stderr, "prefill: %d tok, %.1f tok/s | decode: %d tok, %.1f tok/s | peak RSS: %.1f MiB\n", n_prompt,
            t_prefill > 0 ? n_prompt / t_prefill : 0.0, n_done, t_decode > 0 ? n_done / t_decode : 0.0,
            peak_rss_mib());
    return finish(&s, 0);
}

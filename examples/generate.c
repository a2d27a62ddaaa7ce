/* tfm-generate: text generation with a Llama-family model, printed as it is produced.

     tfm-generate -m stories15M.bin -z tokenizer.bin -p "Once upon a time" -n 200
     tfm-generate -m stories260K.gguf -p "Once upon a time" -n 200      (a GGUF file carries its vocab)
     tfm-generate -m model.gguf -f prompt.txt --prompt-cache prompt.state (a second run prefills nothing)

   tfm_generate (tfm_generate.h) does the work: the prompt goes through the model in one batch
   (prefill), then each new token is sampled, printed and fed back (decode), until an end-of-generation
   token, -n tokens, a --stop string or a full context. stdout gets the text only: the prompt, then the
   continuation, then a newline. stderr's last line is the timing:
     prefill: N tok, X tok/s | decode: M tok, Y tok/s | peak RSS: Z MiB
   (N: the prompt tokens run through the model; --moe-stats prints a mixture of experts' routing
   statistics on stderr just before it; with --prompt-cache a line "prompt cache: reused N prompt tokens
   of M" comes first when the file held some). Options follow tfm_args.h's conventions (llama.cpp's
   names, --help, --version, exit status 2 for a usage error). */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_generate.h"

#include "model_sources.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#define HAVE_POSIX 1
#endif

/* The longest prompt file -f reads (a prompt must fit in the context anyway). */
#define PROMPT_FILE_MAX ((size_t)64 << 20)
#define MAX_STOPS 16

typedef struct options {
    const char *model, *tokenizer, *prompt, *prompt_file, *attn, *prompt_cache;
    const char *stop[MAX_STOPS];
    int n_stop;
    long n_generate;
    int n_threads, context;
    tfm_dtype kv_type;
    int moe_stats;
    tfm_sampler_params sampling;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tfm-generate -m MODEL [-z TOKENIZER] [options]\n"
            "Generates text with a Llama-family model, printing it as it is produced.\n"
            "  -m, --model MODEL       model file: GGUF, or llama2.c .bin (e.g. stories15M.bin)\n"
            "  -z TOKENIZER            llama2.c tokenizer.bin (tok512.bin for stories260K); needed for a .bin,\n"
            "                          optional for a GGUF file (default: the vocab it carries)\n"
            "  -p, --prompt PROMPT     text to continue (default: none, the story starts from BOS); BOS is\n"
            "                          added when the vocab says so, special tokens written in it (a GGUF\n"
            "                          vocab's <|im_start|>, ...) are those tokens\n"
            "  -f, --file FILE         read the prompt from FILE instead\n"
            "  -n, --n-predict N       tokens to generate (default 256); stops earlier at an end-of-generation\n"
            "                          token (EOS, end of turn, ...; BOS too for a llama2.c tokenizer.bin), or\n"
            "                          when the context is full. A prompt longer than the context is an error.\n"
            "  --stop TEXT             stop before TEXT, which is not printed (up to 16 of them)\n"
            "  --prompt-cache FILE     keep the prompt's state in FILE: a later run whose prompt starts the\n"
            "                          same way prefills only the rest (stderr: reused N prompt tokens); FILE\n"
            "                          is rewritten whenever the prompt had more to prefill\n"
            "  --temp T                temperature, 0 = greedy (default 1.0)\n"
            "  --top-p P               nucleus sampling: smallest set of tokens with probability >= P\n"
            "                          (default 0.9; 1 = off)\n"
            "  --top-k K               sample among the K most likely tokens (default 0 = off)\n"
            "  --min-p P               drop tokens less likely than P x the most likely (default 0 = off)\n"
            "  --repeat-penalty R      penalise tokens already in the text (default 1 = off)\n"
            "  -s, --seed S            random seed (default: the time, so each run differs)\n"
            "  -t, --threads T         threads (default: all cores, %d here; at most %d)\n"
            "  -c, --ctx-size N        positions to keep (default: the model's context length, at most %d;\n"
            "                          also --context)\n"
            "  --attn SPEC             attention of every layer: flash (default), dense (the same function),\n"
            "                          window:W or bigbird:B,G,W,R[,SEED] (sparse: they change the model's\n"
            "                          function; a window keeps only W positions in memory)\n"
            "  --kv-type T             KV cache storage: f32 (default) or i8 (int8 rows, one scale per token\n"
            "                          and head: about a quarter of the memory)\n"
            "  --moe-stats             mixture-of-experts models: print each layer's routing statistics\n"
            "                          (tokens per expert, mean gate probability, aux loss) on stderr\n"
            "  -h, --help              this help\n"
            "  --version               the version\n",
            tfm_default_threads(), tfm_max_threads(), TFM_DEFAULT_CONTEXT);
}

/* ---------------------------------------------------------------- arguments */

/* 0 to go on, else the exit status (0 after --help or --version, 2 after a usage error). */
static int parse_args(int argc, char **argv, options *o)
{
    static const char *const kv_types[] = {"f32", "i8"};
    int kv = 0;
    tfm_args a;
    memset(o, 0, sizeof *o);
    o->n_generate = 256;
    tfm_sampler_params_default(&o->sampling); /* temperature 1, top-p 0.9: llama2.c's defaults */
    o->sampling.seed = (uint64_t)time(NULL);
    tfm_args_init(&a, "tfm-generate", argc, argv, usage);
    while (tfm_args_next(&a)) {
        if (tfm_args_string(&a, "-m", "--model", &o->model) || tfm_args_string(&a, "-z", NULL, &o->tokenizer) ||
            tfm_args_string(&a, "-p", "--prompt", &o->prompt) || tfm_args_string(&a, "-f", "--file", &o->prompt_file) ||
            tfm_args_long(&a, "-n", "--n-predict", 0, 1L << 30, &o->n_generate) ||
            tfm_args_float(&a, NULL, "--temp", 0, 0, 1e30, &o->sampling.temperature) ||
            tfm_args_float(&a, NULL, "--top-p", 0, 1, 1, &o->sampling.top_p) ||
            tfm_args_int(&a, NULL, "--top-k", 0, 1 << 30, &o->sampling.top_k) ||
            tfm_args_float(&a, NULL, "--min-p", 0, 0, 1, &o->sampling.min_p) ||
            tfm_args_float(&a, NULL, "--repeat-penalty", 0, 1, 1e30, &o->sampling.repeat_penalty) ||
            tfm_args_u64(&a, "-s", "--seed", &o->sampling.seed) ||
            tfm_args_int(&a, "-t", "--threads", 1, 1 << 20, &o->n_threads) ||
            tfm_args_int(&a, "-c", "--ctx-size", 1, 1 << 24, &o->context) ||
            tfm_args_int(&a, NULL, "--context", 1, 1 << 24, &o->context) ||
            tfm_args_string(&a, NULL, "--attn", &o->attn) || tfm_args_choice(&a, NULL, "--kv-type", kv_types, 2, &kv) ||
            tfm_args_flag(&a, NULL, "--moe-stats", &o->moe_stats) ||
            tfm_args_string(&a, NULL, "--prompt-cache", &o->prompt_cache))
            continue;
        if (tfm_args_is(&a, NULL, "--stop")) {
            const char *v = tfm_args_value(&a);
            if (v && (!v[0] || o->n_stop == MAX_STOPS))
                return tfm_args_fail(&a, "--stop wants a non-empty text, at most 16 of them");
            if (v) o->stop[o->n_stop++] = v;
            continue;
        }
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status;
    o->kv_type = kv == 1 ? TFM_I8 : TFM_F32;
    if (!o->model) return tfm_args_fail(&a, "give a model: -m MODEL [-z TOKENIZER]");
    if (o->prompt && o->prompt_file) return tfm_args_fail(&a, "give the prompt with -p or -f, not both");
    return 0;
}

/* ---------------------------------------------------------------- output and timing */

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

/* Each piece of text as it comes; a write error stops generation (and is reported). */
static int print_piece(void *user, const char *text, size_t len)
{
    int *write_failed = (int *)user;
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) *write_failed = 1;
    return *write_failed;
}

/* ---------------------------------------------------------------- main */

typedef struct session {
    tfm_model *model;
    tfm_tokenizer *own_tok;   /* loaded from -z */
    const tfm_tokenizer *tok; /* own_tok, else the model's */
    tfm_context *ctx;
    tfm_sampler *sampler;
    char *prompt_text;        /* read from -f */
} session;

static int finish(session *s, int status)
{
    tfm_sampler_free(s->sampler);
    tfm_context_free(s->ctx);
    tfm_tokenizer_free(s->own_tok);
    tfm_model_free(s->model);
    free(s->prompt_text);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    session s;
    tfm_context_params params;
    tfm_generate_params gp;
    tfm_generate_stats st;
    tfm_error err;
    const char *prompt;
    size_t prompt_len;
    int status, write_failed = 0, from_cache = 0;
    long room;

#if defined(HAVE_POSIX)
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is a write error to report, not a signal to die of */
#endif
    if ((status = parse_args(argc, argv, &o)) != 0 || o.model == NULL) return status;
    memset(&s, 0, sizeof s);
    if (!model_source_check("tfm-generate", o.model) || !model_source_check("tfm-generate", o.tokenizer)) return 1;
    prompt = o.prompt ? o.prompt : "";
    prompt_len = strlen(prompt);
    if (o.prompt_file) {
        if (!(s.prompt_text = tfm_args_read_file("tfm-generate", o.prompt_file, PROMPT_FILE_MAX, &prompt_len)))
            return finish(&s, 1);
        prompt = s.prompt_text;
    }

    if (tfm_model_load(o.model, NULL, &s.model, &err) != TFM_OK ||
        (o.tokenizer &&
         tfm_tokenizer_load_llama2c(&s.own_tok, o.tokenizer, s.model->config.vocab_size, &err) != TFM_OK)) {
        fprintf(stderr, "tfm-generate: %s\n", err.message);
        return finish(&s, 1);
    }
    s.tok = s.own_tok ? s.own_tok : tfm_model_tokenizer(s.model);
    if (!s.tok) {
        fprintf(stderr, "tfm-generate: %s carries no vocab: give its tokenizer with -z TOKENIZER\n",
                tfm_args_quote(o.model));
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

    /* a prompt cache from an earlier run: what of it agrees with this prompt is kept */
    if (o.prompt_cache) {
        FILE *f = fopen(o.prompt_cache, "rb");
        if (f) {
            fclose(f);
            if (tfm_context_state_load_file(s.ctx, o.prompt_cache, &err) == TFM_OK) from_cache = 1;
            else fprintf(stderr, "tfm-generate: prompt cache not used (%s)\n", err.message);
        }
    }

    /* prefill: the prompt (BOS first, as the vocab says) in batches of the context's max_batch */
    memset(&gp, 0, sizeof gp);
    gp.on_piece = print_piece;
    gp.user = &write_failed;
    gp.stop = o.stop;
    gp.n_stop = o.n_stop;
    gp.plain_text = s.own_tok != NULL; /* llama2.c's vocab: special tokens are not parsed */
    if (tfm_generate_prompt(s.ctx, s.tok, s.sampler, prompt, prompt_len, &gp, &st, &err) != TFM_OK) {
        fprintf(stderr, "tfm-generate: %s\n", err.message);
        return finish(&s, 1);
    }
    if (o.prompt_cache && st.n_prefilled > 0 && tfm_context_state_save_file(s.ctx, o.prompt_cache, &err) != TFM_OK)
        fprintf(stderr, "tfm-generate: prompt cache not saved (%s)\n", err.message);
    if (fwrite(prompt, 1, prompt_len, stdout) != prompt_len || fflush(stdout) != 0) {
        fprintf(stderr, "tfm-generate: cannot write to stdout\n");
        return finish(&s, 1);
    }

    /* decode: sample, print, feed back; each new token takes one position */
    room = tfm_context_length(s.ctx) - tfm_context_pos(s.ctx);
    if (o.n_generate > room) {
        fprintf(stderr, "tfm-generate: the context holds %ld more tokens: generating %ld, not %ld\n", room, room,
                o.n_generate);
        o.n_generate = room;
    }
    gp.max_tokens = (int)o.n_generate;
    if (o.n_generate > 0 && tfm_generate_continue(s.ctx, s.tok, s.sampler, &gp, &st, &err) != TFM_OK) {
        /* after text on a terminal, the message starts its own line */
        fprintf(stderr, "%stfm-generate: %s\n", prompt_len > 0 || st.n_generated > 0 ? "\n" : "", err.message);
        return finish(&s, 1);
    }
    if (write_failed || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "tfm-generate: cannot write to stdout\n");
        return finish(&s, 1);
    }
    if (o.moe_stats) tfm_context_moe_stats_print(s.ctx, stderr);
    if (from_cache && st.n_reused > 0)
        fprintf(stderr, "prompt cache: reused %d prompt tokens of %d (%s)\n", st.n_reused, st.n_prompt,
                tfm_args_quote(o.prompt_cache));
    fprintf(stderr, "prefill: %d tok, %.1f tok/s | decode: %d tok, %.1f tok/s | peak RSS: %.1f MiB\n", st.n_prefilled,
            st.prefill_seconds > 0 ? st.n_prefilled / st.prefill_seconds : 0.0, st.n_generated,
            st.decode_seconds > 0 ? st.n_generated / st.decode_seconds : 0.0, peak_rss_mib());
    return finish(&s, 0);
}

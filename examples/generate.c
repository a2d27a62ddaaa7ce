/* tfm-generate: text generation with a Llama-family model, printed as it is produced.

     tfm-generate -m stories15M.bin -z tokenizer.bin -p "Once upon a time" -n 200
     tfm-generate -m stories260K.gguf -p "Once upon a time" -n 200      (a GGUF file carries its vocab)

   The prompt goes through the model in one batch (prefill), then each new token is sampled, printed and
   fed back (decode). stdout gets the text only: the prompt, then the continuation, then a newline.
   stderr's last line is the timing: prefill: N tok, X tok/s | decode: M tok, Y tok/s | peak RSS: Z MiB
   (--moe-stats prints a mixture of experts' routing statistics on stderr just before it). Options follow
   tfm_args.h's conventions (llama.cpp's names, --help, --version, exit status 2 for a usage error). */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_model.h"
#include "tfm_sampler.h"
#include "tfm_tokenizer.h"

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

typedef struct options {
    const char *model, *tokenizer, *prompt, *prompt_file, *attn;
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
            tfm_args_flag(&a, NULL, "--moe-stats", &o->moe_stats))
            continue;
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

/* Prints the text token id completes (a UTF-8 character split over tokens waits for its last byte);
   0 when stdout is gone. out holds tfm_tokenizer_max_piece + 4 bytes. */
static int print_token(const tfm_tokenizer *tok, tfm_token_stream *stream, int id, char *out, size_t cap)
{
    size_t len;
    if (tfm_token_stream_push(stream, tok, id, out, cap, &len) != TFM_OK) return 1;
    if (!tfm_tokenizer_piece_printable(out, len)) return 1;
    return fwrite(out, 1, len, stdout) == len && fflush(stdout) == 0;
}

/* ---------------------------------------------------------------- main */

typedef struct session {
    tfm_model *model;
    tfm_tokenizer *own_tok;   /* loaded from -z */
    const tfm_tokenizer *tok; /* own_tok, else the model's */
    tfm_context *ctx;
    tfm_sampler *sampler;
    char *prompt_text;        /* read from -f */
    int *ids;
    float *logits;
    char *piece; /* the streamed text of one token */
} session;

static int finish(session *s, int status)
{
    tfm_sampler_free(s->sampler);
    tfm_context_free(s->ctx);
    tfm_tokenizer_free(s->own_tok);
    tfm_model_free(s->model);
    free(s->prompt_text);
    free(s->ids);
    free(s->logits);
    free(s->piece);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    session s;
    tfm_context_params params;
    tfm_error err;
    const char *prompt;
    size_t prompt_len;
    int n_prompt = 0, n_done = 0, flags, i, status;
    size_t piece_cap;
    tfm_token_stream stream;
    long room;
    double t0, t_prefill, t_decode;

#if defined(HAVE_POSIX)
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is a write error to report, not a signal to die of */
#endif
    if ((status = parse_args(argc, argv, &o)) != 0 || o.model == NULL) return status;
    memset(&s, 0, sizeof s);
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
    /* the prompt: BOS when the vocab wants one (llama2.c's tokenizer.bin does), then its tokens; special
       tokens written in it count as such (llama.cpp's rule) unless the vocab is llama2.c's; an empty
       prompt starts from BOS */
    flags = TFM_TOKENIZE_ADD_SPECIAL | (s.own_tok ? 0 : TFM_TOKENIZE_PARSE_SPECIAL);
    piece_cap = tfm_tokenizer_max_piece(s.tok) + 4;
    s.logits = (float *)malloc(sizeof(float) * (size_t)s.model->config.vocab_size);
    s.piece = (char *)malloc(piece_cap);
    if (!s.logits || !s.piece || prompt_len > (size_t)INT_MAX / 4 ||
        tfm_tokenize(s.tok, prompt, prompt_len, flags, NULL, 0, &n_prompt, &err) != TFM_OK ||
        !(s.ids = (int *)malloc(sizeof(int) * ((size_t)n_prompt + 1))) ||
        tfm_tokenize(s.tok, prompt, prompt_len, flags, s.ids, n_prompt, &n_prompt, &err) != TFM_OK) {
        fprintf(stderr, "tfm-generate: the prompt: %s\n",
                s.logits && s.piece && prompt_len <= (size_t)INT_MAX / 4 ? err.message : "too long, or out of memory");
        return finish(&s, 1);
    }
    if (n_prompt == 0 && tfm_tokenizer_bos(s.tok) >= 0) s.ids[n_prompt++] = tfm_tokenizer_bos(s.tok);
    if (n_prompt == 0) {
        fprintf(stderr, "tfm-generate: give a prompt (-p): the vocab has no BOS to start from\n");
        return finish(&s, 1);
    }
    if (n_prompt > s.ctx->context_length) {
        fprintf(stderr, "tfm-generate: the prompt is %d tokens, the context holds %d\n", n_prompt,
                s.ctx->context_length);
        return finish(&s, 1);
    }
    tfm_token_stream_init(&stream);
    for (i = 0; i < n_prompt; i++)
        if (!print_token(s.tok, &stream, s.ids[i], s.piece, piece_cap)) {
            fprintf(stderr, "tfm-generate: cannot write to stdout\n");
            return finish(&s, 1);
        }

    /* prefill: the whole prompt in one call; its last logits give the first new token */
    t0 = tfm_args_seconds();
    if (tfm_forward(s.ctx, s.ids, n_prompt, s.logits, TFM_LOGITS_LAST, &err) != TFM_OK) {
        fprintf(stderr, "tfm-generate: %s\n", err.message);
        return finish(&s, 1);
    }
    for (i = 0; i < n_prompt; i++) tfm_sampler_accept(s.sampler, s.ids[i]);
    t_prefill = tfm_args_seconds() - t0;

    /* decode: sample, print, feed back; each new token takes one position */
    room = s.ctx->context_length - n_prompt;
    if (o.n_generate > room) {
        fprintf(stderr, "tfm-generate: the context holds %ld more tokens: generating %ld, not %ld\n", room, room,
                o.n_generate);
        o.n_generate = room;
    }
    t0 = tfm_args_seconds();
    for (n_done = 0; n_done < o.n_generate; n_done++) {
        int next;
        if (tfm_sampler_sample(s.sampler, s.logits, &next) != TFM_OK) {
            fprintf(stderr, "tfm-generate: sampling failed\n");
            return finish(&s, 1);
        }
        if (tfm_tokenizer_is_eog(s.tok, next)) break; /* EOS, end of turn, ...; BOS for llama2.c's vocab */
        if (!print_token(s.tok, &stream, next, s.piece, piece_cap)) {
            fprintf(stderr, "tfm-generate: cannot write to stdout\n");
            return finish(&s, 1);
        }
        if (tfm_forward(s.ctx, &next, 1, s.logits, TFM_LOGITS_LAST, &err) != TFM_OK) {
            fprintf(stderr, "\ntfm-generate: %s\n", err.message);
            return finish(&s, 1);
        }
    }
    t_decode = tfm_args_seconds() - t0;
    {
        size_t len = 0;
        tfm_token_stream_flush(&stream, s.piece, piece_cap, &len); /* an unfinished character at the end */
        if (fwrite(s.piece, 1, len, stdout) != len || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
            fprintf(stderr, "tfm-generate: cannot write to stdout\n");
            return finish(&s, 1);
        }
    }
    if (o.moe_stats) tfm_context_moe_stats_print(s.ctx, stderr);
    fprintf(stderr, "prefill: %d tok, %.1f tok/s | decode: %d tok, %.1f tok/s | peak RSS: %.1f MiB\n", n_prompt,
            t_prefill > 0 ? n_prompt / t_prefill : 0.0, n_done, t_decode > 0 ? n_done / t_decode : 0.0,
            peak_rss_mib());
    return finish(&s, 0);
}

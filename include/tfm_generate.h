/* tfm_generate.h - text generation of tfm: prompt -> streamed text, stop rules, conversations.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     The loop every program that wants text would otherwise write around tfm_forward: encode the prompt
     (special tokens parsed, BOS as the vocab says), keep what the context already holds of it and
     prefill the rest, then sample, stream each piece of whole UTF-8 characters to a callback and feed
     the token back, until an end-of-generation token (tfm_tokenizer_is_eog), a token budget, a stop
     string (found even when it is split over pieces; the text stops before it), the callback, an abort
     flag another thread sets, or a full context. Per-call statistics: prompt tokens reused and
     prefilled, tokens generated, seconds of each phase. Above tfm_model.h: it calls tfm_forward and
     the context's state functions, the sampler and the tokenizer; the model knows nothing of it.

   USAGE
       static int print(void *user, const char *text, size_t len) { fwrite(text, 1, len, stdout); return 0; }
       tfm_generate_params p;  tfm_generate_stats st;
       memset(&p, 0, sizeof p);                 every zero field is a default
       p.max_tokens = 200;  p.on_piece = print;
       tfm_generate(ctx, tok, sampler, "Once upon a time", 16, &p, &st, &err);
       st.n_prefilled, st.n_generated, st.stop ...
     A conversation: tfm_generate_chat(ctx, tok, sampler, template, messages, n, &p, &st, &err) with the
     whole conversation each turn; the context keeps the turns before, so only the new turn is prefilled.

   PROMPT AND CONTEXT
     The prompt is the whole sequence (params.append 0): the tokens the context already holds that agree
     with its start are kept (tfm_context_rewind to where they part) and only the rest is prefilled; a
     prompt the context holds entirely, with its logits, prefills nothing (a loaded state file: see
     tfm-generate --prompt-cache). With params.append 1 the prompt continues what the context holds
     (encoded without BOS unless the context is empty). An empty prompt on an empty context is BOS
     alone. The sampler accepts the prompt's tokens (the
     appended ones with append) for its repetition penalty, as a hand-written loop would.
     Every generated token but an end-of-generation one is fed back, so afterwards the context holds the
     prompt and the generated tokens, with the logits after the last: generation can go on from there.

   STOP STRINGS
     Text that could be the start of a stop string is held back until the next pieces decide: the
     callback never sees a stop string or any text after it, and sees everything else exactly once.
     Pieces are whole UTF-8 characters (tfm_token_stream holds split characters back); a character left
     unfinished at the end is passed on as its bytes. A token that decodes to one ASCII control byte
     other than whitespace streams nothing (tfm_tokenizer_piece_printable).

   CONVERSATIONS
     tfm_generate_chat renders the messages with the template's generation prompt (tfm_chat.h). When
     the last message is the user's and the one before is an answer that this context generated (its
     tokens decode to exactly that answer's text after the previous turn's prompt), only the text after
     the answer is encoded and appended: the turns before are neither encoded nor prefilled again. A
     template that trims answers (Llama 3, Gemma, ...) renders an answer that began or ended with
     whitespace without it, and the [INST] families write a space before an answer that the generation
     prompt does not end with: the context keeps the answer as it was generated (as llama.cpp's chat
     does) and the text after the rendered answer is appended, rather than the answer being prefilled
     again.
     Otherwise (an edited history, an answer cut by a stop string) the whole text is the prompt and the
     common prefix is kept as above.
*/
#ifndef TFM_GENERATE_H
#define TFM_GENERATE_H

#include "tfm_chat.h"
#include "tfm_model.h"
#include "tfm_sampler.h"
#include "tfm_tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why generation stopped. */
typedef enum tfm_stop_reason {
    TFM_STOP_NONE = 0,     /* it did not run (only the prompt was prefilled) */
    TFM_STOP_EOG,          /* the model sampled an end-of-generation token (not streamed, not fed) */
    TFM_STOP_BUDGET,       /* max_tokens tokens were generated */
    TFM_STOP_STRING,       /* a stop string appeared (stats.stop_string says which) */
    TFM_STOP_CALLBACK,     /* on_piece returned nonzero */
    TFM_STOP_ABORT,        /* *abort was nonzero */
    TFM_STOP_CONTEXT_FULL  /* no position left in the context */
} tfm_stop_reason;

/* "eog", "budget", "stop string", "callback", "abort", "context full" ("none" for TFM_STOP_NONE). */
TFM_API const char *tfm_stop_reason_name(tfm_stop_reason reason);

/* Receives each piece of generated text (len > 0, whole UTF-8 characters); nonzero stops generation. */
typedef int (*tfm_piece_fn)(void *user, const char *text, size_t len);

/* Zero-initialise (memset) and set what you need. */
typedef struct tfm_generate_params {
    int max_tokens;            /* at most this many new tokens; 0: no budget (the context's room) */
    const char *const *stop;   /* n_stop stop strings (non-empty); the text ends before the first found */
    int n_stop;
    tfm_piece_fn on_piece;     /* NULL: the text goes nowhere (the context still holds its tokens) */
    void *user;                /* passed to on_piece */
    const volatile int *abort; /* NULL, or a flag another thread may set nonzero: generation stops before
                                  the next token (or the next prompt chunk of max_batch tokens) */
    int append;                /* 1: the prompt continues the context; 0: it is the whole sequence */
    int plain_text;            /* 1: special tokens written in the prompt are plain text (llama2.c's
                                  tokenizer.bin); 0: they are those tokens (llama.cpp's rule) */
} tfm_generate_params;

typedef struct tfm_generate_stats {
    int n_prompt;            /* tokens of the prompt sequence (the context's position after the prefill) */
    int n_reused;            /* of those, held by the context already: not computed again */
    int n_prefilled;         /* n_prompt - n_reused: prompt tokens run through the model */
    double prefill_seconds;
    int n_generated;         /* new tokens streamed and fed back (an end-of-generation token not counted) */
    double decode_seconds;
    tfm_stop_reason stop;
    int stop_string;         /* the stop string found (index into params.stop), else -1 */
} tfm_generate_stats;

/* Prompt, then generation (the two calls below). sampler NULL: greedy. stats and err may be NULL. */
TFM_API tfm_status tfm_generate(tfm_context *ctx, const tfm_tokenizer *tok, tfm_sampler *sampler, const char *prompt,
                                size_t prompt_len, const tfm_generate_params *params, tfm_generate_stats *stats,
                                tfm_error *err);
/* Only the prompt: encodes it, keeps what the context holds of it, prefills the rest; afterwards the
   context has the logits generation starts from. Fills the prompt half of stats. */
TFM_API tfm_status tfm_generate_prompt(tfm_context *ctx, const tfm_tokenizer *tok, tfm_sampler *sampler,
                                       const char *prompt, size_t prompt_len, const tfm_generate_params *params,
                                       tfm_generate_stats *stats, tfm_error *err);
/* The same with the prompt's tokens (params.append: appended as they are, no BOS added). */
TFM_API tfm_status tfm_generate_prompt_tokens(tfm_context *ctx, tfm_sampler *sampler, const int *tokens, int n_tokens,
                                              const tfm_generate_params *params, tfm_generate_stats *stats,
                                              tfm_error *err);
/* Generates from the logits the context holds (after tfm_generate_prompt, a loaded state, ...): the
   generation half of stats. No logits in the context: TFM_ERR_INVALID_ARGUMENT. */
TFM_API tfm_status tfm_generate_continue(tfm_context *ctx, const tfm_tokenizer *tok, tfm_sampler *sampler,
                                         const tfm_generate_params *params, tfm_generate_stats *stats, tfm_error *err);
/* The answer to a conversation (see CONVERSATIONS); params.append is ignored. */
TFM_API tfm_status tfm_generate_chat(tfm_context *ctx, const tfm_tokenizer *tok, tfm_sampler *sampler,
                                     const tfm_chat_template *tmpl, const tfm_chat_message *messages, int n_messages,
                                     const tfm_generate_params *params, tfm_generate_stats *stats, tfm_error *err);

#ifdef __cplusplus
}
#endif

#endif /* TFM_GENERATE_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_GENERATE_IMPLEMENTATION_DONE)
#define TFM_GENERATE_IMPLEMENTATION_DONE

#include <string.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

const char *tfm_stop_reason_name(tfm_stop_reason reason)
{
    switch (reason) {
    case TFM_STOP_NONE: return "none";
    case TFM_STOP_EOG: return "eog";
    case TFM_STOP_BUDGET: return "budget";
    case TFM_STOP_STRING: return "stop string";
    case TFM_STOP_CALLBACK: return "callback";
    case TFM_STOP_ABORT: return "abort";
    case TFM_STOP_CONTEXT_FULL: return "context full";
    }
    return "?";
}

/* Wall-clock seconds: OpenMP's clock where there is one (a strict C99 build does not declare POSIX's
   clock_gettime), else the C library's processor time, which is wall time for the one thread a build
   without OpenMP runs. */
static double tfm__generate_now(void)
{
#if defined(_OPENMP)
    return omp_get_wtime();
#elif defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static int tfm__generate_aborted(const tfm_generate_params *p) { return p && p->abort && *p->abort; }

/* ---------------------------------------------------------------- the prompt */

tfm_status tfm_generate_prompt_tokens(tfm_context *ctx, tfm_sampler *sampler, const int *tokens, int n,
                                      const tfm_generate_params *params, tfm_generate_stats *stats, tfm_error *err)
{
    tfm_generate_stats local;
    const int *held;
    float *logits = NULL;
    int keep = 0, vocab, append = params && params->append, i;
    double t0;
    tfm_status s = TFM_OK;
    tfm_error_clear(err);
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    stats->stop_string = -1;
    if (!ctx || n < 0 || (n > 0 && !tokens))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_generate_prompt: no context or no tokens");
    vocab = tfm_context_model(ctx)->config.vocab_size;
    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "prompt token %d (at %d) is outside the vocabulary 0..%d",
                                 tokens[i], i, vocab - 1);
    held = tfm_context_tokens(ctx);
    if ((append ? tfm_context_pos(ctx) + n : n) > tfm_context_length(ctx))
        return tfm_error_set(err, TFM_ERR_CONTEXT_FULL, "the prompt is %d tokens, the context holds %d",
                             append ? tfm_context_pos(ctx) + n : n, tfm_context_length(ctx));
    if (append) keep = tfm_context_pos(ctx);
    else {
        /* the context's longest prefix agreeing with the prompt; all of it only with the logits after it */
        int pos = tfm_context_pos(ctx);
        while (keep < n && keep < pos && held[keep] == tokens[keep]) keep++;
        if (keep == n && !(pos == n && tfm_context_logits(ctx))) keep = n - 1;
        if (keep < 0) keep = 0;
        if (tfm_context_rewind(ctx, keep, NULL) != TFM_OK) {
            tfm_context_reset(ctx); /* a wrapped window cannot go back: start over */
            keep = 0;
        }
    }
    stats->n_reused = keep;
    stats->n_prompt = keep + (append ? n : n - keep);
    if (stats->n_prompt == 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "an empty prompt on an empty context: nothing to start from");
    if (sampler)
        for (i = 0; i < n && s == TFM_OK; i++) s = tfm_sampler_accept(sampler, tokens[i]);
    if (s != TFM_OK) return tfm_error_set(err, s, "the sampler refused a prompt token");
    t0 = tfm__generate_now();
    {
        const int *todo = append ? tokens : tokens + keep;
        int n_todo = stats->n_prompt - keep, done = 0, chunk = tfm_context_max_batch(ctx);
        if (n_todo > 0) {
            logits = (float *)TFM_MALLOC(sizeof(float) * (size_t)vocab);
            if (!logits) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for the logits");
        }
        /* chunk by chunk, as tfm_forward would split it, so an abort is seen between chunks */
        while (done < n_todo && s == TFM_OK) {
            int m = n_todo - done < chunk ? n_todo - done : chunk;
            if (tfm__generate_aborted(params)) {
                stats->stop = TFM_STOP_ABORT;
                break;
            }
            s = tfm_forward(ctx, todo + done, m, done + m == n_todo ? logits : NULL, TFM_LOGITS_LAST, err);
            done += m;
        }
        stats->n_prefilled = done;
    }
    stats->prefill_seconds = tfm__generate_now() - t0;
    TFM_FREE(logits);
    return s;
}

/* Encodes text (special tokens parsed; BOS as the vocab says when `bos`) into a new array. */
static tfm_status tfm__generate_encode(const tfm_tokenizer *tok, const char *text, size_t len, int bos, int plain,
                                       int **ids, int *n, tfm_error *err)
{
    int flags = (plain ? 0 : TFM_TOKENIZE_PARSE_SPECIAL) | (bos ? TFM_TOKENIZE_ADD_SPECIAL : 0), count = 0;
    tfm_status s = tfm_tokenize(tok, text, len, flags, NULL, 0, &count, err);
    *ids = NULL;
    *n = 0;
    if (s != TFM_OK) return s;
    *ids = (int *)TFM_MALLOC(sizeof(int) * (size_t)(count > 0 ? count : 1));
    if (!*ids) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for %d prompt tokens", count);
    s = tfm_tokenize(tok, text, len, flags, *ids, count, n, err);
    if (s != TFM_OK) {
        TFM_FREE(*ids);
        *ids = NULL;
    } else if (*n == 0 && bos && tfm_tokenizer_bos(tok) >= 0) {
        (*ids)[(*n)++] = tfm_tokenizer_bos(tok); /* an empty prompt starts from BOS, even where none is added */
    }
    return s;
}

tfm_status tfm_generate_prompt(tfm_context *ctx, const tfm_tokenizer *tok, tfm_sampler *sampler, const char *prompt,
                               size_t prompt_len, const tfm_generate_params *params, tfm_generate_stats *stats,
                               tfm_error *err)
{
    int *ids, n;
    tfm_status s;
    tfm_error_clear(err);
    if (!ctx || !tok || (!prompt && prompt_len))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_generate_prompt: no context, tokenizer or prompt");
    if (tfm_tokenizer_vocab_size(tok) != tfm_context_model(ctx)->config.vocab_size)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "the tokenizer has %d tokens, the model %d",
                             tfm_tokenizer_vocab_size(tok), tfm_context_model(ctx)->config.vocab_size);
    s = tfm__generate_encode(tok, prompt ? prompt : "", prompt_len,
                             !(params && params->append) || tfm_context_pos(ctx) == 0, params && params->plain_text,
                             &ids, &n, err);
    if (s != TFM_OK) return s;
    s = tfm_generate_prompt_tokens(ctx, sampler, ids, n, params, stats, err);
    TFM_FREE(ids);
    return s;
}

/* ---------------------------------------------------------------- generation */

/* Text on its way to the callback: what may still turn out to start a stop string waits in `held`. */
typedef struct tfm__generate_out {
    const tfm_generate_params *p;
    char *held;
    size_t n_held;
    int stopped;      /* the callback asked to stop */
    int stop_string;  /* index of the stop string found, -1 */
} tfm__generate_out;

static void tfm__generate_emit(tfm__generate_out *o, const char *text, size_t len)
{
    if (len && o->p && o->p->on_piece && !o->stopped && o->p->on_piece(o->p->user, text, len)) o->stopped = 1;
}

/* Adds text, passes on all that cannot be part of a stop string; 1 when a stop string is complete. */
static int tfm__generate_push(tfm__generate_out *o, const char *text, size_t len)
{
    const tfm_generate_params *p = o->p;
    size_t first = (size_t)-1, keep = 0, i;
    int k, n_stop = p && p->stop ? p->n_stop : 0;
    memcpy(o->held + o->n_held, text, len);
    o->n_held += len;
    for (k = 0; k < n_stop; k++) {
        const char *s = p->stop[k];
        size_t n = strlen(s), at;
        for (at = 0; n && at + n <= o->n_held && at < first; at++)
            if (memcmp(o->held + at, s, n) == 0) {
                first = at;
                o->stop_string = k;
                break;
            }
    }
    if (first != (size_t)-1) {
        tfm__generate_emit(o, o->held, first);
        o->n_held = 0;
        return 1;
    }
    /* the longest end of the text that begins some stop string stays */
    for (k = 0; k < n_stop; k++) {
        const char *s = p->stop[k];
        size_t n = strlen(s);
        for (i = n - 1; i > keep && n; i--)
            if (i <= o->n_held && memcmp(o->held + o->n_held - i, s, i) == 0) {
                keep = i;
                break;
            }
    }
    tfm__generate_emit(o, o->held, o->n_held - keep);
    memmove(o->held, o->held + o->n_held - keep, keep);
    o->n_held = keep;
    return 0;
}

tfm_status tfm_generate_continue(tfm_context *ctx, const tfm_tokenizer *tok, tfm_sampler *sampler,
                                 const tfm_generate_params *params, tfm_generate_stats *stats, tfm_error *err)
{
    tfm_generate_stats local;
    tfm__generate_out out;
    tfm_token_stream stream;
    size_t longest_stop = 0, piece_cap;
    char *piece = NULL;
    float *logits;
    int vocab, k, n_stop = params && params->stop ? params->n_stop : 0;
    double t0;
    tfm_status s = TFM_OK;
    tfm_error_clear(err);
    if (!stats) stats = &local;
    stats->n_generated = 0;
    stats->decode_seconds = 0;
    stats->stop = TFM_STOP_NONE;
    stats->stop_string = -1;
    if (!ctx || !tok) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_generate: no context or no tokenizer");
    if (!tfm_context_logits(ctx))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "the context has no logits to generate from (no prompt?)");
    if (params && (params->max_tokens < 0 || params->n_stop < 0 || (params->n_stop > 0 && !params->stop)))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "a negative budget or bad stop strings");
    for (k = 0; k < n_stop; k++) {
        size_t n = params->stop[k] ? strlen(params->stop[k]) : 0;
        if (n == 0) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "stop string %d is empty", k);
        if (n > longest_stop) longest_stop = n;
    }
    vocab = tfm_context_model(ctx)->config.vocab_size;
    piece_cap = tfm_tokenizer_max_piece(tok) + 8;
    memset(&out, 0, sizeof out);
    out.p = params;
    out.stop_string = -1;
    logits = (float *)TFM_MALLOC(sizeof(float) * (size_t)vocab);
    piece = (char *)TFM_MALLOC(piece_cap);
    out.held = (char *)TFM_MALLOC(longest_stop + piece_cap);
    if (!logits || !piece || !out.held) {
        TFM_FREE(logits), TFM_FREE(piece), TFM_FREE(out.held);
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for generation");
    }
    memcpy(logits, tfm_context_logits(ctx), sizeof(float) * (size_t)vocab);
    tfm_token_stream_init(&stream);
    if (tfm_context_pos(ctx) > 0) stream.prev_id = tfm_context_tokens(ctx)[tfm_context_pos(ctx) - 1];

    t0 = tfm__generate_now();
    while (s == TFM_OK) {
        size_t len = 0;
        int next;
        if (tfm__generate_aborted(params)) {
            stats->stop = TFM_STOP_ABORT;
            break;
        }
        if (tfm_context_pos(ctx) >= tfm_context_length(ctx)) {
            stats->stop = TFM_STOP_CONTEXT_FULL;
            break;
        }
        if (sampler) s = tfm_sampler_sample(sampler, logits, &next, err); /* its message says why */
        else next = (int)tfm_argmax(logits, (size_t)vocab);
        if (s != TFM_OK) break;
        if (tfm_tokenizer_is_eog(tok, next)) {
            stats->stop = TFM_STOP_EOG;
            break;
        }
        s = tfm_token_stream_push(&stream, tok, next, piece, piece_cap, &len);
        if (s != TFM_OK) {
            tfm_error_set(err, s, "decoding token %d failed", next);
            break;
        }
        if (!tfm_tokenizer_piece_printable(piece, len)) len = 0; /* a lone control byte */
        s = tfm_forward(ctx, &next, 1, logits, TFM_LOGITS_LAST, err);
        if (s != TFM_OK) break;
        stats->n_generated++;
        if (tfm__generate_push(&out, piece, len)) {
            stats->stop = TFM_STOP_STRING;
            stats->stop_string = out.stop_string;
            break;
        }
        if (out.stopped) {
            stats->stop = TFM_STOP_CALLBACK;
            break;
        }
        if (params && params->max_tokens > 0 && stats->n_generated >= params->max_tokens) {
            stats->stop = TFM_STOP_BUDGET;
            break;
        }
    }
    /* what is held is text after all: an unfinished character, a would-be stop string */
    if (s == TFM_OK && stats->stop != TFM_STOP_STRING && stats->stop != TFM_STOP_CALLBACK) {
        size_t len = 0;
        if (tfm_token_stream_flush(&stream, piece, piece_cap, &len) == TFM_OK && len) {
            memcpy(out.held + out.n_held, piece, len);
            out.n_held += len;
        }
        tfm__generate_emit(&out, out.held, out.n_held);
    }
    stats->decode_seconds = tfm__generate_now() - t0;
    TFM_FREE(logits), TFM_FREE(piece), TFM_FREE(out.held);
    return s;
}

tfm_status tfm_generate(tfm_context *ctx, const tfm_tokenizer *tok, tfm_sampler *sampler, const char *prompt,
                        size_t prompt_len, const tfm_generate_params *params, tfm_generate_stats *stats, tfm_error *err)
{
    tfm_generate_stats local;
    tfm_status s;
    if (!stats) stats = &local;
    s = tfm_generate_prompt(ctx, tok, sampler, prompt, prompt_len, params, stats, err);
    if (s != TFM_OK || stats->stop == TFM_STOP_ABORT) return s;
    return tfm_generate_continue(ctx, tok, sampler, params, stats, err);
}

/* ---------------------------------------------------------------- conversations */

/* The conversation rendered (generation prompt, no leading BOS: the tokenizer adds it) into a new string. */
static tfm_status tfm__generate_render(const tfm_chat_template *t, const tfm_chat_message *m, int n, char **text,
                                       size_t *len, tfm_error *err)
{
    tfm_status s = tfm_chat_render(t, m, n, TFM_CHAT_ADD_ASSISTANT, NULL, 0, len, err);
    *text = NULL;
    if (s != TFM_OK) return s;
    *text = (char *)TFM_MALLOC(*len + 1);
    if (!*text) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for the conversation");
    s = tfm_chat_render(t, m, n, TFM_CHAT_ADD_ASSISTANT, *text, *len + 1, len, err);
    if (s != TFM_OK) TFM_FREE(*text), *text = NULL;
    return s;
}

/* The position after the tokens from `from` on that decode to exactly `text` (as generation streamed
   them: tfm_token_stream from the token before), or -1. */
static int tfm__generate_answer_end(const tfm_context *ctx, const tfm_tokenizer *tok, int from, const char *text,
                                    char *piece, size_t piece_cap)
{
    const int *held = tfm_context_tokens(ctx);
    int pos = tfm_context_pos(ctx), i = from;
    size_t at = 0, n_text = strlen(text), len;
    tfm_token_stream stream;
    tfm_token_stream_init(&stream);
    if (from > 0) stream.prev_id = held[from - 1];
    while (at + (size_t)stream.n_held < n_text || stream.n_held > 0) {
        if (at + (size_t)stream.n_held == n_text) { /* only an unfinished character is left: it ended the text */
            if (tfm_token_stream_flush(&stream, piece, piece_cap, &len) != TFM_OK) return -1;
        } else if (i >= pos || tfm_token_stream_push(&stream, tok, held[i++], piece, piece_cap, &len) != TFM_OK)
            return -1;
        if (len > n_text - at || memcmp(text + at, piece, len) != 0) return -1;
        at += len;
        if ((size_t)stream.n_held > n_text - at || memcmp(text + at, stream.held, (size_t)stream.n_held) != 0) return -1;
    }
    return i;
}

/* The bytes of `text` up to the end of the answer `content` where the template put it: all of it, or
   (the templates that trim an answer: Llama 3, Gemma, Llama 2, Mistral) it without its leading and
   trailing whitespace, at the start of `text` or after the spaces a template writes before an answer
   (Llama 2 and Mistral: "[/INST] ANSWER"); (size_t)-1 when it is not there. */
static size_t tfm__generate_rendered_answer(const char *text, size_t text_len, const char *content)
{
    const char *b = content, *e = content + strlen(content);
    size_t skip;
    tfm__chat_trim(&b, &e, 1, 1);
    for (skip = 0; skip <= text_len; skip++) {
        const size_t left = text_len - skip, whole = strlen(content), trimmed = (size_t)(e - b);
        if (whole <= left && memcmp(text + skip, content, whole) == 0) return skip + whole;
        if (trimmed <= left && memcmp(text + skip, b, trimmed) == 0) return skip + trimmed;
        if (skip == text_len || (text[skip] != ' ' && text[skip] != '\n' && text[skip] != '\t')) break;
    }
    return (size_t)-1;
}

/* How much of the conversation the context holds: walks the answers in order, each turn's text (from
   the end of the previous answer to the next generation prompt) encoded as tfm_generate_chat appended
   it, each answer decoded from the context's tokens, all matched against `full`. Returns the tokens
   verified and, in *text_done, the bytes of `full` they stand for. */
static int tfm__generate_chat_held(const tfm_context *ctx, const tfm_tokenizer *tok, const tfm_chat_template *t,
                                   const tfm_chat_message *m, int n, const char *full, size_t full_len,
                                   size_t *text_done)
{
    const int *held = tfm_context_tokens(ctx);
    int pos = tfm_context_pos(ctx), done_tok = 0, a;
    size_t done_text = 0, piece_cap = tfm_tokenizer_max_piece(tok) + 8;
    char *piece = (char *)TFM_MALLOC(piece_cap);
    *text_done = 0;
    if (!piece) return 0;
    for (a = 1; a < n && pos > 0; a++) {
        char *turn = NULL;
        size_t turn_len, content_len = 0;
        int *ids = NULL, n_ids = 0, end, ok;
        if (strcmp(m[a].role, "assistant") != 0) continue;
        ok = tfm__generate_render(t, m, a, &turn, &turn_len, NULL) == TFM_OK && turn_len >= done_text &&
             turn_len <= full_len && memcmp(full, turn, turn_len) == 0 &&
             (content_len = tfm__generate_rendered_answer(full + turn_len, full_len - turn_len, m[a].content)) !=
                 (size_t)-1 &&
             tfm__generate_encode(tok, full + done_text, turn_len - done_text, done_tok == 0, 0, &ids, &n_ids, NULL) ==
                 TFM_OK &&
             done_tok + n_ids <= pos && memcmp(held + done_tok, ids, sizeof(int) * (size_t)n_ids) == 0;
        end = ok ? tfm__generate_answer_end(ctx, tok, done_tok + n_ids, m[a].content, piece, piece_cap) : -1;
        TFM_FREE(turn), TFM_FREE(ids);
        if (end < 0) break;
        done_tok = end;
        done_text = turn_len + content_len;
    }
    TFM_FREE(piece);
    *text_done = done_text;
    return done_tok;
}

tfm_status tfm_generate_chat(tfm_context *ctx, const tfm_tokenizer *tok, tfm_sampler *sampler,
                             const tfm_chat_template *tmpl, const tfm_chat_message *m, int n,
                             const tfm_generate_params *params, tfm_generate_stats *stats, tfm_error *err)
{
    tfm_generate_params p;
    tfm_generate_stats local;
    char *full = NULL;
    size_t full_len, text_done = 0;
    int held = 0;
    tfm_status s;
    tfm_error_clear(err);
    if (!stats) stats = &local;
    if (!ctx || !tok || !tmpl || n < 1 || !m)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_generate_chat: no context, tokenizer, template or messages");
    if (params) p = *params;
    else memset(&p, 0, sizeof p);
    s = tfm__generate_render(tmpl, m, n, &full, &full_len, err);
    if (s == TFM_OK) held = tfm__generate_chat_held(ctx, tok, tmpl, m, n, full, full_len, &text_done);
    /* the turns the context holds stay; the text after them is appended */
    if (s == TFM_OK && held > 0 && tfm_context_rewind(ctx, held, NULL) == TFM_OK) {
        p.append = 1;
        s = tfm_generate_prompt(ctx, tok, sampler, full + text_done, full_len - text_done, &p, stats, err);
    } else if (s == TFM_OK) {
        p.append = 0;
        s = tfm_generate_prompt(ctx, tok, sampler, full, full_len, &p, stats, err);
    }
    TFM_FREE(full);
    if (s != TFM_OK || stats->stop == TFM_STOP_ABORT) return s;
    return tfm_generate_continue(ctx, tok, sampler, &p, stats, err);
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

/* tfm-chat: a conversation with an instruction-tuned model, in the model's chat template.

     tfm-chat -m qwen2.5-0.5b-instruct-q8_0.gguf --system "You are terse."
     printf 'Hi!\nAnd who are you?\n' | tfm-chat -m model.gguf --temp 0      (one answer a line)

   Each line read is a user message; the answer streams to stdout and ends with a newline (when the
   input is not a terminal, one line an answer: its line breaks are written \n, backslashes \\;
   --raw prints them as they are). The
   conversation is rendered with the template the model file carries (tokenizer.chat_template, recognised
   by tfm_chat.h) or the one --template names, and tfm_generate_chat keeps the turns before in the context:
   each turn prefills only its own text. stderr gets one line a turn: what was prefilled, reused and
   generated. Lines starting with '/' are commands:
     /save FILE   the conversation and the context's state, to come back to (written to FILE.tmp, renamed)
     /load FILE   back to a saved conversation: the next message prefills only itself
     /reset       a new conversation (the system message stays)
     /quit        the end (so is the end of the input)
   On a terminal "> " asks for each message on stderr. */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_generate.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_BYTES (1 << 20) /* a message longer than this is refused */

typedef struct options {
    const char *model, *tokenizer, *system, *template_name, *attn;
    long n_predict;
    int n_threads, context, kv, raw;
    tfm_sampler_params sampling;
} options;

static void usage(FILE *out)
{
    int i;
    fprintf(out,
            "usage: tfm-chat -m MODEL [options]\n"
            "A conversation with an instruction-tuned model: each line read is a message, each answer is\n"
            "printed as it is produced. Commands: /save FILE, /load FILE, /reset, /quit.\n"
            "  -m, --model MODEL       model file (GGUF with a vocab; a llama2.c .bin needs -z)\n"
            "  -z TOKENIZER            llama2.c tokenizer.bin (overrides the file's vocab)\n"
            "  --system TEXT           the system message (default: none)\n"
            "  --template NAME         chat template (default: the one the model file carries); one of\n"
            "                         ");
    for (i = 0; tfm_chat_template_at(i); i++) fprintf(out, " %s", tfm_chat_template_name(tfm_chat_template_at(i)));
    fprintf(out,
            "\n"
            "  -n, --n-predict N       tokens an answer may have at most (default 1024; 0: until the end of\n"
            "                          the turn or of the context)\n"
            "  --temp T                temperature, 0 = greedy (default 0.8)\n"
            "  --top-p P               nucleus sampling (default 0.95; 1 = off)\n"
            "  --top-k K               the K most likely tokens (default 40; 0 = off)\n"
            "  --min-p P               drop tokens less likely than P x the most likely (default 0.05)\n"
            "  --repeat-penalty R      penalise tokens already in the text (default 1 = off)\n"
            "  -s, --seed S            random seed (default: the time)\n"
            "  -t, --threads T         threads (default: all cores, %d here)\n"
            "  -c, --ctx-size N        positions the conversation may take (default: the model's, at most %d)\n"
            "  --attn SPEC, --kv-type T  attention and KV cache storage, as tfm-generate\n"
            "  --raw                   when the input is not a terminal, print answers as they are (default:\n"
            "                          one line each, line breaks written \\n and backslashes \\\\)\n"
            "  -h, --help              this help\n"
            "  --version               the version\n",
            tfm_default_threads(), TFM_DEFAULT_CONTEXT);
}

static int parse_args(int argc, char **argv, options *o)
{
    static const char *const kv_types[] = {"f32", "i8"};
    tfm_args a;
    memset(o, 0, sizeof *o);
    o->n_predict = 1024;
    tfm_sampler_params_default(&o->sampling);
    /* llama.cpp's chat defaults */
    o->sampling.temperature = 0.8f, o->sampling.top_p = 0.95f, o->sampling.top_k = 40, o->sampling.min_p = 0.05f;
    o->sampling.seed = (uint64_t)time(NULL);
    tfm_args_init(&a, "tfm-chat", argc, argv, usage);
    while (tfm_args_next(&a)) {
        if (tfm_args_string(&a, "-m", "--model", &o->model) || tfm_args_string(&a, "-z", NULL, &o->tokenizer) ||
            tfm_args_string(&a, NULL, "--system", &o->system) ||
            tfm_args_string(&a, NULL, "--template", &o->template_name) ||
            tfm_args_long(&a, "-n", "--n-predict", 0, 1L << 30, &o->n_predict) ||
            tfm_args_float(&a, NULL, "--temp", 0, 0, 1e30, &o->sampling.temperature) ||
            tfm_args_float(&a, NULL, "--top-p", 0, 1, 1, &o->sampling.top_p) ||
            tfm_args_int(&a, NULL, "--top-k", 0, 1 << 30, &o->sampling.top_k) ||
            tfm_args_float(&a, NULL, "--min-p", 0, 0, 1, &o->sampling.min_p) ||
            tfm_args_float(&a, NULL, "--repeat-penalty", 0, 1, 1e30, &o->sampling.repeat_penalty) ||
            tfm_args_u64(&a, "-s", "--seed", &o->sampling.seed) ||
            tfm_args_int(&a, "-t", "--threads", 1, 1 << 20, &o->n_threads) ||
            tfm_args_int(&a, "-c", "--ctx-size", 1, 1 << 24, &o->context) ||
            tfm_args_string(&a, NULL, "--attn", &o->attn) || tfm_args_choice(&a, NULL, "--kv-type", kv_types, 2, &o->kv) ||
            tfm_args_flag(&a, NULL, "--raw", &o->raw))
            continue;
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status;
    if (!o->model) return tfm_args_fail(&a, "give a model: -m MODEL");
    return 0;
}

/* ---------------------------------------------------------------- the conversation */

typedef struct conversation {
    tfm_chat_message *m; /* roles and contents are owned copies */
    int n, cap;
} conversation;

static int conv_add(conversation *c, const char *role, const char *content, size_t len)
{
    char *r, *t;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        tfm_chat_message *m = (tfm_chat_message *)realloc(c->m, sizeof *m * (size_t)cap);
        if (!m) return 0;
        c->m = m, c->cap = cap;
    }
    r = (char *)malloc(strlen(role) + 1);
    t = (char *)malloc(len + 1);
    if (!r || !t) {
        free(r), free(t);
        return 0;
    }
    strcpy(r, role);
    memcpy(t, content, len);
    t[len] = '\0';
    c->m[c->n].role = r, c->m[c->n].content = t;
    c->n++;
    return 1;
}

static void conv_drop_last(conversation *c)
{
    if (c->n == 0) return;
    c->n--;
    free((void *)c->m[c->n].role), free((void *)c->m[c->n].content);
}

static void conv_clear(conversation *c)
{
    while (c->n) conv_drop_last(c);
}

/* ---------------------------------------------------------------- /save and /load */

/* A saved chat: "TFMCHAT1", u32 message count, each message as u32 length + role, u32 length + content
   (little-endian), then the context's state as tfm_context_state_write writes it. */
static tfm_status write_bytes(void *user, const void *data, size_t n)
{
    return fwrite(data, 1, n, (FILE *)user) == n ? TFM_OK : TFM_ERR_IO;
}

static tfm_status read_bytes(void *user, void *data, size_t n)
{
    FILE *f = (FILE *)user;
    if (fread(data, 1, n, f) == n) return TFM_OK;
    return ferror(f) ? TFM_ERR_IO : TFM_ERR_FORMAT;
}

static int put_u32(FILE *f, uint32_t v)
{
    unsigned char b[4];
    b[0] = (unsigned char)v, b[1] = (unsigned char)(v >> 8), b[2] = (unsigned char)(v >> 16), b[3] = (unsigned char)(v >> 24);
    return fwrite(b, 1, 4, f) == 4;
}

static int get_u32(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return 0;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 1;
}

static int save_chat(const char *path, const conversation *c, const tfm_context *ctx)
{
    char tmp[4096];
    FILE *f;
    tfm_error err;
    int i, ok;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "tfm-chat: the path is too long\n");
        return 0;
    }
    if (!(f = fopen(tmp, "wb"))) {
        fprintf(stderr, "tfm-chat: cannot create '%s': %s\n", tfm_args_quote(tmp), strerror(errno));
        return 0;
    }
    ok = fwrite("TFMCHAT1", 1, 8, f) == 8 && put_u32(f, (uint32_t)c->n);
    for (i = 0; i < c->n && ok; i++) {
        size_t lr = strlen(c->m[i].role), lc = strlen(c->m[i].content);
        ok = put_u32(f, (uint32_t)lr) && fwrite(c->m[i].role, 1, lr, f) == lr && put_u32(f, (uint32_t)lc) &&
             fwrite(c->m[i].content, 1, lc, f) == lc;
    }
    if (ok && tfm_context_state_write(ctx, write_bytes, f, &err) != TFM_OK) {
        fprintf(stderr, "tfm-chat: %s\n", err.message);
        ok = 0;
    }
    if (fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) {
        remove(path); /* where rename does not replace (Windows) */
        ok = rename(tmp, path) == 0;
    }
    if (!ok) {
        fprintf(stderr, "tfm-chat: cannot write '%s'\n", tfm_args_quote(path));
        remove(tmp);
    }
    return ok;
}

/* Replaces the conversation and the context by the file's; on failure both are empty. */
static int load_chat(const char *path, conversation *c, tfm_context *ctx)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    uint32_t n = 0, i;
    tfm_error err;
    int ok;
    conv_clear(c);
    tfm_context_reset(ctx);
    if (!f) {
        fprintf(stderr, "tfm-chat: cannot open '%s': %s\n", tfm_args_quote(path), strerror(errno));
        return 0;
    }
    ok = fread(magic, 1, 8, f) == 8 && memcmp(magic, "TFMCHAT1", 8) == 0 && get_u32(f, &n) && n <= (1u << 20);
    for (i = 0; i < n && ok; i++) {
        uint32_t lr, lc;
        char *role = NULL, *content = NULL;
        ok = get_u32(f, &lr) && lr < 64 && (role = (char *)malloc(lr + 1)) && fread(role, 1, lr, f) == lr &&
             get_u32(f, &lc) && lc <= LINE_MAX_BYTES * 16u && (content = (char *)malloc((size_t)lc + 1)) &&
             fread(content, 1, lc, f) == lc;
        if (ok) {
            role[lr] = '\0';
            ok = conv_add(c, role, content, lc);
        }
        free(role), free(content);
    }
    if (!ok) fprintf(stderr, "tfm-chat: '%s' is not a saved chat (or is cut short)\n", tfm_args_quote(path));
    else if (tfm_context_state_read(ctx, read_bytes, f, &err) != TFM_OK) {
        fprintf(stderr, "tfm-chat: '%s': %s\n", tfm_args_quote(path), err.message);
        ok = 0;
    } else if (fgetc(f) != EOF) {
        fprintf(stderr, "tfm-chat: '%s' has bytes after the saved chat\n", tfm_args_quote(path));
        ok = 0;
    }
    fclose(f);
    if (!ok) {
        conv_clear(c);
        tfm_context_reset(ctx);
    }
    return ok;
}

/* ---------------------------------------------------------------- one turn */

typedef struct answer {
    char *text;
    size_t len, cap;
    int write_failed;
    int one_line; /* line breaks written as \n (and \ as \\): one line an answer */
} answer;

static int write_text(const char *text, size_t len, int one_line)
{
    size_t i, from = 0;
    if (!one_line) return fwrite(text, 1, len, stdout) == len;
    for (i = 0; i < len; i++)
        if (text[i] == '\n' || text[i] == '\r' || text[i] == '\\') {
            const char *esc = text[i] == '\n' ? "\\n" : text[i] == '\r' ? "\\r" : "\\\\";
            if (fwrite(text + from, 1, i - from, stdout) != i - from || fputs(esc, stdout) == EOF) return 0;
            from = i + 1;
        }
    return fwrite(text + from, 1, len - from, stdout) == len - from;
}

static int on_piece(void *user, const char *text, size_t len)
{
    answer *a = (answer *)user;
    if (a->len + len + 1 > a->cap) {
        size_t cap = (a->len + len + 1) * 2;
        char *t = (char *)realloc(a->text, cap);
        if (!t) return 1;
        a->text = t, a->cap = cap;
    }
    memcpy(a->text + a->len, text, len);
    a->len += len;
    if (!write_text(text, len, a->one_line) || fflush(stdout) != 0) a->write_failed = 1;
    return a->write_failed;
}

/* Reads one line (without its end) into *line; 0 at the end of the input. */
static int read_line(char **line, size_t *cap, size_t *len)
{
    size_t n = 0;
    int ch;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (n + 2 > *cap) {
            size_t bigger = *cap ? 2 * *cap : 256;
            char *l = (char *)realloc(*line, bigger);
            if (!l) return 0;
            *line = l, *cap = bigger;
        }
        if (n < LINE_MAX_BYTES) (*line)[n++] = (char)ch;
    }
    if (ch == EOF && n == 0) return 0;
    if (!*line && !(*line = (char *)malloc(*cap = 1))) return 0;
    if (n && (*line)[n - 1] == '\r') n--;
    (*line)[n] = '\0';
    *len = n;
    return 1;
}

int main(int argc, char **argv)
{
    options o;
    tfm_model *model = NULL;
    tfm_tokenizer *own_tok = NULL;
    const tfm_tokenizer *tok;
    tfm_context *ctx = NULL;
    tfm_sampler *sampler = NULL;
    const tfm_chat_template *tmpl = NULL;
    tfm_context_params cp;
    conversation conv;
    answer ans;
    tfm_error err;
    char *line = NULL;
    size_t line_cap = 0, line_len;
    int status, interactive = 0, turn = 0;

#if defined(TFM_ARGS_POSIX)
    signal(SIGPIPE, SIG_IGN);
    interactive = isatty(fileno(stdin));
#endif
    if ((status = parse_args(argc, argv, &o)) != 0 || !o.model) return status;
    memset(&conv, 0, sizeof conv);
    memset(&ans, 0, sizeof ans);
    ans.one_line = !interactive && !o.raw;
    status = 1;
    if (tfm_model_load(o.model, NULL, &model, &err) != TFM_OK ||
        (o.tokenizer && tfm_tokenizer_load_llama2c(&own_tok, o.tokenizer, model->config.vocab_size, &err) != TFM_OK)) {
        fprintf(stderr, "tfm-chat: %s\n", err.message);
        goto done;
    }
    tok = own_tok ? own_tok : tfm_model_tokenizer(model);
    if (!tok) {
        fprintf(stderr, "tfm-chat: '%s' carries no vocab: give its tokenizer with -z TOKENIZER\n", tfm_args_quote(o.model));
        goto done;
    }
    if (tfm_chat_template_find(o.template_name ? o.template_name : tfm_model_chat_template(model), &tmpl, &err) != TFM_OK) {
        fprintf(stderr, "tfm-chat: %s%s\n", o.template_name ? "" : "the model's template: ", err.message);
        goto done;
    }
    memset(&cp, 0, sizeof cp);
    cp.context_length = o.context;
    cp.n_threads = o.n_threads;
    cp.attn = o.attn;
    cp.kv_type = o.kv ? TFM_I8 : TFM_F32;
    if (tfm_context_create(model, &cp, &ctx, &err) != TFM_OK ||
        tfm_sampler_create(&sampler, model->config.vocab_size, &o.sampling, &err) != TFM_OK) {
        fprintf(stderr, "tfm-chat: %s\n", err.message);
        goto done;
    }
    if (o.system && !conv_add(&conv, "system", o.system, strlen(o.system))) goto oom;
    if (interactive)
        fprintf(stderr, "tfm-chat: %s, template %s, %d positions. /save FILE, /load FILE, /reset, /quit\n", o.model,
                tfm_chat_template_name(tmpl), tfm_context_length(ctx));

    status = 0;
    for (;;) {
        tfm_generate_params p;
        tfm_generate_stats st;
        if (interactive) fputs("> ", stderr);
        if (!read_line(&line, &line_cap, &line_len)) break;
        if (line_len == 0) continue;
        if (line[0] == '/') {
            const char *arg = strchr(line, ' ');
            while (arg && *arg == ' ') arg++;
            if (!strcmp(line, "/quit") || !strcmp(line, "/exit")) break;
            if (!strcmp(line, "/reset")) {
                conv_clear(&conv);
                tfm_context_reset(ctx);
                if (o.system && !conv_add(&conv, "system", o.system, strlen(o.system))) goto oom;
                fprintf(stderr, "tfm-chat: a new conversation\n");
            } else if (!strncmp(line, "/save ", 6) && arg && *arg) {
                if (save_chat(arg, &conv, ctx))
                    fprintf(stderr, "tfm-chat: saved %d messages, %d positions to '%s'\n", conv.n, tfm_context_pos(ctx),
                            tfm_args_quote(arg));
                else if (!interactive) status = 1;
            } else if (!strncmp(line, "/load ", 6) && arg && *arg) {
                if (load_chat(arg, &conv, ctx))
                    fprintf(stderr, "tfm-chat: loaded %d messages, %d positions from '%s'\n", conv.n, tfm_context_pos(ctx),
                            tfm_args_quote(arg));
                else {
                    if (o.system && !conv_add(&conv, "system", o.system, strlen(o.system))) goto oom;
                    if (!interactive) status = 1;
                }
            } else {
                fprintf(stderr, "tfm-chat: unknown command '%s' (/save FILE, /load FILE, /reset, /quit)\n",
                        tfm_args_quote(line));
                if (!interactive) status = 1;
            }
            continue;
        }
        if (!conv_add(&conv, "user", line, line_len)) goto oom;
        memset(&p, 0, sizeof p);
        p.max_tokens = (int)o.n_predict;
        p.on_piece = on_piece;
        p.user = &ans;
        ans.len = 0;
        if (tfm_generate_chat(ctx, tok, sampler, tmpl, conv.m, conv.n, &p, &st, &err) != TFM_OK) {
            fprintf(stderr, "tfm-chat: %s\n", err.message);
            conv_drop_last(&conv);
            if (!interactive) {
                status = 1;
                break;
            }
            continue;
        }
        if (ans.write_failed || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
            fprintf(stderr, "tfm-chat: cannot write to stdout\n");
            status = 1;
            break;
        }
        if (!conv_add(&conv, "assistant", ans.len ? ans.text : "", ans.len)) goto oom;
        turn++;
        fprintf(stderr, "[turn %d: prefilled %d tok (%d reused), %.1f tok/s | generated %d tok, %.1f tok/s | %s | %d of %d positions]\n",
                turn, st.n_prefilled, st.n_reused, st.prefill_seconds > 0 ? st.n_prefilled / st.prefill_seconds : 0.0,
                st.n_generated, st.decode_seconds > 0 ? st.n_generated / st.decode_seconds : 0.0,
                tfm_stop_reason_name(st.stop), tfm_context_pos(ctx), tfm_context_length(ctx));
    }
    goto done;
oom:
    fprintf(stderr, "tfm-chat: out of memory\n");
    status = 1;
done:
    conv_clear(&conv);
    free(conv.m);
    free(ans.text);
    free(line);
    tfm_sampler_free(sampler);
    tfm_context_free(ctx);
    tfm_tokenizer_free(own_tok);
    tfm_model_free(model);
    return status;
}

/* tfm-embed: sentence embeddings of texts, one vector a text (or a token), from an encoder (BERT, BGE,
   MiniLM, ...) or a decoder's final hidden states.

     tfm-embed -m bge-small.gguf -p "A cat sat on the mat."                     one vector on one line
     tfm-embed -m bge-small.gguf -f sentences.txt --format f32 > vectors.f32    n x dim little-endian floats
     tfm-embed -m model.gguf -f sentences.txt --pooling cls --format json       {"index": i, "embedding": [...]}

   -f reads one text a line (a final newline ends the last line; an empty line is an empty text: its
   special tokens alone). Each text is tokenized with the vocab's special tokens ([CLS] ... [SEP], or BOS
   as the vocab says), run through the model in batches of --batch texts (tfm_encode: no padding, the
   same vector alone or in any batch) and pooled as --pooling says (default: the file's pooling_type, else
   mean for an encoder and last for a decoder), then L2-normalised unless --no-normalize. --pooling none
   writes one vector per token, the texts' tokens one after the other. A text longer than the model's
   context is an error naming its line: nothing is cut. Errors: one line on stderr, exit status 1 (2 for
   a usage error: tfm_args.h's conventions). */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_embed.h"
#include "tfm_model.h"
#include "tfm_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX ((size_t)1 << 30)

static const char *const pooling_names[] = {"default", "none", "mean", "cls", "last"};
static const char *const format_names[] = {"text", "json", "f32"};
enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_F32 };

typedef struct options {
    const char *model, *prompt, *file;
    int pooling; /* index into pooling_names: tfm_pooling value + 1 */
    int normalize, no_normalize, threads, batch, format, context;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tfm-embed -m MODEL (-p TEXT | -f FILE) [options]\n"
            "Writes the embedding of each text: one vector a line (or a token with --pooling none).\n"
            "  -m, --model MODEL       GGUF model: an encoder (bert) or a decoder, with its vocab\n"
            "  -p, --prompt TEXT       one text\n"
            "  -f, --file FILE         one text a line (/dev/stdin for standard input)\n"
            "  --pooling NAME          mean, cls, last or none (one vector a token); default: the file's\n"
            "                          pooling_type, else mean (encoder) or last (decoder)\n"
            "  --normalize             L2-normalise each vector (the default)\n"
            "  --no-normalize          leave the vectors as pooled\n"
            "  -t, --threads N         threads (default: the machine's)\n"
            "  --batch N               texts a batch (default 32)\n"
            "  -c, --ctx-size N        longest text in tokens (default: the model's context, at most 4096)\n"
            "  --format NAME           text: space-separated floats, one vector a line (default);\n"
            "                          json: {\"index\": i, \"embedding\": [...]} lines;\n"
            "                          f32: raw little-endian floats, n x dim, nothing else\n"
            "  -h, --help              this help\n"
            "  --version               the version\n");
}

static int parse_args(int argc, char **argv, options *o)
{
    tfm_args a;
    memset(o, 0, sizeof *o);
    o->batch = 32;
    tfm_args_init(&a, "tfm-embed", argc, argv, usage);
    while (tfm_args_next(&a)) {
        if (tfm_args_string(&a, "-m", "--model", &o->model) || tfm_args_string(&a, "-p", "--prompt", &o->prompt) ||
            tfm_args_string(&a, "-f", "--file", &o->file) ||
            tfm_args_choice(&a, NULL, "--pooling", pooling_names, 5, &o->pooling) ||
            tfm_args_flag(&a, NULL, "--normalize", &o->normalize) ||
            tfm_args_flag(&a, NULL, "--no-normalize", &o->no_normalize) ||
            tfm_args_int(&a, "-t", "--threads", 1, 1 << 20, &o->threads) ||
            tfm_args_int(&a, NULL, "--batch", 1, 1 << 20, &o->batch) ||
            tfm_args_int(&a, "-c", "--ctx-size", 1, 1 << 24, &o->context) ||
            tfm_args_choice(&a, NULL, "--format", format_names, 3, &o->format))
            continue;
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status == 0 ? -1 : a.status;
    if (!o->model) return tfm_args_fail(&a, "give a model: -m MODEL");
    if (!o->prompt == !o->file) return tfm_args_fail(&a, "give the texts: -p TEXT or -f FILE");
    if (o->normalize && o->no_normalize) return tfm_args_fail(&a, "--normalize and --no-normalize contradict each other");
    return 0;
}

/* The lines of text (cut in place): a final newline ends the last line, a '\r' before a newline goes. */
static char **split_lines(char *text, size_t len, int *count)
{
    char **lines;
    size_t i, n = 1, at = 0;
    if (len > 0 && text[len - 1] == '\n') text[--len] = '\0';
    for (i = 0; i < len; i++) n += text[i] == '\n';
    if (!(lines = (char **)malloc(sizeof(char *) * n))) return NULL;
    lines[at++] = text;
    for (i = 0; i < len; i++)
        if (text[i] == '\n') {
            text[i] = '\0';
            if (i > 0 && text[i - 1] == '\r') text[i - 1] = '\0';
            lines[at++] = text + i + 1;
        }
    if (len > 0 && text[len - 1] == '\r') text[len - 1] = '\0';
    *count = (int)n;
    return lines;
}

static void write_vector(const options *o, const float *v, int dim, int index, int token)
{
    int d;
    if (o->format == FORMAT_F32) {
        fwrite(v, sizeof(float), (size_t)dim, stdout); /* every supported target is little-endian */
        return;
    }
    if (o->format == FORMAT_JSON) {
        if (token >= 0) printf("{\"index\": %d, \"token\": %d, \"embedding\": [", index, token);
        else printf("{\"index\": %d, \"embedding\": [", index);
    }
    for (d = 0; d < dim; d++) printf(d ? (o->format == FORMAT_JSON ? ", %.9g" : " %.9g") : "%.9g", (double)v[d]);
    fputs(o->format == FORMAT_JSON ? "]}\n" : "\n", stdout);
}

/* Embeds texts[0..n) batch by batch and writes the vectors; the exit status. */
static int embed_all(const options *o, const tfm_model *model, tfm_context *ctx, char **texts, int n)
{
    const tfm_tokenizer *tok = tfm_model_tokenizer(model);
    tfm_pooling pooling = (tfm_pooling)(o->pooling - 1);
    int dim = model->config.dim, first, i, j, status = 0;
    int **ids = (int **)calloc((size_t)o->batch, sizeof(int *)), *lens = (int *)calloc((size_t)o->batch, sizeof(int));
    float *out = NULL;
    tfm_error err;
    if (!ids || !lens) {
        fprintf(stderr, "tfm-embed: out of memory\n");
        status = 1;
    }
    for (first = 0; status == 0 && first < n; first += o->batch) {
        int count = n - first < o->batch ? n - first : o->batch;
        size_t rows = 0;
        for (i = 0; status == 0 && i < count; i++) {
            const char *text = texts[first + i];
            int got = 0;
            tfm_status s = tfm_tokenize(tok, text, strlen(text), TFM_TOKENIZE_ADD_SPECIAL, NULL, 0, &got, &err);
            free(ids[i]);
            ids[i] = NULL;
            if (s == TFM_OK && got == 0) s = tfm_error_set(&err, TFM_ERR_INVALID_ARGUMENT, "no tokens (the vocab adds none)");
            if (s == TFM_OK && got > tfm_context_length(ctx))
                s = tfm_error_set(&err, TFM_ERR_CONTEXT_FULL, "%d tokens, more than the context's %d (-c)", got,
                                  tfm_context_length(ctx));
            if (s == TFM_OK && !(ids[i] = (int *)malloc(sizeof(int) * (size_t)got)))
                s = tfm_error_set(&err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
            if (s == TFM_OK) s = tfm_tokenize(tok, text, strlen(text), TFM_TOKENIZE_ADD_SPECIAL, ids[i], got, &lens[i], &err);
            if (s != TFM_OK) {
                fprintf(stderr, "tfm-embed: text %d: %s\n", first + i + 1, err.message);
                status = 1;
            }
            rows += (size_t)lens[i];
        }
        if (status) break;
        free(out);
        out = (float *)malloc(sizeof(float) * (size_t)dim * (pooling == TFM_POOLING_NONE ? rows : (size_t)count));
        if (!out) {
            fprintf(stderr, "tfm-embed: out of memory\n");
            status = 1;
            break;
        }
        if (tfm_embed_tokens(ctx, (const int *const *)ids, lens, count, pooling, !o->no_normalize, out, &err) != TFM_OK) {
            fprintf(stderr, "tfm-embed: texts %d..%d: %s\n", first + 1, first + count, err.message);
            status = 1;
            break;
        }
        rows = 0;
        for (i = 0; i < count; i++) {
            if (pooling != TFM_POOLING_NONE) {
                write_vector(o, out + (size_t)i * (size_t)dim, dim, first + i, -1);
                continue;
            }
            for (j = 0; j < lens[i]; j++, rows++) write_vector(o, out + rows * (size_t)dim, dim, first + i, j);
        }
    }
    if (status == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "tfm-embed: cannot write to stdout\n");
        status = 1;
    }
    for (i = 0; ids && i < o->batch; i++) free(ids[i]);
    free(ids), free(lens), free(out);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    tfm_model *model = NULL;
    tfm_context *ctx = NULL;
    tfm_context_params params;
    tfm_error err;
    char *text = NULL, **lines = NULL, *one[1];
    size_t len = 0;
    int n = 1, status = parse_args(argc, argv, &o);
    if (status != 0) return status < 0 ? 0 : status;
    if (tfm_model_load(o.model, NULL, &model, &err) != TFM_OK) {
        fprintf(stderr, "tfm-embed: %s\n", err.message);
        return 1;
    }
    if (!tfm_model_tokenizer(model)) {
        fprintf(stderr, "tfm-embed: %s has no vocab (tokenizer.ggml.*)\n", tfm_args_quote(o.model));
        tfm_model_free(model);
        return 1;
    }
    memset(&params, 0, sizeof params);
    params.context_length = o.context;
    params.n_threads = o.threads;
    if (tfm_context_create(model, &params, &ctx, &err) != TFM_OK) {
        fprintf(stderr, "tfm-embed: %s\n", err.message);
        tfm_model_free(model);
        return 1;
    }
    if (o.file) {
        text = tfm_args_read_file("tfm-embed", o.file, TEXT_MAX, &len);
        if (text && !(lines = split_lines(text, len, &n))) fprintf(stderr, "tfm-embed: out of memory\n");
        status = lines ? embed_all(&o, model, ctx, lines, n) : 1;
    } else {
        one[0] = (char *)o.prompt;
        status = embed_all(&o, model, ctx, one, 1);
    }
    free(lines), free(text);
    tfm_context_free(ctx);
    tfm_model_free(model);
    return status;
}

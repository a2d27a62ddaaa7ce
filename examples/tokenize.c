/* tfm-tokenize: the token ids of a text under a model's vocab.

     tfm-tokenize -m ggml-vocab-llama3.gguf -p "Hello world"           one "id<TAB>piece" a line
     tfm-tokenize -m qwen3.gguf -f prompt.txt --ids --parse-special      the ids on one line

   -m takes any GGUF file with a vocab (a vocab-only one is enough) or a llama2.c tokenizer.bin. BOS/EOS
   ([CLS]/[SEP]) are added as the vocab says (tokenizer.ggml.add_bos_token/add_eos_token) unless --no-bos;
   special tokens written in the text stay text unless --parse-special. A piece is printed with C escapes
   for backslash, control characters and bytes that are not whole UTF-8 characters; a control token as its
   text. Errors: one line on stderr, exit status 1 (2 for a usage error: tfm_args.h's conventions). */
#include "tfm_args.h"

#define TFM_IMPLEMENTATION
#include "tfm_model.h"
#include "tfm_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest text -f reads. */
#define TEXT_MAX ((size_t)256 << 20)

typedef struct options {
    const char *model, *prompt, *file;
    int ids_only, no_bos, parse_special;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tfm-tokenize -m MODEL (-p TEXT | -f FILE) [--ids] [--no-bos] [--parse-special]\n"
            "Prints the tokens of a text.\n"
            "  -m, --model MODEL    GGUF file with a vocab (tokenizer.ggml.*; a vocab-only file is enough)\n"
            "                       or a llama2.c tokenizer.bin\n"
            "  -p, --prompt TEXT    the text\n"
            "  -f, --file FILE      the text is the file's bytes (/dev/stdin for standard input)\n"
            "  --ids                print only the ids, on one line, separated by spaces\n"
            "                       (default: one line per token: id, a tab, the piece)\n"
            "  --no-bos             add no BOS/EOS ([CLS]/[SEP]); default: as the vocab says\n"
            "  --parse-special      special tokens written in the text (<|im_start|>, <s>, [CLS], ...) are\n"
            "                       those tokens; default: they are text (user-defined tokens match either way)\n"
            "  -h, --help           this help\n"
            "  --version            the version\n");
}

/* 0 to go on; else the exit status (0 after --help or --version, 2 after a usage error). */
static int parse_args(int argc, char **argv, options *o)
{
    tfm_args a;
    memset(o, 0, sizeof *o);
    tfm_args_init(&a, "tfm-tokenize", argc, argv, usage);
    while (tfm_args_next(&a)) {
        if (tfm_args_string(&a, "-m", "--model", &o->model) || tfm_args_string(&a, "-p", "--prompt", &o->prompt) ||
            tfm_args_string(&a, "-f", "--file", &o->file) || tfm_args_flag(&a, NULL, "--ids", &o->ids_only) ||
            tfm_args_flag(&a, NULL, "--no-bos", &o->no_bos) ||
            tfm_args_flag(&a, NULL, "--parse-special", &o->parse_special))
            continue;
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status == 0 ? -1 : a.status;
    if (!o->model) return tfm_args_fail(&a, "give a vocab: -m MODEL");
    if (!o->prompt == !o->file) return tfm_args_fail(&a, "give one text: -p TEXT or -f FILE");
    return 0;
}

/* The tokenizer of a GGUF file, or of a llama2.c tokenizer.bin (anything that does not start "GGUF"). */
static tfm_status load(const char *path, tfm_tokenizer **tok, tfm_error *err)
{
    char magic[4] = {0, 0, 0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) return tfm_error_set(err, TFM_ERR_IO, "cannot open '%s'", tfm_args_quote(path));
    if (fread(magic, 1, 4, f) != 4) magic[0] = 0;
    fclose(f);
    if (memcmp(magic, "GGUF", 4) == 0) return tfm_model_load_vocab(path, tok, err);
    return tfm_tokenizer_load_llama2c(tok, path, 0, err);
}

/* A piece with C escapes where the bytes are not printable text or whole UTF-8 characters. */
static void print_piece(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = (unsigned char)p[i];
        size_t len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0, k;
        for (k = 1; len > 1 && k < len && i + k < n && ((unsigned char)p[i + k] & 0xc0) == 0x80; k++) {
        }
        if (len > 1 && k == len) {
            fwrite(p + i, 1, len, stdout);
            i += len;
            continue;
        }
        if (b == '\\') fputs("\\\\", stdout);
        else if (b == '\n') fputs("\\n", stdout);
        else if (b == '\t') fputs("\\t", stdout);
        else if (b == '\r') fputs("\\r", stdout);
        else if (b < 0x20 || b >= 0x7f) printf("\\x%02x", b);
        else putchar(b);
        i++;
    }
}

/* Tokenizes text and prints the tokens; the exit status. */
static int print_tokens(const options *o, const tfm_tokenizer *tok, const char *text, size_t len)
{
    int flags = (o->no_bos ? 0 : TFM_TOKENIZE_ADD_SPECIAL) | (o->parse_special ? TFM_TOKENIZE_PARSE_SPECIAL : 0);
    int *ids, n = 0, i;
    tfm_error err;
    if (tfm_tokenize(tok, text, len, flags, NULL, 0, &n, &err) != TFM_OK) {
        fprintf(stderr, "tfm-tokenize: %s\n", err.message);
        return 1;
    }
    if (!(ids = (int *)malloc(sizeof(int) * (size_t)(n ? n : 1)))) {
        fprintf(stderr, "tfm-tokenize: out of memory\n");
        return 1;
    }
    if (tfm_tokenize(tok, text, len, flags, ids, n, &n, &err) != TFM_OK) {
        fprintf(stderr, "tfm-tokenize: %s\n", err.message);
        free(ids);
        return 1;
    }
    for (i = 0; i < n; i++) {
        const char *piece;
        size_t m;
        tfm_token_type type;
        if (o->ids_only) {
            printf(i ? " %d" : "%d", ids[i]);
            continue;
        }
        tfm_tokenizer_token(tok, ids[i], &piece, &m, NULL, &type);
        if (type == TFM_TOKEN_BYTE) tfm_tokenizer_decode(tok, -1, ids[i], &piece, &m);
        printf("%d\t", ids[i]);
        print_piece(piece, m);
        putchar('\n');
    }
    if (o->ids_only) putchar('\n');
    free(ids);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tfm-tokenize: cannot write to stdout\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    tfm_tokenizer *tok = NULL;
    tfm_error err;
    char *text;
    size_t len = 0;
    int status = parse_args(argc, argv, &o);
    if (status != 0) return status < 0 ? 0 : status;
    if (load(o.model, &tok, &err) != TFM_OK) {
        fprintf(stderr, "tfm-tokenize: %s\n", err.message);
        return 1;
    }
    text = o.file ? tfm_args_read_file("tfm-tokenize", o.file, TEXT_MAX, &len) : (char *)o.prompt;
    if (!o.file) len = strlen(o.prompt);
    status = text ? print_tokens(&o, tok, text, len) : 1;
    if (o.file) free(text);
    tfm_tokenizer_free(tok);
    return status;
}

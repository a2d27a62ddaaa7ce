/* tfm-tokenize: the token ids of a text under a model's vocab.

     tfm-tokenize -m ggml-vocab-llama3.gguf -p "Hello world"           one "id<TAB>piece" a line
     tfm-tokenize -m qwen3.gguf -f prompt.txt --ids --parse-special      the ids on one line

   -m takes any GGUF file with a vocab (a vocab-only one is enough) or a llama2.c tokenizer.bin. BOS/EOS
   ([CLS]/[SEP]) are added as the vocab says (tokenizer.ggml.add_bos_token/add_eos_token) unless --no-bos;
   special tokens written in the text stay text unless --parse-special. A piece is printed with C escapes
   for backslash, control characters and bytes that are not whole UTF-8 characters; a control token as its
   text. Errors: one line on stderr, exit status 1 (2 for bad arguments). */
#define TFM_IMPLEMENTATION
#include "tfm_model.h"
#include "tfm_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct options {
    const char *model, *prompt, *file;
    int ids_only, no_bos, parse_special;
} options;

static void usage(void)
{
    printf("usage: tfm-tokenize -m MODEL (-p TEXT | -f FILE) [--ids] [--no-bos] [--parse-special]\n"
           "Prints the tokens of a text.\n"
           "  -m MODEL          GGUF file with a vocab (tokenizer.ggml.*; a vocab-only file is enough)\n"
           "                    or a llama2.c tokenizer.bin\n"
           "  -p TEXT           the text\n"
           "  -f FILE           the text is the file's bytes (- for stdin)\n"
           "  --ids             print only the ids, on one line, separated by spaces\n"
           "                    (default: one line per token: id, a tab, the piece)\n"
           "  --no-bos          add no BOS/EOS ([CLS]/[SEP]); default: as the vocab says\n"
           "  --parse-special   special tokens written in the text (<|im_start|>, <s>, [CLS], ...) are\n"
           "                    those tokens; default: they are text (user-defined tokens match either way)\n"
           "  -h, --help        this help\n");
}

static int parse_args(int argc, char **argv, options *o)
{
    int i;
    memset(o, 0, sizeof *o);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        }
        if (!strcmp(a, "--ids")) o->ids_only = 1;
        else if (!strcmp(a, "--no-bos")) o->no_bos = 1;
        else if (!strcmp(a, "--parse-special")) o->parse_special = 1;
        else if (!strcmp(a, "-m") || !strcmp(a, "-p") || !strcmp(a, "-f")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tfm-tokenize: %s without its value (see --help)\n", a);
                return 0;
            }
            if (a[1] == 'm') o->model = argv[++i];
            else if (a[1] == 'p') o->prompt = argv[++i];
            else o->file = argv[++i];
        } else {
            fprintf(stderr, "tfm-tokenize: unknown argument '%s' (see --help)\n", a);
            return 0;
        }
    }
    if (!o->model || (!o->prompt) == (!o->file)) {
        fprintf(stderr, "tfm-tokenize: give -m MODEL and one of -p TEXT or -f FILE (see --help)\n");
        return 0;
    }
    return 1;
}

/* The whole of a file (or stdin) into memory; NULL with a message on failure. */
static char *read_all(const char *path, size_t *size)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    size_t cap = 1 << 16, n = 0;
    char *buf;
    if (!f) {
        fprintf(stderr, "tfm-tokenize: cannot open '%s'\n", path);
        return NULL;
    }
    buf = (char *)malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            char *grown = cap <= (size_t)-1 / 2 ? (char *)realloc(buf, cap * 2) : NULL;
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    if (f != stdin) fclose(f);
    if (!buf) fprintf(stderr, "tfm-tokenize: cannot read '%s'\n", path);
    *size = n;
    return buf;
}

/* The tokenizer of a GGUF file, or of a llama2.c tokenizer.bin (anything that does not start "GGUF"). */
static tfm_status load(const char *path, tfm_tokenizer **tok, tfm_error *err)
{
    char magic[4] = {0, 0, 0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) return tfm_error_set(err, TFM_ERR_IO, "cannot open '%s'", path);
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
    int status;
    if (!parse_args(argc, argv, &o)) return 2;
    if (load(o.model, &tok, &err) != TFM_OK) {
        fprintf(stderr, "tfm-tokenize: %s\n", err.message);
        return 1;
    }
    text = o.file ? read_all(o.file, &len) : (char *)o.prompt;
    if (!o.file) len = strlen(o.prompt);
    status = text ? print_tokens(&o, tok, text, len) : 1;
    if (o.file) free(text);
    tfm_tokenizer_free(tok);
    return status;
}

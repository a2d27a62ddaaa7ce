/* tfm-retrieve: the retrieval step of retrieval-augmented generation, as an example of tfm_embed.h.

     tfm-retrieve index -m bge-small.gguf -f manual.txt -o manual.idx
     tfm-retrieve query -i manual.idx -q "how do I reset the device?" -k 5

   index cuts the document into passages (its paragraphs; one longer than --max-tokens tokens into runs of
   sentences that fit), embeds each (the model's pooling, L2-normalised) and writes an index: the vectors,
   each passage's byte span in the document, the model's fingerprint, and the paths of the model and the
   document as given. query embeds the question with the same model (the index's, or -m), finds the k
   passages of highest cosine similarity by one pass over the index (tfm_embed_search) and prints each
   with its score, read from the document (the index's, or -f). A model other than the index's, a
   document changed since, or a corrupted index is an error. stderr's last line: the query's time. */
#include "tfm_args.h" /* first: the command-line conventions of every tfm tool (and POSIX) */

#define TFM_IMPLEMENTATION
#include "tfm_embed.h"
#include "tfm_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct options {
    const char *command, *model, *file, *out, *index, *query;
    long k, max_tokens, batch;
    int n_threads;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tfm-retrieve index -m MODEL -f DOCUMENT -o INDEX [--max-tokens N] [--batch N] [-t N]\n"
            "       tfm-retrieve query -i INDEX -q TEXT [-k K] [-m MODEL] [-f DOCUMENT] [-t N]\n"
            "index: cuts DOCUMENT into passages (paragraphs; longer ones into runs of sentences of at most\n"
            "       --max-tokens tokens, default 256 or the model's context), embeds them, writes INDEX.\n"
            "query: prints the K (default 5) passages most similar to TEXT, best first, with their cosine.\n"
            "       The model and the document are the ones the index names unless -m / -f say otherwise.\n"
            "  --batch N         passages per batch when indexing (default 32)\n"
            "  -t, --threads N   threads (default: all cores, %d here)\n"
            "  -h, --help        this help\n"
            "  --version         the version\n",
            tfm_default_threads());
}

/* 1: go on; else the exit status (0 after --help or --version, 2 after a usage error) + 10 */
static int parse_args(int argc, char **argv, options *o)
{
    tfm_args a;
    memset(o, 0, sizeof *o);
    o->k = 5;
    o->max_tokens = 256;
    o->batch = 32;
    tfm_args_init(&a, "tfm-retrieve", argc, argv, usage);
    while (tfm_args_next(&a)) {
        if (tfm_args_string(&a, "-m", "--model", &o->model) || tfm_args_string(&a, "-f", "--file", &o->file) ||
            tfm_args_string(&a, "-o", "--output", &o->out) || tfm_args_string(&a, "-i", "--index", &o->index) ||
            tfm_args_string(&a, "-q", "--query", &o->query) || tfm_args_long(&a, "-k", NULL, 1, 1 << 20, &o->k) ||
            tfm_args_long(&a, NULL, "--max-tokens", 8, 1 << 20, &o->max_tokens) ||
            tfm_args_long(&a, NULL, "--batch", 1, 1 << 20, &o->batch) ||
            tfm_args_int(&a, "-t", "--threads", 1, 1 << 20, &o->n_threads) || tfm_args_positional(&a, &o->command))
            continue;
        tfm_args_unknown(&a);
    }
    if (a.status >= 0) return a.status + 10;
    if (!o->command || (strcmp(o->command, "index") && strcmp(o->command, "query")))
        return tfm_args_fail(&a, "the command is index or query") + 10;
    if (!strcmp(o->command, "index") && (!o->model || !o->file || !o->out))
        return tfm_args_fail(&a, "index needs -m MODEL, -f DOCUMENT and -o INDEX") + 10;
    if (!strcmp(o->command, "query") && (!o->index || !o->query))
        return tfm_args_fail(&a, "query needs -i INDEX and -q TEXT") + 10;
    return 1;
}

/* The model (with its vocab) and a context to embed with. */
static int open_model(const char *path, int n_threads, tfm_model **model, tfm_context **ctx)
{
    tfm_context_params p;
    tfm_error err;
    memset(&p, 0, sizeof p);
    p.n_threads = n_threads;
    if (tfm_model_load(path, NULL, model, &err) != TFM_OK) {
        fprintf(stderr, "tfm-retrieve: %s\n", err.message);
        return 0;
    }
    if (!tfm_model_tokenizer(*model)) {
        fprintf(stderr, "tfm-retrieve: %s has no vocab (tokenizer.ggml.*)\n", tfm_args_quote(path));
        return 0;
    }
    if (tfm_context_create(*model, &p, ctx, &err) != TFM_OK) {
        fprintf(stderr, "tfm-retrieve: %s\n", err.message);
        return 0;
    }
    return 1;
}

static int run_index(const options *o)
{
    tfm_model *model = NULL;
    tfm_context *ctx = NULL;
    tfm_embed_index index;
    tfm_pooling pooling;
    tfm_file_map doc;
    tfm_error err;
    uint64_t *spans = NULL;
    float *vectors = NULL;
    const char **texts = NULL;
    size_t *lens = NULL;
    int count = 0, i, dim, budget, rc = 1;
    double t0 = tfm_args_seconds();
    memset(&doc, 0, sizeof doc);
    if (!open_model(o->model, o->n_threads, &model, &ctx)) goto done;
    pooling = tfm_embed_default_pooling(model);
    if (tfm_file_map_open(&doc, o->file, 0, &err) != TFM_OK) {
        fprintf(stderr, "tfm-retrieve: %s\n", err.message);
        goto done;
    }
    /* the budget leaves room for the special tokens the model adds around a text */
    {
        int specials = 0;
        tfm_tokenize(tfm_model_tokenizer(model), "", 0, TFM_TOKENIZE_ADD_SPECIAL, NULL, 0, &specials, NULL);
        budget = tfm_context_length(ctx) - specials;
        if (o->max_tokens < budget) budget = (int)o->max_tokens;
    }
    if (tfm_embed_passages(tfm_model_tokenizer(model), (const char *)doc.data, doc.size, budget, &spans, &count, &err) !=
        TFM_OK) {
        fprintf(stderr, "tfm-retrieve: %s: %s\n", tfm_args_quote(o->file), err.message);
        goto done;
    }
    if (count == 0) {
        fprintf(stderr, "tfm-retrieve: %s has no text to index\n", tfm_args_quote(o->file));
        goto done;
    }
    dim = model->config.dim;
    vectors = (float *)malloc(sizeof(float) * (size_t)count * (size_t)dim);
    texts = (const char **)malloc(sizeof(char *) * (size_t)count);
    lens = (size_t *)malloc(sizeof(size_t) * (size_t)count);
    if (!vectors || !texts || !lens) {
        fprintf(stderr, "tfm-retrieve: out of memory for %d passages\n", count);
        goto done;
    }
    for (i = 0; i < count; i++) {
        texts[i] = (const char *)doc.data + spans[2 * i];
        lens[i] = (size_t)(spans[2 * i + 1] - spans[2 * i]);
    }
    for (i = 0; i < count; i += (int)o->batch) {
        int n = count - i < o->batch ? count - i : (int)o->batch;
        if (tfm_embed_texts(ctx, texts + i, lens + i, n, pooling, 1, vectors + (size_t)i * (size_t)dim, &err) != TFM_OK) {
            fprintf(stderr, "tfm-retrieve: passages %d..%d: %s\n", i + 1, i + n, err.message);
            goto done;
        }
    }
    memset(&index, 0, sizeof index);
    index.dim = dim;
    index.count = count;
    index.pooling = pooling;
    index.normalized = 1;
    index.model_fingerprint = tfm_model_fingerprint(model);
    index.model_path = o->model;
    index.document_path = o->file;
    index.document_bytes = doc.size;
    index.document_hash = tfm_hash64(doc.data, doc.size, 0);
    index.vectors = vectors;
    index.spans = spans;
    if (tfm_embed_index_write(o->out, &index, &err) != TFM_OK) {
        fprintf(stderr, "tfm-retrieve: %s\n", err.message);
        goto done;
    }
    fprintf(stderr, "indexed %d passages of %s (at most %d tokens each, dim %d, %s pooling) in %.2f s: %s\n", count,
            tfm_args_quote(o->file), budget, dim, tfm_pooling_name(index.pooling), tfm_args_seconds() - t0,
            tfm_args_quote(o->out));
    rc = 0;
done:
    tfm_context_free(ctx);
    tfm_model_free(model);
    tfm_file_map_close(&doc);
    tfm_embed_free(spans);
    free(vectors);
    free(texts);
    free(lens);
    return rc;
}

/* A passage on one line: its whitespace runs as single spaces. */
static void print_passage(const char *text, size_t len)
{
    size_t i;
    int space = 0;
    for (i = 0; i < len; i++) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') space = 1;
        else {
            if (space) putchar(' ');
            putchar(c);
            space = 0;
        }
    }
    putchar('\n');
}

static int run_query(const options *o)
{
    tfm_embed_index index;
    tfm_model *model = NULL;
    tfm_context *ctx = NULL;
    tfm_file_map doc;
    tfm_error err;
    tfm_embed_hit *hits = NULL;
    float *query = NULL;
    const char *model_path, *doc_path;
    int n_hits = 0, i, rc = 1;
    double t0, t1, t2;
    memset(&doc, 0, sizeof doc);
    if (tfm_embed_index_load(&index, o->index, &err) != TFM_OK) {
        fprintf(stderr, "tfm-retrieve: %s\n", err.message);
        return 1;
    }
    model_path = o->model ? o->model : index.model_path;
    doc_path = o->file ? o->file : index.document_path;
    if (!open_model(model_path, o->n_threads, &model, &ctx)) goto done;
    if (tfm_model_fingerprint(model) != index.model_fingerprint || model->config.dim != index.dim) {
        fprintf(stderr, "tfm-retrieve: %s is not the model that made %s (its fingerprint differs): query with the "
                        "index's model, or index again\n", tfm_args_quote(model_path), tfm_args_quote(o->index));
        goto done;
    }
    if (tfm_file_map_open(&doc, doc_path, 0, &err) != TFM_OK) {
        fprintf(stderr, "tfm-retrieve: the document of %s: %s\n", o->index, err.message);
        goto done;
    }
    if (doc.size != index.document_bytes || tfm_hash64(doc.data, doc.size, 0) != index.document_hash) {
        fprintf(stderr, "tfm-retrieve: %s has changed since %s was made: index it again\n", tfm_args_quote(doc_path),
                tfm_args_quote(o->index));
        goto done;
    }
    query = (float *)malloc(sizeof(float) * (size_t)index.dim);
    hits = (tfm_embed_hit *)malloc(sizeof(tfm_embed_hit) * (size_t)o->k);
    if (!query || !hits) {
        fprintf(stderr, "tfm-retrieve: out of memory\n");
        goto done;
    }
    t0 = tfm_args_seconds();
    if (tfm_embed_texts(ctx, &o->query, NULL, 1, index.pooling, index.normalized, query, &err) != TFM_OK) {
        fprintf(stderr, "tfm-retrieve: the query: %s\n", err.message);
        goto done;
    }
    t1 = tfm_args_seconds();
    if (tfm_embed_search(index.vectors, index.count, index.dim, query, (int)o->k, NULL, hits, &n_hits, o->n_threads) !=
        TFM_OK) {
        fprintf(stderr, "tfm-retrieve: search failed\n");
        goto done;
    }
    t2 = tfm_args_seconds();
    for (i = 0; i < n_hits; i++) {
        const uint64_t *span = index.spans + 2 * hits[i].index;
        printf("%d\t%.4f\tpassage %d (bytes %llu..%llu)\n", i + 1, hits[i].score, hits[i].index,
               (unsigned long long)span[0], (unsigned long long)span[1]);
        print_passage((const char *)doc.data + span[0], (size_t)(span[1] - span[0]));
    }
    fflush(stdout);
    fprintf(stderr, "query: embedded in %.2f ms, searched %d passages (%.1f MB) in %.2f ms\n", (t1 - t0) * 1e3,
            index.count, (double)index.count * index.dim * 4 * 1e-6, (t2 - t1) * 1e3);
    rc = 0;
done:
    tfm_context_free(ctx);
    tfm_model_free(model);
    tfm_file_map_close(&doc);
    tfm_embed_index_free(&index);
    free(query);
    free(hits);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 1) return parsed - 10;
    return !strcmp(o.command, "index") ? run_index(&o) : run_query(&o);
}

/* fuzz_embed_index.c - retrieval index bytes (tfm_embed.h's TFMINDEX file) into its parser, then a search
   of the index. The file's two checksums would stop nearly every mutation at the first check, so the
   harness recomputes them for the input as mutated (when its header's layout fits the input) before
   parsing: the mutations reach the checks after them (layout, padding, spans). Properties (besides the
   sanitizers'): a failure gives a printable one-line message, a parsed index has its vectors and spans
   inside the input and every span inside the document, and a search returns min(k, count) hits in order. */
#define TFM_IMPLEMENTATION
#include "tfm_embed.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static void put64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The checksums of p (size bytes) as the writer would have made them, where its layout allows. */
static void fix_checksums(unsigned char *p, size_t size)
{
    tfm__embed_layout l;
    uint64_t dim, count, model_len, doc_len, h;
    if (size < TFM__EMBED_INDEX_HEADER) return;
    dim = tfm__embed_le32(p + 12), count = tfm__embed_le64(p + 16);
    model_len = tfm__embed_le32(p + 56), doc_len = tfm__embed_le32(p + 60);
    if (model_len <= TFM_EMBED_INDEX_MAX_PATH && doc_len <= TFM_EMBED_INDEX_MAX_PATH &&
        tfm__embed_layout_of(&l, dim, count, model_len, doc_len) && l.end <= size) {
        h = tfm_hash64(p + l.paths, (size_t)model_len, 0);
        h = tfm_hash64(p + l.paths + model_len, (size_t)doc_len, h);
        h = tfm_hash64(p + l.vectors, (size_t)l.vector_bytes, h);
        h = tfm_hash64(p + l.spans, (size_t)count * 16, h);
        put64(p + 80, h);
    }
    put64(p + 88, tfm_hash64(p, 88, 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = (unsigned char *)malloc(size ? size : 1);
    tfm_embed_index index;
    tfm_embed_hit hits[4];
    tfm_error err;
    tfm_status s;
    int i, n_hits = 0;
    if (!copy) return 0;
    memcpy(copy, data, size);
    if (size > 0 && data[0] != 'X') fix_checksums(copy, size); /* 'X' first: the checksums as they come */
    memset(&index, 0, sizeof index);
    s = tfm__embed_index_parse(&index, copy, size, &err);
    fuzz_check_message(&err, s);
    if (s == TFM_OK) {
        float *query = (float *)malloc(sizeof(float) * (size_t)index.dim);
        FUZZ_CHECK(index.dim > 0 && index.count > 0);
        FUZZ_CHECK((const unsigned char *)index.vectors >= copy &&
                   (const unsigned char *)(index.vectors + (size_t)index.dim * (size_t)index.count) <= copy + size);
        FUZZ_CHECK((const unsigned char *)(index.spans + 2 * (size_t)index.count) <= copy + size);
        for (i = 0; i < index.count; i++)
            FUZZ_CHECK(index.spans[2 * i] <= index.spans[2 * i + 1] && index.spans[2 * i + 1] <= index.document_bytes);
        FUZZ_CHECK(strlen(index.model_path) <= TFM_EMBED_INDEX_MAX_PATH);
        if (query) {
            for (i = 0; i < index.dim; i++) query[i] = (float)(i % 7) - 3.0f;
            FUZZ_CHECK(tfm_embed_search(index.vectors, index.count, index.dim, query, 4, NULL, hits, &n_hits, 1) == TFM_OK);
            FUZZ_CHECK(n_hits == (index.count < 4 ? index.count : 4));
            for (i = 0; i < n_hits; i++) FUZZ_CHECK(hits[i].index >= 0 && hits[i].index < index.count);
            free(query);
        }
    }
    tfm_embed_index_free(&index);
    free(copy);
    return 0;
}

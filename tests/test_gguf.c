/* Tests of tfm_gguf.h. The reader against the real files in ../shared/models (weights checked against
   llama2.c's .bin of the same model, vocabularies against llama2.c's tokenizer files); the writer
   against a file assembled byte by byte here from the GGUF spec, and in round trips; malformed files
   built by hand here (every field corrupted, every prefix, random byte flips) must all fail cleanly. */
#include <stddef.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/stat.h> /* chmod, stat: a rewritten file keeps its permissions */
#endif
#include "tfm_test.h"
#include "tfm_gguf.h"

static char tmp_path[1024]; /* beside the test binary, so concurrent configurations do not collide */

/* ---------------------------------------------------------------- independent helpers */

/* A byte buffer for assembling GGUF files by hand, little-endian, following the spec. */
typedef struct bb {
    unsigned char *p;
    size_t n, cap;
} bb;

static void bb_raw(bb *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = (unsigned char *)realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void bb_le(bb *b, uint64_t v, int bytes)
{
    int i;
    for (i = 0; i < bytes; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        bb_raw(b, &c, 1);
    }
}

static void bb_str(bb *b, const char *s)
{
    bb_le(b, strlen(s), 8);
    bb_raw(b, s, strlen(s));
}

static void bb_pad(bb *b, size_t alignment)
{
    while (b->n % alignment) bb_le(b, 0, 1);
}

static uint64_t le_at(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    int i;
    for (i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void patch_le(unsigned char *p, size_t at, uint64_t v, int bytes)
{
    int i;
    for (i = 0; i < bytes; i++) p[at + i] = (unsigned char)(v >> (8 * i));
}

/* A heap copy of exactly n bytes, so ASan sees any read past the end. */
static unsigned char *exact_copy(const unsigned char *src, size_t n)
{
    unsigned char *p = (unsigned char *)tt_alloc(n);
    if (n) memcpy(p, src, n);
    return p;
}

/* binary16 bits -> value, decoded field by field in double */
static double ref_f16(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) return m ? NAN : (sign ? -INFINITY : INFINITY);
    v = e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, e - 25);
    return sign ? -v : v;
}

/* Path of a file under ../shared copied into buf (tt_shared reuses one buffer); 0 if it is absent. */
static int shared_path(char *buf, size_t cap, const char *relative)
{
    const char *p = tt_shared(relative);
    if (!p) return 0;
    snprintf(buf, cap, "%s", p);
    return 1;
}

static int message_is_one_line(const tfm_error *err)
{
    return err->message[0] != '\0' && strchr(err->message, '\n') == NULL;
}

/* ---------------------------------------------------------------- the llama2.c side */

typedef struct bin_model {
    int dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len;
    const float *w; /* the weights after the 7-int header */
    char *file;
} bin_model;

static int load_bin(bin_model *m, const char *path)
{
    size_t size;
    int hdr[7];
    m->file = tt_read_file(path, &size);
    if (!m->file || size < 28) return 0;
    memcpy(hdr, m->file, 28);
    m->dim = hdr[0], m->hidden = hdr[1], m->n_layers = hdr[2], m->n_heads = hdr[3];
    m->n_kv_heads = hdr[4], m->vocab = hdr[5] < 0 ? -hdr[5] : hdr[5], m->seq_len = hdr[6];
    m->w = (const float *)(const void *)(m->file + 28);
    return 1;
}

/* The .bin floats holding a GGUF tensor of llama2.c's layout: token_embedding, rms_att, wq, wk, wv, wo,
   rms_ffn, w1, w2, w3, rms_final, each section [n_layers][...]; NULL for an unknown name. */
static const float *bin_weights(const bin_model *m, const char *name, size_t *count)
{
    static const char *const per_layer[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                            "ffn_norm", "ffn_gate", "ffn_down", "ffn_up"};
    size_t dim = (size_t)m->dim, kv_dim = dim * (size_t)m->n_kv_heads / (size_t)m->n_heads;
    size_t hid = (size_t)m->hidden, L = (size_t)m->n_layers;
    size_t sizes[9];
    size_t offset = (size_t)m->vocab * dim;
    int layer, k;
    char suffix[64];
    sizes[0] = dim, sizes[1] = dim * dim, sizes[2] = dim * kv_dim, sizes[3] = dim * kv_dim, sizes[4] = dim * dim;
    sizes[5] = dim, sizes[6] = hid * dim, sizes[7] = dim * hid, sizes[8] = hid * dim;
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "output.weight")) {
        *count = (size_t)m->vocab * dim;
        return m->w;
    }
    /* the .bin orders sections rms_att wq wk wv wo rms_ffn w1 w2 w3, which is per_layer's order */
    for (k = 0; k < 9; k++) {
        for (layer = 0; layer < m->n_layers; layer++) {
            sprintf(suffix, "blk.%d.%s.weight", layer, per_layer[k]);
            if (!strcmp(name, suffix)) {
                *count = sizes[k];
                return m->w + offset + (size_t)layer * sizes[k];
            }
        }
        offset += L * sizes[k];
    }
    if (!strcmp(name, "output_norm.weight")) {
        *count = dim;
        return m->w + offset;
    }
    return NULL;
}

/* Expected GGML shape of a llama tensor. */
static int expected_shape(const char *name, int dim, int hidden, int kv_dim, int vocab, int64_t *ne)
{
    const char *p = strrchr(name, '.'), *q;
    char part[32];
    size_t len;
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "output.weight")) {
        ne[0] = dim, ne[1] = vocab;
        return 2;
    }
    if (!strcmp(name, "output_norm.weight")) {
        ne[0] = dim;
        return 1;
    }
    if (strncmp(name, "blk.", 4) != 0 || !p) return 0;
    for (q = p - 1; q > name && *q != '.'; q--) {}
    len = (size_t)(p - q - 1);
    if (len >= sizeof part) return 0;
    memcpy(part, q + 1, len);
    part[len] = '\0';
    if (!strcmp(part, "attn_norm") || !strcmp(part, "ffn_norm")) return ne[0] = dim, 1;
    if (!strcmp(part, "attn_q") || !strcmp(part, "attn_output")) return ne[0] = dim, ne[1] = dim, 2;
    if (!strcmp(part, "attn_k") || !strcmp(part, "attn_v")) return ne[0] = dim, ne[1] = kv_dim, 2;
    if (!strcmp(part, "ffn_gate") || !strcmp(part, "ffn_up")) return ne[0] = dim, ne[1] = hidden, 2;
    if (!strcmp(part, "ffn_down")) return ne[0] = hidden, ne[1] = dim, 2;
    return 0;
}

/* llama2.c tokenizer file: int max_len, then per token float score, int len, bytes. Compares with the
   GGUF vocab, whose spaces are U+2581 and whose BOS/EOS read "<s>"/"</s>" (llama2.c: "\n<s>\n"). */
static int vocab_matches(const tfm_gguf *g, const char *tok_path, int vocab, char *why, size_t why_len)
{
    size_t size, pos = 4;
    char *file = tt_read_file(tok_path, &size);
    float *scores = (float *)tt_alloc((size_t)vocab * sizeof(float));
    int i, ok = 1;
    tfm_error err;
    if (!file) return -1;
    if (tfm_gguf_get_array_f32(g, "tokenizer.ggml.scores", scores, (uint64_t)vocab, &err) != TFM_OK) {
        snprintf(why, why_len, "%s", err.message);
        ok = 0;
    }
    for (i = 0; ok && i < vocab; i++) {
        float score;
        int len;
        const char *s;
        size_t slen, j, k;
        char mapped[512];
        if (pos + 8 > size) { snprintf(why, why_len, "tokenizer file short"); ok = 0; break; }
        memcpy(&score, file + pos, 4);
        memcpy(&len, file + pos + 4, 4);
        pos += 8;
        if (tfm_gguf_get_array_string(g, "tokenizer.ggml.tokens", (uint64_t)i, &s, &slen, &err) != TFM_OK) {
            snprintf(why, why_len, "%s", err.message);
            ok = 0;
            break;
        }
        for (j = k = 0; j < slen && k < sizeof mapped; k++) {
            if (j + 2 < slen && (unsigned char)s[j] == 0xe2 && (unsigned char)s[j + 1] == 0x96 &&
                (unsigned char)s[j + 2] == 0x81) {
                mapped[k] = ' ';
                j += 3;
            } else {
                mapped[k] = s[j++];
            }
        }
        if (score != scores[i]) { snprintf(why, why_len, "score %d: %g vs %g", i, scores[i], score); ok = 0; }
        if (i > 2 && ((size_t)len != k || memcmp(mapped, file + pos, k) != 0)) {
            snprintf(why, why_len, "token %d differs", i);
            ok = 0;
        }
        pos += (size_t)len;
    }
    free(scores);
    free(file);
    return ok;
}

/* ---------------------------------------------------------------- real files */

typedef enum weights_kind { KIND_F32, KIND_F16, KIND_Q8_MIXED } weights_kind;

/* Every tensor of a stories260K GGUF: shape from the hyperparameters, dtype per the file's recipe,
   data equal to the .bin's floats (exactly, to f16 rounding, or to Q8_0 quantization error). */
static void check_stories260K(const char *file, weights_kind kind)
{
    char path[1024], bin_path[1024], tok_path[1024];
    bin_model m;
    tfm_gguf *g = NULL;
    tfm_error err;
    uint32_t dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, ctx = 0, rot = 0;
    uint64_t n_tokens = 0;
    tfm_gguf_type elem = TFM_GGUF_TYPE_COUNT;
    float eps = 0;
    const char *arch = NULL;
    size_t arch_len = 0;
    int64_t i;
    char why[256];
    if (!shared_path(path, sizeof path, file) || !shared_path(bin_path, sizeof bin_path, "models/stories260K.bin") ||
        !shared_path(tok_path, sizeof tok_path, "models/tok512.bin"))
        TT_SKIP("../shared/models missing");
    TT_ASSERT(tfm_gguf_open(&g, path, 0, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_gguf_version(g) == 3);
    TT_CHECK(tfm_gguf_alignment(g) == 32 && tfm_gguf_data_offset(g) % 32 == 0);
    TT_CHECK(tfm_gguf_get_string(g, "general.architecture", &arch, &arch_len, &err) == TFM_OK);
    TT_CHECK(arch_len == 5 && memcmp(arch, "llama", 5) == 0);
    TT_ASSERT(tfm_gguf_get_u32(g, "llama.embedding_length", &dim, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.feed_forward_length", &hidden, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.block_count", &layers, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.attention.head_count", &heads, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.attention.head_count_kv", &kv_heads, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.context_length", &ctx, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.rope.dimension_count", &rot, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &eps, &err) == TFM_OK);
    /* ../shared/models/README.md: dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab 512, ctx 2048 */
    TT_ASSERT(dim == 64 && hidden == 172 && layers == 5 && heads == 8 && kv_heads == 4 && ctx == 2048,
              "hyperparameters %u %u %u %u %u %u", dim, hidden, layers, heads, kv_heads, ctx);
    TT_CHECK(rot == dim / heads && fabs(eps - 1e-5) < 1e-9);
    TT_CHECK(tfm_gguf_get_array(g, "tokenizer.ggml.tokens", &elem, &n_tokens, &err) == TFM_OK);
    TT_CHECK(elem == TFM_GGUF_STRING && n_tokens == 512);
    TT_ASSERT(load_bin(&m, bin_path), "stories260K.bin unreadable");
    TT_CHECK(m.dim == 64 && m.vocab == 512 && m.n_layers == 5);
    TT_CHECK(tfm_gguf_n_tensors(g) == 3 + 9 * (int64_t)layers);
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, i);
        int64_t ne[4] = {1, 1, 1, 1};
        int d, n_dims = expected_shape(t->name, (int)dim, (int)hidden, (int)(dim / heads * kv_heads), 512, ne);
        size_t count = 0, j;
        const float *want = bin_weights(&m, t->name, &count);
        tfm_dtype want_type = n_dims == 1 || kind == KIND_F32 ? TFM_F32
                              : kind == KIND_F16 || ne[0] % 32 ? TFM_F16 : TFM_Q8_0;
        tfm_tensor view;
        double worst = 0;
        TT_ASSERT(n_dims == t->n_dims && want, "tensor '%s' unexpected (%d dims)", t->name, t->n_dims);
        for (d = 0; d < 4; d++) TT_ASSERT(t->ne[d] == ne[d], "tensor '%s' ne[%d] = %lld", t->name, d, (long long)t->ne[d]);
        TT_ASSERT(t->dtype == want_type, "tensor '%s' has dtype %s", t->name, tfm_dtype_name(t->dtype));
        TT_CHECK(tfm_gguf_find_tensor(g, t->name) == i);
        TT_ASSERT(tfm_gguf_tensor_view(g, i, &view) == TFM_OK, "view");
        TT_CHECK(tfm_tensor_nelements(&view) == (int64_t)count && tfm_tensor_nbytes(&view) == t->size);
        if (t->dtype == TFM_F32) {
            TT_ASSERT(memcmp(view.data, want, count * 4) == 0, "tensor '%s' differs from the .bin", t->name);
        } else if (t->dtype == TFM_F16) {
            const unsigned char *h = (const unsigned char *)view.data;
            for (j = 0; j < count; j++) {
                double got = ref_f16((uint16_t)le_at(h + 2 * j, 2)), x = want[j];
                TT_ASSERT(fabs(got - x) <= fabs(x) * 0x1p-11 + 0x1p-25, "tensor '%s'[%d]: %g vs %g", t->name, (int)j,
                          got, x);
            }
        } else {
            const unsigned char *b = (const unsigned char *)view.data;
            for (j = 0; j < count; j++) {
                const unsigned char *block = b + (j / 32) * 34;
                double scale = ref_f16((uint16_t)le_at(block, 2));
                double got = scale * (signed char)block[2 + j % 32], e = fabs(got - want[j]);
                TT_ASSERT(e <= 0.6 * fabs(scale) + 1e-7, "tensor '%s'[%d]: %g vs %g (scale %g)", t->name, (int)j,
                          got, want[j], scale);
                if (e > worst) worst = e;
            }
            TT_CHECK(worst > 0); /* really quantized */
        }
    }
    TT_ASSERT(vocab_matches(g, tok_path, 512, why, sizeof why) == 1, "vocab: %s", why);
    {
        int32_t types[512];
        TT_CHECK(tfm_gguf_get_array_i32(g, "tokenizer.ggml.token_type", types, 512, &err) == TFM_OK);
        TT_CHECK(types[0] == 2 && types[1] == 3 && types[3] == 6); /* unknown, control, byte */
    }
    free(m.file);
    tfm_gguf_close(g);
}

static void test_stories260K_f32(void) { check_stories260K("models/stories260K.gguf", KIND_F32); }
static void test_stories260K_f16(void) { check_stories260K("models/stories260K-f16.gguf", KIND_F16); }
static void test_stories260K_q8_0_mixed(void) { check_stories260K("models/stories260K-q8_0-mixed.gguf", KIND_Q8_MIXED); }

/* The stories15M-shaped random models: metadata, shapes, types, and the 32000-token vocab. */
static void check_synth15M(const char *file, tfm_dtype matrix_type)
{
    char path[1024], tok_path[1024];
    tfm_gguf *g = NULL;
    tfm_error err;
    uint32_t dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0;
    int64_t i;
    char why[256];
    if (!shared_path(path, sizeof path, file) || !shared_path(tok_path, sizeof tok_path, "models/tokenizer.bin"))
        TT_SKIP("../shared/models missing");
    /* read into memory rather than mapped: the other open path */
    TT_ASSERT(tfm_gguf_open(&g, path, TFM_FILE_MAP_NO_MMAP, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.embedding_length", &dim, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.feed_forward_length", &hidden, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.block_count", &layers, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.attention.head_count", &heads, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.attention.head_count_kv", &kv_heads, &err) == TFM_OK);
    TT_ASSERT(dim == 288 && hidden == 768 && layers == 6 && heads == 6 && kv_heads == 6, "hyperparameters");
    TT_CHECK(tfm_gguf_n_tensors(g) == 3 + 9 * 6);
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, i);
        int64_t ne[4] = {1, 1, 1, 1};
        int d, n_dims = expected_shape(t->name, 288, 768, 288, 32000, ne);
        /* llama-quantize keeps output.weight at Q8_0 in the Q4_0 file */
        tfm_dtype want = n_dims == 1 ? TFM_F32 : !strcmp(t->name, "output.weight") ? TFM_Q8_0 : matrix_type;
        tfm_tensor view;
        TT_ASSERT(n_dims == t->n_dims, "tensor '%s'", t->name);
        for (d = 0; d < 4; d++) TT_ASSERT(t->ne[d] == ne[d], "tensor '%s' ne[%d]", t->name, d);
        TT_ASSERT(t->dtype == want, "tensor '%s' has dtype %s", t->name, tfm_dtype_name(t->dtype));
        TT_CHECK(tfm_gguf_tensor_view(g, i, &view) == TFM_OK && tfm_tensor_nbytes(&view) == t->size);
    }
    TT_ASSERT(vocab_matches(g, tok_path, 32000, why, sizeof why) == 1, "vocab: %s", why);
    tfm_gguf_close(g);
}

static void test_synth15M_q8_0(void) { check_synth15M("models/synth15M-q8_0.gguf", TFM_Q8_0); }
static void test_synth15M_q4_0(void) { check_synth15M("models/synth15M-q4_0.gguf", TFM_Q4_0); }

/* Getters convert only what fits, on real keys (u32 in the file). */
static void test_getter_conversions_real(void)
{
    char path[1024];
    tfm_gguf *g = NULL;
    tfm_error err;
    uint32_t u32 = 0;
    int32_t i32 = 0;
    uint64_t u64 = 0;
    int64_t i64 = 0;
    float f = 0;
    const char *s;
    size_t len;
    char small[4], big[16];
    tfm_tensor t;
    if (!shared_path(path, sizeof path, "models/stories260K.gguf")) TT_SKIP("../shared/models missing");
    TT_ASSERT(tfm_gguf_open(&g, path, 0, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_gguf_get_u64(g, "llama.block_count", &u64, &err) == TFM_OK && u64 == 5);
    TT_CHECK(tfm_gguf_get_i64(g, "llama.block_count", &i64, &err) == TFM_OK && i64 == 5);
    TT_CHECK(tfm_gguf_get_i32(g, "llama.block_count", &i32, &err) == TFM_OK && i32 == 5);
    /* 4294967295 is a u32 that no i32 holds */
    TT_CHECK(tfm_gguf_get_u32(g, "tokenizer.ggml.padding_token_id", &u32, &err) == TFM_OK && u32 == 0xFFFFFFFFu);
    TT_CHECK(tfm_gguf_get_i32(g, "tokenizer.ggml.padding_token_id", &i32, &err) == TFM_ERR_FORMAT);
    TT_CHECK(strstr(err.message, "does not fit in i32") != NULL && message_is_one_line(&err));
    TT_CHECK(tfm_gguf_get_f32(g, "llama.block_count", &f, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_u32(g, "general.name", &u32, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_string(g, "llama.block_count", &s, &len, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_u32(g, "tokenizer.ggml.tokens", &u32, &err) == TFM_ERR_FORMAT);
    TT_CHECK(strstr(err.message, "array of string") != NULL);
    TT_CHECK(tfm_gguf_get_u32(g, "llama.no_such_key", &u32, &err) == TFM_ERR_FORMAT);
    TT_CHECK(strstr(err.message, "missing") != NULL);
    TT_CHECK(tfm_gguf_find_key(g, "llama.no_such_key") == -1 && tfm_gguf_find_key(g, NULL) == -1);
    TT_CHECK(tfm_gguf_get_string_buf(g, "general.architecture", small, sizeof small, &err) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_gguf_get_string_buf(g, "general.architecture", big, sizeof big, &err) == TFM_OK && !strcmp(big, "llama"));
    TT_CHECK(tfm_gguf_get_array_string(g, "tokenizer.ggml.tokens", 512, &s, &len, &err) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_gguf_get_array_string(g, "tokenizer.ggml.scores", 0, &s, &len, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_array_f32(g, "tokenizer.ggml.scores", &f, 1, &err) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_gguf_get_tensor(g, "blk.9.attn_q.weight", &t, &err) == TFM_ERR_FORMAT);
    TT_CHECK(strstr(err.message, "missing") != NULL);
    TT_CHECK(tfm_gguf_get_tensor(g, "blk.4.ffn_down.weight", &t, &err) == TFM_OK && t.ne[0] == 172 && t.ne[1] == 64);
    TT_CHECK(tfm_gguf_tensor_info_at(g, -1) == NULL && tfm_gguf_tensor_info_at(g, 48) == NULL);
    TT_CHECK(tfm_gguf_key(g, 19) == NULL && tfm_gguf_kv_type(g, -1) == TFM_GGUF_TYPE_COUNT);
    TT_CHECK(tfm_gguf_tensor_view(g, 48, &t) == TFM_ERR_INVALID_ARGUMENT);
    tfm_gguf_close(g);
}

/* ---------------------------------------------------------------- writer */

/* An f32 tensor streamed through the rows callback: value = row * 1000 + column. */
typedef struct rows_source {
    int64_t cols, next_row;
    int calls, out_of_order, fail_at_call;
} rows_source;

static tfm_status rows_fn(void *user, int64_t first_row, int64_t n_rows, void *dst)
{
    rows_source *src = (rows_source *)user;
    int64_t r, c;
    if (++src->calls == src->fail_at_call) return TFM_ERR_IO;
    if (first_row != src->next_row) src->out_of_order = 1;
    for (r = 0; r < n_rows; r++)
        for (c = 0; c < src->cols; c++) ((float *)dst)[r * src->cols + c] = (float)((first_row + r) * 1000 + c);
    src->next_row = first_row + n_rows;
    return TFM_OK;
}

#define N_ARR 37
typedef struct all_types {
    uint8_t u8[N_ARR];
    int8_t i8[N_ARR];
    uint16_t u16[N_ARR];
    int16_t i16[N_ARR];
    uint32_t u32[N_ARR];
    int32_t i32[N_ARR];
    float f32[N_ARR];
    uint8_t b[N_ARR];
    uint64_t u64[N_ARR];
    int64_t i64[N_ARR];
    double f64[N_ARR];
    unsigned char tensor_bytes[4][2048];
} all_types;

static const char *const strings[] = {"", "a", "hello world", "\xe2\x96\x81the", "tab\there"};

static void fill_all_types(all_types *a)
{
    int i, t;
    size_t j;
    tt_seed(42);
    for (i = 0; i < N_ARR; i++) {
        uint64_t r = tt_next();
        a->u8[i] = (uint8_t)r, a->i8[i] = (int8_t)(r >> 8), a->u16[i] = (uint16_t)(r >> 16);
        a->i16[i] = (int16_t)(r >> 24), a->u32[i] = (uint32_t)(r >> 32), a->i32[i] = (int32_t)r;
        a->f32[i] = tt_uniform(-1e6f, 1e6f), a->b[i] = (uint8_t)(r & 1), a->u64[i] = tt_next();
        a->i64[i] = (int64_t)tt_next(), a->f64[i] = (double)tt_uniform(-1, 1) * 1e300;
    }
    for (t = 0; t < 4; t++)
        for (j = 0; j < sizeof a->tensor_bytes[t]; j++) a->tensor_bytes[t][j] = (unsigned char)tt_next();
}

/* The writer's tensors: odd shapes in several dtypes (data bytes are arbitrary: GGUF does not look inside). */
static const struct {
    const char *name;
    tfm_dtype dtype;
    int n_dims;
    int64_t ne[4];
} tensor_specs[] = {
    {"f32.odd", TFM_F32, 3, {7, 3, 5, 1}},
    {"f16.vector", TFM_F16, 1, {13, 1, 1, 1}},
    {"bf16.4d", TFM_BF16, 4, {3, 2, 1, 2}},
    {"q8_0.rows", TFM_Q8_0, 2, {64, 3, 1, 1}},
    {"q4_0.one", TFM_Q4_0, 2, {32, 1, 1, 1}},
    {"q4_k.two", TFM_Q4_K, 2, {256, 2, 1, 1}},
    {"i32.scalar", TFM_I32, 1, {1, 1, 1, 1}},
    {"f64.pair", TFM_F64, 1, {2, 1, 1, 1}},
};
#define N_SPECS (sizeof tensor_specs / sizeof tensor_specs[0])

/* A writer holding every kv type, arrays of every element type, and the tensors above;
   alignment 0 leaves general.alignment out. */
static tfm_gguf_writer *make_all_types_writer(const all_types *a, uint32_t alignment, rows_source *src)
{
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    tfm_status s;
    size_t i;
    static const size_t lens[] = {3, 0};
    const char *with_nul[2];
    with_nul[0] = "a\0b";
    with_nul[1] = "";
    if (tfm_gguf_writer_create(&w, &err) != TFM_OK) return NULL;
    s = alignment ? tfm_gguf_writer_add_u32(w, "general.alignment", alignment, &err) : TFM_OK;
    if (!s) s = tfm_gguf_writer_add_string(w, "general.architecture", "llama", &err);
    if (!s) s = tfm_gguf_writer_add_u8(w, "t.u8", 200, &err);
    if (!s) s = tfm_gguf_writer_add_i8(w, "t.i8", -100, &err);
    if (!s) s = tfm_gguf_writer_add_u16(w, "t.u16", 60000, &err);
    if (!s) s = tfm_gguf_writer_add_i16(w, "t.i16", -30000, &err);
    if (!s) s = tfm_gguf_writer_add_u32(w, "t.u32", 4000000000u, &err);
    if (!s) s = tfm_gguf_writer_add_i32(w, "t.i32", -2000000000, &err);
    if (!s) s = tfm_gguf_writer_add_f32(w, "t.f32", 3.14159274f, &err);
    if (!s) s = tfm_gguf_writer_add_bool(w, "t.bool", 7, &err);
    if (!s) s = tfm_gguf_writer_add_bool(w, "t.false", 0, &err);
    if (!s) s = tfm_gguf_writer_add_string(w, "t.empty", "", &err);
    if (!s) s = tfm_gguf_writer_add_string_n(w, "t.nul", "x\0y", 3, &err);
    if (!s) s = tfm_gguf_writer_add_u64(w, "t.u64", ((uint64_t)1 << 63) + 5, &err);
    if (!s) s = tfm_gguf_writer_add_i64(w, "t.i64", INT64_MIN, &err);
    if (!s) s = tfm_gguf_writer_add_f64(w, "t.f64", 2.718281828459045, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.u8", TFM_GGUF_U8, a->u8, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.i8", TFM_GGUF_I8, a->i8, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.u16", TFM_GGUF_U16, a->u16, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.i16", TFM_GGUF_I16, a->i16, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.u32", TFM_GGUF_U32, a->u32, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.i32", TFM_GGUF_I32, a->i32, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.f32", TFM_GGUF_F32, a->f32, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.bool", TFM_GGUF_BOOL, a->b, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.u64", TFM_GGUF_U64, a->u64, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.i64", TFM_GGUF_I64, a->i64, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.f64", TFM_GGUF_F64, a->f64, N_ARR, &err);
    if (!s) s = tfm_gguf_writer_add_array(w, "a.empty", TFM_GGUF_I32, NULL, 0, &err);
    if (!s) s = tfm_gguf_writer_add_array_string(w, "a.str", strings, NULL, 5, &err);
    if (!s) s = tfm_gguf_writer_add_array_string(w, "a.str_n", with_nul, lens, 2, &err);
    if (!s) s = tfm_gguf_writer_add_array_string(w, "a.str_empty", NULL, NULL, 0, &err);
    for (i = 0; i < N_SPECS && !s; i++)
        s = tfm_gguf_writer_add_tensor(w, tensor_specs[i].name, tensor_specs[i].dtype, tensor_specs[i].n_dims,
                                       tensor_specs[i].ne, a->tensor_bytes[i % 4], &err);
    if (!s && src) {
        int64_t ne[3] = {11, 5, 3};
        memset(src, 0, sizeof *src);
        src->cols = 11;
        s = tfm_gguf_writer_add_tensor_rows(w, "streamed", TFM_F32, 3, ne, rows_fn, src, &err);
    }
    if (s != TFM_OK) {
        fprintf(stderr, "  writer setup: %s\n", err.message);
        tfm_gguf_writer_free(w);
        return NULL;
    }
    return w;
}

/* A writer's whole file in memory (exact size). */
static unsigned char *write_to_memory(const tfm_gguf_writer *w, size_t *size)
{
    tfm_error err;
    unsigned char *buf;
    *size = (size_t)tfm_gguf_writer_size(w);
    buf = (unsigned char *)tt_alloc(*size);
    if (tfm_gguf_writer_write_buffer(w, buf, *size, &err) != TFM_OK) {
        fprintf(stderr, "  write_buffer: %s\n", err.message);
        free(buf);
        return NULL;
    }
    return buf;
}

static int64_t le_signed(const unsigned char *p, int bytes)
{
    uint64_t v = le_at(p, bytes);
    if (bytes < 8 && (v >> (8 * bytes - 1)) & 1) v |= ~(uint64_t)0 << (8 * bytes);
    return (int64_t)v;
}

/* Everything make_all_types_writer put in, read back through the reader. */
static void check_all_types(const tfm_gguf *g, const all_types *a, size_t file_size, size_t alignment)
{
    tfm_error err;
    uint32_t u32 = 0;
    int32_t i32 = 0, i32s[N_ARR];
    uint64_t u64 = 0, count = 0;
    int64_t i64 = 0;
    float f = 0, fs[N_ARR];
    double d = 0;
    int b = -1, k;
    const char *s = NULL;
    size_t len = 0, i;
    const void *raw = NULL;
    const unsigned char *p;
    tfm_gguf_type elem;
    TT_CHECK(tfm_gguf_version(g) == 3 && tfm_gguf_alignment(g) == alignment);
    TT_CHECK(tfm_gguf_n_kv(g) == 31 - (alignment == 32 && tfm_gguf_find_key(g, "general.alignment") < 0));
    TT_CHECK(tfm_gguf_get_u32(g, "t.u8", &u32, &err) == TFM_OK && u32 == 200);
    TT_CHECK(tfm_gguf_get_i32(g, "t.i8", &i32, &err) == TFM_OK && i32 == -100);
    TT_CHECK(tfm_gguf_get_u32(g, "t.i8", &u32, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_u32(g, "t.u16", &u32, &err) == TFM_OK && u32 == 60000);
    TT_CHECK(tfm_gguf_get_i64(g, "t.i16", &i64, &err) == TFM_OK && i64 == -30000);
    TT_CHECK(tfm_gguf_get_u32(g, "t.u32", &u32, &err) == TFM_OK && u32 == 4000000000u);
    TT_CHECK(tfm_gguf_get_i32(g, "t.u32", &i32, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_i32(g, "t.i32", &i32, &err) == TFM_OK && i32 == -2000000000);
    TT_CHECK(tfm_gguf_get_u64(g, "t.i32", &u64, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_f32(g, "t.f32", &f, &err) == TFM_OK && f == 3.14159274f);
    TT_CHECK(tfm_gguf_get_bool(g, "t.bool", &b, &err) == TFM_OK && b == 1);
    TT_CHECK(tfm_gguf_get_bool(g, "t.false", &b, &err) == TFM_OK && b == 0);
    TT_CHECK(tfm_gguf_get_u32(g, "t.bool", &u32, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_string(g, "t.empty", &s, &len, &err) == TFM_OK && len == 0);
    TT_CHECK(tfm_gguf_get_string(g, "t.nul", &s, &len, &err) == TFM_OK && len == 3 && memcmp(s, "x\0y", 3) == 0);
    TT_CHECK(tfm_gguf_get_u64(g, "t.u64", &u64, &err) == TFM_OK && u64 == ((uint64_t)1 << 63) + 5);
    TT_CHECK(tfm_gguf_get_i64(g, "t.u64", &i64, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_i64(g, "t.i64", &i64, &err) == TFM_OK && i64 == INT64_MIN);
    TT_CHECK(tfm_gguf_get_u64(g, "t.i64", &u64, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_gguf_get_f64(g, "t.f64", &d, &err) == TFM_OK && d == 2.718281828459045);
    TT_CHECK(tfm_gguf_get_f64(g, "t.f32", &d, &err) == TFM_OK && d == (double)3.14159274f);
    TT_CHECK(tfm_gguf_get_f32(g, "t.f64", &f, &err) == TFM_OK && f == (float)2.718281828459045);
    /* numeric arrays: the stored bytes decoded here, and the converting getters */
    {
        static const char *const keys[] = {"a.u8", "a.i8", "a.u16", "a.i16", "a.u32", "a.i32", "a.f32",
                                           "a.bool", "a.u64", "a.i64", "a.f64"};
        static const tfm_gguf_type types[] = {TFM_GGUF_U8, TFM_GGUF_I8, TFM_GGUF_U16, TFM_GGUF_I16, TFM_GGUF_U32,
                                              TFM_GGUF_I32, TFM_GGUF_F32, TFM_GGUF_BOOL, TFM_GGUF_U64,
                                              TFM_GGUF_I64, TFM_GGUF_F64};
        static const int sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 8, 8};
        for (k = 0; k < 11; k++) {
            TT_ASSERT(tfm_gguf_get_array(g, keys[k], &elem, &count, &err) == TFM_OK && elem == types[k] && count == N_ARR,
                      "%s", keys[k]);
            TT_ASSERT(tfm_gguf_get_array_data(g, keys[k], &raw, &err) == TFM_OK, "%s", keys[k]);
            p = (const unsigned char *)raw;
            for (i = 0; i < N_ARR; i++) {
                const unsigned char *e = p + i * (size_t)sizes[k];
                uint64_t bits = le_at(e, sizes[k]);
                int ok;
                switch (k) {
                case 0: ok = bits == a->u8[i]; break;
                case 1: ok = le_signed(e, 1) == a->i8[i]; break;
                case 2: ok = bits == a->u16[i]; break;
                case 3: ok = le_signed(e, 2) == a->i16[i]; break;
                case 4: ok = bits == a->u32[i]; break;
                case 5: ok = le_signed(e, 4) == a->i32[i]; break;
                case 6: { uint32_t x; memcpy(&x, &a->f32[i], 4); ok = bits == x; } break;
                case 7: ok = bits == a->b[i]; break;
                case 8: ok = bits == a->u64[i]; break;
                case 9: ok = le_signed(e, 8) == a->i64[i]; break;
                default: { uint64_t x; memcpy(&x, &a->f64[i], 8); ok = bits == x; } break;
                }
                TT_ASSERT(ok, "%s[%d] differs", keys[k], (int)i);
            }
        }
        TT_CHECK(tfm_gguf_get_array_i32(g, "a.i16", i32s, N_ARR, &err) == TFM_OK);
        for (i = 0; i < N_ARR; i++) TT_CHECK(i32s[i] == a->i16[i]);
        TT_CHECK(tfm_gguf_get_array_i32(g, "a.u8", i32s, N_ARR, &err) == TFM_OK && i32s[N_ARR - 1] == a->u8[N_ARR - 1]);
        TT_CHECK(tfm_gguf_get_array_i32(g, "a.u64", i32s, N_ARR, &err) == TFM_ERR_FORMAT); /* random u64s do not fit */
        TT_CHECK(tfm_gguf_get_array_i32(g, "a.f32", i32s, N_ARR, &err) == TFM_ERR_FORMAT);
        TT_CHECK(tfm_gguf_get_array_f32(g, "a.f32", fs, N_ARR, &err) == TFM_OK && memcmp(fs, a->f32, sizeof fs) == 0);
        TT_CHECK(tfm_gguf_get_array_f32(g, "a.f64", fs, N_ARR, &err) == TFM_ERR_FORMAT); /* 1e300 is no float */
        TT_CHECK(tfm_gguf_get_array(g, "a.empty", &elem, &count, &err) == TFM_OK && elem == TFM_GGUF_I32 && count == 0);
        TT_CHECK(tfm_gguf_get_array_i32(g, "a.empty", NULL, 0, &err) == TFM_OK);
    }
    TT_CHECK(tfm_gguf_get_array(g, "a.str", &elem, &count, &err) == TFM_OK && elem == TFM_GGUF_STRING && count == 5);
    for (i = 0; i < 5; i++) {
        TT_ASSERT(tfm_gguf_get_array_string(g, "a.str", i, &s, &len, &err) == TFM_OK, "%s", err.message);
        TT_ASSERT(len == strlen(strings[i]) && memcmp(s, strings[i], len) == 0, "a.str[%d]", (int)i);
    }
    TT_CHECK(tfm_gguf_get_array_string(g, "a.str_n", 0, &s, &len, &err) == TFM_OK && len == 3 && !memcmp(s, "a\0b", 3));
    TT_CHECK(tfm_gguf_get_array_string(g, "a.str_n", 1, &s, &len, &err) == TFM_OK && len == 0);
    TT_CHECK(tfm_gguf_get_array(g, "a.str_empty", &elem, &count, &err) == TFM_OK && elem == TFM_GGUF_STRING && count == 0);
    TT_CHECK(tfm_gguf_get_array_data(g, "a.str", &raw, &err) == TFM_ERR_FORMAT);
    /* tensors: order, names, shapes, types, alignment, bytes */
    TT_ASSERT(tfm_gguf_n_tensors(g) == (int64_t)N_SPECS + 1, "%d tensors", (int)tfm_gguf_n_tensors(g));
    TT_CHECK(tfm_gguf_data_offset(g) % alignment == 0);
    for (i = 0; i < N_SPECS; i++) {
        const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, (int64_t)i);
        tfm_tensor v;
        TT_ASSERT(!strcmp(t->name, tensor_specs[i].name) && t->dtype == tensor_specs[i].dtype &&
                      t->n_dims == tensor_specs[i].n_dims, "tensor %d", (int)i);
        for (k = 0; k < 4; k++) TT_CHECK(t->ne[k] == tensor_specs[i].ne[k]);
        TT_CHECK(t->offset % alignment == 0 && t->offset + t->size <= file_size);
        TT_CHECK(tfm_gguf_tensor_view(g, (int64_t)i, &v) == TFM_OK);
        TT_ASSERT(memcmp(v.data, a->tensor_bytes[i % 4], t->size) == 0, "tensor '%s' data", t->name);
    }
    {
        tfm_tensor v;
        int64_t r, c;
        TT_ASSERT(tfm_gguf_get_tensor(g, "streamed", &v, &err) == TFM_OK, "%s", err.message);
        TT_CHECK(v.ne[0] == 11 && v.ne[1] == 5 && v.ne[2] == 3 && v.n_dims == 3);
        for (r = 0; r < 15; r++)
            for (c = 0; c < 11; c++) {
                float x; /* with alignment 1 the data is not float-aligned */
                memcpy(&x, (const char *)v.data + (r * 11 + c) * 4, 4);
                TT_ASSERT(x == (float)(r * 1000 + c), "streamed");
            }
    }
}

static void test_writer_round_trip(void)
{
    static all_types a;
    static const uint32_t alignments[] = {0, 32, 64, 1, 256};
    size_t k;
    fill_all_types(&a);
    for (k = 0; k < sizeof alignments / sizeof alignments[0]; k++) {
        rows_source src;
        tfm_gguf_writer *w = make_all_types_writer(&a, alignments[k], &src);
        size_t size = 0, expect_align = alignments[k] ? alignments[k] : 32;
        unsigned char *buf;
        tfm_gguf *g = NULL;
        tfm_error err;
        TT_ASSERT(w != NULL, "writer");
        buf = write_to_memory(w, &size);
        TT_ASSERT(buf != NULL, "write");
        TT_CHECK(src.calls == 1 && !src.out_of_order);
        TT_CHECK(size % expect_align == 0); /* gguf.cpp pads the last tensor too */
        TT_ASSERT(tfm_gguf_open_memory(&g, buf, size, &err) == TFM_OK, "alignment %u: %s", alignments[k], err.message);
        check_all_types(g, &a, size, expect_align);
        tfm_gguf_close(g);
        /* the same through a real file, both open paths, must give the same bytes */
        {
            int mode;
            size_t fsize = 0;
            char *back;
            TT_ASSERT(tfm_gguf_writer_write_file(w, tmp_path, &err) == TFM_OK, "%s", err.message);
            back = tt_read_file(tmp_path, &fsize);
            TT_CHECK(back && fsize == size && memcmp(back, buf, size) == 0);
            free(back);
            for (mode = 0; mode < 2; mode++) {
                TT_ASSERT(tfm_gguf_open(&g, tmp_path, mode ? TFM_FILE_MAP_NO_MMAP : 0, &err) == TFM_OK, "%s", err.message);
                check_all_types(g, &a, size, expect_align);
                tfm_gguf_close(g);
            }
            remove(tmp_path);
        }
        free(buf);
        tfm_gguf_writer_free(w);
    }
}

/* The writer's bytes equal a file assembled here field by field from the spec. */
static void test_writer_exact_bytes(void)
{
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    bb want = {NULL, 0, 0};
    float wdata[6] = {0, 1, 2, 3, 4, 5};
    uint16_t vdata[4] = {0x3c00, 0x4000, 0x4200, 0x4400};
    int16_t arr[2] = {-2, 3};
    int64_t wne[2] = {3, 2}, vne[1] = {4};
    size_t size = 0, i;
    unsigned char *got;
    TT_ASSERT(tfm_gguf_writer_create(&w, &err) == TFM_OK, "create");
    TT_CHECK(tfm_gguf_writer_add_u32(w, "general.alignment", 64, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_writer_add_string(w, "general.name", "x", &err) == TFM_OK);
    TT_CHECK(tfm_gguf_writer_add_array(w, "a.b", TFM_GGUF_I16, arr, 2, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, "w", TFM_F32, 2, wne, wdata, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, "v", TFM_F16, 1, vne, vdata, &err) == TFM_OK);
    got = write_to_memory(w, &size);
    TT_ASSERT(got != NULL, "write");
    bb_raw(&want, "GGUF", 4);
    bb_le(&want, 3, 4);
    bb_le(&want, 2, 8); /* tensors */
    bb_le(&want, 3, 8); /* kv pairs */
    bb_str(&want, "general.alignment"), bb_le(&want, 4, 4), bb_le(&want, 64, 4);
    bb_str(&want, "general.name"), bb_le(&want, 8, 4), bb_str(&want, "x");
    bb_str(&want, "a.b"), bb_le(&want, 9, 4), bb_le(&want, 3, 4), bb_le(&want, 2, 8);
    bb_le(&want, (uint16_t)-2, 2), bb_le(&want, 3, 2);
    bb_str(&want, "w"), bb_le(&want, 2, 4), bb_le(&want, 3, 8), bb_le(&want, 2, 8), bb_le(&want, 0, 4), bb_le(&want, 0, 8);
    bb_str(&want, "v"), bb_le(&want, 1, 4), bb_le(&want, 4, 8), bb_le(&want, 1, 4), bb_le(&want, 64, 8);
    bb_pad(&want, 64);
    for (i = 0; i < 6; i++) {
        uint32_t bits;
        memcpy(&bits, &wdata[i], 4);
        bb_le(&want, bits, 4);
    }
    bb_pad(&want, 64);
    for (i = 0; i < 4; i++) bb_le(&want, vdata[i], 2);
    bb_pad(&want, 64);
    TT_ASSERT(size == want.n, "size %d, want %d", (int)size, (int)want.n);
    for (i = 0; i < size; i++) TT_ASSERT(got[i] == want.p[i], "byte %d: %02x, want %02x", (int)i, got[i], want.p[i]);
    free(got);
    free(want.p);
    tfm_gguf_writer_free(w);
}

/* A multi-chunk streamed tensor: rows arrive in order, in several calls, and land right. */
static void test_writer_streaming(void)
{
    tfm_gguf_writer *w = NULL;
    tfm_gguf *g = NULL;
    tfm_error err;
    rows_source src;
    int64_t ne[2] = {1000, 600}, r, c;
    size_t size = 0;
    unsigned char *buf;
    tfm_tensor v;
    memset(&src, 0, sizeof src);
    src.cols = 1000;
    TT_ASSERT(tfm_gguf_writer_create(&w, &err) == TFM_OK, "create");
    TT_CHECK(tfm_gguf_writer_add_tensor_rows(w, "big", TFM_F32, 2, ne, rows_fn, &src, &err) == TFM_OK);
    buf = write_to_memory(w, &size);
    TT_ASSERT(buf != NULL, "write");
    TT_CHECK(src.calls >= 2 && !src.out_of_order && src.next_row == 600);
    TT_ASSERT(tfm_gguf_open_memory(&g, buf, size, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_gguf_get_tensor(g, "big", &v, &err) == TFM_OK);
    for (r = 0; r < 600; r++)
        for (c = 0; c < 1000; c += 37) TT_ASSERT(((const float *)v.data)[r * 1000 + c] == (float)(r * 1000 + c), "row %d", (int)r);
    tfm_gguf_close(g);
    /* a failing callback fails the write and leaves no file behind */
    memset(&src, 0, sizeof src);
    src.cols = 1000;
    src.fail_at_call = 2;
    TT_CHECK(tfm_gguf_writer_write_file(w, tmp_path, &err) == TFM_ERR_IO);
    TT_CHECK(strstr(err.message, "'big'") != NULL && message_is_one_line(&err));
    {
        FILE *left = fopen(tmp_path, "rb");
        TT_CHECK(left == NULL);
        if (left) fclose(left);
    }
    free(buf);
    tfm_gguf_writer_free(w);
}

static void test_writer_rejects_bad_input(void)
{
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    float x[64] = {0};
    uint8_t bools[2] = {1, 2};
    int64_t ne[2] = {33, 1}, ok_ne[1] = {4}, neg[1] = {-1};
    char long_name[80];
    unsigned char small[16];
    memset(long_name, 'n', sizeof long_name);
    long_name[TFM_GGUF_WRITER_MAX_NAME + 1] = '\0';
    TT_ASSERT(tfm_gguf_writer_create(&w, &err) == TFM_OK, "create");
    TT_CHECK(tfm_gguf_writer_add_u32(w, "k", 1, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_writer_add_i8(w, "k", 1, &err) == TFM_ERR_INVALID_ARGUMENT && strstr(err.message, "duplicate"));
    TT_CHECK(tfm_gguf_writer_add_u32(w, "", 1, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_u32(w, NULL, 1, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_u32(w, "general.alignment", 48, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_u32(w, "general.alignment", 0, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_u64(w, "general.alignment", 64, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_array(w, "b", TFM_GGUF_BOOL, bools, 2, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_array(w, "s", TFM_GGUF_STRING, x, 2, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_array(w, "n", TFM_GGUF_ARRAY, x, 2, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_string(w, "z", NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, "q", TFM_Q8_0, 2, ne, x, &err) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, "q", TFM_F32, 1, neg, x, &err) == TFM_ERR_SHAPE);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, "q", TFM_F32, 5, ok_ne, x, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, "q", (tfm_dtype)4, 1, ok_ne, x, &err) != TFM_OK);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, "q", TFM_F32, 1, ok_ne, NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, long_name, TFM_F32, 1, ok_ne, x, &err) == TFM_ERR_INVALID_ARGUMENT);
    long_name[TFM_GGUF_WRITER_MAX_NAME] = '\0';
    TT_CHECK(tfm_gguf_writer_add_tensor(w, long_name, TFM_F32, 1, ok_ne, x, &err) == TFM_OK);
    TT_CHECK(tfm_gguf_writer_add_tensor(w, long_name, TFM_F32, 1, ok_ne, x, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_add_tensor_rows(w, "r", TFM_F32, 1, ok_ne, NULL, NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_write_buffer(w, small, sizeof small, &err) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_gguf_writer_write(w, NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_writer_write_file(w, "/nonexistent-dir/x.gguf", &err) == TFM_ERR_IO);
    /* the failed adds left nothing behind: exactly one kv and one tensor */
    {
        size_t size = 0;
        unsigned char *buf = write_to_memory(w, &size);
        tfm_gguf *g = NULL;
        TT_ASSERT(buf && tfm_gguf_open_memory(&g, buf, size, &err) == TFM_OK, "%s", err.message);
        TT_CHECK(tfm_gguf_n_kv(g) == 1 && tfm_gguf_n_tensors(g) == 1 && tfm_gguf_alignment(g) == 32);
        tfm_gguf_close(g);
        free(buf);
    }
    tfm_gguf_writer_free(w);
    tfm_gguf_writer_free(NULL);
    TT_CHECK(tfm_gguf_writer_create(NULL, &err) == TFM_ERR_INVALID_ARGUMENT);
}

/* stories260K.gguf through reader + writer (copy_kv, tensor data from the mapping) reads back the same. */
static void test_rewrite_stories260K(void)
{
    char path[1024];
    tfm_gguf *g = NULL, *h = NULL;
    tfm_gguf_writer *w = NULL;
    tfm_error err;
    int64_t i;
    size_t size = 0, orig_size = 0;
    unsigned char *buf;
    char *orig;
    if (!shared_path(path, sizeof path, "models/stories260K.gguf")) TT_SKIP("../shared/models missing");
    TT_ASSERT(tfm_gguf_open(&g, path, 0, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_gguf_writer_create(&w, &err) == TFM_OK, "create");
    for (i = 0; i < tfm_gguf_n_kv(g); i++) TT_ASSERT(tfm_gguf_writer_copy_kv(w, g, i, &err) == TFM_OK, "%s", err.message);
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, i);
        tfm_tensor v;
        TT_CHECK(tfm_gguf_tensor_view(g, i, &v) == TFM_OK);
        TT_ASSERT(tfm_gguf_writer_add_tensor(w, t->name, t->dtype, t->n_dims, t->ne, v.data, &err) == TFM_OK, "%s",
                  err.message);
    }
    buf = write_to_memory(w, &size);
    TT_ASSERT(buf != NULL, "write");
    TT_ASSERT(tfm_gguf_open_memory(&h, buf, size, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_gguf_n_kv(h) == tfm_gguf_n_kv(g) && tfm_gguf_n_tensors(h) == tfm_gguf_n_tensors(g));
    for (i = 0; i < tfm_gguf_n_kv(g); i++) {
        const char *key = tfm_gguf_key(g, i);
        tfm_gguf_type type = tfm_gguf_kv_type(g, i), et1, et2;
        uint64_t n1, n2, j;
        TT_ASSERT(!strcmp(tfm_gguf_key(h, i), key) && tfm_gguf_kv_type(h, i) == type, "kv %d", (int)i);
        if (type == TFM_GGUF_STRING) {
            const char *s1, *s2;
            size_t l1, l2;
            TT_CHECK(tfm_gguf_get_string(g, key, &s1, &l1, &err) == TFM_OK && tfm_gguf_get_string(h, key, &s2, &l2, &err) == TFM_OK);
            TT_CHECK(l1 == l2 && memcmp(s1, s2, l1) == 0);
        } else if (type == TFM_GGUF_ARRAY) {
            TT_CHECK(tfm_gguf_get_array(g, key, &et1, &n1, &err) == TFM_OK && tfm_gguf_get_array(h, key, &et2, &n2, &err) == TFM_OK);
            TT_ASSERT(et1 == et2 && n1 == n2, "%s", key);
            for (j = 0; et1 == TFM_GGUF_STRING && j < n1; j++) {
                const char *s1, *s2;
                size_t l1, l2;
                tfm_gguf_get_array_string(g, key, j, &s1, &l1, &err);
                tfm_gguf_get_array_string(h, key, j, &s2, &l2, &err);
                TT_ASSERT(l1 == l2 && memcmp(s1, s2, l1) == 0, "%s[%d]", key, (int)j);
            }
            if (et1 != TFM_GGUF_STRING) {
                const void *d1, *d2;
                TT_CHECK(tfm_gguf_get_array_data(g, key, &d1, &err) == TFM_OK && tfm_gguf_get_array_data(h, key, &d2, &err) == TFM_OK);
                TT_CHECK(memcmp(d1, d2, (size_t)n1 * 4) == 0); /* f32 and i32 arrays */
            }
        } else {
            uint64_t u1 = 0, u2 = 1;
            double f1 = 0, f2 = 1;
            if (type == TFM_GGUF_F32) {
                TT_CHECK(tfm_gguf_get_f64(g, key, &f1, &err) == TFM_OK && tfm_gguf_get_f64(h, key, &f2, &err) == TFM_OK && f1 == f2);
            } else {
                TT_CHECK(tfm_gguf_get_u64(g, key, &u1, &err) == TFM_OK && tfm_gguf_get_u64(h, key, &u2, &err) == TFM_OK && u1 == u2);
            }
        }
    }
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *a = tfm_gguf_tensor_info_at(g, i), *b = tfm_gguf_tensor_info_at(h, i);
        tfm_tensor va, vb;
        TT_ASSERT(!strcmp(a->name, b->name) && a->dtype == b->dtype && a->n_dims == b->n_dims && a->size == b->size, "%s", a->name);
        TT_CHECK(!memcmp(a->ne, b->ne, sizeof a->ne));
        TT_CHECK(tfm_gguf_tensor_view(g, i, &va) == TFM_OK && tfm_gguf_tensor_view(h, i, &vb) == TFM_OK);
        TT_ASSERT(memcmp(va.data, vb.data, a->size) == 0, "tensor '%s' data", a->name);
    }
    /* the original was written by gguf.cpp with the same layout, so the files agree byte for byte */
    orig = tt_read_file(path, &orig_size);
    TT_CHECK(orig && orig_size == size && memcmp(orig, buf, size) == 0);
    free(orig);
    tfm_gguf_close(h);
    tfm_gguf_close(g);
    tfm_gguf_writer_free(w);
    free(buf);
}

/* ---------------------------------------------------------------- malformed files */

/* A small valid file assembled by hand, with the position of every field a case corrupts. */
typedef struct small_file {
    bb b;
    size_t magic, version, n_tensors, n_kv;
    size_t align_key_len, align_type, align_value;
    size_t name_key_char, name_type, name_len;
    size_t tok_elem_type, tok_count, tok_str0_len;
    size_t flag_value, u8s_key_last, u8s_count;
    size_t t0_name_len, t0_name_char, t0_ndims, t0_dim0, t0_dim1, t0_type;
    size_t t1_name_char, t1_dim0, t1_type, t1_offset;
    size_t data_end; /* end of the last tensor's data: every shorter prefix is invalid */
} small_file;

static void build_small_file(small_file *f, const char *t0_name)
{
    int i;
    memset(f, 0, sizeof *f);
    f->magic = f->b.n, bb_raw(&f->b, "GGUF", 4);
    f->version = f->b.n, bb_le(&f->b, 3, 4);
    f->n_tensors = f->b.n, bb_le(&f->b, 2, 8);
    f->n_kv = f->b.n, bb_le(&f->b, 5, 8);
    f->align_key_len = f->b.n, bb_str(&f->b, "general.alignment");
    f->align_type = f->b.n, bb_le(&f->b, 4, 4);
    f->align_value = f->b.n, bb_le(&f->b, 32, 4);
    bb_str(&f->b, "general.name");
    f->name_key_char = f->b.n - 4;
    f->name_type = f->b.n, bb_le(&f->b, 8, 4);
    f->name_len = f->b.n, bb_str(&f->b, "tiny");
    bb_str(&f->b, "tokenizer.ggml.tokens"), bb_le(&f->b, 9, 4);
    f->tok_elem_type = f->b.n, bb_le(&f->b, 8, 4);
    f->tok_count = f->b.n, bb_le(&f->b, 3, 8);
    f->tok_str0_len = f->b.n, bb_str(&f->b, "a"), bb_str(&f->b, "bc"), bb_str(&f->b, "");
    bb_str(&f->b, "flag"), bb_le(&f->b, 7, 4);
    f->flag_value = f->b.n, bb_le(&f->b, 1, 1);
    bb_str(&f->b, "fla2");
    f->u8s_key_last = f->b.n - 1;
    bb_le(&f->b, 9, 4), bb_le(&f->b, 0, 4);
    f->u8s_count = f->b.n, bb_le(&f->b, 4, 8), bb_raw(&f->b, "\1\2\3\4", 4);
    f->t0_name_len = f->b.n, bb_str(&f->b, t0_name);
    f->t0_name_char = f->b.n - 1;
    f->t0_ndims = f->b.n, bb_le(&f->b, 2, 4);
    f->t0_dim0 = f->b.n, bb_le(&f->b, 8, 8);
    f->t0_dim1 = f->b.n, bb_le(&f->b, 3, 8);
    f->t0_type = f->b.n, bb_le(&f->b, 0, 4); /* f32: 96 bytes */
    bb_le(&f->b, 0, 8);
    bb_str(&f->b, "t1");
    f->t1_name_char = f->b.n - 1;
    bb_le(&f->b, 1, 4);
    f->t1_dim0 = f->b.n, bb_le(&f->b, 32, 8);
    f->t1_type = f->b.n, bb_le(&f->b, 8, 4); /* q8_0: 34 bytes */
    f->t1_offset = f->b.n, bb_le(&f->b, 96, 8);
    bb_pad(&f->b, 32);
    for (i = 0; i < 24; i++) {
        float x = (float)i;
        uint32_t bits;
        memcpy(&bits, &x, 4);
        bb_le(&f->b, bits, 4);
    }
    for (i = 0; i < 34; i++) bb_le(&f->b, (uint64_t)i, 1);
    f->data_end = f->b.n;
    bb_pad(&f->b, 32);
}

typedef struct patch {
    size_t field; /* offsetof(small_file, ...), 0 for none */
    int width;
    uint64_t value;
} patch;

#define FIELD(x) offsetof(small_file, x)
#define BIG(shift) ((uint64_t)1 << (shift))

static const struct bad_case {
    const char *what;
    patch p[3];
    tfm_status want;
    const char *message; /* a piece of the expected message */
} bad_cases[] = {
    {"bad magic", {{FIELD(magic), 1, 'X'}}, TFM_ERR_FORMAT, "bad magic"},
    {"version 0", {{FIELD(version), 4, 0}}, TFM_ERR_UNSUPPORTED, "version"},
    {"version 1", {{FIELD(version), 4, 1}}, TFM_ERR_UNSUPPORTED, "v1"},
    {"version 4", {{FIELD(version), 4, 4}}, TFM_ERR_UNSUPPORTED, "version 4"},
    {"big-endian", {{FIELD(version), 4, 0x03000000}}, TFM_ERR_UNSUPPORTED, "big-endian"},
    {"tensor count 2^60", {{FIELD(n_tensors), 8, BIG(60)}}, TFM_ERR_FORMAT, "exceed the limits"},
    {"kv count 2^60", {{FIELD(n_kv), 8, BIG(60)}}, TFM_ERR_FORMAT, "exceed the limits"},
    {"kv count 2^64-1", {{FIELD(n_kv), 8, ~(uint64_t)0}}, TFM_ERR_FORMAT, "exceed the limits"},
    {"kv count 1000", {{FIELD(n_kv), 8, 1000}}, TFM_ERR_FORMAT, "cannot fit"},
    {"tensor count 1000", {{FIELD(n_tensors), 8, 1000}}, TFM_ERR_FORMAT, "cannot fit"},
    {"kv count past the kvs", {{FIELD(n_kv), 8, 7}}, TFM_ERR_FORMAT, ""},
    {"tensor count past the infos", {{FIELD(n_tensors), 8, 3}}, TFM_ERR_FORMAT, ""},
    {"key length 2^63", {{FIELD(align_key_len), 8, BIG(63)}}, TFM_ERR_FORMAT, "truncated"},
    {"empty key", {{FIELD(align_key_len), 8, 0}}, TFM_ERR_FORMAT, "length 0"},
    {"NUL in a key", {{FIELD(name_key_char), 1, 0}}, TFM_ERR_FORMAT, "NUL"},
    {"string length 2^62", {{FIELD(name_len), 8, BIG(62)}}, TFM_ERR_FORMAT, "truncated"},
    {"string past the end", {{FIELD(name_len), 8, 5000}}, TFM_ERR_FORMAT, "truncated"},
    {"unknown value type", {{FIELD(name_type), 4, 13}}, TFM_ERR_FORMAT, "unknown value type 13"},
    {"value type 2^32-1", {{FIELD(name_type), 4, 0xFFFFFFFFu}}, TFM_ERR_FORMAT, "unknown value type"},
    {"string array of 2^62", {{FIELD(tok_count), 8, BIG(62)}}, TFM_ERR_FORMAT, "exceeds the limit"},
    {"string array past the end", {{FIELD(tok_count), 8, BIG(20)}}, TFM_ERR_FORMAT, "truncated"},
    {"huge string in an array", {{FIELD(tok_str0_len), 8, BIG(40)}}, TFM_ERR_FORMAT, "truncated"},
    {"nested array", {{FIELD(tok_elem_type), 4, 9}}, TFM_ERR_UNSUPPORTED, "nested"},
    {"unknown element type", {{FIELD(tok_elem_type), 4, 13}}, TFM_ERR_FORMAT, "unknown array element type"},
    {"u8 array past the end", {{FIELD(u8s_count), 8, BIG(26)}}, TFM_ERR_FORMAT, "truncated"},
    {"array of 2^61", {{FIELD(u8s_count), 8, BIG(61)}}, TFM_ERR_FORMAT, "exceeds the limit"},
    {"bool 2", {{FIELD(flag_value), 1, 2}}, TFM_ERR_FORMAT, "not 0 or 1"},
    {"duplicate key", {{FIELD(u8s_key_last), 1, 'g'}}, TFM_ERR_FORMAT, "duplicate key 'flag'"},
    {"alignment 0", {{FIELD(align_value), 4, 0}}, TFM_ERR_FORMAT, "power of two"},
    {"alignment 48", {{FIELD(align_value), 4, 48}}, TFM_ERR_FORMAT, "power of two"},
    {"alignment as i32", {{FIELD(align_type), 4, 5}}, TFM_ERR_FORMAT, "must be u32"},
    {"alignment 2^31", {{FIELD(align_value), 4, BIG(31)}}, TFM_ERR_FORMAT, "alignment"},
    {"0 dims", {{FIELD(t0_ndims), 4, 0}}, TFM_ERR_FORMAT, "0 dimensions"},
    {"5 dims", {{FIELD(t0_ndims), 4, 5}}, TFM_ERR_FORMAT, "5 dimensions"},
    {"dimension 0", {{FIELD(t0_dim0), 8, 0}}, TFM_ERR_FORMAT, "dimension 0 of 0"},
    {"dimension 2^63", {{FIELD(t0_dim1), 8, BIG(63)}}, TFM_ERR_FORMAT, "dimension 1"},
    {"element count overflow", {{FIELD(t0_dim0), 8, BIG(32)}, {FIELD(t0_dim1), 8, BIG(32)}}, TFM_ERR_FORMAT,
     "element count overflows"},
    {"byte size overflow", {{FIELD(t0_dim0), 8, BIG(31)}, {FIELD(t0_dim1), 8, BIG(31)}, {FIELD(t0_type), 4, 28}},
     TFM_ERR_FORMAT, "byte size overflows"},
    {"removed type 4", {{FIELD(t0_type), 4, 4}}, TFM_ERR_UNSUPPORTED, "type 4"},
    {"iq type 16", {{FIELD(t0_type), 4, 16}}, TFM_ERR_UNSUPPORTED, "type 16"},
    {"type 40", {{FIELD(t0_type), 4, 40}}, TFM_ERR_UNSUPPORTED, "type 40"},
    {"type 2^32-1", {{FIELD(t0_type), 4, 0xFFFFFFFFu}}, TFM_ERR_UNSUPPORTED, "type 4294967295"},
    {"row not a multiple of the block", {{FIELD(t1_dim0), 8, 33}}, TFM_ERR_FORMAT, "block of 32"},
    {"misaligned offset", {{FIELD(t1_offset), 8, 100}}, TFM_ERR_FORMAT, "not a multiple of the alignment"},
    {"offset 2^62", {{FIELD(t1_offset), 8, BIG(62)}}, TFM_ERR_FORMAT, "past the end"},
    {"data past the end", {{FIELD(t1_dim0), 8, 64}}, TFM_ERR_FORMAT, "past the end"},
    {"overlapping data", {{FIELD(t1_offset), 8, 64}}, TFM_ERR_FORMAT, "overlap"},
    {"duplicate tensor name", {{FIELD(t1_name_char), 1, '0'}}, TFM_ERR_FORMAT, "duplicate tensor name 't0'"},
    {"NUL in a tensor name", {{FIELD(t0_name_char), 1, 0}}, TFM_ERR_FORMAT, "NUL"},
    {"tensor name length 2^62", {{FIELD(t0_name_len), 8, BIG(62)}}, TFM_ERR_FORMAT, "truncated"},
    {"empty tensor name", {{FIELD(t0_name_len), 8, 0}}, TFM_ERR_FORMAT, "length 0"},
};

static void apply_patches(small_file *f, const patch *p)
{
    int k;
    for (k = 0; k < 3 && p[k].width; k++) {
        size_t at = *(const size_t *)(const void *)((const char *)f + p[k].field);
        patch_le(f->b.p, at, p[k].value, p[k].width);
    }
}

static void test_small_file_valid(void)
{
    small_file f;
    tfm_gguf *g = NULL;
    tfm_error err;
    const char *s;
    size_t len;
    tfm_tensor t;
    unsigned char *copy;
    build_small_file(&f, "t0");
    copy = exact_copy(f.b.p, f.b.n);
    TT_ASSERT(tfm_gguf_open_memory(&g, copy, f.b.n, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_gguf_n_kv(g) == 5 && tfm_gguf_n_tensors(g) == 2 && tfm_gguf_alignment(g) == 32);
    TT_CHECK(tfm_gguf_get_array_string(g, "tokenizer.ggml.tokens", 1, &s, &len, &err) == TFM_OK && len == 2 && !memcmp(s, "bc", 2));
    TT_CHECK(tfm_gguf_get_tensor(g, "t0", &t, &err) == TFM_OK && ((const float *)t.data)[23] == 23.0f);
    TT_CHECK(tfm_gguf_get_tensor(g, "t1", &t, &err) == TFM_OK && ((const unsigned char *)t.data)[33] == 33);
    TT_CHECK(tfm_gguf_tensor_info_at(g, 1)->offset + 34 == f.data_end);
    tfm_gguf_close(g);
    /* v2 has v3's layout (v3 only added big-endian files) */
    patch_le(copy, f.version, 2, 4);
    TT_ASSERT(tfm_gguf_open_memory(&g, copy, f.b.n, &err) == TFM_OK, "v2: %s", err.message);
    TT_CHECK(tfm_gguf_version(g) == 2 && tfm_gguf_n_tensors(g) == 2);
    tfm_gguf_close(g);
    free(copy);
    free(f.b.p);
}

static void test_malformed_fields(void)
{
    size_t k;
    for (k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
        const struct bad_case *c = &bad_cases[k];
        small_file f;
        tfm_gguf *g = (tfm_gguf *)&f; /* must come back NULL */
        tfm_error err;
        tfm_status s;
        unsigned char *copy;
        build_small_file(&f, "t0");
        apply_patches(&f, c->p);
        copy = exact_copy(f.b.p, f.b.n);
        s = tfm_gguf_open_memory(&g, copy, f.b.n, &err);
        free(copy);
        free(f.b.p);
        TT_ASSERT(s != TFM_OK, "%s: accepted", c->what);
        TT_ASSERT(g == NULL, "%s: out not cleared", c->what);
        TT_ASSERT(s == c->want && err.status == s, "%s: status %s (%s)", c->what, tfm_status_string(s), err.message);
        TT_ASSERT(strstr(err.message, c->message) != NULL && message_is_one_line(&err), "%s: message '%s'", c->what,
                  err.message);
    }
}

static void test_malformed_names(void)
{
    small_file f;
    tfm_gguf *g = NULL;
    tfm_error err;
    char name[70];
    unsigned char *copy;
    memset(name, 'x', sizeof name);
    name[64] = '\0'; /* 64 bytes: the spec's limit */
    build_small_file(&f, name);
    copy = exact_copy(f.b.p, f.b.n);
    TT_CHECK(tfm_gguf_open_memory(&g, copy, f.b.n, &err) == TFM_OK);
    tfm_gguf_close(g);
    free(copy);
    free(f.b.p);
    name[64] = 'x', name[65] = '\0';
    build_small_file(&f, name);
    copy = exact_copy(f.b.p, f.b.n);
    TT_CHECK(tfm_gguf_open_memory(&g, copy, f.b.n, &err) == TFM_ERR_FORMAT && strstr(err.message, "length 65"));
    free(copy);
    free(f.b.p);
}

/* Every prefix of a valid file that cuts into its tensors fails; longer ones (that only lose the
   trailing padding) still read. Each prefix lives in a buffer of exactly its size. */
static void check_prefixes(const unsigned char *file, size_t size, size_t data_end, const char *what)
{
    size_t n;
    for (n = 0; n <= size; n++) {
        unsigned char *copy = exact_copy(file, n);
        tfm_gguf *g = NULL;
        tfm_error err;
        tfm_status s = tfm_gguf_open_memory(&g, copy, n, &err);
        tfm_gguf_close(g);
        free(copy);
        if (n < data_end) {
            TT_ASSERT(s != TFM_OK && g == NULL, "%s: prefix of %d bytes accepted", what, (int)n);
            TT_ASSERT(message_is_one_line(&err), "%s: prefix %d message", what, (int)n);
        } else {
            TT_ASSERT(s == TFM_OK, "%s: prefix of %d bytes: %s", what, (int)n, err.message);
        }
    }
}

static void test_truncated_everywhere(void)
{
    small_file f;
    static all_types a;
    tfm_gguf_writer *w;
    tfm_gguf *g = NULL;
    tfm_error err;
    unsigned char *buf;
    size_t size = 0, data_end = 0;
    int64_t i;
    build_small_file(&f, "t0");
    check_prefixes(f.b.p, f.b.n, f.data_end, "hand-made");
    free(f.b.p);
    fill_all_types(&a);
    w = make_all_types_writer(&a, 64, NULL);
    TT_ASSERT(w != NULL, "writer");
    buf = write_to_memory(w, &size);
    TT_ASSERT(buf && tfm_gguf_open_memory(&g, buf, size, &err) == TFM_OK, "all types");
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, i);
        if (t->offset + t->size > data_end) data_end = (size_t)(t->offset + t->size);
    }
    tfm_gguf_close(g);
    check_prefixes(buf, size, data_end, "all types");
    free(buf);
    tfm_gguf_writer_free(w);
}

/* Reads everything a successfully opened file offers, so ASan sees any bad pointer it holds. */
static unsigned touch_everything(const tfm_gguf *g, size_t file_size)
{
    unsigned sum = 0;
    int64_t i;
    tfm_error err;
    for (i = 0; i < tfm_gguf_n_kv(g); i++) {
        const char *key = tfm_gguf_key(g, i);
        tfm_gguf_type type = tfm_gguf_kv_type(g, i), elem;
        const char *s;
        size_t len, j;
        uint64_t count, k;
        int64_t i64;
        double d;
        int b;
        sum += (unsigned)strlen(key);
        if (type == TFM_GGUF_STRING && tfm_gguf_get_string(g, key, &s, &len, &err) == TFM_OK)
            for (j = 0; j < len; j++) sum += (unsigned char)s[j];
        if (tfm_gguf_get_i64(g, key, &i64, &err) == TFM_OK) sum += (unsigned)i64;
        if (tfm_gguf_get_f64(g, key, &d, &err) == TFM_OK) sum += d > 0;
        if (tfm_gguf_get_bool(g, key, &b, &err) == TFM_OK) sum += (unsigned)b;
        if (type != TFM_GGUF_ARRAY || tfm_gguf_get_array(g, key, &elem, &count, &err) != TFM_OK) continue;
        if (elem == TFM_GGUF_STRING) {
            for (k = 0; k < count; k++)
                if (tfm_gguf_get_array_string(g, key, k, &s, &len, &err) == TFM_OK)
                    for (j = 0; j < len; j++) sum += (unsigned char)s[j];
        } else if (count <= 4096) {
            static float fs[4096];
            static int32_t is[4096];
            const void *raw;
            if (tfm_gguf_get_array_f32(g, key, fs, count, &err) == TFM_OK && count) sum += fs[count - 1] > 0;
            if (tfm_gguf_get_array_i32(g, key, is, count, &err) == TFM_OK && count) sum += (unsigned)is[count - 1];
            if (tfm_gguf_get_array_data(g, key, &raw, &err) == TFM_OK && count) sum += ((const unsigned char *)raw)[0];
        }
    }
    for (i = 0; i < tfm_gguf_n_tensors(g); i++) {
        const tfm_gguf_tensor_info *t = tfm_gguf_tensor_info_at(g, i);
        tfm_tensor v;
        size_t j;
        if (t->offset + t->size > file_size || tfm_gguf_tensor_view(g, i, &v) != TFM_OK) return ~0u;
        for (j = 0; j < t->size; j++) sum += ((const unsigned char *)v.data)[j];
        sum += (unsigned)tfm_gguf_find_tensor(g, t->name);
    }
    return sum;
}

/* Seeded random corruption of valid files: byte flips, interesting values, truncation. */
static void test_fuzz(void)
{
    small_file f;
    static all_types a;
    tfm_gguf_writer *w;
    unsigned char *bases[2];
    size_t sizes[2];
    int it, accepted = 0, rejected = 0;
    build_small_file(&f, "t0");
    fill_all_types(&a);
    w = make_all_types_writer(&a, 32, NULL);
    TT_ASSERT(w != NULL, "writer");
    bases[0] = f.b.p, sizes[0] = f.b.n;
    bases[1] = write_to_memory(w, &sizes[1]);
    TT_ASSERT(bases[1] != NULL, "write");
    tt_seed(20261123);
    for (it = 0; it < 4000; it++) {
        int which = it & 1, flips = 1 + (int)(tt_next() % 4), k;
        size_t n = tt_next() % 8 == 0 ? (size_t)(tt_next() % sizes[which]) : sizes[which];
        unsigned char *copy = exact_copy(bases[which], n);
        tfm_gguf *g = NULL;
        tfm_error err;
        for (k = 0; k < flips && n > 0; k++) {
            size_t at = (size_t)(tt_next() % n);
            switch (tt_next() % 4) {
            case 0: copy[at] ^= (unsigned char)(1u << (tt_next() % 8)); break;
            case 1: copy[at] = (unsigned char)tt_next(); break;
            case 2: if (at + 8 <= n) patch_le(copy, at, tt_next() >> (tt_next() % 64), 8); break;
            default: copy[at] = (unsigned char)(0xFF * (tt_next() & 1)); break;
            }
        }
        if (tfm_gguf_open_memory(&g, copy, n, &err) == TFM_OK) {
            accepted++;
            TT_ASSERT(touch_everything(g, n) != ~0u, "iteration %d: tensor outside the file", it);
        } else {
            rejected++;
            TT_ASSERT(g == NULL && message_is_one_line(&err), "iteration %d: bad failure", it);
        }
        tfm_gguf_close(g);
        free(copy);
    }
    TT_CHECK(accepted > 0 && rejected > 0); /* both paths were exercised */
    free(bases[1]);
    free(f.b.p);
    tfm_gguf_writer_free(w);
}

/* Files on disk: a corrupt one fails through both open paths, a missing one is an i/o error. */
static void test_files_on_disk(void)
{
    small_file f;
    tfm_gguf *g = NULL;
    tfm_error err;
    FILE *fp;
    int mode;
    build_small_file(&f, "t0");
    patch_le(f.b.p, f.t1_dim0, 64, 8); /* data past the end */
    fp = fopen(tmp_path, "wb");
    TT_ASSERT(fp && fwrite(f.b.p, 1, f.b.n, fp) == f.b.n, "write temp");
    fclose(fp);
    for (mode = 0; mode < 2; mode++) {
        TT_CHECK(tfm_gguf_open(&g, tmp_path, mode ? TFM_FILE_MAP_NO_MMAP : 0, &err) == TFM_ERR_FORMAT && g == NULL);
        TT_CHECK(strstr(err.message, tmp_path) != NULL && strstr(err.message, "past the end") && message_is_one_line(&err));
    }
    fp = fopen(tmp_path, "wb"); /* empty */
    TT_ASSERT(fp != NULL, "write temp");
    fclose(fp);
    TT_CHECK(tfm_gguf_open(&g, tmp_path, 0, &err) != TFM_OK && g == NULL);
    remove(tmp_path);
    TT_CHECK(tfm_gguf_open(&g, tmp_path, 0, &err) == TFM_ERR_IO && g == NULL);
    TT_CHECK(tfm_gguf_open(&g, NULL, 0, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_open(NULL, tmp_path, 0, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_open_memory(&g, NULL, 10, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_gguf_open_memory(&g, NULL, 0, &err) == TFM_ERR_FORMAT);
    tfm_gguf_close(NULL);
    free(f.b.p);
}

/* A file of general.alignment 1 may put an f32 tensor at an odd address, where the scalar path's loads
   are undefined: of four consecutive offsets, the one that is a multiple of 4 opens, the others are
   refused. The writer pads such tensors to their element size (check_all_types reads them back). */
static void test_misaligned_tensor_data(void)
{
    small_file f;
    size_t data_offset, delta, opened = 0;
    build_small_file(&f, "t0");
    patch_le(f.b.p, f.align_value, 1, 4);
    patch_le(f.b.p, f.t0_dim1, 2, 8);   /* t0: 64 bytes, so it stays clear of t1 at 96 */
    data_offset = f.t1_offset + 8;      /* alignment 1: the data starts right after the infos */
    for (delta = 0; delta < 4; delta++) {
        tfm_gguf *g = NULL;
        tfm_error err;
        tfm_status st;
        patch_le(f.b.p, f.t0_type + 4, delta, 8); /* t0's offset follows its type */
        st = tfm_gguf_open_memory(&g, f.b.p, f.b.n, &err);
        if ((data_offset + delta) % 4 == 0) {
            TT_ASSERT(st == TFM_OK, "offset %zu: %s", data_offset + delta, err.message);
            opened++;
        } else
            TT_ASSERT(st == TFM_ERR_FORMAT && strstr(err.message, "not aligned for f32") && message_is_one_line(&err),
                      "offset %zu: status %d, '%s'", data_offset + delta, st, st ? err.message : "");
        tfm_gguf_close(g);
    }
    TT_CHECK(opened == 1);
    free(f.b.p);
}

/* Writing a file goes through a temporary file renamed into place: a write that fails leaves the old
   file byte for byte (and no temporary file); writing over a file being read (keys copied from its
   reader, or named an input) is refused whatever the path; a new file keeps the old one's permissions. */
static void test_write_file_safely(void)
{
    static all_types a;
    rows_source src;
    tfm_gguf_writer *w, *copy;
    tfm_gguf *g = NULL;
    tfm_error err;
    char other_path[1100], tmp_name[1100];
    char *before, *after;
    size_t before_size, after_size;
    const char *slash = strrchr(tmp_path, '/'), *backslash = strrchr(tmp_path, '\\');
    int64_t i;
    if (backslash && (!slash || backslash > slash)) slash = backslash; /* Windows' argv[0] */
    fill_all_types(&a);
    w = make_all_types_writer(&a, 0, &src);
    TT_ASSERT(w && tfm_gguf_writer_write_file(w, tmp_path, &err) == TFM_OK, "first write: %s", err.message);
    before = tt_read_file(tmp_path, &before_size);
    TT_ASSERT(before, "cannot read %s back", tmp_path);
    /* a rows function failing midway: the old file stays */
    src.calls = 0, src.next_row = 0, src.fail_at_call = 1; /* its one call: the tensors before it are written */
    TT_ASSERT(tfm_gguf_writer_write_file(w, tmp_path, &err) == TFM_ERR_IO, "a failing write succeeded");
    after = tt_read_file(tmp_path, &after_size);
    TT_ASSERT(after && after_size == before_size && memcmp(after, before, before_size) == 0, "the old file changed");
    free(after);
    snprintf(tmp_name, sizeof tmp_name, "%s.tmp0", tmp_path);
    TT_ASSERT(!tt_read_file(tmp_name, NULL), "%s left behind", tmp_name);
    /* the same file as an input, named another way: refused, untouched */
    if (slash) snprintf(other_path, sizeof other_path, "%.*s/./%s", (int)(slash - tmp_path), tmp_path, slash + 1);
    else snprintf(other_path, sizeof other_path, "./%s", tmp_path);
    TT_ASSERT(tfm_gguf_open(&g, tmp_path, 0, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_gguf_writer_create(&copy, &err) == TFM_OK, "writer");
    for (i = 0; i < tfm_gguf_n_kv(g); i++) TT_ASSERT(tfm_gguf_writer_copy_kv(copy, g, i, &err) == TFM_OK, "%s", err.message);
    TT_ASSERT(tfm_gguf_writer_write_file(copy, other_path, &err) == TFM_ERR_INVALID_ARGUMENT, "wrote over its input");
    TT_ASSERT(strstr(err.message, "being read") && message_is_one_line(&err), "'%s'", err.message);
    tfm_gguf_close(g);
    tfm_gguf_writer_free(copy);
    {
        tfm_file_map map;
        TT_ASSERT(tfm_file_map_open(&map, tmp_path, TFM_FILE_MAP_NO_MMAP, &err) == TFM_OK && map.id.known, "%s",
                  err.message);
        src.calls = 0, src.next_row = 0, src.fail_at_call = 0;
        TT_CHECK(tfm_gguf_writer_add_input(w, map.id, &err) == TFM_OK);
        TT_CHECK(tfm_gguf_writer_write_file(w, other_path, &err) == TFM_ERR_INVALID_ARGUMENT);
        tfm_file_map_close(&map);
    }
    after = tt_read_file(tmp_path, &after_size);
    TT_ASSERT(after && after_size == before_size && memcmp(after, before, before_size) == 0, "the input changed");
    free(after);
    /* elsewhere it writes; a directory that is not there is an i/o error naming the path */
    TT_CHECK(tfm_gguf_writer_write_file(w, "build/no/such/dir/x.gguf", &err) == TFM_ERR_IO &&
             strstr(err.message, "build/no/such/dir/x.gguf"));
#if defined(__unix__) || defined(__APPLE__)
    {
        struct stat st;
        TT_ASSERT(chmod(tmp_path, 0600) == 0, "chmod");
        tfm_gguf_writer_free(w);
        w = make_all_types_writer(&a, 64, &src);
        TT_ASSERT(w && tfm_gguf_writer_write_file(w, tmp_path, &err) == TFM_OK, "%s", err.message);
        TT_ASSERT(stat(tmp_path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode %o", (unsigned)(st.st_mode & 0777));
    }
#endif
    remove(tmp_path);
    free(before);
    tfm_gguf_writer_free(w);
}

int main(int argc, char **argv)
{
    (void)argc;
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp.gguf", argv[0]);
    TT_RUN(test_stories260K_f32);
    TT_RUN(test_stories260K_f16);
    TT_RUN(test_stories260K_q8_0_mixed);
    TT_RUN(test_synth15M_q8_0);
    TT_RUN(test_synth15M_q4_0);
    TT_RUN(test_getter_conversions_real);
    TT_RUN(test_writer_exact_bytes);
    TT_RUN(test_writer_round_trip);
    TT_RUN(test_writer_streaming);
    TT_RUN(test_writer_rejects_bad_input);
    TT_RUN(test_rewrite_stories260K);
    TT_RUN(test_small_file_valid);
    TT_RUN(test_malformed_fields);
    TT_RUN(test_malformed_names);
    TT_RUN(test_truncated_everywhere);
    TT_RUN(test_fuzz);
    TT_RUN(test_files_on_disk);
    TT_RUN(test_misaligned_tensor_data);
    TT_RUN(test_write_file_safely);
    return tt_summary("gguf");
}

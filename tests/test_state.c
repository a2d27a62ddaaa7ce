/* test_state.c - a context's state (tfm_model.h): the tokens it holds, rewind, fork (copy), save and load
   to memory and to files. The reference is always the same model run without the operation under test:
   rewinding then decoding must give the logits, bit for bit, of a context that never went further; a
   loaded or copied state must continue exactly as the original does. Bad states (truncated, corrupted,
   of another model, attention or size) must fail with a message and leave the context empty. */
#include "tfm_test.h"

#include "tfm_model.h"

static char build_dir[1024] = ".";

enum { DIM = 64, HIDDEN = 100, LAYERS = 2, HEADS = 4, KV_HEADS = 2, VOCAB = 97, SEQ = 64 };

static float *model_file;
static size_t model_size;

static tfm_model *load_model(uint64_t seed, int vocab)
{
    tfm_model *m = NULL;
    tfm_error err;
    free(model_file);
    model_file = tt_llama2c_model(DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, vocab, SEQ, seed, &model_size);
    if (tfm_model_load_memory(model_file, model_size, &m, &err) != TFM_OK) fprintf(stderr, "  load: %s\n", err.message);
    return m;
}

static tfm_context *new_context(const tfm_model *m, const char *attn, tfm_dtype kv_type, int length, int threads)
{
    tfm_context_params p;
    tfm_context *ctx = NULL;
    tfm_error err;
    memset(&p, 0, sizeof p);
    p.attn = attn;
    p.kv_type = kv_type;
    p.context_length = length;
    p.n_threads = threads;
    p.max_batch = 8; /* prompts of more than 8 tokens run in several chunks */
    if (tfm_context_create(m, &p, &ctx, &err) != TFM_OK) fprintf(stderr, "  context: %s\n", err.message);
    return ctx;
}

static void random_tokens(int *t, int n)
{
    int i;
    for (i = 0; i < n; i++) t[i] = (int)(tt_next() % VOCAB);
}

/* Feeds tokens one at a time; logits of each step into out[n][VOCAB] (may be NULL). */
static int decode(tfm_context *ctx, const int *t, int n, float *out)
{
    float logits[VOCAB];
    tfm_error err;
    int i;
    for (i = 0; i < n; i++) {
        if (tfm_forward(ctx, &t[i], 1, logits, TFM_LOGITS_LAST, &err) != TFM_OK) {
            fprintf(stderr, "  decode: %s\n", err.message);
            return 0;
        }
        if (out) memcpy(out + (size_t)i * VOCAB, logits, sizeof logits);
    }
    return 1;
}

static int prefill(tfm_context *ctx, const int *t, int n, float *logits)
{
    tfm_error err;
    if (tfm_forward(ctx, t, n, logits, TFM_LOGITS_LAST, &err) == TFM_OK) return 1;
    fprintf(stderr, "  prefill: %s\n", err.message);
    return 0;
}

/* The attention and cache types every test goes through: the default, an int8 cache, a window ring that
   wraps (8 rows, more positions than that), BigBird. */
static const struct {
    const char *attn;
    tfm_dtype kv;
} kinds[] = {{"flash", TFM_F32}, {"flash", TFM_I8}, {"window:8", TFM_F32}, {"bigbird:4,1,2,1,3", TFM_F32}};
#define N_KINDS (int)(sizeof kinds / sizeof kinds[0])

/* ---------------------------------------------------------------- tokens and logits */

static void test_tokens_and_logits_kept(void)
{
    tfm_model *m = load_model(1, VOCAB);
    tfm_context *ctx = m ? new_context(m, NULL, TFM_F32, 48, 1) : NULL;
    int t[20], i;
    float logits[VOCAB];
    tfm_error err;
    TT_ASSERT(ctx, "setup");
    random_tokens(t, 20);
    TT_CHECK(tfm_context_logits(ctx) == NULL && tfm_context_pos(ctx) == 0 && tfm_context_length(ctx) == 48);
    TT_CHECK(prefill(ctx, t, 13, logits)); /* two chunks of 8 */
    TT_CHECK(decode(ctx, t + 13, 2, NULL));
    TT_CHECK(tfm_context_pos(ctx) == 15);
    for (i = 0; i < 15; i++) TT_ASSERT(tfm_context_tokens(ctx)[i] == t[i], "token %d", i);
    TT_CHECK(tfm_forward(ctx, t + 15, 1, logits, TFM_LOGITS_LAST, &err) == TFM_OK);
    TT_CHECK(tfm_context_logits(ctx) && memcmp(tfm_context_logits(ctx), logits, sizeof logits) == 0);
    /* a call without the classifier leaves no logits; so does a failed call */
    TT_CHECK(tfm_forward(ctx, t + 16, 1, NULL, TFM_LOGITS_LAST, &err) == TFM_OK && !tfm_context_logits(ctx));
    {
        float all[2 * VOCAB];
        TT_CHECK(tfm_forward(ctx, t + 17, 2, all, TFM_LOGITS_ALL, &err) == TFM_OK);
        TT_CHECK(memcmp(tfm_context_logits(ctx), all + VOCAB, sizeof logits) == 0);
    }
    tfm_context_reset(ctx);
    TT_CHECK(tfm_context_logits(ctx) == NULL && tfm_context_pos(ctx) == 0);
    tfm_context_free(ctx);
    tfm_model_free(m);
}

/* ---------------------------------------------------------------- rewind */

static void test_rewind_equals_fresh(void)
{
    tfm_model *m = load_model(2, VOCAB);
    int k, t[40], y[6];
    float *got = (float *)tt_alloc(sizeof(float) * 6 * VOCAB), *want = (float *)tt_alloc(sizeof(float) * 6 * VOCAB);
    tfm_error err;
    TT_ASSERT(m, "setup");
    random_tokens(t, 40);
    random_tokens(y, 6);
    for (k = 0; k < N_KINDS; k++) {
        int threads;
        for (threads = 1; threads <= 2; threads++) {
            tfm_context *a = new_context(m, kinds[k].attn, kinds[k].kv, 48, threads);
            tfm_context *b = new_context(m, kinds[k].attn, kinds[k].kv, 48, threads);
            int ring = !strcmp(kinds[k].attn, "window:8");
            TT_ASSERT(a && b, "contexts");
            /* a: prompt, then 6 tokens; back to 3 tokens after the prompt; then y. b: only those 3. */
            TT_CHECK(prefill(a, t, 12, NULL) && decode(a, t + 12, 6, NULL));
            TT_CHECK(prefill(b, t, 12, NULL) && decode(b, t + 12, 3, NULL));
            if (ring) {
                /* the ring of 8 rows wrapped at position 8: going back is refused, nothing changes */
                TT_CHECK(tfm_context_rewind(a, 15, &err) == TFM_ERR_UNSUPPORTED && strstr(err.message, "window"));
                TT_CHECK(tfm_context_pos(a) == 18);
                TT_CHECK(tfm_context_rewind(a, 18, &err) == TFM_OK); /* to where it is: nothing to undo */
                TT_CHECK(decode(b, t + 15, 3, NULL));
            } else
                TT_ASSERT(tfm_context_rewind(a, 15, &err) == TFM_OK, "%s: %s", kinds[k].attn, err.message);
            TT_CHECK(tfm_context_logits(a) == NULL || ring);
            TT_CHECK(decode(a, y, 6, got) && decode(b, y, 6, want));
            TT_ASSERT(memcmp(got, want, sizeof(float) * 6 * VOCAB) == 0, "%s %s, %d thread(s): rewound logits differ",
                      kinds[k].attn, kinds[k].kv == TFM_I8 ? "i8" : "f32", threads);
            /* into the prompt, token by token on both sides (the same gemv path) */
            if (!ring) {
                tfm_context_reset(a);
                tfm_context_reset(b);
                TT_CHECK(decode(a, t, 10, NULL) && tfm_context_rewind(a, 4, &err) == TFM_OK);
                TT_CHECK(decode(b, t, 4, NULL));
                TT_CHECK(decode(a, y, 6, got) && decode(b, y, 6, want));
                TT_ASSERT(memcmp(got, want, sizeof(float) * 6 * VOCAB) == 0, "%s: rewound into the prompt", kinds[k].attn);
                TT_CHECK(tfm_context_rewind(a, 0, &err) == TFM_OK && tfm_context_pos(a) == 0);
            }
            TT_CHECK(tfm_context_rewind(a, -1, &err) == TFM_ERR_OUT_OF_RANGE);
            TT_CHECK(tfm_context_rewind(a, tfm_context_pos(a) + 1, &err) == TFM_ERR_OUT_OF_RANGE);
            tfm_context_free(a);
            tfm_context_free(b);
        }
    }
    TT_CHECK(tfm_context_rewind(NULL, 0, &err) == TFM_ERR_INVALID_ARGUMENT);
    free(got), free(want);
    tfm_model_free(m);
}

/* ---------------------------------------------------------------- save and load, fork */

static const char *build_path(const char *name)
{
    static char path[1200];
    snprintf(path, sizeof path, "%s/%s", build_dir, name);
    return path;
}

/* a continues with y; every other context must give the same logits */
static int same_continuation(tfm_context *a, tfm_context *b, const int *y, int n)
{
    float *la = (float *)tt_alloc(sizeof(float) * (size_t)n * VOCAB), *lb = (float *)tt_alloc(sizeof(float) * (size_t)n * VOCAB);
    int same = decode(a, y, n, la) && decode(b, y, n, lb) && memcmp(la, lb, sizeof(float) * (size_t)n * VOCAB) == 0;
    free(la), free(lb);
    return same;
}

static void test_save_load_continues(void)
{
    tfm_model *m = load_model(3, VOCAB);
    int k, t[30], y[5];
    tfm_error err;
    TT_ASSERT(m, "setup");
    random_tokens(t, 30);
    random_tokens(y, 5);
    for (k = 0; k < N_KINDS; k++) {
        tfm_context *a = new_context(m, kinds[k].attn, kinds[k].kv, 48, 2);
        tfm_context *b = new_context(m, kinds[k].attn, kinds[k].kv, 48, 1);
        tfm_context *c = new_context(m, kinds[k].attn, kinds[k].kv, 48, 2);
        tfm_context *bigger = new_context(m, kinds[k].attn, kinds[k].kv, 64, 2);
        float logits[VOCAB];
        size_t size = 0, wrote = 0;
        unsigned char *buf;
        char path[1200], tmp[1200];
        FILE *f;
        TT_ASSERT(a && b && c && bigger, "contexts");
        snprintf(path, sizeof path, "%s", build_path("test_state.bin"));
        snprintf(tmp, sizeof tmp, "%s", build_path("test_state.bin.tmp0"));
        TT_CHECK(prefill(a, t, 17, NULL) && decode(a, t + 17, 3, NULL)); /* 20 positions: the ring wrapped */
        TT_CHECK(prefill(b, t + 5, 9, NULL));                            /* something to be overwritten */
        TT_CHECK(tfm_context_state_save(a, NULL, 0, &size, &err) == TFM_OK && size == tfm_context_state_size(a));
        buf = (unsigned char *)tt_alloc(size);
        TT_ASSERT(tfm_context_state_save(a, buf, size, &wrote, &err) == TFM_OK && wrote == size, "save: %s", err.message);
        TT_ASSERT(tfm_context_state_load(b, buf, size, &err) == TFM_OK, "%s: load: %s", kinds[k].attn, err.message);
        TT_CHECK(tfm_context_pos(b) == 20 && memcmp(tfm_context_tokens(b), t, 20 * sizeof(int)) == 0);
        TT_CHECK(tfm_context_logits(b) && memcmp(tfm_context_logits(b), tfm_context_logits(a), sizeof logits) == 0);
        /* to a file and back, into a context that holds more positions (the rows land where they were) */
        TT_ASSERT(tfm_context_state_save_file(a, path, &err) == TFM_OK, "save file: %s", err.message);
        f = fopen(tmp, "rb");
        TT_CHECK(f == NULL); /* renamed, not left behind */
        if (f) fclose(f);
        TT_ASSERT(tfm_context_state_load_file(bigger, path, &err) == TFM_OK || !strcmp(kinds[k].attn, "window:8"),
                  "%s: load file: %s", kinds[k].attn, err.message);
        if (!strcmp(kinds[k].attn, "window:8")) {
            /* a wrapped ring of 8 goes only into a ring of 8: a context of 64 has one too */
            TT_ASSERT(tfm_context_state_load_file(bigger, path, &err) == TFM_OK, "ring: %s", err.message);
        }
        /* a fork: c copies a */
        TT_CHECK(prefill(c, y, 3, NULL));
        TT_ASSERT(tfm_context_copy(c, a, &err) == TFM_OK, "copy: %s", err.message);
        TT_CHECK(tfm_context_pos(c) == 20);
        /* all four continue alike */
        TT_ASSERT(same_continuation(b, c, y, 5), "%s: loaded and copied states continue differently", kinds[k].attn);
        TT_ASSERT(same_continuation(a, bigger, y, 5), "%s: the original and the file's state continue differently",
                  kinds[k].attn);
        TT_CHECK(tfm_context_pos(a) == 25 && memcmp(tfm_context_logits(a), tfm_context_logits(b), sizeof logits) == 0);
        /* a state without logits (the last call ran no classifier) loads without them */
        TT_CHECK(tfm_forward(a, y, 1, NULL, TFM_LOGITS_LAST, &err) == TFM_OK);
        free(buf);
        TT_CHECK(tfm_context_state_save(a, NULL, 0, &size, &err) == TFM_OK);
        buf = (unsigned char *)tt_alloc(size);
        TT_CHECK(tfm_context_state_save(a, buf, size, &wrote, &err) == TFM_OK);
        TT_CHECK(tfm_context_state_load(c, buf, size, &err) == TFM_OK && tfm_context_logits(c) == NULL &&
                 tfm_context_pos(c) == 26);
        /* an empty context saves and loads too */
        tfm_context_reset(a);
        TT_CHECK(tfm_context_state_save(a, buf, size, &wrote, &err) == TFM_OK);
        TT_CHECK(tfm_context_state_load(c, buf, wrote, &err) == TFM_OK && tfm_context_pos(c) == 0);
        free(buf);
        remove(path);
        tfm_context_free(a), tfm_context_free(b), tfm_context_free(c), tfm_context_free(bigger);
    }
    tfm_model_free(m);
}

/* Fork refusals: another model, another attention or cache type, too little room. */
static void test_copy_refusals(void)
{
    tfm_model *m = load_model(4, VOCAB), *other = NULL;
    tfm_model *m2;
    tfm_context *a, *small, *window, *i8, *foreign;
    float *keep = model_file;
    int t[20];
    tfm_error err;
    TT_ASSERT(m, "setup");
    model_file = NULL; /* m keeps pointing into its file: keep it alive */
    m2 = load_model(5, VOCAB);
    other = m2;
    random_tokens(t, 20);
    a = new_context(m, NULL, TFM_F32, 48, 1);
    small = new_context(m, NULL, TFM_F32, 16, 1);
    window = new_context(m, "window:8", TFM_F32, 48, 1);
    i8 = new_context(m, NULL, TFM_I8, 48, 1);
    foreign = other ? new_context(other, NULL, TFM_F32, 48, 1) : NULL;
    TT_ASSERT(a && small && window && i8 && foreign, "contexts");
    TT_CHECK(prefill(a, t, 20, NULL));
    TT_CHECK(tfm_context_copy(small, a, &err) == TFM_ERR_CONTEXT_FULL);
    TT_CHECK(tfm_context_copy(window, a, &err) == TFM_ERR_FORMAT && strstr(err.message, "window:8"));
    TT_CHECK(tfm_context_copy(i8, a, &err) == TFM_ERR_FORMAT && strstr(err.message, "i8"));
    TT_CHECK(tfm_context_copy(foreign, a, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_context_copy(a, a, &err) == TFM_OK && tfm_context_pos(a) == 20);
    TT_CHECK(tfm_context_copy(NULL, a, &err) == TFM_ERR_INVALID_ARGUMENT);
    /* dense computes flash's function: a fork between them is allowed */
    {
        tfm_context *dense = new_context(m, "dense", TFM_F32, 48, 1);
        TT_CHECK(dense && tfm_context_copy(dense, a, &err) == TFM_OK);
        tfm_context_free(dense);
    }
    tfm_context_free(a), tfm_context_free(small), tfm_context_free(window), tfm_context_free(i8);
    tfm_context_free(foreign);
    tfm_model_free(m2);
    tfm_model_free(m);
    free(keep);
}

/* ---------------------------------------------------------------- bad states */

static int load_fails(tfm_context *ctx, const unsigned char *data, size_t size, tfm_status want, const char *says)
{
    tfm_error err;
    tfm_status s = tfm_context_state_load(ctx, data, size, &err);
    if (s == TFM_OK || (want != TFM_OK && s != want) || (says && !strstr(err.message, says)) || !err.message[0] ||
        tfm_context_pos(ctx) != 0 || tfm_context_logits(ctx) != NULL) {
        fprintf(stderr, "  load of %zu bytes: status %d, '%s' (want %d, '%s'), pos %d\n", size, (int)s, err.message,
                (int)want, says ? says : "", tfm_context_pos(ctx));
        return 0;
    }
    return 1;
}

static void test_bad_states(void)
{
    tfm_model *m = load_model(6, VOCAB), *other_weights, *other_shape;
    tfm_context *a, *b, *small, *window, *i8, *c2, *c3;
    float *files[3];
    unsigned char *buf, *bad;
    size_t size, wrote, i, step;
    int t[24], cuts = 0, flips = 0;
    tfm_error err;
    char path[1200];
    FILE *f;
    TT_ASSERT(m, "setup");
    snprintf(path, sizeof path, "%s", build_path("test_state_bad.bin"));
    files[0] = model_file, model_file = NULL;
    other_weights = load_model(7, VOCAB);
    files[1] = model_file, model_file = NULL;
    other_shape = load_model(6, VOCAB + 2);
    files[2] = model_file, model_file = NULL;
    random_tokens(t, 24);
    a = new_context(m, NULL, TFM_F32, 48, 1);
    b = new_context(m, NULL, TFM_F32, 48, 1);
    small = new_context(m, NULL, TFM_F32, 16, 1);
    window = new_context(m, "window:8", TFM_F32, 48, 1);
    i8 = new_context(m, NULL, TFM_I8, 48, 1);
    c2 = new_context(other_weights, NULL, TFM_F32, 48, 1);
    c3 = new_context(other_shape, NULL, TFM_F32, 48, 1);
    TT_ASSERT(a && b && small && window && i8 && c2 && c3, "contexts");
    TT_CHECK(prefill(a, t, 20, NULL) && decode(a, t + 20, 1, NULL));
    size = tfm_context_state_size(a);
    buf = (unsigned char *)tt_alloc(size + 1);
    bad = (unsigned char *)tt_alloc(size + 1);
    TT_CHECK(tfm_context_state_save(a, buf, size, &wrote, &err) == TFM_OK && wrote == size);
    TT_CHECK(tfm_context_state_save(a, buf, size - 1, &wrote, &err) == TFM_ERR_CONTEXT_FULL);

    /* every kind of mismatch, each loaded into a context that held something */
#define REFILL(ctx) TT_CHECK(prefill(ctx, t, 3, NULL))
    REFILL(c2);
    TT_CHECK(load_fails(c2, buf, size, TFM_ERR_FORMAT, "other weights"));
    REFILL(c3);
    TT_CHECK(load_fails(c3, buf, size, TFM_ERR_FORMAT, "another model"));
    REFILL(small);
    TT_CHECK(load_fails(small, buf, size, TFM_ERR_CONTEXT_FULL, "21 positions"));
    REFILL(window);
    TT_CHECK(load_fails(window, buf, size, TFM_ERR_FORMAT, "window:8"));
    REFILL(i8);
    TT_CHECK(load_fails(i8, buf, size, TFM_ERR_FORMAT, "i8"));
    /* cut short anywhere: in the header, the layers, the payload, the checksum */
    step = size / 97 + 1;
    for (i = 0; i < size; i += (i < 120 ? 1 : step)) {
        REFILL(b);
        TT_ASSERT(load_fails(b, buf, i, TFM_OK, NULL), "cut at %zu of %zu", i, size);
        cuts++;
    }
    /* one bit flipped anywhere: caught by a header check or the checksum */
    for (i = 0; i < size; i += (i < 120 ? 1 : step)) {
        memcpy(bad, buf, size);
        bad[i] ^= (unsigned char)(1u << (i % 8));
        REFILL(b);
        TT_ASSERT(load_fails(b, bad, size, TFM_OK, NULL), "bit flipped at %zu of %zu", i, size);
        flips++;
    }
    memcpy(bad, buf, size);
    bad[size - 20] ^= 1;
    TT_CHECK(load_fails(b, bad, size, TFM_ERR_FORMAT, "checksum"));
    memcpy(bad, buf, size);
    bad[8] = 2; /* version */
    TT_CHECK(load_fails(b, bad, size, TFM_ERR_UNSUPPORTED, "version 2"));
    memcpy(bad, buf, size);
    bad[size] = 0;
    TT_CHECK(load_fails(b, bad, size + 1, TFM_ERR_FORMAT, "after the end"));
    TT_CHECK(load_fails(b, (const unsigned char *)"GGUF and more bytes than a header holds, not a state at all, no", 64,
                        TFM_ERR_FORMAT, "magic"));
    /* the original still loads */
    TT_CHECK(tfm_context_state_load(b, buf, size, &err) == TFM_OK && tfm_context_pos(b) == 21);

    /* files: missing, cut short, trailing bytes, a directory that does not exist */
    TT_CHECK(tfm_context_state_load_file(b, build_path("no_such_state.bin"), &err) == TFM_ERR_IO &&
             tfm_context_pos(b) == 0 && strstr(err.message, "no_such_state.bin"));
    f = fopen(path, "wb");
    TT_ASSERT(f, "cannot write %s", path);
    fwrite(buf, 1, size / 2, f);
    fclose(f);
    TT_CHECK(tfm_context_state_load_file(b, path, &err) != TFM_OK && tfm_context_pos(b) == 0);
    f = fopen(path, "wb");
    fwrite(buf, 1, size, f);
    fputc(0, f);
    fclose(f);
    TT_CHECK(tfm_context_state_load_file(b, path, &err) == TFM_ERR_FORMAT && tfm_context_pos(b) == 0);
    TT_CHECK(tfm_context_state_save_file(a, build_path("no_such_dir/x/state.bin"), &err) == TFM_ERR_IO);
    TT_CHECK(tfm_context_state_save_file(NULL, path, &err) == TFM_ERR_INVALID_ARGUMENT);
    remove(path);
    TT_CHECK(cuts > 100 && flips > 100);
#undef REFILL
    free(buf), free(bad);
    tfm_context_free(a), tfm_context_free(b), tfm_context_free(small), tfm_context_free(window);
    tfm_context_free(i8), tfm_context_free(c2), tfm_context_free(c3);
    tfm_model_free(m), tfm_model_free(other_weights), tfm_model_free(other_shape);
    free(files[0]), free(files[1]), free(files[2]);
}

/* The checksum of a state as the layout documents it (tfm_hash64 chained over the header, each layer's
   record, the payload size, tokens, logits, each layer's K and V rows), for a context of f32 caches of
   `rows` rows a layer; written over the last 8 bytes. */
static uint64_t rehash(unsigned char *buf, size_t size, int rows)
{
    enum { ROW = KV_HEADS * (DIM / HEADS) * 4 };
    uint64_t h = 0, n = buf[28], has_logits = buf[32];
    size_t at = 0;
    int l, i;
    h = tfm_hash64(buf, 48, h), at = 48;
    for (l = 0; l < LAYERS; l++) h = tfm_hash64(buf + at, 48, h), at += 48;
    h = tfm_hash64(buf + at, 8, h), at += 8;
    h = tfm_hash64(buf + at, 4 * n, h), at += 4 * n;
    if (has_logits) h = tfm_hash64(buf + at, 4 * VOCAB, h), at += 4 * VOCAB;
    for (l = 0; l < 2 * LAYERS; l++) h = tfm_hash64(buf + at, (size_t)rows * ROW, h), at += (size_t)rows * ROW;
    if (at + 8 != size) return 0;
    for (i = 0; i < 8; i++) buf[at + (size_t)i] = (unsigned char)(h >> (8 * i));
    return h;
}

/* The header fields a loader does not compare with its own context are checked against each other:
   the saver's context length (at least the positions held), each layer's ring capacity (the window
   exactly when the saver's context was longer) and reserved bytes (0). Before, any value loaded: these
   states, checksums made right, were accepted. */
static void test_header_fields_checked(void)
{
    tfm_model *m = load_model(12, VOCAB);
    tfm_context *ring = new_context(m, "window:8", TFM_F32, 48, 1), *short_ctx = new_context(m, "window:8", TFM_F32, 8, 1);
    tfm_context *flash = new_context(m, "flash", TFM_F32, 48, 1);
    unsigned char buf[8192], bad[8192];
    size_t size = 0, flash_size = 0;
    tfm_error err;
    int t[5];
    TT_ASSERT(m && ring && short_ctx && flash, "setup");
    random_tokens(t, 5);
    TT_CHECK(prefill(ring, t, 5, NULL) && prefill(short_ctx, t, 5, NULL) && prefill(flash, t, 5, NULL));
    TT_ASSERT(tfm_context_state_save(ring, buf, sizeof buf, &size, &err) == TFM_OK, "save: %s", err.message);
    memcpy(bad, buf, size);
    TT_ASSERT(rehash(bad, size, 5) != 0 && memcmp(bad, buf, size) == 0, "the checksum as documented");
    TT_CHECK(buf[36] == 48 && buf[48 + 36] == 8 && buf[48 + 48 + 36] == 8); /* a ring of 8 rows, not wrapped */
    /* the saver's context shorter than the positions it held, or none */
    buf[36] = 4, rehash(buf, size, 5);
    TT_CHECK(load_fails(ring, buf, size, TFM_ERR_FORMAT, "header"));
    buf[36] = 0, rehash(buf, size, 5);
    TT_CHECK(load_fails(ring, buf, size, TFM_ERR_FORMAT, "header"));
    memcpy(buf, bad, size);
    buf[39] = 0x80, rehash(buf, size, 5);
    TT_CHECK(load_fails(ring, buf, size, TFM_ERR_FORMAT, "header"));
    /* a ring that is not the window, or no ring where the saver's context exceeded the window */
    memcpy(buf, bad, size);
    buf[48 + 48 + 36] = 9, rehash(buf, size, 5);
    TT_CHECK(load_fails(ring, buf, size, TFM_ERR_FORMAT, "layer 1"));
    memcpy(buf, bad, size);
    buf[48 + 36] = 0, rehash(buf, size, 5);
    TT_CHECK(load_fails(ring, buf, size, TFM_ERR_FORMAT, "layer 0"));
    /* a reserved byte set */
    memcpy(buf, bad, size);
    buf[48 + 47] = 1, rehash(buf, size, 5);
    TT_CHECK(load_fails(ring, buf, size, TFM_ERR_FORMAT, "layer 0"));
    /* a ring on a layer without a window */
    TT_ASSERT(tfm_context_state_save(flash, buf, sizeof buf, &flash_size, &err) == TFM_OK, "save: %s", err.message);
    buf[48 + 36] = 5, rehash(buf, flash_size, 5);
    TT_CHECK(load_fails(flash, buf, flash_size, TFM_ERR_FORMAT, "layer 0"));
    /* the unchanged states load; a state of a context no longer than its window (no ring) into one with a
       ring and back */
    TT_CHECK(tfm_context_state_load(ring, bad, size, &err) == TFM_OK && tfm_context_pos(ring) == 5);
    TT_ASSERT(tfm_context_state_save(short_ctx, buf, sizeof buf, &size, &err) == TFM_OK, "save: %s", err.message);
    TT_CHECK(buf[36] == 8 && buf[48 + 36] == 0);
    TT_ASSERT(tfm_context_state_load(ring, buf, size, &err) == TFM_OK, "no ring into a ring: %s", err.message);
    TT_ASSERT(tfm_context_state_save(ring, buf, sizeof buf, &size, &err) == TFM_OK, "save: %s", err.message);
    TT_ASSERT(tfm_context_state_load(short_ctx, buf, size, &err) == TFM_OK, "a ring into no ring: %s", err.message);
    tfm_context_free(ring), tfm_context_free(short_ctx), tfm_context_free(flash);
    tfm_model_free(m);
}

/* A state file written over the model's own file (by another path too) is refused and the model file
   stays byte for byte; an existing state file is replaced whole. Before: the state went to PATH.tmp and
   was renamed over PATH whatever PATH was, so saving a prompt cache onto the model lost the model. */
static void test_save_file_never_over_the_model(void)
{
    char model_path[1200], other_path[1200], state_path[1200];
    tfm_model *m = load_model(5, VOCAB), *from_file = NULL;
    tfm_context *ctx = NULL;
    tfm_error err;
    unsigned char *back;
    size_t got;
    int t[6];
    FILE *f;
    TT_ASSERT(m, "model");
    snprintf(model_path, sizeof model_path, "%s", build_path("test_state_model.bin"));
    snprintf(other_path, sizeof other_path, "%s/./test_state_model.bin", build_dir);
    snprintf(state_path, sizeof state_path, "%s", build_path("test_state_model.state"));
    f = fopen(model_path, "wb");
    TT_ASSERT(f && fwrite(model_file, 1, model_size, f) == model_size, "cannot write %s", model_path);
    fclose(f);
    TT_ASSERT(tfm_model_load(model_path, NULL, &from_file, &err) == TFM_OK, "load: %s", err.message);
    ctx = new_context(from_file, "flash", TFM_F32, 16, 1);
    random_tokens(t, 6);
    TT_CHECK(ctx && prefill(ctx, t, 6, NULL));
    TT_CHECK(tfm_context_state_save_file(ctx, model_path, &err) == TFM_ERR_INVALID_ARGUMENT &&
             strstr(err.message, "being read"));
    TT_CHECK(tfm_context_state_save_file(ctx, other_path, &err) == TFM_ERR_INVALID_ARGUMENT);
    back = (unsigned char *)tt_alloc(model_size + 1);
    f = fopen(model_path, "rb");
    TT_ASSERT(f, "the model file is gone");
    got = fread(back, 1, model_size + 1, f);
    fclose(f);
    TT_ASSERT(got == model_size && memcmp(back, model_file, model_size) == 0, "the model file changed (%zu bytes)", got);
    /* a state file is written, then replaced by a longer one */
    TT_ASSERT(tfm_context_state_save_file(ctx, state_path, &err) == TFM_OK, "save: %s", err.message);
    TT_CHECK(decode(ctx, t, 2, NULL));
    TT_ASSERT(tfm_context_state_save_file(ctx, state_path, &err) == TFM_OK, "save again: %s", err.message);
    tfm_context_reset(ctx);
    TT_ASSERT(tfm_context_state_load_file(ctx, state_path, &err) == TFM_OK && tfm_context_pos(ctx) == 8, "load: %s",
              err.message);
    remove(state_path);
    remove(model_path);
    free(back);
    tfm_context_free(ctx);
    tfm_model_free(from_file), tfm_model_free(m);
}

/* The fingerprint: the same file twice agrees, another seed or another quantization differs. */
/* The checksum at the end of a state is the documented one: tfm_hash64 chained over each piece of the
   layout (header, layer records, payload size, tokens, logits, each layer's K then V rows), computed
   here from the saved bytes; with a vocabulary of 33000 the logits are one piece of 132000 bytes, longer
   than the part a load reads and hashes at a time (128 KiB), and the file of it loads again. */
static void test_checksum_of_the_pieces(void)
{
    enum { BIG_VOCAB = 33000, N = 21, ROW = KV_HEADS * (DIM / HEADS) * 4 };
    tfm_model *m = load_model(11, BIG_VOCAB);
    tfm_context *a, *b;
    unsigned char *buf;
    size_t size = 0, wrote = 0, at = 0;
    uint64_t h = 0, stored = 0;
    int t[N], l, i;
    char path[1200];
    tfm_error err;
    TT_ASSERT(m, "setup");
    a = new_context(m, "flash", TFM_F32, 40, 2);
    b = new_context(m, "flash", TFM_F32, 40, 1);
    TT_ASSERT(a && b, "contexts");
    random_tokens(t, N);
    buf = (unsigned char *)tt_alloc(4 * BIG_VOCAB);
    TT_CHECK(prefill(a, t, N, (float *)(void *)buf)); /* with the logits */
    free(buf);
    TT_CHECK(tfm_context_state_save(a, NULL, 0, &size, &err) == TFM_OK);
    TT_ASSERT(size == 48 + 48 * LAYERS + 8 + 4 * N + 4 * BIG_VOCAB + 2 * LAYERS * N * ROW + 8, "state of %zu bytes", size);
    buf = (unsigned char *)tt_alloc(size);
    TT_CHECK(tfm_context_state_save(a, buf, size, &wrote, &err) == TFM_OK && wrote == size);
    h = tfm_hash64(buf, 48, h), at = 48;
    for (l = 0; l < LAYERS; l++) h = tfm_hash64(buf + at, 48, h), at += 48;
    h = tfm_hash64(buf + at, 8, h), at += 8;
    h = tfm_hash64(buf + at, 4 * N, h), at += 4 * N;
    h = tfm_hash64(buf + at, 4 * BIG_VOCAB, h), at += 4 * BIG_VOCAB;
    for (l = 0; l < 2 * LAYERS; l++) h = tfm_hash64(buf + at, (size_t)N * ROW, h), at += (size_t)N * ROW;
    TT_ASSERT(at + 8 == size, "layout");
    for (i = 7; i >= 0; i--) stored = stored << 8 | buf[at + (size_t)i];
    TT_ASSERT(stored == h, "checksum %016llx, the pieces give %016llx", (unsigned long long)stored, (unsigned long long)h);
    snprintf(path, sizeof path, "%s", build_path("test_state_big.bin"));
    TT_ASSERT(tfm_context_state_save_file(a, path, &err) == TFM_OK, "save file: %s", err.message);
    TT_ASSERT(tfm_context_state_load_file(b, path, &err) == TFM_OK, "load file: %s", err.message);
    TT_CHECK(tfm_context_pos(b) == N && memcmp(tfm_context_logits(b), tfm_context_logits(a), 4 * BIG_VOCAB) == 0);
    remove(path);
    free(buf);
    tfm_context_free(a), tfm_context_free(b);
    tfm_model_free(m);
}

static void test_fingerprint(void)
{
    tfm_model *a = load_model(8, VOCAB), *b, *c;
    float *fa = model_file, *fb;
    model_file = NULL;
    b = load_model(8, VOCAB);
    fb = model_file, model_file = NULL;
    c = load_model(9, VOCAB);
    TT_ASSERT(a && b && c, "setup");
    TT_CHECK(tfm_model_fingerprint(a) == tfm_model_fingerprint(b));
    TT_CHECK(tfm_model_fingerprint(a) != tfm_model_fingerprint(c));
    TT_CHECK(tfm_model_fingerprint(NULL) == 0);
    {
        /* as documented for a model from memory (computed once at load since): the config's sizes and the
           embedding's f32 dtype (0), each as 8 little-endian bytes, then the embedding table's first 4 KiB
           (it is smaller than the 1 MiB stride), chained through tfm_hash64; the table follows the
           llama2.c header of 7 int32 */
        const int64_t values[8] = {DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, DIM / HEADS, VOCAB, 0};
        unsigned char b8[8];
        uint64_t h = 0;
        int i, k;
        for (i = 0; i < 8; i++) {
            for (k = 0; k < 8; k++) b8[k] = (unsigned char)((uint64_t)values[i] >> (8 * k));
            h = tfm_hash64(b8, 8, h);
        }
        h = tfm_hash64((const unsigned char *)fa + 28, 4096, h);
        TT_ASSERT(tfm_model_fingerprint(a) == h, "fingerprint %016llx, documented %016llx",
                  (unsigned long long)tfm_model_fingerprint(a), (unsigned long long)h);
    }
    tfm_model_free(a), tfm_model_free(b), tfm_model_free(c);
    free(fa), free(fb);
}

int main(int argc, char **argv)
{
    /* scratch files go next to the test binary, inside the build directory */
    if (argc > 0 && strrchr(argv[0], '/')) {
        size_t len = (size_t)(strrchr(argv[0], '/') - argv[0]);
        if (len < sizeof build_dir) {
            memcpy(build_dir, argv[0], len);
            build_dir[len] = '\0';
        }
    }
    TT_RUN(test_tokens_and_logits_kept);
    TT_RUN(test_rewind_equals_fresh);
    TT_RUN(test_save_load_continues);
    TT_RUN(test_copy_refusals);
    TT_RUN(test_bad_states);
    TT_RUN(test_header_fields_checked);
    TT_RUN(test_checksum_of_the_pieces);
    TT_RUN(test_fingerprint);
    TT_RUN(test_save_file_never_over_the_model);
    free(model_file);
    return tt_summary("state");
}

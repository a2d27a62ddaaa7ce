/* fuzz_state.c - context state bytes (tfm_model.h's TFMSTATE format) loaded into each context of
   tiny_model.h's model: flash attention with an f32 cache, a window in an int8 cache, bigbird. The
   checksum at the end would stop nearly every mutation, so the harness first reads the input through
   tfm_context_state_read with a reader that records the pieces asked for; when the read got as far as
   the checksum, the checksum of those pieces replaces the input's last 8 bytes (the mutations reach
   every check before it), and the patched bytes go through tfm_context_state_load. Properties (besides
   the sanitizers'): a failure gives a printable one-line message and leaves the context empty; a state
   that loads has its tokens in the vocab, saves back to the bytes loaded (but for the fields that describe
   the context: same_state), runs a token when the context has room, and with its checksum broken does not
   load. A sixteenth of the inputs (those whose last byte, the checksum's top byte once fixed up, is a
   multiple of 16) also go through a file (tfm_context_state_load_file): the same outcome as from memory. */
#define TFM_IMPLEMENTATION
#include "tfm_model.h"
#include <unistd.h> /* getpid */

#include "fuzz.h"
#include "tiny_model.h"

static tfm_context *contexts[FUZZ_N_CONTEXTS];
static char state_path[64]; /* the file tfm_context_state_load_file reads, one per process */

static void remove_state_file(void) { remove(state_path); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    tfm_model *m = fuzz_tiny_model();
    tfm_error err;
    int i;
    (void)argc, (void)argv;
    for (i = 0; m && i < FUZZ_N_CONTEXTS; i++) {
        tfm_context_params p = fuzz_state_params(i);
        if (tfm_context_create(m, &p, &contexts[i], &err) != TFM_OK) {
            fprintf(stderr, "fuzz_state: context %d: %s\n", i, err.message);
            abort();
        }
    }
    if (!m) abort();
    snprintf(state_path, sizeof state_path, "fuzz_state.%ld.tmp", (long)getpid());
    atexit(remove_state_file);
    return 0;
}

/* Reads the input as the library asks for it, hashing every piece but the last (the checksum) as the
   writer does. (The library asks for a piece longer than 128 KiB in parts, which this would hash as
   pieces of their own; the fuzzed models' pieces are far smaller.) */
typedef struct {
    const unsigned char *data;
    size_t size, used, last_at, last_n;
    uint64_t hash, hash_before_last;
} recording_reader;

static tfm_status record_read(void *user, void *out, size_t n)
{
    recording_reader *r = (recording_reader *)user;
    if (n > r->size - r->used) return TFM_ERR_FORMAT;
    memcpy(out, r->data + r->used, n);
    r->hash_before_last = r->hash;
    r->hash = tfm_hash64(r->data + r->used, n, r->hash);
    r->last_at = r->used, r->last_n = n;
    r->used += n;
    return TFM_OK;
}

static void put64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Two states of one size are the same but for what describes the context rather than the state: the
   header's context length and, per layer, the ring's capacity (the loading context's, which may have a
   ring where the saver had none); and so the checksum. The reserved bytes must be 0 in both. */
static int same_state(const unsigned char *a, const unsigned char *b, size_t size, int n_layers)
{
    size_t i, layer;
    for (i = 0; i + 8 < size; i++) {
        if (i >= 36 && i < 40) continue;
        layer = i >= TFM__STATE_HEAD ? (i - TFM__STATE_HEAD) / TFM__STATE_LAYER : (size_t)n_layers;
        if (layer < (size_t)n_layers && (i - TFM__STATE_HEAD) % TFM__STATE_LAYER / 4 == 9) continue;
        if (a[i] != b[i]) return 0;
    }
    return 1;
}

/* The same bytes from a file: the same outcome as from memory (a failure's message names the file), the
   same positions and tokens. Leaves ctx as the load from memory did. */
static void check_file_load(tfm_context *ctx, const unsigned char *bytes, size_t size, tfm_status from_memory)
{
    FILE *f;
    int pos = tfm_context_pos(ctx), *tokens = NULL;
    tfm_error err;
    tfm_status s;
    /* a new file each time: ext4 writes a file truncated to 0 back to disk when it is closed (auto_da_alloc),
       which made these writes most of the target's time */
    remove(state_path);
    if ((f = fopen(state_path, "wb")) == NULL) return;
    if (fwrite(bytes, 1, size, f) != size) {
        fclose(f);
        return;
    }
    fclose(f);
    if (pos > 0 && (tokens = (int *)malloc(sizeof(int) * (size_t)pos)) == NULL) return;
    if (pos > 0) memcpy(tokens, tfm_context_tokens(ctx), sizeof(int) * (size_t)pos);
    s = tfm_context_state_load_file(ctx, state_path, &err);
    fuzz_check_message(&err, s);
    FUZZ_CHECK(s == from_memory && tfm_context_pos(ctx) == pos);
    FUZZ_CHECK(s == TFM_OK || strstr(err.message, state_path) != NULL);
    if (pos > 0) FUZZ_CHECK(memcmp(tokens, tfm_context_tokens(ctx), sizeof(int) * (size_t)pos) == 0);
    free(tokens);
}

static void load_into(tfm_context *ctx, unsigned char *copy, size_t size)
{
    recording_reader r;
    tfm_error err;
    tfm_status s;
    size_t written = 0;
    int i;
    memset(&r, 0, sizeof r);
    r.data = copy, r.size = size;
    s = tfm_context_state_read(ctx, record_read, &r, &err);
    fuzz_check_message(&err, s);
    if (s != TFM_OK) FUZZ_CHECK(tfm_context_pos(ctx) == 0);
    /* the read got to the checksum (8 bytes at the end of what it read): the checksum of the rest */
    if (r.last_n == 8 && r.last_at + 8 == r.used && r.used == size) put64(copy + size - 8, r.hash_before_last);

    s = tfm_context_state_load(ctx, copy, size, &err);
    fuzz_check_message(&err, s);
    if (size > 0 && copy[size - 1] % 16 == 0) check_file_load(ctx, copy, size, s); /* a sixteenth of the inputs */
    if (s != TFM_OK) {
        FUZZ_CHECK(tfm_context_pos(ctx) == 0);
        return;
    }
    FUZZ_CHECK(tfm_context_pos(ctx) >= 0 && tfm_context_pos(ctx) <= tfm_context_length(ctx));
    for (i = 0; i < tfm_context_pos(ctx); i++)
        FUZZ_CHECK(tfm_context_tokens(ctx)[i] >= 0 && tfm_context_tokens(ctx)[i] < ctx->model->config.vocab_size);
    FUZZ_CHECK(tfm_context_state_size(ctx) == size);
    {
        unsigned char *again = (unsigned char *)malloc(size);
        if (again) {
            FUZZ_CHECK(tfm_context_state_save(ctx, again, size, &written, &err) == TFM_OK && written == size);
            FUZZ_CHECK(same_state(again, copy, size, ctx->model->config.n_layers));
            free(again);
        }
    }
    if (tfm_context_pos(ctx) < tfm_context_length(ctx)) {
        float logits[16];
        int token = (int)(size % 16);
        s = tfm_forward(ctx, &token, 1, logits, TFM_LOGITS_LAST, &err);
        fuzz_check_message(&err, s);
    }
    copy[size - 1] ^= 0x5a; /* a broken checksum: refused, the context left empty */
    s = tfm_context_state_load(ctx, copy, size, &err);
    FUZZ_CHECK(s == TFM_ERR_FORMAT && tfm_context_pos(ctx) == 0);
    fuzz_check_message(&err, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = (unsigned char *)malloc(size ? size : 1);
    int i;
    if (!copy) return 0;
    for (i = 0; i < FUZZ_N_CONTEXTS; i++) {
        memcpy(copy, data, size);
        load_into(contexts[i], copy, size);
    }
    free(copy);
    return 0;
}

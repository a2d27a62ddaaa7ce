/* tiny_model.h - the small model fuzz_state loads its state files into, made in memory (no file: the
   target and its regression files replay anywhere), and the contexts it loads them into. seeds.c makes
   the seed state files against the same model and contexts, so the fingerprints agree. Include after
   tfm_model.h (with TFM_IMPLEMENTATION in that file).
   The model: a llama of 2 layers, dim 8, 2 query heads of 4 sharing 1 kv head, vocab 16, f32 weights of
   a fixed pattern, no vocab. The contexts (fuzz_state_params): 8 positions of flash attention and f32
   cache, a window of 2 in an int8 cache, bigbird blocks of 2 in 12 positions. */
#ifndef TFM_FUZZ_TINY_MODEL_H
#define TFM_FUZZ_TINY_MODEL_H

#define FUZZ_N_CONTEXTS 3

static tfm_context_params fuzz_state_params(int which)
{
    static const char *const attn[FUZZ_N_CONTEXTS] = {"flash", "window:2", "bigbird:2,1,1,1"};
    static const int length[FUZZ_N_CONTEXTS] = {8, 8, 12};
    tfm_context_params p;
    memset(&p, 0, sizeof p);
    p.context_length = length[which];
    p.max_batch = 4;
    p.n_threads = 1;
    p.attn = attn[which];
    p.kv_type = which == 1 ? TFM_I8 : TFM_F32;
    return p;
}

/* The model's GGUF bytes live as long as the program (the weights point into them). NULL on failure,
   with the reason on stderr. */
static tfm_model *fuzz_tiny_model(void)
{
    static unsigned char *file;
    static float values[16 * 8];
    tfm_model_config c;
    tfm_gguf_writer *w = NULL;
    tfm_model *m = NULL;
    tfm_error err;
    int64_t ne[3], shape[4];
    char name[64];
    size_t size;
    int i, ok;
    memset(&c, 0, sizeof c);
    c.dim = 8, c.hidden_dim = 8, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.head_dim = 4;
    c.vocab_size = 16, c.context_length = 16, c.rope_base = 10000.0f, c.rope_dim = 4, c.norm_eps = 1e-5f;
    for (i = 0; i < 16 * 8; i++) values[i] = (float)((i * 37) % 17 - 8) / 16.0f;
    ok = tfm_gguf_writer_create(&w, &err) == TFM_OK && tfm_model_gguf_add_config(w, &c, "fuzz", TFM_F32, &err) == TFM_OK;
    for (i = 0; ok && tfm_model_gguf_tensor(&c, i, name, sizeof name, ne); i++) {
        int n_dims = ne[2] > 1 ? 3 : ne[1] > 0 ? 2 : 1;
        shape[0] = ne[0], shape[1] = ne[1] > 0 ? ne[1] : 1, shape[2] = ne[2], shape[3] = 1;
        /* every matrix here fits in values (16 x 8 at most) */
        ok = tfm_gguf_writer_add_tensor(w, name, TFM_F32, n_dims, shape, values, &err) == TFM_OK;
    }
    size = ok ? (size_t)tfm_gguf_writer_size(w) : 0;
    file = ok ? (unsigned char *)malloc(size) : NULL;
    ok = file && tfm_gguf_writer_write_buffer(w, file, size, &err) == TFM_OK &&
         tfm_model_load_memory(file, size, &m, &err) == TFM_OK;
    tfm_gguf_writer_free(w);
    if (!ok) fprintf(stderr, "tiny model: %s\n", err.message);
    return ok ? m : NULL;
}

#endif

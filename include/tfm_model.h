/* tfm_model.h - a Llama-family decoder: config, weights, loaders, the forward pass.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     A model (config + weights as typed views into the mapped file; read-only after load, shareable
     by any number of threads and contexts), a context (KV cache, activations, position, threads:
     the mutable state of one sequence, owned by the caller, with a per-layer choice of attention), the
     loaders and tfm_forward, which runs a batch of tokens through the network: a prompt with one gemm
     per weight matrix, a generated token with one gemv per matrix.

   USAGE
        tfm_model *model;  tfm_context *ctx;  tfm_error err;
        if (tfm_model_load("stories15M.bin", NULL, &model, &err) != TFM_OK) { puts(err.message); ... }
        if (tfm_context_create(model, NULL, &ctx, &err) != TFM_OK) { ... }
        logits = malloc(model->config.vocab_size * sizeof(float));
        tfm_forward(ctx, prompt, n_prompt, logits, TFM_LOGITS_LAST, &err);   prefill: logits of the last
        while (...) {                                                        token of the prompt
            token = pick(logits);
            tfm_forward(ctx, &token, 1, logits, TFM_LOGITS_LAST, &err);      decode: one token
        }
        tfm_context_free(ctx);  tfm_model_free(model);

   THE FORWARD PASS (Llama 2; llama2.c's run.c computes the same, one token at a time)
     x = embedding[token]
     for each layer:
         h = rmsnorm(x) * attn_norm
         q = Wq h, k = Wk h, v = Wv h
         rotate q and k by their position (RoPE, adjacent pairs, base 10000)
         append k and v to the layer's KV cache
         a = softmax(q K^T / sqrt(head_dim)) V  per head, causal, over every cached position;
                                                query head h reads kv head h / (n_heads / n_kv_heads)
         x = x + Wo a
         h = rmsnorm(x) * ffn_norm
         x = x + W_down (silu(W_gate h) * W_up h)
     logits = W_out (rmsnorm(x) * output_norm)   W_out is the embedding table unless the file has its own

   ATTENTION AND THE KV CACHE (tfm_attention.h)
     Each layer has its own tfm_attn_config and tfm_kv_cache; the prompt's chunks and every generated
     token go through tfm_attn_decode. tfm_context_params.attn picks the variant of every layer and
     layer_attn overrides it layer by layer:
       flash (default)   the attention above, tiled with an online softmax: O(n d) memory, no n x n scores
       dense             the same function with materialised scores (a reference); same tokens as flash
       window:W          each position sees the W latest positions (itself included); the cache is a
                         ring of W rows, so memory stays O(W) however long the context
       bigbird:B,G,W,R   BigBird blocks of B tokens: G global blocks, a window of W blocks, R random
                         blocks per query block (causal)
     window and bigbird change the model's function (the weights were trained dense): the README's table
     gives their perplexity cost. linear and linformer need weights trained for them and are refused.
     kv_type TFM_I8 stores K and V as int8 rows, one f32 scale per (token, kv head) row of head_dim values:
     (head_dim + 4) / (4 head_dim) of the f32 cache (27% at head_dim 64), fewer bytes read per decode step;
     the new tokens are quantized before they are attended, so a row does not depend on how the tokens
     were split into calls.

   FILES AND WEIGHT DTYPES
     llama2.c legacy `.bin` (karpathy/llama2.c export.py --version 0): a header of 7 little-endian int32
     (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the
     classifier is stored separately at the end) then f32 arrays in run.c's order.
     GGUF v2/v3 (tfm_gguf.h), architecture `llama`: hyperparameters from the `llama.*` keys (see
     tfm__model_gguf_config for defaults), tensors `token_embd`, `blk.N.attn_{norm,q,k,v,output}`,
     `blk.N.ffn_{norm,gate,up,down}`, `output_norm`, `output` (absent: tied to token_embd), each checked
     against the config by name; Q and K rotate as adjacent pairs, as llama.cpp does for `llama` (its
     converters permute HF weights so that this holds). The vocab `tokenizer.ggml.*` (model "llama") comes
     with the model: tfm_model_tokenizer. Mixture-of-experts files (Mixtral): see below.
     Every matrix product and the embedding lookup go
     through tfm_quant.h, so weight views of f32, f16, bf16, q8_0, q4_0, q4_1, q4_k or q6_k run through
     the same forward pass; a new loader fills a tfm_model's config and views and ends with
     tfm_model_check.

   PACKED WEIGHTS
     On builds with packed int8 kernels (tfm_quant_packable: AVX-512 VNNI), the loaders repack every
     q8_0, q4_0, q4_1, q4_k and q6_k matrix once (tfm_model_pack) and the forward pass multiplies the
     packed copies: the same logits bit for bit, 1.4x faster decode on a stories15M-shaped q8_0 model,
     close to the read bandwidth where the weights are not in cache. The copies are the only weights the
     forward pass reads; the mapped file pages packing read once stay mapped (clean page cache the kernel
     may reclaim, but counted in RSS: TinyLlama-1.1B q4_0 peaks at ~2x its file; dropping them needs
     madvise, which strict C99 headers do not declare). options.no_pack keeps the stored layout.

   MIXTURE OF EXPERTS (tfm_moe.h)
     A GGUF `llama` file with llama.expert_count E > 0 and llama.expert_used_count k (1..E) has, in every
     layer, a router blk.N.ffn_gate_inp {dim, E} and the experts stacked in blk.N.ffn_{gate,up}_exps
     {dim, hidden, E} and blk.N.ffn_down_exps {hidden, dim, E} (hidden = feed_forward_length) instead of
     ffn_{gate,up,down}; the loader checks them with tfm_moe_validate. The feed-forward block of such a
     layer is tfm_moe_forward with Mixtral's gating: the k largest router logits win and their softmax
     weights the k experts' SwiGLU outputs. A prompt's chunk runs each expert once over the rows routed to
     it; a generated token runs its k experts with gemv. The block's workspace (router logits, grouped
     rows, quantized activations) is sized with the context, in its arena: decoding allocates nothing with
     quantized experts; tfm_model_pack repacks the experts too. Logits do not depend on the thread count. tfm_context_params.moe_stats = 1 accumulates each layer's routing statistics
     (tfm_context_moe_stats, tfm_context_moe_stats_print, tfm_context_moe_stats_reset). Files with one
     tensor per expert (the early Mixtral layout, blk.N.ffn_gate.E) are refused.

   MEMORY
     tfm_context_create allocates the KV caches (two blocks per layer, four for int8) and, in one arena,
     the activations of one chunk of max_batch tokens and the attention and quantization workspaces, once;
     tfm_forward splits longer inputs into such chunks and allocates nothing itself; decoding a token
     allocates nothing at all (a prefill chunk's f32 gemm packs its operands in buffers tfm_gemm
     allocates per call).

   STATE (rewind, fork, save, load)
     A context remembers the token at each position and the logits after the last one. It can go back to
     an earlier position (tfm_context_rewind: prefix reuse; a sliding-window ring that has wrapped cannot),
     be copied into another context of the same model (tfm_context_copy: fork a shared prompt), and be
     saved and loaded (tfm_context_state_*: memory, callbacks, files). A state file holds a versioned
     header (the model's fingerprint, sizes, each layer's attention and cache type), the tokens, the
     logits, the cached rows, and a checksum; loading checks all of it, so a file of another model or a
     cut or corrupted one is an error, never a wrong continuation. Rows are written as the cache holds
     them (host floats; state files are little-endian and refused elsewhere).

   THREADS AND DETERMINISM
     The matrix products split output rows across threads and attention splits heads, query tiles and
     fixed 512-key chunks (merged in a fixed order), so every output element is summed in an order that
     does not depend on the thread count: logits are bit-identical for any thread count.
     A prompt fed in one call (gemm) and fed token by token (gemv) agree to rounding (~1e-6).
*/
#ifndef TFM_MODEL_H
#define TFM_MODEL_H

#include "tfm_attention.h"
#include "tfm_gguf.h"
#include "tfm_moe.h"
#include "tfm_quant.h"
#include "tfm_tensor.h"
#include "tfm_tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shape of the network. */
typedef struct tfm_model_config {
    int dim;            /* width of the residual stream */
    int hidden_dim;     /* inner width of the feed-forward block (of each expert in a mixture of experts) */
    int n_layers;
    int n_heads;        /* query heads */
    int n_kv_heads;     /* key/value heads: n_heads (MHA), a divisor of it (GQA), 1 (MQA) */
    int head_dim;       /* dims per head; dim / n_heads in llama2.c files */
    int vocab_size;
    int context_length; /* positions the model was trained for (llama2.c's seq_len) */
    float rope_base;    /* RoPE frequency base (10000) */
    int rope_dim;       /* leading dims of each head that rotate (head_dim) */
    tfm_rope_mode rope_mode;
    float norm_eps;     /* RMSNorm epsilon (1e-5) */
    int n_experts;      /* mixture of experts: experts per layer, 0 for a dense feed-forward block */
    int n_experts_used; /* experts each token is routed to */
} tfm_model_config;

/* One transformer block's weights. Matrices are [rows][cols] with ne[0] = cols (tfm_tensor.h), of any
   dtype tfm_quant_gemv handles (f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k); norm weights are f32
   vectors. q_dim = n_heads * head_dim, kv_dim = n_kv_heads * head_dim. */
typedef struct tfm_layer {
    tfm_tensor attn_norm; /* [dim] */
    tfm_tensor wq;        /* [q_dim][dim] */
    tfm_tensor wk;        /* [kv_dim][dim] */
    tfm_tensor wv;        /* [kv_dim][dim] */
    tfm_tensor wo;        /* [dim][q_dim] */
    tfm_tensor ffn_norm;  /* [dim] */
    tfm_tensor ffn_gate;  /* [hidden_dim][dim]  (llama2.c's w1) */
    tfm_tensor ffn_up;    /* [hidden_dim][dim]  (w3) */
    tfm_tensor ffn_down;  /* [dim][hidden_dim]  (w2) */
    /* a mixture-of-experts layer (config.n_experts > 0) has these instead of ffn_gate/up/down */
    tfm_tensor ffn_gate_inp;  /* [n_experts][dim]             the router */
    tfm_tensor ffn_gate_exps; /* [n_experts][hidden_dim][dim] experts stacked, each matrix contiguous */
    tfm_tensor ffn_up_exps;   /* [n_experts][hidden_dim][dim] */
    tfm_tensor ffn_down_exps; /* [n_experts][dim][hidden_dim] */
} tfm_layer;

/* Weights, read-only after load. Any number of contexts (and threads) may use one model. */
typedef struct tfm_model {
    tfm_model_config config;
    tfm_tensor token_embd;  /* [vocab_size][dim] */
    tfm_layer *layers;      /* [n_layers] */
    tfm_tensor output_norm; /* [dim] */
    tfm_tensor output;      /* [vocab_size][dim], the classifier; a view of token_embd when shared */
    tfm_file_map file;      /* the file the weights point into (empty when loaded from memory) */
    tfm_tokenizer *tokenizer; /* the vocab the file carries (GGUF), owned by the model; NULL if none */
    char *chat_template;      /* the file's tokenizer.chat_template (NUL-terminated copy), NULL if none */
    /* The matrices repacked for the int8 kernels (tfm_model_pack), [n_layers * 7 + 1 + n_layers * 3 *
       n_experts]: each layer's wq wk wv wo ffn_gate ffn_up ffn_down, then the classifier, then of a
       mixture-of-experts model each layer's gate_exps, up_exps and down_exps expert by expert; an entry
       with data NULL is multiplied as stored. packed_from[i] is the data entry i was made from: a copy is
       used only while its matrix still points there. NULL when nothing is packed. */
    tfm_quant_packed *packed;
    const void **packed_from;
} tfm_model;

typedef struct tfm_model_options {
    int no_mmap; /* 1: read the file into memory instead of mapping it */
    int no_pack; /* 1: keep the matrices as stored (no tfm_model_pack at load; same logits, slower) */
} tfm_model_options;

/* Loads a model file, recognising the format from its first bytes. options may be NULL. On failure
   *model is NULL and err (may be NULL) says why: missing file, truncated, bad dimensions, ... */
TFM_API tfm_status tfm_model_load(const char *path, const tfm_model_options *options, tfm_model **model,
                                  tfm_error *err);
/* The same from the bytes of a model file already in memory (4-byte aligned). Not copied: the
   weights point into data, which must outlive the model. */
TFM_API tfm_status tfm_model_load_memory(const void *data, size_t size, tfm_model **model, tfm_error *err);
TFM_API void tfm_model_free(tfm_model *model);
/* Checks that a model's config and weights fit the forward pass: every dimension, every tensor's shape
   and dtype. The loaders end with it; call it after filling or changing a tfm_model's tensors yourself. */
TFM_API tfm_status tfm_model_check(const tfm_model *model, tfm_error *err);
/* Repacks every quantized matrix the int8 kernels have a packed layout for (tfm_quant_packable: AVX-512
   VNNI builds) once, so that the forward pass runs packed gemv and gemm on it: the same logits bit for
   bit, faster. The loaders call it (unless options->no_pack); call it again after changing a loaded
   model's matrices yourself (every copy is dropped and remade). The token embedding stays as stored
   (row lookups); a classifier tied to it gets its own packed copy (1.2-1.3x decode on a stories15M-shaped
   model, whose classifier is 60% of its weights). Memory: one copy of each packed matrix, freed by
   tfm_model_free; the mapped originals are not read again (but for the embedding's looked-up rows).
   n_threads <= 0: all. */
TFM_API tfm_status tfm_model_pack(tfm_model *model, int n_threads, tfm_error *err);
/* Bytes of weights one decode step reads: every layer's matrices and norms, the final norm and the
   classifier (the one embedding row is left out); of a mixture-of-experts layer, the router and k of
   its E experts. Divide by the time per token for the bandwidth used. */
TFM_API size_t tfm_model_weight_bytes(const tfm_model *model);
/* The tokenizer stored in the model file (a GGUF vocab), or NULL when the file has none (llama2.c
   files: load tokenizer.bin with tfm_tokenizer.h). It lives as long as the model. */
TFM_API const tfm_tokenizer *tfm_model_tokenizer(const tfm_model *model);
/* The chat template the file carries (GGUF tokenizer.chat_template: a Jinja program, see tfm_chat.h),
   or NULL. It lives as long as the model. */
TFM_API const char *tfm_model_chat_template(const tfm_model *model);

/* ---------------------------------------------------------------- context */

/* Zero-initialise (memset) and set what you need: every zero field means its default. */
typedef struct tfm_context_params {
    int context_length; /* positions the KV cache holds; 0: the model's context_length, at most
                           TFM_DEFAULT_CONTEXT (files declare up to millions of positions: a cache that
                           large is asked for, never a default). More than the model's is allowed
                           (RoPE extrapolates past the trained length, as llama.cpp lets it: perplexity
                           at a context above a small model's context_length); at most 2^24 */
    int max_batch;      /* tokens per chunk; longer inputs to tfm_forward are processed in chunks.
                           0: 512 */
    int n_threads;      /* 0: tfm_default_threads(); more than tfm_max_threads() runs that many;
                           negative: TFM_ERR_INVALID_ARGUMENT */
    const char *attn;   /* every layer's attention, a tfm_attn_config_parse spec: "flash" (NULL: the
                           default), "dense" (the same function, materialised scores), "window:W" or
                           "bigbird:B,G,W,R[,SEED]" (sparse: they change the model's function) */
    const char *const *layer_attn; /* NULL, or n_layers specs overriding attn layer by layer (a NULL
                                      entry keeps attn), e.g. window on most layers, dense on a few */
    tfm_dtype kv_type;  /* KV cache storage: TFM_F32 (0, the default) or TFM_I8 (int8 rows with one
                           f32 scale per token and kv head: ~1/4 of the bytes at head_dim 64) */
    int moe_stats;      /* 1: accumulate each mixture-of-experts layer's routing statistics
                           (tfm_context_moe_stats); 0: off. Ignored for a dense model */
} tfm_context_params;

/* The default context length: the model's, up to this many positions (tfm_context_params). */
#ifndef TFM_DEFAULT_CONTEXT
#define TFM_DEFAULT_CONTEXT 4096
#endif

/* The state of one sequence: its KV cache and the activations of a chunk, all allocated once by
   tfm_context_create. Use a context from one thread at a time (it spreads its own work over
   n_threads). Fields may be read; n_threads may be changed between calls (tfm_forward runs 1..max_threads
   of them: <= 0 is the default, more is max_threads). */
typedef struct tfm_context {
    const tfm_model *model;
    int context_length;
    int max_batch;
    int n_threads;
    int max_threads;       /* tfm_max_threads() when the context was created */
    int pos;            /* positions filled in the KV cache: the position of the next token */
    tfm_attn_config *attn; /* [n_layers] each layer's attention: causal, scale 1/sqrt(head_dim) */
    tfm_kv_cache *kv;      /* [n_layers] each layer's KV cache (full, or a ring for a window) */
    void *attn_ws;         /* attention scratch for a chunk, sized once for every layer */
    size_t attn_ws_bytes;
    int attn_threads;      /* threads attn_ws has room for: attention uses min(n_threads, this) */
    /* activations of one chunk of up to max_batch tokens */
    float *x;      /* [max_batch][dim]     the residual stream */
    float *xb;     /* [max_batch][dim]     a block's normalised input, then its output */
    float *q;      /* [max_batch][q_dim]   queries */
    float *k;      /* [max_batch][kv_dim]  keys and values, which tfm_attn_decode then appends */
    float *v;      /* [max_batch][kv_dim]  to the layer's cache */
    float *att;    /* [max_batch][q_dim]   attention output, one head after another */
    float *hb;     /* [max_batch][hidden]  feed-forward gate, then silu(gate) * up; NULL in a MoE model */
    float *hb2;    /* [max_batch][hidden]  feed-forward up; NULL in a MoE model */
    void *quant_ws;        /* a chunk's activations quantized for quantized weights (tfm_quant_gemm_ws) */
    size_t quant_ws_bytes; /* 0 when every matrix is f32, f16 or bf16 */
    /* mixture of experts (model config.n_experts > 0) */
    tfm_moe_config moe;      /* every MoE layer's block: Mixtral gating, k of E experts */
    float *moe_out;          /* [max_batch][dim] the block's output before the residual */
    void *moe_ws;            /* tfm_moe_forward's workspace for a chunk */
    size_t moe_ws_bytes;
    tfm_moe_stats *moe_stats; /* [n_layers] routing statistics, NULL unless params.moe_stats */
    tfm_arena memory; /* the one allocation the activations and workspaces live in (caches apart) */
    int *tokens;      /* [context_length] the token at each position 0..pos-1 (prefix reuse, state files) */
    float *logits;    /* [vocab_size] the logits after position pos-1, when has_logits */
    int has_logits;   /* 1 when the last tfm_forward ran the classifier and nothing has moved pos since */
} tfm_context;

/* params may be NULL (all defaults). */
TFM_API tfm_status tfm_context_create(const tfm_model *model, const tfm_context_params *params, tfm_context **ctx,
                                      tfm_error *err);
TFM_API void tfm_context_free(tfm_context *ctx);
/* Forgets the sequence: the next token goes to position 0. Routing statistics are kept. */
TFM_API void tfm_context_reset(tfm_context *ctx);
/* The routing statistics of `layer` accumulated since the context was created or its statistics reset
   (every token of every tfm_forward, prompt chunks included), or NULL when they are off
   (params.moe_stats 0), the model is dense or layer is out of range. */
TFM_API const tfm_moe_stats *tfm_context_moe_stats(const tfm_context *ctx, int layer);
TFM_API void tfm_context_moe_stats_reset(tfm_context *ctx);
/* Prints every layer's statistics (tfm_moe_stats_print, titled "blk.N") and their sum over the layers
   (titled "total"), or one line saying there are none. */
TFM_API void tfm_context_moe_stats_print(const tfm_context *ctx, FILE *f);

/* ---------------------------------------------------------------- forward */

typedef enum tfm_logits_mode {
    TFM_LOGITS_LAST = 0, /* logits[vocab_size] of the last token */
    TFM_LOGITS_ALL = 1   /* logits[n_tokens][vocab_size], one row per token */
} tfm_logits_mode;

/* Runs n_tokens tokens at positions ctx->pos, ctx->pos + 1, ... through the model, appends their keys
   and values to the KV cache and advances ctx->pos. logits may be NULL (then no classifier is run).
   Nothing is done when a token id is outside the vocabulary (TFM_ERR_OUT_OF_RANGE) or the tokens do not
   fit in the context (TFM_ERR_CONTEXT_FULL); if a kernel fails midway, ctx->pos stays at the start of
   the chunk that failed and the caches forget that chunk (but a window layer's ring has then lost rows
   of earlier positions: a context with one is reset to position 0). err may be NULL. */
TFM_API tfm_status tfm_forward(tfm_context *ctx, const int *tokens, int n_tokens, float *logits,
                               tfm_logits_mode mode, tfm_error *err);

/* What callers read of a context: positions filled (the next token's position), positions it holds,
   the tokens at positions 0..pos-1 (what was fed, in order), and the logits after the last position
   when the last tfm_forward computed them (NULL after a call without logits, a reset or a rewind). */
TFM_API int tfm_context_pos(const tfm_context *ctx);
TFM_API int tfm_context_length(const tfm_context *ctx);
TFM_API const int *tfm_context_tokens(const tfm_context *ctx);
TFM_API const float *tfm_context_logits(const tfm_context *ctx);

/* ---------------------------------------------------------------- state: rewind, fork, save, load */

/* Forgets every position from pos on (0 <= pos <= tfm_context_pos): the next token goes to pos, as if the
   sequence had stopped there. A sliding-window layer whose ring has overwritten rows the new position
   still sees cannot go back: TFM_ERR_UNSUPPORTED, nothing changed. */
TFM_API tfm_status tfm_context_rewind(tfm_context *ctx, int pos, tfm_error *err);
/* Makes dst continue exactly as src would (fork a shared prompt): the same model, the same attention
   and KV cache type layer by layer (flash and dense count as one), and src's positions fitting dst.
   dst's routing statistics are kept. */
TFM_API tfm_status tfm_context_copy(tfm_context *dst, const tfm_context *src, tfm_error *err);

/* The state of a context (its tokens, KV cache rows, last logits) as bytes: a versioned little-endian
   header with the model's fingerprint (tfm_model_fingerprint), the sizes and
   each layer's attention, then the rows, then a 64-bit checksum of everything before it. Loading checks
   all of it: a file from another model, another attention or cache type, one that does not fit the
   context, a truncated or corrupted one is a clear error, and the context is then left empty (pos 0).
   A state loaded into a context of the same model continues exactly as the saved one would have. */
typedef tfm_status (*tfm_state_write_fn)(void *user, const void *data, size_t n); /* all n bytes, or an error */
typedef tfm_status (*tfm_state_read_fn)(void *user, void *data, size_t n);        /* exactly n bytes, else an error */
/* Bytes tfm_context_state_save writes for the context as it is now. */
TFM_API size_t tfm_context_state_size(const tfm_context *ctx);
TFM_API tfm_status tfm_context_state_write(const tfm_context *ctx, tfm_state_write_fn write, void *user, tfm_error *err);
TFM_API tfm_status tfm_context_state_read(tfm_context *ctx, tfm_state_read_fn read, void *user, tfm_error *err);
/* To memory: out NULL only measures (*written = the size); too small a buffer is TFM_ERR_CONTEXT_FULL. */
TFM_API tfm_status tfm_context_state_save(const tfm_context *ctx, void *out, size_t cap, size_t *written, tfm_error *err);
TFM_API tfm_status tfm_context_state_load(tfm_context *ctx, const void *data, size_t size, tfm_error *err);
/* To a file: written to PATH.tmp, then renamed over PATH, so a crash never leaves half a file at PATH. */
TFM_API tfm_status tfm_context_state_save_file(const tfm_context *ctx, const char *path, tfm_error *err);
TFM_API tfm_status tfm_context_state_load_file(tfm_context *ctx, const char *path, tfm_error *err);
/* A checksum that tells models apart: of the model file's size, its first MiB (the metadata, the vocab)
   and 4 KiB every MiB after it (every tensor of any size differs somewhere there), or of the config and
   the embedding table for a model loaded from memory (tfm_model_load_memory). The same for the same file
   mapped or read (options.no_mmap). State files and retrieval indexes (tfm_embed.h) carry it. */
TFM_API uint64_t tfm_model_fingerprint(const tfm_model *model);

/* ---------------------------------------------------------------- perplexity */

/* The result of tfm_perplexity, over the chunks evaluated so far. */
typedef struct tfm_perplexity_result {
    double ppl;       /* exp(mean negative log-likelihood) */
    double ppl_error; /* llama.cpp's "+/-": ppl * sqrt((mean(nll^2) - mean(nll)^2) / (n_scored - 1)) */
    double mean_nll;  /* mean negative log-likelihood (nats per token) */
    long n_scored;    /* tokens scored: n_chunks * (n_ctx - n_ctx/2 - 1) */
    int n_chunks;     /* chunks evaluated */
} tfm_perplexity_result;

/* Called after each chunk with the result so far and the number of chunks the whole run takes. */
typedef void (*tfm_perplexity_progress)(void *user, const tfm_perplexity_result *so_far, int total_chunks);

/* Perplexity of a text by llama.cpp's protocol (llama-perplexity without --ppl-stride). tokens is the
   whole text tokenized once with a leading BOS (tfm_tokenizer_encode(..., bos 1, eos 0)); it is cut
   into floor(n_tokens / n_ctx) consecutive chunks of n_ctx tokens (max_chunks > 0: at most that many).
   Each chunk has its first token replaced by bos (bos < 0: kept) and runs from an empty cache (ctx is
   reset); the logits at positions n_ctx/2 .. n_ctx-2 are scored against the tokens at n_ctx/2+1 ..
   n_ctx-1, log-softmax in double. Needs n_tokens >= 2 n_ctx (as llama.cpp) and 3 <= n_ctx <=
   ctx->context_length. The first half of a chunk runs as one prompt without the classifier, the
   scored half in batches of up to ctx->max_batch tokens with all their logits (allocated per call:
   batch x vocab floats). The result does not depend on the thread count. progress may be NULL. */
TFM_API tfm_status tfm_perplexity(tfm_context *ctx, const int *tokens, int n_tokens, int n_ctx, int bos,
                                  int max_chunks, tfm_perplexity_progress progress, void *user,
                                  tfm_perplexity_result *result, tfm_error *err);

/* ---------------------------------------------------------------- writing GGUF (tfm_gguf.h's writer) */

/* llama.cpp's general.file_type (llama_ftype) of a model whose matrices are mostly `type`: f32 0,
   f16 1, q4_0 2, q4_1 3, q8_0 7, q4_k 14 (Q4_K_S), q6_k 18, bf16 32. */
TFM_API uint32_t tfm_model_gguf_file_type(tfm_dtype type);
/* Adds the keys llama.cpp reads for a `llama` model of config c, as its converters write them (u32
   hyperparameters): general.architecture, general.name (name; NULL: "tfm"), general.file_type of
   `type`, general.quantization_version 2, llama.context_length, embedding_length, feed_forward_length,
   attention.head_count(_kv), block_count, rope.dimension_count, rope.freq_base,
   attention.layer_norm_rms_epsilon. */
TFM_API tfm_status tfm_model_gguf_add_config(tfm_gguf_writer *w, const tfm_model_config *c, const char *name,
                                             tfm_dtype type, tfm_error *err);
/* Adds a SentencePiece ("llama") vocab of n_vocab tokens: tok's pieces, scores and types (a llama2.c
   tokenizer.bin's, whose size must be n_vocab) in GGUF's spelling (U+2581 for a space, <s> and </s>
   for the controls), or with tok NULL a stand-in: <unk> <s> </s>, the 256 byte tokens, then
   placeholder words. unk 0, bos 1, eos 2. */
TFM_API tfm_status tfm_model_gguf_add_vocab(tfm_gguf_writer *w, const tfm_tokenizer *tok, int n_vocab, tfm_error *err);

#ifdef __cplusplus
}
#endif

#endif /* TFM_MODEL_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_MODEL_IMPLEMENTATION_DONE)
#define TFM_MODEL_IMPLEMENTATION_DONE

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- checks shared by every loader */

/* The shape rules the forward pass relies on. Each dimension is an int the kernels take, and the
   products the forward pass forms (q_dim, kv_dim) must fit one too. */
static tfm_status tfm__model_check_config(const tfm_model_config *c, tfm_error *err)
{
    const int limit = 1 << 24; /* far above any real model; keeps every product below in 64 bits */
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->head_dim <= 0 || c->vocab_size <= 0 || c->context_length <= 0)
        return tfm_error_set(err, TFM_ERR_FORMAT,
                             "bad dimensions: dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, "
                             "vocab_size %d, context %d (each must be positive)",
                             c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
                             c->context_length);
    if (c->dim > limit || c->hidden_dim > limit || c->n_layers > limit || c->n_heads > limit ||
        c->head_dim > limit || c->vocab_size > limit || c->context_length > limit)
        return tfm_error_set(err, TFM_ERR_FORMAT, "absurd dimensions (a dimension above %d)", limit);
    if ((int64_t)c->n_heads * c->head_dim > limit)
        return tfm_error_set(err, TFM_ERR_FORMAT, "absurd dimensions: n_heads %d x head_dim %d", c->n_heads,
                             c->head_dim);
    if (c->n_kv_heads > c->n_heads || c->n_heads % c->n_kv_heads != 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "n_kv_heads %d does not divide n_heads %d", c->n_kv_heads,
                             c->n_heads);
    if (c->rope_dim <= 0 || c->rope_dim > c->head_dim || (c->rope_dim & 1))
        return tfm_error_set(err, TFM_ERR_FORMAT, "rope_dim %d must be even and at most head_dim %d", c->rope_dim,
                             c->head_dim);
    if (!(c->rope_base > 0.0f) || !(c->norm_eps >= 0.0f) || (c->rope_mode != TFM_ROPE_NORMAL &&
                                                             c->rope_mode != TFM_ROPE_NEOX))
        return tfm_error_set(err, TFM_ERR_FORMAT, "bad rope base, rope mode or norm epsilon");
    if (c->n_experts < 0 || c->n_experts > limit || c->n_experts_used < 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "bad expert counts: %d experts, %d used per token", c->n_experts,
                             c->n_experts_used);
    if (c->n_experts == 0 && c->n_experts_used != 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "expert_used_count %d with no experts (expert_count 0)",
                             c->n_experts_used);
    if (c->n_experts > 0 && (c->n_experts_used < 1 || c->n_experts_used > c->n_experts))
        return tfm_error_set(err, TFM_ERR_FORMAT, "expert_used_count %d must be 1..expert_count (%d)",
                             c->n_experts_used, c->n_experts);
    return TFM_OK;
}

/* The block of every mixture-of-experts layer: Mixtral's gating (softmax over the k selected logits). */
static tfm_moe_config tfm__model_moe_config(const tfm_model_config *c)
{
    return tfm_moe_config_make(c->dim, c->hidden_dim, c->n_experts, c->n_experts_used);
}

static tfm_moe_weights tfm__model_moe_weights(const tfm_layer *L)
{
    tfm_moe_weights w;
    memset(&w, 0, sizeof w);
    w.router = &L->ffn_gate_inp;
    w.gate_exps = &L->ffn_gate_exps;
    w.up_exps = &L->ffn_up_exps;
    w.down_exps = &L->ffn_down_exps;
    return w;
}


enum { TFM__NORM, TFM__MATRIX, TFM__EMBEDDING };

/* A weight the forward pass reads: the shape it expects, a dtype its kind handles (norms f32; matrices
   whatever tfm_quant_gemv multiplies; the embedding whatever tfm_dequantize_row reads), data present. */
static tfm_status tfm__model_check_tensor(const tfm_tensor *t, const char *name, int64_t cols, int64_t rows, int kind,
                                          tfm_error *err)
{
    int dtype_ok = kind == TFM__NORM     ? t->dtype == TFM_F32
                   : kind == TFM__MATRIX ? tfm_quant_vec_dot_type(t->dtype) != (tfm_dtype)-1
                                         : tfm_quant_supported(t->dtype);
    int64_t want_rows = rows > 0 ? rows : 1;
    if (!t->data || t->ne[0] != cols || t->ne[1] != want_rows || t->ne[2] != 1 || t->ne[3] != 1)
        return tfm_error_set(err, TFM_ERR_FORMAT, "tensor %s has the wrong shape (want [%lld][%lld])", name,
                             (long long)want_rows, (long long)cols);
    if (!dtype_ok)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "tensor %s has dtype %s, not supported here", name,
                             tfm_dtype_name(t->dtype) ? tfm_dtype_name(t->dtype) : "?");
    return TFM_OK;
}

/* A layer's feed-forward weights: dense, or the router and experts (tfm_moe_validate, named by layer). */
static tfm_status tfm__model_check_ffn(const tfm_model_config *c, const tfm_layer *L, int layer, tfm_error *err)
{
    tfm_status s;
    if (c->n_experts > 0) {
        tfm_moe_config cfg = tfm__model_moe_config(c);
        tfm_moe_weights w = tfm__model_moe_weights(L);
        tfm_error e;
        s = tfm_moe_validate(&cfg, &w, &e);
        /* the block says which of its tensors; the model says which layer */
        return s == TFM_OK ? TFM_OK : tfm_error_set(err, s, "layer %d: %s", layer, e.message);
    }
    s = tfm__model_check_tensor(&L->ffn_gate, "ffn_gate", c->dim, c->hidden_dim, TFM__MATRIX, err);
    if (s == TFM_OK) s = tfm__model_check_tensor(&L->ffn_up, "ffn_up", c->dim, c->hidden_dim, TFM__MATRIX, err);
    if (s == TFM_OK) s = tfm__model_check_tensor(&L->ffn_down, "ffn_down", c->hidden_dim, c->dim, TFM__MATRIX, err);
    return s;
}

tfm_status tfm_model_check(const tfm_model *m, tfm_error *err)
{
    const tfm_model_config *c;
    int64_t q_dim, kv_dim;
    tfm_status s;
    int l;
    if (!m || !m->layers) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no model or no layers");
    c = &m->config;
    s = tfm__model_check_config(c, err);
    if (s != TFM_OK) return s;
    q_dim = (int64_t)c->n_heads * c->head_dim;
    kv_dim = (int64_t)c->n_kv_heads * c->head_dim;
    s = tfm__model_check_tensor(&m->token_embd, "token_embd", c->dim, c->vocab_size, TFM__EMBEDDING, err);
    if (s == TFM_OK) s = tfm__model_check_tensor(&m->output_norm, "output_norm", c->dim, 0, TFM__NORM, err);
    if (s == TFM_OK) s = tfm__model_check_tensor(&m->output, "output", c->dim, c->vocab_size, TFM__MATRIX, err);
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) {
        const tfm_layer *L = &m->layers[l];
        s = tfm__model_check_tensor(&L->attn_norm, "attn_norm", c->dim, 0, TFM__NORM, err);
        if (s == TFM_OK) s = tfm__model_check_tensor(&L->wq, "wq", c->dim, q_dim, TFM__MATRIX, err);
        if (s == TFM_OK) s = tfm__model_check_tensor(&L->wk, "wk", c->dim, kv_dim, TFM__MATRIX, err);
        if (s == TFM_OK) s = tfm__model_check_tensor(&L->wv, "wv", c->dim, kv_dim, TFM__MATRIX, err);
        if (s == TFM_OK) s = tfm__model_check_tensor(&L->wo, "wo", q_dim, c->dim, TFM__MATRIX, err);
        if (s == TFM_OK) s = tfm__model_check_tensor(&L->ffn_norm, "ffn_norm", c->dim, 0, TFM__NORM, err);
        if (s == TFM_OK) s = tfm__model_check_ffn(c, L, l, err);
    }
    return s;
}

/* A view of rows x cols f32 values (rows 0: a vector); shapes were bounded by the config check. */
static void tfm__model_view_f32(tfm_tensor *t, const float *data, int64_t cols, int64_t rows)
{
    int64_t ne[2];
    ne[0] = cols;
    ne[1] = rows;
    tfm_tensor_init(t, TFM_F32, rows > 0 ? 2 : 1, ne, (void *)(uintptr_t)data);
}

/* ---------------------------------------------------------------- llama2.c legacy .bin */

/* Walks the f32 arrays of a file in order. Sizes are computed in 64 bits with overflow checks, and the
   offset keeps growing past the end, so the loader can report how many bytes the header implies. */
typedef struct tfm__walk {
    const unsigned char *data;
    uint64_t size;
    uint64_t offset;
    int overflow;
} tfm__walk;

/* The next a*b*c floats, or NULL if they do not lie inside the file. */
static const float *tfm__walk_floats(tfm__walk *w, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t count, bytes;
    const float *p;
    if (w->overflow || (b && a > UINT64_MAX / b) || (c && a * b > UINT64_MAX / c)) {
        w->overflow = 1;
        return NULL;
    }
    count = a * b * c;
    if (count > (UINT64_MAX - w->offset) / 4) {
        w->overflow = 1;
        return NULL;
    }
    bytes = count * 4;
    p = w->offset + bytes <= w->size ? (const float *)(const void *)(w->data + w->offset) : NULL;
    w->offset += bytes;
    return p;
}

static int32_t tfm__read_le32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

static tfm_status tfm__model_load_llama2c(tfm_model *m, const unsigned char *data, size_t size, tfm_error *err)
{
    tfm_model_config *c = &m->config;
    tfm__walk w;
    const float *embd, *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w1, *w2, *w3, *final_norm, *wcls;
    uint64_t dim, hidden, layers, q_dim, kv_dim;
    int32_t header[7];
    int i, shared, l;
    tfm_status s;
    const uint16_t endian_probe = 1;

    if (*(const unsigned char *)&endian_probe != 1)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "llama2.c files are little-endian; this machine is not");
    if (size < 28) return tfm_error_set(err, TFM_ERR_FORMAT, "file too short for a llama2.c header (%zu bytes)", size);
    for (i = 0; i < 7; i++) header[i] = tfm__read_le32(data + 4 * i);

    memset(c, 0, sizeof *c);
    c->dim = header[0];
    c->hidden_dim = header[1];
    c->n_layers = header[2];
    c->n_heads = header[3];
    c->n_kv_heads = header[4];
    /* a negative vocab_size marks a classifier stored apart from the embedding */
    shared = header[5] > 0;
    c->vocab_size = header[5] == INT32_MIN ? 0 : (header[5] < 0 ? -header[5] : header[5]);
    c->context_length = header[6];
    if (c->n_heads > 0 && c->dim % c->n_heads != 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "n_heads %d does not divide dim %d", c->n_heads, c->dim);
    c->head_dim = c->n_heads > 0 ? c->dim / c->n_heads : 0;
    c->rope_base = 10000.0f;
    c->rope_dim = c->head_dim;
    c->rope_mode = TFM_ROPE_NORMAL;
    c->norm_eps = 1e-5f;
    s = tfm__model_check_config(c, err);
    if (s != TFM_OK) return s;

    /* the arrays in llama2.c run.c's order (memory_map_weights): each kind for all layers at once */
    dim = (uint64_t)c->dim;
    hidden = (uint64_t)c->hidden_dim;
    layers = (uint64_t)c->n_layers;
    q_dim = (uint64_t)c->n_heads * (uint64_t)c->head_dim;
    kv_dim = (uint64_t)c->n_kv_heads * (uint64_t)c->head_dim;
    w.data = data;
    w.size = size;
    w.offset = 28;
    w.overflow = 0;
    embd = tfm__walk_floats(&w, (uint64_t)c->vocab_size, dim, 1);
    attn_norm = tfm__walk_floats(&w, layers, dim, 1);
    wq = tfm__walk_floats(&w, layers, q_dim, dim);
    wk = tfm__walk_floats(&w, layers, kv_dim, dim);
    wv = tfm__walk_floats(&w, layers, kv_dim, dim);
    wo = tfm__walk_floats(&w, layers, dim, q_dim);
    ffn_norm = tfm__walk_floats(&w, layers, dim, 1);
    w1 = tfm__walk_floats(&w, layers, hidden, dim);
    w2 = tfm__walk_floats(&w, layers, dim, hidden);
    w3 = tfm__walk_floats(&w, layers, hidden, dim);
    final_norm = tfm__walk_floats(&w, dim, 1, 1);
    /* RoPE tables older versions stored (freq_cis_real, freq_cis_imag): skipped, RoPE is computed */
    tfm__walk_floats(&w, (uint64_t)c->context_length, (uint64_t)c->head_dim / 2, 2);
    wcls = shared ? embd : tfm__walk_floats(&w, (uint64_t)c->vocab_size, dim, 1);

    if (w.overflow) return tfm_error_set(err, TFM_ERR_FORMAT, "sizes in the header overflow");
    if (w.offset != size)
        return tfm_error_set(err, TFM_ERR_FORMAT,
                             "%s: a llama2.c model with dim %d, hidden_dim %d, %d layers, %d heads, %d kv heads, "
                             "vocab %d%s, seq_len %d is %llu bytes, the file has %zu",
                             w.offset > size ? "truncated" : "trailing bytes", c->dim, c->hidden_dim, c->n_layers,
                             c->n_heads, c->n_kv_heads, c->vocab_size, shared ? "" : " (own classifier)",
                             c->context_length, (unsigned long long)w.offset, size);

    m->layers = (tfm_layer *)TFM_MALLOC(sizeof(tfm_layer) * (size_t)c->n_layers);
    if (!m->layers) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(m->layers, 0, sizeof(tfm_layer) * (size_t)c->n_layers); /* the expert views stay empty */
    tfm__model_view_f32(&m->token_embd, embd, c->dim, c->vocab_size);
    tfm__model_view_f32(&m->output_norm, final_norm, c->dim, 0);
    tfm__model_view_f32(&m->output, wcls, c->dim, c->vocab_size);
    for (l = 0; l < c->n_layers; l++) {
        tfm_layer *L = &m->layers[l];
        uint64_t u = (uint64_t)l;
        tfm__model_view_f32(&L->attn_norm, attn_norm + u * dim, c->dim, 0);
        tfm__model_view_f32(&L->wq, wq + u * q_dim * dim, c->dim, (int64_t)q_dim);
        tfm__model_view_f32(&L->wk, wk + u * kv_dim * dim, c->dim, (int64_t)kv_dim);
        tfm__model_view_f32(&L->wv, wv + u * kv_dim * dim, c->dim, (int64_t)kv_dim);
        tfm__model_view_f32(&L->wo, wo + u * dim * q_dim, (int64_t)q_dim, c->dim);
        tfm__model_view_f32(&L->ffn_norm, ffn_norm + u * dim, c->dim, 0);
        tfm__model_view_f32(&L->ffn_gate, w1 + u * hidden * dim, c->dim, c->hidden_dim);
        tfm__model_view_f32(&L->ffn_down, w2 + u * dim * hidden, c->hidden_dim, c->dim);
        tfm__model_view_f32(&L->ffn_up, w3 + u * hidden * dim, c->dim, c->hidden_dim);
    }
    return tfm_model_check(m, err);
}

/* ---------------------------------------------------------------- GGUF */

/* A hyperparameter `<arch>.<name>` as an int. fallback < 0: the key is required; else its value when
   the key is absent. Values are bounded before they are narrowed (the config check bounds them again). */
static tfm_status tfm__model_gguf_int(const tfm_gguf *g, const char *arch, const char *name, int fallback, int *out,
                                      tfm_error *err)
{
    char key[96];
    uint32_t v;
    tfm_status s;
    snprintf(key, sizeof key, "%s.%s", arch, name);
    if (fallback >= 0 && tfm_gguf_find_key(g, key) < 0) {
        *out = fallback;
        return TFM_OK;
    }
    s = tfm_gguf_get_u32(g, key, &v, err);
    if (s != TFM_OK) return s;
    if (v > (1u << 30)) return tfm_error_set(err, TFM_ERR_FORMAT, "%s = %lu is absurd", key, (unsigned long)v);
    *out = (int)v;
    return TFM_OK;
}

static tfm_status tfm__model_gguf_float(const tfm_gguf *g, const char *arch, const char *name, int required,
                                        float fallback, float *out, tfm_error *err)
{
    char key[96];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    if (!required && tfm_gguf_find_key(g, key) < 0) {
        *out = fallback;
        return TFM_OK;
    }
    return tfm_gguf_get_f32(g, key, out, err);
}

/* The shape from the `<arch>.*` keys, with llama.cpp's defaults: head_count_kv = head_count, head dim
   = embedding_length / head_count (attention.key_length overrides), rope.dimension_count = head dim,
   rope.freq_base = 10000. embedding_length, block_count, feed_forward_length, attention.head_count,
   context_length and attention.layer_norm_rms_epsilon are required, as llama.cpp requires them. */
static tfm_status tfm__model_gguf_config(const tfm_gguf *g, const char *arch, tfm_model_config *c, tfm_error *err)
{
    char key[96];
    const char *scaling = NULL;
    size_t scaling_len = 0;
    int value_length;
    tfm_status s;
    memset(c, 0, sizeof *c);
    s = tfm__model_gguf_int(g, arch, "embedding_length", -1, &c->dim, err);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "block_count", -1, &c->n_layers, err);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "feed_forward_length", -1, &c->hidden_dim, err);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "attention.head_count", -1, &c->n_heads, err);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "attention.head_count_kv", c->n_heads, &c->n_kv_heads, err);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "context_length", -1, &c->context_length, err);
    if (s != TFM_OK) return s;
    snprintf(key, sizeof key, "%s.attention.key_length", arch);
    if (c->n_heads > 0 && c->dim % c->n_heads != 0 && tfm_gguf_find_key(g, key) < 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s.attention.head_count %d does not divide embedding_length %d",
                             arch, c->n_heads, c->dim);
    s = tfm__model_gguf_int(g, arch, "attention.key_length", c->n_heads > 0 ? c->dim / c->n_heads : 0, &c->head_dim,
                            err);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "attention.value_length", c->head_dim, &value_length, err);
    if (s == TFM_OK && value_length != c->head_dim)
        s = tfm_error_set(err, TFM_ERR_UNSUPPORTED, "key length %d != value length %d is not supported", c->head_dim,
                          value_length);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "rope.dimension_count", c->head_dim, &c->rope_dim, err);
    if (s == TFM_OK) s = tfm__model_gguf_float(g, arch, "rope.freq_base", 0, 10000.0f, &c->rope_base, err);
    if (s == TFM_OK) s = tfm__model_gguf_float(g, arch, "attention.layer_norm_rms_epsilon", 1, 0, &c->norm_eps, err);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "expert_count", 0, &c->n_experts, err);
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "expert_used_count", 0, &c->n_experts_used, err);
    if (s != TFM_OK) return s;
    if (c->n_experts == 0 && c->n_experts_used != 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s.expert_used_count %d with no experts (%s.expert_count 0)", arch,
                             c->n_experts_used, arch);
    if (c->n_experts > 0 && (c->n_experts_used < 1 || c->n_experts_used > c->n_experts))
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s.expert_used_count %d must be 1..%s.expert_count (%d)", arch,
                             c->n_experts_used, arch, c->n_experts);
    /* positions scaled or frequencies rescaled would silently give other logits: refuse them */
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (tfm_gguf_find_key(g, key) >= 0 && (s = tfm_gguf_get_string(g, key, &scaling, &scaling_len, err)) != TFM_OK)
        return s;
    if (scaling && !(scaling_len == 4 && memcmp(scaling, "none", 4) == 0))
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "RoPE scaling '%.*s' is not supported yet",
                             (int)(scaling_len < 32 ? scaling_len : 32), scaling);
    if (tfm_gguf_find_tensor(g, "rope_freqs.weight") >= 0)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "RoPE frequency factors (rope_freqs) are not supported yet");
    c->rope_mode = TFM_ROPE_NORMAL;
    return TFM_OK;
}

/* A special token id key: absent -> fallback; llama.cpp writes "none" as 0xFFFFFFFF. */
static tfm_status tfm__model_gguf_token_id(const tfm_gguf *g, const char *key, int fallback, uint64_t n_vocab,
                                           int *out, tfm_error *err)
{
    uint32_t v;
    tfm_status s;
    *out = fallback;
    if (tfm_gguf_find_key(g, key) < 0) return TFM_OK;
    s = tfm_gguf_get_u32(g, key, &v, err);
    if (s != TFM_OK) return s;
    if (v == UINT32_MAX) *out = -1;
    else if (v >= n_vocab)
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s %lu is outside the vocab of %llu tokens", key, (unsigned long)v,
                             (unsigned long long)n_vocab);
    else *out = (int)v;
    return TFM_OK;
}

/* The vocab `tokenizer.ggml.*` (a SentencePiece "llama" vocab) into *out; no tokens key: no tokenizer. */
static tfm_status tfm__model_gguf_tokenizer(const tfm_gguf *g, tfm_tokenizer **out, tfm_error *err)
{
    const char *model = NULL, **pieces = NULL;
    size_t model_len = 0, *lengths = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    tfm_gguf_type elem;
    uint64_t n = 0, i;
    int bos = 1, eos = 2; /* llama.cpp's defaults for a SentencePiece vocab */
    int have_scores = tfm_gguf_find_key(g, "tokenizer.ggml.scores") >= 0;
    int have_types = tfm_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0;
    tfm_status s;
    *out = NULL;
    if (tfm_gguf_find_key(g, "tokenizer.ggml.tokens") < 0) return TFM_OK;
    s = tfm_gguf_get_string(g, "tokenizer.ggml.model", &model, &model_len, err);
    if (s != TFM_OK) return s;
    if (!(model_len == 5 && memcmp(model, "llama", 5) == 0))
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                             "tokenizer model '%.*s' is not supported (only 'llama', SentencePiece BPE)",
                             (int)(model_len < 32 ? model_len : 32), model);
    s = tfm_gguf_get_array(g, "tokenizer.ggml.tokens", &elem, &n, err);
    if (s != TFM_OK) return s;
    if (elem != TFM_GGUF_STRING || n == 0 || n > TFM_TOKENIZER_MAX_VOCAB)
        return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer.ggml.tokens must be 1..%d strings",
                             TFM_TOKENIZER_MAX_VOCAB);
    /* n is bounded by the file (the reader checked every string), so these allocations are too */
    pieces = (const char **)TFM_MALLOC(sizeof(char *) * (size_t)n);
    lengths = (size_t *)TFM_MALLOC(sizeof(size_t) * (size_t)n);
    if (have_scores) scores = (float *)TFM_MALLOC(sizeof(float) * (size_t)n);
    if (have_types) types = (int32_t *)TFM_MALLOC(sizeof(int32_t) * (size_t)n);
    if (!pieces || !lengths || (have_scores && !scores) || (have_types && !types))
        s = tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for a vocab of %llu tokens",
                          (unsigned long long)n);
    for (i = 0; i < n && s == TFM_OK; i++)
        s = tfm_gguf_get_array_string(g, "tokenizer.ggml.tokens", i, &pieces[i], &lengths[i], err);
    if (s == TFM_OK && scores) s = tfm_gguf_get_array_f32(g, "tokenizer.ggml.scores", scores, n, err);
    if (s == TFM_OK && types) s = tfm_gguf_get_array_i32(g, "tokenizer.ggml.token_type", types, n, err);
    if (s == TFM_OK) s = tfm__model_gguf_token_id(g, "tokenizer.ggml.bos_token_id", bos, n, &bos, err);
    if (s == TFM_OK) s = tfm__model_gguf_token_id(g, "tokenizer.ggml.eos_token_id", eos, n, &eos, err);
    if (s == TFM_OK) {
        s = tfm_tokenizer_from_vocab(out, (int)n, pieces, lengths, scores, types, bos < (int)n ? bos : -1,
                                     eos < (int)n ? eos : -1, err);
        if (s != TFM_OK && err) {
            char message[sizeof err->message];
            memcpy(message, err->message, sizeof message);
            tfm_error_set(err, s, "tokenizer: %s", message);
        }
    }
    TFM_FREE(types);
    TFM_FREE(scores);
    TFM_FREE(lengths);
    TFM_FREE((void *)pieces);
    return s;
}

/* Dimensions of a GGUF tensor, resolved against the config. */
enum {
    TFM__GGUF_ONE, TFM__GGUF_DIM, TFM__GGUF_Q_DIM, TFM__GGUF_KV_DIM, TFM__GGUF_HIDDEN, TFM__GGUF_VOCAB,
    TFM__GGUF_EXPERTS
};

static int64_t tfm__model_gguf_dim(const tfm_model_config *c, int which)
{
    switch (which) {
    case TFM__GGUF_DIM: return c->dim;
    case TFM__GGUF_Q_DIM: return (int64_t)c->n_heads * c->head_dim;
    case TFM__GGUF_KV_DIM: return (int64_t)c->n_kv_heads * c->head_dim;
    case TFM__GGUF_HIDDEN: return c->hidden_dim;
    case TFM__GGUF_VOCAB: return c->vocab_size;
    case TFM__GGUF_EXPERTS: return c->n_experts;
    default: return 1;
    }
}

/* The tensor `name` into *out, its shape {cols, rows, depth} (ne[0] = cols; depth: stacked experts, else
   TFM__GGUF_ONE) checked against the config. */
static tfm_status tfm__model_gguf_tensor3(const tfm_gguf *g, const tfm_model_config *c, const char *name, int cols,
                                          int rows, int depth, tfm_tensor *out, tfm_error *err)
{
    int64_t want0 = tfm__model_gguf_dim(c, cols), want1 = tfm__model_gguf_dim(c, rows);
    int64_t want2 = tfm__model_gguf_dim(c, depth);
    tfm_status s = tfm_gguf_get_tensor(g, name, out, err);
    if (s != TFM_OK) return s;
    if (out->ne[0] != want0 || out->ne[1] != want1 || out->ne[2] != want2 || out->ne[3] != 1) {
        char want[80];
        if (depth == TFM__GGUF_ONE) snprintf(want, sizeof want, "{%lld, %lld}", (long long)want0, (long long)want1);
        else snprintf(want, sizeof want, "{%lld, %lld, %lld}", (long long)want0, (long long)want1, (long long)want2);
        return tfm_error_set(err, TFM_ERR_FORMAT, "tensor '%s' has shape {%lld, %lld, %lld, %lld}, the hyperparameters want %s",
                             name, (long long)out->ne[0], (long long)out->ne[1], (long long)out->ne[2],
                             (long long)out->ne[3], want);
    }
    return TFM_OK;
}

/* The same for a matrix or a vector. */
static tfm_status tfm__model_gguf_tensor(const tfm_gguf *g, const tfm_model_config *c, const char *name, int cols,
                                         int rows, tfm_tensor *out, tfm_error *err)
{
    return tfm__model_gguf_tensor3(g, c, name, cols, rows, TFM__GGUF_ONE, out, err);
}

/* Which layers have a tensor: every layer, dense layers only, mixture-of-experts layers only. */
enum { TFM__GGUF_ANY, TFM__GGUF_DENSE, TFM__GGUF_MOE };

/* A layer's tensors: blk.N.<name>.weight, where its view goes, its shape (ne[0], ne[1], ne[2]), which
   layers have it. */
typedef struct tfm__model_gguf_layer_tensor {
    const char *name;
    size_t offset;
    int cols, rows, depth, ffn;
} tfm__model_gguf_layer_tensor;

static const tfm__model_gguf_layer_tensor tfm__model_gguf_layer_tensors[] = {
    {"attn_norm", offsetof(tfm_layer, attn_norm), TFM__GGUF_DIM, TFM__GGUF_ONE, TFM__GGUF_ONE, TFM__GGUF_ANY},
    {"attn_q", offsetof(tfm_layer, wq), TFM__GGUF_DIM, TFM__GGUF_Q_DIM, TFM__GGUF_ONE, TFM__GGUF_ANY},
    {"attn_k", offsetof(tfm_layer, wk), TFM__GGUF_DIM, TFM__GGUF_KV_DIM, TFM__GGUF_ONE, TFM__GGUF_ANY},
    {"attn_v", offsetof(tfm_layer, wv), TFM__GGUF_DIM, TFM__GGUF_KV_DIM, TFM__GGUF_ONE, TFM__GGUF_ANY},
    {"attn_output", offsetof(tfm_layer, wo), TFM__GGUF_Q_DIM, TFM__GGUF_DIM, TFM__GGUF_ONE, TFM__GGUF_ANY},
    {"ffn_norm", offsetof(tfm_layer, ffn_norm), TFM__GGUF_DIM, TFM__GGUF_ONE, TFM__GGUF_ONE, TFM__GGUF_ANY},
    {"ffn_gate", offsetof(tfm_layer, ffn_gate), TFM__GGUF_DIM, TFM__GGUF_HIDDEN, TFM__GGUF_ONE, TFM__GGUF_DENSE},
    {"ffn_up", offsetof(tfm_layer, ffn_up), TFM__GGUF_DIM, TFM__GGUF_HIDDEN, TFM__GGUF_ONE, TFM__GGUF_DENSE},
    {"ffn_down", offsetof(tfm_layer, ffn_down), TFM__GGUF_HIDDEN, TFM__GGUF_DIM, TFM__GGUF_ONE, TFM__GGUF_DENSE},
    {"ffn_gate_inp", offsetof(tfm_layer, ffn_gate_inp), TFM__GGUF_DIM, TFM__GGUF_EXPERTS, TFM__GGUF_ONE, TFM__GGUF_MOE},
    {"ffn_gate_exps", offsetof(tfm_layer, ffn_gate_exps), TFM__GGUF_DIM, TFM__GGUF_HIDDEN, TFM__GGUF_EXPERTS,
     TFM__GGUF_MOE},
    {"ffn_up_exps", offsetof(tfm_layer, ffn_up_exps), TFM__GGUF_DIM, TFM__GGUF_HIDDEN, TFM__GGUF_EXPERTS, TFM__GGUF_MOE},
    {"ffn_down_exps", offsetof(tfm_layer, ffn_down_exps), TFM__GGUF_HIDDEN, TFM__GGUF_DIM, TFM__GGUF_EXPERTS,
     TFM__GGUF_MOE},
};

/* The weights: views into the file, each checked by name against the config. */
static tfm_status tfm__model_gguf_weights(tfm_model *m, const tfm_gguf *g, tfm_error *err)
{
    const tfm_model_config *c = &m->config;
    const size_t n_table = sizeof tfm__model_gguf_layer_tensors / sizeof tfm__model_gguf_layer_tensors[0];
    const int ffn = c->n_experts > 0 ? TFM__GGUF_MOE : TFM__GGUF_DENSE;
    char name[TFM_GGUF_MAX_NAME + 1];
    tfm_status s;
    size_t i, n_layer_tensors = 0;
    int l;
    for (i = 0; i < n_table; i++)
        if (tfm__model_gguf_layer_tensors[i].ffn == TFM__GGUF_ANY || tfm__model_gguf_layer_tensors[i].ffn == ffn)
            n_layer_tensors++;
    /* every layer needs its own tensors: a block_count the file cannot hold allocates nothing */
    if ((uint64_t)c->n_layers * n_layer_tensors > (uint64_t)tfm_gguf_n_tensors(g))
        return tfm_error_set(err, TFM_ERR_FORMAT, "block_count %d needs %llu tensors, the file has %lld", c->n_layers,
                             (unsigned long long)((uint64_t)c->n_layers * n_layer_tensors),
                             (long long)tfm_gguf_n_tensors(g));
    m->layers = (tfm_layer *)TFM_MALLOC(sizeof(tfm_layer) * (size_t)c->n_layers);
    if (!m->layers) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(m->layers, 0, sizeof(tfm_layer) * (size_t)c->n_layers);
    s = tfm__model_gguf_tensor(g, c, "token_embd.weight", TFM__GGUF_DIM, TFM__GGUF_VOCAB, &m->token_embd, err);
    if (s == TFM_OK)
        s = tfm__model_gguf_tensor(g, c, "output_norm.weight", TFM__GGUF_DIM, TFM__GGUF_ONE, &m->output_norm, err);
    if (s == TFM_OK && tfm_gguf_find_tensor(g, "output.weight") >= 0)
        s = tfm__model_gguf_tensor(g, c, "output.weight", TFM__GGUF_DIM, TFM__GGUF_VOCAB, &m->output, err);
    else if (s == TFM_OK)
        m->output = m->token_embd;
    for (l = 0; l < c->n_layers && s == TFM_OK; l++)
        for (i = 0; i < n_table && s == TFM_OK; i++) {
            const tfm__model_gguf_layer_tensor *t = &tfm__model_gguf_layer_tensors[i];
            if (t->ffn != TFM__GGUF_ANY && t->ffn != ffn) continue;
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, t->name);
            s = tfm__model_gguf_tensor3(g, c, name, t->cols, t->rows, t->depth,
                                        (tfm_tensor *)(void *)((char *)&m->layers[l] + t->offset), err);
            /* the early Mixtral layout: one tensor per expert (blk.N.ffn_gate.E.weight) */
            if (s != TFM_OK && ffn == TFM__GGUF_MOE && t->depth == TFM__GGUF_EXPERTS &&
                tfm_gguf_find_tensor(g, name) < 0) {
                char each[TFM_GGUF_MAX_NAME + 1];
                snprintf(each, sizeof each, "blk.%d.ffn_gate.0.weight", l);
                if (tfm_gguf_find_tensor(g, each) >= 0)
                    s = tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                                      "%s is missing: experts stored one tensor each (%s, the early Mixtral layout) "
                                      "are not supported; convert the file with a newer llama.cpp", name, each);
            }
        }
    return s;
}

/* tokenizer.chat_template, if present, into a new NUL-terminated string. */
static tfm_status tfm__model_gguf_chat_template(const tfm_gguf *g, char **out, tfm_error *err)
{
    const char *text;
    size_t len;
    tfm_status s;
    *out = NULL;
    if (tfm_gguf_find_key(g, "tokenizer.chat_template") < 0) return TFM_OK;
    s = tfm_gguf_get_string(g, "tokenizer.chat_template", &text, &len, err);
    if (s != TFM_OK) return s;
    *out = (char *)TFM_MALLOC(len + 1);
    if (!*out) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for the chat template");
    memcpy(*out, text, len);
    (*out)[len] = '\0';
    return TFM_OK;
}

static tfm_status tfm__model_gguf_fill(tfm_model *m, const tfm_gguf *g, tfm_error *err)
{
    tfm_model_config *c = &m->config;
    const char *arch;
    size_t arch_len;
    int64_t embd;
    tfm_tensor t;
    tfm_status s = tfm_gguf_get_string(g, "general.architecture", &arch, &arch_len, err);
    if (s != TFM_OK) return s;
    /* one architecture today; another is its key prefix plus whatever tensors it adds */
    if (!(arch_len == 5 && memcmp(arch, "llama", 5) == 0))
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "architecture '%.*s' is not supported (only 'llama')",
                             (int)(arch_len < 32 ? arch_len : 32), arch);
    s = tfm__model_gguf_config(g, "llama", c, err);
    if (s == TFM_OK) s = tfm__model_gguf_tokenizer(g, &m->tokenizer, err);
    if (s == TFM_OK) s = tfm__model_gguf_chat_template(g, &m->chat_template, err);
    if (s == TFM_OK) s = tfm_gguf_get_tensor(g, "token_embd.weight", &t, err);
    if (s != TFM_OK) return s;
    /* the vocab size is the tokenizer's; the embedding must have one row per token */
    embd = t.ne[1];
    if (m->tokenizer && embd != tfm_tokenizer_vocab_size(m->tokenizer))
        return tfm_error_set(err, TFM_ERR_FORMAT, "the vocab has %d tokens, token_embd has %lld rows",
                             tfm_tokenizer_vocab_size(m->tokenizer), (long long)embd);
    if (embd > (1 << 24))
        return tfm_error_set(err, TFM_ERR_FORMAT, "token_embd has %lld rows (an absurd vocab)", (long long)embd);
    c->vocab_size = (int)embd;
    s = tfm__model_check_config(c, err);
    if (s == TFM_OK) s = tfm__model_gguf_weights(m, g, err);
    return s;
}

static tfm_status tfm__model_load_gguf(tfm_model *m, const unsigned char *data, size_t size, tfm_error *err)
{
    tfm_gguf *g;
    tfm_status s = tfm_gguf_open_memory(&g, data, size, err);
    if (s != TFM_OK) return s;
    s = tfm__model_gguf_fill(m, g, err);
    tfm_gguf_close(g); /* the views point into data, which the model keeps; the reader's index can go */
    return s == TFM_OK ? tfm_model_check(m, err) : s;
}

/* ---------------------------------------------------------------- loading */

/* Picks the loader from the first bytes: GGUF by its magic, anything else is a llama2.c header. */
static tfm_status tfm__model_load_bytes(tfm_model *m, const unsigned char *data, size_t size, tfm_error *err)
{
    if (((uintptr_t)data & 3) != 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "model data must be 4-byte aligned");
    if (size >= 4 && memcmp(data, "GGUF", 4) == 0) return tfm__model_load_gguf(m, data, size, err);
    if (size >= 4 && memcmp(data, "ak42", 4) == 0)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                             "llama2.c version 1/2 export (magic ak42) is not supported: export with --version 0");
    return tfm__model_load_llama2c(m, data, size, err);
}

static tfm_model *tfm__model_new(void)
{
    tfm_model *m = (tfm_model *)TFM_MALLOC(sizeof(tfm_model));
    if (m) memset(m, 0, sizeof *m);
    return m;
}

tfm_status tfm_model_load(const char *path, const tfm_model_options *options, tfm_model **model, tfm_error *err)
{
    tfm_model *m;
    tfm_status s;
    tfm_error_clear(err);
    if (!model) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output model given");
    *model = NULL;
    if (!path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no model file given");
    m = tfm__model_new();
    if (!m) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    s = tfm_file_map_open(&m->file, path, options && options->no_mmap ? TFM_FILE_MAP_NO_MMAP : 0, err);
    if (s == TFM_OK) {
        s = tfm__model_load_bytes(m, m->file.data, m->file.size, err);
        if (s == TFM_OK && !(options && options->no_pack)) s = tfm_model_pack(m, 0, err);
        /* prefix the loader's message with the file it is about */
        if (s != TFM_OK && err) {
            char message[sizeof err->message];
            memcpy(message, err->message, sizeof message);
            tfm_error_set(err, s, "%s: %s", path, message);
        }
    }
    if (s != TFM_OK) {
        tfm_model_free(m);
        return s;
    }
    *model = m;
    return TFM_OK;
}

tfm_status tfm_model_load_memory(const void *data, size_t size, tfm_model **model, tfm_error *err)
{
    tfm_model *m;
    tfm_status s;
    tfm_error_clear(err);
    if (!model) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output model given");
    *model = NULL;
    if (!data || size == 0) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no model data given");
    m = tfm__model_new();
    if (!m) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    s = tfm__model_load_bytes(m, (const unsigned char *)data, size, err);
    if (s == TFM_OK) s = tfm_model_pack(m, 0, err);
    if (s != TFM_OK) {
        tfm_model_free(m);
        return s;
    }
    *model = m;
    return TFM_OK;
}

/* ---------------------------------------------------------------- packed matrices */

enum { TFM__LAYER_MATRICES = 7 };

/* Matrix i of model->packed's order: layer i / 7's wq wk wv wo ffn_gate ffn_up ffn_down, then the
   classifier. */
static const tfm_tensor *tfm__model_matrix(const tfm_model *m, int i)
{
    const tfm_layer *L;
    if (i == m->config.n_layers * TFM__LAYER_MATRICES) return &m->output;
    L = &m->layers[i / TFM__LAYER_MATRICES];
    switch (i % TFM__LAYER_MATRICES) {
    case 0: return &L->wq;
    case 1: return &L->wk;
    case 2: return &L->wv;
    case 3: return &L->wo;
    case 4: return &L->ffn_gate;
    case 5: return &L->ffn_up;
    default: return &L->ffn_down;
    }
}

/* Entries of model->packed: the dense matrices and classifier, then the experts'. */
static int tfm__model_packed_count(const tfm_model *m)
{
    return m->config.n_layers * TFM__LAYER_MATRICES + 1 + m->config.n_layers * 3 * m->config.n_experts;
}

/* Expert matrix `e` of layer `l`'s tensor j (0 gate_exps, 1 up_exps, 2 down_exps), as a 2-D view. */
static tfm_tensor tfm__model_expert_matrix(const tfm_model *m, int l, int j, int e)
{
    const tfm_layer *L = &m->layers[l];
    const tfm_tensor *t = j == 0 ? &L->ffn_gate_exps : j == 1 ? &L->ffn_up_exps : &L->ffn_down_exps;
    tfm_tensor v = *t;
    v.ne[2] = 1;
    v.data = t->data ? (void *)((unsigned char *)t->data + (size_t)e * t->nb[2]) : NULL;
    return v;
}

/* Entry i of model->packed's order as a 2-D view (experts included). */
static tfm_tensor tfm__model_packed_source(const tfm_model *m, int i)
{
    int base = m->config.n_layers * TFM__LAYER_MATRICES + 1, E = m->config.n_experts;
    if (i < base) return *tfm__model_matrix(m, i);
    i -= base;
    return tfm__model_expert_matrix(m, i / (3 * E), i / E % 3, i % E);
}

/* Layer l's copies of expert tensor j (0 gate_exps, 1 up_exps, 2 down_exps) in model->packed (tfm_model_pack), while they are current, else NULL. */
static const tfm_quant_packed *tfm__model_expert_packs(const tfm_model *m, int l, int j, const tfm_tensor *t)
{
    int E = m->config.n_experts, first = m->config.n_layers * TFM__LAYER_MATRICES + 1 + (l * 3 + j) * E;
    if (!m->packed || !m->packed[first].data || m->packed_from[first] != t->data) return NULL;
    return &m->packed[first];
}

static void tfm__model_unpack(tfm_model *m)
{
    int i, n = tfm__model_packed_count(m);
    if (m->packed)
        for (i = 0; i < n; i++) tfm_quant_packed_free(&m->packed[i]);
    TFM_FREE(m->packed);
    TFM_FREE((void *)m->packed_from);
    m->packed = NULL;
    m->packed_from = NULL;
}

/* Whether matrix w gets a packed copy: a packable dtype with rows stored back to back. A classifier tied
   to the embedding is packed too (measured on a stories15M-shaped q8_0 model, 1 thread: decode 1.2-1.3x,
   prompt 1.05-1.25x, the classifier being 60% of the weights); the lookups keep reading the stored
   table, one row per token, so the copy costs about what the plain gemv would have kept mapped. */
static int tfm__model_packs(const tfm_tensor *w)
{
    size_t row_bytes;
    return w->data && tfm_quant_packable(w->dtype) &&
           tfm_dtype_row_bytes(w->dtype, (uint64_t)w->ne[0], &row_bytes) == TFM_OK && w->nb[1] == row_bytes;
}

tfm_status tfm_model_pack(tfm_model *model, int n_threads, tfm_error *err)
{
    int i, n;
    tfm_status s = TFM_OK;
    tfm_error_clear(err);
    if (!model || !model->layers) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no model to pack");
    tfm__model_unpack(model);
    n = tfm__model_packed_count(model);
    n_threads = tfm__threads(n_threads);
    model->packed = (tfm_quant_packed *)TFM_MALLOC(sizeof(tfm_quant_packed) * (size_t)n);
    model->packed_from = (const void **)TFM_MALLOC(sizeof(void *) * (size_t)n);
    if (!model->packed || !model->packed_from) s = TFM_ERR_OUT_OF_MEMORY;
    else {
        memset(model->packed, 0, sizeof(tfm_quant_packed) * (size_t)n);
        memset((void *)model->packed_from, 0, sizeof(void *) * (size_t)n);
    }
    for (i = 0; i < n && s == TFM_OK; i++) {
        tfm_tensor w = tfm__model_packed_source(model, i);
        if (!tfm__model_packs(&w)) continue;
        s = tfm_quant_pack(&model->packed[i], w.dtype, w.data, (int)w.ne[1], (int)w.ne[0], n_threads);
        model->packed_from[i] = w.data;
    }
    if (s != TFM_OK) {
        tfm__model_unpack(model);
        return tfm_error_set(err, s, "repacking the weights: %s", tfm_status_string(s));
    }
    return TFM_OK;
}

void tfm_model_free(tfm_model *model)
{
    if (!model) return;
    tfm__model_unpack(model);
    TFM_FREE(model->layers);
    tfm_tokenizer_free(model->tokenizer);
    TFM_FREE(model->chat_template);
    tfm_file_map_close(&model->file);
    TFM_FREE(model);
}

const tfm_tokenizer *tfm_model_tokenizer(const tfm_model *model) { return model ? model->tokenizer : NULL; }

const char *tfm_model_chat_template(const tfm_model *model) { return model ? model->chat_template : NULL; }

size_t tfm_model_weight_bytes(const tfm_model *model)
{
    size_t bytes;
    int l;
    if (!model) return 0;
    bytes = tfm_tensor_nbytes(&model->output_norm) + tfm_tensor_nbytes(&model->output);
    for (l = 0; l < model->config.n_layers; l++) {
        const tfm_layer *L = &model->layers[l];
        bytes += tfm_tensor_nbytes(&L->attn_norm) + tfm_tensor_nbytes(&L->wq) + tfm_tensor_nbytes(&L->wk) +
                 tfm_tensor_nbytes(&L->wv) + tfm_tensor_nbytes(&L->wo) + tfm_tensor_nbytes(&L->ffn_norm);
        if (model->config.n_experts > 0) /* the router and the k experts a token goes through */
            bytes += tfm_tensor_nbytes(&L->ffn_gate_inp) +
                     (tfm_tensor_nbytes(&L->ffn_gate_exps) + tfm_tensor_nbytes(&L->ffn_up_exps) +
                      tfm_tensor_nbytes(&L->ffn_down_exps)) /
                         (size_t)model->config.n_experts * (size_t)model->config.n_experts_used;
        else
            bytes += tfm_tensor_nbytes(&L->ffn_gate) + tfm_tensor_nbytes(&L->ffn_up) + tfm_tensor_nbytes(&L->ffn_down);
    }
    return bytes;
}

/* ---------------------------------------------------------------- context */

/* bytes += count floats (rounded up to the arena's 64-byte alignment); 0 on overflow */
static int tfm__add_floats(size_t *bytes, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t n;
    if ((b && a > UINT64_MAX / b) || (c && a * b > UINT64_MAX / c)) return 0;
    n = a * b * c;
    if (n > ((uint64_t)SIZE_MAX - 64 - *bytes) / sizeof(float)) return 0;
    *bytes += (size_t)n * sizeof(float) + 64;
    return 1;
}

/* Workspace the largest prefill product needs to quantize a chunk of activations (0 for float weights). */
static size_t tfm__model_quant_ws_bytes(const tfm_model *m, int max_batch)
{
    size_t most = tfm_quant_workspace_size(m->output.dtype, max_batch, (int)m->output.ne[0]);
    int l, i;
    for (l = 0; l < m->config.n_layers; l++) {
        const tfm_layer *L = &m->layers[l];
        const tfm_tensor *mats[7];
        mats[0] = &L->wq, mats[1] = &L->wk, mats[2] = &L->wv, mats[3] = &L->wo;
        mats[4] = &L->ffn_gate, mats[5] = &L->ffn_up, mats[6] = &L->ffn_down;
        for (i = 0; i < 7; i++) {
            size_t need = tfm_quant_workspace_size(mats[i]->dtype, max_batch, (int)mats[i]->ne[0]);
            if (need > most) most = need;
        }
    }
    return most;
}

static float *tfm__take_floats(tfm_arena *arena, uint64_t a, uint64_t b, uint64_t c)
{
    return (float *)tfm_arena_alloc(arena, (size_t)(a * b * c) * sizeof(float));
}

/* Each layer's attention from params ("flash" unless told otherwise), as the model needs it: causal,
   scale 1/sqrt(head_dim), over a KV cache of kv_type rows. */
static tfm_status tfm__model_attn_configs(tfm_context *ctx, const tfm_context_params *params, tfm_error *err)
{
    const tfm_model_config *c = &ctx->model->config;
    const char *all = params && params->attn ? params->attn : "flash";
    tfm_dtype kv_type = params ? params->kv_type : TFM_F32;
    int l;
    if (kv_type != TFM_F32 && kv_type != TFM_I8)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "KV cache type %s: f32 or i8 only",
                             tfm_dtype_name(kv_type) ? tfm_dtype_name(kv_type) : "?");
    for (l = 0; l < c->n_layers; l++) {
        tfm_attn_config *cfg = &ctx->attn[l];
        int own = params && params->layer_attn && params->layer_attn[l];
        const char *spec = own ? params->layer_attn[l] : all;
        tfm_error e;
        tfm_attn_config_init(cfg, TFM_ATTN_FLASH, c->n_heads, c->n_kv_heads, c->head_dim);
        cfg->kv_type = kv_type;
        cfg->n_threads = ctx->attn_threads;
        if (tfm_attn_config_parse(cfg, spec, &e) != TFM_OK) {
            if (own) return tfm_error_set(err, e.status, "layer %d: %s", l, e.message);
            return tfm_error_set(err, e.status, "%s", e.message);
        }
        if (cfg->kind == TFM_ATTN_LINEAR || cfg->kind == TFM_ATTN_LINFORMER)
            return tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                                 "attention '%s' needs weights trained for it (this model was trained with softmax "
                                 "attention): use dense, flash, window:W or bigbird:B,G,W,R", spec);
    }
    return TFM_OK;
}

/* Every layer's KV cache and the attention workspace (the most any layer needs for a chunk). */
static tfm_status tfm__model_attn_memory(tfm_context *ctx, size_t *ws_bytes, tfm_error *err)
{
    int l;
    *ws_bytes = 0;
    for (l = 0; l < ctx->model->config.n_layers; l++) {
        size_t need;
        tfm_status s = tfm_kv_cache_init(&ctx->kv[l], &ctx->attn[l], ctx->context_length);
        if (s == TFM_OK) s = tfm_attn_workspace_size(&ctx->attn[l], ctx->max_batch, ctx->context_length, &need);
        if (s != TFM_OK)
            return tfm_error_set(err, s, "KV cache of layer %d (%d positions, %s attention): %s", l,
                                 ctx->context_length, tfm_attn_kind_name(ctx->attn[l].kind), tfm_status_string(s));
        if (need > *ws_bytes) *ws_bytes = need;
    }
    return TFM_OK;
}

/* The mixture-of-experts block's config and workspace size, and the routing statistics if asked for. */
static tfm_status tfm__model_moe_memory(tfm_context *ctx, const tfm_context_params *params, size_t *ws_bytes,
                                        tfm_error *err)
{
    const tfm_model_config *c = &ctx->model->config;
    tfm_status s;
    int l;
    ctx->moe = tfm__model_moe_config(c);
    s = tfm_moe_workspace_size(&ctx->moe, ctx->max_batch, ws_bytes);
    if (s != TFM_OK)
        return tfm_error_set(err, s, "mixture-of-experts workspace for %d tokens: %s", ctx->max_batch,
                             tfm_status_string(s));
    if (!params || !params->moe_stats) return TFM_OK;
    ctx->moe_stats = (tfm_moe_stats *)TFM_MALLOC(sizeof(tfm_moe_stats) * (size_t)c->n_layers);
    if (!ctx->moe_stats) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for routing statistics");
    memset(ctx->moe_stats, 0, sizeof(tfm_moe_stats) * (size_t)c->n_layers);
    for (l = 0; l < c->n_layers; l++)
        if ((s = tfm_moe_stats_init(&ctx->moe_stats[l], c->n_experts)) != TFM_OK)
            return tfm_error_set(err, s, "out of memory for routing statistics");
    return TFM_OK;
}

tfm_status tfm_context_create(const tfm_model *model, const tfm_context_params *params, tfm_context **out,
                              tfm_error *err)
{
    const tfm_model_config *c;
    tfm_context *ctx;
    uint64_t batch, dim, hidden, q_dim, kv_dim;
    size_t bytes = 0, quant_ws_bytes, attn_ws_bytes, moe_ws_bytes = 0;
    tfm_status s;
    tfm_error_clear(err);
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output context given");
    *out = NULL;
    if (!model) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no model given");
    c = &model->config;
    ctx = (tfm_context *)TFM_MALLOC(sizeof(tfm_context));
    if (!ctx) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(ctx, 0, sizeof *ctx);
    ctx->model = model;
    ctx->context_length = params && params->context_length ? params->context_length
                          : c->context_length < TFM_DEFAULT_CONTEXT ? c->context_length
                                                                    : TFM_DEFAULT_CONTEXT;
    ctx->max_batch = params && params->max_batch ? params->max_batch : 512;
    ctx->max_threads = tfm_max_threads();
    ctx->n_threads = params && params->n_threads > 0 ? params->n_threads : tfm_default_threads();
    if (ctx->n_threads > ctx->max_threads) ctx->n_threads = ctx->max_threads;
    /* room for the default threads too, so raising n_threads later up to them needs no new workspace */
    ctx->attn_threads = ctx->n_threads > tfm_default_threads() ? ctx->n_threads : tfm_default_threads();
    if (ctx->context_length < 1 || ctx->context_length > (1 << 24) || ctx->max_batch < 1 ||
        (params && params->n_threads < 0)) {
        tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                      "context_length %d must be 1..%d, max_batch %d and n_threads %d not negative",
                      ctx->context_length, 1 << 24, ctx->max_batch, params ? params->n_threads : 0);
        TFM_FREE(ctx);
        return TFM_ERR_INVALID_ARGUMENT;
    }
    if (ctx->max_batch > ctx->context_length) ctx->max_batch = ctx->context_length;
    ctx->attn = (tfm_attn_config *)TFM_MALLOC(sizeof(tfm_attn_config) * (size_t)c->n_layers);
    ctx->kv = (tfm_kv_cache *)TFM_MALLOC(sizeof(tfm_kv_cache) * (size_t)c->n_layers);
    ctx->tokens = (int *)TFM_MALLOC(sizeof(int) * (size_t)ctx->context_length);
    ctx->logits = (float *)TFM_MALLOC(sizeof(float) * (size_t)c->vocab_size);
    if (!ctx->attn || !ctx->kv || !ctx->tokens || !ctx->logits) {
        tfm_context_free(ctx);
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memset(ctx->kv, 0, sizeof(tfm_kv_cache) * (size_t)c->n_layers);
    s = tfm__model_attn_configs(ctx, params, err);
    if (s == TFM_OK) s = tfm__model_attn_memory(ctx, &attn_ws_bytes, err);
    if (s == TFM_OK && c->n_experts > 0) s = tfm__model_moe_memory(ctx, params, &moe_ws_bytes, err);
    if (s != TFM_OK) {
        tfm_context_free(ctx);
        return s;
    }
    quant_ws_bytes = tfm__model_quant_ws_bytes(model, ctx->max_batch);

    batch = (uint64_t)ctx->max_batch;
    dim = (uint64_t)c->dim;
    hidden = (uint64_t)c->hidden_dim;
    q_dim = (uint64_t)c->n_heads * (uint64_t)c->head_dim;
    kv_dim = (uint64_t)c->n_kv_heads * (uint64_t)c->head_dim;
    if (!tfm__add_floats(&bytes, batch, dim, 1) || !tfm__add_floats(&bytes, batch, dim, 1) ||
        !tfm__add_floats(&bytes, batch, q_dim, 1) || !tfm__add_floats(&bytes, batch, kv_dim, 1) ||
        !tfm__add_floats(&bytes, batch, kv_dim, 1) || !tfm__add_floats(&bytes, batch, q_dim, 1) ||
        (c->n_experts == 0 &&
         (!tfm__add_floats(&bytes, batch, hidden, 1) || !tfm__add_floats(&bytes, batch, hidden, 1))) ||
        (c->n_experts > 0 && !tfm__add_floats(&bytes, batch, dim, 1)) ||
        bytes > SIZE_MAX - 192 - quant_ws_bytes - attn_ws_bytes - moe_ws_bytes ||
        tfm_arena_init(&ctx->memory, bytes + 192 + quant_ws_bytes + attn_ws_bytes + moe_ws_bytes) != TFM_OK) {
        tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for a context of %d positions (%zu bytes)",
                      ctx->context_length, bytes);
        tfm_context_free(ctx);
        return TFM_ERR_OUT_OF_MEMORY;
    }
    ctx->x = tfm__take_floats(&ctx->memory, batch, dim, 1);
    ctx->xb = tfm__take_floats(&ctx->memory, batch, dim, 1);
    ctx->q = tfm__take_floats(&ctx->memory, batch, q_dim, 1);
    ctx->k = tfm__take_floats(&ctx->memory, batch, kv_dim, 1);
    ctx->v = tfm__take_floats(&ctx->memory, batch, kv_dim, 1);
    ctx->att = tfm__take_floats(&ctx->memory, batch, q_dim, 1);
    /* every layer of a MoE model is a MoE block, whose expert activations live in moe_ws */
    if (c->n_experts == 0) {
        ctx->hb = tfm__take_floats(&ctx->memory, batch, hidden, 1);
        ctx->hb2 = tfm__take_floats(&ctx->memory, batch, hidden, 1);
    }
    ctx->attn_ws_bytes = attn_ws_bytes;
    ctx->attn_ws = tfm_arena_alloc(&ctx->memory, attn_ws_bytes);
    ctx->quant_ws_bytes = quant_ws_bytes;
    ctx->quant_ws = quant_ws_bytes ? tfm_arena_alloc(&ctx->memory, quant_ws_bytes) : NULL;
    if (c->n_experts > 0) {
        ctx->moe_out = tfm__take_floats(&ctx->memory, batch, dim, 1);
        ctx->moe_ws_bytes = moe_ws_bytes;
        ctx->moe_ws = tfm_arena_alloc(&ctx->memory, moe_ws_bytes);
    }
    *out = ctx;
    return TFM_OK;
}

void tfm_context_free(tfm_context *ctx)
{
    int l;
    if (!ctx) return;
    if (ctx->kv)
        for (l = 0; l < ctx->model->config.n_layers; l++) tfm_kv_cache_free(&ctx->kv[l]);
    if (ctx->moe_stats)
        for (l = 0; l < ctx->model->config.n_layers; l++) tfm_moe_stats_free(&ctx->moe_stats[l]);
    TFM_FREE(ctx->moe_stats);
    TFM_FREE(ctx->kv);
    TFM_FREE(ctx->attn);
    TFM_FREE(ctx->tokens);
    TFM_FREE(ctx->logits);
    tfm_arena_free(&ctx->memory);
    TFM_FREE(ctx);
}

void tfm_context_reset(tfm_context *ctx)
{
    int l;
    if (!ctx) return;
    ctx->pos = 0;
    ctx->has_logits = 0;
    for (l = 0; l < ctx->model->config.n_layers; l++) tfm_kv_cache_reset(&ctx->kv[l]);
}

int tfm_context_pos(const tfm_context *ctx) { return ctx ? ctx->pos : 0; }
int tfm_context_length(const tfm_context *ctx) { return ctx ? ctx->context_length : 0; }
const int *tfm_context_tokens(const tfm_context *ctx) { return ctx ? ctx->tokens : NULL; }
const float *tfm_context_logits(const tfm_context *ctx) { return ctx && ctx->has_logits ? ctx->logits : NULL; }

const tfm_moe_stats *tfm_context_moe_stats(const tfm_context *ctx, int layer)
{
    if (!ctx || !ctx->moe_stats || layer < 0 || layer >= ctx->model->config.n_layers) return NULL;
    return &ctx->moe_stats[layer];
}

void tfm_context_moe_stats_reset(tfm_context *ctx)
{
    int l;
    if (!ctx || !ctx->moe_stats) return;
    for (l = 0; l < ctx->model->config.n_layers; l++) tfm_moe_stats_reset(&ctx->moe_stats[l]);
}

void tfm_context_moe_stats_print(const tfm_context *ctx, FILE *f)
{
    tfm_moe_stats total;
    char title[32];
    int l;
    if (!ctx || !f) return;
    if (!ctx->moe_stats || tfm_moe_stats_init(&total, ctx->model->config.n_experts) != TFM_OK) {
        fprintf(f, "moe: no routing statistics (%s)\n",
                ctx->model->config.n_experts > 0 ? "not enabled for this context" : "the model has no experts");
        return;
    }
    for (l = 0; l < ctx->model->config.n_layers; l++) {
        snprintf(title, sizeof title, "blk.%d", l);
        tfm_moe_stats_print(&ctx->moe_stats[l], title, f);
        tfm_moe_stats_add(&total, &ctx->moe_stats[l]);
    }
    tfm_moe_stats_print(&total, "total", f);
    tfm_moe_stats_free(&total);
}

/* ---------------------------------------------------------------- the forward pass */

/* One matrix product y[n_tokens][rows] = x[n_tokens][cols] W^T, W = [rows][cols]; packed: W's packed
   copy, or NULL. */
typedef struct tfm__product {
    const tfm_tensor *w;
    const tfm_quant_packed *packed;
    float *y;
} tfm__product;

/* The product with matrix i of model->packed's order, through its packed copy while that is current. */
static tfm__product tfm__model_product(const tfm_model *m, int i, float *y)
{
    tfm__product p;
    p.w = tfm__model_matrix(m, i);
    p.packed = m->packed && m->packed[i].data && m->packed_from[i] == p.w->data ? &m->packed[i] : NULL;
    p.y = y;
    return p;
}

/* Below this many multiply-adds (~10 us of work) a step's products run on one thread: a thread team
   costs more than it saves. (512K, tfm_quant.h's threshold for one gemv, would leave every matrix of a
   stories15M-sized layer on one thread; 2-thread timings on the shared machine were too noisy to move
   it either way.) */
#define TFM__MODEL_TEAM_MIN_WEIGHTS 65536.0

/* Products of one input x with `count` matrices (q, k and v; gate and up): every matrix product of the
   model goes through here, whatever W's dtype (tfm_quant.h multiplies f32, f16, bf16 and the GGML block
   formats). A batch is a gemm per matrix (compute-bound: each weight read once for all the tokens). One
   token is memory-bound: each thread takes one contiguous, equal share of every matrix's rows, all the
   matrices in one pass of the thread team (one synchronisation, not one per matrix). Shares are whole
   16-row groups (the int8 kernels' tile: a cut tile would be computed by both sides), as even as that
   allows (a 64-row granularity leaves one of two threads a third idle on 288 rows); each row is still
   summed by one thread in one order, so the result does not depend on the thread count. */
static tfm_status tfm__model_matmuls(const tfm_context *ctx, const float *x, int n_tokens, const tfm__product *p,
                                     int count)
{
    tfm_status status = TFM_OK;
    double weights = 0;
    int n_threads, t, j;
    if (n_tokens > 1) {
        for (j = 0; j < count && status == TFM_OK; j++) {
            int rows = (int)p[j].w->ne[1], cols = (int)p[j].w->ne[0];
            status = p[j].packed ? tfm_quant_packed_gemm(p[j].y, (size_t)rows, x, (size_t)cols, p[j].packed, n_tokens,
                                                         ctx->n_threads, ctx->quant_ws, ctx->quant_ws_bytes)
                                 : tfm_quant_gemm_ws(p[j].y, (size_t)rows, x, (size_t)cols, p[j].w->dtype,
                                                     p[j].w->data, n_tokens, rows, cols, ctx->n_threads, ctx->quant_ws,
                                                     ctx->quant_ws_bytes);
        }
        return status;
    }
    for (j = 0; j < count; j++) weights += (double)p[j].w->ne[0] * (double)p[j].w->ne[1];
    n_threads = weights < TFM__MODEL_TEAM_MIN_WEIGHTS ? 1 : ctx->n_threads;
    TFM__PARALLEL_FOR(n_threads)
    for (t = 0; t < n_threads; t++) {
        int i;
        for (i = 0; i < count; i++) {
            const tfm_tensor *w = p[i].w;
            int rows = (int)w->ne[1], groups = (rows + 15) / 16;
            int begin = (int)((int64_t)groups * t / n_threads) * 16, end = (int)((int64_t)groups * (t + 1) / n_threads) * 16;
            tfm_status s;
            if (end > rows) end = rows;
            s = end <= begin ? TFM_OK
                : p[i].packed ? tfm_quant_packed_gemv(p[i].y + begin, p[i].packed, x, begin, end, 1)
                              : tfm_quant_gemv(p[i].y + begin, w->dtype,
                                               (const unsigned char *)w->data + (size_t)begin * w->nb[1], x,
                                               end - begin, (int)w->ne[0], 1);
            if (s != TFM_OK) {
#if defined(_OPENMP)
#pragma omp critical(tfm_model_matmul_status)
#endif
                status = s;
            }
        }
    }
    return status;
}

/* The product with matrix i of model->packed's order. */
static tfm_status tfm__model_matmul(const tfm_context *ctx, int i, const float *x, float *y, int n_tokens)
{
    tfm__product p = tfm__model_product(ctx->model, i, y);
    return tfm__model_matmuls(ctx, x, n_tokens, &p, 1);
}

/* out[dim] = row `token` of the embedding table, in f32 whatever the table's dtype. */
static tfm_status tfm__model_embed(const tfm_tensor *table, int token, float *out)
{
    return tfm_dequantize_row(table->dtype, tfm_tensor_row(table, token, 0, 0), out, (size_t)table->ne[0]);
}

/* The layer's attention (tfm_attention.h) of the chunk's n queries over its KV cache, which first takes
   the chunk's keys and values. */
static tfm_status tfm__model_attention(tfm_context *ctx, int layer, int n, float *out)
{
    tfm_attn_config *cfg = &ctx->attn[layer];
    cfg->n_threads = ctx->n_threads < ctx->attn_threads ? ctx->n_threads : ctx->attn_threads;
    return tfm_attn_decode(cfg, &ctx->kv[layer], out, ctx->q, ctx->k, ctx->v, n, ctx->attn_ws, ctx->attn_ws_bytes);
}

/* After a failure midway through a chunk, the caches of the layers that took it forget it again. A
   window's ring has by then overwritten rows of earlier positions: a context with one is reset. */
static void tfm__model_rollback(tfm_context *ctx)
{
    int l, n_layers = ctx->model->config.n_layers;
    for (l = 0; l < n_layers; l++) {
        const tfm_kv_cache *kv = &ctx->kv[l];
        if (kv->length > ctx->pos && kv->ring && kv->length > kv->capacity) {
            tfm_context_reset(ctx);
            return;
        }
    }
    for (l = 0; l < n_layers; l++)
        if (ctx->kv[l].length > ctx->pos) ctx->kv[l].length = ctx->pos;
}

/* x[i] = rmsnorm(x[i]) * weight for each of n rows of width dim, into out. */
static void tfm__model_rmsnorm_rows(float *out, const float *x, const tfm_tensor *weight, int n, int dim, float eps)
{
    int i;
    for (i = 0; i < n; i++)
        tfm_rmsnorm(out + (size_t)i * (size_t)dim, x + (size_t)i * (size_t)dim, (const float *)weight->data,
                    (size_t)dim, eps);
}

/* One chunk of n <= max_batch tokens at positions ctx->pos ...; logits (may be NULL) receive the last
   row or every row. */
static tfm_status tfm__model_forward_chunk(tfm_context *ctx, const int *tokens, int n, float *logits, int all_rows,
                                           tfm_error *err)
{
    const tfm_model *m = ctx->model;
    const tfm_model_config *c = &m->config;
    const int dim = c->dim, hidden = c->hidden_dim, pos0 = ctx->pos;
    const size_t q_dim = (size_t)c->n_heads * (size_t)c->head_dim;
    const size_t kv_dim = (size_t)c->n_kv_heads * (size_t)c->head_dim;
    float *x = ctx->x, *xb = ctx->xb, *q = ctx->q, *k = ctx->k, *v = ctx->v, *att = ctx->att, *hb = ctx->hb;
    float *hb2 = ctx->hb2;
    tfm_status s = TFM_OK;
    int i, l;

    /* the residual stream starts as each token's embedding */
    for (i = 0; i < n && s == TFM_OK; i++) s = tfm__model_embed(&m->token_embd, tokens[i], x + (size_t)i * dim);
    if (s != TFM_OK) return tfm_error_set(err, s, "embedding lookup failed: %s", tfm_status_string(s));

    for (l = 0; l < c->n_layers; l++) {
        const tfm_layer *L = &m->layers[l];
        const int mat = l * TFM__LAYER_MATRICES; /* this layer's wq in model->packed's order */
        tfm__product qkv[3], gate_up[2];

        /* attention block: x += Wo attention(rope(Wq h), rope(Wk h), Wv h), h = rmsnorm(x) */
        tfm__model_rmsnorm_rows(xb, x, &L->attn_norm, n, dim, c->norm_eps);
        qkv[0] = tfm__model_product(m, mat, q);
        qkv[1] = tfm__model_product(m, mat + 1, k);
        qkv[2] = tfm__model_product(m, mat + 2, v);
        s = tfm__model_matmuls(ctx, xb, n, qkv, 3);
        if (s != TFM_OK) break;
        for (i = 0; i < n; i++) {
            tfm_rope(q + (size_t)i * q_dim, c->n_heads, c->head_dim, c->rope_dim, pos0 + i, c->rope_base,
                     c->rope_mode);
            tfm_rope(k + (size_t)i * kv_dim, c->n_kv_heads, c->head_dim, c->rope_dim, pos0 + i, c->rope_base,
                     c->rope_mode);
        }
        s = tfm__model_attention(ctx, l, n, att);
        if (s != TFM_OK) break;
        s = tfm__model_matmul(ctx, mat + 3, att, xb, n);
        if (s != TFM_OK) break;
        tfm_add(x, x, xb, (size_t)n * (size_t)dim);

        /* feed-forward block: x += W_down (silu(W_gate h) * W_up h), h = rmsnorm(x) */
        tfm__model_rmsnorm_rows(xb, x, &L->ffn_norm, n, dim, c->norm_eps);
        if (c->n_experts > 0) {
            /* or the gate-weighted sum of the k experts the router picks for each token */
            tfm_moe_weights mw = tfm__model_moe_weights(L);
            mw.gate_packed = tfm__model_expert_packs(m, l, 0, mw.gate_exps);
            mw.up_packed = tfm__model_expert_packs(m, l, 1, mw.up_exps);
            mw.down_packed = tfm__model_expert_packs(m, l, 2, mw.down_exps);
            s = tfm_moe_forward(&ctx->moe, &mw, ctx->moe_out, xb, n, ctx->moe_ws, ctx->moe_ws_bytes,
                                ctx->moe_stats ? &ctx->moe_stats[l] : NULL, NULL, ctx->n_threads);
            if (s != TFM_OK) break;
            tfm_add(x, x, ctx->moe_out, (size_t)n * (size_t)dim);
            continue;
        }
        gate_up[0] = tfm__model_product(m, mat + 4, hb);
        gate_up[1] = tfm__model_product(m, mat + 5, hb2);
        s = tfm__model_matmuls(ctx, xb, n, gate_up, 2);
        if (s != TFM_OK) break;
        tfm_swiglu(hb, hb, hb2, (size_t)n * (size_t)hidden);
        s = tfm__model_matmul(ctx, mat + 6, hb, xb, n);
        if (s != TFM_OK) break;
        tfm_add(x, x, xb, (size_t)n * (size_t)dim);
    }
    if (s != TFM_OK) {
        tfm__model_rollback(ctx);
        return tfm_error_set(err, s, "forward pass failed in layer %d: %s", l, tfm_status_string(s));
    }
    memcpy(ctx->tokens + pos0, tokens, sizeof(int) * (size_t)n);
    ctx->pos += n;

    /* classifier: logits = W_out rmsnorm(x), for the rows asked for */
    if (logits) {
        int first = all_rows ? 0 : n - 1, rows = all_rows ? n : 1;
        tfm__model_rmsnorm_rows(xb, x + (size_t)first * dim, &m->output_norm, rows, dim, c->norm_eps);
        s = tfm__model_matmul(ctx, c->n_layers * TFM__LAYER_MATRICES, xb, logits, rows);
        if (s != TFM_OK) return tfm_error_set(err, s, "classifier failed: %s", tfm_status_string(s));
    }
    return TFM_OK;
}

tfm_status tfm_forward(tfm_context *ctx, const int *tokens, int n_tokens, float *logits, tfm_logits_mode mode,
                       tfm_error *err)
{
    int i, done;
    tfm_error_clear(err);
    if (!ctx || !tokens || n_tokens <= 0 || (mode != TFM_LOGITS_LAST && mode != TFM_LOGITS_ALL))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_forward: no context, no tokens or a bad mode");
    /* the caller may have changed n_threads since the context was made */
    if (ctx->n_threads <= 0) ctx->n_threads = tfm_default_threads();
    if (ctx->n_threads > ctx->max_threads) ctx->n_threads = ctx->max_threads;
    for (i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= ctx->model->config.vocab_size)
            return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "token %d (at index %d) is outside the vocabulary 0..%d",
                                 tokens[i], i, ctx->model->config.vocab_size - 1);
    if (n_tokens > ctx->context_length - ctx->pos)
        return tfm_error_set(err, TFM_ERR_CONTEXT_FULL,
                             "context full: %d tokens do not fit after position %d (context length %d)", n_tokens,
                             ctx->pos, ctx->context_length);
    ctx->has_logits = 0;
    for (done = 0; done < n_tokens;) {
        int n = n_tokens - done < ctx->max_batch ? n_tokens - done : ctx->max_batch;
        int last_chunk = done + n == n_tokens;
        float *out = NULL;
        tfm_status s;
        if (logits && mode == TFM_LOGITS_ALL) out = logits + (size_t)done * (size_t)ctx->model->config.vocab_size;
        if (logits && mode == TFM_LOGITS_LAST && last_chunk) out = logits;
        s = tfm__model_forward_chunk(ctx, tokens + done, n, out, mode == TFM_LOGITS_ALL, err);
        if (s != TFM_OK) return s;
        done += n;
    }
    if (logits) {
        const size_t vocab = (size_t)ctx->model->config.vocab_size;
        memcpy(ctx->logits, logits + (mode == TFM_LOGITS_ALL ? (size_t)(n_tokens - 1) * vocab : 0), sizeof(float) * vocab);
        ctx->has_logits = 1;
    }
    return TFM_OK;
}

/* ---------------------------------------------------------------- state: rewind, fork, save, load */

tfm_status tfm_context_rewind(tfm_context *ctx, int pos, tfm_error *err)
{
    int l;
    tfm_error_clear(err);
    if (!ctx) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no context to rewind");
    if (pos < 0 || pos > ctx->pos)
        return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "cannot rewind to position %d: the context holds 0..%d", pos,
                             ctx->pos);
    if (pos == ctx->pos) return TFM_OK;
    /* a ring that has wrapped no longer holds the rows just before the positions it drops */
    for (l = 0; l < ctx->model->config.n_layers; l++)
        if (ctx->kv[l].ring && ctx->kv[l].length > ctx->kv[l].capacity)
            return tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                                 "cannot rewind to position %d: layer %d's window of %d positions has already "
                                 "overwritten the rows position %d needs",
                                 pos, l, ctx->kv[l].capacity, pos);
    for (l = 0; l < ctx->model->config.n_layers; l++) ctx->kv[l].length = pos;
    ctx->pos = pos;
    ctx->has_logits = 0;
    return TFM_OK;
}

/* Bytes of one cached row of K (or V) and of its scales (int8 caches: one float per kv head). */
static size_t tfm__state_row_bytes(const tfm_kv_cache *kv)
{
    return (size_t)kv->n_kv_heads * (size_t)kv->head_dim * (kv->dtype == TFM_I8 ? 1 : sizeof(float));
}

static size_t tfm__state_scale_bytes(const tfm_kv_cache *kv)
{
    return kv->dtype == TFM_I8 ? (size_t)kv->n_kv_heads * sizeof(float) : 0;
}

/* Rows a cache holds after n positions: all of them, or the ring's capacity once it wrapped. */
static int tfm__state_rows(const tfm_kv_cache *kv, int n) { return n < kv->capacity ? n : kv->capacity; }

/* What a layer's cache means: the attention function (flash and dense are one: class 0) with its
   parameters, the row type and the cache's capacity (of a ring; 0 for a full cache). */
typedef struct tfm__state_layer {
    uint32_t function, window, block, n_global, n_window, n_random;
    uint64_t seed;
    uint32_t kv_type, ring_capacity;
} tfm__state_layer;

static tfm__state_layer tfm__state_describe(const tfm_attn_config *cfg, const tfm_kv_cache *kv)
{
    tfm__state_layer d;
    memset(&d, 0, sizeof d);
    d.function = cfg->kind == TFM_ATTN_DENSE || cfg->kind == TFM_ATTN_FLASH ? 0 : (uint32_t)cfg->kind;
    if (cfg->kind == TFM_ATTN_WINDOW) d.window = (uint32_t)cfg->window;
    if (cfg->kind == TFM_ATTN_BIGBIRD) {
        d.block = (uint32_t)cfg->bigbird.block;
        d.n_global = (uint32_t)cfg->bigbird.n_global;
        d.n_window = (uint32_t)cfg->bigbird.n_window;
        d.n_random = (uint32_t)cfg->bigbird.n_random;
        d.seed = cfg->bigbird.seed;
    }
    d.kv_type = (uint32_t)kv->dtype;
    d.ring_capacity = kv->ring ? (uint32_t)kv->capacity : 0;
    return d;
}

/* "flash", "window:64", "bigbird:64,1,3,2,7" (i8): for messages */
static void tfm__state_layer_name(const tfm__state_layer *d, char *out, size_t cap)
{
    const char *kv = d->kv_type == (uint32_t)TFM_I8 ? " (i8 cache)" : "";
    if (d->function == 0) snprintf(out, cap, "flash/dense%s", kv);
    else if (d->function == (uint32_t)TFM_ATTN_WINDOW) snprintf(out, cap, "window:%u%s", d->window, kv);
    else if (d->function == (uint32_t)TFM_ATTN_BIGBIRD)
        snprintf(out, cap, "bigbird:%u,%u,%u,%u,%llu%s", d->block, d->n_global, d->n_window, d->n_random,
                 (unsigned long long)d->seed, kv);
    else snprintf(out, cap, "%s%s", tfm_attn_kind_name((tfm_attn_kind)d->function) ? tfm_attn_kind_name((tfm_attn_kind)d->function) : "?", kv);
}

/* Whether n positions cached as `from` describes can go into layer l of ctx: the same function and row
   type, and rows that land where they were (a wrapped ring only into a ring of its capacity). */
static tfm_status tfm__state_fits(const tfm_context *ctx, int l, const tfm__state_layer *from, int n, tfm_error *err)
{
    tfm__state_layer to = tfm__state_describe(&ctx->attn[l], &ctx->kv[l]);
    char a[96], b[96];
    int wrapped = from->ring_capacity > 0 && (uint32_t)n > from->ring_capacity;
    if (from->function != to.function || from->window != to.window || from->block != to.block ||
        from->n_global != to.n_global || from->n_window != to.n_window || from->n_random != to.n_random ||
        from->seed != to.seed || from->kv_type != to.kv_type) {
        tfm__state_layer_name(from, a, sizeof a);
        tfm__state_layer_name(&to, b, sizeof b);
        return tfm_error_set(err, TFM_ERR_FORMAT, "layer %d: the state was made with attention %s, this context has %s",
                             l, a, b);
    }
    if (n > ctx->kv[l].capacity && !(wrapped && to.ring_capacity == from->ring_capacity))
        return tfm_error_set(err, TFM_ERR_FORMAT,
                             "layer %d: %d positions of a window of %u do not map onto this context's cache of %d rows",
                             l, n, from->ring_capacity, ctx->kv[l].capacity);
    return TFM_OK;
}

tfm_status tfm_context_copy(tfm_context *dst, const tfm_context *src, tfm_error *err)
{
    int l, n;
    tfm_status s;
    tfm_error_clear(err);
    if (!dst || !src) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_context_copy: no context");
    if (dst == src) return TFM_OK;
    if (dst->model != src->model)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_context_copy: the contexts are of different models");
    n = src->pos;
    if (n > dst->context_length)
        return tfm_error_set(err, TFM_ERR_CONTEXT_FULL, "%d positions do not fit a context of %d", n,
                             dst->context_length);
    for (l = 0; l < src->model->config.n_layers; l++) {
        tfm__state_layer from = tfm__state_describe(&src->attn[l], &src->kv[l]);
        if ((s = tfm__state_fits(dst, l, &from, n, err)) != TFM_OK) return s;
    }
    for (l = 0; l < src->model->config.n_layers; l++) {
        const tfm_kv_cache *a = &src->kv[l];
        tfm_kv_cache *b = &dst->kv[l];
        size_t rows = (size_t)tfm__state_rows(a, n), row = tfm__state_row_bytes(a), scale = tfm__state_scale_bytes(a);
        memcpy(b->k, a->k, rows * row);
        memcpy(b->v, a->v, rows * row);
        if (scale) {
            memcpy(b->k_scale, a->k_scale, rows * scale);
            memcpy(b->v_scale, a->v_scale, rows * scale);
        }
        b->length = n;
    }
    memcpy(dst->tokens, src->tokens, sizeof(int) * (size_t)n);
    memcpy(dst->logits, src->logits, sizeof(float) * (size_t)src->model->config.vocab_size);
    dst->has_logits = src->has_logits;
    dst->pos = n;
    return TFM_OK;
}

static uint64_t tfm__hash_u64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    int i;
    for (i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return tfm_hash64(b, 8, h);
}

uint64_t tfm_model_fingerprint(const tfm_model *model)
{
    const size_t head = (size_t)1 << 20, stride = (size_t)1 << 20, window = 4096;
    const unsigned char *data;
    size_t size, at;
    uint64_t h;
    if (!model) return 0;
    if (model->file.data) {
        data = (const unsigned char *)model->file.data;
        size = model->file.size;
        h = tfm__hash_u64(0, (uint64_t)size);
        h = tfm_hash64(data, size < head ? size : head, h);
        for (at = head; at < size; at += stride) h = tfm_hash64(data + at, size - at < window ? size - at : window, h);
        if (size > head + window) h = tfm_hash64(data + size - window, window, h); /* the end too */
        return h;
    } else {
        const tfm_model_config *c = &model->config;
        const tfm_tensor *t = &model->token_embd;
        int64_t values[8];
        int i;
        values[0] = c->dim, values[1] = c->hidden_dim, values[2] = c->n_layers, values[3] = c->n_heads;
        values[4] = c->n_kv_heads, values[5] = c->head_dim, values[6] = c->vocab_size, values[7] = t->dtype;
        h = 0;
        for (i = 0; i < 8; i++) h = tfm__hash_u64(h, (uint64_t)values[i]);
        if (t->data) {
            size = tfm_tensor_nbytes(t);
            data = (const unsigned char *)t->data;
            for (at = 0; at < size; at += stride) h = tfm_hash64(data + at, size - at < window ? size - at : window, h);
        }
        return h;
    }
}

/* The file layout (every integer little-endian):
     "TFMSTATE", u32 version, u32 n_layers, n_kv_heads, head_dim, vocab_size, n_tokens, has_logits,
     context_length (of the saver, for messages), u64 fingerprint,
     per layer: u32 function, window, block, n_global, n_window, n_random, u64 seed, u32 kv_type, ring_capacity,
     u64 payload bytes;
     payload: n_tokens int32 tokens, vocab_size f32 logits (if has_logits), then per layer the cached rows
     of K, of V (and of the K and V scales of an int8 cache) in the cache's own row order;
     u64 checksum (tfm_hash64 chained over each piece written before it, as written). */
#define TFM__STATE_MAGIC "TFMSTATE"
#define TFM__STATE_VERSION 1u
#define TFM__STATE_HEAD 48  /* magic .. fingerprint */
#define TFM__STATE_LAYER 48 /* one layer's description */

static void tfm__put_u32(unsigned char *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void tfm__put_u64(unsigned char *p, uint64_t v)
{
    tfm__put_u32(p, (uint32_t)v);
    tfm__put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t tfm__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t tfm__get_u64(const unsigned char *p) { return tfm__get_u32(p) | (uint64_t)tfm__get_u32(p + 4) << 32; }

static void tfm__state_put_layer(unsigned char *p, const tfm__state_layer *d)
{
    tfm__put_u32(p, d->function), tfm__put_u32(p + 4, d->window), tfm__put_u32(p + 8, d->block);
    tfm__put_u32(p + 12, d->n_global), tfm__put_u32(p + 16, d->n_window), tfm__put_u32(p + 20, d->n_random);
    tfm__put_u64(p + 24, d->seed);
    tfm__put_u32(p + 32, d->kv_type), tfm__put_u32(p + 36, d->ring_capacity);
    tfm__put_u64(p + 40, 0); /* reserved */
}

static tfm__state_layer tfm__state_get_layer(const unsigned char *p)
{
    tfm__state_layer d;
    d.function = tfm__get_u32(p), d.window = tfm__get_u32(p + 4), d.block = tfm__get_u32(p + 8);
    d.n_global = tfm__get_u32(p + 12), d.n_window = tfm__get_u32(p + 16), d.n_random = tfm__get_u32(p + 20);
    d.seed = tfm__get_u64(p + 24);
    d.kv_type = tfm__get_u32(p + 32), d.ring_capacity = tfm__get_u32(p + 36);
    return d;
}

/* Payload bytes of n tokens with or without logits, each layer's rows as `rows_of` says. */
static uint64_t tfm__state_payload(const tfm_context *ctx, int n, int has_logits)
{
    uint64_t bytes = (uint64_t)n * 4 + (has_logits ? (uint64_t)ctx->model->config.vocab_size * 4 : 0);
    int l;
    for (l = 0; l < ctx->model->config.n_layers; l++) {
        const tfm_kv_cache *kv = &ctx->kv[l];
        bytes += 2 * (uint64_t)tfm__state_rows(kv, n) * (tfm__state_row_bytes(kv) + tfm__state_scale_bytes(kv));
    }
    return bytes;
}

static int tfm__state_little_endian(void)
{
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 1;
}

size_t tfm_context_state_size(const tfm_context *ctx)
{
    if (!ctx) return 0;
    return (size_t)(TFM__STATE_HEAD + (uint64_t)TFM__STATE_LAYER * (uint64_t)ctx->model->config.n_layers + 8 +
                    tfm__state_payload(ctx, ctx->pos, ctx->has_logits) + 8);
}

/* The writer and reader hash every piece that passes (the reader reads the pieces the writer wrote). */
typedef struct tfm__state_stream {
    tfm_state_write_fn write;
    tfm_state_read_fn read;
    void *user;
    uint64_t hash;
} tfm__state_stream;

static tfm_status tfm__state_out(tfm__state_stream *st, const void *data, size_t n)
{
    if (n == 0) return TFM_OK;
    st->hash = tfm_hash64(data, n, st->hash);
    return st->write(st->user, data, n);
}

static tfm_status tfm__state_in(tfm__state_stream *st, void *data, size_t n)
{
    tfm_status s;
    if (n == 0) return TFM_OK;
    s = st->read(st->user, data, n);
    if (s == TFM_OK) st->hash = tfm_hash64(data, n, st->hash);
    return s;
}

tfm_status tfm_context_state_write(const tfm_context *ctx, tfm_state_write_fn write, void *user, tfm_error *err)
{
    const tfm_model_config *c;
    unsigned char head[TFM__STATE_HEAD > TFM__STATE_LAYER ? TFM__STATE_HEAD : TFM__STATE_LAYER];
    tfm__state_stream st;
    tfm_status s;
    int l, n;
    tfm_error_clear(err);
    if (!ctx || !write) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no context or no writer");
    if (!tfm__state_little_endian())
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "state files are little-endian; this machine is not");
    c = &ctx->model->config;
    n = ctx->pos;
    st.write = write, st.read = NULL, st.user = user;
    st.hash = 0;
    memcpy(head, TFM__STATE_MAGIC, 8);
    tfm__put_u32(head + 8, TFM__STATE_VERSION);
    tfm__put_u32(head + 12, (uint32_t)c->n_layers), tfm__put_u32(head + 16, (uint32_t)c->n_kv_heads);
    tfm__put_u32(head + 20, (uint32_t)c->head_dim), tfm__put_u32(head + 24, (uint32_t)c->vocab_size);
    tfm__put_u32(head + 28, (uint32_t)n), tfm__put_u32(head + 32, (uint32_t)ctx->has_logits);
    tfm__put_u32(head + 36, (uint32_t)ctx->context_length);
    tfm__put_u64(head + 40, tfm_model_fingerprint(ctx->model));
    s = tfm__state_out(&st, head, TFM__STATE_HEAD);
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) {
        tfm__state_layer d = tfm__state_describe(&ctx->attn[l], &ctx->kv[l]);
        tfm__state_put_layer(head, &d);
        s = tfm__state_out(&st, head, TFM__STATE_LAYER);
    }
    tfm__put_u64(head, tfm__state_payload(ctx, n, ctx->has_logits));
    if (s == TFM_OK) s = tfm__state_out(&st, head, 8);
    /* tokens and logits are int32 and f32 in the host's (little-endian) layout */
    if (s == TFM_OK) s = tfm__state_out(&st, ctx->tokens, sizeof(int32_t) * (size_t)n);
    if (s == TFM_OK && ctx->has_logits) s = tfm__state_out(&st, ctx->logits, sizeof(float) * (size_t)c->vocab_size);
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) {
        const tfm_kv_cache *kv = &ctx->kv[l];
        size_t rows = (size_t)tfm__state_rows(kv, n), row = tfm__state_row_bytes(kv), scale = tfm__state_scale_bytes(kv);
        s = tfm__state_out(&st, kv->k, rows * row);
        if (s == TFM_OK) s = tfm__state_out(&st, kv->v, rows * row);
        if (s == TFM_OK && scale) s = tfm__state_out(&st, kv->k_scale, rows * scale);
        if (s == TFM_OK && scale) s = tfm__state_out(&st, kv->v_scale, rows * scale);
    }
    if (s == TFM_OK) {
        tfm__put_u64(head, st.hash);
        s = write(user, head, 8);
    }
    return s == TFM_OK ? TFM_OK : tfm_error_set(err, s, "writing the state: %s", tfm_status_string(s));
}

/* The header of a state against ctx: everything that must agree before a byte of the payload is read. */
static tfm_status tfm__state_check_head(const tfm_context *ctx, const unsigned char *head, tfm_error *err)
{
    const tfm_model_config *c = &ctx->model->config;
    uint32_t version = tfm__get_u32(head + 8), n_layers = tfm__get_u32(head + 12);
    uint32_t kv_heads = tfm__get_u32(head + 16), head_dim = tfm__get_u32(head + 20), vocab = tfm__get_u32(head + 24);
    uint32_t n = tfm__get_u32(head + 28), has_logits = tfm__get_u32(head + 32);
    if (memcmp(head, TFM__STATE_MAGIC, 8) != 0) return tfm_error_set(err, TFM_ERR_FORMAT, "not a tfm state (bad magic)");
    if (version != TFM__STATE_VERSION)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "state version %lu; this tfm reads version %u",
                             (unsigned long)version, TFM__STATE_VERSION);
    if (n_layers != (uint32_t)c->n_layers || kv_heads != (uint32_t)c->n_kv_heads || head_dim != (uint32_t)c->head_dim ||
        vocab != (uint32_t)c->vocab_size)
        return tfm_error_set(err, TFM_ERR_FORMAT,
                             "the state is of another model: %lu layers, %lu kv heads of %lu, vocab %lu; this model "
                             "has %d, %d of %d, %d",
                             (unsigned long)n_layers, (unsigned long)kv_heads, (unsigned long)head_dim,
                             (unsigned long)vocab, c->n_layers, c->n_kv_heads, c->head_dim, c->vocab_size);
    if (tfm__get_u64(head + 40) != tfm_model_fingerprint(ctx->model))
        return tfm_error_set(err, TFM_ERR_FORMAT,
                             "the state is of another model: same shape, other weights (fingerprint %016llx, this "
                             "model %016llx)",
                             (unsigned long long)tfm__get_u64(head + 40),
                             (unsigned long long)tfm_model_fingerprint(ctx->model));
    if (has_logits > 1) return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted state header");
    if (n > (uint32_t)ctx->context_length)
        return tfm_error_set(err, TFM_ERR_CONTEXT_FULL, "the state holds %lu positions, the context %d",
                             (unsigned long)n, ctx->context_length);
    return TFM_OK;
}

tfm_status tfm_context_state_read(tfm_context *ctx, tfm_state_read_fn read, void *user, tfm_error *err)
{
    const tfm_model_config *c;
    unsigned char head[TFM__STATE_HEAD];
    tfm__state_stream st;
    tfm_status s;
    int l, n = 0, has_logits = 0, i;
    tfm_error_clear(err);
    if (!ctx || !read) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no context or no reader");
    if (!tfm__state_little_endian())
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "state files are little-endian; this machine is not");
    c = &ctx->model->config;
    tfm_context_reset(ctx); /* whatever happens below, the context is empty or loaded, never half of each */
    st.write = NULL, st.read = read, st.user = user;
    st.hash = 0;
    s = tfm__state_in(&st, head, TFM__STATE_HEAD);
    if (s == TFM_OK && (s = tfm__state_check_head(ctx, head, err)) != TFM_OK) return s;
    if (s == TFM_OK) {
        n = (int)tfm__get_u32(head + 28);
        has_logits = (int)tfm__get_u32(head + 32);
    }
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) {
        unsigned char rec[TFM__STATE_LAYER];
        tfm__state_layer d;
        s = tfm__state_in(&st, rec, TFM__STATE_LAYER);
        if (s != TFM_OK) break;
        d = tfm__state_get_layer(rec);
        if ((s = tfm__state_fits(ctx, l, &d, n, err)) != TFM_OK) return s;
    }
    if (s == TFM_OK) s = tfm__state_in(&st, head, 8);
    if (s == TFM_OK && tfm__get_u64(head) != tfm__state_payload(ctx, n, has_logits))
        return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted state: the header's sizes disagree");
    if (s == TFM_OK) s = tfm__state_in(&st, ctx->tokens, sizeof(int32_t) * (size_t)n);
    if (s == TFM_OK && has_logits) s = tfm__state_in(&st, ctx->logits, sizeof(float) * (size_t)c->vocab_size);
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) {
        tfm_kv_cache *kv = &ctx->kv[l];
        size_t rows = (size_t)tfm__state_rows(kv, n), row = tfm__state_row_bytes(kv), scale = tfm__state_scale_bytes(kv);
        s = tfm__state_in(&st, kv->k, rows * row);
        if (s == TFM_OK) s = tfm__state_in(&st, kv->v, rows * row);
        if (s == TFM_OK && scale) s = tfm__state_in(&st, kv->k_scale, rows * scale);
        if (s == TFM_OK && scale) s = tfm__state_in(&st, kv->v_scale, rows * scale);
    }
    if (s == TFM_OK) s = read(user, head, 8);
    if (s != TFM_OK) return tfm_error_set(err, s, "reading the state: %s (truncated?)", tfm_status_string(s));
    if (tfm__get_u64(head) != st.hash) {
        tfm_context_reset(ctx);
        return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted state: the checksum does not match");
    }
    for (i = 0; i < n; i++)
        if (ctx->tokens[i] < 0 || ctx->tokens[i] >= c->vocab_size) {
            tfm_context_reset(ctx);
            return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted state: token %d at position %d", ctx->tokens[i], i);
        }
    for (l = 0; l < c->n_layers; l++) ctx->kv[l].length = n;
    ctx->pos = n;
    ctx->has_logits = has_logits;
    return TFM_OK;
}

/* ---- memory */

typedef struct tfm__state_buffer {
    unsigned char *out;
    const unsigned char *in;
    size_t cap, used;
} tfm__state_buffer;

static tfm_status tfm__state_buffer_write(void *user, const void *data, size_t n)
{
    tfm__state_buffer *b = (tfm__state_buffer *)user;
    if (n > b->cap - b->used) return TFM_ERR_CONTEXT_FULL;
    memcpy(b->out + b->used, data, n);
    b->used += n;
    return TFM_OK;
}

static tfm_status tfm__state_buffer_read(void *user, void *data, size_t n)
{
    tfm__state_buffer *b = (tfm__state_buffer *)user;
    if (n > b->cap - b->used) return TFM_ERR_FORMAT;
    memcpy(data, b->in + b->used, n);
    b->used += n;
    return TFM_OK;
}

tfm_status tfm_context_state_save(const tfm_context *ctx, void *out, size_t cap, size_t *written, tfm_error *err)
{
    tfm__state_buffer b;
    size_t need = tfm_context_state_size(ctx);
    tfm_status s;
    tfm_error_clear(err);
    if (!ctx || !written) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no context or no size output");
    *written = need;
    if (!out) return TFM_OK;
    if (cap < need)
        return tfm_error_set(err, TFM_ERR_CONTEXT_FULL, "the state takes %zu bytes, the buffer has %zu", need, cap);
    b.out = (unsigned char *)out, b.in = NULL, b.cap = cap, b.used = 0;
    s = tfm_context_state_write(ctx, tfm__state_buffer_write, &b, err);
    *written = b.used;
    return s;
}

tfm_status tfm_context_state_load(tfm_context *ctx, const void *data, size_t size, tfm_error *err)
{
    tfm__state_buffer b;
    tfm_status s;
    if (!ctx || !data) {
        tfm_error_clear(err);
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no context or no data");
    }
    b.out = NULL, b.in = (const unsigned char *)data, b.cap = size, b.used = 0;
    s = tfm_context_state_read(ctx, tfm__state_buffer_read, &b, err);
    if (s == TFM_OK && b.used != size) {
        tfm_context_reset(ctx);
        return tfm_error_set(err, TFM_ERR_FORMAT, "%zu bytes after the end of the state", size - b.used);
    }
    return s;
}

/* ---- files */

static tfm_status tfm__state_file_write(void *user, const void *data, size_t n)
{
    return fwrite(data, 1, n, (FILE *)user) == n ? TFM_OK : TFM_ERR_IO;
}

static tfm_status tfm__state_file_read(void *user, void *data, size_t n)
{
    FILE *f = (FILE *)user;
    if (fread(data, 1, n, f) == n) return TFM_OK;
    return ferror(f) ? TFM_ERR_IO : TFM_ERR_FORMAT; /* a short file */
}

tfm_status tfm_context_state_save_file(const tfm_context *ctx, const char *path, tfm_error *err)
{
    char *tmp;
    size_t len;
    FILE *f;
    tfm_status s;
    tfm_error_clear(err);
    if (!ctx || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no context or no path");
    len = strlen(path);
    tmp = (char *)TFM_MALLOC(len + 5);
    if (!tmp) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    f = fopen(tmp, "wb");
    if (!f) {
        s = tfm_error_set(err, TFM_ERR_IO, "%s: cannot create the file", tmp);
        TFM_FREE(tmp);
        return s;
    }
    s = tfm_context_state_write(ctx, tfm__state_file_write, f, err);
    if (fclose(f) != 0 && s == TFM_OK) s = tfm_error_set(err, TFM_ERR_IO, "%s: write error", tmp);
    if (s == TFM_OK && rename(tmp, path) != 0) {
        /* where rename does not replace an existing file (Windows): remove it, then rename */
        remove(path);
        if (rename(tmp, path) != 0) s = tfm_error_set(err, TFM_ERR_IO, "cannot rename %s to %s", tmp, path);
    }
    if (s != TFM_OK) {
        char message[sizeof err->message];
        remove(tmp);
        if (err && strncmp(err->message, tmp, len) != 0) {
            memcpy(message, err->message, sizeof message);
            tfm_error_set(err, s, "%s: %s", path, message);
        }
    }
    TFM_FREE(tmp);
    return s;
}

tfm_status tfm_context_state_load_file(tfm_context *ctx, const char *path, tfm_error *err)
{
    FILE *f;
    tfm_status s;
    tfm_error_clear(err);
    if (!ctx || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no context or no path");
    f = fopen(path, "rb");
    if (!f) {
        tfm_context_reset(ctx);
        return tfm_error_set(err, TFM_ERR_IO, "%s: cannot open the file", path);
    }
    s = tfm_context_state_read(ctx, tfm__state_file_read, f, err);
    if (s == TFM_OK && fgetc(f) != EOF) {
        tfm_context_reset(ctx);
        s = tfm_error_set(err, TFM_ERR_FORMAT, "bytes after the end of the state");
    }
    fclose(f);
    if (s != TFM_OK && err) {
        char message[sizeof err->message];
        memcpy(message, err->message, sizeof message);
        tfm_error_set(err, s, "%s: %s", path, message);
    }
    return s;
}

/* ---------------------------------------------------------------- perplexity */

/* -log softmax(logits)[target] as llama.cpp computes it: each exp(logit - max) in float, their sum
   (here one double per vector lane, added in a fixed order) and the logarithm in double. */
static double tfm__model_nll(const float *logits, int n, int target)
{
    double lanes[TFM__VF_N], sum = 0;
    float e[TFM__VF_N], max;
    tfm__vf vmax = tfm__vf_set1(logits[0]);
    int i, j;
    for (i = 0; i + TFM__VF_N <= n; i += TFM__VF_N) vmax = tfm__vf_max(vmax, tfm__vf_load(logits + i));
    max = tfm__vf_hmax(vmax);
    for (; i < n; i++) max = logits[i] > max ? logits[i] : max;
    vmax = tfm__vf_set1(max);
    for (j = 0; j < TFM__VF_N; j++) lanes[j] = 0;
    for (i = 0; i < n; i += TFM__VF_N) {
        int count = n - i < TFM__VF_N ? n - i : TFM__VF_N;
        tfm__vf_store(e, tfm__vf_exp(tfm__vf_sub(tfm__vf_load_n(logits + i, (size_t)count), vmax)));
        for (j = 0; j < count; j++) lanes[j] += (double)e[j];
    }
    for (j = 0; j < TFM__VF_N; j++) sum += lanes[j];
    return log(sum) - ((double)logits[target] - (double)max);
}

static void tfm__model_ppl_result(tfm_perplexity_result *r, double sum, double sum2, long count, int n_chunks)
{
    double mean = sum / (double)count, var = sum2 / (double)count - mean * mean;
    r->mean_nll = mean;
    r->ppl = exp(mean);
    r->ppl_error = var > 0 && count > 1 ? r->ppl * sqrt(var / (double)(count - 1)) : 0.0;
    r->n_scored = count;
    r->n_chunks = n_chunks;
}

tfm_status tfm_perplexity(tfm_context *ctx, const int *tokens, int n_tokens, int n_ctx, int bos, int max_chunks,
                          tfm_perplexity_progress progress, void *user, tfm_perplexity_result *result, tfm_error *err)
{
    int first, vocab, n_chunks, batch, chunk, i;
    int *ids = NULL;
    float *logits = NULL;
    double *nll = NULL, sum = 0, sum2 = 0;
    long count = 0;
    tfm_status s = TFM_OK;
    tfm_error_clear(err);
    if (!ctx || !tokens || !result)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_perplexity: no context, tokens or result");
    memset(result, 0, sizeof *result);
    vocab = ctx->model->config.vocab_size;
    if (n_ctx < 3 || n_ctx > ctx->context_length)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "perplexity context %d must be 3..%d (the context's)",
                             n_ctx, ctx->context_length);
    if (n_tokens / 2 < n_ctx)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                             "perplexity at a context of %d needs at least %ld tokens, the text has %d", n_ctx,
                             2L * n_ctx, n_tokens);
    if (bos >= vocab)
        return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "BOS %d is outside the vocabulary 0..%d", bos, vocab - 1);
    n_chunks = n_tokens / n_ctx;
    if (max_chunks > 0 && max_chunks < n_chunks) n_chunks = max_chunks;
    /* the last token of a chunk is only a target, never fed: check every token here */
    for (i = 0; i < n_chunks * n_ctx; i++)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "token %d (at index %d) is outside the vocabulary 0..%d",
                                 tokens[i], i, vocab - 1);
    first = n_ctx / 2;
    batch = ctx->max_batch < n_ctx - 1 - first ? ctx->max_batch : n_ctx - 1 - first;
    if ((size_t)batch > SIZE_MAX / sizeof(float) / (size_t)vocab)
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "logits of %d tokens do not fit in memory", batch);
    ids = (int *)TFM_MALLOC(sizeof(int) * (size_t)n_ctx);
    logits = (float *)TFM_MALLOC(sizeof(float) * (size_t)batch * (size_t)vocab);
    nll = (double *)TFM_MALLOC(sizeof(double) * (size_t)batch);
    if (!ids || !logits || !nll) s = tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for perplexity");

    for (chunk = 0; chunk < n_chunks && s == TFM_OK; chunk++) {
        int done, n;
        memcpy(ids, tokens + (size_t)chunk * (size_t)n_ctx, sizeof(int) * (size_t)n_ctx);
        if (bos >= 0) ids[0] = bos;
        tfm_context_reset(ctx);
        /* the unscored first half needs no classifier */
        s = tfm_forward(ctx, ids, first, NULL, TFM_LOGITS_LAST, err);
        for (done = first; done < n_ctx - 1 && s == TFM_OK; done += n) {
            int threads;
            n = n_ctx - 1 - done < batch ? n_ctx - 1 - done : batch;
            s = tfm_forward(ctx, ids + done, n, logits, TFM_LOGITS_ALL, err);
            if (s != TFM_OK) break;
            /* rows are independent and summed below in order, so any thread count gives the same sums */
            threads = (double)n * vocab < 65536.0 ? 1 : ctx->n_threads;
            (void)threads;
            TFM__PARALLEL_FOR(threads)
            for (i = 0; i < n; i++) nll[i] = tfm__model_nll(logits + (size_t)i * (size_t)vocab, vocab, ids[done + i + 1]);
            for (i = 0; i < n; i++) sum += nll[i], sum2 += nll[i] * nll[i];
            count += n;
        }
        if (s != TFM_OK) break;
        tfm__model_ppl_result(result, sum, sum2, count, chunk + 1);
        if (progress) progress(user, result, n_chunks);
    }
    TFM_FREE(ids);
    TFM_FREE(logits);
    TFM_FREE(nll);
    return s;
}

/* ---------------------------------------------------------------- writing GGUF */

uint32_t tfm_model_gguf_file_type(tfm_dtype type)
{
    switch (type) {
    case TFM_F16: return 1;
    case TFM_Q4_0: return 2;
    case TFM_Q4_1: return 3;
    case TFM_Q8_0: return 7;
    case TFM_Q4_K: return 14; /* Q4_K_S: every matrix q4_k */
    case TFM_Q6_K: return 18;
    case TFM_BF16: return 32;
    default: return 0;
    }
}

tfm_status tfm_model_gguf_add_config(tfm_gguf_writer *w, const tfm_model_config *c, const char *name, tfm_dtype type,
                                     tfm_error *err)
{
    tfm_status s;
    if (!w || !c) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no writer or no config");
    s = tfm_gguf_writer_add_string(w, "general.architecture", "llama", err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_string(w, "general.name", name ? name : "tfm", err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "general.file_type", tfm_model_gguf_file_type(type), err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "general.quantization_version", 2, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "llama.context_length", (uint32_t)c->context_length, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "llama.embedding_length", (uint32_t)c->dim, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden_dim, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "llama.block_count", (uint32_t)c->n_layers, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "llama.rope.dimension_count", (uint32_t)c->rope_dim, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_f32(w, "llama.rope.freq_base", c->rope_base, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps, err);
    if (s == TFM_OK && c->n_experts > 0) s = tfm_gguf_writer_add_u32(w, "llama.expert_count", (uint32_t)c->n_experts, err);
    if (s == TFM_OK && c->n_experts > 0)
        s = tfm_gguf_writer_add_u32(w, "llama.expert_used_count", (uint32_t)c->n_experts_used, err);
    return s;
}

/* Token i of the stand-in vocab: <unk> <s> </s>, the byte tokens <0x00>..<0xFF>, then words " wN". */
static void tfm__model_standin_token(int i, char *text, size_t cap, float *score, tfm_token_type *type)
{
    *type = i == 0 ? TFM_TOKEN_UNKNOWN : i < 3 ? TFM_TOKEN_CONTROL : i < 259 ? TFM_TOKEN_BYTE : TFM_TOKEN_NORMAL;
    if (i < 3) snprintf(text, cap, "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
    else if (i < 259) snprintf(text, cap, "<0x%02X>", i - 3);
    else snprintf(text, cap, " w%d", i); /* placeholders, each its own word */
    *score = i < 259 ? 0.0f : -(float)i;
}

/* Token i's piece in GGUF's spelling, into a new buffer (*out, *out_len); 0 when out of memory. */
static int tfm__model_gguf_piece(const tfm_tokenizer *tok, int i, char **out, size_t *out_len, float *score,
                                 int32_t *type_out)
{
    char text[64];
    const char *piece = text;
    size_t len, k, n = 0;
    tfm_token_type type;
    if (tok) {
        if (tfm_tokenizer_token(tok, i, &piece, &len, score, &type) != TFM_OK) return 0;
        if (i == tfm_tokenizer_bos(tok)) piece = "<s>", len = 3;
        else if (i == tfm_tokenizer_eos(tok)) piece = "</s>", len = 4;
    } else {
        tfm__model_standin_token(i, text, sizeof text, score, &type);
        len = strlen(text);
    }
    *type_out = (int32_t)type;
    *out = (char *)TFM_MALLOC(3 * len + 1);
    if (!*out) return 0;
    for (k = 0; k < len; k++) {
        if (piece[k] == ' ' && type != TFM_TOKEN_BYTE) { /* SentencePiece's space, U+2581 */
            (*out)[n++] = (char)0xE2, (*out)[n++] = (char)0x96, (*out)[n++] = (char)0x81;
        } else (*out)[n++] = piece[k];
    }
    *out_len = n;
    return 1;
}

tfm_status tfm_model_gguf_add_vocab(tfm_gguf_writer *w, const tfm_tokenizer *tok, int n_vocab, tfm_error *err)
{
    char **pieces;
    size_t *lens;
    float *scores;
    int32_t *types;
    tfm_status s = TFM_OK;
    int i;
    if (!w || n_vocab <= 0) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no writer or no vocab size");
    if (tok && tfm_tokenizer_vocab_size(tok) != n_vocab)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "the tokenizer has %d tokens, the model %d",
                             tfm_tokenizer_vocab_size(tok), n_vocab);
    pieces = (char **)TFM_MALLOC(sizeof(char *) * (size_t)n_vocab);
    lens = (size_t *)TFM_MALLOC(sizeof(size_t) * (size_t)n_vocab);
    scores = (float *)TFM_MALLOC(sizeof(float) * (size_t)n_vocab);
    types = (int32_t *)TFM_MALLOC(sizeof(int32_t) * (size_t)n_vocab);
    if (pieces) memset(pieces, 0, sizeof(char *) * (size_t)n_vocab);
    if (!pieces || !lens || !scores || !types) s = TFM_ERR_OUT_OF_MEMORY;
    for (i = 0; s == TFM_OK && i < n_vocab; i++)
        if (!tfm__model_gguf_piece(tok, i, &pieces[i], &lens[i], &scores[i], &types[i])) s = TFM_ERR_OUT_OF_MEMORY;
    if (s != TFM_OK) tfm_error_set(err, s, "out of memory for a vocab of %d tokens", n_vocab);
    if (s == TFM_OK) s = tfm_gguf_writer_add_string(w, "tokenizer.ggml.model", "llama", err);
    if (s == TFM_OK)
        s = tfm_gguf_writer_add_array_string(w, "tokenizer.ggml.tokens", (const char *const *)pieces, lens,
                                             (uint64_t)n_vocab, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_array(w, "tokenizer.ggml.scores", TFM_GGUF_F32, scores, (uint64_t)n_vocab, err);
    if (s == TFM_OK)
        s = tfm_gguf_writer_add_array(w, "tokenizer.ggml.token_type", TFM_GGUF_I32, types, (uint64_t)n_vocab, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2, err);
    for (i = 0; pieces && i < n_vocab; i++) TFM_FREE(pieces[i]);
    TFM_FREE(pieces);
    TFM_FREE(lens);
    TFM_FREE(scores);
    TFM_FREE(types);
    return s;
}

#ifdef __cplusplus
}
#endif

#endif /* TFM_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
ALTERNATIVE A - MIT License. Copyright (c) 2026 the tfm authors. Permission is hereby granted, free
of charge, to any person obtaining a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following conditions: The
above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
ALTERNATIVE B - Public Domain (www.unlicense.org). Anyone is free to copy, modify, publish, use,
compile, sell, or distribute this software, for any purpose, commercial or non-commercial.
------------------------------------------------------------------------------
*/

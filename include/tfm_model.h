/* tfm_model.h - the decoder families (Llama, Qwen, Gemma, Phi-3, GPT-2) and BERT encoders (BERT, nomic-bert):
   config, weights, loaders, the forward pass. MIT or public domain, your choice: see the end of this file (and
   LICENSE).

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
     The context is opaque; callers read it through accessors: tfm_context_pos (the next position),
     tfm_context_length, tfm_context_tokens, tfm_context_logits (after the last position),
     tfm_context_model, tfm_context_max_batch, tfm_context_threads (and tfm_context_set_threads),
     tfm_context_layer_attn, tfm_context_layer_cache, tfm_context_memory_bytes, tfm_context_moe_stats.
     Only the functions of this header change it, so the forward pass trusts what it holds.

   THE FORWARD PASS (one for every family; Llama 2's is llama2.c's run.c, one token at a time)
     x = embedding[token] * embd_scale  (+ pos_embd[position])
     for each layer:
         h = norm(x; attn_norm)                      every norm is the model's kind: RMSNorm or LayerNorm
         q = Wq h + bq, k = Wk h + bk, v = Wv h + bv
         q, k = norm(each head; q_norm, k_norm)
         rotate q and k by their position (RoPE: adjacent pairs or NeoX halves, scaled; not with
                                               learned positions)
         append k and v to the layer's KV cache
         a = softmax(cap(q K^T * scale)) V      per head, causal, over the cached positions the layer
                                                sees (all, or its sliding window); query head h reads kv
                                                head h / (n_heads / n_kv_heads)
         x = x + norm(Wo a + bo; attn_post_norm)
         h = norm(x; ffn_norm)
         x = x + norm(ffn(h); ffn_post_norm)    SwiGLU, GeGLU, a GELU MLP with biases, or experts
     logits = cap(W_out norm(x; output_norm))   W_out is the embedding table unless the file has its own
     Each norm, bias and post-norm is applied where the layer has that tensor (tfm_layer); the rest is
     the config's (tfm_model_config): a family is data, not a forward pass of its own.

   RoPE
     Pair i of a head (x[2i], x[2i+1], or x[i], x[i + rope_dim/2] in NeoX's layout) turns at position p
     by p * base^(-2i / rope_dim) * rope_freq_scale / factor_i, cos and sin times rope_attn_factor: the
     frequency factors are Llama 3's rope_freqs (llama.cpp's converter writes them from the HF config's
     rope_scaling), or Phi-3's rope_factors_long for a context longer than rope_orig_context, else its
     rope_factors_short; Gemma 3's sliding layers turn by their own base (rope_base_swa), unscaled. The
     angles are computed in double once per chunk (at most two settings), not per layer.

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
     gives their perplexity cost. A model's own sliding layers (Gemma 2 and 3, Phi-3) keep their window
     whatever attn asks for (a narrower window:W narrows it); the model's score scale and soft-cap apply
     to every variant. linear and linformer need weights trained for them and are refused.
     kv_type TFM_I8 stores K and V as int8 rows, one f32 scale per (token, kv head) row of head_dim values:
     (head_dim + 4) / (4 head_dim) of the f32 cache (27% at head_dim 64), fewer bytes read per decode step;
     the new tokens are quantized before they are attended, so a row does not depend on how the tokens
     were split into calls.

   FILES AND WEIGHT DTYPES
     llama2.c legacy `.bin` (karpathy/llama2.c export.py --version 0): a header of 7 little-endian int32
     (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the
     classifier is stored separately at the end) then f32 arrays in run.c's order.
     GGUF v2/v3 (tfm_gguf.h) of the architectures llama, qwen2, qwen3, qwen3moe, gemma2, gemma3, phi3,
     gpt2 and the encoders bert and nomic-bert (see ENCODERS), with the `{arch}.*` keys and tensor names llama.cpp's converter writes: one row per family in
     tfm__archs says which tensors its layers require (a missing one is an error naming it), its norm,
     feed-forward and RoPE kinds and its own keys (soft-caps, sliding window, expert width); the table
     tfm__layer_tensors names every layer tensor with the shape it must have. A fused attn_qkv (rows
     q | k | v) and Phi-3's fused ffn_up (gate | up) load as views of their rows. Absent output.weight:
     the classifier is token_embd. Refused, each with one line naming it: other architectures, RoPE
     scaling other than none and linear (yarn, longrope as a type), key length != value length, experts
     stored one tensor each (the early Mixtral layout). The vocab `tokenizer.ggml.*` (SentencePiece
     "llama", byte-level BPE "gpt2" or WordPiece "bert") comes with the model (tfm_model_tokenizer;
     options.no_vocab leaves it unread; tfm_model_load_vocab reads it alone). Mixture-of-experts files: see below.
     Gemma's RMSNorm multiplies by (1 + w): llama.cpp's converter stores 1 + w, so every family's norm
     here is x / rms * w.
     Every matrix product and the embedding lookup go
     through tfm_quant.h, so weight views of f32, f16, bf16, q8_0, q4_0, q4_1, q4_k or q6_k run through
     the same forward pass; a new loader fills a tfm_model's config and views and ends with
     tfm_model_check.

   ENCODERS
     A bert file is the same forward pass read from its row of tfm__archs: the embedding plus its learned
     position and token type 0, LayerNorm'd (token_embd_norm); blocks without input norms whose residual
     sums are LayerNorm'd instead (attn_output_norm, layer_output_norm: post-norm); biases everywhere; a
     GELU MLP; bidirectional attention (config.bidirectional); no final norm, no classifier. A nomic-bert
     file (nomic-embed-text) is the same with its own row: no learned positions but RoPE (NeoX halves,
     nomic-bert.rope.freq_base), q|k|v fused in attn_qkv, a SwiGLU block (ffn_gate, ffn_up), no biases in
     the blocks. tfm_forward refuses an encoder; tfm_encode runs a batch of sequences (of any model) to
     their final hidden states, which tfm_embed.h pools into sentence vectors.

   PACKED WEIGHTS
     The loaders repack every quantized matrix once (tfm_model_pack; tfm_quant_pack, every build) and
     the forward pass multiplies the packed copies: the same logits bit for bit, faster decode, close to
     the read bandwidth where the weights are not in cache. Each matrix carries its copies
     (tfm_weight.packed: one per matrix, one per expert of a stacked tensor), all in one block
     (tfm_model.packed_memory) in the order a decode step reads them, on huge pages where the system
     has them (Linux: madvise(MADV_HUGEPAGE), which transparent huge pages in their usual "madvise"
     mode need; 4 KiB pages cost a step a TLB miss every 4 KiB of weights); they are the only weights
     the forward pass reads; the mapped file pages packing read once stay mapped (clean page cache the
     kernel may reclaim, but counted in RSS: TinyLlama-1.1B q4_0 peaks at ~2x its file; dropping them
     needs madvise, which strict C99 headers do not declare). options.no_pack keeps the stored layout;
     tfm_model_unpack drops the copies.

   MIXTURE OF EXPERTS (tfm_moe.h)
     A GGUF `llama` file with llama.expert_count E > 0 and llama.expert_used_count k (1..E), and every
     `qwen3moe` file, has in every layer a router blk.N.ffn_gate_inp {dim, E} and the experts stacked in
     blk.N.ffn_{gate,up}_exps {dim, hidden, E} and blk.N.ffn_down_exps {hidden, dim, E} (hidden =
     feed_forward_length; qwen3moe: expert_feed_forward_length) instead of ffn_{gate,up,down}; the loader
     checks them with tfm_moe_validate. The feed-forward block of such a layer is tfm_moe_forward with the
     family's gating: Mixtral's (the k largest router logits win, the softmax of those k weights their
     SwiGLU outputs) or Qwen 3's (softmax over all E, the k most probable, their weights renormalised). A
     prompt's chunk runs each expert once over the rows routed to it; a generated token runs its k experts
     with gemv. The block's workspace (router logits, grouped rows, quantized activations) is sized with
     the context, in its arena: decoding allocates nothing with quantized experts; tfm_model_pack repacks
     the experts too. Logits do not depend on the thread count. tfm_context_params.moe_stats = 1
     accumulates each layer's routing statistics (tfm_context_moe_stats, tfm_context_moe_stats_print,
     tfm_context_moe_stats_reset). Files with one tensor per expert (the early Mixtral layout,
     blk.N.ffn_gate.E) are refused.

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

   MANY SEQUENCES (tfm_forward_batch)
     n contexts advance one token each in one step: the rows of the n tokens go through every matrix
     together (one gemm: each weight read once a step, the int8 kernels giving each row the gemv's
     result), and each row attends over its own context's cache at its own position. The first
     context's activations and thread count serve the step. Results equal n tfm_forward calls bit for
     bit; models with float matrices or experts are run that way.

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

/* How a family normalises: every norm of a model (block inputs, post-norms, q/k norms, the final
   norm) is of the model's kind. */
typedef enum tfm_norm_kind {
    TFM_NORM_RMS = 0,  /* x / sqrt(mean(x^2) + eps) * w             Llama, Qwen, Gemma, Phi-3 */
    TFM_NORM_LAYER = 1 /* (x - mean) / sqrt(var + eps) * w + b      GPT-2 (the bias where the model has one) */
} tfm_norm_kind;

/* The feed-forward block (gelu: the tanh form, as llama.cpp computes it). */
typedef enum tfm_ffn_kind {
    TFM_FFN_SWIGLU = 0, /* down(silu(gate h) * up h)                Llama, Qwen, Phi-3 */
    TFM_FFN_GEGLU = 1,  /* down(gelu(gate h) * up h)                Gemma */
    TFM_FFN_GELU = 2    /* down(gelu(up h + b_up)) + b_down         GPT-2: no gate */
} tfm_ffn_kind;

/* The shape of the network and the choices its family makes. A zeroed field past the shape means
   Llama's choice, so a config filled for Llama runs Llama. */
typedef struct tfm_model_config {
    const char *arch;   /* the family, GGUF general.architecture ("llama", "qwen2", ...); NULL: "llama" */
    int dim;            /* width of the residual stream */
    int hidden_dim;     /* inner width of the feed-forward block (of each expert in a mixture of experts) */
    int n_layers;
    int n_heads;        /* query heads */
    int n_kv_heads;     /* key/value heads: n_heads (MHA), a divisor of it (GQA), 1 (MQA) */
    int head_dim;       /* dims per head; dim / n_heads in llama2.c files */
    int vocab_size;
    int context_length; /* positions the model was trained for (llama2.c's seq_len) */
    float rope_base;    /* RoPE frequency base (10000) */
    int rope_dim;       /* leading dims of each head that rotate (head_dim); 0: no RoPE (learned positions) */
    tfm_rope_mode rope_mode;
    float norm_eps;     /* norm epsilon (1e-5) */
    int n_experts;      /* mixture of experts: experts per layer, 0 for a dense feed-forward block */
    int n_experts_used; /* experts each token is routed to */
    tfm_moe_gating moe_gating; /* Mixtral's (0: softmax over the k best) or softmax over all, then top k */
    int moe_renormalize;       /* TFM_MOE_GATE_SOFTMAX_TOPK: the k gates divided by their sum (Qwen 3 MoE) */
    tfm_norm_kind norm;        /* RMSNorm (0) or LayerNorm */
    tfm_ffn_kind ffn;          /* SwiGLU (0), GeGLU or a GELU MLP */
    float embd_scale;          /* token embeddings times this (Gemma: sqrt(dim)); 0: 1 */
    float attn_scale;          /* attention score scale; 0: 1/sqrt(head_dim) */
    float attn_softcap;        /* > 0: each score s -> attn_softcap * tanh(s / attn_softcap) before the
                                  softmax (Gemma 2); 0: none */
    float logit_softcap;       /* > 0: the same on the logits (Gemma 2); 0: none */
    int sliding_window;        /* > 0: the sliding layers see the sliding_window latest positions only */
    int swa_period;            /* with sliding_window: 0 every layer slides (Phi-3); P > 0: layer l slides
                                  unless (l + 1) % P == 0 (Gemma 2: P = 2, even layers; Gemma 3: P = 6) */
    float rope_base_swa;       /* > 0: the sliding layers' RoPE base, unscaled (Gemma 3: 10000) */
    float rope_freq_scale;     /* RoPE angles times this (linear scaling: 1 / factor) but for the sliding
                                  layers with their own base; 0: 1 */
    float rope_attn_factor;    /* RoPE's cos and sin times this (Phi-3's long RoPE); 0: 1 */
    int rope_orig_context;     /* a context longer than this uses model->rope_factors_long; 0: context_length */
    int bidirectional;         /* 1: an encoder (BERT): every token sees the whole sequence, no classifier
                                  (tfm_encode gives its hidden states; tfm_forward refuses it); 0: causal */
    int pooling;               /* the pooling the file names ({arch}.pooling_type: 1 mean, 2 cls, 3 last; 0
                                  none or not named): tfm_embed.h's default */
} tfm_model_config;

/* A weight matrix: the view of its rows (in the mapped file, or wherever the caller keeps them) and, on
   builds with packed int8 kernels, the copy tfm_model_pack made of it for them. */
typedef struct tfm_weight {
    tfm_tensor tensor;        /* [rows][cols] (ne[0] = cols); stacked experts: [n][rows][cols]; data NULL:
                                 the model has no such matrix */
    tfm_quant_packed *packed; /* NULL (multiplied as stored), or one packed copy per matrix of tensor:
                                 ne[2] of them. Made and freed by tfm_model_pack and tfm_model_free:
                                 after changing tensor, call tfm_model_pack again */
} tfm_weight;

/* One transformer block's weights. Matrices are [rows][cols] with ne[0] = cols (tfm_tensor.h), of any
   dtype tfm_quant_gemv handles (f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k); norms and biases are f32
   vectors. q_dim = n_heads * head_dim, kv_dim = n_kv_heads * head_dim. A tensor whose data is NULL is
   absent: the forward pass skips that norm, bias or post-norm. A file that fuses matrices (GPT-2's and
   Phi-3's attn_qkv, Phi-3's gate|up ffn_up) loads as views of their rows here. */
typedef struct tfm_layer {
    tfm_tensor attn_norm, attn_norm_b; /* [dim] the attention block's input norm (and LayerNorm bias) */
    tfm_weight wq;                     /* [q_dim][dim] */
    tfm_weight wk;                     /* [kv_dim][dim] */
    tfm_weight wv;                     /* [kv_dim][dim] */
    tfm_tensor bq, bk, bv;             /* [q_dim], [kv_dim], [kv_dim] biases (Qwen 2, GPT-2) */
    tfm_tensor q_norm, k_norm;         /* [head_dim] a norm of each head's query and key before RoPE
                                          (Qwen 3, Gemma 3) */
    tfm_weight wo;                     /* [dim][q_dim] */
    tfm_tensor bo;                     /* [dim] (GPT-2) */
    tfm_tensor attn_post_norm;         /* [dim] a norm of the attention output before the residual (Gemma) */
    tfm_tensor ffn_norm, ffn_norm_b;   /* [dim] the feed-forward block's input norm (and LayerNorm bias) */
    tfm_weight ffn_gate;               /* [hidden_dim][dim]  (llama2.c's w1); absent for TFM_FFN_GELU */
    tfm_weight ffn_up;                 /* [hidden_dim][dim]  (w3) */
    tfm_weight ffn_down;               /* [dim][hidden_dim]  (w2) */
    tfm_tensor ffn_up_b, ffn_down_b;   /* [hidden_dim], [dim] (GPT-2) */
    tfm_tensor ffn_post_norm;          /* [dim] a norm of the feed-forward output before the residual (Gemma) */
    tfm_tensor attn_out_norm, attn_out_norm_b; /* [dim] a norm of the residual stream after the attention
                                                  block's sum, x = norm(x + attn) (BERT's post-norm) */
    tfm_tensor ffn_out_norm, ffn_out_norm_b;   /* [dim] the same after the feed-forward block's sum */
    /* a mixture-of-experts layer (config.n_experts > 0) has these instead of ffn_gate/up/down */
    tfm_tensor ffn_gate_inp;   /* [n_experts][dim]             the router (multiplied as stored) */
    tfm_weight ffn_gate_exps;  /* [n_experts][hidden_dim][dim] experts stacked, each matrix contiguous */
    tfm_weight ffn_up_exps;    /* [n_experts][hidden_dim][dim] */
    tfm_weight ffn_down_exps;  /* [n_experts][dim][hidden_dim] */
} tfm_layer;

/* Weights, read-only after load. Any number of contexts (and threads) may use one model. */
typedef struct tfm_model {
    tfm_model_config config;
    tfm_tensor token_embd;  /* [vocab_size][dim] */
    tfm_tensor pos_embd;    /* [positions][dim] learned positions added to the embedding (GPT-2, BERT), or absent */
    tfm_tensor token_types; /* [types][dim] token-type embeddings (BERT): row 0 ("sentence A", as llama.cpp
                               uses) added to every token's embedding, or absent */
    tfm_tensor embd_norm, embd_norm_b; /* [dim] a norm of the embedding sum (BERT), or absent */
    tfm_tensor rope_freqs;  /* [rope_dim / 2] divisors of each pair's RoPE frequency (Llama 3), or absent */
    tfm_tensor rope_factors_short, rope_factors_long; /* the same, chosen by the context's length against
                                                         config.rope_orig_context (Phi-3), or absent */
    tfm_layer *layers;      /* [n_layers] */
    tfm_tensor output_norm, output_norm_b; /* [dim] */
    tfm_weight output;      /* [vocab_size][dim], the classifier; its tensor views token_embd when shared;
                               absent (data NULL) in an encoder */
    void *packed_memory;    /* every packed copy of tfm_weight.packed, back to back in the order a decode step
                               reads them (tfm_model_pack), or NULL */
    tfm_file_map file;      /* the file the weights point into (empty when loaded from memory) */
    tfm_tokenizer *tokenizer; /* the vocab the file carries (GGUF), owned by the model; NULL if none */
    char *chat_template;      /* the file's tokenizer.chat_template (NUL-terminated copy), NULL if none */
    uint64_t fingerprint;     /* tfm_model_fingerprint, computed once at load (every state save and load
                                 compares it) */
} tfm_model;

typedef struct tfm_model_options {
    int no_mmap;  /* 1: read the file into memory instead of mapping it */
    int no_pack;  /* 1: keep the matrices as stored (no tfm_model_pack at load; same logits, slower) */
    int no_vocab; /* 1: leave the file's vocab unread (tfm_model_tokenizer gives NULL: bring your own) */
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
/* Repacks every quantized matrix (tfm_quant_packable) once, so that the forward pass runs packed gemv
   and gemm on it: the same logits bit for
   bit, faster. The loaders call it (unless options->no_pack); call it again after changing a loaded
   model's matrices yourself (every copy is dropped and remade). The token embedding stays as stored
   (row lookups); a classifier tied to it gets its own packed copy (1.2-1.3x decode on a stories15M-shaped
   model, whose classifier is 60% of its weights). Memory: one copy of each packed matrix, freed by
   tfm_model_free; the mapped originals are not read again (but for the embedding's looked-up rows).
   n_threads <= 0: all. */
TFM_API tfm_status tfm_model_pack(tfm_model *model, int n_threads, tfm_error *err);
/* Drops every packed copy tfm_model_pack made: the forward pass multiplies the matrices as stored (the
   same logits, slower; the copies' memory is freed). */
TFM_API void tfm_model_unpack(tfm_model *model);
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
/* Loads only the vocab of a GGUF file (a model, or a vocab-only file such as llama.cpp's
   ggml-vocab-*.gguf): "llama" (SentencePiece), "gpt2" (byte-level BPE) or "bert" (WordPiece), with its
   special tokens and add_bos/add_eos (see tfm__model_gguf_tokenizer). A file without
   tokenizer.ggml.tokens is an error. Free with tfm_tokenizer_free. */
TFM_API tfm_status tfm_model_load_vocab(const char *path, tfm_tokenizer **out, tfm_error *err);

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
    int check_finite;   /* 1: tfm_forward checks the residual stream after every block and fails on the
                           first NaN or infinity, naming the layer, block, token and dimension (a scan
                           of the activations per block); 0: off */
} tfm_context_params;

/* The default context length: the model's, up to this many positions (tfm_context_params). */
#ifndef TFM_DEFAULT_CONTEXT
#define TFM_DEFAULT_CONTEXT 4096
#endif

/* The state of one sequence (its KV cache, the activations of a chunk, its position and tokens), all
   allocated once by tfm_context_create. Opaque: read it through the tfm_context_* accessors. Use a
   context from one thread at a time (it spreads its own work over tfm_context_threads threads). */
typedef struct tfm_context tfm_context;

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

/* Runs n_tokens tokens at positions pos, pos + 1, ... (pos = tfm_context_pos) through the model,
   appends their keys and values to the KV cache and advances the position. logits may be NULL (then
   no classifier is run). Nothing is done when a token id is outside the vocabulary
   (TFM_ERR_OUT_OF_RANGE) or the tokens do not fit in the context (TFM_ERR_CONTEXT_FULL); if a kernel
   fails midway, the position stays at the start of the chunk that failed and the caches forget that
   chunk (but a window layer's ring has then lost rows of earlier positions: a context with one is
   reset to position 0). err may be NULL. */
TFM_API tfm_status tfm_forward(tfm_context *ctx, const int *tokens, int n_tokens, float *logits,
                               tfm_logits_mode mode, tfm_error *err);
/* One decode step of n distinct contexts of one model (n sequences, e.g. a server's users), one token
   each: tokens[i] goes to ctxs[i] at its own position. The weight matrices are multiplied once for all
   n rows (a gemm: each weight read once for the step), attention runs per sequence over its own cache.
   The logits (logits[n][vocab_size], may be NULL: no classifier) and every context afterwards are bit
   for bit those of tfm_forward(ctxs[i], &tokens[i], 1, ...) on each alone, at any thread count: the
   int8 kernels give a gemm row the gemv's result. Models with an f32, f16 or bf16 matrix, and
   mixture-of-experts models, run the n tfm_forward calls instead (the same results, nothing shared).
   n is at most tfm_context_max_batch(ctxs[0]) (its activations and thread count serve the step). Nothing is done
   when a token is outside the vocabulary, a context is full, repeated or of another model. */
TFM_API tfm_status tfm_forward_batch(tfm_context *const *ctxs, const int *tokens, int n, float *logits, tfm_error *err);

/* What callers read of a context (each gives 0 or NULL for a NULL context): positions filled (the next
   token's position), positions it holds, the tokens at positions 0..pos-1 (what was fed, in order), the
   logits after the last position when the last tfm_forward computed them (NULL after a call without
   logits, a reset or a rewind), its model, and the most tokens one chunk of tfm_forward runs (the
   rows of tfm_forward_batch and of a tfm_encode batch; params.max_batch, at most the length). */
TFM_API int tfm_context_pos(const tfm_context *ctx);
TFM_API int tfm_context_length(const tfm_context *ctx);
TFM_API const int *tfm_context_tokens(const tfm_context *ctx);
TFM_API const float *tfm_context_logits(const tfm_context *ctx);
TFM_API const tfm_model *tfm_context_model(const tfm_context *ctx);
TFM_API int tfm_context_max_batch(const tfm_context *ctx);
/* Threads the context's calls run on, and a new count for the calls that follow: n_threads <= 0 is
   tfm_default_threads(), more than tfm_max_threads() is that many. Returns the count now in use. The
   logits do not depend on it. */
TFM_API int tfm_context_threads(const tfm_context *ctx);
TFM_API int tfm_context_set_threads(tfm_context *ctx, int n_threads);
/* Layer `layer`'s attention (its variant, window, cache type) and its KV cache (rows held, capacity,
   tfm_kv_cache_bytes), read-only; NULL for a layer out of range. */
TFM_API const tfm_attn_config *tfm_context_layer_attn(const tfm_context *ctx, int layer);
TFM_API const tfm_kv_cache *tfm_context_layer_cache(const tfm_context *ctx, int layer);
/* Bytes the context allocated beside the model: its KV caches, the one block its activations and
   workspaces live in (sized for max_batch tokens), its tokens and last logits; the bookkeeping of a
   few dozen bytes per layer aside. */
TFM_API size_t tfm_context_memory_bytes(const tfm_context *ctx);

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
/* To a file through tfm_file_writer: a temporary file beside PATH renamed over it once complete, so a
   failure or a crash never leaves half a file at PATH (an existing one stays as it was); PATH naming
   the model's own file (by any path) is refused. */
TFM_API tfm_status tfm_context_state_save_file(const tfm_context *ctx, const char *path, tfm_error *err);
TFM_API tfm_status tfm_context_state_load_file(tfm_context *ctx, const char *path, tfm_error *err);
/* A checksum that tells models apart: of the model file's size, its first MiB (the metadata, the vocab)
   and 4 KiB every MiB after it (every tensor of any size differs somewhere there), or of the config and
   the embedding table for a model loaded from memory (tfm_model_load_memory). The same for the same file
   mapped or read (options.no_mmap). State files and retrieval indexes (tfm_embed.h) carry it. */
TFM_API uint64_t tfm_model_fingerprint(const tfm_model *model);

/* Runs n_seq token sequences through the model, each on its own from position 0 (its tokens see each
   other only: all of them in an encoder, the earlier ones in a decoder), and writes every token's final
   hidden state (the final norm applied where the model has one: what llama.cpp pools into embeddings) to
   hidden, the sequences' rows one after the other: [n_tokens[0] + ... + n_tokens[n_seq - 1]][dim].
   The sequences go through in batches of as many as fit in max_batch rows, their rows one after the
   other (no padding): one gemm per matrix for the whole batch, attention sequence by sequence over its
   own rows. A batch has at least TFM_ENCODE_MIN_ROWS rows (zero filler rows) so that every product runs
   the same gemm kernel: a sequence gives the same vectors alone or in any batch, with any thread count,
   bit for bit (given max_batch >= TFM_ENCODE_MIN_ROWS). The context's own sequence (pos, KV caches) is left alone. A sequence longer
   than the context's context_length or max_batch is TFM_ERR_CONTEXT_FULL (nothing is cut: the caller
   decides what to drop); a token outside the vocabulary TFM_ERR_OUT_OF_RANGE. err may be NULL. */
TFM_API tfm_status tfm_encode(tfm_context *ctx, const int *const *tokens, const int *n_tokens, int n_seq, float *hidden,
                              tfm_error *err);

#ifndef TFM_ENCODE_MIN_ROWS
#define TFM_ENCODE_MIN_ROWS 8
#endif

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
   whole text tokenized once as llama.cpp does (tfm_tokenize(..., TFM_TOKENIZE_ADD_SPECIAL): a leading
   BOS when the vocab adds one); it is cut into floor(n_tokens / n_ctx) consecutive chunks of n_ctx
   tokens (max_chunks > 0: at most that many). Each chunk has its first token replaced by bos (bos < 0:
   kept; llama.cpp passes BOS when the vocab adds one, else -1) and runs from an empty cache (ctx is
   reset); the logits at positions n_ctx/2 .. n_ctx-2 are scored against the tokens at n_ctx/2+1 ..
   n_ctx-1, log-softmax in double. Needs n_tokens >= 2 n_ctx (as llama.cpp) and 3 <= n_ctx <=
   tfm_context_length(ctx). The first half of a chunk runs as one prompt without the classifier, the
   scored half in batches of up to tfm_context_max_batch(ctx) tokens with all their logits (allocated per call:
   batch x vocab floats). The result does not depend on the thread count. progress may be NULL.
   Logits that are not finite (NaN weights) fail with TFM_ERR_FORMAT, never a perplexity of NaN: a
   context made with check_finite names the layer that made the first one. */
TFM_API tfm_status tfm_perplexity(tfm_context *ctx, const int *tokens, int n_tokens, int n_ctx, int bos,
                                  int max_chunks, tfm_perplexity_progress progress, void *user,
                                  tfm_perplexity_result *result, tfm_error *err);

/* ---------------------------------------------------------------- writing GGUF (tfm_gguf.h's writer) */

/* llama.cpp's general.file_type (llama_ftype) of a model whose matrices are mostly `type`: f32 0,
   f16 1, q4_0 2, q4_1 3, q8_0 7, q4_k 14 (Q4_K_S), q6_k 18, bf16 32. */
TFM_API uint32_t tfm_model_gguf_file_type(tfm_dtype type);
/* Adds the keys llama.cpp reads for a model of config c's family (c->arch, NULL: llama), as its
   converters write them (u32 hyperparameters): general.architecture, general.name (name; NULL: "tfm"),
   general.file_type of `type`, general.quantization_version 2, {arch}.context_length, embedding_length,
   feed_forward_length, attention.head_count(_kv), block_count, attention.key_length and value_length
   (where head_dim != dim / n_heads), rope.dimension_count and rope.freq_base (with RoPE), the norm
   epsilon, the expert counts (and width), and the family's own: soft-caps, sliding window, linear RoPE
   scaling, its attention factor and original context. */
TFM_API tfm_status tfm_model_gguf_add_config(tfm_gguf_writer *w, const tfm_model_config *c, const char *name,
                                             tfm_dtype type, tfm_error *err);
/* Tensor i (0, 1, ... until it returns 0) of a GGUF file of config c's family (c->arch) as llama.cpp's
   converter writes it: its name and shape ne (ne[0] = columns; ne[1] rows, 0 for a vector; ne[2]
   stacked experts, else 1): the embedding (and learned positions), the final norm (and its bias), then
   every tensor each layer of the family requires, fused matrices fused. Not listed: output.weight (a
   file may tie the classifier to the embedding) and RoPE factors, which a file may add. */
TFM_API int tfm_model_gguf_tensor(const tfm_model_config *c, int i, char *name, size_t cap, int64_t ne[3]);
/* Adds a SentencePiece ("llama") vocab of n_vocab tokens: tok's pieces, scores and types (a llama2.c
   tokenizer.bin's or another SentencePiece vocab's, whose size must be n_vocab) in GGUF's spelling (U+2581 for a space, <s> and </s>
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

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- checks shared by every loader */

/* v is a number >= 0 (NaN and infinities are not) */
static int tfm__model_nonneg(float v) { return v >= 0.0f && v <= FLT_MAX; }

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
    if (c->rope_dim < 0 || c->rope_dim > c->head_dim || (c->rope_dim & 1))
        return tfm_error_set(err, TFM_ERR_FORMAT, "rope_dim %d must be even and at most head_dim %d", c->rope_dim,
                             c->head_dim);
    if (!(c->rope_base > 0.0f) || !(c->norm_eps >= 0.0f) || (c->rope_mode != TFM_ROPE_NORMAL &&
                                                             c->rope_mode != TFM_ROPE_NEOX))
        return tfm_error_set(err, TFM_ERR_FORMAT, "bad rope base, rope mode or norm epsilon");
    if ((c->norm != TFM_NORM_RMS && c->norm != TFM_NORM_LAYER) ||
        (c->ffn != TFM_FFN_SWIGLU && c->ffn != TFM_FFN_GEGLU && c->ffn != TFM_FFN_GELU))
        return tfm_error_set(err, TFM_ERR_FORMAT, "unknown norm kind %d or feed-forward kind %d", (int)c->norm,
                             (int)c->ffn);
    if (!tfm__model_nonneg(c->embd_scale) || !tfm__model_nonneg(c->attn_scale) ||
        !tfm__model_nonneg(c->attn_softcap) || !tfm__model_nonneg(c->logit_softcap) ||
        !tfm__model_nonneg(c->rope_base_swa) || !tfm__model_nonneg(c->rope_freq_scale) ||
        !tfm__model_nonneg(c->rope_attn_factor))
        return tfm_error_set(err, TFM_ERR_FORMAT,
                             "embedding scale, attention scale, soft-caps and RoPE scalings must be finite and >= 0");
    if (c->sliding_window < 0 || c->swa_period < 0 || c->rope_orig_context < 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "sliding window %d, its period %d and rope_orig_context %d must be >= 0",
                             c->sliding_window, c->swa_period, c->rope_orig_context);
    if (c->n_experts < 0 || c->n_experts > limit || c->n_experts_used < 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "bad expert counts: %d experts, %d used per token", c->n_experts,
                             c->n_experts_used);
    if (c->n_experts == 0 && c->n_experts_used != 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "expert_used_count %d with no experts (expert_count 0)",
                             c->n_experts_used);
    if (c->n_experts > 0 && (c->n_experts_used < 1 || c->n_experts_used > c->n_experts))
        return tfm_error_set(err, TFM_ERR_FORMAT, "expert_used_count %d must be 1..expert_count (%d)",
                             c->n_experts_used, c->n_experts);
    if ((c->bidirectional != 0 && c->bidirectional != 1) || c->pooling < 0 || c->pooling > 3)
        return tfm_error_set(err, TFM_ERR_FORMAT, "bidirectional %d must be 0 or 1, pooling %d 0..3", c->bidirectional,
                             c->pooling);
    if (c->n_experts > 0 && (c->ffn != TFM_FFN_SWIGLU || (c->moe_gating != TFM_MOE_GATE_TOPK_SOFTMAX &&
                                                          c->moe_gating != TFM_MOE_GATE_SOFTMAX_TOPK)))
        return tfm_error_set(err, TFM_ERR_FORMAT, "experts are SwiGLU blocks with a known gating");
    return TFM_OK;
}

/* The block of every mixture-of-experts layer: the family's gating over k of E experts. */
static tfm_moe_config tfm__model_moe_config(const tfm_model_config *c)
{
    tfm_moe_config m = tfm_moe_config_make(c->dim, c->hidden_dim, c->n_experts, c->n_experts_used);
    m.gating = c->moe_gating;
    m.renormalize = c->moe_gating == TFM_MOE_GATE_TOPK_SOFTMAX || c->moe_renormalize;
    return m;
}

static tfm_moe_weights tfm__model_moe_weights(const tfm_layer *L)
{
    tfm_moe_weights w;
    memset(&w, 0, sizeof w);
    w.router = &L->ffn_gate_inp;
    w.gate_exps = &L->ffn_gate_exps.tensor;
    w.up_exps = &L->ffn_up_exps.tensor;
    w.down_exps = &L->ffn_down_exps.tensor;
    w.gate_packed = L->ffn_gate_exps.packed;
    w.up_packed = L->ffn_up_exps.packed;
    w.down_packed = L->ffn_down_exps.packed;
    return w;
}

/* Dimensions of a tensor, resolved against the config. */
enum { TFM__D_ONE, TFM__D_DIM, TFM__D_Q, TFM__D_KV, TFM__D_HIDDEN, TFM__D_VOCAB, TFM__D_EXPERTS, TFM__D_HEAD };

static int64_t tfm__model_dim(const tfm_model_config *c, int which)
{
    switch (which) {
    case TFM__D_DIM: return c->dim;
    case TFM__D_Q: return (int64_t)c->n_heads * c->head_dim;
    case TFM__D_KV: return (int64_t)c->n_kv_heads * c->head_dim;
    case TFM__D_HIDDEN: return c->hidden_dim;
    case TFM__D_VOCAB: return c->vocab_size;
    case TFM__D_EXPERTS: return c->n_experts;
    case TFM__D_HEAD: return c->head_dim;
    default: return 1;
    }
}

/* What a family's layers hold, a bit each (tfm__arch says which a family requires or allows). */
enum {
    TFM__F_BASE = 1 << 0,       /* attn_q, attn_k, attn_v, attn_output, ffn_up, ffn_down (or the experts) */
    TFM__F_PRE_NORMS = 1 << 1,  /* attn_norm, ffn_norm: each block's input normalised */
    TFM__F_GATE = 1 << 2,       /* ffn_gate: a gated feed-forward block */
    TFM__F_NORM_BIAS = 1 << 3,  /* LayerNorm biases: attn_norm, ffn_norm, output_norm */
    TFM__F_QKV_BIAS = 1 << 4,   /* attn_q, attn_k, attn_v biases (or attn_qkv's) */
    TFM__F_OUT_BIAS = 1 << 5,   /* attn_output bias */
    TFM__F_FFN_BIAS = 1 << 6,   /* ffn_up and ffn_down biases */
    TFM__F_QK_NORM = 1 << 7,    /* attn_q_norm, attn_k_norm */
    TFM__F_POST_NORMS = 1 << 8, /* post_attention_norm, post_ffw_norm */
    TFM__F_FUSED_QKV = 1 << 9,  /* attn_qkv: rows q | k | v (bias likewise) instead of attn_q, attn_k, attn_v */
    TFM__F_FUSED_UP = 1 << 10,  /* ffn_up: 2 hidden_dim rows, gate | up, instead of ffn_gate and ffn_up */
    TFM__F_POS_EMBD = 1 << 11,  /* position_embd: learned positions */
    TFM__F_RES_NORMS = 1 << 12, /* attn_output_norm, layer_output_norm with biases: post-norm (BERT) */
    TFM__F_TOKEN_TYPES = 1 << 13 /* token_types and token_embd_norm with bias: the embedding's (BERT) */
};

/* Which layers have a tensor: every layer, dense layers only, mixture-of-experts layers only. */
enum { TFM__FFN_ANY, TFM__FFN_DENSE, TFM__FFN_MOE };

/* A layer's tensor: its GGUF name after blk.N., where it goes, its shape {cols, rows, depth} in config
   dimensions (rows TFM__D_ONE: an f32 vector), the feature that brings it, which layers have it. */
typedef struct tfm__layer_tensor {
    const char *name;
    size_t offset;
    int cols, rows, depth, feature, ffn;
} tfm__layer_tensor;

#define TFM__LT(name, field, cols, rows, depth, feature, ffn) \
    {name, offsetof(tfm_layer, field), TFM__D_##cols, TFM__D_##rows, TFM__D_##depth, TFM__F_##feature, TFM__FFN_##ffn}

static const tfm__layer_tensor tfm__layer_tensors[] = {
    TFM__LT("attn_norm.weight", attn_norm, DIM, ONE, ONE, PRE_NORMS, ANY),
    TFM__LT("attn_norm.bias", attn_norm_b, DIM, ONE, ONE, NORM_BIAS, ANY),
    TFM__LT("attn_q.weight", wq.tensor, DIM, Q, ONE, BASE, ANY),
    TFM__LT("attn_k.weight", wk.tensor, DIM, KV, ONE, BASE, ANY),
    TFM__LT("attn_v.weight", wv.tensor, DIM, KV, ONE, BASE, ANY),
    TFM__LT("attn_q.bias", bq, Q, ONE, ONE, QKV_BIAS, ANY),
    TFM__LT("attn_k.bias", bk, KV, ONE, ONE, QKV_BIAS, ANY),
    TFM__LT("attn_v.bias", bv, KV, ONE, ONE, QKV_BIAS, ANY),
    TFM__LT("attn_q_norm.weight", q_norm, HEAD, ONE, ONE, QK_NORM, ANY),
    TFM__LT("attn_k_norm.weight", k_norm, HEAD, ONE, ONE, QK_NORM, ANY),
    TFM__LT("attn_output.weight", wo.tensor, Q, DIM, ONE, BASE, ANY),
    TFM__LT("attn_output.bias", bo, DIM, ONE, ONE, OUT_BIAS, ANY),
    TFM__LT("post_attention_norm.weight", attn_post_norm, DIM, ONE, ONE, POST_NORMS, ANY),
    TFM__LT("ffn_norm.weight", ffn_norm, DIM, ONE, ONE, PRE_NORMS, ANY),
    TFM__LT("ffn_norm.bias", ffn_norm_b, DIM, ONE, ONE, NORM_BIAS, ANY),
    TFM__LT("ffn_gate.weight", ffn_gate.tensor, DIM, HIDDEN, ONE, GATE, DENSE),
    TFM__LT("ffn_up.weight", ffn_up.tensor, DIM, HIDDEN, ONE, BASE, DENSE),
    TFM__LT("ffn_down.weight", ffn_down.tensor, HIDDEN, DIM, ONE, BASE, DENSE),
    TFM__LT("ffn_up.bias", ffn_up_b, HIDDEN, ONE, ONE, FFN_BIAS, DENSE),
    TFM__LT("ffn_down.bias", ffn_down_b, DIM, ONE, ONE, FFN_BIAS, DENSE),
    TFM__LT("post_ffw_norm.weight", ffn_post_norm, DIM, ONE, ONE, POST_NORMS, ANY),
    TFM__LT("attn_output_norm.weight", attn_out_norm, DIM, ONE, ONE, RES_NORMS, ANY),
    TFM__LT("attn_output_norm.bias", attn_out_norm_b, DIM, ONE, ONE, RES_NORMS, ANY),
    TFM__LT("layer_output_norm.weight", ffn_out_norm, DIM, ONE, ONE, RES_NORMS, ANY),
    TFM__LT("layer_output_norm.bias", ffn_out_norm_b, DIM, ONE, ONE, RES_NORMS, ANY),
    TFM__LT("ffn_gate_inp.weight", ffn_gate_inp, DIM, EXPERTS, ONE, BASE, MOE),
    TFM__LT("ffn_gate_exps.weight", ffn_gate_exps.tensor, DIM, HIDDEN, EXPERTS, BASE, MOE),
    TFM__LT("ffn_up_exps.weight", ffn_up_exps.tensor, DIM, HIDDEN, EXPERTS, BASE, MOE),
    TFM__LT("ffn_down_exps.weight", ffn_down_exps.tensor, HIDDEN, DIM, EXPERTS, BASE, MOE),
};
#undef TFM__LT

#define TFM__N_LAYER_TENSORS (sizeof tfm__layer_tensors / sizeof tfm__layer_tensors[0])

static tfm_tensor *tfm__layer_tensor_at(tfm_layer *L, const tfm__layer_tensor *t)
{
    return (tfm_tensor *)(void *)((char *)L + t->offset);
}

/* Whether layers of config c have table entry t at all. */
static int tfm__layer_has(const tfm_model_config *c, const tfm__layer_tensor *t)
{
    return t->ffn == TFM__FFN_ANY || t->ffn == (c->n_experts > 0 ? TFM__FFN_MOE : TFM__FFN_DENSE);
}

enum { TFM__NORM, TFM__MATRIX, TFM__EMBEDDING };

/* A weight the forward pass reads: the shape it expects, a dtype its kind handles (norms and biases
   f32; matrices whatever tfm_quant_gemv multiplies; the embedding whatever tfm_dequantize_row reads),
   data present. rows 0: a vector; rows < 0: any number of rows. */
static tfm_status tfm__model_check_tensor(const tfm_tensor *t, const char *name, int64_t cols, int64_t rows, int kind,
                                          tfm_error *err)
{
    int dtype_ok = kind == TFM__NORM     ? t->dtype == TFM_F32
                   : kind == TFM__MATRIX ? tfm_quant_vec_dot_type(t->dtype) != TFM_DTYPE_COUNT
                                         : tfm_quant_supported(t->dtype);
    int64_t want_rows = rows > 0 ? rows : rows == 0 ? 1 : t->ne[1];
    if (!t->data || t->ne[0] != cols || t->ne[1] != want_rows || want_rows < 1 || t->ne[2] != 1 || t->ne[3] != 1)
        return tfm_error_set(err, TFM_ERR_FORMAT, "tensor %s has the wrong shape (want [%lld][%lld])", name,
                             (long long)want_rows, (long long)cols);
    if (!dtype_ok)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "tensor %s has dtype %s, not supported here", name,
                             tfm_dtype_name(t->dtype) ? tfm_dtype_name(t->dtype) : "?");
    return TFM_OK;
}

/* A layer's weights: every tensor the config needs present, every tensor present of the right shape;
   the router and experts through tfm_moe_validate. */
static tfm_status tfm__model_check_layer(const tfm_model_config *c, const tfm_layer *L, int layer, tfm_error *err)
{
    char name[TFM_GGUF_MAX_NAME + 1];
    tfm_status s = TFM_OK;
    size_t i;
    for (i = 0; i < TFM__N_LAYER_TENSORS && s == TFM_OK; i++) {
        const tfm__layer_tensor *e = &tfm__layer_tensors[i];
        const tfm_tensor *t = tfm__layer_tensor_at((tfm_layer *)(uintptr_t)L, e);
        int needed = e->feature == TFM__F_BASE || (e->feature == TFM__F_GATE && c->ffn != TFM_FFN_GELU);
        if (!tfm__layer_has(c, e) || e->ffn == TFM__FFN_MOE) continue;
        snprintf(name, sizeof name, "blk.%d.%s", layer, e->name);
        if (!t->data && needed) s = tfm_error_set(err, TFM_ERR_FORMAT, "tensor %s is missing", name);
        else if (t->data)
            s = tfm__model_check_tensor(t, name, tfm__model_dim(c, e->cols), e->rows == TFM__D_ONE ? 0 : tfm__model_dim(c, e->rows),
                                        e->rows == TFM__D_ONE ? TFM__NORM : TFM__MATRIX, err);
    }
    if (s == TFM_OK && c->n_experts > 0) {
        tfm_moe_config cfg = tfm__model_moe_config(c);
        tfm_moe_weights w = tfm__model_moe_weights(L);
        tfm_error e;
        s = tfm_moe_validate(&cfg, &w, &e);
        /* the block says which of its tensors; the model says which layer */
        if (s != TFM_OK) s = tfm_error_set(err, s, "layer %d: %s", layer, e.message);
    }
    return s;
}

/* An optional f32 vector of the model: absent, or `count` values. */
static tfm_status tfm__model_check_vector(const tfm_tensor *t, const char *name, int64_t count, tfm_error *err)
{
    return t->data ? tfm__model_check_tensor(t, name, count, 0, TFM__NORM, err) : TFM_OK;
}

tfm_status tfm_model_check(const tfm_model *m, tfm_error *err)
{
    const tfm_model_config *c;
    tfm_status s;
    int l;
    if (!m || !m->layers) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no model or no layers");
    c = &m->config;
    s = tfm__model_check_config(c, err);
    if (s != TFM_OK) return s;
    s = tfm__model_check_tensor(&m->token_embd, "token_embd", c->dim, c->vocab_size, TFM__EMBEDDING, err);
    if (s == TFM_OK && m->pos_embd.data)
        s = tfm__model_check_tensor(&m->pos_embd, "position_embd", c->dim, -1, TFM__EMBEDDING, err);
    if (s == TFM_OK && m->token_types.data)
        s = tfm__model_check_tensor(&m->token_types, "token_types", c->dim, -1, TFM__EMBEDDING, err);
    if (s == TFM_OK) s = tfm__model_check_vector(&m->embd_norm, "token_embd_norm", c->dim, err);
    if (s == TFM_OK) s = tfm__model_check_vector(&m->embd_norm_b, "token_embd_norm.bias", c->dim, err);
    if (s == TFM_OK && c->rope_dim == 0 && (m->rope_freqs.data || m->rope_factors_short.data || m->rope_factors_long.data))
        s = tfm_error_set(err, TFM_ERR_FORMAT, "RoPE frequency factors in a model without RoPE (rope_dim 0)");
    if (s == TFM_OK) s = tfm__model_check_vector(&m->rope_freqs, "rope_freqs", c->rope_dim / 2, err);
    if (s == TFM_OK) s = tfm__model_check_vector(&m->rope_factors_short, "rope_factors_short", c->rope_dim / 2, err);
    if (s == TFM_OK) s = tfm__model_check_vector(&m->rope_factors_long, "rope_factors_long", c->rope_dim / 2, err);
    if (s == TFM_OK) s = tfm__model_check_vector(&m->output_norm, "output_norm", c->dim, err);
    if (s == TFM_OK) s = tfm__model_check_vector(&m->output_norm_b, "output_norm.bias", c->dim, err);
    if (s == TFM_OK && !c->bidirectional)
        s = tfm__model_check_tensor(&m->output.tensor, "output", c->dim, c->vocab_size, TFM__MATRIX, err);
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) s = tfm__model_check_layer(c, &m->layers[l], l, err);
    return s;
}

/* A view of rows x cols f32 values (rows 0: a vector); shapes were bounded by the config check. */
static int tfm__model_view_f32(tfm_tensor *t, const float *data, int64_t cols, int64_t rows)
{
    int64_t ne[2];
    ne[0] = cols;
    ne[1] = rows;
    return tfm_tensor_init(t, TFM_F32, rows > 0 ? 2 : 1, ne, (void *)(uintptr_t)data) == TFM_OK;
}

/* Rows [first, first + count) of matrix t, or elements of vector t (rows 0), as a view of their own: how
   a fused matrix (and its bias) becomes the matrices it holds. The caller checked the bounds. */
static tfm_tensor tfm__model_slice(const tfm_tensor *t, int64_t first, int64_t count, int rows)
{
    tfm_tensor v;
    int64_t ne[2];
    size_t step = rows ? t->nb[1] : t->nb[0] / tfm_dtype_block_size(t->dtype);
    ne[0] = rows ? t->ne[0] : count;
    ne[1] = count;
    memset(&v, 0, sizeof v);
    if (tfm_tensor_init(&v, t->dtype, rows ? 2 : 1, ne, (unsigned char *)t->data + (size_t)first * step) != TFM_OK)
        v.data = NULL; /* a vector of a block type cut off a block: left absent, reported as missing */
    return v;
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
    int i, shared, l, views;
    tfm_status s;
    const uint16_t endian_probe = 1;

    if (*(const unsigned char *)&endian_probe != 1)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "llama2.c files are little-endian; this machine is not");
    if (size < 28) return tfm_error_set(err, TFM_ERR_FORMAT, "file too short for a llama2.c header (%zu bytes)", size);
    for (i = 0; i < 7; i++) header[i] = tfm__read_le32(data + 4 * i);

    memset(c, 0, sizeof *c);
    c->arch = "llama";
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
    memset(m->layers, 0, sizeof(tfm_layer) * (size_t)c->n_layers); /* no expert tensors */
    views = tfm__model_view_f32(&m->token_embd, embd, c->dim, c->vocab_size) &
            tfm__model_view_f32(&m->output_norm, final_norm, c->dim, 0) &
            tfm__model_view_f32(&m->output.tensor, wcls, c->dim, c->vocab_size);
    for (l = 0; l < c->n_layers; l++) {
        tfm_layer *L = &m->layers[l];
        uint64_t u = (uint64_t)l;
        views &= tfm__model_view_f32(&L->attn_norm, attn_norm + u * dim, c->dim, 0) &
                 tfm__model_view_f32(&L->wq.tensor, wq + u * q_dim * dim, c->dim, (int64_t)q_dim) &
                 tfm__model_view_f32(&L->wk.tensor, wk + u * kv_dim * dim, c->dim, (int64_t)kv_dim) &
                 tfm__model_view_f32(&L->wv.tensor, wv + u * kv_dim * dim, c->dim, (int64_t)kv_dim) &
                 tfm__model_view_f32(&L->wo.tensor, wo + u * dim * q_dim, (int64_t)q_dim, c->dim) &
                 tfm__model_view_f32(&L->ffn_norm, ffn_norm + u * dim, c->dim, 0) &
                 tfm__model_view_f32(&L->ffn_gate.tensor, w1 + u * hidden * dim, c->dim, c->hidden_dim) &
                 tfm__model_view_f32(&L->ffn_down.tensor, w2 + u * dim * hidden, c->hidden_dim, c->dim) &
                 tfm__model_view_f32(&L->ffn_up.tensor, w3 + u * hidden * dim, c->dim, c->hidden_dim);
    }
    if (!views) return tfm_error_set(err, TFM_ERR_FORMAT, "a weight of the llama2.c file has no valid shape");
    return tfm_model_check(m, err);
}

/* ---------------------------------------------------------------- GGUF: the families */

/* What a decoder family is, as data: one row per GGUF general.architecture. The loader reads its
   {arch}.* keys and tensors by it and fills the config the forward pass reads; a new family is a row
   here (and whatever it truly adds), never a forward pass of its own. */
typedef struct tfm__arch {
    const char *name;
    tfm_norm_kind norm;
    tfm_ffn_kind ffn;
    int rope_mode;          /* TFM_ROPE_NORMAL or TFM_ROPE_NEOX; -1: learned positions, no RoPE */
    unsigned required;      /* TFM__F_* every layer has */
    unsigned optional;      /* TFM__F_* a file may have (a fused attn_qkv in place of attn_q, _k, _v) */
    int experts;            /* 0: dense; 1: experts where {arch}.expert_count > 0; 2: experts always */
    tfm_moe_gating gating;
    int renormalize;
    int embd_scale;         /* 1: the embedding times sqrt(dim) */
    int softcaps;           /* 1: {arch}.attn_logit_softcapping and final_logit_softcapping (absent: 50, 30) */
    int swa_period;         /* -1: no sliding window; else tfm_model_config.swa_period, the window from
                               {arch}.attention.sliding_window */
    int swa_default;        /* the window when that key is absent; 0: the key is required */
    float rope_base_swa;    /* tfm_model_config.rope_base_swa */
    int wide_scale_layers;  /* a model of this many layers scales scores by 1/sqrt(dim / n_heads), not
                               1/sqrt(head_dim) (llama.cpp tells Gemma's 27B by its depth) */
    int encoder;            /* 1: bidirectional unless {arch}.attention.causal says otherwise; no classifier */
} tfm__arch;

#define TFM__F_DECODER (TFM__F_BASE | TFM__F_PRE_NORMS)

static const tfm__arch tfm__archs[] = {
    /* name       norm            ffn             rope            required                                  optional */
    {"llama", TFM_NORM_RMS, TFM_FFN_SWIGLU, TFM_ROPE_NORMAL, TFM__F_DECODER | TFM__F_GATE, 0,
     1, TFM_MOE_GATE_TOPK_SOFTMAX, 1, 0, 0, -1, 0, 0.0f, 0, 0},
    {"qwen2", TFM_NORM_RMS, TFM_FFN_SWIGLU, TFM_ROPE_NEOX, TFM__F_DECODER | TFM__F_GATE | TFM__F_QKV_BIAS, 0,
     0, TFM_MOE_GATE_TOPK_SOFTMAX, 0, 0, 0, -1, 0, 0.0f, 0, 0},
    {"qwen3", TFM_NORM_RMS, TFM_FFN_SWIGLU, TFM_ROPE_NEOX, TFM__F_DECODER | TFM__F_GATE | TFM__F_QK_NORM, 0,
     0, TFM_MOE_GATE_TOPK_SOFTMAX, 0, 0, 0, -1, 0, 0.0f, 0, 0},
    {"qwen3moe", TFM_NORM_RMS, TFM_FFN_SWIGLU, TFM_ROPE_NEOX, TFM__F_DECODER | TFM__F_QK_NORM, 0,
     2, TFM_MOE_GATE_SOFTMAX_TOPK, 1, 0, 0, -1, 0, 0.0f, 0, 0},
    {"gemma2", TFM_NORM_RMS, TFM_FFN_GEGLU, TFM_ROPE_NEOX, TFM__F_DECODER | TFM__F_GATE | TFM__F_POST_NORMS, 0,
     0, TFM_MOE_GATE_TOPK_SOFTMAX, 0, 1, 1, 2, 4096, 0.0f, 46, 0},
    {"gemma3", TFM_NORM_RMS, TFM_FFN_GEGLU, TFM_ROPE_NEOX,
     TFM__F_DECODER | TFM__F_GATE | TFM__F_POST_NORMS | TFM__F_QK_NORM, 0,
     0, TFM_MOE_GATE_TOPK_SOFTMAX, 0, 1, 0, 6, 0, 10000.0f, 62, 0},
    {"phi3", TFM_NORM_RMS, TFM_FFN_SWIGLU, TFM_ROPE_NEOX, TFM__F_DECODER | TFM__F_GATE | TFM__F_FUSED_UP,
     TFM__F_FUSED_QKV, 0, TFM_MOE_GATE_TOPK_SOFTMAX, 0, 0, 0, 0, 0, 0.0f, 0, 0},
    {"gpt2", TFM_NORM_LAYER, TFM_FFN_GELU, -1,
     TFM__F_DECODER | TFM__F_NORM_BIAS | TFM__F_QKV_BIAS | TFM__F_OUT_BIAS | TFM__F_FFN_BIAS | TFM__F_FUSED_QKV |
         TFM__F_POS_EMBD, 0, 0, TFM_MOE_GATE_TOPK_SOFTMAX, 0, 0, 0, -1, 0, 0.0f, 0, 0},
    /* the encoder: post-norm blocks (no input norms), the embedding sum normalised, no final norm */
    {"bert", TFM_NORM_LAYER, TFM_FFN_GELU, -1,
     TFM__F_BASE | TFM__F_QKV_BIAS | TFM__F_OUT_BIAS | TFM__F_FFN_BIAS | TFM__F_RES_NORMS | TFM__F_POS_EMBD |
         TFM__F_TOKEN_TYPES, 0, 0, TFM_MOE_GATE_TOPK_SOFTMAX, 0, 0, 0, -1, 0, 0.0f, 0, 1},
    /* nomic-embed: BERT's post-norm encoder with RoPE (NeoX halves) for positions, a fused attn_qkv, a
       SwiGLU feed-forward block and no biases in the blocks */
    {"nomic-bert", TFM_NORM_LAYER, TFM_FFN_SWIGLU, TFM_ROPE_NEOX,
     TFM__F_BASE | TFM__F_GATE | TFM__F_FUSED_QKV | TFM__F_RES_NORMS | TFM__F_TOKEN_TYPES, 0, 0,
     TFM_MOE_GATE_TOPK_SOFTMAX, 0, 0, 0, -1, 0, 0.0f, 0, 1},
};

#define TFM__N_ARCHS (sizeof tfm__archs / sizeof tfm__archs[0])

static const tfm__arch *tfm__model_arch(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < TFM__N_ARCHS; i++)
        if (strlen(tfm__archs[i].name) == len && memcmp(tfm__archs[i].name, name, len) == 0) return &tfm__archs[i];
    return NULL;
}

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

/* `<arch>.<name>` as a float: required, or fallback when absent; positive: it must be a number > 0. */
static tfm_status tfm__model_gguf_float(const tfm_gguf *g, const char *arch, const char *name, int required,
                                        float fallback, int positive, float *out, tfm_error *err)
{
    char key[96];
    tfm_status s;
    snprintf(key, sizeof key, "%s.%s", arch, name);
    if (!required && tfm_gguf_find_key(g, key) < 0) {
        *out = fallback;
        return TFM_OK;
    }
    s = tfm_gguf_get_f32(g, key, out, err);
    if (s == TFM_OK && positive && !(*out > 0.0f && *out <= FLT_MAX))
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s = %g must be a positive number", key, (double)*out);
    return s;
}

/* RoPE scaling, as llama.cpp reads it: {arch}.rope.scaling.type (absent: linear) with
   rope.scaling.factor (or the older rope.scale_linear; absent or 0: none), attn_factor and
   original_context_length. Only none and linear change angles here; the others are refused. */
static tfm_status tfm__model_gguf_rope_scaling(const tfm_gguf *g, const char *arch, tfm_model_config *c, tfm_error *err)
{
    char key[96];
    const char *type = "linear";
    size_t type_len = 6;
    float factor = 0.0f;
    tfm_status s = TFM_OK;
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (tfm_gguf_find_key(g, key) >= 0 && (s = tfm_gguf_get_string(g, key, &type, &type_len, err)) != TFM_OK) return s;
    if (!(type_len == 4 && memcmp(type, "none", 4) == 0) && !(type_len == 6 && memcmp(type, "linear", 6) == 0))
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "RoPE scaling '%.*s' (%s) is not supported (none, linear)",
                             (int)(type_len < 32 ? type_len : 32), type, key);
    snprintf(key, sizeof key, "%s.rope.scaling.factor", arch);
    s = tfm__model_gguf_float(g, arch, tfm_gguf_find_key(g, key) >= 0 ? "rope.scaling.factor" : "rope.scale_linear", 0,
                              0.0f, 0, &factor, err);
    if (s == TFM_OK && !tfm__model_nonneg(factor))
        s = tfm_error_set(err, TFM_ERR_FORMAT, "%s.rope.scaling.factor = %g must be >= 0", arch, (double)factor);
    if (s == TFM_OK && type_len == 6 && factor > 0.0f) c->rope_freq_scale = 1.0f / factor;
    if (s == TFM_OK) s = tfm__model_gguf_float(g, arch, "rope.scaling.attn_factor", 0, 0.0f, 1, &c->rope_attn_factor, err);
    if (s == TFM_OK)
        s = tfm__model_gguf_int(g, arch, "rope.scaling.original_context_length", c->context_length,
                                &c->rope_orig_context, err);
    return s;
}

/* The config from the `<arch>.*` keys, with llama.cpp's defaults: head_count_kv = head_count, head dim
   = embedding_length / head_count (attention.key_length overrides), rope.dimension_count = head dim,
   rope.freq_base = 10000. embedding_length, block_count, feed_forward_length, attention.head_count,
   context_length and the norm epsilon (attention.layer_norm_rms_epsilon, or layer_norm_epsilon for a
   LayerNorm family) are required, as llama.cpp requires them; then the family's own keys. */
static tfm_status tfm__model_gguf_config(const tfm_gguf *g, const tfm__arch *a, tfm_model_config *c, tfm_error *err)
{
    const char *arch = a->name;
    char key[96];
    int value_length;
    tfm_status s;
    memset(c, 0, sizeof *c);
    c->arch = a->name;
    c->norm = a->norm;
    c->ffn = a->ffn;
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
    if (s == TFM_OK && a->rope_mode >= 0) {
        c->rope_mode = (tfm_rope_mode)a->rope_mode;
        s = tfm__model_gguf_int(g, arch, "rope.dimension_count", c->head_dim, &c->rope_dim, err);
        if (s == TFM_OK) s = tfm__model_gguf_float(g, arch, "rope.freq_base", 0, 10000.0f, 1, &c->rope_base, err);
        if (s == TFM_OK) s = tfm__model_gguf_rope_scaling(g, arch, c, err);
    } else {
        c->rope_base = 10000.0f; /* unused: positions are learned */
    }
    if (s == TFM_OK)
        s = tfm__model_gguf_float(g, arch,
                                  a->norm == TFM_NORM_LAYER ? "attention.layer_norm_epsilon"
                                                            : "attention.layer_norm_rms_epsilon",
                                  1, 0, 0, &c->norm_eps, err);
    if (s == TFM_OK && a->experts) s = tfm__model_gguf_int(g, arch, "expert_count", 0, &c->n_experts, err);
    if (s == TFM_OK && a->experts) s = tfm__model_gguf_int(g, arch, "expert_used_count", 0, &c->n_experts_used, err);
    if (s != TFM_OK) return s;
    if (a->experts == 2 && c->n_experts == 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s needs experts (%s.expert_count > 0)", arch, arch);
    if (c->n_experts == 0 && c->n_experts_used != 0)
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s.expert_used_count %d with no experts (%s.expert_count 0)", arch,
                             c->n_experts_used, arch);
    if (c->n_experts > 0 && (c->n_experts_used < 1 || c->n_experts_used > c->n_experts))
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s.expert_used_count %d must be 1..%s.expert_count (%d)", arch,
                             c->n_experts_used, arch, c->n_experts);
    if (c->n_experts > 0) {
        /* each expert's width: expert_feed_forward_length where the family writes it (llama.cpp's default
           for a file without it: feed_forward_length / expert_used_count) */
        snprintf(key, sizeof key, "%s.expert_feed_forward_length", arch);
        if (a->experts == 2)
            s = tfm__model_gguf_int(g, arch, "expert_feed_forward_length", c->hidden_dim / c->n_experts_used,
                                    &c->hidden_dim, err);
        c->moe_gating = a->gating;
        c->moe_renormalize = a->renormalize;
    }
    if (a->embd_scale) c->embd_scale = sqrtf((float)c->dim);
    if (a->wide_scale_layers && c->n_layers == a->wide_scale_layers && c->n_heads > 0)
        c->attn_scale = 1.0f / sqrtf((float)(c->dim / c->n_heads));
    if (s == TFM_OK && a->softcaps)
        s = tfm__model_gguf_float(g, arch, "attn_logit_softcapping", 0, 50.0f, 1, &c->attn_softcap, err);
    if (s == TFM_OK && a->softcaps)
        s = tfm__model_gguf_float(g, arch, "final_logit_softcapping", 0, 30.0f, 1, &c->logit_softcap, err);
    if (s == TFM_OK && a->swa_period >= 0) {
        /* Phi-3 files older than the key: llama.cpp's window for the 4K-context models */
        int fallback = a->swa_default ? a->swa_default : a->swa_period == 0 ? (c->context_length == 4096 ? 2047 : 0) : -1;
        c->swa_period = a->swa_period;
        c->rope_base_swa = a->rope_base_swa;
        s = tfm__model_gguf_int(g, arch, "attention.sliding_window", fallback, &c->sliding_window, err);
    }
    snprintf(key, sizeof key, "%s.attention.causal", arch);
    if (s == TFM_OK && a->encoder) {
        int causal = 0;
        if (tfm_gguf_find_key(g, key) >= 0) s = tfm_gguf_get_bool(g, key, &causal, err);
        c->bidirectional = !causal;
    }
    if (s == TFM_OK) s = tfm__model_gguf_int(g, arch, "pooling_type", 0, &c->pooling, err);
    if (s == TFM_OK && c->pooling > 3)
        s = tfm_error_set(err, TFM_ERR_UNSUPPORTED, "%s.pooling_type %d is not supported (0 none, 1 mean, 2 cls, 3 last)",
                          arch, c->pooling);
    return s;
}

/* A special token id key into *out (left alone when the key is absent); llama.cpp writes "none" as
   0xFFFFFFFF. */
static tfm_status tfm__model_gguf_token_id(const tfm_gguf *g, const char *key, uint64_t n_vocab, int *out, tfm_error *err)
{
    uint32_t v;
    tfm_status s;
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

/* The GGUF keys of the special tokens, in llama.cpp's order (the deprecated FIM keys last, so that
   they win when both are present). */
static const struct {
    tfm_special role;
    const char *key;
} tfm__model_gguf_special_keys[] = {
    {TFM_SPECIAL_BOS, "tokenizer.ggml.bos_token_id"},       {TFM_SPECIAL_EOS, "tokenizer.ggml.eos_token_id"},
    {TFM_SPECIAL_EOT, "tokenizer.ggml.eot_token_id"},       {TFM_SPECIAL_EOM, "tokenizer.ggml.eom_token_id"},
    {TFM_SPECIAL_UNK, "tokenizer.ggml.unknown_token_id"},   {TFM_SPECIAL_SEP, "tokenizer.ggml.seperator_token_id"},
    {TFM_SPECIAL_PAD, "tokenizer.ggml.padding_token_id"},   {TFM_SPECIAL_MASK, "tokenizer.ggml.mask_token_id"},
    {TFM_SPECIAL_FIM_PRE, "tokenizer.ggml.fim_pre_token_id"}, {TFM_SPECIAL_FIM_SUF, "tokenizer.ggml.fim_suf_token_id"},
    {TFM_SPECIAL_FIM_MID, "tokenizer.ggml.fim_mid_token_id"}, {TFM_SPECIAL_FIM_PAD, "tokenizer.ggml.fim_pad_token_id"},
    {TFM_SPECIAL_FIM_REP, "tokenizer.ggml.fim_rep_token_id"}, {TFM_SPECIAL_FIM_SEP, "tokenizer.ggml.fim_sep_token_id"},
    {TFM_SPECIAL_FIM_PRE, "tokenizer.ggml.prefix_token_id"}, {TFM_SPECIAL_FIM_SUF, "tokenizer.ggml.suffix_token_id"},
    {TFM_SPECIAL_FIM_MID, "tokenizer.ggml.middle_token_id"},
};

/* An optional bool key into *out (left alone when absent). */
static tfm_status tfm__model_gguf_flag(const tfm_gguf *g, const char *key, int *out, tfm_error *err)
{
    return tfm_gguf_find_key(g, key) < 0 ? TFM_OK : tfm_gguf_get_bool(g, key, out, err);
}

/* A string key (absent: fallback, NULL: required) copied into buf, cut to cap - 1 bytes (names that long
   are refused later by name). */
static tfm_status tfm__model_gguf_short_string(const tfm_gguf *g, const char *key, const char *fallback, char *buf,
                                               size_t cap, tfm_error *err)
{
    const char *str;
    size_t len;
    tfm_status s;
    if (fallback && tfm_gguf_find_key(g, key) < 0) {
        snprintf(buf, cap, "%s", fallback);
        return TFM_OK;
    }
    if ((s = tfm_gguf_get_string(g, key, &str, &len, err)) != TFM_OK) return s;
    if (len >= cap) len = cap - 1;
    memcpy(buf, str, len);
    buf[len] = '\0';
    return TFM_OK;
}

/* The strings of an array key into new arrays *strs / *lens of *count entries. */
static tfm_status tfm__model_gguf_strings(const tfm_gguf *g, const char *key, uint64_t max, const char ***strs,
                                          size_t **lens, uint64_t *count, tfm_error *err)
{
    tfm_gguf_type elem;
    uint64_t n, i;
    tfm_status s = tfm_gguf_get_array(g, key, &elem, &n, err);
    *strs = NULL;
    *lens = NULL;
    *count = 0;
    if (s != TFM_OK) return s;
    if (elem != TFM_GGUF_STRING || n > max)
        return tfm_error_set(err, TFM_ERR_FORMAT, "%s must be at most %llu strings", key, (unsigned long long)max);
    /* n is bounded by the file (the reader checked every string), so these allocations are too */
    *strs = (const char **)TFM_MALLOC(sizeof(char *) * (size_t)(n ? n : 1));
    *lens = (size_t *)TFM_MALLOC(sizeof(size_t) * (size_t)(n ? n : 1));
    if (!*strs || !*lens) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for %s", key);
    for (i = 0; i < n && s == TFM_OK; i++) s = tfm_gguf_get_array_string(g, key, i, &(*strs)[i], &(*lens)[i], err);
    *count = n;
    return s;
}

/* The vocab `tokenizer.ggml.*` into *out; no tokens key: no tokenizer (NULL). The keys llama.cpp reads
   (b4747, llama-vocab.cpp): model, pre, tokens, scores, token_type, merges, the special ids,
   add_bos_token, add_eos_token, add_space_prefix; cls_token_id is a WordPiece vocab's BOS when it has
   no bos_token_id (llama.cpp b4747 does not read it and keeps 101); general.name containing "phi-3"
   or "phi3" strips the whitespace after special tokens, as llama.cpp does. */
static tfm_status tfm__model_gguf_tokenizer(const tfm_gguf *g, tfm_tokenizer **out, tfm_error *err)
{
    char model[32], pre[64], name[128];
    const char **pieces = NULL, **merges = NULL;
    size_t *lengths = NULL, *merge_lengths = NULL, k;
    float *scores = NULL;
    int32_t *types = NULL;
    uint64_t n = 0, n_merges = 0;
    tfm_vocab v;
    tfm_status s;
    *out = NULL;
    if (tfm_gguf_find_key(g, "tokenizer.ggml.tokens") < 0) return TFM_OK;
    tfm_vocab_init(&v);
    s = tfm__model_gguf_short_string(g, "tokenizer.ggml.model", NULL, model, sizeof model, err);
    if (s == TFM_OK) s = tfm__model_gguf_short_string(g, "tokenizer.ggml.pre", "default", pre, sizeof pre, err);
    if (s == TFM_OK)
        s = tfm__model_gguf_strings(g, "tokenizer.ggml.tokens", TFM_TOKENIZER_MAX_VOCAB, &pieces, &lengths, &n, err);
    if (s == TFM_OK && strcmp(model, "gpt2") == 0 && tfm_gguf_find_key(g, "tokenizer.ggml.merges") < 0)
        s = tfm_error_set(err, TFM_ERR_FORMAT, "a gpt2 vocab needs tokenizer.ggml.merges");
    if (s == TFM_OK && strcmp(model, "gpt2") == 0)
        s = tfm__model_gguf_strings(g, "tokenizer.ggml.merges", TFM_TOKENIZER_MAX_MERGES, &merges, &merge_lengths,
                                    &n_merges, err);
    if (s == TFM_OK && tfm_gguf_find_key(g, "tokenizer.ggml.scores") >= 0) {
        scores = (float *)TFM_MALLOC(sizeof(float) * (size_t)(n ? n : 1));
        s = scores ? tfm_gguf_get_array_f32(g, "tokenizer.ggml.scores", scores, n, err)
                   : tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (s == TFM_OK && tfm_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0) {
        types = (int32_t *)TFM_MALLOC(sizeof(int32_t) * (size_t)(n ? n : 1));
        s = types ? tfm_gguf_get_array_i32(g, "tokenizer.ggml.token_type", types, n, err)
                  : tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (k = 0; s == TFM_OK && k < sizeof tfm__model_gguf_special_keys / sizeof tfm__model_gguf_special_keys[0]; k++)
        s = tfm__model_gguf_token_id(g, tfm__model_gguf_special_keys[k].key, n,
                                     &v.special[tfm__model_gguf_special_keys[k].role], err);
    if (s == TFM_OK && strcmp(model, "bert") == 0 && v.special[TFM_SPECIAL_BOS] == TFM_VOCAB_DEFAULT)
        s = tfm__model_gguf_token_id(g, "tokenizer.ggml.cls_token_id", n, &v.special[TFM_SPECIAL_BOS], err);
    if (s == TFM_OK) s = tfm__model_gguf_flag(g, "tokenizer.ggml.add_bos_token", &v.add_bos, err);
    if (s == TFM_OK) s = tfm__model_gguf_flag(g, "tokenizer.ggml.add_eos_token", &v.add_eos, err);
    if (s == TFM_OK) s = tfm__model_gguf_flag(g, "tokenizer.ggml.add_space_prefix", &v.add_space_prefix, err);
    if (s == TFM_OK && tfm_gguf_find_key(g, "general.name") >= 0 &&
        tfm_gguf_get_string_buf(g, "general.name", name, sizeof name, NULL) == TFM_OK) {
        for (k = 0; name[k]; k++) name[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
        v.rstrip_specials = strstr(name, "phi-3") || strstr(name, "phi3");
    }
    if (s == TFM_OK) {
        v.model = model;
        v.pre = pre;
        v.n_tokens = (int)n;
        v.pieces = pieces;
        v.lengths = lengths;
        v.scores = scores;
        v.types = types;
        v.n_merges = (int)n_merges;
        v.merges = merges;
        v.merge_lengths = merge_lengths;
        s = tfm_tokenizer_create(out, &v, err);
    }
    if (s != TFM_OK && err) {
        char message[sizeof err->message];
        memcpy(message, err->message, sizeof message);
        tfm_error_set(err, s, "tokenizer: %s", message);
    }
    TFM_FREE(types);
    TFM_FREE(scores);
    TFM_FREE((void *)merges);
    TFM_FREE(merge_lengths);
    TFM_FREE((void *)pieces);
    TFM_FREE(lengths);
    return s;
}

tfm_status tfm_model_load_vocab(const char *path, tfm_tokenizer **out, tfm_error *err)
{
    tfm_gguf *g;
    tfm_status s;
    tfm_error_clear(err);
    if (!out || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no path or output tokenizer");
    *out = NULL;
    if ((s = tfm_gguf_open(&g, path, TFM_FILE_MAP_DEFAULT, err)) != TFM_OK) return s;
    s = tfm__model_gguf_tokenizer(g, out, err);
    if (s == TFM_OK && !*out) s = tfm_error_set(err, TFM_ERR_FORMAT, "%.200s has no vocab (tokenizer.ggml.tokens)", path);
    tfm_gguf_close(g);
    return s;
}

/* The tensor `name` into *out, its shape {cols, rows, depth} (ne[0] = cols; TFM__D_*) checked against the
   config. */
static tfm_status tfm__model_gguf_tensor(const tfm_gguf *g, const tfm_model_config *c, const char *name, int cols,
                                         int rows, int depth, tfm_tensor *out, tfm_error *err)
{
    int64_t want0 = tfm__model_dim(c, cols), want1 = tfm__model_dim(c, rows), want2 = tfm__model_dim(c, depth);
    tfm_status s = tfm_gguf_get_tensor(g, name, out, err);
    if (s != TFM_OK) return s;
    if (out->ne[0] != want0 || out->ne[1] != want1 || out->ne[2] != want2 || out->ne[3] != 1) {
        char want[80];
        if (depth == TFM__D_ONE) snprintf(want, sizeof want, "{%lld, %lld}", (long long)want0, (long long)want1);
        else snprintf(want, sizeof want, "{%lld, %lld, %lld}", (long long)want0, (long long)want1, (long long)want2);
        return tfm_error_set(err, TFM_ERR_FORMAT, "tensor '%s' has shape {%lld, %lld, %lld, %lld}, the hyperparameters want %s",
                             name, (long long)out->ne[0], (long long)out->ne[1], (long long)out->ne[2],
                             (long long)out->ne[3], want);
    }
    return TFM_OK;
}

/* An optional model tensor: loaded (and checked) when the file has it, else left absent. */
static tfm_status tfm__model_gguf_optional(const tfm_gguf *g, const tfm_model_config *c, const char *name, int cols,
                                           int rows, tfm_tensor *out, tfm_error *err)
{
    return tfm_gguf_find_tensor(g, name) < 0 ? TFM_OK : tfm__model_gguf_tensor(g, c, name, cols, rows, TFM__D_ONE, out, err);
}

/* A fused matrix blk.l.<name>.weight of `parts` stacked matrices of the given rows each (TFM__D_*) and,
   with bias, its f32 bias: each part's rows as a view of its own into out[] (and out_b[]). */
static tfm_status tfm__model_gguf_fused(const tfm_gguf *g, const tfm_model_config *c, int l, const char *name,
                                        const int *rows, int parts, tfm_weight **out, tfm_tensor **out_b, tfm_error *err)
{
    char full[TFM_GGUF_MAX_NAME + 1];
    int64_t total = 0, first = 0;
    tfm_tensor w, b;
    tfm_status s;
    int i;
    for (i = 0; i < parts; i++) total += tfm__model_dim(c, rows[i]);
    snprintf(full, sizeof full, "blk.%d.%s.weight", l, name);
    s = tfm_gguf_get_tensor(g, full, &w, err);
    if (s == TFM_OK && (w.ne[0] != c->dim || w.ne[1] != total || w.ne[2] != 1 || w.ne[3] != 1))
        s = tfm_error_set(err, TFM_ERR_FORMAT, "tensor '%s' has shape {%lld, %lld, %lld, %lld}, the hyperparameters want {%d, %lld}",
                          full, (long long)w.ne[0], (long long)w.ne[1], (long long)w.ne[2], (long long)w.ne[3], c->dim,
                          (long long)total);
    if (s == TFM_OK && out_b) {
        snprintf(full, sizeof full, "blk.%d.%s.bias", l, name);
        s = tfm_gguf_get_tensor(g, full, &b, err);
        if (s == TFM_OK && (b.dtype != TFM_F32 || b.ne[0] != total || b.ne[1] != 1 || b.ne[2] != 1 || b.ne[3] != 1))
            s = tfm_error_set(err, TFM_ERR_FORMAT, "tensor '%s' must be %lld f32 values", full, (long long)total);
    }
    for (i = 0; i < parts && s == TFM_OK; i++) {
        int64_t n = tfm__model_dim(c, rows[i]);
        out[i]->tensor = tfm__model_slice(&w, first, n, 1);
        if (out_b) *out_b[i] = tfm__model_slice(&b, first, n, 0);
        first += n;
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

/* One layer's tensors: the family's fused matrices first (as views of the parts), then every table
   entry the family requires (missing: an error naming it) or allows (loaded when present). */
static tfm_status tfm__model_gguf_layer(const tfm_gguf *g, const tfm__arch *a, const tfm_model_config *c, tfm_layer *L,
                                        int l, tfm_error *err)
{
    char name[TFM_GGUF_MAX_NAME + 1];
    tfm_status s = TFM_OK;
    size_t i;
    snprintf(name, sizeof name, "blk.%d.attn_qkv.weight", l);
    if (((a->required | a->optional) & TFM__F_FUSED_QKV) &&
        ((a->required & TFM__F_FUSED_QKV) || tfm_gguf_find_tensor(g, name) >= 0)) {
        static const int rows[3] = {TFM__D_Q, TFM__D_KV, TFM__D_KV};
        tfm_weight *w[3];
        tfm_tensor *b[3];
        w[0] = &L->wq, w[1] = &L->wk, w[2] = &L->wv;
        b[0] = &L->bq, b[1] = &L->bk, b[2] = &L->bv;
        s = tfm__model_gguf_fused(g, c, l, "attn_qkv", rows, 3, w, a->required & TFM__F_QKV_BIAS ? b : NULL, err);
    }
    if (s == TFM_OK && (a->required & TFM__F_FUSED_UP) && c->n_experts == 0) {
        static const int rows[2] = {TFM__D_HIDDEN, TFM__D_HIDDEN};
        tfm_weight *w[2];
        w[0] = &L->ffn_gate, w[1] = &L->ffn_up;
        s = tfm__model_gguf_fused(g, c, l, "ffn_up", rows, 2, w, NULL, err);
    }
    for (i = 0; i < TFM__N_LAYER_TENSORS && s == TFM_OK; i++) {
        const tfm__layer_tensor *t = &tfm__layer_tensors[i];
        tfm_tensor *dst = tfm__layer_tensor_at(L, t);
        int required = (a->required & (unsigned)t->feature) != 0;
        if (!tfm__layer_has(c, t) || dst->data || !(required || (a->optional & (unsigned)t->feature))) continue;
        snprintf(name, sizeof name, "blk.%d.%s", l, t->name);
        if (!required && tfm_gguf_find_tensor(g, name) < 0) continue;
        s = tfm__model_gguf_tensor(g, c, name, t->cols, t->rows, t->depth, dst, err);
        /* the early Mixtral layout: one tensor per expert (blk.N.ffn_gate.E.weight) */
        if (s != TFM_OK && t->depth == TFM__D_EXPERTS && tfm_gguf_find_tensor(g, name) < 0) {
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

/* The fewest tensors a layer of family a can be stored in (fused matrices counted once). */
static uint64_t tfm__model_gguf_min_tensors(const tfm__arch *a, const tfm_model_config *c)
{
    uint64_t n = 0;
    size_t i;
    for (i = 0; i < TFM__N_LAYER_TENSORS; i++)
        if (tfm__layer_has(c, &tfm__layer_tensors[i]) && (a->required & (unsigned)tfm__layer_tensors[i].feature)) n++;
    if ((a->required | a->optional) & TFM__F_FUSED_QKV) n -= a->required & TFM__F_QKV_BIAS ? 4 : 2;
    if ((a->required & TFM__F_FUSED_UP) && c->n_experts == 0) n -= 1;
    return n;
}

/* The weights: views into the file, each checked by name against the config. */
static tfm_status tfm__model_gguf_weights(tfm_model *m, const tfm_gguf *g, const tfm__arch *a, tfm_error *err)
{
    const tfm_model_config *c = &m->config;
    uint64_t per_layer = tfm__model_gguf_min_tensors(a, c);
    tfm_status s;
    int l;
    /* every layer needs its own tensors: a block_count the file cannot hold allocates nothing */
    if ((uint64_t)c->n_layers * per_layer > (uint64_t)tfm_gguf_n_tensors(g))
        return tfm_error_set(err, TFM_ERR_FORMAT, "block_count %d needs %llu tensors, the file has %lld", c->n_layers,
                             (unsigned long long)((uint64_t)c->n_layers * per_layer), (long long)tfm_gguf_n_tensors(g));
    m->layers = (tfm_layer *)TFM_MALLOC(sizeof(tfm_layer) * (size_t)c->n_layers);
    if (!m->layers) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(m->layers, 0, sizeof(tfm_layer) * (size_t)c->n_layers);
    s = tfm__model_gguf_tensor(g, c, "token_embd.weight", TFM__D_DIM, TFM__D_VOCAB, TFM__D_ONE, &m->token_embd, err);
    /* a decoder's final norm and classifier; an encoder ends with its last block's norm */
    if (s == TFM_OK && (a->required & TFM__F_PRE_NORMS))
        s = tfm__model_gguf_tensor(g, c, "output_norm.weight", TFM__D_DIM, TFM__D_ONE, TFM__D_ONE, &m->output_norm, err);
    if (s == TFM_OK && (a->required & TFM__F_NORM_BIAS))
        s = tfm__model_gguf_tensor(g, c, "output_norm.bias", TFM__D_DIM, TFM__D_ONE, TFM__D_ONE, &m->output_norm_b, err);
    if (s == TFM_OK && !c->bidirectional && tfm_gguf_find_tensor(g, "output.weight") >= 0)
        s = tfm__model_gguf_tensor(g, c, "output.weight", TFM__D_DIM, TFM__D_VOCAB, TFM__D_ONE, &m->output.tensor, err);
    else if (s == TFM_OK && !c->bidirectional)
        m->output.tensor = m->token_embd;
    if (s == TFM_OK && (a->required & TFM__F_TOKEN_TYPES)) {
        /* one row per type the vocab declares (tokenizer.ggml.token_type_count, as llama.cpp requires) */
        uint32_t types = 0;
        s = tfm_gguf_get_tensor(g, "token_types.weight", &m->token_types, err);
        if (s == TFM_OK && tfm_gguf_find_key(g, "tokenizer.ggml.token_type_count") >= 0)
            s = tfm_gguf_get_u32(g, "tokenizer.ggml.token_type_count", &types, err);
        if (s == TFM_OK && (m->token_types.ne[0] != c->dim || m->token_types.ne[2] != 1 || m->token_types.ne[3] != 1 ||
                            (types && m->token_types.ne[1] != (int64_t)types)))
            s = tfm_error_set(err, TFM_ERR_FORMAT,
                              "tensor 'token_types.weight' has shape {%lld, %lld}, want {%d, %lu} "
                              "(embedding_length, tokenizer.ggml.token_type_count)",
                              (long long)m->token_types.ne[0], (long long)m->token_types.ne[1], c->dim,
                              (unsigned long)(types ? types : 1));
        if (s == TFM_OK)
            s = tfm__model_gguf_tensor(g, c, "token_embd_norm.weight", TFM__D_DIM, TFM__D_ONE, TFM__D_ONE, &m->embd_norm,
                                       err);
        if (s == TFM_OK)
            s = tfm__model_gguf_tensor(g, c, "token_embd_norm.bias", TFM__D_DIM, TFM__D_ONE, TFM__D_ONE, &m->embd_norm_b,
                                       err);
    }
    if (s == TFM_OK && (a->required & TFM__F_POS_EMBD)) {
        s = tfm_gguf_get_tensor(g, "position_embd.weight", &m->pos_embd, err);
        if (s != TFM_OK && tfm_gguf_find_tensor(g, "position_embd.weight") < 0)
            s = tfm_error_set(err, TFM_ERR_FORMAT, "tensor 'position_embd.weight' is missing (%s has learned positions)",
                              a->name);
        if (s == TFM_OK && (m->pos_embd.ne[0] != c->dim || m->pos_embd.ne[2] != 1 || m->pos_embd.ne[3] != 1))
            s = tfm_error_set(err, TFM_ERR_FORMAT, "tensor 'position_embd.weight' must have %d columns", c->dim);
    }
    if (s == TFM_OK && c->rope_dim > 0) {
        /* frequency factors: Llama 3's rope_freqs, Phi-3's long and short */
        tfm_model_config half = *c;
        half.dim = c->rope_dim / 2;
        s = tfm__model_gguf_optional(g, &half, "rope_freqs.weight", TFM__D_DIM, TFM__D_ONE, &m->rope_freqs, err);
        if (s == TFM_OK)
            s = tfm__model_gguf_optional(g, &half, "rope_factors_short.weight", TFM__D_DIM, TFM__D_ONE,
                                         &m->rope_factors_short, err);
        if (s == TFM_OK)
            s = tfm__model_gguf_optional(g, &half, "rope_factors_long.weight", TFM__D_DIM, TFM__D_ONE,
                                         &m->rope_factors_long, err);
    }
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) s = tfm__model_gguf_layer(g, a, c, &m->layers[l], l, err);
    return s;
}

static tfm_status tfm__model_gguf_fill(tfm_model *m, const tfm_gguf *g, int no_vocab, tfm_error *err)
{
    tfm_model_config *c = &m->config;
    const tfm__arch *a;
    const char *arch;
    size_t arch_len;
    int64_t embd;
    tfm_tensor t;
    tfm_status s = tfm_gguf_get_string(g, "general.architecture", &arch, &arch_len, err);
    if (s != TFM_OK) return s;
    a = tfm__model_arch(arch, arch_len);
    if (!a) {
        char names[160] = "";
        size_t i;
        for (i = 0; i < TFM__N_ARCHS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", tfm__archs[i].name);
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "architecture '%.*s' is not supported (%s)",
                             (int)(arch_len < 32 ? arch_len : 32), arch, names);
    }
    s = tfm__model_gguf_config(g, a, c, err);
    if (s == TFM_OK && !no_vocab) s = tfm__model_gguf_tokenizer(g, &m->tokenizer, err);
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
    if (s == TFM_OK) s = tfm__model_gguf_weights(m, g, a, err);
    return s;
}

static tfm_status tfm__model_load_gguf(tfm_model *m, const unsigned char *data, size_t size, int no_vocab, tfm_error *err)
{
    tfm_gguf *g;
    /* no "<memory>" label: tfm_model_load puts the path in front of the message */
    tfm_status s = tfm__gguf_open_memory_labelled(&g, data, size, NULL, err);
    if (s != TFM_OK) return s;
    s = tfm__model_gguf_fill(m, g, no_vocab, err);
    tfm_gguf_close(g); /* the views point into data, which the model keeps; the reader's index can go */
    return s == TFM_OK ? tfm_model_check(m, err) : s;
}

/* ---------------------------------------------------------------- loading */

/* Whether 28 bytes could be a llama2.c header: seven positive dimensions (vocab_size of either sign) a
   model could have, heads dividing dim and kv heads dividing heads. A text file, an image or any other
   file fails this (its first bytes read as dimensions in the billions); a damaged model mostly passes,
   so the loader can say what is wrong with it. */
static int tfm__model_llama2c_plausible(const unsigned char *data, size_t size)
{
    const int32_t limit = 1 << 24;
    int32_t h[7];
    int i;
    if (size < 28) return 0;
    for (i = 0; i < 7; i++) h[i] = tfm__read_le32(data + 4 * i);
    if (h[5] < 0 && h[5] != INT32_MIN) h[5] = -h[5];
    for (i = 0; i < 7; i++)
        if (h[i] <= 0 || h[i] > limit) return 0;
    return h[0] % h[3] == 0 && h[3] % h[4] == 0;
}

/* Picks the loader by the file's kind: GGUF by its magic, llama2.c by a plausible header; anything else
   is not a model file. */
static tfm_status tfm__model_load_bytes(tfm_model *m, const unsigned char *data, size_t size, int no_vocab,
                                        tfm_error *err)
{
    char start[48];
    if (((uintptr_t)data & 3) != 0)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "model data must be 4-byte aligned");
    if (size >= 4 && memcmp(data, "GGUF", 4) == 0) return tfm__model_load_gguf(m, data, size, no_vocab, err);
    if (size >= 4 && memcmp(data, "ak42", 4) == 0)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                             "llama2.c version 1/2 export (magic ak42) is not supported: export with --version 0");
    if (tfm__model_llama2c_plausible(data, size)) return tfm__model_load_llama2c(m, data, size, err);
    return tfm_error_set(err, TFM_ERR_FORMAT,
                         "not a model file: no GGUF magic, and its first 28 bytes are no llama2.c header "
                         "(%zu bytes, starting '%s')",
                         size, tfm_escape(start, sizeof start, (const char *)data, size < 12 ? size : 12));
}

static uint64_t tfm__model_fingerprint(const tfm_model *model);

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
        s = tfm__model_load_bytes(m, m->file.data, m->file.size, options && options->no_vocab, err);
        if (s == TFM_OK && !(options && options->no_pack)) s = tfm_model_pack(m, 0, err);
        if (s == TFM_OK) m->fingerprint = tfm__model_fingerprint(m);
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
    s = tfm__model_load_bytes(m, (const unsigned char *)data, size, 0, err);
    if (s == TFM_OK) s = tfm_model_pack(m, 0, err);
    if (s == TFM_OK) m->fingerprint = tfm__model_fingerprint(m);
    if (s != TFM_OK) {
        tfm_model_free(m);
        return s;
    }
    *model = m;
    return TFM_OK;
}

/* ---------------------------------------------------------------- packed matrices */

/* The matrices of a layer that may carry packed copies (the router is multiplied as stored). */
static const size_t tfm__layer_weights[] = {
    offsetof(tfm_layer, wq),       offsetof(tfm_layer, wk),       offsetof(tfm_layer, wv),
    offsetof(tfm_layer, wo),       offsetof(tfm_layer, ffn_gate), offsetof(tfm_layer, ffn_up),
    offsetof(tfm_layer, ffn_down), offsetof(tfm_layer, ffn_gate_exps), offsetof(tfm_layer, ffn_up_exps),
    offsetof(tfm_layer, ffn_down_exps)};

#define TFM__N_LAYER_WEIGHTS (int)(sizeof tfm__layer_weights / sizeof tfm__layer_weights[0])

/* Weight i of the model: the layers' matrices layer by layer, then the classifier. */
static tfm_weight *tfm__model_weight(tfm_model *m, int i)
{
    if (i == m->config.n_layers * TFM__N_LAYER_WEIGHTS) return &m->output;
    return (tfm_weight *)(void *)((char *)&m->layers[i / TFM__N_LAYER_WEIGHTS] +
                                  tfm__layer_weights[i % TFM__N_LAYER_WEIGHTS]);
}

static void tfm__weight_unpack(tfm_weight *w)
{
    TFM_FREE(w->packed);
    w->packed = NULL;
}

void tfm_model_unpack(tfm_model *m)
{
    int i;
    if (!m || !m->layers) return;
    for (i = 0; i <= m->config.n_layers * TFM__N_LAYER_WEIGHTS; i++) tfm__weight_unpack(tfm__model_weight(m, i));
    tfm_aligned_free(m->packed_memory);
    m->packed_memory = NULL;
}

/* Whether matrix t gets packed copies: a packable dtype with rows (and stacked matrices) back to back. A
   classifier tied to the embedding is packed too (measured on a stories15M-shaped q8_0 model, 1 thread:
   decode 1.2-1.3x, prompt 1.05-1.25x, the classifier being 60% of the weights); the lookups keep reading
   the stored table, one row per token, so the copy costs about what the plain gemv would have kept
   mapped. */
static int tfm__model_packs(const tfm_tensor *t)
{
    size_t row_bytes;
    return t->data && tfm_quant_packable(t->dtype) &&
           tfm_dtype_row_bytes(t->dtype, (uint64_t)t->ne[0], &row_bytes) == TFM_OK && t->nb[1] == row_bytes &&
           t->nb[2] == row_bytes * (size_t)t->ne[1] && t->ne[3] == 1;
}

/* The bytes of w's packed copies (0 if it gets none); their total is added to *total unless it would
   overflow (TFM_ERR_OUT_OF_RANGE) */
static tfm_status tfm__weight_pack_bytes(const tfm_weight *w, size_t *total)
{
    const tfm_tensor *t = &w->tensor;
    tfm_status s = TFM_OK;
    size_t bytes;
    if (!tfm__model_packs(t)) return TFM_OK;
    bytes = tfm__qpack_bytes(t->dtype, t->data, (int)t->ne[1], (int)t->ne[0], &s);
    if (s != TFM_OK) return s;
    if ((uint64_t)t->ne[2] > (SIZE_MAX - *total) / bytes) return TFM_ERR_OUT_OF_RANGE;
    *total += bytes * (size_t)t->ne[2];
    return TFM_OK;
}

/* w's packed copies, one per matrix of its tensor (the experts of a stacked tensor one by one), from *at
   on, which moves past them */
static tfm_status tfm__weight_pack(tfm_weight *w, int n_threads, unsigned char **at)
{
    const tfm_tensor *t = &w->tensor;
    int64_t e;
    if (!tfm__model_packs(t)) return TFM_OK;
    w->packed = (tfm_quant_packed *)TFM_MALLOC(sizeof(tfm_quant_packed) * (size_t)t->ne[2]);
    if (!w->packed) return TFM_ERR_OUT_OF_MEMORY;
    for (e = 0; e < t->ne[2]; e++) {
        tfm__qpack_into(&w->packed[e], t->dtype, (const unsigned char *)t->data + (size_t)e * t->nb[2], (int)t->ne[1],
                        (int)t->ne[0], n_threads, *at);
        *at += w->packed[e].bytes;
    }
    return TFM_OK;
}

/* One block for every copy, in the order a decode step reads the matrices (layer by layer, then the
   classifier): the step streams through it from start to end, on huge pages where the system has them
   (tfm__alloc_streamed: measured on a Qwen2.5-0.5B-shaped q4_0 model, 1 thread, 4 KiB pages held its
   decode to ~0.8x). */
tfm_status tfm_model_pack(tfm_model *model, int n_threads, tfm_error *err)
{
    const int n = model && model->layers ? model->config.n_layers * TFM__N_LAYER_WEIGHTS : 0;
    tfm_status s = TFM_OK;
    size_t total = 0;
    unsigned char *at;
    int i;
    tfm_error_clear(err);
    if (!model || !model->layers) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no model to pack");
    tfm_model_unpack(model);
    n_threads = tfm__threads(n_threads);
    for (i = 0; i <= n && s == TFM_OK; i++) s = tfm__weight_pack_bytes(tfm__model_weight(model, i), &total);
    if (s == TFM_OK && total && !(model->packed_memory = tfm__alloc_streamed(total))) s = TFM_ERR_OUT_OF_MEMORY;
    at = (unsigned char *)model->packed_memory;
    for (i = 0; i <= n && s == TFM_OK && total; i++) s = tfm__weight_pack(tfm__model_weight(model, i), n_threads, &at);
    if (s != TFM_OK) {
        tfm_model_unpack(model);
        return tfm_error_set(err, s, "repacking the weights: %s", tfm_status_string(s));
    }
    return TFM_OK;
}

void tfm_model_free(tfm_model *model)
{
    if (!model) return;
    tfm_model_unpack(model);
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
    const tfm_model_config *c;
    size_t bytes, i;
    int l;
    if (!model || !model->layers) return 0;
    c = &model->config;
    bytes = tfm_tensor_nbytes(&model->output_norm) + tfm_tensor_nbytes(&model->output_norm_b) +
            tfm_tensor_nbytes(&model->output.tensor);
    for (l = 0; l < c->n_layers; l++)
        for (i = 0; i < TFM__N_LAYER_TENSORS; i++) {
            const tfm__layer_tensor *e = &tfm__layer_tensors[i];
            const tfm_tensor *t = tfm__layer_tensor_at(&model->layers[l], e);
            if (!tfm__layer_has(c, e) || !t->data) continue;
            /* of stacked experts, the k a token goes through */
            if (e->depth == TFM__D_EXPERTS)
                bytes += tfm_tensor_nbytes(t) / (size_t)c->n_experts * (size_t)c->n_experts_used;
            else bytes += tfm_tensor_nbytes(t);
        }
    return bytes;
}

/* ---------------------------------------------------------------- context */

/* A context (opaque to callers: everything below is set by tfm_context_create and changed only by the
   functions of this file, so the forward pass relies on it without checking it again). */
struct tfm_context {
    const tfm_model *model;
    int context_length;
    int max_batch;
    int n_threads;         /* threads of every call: 1..max_threads (tfm_context_set_threads) */
    int max_threads;       /* tfm_max_threads() when the context was created */
    int pos;               /* positions filled in the KV cache: the position of the next token */
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
    float *hb;     /* [max_batch][hidden]  feed-forward gate, then act(gate) * up; NULL in a MoE model */
    float *hb2;    /* [max_batch][hidden]  feed-forward up; NULL in a MoE model or a GELU MLP */
    /* RoPE (config.rope_dim > 0): the layers share at most two settings (Gemma 3's sliding layers have
       their own base); each pair's angle per position is computed once per setting, the cosines and
       sines once per chunk */
    int n_rope;            /* settings: 1 or 2 */
    unsigned char *layer_rope; /* [n_layers] the setting of each layer */
    double *rope_freq;     /* [n_rope][rope_dim / 2] angle per position of each pair */
    float rope_mscale;     /* cos and sin times this (config.rope_attn_factor) */
    float *rope_cs;        /* [n_rope][max_batch][rope_dim] cos and sin of each pair, the chunk's positions */
    void *quant_ws;        /* a chunk's activations quantized for quantized weights (tfm_quant_gemm_ws) */
    struct tfm__model_run *runs; /* [max_threads] the threads' runs of a one-token step's products */
    size_t quant_ws_bytes; /* 0 when every matrix is f32, f16 or bf16 */
    /* mixture of experts (model config.n_experts > 0) */
    tfm_moe_config moe;      /* every MoE layer's block: Mixtral gating, k of E experts */
    float *moe_out;          /* [max_batch][dim] the block's output before the residual */
    void *moe_ws;            /* tfm_moe_forward's workspace for a chunk */
    size_t moe_ws_bytes;
    tfm_moe_stats *moe_stats; /* [n_layers] routing statistics, NULL unless params.moe_stats */
    int check_finite;         /* params.check_finite */
    tfm_arena memory; /* the one allocation the activations and workspaces live in (caches apart) */
    int *tokens;      /* [context_length] the token at each position 0..pos-1 (prefix reuse, state files) */
    float *logits;    /* [vocab_size] the logits after position pos-1, when has_logits */
    int has_logits;   /* 1 when the last tfm_forward ran the classifier and nothing has moved pos since */
    struct tfm_context *const *batch; /* during a tfm_forward_batch step only: row i of the activations is
                                         the token of batch[i] (its position, cache and attention) */
};

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

/* Workspace the largest prefill product needs to quantize a chunk of activations (0 for float weights;
   the experts' products take theirs from the mixture-of-experts workspace): for any chunk of up to
   max_batch tokens, since a few rows may need more than their share of many (tfm_quant_workspace_size
   is not monotone in m: the kernels for under 4 rows lay their activations out apart). */
static size_t tfm__model_quant_ws_bytes(const tfm_model *m, int max_batch)
{
    size_t most = 0;
    int i, rows;
    for (i = 0; i <= m->config.n_layers * TFM__N_LAYER_WEIGHTS; i++) {
        const tfm_tensor *t = &tfm__model_weight((tfm_model *)(uintptr_t)m, i)->tensor;
        for (rows = 1; t->data && t->ne[2] == 1 && rows <= max_batch; rows = rows < 8 ? rows + 1 : rows == max_batch ? rows + 1 : max_batch) {
            size_t need = tfm_quant_workspace_size(t->dtype, rows, (int)t->ne[0]);
            if (need > most) most = need;
        }
    }
    return most;
}

/* Layer l's sliding window: the model's on its sliding layers, else 0 (every position). */
static int tfm__model_layer_window(const tfm_model_config *c, int l)
{
    if (c->sliding_window <= 0 || (c->swa_period > 0 && (l + 1) % c->swa_period == 0)) return 0;
    return c->sliding_window;
}

/* Layer l's RoPE setting: 1 for a sliding layer with a base of its own, else 0. */
static int tfm__model_layer_rope(const tfm_model_config *c, int l)
{
    return c->rope_base_swa > 0.0f && tfm__model_layer_window(c, l) > 0;
}

/* Each layer's RoPE setting and each setting's angle per position of pair i, in double:
   freq_scale * base^(-2i / rope_dim) / factor_i (the frequency factors: Llama 3's rope_freqs, or Phi-3's
   long ones for a context longer than rope_orig_context, else its short ones; the sliding layers with a
   base of their own are neither scaled nor factored). For Llama that is base^(-2i / rope_dim) exactly,
   as tfm_rope computes it. */
static void tfm__model_rope_setup(tfm_context *ctx)
{
    const tfm_model *m = ctx->model;
    const tfm_model_config *c = &m->config;
    int half = c->rope_dim / 2, orig = c->rope_orig_context > 0 ? c->rope_orig_context : c->context_length, l, i;
    const tfm_tensor *factors = m->rope_freqs.data                                        ? &m->rope_freqs
                                : ctx->context_length > orig && m->rope_factors_long.data ? &m->rope_factors_long
                                : m->rope_factors_short.data                              ? &m->rope_factors_short
                                                                                          : NULL;
    ctx->rope_mscale = c->rope_attn_factor > 0.0f ? c->rope_attn_factor : 1.0f;
    for (l = 0; l < c->n_layers; l++) ctx->layer_rope[l] = (unsigned char)tfm__model_layer_rope(c, l);
    for (i = 0; i < half; i++) {
        double f = pow((double)c->rope_base, -2.0 * i / (double)c->rope_dim);
        if (c->rope_freq_scale > 0.0f && c->rope_freq_scale != 1.0f) f *= (double)c->rope_freq_scale;
        if (factors) f /= (double)((const float *)factors->data)[i];
        ctx->rope_freq[i] = f;
        if (ctx->n_rope > 1) ctx->rope_freq[half + i] = pow((double)c->rope_base_swa, -2.0 * i / (double)c->rope_dim);
    }
}

static float *tfm__take_floats(tfm_arena *arena, uint64_t a, uint64_t b, uint64_t c)
{
    return (float *)tfm_arena_alloc(arena, (size_t)(a * b * c) * sizeof(float));
}

/* Each layer's attention from params ("flash" unless told otherwise), as the model needs it: causal,
   the model's score scale and soft-cap, its window on a sliding layer, over a KV cache of kv_type rows. */
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
        tfm_status parsed;
        tfm_error e;
        int window = tfm__model_layer_window(c, l);
        tfm_attn_config_init(cfg, TFM_ATTN_FLASH, c->n_heads, c->n_kv_heads, c->head_dim);
        cfg->causal = !c->bidirectional;
        cfg->kv_type = kv_type;
        cfg->n_threads = ctx->attn_threads;
        cfg->scale = c->attn_scale;
        cfg->softcap = c->attn_softcap;
        parsed = tfm_attn_config_parse(cfg, spec, &e);
        /* a sliding layer keeps its window (it is the model's function): a narrower window asked for
           narrows it, any other variant is replaced by it */
        if (parsed == TFM_OK && window > 0 && !(cfg->kind == TFM_ATTN_WINDOW && cfg->window < window)) {
            cfg->kind = TFM_ATTN_WINDOW;
            cfg->window = window;
        }
        if (parsed == TFM_OK && (cfg->kind == TFM_ATTN_LINEAR || cfg->kind == TFM_ATTN_LINFORMER))
            return tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                                 "attention '%s' needs weights trained for it (this model was trained with softmax "
                                 "attention): use dense, flash, window:W or bigbird:B,G,W,R", spec);
        if (parsed != TFM_OK || tfm_attn_config_check(cfg, &e) != TFM_OK) {
            if (own) return tfm_error_set(err, e.status, "layer %d: %s", l, e.message);
            return tfm_error_set(err, e.status, "%s", e.message);
        }
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
    uint64_t batch, dim, hidden, q_dim, kv_dim, rope_dim;
    size_t bytes = 0, quant_ws_bytes, attn_ws_bytes, moe_ws_bytes = 0, runs_bytes;
    tfm_status s;
    int l;
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
    ctx->check_finite = params && params->check_finite;
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
    if (model->pos_embd.data && ctx->context_length > model->pos_embd.ne[1]) {
        tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "context_length %d exceeds the model's %lld learned positions",
                      ctx->context_length, (long long)model->pos_embd.ne[1]);
        TFM_FREE(ctx);
        return TFM_ERR_INVALID_ARGUMENT;
    }
    if (ctx->max_batch > ctx->context_length) ctx->max_batch = ctx->context_length;
    ctx->attn = (tfm_attn_config *)TFM_MALLOC(sizeof(tfm_attn_config) * (size_t)c->n_layers);
    ctx->kv = (tfm_kv_cache *)TFM_MALLOC(sizeof(tfm_kv_cache) * (size_t)c->n_layers);
    if (ctx->kv) memset(ctx->kv, 0, sizeof(tfm_kv_cache) * (size_t)c->n_layers); /* tfm_context_free frees each */
    ctx->tokens = (int *)TFM_MALLOC(sizeof(int) * (size_t)ctx->context_length);
    ctx->logits = (float *)TFM_MALLOC(sizeof(float) * (size_t)c->vocab_size);
    if (!ctx->attn || !ctx->kv || !ctx->tokens || !ctx->logits) {
        tfm_context_free(ctx);
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    s = tfm__model_attn_configs(ctx, params, err);
    if (s == TFM_OK) s = tfm__model_attn_memory(ctx, &attn_ws_bytes, err);
    if (s == TFM_OK && c->n_experts > 0) s = tfm__model_moe_memory(ctx, params, &moe_ws_bytes, err);
    if (s != TFM_OK) {
        tfm_context_free(ctx);
        return s;
    }
    quant_ws_bytes = tfm__model_quant_ws_bytes(model, ctx->max_batch);
    runs_bytes = 64 * (size_t)ctx->max_threads;

    batch = (uint64_t)ctx->max_batch;
    dim = (uint64_t)c->dim;
    hidden = (uint64_t)c->hidden_dim;
    q_dim = (uint64_t)c->n_heads * (uint64_t)c->head_dim;
    kv_dim = (uint64_t)c->n_kv_heads * (uint64_t)c->head_dim;
    rope_dim = (uint64_t)c->rope_dim;
    ctx->n_rope = 1;
    for (l = 0; l < c->n_layers; l++)
        if (tfm__model_layer_rope(c, l)) ctx->n_rope = 2;
    if (!tfm__add_floats(&bytes, batch, dim, 1) || !tfm__add_floats(&bytes, batch, dim, 1) ||
        (rope_dim && (!tfm__add_floats(&bytes, (uint64_t)c->n_layers + 3, 1, 1) || /* layer_rope, as floats */
                      !tfm__add_floats(&bytes, (uint64_t)ctx->n_rope, rope_dim, 1) || /* rope_freq's doubles */
                      !tfm__add_floats(&bytes, (uint64_t)ctx->n_rope, batch, rope_dim))) ||
        !tfm__add_floats(&bytes, batch, q_dim, 1) || !tfm__add_floats(&bytes, batch, kv_dim, 1) ||
        !tfm__add_floats(&bytes, batch, kv_dim, 1) || !tfm__add_floats(&bytes, batch, q_dim, 1) ||
        (c->n_experts == 0 && (!tfm__add_floats(&bytes, batch, hidden, 1) ||
                               (c->ffn != TFM_FFN_GELU && !tfm__add_floats(&bytes, batch, hidden, 1)))) ||
        (c->n_experts > 0 && !tfm__add_floats(&bytes, batch, dim, 1)) ||
        bytes > SIZE_MAX - 256 - runs_bytes - quant_ws_bytes - attn_ws_bytes - moe_ws_bytes ||
        tfm_arena_init(&ctx->memory, bytes + 256 + runs_bytes + quant_ws_bytes + attn_ws_bytes + moe_ws_bytes) != TFM_OK) {
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
        if (c->ffn != TFM_FFN_GELU) ctx->hb2 = tfm__take_floats(&ctx->memory, batch, hidden, 1);
    }
    if (rope_dim) {
        ctx->layer_rope = (unsigned char *)tfm_arena_alloc(&ctx->memory, (size_t)c->n_layers);
        ctx->rope_freq = (double *)tfm_arena_alloc(&ctx->memory, sizeof(double) * (size_t)ctx->n_rope * (size_t)(rope_dim / 2));
        ctx->rope_cs = tfm__take_floats(&ctx->memory, (uint64_t)ctx->n_rope, batch, rope_dim);
        tfm__model_rope_setup(ctx);
    }
    ctx->attn_ws_bytes = attn_ws_bytes;
    ctx->attn_ws = tfm_arena_alloc(&ctx->memory, attn_ws_bytes);
    ctx->quant_ws_bytes = quant_ws_bytes;
    ctx->quant_ws = quant_ws_bytes ? tfm_arena_alloc(&ctx->memory, quant_ws_bytes) : NULL;
    ctx->runs = (struct tfm__model_run *)tfm_arena_alloc(&ctx->memory, runs_bytes);
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
const tfm_model *tfm_context_model(const tfm_context *ctx) { return ctx ? ctx->model : NULL; }
int tfm_context_max_batch(const tfm_context *ctx) { return ctx ? ctx->max_batch : 0; }
int tfm_context_threads(const tfm_context *ctx) { return ctx ? ctx->n_threads : 0; }

int tfm_context_set_threads(tfm_context *ctx, int n_threads)
{
    if (!ctx) return 0;
    ctx->n_threads = n_threads > 0 ? n_threads : tfm_default_threads();
    if (ctx->n_threads > ctx->max_threads) ctx->n_threads = ctx->max_threads;
    return ctx->n_threads;
}

const tfm_attn_config *tfm_context_layer_attn(const tfm_context *ctx, int layer)
{
    return ctx && layer >= 0 && layer < ctx->model->config.n_layers ? &ctx->attn[layer] : NULL;
}

const tfm_kv_cache *tfm_context_layer_cache(const tfm_context *ctx, int layer)
{
    return ctx && layer >= 0 && layer < ctx->model->config.n_layers ? &ctx->kv[layer] : NULL;
}

size_t tfm_context_memory_bytes(const tfm_context *ctx)
{
    size_t bytes;
    int l;
    if (!ctx) return 0;
    bytes = ctx->memory.size + sizeof(int) * (size_t)ctx->context_length + sizeof(float) * (size_t)ctx->model->config.vocab_size;
    for (l = 0; l < ctx->model->config.n_layers; l++) bytes += tfm_kv_cache_bytes(&ctx->kv[l]);
    return bytes;
}

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

/* One matrix product y[n_tokens][rows] = x[n_tokens][cols] W^T (+ bias), W = [rows][cols], through W's
   packed copy where it has one. */
typedef struct tfm__product {
    const tfm_weight *w;
    const tfm_tensor *bias; /* [rows] f32, or NULL / absent */
    float *y;
} tfm__product;

static tfm__product tfm__model_product(const tfm_weight *w, const tfm_tensor *bias, float *y)
{
    tfm__product p;
    p.w = w;
    p.bias = bias && bias->data ? bias : NULL;
    p.y = y;
    return p;
}

/* y[r] += bias[r] for rows [begin, end) of each of n rows of width ld. */
static void tfm__model_add_bias(float *y, size_t ld, int n, const tfm_tensor *bias, int begin, int end)
{
    int i;
    for (i = 0; i < n; i++)
        tfm_add(y + (size_t)i * ld + (size_t)begin, y + (size_t)i * ld + (size_t)begin, (const float *)bias->data + begin,
                (size_t)(end - begin));
}

/* Below this many multiply-adds (~10 us of work) a step's products run on one thread: a thread team
   costs more than it saves. (512K, tfm_quant.h's threshold for one gemv, would leave every matrix of a
   stories15M-sized layer on one thread; 2-thread timings on the shared machine were too noisy to move
   it either way.) */
#define TFM__MODEL_TEAM_MIN_WEIGHTS 65536.0

/* The smallest piece of a one-token step a thread takes at a time (a few microseconds of reading). */
#define TFM__MODEL_PIECE_BYTES 65536.0

/* One thread's run of a one-token step's row-tiles: the tiles taken from its front (low 32 bits, by
   its owner) and from its back (high 32 bits, by the others), one atomic add a piece; a cache line each. */
typedef struct tfm__model_run {
    unsigned long long taken;
    char pad[64 - sizeof(unsigned long long)];
} tfm__model_run;

/* *word += add, atomically among the thread team; the value before */
static unsigned long long tfm__model_take(unsigned long long *word, unsigned long long add)
{
    unsigned long long old;
#if defined(_OPENMP)
#pragma omp atomic capture
#endif
    {
        old = *word;
        *word += add;
    }
    return old;
}

/* The 16-row tiles of a one-token step's matrices laid end to end: matrix j has tiles [first[j],
   first[j + 1]) of tile_bytes[j] bytes each (the int8 kernels' tile: a cut one would be computed by
   both sides). */
typedef struct tfm__model_tiles {
    int count, first[4];
    double tile_bytes[3], bytes;
    int piece; /* tiles of a thread's smallest piece */
} tfm__model_tiles;

/* Where thread t of n's run starts: the tile nearest t/n of the step's bytes. */
static int tfm__model_run_start(const tfm__model_tiles *tl, int t, int n)
{
    double target = tl->bytes * t / n, before = 0;
    int j;
    if (t >= n) return tl->first[tl->count];
    for (j = 0; j < tl->count; j++) {
        double bytes = (tl->first[j + 1] - tl->first[j]) * tl->tile_bytes[j];
        if (target < before + bytes) return tl->first[j] + (int)((target - before) / tl->tile_bytes[j] + 0.5);
        before += bytes;
    }
    return tl->first[tl->count];
}

/* A thread's activation, quantized for the packed kernels once a step (again only for a matrix of
   another activation type): on the stack, or allocated for a row wider than TFM_QUANT_STACK_COLS. */
typedef struct tfm__model_act {
    const tfm__qtype *type;
    tfm__qact_rows rows;
    unsigned char stack[TFM_QUANT_STACK_COLS + TFM_QUANT_STACK_COLS / 2 + 256];
    void *heap;
} tfm__model_act;

/* Tiles [t0, t1) of the step, each matrix's by its kernel (packed or as stored), biases added. */
static tfm_status tfm__model_matvec_tiles(const float *x, const tfm__product *p, const tfm__model_tiles *tl, int t0,
                                          int t1, tfm__model_act *act)
{
    int j;
    for (j = 0; j < tl->count && tl->first[j] < t1; j++) {
        const tfm_tensor *w = &p[j].w->tensor;
        const int rows = (int)w->ne[1], cols = (int)w->ne[0], first = tl->first[j];
        const int a = t0 > first ? t0 - first : 0, b = (t1 < tl->first[j + 1] ? t1 : tl->first[j + 1]) - first;
        const int begin = a * 16, end = b * 16 < rows ? b * 16 : rows;
        tfm__qmat m;
        if (a >= b) continue;
        if (w->dtype == TFM_F32 || w->dtype == TFM_F16 || w->dtype == TFM_BF16) {
            tfm_status s = tfm_gemv(p[j].y + begin, w->dtype, (const unsigned char *)w->data + (size_t)begin * w->nb[1], x,
                                    end - begin, cols, 1);
            if (s != TFM_OK) return s;
        } else {
            if (p[j].w->packed) {
                if (!tfm__qpacked_mat(p[j].w->packed, &m)) return TFM_ERR_INVALID_ARGUMENT;
            } else {
                tfm_status s = tfm__qcheck(w->dtype, w->data, rows, cols, &m);
                if (s != TFM_OK) return s;
            }
            if (act->type != tfm__qfind(m.T->act)) {
                size_t bytes = tfm__qact_bytes(1, (size_t)cols, m.nb);
                void *ws = act->stack;
                if (bytes > sizeof act->stack) {
                    TFM_FREE(act->heap);
                    if (!(ws = act->heap = TFM_MALLOC(bytes))) return TFM_ERR_OUT_OF_MEMORY;
                }
                act->type = tfm__qfind(m.T->act);
                tfm__qact_init(&act->rows, ws, 1, (size_t)cols, m.nb);
                tfm__qact_quantize(&act->rows, act->type, x, (size_t)cols, 1, 1);
            }
            tfm__qdot_tiles(&m, &act->rows.a, 1, p[j].y, 0, 0, rows, a, b);
        }
        if (p[j].bias) tfm__model_add_bias(p[j].y, 0, 1, p[j].bias, begin, end);
    }
    return TFM_OK;
}

/* Thread t of n's part of a one-token step: its own run from the front, in pieces of half what is left
   down to tl->piece, then tl->piece at a time from the back of the others' runs until no tile is left. */
static tfm_status tfm__model_matvec_thread(tfm__model_run *runs, const float *x, const tfm__product *p,
                                           const tfm__model_tiles *tl, int t, int n)
{
    tfm__model_act act;
    tfm_status s = TFM_OK;
    int k;
    act.type = NULL;
    act.heap = NULL;
    for (k = 0; k < n && s == TFM_OK; k++) {
        const int v = (t + k) % n, lo = tfm__model_run_start(tl, v, n), hi = tfm__model_run_start(tl, v + 1, n);
        int mine = 0, theirs = 0;
        while (s == TFM_OK) {
            unsigned long long seen;
            int size, front, back;
            if (k == 0) {
                const int left = hi - lo - mine - theirs;
                size = n == 1 ? hi - lo : left / 2 > tl->piece ? left / 2 : tl->piece;
                seen = tfm__model_take(&runs[v].taken, (unsigned long long)size);
                mine += size;
            } else {
                size = tl->piece;
                seen = tfm__model_take(&runs[v].taken, (unsigned long long)size << 32);
            }
            front = lo + (int)(seen & 0xffffffffu), back = hi - (int)(seen >> 32);
            theirs = (int)(seen >> 32);
            if (front >= back) break;
            if (k == 0) s = tfm__model_matvec_tiles(x, p, tl, front, front + size < back ? front + size : back, &act);
            else s = tfm__model_matvec_tiles(x, p, tl, back - size > front ? back - size : front, back, &act);
        }
    }
    TFM_FREE(act.heap);
    return s;
}

/* Products of one input x with `count` <= 3 matrices (q, k and v; gate and up): every matrix product of
   the model goes through here, whatever W's dtype (tfm_quant.h multiplies f32, f16, bf16 and the GGML
   block formats). A batch is a gemm per matrix (compute-bound: each weight read once for all the
   tokens). One token is memory-bound: the matrices' row-tiles, laid end to end, are one parallel
   region (one synchronisation, not one per matrix); each thread owns one contiguous run of them, an
   equal share of the bytes, which it reads as one stream (the static shares keep more reads in flight
   than rows handed out in small pieces), and a thread done early takes pieces from the back of the
   others' runs, so that no one waits long at the end for a thread that fell behind (a core shared
   with another program, a slower share of the memory). Each tile is still computed whole, by one
   thread, by the same kernel call, so the result does not depend on the thread count or on who took
   which tile. */
static tfm_status tfm__model_matmuls(const tfm_context *ctx, const float *x, int n_tokens, const tfm__product *p,
                                     int count)
{
    tfm_status status = TFM_OK;
    tfm__model_tiles tl;
    double weights = 0;
    int n_threads, j;
    if (n_tokens > 1) {
        for (j = 0; j < count && status == TFM_OK; j++) {
            const tfm_tensor *w = &p[j].w->tensor;
            int rows = (int)w->ne[1], cols = (int)w->ne[0];
            status = p[j].w->packed ? tfm_quant_packed_gemm(p[j].y, (size_t)rows, x, (size_t)cols, p[j].w->packed, n_tokens,
                                                            ctx->n_threads, ctx->quant_ws, ctx->quant_ws_bytes)
                                    : tfm_quant_gemm_ws(p[j].y, (size_t)rows, x, (size_t)cols, w->dtype, w->data, n_tokens,
                                                        rows, cols, ctx->n_threads, ctx->quant_ws, ctx->quant_ws_bytes);
            if (status == TFM_OK && p[j].bias) tfm__model_add_bias(p[j].y, (size_t)rows, n_tokens, p[j].bias, 0, rows);
        }
        return status;
    }
    tl.count = count;
    tl.first[0] = 0;
    tl.bytes = 0;
    for (j = 0; j < count; j++) {
        const tfm_weight *w = p[j].w;
        const int rows = (int)w->tensor.ne[1];
        weights += (double)w->tensor.ne[0] * (double)rows;
        tl.first[j + 1] = tl.first[j] + (rows + 15) / 16;
        tl.tile_bytes[j] = w->packed ? (double)w->packed->bytes / (double)(tl.first[j + 1] - tl.first[j])
                                     : 16.0 * (double)w->tensor.nb[1];
        tl.bytes += tl.tile_bytes[j] * (tl.first[j + 1] - tl.first[j]);
    }
    tl.piece = (int)(TFM__MODEL_PIECE_BYTES * tl.first[count] / tl.bytes) + 1;
    n_threads = weights < TFM__MODEL_TEAM_MIN_WEIGHTS ? 1 : ctx->n_threads;
    memset(ctx->runs, 0, sizeof(tfm__model_run) * (size_t)n_threads);
    /* a team smaller than asked (inside a caller's parallel region) takes the missing threads' runs too */
#if defined(_OPENMP)
#pragma omp parallel num_threads(n_threads) if (n_threads > 1)
    {
        tfm_status s = tfm__model_matvec_thread(ctx->runs, x, p, &tl, omp_get_thread_num(), n_threads);
        if (s != TFM_OK) {
#pragma omp critical(tfm_model_matmul_status)
            status = s;
        }
    }
#else
    status = tfm__model_matvec_thread(ctx->runs, x, p, &tl, 0, n_threads);
#endif
    return status;
}

/* One product. */
static tfm_status tfm__model_matmul(const tfm_context *ctx, const tfm_weight *w, const tfm_tensor *bias, const float *x,
                                    float *y, int n_tokens)
{
    tfm__product p = tfm__model_product(w, bias, y);
    return tfm__model_matmuls(ctx, x, n_tokens, &p, 1);
}

/* out[dim] = row `row` of a table (the embedding, the learned positions), in f32 whatever its dtype. */
static tfm_status tfm__model_embed(const tfm_tensor *table, int row, float *out)
{
    return tfm_dequantize_row(table->dtype, tfm_tensor_row(table, row, 0, 0), out, (size_t)table->ne[0]);
}

/* The layer's attention (tfm_attention.h) of the chunk's n queries over its KV cache, which first takes
   the chunk's keys and values. The configs and caches are the context's own, checked once when
   tfm_context_create made them and out of any caller's reach since: tfm_attn_decode's checks of them
   are not run again on every layer of every step. */
static tfm_status tfm__model_attention(tfm_context *ctx, int layer, int n, float *out)
{
    tfm_attn_config *cfg = &ctx->attn[layer];
    const tfm_model_config *c = &ctx->model->config;
    const size_t q_dim = (size_t)c->n_heads * (size_t)c->head_dim, kv_dim = (size_t)c->n_kv_heads * (size_t)c->head_dim;
    tfm_status s = TFM_OK;
    int i;
    if (!ctx->batch) {
        cfg->n_threads = ctx->n_threads < ctx->attn_threads ? ctx->n_threads : ctx->attn_threads;
        return tfm__attn_decode_trusted(cfg, &ctx->kv[layer], out, ctx->q, ctx->k, ctx->v, n, ctx->attn_ws,
                                        ctx->attn_ws_bytes);
    }
    /* a batched step: each row attends over its own context's cache, as that context's decode would */
    for (i = 0; i < n && s == TFM_OK; i++) {
        tfm_context *own = ctx->batch[i];
        cfg = &own->attn[layer];
        cfg->n_threads = ctx->n_threads < own->attn_threads ? ctx->n_threads : own->attn_threads;
        s = tfm__attn_decode_trusted(cfg, &own->kv[layer], out + (size_t)i * q_dim, ctx->q + (size_t)i * q_dim,
                                     ctx->k + (size_t)i * kv_dim, ctx->v + (size_t)i * kv_dim, 1, own->attn_ws,
                                     own->attn_ws_bytes);
    }
    return s;
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

/* out[i] = norm(x[i]) for n rows of `width` (rows `width` apart), the model's kind of norm with weight
   (and, for LayerNorm, bias where present). out may be x. */
static void tfm__model_norm_rows(const tfm_model_config *c, float *out, const float *x, const tfm_tensor *weight,
                                 const tfm_tensor *bias, int n, int width)
{
    const float *w = (const float *)weight->data, *b = bias && bias->data ? (const float *)bias->data : NULL;
    int i;
    for (i = 0; i < n; i++) {
        size_t at = (size_t)i * (size_t)width;
        if (c->norm == TFM_NORM_LAYER) tfm_layernorm(out + at, x + at, w, b, (size_t)width, c->norm_eps);
        else tfm_rmsnorm(out + at, x + at, w, (size_t)width, c->norm_eps);
    }
}

/* A block's input: norm(x) into out when the block has an input norm, else x itself. */
static const float *tfm__model_block_input(const tfm_model_config *c, float *out, const float *x, const tfm_tensor *weight,
                                           const tfm_tensor *bias, int n)
{
    if (!weight->data) return x;
    tfm__model_norm_rows(c, out, x, weight, bias, n, c->dim);
    return out;
}

/* The position of row i of the chunk: the context's next positions, or in a batched step the position
   of row i's own context. */
static int tfm__model_row_pos(const tfm_context *ctx, int i) { return ctx->batch ? ctx->batch[i]->pos : ctx->pos + i; }

/* The cosines and sines of every RoPE setting for the chunk's positions pos0 .. pos0 + n - 1 (in a
   batched step, each row's own context's position). */
static void tfm__model_rope_tables(tfm_context *ctx, int pos0, int n)
{
    int half = ctx->model->config.rope_dim / 2, set, i, j;
    for (set = 0; set < ctx->n_rope; set++) {
        const double *freq = ctx->rope_freq + (size_t)set * (size_t)half;
        for (i = 0; i < n; i++) {
            float *cs = ctx->rope_cs + ((size_t)set * (size_t)ctx->max_batch + (size_t)i) * (size_t)(2 * half);
            for (j = 0; j < half; j++) {
                /* the angle in double: positions reach 1e5 and more, where a float angle loses digits */
                double theta = (double)(ctx->batch ? ctx->batch[i]->pos : pos0 + i) * freq[j];
                cs[2 * j] = (float)cos(theta) * ctx->rope_mscale;
                cs[2 * j + 1] = (float)sin(theta) * ctx->rope_mscale;
            }
        }
    }
}

/* How the rows of a chunk are laid out: n_seq == 0, the tokens of the context's one sequence at positions
   ctx->pos ..., attending over its KV cache; else n_seq sequences one after the other (tfm_encode),
   lens[s] rows each from position 0, each attending over its own rows only, without a cache; rows past
   them are filler. */
typedef struct tfm__rows {
    int n_seq;
    const int *lens;
} tfm__rows;

/* x = norm(x) for the n rows, where the layer has that norm (BERT's post-norm after a residual sum). */
static void tfm__model_residual_norm(const tfm_model_config *c, float *x, const tfm_tensor *weight,
                                     const tfm_tensor *bias, int n)
{
    if (weight->data) tfm__model_norm_rows(c, x, x, weight, bias, n, c->dim);
}

/* The attention block of layer l on the chunk's n tokens: x += post_norm(Wo attention(q, k, v) + bo),
   with q, k, v the products of the block's input (+ biases), each head's q and k normalised where the
   family does, rotated by RoPE; then x = norm(x) where the layer normalises the sum (post-norm). */
static tfm_status tfm__model_attention_block(tfm_context *ctx, int l, int n, const tfm__rows *rows)
{
    const tfm_model_config *c = &ctx->model->config;
    const tfm_layer *L = &ctx->model->layers[l];
    const size_t q_dim = (size_t)c->n_heads * (size_t)c->head_dim, kv_dim = (size_t)c->n_kv_heads * (size_t)c->head_dim;
    const float *h = tfm__model_block_input(c, ctx->xb, ctx->x, &L->attn_norm, &L->attn_norm_b, n);
    tfm__product qkv[3];
    tfm_status s;
    int i;
    qkv[0] = tfm__model_product(&L->wq, &L->bq, ctx->q);
    qkv[1] = tfm__model_product(&L->wk, &L->bk, ctx->k);
    qkv[2] = tfm__model_product(&L->wv, &L->bv, ctx->v);
    s = tfm__model_matmuls(ctx, h, n, qkv, 3);
    if (s != TFM_OK) return s;
    if (L->q_norm.data) tfm__model_norm_rows(c, ctx->q, ctx->q, &L->q_norm, NULL, n * c->n_heads, c->head_dim);
    if (L->k_norm.data) tfm__model_norm_rows(c, ctx->k, ctx->k, &L->k_norm, NULL, n * c->n_kv_heads, c->head_dim);
    if (c->rope_dim > 0) {
        const float *cs = ctx->rope_cs + (size_t)ctx->layer_rope[l] * (size_t)ctx->max_batch * (size_t)c->rope_dim;
        int seq = 0, start = 0;
        for (i = 0; i < n; i++) {
            const float *row;
            while (rows->n_seq && seq < rows->n_seq && i >= start + rows->lens[seq]) start += rows->lens[seq++];
            row = cs + (size_t)(i - start) * (size_t)c->rope_dim; /* filler rows: any position */
            tfm_rope_rotate(ctx->q + (size_t)i * q_dim, c->n_heads, c->head_dim, c->rope_dim, row, c->rope_mode);
            tfm_rope_rotate(ctx->k + (size_t)i * kv_dim, c->n_kv_heads, c->head_dim, c->rope_dim, row, c->rope_mode);
        }
    }
    if (!rows->n_seq) {
        s = tfm__model_attention(ctx, l, n, ctx->att);
    } else {
        /* each sequence over its own rows, exactly as long as it is: the attention kernels sum a row's
           keys in an order that depends on the key count, so with padded keys (tfm_attn_prefill's kv_len)
           a sentence would differ in the last bits alone and in a batch; this way there is no padding to
           mask, and none to compute */
        tfm_attn_config *cfg = &ctx->attn[l];
        size_t start = 0;
        cfg->n_threads = ctx->n_threads < ctx->attn_threads ? ctx->n_threads : ctx->attn_threads;
        for (i = 0; i < rows->n_seq && s == TFM_OK; i++) {
            s = tfm_attn_prefill(cfg, ctx->att + start * q_dim, ctx->q + start * q_dim, ctx->k + start * kv_dim,
                                 ctx->v + start * kv_dim, 1, rows->lens[i], rows->lens[i], 0, NULL, ctx->attn_ws,
                                 ctx->attn_ws_bytes);
            start += (size_t)rows->lens[i];
        }
        /* the filler rows attend nothing: zero, so every product stays finite */
        if ((size_t)n > start) memset(ctx->att + start * q_dim, 0, sizeof(float) * ((size_t)n - start) * q_dim);
    }
    if (s == TFM_OK) s = tfm__model_matmul(ctx, &L->wo, &L->bo, ctx->att, ctx->xb, n);
    if (s != TFM_OK) return s;
    if (L->attn_post_norm.data) tfm__model_norm_rows(c, ctx->xb, ctx->xb, &L->attn_post_norm, NULL, n, c->dim);
    tfm_add(ctx->x, ctx->x, ctx->xb, (size_t)n * (size_t)c->dim);
    tfm__model_residual_norm(c, ctx->x, &L->attn_out_norm, &L->attn_out_norm_b, n);
    return TFM_OK;
}

/* The feed-forward block of layer l: x += post_norm(ffn(h)) with h the block's input, ffn the family's
   (tfm_ffn_kind), or the gate-weighted sum of the k experts the router picks for each token; then
   x = norm(x) where the layer normalises the sum. */
static tfm_status tfm__model_ffn_block(tfm_context *ctx, int l, int n)
{
    const tfm_model_config *c = &ctx->model->config;
    const tfm_layer *L = &ctx->model->layers[l];
    const size_t cells = (size_t)n * (size_t)c->hidden_dim;
    const float *h = tfm__model_block_input(c, ctx->xb, ctx->x, &L->ffn_norm, &L->ffn_norm_b, n);
    float *out = ctx->xb;
    tfm_status s;
    if (c->n_experts > 0) {
        tfm_moe_weights mw = tfm__model_moe_weights(L);
        out = ctx->moe_out;
        s = tfm_moe_forward(&ctx->moe, &mw, out, h, n, ctx->moe_ws, ctx->moe_ws_bytes,
                            ctx->moe_stats ? &ctx->moe_stats[l] : NULL, NULL, ctx->n_threads);
    } else if (c->ffn == TFM_FFN_GELU) {
        s = tfm__model_matmul(ctx, &L->ffn_up, &L->ffn_up_b, h, ctx->hb, n);
        if (s == TFM_OK) {
            tfm_gelu_tanh(ctx->hb, ctx->hb, cells);
            s = tfm__model_matmul(ctx, &L->ffn_down, &L->ffn_down_b, ctx->hb, out, n);
        }
    } else {
        tfm__product gate_up[2];
        gate_up[0] = tfm__model_product(&L->ffn_gate, NULL, ctx->hb);
        gate_up[1] = tfm__model_product(&L->ffn_up, &L->ffn_up_b, ctx->hb2);
        s = tfm__model_matmuls(ctx, h, n, gate_up, 2);
        if (s == TFM_OK) {
            if (c->ffn == TFM_FFN_GEGLU) {
                tfm_gelu_tanh(ctx->hb, ctx->hb, cells);
                tfm_mul(ctx->hb, ctx->hb, ctx->hb2, cells);
            } else {
                tfm_swiglu(ctx->hb, ctx->hb, ctx->hb2, cells);
            }
            s = tfm__model_matmul(ctx, &L->ffn_down, &L->ffn_down_b, ctx->hb, out, n);
        }
    }
    if (s != TFM_OK) return s;
    if (L->ffn_post_norm.data) tfm__model_norm_rows(c, out, out, &L->ffn_post_norm, NULL, n, c->dim);
    tfm_add(ctx->x, ctx->x, out, (size_t)n * (size_t)c->dim);
    tfm__model_residual_norm(c, ctx->x, &L->ffn_out_norm, &L->ffn_out_norm_b, n);
    return TFM_OK;
}

/* With ctx->check_finite, the first NaN or infinity in the n x dim residual stream after block `what`
   of layer l: TFM_ERR_FORMAT naming where (the model's weights, or values overflowing them). */
static tfm_status tfm__model_check_finite(const tfm_context *ctx, const float *x, int n, int l, const char *what,
                                          tfm_error *err)
{
    size_t i, count = (size_t)n * (size_t)ctx->model->config.dim;
    if (!ctx->check_finite) return TFM_OK;
    for (i = 0; i < count; i++)
        if (!isfinite(x[i]))
            return tfm_error_set(err, TFM_ERR_FORMAT,
                                 "layer %d's %s block made the first non-finite value (%s) of the residual stream, at "
                                 "position %d, dim %d",
                                 l, what, x[i] != x[i] ? "NaN" : "inf", ctx->pos + (int)(i / (size_t)ctx->model->config.dim),
                                 (int)(i % (size_t)ctx->model->config.dim));
    return TFM_OK;
}

/* The residual stream's first value for a token at position pos: its embedding (scaled), plus its learned
   position and token type 0 where the model has them, normalised where the model normalises it. ctx->xb's
   first row is scratch. */
static tfm_status tfm__model_embed_token(tfm_context *ctx, int token, int pos, float *out)
{
    const tfm_model *m = ctx->model;
    const size_t dim = (size_t)m->config.dim;
    tfm_status s = tfm__model_embed(&m->token_embd, token, out);
    if (s == TFM_OK && m->config.embd_scale > 0.0f && m->config.embd_scale != 1.0f) tfm_scale(out, m->config.embd_scale, dim);
    if (s == TFM_OK && m->token_types.data) {
        s = tfm__model_embed(&m->token_types, 0, ctx->xb);
        tfm_add(out, out, ctx->xb, dim);
    }
    if (s == TFM_OK && m->pos_embd.data) {
        s = tfm__model_embed(&m->pos_embd, pos, ctx->xb);
        tfm_add(out, out, ctx->xb, dim);
    }
    if (s == TFM_OK && m->embd_norm.data) tfm__model_norm_rows(&m->config, out, out, &m->embd_norm, &m->embd_norm_b, 1, (int)dim);
    return s;
}

/* One chunk of n <= max_batch tokens at positions ctx->pos ...; logits (may be NULL) receive the last
   row or every row. The one forward pass of every family: what differs is read from the config and
   from which tensors the layers have. */
static tfm_status tfm__model_forward_chunk(tfm_context *ctx, const int *tokens, int n, float *logits, int all_rows,
                                           tfm_error *err)
{
    const tfm_model *m = ctx->model;
    const tfm_model_config *c = &m->config;
    const size_t dim = (size_t)c->dim;
    float *x = ctx->x;
    tfm_status s = TFM_OK;
    int i, l, located = 0;

    const tfm__rows one = {0, NULL};
    for (i = 0; i < n && s == TFM_OK; i++)
        s = tfm__model_embed_token(ctx, tokens[i], tfm__model_row_pos(ctx, i), x + (size_t)i * dim);
    if (s != TFM_OK) return tfm_error_set(err, s, "embedding lookup failed: %s", tfm_status_string(s));
    if (c->rope_dim > 0) tfm__model_rope_tables(ctx, ctx->pos, n);

    for (l = 0; l < c->n_layers; l++) {
        s = tfm__model_attention_block(ctx, l, n, &one);
        if (s == TFM_OK) located = (s = tfm__model_check_finite(ctx, x, n, l, "attention", err)) != TFM_OK;
        if (s == TFM_OK) s = tfm__model_ffn_block(ctx, l, n);
        if (s == TFM_OK)
            located = (s = tfm__model_check_finite(ctx, x, n, l, c->n_experts > 0 ? "mixture-of-experts" : "feed-forward",
                                                   err)) != TFM_OK;
        if (s != TFM_OK) break;
    }
    if (s != TFM_OK) {
        if (!ctx->batch) tfm__model_rollback(ctx);
        for (i = 0; ctx->batch && i < n; i++) tfm__model_rollback(ctx->batch[i]);
        if (located) return s; /* the message says where */
        return tfm_error_set(err, s, "forward pass failed in layer %d: %s", l, tfm_status_string(s));
    }
    if (ctx->batch) {
        for (i = 0; i < n; i++) ctx->batch[i]->tokens[ctx->batch[i]->pos++] = tokens[i];
    } else {
        memcpy(ctx->tokens + ctx->pos, tokens, sizeof(int) * (size_t)n);
        ctx->pos += n;
    }

    /* classifier: logits = W_out norm(x), soft-capped where the family caps them, for the rows asked for */
    if (logits) {
        int first = all_rows ? 0 : n - 1, rows = all_rows ? n : 1;
        const float *h = tfm__model_block_input(c, ctx->xb, x + (size_t)first * dim, &m->output_norm, &m->output_norm_b, rows);
        s = tfm__model_matmul(ctx, &m->output, NULL, h, logits, rows);
        if (s != TFM_OK) return tfm_error_set(err, s, "classifier failed: %s", tfm_status_string(s));
        if (c->logit_softcap > 0.0f) tfm_softcap(logits, (size_t)rows * (size_t)c->vocab_size, c->logit_softcap);
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
    if (ctx->model->config.bidirectional)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED,
                             "tfm_forward: %s is an encoder (no logits, no KV cache): use tfm_encode or tfm_embed.h",
                             ctx->model->config.arch ? ctx->model->config.arch : "the model");
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

/* Whether a batched step can share the weights and still give each row tfm_forward's result: every
   matrix in a block format (the int8 kernels: a gemm row equals the gemv), no experts. */
static int tfm__model_batchable(const tfm_model *m)
{
    int l, j;
    if (m->config.n_experts > 0 || tfm__is_float_weight(m->output.tensor.dtype)) return 0;
    for (l = 0; l < m->config.n_layers; l++) {
        const tfm_layer *L = &m->layers[l];
        const tfm_weight *all[7];
        all[0] = &L->wq, all[1] = &L->wk, all[2] = &L->wv, all[3] = &L->wo;
        all[4] = &L->ffn_gate, all[5] = &L->ffn_up, all[6] = &L->ffn_down;
        for (j = 0; j < 7; j++)
            if (all[j]->tensor.data && tfm__is_float_weight(all[j]->tensor.dtype)) return 0;
    }
    return 1;
}

tfm_status tfm_forward_batch(tfm_context *const *ctxs, const int *tokens, int n, float *logits, tfm_error *err)
{
    tfm_context *lead;
    size_t vocab;
    tfm_status s = TFM_OK;
    int i, j;
    tfm_error_clear(err);
    if (!ctxs || !tokens || n <= 0 || !ctxs[0])
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_forward_batch: no contexts or no tokens");
    lead = ctxs[0];
    vocab = (size_t)lead->model->config.vocab_size;
    if (lead->model->config.bidirectional)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "tfm_forward_batch: an encoder has no decode step (tfm_encode)");
    if (n > lead->max_batch)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                             "tfm_forward_batch: %d sequences, the first context's max_batch is %d", n, lead->max_batch);
    for (i = 0; i < n; i++) {
        if (!ctxs[i] || ctxs[i]->model != lead->model)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_forward_batch: context %d is missing or of another model",
                                 i);
        for (j = 0; j < i; j++)
            if (ctxs[j] == ctxs[i])
                return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_forward_batch: contexts %d and %d are the same",
                                     j, i);
        if (tokens[i] < 0 || (size_t)tokens[i] >= vocab)
            return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "token %d (of sequence %d) is outside the vocabulary 0..%d",
                                 tokens[i], i, (int)vocab - 1);
        if (ctxs[i]->pos >= ctxs[i]->context_length)
            return tfm_error_set(err, TFM_ERR_CONTEXT_FULL, "context full: sequence %d is at position %d of %d", i,
                                 ctxs[i]->pos, ctxs[i]->context_length);
    }
    if (n == 1 || !tfm__model_batchable(lead->model)) {
        for (i = 0; i < n && s == TFM_OK; i++)
            s = tfm_forward(ctxs[i], &tokens[i], 1, logits ? logits + (size_t)i * vocab : NULL, TFM_LOGITS_LAST, err);
        return s;
    }
    for (i = 0; i < n; i++) ctxs[i]->has_logits = 0;
    lead->batch = ctxs;
    s = tfm__model_forward_chunk(lead, tokens, n, logits, 1, err);
    lead->batch = NULL;
    if (s != TFM_OK || !logits) return s;
    for (i = 0; i < n; i++) {
        memcpy(ctxs[i]->logits, logits + (size_t)i * vocab, sizeof(float) * vocab);
        ctxs[i]->has_logits = 1;
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
    else {
        /* a file's number becomes a tfm_attn_kind only when it is one (another value is undefined in C++) */
        const char *name = d->function <= (uint32_t)TFM_ATTN_LINEAR ? tfm_attn_kind_name((tfm_attn_kind)d->function) : NULL;
        snprintf(out, cap, "%s%s", name ? name : "?", kv);
    }
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

static uint64_t tfm__model_fingerprint(const tfm_model *model)
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

uint64_t tfm_model_fingerprint(const tfm_model *model)
{
    if (!model) return 0;
    return model->fingerprint ? model->fingerprint : tfm__model_fingerprint(model);
}

/* The file layout (every integer little-endian):
     "TFMSTATE", u32 version, u32 n_layers, n_kv_heads, head_dim, vocab_size, n_tokens, has_logits,
     context_length (of the saver: at least n_tokens), u64 fingerprint,
     per layer: u32 function, window, block, n_global, n_window, n_random, u64 seed, u32 kv_type, ring_capacity
     (the window when the saver's context_length exceeded it, else 0), u64 reserved (0);
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

/* A piece is read a part of this many bytes at a time and each part hashed right after it lands, while
   it is in cache (the rows cross memory once, not once for the copy and again for the checksum). A
   writer gets each piece whole, hashed first: the page cache's writes cost per call, and saves in parts
   were slower (README, "Context state"). */
#define TFM__STATE_PART ((size_t)128 << 10)

static tfm_status tfm__state_out(tfm__state_stream *st, const void *data, size_t n)
{
    if (n == 0) return TFM_OK;
    st->hash = tfm_hash64(data, n, st->hash);
    return st->write(st->user, data, n);
}

static tfm_status tfm__state_in(tfm__state_stream *st, void *data, size_t n)
{
    unsigned char *p = (unsigned char *)data;
    tfm__hasher h;
    tfm_status s = TFM_OK;
    size_t at;
    if (n == 0) return TFM_OK;
    tfm__hasher_begin(&h, st->hash);
    for (at = 0; at < n && s == TFM_OK; at += TFM__STATE_PART) {
        size_t part = n - at < TFM__STATE_PART ? n - at : TFM__STATE_PART;
        s = st->read(st->user, p + at, part);
        if (s == TFM_OK) tfm__hasher_add(&h, p + at, part);
    }
    if (s == TFM_OK) st->hash = tfm__hasher_end(&h);
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
    uint32_t n = tfm__get_u32(head + 28), has_logits = tfm__get_u32(head + 32), saved_length = tfm__get_u32(head + 36);
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
    if (has_logits > 1 || saved_length == 0 || saved_length > (uint32_t)INT_MAX || n > saved_length)
        return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted state header");
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
    uint32_t saved_length = 0;
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
        saved_length = tfm__get_u32(head + 36);
    }
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) {
        unsigned char rec[TFM__STATE_LAYER];
        tfm__state_layer d;
        s = tfm__state_in(&st, rec, TFM__STATE_LAYER);
        if (s != TFM_OK) break;
        d = tfm__state_get_layer(rec);
        /* the fields a loader does not compare with its own context are still what a writer writes: a ring
           (of the window's rows) exactly when the saver's context was longer than its window, nothing reserved */
        if (d.ring_capacity != (d.function == (uint32_t)TFM_ATTN_WINDOW && d.window < saved_length ? d.window : 0) ||
            tfm__get_u64(rec + 40) != 0)
            return tfm_error_set(err, TFM_ERR_FORMAT, "corrupted state: layer %d's record (a ring of %lu rows)", l,
                                 (unsigned long)d.ring_capacity);
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
    tfm_file_writer out;
    tfm_status s;
    tfm_error_clear(err);
    if (!ctx || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no context or no path");
    /* through a temporary file renamed into place; never over the model file the context reads */
    if ((s = tfm_file_writer_open(&out, path, &ctx->model->file.id, 1, err)) != TFM_OK) return s;
    s = tfm_context_state_write(ctx, tfm__state_file_write, out.f, err);
    if (s != TFM_OK) {
        tfm_file_writer_abort(&out);
        return tfm_error_set(err, s, "writing '%s' failed (disk full?)", path);
    }
    return tfm_file_writer_commit(&out, err);
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

/* One batch of tfm_encode: n_seq sequences of lens[s] tokens, at most max_batch rows in all, the longest
   seq_len. */
static tfm_status tfm__model_encode_batch(tfm_context *ctx, const int *const *tokens, const int *lens, int n_seq,
                                          int seq_len, float *hidden, tfm_error *err)
{
    const tfm_model *m = ctx->model;
    const tfm_model_config *c = &m->config;
    const size_t dim = (size_t)c->dim;
    tfm__rows rows;
    size_t need = 0, at = 0;
    tfm_status s = TFM_OK;
    int n = 0, i, l, t;
    for (i = 0; i < n_seq; i++) n += lens[i];
    if (n < TFM_ENCODE_MIN_ROWS) n = TFM_ENCODE_MIN_ROWS < ctx->max_batch ? TFM_ENCODE_MIN_ROWS : ctx->max_batch;
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) {
        s = tfm_attn_workspace_size(&ctx->attn[l], seq_len, seq_len, &need);
        if (s == TFM_OK && need > ctx->attn_ws_bytes) s = TFM_ERR_OUT_OF_MEMORY;
    }
    if (s != TFM_OK)
        return tfm_error_set(err, s, "attention workspace for a sequence of %d tokens: %s", seq_len, tfm_status_string(s));
    /* filler rows start as zeros: finite through every norm, never attended */
    memset(ctx->x, 0, sizeof(float) * (size_t)n * dim);
    for (i = 0; i < n_seq && s == TFM_OK; i++)
        for (t = 0; t < lens[i] && s == TFM_OK; t++, at++) s = tfm__model_embed_token(ctx, tokens[i][t], t, ctx->x + at * dim);
    if (s != TFM_OK) return tfm_error_set(err, s, "embedding lookup failed: %s", tfm_status_string(s));
    if (c->rope_dim > 0) tfm__model_rope_tables(ctx, 0, seq_len);
    rows.n_seq = n_seq;
    rows.lens = lens;
    for (l = 0; l < c->n_layers && s == TFM_OK; l++) {
        s = tfm__model_attention_block(ctx, l, n, &rows);
        if (s == TFM_OK) s = tfm__model_ffn_block(ctx, l, n);
    }
    if (s != TFM_OK) return tfm_error_set(err, s, "forward pass failed in layer %d: %s", l - 1, tfm_status_string(s));
    if (m->output_norm.data) tfm__model_norm_rows(c, hidden, ctx->x, &m->output_norm, &m->output_norm_b, (int)at, c->dim);
    else memcpy(hidden, ctx->x, sizeof(float) * at * dim);
    return TFM_OK;
}

tfm_status tfm_encode(tfm_context *ctx, const int *const *tokens, const int *n_tokens, int n_seq, float *hidden,
                      tfm_error *err)
{
    int i, j, first, longest;
    tfm_error_clear(err);
    if (!ctx || !tokens || !n_tokens || n_seq <= 0 || !hidden)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_encode: no context, no sequences or no output");
    if (ctx->n_threads <= 0) ctx->n_threads = tfm_default_threads();
    if (ctx->n_threads > ctx->max_threads) ctx->n_threads = ctx->max_threads;
    for (i = 0; i < n_seq; i++) {
        int most = ctx->max_batch < ctx->context_length ? ctx->max_batch : ctx->context_length;
        if (!tokens[i] || n_tokens[i] <= 0)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_encode: sequence %d is empty", i);
        if (n_tokens[i] > most)
            return tfm_error_set(err, TFM_ERR_CONTEXT_FULL,
                                 "sequence %d has %d tokens, more than the context takes (%d: context length %d, "
                                 "max_batch %d)", i, n_tokens[i], most, ctx->context_length, ctx->max_batch);
        for (j = 0; j < n_tokens[i]; j++)
            if (tokens[i][j] < 0 || tokens[i][j] >= ctx->model->config.vocab_size)
                return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE,
                                     "token %d (sequence %d, index %d) is outside the vocabulary 0..%d", tokens[i][j], i,
                                     j, ctx->model->config.vocab_size - 1);
    }
    for (first = 0; first < n_seq; first = i) {
        tfm_status s;
        int rows = n_tokens[first];
        longest = n_tokens[first];
        for (i = first + 1; i < n_seq && rows + n_tokens[i] <= ctx->max_batch; i++) {
            rows += n_tokens[i];
            if (n_tokens[i] > longest) longest = n_tokens[i];
        }
        s = tfm__model_encode_batch(ctx, tokens + first, n_tokens + first, i - first, longest, hidden, err);
        if (s != TFM_OK) return s;
        for (j = first; j < i; j++) hidden += (size_t)n_tokens[j] * (size_t)ctx->model->config.dim;
    }
    return TFM_OK;
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
            for (i = 0; i < n && s == TFM_OK; i++)
                if (!isfinite(nll[i]))
                    s = tfm_error_set(err, TFM_ERR_FORMAT,
                                      "chunk %d, position %d: the logits are not finite (NaN or inf): the model's "
                                      "weights hold one, or overflow",
                                      chunk + 1, done + i);
            if (s != TFM_OK) break;
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
    case TFM_Q5_0: return 8;
    case TFM_Q5_1: return 9;
    case TFM_Q2_K: return 10;
    case TFM_Q3_K: return 11; /* the _S mixes: every matrix in the one type */
    case TFM_Q4_K: return 14;
    case TFM_Q5_K: return 16;
    case TFM_Q6_K: return 18;
    case TFM_IQ4_NL: return 25;
    case TFM_IQ4_XS: return 30;
    case TFM_BF16: return 32;
    default: return 0;
    }
}

/* `<arch>.<name>` = v (u32 or f32) into the writer, when s is still TFM_OK */
static tfm_status tfm__model_put_u32(tfm_gguf_writer *w, tfm_status s, const char *arch, const char *name, uint32_t v,
                                     tfm_error *err)
{
    char key[96];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    return s == TFM_OK ? tfm_gguf_writer_add_u32(w, key, v, err) : s;
}

static tfm_status tfm__model_put_f32(tfm_gguf_writer *w, tfm_status s, const char *arch, const char *name, float v,
                                     tfm_error *err)
{
    char key[96];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    return s == TFM_OK ? tfm_gguf_writer_add_f32(w, key, v, err) : s;
}

tfm_status tfm_model_gguf_add_config(tfm_gguf_writer *w, const tfm_model_config *c, const char *name, tfm_dtype type,
                                     tfm_error *err)
{
    const char *arch = c && c->arch ? c->arch : "llama";
    const tfm__arch *a = tfm__model_arch(arch, strlen(arch));
    tfm_status s;
    if (!w || !c) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no writer or no config");
    if (!a) return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "architecture '%s' is not one tfm writes", arch);
    s = tfm_gguf_writer_add_string(w, "general.architecture", arch, err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_string(w, "general.name", name ? name : "tfm", err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "general.file_type", tfm_model_gguf_file_type(type), err);
    if (s == TFM_OK) s = tfm_gguf_writer_add_u32(w, "general.quantization_version", 2, err);
    s = tfm__model_put_u32(w, s, arch, "context_length", (uint32_t)c->context_length, err);
    s = tfm__model_put_u32(w, s, arch, "embedding_length", (uint32_t)c->dim, err);
    s = tfm__model_put_u32(w, s, arch, "feed_forward_length", (uint32_t)c->hidden_dim, err);
    s = tfm__model_put_u32(w, s, arch, "attention.head_count", (uint32_t)c->n_heads, err);
    s = tfm__model_put_u32(w, s, arch, "attention.head_count_kv", (uint32_t)c->n_kv_heads, err);
    s = tfm__model_put_u32(w, s, arch, "block_count", (uint32_t)c->n_layers, err);
    if (c->n_heads > 0 && c->head_dim * c->n_heads != c->dim) {
        s = tfm__model_put_u32(w, s, arch, "attention.key_length", (uint32_t)c->head_dim, err);
        s = tfm__model_put_u32(w, s, arch, "attention.value_length", (uint32_t)c->head_dim, err);
    }
    if (a->rope_mode >= 0 && c->rope_dim > 0) {
        s = tfm__model_put_u32(w, s, arch, "rope.dimension_count", (uint32_t)c->rope_dim, err);
        s = tfm__model_put_f32(w, s, arch, "rope.freq_base", c->rope_base, err);
    }
    s = tfm__model_put_f32(w, s, arch, a->norm == TFM_NORM_LAYER ? "attention.layer_norm_epsilon"
                                                                  : "attention.layer_norm_rms_epsilon", c->norm_eps, err);
    if (c->n_experts > 0) {
        s = tfm__model_put_u32(w, s, arch, "expert_count", (uint32_t)c->n_experts, err);
        s = tfm__model_put_u32(w, s, arch, "expert_used_count", (uint32_t)c->n_experts_used, err);
        if (a->experts == 2) s = tfm__model_put_u32(w, s, arch, "expert_feed_forward_length", (uint32_t)c->hidden_dim, err);
    }
    /* the family's own keys, where they differ from what the loader assumes without them */
    if (a->softcaps) s = tfm__model_put_f32(w, s, arch, "attn_logit_softcapping", c->attn_softcap, err);
    if (a->softcaps) s = tfm__model_put_f32(w, s, arch, "final_logit_softcapping", c->logit_softcap, err);
    if (a->swa_period >= 0) s = tfm__model_put_u32(w, s, arch, "attention.sliding_window", (uint32_t)c->sliding_window, err);
    if (c->rope_freq_scale > 0.0f && c->rope_freq_scale != 1.0f) {
        if (s == TFM_OK) {
            char key[96];
            snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
            s = tfm_gguf_writer_add_string(w, key, "linear", err);
        }
        s = tfm__model_put_f32(w, s, arch, "rope.scaling.factor", 1.0f / c->rope_freq_scale, err);
    }
    if (c->rope_attn_factor > 0.0f && c->rope_attn_factor != 1.0f)
        s = tfm__model_put_f32(w, s, arch, "rope.scaling.attn_factor", c->rope_attn_factor, err);
    if (c->rope_orig_context > 0 && c->rope_orig_context != c->context_length)
        s = tfm__model_put_u32(w, s, arch, "rope.scaling.original_context_length", (uint32_t)c->rope_orig_context, err);
    if (a->encoder && s == TFM_OK) {
        char key[96];
        snprintf(key, sizeof key, "%s.attention.causal", arch);
        s = tfm_gguf_writer_add_bool(w, key, !c->bidirectional, err);
    }
    if (c->pooling > 0) s = tfm__model_put_u32(w, s, arch, "pooling_type", (uint32_t)c->pooling, err);
    return s;
}

/* Entry k of the table's tensors each layer of family a's file holds (a fused matrix and its bias under
   the name of their first part), or NULL past the last. */
static const tfm__layer_tensor *tfm__model_gguf_written(const tfm__arch *a, const tfm_model_config *c, int k)
{
    int fused_qkv = ((a->required | a->optional) & TFM__F_FUSED_QKV) != 0;
    int fused_up = (a->required & TFM__F_FUSED_UP) && c->n_experts == 0;
    size_t j;
    for (j = 0; j < TFM__N_LAYER_TENSORS; j++) {
        const tfm__layer_tensor *t = &tfm__layer_tensors[j];
        size_t at = t->offset;
        int part = (fused_qkv && (at == offsetof(tfm_layer, wk) || at == offsetof(tfm_layer, wv) ||
                                  at == offsetof(tfm_layer, bk) || at == offsetof(tfm_layer, bv))) ||
                   (fused_up && at == offsetof(tfm_layer, ffn_gate));
        if (tfm__layer_has(c, t) && (a->required & (unsigned)t->feature) && !part && k-- == 0) return t;
    }
    return NULL;
}

/* Tensor i of family a's file for config c (tfm_model_gguf_tensor). */
static int tfm__model_gguf_list(const tfm__arch *a, const tfm_model_config *c, int i, char *name, size_t cap, int64_t *ne)
{
    int fused_qkv = ((a->required | a->optional) & TFM__F_FUSED_QKV) != 0;
    int fused_up = (a->required & TFM__F_FUSED_UP) && c->n_experts == 0;
    const char *names[8];
    int64_t rows[8];
    int n_model = 0, n_layer = 0;
    const tfm__layer_tensor *e;
    const int64_t qkv = tfm__model_dim(c, TFM__D_Q) + 2 * tfm__model_dim(c, TFM__D_KV);
    /* the model's own tensors in the converters' order (rows 0: a vector) */
    names[n_model] = "token_embd.weight", rows[n_model++] = c->vocab_size;
    if (a->required & TFM__F_POS_EMBD) names[n_model] = "position_embd.weight", rows[n_model++] = c->context_length;
    if (a->required & TFM__F_TOKEN_TYPES) {
        names[n_model] = "token_types.weight", rows[n_model++] = 2; /* tokenizer.ggml.token_type_count */
        names[n_model] = "token_embd_norm.weight", rows[n_model++] = 0;
        names[n_model] = "token_embd_norm.bias", rows[n_model++] = 0;
    }
    if (a->required & TFM__F_PRE_NORMS) names[n_model] = "output_norm.weight", rows[n_model++] = 0;
    if (a->required & TFM__F_NORM_BIAS) names[n_model] = "output_norm.bias", rows[n_model++] = 0;
    ne[0] = c->dim, ne[1] = 0, ne[2] = 1;
    if (i < n_model) return snprintf(name, cap, "%s", names[i]), ne[1] = rows[i], 1;
    i -= n_model;
    while (tfm__model_gguf_written(a, c, n_layer)) n_layer++;
    if (n_layer == 0 || i >= n_layer * c->n_layers) return 0;
    e = tfm__model_gguf_written(a, c, i % n_layer);
    ne[0] = tfm__model_dim(c, e->cols), ne[1] = e->rows == TFM__D_ONE ? 0 : tfm__model_dim(c, e->rows);
    ne[2] = tfm__model_dim(c, e->depth);
    if (fused_qkv && e->offset == offsetof(tfm_layer, wq)) {
        snprintf(name, cap, "blk.%d.attn_qkv.weight", i / n_layer);
        ne[1] = qkv;
    } else if (fused_qkv && e->offset == offsetof(tfm_layer, bq)) {
        snprintf(name, cap, "blk.%d.attn_qkv.bias", i / n_layer);
        ne[0] = qkv;
    } else {
        snprintf(name, cap, "blk.%d.%s", i / n_layer, e->name);
        if (fused_up && e->offset == offsetof(tfm_layer, ffn_up)) ne[1] = 2 * (int64_t)c->hidden_dim;
    }
    return 1;
}

int tfm_model_gguf_tensor(const tfm_model_config *c, int i, char *name, size_t cap, int64_t ne[3])
{
    const char *arch = c && c->arch ? c->arch : "llama";
    const tfm__arch *a = tfm__model_arch(arch, strlen(arch));
    if (!c || !a || !name || !ne || i < 0) return 0;
    return tfm__model_gguf_list(a, c, i, name, cap, ne);
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
    if (tok && tfm_tokenizer_kind_of(tok) != TFM_TOKENIZER_SPM)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "writing a '%s' vocab is not supported (only 'llama')",
                             tfm_tokenizer_kind_name(tfm_tokenizer_kind_of(tok)));
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

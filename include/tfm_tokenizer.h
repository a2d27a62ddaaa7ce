/* tfm_tokenizer.h - the tokenizers of tfm: SentencePiece BPE, byte-level BPE and WordPiece.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     The three tokenizers of the models people download, each described by data (one row of a table
     of kinds, one of a table of pre-tokenizers) and run by one code path where they share steps
     (special tokens, merges, decode), giving exactly llama.cpp's ids (b4747, on every test vocab):
       "llama"  SentencePiece BPE (Llama 1/2, Mistral, Phi-3, TinyLlama, llama2.c): a dummy-prefix
                space, each UTF-8 character looked up (byte fallback to the <0xNN> tokens), then greedy
                merges of the adjacent pair whose concatenation is the piece with the highest score
                (ties: the leftmost), in O(n log n) (a heap over a linked list; llama2.c rescans every
                pair after every merge). Exactly llama2.c's ids for its tokenizer.bin.
       "gpt2"   byte-level BPE (GPT-2, Llama 3, Qwen 2/2.5/3, SmolLM, DeepSeek, StarCoder, Falcon,
                MPT): the text is cut into words by the pre-tokenizer named by tokenizer.ggml.pre (see
                PRE-TOKENIZERS), each word's bytes are spelled in GPT-2's byte-to-unicode alphabet and
                merged by rank (tokenizer.ggml.merges: the lowest rank first, ties leftmost).
       "bert"   WordPiece (BERT, BGE, MiniLM): lower-casing and accent stripping, words split at
                whitespace, punctuation and CJK ideographs, each word matched greedily longest-first
                (continuations without a leading space), a word with no match becomes [UNK]; [CLS] and
                [SEP] around the text.
     Special tokens (control, user-defined, unknown) are cut out of the text before the tokenizer
     sees it: control and unknown ones only when the caller asks (TFM_TOKENIZE_PARSE_SPECIAL),
     user-defined ones always (llama.cpp's rule: Qwen's <think>, MPT's runs of spaces). BOS/EOS (or
     [CLS]/[SEP]) are added as the vocab says (add_bos/add_eos). tfm_tokenizer_is_eog tells the tokens
     that end a generation. tfm_token_stream decodes token by token and never splits a UTF-8
     character. Loaders: llama2.c's tokenizer.bin, a tfm_vocab (arrays, as a GGUF file holds them;
     tfm_model.h reads the GGUF keys into one: tfm_model_load_vocab). The tokenizer knows no tensors;
     it uses tfm_tensor.h only for tfm_status/tfm_error and the allocator hooks.

   USAGE
       tfm_tokenizer *tok;
       tfm_error err;
       int ids[64], n;
       if (tfm_tokenizer_load_llama2c(&tok, "tok512.bin", 0, &err) != TFM_OK) { puts(err.message); ... }
       tfm_tokenize(tok, "Once upon a time", 16, TFM_TOKENIZE_ADD_SPECIAL, ids, 64, &n, &err);
                                                                        -> 1 403 407 261 378
       tfm_token_stream stream;  char out[256];  size_t len;
       tfm_token_stream_init(&stream);
       for (i = 0; i < n; i++) {               (out needs tfm_tokenizer_max_piece(tok) + 4 bytes)
           tfm_token_stream_push(&stream, tok, ids[i], out, sizeof out, &len);
           fwrite(out, 1, len, stdout);
       }
       tfm_token_stream_flush(&stream, out, sizeof out, &len);  fwrite(out, 1, len, stdout);
       tfm_tokenizer_free(tok);
     In exactly one file #define TFM_IMPLEMENTATION before the include (see tfm_tensor.h).

   PRE-TOKENIZERS ("gpt2" vocabs; tokenizer.ggml.pre; every name llama.cpp b4747 gives these rules)
     Each is the regex its tokenizer.json names, or the list of regexes llama.cpp applies in turn (each
     cuts every piece the previous ones left into its matches and the text between them), written as
     a hand-made matcher with the regex's semantics (leftmost match, alternatives in order):
       gpt-2, mpt, phi-2, olmo, jais, roberta-bpe, gigachat, jina-es, jina-de, jina-v1-en,
       jina-v2-es, jina-v2-de, jina-v2-code
                       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
       llama-bpe, llama3, llama-v3, falcon3 (also ignore_merges, add_bos), dbrx, smaug-bpe
                       (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
                       ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+      (one line in the source)
       qwen2, stablelm2, deepseek-r1-qwen, megrez
                       the same with \p{N} (one digit) for \p{N}{1,3}
       starcoder, smollm, refact, command-r, codeshell, exaone, minerva-7b
                       \p{N}, then the gpt-2 regex
       falcon          [\p{P}$+<=>^~|`]+, the gpt-2 regex, [0-9][0-9][0-9]
       default         [\p{P}$+<=>^~|]+, the gpt-2 regex, \p{N}+, [0-9][0-9][0-9]   (also: no pre key)
       deepseek-llm    [\r\n], \s?[A-Za-zµÀ-ÖØ-öø-ƺ... Latin, Greek, Cyrillic, ... letters]+,
                       \s?[!-/:-~！-／：-～‘-‟　-。]+, \s+$, [一-龥ࠀ-一가-퟿]+, \p{N}+
     Any other name is an error naming it. \p{L} \p{N} \p{P} \s are Unicode's letters, numbers,
     punctuation and White_Space, from the table generated into this header by tools/gen_unicode.py
     (Unicode 15.0 of Debian's unicode-data; llama.cpp b4747's table is Unicode 15.1, which adds 627
     code points, CJK Extension I among them, that 15.0 leaves unassigned). No pre-tokenizer here
     normalizes (NFC/NFD): the families above do not, and llama.cpp does not either (a decomposed
     "e" + U+0301 stays two characters, as in qwen3's hard case 3). Text that is not UTF-8 reads as
     llama.cpp reads it: each byte of a malformed sequence (and of one above U+10FFFF, where llama.cpp
     throws) is U+FFFD; overlong forms and surrogates decode to their code point.

   RULES (where this pins down what the references leave open, or differs from them)
     - Text is bytes with a length, not a C string: a NUL byte is encoded like any byte.
     - SentencePiece: control, unknown and unused tokens are never produced from text (llama2.c could
       in principle merge them; no Llama vocab has a split of them into two pieces, so the ids are the
       same); only pieces scoring above -1e10 (llama2.c's starting best score) merge; a NaN score never
       merges; the dummy prefix goes before the text and after every special token in it (llama.cpp),
       unless the vocab says add_space_prefix false. Byte fallback uses the <0xNN> tokens; a vocab
       without the byte token falls back to the unknown token. A GGUF vocab reads text as llama.cpp
       does: a U+2581 written in the text is a space, and text that is not UTF-8 has its spaces
       escaped to U+2581 first, then each lead byte takes as many bytes as it announces, whatever they
       are; llama2.c's tokenizer.bin reads it as llama2.c (a lead byte and at most 3 continuation bytes).
     - Of several tokens with the same text, the lowest id is the one text finds (llama.cpp refuses
       such vocabs). A token with empty text is never found in text and decodes to nothing (llama.cpp
       renames it "[EMPTY_i]").
     - Byte-level BPE: every merge must name two tokens whose concatenation is a token (Hugging Face
       builds refuse others too; llama.cpp ignores merges without a space): anything else is an error
       naming the merge. Duplicate merges keep their first rank. A byte the vocab cannot spell is
       dropped (as llama.cpp drops it).
     - Special tokens are cut out longest first, each leftmost first (llama.cpp's order); among
       special tokens of one length, the lower id first. Vocabs of Phi-3 strip the whitespace after
       their special tokens (tfm_vocab.rstrip_specials: llama.cpp decides it by the model's name).
     - WordPiece: lower-casing and accent stripping (the first code point of the canonical
       decomposition) are on, as llama.cpp always does for a GGUF vocab (a GGUF file does not say
       whether the model is cased); tfm_vocab.keep_case turns both off. Control characters, NUL and
       U+FFFD are dropped, CJK ideographs and punctuation (and ASCII symbols) are words of their own.
     - End of generation (tfm_tokenizer_is_eog): llama.cpp's set: EOS, EOT, EOM, the FIM pad/repo/sep
       tokens and every token spelled <|eot_id|> <|im_end|> <|end|> <end_of_turn> <|endoftext|>
       <|eom_id|> <EOT>; EOT, EOM and the FIM tokens are found by their text when the vocab names
       none (the first of the spellings llama.cpp knows that the vocab has), and such tokens become
       control tokens.
       A llama2.c tokenizer.bin adds BOS (run.c ends a story at BOS).
     - Decode: control, unknown and unused tokens give "" (llama.cpp), a byte token its byte, a
       user-defined token its text as stored, a normal token its text (SentencePiece and WordPiece:
       U+2581 read as ' '; byte-level: the bytes its characters stand for). After BOS (and, for
       WordPiece, at the start) a piece loses its leading space (llama2.c's rule). Decoding does not
       apply llama.cpp's clean_spaces (it does not give the text back).
     - tfm_tokenizer_piece_printable drops single bytes that are ASCII control characters other than
       whitespace. Unlike llama2.c (which drops every unprintable single byte), it keeps bytes >= 0x80.
*/
#ifndef TFM_TOKENIZER_H
#define TFM_TOKENIZER_H

#include "tfm_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tfm_tokenizer tfm_tokenizer;

/* Token types, with GGUF's tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
typedef enum tfm_token_type {
    TFM_TOKEN_NORMAL = 1,
    TFM_TOKEN_UNKNOWN = 2,
    TFM_TOKEN_CONTROL = 3,
    TFM_TOKEN_USER_DEFINED = 4,
    TFM_TOKEN_UNUSED = 5,
    TFM_TOKEN_BYTE = 6
} tfm_token_type;

/* The kinds of tokenizer (tokenizer.ggml.model: "llama", "gpt2", "bert"). */
typedef enum tfm_tokenizer_kind {
    TFM_TOKENIZER_SPM = 0, /* SentencePiece BPE */
    TFM_TOKENIZER_BPE = 1, /* byte-level BPE */
    TFM_TOKENIZER_WPM = 2  /* WordPiece */
} tfm_tokenizer_kind;

/* The special tokens a vocab names (GGUF's tokenizer.ggml.*_token_id keys). For WordPiece, BOS is [CLS]. */
typedef enum tfm_special {
    TFM_SPECIAL_BOS,
    TFM_SPECIAL_EOS,
    TFM_SPECIAL_EOT,
    TFM_SPECIAL_EOM,
    TFM_SPECIAL_UNK,
    TFM_SPECIAL_SEP,
    TFM_SPECIAL_PAD,
    TFM_SPECIAL_MASK,
    TFM_SPECIAL_FIM_PRE,
    TFM_SPECIAL_FIM_SUF,
    TFM_SPECIAL_FIM_MID,
    TFM_SPECIAL_FIM_PAD,
    TFM_SPECIAL_FIM_REP,
    TFM_SPECIAL_FIM_SEP,
    TFM_SPECIAL_COUNT
} tfm_special;

/* Largest vocab and merge list the loaders accept. */
#define TFM_TOKENIZER_MAX_VOCAB (1 << 24)
#define TFM_TOKENIZER_MAX_MERGES (1 << 24)
/* A tfm_vocab field set to this takes the kind's (and pre-tokenizer's) default, as llama.cpp does. */
#define TFM_VOCAB_DEFAULT (-2)

/* A vocab as a GGUF file holds it. Start from tfm_vocab_init (every choice at its default). */
typedef struct tfm_vocab {
    const char *model;          /* "llama", "gpt2" or "bert" (tokenizer.ggml.model) */
    const char *pre;            /* tokenizer.ggml.pre; NULL: "default" (read by "gpt2" only) */
    int n_tokens;
    const char *const *pieces;  /* n_tokens pieces as the file spells them (U+2581 for a SentencePiece
                                   or WordPiece space, GPT-2's byte alphabet for byte-level BPE) */
    const size_t *lengths;      /* bytes of each piece; NULL: NUL-terminated */
    const float *scores;        /* NULL: all 0 (only SentencePiece reads them) */
    const int32_t *types;       /* tfm_token_type of each token (0 counts as normal); NULL: all normal */
    int n_merges;               /* byte-level BPE: "left right" strings, by rank */
    const char *const *merges;
    const size_t *merge_lengths; /* NULL: NUL-terminated */
    int special[TFM_SPECIAL_COUNT]; /* ids; -1: none */
    int add_bos, add_eos;       /* 0/1: add BOS/EOS (WordPiece: [CLS]/[SEP]) with TFM_TOKENIZE_ADD_SPECIAL */
    int add_space_prefix;       /* 0/1: SentencePiece's dummy prefix */
    int rstrip_specials;        /* 1: whitespace after a special token is dropped (Phi-3); default 0 */
    int keep_case;              /* 1: WordPiece keeps case and accents; default 0 */
} tfm_vocab;

/* Every field NULL/0, every choice (special ids, add_bos, add_eos, add_space_prefix) TFM_VOCAB_DEFAULT. */
TFM_API void tfm_vocab_init(tfm_vocab *vocab);
/* Builds a tokenizer from a vocab; nothing of it is retained after the call. Bad vocabs (an unknown
   model or pre-tokenizer, a type out of range, a byte token not spelled <0xNN>, a special id out of
   range, a merge that names no tokens, a WordPiece vocab without an unknown token) fail with a
   message naming what is wrong. */
TFM_API tfm_status tfm_tokenizer_create(tfm_tokenizer **out, const tfm_vocab *vocab, tfm_error *err);

/* Loads a llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length,
   length bytes (little-endian). vocab_size > 0: the file must hold exactly that many tokens (pass the
   model's vocab size); 0: as many as the file holds. BOS is id 1, EOS id 2 (llama2.c's convention),
   add_bos 1; types are inferred: BOS/EOS control, <0xNN> byte, "<unk>" at id 0 unknown, the rest
   normal. Truncated or inconsistent files fail with TFM_ERR_FORMAT and a message in err. */
TFM_API tfm_status tfm_tokenizer_load_llama2c(tfm_tokenizer **out, const char *path, int vocab_size, tfm_error *err);
/* The same from a tokenizer.bin already in memory (not retained after the call). */
TFM_API tfm_status tfm_tokenizer_load_llama2c_memory(tfm_tokenizer **out, const void *data, size_t size,
                                                     int vocab_size, tfm_error *err);
/* A SentencePiece ("llama") vocab from arrays: tfm_tokenizer_create with model "llama", BOS bos_id, EOS
   eos_id (-1: none); types NULL: inferred as for tokenizer.bin. */
TFM_API tfm_status tfm_tokenizer_from_vocab(tfm_tokenizer **out, int n_vocab, const char *const *pieces,
                                            const size_t *lengths, const float *scores, const int32_t *types,
                                            int bos_id, int eos_id, tfm_error *err);
TFM_API void tfm_tokenizer_free(tfm_tokenizer *tok);

/* ---------------------------------------------------------------- queries */

TFM_API int tfm_tokenizer_vocab_size(const tfm_tokenizer *tok);
TFM_API tfm_tokenizer_kind tfm_tokenizer_kind_of(const tfm_tokenizer *tok);
/* "llama", "gpt2", "bert"; NULL for a value that is no kind. */
TFM_API const char *tfm_tokenizer_kind_name(tfm_tokenizer_kind kind);
/* The pre-tokenizer's name as the vocab gave it ("default" when it gave none). */
TFM_API const char *tfm_tokenizer_pre(const tfm_tokenizer *tok);
/* The id of a special token, -1 when the vocab has none. */
TFM_API int tfm_tokenizer_special(const tfm_tokenizer *tok, tfm_special which);
TFM_API int tfm_tokenizer_bos(const tfm_tokenizer *tok);
TFM_API int tfm_tokenizer_eos(const tfm_tokenizer *tok);
/* 1 when TFM_TOKENIZE_ADD_SPECIAL adds BOS ([CLS]) before / EOS ([SEP]) after the text. */
TFM_API int tfm_tokenizer_add_bos(const tfm_tokenizer *tok);
TFM_API int tfm_tokenizer_add_eos(const tfm_tokenizer *tok);
/* 1 when id ends a generation (see RULES), 0 otherwise (and for ids out of range). */
TFM_API int tfm_tokenizer_is_eog(const tfm_tokenizer *tok, int id);
/* Bytes of the longest piece tfm_tokenizer_decode gives. */
TFM_API size_t tfm_tokenizer_max_piece(const tfm_tokenizer *tok);
/* The piece as decode gives it without the context rules (the bytes of a byte-level token, U+2581
   read as ' ' in SentencePiece and WordPiece pieces), score and type of token id (any output may be
   NULL). The piece is followed by a NUL but may contain NULs (use *len); it lives as long as the
   tokenizer. */
TFM_API tfm_status tfm_tokenizer_token(const tfm_tokenizer *tok, int id, const char **piece, size_t *len,
                                       float *score, tfm_token_type *type);

/* ---------------------------------------------------------------- encode */

#define TFM_TOKENIZE_ADD_SPECIAL 1   /* BOS/EOS ([CLS]/[SEP]) as tfm_tokenizer_add_bos/add_eos say */
#define TFM_TOKENIZE_PARSE_SPECIAL 2 /* control and unknown tokens written in the text are matched */

/* Encodes len bytes of text. Writes at most max_ids ids and the full count to *n_ids; ids NULL: only
   counts. More ids than max_ids: the first max_ids are written and TFM_ERR_CONTEXT_FULL is returned.
   The count is at most 3 len + 2 (len + 3 for a SentencePiece vocab without user-defined tokens).
   Thread-safe: scratch is allocated per call, linear in len. err may be NULL. */
TFM_API tfm_status tfm_tokenize(const tfm_tokenizer *tok, const char *text, size_t len, int flags, int *ids,
                                int max_ids, int *n_ids, tfm_error *err);
/* The words a byte-level BPE vocab's pre-tokenizer cuts text into, in order, as the bytes the merges
   see (bad UTF-8 read as U+FFFD): word(user, bytes, len) for each (return 0 to stop); special tokens
   are cut out first as tfm_tokenize does (flags: TFM_TOKENIZE_PARSE_SPECIAL) and are not words. For
   inspecting and timing the pre-tokenizer alone; TFM_ERR_UNSUPPORTED for other kinds. */
typedef int (*tfm_tokenizer_word_fn)(void *user, const char *word, size_t len);
TFM_API tfm_status tfm_tokenizer_pretokenize(const tfm_tokenizer *tok, const char *text, size_t len, int flags,
                                             tfm_tokenizer_word_fn word, void *user, tfm_error *err);
/* Bytes of memory the tokenizer holds (what a loaded vocab costs beyond its file). */
TFM_API size_t tfm_tokenizer_memory(const tfm_tokenizer *tok);
/* The encode of earlier versions: BOS/EOS when bos/eos are nonzero (whatever the vocab says), special
   tokens in the text not parsed. */
TFM_API tfm_status tfm_tokenizer_encode(const tfm_tokenizer *tok, const char *text, size_t len, int bos, int eos,
                                        int *ids, int max_ids, int *n_ids);

/* ---------------------------------------------------------------- decode */

/* The text of token id when it follows prev_id (-1: none): *piece points into the tokenizer (valid
   while it lives), *len bytes, not NUL-terminated. A piece may end inside a UTF-8 character (byte
   tokens, byte-level pieces): tfm_token_stream holds such bytes back. See RULES above. */
TFM_API tfm_status tfm_tokenizer_decode(const tfm_tokenizer *tok, int prev_id, int id, const char **piece,
                                        size_t *len);
/* Decodes n ids into out (cap bytes), NUL-terminated when it fits; *len = the text's length.
   out NULL: only measures. Too small: writes what fits and returns TFM_ERR_CONTEXT_FULL. */
TFM_API tfm_status tfm_tokenizer_decode_ids(const tfm_tokenizer *tok, const int *ids, int n, char *out, size_t cap,
                                            size_t *len);

/* Streaming decode: the text of each token as soon as it is whole UTF-8 characters. A character split
   over tokens is held back (at most 3 bytes) until its last byte arrives; bytes that cannot start or
   continue a character are passed on as they are, so the concatenation of every push and the final
   flush equals tfm_tokenizer_decode_ids of the same ids, byte for byte. A caller-owned struct: no
   allocation. */
typedef struct tfm_token_stream {
    int prev_id;             /* the last token pushed, -1 at the start */
    int n_held;              /* bytes of an unfinished character held back */
    unsigned char held[4];
} tfm_token_stream;
TFM_API void tfm_token_stream_init(tfm_token_stream *stream);
/* Writes the text that token id completes to out (cap bytes, not NUL-terminated): at most the held
   bytes and the piece, so tfm_tokenizer_max_piece(tok) + 4 bytes always suffice. A cap too small:
   TFM_ERR_CONTEXT_FULL, *len the bytes needed, the stream unchanged. */
TFM_API tfm_status tfm_token_stream_push(tfm_token_stream *stream, const tfm_tokenizer *tok, int id, char *out,
                                         size_t cap, size_t *len);
/* The bytes still held (an unfinished character at the end of the text), then the stream is empty. */
TFM_API tfm_status tfm_token_stream_flush(tfm_token_stream *stream, char *out, size_t cap, size_t *len);
/* 0 for a piece not worth printing: empty, or one byte that is an ASCII control character other than
   whitespace; 1 otherwise (bytes >= 0x80 print; see RULES). */
TFM_API int tfm_tokenizer_piece_printable(const char *piece, size_t len);

/* ---------------------------------------------------------------- Unicode (the tables the tokenizers read) */

/* tfm_unicode_class: the general category folded as llama.cpp folds it (& TFM_UNICODE_CATEGORY), and
   TFM_UNICODE_SPACE for White_Space. Code points above U+10FFFF are unassigned. */
#define TFM_UNICODE_UNASSIGNED 0 /* Cn */
#define TFM_UNICODE_LETTER 1     /* L* */
#define TFM_UNICODE_NUMBER 2     /* N* */
#define TFM_UNICODE_PUNCT 3      /* P* */
#define TFM_UNICODE_SYMBOL 4     /* S* */
#define TFM_UNICODE_MARK 5       /* M* */
#define TFM_UNICODE_SEPARATOR 6  /* Z* */
#define TFM_UNICODE_CONTROL 7    /* Cc Cf Co Cs */
#define TFM_UNICODE_CATEGORY 7
#define TFM_UNICODE_SPACE 8
TFM_API unsigned tfm_unicode_class(uint32_t cp);
/* The simple lower-case mapping of cp (cp itself when it has none). */
TFM_API uint32_t tfm_unicode_lower(uint32_t cp);
/* The first code point of cp's canonical decomposition (NFD): the letter without its accents. */
TFM_API uint32_t tfm_unicode_base(uint32_t cp);

#ifdef __cplusplus
}
#endif

#endif /* TFM_TOKENIZER_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_TOKENIZER_IMPLEMENTATION_DONE)
#define TFM_TOKENIZER_IMPLEMENTATION_DONE

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- Unicode */

/* BEGIN GENERATED UNICODE TABLES */
/* Generated by tools/gen_unicode.py from the Unicode Character Database 15.0.0 (UnicodeData.txt,
   PropList.txt; Debian's unicode-data package): do not edit, run the script. */
#define TFM__UNI_VERSION "15.0.0"
/* (first code point << 8) | class: the class holds up to the next entry's first code point */
static const uint32_t tfm__uni_class[2274] = {
    0x7, 0x90f, 0xe07, 0x200e, 0x2103, 0x2404, 0x2503, 0x2b04, 0x2c03, 0x3002, 0x3a03, 0x3c04, 0x3f03, 0x4101, 0x5b03,
    0x5e04, 0x5f03, 0x6004, 0x6101, 0x7b03, 0x7c04, 0x7d03, 0x7e04, 0x7f07, 0x850f, 0x8607, 0xa00e, 0xa103, 0xa204,
    0xa703, 0xa804, 0xaa01, 0xab03, 0xac04, 0xad07, 0xae04, 0xb202, 0xb404, 0xb501, 0xb603, 0xb804, 0xb902, 0xba01,
    0xbb03, 0xbc02, 0xbf03, 0xc001, 0xd704, 0xd801, 0xf704, 0xf801, 0x2c204, 0x2c601, 0x2d204, 0x2e001, 0x2e504,
    0x2ec01, 0x2ed04, 0x2ee01, 0x2ef04, 0x30005, 0x37001, 0x37504, 0x37601, 0x37800, 0x37a01, 0x37e03, 0x37f01,
    0x38000, 0x38404, 0x38601, 0x38703, 0x38801, 0x38b00, 0x38c01, 0x38d00, 0x38e01, 0x3a200, 0x3a301, 0x3f604,
    0x3f701, 0x48204, 0x48305, 0x48a01, 0x53000, 0x53101, 0x55700, 0x55901, 0x55a03, 0x56001, 0x58903, 0x58b00,
    0x58d04, 0x59000, 0x59105, 0x5be03, 0x5bf05, 0x5c003, 0x5c105, 0x5c303, 0x5c405, 0x5c603, 0x5c705, 0x5c800,
    0x5d001, 0x5eb00, 0x5ef01, 0x5f303, 0x5f500, 0x60007, 0x60604, 0x60903, 0x60b04, 0x60c03, 0x60e04, 0x61005,
    0x61b03, 0x61c07, 0x61d03, 0x62001, 0x64b05, 0x66002, 0x66a03, 0x66e01, 0x67005, 0x67101, 0x6d403, 0x6d501,
    0x6d605, 0x6dd07, 0x6de04, 0x6df05, 0x6e501, 0x6e705, 0x6e904, 0x6ea05, 0x6ee01, 0x6f002, 0x6fa01, 0x6fd04,
    0x6ff01, 0x70003, 0x70e00, 0x70f07, 0x71001, 0x71105, 0x71201, 0x73005, 0x74b00, 0x74d01, 0x7a605, 0x7b101,
    0x7b200, 0x7c002, 0x7ca01, 0x7eb05, 0x7f401, 0x7f604, 0x7f703, 0x7fa01, 0x7fb00, 0x7fd05, 0x7fe04, 0x80001,
    0x81605, 0x81a01, 0x81b05, 0x82401, 0x82505, 0x82801, 0x82905, 0x82e00, 0x83003, 0x83f00, 0x84001, 0x85905,
    0x85c00, 0x85e03, 0x85f00, 0x86001, 0x86b00, 0x87001, 0x88804, 0x88901, 0x88f00, 0x89007, 0x89200, 0x89805,
    0x8a001, 0x8ca05, 0x8e207, 0x8e305, 0x90401, 0x93a05, 0x93d01, 0x93e05, 0x95001, 0x95105, 0x95801, 0x96205,
    0x96403, 0x96602, 0x97003, 0x97101, 0x98105, 0x98400, 0x98501, 0x98d00, 0x98f01, 0x99100, 0x99301, 0x9a900,
    0x9aa01, 0x9b100, 0x9b201, 0x9b300, 0x9b601, 0x9ba00, 0x9bc05, 0x9bd01, 0x9be05, 0x9c500, 0x9c705, 0x9c900,
    0x9cb05, 0x9ce01, 0x9cf00, 0x9d705, 0x9d800, 0x9dc01, 0x9de00, 0x9df01, 0x9e205, 0x9e400, 0x9e602, 0x9f001,
    0x9f204, 0x9f402, 0x9fa04, 0x9fc01, 0x9fd03, 0x9fe05, 0x9ff00, 0xa0105, 0xa0400, 0xa0501, 0xa0b00, 0xa0f01,
    0xa1100, 0xa1301, 0xa2900, 0xa2a01, 0xa3100, 0xa3201, 0xa3400, 0xa3501, 0xa3700, 0xa3801, 0xa3a00, 0xa3c05,
    0xa3d00, 0xa3e05, 0xa4300, 0xa4705, 0xa4900, 0xa4b05, 0xa4e00, 0xa5105, 0xa5200, 0xa5901, 0xa5d00, 0xa5e01,
    0xa5f00, 0xa6602, 0xa7005, 0xa7201, 0xa7505, 0xa7603, 0xa7700, 0xa8105, 0xa8400, 0xa8501, 0xa8e00, 0xa8f01,
    0xa9200, 0xa9301, 0xaa900, 0xaaa01, 0xab100, 0xab201, 0xab400, 0xab501, 0xaba00, 0xabc05, 0xabd01, 0xabe05,
    0xac600, 0xac705, 0xaca00, 0xacb05, 0xace00, 0xad001, 0xad100, 0xae001, 0xae205, 0xae400, 0xae602, 0xaf003,
    0xaf104, 0xaf200, 0xaf901, 0xafa05, 0xb0000, 0xb0105, 0xb0400, 0xb0501, 0xb0d00, 0xb0f01, 0xb1100, 0xb1301,
    0xb2900, 0xb2a01, 0xb3100, 0xb3201, 0xb3400, 0xb3501, 0xb3a00, 0xb3c05, 0xb3d01, 0xb3e05, 0xb4500, 0xb4705,
    0xb4900, 0xb4b05, 0xb4e00, 0xb5505, 0xb5800, 0xb5c01, 0xb5e00, 0xb5f01, 0xb6205, 0xb6400, 0xb6602, 0xb7004,
    0xb7101, 0xb7202, 0xb7800, 0xb8205, 0xb8301, 0xb8400, 0xb8501, 0xb8b00, 0xb8e01, 0xb9100, 0xb9201, 0xb9600,
    0xb9901, 0xb9b00, 0xb9c01, 0xb9d00, 0xb9e01, 0xba000, 0xba301, 0xba500, 0xba801, 0xbab00, 0xbae01, 0xbba00,
    0xbbe05, 0xbc300, 0xbc605, 0xbc900, 0xbca05, 0xbce00, 0xbd001, 0xbd100, 0xbd705, 0xbd800, 0xbe602, 0xbf304,
    0xbfb00, 0xc0005, 0xc0501, 0xc0d00, 0xc0e01, 0xc1100, 0xc1201, 0xc2900, 0xc2a01, 0xc3a00, 0xc3c05, 0xc3d01,
    0xc3e05, 0xc4500, 0xc4605, 0xc4900, 0xc4a05, 0xc4e00, 0xc5505, 0xc5700, 0xc5801, 0xc5b00, 0xc5d01, 0xc5e00,
    0xc6001, 0xc6205, 0xc6400, 0xc6602, 0xc7000, 0xc7703, 0xc7802, 0xc7f04, 0xc8001, 0xc8105, 0xc8403, 0xc8501,
    0xc8d00, 0xc8e01, 0xc9100, 0xc9201, 0xca900, 0xcaa01, 0xcb400, 0xcb501, 0xcba00, 0xcbc05, 0xcbd01, 0xcbe05,
    0xcc500, 0xcc605, 0xcc900, 0xcca05, 0xcce00, 0xcd505, 0xcd700, 0xcdd01, 0xcdf00, 0xce001, 0xce205, 0xce400,
    0xce602, 0xcf000, 0xcf101, 0xcf305, 0xcf400, 0xd0005, 0xd0401, 0xd0d00, 0xd0e01, 0xd1100, 0xd1201, 0xd3b05,
    0xd3d01, 0xd3e05, 0xd4500, 0xd4605, 0xd4900, 0xd4a05, 0xd4e01, 0xd4f04, 0xd5000, 0xd5401, 0xd5705, 0xd5802,
    0xd5f01, 0xd6205, 0xd6400, 0xd6602, 0xd7904, 0xd7a01, 0xd8000, 0xd8105, 0xd8400, 0xd8501, 0xd9700, 0xd9a01,
    0xdb200, 0xdb301, 0xdbc00, 0xdbd01, 0xdbe00, 0xdc001, 0xdc700, 0xdca05, 0xdcb00, 0xdcf05, 0xdd500, 0xdd605,
    0xdd700, 0xdd805, 0xde000, 0xde602, 0xdf000, 0xdf205, 0xdf403, 0xdf500, 0xe0101, 0xe3105, 0xe3201, 0xe3405,
    0xe3b00, 0xe3f04, 0xe4001, 0xe4705, 0xe4f03, 0xe5002, 0xe5a03, 0xe5c00, 0xe8101, 0xe8300, 0xe8401, 0xe8500,
    0xe8601, 0xe8b00, 0xe8c01, 0xea400, 0xea501, 0xea600, 0xea701, 0xeb105, 0xeb201, 0xeb405, 0xebd01, 0xebe00,
    0xec001, 0xec500, 0xec601, 0xec700, 0xec805, 0xecf00, 0xed002, 0xeda00, 0xedc01, 0xee000, 0xf0001, 0xf0104,
    0xf0403, 0xf1304, 0xf1403, 0xf1504, 0xf1805, 0xf1a04, 0xf2002, 0xf3404, 0xf3505, 0xf3604, 0xf3705, 0xf3804,
    0xf3905, 0xf3a03, 0xf3e05, 0xf4001, 0xf4800, 0xf4901, 0xf6d00, 0xf7105, 0xf8503, 0xf8605, 0xf8801, 0xf8d05,
    0xf9800, 0xf9905, 0xfbd00, 0xfbe04, 0xfc605, 0xfc704, 0xfcd00, 0xfce04, 0xfd003, 0xfd504, 0xfd903, 0xfdb00,
    0x100001, 0x102b05, 0x103f01, 0x104002, 0x104a03, 0x105001, 0x105605, 0x105a01, 0x105e05, 0x106101, 0x106205,
    0x106501, 0x106705, 0x106e01, 0x107105, 0x107501, 0x108205, 0x108e01, 0x108f05, 0x109002, 0x109a05, 0x109e04,
    0x10a001, 0x10c600, 0x10c701, 0x10c800, 0x10cd01, 0x10ce00, 0x10d001, 0x10fb03, 0x10fc01, 0x124900, 0x124a01,
    0x124e00, 0x125001, 0x125700, 0x125801, 0x125900, 0x125a01, 0x125e00, 0x126001, 0x128900, 0x128a01, 0x128e00,
    0x129001, 0x12b100, 0x12b201, 0x12b600, 0x12b801, 0x12bf00, 0x12c001, 0x12c100, 0x12c201, 0x12c600, 0x12c801,
    0x12d700, 0x12d801, 0x131100, 0x131201, 0x131600, 0x131801, 0x135b00, 0x135d05, 0x136003, 0x136902, 0x137d00,
    0x138001, 0x139004, 0x139a00, 0x13a001, 0x13f600, 0x13f801, 0x13fe00, 0x140003, 0x140101, 0x166d04, 0x166e03,
    0x166f01, 0x16800e, 0x168101, 0x169b03, 0x169d00, 0x16a001, 0x16eb03, 0x16ee02, 0x16f101, 0x16f900, 0x170001,
    0x171205, 0x171600, 0x171f01, 0x173205, 0x173503, 0x173700, 0x174001, 0x175205, 0x175400, 0x176001, 0x176d00,
    0x176e01, 0x177100, 0x177205, 0x177400, 0x178001, 0x17b405, 0x17d403, 0x17d701, 0x17d803, 0x17db04, 0x17dc01,
    0x17dd05, 0x17de00, 0x17e002, 0x17ea00, 0x17f002, 0x17fa00, 0x180003, 0x180b05, 0x180e07, 0x180f05, 0x181002,
    0x181a00, 0x182001, 0x187900, 0x188001, 0x188505, 0x188701, 0x18a905, 0x18aa01, 0x18ab00, 0x18b001, 0x18f600,
    0x190001, 0x191f00, 0x192005, 0x192c00, 0x193005, 0x193c00, 0x194004, 0x194100, 0x194403, 0x194602, 0x195001,
    0x196e00, 0x197001, 0x197500, 0x198001, 0x19ac00, 0x19b001, 0x19ca00, 0x19d002, 0x19db00, 0x19de04, 0x1a0001,
    0x1a1705, 0x1a1c00, 0x1a1e03, 0x1a2001, 0x1a5505, 0x1a5f00, 0x1a6005, 0x1a7d00, 0x1a7f05, 0x1a8002, 0x1a8a00,
    0x1a9002, 0x1a9a00, 0x1aa003, 0x1aa701, 0x1aa803, 0x1aae00, 0x1ab005, 0x1acf00, 0x1b0005, 0x1b0501, 0x1b3405,
    0x1b4501, 0x1b4d00, 0x1b5002, 0x1b5a03, 0x1b6104, 0x1b6b05, 0x1b7404, 0x1b7d03, 0x1b7f00, 0x1b8005, 0x1b8301,
    0x1ba105, 0x1bae01, 0x1bb002, 0x1bba01, 0x1be605, 0x1bf400, 0x1bfc03, 0x1c0001, 0x1c2405, 0x1c3800, 0x1c3b03,
    0x1c4002, 0x1c4a00, 0x1c4d01, 0x1c5002, 0x1c5a01, 0x1c7e03, 0x1c8001, 0x1c8900, 0x1c9001, 0x1cbb00, 0x1cbd01,
    0x1cc003, 0x1cc800, 0x1cd005, 0x1cd303, 0x1cd405, 0x1ce901, 0x1ced05, 0x1cee01, 0x1cf405, 0x1cf501, 0x1cf705,
    0x1cfa01, 0x1cfb00, 0x1d0001, 0x1dc005, 0x1e0001, 0x1f1600, 0x1f1801, 0x1f1e00, 0x1f2001, 0x1f4600, 0x1f4801,
    0x1f4e00, 0x1f5001, 0x1f5800, 0x1f5901, 0x1f5a00, 0x1f5b01, 0x1f5c00, 0x1f5d01, 0x1f5e00, 0x1f5f01, 0x1f7e00,
    0x1f8001, 0x1fb500, 0x1fb601, 0x1fbd04, 0x1fbe01, 0x1fbf04, 0x1fc201, 0x1fc500, 0x1fc601, 0x1fcd04, 0x1fd001,
    0x1fd400, 0x1fd601, 0x1fdc00, 0x1fdd04, 0x1fe001, 0x1fed04, 0x1ff000, 0x1ff201, 0x1ff500, 0x1ff601, 0x1ffd04,
    0x1fff00, 0x20000e, 0x200b07, 0x201003, 0x20280e, 0x202a07, 0x202f0e, 0x203003, 0x204404, 0x204503, 0x205204,
    0x205303, 0x205f0e, 0x206007, 0x206500, 0x206607, 0x207002, 0x207101, 0x207200, 0x207402, 0x207a04, 0x207d03,
    0x207f01, 0x208002, 0x208a04, 0x208d03, 0x208f00, 0x209001, 0x209d00, 0x20a004, 0x20c100, 0x20d005, 0x20f100,
    0x210004, 0x210201, 0x210304, 0x210701, 0x210804, 0x210a01, 0x211404, 0x211501, 0x211604, 0x211901, 0x211e04,
    0x212401, 0x212504, 0x212601, 0x212704, 0x212801, 0x212904, 0x212a01, 0x212e04, 0x212f01, 0x213a04, 0x213c01,
    0x214004, 0x214501, 0x214a04, 0x214e01, 0x214f04, 0x215002, 0x218301, 0x218502, 0x218a04, 0x218c00, 0x219004,
    0x230803, 0x230c04, 0x232903, 0x232b04, 0x242700, 0x244004, 0x244b00, 0x246002, 0x249c04, 0x24ea02, 0x250004,
    0x276803, 0x277602, 0x279404, 0x27c503, 0x27c704, 0x27e603, 0x27f004, 0x298303, 0x299904, 0x29d803, 0x29dc04,
    0x29fc03, 0x29fe04, 0x2b7400, 0x2b7604, 0x2b9600, 0x2b9704, 0x2c0001, 0x2ce504, 0x2ceb01, 0x2cef05, 0x2cf201,
    0x2cf400, 0x2cf903, 0x2cfd02, 0x2cfe03, 0x2d0001, 0x2d2600, 0x2d2701, 0x2d2800, 0x2d2d01, 0x2d2e00, 0x2d3001,
    0x2d6800, 0x2d6f01, 0x2d7003, 0x2d7100, 0x2d7f05, 0x2d8001, 0x2d9700, 0x2da001, 0x2da700, 0x2da801, 0x2daf00,
    0x2db001, 0x2db700, 0x2db801, 0x2dbf00, 0x2dc001, 0x2dc700, 0x2dc801, 0x2dcf00, 0x2dd001, 0x2dd700, 0x2dd801,
    0x2ddf00, 0x2de005, 0x2e0003, 0x2e2f01, 0x2e3003, 0x2e5004, 0x2e5203, 0x2e5e00, 0x2e8004, 0x2e9a00, 0x2e9b04,
    0x2ef400, 0x2f0004, 0x2fd600, 0x2ff004, 0x2ffc00, 0x30000e, 0x300103, 0x300404, 0x300501, 0x300702, 0x300803,
    0x301204, 0x301403, 0x302004, 0x302102, 0x302a05, 0x303003, 0x303101, 0x303604, 0x303802, 0x303b01, 0x303d03,
    0x303e04, 0x304000, 0x304101, 0x309700, 0x309905, 0x309b04, 0x309d01, 0x30a003, 0x30a101, 0x30fb03, 0x30fc01,
    0x310000, 0x310501, 0x313000, 0x313101, 0x318f00, 0x319004, 0x319202, 0x319604, 0x31a001, 0x31c004, 0x31e400,
    0x31f001, 0x320004, 0x321f00, 0x322002, 0x322a04, 0x324802, 0x325004, 0x325102, 0x326004, 0x328002, 0x328a04,
    0x32b102, 0x32c004, 0x340001, 0x4dc004, 0x4e0001, 0xa48d00, 0xa49004, 0xa4c700, 0xa4d001, 0xa4fe03, 0xa50001,
    0xa60d03, 0xa61001, 0xa62002, 0xa62a01, 0xa62c00, 0xa64001, 0xa66f05, 0xa67303, 0xa67405, 0xa67e03, 0xa67f01,
    0xa69e05, 0xa6a001, 0xa6e602, 0xa6f005, 0xa6f203, 0xa6f800, 0xa70004, 0xa71701, 0xa72004, 0xa72201, 0xa78904,
    0xa78b01, 0xa7cb00, 0xa7d001, 0xa7d200, 0xa7d301, 0xa7d400, 0xa7d501, 0xa7da00, 0xa7f201, 0xa80205, 0xa80301,
    0xa80605, 0xa80701, 0xa80b05, 0xa80c01, 0xa82305, 0xa82804, 0xa82c05, 0xa82d00, 0xa83002, 0xa83604, 0xa83a00,
    0xa84001, 0xa87403, 0xa87800, 0xa88005, 0xa88201, 0xa8b405, 0xa8c600, 0xa8ce03, 0xa8d002, 0xa8da00, 0xa8e005,
    0xa8f201, 0xa8f803, 0xa8fb01, 0xa8fc03, 0xa8fd01, 0xa8ff05, 0xa90002, 0xa90a01, 0xa92605, 0xa92e03, 0xa93001,
    0xa94705, 0xa95400, 0xa95f03, 0xa96001, 0xa97d00, 0xa98005, 0xa98401, 0xa9b305, 0xa9c103, 0xa9ce00, 0xa9cf01,
    0xa9d002, 0xa9da00, 0xa9de03, 0xa9e001, 0xa9e505, 0xa9e601, 0xa9f002, 0xa9fa01, 0xa9ff00, 0xaa0001, 0xaa2905,
    0xaa3700, 0xaa4001, 0xaa4305, 0xaa4401, 0xaa4c05, 0xaa4e00, 0xaa5002, 0xaa5a00, 0xaa5c03, 0xaa6001, 0xaa7704,
    0xaa7a01, 0xaa7b05, 0xaa7e01, 0xaab005, 0xaab101, 0xaab205, 0xaab501, 0xaab705, 0xaab901, 0xaabe05, 0xaac001,
    0xaac105, 0xaac201, 0xaac300, 0xaadb01, 0xaade03, 0xaae001, 0xaaeb05, 0xaaf003, 0xaaf201, 0xaaf505, 0xaaf700,
    0xab0101, 0xab0700, 0xab0901, 0xab0f00, 0xab1101, 0xab1700, 0xab2001, 0xab2700, 0xab2801, 0xab2f00, 0xab3001,
    0xab5b04, 0xab5c01, 0xab6a04, 0xab6c00, 0xab7001, 0xabe305, 0xabeb03, 0xabec05, 0xabee00, 0xabf002, 0xabfa00,
    0xac0001, 0xd7a400, 0xd7b001, 0xd7c700, 0xd7cb01, 0xd7fc00, 0xd80007, 0xf90001, 0xfa6e00, 0xfa7001, 0xfada00,
    0xfb0001, 0xfb0700, 0xfb1301, 0xfb1800, 0xfb1d01, 0xfb1e05, 0xfb1f01, 0xfb2904, 0xfb2a01, 0xfb3700, 0xfb3801,
    0xfb3d00, 0xfb3e01, 0xfb3f00, 0xfb4001, 0xfb4200, 0xfb4301, 0xfb4500, 0xfb4601, 0xfbb204, 0xfbc300, 0xfbd301,
    0xfd3e03, 0xfd4004, 0xfd5001, 0xfd9000, 0xfd9201, 0xfdc800, 0xfdcf04, 0xfdd000, 0xfdf001, 0xfdfc04, 0xfe0005,
    0xfe1003, 0xfe1a00, 0xfe2005, 0xfe3003, 0xfe5300, 0xfe5403, 0xfe6204, 0xfe6303, 0xfe6404, 0xfe6700, 0xfe6803,
    0xfe6904, 0xfe6a03, 0xfe6c00, 0xfe7001, 0xfe7500, 0xfe7601, 0xfefd00, 0xfeff07, 0xff0000, 0xff0103, 0xff0404,
    0xff0503, 0xff0b04, 0xff0c03, 0xff1002, 0xff1a03, 0xff1c04, 0xff1f03, 0xff2101, 0xff3b03, 0xff3e04, 0xff3f03,
    0xff4004, 0xff4101, 0xff5b03, 0xff5c04, 0xff5d03, 0xff5e04, 0xff5f03, 0xff6601, 0xffbf00, 0xffc201, 0xffc800,
    0xffca01, 0xffd000, 0xffd201, 0xffd800, 0xffda01, 0xffdd00, 0xffe004, 0xffe700, 0xffe804, 0xffef00, 0xfff907,
    0xfffc04, 0xfffe00, 0x1000001, 0x1000c00, 0x1000d01, 0x1002700, 0x1002801, 0x1003b00, 0x1003c01, 0x1003e00,
    0x1003f01, 0x1004e00, 0x1005001, 0x1005e00, 0x1008001, 0x100fb00, 0x1010003, 0x1010300, 0x1010702, 0x1013400,
    0x1013704, 0x1014002, 0x1017904, 0x1018a02, 0x1018c04, 0x1018f00, 0x1019004, 0x1019d00, 0x101a004, 0x101a100,
    0x101d004, 0x101fd05, 0x101fe00, 0x1028001, 0x1029d00, 0x102a001, 0x102d100, 0x102e005, 0x102e102, 0x102fc00,
    0x1030001, 0x1032002, 0x1032400, 0x1032d01, 0x1034102, 0x1034201, 0x1034a02, 0x1034b00, 0x1035001, 0x1037605,
    0x1037b00, 0x1038001, 0x1039e00, 0x1039f03, 0x103a001, 0x103c400, 0x103c801, 0x103d003, 0x103d102, 0x103d600,
    0x1040001, 0x1049e00, 0x104a002, 0x104aa00, 0x104b001, 0x104d400, 0x104d801, 0x104fc00, 0x1050001, 0x1052800,
    0x1053001, 0x1056400, 0x1056f03, 0x1057001, 0x1057b00, 0x1057c01, 0x1058b00, 0x1058c01, 0x1059300, 0x1059401,
    0x1059600, 0x1059701, 0x105a200, 0x105a301, 0x105b200, 0x105b301, 0x105ba00, 0x105bb01, 0x105bd00, 0x1060001,
    0x1073700, 0x1074001, 0x1075600, 0x1076001, 0x1076800, 0x1078001, 0x1078600, 0x1078701, 0x107b100, 0x107b201,
    0x107bb00, 0x1080001, 0x1080600, 0x1080801, 0x1080900, 0x1080a01, 0x1083600, 0x1083701, 0x1083900, 0x1083c01,
    0x1083d00, 0x1083f01, 0x1085600, 0x1085703, 0x1085802, 0x1086001, 0x1087704, 0x1087902, 0x1088001, 0x1089f00,
    0x108a702, 0x108b000, 0x108e001, 0x108f300, 0x108f401, 0x108f600, 0x108fb02, 0x1090001, 0x1091602, 0x1091c00,
    0x1091f03, 0x1092001, 0x1093a00, 0x1093f03, 0x1094000, 0x1098001, 0x109b800, 0x109bc02, 0x109be01, 0x109c002,
    0x109d000, 0x109d202, 0x10a0001, 0x10a0105, 0x10a0400, 0x10a0505, 0x10a0700, 0x10a0c05, 0x10a1001, 0x10a1400,
    0x10a1501, 0x10a1800, 0x10a1901, 0x10a3600, 0x10a3805, 0x10a3b00, 0x10a3f05, 0x10a4002, 0x10a4900, 0x10a5003,
    0x10a5900, 0x10a6001, 0x10a7d02, 0x10a7f03, 0x10a8001, 0x10a9d02, 0x10aa000, 0x10ac001, 0x10ac804, 0x10ac901,
    0x10ae505, 0x10ae700, 0x10aeb02, 0x10af003, 0x10af700, 0x10b0001, 0x10b3600, 0x10b3903, 0x10b4001, 0x10b5600,
    0x10b5802, 0x10b6001, 0x10b7300, 0x10b7802, 0x10b8001, 0x10b9200, 0x10b9903, 0x10b9d00, 0x10ba902, 0x10bb000,
    0x10c0001, 0x10c4900, 0x10c8001, 0x10cb300, 0x10cc001, 0x10cf300, 0x10cfa02, 0x10d0001, 0x10d2405, 0x10d2800,
    0x10d3002, 0x10d3a00, 0x10e6002, 0x10e7f00, 0x10e8001, 0x10eaa00, 0x10eab05, 0x10ead03, 0x10eae00, 0x10eb001,
    0x10eb200, 0x10efd05, 0x10f0001, 0x10f1d02, 0x10f2701, 0x10f2800, 0x10f3001, 0x10f4605, 0x10f5102, 0x10f5503,
    0x10f5a00, 0x10f7001, 0x10f8205, 0x10f8603, 0x10f8a00, 0x10fb001, 0x10fc502, 0x10fcc00, 0x10fe001, 0x10ff700,
    0x1100005, 0x1100301, 0x1103805, 0x1104703, 0x1104e00, 0x1105202, 0x1107005, 0x1107101, 0x1107305, 0x1107501,
    0x1107600, 0x1107f05, 0x1108301, 0x110b005, 0x110bb03, 0x110bd07, 0x110be03, 0x110c205, 0x110c300, 0x110cd07,
    0x110ce00, 0x110d001, 0x110e900, 0x110f002, 0x110fa00, 0x1110005, 0x1110301, 0x1112705, 0x1113500, 0x1113602,
    0x1114003, 0x1114401, 0x1114505, 0x1114701, 0x1114800, 0x1115001, 0x1117305, 0x1117403, 0x1117601, 0x1117700,
    0x1118005, 0x1118301, 0x111b305, 0x111c101, 0x111c503, 0x111c905, 0x111cd03, 0x111ce05, 0x111d002, 0x111da01,
    0x111db03, 0x111dc01, 0x111dd03, 0x111e000, 0x111e102, 0x111f500, 0x1120001, 0x1121200, 0x1121301, 0x1122c05,
    0x1123803, 0x1123e05, 0x1123f01, 0x1124105, 0x1124200, 0x1128001, 0x1128700, 0x1128801, 0x1128900, 0x1128a01,
    0x1128e00, 0x1128f01, 0x1129e00, 0x1129f01, 0x112a903, 0x112aa00, 0x112b001, 0x112df05, 0x112eb00, 0x112f002,
    0x112fa00, 0x1130005, 0x1130400, 0x1130501, 0x1130d00, 0x1130f01, 0x1131100, 0x1131301, 0x1132900, 0x1132a01,
    0x1133100, 0x1133201, 0x1133400, 0x1133501, 0x1133a00, 0x1133b05, 0x1133d01, 0x1133e05, 0x1134500, 0x1134705,
    0x1134900, 0x1134b05, 0x1134e00, 0x1135001, 0x1135100, 0x1135705, 0x1135800, 0x1135d01, 0x1136205, 0x1136400,
    0x1136605, 0x1136d00, 0x1137005, 0x1137500, 0x1140001, 0x1143505, 0x1144701, 0x1144b03, 0x1145002, 0x1145a03,
    0x1145c00, 0x1145d03, 0x1145e05, 0x1145f01, 0x1146200, 0x1148001, 0x114b005, 0x114c401, 0x114c603, 0x114c701,
    0x114c800, 0x114d002, 0x114da00, 0x1158001, 0x115af05, 0x115b600, 0x115b805, 0x115c103, 0x115d801, 0x115dc05,
    0x115de00, 0x1160001, 0x1163005, 0x1164103, 0x1164401, 0x1164500, 0x1165002, 0x1165a00, 0x1166003, 0x1166d00,
    0x1168001, 0x116ab05, 0x116b801, 0x116b903, 0x116ba00, 0x116c002, 0x116ca00, 0x1170001, 0x1171b00, 0x1171d05,
    0x1172c00, 0x1173002, 0x1173c03, 0x1173f04, 0x1174001, 0x1174700, 0x1180001, 0x1182c05, 0x1183b03, 0x1183c00,
    0x118a001, 0x118e002, 0x118f300, 0x118ff01, 0x1190700, 0x1190901, 0x1190a00, 0x1190c01, 0x1191400, 0x1191501,
    0x1191700, 0x1191801, 0x1193005, 0x1193600, 0x1193705, 0x1193900, 0x1193b05, 0x1193f01, 0x1194005, 0x1194101,
    0x1194205, 0x1194403, 0x1194700, 0x1195002, 0x1195a00, 0x119a001, 0x119a800, 0x119aa01, 0x119d105, 0x119d800,
    0x119da05, 0x119e101, 0x119e203, 0x119e301, 0x119e405, 0x119e500, 0x11a0001, 0x11a0105, 0x11a0b01, 0x11a3305,
    0x11a3a01, 0x11a3b05, 0x11a3f03, 0x11a4705, 0x11a4800, 0x11a5001, 0x11a5105, 0x11a5c01, 0x11a8a05, 0x11a9a03,
    0x11a9d01, 0x11a9e03, 0x11aa300, 0x11ab001, 0x11af900, 0x11b0003, 0x11b0a00, 0x11c0001, 0x11c0900, 0x11c0a01,
    0x11c2f05, 0x11c3700, 0x11c3805, 0x11c4001, 0x11c4103, 0x11c4600, 0x11c5002, 0x11c6d00, 0x11c7003, 0x11c7201,
    0x11c9000, 0x11c9205, 0x11ca800, 0x11ca905, 0x11cb700, 0x11d0001, 0x11d0700, 0x11d0801, 0x11d0a00, 0x11d0b01,
    0x11d3105, 0x11d3700, 0x11d3a05, 0x11d3b00, 0x11d3c05, 0x11d3e00, 0x11d3f05, 0x11d4601, 0x11d4705, 0x11d4800,
    0x11d5002, 0x11d5a00, 0x11d6001, 0x11d6600, 0x11d6701, 0x11d6900, 0x11d6a01, 0x11d8a05, 0x11d8f00, 0x11d9005,
    0x11d9200, 0x11d9305, 0x11d9801, 0x11d9900, 0x11da002, 0x11daa00, 0x11ee001, 0x11ef305, 0x11ef703, 0x11ef900,
    0x11f0005, 0x11f0201, 0x11f0305, 0x11f0401, 0x11f1100, 0x11f1201, 0x11f3405, 0x11f3b00, 0x11f3e05, 0x11f4303,
    0x11f5002, 0x11f5a00, 0x11fb001, 0x11fb100, 0x11fc002, 0x11fd504, 0x11ff200, 0x11fff03, 0x1200001, 0x1239a00,
    0x1240002, 0x1246f00, 0x1247003, 0x1247500, 0x1248001, 0x1254400, 0x12f9001, 0x12ff103, 0x12ff300, 0x1300001,
    0x1343007, 0x1344005, 0x1344101, 0x1344705, 0x1345600, 0x1440001, 0x1464700, 0x1680001, 0x16a3900, 0x16a4001,
    0x16a5f00, 0x16a6002, 0x16a6a00, 0x16a6e03, 0x16a7001, 0x16abf00, 0x16ac002, 0x16aca00, 0x16ad001, 0x16aee00,
    0x16af005, 0x16af503, 0x16af600, 0x16b0001, 0x16b3005, 0x16b3703, 0x16b3c04, 0x16b4001, 0x16b4403, 0x16b4504,
    0x16b4600, 0x16b5002, 0x16b5a00, 0x16b5b02, 0x16b6200, 0x16b6301, 0x16b7800, 0x16b7d01, 0x16b9000, 0x16e4001,
    0x16e8002, 0x16e9703, 0x16e9b00, 0x16f0001, 0x16f4b00, 0x16f4f05, 0x16f5001, 0x16f5105, 0x16f8800, 0x16f8f05,
    0x16f9301, 0x16fa000, 0x16fe001, 0x16fe203, 0x16fe301, 0x16fe405, 0x16fe500, 0x16ff005, 0x16ff200, 0x1700001,
    0x187f800, 0x1880001, 0x18cd600, 0x18d0001, 0x18d0900, 0x1aff001, 0x1aff400, 0x1aff501, 0x1affc00, 0x1affd01,
    0x1afff00, 0x1b00001, 0x1b12300, 0x1b13201, 0x1b13300, 0x1b15001, 0x1b15300, 0x1b15501, 0x1b15600, 0x1b16401,
    0x1b16800, 0x1b17001, 0x1b2fc00, 0x1bc0001, 0x1bc6b00, 0x1bc7001, 0x1bc7d00, 0x1bc8001, 0x1bc8900, 0x1bc9001,
    0x1bc9a00, 0x1bc9c04, 0x1bc9d05, 0x1bc9f03, 0x1bca007, 0x1bca400, 0x1cf0005, 0x1cf2e00, 0x1cf3005, 0x1cf4700,
    0x1cf5004, 0x1cfc400, 0x1d00004, 0x1d0f600, 0x1d10004, 0x1d12700, 0x1d12904, 0x1d16505, 0x1d16a04, 0x1d16d05,
    0x1d17307, 0x1d17b05, 0x1d18304, 0x1d18505, 0x1d18c04, 0x1d1aa05, 0x1d1ae04, 0x1d1eb00, 0x1d20004, 0x1d24205,
    0x1d24504, 0x1d24600, 0x1d2c002, 0x1d2d400, 0x1d2e002, 0x1d2f400, 0x1d30004, 0x1d35700, 0x1d36002, 0x1d37900,
    0x1d40001, 0x1d45500, 0x1d45601, 0x1d49d00, 0x1d49e01, 0x1d4a000, 0x1d4a201, 0x1d4a300, 0x1d4a501, 0x1d4a700,
    0x1d4a901, 0x1d4ad00, 0x1d4ae01, 0x1d4ba00, 0x1d4bb01, 0x1d4bc00, 0x1d4bd01, 0x1d4c400, 0x1d4c501, 0x1d50600,
    0x1d50701, 0x1d50b00, 0x1d50d01, 0x1d51500, 0x1d51601, 0x1d51d00, 0x1d51e01, 0x1d53a00, 0x1d53b01, 0x1d53f00,
    0x1d54001, 0x1d54500, 0x1d54601, 0x1d54700, 0x1d54a01, 0x1d55100, 0x1d55201, 0x1d6a600, 0x1d6a801, 0x1d6c104,
    0x1d6c201, 0x1d6db04, 0x1d6dc01, 0x1d6fb04, 0x1d6fc01, 0x1d71504, 0x1d71601, 0x1d73504, 0x1d73601, 0x1d74f04,
    0x1d75001, 0x1d76f04, 0x1d77001, 0x1d78904, 0x1d78a01, 0x1d7a904, 0x1d7aa01, 0x1d7c304, 0x1d7c401, 0x1d7cc00,
    0x1d7ce02, 0x1d80004, 0x1da0005, 0x1da3704, 0x1da3b05, 0x1da6d04, 0x1da7505, 0x1da7604, 0x1da8405, 0x1da8504,
    0x1da8703, 0x1da8c00, 0x1da9b05, 0x1daa000, 0x1daa105, 0x1dab000, 0x1df0001, 0x1df1f00, 0x1df2501, 0x1df2b00,
    0x1e00005, 0x1e00700, 0x1e00805, 0x1e01900, 0x1e01b05, 0x1e02200, 0x1e02305, 0x1e02500, 0x1e02605, 0x1e02b00,
    0x1e03001, 0x1e06e00, 0x1e08f05, 0x1e09000, 0x1e10001, 0x1e12d00, 0x1e13005, 0x1e13701, 0x1e13e00, 0x1e14002,
    0x1e14a00, 0x1e14e01, 0x1e14f04, 0x1e15000, 0x1e29001, 0x1e2ae05, 0x1e2af00, 0x1e2c001, 0x1e2ec05, 0x1e2f002,
    0x1e2fa00, 0x1e2ff04, 0x1e30000, 0x1e4d001, 0x1e4ec05, 0x1e4f002, 0x1e4fa00, 0x1e7e001, 0x1e7e700, 0x1e7e801,
    0x1e7ec00, 0x1e7ed01, 0x1e7ef00, 0x1e7f001, 0x1e7ff00, 0x1e80001, 0x1e8c500, 0x1e8c702, 0x1e8d005, 0x1e8d700,
    0x1e90001, 0x1e94405, 0x1e94b01, 0x1e94c00, 0x1e95002, 0x1e95a00, 0x1e95e03, 0x1e96000, 0x1ec7102, 0x1ecac04,
    0x1ecad02, 0x1ecb004, 0x1ecb102, 0x1ecb500, 0x1ed0102, 0x1ed2e04, 0x1ed2f02, 0x1ed3e00, 0x1ee0001, 0x1ee0400,
    0x1ee0501, 0x1ee2000, 0x1ee2101, 0x1ee2300, 0x1ee2401, 0x1ee2500, 0x1ee2701, 0x1ee2800, 0x1ee2901, 0x1ee3300,
    0x1ee3401, 0x1ee3800, 0x1ee3901, 0x1ee3a00, 0x1ee3b01, 0x1ee3c00, 0x1ee4201, 0x1ee4300, 0x1ee4701, 0x1ee4800,
    0x1ee4901, 0x1ee4a00, 0x1ee4b01, 0x1ee4c00, 0x1ee4d01, 0x1ee5000, 0x1ee5101, 0x1ee5300, 0x1ee5401, 0x1ee5500,
    0x1ee5701, 0x1ee5800, 0x1ee5901, 0x1ee5a00, 0x1ee5b01, 0x1ee5c00, 0x1ee5d01, 0x1ee5e00, 0x1ee5f01, 0x1ee6000,
    0x1ee6101, 0x1ee6300, 0x1ee6401, 0x1ee6500, 0x1ee6701, 0x1ee6b00, 0x1ee6c01, 0x1ee7300, 0x1ee7401, 0x1ee7800,
    0x1ee7901, 0x1ee7d00, 0x1ee7e01, 0x1ee7f00, 0x1ee8001, 0x1ee8a00, 0x1ee8b01, 0x1ee9c00, 0x1eea101, 0x1eea400,
    0x1eea501, 0x1eeaa00, 0x1eeab01, 0x1eebc00, 0x1eef004, 0x1eef200, 0x1f00004, 0x1f02c00, 0x1f03004, 0x1f09400,
    0x1f0a004, 0x1f0af00, 0x1f0b104, 0x1f0c000, 0x1f0c104, 0x1f0d000, 0x1f0d104, 0x1f0f600, 0x1f10002, 0x1f10d04,
    0x1f1ae00, 0x1f1e604, 0x1f20300, 0x1f21004, 0x1f23c00, 0x1f24004, 0x1f24900, 0x1f25004, 0x1f25200, 0x1f26004,
    0x1f26600, 0x1f30004, 0x1f6d800, 0x1f6dc04, 0x1f6ed00, 0x1f6f004, 0x1f6fd00, 0x1f70004, 0x1f77700, 0x1f77b04,
    0x1f7da00, 0x1f7e004, 0x1f7ec00, 0x1f7f004, 0x1f7f100, 0x1f80004, 0x1f80c00, 0x1f81004, 0x1f84800, 0x1f85004,
    0x1f85a00, 0x1f86004, 0x1f88800, 0x1f89004, 0x1f8ae00, 0x1f8b004, 0x1f8b200, 0x1f90004, 0x1fa5400, 0x1fa6004,
    0x1fa6e00, 0x1fa7004, 0x1fa7d00, 0x1fa8004, 0x1fa8900, 0x1fa9004, 0x1fabe00, 0x1fabf04, 0x1fac600, 0x1face04,
    0x1fadc00, 0x1fae004, 0x1fae900, 0x1faf004, 0x1faf900, 0x1fb0004, 0x1fb9300, 0x1fb9404, 0x1fbcb00, 0x1fbf002,
    0x1fbfa00, 0x2000001, 0x2a6e000, 0x2a70001, 0x2b73a00, 0x2b74001, 0x2b81e00, 0x2b82001, 0x2cea200, 0x2ceb001,
    0x2ebe100, 0x2f80001, 0x2fa1e00, 0x3000001, 0x3134b00, 0x3135001, 0x323b000, 0xe000107, 0xe000200, 0xe002007,
    0xe008000, 0xe010005, 0xe01f000, 0xf000007, 0xffffe00, 0x10000007, 0x10fffe00,
};
/* simple lower-case mappings: first, count, step, delta (code points first + k step, k < count) */
static const int32_t tfm__uni_lower[182][4] = {
    {0x41, 26, 1, 32}, {0xc0, 23, 1, 32}, {0xd8, 7, 1, 32}, {0x100, 24, 2, 1}, {0x130, 1, 1, -199}, {0x132, 3, 2, 1},
    {0x139, 8, 2, 1}, {0x14a, 23, 2, 1}, {0x178, 1, 1, -121}, {0x179, 3, 2, 1}, {0x181, 1, 1, 210}, {0x182, 2, 2, 1},
    {0x186, 1, 1, 206}, {0x187, 1, 1, 1}, {0x189, 2, 1, 205}, {0x18b, 1, 1, 1}, {0x18e, 1, 1, 79}, {0x18f, 1, 1, 202},
    {0x190, 1, 1, 203}, {0x191, 1, 1, 1}, {0x193, 1, 1, 205}, {0x194, 1, 1, 207}, {0x196, 1, 1, 211},
    {0x197, 1, 1, 209}, {0x198, 1, 1, 1}, {0x19c, 1, 1, 211}, {0x19d, 1, 1, 213}, {0x19f, 1, 1, 214},
    {0x1a0, 3, 2, 1}, {0x1a6, 1, 1, 218}, {0x1a7, 1, 1, 1}, {0x1a9, 1, 1, 218}, {0x1ac, 1, 1, 1}, {0x1ae, 1, 1, 218},
    {0x1af, 1, 1, 1}, {0x1b1, 2, 1, 217}, {0x1b3, 2, 2, 1}, {0x1b7, 1, 1, 219}, {0x1b8, 1, 1, 1}, {0x1bc, 1, 1, 1},
    {0x1c4, 1, 1, 2}, {0x1c5, 1, 1, 1}, {0x1c7, 1, 1, 2}, {0x1c8, 1, 1, 1}, {0x1ca, 1, 1, 2}, {0x1cb, 9, 2, 1},
    {0x1de, 9, 2, 1}, {0x1f1, 1, 1, 2}, {0x1f2, 2, 2, 1}, {0x1f6, 1, 1, -97}, {0x1f7, 1, 1, -56}, {0x1f8, 20, 2, 1},
    {0x220, 1, 1, -130}, {0x222, 9, 2, 1}, {0x23a, 1, 1, 10795}, {0x23b, 1, 1, 1}, {0x23d, 1, 1, -163},
    {0x23e, 1, 1, 10792}, {0x241, 1, 1, 1}, {0x243, 1, 1, -195}, {0x244, 1, 1, 69}, {0x245, 1, 1, 71},
    {0x246, 5, 2, 1}, {0x370, 2, 2, 1}, {0x376, 1, 1, 1}, {0x37f, 1, 1, 116}, {0x386, 1, 1, 38}, {0x388, 3, 1, 37},
    {0x38c, 1, 1, 64}, {0x38e, 2, 1, 63}, {0x391, 17, 1, 32}, {0x3a3, 9, 1, 32}, {0x3cf, 1, 1, 8}, {0x3d8, 12, 2, 1},
    {0x3f4, 1, 1, -60}, {0x3f7, 1, 1, 1}, {0x3f9, 1, 1, -7}, {0x3fa, 1, 1, 1}, {0x3fd, 3, 1, -130},
    {0x400, 16, 1, 80}, {0x410, 32, 1, 32}, {0x460, 17, 2, 1}, {0x48a, 27, 2, 1}, {0x4c0, 1, 1, 15}, {0x4c1, 7, 2, 1},
    {0x4d0, 48, 2, 1}, {0x531, 38, 1, 48}, {0x10a0, 38, 1, 7264}, {0x10c7, 1, 1, 7264}, {0x10cd, 1, 1, 7264},
    {0x13a0, 80, 1, 38864}, {0x13f0, 6, 1, 8}, {0x1c90, 43, 1, -3008}, {0x1cbd, 3, 1, -3008}, {0x1e00, 75, 2, 1},
    {0x1e9e, 1, 1, -7615}, {0x1ea0, 48, 2, 1}, {0x1f08, 8, 1, -8}, {0x1f18, 6, 1, -8}, {0x1f28, 8, 1, -8},
    {0x1f38, 8, 1, -8}, {0x1f48, 6, 1, -8}, {0x1f59, 4, 2, -8}, {0x1f68, 8, 1, -8}, {0x1f88, 8, 1, -8},
    {0x1f98, 8, 1, -8}, {0x1fa8, 8, 1, -8}, {0x1fb8, 2, 1, -8}, {0x1fba, 2, 1, -74}, {0x1fbc, 1, 1, -9},
    {0x1fc8, 4, 1, -86}, {0x1fcc, 1, 1, -9}, {0x1fd8, 2, 1, -8}, {0x1fda, 2, 1, -100}, {0x1fe8, 2, 1, -8},
    {0x1fea, 2, 1, -112}, {0x1fec, 1, 1, -7}, {0x1ff8, 2, 1, -128}, {0x1ffa, 2, 1, -126}, {0x1ffc, 1, 1, -9},
    {0x2126, 1, 1, -7517}, {0x212a, 1, 1, -8383}, {0x212b, 1, 1, -8262}, {0x2132, 1, 1, 28}, {0x2160, 16, 1, 16},
    {0x2183, 1, 1, 1}, {0x24b6, 26, 1, 26}, {0x2c00, 48, 1, 48}, {0x2c60, 1, 1, 1}, {0x2c62, 1, 1, -10743},
    {0x2c63, 1, 1, -3814}, {0x2c64, 1, 1, -10727}, {0x2c67, 3, 2, 1}, {0x2c6d, 1, 1, -10780}, {0x2c6e, 1, 1, -10749},
    {0x2c6f, 1, 1, -10783}, {0x2c70, 1, 1, -10782}, {0x2c72, 1, 1, 1}, {0x2c75, 1, 1, 1}, {0x2c7e, 2, 1, -10815},
    {0x2c80, 50, 2, 1}, {0x2ceb, 2, 2, 1}, {0x2cf2, 1, 1, 1}, {0xa640, 23, 2, 1}, {0xa680, 14, 2, 1},
    {0xa722, 7, 2, 1}, {0xa732, 31, 2, 1}, {0xa779, 2, 2, 1}, {0xa77d, 1, 1, -35332}, {0xa77e, 5, 2, 1},
    {0xa78b, 1, 1, 1}, {0xa78d, 1, 1, -42280}, {0xa790, 2, 2, 1}, {0xa796, 10, 2, 1}, {0xa7aa, 1, 1, -42308},
    {0xa7ab, 1, 1, -42319}, {0xa7ac, 1, 1, -42315}, {0xa7ad, 1, 1, -42305}, {0xa7ae, 1, 1, -42308},
    {0xa7b0, 1, 1, -42258}, {0xa7b1, 1, 1, -42282}, {0xa7b2, 1, 1, -42261}, {0xa7b3, 1, 1, 928}, {0xa7b4, 8, 2, 1},
    {0xa7c4, 1, 1, -48}, {0xa7c5, 1, 1, -42307}, {0xa7c6, 1, 1, -35384}, {0xa7c7, 2, 2, 1}, {0xa7d0, 1, 1, 1},
    {0xa7d6, 2, 2, 1}, {0xa7f5, 1, 1, 1}, {0xff21, 26, 1, 32}, {0x10400, 40, 1, 40}, {0x104b0, 36, 1, 40},
    {0x10570, 11, 1, 39}, {0x1057c, 15, 1, 39}, {0x1058c, 7, 1, 39}, {0x10594, 2, 1, 39}, {0x10c80, 51, 1, 64},
    {0x118a0, 32, 1, 32}, {0x16e40, 32, 1, 32}, {0x1e900, 34, 1, 34},
};
/* first code point of the canonical decomposition: (first << 10) | (last - first), base */
static const uint32_t tfm__uni_base[1827][2] = {
    {0x30005, 0x41}, {0x31c00, 0x43}, {0x32003, 0x45}, {0x33003, 0x49}, {0x34400, 0x4e}, {0x34804, 0x4f},
    {0x36403, 0x55}, {0x37400, 0x59}, {0x38005, 0x61}, {0x39c00, 0x63}, {0x3a003, 0x65}, {0x3b003, 0x69},
    {0x3c400, 0x6e}, {0x3c804, 0x6f}, {0x3e403, 0x75}, {0x3f400, 0x79}, {0x3fc00, 0x79}, {0x40000, 0x41},
    {0x40400, 0x61}, {0x40800, 0x41}, {0x40c00, 0x61}, {0x41000, 0x41}, {0x41400, 0x61}, {0x41800, 0x43},
    {0x41c00, 0x63}, {0x42000, 0x43}, {0x42400, 0x63}, {0x42800, 0x43}, {0x42c00, 0x63}, {0x43000, 0x43},
    {0x43400, 0x63}, {0x43800, 0x44}, {0x43c00, 0x64}, {0x44800, 0x45}, {0x44c00, 0x65}, {0x45000, 0x45},
    {0x45400, 0x65}, {0x45800, 0x45}, {0x45c00, 0x65}, {0x46000, 0x45}, {0x46400, 0x65}, {0x46800, 0x45},
    {0x46c00, 0x65}, {0x47000, 0x47}, {0x47400, 0x67}, {0x47800, 0x47}, {0x47c00, 0x67}, {0x48000, 0x47},
    {0x48400, 0x67}, {0x48800, 0x47}, {0x48c00, 0x67}, {0x49000, 0x48}, {0x49400, 0x68}, {0x4a000, 0x49},
    {0x4a400, 0x69}, {0x4a800, 0x49}, {0x4ac00, 0x69}, {0x4b000, 0x49}, {0x4b400, 0x69}, {0x4b800, 0x49},
    {0x4bc00, 0x69}, {0x4c000, 0x49}, {0x4d000, 0x4a}, {0x4d400, 0x6a}, {0x4d800, 0x4b}, {0x4dc00, 0x6b},
    {0x4e400, 0x4c}, {0x4e800, 0x6c}, {0x4ec00, 0x4c}, {0x4f000, 0x6c}, {0x4f400, 0x4c}, {0x4f800, 0x6c},
    {0x50c00, 0x4e}, {0x51000, 0x6e}, {0x51400, 0x4e}, {0x51800, 0x6e}, {0x51c00, 0x4e}, {0x52000, 0x6e},
    {0x53000, 0x4f}, {0x53400, 0x6f}, {0x53800, 0x4f}, {0x53c00, 0x6f}, {0x54000, 0x4f}, {0x54400, 0x6f},
    {0x55000, 0x52}, {0x55400, 0x72}, {0x55800, 0x52}, {0x55c00, 0x72}, {0x56000, 0x52}, {0x56400, 0x72},
    {0x56800, 0x53}, {0x56c00, 0x73}, {0x57000, 0x53}, {0x57400, 0x73}, {0x57800, 0x53}, {0x57c00, 0x73},
    {0x58000, 0x53}, {0x58400, 0x73}, {0x58800, 0x54}, {0x58c00, 0x74}, {0x59000, 0x54}, {0x59400, 0x74},
    {0x5a000, 0x55}, {0x5a400, 0x75}, {0x5a800, 0x55}, {0x5ac00, 0x75}, {0x5b000, 0x55}, {0x5b400, 0x75},
    {0x5b800, 0x55}, {0x5bc00, 0x75}, {0x5c000, 0x55}, {0x5c400, 0x75}, {0x5c800, 0x55}, {0x5cc00, 0x75},
    {0x5d000, 0x57}, {0x5d400, 0x77}, {0x5d800, 0x59}, {0x5dc00, 0x79}, {0x5e000, 0x59}, {0x5e400, 0x5a},
    {0x5e800, 0x7a}, {0x5ec00, 0x5a}, {0x5f000, 0x7a}, {0x5f400, 0x5a}, {0x5f800, 0x7a}, {0x68000, 0x4f},
    {0x68400, 0x6f}, {0x6bc00, 0x55}, {0x6c000, 0x75}, {0x73400, 0x41}, {0x73800, 0x61}, {0x73c00, 0x49},
    {0x74000, 0x69}, {0x74400, 0x4f}, {0x74800, 0x6f}, {0x74c00, 0x55}, {0x75000, 0x75}, {0x75400, 0x55},
    {0x75800, 0x75}, {0x75c00, 0x55}, {0x76000, 0x75}, {0x76400, 0x55}, {0x76800, 0x75}, {0x76c00, 0x55},
    {0x77000, 0x75}, {0x77800, 0x41}, {0x77c00, 0x61}, {0x78000, 0x41}, {0x78400, 0x61}, {0x78800, 0xc6},
    {0x78c00, 0xe6}, {0x79800, 0x47}, {0x79c00, 0x67}, {0x7a000, 0x4b}, {0x7a400, 0x6b}, {0x7a800, 0x4f},
    {0x7ac00, 0x6f}, {0x7b000, 0x4f}, {0x7b400, 0x6f}, {0x7b800, 0x1b7}, {0x7bc00, 0x292}, {0x7c000, 0x6a},
    {0x7d000, 0x47}, {0x7d400, 0x67}, {0x7e000, 0x4e}, {0x7e400, 0x6e}, {0x7e800, 0x41}, {0x7ec00, 0x61},
    {0x7f000, 0xc6}, {0x7f400, 0xe6}, {0x7f800, 0xd8}, {0x7fc00, 0xf8}, {0x80000, 0x41}, {0x80400, 0x61},
    {0x80800, 0x41}, {0x80c00, 0x61}, {0x81000, 0x45}, {0x81400, 0x65}, {0x81800, 0x45}, {0x81c00, 0x65},
    {0x82000, 0x49}, {0x82400, 0x69}, {0x82800, 0x49}, {0x82c00, 0x69}, {0x83000, 0x4f}, {0x83400, 0x6f},
    {0x83800, 0x4f}, {0x83c00, 0x6f}, {0x84000, 0x52}, {0x84400, 0x72}, {0x84800, 0x52}, {0x84c00, 0x72},
    {0x85000, 0x55}, {0x85400, 0x75}, {0x85800, 0x55}, {0x85c00, 0x75}, {0x86000, 0x53}, {0x86400, 0x73},
    {0x86800, 0x54}, {0x86c00, 0x74}, {0x87800, 0x48}, {0x87c00, 0x68}, {0x89800, 0x41}, {0x89c00, 0x61},
    {0x8a000, 0x45}, {0x8a400, 0x65}, {0x8a800, 0x4f}, {0x8ac00, 0x6f}, {0x8b000, 0x4f}, {0x8b400, 0x6f},
    {0x8b800, 0x4f}, {0x8bc00, 0x6f}, {0x8c000, 0x4f}, {0x8c400, 0x6f}, {0x8c800, 0x59}, {0x8cc00, 0x79},
    {0xd0000, 0x300}, {0xd0400, 0x301}, {0xd0c00, 0x313}, {0xd1000, 0x308}, {0xdd000, 0x2b9}, {0xdf800, 0x3b},
    {0xe1400, 0xa8}, {0xe1800, 0x391}, {0xe1c00, 0xb7}, {0xe2000, 0x395}, {0xe2400, 0x397}, {0xe2800, 0x399},
    {0xe3000, 0x39f}, {0xe3800, 0x3a5}, {0xe3c00, 0x3a9}, {0xe4000, 0x3b9}, {0xea800, 0x399}, {0xeac00, 0x3a5},
    {0xeb000, 0x3b1}, {0xeb400, 0x3b5}, {0xeb800, 0x3b7}, {0xebc00, 0x3b9}, {0xec000, 0x3c5}, {0xf2800, 0x3b9},
    {0xf2c00, 0x3c5}, {0xf3000, 0x3bf}, {0xf3400, 0x3c5}, {0xf3800, 0x3c9}, {0xf4c01, 0x3d2}, {0x100001, 0x415},
    {0x100c00, 0x413}, {0x101c00, 0x406}, {0x103000, 0x41a}, {0x103400, 0x418}, {0x103800, 0x423}, {0x106400, 0x418},
    {0x10e400, 0x438}, {0x114001, 0x435}, {0x114c00, 0x433}, {0x115c00, 0x456}, {0x117000, 0x43a}, {0x117400, 0x438},
    {0x117800, 0x443}, {0x11d800, 0x474}, {0x11dc00, 0x475}, {0x130400, 0x416}, {0x130800, 0x436}, {0x134000, 0x410},
    {0x134400, 0x430}, {0x134800, 0x410}, {0x134c00, 0x430}, {0x135800, 0x415}, {0x135c00, 0x435}, {0x136800, 0x4d8},
    {0x136c00, 0x4d9}, {0x137000, 0x416}, {0x137400, 0x436}, {0x137800, 0x417}, {0x137c00, 0x437}, {0x138800, 0x418},
    {0x138c00, 0x438}, {0x139000, 0x418}, {0x139400, 0x438}, {0x139800, 0x41e}, {0x139c00, 0x43e}, {0x13a800, 0x4e8},
    {0x13ac00, 0x4e9}, {0x13b000, 0x42d}, {0x13b400, 0x44d}, {0x13b800, 0x423}, {0x13bc00, 0x443}, {0x13c000, 0x423},
    {0x13c400, 0x443}, {0x13c800, 0x423}, {0x13cc00, 0x443}, {0x13d000, 0x427}, {0x13d400, 0x447}, {0x13e000, 0x42b},
    {0x13e400, 0x44b}, {0x188801, 0x627}, {0x189000, 0x648}, {0x189400, 0x627}, {0x189800, 0x64a}, {0x1b0000, 0x6d5},
    {0x1b0800, 0x6c1}, {0x1b4c00, 0x6d2}, {0x24a400, 0x928}, {0x24c400, 0x930}, {0x24d000, 0x933}, {0x256000, 0x915},
    {0x256400, 0x916}, {0x256800, 0x917}, {0x256c00, 0x91c}, {0x257000, 0x921}, {0x257400, 0x922}, {0x257800, 0x92b},
    {0x257c00, 0x92f}, {0x272c01, 0x9c7}, {0x277000, 0x9a1}, {0x277400, 0x9a2}, {0x277c00, 0x9af}, {0x28cc00, 0xa32},
    {0x28d800, 0xa38}, {0x296400, 0xa16}, {0x296800, 0xa17}, {0x296c00, 0xa1c}, {0x297800, 0xa2b}, {0x2d2000, 0xb47},
    {0x2d2c01, 0xb47}, {0x2d7000, 0xb21}, {0x2d7400, 0xb22}, {0x2e5000, 0xb92}, {0x2f2800, 0xbc6}, {0x2f2c00, 0xbc7},
    {0x2f3000, 0xbc6}, {0x312000, 0xc46}, {0x330000, 0xcbf}, {0x331c01, 0xcc6}, {0x332801, 0xcc6}, {0x352800, 0xd46},
    {0x352c00, 0xd47}, {0x353000, 0xd46}, {0x376800, 0xdd9}, {0x377002, 0xdd9}, {0x3d0c00, 0xf42}, {0x3d3400, 0xf4c},
    {0x3d4800, 0xf51}, {0x3d5c00, 0xf56}, {0x3d7000, 0xf5b}, {0x3da400, 0xf40}, {0x3dcc00, 0xf71}, {0x3dd400, 0xf71},
    {0x3dd800, 0xfb2}, {0x3de000, 0xfb3}, {0x3e0400, 0xf71}, {0x3e4c00, 0xf92}, {0x3e7400, 0xf9c}, {0x3e8800, 0xfa1},
    {0x3e9c00, 0xfa6}, {0x3eb000, 0xfab}, {0x3ee400, 0xf90}, {0x409800, 0x1025}, {0x6c1800, 0x1b05},
    {0x6c2000, 0x1b07}, {0x6c2800, 0x1b09}, {0x6c3000, 0x1b0b}, {0x6c3800, 0x1b0d}, {0x6c4800, 0x1b11},
    {0x6cec00, 0x1b3a}, {0x6cf400, 0x1b3c}, {0x6d0000, 0x1b3e}, {0x6d0400, 0x1b3f}, {0x6d0c00, 0x1b42},
    {0x780000, 0x41}, {0x780400, 0x61}, {0x780800, 0x42}, {0x780c00, 0x62}, {0x781000, 0x42}, {0x781400, 0x62},
    {0x781800, 0x42}, {0x781c00, 0x62}, {0x782000, 0x43}, {0x782400, 0x63}, {0x782800, 0x44}, {0x782c00, 0x64},
    {0x783000, 0x44}, {0x783400, 0x64}, {0x783800, 0x44}, {0x783c00, 0x64}, {0x784000, 0x44}, {0x784400, 0x64},
    {0x784800, 0x44}, {0x784c00, 0x64}, {0x785000, 0x45}, {0x785400, 0x65}, {0x785800, 0x45}, {0x785c00, 0x65},
    {0x786000, 0x45}, {0x786400, 0x65}, {0x786800, 0x45}, {0x786c00, 0x65}, {0x787000, 0x45}, {0x787400, 0x65},
    {0x787800, 0x46}, {0x787c00, 0x66}, {0x788000, 0x47}, {0x788400, 0x67}, {0x788800, 0x48}, {0x788c00, 0x68},
    {0x789000, 0x48}, {0x789400, 0x68}, {0x789800, 0x48}, {0x789c00, 0x68}, {0x78a000, 0x48}, {0x78a400, 0x68},
    {0x78a800, 0x48}, {0x78ac00, 0x68}, {0x78b000, 0x49}, {0x78b400, 0x69}, {0x78b800, 0x49}, {0x78bc00, 0x69},
    {0x78c000, 0x4b}, {0x78c400, 0x6b}, {0x78c800, 0x4b}, {0x78cc00, 0x6b}, {0x78d000, 0x4b}, {0x78d400, 0x6b},
    {0x78d800, 0x4c}, {0x78dc00, 0x6c}, {0x78e000, 0x4c}, {0x78e400, 0x6c}, {0x78e800, 0x4c}, {0x78ec00, 0x6c},
    {0x78f000, 0x4c}, {0x78f400, 0x6c}, {0x78f800, 0x4d}, {0x78fc00, 0x6d}, {0x790000, 0x4d}, {0x790400, 0x6d},
    {0x790800, 0x4d}, {0x790c00, 0x6d}, {0x791000, 0x4e}, {0x791400, 0x6e}, {0x791800, 0x4e}, {0x791c00, 0x6e},
    {0x792000, 0x4e}, {0x792400, 0x6e}, {0x792800, 0x4e}, {0x792c00, 0x6e}, {0x793000, 0x4f}, {0x793400, 0x6f},
    {0x793800, 0x4f}, {0x793c00, 0x6f}, {0x794000, 0x4f}, {0x794400, 0x6f}, {0x794800, 0x4f}, {0x794c00, 0x6f},
    {0x795000, 0x50}, {0x795400, 0x70}, {0x795800, 0x50}, {0x795c00, 0x70}, {0x796000, 0x52}, {0x796400, 0x72},
    {0x796800, 0x52}, {0x796c00, 0x72}, {0x797000, 0x52}, {0x797400, 0x72}, {0x797800, 0x52}, {0x797c00, 0x72},
    {0x798000, 0x53}, {0x798400, 0x73}, {0x798800, 0x53}, {0x798c00, 0x73}, {0x799000, 0x53}, {0x799400, 0x73},
    {0x799800, 0x53}, {0x799c00, 0x73}, {0x79a000, 0x53}, {0x79a400, 0x73}, {0x79a800, 0x54}, {0x79ac00, 0x74},
    {0x79b000, 0x54}, {0x79b400, 0x74}, {0x79b800, 0x54}, {0x79bc00, 0x74}, {0x79c000, 0x54}, {0x79c400, 0x74},
    {0x79c800, 0x55}, {0x79cc00, 0x75}, {0x79d000, 0x55}, {0x79d400, 0x75}, {0x79d800, 0x55}, {0x79dc00, 0x75},
    {0x79e000, 0x55}, {0x79e400, 0x75}, {0x79e800, 0x55}, {0x79ec00, 0x75}, {0x79f000, 0x56}, {0x79f400, 0x76},
    {0x79f800, 0x56}, {0x79fc00, 0x76}, {0x7a0000, 0x57}, {0x7a0400, 0x77}, {0x7a0800, 0x57}, {0x7a0c00, 0x77},
    {0x7a1000, 0x57}, {0x7a1400, 0x77}, {0x7a1800, 0x57}, {0x7a1c00, 0x77}, {0x7a2000, 0x57}, {0x7a2400, 0x77},
    {0x7a2800, 0x58}, {0x7a2c00, 0x78}, {0x7a3000, 0x58}, {0x7a3400, 0x78}, {0x7a3800, 0x59}, {0x7a3c00, 0x79},
    {0x7a4000, 0x5a}, {0x7a4400, 0x7a}, {0x7a4800, 0x5a}, {0x7a4c00, 0x7a}, {0x7a5000, 0x5a}, {0x7a5400, 0x7a},
    {0x7a5800, 0x68}, {0x7a5c00, 0x74}, {0x7a6000, 0x77}, {0x7a6400, 0x79}, {0x7a6c00, 0x17f}, {0x7a8000, 0x41},
    {0x7a8400, 0x61}, {0x7a8800, 0x41}, {0x7a8c00, 0x61}, {0x7a9000, 0x41}, {0x7a9400, 0x61}, {0x7a9800, 0x41},
    {0x7a9c00, 0x61}, {0x7aa000, 0x41}, {0x7aa400, 0x61}, {0x7aa800, 0x41}, {0x7aac00, 0x61}, {0x7ab000, 0x41},
    {0x7ab400, 0x61}, {0x7ab800, 0x41}, {0x7abc00, 0x61}, {0x7ac000, 0x41}, {0x7ac400, 0x61}, {0x7ac800, 0x41},
    {0x7acc00, 0x61}, {0x7ad000, 0x41}, {0x7ad400, 0x61}, {0x7ad800, 0x41}, {0x7adc00, 0x61}, {0x7ae000, 0x45},
    {0x7ae400, 0x65}, {0x7ae800, 0x45}, {0x7aec00, 0x65}, {0x7af000, 0x45}, {0x7af400, 0x65}, {0x7af800, 0x45},
    {0x7afc00, 0x65}, {0x7b0000, 0x45}, {0x7b0400, 0x65}, {0x7b0800, 0x45}, {0x7b0c00, 0x65}, {0x7b1000, 0x45},
    {0x7b1400, 0x65}, {0x7b1800, 0x45}, {0x7b1c00, 0x65}, {0x7b2000, 0x49}, {0x7b2400, 0x69}, {0x7b2800, 0x49},
    {0x7b2c00, 0x69}, {0x7b3000, 0x4f}, {0x7b3400, 0x6f}, {0x7b3800, 0x4f}, {0x7b3c00, 0x6f}, {0x7b4000, 0x4f},
    {0x7b4400, 0x6f}, {0x7b4800, 0x4f}, {0x7b4c00, 0x6f}, {0x7b5000, 0x4f}, {0x7b5400, 0x6f}, {0x7b5800, 0x4f},
    {0x7b5c00, 0x6f}, {0x7b6000, 0x4f}, {0x7b6400, 0x6f}, {0x7b6800, 0x4f}, {0x7b6c00, 0x6f}, {0x7b7000, 0x4f},
    {0x7b7400, 0x6f}, {0x7b7800, 0x4f}, {0x7b7c00, 0x6f}, {0x7b8000, 0x4f}, {0x7b8400, 0x6f}, {0x7b8800, 0x4f},
    {0x7b8c00, 0x6f}, {0x7b9000, 0x55}, {0x7b9400, 0x75}, {0x7b9800, 0x55}, {0x7b9c00, 0x75}, {0x7ba000, 0x55},
    {0x7ba400, 0x75}, {0x7ba800, 0x55}, {0x7bac00, 0x75}, {0x7bb000, 0x55}, {0x7bb400, 0x75}, {0x7bb800, 0x55},
    {0x7bbc00, 0x75}, {0x7bc000, 0x55}, {0x7bc400, 0x75}, {0x7bc800, 0x59}, {0x7bcc00, 0x79}, {0x7bd000, 0x59},
    {0x7bd400, 0x79}, {0x7bd800, 0x59}, {0x7bdc00, 0x79}, {0x7be000, 0x59}, {0x7be400, 0x79}, {0x7c0007, 0x3b1},
    {0x7c2007, 0x391}, {0x7c4005, 0x3b5}, {0x7c6005, 0x395}, {0x7c8007, 0x3b7}, {0x7ca007, 0x397}, {0x7cc007, 0x3b9},
    {0x7ce007, 0x399}, {0x7d0005, 0x3bf}, {0x7d2005, 0x39f}, {0x7d4007, 0x3c5}, {0x7d6400, 0x3a5}, {0x7d6c00, 0x3a5},
    {0x7d7400, 0x3a5}, {0x7d7c00, 0x3a5}, {0x7d8007, 0x3c9}, {0x7da007, 0x3a9}, {0x7dc001, 0x3b1}, {0x7dc801, 0x3b5},
    {0x7dd001, 0x3b7}, {0x7dd801, 0x3b9}, {0x7de001, 0x3bf}, {0x7de801, 0x3c5}, {0x7df001, 0x3c9}, {0x7e0007, 0x3b1},
    {0x7e2007, 0x391}, {0x7e4007, 0x3b7}, {0x7e6007, 0x397}, {0x7e8007, 0x3c9}, {0x7ea007, 0x3a9}, {0x7ec004, 0x3b1},
    {0x7ed801, 0x3b1}, {0x7ee004, 0x391}, {0x7ef800, 0x3b9}, {0x7f0400, 0xa8}, {0x7f0802, 0x3b7}, {0x7f1801, 0x3b7},
    {0x7f2001, 0x395}, {0x7f2802, 0x397}, {0x7f3402, 0x1fbf}, {0x7f4003, 0x3b9}, {0x7f5801, 0x3b9}, {0x7f6003, 0x399},
    {0x7f7402, 0x1ffe}, {0x7f8003, 0x3c5}, {0x7f9001, 0x3c1}, {0x7f9801, 0x3c5}, {0x7fa003, 0x3a5}, {0x7fb000, 0x3a1},
    {0x7fb401, 0xa8}, {0x7fbc00, 0x60}, {0x7fc802, 0x3c9}, {0x7fd801, 0x3c9}, {0x7fe001, 0x39f}, {0x7fe802, 0x3a9},
    {0x7ff400, 0xb4}, {0x800000, 0x2002}, {0x800400, 0x2003}, {0x849800, 0x3a9}, {0x84a800, 0x4b}, {0x84ac00, 0x41},
    {0x866800, 0x2190}, {0x866c00, 0x2192}, {0x86b800, 0x2194}, {0x873400, 0x21d0}, {0x873800, 0x21d4},
    {0x873c00, 0x21d2}, {0x881000, 0x2203}, {0x882400, 0x2208}, {0x883000, 0x220b}, {0x889000, 0x2223},
    {0x889800, 0x2225}, {0x890400, 0x223c}, {0x891000, 0x2243}, {0x891c00, 0x2245}, {0x892400, 0x2248},
    {0x898000, 0x3d}, {0x898800, 0x2261}, {0x89b400, 0x224d}, {0x89b800, 0x3c}, {0x89bc00, 0x3e}, {0x89c000, 0x2264},
    {0x89c400, 0x2265}, {0x89d000, 0x2272}, {0x89d400, 0x2273}, {0x89e000, 0x2276}, {0x89e400, 0x2277},
    {0x8a0000, 0x227a}, {0x8a0400, 0x227b}, {0x8a1000, 0x2282}, {0x8a1400, 0x2283}, {0x8a2000, 0x2286},
    {0x8a2400, 0x2287}, {0x8ab000, 0x22a2}, {0x8ab400, 0x22a8}, {0x8ab800, 0x22a9}, {0x8abc00, 0x22ab},
    {0x8b8000, 0x227c}, {0x8b8400, 0x227d}, {0x8b8800, 0x2291}, {0x8b8c00, 0x2292}, {0x8ba800, 0x22b2},
    {0x8bac00, 0x22b3}, {0x8bb000, 0x22b4}, {0x8bb400, 0x22b5}, {0x8ca400, 0x3008}, {0x8ca800, 0x3009},
    {0xab7000, 0x2add}, {0xc13000, 0x304b}, {0xc13800, 0x304d}, {0xc14000, 0x304f}, {0xc14800, 0x3051},
    {0xc15000, 0x3053}, {0xc15800, 0x3055}, {0xc16000, 0x3057}, {0xc16800, 0x3059}, {0xc17000, 0x305b},
    {0xc17800, 0x305d}, {0xc18000, 0x305f}, {0xc18800, 0x3061}, {0xc19400, 0x3064}, {0xc19c00, 0x3066},
    {0xc1a400, 0x3068}, {0xc1c001, 0x306f}, {0xc1cc01, 0x3072}, {0xc1d801, 0x3075}, {0xc1e401, 0x3078},
    {0xc1f001, 0x307b}, {0xc25000, 0x3046}, {0xc27800, 0x309d}, {0xc2b000, 0x30ab}, {0xc2b800, 0x30ad},
    {0xc2c000, 0x30af}, {0xc2c800, 0x30b1}, {0xc2d000, 0x30b3}, {0xc2d800, 0x30b5}, {0xc2e000, 0x30b7},
    {0xc2e800, 0x30b9}, {0xc2f000, 0x30bb}, {0xc2f800, 0x30bd}, {0xc30000, 0x30bf}, {0xc30800, 0x30c1},
    {0xc31400, 0x30c4}, {0xc31c00, 0x30c6}, {0xc32400, 0x30c8}, {0xc34001, 0x30cf}, {0xc34c01, 0x30d2},
    {0xc35801, 0x30d5}, {0xc36401, 0x30d8}, {0xc37001, 0x30db}, {0xc3d000, 0x30a6}, {0xc3dc00, 0x30ef},
    {0xc3e000, 0x30f0}, {0xc3e400, 0x30f1}, {0xc3e800, 0x30f2}, {0xc3f800, 0x30fd}, {0x2b0024b, 0x1100},
    {0x2b9324b, 0x1101}, {0x2c2624b, 0x1102}, {0x2cb924b, 0x1103}, {0x2d4c24b, 0x1104}, {0x2ddf24b, 0x1105},
    {0x2e7224b, 0x1106}, {0x2f0524b, 0x1107}, {0x2f9824b, 0x1108}, {0x302b24b, 0x1109}, {0x30be24b, 0x110a},
    {0x315124b, 0x110b}, {0x31e424b, 0x110c}, {0x327724b, 0x110d}, {0x330a24b, 0x110e}, {0x339d24b, 0x110f},
    {0x343024b, 0x1110}, {0x34c324b, 0x1111}, {0x355624b, 0x1112}, {0x3e40000, 0x8c48}, {0x3e40400, 0x66f4},
    {0x3e40800, 0x8eca}, {0x3e40c00, 0x8cc8}, {0x3e41000, 0x6ed1}, {0x3e41400, 0x4e32}, {0x3e41800, 0x53e5},
    {0x3e41c01, 0x9f9c}, {0x3e42400, 0x5951}, {0x3e42800, 0x91d1}, {0x3e42c00, 0x5587}, {0x3e43000, 0x5948},
    {0x3e43400, 0x61f6}, {0x3e43800, 0x7669}, {0x3e43c00, 0x7f85}, {0x3e44000, 0x863f}, {0x3e44400, 0x87ba},
    {0x3e44800, 0x88f8}, {0x3e44c00, 0x908f}, {0x3e45000, 0x6a02}, {0x3e45400, 0x6d1b}, {0x3e45800, 0x70d9},
    {0x3e45c00, 0x73de}, {0x3e46000, 0x843d}, {0x3e46400, 0x916a}, {0x3e46800, 0x99f1}, {0x3e46c00, 0x4e82},
    {0x3e47000, 0x5375}, {0x3e47400, 0x6b04}, {0x3e47800, 0x721b}, {0x3e47c00, 0x862d}, {0x3e48000, 0x9e1e},
    {0x3e48400, 0x5d50}, {0x3e48800, 0x6feb}, {0x3e48c00, 0x85cd}, {0x3e49000, 0x8964}, {0x3e49400, 0x62c9},
    {0x3e49800, 0x81d8}, {0x3e49c00, 0x881f}, {0x3e4a000, 0x5eca}, {0x3e4a400, 0x6717}, {0x3e4a800, 0x6d6a},
    {0x3e4ac00, 0x72fc}, {0x3e4b000, 0x90ce}, {0x3e4b400, 0x4f86}, {0x3e4b800, 0x51b7}, {0x3e4bc00, 0x52de},
    {0x3e4c000, 0x64c4}, {0x3e4c400, 0x6ad3}, {0x3e4c800, 0x7210}, {0x3e4cc00, 0x76e7}, {0x3e4d000, 0x8001},
    {0x3e4d400, 0x8606}, {0x3e4d800, 0x865c}, {0x3e4dc00, 0x8def}, {0x3e4e000, 0x9732}, {0x3e4e400, 0x9b6f},
    {0x3e4e800, 0x9dfa}, {0x3e4ec00, 0x788c}, {0x3e4f000, 0x797f}, {0x3e4f400, 0x7da0}, {0x3e4f800, 0x83c9},
    {0x3e4fc00, 0x9304}, {0x3e50000, 0x9e7f}, {0x3e50400, 0x8ad6}, {0x3e50800, 0x58df}, {0x3e50c00, 0x5f04},
    {0x3e51000, 0x7c60}, {0x3e51400, 0x807e}, {0x3e51800, 0x7262}, {0x3e51c00, 0x78ca}, {0x3e52000, 0x8cc2},
    {0x3e52400, 0x96f7}, {0x3e52800, 0x58d8}, {0x3e52c00, 0x5c62}, {0x3e53000, 0x6a13}, {0x3e53400, 0x6dda},
    {0x3e53800, 0x6f0f}, {0x3e53c00, 0x7d2f}, {0x3e54000, 0x7e37}, {0x3e54400, 0x964b}, {0x3e54800, 0x52d2},
    {0x3e54c00, 0x808b}, {0x3e55000, 0x51dc}, {0x3e55400, 0x51cc}, {0x3e55800, 0x7a1c}, {0x3e55c00, 0x7dbe},
    {0x3e56000, 0x83f1}, {0x3e56400, 0x9675}, {0x3e56800, 0x8b80}, {0x3e56c00, 0x62cf}, {0x3e57000, 0x6a02},
    {0x3e57400, 0x8afe}, {0x3e57800, 0x4e39}, {0x3e57c00, 0x5be7}, {0x3e58000, 0x6012}, {0x3e58400, 0x7387},
    {0x3e58800, 0x7570}, {0x3e58c00, 0x5317}, {0x3e59000, 0x78fb}, {0x3e59400, 0x4fbf}, {0x3e59800, 0x5fa9},
    {0x3e59c00, 0x4e0d}, {0x3e5a000, 0x6ccc}, {0x3e5a400, 0x6578}, {0x3e5a800, 0x7d22}, {0x3e5ac00, 0x53c3},
    {0x3e5b000, 0x585e}, {0x3e5b400, 0x7701}, {0x3e5b800, 0x8449}, {0x3e5bc00, 0x8aaa}, {0x3e5c000, 0x6bba},
    {0x3e5c400, 0x8fb0}, {0x3e5c800, 0x6c88}, {0x3e5cc00, 0x62fe}, {0x3e5d000, 0x82e5}, {0x3e5d400, 0x63a0},
    {0x3e5d800, 0x7565}, {0x3e5dc00, 0x4eae}, {0x3e5e000, 0x5169}, {0x3e5e400, 0x51c9}, {0x3e5e800, 0x6881},
    {0x3e5ec00, 0x7ce7}, {0x3e5f000, 0x826f}, {0x3e5f400, 0x8ad2}, {0x3e5f800, 0x91cf}, {0x3e5fc00, 0x52f5},
    {0x3e60000, 0x5442}, {0x3e60400, 0x5973}, {0x3e60800, 0x5eec}, {0x3e60c00, 0x65c5}, {0x3e61000, 0x6ffe},
    {0x3e61400, 0x792a}, {0x3e61800, 0x95ad}, {0x3e61c00, 0x9a6a}, {0x3e62000, 0x9e97}, {0x3e62400, 0x9ece},
    {0x3e62800, 0x529b}, {0x3e62c00, 0x66c6}, {0x3e63000, 0x6b77}, {0x3e63400, 0x8f62}, {0x3e63800, 0x5e74},
    {0x3e63c00, 0x6190}, {0x3e64000, 0x6200}, {0x3e64400, 0x649a}, {0x3e64800, 0x6f23}, {0x3e64c00, 0x7149},
    {0x3e65000, 0x7489}, {0x3e65400, 0x79ca}, {0x3e65800, 0x7df4}, {0x3e65c00, 0x806f}, {0x3e66000, 0x8f26},
    {0x3e66400, 0x84ee}, {0x3e66800, 0x9023}, {0x3e66c00, 0x934a}, {0x3e67000, 0x5217}, {0x3e67400, 0x52a3},
    {0x3e67800, 0x54bd}, {0x3e67c00, 0x70c8}, {0x3e68000, 0x88c2}, {0x3e68400, 0x8aaa}, {0x3e68800, 0x5ec9},
    {0x3e68c00, 0x5ff5}, {0x3e69000, 0x637b}, {0x3e69400, 0x6bae}, {0x3e69800, 0x7c3e}, {0x3e69c00, 0x7375},
    {0x3e6a000, 0x4ee4}, {0x3e6a400, 0x56f9}, {0x3e6a800, 0x5be7}, {0x3e6ac00, 0x5dba}, {0x3e6b000, 0x601c},
    {0x3e6b400, 0x73b2}, {0x3e6b800, 0x7469}, {0x3e6bc00, 0x7f9a}, {0x3e6c000, 0x8046}, {0x3e6c400, 0x9234},
    {0x3e6c800, 0x96f6}, {0x3e6cc00, 0x9748}, {0x3e6d000, 0x9818}, {0x3e6d400, 0x4f8b}, {0x3e6d800, 0x79ae},
    {0x3e6dc00, 0x91b4}, {0x3e6e000, 0x96b8}, {0x3e6e400, 0x60e1}, {0x3e6e800, 0x4e86}, {0x3e6ec00, 0x50da},
    {0x3e6f000, 0x5bee}, {0x3e6f400, 0x5c3f}, {0x3e6f800, 0x6599}, {0x3e6fc00, 0x6a02}, {0x3e70000, 0x71ce},
    {0x3e70400, 0x7642}, {0x3e70800, 0x84fc}, {0x3e70c00, 0x907c}, {0x3e71000, 0x9f8d}, {0x3e71400, 0x6688},
    {0x3e71800, 0x962e}, {0x3e71c00, 0x5289}, {0x3e72000, 0x677b}, {0x3e72400, 0x67f3}, {0x3e72800, 0x6d41},
    {0x3e72c00, 0x6e9c}, {0x3e73000, 0x7409}, {0x3e73400, 0x7559}, {0x3e73800, 0x786b}, {0x3e73c00, 0x7d10},
    {0x3e74000, 0x985e}, {0x3e74400, 0x516d}, {0x3e74800, 0x622e}, {0x3e74c00, 0x9678}, {0x3e75000, 0x502b},
    {0x3e75400, 0x5d19}, {0x3e75800, 0x6dea}, {0x3e75c00, 0x8f2a}, {0x3e76000, 0x5f8b}, {0x3e76400, 0x6144},
    {0x3e76800, 0x6817}, {0x3e76c00, 0x7387}, {0x3e77000, 0x9686}, {0x3e77400, 0x5229}, {0x3e77800, 0x540f},
    {0x3e77c00, 0x5c65}, {0x3e78000, 0x6613}, {0x3e78400, 0x674e}, {0x3e78800, 0x68a8}, {0x3e78c00, 0x6ce5},
    {0x3e79000, 0x7406}, {0x3e79400, 0x75e2}, {0x3e79800, 0x7f79}, {0x3e79c00, 0x88cf}, {0x3e7a000, 0x88e1},
    {0x3e7a400, 0x91cc}, {0x3e7a800, 0x96e2}, {0x3e7ac00, 0x533f}, {0x3e7b000, 0x6eba}, {0x3e7b400, 0x541d},
    {0x3e7b800, 0x71d0}, {0x3e7bc00, 0x7498}, {0x3e7c000, 0x85fa}, {0x3e7c400, 0x96a3}, {0x3e7c800, 0x9c57},
    {0x3e7cc00, 0x9e9f}, {0x3e7d000, 0x6797}, {0x3e7d400, 0x6dcb}, {0x3e7d800, 0x81e8}, {0x3e7dc00, 0x7acb},
    {0x3e7e000, 0x7b20}, {0x3e7e400, 0x7c92}, {0x3e7e800, 0x72c0}, {0x3e7ec00, 0x7099}, {0x3e7f000, 0x8b58},
    {0x3e7f400, 0x4ec0}, {0x3e7f800, 0x8336}, {0x3e7fc00, 0x523a}, {0x3e80000, 0x5207}, {0x3e80400, 0x5ea6},
    {0x3e80800, 0x62d3}, {0x3e80c00, 0x7cd6}, {0x3e81000, 0x5b85}, {0x3e81400, 0x6d1e}, {0x3e81800, 0x66b4},
    {0x3e81c00, 0x8f3b}, {0x3e82000, 0x884c}, {0x3e82400, 0x964d}, {0x3e82800, 0x898b}, {0x3e82c00, 0x5ed3},
    {0x3e83000, 0x5140}, {0x3e83400, 0x55c0}, {0x3e84000, 0x585a}, {0x3e84800, 0x6674}, {0x3e85400, 0x51de},
    {0x3e85800, 0x732a}, {0x3e85c00, 0x76ca}, {0x3e86000, 0x793c}, {0x3e86400, 0x795e}, {0x3e86800, 0x7965},
    {0x3e86c00, 0x798f}, {0x3e87000, 0x9756}, {0x3e87400, 0x7cbe}, {0x3e87800, 0x7fbd}, {0x3e88000, 0x8612},
    {0x3e88800, 0x8af8}, {0x3e89400, 0x9038}, {0x3e89800, 0x90fd}, {0x3e8a800, 0x98ef}, {0x3e8ac00, 0x98fc},
    {0x3e8b000, 0x9928}, {0x3e8b400, 0x9db4}, {0x3e8b800, 0x90de}, {0x3e8bc00, 0x96b7}, {0x3e8c000, 0x4fae},
    {0x3e8c400, 0x50e7}, {0x3e8c800, 0x514d}, {0x3e8cc00, 0x52c9}, {0x3e8d000, 0x52e4}, {0x3e8d400, 0x5351},
    {0x3e8d800, 0x559d}, {0x3e8dc00, 0x5606}, {0x3e8e000, 0x5668}, {0x3e8e400, 0x5840}, {0x3e8e800, 0x58a8},
    {0x3e8ec00, 0x5c64}, {0x3e8f000, 0x5c6e}, {0x3e8f400, 0x6094}, {0x3e8f800, 0x6168}, {0x3e8fc00, 0x618e},
    {0x3e90000, 0x61f2}, {0x3e90400, 0x654f}, {0x3e90800, 0x65e2}, {0x3e90c00, 0x6691}, {0x3e91000, 0x6885},
    {0x3e91400, 0x6d77}, {0x3e91800, 0x6e1a}, {0x3e91c00, 0x6f22}, {0x3e92000, 0x716e}, {0x3e92400, 0x722b},
    {0x3e92800, 0x7422}, {0x3e92c00, 0x7891}, {0x3e93000, 0x793e}, {0x3e93400, 0x7949}, {0x3e93800, 0x7948},
    {0x3e93c00, 0x7950}, {0x3e94000, 0x7956}, {0x3e94400, 0x795d}, {0x3e94800, 0x798d}, {0x3e94c00, 0x798e},
    {0x3e95000, 0x7a40}, {0x3e95400, 0x7a81}, {0x3e95800, 0x7bc0}, {0x3e95c00, 0x7df4}, {0x3e96000, 0x7e09},
    {0x3e96400, 0x7e41}, {0x3e96800, 0x7f72}, {0x3e96c00, 0x8005}, {0x3e97000, 0x81ed}, {0x3e97401, 0x8279},
    {0x3e97c00, 0x8457}, {0x3e98000, 0x8910}, {0x3e98400, 0x8996}, {0x3e98800, 0x8b01}, {0x3e98c00, 0x8b39},
    {0x3e99000, 0x8cd3}, {0x3e99400, 0x8d08}, {0x3e99800, 0x8fb6}, {0x3e99c00, 0x9038}, {0x3e9a000, 0x96e3},
    {0x3e9a400, 0x97ff}, {0x3e9a800, 0x983b}, {0x3e9ac00, 0x6075}, {0x3e9b000, 0x242ee}, {0x3e9b400, 0x8218},
    {0x3e9c000, 0x4e26}, {0x3e9c400, 0x51b5}, {0x3e9c800, 0x5168}, {0x3e9cc00, 0x4f80}, {0x3e9d000, 0x5145},
    {0x3e9d400, 0x5180}, {0x3e9d800, 0x52c7}, {0x3e9dc00, 0x52fa}, {0x3e9e000, 0x559d}, {0x3e9e400, 0x5555},
    {0x3e9e800, 0x5599}, {0x3e9ec00, 0x55e2}, {0x3e9f000, 0x585a}, {0x3e9f400, 0x58b3}, {0x3e9f800, 0x5944},
    {0x3e9fc00, 0x5954}, {0x3ea0000, 0x5a62}, {0x3ea0400, 0x5b28}, {0x3ea0800, 0x5ed2}, {0x3ea0c00, 0x5ed9},
    {0x3ea1000, 0x5f69}, {0x3ea1400, 0x5fad}, {0x3ea1800, 0x60d8}, {0x3ea1c00, 0x614e}, {0x3ea2000, 0x6108},
    {0x3ea2400, 0x618e}, {0x3ea2800, 0x6160}, {0x3ea2c00, 0x61f2}, {0x3ea3000, 0x6234}, {0x3ea3400, 0x63c4},
    {0x3ea3800, 0x641c}, {0x3ea3c00, 0x6452}, {0x3ea4000, 0x6556}, {0x3ea4400, 0x6674}, {0x3ea4800, 0x6717},
    {0x3ea4c00, 0x671b}, {0x3ea5000, 0x6756}, {0x3ea5400, 0x6b79}, {0x3ea5800, 0x6bba}, {0x3ea5c00, 0x6d41},
    {0x3ea6000, 0x6edb}, {0x3ea6400, 0x6ecb}, {0x3ea6800, 0x6f22}, {0x3ea6c00, 0x701e}, {0x3ea7000, 0x716e},
    {0x3ea7400, 0x77a7}, {0x3ea7800, 0x7235}, {0x3ea7c00, 0x72af}, {0x3ea8000, 0x732a}, {0x3ea8400, 0x7471},
    {0x3ea8800, 0x7506}, {0x3ea8c00, 0x753b}, {0x3ea9000, 0x761d}, {0x3ea9400, 0x761f}, {0x3ea9800, 0x76ca},
    {0x3ea9c00, 0x76db}, {0x3eaa000, 0x76f4}, {0x3eaa400, 0x774a}, {0x3eaa800, 0x7740}, {0x3eaac00, 0x78cc},
    {0x3eab000, 0x7ab1}, {0x3eab400, 0x7bc0}, {0x3eab800, 0x7c7b}, {0x3eabc00, 0x7d5b}, {0x3eac000, 0x7df4},
    {0x3eac400, 0x7f3e}, {0x3eac800, 0x8005}, {0x3eacc00, 0x8352}, {0x3ead000, 0x83ef}, {0x3ead400, 0x8779},
    {0x3ead800, 0x8941}, {0x3eadc00, 0x8986}, {0x3eae000, 0x8996}, {0x3eae400, 0x8abf}, {0x3eae800, 0x8af8},
    {0x3eaec00, 0x8acb}, {0x3eaf000, 0x8b01}, {0x3eaf400, 0x8afe}, {0x3eaf800, 0x8aed}, {0x3eafc00, 0x8b39},
    {0x3eb0000, 0x8b8a}, {0x3eb0400, 0x8d08}, {0x3eb0800, 0x8f38}, {0x3eb0c00, 0x9072}, {0x3eb1000, 0x9199},
    {0x3eb1400, 0x9276}, {0x3eb1800, 0x967c}, {0x3eb1c00, 0x96e3}, {0x3eb2000, 0x9756}, {0x3eb2400, 0x97db},
    {0x3eb2800, 0x97ff}, {0x3eb2c00, 0x980b}, {0x3eb3000, 0x983b}, {0x3eb3400, 0x9b12}, {0x3eb3800, 0x9f9c},
    {0x3eb3c00, 0x2284a}, {0x3eb4000, 0x22844}, {0x3eb4400, 0x233d5}, {0x3eb4800, 0x3b9d}, {0x3eb4c00, 0x4018},
    {0x3eb5000, 0x4039}, {0x3eb5400, 0x25249}, {0x3eb5800, 0x25cd0}, {0x3eb5c00, 0x27ed3}, {0x3eb6000, 0x9f43},
    {0x3eb6400, 0x9f8e}, {0x3ec7400, 0x5d9}, {0x3ec7c00, 0x5f2}, {0x3eca803, 0x5e9}, {0x3ecb802, 0x5d0},
    {0x3ecc400, 0x5d1}, {0x3ecc800, 0x5d2}, {0x3eccc00, 0x5d3}, {0x3ecd000, 0x5d4}, {0x3ecd400, 0x5d5},
    {0x3ecd800, 0x5d6}, {0x3ece000, 0x5d8}, {0x3ece400, 0x5d9}, {0x3ece800, 0x5da}, {0x3ecec00, 0x5db},
    {0x3ecf000, 0x5dc}, {0x3ecf800, 0x5de}, {0x3ed0000, 0x5e0}, {0x3ed0400, 0x5e1}, {0x3ed0c00, 0x5e3},
    {0x3ed1000, 0x5e4}, {0x3ed1800, 0x5e6}, {0x3ed1c00, 0x5e7}, {0x3ed2000, 0x5e8}, {0x3ed2400, 0x5e9},
    {0x3ed2800, 0x5ea}, {0x3ed2c00, 0x5d5}, {0x3ed3000, 0x5d1}, {0x3ed3400, 0x5db}, {0x3ed3800, 0x5e4},
    {0x4426800, 0x11099}, {0x4427000, 0x1109b}, {0x442ac00, 0x110a5}, {0x444b800, 0x11131}, {0x444bc00, 0x11132},
    {0x44d2c01, 0x11347}, {0x452ec01, 0x114b9}, {0x452f800, 0x114b9}, {0x456e800, 0x115b8}, {0x456ec00, 0x115b9},
    {0x464e000, 0x11935}, {0x7457800, 0x1d157}, {0x7457c05, 0x1d158}, {0x746ec00, 0x1d1b9}, {0x746f000, 0x1d1ba},
    {0x746f400, 0x1d1b9}, {0x746f800, 0x1d1ba}, {0x746fc00, 0x1d1b9}, {0x7470000, 0x1d1ba}, {0xbe00000, 0x4e3d},
    {0xbe00400, 0x4e38}, {0xbe00800, 0x4e41}, {0xbe00c00, 0x20122}, {0xbe01000, 0x4f60}, {0xbe01400, 0x4fae},
    {0xbe01800, 0x4fbb}, {0xbe01c00, 0x5002}, {0xbe02000, 0x507a}, {0xbe02400, 0x5099}, {0xbe02800, 0x50e7},
    {0xbe02c00, 0x50cf}, {0xbe03000, 0x349e}, {0xbe03400, 0x2063a}, {0xbe03800, 0x514d}, {0xbe03c00, 0x5154},
    {0xbe04000, 0x5164}, {0xbe04400, 0x5177}, {0xbe04800, 0x2051c}, {0xbe04c00, 0x34b9}, {0xbe05000, 0x5167},
    {0xbe05400, 0x518d}, {0xbe05800, 0x2054b}, {0xbe05c00, 0x5197}, {0xbe06000, 0x51a4}, {0xbe06400, 0x4ecc},
    {0xbe06800, 0x51ac}, {0xbe06c00, 0x51b5}, {0xbe07000, 0x291df}, {0xbe07400, 0x51f5}, {0xbe07800, 0x5203},
    {0xbe07c00, 0x34df}, {0xbe08000, 0x523b}, {0xbe08400, 0x5246}, {0xbe08800, 0x5272}, {0xbe08c00, 0x5277},
    {0xbe09000, 0x3515}, {0xbe09400, 0x52c7}, {0xbe09800, 0x52c9}, {0xbe09c00, 0x52e4}, {0xbe0a000, 0x52fa},
    {0xbe0a400, 0x5305}, {0xbe0a800, 0x5306}, {0xbe0ac00, 0x5317}, {0xbe0b000, 0x5349}, {0xbe0b400, 0x5351},
    {0xbe0b800, 0x535a}, {0xbe0bc00, 0x5373}, {0xbe0c000, 0x537d}, {0xbe0c402, 0x537f}, {0xbe0d000, 0x20a2c},
    {0xbe0d400, 0x7070}, {0xbe0d800, 0x53ca}, {0xbe0dc00, 0x53df}, {0xbe0e000, 0x20b63}, {0xbe0e400, 0x53eb},
    {0xbe0e800, 0x53f1}, {0xbe0ec00, 0x5406}, {0xbe0f000, 0x549e}, {0xbe0f400, 0x5438}, {0xbe0f800, 0x5448},
    {0xbe0fc00, 0x5468}, {0xbe10000, 0x54a2}, {0xbe10400, 0x54f6}, {0xbe10800, 0x5510}, {0xbe10c00, 0x5553},
    {0xbe11000, 0x5563}, {0xbe11401, 0x5584}, {0xbe11c00, 0x5599}, {0xbe12000, 0x55ab}, {0xbe12400, 0x55b3},
    {0xbe12800, 0x55c2}, {0xbe12c00, 0x5716}, {0xbe13000, 0x5606}, {0xbe13400, 0x5717}, {0xbe13800, 0x5651},
    {0xbe13c00, 0x5674}, {0xbe14000, 0x5207}, {0xbe14400, 0x58ee}, {0xbe14800, 0x57ce}, {0xbe14c00, 0x57f4},
    {0xbe15000, 0x580d}, {0xbe15400, 0x578b}, {0xbe15800, 0x5832}, {0xbe15c00, 0x5831}, {0xbe16000, 0x58ac},
    {0xbe16400, 0x214e4}, {0xbe16800, 0x58f2}, {0xbe16c00, 0x58f7}, {0xbe17000, 0x5906}, {0xbe17400, 0x591a},
    {0xbe17800, 0x5922}, {0xbe17c00, 0x5962}, {0xbe18000, 0x216a8}, {0xbe18400, 0x216ea}, {0xbe18800, 0x59ec},
    {0xbe18c00, 0x5a1b}, {0xbe19000, 0x5a27}, {0xbe19400, 0x59d8}, {0xbe19800, 0x5a66}, {0xbe19c00, 0x36ee},
    {0xbe1a000, 0x36fc}, {0xbe1a400, 0x5b08}, {0xbe1a801, 0x5b3e}, {0xbe1b000, 0x219c8}, {0xbe1b400, 0x5bc3},
    {0xbe1b800, 0x5bd8}, {0xbe1bc00, 0x5be7}, {0xbe1c000, 0x5bf3}, {0xbe1c400, 0x21b18}, {0xbe1c800, 0x5bff},
    {0xbe1cc00, 0x5c06}, {0xbe1d000, 0x5f53}, {0xbe1d400, 0x5c22}, {0xbe1d800, 0x3781}, {0xbe1dc00, 0x5c60},
    {0xbe1e000, 0x5c6e}, {0xbe1e400, 0x5cc0}, {0xbe1e800, 0x5c8d}, {0xbe1ec00, 0x21de4}, {0xbe1f000, 0x5d43},
    {0xbe1f400, 0x21de6}, {0xbe1f800, 0x5d6e}, {0xbe1fc00, 0x5d6b}, {0xbe20000, 0x5d7c}, {0xbe20400, 0x5de1},
    {0xbe20800, 0x5de2}, {0xbe20c00, 0x382f}, {0xbe21000, 0x5dfd}, {0xbe21400, 0x5e28}, {0xbe21800, 0x5e3d},
    {0xbe21c00, 0x5e69}, {0xbe22000, 0x3862}, {0xbe22400, 0x22183}, {0xbe22800, 0x387c}, {0xbe22c00, 0x5eb0},
    {0xbe23000, 0x5eb3}, {0xbe23400, 0x5eb6}, {0xbe23800, 0x5eca}, {0xbe23c00, 0x2a392}, {0xbe24000, 0x5efe},
    {0xbe24401, 0x22331}, {0xbe24c00, 0x8201}, {0xbe25001, 0x5f22}, {0xbe25800, 0x38c7}, {0xbe25c00, 0x232b8},
    {0xbe26000, 0x261da}, {0xbe26400, 0x5f62}, {0xbe26800, 0x5f6b}, {0xbe26c00, 0x38e3}, {0xbe27000, 0x5f9a},
    {0xbe27400, 0x5fcd}, {0xbe27800, 0x5fd7}, {0xbe27c00, 0x5ff9}, {0xbe28000, 0x6081}, {0xbe28400, 0x393a},
    {0xbe28800, 0x391c}, {0xbe28c00, 0x6094}, {0xbe29000, 0x226d4}, {0xbe29400, 0x60c7}, {0xbe29800, 0x6148},
    {0xbe29c00, 0x614c}, {0xbe2a000, 0x614e}, {0xbe2a400, 0x614c}, {0xbe2a800, 0x617a}, {0xbe2ac00, 0x618e},
    {0xbe2b000, 0x61b2}, {0xbe2b400, 0x61a4}, {0xbe2b800, 0x61af}, {0xbe2bc00, 0x61de}, {0xbe2c000, 0x61f2},
    {0xbe2c400, 0x61f6}, {0xbe2c800, 0x6210}, {0xbe2cc00, 0x621b}, {0xbe2d000, 0x625d}, {0xbe2d400, 0x62b1},
    {0xbe2d800, 0x62d4}, {0xbe2dc00, 0x6350}, {0xbe2e000, 0x22b0c}, {0xbe2e400, 0x633d}, {0xbe2e800, 0x62fc},
    {0xbe2ec00, 0x6368}, {0xbe2f000, 0x6383}, {0xbe2f400, 0x63e4}, {0xbe2f800, 0x22bf1}, {0xbe2fc00, 0x6422},
    {0xbe30000, 0x63c5}, {0xbe30400, 0x63a9}, {0xbe30800, 0x3a2e}, {0xbe30c00, 0x6469}, {0xbe31000, 0x647e},
    {0xbe31400, 0x649d}, {0xbe31800, 0x6477}, {0xbe31c00, 0x3a6c}, {0xbe32000, 0x654f}, {0xbe32400, 0x656c},
    {0xbe32800, 0x2300a}, {0xbe32c00, 0x65e3}, {0xbe33000, 0x66f8}, {0xbe33400, 0x6649}, {0xbe33800, 0x3b19},
    {0xbe33c00, 0x6691}, {0xbe34000, 0x3b08}, {0xbe34400, 0x3ae4}, {0xbe34800, 0x5192}, {0xbe34c00, 0x5195},
    {0xbe35000, 0x6700}, {0xbe35400, 0x669c}, {0xbe35800, 0x80ad}, {0xbe35c00, 0x43d9}, {0xbe36000, 0x6717},
    {0xbe36400, 0x671b}, {0xbe36800, 0x6721}, {0xbe36c00, 0x675e}, {0xbe37000, 0x6753}, {0xbe37400, 0x233c3},
    {0xbe37800, 0x3b49}, {0xbe37c00, 0x67fa}, {0xbe38000, 0x6785}, {0xbe38400, 0x6852}, {0xbe38800, 0x6885},
    {0xbe38c00, 0x2346d}, {0xbe39000, 0x688e}, {0xbe39400, 0x681f}, {0xbe39800, 0x6914}, {0xbe39c00, 0x3b9d},
    {0xbe3a000, 0x6942}, {0xbe3a400, 0x69a3}, {0xbe3a800, 0x69ea}, {0xbe3ac00, 0x6aa8}, {0xbe3b000, 0x236a3},
    {0xbe3b400, 0x6adb}, {0xbe3b800, 0x3c18}, {0xbe3bc00, 0x6b21}, {0xbe3c000, 0x238a7}, {0xbe3c400, 0x6b54},
    {0xbe3c800, 0x3c4e}, {0xbe3cc00, 0x6b72}, {0xbe3d000, 0x6b9f}, {0xbe3d400, 0x6bba}, {0xbe3d800, 0x6bbb},
    {0xbe3dc00, 0x23a8d}, {0xbe3e000, 0x21d0b}, {0xbe3e400, 0x23afa}, {0xbe3e800, 0x6c4e}, {0xbe3ec00, 0x23cbc},
    {0xbe3f000, 0x6cbf}, {0xbe3f400, 0x6ccd}, {0xbe3f800, 0x6c67}, {0xbe3fc00, 0x6d16}, {0xbe40000, 0x6d3e},
    {0xbe40400, 0x6d77}, {0xbe40800, 0x6d41}, {0xbe40c00, 0x6d69}, {0xbe41000, 0x6d78}, {0xbe41400, 0x6d85},
    {0xbe41800, 0x23d1e}, {0xbe41c00, 0x6d34}, {0xbe42000, 0x6e2f}, {0xbe42400, 0x6e6e}, {0xbe42800, 0x3d33},
    {0xbe42c00, 0x6ecb}, {0xbe43000, 0x6ec7}, {0xbe43400, 0x23ed1}, {0xbe43800, 0x6df9}, {0xbe43c00, 0x6f6e},
    {0xbe44000, 0x23f5e}, {0xbe44400, 0x23f8e}, {0xbe44800, 0x6fc6}, {0xbe44c00, 0x7039}, {0xbe45000, 0x701e},
    {0xbe45400, 0x701b}, {0xbe45800, 0x3d96}, {0xbe45c00, 0x704a}, {0xbe46000, 0x707d}, {0xbe46400, 0x7077},
    {0xbe46800, 0x70ad}, {0xbe46c00, 0x20525}, {0xbe47000, 0x7145}, {0xbe47400, 0x24263}, {0xbe47800, 0x719c},
    {0xbe47c00, 0x243ab}, {0xbe48000, 0x7228}, {0xbe48400, 0x7235}, {0xbe48800, 0x7250}, {0xbe48c00, 0x24608},
    {0xbe49000, 0x7280}, {0xbe49400, 0x7295}, {0xbe49800, 0x24735}, {0xbe49c00, 0x24814}, {0xbe4a000, 0x737a},
    {0xbe4a400, 0x738b}, {0xbe4a800, 0x3eac}, {0xbe4ac00, 0x73a5}, {0xbe4b001, 0x3eb8}, {0xbe4b800, 0x7447},
    {0xbe4bc00, 0x745c}, {0xbe4c000, 0x7471}, {0xbe4c400, 0x7485}, {0xbe4c800, 0x74ca}, {0xbe4cc00, 0x3f1b},
    {0xbe4d000, 0x7524}, {0xbe4d400, 0x24c36}, {0xbe4d800, 0x753e}, {0xbe4dc00, 0x24c92}, {0xbe4e000, 0x7570},
    {0xbe4e400, 0x2219f}, {0xbe4e800, 0x7610}, {0xbe4ec00, 0x24fa1}, {0xbe4f000, 0x24fb8}, {0xbe4f400, 0x25044},
    {0xbe4f800, 0x3ffc}, {0xbe4fc00, 0x4008}, {0xbe50000, 0x76f4}, {0xbe50400, 0x250f3}, {0xbe50800, 0x250f2},
    {0xbe50c00, 0x25119}, {0xbe51000, 0x25133}, {0xbe51400, 0x771e}, {0xbe51801, 0x771f}, {0xbe52000, 0x774a},
    {0xbe52400, 0x4039}, {0xbe52800, 0x778b}, {0xbe52c00, 0x4046}, {0xbe53000, 0x4096}, {0xbe53400, 0x2541d},
    {0xbe53800, 0x784e}, {0xbe53c00, 0x788c}, {0xbe54000, 0x78cc}, {0xbe54400, 0x40e3}, {0xbe54800, 0x25626},
    {0xbe54c00, 0x7956}, {0xbe55000, 0x2569a}, {0xbe55400, 0x256c5}, {0xbe55800, 0x798f}, {0xbe55c00, 0x79eb},
    {0xbe56000, 0x412f}, {0xbe56400, 0x7a40}, {0xbe56800, 0x7a4a}, {0xbe56c00, 0x7a4f}, {0xbe57000, 0x2597c},
    {0xbe57401, 0x25aa7}, {0xbe57c00, 0x7aee}, {0xbe58000, 0x4202}, {0xbe58400, 0x25bab}, {0xbe58800, 0x7bc6},
    {0xbe58c00, 0x7bc9}, {0xbe59000, 0x4227}, {0xbe59400, 0x25c80}, {0xbe59800, 0x7cd2}, {0xbe59c00, 0x42a0},
    {0xbe5a000, 0x7ce8}, {0xbe5a400, 0x7ce3}, {0xbe5a800, 0x7d00}, {0xbe5ac00, 0x25f86}, {0xbe5b000, 0x7d63},
    {0xbe5b400, 0x4301}, {0xbe5b800, 0x7dc7}, {0xbe5bc00, 0x7e02}, {0xbe5c000, 0x7e45}, {0xbe5c400, 0x4334},
    {0xbe5c800, 0x26228}, {0xbe5cc00, 0x26247}, {0xbe5d000, 0x4359}, {0xbe5d400, 0x262d9}, {0xbe5d800, 0x7f7a},
    {0xbe5dc00, 0x2633e}, {0xbe5e000, 0x7f95}, {0xbe5e400, 0x7ffa}, {0xbe5e800, 0x8005}, {0xbe5ec00, 0x264da},
    {0xbe5f000, 0x26523}, {0xbe5f400, 0x8060}, {0xbe5f800, 0x265a8}, {0xbe5fc00, 0x8070}, {0xbe60000, 0x2335f},
    {0xbe60400, 0x43d5}, {0xbe60800, 0x80b2}, {0xbe60c00, 0x8103}, {0xbe61000, 0x440b}, {0xbe61400, 0x813e},
    {0xbe61800, 0x5ab5}, {0xbe61c00, 0x267a7}, {0xbe62000, 0x267b5}, {0xbe62400, 0x23393}, {0xbe62800, 0x2339c},
    {0xbe62c00, 0x8201}, {0xbe63000, 0x8204}, {0xbe63400, 0x8f9e}, {0xbe63800, 0x446b}, {0xbe63c00, 0x8291},
    {0xbe64000, 0x828b}, {0xbe64400, 0x829d}, {0xbe64800, 0x52b3}, {0xbe64c00, 0x82b1}, {0xbe65000, 0x82b3},
    {0xbe65400, 0x82bd}, {0xbe65800, 0x82e6}, {0xbe65c00, 0x26b3c}, {0xbe66000, 0x82e5}, {0xbe66400, 0x831d},
    {0xbe66800, 0x8363}, {0xbe66c00, 0x83ad}, {0xbe67000, 0x8323}, {0xbe67400, 0x83bd}, {0xbe67800, 0x83e7},
    {0xbe67c00, 0x8457}, {0xbe68000, 0x8353}, {0xbe68400, 0x83ca}, {0xbe68800, 0x83cc}, {0xbe68c00, 0x83dc},
    {0xbe69000, 0x26c36}, {0xbe69400, 0x26d6b}, {0xbe69800, 0x26cd5}, {0xbe69c00, 0x452b}, {0xbe6a000, 0x84f1},
    {0xbe6a400, 0x84f3}, {0xbe6a800, 0x8516}, {0xbe6ac00, 0x273ca}, {0xbe6b000, 0x8564}, {0xbe6b400, 0x26f2c},
    {0xbe6b800, 0x455d}, {0xbe6bc00, 0x4561}, {0xbe6c000, 0x26fb1}, {0xbe6c400, 0x270d2}, {0xbe6c800, 0x456b},
    {0xbe6cc00, 0x8650}, {0xbe6d000, 0x865c}, {0xbe6d400, 0x8667}, {0xbe6d800, 0x8669}, {0xbe6dc00, 0x86a9},
    {0xbe6e000, 0x8688}, {0xbe6e400, 0x870e}, {0xbe6e800, 0x86e2}, {0xbe6ec00, 0x8779}, {0xbe6f000, 0x8728},
    {0xbe6f400, 0x876b}, {0xbe6f800, 0x8786}, {0xbe6fc00, 0x45d7}, {0xbe70000, 0x87e1}, {0xbe70400, 0x8801},
    {0xbe70800, 0x45f9}, {0xbe70c00, 0x8860}, {0xbe71000, 0x8863}, {0xbe71400, 0x27667}, {0xbe71800, 0x88d7},
    {0xbe71c00, 0x88de}, {0xbe72000, 0x4635}, {0xbe72400, 0x88fa}, {0xbe72800, 0x34bb}, {0xbe72c00, 0x278ae},
    {0xbe73000, 0x27966}, {0xbe73400, 0x46be}, {0xbe73800, 0x46c7}, {0xbe73c00, 0x8aa0}, {0xbe74000, 0x8aed},
    {0xbe74400, 0x8b8a}, {0xbe74800, 0x8c55}, {0xbe74c00, 0x27ca8}, {0xbe75000, 0x8cab}, {0xbe75400, 0x8cc1},
    {0xbe75800, 0x8d1b}, {0xbe75c00, 0x8d77}, {0xbe76000, 0x27f2f}, {0xbe76400, 0x20804}, {0xbe76800, 0x8dcb},
    {0xbe76c00, 0x8dbc}, {0xbe77000, 0x8df0}, {0xbe77400, 0x208de}, {0xbe77800, 0x8ed4}, {0xbe77c00, 0x8f38},
    {0xbe78000, 0x285d2}, {0xbe78400, 0x285ed}, {0xbe78800, 0x9094}, {0xbe78c00, 0x90f1}, {0xbe79000, 0x9111},
    {0xbe79400, 0x2872e}, {0xbe79800, 0x911b}, {0xbe79c00, 0x9238}, {0xbe7a000, 0x92d7}, {0xbe7a400, 0x92d8},
    {0xbe7a800, 0x927c}, {0xbe7ac00, 0x93f9}, {0xbe7b000, 0x9415}, {0xbe7b400, 0x28bfa}, {0xbe7b800, 0x958b},
    {0xbe7bc00, 0x4995}, {0xbe7c000, 0x95b7}, {0xbe7c400, 0x28d77}, {0xbe7c800, 0x49e6}, {0xbe7cc00, 0x96c3},
    {0xbe7d000, 0x5db2}, {0xbe7d400, 0x9723}, {0xbe7d800, 0x29145}, {0xbe7dc00, 0x2921a}, {0xbe7e000, 0x4a6e},
    {0xbe7e400, 0x4a76}, {0xbe7e800, 0x97e0}, {0xbe7ec00, 0x2940a}, {0xbe7f000, 0x4ab2}, {0xbe7f400, 0x29496},
    {0xbe7f801, 0x980b}, {0xbe80000, 0x9829}, {0xbe80400, 0x295b6}, {0xbe80800, 0x98e2}, {0xbe80c00, 0x4b33},
    {0xbe81000, 0x9929}, {0xbe81400, 0x99a7}, {0xbe81800, 0x99c2}, {0xbe81c00, 0x99fe}, {0xbe82000, 0x4bce},
    {0xbe82400, 0x29b30}, {0xbe82800, 0x9b12}, {0xbe82c00, 0x9c40}, {0xbe83000, 0x9cfd}, {0xbe83400, 0x4cce},
    {0xbe83800, 0x4ced}, {0xbe83c00, 0x9d67}, {0xbe84000, 0x2a0ce}, {0xbe84400, 0x4cf8}, {0xbe84800, 0x2a105},
    {0xbe84c00, 0x2a20e}, {0xbe85000, 0x2a291}, {0xbe85400, 0x9ebb}, {0xbe85800, 0x4d56}, {0xbe85c00, 0x9ef9},
    {0xbe86000, 0x9efe}, {0xbe86400, 0x9f05}, {0xbe86800, 0x9f0f}, {0xbe86c00, 0x9f16}, {0xbe87000, 0x9f3b},
    {0xbe87400, 0x2a600},
};
static const unsigned char tfm__uni_ascii[128] = {
    7, 7, 7, 7, 7, 7, 7, 7, 7, 15, 15, 15, 15, 15, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 14, 3, 3, 3,
    4, 3, 3, 3, 3, 3, 3, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 4, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 4, 3, 4, 7,
};
/* END GENERATED UNICODE TABLES */

unsigned tfm_unicode_class(uint32_t cp)
{
    size_t lo = 0, hi = sizeof tfm__uni_class / sizeof tfm__uni_class[0];
    if (cp < 0x80) return tfm__uni_ascii[cp];
    if (cp >= 0x110000) return TFM_UNICODE_UNASSIGNED;
    while (hi - lo > 1) { /* the last range starting at or below cp */
        size_t mid = (lo + hi) / 2;
        if ((tfm__uni_class[mid] >> 8) <= cp) lo = mid;
        else hi = mid;
    }
    return tfm__uni_class[lo] & 0xffu;
}

uint32_t tfm_unicode_lower(uint32_t cp)
{
    size_t lo = 0, hi = sizeof tfm__uni_lower / sizeof tfm__uni_lower[0];
    const int32_t *run;
    uint32_t k;
    if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    if (cp < (uint32_t)tfm__uni_lower[0][0]) return cp;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((uint32_t)tfm__uni_lower[mid][0] <= cp) lo = mid;
        else hi = mid;
    }
    run = tfm__uni_lower[lo];
    k = cp - (uint32_t)run[0];
    if (k % (uint32_t)run[2] != 0 || k / (uint32_t)run[2] >= (uint32_t)run[1]) return cp;
    return (uint32_t)((int32_t)cp + run[3]);
}

uint32_t tfm_unicode_base(uint32_t cp)
{
    size_t lo = 0, hi = sizeof tfm__uni_base / sizeof tfm__uni_base[0];
    if (cp < (tfm__uni_base[0][0] >> 10)) return cp;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((tfm__uni_base[mid][0] >> 10) <= cp) lo = mid;
        else hi = mid;
    }
    return cp - (tfm__uni_base[lo][0] >> 10) <= (tfm__uni_base[lo][0] & 0x3ffu) ? tfm__uni_base[lo][1] : cp;
}

/* One code point of s[0..n) as llama.cpp reads UTF-8 (unicode_cpt_from_utf8): the lead byte gives the
   length; a sequence cut short or with a byte that is no continuation byte, a stray continuation
   byte, a lead byte >= 0xF8 or a code point above U+10FFFF is one bad byte read as U+FFFD. Overlong
   forms and surrogates decode to their value. Returns the bytes read (1..4). */
static size_t tfm__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t len, i;
    uint32_t c;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b < 0xc0 || b >= 0xf8) len = 0;
    else len = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    if (len == 0 || len > n) {
        *cp = 0xfffd;
        return 1;
    }
    c = b & (0x7fu >> len);
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        c = c << 6 | (s[i] & 0x3fu);
    }
    *cp = c <= 0x10ffff ? c : 0xfffd;
    return c <= 0x10ffff ? len : 1;
}

/* The UTF-8 bytes of cp (<= U+10FFFF) into out; returns their count. */
static size_t tfm__utf8_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* GPT-2's byte-to-unicode alphabet: byte b is the character b when b is printable and not a space
   (! .. ~, ¡ .. ¬, ® .. ÿ), else U+0100 + k for the k-th other byte in order. The byte of character
   c, or -1 when c is no character of the alphabet. */
static int tfm__byte_of_char(uint32_t c)
{
    if ((c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) || (c >= 0xae && c <= 0xff)) return (int)c;
    if (c < 0x100 || c >= 0x100 + 68) return -1;
    c -= 0x100; /* the 68 others: 0x00..0x20, 0x7f..0xa0, 0xad */
    return c < 33 ? (int)c : c < 67 ? (int)(0x7f + c - 33) : 0xad;
}

/* ---------------------------------------------------------------- the kinds and pre-tokenizers, as data */

typedef struct tfm__kind_row {
    const char *name;                /* tokenizer.ggml.model */
    int special[TFM_SPECIAL_COUNT];  /* llama.cpp's default ids (-1: none) */
    unsigned char add_bos, add_eos, add_space_prefix;
    unsigned char close_role;        /* the token add_eos appends: EOS, or SEP for WordPiece */
    unsigned char findable;          /* token types text lookups may find: bit 1 << type */
    unsigned char escaped_space;     /* pieces spell ' ' as U+2581 */
} tfm__kind_row;

#define TFM__ALL_TYPES 0x7f
static const tfm__kind_row tfm__kinds[3] = {
    {"llama", {1, 2, -1, -1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1}, 1, 0, 1, TFM_SPECIAL_EOS,
     (1 << TFM_TOKEN_NORMAL) | (1 << TFM_TOKEN_USER_DEFINED) | (1 << TFM_TOKEN_BYTE), 1},
    {"gpt2", {11, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}, 0, 0, 0, TFM_SPECIAL_EOS, TFM__ALL_TYPES, 0},
    {"bert", {101, -1, -1, -1, 100, 102, 0, 103, -1, -1, -1, -1, -1, -1}, 1, 1, 0, TFM_SPECIAL_SEP, TFM__ALL_TYPES, 1},
};

/* Split rules: each is one regex of a pre-tokenizer (see PRE-TOKENIZERS at the top). */
enum {
    TFM__RULE_END,
    TFM__RULE_GPT2,         /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    TFM__RULE_LLAMA3,       /* (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|... */
    TFM__RULE_QWEN2,        /* the same with \p{N} */
    TFM__RULE_PUNCT,        /* [\p{P}\$\+<=>\^~\|]+ */
    TFM__RULE_PUNCT_TICK,   /* [\p{P}\$\+<=>\^~\|`]+ */
    TFM__RULE_DIGIT,        /* \p{N} */
    TFM__RULE_DIGITS,       /* \p{N}+ */
    TFM__RULE_DIGIT3,       /* [0-9][0-9][0-9] */
    TFM__RULE_NEWLINE,      /* [\r\n] */
    TFM__RULE_DS_LETTERS,   /* \s?[A-Za-zµÀ-ÖØ-öø-ƺ...]+ (deepseek-llm) */
    TFM__RULE_DS_PUNCT,     /* \s?[!-/:-~！-／：-～‘-‟　-。]+ */
    TFM__RULE_TRAILING_WS,  /* \s+$ */
    TFM__RULE_CJK           /* [一-龥ࠀ-一가-퟿]+ */
};

typedef struct tfm__pre_row {
    const char *name;
    unsigned char rules[7];     /* applied in turn, TFM__RULE_END-terminated */
    unsigned char ignore_merges; /* a word that is a token is that token, unmerged */
    unsigned char add_bos;       /* llama.cpp turns add_bos on by default */
    unsigned char no_bos;        /* llama.cpp's default BOS is none */
    const char *lstrip;          /* a special token that drops the whitespace before it */
} tfm__pre_row;

#define TFM__GPT2_ROW(name) {name, {TFM__RULE_GPT2}, 0, 0, 0, NULL}
#define TFM__LLAMA3_ROW(name, own) {name, {TFM__RULE_LLAMA3}, own, own, 0, NULL}
#define TFM__QWEN2_ROW(name) {name, {TFM__RULE_QWEN2}, 0, 0, 0, NULL}
#define TFM__STARCODER_ROW(name) {name, {TFM__RULE_DIGIT, TFM__RULE_GPT2}, 0, 0, 0, NULL}
static const tfm__pre_row tfm__pres[] = {
    {"default", {TFM__RULE_PUNCT, TFM__RULE_GPT2, TFM__RULE_DIGITS, TFM__RULE_DIGIT3}, 0, 0, 0, NULL},
    TFM__GPT2_ROW("gpt-2"), TFM__GPT2_ROW("mpt"), TFM__GPT2_ROW("phi-2"), TFM__GPT2_ROW("olmo"),
    TFM__GPT2_ROW("jais"), TFM__GPT2_ROW("roberta-bpe"), TFM__GPT2_ROW("gigachat"), TFM__GPT2_ROW("jina-es"),
    TFM__GPT2_ROW("jina-de"), TFM__GPT2_ROW("jina-v1-en"),
    {"jina-v2-es", {TFM__RULE_GPT2}, 0, 0, 0, "<mask>"},
    {"jina-v2-de", {TFM__RULE_GPT2}, 0, 0, 0, "<mask>"},
    {"jina-v2-code", {TFM__RULE_GPT2}, 0, 0, 0, "<mask>"},
    TFM__LLAMA3_ROW("llama-bpe", 1), TFM__LLAMA3_ROW("llama3", 1), TFM__LLAMA3_ROW("llama-v3", 1),
    TFM__LLAMA3_ROW("falcon3", 1), TFM__LLAMA3_ROW("dbrx", 0), TFM__LLAMA3_ROW("smaug-bpe", 0),
    TFM__QWEN2_ROW("qwen2"), TFM__QWEN2_ROW("stablelm2"), TFM__QWEN2_ROW("deepseek-r1-qwen"), TFM__QWEN2_ROW("megrez"),
    TFM__STARCODER_ROW("starcoder"), TFM__STARCODER_ROW("smollm"), TFM__STARCODER_ROW("refact"),
    TFM__STARCODER_ROW("command-r"), TFM__STARCODER_ROW("codeshell"), TFM__STARCODER_ROW("exaone"),
    TFM__STARCODER_ROW("minerva-7b"),
    {"falcon", {TFM__RULE_PUNCT_TICK, TFM__RULE_GPT2, TFM__RULE_DIGIT3}, 0, 0, 0, NULL},
    {"deepseek-llm", {TFM__RULE_NEWLINE, TFM__RULE_DS_LETTERS, TFM__RULE_DS_PUNCT, TFM__RULE_TRAILING_WS, TFM__RULE_CJK,
                      TFM__RULE_DIGITS}, 0, 0, 0, NULL},
};
#define TFM__N_PRES ((int)(sizeof tfm__pres / sizeof tfm__pres[0]))

/* The letters and punctuation of deepseek-llm's second and third regexes, as code point ranges. */
static const uint32_t tfm__ds_letters[][2] = {
    {0x41, 0x5a}, {0x61, 0x7a}, {0xb5, 0xb5}, {0xc0, 0xd6}, {0xd8, 0xf6}, {0xf8, 0x1ba}, {0x1bc, 0x1bf},
    {0x1c4, 0x293}, {0x295, 0x2af}, {0x370, 0x373}, {0x376, 0x377}, {0x37b, 0x37d}, {0x37f, 0x37f},
    {0x386, 0x386}, {0x388, 0x38a}, {0x38c, 0x38c}, {0x38e, 0x3a1}, {0x3a3, 0x3f5}, {0x3f7, 0x481},
    {0x48a, 0x52f}, {0x531, 0x556}, {0x10a0, 0x10c5}, {0x13a0, 0x13f5}, {0x13f8, 0x13fd}, {0x1c90, 0x1cba},
    {0x1cbd, 0x1cbf}, {0x1d00, 0x1d2b}, {0x1d6b, 0x1d77}, {0x1d79, 0x1d9a}, {0x1e00, 0x1f15}, {0x1f18, 0x1f1d},
    {0x1f20, 0x1f45}, {0x1f48, 0x1f4d}, {0x1f50, 0x1f57}, {0x1f59, 0x1f59}, {0x1f5b, 0x1f5b}, {0x1f5d, 0x1f5d},
    {0x1f5f, 0x1f7d}, {0x1f80, 0x1fb4}, {0x1fb6, 0x1fbc}, {0x1fbe, 0x1fbe}, {0x1fc2, 0x1fc4}, {0x1fc6, 0x1fcc},
    {0x1fd0, 0x1fd3}, {0x1fd6, 0x1fdb}, {0x1fe0, 0x1fec}, {0x1ff2, 0x1ff4}, {0x1ff6, 0x1ffc}, {0x2102, 0x2102},
    {0x2107, 0x2107}, {0x210a, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211d}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212a, 0x212d}, {0x212f, 0x2134}, {0x2139, 0x2139}, {0x213c, 0x213f}, {0x2145, 0x2149},
    {0x214e, 0x214e}, {0x2183, 0x2184}, {0x2c00, 0x2c7b}, {0x2c7e, 0x2ce4}, {0x2ceb, 0x2cee}, {0x2cf2, 0x2cf3},
    {0xa640, 0xa66d}, {0xa680, 0xa69b}, {0xa722, 0xa76f}, {0xa771, 0xa787}, {0xa78b, 0xa78e}, {0xab70, 0xabbf},
    {0xfb00, 0xfb06}, {0xfb13, 0xfb17}, {0xff21, 0xff3a}, {0xff41, 0xff5a}, {0x10400, 0x1044f}, {0x104b0, 0x104d3},
    {0x104d8, 0x104fb}, {0x10c80, 0x10cb2}, {0x10cc0, 0x10cf2}, {0x118a0, 0x118df}, {0x1e900, 0x1e943},
};
static const uint32_t tfm__ds_punct[][2] = {
    {0x21, 0x2f}, {0x3a, 0x7e}, {0xff01, 0xff0f}, {0xff1a, 0xff5e}, {0x2018, 0x201f}, {0x3000, 0x3002},
};
static const uint32_t tfm__ds_cjk[][2] = {{0x4e00, 0x9fa5}, {0x800, 0x4e00}, {0xac00, 0xd7ff}};

/* The special roles llama.cpp finds by their text when the vocab names none, and the spellings of
   the tokens that end a generation. */
typedef struct tfm__special_text {
    int role;
    const char *text;
} tfm__special_text;
static const tfm__special_text tfm__special_texts[] = {
    {TFM_SPECIAL_EOT, "<|eot_id|>"}, {TFM_SPECIAL_EOT, "<|im_end|>"}, {TFM_SPECIAL_EOT, "<|end|>"},
    {TFM_SPECIAL_EOT, "<end_of_turn>"}, {TFM_SPECIAL_EOT, "<|endoftext|>"}, {TFM_SPECIAL_EOT, "<EOT>"},
    {TFM_SPECIAL_EOT, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"}, /* DeepSeek */
    {TFM_SPECIAL_EOM, "<|eom_id|>"},
    {TFM_SPECIAL_FIM_PRE, "<|fim_prefix|>"}, {TFM_SPECIAL_FIM_PRE, "<fim-prefix>"},
    {TFM_SPECIAL_FIM_PRE, "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>"}, {TFM_SPECIAL_FIM_PRE, "<PRE>"},
    {TFM_SPECIAL_FIM_SUF, "<|fim_suffix|>"}, {TFM_SPECIAL_FIM_SUF, "<fim-suffix>"},
    {TFM_SPECIAL_FIM_SUF, "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>"}, {TFM_SPECIAL_FIM_SUF, "<SUF>"},
    {TFM_SPECIAL_FIM_MID, "<|fim_middle|>"}, {TFM_SPECIAL_FIM_MID, "<fim-middle>"},
    {TFM_SPECIAL_FIM_MID, "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>"}, {TFM_SPECIAL_FIM_MID, "<MID>"},
    {TFM_SPECIAL_FIM_PAD, "<|fim_pad|>"}, {TFM_SPECIAL_FIM_PAD, "<fim-pad>"}, {TFM_SPECIAL_FIM_PAD, "<PAD>"},
    {TFM_SPECIAL_FIM_REP, "<|fim_repo|>"}, {TFM_SPECIAL_FIM_REP, "<|repo_name|>"}, {TFM_SPECIAL_FIM_REP, "<fim-repo>"},
    {TFM_SPECIAL_FIM_REP, "<REPO>"},
    {TFM_SPECIAL_FIM_SEP, "<|file_sep|>"},
};
static const char *const tfm__eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                             "<|endoftext|>", "<|eom_id|>", "<EOT>"};

/* ---------------------------------------------------------------- the tokenizer */

/* attr[id]: the token type in the low bits, then flags */
#define TFM__TYPE_MASK 7u
#define TFM__EOG 8u       /* ends a generation */
#define TFM__RSTRIP 16u   /* a special token that drops the whitespace after it */
#define TFM__LSTRIP 32u   /* ... before it */
#define TFM__ALT 64u      /* text lookups see another spelling than the decoded piece (tfm__tok_match) */
#define TFM__NOMATCH 128u /* no text spells it (a byte-level piece outside GPT-2's alphabet) */

/* A merge of byte-level BPE: the ids of its parts (left -1: an empty slot), its rank and the merged token. */
typedef struct tfm__merge {
    int32_t left, right, rank, result;
} tfm__merge;

/* A hash slot: a token's id (-1: empty) and the full hash of the text it is found by. */
typedef struct tfm__tok_slot {
    int id;
    uint32_t hash;
} tfm__tok_slot;

struct tfm_tokenizer {
    int kind;                   /* tfm_tokenizer_kind: row of tfm__kinds */
    int pre;                    /* row of tfm__pres ("gpt2"), else -1 */
    char pre_name[64];
    int n_vocab;
    int special[TFM_SPECIAL_COUNT];
    int add_bos, add_eos, add_space_prefix, keep_case;
    int llama2c;                /* llama2.c's tokenizer.bin: its rules where they differ from llama.cpp's */
    int byte_fallback;          /* SentencePiece: the token of a byte without a <0xNN> token */
    int space_id;               /* SentencePiece: the piece " " (-1: none) */
    int word_split;             /* SentencePiece: no piece holds a non-space byte then a space */
    int max_match;              /* bytes of the longest text lookups can find */
    size_t max_piece;           /* bytes of the longest decoded piece */
    char *text;                 /* every decoded piece, each followed by a NUL */
    uint32_t *offset;           /* n_vocab + 1: piece i is text[offset[i] .. offset[i + 1] - 1) */
    float *score;               /* SentencePiece: the scores; else NULL */
    unsigned char *attr;
    tfm__tok_slot *slot;        /* open addressing: the text lookups find -> id */
    uint32_t slot_mask;
    int n_alt;                  /* tokens found by another text than their piece (TFM__ALT), by id */
    int *alt_id;
    uint32_t *alt_offset;       /* n_alt + 1 into alt_text */
    char *alt_text;
    int n_merges;               /* byte-level BPE */
    tfm__merge *merge;          /* open addressing: (left, right) -> rank, result; one cache line a lookup */
    uint32_t merge_mask;
    int byte_id[256];           /* SentencePiece: the byte-fallback token; byte-level: the token of each byte */
    char byte_text[256];        /* byte b, for decoding a byte token */
    int n_specials;             /* control, user-defined and unknown tokens with text: longest first */
    int *specials;
    int *special_by_byte;       /* indices into specials, grouped by first byte (special_start) */
    int special_start[257];
    unsigned char special_first[2][32]; /* first bytes of [0] user-defined, [1] all special tokens */
};

static size_t tfm__tok_len(const tfm_tokenizer *t, int id) { return t->offset[id + 1] - t->offset[id] - 1; }
static const char *tfm__tok_text(const tfm_tokenizer *t, int id) { return t->text + t->offset[id]; }
static int tfm__tok_type(const tfm_tokenizer *t, int id) { return (int)(t->attr[id] & TFM__TYPE_MASK); }
static int tfm__tok_is_special_type(int type)
{
    return type == TFM_TOKEN_CONTROL || type == TFM_TOKEN_USER_DEFINED || type == TFM_TOKEN_UNKNOWN;
}

/* FNV-1a over two byte strings as if they were one, so a pair is hashed without concatenating it. */
static uint32_t tfm__tok_hash(const char *a, size_t na, const char *b, size_t nb)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < na; i++) h = (h ^ (unsigned char)a[i]) * 16777619u;
    for (i = 0; i < nb; i++) h = (h ^ (unsigned char)b[i]) * 16777619u;
    return h;
}

/* The text lookups find token id by. */
static const char *tfm__tok_match(const tfm_tokenizer *t, int id, size_t *len)
{
    int lo = 0, hi = t->n_alt - 1;
    if (!(t->attr[id] & TFM__ALT)) {
        *len = tfm__tok_len(t, id);
        return tfm__tok_text(t, id);
    }
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (t->alt_id[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    *len = t->alt_offset[lo + 1] - t->alt_offset[lo] - 1;
    return t->alt_text + t->alt_offset[lo];
}

/* Id of the token text finds as a||b (hash h of a||b), or -1. */
static int tfm__tok_find_hashed(const tfm_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, uint32_t h)
{
    uint32_t i = h & t->slot_mask;
    for (;; i = (i + 1) & t->slot_mask) {
        int id = t->slot[i].id;
        const char *p;
        size_t len;
        if (id < 0) return -1;
        if (t->slot[i].hash != h) continue;
        p = tfm__tok_match(t, id, &len);
        if (len == na + nb && memcmp(p, a, na) == 0 && memcmp(p + na, b, nb) == 0) return id;
    }
}

static int tfm__tok_find2(const tfm_tokenizer *t, const char *a, size_t na, const char *b, size_t nb)
{
    return tfm__tok_find_hashed(t, a, na, b, nb, tfm__tok_hash(a, na, b, nb));
}

/* Byte value of a "<0xNN>" piece (hex digits of either case), or -1. */
static int tfm__tok_byte_value(const char *p, size_t len)
{
    int v = 0, i;
    if (len != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>') return -1;
    for (i = 3; i < 5; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* ---------------------------------------------------------------- construction */

void tfm_tokenizer_free(tfm_tokenizer *tok)
{
    if (!tok) return;
    TFM_FREE(tok->text);
    TFM_FREE(tok->offset);
    TFM_FREE(tok->score);
    TFM_FREE(tok->attr);
    TFM_FREE(tok->slot);
    TFM_FREE(tok->alt_id);
    TFM_FREE(tok->alt_offset);
    TFM_FREE(tok->alt_text);
    TFM_FREE(tok->merge);
    TFM_FREE(tok->specials);
    TFM_FREE(tok->special_by_byte);
    TFM_FREE(tok);
}

void tfm_vocab_init(tfm_vocab *vocab)
{
    int i;
    if (!vocab) return;
    memset(vocab, 0, sizeof *vocab);
    for (i = 0; i < TFM_SPECIAL_COUNT; i++) vocab->special[i] = TFM_VOCAB_DEFAULT;
    vocab->add_bos = vocab->add_eos = vocab->add_space_prefix = TFM_VOCAB_DEFAULT;
}

/* Writes the bytes text lookups find piece p (len bytes) by, in kind's spelling, to out (when not
   NULL) and returns their count; -1 when no text can spell it (a byte-level piece with a character
   outside GPT-2's alphabet). unescape: U+2581 is ' ' (SentencePiece and WordPiece). */
static long tfm__tok_respell(int kind, int unescape, const char *p, size_t len, char *out)
{
    size_t i = 0, n = 0;
    if (kind == TFM_TOKENIZER_BPE) {
        while (i < len) {
            uint32_t c;
            int b;
            i += tfm__utf8_decode((const unsigned char *)p + i, len - i, &c);
            if ((b = tfm__byte_of_char(c)) < 0) return -1;
            if (out) out[n] = (char)b;
            n++;
        }
        return (long)n;
    }
    while (i < len) {
        if (unescape && i + 3 <= len && (unsigned char)p[i] == 0xe2 && (unsigned char)p[i + 1] == 0x96 &&
            (unsigned char)p[i + 2] == 0x81) {
            if (out) out[n] = ' ';
            i += 3;
        } else {
            if (out) out[n] = p[i];
            i++;
        }
        n++;
    }
    return (long)n;
}

static int tfm__tok_slot_insert(tfm_tokenizer *t, int id)
{
    size_t len;
    const char *p = tfm__tok_match(t, id, &len);
    uint32_t h = tfm__tok_hash(p, len, "", 0), s = h & t->slot_mask;
    if (len == 0 || tfm__tok_find_hashed(t, p, len, "", 0, h) >= 0) return 0; /* the lowest id keeps its text */
    while (t->slot[s].id >= 0) s = (s + 1) & t->slot_mask;
    t->slot[s].id = id;
    t->slot[s].hash = h;
    if ((int)len > t->max_match) t->max_match = (int)len;
    return 1;
}

static size_t tfm__pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n) p *= 2;
    return p;
}

/* The pieces: decoded text (what decode gives), the spelling lookups find (TFM__ALT when it differs),
   types, scores. unescape: U+2581 reads as ' ' in SentencePiece/WordPiece pieces (not in llama2.c's
   tokenizer.bin, whose pieces hold spaces). Special tokens decode as stored. */
static tfm_status tfm__tok_store_pieces(tfm_tokenizer *t, const tfm_vocab *v, int unescape, tfm_error *err)
{
    size_t text_bytes = 0, alt_bytes = 0, pos = 0, alt_pos = 0;
    int i, n = v->n_tokens, n_alt = 0;
    for (i = 0; i < n; i++) { /* sizes first */
        size_t len = v->lengths ? v->lengths[i] : strlen(v->pieces[i]);
        int type = v->types ? (v->types[i] == 0 ? TFM_TOKEN_NORMAL : (int)v->types[i]) : TFM_TOKEN_NORMAL;
        long match;
        if (len > (size_t)INT_MAX / 4) return tfm_error_set(err, TFM_ERR_FORMAT, "piece %d is %zu bytes long", i, len);
        if (type < TFM_TOKEN_NORMAL || type > TFM_TOKEN_BYTE)
            return tfm_error_set(err, TFM_ERR_FORMAT, "token %d has type %ld (want 0..6)", i, (long)v->types[i]);
        match = tfm__tok_respell(t->kind, unescape, v->pieces[i], len, NULL);
        if (tfm__tok_is_special_type(type) || match < 0) {
            text_bytes += len + 1;
            if (match >= 0 && (size_t)match != len) {
                n_alt++;
                alt_bytes += (size_t)match + 1;
            }
        } else {
            text_bytes += (size_t)match + 1;
        }
        if (text_bytes > UINT32_MAX || alt_bytes > UINT32_MAX)
            return tfm_error_set(err, TFM_ERR_FORMAT, "pieces too large (%zu bytes)", text_bytes);
    }
    t->text = (char *)TFM_MALLOC(text_bytes);
    t->offset = (uint32_t *)TFM_MALLOC(sizeof(uint32_t) * ((size_t)n + 1));
    t->attr = (unsigned char *)TFM_MALLOC((size_t)n);
    if (t->kind == TFM_TOKENIZER_SPM) t->score = (float *)TFM_MALLOC(sizeof(float) * (size_t)n);
    if (n_alt) {
        t->alt_id = (int *)TFM_MALLOC(sizeof(int) * (size_t)n_alt);
        t->alt_offset = (uint32_t *)TFM_MALLOC(sizeof(uint32_t) * ((size_t)n_alt + 1));
        t->alt_text = (char *)TFM_MALLOC(alt_bytes);
    }
    if (!t->text || !t->offset || !t->attr || (t->kind == TFM_TOKENIZER_SPM && !t->score) ||
        (n_alt && (!t->alt_id || !t->alt_offset || !t->alt_text)))
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for a vocab of %d tokens", n);
    for (i = 0; i < n; i++) {
        size_t len = v->lengths ? v->lengths[i] : strlen(v->pieces[i]);
        unsigned attr = v->types && v->types[i] != 0 ? (unsigned)v->types[i] : (unsigned)TFM_TOKEN_NORMAL;
        long match = tfm__tok_respell(t->kind, unescape, v->pieces[i], len, NULL);
        t->offset[i] = (uint32_t)pos;
        if (match < 0) attr |= TFM__NOMATCH;
        if (tfm__tok_is_special_type((int)attr) || match < 0) {
            memcpy(t->text + pos, v->pieces[i], len);
            pos += len;
            if (match >= 0 && (size_t)match != len) {
                t->alt_id[t->n_alt] = i;
                t->alt_offset[t->n_alt++] = (uint32_t)alt_pos;
                tfm__tok_respell(t->kind, unescape, v->pieces[i], len, t->alt_text + alt_pos);
                alt_pos += (size_t)match;
                t->alt_text[alt_pos++] = '\0';
                attr |= TFM__ALT;
            }
        } else {
            tfm__tok_respell(t->kind, unescape, v->pieces[i], len, t->text + pos);
            pos += (size_t)match;
        }
        t->text[pos++] = '\0';
        t->attr[i] = (unsigned char)attr;
        if (t->score) t->score[i] = v->scores ? v->scores[i] : 0.0f;
    }
    t->offset[n] = (uint32_t)pos;
    if (t->alt_offset) t->alt_offset[t->n_alt] = (uint32_t)alt_pos;
    return TFM_OK;
}

static const char *const tfm__special_names[TFM_SPECIAL_COUNT] = {
    "bos", "eos", "eot", "eom", "unknown", "separator", "padding", "mask",
    "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"};

static uint32_t tfm__merge_hash(int32_t a, int32_t b)
{
    uint32_t h = (uint32_t)a * 0x9e3779b1u ^ ((uint32_t)b + 0x7f4a7c15u) * 0x85ebca77u;
    return h ^ (h >> 15);
}

/* The merge of tokens a and b, or NULL. */
static const tfm__merge *tfm__merge_find(const tfm_tokenizer *t, int32_t a, int32_t b)
{
    uint32_t i = tfm__merge_hash(a, b) & t->merge_mask;
    for (;; i = (i + 1) & t->merge_mask) {
        const tfm__merge *m = &t->merge[i];
        if (m->left < 0) return NULL;
        if (m->left == a && m->right == b) return m;
    }
}

/* The merges "left right" (split at the first space after the first byte, as llama.cpp splits them),
   each part and their concatenation looked up as tokens. */
static tfm_status tfm__tok_merges(tfm_tokenizer *t, const tfm_vocab *v, tfm_error *err)
{
    size_t slots = tfm__pow2_at_least((size_t)v->n_merges + (size_t)v->n_merges / 2 + 1);
    size_t cap = 0;
    char *buf = NULL;
    int r;
    tfm_status s = TFM_OK;
    if (v->n_merges == 0) return TFM_OK;
    if (!v->merges) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "%d merges but no merge strings", v->n_merges);
    t->merge = (tfm__merge *)TFM_MALLOC(sizeof(tfm__merge) * slots);
    if (!t->merge) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for %d merges", v->n_merges);
    memset(t->merge, 0xff, sizeof(tfm__merge) * slots);
    t->merge_mask = (uint32_t)(slots - 1);
    t->n_merges = v->n_merges;
    for (r = 0; r < v->n_merges && s == TFM_OK; r++) {
        const char *m = v->merges[r];
        size_t len, split;
        long nl, nr;
        int32_t ids[3];
        uint32_t i;
        if (!m) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "merge %d is NULL", r);
        len = v->merge_lengths ? v->merge_lengths[r] : strlen(m);
        for (split = 1; split < len && m[split] != ' '; split++) {
        }
        if (split >= len) {
            s = tfm_error_set(err, TFM_ERR_FORMAT, "merge %d ('%.*s') has no space between two parts", r,
                              (int)(len < 60 ? len : 60), m);
            break;
        }
        if (len + 1 > cap) {
            char *grown = (char *)TFM_REALLOC(buf, len + 1);
            if (!grown) {
                s = tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
                break;
            }
            buf = grown;
            cap = len + 1;
        }
        nl = tfm__tok_respell(TFM_TOKENIZER_BPE, 0, m, split, buf);
        nr = nl < 0 ? -1 : tfm__tok_respell(TFM_TOKENIZER_BPE, 0, m + split + 1, len - split - 1, buf + nl);
        ids[0] = nl <= 0 ? -1 : tfm__tok_find2(t, buf, (size_t)nl, "", 0);
        ids[1] = nr <= 0 ? -1 : tfm__tok_find2(t, buf + nl, (size_t)nr, "", 0);
        ids[2] = ids[0] < 0 || ids[1] < 0 ? -1 : tfm__tok_find2(t, buf, (size_t)(nl + nr), "", 0);
        if (ids[0] < 0 || ids[1] < 0 || ids[2] < 0) {
            const char *what = ids[0] < 0 ? m : ids[1] < 0 ? m + split + 1 : m;
            size_t what_len = ids[0] < 0 ? split : ids[1] < 0 ? len - split - 1 : len;
            s = tfm_error_set(err, TFM_ERR_FORMAT, "merge %d ('%.*s'): %s'%.*s' is not a token", r,
                              (int)(len < 60 ? len : 60), m, ids[0] >= 0 && ids[1] >= 0 ? "the merged " : "",
                              (int)(what_len < 60 ? what_len : 60), what);
            break;
        }
        for (i = tfm__merge_hash(ids[0], ids[1]) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
            tfm__merge *q = &t->merge[i];
            if (q->left < 0) {
                q->left = ids[0];
                q->right = ids[1];
                q->rank = r;
                q->result = ids[2];
                break;
            }
            if (q->left == ids[0] && q->right == ids[1]) break; /* a duplicate keeps its first rank */
        }
    }
    TFM_FREE(buf);
    return s;
}

/* The roles and end-of-generation tokens llama.cpp finds by their spelling (see RULES), from the
   vocab's pieces as stored. A role takes the first spelling of tfm__special_texts the vocab has (the
   lowest id of several): llama.cpp takes whichever its hash map yields first, which agrees on every
   test vocab (<|im_end|> for Qwen, <|end|> for Phi-3). */
static void tfm__tok_find_specials_by_text(tfm_tokenizer *t, const tfm_vocab *v)
{
    const size_t n_texts = sizeof tfm__special_texts / sizeof tfm__special_texts[0];
    const size_t n_eog = sizeof tfm__eog_texts / sizeof tfm__eog_texts[0];
    int found[sizeof tfm__special_texts / sizeof tfm__special_texts[0]], i, r;
    size_t k;
    for (k = 0; k < n_texts; k++) found[k] = -1;
    for (i = 0; i < v->n_tokens; i++) {
        const char *p = v->pieces[i];
        size_t len = v->lengths ? v->lengths[i] : strlen(p);
        if (len < 5 || p[0] != '<' || len > 40) continue;
        for (k = 0; k < n_texts; k++)
            if (found[k] < 0 && strlen(tfm__special_texts[k].text) == len && memcmp(tfm__special_texts[k].text, p, len) == 0)
                found[k] = i;
        for (k = 0; k < n_eog; k++)
            if (strlen(tfm__eog_texts[k]) == len && memcmp(tfm__eog_texts[k], p, len) == 0)
                t->attr[i] = (unsigned char)((t->attr[i] & ~TFM__TYPE_MASK) | TFM_TOKEN_CONTROL | TFM__EOG);
    }
    for (k = 0; k < n_texts; k++) {
        int role = tfm__special_texts[k].role, id = found[k];
        if (id < 0 || t->special[role] >= 0) continue;
        t->special[role] = id;
        t->attr[id] = (unsigned char)((t->attr[id] & ~TFM__TYPE_MASK) | TFM_TOKEN_CONTROL);
    }
    for (r = 0; r < TFM_SPECIAL_COUNT; r++) {
        int id = t->special[r];
        if (id >= 0 && (r == TFM_SPECIAL_EOS || r == TFM_SPECIAL_EOT || r == TFM_SPECIAL_EOM || r == TFM_SPECIAL_FIM_PAD ||
                        r == TFM_SPECIAL_FIM_REP || r == TFM_SPECIAL_FIM_SEP))
            t->attr[id] |= TFM__EOG;
    }
}

/* uint64 keys (UINT32_MAX - length) << 32 | id sort special tokens longest first, then by id. */
static int tfm__u64_order(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* The special tokens cut out of text (llama.cpp's cache_special_tokens) and their strip rules. */
static tfm_status tfm__tok_specials(tfm_tokenizer *t, const tfm_vocab *v, tfm_error *err)
{
    uint64_t *keys;
    int i, k, n = 0;
    for (i = 0; i < t->n_vocab; i++)
        if (tfm__tok_is_special_type(tfm__tok_type(t, i)) && tfm__tok_len(t, i) > 0) n++;
    keys = (uint64_t *)TFM_MALLOC(sizeof(uint64_t) * (size_t)(n ? n : 1));
    t->specials = (int *)TFM_MALLOC(sizeof(int) * (size_t)(n ? n : 1));
    t->special_by_byte = (int *)TFM_MALLOC(sizeof(int) * (size_t)(n ? n : 1));
    if (!keys || !t->specials || !t->special_by_byte) {
        TFM_FREE(keys);
        return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (i = 0; i < t->n_vocab; i++)
        if (tfm__tok_is_special_type(tfm__tok_type(t, i)) && tfm__tok_len(t, i) > 0)
            keys[t->n_specials++] = (uint64_t)(UINT32_MAX - (uint32_t)tfm__tok_len(t, i)) << 32 | (uint32_t)i;
    qsort(keys, (size_t)n, sizeof *keys, tfm__u64_order);
    for (i = 0; i < n; i++) t->specials[i] = (int)(keys[i] & UINT32_MAX);
    TFM_FREE(keys);
    memset(t->special_start, 0, sizeof t->special_start);
    memset(t->special_first, 0, sizeof t->special_first);
    for (i = 0; i < n; i++) {
        unsigned char b = (unsigned char)tfm__tok_text(t, t->specials[i])[0];
        t->special_start[b + 1]++;
        t->special_first[1][b >> 3] |= (unsigned char)(1u << (b & 7));
        if (tfm__tok_type(t, t->specials[i]) == TFM_TOKEN_USER_DEFINED)
            t->special_first[0][b >> 3] |= (unsigned char)(1u << (b & 7));
    }
    for (k = 0; k < 256; k++) t->special_start[k + 1] += t->special_start[k];
    {
        int fill[256];
        for (k = 0; k < 256; k++) fill[k] = t->special_start[k];
        for (i = 0; i < n; i++) t->special_by_byte[fill[(unsigned char)tfm__tok_text(t, t->specials[i])[0]]++] = i;
    }
    if (v->rstrip_specials > 0) { /* llama.cpp's Phi-3 rule */
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (i = 0; i < n; i++) t->attr[t->specials[i]] |= TFM__RSTRIP;
        for (i = 0; i < t->n_vocab; i++) {
            const char *p = tfm__tok_text(t, i);
            size_t len = tfm__tok_len(t, i);
            if (len == 4 && memcmp(p, "</s>", 4) == 0) t->attr[i] |= TFM__RSTRIP;
            for (k = 0; k < 3; k++)
                if (len == strlen(keep[k]) && memcmp(p, keep[k], len) == 0) t->attr[i] &= (unsigned char)~TFM__RSTRIP;
        }
    }
    if (t->pre >= 0 && tfm__pres[t->pre].lstrip) { /* llama.cpp refuses the vocab without the token */
        const char *want = tfm__pres[t->pre].lstrip;
        for (i = 0; i < t->n_vocab; i++)
            if (tfm__tok_len(t, i) == strlen(want) && memcmp(tfm__tok_text(t, i), want, strlen(want)) == 0) break;
        if (i == t->n_vocab)
            return tfm_error_set(err, TFM_ERR_FORMAT, "the pre-tokenizer '%s' needs a %s token", t->pre_name, want);
        t->attr[i] |= TFM__LSTRIP;
    }
    return TFM_OK;
}

/* Types, byte tokens, the text lookup, merges, special tokens, once the pieces are stored. */
static tfm_status tfm__tok_index(tfm_tokenizer *t, const tfm_vocab *v, tfm_error *err)
{
    const tfm__kind_row *kind = &tfm__kinds[t->kind];
    size_t slots = tfm__pow2_at_least((size_t)t->n_vocab + (size_t)t->n_vocab / 2 + 1);
    tfm_status s;
    int i, b;
    t->slot = (tfm__tok_slot *)TFM_MALLOC(slots * sizeof *t->slot);
    if (!t->slot) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory for a vocab of %d tokens", t->n_vocab);
    memset(t->slot, 0xff, slots * sizeof *t->slot);
    t->slot_mask = (uint32_t)(slots - 1);
    tfm__tok_find_specials_by_text(t, v);
    for (b = 0; b < 256; b++) {
        t->byte_id[b] = -1;
        t->byte_text[b] = (char)b;
    }
    t->byte_fallback = -1;
    for (i = 0; i < t->n_vocab; i++) {
        int type = tfm__tok_type(t, i);
        size_t len = tfm__tok_len(t, i);
        if (type == TFM_TOKEN_BYTE) {
            int byte = tfm__tok_byte_value(tfm__tok_text(t, i), len);
            if (byte < 0)
                return tfm_error_set(err, TFM_ERR_FORMAT, "token %d is a byte token but its piece is not <0xNN>", i);
            if (t->kind == TFM_TOKENIZER_SPM && t->byte_id[byte] < 0) t->byte_id[byte] = i;
            len = 1;
        }
        if (type == TFM_TOKEN_UNKNOWN && t->byte_fallback < 0) t->byte_fallback = i;
        if (len > t->max_piece) t->max_piece = len;
        if ((kind->findable >> type & 1) && !(t->attr[i] & TFM__NOMATCH)) tfm__tok_slot_insert(t, i);
    }
    if (t->byte_fallback < 0) t->byte_fallback = t->special[TFM_SPECIAL_UNK] >= 0 ? t->special[TFM_SPECIAL_UNK] : 0;
    if (t->kind == TFM_TOKENIZER_SPM) {
        for (b = 0; b < 256; b++)
            if (t->byte_id[b] < 0) t->byte_id[b] = t->byte_fallback;
        t->space_id = tfm__tok_find2(t, " ", 1, "", 0);
        t->word_split = 1; /* see tfm__tok_word_start */
        for (i = 0; i < t->n_vocab && t->word_split; i++) {
            size_t len, j;
            const char *p;
            if (!(kind->findable >> tfm__tok_type(t, i) & 1)) continue;
            p = tfm__tok_match(t, i, &len);
            for (j = 1; j < len; j++)
                if (p[j] == ' ' && p[j - 1] != ' ') t->word_split = 0;
        }
    } else if (t->kind == TFM_TOKENIZER_BPE) {
        for (b = 0; b < 256; b++) {
            char c = (char)b;
            t->byte_id[b] = tfm__tok_find2(t, &c, 1, "", 0);
        }
        if ((s = tfm__tok_merges(t, v, err)) != TFM_OK) return s;
    } else if (t->special[TFM_SPECIAL_UNK] < 0) {
        return tfm_error_set(err, TFM_ERR_FORMAT, "a WordPiece vocab needs an unknown token ([UNK])");
    }
    return tfm__tok_specials(t, v, err);
}

/* The one constructor every loader ends in. unescape: see tfm__tok_store_pieces. */
static tfm_status tfm__tok_build(tfm_tokenizer **out, const tfm_vocab *v, int unescape, tfm_error *err)
{
    tfm_tokenizer *t;
    const char *pre = v && v->pre ? v->pre : "default";
    tfm_status s;
    int kind, i;
    tfm_error_clear(err);
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output tokenizer");
    *out = NULL;
    if (!v) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no vocab");
    for (kind = 0; kind < 3 && !(v->model && strcmp(v->model, tfm__kinds[kind].name) == 0); kind++) {
    }
    if (kind == 3)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "tokenizer model '%.40s' is not supported (llama, gpt2, bert)",
                             v->model ? v->model : "(none)");
    if (v->n_tokens <= 0 || v->n_tokens > TFM_TOKENIZER_MAX_VOCAB)
        return tfm_error_set(err, TFM_ERR_FORMAT, "vocab size %d outside 1..%d", v->n_tokens, TFM_TOKENIZER_MAX_VOCAB);
    if (v->n_merges < 0 || v->n_merges > TFM_TOKENIZER_MAX_MERGES)
        return tfm_error_set(err, TFM_ERR_FORMAT, "%d merges (want 0..%d)", v->n_merges, TFM_TOKENIZER_MAX_MERGES);
    if (!v->pieces) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no pieces");
    for (i = 0; i < v->n_tokens; i++)
        if (!v->pieces[i]) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "piece %d is NULL", i);
    for (i = 0; i < TFM_SPECIAL_COUNT; i++)
        if (v->special[i] != TFM_VOCAB_DEFAULT && (v->special[i] < -1 || v->special[i] >= v->n_tokens))
            return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "the %s token %d is outside the vocab of %d tokens",
                                 tfm__special_names[i], v->special[i], v->n_tokens);
    t = (tfm_tokenizer *)TFM_MALLOC(sizeof *t);
    if (!t) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->pre = -1;
    t->n_vocab = v->n_tokens;
    snprintf(t->pre_name, sizeof t->pre_name, "%s", pre);
    if (kind == TFM_TOKENIZER_BPE) {
        for (i = 0; i < TFM__N_PRES && strcmp(tfm__pres[i].name, pre) != 0; i++) {
        }
        if (i == TFM__N_PRES) {
            tfm_tokenizer_free(t);
            return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "pre-tokenizer '%.60s' is not supported", pre);
        }
        t->pre = i;
    }
    /* the kind's defaults, the pre-tokenizer's, then the vocab's own choices */
    t->add_bos = tfm__kinds[kind].add_bos | (t->pre >= 0 ? tfm__pres[t->pre].add_bos : 0);
    t->add_eos = tfm__kinds[kind].add_eos;
    t->add_space_prefix = tfm__kinds[kind].add_space_prefix;
    for (i = 0; i < TFM_SPECIAL_COUNT; i++) {
        int id = tfm__kinds[kind].special[i];
        if (i == TFM_SPECIAL_BOS && t->pre >= 0 && tfm__pres[t->pre].no_bos) id = -1;
        if (v->special[i] != TFM_VOCAB_DEFAULT) id = v->special[i];
        t->special[i] = id < v->n_tokens ? id : -1; /* a default the vocab is too small for: none */
    }
    if (v->add_bos != TFM_VOCAB_DEFAULT) t->add_bos = v->add_bos != 0;
    if (v->add_eos != TFM_VOCAB_DEFAULT) t->add_eos = v->add_eos != 0;
    if (v->add_space_prefix != TFM_VOCAB_DEFAULT) t->add_space_prefix = v->add_space_prefix != 0;
    t->keep_case = v->keep_case > 0;
    t->llama2c = !unescape;
    if ((s = tfm__tok_store_pieces(t, v, unescape && tfm__kinds[kind].escaped_space, err)) != TFM_OK ||
        (s = tfm__tok_index(t, v, err)) != TFM_OK) {
        tfm_tokenizer_free(t);
        return s;
    }
    *out = t;
    return TFM_OK;
}

tfm_status tfm_tokenizer_create(tfm_tokenizer **out, const tfm_vocab *vocab, tfm_error *err)
{
    return tfm__tok_build(out, vocab, 1, err);
}

/* llama2.c's types: BOS/EOS control, <0xNN> byte, "<unk>" at id 0 unknown, the rest normal. */
static void tfm__tok_infer_types(int n, const char *const *pieces, const size_t *lengths, int bos, int eos,
                                 int32_t *types)
{
    int i;
    for (i = 0; i < n; i++) {
        size_t len = lengths ? lengths[i] : strlen(pieces[i]);
        if (i == bos || i == eos) types[i] = TFM_TOKEN_CONTROL;
        else if (tfm__tok_byte_value(pieces[i], len) >= 0) types[i] = TFM_TOKEN_BYTE;
        else if (i == 0 && len == 5 && memcmp(pieces[i], "<unk>", 5) == 0) types[i] = TFM_TOKEN_UNKNOWN;
        else types[i] = TFM_TOKEN_NORMAL;
    }
}

/* The SentencePiece vocab of arrays; unescape as tfm__tok_build. */
static tfm_status tfm__tok_from_arrays(tfm_tokenizer **out, int n_vocab, const char *const *pieces,
                                       const size_t *lengths, const float *scores, const int32_t *types, int bos_id,
                                       int eos_id, int unescape, tfm_error *err)
{
    int32_t *inferred = NULL;
    tfm_vocab v;
    tfm_status s;
    int i;
    tfm_error_clear(err);
    if (out) *out = NULL;
    if (n_vocab <= 0 || n_vocab > TFM_TOKENIZER_MAX_VOCAB)
        return tfm_error_set(err, TFM_ERR_FORMAT, "vocab size %d outside 1..%d", n_vocab, TFM_TOKENIZER_MAX_VOCAB);
    if (bos_id < -1 || bos_id >= n_vocab || eos_id < -1 || eos_id >= n_vocab)
        return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "BOS %d / EOS %d outside a vocab of %d tokens", bos_id, eos_id,
                             n_vocab);
    if (!pieces) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no pieces");
    for (i = 0; i < n_vocab; i++)
        if (!pieces[i]) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "piece %d is NULL", i);
    if (!types) {
        inferred = (int32_t *)TFM_MALLOC(sizeof(int32_t) * (size_t)n_vocab);
        if (!inferred) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
        tfm__tok_infer_types(n_vocab, pieces, lengths, bos_id, eos_id, inferred);
    }
    tfm_vocab_init(&v);
    v.model = "llama";
    v.n_tokens = n_vocab;
    v.pieces = pieces;
    v.lengths = lengths;
    v.scores = scores;
    v.types = types ? types : inferred;
    v.special[TFM_SPECIAL_BOS] = bos_id;
    v.special[TFM_SPECIAL_EOS] = eos_id;
    s = tfm__tok_build(out, &v, unescape, err);
    TFM_FREE(inferred);
    return s;
}

tfm_status tfm_tokenizer_from_vocab(tfm_tokenizer **out, int n_vocab, const char *const *pieces,
                                    const size_t *lengths, const float *scores, const int32_t *types,
                                    int bos_id, int eos_id, tfm_error *err)
{
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output tokenizer");
    return tfm__tok_from_arrays(out, n_vocab, pieces, lengths, scores, types, bos_id, eos_id, 1, err);
}

static int32_t tfm__tok_i32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

/* Walks the tokens of a tokenizer.bin image: counts them (and checks every length) when pieces is
   NULL, else points pieces/lengths into data and reads the scores. */
static tfm_status tfm__tok_walk_bin(const unsigned char *data, size_t size, int want, const char **pieces,
                                    size_t *lengths, float *scores, int *count, tfm_error *err)
{
    size_t pos = 4;
    int32_t max_len = tfm__tok_i32(data);
    int n = 0;
    if (max_len < 1 || max_len > (1 << 16))
        return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer max_token_length %ld outside 1..65536", (long)max_len);
    while (want > 0 ? n < want : pos < size) {
        int32_t len;
        if (size - pos < 8)
            return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer truncated in the header of token %d (%zu bytes left)", n,
                                 size - pos);
        len = tfm__tok_i32(data + pos + 4);
        if (len < 0 || len > max_len)
            return tfm_error_set(err, TFM_ERR_FORMAT, "token %d has length %ld (max_token_length %ld)", n, (long)len,
                                 (long)max_len);
        if (size - pos - 8 < (size_t)len)
            return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer truncated in token %d (%ld bytes, %zu left)", n,
                                 (long)len, size - pos - 8);
        if (n >= TFM_TOKENIZER_MAX_VOCAB)
            return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer has more than %d tokens", TFM_TOKENIZER_MAX_VOCAB);
        if (pieces) {
            uint32_t bits = (uint32_t)tfm__tok_i32(data + pos);
            memcpy(&scores[n], &bits, 4);
            pieces[n] = (const char *)data + pos + 8;
            lengths[n] = (size_t)len;
        }
        pos += 8 + (size_t)len;
        n++;
    }
    if (pos != size)
        return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer has more than the %d tokens expected (%zu bytes left)", want,
                             size - pos);
    *count = n;
    return TFM_OK;
}

tfm_status tfm_tokenizer_load_llama2c_memory(tfm_tokenizer **out, const void *data, size_t size, int vocab_size,
                                             tfm_error *err)
{
    const unsigned char *bytes = (const unsigned char *)data;
    const char **pieces;
    size_t *lengths;
    float *scores;
    tfm_status s;
    int n;
    tfm_error_clear(err);
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output tokenizer");
    *out = NULL;
    if (!data && size) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no data");
    if (vocab_size < 0 || vocab_size > TFM_TOKENIZER_MAX_VOCAB)
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "vocab size %d outside 0..%d", vocab_size,
                             TFM_TOKENIZER_MAX_VOCAB);
    if (size < 4) return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer too short (%zu bytes)", size);
    if ((s = tfm__tok_walk_bin(bytes, size, vocab_size, NULL, NULL, NULL, &n, err)) != TFM_OK) return s;
    if (n == 0) return tfm_error_set(err, TFM_ERR_FORMAT, "tokenizer has no tokens");
    pieces = (const char **)TFM_MALLOC(sizeof(char *) * (size_t)n);
    lengths = (size_t *)TFM_MALLOC(sizeof(size_t) * (size_t)n);
    scores = (float *)TFM_MALLOC(sizeof(float) * (size_t)n);
    if (!pieces || !lengths || !scores) s = tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "out of memory");
    if (s == TFM_OK) s = tfm__tok_walk_bin(bytes, size, n, pieces, lengths, scores, &n, err);
    if (s == TFM_OK)
        s = tfm__tok_from_arrays(out, n, pieces, lengths, scores, NULL, n > 1 ? 1 : -1, n > 2 ? 2 : -1, 0, err);
    if (s == TFM_OK && (*out)->special[TFM_SPECIAL_BOS] >= 0) /* llama2.c's run.c ends a story at BOS */
        (*out)->attr[(*out)->special[TFM_SPECIAL_BOS]] |= TFM__EOG;
    TFM_FREE((void *)pieces);
    TFM_FREE(lengths);
    TFM_FREE(scores);
    return s;
}

tfm_status tfm_tokenizer_load_llama2c(tfm_tokenizer **out, const char *path, int vocab_size, tfm_error *err)
{
    tfm_file_map map;
    tfm_status s;
    tfm_error_clear(err);
    if (!out || !path) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no tokenizer path or output");
    *out = NULL;
    if ((s = tfm_file_map_open(&map, path, TFM_FILE_MAP_DEFAULT, err)) != TFM_OK) return s;
    s = tfm_tokenizer_load_llama2c_memory(out, map.data, map.size, vocab_size, err);
    tfm_file_map_close(&map);
    if (s != TFM_OK && err) {
        char why[sizeof err->message];
        memcpy(why, err->message, sizeof why);
        tfm_error_set(err, s, "%.60s: %.190s", path, why);
    }
    return s;
}

/* ---------------------------------------------------------------- queries */

int tfm_tokenizer_vocab_size(const tfm_tokenizer *tok) { return tok ? tok->n_vocab : 0; }
tfm_tokenizer_kind tfm_tokenizer_kind_of(const tfm_tokenizer *tok)
{
    return tok ? (tfm_tokenizer_kind)tok->kind : TFM_TOKENIZER_SPM;
}
const char *tfm_tokenizer_kind_name(tfm_tokenizer_kind kind)
{
    return (int)kind >= 0 && (int)kind < 3 ? tfm__kinds[kind].name : NULL;
}
const char *tfm_tokenizer_pre(const tfm_tokenizer *tok) { return tok ? tok->pre_name : NULL; }
int tfm_tokenizer_special(const tfm_tokenizer *tok, tfm_special which)
{
    return tok && (int)which >= 0 && which < TFM_SPECIAL_COUNT ? tok->special[which] : -1;
}
int tfm_tokenizer_bos(const tfm_tokenizer *tok) { return tfm_tokenizer_special(tok, TFM_SPECIAL_BOS); }
int tfm_tokenizer_eos(const tfm_tokenizer *tok) { return tfm_tokenizer_special(tok, TFM_SPECIAL_EOS); }
int tfm_tokenizer_add_bos(const tfm_tokenizer *tok) { return tok ? tok->add_bos : 0; }
int tfm_tokenizer_add_eos(const tfm_tokenizer *tok) { return tok ? tok->add_eos : 0; }
int tfm_tokenizer_is_eog(const tfm_tokenizer *tok, int id)
{
    return tok && id >= 0 && id < tok->n_vocab && (tok->attr[id] & TFM__EOG) != 0;
}
size_t tfm_tokenizer_max_piece(const tfm_tokenizer *tok) { return tok ? tok->max_piece : 0; }

tfm_status tfm_tokenizer_token(const tfm_tokenizer *tok, int id, const char **piece, size_t *len, float *score,
                               tfm_token_type *type)
{
    if (!tok) return TFM_ERR_INVALID_ARGUMENT;
    if (id < 0 || id >= tok->n_vocab) return TFM_ERR_OUT_OF_RANGE;
    if (piece) *piece = tfm__tok_text(tok, id);
    if (len) *len = tfm__tok_len(tok, id);
    if (score) *score = tok->score ? tok->score[id] : 0.0f;
    if (type) *type = (tfm_token_type)tfm__tok_type(tok, id);
    return TFM_OK;
}

/* ---------------------------------------------------------------- encode */

/* A symbol of a word being merged, in a doubly linked list; id -1 once merged into its left neighbour
   (and, in byte-level BPE, for a byte the vocab cannot spell). */
typedef struct tfm__tok_sym {
    int id, prev, next;
} tfm__tok_sym;

/* A candidate merge of symbols left and right (then holding left_id and right_id) into merged. */
typedef struct tfm__tok_cand {
    float score; /* SentencePiece: the merged piece's score; byte-level BPE: -rank */
    int left, right, left_id, right_id, merged;
} tfm__tok_cand;

typedef struct tfm__tok_heap {
    tfm__tok_cand *a;
    size_t n, cap;
} tfm__tok_heap;

/* A word already merged in this call: its key (bytes, or symbol ids) and ids live in the cache's pools. */
typedef struct tfm__tok_cached {
    uint32_t hash, key, key_len, ids, n_ids;
} tfm__tok_cached;

/* A piece of the text after special tokens are cut out: raw text (id -1) or one special token. */
typedef struct tfm__tok_frag {
    size_t off, len;
    int id, next;
} tfm__tok_frag;

#define TFM__CACHE_WORD 64 /* bytes of the longest key cached: longer words are merged every time */
#define TFM__CACHE_FIRST 32 /* slots of the cache's first table, inside the encode's own state */

/* One encode call: the ids so far and every scratch buffer (grown, never shrunk, freed at the end). */
typedef struct tfm__tok_enc {
    const tfm_tokenizer *t;
    int *ids, max_ids, count;
    tfm__tok_sym *sym; /* the symbols of the word being merged */
    int n, cap;
    tfm__tok_heap heap;
    uint32_t *cp;       /* byte-level BPE: the fragment's code points, their classes, byte offsets, cuts */
    unsigned char *cls, *cut;
    uint32_t *off;
    size_t cp_cap;
    unsigned char *bytes; /* byte-level BPE: the fragment re-encoded (when it was not valid UTF-8); */
    size_t bytes_cap;     /* WordPiece: the word being built */
    uint32_t *hashes;     /* WordPiece: hashes of a word's prefixes */
    size_t hashes_cap;
    tfm__tok_cached *cache; /* words merged so far (tfm__cache_find): first cache_first, then the heap's */
    uint32_t cache_mask, cache_n;
    tfm__tok_cached cache_first[TFM__CACHE_FIRST]; /* a short text's words: no allocation per call */
    char *keys;
    size_t keys_n, keys_cap;
    int *cache_ids;
    size_t cache_ids_n, cache_ids_cap;
    tfm__tok_frag *frag;
    int n_frag, frag_cap;
    tfm_tokenizer_word_fn word_fn; /* tfm_tokenizer_pretokenize: words go here, not to the merges */
    void *word_user;
    int stopped;
} tfm__tok_enc;

/* The array *p points to (p: the address of any pointer variable) grown to hold need elements of
   size elem, doubling; 0 when out of memory. The pointer is read and written as bytes, whatever its type. */
static int tfm__tok_reserve(void *p, size_t *cap, size_t need, size_t elem)
{
    void *old, *grown;
    size_t n = *cap ? *cap : 16;
    if (need <= *cap) return 1;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem) return 0;
        n *= 2;
    }
    memcpy(&old, p, sizeof old);
    grown = TFM_REALLOC(old, n * elem);
    if (!grown) return 0;
    memcpy(p, &grown, sizeof grown);
    *cap = n;
    return 1;
}

static void tfm__tok_emit(tfm__tok_enc *e, int id)
{
    if (e->ids && e->count < e->max_ids) e->ids[e->count] = id;
    e->count++;
}

/* The best candidate first: the highest score (lowest rank), then the leftmost pair. */
static int tfm__tok_before(const tfm__tok_cand *x, const tfm__tok_cand *y)
{
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static int tfm__tok_push(tfm__tok_heap *h, const tfm__tok_cand *c)
{
    size_t i;
    if (h->n == h->cap && !tfm__tok_reserve(&h->a, &h->cap, h->n + 1, sizeof *h->a)) return 0;
    for (i = h->n++; i > 0 && tfm__tok_before(c, &h->a[(i - 1) / 2]); i = (i - 1) / 2) h->a[i] = h->a[(i - 1) / 2];
    h->a[i] = *c;
    return 1;
}

static tfm__tok_cand tfm__tok_pop(tfm__tok_heap *h)
{
    tfm__tok_cand top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && tfm__tok_before(&h->a[c + 1], &h->a[c])) c++;
        if (!tfm__tok_before(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n > 0) h->a[i] = last;
    return top;
}

/* Queues the merge of symbols left and right when the vocab has one: SentencePiece, the piece their
   texts concatenate to (scoring above -1e10); byte-level BPE, the merge of their two tokens. */
static int tfm__tok_try_pair(tfm__tok_enc *e, int left, int right)
{
    const tfm_tokenizer *t = e->t;
    tfm__tok_cand c;
    int a, b;
    if (left < 0 || right < 0) return 1;
    a = e->sym[left].id;
    b = e->sym[right].id;
    if (a < 0 || b < 0) return 1;
    if (t->kind == TFM_TOKENIZER_BPE) {
        const tfm__merge *m = tfm__merge_find(t, a, b);
        if (!m) return 1;
        c.merged = m->result;
        c.score = -(float)m->rank;
    } else {
        size_t la, lb;
        const char *pa = tfm__tok_match(t, a, &la), *pb = tfm__tok_match(t, b, &lb);
        c.merged = tfm__tok_find2(t, pa, la, pb, lb);
        if (c.merged < 0 || !(t->score[c.merged] > -1e10f)) return 1;
        c.score = t->score[c.merged];
    }
    c.left = left;
    c.right = right;
    c.left_id = a;
    c.right_id = b;
    return tfm__tok_push(&e->heap, &c);
}

/* Merges symbols [0, e->n): always the best adjacent pair (tfm__tok_before), as llama2.c and
   llama.cpp do; merged-away symbols get id -1. Returns 0 when out of memory. */
static int tfm__tok_merge(tfm__tok_enc *e)
{
    tfm__tok_sym *sym = e->sym;
    int k, n = e->n, ok = 1;
    for (k = 0; k < n; k++) {
        sym[k].prev = k - 1;
        sym[k].next = k + 1 < n ? k + 1 : -1;
    }
    e->heap.n = 0;
    for (k = 0; k + 1 < n && ok; k++) ok = tfm__tok_try_pair(e, k, k + 1);
    while (ok && e->heap.n > 0) {
        tfm__tok_cand c = tfm__tok_pop(&e->heap);
        tfm__tok_sym *l = &sym[c.left], *r = &sym[c.right];
        /* stale: one side merged since the candidate was queued */
        if (l->id != c.left_id || r->id != c.right_id || l->next != c.right) continue;
        l->id = c.merged;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = c.left;
        r->id = -1;
        ok = tfm__tok_try_pair(e, l->prev, c.left) && tfm__tok_try_pair(e, c.left, l->next);
    }
    return ok;
}

static int tfm__tok_add_sym(tfm__tok_enc *e, int id)
{
    size_t cap = (size_t)e->cap;
    if (e->n == e->cap) {
        if (e->cap > INT_MAX / 2 || !tfm__tok_reserve(&e->sym, &cap, (size_t)e->n + 1, sizeof *e->sym)) return 0;
        e->cap = (int)cap;
    }
    e->sym[e->n++].id = id;
    return 1;
}

/* ---------------------------------------------------------------- the word cache of one encode */

/* A word already merged in this call emits its cached ids: 1. Else 0, and *slot is where to remember
   it (tfm__cache_add). The key is the word's bytes (byte-level BPE) or its symbols' ids (SentencePiece). */
static int tfm__cache_find(tfm__tok_enc *e, const void *key, size_t n, uint32_t h, uint32_t *slot)
{
    uint32_t i;
    for (i = h & e->cache_mask; e->cache[i].key_len; i = (i + 1) & e->cache_mask) {
        const tfm__tok_cached *c = &e->cache[i];
        if (c->hash == h && c->key_len == n && memcmp(e->keys + c->key, key, n) == 0) {
            size_t k;
            for (k = 0; k < c->n_ids; k++) tfm__tok_emit(e, e->cache_ids[c->ids + k]);
            return 1;
        }
    }
    *slot = i;
    return 0;
}

/* Remembers the ids cache_ids[first ..] of a word under its key (the table grows at half full). */
static int tfm__cache_add(tfm__tok_enc *e, const void *key, size_t n, uint32_t h, uint32_t slot, size_t first)
{
    if ((e->cache_n + 1) * 2 > e->cache_mask + 1) {
        size_t slots = (size_t)(e->cache_mask + 1) * 2, j;
        tfm__tok_cached *grown = (tfm__tok_cached *)TFM_MALLOC(slots * sizeof *grown);
        if (!grown) return 0;
        memset(grown, 0, slots * sizeof *grown);
        for (j = 0; j <= e->cache_mask; j++)
            if (e->cache[j].key_len) {
                uint32_t s = e->cache[j].hash & (uint32_t)(slots - 1);
                while (grown[s].key_len) s = (s + 1) & (uint32_t)(slots - 1);
                grown[s] = e->cache[j];
            }
        if (e->cache != e->cache_first) TFM_FREE(e->cache);
        e->cache = grown;
        e->cache_mask = (uint32_t)(slots - 1);
        for (slot = h & e->cache_mask; e->cache[slot].key_len; slot = (slot + 1) & e->cache_mask) {
        }
    }
    if (!tfm__tok_reserve(&e->keys, &e->keys_cap, e->keys_n + n, 1)) return 0;
    memcpy(e->keys + e->keys_n, key, n);
    e->cache[slot].hash = h;
    e->cache[slot].key = (uint32_t)e->keys_n;
    e->cache[slot].key_len = (uint32_t)n;
    e->cache[slot].ids = (uint32_t)first;
    e->cache[slot].n_ids = (uint32_t)(e->cache_ids_n - first);
    e->keys_n += n;
    e->cache_n++;
    return 1;
}

/* The ids of the merged symbols e->sym[0, e->n) appended to cache_ids. */
static int tfm__cache_symbols(tfm__tok_enc *e)
{
    int k;
    if (!tfm__tok_reserve(&e->cache_ids, &e->cache_ids_cap, e->cache_ids_n + (size_t)e->n, sizeof(int))) return 0;
    for (k = 0; k < e->n; k++)
        if (e->sym[k].id >= 0) e->cache_ids[e->cache_ids_n++] = e->sym[k].id;
    return 1;
}

/* ---------------------------------------------------------------- SentencePiece */

/* No merge can join a symbol prev to a following space symbol id when no piece holds a non-space byte
   followed by a space (t->word_split) and the piece of prev ends in a non-space byte: the merged piece
   would hold both. So each word merges on its own, with a small heap and few symbols in memory. */
static int tfm__spm_word_start(const tfm_tokenizer *t, int prev, int id)
{
    size_t len;
    const char *p;
    if (!t->word_split || id != t->space_id) return 0;
    p = tfm__tok_match(t, prev, &len);
    return len > 0 && p[len - 1] != ' ';
}

/* Merges the pending word (or finds it in the cache, keyed by its symbols' ids, when words merge on
   their own) and emits its tokens. */
static int tfm__spm_flush(tfm__tok_enc *e)
{
    const int cache = e->t->word_split && e->n <= TFM__CACHE_WORD / 4;
    int key[TFM__CACHE_WORD / 4], k;
    size_t first = e->cache_ids_n;
    uint32_t h = 0, slot = 0;
    if (e->n == 0) return 1;
    if (cache) {
        for (k = 0; k < e->n; k++) key[k] = e->sym[k].id;
        h = tfm__tok_hash((const char *)key, sizeof(int) * (size_t)e->n, "", 0);
        if (tfm__cache_find(e, key, sizeof(int) * (size_t)e->n, h, &slot)) {
            e->n = 0;
            return 1;
        }
    }
    if (!tfm__tok_merge(e) || !tfm__cache_symbols(e)) return 0;
    for (k = (int)first; k < (int)e->cache_ids_n; k++) tfm__tok_emit(e, e->cache_ids[k]);
    if (cache && !tfm__cache_add(e, key, sizeof(int) * (size_t)e->n, h, slot, first)) return 0;
    if (!cache) e->cache_ids_n = first;
    e->n = 0;
    return 1;
}

/* One character: its token, or its bytes' fallback tokens; a new word is flushed first. A U+2581 in
   the text is a space (llama.cpp escapes the text's spaces to U+2581, making the two one; not for
   llama2.c, whose vocab spells spaces as spaces). */
static int tfm__spm_add_char(tfm__tok_enc *e, const char *c, size_t len)
{
    const tfm_tokenizer *t = e->t;
    int id;
    if (!t->llama2c && len == 3 && memcmp(c, "\xe2\x96\x81", 3) == 0) {
        c = " ";
        len = 1;
    }
    id = tfm__tok_find2(t, c, len, "", 0);
    size_t i;
    for (i = 0; i < (id >= 0 ? 1 : len); i++) {
        int sym = id >= 0 ? id : t->byte_id[(unsigned char)c[i]];
        if (e->n > 0 && tfm__spm_word_start(t, e->sym[e->n - 1].id, sym) && !tfm__spm_flush(e)) return 0;
        if (!tfm__tok_add_sym(e, sym)) return 0;
    }
    return 1;
}

/* 1 when a lead byte of text announces more bytes than the continuation bytes after it: llama.cpp and
   llama2.c group such text differently. */
static int tfm__spm_malformed(const unsigned char *s, size_t n)
{
    size_t i, k;
    for (i = 0; i < n; i++)
        if (s[i] >= 0xc0)
            for (k = 1; k < (s[i] < 0xe0 ? 2u : s[i] < 0xf0 ? 3u : 4u) && i + k < n; k++)
                if ((s[i + k] & 0xc0) != 0x80) return 1;
    return 0;
}

static int tfm__spm_fragment(tfm__tok_enc *e, const char *text, size_t len, int dummy_prefix)
{
    const tfm_tokenizer *t = e->t;
    size_t i = 0, k, n = 0;
    if (dummy_prefix && !tfm__spm_add_char(e, " ", 1)) return 0;
    if (!t->llama2c && tfm__spm_malformed((const unsigned char *)text, len)) {
        /* llama.cpp's reading: spaces escaped to U+2581 first, then characters as long as each lead byte
           announces, whatever follows it (a space after a bad lead byte splits into bytes) */
        unsigned char *esc;
        if (!tfm__tok_reserve(&e->bytes, &e->bytes_cap, 3 * len + 1, 1)) return 0;
        esc = e->bytes;
        for (k = 0; k < len; k++) {
            if (text[k] == ' ') esc[n++] = 0xe2, esc[n++] = 0x96, esc[n++] = 0x81;
            else esc[n++] = (unsigned char)text[k];
        }
        text = (const char *)esc;
        len = n;
    }
    while (i < len) { /* a character: llama2.c's, a lead byte and at most 3 continuation bytes after it;
                         llama.cpp's (unicode_len_utf8), the bytes the lead byte announces */
        unsigned char b = (unsigned char)text[i];
        size_t j = i + 1, want = b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
        if (t->llama2c)
            while (j < len && j - i < 4 && ((unsigned char)text[j] & 0xc0) == 0x80) j++;
        else
            j = len - i < want ? len : i + want;
        if (!tfm__spm_add_char(e, text + i, j - i)) return 0;
        i = j;
    }
    return tfm__spm_flush(e);
}

/* ---------------------------------------------------------------- byte-level BPE */

static int tfm__cls_letter(unsigned c) { return (c & TFM_UNICODE_CATEGORY) == TFM_UNICODE_LETTER; }
static int tfm__cls_number(unsigned c) { return (c & TFM_UNICODE_CATEGORY) == TFM_UNICODE_NUMBER; }
static int tfm__cls_space(unsigned c) { return (c & TFM_UNICODE_SPACE) != 0; }
/* [^\s\p{L}\p{N}] */
static int tfm__cls_other(unsigned c) { return !tfm__cls_space(c) && !tfm__cls_letter(c) && !tfm__cls_number(c); }

static int tfm__in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (c >= r[i][0] && c <= r[i][1]) return 1;
    return 0;
}

/* A code point as the regexes llama.cpp runs with std::wregex see it: non-ASCII whitespace is \v. */
static uint32_t tfm__wregex_char(const tfm__tok_enc *e, size_t i)
{
    return e->cp[i] >= 0x80 && tfm__cls_space(e->cls[i]) ? 0x0b : e->cp[i];
}

/* Membership of code point i in the character class of a split rule. */
static int tfm__rule_class(const tfm__tok_enc *e, int rule, size_t i)
{
    uint32_t c = e->cp[i];
    unsigned k = e->cls[i];
    switch (rule) {
    case TFM__RULE_PUNCT:
    case TFM__RULE_PUNCT_TICK:
        return (k & TFM_UNICODE_CATEGORY) == TFM_UNICODE_PUNCT || c == '$' || c == '+' || c == '<' || c == '=' ||
               c == '>' || c == '^' || c == '~' || c == '|' || (rule == TFM__RULE_PUNCT_TICK && c == '`');
    case TFM__RULE_DIGITS: return tfm__cls_number(k);
    case TFM__RULE_DS_LETTERS:
        c = tfm__wregex_char(e, i);
        return c < 0x80 ? (c | 32) >= 'a' && (c | 32) <= 'z'
                        : tfm__in_ranges(c, tfm__ds_letters, sizeof tfm__ds_letters / sizeof tfm__ds_letters[0]);
    case TFM__RULE_DS_PUNCT:
        return tfm__in_ranges(tfm__wregex_char(e, i), tfm__ds_punct, sizeof tfm__ds_punct / sizeof tfm__ds_punct[0]);
    case TFM__RULE_CJK:
        return tfm__in_ranges(tfm__wregex_char(e, i), tfm__ds_cjk, sizeof tfm__ds_cjk / sizeof tfm__ds_cjk[0]);
    default: return 0;
    }
}

/* End of the run of code points from i on whose class passes test (or rule's class when test is NULL). */
static size_t tfm__run(const tfm__tok_enc *e, size_t i, size_t end, int (*test)(unsigned), int rule)
{
    while (i < end && (test ? test(e->cls[i]) : tfm__rule_class(e, rule, i))) i++;
    return i;
}

static uint32_t tfm__ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 's 't 're 've 'm 'll 'd at p (case-insensitive: any_case): its length, else 0. */
static size_t tfm__contraction(const tfm__tok_enc *e, size_t p, size_t end, int any_case)
{
    uint32_t c1, c2;
    if (e->cp[p] != '\'' || p + 1 >= end) return 0;
    c1 = any_case ? tfm__ascii_lower(e->cp[p + 1]) : e->cp[p + 1];
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (p + 2 >= end) return 0;
    c2 = any_case ? tfm__ascii_lower(e->cp[p + 2]) : e->cp[p + 2];
    return (c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l') ? 3 : 0;
}

/* The length of rule's match at p inside [p, end) of the piece being split (0: none; then *next may
   say where the next match can start, when that is beyond p + 1). Each is its regex, alternatives in
   order, as std::regex or llama.cpp's hand-written gpt2/llama3 matchers find it. */
static size_t tfm__rule_match(const tfm__tok_enc *e, int rule, size_t p, size_t end, size_t *next)
{
    const uint32_t *cp = e->cp;
    const unsigned char *cls = e->cls;
    uint32_t c = cp[p];
    size_t q, r, m;
    switch (rule) {
    case TFM__RULE_GPT2:
        if ((m = tfm__contraction(e, p, end, 0)) > 0) return m;
        q = c == ' ' && p + 1 < end ? p + 1 : p; /* " ?" */
        if (tfm__cls_letter(cls[q])) return tfm__run(e, q, end, tfm__cls_letter, 0) - p;
        if (tfm__cls_number(cls[q])) return tfm__run(e, q, end, tfm__cls_number, 0) - p;
        if (tfm__cls_other(cls[q])) return tfm__run(e, q, end, tfm__cls_other, 0) - p;
        r = tfm__run(e, p, end, tfm__cls_space, 0); /* \s+(?!\S)|\s+ */
        return r == end || r - p < 2 ? r - p : r - p - 1;
    case TFM__RULE_LLAMA3:
    case TFM__RULE_QWEN2:
        if ((m = tfm__contraction(e, p, end, 1)) > 0) return m;
        if (c != '\r' && c != '\n' && !tfm__cls_number(cls[p])) { /* [^\r\n\p{L}\p{N}]?\p{L}+ */
            if (tfm__cls_letter(cls[p])) return tfm__run(e, p, end, tfm__cls_letter, 0) - p;
            if (p + 1 < end && tfm__cls_letter(cls[p + 1])) return tfm__run(e, p + 1, end, tfm__cls_letter, 0) - p;
        }
        if (tfm__cls_number(cls[p])) { /* \p{N}{1,3} or \p{N} */
            m = rule == TFM__RULE_QWEN2 ? 1 : 3;
            return tfm__run(e, p, end - p > m ? p + m : end, tfm__cls_number, 0) - p;
        }
        q = c == ' ' && p + 1 < end ? p + 1 : p; /* ?[^\s\p{L}\p{N}]+[\r\n]* */
        if (tfm__cls_other(cls[q])) {
            r = tfm__run(e, q, end, tfm__cls_other, 0);
            while (r < end && (cp[r] == '\r' || cp[r] == '\n')) r++;
            return r - p;
        }
        r = tfm__run(e, p, end, tfm__cls_space, 0);
        for (q = r; q > p; q--) /* \s*[\r\n]+ ends after the run's last \r or \n */
            if (cp[q - 1] == '\r' || cp[q - 1] == '\n') return q - p;
        return r == end || r - p < 2 ? r - p : r - p - 1; /* \s+(?!\S)|\s+ */
    case TFM__RULE_DIGIT: return tfm__cls_number(cls[p]) ? 1 : 0;
    case TFM__RULE_DIGIT3:
        return p + 3 <= end && c >= '0' && c <= '9' && cp[p + 1] >= '0' && cp[p + 1] <= '9' && cp[p + 2] >= '0' &&
                       cp[p + 2] <= '9'
                   ? 3
                   : 0;
    case TFM__RULE_NEWLINE: return c == '\r' || c == '\n' ? 1 : 0;
    case TFM__RULE_DS_LETTERS:
    case TFM__RULE_DS_PUNCT: /* \s?[...]+ */
        if (tfm__cls_space(cls[p]) && p + 1 < end && tfm__rule_class(e, rule, p + 1))
            return tfm__run(e, p + 1, end, NULL, rule) - p;
        return tfm__run(e, p, end, NULL, rule) - p;
    case TFM__RULE_TRAILING_WS: /* \s+$ */
        if (!tfm__cls_space(cls[p])) return 0;
        r = tfm__run(e, p, end, tfm__cls_space, 0);
        if (r == end) return r - p;
        *next = r; /* no start inside this run reaches the end either */
        return 0;
    default: /* the runs of a class: PUNCT, PUNCT_TICK, DIGITS, CJK */
        return tfm__run(e, p, end, NULL, rule) - p;
    }
}

/* The ids of one word of byte-level BPE, from the cache or merged (and cached when short). */
static int tfm__bpe_word(tfm__tok_enc *e, const unsigned char *w, size_t n)
{
    const tfm_tokenizer *t = e->t;
    uint32_t h = 0, slot = 0;
    size_t k, first = e->cache_ids_n;
    int id;
    if (e->word_fn) {
        if (!e->stopped && !e->word_fn(e->word_user, (const char *)w, n)) e->stopped = 1;
        return 1;
    }
    if (n <= TFM__CACHE_WORD && tfm__cache_find(e, w, n, h = tfm__tok_hash((const char *)w, n, "", 0), &slot)) return 1;
    if (tfm__pres[t->pre].ignore_merges && (id = tfm__tok_find2(t, (const char *)w, n, "", 0)) >= 0) {
        if (!tfm__tok_reserve(&e->cache_ids, &e->cache_ids_cap, e->cache_ids_n + 1, sizeof(int))) return 0;
        e->cache_ids[e->cache_ids_n++] = id;
    } else {
        e->n = 0;
        for (k = 0; k < n; k++)
            if (!tfm__tok_add_sym(e, t->byte_id[w[k]])) return 0;
        if (!tfm__tok_merge(e) || !tfm__cache_symbols(e)) return 0;
    }
    for (k = first; k < e->cache_ids_n; k++) tfm__tok_emit(e, e->cache_ids[k]);
    if (n <= TFM__CACHE_WORD) return tfm__cache_add(e, w, n, h, slot, first);
    e->cache_ids_n = first;
    return 1;
}

/* The text of code points [a, b) of the fragment (bytes) is one word of the last rule, or (mark) a
   piece for the rules after. */
static int tfm__bpe_piece(tfm__tok_enc *e, const unsigned char *bytes, size_t a, size_t b, int mark)
{
    if (mark) {
        e->cut[a] = 1;
        return 1;
    }
    return tfm__bpe_word(e, bytes + e->off[a], e->off[b] - e->off[a]);
}

/* Splits [a, b) by one rule into its matches and the text between them. */
static int tfm__bpe_split(tfm__tok_enc *e, const unsigned char *bytes, int rule, size_t a, size_t b, int mark)
{
    size_t p = a, gap = a;
    while (p < b) {
        size_t next = p + 1, m = tfm__rule_match(e, rule, p, b, &next);
        if (m == 0) {
            p = next;
            continue;
        }
        if ((gap < p && !tfm__bpe_piece(e, bytes, gap, p, mark)) || !tfm__bpe_piece(e, bytes, p, p + m, mark)) return 0;
        p += m;
        gap = p;
    }
    return gap < b ? tfm__bpe_piece(e, bytes, gap, b, mark) : 1;
}

static size_t tfm__utf8_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

static int tfm__bpe_fragment(tfm__tok_enc *e, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text, *bytes = s;
    const unsigned char *rules = tfm__pres[e->t->pre].rules;
    size_t i = 0, n = 0, pos = 0, k, cap = e->cp_cap;
    int valid = 1, r, last;
    if (!tfm__tok_reserve(&e->cp, &cap, len + 1, sizeof *e->cp)) return 0;
    cap = e->cp_cap;
    if (!tfm__tok_reserve(&e->off, &cap, len + 1, sizeof *e->off)) return 0;
    cap = e->cp_cap;
    if (!tfm__tok_reserve(&e->cls, &cap, len + 1, 1)) return 0;
    cap = e->cp_cap;
    if (!tfm__tok_reserve(&e->cut, &cap, len + 1, 1)) return 0;
    e->cp_cap = cap;
    while (i < len) { /* the code points, their classes and offsets in the (re-encoded) bytes */
        uint32_t c;
        size_t used;
        if (s[i] < 0x80) {
            c = s[i];
            used = 1;
            e->cls[n] = tfm__uni_ascii[c];
        } else {
            used = tfm__utf8_decode(s + i, len - i, &c);
            e->cls[n] = (unsigned char)tfm_unicode_class(c);
            if (used != tfm__utf8_len(c)) valid = 0;
        }
        e->cp[n] = c;
        e->off[n++] = (uint32_t)pos;
        pos += tfm__utf8_len(c);
        i += used;
    }
    e->off[n] = (uint32_t)pos;
    if (!valid) { /* llama.cpp tokenizes the text read back as UTF-8: U+FFFD for bad bytes */
        unsigned char *out;
        if (!tfm__tok_reserve(&e->bytes, &e->bytes_cap, pos, 1)) return 0;
        out = e->bytes;
        for (k = 0; k < n; k++) tfm__utf8_encode(e->cp[k], out + e->off[k]);
        bytes = out;
    }
    for (last = 0; rules[last + 1] != TFM__RULE_END; last++) {
    }
    if (last > 0) {
        memset(e->cut, 0, n + 1);
        e->cut[0] = e->cut[n] = 1;
    }
    for (r = 0; r <= last; r++) {
        size_t a = 0, b;
        while (a < n) {
            for (b = a + 1; last > 0 && !e->cut[b]; b++) {
            }
            if (last == 0) b = n;
            if (!tfm__bpe_split(e, bytes, rules[r], a, b, r < last)) return 0;
            a = b;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- WordPiece */

/* BERT's CJK ideographs (with llama.cpp's start of the fifth block, U+2B920, as in Hugging Face's
   Rust code). */
static int tfm__wpm_chinese(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
           (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* The word in e->bytes[0, n) (its first byte the phantom space): the longest token at each position,
   or the unknown token for the whole word when some position has none. */
static int tfm__wpm_word(tfm__tok_enc *e, size_t n)
{
    const tfm_tokenizer *t = e->t;
    const char *w = (const char *)e->bytes;
    int start = e->count;
    size_t i = 0, k;
    if (n <= 1) return 1;
    if (!tfm__tok_reserve(&e->hashes, &e->hashes_cap, n + 1, sizeof *e->hashes)) return 0;
    while (i < n) {
        size_t lim = n - i < (size_t)t->max_match ? n - i : (size_t)t->max_match;
        uint32_t h = 2166136261u;
        int id = -1;
        for (k = 1; k <= lim; k++) e->hashes[k] = h = (h ^ (unsigned char)w[i + k - 1]) * 16777619u;
        for (k = lim; k >= 1; k--)
            if ((id = tfm__tok_find_hashed(t, w + i, k, "", 0, e->hashes[k])) >= 0) break;
        if (id < 0) { /* no token here: the whole word is unknown */
            e->count = start;
            tfm__tok_emit(e, t->special[TFM_SPECIAL_UNK]);
            return 1;
        }
        tfm__tok_emit(e, id);
        i += k;
    }
    return 1;
}

static int tfm__wpm_fragment(tfm__tok_enc *e, const char *text, size_t len)
{
    const tfm_tokenizer *t = e->t;
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, n = 1;
    if (!tfm__tok_reserve(&e->bytes, &e->bytes_cap, len * 2 + 8, 1)) return 0;
    e->bytes[0] = ' '; /* the phantom space (U+2581) every word starts with */
    while (i < len) {
        uint32_t c, lower;
        unsigned cls, cat;
        i += tfm__utf8_decode(s + i, len - i, &c);
        if (!t->keep_case) c = tfm_unicode_base(c);
        cls = tfm_unicode_class(c);
        cat = cls & TFM_UNICODE_CATEGORY;
        if (cls & TFM_UNICODE_SPACE) {
            if (!tfm__wpm_word(e, n)) return 0;
            n = 1;
            continue;
        }
        if (c == 0 || c == 0xfffd || cat == TFM_UNICODE_CONTROL) continue;
        lower = t->keep_case ? c : tfm_unicode_lower(c);
        if (cat == TFM_UNICODE_PUNCT || (c < 0x7f && cat == TFM_UNICODE_SYMBOL) || tfm__wpm_chinese(c)) {
            if (!tfm__wpm_word(e, n)) return 0;
            n = 1 + tfm__utf8_encode(lower, e->bytes + 1);
            if (!tfm__wpm_word(e, n)) return 0;
            n = 1;
            continue;
        }
        if (lower == 0x2581) e->bytes[n++] = ' '; /* the vocab's spelling of a space */
        else n += tfm__utf8_encode(lower, e->bytes + n);
    }
    return tfm__wpm_word(e, n);
}

/* ---------------------------------------------------------------- special tokens, the whole text */

/* First occurrence of needle in hay, or -1. */
static long tfm__find_bytes(const char *hay, size_t n, const char *needle, size_t m)
{
    const char *p = hay, *end = hay + n;
    while (m > 0 && (size_t)(end - p) >= m) {
        p = (const char *)memchr(p, needle[0], (size_t)(end - p) - m + 1);
        if (!p) return -1;
        if (memcmp(p, needle, m) == 0) return (long)(p - hay);
        p++;
    }
    return -1;
}

static int tfm__c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Adds a fragment after fragment `after` (-1: the first); its index, -1 when out of memory. */
static int tfm__tok_add_frag(tfm__tok_enc *e, size_t off, size_t len, int id, int after)
{
    size_t cap = (size_t)e->frag_cap;
    int k = e->n_frag;
    if (e->n_frag == e->frag_cap) {
        if (e->frag_cap > INT_MAX / 2 || !tfm__tok_reserve(&e->frag, &cap, (size_t)e->n_frag + 1, sizeof *e->frag))
            return -1;
        e->frag_cap = (int)cap;
    }
    e->frag[k].off = off;
    e->frag[k].len = len;
    e->frag[k].id = id;
    e->frag[k].next = after >= 0 ? e->frag[after].next : -1;
    if (after >= 0) e->frag[after].next = k;
    e->n_frag++;
    return k;
}

/* Cuts special token id out of raw fragment f wherever it occurs, leftmost first (the text left of an
   occurrence stays in f, the token and the text right of it follow). The last fragment made, -1 when
   out of memory. */
static int tfm__tok_cut(tfm__tok_enc *e, const char *text, int f, int id)
{
    const tfm_tokenizer *t = e->t;
    const char *needle = tfm__tok_text(t, id);
    size_t n = tfm__tok_len(t, id), base = e->frag[f].off, blen = e->frag[f].len;
    for (;;) {
        long at = tfm__find_bytes(text + base, blen, needle, n);
        size_t left, right_off, right;
        int tok;
        if (at < 0) return f;
        left = (size_t)at;
        if (t->attr[id] & TFM__LSTRIP)
            while (left > 0 && tfm__c_space(text[base + left - 1])) left--;
        right_off = base + (size_t)at + n;
        right = base + blen - right_off;
        if (t->attr[id] & TFM__RSTRIP)
            while (right > 0 && tfm__c_space(text[right_off])) right_off++, right--;
        if (left > 0) {
            e->frag[f].len = left;
            if ((tok = tfm__tok_add_frag(e, base + (size_t)at, n, id, f)) < 0) return -1;
        } else {
            e->frag[f].off = base + (size_t)at;
            e->frag[f].len = n;
            e->frag[f].id = id;
            tok = f;
        }
        if (right == 0) return tok;
        if ((f = tfm__tok_add_frag(e, right_off, right, -1, tok)) < 0) return -1;
        base = right_off;
        blen = right;
    }
}

/* Cuts the special tokens out of the text, llama.cpp's way (tokenizer_st_partition): longest token
   first, each at its leftmost occurrences in the raw fragments left. The fragments, in order, from
   e->frag[0]. A first pass finds which tokens occur at all, so plain text costs one scan. */
static int tfm__tok_partition(tfm__tok_enc *e, const char *text, size_t len, int parse_special)
{
    const tfm_tokenizer *t = e->t;
    const unsigned char *first = t->special_first[parse_special ? 1 : 0];
    unsigned char *found = NULL;
    size_t p;
    int rank, k, f, ok = 1;
    e->n_frag = 0;
    if (tfm__tok_add_frag(e, 0, len, -1, -1) < 0) return 0;
    for (p = 0; p < len && ok; p++) {
        unsigned char b = (unsigned char)text[p];
        if (!(first[b >> 3] >> (b & 7) & 1)) continue;
        for (k = t->special_start[b]; k < t->special_start[b + 1]; k++) {
            int r = t->special_by_byte[k], id = t->specials[r];
            size_t n = tfm__tok_len(t, id);
            if ((found && found[r]) || (!parse_special && tfm__tok_type(t, id) != TFM_TOKEN_USER_DEFINED)) continue;
            if (n > len - p || memcmp(text + p, tfm__tok_text(t, id), n) != 0) continue;
            if (!found && (found = (unsigned char *)TFM_MALLOC((size_t)t->n_specials)) != NULL)
                memset(found, 0, (size_t)t->n_specials);
            if (!found) {
                ok = 0;
                break;
            }
            found[r] = 1;
        }
    }
    for (rank = 0; found && ok && rank < t->n_specials; rank++) {
        if (!found[rank]) continue;
        for (f = 0; f >= 0 && ok; f = e->frag[f].next)
            if (e->frag[f].id < 0 && (f = tfm__tok_cut(e, text, f, t->specials[rank])) < 0) ok = 0;
    }
    TFM_FREE(found);
    return ok;
}

static void tfm__tok_enc_free(tfm__tok_enc *e)
{
    TFM_FREE(e->sym);
    TFM_FREE(e->heap.a);
    TFM_FREE(e->cp);
    TFM_FREE(e->cls);
    TFM_FREE(e->cut);
    TFM_FREE(e->off);
    TFM_FREE(e->bytes);
    TFM_FREE(e->hashes);
    if (e->cache != e->cache_first) TFM_FREE(e->cache);
    TFM_FREE(e->keys);
    TFM_FREE(e->cache_ids);
    TFM_FREE(e->frag);
}

static tfm_status tfm__tok_encode(const tfm_tokenizer *tok, const char *text, size_t len, int bos, int eos,
                                  int parse_special, int *ids, int max_ids, int *n_ids, tfm_error *err)
{
    tfm__tok_enc e;
    int ok, f, prev_special = 1;
    int close = tok ? tok->special[tfm__kinds[tok->kind].close_role] : -1;
    if (n_ids) *n_ids = 0;
    if (!tok || !n_ids || (!text && len) || (ids && max_ids < 0))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tokenize: no tokenizer, text or count, or max_ids < 0");
    if (len > (size_t)INT_MAX / 4) return tfm_error_set(err, TFM_ERR_OUT_OF_RANGE, "tokenize: %zu bytes of text", len);
    if (bos && tok->special[TFM_SPECIAL_BOS] < 0)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "tokenize: the vocab has no BOS token");
    if (eos && close < 0)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "tokenize: the vocab has no %s token",
                             tok->kind == TFM_TOKENIZER_WPM ? "separator" : "EOS");
    memset(&e, 0, sizeof e);
    e.t = tok;
    e.ids = ids;
    e.max_ids = max_ids;
    e.cache = e.cache_first;
    e.cache_mask = TFM__CACHE_FIRST - 1;
    if (bos) tfm__tok_emit(&e, tok->special[TFM_SPECIAL_BOS]);
    ok = len == 0 || tfm__tok_partition(&e, text, len, parse_special);
    for (f = 0; ok && len > 0 && f >= 0; f = e.frag[f].next) {
        const tfm__tok_frag *fr = &e.frag[f];
        if (fr->id >= 0) {
            tfm__tok_emit(&e, fr->id);
            prev_special = 1;
            continue;
        }
        if (tok->kind == TFM_TOKENIZER_SPM) ok = tfm__spm_fragment(&e, text + fr->off, fr->len, tok->add_space_prefix && prev_special);
        else if (tok->kind == TFM_TOKENIZER_BPE) ok = tfm__bpe_fragment(&e, text + fr->off, fr->len);
        else ok = tfm__wpm_fragment(&e, text + fr->off, fr->len);
        prev_special = 0;
    }
    if (ok && eos) tfm__tok_emit(&e, close);
    tfm__tok_enc_free(&e);
    if (!ok) return tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
    *n_ids = e.count;
    if (ids && e.count > max_ids)
        return tfm_error_set(err, TFM_ERR_CONTEXT_FULL, "tokenize: %d tokens do not fit in %d", e.count, max_ids);
    return TFM_OK;
}

tfm_status tfm_tokenize(const tfm_tokenizer *tok, const char *text, size_t len, int flags, int *ids, int max_ids,
                        int *n_ids, tfm_error *err)
{
    int add = (flags & TFM_TOKENIZE_ADD_SPECIAL) != 0;
    tfm_error_clear(err);
    return tfm__tok_encode(tok, text, len, add && tok && tok->add_bos, add && tok && tok->add_eos,
                           (flags & TFM_TOKENIZE_PARSE_SPECIAL) != 0, ids, max_ids, n_ids, err);
}

tfm_status tfm_tokenizer_encode(const tfm_tokenizer *tok, const char *text, size_t len, int bos, int eos, int *ids,
                                int max_ids, int *n_ids)
{
    return tfm__tok_encode(tok, text, len, bos, eos, 0, ids, max_ids, n_ids, NULL);
}

tfm_status tfm_tokenizer_pretokenize(const tfm_tokenizer *tok, const char *text, size_t len, int flags,
                                     tfm_tokenizer_word_fn word, void *user, tfm_error *err)
{
    tfm__tok_enc e;
    int ok, f;
    tfm_error_clear(err);
    if (!tok || !word || (!text && len)) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "pretokenize: no tokenizer, text or callback");
    if (tok->kind != TFM_TOKENIZER_BPE)
        return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "pretokenize: a '%s' vocab has no pre-tokenizer",
                             tfm__kinds[tok->kind].name);
    memset(&e, 0, sizeof e);
    e.t = tok;
    e.word_fn = word;
    e.word_user = user;
    ok = len == 0 || tfm__tok_partition(&e, text, len, (flags & TFM_TOKENIZE_PARSE_SPECIAL) != 0);
    for (f = 0; ok && len > 0 && f >= 0 && !e.stopped; f = e.frag[f].next)
        if (e.frag[f].id < 0) ok = tfm__bpe_fragment(&e, text + e.frag[f].off, e.frag[f].len);
    tfm__tok_enc_free(&e);
    return ok ? TFM_OK : tfm_error_set(err, TFM_ERR_OUT_OF_MEMORY, "pretokenize: out of memory");
}

size_t tfm_tokenizer_memory(const tfm_tokenizer *tok)
{
    size_t n, slots;
    if (!tok) return 0;
    n = (size_t)tok->n_vocab;
    slots = (size_t)tok->slot_mask + 1;
    return sizeof *tok + tok->offset[n] + sizeof(uint32_t) * (n + 1) + (tok->score ? sizeof(float) * n : 0) + n +
           slots * sizeof *tok->slot +
           (tok->n_alt ? sizeof(int) * (size_t)tok->n_alt + sizeof(uint32_t) * ((size_t)tok->n_alt + 1) +
                             tok->alt_offset[tok->n_alt] : 0) +
           (tok->merge ? sizeof(tfm__merge) * ((size_t)tok->merge_mask + 1) : 0) +
           2 * sizeof(int) * (size_t)(tok->n_specials ? tok->n_specials : 1);
}

/* ---------------------------------------------------------------- decode */

tfm_status tfm_tokenizer_decode(const tfm_tokenizer *tok, int prev_id, int id, const char **piece, size_t *len)
{
    const char *p;
    size_t n;
    int type;
    if (piece) *piece = "";
    if (len) *len = 0;
    if (!tok || !piece || !len) return TFM_ERR_INVALID_ARGUMENT;
    if (id < 0 || id >= tok->n_vocab) return TFM_ERR_OUT_OF_RANGE;
    p = tfm__tok_text(tok, id);
    n = tfm__tok_len(tok, id);
    type = tfm__tok_type(tok, id);
    if (type == TFM_TOKEN_CONTROL || type == TFM_TOKEN_UNKNOWN || type == TFM_TOKEN_UNUSED) return TFM_OK;
    if (type == TFM_TOKEN_BYTE) {
        *piece = &tok->byte_text[tfm__tok_byte_value(p, n)];
        *len = 1;
        return TFM_OK;
    }
    /* the space a SentencePiece or WordPiece word starts with is not text after BOS ([CLS]), nor at
       the start of WordPiece text */
    if (tok->kind != TFM_TOKENIZER_BPE && n > 0 && p[0] == ' ' &&
        ((prev_id >= 0 && prev_id == tok->special[TFM_SPECIAL_BOS]) || (tok->kind == TFM_TOKENIZER_WPM && prev_id < 0))) {
        p++;
        n--;
    }
    *piece = p;
    *len = n;
    return TFM_OK;
}

tfm_status tfm_tokenizer_decode_ids(const tfm_tokenizer *tok, const int *ids, int n, char *out, size_t cap, size_t *len)
{
    size_t total = 0;
    int i;
    if (len) *len = 0;
    if (!tok || !len || (!ids && n) || n < 0) return TFM_ERR_INVALID_ARGUMENT;
    for (i = 0; i < n; i++) {
        const char *piece;
        size_t m;
        tfm_status s = tfm_tokenizer_decode(tok, i > 0 ? ids[i - 1] : -1, ids[i], &piece, &m);
        if (s != TFM_OK) return s;
        if (out && total < cap) memcpy(out + total, piece, m < cap - total ? m : cap - total);
        total += m;
    }
    *len = total;
    if (!out) return TFM_OK;
    if (total < cap) {
        out[total] = '\0';
        return TFM_OK;
    }
    if (cap > 0) out[cap - 1] = '\0';
    return TFM_ERR_CONTEXT_FULL;
}

void tfm_token_stream_init(tfm_token_stream *stream)
{
    if (!stream) return;
    memset(stream, 0, sizeof *stream);
    stream->prev_id = -1;
}

/* Bytes of the UTF-8 sequence lead byte b starts (as tfm__utf8_decode reads it), 0 for none. */
static size_t tfm__utf8_lead_len(unsigned char b)
{
    return b < 0x80 ? 1 : b < 0xc0 || b >= 0xf8 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

tfm_status tfm_token_stream_push(tfm_token_stream *stream, const tfm_tokenizer *tok, int id, char *out, size_t cap,
                                 size_t *len)
{
    const char *piece;
    size_t n, total, start, keep, k;
    tfm_status s;
    if (len) *len = 0;
    if (!stream || !len || (!out && cap) || stream->n_held < 0 || stream->n_held > 3) return TFM_ERR_INVALID_ARGUMENT;
    if ((s = tfm_tokenizer_decode(tok, stream->prev_id, id, &piece, &n)) != TFM_OK) return s;
    total = (size_t)stream->n_held + n;
#define TFM__STREAM_BYTE(i) ((i) < (size_t)stream->n_held ? stream->held[i] : (unsigned char)piece[(i) - (size_t)stream->n_held])
    /* the last character's start: back over at most 3 continuation bytes */
    for (start = total; start > 0 && total - start < 3 && (TFM__STREAM_BYTE(start - 1) & 0xc0) == 0x80; start--) {
    }
    keep = 0;
    if (start > 0) {
        size_t need = tfm__utf8_lead_len(TFM__STREAM_BYTE(start - 1));
        if (need > 1 && total - (start - 1) < need) keep = total - (start - 1); /* unfinished: hold it back */
    }
    if (total - keep > cap) {
        *len = total - keep;
        return TFM_ERR_CONTEXT_FULL;
    }
    for (k = 0; k < total - keep; k++) out[k] = (char)TFM__STREAM_BYTE(k);
    {
        unsigned char tail[4];
        for (k = 0; k < keep; k++) tail[k] = TFM__STREAM_BYTE(total - keep + k);
        memcpy(stream->held, tail, keep);
    }
#undef TFM__STREAM_BYTE
    stream->n_held = (int)keep;
    stream->prev_id = id;
    *len = total - keep;
    return TFM_OK;
}

tfm_status tfm_token_stream_flush(tfm_token_stream *stream, char *out, size_t cap, size_t *len)
{
    if (len) *len = 0;
    if (!stream || !len || (!out && cap) || stream->n_held < 0 || stream->n_held > 3) return TFM_ERR_INVALID_ARGUMENT;
    if ((size_t)stream->n_held > cap) {
        *len = (size_t)stream->n_held;
        return TFM_ERR_CONTEXT_FULL;
    }
    if (stream->n_held) memcpy(out, stream->held, (size_t)stream->n_held);
    *len = (size_t)stream->n_held;
    stream->n_held = 0;
    return TFM_OK;
}

int tfm_tokenizer_piece_printable(const char *piece, size_t len)
{
    unsigned char c;
    if (!piece || len == 0) return 0;
    if (len > 1) return 1;
    c = (unsigned char)piece[0];
    return c >= 0x20 ? c != 0x7f : (c >= '\t' && c <= '\r');
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

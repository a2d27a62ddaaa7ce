/* tfm_chat.h - chat templates of tfm: a conversation of {role, content} messages to the prompt text.
   MIT or public domain, your choice: see the end of this file (and LICENSE).

   WHAT IS HERE
     Instruction-tuned models read a conversation written in their family's format. Hugging Face ships
     that format as a Jinja program (tokenizer_config.json's chat_template, copied into GGUF files as
     tokenizer.chat_template). tfm runs no Jinja: it recognises the family from marker strings in the
     program (the list below, the markers llama.cpp's llm_chat_detect_template looks for) and renders
     the conversation from one table row per family. An unrecognised program is an error that lists
     the names a caller may give instead, never a guess. Pure text: no tensors, no tokenizer.

   USAGE
       const tfm_chat_template *t;
       tfm_chat_message msgs[2] = {{"system", "You are terse."}, {"user", "Hi!"}};
       char text[512]; size_t len; tfm_error err;
       if (tfm_chat_template_find(tfm_model_chat_template(model), &t, &err) != TFM_OK) ...  (or "chatml")
       tfm_chat_render(t, msgs, 2, TFM_CHAT_ADD_ASSISTANT, text, sizeof text, &len, &err);
       -> "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
     Encode the text with the tokenizer's special tokens parsed (the markers are control tokens) and its
     own add-BOS rule: the family's leading BOS is left out of the text unless TFM_CHAT_BOS is given.

   FAMILIES (name: the models that ship it; the markers that select it, checked in this order)
     chatml             Qwen 2/2.5/3, SmolLM2, OpenHermes: "<|im_start|>" (without "<|im_sep|>", Phi-4's)
     mistral-v7         Mistral Large 2411: "[INST]" and "[SYSTEM_PROMPT]"
     mistral-v1         Mistral 7B v0.2/v0.3 "v1": "[INST]" and "' [INST] ' + system_message" or
                        "[AVAILABLE_TOOLS]", with " [INST]"
     mistral-v3-tekken  Mistral Nemo: the same with "\"[INST]\""
     mistral-v3         Mistral Large 2407, Mixtral 8x22B: the same otherwise
     llama2             Llama 2 chat: "[INST]" and "<<SYS>>", "bos_token + '[INST]" or "content.strip()"
     mistral            Mistral 7B v0.1/v0.2 (before "v1"): "[INST]" otherwise
     phi3               Phi-3, Phi-3.5: "<|assistant|>" and "<|end|>"
     gemma              Gemma, Gemma 2, Gemma 3: "<start_of_turn>"
     llama3             Llama 3, 3.1, 3.2, 3.3: "<|start_header_id|>" and "<|end_header_id|>"
     A text that is exactly one of the names selects that family.

   WHAT A FAMILY RENDERS (as its published template; where tfm decides, it says so)
     chatml       <|im_start|>ROLE\nCONTENT<|im_end|>\n per message; prompt <|im_start|>assistant\n.
                  Qwen 2.5 inserts a default system message when there is none; tfm does not (Qwen 3's
                  template does not either).
     llama3       <|begin_of_text|> once, then <|start_header_id|>ROLE<|end_header_id|>\n\nTRIM(CONTENT)
                  <|eot_id|>; prompt <|start_header_id|>assistant<|end_header_id|>\n\n. (Llama 3.1's
                  "Cutting Knowledge Date" system preamble is not added.)
     gemma        <bos> once, then <start_of_turn>ROLE\nTRIM(CONTENT)<end_of_turn>\n with assistant named
                  "model"; prompt <start_of_turn>model\n. A system message goes in front of the first
                  user message followed by \n\n (Gemma 3's rule; Gemma 2's template refuses one).
     phi3         <s> once (Phi-3-mini's template), then <|ROLE|>\nCONTENT<|end|>\n; prompt <|assistant|>\n.
                  A system message is a <|system|> turn (Phi-3.5's rule; Phi-3-mini's template drops it).
     llama2       <s>[INST] STRIP(CONTENT) [/INST] per user message (a first system message goes in
                  front of the first user's content as <<SYS>>\nSYSTEM\n<</SYS>>\n\n), " STRIP(CONTENT) </s>"
                  per answer.
     mistral      <s> once, [INST] CONTENT [/INST] per user, CONTENT</s> per answer; a system message goes
                  in front of the first user message followed by \n\n (the template itself refuses one).
     mistral-v1   <s> once, " [INST] CONTENT [/INST]" per user (system in front of the first, + \n\n),
                  " CONTENT</s>" per answer.
     mistral-v3   <s> once, [INST] CONTENT[/INST] per user (system in front of the LAST user message,
                  + \n\n), " TRIM(CONTENT)</s>" per answer.
     mistral-v3-tekken  as v3 without the spaces: [INST]CONTENT[/INST], CONTENT</s>, no trim.
     mistral-v7   <s> once, [SYSTEM_PROMPT] CONTENT[/SYSTEM_PROMPT], [INST] CONTENT[/INST], " CONTENT</s>".
     The [INST] families have no generation prompt (the text ends with the user's [/INST]), accept only
     system, user and assistant, a system message only first; llama2, the mistral family but v7 and
     gemma want user and assistant to alternate after it, as their templates do (else an error).
     TRIM/STRIP remove leading and trailing whitespace as Python's str.strip() (Jinja's trim): ASCII
     whitespace, \x1c-\x1f and the Unicode spaces.
*/
#ifndef TFM_CHAT_H
#define TFM_CHAT_H

#include "tfm_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One message: role "system", "user", "assistant" (or another name the family prints, such as "tool"),
   and its text (NUL-terminated UTF-8). */
typedef struct tfm_chat_message {
    const char *role;
    const char *content;
} tfm_chat_message;

/* A family's format: one row of a static table, never freed. */
typedef struct tfm_chat_template tfm_chat_template;

/* flags of tfm_chat_render */
#define TFM_CHAT_ADD_ASSISTANT 1u /* end with the opening of the assistant's answer (the generation prompt) */
#define TFM_CHAT_BOS 2u           /* write the family's leading BOS text, as its Jinja template does */

/* The family named by `text` ("chatml", ...) or, failing that, recognised in a Jinja chat template by
   its markers (see FAMILIES). text NULL or unrecognised: TFM_ERR_UNSUPPORTED, *out NULL, and err says
   which names exist. */
TFM_API tfm_status tfm_chat_template_find(const char *text, const tfm_chat_template **out, tfm_error *err);
/* The i-th family of the table (0..), NULL past the last: for listing them. */
TFM_API const tfm_chat_template *tfm_chat_template_at(int i);
TFM_API const char *tfm_chat_template_name(const tfm_chat_template *t);

/* Writes the conversation as family t formats it into out (cap bytes, NUL-terminated when it fits) and
   its length to *len. out NULL: only measures. Too small: writes what fits and returns
   TFM_ERR_CONTEXT_FULL. A conversation the family's template refuses (a role it does not know, roles not
   alternating, a system message not first) is TFM_ERR_INVALID_ARGUMENT with the reason in err. */
TFM_API tfm_status tfm_chat_render(const tfm_chat_template *t, const tfm_chat_message *messages, int n_messages,
                                   unsigned flags, char *out, size_t cap, size_t *len, tfm_error *err);

#ifdef __cplusplus
}
#endif

#endif /* TFM_CHAT_H */

/* ================================================================================================ */
#if defined(TFM_IMPLEMENTATION) && !defined(TFM_CHAT_IMPLEMENTATION_DONE)
#define TFM_CHAT_IMPLEMENTATION_DONE

#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a family puts a system message given first. */
enum {
    TFM__CHAT_SYSTEM_TURN,       /* a turn of its own */
    TFM__CHAT_SYSTEM_FIRST_USER, /* merged in front of the first user message */
    TFM__CHAT_SYSTEM_LAST_USER   /* merged in front of the last user message (Mistral v3) */
};

/* Which contents are trimmed (bits), and whether the system text merged into a user message is
   trimmed with it (Llama 2 strips the merged whole) or kept as is in front of the trimmed content. */
enum { TFM__CHAT_TRIM_USER = 1, TFM__CHAT_TRIM_ASSISTANT = 2, TFM__CHAT_TRIM_SYSTEM = 4, TFM__CHAT_TRIM_MERGED = 8 };
#define TFM__CHAT_TRIM_ALL (TFM__CHAT_TRIM_USER | TFM__CHAT_TRIM_ASSISTANT | TFM__CHAT_TRIM_SYSTEM)

/* One family. A turn is open + content + close. With header_open set, a turn of any role opens with
   header_open ROLE header_close (assistant spelled assistant_name); without, roles are system, user and
   assistant with the open strings of the row. */
struct tfm_chat_template {
    const char *name;
    const char *bos;              /* the family's BOS text, "" none */
    int bos_each_user;            /* BOS before every user turn (Llama 2), else once at the start */
    const char *header_open, *header_close, *assistant_name;
    const char *system_open, *user_open, *assistant_open;
    const char *system_close, *user_close, *assistant_close;
    int system_mode;
    const char *merge_open, *merge_close; /* around a system text merged into a user message */
    int trim;
    int alternate;                /* user and assistant must alternate (after a first system message) */
    const char *generation_prompt; /* NULL: the text already ends where the answer starts */
};

static const tfm_chat_template tfm__chat_templates[] = {
    {"chatml", "", 0, "<|im_start|>", "\n", "assistant", NULL, NULL, NULL, "<|im_end|>\n", "<|im_end|>\n",
     "<|im_end|>\n", TFM__CHAT_SYSTEM_TURN, NULL, NULL, 0, 0, "<|im_start|>assistant\n"},
    {"llama3", "<|begin_of_text|>", 0, "<|start_header_id|>", "<|end_header_id|>\n\n", "assistant", NULL, NULL, NULL,
     "<|eot_id|>", "<|eot_id|>", "<|eot_id|>", TFM__CHAT_SYSTEM_TURN, NULL, NULL, TFM__CHAT_TRIM_ALL, 0,
     "<|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"gemma", "<bos>", 0, "<start_of_turn>", "\n", "model", NULL, NULL, NULL, "<end_of_turn>\n", "<end_of_turn>\n",
     "<end_of_turn>\n", TFM__CHAT_SYSTEM_FIRST_USER, "", "\n\n", TFM__CHAT_TRIM_ALL, 1, "<start_of_turn>model\n"},
    {"phi3", "<s>", 0, "<|", "|>\n", "assistant", NULL, NULL, NULL, "<|end|>\n", "<|end|>\n", "<|end|>\n",
     TFM__CHAT_SYSTEM_TURN, NULL, NULL, 0, 0, "<|assistant|>\n"},
    {"llama2", "<s>", 1, NULL, NULL, NULL, NULL, "[INST] ", " ", NULL, " [/INST]", " </s>",
     TFM__CHAT_SYSTEM_FIRST_USER, "<<SYS>>\n", "\n<</SYS>>\n\n", TFM__CHAT_TRIM_USER | TFM__CHAT_TRIM_ASSISTANT |
     TFM__CHAT_TRIM_MERGED, 1, NULL},
    {"mistral", "<s>", 0, NULL, NULL, NULL, NULL, "[INST] ", "", NULL, " [/INST]", "</s>", TFM__CHAT_SYSTEM_FIRST_USER,
     "", "\n\n", 0, 1, NULL},
    {"mistral-v1", "<s>", 0, NULL, NULL, NULL, NULL, " [INST] ", " ", NULL, " [/INST]", "</s>",
     TFM__CHAT_SYSTEM_FIRST_USER, "", "\n\n", 0, 1, NULL},
    {"mistral-v3", "<s>", 0, NULL, NULL, NULL, NULL, "[INST] ", " ", NULL, "[/INST]", "</s>", TFM__CHAT_SYSTEM_LAST_USER,
     "", "\n\n", TFM__CHAT_TRIM_ASSISTANT, 1, NULL},
    {"mistral-v3-tekken", "<s>", 0, NULL, NULL, NULL, NULL, "[INST]", "", NULL, "[/INST]", "</s>",
     TFM__CHAT_SYSTEM_LAST_USER, "", "\n\n", 0, 1, NULL},
    {"mistral-v7", "<s>", 0, NULL, NULL, NULL, "[SYSTEM_PROMPT] ", "[INST] ", " ", "[/SYSTEM_PROMPT]", "[/INST]", "</s>",
     TFM__CHAT_SYSTEM_TURN, NULL, NULL, 0, 0, NULL},
};

#define TFM__CHAT_N_TEMPLATES ((int)(sizeof tfm__chat_templates / sizeof tfm__chat_templates[0]))

static const tfm_chat_template *tfm__chat_named(const char *name)
{
    int i;
    for (i = 0; i < TFM__CHAT_N_TEMPLATES; i++)
        if (strcmp(tfm__chat_templates[i].name, name) == 0) return &tfm__chat_templates[i];
    return NULL;
}

/* The markers, in the order of the FAMILIES list; NULL when none matches. */
static const tfm_chat_template *tfm__chat_detect(const char *t)
{
#define TFM__HAS(s) (strstr(t, s) != NULL)
    if (TFM__HAS("<|im_start|>")) return TFM__HAS("<|im_sep|>") ? NULL : tfm__chat_named("chatml");
    if (TFM__HAS("[INST]")) {
        if (TFM__HAS("[SYSTEM_PROMPT]")) return tfm__chat_named("mistral-v7");
        if (TFM__HAS("' [INST] ' + system_message") || TFM__HAS("[AVAILABLE_TOOLS]")) {
            if (TFM__HAS(" [INST]")) return tfm__chat_named("mistral-v1");
            if (TFM__HAS("\"[INST]\"")) return tfm__chat_named("mistral-v3-tekken");
            return tfm__chat_named("mistral-v3");
        }
        if (TFM__HAS("<<SYS>>") || TFM__HAS("bos_token + '[INST]") || TFM__HAS("content.strip()"))
            return tfm__chat_named("llama2");
        return tfm__chat_named("mistral");
    }
    if (TFM__HAS("<|assistant|>") && TFM__HAS("<|end|>")) return tfm__chat_named("phi3");
    if (TFM__HAS("<start_of_turn>")) return tfm__chat_named("gemma");
    if (TFM__HAS("<|start_header_id|>") && TFM__HAS("<|end_header_id|>")) return tfm__chat_named("llama3");
    return NULL;
#undef TFM__HAS
}

tfm_status tfm_chat_template_find(const char *text, const tfm_chat_template **out, tfm_error *err)
{
    const tfm_chat_template *t = NULL;
    char names[256];
    size_t used = 0;
    int i;
    tfm_error_clear(err);
    if (!out) return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "no output template given");
    if (text) t = tfm__chat_named(text);
    if (text && !t) t = tfm__chat_detect(text);
    *out = t;
    if (t) return TFM_OK;
    names[0] = '\0';
    for (i = 0; i < TFM__CHAT_N_TEMPLATES; i++) {
        int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", tfm__chat_templates[i].name);
        if (n > 0 && (size_t)n < sizeof names - used) used += (size_t)n;
    }
    if (!text) return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "no chat template (the model has none): name one of %s", names);
    return tfm_error_set(err, TFM_ERR_UNSUPPORTED, "chat template not recognised (\"%.40s%s\"): name one of %s", text,
                         strlen(text) > 40 ? "..." : "", names);
}

const tfm_chat_template *tfm_chat_template_at(int i)
{
    return i >= 0 && i < TFM__CHAT_N_TEMPLATES ? &tfm__chat_templates[i] : NULL;
}

const char *tfm_chat_template_name(const tfm_chat_template *t) { return t ? t->name : NULL; }

/* ---------------------------------------------------------------- rendering */

/* Output written so far: bytes past cap are counted, not written. */
typedef struct tfm__chat_out {
    char *buf;
    size_t cap, len;
} tfm__chat_out;

static void tfm__chat_put(tfm__chat_out *o, const char *s, size_t n)
{
    if (o->buf && o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void tfm__chat_puts(tfm__chat_out *o, const char *s)
{
    if (s) tfm__chat_put(o, s, strlen(s));
}

/* Length of the whitespace character at s (n bytes left) by Python's str.isspace, else 0. */
static size_t tfm__chat_space(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp;
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c == 0xc2 && n >= 2) return s[1] == 0x85 || s[1] == 0xa0 ? 2 : 0;
    if (c == 0xe1 && n >= 3) return s[1] == 0x9a && s[2] == 0x80 ? 3 : 0; /* U+1680 */
    if ((c == 0xe2 || c == 0xe3) && n >= 3 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
        cp = (c & 0x0f) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
        if ((cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
            cp == 0x3000)
            return 3;
    }
    return 0;
}

/* [*begin, *end) without its leading (left) and trailing (right) whitespace. */
static void tfm__chat_trim(const char **begin, const char **end, int left, int right)
{
    const unsigned char *b = (const unsigned char *)*begin, *e = (const unsigned char *)*end;
    size_t k;
    while (left && b < e && (k = tfm__chat_space(b, (size_t)(e - b))) > 0) b += k;
    while (right && e > b) {
        /* the last character starts at most 3 bytes back */
        const unsigned char *c = e - 1;
        while (c > b && (*c & 0xc0) == 0x80 && e - c < 4) c--;
        if ((k = tfm__chat_space(c, (size_t)(e - c))) == 0 || c + k != e) break;
        e = c;
    }
    *begin = (const char *)b;
    *end = (const char *)e;
}

/* content, trimmed when `trim` */
static void tfm__chat_content(tfm__chat_out *o, const char *s, int trim)
{
    const char *b = s, *e = s + strlen(s);
    if (trim) tfm__chat_trim(&b, &e, 1, 1);
    tfm__chat_put(o, b, (size_t)(e - b));
}

enum { TFM__CHAT_SYSTEM, TFM__CHAT_USER, TFM__CHAT_ASSISTANT, TFM__CHAT_OTHER };

static int tfm__chat_role(const char *role)
{
    if (!strcmp(role, "system")) return TFM__CHAT_SYSTEM;
    if (!strcmp(role, "user")) return TFM__CHAT_USER;
    if (!strcmp(role, "assistant")) return TFM__CHAT_ASSISTANT;
    return TFM__CHAT_OTHER;
}

/* The roles the family accepts, in the order it accepts them. */
static tfm_status tfm__chat_check(const tfm_chat_template *t, const tfm_chat_message *m, int n, tfm_error *err)
{
    int i, first = n > 0 && tfm__chat_role(m[0].role) == TFM__CHAT_SYSTEM ? 1 : 0;
    for (i = 0; i < n; i++) {
        int role = tfm__chat_role(m[i].role);
        if (role == TFM__CHAT_OTHER && !t->header_open)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                                 "message %d: role '%.32s' is not one the %s template knows (system, user, assistant)",
                                 i, m[i].role, t->name);
        if (role == TFM__CHAT_SYSTEM && i > 0 && t->system_mode != TFM__CHAT_SYSTEM_TURN)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                                 "message %d: the %s template takes a system message only first", i, t->name);
        if (t->alternate && i >= first && (role == TFM__CHAT_USER) != ((i - first) % 2 == 0))
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT,
                                 "message %d: the %s template wants user and assistant messages to alternate, "
                                 "starting with the user (after an optional system message)",
                                 i, t->name);
    }
    return TFM_OK;
}

tfm_status tfm_chat_render(const tfm_chat_template *t, const tfm_chat_message *m, int n, unsigned flags, char *out,
                           size_t cap, size_t *len, tfm_error *err)
{
    tfm__chat_out o;
    const char *system = NULL;
    int i, first = 0, merge_into = -1;
    tfm_status s;
    tfm_error_clear(err);
    if (len) *len = 0;
    if (!t || !len || n < 0 || (n > 0 && !m) || (out && cap == 0))
        return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "tfm_chat_render: no template, no messages or no room");
    for (i = 0; i < n; i++)
        if (!m[i].role || !m[i].content)
            return tfm_error_set(err, TFM_ERR_INVALID_ARGUMENT, "message %d has no role or no content", i);
    s = tfm__chat_check(t, m, n, err);
    if (s != TFM_OK) return s;
    o.buf = out;
    o.cap = cap ? cap - 1 : 0; /* room for the NUL */
    o.len = 0;

    /* a system message the family merges into a user message: the first one, or the last message when
       it is the user's (Mistral v3; a conversation ending with an answer drops it, as the template does) */
    if (n > 0 && t->system_mode != TFM__CHAT_SYSTEM_TURN && tfm__chat_role(m[0].role) == TFM__CHAT_SYSTEM) {
        system = m[0].content;
        first = 1;
        if (t->system_mode == TFM__CHAT_SYSTEM_LAST_USER) merge_into = n - 1 > 0 && tfm__chat_role(m[n - 1].role) == TFM__CHAT_USER ? n - 1 : -1;
        else
            for (i = 1; i < n && merge_into < 0; i++)
                if (tfm__chat_role(m[i].role) == TFM__CHAT_USER) merge_into = i;
    }
    if (!t->bos_each_user && (flags & TFM_CHAT_BOS)) tfm__chat_puts(&o, t->bos);
    for (i = first; i < n; i++) {
        int role = tfm__chat_role(m[i].role), trim;
        const char *close;
        trim = t->trim & (role == TFM__CHAT_USER ? TFM__CHAT_TRIM_USER
                          : role == TFM__CHAT_ASSISTANT ? TFM__CHAT_TRIM_ASSISTANT
                          : role == TFM__CHAT_SYSTEM ? TFM__CHAT_TRIM_SYSTEM : TFM__CHAT_TRIM_USER);
        if (role == TFM__CHAT_USER && t->bos_each_user && (o.len > 0 || (flags & TFM_CHAT_BOS))) tfm__chat_puts(&o, t->bos);
        if (t->header_open) {
            tfm__chat_puts(&o, t->header_open);
            tfm__chat_puts(&o, role == TFM__CHAT_ASSISTANT ? t->assistant_name : m[i].role);
            tfm__chat_puts(&o, t->header_close);
        } else
            tfm__chat_puts(&o, role == TFM__CHAT_USER ? t->user_open : role == TFM__CHAT_ASSISTANT ? t->assistant_open
                                                                                                 : t->system_open);
        if (i == merge_into) {
            const char *b = m[i].content, *e = b + strlen(b);
            if (t->trim & TFM__CHAT_TRIM_MERGED) {
                /* Llama 2 strips the merged text as a whole: it starts with the <<SYS>> marker, so only its
                   end is stripped, into the marker's closing when the user's content is all whitespace */
                const char *cb = t->merge_close, *ce = cb + strlen(cb);
                tfm__chat_trim(&b, &e, 0, 1);
                if (e == b) tfm__chat_trim(&cb, &ce, 0, 1);
                tfm__chat_puts(&o, t->merge_open);
                tfm__chat_puts(&o, system);
                tfm__chat_put(&o, cb, (size_t)(ce - cb));
            } else {
                if (trim) tfm__chat_trim(&b, &e, 1, 1);
                tfm__chat_puts(&o, t->merge_open);
                tfm__chat_puts(&o, system);
                tfm__chat_puts(&o, t->merge_close);
            }
            tfm__chat_put(&o, b, (size_t)(e - b));
        } else
            tfm__chat_content(&o, m[i].content, trim);
        close = role == TFM__CHAT_ASSISTANT ? t->assistant_close : role == TFM__CHAT_SYSTEM ? t->system_close
                                                                                            : t->user_close;
        tfm__chat_puts(&o, close);
    }
    if ((flags & TFM_CHAT_ADD_ASSISTANT) && t->generation_prompt) tfm__chat_puts(&o, t->generation_prompt);
    *len = o.len;
    if (out) out[o.len < o.cap ? o.len : o.cap] = '\0';
    if (out && o.len > o.cap)
        return tfm_error_set(err, TFM_ERR_CONTEXT_FULL, "the conversation takes %zu bytes, the buffer has %zu", o.len + 1,
                             cap);
    return TFM_OK;
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

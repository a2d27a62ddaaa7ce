/* test_chat.c - chat templates (tfm_chat.h): every family renders known conversations to the strings its
   published Jinja template produces, and real templates are recognised by their markers.

   The expected strings are written here by hand from the published templates (tokenizer_config.json's
   chat_template of the models named at each case: Qwen2.5/Qwen3, Meta-Llama-3-8B-Instruct,
   gemma-2-2b-it / gemma-3, Phi-3-mini-4k-instruct / Phi-3.5-mini-instruct, Llama-2-7b-chat-hf,
   Mistral-7B-Instruct-v0.1/v0.2/v0.3, Mistral-Large-Instruct-2407/2411, Mistral-Nemo-Instruct-2407),
   evaluated by reading them, not by the code under test. They were checked once against the templates
   themselves, rendered by Python's jinja2 3.1 (bos_token as in the strings, eos_token "</s>",
   add_generation_prompt true): the llama3, phi-3 and qwen3 templates of ../shared/vocab, gemma-2-2b-it,
   Phi-3.5-mini, Qwen2.5 and Mistral-Nemo from llama.cpp's models/templates, Llama-2-chat's and the
   Mistral ones as published; every string below but Gemma 3's was reproduced exactly. */
#include "tfm_test.h"

#include "tfm_chat.h"
#include "tfm_gguf.h"

/* The conversation most cases render: a system message, a question, an answer with spaces around it
   (which some families trim), a second question. */
static const tfm_chat_message conversation[] = {
    {"system", "You are a helpful assistant."},
    {"user", "Hello!"},
    {"assistant", "  Hi there.  "},
    {"user", "What is 2+2?"},
};

/* Renders messages with family `name` and flags and compares with want (NULL: expects status `fails`). */
static int render_is(const char *name, const tfm_chat_message *m, int n, unsigned flags, const char *want)
{
    const tfm_chat_template *t;
    char out[2048];
    size_t len = 12345, measured = 0;
    tfm_error err;
    if (tfm_chat_template_find(name, &t, &err) != TFM_OK) {
        fprintf(stderr, "  template %s: %s\n", name, err.message);
        return 0;
    }
    if (tfm_chat_render(t, m, n, flags, out, sizeof out, &len, &err) != TFM_OK) {
        fprintf(stderr, "  %s: %s\n", name, err.message);
        return 0;
    }
    if (strcmp(out, want) != 0 || len != strlen(want)) {
        fprintf(stderr, "  %s rendered\n    \"%s\"\n  want\n    \"%s\"\n", name, out, want);
        return 0;
    }
    /* measuring gives the same length */
    if (tfm_chat_render(t, m, n, flags, NULL, 0, &measured, &err) != TFM_OK || measured != len) return 0;
    return 1;
}

#define BOTH (TFM_CHAT_BOS | TFM_CHAT_ADD_ASSISTANT)

static void test_chatml(void)
{
    /* Qwen2.5 (a system message given, so no default one) and Qwen3 render this alike */
    TT_CHECK(render_is("chatml", conversation, 4, BOTH,
                       "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                       "<|im_start|>user\nHello!<|im_end|>\n"
                       "<|im_start|>assistant\n  Hi there.  <|im_end|>\n"
                       "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                       "<|im_start|>assistant\n"));
    /* no generation prompt; another role is printed by name */
    {
        tfm_chat_message m[2] = {{"user", "x"}, {"tool", "42"}};
        TT_CHECK(render_is("chatml", m, 2, TFM_CHAT_BOS, "<|im_start|>user\nx<|im_end|>\n<|im_start|>tool\n42<|im_end|>\n"));
    }
}

static void test_llama3(void)
{
    TT_CHECK(render_is("llama3", conversation, 4, BOTH,
                       "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\nHi there.<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n"));
    /* without TFM_CHAT_BOS the tokenizer adds BOS itself; trim is Python's strip: U+00A0 and U+3000 go,
       U+200B (not whitespace to Python) stays */
    {
        tfm_chat_message m[1] = {{"user", "\xc2\xa0 \t\n Hi \xe2\x80\x8b\xe3\x80\x80 \n"}};
        TT_CHECK(render_is("llama3", m, 1, TFM_CHAT_ADD_ASSISTANT,
                           "<|start_header_id|>user<|end_header_id|>\n\nHi \xe2\x80\x8b<|eot_id|>"
                           "<|start_header_id|>assistant<|end_header_id|>\n\n"));
    }
}

static void test_gemma(void)
{
    /* gemma-2-2b-it: no system message */
    TT_CHECK(render_is("gemma", conversation + 1, 3, BOTH,
                       "<bos><start_of_turn>user\nHello!<end_of_turn>\n"
                       "<start_of_turn>model\nHi there.<end_of_turn>\n"
                       "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n"
                       "<start_of_turn>model\n"));
    /* gemma-3: the system message and a blank line open the first user turn */
    TT_CHECK(render_is("gemma", conversation, 4, BOTH,
                       "<bos><start_of_turn>user\nYou are a helpful assistant.\n\nHello!<end_of_turn>\n"
                       "<start_of_turn>model\nHi there.<end_of_turn>\n"
                       "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n"
                       "<start_of_turn>model\n"));
}

static void test_phi3(void)
{
    /* Phi-3-mini-4k-instruct's template (the one in ../shared's phi-3 GGUFs) */
    TT_CHECK(render_is("phi3", conversation + 1, 3, BOTH,
                       "<s><|user|>\nHello!<|end|>\n<|assistant|>\n  Hi there.  <|end|>\n"
                       "<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n"));
    /* Phi-3.5-mini-instruct's (no BOS, a system turn) */
    TT_CHECK(render_is("phi3", conversation, 4, TFM_CHAT_ADD_ASSISTANT,
                       "<|system|>\nYou are a helpful assistant.<|end|>\n<|user|>\nHello!<|end|>\n"
                       "<|assistant|>\n  Hi there.  <|end|>\n<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n"));
}

static void test_llama2(void)
{
    TT_CHECK(render_is("llama2", conversation, 4, BOTH,
                       "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello! [/INST] Hi there. </s>"
                       "<s>[INST] What is 2+2? [/INST]"));
    /* the leading BOS is left to the tokenizer, the one of the second turn is not */
    TT_CHECK(render_is("llama2", conversation, 4, TFM_CHAT_ADD_ASSISTANT,
                       "[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello! [/INST] Hi there. </s>"
                       "<s>[INST] What is 2+2? [/INST]"));
    /* strip() of the merged text: the user's leading spaces stay after <<SYS>>; without a system message
       they go; a blank user message strips into the marker's closing */
    {
        tfm_chat_message m[2] = {{"system", "S"}, {"user", "  Hello \n"}};
        tfm_chat_message blank[2] = {{"system", "S"}, {"user", " \n "}};
        TT_CHECK(render_is("llama2", m, 2, BOTH, "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\n  Hello [/INST]"));
        TT_CHECK(render_is("llama2", m + 1, 1, BOTH, "<s>[INST] Hello [/INST]"));
        TT_CHECK(render_is("llama2", blank, 2, BOTH, "<s>[INST] <<SYS>>\nS\n<</SYS>> [/INST]"));
    }
}

static void test_mistral(void)
{
    /* Mistral-7B-Instruct-v0.1/v0.2 before "v1" (its template refuses a system message) */
    TT_CHECK(render_is("mistral", conversation + 1, 3, BOTH,
                       "<s>[INST] Hello! [/INST]  Hi there.  </s>[INST] What is 2+2? [/INST]"));
    /* v0.2/v0.3 "v1": the system message opens the first user message */
    TT_CHECK(render_is("mistral-v1", conversation, 4, BOTH,
                       "<s> [INST] You are a helpful assistant.\n\nHello! [/INST]   Hi there.  </s>"
                       " [INST] What is 2+2? [/INST]"));
    /* Mistral-Large-Instruct-2407 "v3": the system message opens the LAST user message, answers trimmed */
    TT_CHECK(render_is("mistral-v3", conversation, 4, BOTH,
                       "<s>[INST] Hello![/INST] Hi there.</s>[INST] You are a helpful assistant.\n\nWhat is 2+2?[/INST]"));
    /* ... and disappears when the conversation ends with an answer */
    TT_CHECK(render_is("mistral-v3", conversation, 3, BOTH, "<s>[INST] Hello![/INST] Hi there.</s>"));
    /* Mistral-Nemo-Instruct-2407 "v3-tekken": no spaces, no trim */
    TT_CHECK(render_is("mistral-v3-tekken", conversation, 4, BOTH,
                       "<s>[INST]Hello![/INST]  Hi there.  </s>[INST]You are a helpful assistant.\n\nWhat is 2+2?[/INST]"));
    /* Mistral-Large-Instruct-2411 "v7": a system turn of its own */
    TT_CHECK(render_is("mistral-v7", conversation, 4, BOTH,
                       "<s>[SYSTEM_PROMPT] You are a helpful assistant.[/SYSTEM_PROMPT][INST] Hello![/INST]   Hi there.  </s>"
                       "[INST] What is 2+2?[/INST]"));
}

/* Conversations a template refuses, and buffers too small. */
static void test_refusals(void)
{
    const tfm_chat_template *t;
    tfm_chat_message not_alternating[2] = {{"user", "a"}, {"user", "b"}};
    tfm_chat_message starts_with_answer[2] = {{"assistant", "a"}, {"user", "b"}};
    tfm_chat_message tool[2] = {{"user", "a"}, {"tool", "b"}};
    tfm_chat_message late_system[3] = {{"user", "a"}, {"assistant", "b"}, {"system", "c"}};
    tfm_chat_message no_content[1] = {{"user", NULL}};
    char small[16];
    size_t len;
    tfm_error err;
    TT_CHECK(tfm_chat_template_find("gemma", &t, &err) == TFM_OK);
    TT_CHECK(tfm_chat_render(t, not_alternating, 2, 0, small, sizeof small, &len, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(strstr(err.message, "alternate") != NULL);
    TT_CHECK(tfm_chat_render(t, starts_with_answer, 2, 0, small, sizeof small, &len, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_chat_render(t, late_system, 3, 0, NULL, 0, &len, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_chat_template_find("mistral-v3", &t, &err) == TFM_OK);
    TT_CHECK(tfm_chat_render(t, tool, 2, 0, NULL, 0, &len, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(strstr(err.message, "tool") != NULL);
    TT_CHECK(tfm_chat_render(t, no_content, 1, 0, NULL, 0, &len, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_chat_render(NULL, tool, 1, 0, NULL, 0, &len, &err) == TFM_ERR_INVALID_ARGUMENT);
    /* chatml takes any order and any role */
    TT_CHECK(tfm_chat_template_find("chatml", &t, &err) == TFM_OK);
    TT_CHECK(tfm_chat_render(t, late_system, 3, 0, NULL, 0, &len, &err) == TFM_OK);
    /* too small: what fits, NUL-terminated, and the full length */
    TT_CHECK(tfm_chat_render(t, conversation, 4, BOTH, small, sizeof small, &len, &err) == TFM_ERR_CONTEXT_FULL);
    TT_CHECK(len > sizeof small && strlen(small) == sizeof small - 1 && memcmp(small, "<|im_start|>sys", 15) == 0);
    /* an empty conversation is the generation prompt alone */
    TT_CHECK(tfm_chat_render(t, NULL, 0, BOTH, small, sizeof small, &len, &err) == TFM_ERR_CONTEXT_FULL);
    TT_CHECK(render_is("chatml", NULL, 0, 0, ""));
}

/* Real templates as published (shortened where the markers are untouched), and the names. */
static void test_detect(void)
{
    static const struct {
        const char *jinja, *want; /* want NULL: not recognised */
    } cases[] = {
        /* google/gemma-2-2b-it */
        {"{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
         "{% endif %}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
         "{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] "
         "| trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
         "gemma"},
        /* meta-llama/Llama-2-7b-chat-hf */
        {"{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
         "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
         "{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = "
         "'<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = "
         "message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + "
         "' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
         "{% endfor %}",
         "llama2"},
        /* mistralai/Mistral-7B-Instruct-v0.1 */
        {"{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
         "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
         "{% endif %}{% endfor %}",
         "mistral"},
        /* mistralai/Mistral-7B-Instruct-v0.2 (the "v1" update) */
        {"{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- endif %}"
         "{{- bos_token }}{%- for message in loop_messages %}{%- if loop.first and system_message is defined %}"
         "{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}{%- else %}"
         "{{- ' [INST] ' + message['content'] + ' [/INST]' }}{%- endif %}{%- endfor %}",
         "mistral-v1"},
        /* mistralai/Mistral-Large-Instruct-2407 */
        {"{{- bos_token }}{%- for message in loop_messages %}{%- if message[\"role\"] == \"user\" %}{%- if tools is not "
         "none and (message == user_messages[-1]) %}{{- \"[AVAILABLE_TOOLS] [\" }}{%- endif %}{%- if loop.last and "
         "system_message is defined %}{{- \"[INST] \" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}"
         "{%- else %}{{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}{%- endif %}{%- endif %}{%- endfor %}",
         "mistral-v3"},
        /* mistralai/Mistral-Nemo-Instruct-2407 */
        {"{{- bos_token }}{%- for message in loop_messages %}{{- \"[AVAILABLE_TOOLS][\" }}{%- if loop.last and "
         "system_message is defined %}{{- \"[INST]\" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}"
         "{%- endif %}{%- endfor %}",
         "mistral-v3-tekken"},
        /* mistralai/Mistral-Large-Instruct-2411 */
        {"{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] "
         "+ '[/INST]' }}{% elif message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + "
         "'[/SYSTEM_PROMPT]' }}{% endif %}{% endfor %}",
         "mistral-v7"},
        /* microsoft/Phi-3.5-mini-instruct */
        {"{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}{{'<|system|>\n' + "
         "message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + "
         "'<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}"
         "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
         "phi3"},
        /* HuggingFaceTB/SmolLM2-135M-Instruct */
        {"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
         "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' "
         "+ message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}",
         "chatml"},
        /* microsoft/phi-4 (ChatML with <|im_sep|>: not one of ours) */
        {"{% for message in messages %}{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}{% endfor %}",
         NULL},
        {"{{ messages }}", NULL},
        {"", NULL},
        {"mistral-v2", NULL},
    };
    const tfm_chat_template *t;
    tfm_error err;
    size_t i;
    int k;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tfm_status s = tfm_chat_template_find(cases[i].jinja, &t, &err);
        if (cases[i].want)
            TT_ASSERT(s == TFM_OK && !strcmp(tfm_chat_template_name(t), cases[i].want), "case %d: got %s, want %s",
                      (int)i, s == TFM_OK ? tfm_chat_template_name(t) : err.message, cases[i].want);
        else
            TT_ASSERT(s == TFM_ERR_UNSUPPORTED && !t && strstr(err.message, "chatml, llama3"), "case %d: %s", (int)i,
                      s == TFM_OK ? tfm_chat_template_name(t) : err.message);
    }
    TT_CHECK(tfm_chat_template_find(NULL, &t, &err) == TFM_ERR_UNSUPPORTED && strstr(err.message, "name one of"));
    /* every name finds its own row */
    for (k = 0; tfm_chat_template_at(k); k++) {
        TT_CHECK(tfm_chat_template_find(tfm_chat_template_name(tfm_chat_template_at(k)), &t, &err) == TFM_OK);
        TT_CHECK(t == tfm_chat_template_at(k));
    }
    TT_CHECK(k == 10 && tfm_chat_template_at(-1) == NULL);
}

/* The templates llama.cpp's converter wrote into the GGUF files of ../shared. */
static void test_detect_gguf(void)
{
    static const struct {
        const char *file, *want;
    } files[] = {
        {"vocab/ggml-vocab-llama3.gguf", "llama3"},
        {"vocab/ggml-vocab-phi-3.gguf", "phi3"},
        {"vocab/ggml-vocab-qwen3.gguf", "chatml"},
        {"archs/qwen2-shared.gguf", "chatml"},
    };
    size_t i;
    int found = 0;
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = tt_shared(files[i].file);
        const tfm_chat_template *t;
        tfm_gguf *g;
        tfm_error err;
        char *text;
        const char *str;
        size_t len;
        if (!path) continue;
        TT_ASSERT(tfm_gguf_open(&g, path, 0, &err) == TFM_OK, "%s: %s", path, err.message);
        TT_ASSERT(tfm_gguf_get_string(g, "tokenizer.chat_template", &str, &len, &err) == TFM_OK, "%s", err.message);
        text = (char *)malloc(len + 1);
        memcpy(text, str, len);
        text[len] = '\0';
        tfm_gguf_close(g);
        TT_ASSERT(tfm_chat_template_find(text, &t, &err) == TFM_OK && !strcmp(tfm_chat_template_name(t), files[i].want),
                  "%s: %s", files[i].file, t ? tfm_chat_template_name(t) : err.message);
        free(text);
        found++;
    }
    if (!found) TT_SKIP("no GGUF with a chat template in ../shared");
}

int main(void)
{
    TT_RUN(test_chatml);
    TT_RUN(test_llama3);
    TT_RUN(test_gemma);
    TT_RUN(test_phi3);
    TT_RUN(test_llama2);
    TT_RUN(test_mistral);
    TT_RUN(test_refusals);
    TT_RUN(test_detect);
    TT_RUN(test_detect_gguf);
    return tt_summary("chat");
}

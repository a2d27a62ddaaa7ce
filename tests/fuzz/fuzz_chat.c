/* fuzz_chat.c - chat template text (a GGUF file's tokenizer.chat_template is the file's text) through
   tfm_chat_template_find, and a conversation through tfm_chat_render. The input: one byte of flags (bits
   0-1: TFM_CHAT_ADD_ASSISTANT, TFM_CHAT_BOS; bit 7: the family is the next byte's row of the table
   instead of the one the template text names), then NUL-separated strings: the template text, then
   role, content, role, content, ... Properties (besides the sanitizers'): a failure gives a printable
   one-line message (and find no family); a render measures what it writes, a buffer too small gets a
   NUL-terminated prefix and TFM_ERR_CONTEXT_FULL; chatml gives exactly its format (every byte of each
   message in place). */
#define TFM_IMPLEMENTATION
#include "tfm_chat.h"

#include "fuzz.h"

#define MAX_MESSAGES 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

/* The chatml text of the conversation, as tfm_chat.h documents it. */
static int chatml_matches(const tfm_chat_message *m, int n, unsigned flags, const char *out, size_t len)
{
    size_t at = 0, k;
    int i;
#define EXPECT(s)                                                   \
    do {                                                            \
        k = strlen(s);                                              \
        if (at + k > len || memcmp(out + at, (s), k) != 0) return 0; \
        at += k;                                                    \
    } while (0)
    for (i = 0; i < n; i++) {
        EXPECT("<|im_start|>");
        EXPECT(m[i].role);
        EXPECT("\n");
        EXPECT(m[i].content);
        EXPECT("<|im_end|>\n");
    }
    if (flags & TFM_CHAT_ADD_ASSISTANT) EXPECT("<|im_start|>assistant\n");
#undef EXPECT
    return at == len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = (char *)malloc(size + 2), *p, *end;
    tfm_chat_message messages[MAX_MESSAGES];
    const tfm_chat_template *t = NULL;
    unsigned flags;
    size_t len = 0, got = 0, small;
    char *out = NULL;
    int n = 0, count;
    tfm_error err;
    tfm_status s;
    if (!text || size < 2) goto done;
    flags = data[0] & 3u;
    /* every string NUL-terminated, the last one too */
    memcpy(text, data + 2, size - 2);
    text[size - 2] = '\0', text[size - 1] = '\0';
    end = text + size - 2;
    if (data[0] & 0x80) {
        for (count = 0; tfm_chat_template_at(count); count++) {}
        t = tfm_chat_template_at(data[1] % count);
        FUZZ_CHECK(t && tfm_chat_template_find(tfm_chat_template_name(t), &t, &err) == TFM_OK);
    } else {
        s = tfm_chat_template_find(text, &t, &err);
        fuzz_check_message(&err, s);
        FUZZ_CHECK((s == TFM_OK) == (t != NULL));
        if (s != TFM_OK) goto done;
    }
    for (p = text + strlen(text) + 1; p < end && n < MAX_MESSAGES; n++) {
        messages[n].role = p;
        p += strlen(p) + 1;
        messages[n].content = p < end ? p : "";
        if (p < end) p += strlen(p) + 1;
    }
    s = tfm_chat_render(t, messages, n, flags, NULL, 0, &len, &err);
    fuzz_check_message(&err, s);
    if (s != TFM_OK) {
        FUZZ_CHECK(s == TFM_ERR_INVALID_ARGUMENT);
        goto done;
    }
    out = (char *)malloc(len + 1);
    if (!out) goto done;
    FUZZ_CHECK(tfm_chat_render(t, messages, n, flags, out, len + 1, &got, &err) == TFM_OK && got == len);
    FUZZ_CHECK(out[len] == '\0');
    if (strcmp(tfm_chat_template_name(t), "chatml") == 0) FUZZ_CHECK(chatml_matches(messages, n, flags, out, len));
    if (len > 0) {
        char *whole = (char *)malloc(len + 1);
        if (whole) {
            memcpy(whole, out, len + 1);
            small = len / 2 + 1; /* room for len / 2 bytes and the NUL */
            s = tfm_chat_render(t, messages, n, flags, out, small, &got, &err);
            FUZZ_CHECK(s == TFM_ERR_CONTEXT_FULL && got == len);
            fuzz_check_message(&err, s);
            FUZZ_CHECK(out[small - 1] == '\0' && memcmp(out, whole, small - 1) == 0);
            free(whole);
        }
    }
done:
    free(out);
    free(text);
    return 0;
}

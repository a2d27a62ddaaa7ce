/* fuzz.h - what every tfm fuzz target shares: the property checks that abort (libFuzzer reports an abort
   as a finding, like a sanitizer's), and the check that an error message is one printable line.
   A target defines LLVMFuzzerTestOneInput and includes this after the tfm headers it uses. */
#ifndef TFM_FUZZ_H
#define TFM_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* A failed call's message: non-empty, printable ASCII, within its buffer (tfm_error_set escapes). */
static void fuzz_check_message(const tfm_error *err, tfm_status status)
{
    size_t i;
    if (status == TFM_OK) return;
    FUZZ_CHECK(err->status == status);
    FUZZ_CHECK(err->message[0] != '\0');
    for (i = 0; i < sizeof err->message && err->message[i]; i++)
        FUZZ_CHECK(err->message[i] >= 0x20 && err->message[i] <= 0x7e);
    FUZZ_CHECK(i < sizeof err->message);
}

/* Reads every byte of [p, p + n): a sanitizer catches a view that reaches outside its memory. */
static inline unsigned fuzz_touch(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    unsigned sum = 0;
    size_t i;
    for (i = 0; i < n; i++) sum += b[i];
    return sum;
}

#endif

/* model_sources.h - where to get the model files the README names, for the tools' error messages.
   A tool given one of these names that is not there says where to download it (models/README.md has
   the same list), instead of the bare "cannot open". */
#ifndef TFM_EXAMPLES_MODEL_SOURCES_H
#define TFM_EXAMPLES_MODEL_SOURCES_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct model_source {
    const char *name, *url;
} model_sources[] = {
    {"stories260K.gguf", "models/stories260K.gguf in the tfm repository, or "
                         "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf"},
    {"stories15M.bin", "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories15M.bin"},
    {"stories42M.bin", "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories42M.bin"},
    {"stories110M.bin", "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories110M.bin"},
    {"stories260K.bin", "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin"},
    {"tok512.bin", "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin"},
    {"tokenizer.bin", "https://github.com/karpathy/llama2.c/raw/master/tokenizer.bin"},
};

/* 1 when path is NULL, opens, or is missing under a name not in the list above (the loader's own error
   follows); 0 after printing "TOOL: NAME is missing: get it from URL" for a known name that is missing. */
static int model_source_check(const char *tool, const char *path)
{
    const char *name, *slash;
    FILE *f;
    size_t i;
    if (!path) return 1;
    errno = 0;
    if ((f = fopen(path, "rb")) != NULL) {
        fclose(f);
        return 1;
    }
    if (errno != ENOENT) return 1;
    for (name = path, slash = path; *slash; slash++)
        if (*slash == '/' || *slash == '\\') name = slash + 1;
    for (i = 0; i < sizeof model_sources / sizeof model_sources[0]; i++)
        if (!strcmp(name, model_sources[i].name)) {
            fprintf(stderr, "%s: %s is missing: get it from %s\n", tool, path, model_sources[i].url);
            return 0;
        }
    return 1;
}

#endif

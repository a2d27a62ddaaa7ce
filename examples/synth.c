/* tfm-synth: writes a model with random weights in the shape of a real one, for benchmarks and tests
   where the values do not matter but the sizes do (speed does not depend on what the weights are).

     tfm-synth --shape stories110M -o build/synth110M.bin
     tfm-synth --dim 512 --hidden 1376 --layers 8 --heads 8 --vocab 32000 --seq-len 1024 -o m.bin

   Weights are uniform in [-0.05, 0.05) from a seeded generator (the same file for the same seed on every
   machine), norm weights are 1, so activations stay finite. Format: llama2.c's legacy .bin; a new
   format is one more entry in `writers` below. */
#define TFM_IMPLEMENTATION
#include "tfm_sampler.h" /* tfm_rng: a seeded stream, the same on every platform */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    const char *name;
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
} shape;

/* Karpathy's tinyllamas (huggingface.co/karpathy/tinyllamas) */
static const shape shapes[] = {
    {"stories260K", 64, 172, 5, 8, 4, 512, 512},
    {"stories15M", 288, 768, 6, 6, 6, 32000, 256},
    {"stories42M", 512, 1376, 8, 8, 8, 32000, 1024},
    {"stories110M", 768, 2048, 12, 12, 12, 32000, 1024},
};

typedef struct options {
    shape s;
    int own_classifier; /* 1: a classifier stored apart from the embedding */
    uint64_t seed;
    const char *format;
    const char *out;
} options;

/* ---------------------------------------------------------------- values */

typedef enum fill { RANDOM, ONES, ZEROS } fill;

/* Writes count f32 values (little-endian, as every supported format stores them). */
static int write_floats(FILE *f, uint64_t count, fill kind, tfm_rng *rng)
{
    float buf[4096];
    unsigned char bytes[sizeof buf];
    while (count > 0) {
        size_t n = count < 4096 ? (size_t)count : 4096, i;
        for (i = 0; i < n; i++) {
            uint32_t u;
            if (kind == RANDOM) buf[i] = (tfm_rng_float(rng) - 0.5f) * 0.1f;
            else buf[i] = kind == ONES ? 1.0f : 0.0f;
            memcpy(&u, &buf[i], 4);
            bytes[4 * i] = (unsigned char)u, bytes[4 * i + 1] = (unsigned char)(u >> 8);
            bytes[4 * i + 2] = (unsigned char)(u >> 16), bytes[4 * i + 3] = (unsigned char)(u >> 24);
        }
        if (fwrite(bytes, 4, n, f) != n) return 0;
        count -= n;
    }
    return 1;
}

/* ---------------------------------------------------------------- writers */

/* llama2.c legacy (export.py --version 0): 7 int32, then every array of a kind for all layers, in
   run.c's order, the unused RoPE tables, and the classifier if it is not the embedding. */
static int write_llama2c(FILE *f, const options *o)
{
    const shape *s = &o->s;
    uint64_t dim = (uint64_t)s->dim, hidden = (uint64_t)s->hidden_dim, L = (uint64_t)s->n_layers;
    uint64_t head_dim = dim / (uint64_t)s->n_heads, kv_dim = head_dim * (uint64_t)s->n_kv_heads;
    uint64_t vocab = (uint64_t)s->vocab_size;
    tfm_rng rng;
    int32_t header[7];
    unsigned char bytes[28];
    int i;
    tfm_rng_seed(&rng, o->seed);
    header[0] = s->dim, header[1] = s->hidden_dim, header[2] = s->n_layers, header[3] = s->n_heads;
    header[4] = s->n_kv_heads, header[5] = o->own_classifier ? -s->vocab_size : s->vocab_size, header[6] = s->seq_len;
    for (i = 0; i < 7; i++) {
        uint32_t u = (uint32_t)header[i];
        bytes[4 * i] = (unsigned char)u, bytes[4 * i + 1] = (unsigned char)(u >> 8);
        bytes[4 * i + 2] = (unsigned char)(u >> 16), bytes[4 * i + 3] = (unsigned char)(u >> 24);
    }
    return fwrite(bytes, 1, 28, f) == 28 &&
           write_floats(f, vocab * dim, RANDOM, &rng) &&         /* token embedding */
           write_floats(f, L * dim, ONES, &rng) &&               /* attention norms */
           write_floats(f, L * dim * dim, RANDOM, &rng) &&       /* wq */
           write_floats(f, L * kv_dim * dim, RANDOM, &rng) &&    /* wk */
           write_floats(f, L * kv_dim * dim, RANDOM, &rng) &&    /* wv */
           write_floats(f, L * dim * dim, RANDOM, &rng) &&       /* wo */
           write_floats(f, L * dim, ONES, &rng) &&               /* feed-forward norms */
           write_floats(f, L * hidden * dim, RANDOM, &rng) &&    /* w1 (gate) */
           write_floats(f, L * dim * hidden, RANDOM, &rng) &&    /* w2 (down) */
           write_floats(f, L * hidden * dim, RANDOM, &rng) &&    /* w3 (up) */
           write_floats(f, dim, ONES, &rng) &&                   /* final norm */
           write_floats(f, (uint64_t)s->seq_len * head_dim, ZEROS, &rng) && /* legacy freq_cis_real, _imag */
           (!o->own_classifier || write_floats(f, vocab * dim, RANDOM, &rng));
}

typedef struct writer {
    const char *format;
    int (*write)(FILE *f, const options *o);
} writer;

static const writer writers[] = {
    {"llama2c", write_llama2c},
};

/* ---------------------------------------------------------------- command line */

static void usage(FILE *out)
{
    size_t i;
    fprintf(out,
            "usage: tfm-synth (--shape NAME | --dim D --hidden H --layers L --heads N [--kv-heads K] --vocab V\n"
            "                  --seq-len S) -o OUT [--seed S] [--own-classifier] [--format F]\n"
            "Writes a model with random weights (uniform +-0.05, norms 1) in a real model's shape.\n"
            "  --shape NAME       start from a named shape (flags after it override its dimensions):");
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) fprintf(out, " %s", shapes[i].name);
    fprintf(out,
            "\n  --kv-heads K       key/value heads (default: --heads)\n"
            "  --own-classifier   store a classifier apart from the embedding (negative vocab in llama2.c)\n"
            "  --seed S           random seed (default 1); same seed, same file\n"
            "  --format F         output format:");
    for (i = 0; i < sizeof writers / sizeof writers[0]; i++) fprintf(out, " %s", writers[i].format);
    fprintf(out, " (default llama2c)\n");
}

static int parse_int(const char *flag, const char *text, int *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v <= 0 || v > 1 << 24) {
        fprintf(stderr, "tfm-synth: %s wants a positive integer, got '%s'\n", flag, text);
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int parse_args(int argc, char **argv, options *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->format = "llama2c";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *target = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--own-classifier")) {
            o->own_classifier = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "tfm-synth: %s needs a value (see --help)\n", a);
            return 0;
        }
        i++;
        if (!strcmp(a, "--shape")) {
            size_t k;
            for (k = 0; k < sizeof shapes / sizeof shapes[0] && strcmp(shapes[k].name, v); k++) {}
            if (k == sizeof shapes / sizeof shapes[0]) {
                fprintf(stderr, "tfm-synth: unknown shape '%s' (see --help)\n", v);
                return 0;
            }
            o->s = shapes[k];
        } else if (!strcmp(a, "-o")) o->out = v;
        else if (!strcmp(a, "--format")) o->format = v;
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--dim")) target = &o->s.dim;
        else if (!strcmp(a, "--hidden")) target = &o->s.hidden_dim;
        else if (!strcmp(a, "--layers")) target = &o->s.n_layers;
        else if (!strcmp(a, "--heads")) target = &o->s.n_heads;
        else if (!strcmp(a, "--kv-heads")) target = &o->s.n_kv_heads;
        else if (!strcmp(a, "--vocab")) target = &o->s.vocab_size;
        else if (!strcmp(a, "--seq-len")) target = &o->s.seq_len;
        else {
            fprintf(stderr, "tfm-synth: unknown option '%s' (see --help)\n", a);
            return 0;
        }
        if (target && !parse_int(a, v, target)) return 0;
    }
    if (!o->s.n_kv_heads) o->s.n_kv_heads = o->s.n_heads;
    if (!o->out) {
        fprintf(stderr, "tfm-synth: no output file (-o OUT)\n");
        return 0;
    }
    if (!o->s.dim || !o->s.hidden_dim || !o->s.n_layers || !o->s.n_heads || !o->s.vocab_size || !o->s.seq_len) {
        fprintf(stderr, "tfm-synth: give --shape or every one of --dim --hidden --layers --heads --vocab --seq-len\n");
        return 0;
    }
    if (o->s.dim % o->s.n_heads || (o->s.dim / o->s.n_heads) % 2 || o->s.n_heads % o->s.n_kv_heads) {
        fprintf(stderr, "tfm-synth: --heads must divide --dim into even head sizes and --kv-heads divide --heads\n");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    options o;
    const writer *w = NULL;
    size_t i;
    FILE *f;
    int ok;
    if (!parse_args(argc, argv, &o)) return 2;
    for (i = 0; i < sizeof writers / sizeof writers[0]; i++)
        if (!strcmp(writers[i].format, o.format)) w = &writers[i];
    if (!w) {
        fprintf(stderr, "tfm-synth: unknown format '%s' (see --help)\n", o.format);
        return 2;
    }
    f = fopen(o.out, "wb");
    if (!f) {
        fprintf(stderr, "tfm-synth: cannot create '%s': %s\n", o.out, strerror(errno));
        return 1;
    }
    ok = w->write(f, &o);
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "tfm-synth: error writing '%s'\n", o.out);
        remove(o.out);
        return 1;
    }
    fprintf(stderr, "tfm-synth: wrote %s (%s: dim %d, hidden %d, %d layers, %d heads, %d kv heads, vocab %d, seq_len %d)\n",
            o.out, o.format, o.s.dim, o.s.hidden_dim, o.s.n_layers, o.s.n_heads, o.s.n_kv_heads, o.s.vocab_size,
            o.s.seq_len);
    return 0;
}

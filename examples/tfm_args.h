/* tfm_args.h - the command-line conventions of every tfm tool (examples/ and benchmarks/), in one small
   header. Not a library header: the library parses no arguments and prints nothing.

   CONVENTIONS (what a user of any tfm tool can count on)
     - llama.cpp's spelling wherever llama.cpp has the option: -m/--model, -p/--prompt, -f/--file,
       -n/--n-predict, -c/--ctx-size, -t/--threads, -s/--seed, --temp, --top-k, --top-p, --min-p,
       --repeat-penalty. A value is the next argument (-n 5, --temp 0.7) or follows '=' (--temp=0.7).
     - -h/--help prints the usage on stdout and exits 0; --version prints "<tool> <version> (<simd>)"
       on stdout and exits 0.
     - A usage error is one line on stderr that names the argument, then exit status 2:
           tfm-generate: unknown option '--bogus' (see --help)
           tfm-generate: -n wants an integer in 0..1073741824, got 'abc'
           tfm-generate: -m needs a value (see --help)
           tfm-generate: unexpected argument 'stray' (see --help)
       A failure after the arguments were accepted (a missing file, a corrupt model) exits 1.
     - Numbers are whole arguments ("12abc" is an error) inside their range; names from a fixed list
       (dtypes, formats) are matched without regard to case: q4_0 and Q4_0.
     - Text from the command line or a file enters a message with every byte outside printable ASCII
       written as \xNN (tfm_escape), so a message is one line that cannot move the terminal's cursor.
     - Progress goes to stderr: one line rewritten in place on a terminal, plain lines otherwise (a log
       file gets no \r).

   USAGE (a tool's parse_args; see examples/generate.c)
       #include "tfm_args.h"         first, before the other includes: it selects POSIX (isatty, clocks)
       static void usage(FILE *out) { fprintf(out, "usage: tfm-x -m MODEL [options]\n..."); }

       tfm_args a;
       tfm_args_init(&a, "tfm-x", argc, argv, usage);
       while (tfm_args_next(&a)) {
           if (tfm_args_string(&a, "-m", "--model", &o->model) ||
               tfm_args_long(&a, "-n", "--n-predict", 0, 1L << 30, &o->n) ||
               tfm_args_float(&a, NULL, "--temp", 0, 0, 1e6, &o->temp) ||
               tfm_args_flag(&a, NULL, "--moe-stats", &o->moe_stats) ||
               tfm_args_positional(&a, &o->input))
               continue;
           tfm_args_unknown(&a);
       }
       if (a.status >= 0) return a.status;   0 after --help or --version, 2 after a usage error
       if (!o->model) return tfm_args_fail(&a, "give a model: -m MODEL");         (also exit status 2)

   Each matcher returns 1 when the current argument was its option (consumed with its value, or a
   usage error already reported: the loop then ends), 0 to let the next matcher look. Matchers with a
   NULL short or long name have only the other one; an alias is a second matcher call. Positionals fill
   their slots in order. tfm_args_parse_long and friends check one value outside the loop (tfm-bench's
   options). */
#ifndef TFM_ARGS_H
#define TFM_ARGS_H

#if !defined(_WIN32) && !defined(_XOPEN_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _XOPEN_SOURCE 700 /* isatty, fileno, clock_gettime, getrusage */
#endif

#include "tfm_tensor.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define TFM_ARGS_POSIX 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TFM_ARGS_FN static __attribute__((unused))
#else
#define TFM_ARGS_FN static
#endif

typedef void (*tfm_args_usage_fn)(FILE *out);

typedef struct tfm_args {
    const char *prog; /* "tfm-generate": the first word of every message */
    int argc;
    char **argv;
    int i;                   /* index of the current argument */
    char name[64];           /* the current argument; for --name=value, the part before '=' */
    const char *inline_value; /* the part after '=', or NULL */
    int is_option;           /* the current argument starts with '-' (and is not "-" alone) */
    int status;              /* -1 while parsing; 0: --help or --version done; 2: a usage error reported */
    tfm_args_usage_fn usage;
} tfm_args;

/* ---------------------------------------------------------------- messages */

/* text escaped for a message (tfm_escape), in one of a few rotating buffers: several may appear in
   one printf */
TFM_ARGS_FN const char *tfm_args_quote(const char *text)
{
    static char buffers[4][160];
    static int next;
    char *b = buffers[next++ & 3];
    return tfm_escape(b, sizeof buffers[0], text ? text : "", text ? strlen(text) : 0);
}

/* prog: <message>  on stderr, as one line; returns 2 (the usage-error exit status) */
TFM_ARGS_FN int tfm_args_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

/* A usage error found after the loop ("give a model: -m MODEL"): the message with " (see --help)", and 2. */
TFM_ARGS_FN int tfm_args_fail(tfm_args *a, const char *what)
{
    a->status = 2;
    return tfm_args_error(a->prog, "%s (see --help)", what);
}

TFM_ARGS_FN void tfm_args_version(const char *prog)
{
#if defined(_OPENMP)
    const char *threads = "OpenMP";
#else
    const char *threads = "no OpenMP";
#endif
    printf("%s %s (%s, %s)\n", prog, TFM_VERSION_STRING, tfm_simd_name(), threads);
}

/* ---------------------------------------------------------------- values */

/* Case-insensitive equality of two NUL-terminated names. */
TFM_ARGS_FN int tfm_args_same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

/* An integer in lo..hi, the whole of text; else a message naming flag and the range, and 0. */
TFM_ARGS_FN int tfm_args_parse_long(const char *prog, const char *flag, const char *text, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || isspace((unsigned char)text[0]) || v < lo || v > hi) {
        tfm_args_error(prog, "%s wants an integer in %ld..%ld, got '%s'", flag, lo, hi, tfm_args_quote(text));
        return 0;
    }
    *out = v;
    return 1;
}

/* A non-negative integer of 64 bits (a seed). */
TFM_ARGS_FN int tfm_args_parse_u64(const char *prog, const char *flag, const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] < '0' || text[0] > '9') {
        tfm_args_error(prog, "%s wants a non-negative integer, got '%s'", flag, tfm_args_quote(text));
        return 0;
    }
    *out = (uint64_t)v;
    return 1;
}

/* A finite number in [lo, hi] ((lo, hi] when lo_open); hi >= 1e30 reads as "no upper bound". */
TFM_ARGS_FN int tfm_args_parse_double(const char *prog, const char *flag, const char *text, double lo, int lo_open,
                                      double hi, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || *end || isspace((unsigned char)text[0]) || !(v >= lo && v <= hi) ||
        (lo_open && v == lo)) {
        if (hi >= 1e30) tfm_args_error(prog, "%s wants a number %s %g, got '%s'", flag, lo_open ? ">" : ">=", lo,
                                       tfm_args_quote(text));
        else tfm_args_error(prog, "%s wants a number in %c%g, %g], got '%s'", flag, lo_open ? '(' : '[', lo, hi,
                            tfm_args_quote(text));
        return 0;
    }
    *out = v;
    return 1;
}

/* The index in names[0..n) of text, matched without regard to case; else a message listing them, -1. */
TFM_ARGS_FN int tfm_args_parse_choice(const char *prog, const char *flag, const char *text, const char *const *names,
                                      int n)
{
    char list[256] = "";
    size_t used = 0;
    int i;
    for (i = 0; i < n; i++)
        if (tfm_args_same_name(text, names[i])) return i;
    for (i = 0; i < n && used + 1 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", names[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    tfm_args_error(prog, "%s wants one of %s, got '%s'", flag, list, tfm_args_quote(text));
    return -1;
}

/* A dtype among types[0..n) by its name (tfm_dtype_name: f32, q4_0, ...; any case). */
TFM_ARGS_FN int tfm_args_parse_dtype(const char *prog, const char *flag, const char *text, const tfm_dtype *types, int n,
                                     tfm_dtype *out)
{
    const char *names[TFM_DTYPE_COUNT];
    int i, k;
    for (i = 0; i < n && i < TFM_DTYPE_COUNT; i++) names[i] = tfm_dtype_name(types[i]) ? tfm_dtype_name(types[i]) : "?";
    k = tfm_args_parse_choice(prog, flag, text, names, i);
    if (k < 0) return 0;
    *out = types[k];
    return 1;
}

/* ---------------------------------------------------------------- the loop */

TFM_ARGS_FN void tfm_args_init(tfm_args *a, const char *prog, int argc, char **argv, tfm_args_usage_fn usage)
{
    memset(a, 0, sizeof *a);
    a->prog = prog;
    a->argc = argc;
    a->argv = argv;
    a->i = 0;
    a->status = -1;
    a->usage = usage;
}

/* Moves to the next argument; 0 when there is none, or after --help, --version or a usage error. */
TFM_ARGS_FN int tfm_args_next(tfm_args *a)
{
    const char *arg, *eq;
    if (a->status >= 0 || ++a->i >= a->argc) return 0;
    arg = a->argv[a->i];
    a->is_option = arg[0] == '-' && arg[1] != '\0';
    eq = a->is_option && arg[1] == '-' ? strchr(arg, '=') : NULL;
    a->inline_value = eq ? eq + 1 : NULL;
    snprintf(a->name, sizeof a->name, "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
    if (a->is_option && !eq && (!strcmp(arg, "-h") || !strcmp(arg, "--help"))) {
        if (a->usage) a->usage(stdout);
        a->status = 0;
        return 0;
    }
    if (a->is_option && !eq && !strcmp(arg, "--version")) {
        tfm_args_version(a->prog);
        a->status = 0;
        return 0;
    }
    return 1;
}

/* Whether the current argument is the option short_name or long_name (either may be NULL). */
TFM_ARGS_FN int tfm_args_is(const tfm_args *a, const char *short_name, const char *long_name)
{
    if (!a->is_option || a->status >= 0) return 0;
    return (short_name && !strcmp(a->name, short_name) && !a->inline_value) || (long_name && !strcmp(a->name, long_name));
}

/* The value of the current option (next argument or after '='), or NULL after reporting that it is missing. */
TFM_ARGS_FN const char *tfm_args_value(tfm_args *a)
{
    if (a->inline_value) return a->inline_value;
    if (a->i + 1 >= a->argc) {
        a->status = tfm_args_error(a->prog, "%s needs a value (see --help)", tfm_args_quote(a->name));
        return NULL;
    }
    return a->argv[++a->i];
}

TFM_ARGS_FN int tfm_args_string(tfm_args *a, const char *short_name, const char *long_name, const char **out)
{
    const char *v;
    if (!tfm_args_is(a, short_name, long_name)) return 0;
    if ((v = tfm_args_value(a)) != NULL) *out = v;
    return 1;
}

TFM_ARGS_FN int tfm_args_flag(tfm_args *a, const char *short_name, const char *long_name, int *out)
{
    if (!tfm_args_is(a, short_name, long_name)) return 0;
    if (a->inline_value) a->status = tfm_args_error(a->prog, "%s takes no value (see --help)", a->name);
    else *out = 1;
    return 1;
}

TFM_ARGS_FN int tfm_args_long(tfm_args *a, const char *short_name, const char *long_name, long lo, long hi, long *out)
{
    const char *v;
    if (!tfm_args_is(a, short_name, long_name)) return 0;
    if ((v = tfm_args_value(a)) != NULL && !tfm_args_parse_long(a->prog, a->name, v, lo, hi, out)) a->status = 2;
    return 1;
}

TFM_ARGS_FN int tfm_args_int(tfm_args *a, const char *short_name, const char *long_name, int lo, int hi, int *out)
{
    long v = 0;
    int matched = tfm_args_long(a, short_name, long_name, lo, hi, &v);
    if (matched && a->status < 0) *out = (int)v;
    return matched;
}

TFM_ARGS_FN int tfm_args_u64(tfm_args *a, const char *short_name, const char *long_name, uint64_t *out)
{
    const char *v;
    if (!tfm_args_is(a, short_name, long_name)) return 0;
    if ((v = tfm_args_value(a)) != NULL && !tfm_args_parse_u64(a->prog, a->name, v, out)) a->status = 2;
    return 1;
}

/* A float in [lo, hi] ((lo, hi] when lo_open). */
TFM_ARGS_FN int tfm_args_float(tfm_args *a, const char *short_name, const char *long_name, double lo, int lo_open,
                               double hi, float *out)
{
    const char *v;
    double d;
    if (!tfm_args_is(a, short_name, long_name)) return 0;
    if ((v = tfm_args_value(a)) != NULL) {
        if (tfm_args_parse_double(a->prog, a->name, v, lo, lo_open, hi, &d)) *out = (float)d;
        else a->status = 2;
    }
    return 1;
}

/* One of names[0..n) (any case) into *index. */
TFM_ARGS_FN int tfm_args_choice(tfm_args *a, const char *short_name, const char *long_name, const char *const *names,
                                int n, int *index)
{
    const char *v;
    if (!tfm_args_is(a, short_name, long_name)) return 0;
    if ((v = tfm_args_value(a)) != NULL) {
        int k = tfm_args_parse_choice(a->prog, a->name, v, names, n);
        if (k < 0) a->status = 2;
        else *index = k;
    }
    return 1;
}

TFM_ARGS_FN int tfm_args_dtype(tfm_args *a, const char *short_name, const char *long_name, const tfm_dtype *types, int n,
                               tfm_dtype *out)
{
    const char *v;
    if (!tfm_args_is(a, short_name, long_name)) return 0;
    if ((v = tfm_args_value(a)) != NULL && !tfm_args_parse_dtype(a->prog, a->name, v, types, n, out)) a->status = 2;
    return 1;
}

/* A positional argument into *slot when the slot is still empty. */
TFM_ARGS_FN int tfm_args_positional(tfm_args *a, const char **slot)
{
    if (a->is_option || a->status >= 0 || *slot) return 0;
    *slot = a->argv[a->i];
    return 1;
}

/* The current argument matched nothing: an unknown option or an unexpected positional argument. */
TFM_ARGS_FN void tfm_args_unknown(tfm_args *a)
{
    if (a->status >= 0) return;
    a->status = tfm_args_error(a->prog, "%s '%s' (see --help)", a->is_option ? "unknown option" : "unexpected argument",
                               tfm_args_quote(a->argv[a->i]));
}

/* ---------------------------------------------------------------- files */

/* The whole of path (a regular file, a pipe, /dev/stdin ...) in memory, NUL-terminated, reading at most
   max_bytes: NULL after a message (exit status 1) when it cannot be read or is longer. */
TFM_ARGS_FN char *tfm_args_read_file(const char *prog, const char *path, size_t max_bytes, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t cap = 0, n = 0, got;
    int ok = 0;
    if (!f) {
        tfm_args_error(prog, "cannot open '%s': %s", tfm_args_quote(path), strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n + 1 >= cap) { /* room for one more byte and the NUL; a byte past the cap tells it is longer */
            size_t bigger_cap = cap ? 2 * cap : (size_t)1 << 16;
            char *bigger;
            if (bigger_cap > max_bytes + 2) bigger_cap = max_bytes + 2;
            bigger = (char *)realloc(text, bigger_cap);
            if (!bigger) {
                tfm_args_error(prog, "out of memory reading '%s'", tfm_args_quote(path));
                break;
            }
            text = bigger;
            cap = bigger_cap;
        }
        got = fread(text + n, 1, cap - 1 - n, f);
        n += got;
        if (n > max_bytes) {
            tfm_args_error(prog, "'%s' is longer than %zu bytes", tfm_args_quote(path), max_bytes);
            break;
        }
        if (got == 0) {
            if (ferror(f)) tfm_args_error(prog, "cannot read '%s': %s", tfm_args_quote(path), strerror(errno));
            else ok = 1;
            break;
        }
    }
    fclose(f);
    if (!ok) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    if (size) *size = n;
    return text;
}

/* ---------------------------------------------------------------- progress */

TFM_ARGS_FN double tfm_args_seconds(void)
{
#if defined(TFM_ARGS_POSIX)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

/* A progress line on stderr: rewritten in place at most 4 times a second on a terminal; elsewhere one
   plain line at the first call, then at most one every 10 seconds, and the last. */
typedef struct tfm_progress {
    int tty, shown_any;
    double shown;
} tfm_progress;

TFM_ARGS_FN void tfm_progress_init(tfm_progress *p)
{
    memset(p, 0, sizeof *p);
#if defined(TFM_ARGS_POSIX)
    p->tty = isatty(fileno(stderr));
#endif
}

/* Shows the formatted line; last: the final state (always shown, then a newline on a terminal). */
TFM_ARGS_FN void tfm_progress_show(tfm_progress *p, int last, const char *fmt, ...)
{
    double now = tfm_args_seconds();
    va_list ap;
    if (p->shown_any && !last && now - p->shown < (p->tty ? 0.25 : 10.0)) return;
    if (p->tty) fputc('\r', stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(p->tty && !last ? "   " : "\n", stderr);
    fflush(stderr);
    p->shown = now;
    p->shown_any = 1;
}

#endif /* TFM_ARGS_H */

/* bench.h - shared helpers of the tfm benchmark harness (build/tfm-bench).

   Include this first in every benchmark source file: it selects POSIX (for the monotonic clock, dlopen,
   unsetenv), which benchmarks may use and the library may not.

   ADDING A SUBCOMMAND
     1. Write benchmarks/bench_<name>.c with `int bench_<name>(int argc, char **argv)`; argv[0] is
        the subcommand name, options follow. Return 0 on success, nonzero on bad options/failure.
     2. Declare it below (one line, in "subcommands").
     3. Add one line to the command table in bench.c: {"name", bench_name, "help", "all-args"}, where
        all-args are the options `tfm-bench all` passes to it (NULL: not part of `all`). `all` must
        stay under about a minute in total, so give it a short default suite.
   Conventions: --threads takes a list ("1,2"; default 1 and the machine's maximum), --csv prints a
   header line then one line per row, otherwise a table. Time with bench_best (best of N), print rows
   with bench_row_*, and put the relevant measured ceiling beside every rate (bench_ceiling_get). */
#ifndef TFM_BENCH_H
#define TFM_BENCH_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200112L
#endif

#include <stddef.h>

#include "tfm.h"
#include "../examples/tfm_args.h" /* the command-line conventions every tfm tool shares */

/* ---------------------------------------------------------------- subcommands */
int bench_ceilings_cmd(int argc, char **argv);
int bench_embed(int argc, char **argv);
int bench_gemm(int argc, char **argv);
int bench_gemv(int argc, char **argv);
int bench_kernels(int argc, char **argv);
int bench_moe(int argc, char **argv);
int bench_model(int argc, char **argv);
int bench_kv(int argc, char **argv);
int bench_attention(int argc, char **argv);
int bench_qgemv(int argc, char **argv);
int bench_qgemm(int argc, char **argv);
int bench_tokenizer(int argc, char **argv);
int bench_state(int argc, char **argv);
/* stories260K.bin in ../shared/models or models/ (what `all` runs `model` on), or NULL */
const char *bench_default_model(void);

/* ---------------------------------------------------------------- time */

/* Monotonic wall-clock seconds. */
double bench_now(void);
/* Sleeps for the given seconds (lets spinning worker threads of a baseline go to sleep). */
void bench_sleep(double seconds);

typedef void (*bench_fn)(void *ctx);
/* Calls fn(ctx) once to warm up, then at least min_reps times and until min_seconds have passed
   (at most 1000 runs); returns the best (smallest) time of one run in seconds. */
double bench_best(bench_fn fn, void *ctx, int min_reps, double min_seconds);

/* ---------------------------------------------------------------- arguments */

/* The value after "--name" (the last occurrence wins, so later options override earlier ones),
   or fallback when absent. A value that is no integer in 0..INT_MAX (no finite number >= 0) is a usage
   error: the tool exits with status 2 after one line naming the option (tfm_args.h's conventions). */
const char *bench_arg_str(int argc, char **argv, const char *name, const char *fallback);
long bench_arg_int(int argc, char **argv, const char *name, long fallback);
double bench_arg_num(int argc, char **argv, const char *name, double fallback);
/* A dtype among types[0..n) by name, any case (--dtype Q4_0); an unknown name is a usage error (exit 2). */
tfm_dtype bench_arg_dtype(int argc, char **argv, const char *name, tfm_dtype fallback, const tfm_dtype *types, int n);
/* 1 when the flag "--name" is present. */
int bench_flag(int argc, char **argv, const char *name);
/* Thread counts from --threads "1,2" into list (at most max); default: 1 and tfm_default_threads().
   Returns how many, or 0 after printing an error for a malformed list. */
int bench_threads(int argc, char **argv, int *list, int max);
/* Checks that every "--option" in argv is one of the space-separated names in `options` (valued)
   or `flags` (no value); prints an error and returns 0 otherwise. */
int bench_check_args(int argc, char **argv, const char *options, const char *flags);

/* ---------------------------------------------------------------- output rows */

#define BENCH_MAX_COLS 24

/* One result row: named columns added in order, printed as CSV or as an aligned table. */
typedef struct bench_row {
    int n;
    char name[BENCH_MAX_COLS][24];
    char value[BENCH_MAX_COLS][32];
} bench_row;

void bench_row_init(bench_row *row);
void bench_row_str(bench_row *row, const char *name, const char *value);
void bench_row_int(bench_row *row, const char *name, long long value);
/* value with the given decimals; a NaN prints as an empty cell */
void bench_row_num(bench_row *row, const char *name, double value, int decimals);
/* Prints the header first when header is nonzero (CSV: one line of names; table: names aligned). */
void bench_row_print(const bench_row *row, int csv, int header);

/* ---------------------------------------------------------------- machine ceilings */

typedef struct bench_ceiling {
    int threads;
    double fma_gflops; /* independent vector FMAs of the compiled SIMD width, all threads */
    double read_gbps;  /* streaming reads of a 512 MiB buffer (far beyond the caches) */
    double copy_gbps;  /* memcpy-like copy of 256 MiB, counted as bytes read + bytes written */
} bench_ceiling;

/* Measured on first use for each thread count (about a second), then cached for the run. */
const bench_ceiling *bench_ceiling_get(int threads);
/* Peak int8 multiply-adds of vpdpbusd (64 a vector instruction) as GOP/s x 2, like FLOPs, on `threads`
   threads: 0 where the build has no AVX-512 VNNI. */
double bench_int8_peak_gops(int threads);
/* Multiply-adds of one token through every matrix of the model's blocks (attention's own products and
   the classifier apart). */
double bench_token_macs(const tfm_model *m);
/* 100 * value / ceiling, or NaN when the ceiling is unknown. */
double bench_pct(double value, double ceiling);

#endif

/* bench_state.c - saving and loading a context's state (tfm-bench state).

     tfm-bench state -m MODEL --tokens 2048 [--dir DIR] [--reps 5] [--threads 2] [--csv]

   Fills a context with --tokens tokens (one prefill), then times, best of --reps each:
     save_mem / load_mem    tfm_context_state_save / _load to and from a buffer in memory
     save_file / load_file  tfm_context_state_save_file / _load_file in DIR (default /tmp): PATH.tmp then
                            a rename; no fsync, so the file lands in the page cache: what bounds it is
                            the kernel's copy into (and out of) the page cache, not the disk
     copy                   a plain memcpy of as many bytes: the ceiling of a save or load to memory
     write_plain / read_plain  the same number of bytes in one fwrite (fread) of a plain file in DIR: the
                            ceiling of save_file / load_file through the page cache
   and where the system has fsync and posix_fadvise (Linux), what the disk itself bounds:
     save_file_sync         save_file, then fsync of the file: until the bytes are on the disk
     write_plain_sync       one fwrite + fsync of as many bytes (dd conv=fsync): the disk's write speed
     load_file_cold         load_file of a state dropped from the page cache (posix_fadvise DONTNEED,
                            the file's own pages only): read from the disk
     read_plain_cold        one fread of the plain file dropped likewise (dd iflag=direct): the disk's
                            read speed
   gb_s is state bytes per second (copy_gbps beside it counts bytes read + bytes written, so a memcpy
   shows about half of it in gb_s); vs_plain is an op's gb_s over its plain twin's in the same run
   (save over write, load over read, each with the same page cache or disk). The state is the tokens,
   the last logits and every layer's K and V rows (f32: 2 x layers x tokens x kv_dim x 4 bytes), plus a
   header and a checksum. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <fcntl.h>
#include <unistd.h>
#define BENCH_STATE_DISK 1
#endif

typedef struct state_run {
    tfm_context *ctx, *other;
    void *buf, *copy;
    size_t size;
    char path[1024], plain[1024];
    tfm_status status;
    tfm_error err;
} state_run;

static void run_save_mem(void *p)
{
    state_run *r = (state_run *)p;
    size_t wrote;
    if (r->status == TFM_OK) r->status = tfm_context_state_save(r->ctx, r->buf, r->size, &wrote, &r->err);
}

static void run_load_mem(void *p)
{
    state_run *r = (state_run *)p;
    if (r->status == TFM_OK) r->status = tfm_context_state_load(r->other, r->buf, r->size, &r->err);
}

static void run_save_file(void *p)
{
    state_run *r = (state_run *)p;
    if (r->status == TFM_OK) r->status = tfm_context_state_save_file(r->ctx, r->path, &r->err);
}

static void run_load_file(void *p)
{
    state_run *r = (state_run *)p;
    if (r->status == TFM_OK) r->status = tfm_context_state_load_file(r->other, r->path, &r->err);
}

static void run_write_plain(void *p)
{
    state_run *r = (state_run *)p;
    FILE *f = fopen(r->plain, "wb");
    int ok = f && fwrite(r->buf, 1, r->size, f) == r->size;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok && r->status == TFM_OK) r->status = tfm_error_set(&r->err, TFM_ERR_IO, "%s: cannot write", r->plain);
}

static void run_read_plain(void *p)
{
    state_run *r = (state_run *)p;
    FILE *f = fopen(r->plain, "rb");
    int ok = f && fread(r->copy, 1, r->size, f) == r->size;
    if (f) fclose(f);
    if (!ok && r->status == TFM_OK) r->status = tfm_error_set(&r->err, TFM_ERR_IO, "%s: cannot read", r->plain);
}

#if defined(BENCH_STATE_DISK)
/* fsync of a file by name (the writers above close theirs); with drop, its pages then leave the page
   cache, so that the next read of it comes from the disk */
static int state_sync(const char *path, int drop)
{
    int fd = open(path, O_RDONLY), ok;
    if (fd < 0) return 0;
    ok = fsync(fd) == 0;
    if (ok && drop) ok = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
    return close(fd) == 0 && ok;
}

static void run_save_file_sync(void *p)
{
    state_run *r = (state_run *)p;
    run_save_file(p);
    if (r->status == TFM_OK && !state_sync(r->path, 0)) r->status = tfm_error_set(&r->err, TFM_ERR_IO, "%s: fsync failed", r->path);
}

static void run_write_plain_sync(void *p)
{
    state_run *r = (state_run *)p;
    run_write_plain(p);
    if (r->status == TFM_OK && !state_sync(r->plain, 0)) r->status = tfm_error_set(&r->err, TFM_ERR_IO, "%s: fsync failed", r->plain);
}

static void drop_state(void *p)
{
    state_run *r = (state_run *)p;
    if (r->status == TFM_OK && !state_sync(r->path, 1)) r->status = tfm_error_set(&r->err, TFM_ERR_IO, "%s: cannot drop", r->path);
}

static void drop_plain(void *p)
{
    state_run *r = (state_run *)p;
    if (r->status == TFM_OK && !state_sync(r->plain, 1)) r->status = tfm_error_set(&r->err, TFM_ERR_IO, "%s: cannot drop", r->plain);
}
#endif

/* best of reps runs of fn, each after prepare (untimed) when given */
static double state_best(bench_fn fn, bench_fn prepare, state_run *r, int reps)
{
    double best = 1e30;
    int i;
    if (!prepare) return bench_best(fn, r, reps, 0.0);
    for (i = 0; i < reps && r->status == TFM_OK; i++) {
        double t;
        prepare(r);
        t = bench_now();
        fn(r);
        t = bench_now() - t;
        if (t < best) best = t;
    }
    return best;
}

static void run_copy(void *p)
{
    state_run *r = (state_run *)p;
    memcpy(r->copy, r->buf, r->size);
}

int bench_state(int argc, char **argv)
{
    const char *path = bench_arg_str(argc, argv, "-m", NULL), *dir = bench_arg_str(argc, argv, "--dir", "/tmp");
    long tokens = bench_arg_int(argc, argv, "--tokens", 2048), reps = bench_arg_int(argc, argv, "--reps", 5);
    int csv = bench_flag(argc, argv, "--csv"), threads[8], n_threads, i, failed = 0;
    tfm_model *model = NULL;
    tfm_context_params cp;
    state_run r;
    int *prompt = NULL;
    const bench_ceiling *ceil;
    if (!bench_check_args(argc, argv, "-m --tokens --dir --reps --threads", "--csv")) return 2;
    n_threads = bench_threads(argc, argv, threads, 8);
    if (!n_threads) return 2;
    if (!path) {
        fprintf(stderr, "state: give a model: -m MODEL\n");
        return 2;
    }
    memset(&r, 0, sizeof r);
    if (tfm_model_load(path, NULL, &model, &r.err) != TFM_OK) {
        fprintf(stderr, "state: %s\n", r.err.message);
        return 1;
    }
    if (tokens < 1 || tokens > model->config.context_length || reps < 1) {
        fprintf(stderr, "state: --tokens in 1..%d (the model's context), --reps positive\n", model->config.context_length);
        tfm_model_free(model);
        return 2;
    }
    memset(&cp, 0, sizeof cp);
    cp.context_length = (int)tokens;
    cp.n_threads = threads[n_threads - 1];
    prompt = (int *)malloc(sizeof(int) * (size_t)tokens);
    if (!prompt || tfm_context_create(model, &cp, &r.ctx, &r.err) != TFM_OK ||
        tfm_context_create(model, &cp, &r.other, &r.err) != TFM_OK) {
        fprintf(stderr, "state: %s\n", prompt ? r.err.message : "out of memory");
        failed = 1;
        goto done;
    }
    for (i = 0; i < tokens; i++) prompt[i] = (int)((1103515245u * (unsigned)i + 12345u) % (unsigned)model->config.vocab_size);
    {
        double t = bench_now();
        float *logits = (float *)malloc(sizeof(float) * (size_t)model->config.vocab_size);
        r.status = logits ? tfm_forward(r.ctx, prompt, (int)tokens, logits, TFM_LOGITS_LAST, &r.err) : TFM_ERR_OUT_OF_MEMORY;
        free(logits);
        fprintf(stderr, "state: %ld tokens prefilled in %.1f s\n", tokens, bench_now() - t);
    }
    r.size = tfm_context_state_size(r.ctx);
    r.buf = malloc(r.size);
    r.copy = malloc(r.size);
    snprintf(r.path, sizeof r.path, "%s/tfm-bench-state.bin", dir);
    snprintf(r.plain, sizeof r.plain, "%s/tfm-bench-plain.bin", dir);
    if (r.status != TFM_OK || !r.buf || !r.copy) {
        fprintf(stderr, "state: %s\n", r.status != TFM_OK ? r.err.message : "out of memory");
        failed = 1;
        goto done;
    }
    ceil = bench_ceiling_get(1);
    {
        /* each op after its plain twin (twin: the index of the op it is compared with, -1 none) */
        static const struct {
            const char *name;
            bench_fn fn, prepare;
            int twin;
        } ops[] = {{"save_mem", run_save_mem, NULL, -1},
                   {"load_mem", run_load_mem, NULL, -1},
                   {"write_plain", run_write_plain, NULL, -1},
                   {"save_file", run_save_file, NULL, 2},
                   {"read_plain", run_read_plain, NULL, -1},
                   {"load_file", run_load_file, NULL, 4},
#if defined(BENCH_STATE_DISK)
                   {"write_plain_sync", run_write_plain_sync, NULL, -1},
                   {"save_file_sync", run_save_file_sync, NULL, 6},
                   {"read_plain_cold", run_read_plain, drop_plain, -1},
                   {"load_file_cold", run_load_file, drop_state, 8},
#endif
                   {"copy", run_copy, NULL, -1}};
        double rate[sizeof ops / sizeof ops[0]];
        for (i = 0; i < (int)(sizeof ops / sizeof ops[0]) && r.status == TFM_OK; i++) {
            double t = state_best(ops[i].fn, ops[i].prepare, &r, (int)reps);
            bench_row row;
            if (r.status != TFM_OK) break;
            rate[i] = (double)r.size / t * 1e-9;
            bench_row_init(&row);
            bench_row_str(&row, "op", ops[i].name);
            bench_row_int(&row, "tokens", tokens);
            bench_row_num(&row, "state_mb", (double)r.size / 1e6, 1);
            bench_row_num(&row, "ms", t * 1e3, 2);
            bench_row_num(&row, "gb_s", rate[i], 2);
            bench_row_num(&row, "vs_plain", ops[i].twin >= 0 ? rate[i] / rate[ops[i].twin] : NAN, 2);
            bench_row_num(&row, "copy_gbps", ceil->copy_gbps, 1);
            bench_row_print(&row, csv, i == 0);
        }
        if (r.status != TFM_OK) {
            fprintf(stderr, "state: %s\n", r.err.message);
            failed = 1;
        }
        /* the loaded state is the saved one */
        if (!failed && (tfm_context_pos(r.other) != tfm_context_pos(r.ctx) ||
                        memcmp(tfm_context_logits(r.other), tfm_context_logits(r.ctx),
                               sizeof(float) * (size_t)model->config.vocab_size) != 0)) {
            fprintf(stderr, "state: the loaded state differs from the saved one\n");
            failed = 1;
        }
    }
    remove(r.path);
    remove(r.plain);
done:
    free(prompt), free(r.buf), free(r.copy);
    tfm_context_free(r.ctx);
    tfm_context_free(r.other);
    tfm_model_free(model);
    return failed;
}

/* bench_state.c - saving and loading a context's state (tfm-bench state).

     tfm-bench state -m MODEL --tokens 2048 [--dir DIR] [--reps 5] [--threads 2] [--csv]

   Fills a context with --tokens tokens (one prefill), then times, best of --reps each:
     save_mem / load_mem    tfm_context_state_save / _load to and from a buffer in memory
     save_file / load_file  tfm_context_state_save_file / _load_file in DIR (default /tmp): PATH.tmp then
                            a rename; no fsync, so the file lands in the page cache: what bounds it is
                            the kernel's copy into (and out of) the page cache, not the disk
     copy                   a plain memcpy of as many bytes: the ceiling of a save or load to memory
   gb_s is state bytes per second (copy_gbps beside it counts bytes read + bytes written, so a memcpy
   shows about half of it in gb_s). The state is the tokens, the last logits and every layer's K and V
   rows (f32: 2 x layers x tokens x kv_dim x 4 bytes), plus a header and a checksum. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct state_run {
    tfm_context *ctx, *other;
    void *buf, *copy;
    size_t size;
    char path[1024];
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
    if (r.status != TFM_OK || !r.buf || !r.copy) {
        fprintf(stderr, "state: %s\n", r.status != TFM_OK ? r.err.message : "out of memory");
        failed = 1;
        goto done;
    }
    ceil = bench_ceiling_get(1);
    {
        static const struct {
            const char *name;
            bench_fn fn;
        } ops[] = {{"save_mem", run_save_mem}, {"load_mem", run_load_mem}, {"save_file", run_save_file},
                   {"load_file", run_load_file}, {"copy", run_copy}};
        for (i = 0; i < 5 && r.status == TFM_OK; i++) {
            double t = bench_best(ops[i].fn, &r, (int)reps, 0.0);
            bench_row row;
            if (r.status != TFM_OK) break;
            bench_row_init(&row);
            bench_row_str(&row, "op", ops[i].name);
            bench_row_int(&row, "tokens", tokens);
            bench_row_num(&row, "state_mb", (double)r.size / 1e6, 1);
            bench_row_num(&row, "ms", t * 1e3, 2);
            bench_row_num(&row, "gb_s", (double)r.size / t * 1e-9, 2);
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
done:
    free(prompt), free(r.buf), free(r.copy);
    tfm_context_free(r.ctx);
    tfm_context_free(r.other);
    tfm_model_free(model);
    return failed;
}

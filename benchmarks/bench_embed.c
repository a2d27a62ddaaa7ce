/* bench_embed.c - `tfm-bench embed`: sentence embeddings against llama.cpp and the machine's peak, and
   exact retrieval search against the read bandwidth.

     tfm-bench embed -m MODEL -f TEXT [--lines 512] [--batch 32] [--threads 1,2] [--reps 3]
                     [--llama-embedding PATH/TO/llama-embedding]
     tfm-bench embed --search [--count 100000] [--dim 384] [--k 5] [--threads 1,2]

   -m embeds the first --lines non-empty lines of TEXT, one sentence each, --batch lines a call to
   tfm_embed_texts (tokenizing included), the model's default pooling, normalised; best of --reps passes after a
   warm-up. sent_s and tok_s are sentences and tokens a second. The products' share: every matrix product
   of a token (2 x the weights it multiplies, attention apart) over the pass's time, as GFLOP/s beside the
   machine's peak for the weights' kind: f32 FMAs (f32, f16, bf16 weights) or int8 dot products (the
   quantized types; AVX-512 VNNI's vpdpbusd, measured here), pct_peak.
   The products alone: after the passes, the same matrix products are replayed with the shapes the
   passes ran (tfm_encode's batches of whole sentences up to the context's max_batch rows, at least
   TFM_ENCODE_MIN_ROWS; every layer's matrices through the call the model makes: tfm_quant_gemm_ws, or
   tfm_quant_packed_gemm on packed weights, activation quantizing included), best of --reps:
   gemm_gflops = 2 x M x K x N summed over the products (filler rows included: the kernels compute them)
   over the replay's time, gemm_pct = gemm_gflops over the same peak (the "gemm share of peak" of issue
   #15), gemm_time = the replay's time over the pass's (the share of a pass the products take).
   --llama-embedding runs llama.cpp's llama-embedding on the same lines and threads right after each of
   our passes: batches of about --batch lines (its batches are by tokens: -b is the lines' mean tokens x
   --batch, at least the longest line), its "prompt eval time" (the forward passes alone); lcpp_sent_s
   and the ratio. The load average is printed with the numbers (the machine may be shared).

   --search times tfm_embed_search (one gemv over the index matrix, then the top-k heap) over count unit
   vectors of dim floats. The limit is one pass over the matrix: count * dim * 4 bytes at the machine's
   read bandwidth (measured in the same run). "cold" rotates over copies of the matrix totalling at
   least 1 GiB, so each query reads its matrix from memory, not from the last level cache; "warm" queries
   one matrix again and again (a small index stays in cache between queries). */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>
#if defined(_OPENMP)
#include <omp.h>
#endif

/* ---------------------------------------------------------------- embedding throughput */

/* The 1-minute load average, or -1 where /proc/loadavg is not there. */
static double load_average(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double v = -1;
    if (f) {
        if (fscanf(f, "%lf", &v) != 1) v = -1;
        fclose(f);
    }
    return v;
}

typedef struct embed_job {
    tfm_context *ctx;
    const char **lines;
    const size_t *lens;
    int n_lines, batch, dim;
    float *out;
    int failed;
    tfm_error err;
} embed_job;

static void embed_all(void *p)
{
    embed_job *j = (embed_job *)p;
    int i;
    for (i = 0; i < j->n_lines && !j->failed; i += j->batch) {
        int n = j->n_lines - i < j->batch ? j->n_lines - i : j->batch;
        if (tfm_embed_texts(j->ctx, j->lines + i, j->lens + i, n, TFM_POOLING_DEFAULT, 1, j->out + (size_t)i * (size_t)j->dim,
                            &j->err) != TFM_OK)
            j->failed = 1;
    }
}

/* llama-embedding on `file` (the lines): its forward passes' seconds, from "prompt eval time = X ms"; 0
   when it fails. */
static double llama_embedding_seconds(const char *bin, const char *model, const char *file, int threads, long batch,
                                      const char *pooling)
{
    char cmd[4096], line[1024];
    double ms = 0;
    FILE *f;
    if (strchr(bin, '\'') || strchr(model, '\'') || strchr(file, '\'')) {
        fprintf(stderr, "embed: paths with a quote are not supported for --llama-embedding\n");
        return 0;
    }
    snprintf(cmd, sizeof cmd,
             "'%s' -m '%s' -f '%s' -t %d -c %ld -b %ld -ub %ld --pooling %s --embd-normalize 2 "
             "--embd-output-format array 2>&1 >/dev/null",
             bin, model, file, threads, batch, batch, batch, pooling);
    bench_sleep(0.2); /* our OpenMP workers stop spinning before the baseline starts */
    f = popen(cmd, "r");
    while (f && fgets(line, sizeof line, f)) {
        const char *at = strstr(line, "prompt eval time =");
        if (at) ms = atof(at + strlen("prompt eval time ="));
    }
    if (!f || pclose(f) != 0 || ms <= 0) {
        fprintf(stderr, "embed: '%s' failed\n", bin);
        return 0;
    }
    return ms * 1e-3;
}

/* The products of one embedding pass, replayed: the lines' token counts grouped as tfm_encode groups
   them (whole sequences while they fit in max_batch rows; at least TFM_ENCODE_MIN_ROWS), each group's
   every layer matrix (bench_token_macs's seven) through the call tfm_forward makes, on X random. */
typedef struct gemm_replay {
    const tfm_model *m;
    const int *counts;
    int n_lines, batch, max_batch, threads;
    float *x, *y;
    void *ws;
    size_t ws_bytes;
    double flops; /* of one replay: 2 M K N summed */
    int failed;
} gemm_replay;

static const tfm_weight *replay_weight(const tfm_layer *L, int i)
{
    const tfm_weight *w[7];
    w[0] = &L->wq, w[1] = &L->wk, w[2] = &L->wv, w[3] = &L->wo, w[4] = &L->ffn_gate, w[5] = &L->ffn_up, w[6] = &L->ffn_down;
    return w[i];
}

static void replay_products(gemm_replay *r, int rows)
{
    int l, i;
    for (l = 0; l < r->m->config.n_layers; l++)
        for (i = 0; i < 7; i++) {
            const tfm_weight *w = replay_weight(&r->m->layers[l], i);
            const int n = (int)w->tensor.ne[1], k = (int)w->tensor.ne[0];
            tfm_status s;
            if (!w->tensor.data) continue;
            s = w->packed ? tfm_quant_packed_gemm(r->y, (size_t)n, r->x, (size_t)k, w->packed, rows, r->threads, r->ws, r->ws_bytes)
                          : tfm_quant_gemm_ws(r->y, (size_t)n, r->x, (size_t)k, w->tensor.dtype, w->tensor.data, rows, n, k,
                                              r->threads, r->ws, r->ws_bytes);
            if (s != TFM_OK) r->failed = 1;
            r->flops += 2.0 * rows * (double)n * (double)k;
        }
}

static void replay_all(void *p)
{
    gemm_replay *r = (gemm_replay *)p;
    int i, j;
    r->flops = 0;
    for (i = 0; i < r->n_lines; i += r->batch) {
        int end = r->n_lines - i < r->batch ? r->n_lines : i + r->batch, rows = 0;
        for (j = i; j < end; j++) {
            if (rows && rows + r->counts[j] > r->max_batch) {
                replay_products(r, rows < TFM_ENCODE_MIN_ROWS ? TFM_ENCODE_MIN_ROWS : rows);
                rows = 0;
            }
            rows += r->counts[j];
        }
        if (rows) replay_products(r, rows < TFM_ENCODE_MIN_ROWS ? TFM_ENCODE_MIN_ROWS : rows);
    }
}

/* The replay's best time of reps (after a warm-up), or NAN; *flops its products' FLOPs. */
static double replay_seconds(const tfm_model *m, const int *counts, int n_lines, int batch, int max_batch, int threads,
                             long reps, double *flops)
{
    gemm_replay r;
    size_t cols = 0, rows_cap = (size_t)max_batch, ws = 0;
    double best = INFINITY;
    int l, i, rows;
    memset(&r, 0, sizeof r);
    r.m = m, r.counts = counts, r.n_lines = n_lines, r.batch = batch, r.max_batch = max_batch, r.threads = threads;
    for (l = 0; l < m->config.n_layers; l++)
        for (i = 0; i < 7; i++) {
            const tfm_weight *w = replay_weight(&m->layers[l], i);
            if (!w->tensor.data) continue;
            if ((size_t)w->tensor.ne[0] > cols) cols = (size_t)w->tensor.ne[0];
            if ((size_t)w->tensor.ne[1] > cols) cols = (size_t)w->tensor.ne[1];
            for (rows = 1; rows <= max_batch; rows++) {
                size_t need = tfm_quant_workspace_size(w->tensor.dtype, rows, (int)w->tensor.ne[0]);
                if (need > ws) ws = need;
            }
        }
    r.x = (float *)malloc(sizeof(float) * rows_cap * cols);
    r.y = (float *)malloc(sizeof(float) * rows_cap * cols);
    r.ws = ws ? malloc(ws) : NULL;
    r.ws_bytes = ws;
    if (r.x && r.y && (r.ws || !ws)) {
        size_t e;
        uint32_t seed = 12345;
        for (e = 0; e < rows_cap * cols; e++) {
            seed = seed * 1664525u + 1013904223u;
            r.x[e] = (float)(seed >> 8) / 16777216.0f - 0.5f;
        }
        best = bench_best(replay_all, &r, (int)reps, 0.0);
    }
    *flops = r.flops;
    free(r.x);
    free(r.y);
    free(r.ws);
    return r.failed || best == INFINITY ? NAN : best;
}

static int bench_embed_model(int argc, char **argv)
{
    const char *path = bench_arg_str(argc, argv, "-m", NULL), *text = bench_arg_str(argc, argv, "-f", NULL);
    const char *lcpp = bench_arg_str(argc, argv, "--llama-embedding", NULL);
    long max_lines = bench_arg_int(argc, argv, "--lines", 512), batch = bench_arg_int(argc, argv, "--batch", 32);
    long reps = bench_arg_int(argc, argv, "--reps", 3);
    int csv = bench_flag(argc, argv, "--csv"), threads[8], n_threads, t, n_lines = 0, longest = 0, quantized = 0, l;
    tfm_model *m = NULL;
    tfm_error err;
    tfm_file_map doc;
    char *data = NULL, tmp[64];
    const char **lines = NULL;
    size_t *lens = NULL, size = 0, i, start;
    int *counts = NULL;
    long tokens = 0;
    double macs;
    FILE *f;
    int rc = 1;
    n_threads = bench_threads(argc, argv, threads, 8);
    if (!n_threads || !path || !text || max_lines < 1 || batch < 1 || reps < 1) {
        fprintf(stderr, "tfm-bench embed: -m MODEL -f TEXT, --lines, --batch and --reps positive\n");
        return 2;
    }
    if (tfm_model_load(path, NULL, &m, &err) != TFM_OK) {
        fprintf(stderr, "tfm-bench embed: %s\n", err.message);
        return 1;
    }
    /* the first max_lines non-empty lines of the text */
    memset(&doc, 0, sizeof doc);
    if (tfm_file_map_open(&doc, text, 0, &err) == TFM_OK) data = (char *)(uintptr_t)doc.data, size = doc.size;
    lines = (const char **)malloc(sizeof(char *) * (size_t)max_lines);
    lens = (size_t *)malloc(sizeof(size_t) * (size_t)max_lines);
    counts = (int *)malloc(sizeof(int) * (size_t)max_lines);
    if (!data || !lines || !lens || !counts) {
        fprintf(stderr, "tfm-bench embed: cannot read '%s'\n", text);
        goto done;
    }
    for (i = start = 0; i <= size && n_lines < max_lines; i++)
        if (i == size || data[i] == '\n') {
            if (i > start) lines[n_lines] = data + start, lens[n_lines++] = i - start;
            start = i + 1;
        }
    for (l = 0; l < m->config.n_layers; l++) quantized |= tfm_quant_vec_dot_type(m->layers[l].wq.tensor.dtype) != TFM_F32;
    macs = bench_token_macs(m);
    if (!csv) {
        double load = load_average();
        printf("embedding %d lines of %s, batches of %ld, with %s (%s matrices); load average %.2f\n", n_lines, text, batch,
               path, quantized ? "quantized" : "float", load);
    }
    for (t = 0; t < n_threads; t++) {
        tfm_context_params p;
        embed_job job;
        const bench_ceiling *ceil = bench_ceiling_get(threads[t]);
        double peak = quantized ? bench_int8_peak_gops(threads[t]) : ceil->fma_gflops, best = INFINITY, lcpp_best = INFINITY;
        double gemm_s, gemm_flops = 0;
        bench_row row;
        long r;
        memset(&job, 0, sizeof job);
        memset(&p, 0, sizeof p);
        p.n_threads = threads[t];
        if (tfm_context_create(m, &p, &job.ctx, &err) != TFM_OK) {
            fprintf(stderr, "tfm-bench embed: %s\n", err.message);
            goto done;
        }
        job.lines = lines, job.lens = lens, job.n_lines = n_lines, job.batch = (int)batch;
        job.dim = m->config.dim;
        job.out = (float *)malloc(sizeof(float) * (size_t)n_lines * (size_t)job.dim);
        if (t == 0) { /* tokens, and the longest line, once */
            for (r = 0; r < n_lines; r++) {
                int count = 0;
                tfm_tokenize(tfm_model_tokenizer(m), lines[r], lens[r], TFM_TOKENIZE_ADD_SPECIAL, NULL, 0, &count, NULL);
                tokens += count;
                counts[r] = count;
                if (count > longest) longest = count;
            }
            if (lcpp) { /* the lines, one a line, for llama-embedding */
                snprintf(tmp, sizeof tmp, "/tmp/tfm-bench-embed-%ld.txt", (long)getpid());
                f = fopen(tmp, "wb");
                for (r = 0; f && r < n_lines; r++) fprintf(f, "%.*s\n", (int)lens[r], lines[r]);
                if (!f || fclose(f) != 0) {
                    fprintf(stderr, "tfm-bench embed: cannot write the lines for llama-embedding\n");
                    lcpp = NULL;
                }
            }
        }
        embed_all(&job); /* warm-up */
        for (r = 0; r < reps && !job.failed; r++) {
            double t0 = bench_now(), dt;
            embed_all(&job);
            dt = bench_now() - t0;
            if (dt < best) best = dt;
            if (lcpp) {
                long b = (long)((double)tokens / n_lines * batch);
                double s = llama_embedding_seconds(lcpp, path, tmp, threads[t], b > longest ? b : longest,
                                                   tfm_pooling_name(tfm_embed_default_pooling(m)));
                if (s > 0 && s < lcpp_best) lcpp_best = s;
            }
        }
        if (job.failed) fprintf(stderr, "tfm-bench embed: %s\n", job.err.message);
        gemm_s = job.failed ? NAN
                            : replay_seconds(m, counts, n_lines, (int)batch, tfm_context_max_batch(job.ctx), threads[t], reps,
                                             &gemm_flops);
        bench_row_init(&row);
        bench_row_int(&row, "threads", threads[t]);
        bench_row_num(&row, "sent_s", n_lines / best, 1);
        bench_row_num(&row, "tok_s", tokens / best, 0);
        bench_row_num(&row, "gflops", 2.0 * macs * (double)tokens / best * 1e-9, 1);
        bench_row_num(&row, "peak", peak, 1);
        bench_row_num(&row, "pct_peak", bench_pct(2.0 * macs * (double)tokens / best * 1e-9, peak), 0);
        bench_row_num(&row, "gemm_gflops", gemm_flops / gemm_s * 1e-9, 1);
        bench_row_num(&row, "gemm_pct", bench_pct(gemm_flops / gemm_s * 1e-9, peak), 0);
        bench_row_num(&row, "gemm_time", bench_pct(gemm_s, best), 0);
        if (lcpp) {
            bench_row_num(&row, "lcpp_sent_s", lcpp_best < INFINITY ? n_lines / lcpp_best : NAN, 1);
            bench_row_num(&row, "ratio", lcpp_best < INFINITY ? lcpp_best / best : NAN, 2);
        }
        bench_row_num(&row, "load", load_average(), 2);
        bench_row_print(&row, csv, t == 0);
        free(job.out);
        tfm_context_free(job.ctx);
        if (job.failed) goto done;
    }
    rc = 0;
done:
    if (lcpp) remove(tmp);
    free(lines);
    free(lens);
    free(counts);
    tfm_file_map_close(&doc);
    tfm_model_free(m);
    return rc;
}

/* ---------------------------------------------------------------- search */

typedef struct search_job {
    float **matrices;
    int n_matrices, next;
    int count, dim, k, threads;
    const float *query;
    float *scores;
    tfm_embed_hit *hits;
    int failed;
} search_job;

static void search_once(void *p)
{
    search_job *j = (search_job *)p;
    int n_hits;
    const float *m = j->matrices[j->next];
    j->next = (j->next + 1) % j->n_matrices;
    if (tfm_embed_search(m, j->count, j->dim, j->query, j->k, j->scores, j->hits, &n_hits, j->threads) != TFM_OK)
        j->failed = 1;
}

static int bench_embed_search(int argc, char **argv)
{
    int csv = bench_flag(argc, argv, "--csv"), threads[8], n_threads, t, i, warm;
    long count = bench_arg_int(argc, argv, "--count", 100000), dim = bench_arg_int(argc, argv, "--dim", 384);
    long k = bench_arg_int(argc, argv, "--k", 5);
    double seconds = bench_arg_num(argc, argv, "--seconds", 1.0);
    size_t bytes, n, c;
    search_job job;
    float *query;
    n_threads = bench_threads(argc, argv, threads, 8);
    if (!n_threads) return 2;
    if (count < 1 || dim < 1 || k < 1 || count > 100000000L || dim > 65536 || k > 100000) {
        fprintf(stderr, "tfm-bench embed: --count 1..1e8, --dim 1..65536, --k 1..1e5\n");
        return 2;
    }
    n = (size_t)count * (size_t)dim;
    bytes = n * sizeof(float);
    memset(&job, 0, sizeof job);
    job.n_matrices = (int)(((size_t)1 << 30) / bytes) + 1;
    if (job.n_matrices < 2) job.n_matrices = 2;
    job.matrices = (float **)calloc((size_t)job.n_matrices, sizeof(float *));
    query = (float *)malloc(sizeof(float) * (size_t)dim);
    job.scores = (float *)malloc(sizeof(float) * (size_t)count);
    job.hits = (tfm_embed_hit *)malloc(sizeof(tfm_embed_hit) * (size_t)k);
    if (!job.matrices || !query || !job.scores || !job.hits) return 1;
    for (i = 0; i < job.n_matrices; i++) {
        uint64_t state = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        job.matrices[i] = (float *)tfm_aligned_alloc(bytes);
        if (!job.matrices[i]) {
            fprintf(stderr, "tfm-bench embed: out of memory for %d copies of %zu bytes\n", job.n_matrices, bytes);
            return 1;
        }
        for (c = 0; c < n; c++) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            job.matrices[i][c] = (float)((double)(state >> 40) / 16777216.0 - 0.5);
        }
        for (c = 0; c < (size_t)count; c++) tfm_embed_normalize(job.matrices[i] + c * (size_t)dim, (size_t)dim);
    }
    for (i = 0; i < dim; i++) query[i] = (float)sin(0.37 * i);
    tfm_embed_normalize(query, (size_t)dim);
    job.count = (int)count;
    job.dim = (int)dim;
    job.k = (int)k;
    job.query = query;
    if (!csv)
        printf("exact search: %ld passages x %ld floats = %.1f MB a query, top %ld; cold: %d copies rotated\n", count,
               dim, (double)bytes * 1e-6, k, job.n_matrices);
    for (t = 0; t < n_threads; t++)
        for (warm = 0; warm < 2; warm++) {
            const bench_ceiling *ceil = bench_ceiling_get(threads[t]);
            int all = job.n_matrices;
            double best, gbps;
            bench_row row;
            job.threads = threads[t];
            job.n_matrices = warm ? 1 : all;
            job.next = 0;
            best = bench_best(search_once, &job, warm ? 5 : 2 * all, seconds);
            job.n_matrices = all;
            gbps = (double)bytes / best * 1e-9;
            bench_row_init(&row);
            bench_row_int(&row, "threads", threads[t]);
            bench_row_str(&row, "matrix", warm ? "warm" : "cold");
            bench_row_num(&row, "query_ms", best * 1e3, 3);
            bench_row_num(&row, "limit_ms", (double)bytes / (ceil->read_gbps * 1e9) * 1e3, 3);
            bench_row_num(&row, "gbps", gbps, 1);
            bench_row_num(&row, "read_gbps", ceil->read_gbps, 1);
            bench_row_num(&row, "pct_read", bench_pct(gbps, ceil->read_gbps), 0);
            bench_row_print(&row, csv, t == 0 && warm == 0);
        }
    for (i = 0; i < job.n_matrices; i++) tfm_aligned_free(job.matrices[i]);
    free(job.matrices), free(query), free(job.scores), free(job.hits);
    return job.failed;
}

int bench_embed(int argc, char **argv)
{
    if (!bench_check_args(argc, argv, "--threads --count --dim --k --seconds -m -f --lines --batch --reps --llama-embedding",
                          "--csv --search"))
        return 2;
    if (bench_flag(argc, argv, "--search")) return bench_embed_search(argc, argv);
    if (bench_arg_str(argc, argv, "-m", NULL)) return bench_embed_model(argc, argv);
    fprintf(stderr, "tfm-bench embed: -m MODEL -f TEXT (embedding throughput) or --search (exact retrieval)\n");
    return 2;
}

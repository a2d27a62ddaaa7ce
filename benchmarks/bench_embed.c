/* bench_embed.c - `tfm-bench embed`: exact retrieval search against the read bandwidth.

     tfm-bench embed --search [--count 100000] [--dim 384] [--k 5] [--threads 1,2]

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
    if (!bench_check_args(argc, argv, "--threads --count --dim --k --seconds", "--csv --search")) return 2;
    if (bench_flag(argc, argv, "--search")) return bench_embed_search(argc, argv);
    fprintf(stderr, "tfm-bench embed: --search (exact retrieval over --count vectors of --dim floats)\n");
    return 2;
}

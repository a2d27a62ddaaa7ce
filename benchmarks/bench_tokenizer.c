/* bench_tokenizer.c - encode throughput of tfm_tokenizer.h (tfm-bench tokenizer).

     tfm-bench tokenizer [--text FILE] [--models DIR] [--ref-max BYTES] [--seconds S] [--csv]

   For tok512.bin and the 32000-token tokenizer.bin (from --models, default ../shared/models): the
   whole --text (default ../shared/golden/tinystories.valid.first500.txt, 400 KB) encoded with BOS,
   in MB/s of text and tokens/s. Then, on prefixes of 512 bytes doubling up to --ref-max (default 4096),
   the same encode beside a plain llama2.c-style encode written here (every adjacent pair looked up
   again after every merge, as llama2.c's run.c does: O(n^2)); ratio = its time over ours, which grows
   with the length. Tokenizing is single-threaded. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the llama2.c-style baseline */

typedef struct l2c_vocab {
    int n;
    char **piece; /* NUL-terminated, as llama2.c keeps them */
    float *score;
    int *sorted;  /* ids by piece, for bsearch */
} l2c_vocab;

static const l2c_vocab *l2c_sorting;

static int l2c_cmp_ids(const void *a, const void *b)
{
    return strcmp(l2c_sorting->piece[*(const int *)a], l2c_sorting->piece[*(const int *)b]);
}

static int l2c_load(l2c_vocab *v, const tfm_tokenizer *tok)
{
    int i;
    v->n = tfm_tokenizer_vocab_size(tok);
    v->piece = (char **)malloc((size_t)v->n * sizeof *v->piece);
    v->score = (float *)malloc((size_t)v->n * sizeof *v->score);
    v->sorted = (int *)malloc((size_t)v->n * sizeof *v->sorted);
    if (!v->piece || !v->score || !v->sorted) return 0;
    for (i = 0; i < v->n; i++) {
        const char *p;
        size_t len;
        tfm_tokenizer_token(tok, i, &p, &len, &v->score[i], NULL);
        v->piece[i] = (char *)malloc(len + 1);
        if (!v->piece[i]) return 0;
        memcpy(v->piece[i], p, len + 1);
        v->sorted[i] = i;
    }
    l2c_sorting = v;
    qsort(v->sorted, (size_t)v->n, sizeof *v->sorted, l2c_cmp_ids);
    return 1;
}

static void l2c_free(l2c_vocab *v)
{
    int i;
    for (i = 0; v->piece && i < v->n; i++) free(v->piece[i]);
    free(v->piece);
    free(v->score);
    free(v->sorted);
}

static int l2c_lookup(const l2c_vocab *v, const char *s)
{
    int lo = 0, hi = v->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(v->piece[v->sorted[mid]], s);
        if (c == 0) return v->sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* llama2.c's encode(text, bos=1, eos=0) on a C string; tokens needs strlen(text) + 2 entries. */
static int l2c_encode(const l2c_vocab *v, const char *text, int *tokens, char *buf)
{
    int n = 0, str_len = 0;
    const char *c;
    tokens[n++] = 1;
    if (text[0]) tokens[n++] = l2c_lookup(v, " ");
    for (c = text; *c; c++) {
        int id;
        if ((*c & 0xC0) != 0x80) str_len = 0;
        buf[str_len++] = *c;
        buf[str_len] = '\0';
        if ((c[1] & 0xC0) == 0x80 && str_len < 4) continue;
        id = l2c_lookup(v, buf);
        if (id != -1) {
            tokens[n++] = id;
        } else {
            int i;
            for (i = 0; i < str_len; i++) tokens[n++] = (unsigned char)buf[i] + 3;
        }
        str_len = 0;
    }
    for (;;) {
        float best_score = -1e10f;
        int best_id = -1, best_idx = -1, i;
        for (i = 0; i < n - 1; i++) {
            int id;
            sprintf(buf, "%s%s", v->piece[tokens[i]], v->piece[tokens[i + 1]]);
            id = l2c_lookup(v, buf);
            if (id != -1 && v->score[id] > best_score) {
                best_score = v->score[id];
                best_id = id;
                best_idx = i;
            }
        }
        if (best_idx == -1) break;
        tokens[best_idx] = best_id;
        for (i = best_idx + 1; i < n - 1; i++) tokens[i] = tokens[i + 1];
        n--;
    }
    return n;
}

/* ---------------------------------------------------------------- timing */

typedef struct tok_job {
    const tfm_tokenizer *tok;
    const l2c_vocab *l2c;
    const char *text;
    size_t len;
    int *ids;
    int n;
    char *buf;
} tok_job;

static void run_ours(void *p)
{
    tok_job *j = (tok_job *)p;
    if (tfm_tokenizer_encode(j->tok, j->text, j->len, 1, 0, j->ids, (int)j->len + 3, &j->n) != TFM_OK) j->n = -1;
}

static void run_l2c(void *p)
{
    tok_job *j = (tok_job *)p;
    j->n = l2c_encode(j->l2c, j->text, j->ids, j->buf);
}

static char *read_text(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = (char *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *size = (size_t)n;
    return buf;
}

static int bench_one_tokenizer(const char *dir, const char *name, const char *text, size_t size, long ref_max,
                               double seconds, int csv, int *header)
{
    char path[1024];
    tfm_tokenizer *tok;
    tfm_error err;
    l2c_vocab l2c;
    tok_job job;
    bench_row row;
    double t;
    long prefix;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (tfm_tokenizer_load_llama2c(&tok, path, 0, &err) != TFM_OK) {
        printf("tokenizer: %s: skipped\n", err.message);
        return 0;
    }
    memset(&job, 0, sizeof job);
    memset(&l2c, 0, sizeof l2c);
    job.tok = tok;
    job.text = text;
    job.len = size;
    job.ids = (int *)malloc((size + 3) * sizeof *job.ids);
    job.buf = (char *)malloc(1024);
    if (!job.ids || !job.buf || !l2c_load(&l2c, tok)) {
        fprintf(stderr, "tfm-bench tokenizer: out of memory\n");
        free(job.ids);
        free(job.buf);
        l2c_free(&l2c);
        tfm_tokenizer_free(tok);
        return 1;
    }
    job.l2c = &l2c;
    t = bench_best(run_ours, &job, 3, seconds);
    bench_row_init(&row);
    bench_row_str(&row, "tokenizer", name);
    bench_row_int(&row, "bytes", (long long)size);
    bench_row_int(&row, "tokens", job.n);
    bench_row_num(&row, "ms", t * 1e3, 2);
    bench_row_num(&row, "MB_s", (double)size / t * 1e-6, 2);
    bench_row_num(&row, "tok_s", job.n / t, 0);
    bench_row_str(&row, "l2c_ms", "");
    bench_row_str(&row, "ratio", "");
    bench_row_print(&row, csv, *header);
    *header = 0;
    /* prefixes, against the quadratic baseline (which wants a C string: cut a copy) */
    for (prefix = 512; prefix <= ref_max && (size_t)prefix <= size; prefix *= 2) {
        char *cut = (char *)malloc((size_t)prefix + 1);
        double t_l2c;
        int n_ours, same = 1, i, *ours;
        if (!cut) break;
        memcpy(cut, text, (size_t)prefix);
        cut[prefix] = '\0';
        job.text = cut;
        job.len = (size_t)prefix;
        t = bench_best(run_ours, &job, 3, seconds);
        n_ours = job.n;
        ours = (int *)malloc((size_t)(n_ours > 0 ? n_ours : 1) * sizeof *ours);
        if (ours) memcpy(ours, job.ids, (size_t)(n_ours > 0 ? n_ours : 0) * sizeof *ours);
        t_l2c = bench_best(run_l2c, &job, 1, 0.0);
        for (i = 0; ours && i < n_ours && i < job.n; i++) same &= ours[i] == job.ids[i];
        if (!ours || job.n != n_ours || !same)
            fprintf(stderr, "tfm-bench tokenizer: %s, %ld bytes: ids differ from the llama2.c-style encode\n", name, prefix);
        bench_row_init(&row);
        bench_row_str(&row, "tokenizer", name);
        bench_row_int(&row, "bytes", prefix);
        bench_row_int(&row, "tokens", n_ours);
        bench_row_num(&row, "ms", t * 1e3, 3);
        bench_row_num(&row, "MB_s", (double)prefix / t * 1e-6, 2);
        bench_row_num(&row, "tok_s", n_ours / t, 0);
        bench_row_num(&row, "l2c_ms", t_l2c * 1e3, 1);
        bench_row_num(&row, "ratio", t_l2c / t, 1);
        bench_row_print(&row, csv, 0);
        free(ours);
        free(cut);
    }
    free(job.ids);
    free(job.buf);
    l2c_free(&l2c);
    tfm_tokenizer_free(tok);
    return 0;
}

int bench_tokenizer(int argc, char **argv)
{
    const char *text_path = bench_arg_str(argc, argv, "--text", "../shared/golden/tinystories.valid.first500.txt");
    const char *dir = bench_arg_str(argc, argv, "--models", "../shared/models");
    long ref_max = bench_arg_int(argc, argv, "--ref-max", 4096);
    double seconds = bench_arg_num(argc, argv, "--seconds", 1.0);
    int csv = bench_flag(argc, argv, "--csv"), header = 1, failed = 0;
    size_t size;
    char *text;
    if (!bench_check_args(argc, argv, "--text --models --ref-max --seconds --threads", "--csv")) return 2;
    text = read_text(text_path, &size);
    if (!text) {
        printf("tokenizer: no text (--text; %s not found): skipped\n", text_path);
        return 0;
    }
    if (!csv)
        printf("encode with BOS, single-threaded; ratio = llama2.c-style O(n^2) encode time / ours on the same prefix\n");
    failed |= bench_one_tokenizer(dir, "tok512.bin", text, size, ref_max, seconds, csv, &header);
    failed |= bench_one_tokenizer(dir, "tokenizer.bin", text, size, ref_max, seconds, csv, &header);
    free(text);
    return failed;
}

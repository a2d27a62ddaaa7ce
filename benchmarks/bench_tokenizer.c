/* bench_tokenizer.c - encode throughput of tfm_tokenizer.h (tfm-bench tokenizer).

     tfm-bench tokenizer [--text FILE] [--models DIR] [--ref-max BYTES] [--seconds S] [--csv]
                         [--vocabs DIR] [--vocab-names llama3,qwen3] [--reps N] [--repeat K]
                         [--llama-tokenize PATH] [--tfm-tokenize PATH]

   SentencePiece: for tok512.bin and the 32000-token tokenizer.bin (from --models, default
   ../shared/models): the whole --text (default ../shared/golden/tinystories.valid.first500.txt, 400 KB)
   encoded with BOS, in MB/s of text and tokens/s. Then, on prefixes of 512 bytes doubling up to --ref-max
   (default 4096), the same encode beside a plain llama2.c-style encode written here (every adjacent pair
   looked up again after every merge, as llama2.c's run.c does: O(n^2)); ratio = its time over ours.

   GGUF vocabs (--vocab-names in --vocabs, default llama3,qwen3 in ../shared/vocab): the same text
   tokenized as llama.cpp's llama-tokenize does by default (BOS as the vocab says, special tokens
   written in the text not parsed), best of --reps; the pre-tokenizer alone (tfm_tokenizer_pretokenize:
   special tokens, UTF-8, the split rules) beside it says what bounds the encode. With
   --llama-tokenize PATH, in the same run and alternating rep by rep: `llama-tokenize -m VOCAB -f TEXT
   --ids --no-parse-special --log-disable` on --repeat K copies of the text (default 4) minus the same on
   a 1-byte file (its load), divided by K, and its ids compared with ours. Load: tfm_model_load_vocab's
   time in this process; then tfm-tokenize (--tfm-tokenize, default build/tfm-tokenize) and
   llama-tokenize run on the vocab with a 1-byte text as processes: wall time, and peak RSS beyond the
   same program's failing on a missing file (its code and libraries) and beyond the vocab file's size.
   held = tfm_tokenizer_memory, what the loaded vocab keeps. Tokenizing is single-threaded. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if !defined(_WIN32)
#include <sys/resource.h>
#include <sys/wait.h>
#endif

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

/* ---------------------------------------------------------------- GGUF vocabs against llama.cpp */

/* CPU seconds (user + system) of the children waited for so far. */
#if defined(_WIN32) /* the processes llama.cpp is compared by are started the POSIX way: not on Windows */
static double run_child(char *const argv[], const char *out_path, int *status, long *peak_kib, double *cpu)
{
    (void)argv, (void)out_path, (void)status, (void)peak_kib, (void)cpu;
    return -1;
}
#else
static double children_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + 1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Runs argv as a child (stdout to out_path, or /dev/null; stderr to /dev/null) through GNU time when
   /usr/bin/time exists, for the child's own peak RSS (a child forked from this process would count this
   process's pages until its exec). Returns the wall seconds, the exit status in *status and the peak RSS
   in KiB in *peak_kib (0: unknown), its CPU seconds (user + system) in *cpu, or -1 when it cannot start. */
static double run_child(char *const argv[], const char *out_path, int *status, long *peak_kib, double *cpu)
{
    double cpu0 = children_cpu();
    static const char time_bin[] = "/usr/bin/time";
    char rss_path[64], *timed[32];
    int have_time = access(time_bin, X_OK) == 0, st = -1, k = 0, i;
    double t0;
    pid_t pid;
    FILE *f;
    snprintf(rss_path, sizeof rss_path, "/tmp/tfm-bench-tok-%ld.rss", (long)getpid());
    if (have_time) {
        timed[k++] = (char *)time_bin, timed[k++] = (char *)"-f", timed[k++] = (char *)"%M";
        timed[k++] = (char *)"-o", timed[k++] = rss_path;
    }
    for (i = 0; argv[i] && k < 31; i++) timed[k++] = argv[i];
    timed[k] = NULL;
    fflush(stdout); /* the child must not print what this process buffered */
    t0 = bench_now();
    pid = fork();
    if (pid == 0) {
        FILE *out = freopen(out_path ? out_path : "/dev/null", "w", stdout);
        FILE *err = freopen("/dev/null", "w", stderr);
        if (out && err) execv(timed[0], timed);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    t0 = bench_now() - t0;
    *cpu = children_cpu() - cpu0;
    *peak_kib = 0;
    if (have_time && (f = fopen(rss_path, "r")) != NULL) {
        char line[128];
        while (fgets(line, sizeof line, f)) /* "Command exited with non-zero status 1", then the value */
            if (line[0] >= '0' && line[0] <= '9') *peak_kib = atol(line);
        fclose(f);
    }
    remove(rss_path);
    return t0;
}
#endif

/* The least CPU time of one call of fn over reps calls (after one to warm up): on a shared machine the
   wall clock counts the other programs' turns too. */
static double cpu_best(bench_fn fn, void *ctx, int reps)
{
    double best = 1e30;
    int r;
    fn(ctx);
    for (r = 0; r < reps; r++) {
        clock_t t0 = clock();
        double t;
        fn(ctx);
        t = (double)(clock() - t0) / CLOCKS_PER_SEC;
        if (t < best) best = t;
    }
    return best;
}

static int write_file(const char *path, const char *data, size_t size, int copies)
{
    FILE *f = fopen(path, "wb");
    int i, ok = f != NULL;
    for (i = 0; ok && i < copies; i++) ok = fwrite(data, 1, size, f) == size;
    if (f && fclose(f) != 0) ok = 0;
    return ok;
}

/* The ids llama-tokenize --ids printed ("[1, 2, 3]") into ids (at most cap); their count. */
static int read_llama_ids(const char *path, int *ids, int cap)
{
    FILE *f = fopen(path, "rb");
    int n = 0, c, v = 0, in = 0;
    if (!f) return -1;
    while ((c = fgetc(f)) != EOF) {
        if (c >= '0' && c <= '9') {
            v = v * 10 + (c - '0');
            in = 1;
        } else if (in) {
            if (n < cap) ids[n] = v;
            n++;
            v = in = 0;
        }
    }
    fclose(f);
    return n;
}

typedef struct vocab_job {
    const tfm_tokenizer *tok;
    const char *text;
    size_t len;
    int *ids, n, max;
    long words;
} vocab_job;

static void run_tokenize(void *p)
{
    vocab_job *j = (vocab_job *)p;
    if (tfm_tokenize(j->tok, j->text, j->len, TFM_TOKENIZE_ADD_SPECIAL, j->ids, j->max, &j->n, NULL) != TFM_OK) j->n = -1;
}

static int count_word(void *user, const char *word, size_t len)
{
    (void)word, (void)len;
    ((vocab_job *)user)->words++;
    return 1;
}

static void run_pretokenize(void *p)
{
    vocab_job *j = (vocab_job *)p;
    j->words = 0;
    if (tfm_tokenizer_pretokenize(j->tok, j->text, j->len, 0, count_word, j, NULL) != TFM_OK) j->words = -1;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* One vocab: load, throughput, and llama.cpp beside both; CPU times (see the top). */
static int bench_vocab(const char *dir, const char *name, const char *text, size_t size, int argc, char **argv,
                       int csv, int *header)
{
#if defined(_WIN32)
    const char *llama = NULL; /* started the POSIX way (run_child): not on Windows */
#else
    const char *llama = bench_arg_str(argc, argv, "--llama-tokenize", NULL);
#endif
    const char *ours_bin = bench_arg_str(argc, argv, "--tfm-tokenize", "build/tfm-tokenize");
    int reps = (int)bench_arg_int(argc, argv, "--reps", 3), copies = (int)bench_arg_int(argc, argv, "--repeat", 4);
    char path[1024], text_path[64], tiny_path[64], out_path[64];
    double t_load = 1e30, t_ours, t_pre, llama_text = 1e30, llama_tiny = 1e30, ours_proc = 1e30, wall, cpu;
    long peak[4] = {0, 0, 0, 0}, vocab_bytes, kib;
    tfm_tokenizer *tok = NULL;
    tfm_error err;
    vocab_job job;
    bench_row row;
    int r, same = -1, status;
    if (copies < 1) copies = 1;
    snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, name);
    vocab_bytes = file_size(path);
    for (r = 0; r < reps; r++) {
        clock_t t0 = clock();
        tfm_tokenizer_free(tok);
        if (tfm_model_load_vocab(path, &tok, &err) != TFM_OK) {
            printf("tokenizer: %s: skipped\n", err.message);
            return 0;
        }
        if ((double)(clock() - t0) / CLOCKS_PER_SEC < t_load) t_load = (double)(clock() - t0) / CLOCKS_PER_SEC;
    }
    memset(&job, 0, sizeof job);
    job.tok = tok;
    job.text = text;
    job.len = size;
    job.max = (int)(3 * size + 3);
    job.ids = (int *)malloc(sizeof(int) * (size_t)job.max);
    if (!job.ids) {
        tfm_tokenizer_free(tok);
        return 1;
    }
    t_ours = cpu_best(run_tokenize, &job, reps);
    t_pre = cpu_best(run_pretokenize, &job, reps);
    run_tokenize(&job);
    /* the processes, alternating rep by rep: ours and llama.cpp's on a 1-byte text, llama.cpp's on the text */
    snprintf(text_path, sizeof text_path, "/tmp/tfm-bench-tok-%ld.txt", (long)getpid());
    snprintf(tiny_path, sizeof tiny_path, "/tmp/tfm-bench-tok-%ld.tiny", (long)getpid());
    snprintf(out_path, sizeof out_path, "/tmp/tfm-bench-tok-%ld.out", (long)getpid());
    if (write_file(text_path, text, size, copies) && write_file(tiny_path, "x", 1, 1)) {
        char *ours_tiny[] = {(char *)ours_bin, (char *)"-m", path, (char *)"-f", tiny_path, (char *)"--ids", NULL};
        char *ours_none[] = {(char *)ours_bin, (char *)"-m", (char *)"/nonexistent.gguf", (char *)"-p", (char *)"x", NULL};
        char *l_text[] = {(char *)llama, (char *)"-m", path, (char *)"-f", text_path, (char *)"--ids",
                          (char *)"--no-parse-special", (char *)"--log-disable", NULL};
        char *l_tiny[] = {(char *)llama, (char *)"-m", path, (char *)"-f", tiny_path, (char *)"--ids",
                          (char *)"--no-parse-special", (char *)"--log-disable", NULL};
        char *l_none[] = {(char *)llama, (char *)"-m", (char *)"/nonexistent.gguf", (char *)"-p", (char *)"x",
                          (char *)"--log-disable", NULL};
        run_child(ours_none, NULL, &status, &peak[0], &cpu);
        for (r = 0; r < reps; r++) {
            if ((wall = run_child(ours_tiny, NULL, &status, &kib, &cpu)) >= 0 && status == 0) {
                if (cpu < ours_proc) ours_proc = cpu;
                if (kib > peak[1]) peak[1] = kib;
            }
            if (!llama) continue;
            if ((wall = run_child(l_tiny, NULL, &status, &kib, &cpu)) >= 0 && status == 0) {
                if (cpu < llama_tiny) llama_tiny = cpu;
                if (kib > peak[3]) peak[3] = kib;
            }
            if ((wall = run_child(l_text, out_path, &status, &kib, &cpu)) >= 0 && status == 0 && cpu < llama_text)
                llama_text = cpu;
        }
        if (llama) { /* its baseline, and its ids on one copy of the text against ours */
            int *theirs = (int *)malloc(sizeof(int) * (size_t)job.max), n = -1;
            run_child(l_none, NULL, &status, &peak[2], &cpu);
            if (theirs && write_file(text_path, text, size, 1) && run_child(l_text, out_path, &status, &kib, &cpu) >= 0 &&
                status == 0)
                n = read_llama_ids(out_path, theirs, job.max);
            same = n == job.n && memcmp(theirs, job.ids, sizeof(int) * (size_t)n) == 0;
            free(theirs);
        }
    }
    remove(text_path);
    remove(tiny_path);
    remove(out_path);
    (void)wall;
    bench_row_init(&row);
    bench_row_str(&row, "vocab", name);
    bench_row_int(&row, "tokens", tfm_tokenizer_vocab_size(tok));
    bench_row_int(&row, "bytes", (long long)size);
    bench_row_int(&row, "ids", job.n);
    bench_row_num(&row, "MB_s", (double)size / t_ours * 1e-6, 1);
    bench_row_num(&row, "pretok_MB_s", (double)size / t_pre * 1e-6, 1);
    bench_row_num(&row, "llama_MB_s", llama ? (double)size * copies / (llama_text - llama_tiny) * 1e-6 : 0.0 / 0.0, 2);
    bench_row_num(&row, "ratio", llama ? (llama_text - llama_tiny) / copies / t_ours : 0.0 / 0.0, 1);
    bench_row_str(&row, "same_ids", same < 0 ? "" : same ? "yes" : "NO");
    bench_row_num(&row, "load_ms", t_load * 1e3, 1);
    bench_row_num(&row, "proc_ms", ours_proc < 1e30 ? ours_proc * 1e3 : 0.0 / 0.0, 0);
    bench_row_num(&row, "llama_proc_ms", llama && llama_tiny < 1e30 ? llama_tiny * 1e3 : 0.0 / 0.0, 0);
    bench_row_num(&row, "held_MB", (double)tfm_tokenizer_memory(tok) / 1048576.0, 1);
    bench_row_num(&row, "file_MB", (double)vocab_bytes / 1048576.0, 1);
    bench_row_num(&row, "rss_MB", peak[1] > 0 ? (double)(peak[1] - peak[0]) / 1024.0 : 0.0 / 0.0, 1);
    bench_row_num(&row, "llama_rss_MB", llama && peak[3] > 0 ? (double)(peak[3] - peak[2]) / 1024.0 : 0.0 / 0.0, 1);
    bench_row_print(&row, csv, *header);
    *header = 0;
    if (same == 0) fprintf(stderr, "tfm-bench tokenizer: %s: our ids differ from llama-tokenize's\n", name);
    free(job.ids);
    tfm_tokenizer_free(tok);
    return same == 0;
}

int bench_tokenizer(int argc, char **argv)
{
    const char *text_path = bench_arg_str(argc, argv, "--text", "../shared/golden/tinystories.valid.first500.txt");
    const char *dir = bench_arg_str(argc, argv, "--models", "../shared/models");
    const char *vocab_dir = bench_arg_str(argc, argv, "--vocabs", "../shared/vocab");
    const char *names = bench_arg_str(argc, argv, "--vocab-names", "llama3,qwen3");
    long ref_max = bench_arg_int(argc, argv, "--ref-max", 4096);
    double seconds = bench_arg_num(argc, argv, "--seconds", 1.0);
    int csv = bench_flag(argc, argv, "--csv"), header = 1, failed = 0;
    size_t size;
    char *text, name[64];
    if (!bench_check_args(argc, argv,
                          "--text --models --ref-max --seconds --threads --vocabs --vocab-names --reps --repeat "
                          "--llama-tokenize --tfm-tokenize",
                          "--csv"))
        return 2;
    text = read_text(text_path, &size);
    if (!text) {
        printf("tokenizer: no text (--text; %s not found): skipped\n", text_path);
        return 0;
    }
    if (!csv)
        printf("encode with BOS, single-threaded; ratio = llama2.c-style O(n^2) encode time / ours on the same prefix\n");
    failed |= bench_one_tokenizer(dir, "tok512.bin", text, size, ref_max, seconds, csv, &header);
    failed |= bench_one_tokenizer(dir, "tokenizer.bin", text, size, ref_max, seconds, csv, &header);
    if (!csv)
        printf("\nGGUF vocabs, llama-tokenize's defaults (BOS as the vocab says, specials not parsed), CPU time; "
               "ratio = llama.cpp's time / ours;\nload_ms: tfm_model_load_vocab; proc_ms: a tfm-tokenize / "
               "llama-tokenize process on 1 byte; rss_MB: its peak RSS beyond a failing run\n");
    header = 1;
    while (*names) {
        size_t k = strcspn(names, ",");
        snprintf(name, sizeof name, "%.*s", (int)(k < sizeof name ? k : sizeof name - 1), names);
        if (k) failed |= bench_vocab(vocab_dir, name, text, size, argc, argv, csv, &header);
        names += k + (names[k] == ',');
    }
    free(text);
    return failed;
}

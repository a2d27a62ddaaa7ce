/* Tests of tfm_tokenizer.h: the golden llama2.c ids, a plain llama2.c-style O(n^2) reference encoder
   written here, round trips, the array loader against the file loader (and the GGUF vocab), and
   malformed files. */
#include "tfm_test.h"
#include "tfm_tokenizer.h"

static char tmp_dir[512] = "build";

/* ---------------------------------------------------------------- reference vocab and encoder */

/* A vocab as llama2.c holds it: pieces (byte strings here), scores, and ids sorted by piece for bsearch. */
typedef struct ref_vocab {
    int n;
    char **piece;
    int *len;
    float *score;
    int *sorted;
} ref_vocab;

static const ref_vocab *ref_sort_vocab; /* qsort has no context argument */

static int ref_cmp_bytes(const char *a, int na, const char *b, int nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c ? c : (na > nb) - (na < nb);
}

static int ref_cmp_ids(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return ref_cmp_bytes(ref_sort_vocab->piece[a], ref_sort_vocab->len[a], ref_sort_vocab->piece[b],
                         ref_sort_vocab->len[b]);
}

static void ref_vocab_init(ref_vocab *v, int n)
{
    v->n = n;
    v->piece = (char **)tt_alloc((size_t)n * sizeof *v->piece);
    v->len = (int *)tt_alloc((size_t)n * sizeof *v->len);
    v->score = (float *)tt_alloc((size_t)n * sizeof *v->score);
    v->sorted = (int *)tt_alloc((size_t)n * sizeof *v->sorted);
}

static void ref_vocab_sort(ref_vocab *v)
{
    int i;
    for (i = 0; i < v->n; i++) v->sorted[i] = i;
    ref_sort_vocab = v;
    qsort(v->sorted, (size_t)v->n, sizeof *v->sorted, ref_cmp_ids);
}

static void ref_vocab_free(ref_vocab *v)
{
    int i;
    for (i = 0; i < v->n; i++) free(v->piece[i]);
    free(v->piece);
    free(v->len);
    free(v->score);
    free(v->sorted);
    memset(v, 0, sizeof *v);
}

static int32_t le_i32(const unsigned char *p) { return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24); }

/* tokenizer.bin read independently of the library; 0 if missing */
static int ref_vocab_load(ref_vocab *v, const char *path)
{
    size_t size, pos = 4;
    unsigned char *d = (unsigned char *)tt_read_file(path, &size);
    int n = 0;
    if (!d) return 0;
    while (pos < size) {
        pos += 8 + (size_t)le_i32(d + pos + 4);
        n++;
    }
    ref_vocab_init(v, n);
    for (pos = 4, n = 0; n < v->n; n++) {
        int32_t bits = le_i32(d + pos);
        memcpy(&v->score[n], &bits, 4);
        v->len[n] = le_i32(d + pos + 4);
        v->piece[n] = (char *)tt_alloc((size_t)v->len[n] + 1);
        memcpy(v->piece[n], d + pos + 8, (size_t)v->len[n]);
        v->piece[n][v->len[n]] = '\0';
        pos += 8 + (size_t)v->len[n];
    }
    free(d);
    ref_vocab_sort(v);
    return 1;
}

static int ref_lookup(const ref_vocab *v, const char *s, int n)
{
    int lo = 0, hi = v->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, id = v->sorted[mid];
        int c = ref_cmp_bytes(v->piece[id], v->len[id], s, n);
        if (c == 0) return id;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static int ref_pair(const ref_vocab *v, int a, int b)
{
    char buf[1024];
    if (v->len[a] + v->len[b] > (int)sizeof buf) return -1;
    memcpy(buf, v->piece[a], (size_t)v->len[a]);
    memcpy(buf + v->len[a], v->piece[b], (size_t)v->len[b]);
    return ref_lookup(v, buf, v->len[a] + v->len[b]);
}

/* llama2.c's encode, step for step (BOS=1 and EOS=2 hard-coded, BOS taking part in the merges, byte
   fallback b + 3, a full scan for the best pair per merge). The one liberty: the merge id of each
   adjacent pair is remembered instead of looked up again on every scan. tok needs len + 3 entries. */
static int ref_encode(const ref_vocab *v, const char *text, int len, int bos, int eos, int *tok)
{
    char buf[8];
    int n = 0, str_len = 0, i, *pair;
    if (bos) tok[n++] = 1;
    if (len > 0) tok[n++] = ref_lookup(v, " ", 1);
    for (i = 0; i < len; i++) {
        int id, next_is_cont = i + 1 < len && ((unsigned char)text[i + 1] & 0xC0) == 0x80;
        if (((unsigned char)text[i] & 0xC0) != 0x80) str_len = 0;
        buf[str_len++] = text[i];
        if (next_is_cont && str_len < 4) continue;
        id = ref_lookup(v, buf, str_len);
        if (id != -1) {
            tok[n++] = id;
        } else {
            int k;
            for (k = 0; k < str_len; k++) tok[n++] = (unsigned char)buf[k] + 3;
        }
        str_len = 0;
    }
    pair = (int *)tt_alloc((size_t)(n + 1) * sizeof *pair);
    for (i = 0; i + 1 < n; i++) pair[i] = ref_pair(v, tok[i], tok[i + 1]);
    for (;;) {
        float best_score = -1e10f;
        int best_idx = -1;
        for (i = 0; i + 1 < n; i++)
            if (pair[i] != -1 && v->score[pair[i]] > best_score) {
                best_score = v->score[pair[i]];
                best_idx = i;
            }
        if (best_idx == -1) break;
        tok[best_idx] = pair[best_idx];
        for (i = best_idx + 1; i + 1 < n; i++) tok[i] = tok[i + 1];
        for (i = best_idx; i + 2 < n; i++) pair[i] = pair[i + 1];
        n--;
        if (best_idx > 0) pair[best_idx - 1] = ref_pair(v, tok[best_idx - 1], tok[best_idx]);
        if (best_idx + 1 < n) pair[best_idx] = ref_pair(v, tok[best_idx], tok[best_idx + 1]);
    }
    free(pair);
    if (eos) tok[n++] = 2;
    return n;
}

/* ---------------------------------------------------------------- helpers */

static tfm_tokenizer *load_tok(const char *name, ref_vocab *ref)
{
    char rel[64];
    const char *path;
    tfm_tokenizer *tok = NULL;
    tfm_error err;
    snprintf(rel, sizeof rel, "models/%s", name);
    path = tt_shared(rel);
    if (!path) return NULL;
    if (tfm_tokenizer_load_llama2c(&tok, path, 0, &err) != TFM_OK) {
        fprintf(stderr, "  load %s: %s\n", path, err.message);
        return NULL;
    }
    if (ref && !ref_vocab_load(ref, path)) {
        tfm_tokenizer_free(tok);
        return NULL;
    }
    return tok;
}

/* encode through the library into a fresh array; count in *n */
static int *encode(const tfm_tokenizer *tok, const char *text, size_t len, int bos, int eos, int *n)
{
    int *ids = (int *)tt_alloc((len + 3) * sizeof *ids);
    if (tfm_tokenizer_encode(tok, text, len, bos, eos, ids, (int)len + 3, n) != TFM_OK) *n = -1;
    return ids;
}

/* first index where a and b differ, -1 if equal */
static int first_diff(const int *a, int na, const int *b, int nb)
{
    int i;
    for (i = 0; i < na && i < nb; i++)
        if (a[i] != b[i]) return i;
    return na == nb ? -1 : i;
}

/* fast encoder == reference on text, with BOS and without EOS, then (all_flags) the other bos/eos combinations */
static int same_as_reference(const tfm_tokenizer *tok, const ref_vocab *ref, const char *text, int len, int all_flags,
                             int *where)
{
    int flags;
    for (flags = 1; flags < (all_flags ? 5 : 2); flags++) {
        int n_got, n_want, *want = (int *)tt_alloc((size_t)(len + 3) * sizeof *want), d;
        int *got = encode(tok, text, (size_t)len, flags & 1, (flags >> 1) & 1, &n_got);
        n_want = ref_encode(ref, text, len, flags & 1, (flags >> 1) & 1, want);
        d = first_diff(got, n_got, want, n_want);
        free(got);
        free(want);
        if (d >= 0) {
            *where = d;
            return 0;
        }
    }
    return 1;
}

static char *story_text(size_t *size)
{
    const char *path = tt_shared("golden/tinystories.valid.first500.txt");
    return path ? tt_read_file(path, size) : NULL;
}

/* Random text of one of three kinds: ASCII with whitespace, UTF-8 of 1-4 byte characters, raw bytes. */
static size_t random_text(char *out, size_t max)
{
    size_t n = 0, len = (size_t)(tt_next() % max);
    int kind = (int)(tt_next() % 3);
    while (n < len) {
        if (kind == 0) {
            static const char extra[] = " \t\n.,'\"!";
            uint64_t r = tt_next() % 100;
            out[n++] = r < 80 ? (char)(' ' + tt_next() % 95) : extra[tt_next() % (sizeof extra - 1)];
        } else if (kind == 1) {
            static const uint32_t lo[] = {0x20, 0xa0, 0x400, 0x4e00, 0x1f600, 0x10000};
            static const uint32_t span[] = {95, 0x160, 0x100, 0x500, 0x50, 0xfffff};
            int r = (int)(tt_next() % 6);
            uint32_t cp = lo[r] + (uint32_t)(tt_next() % span[r]);
            if (n + 4 > len) break;
            if (cp >= 0xd800 && cp < 0xe000) cp = 'x';
            if (cp < 0x80) out[n++] = (char)cp;
            else if (cp < 0x800) {
                out[n++] = (char)(0xc0 | cp >> 6);
                out[n++] = (char)(0x80 | (cp & 63));
            } else if (cp < 0x10000) {
                out[n++] = (char)(0xe0 | cp >> 12);
                out[n++] = (char)(0x80 | ((cp >> 6) & 63));
                out[n++] = (char)(0x80 | (cp & 63));
            } else {
                out[n++] = (char)(0xf0 | cp >> 18);
                out[n++] = (char)(0x80 | ((cp >> 12) & 63));
                out[n++] = (char)(0x80 | ((cp >> 6) & 63));
                out[n++] = (char)(0x80 | (cp & 63));
            }
        } else {
            out[n++] = (char)(tt_next() & 255);
        }
    }
    return n;
}

/* ---------------------------------------------------------------- golden cases */

static size_t unescape(const char *s, size_t n, char *out)
{
    size_t i, m = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            out[m++] = c == 't' ? '\t' : c == 'n' ? '\n' : c;
        } else {
            out[m++] = s[i];
        }
    }
    return m;
}

static void test_golden_cases(void)
{
    const char *path = tt_shared("golden/tokenizer.cases.tsv");
    char *data = path ? tt_read_file(path, NULL) : NULL, *line, *next;
    tfm_tokenizer *toks[2];
    ref_vocab refs[2];
    static const char *names[2] = {"tok512.bin", "tokenizer.bin"};
    int cases[2] = {0, 0}, t;
    if (!data) TT_SKIP("golden/tokenizer.cases.tsv missing");
    for (t = 0; t < 2; t++) {
        toks[t] = load_tok(names[t], &refs[t]);
        if (!toks[t]) TT_SKIP("a tokenizer is missing");
    }
    for (line = data; line && *line; line = next) {
        char *tab1, *tab2, *end, text[1024], *p;
        int want[512], n_want = 0, n_ref, ref_ids[1100], n_got, *got;
        size_t len;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (line[0] == '#' || !*line) continue;
        tab1 = strchr(line, '\t');
        tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        TT_ASSERT(tab1 && tab2, "malformed line '%s'", line);
        *tab1 = '\0';
        for (t = 0; t < 2 && strcmp(line, names[t]); t++) {
        }
        TT_ASSERT(t < 2, "unknown tokenizer '%s'", line);
        len = unescape(tab1 + 1, (size_t)(tab2 - tab1 - 1), text);
        for (p = tab2 + 1; *p; p = end) {
            long v = strtol(p, &end, 10);
            if (end == p) break;
            want[n_want++] = (int)v;
        }
        got = encode(toks[t], text, len, 1, 0, &n_got);
        TT_ASSERT(first_diff(got, n_got, want, n_want) < 0, "%s '%.*s': %d ids, want %d, first difference at %d",
                  names[t], (int)len, text, n_got, n_want, first_diff(got, n_got, want, n_want));
        n_ref = ref_encode(&refs[t], text, (int)len, 1, 0, ref_ids);
        TT_ASSERT(first_diff(ref_ids, n_ref, want, n_want) < 0, "the test's reference encoder disagrees with the golden ids");
        free(got);
        cases[t]++;
    }
    free(data);
    for (t = 0; t < 2; t++) {
        tfm_tokenizer_free(toks[t]);
        ref_vocab_free(&refs[t]);
    }
    TT_ASSERT(cases[0] >= 19 && cases[1] >= 19, "only %d + %d cases", cases[0], cases[1]);
}

/* ---------------------------------------------------------------- fast encoder == reference */

static void compare_on_stories(const char *name, size_t chunk)
{
    ref_vocab ref;
    tfm_tokenizer *tok = load_tok(name, &ref);
    size_t size, start;
    char *text = story_text(&size), buf[400];
    int i, where;
    if (!tok || !text) {
        tfm_tokenizer_free(tok);
        free(text);
        TT_SKIP("tokenizer or golden text missing");
    }
    tt_seed(11);
    for (i = 0; i < 300; i++) { /* random substrings, which may start or end inside a UTF-8 character */
        size_t len = (size_t)(tt_next() % 300);
        start = (size_t)(tt_next() % (size - len));
        TT_ASSERT(same_as_reference(tok, &ref, text + start, (int)len, 1, &where), "%s: text [%zu, +%zu) differs at id %d",
                  name, start, len, where);
    }
    for (i = 0; i < 300; i++) {
        size_t len = random_text(buf, sizeof buf);
        TT_ASSERT(same_as_reference(tok, &ref, buf, (int)len, 1, &where), "%s: random text %d differs at id %d", name, i,
                  where);
    }
    /* a large chunk, from a point where the text has mojibake (multi-byte characters) */
    start = (size_t)(strstr(text, "\xc3\xa2") ? strstr(text, "\xc3\xa2") - text : 0);
    if (start > size - chunk) start = size - chunk;
    start -= start > chunk / 2 ? chunk / 2 : start;
    TT_ASSERT(same_as_reference(tok, &ref, text + start, (int)chunk, 0, &where), "%s: %zu-byte chunk differs at id %d", name,
              chunk, where);
    free(text);
    tfm_tokenizer_free(tok);
    ref_vocab_free(&ref);
}

static void test_reference_tok512(void) { compare_on_stories("tok512.bin", 16384); }
static void test_reference_tokenizer32000(void) { compare_on_stories("tokenizer.bin", 16384); }

static int piece_taken(const ref_vocab *v, int n, const char *p, int len)
{
    int i;
    for (i = 0; i < n; i++)
        if (v->len[i] == len && !memcmp(v->piece[i], p, (size_t)len)) return 1;
    return 0;
}

/* Small random vocabs with many equal scores: the heap's order and stale entries against the scan,
   with and without the split into words (odd vocabs have no piece with a space after a non-space). */
static void test_reference_random_vocabs(void)
{
    static const char *alphabet[] = {"a", "b", "c", " ", "\xc3\xa9"};
    int v, i, compared = 0;
    tt_seed(12);
    for (v = 0; v < 20; v++) {
        ref_vocab ref;
        tfm_tokenizer *tok;
        tfm_error err;
        int n = 3 + 256 + 1 + 60, where;
        const char **pieces = (const char **)tt_alloc((size_t)n * sizeof *pieces);
        ref_vocab_init(&ref, n);
        for (i = 0; i < n; i++) {
            char piece[32];
            int len = 0;
            if (i == 0) len = sprintf(piece, "<unk>");
            else if (i == 1) len = sprintf(piece, "\n<s>\n");
            else if (i == 2) len = sprintf(piece, "\n</s>\n");
            else if (i < 259) len = sprintf(piece, "<0x%02X>", i - 3);
            else if (i == 259) len = sprintf(piece, " ");
            else {
                do { /* a new piece of 1-4 symbols; in odd vocabs spaces lead, as in SentencePiece vocabs */
                    int m = 1 + (int)(tt_next() % 4), j;
                    for (len = 0, j = 0; j < m; j++) {
                        const char *sym = alphabet[tt_next() % 5];
                        if (v % 2 && len > 0 && piece[len - 1] != ' ' && sym[0] == ' ') sym = "a";
                        len += sprintf(piece + len, "%s", sym);
                    }
                } while (piece_taken(&ref, i, piece, len));
            }
            ref.piece[i] = (char *)tt_alloc((size_t)len + 1);
            memcpy(ref.piece[i], piece, (size_t)len + 1);
            ref.len[i] = len;
            ref.score[i] = i < 260 ? 0.0f : tt_next() % 10 == 0 ? -2e10f : -(float)(tt_next() % 4);
            pieces[i] = ref.piece[i];
        }
        ref_vocab_sort(&ref);
        TT_ASSERT(tfm_tokenizer_from_vocab(&tok, n, pieces, NULL, ref.score, NULL, 1, 2, &err) == TFM_OK, "%s",
                  err.message);
        for (i = 0; i < 200; i++) {
            char text[64];
            int len = (int)(tt_next() % 40), m = 0;
            while (m < len) {
                const char *s = alphabet[tt_next() % 5];
                if (m + (int)strlen(s) > len) break;
                memcpy(text + m, s, strlen(s));
                m += (int)strlen(s);
            }
            TT_ASSERT(same_as_reference(tok, &ref, text, m, 1, &where), "vocab %d text '%.*s' differs at id %d", v, m, text,
                      where);
            compared++;
        }
        tfm_tokenizer_free(tok);
        ref_vocab_free(&ref);
        free(pieces);
    }
    TT_CHECK(compared == 20 * 200);
}

/* Equal scores: the leftmost pair merges first (llama2.c's strict '>' in a left-to-right scan). */
static void test_ties_leftmost(void)
{
    static const char *pieces[] = {"<unk>", "<s>", "</s>", " ", "a", "b", "ab", "ba"};
    tfm_tokenizer *tok;
    tfm_error err;
    int ids[8], n;
    TT_ASSERT(tfm_tokenizer_from_vocab(&tok, 8, pieces, NULL, NULL, NULL, 1, 2, &err) == TFM_OK, "%s", err.message);
    TT_CHECK(tfm_tokenizer_encode(tok, "aba", 3, 0, 0, ids, 8, &n) == TFM_OK);
    TT_ASSERT(n == 3 && ids[0] == 3 && ids[1] == 6 && ids[2] == 4, "aba -> %d ids (%d %d %d)", n, ids[0], ids[1], ids[2]);
    TT_CHECK(tfm_tokenizer_encode(tok, "bab", 3, 0, 0, ids, 8, &n) == TFM_OK);
    TT_ASSERT(n == 3 && ids[1] == 7 && ids[2] == 5, "bab -> %d ids", n);
    tfm_tokenizer_free(tok);
}

/* Only pieces scoring above llama2.c's starting best score, -1e10, merge; NaN never does. */
static void test_merge_threshold(void)
{
    static const char *pieces[] = {"<unk>", "<s>", "</s>", " ", "a", "b", "ab"};
    static const float scores[][7] = {{0, 0, 0, 0, 0, 0, -2e10f}, {0, 0, 0, 0, 0, 0, -5e9f}};
    float with_nan[7] = {0, 0, 0, 0, 0, 0, 0};
    int ids[8], n, k;
    for (k = 0; k < 3; k++) {
        tfm_tokenizer *tok;
        tfm_error err;
        if (k == 2) with_nan[6] = (float)NAN;
        TT_ASSERT(tfm_tokenizer_from_vocab(&tok, 7, pieces, NULL, k < 2 ? scores[k] : with_nan, NULL, 1, 2, &err) == TFM_OK,
                  "%s", err.message);
        TT_CHECK(tfm_tokenizer_encode(tok, "ab", 2, 0, 0, ids, 8, &n) == TFM_OK);
        TT_ASSERT(k == 1 ? n == 2 && ids[1] == 6 : n == 3 && ids[1] == 4 && ids[2] == 5, "vocab %d: %d ids", k, n);
        tfm_tokenizer_free(tok);
    }
}

/* ---------------------------------------------------------------- decode */

static void round_trips(const char *name)
{
    tfm_tokenizer *tok = load_tok(name, NULL);
    char text[600], out[700];
    size_t size, got;
    int i, n, *ids;
    char *story;
    if (!tok) TT_SKIP("tokenizer missing");
    tt_seed(13);
    for (i = 0; i < 600; i++) {
        size_t len = random_text(text, sizeof text);
        if (i == 0) len = 0;
        ids = encode(tok, text, len, 1, 0, &n);
        TT_ASSERT(n >= 1 && ids[0] == 1, "no BOS");
        TT_ASSERT(tfm_tokenizer_decode_ids(tok, ids, n, out, sizeof out, &got) == TFM_OK, "decode failed");
        TT_ASSERT(got == len && memcmp(out, text, len) == 0 && out[len] == '\0', "%s: round trip %d of %zu bytes gave %zu",
                  name, i, len, got);
        free(ids);
    }
    /* the whole story file: linear, and exact */
    story = story_text(&size);
    if (story) {
        char *back = (char *)tt_alloc(size + 1);
        ids = encode(tok, story, size, 1, 0, &n);
        TT_ASSERT(n > 1000, "%s: %d ids for %zu bytes", name, n, size);
        TT_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, NULL, 0, &got) == TFM_OK && got == size);
        TT_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, back, size + 1, &got) == TFM_OK);
        TT_ASSERT(got == size && memcmp(back, story, size) == 0, "%s: story round trip", name);
        free(back);
        free(ids);
        free(story);
    }
    tfm_tokenizer_free(tok);
}

static void test_round_trip_tok512(void) { round_trips("tok512.bin"); }
static void test_round_trip_tokenizer32000(void) { round_trips("tokenizer.bin"); }

static void test_decode_rules(void)
{
    tfm_tokenizer *tok = load_tok("tokenizer.bin", NULL);
    const char *piece;
    size_t len;
    int ids[8], n;
    char buf[8];
    if (!tok) TT_SKIP("tokenizer.bin missing");
    /* " Once" is 9038: its space goes after BOS only */
    TT_CHECK(tfm_tokenizer_decode(tok, 1, 9038, &piece, &len) == TFM_OK && len == 4 && !memcmp(piece, "Once", 4));
    TT_CHECK(tfm_tokenizer_decode(tok, 263, 9038, &piece, &len) == TFM_OK && len == 5 && !memcmp(piece, " Once", 5));
    TT_CHECK(tfm_tokenizer_decode(tok, -1, 9038, &piece, &len) == TFM_OK && len == 5);
    /* byte tokens: <0x0A> is 13; the space rule does not touch them */
    TT_CHECK(tfm_tokenizer_decode(tok, 1, 13, &piece, &len) == TFM_OK && len == 1 && piece[0] == '\n');
    TT_CHECK(tfm_tokenizer_decode(tok, 1, 3, &piece, &len) == TFM_OK && len == 1 && piece[0] == '\0');
    TT_CHECK(tfm_tokenizer_decode(tok, 1, 258, &piece, &len) == TFM_OK && len == 1 && (unsigned char)piece[0] == 0xff);
    /* control tokens decode to nothing */
    TT_CHECK(tfm_tokenizer_decode(tok, 5, 1, &piece, &len) == TFM_OK && len == 0);
    TT_CHECK(tfm_tokenizer_decode(tok, 5, 2, &piece, &len) == TFM_OK && len == 0);
    /* out of range */
    TT_CHECK(tfm_tokenizer_decode(tok, 1, -1, &piece, &len) == TFM_ERR_OUT_OF_RANGE && len == 0);
    TT_CHECK(tfm_tokenizer_decode(tok, 1, 32000, &piece, &len) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_tokenizer_decode(tok, 1, 5, NULL, &len) == TFM_ERR_INVALID_ARGUMENT);
    ids[0] = 1;
    ids[1] = 40000;
    TT_CHECK(tfm_tokenizer_decode_ids(tok, ids, 2, NULL, 0, &len) == TFM_ERR_OUT_OF_RANGE);
    /* embedded NUL: encoded as <0x00>, decoded back */
    TT_CHECK(tfm_tokenizer_encode(tok, "a\0b", 3, 0, 0, ids, 8, &n) == TFM_OK);
    TT_ASSERT(n == 3 && ids[0] == 263 && ids[1] == 3, "a\\0b -> %d ids", n); /* " a", <0x00>, "b" */
    TT_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, buf, sizeof buf, &len) == TFM_OK && len == 4 && !memcmp(buf, " a\0b", 4));
    /* an output buffer too small: truncated, NUL-terminated, full length reported */
    TT_CHECK(tfm_tokenizer_decode_ids(tok, ids, n, buf, 3, &len) == TFM_ERR_CONTEXT_FULL && len == 4 && buf[2] == '\0');
    /* printable pieces */
    TT_CHECK(!tfm_tokenizer_piece_printable("\x01", 1) && !tfm_tokenizer_piece_printable("\x7f", 1));
    TT_CHECK(!tfm_tokenizer_piece_printable("", 0) && !tfm_tokenizer_piece_printable(NULL, 1));
    TT_CHECK(tfm_tokenizer_piece_printable("\n", 1) && tfm_tokenizer_piece_printable("\t", 1));
    TT_CHECK(tfm_tokenizer_piece_printable("\xe2", 1) && tfm_tokenizer_piece_printable("a", 1));
    TT_CHECK(tfm_tokenizer_piece_printable("\x01\x02", 2));
    tfm_tokenizer_free(tok);
}

static void test_encode_arguments(void)
{
    tfm_tokenizer *tok = load_tok("tok512.bin", NULL);
    int ids[8], n, all[8];
    if (!tok) TT_SKIP("tok512.bin missing");
    TT_CHECK(tfm_tokenizer_vocab_size(tok) == 512 && tfm_tokenizer_bos(tok) == 1 && tfm_tokenizer_eos(tok) == 2);
    /* counting, then a buffer too small */
    TT_CHECK(tfm_tokenizer_encode(tok, "Once upon a time", 16, 1, 1, NULL, 0, &n) == TFM_OK && n == 6);
    TT_CHECK(tfm_tokenizer_encode(tok, "Once upon a time", 16, 1, 1, all, 8, &n) == TFM_OK && n == 6);
    TT_CHECK(all[0] == 1 && all[1] == 403 && all[5] == 2);
    TT_CHECK(tfm_tokenizer_encode(tok, "Once upon a time", 16, 1, 1, ids, 3, &n) == TFM_ERR_CONTEXT_FULL && n == 6);
    TT_CHECK(ids[0] == 1 && ids[1] == 403 && ids[2] == 407);
    /* empty text: no dummy prefix */
    TT_CHECK(tfm_tokenizer_encode(tok, NULL, 0, 1, 1, ids, 8, &n) == TFM_OK && n == 2 && ids[0] == 1 && ids[1] == 2);
    TT_CHECK(tfm_tokenizer_encode(tok, "", 0, 0, 0, ids, 8, &n) == TFM_OK && n == 0);
    TT_CHECK(tfm_tokenizer_encode(tok, NULL, 3, 1, 0, ids, 8, &n) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tokenizer_encode(NULL, "a", 1, 1, 0, ids, 8, &n) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tokenizer_encode(tok, "a", 1, 1, 0, ids, 8, NULL) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tokenizer_encode(tok, "a", 1, 1, 0, ids, -1, &n) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tokenizer_token(tok, 512, NULL, NULL, NULL, NULL) == TFM_ERR_OUT_OF_RANGE);
    tfm_tokenizer_free(tok);
}

/* ---------------------------------------------------------------- array loader == file loader */

/* The vocab of tokenizer.bin rewritten as GGUF holds it: U+2581 for spaces, BOS "<s>", EOS "</s>",
   explicit token types. */
static tfm_tokenizer *gguf_style_copy(const ref_vocab *v)
{
    char **pieces = (char **)tt_alloc((size_t)v->n * sizeof *pieces);
    size_t *lengths = (size_t *)tt_alloc((size_t)v->n * sizeof *lengths);
    int32_t *types = (int32_t *)tt_alloc((size_t)v->n * sizeof *types);
    tfm_tokenizer *tok = NULL;
    tfm_error err;
    int i, j;
    for (i = 0; i < v->n; i++) {
        char *p = (char *)tt_alloc((size_t)v->len[i] * 3 + 1);
        size_t m = 0;
        for (j = 0; j < v->len[i]; j++) {
            if (v->piece[i][j] == ' ') {
                memcpy(p + m, "\xe2\x96\x81", 3);
                m += 3;
            } else {
                p[m++] = v->piece[i][j];
            }
        }
        if (i == 1) m = (size_t)sprintf(p, "<s>");
        if (i == 2) m = (size_t)sprintf(p, "</s>");
        pieces[i] = p;
        lengths[i] = m;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
    }
    if (tfm_tokenizer_from_vocab(&tok, v->n, (const char *const *)pieces, lengths, v->score, types, 1, 2, &err) != TFM_OK)
        fprintf(stderr, "  from_vocab: %s\n", err.message);
    for (i = 0; i < v->n; i++) free(pieces[i]);
    free(pieces);
    free(lengths);
    free(types);
    return tok;
}

/* a and b give the same ids on the golden cases' texts, story substrings and random text, and decode
   every id alike */
static int same_tokenizers(const tfm_tokenizer *a, const tfm_tokenizer *b, char *why, size_t why_size)
{
    size_t size;
    char *text = story_text(&size), buf[300];
    int i, n_a, n_b, ok = 1;
    tt_seed(14);
    for (i = 0; i < 400 && ok; i++) {
        const char *s = buf;
        size_t len;
        int *ia, *ib;
        if (i % 2 && text) {
            len = (size_t)(tt_next() % 300);
            s = text + tt_next() % (size - len);
        } else {
            len = random_text(buf, sizeof buf);
        }
        if (i == 0) {
            s = "<s> not a special token </s> <unk>";
            len = strlen(s);
        }
        ia = encode(a, s, len, 1, 1, &n_a);
        ib = encode(b, s, len, 1, 1, &n_b);
        if (first_diff(ia, n_a, ib, n_b) >= 0) {
            snprintf(why, why_size, "text %d differs at id %d", i, first_diff(ia, n_a, ib, n_b));
            ok = 0;
        }
        free(ia);
        free(ib);
    }
    for (i = 0; i < tfm_tokenizer_vocab_size(a) && ok; i++) {
        const char *pa, *pb;
        size_t la, lb;
        float sa = 0.0f, sb = 1.0f;
        tfm_token_type ta = TFM_TOKEN_NORMAL, tb = TFM_TOKEN_NORMAL;
        if (tfm_tokenizer_decode(a, 1, i, &pa, &la) != TFM_OK || tfm_tokenizer_decode(b, 1, i, &pb, &lb) != TFM_OK ||
            tfm_tokenizer_token(a, i, NULL, NULL, &sa, &ta) != TFM_OK ||
            tfm_tokenizer_token(b, i, NULL, NULL, &sb, &tb) != TFM_OK || la != lb || memcmp(pa, pb, la) || sa != sb ||
            ta != tb) {
            snprintf(why, why_size, "token %d decodes or scores differently", i);
            ok = 0;
        }
    }
    free(text);
    return ok;
}

static void array_equals_file(const char *name)
{
    ref_vocab ref;
    tfm_tokenizer *file = load_tok(name, &ref), *arrays;
    char why[128];
    if (!file) TT_SKIP("tokenizer missing");
    arrays = gguf_style_copy(&ref);
    TT_ASSERT(arrays != NULL, "from_vocab failed");
    TT_ASSERT(tfm_tokenizer_vocab_size(arrays) == ref.n && tfm_tokenizer_bos(arrays) == 1 && tfm_tokenizer_eos(arrays) == 2,
              "sizes");
    TT_ASSERT(same_tokenizers(file, arrays, why, sizeof why), "%s: %s", name, why);
    tfm_tokenizer_free(arrays);
    tfm_tokenizer_free(file);
    ref_vocab_free(&ref);
}

static void test_arrays_tok512(void) { array_equals_file("tok512.bin"); }
static void test_arrays_tokenizer32000(void) { array_equals_file("tokenizer.bin"); }

/* A minimal GGUF metadata reader: just enough for tokenizer.ggml.* of stories260K.gguf. */
typedef struct gguf_vocab {
    int n;
    char **tokens;
    size_t *lengths;
    float *scores;
    int32_t *types;
    int bos, eos;
} gguf_vocab;

static uint64_t rd_u64(const unsigned char *p) { return (uint64_t)(uint32_t)le_i32(p) | (uint64_t)(uint32_t)le_i32(p + 4) << 32; }

/* Skips (or stores into v, for the keys it wants) one value of GGUF type t at *pos. */
static int gguf_value(const unsigned char *d, size_t size, size_t *pos, uint32_t t, const char *key, gguf_vocab *v)
{
    static const size_t scalar[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (t == 8) {
        uint64_t n;
        if (*pos + 8 > size) return 0;
        n = rd_u64(d + *pos);
        if (n > size - *pos - 8) return 0;
        *pos += 8 + n;
        return 1;
    }
    if (t == 9) {
        uint32_t at;
        uint64_t n, i;
        if (*pos + 12 > size) return 0;
        at = (uint32_t)le_i32(d + *pos);
        n = rd_u64(d + *pos + 4);
        *pos += 12;
        if (n > size) return 0;
        if (!strcmp(key, "tokenizer.ggml.tokens")) {
            v->n = (int)n;
            v->tokens = (char **)tt_alloc(n * sizeof *v->tokens);
            v->lengths = (size_t *)tt_alloc(n * sizeof *v->lengths);
        }
        if (!strcmp(key, "tokenizer.ggml.scores")) v->scores = (float *)tt_alloc(n * sizeof *v->scores);
        if (!strcmp(key, "tokenizer.ggml.token_type")) v->types = (int32_t *)tt_alloc(n * sizeof *v->types);
        for (i = 0; i < n; i++) {
            size_t at_pos = *pos;
            if (!gguf_value(d, size, pos, at, "", v)) return 0;
            if (!strcmp(key, "tokenizer.ggml.tokens")) {
                v->tokens[i] = (char *)(d + at_pos + 8);
                v->lengths[i] = *pos - at_pos - 8;
            }
            if (!strcmp(key, "tokenizer.ggml.scores")) memcpy(&v->scores[i], d + at_pos, 4);
            if (!strcmp(key, "tokenizer.ggml.token_type")) v->types[i] = le_i32(d + at_pos);
        }
        return 1;
    }
    if (t > 12 || *pos + scalar[t] > size) return 0;
    if (!strcmp(key, "tokenizer.ggml.bos_token_id")) v->bos = le_i32(d + *pos);
    if (!strcmp(key, "tokenizer.ggml.eos_token_id")) v->eos = le_i32(d + *pos);
    *pos += scalar[t];
    return 1;
}

static void test_gguf_vocab_equals_file(void)
{
    const char *path = tt_shared("models/stories260K.gguf");
    size_t size, pos = 24;
    unsigned char *d = path ? (unsigned char *)tt_read_file(path, &size) : NULL;
    tfm_tokenizer *file = load_tok("tok512.bin", NULL), *arrays = NULL;
    uint64_t n_kv, k;
    gguf_vocab v;
    tfm_error err;
    char why[128];
    memset(&v, 0, sizeof v);
    if (!d || !file) {
        tfm_tokenizer_free(file);
        free(d);
        TT_SKIP("stories260K.gguf or tok512.bin missing");
    }
    TT_ASSERT(size > 24 && !memcmp(d, "GGUF", 4), "not a GGUF file");
    n_kv = rd_u64(d + 16);
    for (k = 0; k < n_kv; k++) {
        char key[128];
        uint64_t klen = rd_u64(d + pos);
        TT_ASSERT(klen < sizeof key && pos + 8 + klen + 4 <= size, "bad key");
        memcpy(key, d + pos + 8, klen);
        key[klen] = '\0';
        pos += 8 + klen + 4;
        TT_ASSERT(gguf_value(d, size, &pos, (uint32_t)le_i32(d + pos - 4), key, &v), "bad value of %s", key);
    }
    TT_ASSERT(v.n == 512 && v.scores && v.types, "no vocab in the GGUF file");
    TT_ASSERT(tfm_tokenizer_from_vocab(&arrays, v.n, (const char *const *)v.tokens, v.lengths, v.scores, v.types, v.bos,
                                       v.eos, &err) == TFM_OK,
              "%s", err.message);
    TT_ASSERT(same_tokenizers(file, arrays, why, sizeof why), "GGUF vocab vs tok512.bin: %s", why);
    tfm_tokenizer_free(arrays);
    tfm_tokenizer_free(file);
    free(v.tokens);
    free(v.lengths);
    free(v.scores);
    free(v.types);
    free(d);
}

static void test_from_vocab_errors(void)
{
    static const char *pieces[] = {"<unk>", "<s>", "</s>", "<0x41>", "a"};
    int32_t types[5] = {2, 3, 3, 6, 1};
    tfm_tokenizer *tok = (tfm_tokenizer *)&tok;
    tfm_error err;
    const char *with_null[2] = {"a", NULL};
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 5, pieces, NULL, NULL, types, 1, 2, &err) == TFM_OK);
    tfm_tokenizer_free(tok);
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 0, pieces, NULL, NULL, NULL, -1, -1, &err) == TFM_ERR_FORMAT && tok == NULL);
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, -5, pieces, NULL, NULL, NULL, -1, -1, &err) == TFM_ERR_FORMAT);
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, TFM_TOKENIZER_MAX_VOCAB + 1, pieces, NULL, NULL, NULL, -1, -1, &err) ==
             TFM_ERR_FORMAT);
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 5, pieces, NULL, NULL, NULL, 5, 2, &err) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 5, pieces, NULL, NULL, NULL, 1, -2, &err) == TFM_ERR_OUT_OF_RANGE);
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 5, NULL, NULL, NULL, NULL, 1, 2, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 2, with_null, NULL, NULL, NULL, -1, -1, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tokenizer_from_vocab(NULL, 5, pieces, NULL, NULL, NULL, 1, 2, &err) == TFM_ERR_INVALID_ARGUMENT);
    types[4] = 7;
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 5, pieces, NULL, NULL, types, 1, 2, &err) == TFM_ERR_FORMAT);
    TT_CHECK(strstr(err.message, "token 4") != NULL);
    types[4] = 6; /* "a" is no byte piece */
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 5, pieces, NULL, NULL, types, 1, 2, &err) == TFM_ERR_FORMAT);
    /* no BOS in the vocab: encoding with BOS is refused */
    TT_CHECK(tfm_tokenizer_from_vocab(&tok, 5, pieces, NULL, NULL, NULL, -1, -1, &err) == TFM_OK);
    {
        int ids[8], n;
        TT_CHECK(tfm_tokenizer_encode(tok, "a", 1, 1, 0, ids, 8, &n) == TFM_ERR_UNSUPPORTED);
        /* no " " piece: the dummy prefix falls back to its byte, here the unknown token */
        TT_CHECK(tfm_tokenizer_encode(tok, "aA", 2, 0, 0, ids, 8, &n) == TFM_OK);
        TT_ASSERT(n == 3 && ids[0] == 0 && ids[1] == 4 && ids[2] == 3, "%d ids", n);
        TT_CHECK(tfm_tokenizer_encode(tok, "\x41", 1, 0, 0, ids, 8, &n) == TFM_OK && n == 2);
    }
    tfm_tokenizer_free(tok);
}

/* ---------------------------------------------------------------- malformed files */

static void put_i32(unsigned char *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

/* A valid 4-token tokenizer.bin image: max_token_length 3, pieces "<unk>"-less tiny vocab. */
static size_t tiny_bin(unsigned char *out)
{
    static const char *pieces[] = {"u", "s", "e", "ab"};
    size_t pos = 4;
    int i;
    put_i32(out, 3);
    for (i = 0; i < 4; i++) {
        float score = -(float)i;
        memcpy(out + pos, &score, 4);
        put_i32(out + pos + 4, (int32_t)strlen(pieces[i]));
        memcpy(out + pos + 8, pieces[i], strlen(pieces[i]));
        pos += 8 + strlen(pieces[i]);
    }
    return pos;
}

static tfm_status load_file_bytes(const unsigned char *data, size_t size, int vocab_size, tfm_error *err)
{
    char path[600];
    tfm_tokenizer *tok = (tfm_tokenizer *)&tok;
    tfm_status s;
    FILE *f;
    snprintf(path, sizeof path, "%s/tokenizer_test.tmp", tmp_dir);
    f = fopen(path, "wb");
    if (!f) return TFM_ERR_IO;
    fwrite(data, 1, size, f);
    fclose(f);
    s = tfm_tokenizer_load_llama2c(&tok, path, vocab_size, err);
    remove(path);
    if (s == TFM_OK) tfm_tokenizer_free(tok);
    else if (tok != NULL) return TFM_ERR_INVALID_ARGUMENT; /* a failed load must leave NULL */
    return s;
}

static void test_malformed_files(void)
{
    unsigned char good[64], bad[64];
    size_t size = tiny_bin(good), cut;
    tfm_error err;
    tfm_tokenizer *tok;
    TT_CHECK(load_file_bytes(good, size, 0, &err) == TFM_OK);
    TT_CHECK(load_file_bytes(good, size, 4, &err) == TFM_OK);
    /* every truncation */
    for (cut = 0; cut < size; cut++) {
        tfm_status s = load_file_bytes(good, cut, 0, &err);
        if (cut == 13 || cut == 22 || cut == 31) /* after a whole token: a smaller vocab */
            TT_ASSERT(s == TFM_OK, "cut %zu: %s", cut, err.message);
        else if (cut == 4) TT_ASSERT(s == TFM_ERR_FORMAT && strstr(err.message, "no tokens"), "cut %zu: %s", cut, err.message);
        else if (cut == 0) TT_ASSERT(s == TFM_ERR_FORMAT, "empty file: %d", (int)s);
        else TT_ASSERT(s == TFM_ERR_FORMAT && strstr(err.message, "tokenizer_test.tmp"), "cut %zu: %s", cut, err.message);
        TT_ASSERT(load_file_bytes(good, cut, 4, &err) == TFM_ERR_FORMAT, "cut %zu with vocab size 4", cut);
    }
    /* vocab size other than the file's */
    TT_CHECK(load_file_bytes(good, size, 3, &err) == TFM_ERR_FORMAT && strstr(err.message, "more than"));
    TT_CHECK(load_file_bytes(good, size, 5, &err) == TFM_ERR_FORMAT && strstr(err.message, "truncated"));
    TT_CHECK(load_file_bytes(good, size, -1, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(load_file_bytes(good, size, TFM_TOKENIZER_MAX_VOCAB + 1, &err) == TFM_ERR_INVALID_ARGUMENT);
    /* max_token_length 0, negative, huge */
    memcpy(bad, good, size);
    put_i32(bad, 0);
    TT_CHECK(load_file_bytes(bad, size, 0, &err) == TFM_ERR_FORMAT && strstr(err.message, "max_token_length"));
    put_i32(bad, -7);
    TT_CHECK(load_file_bytes(bad, size, 0, &err) == TFM_ERR_FORMAT);
    put_i32(bad, 0x7fffffff);
    TT_CHECK(load_file_bytes(bad, size, 0, &err) == TFM_ERR_FORMAT);
    /* a piece longer than max_token_length, a negative length, a huge length */
    memcpy(bad, good, size);
    put_i32(bad, 1);
    TT_CHECK(load_file_bytes(bad, size, 0, &err) == TFM_ERR_FORMAT && strstr(err.message, "token 3"));
    memcpy(bad, good, size);
    put_i32(bad + 4 + 4, -1);
    TT_CHECK(load_file_bytes(bad, size, 0, &err) == TFM_ERR_FORMAT && strstr(err.message, "token 0"));
    put_i32(bad, 65536);
    put_i32(bad + 4 + 4, 65536);
    TT_CHECK(load_file_bytes(bad, size, 0, &err) == TFM_ERR_FORMAT && strstr(err.message, "truncated"));
    /* missing file, NULL arguments */
    TT_CHECK(tfm_tokenizer_load_llama2c(&tok, "/no/such/tokenizer.bin", 0, &err) == TFM_ERR_IO && tok == NULL);
    TT_CHECK(tfm_tokenizer_load_llama2c(&tok, NULL, 0, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tokenizer_load_llama2c(NULL, "x", 0, &err) == TFM_ERR_INVALID_ARGUMENT);
    TT_CHECK(tfm_tokenizer_load_llama2c_memory(&tok, NULL, 10, 0, &err) == TFM_ERR_INVALID_ARGUMENT);
    /* the memory loader on the same image; a 4-token vocab has BOS 1, EOS 2 */
    TT_CHECK(tfm_tokenizer_load_llama2c_memory(&tok, good, size, 0, &err) == TFM_OK);
    TT_CHECK(tfm_tokenizer_vocab_size(tok) == 4 && tfm_tokenizer_bos(tok) == 1 && tfm_tokenizer_eos(tok) == 2);
    tfm_tokenizer_free(tok);
    tfm_tokenizer_free(NULL);
}

/* Random corruptions of a real tokenizer: a clean error or a valid tokenizer that encodes, never a crash. */
static void test_fuzzed_tokenizer(void)
{
    const char *path = tt_shared("models/tok512.bin");
    unsigned char *orig, *d;
    size_t size;
    int i, ok = 0;
    if (!path) TT_SKIP("tok512.bin missing");
    orig = (unsigned char *)tt_read_file(path, &size);
    d = (unsigned char *)tt_alloc(size);
    tt_seed(15);
    for (i = 0; i < 300; i++) {
        tfm_tokenizer *tok;
        tfm_error err;
        size_t len = size, j;
        memcpy(d, orig, size);
        for (j = 0; j < 1 + tt_next() % 4; j++) d[tt_next() % size] = (unsigned char)tt_next();
        if (i % 3 == 0) len = (size_t)(tt_next() % size);
        if (tfm_tokenizer_load_llama2c_memory(&tok, d, len, 0, &err) == TFM_OK) {
            int ids[64], n;
            const char *p;
            size_t m;
            TT_CHECK(tfm_tokenizer_encode(tok, "Once upon a \xff time", 16, 1, 1, ids, 64, &n) == TFM_OK);
            for (j = 0; j < (size_t)n; j++) TT_CHECK(tfm_tokenizer_decode(tok, 1, ids[j], &p, &m) == TFM_OK);
            tfm_tokenizer_free(tok);
            ok++;
        } else {
            TT_ASSERT(err.status != TFM_OK && err.message[0], "an error without a message");
        }
    }
    TT_ASSERT(ok > 0 && ok < 300, "%d of 300 corrupted files loaded", ok);
    free(d);
    free(orig);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (argv[0] && strrchr(argv[0], '/')) {
        snprintf(tmp_dir, sizeof tmp_dir, "%.*s", (int)(strrchr(argv[0], '/') - argv[0]), argv[0]);
    }
    TT_RUN(test_golden_cases);
    TT_RUN(test_reference_tok512);
    TT_RUN(test_reference_tokenizer32000);
    TT_RUN(test_reference_random_vocabs);
    TT_RUN(test_ties_leftmost);
    TT_RUN(test_merge_threshold);
    TT_RUN(test_round_trip_tok512);
    TT_RUN(test_round_trip_tokenizer32000);
    TT_RUN(test_decode_rules);
    TT_RUN(test_encode_arguments);
    TT_RUN(test_arrays_tok512);
    TT_RUN(test_arrays_tokenizer32000);
    TT_RUN(test_gguf_vocab_equals_file);
    TT_RUN(test_from_vocab_errors);
    TT_RUN(test_malformed_files);
    TT_RUN(test_fuzzed_tokenizer);
    return tt_summary("tokenizer");
}

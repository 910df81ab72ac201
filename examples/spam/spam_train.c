/*
 * spam_train.c -- train a spam filter on raw RFC 822 messages with seqnet.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 *   spam_train [--model bow|seq] [--data DIR] [--out FILE] [options]
 *   spam_train --continue MODEL --add DIR [--out FILE] [--epochs N]
 *
 * The corpus: DIR/file_list.json lists the messages (the SpamAssassin
 * corpus as scripts/fetch-spam.sh unpacks it); without it, every regular
 * file in DIR's sub-folders is a message. Label 1 (spam) when the message's
 * folder name starts with "spam", else 0 (ham).
 *
 * The split: stratified, 20% of each class to the test set, chosen by a
 * Fisher-Yates shuffle of each class's messages (in file_list order) with
 * the seed (--seed, default 42; --test-fraction). The same seed always gives
 * the same split; --dump DIR writes it with the extracted texts for
 * baselines.py.
 *
 * The models (docs/SPAM.md):
 *   bow  TF-IDF of word 1-2 grams (sublinear tf, min_df 2, at most
 *        --max-features columns, fitted on the training split), as a vector
 *        input -> Dense(1, sigmoid): logistic regression; --hidden N puts a
 *        Dense(N, relu) layer before it. Adam. --features hashing uses a
 *        HashingVectorizer (word 1-2 grams, --max-features signed columns,
 *        L2 rows) instead: no vocabulary, faster to apply, a little less
 *        accurate.
 *   seq  Keras Tokenizer (num_words --vocab) -> ids, post-truncated and
 *        post-padded to --seq-len -> Embedding -> Conv1D(128, 5, relu) ->
 *        GlobalMaxPooling1D -> Dense(1, sigmoid). If this build has no Conv1D,
 *        Embedding(mask_zero) -> GlobalAveragePooling1D -> Dense instead.
 *
 * The threshold: a message is spam when its score is >= --threshold
 * (default 0.5, the logistic decision rule; fixed before looking at the test
 * split). It is stored in the model file.
 *
 * The quality gate: the model is not saved (exit 3) when it is degenerate
 * on the held-out messages: score standard deviation below 0.01 (a constant
 * output) or ROC AUC below 0.6.
 *
 * --continue MODEL --add DIR: explicit learning. Loads MODEL with its
 * optimizer state and its vectorizer or tokenizer (not refitted: the input
 * schema stays), trains --epochs more epochs (default 3) on the messages of
 * DIR (folders spam* / others as above), reports the accuracy on them
 * before and after, applies the quality gate on them and saves to --out
 * (default: MODEL itself, replaced atomically).
 *
 * Exit status: 0 saved, 1 error, 2 usage, 3 refused by the quality gate.
 */
#include "extract.h"
#include "spam_common.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *prog = "spam_train";

static void die(const char *what, int status, const void *handle)
{
    spam_report(prog, what, status, handle);
    exit(1);
}

#define CHECK(call, handle)                          \
    do {                                             \
        int check_status_ = (call);                  \
        if (check_status_ != SEQNET_OK)              \
            die(#call, check_status_, (handle));     \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(1);
    }
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

/* ---- options ------------------------------------------------------------ */

typedef struct {
    int kind;
    const char *data_dir;
    const char *out;
    const char *dump_dir;
    const char *continue_path;
    const char *add_dir;
    unsigned long long seed;
    double test_fraction;
    int epochs;          /* 0: the model's default */
    double lr;           /* 0: the model's default */
    int batch;
    double threshold;
    int max_features;
    int hidden;
    int vocab;
    int seq_len;
    int threads;
    int hashing;         /* bow: HashingVectorizer instead of TF-IDF */
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spam_train [--model bow|seq] [--data DIR] [--out FILE] [options]\n"
            "       spam_train --continue MODEL --add DIR [--out FILE] [--epochs N]\n"
            "options:\n"
            "  --model bow|seq      bag of words (default) or sequence model\n"
            "  --data DIR           corpus (default data/spam, from scripts/fetch-spam.sh)\n"
            "  --out FILE           model file (default spam-bow.seqnet / spam-seq.seqnet)\n"
            "  --seed N             split and training seed (default 42)\n"
            "  --test-fraction F    held-out share of each class (default 0.2)\n"
            "  --epochs N           training epochs (default bow 12, seq 6, continue 3)\n"
            "  --lr X               Adam learning rate (default bow 0.01, seq 0.002)\n"
            "  --batch N            batch size (default 32)\n"
            "  --threshold X        spam when score >= X (default 0.5)\n"
            "  --max-features N     bow: TF-IDF columns, or hashing width (default 30000)\n"
            "  --features tfidf|hashing  bow: TfidfVectorizer (default) or HashingVectorizer\n"
            "  --hidden N           bow: Dense(N, relu) before the output (default 0)\n"
            "  --vocab N            seq: tokenizer num_words (default 20000)\n"
            "  --seq-len N          seq: tokens read per message (default 300)\n"
            "  --threads N          extraction threads (default 2)\n"
            "  --dump DIR           write DIR/spam.tsv: split, label, path, text\n"
            "  --continue MODEL     train a saved model further on --add DIR\n"
            "  --add DIR            new labelled messages (folders spam* = spam, others ham)\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static void parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->data_dir = "data/spam";
    o->seed = 42;
    o->test_fraction = 0.2;
    o->batch = 32;
    o->threshold = 0.5;
    o->max_features = 30000;
    o->vocab = 20000;
    o->seq_len = 300;
    o->threads = 2;
    int kind_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (v == NULL) {
            fprintf(stderr, "%s: %s needs a value\n", prog, a);
            usage(stderr);
            exit(2);
        }
        i++;
        if (strcmp(a, "--model") == 0) {
            kind_given = 1;
            if (strcmp(v, "bow") == 0)
                o->kind = SPAM_BOW;
            else if (strcmp(v, "seq") == 0)
                o->kind = SPAM_SEQ;
            else
                bad = 1;
        } else if (strcmp(a, "--features") == 0) {
            if (strcmp(v, "tfidf") == 0)
                o->hashing = 0;
            else if (strcmp(v, "hashing") == 0)
                o->hashing = 1;
            else
                bad = 1;
        } else if (strcmp(a, "--data") == 0) {
            o->data_dir = v;
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--dump") == 0) {
            o->dump_dir = v;
        } else if (strcmp(a, "--continue") == 0) {
            o->continue_path = v;
        } else if (strcmp(a, "--add") == 0) {
            o->add_dir = v;
        } else if (strcmp(a, "--seed") == 0) {
            int s = 0;
            bad = parse_int(v, 0, 2000000000, &s);
            o->seed = (unsigned long long)s;
        } else if (strcmp(a, "--test-fraction") == 0) {
            bad = parse_double(v, 0.01, 0.9, &o->test_fraction);
        } else if (strcmp(a, "--epochs") == 0) {
            bad = parse_int(v, 1, 10000, &o->epochs);
        } else if (strcmp(a, "--lr") == 0) {
            bad = parse_double(v, 1e-6, 10.0, &o->lr);
        } else if (strcmp(a, "--batch") == 0) {
            bad = parse_int(v, 1, 65536, &o->batch);
        } else if (strcmp(a, "--threshold") == 0) {
            bad = parse_double(v, 0.001, 0.999, &o->threshold);
        } else if (strcmp(a, "--max-features") == 0) {
            bad = parse_int(v, 1, 10000000, &o->max_features);
        } else if (strcmp(a, "--hidden") == 0) {
            bad = parse_int(v, 0, 4096, &o->hidden);
        } else if (strcmp(a, "--vocab") == 0) {
            bad = parse_int(v, 2, 10000000, &o->vocab);
        } else if (strcmp(a, "--seq-len") == 0) {
            bad = parse_int(v, 1, 100000, &o->seq_len);
        } else if (strcmp(a, "--threads") == 0) {
            bad = parse_int(v, 1, 256, &o->threads);
        } else {
            fprintf(stderr, "%s: unknown option %s\n", prog, a);
            usage(stderr);
            exit(2);
        }
        if (bad) {
            fprintf(stderr, "%s: bad value for %s: %s\n", prog, a, v);
            exit(2);
        }
    }
    if ((o->continue_path == NULL) != (o->add_dir == NULL)) {
        fprintf(stderr, "%s: --continue and --add go together\n", prog);
        exit(2);
    }
    if (!kind_given)
        o->kind = o->continue_path ? 0 : SPAM_BOW;
    if (o->out == NULL)
        o->out = o->continue_path ? o->continue_path
                                  : (o->kind == SPAM_SEQ ? "spam-seq.seqnet" : "spam-bow.seqnet");
}

/* ---- the corpus --------------------------------------------------------- */

typedef struct {
    char *path;  /* relative to the corpus folder */
    int label;   /* 1 spam, 0 ham */
    int test;    /* 1 when in the held-out split */
    char *text;  /* extracted UTF-8 */
    size_t len;
} message;

typedef struct {
    message *m;
    size_t n, cap;
} corpus;

static void corpus_add(corpus *c, const char *path)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        message *m = realloc(c->m, c->cap * sizeof *m);
        if (m == NULL) {
            fprintf(stderr, "%s: out of memory\n", prog);
            exit(1);
        }
        c->m = m;
    }
    message *msg = &c->m[c->n++];
    memset(msg, 0, sizeof *msg);
    msg->path = xstrdup(path);
    const char *slash = strrchr(path, '/');
    const char *folder = path;
    if (slash != NULL) {
        /* the folder holding the file: the last path component before it */
        const char *p = slash;
        while (p > path && p[-1] != '/')
            p--;
        folder = p;
    }
    msg->label = strncmp(folder, "spam", 4) == 0 && slash != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of `dir` (without . and ..). */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
        exit(1);
    }
    size_t cap = 64, k = 0;
    char **names = xmalloc(cap * sizeof *names);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (k == cap) {
            cap *= 2;
            char **nn = realloc(names, cap * sizeof *nn);
            if (nn == NULL) {
                fprintf(stderr, "%s: out of memory\n", prog);
                exit(1);
            }
            names = nn;
        }
        names[k++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, k, sizeof *names, cmp_str);
    *n = k;
    return names;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Fill `c` with the message paths of `dir` (see the file comment). */
static void corpus_list(corpus *c, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/file_list.json", dir);
    if (is_file(path)) {
        char *json = NULL;
        size_t len = 0;
        if (spam_read_file(path, (size_t)64 << 20, &json, &len) != 0)
            exit(1);
        /* the list is a JSON array of plain path strings: take every string */
        for (char *p = json; (p = strchr(p, '"')) != NULL;) {
            char *q = strchr(p + 1, '"');
            if (q == NULL)
                break;
            *q = '\0';
            if (q > p + 1)
                corpus_add(c, p + 1);
            p = q + 1;
        }
        free(json);
        if (c->n == 0) {
            fprintf(stderr, "%s: %s lists no messages\n", prog, path);
            exit(1);
        }
        return;
    }
    size_t n_sub = 0;
    char **subs = list_dir(dir, &n_sub);
    for (size_t i = 0; i < n_sub; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
        if (is_dir(path)) {
            size_t n_files = 0;
            char **files = list_dir(path, &n_files);
            for (size_t j = 0; j < n_files; j++) {
                char rel[4096], full[8192];
                snprintf(rel, sizeof rel, "%s/%s", subs[i], files[j]);
                snprintf(full, sizeof full, "%s/%s", dir, rel);
                if (is_file(full))
                    corpus_add(c, rel);
                free(files[j]);
            }
            free(files);
        }
        free(subs[i]);
    }
    free(subs);
    if (c->n == 0) {
        fprintf(stderr, "%s: %s holds no file_list.json and no messages in sub-folders\n", prog,
                dir);
        exit(1);
    }
}

typedef struct {
    corpus *c;
    const char *dir;
    size_t first, step;
    int failed;
} extract_job;

static void *extract_worker(void *arg)
{
    extract_job *job = arg;
    for (size_t i = job->first; i < job->c->n; i += job->step) {
        message *m = &job->c->m[i];
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", job->dir, m->path);
        char *raw = NULL;
        size_t raw_len = 0;
        if (spam_read_file(path, SPAM_MAX_MESSAGE, &raw, &raw_len) != 0) {
            job->failed = 1;
            continue;
        }
        if (spam_extract(raw, raw_len, &m->text, &m->len) != 0) {
            fprintf(stderr, "%s: %s: out of memory while extracting\n", prog, path);
            job->failed = 1;
        }
        free(raw);
    }
    return NULL;
}

/* Read and extract every message, on `threads` threads. */
static void corpus_extract(corpus *c, const char *dir, int threads)
{
    pthread_t tid[256];
    extract_job jobs[256];
    int started = 0;
    for (int t = 0; t < threads; t++) {
        jobs[t] = (extract_job){c, dir, (size_t)t, (size_t)threads, 0};
        if (t > 0 && pthread_create(&tid[t], NULL, extract_worker, &jobs[t]) == 0)
            started++;
        else if (t > 0)
            jobs[t].failed = 2;
    }
    extract_worker(&jobs[0]);
    int failed = jobs[0].failed;
    for (int t = 1; t < threads; t++) {
        if (jobs[t].failed == 2) { /* not started: do its share here */
            jobs[t].failed = 0;
            extract_worker(&jobs[t]);
        } else {
            pthread_join(tid[t], NULL);
        }
        failed |= jobs[t].failed;
    }
    (void)started;
    if (failed) {
        fprintf(stderr, "%s: some messages could not be read\n", prog);
        exit(1);
    }
}

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->m[i].path);
        free(c->m[i].text);
    }
    free(c->m);
    memset(c, 0, sizeof *c);
}

/* ---- the seeded split --------------------------------------------------- */

/* splitmix64: a small, well-mixed generator; the same on every platform. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n) { return (size_t)(rng_next(s) % (uint64_t)n); }

static void shuffle(size_t *a, size_t n, uint64_t *s)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(s, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Stratified: per class, shuffle that class's messages (in corpus order)
 * with the seed and send the first round(fraction * count) to the test
 * split. */
static void split(corpus *c, unsigned long long seed, double fraction)
{
    uint64_t state = (uint64_t)seed;
    for (int label = 0; label <= 1; label++) {
        size_t *idx = xmalloc(c->n * sizeof *idx);
        size_t k = 0;
        for (size_t i = 0; i < c->n; i++)
            if (c->m[i].label == label)
                idx[k++] = i;
        shuffle(idx, k, &state);
        size_t n_test = (size_t)floor(fraction * (double)k + 0.5);
        for (size_t i = 0; i < k; i++)
            c->m[idx[i]].test = i < n_test;
        free(idx);
    }
}

static void dump_tsv(const corpus *c, const char *dir)
{
    char path[4096];
    mkdir(dir, 0777); /* may exist already: fopen reports real failures */
    snprintf(path, sizeof path, "%s/spam.tsv", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        exit(1);
    }
    fprintf(f, "split\tlabel\tpath\ttext\n");
    for (size_t i = 0; i < c->n; i++) {
        const message *m = &c->m[i];
        fprintf(f, "%s\t%d\t%s\t", m->test ? "test" : "train", m->label, m->path);
        for (size_t j = 0; j < m->len; j++) {
            char ch = m->text[j];
            fputc(ch == '\t' || ch == '\n' || ch == '\r' ? ' ' : ch, f);
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: %s: write error\n", prog, path);
        exit(1);
    }
    printf("wrote %s (%zu messages: split, label, path, text with tabs and line ends as "
           "spaces)\n",
           path, c->n);
}

/* ---- metrics ------------------------------------------------------------ */

typedef struct {
    double accuracy, precision, recall, f1, auc, ham_fpr, score_std;
    size_t tp, fp, tn, fn, n;
} metrics;

typedef struct {
    float score;
    int label;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x > y) - (x < y);
}

/* ROC AUC as the Mann-Whitney statistic, ties counted one half. */
static double roc_auc(const float *scores, const int *labels, size_t n)
{
    scored *s = xmalloc(n * sizeof *s);
    size_t n_pos = 0;
    for (size_t i = 0; i < n; i++) {
        s[i].score = scores[i];
        s[i].label = labels[i];
        n_pos += labels[i] != 0;
    }
    size_t n_neg = n - n_pos;
    if (n_pos == 0 || n_neg == 0) {
        free(s);
        return NAN;
    }
    qsort(s, n, sizeof *s, cmp_scored);
    double rank_sum = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j].score == s[i].score)
            j++;
        double avg_rank = ((double)i + 1.0 + (double)j) / 2.0; /* ranks i+1..j */
        for (size_t k = i; k < j; k++)
            if (s[k].label)
                rank_sum += avg_rank;
        i = j;
    }
    free(s);
    return (rank_sum - (double)n_pos * ((double)n_pos + 1.0) / 2.0) /
           ((double)n_pos * (double)n_neg);
}

static metrics compute_metrics(const float *scores, const int *labels, size_t n, double threshold)
{
    metrics m;
    memset(&m, 0, sizeof m);
    m.n = n;
    double sum = 0.0, sum2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        int pred = scores[i] >= threshold;
        if (pred && labels[i])
            m.tp++;
        else if (pred)
            m.fp++;
        else if (labels[i])
            m.fn++;
        else
            m.tn++;
        sum += scores[i];
        sum2 += (double)scores[i] * scores[i];
    }
    m.accuracy = n ? (double)(m.tp + m.tn) / (double)n : NAN;
    m.precision = m.tp + m.fp ? (double)m.tp / (double)(m.tp + m.fp) : 0.0;
    m.recall = m.tp + m.fn ? (double)m.tp / (double)(m.tp + m.fn) : 0.0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
    m.ham_fpr = m.fp + m.tn ? (double)m.fp / (double)(m.fp + m.tn) : NAN;
    m.auc = roc_auc(scores, labels, n);
    double mean = n ? sum / (double)n : 0.0;
    m.score_std = n ? sqrt(fmax(0.0, sum2 / (double)n - mean * mean)) : 0.0;
    return m;
}

static void print_metrics(const char *what, const metrics *m, double threshold)
{
    printf("%s (%zu messages, threshold %.2f):\n", what, m->n, threshold);
    printf("  accuracy  %.4f\n  precision %.4f\n  recall    %.4f\n  F1        %.4f\n"
           "  ROC AUC   %.4f\n  ham FPR   %.4f (%zu of %zu ham flagged)\n"
           "  confusion tp %zu fp %zu tn %zu fn %zu\n",
           m->accuracy, m->precision, m->recall, m->f1, m->auc, m->ham_fpr, m->fp, m->fp + m->tn,
           m->tp, m->fp, m->tn, m->fn);
}

/* The quality gate: refuse a constant or uninformative model. */
static int quality_gate(const metrics *m)
{
    if (m->n >= 2 && m->score_std < 0.01) {
        fprintf(stderr,
                "%s: refusing to save a degenerate model: its scores are constant "
                "(standard deviation %.2g < 0.01 over %zu messages)\n",
                prog, m->score_std, m->n);
        return 0;
    }
    if (!isnan(m->auc) && m->auc < 0.6) {
        fprintf(stderr, "%s: refusing to save a degenerate model: ROC AUC %.3f < 0.6\n", prog,
                m->auc);
        return 0;
    }
    return 1;
}

/* ---- features ----------------------------------------------------------- */

/* The rows of one split as model input: a CSR matrix (bow) or padded ids
 * (seq), with float labels. */
typedef struct {
    size_t n;
    float *y;
    int *labels;
    size_t *indptr; /* bow */
    int32_t *indices;
    double *data;
    int32_t *ids;   /* seq: [n, seq_len] */
} rows;

static void rows_free(rows *r)
{
    free(r->y);
    free(r->labels);
    seqnet_free(r->indptr);
    seqnet_free(r->indices);
    seqnet_free(r->data);
    free(r->ids);
    memset(r, 0, sizeof *r);
}

/* Texts of the messages whose split is `test` (or all with test < 0). */
static size_t gather(const corpus *c, int test, const char ***texts, size_t **lengths, rows *r)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += test < 0 || c->m[i].test == test;
    *texts = xcalloc(n, sizeof **texts);
    *lengths = xcalloc(n, sizeof **lengths);
    r->n = n;
    r->y = xcalloc(n, sizeof *r->y);
    r->labels = xcalloc(n, sizeof *r->labels);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!(test < 0 || c->m[i].test == test))
            continue;
        (*texts)[k] = c->m[i].text;
        (*lengths)[k] = c->m[i].len;
        r->y[k] = (float)c->m[i].label;
        r->labels[k] = c->m[i].label;
        k++;
    }
    return n;
}

/* Turn split `test` of the corpus into rows with a fitted text object. */
static void featurize(const spam_model *sm, const corpus *c, int test, rows *r)
{
    const char **texts = NULL;
    size_t *lengths = NULL;
    size_t n = gather(c, test, &texts, &lengths, r);
    if (sm->kind == SPAM_BOW) {
        CHECK(seqnet_vectorizer_transform(sm->vec, texts, lengths, n, &r->indptr, &r->indices,
                                          &r->data),
              sm->vec);
    } else {
        int32_t *ids = NULL;
        size_t *offsets = NULL;
        CHECK(seqnet_tokenizer_texts_to_sequences(sm->tok, texts, lengths, n, &ids, &offsets),
              sm->tok);
        r->ids = xcalloc(n * (size_t)sm->seq_len, sizeof *r->ids);
        spam_pad(ids, offsets, 0, (int32_t)n, sm->seq_len, r->ids);
        seqnet_free(ids);
        seqnet_free(offsets);
    }
    free(texts);
    free(lengths);
}

/* Scores of all rows, in batches of 256, through one session. */
static float *predict(const spam_model *sm, const rows *r)
{
    enum { B = 256 };
    float *scores = xcalloc(r->n, sizeof *scores);
    seqnet_session *session = NULL;
    CHECK(seqnet_session_new(sm->model, &session), sm->model);
    float *x = sm->kind == SPAM_BOW ? xcalloc((size_t)B * (size_t)sm->n_features, sizeof *x) : NULL;
    for (size_t start = 0; start < r->n; start += B) {
        int32_t n = (int32_t)(r->n - start < B ? r->n - start : B);
        if (sm->kind == SPAM_BOW) {
            spam_densify(r->indptr, r->indices, r->data, start, n, sm->n_features, x);
            CHECK(seqnet_session_set_input_floats(session, 0, x, n, 0, sm->n_features), session);
        } else {
            CHECK(seqnet_session_set_input_tokens(session, 0, r->ids + start * (size_t)sm->seq_len,
                                                  n, sm->seq_len),
                  session);
        }
        CHECK(seqnet_session_run(session), session);
        CHECK(seqnet_session_get_output(session, 0, scores + start, n), session);
    }
    free(x);
    seqnet_session_free(session);
    return scores;
}

/* ---- training ----------------------------------------------------------- */

/* The bag-of-words batch generator: dense batches scattered from the CSR
 * rows, in an order reshuffled (seeded) at the start of every epoch. A dense
 * matrix of all rows would take n x n_features floats. */
typedef struct {
    const rows *r;
    int32_t n_features, batch;
    size_t *order;
    uint64_t rng;
    int32_t shuffled_epoch;
    float *x, *y;
} bow_gen;

static int bow_generate(void *user, int32_t epoch, int64_t batch_index, seqnet_data *batch)
{
    bow_gen *g = user;
    if (batch_index == 0 && epoch != g->shuffled_epoch) {
        shuffle(g->order, g->r->n, &g->rng);
        g->shuffled_epoch = epoch;
    }
    size_t start = (size_t)batch_index * (size_t)g->batch;
    if (start >= g->r->n)
        return 0;
    int32_t n = (int32_t)(g->r->n - start < (size_t)g->batch ? g->r->n - start : (size_t)g->batch);
    memset(g->x, 0, (size_t)n * (size_t)g->n_features * sizeof *g->x);
    for (int32_t b = 0; b < n; b++) {
        size_t row = g->order[start + (size_t)b];
        float *dst = g->x + (size_t)b * (size_t)g->n_features;
        for (size_t k = g->r->indptr[row]; k < g->r->indptr[row + 1]; k++)
            dst[g->r->indices[k]] = (float)g->r->data[k];
        g->y[b] = g->r->y[row];
    }
    if (seqnet_data_set_floats(batch, 0, g->x, n, 0, g->n_features) != SEQNET_OK ||
        seqnet_data_set_targets(batch, 0, g->y, n, 0, 1) != SEQNET_OK)
        return -1;
    return 1;
}

typedef struct {
    const seqnet_trainer *trainer;
    int epochs;
    double t0;
} progress;

static int on_epoch(void *user, int event, int32_t epoch, int32_t batch, int32_t n_batches,
                    const double *logs, int32_t n_logs)
{
    progress *p = user;
    (void)batch;
    (void)n_batches;
    if (event != SEQNET_EVENT_EPOCH_END)
        return 0;
    printf("epoch %2d/%d", (int)epoch + 1, p->epochs);
    for (int32_t i = 0; i < n_logs; i++) {
        const char *name = seqnet_trainer_log_name(p->trainer, i, 0);
        printf("  %s %.4f", name ? name : "?", logs[i]);
    }
    printf("  (%.1f s)\n", spam_now() - p->t0);
    fflush(stdout);
    return 0;
}

/* Train `epochs` epochs on the rows (which borrow the model's schema). */
static void train_rows(seqnet_context *ctx, seqnet_trainer *trainer, const spam_model *sm,
                       const rows *r, int epochs, int batch, unsigned long long seed)
{
    seqnet_data *data = NULL;
    bow_gen gen;
    memset(&gen, 0, sizeof gen);
    CHECK(seqnet_data_new(ctx, &data), ctx);
    CHECK(seqnet_trainer_set_param(trainer, SEQNET_TRAIN_EPOCHS, epochs), trainer);
    CHECK(seqnet_trainer_set_param(trainer, SEQNET_TRAIN_BATCH_SIZE, batch), trainer);
    CHECK(seqnet_trainer_set_param(trainer, SEQNET_TRAIN_SEED, (double)seed), trainer);
    if (sm->kind == SPAM_BOW) {
        gen.r = r;
        gen.n_features = sm->n_features;
        gen.batch = batch;
        gen.order = xmalloc(r->n * sizeof *gen.order);
        for (size_t i = 0; i < r->n; i++)
            gen.order[i] = i;
        gen.rng = (uint64_t)seed ^ 0x5DEECE66Du;
        gen.shuffled_epoch = -1;
        gen.x = xcalloc((size_t)batch * (size_t)sm->n_features, sizeof *gen.x);
        gen.y = xcalloc((size_t)batch, sizeof *gen.y);
        CHECK(seqnet_data_set_generator(data, bow_generate, &gen), data);
    } else {
        CHECK(seqnet_data_set_tokens(data, 0, r->ids, (int64_t)r->n, sm->seq_len), data);
        CHECK(seqnet_data_set_targets(data, 0, r->y, (int64_t)r->n, 0, 1), data);
    }
    progress p = {trainer, epochs, spam_now()};
    CHECK(seqnet_trainer_set_callback(trainer, on_epoch, &p), trainer);
    CHECK(seqnet_trainer_fit(trainer, data, NULL), trainer);
    CHECK(seqnet_trainer_set_callback(trainer, NULL, NULL), trainer);
    seqnet_data_free(data);
    free(gen.order);
    free(gen.x);
    free(gen.y);
}

/* ---- building the models ------------------------------------------------ */

static int32_t add_layer(seqnet_graph *g, int kind, const seqnet_options *opts, int32_t in,
                         const char *name)
{
    int32_t node = -1;
    CHECK(seqnet_graph_add(g, kind, opts, &in, 1, name, &node), g);
    return node;
}

static seqnet_model *build_bow(seqnet_context *ctx, int32_t n_features, int hidden)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *model = NULL;
    int32_t input, x, out;
    CHECK(seqnet_graph_new(ctx, &g), ctx);
    CHECK(seqnet_options_new(ctx, &o), ctx);
    CHECK(seqnet_graph_input_vector(g, n_features, "features", &input), g);
    x = input;
    if (hidden > 0) {
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, hidden), o);
        CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), o);
        x = add_layer(g, SEQNET_LAYER_DENSE, o, x, "hidden");
        CHECK(seqnet_options_clear(o), o);
        CHECK(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.3), o);
        x = add_layer(g, SEQNET_LAYER_DROPOUT, o, x, NULL);
        CHECK(seqnet_options_clear(o), o);
    }
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), o);
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"), o);
    out = add_layer(g, SEQNET_LAYER_DENSE, o, x, "score");
    CHECK(seqnet_graph_compile(g, &input, 1, &out, 1, &model), g);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return model;
}

/* Embedding -> Conv1D(128, 5, relu) -> GlobalMaxPooling1D -> Dense(1, sigmoid);
 * without Conv1D in this build: Embedding(mask_zero) -> GlobalAveragePooling1D
 * -> Dense(1, sigmoid). *what receives a description. */
static seqnet_model *build_seq(seqnet_context *ctx, int32_t vocab, int32_t seq_len,
                               const char **what)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int conv = attempt == 0;
        seqnet_graph *g = NULL;
        seqnet_options *o = NULL;
        seqnet_model *model = NULL;
        int32_t input, x, out;
        CHECK(seqnet_graph_new(ctx, &g), ctx);
        CHECK(seqnet_options_new(ctx, &o), ctx);
        CHECK(seqnet_graph_input_tokens(g, seq_len, "tokens", &input), g);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, vocab), o);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 64), o);
        if (!conv)
            CHECK(seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1), o);
        x = add_layer(g, SEQNET_LAYER_EMBEDDING, o, input, "embedding");
        CHECK(seqnet_options_clear(o), o);
        if (conv) {
            CHECK(seqnet_options_set_int(o, SEQNET_OPT_FILTERS, 128), o);
            CHECK(seqnet_options_set_int(o, SEQNET_OPT_KERNEL_SIZE, 5), o);
            CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), o);
            int32_t in = x, node = -1;
            int st = seqnet_graph_add(g, SEQNET_LAYER_CONV1D, o, &in, 1, "conv1d", &node);
            CHECK(seqnet_options_clear(o), o);
            if (st == SEQNET_EUNSUPPORTED) {
                seqnet_options_free(o);
                seqnet_graph_free(g);
                continue;
            }
            if (st != SEQNET_OK)
                die("seqnet_graph_add(Conv1D)", st, g);
            x = add_layer(g, SEQNET_LAYER_GLOBAL_MAX_POOLING1D, NULL, node, "pool");
            *what = "Embedding(64) -> Conv1D(128, 5, relu) -> GlobalMaxPooling1D -> Dense(1, "
                    "sigmoid)";
        } else {
            x = add_layer(g, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, NULL, x, "pool");
            *what = "Embedding(64, mask_zero) -> GlobalAveragePooling1D -> Dense(1, sigmoid) "
                    "(no Conv1D in this build)";
        }
        CHECK(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.3), o);
        x = add_layer(g, SEQNET_LAYER_DROPOUT, o, x, NULL);
        CHECK(seqnet_options_clear(o), o);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), o);
        CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"), o);
        out = add_layer(g, SEQNET_LAYER_DENSE, o, x, "score");
        CHECK(seqnet_graph_compile(g, &input, 1, &out, 1, &model), g);
        seqnet_options_free(o);
        seqnet_graph_free(g);
        return model;
    }
    fprintf(stderr, "%s: cannot build a sequence model\n", prog);
    exit(1);
}

static void setup_trainer(seqnet_trainer *trainer, double lr)
{
    CHECK(seqnet_trainer_set_loss(trainer, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), trainer);
    CHECK(seqnet_trainer_add_metric(trainer, 0, SEQNET_METRIC_BINARY_ACCURACY), trainer);
    if (lr > 0) {
        CHECK(seqnet_trainer_set_optimizer(trainer, SEQNET_OPTIMIZER_ADAM), trainer);
        CHECK(seqnet_trainer_set_param(trainer, SEQNET_TRAIN_LEARNING_RATE, lr), trainer);
    }
}

/* ---- saving ------------------------------------------------------------- */

typedef struct {
    const char *key;
    char value[256];
} meta_kv;

static void save_model(seqnet_context *ctx, const spam_model *sm, const seqnet_trainer *trainer,
                       const meta_kv *meta, size_t n_meta, const seqnet_loader *old_meta,
                       const char *path)
{
    seqnet_saver *saver = NULL;
    CHECK(seqnet_saver_new(ctx, &saver), ctx);
    CHECK(seqnet_saver_set_model(saver, sm->model), saver);
    CHECK(seqnet_saver_set_trainer(saver, trainer), saver);
    if (sm->kind == SPAM_BOW)
        CHECK(seqnet_saver_add_vectorizer(saver, SPAM_VECTORIZER_NAME, sm->vec), saver);
    else
        CHECK(seqnet_saver_add_tokenizer(saver, SPAM_TOKENIZER_NAME, sm->tok), saver);
    if (old_meta != NULL) {
        int32_t n = seqnet_loader_n_meta(old_meta);
        for (int32_t i = 0; i < n; i++) {
            const char *k = NULL, *v = NULL;
            CHECK(seqnet_loader_meta(old_meta, i, &k, &v), old_meta);
            CHECK(seqnet_saver_set_meta(saver, k, v), saver);
        }
    }
    for (size_t i = 0; i < n_meta; i++)
        CHECK(seqnet_saver_set_meta(saver, meta[i].key, meta[i].value), saver);
    void *bytes = NULL;
    size_t size = 0;
    CHECK(seqnet_saver_write_alloc(saver, &bytes, &size), saver);
    seqnet_saver_free(saver);

    /* write a temporary file next to the target, then rename over it */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", prog, tmp, strerror(errno));
        exit(1);
    }
    int ok = fwrite(bytes, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    seqnet_free(bytes);
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
        remove(tmp);
        exit(1);
    }
    printf("saved %s (%zu bytes: model, Adam state, %s, input schema)\n", path, size,
           sm->kind == SPAM_BOW ? "vectorizer" : "tokenizer");
}

/* ---- the two modes ------------------------------------------------------ */

static int train_new(const options *o)
{
    seqnet_context *ctx = NULL;
    corpus c = {0};
    spam_model sm;
    memset(&sm, 0, sizeof sm);
    sm.kind = o->kind;
    sm.threshold = o->threshold;
    int epochs = o->epochs ? o->epochs : (o->kind == SPAM_BOW ? 12 : 6);
    double lr = o->lr > 0 ? o->lr : (o->kind == SPAM_BOW ? 0.01 : 0.002);

    double t0 = spam_now();
    corpus_list(&c, o->data_dir);
    corpus_extract(&c, o->data_dir, o->threads);
    split(&c, o->seed, o->test_fraction);
    size_t n_spam = 0, n_test = 0;
    for (size_t i = 0; i < c.n; i++) {
        n_spam += c.m[i].label;
        n_test += c.m[i].test;
    }
    printf("corpus %s: %zu messages (%zu ham, %zu spam), extracted in %.1f s\n", o->data_dir, c.n,
           c.n - n_spam, n_spam, spam_now() - t0);
    printf("split: seed %llu, stratified, %zu train / %zu test\n", o->seed, c.n - n_test, n_test);
    if (o->dump_dir)
        dump_tsv(&c, o->dump_dir);
    if (n_spam == 0 || n_spam == c.n) {
        fprintf(stderr, "%s: the corpus needs both ham and spam\n", prog);
        return 1;
    }

    CHECK(seqnet_context_new(&ctx), NULL);
    CHECK(seqnet_context_set_seed(ctx, (uint64_t)o->seed), ctx);

    /* fit the text object on the training split only */
    const char **texts = NULL;
    size_t *lengths = NULL;
    rows train = {0}, test = {0};
    size_t n_train = gather(&c, 0, &texts, &lengths, &train);
    rows_free(&train);
    char features[128];
    const char *model_what = "";
    t0 = spam_now();
    if (o->kind == SPAM_BOW) {
        CHECK(seqnet_vectorizer_new(ctx, o->hashing ? SEQNET_VECTORIZER_HASHING
                                                    : SEQNET_VECTORIZER_TFIDF,
                                    &sm.vec),
              ctx);
        CHECK(seqnet_vectorizer_set_int(sm.vec, SEQNET_VECTORIZER_NGRAM_MIN, 1), sm.vec);
        CHECK(seqnet_vectorizer_set_int(sm.vec, SEQNET_VECTORIZER_NGRAM_MAX, 2), sm.vec);
        if (o->hashing) {
            /* stateless: word 1-2 grams hashed into max_features signed columns,
             * L2-normalised rows */
            CHECK(seqnet_vectorizer_set_int(sm.vec, SEQNET_VECTORIZER_N_FEATURES, o->max_features),
                  sm.vec);
        } else {
            CHECK(seqnet_vectorizer_set_int(sm.vec, SEQNET_VECTORIZER_MIN_DF, 2), sm.vec);
            CHECK(seqnet_vectorizer_set_int(sm.vec, SEQNET_VECTORIZER_SUBLINEAR_TF, 1), sm.vec);
            CHECK(seqnet_vectorizer_set_int(sm.vec, SEQNET_VECTORIZER_MAX_FEATURES,
                                            o->max_features),
                  sm.vec);
        }
        CHECK(seqnet_vectorizer_fit(sm.vec, texts, lengths, n_train), sm.vec);
        size_t nf = 0;
        CHECK(seqnet_vectorizer_n_features(sm.vec, &nf), sm.vec);
        sm.n_features = (int32_t)nf;
        snprintf(features, sizeof features, "%s",
                 o->hashing ? "hashing-words-1-2gram-signed-l2"
                            : "tfidf-words-1-2gram-sublinear-l2-mindf2");
        printf("features: %s of word 1-2 grams, %zu columns (fitted in %.1f s)\n",
               o->hashing ? "hashed counts" : "TF-IDF", nf, spam_now() - t0);
        sm.model = build_bow(ctx, sm.n_features, o->hidden);
        model_what = o->hidden ? "Dense(hidden, relu) -> Dropout(0.3) -> Dense(1, sigmoid)"
                               : "Dense(1, sigmoid) (logistic regression)";
    } else {
        CHECK(seqnet_tokenizer_new(ctx, &sm.tok), ctx);
        CHECK(seqnet_tokenizer_set_int(sm.tok, SEQNET_TOKENIZER_NUM_WORDS, o->vocab), sm.tok);
        CHECK(seqnet_tokenizer_fit(sm.tok, texts, lengths, n_train), sm.tok);
        sm.vocab_size = o->vocab;
        sm.seq_len = o->seq_len;
        size_t words = 0;
        CHECK(seqnet_tokenizer_word_count(sm.tok, &words), sm.tok);
        snprintf(features, sizeof features, "tokenizer-ids-post-truncated-post-padded");
        printf("features: Keras Tokenizer, %zu distinct words, num_words %d, first %d tokens "
               "(fitted in %.1f s)\n",
               words, o->vocab, o->seq_len, spam_now() - t0);
        sm.model = build_seq(ctx, o->vocab, o->seq_len, &model_what);
    }
    free(texts);
    free(lengths);
    snprintf(sm.features, sizeof sm.features, "%s", features);

    t0 = spam_now();
    featurize(&sm, &c, 0, &train);
    featurize(&sm, &c, 1, &test);
    printf("featurized %zu + %zu messages in %.1f s\n", train.n, test.n, spam_now() - t0);

    char *summary = NULL;
    CHECK(seqnet_model_summary(sm.model, &summary), sm.model);
    printf("model: %s\n%s\n", model_what, summary);
    seqnet_free(summary);

    seqnet_trainer *trainer = NULL;
    CHECK(seqnet_trainer_new(sm.model, &trainer), sm.model);
    setup_trainer(trainer, lr);
    printf("training: Adam lr %g, batch %d, %d epochs, seed %llu\n", lr, o->batch, epochs,
           o->seed);
    t0 = spam_now();
    train_rows(ctx, trainer, &sm, &train, epochs, o->batch, o->seed);
    double train_s = spam_now() - t0;
    printf("trained in %.1f s\n", train_s);

    float *scores = predict(&sm, &test);
    metrics m = compute_metrics(scores, test.labels, test.n, o->threshold);
    print_metrics("held-out test split", &m, o->threshold);
    printf("RESULT model=%s accuracy=%.4f precision=%.4f recall=%.4f f1=%.4f auc=%.4f "
           "ham_fpr=%.4f train_s=%.1f\n",
           o->kind == SPAM_BOW ? "bow" : "seq", m.accuracy, m.precision, m.recall, m.f1, m.auc,
           m.ham_fpr, train_s);
    free(scores);
    fflush(stdout);

    int status = 0;
    if (!quality_gate(&m)) {
        status = 3;
    } else {
        meta_kv meta[16];
        size_t k = 0;
        meta[k].key = "spam.schema";
        snprintf(meta[k++].value, sizeof meta[0].value, "%s", SPAM_SCHEMA);
        meta[k].key = "spam.model";
        snprintf(meta[k++].value, sizeof meta[0].value, "%s", o->kind == SPAM_BOW ? "bow" : "seq");
        meta[k].key = "spam.features";
        snprintf(meta[k++].value, sizeof meta[0].value, "%s", features);
        meta[k].key = "spam.extract";
        snprintf(meta[k++].value, sizeof meta[0].value, "%s", SPAM_EXTRACT_VERSION);
        if (o->kind == SPAM_BOW) {
            meta[k].key = "spam.n_features";
            snprintf(meta[k++].value, sizeof meta[0].value, "%d", (int)sm.n_features);
        } else {
            meta[k].key = "spam.vocab_size";
            snprintf(meta[k++].value, sizeof meta[0].value, "%d", (int)sm.vocab_size);
            meta[k].key = "spam.seq_len";
            snprintf(meta[k++].value, sizeof meta[0].value, "%d", (int)sm.seq_len);
        }
        meta[k].key = "spam.threshold";
        snprintf(meta[k++].value, sizeof meta[0].value, "%.17g", o->threshold);
        meta[k].key = "spam.split";
        snprintf(meta[k++].value, sizeof meta[0].value,
                 "stratified seed %llu test fraction %g: %zu train / %zu test", o->seed,
                 o->test_fraction, train.n, test.n);
        meta[k].key = "spam.test_metrics";
        snprintf(meta[k++].value, sizeof meta[0].value,
                 "accuracy %.4f precision %.4f recall %.4f f1 %.4f auc %.4f ham_fpr %.4f",
                 m.accuracy, m.precision, m.recall, m.f1, m.auc, m.ham_fpr);
        meta[k].key = "spam.trained_messages";
        snprintf(meta[k++].value, sizeof meta[0].value, "%zu", train.n);
        save_model(ctx, &sm, trainer, meta, k, NULL, o->out);
    }

    seqnet_trainer_free(trainer);
    rows_free(&train);
    rows_free(&test);
    seqnet_vectorizer_free(sm.vec);
    seqnet_tokenizer_free(sm.tok);
    seqnet_model_free(sm.model);
    seqnet_context_free(ctx);
    corpus_free(&c);
    return status;
}

static int train_continue(const options *o)
{
    seqnet_context *ctx = NULL;
    spam_model sm;
    corpus c = {0};
    CHECK(seqnet_context_new(&ctx), NULL);
    CHECK(seqnet_context_set_seed(ctx, (uint64_t)o->seed), ctx);
    if (spam_model_open(ctx, prog, o->continue_path, o->kind, &sm) != 0)
        return 1;
    corpus_list(&c, o->add_dir);
    corpus_extract(&c, o->add_dir, o->threads);
    size_t n_spam = 0;
    for (size_t i = 0; i < c.n; i++)
        n_spam += c.m[i].label;
    printf("continuing %s (%s model, %s) on %zu new messages from %s (%zu ham, %zu spam)\n",
           o->continue_path, sm.kind == SPAM_BOW ? "bow" : "seq", sm.features, c.n, o->add_dir,
           c.n - n_spam, n_spam);

    rows r = {0};
    featurize(&sm, &c, -1, &r);

    seqnet_trainer *trainer = NULL;
    CHECK(seqnet_trainer_new(sm.model, &trainer), sm.model);
    setup_trainer(trainer, 0.0);
    if (seqnet_loader_has_optimizer(sm.loader)) {
        CHECK(seqnet_loader_restore_trainer(sm.loader, trainer), sm.loader);
        printf("restored the saved Adam state\n");
    } else {
        CHECK(seqnet_trainer_set_optimizer(trainer, SEQNET_OPTIMIZER_ADAM), trainer);
        printf("the file holds no optimizer state: starting a fresh Adam\n");
    }
    if (o->lr > 0)
        CHECK(seqnet_trainer_set_param(trainer, SEQNET_TRAIN_LEARNING_RATE, o->lr), trainer);

    float *before = predict(&sm, &r);
    metrics mb = compute_metrics(before, r.labels, r.n, sm.threshold);
    int epochs = o->epochs ? o->epochs : 3;
    train_rows(ctx, trainer, &sm, &r, epochs, o->batch, o->seed);
    float *after = predict(&sm, &r);
    metrics ma = compute_metrics(after, r.labels, r.n, sm.threshold);
    printf("on the added messages: accuracy %.4f before, %.4f after\n", mb.accuracy, ma.accuracy);

    int status = 0;
    if (!quality_gate(&ma)) {
        status = 3;
    } else {
        const char *prev = seqnet_loader_get_meta(sm.loader, "spam.trained_messages");
        meta_kv meta[2];
        meta[0].key = "spam.trained_messages";
        snprintf(meta[0].value, sizeof meta[0].value, "%s + %zu", prev ? prev : "?", r.n);
        meta[1].key = "spam.continued";
        snprintf(meta[1].value, sizeof meta[1].value,
                 "%d more epochs on %zu messages; accuracy on them %.4f -> %.4f", epochs, r.n,
                 mb.accuracy, ma.accuracy);
        save_model(ctx, &sm, trainer, meta, 2, sm.loader, o->out);
    }
    free(before);
    free(after);
    rows_free(&r);
    seqnet_trainer_free(trainer);
    spam_model_close(&sm);
    seqnet_context_free(ctx);
    corpus_free(&c);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    parse_args(argc, argv, &o);
    spam_extract_init();
    int status = o.continue_path ? train_continue(&o) : train_new(&o);
    spam_extract_shutdown();
    return status;
}

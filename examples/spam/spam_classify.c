/*
 * spam_classify.c -- classify raw messages with a saved spam filter, the way
 * a mail server would: one shared model, a pool of worker threads each with
 * its own seqnet_session.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 *   spam_classify MODEL [--threads N] [--repeat R] [--quiet] [--copy-text] [FILE...]
 *
 * Input: each FILE is one raw RFC 822 message; "-" reads one message from
 * standard input. Without FILE arguments, standard input holds one message
 * path per line (empty lines are skipped).
 *
 * Output (standard output), one line per message, in input order:
 *     SCORE VERDICT PATH
 * SCORE is the model's spam probability with 4 decimals, VERDICT "spam" when
 * SCORE >= the threshold stored in the model file, else "ham"; a message
 * that cannot be read gives "error - PATH" (and a reason on stderr). Then, on
 * standard error: the throughput (messages per second over the whole run,
 * reading files included) and per-message latency, median and 99th
 * percentile, split into extraction (GMime: MIME decoding and text) and
 * classification, itself split into features (vectorizer or tokenizer,
 * then the dense vector or padded ids) and the model (the session's run).
 *
 * --threads N   worker threads (default 2). Each has its own session and
 *               scratch; the model and the fitted vectorizer/tokenizer are
 *               shared read-only (model.h and text.h allow it; errors are
 *               read from return codes and the session, never from the
 *               shared objects' messages).
 * --copy-text   give each worker its own copy of the vectorizer/tokenizer
 *               (loaded from the saved bytes in its own context) instead of
 *               sharing one. Sharing is what text.h allows, but a transform
 *               still resets the shared object's error message, a benign but
 *               formal data race that race detectors (helgrind, TSan) report;
 *               copies cost one text object's memory per thread.
 * --repeat R    classify the whole input R times (for timing); lines are
 *               printed once.
 * --quiet       no per-message lines.
 *
 * Exit status: 0, 1 when the model cannot be used or a message failed,
 * 2 usage.
 */
#include "extract.h"
#include "spam_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "spam_classify";

typedef struct {
    const char *path;
    char *stdin_data; /* the message read from stdin for "-" */
    size_t stdin_len;
    float score;
    int ok;
} job;

typedef struct {
    const spam_model *model;
    job *jobs;
    size_t n_jobs, total; /* total = n_jobs * repeat */
    pthread_mutex_t lock;
    size_t next;
    double *extract_lat, *classify_lat, *feature_lat, *model_lat; /* [total] */
    const void *text_bytes; /* --copy-text: the saved text object */
    size_t text_size;
} pool;

typedef struct {
    pool *p;
    int failed_setup;
} worker_arg;

static size_t take(pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t i = p->next < p->total ? p->next++ : p->total;
    pthread_mutex_unlock(&p->lock);
    return i;
}

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    pool *p = wa->p;
    spam_model local = *p->model; /* shares the model; maybe not the text object */
    const spam_model *m = &local;
    seqnet_context *own_ctx = NULL;
    seqnet_session *session = NULL;
    spam_scratch scratch;
    int st;
    if (p->text_bytes != NULL) {
        st = seqnet_context_new(&own_ctx);
        if (st == SEQNET_OK && local.kind == SPAM_BOW)
            st = seqnet_vectorizer_load(own_ctx, p->text_bytes, p->text_size, &local.vec);
        else if (st == SEQNET_OK)
            st = seqnet_tokenizer_load(own_ctx, p->text_bytes, p->text_size, &local.tok);
        if (st != SEQNET_OK) {
            fprintf(stderr, "%s: copying the text object failed: %s\n", prog,
                    seqnet_strerror(st));
            seqnet_context_free(own_ctx);
            wa->failed_setup = 1;
            return NULL;
        }
    }
    st = seqnet_session_new(m->model, &session);
    if (st != SEQNET_OK) {
        fprintf(stderr, "%s: seqnet_session_new failed: %s\n", prog, seqnet_strerror(st));
        wa->failed_setup = 1;
        goto out;
    }
    if (spam_scratch_init(&scratch, m, 1) != 0) {
        fprintf(stderr, "%s: out of memory\n", prog);
        seqnet_session_free(session);
        wa->failed_setup = 1;
        goto out;
    }
    for (size_t k; (k = take(p)) < p->total;) {
        job *j = &p->jobs[k % p->n_jobs];
        char *raw = NULL, *text = NULL;
        size_t raw_len = 0, len = 0;
        int ok = 0;
        float score = 0.0f;
        if (j->stdin_data != NULL) {
            raw = j->stdin_data;
            raw_len = j->stdin_len;
        } else if (spam_read_file(j->path, SPAM_MAX_MESSAGE, &raw, &raw_len) != 0) {
            raw = NULL;
        }
        double t0 = spam_now(), t1 = t0, tf = t0, t2 = t0;
        if (raw != NULL) {
            if (spam_extract(raw, raw_len, &text, &len) != 0) {
                fprintf(stderr, "%s: %s: out of memory while extracting\n", prog, j->path);
            } else {
                t1 = spam_now();
                const char *texts[1] = {text};
                size_t lengths[1] = {len};
                st = spam_feed(m, &scratch, session, texts, lengths, 1);
                tf = spam_now();
                if (st == SEQNET_OK)
                    st = seqnet_session_run(session);
                if (st == SEQNET_OK)
                    st = seqnet_session_get_output(session, 0, &score, 1);
                t2 = spam_now();
                if (st == SEQNET_OK)
                    ok = 1;
                else
                    fprintf(stderr, "%s: %s: classification failed: %s%s%s\n", prog, j->path,
                            seqnet_strerror(st), seqnet_errmsg(session)[0] ? ": " : "",
                            seqnet_errmsg(session));
            }
        }
        if (raw != j->stdin_data)
            free(raw);
        free(text);
        /* each message slot is written by one thread per repetition; the
         * repetitions of one slot may race only on identical values */
        if (k < p->n_jobs) {
            j->ok = ok;
            j->score = score;
        }
        p->extract_lat[k] = ok ? t1 - t0 : -1.0;
        p->classify_lat[k] = ok ? t2 - t1 : -1.0;
        p->feature_lat[k] = ok ? tf - t1 : -1.0;
        p->model_lat[k] = ok ? t2 - tf : -1.0;
    }
    spam_scratch_free(&scratch);
    seqnet_session_free(session);
out:
    if (own_ctx != NULL) {
        if (local.vec != p->model->vec)
            seqnet_vectorizer_free(local.vec);
        if (local.tok != p->model->tok)
            seqnet_tokenizer_free(local.tok);
        seqnet_context_free(own_ctx);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and 99th percentile (nearest rank) of the non-negative values. */
static void percentiles(double *v, size_t n, double *median, double *p99, size_t *count)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] >= 0)
            v[k++] = v[i];
    *count = k;
    if (k == 0) {
        *median = *p99 = 0.0;
        return;
    }
    qsort(v, k, sizeof *v, cmp_double);
    *median = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
    size_t r = (size_t)((double)k * 0.99 + 0.999999);
    if (r < 1)
        r = 1;
    *p99 = v[r - 1];
}

static void usage(FILE *f)
{
    fprintf(f, "usage: spam_classify MODEL [--threads N] [--repeat R] [--quiet] [--copy-text]\n"
               "                     [FILE...]\n"
               "  FILE: a raw message; \"-\" reads one message from stdin;\n"
               "  no FILE: stdin lists message paths, one per line\n");
}

int main(int argc, char **argv)
{
    const char *model_path = NULL;
    int threads = 2, repeat = 1, quiet = 0, copy_text = 0;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n_files = 0;
    if (files == NULL)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--threads") == 0 || strcmp(a, "--repeat") == 0) {
            char *end = NULL;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || *end != '\0' || v < 1 || v > 1000) {
                fprintf(stderr, "%s: %s needs a number from 1 to 1000\n", prog, a);
                return 2;
            }
            if (strcmp(a, "--threads") == 0)
                threads = (int)v;
            else
                repeat = (int)v;
            i++;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--copy-text") == 0) {
            copy_text = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "%s: unknown option %s\n", prog, a);
            usage(stderr);
            return 2;
        } else if (model_path == NULL) {
            model_path = a;
        } else {
            files[n_files++] = a;
        }
    }
    if (model_path == NULL) {
        usage(stderr);
        return 2;
    }

    spam_extract_init();
    seqnet_context *ctx = NULL;
    int st = seqnet_context_new(&ctx);
    if (st != SEQNET_OK) {
        spam_report(prog, "seqnet_context_new", st, NULL);
        return 1;
    }
    spam_model m;
    double t_load = spam_now();
    if (spam_model_open(ctx, prog, model_path, 0, &m) != 0) {
        seqnet_context_free(ctx);
        return 1;
    }
    t_load = spam_now() - t_load;

    /* the messages */
    job *jobs = NULL;
    size_t n_jobs = 0, cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    char *stdin_msg = NULL;
    size_t stdin_len = 0;
    int stdin_used = 0;
    char **owned_paths = NULL;
    size_t n_owned = 0;
    if (n_files > 0) {
        jobs = calloc(n_files, sizeof *jobs);
        if (jobs == NULL)
            return 1;
        for (size_t i = 0; i < n_files; i++) {
            jobs[i].path = files[i];
            if (strcmp(files[i], "-") == 0) {
                if (!stdin_used) {
                    if (spam_read_file("/dev/stdin", SPAM_MAX_MESSAGE, &stdin_msg, &stdin_len) != 0)
                        return 1;
                    stdin_used = 1;
                }
                jobs[i].stdin_data = stdin_msg;
                jobs[i].stdin_len = stdin_len;
            }
        }
        n_jobs = n_files;
    } else {
        ssize_t got;
        while ((got = getline(&line, &line_cap, stdin)) > 0) {
            while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
                line[--got] = '\0';
            if (got == 0)
                continue;
            if (n_jobs == cap) {
                cap = cap ? cap * 2 : 256;
                job *nj = realloc(jobs, cap * sizeof *nj);
                char **np = realloc(owned_paths, cap * sizeof *np);
                if (nj == NULL || np == NULL) {
                    fprintf(stderr, "%s: out of memory\n", prog);
                    return 1;
                }
                jobs = nj;
                owned_paths = np;
            }
            char *copy = strdup(line);
            if (copy == NULL) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return 1;
            }
            owned_paths[n_owned++] = copy;
            memset(&jobs[n_jobs], 0, sizeof jobs[n_jobs]);
            jobs[n_jobs++].path = copy;
        }
        free(line);
    }
    if (n_jobs == 0) {
        fprintf(stderr, "%s: no messages to classify\n", prog);
        spam_model_close(&m);
        seqnet_context_free(ctx);
        return 1;
    }

    pool p;
    memset(&p, 0, sizeof p);
    p.model = &m;
    p.jobs = jobs;
    p.n_jobs = n_jobs;
    p.total = n_jobs * (size_t)repeat;
    p.extract_lat = calloc(p.total, sizeof *p.extract_lat);
    p.classify_lat = calloc(p.total, sizeof *p.classify_lat);
    p.feature_lat = calloc(p.total, sizeof *p.feature_lat);
    p.model_lat = calloc(p.total, sizeof *p.model_lat);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    worker_arg *args = calloc((size_t)threads, sizeof *args);
    if (p.extract_lat == NULL || p.classify_lat == NULL || p.feature_lat == NULL ||
        p.model_lat == NULL || tid == NULL || args == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    void *text_bytes = NULL;
    if (copy_text) {
        st = m.kind == SPAM_BOW ? seqnet_vectorizer_save(m.vec, &text_bytes, &p.text_size)
                                : seqnet_tokenizer_save(m.tok, &text_bytes, &p.text_size);
        if (st != SEQNET_OK) {
            spam_report(prog, "saving the text object", st, NULL);
            return 1;
        }
        p.text_bytes = text_bytes;
    }
    if (pthread_mutex_init(&p.lock, NULL) != 0) {
        fprintf(stderr, "%s: pthread_mutex_init failed\n", prog);
        return 1;
    }

    double t0 = spam_now();
    int started = 0;
    for (int t = 0; t < threads; t++) {
        args[t].p = &p;
        int e = pthread_create(&tid[t], NULL, worker, &args[t]);
        if (e != 0) {
            fprintf(stderr, "%s: pthread_create: %s\n", prog, strerror(e));
            break;
        }
        started++;
    }
    if (started == 0) {
        worker(&args[0]); /* no thread could start: work on this one */
    }
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    double wall = spam_now() - t0;
    int setup_failed = 0;
    for (int t = 0; t < threads; t++)
        setup_failed |= args[t].failed_setup;

    int failed = setup_failed;
    if (!setup_failed) {
        for (size_t i = 0; i < n_jobs; i++) {
            if (jobs[i].ok) {
                if (!quiet)
                    printf("%.4f %s %s\n", (double)jobs[i].score,
                           (double)jobs[i].score >= m.threshold ? "spam" : "ham", jobs[i].path);
            } else {
                failed = 1;
                if (!quiet)
                    printf("error - %s\n", jobs[i].path);
            }
        }
    }
    fflush(stdout);

    double e_med, e_p99, c_med, c_p99, f_med, f_p99, m_med, m_p99;
    size_t n_ok = 0;
    percentiles(p.extract_lat, p.total, &e_med, &e_p99, &n_ok);
    percentiles(p.classify_lat, p.total, &c_med, &c_p99, &n_ok);
    percentiles(p.feature_lat, p.total, &f_med, &f_p99, &n_ok);
    percentiles(p.model_lat, p.total, &m_med, &m_p99, &n_ok);
    fprintf(stderr,
            "%s: model %s (%s, %s, threshold %.2f) loaded in %.1f ms\n"
            "%s: %zu messages (%zu x %d) on %d threads in %.3f s: %.0f messages/s\n"
            "%s: latency per message, median / p99: extraction %.1f / %.1f us, "
            "classification %.1f / %.1f us\n"
            "%s: classification = features (%s) %.1f / %.1f us + model (session run) %.1f / "
            "%.1f us\n",
            prog, model_path, m.kind == SPAM_BOW ? "bow" : "seq", m.features, m.threshold,
            t_load * 1e3, prog, p.total, n_jobs, repeat, started ? started : 1, wall,
            wall > 0 ? (double)p.total / wall : 0.0, prog, e_med * 1e6, e_p99 * 1e6, c_med * 1e6,
            c_p99 * 1e6, prog, m.kind == SPAM_BOW ? "vectorizer" : "tokenizer", f_med * 1e6,
            f_p99 * 1e6, m_med * 1e6, m_p99 * 1e6);

    pthread_mutex_destroy(&p.lock);
    free(p.extract_lat);
    free(p.classify_lat);
    free(p.feature_lat);
    free(p.model_lat);
    seqnet_free(text_bytes);
    free(tid);
    free(args);
    for (size_t i = 0; i < n_owned; i++)
        free(owned_paths[i]);
    free(owned_paths);
    free(jobs);
    free(files);
    free(stdin_msg);
    spam_model_close(&m);
    seqnet_context_free(ctx);
    spam_extract_shutdown();
    return failed ? 1 : 0;
}

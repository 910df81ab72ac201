/*
 * bench_w1.c -- workload W1: the course's pooled-embedding model.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * A benchmark, not a test. The model and the data are those of W1 in
 * tests/bench/torch_ref.py (the PyTorch reference run side by side by
 * run_w1.sh):
 *
 *   Embedding(62297, 30) -> GlobalAveragePooling1D -> Dropout(0.5)
 *   -> Dense(20, relu) -> Dropout(0.5) -> Dense(1, sigmoid)
 *   binary cross-entropy, Adam (Keras defaults), batch 64,
 *   sequences of 500 token ids uniform in [1, 62297), labels uniform 0/1,
 *   8 distinct synthetic batches cycled.
 *
 *   training       = seqnet_trainer_fit over the 8 batches (one epoch of
 *                    512 samples, batches of 64 in order, no shuffling):
 *                    8 optimizer steps per call, the same work as 8 of
 *                    PyTorch's zero_grad/forward/backward/step iterations
 *                    (exactly: seqnet's lazy embedding rows are
 *                    bit-identical to the dense Adam update, and fit ends
 *                    with every row brought up to date)
 *   inference step = seqnet_session_run on one 64 x 500 batch
 *
 * Each is warmed up, then the number of steps per timed run is calibrated
 * to about --target seconds, and the median samples/s of --runs runs is
 * printed (with min and max) as one JSON line, together with the peak RSS
 * of the process (getrusage) and its minor page faults.
 *
 * Threads: seqnet itself runs on the calling thread; the only parallelism
 * is OpenBLAS's pool, sized by OPENBLAS_NUM_THREADS. The JSON line reports
 * the pool size and the OpenBLAS kernel (OPENBLAS_CORETYPE) actually used.
 *
 * Usage: bench_w1 [--runs N] [--target SECONDS] [--warmup N] [--threads N] [--clock wall|cpu]
 */
#define BENCH_NAME "bench_w1"

#include <string.h>

#include "bench_common.h"

#define W1_VOCAB 62297
#define W1_EMB 30
#define W1_HIDDEN 20
#define W1_BATCH 64
#define W1_TIME 500
#define W1_NBATCH 8


/* Wall time, or with --clock cpu the process's CPU time (all threads):
 * on a machine other processes load, CPU time does not count the time
 * they held the cores (tests/bench/torch_cpu.py does the same for PyTorch). */
static int use_cpu_clock = 0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(use_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct bench_ctx {
    seqnet_trainer *trainer;
    seqnet_session *session;
    seqnet_data *data[W1_NBATCH];
    seqnet_data *all;
    int32_t *ids[W1_NBATCH];
    double loss;
};

typedef void (*step_fn)(struct bench_ctx *b, long i);

static void train_step(struct bench_ctx *b, long i)
{
    (void)i;
    CHECK(seqnet_trainer_fit(b->trainer, b->all, NULL), b->trainer);
    CHECK(seqnet_trainer_history_value(b->trainer, seqnet_trainer_history_len(b->trainer) - 1, 0,
                                       0, &b->loss),
          b->trainer);
}

static void infer_step(struct bench_ctx *b, long i)
{
    CHECK(seqnet_session_set_input_tokens(b->session, 0, b->ids[i % W1_NBATCH], W1_BATCH,
                                          W1_TIME),
          b->session);
    CHECK(seqnet_session_run(b->session), b->session);
}

struct rates {
    double median, min, max;
    long steps;
};

/* Warm up, calibrate steps per run to ~target seconds, time `runs` runs. */
static struct rates bench(struct bench_ctx *b, step_fn step, long samples_per_step, int warm,
                          int runs, double target)
{
    struct rates r;
    double *sps = malloc((size_t)runs * sizeof *sps);
    long k = 0, steps;
    double t0, per;

    if (!sps) {
        fprintf(stderr, "bench_w1: out of memory\n");
        exit(1);
    }
    for (long i = 0; i < warm; i++)
        step(b, i);
    t0 = now_s();
    while (now_s() - t0 < target / 3 || k < 2) {
        step(b, k);
        k++;
    }
    per = (now_s() - t0) / (double)k;
    steps = (long)(target / per);
    if (steps < 2)
        steps = 2;
    for (int run = 0; run < runs; run++) {
        t0 = now_s();
        for (long i = 0; i < steps; i++)
            step(b, i);
        sps[run] = (double)steps * (double)samples_per_step / (now_s() - t0);
    }
    qsort(sps, (size_t)runs, sizeof *sps, cmp_double);
    r.median = runs % 2 ? sps[runs / 2] : 0.5 * (sps[runs / 2 - 1] + sps[runs / 2]);
    r.min = sps[0];
    r.max = sps[runs - 1];
    r.steps = steps;
    free(sps);
    return r;
}

/* seqnet's own training threads (SEQNET_TRAIN_THREADS), --threads N. */
static int g_threads = 1;

int main(int argc, char **argv)
{
    int runs = 7, warm = 5;
    double target = 0.5;
    seqnet_context *ctx = NULL;
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *model = NULL;
    struct bench_ctx b;
    float *labels[W1_NBATCH];
    int32_t *all_ids = malloc(sizeof(int32_t) * W1_BATCH * W1_TIME * W1_NBATCH);
    float *all_labels = malloc(sizeof(float) * W1_BATCH * W1_NBATCH);
    int32_t in_node, x, out_node;
    int64_t nparams;
    double rss_base, rss_model, rss_train;
    struct rates tr, inf;
    const char *blas_env = getenv("OPENBLAS_NUM_THREADS");
    const char *core_env = getenv("OPENBLAS_CORETYPE");
    int blas_threads = -1;
    const char *corename = "unknown";
    struct rusage ru;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--target") && i + 1 < argc)
            target = atof(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warm = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            g_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc)
            use_cpu_clock = !strcmp(argv[++i], "cpu");
        else {
            fprintf(stderr, "usage: %s [--runs N] [--target SECONDS] [--warmup N] [--threads N] [--clock wall|cpu]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    if (target <= 0)
        target = 0.5;
    memset(&b, 0, sizeof b);
    rss_base = rss_mib();

    /* ---- the model -------------------------------------------------------- */
    CHECK(seqnet_context_new(&ctx), ctx);
    CHECK(seqnet_graph_new(ctx, &g), ctx);
    CHECK(seqnet_options_new(ctx, &o), ctx);
    CHECK(seqnet_graph_input_tokens(g, W1_TIME, "tokens", &in_node), g);
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, W1_VOCAB), o);
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, W1_EMB), o);
    x = add_layer(g, o, SEQNET_LAYER_EMBEDDING, in_node);
    x = add_layer(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, x);
    CHECK(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.5), o);
    x = add_layer(g, o, SEQNET_LAYER_DROPOUT, x);
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, W1_HIDDEN), o);
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), o);
    x = add_layer(g, o, SEQNET_LAYER_DENSE, x);
    CHECK(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.5), o);
    x = add_layer(g, o, SEQNET_LAYER_DROPOUT, x);
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), o);
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"), o);
    out_node = add_layer(g, o, SEQNET_LAYER_DENSE, x);
    CHECK(seqnet_graph_compile(g, &in_node, 1, &out_node, 1, &model), g);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    nparams = seqnet_model_count_params(model, NULL, NULL);

    /* ---- the data: 8 batches, cycled -------------------------------------- */
    if (!all_ids || !all_labels) {
        fprintf(stderr, "bench_w1: out of memory\n");
        return 1;
    }
    for (int k = 0; k < W1_NBATCH; k++) {
        b.ids[k] = malloc(sizeof(int32_t) * W1_BATCH * W1_TIME);
        labels[k] = malloc(sizeof(float) * W1_BATCH);
        if (!b.ids[k] || !labels[k]) {
            fprintf(stderr, "bench_w1: out of memory\n");
            return 1;
        }
        for (int i = 0; i < W1_BATCH * W1_TIME; i++)
            b.ids[k][i] = 1 + (int32_t)(rng_next() % (W1_VOCAB - 1));
        for (int i = 0; i < W1_BATCH; i++)
            labels[k][i] = (float)(rng_next() & 1);
        memcpy(all_ids + (size_t)k * W1_BATCH * W1_TIME, b.ids[k],
               sizeof(int32_t) * W1_BATCH * W1_TIME);
        memcpy(all_labels + (size_t)k * W1_BATCH, labels[k], sizeof(float) * W1_BATCH);
        CHECK(seqnet_data_new(ctx, &b.data[k]), ctx);
        CHECK(seqnet_data_set_tokens(b.data[k], 0, b.ids[k], W1_BATCH, W1_TIME), b.data[k]);
        CHECK(seqnet_data_set_targets(b.data[k], 0, labels[k], W1_BATCH, 0, 1), b.data[k]);
    }
    CHECK(seqnet_data_new(ctx, &b.all), ctx);
    CHECK(seqnet_data_set_tokens(b.all, 0, all_ids, W1_BATCH * W1_NBATCH, W1_TIME), b.all);
    CHECK(seqnet_data_set_targets(b.all, 0, all_labels, W1_BATCH * W1_NBATCH, 0, 1), b.all);
    rss_model = rss_mib();

    /* ---- training --------------------------------------------------------- */
    CHECK(seqnet_trainer_new(model, &b.trainer), model);
    CHECK(seqnet_trainer_set_loss(b.trainer, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), b.trainer);
    CHECK(seqnet_trainer_set_optimizer(b.trainer, SEQNET_OPTIMIZER_ADAM), b.trainer);
    CHECK(seqnet_trainer_set_param(b.trainer, SEQNET_TRAIN_BATCH_SIZE, W1_BATCH), b.trainer);
    CHECK(seqnet_trainer_set_param(b.trainer, SEQNET_TRAIN_SHUFFLE, 0), b.trainer);
    CHECK(seqnet_trainer_set_param(b.trainer, SEQNET_TRAIN_EPOCHS, 1), b.trainer);
    CHECK(seqnet_trainer_set_param(b.trainer, SEQNET_TRAIN_THREADS, g_threads), b.trainer);
    tr = bench(&b, train_step, (long)W1_BATCH * W1_NBATCH, warm, runs, target);
    rss_train = rss_mib();

    /* ---- inference -------------------------------------------------------- */
    CHECK(seqnet_session_new(model, &b.session), model);
    inf = bench(&b, infer_step, W1_BATCH, warm, runs, target);

#if HAVE_WEAK
    if (openblas_get_num_threads)
        blas_threads = openblas_get_num_threads();
    if (openblas_get_corename)
        corename = openblas_get_corename();
#endif
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"seqnet\", \"workload\": \"W1\", \"clock\": \"%s\", \"threads\": %d, "
           "\"seqnet_threads\": %d, \"blas_threads\": %d, \"blas_threads_env\": \"%s\", "
           "\"coretype\": \"%s\", \"blas_corename\": \"%s\", \"params\": %lld, \"batch\": %d, "
           "\"train_sps\": %.1f, \"train_sps_min\": %.1f, \"train_sps_max\": %.1f, "
           "\"train_step_ms\": %.3f, \"train_steps_per_run\": %ld, \"last_loss\": %.5f, "
           "\"infer_sps\": %.1f, \"infer_sps_min\": %.1f, \"infer_sps_max\": %.1f, "
           "\"infer_batch_ms\": %.3f, "
           "\"rss_base_mib\": %.1f, \"rss_model_mib\": %.1f, \"rss_train_mib\": %.1f, "
           "\"rss_peak_mib\": %.1f, \"minflt\": %ld, \"sys_s\": %.2f, \"user_s\": %.2f}\n",
           use_cpu_clock ? "cpu" : "wall",
           g_threads > 1 ? g_threads : (blas_threads > 0 ? blas_threads : 1), g_threads,
           blas_threads, blas_env ? blas_env : "(unset)",
           core_env ? core_env : "(unset)", corename, (long long)nparams, W1_BATCH, tr.median,
           tr.min, tr.max, 1e3 * W1_BATCH / tr.median, tr.steps, b.loss, inf.median, inf.min,
           inf.max, 1e3 * W1_BATCH / inf.median, rss_base, rss_model, rss_train, rss_mib(),
           ru.ru_minflt, (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec,
           (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec);

    seqnet_data_free(b.all);
    free(all_ids);
    free(all_labels);
    seqnet_session_free(b.session);
    seqnet_trainer_free(b.trainer);
    for (int k = 0; k < W1_NBATCH; k++) {
        seqnet_data_free(b.data[k]);
        free(b.ids[k]);
        free(labels[k]);
    }
    seqnet_model_free(model);
    seqnet_context_free(ctx);
    return 0;
}

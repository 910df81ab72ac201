/*
 * bench_w2.c -- workload W2: the course's inception model.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * A benchmark, not a test. The model and the data are those of W2 in
 * tests/bench/torch_ref.py (the PyTorch reference run side by side by
 * run_w2.sh):
 *
 *   Embedding(62297, 30) -> three parallel Conv1D(50, kernel 3 / 5 / 7,
 *   padding 'same', relu) -> GlobalAveragePooling1D each -> Concatenate
 *   -> Dropout(0.3) -> Dense(50, relu) -> Dropout(0.3) -> Dense(1, sigmoid)
 *   binary cross-entropy, Adam (Keras defaults), batch 64, 1,899,161 weights,
 *   sequences of 500 token ids uniform in [1, 62297), labels uniform 0/1,
 *   8 distinct synthetic batches.
 *
 *   training       = seqnet_trainer_fit over the 8 batches (one epoch of 512
 *                    samples, batches of 64 in order, no shuffling): 8
 *                    optimizer steps per call, the work of 8 of PyTorch's
 *                    zero_grad/forward/backward/step iterations
 *   inference step = seqnet_session_run on one 64 x 500 batch
 *
 * (PyTorch's 'same' convolutions pad k//2 on both sides; for the odd kernels
 * 3, 5, 7 that is TensorFlow's split too, so both sides compute the same.)
 *
 * Each is warmed up, then the number of steps per timed run is calibrated to
 * about --target seconds of wall time, and --runs runs are timed twice over:
 * by the wall clock (CLOCK_MONOTONIC) and by the CPU time of the whole
 * process, all threads, user + system (CLOCK_PROCESS_CPUTIME_ID, what
 * getrusage sums). On a loaded machine the wall clock also counts the time
 * other processes held the cores; the CPU time does not (it still suffers
 * from shared caches, and counts OpenBLAS threads spinning while they wait).
 * One JSON line: median samples/s by each clock (min and max of the wall
 * one), CPU milliseconds per 64-sample step, peak RSS.
 *
 * Threads: seqnet runs on the calling thread; the only parallelism is
 * OpenBLAS's pool, sized by OPENBLAS_NUM_THREADS.
 *
 * Usage: bench_w2 [--runs N] [--target SECONDS] [--warmup N] [--threads N] [--only train|infer]
 */
#define BENCH_NAME "bench_w2"

#include <string.h>

#include "bench_common.h"

#define W2_VOCAB 62297
#define W2_EMB 30
#define W2_FILTERS 50
#define W2_HIDDEN 50
#define W2_BATCH 64
#define W2_TIME 500
#define W2_NBATCH 8


struct bench_ctx {
    seqnet_trainer *trainer;
    seqnet_session *session;
    seqnet_data *all;
    int32_t *ids[W2_NBATCH];
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
    CHECK(seqnet_session_set_input_tokens(b->session, 0, b->ids[i % W2_NBATCH], W2_BATCH,
                                          W2_TIME),
          b->session);
    CHECK(seqnet_session_run(b->session), b->session);
}

struct rates {
    double median, min, max; /* wall samples/s */
    double cpu_median;       /* samples per CPU second */
    long steps;
};

static struct rates bench(struct bench_ctx *b, step_fn step, long samples_per_step, int warm,
                          int runs, double target)
{
    struct rates r;
    double *wall = xmalloc((size_t)runs * sizeof *wall);
    double *cpu = xmalloc((size_t)runs * sizeof *cpu);
    long k = 0, steps;
    double t0, c0, per;

    for (long i = 0; i < warm; i++)
        step(b, i);
    t0 = clock_s(CLOCK_MONOTONIC);
    while (clock_s(CLOCK_MONOTONIC) - t0 < target / 3 || k < 2) {
        step(b, k);
        k++;
    }
    per = (clock_s(CLOCK_MONOTONIC) - t0) / (double)k;
    steps = (long)(target / per);
    if (steps < 2)
        steps = 2;
    for (int run = 0; run < runs; run++) {
        t0 = clock_s(CLOCK_MONOTONIC);
        c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        for (long i = 0; i < steps; i++)
            step(b, i);
        cpu[run] = (double)steps * (double)samples_per_step /
                   (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
        wall[run] = (double)steps * (double)samples_per_step / (clock_s(CLOCK_MONOTONIC) - t0);
    }
    r.median = median(wall, runs);
    r.min = wall[0];
    r.max = wall[runs - 1];
    r.cpu_median = median(cpu, runs);
    r.steps = steps;
    free(wall);
    free(cpu);
    return r;
}

static seqnet_model *build_inception(seqnet_context *ctx)
{
    static const int kernels[3] = {3, 5, 7};
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *model = NULL;
    int32_t in_node, emb, pooled[3], x, out_node;

    CHECK(seqnet_graph_new(ctx, &g), ctx);
    CHECK(seqnet_options_new(ctx, &o), ctx);
    CHECK(seqnet_graph_input_tokens(g, W2_TIME, "tokens", &in_node), g);
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, W2_VOCAB), o);
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, W2_EMB), o);
    emb = add_layer(g, o, SEQNET_LAYER_EMBEDDING, in_node);
    for (int k = 0; k < 3; k++) {
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_FILTERS, W2_FILTERS), o);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_KERNEL_SIZE, kernels[k]), o);
        CHECK(seqnet_options_set_string(o, SEQNET_OPT_PADDING, "same"), o);
        CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), o);
        x = add_layer(g, o, SEQNET_LAYER_CONV1D, emb);
        pooled[k] = add_layer(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, x);
    }
    CHECK(seqnet_graph_add(g, SEQNET_LAYER_CONCATENATE, NULL, pooled, 3, NULL, &x), g);
    CHECK(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.3), o);
    x = add_layer(g, o, SEQNET_LAYER_DROPOUT, x);
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, W2_HIDDEN), o);
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), o);
    x = add_layer(g, o, SEQNET_LAYER_DENSE, x);
    CHECK(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.3), o);
    x = add_layer(g, o, SEQNET_LAYER_DROPOUT, x);
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), o);
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"), o);
    out_node = add_layer(g, o, SEQNET_LAYER_DENSE, x);
    CHECK(seqnet_graph_compile(g, &in_node, 1, &out_node, 1, &model), g);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return model;
}

/* seqnet's own training threads (SEQNET_TRAIN_THREADS), --threads N. */
static int g_threads = 1;

int main(int argc, char **argv)
{
    int runs = 7, warm = 3, do_train = 1, do_infer = 1;
    double target = 0.5;
    seqnet_context *ctx = NULL;
    seqnet_model *model;
    struct bench_ctx b;
    int32_t *all_ids = xmalloc(sizeof(int32_t) * W2_BATCH * W2_TIME * W2_NBATCH);
    float *all_labels = xmalloc(sizeof(float) * W2_BATCH * W2_NBATCH);
    int64_t nparams;
    double rss_base, rss_model, rss_train;
    struct rates tr, inf;
    const char *blas_env = getenv("OPENBLAS_NUM_THREADS");
    const char *core_env = getenv("OPENBLAS_CORETYPE");
    int blas_threads = -1;
    const char *corename = "unknown";
    struct rusage ru;

    rng_state = 4321; /* this benchmark's data seed */

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--target") && i + 1 < argc)
            target = atof(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warm = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            g_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            i++;
            do_train = !strcmp(argv[i], "train");
            do_infer = !strcmp(argv[i], "infer");
        } else {
            fprintf(stderr,
                    "usage: %s [--runs N] [--target SECONDS] [--warmup N] [--threads N] "
                    "[--only train|infer]\n",
                    argv[0]);
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    if (target <= 0)
        target = 0.5;
    memset(&b, 0, sizeof b);
    memset(&tr, 0, sizeof tr);
    memset(&inf, 0, sizeof inf);
    rss_base = rss_mib();

    CHECK(seqnet_context_new(&ctx), ctx);
    model = build_inception(ctx);
    nparams = seqnet_model_count_params(model, NULL, NULL);

    for (int k = 0; k < W2_NBATCH; k++) {
        b.ids[k] = all_ids + (size_t)k * W2_BATCH * W2_TIME;
        for (int i = 0; i < W2_BATCH * W2_TIME; i++)
            b.ids[k][i] = 1 + (int32_t)(rng_next() % (W2_VOCAB - 1));
        for (int i = 0; i < W2_BATCH; i++)
            all_labels[k * W2_BATCH + i] = (float)(rng_next() & 1);
    }
    CHECK(seqnet_data_new(ctx, &b.all), ctx);
    CHECK(seqnet_data_set_tokens(b.all, 0, all_ids, W2_BATCH * W2_NBATCH, W2_TIME), b.all);
    CHECK(seqnet_data_set_targets(b.all, 0, all_labels, W2_BATCH * W2_NBATCH, 0, 1), b.all);
    rss_model = rss_mib();

    CHECK(seqnet_trainer_new(model, &b.trainer), model);
    CHECK(seqnet_trainer_set_loss(b.trainer, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), b.trainer);
    CHECK(seqnet_trainer_set_optimizer(b.trainer, SEQNET_OPTIMIZER_ADAM), b.trainer);
    CHECK(seqnet_trainer_set_param(b.trainer, SEQNET_TRAIN_BATCH_SIZE, W2_BATCH), b.trainer);
    CHECK(seqnet_trainer_set_param(b.trainer, SEQNET_TRAIN_SHUFFLE, 0), b.trainer);
    CHECK(seqnet_trainer_set_param(b.trainer, SEQNET_TRAIN_EPOCHS, 1), b.trainer);
    CHECK(seqnet_trainer_set_param(b.trainer, SEQNET_TRAIN_THREADS, g_threads), b.trainer);
    /* One fit call = 8 steps: warm up with one call at least. */
    if (do_train)
        tr = bench(&b, train_step, (long)W2_BATCH * W2_NBATCH, warm > 0 ? (warm + 7) / 8 : 0,
                   runs, target);
    rss_train = rss_mib();

    CHECK(seqnet_session_new(model, &b.session), model);
    if (do_infer)
        inf = bench(&b, infer_step, W2_BATCH, warm, runs, target);

#if HAVE_WEAK
    if (openblas_get_num_threads)
        blas_threads = openblas_get_num_threads();
    if (openblas_get_corename)
        corename = openblas_get_corename();
#endif
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"seqnet\", \"workload\": \"W2\", \"threads\": %d, "
           "\"seqnet_threads\": %d, \"blas_threads\": %d, \"blas_threads_env\": \"%s\", "
           "\"coretype\": \"%s\", \"blas_corename\": \"%s\", \"params\": %lld, \"batch\": %d, "
           "\"train_sps\": %.1f, \"train_sps_min\": %.1f, \"train_sps_max\": %.1f, "
           "\"train_step_ms\": %.3f, \"train_cpu_sps\": %.1f, \"train_cpu_ms\": %.3f, "
           "\"train_steps_per_run\": %ld, \"last_loss\": %.5f, "
           "\"infer_sps\": %.1f, \"infer_sps_min\": %.1f, \"infer_sps_max\": %.1f, "
           "\"infer_batch_ms\": %.3f, \"infer_cpu_sps\": %.1f, \"infer_cpu_ms\": %.3f, "
           "\"rss_base_mib\": %.1f, \"rss_model_mib\": %.1f, \"rss_train_mib\": %.1f, "
           "\"rss_peak_mib\": %.1f, \"minflt\": %ld, \"sys_s\": %.2f, \"user_s\": %.2f}\n",
           g_threads > 1 ? g_threads : (blas_threads > 0 ? blas_threads : 1), g_threads,
           blas_threads, blas_env ? blas_env : "(unset)",
           core_env ? core_env : "(unset)", corename, (long long)nparams, W2_BATCH, tr.median,
           tr.min, tr.max, tr.median > 0 ? 1e3 * W2_BATCH / tr.median : 0.0, tr.cpu_median,
           tr.cpu_median > 0 ? 1e3 * W2_BATCH / tr.cpu_median : 0.0, tr.steps * W2_NBATCH,
           b.loss, inf.median, inf.min, inf.max,
           inf.median > 0 ? 1e3 * W2_BATCH / inf.median : 0.0, inf.cpu_median,
           inf.cpu_median > 0 ? 1e3 * W2_BATCH / inf.cpu_median : 0.0, rss_base, rss_model,
           rss_train, rss_mib(), ru.ru_minflt,
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec,
           (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec);

    seqnet_data_free(b.all);
    seqnet_session_free(b.session);
    seqnet_trainer_free(b.trainer);
    seqnet_model_free(model);
    seqnet_context_free(ctx);
    free(all_ids);
    free(all_labels);
    return 0;
}

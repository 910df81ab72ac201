/*
 * bench_rnn.c -- workloads W3 to W6: the recurrent layers through the public API.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * A benchmark, not a test. Models and data are those of W3..W6 in
 * tests/bench/torch_ref.py (the PyTorch reference run side by side by
 * run_rnn.sh):
 *
 *   W3  Embedding(20000, 64) -> LSTM(128) -> Dense(1, sigmoid); binary
 *       cross-entropy; batch 64 x 200 token ids uniform in [1, 20000),
 *       labels uniform 0/1
 *   W4  the course's SimpleRNN(6, return_sequences) on 50 steps of 3
 *       features -> per-step Dense(2, softmax); sparse categorical
 *       cross-entropy on the per-step label (sum of the features > 0);
 *       features N(0, 1); batch 64
 *   W5  GRU(32) (reset_after, PyTorch's form) on 128 steps of 1 feature ->
 *       Dense(1); mean squared error; the inputs are a noisy sine
 *       sin(t0 + 0.1 k) + N(0, 0.1^2), t0 uniform in [0, 100), the target
 *       its next value; batch 128
 *   W6  W3's model in inference, one message of 200 tokens (batch 1):
 *       latency of one seqnet_session_run, median, p10 and p90 of 1000 calls
 *
 * All with Adam (Keras defaults). 8 distinct synthetic batches, cycled:
 *
 *   training       = seqnet_trainer_fit over the 8 batches (one epoch, batches
 *                    in order, no shuffling): 8 optimizer steps per call, the
 *                    work of 8 of PyTorch's zero_grad/forward/backward/step
 *   inference step = seqnet_session_run on one batch
 *
 * Each measurement is warmed up, the steps per timed run are calibrated to
 * about --target seconds, and the median samples/s of --runs runs is
 * reported. Every timed run is measured on two clocks at once: the wall
 * clock (CLOCK_MONOTONIC) and the CPU time of the whole process, all threads
 * (CLOCK_PROCESS_CPUTIME_ID, what getrusage's user + system time counts).
 * On a loaded machine the wall clock includes the time the process waited
 * for a core; the CPU time does not. The JSON fields ending in _cpu are on
 * the CPU clock.
 *
 * One JSON line per workload, with the peak RSS of the process (getrusage):
 * run one workload per process (--only) for a peak of its own, as
 * torch_ref.py does.
 *
 * Threads: seqnet runs on the calling thread; the only parallelism is
 * OpenBLAS's pool, sized by OPENBLAS_NUM_THREADS.
 *
 * Usage: bench_rnn [--only W3,W4,W5,W6] [--runs N] [--target SECONDS]
 *                  [--warmup N] [--latency-calls N]
 */
#define BENCH_NAME "bench_rnn"

#include <math.h>
#include <string.h>

#include "bench_common.h"

#define NBATCH 8


/* ---- clocks ---------------------------------------------------------------- */

typedef struct stamp {
    double wall, cpu;
} stamp;

static stamp now(void)
{
    stamp s;
    s.wall = clock_s(CLOCK_MONOTONIC);
    s.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    return s;
}

/* As torch_ref.py's pct: the element at floor(q * n) of the sorted values. */
static double pct(const double *sorted, int n, double q)
{
    int i = (int)(q * n);
    return sorted[i < n - 1 ? i : n - 1];
}

/* ---- synthetic data (distributions of torch_ref.py, not its bits) -------- */

static double rng_uniform(void) /* [0, 1) */
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_normal(void) /* Box-Muller */
{
    double u = rng_uniform(), v = rng_uniform();
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* ---- one workload --------------------------------------------------------- */

typedef struct workload {
    const char *name;
    int32_t batch, time, features; /* features 0: token ids */
    int32_t out_time, out_width;   /* targets per sample: [out_time or 1, out_width] */
    int loss;

    seqnet_model *model;
    seqnet_trainer *trainer;
    seqnet_session *session;
    seqnet_data *all;   /* the 8 batches as one data set (fit's epoch) */
    int32_t *ids;       /* [8 * batch, time] */
    float *x;           /* [8 * batch, time, features] */
    float *y;           /* targets */
    double loss_value;
} workload;

typedef void (*step_fn)(workload *w, long i);

static void train_step(workload *w, long i)
{
    (void)i;
    CHECK(seqnet_trainer_fit(w->trainer, w->all, NULL), w->trainer);
    CHECK(seqnet_trainer_history_value(w->trainer, seqnet_trainer_history_len(w->trainer) - 1,
                                       0, 0, &w->loss_value),
          w->trainer);
}

static void infer_step(workload *w, long i)
{
    size_t k = (size_t)(i % NBATCH) * (size_t)w->batch * (size_t)w->time;
    if (w->features == 0)
        CHECK(seqnet_session_set_input_tokens(w->session, 0, w->ids + k, w->batch, w->time),
              w->session);
    else
        CHECK(seqnet_session_set_input_floats(w->session, 0, w->x + k * (size_t)w->features,
                                              w->batch, w->time, w->features),
              w->session);
    CHECK(seqnet_session_run(w->session), w->session);
}

typedef struct rates {
    double median, min, max;         /* samples/s, wall clock */
    double median_cpu;               /* samples per CPU second */
    double step_ms, step_cpu_ms;     /* per step (one optimizer step / one batch) */
    long steps;
} rates;

/* Warm up, calibrate steps per run to ~target wall seconds, time `runs`
 * runs on both clocks. samples_per_call: samples one call of `step`
 * processes; steps_per_call: optimizer steps (or batches) in one call. */
static rates bench(workload *w, step_fn step, long samples_per_call, long steps_per_call,
                   int warm, int runs, double target)
{
    rates r;
    double *wall = xmalloc((size_t)runs * sizeof *wall);
    double *cpu = xmalloc((size_t)runs * sizeof *cpu);
    long k = 0, calls;
    stamp t0, t1;
    double per;

    for (long i = 0; i < warm; i++)
        step(w, i);
    t0 = now();
    while (now().wall - t0.wall < target / 3 || k < 2)
        step(w, k++);
    per = (now().wall - t0.wall) / (double)k;
    calls = (long)(target / per);
    if (calls < 2)
        calls = 2;
    for (int run = 0; run < runs; run++) {
        t0 = now();
        for (long i = 0; i < calls; i++)
            step(w, i);
        t1 = now();
        wall[run] = (double)calls * (double)samples_per_call / (t1.wall - t0.wall);
        cpu[run] = (double)calls * (double)samples_per_call / (t1.cpu - t0.cpu);
    }
    r.median = median(wall, runs);
    r.min = wall[0];
    r.max = wall[runs - 1];
    r.median_cpu = median(cpu, runs);
    r.step_ms = 1e3 * (double)samples_per_call / (double)steps_per_call / r.median;
    r.step_cpu_ms = 1e3 * (double)samples_per_call / (double)steps_per_call / r.median_cpu;
    r.steps = calls * steps_per_call;
    free(wall);
    free(cpu);
    return r;
}

/* Build the model of workload `name` (W6 is W3's model). */
static void build(seqnet_context *ctx, workload *w)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    int32_t in, x, out;
    int w3 = !strcmp(w->name, "W3") || !strcmp(w->name, "W6");

    CHECK(seqnet_graph_new(ctx, &g), ctx);
    CHECK(seqnet_options_new(ctx, &o), ctx);
    if (w3) {
        CHECK(seqnet_graph_input_tokens(g, w->time, "tokens", &in), g);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 20000), o);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 64), o);
        x = add_layer(g, o, SEQNET_LAYER_EMBEDDING, in);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 128), o);
        x = add_layer(g, o, SEQNET_LAYER_LSTM, x);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), o);
        CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"), o);
        out = add_layer(g, o, SEQNET_LAYER_DENSE, x);
    } else if (!strcmp(w->name, "W4")) {
        CHECK(seqnet_graph_input_sequence(g, w->time, w->features, "x", &in), g);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 6), o);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, 1), o);
        x = add_layer(g, o, SEQNET_LAYER_SIMPLE_RNN, in);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 2), o);
        CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax"), o);
        out = add_layer(g, o, SEQNET_LAYER_DENSE, x);
    } else {
        CHECK(seqnet_graph_input_sequence(g, w->time, w->features, "x", &in), g);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 32), o);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_RESET_AFTER, 1), o);
        x = add_layer(g, o, SEQNET_LAYER_GRU, in);
        CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), o);
        out = add_layer(g, o, SEQNET_LAYER_DENSE, x);
    }
    CHECK(seqnet_graph_compile(g, &in, 1, &out, 1, &w->model), g);
    seqnet_options_free(o);
    seqnet_graph_free(g);
}

/* The 8 batches of workload w, as torch_ref.py draws them. */
static void make_data(workload *w)
{
    size_t n = (size_t)NBATCH * (size_t)w->batch, T = (size_t)w->time;
    size_t ny = n * (size_t)(w->out_time > 0 ? w->out_time : 1) * (size_t)w->out_width;
    w->y = xmalloc(ny * sizeof *w->y);
    if (w->features == 0) { /* W3, W6: tokens(B, T, 20000) */
        w->ids = xmalloc(n * T * sizeof *w->ids);
        for (size_t i = 0; i < n * T; i++)
            w->ids[i] = 1 + (int32_t)(rng_next() % 19999u);
        for (size_t i = 0; i < n; i++)
            w->y[i] = (float)(rng_next() & 1u);
    } else if (w->features == 3) { /* W4: seqlabel(64, 50) */
        w->x = xmalloc(n * T * 3 * sizeof *w->x);
        for (size_t i = 0; i < n * T; i++) {
            float s = 0.0f;
            for (int f = 0; f < 3; f++) {
                w->x[i * 3 + (size_t)f] = (float)rng_normal();
                s += w->x[i * 3 + (size_t)f];
            }
            w->y[i] = s > 0.0f ? 1.0f : 0.0f;
        }
    } else { /* W5: series(128, 128) */
        w->x = xmalloc(n * T * sizeof *w->x);
        for (size_t i = 0; i < n; i++) {
            double t0 = rng_uniform() * 100.0;
            for (size_t k = 0; k <= T; k++) {
                float v = (float)(sin(t0 + 0.1 * (double)k) + 0.1 * rng_normal());
                if (k < T)
                    w->x[i * T + k] = v;
                else
                    w->y[i] = v;
            }
        }
    }
}

/* seqnet's own training threads (SEQNET_TRAIN_THREADS), --threads N. */
static int g_threads = 1;

static void print_head(const workload *w, int64_t nparams)
{
    const char *blas_env = getenv("OPENBLAS_NUM_THREADS");
    const char *core_env = getenv("OPENBLAS_CORETYPE");
    int blas_threads = -1;
    const char *corename = "unknown";
#if HAVE_WEAK
    if (openblas_get_num_threads)
        blas_threads = openblas_get_num_threads();
    if (openblas_get_corename)
        corename = openblas_get_corename();
#endif
    if (g_threads > 1 && blas_threads < g_threads)
        blas_threads = g_threads; /* the threads the run uses: seqnet's */
    printf("{\"impl\": \"seqnet\", \"workload\": \"%s\", \"threads\": %d, \"seqnet_threads\": %d, "
           "\"blas_threads\": %d, \"blas_threads_env\": \"%s\", \"coretype\": \"%s\", "
           "\"blas_corename\": \"%s\", \"params\": %lld, \"batch\": %d, ",
           w->name, blas_threads > 0 ? blas_threads : 1, g_threads,
#if HAVE_WEAK
           openblas_get_num_threads ? openblas_get_num_threads() : -1,
#else
           -1,
#endif
           blas_env ? blas_env : "(unset)", core_env ? core_env : "(unset)", corename,
           (long long)nparams, w->batch);
}

static void print_tail(double rss_base)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\"rss_base_mib\": %.1f, \"rss_peak_mib\": %.1f, \"minflt\": %ld, \"sys_s\": %.2f, "
           "\"user_s\": %.2f}\n",
           rss_base, rss_mib(), ru.ru_minflt,
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec,
           (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec);
    fflush(stdout);
}

static void run_workload(const char *name, int runs, int warm, double target, int calls)
{
    seqnet_context *ctx = NULL;
    workload w;
    double rss_base = rss_mib();
    int64_t nparams;
    size_t n;

    memset(&w, 0, sizeof w);
    w.name = name;
    if (!strcmp(name, "W3") || !strcmp(name, "W6")) {
        w.batch = !strcmp(name, "W3") ? 64 : 1;
        w.time = 200;
        w.features = 0;
        w.out_time = 0;
        w.out_width = 1;
        w.loss = SEQNET_LOSS_BINARY_CROSSENTROPY;
    } else if (!strcmp(name, "W4")) {
        w.batch = 64;
        w.time = 50;
        w.features = 3;
        w.out_time = 50;
        w.out_width = 1;
        w.loss = SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    } else if (!strcmp(name, "W5")) {
        w.batch = 128;
        w.time = 128;
        w.features = 1;
        w.out_time = 0;
        w.out_width = 1;
        w.loss = SEQNET_LOSS_MEAN_SQUARED_ERROR;
    } else {
        fprintf(stderr, "bench_rnn: unknown workload %s\n", name);
        exit(2);
    }
    CHECK(seqnet_context_new(&ctx), ctx);
    build(ctx, &w);
    nparams = seqnet_model_count_params(w.model, NULL, NULL);
    make_data(&w);
    n = (size_t)NBATCH * (size_t)w.batch;
    CHECK(seqnet_session_new(w.model, &w.session), w.model);
    print_head(&w, nparams);

    if (strcmp(name, "W6") != 0) {
        rates tr, inf;
        CHECK(seqnet_data_new(ctx, &w.all), ctx);
        if (w.features == 0)
            CHECK(seqnet_data_set_tokens(w.all, 0, w.ids, (int64_t)n, w.time), w.all);
        else
            CHECK(seqnet_data_set_floats(w.all, 0, w.x, (int64_t)n, w.time, w.features), w.all);
        CHECK(seqnet_data_set_targets(w.all, 0, w.y, (int64_t)n, w.out_time, w.out_width),
              w.all);
        CHECK(seqnet_trainer_new(w.model, &w.trainer), w.model);
        CHECK(seqnet_trainer_set_loss(w.trainer, 0, w.loss), w.trainer);
        CHECK(seqnet_trainer_set_optimizer(w.trainer, SEQNET_OPTIMIZER_ADAM), w.trainer);
        CHECK(seqnet_trainer_set_param(w.trainer, SEQNET_TRAIN_BATCH_SIZE, w.batch), w.trainer);
        CHECK(seqnet_trainer_set_param(w.trainer, SEQNET_TRAIN_SHUFFLE, 0), w.trainer);
        CHECK(seqnet_trainer_set_param(w.trainer, SEQNET_TRAIN_EPOCHS, 1), w.trainer);
        CHECK(seqnet_trainer_set_param(w.trainer, SEQNET_TRAIN_THREADS, g_threads), w.trainer);
        tr = bench(&w, train_step, (long)n, NBATCH, warm, runs, target);
        inf = bench(&w, infer_step, w.batch, 1, warm, runs, target);
        printf("\"train_sps\": %.1f, \"train_sps_min\": %.1f, \"train_sps_max\": %.1f, "
               "\"train_step_ms\": %.3f, \"train_sps_cpu\": %.1f, \"train_step_cpu_ms\": %.3f, "
               "\"train_steps_per_run\": %ld, \"last_loss\": %.5f, "
               "\"infer_sps\": %.1f, \"infer_sps_min\": %.1f, \"infer_sps_max\": %.1f, "
               "\"infer_batch_ms\": %.3f, \"infer_sps_cpu\": %.1f, \"infer_batch_cpu_ms\": %.3f, ",
               tr.median, tr.min, tr.max, tr.step_ms, tr.median_cpu, tr.step_cpu_ms, tr.steps,
               w.loss_value, inf.median, inf.min, inf.max, inf.step_ms, inf.median_cpu,
               inf.step_cpu_ms);
    } else {
        double *lat = xmalloc((size_t)calls * sizeof *lat);
        double *lat_cpu = xmalloc((size_t)calls * sizeof *lat_cpu);
        for (long i = 0; i < 50; i++)
            infer_step(&w, i);
        for (int i = 0; i < calls; i++) {
            stamp t0 = now(), t1;
            infer_step(&w, i);
            t1 = now();
            lat[i] = 1e6 * (t1.wall - t0.wall);
            lat_cpu[i] = 1e6 * (t1.cpu - t0.cpu);
        }
        median(lat, calls);
        median(lat_cpu, calls);
        printf("\"latency_us_median\": %.1f, \"latency_us_p10\": %.1f, \"latency_us_p90\": %.1f, "
               "\"latency_cpu_us_median\": %.1f, \"latency_cpu_us_p10\": %.1f, "
               "\"latency_cpu_us_p90\": %.1f, \"latency_calls\": %d, \"seq_len\": %d, ",
               median(lat, calls), pct(lat, calls, 0.10), pct(lat, calls, 0.90),
               median(lat_cpu, calls), pct(lat_cpu, calls, 0.10), pct(lat_cpu, calls, 0.90),
               calls, w.time);
        free(lat);
        free(lat_cpu);
    }
    print_tail(rss_base);

    seqnet_data_free(w.all);
    seqnet_trainer_free(w.trainer);
    seqnet_session_free(w.session);
    seqnet_model_free(w.model);
    seqnet_context_free(ctx);
    free(w.ids);
    free(w.x);
    free(w.y);
}

int main(int argc, char **argv)
{
    int runs = 7, warm = 5, calls = 1000;
    double target = 0.5;
    char only[64] = "W3,W4,W5,W6";
    char *tok, *save = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--target") && i + 1 < argc)
            target = atof(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warm = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            g_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--latency-calls") && i + 1 < argc)
            calls = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc && strlen(argv[i + 1]) < sizeof only)
            strcpy(only, argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--only W3,W4,W5,W6] [--runs N] [--target SECONDS] [--warmup N] "
                    "[--latency-calls N] [--threads N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    if (target <= 0)
        target = 0.5;
    if (calls < 1)
        calls = 1;
    for (tok = strtok_r(only, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        run_workload(tok, runs, warm, target, calls);
    return 0;
}

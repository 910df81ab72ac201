/*
 * depth_demo.c -- why does a deep network train at all? A 30-layer stack
 * built three ways, trained on the same real series.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * The task: AirPassengers (monthly international airline passengers,
 * 1949-1960, 144 values; ./scripts/fetch-airpassengers.sh). Every month is
 * predicted from the 12 before it, on the log scale, standardized with the
 * mean and deviation of the training months: 108 windows whose target lies
 * in 1950-1958 train, the 24 of 1959-1960 test. Each model is
 *
 *   input (12) -> Dense(32) -> 30 blocks -> Dense(1)         MSE, Adam
 *
 * and only the blocks differ:
 *
 *   plain     Dense(32, act)
 *   highway   Highway(activation=act)                y = H T + x (1 - T),
 *             gate T = sigmoid(x W_T + b_T), b_T starting at -2
 *   residual  x + Dense(32, act)(x)                  (an Add skip)
 *
 * Same context seed (hence the same initializers), same data, same order of
 * batches, same optimizer and epochs. The program prints the training loss
 * of every epoch for the three, the test MSE at the end, and writes an SVG
 * of loss against epoch (log scale) to the path given with --svg.
 *
 * Usage: depth_demo [--data CSV] [--svg OUT.svg] [--depth N] [--epochs N]
 *                   [--act NAME] [--lr X] [--quick]
 *   --quick   a few seconds: fewer epochs; if the CSV is missing, a
 *             generated airline-like series (trend x seasonality x noise)
 *             stands in for it. Exits 1 unless both skip-connected stacks
 *             end with a training loss below half the plain stack's (the
 *             meson test 'depth_demo' runs it so).
 *
 * Walk-through and results: docs/DEPTH.md.
 */
#include <seqnet/seqnet.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 12
#define WIDTH 32
#define N_MONTHS 144
#define N_TEST 24 /* the last two years */
#define N_MODELS 3

static const char *const model_names[N_MODELS] = {"plain", "highway", "residual"};
static const char *const model_colors[N_MODELS] = {"#d62728", "#1f77b4", "#2ca02c"};

static void die(const char *what, int status, const void *handle)
{
    const char *detail = seqnet_errmsg(handle);
    fprintf(stderr, "depth_demo: %s failed: %s%s%s\n", what, seqnet_strerror(status),
            detail[0] ? ": " : "", detail);
    exit(1);
}

#define CHECK(call, handle)                                 \
    do {                                                    \
        int check_status_ = (call);                         \
        if (check_status_ != SEQNET_OK)                     \
            die(#call, check_status_, (handle));            \
    } while (0)

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "depth_demo: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- the series ------------------------------------------------------- */

/* Read scripts/fetch-airpassengers.sh's CSV: "month,passengers", then 144
 * lines "1949-01,112". Returns 0, or -1 when the file cannot be opened;
 * exits on a malformed file. */
static int read_series(const char *path, double *values)
{
    char line[128];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    if (fgets(line, sizeof line, f) == NULL || strncmp(line, "month,passengers", 16) != 0) {
        fprintf(stderr, "depth_demo: %s: expected the header 'month,passengers'\n", path);
        exit(1);
    }
    while (fgets(line, sizeof line, f) != NULL) {
        const char *comma = strchr(line, ',');
        if (comma == NULL || n >= N_MONTHS) {
            fprintf(stderr, "depth_demo: %s: bad line %d\n", path, n + 2);
            exit(1);
        }
        values[n++] = strtod(comma + 1, NULL);
    }
    fclose(f);
    if (n != N_MONTHS) {
        fprintf(stderr, "depth_demo: %s: %d values, expected %d\n", path, n, N_MONTHS);
        exit(1);
    }
    return 0;
}

/* A stand-in with the same shape when the real file is absent (--quick):
 * growth 1% a month, a summer peak, multiplicative noise. */
static void generate_series(double *values)
{
    const double pi = 3.14159265358979323846;
    uint64_t s = 0x2545F4914F6CDD1Du;
    for (int i = 0; i < N_MONTHS; i++) {
        double u;
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        u = (double)((s * 0x2545F4914F6CDD1Du) >> 11) / 9007199254740992.0; /* [0, 1) */
        values[i] = 110.0 * exp(0.01 * i) * (1.0 + 0.15 * sin(2.0 * pi * (i - 3) / 12.0)) *
                    (1.0 + 0.04 * (u - 0.5));
    }
}

/* ---- the models ------------------------------------------------------- */

static int32_t add(seqnet_graph *g, seqnet_options *o, int kind, const int32_t *in, int32_t n)
{
    int32_t node = -1;
    CHECK(seqnet_graph_add(g, kind, o, in, n, NULL, &node), g);
    CHECK(seqnet_options_clear(o), o);
    return node;
}

static int32_t dense(seqnet_graph *g, seqnet_options *o, int32_t in, int units, const char *act)
{
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, units), o);
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, act), o);
    return add(g, o, SEQNET_LAYER_DENSE, &in, 1);
}

/* model 0 plain, 1 highway, 2 residual. */
static seqnet_model *build(seqnet_context *ctx, int model, int depth, const char *act)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x, out;

    CHECK(seqnet_graph_new(ctx, &g), ctx);
    CHECK(seqnet_options_new(ctx, &o), ctx);
    CHECK(seqnet_graph_input_vector(g, WINDOW, "window", &in), g);
    x = dense(g, o, in, WIDTH, "linear");
    for (int l = 0; l < depth; l++) {
        if (model == 0) {
            x = dense(g, o, x, WIDTH, act);
        } else if (model == 1) {
            CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, act), o);
            CHECK(seqnet_options_set_float(o, SEQNET_OPT_GATE_BIAS, -2.0), o);
            x = add(g, o, SEQNET_LAYER_HIGHWAY, &x, 1);
        } else {
            int32_t pair[2];
            pair[0] = x;
            pair[1] = dense(g, o, dense(g, o, x, WIDTH, act), WIDTH, "linear");
            x = add(g, o, SEQNET_LAYER_ADD, pair, 2);
        }
    }
    out = dense(g, o, x, 1, "linear");
    CHECK(seqnet_graph_compile(g, &in, 1, &out, 1, &m), g);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

/* Standard deviation, across the windows of `data`, of the model's
 * prediction: how much of the input reaches the top of the stack. */
static double prediction_spread(seqnet_model *model, const seqnet_data *data, int n)
{
    seqnet_session *session = NULL;
    float *p = xcalloc((size_t)n, sizeof *p);
    double mean = 0, var = 0;
    CHECK(seqnet_session_new(model, &session), model);
    CHECK(seqnet_session_predict(session, data, 0, p, n, 64), session);
    for (int i = 0; i < n; i++)
        mean += p[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        var += (p[i] - mean) * (p[i] - mean);
    seqnet_session_free(session);
    free(p);
    return sqrt(var / n);
}

/* ---- the plot ---------------------------------------------------------- */

/* Loss against epoch, one polyline per model, log10 y axis with a line at
 * every power of ten (and 2x, 5x between when the range is short). */
static int write_svg(const char *path, double *const *loss, int epochs, double baseline,
                     const char *subtitle)
{
    const double w = 760, h = 460, left = 80, right = 180, top = 56, bottom = 56;
    const double pw = w - left - right, ph = h - top - bottom;
    double lo = INFINITY, hi = -INFINITY, ylo, yhi;
    FILE *f;

    for (int m = 0; m < N_MODELS; m++)
        for (int e = 0; e < epochs; e++)
            if (loss[m][e] > 0 && isfinite(loss[m][e])) {
                lo = fmin(lo, loss[m][e]);
                hi = fmax(hi, loss[m][e]);
            }
    if (!(lo <= hi))
        lo = hi = 1.0;
    lo = fmin(lo, baseline);
    hi = fmax(hi, baseline);
    ylo = floor(log10(lo));
    yhi = ceil(log10(hi));
    if (yhi <= ylo)
        yhi = ylo + 1;
    if ((f = fopen(path, "w")) == NULL) {
        fprintf(stderr, "depth_demo: cannot write %s\n", path);
        return -1;
    }
#define PX(e) (left + pw * ((epochs > 1 ? (double)(e) / (epochs - 1) : 0.5)))
#define PY(v) (top + ph * (yhi - log10(v)) / (yhi - ylo))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"13\">\n",
            w, h, w, h);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"24\" font-size=\"16\" font-weight=\"bold\">"
               "Training loss of a deep stack: plain vs highway vs residual</text>\n", left);
    fprintf(f, "<text x=\"%.0f\" y=\"42\" fill=\"#555\">%s</text>\n", left, subtitle);
    /* horizontal grid and y labels */
    for (double d = ylo; d <= yhi + 1e-9; d += 1.0) {
        static const double steps[3] = {1.0, 2.0, 5.0};
        for (int s = 0; s < 3; s++) {
            double v = steps[s] * pow(10.0, d);
            if (log10(v) > yhi + 1e-9 || (s > 0 && yhi - ylo > 3))
                continue;
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                    left, left + pw, PY(v), PY(v), s == 0 ? "#ccc" : "#eee");
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">%g</text>\n",
                    left - 6, PY(v) + 4, v);
        }
    }
    /* x ticks */
    {
        int step = epochs <= 20 ? 2 : epochs <= 60 ? 10 : epochs <= 150 ? 25 : 50;
        for (int e = 0; e <= epochs; e += step) {
            int shown = e == 0 ? 1 : e;
            double x = PX(shown - 1);
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
                    x, x, top, top + ph);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#333\">%d</text>\n",
                    x, top + ph + 18, shown);
        }
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", left, top, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n",
            left + pw / 2, h - 14);
    fprintf(f, "<text transform=\"translate(22 %.1f) rotate(-90)\" text-anchor=\"middle\">"
               "training loss (MSE, log scale)</text>\n", top + ph / 2);
    /* the level of a constant prediction (the mean target) */
    fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" "
               "stroke-dasharray=\"6,4\"/>\n", left, left + pw, PY(baseline), PY(baseline));
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">"
               "always predicting the mean</text>\n", left + pw - 6, PY(baseline) + 16);
    /* curves and legend */
    for (int m = 0; m < N_MODELS; m++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                model_colors[m]);
        for (int e = 0; e < epochs; e++)
            if (loss[m][e] > 0 && isfinite(loss[m][e]))
                fprintf(f, "%.1f,%.1f ", PX(e), PY(loss[m][e]));
        fprintf(f, "\"/>\n");
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"3\"/>\n",
                left + pw + 16, left + pw + 44, top + 20 + 30.0 * m, top + 20 + 30.0 * m,
                model_colors[m]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", left + pw + 50,
                top + 24 + 30.0 * m, model_names[m]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\" font-size=\"11\">"
                   "final %.4f</text>\n", left + pw + 50, top + 37 + 30.0 * m,
                loss[m][epochs - 1]);
    }
#undef PX
#undef PY
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "depth_demo: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------- */

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--data CSV] [--svg OUT.svg] [--depth N] [--epochs N] [--act NAME]\n"
            "          [--lr X] [--quick]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *data_path = "data/airpassengers/airpassengers.csv", *svg = NULL;
    const char *act = "sigmoid";
    int depth = 30, epochs = -1, quick = 0, real = 1, status = 0;
    double lr = 1e-3, series[N_MONTHS], mean = 0, sd = 0, test_mse[N_MODELS];
    double spread0[N_MODELS], spread1[N_MODELS], y_mean = 0, y_var = 0;
    double *loss[N_MODELS];
    int64_t params[N_MODELS];
    int n_train, n_test, n_all = N_MONTHS - WINDOW;
    float *x, *y;
    seqnet_context *ctx = NULL;
    char subtitle[256];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data_path = argv[++i];
        else if (!strcmp(argv[i], "--svg") && i + 1 < argc)
            svg = argv[++i];
        else if (!strcmp(argv[i], "--depth") && i + 1 < argc)
            depth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--act") && i + 1 < argc)
            act = argv[++i];
        else if (!strcmp(argv[i], "--lr") && i + 1 < argc)
            lr = atof(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else
            usage(argv[0]);
    }
    if (depth < 1 || lr <= 0)
        usage(argv[0]);
    if (epochs < 1)
        epochs = quick ? 30 : 150;

    /* The data: log, standardized on the training months, windowed. */
    if (read_series(data_path, series) != 0) {
        if (!quick) {
            fprintf(stderr, "depth_demo: cannot open %s (run ./scripts/fetch-airpassengers.sh, "
                            "or pass --quick to use a generated series)\n", data_path);
            return 1;
        }
        generate_series(series);
        real = 0;
    }
    n_test = N_TEST;
    n_train = n_all - n_test;
    for (int i = 0; i < N_MONTHS; i++)
        series[i] = log(series[i]);
    for (int i = 0; i < n_train + WINDOW; i++)
        mean += series[i];
    mean /= n_train + WINDOW;
    for (int i = 0; i < n_train + WINDOW; i++)
        sd += (series[i] - mean) * (series[i] - mean);
    sd = sqrt(sd / (n_train + WINDOW));
    x = xcalloc((size_t)n_all * WINDOW, sizeof *x);
    y = xcalloc((size_t)n_all, sizeof *y);
    for (int s = 0; s < n_all; s++) {
        for (int j = 0; j < WINDOW; j++)
            x[s * WINDOW + j] = (float)((series[s + j] - mean) / sd);
        y[s] = (float)((series[s + WINDOW] - mean) / sd);
    }
    for (int s = 0; s < n_train; s++)
        y_mean += y[s];
    y_mean /= n_train;
    for (int s = 0; s < n_train; s++)
        y_var += (y[s] - y_mean) * (y[s] - y_mean);
    y_var /= n_train;
    printf("data: %s, %d training windows (targets 1950-01..1958-12), %d test (1959-1960)\n",
           real ? data_path : "generated airline-like series (the CSV was not found)", n_train,
           n_test);
    printf("models: input(%d) -> Dense(%d) -> %d x block -> Dense(1); block activation %s; "
           "Adam lr %g, batch 16, %d epochs, seed 42\n",
           WINDOW, WIDTH, depth, act, lr, epochs);

    CHECK(seqnet_context_new(&ctx), NULL);
    for (int m = 0; m < N_MODELS; m++) {
        seqnet_model *model;
        seqnet_trainer *tr = NULL;
        seqnet_data *train = NULL, *test = NULL;
        double logs[1];

        CHECK(seqnet_context_set_seed(ctx, 42), ctx);
        model = build(ctx, m, depth, act);
        params[m] = seqnet_model_count_params(model, NULL, NULL);
        CHECK(seqnet_data_new(ctx, &train), ctx);
        CHECK(seqnet_data_set_floats(train, 0, x, n_train, 0, WINDOW), train);
        CHECK(seqnet_data_set_targets(train, 0, y, n_train, 0, 1), train);
        CHECK(seqnet_data_new(ctx, &test), ctx);
        CHECK(seqnet_data_set_floats(test, 0, x + (size_t)n_train * WINDOW, n_test, 0, WINDOW),
              test);
        CHECK(seqnet_data_set_targets(test, 0, y + n_train, n_test, 0, 1), test);
        CHECK(seqnet_trainer_new(model, &tr), model);
        CHECK(seqnet_trainer_set_loss(tr, 0, SEQNET_LOSS_MEAN_SQUARED_ERROR), tr);
        CHECK(seqnet_trainer_set_optimizer(tr, SEQNET_OPTIMIZER_ADAM), tr);
        CHECK(seqnet_trainer_set_param(tr, SEQNET_TRAIN_LEARNING_RATE, lr), tr);
        CHECK(seqnet_trainer_set_param(tr, SEQNET_TRAIN_BATCH_SIZE, 16), tr);
        CHECK(seqnet_trainer_set_param(tr, SEQNET_TRAIN_EPOCHS, epochs), tr);
        CHECK(seqnet_trainer_set_param(tr, SEQNET_TRAIN_SEED, 7), tr);
        spread0[m] = prediction_spread(model, train, n_train);
        CHECK(seqnet_trainer_fit(tr, train, NULL), tr);
        spread1[m] = prediction_spread(model, train, n_train);
        loss[m] = xcalloc((size_t)epochs, sizeof *loss[m]);
        for (int e = 0; e < epochs; e++)
            CHECK(seqnet_trainer_history_value(tr, e, 0, 0, &loss[m][e]), tr);
        CHECK(seqnet_trainer_evaluate(tr, test, logs, 1), tr);
        test_mse[m] = logs[0];
        seqnet_data_free(test);
        seqnet_data_free(train);
        seqnet_trainer_free(tr);
        seqnet_model_free(model);
    }

    printf("\ntraining loss (MSE on standardized log passengers; always predicting the mean "
           "target gives %.5f)\n", y_var);
    printf("%6s %12s %12s %12s\n", "epoch", model_names[0], model_names[1], model_names[2]);
    for (int e = 0; e < epochs; e++)
        if (quick || e < 10 || (e + 1) % 10 == 0)
            printf("%6d %12.5f %12.5f %12.5f\n", e + 1, loss[0][e], loss[1][e], loss[2][e]);
    printf("%6s %12lld %12lld %12lld\n", "params", (long long)params[0], (long long)params[1],
           (long long)params[2]);
    printf("%6s %12.5f %12.5f %12.5f   (1959-1960, never trained on)\n", "test", test_mse[0],
           test_mse[1], test_mse[2]);
    printf("spread of the prediction across the training windows (std; the targets' is %.3f):\n"
           "%6s %12.2e %12.2e %12.2e\n%6s %12.2e %12.2e %12.2e\n",
           sqrt(y_var), "init", spread0[0], spread0[1], spread0[2], "end", spread1[0],
           spread1[1], spread1[2]);

    if (svg != NULL) {
        snprintf(subtitle, sizeof subtitle,
                 "%s, 12 months -> next; %d blocks of width %d, %s; Adam %g, batch 16",
                 real ? "AirPassengers 1949-1960" : "generated airline-like series", depth, WIDTH,
                 act, lr);
        if (write_svg(svg, loss, epochs, y_var, subtitle) != 0)
            status = 1;
        else
            printf("figure: %s\n", svg);
    }

    if (quick) {
        double plain = loss[0][epochs - 1];
        int ok = loss[1][epochs - 1] < 0.5 * plain && loss[2][epochs - 1] < 0.5 * plain;
        printf("check: highway %.4f and residual %.4f below half of plain %.4f: %s\n",
               loss[1][epochs - 1], loss[2][epochs - 1], plain, ok ? "yes" : "NO");
        if (!ok)
            status = 1;
    }
    for (int m = 0; m < N_MODELS; m++)
        free(loss[m]);
    free(x);
    free(y);
    seqnet_context_free(ctx);
    return status;
}

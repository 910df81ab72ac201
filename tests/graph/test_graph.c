/*
 * tests/graph/test_graph.c -- the graph builder, models, sessions and the
 * trainer, end to end through the public API.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet/seqnet.h>

/* ---- helpers ---- */

static seqnet_context *ctx_new(uint64_t seed)
{
    seqnet_context *ctx = NULL;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_context_set_seed(ctx, seed), SEQNET_OK);
    return ctx;
}

static int add_layer(seqnet_graph *g, seqnet_options *o, int kind, int32_t in, int32_t *out)
{
    int st = seqnet_graph_add(g, kind, o, &in, 1, NULL, out);
    seqnet_options_clear(o);
    return st;
}

/* The course's pooled-embedding model. */
static seqnet_model *course_model(seqnet_context *ctx, int32_t vocab, int32_t time)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, time, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, vocab);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 30);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_EMBEDDING, in, &x), SEQNET_OK);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, x, &x), SEQNET_OK);
    seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.5);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DROPOUT, x, &x), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 20);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu");
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, x, &x), SEQNET_OK);
    seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.5);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DROPOUT, x, &x), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid");
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, x, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

/* A functional summary lists the inputs with Keras's shapes: token ids
 * without a feature axis, and each input layer's shape as a list of one. */
START_TEST(functional_summary_shows_keras_input_shapes)
{
    seqnet_context *ctx = ctx_new(1);
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t ids, series, any, feats, a, b, c, parts[3], out, ins[4];
    char *summary = NULL;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 7, "ids", &ids), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 0, "any_length", &any), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_sequence(g, 5, 2, "series", &series), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_vector(g, 8, "features", &feats), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 10);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_EMBEDDING, ids, &a), SEQNET_OK);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, a, &a), SEQNET_OK);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_GLOBAL_MAX_POOLING1D, series, &b), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, feats, &c), SEQNET_OK);
    parts[0] = a;
    parts[1] = b;
    parts[2] = c;
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_CONCATENATE, NULL, parts, 3, NULL, &out),
                     SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 10);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_EMBEDDING, any, &a), SEQNET_OK);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, a, &a), SEQNET_OK);
    parts[0] = out;
    parts[1] = a;
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_CONCATENATE, NULL, parts, 2, NULL, &out),
                     SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, out, &out), SEQNET_OK);
    ins[0] = ids;
    ins[1] = any;
    ins[2] = series;
    ins[3] = feats;
    ck_assert_int_eq(seqnet_graph_compile(g, ins, 4, &out, 1, &m), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_summary(m, &summary), SEQNET_OK);
    ck_assert_msg(strstr(summary, " ids (InputLayer)") != NULL, "%s", summary);
    ck_assert_msg(strstr(summary, "[(None, 7)]") != NULL, "%s", summary);
    ck_assert_msg(strstr(summary, "[(None, None)]") != NULL, "%s", summary);
    ck_assert_msg(strstr(summary, "[(None, 5, 2)]") != NULL, "%s", summary);
    ck_assert_msg(strstr(summary, "[(None, 8)]") != NULL, "%s", summary);
    ck_assert_msg(strstr(summary, "(None, 7, 1)") == NULL, "%s", summary);
    /* Layers other than inputs keep the bare tuple. */
    ck_assert_msg(strstr(summary, "(None, 7, 4) ") != NULL, "%s", summary);
    ck_assert_msg(strstr(summary, "(None, 13) ") != NULL, "%s", summary);
    seqnet_free(summary);
    seqnet_model_free(m);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(course_model_reports_keras_parameter_count)
{
    seqnet_context *ctx = ctx_new(1);
    seqnet_model *m = course_model(ctx, 62297, 0);
    int64_t trainable = -1, frozen = -1;
    char *summary = NULL;
    ck_assert_int_eq(seqnet_model_count_params(m, &trainable, &frozen), 1869551);
    ck_assert_int_eq(trainable, 1869551);
    ck_assert_int_eq(frozen, 0);
    ck_assert_int_eq(seqnet_model_summary(m, &summary), SEQNET_OK);
    ck_assert_ptr_nonnull(strstr(summary, "Total params: 1,869,551"));
    ck_assert_ptr_nonnull(strstr(summary, "embedding (Embedding)"));
    ck_assert_ptr_nonnull(strstr(summary, "(None, None, 30)"));
    ck_assert_ptr_nonnull(strstr(summary, "1868910"));
    ck_assert_ptr_nonnull(strstr(summary, "dense_1 (Dense)"));
    seqnet_free(summary);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(shape_errors_name_the_layer)
{
    seqnet_context *ctx = ctx_new(1);
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    int32_t vec, tok, x;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_vector(g, 8, "features", &vec), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 0, "ids", &tok), SEQNET_OK);
    /* An Embedding needs token ids. */
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 10);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &vec, 1, "emb_bad", &x),
                     SEQNET_ESHAPE);
    ck_assert_ptr_nonnull(strstr(seqnet_errmsg(g), "emb_bad"));
    /* A masked sequence cannot be flattened. */
    seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &tok, 1, "emb", &x), SEQNET_OK);
    seqnet_options_clear(o);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_FLATTEN, o, &x, 1, "flat", &x), SEQNET_ESHAPE);
    ck_assert_ptr_nonnull(strstr(seqnet_errmsg(g), "flat"));
    /* An option the layer does not take. */
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3);
    seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.1);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &vec, 1, NULL, &x),
                     SEQNET_EUNSUPPORTED);
    /* Unknown kinds, bad node ids, duplicate names. */
    ck_assert_int_eq(seqnet_graph_add(g, 999, NULL, &vec, 1, NULL, &x), SEQNET_EUNSUPPORTED);
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3);
    x = 77;
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &vec, 1, "ids", &x), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_options_set_int(o, 12345, 1), SEQNET_EUNSUPPORTED);
    /* An integer option given as a float: 3.0 is 3, but 1e300, -5e299 and
     * NaN are refused (converting them to an integer would be undefined
     * behaviour; UBSan runs this test in CI). */
    seqnet_options_clear(o);
    seqnet_options_set_float(o, SEQNET_OPT_UNITS, 3.0);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &vec, 1, "three", &x), SEQNET_OK);
    {
        const double bad[3] = {1e300, -5e299, NAN};
        int k;
        for (k = 0; k < 3; k++) {
            seqnet_options_set_float(o, SEQNET_OPT_UNITS, bad[k]);
            ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &vec, 1, NULL, &x),
                             SEQNET_EINVAL);
        }
    }
    seqnet_options_free(o);
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
}
END_TEST

/* A vector -> Dense(3, linear) -> Dense(2, softmax) model with set weights. */
static seqnet_model *small_dense(seqnet_context *ctx)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_vector(g, 4, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "tanh");
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, in, &x), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 2);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax");
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, x, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

START_TEST(predict_matches_independent_forward)
{
    seqnet_context *ctx = ctx_new(3);
    seqnet_model *m = small_dense(ctx);
    seqnet_session *s = NULL;
    float w1[12], b1[3], w2[6], b2[2], x[2 * 4], out[4];
    int i, b, j, k;
    for (i = 0; i < 12; i++)
        w1[i] = (float)(0.1 * (i - 6));
    for (i = 0; i < 3; i++)
        b1[i] = (float)(0.05 * i);
    for (i = 0; i < 6; i++)
        w2[i] = (float)(0.2 * (3 - i));
    b2[0] = 0.1f;
    b2[1] = -0.1f;
    for (i = 0; i < 8; i++)
        x[i] = (float)(0.3 * i - 1.0);
    ck_assert_int_eq(seqnet_model_layer_n_weights(m, 1), 2);
    ck_assert_int_eq(seqnet_model_set_weight(m, 1, 0, w1, 12), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(m, 1, 1, b1, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(m, 2, 0, w2, 6), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(m, 2, 1, b2, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(m, 2, 1, b2, 3), SEQNET_ESHAPE);
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_floats(s, 0, x, 2, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, out, 4), SEQNET_OK);
    for (b = 0; b < 2; b++) {
        double h[3], z[2], mx, sum = 0;
        for (j = 0; j < 3; j++) {
            h[j] = b1[j];
            for (k = 0; k < 4; k++)
                h[j] += x[b * 4 + k] * w1[k * 3 + j]; /* Keras kernel layout [in, out] */
            h[j] = tanh(h[j]);
        }
        for (j = 0; j < 2; j++) {
            z[j] = b2[j];
            for (k = 0; k < 3; k++)
                z[j] += h[k] * w2[k * 2 + j];
        }
        mx = z[0] > z[1] ? z[0] : z[1];
        for (j = 0; j < 2; j++)
            sum += exp(z[j] - mx);
        for (j = 0; j < 2; j++)
            ck_assert_double_eq_tol(out[b * 2 + j], exp(z[j] - mx) / sum, 1e-6);
    }
    seqnet_session_free(s);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* Data: 2-D points, label 1 when x0 + x1 > 0 (with a margin). */
static void make_points(float *x, float *y, int n, unsigned seed)
{
    int i;
    srand(seed);
    for (i = 0; i < n; i++) {
        float a = (float)rand() / RAND_MAX * 2 - 1, b = (float)rand() / RAND_MAX * 2 - 1;
        x[i * 4 + 0] = a;
        x[i * 4 + 1] = b;
        x[i * 4 + 2] = a * b;
        x[i * 4 + 3] = 0.5f;
        y[i * 2 + 0] = a + b > 0 ? 0.0f : 1.0f;
        y[i * 2 + 1] = a + b > 0 ? 1.0f : 0.0f;
    }
}

static seqnet_trainer *make_trainer(seqnet_model *m, int optimizer, double lr)
{
    seqnet_trainer *t = NULL;
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_CATEGORICAL_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_add_metric(t, 0, SEQNET_METRIC_CATEGORICAL_ACCURACY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_optimizer(t, optimizer), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, lr), SEQNET_OK);
    return t;
}

START_TEST(training_learns_a_separable_problem)
{
    seqnet_context *ctx = ctx_new(5);
    seqnet_model *m = small_dense(ctx);
    seqnet_trainer *t = make_trainer(m, SEQNET_OPTIMIZER_ADAM, 0.05);
    seqnet_data *d = NULL;
    static float x[400 * 4], y[400 * 2];
    double logs[2], first, last, acc;
    make_points(x, y, 400, 7);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, x, 400, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 400, 0, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, 30), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_VALIDATION_SPLIT, 0.25), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_history_len(t), 30);
    ck_assert_int_eq(seqnet_trainer_history_value(t, 0, 0, 0, &first), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_history_value(t, 29, 0, 0, &last), SEQNET_OK);
    ck_assert(last < first * 0.5);
    ck_assert_int_eq(seqnet_trainer_history_value(t, 29, 1, 1, &acc), SEQNET_OK);
    ck_assert(acc > 0.93);
    ck_assert_str_eq(seqnet_trainer_log_name(t, 1, 1), "val_categorical_accuracy");
    ck_assert_int_eq(seqnet_trainer_evaluate(t, d, logs, 2), SEQNET_OK);
    ck_assert(logs[1] > 0.93);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

static double loss_of(seqnet_trainer *t, seqnet_data *d)
{
    double logs[2];
    ck_assert_int_eq(seqnet_trainer_evaluate(t, d, logs, 2), SEQNET_OK);
    return logs[0];
}

/* Whole-pipeline gradient check: one plain SGD step moves each weight by
 * -lr * gradient; compare with central differences of the evaluated loss.
 * Covers a branching graph (one trunk feeding two heads whose outputs are
 * both trained) so gradients from two consumers must add up, an Embedding
 * with mask_zero and average pooling. */
START_TEST(sgd_step_matches_finite_differences_on_branching_graph)
{
    seqnet_context *ctx = ctx_new(11);
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    int32_t in, e, p, h, o1, o2, outs[2];
    int32_t ids[3 * 5] = {1, 2, 3, 0, 0, 4, 4, 1, 2, 0, 5, 0, 0, 0, 0};
    float y1[3] = {1, 0, 1}, y2[3 * 2] = {0.5f, -0.2f, 0.1f, 0.3f, -0.4f, 0.9f};
    float before[64], after[64];
    const double lr = 1e-3;
    int32_t layer, w;
    int checked = 0;

    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 5, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 6);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 3);
    seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_EMBEDDING, in, &e), SEQNET_OK);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, e, &p), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 4);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "tanh");
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, p, &h), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid");
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, h, &o1), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 2);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, h, &o2), SEQNET_OK);
    outs[0] = o1;
    outs[1] = o2;
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, outs, 2, &m), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 1, SEQNET_LOSS_MEAN_SQUARED_ERROR), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_optimizer(t, SEQNET_OPTIMIZER_SGD), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, lr), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids, 3, 5), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y1, 3, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 1, y2, 3, 0, 2), SEQNET_OK);

    for (layer = 1; layer < seqnet_model_n_layers(m); layer++) {
        for (w = 0; w < seqnet_model_layer_n_weights(m, layer); w++) {
            int64_t count, i;
            ck_assert_int_eq(seqnet_model_weight_info(m, layer, w, NULL, NULL, NULL, &count),
                             SEQNET_OK);
            ck_assert(count <= 64);
            ck_assert_int_eq(seqnet_model_get_weight(m, layer, w, before, count), SEQNET_OK);
            /* analytic: one SGD step, then restore */
            ck_assert_int_eq(seqnet_trainer_train_batch(t, d, NULL), SEQNET_OK);
            ck_assert_int_eq(seqnet_model_get_weight(m, layer, w, after, count), SEQNET_OK);
            for (i = 0; i < count; i++) {
                float saved[64];
                double analytic = -((double)after[i] - before[i]) / lr, lp, lm, numeric;
                const float eps = 1e-2f;
                /* restore every weight touched by the step: re-set all layers */
                memcpy(saved, before, sizeof saved);
                ck_assert_int_eq(seqnet_model_set_weight(m, layer, w, before, count), SEQNET_OK);
                saved[i] = before[i] + eps;
                seqnet_model_set_weight(m, layer, w, saved, count);
                lp = loss_of(t, d);
                saved[i] = before[i] - eps;
                seqnet_model_set_weight(m, layer, w, saved, count);
                lm = loss_of(t, d);
                seqnet_model_set_weight(m, layer, w, before, count);
                numeric = (lp - lm) / (2 * eps);
                ck_assert_msg(fabs(analytic - numeric) <= 2e-3 + 2e-2 * fabs(numeric),
                              "layer %d weight %d[%d]: analytic %g numeric %g", (int)layer,
                              (int)w, (int)i, analytic, numeric);
                checked++;
            }
            /* the step also moved other tensors: rebuild a clean state by
             * undoing it exactly is not possible, so the next tensor is
             * checked around the weights as they now are (still valid). */
        }
    }
    ck_assert_int_gt(checked, 30);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
}
END_TEST

static void train_once(uint64_t seed, float *weights_out)
{
    seqnet_context *ctx = ctx_new(seed);
    seqnet_model *m = course_model(ctx, 50, 8);
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    static int32_t ids[64 * 8];
    static float y[64];
    int i;
    for (i = 0; i < 64 * 8; i++)
        ids[i] = (i * 7 + i / 8) % 50;
    for (i = 0; i < 64; i++)
        y[i] = (float)(ids[i * 8] % 2);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 16), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids, 64, 8), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 64, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_get_weight(m, 1, 0, weights_out, 50 * 30), SEQNET_OK);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}

START_TEST(same_seed_gives_bit_identical_training)
{
    static float a[1500], b[1500], c[1500];
    train_once(42, a);
    train_once(42, b);
    train_once(43, c);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
}
END_TEST

START_TEST(out_of_range_token_ids_are_errors)
{
    seqnet_context *ctx = ctx_new(1);
    seqnet_model *m = course_model(ctx, 100, 0);
    seqnet_session *s = NULL;
    int32_t ids[4] = {1, 2, 100, 3}, neg[4] = {1, -1, 2, 3};
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_tokens(s, 0, ids, 1, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_ERANGE);
    ck_assert_ptr_nonnull(strstr(seqnet_errmsg(s), "100"));
    ck_assert_int_eq(seqnet_session_set_input_tokens(s, 0, neg, 1, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_ERANGE);
    ck_assert_int_eq(seqnet_session_set_input_tokens(s, 1, neg, 1, 4), SEQNET_ERANGE);
    seqnet_session_free(s);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(non_finite_inputs_and_losses_are_reported)
{
    seqnet_context *ctx = ctx_new(2);
    seqnet_model *m = small_dense(ctx);
    seqnet_session *s = NULL;
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    static float x[64 * 4], y[64 * 2], w[12];
    int i;
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    make_points(x, y, 64, 3);
    x[5] = NAN;
    ck_assert_int_eq(seqnet_session_set_input_floats(s, 0, x, 64, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_ENONFINITE);
    x[5] = INFINITY;
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_ENONFINITE);
    x[5] = 0.25f;
    /* Weights cannot be set to NaN. */
    for (i = 0; i < 12; i++)
        w[i] = i == 3 ? NAN : 0.1f;
    ck_assert_int_eq(seqnet_model_set_weight(m, 1, 0, w, 12), SEQNET_ENONFINITE);
    /* A forward pass that overflows float (finite inputs near FLT_MAX into
     * a linear unit): training stops before touching the weights. */
    {
        seqnet_graph *g = NULL;
        seqnet_model *lin = NULL;
        int32_t in, out;
        float ones[4] = {1, 1, 1, 1}, before[4], after[4];
        ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
        ck_assert_int_eq(seqnet_graph_input_vector(g, 4, NULL, &in), SEQNET_OK);
        {
            seqnet_options *o = NULL;
            ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
            seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
            ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &in, 1, NULL, &out),
                             SEQNET_OK);
            seqnet_options_free(o);
        }
        ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &out, 1, &lin), SEQNET_OK);
        seqnet_graph_free(g);
        ck_assert_int_eq(seqnet_model_set_weight(lin, 1, 0, ones, 4), SEQNET_OK);
        for (i = 0; i < 64 * 4; i++)
            x[i] = 3e38f;
        for (i = 0; i < 64; i++)
            y[i] = 1.0f;
        ck_assert_int_eq(seqnet_trainer_new(lin, &t), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_MEAN_SQUARED_ERROR), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_floats(d, 0, x, 64, 0, 4), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 64, 0, 1), SEQNET_OK);
        ck_assert_int_eq(seqnet_model_get_weight(lin, 1, 0, before, 4), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_ENONFINITE);
        ck_assert_int_eq(seqnet_model_get_weight(lin, 1, 0, after, 4), SEQNET_OK);
        ck_assert_int_eq(memcmp(before, after, sizeof before), 0);
        seqnet_data_free(d);
        seqnet_trainer_free(t);
        seqnet_model_free(lin);
        d = NULL;
        t = NULL;
    }
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_session_free(s);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

static int stop_after_two(void *user, int event, int32_t epoch, int32_t batch, int32_t n_batches,
                          const double *logs, int32_t n_logs)
{
    int *calls = user;
    (void)batch;
    (void)n_batches;
    (void)logs;
    (void)n_logs;
    if (event == SEQNET_EVENT_EPOCH_END) {
        calls[0]++;
        return epoch >= 1 ? 1 : 0;
    }
    calls[1]++;
    return 0;
}

START_TEST(callback_can_stop_training_early)
{
    seqnet_context *ctx = ctx_new(5);
    seqnet_model *m = small_dense(ctx);
    seqnet_trainer *t = make_trainer(m, SEQNET_OPTIMIZER_RMSPROP, 0.01);
    seqnet_data *d = NULL;
    static float x[100 * 4], y[100 * 2];
    int calls[2] = {0, 0};
    make_points(x, y, 100, 9);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, x, 100, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 100, 0, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, 10), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 25), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_callback(t, stop_after_two, calls), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    ck_assert_int_eq(calls[0], 2);
    ck_assert_int_eq(calls[1], 8);
    ck_assert_int_eq(seqnet_trainer_history_len(t), 2);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

typedef struct gen_state {
    const float *x, *y;
    int calls;
} gen_state;

static int generator(void *user, int32_t epoch, int64_t batch, seqnet_data *out)
{
    gen_state *g = user;
    (void)epoch;
    if (batch >= 4)
        return 0;
    g->calls++;
    if (seqnet_data_set_floats(out, 0, g->x + batch * 25 * 4, 25, 0, 4) != SEQNET_OK ||
        seqnet_data_set_targets(out, 0, g->y + batch * 25 * 2, 25, 0, 2) != SEQNET_OK)
        return -1;
    return 1;
}

START_TEST(generator_data_trains_like_arrays)
{
    seqnet_context *ctx = ctx_new(5);
    seqnet_model *m = small_dense(ctx);
    seqnet_trainer *t = make_trainer(m, SEQNET_OPTIMIZER_ADAGRAD, 0.1);
    seqnet_data *d = NULL;
    static float x[100 * 4], y[100 * 2];
    gen_state gs;
    double first, last;
    make_points(x, y, 100, 13);
    gs.x = x;
    gs.y = y;
    gs.calls = 0;
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_generator(d, generator, &gs), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_n_samples(d), -1);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, 5), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    ck_assert_int_eq(gs.calls, 20);
    seqnet_trainer_history_value(t, 0, 0, 0, &first);
    seqnet_trainer_history_value(t, 4, 0, 0, &last);
    ck_assert(last < first);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* ---- threads: one shared model, one session per thread ---- */
typedef struct thread_job {
    const seqnet_model *model;
    const int32_t *ids;
    float out[200];
    int status;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    seqnet_session *s = NULL;
    int rep;
    job->status = seqnet_session_new(job->model, &s);
    for (rep = 0; rep < 50 && job->status == SEQNET_OK; rep++) {
        job->status = seqnet_session_set_input_tokens(s, 0, job->ids, 200, 12);
        if (job->status == SEQNET_OK)
            job->status = seqnet_session_run(s);
        if (job->status == SEQNET_OK)
            job->status = seqnet_session_get_output(s, 0, job->out, 200);
    }
    seqnet_session_free(s);
    return NULL;
}

START_TEST(threads_sharing_a_model_get_identical_results)
{
    seqnet_context *ctx = ctx_new(8);
    seqnet_model *m = course_model(ctx, 300, 0);
    static int32_t ids[200 * 12];
    static thread_job jobs[4];
    pthread_t th[4];
    int i;
    for (i = 0; i < 200 * 12; i++)
        ids[i] = (i * 31) % 300;
    for (i = 0; i < 4; i++) {
        jobs[i].model = m;
        jobs[i].ids = ids;
        ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(jobs[i].status, SEQNET_OK);
        ck_assert_int_eq(memcmp(jobs[i].out, jobs[0].out, sizeof jobs[0].out), 0);
    }
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* ---- allocation failures: fail the Nth allocation, for every N ---- */
typedef struct fail_alloc {
    long count, fail_at, live;
} fail_alloc;

static void *fa_alloc(void *user, size_t size)
{
    fail_alloc *f = user;
    void *p;
    if (++f->count == f->fail_at)
        return NULL;
    p = malloc(size);
    if (p != NULL)
        f->live++;
    return p;
}

static void *fa_realloc(void *user, void *ptr, size_t old, size_t size)
{
    fail_alloc *f = user;
    (void)old;
    if (++f->count == f->fail_at)
        return NULL;
    return realloc(ptr, size);
}

static void fa_free(void *user, void *ptr, size_t size)
{
    fail_alloc *f = user;
    (void)size;
    f->live--;
    free(ptr);
}

/* Build, train two epochs, predict, summary; returns the first failure. */
static int scenario(seqnet_context *ctx)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    seqnet_session *s = NULL;
    char *summary = NULL;
    int32_t in, x, ids[8 * 6];
    float y[8], out[8];
    int st, i;
    for (i = 0; i < 8 * 6; i++)
        ids[i] = i % 20;
    for (i = 0; i < 8; i++)
        y[i] = (float)(i % 2);
    if ((st = seqnet_graph_new(ctx, &g)) != SEQNET_OK)
        goto done;
    if ((st = seqnet_options_new(ctx, &o)) != SEQNET_OK)
        goto done;
    if ((st = seqnet_graph_input_tokens(g, 6, NULL, &in)) != SEQNET_OK)
        goto done;
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 20);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4);
    seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1);
    if ((st = seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &in, 1, NULL, &x)) != SEQNET_OK)
        goto done;
    seqnet_options_clear(o);
    if ((st = seqnet_graph_add(g, SEQNET_LAYER_GLOBAL_MAX_POOLING1D, o, &x, 1, NULL, &x)) != SEQNET_OK)
        goto done;
    seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.2);
    if ((st = seqnet_graph_add(g, SEQNET_LAYER_DROPOUT, o, &x, 1, NULL, &x)) != SEQNET_OK)
        goto done;
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid");
    if ((st = seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x)) != SEQNET_OK)
        goto done;
    if ((st = seqnet_graph_compile(g, &in, 1, &x, 1, &m)) != SEQNET_OK)
        goto done;
    if ((st = seqnet_model_summary(m, &summary)) != SEQNET_OK)
        goto done;
    if ((st = seqnet_trainer_new(m, &t)) != SEQNET_OK)
        goto done;
    seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY);
    if ((st = seqnet_trainer_add_metric(t, 0, SEQNET_METRIC_BINARY_ACCURACY)) != SEQNET_OK)
        goto done;
    seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, 2);
    seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 3);
    seqnet_trainer_set_param(t, SEQNET_TRAIN_VALIDATION_SPLIT, 0.25);
    if ((st = seqnet_data_new(ctx, &d)) != SEQNET_OK)
        goto done;
    seqnet_data_set_tokens(d, 0, ids, 8, 6);
    seqnet_data_set_targets(d, 0, y, 8, 0, 1);
    if ((st = seqnet_trainer_fit(t, d, NULL)) != SEQNET_OK)
        goto done;
    if ((st = seqnet_session_new(m, &s)) != SEQNET_OK)
        goto done;
    if ((st = seqnet_session_predict(s, d, 0, out, 8, 4)) != SEQNET_OK)
        goto done;
done:
    seqnet_free(summary);
    seqnet_session_free(s);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return st;
}

START_TEST(every_allocation_failure_is_reported_without_leaks)
{
    fail_alloc f;
    long n, total;
    seqnet_context *ctx = NULL;
    /* Count allocations of a clean run. */
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(seqnet_context_new_with_allocator(fa_alloc, fa_realloc, fa_free, &f, &ctx),
                     SEQNET_OK);
    ck_assert_int_eq(scenario(ctx), SEQNET_OK);
    seqnet_context_free(ctx);
    ck_assert_int_eq(f.live, 0);
    total = f.count;
    ck_assert_int_gt(total, 20);
    for (n = 2; n <= total; n++) {
        int st;
        memset(&f, 0, sizeof f);
        f.fail_at = -1;
        ck_assert_int_eq(
            seqnet_context_new_with_allocator(fa_alloc, fa_realloc, fa_free, &f, &ctx), SEQNET_OK);
        f.fail_at = n;
        st = scenario(ctx);
        seqnet_context_free(ctx);
        ck_assert_msg(st == SEQNET_ENOMEM, "failing allocation %ld gave status %d", n, st);
        ck_assert_msg(f.live == 0, "failing allocation %ld leaked %ld blocks", n, f.live);
    }
}
END_TEST

START_TEST(versions_and_errors)
{
    ck_assert_uint_eq(seqnet_version_number(), SEQNET_VERSION_NUMBER);
    ck_assert_str_eq(seqnet_version_string(), SEQNET_VERSION_STRING);
    ck_assert_str_eq(seqnet_strerror(SEQNET_ENOMEM), "out of memory");
    ck_assert_str_eq(seqnet_strerror(-9999), "unknown error");
    ck_assert_str_eq(seqnet_errmsg(NULL), "no handle");
    seqnet_free(NULL);
    seqnet_model_free(NULL);
    seqnet_session_free(NULL);
    seqnet_trainer_free(NULL);
    seqnet_graph_free(NULL);
    seqnet_context_free(NULL);
    seqnet_data_free(NULL);
    seqnet_options_free(NULL);
    ck_assert_int_eq(seqnet_context_new(NULL), SEQNET_EINVAL);
}
END_TEST

/* Embedding -> GlobalAveragePooling1D -> Dense(1, sigmoid); with `second`,
 * the embedding also feeds a GlobalMaxPooling1D output (without a loss),
 * which keeps the executor from fusing the embedding into the pooling. */
static seqnet_model *pooled(seqnet_context *ctx, int second)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, e, p, out[2];
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 0, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 40);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 7);
    seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_EMBEDDING, in, &e), SEQNET_OK);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, e, &p), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid");
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_DENSE, p, &out[0]), SEQNET_OK);
    if (second)
        ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_GLOBAL_MAX_POOLING1D, e, &out[1]), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, out, second ? 2 : 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

START_TEST(fused_embedding_pooling_is_bit_identical_to_the_layers)
{
    static int32_t ids[32 * 9];
    static float y[32], table_a[280], table_b[280], out_a[32], out_b[32];
    seqnet_context *ctx = ctx_new(21);
    seqnet_model *a = pooled(ctx, 0), *b = pooled(ctx, 1);
    seqnet_trainer *ta = NULL, *tb = NULL;
    seqnet_data *d = NULL;
    seqnet_session *sa = NULL, *sb = NULL;
    float w[7], bias = 0.1f;
    int i, step;
    for (i = 0; i < 32 * 9; i++)
        ids[i] = (i % 9) < 2 + i % 7 ? 1 + (i * 17) % 39 : 0;
    for (i = 0; i < 32; i++)
        y[i] = (float)(i % 3 == 0);
    for (i = 0; i < 7; i++)
        w[i] = 0.3f * (float)(i - 3);
    /* Same weights in both. */
    ck_assert_int_eq(seqnet_model_get_weight(a, 1, 0, table_a, 280), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(b, 1, 0, table_a, 280), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(a, 3, 0, w, 7), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(b, 3, 0, w, 7), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(a, 3, 1, &bias, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(b, 3, 1, &bias, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_new(a, &sa), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_new(b, &sb), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_tokens(sa, 0, ids, 32, 9), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_tokens(sb, 0, ids, 32, 9), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(sa), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(sb), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(sa, 0, out_a, 32), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(sb, 0, out_b, 32), SEQNET_OK);
    ck_assert_int_eq(memcmp(out_a, out_b, sizeof out_a), 0);
    /* Training: Adam steps give the same table, bit for bit. */
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids, 32, 9), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 32, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_new(a, &ta), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_new(b, &tb), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(ta, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(tb, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(ta, SEQNET_TRAIN_LEARNING_RATE, 0.05), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(tb, SEQNET_TRAIN_LEARNING_RATE, 0.05), SEQNET_OK);
    for (step = 0; step < 4; step++) {
        ck_assert_int_eq(seqnet_trainer_train_batch(ta, d, NULL), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_train_batch(tb, d, NULL), SEQNET_OK);
    }
    ck_assert_int_eq(seqnet_model_get_weight(a, 1, 0, table_a, 280), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_get_weight(b, 1, 0, table_b, 280), SEQNET_OK);
    ck_assert_int_eq(memcmp(table_a, table_b, sizeof table_a), 0);
    seqnet_data_free(d);
    seqnet_trainer_free(ta);
    seqnet_trainer_free(tb);
    seqnet_session_free(sa);
    seqnet_session_free(sb);
    seqnet_model_free(a);
    seqnet_model_free(b);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(lstm_forget_gate_bias_starts_at_one)
{
    seqnet_context *ctx = ctx_new(1);
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    float bias[12];
    int i;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_sequence(g, 5, 2, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3);
    ck_assert_int_eq(add_layer(g, o, SEQNET_LAYER_LSTM, in, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_layer_n_weights(m, 1), 3);
    ck_assert_int_eq(seqnet_model_get_weight(m, 1, 2, bias, 12), SEQNET_OK);
    /* Keras gate order i, f, c, o: the forget slice is ones, the rest zeros. */
    for (i = 0; i < 12; i++)
        ck_assert_float_eq(bias[i], i >= 3 && i < 6 ? 1.0f : 0.0f);
    seqnet_model_free(m);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
}
END_TEST

static Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, versions_and_errors);
    tcase_add_test(tc, course_model_reports_keras_parameter_count);
    tcase_add_test(tc, functional_summary_shows_keras_input_shapes);
    tcase_add_test(tc, shape_errors_name_the_layer);
    tcase_add_test(tc, predict_matches_independent_forward);
    tcase_add_test(tc, training_learns_a_separable_problem);
    tcase_add_test(tc, sgd_step_matches_finite_differences_on_branching_graph);
    tcase_add_test(tc, same_seed_gives_bit_identical_training);
    tcase_add_test(tc, out_of_range_token_ids_are_errors);
    tcase_add_test(tc, non_finite_inputs_and_losses_are_reported);
    tcase_add_test(tc, callback_can_stop_training_early);
    tcase_add_test(tc, generator_data_trains_like_arrays);
    tcase_add_test(tc, threads_sharing_a_model_get_identical_results);
    tcase_add_test(tc, every_allocation_failure_is_reported_without_leaks);
    tcase_add_test(tc, fused_embedding_pooling_is_bit_identical_to_the_layers);
    tcase_add_test(tc, lstm_forget_gate_bias_starts_at_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(graph_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * tests/graph/test_stream.c -- step-by-step inference on recurrent models:
 * feeding a message token by token (or chunk by chunk) through a session
 * that carries state gives, after each chunk, exactly the whole-sequence
 * prediction over the tokens fed so far; stateful training carries state
 * across batches.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet/seqnet.h>

static seqnet_model *rnn_model(seqnet_context *ctx, int kind, int return_sequences)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 0, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 50);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 6);
    seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &in, 1, NULL, &x), SEQNET_OK);
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 8);
    seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, return_sequences);
    ck_assert_int_eq(seqnet_graph_add(g, kind, o, &x, 1, NULL, &x), SEQNET_OK);
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid");
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

static const int kinds[3] = {SEQNET_LAYER_SIMPLE_RNN, SEQNET_LAYER_LSTM, SEQNET_LAYER_GRU};

/* Whole-sequence predictions of every prefix, then the stream. */
START_TEST(step_by_step_equals_whole_sequence_bit_for_bit)
{
    enum { T = 23 };
    int32_t msg[T];
    int k, t, chunk;
    for (t = 0; t < T; t++)
        msg[t] = 1 + (t * 7 + 3) % 49;
    for (k = 0; k < 3; k++) {
        seqnet_context *ctx = NULL;
        seqnet_model *m;
        seqnet_session *whole = NULL, *stream = NULL;
        float prefix[T];
        ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
        seqnet_context_set_seed(ctx, (uint64_t)k + 3);
        m = rnn_model(ctx, kinds[k], 0);
        ck_assert_int_eq(seqnet_session_new(m, &whole), SEQNET_OK);
        ck_assert_int_eq(seqnet_session_new(m, &stream), SEQNET_OK);
        for (t = 1; t <= T; t++) {
            ck_assert_int_eq(seqnet_session_set_input_tokens(whole, 0, msg, 1, t), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(whole), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_get_output(whole, 0, &prefix[t - 1], 1), SEQNET_OK);
        }
        ck_assert_int_eq(seqnet_session_set_stateful(stream, 1), SEQNET_OK);
        for (chunk = 1; chunk <= 5; chunk += 2) {
            ck_assert_int_eq(seqnet_session_reset_states(stream), SEQNET_OK);
            for (t = 0; t < T; t += chunk) {
                int n = T - t < chunk ? T - t : chunk;
                float out;
                ck_assert_int_eq(seqnet_session_set_input_tokens(stream, 0, msg + t, 1, n),
                                 SEQNET_OK);
                ck_assert_int_eq(seqnet_session_run(stream), SEQNET_OK);
                ck_assert_int_eq(seqnet_session_get_output(stream, 0, &out, 1), SEQNET_OK);
                ck_assert_msg(out == prefix[t + n - 1],
                              "kind %d chunk %d after %d tokens: stream %.9g, whole %.9g",
                              kinds[k], chunk, t + n, out, prefix[t + n - 1]);
            }
        }
        /* A padded batch (post-padding, mask_zero) gives the same final answers. */
        {
            int32_t padded[3 * 30];
            float outs[3];
            int lens[3] = {T, 5, 17}, b;
            memset(padded, 0, sizeof padded);
            for (b = 0; b < 3; b++)
                memcpy(padded + b * 30, msg, (size_t)lens[b] * sizeof(int32_t));
            ck_assert_int_eq(seqnet_session_set_input_tokens(whole, 0, padded, 3, 30), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(whole), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_get_output(whole, 0, outs, 3), SEQNET_OK);
            for (b = 0; b < 3; b++)
                ck_assert_msg(fabsf(outs[b] - prefix[lens[b] - 1]) <= 1e-6f,
                              "kind %d padded row %d: %.9g vs %.9g", kinds[k], b, outs[b],
                              prefix[lens[b] - 1]);
        }
        /* Carried state needs a constant batch size. */
        ck_assert_int_eq(seqnet_session_set_input_tokens(stream, 0, msg, 1, 2), SEQNET_OK);
        ck_assert_int_eq(seqnet_session_run(stream), SEQNET_OK);
        {
            int32_t two[4] = {1, 2, 3, 4};
            ck_assert_int_eq(seqnet_session_set_input_tokens(stream, 0, two, 2, 2), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(stream), SEQNET_ESHAPE);
            ck_assert_int_eq(seqnet_session_reset_states(stream), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(stream), SEQNET_OK);
        }
        seqnet_session_free(whole);
        seqnet_session_free(stream);
        seqnet_model_free(m);
        seqnet_context_free(ctx);
    }
}
END_TEST

/* Stateful training (truncated BPTT): a stream cut into chunks trains with
 * the state carried between batches, and reset_states starts over. */
START_TEST(stateful_training_carries_state_between_batches)
{
    seqnet_context *ctx = NULL;
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    seqnet_session *s = NULL;
    int32_t in, x;
    float xs[2 * 10], ys[2 * 10], out_a[20], out_b[20];
    int i;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_sequence(g, 10, 1, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 4);
    seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, 1);
    seqnet_options_set_int(o, SEQNET_OPT_STATEFUL, 1);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_SIMPLE_RNN, o, &in, 1, NULL, &x), SEQNET_OK);
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_STATEFUL, 2);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_SIMPLE_RNN, o, &in, 1, NULL, &x),
                     SEQNET_EINVAL);
    for (i = 0; i < 20; i++) {
        xs[i] = sinf(0.3f * (float)i);
        ys[i] = sinf(0.3f * (float)(i + 1));
    }
    /* Inference: a stateful layer carries state from run to run. */
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_floats(s, 0, xs, 1, 10, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, out_a, 10), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, out_b, 10), SEQNET_OK);
    ck_assert_int_ne(memcmp(out_a, out_b, 10 * sizeof(float)), 0);
    ck_assert_int_eq(seqnet_session_reset_states(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, out_b, 10), SEQNET_OK);
    ck_assert_int_eq(memcmp(out_a, out_b, 10 * sizeof(float)), 0);
    /* Training in chunks: the loss falls. */
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_MEAN_SQUARED_ERROR), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, 0.02), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_SHUFFLE, 0), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, xs, 2, 10, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, ys, 2, 10, 1), SEQNET_OK);
    {
        double first, last;
        int epoch;
        for (epoch = 0; epoch < 60; epoch++) {
            ck_assert_int_eq(seqnet_trainer_reset_states(t), SEQNET_OK);
            ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
        }
        ck_assert_int_eq(seqnet_trainer_history_value(t, 0, 0, 0, &first), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_history_value(t, 59, 0, 0, &last), SEQNET_OK);
        ck_assert_msg(last < first * 0.5, "loss %g -> %g", first, last);
    }
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_session_free(s);
    seqnet_model_free(m);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("stream");
    TCase *tc = tcase_create("all");
    SRunner *sr;
    int failed;
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, step_by_step_equals_whole_sequence_bit_for_bit);
    tcase_add_test(tc, stateful_training_carries_state_between_batches);
    suite_add_tcase(su, tc);
    sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

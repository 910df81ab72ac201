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

/* encoder LSTM(return_state) -> (h, c) -> decoder LSTM(initial_state)
 * -> Dense, and the same with GRU; split sequences equal the whole. */
static seqnet_model *enc_dec(seqnet_context *ctx, int kind, int32_t units, int32_t t1, int32_t t2,
                             int32_t *in_ids)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t enc_in, dec_in, enc, h, c, dec, out, inputs[3];
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_sequence(g, t1, 2, "enc_in", &enc_in), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_sequence(g, t2, 2, "dec_in", &dec_in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, units);
    seqnet_options_set_int(o, SEQNET_OPT_RETURN_STATE, 1);
    ck_assert_int_eq(seqnet_graph_add(g, kind, o, &enc_in, 1, "encoder", &enc), SEQNET_OK);
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_STATE_INDEX, 0);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_RNN_STATE, o, &enc, 1, "h", &h), SEQNET_OK);
    inputs[0] = dec_in;
    inputs[1] = h;
    if (kind == SEQNET_LAYER_LSTM) {
        seqnet_options_set_int(o, SEQNET_OPT_STATE_INDEX, 1);
        ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_RNN_STATE, o, &enc, 1, "c", &c),
                         SEQNET_OK);
        inputs[2] = c;
    } else {
        /* Only an LSTM has a cell state. */
        seqnet_options_set_int(o, SEQNET_OPT_STATE_INDEX, 1);
        ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_RNN_STATE, o, &enc, 1, "c", &c),
                         SEQNET_ESHAPE);
    }
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, units);
    seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, 1);
    ck_assert_int_eq(seqnet_graph_add(g, kind, o, inputs, kind == SEQNET_LAYER_LSTM ? 3 : 2,
                                      "decoder", &dec),
                     SEQNET_OK);
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &dec, 1, "out", &out), SEQNET_OK);
    in_ids[0] = enc_in;
    in_ids[1] = dec_in;
    ck_assert_int_eq(seqnet_graph_compile(g, in_ids, 2, &out, 1, &m), SEQNET_OK);
    /* return_state is required to read a state. */
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, units);
    ck_assert_int_eq(seqnet_graph_add(g, kind, o, &enc_in, 1, "plain", &enc), SEQNET_OK);
    seqnet_options_clear(o);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_RNN_STATE, o, &enc, 1, NULL, &h),
                     SEQNET_ESHAPE);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

START_TEST(initial_state_and_return_state_split_a_sequence_exactly)
{
    int k;
    for (k = 0; k < 2; k++) {
        int kind = k == 0 ? SEQNET_LAYER_LSTM : SEQNET_LAYER_GRU;
        seqnet_context *ctx = NULL;
        seqnet_model *m;
        seqnet_session *s = NULL, *ref = NULL;
        int32_t ids[2], l, w;
        float x[3 * 9 * 2], out[3 * 4], whole[3 * 9];
        int i, b, t;
        ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
        m = enc_dec(ctx, kind, 5, 5, 4, ids);
        /* The decoder gets the encoder's weights: then encoder(5 steps) +
         * decoder(4 steps from its state) == one layer over all 9 steps. */
        {
            int32_t enc = seqnet_model_find_layer(m, "encoder");
            int32_t dec = seqnet_model_find_layer(m, "decoder");
            for (w = 0; w < seqnet_model_layer_n_weights(m, enc); w++) {
                float buf[512];
                int64_t count;
                ck_assert_int_eq(seqnet_model_weight_info(m, enc, w, NULL, NULL, NULL, &count),
                                 SEQNET_OK);
                ck_assert_int_eq(seqnet_model_get_weight(m, enc, w, buf, count), SEQNET_OK);
                ck_assert_int_eq(seqnet_model_set_weight(m, dec, w, buf, count), SEQNET_OK);
            }
        }
        for (i = 0; i < 3 * 9 * 2; i++)
            x[i] = sinf(0.37f * (float)i);
        ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
        {
            float enc_x[3 * 5 * 2], dec_x[3 * 4 * 2];
            for (b = 0; b < 3; b++) {
                memcpy(enc_x + b * 10, x + b * 18, 10 * sizeof(float));
                memcpy(dec_x + b * 8, x + b * 18 + 10, 8 * sizeof(float));
            }
            ck_assert_int_eq(seqnet_session_set_input_floats(s, 0, enc_x, 3, 5, 2), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_set_input_floats(s, 1, dec_x, 3, 4, 2), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_get_output(s, 0, out, 12), SEQNET_OK);
        }
        /* Reference: the decoder layer alone over all 9 steps, from zeros,
         * through a stream session on a one-layer model with its weights. */
        {
            seqnet_graph *g = NULL;
            seqnet_options *o = NULL;
            seqnet_model *one = NULL;
            int32_t in, r, d;
            ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
            ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
            ck_assert_int_eq(seqnet_graph_input_sequence(g, 9, 2, NULL, &in), SEQNET_OK);
            seqnet_options_set_int(o, SEQNET_OPT_UNITS, 5);
            seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, 1);
            ck_assert_int_eq(seqnet_graph_add(g, kind, o, &in, 1, NULL, &r), SEQNET_OK);
            seqnet_options_clear(o);
            seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
            ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &r, 1, NULL, &d),
                             SEQNET_OK);
            ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &d, 1, &one), SEQNET_OK);
            for (l = 1; l <= 2; l++) {
                int32_t src = seqnet_model_find_layer(m, l == 1 ? "decoder" : "out");
                for (w = 0; w < seqnet_model_layer_n_weights(one, l); w++) {
                    float buf[512];
                    int64_t count;
                    ck_assert_int_eq(seqnet_model_weight_info(one, l, w, NULL, NULL, NULL, &count),
                                     SEQNET_OK);
                    ck_assert_int_eq(seqnet_model_get_weight(m, src, w, buf, count), SEQNET_OK);
                    ck_assert_int_eq(seqnet_model_set_weight(one, l, w, buf, count), SEQNET_OK);
                }
            }
            ck_assert_int_eq(seqnet_session_new(one, &ref), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_set_input_floats(ref, 0, x, 3, 9, 2), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(ref), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_get_output(ref, 0, whole, 27), SEQNET_OK);
            for (b = 0; b < 3; b++)
                for (t = 0; t < 4; t++)
                    ck_assert_msg(fabsf(out[b * 4 + t] - whole[b * 9 + 5 + t]) <= 1e-6f,
                                  "kind %d b %d t %d: %.9g vs %.9g", kind, b, t,
                                  out[b * 4 + t], whole[b * 9 + 5 + t]);
            seqnet_session_free(ref);
            seqnet_model_free(one);
            seqnet_options_free(o);
            seqnet_graph_free(g);
        }
        seqnet_session_free(s);
        seqnet_model_free(m);
        seqnet_context_free(ctx);
    }
}
END_TEST

static double eval_loss(seqnet_trainer *t, seqnet_data *d)
{
    double logs[1];
    ck_assert_int_eq(seqnet_trainer_evaluate(t, d, logs, 1), SEQNET_OK);
    return logs[0];
}

/* Gradients through return_state and initial_state: one SGD step against
 * central differences, for every weight of the encoder and the decoder. */
START_TEST(gradients_flow_through_returned_and_initial_states)
{
    int k;
    for (k = 0; k < 2; k++) {
        int kind = k == 0 ? SEQNET_LAYER_LSTM : SEQNET_LAYER_GRU;
        seqnet_context *ctx = NULL;
        seqnet_model *m;
        seqnet_trainer *t = NULL;
        seqnet_data *d = NULL;
        int32_t ids[2], layer, w;
        float xe[2 * 3 * 2], xd[2 * 4 * 2], y[2 * 4];
        const double lr = 1e-3;
        int i, checked = 0;
        ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
        seqnet_context_set_seed(ctx, 77);
        m = enc_dec(ctx, kind, 3, 3, 4, ids);
        for (i = 0; i < 12; i++)
            xe[i] = cosf(0.7f * (float)i);
        for (i = 0; i < 16; i++)
            xd[i] = sinf(0.45f * (float)i);
        for (i = 0; i < 8; i++)
            y[i] = 0.3f * (float)(i % 3) - 0.2f;
        ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_MEAN_SQUARED_ERROR), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_set_optimizer(t, SEQNET_OPTIMIZER_SGD), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, lr), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_floats(d, 0, xe, 2, 3, 2), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_floats(d, 1, xd, 2, 4, 2), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 2, 4, 1), SEQNET_OK);
        for (layer = 0; layer < seqnet_model_n_layers(m); layer++) {
            for (w = 0; w < seqnet_model_layer_n_weights(m, layer); w++) {
                float before[256], after[256];
                int64_t count, e;
                ck_assert_int_eq(seqnet_model_weight_info(m, layer, w, NULL, NULL, NULL, &count),
                                 SEQNET_OK);
                ck_assert_int_eq(seqnet_model_get_weight(m, layer, w, before, count), SEQNET_OK);
                ck_assert_int_eq(seqnet_trainer_train_batch(t, d, NULL), SEQNET_OK);
                ck_assert_int_eq(seqnet_model_get_weight(m, layer, w, after, count), SEQNET_OK);
                ck_assert_int_eq(seqnet_model_set_weight(m, layer, w, before, count), SEQNET_OK);
                for (e = 0; e < count; e += 3) {
                    float probe[256];
                    double lp, lm, analytic = -((double)after[e] - before[e]) / lr, numeric;
                    const float eps = 1e-2f;
                    memcpy(probe, before, sizeof probe);
                    probe[e] = before[e] + eps;
                    seqnet_model_set_weight(m, layer, w, probe, count);
                    lp = eval_loss(t, d);
                    probe[e] = before[e] - eps;
                    seqnet_model_set_weight(m, layer, w, probe, count);
                    lm = eval_loss(t, d);
                    seqnet_model_set_weight(m, layer, w, before, count);
                    numeric = (lp - lm) / (2 * eps);
                    ck_assert_msg(fabs(analytic - numeric) <= 3e-3 + 3e-2 * fabs(numeric),
                                  "kind %d layer %d weight %d[%d]: analytic %g numeric %g", kind,
                                  (int)layer, (int)w, (int)e, analytic, numeric);
                    checked++;
                }
            }
        }
        ck_assert_int_gt(checked, 40);
        seqnet_data_free(d);
        seqnet_trainer_free(t);
        seqnet_model_free(m);
        seqnet_context_free(ctx);
    }
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
    tcase_add_test(tc, initial_state_and_return_state_split_a_sequence_exactly);
    tcase_add_test(tc, gradients_flow_through_returned_and_initial_states);
    suite_add_tcase(su, tc);
    sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

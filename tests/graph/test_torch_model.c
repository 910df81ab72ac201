/*
 * tests/graph/test_torch_model.c -- a whole model against PyTorch: the same
 * weights and batch must give the same predictions and loss, and three Adam
 * steps the same weights (golden file made by gen_torch_model_golden.py).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet/seqnet.h>

#ifndef GOLDEN
#define GOLDEN "model_torch.txt"
#endif

static double golden[16][64];
static int golden_n[16];
static char golden_name[16][32];
static int n_golden;

static void read_golden(void)
{
    FILE *f = fopen(GOLDEN, "r");
    char line[8192];
    ck_assert_msg(f != NULL, "cannot open %s", GOLDEN);
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = line, *end;
        int count, i;
        if (line[0] == '#')
            continue;
        ck_assert_int_lt(n_golden, 16);
        ck_assert_int_eq(sscanf(p, "%31s %d", golden_name[n_golden], &count), 2);
        ck_assert_int_le(count, 64);
        p = strchr(p, ' ') + 1;
        p = strchr(p, ' ');
        for (i = 0; i < count; i++) {
            golden[n_golden][i] = strtod(p, &end);
            ck_assert_ptr_ne(end, p);
            p = end;
        }
        golden_n[n_golden++] = count;
    }
    fclose(f);
}

static const double *get(const char *name, int count)
{
    int i;
    for (i = 0; i < n_golden; i++)
        if (strcmp(golden_name[i], name) == 0) {
            ck_assert_int_eq(golden_n[i], count);
            return golden[i];
        }
    ck_abort_msg("golden value %s missing", name);
    return NULL;
}

static void set_weight(seqnet_model *m, int32_t layer, int32_t w, const char *name, int count)
{
    const double *v = get(name, count);
    float buf[64];
    int i;
    for (i = 0; i < count; i++)
        buf[i] = (float)v[i];
    ck_assert_int_eq(seqnet_model_set_weight(m, layer, w, buf, count), SEQNET_OK);
}

static void expect_weight(const seqnet_model *m, int32_t layer, int32_t w, const char *name,
                          int count)
{
    const double *v = get(name, count);
    float buf[64];
    int i;
    ck_assert_int_eq(seqnet_model_get_weight(m, layer, w, buf, count), SEQNET_OK);
    for (i = 0; i < count; i++)
        ck_assert_msg(fabs(buf[i] - v[i]) <= 2e-5 + 2e-4 * fabs(v[i]),
                      "%s[%d]: seqnet %.9g, torch %.9g", name, i, buf[i], v[i]);
}

START_TEST(model_matches_pytorch_forward_loss_and_adam)
{
    seqnet_context *ctx = NULL;
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    seqnet_session *s = NULL;
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    int32_t in, x, ids[24];
    float y[4], pred[4];
    double logs[1];
    const double *gi, *gy, *gp;
    int i;
    read_golden();
    gi = get("ids", 24);
    gy = get("y", 4);
    for (i = 0; i < 24; i++)
        ids[i] = (int32_t)gi[i];
    for (i = 0; i < 4; i++)
        y[i] = (float)gy[i];
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 6, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 12);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4);
    seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &in, 1, NULL, &x), SEQNET_OK);
    seqnet_options_clear(o);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, o, &x, 1, NULL, &x),
                     SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 5);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu");
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid");
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    set_weight(m, 1, 0, "init_embeddings", 48);
    set_weight(m, 3, 0, "init_kernel1", 20);
    set_weight(m, 3, 1, "init_bias1", 5);
    set_weight(m, 4, 0, "init_kernel2", 5);
    set_weight(m, 4, 1, "init_bias2", 1);

    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_tokens(s, 0, ids, 4, 6), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, pred, 4), SEQNET_OK);
    gp = get("pred", 4);
    for (i = 0; i < 4; i++)
        ck_assert_msg(fabs(pred[i] - gp[i]) < 1e-6, "pred[%d] %.9g vs %.9g", i, pred[i], gp[i]);

    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_optimizer(t, SEQNET_OPTIMIZER_ADAM), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, 0.05), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPSILON, 1e-12), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids, 4, 6), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 4, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_evaluate(t, d, logs, 1), SEQNET_OK);
    ck_assert_msg(fabs(logs[0] - get("loss", 1)[0]) < 1e-6, "loss %.9g vs %.9g", logs[0],
                  get("loss", 1)[0]);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(seqnet_trainer_train_batch(t, d, NULL), SEQNET_OK);
    expect_weight(m, 1, 0, "adam3_embeddings", 48);
    expect_weight(m, 3, 0, "adam3_kernel1", 20);
    expect_weight(m, 3, 1, "adam3_bias1", 5);
    expect_weight(m, 4, 0, "adam3_kernel2", 5);
    expect_weight(m, 4, 1, "adam3_bias2", 1);

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
    Suite *su = suite_create("torch_model");
    TCase *tc = tcase_create("all");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, model_matches_pytorch_forward_loss_and_adam);
    suite_add_tcase(su, tc);
    sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * tests/io/make_fixtures.c -- writes the model-file fixtures that
 * test_io.c loads forever after: `make_fixtures DIR VERSION` writes
 * DIR/pooled_vVERSION.snm (+ .txt) and DIR/dense_vVERSION.snm (+ .txt).
 * The .txt holds the input and the expected outputs as hex floats.
 * Run it only when cutting a release; never overwrite old fixtures.
 */
#include <stdio.h>
#include <stdlib.h>

#include <seqnet/seqnet.h>

#define CHECK(call)                                                                  \
    do {                                                                             \
        int st_ = (call);                                                            \
        if (st_ != SEQNET_OK) {                                                      \
            fprintf(stderr, "%s failed: %s\n", #call, seqnet_strerror(st_));         \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static void write_files(seqnet_context *ctx, seqnet_model *m, const char *dir, const char *name,
                        const char *version, int is_tok, const int32_t *ids, const float *x,
                        int batch, int time, int feat)
{
    seqnet_saver *sv = NULL;
    seqnet_session *s = NULL;
    void *buf = NULL;
    size_t size = 0;
    char path[512];
    float out[64];
    int32_t ob, ot, of;
    int i, n_in = batch * (time > 0 ? time : 1) * (is_tok ? 1 : feat), n_out;
    FILE *f;
    CHECK(seqnet_saver_new(ctx, &sv));
    CHECK(seqnet_saver_set_model(sv, m));
    CHECK(seqnet_saver_write_alloc(sv, &buf, &size));
    snprintf(path, sizeof path, "%s/%s_v%s.snm", dir, name, version);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, size, f) != size || fclose(f) != 0)
        exit(1);
    CHECK(seqnet_session_new(m, &s));
    if (is_tok)
        CHECK(seqnet_session_set_input_tokens(s, 0, ids, batch, time));
    else
        CHECK(seqnet_session_set_input_floats(s, 0, x, batch, time, feat));
    CHECK(seqnet_session_run(s));
    CHECK(seqnet_session_output_shape(s, 0, &ob, &ot, &of));
    n_out = ob * (ot > 0 ? ot : 1) * of;
    CHECK(seqnet_session_get_output(s, 0, out, 64));
    snprintf(path, sizeof path, "%s/%s_v%s.txt", dir, name, version);
    f = fopen(path, "w");
    if (f == NULL)
        exit(1);
    fprintf(f, "%d %d %d %d %d\n", is_tok, batch, time, feat, n_in);
    for (i = 0; i < n_in; i++) {
        if (is_tok)
            fprintf(f, "%d ", ids[i]);
        else
            fprintf(f, "%a ", x[i]);
    }
    fprintf(f, "\n%d\n", n_out);
    for (i = 0; i < n_out; i++)
        fprintf(f, "%a\n", out[i]);
    fclose(f);
    seqnet_session_free(s);
    seqnet_free(buf);
    seqnet_saver_free(sv);
}

int main(int argc, char **argv)
{
    seqnet_context *ctx = NULL;
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x, ids[3 * 5] = {1, 2, 3, 0, 0, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0};
    float v[2 * 4] = {0.5f, -1.0f, 0.25f, 2.0f, -0.5f, 0.75f, 1.5f, -2.0f};
    if (argc != 3) {
        fprintf(stderr, "usage: make_fixtures DIR VERSION\n");
        return 2;
    }
    CHECK(seqnet_context_new(&ctx));
    CHECK(seqnet_context_set_seed(ctx, 2026));
    /* 1: the course's pooled embedding shape, small. */
    CHECK(seqnet_graph_new(ctx, &g));
    CHECK(seqnet_options_new(ctx, &o));
    CHECK(seqnet_graph_input_tokens(g, 0, NULL, &in));
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 10));
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4));
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1));
    CHECK(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &in, 1, NULL, &x));
    CHECK(seqnet_options_clear(o));
    CHECK(seqnet_graph_add(g, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, o, &x, 1, NULL, &x));
    CHECK(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.5));
    CHECK(seqnet_graph_add(g, SEQNET_LAYER_DROPOUT, o, &x, 1, NULL, &x));
    CHECK(seqnet_options_clear(o));
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 5));
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"));
    CHECK(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x));
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1));
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"));
    CHECK(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x));
    CHECK(seqnet_graph_compile(g, &in, 1, &x, 1, &m));
    write_files(ctx, m, argv[1], "pooled", argv[2], 1, ids, NULL, 3, 5, 1);
    seqnet_model_free(m);
    seqnet_graph_free(g);
    /* 2: vector input, Dense stack with softmax. */
    CHECK(seqnet_graph_new(ctx, &g));
    CHECK(seqnet_options_clear(o));
    CHECK(seqnet_graph_input_vector(g, 4, "features", &in));
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 6));
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "tanh"));
    CHECK(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &in, 1, NULL, &x));
    CHECK(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3));
    CHECK(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax"));
    CHECK(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x));
    CHECK(seqnet_graph_compile(g, &in, 1, &x, 1, &m));
    write_files(ctx, m, argv[1], "dense", argv[2], 0, NULL, v, 2, 0, 4);
    seqnet_model_free(m);
    seqnet_graph_free(g);
    seqnet_options_free(o);
    seqnet_context_free(ctx);
    return 0;
}

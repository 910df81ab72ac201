/*
 * lib/layers/bidirectional.c -- Bidirectional(layer, merge_mode='concat').
 *
 * The graph API has no nested layers, so the wrapper is one node of kind
 * SEQNET_LAYER_BIDIRECTIONAL: SEQNET_OPT_LAYER names the wrapped class
 * ("SimpleRNN", "LSTM", "GRU") and the wrapped layer's own options (units,
 * activation, return_sequences, ...) are given to the wrapper, as Keras's
 * Bidirectional copies them into its forward and backward layers.
 * SEQNET_OPT_MERGE_MODE: "concat" (default), "sum", "mul", "ave".
 *
 * Keras semantics:
 *  - the backward layer is the forward one with go_backwards flipped; its
 *    output sequence is reversed back into time order before merging;
 *  - with return_sequences, both inner layers output 0 at masked steps
 *    (Keras forces zero_output_for_mask = return_sequences on them);
 *  - weights: the forward layer's kernel, recurrent_kernel, bias, then the
 *    backward layer's (Keras's get_weights order).
 */
#include <string.h>

#include "layers/rnn_common.h"

typedef struct bidi_config {
    sn_rnn_config cell;     /* first member: sn_lstm_init_forget_bias reads it */
    sn_rnn_config back;     /* the backward layer: go_backwards flipped */
    int32_t merge;          /* enum sn_rnn_merge */
    int32_t n_cell_params;  /* 2 or 3 per direction */
} bidi_config;

static const int32_t bidi_allowed[] = {SEQNET_OPT_LAYER,
                                       SEQNET_OPT_MERGE_MODE,
                                       SEQNET_OPT_UNITS,
                                       SEQNET_OPT_ACTIVATION,
                                       SEQNET_OPT_RECURRENT_ACTIVATION,
                                       SEQNET_OPT_USE_BIAS,
                                       SEQNET_OPT_UNIT_FORGET_BIAS,
                                       SEQNET_OPT_RESET_AFTER,
                                       SEQNET_OPT_RETURN_SEQUENCES,
                                       SEQNET_OPT_GO_BACKWARDS,
                                       SEQNET_OPT_DROPOUT,
                                       SEQNET_OPT_RECURRENT_DROPOUT,
                                       SEQNET_OPT_TRAINABLE,
                                       0};

static int bidi_configure(sn_layer *L, sn_object *err)
{
    static const char *const merges[] = {"concat", "sum", "mul", "ave"};
    bidi_config *c = L->config;
    const char *inner = NULL, *merge = "concat";
    int32_t cell, m;
    int rc;

    if (sn_opts_string(&L->opts, SEQNET_OPT_LAYER, &inner) <= 0)
        return sn_error(err, SEQNET_EINVAL,
                        "layer '%s': Bidirectional needs the wrapped layer's class "
                        "(SEQNET_OPT_LAYER: \"SimpleRNN\", \"LSTM\" or \"GRU\")",
                        L->name);
    if (strcmp(inner, "SimpleRNN") == 0)
        cell = SN_CELL_SIMPLE;
    else if (strcmp(inner, "LSTM") == 0)
        cell = SN_CELL_LSTM;
    else if (strcmp(inner, "GRU") == 0)
        cell = SN_CELL_GRU;
    else
        return sn_error(err, SEQNET_EINVAL,
                        "layer '%s': Bidirectional wraps SimpleRNN, LSTM or GRU, not '%s'",
                        L->name, inner);
    /* Options the wrapped class does not take are errors, as for the layer itself. */
    if ((cell != SN_CELL_LSTM && sn_opts_find(&L->opts, SEQNET_OPT_UNIT_FORGET_BIAS)) ||
        (cell != SN_CELL_GRU && sn_opts_find(&L->opts, SEQNET_OPT_RESET_AFTER)) ||
        (cell == SN_CELL_SIMPLE && sn_opts_find(&L->opts, SEQNET_OPT_RECURRENT_ACTIVATION)))
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s does not take one of the options",
                        L->name, inner);
    if (sn_opts_string(&L->opts, SEQNET_OPT_MERGE_MODE, &merge) < 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': merge_mode must be a string",
                        L->name);
    for (m = 0; m < 4 && strcmp(merge, merges[m]) != 0; m++)
        ;
    if (m == 4)
        return sn_error(err, SEQNET_EINVAL,
                        "layer '%s': merge_mode must be concat, sum, mul or ave", L->name);
    if ((rc = sn_rnn_parse(L, cell, &c->cell, err)) != SEQNET_OK)
        return rc;
    c->back = c->cell;
    c->back.go_backwards = !c->cell.go_backwards;
    c->merge = m;
    c->n_cell_params = c->cell.use_bias ? 3 : 2;
    return SEQNET_OK;
}

static int bidi_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                      sn_object *err)
{
    const bidi_config *c = L->config;
    (void)n_in;
    return sn_rnn_infer_shape(L, &c->cell,
                              c->merge == SN_MERGE_CONCAT ? 2 * c->cell.units : c->cell.units,
                              in, out, err);
}

static int bidi_declare(sn_layer *L, sn_object *err)
{
    const bidi_config *c = L->config;
    int32_t in = L->in_shapes[0].features, n;
    (void)err;
    n = sn_rnn_declare(L, &c->cell, in, 0, "forward_");
    n += sn_rnn_declare(L, &c->back, in, n, "backward_");
    L->n_params = n;
    return SEQNET_OK;
}

/* Per-direction dout buffers for the merges other than concat. */
static size_t merge_floats(const bidi_config *c, int32_t batch, int32_t time, int training)
{
    if (!training || c->merge == SN_MERGE_CONCAT)
        return 0;
    return 2 * (size_t)batch * (size_t)(c->cell.return_sequences ? time : 1) *
           (size_t)c->cell.units;
}

static size_t bidi_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training)
{
    const bidi_config *c = L->config;
    int32_t time = in[0].time >= 1 ? in[0].time : 1;
    return SN_RNN_STAMP_BYTES + sn_rnn_scratch_bytes(&c->cell, batch, time, in[0].features,
                                                     training) +
           sn_rnn_scratch_bytes(&c->back, batch, time, in[0].features, training) +
           merge_floats(c, batch, time, training) * sizeof(float);
}

/* Both directions' runs over the layer's scratch; returns the merge buffer. */
static float *bind_both(const sn_exec *e, int training, sn_rnn_run *fw, sn_rnn_run *bw)
{
    const sn_layer *L = e->layer;
    const bidi_config *c = L->config;
    const sn_tensor *in = e->in[0];
    const int32_t np = c->n_cell_params;
    char *base = (char *)e->scratch + SN_RNN_STAMP_BYTES;
    size_t fw_bytes = sn_rnn_scratch_bytes(&c->cell, in->batch, in->time, in->features, training);
    size_t bw_bytes = sn_rnn_scratch_bytes(&c->back, in->batch, in->time, in->features, training);
    sn_rnn_run *runs[2];
    int32_t d;

    sn_rnn_bind(fw, &c->cell, base, in->batch, in->time, in->features, training);
    sn_rnn_bind(bw, &c->back, base + fw_bytes, in->batch, in->time, in->features, training);
    runs[0] = fw;
    runs[1] = bw;
    for (d = 0; d < 2; d++) {
        sn_rnn_run *r = runs[d];
        r->zero_output_mask = c->cell.return_sequences;
        r->kernel = e->params + L->params[d * np].offset;
        r->rkernel = e->params + L->params[d * np + 1].offset;
        r->bias = c->cell.use_bias ? e->params + L->params[d * np + 2].offset : NULL;
        r->x = in->x;
        r->mask = in->mask;
    }
    return (float *)(void *)(base + fw_bytes + bw_bytes);
}

/* The output row of a direction at output position pos: the forward
 * layer's in its processing order, the backward layer's flipped. */
static const float *dir_row(const sn_rnn_run *r, int32_t b, int32_t pos, int sequences,
                            int flip)
{
    if (!sequences)
        return r->states +
               ((size_t)(r->time - 1) * (size_t)r->batch + (size_t)b) * (size_t)r->units;
    return sn_rnn_output_row(r, b, flip ? r->time - 1 - pos : pos);
}

static int bidi_forward(sn_exec *e)
{
    const bidi_config *c = e->layer->config;
    const int seq = c->cell.return_sequences;
    size_t H = (size_t)c->cell.units, j;
    sn_rnn_run fw, bw;
    int32_t b, pos, n_pos;

    if (e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE, "layer '%s': no workspace", e->layer->name);
    bind_both(e, e->training, &fw, &bw);
    sn_rnn_stamp(e);
    sn_rnn_forward(&fw, e->rng);
    sn_rnn_forward(&bw, e->rng);
    n_pos = seq ? fw.time : 1;
    for (b = 0; b < fw.batch; b++) {
        for (pos = 0; pos < n_pos; pos++) {
            const float *yf = dir_row(&fw, b, pos, seq, 0), *yb = dir_row(&bw, b, pos, seq, 1);
            size_t row = (size_t)b * (size_t)n_pos + (size_t)pos;
            float *y = e->out->x + row * (size_t)e->out->features;
            switch (c->merge) {
            case SN_MERGE_CONCAT:
                memcpy(y, yf, H * sizeof *y);
                memcpy(y + H, yb, H * sizeof *y);
                break;
            case SN_MERGE_SUM:
                for (j = 0; j < H; j++)
                    y[j] = yf[j] + yb[j];
                break;
            case SN_MERGE_MUL:
                for (j = 0; j < H; j++)
                    y[j] = yf[j] * yb[j];
                break;
            default:
                for (j = 0; j < H; j++)
                    y[j] = 0.5f * (yf[j] + yb[j]);
                break;
            }
        }
    }
    if (seq && e->out->mask != NULL && e->in[0]->mask != NULL && e->out->mask != e->in[0]->mask)
        memcpy(e->out->mask, e->in[0]->mask, (size_t)e->out->batch * (size_t)e->out->time);
    return SEQNET_OK;
}

static int bidi_backward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const bidi_config *c = L->config;
    const int seq = c->cell.return_sequences;
    const int32_t np = c->n_cell_params;
    size_t H = (size_t)c->cell.units, j;
    float *grads[2][3] = {{NULL, NULL, NULL}, {NULL, NULL, NULL}};
    const float *d_fw = e->grad_out, *d_bw = e->grad_out + (c->merge == SN_MERGE_CONCAT ? H : 0);
    size_t ld = c->merge == SN_MERGE_CONCAT ? 2 * H : H;
    sn_rnn_run fw, bw;
    float *split;
    int32_t d, p, b, pos, n_pos;
    int st;

    if ((st = sn_rnn_stamp_check(e)) != SEQNET_OK)
        return st;
    split = bind_both(e, 1, &fw, &bw);
    if (e->grads != NULL)
        for (d = 0; d < 2; d++)
            for (p = 0; p < np; p++)
                grads[d][p] = e->grads + L->params[d * np + p].offset;

    if (c->merge != SN_MERGE_CONCAT && c->merge != SN_MERGE_SUM) {
        /* ave halves the gradient; mul routes it through the other direction. */
        n_pos = seq ? fw.time : 1;
        for (b = 0; b < fw.batch; b++) {
            for (pos = 0; pos < n_pos; pos++) {
                size_t row = (size_t)b * (size_t)n_pos + (size_t)pos;
                const float *g = e->grad_out + row * H;
                const float *yf = dir_row(&fw, b, pos, seq, 0), *yb = dir_row(&bw, b, pos, seq, 1);
                float *gf = split + row * H, *gb = split + ((size_t)fw.batch * n_pos + row) * H;
                for (j = 0; j < H; j++) {
                    gf[j] = c->merge == SN_MERGE_MUL ? g[j] * yb[j] : 0.5f * g[j];
                    gb[j] = c->merge == SN_MERGE_MUL ? g[j] * yf[j] : 0.5f * g[j];
                }
            }
        }
        d_fw = split;
        d_bw = split + (size_t)fw.batch * (size_t)n_pos * H;
    }
    sn_rnn_backward(&fw, d_fw, ld, seq, 0, grads[0][0], grads[0][1], grads[0][2], e->grad_in[0],
                    e->grad_in_accumulate[0]);
    sn_rnn_backward(&bw, d_bw, ld, seq, 1, grads[1][0], grads[1][1], grads[1][2], e->grad_in[0],
                    1);
    return SEQNET_OK;
}

const sn_layer_ops sn_bidirectional_ops = {
    .kind = SEQNET_LAYER_BIDIRECTIONAL,
    .class_name = "Bidirectional",
    .auto_name = "bidirectional",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_PRODUCE, /* the input's mask when returning sequences, else none */
    .config_size = sizeof(bidi_config),
    .allowed_opts = bidi_allowed,
    .configure = bidi_configure,
    .infer = bidi_infer,
    .declare_params = bidi_declare,
    .scratch_size = bidi_scratch,
    .forward = bidi_forward,
    .backward = bidi_backward,
    .post_init = sn_lstm_init_forget_bias,
};

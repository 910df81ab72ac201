/*
 * tests/layers/gradcheck.h -- run one layer outside a model, and check its
 * gradients against finite differences.
 *
 * A gc_harness builds an sn_layer straight from its ops table, options and
 * input shapes (configure, infer, declare_params, as the builder does),
 * allocates parameters, inputs, outputs, scratch and gradient buffers, and
 * fills parameters and inputs with seeded random values. Tests may then
 * overwrite any of them (h->params via gc_param, h->in_x[i]) and call
 * gc_forward / gc_backward, or run the whole check with gc_check.
 *
 * The check: loss = sum_k u_k y_k for random u (u_k = 0 on output steps the
 * output mask marks as padding, when asked), analytic gradients from one
 * backward, numeric ones from central differences in float32 with the loss
 * summed in double. Each element passes when
 *     |a - n| / max(|a|, |n|, floor) <= rtol.
 * An element that fails is retried with eps / 10 and eps / 100 (floor
 * scaled up alike, for the larger rounding noise); if it agrees there, a
 * kink (relu, selu, max, hard_sigmoid) lay within the first step and the
 * element counts as a kink, not a failure. If not, but the one-sided
 * differences disagree at least as much as a and n do (several kinks within
 * the step), it is a "weak" kink; more than 2 + max_kink_fraction of the
 * elements being weak kinks fails the check. The check also
 * proves the backward contract: dense parameter gradients are overwritten,
 * sparse ones are reported through row_flags / touched_rows exactly once per
 * row, and grad_in_accumulate = 1 adds to what grad_in held.
 *
 * The random stream given to the layer is reseeded before every forward, so
 * stochastic layers (Dropout) see the same draws in every evaluation.
 *
 * Later layers (Conv1D, LSTM, GRU, ...) reuse this unchanged.
 */
#ifndef SN_TEST_GRADCHECK_H
#define SN_TEST_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "layers/layer.h"

/* One input of the layer under test. */
typedef struct gc_input {
    sn_shape shape;       /* symbolic shape given to configure / infer / declare_params */
    int32_t time;         /* concrete steps at run time (ignored for vectors) */
    const float *x;       /* [batch, time, features] values, copied; NULL: uniform(-1, 1) */
    const int32_t *ids;   /* [batch, time] token ids, copied (shape.is_tokens) */
    const uint8_t *mask;  /* [batch, time] padding mask, copied; NULL for none */
} gc_input;

typedef struct gc_harness {
    sn_layer layer;
    sn_object err;        /* messages from the layer */
    int32_t batch;
    int training;
    uint64_t rng_seed;    /* the layer's stream is reseeded with this before each forward */
    sn_rng rng;

    int32_t n_inputs;
    sn_tensor in[SN_MAX_INPUTS];
    float *in_x[SN_MAX_INPUTS];       /* NULL for token inputs */
    int32_t *in_ids[SN_MAX_INPUTS];   /* NULL for float inputs */
    uint8_t *in_mask[SN_MAX_INPUTS];  /* NULL when unmasked */

    sn_shape out_shape;   /* concrete (run-time) output shape */
    sn_tensor out;
    uint8_t *out_mask_buf; /* SN_MASK_PRODUCE only */

    float *params;        /* all parameters, packed at layer.params[p].offset */
    float *grads;         /* same layout */
    size_t n_param_floats;
    int32_t sparse_param; /* index of the sparse_rows parameter, or -1 */
    uint8_t *row_flags;
    int32_t *touched_rows;
    int32_t n_touched;

    float *grad_out;      /* [out size] */
    float *grad_in[SN_MAX_INPUTS]; /* NULL for token inputs */
    void *scratch;
    size_t scratch_bytes;
} gc_harness;

/* Option list builders for tests (abort the test on overflow by returning -1). */
void gc_opts_init(sn_opts *o);
int gc_opts_int(sn_opts *o, int key, int64_t value);
int gc_opts_float(sn_opts *o, int key, double value);
int gc_opts_string(sn_opts *o, int key, const char *value);

/* Deterministic test values: x[k] uniform in (-scale, scale) from seed. */
void gc_fill_uniform(float *x, size_t n, float scale, uint64_t seed);

/* Shapes. */
sn_shape gc_vector(int32_t features);
sn_shape gc_sequence(int32_t time, int32_t features); /* time 0: variable */
sn_shape gc_tokens(int32_t time);

/*
 * Build a layer and its buffers. Returns SEQNET_OK or the layer's error code
 * (configure / infer / declare_params), with the message in h->err.errmsg.
 * gc_free must be called in both cases.
 */
int gc_build(gc_harness *h, const sn_layer_ops *ops, const sn_opts *opts,
             const gc_input *inputs, int32_t n_inputs, int32_t batch, int training,
             uint64_t seed);
void gc_free(gc_harness *h);

/* Parameter p's values and gradient in the packed buffers. */
float *gc_param(gc_harness *h, int p);
float *gc_param_grad(gc_harness *h, int p);
/* Total parameter count (Keras's count_params for this layer). */
int64_t gc_param_count(const gc_harness *h);
/* Element count of the output. */
size_t gc_out_size(const gc_harness *h);

/* One forward pass (rng reseeded). Returns the layer's status. */
int gc_forward(gc_harness *h);
/* One backward pass from grad_out (NULL: h->grad_out). Sparse row tracking
 * is reset first. accumulate applies to every float input. */
int gc_backward(gc_harness *h, const float *grad_out, int accumulate);

typedef struct gc_options {
    double eps;        /* step; default 1e-3 */
    double rtol;       /* default 1e-2 */
    double floor;      /* denominator floor; default 1e-2, i.e. an absolute slack of
                          rtol * floor = 1e-4: float32 rounding of the outputs alone
                          makes central differences with eps 1e-3 wander by a few 1e-5 */
    int check_inputs;  /* default 1 */
    int check_params;  /* default 1 */
    int skip_masked_outputs; /* default 1: the loss ignores padding steps of the output */
    double max_kink_fraction; /* weak kinks allowed: default 0.05 (plus 2 elements) */
} gc_options;

typedef struct gc_result {
    int n_checked;
    int n_failed;
    int n_kinks;      /* mismatches explained by a kink within the step */
    int n_weak_kinks; /* ... of which the smaller step did not confirm (limited) */
    double max_err;   /* over the passing smooth elements and the failures */
    char message[SN_ERRMSG_SIZE + 128]; /* the first failure, or a summary */
} gc_result;

void gc_default_options(gc_options *o);
/* Run the whole check. Returns 1 when everything passes, else 0 with
 * r->message describing the first problem. o may be NULL for defaults. */
int gc_check(gc_harness *h, const gc_options *o, gc_result *r);

#endif /* SN_TEST_GRADCHECK_H */

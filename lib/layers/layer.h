/*
 * lib/layers/layer.h -- the one internal interface every layer implements.
 *
 * The graph builder, the executor (sessions) and the trainer know layers only
 * through this header. A layer file (dense.c, embedding.c, ...) defines one
 * `const sn_layer_ops` table and the functions it points to; it knows
 * nothing about the trainer or the file format.
 *
 * Data layout: float32, row-major [batch, time, features]. A vector tensor
 * has time == 1 at run time and shape time == SN_TIME_VECTOR symbolically.
 * A padding mask is uint8 [batch, time], 1 for a real step, 0 for padding;
 * a NULL mask means every step is real.
 */
#ifndef SN_LAYER_H
#define SN_LAYER_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/sn_core.h"
#include "seqnet/graph.h"

#define SN_MAX_INPUTS 16
#define SN_MAX_PARAMS 8
#define SN_MAX_OPTS 32
#define SN_NAME_MAX 64
#define SN_OPT_STR_MAX 64

/* Symbolic time values (as the public API reports them). */
#define SN_TIME_VECTOR (-1)
#define SN_TIME_VARIABLE 0

typedef struct sn_shape {
    int32_t time;     /* SN_TIME_VECTOR, SN_TIME_VARIABLE, or a fixed length >= 1 */
    int32_t features; /* last dimension (1 for token ids) */
    int8_t is_tokens; /* int32 ids instead of floats */
    int8_t masked;    /* a padding mask travels with this tensor */
} sn_shape;

/* ---- options: the raw key/value list a layer was built from ------------- */
enum { SN_OPT_INT = 1, SN_OPT_FLOAT = 2, SN_OPT_STRING = 3 };

typedef struct sn_opt {
    int32_t key;
    int32_t type;
    int64_t i;
    double f;
    char s[SN_OPT_STR_MAX];
} sn_opt;

typedef struct sn_opts {
    int32_t n;
    sn_opt items[SN_MAX_OPTS];
} sn_opts;

/* Typed getters. Each returns 1 and writes *out when the key is present and
 * convertible (an int is accepted where a float is asked), 0 when absent.
 * A present value of the wrong type returns -1. */
int sn_opts_int(const sn_opts *o, int key, int64_t *out);
int sn_opts_float(const sn_opts *o, int key, double *out);
int sn_opts_string(const sn_opts *o, int key, const char **out);
const sn_opt *sn_opts_find(const sn_opts *o, int key);

/* ---- parameters --------------------------------------------------------- */
enum sn_init {
    SN_INIT_ZEROS = 0,
    SN_INIT_ONES = 1,
    SN_INIT_GLOROT_UNIFORM = 2,  /* limit sqrt(6/(fan_in+fan_out)); fans as Keras computes them */
    SN_INIT_UNIFORM_005 = 3,     /* Keras Embedding default: uniform(-0.05, 0.05) */
    SN_INIT_ORTHOGONAL = 4,      /* Keras recurrent kernels */
    SN_INIT_CONSTANT = 5         /* every element = init_value */
};

typedef struct sn_param {
    char name[32];      /* Keras's weight name: "kernel", "bias", "embeddings", ... */
    int32_t rank;       /* 1..4 */
    int64_t dims[4];    /* Keras's layout */
    int64_t count;      /* product of dims */
    int64_t offset;     /* into the model's parameter block (set by the builder) */
    int32_t init;       /* enum sn_init */
    float init_value;   /* for SN_INIT_CONSTANT */
    int8_t trainable;   /* 0 for moving statistics and frozen layers */
    int8_t sparse_rows; /* gradient touches only some rows (Embedding): see sn_exec */
} sn_param;

/* ---- the layer instance (part of a compiled model) ---------------------- */
typedef struct sn_layer_ops sn_layer_ops;

typedef struct sn_layer {
    const sn_layer_ops *ops;
    int32_t kind;
    char name[SN_NAME_MAX];
    int32_t n_inputs;
    int32_t inputs[SN_MAX_INPUTS];     /* node ids */
    sn_shape in_shapes[SN_MAX_INPUTS];
    sn_shape out_shape;
    sn_opts opts;                      /* as given (kept for summaries and files) */
    void *config;                      /* ops->config_size bytes, filled by configure */
    int32_t n_params;
    sn_param params[SN_MAX_PARAMS];
    int8_t trainable;
    uint64_t seed;                     /* per-layer random stream (dropout) */
} sn_layer;

/* ---- run-time tensors --------------------------------------------------- */
typedef struct sn_tensor {
    float *x;            /* [batch, time, features], NULL for token tensors */
    const int32_t *ids;  /* [batch, time] for token tensors */
    uint8_t *mask;       /* [batch, time] or NULL (no padding) */
    int32_t batch;
    int32_t time;        /* 1 for vectors */
    int32_t features;
} sn_tensor;

/* What a layer sees in one forward or backward call. */
typedef struct sn_exec {
    const sn_layer *layer;
    const float *params;   /* the model's parameter block: param p at params + layer->params[p].offset */
    float *grads;          /* same layout; NULL in inference or when the layer is frozen.
                              backward OVERWRITES its dense parameter gradients */
    /* For a param with sparse_rows (one per layer at most): */
    uint8_t *row_flags;    /* [rows]: all 0 before backward; set 1 for every row touched */
    int32_t *touched_rows; /* list of touched rows, appended to */
    int32_t *n_touched;    /* 0 before backward */
    uint8_t *rows_finite;  /* NULL, or set by backward: 1 when it proved every row gradient
                              it wrote finite (see SN_ROWS_FINITE_BOUND), else 0 */

    int32_t n_inputs;
    const sn_tensor *in[SN_MAX_INPUTS];
    sn_tensor *out;        /* x (and mask for SN_MASK_PRODUCE) buffers provided, sized */

    /* backward only */
    const float *grad_out;             /* [batch, out time, out features] */
    float *grad_in[SN_MAX_INPUTS];     /* NULL when input i needs no gradient (tokens, inputs) */
    int grad_in_accumulate[SN_MAX_INPUTS]; /* 1: add into grad_in[i]; 0: overwrite it */

    void *scratch;         /* ops->scratch_size bytes, kept from forward to backward */
    /* Carried recurrent state (layers with ops->state_size): when state_in
     * is not NULL the sequence starts from it instead of zeros; when
     * state_out is not NULL the final state is written there (they may be
     * the same buffer). [batch, state_size] floats; NULL when not carried. */
    const float *state_in;
    float *state_out;
    /* backward: the gradient of the final state written to state_out
     * ([batch, state_size]), or NULL when nothing read it. */
    const float *state_grad;
    int training;          /* dropout and batch statistics on */
    sn_rng *rng;           /* the layer's random stream for this call (training) */
    sn_object *err;        /* where to put a message on failure */
} sn_exec;

/* How a layer treats the padding mask of its (first) input. */
enum sn_mask_mode {
    SN_MASK_PASS = 0,     /* output carries input 0's mask unchanged (executor aliases it) */
    SN_MASK_PRODUCE = 1,  /* layer writes out->mask (executor gives a buffer) when out_shape.masked */
    SN_MASK_CONSUME = 2,  /* layer uses the mask; output has none (pooling over time) */
    SN_MASK_REFUSE = 3    /* a masked input is a build-time SEQNET_ESHAPE error */
};

struct sn_layer_ops {
    int32_t kind;               /* SEQNET_LAYER_* */
    const char *class_name;     /* Keras class name: "Dense" */
    const char *auto_name;      /* Keras automatic name stem: "dense" */
    int32_t min_inputs, max_inputs;
    int32_t mask_mode;          /* enum sn_mask_mode */
    size_t config_size;
    const int32_t *allowed_opts; /* 0-terminated list of SEQNET_OPT_* keys */

    /* Parse and validate options into L->config. SEQNET_EINVAL on a bad value. */
    int (*configure)(sn_layer *L, sn_object *err);
    /* Output shape from input shapes; pure. Called at build time with
     * symbolic times and at run time with concrete ones (time >= 1, vectors
     * as SN_TIME_VECTOR). SEQNET_ESHAPE with a message naming L->name. */
    int (*infer)(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out, sn_object *err);
    /* Fill L->n_params / L->params (name, rank, dims, count, init, trainable)
     * from L->in_shapes. NULL for layers without weights. */
    int (*declare_params)(sn_layer *L, sn_object *err);
    /* Bytes of scratch kept between forward and backward for a batch with
     * these concrete input shapes; NULL for none. */
    size_t (*scratch_size)(const sn_layer *L, int32_t batch, const sn_shape *in, int training);
    int (*forward)(sn_exec *e);
    /* NULL for layers that never need backward (none in practice). */
    int (*backward)(sn_exec *e);
    /* Optional: called by the trainer after each optimizer step, with the
     * scratch of that step's forward pass, for state that is not learned by
     * gradients (BatchNormalization's moving statistics). */
    void (*after_step)(const sn_layer *L, float *params, const void *scratch);
    /* Optional: floats of recurrent state per sample that a session can
     * carry from one run to the next (stateful layers, step-by-step
     * inference); NULL or 0 when the layer has none. */
    int32_t (*state_size)(const sn_layer *L);
    /* Optional: called once after the builder's initializers have filled the
     * layer's weights, for initial values a whole-tensor initializer cannot
     * express (the LSTM forget-gate bias of unit_forget_bias). */
    void (*post_init)(const sn_layer *L, float *params);
};

/* The registry: ops for a kind, or NULL when this version lacks it. */
const sn_layer_ops *sn_layer_ops_for_kind(int32_t kind);

/* Embedding -> GlobalAveragePooling1D fused (embedding_pool.c): the
 * executor calls these instead of the two layers when the embedding output
 * feeds only the pooling. Bit-identical to the unfused pair. */
int sn_embedding_avgpool_forward(const sn_layer *emb, const float *params, const sn_tensor *ids,
                                 sn_tensor *out, sn_object *err);
int sn_embedding_avgpool_backward(const sn_layer *emb, float *grads, const sn_tensor *ids,
                                  const float *grad_out, uint8_t *row_flags, int32_t *touched,
                                  int32_t *n_touched, uint8_t *rows_finite, sn_object *err);
/* The same work in parts that threads can share (the executor does, given
 * a pool). forward_range: the samples [b0, b1), each checked for ids out of
 * range before it is read; returns -1, or the flat index of the first bad id
 * (the samples before it are done), which bad_id turns into the error.
 * backward_rows: the table rows in [lo, hi) only; it scans every step in
 * the batch's order and so sums each row's terms in the order of the whole
 * (bit-identical however the rows are divided). It lists the rows it
 * flagged first in new_rows and returns their count: in the order first
 * seen, or ascending when sorted is set, which needs every flag in [lo, hi)
 * clear on entry. backward_bound: the rows_finite flag of the whole batch
 * (SN_ROWS_FINITE_BOUND). */
int64_t sn_embedding_avgpool_forward_range(const sn_layer *emb, const float *params,
                                           const sn_tensor *ids, sn_tensor *out, int32_t b0,
                                           int32_t b1);
int sn_embedding_avgpool_bad_id(const sn_layer *emb, const sn_tensor *ids, int64_t at,
                                sn_object *err);
int32_t sn_embedding_avgpool_backward_rows(const sn_layer *emb, float *d_table,
                                           const sn_tensor *ids, const float *grad_out,
                                           uint8_t *row_flags, int32_t lo, int32_t hi,
                                           int32_t *new_rows, int sorted);
int sn_embedding_avgpool_backward_bound(const sn_layer *emb, const float *grad_out,
                                        int32_t batch);

/*
 * A row-sparse gradient is a sum of float terms, one per use of the row. If
 * the terms' magnitudes add up (in double) to at most this bound, no partial
 * sum can overflow: rounding grows a sum of k terms by at most (1 + 2^-24)^k,
 * under 11x for k below 4e7 uses, and 11 * 1e37 < FLT_MAX. A layer that checks
 * this while it accumulates spares the trainer a pass over every touched row
 * to look for NaN or infinity. NaN terms fail the comparison.
 */
#define SN_ROWS_FINITE_BOUND 1e37

/* The largest |x[i]| as a double, or infinity when one x[i] is NaN or
 * infinite. On the bit patterns, with the sign cleared, integer order is
 * magnitude order, NaN and infinity sort above every finite value, and an
 * integer max vectorizes where a float max or sum would not. */
static inline double sn_abs_max(const float *x, size_t n)
{
    uint32_t top = 0, u;
    float f;
    size_t i;
    for (i = 0; i < n; i++) {
        memcpy(&u, x + i, sizeof u);
        u &= 0x7fffffffu;
        top = u > top ? u : top;
    }
    if (top >= 0x7f800000u)
        return HUGE_VAL;
    memcpy(&f, &top, sizeof f);
    return (double)f;
}

/* SEQNET_LAYER_RNN_STATE (rnn_state.c): which state it reads (0 h, 1 c),
 * and the build-time check of the recurrent node it reads. */
int sn_rnn_state_index(const sn_layer *L);
int sn_rnn_state_check(const sn_layer *producer, const sn_layer *L, sn_object *err);

/* Helpers shared by layers. */
/* Set a build-time shape error naming the layer. Returns SEQNET_ESHAPE. */
int sn_layer_shape_error(const sn_layer *L, sn_object *err, const char *what);
/* Store a gradient: dst = src (accumulate 0) or dst += src (accumulate 1). */
void sn_grad_store(float *dst, const float *src, size_t n, int accumulate);
/* Element count of a run-time tensor. */
static inline size_t sn_tensor_size(const sn_tensor *t)
{
    return (size_t)t->batch * (size_t)t->time * (size_t)t->features;
}

#endif /* SN_LAYER_H */

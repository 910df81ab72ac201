/*
 * lib/graph/graph_internal.h -- graph, model and session internals shared by
 * the builder, the executor, the summary, the trainer and (later) the file
 * format. Layers never include this: they see only layers/layer.h.
 */
#ifndef SN_GRAPH_INTERNAL_H
#define SN_GRAPH_INTERNAL_H

#include "core/sn_core.h"
#include "core/sn_threads.h"
#include "layers/layer.h"
#include "seqnet/graph.h"
#include "seqnet/model.h"

/* Dimension limits: keep every size product far from overflow and every
 * BLAS int argument valid. */
#define SN_MAX_DIM (1 << 28)
#define SN_MAX_NODES 4096

struct seqnet_options {
    sn_object obj;
    sn_opts opts;
};

/* A node is a layer; input nodes have ops == NULL and kind 0. */
struct seqnet_graph {
    sn_object obj;
    uint64_t seed;
    int32_t n_nodes;
    int32_t cap;
    sn_layer *nodes;
};

struct seqnet_model {
    sn_object obj;
    uint64_t seed;
    int32_t n_layers;
    sn_layer *layers;        /* topological order; inputs included */
    int32_t n_inputs;
    int32_t *inputs;         /* layer indices of the model inputs, in feed order */
    int32_t n_outputs;
    int32_t *outputs;        /* layer indices of the outputs */
    int64_t n_params;        /* floats in params */
    float *params;           /* every weight, one block */
    int64_t n_trainable;
    int64_t n_non_trainable;
    int is_chain;            /* every layer reads only the layer before it */
    int params_borrowed;     /* params point into a host buffer (SEQNET_LOAD_BORROW) */
};

/* Per-node run-time state of a session. */
typedef struct sn_node_state {
    sn_tensor t;             /* current value (views into x / mask below, or host arrays) */
    sn_shape shape;          /* concrete shape of the last run */
    float *x;
    size_t x_cap;            /* floats */
    uint8_t *mask;
    size_t mask_cap;
    float *grad;
    size_t grad_cap;
    void *scratch;
    size_t scratch_cap;
    int grad_written;
    float *state;            /* recurrent final state [state_batch, state_size]: carried
                                between runs, read by SEQNET_LAYER_RNN_STATE nodes */
    size_t state_cap;
    int32_t state_batch;
    int state_valid;         /* carried state is live (a reset makes the next run start at 0) */
    float *state_grad;       /* gradient of that final state, backward */
    size_t state_grad_cap;
    int state_grad_written;
    sn_tensor state_view;    /* what an RNN_STATE node reads: one state of this node */
} sn_node_state;

typedef struct sn_feed {
    const int32_t *ids;
    const float *x;
    const int32_t *lengths;
    int32_t batch, time, features;
    int fed;
} sn_feed;

struct seqnet_session {
    sn_object obj;
    const seqnet_model *model;
    sn_node_state *nodes;
    /* Fusions found when the session was made: fused_from[j] is the
     * Embedding that pooling node j reads directly from the table (-1 if
     * none); skipped[i] marks that Embedding, which then never runs alone. */
    int32_t *fused_from;
    uint8_t *skipped;
    sn_feed *feeds;          /* one per model input */
    int32_t batch;           /* of the last run */
    int ran;
    int carry;               /* carry every recurrent layer's state between runs */
    uint64_t stream;         /* 0, or the slice of a batch split over threads: its
                              * dropout draws come from a stream of their own */
    /* Threads lent by a trainer (sn_session_set_pool; NULL: the calling
     * thread only). The fused embedding-pool runs on them: forward by
     * samples, backward by table rows, bit-identical to one thread. */
    sn_pool *pool;
    int32_t pool_n;
    int32_t *row_scratch;    /* backward by rows: each thread's new rows */
    size_t row_scratch_cap;
};

/* ---- internal entry points ---- */
/* Initialise a layer from kind/options/inputs and infer its shape: used by
 * the builder and by the model loader. L->name must be set; inputs given as
 * shapes. Allocates L->config. */
int sn_layer_setup(sn_layer *L, int32_t kind, const sn_opts *opts, const sn_shape *in,
                   int32_t n_in, const sn_alloc *a, sn_object *err);
void sn_layer_release(sn_layer *L, const sn_alloc *a);
/* Fill the parameter block with Keras's initializers from the seed. */
int sn_model_init_params(seqnet_model *m, uint64_t seed, sn_object *err);

/* Executor (session.c). */
int sn_session_forward(seqnet_session *s, int training, uint64_t step);
/* Backward from output gradients already in nodes[output].grad (with
 * grad_written set). grads: parameter gradients block. sparse state per
 * layer index: row_flags[l], touched[l], n_touched[l] (NULL arrays when the
 * layer has no sparse param), and rows_finite[l] (NULL, or set by the layer:
 * see SN_ROWS_FINITE_BOUND in layers/layer.h). */
int sn_session_backward(seqnet_session *s, float *grads, uint8_t **row_flags,
                        int32_t **touched, int32_t *n_touched, uint8_t *rows_finite,
                        const uint8_t *frozen);
/* Make sure the grad buffer of a node is sized; returns it or NULL. */
float *sn_session_grad_buffer(seqnet_session *s, int32_t node, size_t count);
/* Lend the session a pool of n workers (the caller is worker 0), or take
 * it back (pool NULL). The session must then not itself run on one of the
 * pool's workers inside a job of that pool. */
void sn_session_set_pool(seqnet_session *s, sn_pool *pool, int32_t n);
/* Reset grad_written flags before a backward pass. */
void sn_session_clear_grads(seqnet_session *s);

#endif /* SN_GRAPH_INTERNAL_H */

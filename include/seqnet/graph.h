/*
 * seqnet/graph.h -- the graph builder: inputs, layers, options, compile.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * A graph is built node by node. Every node is identified by an int32 id
 * returned by the call that made it; a layer takes the ids of earlier nodes
 * as its inputs, so chains and multi-branch graphs (parallel kernels merged
 * by concatenation, residual additions) are both expressible, and insertion
 * order is always a valid execution order. Shapes are checked as each node
 * is added: a mismatch fails at once with the layer's name in the message
 * (seqnet_errmsg(graph)).
 *
 * Tensors are float32, row-major [batch, time, features]; a "vector" node
 * has no time axis ([batch, features]); a token input holds int32 ids
 * [batch, time]. The batch size is never part of a shape: it is whatever
 * the host feeds at run time. A time length of 0 when declaring an input
 * means "variable": it is fixed by the data of each call.
 *
 * Layers follow Keras: the same names, arguments, defaults and initializers
 * (glorot_uniform kernels, zero biases, uniform(-0.05, 0.05) embeddings).
 * Arguments are given through a seqnet_options object with typed setters
 * keyed by the SEQNET_OPT_* ids below; an option a layer does not take is an
 * error (SEQNET_EUNSUPPORTED), never silently ignored.
 *
 * Threads: a graph and an options object are used by one thread at a time.
 */
#ifndef SEQNET_GRAPH_H
#define SEQNET_GRAPH_H

#include "seqnet/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The graph builder. Opaque. @since 0.1.0 */
typedef struct seqnet_graph seqnet_graph;
/** A set of layer arguments (key -> typed value). Opaque. @since 0.1.0 */
typedef struct seqnet_options seqnet_options;
/** A compiled model (see model.h). Opaque. @since 0.1.0 */
typedef struct seqnet_model seqnet_model;

/** Layer kinds. Values are pinned (they are stored in model files). */
enum seqnet_layer_kind {
    SEQNET_LAYER_DENSE = 1,              /**< Dense(units, activation, use_bias); on a sequence it applies to every step */
    SEQNET_LAYER_ACTIVATION = 2,         /**< Activation(activation) */
    SEQNET_LAYER_DROPOUT = 3,            /**< Dropout(rate, seed): inverted dropout, training only */
    SEQNET_LAYER_EMBEDDING = 4,          /**< Embedding(input_dim, output_dim, mask_zero) on token ids */
    SEQNET_LAYER_FLATTEN = 5,            /**< Flatten(): [time, f] -> [time*f]; needs a fixed time; refuses masks */
    SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D = 6, /**< GlobalAveragePooling1D(): mean over unmasked steps */
    SEQNET_LAYER_GLOBAL_MAX_POOLING1D = 7,     /**< GlobalMaxPooling1D(): max over unmasked steps */
    /* 20..39: convolutions, merges, normalization (issue: convolutions) */
    SEQNET_LAYER_CONV1D = 20,
    SEQNET_LAYER_MAX_POOLING1D = 21,
    SEQNET_LAYER_AVERAGE_POOLING1D = 22,
    SEQNET_LAYER_CONCATENATE = 23,
    SEQNET_LAYER_ADD = 24,
    SEQNET_LAYER_SUBTRACT = 25,
    SEQNET_LAYER_MULTIPLY = 26,
    SEQNET_LAYER_AVERAGE = 27,
    SEQNET_LAYER_HIGHWAY = 28,
    SEQNET_LAYER_BATCH_NORMALIZATION = 29,
    SEQNET_LAYER_LAYER_NORMALIZATION = 30,
    /* 40..59: recurrent layers (issue: recurrent networks) */
    SEQNET_LAYER_SIMPLE_RNN = 40,
    SEQNET_LAYER_LSTM = 41,
    SEQNET_LAYER_GRU = 42,
    SEQNET_LAYER_BIDIRECTIONAL = 43,
    SEQNET_LAYER_TIME_DISTRIBUTED = 44,
    /** The final state of a recurrent layer built with return_state = 1
     *  (Keras's `output, h, c = LSTM(..., return_state=True)(x)`): one input,
     *  the recurrent node; SEQNET_OPT_STATE_INDEX picks h (0) or, for an
     *  LSTM, c (1); output [units]. @since 0.1.0 */
    SEQNET_LAYER_RNN_STATE = 45
};

/** Option keys. Values are pinned (they are stored in model files). */
enum seqnet_option_key {
    SEQNET_OPT_UNITS = 1,          /**< int: Dense units */
    SEQNET_OPT_ACTIVATION = 2,     /**< string: "linear" (default), "relu", "sigmoid", "tanh",
                                        "softmax", "hard_sigmoid", "elu", "selu", "softplus", "gelu" */
    SEQNET_OPT_USE_BIAS = 3,       /**< int 0/1, default 1 */
    SEQNET_OPT_RATE = 4,           /**< float: Dropout rate in [0, 1) */
    SEQNET_OPT_INPUT_DIM = 5,      /**< int: Embedding vocabulary size (ids 0..input_dim-1) */
    SEQNET_OPT_OUTPUT_DIM = 6,     /**< int: Embedding vector size */
    SEQNET_OPT_MASK_ZERO = 7,      /**< int 0/1, default 0: id 0 masks its step downstream */
    SEQNET_OPT_SEED = 8,           /**< int: Dropout seed (default: derived from the context seed) */
    SEQNET_OPT_TRAINABLE = 9,      /**< int 0/1, default 1: whether the layer's weights are trained */
    /* 20..: later layers */
    SEQNET_OPT_FILTERS = 20,
    SEQNET_OPT_KERNEL_SIZE = 21,
    SEQNET_OPT_STRIDES = 22,
    SEQNET_OPT_PADDING = 23,       /**< string: "valid", "same", "causal" */
    SEQNET_OPT_DILATION_RATE = 24,
    SEQNET_OPT_POOL_SIZE = 25,
    SEQNET_OPT_AXIS = 26,
    SEQNET_OPT_MOMENTUM = 27,
    SEQNET_OPT_EPSILON = 28,
    SEQNET_OPT_CENTER = 29,
    SEQNET_OPT_SCALE = 30,
    SEQNET_OPT_GATE_BIAS = 31,
    SEQNET_OPT_RECURRENT_ACTIVATION = 40,
    SEQNET_OPT_RETURN_SEQUENCES = 41,
    SEQNET_OPT_RETURN_STATE = 42,
    SEQNET_OPT_GO_BACKWARDS = 43,
    SEQNET_OPT_STATEFUL = 44,
    SEQNET_OPT_UNIT_FORGET_BIAS = 45,
    SEQNET_OPT_DROPOUT = 46,
    SEQNET_OPT_RECURRENT_DROPOUT = 47,
    SEQNET_OPT_RESET_AFTER = 48,
    SEQNET_OPT_MERGE_MODE = 49,
    /** string: the class Bidirectional wraps, "SimpleRNN", "LSTM" or "GRU"
        (required by SEQNET_LAYER_BIDIRECTIONAL, whose other options are the
        wrapped layer's: units, activation, return_sequences, ...). @since 0.1.0 */
    SEQNET_OPT_LAYER = 50,
    /** int: which state SEQNET_LAYER_RNN_STATE returns: 0 = h, 1 = c (LSTM). @since 0.1.0 */
    SEQNET_OPT_STATE_INDEX = 51
};

/* ---- options ------------------------------------------------------------ */

/**
 * Create an empty options object.
 * @param ctx  borrowed; its allocator is used.
 * @param out  receives the object.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_options_new(seqnet_context *ctx, seqnet_options **out);
/** Free an options object; NULL is a no-op. @since 0.1.0 */
SEQNET_API void seqnet_options_free(seqnet_options *opts);
/** Remove every value (reuse the object for the next layer). @since 0.1.0 */
SEQNET_API int seqnet_options_clear(seqnet_options *opts);
/**
 * Set an integer option (replaces an earlier value of the same key).
 * @return SEQNET_OK, SEQNET_EINVAL (NULL), SEQNET_EUNSUPPORTED (unknown key),
 *         SEQNET_ENOMEM. @since 0.1.0
 */
SEQNET_API int seqnet_options_set_int(seqnet_options *opts, int key, int64_t value);
/** Set a floating-point option. Errors as seqnet_options_set_int. @since 0.1.0 */
SEQNET_API int seqnet_options_set_float(seqnet_options *opts, int key, double value);
/**
 * Set a string option. @param value  copied; UTF-8, at most 63 bytes.
 * Errors as seqnet_options_set_int, plus SEQNET_ETOOBIG. @since 0.1.0
 */
SEQNET_API int seqnet_options_set_string(seqnet_options *opts, int key, const char *value);

/* ---- the graph ---------------------------------------------------------- */

/**
 * Create an empty graph.
 * @param ctx  borrowed; must outlive the graph. Its allocator and seed are used.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_graph_new(seqnet_context *ctx, seqnet_graph **out);
/** Free a graph; NULL is a no-op. Models compiled from it stay valid. @since 0.1.0 */
SEQNET_API void seqnet_graph_free(seqnet_graph *graph);

/**
 * Add an input of int32 token ids, shape [time].
 * @param time  fixed length, or 0 for variable length.
 * @param name  copied; NULL for an automatic name ("input_1", ...).
 * @param node  receives the node id.
 * @return SEQNET_OK, SEQNET_EINVAL (negative time, duplicate name), SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_graph_input_tokens(seqnet_graph *graph, int32_t time,
                                                          const char *name, int32_t *node);
/**
 * Add an input of float sequences, shape [time, features] (time 0 = variable).
 * Errors as seqnet_graph_input_tokens (features must be >= 1). @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_graph_input_sequence(seqnet_graph *graph, int32_t time,
                                                            int32_t features, const char *name,
                                                            int32_t *node);
/**
 * Add an input of float vectors, shape [features].
 * Errors as seqnet_graph_input_tokens. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_graph_input_vector(seqnet_graph *graph, int32_t features,
                                                          const char *name, int32_t *node);

/**
 * Add a layer node.
 *
 * Recurrent layers (SimpleRNN, LSTM, GRU) take their initial state as
 * optional extra inputs, Keras's `initial_state`: vector nodes of width
 * `units`, h for SimpleRNN and GRU, h then c for an LSTM; gradients flow
 * into them.
 *
 * @param kind      a SEQNET_LAYER_* value.
 * @param opts      the layer's arguments; borrowed (read during the call);
 *                  NULL means all defaults. Unknown or inapplicable keys
 *                  fail with SEQNET_EUNSUPPORTED.
 * @param inputs    ids of earlier nodes; borrowed. Most layers take one;
 *                  merge layers take two or more.
 * @param n_inputs  number of ids.
 * @param name      copied; NULL for Keras's automatic name ("dense",
 *                  "dense_1", ...). Names are unique within a graph.
 * @param node      receives the new node's id.
 * @return SEQNET_OK; SEQNET_EINVAL (bad id, bad option value, duplicate name);
 *         SEQNET_EUNSUPPORTED (unknown kind or option, or a layer that this
 *         version does not implement yet); SEQNET_ESHAPE (input shapes do not
 *         fit the layer, including a mask the layer cannot honour);
 *         SEQNET_ENOMEM. The message names the layer.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_graph_add(seqnet_graph *graph, int kind,
                                                 const seqnet_options *opts,
                                                 const int32_t *inputs, int32_t n_inputs,
                                                 const char *name, int32_t *node);

/** Number of nodes added so far (inputs included); 0 for NULL. @since 0.1.0 */
SEQNET_API int32_t seqnet_graph_n_nodes(const seqnet_graph *graph);

/**
 * The symbolic output shape of a node.
 * @param time      receives -1 for a vector node (no time axis), 0 for a
 *                  variable time, else the fixed length.
 * @param features  receives the last dimension.
 * @param is_tokens receives 1 for int32 token ids, else 0.
 * @param masked    receives 1 when the node carries a padding mask.
 * Any out pointer may be NULL.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE (bad node). @since 0.1.0
 */
SEQNET_API int seqnet_graph_node_shape(const seqnet_graph *graph, int32_t node, int32_t *time,
                                       int32_t *features, int *is_tokens, int *masked);

/**
 * Compile a graph into a model with freshly initialized weights (random
 * streams from the context seed: same seed, same weights).
 *
 * @param inputs, n_inputs    the input nodes, in the order the host will feed
 *                            them; borrowed.
 * @param outputs, n_outputs  the output nodes; borrowed.
 * @param out                 receives the model (see model.h). The model
 *                            copies what it needs: the graph may be freed.
 * @return SEQNET_OK; SEQNET_EINVAL (an input id is not an input node, an
 *         output is not reachable from the given inputs, duplicates);
 *         SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_graph_compile(seqnet_graph *graph,
                                                     const int32_t *inputs, int32_t n_inputs,
                                                     const int32_t *outputs, int32_t n_outputs,
                                                     seqnet_model **out);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_GRAPH_H */

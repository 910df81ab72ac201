/*
 * seqnet/model.h -- compiled models, weights, summaries, sessions, predict.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * A seqnet_model holds the compiled graph and its parameters. While it is
 * used for inference it is read-only: any number of threads may share one
 * model, each running its own seqnet_session (activations, scratch space).
 * Results do not depend on how many threads share the model. Weights change
 * only through seqnet_model_set_weight() and a seqnet_trainer (train.h);
 * neither may run while other threads use the model.
 *
 * Running a session: feed every model input (set_input_*), run, read the
 * outputs. Input arrays are borrowed until seqnet_session_run() returns.
 * The session sizes its buffers for the largest batch and time it has seen
 * and reuses them: after the first call with a given size, a run allocates
 * nothing.
 */
#ifndef SEQNET_MODEL_H
#define SEQNET_MODEL_H

#include "seqnet/core.h"
#include "seqnet/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Per-thread inference state for one model. Opaque. @since 0.1.0 */
typedef struct seqnet_session seqnet_session;

/** Free a model; NULL is a no-op. Its sessions and trainers must be freed first. @since 0.1.0 */
SEQNET_API void seqnet_model_free(seqnet_model *model);

/** Number of model inputs (0 for NULL). @since 0.1.0 */
SEQNET_API int32_t seqnet_model_n_inputs(const seqnet_model *model);
/** Number of model outputs (0 for NULL). @since 0.1.0 */
SEQNET_API int32_t seqnet_model_n_outputs(const seqnet_model *model);

/**
 * Shape of model input number `index` (as seqnet_graph_node_shape: time -1
 * for vectors, 0 for variable). Any out pointer may be NULL.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE. @since 0.1.0
 */
SEQNET_API int seqnet_model_input_shape(const seqnet_model *model, int32_t index, int32_t *time,
                                        int32_t *features, int *is_tokens);
/** Shape of model output number `index`; see seqnet_model_input_shape. @since 0.1.0 */
SEQNET_API int seqnet_model_output_shape(const seqnet_model *model, int32_t index, int32_t *time,
                                         int32_t *features);

/**
 * Parameter counts as Keras reports them.
 * @param trainable, non_trainable  receive the counts; either may be NULL.
 * @return the total count, or -1 for NULL. @since 0.1.0
 */
SEQNET_API int64_t seqnet_model_count_params(const seqnet_model *model, int64_t *trainable,
                                             int64_t *non_trainable);

/**
 * A Keras-style summary: one row per layer (name and class, output shape,
 * parameter count, and for merge layers what it is connected to), then the
 * total, trainable and non-trainable counts.
 * @param out  receives a NUL-terminated UTF-8 string; transferred: free it
 *             with seqnet_free().
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_model_summary(const seqnet_model *model, char **out);

/* ---- layers and weights ------------------------------------------------- */

/** Number of layers (inputs included, in graph order). @since 0.1.0 */
SEQNET_API int32_t seqnet_model_n_layers(const seqnet_model *model);
/** Index of the layer with this name, or -1. @since 0.1.0 */
SEQNET_API int32_t seqnet_model_find_layer(const seqnet_model *model, const char *name);
/** Name of layer `layer` (owned by the model), or NULL. @since 0.1.0 */
SEQNET_API const char *seqnet_model_layer_name(const seqnet_model *model, int32_t layer);
/** Kind (SEQNET_LAYER_*) of a layer; 0 for inputs, -1 for a bad index. @since 0.1.0 */
SEQNET_API int seqnet_model_layer_kind(const seqnet_model *model, int32_t layer);
/** Number of weight tensors of a layer, in Keras's get_weights() order. @since 0.1.0 */
SEQNET_API int32_t seqnet_model_layer_n_weights(const seqnet_model *model, int32_t layer);

/**
 * Describe weight `weight` of layer `layer` in Keras's layout (a Dense
 * kernel is [in, out], an Embedding [input_dim, output_dim]).
 * @param name   receives a string owned by the model ("kernel", "bias",
 *               "embeddings", ...); may be NULL.
 * @param rank   receives the number of dimensions (1..4); may be NULL.
 * @param dims   receives rank dimensions; room for 4; may be NULL.
 * @param count  receives the number of floats; may be NULL.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE. @since 0.1.0
 */
SEQNET_API int seqnet_model_weight_info(const seqnet_model *model, int32_t layer, int32_t weight,
                                        const char **name, int32_t *rank, int64_t *dims,
                                        int64_t *count);
/**
 * Copy a weight tensor out, row-major in Keras's layout.
 * @param dst    caller buffer of `count` floats.
 * @param count  must equal the tensor's size (SEQNET_ESHAPE otherwise).
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE, SEQNET_ESHAPE. @since 0.1.0
 */
SEQNET_API int seqnet_model_get_weight(const seqnet_model *model, int32_t layer, int32_t weight,
                                       float *dst, int64_t count);
/**
 * Replace a weight tensor (copied from src). Not while other threads use
 * the model. Non-finite values are refused (SEQNET_ENONFINITE).
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE, SEQNET_ESHAPE,
 *         SEQNET_ENONFINITE. @since 0.1.0
 */
SEQNET_API int seqnet_model_set_weight(seqnet_model *model, int32_t layer, int32_t weight,
                                       const float *src, int64_t count);

/* ---- sessions ----------------------------------------------------------- */

/**
 * Create a session on a model. Thread-safe with respect to the model: many
 * threads may create sessions on one model at once (the allocator hooks
 * must then be thread-safe).
 * @param model  borrowed; must outlive the session.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_session_new(const seqnet_model *model, seqnet_session **out);
/** Free a session; NULL is a no-op. @since 0.1.0 */
SEQNET_API void seqnet_session_free(seqnet_session *session);

/**
 * Feed a token-id input for the next run.
 * @param input  model input index.
 * @param ids    [batch, time] row-major int32; borrowed until run returns.
 *               Ids must be in [0, input_dim) of the Embedding reading them
 *               (checked at run: SEQNET_ERANGE).
 * @param batch  >= 1.  @param time  >= 1; must equal the declared time if fixed.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE (bad input index, or not a
 *         token input), SEQNET_ESHAPE. @since 0.1.0
 */
SEQNET_API int seqnet_session_set_input_tokens(seqnet_session *session, int32_t input,
                                               const int32_t *ids, int32_t batch, int32_t time);
/**
 * Feed a float input: [batch, features] for a vector input (pass time 0),
 * [batch, time, features] row-major for a sequence input.
 * @param x  borrowed until run returns. NaN or infinity in x fails the run
 *           with SEQNET_ENONFINITE.
 * @return as seqnet_session_set_input_tokens. @since 0.1.0
 */
SEQNET_API int seqnet_session_set_input_floats(seqnet_session *session, int32_t input,
                                               const float *x, int32_t batch, int32_t time,
                                               int32_t features);
/**
 * Feed explicit lengths for a sequence input (a padding mask): steps at and
 * beyond lengths[b] are masked (post-padding); negative lengths -n mean
 * pre-padding (the first T-n steps are masked). Pass NULL to clear.
 * @param lengths  [batch] int32, borrowed until run returns.
 * @since 0.1.0
 */
SEQNET_API int seqnet_session_set_input_lengths(seqnet_session *session, int32_t input,
                                                const int32_t *lengths, int32_t batch);
/**
 * Run the model on the fed inputs (inference mode: no dropout).
 * @return SEQNET_OK; SEQNET_ESTATE (an input was not fed); SEQNET_ESHAPE
 *         (batch sizes of the inputs differ); SEQNET_ERANGE (token id out
 *         of range); SEQNET_ENONFINITE (a NaN or infinity in an input, or an
 *         output that overflowed: no output is then readable);
 *         SEQNET_ENOMEM (growing buffers).
 *         The session's message says which input or layer failed.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_session_run(seqnet_session *session);
/**
 * Shape of output `index` after the last run: batch, time (0 for a vector
 * output) and features. Any out pointer may be NULL.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE, SEQNET_ESTATE (no run yet).
 * @since 0.1.0
 */
SEQNET_API int seqnet_session_output_shape(const seqnet_session *session, int32_t index,
                                           int32_t *batch, int32_t *time, int32_t *features);
/**
 * Copy output `index` of the last run into dst.
 * @param count  capacity of dst in floats; must be at least batch*time*features.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE, SEQNET_ESTATE, SEQNET_EBUFFER.
 * @since 0.1.0
 */
SEQNET_API int seqnet_session_get_output(const seqnet_session *session, int32_t index,
                                         float *dst, int64_t count);
/**
 * Borrow a pointer to output `index` of the last run: valid until the next
 * run or the session's free. NULL on error. @since 0.1.0
 */
SEQNET_API const float *seqnet_session_output(const seqnet_session *session, int32_t index);

/* ---- recurrent state: stateful runs and step-by-step inference ---------- */

/**
 * Carry the state of every recurrent layer (SimpleRNN, LSTM, GRU) from one
 * run to the next. This is step-by-step inference: feed a message one token
 * (or one chunk) per run and read the output after each run; it equals,
 * bit for bit, the whole-sequence prediction over the tokens fed so far
 * with the same batch size (inference computes each step's products
 * separately, so results do not depend on how the steps were chunked). Layers built with
 * SEQNET_OPT_STATEFUL = 1 carry their state whatever this setting.
 * Turning it on or off resets the states.
 * @param on  1 to carry state, 0 for independent runs (the default).
 * @return SEQNET_OK, SEQNET_EINVAL. While state is carried the batch size
 *         must stay the same: a run with another batch size fails with
 *         SEQNET_ESHAPE until seqnet_session_reset_states.
 * @since 0.1.0
 */
SEQNET_API int seqnet_session_set_stateful(seqnet_session *session, int on);
/**
 * Forget every carried recurrent state: the next run starts from zeros
 * (Keras's reset_states). @return SEQNET_OK, SEQNET_EINVAL. @since 0.1.0
 */
SEQNET_API int seqnet_session_reset_states(seqnet_session *session);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_MODEL_H */

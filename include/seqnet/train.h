/*
 * seqnet/train.h -- data sets, losses, metrics, optimizers, fit / evaluate.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * A seqnet_trainer trains one model in place: it owns the gradients, the
 * optimizer state, a training session and the history. It mutates the
 * model's weights, so no other thread may use that model while a trainer
 * step runs. One thread drives a trainer.
 *
 * Reductions follow Keras: each sample's loss is the mean over its output
 * elements (and over its unmasked steps for sequence outputs); the batch
 * loss is sum(sample_weight * sample_loss) / batch_size. The course's "sum
 * over steps, mean over the mini-batch" is selectable with
 * SEQNET_TRAIN_LOSS_REDUCTION = SEQNET_REDUCTION_SUM_OVER_STEPS.
 *
 * A training step that produces a non-finite loss or gradient stops fit
 * with SEQNET_ENONFINITE before the weights are updated, so the model keeps
 * the last finite weights. A finite gradient whose update overflows (the
 * weights or the optimizer state) also gives SEQNET_ENONFINITE: the step is
 * undone when the weight is dense; for an Embedding's row-sparse update the
 * message says the weights are no longer usable (since 0.1.0).
 */
#ifndef SEQNET_TRAIN_H
#define SEQNET_TRAIN_H

#include "seqnet/core.h"
#include "seqnet/graph.h"
#include "seqnet/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A data set: borrowed host arrays, or a host batch generator. Opaque. @since 0.1.0 */
typedef struct seqnet_data seqnet_data;
/** Trains one model. Opaque. @since 0.1.0 */
typedef struct seqnet_trainer seqnet_trainer;

/** Losses (pinned values). */
enum seqnet_loss {
    SEQNET_LOSS_BINARY_CROSSENTROPY = 1,            /**< on probabilities (after a sigmoid); Keras clips to [1e-7, 1-1e-7] */
    SEQNET_LOSS_BINARY_CROSSENTROPY_FROM_LOGITS = 2, /**< on logits, numerically stable */
    SEQNET_LOSS_CATEGORICAL_CROSSENTROPY = 3,       /**< one-hot targets, probabilities (softmax output) */
    SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 4, /**< integer class targets (stored as float), probabilities */
    SEQNET_LOSS_MEAN_SQUARED_ERROR = 5,
    SEQNET_LOSS_MEAN_ABSOLUTE_ERROR = 6,
    SEQNET_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS = 7,
    SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS = 8
};

/** Metrics (pinned values). */
enum seqnet_metric {
    SEQNET_METRIC_BINARY_ACCURACY = 1,      /**< prediction > 0.5 equals target (threshold 0.5) */
    SEQNET_METRIC_CATEGORICAL_ACCURACY = 2, /**< argmax(prediction) == argmax(target) */
    SEQNET_METRIC_SPARSE_CATEGORICAL_ACCURACY = 3, /**< argmax(prediction) == target */
    SEQNET_METRIC_MEAN_SQUARED_ERROR = 4,
    SEQNET_METRIC_MEAN_ABSOLUTE_ERROR = 5
};

/** Optimizers (pinned values), with Keras's defaults. */
enum seqnet_optimizer {
    SEQNET_OPTIMIZER_SGD = 1,     /**< learning_rate 0.01, momentum 0, nesterov 0 */
    SEQNET_OPTIMIZER_ADAM = 2,    /**< learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7 */
    SEQNET_OPTIMIZER_RMSPROP = 3, /**< learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7 */
    SEQNET_OPTIMIZER_ADAGRAD = 4  /**< learning_rate 0.001, initial_accumulator_value 0.1, epsilon 1e-7 */
};

/** Loss reductions (pinned values). */
enum seqnet_reduction {
    SEQNET_REDUCTION_MEAN = 0,            /**< Keras: mean over elements and steps, then over the batch */
    SEQNET_REDUCTION_SUM_OVER_STEPS = 1   /**< sum over steps, mean over the samples of the batch */
};

/** Trainer parameters for seqnet_trainer_set_param (pinned values). */
enum seqnet_train_param {
    SEQNET_TRAIN_LEARNING_RATE = 1,
    SEQNET_TRAIN_MOMENTUM = 2,        /**< SGD and RMSprop */
    SEQNET_TRAIN_NESTEROV = 3,        /**< SGD: 0 or 1 */
    SEQNET_TRAIN_BETA_1 = 4,          /**< Adam */
    SEQNET_TRAIN_BETA_2 = 5,          /**< Adam */
    SEQNET_TRAIN_EPSILON = 6,         /**< Adam, RMSprop, Adagrad */
    SEQNET_TRAIN_RHO = 7,             /**< RMSprop */
    SEQNET_TRAIN_INITIAL_ACCUMULATOR_VALUE = 8, /**< Adagrad */
    SEQNET_TRAIN_BATCH_SIZE = 20,     /**< default 32 */
    SEQNET_TRAIN_EPOCHS = 21,         /**< default 1 */
    SEQNET_TRAIN_SHUFFLE = 22,        /**< default 1: reshuffle before each epoch */
    SEQNET_TRAIN_SEED = 23,           /**< shuffling and dropout seed; default: the context seed */
    SEQNET_TRAIN_VALIDATION_SPLIT = 24, /**< fraction in [0, 1) taken from the end of the training data, before shuffling (as Keras) */
    /* Gradient clipping, as Keras 3 applies it: one rule per step, clipnorm
     * first, else global_clipnorm, else clipvalue; clipnorm and
     * global_clipnorm cannot both be set (SEQNET_EINVAL). 0 = off. */
    SEQNET_TRAIN_CLIPVALUE = 30,      /**< clip each gradient element to [-v, v] */
    SEQNET_TRAIN_CLIPNORM = 31,       /**< rescale each gradient tensor to norm <= v */
    SEQNET_TRAIN_GLOBAL_CLIPNORM = 32, /**< rescale all gradients to global norm <= v */
    SEQNET_TRAIN_LOSS_REDUCTION = 40, /**< a seqnet_reduction value */
    /**
     * Threads that train (default 1: the calling thread only; at most 64).
     * With N > 1 the trainer starts N - 1 threads of its own at the first
     * training step that uses them and stops them in seqnet_trainer_free
     * (or when this is set again). Each step then splits its mini-batch
     * into N slices of consecutive rows, runs forward, loss and backward of
     * the slices at once (one session per slice), and adds the slices'
     * gradients, weighted by their share of the loss's denominator, before
     * the one optimizer step. For embeddings (row-sparse weights) that
     * merge and the optimizer's row update also run on the threads, each
     * on its own part of the table. The arithmetic is that of one thread
     * up to rounding: results are deterministic for a given N, but not
     * bit-identical to N = 1. Dropout draws from one stream per slice.
     *
     * A model whose sequence work is all in Embedding layers read only by
     * a GlobalAveragePooling1D (the pooled-embedding model), and outweighs
     * its other layers' weights, is not split: each step shares its work
     * instead, the embedding's lookup
     * and mean by samples, its gradient and the row update by table rows,
     * and the rest on the calling thread. Its results, dropout included,
     * are then those of one thread, bit for bit; evaluate shares its
     * batches the same way.
     *
     * Steps stay on one thread when splitting would change what is
     * computed: models with BatchNormalization (batch statistics) or a
     * stateful recurrent layer (state per batch row), MEAN reduction over
     * several outputs with losses, and batches of one row.
     *
     * seqnet_trainer_evaluate (and so fit's validation) splits each batch
     * the same way (forward and loss only, in inference mode), under the
     * same conditions: its loss is that of one thread up to rounding and
     * its accuracies are equal. Prediction (seqnet_session_predict) is not
     * split: run one session per thread.
     *
     * With N > 1: the allocator hooks are called from the trainer's threads
     * (they must be thread-safe), and the BLAS library should run one
     * thread per caller (OPENBLAS_NUM_THREADS=1), or its own pool competes
     * with these threads for the cores. @since 0.1.0
     */
    SEQNET_TRAIN_THREADS = 50
};

/** Callback events. */
enum seqnet_train_event {
    SEQNET_EVENT_BATCH_END = 1,
    SEQNET_EVENT_EPOCH_END = 2
};

/**
 * Training callback, called after every batch and every epoch.
 * @param user      the pointer given to seqnet_trainer_set_callback.
 * @param event     SEQNET_EVENT_BATCH_END or SEQNET_EVENT_EPOCH_END.
 * @param epoch     0-based epoch.
 * @param batch     0-based batch within the epoch (BATCH_END), or the number
 *                  of batches of the epoch (EPOCH_END).
 * @param n_batches batches per epoch, or -1 when a generator does not say.
 * @param logs      running means so far: loss, then each metric; at
 *                  EPOCH_END followed by val_loss and the val_ metrics when
 *                  there is validation data. Names: seqnet_trainer_log_name.
 * @param n_logs    number of values in logs.
 * @return 0 to go on; 1 to stop training cleanly after this batch or epoch
 *         (fit returns SEQNET_OK: early stopping); a negative value to abort
 *         (fit returns SEQNET_ECANCELED).
 */
typedef int (*seqnet_train_callback)(void *user, int event, int32_t epoch, int32_t batch,
                                     int32_t n_batches, const double *logs, int32_t n_logs);

/**
 * Host batch generator for data sets larger than memory. Called to fill
 * `batch` (an empty seqnet_data the trainer owns) with the next batch by
 * seqnet_data_set_* calls pointing at host memory that stays valid until
 * the generator's next call.
 * @return 1 when a batch was produced, 0 at the end of the epoch, a
 *         negative value on failure (fit then returns SEQNET_EIO).
 */
typedef int (*seqnet_batch_fn)(void *user, int32_t epoch, int64_t batch_index, seqnet_data *batch);

/* ---- data sets ---------------------------------------------------------- */

/** Create an empty data set. @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM. @since 0.1.0 */
SEQNET_API SEQNET_NODISCARD int seqnet_data_new(seqnet_context *ctx, seqnet_data **out);
/** Free a data set (not the host arrays it borrows); NULL is a no-op. @since 0.1.0 */
SEQNET_API void seqnet_data_free(seqnet_data *data);
/**
 * Point model input `input` at token ids [n_samples, time]; borrowed until
 * the data set is freed or changed. @return SEQNET_OK, SEQNET_EINVAL,
 * SEQNET_ERANGE (input >= 64), SEQNET_ESHAPE (n_samples differs from
 * arrays set before). @since 0.1.0
 */
SEQNET_API int seqnet_data_set_tokens(seqnet_data *data, int32_t input, const int32_t *ids,
                                      int64_t n_samples, int32_t time);
/** Point input `input` at floats [n_samples, time, features] (time 0 for vectors). @since 0.1.0 */
SEQNET_API int seqnet_data_set_floats(seqnet_data *data, int32_t input, const float *x,
                                      int64_t n_samples, int32_t time, int32_t features);
/**
 * Point output `output`'s targets at y [n_samples, time, width] (time 0 for
 * vector outputs). Sparse categorical targets are class indices stored as
 * floats, width 1; a sparse target of exactly -1 marks a sample or step to
 * ignore (other negative, fractional or non-finite classes fail with
 * SEQNET_ERANGE). A sample weight of 0 adds nothing. @since 0.1.0
 */
SEQNET_API int seqnet_data_set_targets(seqnet_data *data, int32_t output, const float *y,
                                       int64_t n_samples, int32_t time, int32_t width);
/** Per-sample weights [n_samples] (default all 1). @since 0.1.0 */
SEQNET_API int seqnet_data_set_sample_weights(seqnet_data *data, const float *weights,
                                              int64_t n_samples);
/**
 * Use a host generator instead of arrays (any arrays set are ignored).
 * @param fn  called during fit/evaluate; user is passed through, borrowed.
 * @since 0.1.0
 */
SEQNET_API int seqnet_data_set_generator(seqnet_data *data, seqnet_batch_fn fn, void *user);
/** Number of samples of the array data (-1 for generators or NULL). @since 0.1.0 */
SEQNET_API int64_t seqnet_data_n_samples(const seqnet_data *data);

/* ---- the trainer -------------------------------------------------------- */

/**
 * Create a trainer for `model` (mutated in place by training): loss not
 * set, Adam with Keras's defaults, batch size 32, 1 epoch, shuffle on.
 * @param model  borrowed; must outlive the trainer.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_trainer_new(seqnet_model *model, seqnet_trainer **out);
/** Free a trainer; NULL is a no-op. @since 0.1.0 */
SEQNET_API void seqnet_trainer_free(seqnet_trainer *trainer);
/**
 * Set the loss of model output `output` (a seqnet_loss value).
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE, SEQNET_EUNSUPPORTED. @since 0.1.0
 */
SEQNET_API int seqnet_trainer_set_loss(seqnet_trainer *trainer, int32_t output, int loss);
/** Add a metric (seqnet_metric) on output `output`. @since 0.1.0 */
SEQNET_API int seqnet_trainer_add_metric(seqnet_trainer *trainer, int32_t output, int metric);
/**
 * Choose the optimizer (seqnet_optimizer); resets its hyper-parameters to
 * Keras's defaults and its state (moments) to zero. @since 0.1.0
 */
SEQNET_API int seqnet_trainer_set_optimizer(seqnet_trainer *trainer, int optimizer);
/**
 * Set a seqnet_train_param. Values out of range give SEQNET_EINVAL; a
 * parameter the current optimizer does not have gives SEQNET_EUNSUPPORTED.
 * @since 0.1.0
 */
SEQNET_API int seqnet_trainer_set_param(seqnet_trainer *trainer, int param, double value);
/** Read a seqnet_train_param into *value. @since 0.1.0 */
SEQNET_API int seqnet_trainer_get_param(const seqnet_trainer *trainer, int param, double *value);
/** Install (or with fn NULL remove) the training callback. @since 0.1.0 */
SEQNET_API int seqnet_trainer_set_callback(seqnet_trainer *trainer, seqnet_train_callback fn,
                                           void *user);

/**
 * Train for the configured number of epochs.
 * @param train       borrowed; inputs for every model input, targets for
 *                    every output that has a loss.
 * @param validation  borrowed, may be NULL; evaluated after each epoch.
 *                    With SEQNET_TRAIN_VALIDATION_SPLIT > 0 and NULL here,
 *                    the last fraction of `train` is held out instead.
 * @return SEQNET_OK (also when a callback stopped training early);
 *         SEQNET_ESTATE (no loss set); SEQNET_ESHAPE (data does not fit the
 *         model); SEQNET_ERANGE (token id out of range); SEQNET_ENONFINITE
 *         (the loss or gradients became NaN/inf: weights keep their last
 *         finite values); SEQNET_ECANCELED; SEQNET_EIO (generator failed);
 *         SEQNET_ENOMEM. The history keeps every finished epoch.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_trainer_fit(seqnet_trainer *trainer, const seqnet_data *train,
                                                   const seqnet_data *validation);
/**
 * One optimizer step on one batch (all of `batch` at once), for explicit
 * online learning. @param loss  receives the batch loss; may be NULL.
 * @return as seqnet_trainer_fit. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_trainer_train_batch(seqnet_trainer *trainer,
                                                           const seqnet_data *batch, double *loss);
/**
 * Loss and metrics over a data set, in inference mode, batched by the
 * configured batch size.
 * @param logs    receives up to n_logs values: loss, then each metric.
 * @return as seqnet_trainer_fit. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_trainer_evaluate(seqnet_trainer *trainer,
                                                        const seqnet_data *data, double *logs,
                                                        int32_t n_logs);

/**
 * Reset the carried state of the trainer's stateful recurrent layers
 * (layers built with SEQNET_OPT_STATEFUL = 1 carry their final state from
 * one batch to the next: truncated back-propagation through time over a
 * long stream cut into chunks, as Keras's stateful training). Call it
 * between independent streams or epochs. @since 0.1.0
 */
SEQNET_API int seqnet_trainer_reset_states(seqnet_trainer *trainer);

/** Number of training log values (loss + metrics). @since 0.1.0 */
SEQNET_API int32_t seqnet_trainer_n_logs(const seqnet_trainer *trainer);
/**
 * Name of log value `index` ("loss", "binary_accuracy", ...; with
 * `validation` non-zero the "val_" name). Owned by the trainer; NULL when
 * out of range. @since 0.1.0
 */
SEQNET_API const char *seqnet_trainer_log_name(const seqnet_trainer *trainer, int32_t index,
                                               int validation);
/** Number of epochs in the history (finished epochs over all fits). @since 0.1.0 */
SEQNET_API int32_t seqnet_trainer_history_len(const seqnet_trainer *trainer);
/**
 * A history value: epoch `epoch`, log `index`, training (validation 0) or
 * validation (validation 1). NaN when there was no validation that epoch.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ERANGE. @since 0.1.0
 */
SEQNET_API int seqnet_trainer_history_value(const seqnet_trainer *trainer, int32_t epoch,
                                            int32_t index, int validation, double *value);

/**
 * Predict a whole data set in batches (inference mode).
 * @param session  a session on the same model; borrowed.
 * @param data     inputs; borrowed.
 * @param output   model output index.
 * @param dst      receives n_samples rows of the output, row-major.
 * @param count    capacity of dst in floats.
 * @param batch_size  rows per run (>= 1).
 * @return as seqnet_session_run, plus SEQNET_EBUFFER. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_session_predict(seqnet_session *session,
                                                       const seqnet_data *data, int32_t output,
                                                       float *dst, int64_t count,
                                                       int32_t batch_size);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_TRAIN_H */

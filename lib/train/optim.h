/*
 * lib/train/optim.h -- optimizers (Keras 3 update rules) and gradient
 * clipping over the model's flat parameter block.
 *
 * The trainer calls sn_optim_begin_step once per step, then sn_optim_update
 * once per parameter tensor. A tensor whose gradient is row-sparse (an
 * Embedding) passes row_flags: rows with flag 0 are updated as if their
 * gradient were exactly zero, without reading the gradient array there
 * (stale), which keeps Keras's dense semantics (moments still decay) while
 * the gradient itself is only ever written for touched rows.
 */
#ifndef SN_OPTIM_H
#define SN_OPTIM_H

#include <stdint.h>

#include "core/sn_core.h"

typedef struct sn_optim {
    int kind;             /* SEQNET_OPTIMIZER_* */
    double learning_rate;
    double momentum;      /* SGD, RMSprop */
    int nesterov;         /* SGD */
    double beta_1, beta_2;
    double epsilon;
    double rho;
    double initial_accumulator_value;
    int64_t iterations;   /* completed steps */
    int64_t n_params;     /* size of each slot array */
    float *slot[2];       /* per-parameter state (momentum / m, v / accumulators) or NULL */
    sn_alloc alloc;
    /* set by sn_optim_begin_step for the current step */
    double step_lr;       /* Adam: lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) */
} sn_optim;

/* Initialise with Keras's defaults for `kind`; no slot memory yet.
 * SEQNET_EUNSUPPORTED for an unknown kind. */
int sn_optim_init(sn_optim *o, int kind, const sn_alloc *a);
/* Set or read a hyper-parameter (SEQNET_TRAIN_* ids 1..8). SEQNET_EINVAL
 * for a bad value, SEQNET_EUNSUPPORTED for one this optimizer lacks. */
int sn_optim_set(sn_optim *o, int param, double value);
int sn_optim_get(const sn_optim *o, int param, double *value);
/* Allocate (zeroed, or initial_accumulator_value for Adagrad) slots for
 * n_params floats; reuses them when already sized. SEQNET_ENOMEM. */
int sn_optim_prepare(sn_optim *o, int64_t n_params);
/* Free the slots. */
void sn_optim_release(sn_optim *o);
/* Start a step: iterations + 1 and the per-step constants. */
void sn_optim_begin_step(sn_optim *o);
/*
 * Update params[offset .. offset+count) with grads at the same offsets.
 * row_flags: NULL (dense) or [count / row_width] flags for a row-sparse
 * gradient. One fused pass over parameters, gradients and slots.
 */
void sn_optim_update(sn_optim *o, float *params, const float *grads, int64_t offset,
                     int64_t count, const uint8_t *row_flags, int32_t row_width);

/* ---- clipping (Keras: clipnorm per tensor, global_clipnorm, clipvalue) ---- */
/* Sum of squares of a gradient tensor (rows with flag 0 skipped). */
double sn_grad_sumsq(const float *grads, int64_t count, const uint8_t *row_flags,
                     int32_t row_width);
/* grads *= scale (rows with flag 0 skipped). */
void sn_grad_scale(float *grads, int64_t count, const uint8_t *row_flags, int32_t row_width,
                   float scale);
/* Clip every element to [-value, value] (rows with flag 0 skipped). */
void sn_grad_clip_value(float *grads, int64_t count, const uint8_t *row_flags,
                        int32_t row_width, float value);

/* Factor by which Keras's clip_by_norm / clip_by_global_norm scale
 * gradients of squared norm `sumsq` for a limit `clipnorm`: clipnorm / norm
 * when norm > clipnorm, else 1 (also 1 when clipnorm <= 0: clipping off).
 * NaN when sumsq is not finite, so a non-finite gradient stays detectable.
 * Apply it with sn_grad_scale (per tensor for clipnorm; for global_clipnorm
 * sumsq is the sum over all tensors). */
float sn_grad_clipnorm_scale(double sumsq, double clipnorm);

#endif /* SN_OPTIM_H */

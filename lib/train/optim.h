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

/* Steps of per-step constants kept for lazy row updates (see
 * sn_optim_update_rows): rows must be caught up at least this often. */
#define SN_OPTIM_RING 1024

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
    double step_lr_ring[SN_OPTIM_RING]; /* step_lr of step s at s % SN_OPTIM_RING */
} sn_optim;

/*
 * Undo log of one step. Before a dense update overwrites a weight tensor
 * and its optimizer state, the old values are appended here, so a step that
 * wrote a non-finite value is rolled back bit for bit. The log is sized
 * once per step (sn_undo_reserve) and reused across steps. Row-sparse
 * updates (embeddings) are not logged: copying every touched row cost 20 to
 * 27% of the pooled-embedding training step.
 */
typedef struct sn_undo {
    float *vals;
    size_t n_vals, cap_vals, pos_vals; /* pos_vals: read cursor of a rollback */
} sn_undo;

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

/*
 * Lazy, exact row-sparse updates. A row whose gradient is zero at a step
 * still changes under momentum SGD, Adam and RMSprop (moments decay), but
 * the change depends only on the row's own state and the step's constants.
 * So instead of sweeping the whole table every step, a row is brought up
 * to date when it is next touched: row_step[r] records the last step the
 * row has seen; sn_optim_update_rows replays the missed zero-gradient steps
 * with exactly the dense kernel's arithmetic, then applies this step's
 * gradient. The result is bit-identical to the dense update. Before anyone
 * reads the weights, sn_optim_catch_up brings every row to the current
 * step. A row may lag at most SN_OPTIM_RING - 1 steps (the caller catches
 * up more often than that).
 */
/* Whether zero-gradient steps change parameters for this optimizer. */
int sn_optim_is_lazy(const sn_optim *o);
/* Update the listed rows (each row_width floats at offset + row*row_width)
 * at the current step with their gradients, replaying missed steps first.
 * Returns 1 when every value written is finite, 0 otherwise. It writes
 * only the listed rows (weights, optimizer state, row_step) and reads o:
 * calls on disjoint row lists may run at once on different threads. */
int sn_optim_update_rows(const sn_optim *o, float *params, const float *grads, int64_t offset,
                         int32_t row_width, const int32_t *rows, int32_t n_rows,
                         int64_t *row_step);
/* Floats the log needs for count parameters (weights plus state). */
size_t sn_optim_undo_floats(const sn_optim *o, int64_t count);
/* Make room for n_vals floats and empty the log. */
int sn_undo_reserve(sn_undo *u, const sn_alloc *a, size_t n_vals);
void sn_undo_free(sn_undo *u, const sn_alloc *a);
/* Append the weights and state of [offset, offset + count). */
void sn_optim_save_range(const sn_optim *o, const float *params, int64_t offset, int64_t count,
                         sn_undo *u);
/* Put back what sn_optim_save_range saved (reading at the cursor). */
void sn_optim_restore_range(sn_optim *o, float *params, int64_t offset, int64_t count,
                            sn_undo *u);

/* Whether the optimizer's state for count parameters at offset is finite. */
int sn_optim_state_finite(const sn_optim *o, int64_t offset, int64_t count);
/* Whether the listed rows (each row_width floats at grads + row*row_width)
 * are all finite: the gradient check of a row-sparse tensor when no clipping
 * needs its norm. Integer tests of the exponent bits, one pass. */
int sn_grad_rows_finite(const float *grads, int32_t row_width, const int32_t *rows,
                        int32_t n_rows);
/* Bring every one of n_rows rows up to the current step. */
void sn_optim_catch_up(sn_optim *o, float *params, int64_t offset, int32_t row_width,
                       int64_t n_rows, int64_t *row_step);

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

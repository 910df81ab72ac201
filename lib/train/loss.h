/*
 * lib/train/loss.h -- losses and metrics as pure functions over host arrays.
 *
 * Layout: pred and target are [batch, steps, width] row-major (steps == 1 for
 * vector outputs). For sparse categorical losses target is [batch, steps]
 * (class indices stored as floats) and pred is [batch, steps, n_classes].
 *
 * Which (b, t) elements count:
 *  - step_mask [batch * steps] (uint8, 1 = real step) may be NULL (all real);
 *  - for sparse categorical losses a target < 0 (the course's -1) ignores
 *    that step;
 *  - sample_weight [batch] may be NULL (all 1); a weight of 0 keeps the
 *    element in the denominator (Keras) but adds nothing.
 *
 * Per-element loss l(b,t): BCE/MSE/MAE average over width (as Keras does
 * over the last axis); categorical cross-entropies sum over classes.
 *
 * Reductions (enum seqnet_reduction):
 *  - SEQNET_REDUCTION_MEAN: loss = sum_{counted (b,t)} w_b l(b,t) / N_counted
 *    (for vector outputs N_counted = batch: Keras's sum_over_batch_size;
 *    with masks the mean over unmasked steps, as Keras 3);
 *  - SEQNET_REDUCTION_SUM_OVER_STEPS: loss = sum_{counted} w_b l(b,t) / batch.
 */
#ifndef SN_LOSS_H
#define SN_LOSS_H

#include <stdint.h>

#include "core/sn_core.h"

/* Width of the target array a loss expects given the prediction width
 * (1 for sparse categorical losses, else pred_width). */
int32_t sn_loss_target_width(int loss, int32_t pred_width);

/* Whether a loss id is known. */
int sn_loss_valid(int loss);
const char *sn_loss_name(int loss);

/*
 * Compute the reduced loss into *loss_out and, when grad is not NULL, write
 * d(loss)/d(pred) into grad [batch, steps, width] (overwritten; elements that
 * do not count get 0). Returns SEQNET_OK, SEQNET_EINVAL (unknown loss or
 * reduction), SEQNET_ERANGE (sparse class index >= width or not an integer),
 * SEQNET_ENONFINITE (the loss is NaN/inf). Messages go to err.
 * n_counted receives the number of counted (b,t) elements (may be NULL).
 */
int sn_loss_compute(int loss, int reduction, const float *pred, const float *target,
                    int32_t batch, int32_t steps, int32_t width, const uint8_t *step_mask,
                    const float *sample_weight, double *loss_out, float *grad,
                    double *n_counted, sn_object *err);

/* Whether a metric id is known; its Keras name ("binary_accuracy"). */
int sn_metric_valid(int metric);
const char *sn_metric_name(int metric);

/*
 * Accumulate a metric over one batch: *sum += sum of per-element values
 * (weighted by sample_weight when not NULL), *count += the counted weight.
 * The metric value is sum / count. Same layout and counting rules as
 * sn_loss_compute. Returns SEQNET_OK or SEQNET_EINVAL / SEQNET_ERANGE.
 */
int sn_metric_accumulate(int metric, const float *pred, const float *target, int32_t batch,
                         int32_t steps, int32_t width, const uint8_t *step_mask,
                         const float *sample_weight, double *sum, double *count,
                         sn_object *err);

#endif /* SN_LOSS_H */

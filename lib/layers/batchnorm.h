/*
 * lib/layers/batchnorm.h -- the one BatchNormalization entry point the
 * trainer needs besides the layer interface.
 *
 * A training forward pass computes the batch statistics but cannot store
 * the moving averages: forward sees the parameters read-only (a model may
 * be shared by inference threads while another session trains it only
 * through a trainer, which owns the writes). The trainer therefore calls
 * this after each training step (after the optimizer update) for every
 * layer of kind SEQNET_LAYER_BATCH_NORMALIZATION, with the layer's scratch
 * from the step's forward pass:
 *
 *     moving_mean     = moving_mean * momentum + batch_mean * (1 - momentum)
 *     moving_variance = moving_variance * momentum + batch_var * (1 - momentum)
 *
 * batch_var is the biased variance (divided by the number of real rows),
 * as Keras 2 and 3 use it (Keras 2's fused kernel removes TensorFlow's
 * Bessel correction for exactly this; PyTorch's running_var is unbiased).
 *
 * It does nothing when L is not a BatchNormalization layer, when scratch is
 * NULL, when the forward pass ran with the moving statistics (inference, or
 * a frozen layer, which Keras also runs in inference mode), or when every
 * row of the batch was masked (no statistics). Calling it twice for one
 * forward pass applies the update twice.
 */
#ifndef SN_BATCHNORM_H
#define SN_BATCHNORM_H

#include "layers/layer.h"

void sn_batchnorm_update_moving(const sn_layer *L, float *params, const void *scratch);

#endif /* SN_BATCHNORM_H */

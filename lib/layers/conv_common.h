/*
 * lib/layers/conv_common.h -- helpers shared by the convolution, window
 * pooling, merge and normalization layers (conv1d.c, pool1d_window.c,
 * merge.c, highway.c, batchnorm.c, layernorm.c).
 *
 * Option parsing is the same everywhere (a flag is 0 or 1, a size is an
 * integer >= 1, a bad value is SEQNET_EINVAL naming the layer), and the
 * window arithmetic of Conv1D and the window poolings must agree to the
 * step with Keras/TensorFlow, so both live here once.
 */
#ifndef SN_CONV_COMMON_H
#define SN_CONV_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "layers/layer.h"

enum sn_padding { SN_PAD_VALID = 0, SN_PAD_SAME = 1, SN_PAD_CAUSAL = 2 };

/* An optional 0/1 flag (default dflt). SEQNET_EINVAL for another value. */
int sn_cc_flag(const sn_layer *L, sn_object *err, int key, const char *what, int dflt,
               int32_t *out);
/* An integer option in [min_value, INT32_MAX]. required: absent is an error;
 * else absent gives dflt. */
int sn_cc_int(const sn_layer *L, sn_object *err, int key, const char *what, int required,
              int64_t dflt, int64_t min_value, int32_t *out);
/* A float option in the open-or-closed range given; absent gives dflt. */
int sn_cc_float(const sn_layer *L, sn_object *err, int key, const char *what, double dflt,
                double lo, int lo_inclusive, double hi, int hi_inclusive, double *out);
/* SEQNET_OPT_PADDING: "valid" (default), "same", and "causal" when allowed. */
int sn_cc_padding(const sn_layer *L, sn_object *err, int allow_causal, int32_t *out);
/* SEQNET_OPT_ACTIVATION by Keras name ("linear" when absent). */
int sn_cc_activation(const sn_layer *L, sn_object *err, int32_t *out);
/* SEQNET_OPT_AXIS must name the feature (last) axis of input 0: -1, or 1
 * for a vector, 2 for a sequence (Keras counts the batch axis as 0). */
int sn_cc_feature_axis(const sn_layer *L, sn_object *err);
/* SEQNET_OPT_TRAINABLE into L->trainable. */
int sn_cc_trainable(sn_layer *L, sn_object *err);

/* infer for layers whose output has the input's shape and mask (Highway,
 * the normalizations): refuses token ids. */
int sn_cc_infer_same(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                     sn_object *err);

/* Fill a parameter description (rank 1..3; dims[rank..] ignored). */
void sn_cc_param(sn_param *p, const char *name, int32_t rank, int64_t d0, int64_t d1, int64_t d2,
                 int32_t init, float init_value, int8_t trainable);

/*
 * Keras/TensorFlow window geometry along time for a window spanning `span`
 * steps (dilation * (kernel - 1) + 1 for a convolution, pool_size for a
 * pooling) moved by `stride`:
 *   valid   out = floor((T - span) / stride) + 1, no padding;
 *   same    out = ceil(T / stride), pad_total = max((out - 1) * stride +
 *           span - T, 0), left = pad_total / 2 (the extra step goes right,
 *           as TensorFlow does);
 *   causal  left = span - 1, then valid: out = ceil(T / stride).
 * A variable time (0) gives 0. Returns 0, or -1 when T is too short for a
 * valid window (no output step).
 */
int sn_cc_window(int32_t time, int32_t span, int32_t stride, int32_t padding,
                 int32_t *out_time, int32_t *pad_left);

/* Rows of a run-time or concrete shape: batch * time (time 1 for vectors). */
size_t sn_cc_rows(int32_t batch, const sn_shape *s);
/* sums[j] = sum over rows of x[r, j] (overwrites sums). */
void sn_cc_column_sums(const float *x, size_t rows, size_t width, float *sums);

#endif /* SN_CONV_COMMON_H */

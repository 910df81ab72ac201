/*
 * lib/layers/activation.h -- element-wise activations shared by layers
 * (Dense, Activation, and later Conv1D and the recurrent cells).
 */
#ifndef SN_ACTIVATION_H
#define SN_ACTIVATION_H

#include <stddef.h>

enum sn_act {
    SN_ACT_LINEAR = 0,
    SN_ACT_RELU = 1,
    SN_ACT_SIGMOID = 2,
    SN_ACT_TANH = 3,
    SN_ACT_SOFTMAX = 4,      /* over the last axis (width) */
    SN_ACT_HARD_SIGMOID = 5, /* Keras 2: clip(0.2x + 0.5, 0, 1) */
    SN_ACT_ELU = 6,          /* alpha 1 */
    SN_ACT_SELU = 7,
    SN_ACT_SOFTPLUS = 8,
    SN_ACT_GELU = 9          /* Keras default: exact (erf) form */
};

/* Activation id for a Keras name ("relu"), or -1. */
int sn_act_from_name(const char *name);
/* Keras name of an activation id ("linear" for unknown ids). */
const char *sn_act_name(int act);
/* Whether backward needs the pre-activation values (else the outputs suffice). */
int sn_act_needs_input(int act);
/* y = f(x), element-wise over rows x width (softmax: per row). x and y may alias. */
void sn_act_forward(int act, const float *x, float *y, size_t rows, size_t width);
/* grad <- grad * f'(.) in place, given the outputs y and (when
 * sn_act_needs_input) the inputs x; softmax uses the full Jacobian per row. */
void sn_act_backward(int act, const float *x, const float *y, float *grad, size_t rows,
                     size_t width);

#endif /* SN_ACTIVATION_H */

/*
 * lib/layers/common.c -- small helpers every layer shares.
 */
#include <string.h>

#include "layers/layer.h"

int sn_layer_shape_error(const sn_layer *L, sn_object *err, const char *what)
{
    return sn_error(err, SEQNET_ESHAPE, "layer '%s' (%s): %s", L->name,
                    L->ops != NULL ? L->ops->class_name : "?", what);
}

void sn_grad_store(float *dst, const float *src, size_t n, int accumulate)
{
    size_t i;
    if (accumulate) {
        for (i = 0; i < n; i++)
            dst[i] += src[i];
    } else if (dst != src) {
        memcpy(dst, src, n * sizeof *dst);
    }
}

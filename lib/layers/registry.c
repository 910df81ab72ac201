/*
 * lib/layers/registry.c -- from a SEQNET_LAYER_* kind to its ops table.
 *
 * Adding a layer: write its file, declare its ops here, add a case.
 */
#include "layers/layer.h"

extern const sn_layer_ops sn_dense_ops;
extern const sn_layer_ops sn_activation_ops;
extern const sn_layer_ops sn_dropout_ops;
extern const sn_layer_ops sn_embedding_ops;
extern const sn_layer_ops sn_flatten_ops;
extern const sn_layer_ops sn_global_average_pooling1d_ops;
extern const sn_layer_ops sn_global_max_pooling1d_ops;

const sn_layer_ops *sn_layer_ops_for_kind(int32_t kind)
{
    switch (kind) {
    case SEQNET_LAYER_DENSE: return &sn_dense_ops;
    case SEQNET_LAYER_ACTIVATION: return &sn_activation_ops;
    case SEQNET_LAYER_DROPOUT: return &sn_dropout_ops;
    case SEQNET_LAYER_EMBEDDING: return &sn_embedding_ops;
    case SEQNET_LAYER_FLATTEN: return &sn_flatten_ops;
    case SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D: return &sn_global_average_pooling1d_ops;
    case SEQNET_LAYER_GLOBAL_MAX_POOLING1D: return &sn_global_max_pooling1d_ops;
    default: return NULL;
    }
}

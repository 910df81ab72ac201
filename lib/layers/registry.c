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
extern const sn_layer_ops sn_simple_rnn_ops;
extern const sn_layer_ops sn_lstm_ops;
extern const sn_layer_ops sn_gru_ops;
extern const sn_layer_ops sn_bidirectional_ops;
extern const sn_layer_ops sn_conv1d_ops;
extern const sn_layer_ops sn_max_pooling1d_ops;
extern const sn_layer_ops sn_average_pooling1d_ops;
extern const sn_layer_ops sn_concatenate_ops;
extern const sn_layer_ops sn_add_ops;
extern const sn_layer_ops sn_subtract_ops;
extern const sn_layer_ops sn_multiply_ops;
extern const sn_layer_ops sn_average_ops;
extern const sn_layer_ops sn_highway_ops;
extern const sn_layer_ops sn_batch_normalization_ops;
extern const sn_layer_ops sn_layer_normalization_ops;

extern const sn_layer_ops sn_rnn_state_ops;

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
    case SEQNET_LAYER_CONV1D: return &sn_conv1d_ops;
    case SEQNET_LAYER_MAX_POOLING1D: return &sn_max_pooling1d_ops;
    case SEQNET_LAYER_AVERAGE_POOLING1D: return &sn_average_pooling1d_ops;
    case SEQNET_LAYER_CONCATENATE: return &sn_concatenate_ops;
    case SEQNET_LAYER_ADD: return &sn_add_ops;
    case SEQNET_LAYER_SUBTRACT: return &sn_subtract_ops;
    case SEQNET_LAYER_MULTIPLY: return &sn_multiply_ops;
    case SEQNET_LAYER_AVERAGE: return &sn_average_ops;
    case SEQNET_LAYER_HIGHWAY: return &sn_highway_ops;
    case SEQNET_LAYER_BATCH_NORMALIZATION: return &sn_batch_normalization_ops;
    case SEQNET_LAYER_LAYER_NORMALIZATION: return &sn_layer_normalization_ops;
    case SEQNET_LAYER_SIMPLE_RNN: return &sn_simple_rnn_ops;
    case SEQNET_LAYER_LSTM: return &sn_lstm_ops;
    case SEQNET_LAYER_GRU: return &sn_gru_ops;
    case SEQNET_LAYER_BIDIRECTIONAL: return &sn_bidirectional_ops;
    case SEQNET_LAYER_RNN_STATE: return &sn_rnn_state_ops;
    default: return NULL;
    }
}

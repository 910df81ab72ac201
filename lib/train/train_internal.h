/*
 * lib/train/train_internal.h -- data sets as the trainer sees them.
 */
#ifndef SN_TRAIN_INTERNAL_H
#define SN_TRAIN_INTERNAL_H

#include "core/sn_core.h"
#include "seqnet/train.h"

#define SN_DATA_MAX_IO 64

typedef struct sn_data_array {
    const int32_t *ids;  /* token ids, or NULL */
    const float *x;      /* floats, or NULL */
    int32_t time;        /* 0 for vectors */
    int32_t features;    /* features (inputs) or width (targets) */
    int set;
} sn_data_array;

struct seqnet_data {
    sn_object obj;
    int64_t n_samples;   /* -1 until an array is set */
    sn_data_array inputs[SN_DATA_MAX_IO];
    sn_data_array targets[SN_DATA_MAX_IO];
    const float *weights;
    seqnet_batch_fn generator;
    void *generator_user;
};

/* Reset every array (used by the trainer before asking a generator). */
void sn_data_reset(seqnet_data *d);

#endif /* SN_TRAIN_INTERNAL_H */

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

/* Everything a trainer needs to resume exactly, as plain data: the file
 * format serializes this without knowing the trainer's layout. */
#define SN_TRAINER_MAX_METRICS 16
typedef struct sn_trainer_state {
    int32_t n_outputs;
    int loss[SN_DATA_MAX_IO];
    int32_t n_metrics;
    int32_t metric_output[SN_TRAINER_MAX_METRICS];
    int metric_kind[SN_TRAINER_MAX_METRICS];
    int32_t batch_size, epochs;
    int shuffle;
    uint64_t seed;
    double validation_split, clipvalue, clipnorm, global_clipnorm;
    int reduction;
    /* optimizer */
    int optimizer;
    double hyper[8];          /* SEQNET_TRAIN_LEARNING_RATE..INITIAL_ACCUMULATOR_VALUE (ids 1..8) */
    int64_t iterations;
    int n_slots;              /* 2: slot[i] NULL when that optimizer slot is unused */
    int64_t n_params;
    const float *slot[2];     /* borrowed */
    uint64_t step;            /* dropout stream counter */
    int64_t epochs_done;      /* shuffle stream counter */
} sn_trainer_state;

/* Fill st from a trainer (pointers borrow the trainer's memory). */
void sn_trainer_export(const seqnet_trainer *t, sn_trainer_state *st);
/* Apply st to a trainer (copies slots). SEQNET_EINVAL when it does not fit
 * the trainer's model, SEQNET_ENOMEM. */
int sn_trainer_import(seqnet_trainer *t, const sn_trainer_state *st);
/* The model a trainer trains. */
const struct seqnet_model *sn_trainer_model(const seqnet_trainer *t);

#endif /* SN_TRAIN_INTERNAL_H */

/*
 * seqnet/seqnet.h -- umbrella header: include this one.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * seqnet is an embeddable C11 library for learning from sequences (text and
 * time series) with neural networks, with Keras's semantics:
 *   core.h   context, status codes, allocator hooks, versions, seqnet_free
 *   graph.h  graph builder: inputs, layers, options, compile
 *   model.h  compiled models, weights, summary, sessions, inference
 *   train.h  data sets, losses, metrics, optimizers, fit / evaluate
 *   text.h   Keras Tokenizer, pad_sequences, scikit-learn vectorizers
 *   io.h     saving and loading models and text objects (buffers, callbacks)
 */
#ifndef SEQNET_SEQNET_H
#define SEQNET_SEQNET_H

#include "seqnet/core.h"
#include "seqnet/graph.h"
#include "seqnet/model.h"
#include "seqnet/train.h"
#include "seqnet/text.h"
#include "seqnet/io.h"

#endif /* SEQNET_SEQNET_H */

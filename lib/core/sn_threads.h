/*
 * lib/core/sn_threads.h -- a small pool of worker threads, made only when
 * the host asks for more than one thread (SEQNET_TRAIN_THREADS).
 *
 * The pool runs one job at a time on all its threads at once: the caller is
 * worker 0 and the pool's threads are workers 1 .. n-1. sn_pool_run returns
 * when every worker has finished the job, so everything a worker wrote is
 * visible to the caller afterwards (and everything the caller wrote before
 * the call is visible to the workers).
 */
#ifndef SN_THREADS_H
#define SN_THREADS_H

#include "core/sn_core.h"

/* The most workers a pool has (SEQNET_TRAIN_THREADS is at most this). */
#define SN_POOL_MAX 64

typedef struct sn_pool sn_pool;
typedef void (*sn_pool_fn)(void *arg, int worker);

/* A pool of n workers (n - 1 threads; n >= 2). SEQNET_ENOMEM when the
 * memory or a thread cannot be had (nothing is left running then). */
int sn_pool_new(const sn_alloc *a, int n, sn_pool **out);
/* fn(arg, 0) on the calling thread and fn(arg, k) on worker k, for every k;
 * returns when all have returned. */
void sn_pool_run(sn_pool *p, sn_pool_fn fn, void *arg);
/* Stops and joins the threads; NULL-safe. */
void sn_pool_free(sn_pool *p);

#endif /* SN_THREADS_H */

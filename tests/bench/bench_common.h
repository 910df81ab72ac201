/*
 * tests/bench/bench_common.h -- what the benchmark programs share: OpenBLAS
 * introspection, a status check that exits, clocks, peak RSS, the synthetic
 * data's random numbers, medians and graph building.
 *
 * A program defines BENCH_NAME (its name, for messages) before including it.
 * Everything here is static inline, so a program uses what it needs.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 */
#ifndef SEQNET_BENCH_COMMON_H
#define SEQNET_BENCH_COMMON_H

#include <seqnet/seqnet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_common.h"
#endif

/* OpenBLAS introspection, when the library linked in is OpenBLAS. */
#if defined(__GNUC__)
extern int openblas_get_num_threads(void) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));
#define HAVE_WEAK 1
#else
#define HAVE_WEAK 0
#endif

#define CHECK(call, handle)                                                           \
    do {                                                                              \
        int rc_ = (call);                                                             \
        if (rc_ != SEQNET_OK) {                                                       \
            fprintf(stderr, BENCH_NAME ": %s failed: %s (%s)\n", #call,               \
                    seqnet_strerror(rc_), seqnet_errmsg(handle));                     \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, BENCH_NAME ": out of memory\n");
        exit(1);
    }
    return p;
}

static inline double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident memory of the process, MiB (ru_maxrss is KiB on Linux). */
static inline double rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* splitmix64 for the synthetic data: it need not match torch_ref.py bit for
 * bit, only its distributions. A program may reseed rng_state first. */
static uint64_t rng_state = 1234;

static inline uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts xs. */
static inline double median(double *xs, int n)
{
    qsort(xs, (size_t)n, sizeof *xs, cmp_double);
    return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

/* Add a one-input layer with options o (cleared after), return its node. */
static inline int32_t add_layer(seqnet_graph *g, seqnet_options *o, int kind, int32_t in)
{
    int32_t node = -1;
    CHECK(seqnet_graph_add(g, kind, o, &in, 1, NULL, &node), g);
    CHECK(seqnet_options_clear(o), o);
    return node;
}

#endif

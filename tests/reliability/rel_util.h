/*
 * tests/reliability/rel_util.h -- small helpers shared by the reliability
 * tests: how much work to do (native, valgrind, environment override) and
 * building graphs without repeating the options dance.
 */
#ifndef REL_UTIL_H
#define REL_UTIL_H

#include <stdint.h>
#include <stdlib.h>

#include <seqnet/seqnet.h>

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#define REL_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#else
#define REL_UNDER_VALGRIND() 0
#endif

/* An integer from the environment, or `fallback` when unset or not a
 * positive number. */
static inline long rel_env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n;
    if (v == NULL || *v == '\0')
        return fallback;
    n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n <= 0)
        return fallback;
    return n;
}

/* Add a one-input layer, then clear the options for the next one. */
static inline int rel_add(seqnet_graph *g, seqnet_options *o, int kind, int32_t in,
                          const char *name, int32_t *out)
{
    int st = seqnet_graph_add(g, kind, o, &in, 1, name, out);
    (void)seqnet_options_clear(o);
    return st;
}

/* A small deterministic generator for test data (xorshift64*). */
typedef struct rel_rng {
    uint64_t s;
} rel_rng;

static inline uint64_t rel_next(rel_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

/* Uniform integer in [0, n). */
static inline uint32_t rel_below(rel_rng *r, uint32_t n)
{
    return (uint32_t)((rel_next(r) >> 32) % n);
}

#endif /* REL_UTIL_H */

/*
 * lib/core/rng.c -- xoshiro256** (Blackman & Vigna) seeded by splitmix64.
 *
 * Each object owns its stream; there is no global generator. Normal samples
 * use the Box-Muller transform.
 */
#include <math.h>

#include "core/sn_core.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t sn_seed_mix(uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    return splitmix64(&x);
}

void sn_rng_seed(sn_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    int i;
    for (i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sn_rng_next(sn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t sn_rng_below(sn_rng *r, uint32_t bound)
{
    /* Lemire's multiply-shift with rejection: unbiased. */
    uint64_t m;
    uint32_t low, threshold;
    if (bound == 0)
        return 0;
    m = (uint64_t)(uint32_t)(sn_rng_next(r) >> 32) * bound;
    low = (uint32_t)m;
    if (low < bound) {
        threshold = (uint32_t)(-bound) % bound;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)(sn_rng_next(r) >> 32) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float sn_rng_uniform(sn_rng *r)
{
    return (float)(sn_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

double sn_rng_uniform_double(sn_rng *r)
{
    return (double)(sn_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

float sn_rng_normal(sn_rng *r)
{
    double u1 = sn_rng_uniform_double(r), u2 = sn_rng_uniform_double(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

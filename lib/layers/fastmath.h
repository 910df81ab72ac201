/*
 * lib/layers/fastmath.h -- e^x in straight-line arithmetic that vectorizes,
 * for the element-wise passes of the recurrent cells and of softmax.
 */
#ifndef SN_FASTMATH_H
#define SN_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* cond ? a : b on the bits, so that the compiler does not turn the choice
 * into a branch (which, with the default -ftrapping-math, would keep the
 * loop around it from vectorizing). */
static inline float sn_fast_select(int cond, float a, float b)
{
    uint32_t ua, ub, m = 0u - (uint32_t)(cond != 0);
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof a);
    return a;
}

/* e^x for the fused passes (recurrent gates, softmax): Cephes's expf polynomial (within 2 ulps of the
 * exact value over the clamped range) in straight-line float and integer
 * arithmetic, so that a loop over a gate row compiles to SIMD code (a call
 * to libm's expf cannot be vectorized, and libm's expf was a fifth of an
 * LSTM's training time). x is clamped to [-87, 88]: the result stays a
 * normal float, which changes nothing for tanh and sigmoid. The rounding of
 * x log2(e) to n uses the 1.5 * 2^23 shifter, whose low bits then hold n. */
static inline float sn_fast_exp(float x)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23, bits 0x4b400000 */
    float t, n, r, p, s;
    int32_t ti;
    uint32_t si;
    x = sn_fast_select(x < -87.0f, -87.0f, x);
    x = sn_fast_select(x > 88.0f, 88.0f, x);
    t = x * 1.44269504088896341f + shifter;
    n = t - shifter;
    r = x - n * 0.693359375f;    /* ln 2 in two parts: the exact high part, */
    r = r - n * -2.12194440e-4f; /* then the low one */
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    memcpy(&ti, &t, sizeof ti);
    si = (uint32_t)(ti - 0x4b400000 + 127) << 23; /* 2^n, n in [-126, 127] */
    memcpy(&s, &si, sizeof s);
    return p * s;
}

#endif

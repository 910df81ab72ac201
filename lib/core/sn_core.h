/*
 * lib/core/sn_core.h -- internal core: objects, allocation, errors, RNG.
 *
 * Every room of the library includes this. Nothing here is exported: the
 * library is built with hidden visibility and only SEQNET_API symbols from
 * the public headers leave the shared object.
 */
#ifndef SN_CORE_H
#define SN_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "seqnet/core.h"

/* Copy of a context's allocator hooks. Objects keep their own copy so that
 * exported blocks can be freed by seqnet_free() without a context. */
typedef struct sn_alloc {
    seqnet_alloc_fn alloc;
    seqnet_realloc_fn realloc;
    seqnet_free_fn free;
    void *user;
} sn_alloc;

/* Type tags kept in every object header, so seqnet_errmsg(void*) can check
 * what it was given. */
enum {
    SN_MAGIC_CONTEXT = 0x534e4358u,  /* "SNCX" */
    SN_MAGIC_GRAPH = 0x534e4752u,
    SN_MAGIC_MODEL = 0x534e4d44u,
    SN_MAGIC_SESSION = 0x534e5353u,
    SN_MAGIC_TRAINER = 0x534e5452u,
    SN_MAGIC_OPTIONS = 0x534e4f50u,
    SN_MAGIC_DATA = 0x534e4441u,
    SN_MAGIC_TOKENIZER = 0x534e544bu,
    SN_MAGIC_VECTORIZER = 0x534e5643u,
    SN_MAGIC_OTHER = 0x534e4f54u
};

#define SN_ERRMSG_SIZE 512

/* The first member of every public object. */
typedef struct sn_object {
    uint32_t magic;
    sn_alloc alloc;
    char errmsg[SN_ERRMSG_SIZE];
} sn_object;

/* Random stream: xoshiro256** seeded through splitmix64. */
typedef struct sn_rng {
    uint64_t s[4];
} sn_rng;

struct seqnet_context {
    sn_object obj;
    uint64_t seed;
};

/* ---- allocation: every block carries a small header with its size ---- */
void *sn_malloc(const sn_alloc *a, size_t size);
void *sn_calloc(const sn_alloc *a, size_t count, size_t size); /* zeroed, overflow-checked */
void *sn_realloc(const sn_alloc *a, void *ptr, size_t new_size);
void sn_free(const sn_alloc *a, void *ptr);
/* Overflow-checked count*size; returns 0 and sets *out on success, -1 on overflow. */
int sn_mul_size(size_t count, size_t size, size_t *out);
/* A block the caller frees with seqnet_free() (keeps a copy of the hooks). */
void *sn_export_malloc(const sn_alloc *a, size_t size);
/* Resize a block from sn_export_malloc (NULL: allocate); NULL on failure,
 * when the old block is left as it was. */
void *sn_export_realloc(const sn_alloc *a, void *ptr, size_t new_size);
char *sn_strdup(const sn_alloc *a, const char *s);

/* libc's allocator as an sn_alloc. */
void sn_default_alloc(sn_alloc *a);

/* Initialise an object header: tag, allocator copy, empty message. */
void sn_object_init(sn_object *o, uint32_t magic, const sn_alloc *a);

/* Set the object's message (printf-style) and return code. o may be NULL. */
int sn_error(sn_object *o, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int sn_verror(sn_object *o, int code, const char *fmt, va_list ap);
/* Clear the message (called at the start of public calls). */
void sn_clear_error(sn_object *o);
/* Copy the message of one object to another (propagate a failure). */
int sn_copy_error(sn_object *dst, const sn_object *src, int code);

/* 1 when every value of x[0..n) is finite, else 0. */
int sn_all_finite(const float *x, size_t n);

/* Copy n floats where n is often tiny (a SimpleRNN(6) row): below 16, in
 * fixed-size pieces of 8, 4, 2 and 1 floats, which compile to plain moves
 * (a memcpy call cost more than the copy, and GCC turns an element loop
 * back into one); memcpy from 16 on. d and s do not overlap. */
static inline void sn_copy_floats(float *restrict d, const float *restrict s, size_t n)
{
    if (n >= 16) {
        memcpy(d, s, n * sizeof *d);
        return;
    }
    if (n & 8) {
        memcpy(d, s, 8 * sizeof *d);
        d += 8;
        s += 8;
    }
    if (n & 4) {
        memcpy(d, s, 4 * sizeof *d);
        d += 4;
        s += 4;
    }
    if (n & 2) {
        memcpy(d, s, 2 * sizeof *d);
        d += 2;
        s += 2;
    }
    if (n & 1)
        d[0] = s[0];
}

/* dst[r][j] = row[j] for rows contiguous rows of width floats (a bias
 * preloaded before a GEMM with beta 1): the filled part doubles with each
 * copy, so a few large copies instead of one small one per row. */
static inline void sn_fill_rows(float *dst, const float *row, size_t rows, size_t width)
{
    size_t done = 1;
    if (rows == 0 || width == 0)
        return;
    memcpy(dst, row, width * sizeof *dst);
    while (done < rows) {
        size_t n = done < rows - done ? done : rows - done;
        memcpy(dst + done * width, dst, n * width * sizeof *dst);
        done += n;
    }
}

/* ---- random numbers ---- */
void sn_rng_seed(sn_rng *r, uint64_t seed);
uint64_t sn_rng_next(sn_rng *r);
uint32_t sn_rng_below(sn_rng *r, uint32_t bound); /* uniform in [0, bound) */
float sn_rng_uniform(sn_rng *r);                 /* uniform in [0, 1) */
double sn_rng_uniform_double(sn_rng *r);
float sn_rng_normal(sn_rng *r);                  /* standard normal */
/* Derive an independent stream seed from a seed and a stream id. */
uint64_t sn_seed_mix(uint64_t seed, uint64_t stream);

#endif /* SN_CORE_H */

/*
 * lib/core/alloc.c -- every allocation of the library passes through here.
 *
 * Blocks carry a 16-byte header holding their size, so callers never have to
 * remember sizes and the host's free hook still receives them (Lua-style
 * hooks want the size). Exported blocks (freed by the host with
 * seqnet_free) carry a larger header holding a copy of the hooks.
 */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1 /* madvise and MADV_HUGEPAGE */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/sn_core.h"

/* Large blocks (weights, gradients, optimizer moments, workspaces) are
 * walked by rows at random: with 4 KiB pages every row can be a TLB miss,
 * and the first touch of each page is slow on virtual machines. Where the
 * kernel takes the hint, the 2 MiB-aligned interior of a block of at least
 * SN_HUGE_MIN bytes is asked for transparent huge pages before it is first
 * written. Only a hint: a failure (another allocator's memory, a kernel
 * without THP) changes nothing. */
#define SN_HUGE_MIN ((size_t)4 << 20)

static void advise_huge(void *p, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t)p + size) & ~(huge - 1);
    if (size >= SN_HUGE_MIN && hi > lo)
        (void)madvise((void *)lo, (size_t)(hi - lo), MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

#define SN_HEADER 16u
#define SN_EXPORT_MAGIC 0x5345514e45585054ull /* "SEQNEXPT" */

typedef struct export_header {
    sn_alloc alloc;
    uint64_t magic;
    size_t size;
} export_header;

#define SN_EXPORT_HEADER ((sizeof(export_header) + 15u) & ~(size_t)15u)

static void *libc_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void *libc_realloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    return realloc(ptr, new_size);
}

static void libc_free(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)size;
    free(ptr);
}

void sn_default_alloc(sn_alloc *a)
{
    a->alloc = libc_alloc;
    a->realloc = libc_realloc;
    a->free = libc_free;
    a->user = NULL;
}

int sn_mul_size(size_t count, size_t size, size_t *out)
{
    if (size != 0 && count > SIZE_MAX / size)
        return -1;
    *out = count * size;
    return 0;
}

void *sn_malloc(const sn_alloc *a, size_t size)
{
    unsigned char *p;
    if (size > SIZE_MAX - SN_HEADER)
        return NULL;
    p = a->alloc(a->user, size + SN_HEADER);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof size);
    advise_huge(p + SN_HEADER, size);
    return p + SN_HEADER;
}

void *sn_calloc(const sn_alloc *a, size_t count, size_t size)
{
    size_t total;
    void *p;
    if (sn_mul_size(count, size, &total) != 0)
        return NULL;
    p = sn_malloc(a, total);
    if (p != NULL)
        memset(p, 0, total);
    return p;
}

void *sn_realloc(const sn_alloc *a, void *ptr, size_t new_size)
{
    unsigned char *base, *q;
    size_t old_size;
    if (ptr == NULL)
        return sn_malloc(a, new_size);
    if (new_size > SIZE_MAX - SN_HEADER)
        return NULL;
    base = (unsigned char *)ptr - SN_HEADER;
    memcpy(&old_size, base, sizeof old_size);
    q = a->realloc(a->user, base, old_size + SN_HEADER, new_size + SN_HEADER);
    if (q == NULL)
        return NULL;
    memcpy(q, &new_size, sizeof new_size);
    return q + SN_HEADER;
}

void sn_free(const sn_alloc *a, void *ptr)
{
    unsigned char *base;
    size_t size;
    if (ptr == NULL)
        return;
    base = (unsigned char *)ptr - SN_HEADER;
    memcpy(&size, base, sizeof size);
    a->free(a->user, base, size + SN_HEADER);
}

char *sn_strdup(const sn_alloc *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = sn_malloc(a, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void *sn_export_malloc(const sn_alloc *a, size_t size)
{
    unsigned char *p;
    export_header h;
    if (size > SIZE_MAX - SN_EXPORT_HEADER)
        return NULL;
    p = a->alloc(a->user, size + SN_EXPORT_HEADER);
    if (p == NULL)
        return NULL;
    h.alloc = *a;
    h.magic = SN_EXPORT_MAGIC;
    h.size = size;
    memcpy(p, &h, sizeof h);
    return p + SN_EXPORT_HEADER;
}

void *sn_export_realloc(const sn_alloc *a, void *ptr, size_t new_size)
{
    unsigned char *base, *q;
    export_header h;
    if (ptr == NULL)
        return sn_export_malloc(a, new_size);
    if (new_size > SIZE_MAX - SN_EXPORT_HEADER)
        return NULL;
    base = (unsigned char *)ptr - SN_EXPORT_HEADER;
    memcpy(&h, base, sizeof h);
    q = h.alloc.realloc(h.alloc.user, base, h.size + SN_EXPORT_HEADER, new_size + SN_EXPORT_HEADER);
    if (q == NULL)
        return NULL;
    h.size = new_size;
    memcpy(q, &h, sizeof h);
    return q + SN_EXPORT_HEADER;
}

SEQNET_API void seqnet_free(void *ptr)
{
    unsigned char *base;
    export_header h;
    if (ptr == NULL)
        return;
    base = (unsigned char *)ptr - SN_EXPORT_HEADER;
    memcpy(&h, base, sizeof h);
    if (h.magic != SN_EXPORT_MAGIC)
        return; /* not ours: refuse to free rather than corrupt the heap */
    h.magic = 0;
    memcpy(base, &h, sizeof h);
    h.alloc.free(h.alloc.user, base, h.size + SN_EXPORT_HEADER);
}

/*
 * lib/core/alloc.c -- every allocation of the library passes through here.
 *
 * Blocks carry a 16-byte header holding their size, so callers never have to
 * remember sizes and the host's free hook still receives them (Lua-style
 * hooks want the size). Exported blocks (freed by the host with
 * seqnet_free) carry a larger header holding a copy of the hooks.
 */
#include <stdlib.h>
#include <string.h>

#include "core/sn_core.h"

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

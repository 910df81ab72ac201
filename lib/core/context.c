/*
 * lib/core/context.c -- the context: allocator hooks and the seed.
 */
#include "core/sn_core.h"

static int context_create(const sn_alloc *a, seqnet_context **out)
{
    seqnet_context *ctx = sn_malloc(a, sizeof *ctx);
    if (ctx == NULL)
        return SEQNET_ENOMEM;
    sn_object_init(&ctx->obj, SN_MAGIC_CONTEXT, a);
    ctx->seed = 0;
    *out = ctx;
    return SEQNET_OK;
}

SEQNET_API int seqnet_context_new(seqnet_context **out)
{
    sn_alloc a;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    sn_default_alloc(&a);
    return context_create(&a, out);
}

SEQNET_API int seqnet_context_new_with_allocator(seqnet_alloc_fn alloc, seqnet_realloc_fn realloc_fn,
                                                 seqnet_free_fn free_fn, void *user,
                                                 seqnet_context **out)
{
    sn_alloc a;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (alloc == NULL || realloc_fn == NULL || free_fn == NULL)
        return SEQNET_EINVAL;
    a.alloc = alloc;
    a.realloc = realloc_fn;
    a.free = free_fn;
    a.user = user;
    return context_create(&a, out);
}

SEQNET_API void seqnet_context_free(seqnet_context *ctx)
{
    sn_alloc a;
    if (ctx == NULL || ctx->obj.magic != SN_MAGIC_CONTEXT)
        return;
    a = ctx->obj.alloc;
    ctx->obj.magic = 0;
    sn_free(&a, ctx);
}

SEQNET_API int seqnet_context_set_seed(seqnet_context *ctx, uint64_t seed)
{
    if (ctx == NULL)
        return SEQNET_EINVAL;
    ctx->seed = seed;
    return SEQNET_OK;
}

SEQNET_API uint64_t seqnet_context_seed(const seqnet_context *ctx)
{
    return ctx == NULL ? 0 : ctx->seed;
}

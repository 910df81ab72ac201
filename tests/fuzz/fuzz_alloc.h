/*
 * tests/fuzz/fuzz_alloc.h -- the allocator the fuzz targets give seqnet: libc's,
 * with a per-block limit, the way a host with a memory budget would.
 *
 * A small model file may legitimately describe a network whose workspace is
 * large (a Conv1D with a huge dilation, say); what must hold is that the
 * library then fails cleanly with SEQNET_ENOMEM. The limit makes such blocks
 * fail here, below libFuzzer's own malloc limit (which would otherwise stop
 * the run as an out-of-memory "crash").
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 */
#ifndef SEQNET_FUZZ_ALLOC_H
#define SEQNET_FUZZ_ALLOC_H

#include <stdlib.h>

#include "seqnet/seqnet.h"

#define FUZZ_MAX_BLOCK ((size_t)256 << 20)

static void *fuzz_alloc(void *user, size_t size)
{
    (void)user;
    return size > FUZZ_MAX_BLOCK ? NULL : malloc(size);
}

static void *fuzz_realloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    return new_size > FUZZ_MAX_BLOCK ? NULL : realloc(ptr, new_size);
}

static void fuzz_free(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)size;
    free(ptr);
}

/* seqnet_context_new with the capped allocator. */
static int fuzz_context_new(seqnet_context **ctx)
{
    return seqnet_context_new_with_allocator(fuzz_alloc, fuzz_realloc, fuzz_free, NULL, ctx);
}

#endif

/*
 * seqnet/core.h -- context, status codes, allocator hooks, versions, memory.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * Every seqnet function that can fail returns an int status: SEQNET_OK (0)
 * on success, a negative SEQNET_E* code otherwise. Codes are pinned forever:
 * a code is never renumbered or reused. A detailed, human-readable message
 * for the last failure is kept on the handle the call was made on (read it
 * with seqnet_errmsg()); seqnet_strerror() gives the short static text of a
 * code.
 *
 * Threads: seqnet is thread-safe in libcurl's sense: it has no global
 * mutable state and no internal locking. A handle is used by one thread at a
 * time, except a compiled seqnet_model, which many threads may share
 * read-only (each with its own seqnet_session). seqnet never creates
 * threads, never prints, never opens files, never exits or aborts.
 */
#ifndef SEQNET_CORE_H
#define SEQNET_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @cond INTERNAL */
#if defined(SEQNET_BUILDING) && defined(__GNUC__)
#define SEQNET_API __attribute__((visibility("default")))
#else
#define SEQNET_API
#endif
#if defined(__GNUC__) && !defined(SEQNET_NO_WARN_UNUSED)
#define SEQNET_NODISCARD __attribute__((warn_unused_result))
#else
#define SEQNET_NODISCARD
#endif
/** @endcond */

/* ------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------ */

/** Major version: bumped on an incompatible API change. @since 0.1.0 */
#define SEQNET_VERSION_MAJOR 0
/** Minor version: bumped when functions are added. @since 0.1.0 */
#define SEQNET_VERSION_MINOR 1
/** Patch version: bug fixes only. @since 0.1.0 */
#define SEQNET_VERSION_PATCH 0
/** MAJOR*10000 + MINOR*100 + PATCH, for compile-time comparisons. @since 0.1.0 */
#define SEQNET_VERSION_NUMBER \
    (SEQNET_VERSION_MAJOR * 10000 + SEQNET_VERSION_MINOR * 100 + SEQNET_VERSION_PATCH)
/** "MAJOR.MINOR.PATCH". @since 0.1.0 */
#define SEQNET_VERSION_STRING "0.1.0"

/**
 * The version of the library linked at run time, as SEQNET_VERSION_NUMBER.
 * Never fails; thread-safe. @since 0.1.0
 */
SEQNET_API unsigned seqnet_version_number(void);

/**
 * The version of the library linked at run time, "MAJOR.MINOR.PATCH".
 * Returns a static string, never NULL; thread-safe. @since 0.1.0
 */
SEQNET_API const char *seqnet_version_string(void);

/* ------------------------------------------------------------------------
 * Status codes (pinned: never renumbered, never reused)
 * ------------------------------------------------------------------------ */

enum seqnet_status {
    SEQNET_OK = 0,               /**< success */
    SEQNET_ENOMEM = -1,          /**< an allocation failed */
    SEQNET_EINVAL = -2,          /**< an argument is invalid (NULL, out of range, bad name) */
    SEQNET_ESHAPE = -3,          /**< tensor shapes do not fit together */
    SEQNET_ERANGE = -4,          /**< an index (token id, label, node) is out of range */
    SEQNET_ENONFINITE = -5,      /**< a NaN or infinity was found in inputs, weights or a loss */
    SEQNET_EUNSUPPORTED = -6,    /**< an option id, mode or combination is not supported */
    SEQNET_ESTATE = -7,          /**< the object is not in a state that allows the call */
    SEQNET_EUTF8 = -8,           /**< invalid UTF-8 in strict mode */
    SEQNET_EFORMAT = -9,         /**< serialized bytes are malformed */
    SEQNET_ETRUNCATED = -10,     /**< serialized bytes end too early */
    SEQNET_ECHECKSUM = -11,      /**< a section checksum does not match */
    SEQNET_EVERSION = -12,       /**< the format version is newer than this library reads */
    SEQNET_EIO = -13,            /**< a host read/write callback reported failure */
    SEQNET_ECANCELED = -14,      /**< a host callback asked to stop */
    SEQNET_ETOOBIG = -15,        /**< a size would overflow or exceed a documented limit */
    SEQNET_EBUFFER = -16,        /**< the caller's buffer is too small (size reported) */
    SEQNET_EEMPTY = -17,         /**< nothing to work on (empty vocabulary, no data) */
    SEQNET_EWRONGTYPE = -18      /**< serialized bytes hold another kind of object */
};

/**
 * Short static description of a status code ("out of memory", ...).
 * Unknown codes give "unknown error". Never NULL; thread-safe. @since 0.1.0
 */
SEQNET_API const char *seqnet_strerror(int status);

/**
 * Detailed message of the last failed call made on a handle.
 *
 * @param handle  any seqnet handle (context, graph, model, session, trainer,
 *                tokenizer, vectorizer, options, data), borrowed; NULL gives
 *                "no handle".
 * @return a string owned by the handle, valid until the next call on that
 *         handle or its free; "" when the last call succeeded or set no
 *         message. Calls on a shared seqnet_model never write its message
 *         (they fail on the session instead), so reading a model's message
 *         is safe while other threads use it. Read-only calls on a fitted
 *         tokenizer or vectorizer write nothing on success, so there the
 *         message is that of the last failed call (see text.h, Threads).
 * @since 0.1.0
 */
SEQNET_API const char *seqnet_errmsg(const void *handle);

/* ------------------------------------------------------------------------
 * Allocator hooks and the context
 * ------------------------------------------------------------------------ */

/**
 * Host allocator, in the manner of Lua's lua_Alloc but split in three.
 * alloc(user, size) returns NULL on failure; realloc(user, ptr, old, size)
 * likewise (ptr is never NULL); free(user, ptr, size) frees (ptr never NULL).
 * Every block seqnet allocates goes through these. They must be thread-safe
 * if several threads create sessions from one model concurrently.
 * Alignment: blocks must be aligned for any C type (like malloc).
 */
typedef void *(*seqnet_alloc_fn)(void *user, size_t size);
typedef void *(*seqnet_realloc_fn)(void *user, void *ptr, size_t old_size, size_t new_size);
typedef void (*seqnet_free_fn)(void *user, void *ptr, size_t size);

/** A context: allocator hooks, RNG seed, last error. Opaque. @since 0.1.0 */
typedef struct seqnet_context seqnet_context;

/**
 * Create a context with libc's allocator and seed 0.
 *
 * @param out  receives the new context (set to NULL on failure).
 * @return SEQNET_OK, SEQNET_EINVAL (out is NULL), SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_context_new(seqnet_context **out);

/**
 * Create a context that allocates through host hooks.
 *
 * @param alloc, realloc, free  all three non-NULL; copied.
 * @param user  passed to each hook; borrowed, must outlive every object made
 *              from this context.
 * @param out   receives the context; the context itself is allocated with
 *              the hooks.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_context_new_with_allocator(
    seqnet_alloc_fn alloc, seqnet_realloc_fn realloc_fn, seqnet_free_fn free_fn,
    void *user, seqnet_context **out);

/**
 * Free a context. NULL is a no-op. Every object made from the context must
 * be freed first (they borrow its allocator). @since 0.1.0
 */
SEQNET_API void seqnet_context_free(seqnet_context *ctx);

/**
 * Set the seed that objects made from this context afterwards start their
 * random streams from (initializers, dropout, shuffling). Same seed, same
 * data, one thread: bit-identical results. Default 0.
 * @return SEQNET_OK, SEQNET_EINVAL (ctx NULL). @since 0.1.0
 */
SEQNET_API int seqnet_context_set_seed(seqnet_context *ctx, uint64_t seed);

/** The context's seed (0 for NULL). @since 0.1.0 */
SEQNET_API uint64_t seqnet_context_seed(const seqnet_context *ctx);

/**
 * Free a block that seqnet returned to the caller (a summary string, a
 * saved-model buffer, ...). Uses the allocator the block was made with.
 * NULL is a no-op. @since 0.1.0
 */
SEQNET_API void seqnet_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_CORE_H */

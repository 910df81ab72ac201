/*
 * seqnet/io.h -- saving and loading models (and the text objects and
 * optimizer state that travel with them) through memory buffers or host
 * callbacks. The library never opens a file: the host owns all I/O.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * One file holds: the graph (every layer's kind, name, inputs and options),
 * the weights, optionally a trainer's optimizer state (so training resumes
 * bit-identically), and optionally tokenizers and vectorizers. The format is
 * little-endian, versioned, made of typed sections with explicit lengths and
 * a CRC-32C each, with float32 tensors 64-byte aligned so a borrowed buffer
 * is used without copying; docs/FORMAT.md specifies it byte for byte.
 *
 * Loading checks every count, length, shape and index against the bytes
 * that remain and against the graph before allocating: damaged or hostile
 * input gives SEQNET_ETRUNCATED, SEQNET_ECHECKSUM, SEQNET_EFORMAT,
 * SEQNET_EVERSION, SEQNET_EWRONGTYPE or SEQNET_ETOOBIG, never a crash.
 *
 * Threads: a saver and a loader are used by one thread at a time. Saving
 * reads the model: no trainer step may run on it meanwhile.
 */
#ifndef SEQNET_IO_H
#define SEQNET_IO_H

#include "seqnet/core.h"
#include "seqnet/model.h"
#include "seqnet/text.h"
#include "seqnet/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SEQNET_IO_CALLBACKS_DEFINED
#define SEQNET_IO_CALLBACKS_DEFINED
/**
 * Host write callback: write all `size` bytes of `data`.
 * @return 0 on success, non-zero on failure (saving then fails with
 *         SEQNET_EIO). The same type as in text.h. @since 0.1.0
 */
typedef int (*seqnet_write_fn)(void *user, const void *data, size_t size);
/**
 * Host read callback: fill `data` with exactly `size` bytes.
 * @return 0 on success, non-zero when the bytes are not there (loading then
 *         fails with SEQNET_ETRUNCATED) or on failure. @since 0.1.0
 */
typedef int (*seqnet_read_fn)(void *user, void *data, size_t size);
#endif

/** Collects what one file will hold. Opaque. @since 0.1.0 */
typedef struct seqnet_saver seqnet_saver;
/** Holds what one file held, until the host takes it. Opaque. @since 0.1.0 */
typedef struct seqnet_loader seqnet_loader;

/** Load flags. */
enum seqnet_load_flag {
    /** Use the caller's buffer for the weights instead of copying them: the
     *  buffer must stay valid and unchanged for the model's lifetime, be
     *  8-byte aligned, and the model's weights cannot be trained or set. */
    SEQNET_LOAD_BORROW = 1
};

/* ---- saving ---- */

/** Create an empty saver. @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM. @since 0.1.0 */
SEQNET_API SEQNET_NODISCARD int seqnet_saver_new(seqnet_context *ctx, seqnet_saver **out);
/** Free a saver (not the objects it references); NULL is a no-op. @since 0.1.0 */
SEQNET_API void seqnet_saver_free(seqnet_saver *saver);
/** The model to save (required); borrowed until the saver is freed. @since 0.1.0 */
SEQNET_API int seqnet_saver_set_model(seqnet_saver *saver, const seqnet_model *model);
/**
 * Also save a trainer's optimizer state (kind, hyper-parameters, step count,
 * moments) and training settings; borrowed. The trainer must train the model
 * given to seqnet_saver_set_model (SEQNET_EINVAL otherwise). @since 0.1.0
 */
SEQNET_API int seqnet_saver_set_trainer(seqnet_saver *saver, const seqnet_trainer *trainer);
/** Add a tokenizer (borrowed) under a name (copied, 1..63 bytes, unique). @since 0.1.0 */
SEQNET_API int seqnet_saver_add_tokenizer(seqnet_saver *saver, const char *name,
                                          const seqnet_tokenizer *tokenizer);
/** Add a vectorizer (borrowed) under a name (copied, unique). @since 0.1.0 */
SEQNET_API int seqnet_saver_add_vectorizer(seqnet_saver *saver, const char *name,
                                           const seqnet_vectorizer *vectorizer);
/**
 * Attach a metadata string (an input schema, a training note, a version):
 * stored verbatim in the file and read back with seqnet_loader_get_meta.
 * Setting a key again replaces its value.
 * @param key    copied; 1 to 63 bytes of UTF-8.
 * @param value  copied; at most 65,536 bytes.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ETOOBIG (more than 64 keys or a
 *         value too long), SEQNET_ENOMEM. @since 0.1.0
 */
SEQNET_API int seqnet_saver_set_meta(seqnet_saver *saver, const char *key, const char *value);
/**
 * The exact number of bytes the file will take.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ESTATE (no model), SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API int seqnet_saver_size(seqnet_saver *saver, size_t *size);
/**
 * Write the file into a caller buffer.
 * @param written  receives the bytes written (may be NULL).
 * @return SEQNET_OK, SEQNET_EBUFFER (capacity too small: nothing useful was
 *         written; ask seqnet_saver_size), SEQNET_ESTATE, SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API int seqnet_saver_write_buffer(seqnet_saver *saver, void *buffer, size_t capacity,
                                         size_t *written);
/** Write the file through a host callback (in several calls). SEQNET_EIO
 *  when the callback fails. @since 0.1.0 */
SEQNET_API int seqnet_saver_write_callback(seqnet_saver *saver, seqnet_write_fn fn, void *user);
/**
 * Write the file into a block the library allocates.
 * @param out   receives the block; transferred: free it with seqnet_free().
 * @param size  receives its size.
 * @since 0.1.0
 */
SEQNET_API int seqnet_saver_write_alloc(seqnet_saver *saver, void **out, size_t *size);

/* ---- loading ---- */

/** Create a loader. @since 0.1.0 */
SEQNET_API SEQNET_NODISCARD int seqnet_loader_new(seqnet_context *ctx, seqnet_loader **out);
/** Free a loader and whatever it holds that was not taken; NULL is a no-op. @since 0.1.0 */
SEQNET_API void seqnet_loader_free(seqnet_loader *loader);
/**
 * Parse and verify a whole file from a buffer. Everything is checked
 * before anything is returned.
 * @param data   the file; copied unless flags has SEQNET_LOAD_BORROW.
 * @param flags  0 or SEQNET_LOAD_BORROW.
 * @return SEQNET_OK; SEQNET_ETRUNCATED, SEQNET_ECHECKSUM, SEQNET_EFORMAT,
 *         SEQNET_EVERSION, SEQNET_EWRONGTYPE, SEQNET_ETOOBIG,
 *         SEQNET_ENONFINITE (NaN weights), SEQNET_EUNSUPPORTED (a layer
 *         kind this version lacks), SEQNET_ENOMEM. The message on the
 *         loader says where.
 * @since 0.1.0
 */
SEQNET_API int seqnet_loader_read_buffer(seqnet_loader *loader, const void *data, size_t size,
                                         unsigned flags);
/**
 * Parse a whole file from a host read callback (the header first, then the
 * declared size, which is bounded by `max_size` before any allocation).
 * @since 0.1.0
 */
SEQNET_API int seqnet_loader_read_callback(seqnet_loader *loader, seqnet_read_fn fn, void *user,
                                           size_t max_size);
/**
 * Take the model (once). @param out  receives it; transferred: the caller
 * frees it with seqnet_model_free. @return SEQNET_OK, SEQNET_ESTATE (nothing
 * loaded or already taken). @since 0.1.0
 */
SEQNET_API int seqnet_loader_take_model(seqnet_loader *loader, seqnet_model **out);
/** Whether the file holds optimizer state (1) or not (0). @since 0.1.0 */
SEQNET_API int seqnet_loader_has_optimizer(const seqnet_loader *loader);
/**
 * Restore the saved optimizer state and training settings into a trainer
 * created on the loaded model (taken from this loader).
 * @return SEQNET_OK, SEQNET_ESTATE (no optimizer state saved), SEQNET_EINVAL
 *         (the trainer is for another model shape), SEQNET_ENOMEM. @since 0.1.0
 */
SEQNET_API int seqnet_loader_restore_trainer(const seqnet_loader *loader, seqnet_trainer *trainer);
/**
 * A metadata value by key, or NULL when the file has none under that key.
 * The string is owned by the loader (valid until it is freed or reads
 * another file). @since 0.1.0
 */
SEQNET_API const char *seqnet_loader_get_meta(const seqnet_loader *loader, const char *key);
/** Number of metadata entries in the file. @since 0.1.0 */
SEQNET_API int32_t seqnet_loader_n_meta(const seqnet_loader *loader);
/** Metadata entry `index`: key and value, owned by the loader. @since 0.1.0 */
SEQNET_API int seqnet_loader_meta(const seqnet_loader *loader, int32_t index, const char **key,
                                  const char **value);
/** Number of text objects in the file. @since 0.1.0 */
SEQNET_API int32_t seqnet_loader_n_texts(const seqnet_loader *loader);
/**
 * Describe text object `index`: its name (owned by the loader) and kind
 * (1 tokenizer, 2 vectorizer). @since 0.1.0
 */
SEQNET_API int seqnet_loader_text_info(const seqnet_loader *loader, int32_t index,
                                       const char **name, int *kind);
/** Take tokenizer `index` (transferred; free with seqnet_tokenizer_free). @since 0.1.0 */
SEQNET_API int seqnet_loader_take_tokenizer(seqnet_loader *loader, int32_t index,
                                            seqnet_tokenizer **out);
/** Take vectorizer `index` (transferred). @since 0.1.0 */
SEQNET_API int seqnet_loader_take_vectorizer(seqnet_loader *loader, int32_t index,
                                             seqnet_vectorizer **out);

/* ---- safetensors export ---- */

/**
 * Export the model's weights in the safetensors layout, for Python tools
 * (the `safetensors` package, numpy with a few lines of json and struct).
 * This is an export of the weights only, not a model file: it has no graph
 * and cannot be loaded back (save the model with a seqnet_saver for that).
 *
 * Layout (docs/FORMAT.md, appendix): a u64 little-endian header length N;
 * N bytes of a JSON object, padded with spaces so the data starts on a
 * multiple of 8; then the raw float32 little-endian data. Each tensor is
 * named "<layer name>/<weight name>" ("dense/kernel", "embedding/embeddings")
 * and described as {"dtype": "F32", "shape": [...], "data_offsets": [begin,
 * end]} with Keras's shape and offsets relative to the start of the data;
 * tensors are stored in the order of seqnet_model_weight_info (layers in
 * order, each layer's weights in Keras's get_weights() order), row-major.
 * "__metadata__" holds {"format": "seqnet", "seqnet_version": "X.Y.Z",
 * "layout": "keras"}. Layer names are escaped as JSON requires.
 *
 * Threads: reads the model only; other threads may run sessions on it
 * meanwhile, but no trainer step or seqnet_model_set_weight may run.
 * No message is stored on failure (the model is not modified).
 *
 * @param model  borrowed.
 * @param out    receives the block; transferred: free it with seqnet_free().
 *               NULL on failure.
 * @param size   receives the block's size in bytes (0 on failure).
 * @return SEQNET_OK, SEQNET_EINVAL (NULL argument or not a model),
 *         SEQNET_ETOOBIG (larger than the address space), SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API int seqnet_model_export_safetensors(const seqnet_model *model, void **out,
                                               size_t *size);
/**
 * Export the weights in the safetensors layout (as
 * seqnet_model_export_safetensors) through a host write callback, in
 * several calls, without building the whole file in memory (only the JSON
 * header is).
 * @param model  borrowed.
 * @param fn     called with consecutive pieces of the file; borrowed.
 * @param user   passed to fn unchanged.
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_EIO (fn returned non-zero:
 *         the bytes written so far are an incomplete file), SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API int seqnet_model_export_safetensors_to(const seqnet_model *model,
                                                  seqnet_write_fn fn, void *user);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_IO_H */

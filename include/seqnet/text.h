/*
 * seqnet/text.h -- the text room: Keras Tokenizer and pad_sequences,
 * scikit-learn CountVectorizer / TfidfVectorizer / HashingVectorizer.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * The same input gives the same numbers as Keras (keras-preprocessing 1.1.2,
 * Keras 3 legacy text preprocessing) and scikit-learn 1.2 on Python 3.11
 * (Unicode 14): vocabularies, indices, orderings and counts are exact,
 * floating-point values agree to a relative 1e-12. docs/TEXT.md lists every
 * place where seqnet chose a behaviour the reference leaves undefined.
 *
 * CONVENTIONS OF THIS HEADER
 *
 * Texts.  A batch of texts is passed as three arguments:
 *     const char *const *texts, const size_t *lengths, size_t n_texts
 * texts[i] points at lengths[i] bytes of UTF-8 (not NUL-terminated; embedded
 * NULs are ordinary characters). All three are borrowed for the call only.
 * texts may be NULL when n_texts is 0; texts[i] may be NULL when lengths[i]
 * is 0. Invalid UTF-8 becomes U+FFFD exactly as Python's
 * bytes.decode('utf-8', errors='replace') does (one U+FFFD per maximal
 * subpart); with the *_UTF8_STRICT option set it fails with SEQNET_EUTF8
 * instead, the message names the text and byte offset, and
 * seqnet_tokenizer_error_offset() / seqnet_vectorizer_error_offset() return
 * them.
 *
 * Sequences.  A batch of integer sequences is ragged, in CSR form:
 *     const int32_t *ids, const size_t *offsets, size_t n_seqs
 * sequence i is ids[offsets[i]] .. ids[offsets[i+1]-1]; offsets has n_seqs+1
 * non-decreasing entries, offsets[0] is normally 0. Borrowed.
 *
 * Results.  One scheme: a result whose size the caller cannot know before
 * the call (sequences, texts, sparse matrices, vocabularies, saved bytes) is
 * returned in blocks that the library allocates with the object's allocator
 * and the caller frees with seqnet_free(); on failure every such out-pointer
 * is set to NULL and nothing needs freeing. A result whose shape the caller
 * can know beforehand (dense matrices; their widths come from a query
 * function) is written into a caller buffer whose capacity, in elements, is
 * passed; a too-small buffer gives SEQNET_EBUFFER and writes nothing.
 *
 * Errors.  Every function that can fail returns SEQNET_OK or a negative
 * SEQNET_E* code (core.h). The handle keeps a detailed message, read with
 * seqnet_errmsg(handle), valid until the next call on that handle. A failed
 * call leaves the object as it was before the call (fit is all-or-nothing).
 * Every function can return SEQNET_EINVAL for a NULL handle or a NULL
 * pointer where one is required, and SEQNET_ENOMEM when the allocator fails;
 * these two are not repeated below.
 *
 * Threads.  No global state, no locking. A tokenizer or vectorizer is used
 * by one thread at a time while it is configured or fitted. Once fitted,
 * the transform functions (texts_to_sequences, sequences_to_texts,
 * texts_to_matrix, sequences_to_matrix, vectorizer transform and
 * transform_dense, lookups) write nothing to the object when they succeed:
 * several threads may share one fitted object. A call that FAILS records
 * its message (and error offset) on the object, so with invalid UTF-8 in
 * strict mode or other failing input, concurrent failures would write the
 * same object: when threads share an object, either make such failures
 * impossible (the default UTF-8 replacement never fails) or give each thread
 * its own copy (seqnet_*_load of the saved bytes). The message of a failure
 * stays until the next failing call (a success does not clear it).
 * pad_sequences has no state at all.
 *
 * Allocation.  Objects allocate through the allocator of the context they
 * were made from (core.h); the context must outlive them.
 */
#ifndef SEQNET_TEXT_H
#define SEQNET_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "seqnet/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Host I/O callbacks (shared with the model format)
 * ------------------------------------------------------------------------ */

#ifndef SEQNET_IO_CALLBACKS_DEFINED
#define SEQNET_IO_CALLBACKS_DEFINED
/**
 * Host write callback: write all `size` bytes of `data` (borrowed for the
 * call). Return 0 on success; any other value stops the save, which then
 * returns SEQNET_EIO. The same type as in io.h. @since 0.1.0
 */
typedef int (*seqnet_write_fn)(void *user, const void *data, size_t size);

/**
 * Host read callback: fill `data` with exactly `size` bytes. Return 0 on
 * success; non-zero when the bytes are not there or on failure (the load
 * then fails with SEQNET_ETRUNCATED). The same type as in io.h.
 * @since 0.1.0
 */
typedef int (*seqnet_read_fn)(void *user, void *data, size_t size);
#endif

/* ------------------------------------------------------------------------
 * Keras Tokenizer
 * ------------------------------------------------------------------------ */

/** A Keras-style tokenizer: settings, word counts and the word index. @since 0.1.0 */
typedef struct seqnet_tokenizer seqnet_tokenizer;

/**
 * Tokenizer option ids (explicit values, never renumbered).
 * Integer options are read and written with seqnet_tokenizer_set_int() /
 * _get_int(), string options with _set_string() / _get_string().
 * @since 0.1.0
 */
enum seqnet_tokenizer_option {
    /** int, default 0 (Keras None): keep index i only if i < num_words in
     *  texts_to_sequences and the matrices; 0 means no limit. Must be >= 0. */
    SEQNET_TOKENIZER_NUM_WORDS = 1,
    /** int 0/1, default 1: lowercase texts like Python str.lower(). */
    SEQNET_TOKENIZER_LOWER = 2,
    /** int 0/1, default 0: every code point is a token; filters and split
     *  are ignored (as in Keras). */
    SEQNET_TOKENIZER_CHAR_LEVEL = 3,
    /** int 0/1, default 0: invalid UTF-8 fails with SEQNET_EUTF8 instead of
     *  becoming U+FFFD. */
    SEQNET_TOKENIZER_UTF8_STRICT = 4,
    /** int 0/1, default 0: in sequences_to_matrix, an id >= the matrix
     *  width fails with SEQNET_ERANGE instead of being dropped (Keras drops
     *  it, and still counts it in the length used by mode freq). */
    SEQNET_TOKENIZER_STRICT_IDS = 5,
    /** string, default Keras's 33 characters !"#$%&()*+,-./:;<=>?@[\]^_`{|}~
     *  plus TAB and LF: every code point listed is replaced by split. */
    SEQNET_TOKENIZER_FILTERS = 16,
    /** string, default " ": the exact substring that separates tokens. An
     *  empty split is accepted here but word-level tokenization then fails
     *  with SEQNET_EINVAL ("empty separator"), as in Keras. */
    SEQNET_TOKENIZER_SPLIT = 17,
    /** string or unset (default unset, Keras None): the out-of-vocabulary
     *  token; it takes index 1 at the next fit. Set with NULL to unset. */
    SEQNET_TOKENIZER_OOV_TOKEN = 18
};

/**
 * Matrix modes of texts_to_matrix / sequences_to_matrix (Keras `mode`).
 * Like Keras, the mode is only checked when a non-empty row needs it: an
 * unknown mode with only empty sequences gives a zero matrix.
 * @since 0.1.0
 */
enum seqnet_matrix_mode {
    SEQNET_MODE_BINARY = 0, /**< 1 where the id occurs */
    SEQNET_MODE_COUNT = 1,  /**< number of occurrences */
    SEQNET_MODE_FREQ = 2,   /**< occurrences / sequence length */
    SEQNET_MODE_TFIDF = 3   /**< (1 + ln c) * ln(1 + N / (1 + df)) */
};

/**
 * Create an empty tokenizer with Keras's defaults.
 *
 * @param ctx  context whose allocator the tokenizer uses; borrowed, must
 *             outlive the tokenizer.
 * @param out  receives the tokenizer (NULL on failure); free it with
 *             seqnet_tokenizer_free().
 * @return SEQNET_OK, SEQNET_EINVAL, SEQNET_ENOMEM.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_new(seqnet_context *ctx, seqnet_tokenizer **out);

/** Free a tokenizer and everything it owns. NULL is a no-op. @since 0.1.0 */
SEQNET_API void seqnet_tokenizer_free(seqnet_tokenizer *tok);

/**
 * Set an integer option (see enum seqnet_tokenizer_option). Allowed at any
 * time, like assigning the attribute in Keras; it affects later calls.
 * @return SEQNET_OK; SEQNET_EUNSUPPORTED (unknown id or a string option);
 *         SEQNET_EINVAL (value out of range, e.g. negative num_words or a
 *         flag other than 0/1).
 * @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_set_int(seqnet_tokenizer *tok, int32_t option, int64_t value);

/**
 * Read an integer option into *value.
 * @return SEQNET_OK, SEQNET_EUNSUPPORTED (unknown id or a string option).
 * @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_get_int(const seqnet_tokenizer *tok, int32_t option, int64_t *value);

/**
 * Set a string option (filters, split, oov_token) from `len` bytes of UTF-8
 * at `value` (copied). For SEQNET_TOKENIZER_OOV_TOKEN, value NULL unsets it.
 * Filters are decoded as code points (invalid UTF-8 counts as U+FFFD, or
 * fails with SEQNET_EUTF8 in strict mode).
 * @return SEQNET_OK, SEQNET_EUNSUPPORTED (unknown id or an int option),
 *         SEQNET_EUTF8, SEQNET_EINVAL (value NULL for filters or split).
 * @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_set_string(seqnet_tokenizer *tok, int32_t option,
                                           const char *value, size_t len);

/**
 * Read a string option. *value receives a pointer owned by the tokenizer,
 * valid until the option is set again or the tokenizer is freed, NUL
 * terminated, with *len bytes (len may be NULL). An unset oov_token gives
 * *value NULL and *len 0.
 * @return SEQNET_OK, SEQNET_EUNSUPPORTED.
 * @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_get_string(const seqnet_tokenizer *tok, int32_t option,
                                           const char **value, size_t *len);

/**
 * Keras fit_on_texts: count words over `n_texts` texts and rebuild the
 * word index. Accumulates over calls (document_count, word_counts and
 * word_docs keep growing; the index is re-ranked over everything seen).
 * Ties in count keep first-appearance order over all texts ever fitted.
 * @return SEQNET_OK; SEQNET_EUTF8 (strict mode); SEQNET_EINVAL (empty split
 *         at word level); SEQNET_ETOOBIG (more than INT32_MAX - 2 words).
 *         On failure the tokenizer is unchanged.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_fit(seqnet_tokenizer *tok, const char *const *texts,
                                                     const size_t *lengths, size_t n_texts);

/**
 * Keras fit_on_sequences: document_count += n_seqs; for each sequence,
 * index_docs[i] += 1 for each distinct id i. Only mode tfidf uses this.
 * @return SEQNET_OK; SEQNET_ERANGE (a negative id; Keras would accept it,
 *         seqnet rejects it because it can never be a column);
 *         SEQNET_EINVAL (offsets decreasing). On failure nothing changes.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_fit_sequences(seqnet_tokenizer *tok, const int32_t *ids,
                                                               const size_t *offsets, size_t n_seqs);

/**
 * Keras texts_to_sequences. Words with index >= num_words (when set) become
 * the OOV index if an oov_token is set, else are dropped; unknown words
 * likewise.
 *
 * @param ids_out      receives all ids, concatenated (seqnet_free()); may
 *                     be a valid pointer to a 0-length block.
 * @param offsets_out  receives n_texts + 1 offsets into *ids_out
 *                     (seqnet_free()).
 * @return SEQNET_OK; SEQNET_EUTF8; SEQNET_EINVAL (empty split);
 *         SEQNET_ESTATE (oov_token set but not in the word index, e.g. an
 *         unfitted tokenizer: Keras would emit None).
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_texts_to_sequences(
    seqnet_tokenizer *tok, const char *const *texts, const size_t *lengths, size_t n_texts,
    int32_t **ids_out, size_t **offsets_out);

/**
 * Keras sequences_to_texts: each sequence becomes its words joined by one
 * space; ids without a word are skipped (or become the OOV token when one
 * is set), ids >= num_words become the OOV token or are skipped.
 *
 * @param text_out     receives the texts concatenated, with a NUL after
 *                     the last one (seqnet_free()).
 * @param offsets_out  receives n_seqs + 1 byte offsets into *text_out
 *                     (seqnet_free()); text i spans offsets[i]..offsets[i+1].
 * @return SEQNET_OK, SEQNET_ESTATE (oov_token set but not indexed).
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_sequences_to_texts(
    seqnet_tokenizer *tok, const int32_t *ids, const size_t *offsets, size_t n_seqs,
    char **text_out, size_t **offsets_out);

/**
 * Width of the matrices: num_words when set, else the number of entries of
 * the word index + 1.
 * @return SEQNET_OK; SEQNET_ESTATE (no num_words and nothing fitted: Keras's
 *         "Specify a dimension").
 * @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_matrix_width(const seqnet_tokenizer *tok, size_t *width);

/**
 * Keras sequences_to_matrix into a dense row-major float64 buffer of
 * n_seqs x width (width from seqnet_tokenizer_matrix_width()). Column 0 is
 * zero unless a sequence contains 0. Ids >= width are dropped (they still
 * count in the length used by mode freq) unless SEQNET_TOKENIZER_STRICT_IDS
 * is set.
 *
 * @param mode     an enum seqnet_matrix_mode value.
 * @param out      caller buffer of out_len doubles; every element is written.
 * @return SEQNET_OK; SEQNET_ESTATE (no width; or tfidf with document_count
 *         0: "fit the tokenizer first"); SEQNET_EBUFFER (out_len <
 *         n_seqs * width); SEQNET_ERANGE (a negative id, or an id >= width
 *         in strict-ids mode); SEQNET_EUNSUPPORTED (unknown mode with a
 *         non-empty sequence). On failure the buffer's content is undefined.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_sequences_to_matrix(
    seqnet_tokenizer *tok, const int32_t *ids, const size_t *offsets, size_t n_seqs,
    int32_t mode, double *out, size_t out_len);

/**
 * Keras texts_to_matrix = sequences_to_matrix(texts_to_sequences(texts)).
 * Errors of both. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_texts_to_matrix(
    seqnet_tokenizer *tok, const char *const *texts, const size_t *lengths, size_t n_texts,
    int32_t mode, double *out, size_t out_len);

/** Keras document_count (0 when unfitted). @since 0.1.0 */
SEQNET_API int seqnet_tokenizer_document_count(const seqnet_tokenizer *tok, int64_t *count);

/** Number of distinct words counted (len(word_counts)). @since 0.1.0 */
SEQNET_API int seqnet_tokenizer_word_count(const seqnet_tokenizer *tok, size_t *n_words);

/**
 * Export the vocabulary in word_counts order (first appearance).
 * Each out-pointer may be NULL if that column is not wanted; the others
 * receive seqnet_free() blocks of *n_words entries:
 *   words/word_offsets: the words concatenated (NUL after the last) and
 *     n_words + 1 offsets; counts: word_counts; docs: word_docs;
 *   indices: the word's word_index value (the OOV token itself is not a
 *     word here; see seqnet_tokenizer_lookup()).
 * @return SEQNET_OK. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_export_words(
    const seqnet_tokenizer *tok, char **words, size_t **word_offsets, int64_t **counts,
    int64_t **docs, int32_t **indices, size_t *n_words);

/**
 * word_index.get(word): *index receives the index, or 0 when the word has
 * none. The word (len bytes, borrowed) is matched exactly, not lowercased.
 * @return SEQNET_OK. @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_lookup(const seqnet_tokenizer *tok, const char *word, size_t len,
                                       int32_t *index);

/**
 * index_word[index]: *word receives a pointer owned by the tokenizer (NUL
 * terminated, valid until the next fit, load or free), *len its length.
 * @return SEQNET_OK; SEQNET_ERANGE (no word has that index).
 * @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_index_word(const seqnet_tokenizer *tok, int32_t index,
                                           const char **word, size_t *len);

/**
 * Number of entries of the word index (len(word_index)): the words plus the
 * OOV token when it was set at the last fit and is not itself a word.
 * @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_index_size(const seqnet_tokenizer *tok, size_t *n_entries);

/**
 * Export index_docs sorted by index: *indices and *docs receive seqnet_free()
 * blocks of *n entries.
 * @return SEQNET_OK. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_export_index_docs(
    const seqnet_tokenizer *tok, int32_t **indices, int64_t **docs, size_t *n);

/**
 * Byte offset of the first invalid UTF-8 byte found by the last call that
 * failed with SEQNET_EUTF8, and the number of the text it was in (for
 * string options, text is 0). Both may be NULL.
 * @return SEQNET_OK, SEQNET_ESTATE (the last failure was not SEQNET_EUTF8).
 * @since 0.1.0
 */
SEQNET_API int seqnet_tokenizer_error_offset(const seqnet_tokenizer *tok, size_t *text, size_t *offset);

/**
 * Serialize the tokenizer (settings, counts, index) into a new block.
 * *data receives a seqnet_free() block of *size bytes. The format is
 * little-endian, versioned, with a CRC-32C (docs/TEXT.md).
 * @return SEQNET_OK, SEQNET_ETOOBIG. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_save(const seqnet_tokenizer *tok, void **data, size_t *size);

/**
 * Serialize through a host callback (called one or more times).
 * @return SEQNET_OK, SEQNET_EIO (the callback failed). @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_save_to(const seqnet_tokenizer *tok, seqnet_write_fn write,
                                                         void *user);

/**
 * Rebuild a tokenizer from `size` bytes (borrowed) made by
 * seqnet_tokenizer_save(). Every length is checked before anything is
 * allocated; hostile bytes give an error, never a crash.
 * @param out  receives the tokenizer; on failure NULL, and the message is
 *             on ctx.
 * @return SEQNET_OK; SEQNET_EFORMAT (not seqnet text data, or inconsistent
 *         content); SEQNET_ETRUNCATED; SEQNET_ECHECKSUM; SEQNET_EVERSION
 *         (made by a newer format); SEQNET_EWRONGTYPE (a vectorizer);
 *         SEQNET_ETOOBIG.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_load(seqnet_context *ctx, const void *data, size_t size,
                                                      seqnet_tokenizer **out);

/**
 * Like seqnet_tokenizer_load(), reading through a host callback exactly
 * the bytes of one object (never past its end), so several objects can be
 * read in a row from one stream. The payload is read in chunks of at most
 * 64 KiB into a buffer that grows with the bytes delivered.
 * @return as seqnet_tokenizer_load() (a failing callback gives
 *         SEQNET_ETRUNCATED). @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_tokenizer_load_from(seqnet_context *ctx, seqnet_read_fn read,
                                                           void *user, seqnet_tokenizer **out);

/* ------------------------------------------------------------------------
 * pad_sequences
 * ------------------------------------------------------------------------ */

/** Padding / truncating side (Keras 'pre' / 'post'). @since 0.1.0 */
enum seqnet_pad_side {
    SEQNET_PAD_PRE = 0,
    SEQNET_PAD_POST = 1
};

/** Output element types of seqnet_pad_sequences_f64(). @since 0.1.0 */
enum seqnet_dtype {
    SEQNET_DTYPE_INT32 = 1,
    SEQNET_DTYPE_INT64 = 2,
    SEQNET_DTYPE_FLOAT32 = 3,
    SEQNET_DTYPE_FLOAT64 = 4
};

/**
 * Keras pad_sequences for int32 ids: an n_seqs x cols row-major int32
 * matrix, cols = maxlen, or the longest sequence when maxlen < 0 (Keras
 * None). truncating PRE keeps the last cols ids, POST the first; padding
 * PRE right-aligns, POST left-aligns; empty sequences give rows of `value`.
 * Like Keras, padding/truncating are only checked when a non-empty sequence
 * needs them. Unlike Keras, maxlen 0 gives n_seqs x 0 for both truncating
 * sides (Keras raises a numpy broadcast error for 'pre').
 *
 * @param out      caller buffer of out_len int32; NULL (with out_len 0) is
 *                 a size query that only sets *cols.
 * @param cols     receives the number of columns (may be NULL).
 * @return SEQNET_OK; SEQNET_EEMPTY (maxlen < 0 and n_seqs == 0: Keras
 *         raises); SEQNET_EBUFFER (out too small; *cols is set);
 *         SEQNET_EUNSUPPORTED (bad padding/truncating); SEQNET_EINVAL
 *         (offsets decreasing); SEQNET_ETOOBIG (n_seqs * cols overflows).
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_pad_sequences(const int32_t *ids, const size_t *offsets,
                                                     size_t n_seqs, int64_t maxlen, int32_t padding,
                                                     int32_t truncating, int32_t value, int32_t *out,
                                                     size_t out_len, size_t *cols);

/**
 * pad_sequences for float64 values with a numpy-like output dtype (an enum
 * seqnet_dtype value); `out` holds out_len elements of that type. Values and
 * `value` are cast like numpy's astype: toward zero for integer types,
 * rounded to nearest for float32. Unlike numpy, a NaN, an infinity or a
 * value outside the integer type's range fails with SEQNET_ERANGE instead of
 * giving a platform-defined number.
 * @return as seqnet_pad_sequences(), plus SEQNET_ERANGE and
 *         SEQNET_EUNSUPPORTED for an unknown dtype.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_pad_sequences_f64(const double *values, const size_t *offsets,
                                                         size_t n_seqs, int64_t maxlen, int32_t padding,
                                                         int32_t truncating, double value, int32_t dtype,
                                                         void *out, size_t out_len, size_t *cols);

/* ------------------------------------------------------------------------
 * scikit-learn vectorizers
 * ------------------------------------------------------------------------ */

/** A CountVectorizer, TfidfVectorizer or HashingVectorizer. @since 0.1.0 */
typedef struct seqnet_vectorizer seqnet_vectorizer;

/** Vectorizer kinds. @since 0.1.0 */
enum seqnet_vectorizer_kind {
    SEQNET_VECTORIZER_COUNT = 1,  /**< CountVectorizer: counts */
    SEQNET_VECTORIZER_TFIDF = 2,  /**< TfidfVectorizer: counts + TfidfTransformer */
    SEQNET_VECTORIZER_HASHING = 3 /**< HashingVectorizer: stateless, MurmurHash3 */
};

/** Row normalisation (TfidfVectorizer and HashingVectorizer `norm`). @since 0.1.0 */
enum seqnet_norm {
    SEQNET_NORM_NONE = 0,
    SEQNET_NORM_L1 = 1,
    SEQNET_NORM_L2 = 2
};

/**
 * Vectorizer option ids (explicit values, never renumbered). Each says
 * which kinds use it; setting an option of another kind is accepted and
 * ignored, so one code path can configure any kind.
 * @since 0.1.0
 */
enum seqnet_vectorizer_option {
    /** int 0/1, default 1 (all kinds): Python str.lower() before tokenizing. */
    SEQNET_VECTORIZER_LOWERCASE = 1,
    /** int >= 1, default 1 (all): smallest n of the word n-grams. */
    SEQNET_VECTORIZER_NGRAM_MIN = 2,
    /** int >= 1, default 1 (all): largest n; must be >= NGRAM_MIN at fit. */
    SEQNET_VECTORIZER_NGRAM_MAX = 3,
    /** count/tfidf. set_int: an absolute document count (>= 0); set_double:
     *  a fraction in [0, 1] of the fitted documents. Default 1.0 (fraction).
     *  As in sklearn, the integer 1 means "at most 1 document". */
    SEQNET_VECTORIZER_MAX_DF = 4,
    /** count/tfidf. Like MAX_DF; default int 1. */
    SEQNET_VECTORIZER_MIN_DF = 5,
    /** int, default 0 (None) (count/tfidf): keep the k terms with the largest
     *  total count; ties: count descending, then term ascending. */
    SEQNET_VECTORIZER_MAX_FEATURES = 6,
    /** int 0/1, default 0 (all): counts become 1 before anything else. */
    SEQNET_VECTORIZER_BINARY = 7,
    /** int 0/1, default 0 (all): the 318-word scikit-learn 'english' list. */
    SEQNET_VECTORIZER_STOP_WORDS_ENGLISH = 8,
    /** int enum seqnet_norm, default L2 (tfidf, hashing). */
    SEQNET_VECTORIZER_NORM = 9,
    /** int 0/1, default 1 (tfidf). */
    SEQNET_VECTORIZER_USE_IDF = 10,
    /** int 0/1, default 1 (tfidf). */
    SEQNET_VECTORIZER_SMOOTH_IDF = 11,
    /** int 0/1, default 0 (tfidf): tf becomes 1 + ln(tf). */
    SEQNET_VECTORIZER_SUBLINEAR_TF = 12,
    /** int in [1, INT32_MAX - 1], default 1048576 (hashing). */
    SEQNET_VECTORIZER_N_FEATURES = 13,
    /** int 0/1, default 1 (hashing): the sign of the hash signs the value. */
    SEQNET_VECTORIZER_ALTERNATE_SIGN = 14,
    /** int 0/1, default 0 (all): invalid UTF-8 fails with SEQNET_EUTF8
     *  (scikit-learn's decode_error='strict') instead of becoming U+FFFD. */
    SEQNET_VECTORIZER_UTF8_STRICT = 15
};

/**
 * Create a vectorizer of `kind` with scikit-learn's defaults.
 * @param ctx  borrowed; must outlive the vectorizer.
 * @param out  receives the vectorizer (NULL on failure).
 * @return SEQNET_OK, SEQNET_EUNSUPPORTED (unknown kind).
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_new(seqnet_context *ctx, int32_t kind,
                                                      seqnet_vectorizer **out);

/** Free a vectorizer. NULL is a no-op. @since 0.1.0 */
SEQNET_API void seqnet_vectorizer_free(seqnet_vectorizer *vec);

/** The kind given at creation (0 for NULL). @since 0.1.0 */
SEQNET_API int32_t seqnet_vectorizer_kind(const seqnet_vectorizer *vec);

/**
 * Set an integer option. Settings take effect at the next fit (or, for the
 * analyzer settings, at the next transform too).
 * @return SEQNET_OK, SEQNET_EUNSUPPORTED (unknown id), SEQNET_EINVAL (value
 *         out of range, the message says the range).
 * @since 0.1.0
 */
SEQNET_API int seqnet_vectorizer_set_int(seqnet_vectorizer *vec, int32_t option, int64_t value);

/**
 * Set a floating-point option (MAX_DF and MIN_DF as fractions).
 * @return SEQNET_OK, SEQNET_EUNSUPPORTED (unknown id or an int-only
 *         option), SEQNET_EINVAL (not in [0, 1], or NaN).
 * @since 0.1.0
 */
SEQNET_API int seqnet_vectorizer_set_double(seqnet_vectorizer *vec, int32_t option, double value);

/**
 * Read an option. For MAX_DF / MIN_DF, *is_fraction (may be NULL) tells
 * whether it is a fraction (value in *dvalue) or a count (in *ivalue);
 * other options set *ivalue. Either pointer may be NULL.
 * @return SEQNET_OK, SEQNET_EUNSUPPORTED.
 * @since 0.1.0
 */
SEQNET_API int seqnet_vectorizer_get_option(const seqnet_vectorizer *vec, int32_t option, int64_t *ivalue,
                                            double *dvalue, int32_t *is_fraction);

/**
 * Use a custom stop-word list (scikit-learn `stop_words=[...]`): tokens equal
 * to one of the n words (UTF-8, copied, not lowercased) are removed before
 * n-grams are built. n = 0 clears the custom list. Combined with
 * STOP_WORDS_ENGLISH, both lists apply.
 * @return SEQNET_OK. @since 0.1.0
 */
SEQNET_API int seqnet_vectorizer_set_stop_words(seqnet_vectorizer *vec, const char *const *words,
                                                const size_t *lengths, size_t n_words);

/**
 * Fix the vocabulary (scikit-learn `vocabulary=[...]`, list form): column j
 * is words[j]; no pruning (max_df, min_df, max_features are ignored).
 * n = 0 returns to learning the vocabulary at fit. The words are copied.
 * The hashing kind ignores it. Setting or clearing it discards any fit.
 * @return SEQNET_OK, SEQNET_EINVAL (a duplicate word; the message names it).
 * @since 0.1.0
 */
SEQNET_API int seqnet_vectorizer_set_vocabulary(seqnet_vectorizer *vec, const char *const *words,
                                                const size_t *lengths, size_t n_words);

/**
 * Learn the vocabulary (and the idf for tfidf) from n_texts texts. Replaces
 * any previous fit. For the hashing kind this only checks the settings.
 * @return SEQNET_OK; SEQNET_EUTF8; SEQNET_EEMPTY ("empty vocabulary" or
 *         "after pruning, no terms remain"); SEQNET_EINVAL (ngram_min >
 *         ngram_max, or max_df corresponds to fewer documents than min_df);
 *         SEQNET_ETOOBIG.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_fit(seqnet_vectorizer *vec, const char *const *texts,
                                                      const size_t *lengths, size_t n_texts);

/**
 * Transform texts into a sparse CSR matrix of n_texts rows and
 * seqnet_vectorizer_n_features() columns, column indices sorted within each
 * row. Out-of-vocabulary terms are ignored. All three blocks are
 * seqnet_free(): *indptr_out has n_texts + 1 entries, *indices_out and
 * *data_out have (*indptr_out)[n_texts] entries (the blocks exist even when
 * that is 0). Count values are exact integers stored as doubles. Like
 * scikit-learn, the hashing kind keeps explicit zeros where signed hashes
 * cancel.
 * @return SEQNET_OK; SEQNET_ESTATE (count/tfidf not fitted); SEQNET_EUTF8;
 *         SEQNET_EEMPTY (hashing with n_texts 0: "cannot vectorize empty
 *         sequence"); SEQNET_ENONFINITE (tfidf: a term whose idf is
 *         infinite occurs, possible only with a fixed vocabulary and
 *         smooth_idf 0).
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_transform(seqnet_vectorizer *vec, const char *const *texts,
                                                            const size_t *lengths, size_t n_texts,
                                                            size_t **indptr_out, int32_t **indices_out,
                                                            double **data_out);

/**
 * fit then transform on the same texts, tokenizing them once.
 * @return the errors of fit and transform. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_fit_transform(seqnet_vectorizer *vec,
                                                                const char *const *texts,
                                                                const size_t *lengths, size_t n_texts,
                                                                size_t **indptr_out, int32_t **indices_out,
                                                                double **data_out);

/**
 * Transform into a dense row-major float64 buffer of n_texts x n_features
 * doubles (every element written).
 * @return as seqnet_vectorizer_transform(), plus SEQNET_EBUFFER.
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_transform_dense(seqnet_vectorizer *vec,
                                                                  const char *const *texts,
                                                                  const size_t *lengths, size_t n_texts,
                                                                  double *out, size_t out_len);

/**
 * Number of columns: the vocabulary size (count/tfidf, after fit or with a
 * fixed vocabulary) or N_FEATURES (hashing).
 * @return SEQNET_OK, SEQNET_ESTATE (not fitted). @since 0.1.0
 */
SEQNET_API int seqnet_vectorizer_n_features(const seqnet_vectorizer *vec, size_t *n_features);

/**
 * get_feature_names_out(): the terms in column order, concatenated with a
 * NUL after the last, and n + 1 offsets (both seqnet_free()).
 * @return SEQNET_OK, SEQNET_ESTATE (not fitted, or the hashing kind).
 * @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_feature_names(const seqnet_vectorizer *vec, char **names,
                                                                size_t **offsets, size_t *n);

/**
 * stop_words_: the terms removed by max_df, min_df and max_features at the
 * last fit, in code-point order (same block scheme as feature_names).
 * @return SEQNET_OK, SEQNET_ESTATE. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_pruned_terms(const seqnet_vectorizer *vec, char **terms,
                                                               size_t **offsets, size_t *n);

/**
 * vocabulary_.get(term): *column receives the column or -1.
 * @return SEQNET_OK, SEQNET_ESTATE. @since 0.1.0
 */
SEQNET_API int seqnet_vectorizer_lookup(const seqnet_vectorizer *vec, const char *term, size_t len,
                                        int64_t *column);

/**
 * idf_: copy the n_features idf values into a caller buffer of out_len.
 * @return SEQNET_OK, SEQNET_ESTATE (not a fitted tfidf with use_idf),
 *         SEQNET_EBUFFER.
 * @since 0.1.0
 */
SEQNET_API int seqnet_vectorizer_idf(const seqnet_vectorizer *vec, double *out, size_t out_len);

/** As seqnet_tokenizer_error_offset(). @since 0.1.0 */
SEQNET_API int seqnet_vectorizer_error_offset(const seqnet_vectorizer *vec, size_t *text, size_t *offset);

/** As seqnet_tokenizer_save(): settings, vocabulary, idf. @since 0.1.0 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_save(const seqnet_vectorizer *vec, void **data, size_t *size);

/** As seqnet_tokenizer_save_to(). @since 0.1.0 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_save_to(const seqnet_vectorizer *vec, seqnet_write_fn write,
                                                          void *user);

/** As seqnet_tokenizer_load() (SEQNET_EWRONGTYPE for a tokenizer). @since 0.1.0 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_load(seqnet_context *ctx, const void *data, size_t size,
                                                       seqnet_vectorizer **out);

/** As seqnet_tokenizer_load_from(). @since 0.1.0 */
SEQNET_API SEQNET_NODISCARD int seqnet_vectorizer_load_from(seqnet_context *ctx, seqnet_read_fn read,
                                                            void *user, seqnet_vectorizer **out);

/* ------------------------------------------------------------------------
 * Unicode helpers (the exact behaviours the rooms above use)
 * ------------------------------------------------------------------------ */

/**
 * Decode UTF-8 and lowercase it like Python 3.11's bytes.decode('utf-8',
 * errors) followed by str.lower() (full mapping, Final_Sigma).
 * @param lower   0 only decodes/validates, 1 also lowercases.
 * @param strict  0 replaces invalid bytes with U+FFFD, 1 fails.
 * @param out     receives a seqnet_free() block of *out_len bytes of valid
 *                UTF-8 plus a NUL.
 * @param bad_offset  receives the byte offset of the first invalid byte on
 *                SEQNET_EUTF8 (may be NULL).
 * @return SEQNET_OK, SEQNET_EUTF8, SEQNET_EINVAL, SEQNET_ENOMEM.
 * Uses libc's allocator; thread-safe. @since 0.1.0
 */
SEQNET_API SEQNET_NODISCARD int seqnet_text_lower(const char *text, size_t len, int32_t lower, int32_t strict,
                                                  char **out, size_t *out_len, size_t *bad_offset);

/**
 * 1 if the code point is a regular-expression word character in Python 3.11
 * (`\w`: str.isalnum() or '_'), else 0. Thread-safe. @since 0.1.0
 */
SEQNET_API int32_t seqnet_text_is_word_char(uint32_t codepoint);

/**
 * The Unicode version seqnet's text behaviour follows ("14.0.0"), and the
 * version of the utf8proc tables it corrects (both static). @since 0.1.0
 */
SEQNET_API const char *seqnet_text_unicode_version(void);
/** @copydoc seqnet_text_unicode_version */
SEQNET_API const char *seqnet_text_utf8proc_unicode_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_TEXT_H */

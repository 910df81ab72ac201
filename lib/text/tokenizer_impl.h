/*
 * lib/text/tokenizer_impl.h -- the tokenizer's private layout, shared by
 * tokenizer.c (settings, tokenizing, fit), tokenizer_ops.c (transforms,
 * queries) and tokenizer_io.c (serialization).
 */
#ifndef SN_TOKENIZER_IMPL_H
#define SN_TOKENIZER_IMPL_H

#include "text/text_internal.h"

/* int32 index -> int64 df (Keras index_docs); open addressing, key -1 empty. */
typedef struct sn_intmap {
    int32_t *keys;
    int64_t *vals;
    size_t n, mask;
} sn_intmap;

struct seqnet_tokenizer {
    sn_object obj;
    /* settings */
    int64_t num_words;
    int lower, char_level, strict, strict_ids;
    char *filters;  /* as given (NUL-terminated copy) */
    size_t filters_len;
    sn_cpset filter_set;
    char *split;    /* valid UTF-8 (decoded with replacement), NUL-terminated */
    size_t split_len;
    char *oov;      /* NULL when unset */
    size_t oov_len;
    /* state */
    int64_t document_count;
    sn_strtab words;      /* ids in first-appearance order = word_counts order */
    int64_t *counts, *docs;
    int32_t *index;       /* word_index value of each id */
    uint32_t *by_rank;    /* ids by count desc, ties by first appearance */
    size_t arr_cap;       /* capacity of counts/docs/index/by_rank */
    int has_fit_oov;      /* an oov_token was set at the last fit */
    char *fit_oov;
    size_t fit_oov_len;
    sn_intmap idocs;
    /* last EUTF8 location */
    int have_bad;
    size_t bad_text, bad_offset;
};

int sn_intmap_reserve(const sn_alloc *a, sn_intmap *m, size_t n);
void sn_intmap_free(const sn_alloc *a, sn_intmap *m);
int64_t *sn_intmap_slot(sn_intmap *m, int32_t key); /* insert (0) if absent; needs reserve */
int64_t sn_intmap_get(const sn_intmap *m, int32_t key);

/* Tokenize one text into tok's scratch spans; *base receives the buffer the
 * spans index. */
int sn_tokenizer_tokens(const seqnet_tokenizer *tok, sn_scratch *sc, const uint8_t *text, size_t len,
                        const uint8_t **base);
/* word_index.get(): 0 when absent. */
int32_t sn_tokenizer_index_of(const seqnet_tokenizer *tok, const uint8_t *w, size_t n);
int32_t sn_tokenizer_index_hashed(const seqnet_tokenizer *tok, const uint8_t *w, size_t n, uint64_t h);
/* Rebuild ranks and indices after counts changed; allocations must have
 * been reserved (never fails). */
void sn_tokenizer_rank(seqnet_tokenizer *tok);
int sn_tokenizer_reserve(seqnet_tokenizer *tok, size_t n_words);
int sn_tokenizer_create(const sn_alloc *a, seqnet_tokenizer **out);
int sn_tokenizer_set_oov_fit(seqnet_tokenizer *tok);

#endif /* SN_TOKENIZER_IMPL_H */

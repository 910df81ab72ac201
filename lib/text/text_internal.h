/*
 * lib/text/text_internal.h -- shared pieces of the text room: UTF-8 and
 * Unicode classes, per-call scratch buffers, the interning hash table, and
 * the two analyzers (Keras word split, scikit-learn word n-grams).
 *
 * Nothing here is exported. Every allocation goes through an sn_alloc that
 * belongs to the object being worked on.
 */
#ifndef SN_TEXT_INTERNAL_H
#define SN_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/sn_core.h"
#include "seqnet/text.h"

#define SN_REPLACEMENT_CHAR 0xFFFDu

/* ---- UTF-8 (utf8.c) ---------------------------------------------------- */

/* Decode one code point at s[*pos] (pos < n). Returns 1 for a valid
 * sequence, 0 for an invalid one; either way *cp is set (U+FFFD when
 * invalid) and *pos advances past the maximal subpart, which is exactly
 * how Python's 'replace' handler groups bad bytes. */
int sn_utf8_next(const uint8_t *s, size_t n, size_t *pos, uint32_t *cp);
/* Encode a scalar value; returns the byte count (1..4). */
size_t sn_utf8_put(uint32_t cp, uint8_t *out);

/* ---- Unicode classes (unicode.c): Python 3.11 semantics ---------------- */

int sn_uni_is_word(uint32_t cp);           /* re \w: isalnum() or '_' */
uint32_t sn_uni_lower1(uint32_t cp);       /* one-code-point lowercase (not U+0130) */
int sn_uni_case_ignorable(uint32_t cp);
int sn_uni_cased(uint32_t cp);             /* Cased, for non-ignorable code points */

/* ---- scratch memory reused across the texts of one call ---------------- */

typedef struct sn_span {
    size_t off;
    size_t len;
} sn_span;

typedef struct sn_scratch {
    const sn_alloc *alloc;
    uint32_t *cps;      /* decoded code points */
    size_t cps_cap;
    uint8_t *norm;      /* normalised (valid, maybe lowercased) UTF-8 */
    size_t norm_cap;
    uint8_t *aux;       /* Keras multi-character split: translated text; n-grams */
    size_t aux_cap;
    sn_span *spans;     /* token spans of the current text */
    size_t n_spans, spans_cap;
    uint64_t *hashes;   /* per span, computed ahead so lookups can be prefetched */
    size_t hashes_cap;
    size_t *gram_end;   /* n-grams of one n: end of each joined gram in aux */
    size_t gram_end_cap;
    uint64_t *gram_hash; /* ... and its hash, computed ahead for prefetching */
    size_t gram_hash_cap;
    size_t bad_offset;  /* EUTF8: byte offset in the text */
    int padded;         /* sn_analyze_words: its base has SN_TEXT_PAD zero bytes after the text */
} sn_scratch;

void sn_scratch_init(sn_scratch *sc, const sn_alloc *a);
void sn_scratch_free(sn_scratch *sc);
int sn_scratch_reserve(const sn_alloc *a, void **buf, size_t *cap, size_t need, size_t elem);
int sn_spans_push(sn_scratch *sc, size_t off, size_t len);

/* Decode (replace or strict) and optionally lowercase `s` into valid UTF-8.
 * *out points at either `s` itself (pure ASCII, no lowercasing needed) or
 * sc->norm. Returns SEQNET_OK, SEQNET_EUTF8 (sc->bad_offset set),
 * SEQNET_ENOMEM or SEQNET_ETOOBIG. */
int sn_text_normalize(sn_scratch *sc, const uint8_t *s, size_t n, int lower, int strict,
                      const uint8_t **out, size_t *out_len);

/* Pure-ASCII fast paths (utf8.c). sn_ascii_lower copies s into out (n + 1
 * bytes, NUL-terminated), ASCII-lowercased when `lower`, and returns 1; it
 * returns 0 as soon as a byte >= 0x80 shows up. sn_ascii_runs writes the
 * maximal runs of bytes with is_tok[b] != 0 (is_tok has 128 entries; s
 * must be ASCII) into spans, which must hold n / 2 + 1; returns the count. */
int sn_ascii_lower(const uint8_t *s, size_t n, uint8_t *out, int lower);
/* 'A'..'Z' to 'a'..'z' in 8 bytes that are all below 0x80: per byte,
 * x + 0x3F sets bit 7 iff x >= 'A', x + 0x25 iff x > 'Z'; no carry
 * crosses a byte. */
static inline uint64_t sn_ascii_lower8(uint64_t w)
{
    const uint64_t hi = 0x8080808080808080ull, ones = 0x0101010101010101ull;
    return w + (((w + 0x3F * ones) & ~(w + 0x25 * ones) & hi) >> 2);
}
size_t sn_ascii_runs(const uint8_t *s, size_t n, const uint8_t *is_tok, sn_span *spans);

/* ---- set of code points (Keras filters) -------------------------------- */

typedef struct sn_cpset {
    uint64_t ascii[2];
    uint32_t *extra; /* sorted non-ASCII members */
    size_t n_extra;
} sn_cpset;

int sn_cpset_build(const sn_alloc *a, sn_cpset *set, const uint8_t *s, size_t n, int strict,
                   size_t *bad_offset);
void sn_cpset_free(const sn_alloc *a, sn_cpset *set);
int sn_cpset_has(const sn_cpset *set, uint32_t cp);

/* ---- string interning hash table (strtab.c) ---------------------------- */

/* Strings live in one arena (no per-string allocation); ids are dense,
 * in insertion order. A slot (32 bytes, aligned, so one cache line) holds
 * the first 16 bytes of its string, its arena offset, a 24-bit tag from
 * the hash with the length (clamped to 255), and id + 1: strings of up to
 * 16 bytes are found from the slot alone, longer ones compare the rest
 * with the arena through the slot's offset (one cache miss, not two). */
typedef struct sn_slot {
    uint64_t head;     /* bytes 0..7, zero-padded */
    uint64_t tail;     /* bytes 8..15, zero-padded (0 up to 8 bytes) */
    uint64_t off;      /* offset of the string in the arena */
    uint32_t key;      /* hash tag << 8 | min(length, 255) */
    uint32_t id1;      /* id + 1; 0 marks an empty slot */
} sn_slot;

typedef struct sn_strtab {
    const sn_alloc *alloc;
    char *arena;
    size_t arena_len, arena_cap;
    size_t *off;       /* per id: offset in arena (string is NUL-terminated) */
    uint32_t *len;     /* per id: byte length */
    size_t n, cap;
    sn_slot *slots;    /* 64-byte aligned inside slots_mem */
    void *slots_mem;
    size_t mask;       /* n_slots - 1 (power of two), 0 before the first insert */
} sn_strtab;

/* The first 8 bytes of s (zero-padded), read without touching s[n..]. */
static inline uint64_t sn_head8(const uint8_t *p, size_t n)
{
    uint64_t w = 0;
    uint32_t lo, hi;
    if (n >= 8) {
        memcpy(&w, p, 8);
        return w;
    }
    if (n >= 4) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* two overlapping loads: bytes 0..3 and n-4..n-1 in place */
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t)lo | ((uint64_t)hi << (8 * (n - 4)));
#else
        size_t i;
        (void)lo;
        (void)hi;
        for (i = 0; i < n; i++)
            w |= (uint64_t)p[i] << (8 * i);
        return w;
#endif
    }
    if (n == 0)
        return 0;
    return (uint64_t)p[0] | ((uint64_t)p[n / 2] << (8 * (n / 2))) | ((uint64_t)p[n - 1] << (8 * (n - 1)));
}

static inline uint32_t sn_slot_key(uint64_t h, size_t n)
{
    return ((uint32_t)(h >> 40) << 8) | (uint32_t)(n < 255 ? n : 255);
}

/* Prefetch the slot a lookup of hash h starts at. */
static inline void sn_strtab_prefetch(const sn_strtab *t, uint64_t h)
{
#if defined(__GNUC__)
    if (t->mask != 0)
        __builtin_prefetch(&t->slots[(size_t)h & t->mask]);
#else
    (void)t;
    (void)h;
#endif
}

/* The index of the lowest set bit of x != 0. */
static inline unsigned sn_ctz64(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* Append the runs of set bits of one 64-bit block's mask that are at
 * least min_len long to spans. With p the bits before (bit 0 preceded by
 * *in), run starts are w & ~p and run ends (the first clear bit after a
 * run) ~w & p, taken in pairs; a run open at *start from an earlier block
 * takes the first end. A run still open at the end of the text is closed
 * by the caller. A short run is written and not counted (no branch). */
static inline size_t sn_block_runs(uint64_t w, size_t base, uint64_t *in, size_t *start, sn_span *spans, size_t k,
                                   size_t min_len)
{
    uint64_t before = (w << 1) | *in, starts = w & ~before, ends = ~w & before;
    if (*in && ends != 0) {
        spans[k].off = *start;
        spans[k].len = base + sn_ctz64(ends) - *start;
        k += spans[k].len >= min_len;
        ends &= ends - 1;
    }
    while (starts != 0) {
        size_t b = base + sn_ctz64(starts);
        starts &= starts - 1;
        if (ends == 0) { /* open at the end of the block */
            *start = b;
            break;
        }
        spans[k].off = b;
        spans[k].len = base + sn_ctz64(ends) - b;
        k += spans[k].len >= min_len;
        ends &= ends - 1;
    }
    *in = w >> 63;
    return k;
}

static inline uint64_t sn_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* The hash of a string of up to 16 bytes from its zero-padded first and
 * second 8 bytes: what sn_hash_bytes returns for it. */
static inline uint64_t sn_hash16(uint64_t head, uint64_t tail, size_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ ((uint64_t)n * 0x9E3779B97F4A7C15ull);
    return sn_mix64(h ^ head ^ (tail * 0x87c37b91114253d5ull));
}

/* Bytes a padded buffer keeps readable (and zero) after its text, so that
 * a span of it can be read as two 8-byte words without a byte loop. */
#define SN_TEXT_PAD 16

/* For n = 0..16, the bits of bytes [0, n) in the first and in the second
 * little-endian 8-byte word (strtab.c). */
extern const uint64_t sn_key_mask[2][17];

/* The zero-padded first and second 8 bytes of p[0..n) for n <= 16. With
 * `padded`, p[0..16) may be read (its bytes past n are masked off);
 * otherwise only p[0..n) is touched. */
static inline void sn_key16(const uint8_t *p, size_t n, int padded, uint64_t *head, uint64_t *tail)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (padded) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        *head = a & sn_key_mask[0][n];
        *tail = b & sn_key_mask[1][n];
        return;
    }
#else
    (void)padded;
#endif
    *head = sn_head8(p, n < 8 ? n : 8);
    *tail = n > 8 ? sn_head8(p + 8, n - 8) : 0;
}

/* sn_strtab_find for a string of at most 16 bytes given by sn_key16. */
static inline int sn_strtab_find16(const sn_strtab *t, uint64_t head, uint64_t tail, size_t n, uint64_t h,
                                   uint32_t *id)
{
    uint32_t key = sn_slot_key(h, n);
    size_t i;
    if (t->mask == 0)
        return 0;
    for (i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        const sn_slot *sl = &t->slots[i];
        if (sl->id1 == 0)
            return 0;
        if (sl->key == key && sl->head == head && sl->tail == tail) {
            *id = sl->id1 - 1u;
            return 1;
        }
    }
}

/* 1 and *id if s[0..n) (hashed h) is present, else 0. */
int sn_strtab_find(const sn_strtab *t, const uint8_t *s, size_t n, uint64_t h, uint32_t *id);
/* The same, with `padded` as sn_key16's: words of up to 16 bytes are
 * found inline, from the slot. */
static inline int sn_strtab_find_at(const sn_strtab *t, const uint8_t *s, size_t n, uint64_t h, int padded,
                                    uint32_t *id)
{
    uint64_t head, tail;
    if (n > 16)
        return sn_strtab_find(t, s, n, h, id);
    sn_key16(s, n, padded, &head, &tail);
    return sn_strtab_find16(t, head, tail, n, h, id);
}

uint64_t sn_hash_bytes(const uint8_t *p, size_t n);
void sn_strtab_init(sn_strtab *t, const sn_alloc *a);
void sn_strtab_free(sn_strtab *t);
/* Find or insert; *id receives the id; *inserted (may be NULL) 1 if new. */
int sn_strtab_intern(sn_strtab *t, const uint8_t *s, size_t n, uint64_t h, uint32_t *id, int *inserted);
/* Add s as the next id without looking it up (the caller knows it is
 * new). A table only ever appended to has no hash index: it is a list of
 * strings, which sn_strtab_find never finds (vocabularies that are only
 * exported, such as the pruned terms). */
int sn_strtab_append(sn_strtab *t, const uint8_t *s, size_t n);
/* Forget ids >= n_keep (used to undo a failed fit); never allocates. */
void sn_strtab_truncate(sn_strtab *t, size_t n_keep);
/* Pre-size for `n` strings totalling `bytes` bytes. */
int sn_strtab_reserve(sn_strtab *t, size_t n, size_t bytes);
static inline const char *sn_strtab_str(const sn_strtab *t, uint32_t id)
{
    return t->arena + t->off[id];
}
/* memcmp-then-length order: Python's code point order on UTF-8. */
int sn_bytes_cmp(const char *a, size_t na, const char *b, size_t nb);

/* Hash every span of sc into sc->hashes and prefetch their slots in t
 * (t may be NULL): a document's lookups then overlap their cache misses
 * instead of paying them one after another. */
int sn_hash_spans(sn_scratch *sc, const uint8_t *base, const sn_strtab *t);

/* Export strings [ids] (or all when ids is NULL) as one seqnet_free() blob
 * with a NUL after the last, and n + 1 offsets. */
int sn_strtab_export(const sn_strtab *t, const uint32_t *ids, size_t n, char **blob, size_t **offsets);

/* ---- growable arrays --------------------------------------------------- */
/* Grow *buf (capacity doubling) to hold `need` elements; with `exported`
 * the block is a seqnet_free() one (sn_export_realloc). */
int sn_grow_block(const sn_alloc *a, void **buf, size_t *cap, size_t need, size_t elem, int exported);
int sn_grow(const sn_alloc *a, void **buf, size_t *cap, size_t need, size_t elem);

/* ---- the scikit-learn analyzer (analyzer.c) ---------------------------- */

typedef int (*sn_feature_fn)(void *user, const uint8_t *s, size_t n, uint64_t hash);

typedef struct sn_analyzer {
    int lower;
    int strict;
    int ngram_min, ngram_max;
    const sn_strtab *stop; /* NULL or a set of stop words */
    const sn_strtab *prefetch; /* NULL or the table the features go to */
} sn_analyzer;

/* Run the default word analyzer on one text and call `emit` for each
 * feature in scikit-learn's order (all unigrams, then bigrams, ...). */
int sn_analyze(const sn_analyzer *an, sn_scratch *sc, const uint8_t *text, size_t len,
               sn_feature_fn emit, void *user);

/* Just the word tokens (after stop words) of one text: sc->spans index
 * *base, and with `hash` sc->hashes holds their sn_hash_bytes (their slots
 * in an->prefetch already prefetched). sc->padded tells whether *base
 * has SN_TEXT_PAD zero bytes after the text (sn_key16's `padded`). */
int sn_analyze_words(const sn_analyzer *an, sn_scratch *sc, const uint8_t *text, size_t len, int hash,
                     const uint8_t **base);

/* The 318 scikit-learn English stop words, sorted. */
extern const char *const sn_english_stop_words[];
extern const size_t sn_english_stop_words_count;

/* MurmurHash3 x86_32 (hashing.c). */
uint32_t sn_murmur3_32(const uint8_t *data, size_t len, uint32_t seed);

/* Builds a "text i, byte b" message for EUTF8 on an object. */
int sn_text_utf8_error(sn_object *o, size_t text_no, size_t offset, size_t *err_text, size_t *err_off);

/* A text pointer for the i-th text, tolerating NULL with length 0. */
static inline const uint8_t *sn_text_at(const char *const *texts, const size_t *lengths, size_t i,
                                        size_t *len)
{
    *len = lengths[i];
    return (const uint8_t *)(texts[i] != NULL ? texts[i] : "");
}

/* Validates a text batch: NULL arrays only with n 0, NULL text only with
 * length 0. */
int sn_check_texts(sn_object *o, const char *const *texts, const size_t *lengths, size_t n);
/* Validates CSR offsets of a sequence batch. */
int sn_check_offsets(sn_object *o, const void *ids, const size_t *offsets, size_t n);

#endif /* SN_TEXT_INTERNAL_H */

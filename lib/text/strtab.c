/*
 * lib/text/strtab.c -- the string interning table behind every vocabulary.
 *
 * Why one arena and dense ids: fitting IMDB touches ~12 million tokens and
 * ~100 thousand distinct words; one malloc per token or per word would cost
 * more than the tokenizing itself. Strings are appended to a single growable
 * arena (offsets, not pointers, so the arena may move), and per-word data
 * lives in parallel arrays indexed by id, owned by the caller.
 *
 * Open addressing with linear probing; each 16-byte slot holds the first 8
 * bytes of its string, a tag from the hash with the length, and the id, so
 * a probe touches the arena only for a candidate longer than 8 bytes.
 */
#include <stdlib.h>

#include "text/text_internal.h"

const uint64_t sn_key_mask[2][17] = {
    {0x0000000000000000ull, 0x00000000000000ffull, 0x000000000000ffffull,
     0x0000000000ffffffull, 0x00000000ffffffffull, 0x000000ffffffffffull,
     0x0000ffffffffffffull, 0x00ffffffffffffffull, 0xffffffffffffffffull,
     0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull,
     0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull,
     0xffffffffffffffffull, 0xffffffffffffffffull},
    {0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000000ull,
     0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000000ull,
     0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000000ull,
     0x00000000000000ffull, 0x000000000000ffffull, 0x0000000000ffffffull,
     0x00000000ffffffffull, 0x000000ffffffffffull, 0x0000ffffffffffffull,
     0x00ffffffffffffffull, 0xffffffffffffffffull},
};

/* Strings of up to 16 bytes (most words) hash their zero-padded two
 * 8-byte words and the length through one finalizer (sn_hash16, which
 * callers holding the words use directly); longer ones fold 8-byte words,
 * the last word read overlapping so no byte loop is needed. */
uint64_t sn_hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ ((uint64_t)n * 0x9E3779B97F4A7C15ull);
    uint64_t w;
    size_t left = n;
    if (n <= 16) {
        uint64_t head, tail;
        sn_key16(p, n, 0, &head, &tail);
        return sn_hash16(head, tail, n);
    }
    while (left > 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x87c37b91114253d5ull;
        h = (h << 31) | (h >> 33);
        p += 8;
        left -= 8;
    }
    memcpy(&w, p + left - 8, 8);
    h ^= w * 0x4cf5ad432745937full;
    return sn_mix64(h);
}

int sn_bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    size_t m = na < nb ? na : nb;
    int c = m > 0 ? memcmp(a, b, m) : 0;
    if (c != 0)
        return c;
    return na < nb ? -1 : na > nb;
}

void sn_strtab_init(sn_strtab *t, const sn_alloc *a)
{
    memset(t, 0, sizeof *t);
    t->alloc = a;
}

void sn_strtab_free(sn_strtab *t)
{
    sn_free(t->alloc, t->arena);
    sn_free(t->alloc, t->off);
    sn_free(t->alloc, t->len);
    sn_free(t->alloc, t->slots_mem);
    sn_strtab_init(t, t->alloc);
}

static void place(sn_slot *slots, size_t mask, uint64_t h, const uint8_t *s, size_t n, size_t off, uint32_t id)
{
    size_t i = (size_t)h & mask;
    while (slots[i].id1 != 0)
        i = (i + 1) & mask;
    sn_key16(s, n < 16 ? n : 16, 0, &slots[i].head, &slots[i].tail);
    slots[i].off = off;
    slots[i].key = sn_slot_key(h, n);
    slots[i].id1 = id + 1u;
}

/* Keep the load factor under 1/2: probes stay short even for the
 * adversarial-free but skewed distributions of natural language. */
static int rehash(sn_strtab *t, size_t min_entries)
{
    size_t n_slots = 64, i;
    sn_slot *slots;
    void *mem;
    while (n_slots / 2 < min_entries) {
        if (n_slots > SIZE_MAX / 2 / sizeof(sn_slot) - 2)
            return SEQNET_ETOOBIG;
        n_slots *= 2;
    }
    if (t->mask != 0 && n_slots <= t->mask + 1)
        return SEQNET_OK;
    /* 64 bytes more than the slots, so they can start on a cache line */
    mem = sn_calloc(t->alloc, n_slots + 2, sizeof *slots);
    if (mem == NULL)
        return SEQNET_ENOMEM;
    slots = (sn_slot *)((char *)mem + ((64u - (uintptr_t)mem % 64u) % 64u));
    for (i = 0; i < t->n; i++) {
        const uint8_t *s = (const uint8_t *)t->arena + t->off[i];
        place(slots, n_slots - 1, sn_hash_bytes(s, t->len[i]), s, t->len[i], t->off[i], (uint32_t)i);
    }
    sn_free(t->alloc, t->slots_mem);
    t->slots_mem = mem;
    t->slots = slots;
    t->mask = n_slots - 1;
    return SEQNET_OK;
}

int sn_strtab_reserve(sn_strtab *t, size_t n, size_t bytes)
{
    int rc;
    size_t cap_off = t->cap, cap_len = t->cap;
    if (n > UINT32_MAX - 2)
        return SEQNET_ETOOBIG;
    rc = sn_grow(t->alloc, (void **)&t->arena, &t->arena_cap, bytes, 1);
    if (rc == SEQNET_OK)
        rc = sn_grow(t->alloc, (void **)&t->off, &cap_off, n, sizeof *t->off);
    if (rc == SEQNET_OK)
        rc = sn_grow(t->alloc, (void **)&t->len, &cap_len, n, sizeof *t->len);
    t->cap = cap_off < cap_len ? cap_off : cap_len;
    if (rc == SEQNET_OK)
        rc = rehash(t, n);
    return rc;
}

int sn_strtab_find(const sn_strtab *t, const uint8_t *s, size_t n, uint64_t h, uint32_t *id)
{
    size_t i;
    uint32_t key = sn_slot_key(h, n);
    uint64_t head, tail;
    if (t->mask == 0)
        return 0;
    sn_key16(s, n < 16 ? n : 16, 0, &head, &tail);
    if (n <= 16)
        return sn_strtab_find16(t, head, tail, n, h, id);
    /* Longer: the first 16 bytes in the slot, the rest compared with the
     * arena (and, from 255 bytes, where the key clamps the length, the
     * stored length first). */
    for (i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        const sn_slot *sl = &t->slots[i];
        if (sl->id1 == 0)
            return 0;
        if (sl->key == key && sl->head == head && sl->tail == tail &&
            (n < 255 || t->len[sl->id1 - 1u] == n) && memcmp(t->arena + sl->off + 16, s + 16, n - 16) == 0) {
            *id = sl->id1 - 1u;
            return 1;
        }
    }
}

/* Add s as id t->n (not checking whether it is there), indexing it when
 * the table has an index; hashed h when indexed. */
static int add_string(sn_strtab *t, const uint8_t *s, size_t n, uint64_t h, int index, uint32_t *id)
{
    int rc;
    uint32_t k;
    if (n > UINT32_MAX - 1 || t->n >= UINT32_MAX - 2)
        return SEQNET_ETOOBIG;
    if (t->arena_len > SIZE_MAX - n - 1)
        return SEQNET_ETOOBIG;
    /* Grow every structure first, so a failure leaves the table intact. */
    if (t->n == t->cap) {
        size_t cap_off = t->cap, cap_len = t->cap;
        rc = sn_grow(t->alloc, (void **)&t->off, &cap_off, t->n + 1, sizeof *t->off);
        if (rc == SEQNET_OK)
            rc = sn_grow(t->alloc, (void **)&t->len, &cap_len, t->n + 1, sizeof *t->len);
        t->cap = cap_off < cap_len ? cap_off : cap_len;
        if (rc != SEQNET_OK)
            return rc;
    }
    rc = sn_grow(t->alloc, (void **)&t->arena, &t->arena_cap, t->arena_len + n + 1, 1);
    if (rc != SEQNET_OK)
        return rc;
    if (index && (t->mask == 0 || t->n + 1 > (t->mask + 1) / 2)) {
        rc = rehash(t, t->n + 1);
        if (rc != SEQNET_OK)
            return rc;
    }
    k = (uint32_t)t->n;
    if (n > 0)
        memcpy(t->arena + t->arena_len, s, n);
    t->arena[t->arena_len + n] = '\0';
    t->off[k] = t->arena_len;
    t->len[k] = (uint32_t)n;
    t->arena_len += n + 1;
    t->n++;
    if (index)
        place(t->slots, t->mask, h, s, n, t->off[k], k);
    *id = k;
    return SEQNET_OK;
}

int sn_strtab_intern(sn_strtab *t, const uint8_t *s, size_t n, uint64_t h, uint32_t *id, int *inserted)
{
    int rc;
    if (inserted != NULL)
        *inserted = 0;
    if (sn_strtab_find(t, s, n, h, id))
        return SEQNET_OK;
    rc = add_string(t, s, n, h, 1, id);
    if (rc == SEQNET_OK && inserted != NULL)
        *inserted = 1;
    return rc;
}

int sn_strtab_append(sn_strtab *t, const uint8_t *s, size_t n)
{
    uint32_t id;
    if (t->mask != 0) /* an indexed table stays indexed */
        return add_string(t, s, n, sn_hash_bytes(s, n), 1, &id);
    return add_string(t, s, n, 0, 0, &id);
}

void sn_strtab_truncate(sn_strtab *t, size_t n_keep)
{
    size_t i;
    if (n_keep >= t->n)
        return;
    t->arena_len = t->off[n_keep];
    t->n = n_keep;
    if (t->mask == 0)
        return;
    memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
    for (i = 0; i < t->n; i++) {
        const uint8_t *s = (const uint8_t *)t->arena + t->off[i];
        place(t->slots, t->mask, sn_hash_bytes(s, t->len[i]), s, t->len[i], t->off[i], (uint32_t)i);
    }
}

int sn_strtab_export(const sn_strtab *t, const uint32_t *ids, size_t n, char **blob, size_t **offsets)
{
    size_t i, total = 0, pos = 0;
    char *b;
    size_t *o;
    *blob = NULL;
    *offsets = NULL;
    for (i = 0; i < n; i++) {
        uint32_t k = ids != NULL ? ids[i] : (uint32_t)i;
        total += t->len[k];
    }
    if (n + 1 > SIZE_MAX / sizeof *o)
        return SEQNET_ETOOBIG;
    b = sn_export_malloc(t->alloc, total + 1);
    o = sn_export_malloc(t->alloc, (n + 1) * sizeof *o);
    if (b == NULL || o == NULL) {
        seqnet_free(b);
        seqnet_free(o);
        return SEQNET_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        uint32_t k = ids != NULL ? ids[i] : (uint32_t)i;
        o[i] = pos;
        if (t->len[k] > 0)
            memcpy(b + pos, sn_strtab_str(t, k), t->len[k]);
        pos += t->len[k];
    }
    o[n] = pos;
    b[pos] = '\0';
    *blob = b;
    *offsets = o;
    return SEQNET_OK;
}

int sn_hash_spans(sn_scratch *sc, const uint8_t *base, const sn_strtab *t)
{
    size_t i;
    int rc = sn_grow(sc->alloc, (void **)&sc->hashes, &sc->hashes_cap, sc->n_spans + 1, sizeof *sc->hashes);
    if (rc != SEQNET_OK)
        return rc;
    for (i = 0; i < sc->n_spans; i++) {
        const uint8_t *w = base + sc->spans[i].off;
        size_t n = sc->spans[i].len;
        uint64_t h, head, tail;
        if (n <= 16) {
            sn_key16(w, n, sc->padded, &head, &tail);
            h = sn_hash16(head, tail, n);
        } else {
            h = sn_hash_bytes(w, n);
        }
        sc->hashes[i] = h;
        if (t != NULL)
            sn_strtab_prefetch(t, h);
    }
    return SEQNET_OK;
}

/*
 * lib/text/strtab.c -- the string interning table behind every vocabulary.
 *
 * Why one arena and dense ids: fitting IMDB touches ~12 million tokens and
 * ~100 thousand distinct words; one malloc per token or per word would cost
 * more than the tokenizing itself. Strings are appended to a single growable
 * arena (offsets, not pointers, so the arena may move), and per-word data
 * lives in parallel arrays indexed by id, owned by the caller.
 *
 * Open addressing with linear probing; each slot packs a 32-bit tag from
 * the hash with the id, so a probe rarely touches the string itself.
 */
#include <stdlib.h>

#include "text/text_internal.h"

#define SLOT_EMPTY 0u

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t sn_hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ ((uint64_t)n * 0x9E3779B97F4A7C15ull);
    uint64_t w = 0;
    size_t i;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x87c37b91114253d5ull;
        h = (h << 31) | (h >> 33);
        p += 8;
        n -= 8;
    }
    w = 0;
    for (i = 0; i < n; i++)
        w |= (uint64_t)p[i] << (8 * i);
    h ^= w * 0x4cf5ad432745937full;
    return mix64(h);
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
    sn_free(t->alloc, t->head);
    sn_free(t->alloc, t->slots);
    sn_strtab_init(t, t->alloc);
}

/* A slot packs a 24-bit tag from the hash, the length (clamped to 255)
 * and id + 1: a probe rejects almost every non-match from the slot alone. */
static uint64_t slot_key(uint64_t h, size_t n)
{
    return (h & 0xFFFFFF0000000000ull) | ((uint64_t)(n < 255 ? n : 255) << 32);
}

static uint64_t head8(const uint8_t *s, size_t n)
{
    uint64_t w = 0;
    size_t i;
    if (n >= 8) {
        memcpy(&w, s, 8);
        return w;
    }
    for (i = 0; i < n; i++)
        w |= (uint64_t)s[i] << (8 * i);
    return w;
}

static void place(uint64_t *slots, size_t mask, uint64_t h, size_t n, uint32_t id)
{
    size_t i = (size_t)h & mask;
    while (slots[i] != SLOT_EMPTY)
        i = (i + 1) & mask;
    slots[i] = slot_key(h, n) | (uint64_t)(id + 1u);
}

/* Keep the load factor under 1/2: probes stay short even for the
 * adversarial-free but skewed distributions of natural language. */
static int rehash(sn_strtab *t, size_t min_entries)
{
    size_t n_slots = 64, i;
    uint64_t *slots;
    while (n_slots / 2 < min_entries) {
        if (n_slots > SIZE_MAX / 2 / sizeof(uint64_t))
            return SEQNET_ETOOBIG;
        n_slots *= 2;
    }
    if (t->mask != 0 && n_slots <= t->mask + 1)
        return SEQNET_OK;
    slots = sn_calloc(t->alloc, n_slots, sizeof *slots);
    if (slots == NULL)
        return SEQNET_ENOMEM;
    for (i = 0; i < t->n; i++) {
        const uint8_t *s = (const uint8_t *)t->arena + t->off[i];
        place(slots, n_slots - 1, sn_hash_bytes(s, t->len[i]), t->len[i], (uint32_t)i);
    }
    sn_free(t->alloc, t->slots);
    t->slots = slots;
    t->mask = n_slots - 1;
    return SEQNET_OK;
}

int sn_strtab_reserve(sn_strtab *t, size_t n, size_t bytes)
{
    int rc;
    size_t cap_off = t->cap, cap_len = t->cap, cap_head = t->cap;
    if (n > UINT32_MAX - 2)
        return SEQNET_ETOOBIG;
    rc = sn_grow(t->alloc, (void **)&t->arena, &t->arena_cap, bytes, 1);
    if (rc == SEQNET_OK)
        rc = sn_grow(t->alloc, (void **)&t->off, &cap_off, n, sizeof *t->off);
    if (rc == SEQNET_OK)
        rc = sn_grow(t->alloc, (void **)&t->len, &cap_len, n, sizeof *t->len);
    if (rc == SEQNET_OK)
        rc = sn_grow(t->alloc, (void **)&t->head, &cap_head, n, sizeof *t->head);
    if (cap_off < cap_len)
        cap_len = cap_off;
    if (cap_head < cap_len)
        cap_len = cap_head;
    t->cap = cap_len;
    if (rc == SEQNET_OK)
        rc = rehash(t, n);
    return rc;
}

int sn_strtab_find(const sn_strtab *t, const uint8_t *s, size_t n, uint64_t h, uint32_t *id)
{
    size_t i;
    uint64_t key = slot_key(h, n), head;
    if (t->mask == 0)
        return 0;
    head = head8(s, n);
    i = (size_t)h & t->mask;
    for (;;) {
        uint64_t slot = t->slots[i];
        if (slot == SLOT_EMPTY)
            return 0;
        if ((slot & 0xFFFFFFFF00000000ull) == key) {
            uint32_t k = (uint32_t)(slot & 0xFFFFFFFFu) - 1u;
            if (t->head[k] == head && t->len[k] == n &&
                (n <= 8 || memcmp(t->arena + t->off[k] + 8, s + 8, n - 8) == 0)) {
                *id = k;
                return 1;
            }
        }
        i = (i + 1) & t->mask;
    }
}

int sn_strtab_intern(sn_strtab *t, const uint8_t *s, size_t n, uint64_t h, uint32_t *id, int *inserted)
{
    int rc;
    uint32_t k;
    if (inserted != NULL)
        *inserted = 0;
    if (sn_strtab_find(t, s, n, h, id))
        return SEQNET_OK;
    if (n > UINT32_MAX - 1 || t->n >= UINT32_MAX - 2)
        return SEQNET_ETOOBIG;
    if (t->arena_len > SIZE_MAX - n - 1)
        return SEQNET_ETOOBIG;
    /* Grow every structure first, so a failure leaves the table intact. */
    if (t->n == t->cap) {
        size_t cap_off = t->cap, cap_len = t->cap, cap_head = t->cap;
        rc = sn_grow(t->alloc, (void **)&t->off, &cap_off, t->n + 1, sizeof *t->off);
        if (rc == SEQNET_OK)
            rc = sn_grow(t->alloc, (void **)&t->len, &cap_len, t->n + 1, sizeof *t->len);
        if (rc == SEQNET_OK)
            rc = sn_grow(t->alloc, (void **)&t->head, &cap_head, t->n + 1, sizeof *t->head);
        if (cap_len < cap_off)
            cap_off = cap_len;
        if (cap_head < cap_off)
            cap_off = cap_head;
        t->cap = cap_off;
        if (rc != SEQNET_OK)
            return rc;
    }
    rc = sn_grow(t->alloc, (void **)&t->arena, &t->arena_cap, t->arena_len + n + 1, 1);
    if (rc != SEQNET_OK)
        return rc;
    if (t->mask == 0 || t->n + 1 > (t->mask + 1) / 2) {
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
    t->head[k] = head8(s, n);
    t->arena_len += n + 1;
    t->n++;
    place(t->slots, t->mask, h, n, k);
    *id = k;
    if (inserted != NULL)
        *inserted = 1;
    return SEQNET_OK;
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
        place(t->slots, t->mask, sn_hash_bytes(s, t->len[i]), t->len[i], (uint32_t)i);
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
        uint64_t h = sn_hash_bytes(base + sc->spans[i].off, sc->spans[i].len);
        sc->hashes[i] = h;
#if defined(__GNUC__)
        if (t != NULL && t->mask != 0)
            __builtin_prefetch(&t->slots[(size_t)h & t->mask]);
#endif
    }
    (void)t;
    return SEQNET_OK;
}

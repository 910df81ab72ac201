/*
 * lib/text/text_io.h -- byte sinks and sources for serializing text objects,
 * exported inside the library so the model file format can embed a
 * tokenizer or vectorizer as one of its sections.
 *
 * A "text object record" is: magic (8 bytes "SNTX\r\n\x1a\n"), u32 format
 * version, u32 kind (1 tokenizer, 2 vectorizer), u64 payload length, the
 * payload, and a u32 CRC-32C of everything before it. All integers are
 * little-endian; doubles are IEEE-754 binary64 bit patterns, little-endian.
 */
#ifndef SN_TEXT_IO_H
#define SN_TEXT_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/sn_core.h"
#include "seqnet/text.h"

#define SN_TEXT_FORMAT_VERSION 1u
#define SN_TEXT_KIND_TOKENIZER 1u
#define SN_TEXT_KIND_VECTORIZER 2u
#define SN_TEXT_HEADER_SIZE 24u
/* Largest payload a loader accepts from a callback (1 GiB): a hostile
 * length field cannot make it allocate more. */
#define SN_TEXT_MAX_PAYLOAD ((uint64_t)1 << 30)

/* Growable in-memory byte sink. `err` latches the first failure so that
 * writers can issue many puts and check once. */
typedef struct sn_sink {
    const sn_alloc *alloc;
    uint8_t *buf;
    size_t len, cap;
    int err;
} sn_sink;

void sn_sink_init(sn_sink *s, const sn_alloc *a);
void sn_sink_free(sn_sink *s);
void sn_sink_bytes(sn_sink *s, const void *p, size_t n);
void sn_sink_u8(sn_sink *s, uint8_t v);
void sn_sink_u32(sn_sink *s, uint32_t v);
void sn_sink_u64(sn_sink *s, uint64_t v);
void sn_sink_i64(sn_sink *s, int64_t v);
void sn_sink_f64(sn_sink *s, double v);
void sn_sink_str(sn_sink *s, const char *p, size_t n); /* u64 length + bytes */

/* Bounds-checked reader over a borrowed buffer; `err` latches the first
 * failure (SEQNET_ETRUNCATED or SEQNET_EFORMAT). */
typedef struct sn_source {
    const uint8_t *p;
    size_t len, pos;
    int err;
} sn_source;

void sn_source_init(sn_source *s, const void *p, size_t len);
uint8_t sn_source_u8(sn_source *s);
uint32_t sn_source_u32(sn_source *s);
uint64_t sn_source_u64(sn_source *s);
int64_t sn_source_i64(sn_source *s);
double sn_source_f64(sn_source *s);
/* A flag byte that must be 0 or 1 (else EFORMAT). */
int sn_source_flag(sn_source *s);
/* A string: u64 length checked against the bytes left before use; *p
 * points into the buffer (not NUL-terminated). */
int sn_source_str(sn_source *s, const uint8_t **p, size_t *n);
/* A count of items of at least `min_item_size` bytes each: fails with
 * ETRUNCATED if the remaining bytes cannot hold them. */
int sn_source_count(sn_source *s, size_t min_item_size, size_t *n);
size_t sn_source_left(const sn_source *s);

uint32_t sn_crc32c(uint32_t crc, const void *data, size_t n);

/* Payload writers/readers (tokenizer.c, vectorizer_io.c). The readers
 * report problems on `err` (a context or the object being loaded into). */
int sn_tokenizer_write_payload(const seqnet_tokenizer *tok, sn_sink *sink);
int sn_tokenizer_read_payload(seqnet_context *ctx, sn_source *src, seqnet_tokenizer **out);
int sn_vectorizer_write_payload(const seqnet_vectorizer *vec, sn_sink *sink);
int sn_vectorizer_read_payload(seqnet_context *ctx, sn_source *src, seqnet_vectorizer **out);

/* Whole records (header + payload + CRC) into a sink / from a buffer, for
 * embedding in other formats. kind is SN_TEXT_KIND_*; obj is the object. */
int sn_text_write_record(uint32_t kind, const void *obj, sn_sink *sink);
int sn_text_read_record(seqnet_context *ctx, uint32_t kind, const void *data, size_t size, void **out,
                        size_t *used);

#endif /* SN_TEXT_IO_H */

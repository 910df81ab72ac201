/*
 * extract.c -- Subject and body text of a raw RFC 822 message, with GMime.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * See extract.h for what is extracted. GMime does the MIME work (parsing,
 * transfer decodings, RFC 2047, charset names and iconv); this file picks
 * the parts, reduces HTML to text and guarantees valid UTF-8.
 */
#include "extract.h"

#include <gmime/gmime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable byte buffer --------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom; /* set once an allocation failed; later appends do nothing */
} sbuf;

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->oom)
        return;
    if (extra > SIZE_MAX / 2 - b->len - 1) {
        b->oom = 1;
        return;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void sb_add(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_addc(sbuf *b, char c) { sb_add(b, &c, 1); }

/* Append code point cp as UTF-8 (surrogates and out-of-range become U+FFFD). */
static void sb_add_cp(sbuf *b, uint32_t cp)
{
    char u[4];
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || cp == 0)
        cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        sb_add(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 4);
    }
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is invalid
 * (overlongs, surrogates and values above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t min;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Append s[0..n) as valid UTF-8: each invalid byte becomes U+FFFD; NUL
 * becomes a space; CRLF and lone CR become LF. */
static void sb_add_clean(sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && !b->oom) {
        size_t run = i;
        /* copy the longest stretch of plain printable ASCII at once */
        while (run < n && u[run] >= 0x20 && u[run] < 0x80)
            run++;
        if (run > i) {
            sb_add(b, s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = u[i];
        if (c == '\r') {
            sb_addc(b, '\n');
            i += (i + 1 < n && u[i + 1] == '\n') ? 2 : 1;
        } else if (c == 0) {
            sb_addc(b, ' ');
            i++;
        } else if (c < 0x80) {
            sb_addc(b, (char)c);
            i++;
        } else {
            size_t len = utf8_seq_len(u + i, n - i);
            if (len == 0) {
                sb_add_cp(b, 0xFFFD);
                i++;
            } else {
                sb_add(b, s + i, len);
                i += len;
            }
        }
    }
}

/* ---- HTML to text ------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t cp;
} html_entities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
    {"nbsp", ' '}, {"copy", 0xA9}, {"reg", 0xAE}, {"trade", 0x2122}, {"euro", 0x20AC},
    {"pound", 0xA3}, {"yen", 0xA5}, {"cent", 0xA2}, {"sect", 0xA7}, {"deg", 0xB0},
    {"plusmn", 0xB1}, {"middot", 0xB7}, {"bull", 0x2022}, {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019},
    {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"laquo", 0xAB}, {"raquo", 0xBB},
    {"times", 0xD7}, {"divide", 0xF7}, {"iexcl", 0xA1}, {"iquest", 0xBF},
    {"shy", 0xAD}, {"para", 0xB6}, {"frac12", 0xBD}, {"frac14", 0xBC}, {"frac34", 0xBE},
    {"sup2", 0xB2}, {"sup3", 0xB3}, {"micro", 0xB5}, {"ordf", 0xAA}, {"ordm", 0xBA},
    {"agrave", 0xE0}, {"aacute", 0xE1}, {"acirc", 0xE2}, {"atilde", 0xE3}, {"auml", 0xE4},
    {"aring", 0xE5}, {"aelig", 0xE6}, {"ccedil", 0xE7}, {"egrave", 0xE8}, {"eacute", 0xE9},
    {"ecirc", 0xEA}, {"euml", 0xEB}, {"igrave", 0xEC}, {"iacute", 0xED}, {"icirc", 0xEE},
    {"iuml", 0xEF}, {"ntilde", 0xF1}, {"ograve", 0xF2}, {"oacute", 0xF3}, {"ocirc", 0xF4},
    {"otilde", 0xF5}, {"ouml", 0xF6}, {"oslash", 0xF8}, {"ugrave", 0xF9}, {"uacute", 0xFA},
    {"ucirc", 0xFB}, {"uuml", 0xFC}, {"yacute", 0xFD}, {"yuml", 0xFF}, {"szlig", 0xDF},
    {"Agrave", 0xC0}, {"Aacute", 0xC1}, {"Acirc", 0xC2}, {"Atilde", 0xC3}, {"Auml", 0xC4},
    {"Aring", 0xC5}, {"AElig", 0xC6}, {"Ccedil", 0xC7}, {"Egrave", 0xC8}, {"Eacute", 0xC9},
    {"Ecirc", 0xCA}, {"Euml", 0xCB}, {"Igrave", 0xCC}, {"Iacute", 0xCD}, {"Icirc", 0xCE},
    {"Iuml", 0xCF}, {"Ntilde", 0xD1}, {"Ograve", 0xD2}, {"Oacute", 0xD3}, {"Ocirc", 0xD4},
    {"Otilde", 0xD5}, {"Ouml", 0xD6}, {"Oslash", 0xD8}, {"Ugrave", 0xD9}, {"Uacute", 0xDA},
    {"Ucirc", 0xDB}, {"Uuml", 0xDC}, {"Yacute", 0xDD},
};

/* Windows-1252 meanings of the C1 range, as browsers read &#128;..&#159;. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static int is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Case-insensitive: does s[0..n) start with the lowercase ASCII word w? */
static int starts_ci(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c | 0x20);
        if (c != (unsigned char)w[i])
            return 0;
    }
    return 1;
}

/* Tags that do not separate words (<b>F</b>ree reads "Free"). */
static int tag_is_inline(const char *name)
{
    static const char *const inl[] = {"a", "b", "i", "u", "em", "strong", "font", "span",
                                      "small", "big", "sub", "sup", "tt", "s", "strike",
                                      "abbr", "acronym", "code", "q", "ins", "del", "o:p"};
    for (size_t i = 0; i < sizeof inl / sizeof inl[0]; i++)
        if (strcmp(name, inl[i]) == 0)
            return 1;
    return 0;
}

/* Tags that end a line. */
static int tag_is_block(const char *name)
{
    static const char *const blk[] = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4",
                                      "h5", "h6", "table", "ul", "ol", "hr", "blockquote",
                                      "pre", "center", "title", "dl", "dt", "dd", "body",
                                      "html", "head", "form", "address"};
    for (size_t i = 0; i < sizeof blk / sizeof blk[0]; i++)
        if (strcmp(name, blk[i]) == 0)
            return 1;
    return 0;
}

/* Find the case-insensitive ASCII word w (lowercase) in s[from..n);
 * returns its offset or n. */
static size_t find_ci(const char *s, size_t n, size_t from, const char *w)
{
    for (size_t i = from; i < n; i++)
        if (starts_ci(s + i, n - i, w))
            return i;
    return n;
}

/* Decode the character reference at s[0..n) (s[0] == '&'). On success
 * store the code point and return the bytes consumed; 0 when it is not a
 * reference we know (the '&' is then literal). */
static size_t html_entity(const char *s, size_t n, uint32_t *cp)
{
    size_t i = 1;
    if (i < n && s[i] == '#') {
        i++;
        int hex = 0;
        if (i < n && (s[i] == 'x' || s[i] == 'X')) {
            hex = 1;
            i++;
        }
        uint32_t v = 0;
        size_t digits = 0;
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            uint32_t d;
            if (is_digit(c))
                d = (uint32_t)(c - '0');
            else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                d = (uint32_t)((c | 0x20) - 'a' + 10);
            else
                break;
            if (v <= 0x10FFFF)
                v = v * (hex ? 16u : 10u) + d;
            digits++;
            i++;
        }
        if (digits == 0)
            return 0;
        if (i < n && s[i] == ';')
            i++;
        if (v >= 0x80 && v <= 0x9F)
            v = cp1252_c1[v - 0x80];
        else if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            v = 0xFFFD;
        *cp = v;
        return i;
    }
    size_t start = i;
    while (i < n && i - start < 8 && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i])))
        i++;
    size_t len = i - start;
    if (len == 0)
        return 0;
    for (size_t e = 0; e < sizeof html_entities / sizeof html_entities[0]; e++) {
        if (strlen(html_entities[e].name) == len && memcmp(html_entities[e].name, s + start, len) == 0) {
            *cp = html_entities[e].cp;
            return (i < n && s[i] == ';') ? i + 1 : i;
        }
    }
    return 0;
}

enum { SEP_NONE = 0, SEP_SPACE = 1, SEP_LINE = 2 };

/* Emit the pending separator before visible text. */
static void flush_sep(sbuf *b, int *sep)
{
    if (*sep != SEP_NONE && b->len > 0)
        sb_addc(b, *sep == SEP_LINE ? '\n' : ' ');
    *sep = SEP_NONE;
}

static void html_to_text(sbuf *b, const char *s, size_t n)
{
    int sep = SEP_NONE;
    size_t i = 0;
    while (i < n && !b->oom) {
        unsigned char c = (unsigned char)s[i];
        if (c == '<') {
            if (starts_ci(s + i, n - i, "<!--")) {
                size_t end = find_ci(s, n, i + 4, "-->");
                i = end < n ? end + 3 : n;
                if (sep == SEP_NONE)
                    sep = SEP_SPACE;
                continue;
            }
            size_t j = i + 1;
            int closing = 0;
            if (j < n && s[j] == '/') {
                closing = 1;
                j++;
            }
            if (j >= n || !(is_alpha((unsigned char)s[j]) || s[j] == '!' || s[j] == '?')) {
                /* a lone '<' is text */
                flush_sep(b, &sep);
                sb_addc(b, '<');
                i++;
                continue;
            }
            char name[16];
            size_t k = 0;
            while (j < n && k + 1 < sizeof name &&
                   (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j]) || s[j] == ':')) {
                name[k++] = (char)(s[j] | ((s[j] >= 'A' && s[j] <= 'Z') ? 0x20 : 0));
                j++;
            }
            name[k] = '\0';
            /* the end of the tag: the next '>' outside quoted attribute values */
            char quote = 0;
            while (j < n) {
                if (quote) {
                    if (s[j] == quote)
                        quote = 0;
                } else if (s[j] == '"' || s[j] == '\'') {
                    /* a quote only opens a value right after '=' (possibly spaced) */
                    size_t p = j;
                    while (p > i && is_space((unsigned char)s[p - 1]))
                        p--;
                    if (p > i && s[p - 1] == '=')
                        quote = s[j];
                } else if (s[j] == '>') {
                    break;
                }
                j++;
            }
            i = j < n ? j + 1 : n;
            if (!closing && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)) {
                size_t end = find_ci(s, n, i, strcmp(name, "script") == 0 ? "</script" : "</style");
                if (end < n) {
                    size_t gt = end;
                    while (gt < n && s[gt] != '>')
                        gt++;
                    i = gt < n ? gt + 1 : n;
                } else {
                    i = n;
                }
                if (sep == SEP_NONE)
                    sep = SEP_SPACE;
                continue;
            }
            if (tag_is_inline(name))
                continue;
            if (tag_is_block(name))
                sep = SEP_LINE;
            else if (sep == SEP_NONE)
                sep = SEP_SPACE;
            continue;
        }
        if (c == '&') {
            uint32_t cp = 0;
            size_t used = html_entity(s + i, n - i, &cp);
            if (used > 0) {
                if (cp == ' ' || cp == 0xA0) {
                    if (sep == SEP_NONE)
                        sep = SEP_SPACE;
                } else {
                    flush_sep(b, &sep);
                    sb_add_cp(b, cp);
                }
                i += used;
                continue;
            }
            flush_sep(b, &sep);
            sb_addc(b, '&');
            i++;
            continue;
        }
        if (is_space(c)) {
            if (c == '\n' || c == '\r')
                sep = SEP_LINE;
            else if (sep == SEP_NONE)
                sep = SEP_SPACE;
            i++;
            continue;
        }
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) { /* U+00A0 */
            if (sep == SEP_NONE)
                sep = SEP_SPACE;
            i += 2;
            continue;
        }
        /* visible text: copy up to the next markup or space */
        size_t j = i + 1;
        while (j < n && s[j] != '<' && s[j] != '&' && !is_space((unsigned char)s[j]) &&
               (unsigned char)s[j] != 0xC2)
            j++;
        flush_sep(b, &sep);
        sb_add(b, s + i, j - i);
        i = j;
    }
}

char *spam_html_to_text(const char *html, size_t len, size_t *out_len)
{
    sbuf b = {0};
    sb_reserve(&b, len / 2 + 16);
    html_to_text(&b, html, len);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (b.p == NULL) {
        b.p = malloc(1);
        if (b.p == NULL)
            return NULL;
        b.p[0] = '\0';
    }
    if (out_len)
        *out_len = b.len;
    return b.p;
}

/* ---- MIME parts --------------------------------------------------------- */

static int ascii_eq_ci(const char *a, const char *b)
{
    return g_ascii_strcasecmp(a, b) == 0;
}

/* Convert `n` bytes in `charset` (NULL when undeclared) to UTF-8 with
 * GMime. Declared UTF-8 is trusted (invalid bytes become U+FFFD later);
 * another declared charset goes through iconv when GMime knows its name and
 * the conversion succeeds; undeclared, US-ASCII, unknown or unconvertible
 * bytes are kept when they already are valid UTF-8, else go through GMime's
 * 8-bit fallback (the default parser options' fallback charsets: UTF-8,
 * then ISO-8859-1). Returns a g_malloc()ed string (g_free) or NULL. */
static char *to_utf8(const char *data, size_t n, const char *charset)
{
    if (charset != NULL && (ascii_eq_ci(charset, "utf-8") || ascii_eq_ci(charset, "utf8")))
        return g_strndup(data, n);
    if (charset != NULL && !ascii_eq_ci(charset, "us-ascii") && !ascii_eq_ci(charset, "ascii")) {
        const char *name = g_mime_charset_iconv_name(charset);
        iconv_t cd = name ? g_mime_iconv_open("UTF-8", name) : (iconv_t)-1;
        if (cd != (iconv_t)-1) {
            char *s = g_mime_iconv_strndup(cd, data, n);
            g_mime_iconv_close(cd);
            if (s != NULL)
                return s;
        }
    }
    if (g_utf8_validate(data, (gssize)n, NULL))
        return g_strndup(data, n);
    return g_mime_utils_decode_8bit(NULL, data, n);
}

/* Append the decoded text of a leaf part (text/plain, text/html, other
 * text/ (any)); other types are skipped. */
static void collect_part(sbuf *b, GMimePart *part)
{
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    const char *type = ct ? g_mime_content_type_get_media_type(ct) : "text";
    const char *subtype = ct ? g_mime_content_type_get_media_subtype(ct) : "plain";
    if (type == NULL || !ascii_eq_ci(type, "text"))
        return;
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (content == NULL)
        return;
    GMimeStream *mem = g_mime_stream_mem_new();
    if (g_mime_data_wrapper_write_to_stream(content, mem) < 0) {
        g_object_unref(mem);
        return;
    }
    GByteArray *raw = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    /* NUL bytes would end the C strings below: they become spaces */
    for (guint i = 0; i < raw->len; i++)
        if (raw->data[i] == 0)
            raw->data[i] = ' ';
    const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    char *text = to_utf8((const char *)raw->data, raw->len, charset);
    g_object_unref(mem);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    if (b->len > 0 && b->p[b->len - 1] != '\n')
        sb_addc(b, '\n');
    if (subtype != NULL && (ascii_eq_ci(subtype, "html") || ascii_eq_ci(subtype, "xhtml"))) {
        sbuf h = {0};
        html_to_text(&h, text, len);
        if (h.oom)
            b->oom = 1;
        else if (h.p != NULL)
            sb_add_clean(b, h.p, h.len);
        free(h.p);
    } else {
        sb_add_clean(b, text, len);
    }
    g_free(text);
}

static int is_type(GMimeObject *obj, const char *type, const char *subtype)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

static void collect(sbuf *b, GMimeObject *obj, int depth)
{
    if (obj == NULL || depth > 32 || b->oom)
        return;
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner != NULL) {
            const char *subject = g_mime_message_get_subject(inner);
            if (subject != NULL) {
                if (b->len > 0 && b->p[b->len - 1] != '\n')
                    sb_addc(b, '\n');
                sb_add_clean(b, subject, strlen(subject));
            }
            collect(b, g_mime_message_get_mime_part(inner), depth + 1);
        }
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int count = g_mime_multipart_get_count(mp);
        if (is_type(obj, "multipart", "alternative") && count > 0) {
            /* prefer text/plain, else the last (richest) alternative */
            GMimeObject *pick = NULL;
            for (int i = 0; i < count && pick == NULL; i++) {
                GMimeObject *child = g_mime_multipart_get_part(mp, i);
                if (GMIME_IS_PART(child) && is_type(child, "text", "plain"))
                    pick = child;
            }
            if (pick == NULL)
                pick = g_mime_multipart_get_part(mp, count - 1);
            collect(b, pick, depth + 1);
            return;
        }
        for (int i = 0; i < count; i++)
            collect(b, g_mime_multipart_get_part(mp, i), depth + 1);
        return;
    }
    if (GMIME_IS_PART(obj))
        collect_part(b, GMIME_PART(obj));
}

/* ---- the entry points --------------------------------------------------- */

void spam_extract_init(void) { g_mime_init(); }

void spam_extract_shutdown(void) { g_mime_shutdown(); }

int spam_extract(const char *data, size_t size, char **out, size_t *out_len)
{
    sbuf b = {0};
    *out = NULL;
    *out_len = 0;

    /* an mbox "From " separator line is not a header: skip it (parsing in
     * mbox mode would also end the message at any body line "From ") */
    if (size >= 5 && memcmp(data, "From ", 5) == 0) {
        const char *nl = memchr(data, '\n', size);
        size_t skip = nl ? (size_t)(nl - data) + 1 : size;
        data += skip;
        size -= skip;
    }

    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, size);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_object_unref(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);

    if (msg != NULL) {
        const char *subject = g_mime_message_get_subject(msg);
        if (subject != NULL) {
            /* one line: unfolded, control characters as spaces */
            sbuf s = {0};
            sb_add_clean(&s, subject, strlen(subject));
            for (size_t i = 0; i < s.len; i++)
                if ((unsigned char)s.p[i] < 0x20)
                    s.p[i] = ' ';
            if (s.oom)
                b.oom = 1;
            else if (s.p != NULL)
                sb_add(&b, s.p, s.len);
            free(s.p);
        }
        sb_add(&b, "\n\n", 2);
        collect(&b, g_mime_message_get_mime_part(msg), 0);
        g_object_unref(msg);
    } else {
        /* not parseable as a message: read the bytes as a plain body */
        sb_add(&b, "\n\n", 2);
        char *text = g_utf8_validate(data, (gssize)size, NULL) ? g_strndup(data, size)
                                                              : g_mime_utils_decode_8bit(NULL, data, size);
        if (text != NULL) {
            sb_add_clean(&b, text, strlen(text));
            g_free(text);
        }
    }
    if (b.oom) {
        free(b.p);
        return -1;
    }
    /* drop trailing white space */
    while (b.len > 0 && is_space((unsigned char)b.p[b.len - 1]))
        b.len--;
    b.p[b.len] = '\0';
    *out = b.p;
    *out_len = b.len;
    return 0;
}

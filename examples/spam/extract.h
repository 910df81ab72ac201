/*
 * extract.h -- the text a spam filter reads from a raw RFC 822 message.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * spam_extract() parses one message with GMime 3.0 and returns its Subject
 * and the text of its body parts as one UTF-8 string:
 *
 *   - MIME is decoded: multipart trees, quoted-printable and base64,
 *     attached messages (message/rfc822); RFC 2047 encoded words in the
 *     Subject.
 *   - In multipart/alternative the text/plain version is preferred; a
 *     text/html part is reduced to text (tags removed, script, style and
 *     comments dropped, character entities decoded). Other text/ (any) parts are
 *     read as plain text; non-text parts (images, applications) are skipped.
 *   - Charsets become UTF-8 through GMime's charset handling: the declared
 *     charset when iconv knows it, otherwise (undeclared, unknown or
 *     mislabelled bytes) GMime's 8-bit fallback (UTF-8, then ISO-8859-1).
 *     Any byte still invalid becomes U+FFFD, so the result is always valid
 *     UTF-8.
 *   - No other header is read (Received chains, dates and addresses differ
 *     between the corpus's collections for reasons unrelated to spam).
 *   - Line ends become LF; in HTML runs of white space collapse to one.
 *
 * The result is "SUBJECT\n\nBODY" (the Subject line may be empty).
 *
 * Threads: call spam_extract_init() once, before any thread extracts; then
 * any number of threads may call spam_extract() at once (each message is
 * parsed into its own GMime objects).
 */
#ifndef SPAM_EXTRACT_H
#define SPAM_EXTRACT_H

#include <stddef.h>

/** Initialize GMime. Call once at start-up, before other threads run. */
void spam_extract_init(void);

/** Release GMime's global state. Call once at exit, after every thread. */
void spam_extract_shutdown(void);

/**
 * Extract the text of one raw message.
 *
 * @param data, size  the raw message bytes (RFC 822, CRLF or LF line ends,
 *                    an mbox "From " line first is accepted); borrowed.
 * @param out         receives a malloc()ed, NUL-terminated UTF-8 string
 *                    (free it with free()).
 * @param out_len     receives its length in bytes (without the NUL).
 * @return 0 on success; -1 when memory runs out. A message GMime cannot
 *         parse as MIME is not an error: its bytes are read as one plain
 *         text body.
 */
int spam_extract(const char *data, size_t size, char **out, size_t *out_len);

/**
 * Reduce HTML to text (exposed for the tests): drops tags, comments,
 * <script>, <style> and <head> content except <title>; decodes character
 * references (&amp; &#233; &#xE9; and the common named entities); collapses
 * white space (a run holding a line end or a block tag becomes "\n", others
 * one space). Input must be valid UTF-8; so is the output.
 * @return a malloc()ed NUL-terminated string, or NULL when memory runs out.
 */
char *spam_html_to_text(const char *html, size_t len, size_t *out_len);

#endif /* SPAM_EXTRACT_H */

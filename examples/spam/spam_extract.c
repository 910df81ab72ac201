/*
 * spam_extract.c -- print the text the spam filter reads from messages.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 *   spam_extract FILE...
 *
 * For each raw RFC 822 message FILE, prints the text spam_extract()
 * (extract.h) returns: the Subject line, an empty line, the body text. With
 * several files, each is preceded by "==> FILE <==". Exits 1 when a file
 * cannot be read. The meson test compares its output with the files in testdata/ (NAME.eml -> NAME.expected).
 */
#include "extract.h"
#include "spam_common.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: spam_extract FILE...\n");
        return 2;
    }
    spam_extract_init();
    int status = 0;
    for (int i = 1; i < argc; i++) {
        char *raw = NULL;
        size_t raw_len = 0;
        if (spam_read_file(argv[i], SPAM_MAX_MESSAGE, &raw, &raw_len) != 0) {
            status = 1;
            continue;
        }
        char *text = NULL;
        size_t len = 0;
        if (spam_extract(raw, raw_len, &text, &len) != 0) {
            fprintf(stderr, "spam_extract: %s: out of memory\n", argv[i]);
            free(raw);
            status = 1;
            continue;
        }
        if (argc > 2)
            printf("==> %s <==\n", argv[i]);
        fwrite(text, 1, len, stdout);
        putchar('\n');
        free(text);
        free(raw);
    }
    spam_extract_shutdown();
    return status;
}

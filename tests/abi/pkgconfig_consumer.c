/*
 * pkgconfig_consumer.c -- a program built against the *installed* seqnet,
 * with nothing but `pkg-config --cflags --libs seqnet` (see install_test.sh).
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * It proves that the installed headers are found as <seqnet/seqnet.h>, that
 * the installed library links and loads, and that the header it was compiled
 * with and the library it runs with are the same release.
 */
#include <seqnet/seqnet.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

static void expect(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

int main(void)
{
    seqnet_context *ctx = NULL;
    const char *text;
    int status;

    expect(seqnet_version_number() == SEQNET_VERSION_NUMBER,
           "seqnet_version_number() == SEQNET_VERSION_NUMBER");
    text = seqnet_version_string();
    expect(text != NULL && strcmp(text, SEQNET_VERSION_STRING) == 0,
           "seqnet_version_string() == SEQNET_VERSION_STRING");

    text = seqnet_strerror(SEQNET_ENOMEM);
    expect(text != NULL && text[0] != '\0', "seqnet_strerror(SEQNET_ENOMEM) is a message");
    text = seqnet_strerror(SEQNET_OK);
    expect(text != NULL, "seqnet_strerror(SEQNET_OK) is not NULL");

    status = seqnet_context_new(&ctx);
    expect(status == SEQNET_OK && ctx != NULL, "seqnet_context_new");
    if (ctx != NULL) {
        expect(seqnet_context_set_seed(ctx, 42) == SEQNET_OK, "seqnet_context_set_seed");
        expect(seqnet_context_seed(ctx) == 42, "seqnet_context_seed");
    }
    seqnet_context_free(ctx);
    seqnet_context_free(NULL);

    printf("runtime seqnet %s, headers %s: %s\n", seqnet_version_string(),
           SEQNET_VERSION_STRING, failures ? "FAIL" : "ok");
    return failures ? 1 : 0;
}

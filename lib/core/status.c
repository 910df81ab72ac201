/*
 * lib/core/status.c -- versions, status texts and per-handle messages.
 */
#include <stdio.h>
#include <string.h>

#include "core/sn_core.h"

SEQNET_API unsigned seqnet_version_number(void)
{
    return SEQNET_VERSION_NUMBER;
}

SEQNET_API const char *seqnet_version_string(void)
{
    return SEQNET_VERSION_STRING;
}

SEQNET_API const char *seqnet_strerror(int status)
{
    switch (status) {
    case SEQNET_OK: return "success";
    case SEQNET_ENOMEM: return "out of memory";
    case SEQNET_EINVAL: return "invalid argument";
    case SEQNET_ESHAPE: return "shape mismatch";
    case SEQNET_ERANGE: return "index out of range";
    case SEQNET_ENONFINITE: return "non-finite value (NaN or infinity)";
    case SEQNET_EUNSUPPORTED: return "unsupported option or mode";
    case SEQNET_ESTATE: return "object not in a state that allows this call";
    case SEQNET_EUTF8: return "invalid UTF-8";
    case SEQNET_EFORMAT: return "malformed serialized data";
    case SEQNET_ETRUNCATED: return "serialized data truncated";
    case SEQNET_ECHECKSUM: return "checksum mismatch";
    case SEQNET_EVERSION: return "unsupported format version";
    case SEQNET_EIO: return "host I/O callback failed";
    case SEQNET_ECANCELED: return "canceled by a host callback";
    case SEQNET_ETOOBIG: return "size too large";
    case SEQNET_EBUFFER: return "buffer too small";
    case SEQNET_EEMPTY: return "nothing to work on";
    case SEQNET_EWRONGTYPE: return "serialized data holds another kind of object";
    default: return "unknown error";
    }
}

void sn_object_init(sn_object *o, uint32_t magic, const sn_alloc *a)
{
    o->magic = magic;
    o->alloc = *a;
    o->errmsg[0] = '\0';
}

int sn_verror(sn_object *o, int code, const char *fmt, va_list ap)
{
    if (o != NULL) {
        int n = vsnprintf(o->errmsg, sizeof o->errmsg, fmt, ap);
        if (n < 0)
            o->errmsg[0] = '\0';
    }
    return code;
}

int sn_error(sn_object *o, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sn_verror(o, code, fmt, ap);
    va_end(ap);
    return code;
}

void sn_clear_error(sn_object *o)
{
    if (o != NULL)
        o->errmsg[0] = '\0';
}

int sn_copy_error(sn_object *dst, const sn_object *src, int code)
{
    if (dst != NULL && src != NULL && dst != src)
        memcpy(dst->errmsg, src->errmsg, sizeof dst->errmsg);
    return code;
}

SEQNET_API const char *seqnet_errmsg(const void *handle)
{
    const sn_object *o = handle;
    if (o == NULL)
        return "no handle";
    switch (o->magic) {
    case SN_MAGIC_CONTEXT: case SN_MAGIC_GRAPH: case SN_MAGIC_MODEL:
    case SN_MAGIC_SESSION: case SN_MAGIC_TRAINER: case SN_MAGIC_OPTIONS:
    case SN_MAGIC_DATA: case SN_MAGIC_TOKENIZER: case SN_MAGIC_VECTORIZER:
    case SN_MAGIC_OTHER:
        return o->errmsg;
    default:
        return "not a seqnet handle";
    }
}

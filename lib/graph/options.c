/*
 * lib/graph/options.c -- seqnet_options: the key/value arguments of a layer.
 *
 * The object is a fixed-capacity list (sn_opts) so that a layer can keep a
 * verbatim copy of what it was built from: summaries and model files write
 * the options back out exactly as given.
 */
#include <string.h>

#include "core/sn_core.h"
#include "graph/graph_internal.h"

static int key_known(int key)
{
    return (key >= SEQNET_OPT_UNITS && key <= SEQNET_OPT_TRAINABLE) ||
           (key >= SEQNET_OPT_FILTERS && key <= SEQNET_OPT_GATE_BIAS) ||
           (key >= SEQNET_OPT_RECURRENT_ACTIVATION && key <= SEQNET_OPT_STATE_INDEX);
}

SEQNET_API int seqnet_options_new(seqnet_context *ctx, seqnet_options **out)
{
    seqnet_options *o;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return SEQNET_EINVAL;
    o = sn_malloc(&ctx->obj.alloc, sizeof *o);
    if (o == NULL)
        return sn_error(&ctx->obj, SEQNET_ENOMEM, "out of memory creating options");
    sn_object_init(&o->obj, SN_MAGIC_OPTIONS, &ctx->obj.alloc);
    o->opts.n = 0;
    *out = o;
    return SEQNET_OK;
}

SEQNET_API void seqnet_options_free(seqnet_options *opts)
{
    sn_alloc a;
    if (opts == NULL || opts->obj.magic != SN_MAGIC_OPTIONS)
        return;
    a = opts->obj.alloc;
    opts->obj.magic = 0;
    sn_free(&a, opts);
}

SEQNET_API int seqnet_options_clear(seqnet_options *opts)
{
    if (opts == NULL)
        return SEQNET_EINVAL;
    opts->opts.n = 0;
    sn_clear_error(&opts->obj);
    return SEQNET_OK;
}

/* The slot for key: the existing one, or a new one at the end. */
static sn_opt *slot_for(seqnet_options *o, int key, int *status)
{
    int32_t i;
    *status = SEQNET_OK;
    if (!key_known(key)) {
        *status = sn_error(&o->obj, SEQNET_EUNSUPPORTED, "unknown option key %d", key);
        return NULL;
    }
    for (i = 0; i < o->opts.n; i++)
        if (o->opts.items[i].key == key)
            return &o->opts.items[i];
    if (o->opts.n >= SN_MAX_OPTS) {
        *status = sn_error(&o->obj, SEQNET_ETOOBIG, "more than %d options", SN_MAX_OPTS);
        return NULL;
    }
    memset(&o->opts.items[o->opts.n], 0, sizeof o->opts.items[0]);
    return &o->opts.items[o->opts.n++];
}

SEQNET_API int seqnet_options_set_int(seqnet_options *opts, int key, int64_t value)
{
    int st;
    sn_opt *s;
    if (opts == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&opts->obj);
    if ((s = slot_for(opts, key, &st)) == NULL)
        return st;
    s->key = key;
    s->type = SN_OPT_INT;
    s->i = value;
    s->f = (double)value;
    s->s[0] = '\0';
    return SEQNET_OK;
}

SEQNET_API int seqnet_options_set_float(seqnet_options *opts, int key, double value)
{
    int st;
    sn_opt *s;
    if (opts == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&opts->obj);
    if ((s = slot_for(opts, key, &st)) == NULL)
        return st;
    s->key = key;
    s->type = SN_OPT_FLOAT;
    s->f = value;
    s->i = 0;
    s->s[0] = '\0';
    return SEQNET_OK;
}

SEQNET_API int seqnet_options_set_string(seqnet_options *opts, int key, const char *value)
{
    int st;
    sn_opt *s;
    size_t n;
    if (opts == NULL || value == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&opts->obj);
    n = strlen(value);
    if (n >= SN_OPT_STR_MAX)
        return sn_error(&opts->obj, SEQNET_ETOOBIG, "option string longer than %d bytes",
                        SN_OPT_STR_MAX - 1);
    if ((s = slot_for(opts, key, &st)) == NULL)
        return st;
    s->key = key;
    s->type = SN_OPT_STRING;
    s->i = 0;
    s->f = 0.0;
    memcpy(s->s, value, n + 1);
    return SEQNET_OK;
}

const sn_opt *sn_opts_find(const sn_opts *o, int key)
{
    int32_t i;
    if (o == NULL)
        return NULL;
    for (i = 0; i < o->n; i++)
        if (o->items[i].key == key)
            return &o->items[i];
    return NULL;
}

int sn_opts_int(const sn_opts *o, int key, int64_t *out)
{
    const sn_opt *s = sn_opts_find(o, key);
    if (s == NULL)
        return 0;
    if (s->type == SN_OPT_INT) {
        *out = s->i;
        return 1;
    }
    /* A float that holds an integer is accepted (Python callers pass 3.0);
     * the range test comes first: converting a double beyond int64 (or NaN)
     * is undefined behaviour. */
    if (s->type == SN_OPT_FLOAT && s->f >= -9007199254740992.0 && s->f <= 9007199254740992.0 &&
        s->f == (double)(int64_t)s->f) {
        *out = (int64_t)s->f;
        return 1;
    }
    return -1;
}

int sn_opts_float(const sn_opts *o, int key, double *out)
{
    const sn_opt *s = sn_opts_find(o, key);
    if (s == NULL)
        return 0;
    if (s->type == SN_OPT_FLOAT || s->type == SN_OPT_INT) {
        *out = s->type == SN_OPT_INT ? (double)s->i : s->f;
        return 1;
    }
    return -1;
}

int sn_opts_string(const sn_opts *o, int key, const char **out)
{
    const sn_opt *s = sn_opts_find(o, key);
    if (s == NULL)
        return 0;
    if (s->type != SN_OPT_STRING)
        return -1;
    *out = s->s;
    return 1;
}

/*
 * tests/train/test_torch_golden.c -- seqnet's losses, gradients and optimizer
 * steps against PyTorch's, read from tests/golden/losses_optim_torch.json
 * (written by gen_torch_golden.py; see there for where PyTorch and Keras
 * differ and how the inputs avoid it).
 *
 * The JSON is read by a tiny purpose-built parser: objects, arrays, numbers,
 * strings without escapes, true/false/null -- what json.dump writes for it.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sn_core.h"
#include "seqnet/train.h"
#include "train/loss.h"
#include "train/optim.h"

#ifndef SEQNET_GOLDEN_JSON
#define SEQNET_GOLDEN_JSON "tests/golden/losses_optim_torch.json"
#endif

/* ---- a minimal JSON tree ---------------------------------------------------- */

enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

typedef struct jnode {
    int type;
    double number;
    char *string;          /* J_STRING value, or the key of an object member */
    struct jnode *items;   /* J_ARRAY / J_OBJECT children */
    size_t n_items;
    char *key;
} jnode;

typedef struct jparser {
    const char *s;
    int failed;
} jparser;

static void skip_ws(jparser *p)
{
    while (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t')
        p->s++;
}

static char *parse_string_raw(jparser *p)
{
    const char *start;
    char *out;
    size_t len;
    if (*p->s != '"') {
        p->failed = 1;
        return NULL;
    }
    start = ++p->s;
    while (*p->s != '\0' && *p->s != '"') {
        if (*p->s == '\\') /* our generator writes no escapes */
            p->failed = 1;
        p->s++;
    }
    if (*p->s != '"') {
        p->failed = 1;
        return NULL;
    }
    len = (size_t)(p->s - start);
    out = malloc(len + 1);
    memcpy(out, start, len);
    out[len] = '\0';
    p->s++;
    return out;
}

static void parse_value(jparser *p, jnode *out);

static void parse_container(jparser *p, jnode *out, char close, int is_object)
{
    size_t cap = 0;
    p->s++;
    out->type = is_object ? J_OBJECT : J_ARRAY;
    skip_ws(p);
    if (*p->s == close) {
        p->s++;
        return;
    }
    while (!p->failed) {
        jnode *item;
        char *key = NULL;
        skip_ws(p);
        if (is_object) {
            key = parse_string_raw(p);
            skip_ws(p);
            if (*p->s != ':') {
                p->failed = 1;
                free(key);
                return;
            }
            p->s++;
        }
        if (out->n_items == cap) {
            cap = cap ? cap * 2 : 8;
            out->items = realloc(out->items, cap * sizeof *out->items);
        }
        item = &out->items[out->n_items++];
        memset(item, 0, sizeof *item);
        item->key = key;
        parse_value(p, item);
        skip_ws(p);
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == close) {
            p->s++;
            return;
        }
        p->failed = 1;
    }
}

static void parse_value(jparser *p, jnode *out)
{
    skip_ws(p);
    switch (*p->s) {
    case '{': parse_container(p, out, '}', 1); break;
    case '[': parse_container(p, out, ']', 0); break;
    case '"':
        out->type = J_STRING;
        out->string = parse_string_raw(p);
        break;
    case 'n':
        out->type = J_NULL;
        p->failed |= strncmp(p->s, "null", 4) != 0;
        p->s += 4;
        break;
    case 't':
    case 'f':
        out->type = J_BOOL;
        out->number = *p->s == 't';
        p->s += *p->s == 't' ? 4 : 5;
        break;
    default: {
        char *end;
        out->type = J_NUMBER;
        out->number = strtod(p->s, &end);
        if (end == p->s)
            p->failed = 1;
        p->s = end;
        break;
    }
    }
}

static void jfree(jnode *n)
{
    size_t i;
    for (i = 0; i < n->n_items; i++)
        jfree(&n->items[i]);
    free(n->items);
    free(n->string);
    free(n->key);
}

static const jnode *jget(const jnode *obj, const char *key)
{
    size_t i;
    ck_assert_int_eq(obj->type, J_OBJECT);
    for (i = 0; i < obj->n_items; i++)
        if (strcmp(obj->items[i].key, key) == 0)
            return &obj->items[i];
    ck_abort_msg("golden JSON: no member \"%s\"", key);
    return NULL;
}

static double jnum(const jnode *obj, const char *key)
{
    const jnode *n = jget(obj, key);
    ck_assert_int_eq(n->type, J_NUMBER);
    return n->number;
}

/* A numeric array as malloc'ed floats (NULL for JSON null). */
static float *jfloats(const jnode *arr, size_t *count)
{
    float *out;
    size_t i;
    if (arr->type == J_NULL)
        return NULL;
    ck_assert_int_eq(arr->type, J_ARRAY);
    out = malloc(sizeof(float) * (arr->n_items + 1));
    for (i = 0; i < arr->n_items; i++)
        out[i] = (float)arr->items[i].number;
    if (count != NULL)
        *count = arr->n_items;
    return out;
}

static jnode golden;
static int golden_loaded;

/* Object member by key, NULL when absent (usable outside a running test). */
static const jnode *jfind(const jnode *obj, const char *key)
{
    size_t i;
    if (obj->type != J_OBJECT)
        return NULL;
    for (i = 0; i < obj->n_items; i++)
        if (strcmp(obj->items[i].key, key) == 0)
            return &obj->items[i];
    return NULL;
}

/* Read and parse the golden file; no ck_* here, as main() calls it too. */
static void load_golden(void)
{
    FILE *f = fopen(SEQNET_GOLDEN_JSON, "rb");
    long size;
    char *text;
    jparser p;
    memset(&golden, 0, sizeof golden);
    golden_loaded = 0;
    if (f == NULL)
        return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)size + 1);
    if (size < 0 || fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        fclose(f);
        return;
    }
    text[size] = '\0';
    fclose(f);
    p.s = text;
    p.failed = 0;
    parse_value(&p, &golden);
    golden_loaded = !p.failed && jfind(&golden, "losses") != NULL &&
                    jfind(&golden, "optimizers") != NULL;
    free(text);
}

static void unload_golden(void)
{
    jfree(&golden);
    memset(&golden, 0, sizeof golden);
    golden_loaded = 0;
}

/* ---- the checks ------------------------------------------------------------- */

START_TEST(golden_file_has_every_loss_and_optimizer)
{
    const jnode *losses, *optims;
    int seen_loss[9] = {0}, seen_opt[5] = {0}, k;
    size_t i;
    ck_assert_msg(golden_loaded, "cannot read or parse %s", SEQNET_GOLDEN_JSON);
    losses = jget(&golden, "losses");
    optims = jget(&golden, "optimizers");
    for (i = 0; i < losses->n_items; i++) {
        int id = (int)jnum(&losses->items[i], "loss");
        ck_assert(id >= 1 && id <= 8);
        seen_loss[id] = 1;
    }
    for (i = 0; i < optims->n_items; i++) {
        int id = (int)jnum(&optims->items[i], "optimizer");
        ck_assert(id >= 1 && id <= 4);
        seen_opt[id] = 1;
    }
    for (k = 1; k <= 8; k++)
        ck_assert_msg(seen_loss[k], "no golden case for loss %d", k);
    for (k = 1; k <= 4; k++)
        ck_assert_msg(seen_opt[k], "no golden case for optimizer %d", k);
}
END_TEST

START_TEST(loss_and_gradient_match_torch)
{
    const jnode *c = &jget(&golden, "losses")->items[_i];
    const char *name = jget(c, "name")->string;
    int32_t batch = (int32_t)jnum(c, "batch"), steps = (int32_t)jnum(c, "steps");
    int32_t width = (int32_t)jnum(c, "width");
    int loss = (int)jnum(c, "loss"), reduction = (int)jnum(c, "reduction");
    size_t n_pred = 0, n_grad = 0, i;
    float *pred = jfloats(jget(c, "pred"), &n_pred);
    float *target = jfloats(jget(c, "target"), NULL);
    float *weights = jfloats(jget(c, "sample_weight"), NULL);
    float *want_grad = jfloats(jget(c, "grad"), &n_grad);
    float *mask_f = jfloats(jget(c, "mask"), NULL);
    uint8_t *mask = NULL;
    float *grad = malloc(sizeof(float) * n_pred);
    double value = 0.0, want = jnum(c, "value");
    sn_object err;
    sn_alloc a;

    sn_default_alloc(&a);
    sn_object_init(&err, SN_MAGIC_OTHER, &a);
    ck_assert_int_eq((int64_t)n_pred, (int64_t)batch * steps * width);
    ck_assert_int_eq((int64_t)n_grad, (int64_t)n_pred);
    if (mask_f != NULL) {
        mask = malloc((size_t)batch * (size_t)steps);
        for (i = 0; i < (size_t)batch * (size_t)steps; i++)
            mask[i] = (uint8_t)(mask_f[i] != 0.0f);
    }
    ck_assert_msg(sn_loss_compute(loss, reduction, pred, target, batch, steps, width, mask,
                                  weights, &value, grad, NULL, &err) == SEQNET_OK,
                  "%s: %s", name, err.errmsg);
    ck_assert_msg(fabs(value - want) <= 1e-6 * (1.0 + fabs(want)),
                  "%s: loss %.10g, torch %.10g", name, value, want);
    for (i = 0; i < n_pred; i++)
        ck_assert_msg(fabs(grad[i] - want_grad[i]) <= 1e-6 * (1.0 + fabs(want_grad[i])),
                      "%s: grad[%zu] %.9g, torch %.9g", name, i, (double)grad[i],
                      (double)want_grad[i]);
    free(pred);
    free(target);
    free(weights);
    free(want_grad);
    free(mask_f);
    free(mask);
    free(grad);
}
END_TEST

START_TEST(optimizer_steps_match_torch)
{
    const jnode *c = &jget(&golden, "optimizers")->items[_i];
    const char *name = jget(c, "name")->string;
    const jnode *hyper = jget(c, "hyper"), *grads = jget(c, "grads");
    const jnode *after = jget(c, "params");
    size_t n = 0, i, step;
    float *params = jfloats(jget(c, "init"), &n);
    sn_optim o;
    sn_alloc a;

    sn_default_alloc(&a);
    ck_assert_int_eq(sn_optim_init(&o, (int)jnum(c, "optimizer"), &a), SEQNET_OK);
    for (i = 0; i < hyper->n_items; i++)
        ck_assert_int_eq(sn_optim_set(&o, (int)hyper->items[i].items[0].number,
                                      hyper->items[i].items[1].number),
                         SEQNET_OK);
    ck_assert_int_eq(sn_optim_prepare(&o, (int64_t)n), SEQNET_OK);
    ck_assert_int_eq((int)grads->n_items, (int)after->n_items);
    for (step = 0; step < grads->n_items; step++) {
        float *g = jfloats(&grads->items[step], NULL);
        float *want = jfloats(&after->items[step], NULL);
        sn_optim_begin_step(&o);
        sn_optim_update(&o, params, g, 0, (int64_t)n, NULL, 0);
        for (i = 0; i < n; i++)
            ck_assert_msg(fabsf(params[i] - want[i]) <= 2e-6f * (1.0f + fabsf(want[i])),
                          "%s step %zu param %zu: %.9g, torch %.9g", name, step + 1, i,
                          (double)params[i], (double)want[i]);
        free(g);
        free(want);
    }
    sn_optim_release(&o);
    free(params);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("losses-torch-golden");
    TCase *tc = tcase_create("torch");
    SRunner *sr;
    int failed, n_losses, n_optims;

    /* the loop bounds come from the file: read it once here */
    load_golden();
    n_losses = golden_loaded ? (int)jfind(&golden, "losses")->n_items : 0;
    n_optims = golden_loaded ? (int)jfind(&golden, "optimizers")->n_items : 0;
    unload_golden();

    tcase_add_unchecked_fixture(tc, load_golden, unload_golden);
    tcase_add_test(tc, golden_file_has_every_loss_and_optimizer);
    tcase_add_loop_test(tc, loss_and_gradient_match_torch, 0, n_losses);
    tcase_add_loop_test(tc, optimizer_steps_match_torch, 0, n_optims);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

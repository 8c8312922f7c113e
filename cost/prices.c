/*
** prices.c: the price book's JSON and the one formula from tokens to
** dollars (see prices.h; the file format is in docs/roi.md).
*/
#include "prices.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cost_internal.h"
#include "errf.h"

#define MTOK 1e6 /* prices are per million tokens */

/* NULL-terminated, for known_keys. */
static const char *const s_role_names[COST_ROLES + 1] = {"weak", "strong",
                                                         "prm", NULL};


const char *
cost_role_name(int role)
{
    return role >= 0 && role < COST_ROLES ? s_role_names[role] : "?";
}


/* Is key one of the NULL-terminated names? */
static int
key_in(const char *key, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(key, *names) == 0)
            return 1;
    return 0;
}


/*
** Refuse any key of obj that is not in names (a typo must not silently
** leave a price at its default).  0, or -1 with err naming where.key.
*/
static int
known_keys(json_t *obj, const char *where, const char *path,
           const char *const *names, char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        if (!key_in(key, names)) {
            errf(err, errlen, "%s: %s%s: unknown key", where, path, key);
            return -1;
        }
    }
    return 0;
}


/*
** Read the number obj[key] into *out: it must be >= 0, and > 0 when
** positive is set.  A missing key leaves *out and returns 1 when optional,
** else fails.  0/1, or -1 with err.
*/
static int
number(json_t *obj, const char *key, int optional, int positive,
       const char *where, const char *path, double *out, char *err,
       size_t errlen)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL) {
        if (optional)
            return 1;
        errf(err, errlen, "%s: %s%s: missing", where, path, key);
        return -1;
    }
    if (!json_is_number(v)) {
        errf(err, errlen, "%s: %s%s: not a number", where, path, key);
        return -1;
    }
    *out = json_number_value(v);
    if (!isfinite(*out) || *out < 0 || (positive && *out == 0)) {
        errf(err, errlen, "%s: %s%s: %g is not a %s number", where, path, key,
             *out, positive ? "positive" : "non-negative");
        return -1;
    }
    return 0;
}


/* Fill *pr from the model object m (named path, "models.NAME."). */
static int
model_prices(json_t *m, const char *where, const char *path, cost_price_t *pr,
             char *err, size_t errlen)
{
    static const char *const hosted[] = {
        "input_usd_per_mtok", "cached_input_usd_per_mtok",
        "output_usd_per_mtok", "comment", NULL};
    static const char *const gpu[] = {
        "usd_per_gpu_hour",    "gpus",    "prefill_tokens_per_s",
        "decode_tokens_per_s", "comment", NULL};
    double hour, gpus = 1, prefill, decode;

    if (!json_is_object(m)) {
        errf(err, errlen, "%s: %s: not an object", where, path);
        return -1;
    }
    if (json_object_get(m, "usd_per_gpu_hour") == NULL) {
        if (known_keys(m, where, path, hosted, err, errlen) < 0 ||
            number(m, "input_usd_per_mtok", 0, 0, where, path, &pr->input, err,
                   errlen) < 0 ||
            number(m, "output_usd_per_mtok", 0, 0, where, path, &pr->output,
                   err, errlen) < 0)
            return -1;
        pr->cached = pr->input; /* no cache discount unless one is given */
        return number(m, "cached_input_usd_per_mtok", 1, 0, where, path,
                      &pr->cached, err, errlen) < 0
                   ? -1
                   : 0;
    }
    if (known_keys(m, where, path, gpu, err, errlen) < 0 ||
        number(m, "usd_per_gpu_hour", 0, 0, where, path, &hour, err, errlen) <
            0 ||
        number(m, "gpus", 1, 1, where, path, &gpus, err, errlen) < 0 ||
        number(m, "prefill_tokens_per_s", 0, 1, where, path, &prefill, err,
               errlen) < 0 ||
        number(m, "decode_tokens_per_s", 0, 1, where, path, &decode, err,
               errlen) < 0)
        return -1;
    pr->input = hour * gpus / (3600 * prefill) * MTOK;
    pr->output = hour * gpus / (3600 * decode) * MTOK;
    pr->cached = 0; /* a prefix-cache hit skips the prefill */
    pr->self_hosted = 1;
    return 0;
}


/* The book in doc (borrowed); where names it in errors. */
static prices_t *
prices_from_json(json_t *doc, const char *where, char *err, size_t errlen)
{
    static const char *const top[] = {"models", "roles", "comment",
                                      "source", "date",  NULL};
    json_t *models, *roles;
    prices_t *p = calloc(1, sizeof *p);
    char path[COST_MODEL_MAX + 16];

    if (p == NULL || (p->source = strdup(where)) == NULL) {
        errf(err, errlen, "%s: out of memory", where);
        goto fail;
    }
    if (!json_is_object(doc)) {
        errf(err, errlen, "%s: not a JSON object", where);
        goto fail;
    }
    if (known_keys(doc, where, "", top, err, errlen) < 0)
        goto fail;
    models = json_object_get(doc, "models");
    roles = json_object_get(doc, "roles");
    if (!json_is_object(models) || !json_is_object(roles)) {
        errf(err, errlen, "%s: %s: missing or not an object", where,
             json_is_object(models) ? "roles" : "models");
        goto fail;
    }
    if (known_keys(roles, where, "roles.", s_role_names, err, errlen) < 0)
        goto fail;
    for (int r = 0; r < COST_ROLES; r++) {
        json_t *name = json_object_get(roles, s_role_names[r]), *m;
        cost_price_t *pr = &p->role[r];

        if (!json_is_string(name) || json_string_length(name) == 0 ||
            json_string_length(name) >= sizeof pr->model) {
            errf(err, errlen,
                 "%s: roles.%s: %s (every role, weak, strong and prm, names "
                 "a model of \"models\")",
                 where, s_role_names[r],
                 name == NULL ? "missing" : "not a model name");
            goto fail;
        }
        snprintf(pr->model, sizeof pr->model, "%s", json_string_value(name));
        snprintf(path, sizeof path, "models.%s.", pr->model);
        if ((m = json_object_get(models, pr->model)) == NULL) {
            errf(err, errlen, "%s: roles.%s: no model \"%s\" in \"models\"",
                 where, s_role_names[r], pr->model);
            goto fail;
        }
        if (model_prices(m, where, path, pr, err, errlen) < 0)
            goto fail;
    }
    return p;
fail:
    prices_destroy(&p);
    return NULL;
}


prices_t *
prices_parse(const char *json_text, const char *where, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loads(json_text, 0, &jerr);
    prices_t *p;

    if (doc == NULL) {
        errf(err, errlen, "%s: line %d: %s", where, jerr.line, jerr.text);
        return NULL;
    }
    p = prices_from_json(doc, where, err, errlen);
    json_decref(doc);
    return p;
}


json_t *
cost_json_file(const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);

    if (doc == NULL && jerr.line > 0)
        errf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
    else if (doc == NULL)
        errf(err, errlen, "%s: %s", path, jerr.text);
    return doc;
}


prices_t *
prices_load(const char *path, char *err, size_t errlen)
{
    json_t *doc = cost_json_file(path, err, errlen);
    prices_t *p;

    if (doc == NULL)
        return NULL;
    p = prices_from_json(doc, path, err, errlen);
    json_decref(doc);
    return p;
}


void
prices_destroy(prices_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    free((*p)->source);
    free(*p);
    *p = NULL;
}


void
prices_cost(const prices_t *p, const cost_usage_t *u, cost_usd_t *out)
{
    const cost_price_t *weak = &p->role[COST_WEAK];

    memset(out, 0, sizeof *out);
    for (int r = 0; r < COST_ROLES; r++) {
        const cost_price_t *pr = &p->role[r];
        out->input[r] = (double)(u->input[r] - u->cached[r]) * pr->input / MTOK;
        out->cached[r] = (double)u->cached[r] * pr->cached / MTOK;
        out->output[r] = (double)u->output[r] * pr->output / MTOK;
        out->role[r] = out->input[r] + out->cached[r] + out->output[r];
        out->total += out->role[r];
    }
    out->wasted = ((double)(u->wasted_input - u->wasted_cached) * weak->input +
                   (double)u->wasted_cached * weak->cached +
                   (double)u->wasted_output * weak->output) /
                  MTOK;
    out->total += out->wasted;
}


void
cost_usage_add(cost_usage_t *u, const cost_usage_t *v)
{
    for (int r = 0; r < COST_ROLES; r++) {
        u->input[r] += v->input[r];
        u->cached[r] += v->cached[r];
        u->output[r] += v->output[r];
    }
    u->wasted_input += v->wasted_input;
    u->wasted_cached += v->wasted_cached;
    u->wasted_output += v->wasted_output;
}

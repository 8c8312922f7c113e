/*
** roi_curve.c: the curve roi_project reads, from a `trim eval` result
** (eval.json) or from the runs of an audit store (see roi.h).
*/
#include "roi_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cost_internal.h"
#include "errf.h"

static roi_curve_t *
curve_new(const char *source)
{
    roi_curve_t *c = calloc(1, sizeof *c);

    if (c == NULL || (c->source = strdup(source)) == NULL) {
        free(c);
        return NULL;
    }
    c->weak.accuracy = c->strong.accuracy = NAN;
    return c;
}


void
roi_curve_destroy(roi_curve_t **cp)
{
    roi_curve_t *c;

    if (cp == NULL || *cp == NULL)
        return;
    c = *cp;
    for (size_t i = 0; i < c->n; i++)
        free(c->pol[i].pts);
    free(c->pol);
    free(c->source);
    free(c);
    *cp = NULL;
}


/* The policy named name, added when new; NULL when out of memory. */
static roi_policy_t *
policy_get(roi_curve_t *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->pol[i].name, name) == 0)
            return &c->pol[i];
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        roi_policy_t *v = realloc(c->pol, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        c->pol = v;
        c->cap = cap;
    }
    roi_policy_t *p = &c->pol[c->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}


static int
policy_add(roi_policy_t *p, const roi_point_t *pt)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        roi_point_t *v = realloc(p->pts, cap * sizeof *v);
        if (v == NULL)
            return -1;
        p->pts = v;
        p->cap = cap;
    }
    p->pts[p->n++] = *pt;
    return 0;
}


/* ---- eval.json ----------------------------------------------------------- */

/*
** Read point j (named what in errors) into *pt.  A point without an
** accuracy gets NAN (it is left out); one without "usage" is an error that
** says how to get it.
*/
static int
json_point(json_t *j, const char *where, const char *what, roi_point_t *pt,
           char *err, size_t errlen)
{
    json_t *acc = json_object_get(j, "accuracy");
    json_t *usage = json_object_get(j, "usage");
    static const char *const parts[] = {"input", "cached", "output"};

    memset(pt, 0, sizeof *pt);
    snprintf(pt->spec, sizeof pt->spec, "%s",
             json_string_value(json_object_get(j, "spec"))
                 ? json_string_value(json_object_get(j, "spec"))
                 : "?");
    pt->accuracy = json_is_number(acc) ? json_number_value(acc) : NAN;
    pt->problems = json_integer_value(json_object_get(j, "problems"));
    if (!json_is_object(usage)) {
        errf(err, errlen,
             "%s: %s (%s): no \"usage\" (tokens per role): the file was "
             "written by a trim eval before dollars existed; run trim eval "
             "again to get one roi can price",
             where, what, pt->spec);
        return -1;
    }
    if (!json_is_integer(json_object_get(j, "problems"))) {
        errf(err, errlen, "%s: %s (%s): no \"problems\" (a count)", where, what,
             pt->spec);
        return -1;
    }
    for (int r = 0; r < COST_ROLES; r++) {
        json_t *role = json_object_get(usage, cost_role_name(r));
        int64_t *dst[3] = {&pt->usage.input[r], &pt->usage.cached[r],
                           &pt->usage.output[r]};
        for (int k = 0; k < 3; k++) {
            json_t *v = json_object_get(role, parts[k]);
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                errf(err, errlen,
                     "%s: %s (%s): usage.%s.%s: missing or not a count", where,
                     what, pt->spec, cost_role_name(r), parts[k]);
                return -1;
            }
            *dst[k] = json_integer_value(v);
        }
        if (pt->usage.cached[r] > pt->usage.input[r]) {
            errf(err, errlen,
                 "%s: %s (%s): usage.%s: cached %lld is more than input %lld "
                 "(cached is the part of input served from a cache)",
                 where, what, pt->spec, cost_role_name(r),
                 (long long)pt->usage.cached[r], (long long)pt->usage.input[r]);
            return -1;
        }
    }
    return 0;
}


/* The curve in doc (borrowed); where names it in errors. */
static roi_curve_t *
curve_from_json(json_t *doc, const char *where, char *err, size_t errlen)
{
    json_t *anchors = json_object_get(doc, "anchors");
    json_t *pols = json_object_get(doc, "policies"), *pj;
    roi_curve_t *c = NULL;
    size_t i;

    if (!json_is_object(anchors) || !json_is_array(pols)) {
        errf(err, errlen,
             "%s: no \"anchors\" and \"policies\": not a trim eval result "
             "(eval.json)",
             where);
        return NULL;
    }
    if ((c = curve_new(where)) == NULL)
        goto oom;
    if (json_point(json_object_get(anchors, "weak"), where, "anchors.weak",
                   &c->weak, err, errlen) < 0 ||
        json_point(json_object_get(anchors, "strong"), where, "anchors.strong",
                   &c->strong, err, errlen) < 0)
        goto fail;
    json_array_foreach(pols, i, pj)
    {
        const char *name = json_string_value(json_object_get(pj, "policy"));
        json_t *pts = json_object_get(pj, "points"), *q;
        roi_policy_t *pol;
        size_t k;
        char what[96];

        if (name == NULL || !json_is_array(pts))
            continue; /* a curve eval could not evaluate (its "error") */
        if ((pol = policy_get(c, name)) == NULL)
            goto oom;
        json_array_foreach(pts, k, q)
        {
            roi_point_t pt;
            snprintf(what, sizeof what, "policy %s point %zu", name, k + 1);
            if (json_point(q, where, what, &pt, err, errlen) < 0)
                goto fail;
            if (!isnan(pt.accuracy) && pt.problems > 0 &&
                policy_add(pol, &pt) < 0)
                goto oom;
        }
    }
    return c;
oom:
    errf(err, errlen, "%s: out of memory", where);
fail:
    roi_curve_destroy(&c);
    return NULL;
}


roi_curve_t *
roi_curve_parse(const char *json_text, const char *where, char *err,
                size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loads(json_text, 0, &jerr);
    roi_curve_t *c;

    if (doc == NULL) {
        errf(err, errlen, "%s: line %d: %s", where, jerr.line, jerr.text);
        return NULL;
    }
    c = curve_from_json(doc, where, err, errlen);
    json_decref(doc);
    return c;
}


roi_curve_t *
roi_curve_load(const char *path, char *err, size_t errlen)
{
    json_t *doc = cost_json_file(path, err, errlen);
    roi_curve_t *c;

    if (doc == NULL)
        return NULL;
    c = curve_from_json(doc, path, err, errlen);
    json_decref(doc);
    return c;
}


/* ---- the runs of a store ------------------------------------------------- */

typedef struct store_walk {
    store_reader_t *r;
    roi_curve_t *c;
    char *err;
    size_t errlen;
    int failed;
} store_walk_t;


/* One run as a point of its policy family (or an anchor). */
static int
run_point(void *ctx, const store_run_t *run)
{
    store_walk_t *w = ctx;
    store_summary_t s;
    roi_point_t pt = {.accuracy = NAN};
    const char *policy = run->policy ? run->policy : "?";
    char family[64];

    if (store_totals(w->r, run->run_id, &s, w->err, w->errlen) < 0 ||
        cost_usage_run(w->r, run->run_id, 0, &pt.usage, w->err, w->errlen) <
            0) {
        w->failed = 1;
        return 1;
    }
    if (s.graded == 0 || s.problems == 0)
        return 0; /* nothing to score it by */
    snprintf(pt.spec, sizeof pt.spec, "%s", policy);
    pt.accuracy = (double)s.correct / (double)s.graded;
    pt.problems = s.problems;
    if (strcmp(policy, "weak") == 0) {
        w->c->weak = pt; /* runs come in id order: the latest wins */
        return 0;
    }
    if (strcmp(policy, "strong") == 0) {
        w->c->strong = pt;
        return 0;
    }
    snprintf(family, sizeof family, "%.*s", (int)strcspn(policy, ":"), policy);
    roi_policy_t *pol = policy_get(w->c, family);
    if (pol == NULL || policy_add(pol, &pt) < 0) {
        errf(w->err, w->errlen, "out of memory reading runs");
        w->failed = 1;
        return 1;
    }
    return 0;
}


roi_curve_t *
roi_curve_from_store(store_reader_t *r, char *err, size_t errlen)
{
    const char *file = sqlite3_db_filename(store_reader_sqlite(r), "main");
    char source[600];
    roi_curve_t *c;
    store_walk_t w = {r, NULL, err, errlen, 0};

    snprintf(source, sizeof source, "the runs of %s",
             file && *file ? file : "the audit store");
    if ((w.c = c = curve_new(source)) == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    if (store_each_run(r, run_point, &w, err, errlen) < 0 || w.failed)
        roi_curve_destroy(&c);
    return c;
}

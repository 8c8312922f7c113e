/*
** roi.c: dollars in the console: /api/prices, /api/roi (the document of
** cost/roi.h that `trim roi --json` prints, served as it is), and the
** dollars added to runs, problems and steps (docs/console.md).
*/
#include "console_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRICE_MAX 1e6 /* USD per million tokens, far above any real price */

/* The price arguments, [role][part]: input, cached input, output. */
static const char *const s_price_args[COST_ROLES][3] = {
    {"weak_input", "weak_cached", "weak_output"},
    {"strong_input", "strong_cached", "strong_output"},
    {"prm_input", "prm_cached", "prm_output"},
};


/* {"total", "weak", "strong", "prm", "wasted"} in USD for usage under p
** (wasted: the speculative drafts thrown away, in total too). */
static json_t *
dollars_json(const prices_t *p, const cost_usage_t *u)
{
    cost_usd_t usd;

    prices_cost(p, u, &usd);
    return json_pack("{s:f,s:f,s:f,s:f,s:f}", "total", usd.total, "weak",
                     usd.role[COST_WEAK], "strong", usd.role[COST_STRONG],
                     "prm", usd.role[COST_PRM], "wasted", usd.wasted);
}


int
con_dollars_run(console_t *c, json_t *run)
{
    json_int_t id = json_integer_value(json_object_get(run, "run_id"));
    int finished = json_integer_value(json_object_get(run, "finished_ms")) > 0;
    cost_usage_t u;
    char err[512];

    if (c->prices == NULL)
        return 0;
    /* A finished run's usage cannot change: read it once (one stored row
    ** per problem, store_usage_run). */
    for (size_t i = 0; i < c->n_usage; i++)
        if (c->usage[i].run_id == id) {
            json_object_set_new(run, "dollars",
                                dollars_json(c->prices, &c->usage[i].u));
            return 0;
        }
    if (cost_usage_run(c->reader, id, 0, &u, err, sizeof err) < 0)
        return -1;
    if (finished) {
        con_run_usage_t *v =
            realloc(c->usage, (c->n_usage + 1) * sizeof *c->usage);
        if (v != NULL) {
            c->usage = v;
            c->usage[c->n_usage].run_id = id;
            c->usage[c->n_usage++].u = u;
        }
    }
    json_object_set_new(run, "dollars", dollars_json(c->prices, &u));
    return 0;
}


/*
** cost_each_step's callback: the row's dollars onto its step entry, its
** tokens into the problem's total (the rows' sum is what cost_usage_run
** counts for the problem: one walk of its steps instead of two).
*/
typedef struct step_dollars {
    const prices_t *prices;
    json_t *steps; /* one entry per step index, as read_steps made them */
    size_t at;
    cost_usage_t total;
} step_dollars_t;


static int
add_step_dollars(void *ctx, int32_t index, store_kind_t kind,
                 const cost_usage_t *u)
{
    step_dollars_t *d = ctx;
    json_t *entry;

    cost_usage_add(&d->total, u);
    while ((entry = json_array_get(d->steps, d->at)) != NULL &&
           json_integer_value(json_object_get(entry, "step_index")) < index)
        d->at++;
    json_t *row =
        json_object_get(entry, kind == STORE_STRONG ? "strong" : "draft");
    if (json_is_object(row))
        json_object_set_new(row, "dollars", dollars_json(d->prices, u));
    return 0;
}


int
con_dollars_problem(console_t *c, json_t *problem, json_t *steps)
{
    json_int_t id = json_integer_value(json_object_get(problem, "problem_id"));
    step_dollars_t d = {.prices = c->prices, .steps = steps};
    char err[512];

    if (c->prices == NULL)
        return 0;
    if (cost_each_step(c->reader, id, add_step_dollars, &d, err, sizeof err) <
            0 ||
        cost_usage_wasted(c->reader, id, &d.total, err, sizeof err) < 0)
        return -1;
    json_object_set_new(problem, "dollars", dollars_json(c->prices, &d.total));
    return 0;
}


void
con_api_prices(console_t *c, const con_req_t *q, con_reply_t *out)
{
    static const char *const names[] = {NULL};
    json_t *roles;

    if (con_args_check(q, names, out) < 0)
        return;
    if (c->prices == NULL) {
        con_reply_json(out, 200, json_pack("{s:n}", "prices"));
        return;
    }
    roles = json_object();
    for (int r = 0; r < COST_ROLES; r++) {
        const cost_price_t *p = &c->prices->role[r];
        json_object_set_new(roles, cost_role_name(r),
                            json_pack("{s:s,s:f,s:f,s:f,s:b}", "model",
                                      p->model, "input", p->input, "cached",
                                      p->cached, "output", p->output,
                                      "self_hosted", p->self_hosted));
    }
    con_reply_json(out, 200,
                   json_pack("{s:{s:s,s:o}}", "prices", "source",
                             c->prices->source ? c->prices->source : "",
                             "roles", roles));
}


/*
** The request's price book into *p: the console's, each price replaced by
** its argument when given; without a book every price must be given.
** Returns 0, or -1 with a 400 in out.
*/
static int
request_prices(console_t *c, const con_req_t *q, prices_t *p, con_reply_t *out)
{
    memset(p, 0, sizeof *p);
    if (c->prices != NULL) {
        *p = *c->prices; /* the source string stays the console's */
    } else {
        for (int r = 0; r < COST_ROLES; r++)
            snprintf(p->role[r].model, sizeof p->role[r].model, "%s",
                     cost_role_name(r));
        p->source = "the request";
    }
    for (int r = 0; r < COST_ROLES; r++) {
        double *part[3] = {&p->role[r].input, &p->role[r].cached,
                           &p->role[r].output};
        for (int k = 0; k < 3; k++) {
            const char *name = s_price_args[r][k];
            if (c->prices == NULL && con_arg(q, name) == NULL) {
                con_reply_error(out, 400, name,
                                "%s: missing (the console has no price book: "
                                "start it with --prices FILE, or give every "
                                "price)",
                                name);
                return -1;
            }
            if (con_arg_double(q, name, 0, PRICE_MAX, *part[k], part[k], out) <
                0)
                return -1;
        }
    }
    return 0;
}


/* Reply with a document of roi.h as it is (NULL: out of memory). */
static void
reply_document(con_reply_t *out, char *doc)
{
    if (doc == NULL) {
        con_reply_json(out, 500, NULL);
        return;
    }
    out->status = 200;
    out->type = "application/json; charset=utf-8";
    out->body = doc;
    out->len = strlen(doc);
    out->body_static = 0;
}


/* /api/roi?run=N[&baseline_run=M]: what run N spent and saved. */
static void
roi_measured(console_t *c, const con_req_t *q, const prices_t *p,
             con_reply_t *out)
{
    int64_t run, baseline;
    roi_measured_t m;
    char err[512];

    if (con_arg_int(q, "run", 1, INT64_MAX, 0, &run, out) < 0 ||
        con_arg_int(q, "baseline_run", 1, INT64_MAX, 0, &baseline, out) < 0)
        return;
    int rc = roi_measure(c->reader, p, run, baseline, &m, err, sizeof err);
    if (rc < 0) {
        con_reply_error(out, rc == -2 ? 404 : 500, NULL, "%s", err);
        return;
    }
    reply_document(out, roi_measured_json(&m, p));
}


/*
** The runs of the store as a curve.  Making it reads every step of every
** run (their tokens), so it is kept while the runs are the same ones
** (count, last id, finish times) and all finished: then nothing it was made
** from can change.  NULL with err.
*/
static const roi_curve_t *
store_curve(console_t *c, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT count(*), coalesce(max(run_id), 0), coalesce(sum(finished_ms),"
        " 0), coalesce(sum(finished_ms = 0), 0) FROM runs";
    con_reply_t ignored = {0};
    sqlite3_stmt *st = con_stmt(c, CON_Q_RUNS_KEY, sql, &ignored);
    int64_t key[3] = {0}, unfinished = 1;

    free(ignored.body_static ? NULL : ignored.body);
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < 3; i++)
            key[i] = sqlite3_column_int64(st, i);
        unfinished = sqlite3_column_int64(st, 3);
    }
    if (st != NULL)
        sqlite3_reset(st);
    if (c->store_curve != NULL && unfinished == 0 &&
        memcmp(key, c->store_key, sizeof key) == 0)
        return c->store_curve;
    roi_curve_destroy(&c->store_curve);
    if ((c->store_curve = roi_curve_from_store(c->reader, err, errlen)) == NULL)
        return NULL;
    /* Kept only when complete; otherwise made again next time. */
    memcpy(c->store_key, key, sizeof key);
    if (unfinished != 0)
        c->store_key[0] = -1;
    return c->store_curve;
}


/* /api/roi?volume=...: the projection from the eval curve or the store. */
static void
roi_projected(console_t *c, const con_req_t *q, const prices_t *p,
              con_reply_t *out)
{
    static const char *const sources[] = {"eval", "store", NULL};
    roi_query_t rq = {0};
    roi_projection_t pr = {0};
    const roi_curve_t *curve;
    int source;
    char err[512];

    if (con_arg_enum(q, "source", sources, c->roi_curve ? 0 : 1, &source, out) <
            0 ||
        con_arg_double(q, "volume", 1e-9, 1e15, NAN, &rq.volume, out) < 0 ||
        con_arg_double(q, "target_accuracy", 0, 1, NAN, &rq.target_accuracy,
                       out) < 0 ||
        con_arg_double(q, "target_pgr", 0, 1, NAN, &rq.target_pgr, out) < 0 ||
        con_arg_double(q, "fixed_monthly", 0, 1e12, 0, &rq.fixed_monthly, out) <
            0)
        return;
    if (isnan(rq.volume)) {
        con_reply_error(out, 400, "volume",
                        "volume: missing (problems a month)");
        return;
    }
    if (isnan(rq.target_accuracy) == isnan(rq.target_pgr)) {
        con_reply_error(out, 400, "target_accuracy",
                        "give one of target_accuracy and target_pgr");
        return;
    }
    if (source == 0 && c->roi_curve == NULL) {
        con_reply_error(out, 400, "source",
                        "source: no eval curve (start the console with "
                        "--curve DIR/eval.json)%s%s",
                        c->curve_error ? ": " : "",
                        c->curve_error ? c->curve_error : "");
        return;
    }
    curve = source == 1 ? store_curve(c, err, sizeof err) : c->roi_curve;
    if (curve == NULL) {
        con_reply_error(out, 500, NULL, "%s", err);
        return;
    }
    if (roi_project(curve, p, &rq, &pr, err, sizeof err) < 0)
        con_reply_error(out, 400, NULL, "%s", err);
    else
        reply_document(out, roi_projection_json(&pr, p));
    roi_projection_clear(&pr);
}


void
con_api_roi(console_t *c, const con_req_t *q, con_reply_t *out)
{
    static const char *const names[] = {"run",
                                        "baseline_run",
                                        "source",
                                        "volume",
                                        "target_accuracy",
                                        "target_pgr",
                                        "fixed_monthly",
                                        "weak_input",
                                        "weak_cached",
                                        "weak_output",
                                        "strong_input",
                                        "strong_cached",
                                        "strong_output",
                                        "prm_input",
                                        "prm_cached",
                                        "prm_output",
                                        NULL};
    prices_t p;

    if (con_args_check(q, names, out) < 0 || request_prices(c, q, &p, out) < 0)
        return;
    if (con_arg(q, "run") != NULL)
        roi_measured(c, q, &p, out);
    else
        roi_projected(c, q, &p, out);
}

/*
** sweep_write.c: a sweep as CSV and JSON (see sweep.h).
*/
#include "sweep.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


/* A text field, quoted when it holds a comma, a quote or a line break. */
static void
csv_text(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}


/* ",number", or "," alone for NAN. */
static void
csv_num(FILE *f, double v)
{
    if (isnan(v))
        fputc(',', f);
    else
        fprintf(f, ",%.6g", v);
}


static void
csv_point(FILE *f, const char *policy, const sweep_point_t *p)
{
    csv_text(f, policy);
    fputc(',', f);
    csv_text(f, p->spec);
    csv_num(f, p->knob);
    csv_num(f, p->accuracy);
    csv_num(f, p->strong);
    csv_num(f, p->cost);
    csv_num(f, p->pgr);
    csv_num(f, p->delta_ibc);
    csv_num(f, p->draft);
    csv_num(f, p->discarded);
    csv_num(f, p->token_share);
    fprintf(f, ",%d,%" PRId64 ",%" PRId64 "\n", p->on_frontier, p->problems,
            p->failed);
}


int
sweep_write_curves_csv(const sweep_t *s, FILE *f)
{
    fputs("policy,spec,knob,accuracy,strong_tokens_per_problem,cost_share,"
          "pgr,delta_ibc,draft_tokens_per_problem,"
          "discarded_tokens_per_problem,strong_token_frac,on_frontier,"
          "problems,failed\n",
          f);
    csv_point(f, "anchor", &s->weak);
    csv_point(f, "anchor", &s->strong);
    for (size_t i = 0; i < s->n_curves; i++) {
        const sweep_curve_t *c = &s->curves[i];
        if (c->error[0])
            continue;
        for (size_t k = 0; k < c->n; k++)
            csv_point(f, c->name, &c->points[k]);
    }
    return ferror(f) ? -1 : 0;
}


int
sweep_write_summary_csv(const sweep_t *s, FILE *f)
{
    fputs("policy,points,cpt50,cpt80,cpt95,delta_ibc,delta_ibc_targets,apgr,"
          "acc_weak,acc_strong,strong_only_tokens_per_problem,problems,seed,"
          "test_set,train_set,error\n",
          f);
    for (size_t i = 0; i < s->n_curves; i++) {
        const sweep_curve_t *c = &s->curves[i];
        const metrics_summary_t *m = &c->summary;
        csv_text(f, c->name);
        fprintf(f, ",%zu", c->error[0] ? (size_t)0 : c->n);
        csv_num(f, m->cpt50);
        csv_num(f, m->cpt80);
        csv_num(f, m->cpt95);
        csv_num(f, m->delta_ibc);
        fprintf(f, ",%d", m->delta_ibc_targets);
        csv_num(f, m->apgr);
        csv_num(f, s->weak.accuracy);
        csv_num(f, s->strong.accuracy);
        csv_num(f, s->strong.strong);
        fprintf(f, ",%" PRId64 ",%" PRIu64 ",", s->problems, s->seed);
        csv_text(f, s->test_set);
        fputc(',', f);
        csv_text(f, s->train_set);
        fputc(',', f);
        csv_text(f, c->error);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}


/* A number, or null for NAN (JSON has no NaN). */
static json_t *
jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}


static json_t *
point_json(const sweep_point_t *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "spec", json_string(p->spec));
    json_object_set_new(j, "knob", jnum(p->knob));
    json_object_set_new(j, "accuracy", jnum(p->accuracy));
    json_object_set_new(j, "strong_tokens_per_problem", jnum(p->strong));
    json_object_set_new(j, "cost_share", jnum(p->cost));
    json_object_set_new(j, "pgr", jnum(p->pgr));
    json_object_set_new(j, "delta_ibc", jnum(p->delta_ibc));
    json_object_set_new(j, "draft_tokens_per_problem", jnum(p->draft));
    json_object_set_new(j, "discarded_tokens_per_problem", jnum(p->discarded));
    json_object_set_new(j, "strong_token_frac", jnum(p->token_share));
    json_object_set_new(j, "on_frontier", json_boolean(p->on_frontier));
    json_object_set_new(j, "problems", json_integer(p->problems));
    json_object_set_new(j, "failed", json_integer(p->failed));
    json_object_set_new(j, "seconds", jnum(p->seconds));
    if (p->has_usage) {
        static const char *const roles[SWEEP_ROLES] = {"weak", "strong", "prm"};
        json_t *u = json_object();
        for (int r = 0; r < SWEEP_ROLES; r++)
            json_object_set_new(u, roles[r],
                                json_pack("{s:I, s:I, s:I}", "input",
                                          (json_int_t)p->input[r], "cached",
                                          (json_int_t)p->cached[r], "output",
                                          (json_int_t)p->output[r]));
        json_object_set_new(j, "usage", u);
    }
    return j;
}


static json_t *
curve_json(const sweep_curve_t *c)
{
    json_t *j = json_object(), *pts = json_array(), *fr = json_array();
    const metrics_summary_t *m = &c->summary;

    json_object_set_new(j, "policy", json_string(c->name));
    if (c->error[0]) {
        json_object_set_new(j, "error", json_string(c->error));
        json_decref(pts);
        json_decref(fr);
        return j;
    }
    for (size_t k = 0; k < c->n; k++)
        json_array_append_new(pts, point_json(&c->points[k]));
    for (size_t k = 0; k < c->n_frontier; k++)
        json_array_append_new(fr, json_pack("[o, o]", jnum(c->frontier[k].cost),
                                            jnum(c->frontier[k].accuracy)));
    json_object_set_new(j, "points", pts);
    json_object_set_new(j, "frontier", fr);
    json_object_set_new(j, "summary",
                        json_pack("{s:o, s:o, s:o, s:o, s:i, s:o}", "cpt50",
                                  jnum(m->cpt50), "cpt80", jnum(m->cpt80),
                                  "cpt95", jnum(m->cpt95), "delta_ibc",
                                  jnum(m->delta_ibc), "delta_ibc_targets",
                                  m->delta_ibc_targets, "apgr", jnum(m->apgr)));
    return j;
}


char *
sweep_json(const sweep_t *s)
{
    json_t *j = json_object(), *curves = json_array();
    char *out;

    if (j == NULL || curves == NULL) {
        json_decref(j);
        json_decref(curves);
        return NULL;
    }
    json_object_set_new(j, "problems", json_integer(s->problems));
    json_object_set_new(j, "seed", json_integer((json_int_t)s->seed));
    json_object_set_new(j, "test_set", json_string(s->test_set));
    json_object_set_new(j, "train_set", json_string(s->train_set));
    json_object_set_new(
        j, "cost",
        json_string("strong tokens per problem / strong-only's; frontier: "
                    "upper-left Pareto with the anchors, linear"));
    json_object_set_new(j, "anchors",
                        json_pack("{s:o, s:o}", "weak", point_json(&s->weak),
                                  "strong", point_json(&s->strong)));
    for (size_t i = 0; i < s->n_curves; i++)
        json_array_append_new(curves, curve_json(&s->curves[i]));
    json_object_set_new(j, "policies", curves);
    out = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(j);
    return out;
}

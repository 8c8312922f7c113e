/*
** sweep_write.c: a sweep as CSV and JSON (see sweep.h).
*/
#include "sweep.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"


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
    csv_field(f, policy);
    fputc(',', f);
    csv_field(f, p->spec);
    csv_num(f, p->knob);
    csv_num(f, p->accuracy);
    csv_num(f, p->strong);
    csv_num(f, p->cost);
    csv_num(f, p->pgr);
    csv_num(f, p->delta_ibc);
    csv_num(f, p->draft);
    csv_num(f, p->discarded);
    csv_num(f, p->token_share);
    fprintf(f, ",%d,%" PRId64 ",%" PRId64, p->on_frontier, p->problems,
            p->failed);
    csv_num(f, p->iv_accuracy.lo);
    csv_num(f, p->iv_accuracy.hi);
    csv_num(f, p->iv_strong.lo);
    csv_num(f, p->iv_strong.hi);
    csv_num(f, p->iv_cost.lo);
    csv_num(f, p->iv_cost.hi);
    fputc('\n', f);
}


int
sweep_write_curves_csv(const sweep_t *s, FILE *f)
{
    fputs("policy,spec,knob,accuracy,strong_tokens_per_problem,cost_share,"
          "pgr,delta_ibc,draft_tokens_per_problem,"
          "discarded_tokens_per_problem,strong_token_frac,on_frontier,"
          "problems,failed,accuracy_lo,accuracy_hi,strong_tokens_lo,"
          "strong_tokens_hi,cost_share_lo,cost_share_hi\n",
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
          "test_set,train_set,error,seeds,cpt50_lo,cpt50_hi,cpt80_lo,"
          "cpt80_hi,cpt95_lo,cpt95_hi,delta_ibc_lo,delta_ibc_hi,apgr_lo,"
          "apgr_hi\n",
          f);
    for (size_t i = 0; i < s->n_curves; i++) {
        const sweep_curve_t *c = &s->curves[i];
        const metrics_summary_t *m = &c->summary;
        csv_field(f, c->name);
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
        csv_field(f, s->test_set);
        fputc(',', f);
        csv_field(f, s->train_set);
        fputc(',', f);
        csv_field(f, c->error);
        fprintf(f, ",%zu", s->n_seeds ? s->n_seeds : 1);
        for (int k = 0; k < SWEEP_FIGURES; k++) {
            csv_num(f, c->iv[k].lo);
            csv_num(f, c->iv[k].hi);
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}


int
sweep_write_comparisons_csv(const sweep_t *s, FILE *f)
{
    fputs("policy,baseline,figure,kind,mean,lo,hi,nan_share,shown\n", f);
    for (size_t d = 0; d < s->n_diffs; d++) {
        const sweep_diff_t *df = &s->diffs[d];
        csv_field(f, df->policy);
        fputc(',', f);
        csv_field(f, df->baseline);
        fprintf(f, ",%s,%s", sweep_figure_name(df->figure),
                df->ratio ? "ratio" : "difference");
        csv_num(f, df->iv.mean);
        csv_num(f, df->iv.lo);
        csv_num(f, df->iv.hi);
        csv_num(f, df->iv.nan_share);
        fprintf(f, ",%s\n",
                df->verdict > 0   ? "policy better"
                : df->verdict < 0 ? "baseline better"
                                  : "");
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
    json_object_set_new(j, "accuracy_lo", jnum(p->iv_accuracy.lo));
    json_object_set_new(j, "accuracy_hi", jnum(p->iv_accuracy.hi));
    json_object_set_new(j, "strong_tokens_per_problem_lo",
                        jnum(p->iv_strong.lo));
    json_object_set_new(j, "strong_tokens_per_problem_hi",
                        jnum(p->iv_strong.hi));
    json_object_set_new(j, "cost_share_lo", jnum(p->iv_cost.lo));
    json_object_set_new(j, "cost_share_hi", jnum(p->iv_cost.hi));
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
summary_json(const metrics_summary_t *m)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:i, s:o}", "cpt50", jnum(m->cpt50),
                     "cpt80", jnum(m->cpt80), "cpt95", jnum(m->cpt95),
                     "delta_ibc", jnum(m->delta_ibc), "delta_ibc_targets",
                     m->delta_ibc_targets, "apgr", jnum(m->apgr));
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
    json_t *sum = summary_json(m);
    for (int k = 0; k < SWEEP_FIGURES; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s_lo", sweep_figure_name(k));
        json_object_set_new(sum, key, jnum(c->iv[k].lo));
        snprintf(key, sizeof key, "%s_hi", sweep_figure_name(k));
        json_object_set_new(sum, key, jnum(c->iv[k].hi));
        snprintf(key, sizeof key, "%s_nan_share", sweep_figure_name(k));
        json_object_set_new(sum, key, jnum(c->iv[k].nan_share));
    }
    json_object_set_new(j, "summary", sum);
    json_t *per_seed = json_array();
    for (size_t i = 0; i < c->n_per_seed; i++)
        json_array_append_new(per_seed, summary_json(&c->per_seed[i]));
    json_object_set_new(j, "per_seed", per_seed);
    return j;
}


static json_t *
comparisons_json(const sweep_t *s)
{
    json_t *a = json_array();

    for (size_t d = 0; d < s->n_diffs; d++) {
        const sweep_diff_t *df = &s->diffs[d];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:i}",
                         "policy", df->policy, "baseline", df->baseline,
                         "figure", sweep_figure_name(df->figure), "kind",
                         df->ratio ? "ratio" : "difference", "mean",
                         jnum(df->iv.mean), "lo", jnum(df->iv.lo), "hi",
                         jnum(df->iv.hi), "nan_share", jnum(df->iv.nan_share),
                         "verdict", df->verdict));
    }
    return a;
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
    json_t *seeds = json_array();
    for (size_t i = 0; i < s->n_seeds; i++)
        json_array_append_new(seeds, json_integer((json_int_t)s->seeds[i]));
    if (s->n_seeds == 0)
        json_array_append_new(seeds, json_integer((json_int_t)s->seed));
    json_object_set_new(j, "seeds", seeds);
    json_object_set_new(
        j, "bootstrap",
        json_pack("{s:i, s:o, s:s}", "reps", s->boot_reps, "level",
                  jnum(s->boot_reps ? s->boot_level : NAN), "unit",
                  "problem, resampled within each seed, jointly for every "
                  "policy (paired); lo/hi: percentile interval; mean: the "
                  "figure over all seeds' problems"));
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
    json_object_set_new(j, "comparisons", comparisons_json(s));
    out = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(j);
    return out;
}

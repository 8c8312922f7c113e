/*
** roi_json.c: the JSON documents of `trim roi --json` and the console's
** /api/roi (roi.h).  Dollars are numbers in USD; a figure that does not
** exist (no correct answer, a target never reached) is null.
*/
#include "roi_internal.h"

#include <jansson.h>
#include <math.h>

/* A number, or null for NAN and infinities (JSON has neither). */
static json_t *
jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}


/* The book's model and prices per role. */
static json_t *
prices_json(const prices_t *p)
{
    json_t *j = json_object(), *roles = json_object();

    for (int r = 0; r < COST_ROLES; r++) {
        const cost_price_t *pr = &p->role[r];
        json_object_set_new(
            roles, cost_role_name(r),
            json_pack("{s:s, s:o, s:o, s:o, s:b}", "model", pr->model,
                      "input_usd_per_mtok", jnum(pr->input),
                      "cached_input_usd_per_mtok", jnum(pr->cached),
                      "output_usd_per_mtok", jnum(pr->output), "self_hosted",
                      pr->self_hosted));
    }
    json_object_set_new(j, "source", json_string(p->source));
    json_object_set_new(j, "roles", roles);
    return j;
}


/* Tokens and dollars per role, the wasted drafts', and the total. */
static json_t *
split_json(const cost_usage_t *u, const cost_usd_t *usd)
{
    json_t *j = json_object();

    for (int r = 0; r < COST_ROLES; r++)
        json_object_set_new(
            j, cost_role_name(r),
            json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "input_tokens",
                      (json_int_t)u->input[r], "cached_input_tokens",
                      (json_int_t)u->cached[r], "output_tokens",
                      (json_int_t)u->output[r], "input_usd",
                      jnum(usd->input[r]), "cached_input_usd",
                      jnum(usd->cached[r]), "output_usd", jnum(usd->output[r]),
                      "usd", jnum(usd->role[r])));
    json_object_set_new(
        j, "wasted",
        json_pack("{s:I, s:I, s:I, s:o}", "input_tokens",
                  (json_int_t)u->wasted_input, "cached_input_tokens",
                  (json_int_t)u->wasted_cached, "output_tokens",
                  (json_int_t)u->wasted_output, "usd", jnum(usd->wasted)));
    json_object_set_new(j, "total_usd", jnum(usd->total));
    return j;
}


static char *
dump(json_t *j)
{
    char *s =
        j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(j);
    return s;
}


char *
roi_measured_json(const roi_measured_t *m, const prices_t *p)
{
    json_t *j = json_object();

    json_object_set_new(j, "kind", json_string("measured"));
    json_object_set_new(j, "run", json_integer(m->run_id));
    json_object_set_new(j, "policy", json_string(m->policy));
    json_object_set_new(j, "prices", prices_json(p));
    json_object_set_new(j, "problems", json_integer(m->problems));
    json_object_set_new(j, "correct", json_integer(m->correct));
    json_object_set_new(j, "graded", json_integer(m->graded));
    json_object_set_new(j, "usd", jnum(m->usd.total));
    json_object_set_new(j, "usd_per_problem", jnum(m->per_problem));
    json_object_set_new(j, "usd_per_correct", jnum(m->per_correct));
    json_object_set_new(j, "by_role", split_json(&m->usage, &m->usd));
    json_object_set_new(
        j, "strong_only",
        json_pack("{s:o, s:o, s:o, s:o, s:s}", "usd", jnum(m->strong_only),
                  "usd_per_problem", jnum(m->strong_only / (double)m->problems),
                  "usd_per_correct", jnum(m->strong_only_per_correct),
                  "baseline_run",
                  m->baseline_run_id > 0 ? json_integer(m->baseline_run_id)
                                         : json_null(),
                  "basis", m->basis));
    json_object_set_new(
        j, "weak_only",
        json_pack("{s:o, s:o, s:s}", "usd", jnum(m->weak_only),
                  "usd_per_problem", jnum(m->weak_only / (double)m->problems),
                  "basis",
                  "estimated: this run's accepted steps at the weak model's "
                  "prices"));
    json_object_set_new(j, "savings_usd", jnum(m->savings));
    json_object_set_new(j, "savings_pct", jnum(m->savings_pct));
    return dump(j);
}


static json_t *
choice_json(const roi_choice_t *ch, const roi_query_t *q)
{
    return json_pack(
        "{s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "policy", ch->policy,
        "reached", ch->reached, "usd_per_problem", jnum(ch->per_problem),
        "accuracy", jnum(ch->accuracy), "monthly_usd",
        jnum(q->volume * ch->per_problem + q->fixed_monthly), "spec_lo",
        ch->reached ? json_string(ch->spec_lo) : json_null(), "spec_hi",
        ch->reached ? json_string(ch->spec_hi) : json_null(), "mix_hi",
        jnum(ch->mix));
}


char *
roi_projection_json(const roi_projection_t *pr, const prices_t *p)
{
    const roi_query_t *q = &pr->query;
    json_t *j = json_object(), *pols = json_array(), *sens = json_array();

    json_object_set_new(j, "kind", json_string("projected"));
    json_object_set_new(j, "prices", prices_json(p));
    json_object_set_new(j, "volume", jnum(q->volume));
    json_object_set_new(j, "target_accuracy", jnum(pr->target));
    json_object_set_new(j, "target_pgr", jnum(q->target_pgr));
    json_object_set_new(j, "fixed_monthly_usd", jnum(q->fixed_monthly));
    json_object_set_new(j, "anchors",
                        json_pack("{s:{s:o, s:o}, s:{s:o, s:o}}", "weak",
                                  "accuracy", jnum(pr->acc_weak),
                                  "usd_per_problem", jnum(pr->weak_per_problem),
                                  "strong", "accuracy", jnum(pr->acc_strong),
                                  "usd_per_problem",
                                  jnum(pr->strong_per_problem)));
    for (size_t i = 0; i < pr->n_policies; i++)
        json_array_append_new(pols, choice_json(&pr->policies[i], q));
    json_object_set_new(j, "policies", pols);
    json_object_set_new(j, "best",
                        pr->best >= 0 ? choice_json(&pr->policies[pr->best], q)
                                      : json_null());
    json_object_set_new(j, "monthly_strong_only_usd", jnum(pr->monthly_strong));
    json_object_set_new(j, "monthly_policy_usd", jnum(pr->monthly_policy));
    json_object_set_new(j, "savings_usd", jnum(pr->savings));
    json_object_set_new(j, "savings_pct", jnum(pr->savings_pct));
    json_object_set_new(j, "strong_only_better",
                        json_boolean(pr->strong_only_better));
    json_object_set_new(j, "usd_per_correct_strong_only",
                        jnum(pr->per_correct_strong));
    json_object_set_new(j, "usd_per_correct_policy",
                        jnum(pr->per_correct_policy));
    json_object_set_new(j, "break_even_volume", jnum(pr->break_even_volume));
    for (int k = 0; k < ROI_SENSITIVITY; k++) {
        const struct roi_sensitivity *s = &pr->sensitivity[k];
        json_array_append_new(
            sens,
            json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}",
                      "strong_price_scale", jnum(s->strong_scale),
                      "strong_weak_output_price_ratio", jnum(s->ratio), "best",
                      s->best >= 0 ? json_string(pr->policies[s->best].policy)
                                   : json_null(),
                      "usd_per_problem", jnum(s->per_problem),
                      "monthly_strong_only_usd", jnum(s->monthly_strong),
                      "monthly_policy_usd", jnum(s->monthly_policy),
                      "savings_pct", jnum(s->savings_pct), "strong_only_better",
                      s->strong_only_better));
    }
    json_object_set_new(j, "sensitivity", sens);
    return dump(j);
}

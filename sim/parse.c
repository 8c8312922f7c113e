/*
** parse.c: read a problem text back into its operations, and a step's text
** back into the value it wrote.
**
** The simulated models and PRM see only text, like real ones.  Parsing is
** plain scanning against the sentence templates (no regex, no allocation):
** it runs on every simulated call.
*/
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

static const char *
skip_space(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
        s++;
    return s;
}

/*
** Cheap test that fmt may match at s: the first literal after a leading
** placeholder word (the verb, mostly) must be there.  Saves trying the full
** match of every template on every sentence.
*/
static int
may_match(const char *fmt, const char *s, const char *end, const char *verb)
{
    if (fmt[0] != '%')
        return (*s | 32) == fmt[0];
    return verb < end && *verb == fmt[3];
}

/* Match one operation sentence at s; returns its length (with the period). */
static long
match_operation(const char *s, const char *end, sim_op_t *op, int *gender)
{
    const char *verb = s;
    while (verb < end && *verb != ' ')
        verb++;
    if (verb < end)
        verb++; /* the byte after the first word and its space */
    for (int i = 0; i < sim_n_op_templates; i++) {
        sim_fill_t f = {0};
        long m;
        if (!may_match(sim_op_templates[i].fmt, s, end, verb))
            continue;
        m = sim_tmpl_match(sim_op_templates[i].fmt, s, end, &f);
        if (m <= 0 || s + m >= end || s[m] != '.')
            continue;
        op->kind = sim_op_templates[i].kind;
        op->a = f.nums[0];
        op->b = f.nums[1];
        op->clause.s = s;
        op->clause.n = (size_t)m;
        *gender = f.gender;
        return m + 1;
    }
    return -1;
}

/*
** Read a simulated problem: "NAME has N OBJECTS.", then one sentence per
** operation (each may open with a connector such as "Then "), then "How many
** OBJECTS does NAME have now?".  Fills *t (spans point into text).  Returns
** 0, or -1 with "not a simulated problem: ..." in err.
*/
int
sim_text_parse(const char *text, sim_text_t *t, char *err, size_t errlen)
{
    const char *end, *s;
    sim_fill_t f = {0};
    long m;

    if (!text)
        return errf(err, errlen, "not a simulated problem: no text");
    end = text + strlen(text);
    s = skip_space(text, end);
    m = sim_tmpl_match(sim_intro_template, s, end, &f);
    if (m < 0)
        return errf(err, errlen,
                    "not a simulated problem: it does not open with "
                    "\"NAME has N OBJECTS.\" (starts \"%.40s\")",
                    s);
    t->name = f.name;
    t->object = f.object;
    t->initial = f.nums[0] * SIM_ONE;
    t->gender = 0;
    t->n_ops = 0;
    s += m;

    for (;;) {
        sim_fill_t q = {0};
        sim_op_t *op;
        int gender = 0;

        s = skip_space(s, end);
        if (s >= end)
            return errf(err, errlen,
                        "not a simulated problem: it does not end with "
                        "\"How many OBJECTS does NAME have now?\"");
        m = sim_tmpl_match(sim_question_template, s, end, &q);
        if (m > 0) {
            s = skip_space(s + m, end);
            if (s != end)
                return errf(err, errlen,
                            "not a simulated problem: text after the "
                            "question (\"%.40s\")",
                            s);
            break;
        }
        if (t->n_ops == SIM_MAX_OPS)
            return errf(err, errlen,
                        "not a simulated problem: more than %d operations",
                        SIM_MAX_OPS);
        for (int c = 0; c < sim_n_connectors; c++) {
            size_t n = strlen(sim_connectors[c]);
            if (*s == sim_connectors[c][0] && (size_t)(end - s) > n &&
                memcmp(s, sim_connectors[c], n) == 0) {
                s += n;
                break;
            }
        }
        op = &t->ops[t->n_ops];
        m = match_operation(s, end, op, &gender);
        if (m < 0)
            return errf(err, errlen,
                        "not a simulated problem: sentence %d (\"%.40s\") is "
                        "no known operation",
                        t->n_ops + 2, s);
        if (t->n_ops == 0)
            t->gender = gender;
        t->n_ops++;
        s += m;
    }
    if (t->n_ops == 0)
        return errf(err, errlen, "not a simulated problem: no operations");
    return 0;
}

int
sim_problem_check(const char *text, char *err, size_t errlen)
{
    sim_text_t t;

    return sim_text_parse(text, &t, err, errlen);
}


const char *
sim_refusal(const char *err, char *out, size_t outlen)
{
    static const char tag[] = "not a simulated problem: ";

    if (strncmp(err, tag, sizeof tag - 1) != 0)
        return err;
    snprintf(out, outlen,
             "the built-in simulator solves only problems it generated "
             "(print some with `trim sim-problems`); this text is not one: %s",
             err + sizeof tag - 1);
    return out;
}


/*
** The value a step wrote: the number after its last "= ", or failing that
** the one in "\boxed{...}".  Returns 0 with *value in hundredths, or -1 when
** the step states no value (cut short, or not a simulated step).
*/
int
sim_step_value(const char *step, int64_t *value)
{
    const char *end, *at = NULL, *box;
    size_t len;
    if (!step)
        return -1;
    len = strlen(step);
    end = step + len;
    for (size_t i = len; i >= 2; i--) {
        if (step[i - 2] == '=' && step[i - 1] == ' ') {
            at = step + i;
            break;
        }
    }
    if (at && sim_parse_value(at, end, value))
        return 0;
    box = strstr(step, "\\boxed{");
    if (box && sim_parse_value(box + 7, end, value))
        return 0;
    return -1;
}

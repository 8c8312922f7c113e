/*
** templates.c: the sentences simulated problems are made of, and the one
** matcher that reads them back.
**
** The generator renders these templates and the simulated models and PRM
** match them, so a problem is fully described by its text: a model sees
** exactly what a real model would see.  Placeholders:
**
**   %M name (a capitalised word)    %N a number (1 to 7 digits)
**   %O object, plural ("marbles")   %C container, plural ("bags")
**   %P she/he    %S her/his    %Q her/him   (the pronoun sets the gender)
**
** Operation templates are clauses: the problem writes each as a sentence
** (an optional connector such as "Then ", the clause, a period) and a step
** restates the clause before its computation.  Numbers come in order: a, then
** b for the group kinds.  The parser accepts a clause only when a period
** follows it, and prefilters templates on their first literal: a clause
** template opens with a lowercase literal, or with a placeholder, a space
** and a literal.
*/
#include <string.h>

#include "sim_internal.h"

const sim_tmpl_t sim_op_templates[] = {
    {SIM_OP_ADD, "%P finds %N more %O"},
    {SIM_OP_ADD, "%P buys %N more %O at the store"},
    {SIM_OP_ADD, "a friend gives %Q %N more %O"},
    {SIM_OP_ADDG, "%P buys %N %C of %N %O each"},
    {SIM_OP_ADDG, "%P receives %N %C with %N %O in each"},
    {SIM_OP_SUB, "%P gives away %N %O"},
    {SIM_OP_SUB, "%P loses %N %O"},
    {SIM_OP_SUB, "%P uses %N %O for a school project"},
    {SIM_OP_SUBG, "%P sells %N %C of %N %O each"},
    {SIM_OP_SUBG, "%P gives %N friends %N %O each"},
    {SIM_OP_MUL, "%P ends up with %N times as many %O as before"},
    {SIM_OP_MUL, "%S collection of %O grows to %N times its size"},
    {SIM_OP_DIV, "%P splits %S %O into %N equal piles and keeps one pile"},
    {SIM_OP_DIV, "%P divides %S %O equally into %N %C and keeps one of them"},
};
const int sim_n_op_templates =
    (int)(sizeof sim_op_templates / sizeof sim_op_templates[0]);

const char sim_intro_template[] = "%M has %N %O.";
const char sim_question_template[] = "How many %O does %M have now?";

const char *const sim_connectors[] = {"Then ", "Next, ", "After that, ",
                                      "Later, "};
const int sim_n_connectors =
    (int)(sizeof sim_connectors / sizeof sim_connectors[0]);

const char *const sim_subject_pronoun[2] = {"she", "he"};
static const char *const possessive[2] = {"her", "his"};
static const char *const object_pronoun[2] = {"her", "him"};

static int
is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Length of the word at s: letters, and hyphens inside it. */
static size_t
word_len(const char *s, const char *end)
{
    const char *p = s;
    while (p < end && (is_letter(*p) || (*p == '-' && p > s)))
        p++;
    return (size_t)(p - s);
}

/* Does the word s[0..n) equal w, ignoring case? */
static int
word_is(const char *s, size_t n, const char *w)
{
    if (strlen(w) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != w[i])
            return 0;
    return 1;
}

/* Which gender a pronoun word stands for in table pair, or -1. */
static int
pronoun_gender(const char *s, size_t n, const char *const pair[2])
{
    for (int g = 0; g < 2; g++)
        if (word_is(s, n, pair[g]))
            return g;
    return -1;
}

/*
** Write fmt with the placeholders filled from f: nums in order, the pronouns
** of f->gender.  The caller capitalises a sentence start.
*/
void
sim_tmpl_render(sim_buf_t *b, const char *fmt, const sim_fill_t *f)
{
    int num = 0;
    for (const char *q = fmt; *q; q++) {
        if (*q != '%') {
            /* The literal up to the next placeholder at once: the same
            ** bytes as one sim_buf_putc each, without a call a byte. */
            size_t n = strcspn(q, "%");
            sim_buf_put(b, q, n);
            q += n - 1;
            continue;
        }
        switch (*++q) {
        case 'M':
            sim_buf_put(b, f->name.s, f->name.n);
            break;
        case 'O':
            sim_buf_put(b, f->object.s, f->object.n);
            break;
        case 'C':
            sim_buf_put(b, f->container.s, f->container.n);
            break;
        case 'P':
            sim_buf_puts(b, sim_subject_pronoun[f->gender]);
            break;
        case 'S':
            sim_buf_puts(b, possessive[f->gender]);
            break;
        case 'Q':
            sim_buf_puts(b, object_pronoun[f->gender]);
            break;
        case 'N':
            sim_buf_int(b, f->nums[num]);
            num = 1; /* templates hold at most two numbers */
            break;
        default:
            return; /* not reached with the tables above */
        }
    }
}

/*
** Match fmt against the text at s (not beyond end), filling f with what the
** placeholders read.  The first character of fmt matches either case (a
** clause may open a sentence); other literals match exactly.  Returns the
** number of bytes matched, or -1.
*/
long
sim_tmpl_match(const char *fmt, const char *s, const char *end, sim_fill_t *f)
{
    const char *p = s;
    for (const char *q = fmt; *q; q++) {
        size_t n;
        int g;
        if (*q != '%') {
            if (p >= end)
                return -1;
            if (q == fmt ? lower(*p) != lower(*q) : *p != *q)
                return -1;
            p++;
            continue;
        }
        q++;
        if (*q == 'N') {
            int64_t v = 0;
            const char *d = p;
            while (p < end && *p >= '0' && *p <= '9' && p - d < 7)
                v = v * 10 + (*p++ - '0');
            if (p == d || f->n_nums >= 2)
                return -1;
            f->nums[f->n_nums++] = v;
            continue;
        }
        n = word_len(p, end);
        if (n == 0)
            return -1;
        switch (*q) {
        case 'M':
            if (*p < 'A' || *p > 'Z')
                return -1;
            f->name.s = p;
            f->name.n = n;
            break;
        case 'O':
            f->object.s = p;
            f->object.n = n;
            break;
        case 'C':
            f->container.s = p;
            f->container.n = n;
            break;
        case 'P':
        case 'S':
        case 'Q':
            g = pronoun_gender(p, n,
                               *q == 'P'   ? sim_subject_pronoun
                               : *q == 'S' ? possessive
                                           : object_pronoun);
            if (g < 0)
                return -1;
            f->gender = g;
            break;
        default:
            return -1;
        }
        p += n;
    }
    return (long)(p - s);
}

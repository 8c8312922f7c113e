/*
** grade_equal.c: is a predicted answer the ground truth? (see grade.h for
** the rules, grade_internal.h for the pieces).
*/
#include <string.h>
#include <strings.h>

#include "grade_internal.h"

#define MAX_NESTING 8 /* structures inside structures */
#define SAMPLES     4 /* points at which expressions with variables agree */

static int equal_span(const char *a, size_t an, const char *b, size_t bn,
                      int depth);


/* The end of a name at the start of s[0..n): one or two letters, or a
** control word ("\alpha"); 0 when there is none. */
static size_t
name_at(const char *s, size_t n)
{
    size_t i = 0;

    if (n > 0 && gr_is_alpha(s[0])) {
        i = 1;
        if (i < n && gr_is_alpha(s[i]))
            i++;
    } else if (n > 1 && s[0] == '\\' && gr_is_alpha(s[1])) {
        for (i = 1; i < n && gr_is_alpha(s[i]);)
            i++;
    }
    return i;
}


/* The end of what may follow a name ending at s[i]: a subscript ("_1",
** "_{12}"), arguments "(x)" and primes; 0 when a brace or parenthesis is
** not closed. */
static size_t
name_suffix(const char *s, size_t n, size_t i)
{
    if (i + 1 < n && s[i] == '_') {
        if (s[i + 1] == '{') {
            size_t c = gr_match_brace(s, n, i + 1);
            if (c >= n)
                return 0;
            i = c + 1;
        } else {
            i += 2;
        }
    }
    if (i < n && s[i] == '(') { /* f(x) */
        size_t j = i + 1;
        while (j < n && s[j] != ')' && s[j] != '(' && s[j] != '=')
            j++;
        if (j >= n || s[j] != ')')
            return 0;
        i = j + 1;
    }
    while (i < n && s[i] == '\'')
        i++;
    return i;
}


/* Length of "x=", "f(x)=", "a_{1}=" or "x\in" at the start of s when the
** rest is the answer, else 0. */
static size_t
name_prefix(const char *s, size_t n)
{
    size_t i = name_at(s, n);

    if (i == 0 || (i = name_suffix(s, n, i)) == 0)
        return 0;
    if (i + 1 < n && s[i] == '=' && gr_count_top(s, n, '=') == 1)
        return i + 1;
    if (i + 3 < n && memcmp(s + i, "\\in", 3) == 0 && !gr_is_alpha(s[i + 3]))
        return i + 3;
    return 0;
}


/* Numbers without variables: every reading of a % on either side. */
static int
equal_numbers(const char *a, size_t an, int fa, const char *b, size_t bn,
              int fb)
{
    int ma = fa & GR_EVAL_PERCENT ? 2 : 1, mb = fb & GR_EVAL_PERCENT ? 2 : 1;

    for (int i = 0; i < ma; i++)
        for (int j = 0; j < mb; j++) {
            double va, vb;
            int f;
            if (gr_eval(a, an, 0, i, &va, &f) == 0 &&
                gr_eval(b, bn, 0, j, &vb, &f) == 0 && gr_close(va, vb))
                return 1;
        }
    return 0;
}


/* Expressions with variables: the same value at every sample where both
** are defined, and at least two such samples. */
static int
equal_samples(const char *a, size_t an, const char *b, size_t bn)
{
    int agree = 0;

    for (int k = 0; k < SAMPLES; k++) {
        double va, vb;
        int f;
        if (gr_eval(a, an, k, 0, &va, &f) < 0 ||
            gr_eval(b, bn, k, 0, &vb, &f) < 0)
            continue;
        if (!gr_close(va, vb))
            return 0;
        agree++;
    }
    return agree >= 2;
}


/* L - R of the equation s at sample k; -1 when undefined. */
static int
side_difference(const char *s, size_t n, int k, double *d, int *vars)
{
    size_t eq = gr_find_top(s, n, '=');
    double l, r;
    int fl, fr;

    if (gr_eval(s, eq, k, 0, &l, &fl) < 0 ||
        gr_eval(s + eq + 1, n - eq - 1, k, 0, &r, &fr) < 0)
        return -1;
    *d = l - r;
    *vars |= (fl | fr) & GR_EVAL_VARS;
    return 0;
}


/* Two equations with one '=' each: L-R of one is a constant non-zero
** multiple of L-R of the other. */
static int
equal_equations(const char *a, size_t an, const char *b, size_t bn)
{
    double ratio = 0;
    int agree = 0, vars = 0;

    for (int k = 0; k < SAMPLES; k++) {
        double da, db;
        if (side_difference(a, an, k, &da, &vars) < 0 ||
            side_difference(b, bn, k, &db, &vars) < 0)
            continue;
        if (da == 0 && db == 0)
            continue;
        if (da == 0 || db == 0)
            return 0;
        if (agree > 0 && !gr_close(da / db, ratio))
            return 0;
        ratio = da / db;
        agree++;
    }
    return vars && agree >= 2;
}


static int
equal_atoms(const char *a, size_t an, const char *b, size_t bn)
{
    int ea = gr_count_top(a, an, '='), eb = gr_count_top(b, bn, '=');
    double va, vb;
    int fa, fb;

    if (ea == 1 && eb == 1)
        return equal_equations(a, an, b, bn);
    if (ea > 0 || eb > 0)
        return 0;
    if (gr_eval(a, an, 0, 0, &va, &fa) < 0 ||
        gr_eval(b, bn, 0, 0, &vb, &fb) < 0)
        return 0;
    if (((fa | fb) & GR_EVAL_VARS) == 0)
        return equal_numbers(a, an, fa, b, bn, fb);
    return equal_samples(a, an, b, bn);
}


static int
equal_ordered(const gr_parts_t *a, const gr_parts_t *b, int depth)
{
    if (a->n != b->n)
        return 0;
    for (size_t k = 0; k < a->n; k++)
        if (!equal_span(a->el[k].s, a->el[k].n, b->el[k].s, b->el[k].n,
                        depth + 1))
            return 0;
    return 1;
}


/* Multisets: every element of a matched with its own element of b. */
static int
equal_unordered(const gr_parts_t *a, const gr_parts_t *b, int depth)
{
    char used[GR_MAX_ELEMS] = {0};

    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        size_t j;
        for (j = 0; j < b->n; j++)
            if (!used[j] && equal_span(a->el[i].s, a->el[i].n, b->el[j].s,
                                       b->el[j].n, depth + 1))
                break;
        if (j == b->n)
            return 0;
        used[j] = 1;
    }
    return 1;
}


static int
is_paren_tuple(const gr_parts_t *p)
{
    return p->kind == GR_TUPLE && p->open == '(' && p->close == ')';
}


/* 1 if a and b compare element by element in order: tuples with the same
** brackets, matrices of the same regular shape, or a bare list and a tuple
** in parentheses. */
static int
ordered_pair(const gr_parts_t *a, const gr_parts_t *b)
{
    if (a->kind == GR_TUPLE && b->kind == GR_TUPLE)
        return a->open == b->open && a->close == b->close;
    if (a->kind == GR_MATRIX && b->kind == GR_MATRIX)
        return a->rows == b->rows && a->cols == b->cols && a->cols > 0;
    return (a->kind == GR_LIST && is_paren_tuple(b)) ||
           (b->kind == GR_LIST && is_paren_tuple(a));
}


static int
is_collection(const gr_parts_t *p)
{
    return p->kind == GR_SET || p->kind == GR_LIST;
}


/* 1 if p is a set of one element, which equals its element: "\{5\}". */
static int
is_singleton(const gr_parts_t *p)
{
    return p->kind == GR_SET && p->n == 1;
}


static int
equal_parts(const gr_parts_t *a, const gr_parts_t *b, int depth)
{
    if (ordered_pair(a, b))
        return equal_ordered(a, b, depth);
    if ((is_collection(a) && is_collection(b)) ||
        (a->kind == GR_UNION && b->kind == GR_UNION))
        return equal_unordered(a, b, depth);
    if ((is_singleton(a) && b->kind == GR_ATOM) ||
        (is_singleton(b) && a->kind == GR_ATOM))
        return equal_span(a->el[0].s, a->el[0].n, b->el[0].s, b->el[0].n,
                          depth + 1);
    return 0;
}


static int
equal_span(const char *a, size_t an, const char *b, size_t bn, int depth)
{
    gr_parts_t pa, pb;
    size_t sa, sb;

    if (depth > MAX_NESTING || an == 0 || bn == 0)
        return 0;
    if (an == bn && strncasecmp(a, b, an) == 0)
        return 1;
    if (gr_count_top(a, an, '=') == 1 && gr_count_top(b, bn, '=') == 1 &&
        equal_equations(a, an, b, bn))
        return 1;
    sa = name_prefix(a, an);
    sb = name_prefix(b, bn);
    if (sa > 0 || sb > 0)
        return equal_span(a + sa, an - sa, b + sb, bn - sb, depth + 1);
    if (gr_split(a, an, &pa) < 0 || gr_split(b, bn, &pb) < 0)
        return 0;
    if (pa.kind != GR_ATOM || pb.kind != GR_ATOM)
        return equal_parts(&pa, &pb, depth);
    return equal_atoms(a, an, b, bn);
}


/* The letter of a multiple-choice truth ("C", "(C)"), or 0. */
static char
choice_letter(const char *s, size_t n)
{
    if (n == 3 && s[0] == '(' && s[2] == ')')
        s++, n = 1;
    if (n == 1 && s[0] >= 'A' && s[0] <= 'E')
        return s[0];
    return 0;
}


/* 1 if the prediction picks letter: "C", "c", "(C)", "(C)12", "C)", "C:". */
static int
picks(const char *s, size_t n, char letter)
{
    size_t i = 0;

    if (n > 0 && s[0] == '(')
        i = 1;
    if (i >= n || (s[i] != letter && s[i] != letter + 32))
        return 0;
    i++;
    return i == n || s[i] == ')' || s[i] == '.' || s[i] == ':';
}


/* Answers too long to normalise: the same text up to surrounding space. */
static int
equal_text(const char *a, const char *b)
{
    size_t an = strlen(a), bn = strlen(b);

    while (an > 0 && gr_is_space(*a))
        a++, an--;
    while (an > 0 && gr_is_space(a[an - 1]))
        an--;
    while (bn > 0 && gr_is_space(*b))
        b++, bn--;
    while (bn > 0 && gr_is_space(b[bn - 1]))
        bn--;
    return an > 0 && an == bn && memcmp(a, b, an) == 0;
}


/* Both readings of thousands separators: dropped, then kept as a list. */
static int
equal_reading(const char *pred, size_t pn, const char *truth, size_t tn,
              int keep_commas)
{
    char p[GR_BUF], t[GR_BUF];
    long pl = gr_normalise(pred, pn, keep_commas, p, sizeof p);
    long tl = gr_normalise(truth, tn, keep_commas, t, sizeof t);
    char letter;

    if (pl < 0 || tl < 0)
        return -1;
    if (pl == 0 || tl == 0)
        return 0;
    if ((letter = choice_letter(t, (size_t)tl)) != 0)
        return picks(p, (size_t)pl, letter);
    return equal_span(p, (size_t)pl, t, (size_t)tl, 0);
}


int
grade_equal(const char *prediction, const char *truth)
{
    size_t pn, tn;
    int rc;

    if (prediction == NULL || truth == NULL)
        return 0;
    pn = strlen(prediction);
    tn = strlen(truth);
    if (pn > GRADE_MAX_ANSWER || tn > GRADE_MAX_ANSWER)
        return equal_text(prediction, truth);
    rc = equal_reading(prediction, pn, truth, tn, 0);
    if (rc < 0)
        return equal_text(prediction, truth);
    if (rc == 0 && (strchr(prediction, ',') || strchr(truth, ',')))
        rc = equal_reading(prediction, pn, truth, tn, 1) == 1;
    return rc;
}

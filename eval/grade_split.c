/*
** grade_split.c: the structure of an answer in canonical form (see
** grade_internal.h): a tuple or interval, a set, a bare list, a union, a
** matrix, or one value; "a \pm b" is the two values a+b and a-b.
*/
#include <string.h>

#include "grade_internal.h"

/* Bracket depth change of s[i] (after *skip extra characters): ( [ { and
** \{ open, ) ] } and \} close. */
static int
bracket(const char *s, size_t n, size_t i, size_t *extra)
{
    *extra = 0;
    if (s[i] == '\\' && i + 1 < n) {
        *extra = 1;
        if (s[i + 1] == '{')
            return 1;
        if (s[i + 1] == '}')
            return -1;
        return 0;
    }
    if (s[i] == '(' || s[i] == '[' || s[i] == '{')
        return 1;
    if (s[i] == ')' || s[i] == ']' || s[i] == '}')
        return -1;
    return 0;
}


int
gr_count_top(const char *s, size_t n, char c)
{
    int depth = 0, count = 0;
    size_t extra;

    for (size_t i = 0; i < n; i++) {
        depth += bracket(s, n, i, &extra);
        if (extra == 0 && depth == 0 && s[i] == c)
            count++;
        i += extra;
    }
    return count;
}


size_t
gr_find_top(const char *s, size_t n, char c)
{
    int depth = 0;
    size_t extra;

    for (size_t i = 0; i < n; i++) {
        depth += bracket(s, n, i, &extra);
        if (extra == 0 && depth == 0 && s[i] == c)
            return i;
        i += extra;
    }
    return n;
}


/* 1 if sep (a character string) starts at s[i]. */
static int
sep_at(const char *s, size_t n, size_t i, const char *sep, size_t len)
{
    if (i + len > n || memcmp(s + i, sep, len) != 0)
        return 0;
    /* a control word must end there: "\cup" is not "\cupcake" */
    return !(sep[0] == '\\' && gr_is_alpha(sep[1]) && i + len < n &&
             gr_is_alpha(s[i + len]));
}


/* Split s[0..n) at sep outside brackets into p->el.  Returns the number of
** pieces, or -1 when there are too many. */
static int
split_at(const char *s, size_t n, const char *sep, gr_parts_t *p)
{
    size_t len = strlen(sep), start = 0, extra;
    int depth = 0;

    p->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (depth == 0 && sep_at(s, n, i, sep, len)) {
            if (p->n + 1 >= GR_MAX_ELEMS)
                return -1;
            p->el[p->n++] = (gr_span_t){s + start, i - start};
            start = i + len;
            i += len - 1;
            continue;
        }
        depth += bracket(s, n, i, &extra);
        i += extra;
    }
    p->el[p->n++] = (gr_span_t){s + start, n - start};
    return (int)p->n;
}


/* Index of the bracket closing the one at s[0], or n. */
static size_t
closing(const char *s, size_t n)
{
    int depth = 0;
    size_t extra;

    for (size_t i = 0; i < n; i++) {
        depth += bracket(s, n, i, &extra);
        if (depth == 0)
            return i + extra;
        i += extra;
    }
    return n;
}


static int
matrix(const char *s, size_t n, gr_parts_t *p)
{
    static const char open[] = "\\begin{pmatrix}", close[] = "\\end{pmatrix}";
    const size_t lo = sizeof open - 1, lc = sizeof close - 1;
    gr_parts_t rows;

    if (n < lo + lc || memcmp(s, open, lo) != 0 ||
        memcmp(s + n - lc, close, lc) != 0)
        return 0;
    if (split_at(s + lo, n - lo - lc, "\\\\", &rows) < 0)
        return -1;
    if (rows.n > 1 && rows.el[rows.n - 1].n == 0) /* a final "\\" */
        rows.n--;
    p->kind = GR_MATRIX;
    p->rows = (int)rows.n;
    p->cols = -1;
    p->n = 0;
    for (size_t r = 0; r < rows.n; r++) {
        gr_parts_t cells;
        if (split_at(rows.el[r].s, rows.el[r].n, "&", &cells) < 0 ||
            p->n + cells.n > GR_MAX_ELEMS)
            return -1;
        if (r == 0)
            p->cols = (int)cells.n;
        else if ((int)cells.n != p->cols)
            p->cols = -1; /* ragged: equal only as text */
        for (size_t c = 0; c < cells.n; c++)
            p->el[p->n++] = cells.el[c];
    }
    return 1;
}


/* Element k holds one \pm or \mp: replace it by its two values. */
static void
expand_pm(gr_parts_t *p, size_t k)
{
    const char *s = p->el[k].s;
    size_t n = p->el[k].n, at = n, count = 0;

    if (p->n + 1 >= GR_MAX_ELEMS)
        return;
    for (size_t i = 0; i + 3 <= n; i++)
        if (sep_at(s, n, i, "\\pm", 3) || sep_at(s, n, i, "\\mp", 3)) {
            at = i;
            count++;
        }
    if (count != 1 || p->used + 2 * n > sizeof p->scratch)
        return;
    gr_span_t two[2];
    for (int sign = 0; sign < 2; sign++) {
        char *d = p->scratch + p->used;
        size_t len = 0;
        memcpy(d, s, at);
        len = at;
        d[len++] = sign ? '-' : '+';
        memcpy(d + len, s + at + 3, n - at - 3);
        len += n - at - 3;
        two[sign] = (gr_span_t){d, len};
        p->used += len;
    }
    memmove(&p->el[k + 2], &p->el[k + 1], (p->n - k - 1) * sizeof *p->el);
    p->el[k] = two[0];
    p->el[k + 1] = two[1];
    p->n++;
}


/* Replace each element holding one \pm or \mp by its two values; an atom
** that does so becomes a list. */
static void
expand_pms(gr_parts_t *p)
{
    for (size_t k = 0; k < p->n; k++) {
        size_t before = p->n;
        expand_pm(p, k);
        if (p->n > before) {
            if (p->kind == GR_ATOM)
                p->kind = GR_LIST;
            k++;
        }
    }
}


/* 1 if s[0..n) is a tuple or interval: "(a,b)", "[a,b)", ... as a whole. */
static int
is_tuple(const char *s, size_t n)
{
    return n >= 2 && (s[0] == '(' || s[0] == '[') &&
           (s[n - 1] == ')' || s[n - 1] == ']') && closing(s, n) == n - 1 &&
           gr_count_top(s + 1, n - 2, ',') > 0;
}


/* 1 if s[0..n) is a set "\{...\}" as a whole. */
static int
is_set(const char *s, size_t n)
{
    return n >= 4 && s[0] == '\\' && s[1] == '{' && s[n - 2] == '\\' &&
           s[n - 1] == '}' && closing(s, n) == n - 1;
}


/* Split s[0..n) as a bare list, a union, a tuple or a set when it is one
** (p stays one atom otherwise).  0, or -1 when there are too many
** elements. */
static int
split_kind(const char *s, size_t n, gr_parts_t *p)
{
    gr_parts_t u;

    if (gr_count_top(s, n, ',') > 0) {
        if (split_at(s, n, ",", p) < 0)
            return -1;
        p->kind = GR_LIST;
        return 0;
    }
    if (split_at(s, n, "\\cup", &u) < 0)
        return -1;
    if (u.n > 1) {
        p->kind = GR_UNION;
        p->n = u.n;
        memcpy(p->el, u.el, u.n * sizeof *u.el);
    } else if (is_tuple(s, n)) {
        if (split_at(s + 1, n - 2, ",", p) < 0)
            return -1;
        p->kind = GR_TUPLE;
        p->open = s[0];
        p->close = s[n - 1];
    } else if (is_set(s, n)) {
        if (split_at(s + 2, n - 4, ",", p) < 0)
            return -1;
        p->kind = GR_SET;
        if (p->n == 1 && p->el[0].n == 0)
            p->n = 0;
    }
    return 0;
}


int
gr_split(const char *s, size_t n, gr_parts_t *p)
{
    int rc;

    p->kind = GR_ATOM;
    p->open = p->close = 0;
    p->rows = p->cols = 0;
    p->used = 0;
    p->n = 1;
    p->el[0] = (gr_span_t){s, n};
    if ((rc = matrix(s, n, p)) != 0)
        return rc < 0 ? -1 : 0;
    if (split_kind(s, n, p) < 0)
        return -1;
    if (p->kind == GR_ATOM || p->kind == GR_LIST || p->kind == GR_SET)
        expand_pms(p);
    return 0;
}

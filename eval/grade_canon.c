/*
** grade_canon.c: the canonical form of a cleaned answer (see
** grade_internal.h).  Two answers written the same way up to spacing,
** argument bracing and number formatting have the same canonical form.
*/
#include <string.h>
#include <strings.h>

#include "grade_internal.h"

typedef struct canon {
    const char *s;
    gr_buf_t *o;
    int depth;
    int fail;
} canon_t;

static void canon_span(canon_t *cx, size_t from, size_t to);


/* Closing brace of the '{' at i within [i, to), or to. */
static size_t
close_of(const canon_t *cx, size_t i, size_t to)
{
    return gr_match_brace(cx->s, to, i);
}


static size_t
skip_spaces(const canon_t *cx, size_t i, size_t to)
{
    while (i < to && cx->s[i] == ' ')
        i++;
    return i;
}


/* One macro argument at i, written braced: a {group}, a control word or a
** single character.  Returns the index after it. */
static size_t
canon_arg(canon_t *cx, size_t i, size_t to)
{
    const char *s = cx->s;

    i = skip_spaces(cx, i, to);
    gb_putc(cx->o, '{');
    if (i >= to) {
        gb_putc(cx->o, '}');
        return i;
    }
    if (s[i] == '{') {
        size_t c = close_of(cx, i, to);
        canon_span(cx, i + 1, c);
        gb_putc(cx->o, '}');
        return c < to ? c + 1 : to;
    }
    if (s[i] == '\\' && i + 1 < to && gr_is_alpha(s[i + 1])) {
        size_t j = i + 1;
        while (j < to && gr_is_alpha(s[j]))
            j++;
        gb_put(cx->o, s + i, j - i);
        gb_putc(cx->o, '}');
        return j;
    }
    if (s[i] == '\\' && i + 1 < to) {
        gb_put(cx->o, s + i, 2);
        gb_putc(cx->o, '}');
        return i + 2;
    }
    gb_putc(cx->o, s[i]);
    gb_putc(cx->o, '}');
    return i + 1;
}


/* A control word at i ('\' at i); returns the index after it and its
** arguments. */
static size_t
canon_word(canon_t *cx, size_t i, size_t to)
{
    const char *s = cx->s;
    size_t j = i + 1, len;

    while (j < to && gr_is_alpha(s[j]))
        j++;
    len = j - i - 1;
    gb_put(cx->o, s + i, j - i);
    if ((len == 4 && memcmp(s + i + 1, "frac", 4) == 0) ||
        (len == 5 && memcmp(s + i + 1, "binom", 5) == 0)) {
        j = canon_arg(cx, j, to);
        return canon_arg(cx, j, to);
    }
    if (len == 4 && memcmp(s + i + 1, "sqrt", 4) == 0) {
        size_t k = skip_spaces(cx, j, to);
        if (k < to && s[k] == '[') {
            size_t e = k + 1;
            int depth = 1;
            for (; e < to; e++) {
                if (s[e] == '[')
                    depth++;
                else if (s[e] == ']' && --depth == 0)
                    break;
            }
            gb_putc(cx->o, '[');
            canon_span(cx, k + 1, e);
            gb_putc(cx->o, ']');
            j = e < to ? e + 1 : to;
        }
        return canon_arg(cx, j, to);
    }
    /* "\pi r" must not become "\pir" */
    size_t k = skip_spaces(cx, j, to);
    if (k > j && k < to && gr_is_alpha(s[k]))
        gb_putc(cx->o, ' ');
    return k;
}


static void
canon_span(canon_t *cx, size_t from, size_t to)
{
    const char *s = cx->s;
    size_t i = from;

    if (++cx->depth > GR_MAX_DEPTH) {
        cx->fail = 1;
        cx->depth--;
        return;
    }
    while (i < to && !cx->fail) {
        char c = s[i];
        if (c == ' ') {
            i++;
        } else if (c == '\\' && i + 1 < to && gr_is_alpha(s[i + 1])) {
            i = canon_word(cx, i, to);
        } else if (c == '\\' && i + 1 < to) {
            gb_put(cx->o, s + i, 2);
            i += 2;
        } else if (c == '^' || c == '_') {
            gb_putc(cx->o, c);
            i = canon_arg(cx, i + 1, to);
        } else if (c == '{' && i + 2 < to && s[i + 1] == ',' &&
                   s[i + 2] == '}') {
            gb_putc(cx->o, ','); /* 1{,}000 */
            i += 3;
        } else if (c == '{') {
            size_t close = close_of(cx, i, to);
            if (close >= to) { /* unbalanced: keep it as text */
                gb_putc(cx->o, c);
                i++;
                continue;
            }
            gb_putc(cx->o, '{');
            canon_span(cx, i + 1, close);
            gb_putc(cx->o, '}');
            i = close + 1;
        } else {
            gb_putc(cx->o, c);
            i++;
        }
    }
    cx->depth--;
}


/* Write the integer part at s[i]: its digits, and after 1 to 3 of them
** its thousands groups without the commas (unless keep_commas).  Returns
** the index after it. */
static size_t
put_integer(const char *s, size_t n, size_t i, int keep_commas, gr_buf_t *o)
{
    size_t j = i;

    while (j < n && gr_is_digit(s[j]))
        j++;
    if (!keep_commas && j - i <= 3)
        j = gr_skip_thousands(s, n, j);
    for (size_t m = i; m < j; m++)
        if (s[m] != ',')
            gb_putc(o, s[m]);
    return j;
}


/* Write the decimals from s[f] (after the '.') without trailing zeros,
** nothing when all are zeros.  Returns the index after the digits. */
static size_t
put_decimals(const char *s, size_t n, size_t f, gr_buf_t *o)
{
    size_t e = f, last;

    while (e < n && gr_is_digit(s[e]))
        e++;
    for (last = e; last > f && s[last - 1] == '0';)
        last--;
    if (last > f) { /* ".000" is the '0' already written */
        gb_putc(o, '.');
        gb_put(o, s + f, last - f);
    }
    return e;
}


/* Write the number at s[i] (a digit, or '.' before a digit) tidied:
** thousands separators (unless keep_commas), trailing zeros and a bare
** leading '.' fixed.  Returns the index after it. */
static size_t
put_number(const char *s, size_t n, size_t i, int keep_commas, gr_buf_t *o)
{
    size_t j = i;

    if (s[i] == '.')
        gb_putc(o, '0');
    else
        j = put_integer(s, n, i, keep_commas, o);
    if (j + 1 < n && s[j] == '.' && gr_is_digit(s[j + 1]))
        return put_decimals(s, n, j + 1, o);
    if (j < n && s[j] == '.' &&
        (j + 1 == n || strchr(",)]}%\\", s[j + 1]) != NULL))
        return j + 1; /* "3." */
    return j;
}


/* 1 if s[i..) starts with the word w (not inside a longer word or after
** a backslash). */
static int
word_at(const char *s, size_t n, size_t i, const char *w)
{
    size_t len = strlen(w);

    if (i + len > n || strncasecmp(s + i, w, len) != 0)
        return 0;
    if (i > 0 && (gr_is_alpha(s[i - 1]) || s[i - 1] == '\\'))
        return 0;
    return i + len == n || !gr_is_alpha(s[i + len]);
}


/* Numbers, the empty set, infinity and the reals, on canonical text. */
static void
pass_numbers(const char *s, size_t n, int keep_commas, gr_buf_t *o)
{
    size_t i = 0;

    while (i < n) {
        char c = s[i];
        int starts =
            gr_is_digit(c) || (c == '.' && i + 1 < n && gr_is_digit(s[i + 1]));
        if (starts && (i == 0 || !(gr_is_digit(s[i - 1]) || s[i - 1] == '.'))) {
            i = put_number(s, n, i, keep_commas, o);
        } else if (c == '\\' && i + 4 <= n && memcmp(s + i, "\\{\\}", 4) == 0) {
            gb_put(o, "\\emptyset", 9);
            i += 4;
        } else if (c == '\\' && i + 10 <= n &&
                   memcmp(s + i, "\\mathbb{R}", 10) == 0) {
            gb_put(o, "(-\\infty,\\infty)", 16);
            i += 10;
        } else if (c == GR_LIST_COMMA) {
            i++;
        } else if (word_at(s, n, i, "infinity")) {
            gb_put(o, "\\infty", 6);
            i += 8;
        } else {
            gb_putc(o, c);
            i++;
        }
    }
}


long
gr_canon(const char *in, size_t n, int keep_commas, char *out, size_t outlen)
{
    char mid[GR_BUF];
    gr_buf_t bm, bo;
    canon_t cx = {in, &bm, 0, 0};
    size_t a = 0, b;

    gb_init(&bm, mid, sizeof mid);
    canon_span(&cx, 0, n);
    if (cx.fail || bm.overflow)
        return -1;
    /* an outer {...} around everything */
    b = bm.len;
    while (b - a >= 2 && mid[a] == '{' && gr_match_brace(mid, b, a) == b - 1) {
        a++;
        b--;
    }
    gb_init(&bo, out, outlen);
    pass_numbers(mid + a, b - a, keep_commas, &bo);
    if (bo.overflow)
        return -1;
    return (long)bo.len;
}

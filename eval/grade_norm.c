/*
** grade_norm.c: clean-up of a raw answer before its canonical form (see
** grade_internal.h): what LaTeX writes in many ways is written one way,
** and what carries no value (spacing, delimiter sizes, degrees, units,
** \text wrappers) goes.
*/
#include <string.h>
#include <strings.h>

#include "grade_internal.h"

typedef enum {
    CW_KEEP,   /* copy \name */
    CW_DROP,   /* drop; acts as a space */
    CW_DELIM,  /* \left \right \big...: drop, with a following '.' */
    CW_RENAME, /* write the replacement text instead */
    CW_ENV     /* \begin{...} / \end{...}: matrices become pmatrix */
} cw_action_t;

typedef struct cw {
    const char *name;
    cw_action_t action;
    const char *to; /* CW_RENAME */
} cw_t;

/* Wrappers become \text (a trailing one may be a unit) or \textbf (never a
** unit); both are unwrapped once units are gone. */
static const cw_t words[] = {
    {"left", CW_DELIM, NULL},
    {"right", CW_DELIM, NULL},
    {"big", CW_DELIM, NULL},
    {"Big", CW_DELIM, NULL},
    {"bigg", CW_DELIM, NULL},
    {"Bigg", CW_DELIM, NULL},
    {"bigl", CW_DELIM, NULL},
    {"bigr", CW_DELIM, NULL},
    {"Bigl", CW_DELIM, NULL},
    {"Bigr", CW_DELIM, NULL},
    {"biggl", CW_DELIM, NULL},
    {"biggr", CW_DELIM, NULL},
    {"Biggl", CW_DELIM, NULL},
    {"Biggr", CW_DELIM, NULL},
    {"middle", CW_DELIM, NULL},
    {"displaystyle", CW_DROP, NULL},
    {"textstyle", CW_DROP, NULL},
    {"scriptstyle", CW_DROP, NULL},
    {"limits", CW_DROP, NULL},
    {"nolimits", CW_DROP, NULL},
    {"quad", CW_DROP, NULL},
    {"qquad", CW_DROP, NULL},
    {"mathstrut", CW_DROP, NULL},
    {"strut", CW_DROP, NULL},
    {"hfill", CW_DROP, NULL},
    {"nonumber", CW_DROP, NULL},
    {"notag", CW_DROP, NULL},
    {"degree", CW_DROP, NULL},
    {"degrees", CW_DROP, NULL},
    {"textdegree", CW_DROP, NULL},
    {"bf", CW_DROP, NULL},
    {"rm", CW_DROP, NULL},
    {"it", CW_DROP, NULL},
    {"dfrac", CW_RENAME, "\\frac"},
    {"tfrac", CW_RENAME, "\\frac"},
    {"cfrac", CW_RENAME, "\\frac"},
    {"dbinom", CW_RENAME, "\\binom"},
    {"tbinom", CW_RENAME, "\\binom"},
    {"leq", CW_RENAME, "\\le"},
    {"leqslant", CW_RENAME, "\\le"},
    {"leqq", CW_RENAME, "\\le"},
    {"geq", CW_RENAME, "\\ge"},
    {"geqslant", CW_RENAME, "\\ge"},
    {"geqq", CW_RENAME, "\\ge"},
    {"neq", CW_RENAME, "\\ne"},
    {"lbrace", CW_RENAME, "\\{"},
    {"rbrace", CW_RENAME, "\\}"},
    {"lvert", CW_RENAME, "|"},
    {"rvert", CW_RENAME, "|"},
    {"vert", CW_RENAME, "|"},
    {"lVert", CW_RENAME, "\\|"},
    {"rVert", CW_RENAME, "\\|"},
    {"Vert", CW_RENAME, "\\|"},
    {"ast", CW_RENAME, "*"},
    {"varnothing", CW_RENAME, "\\emptyset"},
    {"ldots", CW_RENAME, "\\dots"},
    {"cdots", CW_RENAME, "\\dots"},
    {"dotsc", CW_RENAME, "\\dots"},
    {"dotsb", CW_RENAME, "\\dots"},
    {"varepsilon", CW_RENAME, "\\epsilon"},
    {"vartheta", CW_RENAME, "\\theta"},
    {"varphi", CW_RENAME, "\\phi"},
    {"infin", CW_RENAME, "\\infty"},
    {"text", CW_RENAME, "\\text"},
    {"textrm", CW_RENAME, "\\text"},
    {"textnormal", CW_RENAME, "\\text"},
    {"textit", CW_RENAME, "\\text"},
    {"textsf", CW_RENAME, "\\text"},
    {"texttt", CW_RENAME, "\\text"},
    {"textup", CW_RENAME, "\\text"},
    {"emph", CW_RENAME, "\\text"},
    {"mbox", CW_RENAME, "\\text"},
    {"hbox", CW_RENAME, "\\text"},
    {"mathrm", CW_RENAME, "\\text"},
    {"mathit", CW_RENAME, "\\text"},
    {"mathsf", CW_RENAME, "\\text"},
    {"mathtt", CW_RENAME, "\\text"},
    {"mathnormal", CW_RENAME, "\\text"},
    {"textbf", CW_RENAME, "\\textbf"},
    {"mathbf", CW_RENAME, "\\textbf"},
    {"boldsymbol", CW_RENAME, "\\textbf"},
    {"bm", CW_RENAME, "\\textbf"},
    {"operatorname", CW_RENAME, "\\textbf"},
    {"begin", CW_ENV, NULL},
    {"end", CW_ENV, NULL},
};

/* Matrix environments, all written as pmatrix. */
static const char *const matrix_envs[] = {"pmatrix",     "bmatrix", "Bmatrix",
                                          "vmatrix",     "Vmatrix", "matrix",
                                          "smallmatrix", "array"};

/* A few UTF-8 symbols written as LaTeX. */
static const struct {
    const char *utf8;
    const char *latex;
} symbols[] = {
    {"\xcf\x80", "\\pi "},
    {"\xc2\xb0", ""},
    {"\xc2\xba", ""},
    {"\xe2\x88\x92", "-"},
    {"\xe2\x80\x93", "-"},
    {"\xc3\x97", "\\times "},
    {"\xc2\xb7", "\\cdot "},
    {"\xc3\xb7", "\\div "},
    {"\xe2\x88\x9a", "\\sqrt "},
    {"\xe2\x88\x9e", "\\infty "},
    {"\xe2\x89\xa4", "\\le "},
    {"\xe2\x89\xa5", "\\ge "},
    {"\xe2\x89\xa0", "\\ne "},
    {"\xc2\xb1", "\\pm "},
    {"\xe2\x88\xaa", "\\cup "},
    {"\xe2\x88\x88", "\\in "},
    {"\xe2\x80\xa6", "\\dots "},
    {"\xc2\xa0", " "},
    {"\xc2\xb2", "^2"},
    {"\xc2\xb3", "^3"},
    {"\xc2\xbd", "\\frac{1}{2}"},
};

/* Unit words dropped after a number (lowercase; single letters are
** variables, never units). */
static const char *const units[] = {
    "cm",          "mm",      "km",        "meter",      "meters",
    "metre",       "metres",  "kilometer", "kilometers", "centimeter",
    "centimeters", "inch",    "inches",    "foot",       "feet",
    "ft",          "yard",    "yards",     "yd",         "mile",
    "miles",       "mph",     "kmh",       "second",     "seconds",
    "sec",         "secs",    "minute",    "minutes",    "min",
    "mins",        "hour",    "hours",     "hr",         "hrs",
    "day",         "days",    "week",      "weeks",      "month",
    "months",      "year",    "years",     "yr",         "yrs",
    "gram",        "grams",   "kg",        "kilogram",   "kilograms",
    "pound",       "pounds",  "lb",        "lbs",        "ounce",
    "ounces",      "oz",      "liter",     "liters",     "litre",
    "litres",      "ml",      "gallon",    "gallons",    "dollar",
    "dollars",     "cent",    "cents",     "unit",       "units",
    "degree",      "degrees", "deg",       "radian",     "radians",
    "sq",          "square",  "cubic",     "people",     "persons",
    "students",    "points",  "ways",      "times",      "ergs",
    "erg",         "joules",  "watts",     "kelvin",     "mph",
};


size_t
gr_match_brace(const char *s, size_t n, size_t open)
{
    int depth = 0;

    for (size_t i = open; i < n; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == '{')
            depth++;
        else if (s[i] == '}' && --depth == 0)
            return i;
    }
    return n;
}


static void
put_space(gr_buf_t *o)
{
    if (o->len > 0 && o->s[o->len - 1] != ' ')
        gb_putc(o, ' ');
}


static const cw_t *
find_word(const char *name, size_t n)
{
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        if (strlen(words[k].name) == n && memcmp(words[k].name, name, n) == 0)
            return &words[k];
    return NULL;
}


/* \begin{env} or \end{env} at s[i] (i after the name).  Returns the index
** after what it consumed. */
static size_t
put_env(const char *s, size_t n, size_t i, int begin, gr_buf_t *o)
{
    size_t j = i, close;

    while (j < n && s[j] == ' ')
        j++;
    if (j >= n || s[j] != '{' || (close = gr_match_brace(s, n, j)) == n) {
        gb_put(o, begin ? "\\begin" : "\\end", begin ? 6 : 4);
        return i;
    }
    const char *env = s + j + 1;
    size_t len = close - j - 1;
    for (size_t k = 0; k < sizeof matrix_envs / sizeof *matrix_envs; k++) {
        if (strlen(matrix_envs[k]) != len ||
            memcmp(matrix_envs[k], env, len) != 0)
            continue;
        gb_put(o, begin ? "\\begin{pmatrix}" : "\\end{pmatrix}",
               begin ? 15 : 13);
        j = close + 1;
        if (begin && k == 7 && j < n && s[j] == '{') { /* array's columns */
            size_t cols = gr_match_brace(s, n, j);
            j = cols < n ? cols + 1 : n;
        }
        return j;
    }
    gb_put(o, begin ? "\\begin" : "\\end", begin ? 6 : 4);
    gb_put(o, s + j, close + 1 - j);
    return close + 1;
}


/* One control symbol \c at s[i] ('\' at i). */
static void
put_symbol(char c, gr_buf_t *o)
{
    switch (c) {
    case '!':
    case '$':
    case '(':
    case ')':
    case '[':
    case ']':
        break;
    case ',':
    case ';':
    case ':':
    case ' ':
    case '>':
    case '/':
        put_space(o);
        break;
    case '%':
    case '&':
    case '_':
    case '#':
        gb_putc(o, c);
        break;
    default:
        gb_putc(o, '\\');
        gb_putc(o, c);
    }
}


/*
** A comma at s[i].  ",\!" is a thousands separator (MATH writes 10,\!080):
** the spacing after it goes.  ", " before a digit separates list items:
** GR_LIST_COMMA marks it so that "100, 200" is never one hundred thousand
** two hundred.  Returns the index after what it consumed.
*/
static size_t
put_comma(const char *s, size_t n, size_t i, gr_buf_t *o)
{
    size_t j = i + 1;

    gb_putc(o, ',');
    if (j + 1 < n && s[j] == '\\' && s[j + 1] == '!') {
        for (j += 2; j < n && gr_is_space(s[j]);)
            j++;
        return j;
    }
    while (j < n && gr_is_space(s[j]))
        j++;
    if (j > i + 1 && j < n && gr_is_digit(s[j]))
        gb_putc(o, GR_LIST_COMMA);
    return j > i + 1 && j < n && gr_is_digit(s[j]) ? j : i + 1;
}


/* A UTF-8 symbol at s[i] (the sign for \le, \pi, ...) as LaTeX, or the byte
** as it is.  Returns the index after what it consumed. */
static size_t
put_utf8(const char *s, size_t n, size_t i, gr_buf_t *o)
{
    for (size_t k = 0; k < sizeof symbols / sizeof *symbols; k++) {
        size_t len = strlen(symbols[k].utf8);
        if (i + len <= n && memcmp(s + i, symbols[k].utf8, len) == 0) {
            gb_put(o, symbols[k].latex, strlen(symbols[k].latex));
            return i + len;
        }
    }
    gb_putc(o, s[i]);
    return i + 1;
}


/* The control word or symbol at s[i] ('\\'), renamed, dropped or kept.
** Returns the index after what it consumed. */
static size_t
put_control(const char *s, size_t n, size_t i, gr_buf_t *o)
{
    size_t j = i + 1;
    const cw_t *w;

    if (j >= n)
        return j;
    if (!gr_is_alpha(s[j])) {
        put_symbol(s[j], o);
        return j + 1;
    }
    while (j < n && gr_is_alpha(s[j]))
        j++;
    w = find_word(s + i + 1, j - i - 1);
    if (w == NULL) {
        gb_put(o, s + i, j - i);
    } else if (w->action == CW_DROP) {
        put_space(o);
    } else if (w->action == CW_DELIM) {
        while (j < n && s[j] == ' ')
            j++;
        if (j < n && s[j] == '.')
            j++;
    } else if (w->action == CW_RENAME) {
        gb_put(o, w->to, strlen(w->to));
    } else if (w->action == CW_ENV) {
        j = put_env(s, n, j, w->name[0] == 'b', o);
    } else {
        gb_put(o, s + i, j - i);
    }
    return j;
}


/* Pass 1: control words and symbols, $, UTF-8 symbols, spacing. */
static void
pass_latex(const char *s, size_t n, gr_buf_t *o)
{
    size_t i = 0;

    while (i < n) {
        char c = s[i];
        if (gr_is_space(c) || c == '~' || (c > 0 && c < ' ')) {
            put_space(o);
            i++;
        } else if (c == ',') {
            i = put_comma(s, n, i, o);
        } else if (c == '$') {
            i++;
        } else if ((unsigned char)c >= 0x80) {
            i = put_utf8(s, n, i, o);
        } else if (c == '\\') {
            i = put_control(s, n, i, o);
        } else {
            gb_putc(o, c);
            i++;
        }
    }
}


/* The end of a degree sign "^\circ" or "^{\circ}" at s[i] ('^'), or 0 when
** there is none. */
static size_t
degree_end(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
    int braced = 0;

    while (j < n && s[j] == ' ')
        j++;
    if (j < n && s[j] == '{') {
        braced = 1;
        for (j++; j < n && s[j] == ' ';)
            j++;
    }
    if (!(j + 5 <= n && memcmp(s + j, "\\circ", 5) == 0 &&
          (j + 5 == n || !gr_is_alpha(s[j + 5]))))
        return 0;
    for (j += 5; j < n && s[j] == ' ';)
        j++;
    if (!braced)
        return j;
    return j < n && s[j] == '}' ? j + 1 : 0;
}


/* Pass 2: "^\circ", "^{\circ}" (and an empty "{}" before them) go. */
static void
pass_degrees(const char *s, size_t n, gr_buf_t *o)
{
    for (size_t i = 0; i < n; i++) {
        size_t end = s[i] == '^' ? degree_end(s, n, i) : 0;
        if (end == 0) {
            gb_putc(o, s[i]);
            continue;
        }
        if (o->len >= 2 && o->s[o->len - 2] == '{' && o->s[o->len - 1] == '}')
            o->len -= 2;
        o->s[o->len] = '\0';
        i = end - 1;
    }
}


static size_t
trim_end(const char *s, size_t n)
{
    while (n > 0 && s[n - 1] == ' ')
        n--;
    return n;
}


static int
is_unit_word(const char *w, size_t n)
{
    for (size_t k = 0; k < sizeof units / sizeof *units; k++)
        if (strlen(units[k]) == n && strncasecmp(units[k], w, n) == 0)
            return 1;
    return 0;
}


/* The '{' that the '}' at s[close] closes, in *open; -1 when none does. */
static int
brace_opening(const char *s, size_t close, size_t *open)
{
    int depth = 0;

    for (size_t k = close;; k--) {
        if (s[k] == '}')
            depth++;
        else if (s[k] == '{' && --depth == 0) {
            *open = k;
            return 0;
        }
        if (k == 0)
            return -1;
    }
}


/* Drop an exponent on a unit ("^2", "^{2}", "^{-1}") from the end *e of s;
** -1 when a closing brace there has no opening one. */
static int
drop_exponent(const char *s, size_t *e)
{
    if (*e >= 2 && s[*e - 2] == '^' && gr_is_digit(s[*e - 1])) {
        *e -= 2;
    } else if (*e > 0 && s[*e - 1] == '}') {
        size_t k, c;
        if (brace_opening(s, *e - 1, &k) < 0)
            return -1;
        c = trim_end(s, k);
        if (c > 0 && s[c - 1] == '^')
            *e = c - 1;
    }
    return 0;
}


/* A unit "\text{ W }" ending just before s[t] (its '}'): where it starts
** in *start, and in *percent whether W is "percent" or "%"; -1 when it is
** not \text around a word. */
static int
text_unit(const char *s, size_t t, size_t *start, int *percent)
{
    size_t k, m, wl;
    const char *w;

    if (brace_opening(s, t - 1, &k) < 0)
        return -1;
    m = trim_end(s, k);
    if (m < 5 || memcmp(s + m - 5, "\\text", 5) != 0)
        return -1;
    *start = m - 5;
    w = s + k + 1;
    wl = t - 1 - k - 1;
    while (wl > 0 && *w == ' ')
        w++, wl--;
    while (wl > 0 && w[wl - 1] == ' ')
        wl--;
    if (wl == 0)
        return -1;
    *percent = (wl == 7 && strncasecmp(w, "percent", 7) == 0) ||
               (wl == 1 && *w == '%');
    return 0;
}


/* A unit word ending just before s[t], after a number, a brace or a space:
** where it starts in *start, and in *percent whether it is "percent"; -1
** when there is no known unit word there. */
static int
word_unit(const char *s, size_t t, size_t *start, int *percent)
{
    size_t k = t;

    while (k > 0 && gr_is_alpha(s[k - 1]))
        k--;
    if (k == t || k == 0)
        return -1;
    if (!(s[k - 1] == ' ' || gr_is_digit(s[k - 1]) || s[k - 1] == '}'))
        return -1;
    if (t - k == 7 && strncasecmp(s + k, "percent", 7) == 0)
        *percent = 1;
    else if (!is_unit_word(s + k, t - k))
        return -1;
    *start = k;
    return 0;
}


/* Where a trailing unit starts in s[0..n) ("\text{ cm}^2", "dollars"), or
** n when there is none.  *percent: the unit was "percent". */
static size_t
unit_start(const char *s, size_t n, int *percent)
{
    size_t e = trim_end(s, n), t, start, p;
    int rc;

    *percent = 0;
    if (drop_exponent(s, &e) < 0)
        return n;
    t = trim_end(s, e);
    if (t > 0 && s[t - 1] == '}')
        rc = text_unit(s, t, &start, percent);
    else
        rc = word_unit(s, t, &start, percent);
    if (rc < 0)
        return n;
    /* what is left must be a value: not empty, not ending in an operator */
    p = trim_end(s, start);
    if (p == 0 || strchr("+-*/=(,^_{", s[p - 1]) != NULL)
        return n;
    return start;
}


/* Pass 3, in place: trailing units go ("percent" becomes %). */
static size_t
strip_units(char *s, size_t n)
{
    for (int round = 0; round < 8; round++) {
        int percent;
        size_t start = unit_start(s, n, &percent);
        if (start == n)
            break;
        n = trim_end(s, start);
        if (percent) {
            s[n++] = '%';
            break;
        }
        if (n > 1 && s[n - 1] == '/') /* "m/s": the next round takes m */
            n = trim_end(s, n - 1);
    }
    s[n] = '\0';
    return n;
}


/* Pass 4: \text{X} and \textbf{X} become X. */
static void
pass_unwrap(const char *s, size_t n, gr_buf_t *o)
{
    size_t skip[GR_MAX_DEPTH];
    int top = 0;

    for (size_t i = 0; i < n; i++) {
        if (top > 0 && i == skip[top - 1]) {
            top--;
            continue;
        }
        if (s[i] == '\\' && i + 5 <= n && memcmp(s + i, "\\text", 5) == 0) {
            size_t j = i + 5;
            if (j + 2 <= n && memcmp(s + j, "bf", 2) == 0 &&
                (j + 2 == n || !gr_is_alpha(s[j + 2])))
                j += 2;
            if (j < n && gr_is_alpha(s[j])) {
                gb_putc(o, s[i]);
                continue;
            }
            while (j < n && s[j] == ' ')
                j++;
            if (j < n && s[j] == '{' && top < GR_MAX_DEPTH) {
                size_t close = gr_match_brace(s, n, j);
                if (close < n)
                    skip[top++] = close;
                i = j;
            } else {
                i = j - 1;
            }
            continue;
        }
        gb_putc(o, s[i]);
    }
}


/* Trim spaces, a leading ':' and trailing '.' from the buffer's text. */
static size_t
trim_answer(char *s, size_t n)
{
    size_t a = 0;

    while (a < n && (s[a] == ' ' || s[a] == ':'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '.'))
        n--;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
    return n - a;
}


/* The text inside an outer \boxed{...} or \fbox{...}, else the text. */
static void
unbox(const char **s, size_t *n)
{
    for (int round = 0; round < 4; round++) {
        const char *p = *s;
        size_t len = *n, j;
        while (len > 0 && gr_is_space(*p))
            p++, len--;
        while (len > 0 && gr_is_space(p[len - 1]))
            len--;
        *s = p;
        *n = len;
        if (len > 7 && memcmp(p, "\\boxed{", 7) == 0)
            j = 6;
        else if (len > 6 && memcmp(p, "\\fbox{", 6) == 0)
            j = 5;
        else
            return;
        if (gr_match_brace(p, len, j) != len - 1)
            return;
        *s = p + j + 1;
        *n = len - j - 2;
    }
}


long
gr_clean(const char *in, size_t n, char *out, size_t outlen)
{
    char a[GR_BUF], b[GR_BUF];
    gr_buf_t ba, bb, bo;

    unbox(&in, &n);
    gb_init(&ba, a, sizeof a);
    pass_latex(in, n, &ba);
    if (ba.overflow)
        return -1;
    ba.len = trim_answer(a, ba.len);
    gb_init(&bb, b, sizeof b);
    pass_degrees(a, ba.len, &bb);
    if (bb.overflow)
        return -1;
    bb.len = strip_units(b, trim_answer(b, bb.len));
    gb_init(&bo, out, outlen);
    pass_unwrap(b, bb.len, &bo);
    if (bo.overflow)
        return -1;
    return (long)trim_answer(out, bo.len);
}


long
gr_normalise(const char *in, size_t n, int keep_commas, char *out,
             size_t outlen)
{
    char clean[GR_BUF];
    long len = gr_clean(in, n, clean, sizeof clean);

    if (len < 0)
        return -1;
    return gr_canon(clean, (size_t)len, keep_commas, out, outlen);
}

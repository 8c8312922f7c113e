/*
** grade_eval.c: the value of an answer in canonical form, by recursive
** descent over a small LaTeX subset:
**
**   expr    := term (('+' | '-') term)*
**   term    := unary (('*' | \cdot | \times | '/' | \div | <juxtaposed>)
**              power)*
**   unary   := ('-' | '+') unary | power
**   power   := postfix ('^' (group | postfix))?
**   postfix := primary ('!' | '%')*
**   primary := number [mixed \frac{d}{d}] | variable | (expr) | [expr]
**            | {expr} | |expr| | \frac{}{} | \sqrt[n]{} | \binom{}{}
**            | \pi | \infty | \lfloor expr \rfloor | \lceil expr \rceil
**            | function [^{p}] [_{base}] argument
**
** Numbers: 12, 1.5, .5, 4.5e33.  Variables: one letter (a run of three or
** more letters is a word, not a product) or a Greek letter, with an optional
** subscript, valued pseudo-randomly by name and sample.  Depth and length
** are bounded; every failure (unknown syntax, division by zero, overflow
** from finite values, a non-real result) is -1, never a crash.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grade_internal.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct ev {
    const char *s;
    size_t n, i;
    int depth;
    int sample, pct_mode;
    int flags;
    int in_abs;
    int err;
} ev_t;

static double expr(ev_t *e);
static double power(ev_t *e);

typedef enum {
    F_SIN,
    F_COS,
    F_TAN,
    F_COT,
    F_SEC,
    F_CSC,
    F_ASIN,
    F_ACOS,
    F_ATAN,
    F_SINH,
    F_COSH,
    F_TANH,
    F_LN,
    F_LOG,
    F_EXP
} fn_t;

static const struct {
    const char *name;
    fn_t fn;
} functions[] = {
    {"sin", F_SIN},     {"cos", F_COS},     {"tan", F_TAN},
    {"cot", F_COT},     {"sec", F_SEC},     {"csc", F_CSC},
    {"arcsin", F_ASIN}, {"arccos", F_ACOS}, {"arctan", F_ATAN},
    {"sinh", F_SINH},   {"cosh", F_COSH},   {"tanh", F_TANH},
    {"ln", F_LN},       {"log", F_LOG},     {"exp", F_EXP},
};

static const char *const greek[] = {
    "alpha", "beta",    "gamma",  "delta", "epsilon", "zeta",  "eta",   "theta",
    "iota",  "kappa",   "lambda", "mu",    "nu",      "xi",    "rho",   "sigma",
    "tau",   "upsilon", "phi",    "chi",   "psi",     "omega", "Gamma", "Delta",
    "Theta", "Lambda",  "Sigma",  "Phi",   "Psi",     "Omega"};


static void
skip(ev_t *e)
{
    while (e->i < e->n && e->s[e->i] == ' ')
        e->i++;
}


static char
peek(ev_t *e)
{
    skip(e);
    return e->i < e->n ? e->s[e->i] : '\0';
}


static int
fail(ev_t *e)
{
    e->err = 1;
    return 0;
}


/* The control word at the cursor (without '\'), its length in *len; NULL
** when the cursor is not at one.  Does not move. */
static const char *
word(ev_t *e, size_t *len)
{
    size_t j;

    skip(e);
    if (e->i + 1 >= e->n || e->s[e->i] != '\\' || !gr_is_alpha(e->s[e->i + 1]))
        return NULL;
    for (j = e->i + 1; j < e->n && gr_is_alpha(e->s[j]);)
        j++;
    *len = j - e->i - 1;
    return e->s + e->i + 1;
}


static int
word_is(const char *w, size_t len, const char *name)
{
    return w != NULL && strlen(name) == len && memcmp(w, name, len) == 0;
}


/* Consume the control word name if it is at the cursor. */
static int
accept_word(ev_t *e, const char *name)
{
    size_t len;
    const char *w = word(e, &len);

    if (!word_is(w, len, name))
        return 0;
    e->i += len + 1;
    return 1;
}


static int
accept(ev_t *e, char c)
{
    if (peek(e) != c)
        return 0;
    e->i++;
    return 1;
}


/* A result computed from finite operands must be finite and real. */
static double
check(ev_t *e, double r, double a, double b)
{
    if (isnan(r) || (isinf(r) && isfinite(a) && isfinite(b)))
        fail(e);
    return r;
}


static uint64_t
mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}


/* A variable's value at this sample: in [1.2, 3.2), fixed by its name
** (case-insensitive). */
static double
var_value(const ev_t *e, const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t k = 0; k < len; k++) {
        char c = name[k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        h = (h ^ (unsigned char)c) * 1099511628211ULL;
    }
    h = mix(h ^ mix((uint64_t)e->sample + 1));
    return 1.2 + 2.0 * (double)(h >> 11) / 9007199254740992.0;
}


/* {expr}, or a single primary when there are no braces. */
static double
group(ev_t *e)
{
    if (accept(e, '{')) {
        double v = expr(e);
        if (!accept(e, '}'))
            return fail(e);
        return v;
    }
    return power(e);
}


/* A run of digits at s[i..], as text; its length (0 if none). */
static size_t
digits_at(const ev_t *e, size_t i)
{
    size_t j = i;
    while (j < e->n && gr_is_digit(e->s[j]))
        j++;
    return j - i;
}


static double
number(ev_t *e)
{
    char buf[64];
    size_t start = e->i, j = e->i;
    int integer = 1;

    j += digits_at(e, j);
    if (j < e->n && e->s[j] == '.') {
        integer = 0;
        j++;
        j += digits_at(e, j);
    }
    if (j < e->n && (e->s[j] == 'e' || e->s[j] == 'E')) {
        size_t k = j + 1;
        if (k < e->n && (e->s[k] == '+' || e->s[k] == '-'))
            k++;
        if (digits_at(e, k) > 0) {
            integer = 0;
            j = k + digits_at(e, k);
        }
    }
    if (j - start >= sizeof buf)
        return fail(e);
    memcpy(buf, e->s + start, j - start);
    buf[j - start] = '\0';
    e->i = j;
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return fail(e);
    if (j < e->n && e->s[j] == '_') /* 204_{5}: a base, not a value */
        return fail(e);
    /* a mixed number: 137\frac{1}{2} */
    size_t a, b;
    if (integer && j + 6 < e->n && memcmp(e->s + j, "\\frac{", 6) == 0 &&
        (a = digits_at(e, j + 6)) > 0 && j + 6 + a + 1 < e->n &&
        e->s[j + 6 + a] == '}' && e->s[j + 7 + a] == '{' &&
        (b = digits_at(e, j + 8 + a)) > 0 && j + 8 + a + b < e->n &&
        e->s[j + 8 + a + b] == '}') {
        double num = strtod(e->s + j + 6, NULL);
        double den = strtod(e->s + j + 8 + a, NULL);
        if (den == 0)
            return fail(e);
        e->i = j + 9 + a + b;
        return v + num / den;
    }
    return v;
}


static double
variable(ev_t *e)
{
    size_t start = e->i, run = 0;

    while (e->i + run < e->n && gr_is_alpha(e->s[e->i + run]))
        run++;
    if (run >= 3) /* a word */
        return fail(e);
    e->i++;
    if (e->i < e->n && e->s[e->i] == '_') { /* a_{1} */
        e->i++;
        if (e->i < e->n && e->s[e->i] == '{') {
            size_t c = gr_match_brace(e->s, e->n, e->i);
            if (c >= e->n)
                return fail(e);
            e->i = c + 1;
        } else if (e->i < e->n) {
            e->i++;
        }
    }
    e->flags |= GR_EVAL_VARS;
    return var_value(e, e->s + start, e->i - start);
}


static double
factorial(ev_t *e, double x)
{
    double r = 1;

    if (x < 0 || x > 170 || x != floor(x))
        return fail(e);
    for (int k = 2; k <= (int)x; k++)
        r *= k;
    return r;
}


static double
binom(ev_t *e, double n, double k)
{
    double r = 1;

    if (n != floor(n) || k != floor(k) || n < 0 || n > 100000)
        return fail(e);
    if (k < 0 || k > n)
        return 0;
    if (k > n - k)
        k = n - k;
    for (int j = 1; j <= (int)k; j++)
        r = r * (n - k + j) / j;
    return check(e, round(r), n, k);
}


static double
apply(ev_t *e, fn_t f, double x, double base)
{
    double r;

    switch (f) {
    case F_SIN:
        r = sin(x);
        break;
    case F_COS:
        r = cos(x);
        break;
    case F_TAN:
        r = tan(x);
        break;
    case F_COT:
        r = 1.0 / tan(x);
        break;
    case F_SEC:
        r = 1.0 / cos(x);
        break;
    case F_CSC:
        r = 1.0 / sin(x);
        break;
    case F_ASIN:
        r = asin(x);
        break;
    case F_ACOS:
        r = acos(x);
        break;
    case F_ATAN:
        r = atan(x);
        break;
    case F_SINH:
        r = sinh(x);
        break;
    case F_COSH:
        r = cosh(x);
        break;
    case F_TANH:
        r = tanh(x);
        break;
    case F_LN:
        r = x > 0 ? log(x) : NAN;
        break;
    case F_LOG:
        r = x > 0 && base > 0 && base != 1 ? log(x) / log(base) : NAN;
        break;
    default:
        r = exp(x);
    }
    return check(e, r, x, base);
}


/* \sin^{2}x, \log_{2}8, \ln(x): the function named at the cursor. */
static double
function(ev_t *e, fn_t f)
{
    double p = 1, base = 10.0, x; /* \log is base 10; \ln is natural */
    int has_power = 0;

    if (accept(e, '^')) {
        p = group(e);
        has_power = 1;
    }
    if (accept(e, '_')) {
        base = group(e);
        if (f != F_LOG)
            return fail(e);
    }
    x = power(e);
    if (e->err)
        return 0;
    x = apply(e, f, x, base);
    if (has_power)
        x = check(e, pow(x, p), x, p);
    return x;
}


static double
control_word(ev_t *e)
{
    size_t len;
    const char *w = word(e, &len);

    e->i += len + 1;
    if (word_is(w, len, "frac")) {
        double a = group(e), b = group(e);
        if (b == 0)
            return fail(e);
        return check(e, a / b, a, b);
    }
    if (word_is(w, len, "sqrt")) {
        double k = 2, x;
        if (accept(e, '[')) {
            k = expr(e);
            if (!accept(e, ']'))
                return fail(e);
        }
        x = group(e);
        if (k == 2)
            return x < 0 ? fail(e) : sqrt(x);
        if (k == 0)
            return fail(e);
        if (x < 0 && fmod(k, 2) == 1)
            return -pow(-x, 1.0 / k);
        return check(e, pow(x, 1.0 / k), x, k);
    }
    if (word_is(w, len, "binom")) {
        double n = group(e), k = group(e);
        return binom(e, n, k);
    }
    if (word_is(w, len, "pi"))
        return M_PI;
    if (word_is(w, len, "infty"))
        return INFINITY;
    if (word_is(w, len, "lfloor") || word_is(w, len, "lceil")) {
        int fl = w[1] == 'f';
        double x = expr(e);
        if (!accept_word(e, fl ? "rfloor" : "rceil"))
            return fail(e);
        return fl ? floor(x) : ceil(x);
    }
    for (size_t k = 0; k < sizeof functions / sizeof *functions; k++)
        if (word_is(w, len, functions[k].name))
            return function(e, functions[k].fn);
    for (size_t k = 0; k < sizeof greek / sizeof *greek; k++) {
        if (!word_is(w, len, greek[k]))
            continue;
        e->flags |= GR_EVAL_VARS;
        return var_value(e, w, len);
    }
    return fail(e);
}


static double
primary(ev_t *e)
{
    char c = peek(e);
    double v;

    if (++e->depth > GR_MAX_DEPTH)
        return fail(e);
    if (c == '(' || c == '[' || c == '{') {
        char close = c == '(' ? ')' : c == '[' ? ']' : '}';
        int in_abs = e->in_abs;
        e->i++;
        e->in_abs = 0;
        v = expr(e);
        e->in_abs = in_abs;
        if (!accept(e, close))
            return fail(e);
    } else if (c == '|') {
        int in_abs = e->in_abs;
        e->i++;
        e->in_abs = 1;
        v = expr(e);
        e->in_abs = in_abs;
        if (!accept(e, '|'))
            return fail(e);
        v = fabs(v);
    } else if (gr_is_digit(c) || c == '.') {
        v = number(e);
    } else if (gr_is_alpha(c)) {
        v = variable(e);
    } else if (c == '\\') {
        v = control_word(e);
    } else {
        v = fail(e);
    }
    e->depth--;
    return v;
}


static double
postfix(ev_t *e)
{
    double v = primary(e);

    while (!e->err) {
        if (accept(e, '!')) {
            v = factorial(e, v);
        } else if (accept(e, '%')) {
            e->flags |= GR_EVAL_PERCENT;
            if (e->pct_mode == 0)
                v /= 100.0;
        } else {
            break;
        }
    }
    return v;
}


static double
power(ev_t *e)
{
    double b = postfix(e), x;

    if (e->err || !accept(e, '^'))
        return b;
    x = group(e);
    if (e->err)
        return 0;
    return check(e, pow(b, x), b, x);
}


static double
unary(ev_t *e)
{
    if (++e->depth > GR_MAX_DEPTH)
        return fail(e);
    double v;
    if (accept(e, '-'))
        v = -unary(e);
    else if (accept(e, '+'))
        v = unary(e);
    else
        v = power(e);
    e->depth--;
    return v;
}


/* 1 if a factor starts at the cursor (juxtaposition is a product). */
static int
starts_factor(ev_t *e)
{
    char c = peek(e);
    size_t len;
    const char *w;

    if (gr_is_digit(c) || c == '.' || gr_is_alpha(c) || c == '(' || c == '[' ||
        c == '{')
        return 1;
    if (c == '|')
        return !e->in_abs;
    if ((w = word(e, &len)) == NULL)
        return 0;
    return !(word_is(w, len, "cdot") || word_is(w, len, "times") ||
             word_is(w, len, "div") || word_is(w, len, "rfloor") ||
             word_is(w, len, "rceil"));
}


static double
term(ev_t *e)
{
    double v = unary(e), r;

    while (!e->err) {
        if (accept(e, '*') || accept_word(e, "cdot") ||
            accept_word(e, "times")) {
            r = unary(e);
            v = check(e, v * r, v, r);
        } else if (accept(e, '/') || accept_word(e, "div")) {
            r = unary(e);
            if (r == 0)
                return fail(e);
            v = check(e, v / r, v, r);
        } else if (starts_factor(e)) {
            r = power(e);
            v = check(e, v * r, v, r);
        } else {
            break;
        }
    }
    return v;
}


static double
expr(ev_t *e)
{
    double v = term(e), r;

    while (!e->err) {
        if (accept(e, '+')) {
            r = term(e);
            v = check(e, v + r, v, r);
        } else if (accept(e, '-')) {
            r = term(e);
            v = check(e, v - r, v, r);
        } else {
            break;
        }
    }
    return v;
}


int
gr_eval(const char *s, size_t n, int sample, int pct_mode, double *value,
        int *flags)
{
    ev_t e = {s, n, 0, 0, sample, pct_mode, 0, 0, 0};
    double v;

    if (n == 0 || n > GR_BUF)
        return -1;
    v = expr(&e);
    skip(&e);
    if (e.err || e.i != e.n || isnan(v))
        return -1;
    *value = v;
    *flags = e.flags;
    return 0;
}


int
gr_close(double a, double b)
{
    const double exact = 9007199254740992.0; /* 2^53 */
    double d, m;

    if (a == b)
        return 1;
    if (!isfinite(a) || !isfinite(b))
        return 0;
    if (a == floor(a) && b == floor(b) && fabs(a) < exact && fabs(b) < exact)
        return 0; /* two integers: exactly */
    d = fabs(a - b);
    m = fmax(fabs(a), fabs(b));
    return d <= 1e-6 * m || d <= 1e-12;
}

/*
** grade_internal.h: what the grader's files share (not a public contract).
**
**   grade_extract.c  final answer of a solution
**   grade_norm.c     LaTeX clean-up: control words, $, spacing, units, text
**   grade_canon.c    canonical form: braced arguments, numbers, separators
**   grade_eval.c     numeric evaluation of an answer (recursive descent)
**   grade_split.c    tuples, intervals, sets, lists, unions, matrices
**   grade_equal.c    the equivalence rules (grade_equal)
**
** Every string here is a span (pointer and length), not NUL-terminated
** unless said so; buffers are caller-provided and bounded.
*/
#ifndef TRIM_GRADE_INTERNAL_H
#define TRIM_GRADE_INTERNAL_H

#include <stddef.h>

#include "grade.h"

/* Working buffers: canonical forms may grow ("x^2" -> "x^{2}"). */
#define GR_BUF       (2 * GRADE_MAX_ANSWER + 64)
#define GR_MAX_DEPTH 48  /* nesting of braces and expressions */
#define GR_MAX_ELEMS 128 /* elements of one tuple, set, list or matrix */
#define GR_SCRATCH   2048
/* Follows a comma that had spacing before a digit: list items, not
** thousands (dropped from canonical text). */
#define GR_LIST_COMMA '\x1f'

/* A bounded string builder; overflow is sticky and checked by callers. */
typedef struct gr_buf {
    char *s;
    size_t len, cap;
    int overflow;
} gr_buf_t;

static inline void
gb_init(gr_buf_t *b, char *s, size_t cap)
{
    b->s = s;
    b->len = 0;
    b->cap = cap;
    b->overflow = 0;
    if (cap > 0)
        s[0] = '\0';
}

static inline void
gb_putc(gr_buf_t *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->s[b->len++] = c;
        b->s[b->len] = '\0';
    } else {
        b->overflow = 1;
    }
}

static inline void
gb_put(gr_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gb_putc(b, s[i]);
}

static inline int
gr_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int
gr_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The index after the thousands groups from s[j]: each ",ddd" that no
** other digit follows. */
static inline size_t
gr_skip_thousands(const char *s, size_t n, size_t j)
{
    while (j + 3 < n && s[j] == ',' && gr_is_digit(s[j + 1]) &&
           gr_is_digit(s[j + 2]) && gr_is_digit(s[j + 3]) &&
           (j + 4 == n || !gr_is_digit(s[j + 4])))
        j += 4;
    return j;
}

static inline int
gr_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/*
** Index of the '}' closing the '{' at s[open] within s[0..n), skipping
** escaped braces (\{ \}); n when it is not closed.
*/
size_t gr_match_brace(const char *s, size_t n, size_t open);

/*
** Clean up a raw answer (grade_norm.c): outer \boxed, $, \( \), control
** words renamed or dropped, degrees, trailing units, \text{X} -> X; spacing
** collapsed to single spaces (still needed to tell "\pi r" from "\pir").
** Writes NUL-terminated text into out.  Returns its length, or -1 when it
** does not fit.
*/
long gr_clean(const char *in, size_t n, char *out, size_t outlen);

/*
** Canonical form of cleaned text (grade_canon.c): spaces removed (one kept
** between a control word and a letter), arguments of \frac \binom \sqrt ^ _
** braced, {,} and (unless keep_commas) thousands separators dropped,
** decimals tidied.  Returns the length, or -1 when it does not fit or
** nests too deep.
*/
long gr_canon(const char *in, size_t n, int keep_commas, char *out,
              size_t outlen);

/* gr_clean then gr_canon into out; -1 when either fails. */
long gr_normalise(const char *in, size_t n, int keep_commas, char *out,
                  size_t outlen);

/* ---- evaluation (grade_eval.c) ------------------------------------------ */

#define GR_EVAL_VARS    1 /* the expression has variables */
#define GR_EVAL_PERCENT 2 /* the expression has a % */

/*
** Evaluate canonical text s[0..n) as a real number.  Variables take
** pseudo-random values fixed by their name and sample; pct_mode 0 reads
** "p%" as p/100, 1 as p.  Returns 0 with *value and *flags (GR_EVAL_*), or
** -1 when it is not an expression this evaluator knows, or its value is
** undefined or overflows.
*/
int gr_eval(const char *s, size_t n, int sample, int pct_mode, double *value,
            int *flags);

/* 1 if a and b are the same number under the documented tolerance. */
int gr_close(double a, double b);

/* ---- structure (grade_split.c) ------------------------------------------ */

typedef enum {
    GR_ATOM,  /* one value */
    GR_TUPLE, /* (a,b) [a,b) ...: ordered, brackets significant */
    GR_SET,   /* \{a,b\}: unordered */
    GR_LIST,  /* a,b (no brackets), or a \pm b: unordered */
    GR_UNION, /* A \cup B: unordered */
    GR_MATRIX /* \begin{pmatrix}...\end{pmatrix}: rows x cols, ordered */
} gr_kind_t;

typedef struct gr_span {
    const char *s;
    size_t n;
} gr_span_t;

typedef struct gr_parts {
    gr_kind_t kind;
    char open, close; /* GR_TUPLE */
    int rows, cols;   /* GR_MATRIX */
    size_t n;         /* elements */
    gr_span_t el[GR_MAX_ELEMS];
    char scratch[GR_SCRATCH]; /* elements written out by \pm expansion */
    size_t used;
} gr_parts_t;

/*
** Split canonical text s[0..n) into its structure; element spans point into
** s or into p->scratch.  Returns 0, or -1 when there are too many elements
** (the caller compares the text as a whole).
*/
int gr_split(const char *s, size_t n, gr_parts_t *p);

/* Number of c in s[0..n) outside brackets and braces. */
int gr_count_top(const char *s, size_t n, char c);

/* Index of the first c in s[0..n) outside brackets and braces, or n. */
size_t gr_find_top(const char *s, size_t n, char c);

#endif

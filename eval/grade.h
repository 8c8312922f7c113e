/*
** grade.h: final-answer extraction and equivalence, the way the field grades
** math benchmarks (Qwen2.5-Math's `math_equal` after `\boxed{}` extraction),
** in C with no symbolic-algebra library.  Rules in full: docs/grading.md.
**
** Extraction, first rule that finds something:
**   1. the last \boxed{...}, \boxed x, \fbox{...} or \framebox{...} (nested
**      braces; an empty box defers to the one before it);
**   2. the text after the last "answer is" / "answer:" phrase ("The final
**      answer is $X$. I hope it is correct." gives X);
**   3. the text after GSM8K's last "####";
**   4. the last number (thousands separators dropped, "3/4" kept whole);
**   else the empty answer.
**
** Equivalence of a prediction with the ground truth:
**   - both are normalised: spacing, $ and \( \), \left \right \big, \! \, \;,
**     \dfrac \tfrac -> \frac, \frac12 -> \frac{1}{2}, ^\circ and degrees,
**     \% -> %, \$, trailing \text{...} / \mathrm{...} / unit words (cm,
**     dollars, ...), \text{X} -> X, thousands separators (1,000 and 1{,}000),
**     trailing zeros (2.50 -> 2.5, 3.0 -> 3), .5 -> 0.5, a leading "x =" or
**     "x \in" (a name of at most two letters, a subscript, or f(x));
**   - equal strings (ignoring case) match;
**   - a multiple-choice truth "C", "(C)" or "\text{(C)}" matches a
**     prediction that starts with that letter ("c", "(C) 12");
**   - numbers are evaluated (integers, decimals, fractions, \frac, \sqrt,
**     \pi, powers, e-notation, \times, mixed numbers, %) and match within
**     relative tolerance 1e-6; two integers below 2^53 must be equal;
**   - percentages: "p%" matches both p/100 and p (answers keep or drop the
**     percent sign), but a bare number is never rescaled: "10\%" matches
**     "0.1" and "10", "0.1" does not match "10".  (Qwen2.5-Math also matches
**     a bare 10 with 0.1 and 1000; we do not.)
**   - expressions with variables match when they agree at four
**     pseudo-random points (2n vs n+n, \frac{n(n+1)}{2} vs \frac{n^2+n}{2});
**     words of three or more letters are text, never products;
**   - equations with a non-name left side match when L-R of one is a
**     constant multiple of L-R of the other;
**   - tuples and intervals match element by element in order with the same
**     brackets ((1,2) never matches [1,2]); sets \{...\}, bare comma lists
**     (OlympiadBench multiple answers, "3, 5, 7"), unions A \cup B and
**     "a \pm b" (two answers) match as multisets; a bare list also matches
**     a parenthesised tuple in order; matrices match cell by cell;
**   - "1,000" is one thousand when the other side is a number and the list
**     (1, 000) when the other side is a list; "1,2" is always a list.
**   - anything else, including what cannot be parsed, is "not equal".
**
** Bounds: answers longer than GRADE_MAX_ANSWER bytes are compared as exact
** text; nesting and expression depth are capped; no allocation on the heap;
** every function is re-entrant (no global mutable state).
*/
#ifndef TRIM_GRADE_H
#define TRIM_GRADE_H

#include <stddef.h>

#define GRADE_MAX_ANSWER 4096

/* Which extraction rule found the answer (grade_extract's return value). */
typedef enum {
    GRADE_NONE = 0,   /* no answer: out is "" */
    GRADE_BOXED = 1,  /* \boxed{...}, \fbox{...}, \framebox{...} */
    GRADE_PHRASE = 2, /* "... answer is X" */
    GRADE_HASH = 3,   /* GSM8K "#### X" */
    GRADE_NUMBER = 4  /* the last number in the text */
} grade_rule_t;

/*
** Extract the final answer of solution (NUL-terminated, any length; NULL is
** the empty text) into out (outlen bytes, always terminated), trimmed of
** spaces, a leading ':' and trailing '.'.  Returns the rule that found it
** (GRADE_BOXED..GRADE_NUMBER), GRADE_NONE with out "" when the text has no
** answer, or -1 with out "" when the answer does not fit in out.
*/
int grade_extract(const char *solution, char *out, size_t outlen);

/*
** grade_extract over a solution given as n steps (steps[0] first), as if
** they were one text: each rule is tried on every step from the last one
** back before the next rule is tried.  NULL steps are skipped.  Same
** returns as grade_extract.
*/
int grade_extract_steps(const char *const *steps, size_t n, char *out,
                        size_t outlen);

/*
** 1 if the answer prediction is equivalent to the ground truth under the
** rules above, else 0 (an empty or NULL answer on either side included).
** Both are answers, not whole solutions: extract first.  The test is not
** symmetric only for multiple choice (the truth names the letter).  Fast:
** a few microseconds for a typical answer.
*/
int grade_equal(const char *prediction, const char *truth);

/* Short name of an extraction rule ("boxed", "phrase", "####", "number",
** "none"); a static string. */
const char *grade_rule_name(int rule);

#endif

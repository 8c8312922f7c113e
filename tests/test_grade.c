/*
** test_grade.c: the answer grader (eval/grade.h) on its own: a table of
** equivalent and non-equivalent pairs covering every documented rule and
** its traps, extraction, and fuzzed input that must neither crash nor hang.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grade.h"

typedef struct pair {
    const char *prediction, *truth;
    int equal;
} pair_t;

/* Written here, rule by rule (see grade.h and docs/grading.md). */
static const pair_t pairs[] = {
    /* normalisation: spacing, delimiters, \dfrac, degrees, $, periods */
    {"\\frac{1}{2}", "\\frac {1} {2}", 1},
    {" 5 ", "5", 1},
    {"\\left( 1, 2 \\right)", "(1,2)", 1},
    {"\\left[ 0, 1 \\right)", "[0,1)", 1},
    {"\\bigl( 1, 2 \\bigr)", "(1,2)", 1},
    {"\\dfrac{3}{4}", "\\frac34", 1},
    {"\\tfrac{3}{4}", "\\frac{3}{4}", 1},
    {"\\frac 34", "0.75", 1},
    {"90^\\circ", "90", 1},
    {"90^{\\circ}", "90", 1},
    {"45\xc2\xb0", "45", 1},
    {"30^\\circ", "31", 0},
    {"\\displaystyle\\frac{1}{2}", "0.5", 1},
    {"\\frac{1}{2}.", "0.5", 1},
    {"$\\frac{1}{2}$", "0.5", 1},
    {"\\(\\frac12\\)", "0.5", 1},
    {"\\!5", "5", 1},
    {"\\boxed{5}", "5", 1},
    {"-2", "- 2", 1},
    {"\\text{Evelyn}", "Evelyn", 1},
    {"\\text{Evelyn}", "Navin", 0},
    {"\\text{even}", "even", 1},
    {"\\text{odd}", "\\text{even}", 0},
    {"east", "\\text{east}", 1},
    {"evil", "vile", 0}, /* words are text, not products of letters */
    /* units */
    {"5\\text{ cm}", "5", 1},
    {"5 \\text{cm}^2", "5", 1},
    {"15\\mbox{ cm}^2", "15", 1},
    {"864 \\mbox{ inches}^2", "864", 1},
    {"6.5 \\mathrm{~m}", "6.5", 1},
    {"4.5e33 \\mathrm{ergs} \\mathrm{s}^{-1}", "4.5 \\times 10^{33}", 1},
    {"18 dollars", "18", 1},
    {"\\$18.90", "18.9", 1},
    {"5.4 \\text{ cents}", "5.4", 1},
    {"\\frac{270}7\\text{ degrees}", "38.571428571", 1},
    {"12 \\text{ cm}", "13", 0},
    /* thousands separators: a number when they are thousands, else a list */
    {"1,000", "1000", 1},
    {"1{,}000", "1000", 1},
    {"10,\\!080", "10080", 1},
    {"\\$32,\\!348", "32348", 1},
    {"11,\\! 111,\\! 111,\\! 100", "11111111100", 1},
    {"1,000,000", "10^6", 1},
    {"1,2", "12", 0},
    {"12,5", "125", 0},
    {"1, 2", "12", 0},
    {"100, 200", "100200", 0},
    {"100,200", "100, 200", 1},
    {"1,000", "1000.5", 0},
    /* trailing zeros and leading dots */
    {"2.50", "2.5", 1},
    {"3.0", "3", 1},
    {"3.000", "3", 1},
    {"6.0", "6", 1},
    {".5", "0.5", 1},
    {"0.0000672", ".0000672", 1},
    {"0", "0.0", 1},
    /* a leading "x =" and "x \in" */
    {"x = 3", "3", 1},
    {"3", "x=3", 1},
    {"k=4", "4", 1},
    {"x=4", "5", 0},
    {"y = 2x + 3", "2x+3", 1},
    {"f(x) = 2x", "2x", 1},
    {"a_1 = 5", "5", 1},
    {"m_{\\max} = 7", "7", 1},
    {"x \\in [-2,7]", "[-2,7]", 1},
    {"x=2", "y=2", 1}, /* the name is not compared */
    /* numbers: fractions, roots, pi, powers, e-notation */
    {"0.5", "\\frac12", 1},
    {"\\frac12", "0.5", 1},
    {"0.333333333", "\\frac13", 1},
    {"0.33", "\\frac13", 0},
    {"\\frac{2}{4}", "\\frac{1}{2}", 1},
    {"4/8", "\\frac12", 1},
    {"-\\frac{1}{2}", "\\frac{-1}{2}", 1},
    {"-0.5", "-\\frac12", 1},
    {"\\sqrt{2}/2", "\\frac{\\sqrt2}{2}", 1},
    {"\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", 1},
    {"2\\sqrt{2}", "\\sqrt{8}", 1},
    {"\\sqrt{8}", "2\\sqrt{3}", 0},
    {"\\sqrt[3]{8}", "2", 1},
    {"\\pi", "3.14159265358979", 1},
    {"3.14", "\\pi", 0},
    {"2\\pi", "\\pi \\cdot 2", 1},
    {"\\frac{\\pi}{2}", "\\frac12\\pi", 1},
    {"2^{10}", "1024", 1},
    {"10^{-3}", "0.001", 1},
    {"1.5e3", "1500", 1},
    {"4.5e33", "4.5 \\times 10^{33}", 1},
    {"3 \\times 10^8", "300000000", 1},
    {"0.1 + 0.2", "0.3", 1},
    {"\\frac{3840}{289}", "13.287197231833910", 1},
    {"-3", "3", 0},
    {"0", "0.0000001", 0},
    {"1e-7", "0.0000001", 1},
    {"1000000", "1000001", 0}, /* two integers: exactly */
    {"1000000.4", "1000000", 1},
    {"1.0000001", "1", 1}, /* within 1e-6 */
    {"1.00001", "1", 0},
    {"137 \\frac{1}{2}", "137.5", 1}, /* a mixed number */
    {"1\\frac{4}{5}", "\\frac95", 1},
    {"2\\frac{1}{2}", "1", 0},
    {"5!", "120", 1},
    {"\\binom{5}{2}", "10", 1},
    {"\\dbinom{6}{3}", "20", 1},
    {"|-3|", "3", 1},
    {"\\lfloor 2.7 \\rfloor", "2", 1},
    {"\\log_2 8", "3", 1},
    {"\\ln 1", "0", 1},
    {"\\sin \\frac{\\pi}{6}", "\\frac12", 1},
    {"\\cos 0", "1", 1},
    {"\\tan\\frac{\\pi}{4}", "1", 1},
    {"\\sec 0", "1", 1},
    {"\\csc\\frac{\\pi}{2}", "1", 1},
    {"\\cot\\frac{\\pi}{4}", "2", 0},
    {"\\arcsin 1", "\\frac{\\pi}{2}", 1},
    {"\\arccos 0", "\\frac{\\pi}{2}", 1},
    {"\\arctan 1", "\\frac{\\pi}{3}", 0},
    {"\\sinh 0", "0", 1},
    {"\\cosh 0", "1", 1},
    {"\\tanh 0", "1", 0},
    {"\\exp 0", "1", 1},
    {"\\sqrt[3]{-8}", "-2", 1}, /* an odd root of a negative number */
    {"\\sqrt[3]{-8}", "2", 0},
    {"\\binom{10}{7}", "120", 1},
    {"\\binom{4}{5}", "0", 1},
    {"\\sin^{2}\\frac{\\pi}{4}", "\\frac12", 1}, /* a power on a function */
    {"\\sin^2 x+\\cos^2 x", "1", 1},
    {"\\alpha+\\beta", "\\beta+\\alpha", 1}, /* Greek letters as variables */
    {"2\\theta", "\\theta+\\theta", 1},
    {"\\sqrt[0]{8}", "1", 0},
    {"\\fbox{5}", "5", 1},
    {"\\textbf{yes}", "yes", 1},
    {"\\begin{array}{cc}1&2\\end{array}", "\\begin{pmatrix}1&2\\end{pmatrix}",
     1},
    {"\\begin x", "\\begin x", 1},
    {"\\infty", "\\infty", 1},
    {"-\\infty", "\\infty", 0},
    {"2024^{4046}", "2024^{4046}", 1},
    {"2024^{4046}", "2023^{4046}", 0}, /* overflow decides nothing */
    {"\\frac{1}{0}", "\\frac{2}{0}", 0},
    {"204_5", "54", 0}, /* a base, not a value */
    {"204_{5}", "204_5", 1},
    /* percentages: p% is p/100 and p; a bare number is never rescaled */
    {"10\\%", "0.1", 1},
    {"10\\%", "10", 1},
    {"10\\%", "1", 0},
    {"10", "0.1", 0},
    {"0.5", "50", 0},
    {"50\\%", "0.5", 1},
    {"25\\%", "\\frac14", 1},
    {"25%", "25", 1},
    {"0.625", "62.5\\%", 1},
    {"62.5", "62.5\\%", 1},
    {"20 percent", "20\\%", 1},
    {"0.2", "20", 0},
    /* tuples and intervals: in order, brackets significant */
    {"(1,2)", "[1,2]", 0},
    {"(1, 2)", "(1,2)", 1},
    {"(2,1)", "(1,2)", 0},
    {"(1,2,3)", "(1,2)", 0},
    {"(0.5, 2)", "\\left(\\frac12, 2\\right)", 1},
    {"[2, 5)", "[2,5)", 1},
    {"[2, 5]", "[2,5)", 0},
    {"(-\\infty, 0]", "(-\\infty,0]", 1},
    {"(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", 1},
    {"(3, 1.5708)", "(3,\\frac{\\pi}{2})", 0},
    {"(1,-16,-4,43)", "(1, -16, -4, 43)", 1},
    {"1,2", "(1,2)", 1}, /* a bare list is a parenthesised tuple */
    {"2,1", "(1,2)", 0},
    {"1,2", "[1,2]", 0},
    /* unions: as sets of intervals */
    {"(-\\infty, 2) \\cup (3, \\infty)", "(3,\\infty)\\cup(-\\infty,2)", 1},
    {"(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty,2)\\cup[3,\\infty)", 0},
    /* sets and lists: as multisets */
    {"\\{1,2\\}", "\\{2,1\\}", 1},
    {"\\{1,2\\}", "\\{1,3\\}", 0},
    {"\\{1,2\\}", "\\{1,2,3\\}", 0},
    {"\\{1, 2\\}", "1, 2", 1},
    {"\\{1,2,3\\}", "(1,2,3)", 0},
    {"\\left\\{ 5 \\right\\}", "5", 1},
    {"3, 5, 7", "7,5,3", 1},
    {"3, 5, 7", "3,5", 0},
    {"3, 5, 5", "3, 3, 5", 0},
    {"x=1, x=2", "2,1", 1},
    {"\\emptyset", "\\varnothing", 1},
    {"\\{\\}", "\\emptyset", 1},
    {"1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", 1},
    {"1 \\pm \\sqrt{19}", "1+\\sqrt{19}", 0},
    {"-2, 1-\\sqrt5, 1+\\sqrt5", "\\{1\\pm\\sqrt{5},-2\\}", 1},
    /* OlympiadBench multiple answers */
    {"(4,5,7),(1,8,19),(2,7,13)", "$(1,8,19), (2,7,13), (4,5,7)$", 1},
    {"(1,8,19), (2,7,13)", "$(1,8,19), (2,7,13), (4,5,7)$", 0},
    {"(8,1,19), (2,7,13), (4,5,7)", "$(1,8,19), (2,7,13), (4,5,7)$", 0},
    {"84, 69", "$69$,$84$", 1},
    {"f(x)=x+1, f(x)=-1", "$f(x)=-1$,$f(x)=x+1$", 1},
    {"\\frac{1}{2}, \\frac{32}{9}", "$\\frac{32}{9}$,$\\frac{1}{2}$", 1},
    {"5, 15", "5,15", 1},
    {"1, 3, 5, 15", "1,3,5,16", 0},
    /* matrices: cell by cell */
    {"\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
     "\\begin{pmatrix}1\\\\2\\end{pmatrix}", 1},
    {"\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}",
     "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", 1},
    {"\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}",
     "\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\end{pmatrix}", 1},
    {"\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
     "\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", 0},
    {"\\begin{pmatrix} 1 & 2 \\end{pmatrix}",
     "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", 0},
    /* multiple choice: the letter matches its option */
    {"C", "\\text{(C)}", 1},
    {"(C)", "C", 1},
    {"c", "(C)", 1},
    {"(C) 12", "C", 1},
    {"\\textbf{(E)}", "\\text{E}", 1},
    {"D", "C", 0},
    {"12", "(C)", 0},
    /* expressions with variables */
    {"2n", "n+n", 1},
    {"\\frac{n(n+1)}{2}", "\\frac{n^2+n}{2}", 1},
    {"n^2", "2n", 0},
    {"x^2+2x+1", "(x+1)^2", 1},
    {"(a+5)(b+2)", "(b+2)(a+5)", 1},
    {"(a+5)(b+2)", "(a+2)(b+5)", 0},
    {"-13x+3", "3-13x", 1},
    {"2k+2", "2(k+1)", 1},
    {"p - q", "-q + p", 1},
    {"p - q", "q - p", 0},
    {"\\frac{x}{7}+\\frac{2}{7}", "\\frac{x+2}{7}", 1},
    {"1+2i", "2i+1", 1},
    {"1+2i", "1-2i", 0},
    {"3R^2", "3r^2", 1},
    {"\\cot x", "\\frac{\\cos x}{\\sin x}", 1},
    {"2^{k-1}", "\\frac{2^k}{2}", 1},
    {"\\frac{4}{3}\\pi r^3", "\\frac{4\\pi r^{3}}{3}", 1},
    {"\\pi r^2", "\\pi r", 0},
    {"x^{8}+x^{7}+x^{6}", "x^6(x^2+x+1)", 1},
    /* equations: L-R the same up to a constant factor */
    {"5x - 7y + 11z + 4 = 0", "10x - 14y + 22z + 8 = 0", 1},
    {"5x - 7y + 11z + 4 = 0", "5x - 7y + 11z - 4 = 0", 0},
    {"x + y = 5", "y + x = 5", 1},
    {"y = 2x + 3", "y - 2x = 3", 1},
    {"x^2 = 1", "x = 1", 0},
    /* what cannot be decided is "not equal", never a crash */
    {"", "5", 0},
    {"5", "", 0},
    {"", "", 0},
    {"$$", "$$", 0},
    {"{{{{", "}}}}", 0},
    {"\\frac{1}{", "1", 0},
    {"\\sqrt{-1}", "i", 0},
    {"\\unknown{5}", "5", 0},
};


static void
test_pairs(void **state)
{
    (void)state;
    size_t n = sizeof pairs / sizeof *pairs, bad = 0, eq = 0;

    for (size_t i = 0; i < n; i++) {
        int got = grade_equal(pairs[i].prediction, pairs[i].truth);
        eq += pairs[i].equal;
        if (got != pairs[i].equal) {
            printf("pair %zu: \"%s\" vs \"%s\": got %d, want %d\n", i,
                   pairs[i].prediction, pairs[i].truth, got, pairs[i].equal);
            bad++;
        }
    }
    printf("%zu pairs (%zu equivalent, %zu not)\n", n, eq, n - eq);
    assert_true(n >= 150);
    assert_true(eq >= 50 && n - eq >= 50);
    assert_int_equal(bad, 0);
}


/* Every answer is equal to (a copy of) itself. */
static void
test_reflexive(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        const char *s[2] = {pairs[i].prediction, pairs[i].truth};
        for (int k = 0; k < 2; k++) {
            char copy[256];
            snprintf(copy, sizeof copy, "%s", s[k]);
            /* the empty answer (also "$$") is never equal to anything */
            if (strcmp(s[k], "") == 0 || strcmp(s[k], "$$") == 0)
                assert_int_equal(grade_equal(s[k], copy), 0);
            else if (grade_equal(s[k], copy) != 1)
                fail_msg("\"%s\" is not equal to itself", s[k]);
        }
    }
}


typedef struct extract_case {
    const char *text;
    int rule;
    const char *answer;
} extract_case_t;

static const extract_case_t extracts[] = {
    {"So the answer is \\boxed{5}.", GRADE_BOXED, "5"},
    {"\\boxed{\\frac{1}{2}}", GRADE_BOXED, "\\frac{1}{2}"},
    {"Thus $\\boxed{\\{1,2\\}}$.", GRADE_BOXED, "\\{1,2\\}"},
    {"\\boxed{\\left\\{ 1, 2 \\right\\}}", GRADE_BOXED,
     "\\left\\{ 1, 2 \\right\\}"},
    {"$\\boxed 5$.", GRADE_BOXED, "5"},
    {"hence \\boxed x", GRADE_BOXED, "x"},
    {"\\fbox{7}", GRADE_BOXED, "7"},
    {"or $\\framebox{204}$ minutes", GRADE_BOXED, "204"},
    {"\\boxed{1} first, then \\boxed{2}", GRADE_BOXED, "2"},
    {"\\boxed{3} and an empty \\boxed{}", GRADE_BOXED, "3"},
    {"a box \\boxed{(1, 2)} answer is 7", GRADE_BOXED, "(1, 2)"},
    {"unfinished \\boxed{12", GRADE_BOXED, "12"},
    {"The final answer is $\\frac{3}{4}$. I hope it is correct.", GRADE_PHRASE,
     "\\frac{3}{4}"},
    {"Final Answer: The final answer is $12$. I hope it is correct.",
     GRADE_PHRASE, "12"},
    {"so the answer is 42.", GRADE_PHRASE, "42"},
    {"The answer is: 3.5\nmore text", GRADE_PHRASE, "3.5"},
    {"Answer: \\(x+1\\)", GRADE_PHRASE, "x+1"},
    {"The answer is **17**.", GRADE_PHRASE, "17"},
    {"She makes 18 dollars.\n#### 18", GRADE_HASH, "18"},
    {"#### 1,000", GRADE_HASH, "1,000"},
    {"First 3, then 4.5 and -7", GRADE_NUMBER, "-7"},
    {"5-3 = 2", GRADE_NUMBER, "2"},
    {"It is 3/4", GRADE_NUMBER, "3/4"},
    {"We get 1,234,567 apples", GRADE_NUMBER, "1234567"},
    {"the point (1,2)", GRADE_NUMBER, "2"},
    {"about .5 of it", GRADE_NUMBER, ".5"},
    {"no numbers here", GRADE_NONE, ""},
    {"", GRADE_NONE, ""},
};


static void
test_extract(void **state)
{
    (void)state;
    char out[256];

    for (size_t i = 0; i < sizeof extracts / sizeof *extracts; i++) {
        int rule = grade_extract(extracts[i].text, out, sizeof out);
        if (rule != extracts[i].rule || strcmp(out, extracts[i].answer) != 0)
            fail_msg("extract \"%s\": got %d \"%s\", want %d \"%s\"",
                     extracts[i].text, rule, out, extracts[i].rule,
                     extracts[i].answer);
    }
    assert_int_equal(grade_extract(NULL, out, sizeof out), GRADE_NONE);
    assert_string_equal(out, "");
    /* an answer that does not fit is no answer */
    assert_int_equal(grade_extract("\\boxed{123456789012}", out, 8), -1);
    assert_string_equal(out, "");
    assert_int_equal(grade_extract("\\boxed{1}", out, 0), -1);
    assert_string_equal(grade_rule_name(GRADE_BOXED), "boxed");
    assert_string_equal(grade_rule_name(42), "none");
}


static void
test_extract_steps(void **state)
{
    (void)state;
    char out[64];
    const char *boxed_early[] = {"So x = \\boxed{1}.", "The answer is 2"};
    const char *phrase_late[] = {"We have 3 apples.", "The answer is 2."};
    const char *numbers[] = {"First 3.", NULL, "Then 4 and 5.", "Done."};

    /* each rule over every step before the next rule, as one text */
    assert_int_equal(grade_extract_steps(boxed_early, 2, out, sizeof out),
                     GRADE_BOXED);
    assert_string_equal(out, "1");
    assert_int_equal(grade_extract_steps(phrase_late, 2, out, sizeof out),
                     GRADE_PHRASE);
    assert_string_equal(out, "2");
    assert_int_equal(grade_extract_steps(numbers, 4, out, sizeof out),
                     GRADE_NUMBER);
    assert_string_equal(out, "5");
    assert_int_equal(grade_extract_steps(NULL, 0, out, sizeof out), GRADE_NONE);
}


/* 1 if the braces of s (not counting \{ \}) balance. */
static int
balanced(const char *s)
{
    int depth = 0;

    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            continue;
        }
        depth += *s == '{' ? 1 : *s == '}' ? -1 : 0;
        if (depth < 0)
            return 0;
    }
    return depth == 0;
}


/* The ground truth wrapped in \boxed{} comes back and is equal. */
static void
test_boxed_roundtrip(void **state)
{
    (void)state;
    char text[600], out[600];

    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        const char *t = pairs[i].truth;
        if (*t == '\0' || strcmp(t, "$$") == 0 || !balanced(t))
            continue; /* empty or unbalanced truths have no box */
        snprintf(text, sizeof text, "Therefore the answer is $\\boxed{%s}$.",
                 t);
        assert_int_equal(grade_extract(text, out, sizeof out), GRADE_BOXED);
        if (!grade_equal(out, t))
            fail_msg("boxed \"%s\" came back as \"%s\"", t, out);
    }
}


/* ---- fuzzing: nothing crashes, nothing hangs ---------------------------- */

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t
next(rng_t *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static const char *const tokens[] = {"\\frac",
                                     "{",
                                     "}",
                                     "\\sqrt",
                                     "(",
                                     ")",
                                     "[",
                                     "]",
                                     ",",
                                     "\\{",
                                     "\\}",
                                     "^",
                                     "_",
                                     "1",
                                     "2.5",
                                     "x",
                                     "n",
                                     "\\pm",
                                     "\\cup",
                                     "=",
                                     "%",
                                     "\\%",
                                     "\\text{",
                                     "\\left",
                                     "\\right",
                                     "\\begin{pmatrix}",
                                     "\\end{pmatrix}",
                                     "&",
                                     "\\\\",
                                     "$",
                                     "\\boxed{",
                                     "\\pi",
                                     "\\infty",
                                     "-",
                                     "+",
                                     "/",
                                     "!",
                                     "|",
                                     "\\lfloor",
                                     "\\rfloor",
                                     " ",
                                     ".",
                                     "e",
                                     "\\sin",
                                     "\\log_",
                                     "1,000",
                                     "\\dfrac",
                                     "^\\circ",
                                     "cm",
                                     "\\in",
                                     "answer is",
                                     "####",
                                     "\\binom",
                                     "\xcf\x80",
                                     "\xff",
                                     "\\",
                                     "0",
                                     "\\cdot",
                                     "\\times",
                                     "10^{",
                                     "e5"};


static void
random_text(rng_t *r, char *buf, size_t cap, int bytes)
{
    size_t len = 0, n = next(r) % (cap / 8);

    for (size_t i = 0; i < n && len + 16 < cap; i++) {
        if (bytes) {
            buf[len++] = (char)(1 + next(r) % 255);
            continue;
        }
        const char *t = tokens[next(r) % (sizeof tokens / sizeof *tokens)];
        size_t tl = strlen(t);
        memcpy(buf + len, t, tl);
        len += tl;
    }
    buf[len] = '\0';
}


static void
test_fuzz_tokens(void **state)
{
    (void)state;
    rng_t r = {0x9e3779b97f4a7c15ULL};
    char a[2048], b[2048], out[2048];
    long equal = 0;

    for (int i = 0; i < 8000; i++) {
        random_text(&r, a, sizeof a, i % 5 == 4);
        random_text(&r, b, sizeof b, i % 7 == 6);
        equal += grade_equal(a, b);
        equal += grade_equal(a, a);
        assert_true(grade_extract(a, out, sizeof out) >= -1);
        assert_true(grade_extract(b, out, 16) >= -1);
    }
    printf("fuzz: %ld equal verdicts over 16000 comparisons\n", equal);
}


static char *
repeat(const char *unit, size_t total)
{
    size_t ul = strlen(unit), n = total / ul;
    char *s = malloc(n * ul + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[n * ul] = '\0';
    return s;
}


static void
test_fuzz_large(void **state)
{
    (void)state;
    static const char *const units[] = {
        "{",  "}",   "(",       "\\frac{", "\\boxed{", "\\sqrt{", "^{",
        "1,", "-",   "\\left(", "12345",   "\\{",      "x",       "answer is ",
        "#",  "\\!", "\\text{", "$",       "9^",       "|",       "\\pm"};
    const size_t sizes[] = {100, 4000, 4096, 5000, 1 << 20};
    char out[4096];

    for (size_t u = 0; u < sizeof units / sizeof *units; u++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            char *s = repeat(units[u], sizes[k]);
            assert_true(grade_extract(s, out, sizeof out) >= -1);
            (void)grade_equal(s, s);
            (void)grade_equal(s, "1");
            (void)grade_equal("1", s);
            free(s);
        }
    /* a megabyte of random bytes */
    rng_t r = {12345};
    size_t big = 1 << 20;
    char *s = malloc(big + 1);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++)
        s[i] = (char)(1 + next(&r) % 255);
    s[big] = '\0';
    assert_true(grade_extract(s, out, sizeof out) >= -1);
    assert_int_equal(grade_equal(s, "5"), 0);
    assert_int_equal(grade_equal(s, s), 1); /* exact text */
    free(s);
    /* deep nesting just under and over the limits */
    for (size_t depth = 10; depth <= 2000; depth *= 10) {
        char *deep = malloc(depth * 8 + 8);
        assert_non_null(deep);
        size_t len = 0;
        for (size_t i = 0; i < depth; i++)
            deep[len++] = '(';
        deep[len++] = '1';
        for (size_t i = 0; i < depth; i++)
            deep[len++] = ')';
        deep[len] = '\0';
        (void)grade_equal(deep, "1");
        len = 0;
        for (size_t i = 0; i < depth; i++) {
            memcpy(deep + len, "\\sqrt{", 6);
            len += 6;
        }
        deep[len++] = '1';
        for (size_t i = 0; i < depth; i++)
            deep[len++] = '}';
        deep[len] = '\0';
        (void)grade_equal(deep, "1");
        free(deep);
    }
    assert_int_equal(grade_equal("((((1))))", "1"), 1);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_reflexive),
        cmocka_unit_test(test_extract),
        cmocka_unit_test(test_extract_steps),
        cmocka_unit_test(test_boxed_roundtrip),
        cmocka_unit_test(test_fuzz_tokens),
        cmocka_unit_test(test_fuzz_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

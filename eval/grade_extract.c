/*
** grade_extract.c: the final answer of a solution (see grade.h).
**
** Each rule scans the text once from the end or from the start, so a
** megabyte of text costs linear time whatever it holds.
*/
#include <string.h>

#include "grade_internal.h"

static const char *const box_names[] = {"boxed", "fbox", "framebox"};


/* Copy s[0..n) into out, trimmed of spaces, '*', a leading ':' and trailing
** '.'.  1 if something is left, 0 if nothing, -1 if it does not fit. */
static int
put_answer(const char *s, size_t n, char *out, size_t outlen)
{
    size_t a = 0, b = n;

    while (a < b && (gr_is_space(s[a]) || s[a] == '*' || s[a] == ':'))
        a++;
    while (b > a &&
           (gr_is_space(s[b - 1]) || s[b - 1] == '*' || s[b - 1] == '.'))
        b--;
    out[0] = '\0';
    if (a == b)
        return 0;
    if (b - a + 1 > outlen)
        return -1;
    memcpy(out, s + a, b - a);
    out[b - a] = '\0';
    return 1;
}


/* Length of the box macro name starting at s[i] (after '\'), 0 if none. */
static size_t
box_at(const char *s, size_t n, size_t i)
{
    for (size_t k = 0; k < sizeof box_names / sizeof *box_names; k++) {
        size_t len = strlen(box_names[k]);
        if (i + len <= n && memcmp(s + i, box_names[k], len) == 0 &&
            (i + len == n || !gr_is_alpha(s[i + len])))
            return len;
    }
    return 0;
}


/* Rule 1 on s[0..n): the last non-empty box. */
static int
rule_boxed(const char *s, size_t n, char *out, size_t outlen)
{
    for (size_t i = n; i-- > 0;) {
        size_t len, j, end;
        if (s[i] != '\\' || (len = box_at(s, n, i + 1)) == 0)
            continue;
        j = i + 1 + len;
        while (j < n && gr_is_space(s[j]))
            j++;
        if (j < n && s[j] == '[') { /* \framebox[width]{...} */
            while (j < n && s[j] != ']')
                j++;
            j = j < n ? j + 1 : n;
        }
        if (j < n && s[j] == '{') {
            end = gr_match_brace(s, n, j);
            j++;
        } else { /* "\boxed 5$": up to a '$' or the end of the line */
            end = j;
            while (end < n && s[end] != '$' && s[end] != '\n')
                end++;
        }
        int rc = put_answer(s + j, end - j, out, outlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}


static int
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}


/* 1 if s[i..) starts with phrase (lowercase), ignoring case. */
static int
starts_ci(const char *s, size_t n, size_t i, const char *phrase)
{
    for (size_t k = 0; phrase[k]; k++)
        if (i + k >= n || lower(s[i + k]) != phrase[k])
            return 0;
    return 1;
}


/* Index just after the last "answer is" / "answer:" in s[0..n) that has
** something after it, or n. */
static size_t
after_phrase(const char *s, size_t n)
{
    static const char *const phrases[] = {"answer is", "answer:"};

    for (size_t i = n; i-- > 0;)
        for (size_t k = 0; k < 2; k++)
            if (starts_ci(s, n, i, phrases[k]) && i + strlen(phrases[k]) < n)
                return i + strlen(phrases[k]);
    return n;
}


/* The answer after a phrase, from s[*j]: "$X$" (or "$$X$$"), "\(X\)",
** "\[X\]", or up to the end of the line or of the sentence.  Moves *j to
** where it starts and returns where it ends. */
static size_t
phrase_answer(const char *s, size_t n, size_t *j)
{
    size_t end;

    if (*j < n && s[*j] == '$') {
        while (*j < n && s[*j] == '$')
            ++*j;
        for (end = *j; end < n && s[end] != '$';)
            end++;
    } else if (*j + 1 < n && s[*j] == '\\' &&
               (s[*j + 1] == '(' || s[*j + 1] == '[')) {
        char close = s[*j + 1] == '(' ? ')' : ']';
        *j += 2;
        for (end = *j; end + 1 < n && !(s[end] == '\\' && s[end + 1] == close);)
            end++;
        if (end + 1 >= n)
            end = n;
    } else {
        end = *j;
        while (end < n && s[end] != '\n' &&
               !(s[end] == '.' && (end + 1 == n || gr_is_space(s[end + 1]))))
            end++;
    }
    return end;
}


/* Rule 2 on s[0..n): what follows the last "answer is" / "answer:". */
static int
rule_phrase(const char *s, size_t n, char *out, size_t outlen)
{
    size_t j = after_phrase(s, n), end;

    if (j == n)
        return 0;
    while (j < n && (gr_is_space(s[j]) || s[j] == ':' || s[j] == '*'))
        j++;
    end = phrase_answer(s, n, &j);
    return put_answer(s + j, end - j, out, outlen);
}


/* Rule 3 on s[0..n): the line after the last "####". */
static int
rule_hash(const char *s, size_t n, char *out, size_t outlen)
{
    for (size_t i = n; i-- > 0;) {
        if (i + 4 > n || memcmp(s + i, "####", 4) != 0)
            continue;
        size_t j = i + 4, end = j;
        while (end < n && s[end] != '\n')
            end++;
        return put_answer(s + j, end - j, out, outlen);
    }
    return 0;
}


/* The index after the digits from s[j]. */
static size_t
skip_digits(const char *s, size_t n, size_t j)
{
    while (j < n && gr_is_digit(s[j]))
        j++;
    return j;
}


/* 1 if a number starts at s[i]: a digit, or a '.' before one. */
static int
number_at(const char *s, size_t n, size_t i)
{
    return gr_is_digit(s[i]) ||
           (s[i] == '.' && i + 1 < n && gr_is_digit(s[i + 1]));
}


/* The end of the number that starts at s[i]: its digits, thousands groups
** (",ddd" not followed by another digit), decimals and a "/digits"
** denominator. */
static size_t
number_end(const char *s, size_t n, size_t i)
{
    size_t j = gr_skip_thousands(s, n, skip_digits(s, n, i));

    if (j + 1 < n && s[j] == '.' && gr_is_digit(s[j + 1]))
        j = skip_digits(s, n, j + 1);
    if (j + 1 < n && s[j] == '/' && gr_is_digit(s[j + 1]))
        j = skip_digits(s, n, j + 1);
    return j;
}


/* The start of the number at s[start] with its sign: a '-' before it that
** does not follow a letter, a digit or ')' (where it would subtract). */
static size_t
with_sign(const char *s, size_t start)
{
    if (start > 0 && s[start - 1] == '-' &&
        (start == 1 || !(gr_is_alpha(s[start - 2]) ||
                         gr_is_digit(s[start - 2]) || s[start - 2] == ')')))
        return start - 1;
    return start;
}


/* Rule 4 on s[0..n): the last number, with its sign, thousands separators
** dropped and a "/digits" denominator kept. */
static int
rule_number(const char *s, size_t n, char *out, size_t outlen)
{
    size_t best = n, best_end = n, i = 0, len = 0;

    while (i < n) {
        if (!number_at(s, n, i)) {
            i++;
            continue;
        }
        best_end = number_end(s, n, i);
        best = with_sign(s, i);
        i = best_end;
    }
    if (best == n)
        return 0;
    out[0] = '\0';
    for (size_t k = best; k < best_end; k++) {
        if (s[k] == ',')
            continue;
        if (len + 1 >= outlen) {
            out[0] = '\0';
            return -1;
        }
        out[len++] = s[k];
    }
    out[len] = '\0';
    return 1;
}


typedef int (*rule_fn)(const char *s, size_t n, char *out, size_t outlen);

static const rule_fn rules[] = {rule_boxed, rule_phrase, rule_hash,
                                rule_number};


int
grade_extract_steps(const char *const *steps, size_t n, char *out,
                    size_t outlen)
{
    if (out == NULL || outlen == 0)
        return -1;
    out[0] = '\0';
    for (size_t r = 0; r < sizeof rules / sizeof *rules; r++) {
        for (size_t i = n; i-- > 0;) {
            if (steps == NULL || steps[i] == NULL)
                continue;
            int rc = rules[r](steps[i], strlen(steps[i]), out, outlen);
            if (rc < 0) {
                out[0] = '\0';
                return -1;
            }
            if (rc > 0)
                return (int)r + 1;
        }
    }
    return GRADE_NONE;
}


int
grade_extract(const char *solution, char *out, size_t outlen)
{
    return grade_extract_steps(&solution, 1, out, outlen);
}


const char *
grade_rule_name(int rule)
{
    switch (rule) {
    case GRADE_BOXED:
        return "boxed";
    case GRADE_PHRASE:
        return "phrase";
    case GRADE_HASH:
        return "####";
    case GRADE_NUMBER:
        return "number";
    default:
        return "none";
    }
}

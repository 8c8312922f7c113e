/*
** answer.c: \boxed{} extraction and normalised comparison (see answer.h).
*/
#include "answer.h"

#include <ctype.h>
#include <string.h>


int
answer_extract_boxed(const char *text, char *out, size_t outlen)
{
    const char *last = NULL, *p = text;
    const char *start, *q;
    int depth;
    size_t len;

    if (outlen == 0)
        return -1;
    out[0] = '\0';
    while ((p = strstr(p, "\\boxed{")) != NULL) {
        last = p;
        p += 7;
    }
    if (last == NULL)
        return 0;
    start = last + 7;
    depth = 1;
    for (q = start; *q; q++) {
        if (*q == '{')
            depth++;
        else if (*q == '}' && --depth == 0)
            break;
    }
    if (depth != 0)
        return 0;
    len = (size_t)(q - start);
    if (len + 1 > outlen)
        return -1;
    memcpy(out, start, len);
    out[len] = '\0';
    return 1;
}


/* Normalise into buf: drop spaces, '$' and thousands commas, a trailing
** ".0"/"." . */
static void
normalise(const char *s, char *buf, size_t buflen)
{
    size_t n = 0;

    for (; *s && n + 1 < buflen; s++) {
        if (isspace((unsigned char)*s) || *s == '$')
            continue;
        if (*s == ',' && n > 0 && isdigit((unsigned char)buf[n - 1]) &&
            isdigit((unsigned char)s[1]))
            continue;
        buf[n++] = *s;
    }
    buf[n] = '\0';
    if (n >= 2 && strcmp(buf + n - 2, ".0") == 0)
        buf[n -= 2] = '\0';
    if (n >= 1 && buf[n - 1] == '.')
        buf[--n] = '\0';
}


int
answer_equal(const char *a, const char *b)
{
    char na[256], nb[256];

    normalise(a, na, sizeof na);
    normalise(b, nb, sizeof nb);
    return na[0] != '\0' && strcmp(na, nb) == 0;
}

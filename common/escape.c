/*
** escape.c: control characters and stray bytes made visible (escape.h).
*/
#include "escape.h"

#include <stdlib.h>
#include <string.h>

#define ESC_MAX 6 /* longest a character prints: "\u202e" (UTF-8: 4) */


/*
** Bytes of the valid UTF-8 sequence of two to four bytes at s, or 0 when
** there is none: a stray continuation byte, an overlong form, a surrogate,
** a value past U+10FFFF (the well-formed table of Unicode §3.9).  s is
** NUL-terminated, and NUL is no continuation byte, so reading stops there.
*/
static size_t
utf8_len(const unsigned char *s)
{
    unsigned lo = 0x80, hi = 0xbf; /* the second byte's range */
    size_t n;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        lo = s[0] == 0xe0 ? 0xa0 : lo;
        hi = s[0] == 0xed ? 0x9f : hi;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        lo = s[0] == 0xf0 ? 0x90 : lo;
        hi = s[0] == 0xf4 ? 0x8f : hi;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}


/*
** Whether code point u reorders or hides text around it on a terminal: the
** bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069), the
** directional marks (U+200E, U+200F, U+061C), the line and paragraph
** separators (U+2028, U+2029) and the byte order mark (U+FEFF).
*/
static int
is_format_control(unsigned long u)
{
    return (u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) ||
           u == 0x200e || u == 0x200f || u == 0x061c || u == 0x2028 ||
           u == 0x2029 || u == 0xfeff;
}


/*
** The character at s (not NUL) as it is printed, into out (ESC_MAX + 1
** bytes); *used gets how many bytes of s it took.  Returns its length.
*/
static size_t
esc_char(const unsigned char *s, size_t *used, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned long u = 0; /* the code point of a two- or three-byte form */
    size_t n;

    *used = 1;
    if (s[0] >= 0x20 && s[0] < 0x7f) {
        out[0] = (char)s[0];
        return 1;
    }
    if (s[0] == '\n' || s[0] == '\r' || s[0] == '\t') {
        out[0] = '\\';
        out[1] = s[0] == '\n' ? 'n' : s[0] == '\r' ? 'r' : 't';
        return 2;
    }
    n = s[0] < 0x80 ? 0 : utf8_len(s);
    if (n == 0) { /* C0, DEL, or a byte that is not UTF-8 */
        memcpy(out, "\\x", 2);
        out[2] = hex[s[0] >> 4];
        out[3] = hex[s[0] & 15];
        return 4;
    }
    *used = n;
    if (n == 2)
        u = (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu);
    else if (n == 3)
        u = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
    if ((u >= 0x80 && u <= 0x9f) || is_format_control(u)) { /* C1 too */
        memcpy(out, "\\u", 2);
        for (int i = 0; i < 4; i++)
            out[2 + i] = hex[(u >> (12 - 4 * i)) & 15];
        return 6;
    }
    memcpy(out, s, n);
    return n;
}


void
esc_fputs(const char *s, const char *newline, FILE *f)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    char buf[ESC_MAX + 1];
    size_t used, n;

    while (*p) {
        if (*p == '\n' && newline != NULL) {
            fputs(newline, f);
            p++;
            continue;
        }
        n = esc_char(p, &used, buf);
        fwrite(buf, 1, n, f);
        p += used;
    }
}


const char *
esc_str(char *out, size_t outlen, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    char buf[ESC_MAX + 1];
    size_t at = 0, used, n;
    size_t cut = 0; /* end of the last character that leaves room for "..." */

    while (*p) {
        n = esc_char(p, &used, buf);
        if (at + n >= outlen) {
            at = cut;
            if (at + 3 < outlen) {
                memcpy(out + at, "...", 3);
                at += 3;
            }
            break;
        }
        memcpy(out + at, buf, n);
        at += n;
        p += used;
        if (at + 3 < outlen)
            cut = at;
    }
    out[at] = '\0';
    return out;
}


char *
esc_utf8(const char *s, size_t n, size_t *outlen)
{
    char *copy = malloc(3 * n + 1);
    size_t out = 0;

    if (copy == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t len = *u < 0x80 ? (*u != '\0') : utf8_len(u);
        if (len == 0 || len > n - i) {
            memcpy(copy + out, "\xef\xbf\xbd", 3);
            out += 3;
            i++;
            continue;
        }
        memcpy(copy + out, s + i, len);
        out += len;
        i += len;
    }
    copy[out] = '\0';
    *outlen = out;
    return copy;
}

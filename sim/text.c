/*
** text.c: small text helpers of the simulator: a bounded output buffer,
** fixed-point values written and read back, error messages.
*/
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

/* Start an empty buffer over mem[0..cap); cap >= 1. */
void
sim_buf_init(sim_buf_t *b, char *mem, size_t cap)
{
    b->p = mem;
    b->len = 0;
    b->cap = cap;
    b->overflow = 0;
    mem[0] = '\0';
}

/* Append n bytes; what does not fit is dropped and overflow is set. */
void
sim_buf_put(sim_buf_t *b, const char *s, size_t n)
{
    size_t room = b->cap - 1 - b->len;
    if (n > room) {
        n = room;
        b->overflow = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Append a NUL-terminated string. */
void
sim_buf_puts(sim_buf_t *b, const char *s)
{
    sim_buf_put(b, s, strlen(s));
}

/* Append one character. */
void
sim_buf_putc(sim_buf_t *b, char c)
{
    sim_buf_put(b, &c, 1);
}

/* Append a decimal integer (no locale, no printf: this is on the hot path). */
void
sim_buf_int(sim_buf_t *b, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[sizeof tmp - 1 - n++] = '-';
    sim_buf_put(b, tmp + sizeof tmp - n, (size_t)n);
}

/*
** Append a value given in hundredths the way a person writes it: 24, 2.5,
** 0.25, -3.
*/
void
sim_buf_value(sim_buf_t *b, int64_t v)
{
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    unsigned frac = (unsigned)(u % SIM_ONE);
    if (v < 0)
        sim_buf_putc(b, '-');
    sim_buf_int(b, (int64_t)(u / SIM_ONE));
    if (frac) {
        sim_buf_putc(b, '.');
        sim_buf_putc(b, (char)('0' + frac / 10));
        if (frac % 10)
            sim_buf_putc(b, (char)('0' + frac % 10));
    }
}

/*
** Read a value at s (an optional '-', digits, optionally '.' and digits;
** decimals past the second are rounded) into *out in hundredths.  Returns the
** first byte after it, or NULL when s does not start with a number or the
** number is out of range.  end bounds the scan.
*/
const char *
sim_parse_value(const char *s, const char *end, int64_t *out)
{
    int neg = 0;
    int64_t whole = 0, frac = 0;
    if (s < end && *s == '-') {
        neg = 1;
        s++;
    }
    if (s >= end || *s < '0' || *s > '9')
        return NULL;
    while (s < end && *s >= '0' && *s <= '9') {
        whole = whole * 10 + (*s++ - '0');
        if (whole > SIM_VALUE_MAX / SIM_ONE)
            return NULL;
    }
    if (s + 1 < end && *s == '.' && s[1] >= '0' && s[1] <= '9') {
        int digits = 0, round_up = 0;
        s++;
        while (s < end && *s >= '0' && *s <= '9') {
            if (digits < 2)
                frac = frac * 10 + (*s - '0');
            else if (digits == 2)
                round_up = *s >= '5';
            digits++;
            s++;
        }
        if (digits == 1)
            frac *= 10;
        frac += round_up;
    }
    *out = whole * SIM_ONE + frac;
    if (neg)
        *out = -*out;
    return s;
}

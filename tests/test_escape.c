/*
** test_escape.c: control characters and stray bytes made visible.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"

/* Every kind a terminal acts on, between plain text and valid UTF-8. */
static const char hostile[] =
    "a\x1b[2Jb\a\rc\x01\x1f\x7f" /* ESC, BEL, CR, other C0, DEL */
    "\xc2\x9b"
    "31m\xc2\x85"                  /* C1: CSI and NEL in UTF-8 */
    "\x9b\xff\xc0\xaf\xed\xa0\x80" /* not UTF-8: stray, 0xff, overlong,
                                      surrogate */
    "\xe2\x88\x9a\xcf\x80 \xf0\x9f\x99\x82 \\frac{1}{2}"; /* kept */

static const char escaped[] =
    "a\\x1b[2Jb\\x07\\rc\\x01\\x1f\\x7f"
    "\\u009b31m\\u0085"
    "\\x9b\\xff\\xc0\\xaf\\xed\\xa0\\x80"
    "\xe2\x88\x9a\xcf\x80 \xf0\x9f\x99\x82 \\frac{1}{2}";


static void
test_escapes_controls_keeps_utf8(void **state)
{
    (void)state;
    char out[512];

    assert_string_equal(esc_str(out, sizeof out, hostile), escaped);
    assert_string_equal(esc_str(out, sizeof out, "x\ny\tz"), "x\\ny\\tz");
    assert_string_equal(esc_str(out, sizeof out, NULL), "");
    /* A sequence cut by the end of the string is not UTF-8 either. */
    assert_string_equal(esc_str(out, sizeof out, "ab\xe2\x88"), "ab\\xe2\\x88");
}


static void
test_cut_at_a_character(void **state)
{
    (void)state;
    char out[16];

    /* "\x1b" or a UTF-8 sequence is never split: the cut comes before. */
    assert_string_equal(esc_str(out, 12, "abcdefg\x1bxyz"), "abcdefg...");
    assert_string_equal(esc_str(out, 12, "abcdef\xcf\x80\xcf\x80xyz"),
                        "abcdef\xcf\x80...");
    assert_string_equal(esc_str(out, 12, "abcdefghijk"), "abcdefghijk");
    assert_string_equal(esc_str(out, 4, "abcdef"), "...");
    assert_string_equal(esc_str(out, 1, "abc"), "");
}


static void
test_stream_with_newline(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    esc_fputs("one\r\ntwo\x1b]0;title\a", "\n    ", f);
    esc_fputs("|", NULL, f);
    esc_fputs(hostile, NULL, f);
    esc_fputs("|\n", NULL, f);
    fclose(f);
    char want[1024];
    snprintf(want, sizeof want, "one\\r\n    two\\x1b]0;title\\x07|%s|\\n",
             escaped);
    assert_string_equal(buf, want);
    free(buf);
}


/* Bidi and other format controls reorder or hide text: each is escaped. */
static void
test_escapes_format_controls(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xe2\x80\xaa", "\\u202a"},
        {"\xe2\x80\xae", "\\u202e"},
        {"\xe2\x81\xa6", "\\u2066"},
        {"\xe2\x81\xa9", "\\u2069"},
        {"\xe2\x80\x8e", "\\u200e"},
        {"\xe2\x80\x8f", "\\u200f"},
        {"\xe2\x80\xa8", "\\u2028"},
        {"\xe2\x80\xa9", "\\u2029"},
        {"\xef\xbb\xbf", "\\ufeff"},
        {"\xd8\x9c", "\\u061c"},
        /* Their neighbours are ordinary text. */
        {"\xe2\x80\xa7", "\xe2\x80\xa7"},
        {"\xe2\x80\xaf", "\xe2\x80\xaf"},
        {"\xe2\x81\xa5", "\xe2\x81\xa5"},
        {"\xe2\x81\xaa", "\xe2\x81\xaa"},
        {"\xd8\x9b", "\xd8\x9b"},
    };
    char out[64], want[64];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(want, sizeof want, "a%sb", cases[i].out);
        char in[64];
        snprintf(in, sizeof in, "a%sb", cases[i].in);
        assert_string_equal(esc_str(out, sizeof out, in), want);
    }
    /* A "Trojan Source" line: the override cannot flip what is shown. */
    assert_string_equal(
        esc_str(out, sizeof out, "x = 1; \xe2\x80\xae// y\xe2\x81\xa6"),
        "x = 1; \\u202e// y\\u2066");
}


static void
test_stream_null(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    esc_fputs("<", NULL, f);
    esc_fputs(NULL, NULL, f);
    esc_fputs(">", NULL, f);
    fclose(f);
    assert_string_equal(buf, "<>");
    free(buf);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_controls_keeps_utf8),
        cmocka_unit_test(test_cut_at_a_character),
        cmocka_unit_test(test_stream_with_newline),
        cmocka_unit_test(test_escapes_format_controls),
        cmocka_unit_test(test_stream_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

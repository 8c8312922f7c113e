/*
** test_progress.c: the progress line of run, eval and train (progress.h),
** on a clock the test moves, written to a memory stream.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "progress.h"

typedef struct fixture {
    int64_t now; /* the clock, ms */
    char *text;
    size_t size;
    FILE *out;
} fixture_t;


static int64_t
fake_now(void *ctx)
{
    return ((fixture_t *)ctx)->now;
}


/* A progress line into f's memory stream, on f's clock. */
static progress_t *
open_progress(fixture_t *f, int tty, const char *label)
{
    memset(f, 0, sizeof *f);
    f->now = 1000000;
    f->out = open_memstream(&f->text, &f->size);
    assert_non_null(f->out);
    progress_opts_t o = {.out = f->out,
                         .tty = tty,
                         .label = label,
                         .unit = "problems",
                         .now_ms = fake_now,
                         .clock_ctx = f};
    progress_t *p = progress_new(&o);
    assert_non_null(p);
    return p;
}


/* What was written so far. */
static const char *
written(fixture_t *f)
{
    fflush(f->out);
    return f->text;
}


static void
close_fixture(fixture_t *f, progress_t **p)
{
    progress_destroy(p);
    assert_null(*p);
    fclose(f->out);
    free(f->text);
}


static void
update(progress_t *p, int64_t done, int64_t total, const char *detail)
{
    progress_state_t s = {
        .done = done, .total = total, .fraction = -1, .detail = detail};
    progress_update(p, &s);
}


static void
test_durations(void **state)
{
    (void)state;
    char b[32];

    assert_string_equal(progress_duration(b, sizeof b, 0), "0s");
    assert_string_equal(progress_duration(b, sizeof b, 42400), "42s");
    assert_string_equal(progress_duration(b, sizeof b, 59600), "1m00s");
    assert_string_equal(progress_duration(b, sizeof b, 185000), "3m05s");
    assert_string_equal(progress_duration(b, sizeof b, 7380000), "2h03m");
}


/* Not a terminal: a whole line every five seconds, not at every update. */
static void
test_log_lines_every_few_seconds(void **state)
{
    (void)state;
    fixture_t f;
    progress_t *p = open_progress(&f, 0, "trim run");

    update(p, 0, 500, NULL);
    f.now += 4999;
    update(p, 100, 500, "acc 0.700");
    assert_string_equal(written(&f), "");
    /* 100 problems in 5 s: 400 left take 20 s */
    f.now += 1;
    update(p, 100, 500, "acc 0.700");
    assert_string_equal(written(&f),
                        "trim run: 100/500 problems, ETA 20s; acc 0.700\n");
    f.now += 1000;
    update(p, 150, 500, NULL);
    assert_string_equal(written(&f),
                        "trim run: 100/500 problems, ETA 20s; acc 0.700\n");
    /* the next line five seconds after the last: 300 in 10 s, 200 left */
    f.now += 4000;
    update(p, 300, 500, NULL);
    assert_string_equal(written(&f) + strlen("trim run: 100/500 problems, "
                                             "ETA 20s; acc 0.700\n"),
                        "trim run: 300/500 problems, ETA 7s\n");
    /* the end is printed once lines were, and once */
    f.now += 1000;
    update(p, 500, 500, "acc 0.734");
    progress_end(p);
    progress_end(p);
    const char *end = "\ntrim run: 500/500 problems, done in 11s; acc 0.734\n";
    assert_non_null(strstr(written(&f), end));
    assert_string_equal(strstr(written(&f), end), end);
    close_fixture(&f, &p);
}


/* A short command in a log stays quiet: no line before the summary. */
static void
test_short_command_is_quiet(void **state)
{
    (void)state;
    fixture_t f;
    progress_t *p = open_progress(&f, 0, "trim run");

    update(p, 0, 10, NULL);
    f.now += 3000;
    update(p, 10, 10, NULL);
    progress_end(p);
    assert_string_equal(written(&f), "");
    close_fixture(&f, &p);
}


/* A terminal: one line redrawn in place at most five times a second, with
** a bar, ended by a newline. */
static void
test_terminal_redraws_one_line(void **state)
{
    (void)state;
    fixture_t f;
    progress_t *p = open_progress(&f, 1, "trim run");

    update(p, 0, 100, NULL);
    assert_string_equal(written(&f),
                        "\rtrim run: [........................] 0/100 "
                        "problems, ETA --\033[K");
    f.now += 100;
    update(p, 10, 100, NULL); /* too soon: not drawn */
    f.now += 1900;
    update(p, 50, 100, NULL);
    const char *second = strstr(written(&f), "\033[K\r");
    assert_non_null(second);
    assert_string_equal(second + 4,
                        "trim run: [############............] 50/100 "
                        "problems, ETA 2s\033[K");
    /* another line goes out: the drawn one is erased, then drawn again at
    ** once */
    progress_clear(p);
    assert_non_null(strstr(written(&f), "ETA 2s\033[K\r\033[K"));
    f.now += 1;
    update(p, 51, 100, NULL);
    assert_non_null(strstr(written(&f), "\r\033[K\rtrim run: "));
    progress_end(p);
    /* the last state drawn, then the one newline */
    const char *nl = strchr(written(&f), '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0');
    assert_non_null(strstr(written(&f), "51/100 problems, ETA 2s\033[K\n"));
    close_fixture(&f, &p);
}


/* train: a stage, the ETA from the whole command's fraction, measured
** from a mark, and "at most" when it may end sooner. */
static void
test_stage_fraction_and_mark(void **state)
{
    (void)state;
    fixture_t f;
    progress_t *p = open_progress(&f, 0, "trim train");
    progress_state_t s = {.stage = "choosing the start policy", .fraction = 0};

    progress_update(p, &s);
    f.now += 60000; /* the start took a minute: it does not count */
    progress_update(p, &s);
    progress_mark(p);
    s = (progress_state_t){.stage = "iteration 1 of 10, exploring",
                           .done = 1000,
                           .total = 2000,
                           .fraction = 0.05,
                           .eta_at_most = 1};
    f.now += 10000; /* 5% in 10 s: 95% in 190 s */
    progress_update(p, &s);
    const char *last = strrchr(written(&f), '\n');
    while (last > written(&f) && last[-1] != '\n')
        last--;
    assert_string_equal(last, "trim train: iteration 1 of 10, exploring: "
                              "1000/2000 problems, ETA at most 3m10s\n");
    assert_non_null(strstr(written(&f), "trim train: choosing the start "
                                        "policy: ETA --\n"));
    close_fixture(&f, &p);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_log_lines_every_few_seconds),
        cmocka_unit_test(test_short_command_is_quiet),
        cmocka_unit_test(test_terminal_redraws_one_line),
        cmocka_unit_test(test_stage_fraction_and_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
** test_flags.c: command-line flags and their TRIM_ environment twins.
**
** Every flag kind from the command line and from its variable, the
** command line winning; positional arguments and "--"; each bad value
** refused with a message naming the flag (or the variable) and the value;
** and the usage text with the twins and defaults.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flags.h"
#include "testutil.h"

/* The flags of an imaginary command "demo", one of each kind. */
typedef struct demo {
    const char *name;
    int64_t count;
    double ratio;
    int verbose;
    const char *empty; /* no default: usage prints none */
} demo_t;

#define N_FLAGS 5

static const char *const demo_vars[] = {
    "TRIM_NAME", "TRIM_MAX_COUNT", "TRIM_RATIO", "TRIM_VERBOSE", "TRIM_EMPTY"};


/* Each test starts with none of the demo flags' variables set. */
static int
clear_vars(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof demo_vars / sizeof *demo_vars; i++)
        unsetenv(demo_vars[i]);
    return 0;
}

static void
demo_flags(demo_t *d, flag_t f[N_FLAGS])
{
    d->name = "alpha";
    d->count = 3;
    d->ratio = 0.5;
    d->verbose = 0;
    d->empty = "";
    f[0] = (flag_t){"name", FLAG_STRING, &d->name, 0, 0, "a name"};
    f[1] = (flag_t){"max-count", FLAG_INT, &d->count, 1, 100, "how many"};
    f[2] = (flag_t){"ratio", FLAG_DOUBLE, &d->ratio, 0, 1, "a share"};
    f[3] = (flag_t){"verbose", FLAG_BOOL, &d->verbose, 0, 0, "say more"};
    f[4] = (flag_t){"empty", FLAG_STRING, &d->empty, 0, 0, "no default"};
}


/*
** Parse the NULL-terminated arguments (after the command) into *d, with
** stderr captured into err (the message a bad flag prints).  Positional
** arguments end up in pos[0..*npos-1].  Returns flags_parse's result.
*/
static int
parse(demo_t *d, char *err, size_t errlen, char **pos, int *npos, ...)
{
    char *argv[32];
    int argc = 0;
    flag_t f[N_FLAGS];
    va_list ap;
    test_redirect_t cap;

    demo_flags(d, f);
    argv[argc++] = "demo";
    va_start(ap, npos);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    *npos = -1;
    test_redirect_begin(&cap, 2);
    int rc = flags_parse("demo", f, N_FLAGS, argc, argv, npos);
    char *text = test_redirect_end(&cap);
    snprintf(err, errlen, "%s", text);
    free(text);
    for (int i = 0; rc == 0 && i < *npos; i++)
        pos[i] = argv[i + 1];
    return rc;
}


static void
test_every_kind_from_the_command_line(void **state)
{
    (void)state;
    demo_t d;
    char err[512], *pos[8];
    int npos;

    /* Defaults stand when nothing is given. */
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, (char *)NULL), 0);
    assert_string_equal(d.name, "alpha");
    assert_int_equal(d.count, 3);
    assert_true(d.ratio == 0.5);
    assert_int_equal(d.verbose, 0);
    assert_int_equal(npos, 0);

    /* "--flag value" and "--flag=value"; a bool alone is 1. */
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, "--name", "beta",
                           "--max-count=100", "--ratio", "0.25", "--verbose",
                           (char *)NULL),
                     0);
    assert_string_equal(d.name, "beta");
    assert_int_equal(d.count, 100);
    assert_true(d.ratio == 0.25);
    assert_int_equal(d.verbose, 1);
    assert_string_equal(err, "");

    /* Bool spellings, and the last occurrence of a flag wins. */
    static const char *const on[] = {"1", "true", "yes"};
    static const char *const off[] = {"0", "false", "no"};
    char arg[32];
    for (int i = 0; i < 3; i++) {
        snprintf(arg, sizeof arg, "--verbose=%s", on[i]);
        assert_int_equal(
            parse(&d, err, sizeof err, pos, &npos, arg, (char *)NULL), 0);
        assert_int_equal(d.verbose, 1);
        snprintf(arg, sizeof arg, "--verbose=%s", off[i]);
        assert_int_equal(parse(&d, err, sizeof err, pos, &npos, "--verbose",
                               arg, (char *)NULL),
                         0);
        assert_int_equal(d.verbose, 0);
    }

    /* A string may be empty, and may start with dashes after "=". */
    assert_int_equal(
        parse(&d, err, sizeof err, pos, &npos, "--name=", (char *)NULL), 0);
    assert_string_equal(d.name, "");
    assert_int_equal(
        parse(&d, err, sizeof err, pos, &npos, "--name", "--x", (char *)NULL),
        0);
    assert_string_equal(d.name, "--x");
}


static void
test_positional_arguments(void **state)
{
    (void)state;
    demo_t d;
    char err[512], *pos[8];
    int npos;

    /* Positional arguments keep their order around the flags; "-" and
    ** "-x" are positional; after "--" everything is. */
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, "one",
                           "--max-count", "7", "-", "-x", "two", "--",
                           "--ratio", "0.9", (char *)NULL),
                     0);
    assert_int_equal(d.count, 7);
    assert_true(d.ratio == 0.5); /* after "--": not a flag */
    assert_int_equal(npos, 6);
    const char *want[] = {"one", "-", "-x", "two", "--ratio", "0.9"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(pos[i], want[i]);
}


static void
test_environment_twins(void **state)
{
    (void)state;
    demo_t d;
    char err[512], *pos[8];
    int npos;

    /* The variable is TRIM_ and the name in capitals with '_' for '-'. */
    setenv("TRIM_MAX_COUNT", "42", 1);
    setenv("TRIM_RATIO", "0.75", 1);
    setenv("TRIM_VERBOSE", "yes", 1);
    setenv("TRIM_NAME", "from-env", 1);
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, (char *)NULL), 0);
    assert_int_equal(d.count, 42);
    assert_true(d.ratio == 0.75);
    assert_int_equal(d.verbose, 1);
    assert_string_equal(d.name, "from-env");

    /* The command line wins over the variable. */
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, "--max-count", "5",
                           "--verbose=no", (char *)NULL),
                     0);
    assert_int_equal(d.count, 5);
    assert_int_equal(d.verbose, 0);
    assert_true(d.ratio == 0.75);

    /* A bad variable is refused by its own name, even when the command
    ** line sets the flag too. */
    setenv("TRIM_MAX_COUNT", "lots", 1);
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, "--max-count", "5",
                           (char *)NULL),
                     -1);
    assert_string_equal(err, "trim demo: TRIM_MAX_COUNT expects an integer in "
                             "[1, 100], got 'lots'\n");
    setenv("TRIM_VERBOSE", "maybe", 1);
    unsetenv("TRIM_MAX_COUNT");
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, (char *)NULL), -1);
    assert_string_equal(
        err, "trim demo: TRIM_VERBOSE expects 1/0/true/false, got 'maybe'\n");
}


static void
test_bad_values_name_the_flag(void **state)
{
    (void)state;
    static const struct {
        const char *args[3];
        const char *message;
    } cases[] = {
        {{"--max-count", "0"},
         "trim demo: --max-count expects an integer in [1, 100], got '0'\n"},
        {{"--max-count=101"},
         "trim demo: --max-count expects an integer in [1, 100], got '101'\n"},
        {{"--max-count", "7x"},
         "trim demo: --max-count expects an integer in [1, 100], got '7x'\n"},
        {{"--max-count="},
         "trim demo: --max-count expects an integer in [1, 100], got ''\n"},
        {{"--max-count", "99999999999999999999"},
         "trim demo: --max-count expects an integer in [1, 100], got "
         "'99999999999999999999'\n"},
        {{"--ratio", "1.5"},
         "trim demo: --ratio expects a number in [0, 1], got '1.5'\n"},
        {{"--ratio", "nan"},
         "trim demo: --ratio expects a number in [0, 1], got 'nan'\n"},
        {{"--ratio", "inf"},
         "trim demo: --ratio expects a number in [0, 1], got 'inf'\n"},
        {{"--ratio", "half"},
         "trim demo: --ratio expects a number in [0, 1], got 'half'\n"},
        {{"--verbose=2"},
         "trim demo: --verbose expects 1/0/true/false, got '2'\n"},
        {{"--max-count"}, "trim demo: --max-count needs a value\n"},
        {{"--ratio"}, "trim demo: --ratio needs a value\n"},
        {{"--bogus", "1"},
         "trim demo: unknown flag --bogus (see 'trim demo --help')\n"},
        {{"--name-x=1"},
         "trim demo: unknown flag --name-x (see 'trim demo --help')\n"},
        {{"--nam"}, "trim demo: unknown flag --nam (see 'trim demo --help')\n"},
    };
    demo_t d;
    char err[512], *pos[8];
    int npos;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = parse(&d, err, sizeof err, pos, &npos, cases[i].args[0],
                       cases[i].args[1], cases[i].args[2], (char *)NULL);
        if (rc != -1 || strcmp(err, cases[i].message) != 0)
            fail_msg("%s %s: rc %d, message '%s', want '%s'", cases[i].args[0],
                     cases[i].args[1] ? cases[i].args[1] : "", rc, err,
                     cases[i].message);
    }
    /* A bad value leaves the defaults of the flags before it alone. */
    assert_int_equal(d.count, 3);
}


static void
test_help(void **state)
{
    (void)state;
    demo_t d;
    char err[512], *pos[8];
    int npos;

    /* --help wins wherever it is, even after a flag with a value... */
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, "--name", "x",
                           "--help", (char *)NULL),
                     1);
    /* ...but not once a bad flag has been refused, nor after "--". */
    assert_int_equal(parse(&d, err, sizeof err, pos, &npos, "--ratio=2",
                           "--help", (char *)NULL),
                     -1);
    assert_int_equal(
        parse(&d, err, sizeof err, pos, &npos, "--", "--help", (char *)NULL),
        0);
    assert_int_equal(npos, 1);
    assert_string_equal(pos[0], "--help");
}


static void
test_usage_text(void **state)
{
    (void)state;
    demo_t d;
    flag_t f[N_FLAGS];
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    assert_non_null(out);
    demo_flags(&d, f);
    d.count = 9; /* usage shows the current value as the default */
    flags_usage(out, "demo", "[FLAGS] FILE", "Does nothing useful.", f,
                N_FLAGS);
    fclose(out);
    assert_string_equal(
        text,
        "usage: trim demo [FLAGS] FILE\n"
        "\n"
        "Does nothing useful.\n"
        "\n"
        "flags (each also read from the variable shown):\n"
        "  --name X                 a name (default alpha)  [TRIM_NAME]\n"
        "  --max-count X            how many (default 9)  [TRIM_MAX_COUNT]\n"
        "  --ratio X                a share (default 0.5)  [TRIM_RATIO]\n"
        "  --verbose                say more  [TRIM_VERBOSE]\n"
        "  --empty X                no default  [TRIM_EMPTY]\n");
    free(text);

    /* A command without flags prints no flag section. */
    text = NULL;
    out = open_memstream(&text, &len);
    assert_non_null(out);
    flags_usage(out, "none", "", "Nothing.", NULL, 0);
    fclose(out);
    assert_string_equal(text, "usage: trim none \n\nNothing.\n");
    free(text);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_kind_from_the_command_line,
                               clear_vars),
        cmocka_unit_test_setup(test_positional_arguments, clear_vars),
        cmocka_unit_test_setup(test_environment_twins, clear_vars),
        cmocka_unit_test_setup(test_bad_values_name_the_flag, clear_vars),
        cmocka_unit_test_setup(test_help, clear_vars),
        cmocka_unit_test_setup(test_usage_text, clear_vars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

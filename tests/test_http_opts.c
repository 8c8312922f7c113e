/*
** test_http_opts.c: the HTTP backends' settings, the API key and URLs.
**
** The settings check names what is wrong; the key is read from a file's
** first line or a variable, blanks around it trimmed, and an empty source
** refused by its name (never printing the key); base URLs lose a trailing
** "/" and "/v1" before the endpoint is appended.  The deadline a worker
** states adds up every attempt, backoff and cooldown.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_opts.h"
#include "testutil.h"

#define KEY_VAR "TRIM_TEST_HTTP_OPTS_KEY"


static void
test_check_names_the_fault(void **state)
{
    (void)state;
    http_backend_opts_t o;
    char err[256];

    http_opts_default(&o);
    assert_int_equal(http_opts_check(&o, err, sizeof err), -1);
    assert_string_equal(err, "no base URL (--base-url http://host:port)");
    o.base_url = "https://h:1/v1";
    assert_int_equal(http_opts_check(&o, err, sizeof err), 0);
    o.base_url = "http://h:1/a b";
    assert_int_equal(http_opts_check(&o, err, sizeof err), -1);
    assert_string_equal(err, "base URL 'http://h:1/a b' contains white space");
    o.base_url = "http://h:1";
    o.api_key_env = KEY_VAR;
    o.api_key_file = "/tmp/key";
    assert_int_equal(http_opts_check(&o, err, sizeof err), -1);
    assert_string_equal(err,
                        "give the API key by variable or by file, not both");
    o.api_key_file = NULL;
    o.request_timeout_ms = 0;
    assert_int_equal(http_opts_check(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "HTTP settings out of range"));
}


/* The key o names (malloc'd), or NULL with the reason in err. */
static char *
key_of(const http_backend_opts_t *o, char *err, size_t errlen)
{
    char *key = NULL;
    err[0] = '\0';
    int rc = http_key_load(o, &key, err, errlen);
    assert_int_equal(rc, key || err[0] == '\0' ? 0 : -1);
    return key;
}


static void
test_api_key_sources(void **state)
{
    (void)state;
    http_backend_opts_t o;
    char err[256], path[64], want[256], *key;

    http_opts_default(&o);
    assert_null(key_of(&o, err, sizeof err)); /* no source: no key */

    /* A file: its first line, blanks and line ending trimmed. */
    snprintf(path, sizeof path, "/tmp/trim-test-key-%d", (int)getpid());
    o.api_key_file = path;
    test_write_file(path, " \tsk-secret \r\nsecond\n");
    key = key_of(&o, err, sizeof err);
    assert_string_equal(key, "sk-secret");
    http_key_destroy(&key);
    assert_null(key);
    http_key_destroy(&key); /* NULL-safe */
    test_write_file(path, "");
    assert_null(key_of(&o, err, sizeof err));
    snprintf(want, sizeof want, "API key file %s is empty", path);
    assert_string_equal(err, want);
    test_write_file(path, "  \nsk-secret\n");
    assert_null(key_of(&o, err, sizeof err));
    snprintf(want, sizeof want, "API key file %s: the first line is empty",
             path);
    assert_string_equal(err, want);
    unlink(path);

    /* A variable: trimmed too; blank is refused by the variable's name. */
    o.api_key_file = NULL;
    o.api_key_env = KEY_VAR;
    setenv(KEY_VAR, " sk-env\t", 1);
    key = key_of(&o, err, sizeof err);
    assert_string_equal(key, "sk-env");
    http_key_destroy(&key);
    setenv(KEY_VAR, " \t ", 1);
    assert_null(key_of(&o, err, sizeof err));
    assert_string_equal(err, "API key variable " KEY_VAR " is blank");
    unsetenv(KEY_VAR);
}


static void
test_url_join_and_copy(void **state)
{
    (void)state;
    static const char *const bases[] = {"http://h:8000", "http://h:8000/",
                                        "http://h:8000/v1", "http://h:8000/v1/",
                                        "http://h:8000//"};
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
        char *u = http_url_join(bases[i], "/pooling");
        assert_string_equal(u, "http://h:8000/pooling");
        free(u);
    }

    /* A copy owns every string: the original may go. */
    http_backend_opts_t o, c;
    char url[] = "http://h:1", model[] = "m";
    http_opts_default(&o);
    o.base_url = url;
    o.model = model;
    assert_int_equal(http_opts_copy(&c, &o), 0);
    url[0] = model[0] = 'x';
    assert_string_equal(c.base_url, "http://h:1");
    assert_string_equal(c.model, "m");
    assert_null(c.api_key_file);
    http_opts_clear(&c);
    http_opts_clear(NULL);
}


static void
test_deadline_adds_up_every_attempt(void **state)
{
    (void)state;
    http_backend_opts_t o;

    http_opts_default(&o);
    o.request_timeout_ms = 1000;
    o.retries = 3;
    o.backoff_ms = 100;
    o.backoff_max_ms = 300;
    o.cooldown_after = 0;
    /* 4 attempts; backoffs 100, 200, then capped at 300. */
    assert_int_equal(http_opts_deadline_ms(&o), 4 * 1000 + 100 + 200 + 300);
    o.cooldown_after = 5;
    o.cooldown_ms = 50;
    assert_int_equal(http_opts_deadline_ms(&o), 4 * 1050 + 100 + 200 + 300);
    o.retries = 0;
    assert_int_equal(http_opts_deadline_ms(&o), 1050);
    o.request_timeout_ms = 86400000; /* a day per attempt, 100 retries */
    o.retries = 100;
    assert_int_equal(http_opts_deadline_ms(&o), UINT32_MAX);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_names_the_fault),
        cmocka_unit_test(test_api_key_sources),
        cmocka_unit_test(test_url_join_and_copy),
        cmocka_unit_test(test_deadline_adds_up_every_attempt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

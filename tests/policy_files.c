/*
** policy_files.c: helpers for the tests of the learned policies' files
** (see policy_files.h).
*/
#include "policy_files.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg.h"
#include "policy.h"


char *
pfile_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}


void
pfile_write(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}


void
pfile_write_resealed(const char *path, const char *text)
{
    const char *tail = strstr(text, "\nchecksum ");
    char line[64];

    assert_non_null(tail);
    size_t content = (size_t)(tail - text) + 1;
    snprintf(line, sizeof line, "checksum %016llx\n",
             (unsigned long long)agg_file_checksum(text, content));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, content, f), content);
    fputs(line, f);
    fclose(f);
}


char *
pfile_replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);

    if (at == NULL)
        fail_msg("'%s' not in the file", from);
    char *out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
    assert_non_null(out);
    memcpy(out, text, (size_t)(at - text));
    strcpy(out + (at - text), to);
    strcat(out, at + strlen(from));
    return out;
}


void
pfile_assert_rejected(int (*load)(const char *path, char *err, size_t errlen),
                      const char *kind, const char *path, const char *want)
{
    char err[512], spec[300];

    err[0] = '\0';
    assert_int_equal(load(path, err, sizeof err), -1);
    if (strstr(err, want) == NULL || strstr(err, path) == NULL)
        fail_msg("loading %s: wanted '%s' in: %s", path, want, err);
    snprintf(spec, sizeof spec, "%s:%s", kind, path);
    assert_null(policy_new(spec, NULL, err, sizeof err));
    assert_non_null(strstr(err, want));
}

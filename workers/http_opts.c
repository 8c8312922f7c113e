/*
** http_opts.c: defaults, checks and the API key of the HTTP backends (see
** http_opts.h).
*/
#include "http_opts.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"


void
http_opts_default(http_backend_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->template_kind = TPL_CHATML;
    o->connect_timeout_ms = 5000;
    o->request_timeout_ms = 300000;
    o->max_response_bytes = 4u << 20;
    o->retries = 3;
    o->backoff_ms = 500;
    o->backoff_max_ms = 20000;
    o->cooldown_after = 5;
    o->cooldown_ms = 5000;
    o->prm_input = HTTP_PRM_TEXT;
}


static int
is_set(const char *s)
{
    return s != NULL && *s != '\0';
}


uint32_t
http_opts_deadline_ms(const http_backend_opts_t *o)
{
    long long ms = 0, backoff = o->backoff_ms;
    long cooldown = o->cooldown_after > 0 ? o->cooldown_ms : 0;

    for (int i = 0; i <= o->retries && ms < UINT32_MAX; i++) {
        if (i > 0) {
            ms += backoff < o->backoff_max_ms ? backoff : o->backoff_max_ms;
            if (backoff < o->backoff_max_ms)
                backoff *= 2;
        }
        ms += o->request_timeout_ms + cooldown;
    }
    return ms < UINT32_MAX ? (uint32_t)ms : UINT32_MAX;
}


int
http_opts_check(const http_backend_opts_t *o, char *err, size_t errlen)
{
    const char *u = o->base_url;

    if (!is_set(u))
        return errf(err, errlen, "no base URL (--base-url http://host:port)");
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return errf(err, errlen,
                    "base URL '%s' must start with http:// or https://", u);
    if (strchr(u, ' ') != NULL || strchr(u, '\n') != NULL)
        return errf(err, errlen, "base URL '%s' contains white space", u);
    if (is_set(o->api_key_env) && is_set(o->api_key_file))
        return errf(err, errlen,
                    "give the API key by variable or by file, not both");
    if (o->connect_timeout_ms <= 0 || o->request_timeout_ms <= 0 ||
        o->max_response_bytes == 0 || o->retries < 0 || o->backoff_ms < 0 ||
        o->backoff_max_ms < o->backoff_ms || o->cooldown_after < 0 ||
        o->cooldown_ms < 0 || o->low_speed_bytes < 0 || o->low_speed_s < 0 ||
        o->max_tokens < 0 || o->truncate_tokens < 0)
        return errf(err, errlen,
                    "HTTP settings out of range (timeouts and the response "
                    "cap must be positive, the backoff cap at least the "
                    "backoff)");
    return 0;
}


/* Trim the line ending and surrounding blanks off a key, in place. */
static char *
trim_key(char *s)
{
    size_t n;

    s[strcspn(s, "\r\n")] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}


static char *
key_from_file(const char *path, char *err, size_t errlen)
{
    char line[4096], *key = NULL;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        errf(err, errlen, "API key file %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fgets(line, sizeof line, f) == NULL) {
        errf(err, errlen, "API key file %s is empty", path);
    } else {
        const char *k = trim_key(line);
        if (*k == '\0')
            errf(err, errlen, "API key file %s: the first line is empty", path);
        else if ((key = strdup(k)) == NULL)
            errf(err, errlen, "out of memory");
    }
    memset(line, 0, sizeof line);
    fclose(f);
    return key;
}


int
http_key_load(const http_backend_opts_t *o, char **key, char *err,
              size_t errlen)
{
    *key = NULL;
    if (is_set(o->api_key_file)) {
        *key = key_from_file(o->api_key_file, err, errlen);
        return *key ? 0 : -1;
    }
    if (!is_set(o->api_key_env))
        return 0;
    const char *v = getenv(o->api_key_env);
    char *copy = v ? strdup(v) : NULL;
    if (v == NULL || *v == '\0') {
        errf(err, errlen, "API key variable %s is not set", o->api_key_env);
        free(copy);
        return -1;
    }
    if (copy == NULL)
        return errf(err, errlen, "out of memory");
    const char *k = trim_key(copy);
    if (*k == '\0' || (*key = strdup(k)) == NULL)
        errf(err, errlen, "API key variable %s %s", o->api_key_env,
             *k == '\0' ? "is blank" : "cannot be copied (out of memory)");
    explicit_bzero(copy, strlen(copy));
    free(copy);
    return *key ? 0 : -1;
}


void
http_key_destroy(char **key)
{
    if (key && *key) {
        explicit_bzero(*key, strlen(*key));
        free(*key);
        *key = NULL;
    }
}


char *
http_url_join(const char *base, const char *path)
{
    size_t n = strlen(base);
    char *url;

    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n >= 3 && memcmp(base + n - 3, "/v1", 3) == 0)
        n -= 3;
    while (n > 0 && base[n - 1] == '/')
        n--;
    url = malloc(n + strlen(path) + 1);
    if (url == NULL)
        return NULL;
    memcpy(url, base, n);
    strcpy(url + n, path);
    return url;
}


/* Duplicate *s in place (NULL stays NULL); returns -1 on failure. */
static int
dup_field(const char **s)
{
    if (*s == NULL)
        return 0;
    *s = strdup(*s);
    return *s ? 0 : -1;
}


/* The string fields a copy owns, by offset. */
static const size_t s_owned[] = {
    offsetof(http_backend_opts_t, base_url),
    offsetof(http_backend_opts_t, model),
    offsetof(http_backend_opts_t, system_prompt),
    offsetof(http_backend_opts_t, instruction),
    offsetof(http_backend_opts_t, api_key_env),
    offsetof(http_backend_opts_t, api_key_file),
    offsetof(http_backend_opts_t, pooling_task),
};
#define N_OWNED (sizeof s_owned / sizeof *s_owned)


/* The i-th owned string field of o. */
static const char **
owned(http_backend_opts_t *o, size_t i)
{
    return (const char **)((char *)o + s_owned[i]);
}


int
http_opts_copy(http_backend_opts_t *dst, const http_backend_opts_t *src)
{
    size_t i;

    *dst = *src;
    for (i = 0; i < N_OWNED; i++)
        if (dup_field(owned(dst, i)) < 0)
            goto fail;
    return 0;
fail:
    while (i-- > 0)
        free((char *)*owned(dst, i));
    memset(dst, 0, sizeof *dst);
    return -1;
}


void
http_opts_clear(http_backend_opts_t *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < N_OWNED; i++)
        free((char *)*owned(o, i));
    memset(o, 0, sizeof *o);
}

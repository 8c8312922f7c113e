/*
** flags.c: flags with TRIM_ environment twins (see flags.h).
*/
#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


/* "heartbeat-ms" -> "TRIM_HEARTBEAT_MS" */
static void
env_name(const char *flag, char *out, size_t outlen)
{
    size_t k = (size_t)snprintf(out, outlen, "TRIM_");
    for (; *flag && k + 1 < outlen; flag++)
        out[k++] = *flag == '-' ? '_' : (char)toupper((unsigned char)*flag);
    out[k] = '\0';
}


/*
** Parse text as the flag's number (an int64 or a finite double) within
** [min, max] and store it; where names the source for errors.
*/
static int
set_number(const char *cmd, const flag_t *f, const char *text,
           const char *where)
{
    int is_int = f->type == FLAG_INT, bad;
    long long i = 0;
    double v;
    char *end;

    errno = 0;
    if (is_int) {
        i = strtoll(text, &end, 10);
        v = (double)i;
        bad = errno != 0; /* beyond int64 */
    } else {
        v = strtod(text, &end);
        bad = !isfinite(v);
    }
    if (bad || *text == '\0' || *end != '\0' || v < f->min || v > f->max) {
        if (is_int)
            fprintf(stderr,
                    "trim %s: %s expects an integer in [%.0f, %.0f], got "
                    "'%s'\n",
                    cmd, where, f->min, f->max, text);
        else
            fprintf(stderr,
                    "trim %s: %s expects a number in [%g, %g], got '%s'\n", cmd,
                    where, f->min, f->max, text);
        return -1;
    }
    if (is_int)
        *(int64_t *)f->value = i;
    else
        *(double *)f->value = v;
    return 0;
}


/* Store text into the flag; where names the source for errors. */
static int
set_value(const char *cmd, const flag_t *f, const char *text, const char *where)
{
    switch (f->type) {
    case FLAG_STRING:
        *(const char **)f->value = text;
        return 0;
    case FLAG_BOOL:
        if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0 ||
            strcmp(text, "yes") == 0) {
            *(int *)f->value = 1;
            return 0;
        }
        if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0 ||
            strcmp(text, "no") == 0) {
            *(int *)f->value = 0;
            return 0;
        }
        fprintf(stderr, "trim %s: %s expects 1/0/true/false, got '%s'\n", cmd,
                where, text);
        return -1;
    case FLAG_INT:
    case FLAG_DOUBLE:
        return set_number(cmd, f, text, where);
    }
    return -1;
}


static const flag_t *
find(const flag_t *flags, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(flags[i].name) == len &&
            strncmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}


int
flags_parse(const char *cmd, const flag_t *flags, size_t n, int argc,
            char **argv, int *n_positional)
{
    char var[128], where[160];
    int npos = 0, only_positional = 0;

    for (size_t i = 0; i < n; i++) {
        env_name(flags[i].name, var, sizeof var);
        const char *v = getenv(var);
        if (v != NULL && set_value(cmd, &flags[i], v, var) < 0)
            return -1;
    }
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_positional || strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (!only_positional && strcmp(a, "--") == 0) {
                only_positional = 1;
                continue;
            }
            argv[++npos] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (len == 4 && strncmp(name, "help", 4) == 0)
            return 1;
        const flag_t *f = find(flags, n, name, len);
        if (f == NULL) {
            fprintf(stderr,
                    "trim %s: unknown flag --%.*s (see 'trim %s "
                    "--help')\n",
                    cmd, (int)len, name, cmd);
            return -1;
        }
        snprintf(where, sizeof where, "--%s", f->name);
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL && f->type == FLAG_BOOL) {
            *(int *)f->value = 1;
            continue;
        }
        if (value == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "trim %s: %s needs a value\n", cmd, where);
                return -1;
            }
            value = argv[++i];
        }
        if (set_value(cmd, f, value, where) < 0)
            return -1;
    }
    *n_positional = npos;
    return 0;
}


void
flags_usage(FILE *f, const char *cmd, const char *synopsis,
            const char *description, const flag_t *flags, size_t n)
{
    char var[128], left[96];

    fprintf(f, "usage: trim %s %s\n\n%s\n", cmd, synopsis, description);
    if (n > 0)
        fprintf(f, "\nflags (each also read from the variable shown):\n");
    for (size_t i = 0; i < n; i++) {
        const flag_t *fl = &flags[i];
        env_name(fl->name, var, sizeof var);
        snprintf(left, sizeof left, "--%s%s", fl->name,
                 fl->type == FLAG_BOOL ? "" : " X");
        fprintf(f, "  %-24s %s", left, fl->help);
        switch (fl->type) {
        case FLAG_STRING:
            if (*(const char **)fl->value && **(const char **)fl->value)
                fprintf(f, " (default %s)", *(const char **)fl->value);
            break;
        case FLAG_INT:
            fprintf(f, " (default %" PRId64 ")", *(int64_t *)fl->value);
            break;
        case FLAG_DOUBLE:
            fprintf(f, " (default %g)", *(double *)fl->value);
            break;
        case FLAG_BOOL:
            break;
        }
        fprintf(f, "  [%s]\n", var);
    }
}

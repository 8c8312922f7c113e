/*
** reply.c: the console's replies, query arguments and rows as JSON (see
** console_internal.h).
*/
#include "console_internal.h"
#include "escape.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_JSON "application/json; charset=utf-8"

static const char s_oom[] = "{\"error\":{\"message\":\"out of memory\"}}";


void
con_reply_json(con_reply_t *out, unsigned status, json_t *doc)
{
    char *body =
        doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;

    json_decref(doc);
    out->type = TYPE_JSON;
    if (body == NULL) {
        out->status = 500;
        out->body = (char *)s_oom;
        out->len = sizeof s_oom - 1;
        out->body_static = 1;
        return;
    }
    out->status = status;
    out->body = body;
    out->len = strlen(body);
    out->body_static = 0;
}


void
con_reply_error(con_reply_t *out, unsigned status, const char *param,
                const char *fmt, ...)
{
    char message[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *e = json_object();
    json_object_set_new(e, "message", con_text(message, strlen(message)));
    if (param != NULL)
        json_object_set_new(e, "param", con_text(param, strlen(param)));
    con_reply_json(out, status, json_pack("{s:o}", "error", e));
}


void
con_reply_db_error(console_t *c, con_reply_t *out, const char *what)
{
    con_reply_error(out, 500, NULL, "%s: %s: %s", c->db_path, what,
                    sqlite3_errmsg(c->db));
}


int
con_args_check(const con_req_t *q, const char *const *names, con_reply_t *out)
{
    if (q->too_many) {
        con_reply_error(out, 400, NULL, "more than %d query arguments",
                        CON_MAX_ARGS);
        return -1;
    }
    for (size_t i = 0; i < q->n_args; i++) {
        const char *key = q->args[i].key;
        size_t k = 0;
        while (names[k] != NULL && strcmp(names[k], key) != 0)
            k++;
        if (names[k] == NULL) {
            con_reply_error(out, 400, key, "%.100s: unknown query argument",
                            key);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(q->args[j].key, key) == 0) {
                con_reply_error(out, 400, key, "%.100s: given twice", key);
                return -1;
            }
    }
    return 0;
}


const char *
con_arg(const con_req_t *q, const char *name)
{
    for (size_t i = 0; i < q->n_args; i++)
        if (strcmp(q->args[i].key, name) == 0)
            return q->args[i].value ? q->args[i].value : "";
    return NULL;
}


int
con_arg_int(const con_req_t *q, const char *name, int64_t min, int64_t max,
            int64_t def, int64_t *v, con_reply_t *out)
{
    const char *s = con_arg(q, name);
    char *end;
    long long x;

    if (s == NULL) {
        *v = def;
        return 0;
    }
    errno = 0;
    x = strtoll(s, &end, 10);
    /* Digits only (strtoll would take spaces and a '+' too). */
    if (strspn(s + (*s == '-'), "0123456789") != strlen(s + (*s == '-')) ||
        end == s || *end != '\0' || errno != 0 || x < min || x > max) {
        con_reply_error(out, 400, name,
                        "%s: '%.40s' is not an integer from %lld to %lld", name,
                        s, (long long)min, (long long)max);
        return -1;
    }
    *v = x;
    return 0;
}


int
con_arg_double(const con_req_t *q, const char *name, double min, double max,
               double def, double *v, con_reply_t *out)
{
    const char *s = con_arg(q, name);
    char *end;
    double x;

    if (s == NULL) {
        *v = def;
        return 0;
    }
    errno = 0;
    x = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(x) || x < min ||
        x > max) {
        con_reply_error(out, 400, name,
                        "%s: '%.40s' is not a number from %g to %g", name, s,
                        min, max);
        return -1;
    }
    *v = x;
    return 0;
}


int
con_arg_enum(const con_req_t *q, const char *name, const char *const *values,
             int def, int *v, con_reply_t *out)
{
    const char *s = con_arg(q, name);
    char list[256] = "";
    size_t used = 0;

    if (s == NULL) {
        *v = def;
        return 0;
    }
    for (int i = 0; values[i] != NULL; i++)
        if (strcmp(values[i], s) == 0) {
            *v = i;
            return 0;
        }
    for (int i = 0; values[i] != NULL && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i ? ", " : "", values[i]);
    con_reply_error(out, 400, name, "%s: '%.40s' is not one of %s", name, s,
                    list);
    return -1;
}


sqlite3_stmt *
con_stmt(console_t *c, con_query_t q, const char *sql, con_reply_t *out)
{
    if (c->st[q] == NULL &&
        sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->st[q],
                           NULL) != SQLITE_OK) {
        con_reply_db_error(c, out, "preparing a query");
        return NULL;
    }
    sqlite3_reset(c->st[q]);
    sqlite3_clear_bindings(c->st[q]);
    return c->st[q];
}


json_t *
con_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    char *copy;
    size_t len;

    if (j != NULL)
        return j;
    /* Not UTF-8 (a model's stray byte): each bad byte becomes U+FFFD. */
    if ((copy = esc_utf8(s, n, &len)) == NULL)
        return NULL;
    j = json_stringn(copy, len);
    free(copy);
    return j;
}


json_t *
con_row(sqlite3_stmt *st)
{
    json_t *row = json_object();
    int n = sqlite3_column_count(st);

    for (int i = 0; row != NULL && i < n; i++) {
        json_t *v;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER:
            v = json_integer(sqlite3_column_int64(st, i));
            break;
        case SQLITE_FLOAT: {
            double d = sqlite3_column_double(st, i);
            v = isfinite(d) ? json_real(d) : json_null();
            break;
        }
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const char *t = (const char *)sqlite3_column_text(st, i);
            v = con_text(t ? t : "", (size_t)sqlite3_column_bytes(st, i));
            break;
        }
        default:
            v = json_null();
        }
        if (v == NULL ||
            json_object_set_new(row, sqlite3_column_name(st, i), v) < 0) {
            json_decref(row);
            return NULL;
        }
    }
    return row;
}

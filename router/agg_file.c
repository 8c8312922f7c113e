/*
** agg_file.c: reading and writing TRIM-Agg policy files (format: agg.h).
**
** Loading checks, in order: the magic and version on the first line, the
** checksum line at the end against the bytes before it, then every field:
** lambda, the feature list, each network's layer sizes, and that it holds
** exactly that many finite parameters.  Each failure names the file and
** what is wrong, so a damaged or edited file is rejected, never half used.
*/
#include "agg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "hash.h"

#define AGG_FILE_MAX       (64u << 20)
#define AGG_CHECKSUM_SEED  0x7472696d61676731ULL /* "trimagg1" */
#define AGG_NUMBERS_A_LINE 8

typedef struct cursor {
    char *start; /* the content, NUL-terminated before the checksum line */
    char *p;
    const char *path;
    char *err;
    size_t errlen;
} cursor_t;


uint64_t
agg_file_checksum(const void *data, size_t len)
{
    return hash_bytes(AGG_CHECKSUM_SEED, data, len);
}


/* The 1-based line number of c->p. */
static int
line_of(const cursor_t *c)
{
    int line = 1;

    /* next_line cuts the lines it reads at their newline */
    for (const char *q = c->start; q < c->p; q++)
        line += *q == '\n' || *q == '\0';
    return line;
}


/* Read the whole file into a NUL-terminated buffer; NULL with err. */
static char *
slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL) {
        errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            if (cap > AGG_FILE_MAX + 4096u) {
                errf(err, errlen, "%s: larger than %u MiB, not a policy", path,
                     AGG_FILE_MAX >> 20);
                goto fail;
            }
            char *b = realloc(buf, cap + 1);
            if (b == NULL) {
                errf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = b;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        errf(err, errlen, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}


/* The next line's text (NUL-terminated in place), or NULL at the end. */
static char *
next_line(cursor_t *c)
{
    char *line = c->p;

    if (*line == '\0')
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl != NULL) {
        *nl = '\0';
        c->p = nl + 1;
    } else {
        c->p = line + strlen(line);
    }
    return line;
}


/* "name 5 64 64 2": the sizes after the name; 0 or -1 with err. */
static int
parse_sizes(cursor_t *c, const char *name, int outputs, int *n_layers,
            int size[MLP_MAX_LAYERS + 1])
{
    int line_no = line_of(c);
    char *line = next_line(c), *q, *end;
    size_t nlen = strlen(name);
    int n = 0;

    if (line == NULL || strncmp(line, name, nlen) != 0 || line[nlen] != ' ')
        return errf(c->err, c->errlen,
                    "%s: line %d: expected '%s' and its layer "
                    "sizes (truncated?)",
                    c->path, line_no, name);
    for (q = line + nlen;;) {
        while (*q == ' ')
            q++;
        if (*q == '\0')
            break;
        long v = strtol(q, &end, 10);
        if (end == q || (*end != ' ' && *end != '\0') || v < 1 ||
            v > MLP_MAX_WIDTH || n == MLP_MAX_LAYERS + 1)
            return errf(c->err, c->errlen,
                        "%s: line %d: bad %s layer sizes "
                        "(2 to %d sizes, each 1 to %d)",
                        c->path, line_no, name, MLP_MAX_LAYERS + 1,
                        MLP_MAX_WIDTH);
        size[n++] = (int)v;
        q = end;
    }
    if (n < 2)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s needs at least 2 layer "
                    "sizes",
                    c->path, line_no, name);
    if (size[0] != AGG_FEATURES)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s takes %d inputs; "
                    "TRIM-Agg has %d features (wrong layer sizes)",
                    c->path, line_no, name, size[0], AGG_FEATURES);
    if (size[n - 1] != outputs)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s has %d outputs, must "
                    "have %d (wrong layer sizes)",
                    c->path, line_no, name, size[n - 1], outputs);
    *n_layers = n - 1;
    return 0;
}


/* A network's sizes line and parameters; the network or NULL with err. */
static mlp_t *
parse_net(cursor_t *c, const char *name, int outputs)
{
    int n_layers = 0, size[MLP_MAX_LAYERS + 1];
    char why[128];
    mlp_t *m;

    if (parse_sizes(c, name, outputs, &n_layers, size) < 0)
        return NULL;
    m = mlp_new(n_layers, size, why, sizeof why);
    if (m == NULL) {
        errf(c->err, c->errlen, "%s: %s: %s", c->path, name, why);
        return NULL;
    }
    for (size_t i = 0; i < m->n_params; i++) {
        char *end;
        while (*c->p == ' ' || *c->p == '\n')
            c->p++;
        errno = 0;
        double v = strtod(c->p, &end);
        if (end == c->p) {
            errf(c->err, c->errlen,
                 "%s: line %d: %s has %zu of its %zu "
                 "parameters (truncated, or wrong layer sizes)",
                 c->path, line_of(c), name, i, m->n_params);
            goto fail;
        }
        if (!isfinite(v) || fabs(v) > 3.0e38) {
            errf(c->err, c->errlen,
                 "%s: line %d: %s parameter %zu is not "
                 "a finite number",
                 c->path, line_of(c), name, i);
            goto fail;
        }
        if (*end != ' ' && *end != '\n' && *end != '\0') {
            errf(c->err, c->errlen,
                 "%s: line %d: %s parameter %zu is not "
                 "a number",
                 c->path, line_of(c), name, i);
            goto fail;
        }
        m->params[i] = (float)v;
        c->p = end;
    }
    while (*c->p == ' ' || *c->p == '\n')
        c->p++;
    char *after;
    strtod(c->p, &after);
    if (after != c->p) {
        errf(c->err, c->errlen,
             "%s: line %d: %s has more parameters "
             "than its layer sizes call for",
             c->path, line_of(c), name);
        goto fail;
    }
    return m;
fail:
    mlp_destroy(&m);
    return NULL;
}


/* Check the checksum line and cut it off; 0 or -1 with err. */
static int
check_tail(char *buf, size_t len, const char *path, char *err, size_t errlen)
{
    static const char key[] = "\nchecksum ";
    char *tail = NULL, *q = buf, *end;

    while ((q = strstr(q, key)) != NULL)
        tail = q++;
    if (tail == NULL)
        return errf(err, errlen, "%s: no checksum line at the end (truncated?)",
                    path);
    char *hex = tail + sizeof key - 1;
    errno = 0;
    unsigned long long want = strtoull(hex, &end, 16);
    if (end - hex != 16 || errno != 0 || (*end != '\n' && *end != '\0') ||
        (*end == '\n' && end + 1 != buf + len) ||
        (*end == '\0' && end != buf + len))
        return errf(err, errlen,
                    "%s: bad checksum line (truncated, or data "
                    "after it)",
                    path);
    size_t content = (size_t)(tail - buf) + 1;
    if (agg_file_checksum(buf, content) != (uint64_t)want)
        return errf(err, errlen,
                    "%s: checksum mismatch (file damaged or edited)", path);
    buf[content] = '\0';
    return 0;
}


/* The first line: magic and version; 0 or -1 with err. */
static int
check_head(const char *buf, const char *path, char *err, size_t errlen)
{
    size_t n = strlen(AGG_MAGIC);
    char *end;

    if (strncmp(buf, AGG_MAGIC, n) != 0 || buf[n] != ' ')
        return errf(err, errlen,
                    "%s: not a TRIM-Agg policy file (bad magic; "
                    "expected '%s %d' on the first line)",
                    path, AGG_MAGIC, AGG_VERSION);
    long v = strtol(buf + n + 1, &end, 10);
    if (end == buf + n + 1 || *end != '\n')
        return errf(err, errlen, "%s: bad version on the first line", path);
    if (v != AGG_VERSION)
        return errf(err, errlen,
                    "%s: policy file version %ld; this build reads "
                    "version %d",
                    path, v, AGG_VERSION);
    return 0;
}


int
agg_model_load(const char *path, agg_model_t **out, char *err, size_t errlen)
{
    size_t len;
    char *buf = slurp(path, &len, err, errlen), *line, *end = NULL;
    char want[128];
    cursor_t c = {buf, buf, path, err, errlen};
    agg_model_t *m = NULL;
    int rc = -1;

    *out = NULL;
    if (buf == NULL)
        return -1;
    if (len == 0) {
        errf(err, errlen, "%s: empty file", path);
        goto done;
    }
    if (check_head(buf, path, err, errlen) < 0 ||
        check_tail(buf, len, path, err, errlen) < 0)
        goto done;
    next_line(&c); /* the magic, checked */
    if ((m = calloc(1, sizeof *m)) == NULL) {
        errf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    line = next_line(&c);
    if (line != NULL && strncmp(line, "lambda ", 7) == 0)
        m->lambda = strtod(line + 7, &end);
    if (line == NULL || strncmp(line, "lambda ", 7) != 0 || end == line + 7 ||
        *end != '\0' || !isfinite(m->lambda) || m->lambda < 0) {
        errf(err, errlen,
             "%s: line 2: expected 'lambda L' with a "
             "finite L >= 0",
             path);
        goto done;
    }
    line = next_line(&c);
    snprintf(want, sizeof want, "features %d %s", AGG_FEATURES,
             AGG_FEATURE_NAMES);
    if (line == NULL || strcmp(line, want) != 0) {
        errf(err, errlen,
             "%s: line 3: expected '%s' (a policy for "
             "other features, or damaged)",
             path, want);
        goto done;
    }
    if ((m->actor = parse_net(&c, "actor", 2)) == NULL ||
        (m->critic = parse_net(&c, "critic", 1)) == NULL)
        goto done;
    if (*c.p != '\0') {
        errf(err, errlen,
             "%s: line %d: unexpected text before the "
             "checksum",
             path, line_of(&c));
        goto done;
    }
    *out = m;
    m = NULL;
    rc = 0;
done:
    agg_model_destroy(&m);
    free(buf);
    return rc;
}


/* Append a network's sizes line and parameters. */
static int
write_net(FILE *f, const char *name, const mlp_t *m)
{
    fprintf(f, "%s", name);
    for (int l = 0; l <= m->n_layers; l++)
        fprintf(f, " %d", m->size[l]);
    fputc('\n', f);
    for (size_t i = 0; i < m->n_params; i++) {
        if (!isfinite(m->params[i]))
            return -1;
        fprintf(f, "%.9g%c", (double)m->params[i],
                (i + 1) % AGG_NUMBERS_A_LINE == 0 || i + 1 == m->n_params
                    ? '\n'
                    : ' ');
    }
    return 0;
}


int
agg_model_save(const agg_model_t *m, const char *path, char *err, size_t errlen)
{
    char *text = NULL, tmp[4096], line[64];
    size_t len = 0;
    FILE *f, *o = NULL;
    int fd = -1, rc = -1, bad, made = 0, n;

    f = open_memstream(&text, &len);
    if (f == NULL)
        return errf(err, errlen, "%s: out of memory", path);
    /* lambda in the shortest form that reads back exactly */
    char lam[32];
    snprintf(lam, sizeof lam, "%.15g", m->lambda);
    if (strtod(lam, NULL) != m->lambda)
        snprintf(lam, sizeof lam, "%.17g", m->lambda);
    fprintf(f, "%s %d\nlambda %s\nfeatures %d %s\n", AGG_MAGIC, AGG_VERSION,
            lam, AGG_FEATURES, AGG_FEATURE_NAMES);
    bad = write_net(f, "actor", m->actor) < 0 ||
          write_net(f, "critic", m->critic) < 0;
    if (fclose(f) != 0 || text == NULL) {
        errf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    if (bad) {
        errf(err, errlen,
             "%s: not written: the model has a parameter "
             "that is not finite",
             path);
        goto done;
    }
    n = snprintf(line, sizeof line, "checksum %016llx\n",
                 (unsigned long long)agg_file_checksum(text, len));
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= sizeof tmp) {
        errf(err, errlen, "%s: path too long", path);
        goto done;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        errf(err, errlen,
             "%s: cannot create a temporary file beside it: "
             "%s",
             path, strerror(errno));
        goto done;
    }
    made = 1;
    fchmod(fd, 0644); /* mkstemp's 0600 would hide the policy from others */
    if ((o = fdopen(fd, "wb")) == NULL) {
        errf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1; /* o owns it */
    int ok = fwrite(text, 1, len, o) == len &&
             fwrite(line, 1, (size_t)n, o) == (size_t)n && fflush(o) == 0 &&
             fsync(fileno(o)) == 0;
    int saved = errno;
    if (fclose(o) != 0 || !ok) {
        errf(err, errlen, "%s: write failed: %s", tmp, strerror(saved));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        errf(err, errlen, "%s: cannot rename %s into place: %s", path, tmp,
             strerror(errno));
        goto done;
    }
    made = 0;
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    free(text);
    return rc;
}

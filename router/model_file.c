/*
** model_file.c: reading and writing the learned policies' files (see
** model_file.h).
**
** Loading checks the magic and version on the first line, then the
** checksum line at the end against the bytes before it, before any field
** is read; each failure names the file and what is wrong, so a damaged or
** edited file is rejected, never half used.
*/
#include "model_file.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "hash.h"

#define MF_FILE_MAX       (64u << 20)
#define MF_CHECKSUM_SEED  0x7472696d61676731ULL /* "trimagg1" */
#define MF_NUMBERS_A_LINE 8


uint64_t
mf_checksum(const void *data, size_t len)
{
    return hash_bytes(MF_CHECKSUM_SEED, data, len);
}


int
mf_line_of(const mf_cursor_t *c)
{
    int line = 1;

    /* mf_next_line cuts the lines it reads at their newline */
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
            if (cap > MF_FILE_MAX + 4096u) {
                errf(err, errlen, "%s: larger than %u MiB, not a policy", path,
                     MF_FILE_MAX >> 20);
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


char *
mf_next_line(mf_cursor_t *c)
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
    if (mf_checksum(buf, content) != (uint64_t)want)
        return errf(err, errlen,
                    "%s: checksum mismatch (file damaged or edited)", path);
    buf[content] = '\0';
    return 0;
}


/* The first line: magic and version; 0 or -1 with err. */
static int
check_head(const char *buf, const char *path, const char *magic, int version,
           const char *what, char *err, size_t errlen)
{
    size_t n = strlen(magic);
    char *end;

    if (strncmp(buf, magic, n) != 0 || buf[n] != ' ')
        return errf(err, errlen,
                    "%s: not a %s policy file (bad magic; "
                    "expected '%s %d' on the first line)",
                    path, what, magic, version);
    long v = strtol(buf + n + 1, &end, 10);
    if (end == buf + n + 1 || *end != '\n')
        return errf(err, errlen, "%s: bad version on the first line", path);
    if (v != version)
        return errf(err, errlen,
                    "%s: policy file version %ld; this build reads "
                    "version %d",
                    path, v, version);
    return 0;
}


/* The "lambda L" line (line 2), L finite and >= 0; 0 or -1 with err. */
static int
read_lambda(mf_cursor_t *c, double *lambda)
{
    char *line = mf_next_line(c), *end = NULL;

    if (line != NULL && strncmp(line, "lambda ", 7) == 0)
        *lambda = strtod(line + 7, &end);
    if (line == NULL || strncmp(line, "lambda ", 7) != 0 || end == line + 7 ||
        *end != '\0' || !isfinite(*lambda) || *lambda < 0)
        return errf(c->err, c->errlen,
                    "%s: line 2: expected 'lambda L' with a "
                    "finite L >= 0",
                    c->path);
    return 0;
}


/* Line 3, exactly inputs ("features 5 ..."); 0 or -1 with err. */
static int
read_inputs(mf_cursor_t *c, const char *inputs)
{
    char *line = mf_next_line(c);

    if (line == NULL || strcmp(line, inputs) != 0)
        return errf(c->err, c->errlen,
                    "%s: line 3: expected '%s' (a policy for other %.*s, or "
                    "damaged)",
                    c->path, inputs, (int)strcspn(inputs, " "), inputs);
    return 0;
}


char *
mf_read(const char *path, const char *magic, int version, const char *what,
        const char *inputs, double *lambda, mf_cursor_t *c, char *err,
        size_t errlen)
{
    size_t len;
    char *buf = slurp(path, &len, err, errlen);

    if (buf == NULL)
        return NULL;
    if (len == 0) {
        errf(err, errlen, "%s: empty file", path);
        goto fail;
    }
    if (check_head(buf, path, magic, version, what, err, errlen) < 0 ||
        check_tail(buf, len, path, err, errlen) < 0)
        goto fail;
    *c = (mf_cursor_t){buf, buf, path, err, errlen};
    mf_next_line(c); /* the magic, checked */
    if (read_lambda(c, lambda) < 0 || read_inputs(c, inputs) < 0)
        goto fail;
    return buf;
fail:
    free(buf);
    return NULL;
}


int
mf_end(const mf_cursor_t *c)
{
    if (*c->p != '\0')
        return errf(c->err, c->errlen,
                    "%s: line %d: unexpected text before the checksum", c->path,
                    mf_line_of(c));
    return 0;
}


int
mf_sizes(mf_cursor_t *c, const char *name, int max, int hi, int *size, int *n)
{
    int line_no = mf_line_of(c);
    char *line = mf_next_line(c), *q, *end;
    size_t nlen = strlen(name);

    *n = 0;
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
        if (end == q || (*end != ' ' && *end != '\0') || v < 1 || v > hi ||
            *n == max)
            return errf(c->err, c->errlen,
                        "%s: line %d: bad %s layer sizes "
                        "(2 to %d sizes, each 1 to %d)",
                        c->path, line_no, name, max, hi);
        size[(*n)++] = (int)v;
        q = end;
    }
    if (*n < 2)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s needs at least 2 layer "
                    "sizes",
                    c->path, line_no, name);
    return 0;
}


int
mf_numbers(mf_cursor_t *c, const char *name, float *v, size_t n)
{
    char *end, *after;

    for (size_t i = 0; i < n; i++) {
        while (*c->p == ' ' || *c->p == '\n')
            c->p++;
        errno = 0;
        double x = strtod(c->p, &end);
        if (end == c->p)
            return errf(c->err, c->errlen,
                        "%s: line %d: %s has %zu of its %zu "
                        "parameters (truncated, or wrong layer sizes)",
                        c->path, mf_line_of(c), name, i, n);
        if (!isfinite(x) || fabs(x) > 3.0e38)
            return errf(c->err, c->errlen,
                        "%s: line %d: %s parameter %zu is not "
                        "a finite number",
                        c->path, mf_line_of(c), name, i);
        if (*end != ' ' && *end != '\n' && *end != '\0')
            return errf(c->err, c->errlen,
                        "%s: line %d: %s parameter %zu is not "
                        "a number",
                        c->path, mf_line_of(c), name, i);
        v[i] = (float)x;
        c->p = end;
    }
    while (*c->p == ' ' || *c->p == '\n')
        c->p++;
    strtod(c->p, &after);
    if (after != c->p)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s has more parameters "
                    "than its layer sizes call for",
                    c->path, mf_line_of(c), name);
    return 0;
}


mlp_t *
mf_mlp(mf_cursor_t *c, const char *name, int inputs, int outputs)
{
    int size[MLP_MAX_LAYERS + 1], n, line_no = mf_line_of(c);
    char why[128];
    mlp_t *m;

    if (mf_sizes(c, name, MLP_MAX_LAYERS + 1, MLP_MAX_WIDTH, size, &n) < 0)
        return NULL;
    if (size[0] != inputs || size[n - 1] != outputs) {
        errf(c->err, c->errlen,
             "%s: line %d: %s has %d inputs and %d outputs, must have %d "
             "and %d (wrong layer sizes)",
             c->path, line_no, name, size[0], size[n - 1], inputs, outputs);
        return NULL;
    }
    if ((m = mlp_new(n - 1, size, why, sizeof why)) == NULL) {
        errf(c->err, c->errlen, "%s: line %d: %s: %s", c->path, line_no, name,
             why);
        return NULL;
    }
    if (mf_numbers(c, name, m->params, m->n_params) < 0)
        mlp_destroy(&m);
    return m;
}


int
mf_write_mlp(FILE *f, const char *name, const mlp_t *m)
{
    fprintf(f, "%s", name);
    for (int l = 0; l <= m->n_layers; l++)
        fprintf(f, " %d", m->size[l]);
    fputc('\n', f);
    return mf_write_numbers(f, m->params, m->n_params);
}


int
mf_write_numbers(FILE *f, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            return -1;
        fprintf(f, "%.9g%c", (double)v[i],
                (i + 1) % MF_NUMBERS_A_LINE == 0 || i + 1 == n ? '\n' : ' ');
    }
    return 0;
}


/* Write text and its checksum line to path atomically; 0 or -1 with err. */
static int
save(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    char tmp[4096], line[64];
    FILE *o = NULL;
    int fd = -1, rc = -1, made = 0, n;

    n = snprintf(line, sizeof line, "checksum %016llx\n",
                 (unsigned long long)mf_checksum(text, len));
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= sizeof tmp)
        return errf(err, errlen, "%s: path too long", path);
    if ((fd = mkstemp(tmp)) < 0)
        return errf(err, errlen,
                    "%s: cannot create a temporary file beside it: "
                    "%s",
                    path, strerror(errno));
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
    return rc;
}


int
mf_write(const char *path, const char *magic, int version, double lambda,
         int (*body)(FILE *f, const void *ctx), const void *ctx, char *err,
         size_t errlen)
{
    char *text = NULL, lam[32];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int rc = -1, bad;

    if (f == NULL)
        return errf(err, errlen, "%s: out of memory", path);
    /* lambda in the shortest form that reads back exactly */
    snprintf(lam, sizeof lam, "%.15g", lambda);
    if (strtod(lam, NULL) != lambda)
        snprintf(lam, sizeof lam, "%.17g", lambda);
    fprintf(f, "%s %d\nlambda %s\n", magic, version, lam);
    bad = body(f, ctx) < 0;
    if (fclose(f) != 0 || text == NULL)
        errf(err, errlen, "%s: out of memory", path);
    else if (bad)
        errf(err, errlen,
             "%s: not written: the model has a parameter "
             "that is not finite",
             path);
    else
        rc = save(path, text, len, err, errlen);
    free(text);
    return rc;
}

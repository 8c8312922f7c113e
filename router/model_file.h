/*
** model_file.h: what the learned policies' files share (router-private).
**
** TRIM-Agg (agg_file.c) and TRIM-Seq (seq_file.c) files are text: a magic
** and version line, "lambda L", named blocks of numbers, and a checksum line
** over every byte before it.  These are the pieces both readers and writers
** use; each file's own fields stay in its own reader.
*/
#ifndef TRIM_MODEL_FILE_H
#define TRIM_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlp.h"

/* A reader's position in a loaded file, and where its errors go. */
typedef struct mf_cursor {
    char *start; /* the content, NUL-terminated before the checksum line */
    char *p;
    const char *path;
    char *err;
    size_t errlen;
} mf_cursor_t;

/* The checksum the last line holds, over the bytes before it. */
uint64_t mf_checksum(const void *data, size_t len);

/*
** Read path whole and check its first line ("MAGIC VERSION"; what names the
** kind of file in errors, "TRIM-Agg"), its checksum line, which is cut off,
** its "lambda L" line (L finite and >= 0, into *lambda) and its third line,
** which must be exactly inputs ("features 5 ...": a policy for other inputs
** is refused).  Returns the content (the caller frees it) with c set after
** the third line, or NULL with err naming the file and the problem.
*/
char *mf_read(const char *path, const char *magic, int version,
              const char *what, const char *inputs, double *lambda,
              mf_cursor_t *c, char *err, size_t errlen);

/* 0 when c is at the end of the content, else -1 with err. */
int mf_end(const mf_cursor_t *c);

/* The 1-based line number of c->p. */
int mf_line_of(const mf_cursor_t *c);

/* The next line's text (NUL-terminated in place), or NULL at the end. */
char *mf_next_line(mf_cursor_t *c);

/*
** "name N N N ...": up to max sizes after the name, each 1..hi, into size;
** *n receives their count (at least 2).  0 or -1 with err.
*/
int mf_sizes(mf_cursor_t *c, const char *name, int max, int hi, int *size,
             int *n);

/*
** Exactly n finite numbers into v, then no more numbers (name is the
** block's, for errors).  0 or -1 with err.
*/
int mf_numbers(mf_cursor_t *c, const char *name, float *v, size_t n);

/*
** A network block: "name IN ... OUT" (IN must be inputs, OUT outputs) and
** its parameters.  The network, or NULL with err.
*/
mlp_t *mf_mlp(mf_cursor_t *c, const char *name, int inputs, int outputs);

/* n numbers, 8 a line; -1 (nothing usable) if one is not finite. */
int mf_write_numbers(FILE *f, const float *v, size_t n);

/* A network block as mf_mlp reads it; -1 if a parameter is not finite. */
int mf_write_mlp(FILE *f, const char *name, const mlp_t *m);

/*
** Write a policy file to path atomically (a temporary file beside it,
** fsync, rename): the first line, "lambda L" (the shortest text that reads
** back), what body writes of ctx (-1 when a number is not finite), and the
** checksum line.  0, or -1 with err naming the file.
*/
int mf_write(const char *path, const char *magic, int version, double lambda,
             int (*body)(FILE *f, const void *ctx), const void *ctx, char *err,
             size_t errlen);

#endif

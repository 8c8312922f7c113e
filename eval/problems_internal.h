/*
** problems_internal.h: the layouts behind problems.h.
**
**   problems.c         the file loop: lines, errors, callbacks
**   problems_layout.c  the layouts: recognising one, reading a record
*/
#ifndef TRIM_PROBLEMS_INTERNAL_H
#define TRIM_PROBLEMS_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "problems.h"

typedef struct layout layout_t;

/* The layout called name (not "auto"), or NULL. */
const layout_t *layout_find(const char *name);

/* The layout a line's object is in (plain when nothing else fits). */
const layout_t *layout_detect(json_t *obj);

/* Strings a record owns until layout_clear. */
typedef struct layout_owned {
    char *text, *truth, *id;
} layout_owned_t;

/*
** Read obj as layout l into *rec (line and format set by the caller's
** line number), its strings borrowed from obj or owned by *own.  Returns 0,
** or -1 with what is wrong in why.
*/
int layout_read(const layout_t *l, json_t *obj, problem_rec_t *rec,
                layout_owned_t *own, char *why, size_t whylen);

/* Free what layout_read allocated and zero *own; idempotent.
 * The record's strings go with it. */
void layout_clear(layout_owned_t *own);

#endif

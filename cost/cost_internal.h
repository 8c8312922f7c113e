/*
** cost_internal.h: what the files of cost/ share and nothing else includes.
*/
#ifndef TRIM_COST_INTERNAL_H
#define TRIM_COST_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

/*
** The JSON document in the file at path (the caller decrefs it), or NULL
** with err naming the file and why: unreadable, or bad JSON at a line.
*/
json_t *cost_json_file(const char *path, char *err, size_t errlen);

#endif

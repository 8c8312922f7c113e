/*
** flags.h: command-line flags with environment-variable twins.
**
** Every flag --some-name can also be set by TRIM_SOME_NAME, so containers
** are configured without files; a flag on the command line wins over its
** variable.  Errors name the flag or the variable and the bad value.
*/
#ifndef TRIM_FLAGS_H
#define TRIM_FLAGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    FLAG_STRING, /* value: const char ** */
    FLAG_INT,    /* value: int64_t *, within [min, max] */
    FLAG_DOUBLE, /* value: double *, within [min, max] */
    FLAG_BOOL    /* value: int *; "--name" alone sets 1 */
} flag_type_t;

typedef struct flag {
    const char *name; /* without dashes, e.g. "heartbeat-ms" */
    flag_type_t type;
    void *value;     /* holds the default on entry */
    double min, max; /* numbers only */
    const char *help;
} flag_t;

/*
** Apply the TRIM_ variables, then argv[1..argc-1] (argv[0] is the command).
** Arguments that are not flags are positional: they are moved, in order, to
** argv[1..*n_positional].  Returns 0; 1 when --help was asked (usage is
** printed to stdout); -1 on a bad flag or value (the reason is printed to
** stderr as "trim CMD: ...").
*/
int flags_parse(const char *cmd, const flag_t *flags, size_t n, int argc,
                char **argv, int *n_positional);

/*
** Print "usage: trim CMD SYNOPSIS", the description, and one line per flag
** with its variable twin and its current (default) value.
*/
void flags_usage(FILE *f, const char *cmd, const char *synopsis,
                 const char *description, const flag_t *flags, size_t n);

#endif

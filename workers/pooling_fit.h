/*
** pooling_fit.h: fitting a PRM's input to truncate_prompt_tokens.
**
** vLLM cuts a pooling input that is too long by keeping its first tokens,
** so a cut input loses its newest steps and the rows that come back belong
** to other steps (see pooling_fit.c).  The fitting backend never lets the
** server cut: it asks the server's POST /tokenize how many tokens the input
** has and drops leading steps until it fits, then hands the request to the
** /pooling backend.  The newest step is always sent, each returned row maps
** to the step it scores, and the result gives the dropped steps 1.0 and
** counts them in padded.  A request whose newest step alone does not fit
** fails with the reason, as does every one when /tokenize cannot be
** reached.
*/
#ifndef TRIM_POOLING_FIT_H
#define TRIM_POOLING_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "http_opts.h"

/*
** A backend fitting each scoring request to opts->truncate_tokens (> 0)
** before pool (the /pooling backend; owned from here on, also on failure)
** scores it.  Its /tokenize engine runs up to credit calls at once, on
** connections of its own.  Returns NULL with a reason in err.
*/
backend_t *pooling_fit_new(backend_t *pool, const http_backend_opts_t *opts,
                           uint32_t credit, char *err, size_t errlen);

/* The most /tokenize calls fitting a request of n_steps steps makes. */
int pooling_fit_max_probes(size_t n_steps);

/*
** The search for the fewest leading steps to drop, apart from the calls:
** exposed for tests.  Counts are asked for s->probe dropped steps in turn;
** each answer goes to fit_search_count.
*/
typedef struct fit_search {
    size_t n;      /* steps in the request */
    size_t lo;     /* dropping lo is known not to fit (after the 1st count) */
    size_t hi;     /* dropping hi is known to fit; n: none known yet */
    size_t probe;  /* the number of dropped steps being counted */
    int probes;    /* counts made */
    int estimated; /* probe came from the bytes estimate */
} fit_search_t;

enum { FIT_NEXT, FIT_DONE, FIT_NONE };

/* Start a search over n_steps (> 0) steps: the first probe drops none. */
void fit_search_init(fit_search_t *s, size_t n_steps);

/*
** The input without s->probe leading steps is tokens tokens and bytes
** bytes.  Returns FIT_NEXT with the next probe in s->probe, FIT_DONE with
** the answer in s->hi (the fewest steps to drop: the largest window that
** fits limit), or FIT_NONE when the newest step alone does not fit.
** steps are the request's, for the estimate.
*/
int fit_search_count(fit_search_t *s, int tokens, size_t bytes, int limit,
                     const char *const *steps);

#endif

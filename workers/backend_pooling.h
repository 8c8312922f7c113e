/*
** backend_pooling.h: PRM scoring over vLLM's POST {base}/pooling.
**
** The request carries either the rendered Qwen2.5-Math-PRM input (ChatML,
** "<extra_0>" after every step; what the TRIM release sends) or the chat
** messages for the server to template; optionally "task" (vLLM >= 0.11
** wants "token_classify") and "truncate_prompt_tokens".  Step i's score is
** data[0].data[i][1] (data[0].outputs.data is accepted too); any other
** number of pairs than steps sent is an error.
**
** With truncate_prompt_tokens set (> 0), the input is first fitted to it
** with the server's POST /tokenize (pooling_fit.h): leading steps are
** dropped (never the newest), the result gives them 1.0 and counts them in
** padded; vLLM keeps the first tokens of a cut input, see pooling_fit.c.
** The server must then serve /tokenize: without it every score call fails
** with the reason.  The backend then runs two engines, /tokenize and
** /pooling, each with up to credit connections: up to 2 x credit in all.
*/
#ifndef TRIM_BACKEND_POOLING_H
#define TRIM_BACKEND_POOLING_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "http_opts.h"

/*
** A scoring backend on opts->base_url (opts is copied; a trailing "/v1" is
** dropped, /pooling is at the server's root).  credit: calls and
** connections at once.  Named "vllm-pooling:BASE_URL".  Returns NULL with a
** reason in err.
*/
backend_t *backend_pooling_new(const http_backend_opts_t *opts, uint32_t credit,
                               char *err, size_t errlen);

/*
** The longest one scoring call can take under opts, as a worker announces
** it: http_opts_deadline_ms for the /pooling call, and as much again for
** each /tokenize call the fitting may make (pooling_fit_max_probes of the
** longest history) when truncate_tokens > 0.  Capped at UINT32_MAX.
*/
uint32_t backend_pooling_deadline_ms(const http_backend_opts_t *opts);

#endif

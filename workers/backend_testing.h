/*
** backend_testing.h: the HTTP backends' response parsing without a server,
** for the fuzzers (fuzz/) and tests.
*/
#ifndef TRIM_BACKEND_TESTING_H
#define TRIM_BACKEND_TESTING_H

#include <stddef.h>

#include "backend.h"

/*
** Read body (len bytes), a 2xx response of the format kind ("openai",
** "openai-chat" or "vllm-pooling") to a request of n_steps steps, into r as
** the backend does, with the default settings (http_opts_default).  Returns
** 0, or -1 with the reason in err; either way r's buffers are the caller's
** to free with backend_result_clear.
*/
int backend_parse_response(const char *kind, const char *body, size_t len,
                           size_t n_steps, backend_result_t *r, char *err,
                           size_t errlen);

#endif

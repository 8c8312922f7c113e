/*
** backend_testing.c: a response body through a format's parser (see
** backend_testing.h), as the HTTP backend's body check reads it.
*/
#include "backend_testing.h"

#include <string.h>

#include "errf.h"
#include "http_backend.h"


int
backend_parse_response(const char *kind, const char *body, size_t len,
                       size_t n_steps, backend_result_t *r, char *err,
                       size_t errlen)
{
    static const http_format_t *const formats[] = {
        &completion_format, &chat_format, &pooling_format};
    const http_format_t *f = NULL;
    http_backend_opts_t o;
    http_job_t job;

    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (strcmp(kind, formats[i]->kind) == 0)
            f = formats[i];
    if (f == NULL)
        return errf(err, errlen, "no HTTP format \"%s\"", kind);
    http_opts_default(&o);
    memset(&job, 0, sizeof job);
    job.job = f->job;
    job.n_steps = n_steps;
    job.input_bytes = 1000;
    return http_parse_body(f, &o, &job, body, len, r, err, errlen);
}

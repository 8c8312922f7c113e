/*
** backend_testing.c: a response body through a format's parser (see
** backend_testing.h), as http_backend.c's to_result reads it.
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
    json_error_t jerr;
    json_t *root;
    int rc;

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
    memset(r, 0, sizeof *r);
    r->job = f->job;
    if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
        return errf(err, errlen, "response is not JSON (line %d col %d: %s)",
                    jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root))
        rc = errf(err, errlen, "response is not a JSON object");
    else
        rc = f->parse(&o, &job, root, r, err, errlen);
    json_decref(root);
    return rc;
}

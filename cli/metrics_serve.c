/*
** metrics_serve.c: --metrics-listen for the long-running commands (see
** metrics_serve.h).
*/
#include "metrics_serve.h"

#include "errf.h"


int
metrics_serve_open(metrics_serve_t *m, const char *role, const char *listen,
                   char *err, size_t errlen)
{
    m->registry = NULL;
    m->http = NULL;
    m->role = role;
    m->listen = listen;
    if (listen == NULL || *listen == '\0')
        return 0;
    if ((m->registry = prom_registry_new()) == NULL)
        return errf(err, errlen, "out of memory");
    prom_register_process(m->registry, role);
    return 0;
}


int
metrics_serve_start(metrics_serve_t *m, int http_insecure, prom_ready_fn ready,
                    void *ctx, char *err, size_t errlen)
{
    prom_http_opts_t o = {.listen = m->listen,
                          .who = m->role,
                          .insecure = http_insecure,
                          .registry = m->registry,
                          .ready = ready,
                          .ready_ctx = ctx};

    if (m->registry == NULL)
        return 0;
    m->http = prom_http_new(&o, err, errlen);
    return m->http ? 0 : -1;
}


void
metrics_serve_stop(metrics_serve_t *m)
{
    prom_http_destroy(&m->http);
}


void
metrics_serve_close(metrics_serve_t *m)
{
    metrics_serve_stop(m);
    prom_registry_destroy(&m->registry);
}

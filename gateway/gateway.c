/*
** gateway.c: the gateway's parts put together (see gateway.h).
*/
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "gateway_internal.h"

struct gateway {
    gateway_route_t *routes;
    size_t n_routes;
    gw_keys_t *keys;
    upstream_t *upstream;
    gw_metrics_t *metrics;
    gw_http_t *http;
};


void
gateway_config_defaults(gateway_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = "127.0.0.1:8000";
    cfg->connect = "tcp://127.0.0.1:5555";
    cfg->max_body_bytes = 1u << 20;
    cfg->max_concurrent = 1024;
    cfg->max_concurrent_per_key = 256;
    cfg->heartbeat_ms = 1000;
}


gateway_t *
gateway_new(const gateway_config_t *cfg, char *err, size_t errlen)
{
    gateway_t *g = calloc(1, sizeof *g);
    upstream_opts_t uo = {0};
    gw_http_opts_t ho = {0};

    if (g == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    if (cfg->n_routes == 0) {
        errf(err, errlen, "no route: give at least one --route");
        goto fail;
    }
    if (cfg->max_concurrent < 1 || cfg->max_concurrent_per_key < 1) {
        errf(err, errlen, "the concurrency limits must be at least 1");
        goto fail;
    }
    g->n_routes = cfg->n_routes;
    if ((g->routes = calloc(cfg->n_routes, sizeof *g->routes)) == NULL) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(g->routes, cfg->routes, cfg->n_routes * sizeof *g->routes);
    for (size_t i = 0; i < g->n_routes; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(g->routes[i].name, g->routes[k].name) == 0) {
                errf(err, errlen, "--route %s is given twice",
                     g->routes[i].name);
                goto fail;
            }
    if (cfg->api_keys && *cfg->api_keys &&
        (g->keys = gw_keys_load(cfg->api_keys, err, errlen)) == NULL)
        goto fail;
    uo.connect = cfg->connect;
    uo.keys = cfg->keys;
    uo.server_key = cfg->server_key;
    uo.routes = g->routes;
    uo.n_routes = g->n_routes;
    uo.heartbeat_ms = cfg->heartbeat_ms;
    if ((g->upstream = upstream_new(&uo, err, errlen)) == NULL)
        goto fail;
    ho.listen = cfg->listen;
    ho.console = cfg->console;
    ho.routes = g->routes;
    ho.n_routes = g->n_routes;
    ho.keys = g->keys;
    ho.max_body_bytes = cfg->max_body_bytes;
    ho.max_concurrent = cfg->max_concurrent;
    ho.max_concurrent_per_key = cfg->max_concurrent_per_key;
    ho.seed = cfg->seed;
    ho.upstream = g->upstream;
    g->metrics = gw_metrics_new(cfg->metrics, g->routes, g->n_routes);
    ho.metrics = g->metrics;
    if ((g->http = gw_http_new(&ho, err, errlen)) == NULL)
        goto fail;
    return g;
fail:
    gateway_destroy(&g);
    return NULL;
}


int
gateway_port(const gateway_t *g)
{
    return gw_http_port(g->http);
}


int
gateway_ready(gateway_t *g, char *why, size_t whylen)
{
    return upstream_ready(g->upstream, why, whylen);
}


void
gateway_stats(gateway_t *g, gateway_stats_t *out)
{
    char why[8];

    memset(out, 0, sizeof *out);
    gw_http_counts(g->http, &out->in_flight, &out->streams_open,
                   &out->requests);
    upstream_counts(g->upstream, &out->problems, &out->cancels);
    out->coordinator_up = upstream_ready(g->upstream, why, sizeof why);
}


void
gateway_destroy(gateway_t **gp)
{
    if (gp && *gp) {
        gateway_t *g = *gp;
        /* Requests first: each gives its job back (a cancel) before the
        ** coordinator thread sends what is left and stops. */
        gw_http_destroy(&g->http);
        upstream_destroy(&g->upstream);
        gw_metrics_destroy(&g->metrics);
        gw_keys_destroy(&g->keys);
        free(g->routes);
        free(g);
        *gp = NULL;
    }
}

/*
** metrics.c: the gateway's Prometheus series (see gateway_internal.h).
**
** trim_gateway_requests_total{route,code} gets a series per route and
** status as they first occur; they are few, so they are kept in a small
** table looked up under a mutex rather than asked of the registry (whose
** lookup takes its own mutex and compares label strings) per request.
** route is a route's name, or "none" when the request named none that
** exists, so clients cannot grow the label set (not "": Prometheus reads
** an empty label as an absent one).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"

#define MAX_SERIES 512
#define NO_ROUTE   "none" /* the route label of a request that named none */

typedef struct series {
    const char *route; /* the gateway's route name, or NO_ROUTE */
    int status;
    prom_counter_t *counter;
} series_t;

struct gw_metrics {
    prom_registry_t *r;
    const gateway_route_t *routes;
    size_t n_routes;
    prom_histogram_t **durations; /* by route; the last: no route */
    prom_gauge_t *in_flight, *streams;
    pthread_mutex_t mu;
    series_t series[MAX_SERIES];
    size_t n_series;
};


gw_metrics_t *
gw_metrics_new(prom_registry_t *r, const gateway_route_t *routes, size_t n)
{
    gw_metrics_t *m;

    if (r == NULL || (m = calloc(1, sizeof *m)) == NULL)
        return NULL;
    m->r = r;
    m->routes = routes;
    m->n_routes = n;
    pthread_mutex_init(&m->mu, NULL);
    m->durations = calloc(n + 1, sizeof *m->durations);
    for (size_t i = 0; m->durations && i <= n; i++) {
        const char *labels[] = {"route", i < n ? routes[i].name : NO_ROUTE,
                                NULL};
        m->durations[i] = prom_histogram(
            r, "trim_gateway_request_duration_seconds",
            "Time from a request's headers to its last byte (a stream's "
            "whole length), in seconds",
            labels, NULL, 0);
    }
    m->in_flight = prom_gauge(r, "trim_gateway_requests_in_flight",
                              "HTTP requests the gateway is serving", NULL);
    m->streams = prom_gauge(r, "trim_gateway_streams_open",
                            "Server-Sent Event streams open", NULL);
    return m;
}


void
gw_metrics_destroy(gw_metrics_t **mp)
{
    if (mp && *mp) {
        gw_metrics_t *m = *mp;
        pthread_mutex_destroy(&m->mu);
        free(m->durations);
        free(m);
        *mp = NULL;
    }
}


/* The counter of (route, status), made on first use. */
static prom_counter_t *
requests_counter(gw_metrics_t *m, const char *route, int status)
{
    prom_counter_t *c = NULL;
    char code[16];

    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_series; i++)
        if (m->series[i].status == status &&
            strcmp(m->series[i].route, route) == 0) {
            c = m->series[i].counter;
            goto done;
        }
    snprintf(code, sizeof code, "%d", status);
    const char *labels[] = {"route", route, "code", code, NULL};
    c = prom_counter(m->r, "trim_gateway_requests_total",
                     "HTTP requests answered, by route and status code",
                     labels);
    if (m->n_series < MAX_SERIES)
        m->series[m->n_series++] = (series_t){route, status, c};
done:
    pthread_mutex_unlock(&m->mu);
    return c;
}


void
gw_metrics_request(gw_metrics_t *m, size_t route, int status, double seconds)
{
    if (m == NULL)
        return;
    const char *name = route < m->n_routes ? m->routes[route].name : NO_ROUTE;
    prom_counter_add(requests_counter(m, name, status), 1);
    prom_histogram_observe(
        m->durations ? m->durations[route < m->n_routes ? route : m->n_routes]
                     : NULL,
        seconds);
}


void
gw_metrics_in_flight(gw_metrics_t *m, int delta)
{
    if (m != NULL)
        prom_gauge_add(m->in_flight, delta);
}


void
gw_metrics_streams(gw_metrics_t *m, int delta)
{
    if (m != NULL)
        prom_gauge_add(m->streams, delta);
}

/*
** service.h: the router service.
**
** Connects to the coordinator as a ROLE_ROUTER peer, answers each batch of
** scored steps with a batch of decisions, and publishes every decision batch
** on its own PUB socket (with a sequence number, so observers can see gaps)
** for dashboards and `trim watch`.  The coordinator's own path is the
** request/reply: a slow subscriber can never lose a decision.
**
** The service holds no per-problem state: what a policy carries from step to
** step travels in the request and the reply (belief), so any number of
** routers can serve one coordinator.
*/
#ifndef TRIM_ROUTER_SERVICE_H
#define TRIM_ROUTER_SERVICE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "curve.h"
#include "pomdp.h"
#include "prom.h"

typedef struct router_opts {
    const char *endpoint;     /* coordinator address */
    const char *pub_endpoint; /* where to bind the decision feed; NULL none */
    const char *name;         /* peer name */
    uint32_t credit;          /* scored steps held at once */
    int heartbeat_ms;
    int liveness;
    const curve_keys_t *curve; /* own key pair: CURVE to the coordinator and
                                  on the feed (needs a ZAP handler), or NULL */
    const char *server_key;    /* the coordinator's public key (Z85) */
    const pomdp_model_t *pomdp_default; /* what "pomdp:LAMBDA" plans in
                                           (policy_new); borrowed, must
                                           outlive the service; or NULL */
    const char *health_file;  /* touched while connected (health.h), or
                                 NULL */
    prom_registry_t *metrics; /* trim_router_* series go here; borrowed,
                                 must outlive the service; or NULL */
} router_opts_t;

typedef struct router_service router_service_t;

/*
** Create the service: bind the feed, connect to the coordinator.  zctx is
** borrowed.  Returns NULL with a reason in err.
*/
router_service_t *router_service_new(void *zctx, const router_opts_t *opts,
                                     char *err, size_t errlen);

/*
** Serve until *stop becomes non-zero or the coordinator shuts the cluster
** down; on a stop, tell the coordinator with a Disconnect.  Returns 0, or
** -1 on a fatal socket error.
*/
int router_service_run(router_service_t *r, const atomic_int *stop);

/* Decisions made so far. */
uint64_t router_service_decisions(const router_service_t *r);

/*
** For /readyz: 0 when the coordinator was heard (a heartbeat or work)
** within the last liveness heartbeats, else -1 with a reason.  Any thread
** may call it while the service exists.
*/
int router_service_ready(const router_service_t *r, char *reason,
                         size_t reasonlen);

/* Close sockets, free everything and clear the pointer; NULL-safe. */
void router_service_destroy(router_service_t **r);

#endif

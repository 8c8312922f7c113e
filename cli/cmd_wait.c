/*
** cmd_wait.c: `trim wait`, block until a run has finished, then summarise.
**
** The request is repeated every few seconds, so a coordinator that restarts
** meanwhile (and resumes the run) still answers.
*/
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "client.h"
#include "clock.h"
#include "envelope.h"
#include "errf.h"
#include "summary.h"

#define RESEND_MS 2000

static const char description[] =
    "Wait until every problem of a run has finished and is recorded, then\n"
    "print the same summary as 'trim run' (--json included).  Without --run,\n"
    "waits for the newest run.";


/* The newest run's id, from a status request; 0 when there is none. */
static int64_t
newest_run(client_t *c, int timeout_ms, char *err, size_t errlen)
{
    Trim__Envelope *reply = NULL;
    int64_t id = -1;
    int got = client_status(c, timeout_ms, &reply, err, errlen);

    if (got == 0)
        errf(err, errlen, "the coordinator did not answer");
    if (got == 1)
        id =
            reply->status->n_runs ? (int64_t)reply->status->runs[0]->run_id : 0;
    env_destroy(&reply);
    return id;
}


/*
** Ask until run (0: the newest, once there is one) has finished, resending
** the request every RESEND_MS until deadline.  Returns 0 with *reply, or -1
** with err.
*/
static int
wait_for(client_t *c, const char *addr, int64_t run, int64_t deadline,
         int64_t timeout, Trim__Envelope **reply, char *err, size_t errlen)
{
    while (run == 0 && clock_now_ms() < deadline) {
        run = newest_run(c, RESEND_MS, err, errlen);
        if (run < 0)
            run = 0; /* not up yet: ask again */
        else if (run == 0)
            return errf(err, errlen, "the coordinator has no run yet");
    }
    if (run == 0)
        return errf(err, errlen, "no answer from %s within %lld ms", addr,
                    (long long)timeout);
    while (clock_now_ms() < deadline) {
        Trim__WaitRequest req = TRIM__WAIT_REQUEST__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        req.request_id = client_next_id(c);
        req.run_id = (uint64_t)run;
        env.body_case = TRIM__ENVELOPE__BODY_WAIT_REQUEST;
        env.wait_request = &req;
        int got = client_call(c, &env, req.request_id,
                              TRIM__ENVELOPE__BODY_WAIT_REPLY, RESEND_MS, reply,
                              err, errlen);
        if (got < 0)
            return -1;
        if (got == 1 && (*reply)->wait_reply->error[0] != '\0')
            return errf(err, errlen, "%s", (*reply)->wait_reply->error);
        if (got == 1)
            return 0;
    }
    return errf(err, errlen, "run %lld not finished within %lld ms",
                (long long)run, (long long)timeout);
}


int
cmd_wait(int argc, char **argv)
{
    client_flags_t cf = {CLIENT_CONNECT_DEFAULT, "", "", 0,
                         CLIENT_CONNECT_TIMEOUT_DEFAULT};
    int64_t run = 0;
    int json = 0;
    const char *prices_path = "";
    prices_t *prices = NULL;
    cost_usage_t usage;
    cost_usd_t usd;
    const flag_t flags[] = {
        CLIENT_FLAG_CONNECT(&cf.connect),
        {"run", FLAG_INT, &run, 0, 9.2e18, "the run to wait for (0: newest)"},
        {"timeout-ms", FLAG_INT, &cf.timeout_ms, 0, 1e12,
         "give up after this long (0: never)"},
        CLIENT_FLAG_CONNECT_TIMEOUT(&cf.connect_timeout_ms, "coordinator"),
        {"json", FLAG_BOOL, &json, 0, 0, "print the summary as JSON"},
        {"prices", FLAG_STRING, &prices_path, 0, 0,
         "price book: the summary shows dollars (docs/roi.md)"},
        CLIENT_FLAGS_CURVE_OF(&cf),
    };
    const size_t n = sizeof flags / sizeof *flags;
    char err[512] = "";
    client_t *c = NULL;
    Trim__Envelope *reply = NULL;
    int rc = cli_parse("wait", "[--run N] [FLAGS]", description, flags, n, argc,
                       argv, NULL);

    if (rc != CLI_GO)
        return rc;
    if (*prices_path &&
        (prices = prices_load(prices_path, err, sizeof err)) == NULL) {
        cli_error("wait", err);
        return 1;
    }
    if ((rc = client_open("wait", &cf, &c)) != 0) {
        prices_destroy(&prices);
        return rc;
    }
    int64_t deadline =
        cf.timeout_ms ? clock_now_ms() + cf.timeout_ms : INT64_MAX;
    if (wait_for(c, cf.connect, run, deadline, cf.timeout_ms, &reply, err,
                 sizeof err) < 0) {
        cli_error("wait", err);
        rc = 1;
    } else {
        usage = COST_USAGE_REPORTED(reply->wait_reply->run);
        if (prices)
            prices_cost(prices, &usage, &usd);
        summary_print(reply->wait_reply->run, NULL, cf.connect, json, prices,
                      prices ? &usd : NULL);
    }
    prices_destroy(&prices);
    env_destroy(&reply);
    client_destroy(&c);
    return rc;
}

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
#include "flags.h"
#include "summary.h"

#define RESEND_MS 2000

static const char description[] =
    "Wait until every problem of a run has finished and is recorded, then\n"
    "print the same summary as 'trim run' (--json included).  Without --run,\n"
    "waits for the newest run.";


/* How long to wait for an answer: until the resend, or the deadline if
** sooner. */
static int
answer_wait_ms(int64_t deadline)
{
    int64_t left = deadline - clock_now_ms();
    return left < RESEND_MS ? (int)(left > 0 ? left : 0) : RESEND_MS;
}


/* The newest run's id, from a status request; 0 when there is none. */
static int64_t
newest_run(client_t *c, int timeout_ms, char *err, size_t errlen)
{
    Trim__StatusRequest req = TRIM__STATUS_REQUEST__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT, *reply = NULL;
    int64_t id = -1;

    req.request_id = client_next_id(c);
    env.body_case = TRIM__ENVELOPE__BODY_STATUS_REQUEST;
    env.status_request = &req;
    if (client_send(c, &env, err, errlen) < 0)
        return -1;
    int got = client_recv(c, TRIM__ENVELOPE__BODY_STATUS, req.request_id,
                          timeout_ms, &reply, err, errlen);
    if (got == 0)
        snprintf(err, errlen, "the coordinator did not answer");
    if (got == 1)
        id =
            reply->status->n_runs ? (int64_t)reply->status->runs[0]->run_id : 0;
    env_free(&reply);
    return id;
}


int
cmd_wait(int argc, char **argv)
{
    const char *connect = "tcp://127.0.0.1:5555", *curve_secret = "";
    const char *server_key = "";
    int64_t run = 0, timeout = 0;
    int json = 0;
    const flag_t flags[] = {
        {"connect", FLAG_STRING, &connect, 0, 0, "coordinator address"},
        {"run", FLAG_INT, &run, 0, 9.2e18, "the run to wait for (0: newest)"},
        {"timeout-ms", FLAG_INT, &timeout, 0, 1e12,
         "give up after this long (0: never)"},
        {"json", FLAG_BOOL, &json, 0, 0, "print the summary as JSON"},
        {"curve-secret", FLAG_STRING, &curve_secret, 0, 0,
         "this client's key pair (.secret file)"},
        {"curve-server-key", FLAG_STRING, &server_key, 0, 0,
         "the coordinator's public key, or its file"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    int npos, curve_on, rc = 1;
    char err[512] = "", server_pub[41];
    curve_keys_t keys = {0};
    Trim__Envelope *reply = NULL;
    int64_t deadline;

    switch (flags_parse("wait", flags, n, argc, argv, &npos)) {
    case 1:
        flags_usage(stdout, "wait", "[--run N] [FLAGS]", description, flags, n);
        return 0;
    case -1:
        return 2;
    }
    if (npos > 0) {
        fprintf(stderr, "trim wait: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    deadline = timeout ? clock_now_ms() + timeout : INT64_MAX;
    if (client_curve("wait", curve_secret, server_key, &keys, server_pub,
                     &curve_on) < 0)
        return 2;
    client_t *c = client_new(connect, curve_on ? &keys : NULL, server_pub, err,
                             sizeof err);
    if (c == NULL)
        goto fail;
    while (run == 0) {
        if (clock_now_ms() >= deadline)
            goto timed_out;
        run = newest_run(c, answer_wait_ms(deadline), err, sizeof err);
        if (run < 0)
            run = 0; /* not up yet: ask again */
        else if (run == 0) {
            snprintf(err, sizeof err, "the coordinator has no run yet");
            goto fail;
        }
    }
    for (;;) {
        Trim__WaitRequest req = TRIM__WAIT_REQUEST__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        if (clock_now_ms() >= deadline)
            goto timed_out;
        req.request_id = client_next_id(c);
        req.run_id = (uint64_t)run;
        env.body_case = TRIM__ENVELOPE__BODY_WAIT_REQUEST;
        env.wait_request = &req;
        if (client_send(c, &env, err, sizeof err) < 0)
            goto fail;
        int got =
            client_recv(c, TRIM__ENVELOPE__BODY_WAIT_REPLY, req.request_id,
                        answer_wait_ms(deadline), &reply, err, sizeof err);
        if (got < 0)
            goto fail;
        if (got == 1)
            break;
    }
    if (reply->wait_reply->error[0] != '\0') {
        snprintf(err, sizeof err, "%s", reply->wait_reply->error);
        goto fail;
    }
    const Trim__RunStatus *r = reply->wait_reply->run;
    run_summary_t s = {0};
    s.run_id = (int64_t)r->run_id;
    s.policy = r->policy;
    s.seed = r->seed;
    s.coordinator = connect;
    s.problems = (int64_t)r->problems;
    s.finished = (int64_t)r->finished;
    s.failed = (int64_t)r->failed;
    s.correct = (int64_t)r->correct;
    s.graded = (int64_t)r->graded;
    s.steps = (int64_t)r->steps;
    s.routed_steps = (int64_t)r->routed_steps;
    s.regenerated_steps = (int64_t)r->regenerated_steps;
    s.weak_tokens = (int64_t)r->weak_tokens;
    s.strong_tokens = (int64_t)r->strong_tokens;
    s.discarded_tokens = (int64_t)r->discarded_tokens;
    s.prm_tokens = (int64_t)r->prm_tokens;
    s.seconds = r->elapsed_s;
    summary_print(&s, json);
    rc = 0;
    goto done;
timed_out:
    if (run == 0)
        snprintf(err, sizeof err, "no answer from %s within %lld ms", connect,
                 (long long)timeout);
    else
        snprintf(err, sizeof err, "run %lld not finished within %lld ms",
                 (long long)run, (long long)timeout);
fail:
    fprintf(stderr, "trim wait: %s\n", err);
done:
    env_free(&reply);
    client_destroy(&c);
    curve_wipe(&keys);
    return rc;
}

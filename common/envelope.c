/*
** envelope.c: packing, unpacking and validating wire messages (envelope.h).
*/
#include "envelope.h"

#include <stdio.h>
#include <string.h>

#include "errf.h"

#define FAIL(...)                                                              \
    do {                                                                       \
        errf(err, errlen, __VA_ARGS__);                                        \
        return -1;                                                             \
    } while (0)


int
env_pack(Trim__Envelope *env, zmq_msg_t *msg)
{
    size_t len;

    env->version = TRIM_PROTOCOL_VERSION;
    len = trim__envelope__get_packed_size(env);
    if (len > TRIM_MAX_MESSAGE)
        return -1;
    if (zmq_msg_init_size(msg, len) != 0)
        return -1;
    trim__envelope__pack(env, zmq_msg_data(msg));
    return 0;
}


static int
check_text(const char *s, size_t limit, const char *what, char *err,
           size_t errlen)
{
    if (s != NULL && strlen(s) > limit)
        FAIL("%s longer than %zu bytes", what, limit);
    return 0;
}


static int
check_key(const Trim__Key *key, char *err, size_t errlen)
{
    if (key == NULL)
        FAIL("request without a key");
    if (key->step_index >= TRIM_MAX_STEPS)
        FAIL("step_index %u out of range", key->step_index);
    return 0;
}


static int
check_history(const char *problem, char *const *steps, size_t n, char *err,
              size_t errlen)
{
    if (check_text(problem, TRIM_MAX_TEXT, "problem", err, errlen) < 0)
        return -1;
    if (n > TRIM_MAX_STEPS)
        FAIL("%zu steps in one history (limit %d)", n, TRIM_MAX_STEPS);
    for (size_t i = 0; i < n; i++)
        if (check_text(steps[i], TRIM_MAX_TEXT, "step", err, errlen) < 0)
            return -1;
    return 0;
}


static int
check_batch(size_t n, char *err, size_t errlen)
{
    if (n == 0)
        FAIL("empty batch");
    if (n > TRIM_MAX_BATCH)
        FAIL("batch of %zu items (limit %d)", n, TRIM_MAX_BATCH);
    return 0;
}


static int
validate(const Trim__Envelope *env, char *err, size_t errlen)
{
    size_t i;

    if (env->version != TRIM_PROTOCOL_VERSION)
        FAIL("protocol version %u, expected %d", env->version,
             TRIM_PROTOCOL_VERSION);
    switch (env->body_case) {
    case TRIM__ENVELOPE__BODY_READY:
        if (check_text(env->ready->name, TRIM_MAX_NAME, "name", err, errlen) ||
            check_text(env->ready->version, TRIM_MAX_NAME, "version", err,
                       errlen) ||
            check_text(env->ready->backend, TRIM_MAX_TEXT, "backend", err,
                       errlen))
            return -1;
        return 0;
    case TRIM__ENVELOPE__BODY_HEARTBEAT:
        return 0;
    case TRIM__ENVELOPE__BODY_DISCONNECT:
        return check_text(env->disconnect->reason, TRIM_MAX_TEXT, "reason", err,
                          errlen);
    case TRIM__ENVELOPE__BODY_GENERATE:
        if (check_batch(env->generate->n_items, err, errlen) < 0)
            return -1;
        for (i = 0; i < env->generate->n_items; i++) {
            const Trim__GenerateStep *g = env->generate->items[i];
            if (check_key(g->key, err, errlen) < 0 ||
                check_history(g->problem, g->steps, g->n_steps, err, errlen))
                return -1;
        }
        return 0;
    case TRIM__ENVELOPE__BODY_STEP_RESULTS:
        if (check_batch(env->step_results->n_items, err, errlen) < 0)
            return -1;
        for (i = 0; i < env->step_results->n_items; i++) {
            const Trim__StepResult *r = env->step_results->items[i];
            if (check_key(r->key, err, errlen) < 0 ||
                check_text(r->text, TRIM_MAX_TEXT, "text", err, errlen) ||
                check_text(r->error, TRIM_MAX_TEXT, "error", err, errlen))
                return -1;
        }
        return 0;
    case TRIM__ENVELOPE__BODY_SCORE:
        if (check_batch(env->score->n_items, err, errlen) < 0)
            return -1;
        for (i = 0; i < env->score->n_items; i++) {
            const Trim__ScoreSteps *s = env->score->items[i];
            if (check_key(s->key, err, errlen) < 0 ||
                check_history(s->problem, s->steps, s->n_steps, err, errlen))
                return -1;
        }
        return 0;
    case TRIM__ENVELOPE__BODY_STEP_SCORES:
        if (check_batch(env->step_scores->n_items, err, errlen) < 0)
            return -1;
        for (i = 0; i < env->step_scores->n_items; i++) {
            const Trim__StepScores *s = env->step_scores->items[i];
            if (check_key(s->key, err, errlen) < 0 ||
                check_text(s->error, TRIM_MAX_TEXT, "error", err, errlen))
                return -1;
            if (s->n_scores > TRIM_MAX_STEPS)
                FAIL("%zu scores (limit %d)", s->n_scores, TRIM_MAX_STEPS);
        }
        return 0;
    case TRIM__ENVELOPE__BODY_ROUTE:
        if (check_batch(env->route->n_items, err, errlen) < 0)
            return -1;
        for (i = 0; i < env->route->n_items; i++) {
            const Trim__ScoredStep *s = env->route->items[i];
            if (check_key(s->key, err, errlen) < 0 ||
                check_text(s->policy, TRIM_MAX_NAME, "policy", err, errlen))
                return -1;
            if (s->n_belief > 16)
                FAIL("belief of %zu values (limit 16)", s->n_belief);
        }
        return 0;
    case TRIM__ENVELOPE__BODY_DECISIONS:
        if (check_batch(env->decisions->n_items, err, errlen) < 0)
            return -1;
        for (i = 0; i < env->decisions->n_items; i++) {
            const Trim__RouteDecision *d = env->decisions->items[i];
            if (check_key(d->key, err, errlen) < 0 ||
                check_text(d->reason, TRIM_MAX_TEXT, "reason", err, errlen) ||
                check_text(d->error, TRIM_MAX_TEXT, "error", err, errlen))
                return -1;
            if (d->n_belief > 16)
                FAIL("belief of %zu values (limit 16)", d->n_belief);
        }
        return 0;
    case TRIM__ENVELOPE__BODY_SUBMIT:
        if (check_text(env->submit->policy, TRIM_MAX_NAME, "policy", err,
                       errlen) ||
            check_text(env->submit->config, TRIM_MAX_TEXT, "config", err,
                       errlen))
            return -1;
        if (env->submit->n_problems > TRIM_MAX_BATCH)
            FAIL("%zu problems in one submission (limit %d)",
                 env->submit->n_problems, TRIM_MAX_BATCH);
        for (i = 0; i < env->submit->n_problems; i++) {
            const Trim__ProblemSpec *s = env->submit->problems[i];
            if (check_text(s->text, TRIM_MAX_TEXT, "problem", err, errlen) ||
                check_text(s->ground_truth, TRIM_MAX_TEXT, "ground truth", err,
                           errlen) ||
                check_text(s->source, TRIM_MAX_NAME * 4, "source", err, errlen))
                return -1;
        }
        return 0;
    case TRIM__ENVELOPE__BODY_SUBMIT_ACK:
        return check_text(env->submit_ack->error, TRIM_MAX_TEXT, "error", err,
                          errlen);
    case TRIM__ENVELOPE__BODY_STATUS_REQUEST:
    case TRIM__ENVELOPE__BODY_STATUS:
    case TRIM__ENVELOPE__BODY_WAIT_REQUEST:
        return 0;
    case TRIM__ENVELOPE__BODY_WAIT_REPLY:
        return check_text(env->wait_reply->error, TRIM_MAX_TEXT, "error", err,
                          errlen);
    default:
        FAIL("no message body");
    }
}


static void *
arena_alloc_cb(void *data, size_t size)
{
    return arena_alloc(data, size);
}


static void
arena_free_cb(void *data, void *ptr)
{
    /* Arena memory goes back all at once, at arena_reset. */
    (void)data;
    (void)ptr;
}


static Trim__Envelope *
unpack(ProtobufCAllocator *allocator, const void *data, size_t len, char *err,
       size_t errlen)
{
    Trim__Envelope *env;

    if (len > TRIM_MAX_MESSAGE) {
        errf(err, errlen, "message of %zu bytes (limit %d)", len,
             TRIM_MAX_MESSAGE);
        return NULL;
    }
    env = trim__envelope__unpack(allocator, len, data);
    if (env == NULL) {
        errf(err, errlen, "not a valid protobuf Envelope (%zu bytes)", len);
        return NULL;
    }
    if (validate(env, err, errlen) < 0) {
        trim__envelope__free_unpacked(env, allocator);
        return NULL;
    }
    return env;
}


Trim__Envelope *
env_unpack(const void *data, size_t len, char *err, size_t errlen)
{
    return unpack(NULL, data, len, err, errlen);
}


Trim__Envelope *
env_unpack_in(arena_t *arena, const void *data, size_t len, char *err,
              size_t errlen)
{
    ProtobufCAllocator allocator = {arena_alloc_cb, arena_free_cb, arena};
    return unpack(&allocator, data, len, err, errlen);
}


void
env_destroy(Trim__Envelope **env)
{
    if (env && *env) {
        trim__envelope__free_unpacked(*env, NULL);
        *env = NULL;
    }
}


static const char *const role_names[] = {"unknown", "small", "large", "prm",
                                         "router"};


const char *
env_role_name(Trim__Role role)
{
    if ((int)role < 0 || (size_t)role >= sizeof role_names / sizeof *role_names)
        return "unknown";
    return role_names[role];
}


Trim__Role
env_role_parse(const char *name)
{
    for (size_t i = 1; i < sizeof role_names / sizeof *role_names; i++)
        if (strcmp(name, role_names[i]) == 0)
            return (Trim__Role)i;
    return TRIM__ROLE__ROLE_UNKNOWN;
}

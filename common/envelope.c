/*
** envelope.c: packing, unpacking and validating wire messages (envelope.h).
*/
#include "envelope.h"

#include <stdio.h>
#include <string.h>

#include "errf.h"


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


/* ---- validation ---------------------------------------------------------
**
** One check per body kind, found through a table indexed by the body case;
** each names the first field over its limit.
*/

static int
check_text(const char *s, size_t limit, const char *what, char *err,
           size_t errlen)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n > limit)
        return errf(err, errlen, "%s of %zu bytes (limit %zu)", what, n, limit);
    return 0;
}


/* Put "NAME[i]: " before the reason in err: which item of a batch failed. */
static int
in_item(char *err, size_t errlen, const char *name, size_t i)
{
    char why[256];

    snprintf(why, sizeof why, "%s", err);
    return errf(err, errlen, "%s[%zu]: %s", name, i, why);
}


static int
check_key(const Trim__Key *key, char *err, size_t errlen)
{
    if (key == NULL)
        return errf(err, errlen, "request without a key");
    if (key->step_index >= TRIM_MAX_STEPS)
        return errf(err, errlen, "step_index %u out of range (limit %d)",
                    key->step_index, TRIM_MAX_STEPS - 1);
    return 0;
}


static int
check_history(const char *problem, char *const *steps, size_t n, char *err,
              size_t errlen)
{
    if (check_text(problem, TRIM_MAX_TEXT, "problem", err, errlen) < 0)
        return -1;
    if (n > TRIM_MAX_STEPS)
        return errf(err, errlen, "%zu steps in one history (limit %d)", n,
                    TRIM_MAX_STEPS);
    for (size_t i = 0; i < n; i++)
        if (check_text(steps[i], TRIM_MAX_TEXT, "step", err, errlen) < 0)
            return in_item(err, errlen, "steps", i);
    return 0;
}


static int
check_batch(size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return errf(err, errlen, "empty batch");
    if (n > TRIM_MAX_BATCH)
        return errf(err, errlen, "batch of %zu items (limit %d)", n,
                    TRIM_MAX_BATCH);
    return 0;
}


static int
check_belief(size_t n, char *err, size_t errlen)
{
    if (n > TRIM_MAX_BELIEF)
        return errf(err, errlen, "belief of %zu values (limit %d)", n,
                    TRIM_MAX_BELIEF);
    return 0;
}


static int
check_nothing(const Trim__Envelope *env, char *err, size_t errlen)
{
    (void)env;
    (void)err;
    (void)errlen;
    return 0;
}


static int
check_ready(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__Ready *r = env->ready;

    if (check_text(r->name, TRIM_MAX_NAME, "name", err, errlen) < 0 ||
        check_text(r->version, TRIM_MAX_NAME, "version", err, errlen) < 0 ||
        check_text(r->backend, TRIM_MAX_TEXT, "backend", err, errlen) < 0)
        return -1;
    return 0;
}


static int
check_disconnect(const Trim__Envelope *env, char *err, size_t errlen)
{
    return check_text(env->disconnect->reason, TRIM_MAX_TEXT, "reason", err,
                      errlen);
}


static int
check_generate(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__GenerateBatch *b = env->generate;

    if (check_batch(b->n_items, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n_items; i++) {
        const Trim__GenerateStep *g = b->items[i];
        if (check_key(g->key, err, errlen) < 0 ||
            check_history(g->problem, g->steps, g->n_steps, err, errlen) < 0)
            return in_item(err, errlen, "items", i);
    }
    return 0;
}


static int
check_step_results(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__StepResultBatch *b = env->step_results;

    if (check_batch(b->n_items, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n_items; i++) {
        const Trim__StepResult *r = b->items[i];
        if (check_key(r->key, err, errlen) < 0 ||
            check_text(r->text, TRIM_MAX_TEXT, "text", err, errlen) < 0 ||
            check_text(r->error, TRIM_MAX_TEXT, "error", err, errlen) < 0)
            return in_item(err, errlen, "items", i);
    }
    return 0;
}


static int
check_score(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__ScoreBatch *b = env->score;

    if (check_batch(b->n_items, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n_items; i++) {
        const Trim__ScoreSteps *s = b->items[i];
        if (check_key(s->key, err, errlen) < 0 ||
            check_history(s->problem, s->steps, s->n_steps, err, errlen) < 0)
            return in_item(err, errlen, "items", i);
    }
    return 0;
}


static int
check_step_scores(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__StepScoresBatch *b = env->step_scores;

    if (check_batch(b->n_items, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n_items; i++) {
        const Trim__StepScores *s = b->items[i];
        if (check_key(s->key, err, errlen) < 0 ||
            check_text(s->error, TRIM_MAX_TEXT, "error", err, errlen) < 0)
            return in_item(err, errlen, "items", i);
        if (s->n_scores > TRIM_MAX_STEPS) {
            errf(err, errlen, "%zu scores (limit %d)", s->n_scores,
                 TRIM_MAX_STEPS);
            return in_item(err, errlen, "items", i);
        }
    }
    return 0;
}


static int
check_route(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__RouteBatch *b = env->route;

    if (check_batch(b->n_items, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n_items; i++) {
        const Trim__ScoredStep *s = b->items[i];
        if (check_key(s->key, err, errlen) < 0 ||
            check_text(s->policy, TRIM_MAX_NAME, "policy", err, errlen) < 0 ||
            check_belief(s->n_belief, err, errlen) < 0)
            return in_item(err, errlen, "items", i);
    }
    return 0;
}


static int
check_decisions(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__DecisionBatch *b = env->decisions;

    if (check_batch(b->n_items, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n_items; i++) {
        const Trim__RouteDecision *d = b->items[i];
        if (check_key(d->key, err, errlen) < 0 ||
            check_text(d->reason, TRIM_MAX_TEXT, "reason", err, errlen) < 0 ||
            check_text(d->error, TRIM_MAX_TEXT, "error", err, errlen) < 0 ||
            check_belief(d->n_belief, err, errlen) < 0)
            return in_item(err, errlen, "items", i);
    }
    return 0;
}


int
env_check_problem(const Trim__ProblemSpec *p, char *err, size_t errlen)
{
    if (p->text == NULL || p->text[0] == '\0')
        return errf(err, errlen, "empty text");
    if (check_text(p->text, TRIM_MAX_TEXT, "text", err, errlen) < 0 ||
        check_text(p->ground_truth, TRIM_MAX_TEXT, "ground_truth", err,
                   errlen) < 0 ||
        check_text(p->source, TRIM_MAX_SOURCE, "source", err, errlen) < 0 ||
        check_text(p->key_id, TRIM_MAX_NAME, "key_id", err, errlen) < 0)
        return -1;
    return 0;
}


static int
check_submit(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__Submit *s = env->submit;

    if (check_text(s->policy, TRIM_MAX_NAME, "policy", err, errlen) < 0 ||
        check_text(s->config, TRIM_MAX_TEXT, "config", err, errlen) < 0 ||
        check_text(s->speculate, 16, "speculate", err, errlen) < 0)
        return -1;
    if (s->n_problems > TRIM_MAX_BATCH)
        return errf(err, errlen, "%zu problems in one submission (limit %d)",
                    s->n_problems, TRIM_MAX_BATCH);
    for (size_t i = 0; i < s->n_problems; i++)
        if (env_check_problem(s->problems[i], err, errlen) < 0)
            return in_item(err, errlen, "problems", i);
    return 0;
}


static int
check_submit_ack(const Trim__Envelope *env, char *err, size_t errlen)
{
    return check_text(env->submit_ack->error, TRIM_MAX_TEXT, "error", err,
                      errlen);
}


static int
check_wait_reply(const Trim__Envelope *env, char *err, size_t errlen)
{
    return check_text(env->wait_reply->error, TRIM_MAX_TEXT, "error", err,
                      errlen);
}


static int
check_step_push(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__StepPush *b = env->step_push;

    if (check_batch(b->n_steps, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n_steps; i++) {
        const Trim__AcceptedStep *s = b->steps[i];
        if (s->step_index >= TRIM_MAX_STEPS)
            return errf(err, errlen,
                        "steps[%zu]: step_index %u out of range "
                        "(limit %d)",
                        i, s->step_index, TRIM_MAX_STEPS - 1);
        if (check_text(s->text, TRIM_MAX_TEXT, "text", err, errlen) < 0 ||
            check_text(s->decided_by, TRIM_MAX_NAME, "decided_by", err,
                       errlen) < 0 ||
            check_text(s->reason, TRIM_MAX_TEXT, "reason", err, errlen) < 0)
            return in_item(err, errlen, "steps", i);
    }
    return 0;
}


static int
check_problems_done(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__ProblemsDone *b = env->problems_done;

    if (check_batch(b->n_results, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n_results; i++) {
        const Trim__ProblemResult *r = b->results[i];
        if (check_text(r->error, TRIM_MAX_TEXT, "error", err, errlen) < 0 ||
            check_text(r->final_answer, TRIM_MAX_TEXT, "final_answer", err,
                       errlen) < 0)
            return in_item(err, errlen, "results", i);
    }
    return 0;
}


static int
check_cancel(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__Cancel *c = env->cancel;

    if (check_batch(c->n_problem_ids, err, errlen) < 0)
        return -1;
    return check_text(c->reason, TRIM_MAX_NAME * 4, "reason", err, errlen);
}


static int
check_cancel_ack(const Trim__Envelope *env, char *err, size_t errlen)
{
    if (env->cancel_ack->n_cancelled > TRIM_MAX_BATCH)
        return errf(err, errlen, "%zu cancelled ids (limit %d)",
                    env->cancel_ack->n_cancelled, TRIM_MAX_BATCH);
    return 0;
}


static int
check_watch(const Trim__Envelope *env, char *err, size_t errlen)
{
    const Trim__Watch *w = env->watch;

    if (check_batch(w->n_problem_ids, err, errlen) < 0)
        return -1;
    if (w->n_from_step != w->n_problem_ids)
        return errf(err, errlen, "%zu from_step values for %zu problem_ids",
                    w->n_from_step, w->n_problem_ids);
    return 0;
}


/* The check of each body kind; a kind not here has no body we know. */
static int (*const s_checks[])(const Trim__Envelope *, char *, size_t) = {
    [TRIM__ENVELOPE__BODY_READY] = check_ready,
    [TRIM__ENVELOPE__BODY_HEARTBEAT] = check_nothing,
    [TRIM__ENVELOPE__BODY_DISCONNECT] = check_disconnect,
    [TRIM__ENVELOPE__BODY_GENERATE] = check_generate,
    [TRIM__ENVELOPE__BODY_STEP_RESULTS] = check_step_results,
    [TRIM__ENVELOPE__BODY_SCORE] = check_score,
    [TRIM__ENVELOPE__BODY_STEP_SCORES] = check_step_scores,
    [TRIM__ENVELOPE__BODY_ROUTE] = check_route,
    [TRIM__ENVELOPE__BODY_DECISIONS] = check_decisions,
    [TRIM__ENVELOPE__BODY_SUBMIT] = check_submit,
    [TRIM__ENVELOPE__BODY_SUBMIT_ACK] = check_submit_ack,
    [TRIM__ENVELOPE__BODY_STATUS_REQUEST] = check_nothing,
    [TRIM__ENVELOPE__BODY_STATUS] = check_nothing,
    [TRIM__ENVELOPE__BODY_WAIT_REQUEST] = check_nothing,
    [TRIM__ENVELOPE__BODY_WAIT_REPLY] = check_wait_reply,
    [TRIM__ENVELOPE__BODY_STEP_PUSH] = check_step_push,
    [TRIM__ENVELOPE__BODY_PROBLEMS_DONE] = check_problems_done,
    [TRIM__ENVELOPE__BODY_CANCEL] = check_cancel,
    [TRIM__ENVELOPE__BODY_CANCEL_ACK] = check_cancel_ack,
    [TRIM__ENVELOPE__BODY_WATCH] = check_watch,
};


static int
validate(const Trim__Envelope *env, char *err, size_t errlen)
{
    size_t kind = (size_t)env->body_case;

    if (env->version != TRIM_PROTOCOL_VERSION)
        return errf(err, errlen, "protocol version %u, expected %d",
                    env->version, TRIM_PROTOCOL_VERSION);
    if (kind >= sizeof s_checks / sizeof *s_checks || s_checks[kind] == NULL)
        return errf(err, errlen, "no message body");
    return s_checks[kind](env, err, errlen);
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


/*
** 1 if m or a message inside it holds a field number 0.  protobuf-c reads
** one written as a two-byte tag (0x82 0x00) as an unknown field and packs it
** back as a one-byte tag that it and every other parser refuse, so a frame
** carrying one would not survive being sent on.  Field 0 is not valid
** protobuf: such a frame is refused here.
*/
static int
has_field_zero(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return 1;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *field = (const char *)m + f->offset;
        const char *quantifier = (const char *)m + f->quantifier_offset;
        ProtobufCMessage *const *items, *sub;
        uint32_t which;
        size_t n;

        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            memcpy(&items, field, sizeof items);
            memcpy(&n, quantifier, sizeof n);
            for (size_t k = 0; k < n; k++)
                if (has_field_zero(items[k]))
                    return 1;
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            memcpy(&which, quantifier, sizeof which);
            if (which != f->id) /* another member of the oneof */
                continue;
        }
        memcpy(&sub, field, sizeof sub);
        if (sub != NULL && has_field_zero(sub))
            return 1;
    }
    return 0;
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
    if (has_field_zero(&env->base)) {
        errf(err, errlen,
             "not a valid protobuf Envelope (%zu bytes): field number 0", len);
        trim__envelope__free_unpacked(env, allocator);
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

/*
** notify.c: pushes to notify clients, and Watch.
**
** A Submit with notify makes its sender the notify client of each problem
** it adds.  Every step such a problem accepts is pushed (an AcceptedStep),
** and its end (a ProblemResult) once it finishes, fails or is cancelled.
**
** A push never runs ahead of the audit: each is queued on its client with
** the writer ticket of the newest row at the time (the row that produced
** it, or later), and sent once the writer's durable ticket passes it, in
** the order queued.  So whatever a client was shown survives a coordinator
** crash as it was shown: recovery cannot redo a pushed step differently,
** and a streamed answer agrees with `trim audit`.  Only the pushes wait;
** the step loop goes on.  coord_flush_pushes, once per loop turn, sends
** each client's durable prefix: one StepPush and then one ProblemsDone
** (more only past TRIM_MAX_BATCH items or PUSH_BYTES), so a step's push
** always goes before its problem's result.  A CancelAck is queued the same
** way (after the cancelled results, once their rows are durable).  Sends
** never wait: a client that left (no route: EHOSTUNREACH under
** ROUTER_MANDATORY) or that reads too slowly (its queue at the high-water
** mark: EAGAIN) loses the pushes, and nothing else happens.
**
** Clients are interned: a problem holds a slot number, and the slot (its
** identity and queued pushes) is freed once no problem pushes to it and
** nothing waits to go.
**
** Watch re-attaches a client: each problem still in memory pushes to it
** from then on, after its accepted steps from from_step are pushed again
** (kept in memory beside the steps, rebuilt from the rows on recovery);
** each problem that ended gets its ProblemResult from the audit store,
** once every row written so far is committed, at most WATCH_LOOKUPS store
** lookups per loop turn; an id never issued gets END_UNKNOWN.
**
** Trust: clients are admitted by CURVE (or the loopback-only default) and
** trusted with the problems they name.  A Watch takes a problem's pushes
** over from whichever identity had them: that is how a client reconnecting
** under a new identity (a DEALER's is random per connection) or a restarted
** gateway gets them back.  Anything finer (which API key may see which
** problem) is the gateway's business, not the coordinator's.
*/
#include "coord_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "hash.h"
#include "log.h"
#include "sock.h"

#define PUSH_BYTES    (TRIM_MAX_MESSAGE / 2) /* flush a client's pushes past */
#define WATCH_LOOKUPS 64 /* ended problems looked up per Watch per turn */

enum { PUSH_STEP, PUSH_RESULT, PUSH_CANCEL_ACK };


static uint64_t
client_key(const unsigned char *id, size_t idlen)
{
    uint64_t k = hash_bytes(0x636c69656e74, id, idlen);
    return k ? k : 1;
}


int
coord_client(coord_t *c, const unsigned char *id, size_t idlen)
{
    uint64_t key = client_key(id, idlen);
    void *v = u64map_get(c->client_index, key);
    int slot;

    if (v != NULL) {
        slot = (int)((intptr_t)v - 1);
        cclient_t *cl = &c->clients[slot];
        if (cl->idlen == idlen && memcmp(cl->id, id, idlen) == 0)
            return slot + 1;
        return 0; /* a hash collision: that identity gets no pushes */
    }
    for (slot = 0; slot < c->n_clients; slot++)
        if (c->clients[slot].idlen == 0)
            break;
    if (slot == c->n_clients) {
        if (c->n_clients == c->cap_clients) {
            int cap = c->cap_clients ? c->cap_clients * 2 : 8;
            cclient_t *n = realloc(c->clients, (size_t)cap * sizeof *n);
            if (n == NULL)
                return 0;
            memset(n + c->cap_clients, 0,
                   (size_t)(cap - c->cap_clients) * sizeof *n);
            c->clients = n;
            c->cap_clients = cap;
        }
        c->n_clients++;
    }
    if (u64map_put(c->client_index, key, (void *)(intptr_t)(slot + 1)) < 0)
        return 0;
    cclient_t *cl = &c->clients[slot];
    memcpy(cl->id, id, idlen);
    cl->idlen = idlen;
    cl->idkey = key;
    cl->refs = 0;
    return slot + 1;
}


void
coord_set_client(coord_t *c, cproblem_t *p, int client)
{
    if (p->client == client)
        return;
    if (p->client > 0)
        c->clients[p->client - 1].refs--;
    p->client = client;
    if (client > 0)
        c->clients[client - 1].refs++;
}


/*
** Queue msg (kind PUSH_*, one malloc block, taken over) on client slot, to
** go once ticket is durable; bytes is its rough size.  Out of memory, the
** push is lost.
*/
static void
enqueue(coord_t *c, int slot, int kind, void *msg, size_t bytes, int64_t ticket)
{
    cclient_t *cl = &c->clients[slot];

    if (msg == NULL)
        return;
    if (cl->n_queue == cl->cap_queue) {
        size_t cap = cl->cap_queue ? cl->cap_queue * 2 : 16;
        cpush_t *q = realloc(cl->queue, cap * sizeof *q);
        if (q == NULL) {
            free(msg);
            return;
        }
        cl->queue = q;
        cl->cap_queue = cap;
    }
    cl->queue[cl->n_queue++] = (cpush_t){ticket, kind, bytes, msg};
}


/* Copy s (NULL: "") cut to max - 1 bytes to *at, advancing it. */
static char *
put_str(char **at, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    char *out = *at;

    if (n >= max)
        n = max - 1;
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
    *at += n + 1;
    return out;
}


static size_t
cut_len(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    return n >= max ? max : n + 1;
}


static void
push_step(coord_t *c, int slot, const cproblem_t *p, int index)
{
    const caccept_t *a = &p->acc[index];
    const char *decided_by = a->why ? a->why : "";
    const char *reason = a->why ? a->why + strlen(a->why) + 1 : "";
    size_t strs = cut_len(p->steps[index], TRIM_MAX_TEXT + 1) +
                  cut_len(decided_by, TRIM_MAX_NAME + 1) +
                  cut_len(reason, TRIM_MAX_TEXT + 1);
    Trim__AcceptedStep *s = malloc(sizeof *s + strs);

    if (s == NULL)
        return; /* out of memory: this push is lost */
    char *at = (char *)(s + 1);
    trim__accepted_step__init(s);
    s->problem_id = (uint64_t)p->id;
    s->step_index = (uint32_t)index;
    s->text = put_str(&at, p->steps[index], TRIM_MAX_TEXT + 1);
    s->strong = a->strong;
    s->score = a->score;
    s->routed = a->routed;
    s->decided_by = put_str(&at, decided_by, TRIM_MAX_NAME + 1);
    s->reason = put_str(&at, reason, TRIM_MAX_TEXT + 1);
    s->tokens = (uint32_t)a->tokens;
    s->prompt_tokens = (uint32_t)a->prompt_tokens;
    s->discarded_tokens = (uint32_t)a->discarded_tokens;
    s->prm_tokens = (uint32_t)a->prm_tokens;
    s->finish = (Trim__Finish)a->finish;
    /* Every accepted step's row is put before its push: the newest
    ** ticket covers it. */
    enqueue(c, slot, PUSH_STEP, s, strs + 96, c->last_ticket);
}


void
coord_notify_step(coord_t *c, const cproblem_t *p, int index)
{
    if (p->client > 0)
        push_step(c, p->client - 1, p, index);
}


static Trim__ProblemEnd
end_of(store_status_t status)
{
    switch (status) {
    case STORE_FINISHED:
        return TRIM__PROBLEM_END__END_FINISHED;
    case STORE_FAILED:
        return TRIM__PROBLEM_END__END_FAILED;
    case STORE_CANCELLED:
        return TRIM__PROBLEM_END__END_CANCELLED;
    default:
        return TRIM__PROBLEM_END__END_UNKNOWN;
    }
}


/*
** Queue client slot's ProblemResult for row (an ended problem; row NULL:
** problem_id is unknown, error says why), with the first call's prompt
** tokens and the finish of the last accepted step, to go once ticket is
** durable.
*/
static void
push_result(coord_t *c, int slot, int64_t problem_id,
            const store_problem_t *row, int64_t prompt_tokens, int finish,
            const store_usage_total_t *usage, const char *error, int64_t ticket)
{
    const char *answer = row ? row->final_answer : NULL;
    if (row != NULL)
        error = row->error;
    size_t strs =
        cut_len(error, TRIM_MAX_TEXT + 1) + cut_len(answer, TRIM_MAX_TEXT + 1);
    Trim__ProblemResult *r = malloc(sizeof *r + strs);

    if (r == NULL)
        return;
    char *at = (char *)(r + 1);
    trim__problem_result__init(r);
    r->problem_id = (uint64_t)problem_id;
    r->end = TRIM__PROBLEM_END__END_UNKNOWN;
    r->correct = -1;
    if (row != NULL) {
        r->run_id = (uint64_t)row->run_id;
        r->end = end_of(row->status);
        r->correct = row->correct;
        r->steps = (uint32_t)row->steps;
        r->regenerated = (uint32_t)row->regenerated_steps;
        r->weak_tokens = (uint64_t)row->weak_tokens;
        r->strong_tokens = (uint64_t)row->strong_tokens;
        r->discarded_tokens = (uint64_t)row->discarded_tokens;
        r->prm_tokens = (uint64_t)row->prm_tokens;
        r->prompt_tokens = (uint64_t)prompt_tokens;
        r->finish = (Trim__Finish)finish;
        r->weak_prompt_tokens = (uint64_t)usage->input[STORE_DRAFT];
        r->weak_cached_tokens = (uint64_t)usage->cached[STORE_DRAFT];
        r->strong_prompt_tokens = (uint64_t)usage->input[STORE_STRONG];
        r->strong_cached_tokens = (uint64_t)usage->cached[STORE_STRONG];
        r->prm_cached_tokens = (uint64_t)usage->prm_cached;
        r->wasted_tokens = (uint64_t)usage->wasted_output;
        r->wasted_prompt_tokens = (uint64_t)usage->wasted_input;
        r->wasted_cached_tokens = (uint64_t)usage->wasted_cached;
    }
    r->error = put_str(&at, error, TRIM_MAX_TEXT + 1);
    r->final_answer = put_str(&at, answer, TRIM_MAX_TEXT + 1);
    enqueue(c, slot, PUSH_RESULT, r, strs + 128, ticket);
}


void
coord_notify_end(coord_t *c, cproblem_t *p, const store_problem_t *row)
{
    if (p->client == 0)
        return;
    /* The problem's row was put just before: the newest ticket. */
    push_result(c, p->client - 1, p->id, row, p->first_prompt_tokens,
                p->last_finish, &p->usage.t, NULL, c->last_ticket);
    coord_set_client(c, p, 0);
}


int
coord_push_cancel_ack(coord_t *c, const unsigned char *id, size_t idlen,
                      uint64_t request_id, const uint64_t *ids, size_t n)
{
    int client = coord_client(c, id, idlen);
    Trim__CancelAck *ack;

    if (client == 0 || (ack = malloc(sizeof *ack + n * sizeof *ids)) == NULL)
        return -1;
    trim__cancel_ack__init(ack);
    ack->request_id = request_id;
    ack->n_cancelled = n;
    ack->cancelled = (uint64_t *)(ack + 1);
    if (n > 0)
        memcpy(ack->cancelled, ids, n * sizeof *ids);
    enqueue(c, client - 1, PUSH_CANCEL_ACK, ack, 0, c->last_ticket);
    return 0;
}


static void
send_env(coord_t *c, const cclient_t *cl, Trim__Envelope *env)
{
    /* Lost when the client left or reads too slowly; never waited on. */
    sock_send_env(c->sock, cl->id, cl->idlen, env);
}


/* Send steps, then results (items of cl's queue), and free them. */
static void
send_batch(coord_t *c, const cclient_t *cl, void **steps, size_t n_steps,
           void **results, size_t n_results)
{
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    if (n_steps > 0) {
        Trim__StepPush sp = TRIM__STEP_PUSH__INIT;
        sp.n_steps = n_steps;
        sp.steps = (Trim__AcceptedStep **)steps;
        env.body_case = TRIM__ENVELOPE__BODY_STEP_PUSH;
        env.step_push = &sp;
        send_env(c, cl, &env);
    }
    if (n_results > 0) {
        Trim__ProblemsDone pd = TRIM__PROBLEMS_DONE__INIT;
        pd.n_results = n_results;
        pd.results = (Trim__ProblemResult **)results;
        env.body_case = TRIM__ENVELOPE__BODY_PROBLEMS_DONE;
        env.problems_done = &pd;
        send_env(c, cl, &env);
    }
    for (size_t i = 0; i < n_steps; i++)
        free(steps[i]);
    for (size_t i = 0; i < n_results; i++)
        free(results[i]);
}


/*
** Send what of cl's queue is durable, in order: steps and results batched
** (steps first), a CancelAck after what was queued before it.
*/
static void
flush_client(coord_t *c, cclient_t *cl, int64_t durable, void **steps,
             void **results)
{
    size_t i, n_steps = 0, n_results = 0, bytes = 0;

    for (i = 0; i < cl->n_queue && cl->queue[i].ticket <= durable; i++) {
        cpush_t *q = &cl->queue[i];
        if (n_steps + n_results > 0 &&
            (q->kind == PUSH_CANCEL_ACK || n_steps >= TRIM_MAX_BATCH ||
             n_results >= TRIM_MAX_BATCH || bytes + q->bytes > PUSH_BYTES)) {
            send_batch(c, cl, steps, n_steps, results, n_results);
            n_steps = n_results = bytes = 0;
        }
        bytes += q->bytes;
        if (q->kind == PUSH_STEP) {
            steps[n_steps++] = q->msg;
        } else if (q->kind == PUSH_RESULT) {
            results[n_results++] = q->msg;
        } else {
            Trim__Envelope env = TRIM__ENVELOPE__INIT;
            env.body_case = TRIM__ENVELOPE__BODY_CANCEL_ACK;
            env.cancel_ack = q->msg;
            send_env(c, cl, &env);
            free(q->msg);
        }
    }
    send_batch(c, cl, steps, n_steps, results, n_results);
    memmove(cl->queue, cl->queue + i, (cl->n_queue - i) * sizeof *cl->queue);
    cl->n_queue -= i;
}


void
coord_flush_pushes(coord_t *c)
{
    int64_t durable = store_writer_durable(c->writer);
    int waiting = 0;

    for (int i = 0; i < c->n_clients; i++) {
        cclient_t *cl = &c->clients[i];
        if (cl->n_queue > 0 && cl->queue[0].ticket <= durable) {
            if (c->push_batch == NULL &&
                (c->push_batch = malloc(2 * TRIM_MAX_BATCH *
                                        sizeof *c->push_batch)) == NULL)
                return; /* out of memory: try again next turn */
            flush_client(c, cl, durable, c->push_batch,
                         c->push_batch + TRIM_MAX_BATCH);
        }
        waiting |= cl->n_queue > 0;
        /* Slots no problem pushes to and with nothing to send are freed. */
        if (cl->idlen > 0 && cl->refs == 0 && cl->n_queue == 0) {
            u64map_del(c->client_index, cl->idkey);
            cl->idlen = 0;
        }
    }
    /* Pushes wait for a commit: ask for it now rather than at batch_ms. */
    if (waiting)
        store_writer_flush(c->writer);
}


void
coord_clients_free(coord_t *c)
{
    for (int i = 0; i < c->n_clients; i++) {
        for (size_t k = 0; k < c->clients[i].n_queue; k++)
            free(c->clients[i].queue[k].msg);
        free(c->clients[i].queue);
    }
    free(c->clients);
    c->clients = NULL;
    c->n_clients = c->cap_clients = 0;
    free(c->push_batch);
    c->push_batch = NULL;
}


/* ---- Watch -------------------------------------------------------------- */

void
coord_on_watch(coord_t *c, const unsigned char *id, size_t idlen,
               const Trim__Watch *w)
{
    int client = coord_client(c, id, idlen);
    uint64_t *ended = NULL;
    size_t n_ended = 0;

    if (client == 0)
        return;
    for (size_t i = 0; i < w->n_problem_ids; i++) {
        int64_t pid = (int64_t)w->problem_ids[i];
        cproblem_t *p = pid > 0 ? coord_find_problem(c, pid) : NULL;
        if (p == NULL && pid > 0 && coord_page_one(c, pid))
            p = coord_find_problem(c, pid);
        if (p != NULL && p->stage != STAGE_DONE) {
            /* from_step is the client's word: compared unsigned, so a
            ** huge one pushes nothing again instead of indexing out. */
            int n = coord_final_steps(p);
            int k = w->from_step[i] < (uint32_t)n ? (int)w->from_step[i] : n;
            coord_set_client(c, p, client);
            for (; k < n; k++)
                coord_notify_step(c, p, k);
        } else if (pid <= 0 || pid >= c->next_problem_id) {
            push_result(c, client - 1, pid, NULL, 0, 0, NULL,
                        "no such problem on this coordinator", 0);
        } else {
            /* Ended: answered from the store once its row is committed. */
            if (ended == NULL &&
                (ended = calloc(w->n_problem_ids, sizeof *ended)) == NULL)
                break;
            ended[n_ended++] = (uint64_t)pid;
        }
    }
    if (n_ended == 0) {
        free(ended);
        return;
    }
    pending_t *pa = coord_add_pending(c, id, idlen);
    if (pa == NULL) {
        free(ended);
        return;
    }
    pa->is_watch = 1;
    pa->ticket = c->last_ticket;
    pa->problem_ids = ended;
    pa->n_ids = n_ended;
    store_writer_flush(c->writer);
}


/* What a ProblemResult needs from a problem's step rows. */
typedef struct result_steps {
    int64_t prompt_tokens; /* of the first row: the first model call */
    int finish;            /* of the last accepted row */
    int n;
    store_usage_acc_t usage;
} result_steps_t;


static int
scan_result_steps(void *ctx, const store_step_t *s)
{
    result_steps_t *r = ctx;

    if (r->n++ == 0)
        r->prompt_tokens = s->prompt_tokens;
    if (s->accepted)
        r->finish = s->finish;
    store_usage_add(&r->usage, s);
    return 0;
}


int
coord_watch_ended(coord_t *c, pending_t *pa)
{
    char err[512];
    int client = coord_client(c, pa->id, pa->idlen);
    size_t end = pa->n_ids - pa->n_done > WATCH_LOOKUPS
                     ? pa->n_done + WATCH_LOOKUPS
                     : pa->n_ids;

    if (client == 0)
        return 1;
    if (c->reader == NULL) {
        c->reader = store_reader_new(c->db, err, sizeof err);
        if (c->reader == NULL) {
            tlog(TLOG_ERROR, "coordinator", "watch: %s", err);
            return 1;
        }
    }
    /* Each id costs three queries on the loop's thread: a few per turn. */
    for (size_t i = pa->n_done; i < end; i++) {
        int64_t pid = (int64_t)pa->problem_ids[i];
        store_problem_t row;
        result_steps_t rs = {0};
        int found = store_get_problem(c->reader, pid, &row, err, sizeof err);
        if (found == 1 &&
            end_of(row.status) == TRIM__PROBLEM_END__END_UNKNOWN) {
            errf(err, sizeof err,
                 "problem %lld is not in flight here and has not ended (its "
                 "run could not be resumed)",
                 (long long)pid);
            found = -1;
        }
        if (found == 1 && (store_each_step(c->reader, pid, scan_result_steps,
                                           &rs, err, sizeof err) < 0 ||
                           store_usage_wasted(c->reader, 0, pid, &rs.usage.t,
                                              err, sizeof err) < 0))
            found = -1;
        if (found == 1)
            push_result(c, client - 1, pid, &row, rs.prompt_tokens, rs.finish,
                        &rs.usage.t, NULL, 0);
        else
            push_result(
                c, client - 1, pid, NULL, 0, 0, NULL,
                found == 0 ? "no such problem on this coordinator" : err, 0);
    }
    pa->n_done = end;
    return end == pa->n_ids;
}

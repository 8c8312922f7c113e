/*
** notify.c: pushes to notify clients, and Watch.
**
** A Submit with notify makes its sender the notify client of each problem
** it adds.  Every step such a problem accepts is pushed (an AcceptedStep),
** and its end (a ProblemResult) once it finishes, fails or is cancelled.
** Pushes are gathered per client during a loop turn and sent by
** coord_flush_pushes once per turn: one StepPush and then one ProblemsDone
** per client (more only past TRIM_MAX_BATCH items or PUSH_BYTES), so a
** step's push always goes before its problem's result.  Sends never wait: a
** client that left (no route: EHOSTUNREACH under ROUTER_MANDATORY) or that
** reads too slowly (its queue at the high-water mark: EAGAIN) loses the
** pushes, and nothing else happens.
**
** Clients are interned: a problem holds a slot number, and the slot (its
** identity and this turn's pushes) is freed once no problem pushes to it.
**
** Watch re-attaches a client: each problem still in memory pushes to it
** from then on, after its accepted steps from from_step are pushed again
** (kept in memory beside the steps, rebuilt from the rows on recovery);
** each problem that ended gets its ProblemResult from the audit store,
** once every row written so far is committed; an id never issued gets
** END_UNKNOWN.
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

#define PUSH_BYTES (TRIM_MAX_MESSAGE / 2) /* flush a client's pushes past */


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
        if (c->clients[slot].idlen == 0 && !c->clients[slot].dirty)
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


/* A copy of s in the push arena, cut to max - 1 bytes; NULL: memory. */
static char *
push_copy(coord_t *c, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    char *out;

    if (n >= max)
        n = max - 1;
    out = arena_alloc(c->push_arena, n + 1);
    if (out != NULL && n > 0)
        memcpy(out, s, n);
    return out;
}


static void
send_env(coord_t *c, const cclient_t *cl, Trim__Envelope *env)
{
    /* Lost when the client left or reads too slowly; never waited on. */
    sock_send_env(c->sock, cl->id, cl->idlen, env);
}


/* Send what waits for one client: its steps, then its results. */
static void
flush_client(coord_t *c, cclient_t *cl)
{
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    if (cl->n_steps > 0) {
        Trim__StepPush sp = TRIM__STEP_PUSH__INIT;
        sp.n_steps = cl->n_steps;
        sp.steps = cl->steps;
        env.body_case = TRIM__ENVELOPE__BODY_STEP_PUSH;
        env.step_push = &sp;
        send_env(c, cl, &env);
        cl->n_steps = 0;
    }
    if (cl->n_results > 0) {
        Trim__ProblemsDone pd = TRIM__PROBLEMS_DONE__INIT;
        pd.n_results = cl->n_results;
        pd.results = cl->results;
        env.body_case = TRIM__ENVELOPE__BODY_PROBLEMS_DONE;
        env.problems_done = &pd;
        send_env(c, cl, &env);
        cl->n_results = 0;
    }
    cl->out_bytes = 0;
}


/*
** Make room for one more item of bytes in client slot's list (*items, *n,
** *cap), flushing the client first when its messages are full, and mark it
** dirty.  0, or -1 when out of memory.
*/
static int
room_for(coord_t *c, int slot, void ***items, size_t *n, size_t *cap,
         size_t bytes)
{
    cclient_t *cl = &c->clients[slot];

    if (*n >= TRIM_MAX_BATCH || cl->out_bytes + bytes > PUSH_BYTES)
        flush_client(c, cl);
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void **v = realloc(*items, ncap * sizeof *v);
        if (v == NULL)
            return -1;
        *items = v;
        *cap = ncap;
    }
    if (!cl->dirty) {
        if (c->n_dirty == c->cap_dirty) {
            int ncap = c->cap_dirty ? c->cap_dirty * 2 : 8;
            int *d = realloc(c->dirty, (size_t)ncap * sizeof *d);
            if (d == NULL)
                return -1;
            c->dirty = d;
            c->cap_dirty = ncap;
        }
        c->dirty[c->n_dirty++] = slot;
        cl->dirty = 1;
    }
    cl->out_bytes += bytes;
    return 0;
}


static void
push_step(coord_t *c, int slot, const cproblem_t *p, int index)
{
    cclient_t *cl = &c->clients[slot];
    const caccept_t *a = &p->acc[index];
    const char *decided_by = a->why ? a->why : "";
    const char *reason = a->why ? a->why + strlen(a->why) + 1 : "";
    size_t bytes = strlen(p->steps[index]) + strlen(reason) + 96;
    Trim__AcceptedStep *s = arena_alloc(c->push_arena, sizeof *s);

    if (s == NULL || room_for(c, slot, (void ***)&cl->steps, &cl->n_steps,
                              &cl->cap_steps, bytes) < 0)
        return; /* out of memory: this push is lost */
    trim__accepted_step__init(s);
    s->problem_id = (uint64_t)p->id;
    s->step_index = (uint32_t)index;
    s->text = push_copy(c, p->steps[index], TRIM_MAX_TEXT + 1);
    s->strong = a->strong;
    s->score = a->score;
    s->routed = a->routed;
    s->decided_by = push_copy(c, decided_by, TRIM_MAX_NAME + 1);
    s->reason = push_copy(c, reason, TRIM_MAX_TEXT + 1);
    s->tokens = (uint32_t)a->tokens;
    s->prompt_tokens = (uint32_t)a->prompt_tokens;
    s->discarded_tokens = (uint32_t)a->discarded_tokens;
    s->prm_tokens = (uint32_t)a->prm_tokens;
    s->finish = (Trim__Finish)a->finish;
    if (!s->text || !s->decided_by || !s->reason)
        return;
    cl->steps[cl->n_steps++] = s;
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
** tokens and the finish of the last accepted step.
*/
static void
push_result(coord_t *c, int slot, int64_t problem_id,
            const store_problem_t *row, int64_t prompt_tokens, int finish,
            const char *error)
{
    cclient_t *cl = &c->clients[slot];
    Trim__ProblemResult *r = arena_alloc(c->push_arena, sizeof *r);

    if (r == NULL || room_for(c, slot, (void ***)&cl->results, &cl->n_results,
                              &cl->cap_results, 256) < 0)
        return;
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
        error = row->error;
    }
    r->error = push_copy(c, error, TRIM_MAX_TEXT + 1);
    r->final_answer =
        push_copy(c, row ? row->final_answer : NULL, TRIM_MAX_TEXT + 1);
    if (r->error == NULL || r->final_answer == NULL)
        return;
    cl->results[cl->n_results++] = r;
}


void
coord_notify_end(coord_t *c, cproblem_t *p, const store_problem_t *row)
{
    if (p->client == 0)
        return;
    push_result(c, p->client - 1, p->id, row, p->first_prompt_tokens,
                p->last_finish, NULL);
    coord_set_client(c, p, 0);
}


void
coord_flush_pushes(coord_t *c)
{
    for (int i = 0; i < c->n_dirty; i++) {
        cclient_t *cl = &c->clients[c->dirty[i]];
        flush_client(c, cl);
        cl->dirty = 0;
    }
    c->n_dirty = 0;
    /* Slots no problem pushes to any more are freed. */
    for (int i = 0; i < c->n_clients; i++) {
        cclient_t *cl = &c->clients[i];
        if (cl->idlen > 0 && cl->refs == 0) {
            u64map_del(c->client_index, cl->idkey);
            cl->idlen = 0;
        }
    }
    arena_reset(c->push_arena);
}


void
coord_clients_free(coord_t *c)
{
    for (int i = 0; i < c->n_clients; i++) {
        free(c->clients[i].steps);
        free(c->clients[i].results);
    }
    free(c->clients);
    c->clients = NULL;
    c->n_clients = c->cap_clients = 0;
    free(c->dirty);
    c->dirty = NULL;
    c->n_dirty = c->cap_dirty = 0;
}


/* ---- Watch -------------------------------------------------------------- */

/* Steps a push may show: a cascade's weak steps are final only once judged. */
static int
final_steps(const cproblem_t *p)
{
    return p->run->shape == POLICY_CASCADE && !p->cascade_strong ? 0
                                                                 : p->n_steps;
}


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
        if (p != NULL && p->stage != STAGE_DONE) {
            /* from_step is the client's word: compared unsigned, so a
            ** huge one pushes nothing again instead of indexing out. */
            int n = final_steps(p);
            int k = w->from_step[i] < (uint32_t)n ? (int)w->from_step[i] : n;
            coord_set_client(c, p, client);
            for (; k < n; k++)
                coord_notify_step(c, p, k);
        } else if (pid <= 0 || pid >= c->next_problem_id) {
            push_result(c, client - 1, pid, NULL, 0, 0,
                        "no such problem on this coordinator");
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
} result_steps_t;


static int
scan_result_steps(void *ctx, const store_step_t *s)
{
    result_steps_t *r = ctx;

    if (r->n++ == 0)
        r->prompt_tokens = s->prompt_tokens;
    if (s->accepted)
        r->finish = s->finish;
    return 0;
}


void
coord_watch_ended(coord_t *c, const pending_t *pa)
{
    char err[512];
    int client = coord_client(c, pa->id, pa->idlen);

    if (client == 0)
        return;
    if (c->reader == NULL) {
        c->reader = store_reader_new(c->db, err, sizeof err);
        if (c->reader == NULL) {
            tlog(TLOG_ERROR, "coordinator", "watch: %s", err);
            return;
        }
    }
    for (size_t i = 0; i < pa->n_ids; i++) {
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
        if (found == 1 && store_each_step(c->reader, pid, scan_result_steps,
                                          &rs, err, sizeof err) < 0)
            found = -1;
        if (found == 1)
            push_result(c, client - 1, pid, &row, rs.prompt_tokens, rs.finish,
                        NULL);
        else
            push_result(c, client - 1, pid, NULL, 0, 0,
                        found == 0 ? "no such problem on this coordinator"
                                   : err);
    }
}

/*
** local.c: the in-process cluster (see local.h).
*/
#include "local.h"

#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "errf.h"
#include "hash.h"
#include "log.h"
#include "policy.h"
#include "pomdp_default.h"
#include "pool_backend.h"
#include "problems.h"
#include "service.h"
#include "store.h"
#include "worker.h"

#define ENDPOINT "inproc://trim-coordinator"
#define FEED     "inproc://trim-decisions"

typedef struct service_thread {
    pthread_t thread;
    int started;
    void *zctx;
    atomic_int *stop;
    backend_t *backend; /* workers: made by start_services, owned until run */
    const pomdp_model_t *pomdp; /* routers: the default POMDP model */
    Trim__Role role;
    uint32_t credit;
    uint32_t deadline_ms; /* workers: announced per-request deadline */
    char name[32];
    int index;
} service_thread_t;


static void *
service_main(void *arg)
{
    service_thread_t *t = arg;
    char err[256];

    if (t->role == TRIM__ROLE__ROLE_ROUTER) {
        router_opts_t o = {0};
        o.endpoint = ENDPOINT;
        o.pub_endpoint = t->index == 0 ? FEED : NULL;
        o.name = t->name;
        o.credit = t->credit * 4;
        o.pomdp_default = t->pomdp;
        router_service_t *r = router_service_new(t->zctx, &o, err, sizeof err);
        if (r == NULL) {
            tlog(TLOG_ERROR, t->name, "%s", err);
            atomic_store(t->stop, 1);
            return NULL;
        }
        router_service_run(r, t->stop);
        router_service_destroy(&r);
        return NULL;
    }
    backend_t *b = t->backend;
    t->backend = NULL; /* worker_new owns it now */
    worker_opts_t o = {0};
    o.endpoint = ENDPOINT;
    o.role = t->role;
    o.credit = t->credit;
    o.name = t->name;
    o.deadline_ms = t->deadline_ms;
    worker_t *w = worker_new(t->zctx, &o, b, err, sizeof err);
    if (w == NULL) {
        tlog(TLOG_ERROR, t->name, "%s", err);
        atomic_store(t->stop, 1);
        return NULL;
    }
    worker_run(w, t->stop);
    worker_destroy(&w);
    return NULL;
}


void
local_tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}


/* The run's configuration as JSON text, for the runs table. */
static char *
config_json(const local_opts_t *o, const char *policy)
{
    json_t *j = json_pack(
        "{s:s, s:I, s:I, s:i, s:i, s:s?, s:{s:i, s:i, s:i, "
        "s:i, s:i}}",
        "policy", policy, "seed", (json_int_t)o->seed, "problems",
        (json_int_t)o->problems, "concurrency", o->concurrency, "max_steps",
        o->max_steps, "calibration", o->calibration, "cluster", "small",
        o->small_workers, "large", o->large_workers, "prm", o->prm_workers,
        "routers", o->routers, "credit", (int)o->credit);
    if (j != NULL && o->sim_profile != NULL)
        json_object_set_new(j, "sim_profile", json_string(o->sim_profile));
    /* Where the model calls went (never the API key). */
    const http_backend_opts_t *h[3] = {o->small_http, o->large_http,
                                       o->prm_http};
    const char *pools[3] = {"small", "large", "prm"};
    json_t *servers = json_object();
    for (int i = 0; i < 3; i++)
        if (h[i] != NULL)
            json_object_set_new(
                servers, pools[i],
                json_pack("{s:s, s:s*}", "url", h[i]->base_url, "model",
                          h[i]->model && *h[i]->model ? h[i]->model : NULL));
    if (j != NULL && o->problems_file != NULL) {
        json_object_set_new(j, "problems_file", json_string(o->problems_file));
        json_object_set_new(
            j, "format",
            json_string(o->problems_format ? o->problems_format : "auto"));
    }
    if (j != NULL && json_object_size(servers) > 0) {
        json_object_set_new(servers, "chat", json_boolean(o->chat));
        json_object_set(j, "servers", servers);
    }
    json_decref(servers);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return s;
}


/* The HTTP settings of pool role's model server; NULL: the simulator. */
static const http_backend_opts_t *
pool_http_opts(const local_opts_t *o, Trim__Role role)
{
    return role == TRIM__ROLE__ROLE_SMALL   ? o->small_http
           : role == TRIM__ROLE__ROLE_LARGE ? o->large_http
                                            : o->prm_http;
}


/* The backend of one worker of pool role: its model server, or the
** simulator.  NULL with a reason in err. */
static backend_t *
make_backend(const local_opts_t *o, const sim_world_t *world, Trim__Role role,
             uint32_t credit, char *err, size_t errlen)
{
    const http_backend_opts_t *http = pool_http_opts(o, role);
    const char *kind = http == NULL                   ? "sim"
                       : role == TRIM__ROLE__ROLE_PRM ? "vllm-pooling"
                       : o->chat                      ? "openai-chat"
                                                      : "openai";
    backend_t *b =
        pool_backend_new(kind, role, world, http, credit, err, errlen);

    if (b == NULL && http != NULL) {
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        errf(err, errlen, "%s pool at %s: %s", env_role_name(role),
             http->base_url ? http->base_url : "(no URL)", why);
    }
    return b;
}


static int
start_services(service_thread_t *t, int *n, void *zctx, atomic_int *stop,
               const local_opts_t *o, const sim_world_t *world,
               const pomdp_model_t *pomdp, Trim__Role role, int count,
               uint32_t credit, char *err, size_t errlen)
{
    for (int i = 0; i < count; i++) {
        service_thread_t *s = &t[*n];
        s->zctx = zctx;
        s->stop = stop;
        s->pomdp = pomdp;
        s->role = role;
        if (role != TRIM__ROLE__ROLE_ROUTER &&
            (s->backend = make_backend(o, world, role, credit, err, errlen)) ==
                NULL)
            return -1;
        s->credit = credit;
        if (role != TRIM__ROLE__ROLE_ROUTER && pool_http_opts(o, role) != NULL)
            s->deadline_ms =
                pool_backend_deadline_ms(role, pool_http_opts(o, role));
        s->index = i;
        snprintf(s->name, sizeof s->name, "%s-%d", env_role_name(role), i + 1);
        if (pthread_create(&s->thread, NULL, service_main, s) != 0) {
            backend_destroy(&s->backend);
            return errf(err, errlen, "cannot start a thread for %s", s->name);
        }
        s->started = 1;
        (*n)++;
    }
    return 0;
}


/* The first pass over a problems file: count, and the simulator's check. */
typedef struct file_scan {
    const local_opts_t *o;
    int64_t n;
    char *err;
    size_t errlen;
    int refused;
} file_scan_t;


/*
** A pool on the built-in simulator fails every problem it did not generate
** at its first step: refuse such a file at the start instead, naming the
** first problem it cannot solve.
*/
static int
scan_file_problem(void *ctx, const problem_rec_t *r)
{
    file_scan_t *x = ctx;
    const local_opts_t *o = x->o;
    char why[256], msg[512];

    x->n++;
    if ((o->small_http && o->large_http && o->prm_http) ||
        sim_problem_check(r->text, why, sizeof why) == 0)
        return 0;
    x->refused = 1;
    errf(x->err, x->errlen,
         "%s:%d: %s; for other problems give every pool a model server "
         "(--small-url, --large-url, --prm-url)",
         o->problems_file, r->line, sim_refusal(why, msg, sizeof msg));
    return 1;
}


/*
** Read o->problems_file once through, keeping nothing: how many problems it
** holds (*n; none is an error) and whether the pools can solve them.  The
** run reads it again lazily (feed).
*/
static int
scan_file_problems(const local_opts_t *o, int64_t *n, char *err, size_t errlen)
{
    file_scan_t x = {o, 0, err, errlen, 0};
    long skipped = 0;

    if (problems_read_file(o->problems_file, o->problems_format,
                           scan_file_problem, &x, &skipped, err, errlen) < 0 ||
        x.refused)
        return -1;
    if (x.n == 0)
        return errf(err, errlen, "no problem in %s (%ld lines skipped)",
                    o->problems_file, skipped);
    *n = x.n;
    return 0;
}


/* What one local_run holds; local_clear releases it. */
typedef struct local {
    local_opts_t o; /* the caller's, with the defaults filled in */
    sim_params_t sim;
    pomdp_model_t pomdp; /* the default for pomdp:LAMBDA without a file */
    sim_world_t *world;
    int64_t fed;             /* problems of the run submitted so far */
    problems_reader_t *file; /* o.problems_file, read as the run goes */
    char *source;            /* "FILE:LINE" of a file's problem */
    size_t source_len;
    int64_t resumed; /* problems a resume recovered */
    store_writer_t *writer;
    void *zctx;
    coord_t *coord;
    char *config;
    int64_t run_id;
    service_thread_t *threads;
    int n_threads;
    atomic_int stop;       /* the service threads' */
    atomic_int coord_stop; /* the coordinator's loop */
    int interrupted;       /* *o.interrupt was seen */
    int64_t start_us;      /* when the coordinator started */
} local_t;


/* Fill in the options the caller left zero. */
static void
fill_defaults(local_opts_t *o)
{
    if (o->policy == NULL)
        o->policy = "thr:0.5";
    if (o->small_workers <= 0)
        o->small_workers = 1;
    if (o->large_workers <= 0)
        o->large_workers = 1;
    if (o->prm_workers <= 0)
        o->prm_workers = 1;
    if (o->routers <= 0)
        o->routers = 1;
    if (o->credit == 0)
        o->credit = 256;
    if (o->concurrency <= 0)
        o->concurrency = 256;
    if (o->max_steps <= 0)
        o->max_steps = 30;
}


/*
** The policy's canonical spec into spec (the router parses it the same way,
** so a bad one fails here, before anything starts).  0 or -1 with err.
*/
static int
canonical_policy(const char *policy, const pomdp_model_t *pomdp, char *spec,
                 size_t len, char *err, size_t errlen)
{
    policy_t *p = policy_new(policy, pomdp, err, errlen);

    if (p == NULL)
        return -1;
    snprintf(spec, len, "%s", policy_spec(p));
    policy_destroy(&p);
    return 0;
}


/* Submit the run's next problem (seeded by its index); 0, or -1 logged. */
static int
feed_one(local_t *l, const char *source, const char *text, const char *truth)
{
    coord_problem_t cp = {0};
    char err[512];

    cp.seed = sim_problem_seed(l->o.seed, (uint64_t)l->fed);
    cp.source = source;
    cp.text = text;
    cp.ground_truth = truth;
    if (coord_submit(l->coord, l->run_id, &cp, err, sizeof err) < 0) {
        tlog(TLOG_ERROR, "trim run", "%s", err);
        return -1;
    }
    l->fed++;
    return 0;
}


/* The next problem of the file into *r (opened on first use): 1, 0 at its
** end, -1 logged. */
static int
next_file_problem(local_t *l, problem_rec_t *r)
{
    char err[512];
    int rc;

    if (l->file == NULL &&
        (l->file = problems_open(l->o.problems_file, l->o.problems_format, NULL,
                                 err, sizeof err)) == NULL) {
        tlog(TLOG_ERROR, "trim run", "%s", err);
        return -1;
    }
    rc = problems_next(l->file, r, err, sizeof err);
    if (rc < 0)
        tlog(TLOG_ERROR, "trim run", "%s", err);
    return rc;
}


/*
** The coordinator's feeder (coord_opts_t.feed): the run's next room
** problems, made by the simulator (source "sim:SEED:I") or read from the
** file (source "FILE:LINE", seeds as for simulated ones), only as the
** admission window has room for them: memory holds a window, never the
** whole set.  A resume goes on after the problems its run already has.
*/
static int
feed(void *ctx, int64_t room)
{
    local_t *l = ctx;
    const local_opts_t *o = &l->o;

    for (; room > 0 && l->fed < o->problems; room--) {
        int rc = 0;
        if (o->problems_file != NULL) {
            problem_rec_t r;
            if (next_file_problem(l, &r) <= 0)
                return -1; /* fewer than the first pass counted */
            snprintf(l->source, l->source_len, "%s:%d", o->problems_file,
                     r.line);
            rc = feed_one(l, l->source, r.text, r.ground_truth);
        } else {
            sim_problem_t sp = {0};
            char source[64];
            if (sim_problem_make(l->world, o->seed, (uint64_t)l->fed, &sp) <
                0) {
                tlog(TLOG_ERROR, "trim run", "out of memory making problems");
                return -1;
            }
            snprintf(source, sizeof source, "sim:%llu:%lld",
                     (unsigned long long)o->seed, (long long)l->fed);
            rc = feed_one(l, source, sp.text, sp.answer);
            sim_problem_clear(&sp);
        }
        if (rc < 0)
            return -1;
    }
    return l->fed < o->problems;
}


/*
** Plan the run: the simulated world, the problems of a file, the audit
** store and the coordinator on its inproc socket.  0, or -1 with err.
*/
static int
local_open(local_t *l, char *err, size_t errlen)
{
    local_opts_t *o = &l->o;
    coord_opts_t co = {0};

    if (o->sim == NULL) {
        if (sim_profile_resolve(o->sim_profile, &l->sim, err, errlen) < 0)
            return -1;
        if (o->sim_profile == NULL || *o->sim_profile == '\0')
            o->sim_profile = "math500";
        o->sim = &l->sim;
    }
    l->world = sim_world_new(o->sim, o->calibration, err, errlen);
    if (l->world == NULL)
        return -1;
    if (o->problems_file != NULL) {
        if (scan_file_problems(o, &o->problems, err, errlen) < 0)
            return -1;
        l->source_len = strlen(o->problems_file) + 24;
        if ((l->source = malloc(l->source_len)) == NULL)
            return errf(err, errlen, "out of memory");
    }
    if (store_migrate(o->db, err, errlen) < 0)
        return -1;
    l->writer = store_writer_new(o->db, NULL, err, errlen);
    if (l->writer == NULL)
        return -1;
    l->zctx = zmq_ctx_new();
    if (l->zctx == NULL)
        return errf(err, errlen, "cannot create a ZeroMQ context");
    co.endpoint = ENDPOINT;
    co.db = o->db;
    co.concurrency = o->concurrency;
    co.max_steps = o->max_steps;
    co.max_tokens = 2048;
    co.temperature = 0.7f;
    co.top_p = 0.8f;
    co.no_affinity = o->no_affinity;
    co.max_queued = o->problems + 1;
    co.exit_when_done = 1;
    co.pomdp_default = &l->pomdp;
    co.request_deadline_ms = o->request_deadline_ms;
    co.speculate = o->speculate;
    co.metrics = o->metrics;
    co.queue_window = o->queue_window;
    co.feed = feed;
    co.feed_ctx = l;
    l->coord = coord_new(l->zctx, &co, l->writer, err, errlen);
    return l->coord ? 0 : -1;
}


/* Open the run (policy spec, configuration); feed submits its problems. */
static int
submit_run(local_t *l, const char *policy, char *err, size_t errlen)
{
    coord_run_opts_t ro = {0};

    l->config = config_json(&l->o, policy);
    ro.policy = policy;
    ro.seed = l->o.seed;
    ro.config = l->config;
    ro.explore = l->o.explore;
    ro.max_strong_tokens = l->o.max_strong_tokens;
    ro.target_share = l->o.target_share;
    l->run_id = coord_add_run(l->coord, &ro, err, errlen);
    return l->run_id < 0 ? -1 : 0;
}


/* A resumed problem's check, as check_simulated's for a file's. */
typedef struct resume_check {
    int64_t run_id;
    char *err;
    size_t errlen;
    int refused;
} resume_check_t;

static int
check_resumed(void *ctx, const store_problem_t *p)
{
    resume_check_t *x = ctx;
    char why[256], msg[512];

    if (p->run_id != x->run_id ||
        sim_problem_check(p->text ? p->text : "", why, sizeof why) == 0)
        return 0;
    x->refused = 1;
    errf(x->err, x->errlen,
         "run %lld, problem %lld (%s): %s; for other problems give every "
         "pool a model server (--small-url, --large-url, --prm-url)",
         (long long)p->run_id, (long long)p->problem_id,
         p->source ? p->source : "", sim_refusal(why, msg, sizeof msg));
    return 1;
}


/*
** Resume run o.resume_run: its unfinished problems, from the store, after
** the simulator's check when a pool is simulated; then the feeder goes on
** after the problems the run has (an interrupt may have come before every
** problem was submitted).
*/
static int
resume_run(local_t *l, char *err, size_t errlen)
{
    resume_check_t x = {l->o.resume_run, err, errlen, 0};
    const local_opts_t *o = &l->o;
    store_summary_t sum;
    problem_rec_t rec;
    int rc = 0;

    l->run_id = o->resume_run;
    store_reader_t *r = store_reader_new(o->db, err, errlen);
    if (r == NULL)
        return -1;
    if (!(o->small_http && o->large_http && o->prm_http))
        rc = store_each_unfinished(r, check_resumed, &x, err, errlen);
    if (rc == 0 && !x.refused)
        rc = store_summary(r, l->run_id, &sum, err, errlen);
    store_reader_destroy(&r);
    if (rc < 0 || x.refused)
        return -1;
    for (l->fed = 0; o->problems_file != NULL && l->fed < sum.problems;
         l->fed++)
        if (next_file_problem(l, &rec) <= 0)
            return errf(err, errlen, "%s holds fewer problems than run %lld",
                        o->problems_file, (long long)l->run_id);
    l->fed = sum.problems;
    l->resumed = coord_recover_run(l->coord, l->run_id, err, errlen);
    return l->resumed < 0 ? -1 : 0;
}


/* Start the routers and the workers of the three pools in their threads. */
static int
start_cluster(local_t *l, char *err, size_t errlen)
{
    const local_opts_t *o = &l->o;
    const struct {
        Trim__Role role;
        int count;
    } pools[] = {
        {TRIM__ROLE__ROLE_ROUTER, o->routers},
        {TRIM__ROLE__ROLE_SMALL, o->small_workers},
        {TRIM__ROLE__ROLE_PRM, o->prm_workers},
        {TRIM__ROLE__ROLE_LARGE, o->large_workers},
    };

    l->threads = calloc((size_t)(o->small_workers + o->large_workers +
                                 o->prm_workers + o->routers),
                        sizeof *l->threads);
    if (l->threads == NULL)
        return errf(err, errlen, "out of memory");
    for (size_t i = 0; i < sizeof pools / sizeof *pools; i++)
        if (start_services(l->threads, &l->n_threads, l->zctx, &l->stop, o,
                           l->world, &l->pomdp, pools[i].role, pools[i].count,
                           o->credit, err, errlen) < 0)
            return -1;
    return 0;
}


/*
** coord_run's tick, ten times a second: the progress, and the stop of
** the coordinator when a service failed or an interrupt came.  The
** coordinator stops first and shuts its peers down; local_clear then stops
** the threads (at once after an interrupt: workers drop their calls in
** flight, and a resume redoes those steps).
*/
static void
tick(void *ctx, const coord_stats_t *s)
{
    local_t *l = ctx;

    if (l->o.interrupt && atomic_load(l->o.interrupt) && !l->interrupted) {
        l->interrupted = 1;
        if (l->o.progress)
            l->o.progress(l->o.progress_ctx, NULL);
    }
    if (l->interrupted || atomic_load(&l->stop)) {
        atomic_store(&l->coord_stop, 1);
    } else if (l->o.progress) {
        /* Out of all the run's problems, not only those fed so far. */
        coord_stats_t all = *s;
        all.submitted += l->o.problems - l->fed;
        l->o.progress(l->o.progress_ctx, &all);
    }
}


/*
** Run the coordinator until every problem is done (or an interrupt) and
** every row committed; out receives the figures.  0, or -1 with err.
*/
static int
run_to_end(local_t *l, local_result_t *out, char *err, size_t errlen)
{
    l->start_us = clock_now_us();
    int rc = coord_run(l->coord, &l->coord_stop, tick, l);
    const char *why = store_writer_error(l->writer);

    out->stats = *coord_stats(l->coord);
    out->run_id = l->run_id;
    out->interrupted = l->interrupted;
    out->resumed = l->resumed;
    if (rc < 0)
        return errf(err, errlen, "the coordinator stopped: %s",
                    why ? why : "see the log above");
    if (atomic_load(&l->stop) && !l->interrupted)
        return errf(err, errlen, "a service failed to start (see the log)");
    if (store_writer_wait(l->writer, 0) < 0) {
        why = store_writer_error(l->writer);
        return errf(err, errlen, "audit store %s: %s", l->o.db,
                    why ? why : "write failed");
    }
    /* The run is done when its last row is committed. */
    out->seconds = (double)(clock_now_us() - l->start_us) / 1e6;
    out->rows = (uint64_t)store_writer_committed(l->writer);
    return 0;
}


/*
** Stop and join the service threads, then free what l holds: the
** coordinator before the ZeroMQ context, the writer after both.
*/
static void
local_clear(local_t *l)
{
    atomic_store(&l->stop, l->interrupted ? 2 : 1);
    for (int i = 0; i < l->n_threads; i++)
        if (l->threads[i].started)
            pthread_join(l->threads[i].thread, NULL);
    free(l->threads);
    coord_destroy(&l->coord);
    if (l->zctx)
        zmq_ctx_term(l->zctx);
    store_writer_destroy(&l->writer);
    sim_world_destroy(&l->world);
    problems_close(&l->file);
    free(l->source);
    free(l->config);
    memset(l, 0, sizeof *l);
}


int
local_run(const local_opts_t *in, local_result_t *out, char *err, size_t errlen)
{
    local_t l = {0};
    int rc = -1;

    memset(out, 0, sizeof *out);
    l.o = *in;
    fill_defaults(&l.o);
    if (pomdp_model_default(&l.pomdp, err, errlen) < 0 ||
        canonical_policy(l.o.policy, &l.pomdp, out->policy, sizeof out->policy,
                         err, errlen) < 0 ||
        local_open(&l, err, errlen) < 0 ||
        (l.o.resume_run ? resume_run(&l, err, errlen)
                        : submit_run(&l, out->policy, err, errlen)) < 0 ||
        start_cluster(&l, err, errlen) < 0)
        goto done;
    rc = run_to_end(&l, out, err, errlen);
done:
    local_clear(&l);
    return rc;
}

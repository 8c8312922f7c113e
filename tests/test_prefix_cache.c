/*
** test_prefix_cache.c: the simulated servers' prefix cache, and what the
** simulator backend reports and charges with it; serial prefill.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "backend_sim.h"
#include "prefix_cache.h"
#include "sim.h"

/* Keys of a prompt whose segment i is the text "s<i>" after "s<i-1>"... */
static void
chain(uint64_t *keys, const char *const *seg, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++)
        keys[i] = k = prefix_cache_key(k, seg[i], strlen(seg[i]));
}


static void
test_longest_prefix_and_lru(void **state)
{
    (void)state;
    const char *a[] = {"problem A", "step 1", "step 2", "step 3"};
    const char *b[] = {"problem A", "step 1", "other 2"};
    const char *c[] = {"problem C", "step 1"};
    uint64_t ka[4], kb[3], kc[2];
    int32_t ta[] = {100, 10, 20, 30}, tb[] = {100, 10, 25}, tc[] = {60, 10};
    prefix_cache_t *pc = prefix_cache_new(200);

    assert_non_null(pc);
    chain(ka, a, 4);
    chain(kb, b, 3);
    chain(kc, c, 2);
    /* Nothing cached at first; then the whole prompt is. */
    assert_int_equal(prefix_cache_use(pc, ka, ta, 3), 0);
    assert_int_equal(prefix_cache_tokens(pc), 130);
    assert_int_equal(prefix_cache_use(pc, ka, ta, 4), 130);
    assert_int_equal(prefix_cache_tokens(pc), 160);
    /* A prompt that leaves the chain gets the shared part only. */
    assert_int_equal(prefix_cache_use(pc, kb, tb, 3), 110);
    assert_int_equal(prefix_cache_tokens(pc), 185);
    /* 70 more tokens: the least recently used segments go, the ends of
    ** chains first (A's steps 3 and 2, then B's), never past the capacity;
    ** A's problem and step 1 stay. */
    assert_int_equal(prefix_cache_use(pc, kc, tc, 2), 0);
    assert_int_equal(prefix_cache_tokens(pc), 180);
    assert_int_equal(prefix_cache_use(pc, kb, tb, 3), 110);
    assert_int_equal(prefix_cache_use(pc, ka, ta, 4), 110);
    assert_int_equal(prefix_cache_tokens(pc), 185);
    /* A segment larger than the cache is never kept, and evicts nothing. */
    const char *h[] = {"a long problem"};
    uint64_t kh[1];
    int32_t th[] = {500};
    chain(kh, h, 1);
    assert_int_equal(prefix_cache_use(pc, kh, th, 1), 0);
    assert_int_equal(prefix_cache_use(pc, kh, th, 1), 0);
    assert_int_equal(prefix_cache_use(pc, ka, ta, 4), 160);
    prefix_cache_destroy(&pc);
    assert_null(pc);
    prefix_cache_destroy(&pc);
}


/* n results of b, waiting on its timer for the modelled latency. */
static void
collect(backend_t *b, backend_result_t *r, size_t n)
{
    size_t got = 0;

    while ((got += b->collect(b, r + got, n - got)) < n) {
        zmq_pollitem_t item;
        zmq_poll(&item, b->poll_items(b, &item, 1), 100);
    }
}


/* One call of a backend; its result (latency, cached tokens). */
static backend_result_t
call(backend_t *b, const char *problem, const char *const *steps, size_t n,
     backend_job_t job)
{
    backend_request_t req = {0};
    backend_result_t r = {0};

    req.job = job;
    req.problem = problem;
    req.steps = steps;
    req.n_steps = n;
    req.max_tokens = 512;
    req.seed = 42 + n;
    assert_int_equal(b->submit(b, &req), 0);
    collect(b, &r, 1);
    assert_null(r.error);
    return r;
}


static void
test_sim_backend_charges_only_uncached_prefill(void **state)
{
    (void)state;
    sim_params_t p;
    char err[256];
    sim_problem_t prob;

    sim_params_default(&p);
    p.prefill_us[SIM_WEAK] = 2.0;
    p.prm_prefill_us = 3.0;
    p.prefix_cache_tokens = 100000;
    sim_world_t *w = sim_world_new(&p, NULL, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(sim_problem_make(w, 1, 0, &prob), 0);
    backend_t *weak = backend_sim_new(w, BACKEND_SIM_WEAK);
    backend_t *prm = backend_sim_new(w, BACKEND_SIM_PRM);
    assert_non_null(weak);
    assert_non_null(prm);

    /* The first draft finds nothing; the second finds its whole prompt
    ** (the problem and the step this server wrote) but the last token. */
    backend_result_t r0 = call(weak, prob.text, NULL, 0, BACKEND_GENERATE);
    assert_int_equal(r0.cached_tokens, 0);
    const char *steps[] = {r0.text};
    backend_result_t r1 = call(weak, prob.text, steps, 1, BACKEND_GENERATE);
    assert_int_equal(r1.cached_tokens, r1.prompt_tokens - 1);
    /* Latency: base + decode, and prefill of the one token not cached. */
    assert_int_equal(r1.latency_us, 2);

    /* The PRM's second history extends its first. */
    backend_result_t s0 = call(prm, prob.text, steps, 1, BACKEND_SCORE);
    assert_int_equal(s0.cached_tokens, 0);
    assert_int_equal(s0.latency_us, 3 * s0.input_tokens);
    const char *two[] = {r0.text, r1.text};
    backend_result_t s1 = call(prm, prob.text, two, 2, BACKEND_SCORE);
    assert_int_equal(s1.cached_tokens, s0.input_tokens);
    assert_int_equal(s1.latency_us, 3 * (s1.input_tokens - s0.input_tokens));

    backend_result_clear(&r0);
    backend_result_clear(&r1);
    backend_result_clear(&s0);
    backend_result_clear(&s1);
    backend_destroy(&weak);
    backend_destroy(&prm);
    sim_problem_clear(&prob);
    sim_world_destroy(&w);
}


/* Two histories scored at once by a server that prefills one at a time:
** the second waits for the first's prefill. */
static void
test_serial_prefill_queues_calls(void **state)
{
    (void)state;
    sim_params_t p;
    char err[256];
    sim_problem_t prob;

    sim_params_default(&p);
    p.prm_prefill_us = 1000.0; /* long enough that the two overlap */
    p.serial_prefill = 1;
    sim_world_t *w = sim_world_new(&p, NULL, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(sim_problem_make(w, 1, 0, &prob), 0);
    backend_t *prm = backend_sim_new(w, BACKEND_SIM_PRM);
    assert_non_null(prm);
    const char *steps[] = {"Step one.", "Step two."};
    backend_request_t req = {0};
    req.job = BACKEND_SCORE;
    req.problem = prob.text;
    req.steps = steps;
    req.n_steps = 2;
    assert_int_equal(prm->submit(prm, &req), 0);
    req.n_steps = 1;
    assert_int_equal(prm->submit(prm, &req), 0);
    backend_result_t r[2];
    collect(prm, r, 2);
    /* The first alone; the second also waits for the rest of the first's
    ** prefill (tens of ms: the two were submitted microseconds apart). */
    int64_t first = 1000 * (int64_t)r[0].input_tokens;
    int64_t second = 1000 * (int64_t)r[1].input_tokens;
    assert_int_equal(r[0].latency_us, first);
    assert_true(r[1].latency_us > second);
    assert_true(r[1].latency_us <= first + second);
    backend_result_clear(&r[0]);
    backend_result_clear(&r[1]);
    backend_destroy(&prm);
    sim_problem_clear(&prob);
    sim_world_destroy(&w);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_prefix_and_lru),
        cmocka_unit_test(test_sim_backend_charges_only_uncached_prefill),
        cmocka_unit_test(test_serial_prefill_queues_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
** test_gateway_job.c: a gateway job (gateway/job.c) as the coordinator
** thread fills it: steps taken in index order only (a repeat after a Watch
** or a gap is ignored), the first end kept, a refusal's status and reason,
** an orphan's steps and end adopted by the job that was acknowledged late,
** and the eventfd woken.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway_testing.h"


static gw_step_t
step(uint32_t index, const char *text)
{
    gw_step_t s = {.index = index, .text = (char *)text, .score = -1};
    return s;
}


/* Steps in order only; NULL strings become empty ones; 40 steps grow it. */
static void
test_steps_in_order(void **state)
{
    (void)state;
    gw_job_t *j = job_new(1, "2 + 2?", 7, NULL);
    assert_non_null(j);
    assert_string_equal(j->text, "2 + 2?");
    assert_string_equal(j->key_id, "");
    assert_int_equal(j->state, JOB_WAITING);
    assert_int_equal(j->result.correct, -1);

    gw_step_t s = step(0, NULL);
    assert_int_equal(job_add_step(j, &s), 1);
    assert_string_equal(j->steps[0].text, "");
    assert_string_equal(j->steps[0].decided_by, "");
    assert_int_equal(job_add_step(j, &s), 0); /* a repeat */
    s = step(2, "skips one");
    assert_int_equal(job_add_step(j, &s), 0); /* a gap */
    assert_int_equal(j->n_steps, 1);
    for (uint32_t i = 1; i < 40; i++) {
        char text[16];
        snprintf(text, sizeof text, "step %u", i);
        s = step(i, text);
        s.decided_by = "router";
        assert_int_equal(job_add_step(j, &s), 1);
    }
    assert_int_equal(j->n_steps, 40);
    assert_true(j->cap_steps >= 40);
    assert_string_equal(j->steps[39].text, "step 39");
    assert_string_equal(j->steps[39].decided_by, "router");
    job_destroy(&j);
    assert_null(j);
    job_destroy(&j); /* NULL-safe */
    job_destroy(NULL);
}


/* The first end is kept (strings copied); a later one changes nothing. */
static void
test_end_once(void **state)
{
    (void)state;
    gw_job_t *j = job_new(0, "x", 1, "alice");
    char answer[] = "4";
    gw_result_t r = {.end = 1, .final_answer = answer, .correct = 1};

    assert_int_equal(job_end(j, &r), 0);
    answer[0] = '5'; /* the job holds its own copy */
    assert_int_equal(j->state, JOB_ENDED);
    assert_string_equal(j->result.final_answer, "4");
    assert_string_equal(j->result.error, "");
    gw_result_t again = {.end = 2, .error = "late", .correct = 0};
    assert_int_equal(job_end(j, &again), 0);
    assert_int_equal(j->result.end, 1);
    assert_int_equal(j->result.correct, 1);
    assert_string_equal(j->result.error, "");
    assert_string_equal(j->key_id, "alice");
    job_destroy(&j);
}


/* A refusal's status and reason, and the wake the request thread reads. */
static void
test_refuse_and_wake(void **state)
{
    uint64_t n = 0;

    (void)state;
    gw_job_t *j = job_new(0, NULL, 1, NULL);
    assert_non_null(j);
    assert_null(j->text);
    assert_true(read(j->efd, &n, sizeof n) < 0); /* nothing yet */
    job_refuse(j, 429, "busy: too many problems in flight");
    job_wake(j);
    job_wake(j);
    assert_int_equal(read(j->efd, &n, sizeof n), (ssize_t)sizeof n);
    assert_int_equal(n, 2);
    assert_int_equal(j->state, JOB_REFUSED);
    assert_int_equal(j->http_status, 429);
    assert_string_equal(j->error, "busy: too many problems in flight");
    job_destroy(&j);
}


/*
** Pushes that beat the ack land in an orphan (no text, no eventfd: waking
** it does nothing); the job adopts its steps after its own and its end.
*/
static void
test_orphan_adopted(void **state)
{
    (void)state;
    gw_job_t *o = job_new_orphan(42), *j = job_new(0, "p", 1, NULL);
    assert_non_null(o);
    assert_true(o->orphan);
    assert_int_equal(o->problem_id, 42);
    assert_int_equal(o->efd, -1);
    job_wake(o);
    for (uint32_t i = 0; i < 3; i++) {
        gw_step_t s = step(i, i == 2 ? "last" : "early");
        assert_int_equal(job_add_step(o, &s), 1);
    }
    gw_result_t r = {.end = 1, .final_answer = "7", .correct = 0};
    assert_int_equal(job_end(o, &r), 0);

    gw_step_t s = step(0, "early"); /* the job saw step 0 itself */
    assert_int_equal(job_add_step(j, &s), 1);
    job_adopt(j, o);
    assert_int_equal(j->n_steps, 3);
    assert_string_equal(j->steps[2].text, "last");
    assert_int_equal(j->state, JOB_ENDED);
    assert_string_equal(j->result.final_answer, "7");
    assert_int_equal(j->result.correct, 0);
    job_destroy(&o);
    job_destroy(&j);
}


/* An orphan that has not ended leaves the job running. */
static void
test_orphan_unfinished(void **state)
{
    (void)state;
    gw_job_t *o = job_new_orphan(1), *j = job_new(0, "p", 1, NULL);
    gw_step_t s = step(0, "only");

    assert_int_equal(job_add_step(o, &s), 1);
    j->state = JOB_RUNNING;
    job_adopt(j, o);
    assert_int_equal(j->n_steps, 1);
    assert_int_equal(j->state, JOB_RUNNING);
    job_destroy(&o);
    job_destroy(&j);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_in_order),
        cmocka_unit_test(test_end_once),
        cmocka_unit_test(test_refuse_and_wake),
        cmocka_unit_test(test_orphan_adopted),
        cmocka_unit_test(test_orphan_unfinished),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

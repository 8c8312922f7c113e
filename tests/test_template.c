/*
** test_template.c: prompts rendered and read back.
**
** The simulated servers answer by reading the problem and the accepted
** steps back out of the prompt a worker rendered.  For every template
** (ChatML, Llama 3, raw), with the default, a custom or no system prompt
** and with 0 to 3 steps, reading the rendered prompt gives back exactly
** the problem and the steps; the PRM input reads back the same way; and
** text that is not such a prompt is refused with the reason.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prompt.h"

static const char problem[] = "Ann has 3 apples. She buys 4 more. How many?";
static const char *const steps[] = {"She has 3 + 4 = 7 apples.",
                                    "Line one.\nLine two.",
                                    "So the answer is \\boxed{7}."};


static void
check_parsed(const tpl_parsed_t *p, size_t n, const char *where)
{
    if (p->problem == NULL || strcmp(p->problem, problem) != 0)
        fail_msg("%s: problem read back as '%s'", where,
                 p->problem ? p->problem : "(null)");
    if (p->n_steps != n)
        fail_msg("%s: %zu steps read back, %zu written", where, p->n_steps, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(p->steps[i], steps[i]) != 0)
            fail_msg("%s: step %zu read back as '%s'", where, i, p->steps[i]);
}


static void
test_every_template_reads_back(void **state)
{
    (void)state;
    static const char *const systems[] = {NULL, "Be brief.", ""};
    char err[256], where[128];

    for (int k = TPL_CHATML; k <= TPL_RAW; k++) {
        tpl_kind_t kind;
        assert_int_equal(tpl_parse_kind(tpl_kind_name((tpl_kind_t)k), &kind),
                         0);
        assert_int_equal(kind, k);
        for (size_t s = 0; s < 3; s++) {
            tpl_t t = {(tpl_kind_t)k, systems[s], NULL};
            for (size_t n = 0; n <= 3; n++) {
                tpl_parsed_t p;
                char *prompt = tpl_prompt(&t, problem, steps, n);
                assert_non_null(prompt);
                snprintf(where, sizeof where, "%s, system %zu, %zu steps",
                         tpl_kind_name((tpl_kind_t)k), s, n);
                if (tpl_parse_prompt(prompt, &p, err, sizeof err) < 0)
                    fail_msg("%s: %s", where, err);
                check_parsed(&p, n, where);
                if (s == 1 && k != TPL_RAW)
                    assert_non_null(strstr(prompt, "Be brief."));
                tpl_parsed_clear(&p);
                tpl_parsed_clear(&p); /* idempotent */
                free(prompt);
            }
        }
    }
    tpl_kind_t kind;
    assert_int_equal(tpl_parse_kind("mistral", &kind), -1);
}


static void
test_prm_input_and_chat_read_back(void **state)
{
    (void)state;
    tpl_t t = {TPL_CHATML, NULL, NULL};
    tpl_parsed_t p;
    char err[256];

    for (size_t n = 1; n <= 3; n++) {
        char *input = tpl_prm_input(&t, problem, steps, n);
        assert_non_null(input);
        assert_int_equal(tpl_parse_prm(input, NULL, &p, err, sizeof err), 0);
        /* The PRM's user turn holds the instruction too; its steps are
        ** exact. */
        assert_non_null(strstr(p.problem, problem));
        assert_int_equal(p.n_steps, n);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(p.steps[i], steps[i]);
        tpl_parsed_clear(&p);
        free(input);

        char *user = tpl_user(&t, problem), *a = tpl_assistant(steps, n);
        assert_int_equal(tpl_parse_chat(user, a, &p, err, sizeof err), 0);
        check_parsed(&p, n, "chat");
        tpl_parsed_clear(&p);
        free(user);
        free(a);
    }
}


static void
test_what_is_not_a_prompt(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"<|im_start|>user\nQ<|im_end|>\n",
         "chatml prompt without a user and an open assistant turn"},
        {"<|start_header_id|>user<|end_header_id|>\n\nQ",
         "llama3 prompt without a user and an open assistant turn"},
        {"Just a question?",
         "raw prompt without \"\\n\\nSolution:\" after the question"},
        {"<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nAnswer: 4",
         "the assistant turn does not start with \"Solution:\""},
    };
    tpl_parsed_t p;
    char err[256];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (tpl_parse_prompt(cases[i].text, &p, err, sizeof err) != -1 ||
            strcmp(err, cases[i].why) != 0)
            fail_msg("case %zu: '%s', want '%s'", i, err, cases[i].why);
        assert_null(p.problem);
    }
    assert_int_equal(tpl_parse_prm("no turns here", NULL, &p, err, sizeof err),
                     -1);
    assert_string_equal(err, "PRM input without ChatML user and assistant "
                             "turns");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_template_reads_back),
        cmocka_unit_test(test_prm_input_and_chat_read_back),
        cmocka_unit_test(test_what_is_not_a_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

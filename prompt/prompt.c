/*
** prompt.c: rendering prompts for model servers and reading them back
** (see prompt.h).
*/
#include "prompt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

const char TPL_DEFAULT_INSTRUCTION[] =
    "Solve the following math problem step by step, given in LaTeX format, "
    "clearly and concisely, and present the final answer as \\boxed{X}, "
    "where X is the fully simplified solution.";

const char TPL_QWEN_SYSTEM[] =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

#define QUESTION_LABEL "Question: "
#define QUESTION       "\n" QUESTION_LABEL
#define SOLUTION       "Solution:"
#define DELIMITER      "\n\n"

static const char *const kind_names[] = {"chatml", "llama3", "raw"};

/* ChatML and Llama 3 markup around one turn. */
static const struct {
    const char *begin, *system_open, *user_open, *assistant_open, *close;
} markup[] = {
    [TPL_CHATML] = {"", "<|im_start|>system\n", "<|im_start|>user\n",
                    "<|im_start|>assistant\n", "<|im_end|>\n"},
    [TPL_LLAMA3] = {"<|begin_of_text|>",
                    "<|start_header_id|>system<|end_header_id|>\n\n",
                    "<|start_header_id|>user<|end_header_id|>\n\n",
                    "<|start_header_id|>assistant<|end_header_id|>\n\n",
                    "<|eot_id|>"},
};

/* A growable string; a failed append leaves ok = 0 and the result NULL. */
typedef struct sb {
    char *s;
    size_t len, cap;
    int ok;
} sb_t;


static void
sb_add(sb_t *b, const char *text, size_t n)
{
    if (!b->ok)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->ok = 0;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
}


static void
sb_str(sb_t *b, const char *text)
{
    sb_add(b, text, strlen(text));
}


static char *
sb_done(sb_t *b)
{
    if (!b->ok || b->s == NULL) {
        free(b->s);
        return b->ok ? strdup("") : NULL;
    }
    return b->s;
}


int
tpl_parse_kind(const char *name, tpl_kind_t *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (tpl_kind_t)i;
            return 0;
        }
    return -1;
}


const char *
tpl_kind_name(tpl_kind_t kind)
{
    return (int)kind >= 0 && kind <= TPL_RAW ? kind_names[kind] : "?";
}


static const char *
instruction(const tpl_t *t)
{
    return t->instruction ? t->instruction : TPL_DEFAULT_INSTRUCTION;
}


/* The system text to send, or NULL for none. */
static const char *
system_text(const tpl_t *t)
{
    if (t->system != NULL)
        return *t->system ? t->system : NULL;
    return t->kind == TPL_CHATML ? TPL_QWEN_SYSTEM : NULL;
}


char *
tpl_user(const tpl_t *t, const char *problem)
{
    sb_t b = {NULL, 0, 0, 1};
    sb_str(&b, instruction(t));
    sb_str(&b, QUESTION);
    sb_str(&b, problem);
    return sb_done(&b);
}


static void
add_assistant(sb_t *b, const char *const *steps, size_t n)
{
    sb_str(b, SOLUTION);
    sb_str(b, n ? " " : DELIMITER);
    for (size_t i = 0; i < n; i++) {
        sb_str(b, steps[i]);
        sb_str(b, DELIMITER);
    }
}


char *
tpl_assistant(const char *const *steps, size_t n)
{
    sb_t b = {NULL, 0, 0, 1};
    add_assistant(&b, steps, n);
    return sb_done(&b);
}


char *
tpl_prompt(const tpl_t *t, const char *problem, const char *const *steps,
           size_t n)
{
    sb_t b = {NULL, 0, 0, 1};
    const char *sys = system_text(t);

    if (t->kind == TPL_RAW) {
        if (sys) {
            sb_str(&b, sys);
            sb_str(&b, DELIMITER);
        }
        sb_str(&b, instruction(t));
        sb_str(&b, QUESTION);
        sb_str(&b, problem);
        sb_str(&b, DELIMITER);
        add_assistant(&b, steps, n);
        return sb_done(&b);
    }
    sb_str(&b, markup[t->kind].begin);
    if (sys) {
        sb_str(&b, markup[t->kind].system_open);
        sb_str(&b, sys);
        sb_str(&b, markup[t->kind].close);
    }
    sb_str(&b, markup[t->kind].user_open);
    sb_str(&b, instruction(t));
    sb_str(&b, QUESTION);
    sb_str(&b, problem);
    sb_str(&b, markup[t->kind].close);
    sb_str(&b, markup[t->kind].assistant_open);
    add_assistant(&b, steps, n); /* the turn stays open */
    return sb_done(&b);
}


char *
tpl_prm_assistant(const char *const *steps, size_t n)
{
    sb_t b = {NULL, 0, 0, 1};
    for (size_t i = 0; i < n; i++) {
        sb_str(&b, steps[i]);
        sb_str(&b, TPL_STEP_TAG);
    }
    return sb_done(&b);
}


char *
tpl_prm_input(const tpl_t *t, const char *problem, const char *const *steps,
              size_t n)
{
    sb_t b = {NULL, 0, 0, 1};
    sb_str(&b, markup[TPL_CHATML].system_open);
    sb_str(&b, instruction(t));
    sb_str(&b, markup[TPL_CHATML].close);
    sb_str(&b, markup[TPL_CHATML].user_open);
    sb_str(&b, problem);
    sb_str(&b, markup[TPL_CHATML].close);
    sb_str(&b, markup[TPL_CHATML].assistant_open);
    for (size_t i = 0; i < n; i++) {
        sb_str(&b, steps[i]);
        sb_str(&b, TPL_STEP_TAG);
    }
    sb_str(&b, markup[TPL_CHATML].close);
    return sb_done(&b);
}


/* ---- reading back ------------------------------------------------------- */


static char *
dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}


void
tpl_parsed_clear(tpl_parsed_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_steps; i++)
        free(p->steps[i]);
    free(p->steps);
    free(p->problem);
    memset(p, 0, sizeof *p);
}


/*
** Append the pieces of [s, end) separated by sep to out->steps.  A last
** piece with no sep after it counts only when trailing_ok (a PRM scores
** only what a step tag ends).
*/
static int
split_steps(const char *s, const char *end, const char *sep, int trailing_ok,
            tpl_parsed_t *out)
{
    size_t seplen = strlen(sep);
    while (s < end) {
        const char *hit = strstr(s, sep);
        if (hit == NULL || hit >= end) {
            if (!trailing_ok)
                break;
            hit = end; /* a last piece without its separator */
        }
        char **steps = realloc(out->steps, (out->n_steps + 1) * sizeof *steps);
        if (steps == NULL)
            return -1;
        out->steps = steps;
        if ((out->steps[out->n_steps] = dup_n(s, (size_t)(hit - s))) == NULL)
            return -1;
        out->n_steps++;
        s = hit == end ? end : hit + seplen;
    }
    return 0;
}


/* The problem from a user message: what follows "Question: ". */
static int
read_user(const char *user, size_t len, tpl_parsed_t *out)
{
    const char *q = NULL;
    for (const char *s = user; s + strlen(QUESTION) <= user + len; s++)
        if (memcmp(s, QUESTION, strlen(QUESTION)) == 0) {
            q = s + strlen(QUESTION);
            break;
        }
    if (q == NULL && len >= strlen(QUESTION_LABEL) &&
        memcmp(user, QUESTION_LABEL, strlen(QUESTION_LABEL)) == 0)
        q = user + strlen(QUESTION_LABEL);
    if (q == NULL)
        q = user;
    out->problem = dup_n(q, len - (size_t)(q - user));
    return out->problem ? 0 : -1;
}


/* The steps from an open assistant turn "Solution: S1\n\nS2\n\n". */
static int
read_assistant(const char *a, size_t len, tpl_parsed_t *out, char *err,
               size_t errlen)
{
    const char *end = a + len;
    size_t sl = strlen(SOLUTION);

    if (len < sl || memcmp(a, SOLUTION, sl) != 0)
        return errf(err, errlen,
                    "the assistant turn does not start with \"Solution:\"");
    a += sl;
    if (end - a >= 2 && memcmp(a, DELIMITER, 2) == 0 && end - a == 2)
        return 0; /* no step yet */
    if (a < end && *a == ' ')
        a++;
    /* Every accepted step ends with the delimiter; so does the prefix. */
    if (end - a >= 2 && memcmp(end - 2, DELIMITER, 2) == 0)
        end -= 2;
    if (a >= end)
        return 0;
    return split_steps(a, end, DELIMITER, 1, out) < 0
               ? errf(err, errlen, "out of memory")
               : 0;
}


/* Text between open and the next close after it; NULL if absent. */
static const char *
between(const char *s, const char *open, const char *close, size_t *len)
{
    const char *a = strstr(s, open), *b;
    if (a == NULL)
        return NULL;
    a += strlen(open);
    b = close ? strstr(a, close) : NULL;
    *len = b ? (size_t)(b - a) : strlen(a);
    return a;
}


int
tpl_parse_prompt(const char *prompt, tpl_parsed_t *out, char *err,
                 size_t errlen)
{
    const char *user, *assistant;
    size_t ulen, alen;

    memset(out, 0, sizeof *out);
    if (strstr(prompt, "<|im_start|>") ||
        strstr(prompt, "<|start_header_id|>")) {
        tpl_kind_t k = strstr(prompt, "<|im_start|>") ? TPL_CHATML : TPL_LLAMA3;
        user = between(prompt, markup[k].user_open, markup[k].close, &ulen);
        assistant = between(prompt, markup[k].assistant_open, NULL, &alen);
        if (user == NULL || assistant == NULL)
            return errf(err, errlen,
                        "%s prompt without a user and an open "
                        "assistant turn",
                        kind_names[k]);
    } else {
        const char *sol = strstr(prompt, DELIMITER SOLUTION);
        if (sol == NULL)
            return errf(err, errlen,
                        "raw prompt without \"\\n\\nSolution:\" after the "
                        "question");
        user = prompt;
        ulen = (size_t)(sol - prompt);
        assistant = sol + 2;
        alen = strlen(assistant);
    }
    if (read_user(user, ulen, out) < 0 ||
        read_assistant(assistant, alen, out, err, errlen) < 0) {
        tpl_parsed_clear(out);
        return -1;
    }
    return 0;
}


int
tpl_parse_chat(const char *user, const char *assistant, tpl_parsed_t *out,
               char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (read_user(user, strlen(user), out) < 0 ||
        read_assistant(assistant, strlen(assistant), out, err, errlen) < 0) {
        tpl_parsed_clear(out);
        return -1;
    }
    return 0;
}


int
tpl_parse_prm(const char *input_or_user, const char *assistant,
              tpl_parsed_t *out, char *err, size_t errlen)
{
    const char *user = input_or_user, *a = assistant;
    size_t ulen = strlen(input_or_user), alen = a ? strlen(a) : 0;

    memset(out, 0, sizeof *out);
    if (a == NULL) {
        user = between(input_or_user, markup[TPL_CHATML].user_open,
                       markup[TPL_CHATML].close, &ulen);
        a = between(input_or_user, markup[TPL_CHATML].assistant_open,
                    markup[TPL_CHATML].close, &alen);
        if (user == NULL || a == NULL)
            return errf(err, errlen,
                        "PRM input without ChatML user and assistant turns");
    }
    out->problem = dup_n(user, ulen);
    if (out->problem == NULL ||
        split_steps(a, a + alen, TPL_STEP_TAG, 0, out) < 0) {
        tpl_parsed_clear(out);
        return errf(err, errlen, "out of memory");
    }
    return 0;
}

/*
** problem.c: the problem generator.
**
** A problem is a person, a kind of object and a chain of operations on how
** many objects they have, written with the sentence templates of
** templates.c:
**
**   Mia has 12 marbles. She buys 3 bags of 4 marbles each. Then she gives
**   away 5 marbles. ... How many marbles does Mia have now?
**
** One operation is one step of the correct solution; the number of
** operations follows the measured solution-length distribution (length.c),
** tilted to the world's mean_steps.  A problem's difficulty class is not
** chosen here: it follows from a hash of the text (sim_problem_class).
** True values stay integral, at least 2 (so "marbles" is always plural in the
** problem) and below 10^7: subtractions never go below 2, divisions are
** exact, multiplications stop at 10^6.
*/
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

typedef struct {
    const char *name;
    int gender; /* 0: she, 1: he */
} person_t;

static const person_t people[] = {
    {"Mia", 0},  {"Leo", 1},   {"Ava", 0},  {"Noah", 1},
    {"Emma", 0}, {"Liam", 1},  {"Zoe", 0},  {"Omar", 1},
    {"Ivy", 0},  {"Ravi", 1},  {"Lena", 0}, {"Kofi", 1},
    {"Sara", 0}, {"Diego", 1}, {"Nora", 0}, {"Yusuf", 1}};

/* Plurals that lose their "s" in the singular (a step may write "1 ..."). */
static const char *const objects[] = {
    "marbles", "stickers", "apples", "coins", "stamps",  "cards",
    "pencils", "shells",   "beads",  "books", "cookies", "crayons",
    "buttons", "ribbons",  "seeds",  "rocks"};

static const char *const containers[] = {"bags", "boxes",  "packs",
                                         "jars", "crates", "tins"};

#define COUNT(a)     ((int)(sizeof(a) / sizeof((a)[0])))
#define MUL_LIMIT    1000000 /* no multiplication past this value */
#define MIN_VALUE    2
#define SENTENCE_MAX 160 /* bytes of one rendered sentence, generously */

static sim_span_t
span(const char *s)
{
    sim_span_t sp = {s, 0};
    while (s[sp.n])
        sp.n++;
    return sp;
}

static int64_t
below(rng_t *r, int64_t n)
{
    return (int64_t)rng_below(r, (uint64_t)n);
}

/*
** Choose the next operation for the current value v (an integer): kind and
** operands such that the result stays integral and in range.  Add always
** works, so it is the fallback.
*/
static void
choose_op(rng_t *r, int64_t v, sim_opkind_t *kind, int64_t *a, int64_t *b)
{
    *b = 0;
    for (int attempt = 0; attempt < 16; attempt++) {
        int64_t u = below(r, 100), max, divisors[8];
        int n = 0;
        if (u < 25) {
            *kind = SIM_OP_ADD;
            *a = 2 + below(r, 48);
            return;
        }
        if (u < 40) {
            *kind = SIM_OP_ADDG;
            *a = 2 + below(r, 8);
            *b = 2 + below(r, 11);
            return;
        }
        if (u < 60) {
            max = v - MIN_VALUE < 49 ? v - MIN_VALUE : 49;
            if (max < 2)
                continue;
            *kind = SIM_OP_SUB;
            *a = 2 + below(r, max - 1);
            return;
        }
        if (u < 70) {
            *a = 2 + below(r, 5);
            *b = 2 + below(r, 9);
            if (*a * *b > v - MIN_VALUE)
                continue;
            *kind = SIM_OP_SUBG;
            return;
        }
        if (u < 85) {
            *a = 2 + below(r, 4);
            if (v * *a > MUL_LIMIT)
                continue;
            *kind = SIM_OP_MUL;
            *b = 0;
            return;
        }
        for (int64_t d = 2; d <= 9; d++)
            if (v % d == 0 && v / d >= MIN_VALUE)
                divisors[n++] = d;
        if (n == 0)
            continue;
        *kind = SIM_OP_DIV;
        *a = divisors[below(r, n)];
        *b = 0;
        return;
    }
    *kind = SIM_OP_ADD;
    *a = 2 + below(r, 48);
    *b = 0;
}

/* A template of the given kind, uniformly. */
static const char *
pick_template(rng_t *r, sim_opkind_t kind)
{
    int n = 0, k;
    for (int i = 0; i < sim_n_op_templates; i++)
        n += sim_op_templates[i].kind == kind;
    k = (int)below(r, n);
    for (int i = 0; i < sim_n_op_templates; i++)
        if (sim_op_templates[i].kind == kind && k-- == 0)
            return sim_op_templates[i].fmt;
    return sim_op_templates[0].fmt; /* not reached */
}

static char *
strdup_buf(const sim_buf_t *b)
{
    char *s = malloc(b->len + 1);
    if (s)
        memcpy(s, b->p, b->len + 1);
    return s;
}

/*
** Write problem index of problem set seed; see sim.h.  Problems depend on
** (seed, index) and the world's solution-length distribution only.
*/
int
sim_problem_make(const sim_world_t *w, uint64_t seed, uint64_t index,
                 sim_problem_t *out)
{
    rng_t r =
        rng_seeded(hash_combine(hash_combine(SIM_KEY_PROBLEM, seed), index));
    const person_t *who = &people[below(&r, COUNT(people))];
    sim_fill_t f = {0};
    sim_buf_t b;
    char answer[32];
    sim_buf_t ab;
    int n_ops = sim_length_sample(w, &r);
    size_t cap = (size_t)(n_ops + 2) * SENTENCE_MAX;
    int64_t v = 10 + below(&r, 111);
    char *text = malloc(cap);

    *out = (sim_problem_t){0};
    if (!text)
        return -1;
    sim_buf_init(&b, text, cap);
    f.name = span(who->name);
    f.gender = who->gender;
    f.object = span(objects[below(&r, COUNT(objects))]);
    f.container = span(containers[below(&r, COUNT(containers))]);
    f.nums[0] = v;
    sim_tmpl_render(&b, sim_intro_template, &f);

    for (int i = 0; i < n_ops; i++) {
        sim_opkind_t kind;
        size_t at;
        choose_op(&r, v, &kind, &f.nums[0], &f.nums[1]);
        sim_buf_putc(&b, ' ');
        if (i > 0)
            sim_buf_puts(&b, sim_connectors[below(&r, sim_n_connectors)]);
        at = b.len;
        sim_tmpl_render(&b, pick_template(&r, kind), &f);
        if (i == 0 && b.p[at] >= 'a' && b.p[at] <= 'z')
            b.p[at] = (char)(b.p[at] - 32);
        sim_buf_putc(&b, '.');
        v = sim_apply(kind, v * SIM_ONE, f.nums[0], f.nums[1]) / SIM_ONE;
    }
    sim_buf_putc(&b, ' ');
    sim_tmpl_render(&b, sim_question_template, &f);

    sim_buf_init(&ab, answer, sizeof answer);
    sim_buf_int(&ab, v);
    if (b.overflow)
        goto fail; /* SENTENCE_MAX is too small: a bug, not bad input */
    out->text = text;
    out->answer = strdup_buf(&ab);
    out->n_steps = n_ops;
    if (!out->answer)
        goto fail;
    return 0;
fail:
    free(text);
    *out = (sim_problem_t){0};
    return -1;
}

/* Free the strings of a problem; NULL-safe, idempotent. */
void
sim_problem_clear(sim_problem_t *p)
{
    if (!p)
        return;
    free(p->text);
    free(p->answer);
    *p = (sim_problem_t){0};
}


uint64_t
sim_problem_seed(uint64_t seed, uint64_t index)
{
    return hash_combine(seed, index);
}

/* The difficulty class of a problem text; see sim.h. */
int
sim_problem_class(const sim_world_t *w, const char *problem)
{
    sim_text_t t;
    if (!problem || sim_text_parse(problem, &t, NULL, 0) < 0)
        return -1;
    return sim_class_of(w, sim_problem_hash(problem, strlen(problem)));
}

/*
** model.c: the simulated weak and strong models.
**
** A model reads the prompt (problem text and the steps so far), recovers the
** current value from the last step that states one, and writes the next
** operation's step:
**
**   She buys 3 bags of 4 marbles each, so she now has 12 + 3 * 4 = 24
**   marbles.
**
** and on the last operation adds " The answer is \boxed{24}.".  Asked for a
** step past the last operation it writes a short closing step restating the
** value it has.  It errs with the per-model, per-class, per-hardness rate of
** world.c; errors cascade because the next step computes from the value
** written, unless the strong model repairs the derailment: it then starts
** "Going back to the problem, she had 27 marbles before this." and computes
** from the true value.
**
** The text is short; completion_tokens stands for what a real model would
** write for the step (a lognormal draw around the measured mean tokens per
** step, longer on critical steps), and is what cost accounting and the
** latency model use.  Part of the draw belongs to the step, not the model
** (tokens_corr): the strong model regenerating a step the weak model wrote
** long writes it long too, as a planner that prices a regeneration by the
** draft's length (the TRIM release's) assumes.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define TOKENS_SIGMA  0.6 /* lognormal spread: coefficient of variation 0.66 */
#define TOKENS_MIN    5
#define TOKENS_MAX    1000000
#define CLOSING_SHARE 0.25 /* a closing restatement is short */

static const double two_pi = 6.283185307179586;

/* A standard normal draw keyed by h (Box-Muller). */
static double
normal_of(uint64_t h)
{
    rng_t r = rng_seeded(hash_combine(h, SIM_KEY_TOKENS));
    double u1 = rng_uniform(&r), u2 = rng_uniform(&r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(two_pi * u2);
}

/*
** Completion tokens of one step: lognormal with the given mean, at least
** TOKENS_MIN, drawn from its own streams so it does not depend on whether
** the step erred.  The normal deviate mixes the request's own draw (h) with
** the step's (hs: the prompt, shared by both models) so that the two
** models' log lengths at one step correlate by corr.
*/
static int
sample_tokens(uint64_t h, uint64_t hs, double corr, double mean)
{
    double z = normal_of(h);
    if (corr > 0)
        z = sqrt(corr) * normal_of(hs) + sqrt(1.0 - corr) * z;
    double x = mean * exp(TOKENS_SIGMA * z - 0.5 * TOKENS_SIGMA * TOKENS_SIGMA);
    if (!(x >= TOKENS_MIN))
        return TOKENS_MIN;
    if (x >= TOKENS_MAX)
        return TOKENS_MAX;
    return (int)lround(x);
}

/* "v + a * b" and the like: the computation the step shows. */
static void
put_expression(sim_buf_t *b, sim_opkind_t kind, int64_t v, const sim_op_t *op)
{
    static const char *const sign[] = {
        [SIM_OP_ADD] = " + ",  [SIM_OP_ADDG] = " + ", [SIM_OP_SUB] = " - ",
        [SIM_OP_SUBG] = " - ", [SIM_OP_MUL] = " * ",  [SIM_OP_DIV] = " / ",
        [SIM_OP_ADD2] = " + ", [SIM_OP_SUB2] = " - "};
    sim_buf_value(b, v);
    sim_buf_puts(b, sign[kind]);
    sim_buf_int(b, op->a);
    if (kind == SIM_OP_ADDG || kind == SIM_OP_SUBG)
        sim_buf_puts(b, " * ");
    else if (kind == SIM_OP_ADD2 || kind == SIM_OP_SUB2)
        sim_buf_puts(b, kind == SIM_OP_ADD2 ? " + " : " - ");
    else
        return;
    sim_buf_int(b, op->b);
}

/* "24 marbles" ("1 marble" for exactly one). */
static void
put_amount(sim_buf_t *b, const sim_text_t *t, int64_t x)
{
    size_t n = t->object.n;
    sim_buf_value(b, x);
    sim_buf_putc(b, ' ');
    if ((x == SIM_ONE || x == -SIM_ONE) && n > 1 && t->object.s[n - 1] == 's')
        n--;
    sim_buf_put(b, t->object.s, n);
}

static void
put_boxed(sim_buf_t *b, int64_t x)
{
    sim_buf_puts(b, " The answer is \\boxed{");
    sim_buf_value(b, x);
    sim_buf_puts(b, "}.");
}

/* The value the prompt's steps leave off at: the last one stated. */
static int64_t
current_value(const sim_text_t *t, const char *const *steps, size_t n_steps)
{
    int64_t v;
    for (size_t i = n_steps; i-- > 0;)
        if (sim_step_value(steps[i], &v) == 0)
            return v;
    return t->initial;
}

/*
** The value step idx writes: right, unless the model errs.  A trajectory that
** is already wrong stays wrong: should an error (or a division rounded to
** hundredths) land exactly on the true value, the model writes its right
** computation instead, or one hundredth off when even that is the truth.
** *v is the value the step computes from; a repair has replaced it by the
** true one.
*/
static int64_t
step_result(const sim_world_t *w, sim_model_t model, const sim_text_t *t,
            const int64_t *truth, size_t idx, int64_t v, int cls, int critical,
            uint64_t h, sim_opkind_t *shown)
{
    const sim_op_t *op = &t->ops[idx];
    int64_t right = sim_apply(op->kind, v, op->a, op->b);
    int64_t before = idx ? truth[idx - 1] : t->initial;
    int64_t x = right;
    rng_t r = rng_seeded(h);

    *shown = op->kind;
    if (rng_uniform(&r) < w->err_rate[model][cls][critical])
        x = sim_slip(&r, op, v, right, shown);
    if (v != before && x == truth[idx]) {
        *shown = op->kind;
        x = right != truth[idx] ? right : truth[idx] + 1;
    }
    return x;
}

/*
** Does this step repair a derailment?  Only the strong model does, with
** probability repair, when the value it reads is not the true one: it goes
** back to the problem and recomputes from the true value (its own step may
** still err).  Drawn from its own stream, so whether a step repairs does not
** change its other draws.
*/
static int
repairs(const sim_world_t *w, sim_model_t model, int64_t v, int64_t before,
        uint64_t h)
{
    return model == SIM_STRONG && v != before && w->p.repair > 0 &&
           sim_unit(h, SIM_KEY_REPAIR) < w->p.repair;
}

/* The closing step: "So she ends up with 12 apples." and the boxed value. */
static void
put_closing(sim_buf_t *b, const sim_text_t *t, int64_t v)
{
    sim_buf_puts(b, "So ");
    sim_buf_puts(b, sim_subject_pronoun[t->gender]);
    sim_buf_puts(b, " ends up with ");
    put_amount(b, t, v);
    sim_buf_putc(b, '.');
    put_boxed(b, v);
}

/*
** Step n_steps (an operation of the problem) into b, from the value v the
** steps so far reached: a repair back to the true value first when the
** strong model makes one, then the operation's clause and its result, right
** or wrong.  hp is the problem's hash, h the request's.  Returns whether
** the step is critical.
*/
static int
put_step(const sim_world_t *w, sim_model_t model, const sim_text_t *t,
         size_t n_steps, int64_t v, uint64_t hp, uint64_t h, sim_buf_t *b)
{
    const sim_op_t *op = &t->ops[n_steps];
    int critical = sim_step_critical(w, hp, n_steps);
    int64_t truth[SIM_MAX_OPS], x, before;
    sim_opkind_t shown;
    size_t at;

    sim_truth(t, truth);
    before = n_steps ? truth[n_steps - 1] : t->initial;
    if (repairs(w, model, v, before, h)) {
        v = before;
        sim_buf_puts(b, "Going back to the problem, ");
        sim_buf_puts(b, sim_subject_pronoun[t->gender]);
        sim_buf_puts(b, " had ");
        put_amount(b, t, v);
        sim_buf_puts(b, " before this. ");
    }
    x = step_result(w, model, t, truth, n_steps, v, sim_class_of(w, hp),
                    critical, h, &shown);
    at = b->len;
    sim_buf_put(b, op->clause.s, op->clause.n);
    if (b->p[at] >= 'a' && b->p[at] <= 'z')
        b->p[at] = (char)(b->p[at] - 32);
    sim_buf_puts(b, ", so ");
    sim_buf_puts(b, sim_subject_pronoun[t->gender]);
    sim_buf_puts(b, " now has ");
    put_expression(b, shown, v, op);
    sim_buf_puts(b, " = ");
    put_amount(b, t, x);
    sim_buf_putc(b, '.');
    if (n_steps + 1 == (size_t)t->n_ops)
        put_boxed(b, x);
    return critical;
}

/* The simulated model writes the next step; see sim.h. */
int
sim_generate_cached(const sim_world_t *w, sim_cache_t *cache, sim_model_t model,
                    const char *problem, const char *const *steps,
                    size_t n_steps, int max_tokens, uint64_t seed,
                    sim_step_t *out, char *err, size_t errlen)
{
    sim_text_t t;
    int64_t v;
    uint64_t hp, hs, h;
    size_t plen, cap, bytes;
    int closing, tokens, critical = 0;
    double mean;
    const sim_params_t *p = &w->p;
    sim_buf_t b;
    char *text;

    *out = (sim_step_t){0};
    if (model != SIM_WEAK && model != SIM_STRONG)
        return errf(err, errlen, "sim_generate: unknown model %d", (int)model);
    if (n_steps > 0 && !steps)
        return errf(err, errlen, "sim_generate: %zu steps but no array",
                    n_steps);
    if (sim_cache_read(cache, problem, &t, &plen, &hp, err, errlen) < 0)
        return -1;
    h = hp;
    bytes = plen;
    for (size_t i = 0; i < n_steps; i++)
        h = sim_step_hash_bytes(h, steps[i], &bytes);
    hs = h; /* the prompt's: the same for both models */
    h = hash_combine(hash_combine(h, seed), (uint64_t)model);
    v = current_value(&t, steps, n_steps);
    closing = n_steps >= (size_t)t.n_ops;

    cap = (closing ? 0 : t.ops[n_steps].clause.n) + 2 * t.object.n + 300;
    text = malloc(cap);
    if (!text)
        return errf(err, errlen, "sim_generate: out of memory");
    sim_buf_init(&b, text, cap);
    if (closing)
        put_closing(&b, &t, v);
    else
        critical = put_step(w, model, &t, n_steps, v, hp, h, &b);

    mean = closing ? p->tokens_per_step[model] * CLOSING_SHARE
                   : w->step_tokens[model][critical];
    tokens = sample_tokens(h, hs, p->tokens_corr, mean);
    out->finish = (closing || n_steps + 1 == (size_t)t.n_ops) ? SIM_FINISH_END
                                                              : SIM_FINISH_STEP;
    if (max_tokens > 0 && tokens > max_tokens) {
        /* Cut where the text would be at max_tokens: the value, the part
        ** that matters, is usually lost, as with a real truncated step. */
        b.len = b.len * (size_t)max_tokens / (size_t)tokens;
        text[b.len] = '\0';
        tokens = max_tokens;
        out->finish = SIM_FINISH_LENGTH;
    }
    out->text = text;
    out->completion_tokens = tokens;
    out->prompt_tokens = sim_prompt_tokens_of(bytes);
    out->latency_us =
        llround(p->base_us[model] + p->prefill_us[model] * out->prompt_tokens +
                p->decode_us[model] * tokens);
    return 0;
}

int
sim_generate(const sim_world_t *w, sim_model_t model, const char *problem,
             const char *const *steps, size_t n_steps, int max_tokens,
             uint64_t seed, sim_step_t *out, char *err, size_t errlen)
{
    return sim_generate_cached(w, NULL, model, problem, steps, n_steps,
                               max_tokens, seed, out, err, errlen);
}

/* Free the text of a step; NULL-safe, idempotent. */
void
sim_step_clear(sim_step_t *s)
{
    if (!s)
        return;
    free(s->text);
    s->text = NULL;
}

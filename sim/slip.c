/*
** slip.c: how a simulated model gets a step wrong.
**
** A wrong step writes a wrong value that a reader could believe: an
** arithmetic slip (off by a little), a digit slip (one digit miswritten), or
** the wrong operation (adding where the problem multiplies).  The written
** expression shows the operation actually performed, and the value is never
** the right one, so the error is real and every later step that computes
** from it inherits it.
*/
#include "sim_internal.h"

/* The operation a careless reader performs instead of kind. */
static sim_opkind_t
misread(sim_opkind_t kind)
{
    switch (kind) {
    case SIM_OP_ADD:
        return SIM_OP_SUB;
    case SIM_OP_SUB:
        return SIM_OP_ADD;
    case SIM_OP_ADDG:
        return SIM_OP_ADD2;
    case SIM_OP_SUBG:
        return SIM_OP_SUB2;
    case SIM_OP_MUL:
        return SIM_OP_ADD;
    case SIM_OP_DIV:
        return SIM_OP_SUB;
    default:
        return SIM_OP_ADD;
    }
}

static int64_t
magnitude(int64_t v)
{
    return v < 0 ? -v : v;
}

/* right off by 1-9 or 10-90 units, never below zero when right is not. */
static int64_t
off_by(rng_t *r, int64_t right)
{
    int64_t d = (int64_t)(1 + rng_below(r, 9)) * SIM_ONE;
    int64_t x;
    if (rng_uniform(r) < 0.3)
        d *= 10;
    x = rng_uniform(r) < 0.5 ? right - d : right + d;
    if ((x < 0 && right >= 0) || magnitude(x) > SIM_VALUE_MAX)
        x = x < right ? right + d : right - d;
    return x;
}

/* right with one digit of its whole part changed; right if too short. */
static int64_t
digit_slip(rng_t *r, int64_t right)
{
    int64_t units = magnitude(right) / SIM_ONE, scale = 1, x;
    int digits = 0, pos, old, neu;
    for (int64_t u = units; u > 0; u /= 10)
        digits++;
    if (digits < 2)
        return right;
    pos = (int)rng_below(r, (uint64_t)digits);
    for (int i = 0; i < pos; i++)
        scale *= 10;
    old = (int)(units / scale % 10);
    /* A new digit, never the old one, and never a leading zero. */
    do
        neu = (int)rng_below(r, 10);
    while (neu == old || (pos == digits - 1 && neu == 0));
    units += (neu - old) * scale;
    x = units * SIM_ONE + magnitude(right) % SIM_ONE;
    if (x > SIM_VALUE_MAX)
        return right;
    return right < 0 ? -x : x;
}

/*
** A wrong result for op applied to v, whose right result is right.  Sets
** *shown to the operation the step's expression should show.  The result
** always differs from right.
*/
int64_t
sim_slip(rng_t *r, const sim_op_t *op, int64_t v, int64_t right,
         sim_opkind_t *shown)
{
    double u = rng_uniform(r);
    int64_t x;
    *shown = op->kind;
    if (u < 0.3) {
        sim_opkind_t k = misread(op->kind);
        x = sim_apply(k, v, op->a, op->b);
        if (x != right && (x >= 0 || v < 0)) {
            *shown = k;
            return x;
        }
    } else if (u < 0.6) {
        x = digit_slip(r, right);
        if (x != right)
            return x;
    }
    return off_by(r, right);
}

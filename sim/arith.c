/*
** arith.c: what an operation does to a value, and the true values of a
** problem's solution.
**
** Values are hundredths; operands are plain integers.  Results saturate at
** +-SIM_VALUE_MAX so a derailed trajectory can grow without overflowing, and
** a division that does not come out even is rounded to hundredths (half away
** from zero), as a person writing "13 / 4 = 3.25" would.
*/
#include "sim_internal.h"

static int64_t
clamp(int64_t v)
{
    if (v > SIM_VALUE_MAX)
        return SIM_VALUE_MAX;
    if (v < -SIM_VALUE_MAX)
        return -SIM_VALUE_MAX;
    return v;
}

/* v * k for |v| <= SIM_VALUE_MAX and 0 <= k, saturating. */
static int64_t
mul(int64_t v, int64_t k)
{
    if (k != 0 && (v > SIM_VALUE_MAX / k || v < -SIM_VALUE_MAX / k))
        return v < 0 ? -SIM_VALUE_MAX : SIM_VALUE_MAX;
    return v * k;
}

static int64_t
divide(int64_t v, int64_t k)
{
    int64_t q, r;
    if (k <= 0)
        return v; /* never generated; a parsed "0 piles" leaves v alone */
    q = v / k;
    r = v % k;
    if (r < 0)
        r = -r;
    if (2 * r >= k)
        q += v < 0 ? -1 : 1;
    return q;
}

/*
** The value after applying kind with integer operands a, b to v (all
** values in hundredths).  Operands have at most 7 digits (the template
** matcher reads no more), so a * b * SIM_ONE and the sums below stay far
** inside int64_t.
*/
int64_t
sim_apply(sim_opkind_t kind, int64_t v, int64_t a, int64_t b)
{
    switch (kind) {
    case SIM_OP_ADD:
        return clamp(v + a * SIM_ONE);
    case SIM_OP_ADDG:
        return clamp(v + a * b * SIM_ONE);
    case SIM_OP_SUB:
        return clamp(v - a * SIM_ONE);
    case SIM_OP_SUBG:
        return clamp(v - a * b * SIM_ONE);
    case SIM_OP_MUL:
        return mul(v, a);
    case SIM_OP_DIV:
        return divide(v, a);
    case SIM_OP_ADD2:
        return clamp(v + (a + b) * SIM_ONE);
    case SIM_OP_SUB2:
        return clamp(v - (a + b) * SIM_ONE);
    }
    return v;
}

/*
** Replay a problem: truth[i] = the true value after step i, for i < n_ops.
** truth must hold t->n_ops values.
*/
void
sim_truth(const sim_text_t *t, int64_t *truth)
{
    int64_t v = t->initial;
    for (int i = 0; i < t->n_ops; i++) {
        const sim_op_t *op = &t->ops[i];
        v = sim_apply(op->kind, v, op->a, op->b);
        truth[i] = v;
    }
}

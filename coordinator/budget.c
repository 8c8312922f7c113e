/*
** budget.c: the strong-token share controller (see budget.h).
*/
#include "budget.h"

/*
** A typical problem generates a few hundred tokens (MATH-500: 400-700 per
** problem across the real sweep), so a debt of one problem's worth of
** strong tokens moves a threshold by a quarter of its range.
*/
#define DEFAULT_SCALE 2000.0


budget_t
budget_make(double target)
{
    budget_t b = {0};
    b.target = target > 0 && target < 1 ? target : 0;
    b.scale = DEFAULT_SCALE;
    return b;
}


void
budget_observe(budget_t *b, int64_t strong_tokens, int64_t weak_tokens)
{
    b->strong += (double)strong_tokens;
    b->total += (double)(strong_tokens + weak_tokens);
}


float
budget_bias(const budget_t *b)
{
    if (b->target <= 0)
        return 0.0f;
    double debt = b->target * b->total - b->strong;
    double bias = debt / b->scale;
    return (float)(bias > 1 ? 1 : bias < -1 ? -1 : bias);
}


double
budget_share(const budget_t *b)
{
    return b->total > 0 ? b->strong / b->total : 0.0;
}

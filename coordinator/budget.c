/*
** budget.c: the strong-token share controller (see budget.h).
*/
#include "budget.h"

/*
** Tokens of debt for a full push.  Hundreds of problems are in flight at
** once, so the tokens of decisions already taken arrive late; a small scale
** swings the bias from bound to bound and the strong model goes to
** whichever drafts are routed while the run is in debt, not to the worst.
** A large one leaves the share off target for longer.  Measured on 2,000
** simulated problems at targets 0.05 and 0.25 (thr:0.5 and pomdp:0.001):
** scale 2,000 held the share but cost up to 11 points of accuracy against
** 10,000, which held every share within 1 point; 30,000 drifted up to 3.
*/
#define DEFAULT_SCALE 10000.0


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

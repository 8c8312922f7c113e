/*
** agg_episodes.h: TRIM-Agg training episodes from the audit store.
**
** Each finished, graded problem of an exploring run is one episode: its
** routed drafts in step order, each with the features the router saw, the
** action and the probability the policy gave it, and the reward (train.h).
*/
#ifndef TRIM_AGG_EPISODES_H
#define TRIM_AGG_EPISODES_H

#include <stddef.h>
#include <stdint.h>

#include "train.h"

typedef struct agg_read_info {
    int64_t run_id;
    char policy[256];          /* the run's policy spec */
    int controller;            /* the run held a strong-token share (its
                                  decisions carry a bias the rows do not
                                  record) */
    size_t problems;           /* episodes read */
    size_t skipped;            /* problems left out: unfinished, ungraded, a
                                  decision overridden by a budget cap, or rows
                                  without a probability */
    double accuracy;           /* over the episodes read */
    double strong_per_problem; /* strong tokens per episode */
} agg_read_info_t;

/*
** Append the episodes of run run_id (0: the latest run) of the store at db
** to b, with rewards for lambda.  Fails on a run that did not explore (its
** actions were not sampled, so there is nothing to weigh them by).
** info may be NULL.  Returns 0, or -1 with err.
*/
int agg_episodes_read(const char *db, int64_t run_id, double lambda,
                      agg_batch_t *b, agg_read_info_t *info, char *err,
                      size_t errlen);

#endif

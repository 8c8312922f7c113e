/*
** summary.h: the end-of-run summary printed by `trim run` and `trim wait`
** (text or JSON).
*/
#ifndef TRIM_SUMMARY_H
#define TRIM_SUMMARY_H

#include "prices.h"
#include "trim.pb-c.h"

/*
** Print to stdout the summary of run r (the counters a coordinator reports
** for a run, Trim__RunStatus): a readable block, or one JSON object on one
** line.  It names the database db, or when db is NULL the coordinator that
** answered.  With usd (NULL: none) it adds the run's dollars under p.
*/
void summary_print(const Trim__RunStatus *r, const char *db,
                   const char *coordinator, int json, const prices_t *p,
                   const cost_usd_t *usd);

/*
** The dollars under p of run run_id in the audit store at db (its step rows,
** cost_usage_run), into *out.  Returns 0, or -1 with err.
*/
int summary_store_usd(const char *db, int64_t run_id, const prices_t *p,
                      cost_usd_t *out, char *err, size_t errlen);

#endif

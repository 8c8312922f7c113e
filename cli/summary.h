/*
** summary.h: the end-of-run summary printed by `trim run` and `trim wait`
** (text or JSON).
*/
#ifndef TRIM_SUMMARY_H
#define TRIM_SUMMARY_H

#include <stddef.h>

#include <jansson.h>

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
** The run's prefix-cache figures per model pool: {"small": {"prompt_tokens",
** "cached_tokens", "hit_ratio"}, "large": ..., "prm": ...}, the ratio null
** for a pool without prompt tokens; NULL when out of memory.
*/
json_t *summary_prefix_cache_json(const Trim__RunStatus *r);

/*
** The run's hit ratios as one table cell into buf (size bytes, cut to
** fit): the percent of prompt tokens the small, large and PRM pools'
** caches held, "91/-/84" ("-": no prompt tokens in that pool).
*/
void summary_prefix_cache_cell(const Trim__RunStatus *r, char *buf,
                               size_t size);

/*
** The dollars under p of run run_id in the audit store at db (its step rows,
** cost_usage_run), into *out.  Returns 0, or -1 with err.
*/
int summary_store_usd(const char *db, int64_t run_id, const prices_t *p,
                      cost_usd_t *out, char *err, size_t errlen);

#endif

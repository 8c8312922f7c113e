/*
** hop_table.h: a run's per-hop timings (store_hops) as a table or JSON,
** for `trim stats` and `trim audit --run N`.
*/
#ifndef TRIM_HOP_TABLE_H
#define TRIM_HOP_TABLE_H

#include <stdio.h>

#include <jansson.h>

#include "store.h"

/*
** Print one line per hop to f: hop, pool, count, p50, p99 and max in
** milliseconds, and for the parts of a step their share of the steps'
** whole time; a hop with no values prints "-".
*/
void hop_table_print(FILE *f, const store_dist_t d[STORE_HOPS]);

/*
** The same as a JSON array of {"hop", "pool", "n", "p50_us", "p99_us",
** "max_us", "sum_us"}; NULL when out of memory.
*/
json_t *hop_table_json(const store_dist_t d[STORE_HOPS]);

#endif

/*
** summary.h: the end-of-run summary printed by `trim run` and `trim wait`
** (text or JSON).
*/
#ifndef TRIM_SUMMARY_H
#define TRIM_SUMMARY_H

#include "trim.pb-c.h"

/*
** Print to stdout the summary of run r (the counters a coordinator reports
** for a run, Trim__RunStatus): a readable block, or one JSON object on one
** line.  It names the database db, or when db is NULL the coordinator that
** answered.
*/
void summary_print(const Trim__RunStatus *r, const char *db,
                   const char *coordinator, int json);

#endif

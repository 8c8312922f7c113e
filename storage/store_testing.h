/*
** store_testing.h: hooks into storage/ for tests only.
**
** They reach below the contract of store.h: a file as an older build left
** it, and the SQL of a read query to EXPLAIN.  Product code uses store.h.
*/
#ifndef TRIM_STORE_TESTING_H
#define TRIM_STORE_TESTING_H

#include <stddef.h>

/*
** store_migrate, stopping at version (1..STORE_SCHEMA_VERSION) instead of
** the current one; a file already past version is left as it is.  For tests
** that need a database as an older build left it.  Returns 0, or -1 with err.
*/
int store_migrate_to(const char *path, int version, char *err, size_t errlen);

/*
** The SELECT store_each_unfinished runs, for a test to check that its plan
** reads the partial index problems_unfinished.
*/
const char *store_unfinished_sql(void);

#endif

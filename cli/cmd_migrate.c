/*
** cmd_migrate.c: `trim migrate`, bring an audit store's schema to this
** build's version without writing anything else.
**
**   trim migrate --db FILE
*/
#include <stdio.h>

#include "cli.h"
#include "store.h"

static const char description[] =
    "Migrate the audit store at --db to this build's schema, one version\n"
    "at a time, each in its own transaction (docs/audit-schema.md), so\n"
    "that trim audit, trim export and the console read it.  It adds no\n"
    "run and no row.\n";


int
cmd_migrate(int argc, char **argv)
{
    const char *db = "trim.db";
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "audit database to migrate"},
    };
    char err[512];
    int rc = cli_parse("migrate", "[FLAGS]", description, flags,
                       sizeof flags / sizeof *flags, argc, argv, NULL);

    if (rc != CLI_GO)
        return rc;
    if (store_migrate(db, err, sizeof err) < 0) {
        cli_error("migrate", err);
        return 1;
    }
    printf("%s: schema version %d\n", db, STORE_SCHEMA_VERSION);
    return 0;
}

/*
** schema.c: the schema and its migrations.
**
** The schema version lives in PRAGMA user_version.  migrations[k - 1] brings
** a database from version k - 1 to k; each runs in its own BEGIN IMMEDIATE
** transaction that also sets user_version = k, so a failed migration leaves
** the file exactly as it was.  The version is re-read inside the transaction:
** two processes migrating the same file at once do the work once.
**
** Enumerations are stored as text with CHECK constraints (status
** 'queued', 'running', 'finished', 'failed' or 'cancelled'; kind 'draft'
** or 'strong'; decision 'keep', 'regenerate' or NULL for none), so the
** audit reads without a decoder ring.  Timestamps are INTEGER milliseconds
** since the epoch (0 = not yet), latencies INTEGER microseconds.
** runs.seed and problems.seed hold the uint64 seed's bits as a signed
** 64-bit integer.  NULL text means the writer passed NULL; NULL REAL means
** NAN (not scored, not applicable).
**
** A migration, once released, never changes: a database at version k must
** mean the same schema wherever it was made.  Change the schema by adding
** migration k + 1.
*/
#include "store_internal.h"

#include <stdio.h>

#include "errf.h"

typedef int (*store_migration_fn)(sqlite3 *db, const char *path, char *err,
                                  size_t errlen);

static const char s_v1_sql[] =
    "CREATE TABLE runs (\n"
    "  run_id      INTEGER PRIMARY KEY CHECK (run_id > 0),\n"
    "  policy      TEXT,\n"
    "  seed        INTEGER NOT NULL,\n"
    "  config      TEXT,\n"
    "  started_ms  INTEGER NOT NULL,\n"
    "  finished_ms INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n"

    "CREATE TABLE problems (\n"
    "  problem_id        INTEGER PRIMARY KEY CHECK (problem_id > 0),\n"
    "  run_id            INTEGER NOT NULL REFERENCES runs (run_id),\n"
    "  source            TEXT,\n"
    "  text              TEXT,\n"
    "  ground_truth      TEXT,\n"
    "  status            TEXT NOT NULL CHECK (status IN\n"
    "                      ('queued', 'running', 'finished', 'failed')),\n"
    "  final_answer      TEXT,\n"
    "  correct           INTEGER NOT NULL CHECK (correct IN (-1, 0, 1)),\n"
    "  steps             INTEGER NOT NULL,\n"
    "  regenerated_steps INTEGER NOT NULL,\n"
    "  weak_tokens       INTEGER NOT NULL,\n"
    "  strong_tokens     INTEGER NOT NULL,\n"
    "  discarded_tokens  INTEGER NOT NULL,\n"
    "  prm_tokens        INTEGER NOT NULL,\n"
    "  error             TEXT,\n"
    "  created_ms        INTEGER NOT NULL,\n"
    "  finished_ms       INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n"
    "CREATE INDEX problems_by_run ON problems (run_id);\n"

    /*
    ** (problem_id, step_index, kind) is the idempotency key of a step: a
    ** requeued request writes the same key again and the INSERT does
    ** nothing.  A rowid table with a UNIQUE index, not WITHOUT ROWID: with
    ** thousands of problems in flight, steps arrive in rowid order but not in
    ** key order; in a WITHOUT ROWID table of ~300-byte rows a commit of
    ** 1000 rows rewrote a leaf page for nearly every row (bench_storage:
    ** ~95,000 rows/s, against ~235,000 with the rowid table and its small
    ** index, whose entries for the problems in flight share a few pages).
    */
    "CREATE TABLE steps (\n"
    "  problem_id        INTEGER NOT NULL REFERENCES problems (problem_id),\n"
    "  step_index        INTEGER NOT NULL CHECK (step_index >= 0),\n"
    "  kind              TEXT NOT NULL CHECK (kind IN ('draft', 'strong')),\n"
    "  attempt           INTEGER NOT NULL,\n"
    "  text              TEXT,\n"
    "  prompt_tokens     INTEGER NOT NULL,\n"
    "  completion_tokens INTEGER NOT NULL,\n"
    "  finish            INTEGER NOT NULL,\n"
    "  prm_score         REAL,\n"
    "  min_prev_score    REAL,\n"
    "  prod_prev_score   REAL,\n"
    "  prm_tokens        INTEGER NOT NULL,\n"
    "  decision          TEXT CHECK (decision IN ('keep', 'regenerate')),\n"
    "  policy            TEXT,\n"
    "  reason            TEXT,\n"
    "  action_prob       REAL,\n"
    "  belief            TEXT,\n"
    "  decided_by        TEXT,\n"
    "  accepted          INTEGER NOT NULL CHECK (accepted IN (0, 1)),\n"
    "  latency_us        INTEGER NOT NULL,\n"
    "  worker            TEXT,\n"
    "  created_ms        INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE UNIQUE INDEX steps_key ON steps (problem_id, step_index, kind);\n";


static int
s_v1(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    char sql[64];

    snprintf(sql, sizeof sql, "PRAGMA application_id = %d", STORE_APP_ID);
    if (store_conn_exec(db, sql, path, "setting application_id", err, errlen) <
        0)
        return -1;
    return store_conn_exec(db, s_v1_sql, path, "creating schema v1", err,
                           errlen);
}


/*
** v2, for recovery after a crash: each problem's sampling seed (rows written
** by v1 read 0), and a partial index holding only the problems still queued
** or running, so the coordinator finds them on restart without scanning every
** problem ever solved.  The index's WHERE is STORE_UNFINISHED_WHERE, the
** reader's query uses the same text, and SQLite uses a partial index only for
** queries whose WHERE contains its terms.
*/
static const char s_v2_sql[] =
    "ALTER TABLE problems ADD COLUMN seed INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE INDEX problems_unfinished ON problems (problem_id)\n"
    "  WHERE " STORE_UNFINISHED_WHERE ";\n";


static int
s_v2(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v2_sql, path, "migrating to schema v2", err,
                           errlen);
}


/*
** v3, for PRMs behind a context limit: how many leading steps of a draft's
** history the PRM did not see (left truncation; their scores were taken as
** 1.0), so the audit can say which decisions rested on a cut history.
*/
static const char s_v3_sql[] =
    "ALTER TABLE steps ADD COLUMN prm_padded INTEGER NOT NULL DEFAULT 0;\n";


static int
s_v3(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v3_sql, path, "migrating to schema v3", err,
                           errlen);
}


/*
** v4, budgets and training runs: a run's per-problem cap on strong tokens,
** the strong-token share its controller holds, and whether its learned
** policy explores; a restarted coordinator needs them to resume the run.
*/
static const char s_v4_sql[] =
    "ALTER TABLE runs ADD COLUMN explore INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE runs ADD COLUMN max_strong_tokens INTEGER NOT NULL "
    "DEFAULT 0;\n"
    "ALTER TABLE runs ADD COLUMN target_share REAL NOT NULL DEFAULT 0;\n";


static int
s_v4(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v4_sql, path, "migrating to schema v4", err,
                           errlen);
}


/*
** v5, for the gateway: a problem may end cancelled (its client went away
** or asked), and records who submitted it (key_id: an API key's id, never
** the key; NULL when none).  SQLite cannot change a CHECK constraint in
** place, so problems is rebuilt as its documentation says (a new table, the
** rows copied, the old one dropped, the new one renamed, the indexes made
** again) with foreign keys off (store_migrate_to), and steps' reference
** to problems names the new table once it is renamed.
*/
static const char s_v5_sql[] =
    "CREATE TABLE problems_v5 (\n"
    "  problem_id        INTEGER PRIMARY KEY CHECK (problem_id > 0),\n"
    "  run_id            INTEGER NOT NULL REFERENCES runs (run_id),\n"
    "  source            TEXT,\n"
    "  text              TEXT,\n"
    "  ground_truth      TEXT,\n"
    "  status            TEXT NOT NULL CHECK (status IN\n"
    "                      ('queued', 'running', 'finished', 'failed',\n"
    "                       'cancelled')),\n"
    "  final_answer      TEXT,\n"
    "  correct           INTEGER NOT NULL CHECK (correct IN (-1, 0, 1)),\n"
    "  steps             INTEGER NOT NULL,\n"
    "  regenerated_steps INTEGER NOT NULL,\n"
    "  weak_tokens       INTEGER NOT NULL,\n"
    "  strong_tokens     INTEGER NOT NULL,\n"
    "  discarded_tokens  INTEGER NOT NULL,\n"
    "  prm_tokens        INTEGER NOT NULL,\n"
    "  error             TEXT,\n"
    "  created_ms        INTEGER NOT NULL,\n"
    "  finished_ms       INTEGER NOT NULL DEFAULT 0,\n"
    "  seed              INTEGER NOT NULL DEFAULT 0,\n"
    "  key_id            TEXT\n"
    ") STRICT;\n"
    "INSERT INTO problems_v5 (problem_id, run_id, source, text, ground_truth,"
    " status, final_answer, correct, steps, regenerated_steps, weak_tokens,"
    " strong_tokens, discarded_tokens, prm_tokens, error, created_ms,"
    " finished_ms, seed)\n"
    "  SELECT problem_id, run_id, source, text, ground_truth, status,"
    " final_answer, correct, steps, regenerated_steps, weak_tokens,"
    " strong_tokens, discarded_tokens, prm_tokens, error, created_ms,"
    " finished_ms, seed FROM problems;\n"
    "DROP TABLE problems;\n"
    "ALTER TABLE problems_v5 RENAME TO problems;\n"
    "CREATE INDEX problems_by_run ON problems (run_id);\n"
    "CREATE INDEX problems_unfinished ON problems (problem_id)\n"
    "  WHERE " STORE_UNFINISHED_WHERE ";\n";


static int
s_v5(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v5_sql, path, "migrating to schema v5", err,
                           errlen);
}


/*
** v6, for the audit of latency and of a strong step's score: where each
** step's time went besides the model call (latency_us): the wait in the
** coordinator's queues, the PRM's and the router's round trips, all in
** microseconds, 0 in rows written before v6.  A strong step's prm_score,
** NULL until v6, is now filled from the next draft's scoring (see
** store_writer_put_score).  And an index for the audit console's filters
** over one run (status, outcome, then pages by problem_id):
** problems_by_outcome answers "run R, finished and wrong, after id X" from
** the index alone; problems_by_run stays for the plain listing in id order.
** (store_writer_put_score, that UPDATE, is gone: the coordinator now holds a
** strong step's row until its score is known and writes it once.)
*/
static const char s_v6_sql[] =
    "ALTER TABLE steps ADD COLUMN queue_us INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE steps ADD COLUMN prm_us INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE steps ADD COLUMN route_us INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE INDEX problems_by_outcome ON problems (run_id, status, correct);\n";


static int
s_v6(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v6_sql, path, "migrating to schema v6", err,
                           errlen);
}


/*
** v7, so a run's usage never walks its steps: each ended problem's token
** totals as store_usage_run sums them (STORE_USAGE_TOTALS over
** STORE_USAGE_COLUMNS_V7, the rule alone as it was before v11), written
** when the problem ends from the totals its writer kept
** (store_writer_put_usage), and backfilled here for the problems that have
** ended.  And two covering
** indexes for the console (bench_console, 100,000 problems): the runs page
** sums each run's problems' counters from problems_totals alone instead of
** reading every problem row (text and all), and compare groups two runs'
** problems by source from problems_by_source alone.
*/
static const char s_v7_sql[] =
    "CREATE TABLE problem_usage (\n"
    "  problem_id      INTEGER PRIMARY KEY REFERENCES problems(problem_id),\n"
    "  draft_input     INTEGER NOT NULL,\n"
    "  strong_input    INTEGER NOT NULL,\n"
    "  draft_cached    INTEGER NOT NULL,\n"
    "  strong_cached   INTEGER NOT NULL,\n"
    "  draft_output    INTEGER NOT NULL,\n"
    "  strong_output   INTEGER NOT NULL,\n"
    "  prm_input       INTEGER NOT NULL,\n"
    "  prm_cached      INTEGER NOT NULL,\n"
    "  solution_input  INTEGER NOT NULL,\n"
    "  solution_cached INTEGER NOT NULL,\n"
    "  solution_output INTEGER NOT NULL\n"
    ");\n"
    "INSERT INTO problem_usage (problem_id, " STORE_USAGE_TOTAL_NAMES ")"
    " SELECT problem_id," STORE_USAGE_TOTALS
    "FROM (SELECT " STORE_USAGE_COLUMNS_V7
    "FROM steps WHERE problem_id IN (SELECT problem_id"
    " FROM problems WHERE status IN ('finished', 'failed', 'cancelled')))"
    " GROUP BY problem_id;\n"
    "CREATE INDEX problems_totals ON problems (run_id, status, correct,"
    " steps, regenerated_steps, weak_tokens, strong_tokens,"
    " discarded_tokens, prm_tokens);\n"
    "CREATE INDEX problems_by_source ON problems (run_id, source, correct,"
    " status, strong_tokens);\n";


static int
s_v7(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v7_sql, path, "migrating to schema v7", err,
                           errlen);
}


/*
** v8, one index fewer for the writer to keep at each problem's two writes
** (bench_pipeline's writer: ~20k instructions a problem): problems_totals
** gains problem_id after (run_id, status, correct), so it also answers
** problems_by_outcome's "run R, finished and wrong, after id X" in id order
** from the index alone, and problems_by_outcome goes.
*/
static const char s_v8_sql[] =
    "DROP INDEX problems_by_outcome;\n"
    "DROP INDEX problems_totals;\n"
    "CREATE INDEX problems_totals ON problems (run_id, status, correct,"
    " problem_id, steps, regenerated_steps, weak_tokens, strong_tokens,"
    " discarded_tokens, prm_tokens);\n";


static int
s_v8(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v8_sql, path, "migrating to schema v8", err,
                           errlen);
}


/*
** v9, speculative next-step drafting (coordinator/speculate.c): a draft row
** says whether it came from a speculative request (one sent while the
** previous step was still being scored and routed, as if it were kept);
** a speculative draft that was not used, because the previous step was
** regenerated, is a row of wasted_drafts, keyed like its step (at most one
** per step: a step after a strong one is never drafted speculatively).
** speculative_drafts reads both: every speculative draft and whether it
** was used.
*/
static const char s_v9_sql[] =
    "ALTER TABLE steps ADD COLUMN speculative INTEGER NOT NULL DEFAULT 0"
    " CHECK (speculative IN (0, 1));\n"
    "CREATE TABLE wasted_drafts (\n"
    "  problem_id        INTEGER NOT NULL REFERENCES problems (problem_id),\n"
    "  step_index        INTEGER NOT NULL CHECK (step_index >= 0),\n"
    "  attempt           INTEGER NOT NULL,\n"
    "  text              TEXT,\n"
    "  prompt_tokens     INTEGER NOT NULL,\n"
    "  completion_tokens INTEGER NOT NULL,\n"
    "  finish            INTEGER NOT NULL,\n"
    "  latency_us        INTEGER NOT NULL,\n"
    "  worker            TEXT,\n"
    "  created_ms        INTEGER NOT NULL,\n"
    "  PRIMARY KEY (problem_id, step_index)\n"
    ") STRICT;\n"
    "CREATE VIEW speculative_drafts AS\n"
    "  SELECT problem_id, step_index, attempt, completion_tokens, 1 AS used\n"
    "    FROM steps WHERE speculative = 1\n"
    "  UNION ALL\n"
    "  SELECT problem_id, step_index, attempt, completion_tokens, 0 AS used\n"
    "    FROM wasted_drafts;\n";


static int
s_v9(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v9_sql, path, "migrating to schema v9", err,
                           errlen);
}


/*
** v10, where a step's time went, pool by pool (`trim stats`): the parts of
** a draft row's queue_us spent waiting for a PRM worker and for a router
** (the rest was the small pool's), and the row's whole time in the
** coordinator, step_us, from its step's start (or, for a strong row, the
** regeneration's) to its outcome, which its parts cannot exceed.  0 in rows
** written before v10.
*/
static const char s_v10_sql[] =
    "ALTER TABLE steps ADD COLUMN prm_queue_us INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE steps ADD COLUMN route_queue_us INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE steps ADD COLUMN step_us INTEGER NOT NULL DEFAULT 0;\n";


static int
s_v10(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v10_sql, path, "migrating to schema v10", err,
                           errlen);
}


/*
** v11, prompt tokens the servers' prefix caches served, as they reported
** them (vLLM's usage.prompt_tokens_details.cached_tokens; StepResult's and
** StepScores' cached_reported): of a row's prompt_tokens (cached_tokens)
** and of its prm_tokens (prm_cached_tokens), and of a wasted draft's
** prompt.  NULL where the server reported none, in rows written before v11
** too: the usage then estimates them by the prefix rule as before
** (STORE_USAGE_COLUMNS), so an old store's dollars do not change.
*/
static const char s_v11_sql[] =
    "ALTER TABLE steps ADD COLUMN cached_tokens INTEGER"
    " CHECK (cached_tokens BETWEEN 0 AND prompt_tokens);\n"
    "ALTER TABLE steps ADD COLUMN prm_cached_tokens INTEGER"
    " CHECK (prm_cached_tokens BETWEEN 0 AND prm_tokens);\n"
    "ALTER TABLE wasted_drafts ADD COLUMN cached_tokens INTEGER"
    " CHECK (cached_tokens BETWEEN 0 AND prompt_tokens);\n";


static int
s_v11(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return store_conn_exec(db, s_v11_sql, path, "migrating to schema v11", err,
                           errlen);
}


static const store_migration_fn migrations[STORE_SCHEMA_VERSION] = {
    s_v1, s_v2, s_v3, s_v4, s_v5, s_v6, s_v7, s_v8, s_v9, s_v10, s_v11};


/* Run a query that returns one integer into *out. */
static int
s_int(sqlite3 *db, const char *sql, int64_t *out, const char *path,
      const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        store_conn_error(db, path, what, err, errlen);
        goto done;
    }
    *out = sqlite3_column_int64(st, 0);
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}


/*
** Refuse files that hold someone else's data: another application_id, or
** tables without a schema version (we would be creating ours beside them).
*/
static int
s_check_owner(sqlite3 *db, const char *path, int version, char *err,
              size_t errlen)
{
    int64_t app, objects;

    if (s_int(db, "PRAGMA application_id", &app, path, "reading application_id",
              err, errlen) < 0)
        return -1;
    if (app != 0 && app != STORE_APP_ID)
        return errf(err, errlen,
                    "%s: not a trim store (application_id 0x%08llx)", path,
                    (unsigned long long)(uint32_t)app);
    if (version > 0)
        return 0;
    if (s_int(db, "SELECT count(*) FROM sqlite_schema", &objects, path,
              "reading the schema", err, errlen) < 0)
        return -1;
    if (objects > 0)
        return errf(err, errlen,
                    "%s: not a trim store (%lld tables or indexes but no "
                    "schema version); refusing to migrate",
                    path, (long long)objects);
    return 0;
}


/*
** Take the database one version up (towards target) inside one transaction,
** or do nothing if it is there.  Sets *current to the version it is at on
** return.
*/
static int
s_step(sqlite3 *db, const char *path, int target, int *current, char *err,
       size_t errlen)
{
    char sql[64];
    int v;

    if (store_conn_exec(db, "BEGIN IMMEDIATE", path, "starting migration", err,
                        errlen) < 0)
        return -1;
    if (store_conn_version(db, path, &v, err, errlen) < 0 ||
        s_check_owner(db, path, v, err, errlen) < 0)
        goto fail;
    if (v < target) {
        int64_t broken;
        if (migrations[v](db, path, err, errlen) < 0)
            goto fail;
        /* Foreign keys are off while migrating (a rebuilt table would
        ** break them midway): check the result before it commits. */
        if (s_int(db, "SELECT count(*) FROM pragma_foreign_key_check", &broken,
                  path, "checking foreign keys", err, errlen) < 0)
            goto fail;
        if (broken > 0) {
            errf(err, errlen,
                 "%s: migrating to schema v%d would leave %lld rows whose "
                 "foreign key points nowhere; nothing changed",
                 path, v + 1, (long long)broken);
            goto fail;
        }
        v++;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
        if (store_conn_exec(db, sql, path, "setting user_version", err,
                            errlen) < 0)
            goto fail;
    }
    if (store_conn_exec(db, "COMMIT", path, "committing migration", err,
                        errlen) < 0)
        goto fail;
    *current = v;
    return 0;
fail:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}


int
store_migrate_to(const char *path, int version, char *err, size_t errlen)
{
    sqlite3 *db;
    int v = 0, rc = -1;

    if (version < 1 || version > STORE_SCHEMA_VERSION)
        return errf(err, errlen, "%s: no schema version %d in this build", path,
                    version);
    db = store_conn_open(path, STORE_CONN_WRITE, err, errlen);
    if (db == NULL)
        return -1;
    /* Off outside any transaction (SQLite ignores it inside one), so that
    ** a migration may rebuild a table others refer to (v5). */
    if (store_conn_exec(db, "PRAGMA foreign_keys=OFF", path,
                        "turning foreign keys off to migrate", err, errlen) < 0)
        goto done;
    do {
        if (s_step(db, path, version, &v, err, errlen) < 0)
            goto done;
    } while (v < version);
    rc = 0;
done:
    sqlite3_close(db);
    return rc;
}


int
store_migrate(const char *path, char *err, size_t errlen)
{
    return store_migrate_to(path, STORE_SCHEMA_VERSION, err, errlen);
}


int
store_next_ids(const char *path, int64_t *next_run_id, int64_t *next_problem_id,
               char *err, size_t errlen)
{
    sqlite3 *db;
    int v, rc = -1;

    db = store_conn_open(path, STORE_CONN_READ, err, errlen);
    if (db == NULL)
        return -1;
    if (store_conn_version(db, path, &v, err, errlen) < 0)
        goto done;
    if (v < STORE_SCHEMA_VERSION) {
        errf(err, errlen,
             "%s: schema version %d, expected %d (migrate it "
             "first)",
             path, v, STORE_SCHEMA_VERSION);
        goto done;
    }
    /* One read transaction, so both ids come from the same snapshot. */
    if (store_conn_exec(db, "BEGIN", path, "reading ids", err, errlen) < 0)
        goto done;
    if (s_int(db, "SELECT coalesce(max(run_id), 0) + 1 FROM runs", next_run_id,
              path, "reading the next run id", err, errlen) < 0 ||
        s_int(db, "SELECT coalesce(max(problem_id), 0) + 1 FROM problems",
              next_problem_id, path, "reading the next problem id", err,
              errlen) < 0)
        goto done;
    rc = 0;
done:
    sqlite3_close(db); /* ends the read transaction */
    return rc;
}
